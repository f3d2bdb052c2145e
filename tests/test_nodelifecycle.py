"""The node lifecycle controller driven by the Cluster facade (kcore.controllers.nodelifecycle).

Heartbeats are simulated through the API, as a kubelet would post them: the node's Lease
renewTime and (optionally) its Ready condition's lastHeartbeatTime. Stopping them is a
crashed kubelet.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

import attrs
import pytest

from kcore.api.coordination import Lease, LeaseSpec
from kcore.api.core import Event, EventSource, Node, NodeCondition, Taint
from kcore.api.kinds import Kind
from kcore.api.meta import ApiObject, ConditionStatus, MicroTime, ObjectMeta, Time
from kcore.api.pod import Pod, PodCondition, TaintEffect, Toleration, TolerationOperator
from kcore.api.watch import WatchEvent
from kcore.component.events import Event as DriverEvent
from kcore.component.events import Started, TimerFired
from kcore.component.requests import Create, Delete, Subresource, Update
from kcore.controllers import nodelifecycle as nl
from kcore.controllers import nodelifecycle_state as nlm
from kcore.controllers.nodelifecycle import NodeLifecycleController
from kcore.controllers.nodelifecycle_state import (
    TokenBucket,
    ZoneState,
    compute_zone_state,
    min_toleration_seconds,
    try_accept,
)
from kcore.driver.bootstrap import create_cluster
from kcore.driver.cluster import Cluster
from kcore.driver.faults import CrashComponent
from kcore.state import ClusterConfig, ClusterState, get, list_objects
from tests.builders import a_pod, key

UNREACHABLE = "node.kubernetes.io/unreachable"
NOT_READY = "node.kubernetes.io/not-ready"


def _cluster(nodes: int = 3, labels: dict[str, str] | None = None) -> Cluster:
    c = create_cluster(ClusterConfig(), nodes=nodes, components=(NodeLifecycleController(),))
    for i in range(1, nodes + 1):
        lease = Lease(
            metadata=ObjectMeta(name=f"node-{i}", namespace="kube-node-lease"),
            spec=LeaseSpec(holder_identity=f"node-{i}", lease_duration_seconds=40, renew_time=MicroTime(c.now)),
        )
        assert c.request(Create(obj=lease)).ok
    c.run_until_stable()
    return c


def _node(c: Cluster, name: str) -> Node:
    node = get(c.state, key(Kind.NODE, name))
    assert isinstance(node, Node)
    return node


def _renew_lease(c: Cluster, name: str) -> None:
    lease = get(c.state, key(Kind.LEASE, name, "kube-node-lease"))
    assert isinstance(lease, Lease)
    renewed = attrs.evolve(lease, spec=attrs.evolve(lease.spec, renew_time=MicroTime(c.now)))
    assert c.request(Update(obj=renewed)).ok


def _post_status(c: Cluster, name: str, ready: ConditionStatus = ConditionStatus.TRUE) -> None:
    """What a kubelet's status update does: every condition gets a fresh heartbeat."""
    node = _node(c, name)
    conds = []
    for cond in node.status.conditions:
        want = ready if cond.type == "Ready" else ConditionStatus.FALSE
        moved = c.now if cond.status is not want else cond.last_transition_time
        reason = ("KubeletReady" if want is ConditionStatus.TRUE else "KubeletNotReady") if cond.type == "Ready" else cond.reason
        conds.append(
            attrs.evolve(cond, status=want, reason=reason, last_heartbeat_time=c.now, last_transition_time=moved)
        )
    new = attrs.evolve(node, status=attrs.evolve(node.status, conditions=tuple(conds)))
    assert c.request(Update(obj=new, subresource=Subresource.STATUS)).ok


def _live(c: Cluster, seconds: float, alive: Iterable[str], *, status: bool = False, step: float = 10.0) -> None:
    """Advance `seconds`, the `alive` nodes renewing their leases every `step` seconds."""
    names = tuple(alive)
    end = c.now + seconds
    while c.now < end:
        for n in names:
            _renew_lease(c, n)
            if status:
                _post_status(c, n)
        c.run_until_stable()
        assert c.advance(min(step, end - c.now))


def _ready(c: Cluster, name: str) -> NodeCondition:
    cond = next(x for x in _node(c, name).status.conditions if x.type == "Ready")
    return cond


