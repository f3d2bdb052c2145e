"""The event recorder: dedup of identical events and aggregation of similar ones."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kcore.api.core import Event
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import Time
from kcore.component.effects import EventType, RecordEvent
from kcore.component.requests import Create, ListObjects, ObjectList, Update
from kcore.driver.bootstrap import create_cluster
from kcore.driver.clock import EPOCH
from kcore.driver.recorder import (
    CACHE_SIZE,
    COMBINED_PREFIX,
    MAX_SIMILAR,
    SIMILAR_WINDOW,
    RecorderCache,
    record,
)
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
    reqs: list[Create | Update] = []
    for i in range(12):
        cache, r = record(cache, "scheduler", rec(f"msg {i}", "FailedScheduling"), Time(EPOCH + i), i)
        assert isinstance(r, Create | Update)
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


# --- the aggregation window's fast path -------------------------------------------------------
#
# `record` filters an aggregate key's messages only when the oldest may have left the
# window; `_reference_record` is the rule as written (filter on every record), and every
# sequence of records must get the same requests from both.

_ReferenceCache = tuple[dict[tuple[str, ...], tuple[str, str, int, float]], dict[tuple[str, ...], dict[str, float]]]


def _reference_record(
    cache: _ReferenceCache, source: str, r: RecordEvent, now: float, n: int
) -> tuple[_ReferenceCache, tuple[str, str, str, int, float]]:
    """(cache, (verb, name, message, count, first timestamp)) as the rule states it."""
    seen, similar = cache
    inv = r.involved
    agg = (source, inv.kind.value, inv.namespace, inv.name, r.type.value, r.reason, "")
    recent = {m: t for m, t in similar.get(agg, {}).items() if now - t <= SIMILAR_WINDOW}
    recent[r.message] = now
    message, key = r.message, (*agg[:6], r.message)
    if len(recent) >= MAX_SIMILAR:
        message, key = COMBINED_PREFIX + r.message, agg
    if len(seen) >= CACHE_SIZE or len(similar) >= CACHE_SIZE:
        seen, similar = {}, {}
    similar = {**similar, agg: recent}
    prev = seen.get(key)
    if prev is None:
        entry = (f"{inv.name}.{int(now * 1e9) + n:x}", inv.namespace or "default", 1, now)
    else:
        entry = (prev[0], prev[1], prev[2] + 1, prev[3])
    return ({**seen, key: entry}, similar), (
        "create" if prev is None else "update",
        entry[0],
        message,
        entry[2],
        entry[3],
    )


_steps = st.lists(
    st.tuples(
        st.sampled_from(("kubelet/node-1", "scheduler")),
        st.sampled_from(("web", "db")),
        st.sampled_from(("BackOff", "Pulled")),
        st.integers(min_value=0, max_value=13),  # message number: up to 14 similar ones
        st.sampled_from((0.0, 1.0, 30.0, 599.0, 601.0)),  # seconds since the last record
    ),
    max_size=80,
)


def _windowed_runs() -> st.SearchStrategy[list[tuple[str, str, str, int, float]]]:
    """Mostly runs of one aggregate key with distinct messages (so the window decides
    what is combined), mixed with random records."""
    run = st.integers(min_value=5, max_value=14).flatmap(
        lambda k: st.tuples(
            st.sampled_from((0.0, 1.0, 599.0, 601.0)),
            st.sampled_from(("kubelet/node-1", "scheduler")),
        ).map(lambda g: [(g[1], "web", "BackOff", i, g[0] if i == 0 else 1.0) for i in range(k)])
    )
    return st.lists(run | _steps, max_size=6).map(lambda runs: [s for r in runs for s in r])


@given(_windowed_runs())
def test_the_windowed_aggregation_answers_as_filtering_every_record(
    steps: list[tuple[str, str, str, int, float]],
) -> None:
    cache = RecorderCache()
    ref: _ReferenceCache = ({}, {})
    now = EPOCH
    for n, (source, pod, reason, msg, gap) in enumerate(steps):
        now = Time(now + gap)
        r = RecordEvent(
            involved=ObjectKey(kind=Kind.POD, namespace="default", name=pod),
            type=EventType.NORMAL,
            reason=reason,
            message=f"msg {msg}",
        )
        cache, req = record(cache, source, r, now, n)
        ref, want = _reference_record(ref, source, r, now, n)
        assert isinstance(req, Create | Update)
        ev = req.obj
        assert isinstance(ev, Event)
        got = ("create" if isinstance(req, Create) else "update", ev.metadata.name, ev.message, ev.count, ev.first_timestamp)
        assert got == want
        assert ev.last_timestamp == now


def test_a_message_seen_again_after_the_window_counts_once_more_as_recent() -> None:
    cache = RecorderCache()
    for i in range(9):
        cache, _ = record(cache, "scheduler", rec(f"msg {i}", "FailedScheduling"), EPOCH, i)
    # 700 s later every earlier message has left the window: the tenth is not combined.
    cache, late = record(cache, "scheduler", rec("msg 9", "FailedScheduling"), Time(EPOCH + 700), 9)
    assert isinstance(late, Create) and isinstance(late.obj, Event)
    assert late.obj.message == "msg 9"
