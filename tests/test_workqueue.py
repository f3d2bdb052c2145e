"""The work queue as a value (`kcore.component.workqueue`): one wake per key with the
settling rule, rate-limited requeues, and timers that name their key."""

from __future__ import annotations

import attrs
import pytest
from pyrsistent import pmap

from kcore.api.kinds import Kind
from kcore.api.meta import Time
from kcore.component.effects import WakeMeAt
from kcore.component.events import TimerFired
from kcore.component.workqueue import (
    DEFAULT_RATE_LIMITER,
    RateLimiter,
    Requeue,
    Wake,
    WorkQueue,
    add_after,
    add_rate_limited,
    add_rate_limited_up_to,
    covers,
    drop,
    fired,
    forget,
    in_backoff,
    num_requeues,
    rate_limited,
    requeue,
    resync_after_answer,
    retry_in_motion,
    wake,
)
from tests.builders import key

RS_KEY = key(Kind.REPLICA_SET, "web")
FIXED = RateLimiter(base_delay=1.0, max_delay=1.0)
EMPTY = WorkQueue(kind=Kind.REPLICA_SET)


def test_the_default_rate_limiter_doubles_from_five_milliseconds_up_to_1000_seconds() -> None:
    assert [DEFAULT_RATE_LIMITER.when(n) for n in (0, 1, 2, 3)] == [0.0, 0.005, 0.01, 0.02]
    assert DEFAULT_RATE_LIMITER.when(60) == 1000.0
    assert [FIXED.when(n) for n in (1, 2, 30)] == [1.0, 1.0, 1.0]


@pytest.mark.parametrize(
    ("pending", "at", "in_motion", "covered"),
    [
        (None, 5.0, False, False),
        (Wake(at=Time(3.0), in_motion=False), 5.0, False, True),
        (Wake(at=Time(3.0), in_motion=False), 5.0, True, False),  # scheduled never swallows motion
        (Wake(at=Time(3.0), in_motion=True), 5.0, True, True),
        (Wake(at=Time(3.0), in_motion=True), 5.0, False, True),
        (Wake(at=Time(7.0), in_motion=True), 5.0, False, False),  # the new one is earlier
    ],
)
def test_a_pending_wake_covers_a_new_one_due_no_earlier_unless_only_the_new_one_is_in_motion(
    pending: Wake | None, at: float, in_motion: bool, covered: bool
) -> None:
    assert covers(pending, Time(at), in_motion) is covered


def test_add_after_asks_for_a_timer_keyed_by_the_owner_once_and_fired_forgets_it_when_due() -> None:
    q, wakes = add_after(EMPTY, RS_KEY, Time(5.0))
    assert wakes == (WakeMeAt(at=Time(5.0), key=RS_KEY),)
    assert add_after(q, RS_KEY, Time(6.0)) == (q, ())
    q2, wakes = add_after(q, RS_KEY, Time(6.0), in_motion=True)  # motion is never swallowed
    assert (q2.waiting, wakes) == (pmap({RS_KEY: Wake(at=Time(6.0), in_motion=True)}), (WakeMeAt(at=Time(6.0), key=RS_KEY, in_motion=True),))
    assert fired(q2, TimerFired(key=RS_KEY, now=Time(5.0))) == (q2, RS_KEY)  # the earlier one: still pending
    assert fired(q2, TimerFired(key=RS_KEY, now=Time(6.0))) == (EMPTY, RS_KEY)


def test_a_timer_of_another_kind_or_shape_is_not_the_queues() -> None:
    pod = key(Kind.POD, "web-1")
    assert fired(EMPTY, TimerFired(key=pod, now=Time(1.0))) == (EMPTY, None)
    assert fired(EMPTY, TimerFired(key="retry", now=Time(1.0))) == (EMPTY, None)


def test_rate_limited_requeues_back_off_in_motion_only_the_first_time_until_forgotten() -> None:
    q, first = add_rate_limited(EMPTY, RS_KEY, Time(10.0))
    assert first == (WakeMeAt(at=Time(10.005), key=RS_KEY, in_motion=True),)
    assert in_backoff(q, RS_KEY, Time(10.004)) and not in_backoff(q, RS_KEY, Time(10.005))
    q, _ = fired(q, TimerFired(key=RS_KEY, now=Time(10.005)))
    q, second = add_rate_limited(q, RS_KEY, Time(10.005))
    assert second == (WakeMeAt(at=Time(10.015), key=RS_KEY),)  # the same failure again: merely scheduled
    assert num_requeues(q, RS_KEY) == 2
    assert dict(q.requeues) == {(DEFAULT_RATE_LIMITER, RS_KEY): Requeue(failures=2, at=Time(10.015))}
    assert num_requeues(forget(q, RS_KEY), RS_KEY) == 0


