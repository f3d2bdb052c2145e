"""Scheduler laws over random clusters: the chosen node passes every filter; with
percentageOfNodesToScore=100 the sampled walk picks what a plain all-nodes filter+score
picks; incremental snapshots equal rebuilt ones; no node is ever overcommitted."""

from __future__ import annotations

import attrs
from hypothesis import given
from hypothesis import strategies as st

from kcore.api.core import Node
from kcore.api.pod import Pod, Protocol, TaintEffect, Toleration, TolerationOperator
from kcore.scheduler import (
    SchedulerConfig,
    Success,
    add_pod,
    remove_pod,
    schedule_one,
    snapshot_of,
)
from kcore.scheduler.algorithm import score_nodes, select_host
from kcore.scheduler.filtering import fits
from kcore.scheduler.nodeinfo import Snapshot, pod_info, remove_node, update_node
from kcore.scheduler.plugins.framework import Cycle
from tests.scheduler_builders import (
    container,
    node,
    pod,
    pod_affinity,
    pod_term,
    spread,
    taint,
)

ZONE = "topology.kubernetes.io/zone"
HOST = "kubernetes.io/hostname"


@st.composite
def nodes(draw: st.DrawFn, index: int) -> Node:
    labels: dict[str, str] = {}
    zone = draw(st.sampled_from(["", "a", "b", "c"]))
    if zone:
        labels[ZONE] = zone
    taints = draw(
        st.lists(
            st.sampled_from(
                [
                    taint("dedicated", "x"),
                    taint("soft", "", TaintEffect.PREFER_NO_SCHEDULE),
                    taint("evict", "", TaintEffect.NO_EXECUTE),
                ]
            ),
            max_size=2,
            unique=True,
        )
    )
    return node(
        f"n{index}",
        cpu=draw(st.sampled_from(["1", "2", "4"])),
        memory=draw(st.sampled_from(["1Gi", "4Gi"])),
        pods=draw(st.sampled_from(["2", "5", "110"])),
        labels=labels,
        taints=taints,
        unschedulable=draw(st.integers(0, 4)) == 0,
    )


@st.composite
def pods(draw: st.DrawFn, index: int) -> Pod:
    app = draw(st.sampled_from(["web", "db"]))
    requests: dict[str, str] = {}
    cpu = draw(st.sampled_from(["", "100m", "500m", "1", "2"]))
    if cpu:
        requests["cpu"] = cpu
    mem = draw(st.sampled_from(["", "256Mi", "1Gi"]))
    if mem:
        requests["memory"] = mem
    ports = [(80, "", Protocol.TCP)] if draw(st.booleans()) and draw(st.booleans()) else []
    tolerations = (
        [Toleration(key="dedicated", operator=TolerationOperator.EXISTS)] if draw(st.booleans()) else []
    )
    constraint = draw(
        st.sampled_from(
            [None, spread(ZONE, {"app": app}), spread(ZONE, {"app": app}, hard=False), spread(HOST, {"app": app}, max_skew=2)]
        )
    )
    anti = draw(st.booleans()) and draw(st.booleans())
    return pod(
        f"p{index}",
        labels={"app": app},
        containers=[container(requests=requests, host_ports=ports)],
        node_selector={ZONE: "a"} if draw(st.integers(0, 5)) == 0 else None,
        tolerations=tolerations,
        spread=[constraint] if constraint is not None else [],
        affinity=pod_affinity(anti=[pod_term({"app": app}, HOST)]) if anti else None,
        priority=draw(st.integers(0, 3)),
    )


@st.composite
def clusters(draw: st.DrawFn) -> tuple[list[Node], list[Pod]]:
    n = draw(st.integers(1, 8))
    ns = [draw(nodes(i)) for i in range(n)]
    ps = [draw(pods(i)) for i in range(draw(st.integers(1, 12)))]
    return ns, ps


def bind(p: Pod, node_name: str) -> Pod:
    return attrs.evolve(p, spec=attrs.evolve(p.spec, node_name=node_name))


