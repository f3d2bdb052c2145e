"""The Endpoints controller, driven by hand against the real apiserver, then in a cluster."""

from __future__ import annotations

import attrs
from pyrsistent import pmap

from kcore.api.core import (
    EndpointAddress,
    EndpointPort,
    Endpoints,
    EndpointSubset,
    ObjectReference,
    Service,
    ServicePort,
    ServiceType,
)
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ConditionStatus, Status, StatusReason, Time
from kcore.api.pod import (
    Container,
    ContainerPort,
    Pod,
    PodCondition,
    PodIP,
    PodPhase,
    PodStatus,
    Protocol,
)
from kcore.component.effects import CallApi, EventType, RecordEvent, WakeMeAt
from kcore.component.requests import Create, Delete, Response, Subresource, Update
from kcore.controllers.endpoint_util import ANNOTATION_LAST_CHANGE_TRIGGER_TIME, LABEL_HEADLESS
from kcore.controllers.endpoints import (
    ANNOTATION_OVER_CAPACITY,
    Action,
    EndpointsController,
    Op,
    subsets_for,
    truncate,
)
from tests.builders import T0, a_container, a_pod, a_service, key
from tests.rig import Rig

SVC = ObjectKey(kind=Kind.SERVICE, namespace="default", name="web")
EP = ObjectKey(kind=Kind.ENDPOINTS, namespace="default", name="web")


def serving(name: str, ip: str, *, ready: bool = True, labels: dict[str, str] | None = None, ports: tuple[tuple[str, int], ...] = (),
            since: float = T0) -> Pod:
    """A pod bound to node-1 with IP `ip`, Ready (since `since`) or not, its container
    declaring the named `ports`."""
    container = attrs.evolve(
        a_container(), ports=tuple(ContainerPort(container_port=n, name=pname) for pname, n in ports)
    )
    pod = a_pod(name, labels=labels or {"app": "web"}, containers=(container,), node_name="node-1")
    status = ConditionStatus.TRUE if ready else ConditionStatus.FALSE
    return attrs.evolve(
        pod,
        status=PodStatus(
            phase=PodPhase.RUNNING,
            pod_ip=ip,
            pod_ips=(PodIP(ip=ip),),
            conditions=(PodCondition(type="Ready", status=status, last_transition_time=Time(since)),),
        ),
    )


def start(*objs: object) -> tuple[Rig[object], list[object]]:
    """A rig with `objs` created (pods' statuses written after them), started and settled."""
    rig: Rig[object] = Rig(EndpointsController())  # type: ignore[arg-type]
    for obj in objs:
        place(rig, obj)
    rig.restart()
    return rig, rig.settle(rig.start())


def place(rig: Rig[object], obj: object) -> None:
    assert rig.request(Create(obj=obj)).ok  # type: ignore[arg-type]
    if isinstance(obj, Pod):
        stored = rig.get(key(Kind.POD, obj.metadata.name), Pod)
        assert rig.request(Update(obj=attrs.evolve(stored, status=obj.status), subresource=Subresource.STATUS)).ok


def address(pod: str, ip: str, rig: Rig[object]) -> EndpointAddress:
    uid = rig.get(key(Kind.POD, pod)).metadata.uid
    return EndpointAddress(
        ip=ip, node_name="node-1", target_ref=ObjectReference(kind="Pod", namespace="default", name=pod, uid=uid)
    )


