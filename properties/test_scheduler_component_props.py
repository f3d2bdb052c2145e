"""The Scheduler component end to end through the driver, over random clusters: once the
cluster is stable no node is overcommitted by its bound pods, every binding respects the
pod's nodeSelector and the node's NoSchedule/NoExecute taints, every pod left pending says
why (PodScheduled=False), and one seed gives the same bindings twice."""

from __future__ import annotations

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st
from pyrsistent import pmap

from kcore.api.core import Node
from kcore.api.kinds import Kind
from kcore.api.meta import ConditionStatus, Time
from kcore.api.pod import (
    Pod,
    PodCondition,
    PodPhase,
    PodStatus,
    TaintEffect,
    Toleration,
    TolerationOperator,
)
from kcore.api.watch import WatchEvent, WatchType
from kcore.component.requests import Create
from kcore.driver.bootstrap import create_cluster
from kcore.driver.cluster import Cluster
from kcore.scheduler import Scheduler
from kcore.scheduler.component import responsible
from kcore.scheduler.nodeinfo import counts_on_node, pod_info, pod_requests
from kcore.state import ClusterConfig, list_objects
from tests.builders import a_container, a_pod
from tests.scheduler_builders import node, taint
from tests.test_scheduler_component import add_node

NAMESPACE = "kube-system"  # where the system priority classes are at home


@st.composite
def nodes(draw: st.DrawFn, index: int) -> Node:
    disk = draw(st.sampled_from(["", "ssd", "hdd"]))
    return node(
        f"n{index}",
        cpu=draw(st.sampled_from(["1", "2", "4"])),
        memory=draw(st.sampled_from(["1Gi", "4Gi"])),
        pods=draw(st.sampled_from(["2", "5", "110"])),
        labels={"disk": disk} if disk else None,
        taints=draw(
            st.lists(
                st.sampled_from([taint("dedicated", "x"), taint("evict", "", TaintEffect.NO_EXECUTE)]),
                max_size=2,
                unique=True,
            )
        ),
        unschedulable=draw(st.integers(0, 5)) == 0,
    )


@st.composite
def pods(draw: st.DrawFn, index: int) -> Pod:
    containers = [
        a_container(
            cpu=draw(st.sampled_from(["", "100m", "500m", "1", "2"])),
            memory=draw(st.sampled_from(["", "256Mi", "1Gi"])),
        )
    ]
    p = a_pod(f"p{index}", NAMESPACE, containers=containers, grace=0)
    tolerations = (
        (Toleration(key="dedicated", operator=TolerationOperator.EXISTS),) if draw(st.booleans()) else ()
    )
    selector = draw(st.sampled_from([{}, {}, {"disk": "ssd"}]))
    critical = draw(st.integers(0, 4)) == 0
    spec = attrs.evolve(
        p.spec,
        tolerations=tolerations,
        node_selector=pmap(selector),
        priority_class_name="system-cluster-critical" if critical else "",
    )
    return attrs.evolve(p, spec=spec)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[Node], list[Node], list[Pod]]:
    """Nodes present at the start, nodes added later, and the pods."""
    n = draw(st.integers(1, 4))
    first = [draw(nodes(i)) for i in range(n)]
    later = [draw(nodes(n + i)) for i in range(draw(st.integers(0, 2)))]
    ps = [draw(pods(i)) for i in range(draw(st.integers(1, 10)))]
    return first, later, ps


def run(first: list[Node], later: list[Node], ps: list[Pod], seed: int) -> Cluster:
    cluster = create_cluster(ClusterConfig(seed=seed), components=[Scheduler()])
    for n in first:
        add_node(cluster, n)
    half = len(ps) // 2
    for p in ps[:half]:
        assert cluster.request(Create(obj=p)).ok
    cluster.advance(0.5)
    for n in later:
        add_node(cluster, n)
    for p in ps[half:]:
        assert cluster.request(Create(obj=p)).ok
    cluster.advance(30)  # enough for every backoff the events above can start
    return cluster


def tolerated(p: Pod, n: Node) -> bool:
    for t in n.spec.taints:
        if t.effect is TaintEffect.PREFER_NO_SCHEDULE:
            continue
        if not any(
            tol.key == t.key and tol.operator is TolerationOperator.EXISTS and tol.effect in (None, t.effect)
            for tol in p.spec.tolerations
        ):
            return False
    return True


