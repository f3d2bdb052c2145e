"""schedule_one: sampling counts, round-robin, ties, the FailedScheduling message, preemption."""

from __future__ import annotations

import attrs

from kcore.api.kinds import Kind, ObjectKey
from kcore.api.pod import PreemptionPolicy
from kcore.scheduler import (
    Diagnosis,
    SchedulerConfig,
    Success,
    Unschedulable,
    num_feasible_nodes_to_find,
    schedule_one,
)
from kcore.scheduler.nodeinfo import snapshot_of
from tests.scheduler_builders import node, pod, taint

CP = taint("node-role.kubernetes.io/control-plane")


def test_adaptive_percentage_of_nodes_to_score() -> None:
    assert num_feasible_nodes_to_find(None, 50) == 50
    assert num_feasible_nodes_to_find(None, 100) == 100  # 50% of 100 is raised to 100
    assert num_feasible_nodes_to_find(None, 1000) == 420  # 50 - 1000/125 = 42%
    assert num_feasible_nodes_to_find(None, 5000) == 500  # 50 - 40 = 10%
    assert num_feasible_nodes_to_find(None, 6000) == 300  # 50 - 48 = 2%, raised to 5%
    assert num_feasible_nodes_to_find(None, 1500) == 570  # 50 - 12 = 38%


def test_explicit_percentage_of_nodes_to_score() -> None:
    assert num_feasible_nodes_to_find(100, 5000) == 5000
    assert num_feasible_nodes_to_find(1, 5000) == 100  # never fewer than 100
    assert num_feasible_nodes_to_find(30, 1000) == 300


def test_failed_scheduling_message_matches_upstream() -> None:
    nodes = [node(f"w{i}", cpu="1") for i in range(3)] + [node(f"cp{i}", taints=[CP]) for i in range(2)]
    got = schedule_one(snapshot_of(nodes, []), pod(requests={"cpu": "2"}))
    assert isinstance(got, Unschedulable)
    assert got.message == (
        "0/5 nodes are available: 2 node(s) had untolerated taint "
        "{node-role.kubernetes.io/control-plane: }, 3 Insufficient cpu. "
        "preemption: 0/5 nodes are available: 5 Preemption is not helpful for scheduling."
    )


def test_message_lists_resolvable_nodes_without_victims() -> None:
    nodes = [node("w1", cpu="2"), node("cp", taints=[CP])]
    busy = pod("busy", requests={"cpu": "2"}, node_name="w1", priority=10)
    got = schedule_one(snapshot_of(nodes, [busy]), pod(requests={"cpu": "1"}))
    assert isinstance(got, Unschedulable)
    assert got.message == (
        "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint "
        "{node-role.kubernetes.io/control-plane: }. preemption: 0/2 nodes are available: "
        "1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling."
    )


def test_preemption_policy_never_is_not_eligible() -> None:
    busy = pod("busy", requests={"cpu": "2"}, node_name="w1")
    p = pod(requests={"cpu": "1"}, priority=100)
    p = attrs.evolve(p, spec=attrs.evolve(p.spec, preemption_policy=PreemptionPolicy.NEVER))
    got = schedule_one(snapshot_of([node("w1", cpu="2")], [busy]), p)
    assert isinstance(got, Unschedulable)
    assert got.message == (
        "0/1 nodes are available: 1 Insufficient cpu. "
        "preemption: not eligible due to preemptionPolicy=Never."
    )


def test_diagnosis_lists_each_node_status_sorted() -> None:
    got = schedule_one(snapshot_of([node("b", cpu="1"), node("a", unschedulable=True)], []), pod(requests={"cpu": "2"}))
    assert isinstance(got, Unschedulable)
    assert [(n, s.plugin) for n, s in got.diagnosis.node_to_status] == [
        ("a", "NodeUnschedulable"),
        ("b", "NodeResourcesFit"),
    ]
    assert got.diagnosis.unschedulable_plugins == ("NodeResourcesFit", "NodeUnschedulable")


def test_no_nodes_message() -> None:
    got = schedule_one(snapshot_of([], []), pod())
    assert got == Unschedulable(
        diagnosis=Diagnosis(), message="no nodes available to schedule pods", next_start_index=0
    )


def test_single_feasible_node_is_chosen_without_scoring() -> None:
    nodes = [node("a", cpu="1"), node("b", cpu="8"), node("c", cpu="1")]
    got = schedule_one(snapshot_of(nodes, []), pod(requests={"cpu": "2"}))
    assert got == Success(node_name="b", evaluated_nodes=3, feasible_nodes=1, next_start_index=0)


