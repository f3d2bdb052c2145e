"""The EndpointSlice controller: its step driven by hand against the apiserver with exact
effects (rounds, retries, the stale-view guard, slice events), then in a cluster with a
Deployment behind a Service, as a user sees it."""

from __future__ import annotations

import attrs
from pyrsistent import pmap

from kcore.api.apps import Deployment
from kcore.api.core import Service, ServicePort, ServiceType
from kcore.api.discovery import LABEL_SERVICE_NAME, EndpointSlice
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ConditionStatus, Status, StatusReason, Time
from kcore.api.pod import ContainerPort, Pod, PodCondition, PodIP, PodPhase, PodStatus
from kcore.component.effects import CallApi, EventType, RecordEvent, WakeMeAt
from kcore.component.requests import Create, Delete, Response, Subresource, Update
from kcore.controllers.endpointslice import (
    FAILED_TO_UPDATE,
    EndpointSliceController,
    SliceState,
)
from kcore.controllers.endpointslice_reconciler import Action, Op
from kcore.driver import default_components
from kcore.driver.bootstrap import create_cluster
from kcore.driver.cluster import Cluster
from kcore.state import ClusterConfig, get, list_objects
from tests.builders import T0, a_container, a_deployment, a_pod, a_service, key, with_meta
from tests.rig import Rig

WEB = key(Kind.SERVICE, "web")
CONTROLLER = EndpointSliceController()


def make_ready(rig: Rig[SliceState], name: str, ip: str, *, ready: bool = True) -> Pod:
    """Pod `name` (app=web, on node-1) running with `ip`, Ready or not, created by a client."""
    resp = rig.request(Create(obj=a_pod(name, labels={"app": "web"}, node_name="node-1")))
    assert isinstance(resp.body, Pod), resp.body
    return set_ready(rig, resp.body, ip, ready)


def set_ready(rig: Rig[SliceState], pod: Pod, ip: str, ready: bool) -> Pod:
    status = ConditionStatus.TRUE if ready else ConditionStatus.FALSE
    st = PodStatus(
        phase=PodPhase.RUNNING, pod_ip=ip, pod_ips=(PodIP(ip=ip),),
        conditions=(PodCondition(type="Ready", status=status, last_transition_time=T0),),
    )
    resp = rig.request(Update(obj=attrs.evolve(pod, status=st), subresource=Subresource.STATUS))
    assert isinstance(resp.body, Pod), resp.body
    return resp.body


def started(*ready: tuple[str, str, bool]) -> Rig[SliceState]:
    """A rig with Service web (port 80) and the given (name, ip, ready) pods, started but
    with its first round not yet answered."""
    rig = Rig(CONTROLLER, a_service("web"))
    for name, ip, is_ready in ready:
        make_ready(rig, name, ip, ready=is_ready)
    rig.restart()
    return rig


def slices(rig: Rig[SliceState]) -> list[EndpointSlice]:
    return [o for o in list_objects(rig.state, Kind.ENDPOINT_SLICE) if isinstance(o, EndpointSlice)]


def addresses(es: EndpointSlice) -> list[tuple[str, bool | None]]:
    return [(e.addresses[0], e.conditions.ready) for e in es.endpoints]


def test_a_start_creates_one_slice_with_every_pod_and_its_readiness() -> None:
    rig = started(("web-a", "10.244.0.5", True), ("web-b", "10.244.0.6", False))
    (call,) = rig.start()
    assert isinstance(call, CallApi) and call.tag == Op(owner=WEB, action=Action.CREATE)
    assert rig.s.rounds[WEB].out == 1
    rig.settle([call])
    (es,) = slices(rig)
    assert addresses(es) == [("10.244.0.5", True), ("10.244.0.6", False)]
    assert es.metadata.name.startswith("web-") and es.metadata.labels[LABEL_SERVICE_NAME] == "web"
    assert (rig.s.rounds, rig.s.queue.requeues, rig.s.queue.waiting) == (pmap(), pmap(), pmap())


