"""Score plugins: raw scores and normalization against upstream's unit-test expectations."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from kcore.api.core import Node
from kcore.api.pod import (
    Affinity,
    NodeAffinity,
    NodeSelectorOperator,
    NodeSelectorTerm,
    Pod,
    PodAffinity,
    PreferredSchedulingTerm,
    TaintEffect,
    Toleration,
    WeightedPodAffinityTerm,
)
from kcore.scheduler.plugins import (
    SCORERS,
    interpodaffinity,
    nodeaffinity,
    noderesources,
    podtopologyspread,
    tainttoleration,
)
from kcore.scheduler.plugins.framework import DEFAULT_SCORE_WEIGHTS, ScorePlan, default_normalize
from tests.scheduler_builders import (
    container,
    cycle_for,
    expr,
    node,
    pod,
    pod_affinity,
    pod_term,
    snapshot,
    spread,
    taint,
)


def scores(prescore: Callable[..., ScorePlan | None], nodes: Iterable[Node], p: Pod, existing: Iterable[Pod] = ()) -> list[int] | None:
    nodes = tuple(nodes)
    s = snapshot(nodes, existing)
    feasible = [s.info(n.metadata.name) for n in nodes]
    plan = prescore(cycle_for(s, p), feasible)
    if plan is None:
        return None
    return plan.normalize(feasible, [plan.score(ni) for ni in feasible])


def test_default_weights_are_upstreams() -> None:
    assert dict(DEFAULT_SCORE_WEIGHTS) == {
        "TaintToleration": 3,
        "NodeAffinity": 2,
        "NodeResourcesFit": 1,
        "PodTopologySpread": 2,
        "InterPodAffinity": 2,
        "NodeResourcesBalancedAllocation": 1,
    }
    assert {name for name, _ in SCORERS} == set(DEFAULT_SCORE_WEIGHTS)


def test_default_normalize_scales_by_the_maximum() -> None:
    assert default_normalize([1, 2, 4], reverse=False) == [25, 50, 100]
    assert default_normalize([1, 2, 4], reverse=True) == [75, 50, 0]
    assert default_normalize([0, 0], reverse=True) == [100, 100]


# --- NodeResourcesFit LeastAllocated (least_allocated_test.go) ---------------------------

_SIZED = [node("node1", cpu="4000m", memory="10000"), node("node2", cpu="6000m", memory="10000")]
_POD_3000_5000 = pod(
    containers=[
        container("a", requests={"cpu": "1000m", "memory": "2000"}),
        container("b", requests={"cpu": "2000m", "memory": "3000"}),
    ]
)


def test_least_allocated_differently_sized_nodes() -> None:
    # node1: cpu (4000-3000)*100/4000 = 25, memory (10000-5000)*100/10000 = 50 -> 37
    # node2: cpu (6000-3000)*100/6000 = 50, memory 50 -> 50
    assert scores(noderesources.prescore_least_allocated, _SIZED, _POD_3000_5000) == [37, 50]


def test_least_allocated_counts_existing_pods() -> None:
    existing = [pod("old", requests={"cpu": "1000m", "memory": "5000"}, node_name="node2")]
    # node2: cpu (6000-4000)*100/6000 = 33, memory 0 -> 16
    assert scores(noderesources.prescore_least_allocated, _SIZED, _POD_3000_5000, existing) == [37, 16]


def test_least_allocated_uses_non_zero_defaults_for_missing_requests() -> None:
    # 100m of 1000m cpu free 90; 200Mi of 400Mi memory free 50 -> 70
    got = scores(noderesources.prescore_least_allocated, [node("n", cpu="1", memory="400Mi")], pod())
    assert got == [70]


# --- BalancedAllocation (balanced_allocation_test.go) ------------------------------------


def test_balanced_allocation_differently_sized_nodes() -> None:
    # node1: fractions 0.75 and 0.5 -> std 0.125 -> 87; node2: 0.5 and 0.5 -> 100
    assert scores(noderesources.prescore_balanced, _SIZED, _POD_3000_5000) == [87, 100]


def test_balanced_allocation_skips_a_best_effort_pod() -> None:
    assert scores(noderesources.prescore_balanced, _SIZED, pod()) is None


def test_balanced_score_of_three_resources_uses_the_standard_deviation() -> None:
    assert noderesources.balanced_score([0.2, 0.5, 0.8]) == 75  # std = sqrt(0.06) = 0.2449


# --- TaintToleration (taint_toleration_test.go) -----------------------------------------


def test_more_intolerable_prefer_no_schedule_taints_score_lower() -> None:
    pref = TaintEffect.PREFER_NO_SCHEDULE
    p = pod(tolerations=[Toleration(key="foo", value="bar", effect=pref)])
    nodes = [
        node("n1", taints=[taint("foo", "bar", pref)]),
        node("n2", taints=[taint("cpu-type", "arm64", pref)]),
        node("n3", taints=[taint("cpu-type", "arm64", pref), taint("disk-type", "ssd", pref)]),
    ]
    assert scores(tainttoleration.prescore, nodes, p) == [100, 50, 0]


def test_no_schedule_taints_do_not_affect_the_score() -> None:
    nodes = [node("n1", taints=[taint("k", "v", TaintEffect.PREFER_NO_SCHEDULE)]), node("n2", taints=[taint("x")])]
    assert scores(tainttoleration.prescore, nodes, pod()) == [0, 100]


# --- NodeAffinity preferred (node_affinity_test.go) -------------------------------------


def _preferred(*terms: tuple[int, NodeSelectorTerm]) -> Affinity:
    return Affinity(
        node_affinity=NodeAffinity(
            preferred_during_scheduling_ignored_during_execution=tuple(
                PreferredSchedulingTerm(weight=w, preference=t) for w, t in terms
            )
        )
    )


def test_preferred_node_affinity_weights_are_summed_and_normalized() -> None:
    foo = NodeSelectorTerm(match_expressions=(expr("foo", NodeSelectorOperator.IN, "bar"),))
    key = NodeSelectorTerm(match_expressions=(expr("key", NodeSelectorOperator.IN, "value"),))
    p = pod(affinity=_preferred((2, foo), (4, key)))
    nodes = [
        node("n1", labels={"foo": "bar"}),
        node("n2", labels={"foo": "bar", "key": "value"}),
        node("n3", labels={"key": "value"}),
        node("n4"),
    ]
    assert scores(nodeaffinity.prescore, nodes, p) == [33, 100, 66, 0]


def test_empty_preferred_term_is_ignored() -> None:
    p = pod(affinity=_preferred((5, NodeSelectorTerm())))
    assert scores(nodeaffinity.prescore, [node("n1")], p) is None


# --- PodTopologySpread soft (scoring_test.go) -------------------------------------------

HOST = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"


def _soft(key: str) -> Pod:
    return pod("new", labels={"app": "web"}, spread=[spread(key, {"app": "web"}, hard=False)])


def test_soft_spread_no_existing_pods_scores_all_nodes_equally() -> None:
    assert scores(podtopologyspread.prescore, [node("a"), node("b")], _soft(HOST)) == [100, 100]


def test_soft_spread_by_hostname_prefers_emptier_nodes() -> None:
    existing = [pod(f"w{i}", labels={"app": "web"}, node_name=n) for i, n in enumerate(["a", "a", "b"])]
    # weight log(4+2); raw a = round(2*1.79) = 4, b = 2, c = d = 0; normalized 100*(4+0-s)/4
    got = scores(podtopologyspread.prescore, [node(n) for n in "abcd"], _soft(HOST), existing)
    assert got == [0, 50, 100, 100]


def test_soft_spread_by_zone_counts_whole_domains() -> None:
    nodes = [node("a1", labels={ZONE: "a"}), node("a2", labels={ZONE: "a"}), node("b1", labels={ZONE: "b"})]
    existing = [pod("w1", labels={"app": "web"}, node_name="a2")]
    # two zones: weight log(4) = 1.386; a1 and a2 raw round(1.386) = 1, b1 raw 0
    assert scores(podtopologyspread.prescore, nodes, _soft(ZONE), existing) == [0, 0, 100]


def test_soft_spread_ignores_nodes_without_the_key() -> None:
    nodes = [node("a1", labels={ZONE: "a"}), node("bare")]
    assert scores(podtopologyspread.prescore, nodes, _soft(ZONE)) == [100, 0]


# --- InterPodAffinity preferred (scoring_test.go) ---------------------------------------


def _preferred_pod_affinity(weight: int, labels: dict[str, str], key: str) -> Affinity:
    return Affinity(
        pod_affinity=PodAffinity(
            preferred_during_scheduling_ignored_during_execution=(
                WeightedPodAffinityTerm(weight=weight, pod_affinity_term=pod_term(labels, key)),
            )
        )
    )


def test_preferred_pod_affinity_favours_the_topology_with_matches() -> None:
    nodes = [node("a", labels={ZONE: "z1"}), node("b", labels={ZONE: "z1"}), node("c", labels={ZONE: "z2"})]
    existing = [pod("db", labels={"app": "db"}, node_name="a")]
    p = pod("web", affinity=_preferred_pod_affinity(5, {"app": "db"}, ZONE))
    assert scores(interpodaffinity.prescore, nodes, p, existing) == [100, 100, 0]


def test_existing_pods_required_affinity_scores_at_hard_weight() -> None:
    existing = [pod("fan", node_name="b", affinity=pod_affinity(affinity=[pod_term({"app": "web"}, HOST)]))]
    got = scores(interpodaffinity.prescore, [node("a"), node("b")], pod("web", labels={"app": "web"}), existing)
    assert got == [0, 100]


def test_no_affinity_anywhere_skips_scoring() -> None:
    assert scores(interpodaffinity.prescore, [node("a")], pod()) is None