def test_highest_score_wins() -> None:
    nodes = [node("a"), node("b", cpu="16", memory="64Gi")]
    got = schedule_one(snapshot_of(nodes, []), pod(requests={"cpu": "1", "memory": "1Gi"}))
    assert isinstance(got, Success) and got.node_name == "b"


def test_sampling_stops_after_enough_feasible_nodes_and_advances_the_start() -> None:
    nodes = [node(f"n{i:04d}") for i in range(1000)]
    s = snapshot_of(nodes, [])
    got = schedule_one(s, pod(), start_index=990)
    assert isinstance(got, Success)
    assert (got.evaluated_nodes, got.feasible_nodes, got.next_start_index) == (420, 420, 410)


def test_failed_nodes_count_as_evaluated() -> None:
    nodes = [node(f"n{i:03d}", unschedulable=i < 150) for i in range(300)]
    got = schedule_one(snapshot_of(nodes, []), pod())
    assert isinstance(got, Success)
    # 300 nodes: 50 - 300/125 = 48% -> 144 feasible wanted, found after 150 failures
    assert (got.evaluated_nodes, got.feasible_nodes, got.next_start_index) == (294, 144, 294)


def test_ties_are_broken_by_the_seed_deterministically() -> None:
    s = snapshot_of([node(f"n{i}") for i in range(20)], [])
    picks = {seed: schedule_one(s, pod(), seed=seed) for seed in range(8)}
    again = {seed: schedule_one(s, pod(), seed=seed) for seed in range(8)}
    assert picks == again
    assert len({r.node_name for r in picks.values() if isinstance(r, Success)}) > 1


def test_tie_break_does_not_depend_on_the_start_index() -> None:
    s = snapshot_of([node(f"n{i}") for i in range(20)], [])
    names = {r.node_name for i in range(20) if isinstance(r := schedule_one(s, pod(), seed=3, start_index=i), Success)}
    assert len(names) == 1


# --- preemption ---------------------------------------------------------------------------


def _key(name: str) -> ObjectKey:
    return ObjectKey(kind=Kind.POD, namespace="default", name=name)


def test_preemption_nominates_a_node_with_minimal_victims() -> None:
    existing = [
        pod("low-a", requests={"cpu": "1"}, node_name="a", priority=1),
        pod("low-b", requests={"cpu": "1"}, node_name="a", priority=2),
        pod("mid", requests={"cpu": "2"}, node_name="b", priority=5),
    ]
    got = schedule_one(snapshot_of([node("a", cpu="2"), node("b", cpu="2")], existing), pod(requests={"cpu": "1"}, priority=10))
    assert isinstance(got, Unschedulable)
    # a: one victim (the lowest, low-a) suffices; b: one victim of priority 5. a wins on priority.
    assert got.nomination is not None
    assert (got.nomination.node_name, got.nomination.victims) == ("a", (_key("low-a"),))
    assert got.message == "0/2 nodes are available: 2 Insufficient cpu."


def test_preemption_never_takes_equal_or_higher_priority_pods() -> None:
    existing = [pod("peer", requests={"cpu": "2"}, node_name="a", priority=10)]
    got = schedule_one(snapshot_of([node("a", cpu="2")], existing), pod(requests={"cpu": "1"}, priority=10))
    assert isinstance(got, Unschedulable) and got.nomination is None


def test_preemption_fails_when_even_all_victims_are_not_enough() -> None:
    existing = [pod("low", requests={"cpu": "1"}, node_name="a", priority=1), pod("high", requests={"cpu": "1"}, node_name="a", priority=50)]
    got = schedule_one(snapshot_of([node("a", cpu="2")], existing), pod(requests={"cpu": "2"}, priority=10))
    assert isinstance(got, Unschedulable)
    assert got.nomination is None
    assert got.message.endswith("preemption: 0/1 nodes are available: 1 Insufficient cpu.")


def test_preemption_prefers_fewer_victims_at_equal_priority() -> None:
    existing = [
        pod("a1", requests={"cpu": "1"}, node_name="a", priority=1),
        pod("a2", requests={"cpu": "1"}, node_name="a", priority=1),
        pod("b1", requests={"cpu": "2"}, node_name="b", priority=1),
    ]
    got = schedule_one(snapshot_of([node("a", cpu="2"), node("b", cpu="2")], existing), pod(requests={"cpu": "2"}, priority=10))
    assert isinstance(got, Unschedulable) and got.nomination is not None
    assert (got.nomination.node_name, got.nomination.victims) == ("b", (_key("b1"),))


def test_config_percentage_100_evaluates_every_node() -> None:
    s = snapshot_of([node(f"n{i:04d}") for i in range(1000)], [])
    got = schedule_one(s, pod(), SchedulerConfig(percentage_of_nodes_to_score=100))
    assert isinstance(got, Success) and got.evaluated_nodes == 1000