def _taints(c: Cluster, name: str) -> set[tuple[str, str]]:
    return {(t.key, t.effect.value) for t in _node(c, name).spec.taints}


def _taint(c: Cluster, name: str, taint_key: str, effect: TaintEffect) -> Taint | None:
    return next((t for t in _node(c, name).spec.taints if t.key == taint_key and t.effect is effect), None)


def _events(c: Cluster, reason: str) -> list[tuple[str, str]]:
    return sorted(
        (e.involved_object.name, e.message)
        for e in list_objects(c.state, Kind.EVENT)
        if isinstance(e, Event) and e.reason == reason
    )


def _pod(c: Cluster, name: str, node: str, tolerations: tuple[Toleration, ...] = (), ready: bool = False) -> None:
    pod = a_pod(name, node_name=node, grace=0)
    pod = attrs.evolve(pod, spec=attrs.evolve(pod.spec, tolerations=tolerations))
    resp = c.request(Create(obj=pod))
    assert resp.ok, resp.body
    if ready:
        stored = resp.body
        assert isinstance(stored, Pod)
        cond = PodCondition(type="Ready", status=ConditionStatus.TRUE, last_transition_time=c.now)
        running = attrs.evolve(stored, status=attrs.evolve(stored.status, conditions=(cond,)))
        assert c.request(Update(obj=running, subresource=Subresource.STATUS)).ok
    c.run_until_stable()


def _exists(c: Cluster, name: str) -> bool:
    return get(c.state, key(Kind.POD, name)) is not None


def _wait_for_taint(c: Cluster, node: str, taint_key: str, limit: float, alive: Iterable[str]) -> Time:
    """Advance second by second (renewing `alive`) until the NoExecute taint appears."""
    names = tuple(alive)
    for _ in range(int(limit)):
        found = _taint(c, node, taint_key, TaintEffect.NO_EXECUTE)
        if found is not None:
            assert found.time_added is not None
            return found.time_added
        if int(c.now) % 10 == 0:
            for n in names:
                _renew_lease(c, n)
        assert c.advance(1)
    raise AssertionError(f"no {taint_key} taint on {node} within {limit}s")


FOREVER = Toleration(key=UNREACHABLE, operator=TolerationOperator.EXISTS, effect=TaintEffect.NO_EXECUTE)


# --- health --------------------------------------------------------------------------------


def test_a_node_whose_lease_is_renewed_stays_ready() -> None:
    c = _cluster()
    _live(c, 300, ("node-1", "node-2", "node-3"))
    for n in ("node-1", "node-2", "node-3"):
        assert _ready(c, n).status is ConditionStatus.TRUE
        assert _taints(c, n) == set()


def test_node_status_heartbeats_alone_keep_a_node_ready() -> None:
    c = _cluster(nodes=2)
    _live(c, 200, ("node-2",))  # node-1 never renews its lease ...
    assert _ready(c, "node-1").status is ConditionStatus.UNKNOWN
    c2 = _cluster(nodes=2)
    for _ in range(20):  # ... but posting node status is a heartbeat too
        _post_status(c2, "node-1")
        _renew_lease(c2, "node-2")
        assert c2.advance(10)
    assert _ready(c2, "node-1").status is ConditionStatus.TRUE


def test_a_silent_node_goes_unknown_after_the_40s_grace_period() -> None:
    c = _cluster()
    _live(c, 60, ("node-1", "node-2", "node-3"))
    # the last renewal (t=50) is seen by the pass at t=55: Unknown once now > 55 + 40
    _live(c, 35, ("node-1", "node-2"))
    assert _ready(c, "node-3").status is ConditionStatus.TRUE
    _live(c, 5, ("node-1", "node-2"))
    assert _ready(c, "node-3").last_transition_time == c.now
    node = _node(c, "node-3")
    conds = {x.type: (x.status, x.reason, x.message) for x in node.status.conditions}
    unknown = (ConditionStatus.UNKNOWN, "NodeStatusUnknown", "Kubelet stopped posting node status.")
    assert conds == {"MemoryPressure": unknown, "DiskPressure": unknown, "PIDPressure": unknown, "Ready": unknown}
    assert _ready(c, "node-1").status is ConditionStatus.TRUE
    assert _events(c, "NodeNotReady") == [("node-3", "Node node-3 status is now: NodeNotReady")]


