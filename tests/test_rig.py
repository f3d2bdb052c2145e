"""The test rig (`tests/rig.py`): what the component sees is what the test handed it.

Driven with `Recorder`, a component that keeps every event it gets and, when started,
asks to create a ConfigMap and to be woken a minute later.
"""

from __future__ import annotations

import enum

import attrs

from kcore.api.core import ConfigMap, EventSource
from kcore.api.kinds import Kind
from kcore.api.meta import Status, StatusReason, Time
from kcore.api.watch import WatchEvent, WatchType
from kcore.component.effects import CallApi, Effect, WakeMeAt
from kcore.component.events import ApiAnswered, Event, Started, TimerFired, WatchDelivered
from kcore.component.requests import Create, Delete, Request, Response
from kcore.state import ClusterState, list_objects
from tests.builders import T0, a_config_map, a_pod, key
from tests.rig import Rig

MADE = key(Kind.CONFIG_MAP, "made")
CFG = key(Kind.CONFIG_MAP, "cfg")
FORBIDDEN = Response(code=403, body=Status(code=403, reason=StatusReason.FORBIDDEN, message="no"))


class Tick(enum.Enum):
    MINUTE = "minute"


@attrs.frozen(kw_only=True)
class Seen:
    """What the recorder knows: the names of the config maps at its LIST, and every event."""

    listed: tuple[str, ...]
    events: tuple[Event, ...] = ()


CREATE = CallApi(request=Create(obj=a_config_map("made")), tag="made")
WAKE = WakeMeAt(at=Time(T0 + 60), key=Tick.MINUTE)


@attrs.frozen(kw_only=True)
class Recorder:
    name: str = "recorder"
    event_source: EventSource = EventSource(component="recorder")
    watches: frozenset[Kind] = frozenset({Kind.CONFIG_MAP})

    def init(self, view: ClusterState, now: Time) -> tuple[Seen, tuple[Effect, ...]]:
        return Seen(listed=tuple(c.metadata.name for c in list_objects(view, Kind.CONFIG_MAP))), ()

    def step(self, s: Seen, event: Event) -> tuple[Seen, tuple[Effect, ...]]:
        effects: tuple[Effect, ...] = (CREATE, WAKE) if isinstance(event, Started) else ()
        return attrs.evolve(s, events=(*s.events, event)), effects


def stored(rig: Rig[Seen], name: str) -> ConfigMap:
    return rig.get(key(Kind.CONFIG_MAP, name), ConfigMap)


def test_the_objects_given_exist_before_init_and_nothing_is_delivered_yet() -> None:
    rig = Rig(Recorder(), a_config_map("cfg"))
    assert rig.s == Seen(listed=("cfg",))
    assert (rig.inbox, rig.now) == ([], T0)
    assert [n.metadata.name for n in list_objects(rig.state, Kind.NODE)] == ["node-1"]


def test_start_delivers_started_and_returns_what_the_component_asks() -> None:
    rig = Rig(Recorder())
    assert rig.start() == (CREATE, WAKE)
    assert rig.s.events == (Started(now=T0),)


def test_a_request_is_served_at_once_and_its_watch_event_waits_in_the_inbox() -> None:
    rig = Rig(Recorder())
    assert rig.request(Create(obj=a_config_map("cfg"))).code == 201
    cfg = stored(rig, "cfg")
    assert rig.inbox == [WatchEvent(type=WatchType.ADDED, obj=cfg, resource_version=cfg.metadata.resource_version)]
    assert rig.s.events == ()


def test_watch_events_of_kinds_the_component_does_not_watch_never_reach_the_inbox() -> None:
    rig = Rig(Recorder())
    assert rig.request(Create(obj=a_pod("p"))).ok
    assert rig.inbox == []


def test_deliver_watches_hands_over_the_inbox_oldest_first() -> None:
    rig = Rig(Recorder(), a_config_map("cfg"))
    assert rig.request(Create(obj=a_config_map("other"))).ok
    assert rig.request(Delete(key=CFG)).ok
    added, deleted = rig.inbox
    assert (added.type, deleted.type) == (WatchType.ADDED, WatchType.DELETED)
    assert rig.deliver_watches() == ()
    assert rig.s.events == (WatchDelivered(event=added, now=T0), WatchDelivered(event=deleted, now=T0))
    assert rig.inbox == []


def test_answer_serves_the_call_and_delivers_its_answer_with_the_calls_tag_but_not_its_watch_event() -> None:
    rig = Rig(Recorder())
    assert rig.answer(CREATE) == ()
    made = stored(rig, "made")
    assert rig.s.events == (ApiAnswered(tag="made", response=Response(code=201, body=made), now=T0),)
    assert [e.obj for e in rig.inbox] == [made]


def test_answer_with_a_response_leaves_the_apiserver_alone() -> None:
    rig = Rig(Recorder())
    revision = rig.state.revision
    assert rig.answer(CREATE, FORBIDDEN) == ()
    assert rig.s.events == (ApiAnswered(tag="made", response=FORBIDDEN, now=T0),)
    assert (rig.state.revision, rig.inbox) == (revision, [])


def test_perform_serves_the_call_and_returns_its_answer_undelivered() -> None:
    rig = Rig(Recorder())
    answered = rig.perform(CREATE)
    assert answered == ApiAnswered(tag="made", response=Response(code=201, body=stored(rig, "made")), now=T0)
    assert rig.s.events == ()


def test_settle_answers_every_call_and_delivers_every_watch_event_but_fires_no_timer() -> None:
    rig = Rig(Recorder())
    assert rig.settle(rig.start()) == [CREATE, WAKE]
    made = stored(rig, "made")
    assert rig.s.events == (
        Started(now=T0),
        ApiAnswered(tag="made", response=Response(code=201, body=made), now=T0),
        WatchDelivered(event=WatchEvent(type=WatchType.ADDED, obj=made, resource_version=made.metadata.resource_version), now=T0),
    )
    assert (rig.inbox, rig.now) == ([], T0)


def test_settle_lets_refuse_answer_a_request_instead_of_the_apiserver() -> None:
    def refuse(req: Request) -> Response | None:
        return FORBIDDEN if isinstance(req, Create) else None

    rig = Rig(Recorder())
    rig.settle(rig.start(), refuse)
    assert rig.s.events == (Started(now=T0), ApiAnswered(tag="made", response=FORBIDDEN, now=T0))
    assert list_objects(rig.state, Kind.CONFIG_MAP) == ()


def test_fire_delivers_the_timer_and_moves_the_clock_to_its_time() -> None:
    rig = Rig(Recorder())
    assert rig.fire(Tick.MINUTE, T0 + 60) == ()
    assert rig.fire(Tick.MINUTE) == ()
    due = TimerFired(key=Tick.MINUTE, now=Time(T0 + 60))
    assert (rig.s.events, rig.now) == ((due, due), T0 + 60)


def test_restart_lists_again_and_drops_the_inbox() -> None:
    rig = Rig(Recorder())
    rig.start()
    assert rig.request(Create(obj=a_config_map("cfg"))).ok
    rig.restart()
    assert (rig.s, rig.inbox) == (Seen(listed=("cfg",)), [])


def test_a_rig_can_start_from_a_given_state_at_a_given_time() -> None:
    first = Rig(Recorder(), a_config_map("cfg"))
    rig = Rig(Recorder(), a_config_map("made"), state=first.state, now=Time(T0 + 5))
    assert (rig.s, rig.now) == (Seen(listed=("cfg", "made")), T0 + 5)
    assert stored(rig, "made").metadata.creation_timestamp == T0 + 5
    assert stored(rig, "cfg") == first.get(CFG)