def test_a_service_lists_its_ready_and_not_ready_pods_on_the_target_port() -> None:
    svc = attrs.evolve(a_service(), spec=attrs.evolve(a_service().spec, ports=(ServicePort(port=80, target_port=9376),)))
    rig, effects = start(svc, serving("a", "10.244.0.5"), serving("b", "10.244.0.6", ready=False),
                         serving("other", "10.244.0.7", labels={"app": "db"}))
    ep = rig.get(EP, Endpoints)
    assert ep.subsets == (
        EndpointSubset(
            addresses=(address("a", "10.244.0.5", rig),),
            not_ready_addresses=(address("b", "10.244.0.6", rig),),
            ports=(EndpointPort(port=9376),),
        ),
    )
    created = rig.get(SVC).metadata.creation_timestamp
    assert ep.metadata.annotations[ANNOTATION_LAST_CHANGE_TRIGGER_TIME] == _rfc(created) == "2023-11-14T22:13:20Z"
    (call,) = effects
    assert isinstance(call, CallApi) and isinstance(call.request, Create)
    assert call.tag == Op(service=SVC, action=Action.CREATE)
    assert call.request.obj == Endpoints(
        metadata=attrs.evolve(ep.metadata, uid="", resource_version=0, creation_timestamp=None, generation=0),
        subsets=ep.subsets,
    )


def _rfc(t: Time | None) -> str:
    from kcore.controllers.endpoint_util import trigger_time_text

    assert t is not None
    return trigger_time_text(t)


def test_pods_naming_the_port_differently_land_in_different_subsets() -> None:
    svc = a_service()
    svc = attrs.evolve(svc, spec=attrs.evolve(svc.spec, ports=(ServicePort(port=80, name="http", target_port="web"),)))
    rig, _ = start(
        svc,
        serving("a", "10.244.0.5", ports=(("web", 8080),)),
        serving("b", "10.244.0.6", ports=(("web", 9090),)),
        serving("c", "10.244.0.7", ports=(("other", 8080),)),  # names no "web" port: left out
    )
    assert rig.get(EP, Endpoints).subsets == (
        EndpointSubset(addresses=(address("a", "10.244.0.5", rig),), ports=(EndpointPort(port=8080, name="http"),)),
        EndpointSubset(addresses=(address("b", "10.244.0.6", rig),), ports=(EndpointPort(port=9090, name="http"),)),
    )


def test_two_ports_resolving_alike_share_one_subset_and_not_ready_on_one_is_not_ready_on_all() -> None:
    svc = a_service()
    ports = (ServicePort(port=80, name="http", target_port=8080), ServicePort(port=443, name="https", target_port=8443))
    svc = attrs.evolve(svc, spec=attrs.evolve(svc.spec, ports=ports))
    rig, _ = start(svc, serving("a", "10.244.0.5"), serving("b", "10.244.0.6", ready=False))
    assert rig.get(EP, Endpoints).subsets == (
        EndpointSubset(
            addresses=(address("a", "10.244.0.5", rig),),
            not_ready_addresses=(address("b", "10.244.0.6", rig),),
            ports=(EndpointPort(port=8080, name="http"), EndpointPort(port=8443, name="https")),
        ),
    )


def test_publish_not_ready_addresses_lists_every_pod_as_ready_even_terminating() -> None:
    svc = a_service()
    svc = attrs.evolve(svc, spec=attrs.evolve(svc.spec, publish_not_ready_addresses=True))
    rig, _ = start(svc, serving("a", "10.244.0.5", ready=False))
    assert rig.get(EP, Endpoints).subsets[0].addresses == (address("a", "10.244.0.5", rig),)


def test_terminal_terminating_and_ipless_pods_are_left_out() -> None:
    done = serving("done", "10.244.0.8")
    done = attrs.evolve(done, status=attrs.evolve(done.status, phase=PodPhase.SUCCEEDED))
    ipless = attrs.evolve(serving("new", ""), status=PodStatus(phase=PodPhase.PENDING))
    rig, _ = start(a_service(), serving("a", "10.244.0.5"), done, ipless)
    assert rig.get(EP, Endpoints).subsets == (
        EndpointSubset(addresses=(address("a", "10.244.0.5", rig),), ports=(EndpointPort(port=80),)),
    )
    assert rig.request(Delete(key=key(Kind.POD, "a"))).ok  # graceful: terminating, still stored
    rig.settle(rig.deliver_watches())
    assert rig.get(EP, Endpoints).subsets == ()