def place_all(ns: list[Node], ps: list[Pod], config: SchedulerConfig, seed: int) -> tuple[Snapshot, list[tuple[Pod, Snapshot, str]]]:
    s = snapshot_of(ns, [])
    placed: list[tuple[Pod, Snapshot, str]] = []
    start = 0
    for p in ps:
        result = schedule_one(s, p, config, seed=seed, start_index=start)
        start = result.next_start_index
        if isinstance(result, Success):
            placed.append((p, s, result.node_name))
            s = add_pod(s, bind(p, result.node_name))
    return s, placed


@given(clusters(), st.integers(0, 3))
def test_the_chosen_node_passes_every_filter(cluster: tuple[list[Node], list[Pod]], seed: int) -> None:
    ns, ps = cluster
    config = SchedulerConfig()
    _, placed = place_all(ns, ps, config, seed)
    for p, before, name in placed:
        cycle = Cycle(snapshot=before, pod=pod_info(p), config=config)
        assert fits(cycle, before.info(name)) is None


def plain_choice(s: Snapshot, p: Pod, config: SchedulerConfig, seed: int) -> str | None:
    cycle = Cycle(snapshot=s, pod=pod_info(p), config=config)
    feasible = [ni for ni in s.node_infos() if fits(cycle, ni) is None]
    if not feasible:
        return None
    if len(feasible) == 1:
        return feasible[0].name
    return select_host(feasible, score_nodes(cycle, feasible), seed, cycle.pod)


@given(clusters(), st.integers(0, 3), st.integers(0, 20))
def test_full_sampling_picks_what_the_plain_algorithm_picks(
    cluster: tuple[list[Node], list[Pod]], seed: int, start: int
) -> None:
    ns, ps = cluster
    config = SchedulerConfig(percentage_of_nodes_to_score=100)
    s = snapshot_of(ns, [])
    for p in ps:
        result = schedule_one(s, p, config, seed=seed, start_index=start)
        want = plain_choice(s, p, config, seed)
        got = result.node_name if isinstance(result, Success) else None
        assert got == want
        if got is not None:
            s = add_pod(s, bind(p, got))


@given(clusters(), st.data())
def test_incremental_snapshot_equals_a_rebuilt_one(cluster: tuple[list[Node], list[Pod]], data: st.DataObject) -> None:
    ns, ps = cluster
    names = [n.metadata.name for n in ns] + ["ghost"]
    s = snapshot_of(ns, [])
    bound: dict[str, Pod] = {}
    for p in ps:
        if data.draw(st.booleans()) and bound:
            victim = data.draw(st.sampled_from(sorted(bound)))
            s = remove_pod(s, pod_info(bound.pop(victim)).key)
        b = bind(p, data.draw(st.sampled_from(names)))
        bound[p.metadata.name] = b
        s = add_pod(s, b)
    assert s == snapshot_of(ns, list(bound.values()))
    if len(ns) > 1:
        gone = ns[0]
        s2 = remove_node(s, gone.metadata.name)
        assert s2 == snapshot_of(ns[1:], list(bound.values()))
        assert update_node(s2, gone) == s


@given(clusters(), st.integers(0, 3))
def test_no_node_is_ever_overcommitted(cluster: tuple[list[Node], list[Pod]], seed: int) -> None:
    ns, ps = cluster
    s, _ = place_all(ns, ps, SchedulerConfig(), seed)
    for ni in s.node_infos():
        assert ni.requested.milli_cpu <= ni.allocatable.milli_cpu
        assert ni.requested.memory <= ni.allocatable.memory
        assert len(ni.pods) <= ni.allowed_pods


@given(clusters(), st.integers(0, 3))
def test_scheduling_is_deterministic(cluster: tuple[list[Node], list[Pod]], seed: int) -> None:
    ns, ps = cluster
    assert place_all(ns, ps, SchedulerConfig(), seed)[1] == place_all(ns, ps, SchedulerConfig(), seed)[1]