def test_rate_limited_counts_a_failure_without_asking_for_a_wake_and_only_the_first_retry_is_in_motion() -> None:
    q, requeue = rate_limited(EMPTY, RS_KEY, Time(10.0), FIXED)
    assert (q.waiting, requeue) == (pmap(), Requeue(failures=1, at=Time(11.0)))
    q, requeue = rate_limited(q, RS_KEY, Time(11.0), FIXED)
    assert requeue == Requeue(failures=2, at=Time(12.0))
    assert [retry_in_motion(n) for n in (1, 2, 3)] == [True, False, False]


def test_each_rate_limiter_counts_a_keys_failures_on_its_own() -> None:
    q, _ = add_rate_limited(EMPTY, RS_KEY, Time(0.0), FIXED)
    q, wakes = add_rate_limited(q, RS_KEY, Time(0.0))
    assert wakes == (WakeMeAt(at=Time(0.005), key=RS_KEY, in_motion=True),)  # its own first failure
    assert (num_requeues(q, RS_KEY), num_requeues(q, RS_KEY, FIXED)) == (1, 1)
    assert num_requeues(forget(q, RS_KEY, FIXED), RS_KEY) == 1


def test_a_component_looking_again_after_every_answer_resyncs_in_motion_unless_the_same_write_failed_again() -> None:
    pod = key(Kind.POD, "a")
    failures, pending, wakes = resync_after_answer(pmap(), pod, False, None, Time(1.0), "retry")
    assert (failures, pending, wakes) == (
        pmap({pod: 1}),
        Wake(at=Time(1.0), in_motion=True),
        (WakeMeAt(at=Time(1.0), key="retry", in_motion=True),),
    )
    failures, pending, wakes = resync_after_answer(failures, pod, False, None, Time(2.0), "retry")
    assert (failures, pending, wakes) == (
        pmap({pod: 2}),
        Wake(at=Time(2.0)),
        (WakeMeAt(at=Time(2.0), key="retry"),),  # the same write failed again: merely scheduled
    )
    # a success while that one is pending: in motion, so the scheduled one does not cover it
    failures, pending, wakes = resync_after_answer(failures, pod, True, pending, Time(2.0), "retry")
    assert (failures, pending, wakes) == (pmap(), Wake(at=Time(2.0), in_motion=True), (WakeMeAt(at=Time(2.0), key="retry", in_motion=True),))
    assert resync_after_answer(failures, pod, True, pending, Time(3.0), "retry") == (pmap(), pending, ())


def test_drop_forgets_a_gone_keys_wake_and_every_failure_count() -> None:
    other = RateLimiter(base_delay=1.0, max_delay=1.0)
    q = WorkQueue(kind=Kind.REPLICA_SET)
    q, _ = add_rate_limited(q, RS_KEY, Time(0.0))
    q, _ = add_rate_limited(q, RS_KEY, Time(0.0), other)
    kept = key(Kind.REPLICA_SET, "db")
    q, _ = add_rate_limited(q, kept, Time(0.0))
    dropped = drop(q, RS_KEY)
    assert RS_KEY not in dropped.waiting and kept in dropped.waiting
    assert (num_requeues(dropped, RS_KEY), num_requeues(dropped, RS_KEY, other), num_requeues(dropped, kept)) == (0, 0, 1)
    assert drop(dropped, RS_KEY) is dropped


def test_add_rate_limited_up_to_requeues_within_the_budget_then_forgets_the_key() -> None:
    q, wakes = add_rate_limited_up_to(EMPTY, RS_KEY, Time(10.0), max_retries=2, limiter=FIXED)
    assert wakes == (WakeMeAt(at=Time(11.0), key=RS_KEY, in_motion=True),)
    q, _ = fired(q, TimerFired(key=RS_KEY, now=Time(11.0)))
    q, wakes = add_rate_limited_up_to(q, RS_KEY, Time(11.0), max_retries=2, limiter=FIXED)
    assert (wakes, num_requeues(q, RS_KEY, FIXED)) == ((WakeMeAt(at=Time(12.0), key=RS_KEY, in_motion=False),), 2)
    q, wakes = add_rate_limited_up_to(q, RS_KEY, Time(12.0), max_retries=2, limiter=FIXED)
    assert (wakes, num_requeues(q, RS_KEY, FIXED)) == ((), 0)


@attrs.frozen(kw_only=True)
class Owning:
    """A component state keeping its queue in `queue`, beside something else of its own."""

    queue: WorkQueue = EMPTY
    other: int = 7


def test_wake_and_requeue_work_on_a_states_queue_and_leave_the_rest() -> None:
    s, wakes = wake(Owning(), RS_KEY, Time(5.0), in_motion=True)
    assert (s.other, s.queue.waiting, wakes) == (
        7, pmap({RS_KEY: Wake(at=Time(5.0), in_motion=True)}), (WakeMeAt(at=Time(5.0), key=RS_KEY, in_motion=True),)
    )
    covered, none = wake(s, RS_KEY, Time(6.0))
    assert (covered, none) == (s, ())
    s, wakes = requeue(Owning(), RS_KEY, Time(1.0), FIXED)
    assert (num_requeues(s.queue, RS_KEY, FIXED), wakes) == (1, (WakeMeAt(at=Time(2.0), key=RS_KEY, in_motion=True),))
