"""The event recorder: dedup of identical events and aggregation of similar ones."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kcore.api.core import Event, EventSource
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import Time
from kcore.component.effects import EventType, RecordEvent
from kcore.component.requests import Create, ListObjects, ObjectList, Update
from kcore.driver import new_cluster
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
from kcore.kubelet.component import Kubelet
from kcore.kubelet.config import KubeletConfig
from kcore.state import ClusterConfig
from tests.builders import a_pod

POD = ObjectKey(kind=Kind.POD, namespace="default", name="web")
KUBELET_1 = EventSource(component="kubelet", host="node-1")
KUBELET_2 = EventSource(component="kubelet", host="node-2")
SCHEDULER = EventSource(component="default-scheduler")


def rec(message: str = "Back-off restarting failed container", reason: str = "BackOff") -> RecordEvent:
    return RecordEvent(involved=POD, type=EventType.WARNING, reason=reason, message=message)


def test_a_repeat_updates_the_same_event_with_count_and_last_timestamp() -> None:
    cache, first = record(RecorderCache(), KUBELET_1, rec(), EPOCH, 0)
    cache, again = record(cache, KUBELET_1, rec(), Time(EPOCH + 30), 1)
    assert isinstance(first, Create) and isinstance(again, Update)
    a, b = first.obj, again.obj
    assert isinstance(a, Event) and isinstance(b, Event)
    assert b.metadata.name == a.metadata.name == f"web.{int(EPOCH * 1e9):x}"
    assert (b.count, b.first_timestamp, b.last_timestamp) == (2, EPOCH, EPOCH + 30)


def test_different_sources_or_messages_are_different_events() -> None:
    cache, a = record(RecorderCache(), KUBELET_1, rec(), EPOCH, 0)
    cache, b = record(cache, KUBELET_2, rec(), EPOCH, 1)  # the same component on another host
    cache, c = record(cache, KUBELET_1, rec("other"), EPOCH, 2)
    cache, d = record(cache, SCHEDULER, rec(), EPOCH, 3)
    assert all(isinstance(r, Create) for r in (a, b, c, d))


def test_the_event_carries_its_source_and_reports_it_as_client_go_does() -> None:
    _, req = record(RecorderCache(), KUBELET_1, rec(), EPOCH, 0)
    assert isinstance(req, Create) and isinstance(req.obj, Event)
    ev = req.obj
    assert (ev.source, ev.reporting_component, ev.reporting_instance) == (KUBELET_1, "kubelet", "node-1")


def test_ten_similar_events_in_ten_minutes_are_combined() -> None:
    cache = RecorderCache()
    reqs: list[Create | Update] = []
    for i in range(12):
        cache, r = record(cache, SCHEDULER, rec(f"msg {i}", "FailedScheduling"), Time(EPOCH + i), i)
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
        cache, r = record(cache, SCHEDULER, rec(f"msg {i}", "FailedScheduling"), Time(EPOCH + 120 * i), i)
        assert isinstance(r, Create)
        assert isinstance(r.obj, Event) and not r.obj.message.startswith(COMBINED_PREFIX)


def test_the_driver_stores_one_event_with_a_count_signed_by_the_component() -> None:
    kubelet = Kubelet(config=KubeletConfig(node_name="node-1"))
    cluster = create_cluster(ClusterConfig(seed=1), nodes=0, components=(kubelet,))
    for _ in range(3):
        cluster._record(kubelet.name, rec())
    listed = cluster.request(ListObjects(kind=Kind.EVENT, namespace="default"))
    body = listed.body
    assert isinstance(body, ObjectList)
    assert [(e.count, e.reason, e.source) for e in body.items if isinstance(e, Event)] == [(3, "BackOff", KUBELET_1)]


def test_a_pods_events_come_from_default_scheduler_and_the_kubelet_on_its_node() -> None:
    cluster = new_cluster(ClusterConfig(seed=1), nodes=1)
    cluster.apply([a_pod("web")])
    cluster.settle()
    listed = cluster.request(ListObjects(kind=Kind.EVENT, namespace="default"))
    body = listed.body
    assert isinstance(body, ObjectList)
    signed = {
        (e.reason, e.source.component, e.source.host, e.reporting_component, e.reporting_instance)
        for e in body.items
        if isinstance(e, Event)
    }
    assert signed == {
        ("Scheduled", "default-scheduler", "", "default-scheduler", ""),
        *((r, "kubelet", "node-1", "kubelet", "node-1") for r in ("Pulling", "Pulled", "Created", "Started")),
    }


# --- the aggregation window's fast path -------------------------------------------------------
#
# `record` filters an aggregate key's messages only when the oldest may have left the
# window; `_reference_record` is the rule as written (filter on every record), and every
# sequence of records must get the same requests from both.

_ReferenceCache = tuple[dict[tuple[str, ...], tuple[str, str, int, float]], dict[tuple[str, ...], dict[str, float]]]


def _reference_record(
    cache: _ReferenceCache, source: EventSource, r: RecordEvent, now: float, n: int
) -> tuple[_ReferenceCache, tuple[str, str, str, int, float]]:
    """(cache, (verb, name, message, count, first timestamp)) as the rule states it."""
    seen, similar = cache
    inv = r.involved
    agg = (source.component, source.host, inv.kind.value, inv.namespace, inv.name, r.type.value, r.reason, "")
    recent = {m: t for m, t in similar.get(agg, {}).items() if now - t <= SIMILAR_WINDOW}
    recent[r.message] = now
    message, key = r.message, (*agg[:7], r.message)
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
        st.sampled_from((KUBELET_1, KUBELET_2, SCHEDULER)),
        st.sampled_from(("web", "db")),
        st.sampled_from(("BackOff", "Pulled")),
        st.integers(min_value=0, max_value=13),  # message number: up to 14 similar ones
        st.sampled_from((0.0, 1.0, 30.0, 599.0, 601.0)),  # seconds since the last record
    ),
    max_size=80,
)


def _windowed_runs() -> st.SearchStrategy[list[tuple[EventSource, str, str, int, float]]]:
    """Mostly runs of one aggregate key with distinct messages (so the window decides
    what is combined), mixed with random records."""
    run = st.integers(min_value=5, max_value=14).flatmap(
        lambda k: st.tuples(
            st.sampled_from((0.0, 1.0, 599.0, 601.0)),
            st.sampled_from((KUBELET_1, KUBELET_2, SCHEDULER)),
        ).map(lambda g: [(g[1], "web", "BackOff", i, g[0] if i == 0 else 1.0) for i in range(k)])
    )
    return st.lists(run | _steps, max_size=6).map(lambda runs: [s for r in runs for s in r])


@given(_windowed_runs())
def test_the_windowed_aggregation_answers_as_filtering_every_record(
    steps: list[tuple[EventSource, str, str, int, float]],
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
        cache, _ = record(cache, SCHEDULER, rec(f"msg {i}", "FailedScheduling"), EPOCH, i)
    # 700 s later every earlier message has left the window: the tenth is not combined.
    cache, late = record(cache, SCHEDULER, rec("msg 9", "FailedScheduling"), Time(EPOCH + 700), 9)
    assert isinstance(late, Create) and isinstance(late.obj, Event)
    assert late.obj.message == "msg 9"
