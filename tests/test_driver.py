"""The driver: queue order, the clock, effect performance, crashes, apply, fork, determinism.

Components here are small test values; the apiserver is the real one.
"""

from __future__ import annotations

import attrs
import pytest
from pyrsistent import pmap

from kcore.api.core import ConfigMap, EventSource, Namespace
from kcore.api.core import Event as EventObject
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ObjectMeta, Status, Time
from kcore.api.watch import WatchType
from kcore.bug import KcoreBug
from kcore.component.effects import CallApi, Effect, EventType, RecordEvent, WakeMeAt
from kcore.component.events import ApiAnswered, Event, Started, TimerFired, WatchDelivered
from kcore.component.requests import Create, Get
from kcore.driver.bootstrap import NodeShape, create_cluster, node_object
from kcore.driver.clock import EPOCH, DurationError, format_time, parse_duration
from kcore.driver.cluster import Applied, ApplyOutcome, Cluster
from kcore.driver.queue import EventQueue
from kcore.driver.snapshot import Crashed, Delivered, Performed
from kcore.state import ClusterConfig, ClusterState, empty_state, get, list_objects

# --- test components -----------------------------------------------------------------------


def cm(name: str, ns: str = "default", **data: str) -> ConfigMap:
    return ConfigMap(metadata=ObjectMeta(name=name, namespace=ns), data=pmap(data))


@attrs.frozen
class Mirror:
    """For every ConfigMap `x` (not itself a mirror) creates ConfigMap `x-mirror`."""

    name: str = "mirror"
    event_source: EventSource = EventSource(component="mirror")
    watches: frozenset[Kind] = frozenset({Kind.CONFIG_MAP})

    def init(self, view: ClusterState, now: Time) -> tuple[tuple[str, ...], tuple[Effect, ...]]:
        return (), ()

    def step(self, s: tuple[str, ...], ev: Event) -> tuple[tuple[str, ...], tuple[Effect, ...]]:
        match ev:
            case WatchDelivered(event=w) if w.type is WatchType.ADDED and not w.obj.metadata.name.endswith("-mirror"):
                m = w.obj.metadata
                req = Create(obj=cm(f"{m.name}-mirror", m.namespace))
                return s, (CallApi(request=req, tag=m.name),)
            case ApiAnswered(tag=rid, response=r):
                return (*s, f"{rid}:{r.code}"), ()
            case _:
                return s, ()


@attrs.frozen
class Ticker:
    """Wakes every `period` seconds and remembers when."""

    name: str = "ticker"
    event_source: EventSource = EventSource(component="ticker")
    period: float = 60.0
    watches: frozenset[Kind] = frozenset()

    def init(self, view: ClusterState, now: Time) -> tuple[tuple[Time, ...], tuple[Effect, ...]]:
        return (), (WakeMeAt(at=Time(now + self.period), key="tick"),)

    def step(self, s: tuple[Time, ...], ev: Event) -> tuple[tuple[Time, ...], tuple[Effect, ...]]:
        if isinstance(ev, TimerFired):
            return (*s, ev.now), (WakeMeAt(at=Time(ev.now + self.period), key="tick"),)
        return s, ()


@attrs.frozen
class Fragile:
    """Crashes on any ConfigMap named `boom`; counts its starts."""

    name: str = "fragile"
    event_source: EventSource = EventSource(component="fragile")
    watches: frozenset[Kind] = frozenset({Kind.CONFIG_MAP})

    def init(self, view: ClusterState, now: Time) -> tuple[int, tuple[Effect, ...]]:
        return 0, ()

    def step(self, s: int, ev: Event) -> tuple[int, tuple[Effect, ...]]:
        if isinstance(ev, Started):
            return s + 1, ()
        if isinstance(ev, WatchDelivered) and ev.event.obj.metadata.name == "boom":
            raise KcoreBug("boom")
        return s, ()


@attrs.frozen
class Recorder:
    name: str = "recorder"
    event_source: EventSource = EventSource(component="recorder")
    watches: frozenset[Kind] = frozenset({Kind.CONFIG_MAP})

    def init(self, view: ClusterState, now: Time) -> tuple[None, tuple[Effect, ...]]:
        return None, ()

    def step(self, s: None, ev: Event) -> tuple[None, tuple[Effect, ...]]:
        if isinstance(ev, WatchDelivered) and ev.event.type is WatchType.ADDED:
            m = ev.event.obj.metadata
            key = ObjectKey(kind=Kind.CONFIG_MAP, namespace=m.namespace, name=m.name)
            return s, (RecordEvent(involved=key, type=EventType.NORMAL, reason="Seen", message=f"saw {m.name}"),)
        return s, ()


def a_cluster(*components: object, nodes: int = 0) -> Cluster:
    return create_cluster(ClusterConfig(seed=42), nodes=nodes, components=components)  # type: ignore[arg-type]


# --- queue and clock -------------------------------------------------------------------------


