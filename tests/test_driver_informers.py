"""The driver's shared informer view, watch filters (`wants`) and client rate limits.

Components here are small test values; the apiserver is the real one.
"""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pyrsistent import pmap

from kcore.api.core import ConfigMap, EventSource
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ApiObject, ObjectMeta, Time
from kcore.api.watch import WatchEvent, WatchType
from kcore.component.effects import CallApi, Effect, WakeMeAt
from kcore.component.events import ApiAnswered, Event, TimerFired, WatchDelivered
from kcore.component.informer import follow, observe
from kcore.component.requests import Create, Delete, Update
from kcore.driver.bootstrap import create_cluster
from kcore.driver.cluster import Cluster
from kcore.driver.faults import CrashComponent, PauseComponent, ResumeComponent
from kcore.driver.snapshot import Delivered
from kcore.driver.throttle import (
    CONTROLLER_MANAGER,
    KUBELET,
    SCHEDULER,
    Bucket,
    RateLimit,
    reserve,
    upstream_client_limits,
)
from kcore.state import ClusterConfig, ClusterState, empty_state, get, list_objects


def cm(name: str, ns: str = "default") -> ConfigMap:
    return ConfigMap(metadata=ObjectMeta(name=name, namespace=ns), data=pmap({"k": name}))


def cm_key(name: str, ns: str = "default") -> ObjectKey:
    return ObjectKey(kind=Kind.CONFIG_MAP, namespace=ns, name=name)


@attrs.frozen
class Viewer:
    """Keeps its informer view with `follow`; remembers the view's ConfigMap names at
    each delivery, and the event's own object name."""

    name: str = "viewer"
    event_source: EventSource = EventSource(component="viewer")
    watches: frozenset[Kind] = frozenset({Kind.CONFIG_MAP})
    accept_prefix: str = ""  # when set, `wants` accepts only names with this prefix

    def init(
        self, view: ClusterState, now: Time
    ) -> tuple[tuple[ClusterState, tuple[tuple[str, tuple[str, ...]], ...]], tuple[Effect, ...]]:
        return (view, ()), ()

    def step(
        self, s: tuple[ClusterState, tuple[tuple[str, tuple[str, ...]], ...]], ev: Event
    ) -> tuple[tuple[ClusterState, tuple[tuple[str, tuple[str, ...]], ...]], tuple[Effect, ...]]:
        view, seen = s
        if isinstance(ev, WatchDelivered):
            view = follow(view, ev)
            names = tuple(o.metadata.name for o in list_objects(view, Kind.CONFIG_MAP, "default"))
            return (view, (*seen, (ev.event.obj.metadata.name, names))), ()
        return s, ()


@attrs.frozen
class FilteringViewer(Viewer):
    name: str = "filtering"

    def wants(self, event: WatchEvent, old: ApiObject | None = None) -> bool:
        return event.obj.metadata.name.startswith(self.accept_prefix)


@attrs.frozen
class ChangeViewer(Viewer):
    """Accepts only events that change a ConfigMap's data (client-go's old/new compare)."""

    name: str = "changes"

    def wants(self, event: WatchEvent, old: ApiObject | None = None) -> bool:
        if event.type is not WatchType.MODIFIED:
            return True
        assert isinstance(old, ConfigMap) and isinstance(event.obj, ConfigMap)
        return old.data != event.obj.data


def _cluster(*components: object) -> Cluster:
    """A bootstrapped cluster (the default namespace exists) running `components`."""
    return create_cluster(ClusterConfig(seed=7), components=components)  # type: ignore[arg-type]


# --- follow / shared view ---------------------------------------------------------------------


def test_follow_adopts_the_attached_view_and_falls_back_to_observe() -> None:
    base = empty_state()
    ev = WatchEvent(type=WatchType.ADDED, obj=cm("a"), resource_version=1)
    shared = observe(base, ev)
    assert follow(base, WatchDelivered(event=ev, now=Time(0), view=shared)) is shared
    private = follow(base, WatchDelivered(event=ev, now=Time(0)))
    assert get(private, cm_key("a")) == cm("a")


