"""The kubelet's node-side pure functions: admission, node status and Lease, static pods.

Unit tests assert exact upstream reason/message strings; the driver-level tests run the
produced requests through `kcore.apiserver.handle` on a `create_cluster` state, so the
apiserver's validation accepts what the kubelet sends.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import attrs
from pyrsistent import pmap

from kcore.api.core import Node, Taint
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
from kcore.kubelet.admission import Rejection, admit_pod
from kcore.kubelet.config import KubeletConfig
from kcore.quantity import parse_quantity
from kcore.state import ClusterState
from tests.builders import a_container, a_node, a_pod, cluster_with

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