def check(cluster: Cluster) -> None:
    by_name = {n.metadata.name: n for n in list_objects(cluster.state, Kind.NODE) if isinstance(n, Node)}
    placed: dict[str, list[Pod]] = {}
    for p in list_objects(cluster.state, Kind.POD):
        assert isinstance(p, Pod)
        if not p.spec.node_name:
            cond = [c for c in p.status.conditions if c.type == "PodScheduled"]
            assert [(c.status, c.reason) for c in cond] == [(ConditionStatus.FALSE, "Unschedulable")], p.metadata.name
            continue
        n = by_name[p.spec.node_name]
        assert all(n.metadata.labels.get(k) == v for k, v in p.spec.node_selector.items()), p.metadata.name
        assert tolerated(p, n), (p.metadata.name, n.metadata.name)
        assert not n.spec.unschedulable
        placed.setdefault(n.metadata.name, []).append(p)
    for name, on in placed.items():
        alloc = by_name[name].status.allocatable
        cpu = sum(pod_requests(p).milli_cpu for p in on)
        memory = sum(pod_requests(p).memory for p in on)
        assert cpu <= alloc["cpu"].milli_value(), name
        assert memory <= alloc["memory"].value(), name
        assert len(on) <= alloc["pods"].value(), name


def bindings(cluster: Cluster) -> list[tuple[str, str]]:
    return [(p.metadata.name, p.spec.node_name) for p in list_objects(cluster.state, Kind.POD) if isinstance(p, Pod)]


@settings(max_examples=25)
@given(scenarios(), st.integers(0, 3))
def test_stable_bindings_never_overcommit_and_respect_selectors_and_taints(
    scenario: tuple[list[Node], list[Node], list[Pod]], seed: int
) -> None:
    first, later, ps = scenario
    cluster = run(first, later, ps, seed)
    check(cluster)
    assert bindings(run(first, later, ps, seed)) == bindings(cluster)


# --- the watch filter: an update it drops leaves the cache's PodInfo as it was ---------------


@st.composite
def _pod_updates(draw: st.DrawFn) -> tuple[Pod, Pod]:
    """A pod and an update of it: each field kept or taken from a small alphabet."""

    def pod() -> Pod:
        p = a_pod(
            "p",
            labels={"app": draw(st.sampled_from(("web", "db")))},
            containers=[a_container(cpu=draw(st.sampled_from(("100m", "1"))))],
            node_name=draw(st.sampled_from(("", "n1", "n2"))),
        )
        metadata = attrs.evolve(
            p.metadata,
            uid=draw(st.sampled_from(("u1", "u2"))),
            creation_timestamp=draw(st.sampled_from((None, Time(1.0)))),
            deletion_timestamp=draw(st.sampled_from((None, Time(2.0)))),
            resource_version=draw(st.integers(1, 3)),
        )
        ready = PodCondition(type="Ready", status=draw(st.sampled_from(tuple(ConditionStatus))), last_transition_time=Time(1.0))
        status = PodStatus(
            phase=draw(st.sampled_from((None, *PodPhase))),
            conditions=(ready,) if draw(st.booleans()) else (),
            pod_ip=draw(st.sampled_from(("", "10.0.0.1"))),
            start_time=draw(st.sampled_from((None, Time(1.5)))),
            nominated_node_name=draw(st.sampled_from(("", "n2"))),
        )
        return attrs.evolve(p, metadata=metadata, status=status)

    old, other = pod(), pod()
    m, s, spec = old.metadata, old.status, old.spec
    for f in ("uid", "labels", "creation_timestamp", "deletion_timestamp", "resource_version"):
        if draw(st.booleans()):
            m = attrs.evolve(m, **{f: getattr(other.metadata, f)})
    for f in ("phase", "conditions", "pod_ip", "start_time", "nominated_node_name"):
        if draw(st.booleans()):
            s = attrs.evolve(s, **{f: getattr(other.status, f)})
    for f in ("node_name", "containers"):
        if draw(st.booleans()):
            spec = attrs.evolve(spec, **{f: getattr(other.spec, f)})
    return old, attrs.evolve(old, metadata=m, spec=spec, status=s)


@given(_pod_updates())
def test_a_dropped_pod_update_leaves_the_cache_and_the_queue_as_they_were(update: tuple[Pod, Pod]) -> None:
    old, new = update
    if Scheduler().wants(WatchEvent(type=WatchType.MODIFIED, obj=new, resource_version=9), old):
        return
    assert old.spec.node_name and new.spec.node_name  # bound before and after: never queued
    assert counts_on_node(old) == counts_on_node(new)
    assert not responsible(old) and not responsible(new)
    assert pod_info(old) == pod_info(new)  # everything the plugins read of a counted pod