def test_the_view_is_not_part_of_equality() -> None:
    ev = WatchEvent(type=WatchType.ADDED, obj=cm("a"), resource_version=1)
    assert WatchDelivered(event=ev, now=Time(0), view=empty_state()) == WatchDelivered(event=ev, now=Time(0))


def test_each_event_carries_the_state_as_of_itself_not_later_writes() -> None:
    cluster = _cluster(Viewer())
    cluster.request(Create(obj=cm("a")))
    cluster.request(Create(obj=cm("b")))  # both queued before either is delivered
    cluster.run_until_stable()
    _, seen = cluster.component_state("viewer")
    assert seen == (("a", ("a",)), ("b", ("a", "b")))


def test_the_trace_keeps_no_views() -> None:
    cluster = _cluster(Viewer())
    cluster.request(Create(obj=cm("a")))
    cluster.run_until_stable()
    delivered = [e.event for e in cluster.trace if isinstance(e, Delivered) and isinstance(e.event, WatchDelivered)]
    assert delivered and all(d.view is None for d in delivered)


def test_a_paused_component_gets_each_held_event_with_its_own_view() -> None:
    cluster = _cluster(Viewer())
    cluster.inject(PauseComponent(name="viewer"))
    for n in ("a", "b", "c"):
        cluster.request(Create(obj=cm(n)))
    cluster.run_until_stable()
    cluster.inject(ResumeComponent(name="viewer"))
    cluster.run_until_stable()
    _, seen = cluster.component_state("viewer")
    assert seen == (("a", ("a",)), ("b", ("a", "b")), ("c", ("a", "b", "c")))


# --- wants --------------------------------------------------------------------------------------


def test_wants_filters_deliveries_and_the_next_view_still_holds_everything() -> None:
    cluster = _cluster(FilteringViewer(accept_prefix="keep"))
    for n in ("skip-1", "keep-1", "skip-2", "keep-2"):
        cluster.request(Create(obj=cm(n)))
    cluster.run_until_stable()
    _, seen = cluster.component_state("filtering")
    assert [name for name, _ in seen] == ["keep-1", "keep-2"]
    assert seen[0][1] == ("keep-1", "skip-1")
    assert seen[1][1] == ("keep-1", "keep-2", "skip-1", "skip-2")
    cluster.request(Delete(key=cm_key("keep-1")))
    cluster.request(Delete(key=cm_key("skip-1")))
    cluster.run_until_stable()
    _, seen = cluster.component_state("filtering")
    assert [name for name, _ in seen] == ["keep-1", "keep-2", "keep-1"]


def test_wants_sees_the_object_as_the_previous_write_left_it() -> None:
    cluster = _cluster(ChangeViewer())
    cluster.request(Create(obj=cm("a")))
    cluster.run_until_stable()
    created = get(cluster.state, cm_key("a"))
    assert isinstance(created, ConfigMap)
    relabelled = attrs.evolve(created, metadata=attrs.evolve(created.metadata, labels=pmap({"x": "1"})))
    assert cluster.request(Update(obj=relabelled)).ok  # data unchanged: filtered
    current = get(cluster.state, cm_key("a"))
    assert isinstance(current, ConfigMap)
    assert cluster.request(Update(obj=attrs.evolve(current, data=pmap({"k": "new"})))).ok
    cluster.request(Delete(key=cm_key("a")))
    cluster.run_until_stable()
    _, seen = cluster.component_state("changes")
    assert [name for name, _ in seen] == ["a", "a", "a"]  # ADDED, the data change, DELETED


# --- client rate limits -------------------------------------------------------------------------


def test_reserve_spends_the_burst_then_spaces_requests_by_one_over_qps() -> None:
    limit = RateLimit(qps=20.0, burst=30)
    bucket: Bucket | None = None
    times = []
    for _ in range(40):
        bucket, go = reserve(limit, bucket, 100.0)
        times.append(go)
    assert times[:30] == [100.0] * 30
    assert times[30:] == pytest.approx([100.0 + k / 20.0 for k in range(1, 11)])
    # after a long idle the bucket is full again, not more
    later = 100.0 + 10 / 20.0 + 1000.0
    for _ in range(30):
        bucket, go = reserve(limit, bucket, later)
        assert go == later
    _, go = reserve(limit, bucket, later)
    assert go == pytest.approx(later + 1 / 20.0)