def test_queue_delivers_by_time_then_by_push_order() -> None:
    q = EventQueue()
    for at, key in [(5.0, "a"), (1.0, "b"), (5.0, "c"), (0.0, "d"), (1.0, "e")]:
        q = q.push(Time(at), "t", TimerFired(key=key, now=Time(at)))
    assert [s.event.key for s in q if isinstance(s.event, TimerFired)] == ["d", "b", "e", "a", "c"]
    assert len(q) == 5


def test_queue_is_a_value_pop_leaves_the_original_intact() -> None:
    q = EventQueue().push(Time(1.0), "t", Started(now=Time(1.0)))
    item, rest = q.pop()
    assert item.target == "t" and len(rest) == 0 and len(q) == 1
    assert rest.peek() is None
    with pytest.raises(IndexError):
        rest.pop()


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90.0), ("10m", 600.0), ("2h", 7200.0), ("1h30m", 5400.0), ("1.5h", 5400.0), ("500ms", 0.5), ("1d", 86400.0)],
)
def test_parse_duration_reads_kubectl_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "10", "m", "10x", "1h 30m", "-5s"])
def test_parse_duration_rejects_garbage_naming_it(text: str) -> None:
    with pytest.raises(DurationError, match="invalid duration"):
        parse_duration(text)


def test_the_clock_starts_at_the_fixed_epoch() -> None:
    assert format_time(EPOCH) == "2026-01-01T00:00:00Z"
    assert a_cluster().now == EPOCH


# --- bootstrap -------------------------------------------------------------------------------


def test_a_new_cluster_has_system_namespaces_policy_and_ready_nodes() -> None:
    c = a_cluster(nodes=2)
    for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
        assert get(c.state, ObjectKey(kind=Kind.NAMESPACE, namespace="", name=ns)) is not None
    assert get(c.state, ObjectKey(kind=Kind.CLUSTER_ROLE, namespace="", name="cluster-admin")) is not None
    node = get(c.state, ObjectKey(kind=Kind.NODE, namespace="", name="node-2"))
    expected = node_object(2, NodeShape(), EPOCH)
    assert node is not None and node.status == expected.status  # type: ignore[attr-defined]
    assert [a.address for a in node.status.addresses] == ["172.18.0.3", "node-2"]  # type: ignore[attr-defined]


# --- effects and events ----------------------------------------------------------------------


def test_a_watch_event_reaches_the_component_and_its_call_is_answered() -> None:
    c = a_cluster(Mirror())
    c.apply([cm("app")])
    assert c.run_until_stable()
    assert get(c.state, ObjectKey(kind=Kind.CONFIG_MAP, namespace="default", name="app-mirror")) is not None
    assert c.component_state("mirror") == ("app:201",)
    delivered = [e.event for e in c.trace if isinstance(e, Delivered) and e.component == "mirror"]
    assert [type(e).__name__ for e in delivered] == ["Started", "WatchDelivered", "ApiAnswered", "WatchDelivered"]


def test_step_returns_false_when_nothing_is_due() -> None:
    c = a_cluster()
    assert c.step() is False


def test_timers_fire_at_their_own_times_while_advancing() -> None:
    c = a_cluster(Ticker(period=60.0))
    assert c.advance(200.0)
    assert c.component_state("ticker") == (EPOCH + 60, EPOCH + 120, EPOCH + 180)
    assert c.now == EPOCH + 200
    assert c.pending() == 1  # the tick at 240 waits


def test_advance_refuses_to_go_backwards() -> None:
    with pytest.raises(ValueError, match="backwards"):
        a_cluster().advance(-1)


def test_a_component_raising_kcore_bug_is_traced_and_restarted() -> None:
    c = a_cluster(Fragile())
    c.apply([cm("boom")])
    assert c.run_until_stable()
    crashes = [e for e in c.trace if isinstance(e, Crashed)]
    assert [(e.component, e.error) for e in crashes] == [("fragile", "boom")]
    assert c.component_state("fragile") == 1  # restarted: fresh state, one Started seen


def test_record_event_creates_a_v1_event_about_the_object() -> None:
    c = a_cluster(Recorder())
    c.apply([cm("app")])
    c.run_until_stable()
    events = [o for o in c.state.tables.get(Kind.EVENT, pmap()).values() if isinstance(o, EventObject)]
    assert len(events) == 1
    ev = events[0]
    assert (ev.reason, ev.message, ev.involved_object.name, ev.metadata.namespace) == ("Seen", "saw app", "app", "default")


def test_every_effect_is_traced_with_its_component() -> None:
    c = a_cluster(Mirror())
    c.apply([cm("app")])
    c.run_until_stable()
    performed = [(e.component, type(e.effect).__name__) for e in c.trace if isinstance(e, Performed)]
    assert ("mirror", "CallApi") in performed
    assert performed[-2:] == [("client", "CallApi"), ("mirror", "CallApi")]


# --- apply -----------------------------------------------------------------------------------


