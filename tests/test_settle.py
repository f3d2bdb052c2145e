"""Settling (`Cluster.settle`): simulated time runs exactly as far as the work in motion needs.

Components here are small test values: what counts as "in motion" is what they mark.
"""

from __future__ import annotations

import pickle

import attrs
import pytest

from kcore.api.core import EventSource
from kcore.api.kinds import Kind
from kcore.api.meta import Time
from kcore.component.effects import Effect, WakeMeAt
from kcore.component.events import Event, TimerFired
from kcore.driver.clock import EPOCH
from kcore.driver.cluster import Cluster
from kcore.driver.faults import PauseComponent, ResumeComponent
from kcore.driver.queue import EventQueue
from kcore.driver.settling import Settled, SettleEnd
from kcore.state import ClusterState, empty_state

T0 = EPOCH


@attrs.frozen
class Worker:
    """At start asks for `steps` timers in motion one after the other, `gap` seconds apart,
    and for a merely scheduled timer every `period` seconds; remembers what fired when."""

    name: str = "worker"
    event_source: EventSource = EventSource(component="worker")
    steps: int = 3
    gap: float = 5.0
    period: float = 60.0
    watches: frozenset[Kind] = frozenset()

    def init(self, view: ClusterState, now: Time) -> tuple[tuple[tuple[str, float], ...], tuple[Effect, ...]]:
        wakes: list[Effect] = [WakeMeAt(at=Time(now + self.period), key="periodic")]
        if self.steps:
            wakes.append(WakeMeAt(at=Time(now + self.gap), key="work-1", in_motion=True))
        return (), tuple(wakes)

    def step(
        self, s: tuple[tuple[str, float], ...], ev: Event
    ) -> tuple[tuple[tuple[str, float], ...], tuple[Effect, ...]]:
        if not isinstance(ev, TimerFired) or not isinstance(ev.key, str):
            return s, ()
        s = (*s, (ev.key, ev.now - T0))
        if ev.key == "periodic":
            return s, (WakeMeAt(at=Time(ev.now + self.period), key="periodic"),)
        n = int(ev.key.removeprefix("work-"))
        if n < self.steps:
            return s, (WakeMeAt(at=Time(ev.now + self.gap), key=f"work-{n + 1}", in_motion=True),)
        return s, ()


def a_cluster(*components: Worker) -> Cluster:
    return Cluster.empty(empty_state(), components)


def fired(cluster: Cluster, name: str = "worker") -> tuple[tuple[str, float], ...]:
    history: tuple[tuple[str, float], ...] = cluster.component_state(name)
    return history


# --- the queue counts what is in motion -------------------------------------------------------


def test_the_queue_counts_items_in_motion_through_push_pop_and_rebuilds() -> None:
    q = EventQueue()
    q = q.push(Time(1), "a", TimerFired(key="x", now=Time(1)), in_motion=True)
    q = q.push(Time(1), "a", TimerFired(key="y", now=Time(1)), in_motion=False)
    q = q.push(Time(5), "b", TimerFired(key="z", now=Time(5)), in_motion=True)
    assert (len(q), q.moving) == (3, 2)
    item, rest = q.pop()
    assert (item.in_motion, rest.moving) == (True, 1)
    _, rest2 = rest.pop()
    assert rest2.moving == 1
    assert q.without(frozenset({"b"})).moving == 1
    taken, left = q.take_due("a", Time(1))
    assert (len(taken), left.moving) == (2, 1)
    loaded = pickle.loads(pickle.dumps(q))
    assert loaded == q and loaded.moving == 2


# --- settle ----------------------------------------------------------------------------------


def test_settling_runs_to_the_last_work_in_motion_and_no_further() -> None:
    cluster = a_cluster(Worker(steps=3, gap=5.0, period=60.0))
    assert cluster.settle() == Settled(started=T0, ended=Time(T0 + 15), end=SettleEnd.SETTLED)
    assert fired(cluster) == (("work-1", 5.0), ("work-2", 10.0), ("work-3", 15.0))
    assert cluster.pending() == 1  # the periodic timer waits for time to pass it


def test_merely_scheduled_work_fires_when_settling_passes_its_time() -> None:
    cluster = a_cluster(Worker(steps=3, gap=30.0, period=40.0))
    assert cluster.settle().ended == Time(T0 + 90)
    assert fired(cluster) == (("work-1", 30.0), ("periodic", 40.0), ("work-2", 60.0), ("periodic", 80.0), ("work-3", 90.0))


def test_periodic_work_alone_does_not_keep_settling_going() -> None:
    cluster = a_cluster(Worker(steps=0, period=10.0))
    assert cluster.settle() == Settled(started=T0, ended=T0, end=SettleEnd.SETTLED)
    assert fired(cluster) == ()
    assert cluster.advance(25)
    assert fired(cluster) == (("periodic", 10.0), ("periodic", 20.0))


def test_settling_stops_at_its_bound_with_work_still_in_motion() -> None:
    cluster = a_cluster(Worker(steps=100, gap=10.0, period=1000.0))
    settled = cluster.settle(max_seconds=35)
    assert settled == Settled(started=T0, ended=Time(T0 + 35), end=SettleEnd.TIMEOUT)
    assert settled.seconds == 35
    assert fired(cluster) == (("work-1", 10.0), ("work-2", 20.0), ("work-3", 30.0))


def test_settling_for_no_time_only_delivers_what_is_due() -> None:
    cluster = a_cluster(Worker(steps=1, gap=1.0))
    assert cluster.settle(max_seconds=0) == Settled(started=T0, ended=T0, end=SettleEnd.TIMEOUT)
    assert cluster.settle() == Settled(started=T0, ended=Time(T0 + 1), end=SettleEnd.SETTLED)
    assert cluster.settle() == Settled(started=Time(T0 + 1), ended=Time(T0 + 1), end=SettleEnd.SETTLED)


def test_settling_refuses_a_negative_bound() -> None:
    with pytest.raises(ValueError, match="negative"):
        a_cluster().settle(max_seconds=-1)


def test_a_paused_component_holds_its_work_and_settling_ends() -> None:
    cluster = a_cluster(Worker(steps=3, gap=5.0))
    cluster.inject(PauseComponent(name="worker"))
    assert cluster.settle().ended == Time(T0 + 5)  # its first timer came and was held
    assert fired(cluster) == ()
    cluster.inject(ResumeComponent(name="worker"))
    assert cluster.settle().ended == Time(T0 + 15)
    assert fired(cluster) == (("work-1", 5.0), ("work-2", 10.0), ("work-3", 15.0))


def test_settling_is_deterministic_and_forks_settle_alike() -> None:
    a = a_cluster(Worker(), Worker(name="other", steps=2, gap=7.0))
    b = a.fork()
    assert a.settle() == b.settle()
    assert a.snapshot() == b.snapshot()


# --- advance_until -----------------------------------------------------------------------------


def test_advance_until_stops_at_the_first_instant_the_condition_holds() -> None:
    cluster = a_cluster(Worker(steps=3, gap=5.0))
    assert cluster.advance_until(lambda _: len(fired(cluster)) >= 2, 60)
    assert cluster.now == Time(T0 + 10)


def test_advance_until_gives_up_at_the_deadline() -> None:
    cluster = a_cluster(Worker(steps=3, gap=5.0, period=7.0))
    assert not cluster.advance_until(lambda _: False, 12)
    assert cluster.now == Time(T0 + 12)
    assert fired(cluster) == (("work-1", 5.0), ("periodic", 7.0), ("work-2", 10.0))