def test_pods_on_an_unknown_node_are_marked_not_ready() -> None:
    c = _cluster()
    _pod(c, "web", "node-3", ready=True)
    _live(c, 120, ("node-1", "node-2"))
    pod = get(c.state, key(Kind.POD, "web"))
    assert isinstance(pod, Pod)
    (cond,) = pod.status.conditions
    assert (cond.type, cond.status) == ("Ready", ConditionStatus.FALSE)
    assert ("web", "Node is not ready") in _events(c, "NodeNotReady")


# --- taints --------------------------------------------------------------------------------


def test_an_unknown_node_gets_the_unreachable_taints() -> None:
    c = _cluster()
    _live(c, 120, ("node-1", "node-2"))
    assert _taints(c, "node-3") == {(UNREACHABLE, "NoExecute"), (UNREACHABLE, "NoSchedule")}
    assert _taints(c, "node-1") == set()


def test_a_node_reporting_not_ready_gets_the_not_ready_taints() -> None:
    c = _cluster()
    _post_status(c, "node-2", ConditionStatus.FALSE)
    _live(c, 20, ("node-1", "node-2", "node-3"))
    assert _taints(c, "node-2") == {(NOT_READY, "NoExecute"), (NOT_READY, "NoSchedule")}


def test_a_node_that_comes_back_loses_its_taints_and_keeps_its_pods() -> None:
    c = _cluster()
    _pod(c, "web", "node-3")
    _live(c, 120, ("node-1", "node-2"))
    assert (UNREACHABLE, "NoExecute") in _taints(c, "node-3")
    _post_status(c, "node-3")  # the kubelet is back
    _live(c, 400, ("node-1", "node-2", "node-3"), status=True)
    assert _taints(c, "node-3") == set()
    assert _ready(c, "node-3").status is ConditionStatus.TRUE
    assert _exists(c, "web")
    assert _events(c, "TaintManagerEviction") == [("web", "Cancelling deletion of Pod default/web")]


def test_a_cordoned_node_gets_the_unschedulable_taint_until_uncordoned() -> None:
    c = _cluster()
    node = _node(c, "node-1")
    assert c.request(Update(obj=attrs.evolve(node, spec=attrs.evolve(node.spec, unschedulable=True)))).ok
    c.run_until_stable()
    assert _taints(c, "node-1") == {("node.kubernetes.io/unschedulable", "NoSchedule")}
    node = _node(c, "node-1")
    assert c.request(Update(obj=attrs.evolve(node, spec=attrs.evolve(node.spec, unschedulable=False)))).ok
    c.run_until_stable()
    assert _taints(c, "node-1") == set()


def test_new_noexecute_taints_are_rate_limited_to_one_node_per_10s_in_a_zone() -> None:
    c = _cluster(nodes=10)
    alive = [f"node-{i}" for i in range(1, 8)]
    _live(c, 60, [f"node-{i}" for i in range(1, 11)])
    _live(c, 80, alive)
    added = sorted(
        t.time_added or 0.0
        for n in ("node-8", "node-9", "node-10")
        for t in _node(c, n).spec.taints
        if t.effect is TaintEffect.NO_EXECUTE
    )
    assert len(added) == 3
    assert [b - a for a, b in itertools.pairwise(added)] == [10.0, 10.0]


def test_when_every_node_is_down_no_node_is_tainted() -> None:
    c = _cluster(nodes=2)
    _live(c, 300, ())
    assert _ready(c, "node-1").status is ConditionStatus.UNKNOWN
    for n in ("node-1", "node-2"):
        assert (UNREACHABLE, "NoExecute") not in _taints(c, n)


# --- taint eviction ------------------------------------------------------------------------


def test_a_pod_with_the_default_300s_toleration_is_deleted_300s_after_the_taint() -> None:
    c = _cluster()
    _pod(c, "web", "node-3")
    _live(c, 30, ("node-1", "node-2", "node-3"))
    tainted = _wait_for_taint(c, "node-3", UNREACHABLE, 120, ("node-1", "node-2"))
    _live(c, tainted + 299 - c.now, ("node-1", "node-2"), step=1)
    assert _exists(c, "web")
    _live(c, 2, ("node-1", "node-2"), step=1)
    assert not _exists(c, "web")
    assert _events(c, "TaintManagerEviction") == [("web", "Marking for deletion Pod default/web")]


