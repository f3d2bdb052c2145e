"""The event recorder: dedup of identical events and aggregation of similar ones."""

from __future__ import annotations

from kcore.api.core import Event
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import Time
from kcore.apiserver.types import Create, ListObjects, ObjectList, Update
from kcore.driver.bootstrap import create_cluster
from kcore.driver.clock import EPOCH
from kcore.driver.effects import EventType, RecordEvent
from kcore.driver.recorder import COMBINED_PREFIX, RecorderCache, record
from kcore.state import ClusterConfig

POD = ObjectKey(kind=Kind.POD, namespace="default", name="web")


def rec(message: str = "Back-off restarting failed container", reason: str = "BackOff") -> RecordEvent:
    return RecordEvent(involved=POD, type=EventType.WARNING, reason=reason, message=message)


def test_a_repeat_updates_the_same_event_with_count_and_last_timestamp() -> None:
    cache, first = record(RecorderCache(), "kubelet/node-1", rec(), EPOCH, 0)
    cache, again = record(cache, "kubelet/node-1", rec(), Time(EPOCH + 30), 1)
    assert isinstance(first, Create) and isinstance(again, Update)
    a, b = first.obj, again.obj
    assert isinstance(a, Event) and isinstance(b, Event)
    assert b.metadata.name == a.metadata.name == f"web.{int(EPOCH * 1e9):x}"
    assert (b.count, b.first_timestamp, b.last_timestamp) == (2, EPOCH, EPOCH + 30)


def test_different_sources_or_messages_are_different_events() -> None:
    cache, a = record(RecorderCache(), "kubelet/node-1", rec(), EPOCH, 0)
    cache, b = record(cache, "kubelet/node-2", rec(), EPOCH, 1)
    cache, c = record(cache, "kubelet/node-1", rec("other"), EPOCH, 2)
    assert all(isinstance(r, Create) for r in (a, b, c))


def test_ten_similar_events_in_ten_minutes_are_combined() -> None:
    cache = RecorderCache()
    reqs = []
    for i in range(12):
        cache, r = record(cache, "scheduler", rec(f"msg {i}", "FailedScheduling"), Time(EPOCH + i), i)
        reqs.append(r)
    assert all(isinstance(r, Create) for r in reqs[:10])
    combined = [r.obj for r in reqs[9:]]
    assert all(isinstance(o, Event) and o.message.startswith(COMBINED_PREFIX) for o in combined)
    assert isinstance(reqs[10], Update) and isinstance(reqs[11], Update)
    last = reqs[11].obj
    assert isinstance(last, Event) and last.count == 3 and last.message == COMBINED_PREFIX + "msg 11"


def test_similar_events_spread_over_more_than_ten_minutes_stay_separate() -> None:
    cache = RecorderCache()
    for i in range(12):
        cache, r = record(cache, "scheduler", rec(f"msg {i}", "FailedScheduling"), Time(EPOCH + 120 * i), i)
        assert isinstance(r, Create)
        assert isinstance(r.obj, Event) and not r.obj.message.startswith(COMBINED_PREFIX)


def test_the_driver_stores_one_event_with_a_count() -> None:
    cluster = create_cluster(ClusterConfig(seed=1), nodes=0)
    for _ in range(3):
        cluster._record("kubelet/node-1", rec())
    listed = cluster.request(ListObjects(kind=Kind.EVENT, namespace="default"))
    body = listed.body
    assert isinstance(body, ObjectList)
    assert [(e.count, e.reason) for e in body.items if isinstance(e, Event)] == [(3, "BackOff")]