@given(
    qps=st.floats(min_value=0.5, max_value=100.0),
    burst=st.integers(min_value=1, max_value=50),
    gaps=st.lists(st.floats(min_value=0.0, max_value=3.0), min_size=1, max_size=80),
)
def test_reserve_never_lets_more_than_burst_plus_qps_times_t_through(
    qps: float, burst: int, gaps: list[float]
) -> None:
    """Over any window starting at 0, at most burst + qps * window requests go, and a
    later request never goes before an earlier one."""
    limit = RateLimit(qps=qps, burst=burst)
    bucket: Bucket | None = None
    now, goes = 0.0, []
    for gap in gaps:
        now += gap
        bucket, go = reserve(limit, bucket, now)
        assert go >= now
        goes.append(go)
    assert goes == sorted(goes)
    for i, go in enumerate(goes):
        assert i + 1 <= burst + qps * go + 1e-6


def test_rate_limits_reject_nonsense() -> None:
    with pytest.raises(ValueError, match="qps"):
        RateLimit(qps=0.0, burst=1)
    with pytest.raises(ValueError, match="burst"):
        RateLimit(qps=1.0, burst=0)


def test_upstream_limits_by_component() -> None:
    limits = upstream_client_limits(["replicaset-controller", "kube-scheduler", "kubelet/node-1"])
    assert limits["replicaset-controller"] == CONTROLLER_MANAGER == RateLimit(qps=20.0, burst=30)
    assert limits["kube-scheduler"] == SCHEDULER == RateLimit(qps=50.0, burst=100)
    assert limits["kubelet/node-1"] == KUBELET == RateLimit(qps=50.0, burst=100)


@attrs.frozen
class Burster:
    """At start, creates `count` ConfigMaps in one step; records when each answer came."""

    name: str = "burster"
    event_source: EventSource = EventSource(component="burster")
    count: int = 40
    watches: frozenset[Kind] = frozenset()

    def init(self, view: ClusterState, now: Time) -> tuple[tuple[float, ...], tuple[Effect, ...]]:
        return (), (WakeMeAt(at=now, key="go"),)

    def step(self, s: tuple[float, ...], ev: Event) -> tuple[tuple[float, ...], tuple[Effect, ...]]:
        if isinstance(ev, TimerFired):
            return s, tuple(CallApi(request=Create(obj=cm(f"c-{int(ev.now)}-{i:03d}")), tag=str(i)) for i in range(self.count))
        if isinstance(ev, ApiAnswered):
            assert ev.response.ok
            return (*s, ev.now), ()
        return s, ()


def _throttled(limit: RateLimit) -> Cluster:
    snap = attrs.evolve(_cluster().snapshot(), client_limits=pmap({"burster": limit}))
    return Cluster(snap, [Burster()])


def _configmaps(cluster: Cluster) -> int:
    return len(list_objects(cluster.state, Kind.CONFIG_MAP, "default"))


def test_a_throttled_component_sends_its_burst_now_and_the_rest_at_qps() -> None:
    cluster = _throttled(RateLimit(qps=20.0, burst=30))
    start = cluster.now
    cluster.run_until_stable()
    assert _configmaps(cluster) == 30
    cluster.advance(10.0)
    answers = cluster.component_state("burster")
    assert answers[:30] == (start,) * 30
    assert list(answers[30:]) == pytest.approx([start + k / 20.0 for k in range(1, 11)])
    assert _configmaps(cluster) == 40


def test_an_unthrottled_component_sends_everything_now() -> None:
    cluster = _cluster(Burster())
    cluster.run_until_stable()
    assert _configmaps(cluster) == 40