def test_a_headless_service_without_ports_lists_addresses_with_hostnames_of_its_subdomain() -> None:
    svc = Service(metadata=a_service().metadata, spec=attrs.evolve(a_service().spec, cluster_ip="None", ports=()))
    pod = serving("web-0", "10.244.0.5")
    pod = attrs.evolve(pod, spec=attrs.evolve(pod.spec, hostname="web-0", subdomain="web"))
    rig, _ = start(svc, pod)
    ep = rig.get(EP, Endpoints)
    assert ep.subsets == (EndpointSubset(addresses=(attrs.evolve(address("web-0", "10.244.0.5", rig), hostname="web-0"),)),)
    assert ep.metadata.labels == pmap({LABEL_HEADLESS: ""})


def test_services_without_selector_or_of_type_external_name_are_left_alone() -> None:
    manual = a_service("manual", selector={})
    external = attrs.evolve(a_service("ext"), spec=attrs.evolve(a_service("ext").spec, type=ServiceType.EXTERNAL_NAME, external_name="db.example.com", ports=()))
    _rig, effects = start(manual, external, serving("a", "10.244.0.5"))
    assert effects == []


def test_a_readiness_change_updates_the_endpoints_with_the_trigger_time() -> None:
    rig, _ = start(a_service(), serving("a", "10.244.0.5", ready=False))
    rig.now = Time(T0 + 30)
    pod = rig.get(key(Kind.POD, "a"), Pod)
    ready = attrs.evolve(pod.status, conditions=(PodCondition(type="Ready", status=ConditionStatus.TRUE, last_transition_time=Time(T0 + 30)),))
    assert rig.request(Update(obj=attrs.evolve(pod, status=ready), subresource=Subresource.STATUS)).ok
    (call,) = rig.deliver_watches()
    assert isinstance(call, CallApi) and isinstance(call.request, Update)
    assert call.tag == Op(service=SVC, action=Action.UPDATE, replaces=rig.get(EP).metadata.resource_version)
    rig.settle((call,))
    ep = rig.get(EP, Endpoints)
    assert ep.subsets[0].addresses == (address("a", "10.244.0.5", rig),)
    assert ep.metadata.annotations[ANNOTATION_LAST_CHANGE_TRIGGER_TIME] == "2023-11-14T22:13:50Z"


def test_an_unrelated_pod_update_changes_nothing() -> None:
    rig, _ = start(a_service(), serving("a", "10.244.0.5"))
    pod = rig.get(key(Kind.POD, "a"), Pod)
    annotated = attrs.evolve(pod, metadata=attrs.evolve(pod.metadata, annotations=pmap({"note": "x"})))
    assert rig.request(Update(obj=annotated)).ok
    assert rig.deliver_watches() == ()


def test_relabelling_a_pod_moves_it_between_services() -> None:
    rig, _ = start(a_service("web"), a_service("db"), serving("a", "10.244.0.5"))
    pod = rig.get(key(Kind.POD, "a"), Pod)
    moved = attrs.evolve(pod, metadata=attrs.evolve(pod.metadata, labels=pmap({"app": "db"})))
    assert rig.request(Update(obj=moved)).ok
    rig.settle(rig.deliver_watches())
    assert rig.get(EP, Endpoints).subsets == ()
    db = rig.get(ObjectKey(kind=Kind.ENDPOINTS, namespace="default", name="db"), Endpoints)
    assert db.subsets == (EndpointSubset(addresses=(address("a", "10.244.0.5", rig),), ports=(EndpointPort(port=80),)),)


def test_deleting_the_service_deletes_its_endpoints() -> None:
    rig, _ = start(a_service(), serving("a", "10.244.0.5"))
    assert rig.request(Delete(key=SVC)).ok
    (call,) = rig.deliver_watches()
    assert call == CallApi(request=Delete(key=EP), tag=Op(service=SVC, action=Action.DELETE))
    rig.settle((call,))
    assert [o for o in rig.pods()]  # the pod stays
    from kcore.state import get

    assert get(rig.state, EP) is None


