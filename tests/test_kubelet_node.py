"""The kubelet's node-side pure functions: admission, node status and Lease, static pods.

Unit tests assert exact upstream reason/message strings; the driver-level tests run the
produced requests through `kcore.apiserver.handle` on a `create_cluster` state, so the
apiserver's validation accepts what the kubelet sends.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import attrs
from pyrsistent import pmap

from kcore.api.coordination import Lease, LeaseSpec
from kcore.api.core import (
    DaemonEndpoint,
    Node,
    NodeAddress,
    NodeCondition,
    NodeDaemonEndpoints,
    Taint,
)
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ApiObject, ConditionStatus, MicroTime, OwnerReference, Status, Time
from kcore.api.pod import (
    Affinity,
    Container,
    ContainerPort,
    ContainerRestartPolicy,
    NodeAffinity,
    NodeSelector,
    NodeSelectorOperator,
    NodeSelectorRequirement,
    NodeSelectorTerm,
    Pod,
    PodPhase,
    PodStatus,
    ResourceRequirements,
    TaintEffect,
    Toleration,
    TolerationOperator,
)
from kcore.apiserver import handle
from kcore.component.requests import Create, Delete, ObjectList, Request, Scale, Subresource, Update
from kcore.driver.bootstrap import create_cluster
from kcore.kubelet.admission import Rejection, admit_pod
from kcore.kubelet.config import KubeletConfig
from kcore.kubelet.node_status import lease_request, node_status_request
from kcore.kubelet.static_pods import is_mirror_pod, is_static_pod, mirror_pod, static_pods
from kcore.quantity import parse_quantity
from kcore.state import ClusterConfig, ClusterState, get
from tests.builders import T0, a_container, a_node, a_pod, cluster_with

CONFIG = KubeletConfig(node_name="node-1")


# --- admission ---------------------------------------------------------------------------


def _node_view(node: Node | None = None) -> ClusterState:
    return cluster_with(node if node is not None else a_node("node-1", cpu="4", memory="8Gi", pods="3"))


def _requests(**amounts: str) -> ResourceRequirements:
    return ResourceRequirements(
        requests=pmap({k.replace("_", "-"): parse_quantity(v) for k, v in amounts.items()})
    )


def _pod(
    name: str,
    *,
    cpu: str = "",
    memory: str = "",
    host_ports: Iterable[int] = (),
    labels: Mapping[str, str] | None = None,
) -> Pod:
    c = a_container(cpu=cpu, memory=memory)
    c = attrs.evolve(c, ports=tuple(ContainerPort(container_port=p, host_port=p) for p in host_ports))
    return a_pod(name, containers=(c,), node_name="node-1", labels=labels)


def _with_taints(*taints: Taint) -> Node:
    n = a_node("node-1")
    return attrs.evolve(n, spec=attrs.evolve(n.spec, taints=taints))


def test_a_pod_that_fits_is_admitted() -> None:
    view = _node_view()
    assert admit_pod(view, CONFIG, _pod("a", cpu="1"), [_pod("b", cpu="2")]) is None


def test_cpu_shortage_is_rejected_with_upstream_reason_and_message() -> None:
    view = _node_view()
    got = admit_pod(view, CONFIG, _pod("a", cpu="2"), [_pod("b", cpu="3500m")])
    assert got == Rejection(
        reason="OutOfcpu",
        message="Node didn't have enough resource: cpu, requested: 2000, used: 3500, capacity: 4000",
    )


def test_memory_shortage_reports_bytes() -> None:
    view = _node_view()
    got = admit_pod(view, CONFIG, _pod("a", memory="5Gi"), [_pod("b", memory="4Gi")])
    assert got == Rejection(
        reason="OutOfmemory",
        message=(
            "Node didn't have enough resource: memory, requested: 5368709120, "
            "used: 4294967296, capacity: 8589934592"
        ),
    )


def test_pod_count_is_checked_first() -> None:
    view = _node_view()
    full = [_pod("b"), _pod("c"), _pod("d")]
    got = admit_pod(view, CONFIG, _pod("a", cpu="100"), full)
    assert got == Rejection(
        reason="OutOfpods",
        message="Node didn't have enough resource: pods, requested: 1, used: 3, capacity: 3",
    )


def test_terminal_pods_duplicates_and_the_pod_itself_do_not_count() -> None:
    view = _node_view()
    done = attrs.evolve(_pod("b", cpu="4"), status=PodStatus(phase=PodPhase.SUCCEEDED))
    failed = attrs.evolve(_pod("c", cpu="4"), status=PodStatus(phase=PodPhase.FAILED))
    me = _pod("a", cpu="3")
    twice = _pod("d", cpu="500m")
    assert admit_pod(view, CONFIG, me, [done, failed, me, twice, twice]) is None


def test_init_containers_count_by_the_max_rule_plus_overhead() -> None:
    view = _node_view()
    init = attrs.evolve(a_container("init"), resources=_requests(cpu="3"))
    app = attrs.evolve(a_container("app"), resources=_requests(cpu="1"))
    pod = a_pod("a", containers=(app,), node_name="node-1")
    pod = attrs.evolve(
        pod, spec=attrs.evolve(pod.spec, init_containers=(init,), overhead=pmap({"cpu": parse_quantity("250m")}))
    )
    got = admit_pod(view, CONFIG, pod, [_pod("b", cpu="1")])
    assert got == Rejection(
        reason="OutOfcpu",
        message="Node didn't have enough resource: cpu, requested: 3250, used: 1000, capacity: 4000",
    )


def test_sidecar_init_containers_add_to_the_app_containers() -> None:
    view = _node_view()
    sidecar = attrs.evolve(
        a_container("proxy"), resources=_requests(cpu="1"), restart_policy=ContainerRestartPolicy.ALWAYS
    )
    app = attrs.evolve(a_container("app"), resources=_requests(cpu="2500m"))
    pod = a_pod("a", containers=(app,), node_name="node-1")
    pod = attrs.evolve(pod, spec=attrs.evolve(pod.spec, init_containers=(sidecar,)))
    got = admit_pod(view, CONFIG, pod, [_pod("b", cpu="1")])
    assert got is not None and got.reason == "OutOfcpu"
    assert "requested: 3500, used: 1000" in got.message


def test_extended_resource_the_node_advertises_is_checked() -> None:
    node = a_node("node-1")
    gpus = pmap({**node.status.allocatable, "example.com/gpu": parse_quantity("1")})
    node = attrs.evolve(node, status=attrs.evolve(node.status, capacity=gpus, allocatable=gpus))
    view = _node_view(node)
    c = attrs.evolve(a_container(), resources=_requests(**{"example.com/gpu": "2"}))
    got = admit_pod(view, CONFIG, a_pod("a", containers=(c,), node_name="node-1"), [])
    assert got == Rejection(
        reason="OutOfexample.com/gpu",
        message="Node didn't have enough resource: example.com/gpu, requested: 2, used: 0, capacity: 1",
    )


def test_extended_resource_the_node_lacks_is_ignored_as_upstream() -> None:
    view = _node_view()
    c = attrs.evolve(a_container(), resources=_requests(**{"example.com/gpu": "2"}))
    assert admit_pod(view, CONFIG, a_pod("a", containers=(c,), node_name="node-1"), []) is None


def test_dropping_missing_extended_resources_keeps_a_pod_without_any_as_it_is() -> None:
    """The fast path (nothing to drop: the pod itself) equals rebuilding every container."""
    from kcore.kubelet.admission import remove_missing_extended_resources

    node = a_node("node-1")
    gpus = pmap({**node.status.allocatable, "example.com/gpu": parse_quantity("1")})
    with_gpu = attrs.evolve(node, status=attrs.evolve(node.status, capacity=gpus, allocatable=gpus))
    plain = a_pod("a", containers=(attrs.evolve(a_container(), resources=_requests(cpu="1")),), node_name="node-1")
    advertised = attrs.evolve(a_container(), resources=_requests(cpu="1", **{"example.com/gpu": "1"}))
    assert remove_missing_extended_resources(plain, node) is plain
    gpu_pod = a_pod("g", containers=(advertised,), node_name="node-1")
    assert remove_missing_extended_resources(gpu_pod, with_gpu) is gpu_pod
    dropped = remove_missing_extended_resources(gpu_pod, node)
    assert dropped != gpu_pod
    assert dict(dropped.spec.containers[0].resources.requests) == {"cpu": parse_quantity("1")}


def test_node_selector_mismatch_is_rejected() -> None:
    view = _node_view()
    pod = _pod("a")
    pod = attrs.evolve(pod, spec=attrs.evolve(pod.spec, node_selector=pmap({"disk": "ssd"})))
    assert admit_pod(view, CONFIG, pod, []) == Rejection(
        reason="NodeAffinity",
        message="Predicate NodeAffinity failed: node(s) didn't match Pod's node affinity/selector",
    )


def test_required_node_affinity_is_checked() -> None:
    view = _node_view()
    term = NodeSelectorTerm(
        match_expressions=(
            NodeSelectorRequirement(
                key="kubernetes.io/hostname", operator=NodeSelectorOperator.IN, values=("node-2",)
            ),
        )
    )
    affinity = Affinity(
        node_affinity=NodeAffinity(
            required_during_scheduling_ignored_during_execution=NodeSelector(node_selector_terms=(term,))
        )
    )
    pod = _pod("a")
    pod = attrs.evolve(pod, spec=attrs.evolve(pod.spec, affinity=affinity))
    got = admit_pod(view, CONFIG, pod, [])
    assert got is not None and got.reason == "NodeAffinity"
    ok_term = attrs.evolve(
        term, match_expressions=(attrs.evolve(term.match_expressions[0], values=("node-1",)),)
    )
    ok = attrs.evolve(
        affinity,
        node_affinity=NodeAffinity(
            required_during_scheduling_ignored_during_execution=NodeSelector(node_selector_terms=(ok_term,))
        ),
    )
    assert admit_pod(view, CONFIG, attrs.evolve(pod, spec=attrs.evolve(pod.spec, affinity=ok)), []) is None


def test_resources_are_reported_before_node_affinity() -> None:
    view = _node_view()
    pod = _pod("a", cpu="8")
    pod = attrs.evolve(pod, spec=attrs.evolve(pod.spec, node_selector=pmap({"disk": "ssd"})))
    got = admit_pod(view, CONFIG, pod, [])
    assert got is not None and got.reason == "OutOfcpu"


def test_a_pod_bound_to_another_node_is_rejected() -> None:
    view = _node_view()
    pod = attrs.evolve(_pod("a"), spec=attrs.evolve(_pod("a").spec, node_name="node-2"))
    assert admit_pod(view, CONFIG, pod, []) == Rejection(
        reason="NodeName",
        message="Predicate NodeName failed: node(s) didn't match the requested node name",
    )


def test_host_port_clash_is_rejected() -> None:
    view = _node_view()
    got = admit_pod(view, CONFIG, _pod("a", host_ports=(8080,)), [_pod("b", host_ports=(8080,))])
    assert got == Rejection(
        reason="NodePorts",
        message="Predicate NodePorts failed: node(s) didn't have free ports for the requested pod ports",
    )
    assert admit_pod(view, CONFIG, _pod("a", host_ports=(8081,)), [_pod("b", host_ports=(8080,))]) is None


def test_untolerated_no_execute_taint_is_rejected() -> None:
    view = _node_view(_with_taints(Taint(key="dedicated", value="db", effect=TaintEffect.NO_EXECUTE)))
    assert admit_pod(view, CONFIG, _pod("a"), []) == Rejection(
        reason="TaintToleration",
        message="Predicate TaintToleration failed: node(s) had taints that the pod didn't tolerate",
    )


def test_tolerated_no_execute_and_any_no_schedule_taint_are_admitted() -> None:
    view = _node_view(
        _with_taints(
            Taint(key="dedicated", value="db", effect=TaintEffect.NO_EXECUTE),
            Taint(key="gpu", effect=TaintEffect.NO_SCHEDULE),
        )
    )
    pod = _pod("a")
    tol = Toleration(key="dedicated", operator=TolerationOperator.EQUAL, value="db", effect=TaintEffect.NO_EXECUTE)
    pod = attrs.evolve(pod, spec=attrs.evolve(pod.spec, tolerations=(tol,)))
    assert admit_pod(view, CONFIG, pod, []) is None


def test_static_pods_skip_the_taint_check() -> None:
    view = _node_view(_with_taints(Taint(key="dedicated", effect=TaintEffect.NO_EXECUTE)))
    pod = _pod("a")
    pod = attrs.evolve(
        pod,
        metadata=attrs.evolve(pod.metadata, annotations=pmap({"kubernetes.io/config.source": "file"})),
    )
    assert admit_pod(view, CONFIG, pod, []) is None


def test_os_label_mismatch_is_rejected_first() -> None:
    view = _node_view()
    pod = _pod("a", cpu="100", labels={"kubernetes.io/os": "windows"})
    assert admit_pod(view, CONFIG, pod, []) == Rejection(
        reason="PodOSSelectorNodeLabelDoesNotMatch",
        message="Failed to admit pod as the `kubernetes.io/os` label doesn't match node label",
    )


def test_a_missing_node_rejects_with_invalid_node_info() -> None:
    view = cluster_with()
    assert admit_pod(view, CONFIG, _pod("a"), []) == Rejection(
        reason="InvalidNodeInfo", message="Kubelet cannot get node info."
    )


def test_container_without_requests_only_counts_as_a_pod() -> None:
    view = _node_view()
    bare = a_pod("a", containers=(Container(name="c", image="busybox"),), node_name="node-1")
    assert admit_pod(view, CONFIG, bare, [_pod("b", cpu="4")]) is None


# --- node status -------------------------------------------------------------------------


def _cluster_state(nodes: int = 2) -> tuple[ClusterState, Time]:
    cluster = create_cluster(ClusterConfig(), nodes=nodes)
    return cluster.state, cluster.now


def _node(state: ClusterState, name: str = "node-1") -> Node:
    node = get(state, ObjectKey(kind=Kind.NODE, namespace="", name=name))
    assert isinstance(node, Node)
    return node


def _serve(state: ClusterState, req: Request, now: Time) -> tuple[ClusterState, ApiObject]:
    state, resp, _ = handle(state, req, now)
    assert resp.ok, resp.body
    assert not isinstance(resp.body, (Status, ObjectList, Scale))
    return state, resp.body


def _condition(node: Node, kind: str) -> NodeCondition:
    return next(c for c in node.status.conditions if c.type == kind)


def test_first_status_sync_after_bootstrap_adds_daemon_endpoints_and_is_accepted() -> None:
    state, t0 = _cluster_state()
    now = Time(t0 + 10)
    req = node_status_request(state, CONFIG, now)
    assert isinstance(req, Update) and req.subresource is Subresource.STATUS
    state, stored = _serve(state, req, now)
    assert isinstance(stored, Node)
    assert stored.status.daemon_endpoints == NodeDaemonEndpoints(
        kubelet_endpoint=DaemonEndpoint(port=10250)
    )
    assert stored.status.addresses == (
        NodeAddress(type="InternalIP", address="172.18.0.2"),
        NodeAddress(type="Hostname", address="node-1"),
    )
    assert stored.status.capacity == _node(state).status.capacity
    assert [c.type for c in stored.status.conditions] == [
        "MemoryPressure",
        "DiskPressure",
        "PIDPressure",
        "Ready",
    ]
    ready = _condition(stored, "Ready")
    assert ready == NodeCondition(
        type="Ready",
        status=ConditionStatus.TRUE,
        last_heartbeat_time=now,
        last_transition_time=ready.last_transition_time,
        reason="KubeletReady",
        message="kubelet is posting ready status",
    )
    assert ready.last_transition_time is not None and ready.last_transition_time < now
    info = stored.status.node_info
    assert info is not None and info.kubelet_version.startswith("v1.")
    assert info.container_runtime_version.startswith("kcore://")
    assert (info.operating_system, info.architecture) == ("linux", "amd64")


def test_unchanged_status_is_not_sent_until_the_report_frequency_passes() -> None:
    state, t0 = _cluster_state()
    now = Time(t0 + 10)
    state, _ = _serve(state, node_status_request_or_fail(state, now), now)
    assert node_status_request(state, CONFIG, Time(now + 10)) is None
    assert node_status_request(state, CONFIG, Time(now + 299)) is None
    later = Time(now + 300)
    req = node_status_request(state, CONFIG, later)
    assert isinstance(req, Update)
    state, stored = _serve(state, req, later)
    assert isinstance(stored, Node)
    assert {c.last_heartbeat_time for c in stored.status.conditions} == {later}
    memory = _condition(stored, "MemoryPressure")
    assert (memory.status, memory.reason, memory.message) == (
        ConditionStatus.FALSE,
        "KubeletHasSufficientMemory",
        "kubelet has sufficient memory available",
    )


def node_status_request_or_fail(state: ClusterState, now: Time) -> Request:
    req = node_status_request(state, CONFIG, now)
    assert req is not None
    return req


def test_a_flipped_ready_condition_is_reported_at_once_with_a_new_transition_time() -> None:
    state, t0 = _cluster_state()
    now = Time(t0 + 10)
    state, _ = _serve(state, node_status_request_or_fail(state, now), now)
    node = _node(state)
    unknown = tuple(
        attrs.evolve(c, status=ConditionStatus.UNKNOWN, reason="NodeStatusUnknown")
        if c.type == "Ready"
        else c
        for c in node.status.conditions
    )
    lost = attrs.evolve(node, status=attrs.evolve(node.status, conditions=unknown))
    state, _ = _serve(state, Update(obj=lost, subresource=Subresource.STATUS), Time(now + 1))
    back = Time(now + 20)
    req = node_status_request(state, CONFIG, back)
    assert isinstance(req, Update)
    _, stored = _serve(state, req, back)
    assert isinstance(stored, Node)
    ready = _condition(stored, "Ready")
    assert (ready.status, ready.reason, ready.last_transition_time) == (
        ConditionStatus.TRUE,
        "KubeletReady",
        back,
    )
    disk = _condition(stored, "DiskPressure")
    assert disk.last_transition_time == _condition(node, "DiskPressure").last_transition_time


def test_conditions_owned_by_others_are_kept() -> None:
    state, t0 = _cluster_state()
    node = _node(state)
    extra = NodeCondition(
        type="NetworkUnavailable", status=ConditionStatus.FALSE, reason="RouteCreated"
    )
    node = attrs.evolve(
        node, status=attrs.evolve(node.status, conditions=(extra, *node.status.conditions))
    )
    state, _ = _serve(state, Update(obj=node, subresource=Subresource.STATUS), t0)
    req = node_status_request_or_fail(state, Time(t0 + 10))
    assert isinstance(req, Update) and isinstance(req.obj, Node)
    assert req.obj.status.conditions[0] == extra


def test_the_update_carries_the_views_resource_version_so_a_stale_view_conflicts() -> None:
    state, t0 = _cluster_state()
    stale = state
    now = Time(t0 + 10)
    state, _ = _serve(state, node_status_request_or_fail(state, now), now)
    req = node_status_request(stale, CONFIG, Time(now + 1))
    assert isinstance(req, Update)
    _, resp, _ = handle(state, req, Time(now + 1))
    assert resp.code == 409


def test_a_deleted_node_registers_again_with_default_labels() -> None:
    state, t0 = _cluster_state()
    now = Time(t0 + 10)
    state, _, _ = handle(state, Delete(key=ObjectKey(kind=Kind.NODE, namespace="", name="node-1")), now)
    req = node_status_request(state, CONFIG, now)
    assert isinstance(req, Create)
    state, stored = _serve(state, req, now)
    assert isinstance(stored, Node)
    assert dict(stored.metadata.labels) == {
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": "node-1",
        "kubernetes.io/os": "linux",
    }
    assert stored.status.capacity["cpu"] == parse_quantity("4")
    assert stored.status.allocatable == stored.status.capacity
    assert stored.status.addresses[0] == NodeAddress(type="InternalIP", address="172.18.0.2")
    assert _condition(stored, "Ready").status is ConditionStatus.TRUE
    assert node_status_request(state, CONFIG, Time(now + 10)) is None


def test_a_node_with_another_naming_registers_with_only_its_hostname() -> None:
    req = node_status_request(cluster_with(), KubeletConfig(node_name="worker-a"), T0)
    assert isinstance(req, Create) and isinstance(req.obj, Node)
    assert req.obj.status.addresses == (NodeAddress(type="Hostname", address="worker-a"),)


# --- lease -------------------------------------------------------------------------------


def test_the_first_lease_request_creates_a_lease_owned_by_the_node() -> None:
    state, t0 = _cluster_state()
    now = Time(t0 + 1)
    req = lease_request(state, CONFIG, now)
    assert isinstance(req, Create)
    state, stored = _serve(state, req, now)
    assert isinstance(stored, Lease)
    node = _node(state)
    assert stored.metadata.namespace == "kube-node-lease" and stored.metadata.name == "node-1"
    assert stored.metadata.owner_references == (
        OwnerReference(api_version="v1", kind="Node", name="node-1", uid=node.metadata.uid),
    )
    assert stored.spec == LeaseSpec(
        holder_identity="node-1", lease_duration_seconds=40, renew_time=MicroTime(now)
    )


def test_renewing_updates_renew_time_and_keeps_the_resource_version() -> None:
    state, t0 = _cluster_state()
    state, created = _serve(state, lease_request(state, CONFIG, Time(t0 + 1)), Time(t0 + 1))
    later = Time(t0 + 11)
    req = lease_request(state, CONFIG, later)
    assert isinstance(req, Update) and isinstance(req.obj, Lease)
    assert req.obj.metadata.resource_version == created.metadata.resource_version
    state, renewed = _serve(state, req, later)
    assert isinstance(renewed, Lease) and renewed.spec.renew_time == MicroTime(later)
    assert renewed.metadata.resource_version > created.metadata.resource_version
    _, resp, _ = handle(state, req, Time(later + 1))
    assert resp.code == 409


def test_a_lease_without_a_node_in_view_has_no_owner() -> None:
    req = lease_request(cluster_with(namespaces=("kube-node-lease",)), CONFIG, T0)
    assert isinstance(req, Create) and req.obj.metadata.owner_references == ()


# --- static pods -------------------------------------------------------------------------

ETCD = """\
apiVersion: v1
kind: Pod
metadata:
  name: etcd
  namespace: kube-system
  labels: {component: etcd}