def test_a_pod_not_tolerating_a_noexecute_taint_is_deleted_at_once() -> None:
    c = _cluster()
    _pod(c, "plain", "node-1")
    _pod(c, "tolerant", "node-1", (Toleration(key="example.com/drain", operator=TolerationOperator.EXISTS),))
    node = _node(c, "node-1")
    taint = Taint(key="example.com/drain", effect=TaintEffect.NO_EXECUTE)
    assert c.request(Update(obj=attrs.evolve(node, spec=attrs.evolve(node.spec, taints=(taint,))))).ok
    c.run_until_stable()
    assert not _exists(c, "plain")
    assert _exists(c, "tolerant")
    assert _events(c, "TaintManagerEviction") == [("plain", "Marking for deletion Pod default/plain")]


def test_a_pod_tolerating_unreachable_forever_stays() -> None:
    c = _cluster()
    _pod(c, "forever", "node-3", (FOREVER,))
    _live(c, 1000, ("node-1", "node-2"))
    assert (UNREACHABLE, "NoExecute") in _taints(c, "node-3")
    assert _exists(c, "forever")


def test_a_restarted_controller_gives_every_node_a_fresh_grace_period() -> None:
    c = _cluster()
    _live(c, 30, ("node-1", "node-2"))
    c.inject(CrashComponent(name="node-lifecycle-controller"))
    _live(c, 35, ("node-1", "node-2"))
    assert _ready(c, "node-3").status is ConditionStatus.TRUE
    _live(c, 20, ("node-1", "node-2"))
    assert _ready(c, "node-3").status is ConditionStatus.UNKNOWN


# --- pure helpers --------------------------------------------------------------------------


def test_min_toleration_seconds_follows_upstream() -> None:
    taint = (Taint(key=UNREACHABLE, effect=TaintEffect.NO_EXECUTE),)
    secs = Toleration(key=UNREACHABLE, operator=TolerationOperator.EXISTS, effect=TaintEffect.NO_EXECUTE, toleration_seconds=300)
    zero = attrs.evolve(secs, toleration_seconds=-5)
    other = Toleration(key="x", operator=TolerationOperator.EXISTS)
    assert min_toleration_seconds(taint, (secs,)) == 300.0
    assert min_toleration_seconds(taint, (zero,)) == 0.0
    assert min_toleration_seconds(taint, (FOREVER,)) is None
    assert min_toleration_seconds(taint, (other,)) == 0.0


def test_zone_state_thresholds() -> None:
    up = NodeCondition(type="Ready", status=ConditionStatus.TRUE)
    down = NodeCondition(type="Ready", status=ConditionStatus.UNKNOWN)
    assert compute_zone_state([down, None]) is ZoneState.FULL_DISRUPTION
    assert compute_zone_state([up, down, down]) is ZoneState.NORMAL  # not more than 2 down
    assert compute_zone_state([up, down, down, down]) is ZoneState.PARTIAL_DISRUPTION
    assert compute_zone_state([up, up, down, down, down, up, up]) is ZoneState.NORMAL


def test_token_bucket_has_burst_one_and_refills_at_qps() -> None:
    b = TokenBucket(qps=0.1)
    b, ok = try_accept(b, Time(100.0))
    assert ok
    b, ok = try_accept(b, Time(105.0))
    assert not ok
    b, ok = try_accept(b, Time(110.0))
    assert ok
    assert try_accept(TokenBucket(qps=0.0), Time(1e9))[1] is False


# --- the monitor's memo changes nothing -----------------------------------------------------