def test_a_deleted_endpoints_object_is_recreated() -> None:
    rig, _ = start(a_service(), serving("a", "10.244.0.5"))
    assert rig.request(Delete(key=EP)).ok
    (call,) = rig.deliver_watches()
    assert isinstance(call, CallApi) and isinstance(call.request, Create)
    assert call.tag == Op(service=SVC, action=Action.CREATE)


def test_a_failed_write_records_an_event_and_retries_rate_limited_then_drops_after_15() -> None:
    rig, _ = start()
    assert rig.request(Create(obj=a_service())).ok
    (call,) = rig.deliver_watches()
    refused = Response(code=500, body=Status(code=500, reason=StatusReason.INTERNAL_ERROR, message="etcd is down"))
    effects = rig.answer(call, refused)
    assert effects == (
        RecordEvent(
            involved=EP,
            type=EventType.WARNING,
            reason="FailedToCreateEndpoint",
            message="Failed to create endpoint for service default/web: etcd is down",
        ),
        WakeMeAt(at=Time(T0 + 0.005), key=SVC, in_motion=True),
    )
    delays = []
    wake = effects[1]
    for _ in range(20):
        assert isinstance(wake, WakeMeAt)
        (retry,) = rig.fire(SVC, at=wake.at)
        wakes = [e for e in rig.answer(retry, refused) if isinstance(e, WakeMeAt)]
        if not wakes:
            break
        wake = wakes[0]
        delays.append(round(wake.at - rig.now, 3))
    assert len(delays) == 14  # 15 requeues in all, then the key is dropped
    assert delays[:3] == [0.01, 0.02, 0.04]


def test_a_sync_while_a_write_is_out_runs_after_the_answer() -> None:
    rig, _ = start(serving("a", "10.244.0.5"))
    assert rig.request(Create(obj=a_service())).ok
    (create,) = rig.deliver_watches()
    pod = rig.get(key(Kind.POD, "a"), Pod)
    not_ready = attrs.evolve(pod.status, conditions=(PodCondition(type="Ready", status=ConditionStatus.FALSE, last_transition_time=Time(T0 + 5)),))
    assert rig.request(Update(obj=attrs.evolve(pod, status=not_ready), subresource=Subresource.STATUS)).ok
    assert rig.deliver_watches() == ()  # waits for the create's answer
    answer = rig.perform(create)
    # the answer arrives before the Endpoints' watch event: the view is stale but holds no
    # Endpoints yet, so the sync that runs now decides from the pods it sees
    (update,) = rig.step(answer)
    assert isinstance(update, CallApi)


def test_a_view_still_showing_the_endpoints_just_replaced_is_stale_and_retried() -> None:
    rig, _ = start(a_service(), serving("a", "10.244.0.5"))
    pod = rig.get(key(Kind.POD, "a"), Pod)
    not_ready = attrs.evolve(pod.status, conditions=(PodCondition(type="Ready", status=ConditionStatus.FALSE, last_transition_time=Time(T0 + 5)),))
    assert rig.request(Update(obj=attrs.evolve(pod, status=not_ready), subresource=Subresource.STATUS)).ok
    (update,) = rig.deliver_watches()
    rig.answer(update)  # landed; its watch event not delivered yet
    rig.inbox[:] = [e for e in rig.inbox if e.obj.KIND is not Kind.ENDPOINTS]
    # another pod change arrives while the view still holds the replaced Endpoints
    assert rig.request(Create(obj=serving("b", "10.244.0.6"))).ok
    effects = rig.deliver_watches()
    assert effects == (WakeMeAt(at=Time(T0 + 0.005), key=SVC, in_motion=True),)