spec:
  containers:
  - name: etcd
    image: registry.k8s.io/etcd:3.5.15-0
"""

WEB = """\
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
  - name: nginx
    image: nginx:1.25
"""


def _static_config(*files: tuple[str, str], node: str = "node-1") -> KubeletConfig:
    return KubeletConfig(node_name=node, static_manifests=files)


def test_static_pods_get_upstream_defaults_and_come_sorted() -> None:
    pods, errors = static_pods(_static_config(("web.yaml", WEB), ("etcd.yaml", ETCD)))
    assert errors == ()
    assert [(p.metadata.namespace, p.metadata.name) for p in pods] == [
        ("default", "web-node-1"),
        ("kube-system", "etcd-node-1"),
    ]
    web = pods[0]
    uid = web.metadata.uid
    assert len(uid) == 32 and int(uid, 16) >= 0
    assert dict(web.metadata.annotations) == {
        "kubernetes.io/config.hash": uid,
        "kubernetes.io/config.source": "file",
    }
    assert web.spec.node_name == "node-1"
    assert web.spec.tolerations == (
        Toleration(operator=TolerationOperator.EXISTS, effect=TaintEffect.NO_EXECUTE),
    )
    assert web.status.phase is PodPhase.PENDING
    assert is_static_pod(web) and not is_mirror_pod(web)


def test_the_config_hash_depends_on_content_node_and_file() -> None:
    def uid(cfg: KubeletConfig) -> str:
        pods, _ = static_pods(cfg)
        return pods[0].metadata.uid

    base = uid(_static_config(("web.yaml", WEB)))
    assert base == uid(_static_config(("web.yaml", WEB)))
    assert base != uid(_static_config(("web.yaml", WEB), node="node-2"))
    assert base != uid(_static_config(("other.yaml", WEB)))
    assert base != uid(_static_config(("web.yaml", WEB.replace("nginx:1.25", "nginx:1.26"))))


def test_seen_time_is_recorded_when_given() -> None:
    pods, _ = static_pods(_static_config(("web.yaml", WEB)), seen=T0)
    assert pods[0].metadata.annotations["kubernetes.io/config.seen"] == "2023-11-14T22:13:20Z"


def test_an_existing_no_execute_toleration_is_not_doubled() -> None:
    text = WEB + "  tolerations:\n  - operator: Exists\n    effect: NoExecute\n"
    pods, errors = static_pods(_static_config(("web.yaml", text)))
    assert errors == () and len(pods[0].spec.tolerations) == 1


def test_bad_manifests_give_errors_naming_the_file_and_the_others_still_run() -> None:
    service = "apiVersion: v1\nkind: Service\nmetadata: {name: svc}\nspec:\n  ports: [{port: 80}]\n"
    no_containers = "apiVersion: v1\nkind: Pod\nmetadata: {name: empty}\nspec: {containers: []}\n"
    wrong_type = "apiVersion: v1\nkind: Pod\nmetadata: {name: bad}\nspec: {containers: 3}\n"
    pods, errors = static_pods(
        _static_config(
            ("svc.yaml", service),
            ("empty.yaml", no_containers),
            ("broken.yaml", "kind: [unclosed"),
            ("bad.yaml", wrong_type),
            ("web.yaml", WEB),
        )
    )
    assert [p.metadata.name for p in pods] == ["web-node-1"]
    assert len(errors) == 4
    assert errors[0] == (
        "svc.yaml: document 1: Service 'svc': kind: a static pod manifest must hold Pods"
    )
    assert errors[1].startswith("empty.yaml: pod 'empty': invalid pod: spec.containers: Required value")
    assert errors[2].startswith("broken.yaml: ")
    assert errors[3].startswith("bad.yaml: ") and "spec.containers" in errors[3]


def test_a_duplicate_static_pod_name_is_an_error() -> None:
    pods, errors = static_pods(_static_config(("a.yaml", WEB), ("b.yaml", WEB)))
    assert len(pods) == 1 and pods[0].metadata.annotations["kubernetes.io/config.hash"]
    assert errors == (
        "b.yaml: pod default/web-node-1 duplicates another static pod with the same name",
    )


def test_mirror_pod_is_controlled_by_the_node_and_created_through_the_apiserver() -> None:
    state, t0 = _cluster_state()
    node = _node(state)
    (static, *_), _ = static_pods(_static_config(("etcd.yaml", ETCD)))
    mirror = mirror_pod(static, node)
    assert mirror.metadata.uid == "" and mirror.metadata.resource_version == 0
    assert mirror.metadata.annotations["kubernetes.io/config.mirror"] == static.metadata.uid
    assert mirror.metadata.owner_references == (
        OwnerReference(
            api_version="v1", kind="Node", name="node-1", uid=node.metadata.uid, controller=True
        ),
    )
    assert is_mirror_pod(mirror) and not is_mirror_pod(static)
    _, stored = _serve(state, Create(obj=mirror), Time(t0 + 1))
    assert isinstance(stored, Pod)
    assert stored.metadata.uid != static.metadata.uid
    assert stored.spec.node_name == "node-1"
    assert is_mirror_pod(stored)


def test_api_pods_are_neither_static_nor_mirrors() -> None:
    pod = _pod("a")
    assert not is_static_pod(pod) and not is_mirror_pod(pod)
    api = attrs.evolve(
        pod, metadata=attrs.evolve(pod.metadata, annotations=pmap({"kubernetes.io/config.source": "api"}))
    )
    assert not is_static_pod(api)