def test_a_pod_turning_ready_updates_its_slice_in_place() -> None:
    rig = started(("web-a", "10.244.0.5", False))
    rig.settle(rig.start())
    (before,) = slices(rig)
    set_ready(rig, rig.get(key(Kind.POD, "web-a"), Pod), "10.244.0.5", True)
    (call,) = rig.deliver_watches()
    assert isinstance(call, CallApi) and call.tag == Op(owner=WEB, action=Action.UPDATE, slice=before.metadata.name, uid=before.metadata.uid)
    assert isinstance(call.request, Update) and call.request.obj.metadata.resource_version == before.metadata.resource_version
    rig.settle([call])
    (after,) = slices(rig)
    assert (after.metadata.name, addresses(after)) == (before.metadata.name, [("10.244.0.5", True)])


def test_one_round_in_flight_per_service_and_a_sync_wanted_meanwhile_runs_after_it() -> None:
    rig = started(("web-a", "10.244.0.5", True))
    (create,) = rig.start()
    make_ready(rig, "web-b", "10.244.0.6")
    assert rig.deliver_watches() == ()  # web-b's events: the round is out
    assert rig.s.rounds[WEB].again
    answer = rig.perform(create)
    # the view does not show the create yet: the sync after the answer finds it stale and
    # waits for the create's own watch event (a merely scheduled timer as a safety net)
    assert rig.step(answer) == (WakeMeAt(at=Time(T0 + 1.0), key=WEB, in_motion=False),)
    (update,) = rig.deliver_watches()
    rig.settle([update])
    (es,) = slices(rig)
    assert addresses(es) == [("10.244.0.5", True), ("10.244.0.6", True)]


def test_a_failed_write_records_a_warning_and_backs_off_from_one_second() -> None:
    rig = started(("web-a", "10.244.0.5", True))
    (create,) = rig.start()
    refused = Response(code=500, body=Status(message="etcd is sad", reason=StatusReason.INTERNAL_ERROR, code=500))
    effects = rig.answer(create, refused)
    warning = RecordEvent(
        involved=WEB, type=EventType.WARNING, reason=FAILED_TO_UPDATE,
        message="Error updating Endpoint Slices for Service default/web: failed to create EndpointSlice: etcd is sad",
    )
    assert effects == (warning, WakeMeAt(at=Time(T0 + 1.0), key=WEB, in_motion=True))
    (again,) = rig.fire(WEB, T0 + 1.0)
    assert rig.answer(again, refused) == (warning, WakeMeAt(at=Time(T0 + 3.0), key=WEB, in_motion=False))
    (third,) = rig.fire(WEB, T0 + 3.0)
    rig.settle([third])
    assert len(slices(rig)) == 1 and rig.s.queue.requeues == pmap()


def test_a_slice_edited_by_someone_else_is_restored_a_second_later() -> None:
    rig = started(("web-a", "10.244.0.5", True))
    rig.settle(rig.start())
    (es,) = slices(rig)
    assert rig.request(Update(obj=attrs.evolve(es, endpoints=()))).ok
    assert rig.deliver_watches() == (WakeMeAt(at=Time(T0 + 1.0), key=WEB, in_motion=True),)
    rig.settle(rig.fire(WEB, T0 + 1.0))
    (restored,) = slices(rig)
    assert addresses(restored) == [("10.244.0.5", True)]


def test_a_slice_deleted_by_someone_else_is_recreated_and_our_own_delete_is_not_a_change() -> None:
    rig = started(("web-a", "10.244.0.5", True))
    rig.settle(rig.start())
    (es,) = slices(rig)
    assert rig.request(Delete(key=key(Kind.ENDPOINT_SLICE, es.metadata.name))).ok
    assert rig.deliver_watches() == (WakeMeAt(at=Time(T0 + 1.0), key=WEB, in_motion=True),)
    rig.settle(rig.fire(WEB, T0 + 1.0))
    assert [addresses(s) for s in slices(rig)] == [[("10.244.0.5", True)]]


def test_the_last_pod_leaving_turns_the_slice_into_a_placeholder() -> None:
    rig = started(("web-a", "10.244.0.5", True))
    rig.settle(rig.start())
    assert rig.request(Delete(key=key(Kind.POD, "web-a"), grace_period_seconds=0)).ok
    rig.settle(rig.deliver_watches())
    (es,) = slices(rig)
    assert (es.endpoints, es.ports) == ((), ())


def test_services_without_a_selector_or_of_type_external_name_get_no_slices() -> None:
    plain = attrs.evolve(a_service("manual"), spec=attrs.evolve(a_service("manual").spec, selector=pmap()))
    external = attrs.evolve(
        a_service("ext"), spec=attrs.evolve(a_service("ext").spec, type=ServiceType.EXTERNAL_NAME, external_name="example.com")
    )
    rig = Rig(CONTROLLER, plain, external)
    assert rig.start() == ()