def test_truncation_keeps_ready_addresses_first_in_proportion() -> None:
    def subset(prefix: str, ready: int, not_ready: int) -> EndpointSubset:
        a = tuple(EndpointAddress(ip=f"{prefix}.{i}") for i in range(ready))
        n = tuple(EndpointAddress(ip=f"{prefix}.n{i}") for i in range(not_ready))
        return EndpointSubset(addresses=a, not_ready_addresses=n, ports=(EndpointPort(port=80),))

    kept, truncated = truncate((subset("a", 600, 100), subset("b", 300, 100)))
    assert truncated
    assert [(len(s.addresses), len(s.not_ready_addresses)) for s in kept] == [(600, 50), (300, 50)]
    kept, truncated = truncate((subset("a", 900, 0), subset("b", 300, 0)))
    assert [(len(s.addresses), len(s.not_ready_addresses)) for s in kept] == [(750, 0), (250, 0)]
    assert truncate((subset("a", 10, 0),)) == ((subset("a", 10, 0),), False)


def test_over_capacity_endpoints_are_annotated_truncated() -> None:
    pods = [serving(f"p{i}", f"10.244.{i // 250}.{i % 250 + 1}") for i in range(1001)]
    svc = a_service()
    subsets = subsets_for(svc, pods)
    assert sum(len(s.addresses) for s in subsets) == 1001
    from kcore.controllers.endpoints import wanted

    want = wanted(svc, None, subsets, None)
    assert want is not None
    assert want.metadata.annotations.get(ANNOTATION_OVER_CAPACITY) == "truncated"
    assert sum(len(s.addresses) for s in want.subsets) == 1000


def test_named_ports_match_only_the_same_protocol() -> None:
    udp = Container(name="dns", image="coredns", ports=(ContainerPort(container_port=53, name="dns", protocol=Protocol.UDP),))
    pod = attrs.evolve(serving("a", "10.244.0.5"), spec=attrs.evolve(serving("a", "10.244.0.5").spec, containers=(udp,)))
    tcp = ServicePort(port=53, name="dns-tcp", target_port="dns", protocol=Protocol.TCP)
    udp_port = ServicePort(port=53, name="dns", target_port="dns", protocol=Protocol.UDP)
    svc = attrs.evolve(a_service(), spec=attrs.evolve(a_service().spec, ports=(tcp, udp_port)))
    (subset,) = subsets_for(svc, [attrs.evolve(pod, metadata=attrs.evolve(pod.metadata, uid="u1"))])
    assert subset.ports == (EndpointPort(port=53, name="dns", protocol=Protocol.UDP),)


# --- in a cluster -------------------------------------------------------------------------------


def test_in_a_cluster_a_deployment_behind_a_service_gets_its_ready_pods_listed() -> None:
    from kcore.api.manifest import load_manifests
    from kcore.driver import default_components
    from kcore.driver.bootstrap import create_cluster
    from kcore.driver.cluster import Cluster
    from kcore.state import ClusterConfig, get, list_objects

    base = create_cluster(ClusterConfig(seed=5), nodes=2)
    c = Cluster(base.snapshot(), default_components(base.state))
    manifest = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: hostnames, namespace: default}
spec:
  replicas: 3
  selector: {matchLabels: {app: hostnames}}
  template:
    metadata: {labels: {app: hostnames}}
    spec:
      containers:
      - name: hostnames
        image: registry.k8s.io/serve_hostname
        ports: [{containerPort: 9376}]
---
apiVersion: v1
kind: Service
metadata: {name: hostnames, namespace: default}
spec:
  selector: {app: hostnames}
  ports: [{name: default, protocol: TCP, port: 80, targetPort: 9376}]
"""
    c.apply(item.obj for item in load_manifests(manifest))
    c.settle()
    ep = get(c.state, ObjectKey(kind=Kind.ENDPOINTS, namespace="default", name="hostnames"))
    assert isinstance(ep, Endpoints)
    pods = [p for p in list_objects(c.state, Kind.POD, "default") if isinstance(p, Pod)]
    assert len(pods) == 3
    (subset,) = ep.subsets
    assert sorted(a.ip for a in subset.addresses) == sorted(p.status.pod_ip for p in pods)
    assert subset.not_ready_addresses == ()
    assert subset.ports == (EndpointPort(port=9376, name="default"),)
    assert {a.node_name for a in subset.addresses} <= {"node-1", "node-2"}
