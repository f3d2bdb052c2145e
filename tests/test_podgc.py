"""The pod garbage collector: orphaned, unscheduled-terminating, out-of-service and
excess terminated pods."""

from __future__ import annotations

import attrs
from pyrsistent import pset

from kcore.api.core import Node, Taint
from kcore.api.kinds import Kind
from kcore.api.meta import ConditionStatus, Time
from kcore.api.pod import Pod, PodCondition, PodPhase, TaintEffect
from kcore.component.effects import CallApi, WakeMeAt
from kcore.component.requests import Create, Delete, Subresource, Update
from kcore.controllers.podgc import PodGCController, PodWrite, Timer, Write
from kcore.driver.bootstrap import create_cluster
from kcore.driver.cluster import Cluster
from kcore.state import ClusterConfig, get
from tests.builders import T0, a_pod, key
from tests.rig import Rig


def gc_cluster(threshold: int = 12_500) -> Cluster:
    base = create_cluster(ClusterConfig(seed=2), nodes=2)
    c = Cluster(base.snapshot(), [PodGCController(terminated_threshold=threshold)])
    c.run_until_stable()
    return c


def exists(c: Cluster, name: str) -> bool:
    return get(c.state, key(Kind.POD, name)) is not None


def test_pods_of_a_deleted_node_go_after_the_quarantine() -> None:
    c = gc_cluster()
    assert c.request(Create(obj=a_pod("stranded", node_name="node-2"))).ok
    assert c.request(Create(obj=a_pod("fine", node_name="node-1"))).ok
    assert c.request(Delete(key=key(Kind.NODE, "node-2"))).ok
    c.advance(30)
    assert exists(c, "stranded")  # first pass starts the 40 s quarantine
    c.advance(60)
    assert not exists(c, "stranded") and exists(c, "fine")


def test_a_node_that_returns_within_the_quarantine_keeps_its_pods() -> None:
    c = gc_cluster()
    assert c.request(Create(obj=a_pod("p", node_name="node-2"))).ok
    node = get(c.state, key(Kind.NODE, "node-2"))
    assert isinstance(node, Node)
    assert c.request(Delete(key=key(Kind.NODE, "node-2"))).ok
    c.advance(25)
    fresh = attrs.evolve(node, metadata=attrs.evolve(node.metadata, uid="", resource_version=0, creation_timestamp=None))
    assert c.request(Create(obj=fresh)).ok
    c.advance(100)
    assert exists(c, "p")


def test_terminating_pods_on_an_out_of_service_node_are_force_deleted() -> None:
    c = gc_cluster()
    assert c.request(Create(obj=a_pod("p", node_name="node-2"))).ok
    assert c.request(Delete(key=key(Kind.POD, "p"))).ok  # graceful: waits for a kubelet
    node = get(c.state, key(Kind.NODE, "node-2"))
    assert isinstance(node, Node)
    down = attrs.evolve(
        node.status,
        conditions=tuple(attrs.evolve(x, status=ConditionStatus.FALSE) if x.type == "Ready" else x for x in node.status.conditions),
    )
    assert c.request(Update(obj=attrs.evolve(node, status=down), subresource=Subresource.STATUS)).ok
    node = get(c.state, key(Kind.NODE, "node-2"))
    assert isinstance(node, Node)
    taint = Taint(key="node.kubernetes.io/out-of-service", effect=TaintEffect.NO_EXECUTE, value="nodeshutdown")
    assert c.request(Update(obj=attrs.evolve(node, spec=attrs.evolve(node.spec, taints=(taint,))))).ok
    c.advance(25)
    assert not exists(c, "p")


def test_terminated_pods_beyond_the_threshold_go_oldest_first() -> None:
    c = gc_cluster(threshold=2)
    for i in range(4):
        assert c.request(Create(obj=a_pod(f"done-{i}", node_name="node-1"))).ok
        c.advance(1)
        pod = get(c.state, key(Kind.POD, f"done-{i}"))
        assert isinstance(pod, Pod)
        finished = attrs.evolve(pod, status=attrs.evolve(pod.status, phase=PodPhase.SUCCEEDED))
        assert c.request(Update(obj=finished, subresource=Subresource.STATUS)).ok
    c.advance(25)
    assert [exists(c, f"done-{i}") for i in range(4)] == [False, False, True, True]