def test_apply_creates_then_reports_unchanged_then_configured() -> None:
    c = a_cluster()
    (first,) = c.apply([cm("app", a="1")])
    (again,) = c.apply([cm("app", a="1")])
    (changed,) = c.apply([cm("app", a="2")])
    assert [first.outcome, again.outcome, changed.outcome] == [
        ApplyOutcome.CREATED,
        ApplyOutcome.UNCHANGED,
        ApplyOutcome.CONFIGURED,
    ]
    stored = get(c.state, ObjectKey(kind=Kind.CONFIG_MAP, namespace="default", name="app"))
    assert isinstance(stored, ConfigMap) and dict(stored.data) == {"a": "2"}


def test_apply_keeps_the_live_status_and_identity() -> None:
    c = a_cluster()
    (created,) = c.apply([Namespace(metadata=ObjectMeta(name="team", labels=pmap({"a": "1"})))])
    assert created.outcome is ApplyOutcome.CREATED
    before = get(c.state, ObjectKey(kind=Kind.NAMESPACE, namespace="", name="team"))
    (updated,) = c.apply([Namespace(metadata=ObjectMeta(name="team", labels=pmap({"a": "2"})))])
    after = get(c.state, ObjectKey(kind=Kind.NAMESPACE, namespace="", name="team"))
    assert updated.outcome is ApplyOutcome.CONFIGURED
    assert before is not None and after is not None
    assert after.metadata.uid == before.metadata.uid
    assert after.metadata.creation_timestamp == before.metadata.creation_timestamp
    assert after.status == before.status  # type: ignore[attr-defined]
    # the label the apiserver adds (not in any manifest) survives; ours is updated
    assert dict(after.metadata.labels) == {"a": "2", "kubernetes.io/metadata.name": "team"}


def test_apply_removes_what_the_last_apply_set_and_the_manifest_dropped() -> None:
    c = a_cluster()
    c.apply([cm("app", a="1", b="2")])
    (res,) = c.apply([cm("app", b="2")])
    assert res.outcome is ApplyOutcome.CONFIGURED
    stored = get(c.state, ObjectKey(kind=Kind.CONFIG_MAP, namespace="default", name="app"))
    assert isinstance(stored, ConfigMap) and dict(stored.data) == {"b": "2"}


def test_apply_of_a_rejected_object_fails_and_stores_nothing() -> None:
    c = a_cluster()
    (bad,) = c.apply([cm("Not_A_Name")])
    assert bad.outcome is ApplyOutcome.FAILED
    assert isinstance(bad.status, Status) and bad.status.code == 422
    assert get(c.state, ObjectKey(kind=Kind.CONFIG_MAP, namespace="default", name="Not_A_Name")) is None


def test_apply_without_a_name_fails_as_kubectl_does() -> None:
    c = a_cluster()
    obj = ConfigMap(metadata=ObjectMeta(generate_name="x-", namespace="default"))
    (res,) = c.apply([obj])
    assert isinstance(res, Applied) and res.outcome is ApplyOutcome.FAILED and res.response.code == 400


# --- snapshot, fork, determinism ---------------------------------------------------------------


def test_a_snapshot_never_changes_and_a_fork_is_independent() -> None:
    c = a_cluster(Mirror())
    snap = c.snapshot()
    fork = c.fork()
    fork.apply([cm("only-in-fork")])
    fork.run_until_stable()
    assert c.snapshot() is snap
    def names(cluster: Cluster) -> list[str]:
        return [m.metadata.name for m in list_objects(cluster.state, Kind.CONFIG_MAP, "default")]

    assert (names(c), names(fork)) == ([], ["only-in-fork", "only-in-fork-mirror"])
    assert fork.component_state("mirror") == ("only-in-fork:201",) and c.component_state("mirror") == ()


def test_the_same_seed_and_inputs_give_the_same_state_and_trace() -> None:
    def run() -> Cluster:
        c = a_cluster(Mirror(), Ticker(), Recorder(), nodes=2)
        c.apply([cm("a"), cm("b", x="1")])
        c.advance(125.0)
        return c

    one, two = run(), run()
    assert one.snapshot() == two.snapshot()
    assert list(one.trace) == list(two.trace)


def test_the_client_request_goes_through_the_apiserver() -> None:
    c = a_cluster()
    resp = c.request(Get(key=ObjectKey(kind=Kind.CONFIG_MAP, namespace="default", name="none")))
    assert resp.code == 404


def test_duplicate_component_names_are_refused() -> None:
    with pytest.raises(ValueError, match="unique"):
        Cluster.empty(empty_state(), [Mirror(), Mirror()])


def test_node_addresses_and_pod_cidrs_scale_past_256_nodes() -> None:
    from kcore.driver.bootstrap import node_internal_ip, node_pod_cidr

    assert node_internal_ip(1) == "172.18.0.2"
    assert node_internal_ip(300) == "172.18.1.45"
    assert node_pod_cidr(1) == "10.244.0.0/24"
    assert node_pod_cidr(256) == "10.244.255.0/24"
    assert node_pod_cidr(5000, "10.224.0.0/11") == "10.243.135.0/24"
    with pytest.raises(ValueError, match="holds 256 node podCIDRs"):
        node_pod_cidr(257)
    with pytest.raises(ValueError, match="holds 256 node podCIDRs"):
        create_cluster(ClusterConfig(), nodes=300)