def test_a_crash_drops_the_requests_still_waiting_for_the_limiter() -> None:
    cluster = _throttled(RateLimit(qps=1.0, burst=5))
    cluster.run_until_stable()
    assert _configmaps(cluster) == 5
    cluster.advance(2.0)
    assert _configmaps(cluster) == 7
    cluster.inject(CrashComponent(name="burster"))  # the new process: a new client, a full bucket
    cluster.run_until_stable()
    assert _configmaps(cluster) == 7 + 5
    cluster.advance(3.0)
    # the old incarnation's 33 waiting requests died with it: only the new one's go, at 1/s
    assert _configmaps(cluster) == 7 + 5 + 3


def test_throttling_survives_a_fork() -> None:
    cluster = _throttled(RateLimit(qps=2.0, burst=1))
    cluster.run_until_stable()
    fork = cluster.fork()
    fork.advance(5.0)
    cluster.advance(5.0)
    assert list_objects(fork.state, Kind.CONFIG_MAP, "default") == list_objects(cluster.state, Kind.CONFIG_MAP, "default")
    assert _configmaps(cluster) == 11


# --- the cyclic collector ---------------------------------------------------------------------


def test_the_collector_waits_for_the_end_of_a_run_and_is_restored() -> None:
    import gc

    seen: list[bool] = []

    @attrs.frozen
    class Probe(Viewer):
        name: str = "probe"

        def step(
            self, s: tuple[ClusterState, tuple[tuple[str, tuple[str, ...]], ...]], ev: Event
        ) -> tuple[tuple[ClusterState, tuple[tuple[str, tuple[str, ...]], ...]], tuple[Effect, ...]]:
            seen.append(gc.isenabled())
            return super().step(s, ev)

    cluster = _cluster(Probe())
    assert gc.isenabled()
    cluster.request(Create(obj=cm("a")))
    assert cluster.run_until_stable()
    assert seen and not any(seen)  # no automatic collection mid-run
    assert gc.isenabled()  # and back on after it
    gc.disable()
    try:
        cluster.request(Create(obj=cm("b")))
        assert cluster.run_until_stable()
        assert not gc.isenabled()  # a caller that turned it off keeps it off
    finally:
        gc.enable()


# --- components that read the current cache -----------------------------------------------------


@attrs.frozen
class Lister:
    """Watches nothing; every 10 s lists the ConfigMaps of the cache it was delivered."""

    name: str = "lister"
    event_source: EventSource = EventSource(component="lister")
    watches: frozenset[Kind] = frozenset()
    reads_current_view: bool = True

    def init(self, view: ClusterState, now: Time) -> tuple[tuple[tuple[str, ...], ...], tuple[Effect, ...]]:
        return (), (WakeMeAt(at=Time(now + 10), key="list"),)

    def step(
        self, s: tuple[tuple[str, ...], ...], ev: Event
    ) -> tuple[tuple[tuple[str, ...], ...], tuple[Effect, ...]]:
        if isinstance(ev, TimerFired):
            assert ev.view is not None
            names = tuple(o.metadata.name for o in list_objects(ev.view, Kind.CONFIG_MAP, "default"))
            return (*s, names), (WakeMeAt(at=Time(ev.now + 10), key="list"),)
        return s, ()


def test_a_timer_of_a_component_reading_the_current_cache_sees_what_it_does_not_watch() -> None:
    cluster = _cluster(Lister(), Viewer())
    cluster.request(Create(obj=cm("a")))
    cluster.advance(10.0)
    cluster.request(Create(obj=cm("b")))
    cluster.advance(10.0)
    assert cluster.component_state("lister") == (("a",), ("a", "b"))
    timers = [e.event for e in cluster.trace if isinstance(e, Delivered) and isinstance(e.event, TimerFired)]
    assert timers and all(t.view is None for t in timers)  # the trace keeps no states


def test_other_components_get_timers_without_a_cache() -> None:
    seen: list[ClusterState | None] = []

    @attrs.frozen
    class Plain(Lister):
        name: str = "plain"
        reads_current_view: bool = False

        def step(
            self, s: tuple[tuple[str, ...], ...], ev: Event
        ) -> tuple[tuple[tuple[str, ...], ...], tuple[Effect, ...]]:
            if isinstance(ev, TimerFired):
                seen.append(ev.view)
            return s, ()

    cluster = _cluster(Plain())
    cluster.advance(10.0)
    assert seen == [None]