def marked_by_gc(at: float) -> PodCondition:
    return PodCondition(
        type="DisruptionTarget",
        status=ConditionStatus.TRUE,
        last_transition_time=Time(at),
        reason="DeletionByPodGC",
        message="PodGC: node no longer exists",
    )


def test_orphaned_running_pods_are_marked_failed_first() -> None:
    c = gc_cluster()
    start = c.now
    assert c.request(Create(obj=a_pod("stranded", finalizers=["example.com/hold"], node_name="node-2"))).ok
    before = get(c.state, key(Kind.POD, "stranded"))
    assert isinstance(before, Pod)
    assert c.request(Delete(key=key(Kind.NODE, "node-2"))).ok
    c.advance(70)
    pod = get(c.state, key(Kind.POD, "stranded"))  # the finalizer keeps it: see what GC wrote
    assert isinstance(pod, Pod)
    gone_at = start + 60  # the first pass after the 40 s quarantine (passes every 20 s)
    assert pod.status == attrs.evolve(before.status, phase=PodPhase.FAILED, conditions=(marked_by_gc(gone_at),))
    assert (pod.metadata.deletion_timestamp, pod.metadata.deletion_grace_period_seconds) == (gone_at, 0)


def test_an_orphan_whose_status_moved_on_unseen_is_still_marked_failed() -> None:
    c = gc_cluster()
    start = c.now
    assert c.request(Create(obj=a_pod("stranded", finalizers=["example.com/hold"], node_name="node-2"))).ok
    pod = get(c.state, key(Kind.POD, "stranded"))
    assert isinstance(pod, Pod)
    running = attrs.evolve(pod, status=attrs.evolve(pod.status, phase=PodPhase.RUNNING))
    assert c.request(Update(obj=running, subresource=Subresource.STATUS)).ok
    assert c.request(Delete(key=key(Kind.NODE, "node-2"))).ok
    c.run_until_stable()
    for i in range(3):  # kubelet-like status writes the filter skips: the view's copy lags
        pod = get(c.state, key(Kind.POD, "stranded"))
        assert isinstance(pod, Pod)
        moved = attrs.evolve(pod, status=attrs.evolve(pod.status, message=f"write {i}"))
        assert c.request(Update(obj=moved, subresource=Subresource.STATUS)).ok
    c.advance(70)
    pod = get(c.state, key(Kind.POD, "stranded"))
    assert isinstance(pod, Pod)
    gone_at = start + 60
    # the patch kept what it does not own: the message of the last write
    assert pod.status == attrs.evolve(moved.status, phase=PodPhase.FAILED, conditions=(marked_by_gc(gone_at),))
    assert (pod.status.message, pod.metadata.deletion_timestamp, pod.metadata.deletion_grace_period_seconds) == ("write 2", gone_at, 0)


def test_an_orphan_is_marked_failed_then_deleted_each_write_tagged_with_the_pod_and_what_it_does() -> None:
    rig = Rig(PodGCController(), a_pod("stranded", node_name="gone"))
    assert rig.fire(Timer.GC_CHECK) == (WakeMeAt(at=Time(T0 + 20), key=Timer.GC_CHECK),)  # the quarantine starts
    effects = rig.fire(Timer.GC_CHECK, T0 + 40)
    pod = key(Kind.POD, "stranded")
    assert [(type(e.request).__name__, e.tag) for e in effects if isinstance(e, CallApi)] == [
        ("Patch", PodWrite(pod=pod, write=Write.MARK_FAILED)),
        ("Delete", PodWrite(pod=pod, write=Write.FORCE_DELETE)),
    ]
    assert rig.s.in_flight == pset({pod})  # the next pass leaves it alone until an answer comes
    rig.settle(effects)
    assert (rig.pods(), rig.s.in_flight) == ([], pset())