def test_node_events_only_update_the_view() -> None:
    rig = started(("web-a", "10.244.0.5", True))
    rig.settle(rig.start())
    node = rig.get(key(Kind.NODE, "node-1", ""))
    assert rig.request(Update(obj=with_meta(node, labels=node.metadata.labels.set("topology.kubernetes.io/zone", "a")))).ok
    assert rig.deliver_watches() == ()


def test_a_deleted_service_forgets_its_trigger_times_and_writes() -> None:
    rig = started(("web-a", "10.244.0.5", True))
    rig.settle(rig.start())
    assert WEB in rig.s.triggers.services and WEB in rig.s.tracker.generations
    assert rig.request(Delete(key=WEB)).ok
    rig.deliver_watches()
    assert WEB not in rig.s.triggers.services and WEB not in rig.s.tracker.generations


def test_a_named_target_port_resolves_per_pod() -> None:
    svc = a_service("web")
    svc = attrs.evolve(svc, spec=attrs.evolve(svc.spec, ports=(ServicePort(port=80, name="http", target_port="web"),)))
    rig = Rig(CONTROLLER, svc)
    resp = rig.request(Create(obj=a_pod("web-a", labels={"app": "web"}, node_name="node-1", containers=[
        attrs.evolve(a_container(), ports=(ContainerPort(container_port=8080, name="web"),))])))
    assert isinstance(resp.body, Pod)
    set_ready(rig, resp.body, "10.244.0.5", True)
    rig.restart()
    rig.settle(rig.start())
    (es,) = slices(rig)
    assert [(p.name, p.port) for p in es.ports] == [("http", 8080)]


# --- in a cluster -------------------------------------------------------------------------------


def cluster() -> Cluster:
    base = create_cluster(ClusterConfig(seed=11), nodes=2)
    return Cluster(base.snapshot(), default_components(base.state))


def service_slices(c: Cluster) -> list[EndpointSlice]:
    return [
        o for o in list_objects(c.state, Kind.ENDPOINT_SLICE, "default")
        if isinstance(o, EndpointSlice) and o.metadata.labels.get(LABEL_SERVICE_NAME) == "web"
    ]


def ready_pod_ips(c: Cluster) -> list[str]:
    return sorted(
        p.status.pod_ip for p in list_objects(c.state, Kind.POD, "default")
        if isinstance(p, Pod) and any(x.type == "Ready" and x.status is ConditionStatus.TRUE for x in p.status.conditions)
    )


def test_a_deployment_behind_a_service_is_listed_and_scaling_to_150_gives_two_slices() -> None:
    c = cluster()
    svc = a_service("web", ports=(80,))
    svc = attrs.evolve(svc, spec=attrs.evolve(svc.spec, ports=(ServicePort(port=80, target_port=8080),)))
    assert c.request(Create(obj=svc)).ok
    assert c.request(Create(obj=a_deployment("web", replicas=3))).ok
    c.settle()
    (es,) = service_slices(c)
    assert sorted(e.addresses[0] for e in es.endpoints if e.conditions.ready) == ready_pod_ips(c)
    assert len(ready_pod_ips(c)) == 3 and [(p.port, p.protocol) for p in es.ports] == [(8080, es.ports[0].protocol)]
    deployment = get(c.state, key(Kind.DEPLOYMENT, "web"))
    assert isinstance(deployment, Deployment)
    scaled = attrs.evolve(deployment, spec=attrs.evolve(deployment.spec, replicas=150))
    assert c.request(Update(obj=scaled)).ok
    c.settle()
    sizes = sorted(len(s.endpoints) for s in service_slices(c))
    assert sizes == [50, 100]
    listed = sorted(e.addresses[0] for s in service_slices(c) for e in s.endpoints if e.conditions.ready)
    assert listed == ready_pod_ips(c) and len(listed) == 150
    assert isinstance(c.component_state(CONTROLLER.name), SliceState)
    assert ObjectKey(kind=Kind.SERVICE, namespace="default", name="web") not in c.component_state(CONTROLLER.name).rounds
    assert isinstance(get(c.state, WEB), Service)