@attrs.frozen(kw_only=True)
class _Checked:
    """The controller, each monitor pass checked against the pass without the memo
    (`monitor_node_health(memo=False)`, which reads every Node again) on the same state; `passes`
    counts the checks (a mutable list: test-only)."""

    inner: NodeLifecycleController
    passes: list[Time]
    name: str = nlm.NAME
    watches: frozenset[Kind] = frozenset({Kind.NODE, Kind.POD})
    reads_current_view: bool = True

    @property
    def event_source(self) -> EventSource:
        return self.inner.event_source

    def wants(self, event: WatchEvent, old: ApiObject | None = None) -> bool:
        return self.inner.wants(event, old)

    def init(self, view: ClusterState, now: Time) -> tuple[nlm.NodeLifecycleState, nlm.Effects]:
        return self.inner.init(view, now)

    def step(self, state: nlm.NodeLifecycleState, event: DriverEvent) -> tuple[nlm.NodeLifecycleState, nlm.Effects]:
        new, effects = self.inner.step(state, event)
        if isinstance(event, Started) or (isinstance(event, TimerFired) and event.key is nlm.Timer.MONITOR):
            before = attrs.evolve(state, view=event.view) if isinstance(event, TimerFired) and event.view is not None else state
            slow, slow_effects = nl.monitor_node_health(before, event.now, memo=False)
            assert effects == slow_effects
            assert new == slow
            self.passes.append(event.now)
        return new, effects


def _label(c: Cluster, name: str, labels: dict[str, str]) -> None:
    node = _node(c, name)
    meta = attrs.evolve(node.metadata, labels=node.metadata.labels.update(labels))
    assert c.request(Update(obj=attrs.evolve(node, metadata=meta))).ok


def test_the_monitor_memo_gives_the_same_passes_as_reading_every_node(monkeypatch: pytest.MonkeyPatch) -> None:
    hits: list[bool] = []
    fast = nl.unchanged_steady

    def spy(*args: Any) -> Any:
        got = fast(*args)
        hits.append(got is not None)
        return got

    monkeypatch.setattr(nl, "unchanged_steady", spy)
    passes: list[Time] = []
    c = create_cluster(ClusterConfig(), nodes=10, components=(_Checked(inner=NodeLifecycleController(), passes=passes),))
    for i in range(1, 11):
        lease = Lease(
            metadata=ObjectMeta(name=f"node-{i}", namespace="kube-node-lease"),
            spec=LeaseSpec(holder_identity=f"node-{i}", lease_duration_seconds=40, renew_time=MicroTime(c.now)),
        )
        assert c.request(Create(obj=lease)).ok
        _label(c, f"node-{i}", {"topology.kubernetes.io/zone": "a" if i <= 6 else "b"})
    _label(c, "node-10", {"node.kubernetes.io/exclude-disruption": ""})
    everyone = [f"node-{i}" for i in range(1, 11)]
    _pod(c, "web", "node-9", ready=True)
    _live(c, 60, everyone, status=True)
    _live(c, 90, everyone[:7])  # three go Unknown: queued, tainted one per 10 s, pods marked
    _post_status(c, "node-2", ConditionStatus.FALSE)  # not ready by its own word
    _live(c, 30, everyone[:7])
    _live(c, 30, everyone, status=True)  # all back
    c.request(Delete(key=key(Kind.NODE, "node-5")))  # a Node gone: its health is forgotten
    _live(c, 30, [n for n in everyone if n != "node-5"])
    _live(c, 200, ())  # every zone down: master disruption
    _live(c, 60, [n for n in everyone if n != "node-5"], status=True)
    assert len(passes) > 100
    assert any(hits) and not all(hits)  # the memo served steady Nodes, and let others through


def test_observe_health_remembers_the_node_and_lease_it_read() -> None:
    c = _cluster(nodes=1)
    node = _node(c, "node-1")
    lease = get(c.state, key(Kind.LEASE, "node-1", "kube-node-lease"))
    assert isinstance(lease, Lease)
    t = c.now
    h = nl.observe_health(None, node, lease, t)
    assert h.seen is not None and h.seen.node is node and h.seen_lease is lease
    assert nl.observe_health(h, node, lease, Time(t + 5)) is h  # nothing new: the same value
    renewed = attrs.evolve(lease, spec=attrs.evolve(lease.spec, renew_time=MicroTime(t + 8)))
    moved = nl.observe_health(h, node, renewed, Time(t + 10))
    assert moved.probe_timestamp == Time(t + 10) and moved.seen_lease is renewed and moved.seen is h.seen
    assert moved == attrs.evolve(h, probe_timestamp=Time(t + 10), lease_renew=t + 8)  # the memo is not in ==
