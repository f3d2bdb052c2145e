"""Filter plugins, one behaviour per test: pass, or fail with upstream's reason and code."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import attrs
from pyrsistent import pmap

from kcore.api.core import Node
from kcore.api.pod import (
    ContainerRestartPolicy,
    NodeSelectorOperator,
    NodeSelectorRequirement,
    NodeSelectorTerm,
    Pod,
    PodPhase,
    Protocol,
    TaintEffect,
    Toleration,
    TolerationOperator,
)
from kcore.scheduler.plugins import (
    basic,
    interpodaffinity,
    nodeaffinity,
    nodeports,
    noderesources,
    podtopologyspread,
    tainttoleration,
)
from kcore.scheduler.plugins.framework import Code, Cycle, FilterFn, Status
from tests.scheduler_builders import (
    container,
    cycle_for,
    expr,
    node,
    pod,
    pod_affinity,
    pod_term,
    required_node_affinity,
    snapshot,
    spread,
    taint,
)

PreFilter = Callable[[Cycle], FilterFn | None]


def run(prefilter: PreFilter, nodes: Iterable[Node], p: Pod, existing: Iterable[Pod] = ()) -> dict[str, Status | None]:
    nodes = tuple(nodes)
    s = snapshot(nodes, existing)
    check = prefilter(cycle_for(s, p))
    return {n.metadata.name: (None if check is None else check(s.info(n.metadata.name))) for n in nodes}


def failing(plugin: str, code: Code, *reasons: str) -> Status:
    return Status(code=code, reasons=reasons, plugin=plugin)


U = Code.UNSCHEDULABLE
UU = Code.UNSCHEDULABLE_AND_UNRESOLVABLE

# --- NodeName ------------------------------------------------------------------------


def test_node_name_passes_only_the_named_node() -> None:
    got = run(basic.prefilter_node_name, [node("a"), node("b")], pod(node_name="a"))
    assert got == {
        "a": None,
        "b": failing("NodeName", UU, "node(s) didn't match the requested node name"),
    }


def test_node_name_unset_skips_the_plugin() -> None:
    s = snapshot([node("a")])
    assert basic.prefilter_node_name(cycle_for(s, pod())) is None


# --- NodeUnschedulable ------------------------------------------------------------------


def test_cordoned_node_fails_unresolvably() -> None:
    got = run(basic.prefilter_unschedulable, [node("a", unschedulable=True), node("b")], pod())
    assert got == {"a": failing("NodeUnschedulable", UU, "node(s) were unschedulable"), "b": None}


def test_toleration_of_the_unschedulable_taint_passes_a_cordoned_node() -> None:
    tol = Toleration(key="node.kubernetes.io/unschedulable", operator=TolerationOperator.EXISTS, effect=TaintEffect.NO_SCHEDULE)
    got = run(basic.prefilter_unschedulable, [node("a", unschedulable=True)], pod(tolerations=[tol]))
    assert got == {"a": None}


# --- TaintToleration --------------------------------------------------------------------

CP = taint("node-role.kubernetes.io/control-plane")


def test_untolerated_no_schedule_taint_fails_with_key_and_value() -> None:
    got = run(tainttoleration.prefilter, [node("a", taints=[taint("dedicated", "gpu")])], pod())
    assert got == {"a": failing("TaintToleration", UU, "node(s) had untolerated taint {dedicated: gpu}")}


def test_empty_value_taint_message_matches_upstream() -> None:
    got = run(tainttoleration.prefilter, [node("a", taints=[CP])], pod())
    assert got["a"] == failing(
        "TaintToleration", UU, "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"
    )


def test_no_execute_taint_needs_a_toleration_too() -> None:
    got = run(tainttoleration.prefilter, [node("a", taints=[taint("k", "v", TaintEffect.NO_EXECUTE)])], pod())
    assert got == {"a": failing("TaintToleration", UU, "node(s) had untolerated taint {k: v}")}


def test_prefer_no_schedule_taint_does_not_filter() -> None:
    got = run(tainttoleration.prefilter, [node("a", taints=[taint("k", "v", TaintEffect.PREFER_NO_SCHEDULE)])], pod())
    assert got == {"a": None}


def test_equal_toleration_with_matching_value_tolerates() -> None:
    tol = Toleration(key="dedicated", value="gpu", effect=TaintEffect.NO_SCHEDULE)
    got = run(tainttoleration.prefilter, [node("a", taints=[taint("dedicated", "gpu")])], pod(tolerations=[tol]))
    assert got == {"a": None}


def test_equal_toleration_with_other_value_does_not_tolerate() -> None:
    tol = Toleration(key="dedicated", value="cpu")
    got = run(tainttoleration.prefilter, [node("a", taints=[taint("dedicated", "gpu")])], pod(tolerations=[tol]))
    assert got == {"a": failing("TaintToleration", UU, "node(s) had untolerated taint {dedicated: gpu}")}


def test_empty_key_exists_toleration_tolerates_everything() -> None:
    tol = Toleration(operator=TolerationOperator.EXISTS)
    nodes = [node("a", taints=[taint("x", "1"), taint("y", "2", TaintEffect.NO_EXECUTE)])]
    assert run(tainttoleration.prefilter, nodes, pod(tolerations=[tol])) == {"a": None}


def test_toleration_for_another_effect_does_not_tolerate() -> None:
    tol = Toleration(key="k", operator=TolerationOperator.EXISTS, effect=TaintEffect.NO_EXECUTE)
    got = run(tainttoleration.prefilter, [node("a", taints=[taint("k")])], pod(tolerations=[tol]))
    assert got == {"a": failing("TaintToleration", UU, "node(s) had untolerated taint {k: }")}


def test_first_untolerated_taint_is_reported() -> None:
    tol = Toleration(key="a", operator=TolerationOperator.EXISTS)
    got = run(tainttoleration.prefilter, [node("n", taints=[taint("a"), taint("b", "2"), taint("c")])], pod(tolerations=[tol]))
    assert got["n"] == failing("TaintToleration", UU, "node(s) had untolerated taint {b: 2}")


def test_gt_toleration_compares_numerically() -> None:
    tol = Toleration(key="sla", operator=TolerationOperator.GT, value="900")
    nodes = [node("hi", taints=[taint("sla", "950")]), node("lo", taints=[taint("sla", "800")])]
    got = run(tainttoleration.prefilter, nodes, pod(tolerations=[tol]))
    assert got == {"hi": None, "lo": failing("TaintToleration", UU, "node(s) had untolerated taint {sla: 800}")}


# --- NodeAffinity -----------------------------------------------------------------------

ERR_AFFINITY = failing("NodeAffinity", UU, "node(s) didn't match Pod's node affinity/selector")


def test_node_selector_needs_every_label() -> None:
    nodes = [node("a", labels={"disk": "ssd", "zone": "z1"}), node("b", labels={"disk": "ssd"})]
    got = run(nodeaffinity.prefilter, nodes, pod(node_selector={"disk": "ssd", "zone": "z1"}))
    assert got == {"a": None, "b": ERR_AFFINITY}


def test_no_selector_and_no_affinity_skips_the_plugin() -> None:
    assert nodeaffinity.prefilter(cycle_for(snapshot([node("a")]), pod())) is None


def _affinity_result(*reqs: NodeSelectorRequirement, labels: dict[str, str]) -> Status | None:
    term = NodeSelectorTerm(match_expressions=reqs)
    return run(nodeaffinity.prefilter, [node("n", labels=labels)], pod(affinity=required_node_affinity(term)))["n"]


def test_in_operator_matches_a_listed_value() -> None:
    assert _affinity_result(expr("zone", NodeSelectorOperator.IN, "z1", "z2"), labels={"zone": "z2"}) is None


def test_in_operator_fails_an_unlisted_value() -> None:
    assert _affinity_result(expr("zone", NodeSelectorOperator.IN, "z1"), labels={"zone": "z3"}) == ERR_AFFINITY


def test_not_in_operator_passes_a_node_without_the_label() -> None:
    assert _affinity_result(expr("zone", NodeSelectorOperator.NOT_IN, "z1"), labels={}) is None


def test_exists_operator_needs_the_label() -> None:
    assert _affinity_result(expr("gpu", NodeSelectorOperator.EXISTS), labels={}) == ERR_AFFINITY


def test_does_not_exist_operator_fails_a_labelled_node() -> None:
    assert _affinity_result(expr("gpu", NodeSelectorOperator.DOES_NOT_EXIST), labels={"gpu": "1"}) == ERR_AFFINITY


def test_gt_operator_compares_integers() -> None:
    assert _affinity_result(expr("cores", NodeSelectorOperator.GT, "8"), labels={"cores": "16"}) is None
    assert _affinity_result(expr("cores", NodeSelectorOperator.GT, "8"), labels={"cores": "8"}) == ERR_AFFINITY


def test_lt_operator_fails_a_non_integer_label() -> None:
    assert _affinity_result(expr("cores", NodeSelectorOperator.LT, "8"), labels={"cores": "four"}) == ERR_AFFINITY


def test_terms_are_ored() -> None:
    t1 = NodeSelectorTerm(match_expressions=(expr("zone", NodeSelectorOperator.IN, "z1"),))
    t2 = NodeSelectorTerm(match_expressions=(expr("zone", NodeSelectorOperator.IN, "z2"),))
    got = run(nodeaffinity.prefilter, [node("a", labels={"zone": "z2"})], pod(affinity=required_node_affinity(t1, t2)))
    assert got == {"a": None}


def test_empty_term_matches_nothing() -> None:
    got = run(nodeaffinity.prefilter, [node("a")], pod(affinity=required_node_affinity(NodeSelectorTerm())))
    assert got == {"a": ERR_AFFINITY}


def test_match_fields_select_by_node_name() -> None:
    term = NodeSelectorTerm(match_fields=(expr("metadata.name", NodeSelectorOperator.IN, "b"),))
    got = run(nodeaffinity.prefilter, [node("a"), node("b")], pod(affinity=required_node_affinity(term)))
    assert got == {"a": ERR_AFFINITY, "b": None}


# --- NodePorts --------------------------------------------------------------------------

ERR_PORTS = failing("NodePorts", U, "node(s) didn't have free ports for the requested pod ports")


def _with_port(name: str, port: int, ip: str = "", proto: Protocol = Protocol.TCP, node_name: str = "") -> Pod:
    return pod(name, containers=[container(host_ports=[(port, ip, proto)])], node_name=node_name)


def test_same_host_port_and_protocol_clash() -> None:
    got = run(nodeports.prefilter, [node("a")], _with_port("new", 80), [_with_port("old", 80, node_name="a")])
    assert got == {"a": ERR_PORTS}


def test_other_protocol_on_the_same_port_fits() -> None:
    got = run(nodeports.prefilter, [node("a")], _with_port("new", 53, proto=Protocol.UDP), [_with_port("old", 53, node_name="a")])
    assert got == {"a": None}


def test_specific_ip_clashes_with_all_addresses() -> None:
    got = run(nodeports.prefilter, [node("a")], _with_port("new", 80, "10.0.0.1"), [_with_port("old", 80, node_name="a")])
    assert got == {"a": ERR_PORTS}


def test_two_specific_ips_do_not_clash() -> None:
    got = run(nodeports.prefilter, [node("a")], _with_port("new", 80, "10.0.0.2"), [_with_port("old", 80, "10.0.0.1", node_name="a")])
    assert got == {"a": None}


def test_pod_without_host_ports_skips_the_plugin() -> None:
    assert nodeports.prefilter(cycle_for(snapshot([node("a")]), pod())) is None


# --- NodeResourcesFit -------------------------------------------------------------------

def _fit(p: Pod, n: Node, existing: Iterable[Pod] = ()) -> Status | None:
    return run(noderesources.prefilter, [n], p, existing)[n.metadata.name]


def test_insufficient_cpu_against_allocatable_minus_requested() -> None:
    existing = [pod("old", requests={"cpu": "3"}, node_name="a")]
    assert _fit(pod(requests={"cpu": "1500m"}), node("a", cpu="4"), existing) == failing(
        "NodeResourcesFit", U, "Insufficient cpu"
    )


def test_exact_fit_passes() -> None:
    existing = [pod("old", requests={"cpu": "3", "memory": "1Gi"}, node_name="a")]
    assert _fit(pod(requests={"cpu": "1", "memory": "15Gi"}), node("a", cpu="4", memory="16Gi"), existing) is None


def test_every_shortage_is_reported_in_upstream_order() -> None:
    existing = [pod("old", requests={"cpu": "1", "memory": "1Gi"}, node_name="a")]
    got = _fit(pod(requests={"cpu": "1", "memory": "1Gi"}), node("a", cpu="1", memory="1Gi", pods="1"), existing)
    assert got == failing("NodeResourcesFit", U, "Too many pods", "Insufficient cpu", "Insufficient memory")


def test_asking_more_than_the_whole_node_is_unresolvable() -> None:
    assert _fit(pod(requests={"memory": "32Gi"}), node("a", memory="16Gi")) == failing(
        "NodeResourcesFit", UU, "Insufficient memory"
    )


def test_best_effort_pod_only_checks_the_pod_count() -> None:
    existing = [pod("old", requests={"cpu": "4"}, node_name="a")]
    assert _fit(pod(), node("a", cpu="4"), existing) is None
    assert _fit(pod(), node("a", pods="1"), existing) == failing("NodeResourcesFit", U, "Too many pods")


def test_init_container_max_rule() -> None:
    p = pod(
        containers=[container(requests={"cpu": "1"})],
        init_containers=[container("init", requests={"cpu": "3"})],
    )
    assert _fit(p, node("a", cpu="3")) is None
    assert _fit(p, node("a", cpu="2")) == failing("NodeResourcesFit", UU, "Insufficient cpu")


def test_sidecar_init_containers_add_to_the_running_sum() -> None:
    sidecar = attrs.evolve(container("side", requests={"cpu": "1"}), restart_policy=ContainerRestartPolicy.ALWAYS)
    p = pod(containers=[container(requests={"cpu": "2"})], init_containers=[sidecar])
    assert _fit(p, node("a", cpu="3")) is None
    assert _fit(p, node("a", cpu="2500m")) == failing("NodeResourcesFit", UU, "Insufficient cpu")


def test_pod_overhead_counts() -> None:
    p = pod(requests={"cpu": "1"}, overhead={"cpu": "500m"})
    assert _fit(p, node("a", cpu="1")) == failing("NodeResourcesFit", UU, "Insufficient cpu")


def test_extended_resources_are_checked() -> None:
    p = pod(requests={"example.com/gpu": "2"})
    assert _fit(p, node("a", extra={"example.com/gpu": "2"})) is None
    assert _fit(p, node("b", extra={"example.com/gpu": "1"})) == failing("NodeResourcesFit", UU, "Insufficient example.com/gpu")


def test_terminal_pods_do_not_take_resources() -> None:
    old = pod("old", requests={"cpu": "4"}, node_name="a")
    done = attrs.evolve(old, status=attrs.evolve(old.status, phase=PodPhase.SUCCEEDED))
    assert _fit(pod(requests={"cpu": "1"}), node("a", cpu="4"), [done]) is None


# --- PodTopologySpread ------------------------------------------------------------------

ZONE = "topology.kubernetes.io/zone"
ERR_SKEW = failing("PodTopologySpread", U, "node(s) didn't match pod topology spread constraints")


def _zoned() -> list[Node]:
    return [node("a1", labels={ZONE: "a"}), node("b1", labels={ZONE: "b"})]


def _web(name: str, node_name: str = "") -> Pod:
    return pod(name, labels={"app": "web"}, node_name=node_name, spread=[spread(ZONE, {"app": "web"})])


def test_spread_rejects_the_domain_that_would_exceed_max_skew() -> None:
    got = run(podtopologyspread.prefilter, _zoned(), _web("new"), [_web("w1", "a1")])
    assert got == {"a1": ERR_SKEW, "b1": None}


def test_spread_allows_either_domain_when_balanced() -> None:
    got = run(podtopologyspread.prefilter, _zoned(), _web("new"), [_web("w1", "a1"), _web("w2", "b1")])
    assert got == {"a1": None, "b1": None}


def test_spread_node_without_the_topology_key_is_unresolvable() -> None:
    got = run(podtopologyspread.prefilter, [*_zoned(), node("bare")], _web("new"))
    assert got["bare"] == failing(
        "PodTopologySpread", UU, "node(s) didn't match pod topology spread constraints (missing required label)"
    )


def test_min_domains_makes_the_global_minimum_zero() -> None:
    p = pod("new", labels={"app": "web"}, spread=[spread(ZONE, {"app": "web"}, min_domains=3)])
    existing = [_web("w1", "a1"), _web("w2", "b1")]
    got = run(podtopologyspread.prefilter, _zoned(), p, existing)
    assert got == {"a1": ERR_SKEW, "b1": ERR_SKEW}


def test_spread_counts_only_nodes_matching_the_pods_node_affinity() -> None:
    nodes = [node("a1", labels={ZONE: "a", "pool": "x"}), node("b1", labels={ZONE: "b", "pool": "y"})]
    p = attrs.evolve(_web("new"), spec=attrs.evolve(_web("new").spec, node_selector=pmap({"pool": "x"})))
    # b1 is outside the pod's node selector, so zone b is not a domain: skew on a1 is 1+1-1.
    got = run(podtopologyspread.prefilter, nodes, p, [_web("w1", "a1")])
    assert got["a1"] is None


def test_soft_constraints_do_not_filter() -> None:
    p = pod("new", labels={"app": "web"}, spread=[spread(ZONE, {"app": "web"}, hard=False)])
    assert podtopologyspread.prefilter(cycle_for(snapshot(_zoned()), p)) is None


# --- InterPodAffinity -------------------------------------------------------------------

HOST = "kubernetes.io/hostname"


def test_required_affinity_needs_a_matching_pod_in_the_topology() -> None:
    db = pod("db", labels={"app": "db"}, node_name="a")
    p = pod("web", affinity=pod_affinity(affinity=[pod_term({"app": "db"}, HOST)]))
    got = run(interpodaffinity.prefilter, [node("a"), node("b")], p, [db])
    assert got == {"a": None, "b": failing("InterPodAffinity", UU, "node(s) didn't match pod affinity rules")}


def test_first_pod_matching_its_own_affinity_may_go_anywhere() -> None:
    p = pod("web", labels={"app": "web"}, affinity=pod_affinity(affinity=[pod_term({"app": "web"}, HOST)]))
    got = run(interpodaffinity.prefilter, [node("a"), node("b")], p)
    assert got == {"a": None, "b": None}


def test_required_anti_affinity_rejects_the_topology_with_a_match() -> None:
    old = pod("w1", labels={"app": "web"}, node_name="a")
    p = pod("w2", labels={"app": "web"}, affinity=pod_affinity(anti=[pod_term({"app": "web"}, HOST)]))
    got = run(interpodaffinity.prefilter, [node("a"), node("b")], p, [old])
    assert got == {"a": failing("InterPodAffinity", U, "node(s) didn't match pod anti-affinity rules"), "b": None}


def test_existing_pods_anti_affinity_rejects_the_incoming_pod() -> None:
    old = pod("loner", node_name="a", affinity=pod_affinity(anti=[pod_term({"app": "web"}, ZONE)]))
    nodes = [node("a", labels={ZONE: "z1"}), node("a2", labels={ZONE: "z1"}), node("b", labels={ZONE: "z2"})]
    got = run(interpodaffinity.prefilter, nodes, pod("web", labels={"app": "web"}), [old])
    err = failing("InterPodAffinity", U, "node(s) didn't satisfy existing pods anti-affinity rules")
    assert got == {"a": err, "a2": err, "b": None}


def test_anti_affinity_only_looks_in_the_terms_namespaces() -> None:
    old = pod("w1", namespace="other", labels={"app": "web"}, node_name="a")
    p = pod("w2", labels={"app": "web"}, affinity=pod_affinity(anti=[pod_term({"app": "web"}, HOST)]))
    assert run(interpodaffinity.prefilter, [node("a")], p, [old]) == {"a": None}


def test_no_affinity_anywhere_skips_the_plugin() -> None:
    assert interpodaffinity.prefilter(cycle_for(snapshot([node("a")]), pod())) is None
