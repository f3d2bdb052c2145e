"""A controller's work queue as a value: the resync pending per key, and the failures in
a row that space a key's retries.

Owns `WorkQueue` (the keys of one kind, as upstream's queue holds the namespace/name keys
of its controller's kind), `RateLimiter` (ItemExponentialFailureRateLimiter's delays, with
`DEFAULT_RATE_LIMITER`), `Wake`, `Requeue`, and the functions `add_after`,
`add_rate_limited`, `add_rate_limited_up_to`, `rate_limited`, `forget`, `num_requeues`,
`in_backoff`, `fired`, `covers`, `retry_in_motion`, `resync_after_answer` and `drop`; and,
for a controller whose state record keeps its queue in a field `queue` (`Queued`), `wake`
and `requeue`, the same `add_after` / `add_rate_limited` returning the state.

Rules:
- A timer's key is the `ObjectKey` it resyncs: `WakeMeAt(at, key=owner)` comes back as
  `TimerFired(key=owner)`, and `fired` tells the queue's timers from a component's others
  by the key's kind. A fired timer always names its key, pending or not.
- `add_after` asks for one wake per key: a pending wake covers a new one when it is due no
  later and is in motion itself or the new one is not. Settling reads `in_motion`: a wait
  that is part of the work (minReadySeconds, the first retry after a failure) is in motion;
  periodic work, deadlines, safety nets and a repeated failure are merely scheduled, and a
  merely scheduled wake never swallows one in motion (`kcore.driver.settling`).
- `add_rate_limited`: after the n-th failure in a row of a key the limiter waits
  `when(n)`, in motion for n = 1 only (`retry_in_motion`); `forget` starts the count
  afresh. Each `RateLimiter` counts a key's failures on its own: a controller that retries
  failed status writes at a fixed second keeps that count apart from its sync backoff.
- `add_rate_limited_up_to`: a controller's handleErr: requeued rate-limited while the key
  has failed fewer than `max_retries` times in a row, else forgotten (dropped, no wake).
- `in_backoff`: the key's last rate-limited requeue is not yet due (controllers that hold
  back their writes until then).
- `resync_after_answer`: a component with one timer that looks again after every answer
  (garbage collector, namespaces) keeps that timer by the same cover rule, in motion after
  a success or a first failure, merely scheduled after the same write failed again.

Differences from upstream (docs/semantics.md, "Work queues"): a key is synced at once on
every event, its requeue only adds a later sync; the count a limiter keeps is per limiter.

Pure. Mirrors client-go util/workqueue: delaying_queue.go (AddAfter keeps the earliest
time per item), rate_limiting_queue.go (AddRateLimited, Forget, NumRequeues) and
default_rate_limiters.go (ItemExponentialFailureRateLimiter(5 ms, 1000 s)).
"""

from __future__ import annotations

from typing import Final, Protocol, TypeVar

import attrs
from pyrsistent import pmap
from pyrsistent.typing import PMap

from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import Time
from kcore.component.effects import Tag, WakeMeAt
from kcore.component.events import TimerFired

_MAX_EXPONENT: Final = 40


@attrs.frozen(kw_only=True, cache_hash=True)
class RateLimiter:
    """ItemExponentialFailureRateLimiter(base_delay, max_delay): after the n-th failure in
    a row a key waits base_delay * 2^(n-1), at most max_delay (a base equal to its max
    waits the same every time)."""

    base_delay: float
    max_delay: float

    def when(self, failures: int) -> float:
        """The wait after the `failures`-th failure in a row (0 for none)."""
        if failures <= 0:
            return 0.0
        return min(self.base_delay * float(2 ** min(failures - 1, _MAX_EXPONENT)), self.max_delay)


DEFAULT_RATE_LIMITER: Final = RateLimiter(base_delay=0.005, max_delay=1000.0)
"""DefaultControllerRateLimiter's per-item part: 5 ms doubling to 1000 s."""


@attrs.frozen(kw_only=True)
class Wake:
    """The wake last asked for one key and still pending: when, and whether in motion."""

    at: Time
    in_motion: bool = False


@attrs.frozen(kw_only=True)
class Requeue:
    """A key's failures in a row under one limiter, and when its last requeue is due."""

    failures: int
    at: Time


@attrs.frozen(kw_only=True)
class WorkQueue:
    """The keys of `kind` with a wake pending (`waiting`) and their failures in a row per
    rate limiter (`requeues`)."""

    kind: Kind
    waiting: PMap[ObjectKey, Wake] = pmap()
    requeues: PMap[tuple[RateLimiter, ObjectKey], Requeue] = pmap()


def retry_in_motion(failures: int) -> bool:
    """Whether the retry after the `failures`-th failure in a row is work in motion: the
    first is (a conflict, a refused write clears by itself); a later one repeats a state."""
    return failures <= 1


def covers(pending: Wake | None, at: Time, in_motion: bool) -> bool:
    """Whether `pending` makes a new wake at `at` needless: due no later, and in motion
    itself or the new one is not."""
    return pending is not None and pending.at <= at and (pending.in_motion or not in_motion)


def add_after(
    q: WorkQueue, key: ObjectKey, at: Time, *, in_motion: bool = False
) -> tuple[WorkQueue, tuple[WakeMeAt, ...]]:
    """AddAfter: a resync of `key` at `at` unless a pending wake covers it; the queue and
    the timer to ask for (none when covered)."""
    if covers(q.waiting.get(key), at, in_motion):
        return q, ()
    q = attrs.evolve(q, waiting=q.waiting.set(key, Wake(at=at, in_motion=in_motion)))
    return q, (WakeMeAt(at=at, key=key, in_motion=in_motion),)


def rate_limited(
    q: WorkQueue, key: ObjectKey, now: Time, limiter: RateLimiter = DEFAULT_RATE_LIMITER
) -> tuple[WorkQueue, Requeue]:
    """One more failure of `key` under `limiter` (its When): the queue and the requeue it
    asks for, without the timer (`add_rate_limited` asks for it too)."""
    prior = q.requeues.get((limiter, key))
    failures = 1 if prior is None else prior.failures + 1
    requeue = Requeue(failures=failures, at=Time(now + limiter.when(failures)))
    return attrs.evolve(q, requeues=q.requeues.set((limiter, key), requeue)), requeue


def add_rate_limited(
    q: WorkQueue, key: ObjectKey, now: Time, limiter: RateLimiter = DEFAULT_RATE_LIMITER
) -> tuple[WorkQueue, tuple[WakeMeAt, ...]]:
    """AddRateLimited: `key` failed again; resync it after the limiter's wait, in motion
    the first time in a row."""
    q, requeue = rate_limited(q, key, now, limiter)
    return add_after(q, key, requeue.at, in_motion=retry_in_motion(requeue.failures))


def add_rate_limited_up_to(
    q: WorkQueue, key: ObjectKey, now: Time, *, max_retries: int, limiter: RateLimiter = DEFAULT_RATE_LIMITER
) -> tuple[WorkQueue, tuple[WakeMeAt, ...]]:
    """handleErr: `add_rate_limited` while `key` has failed fewer than `max_retries` times
    in a row under `limiter`, else `forget` it (no wake: the key waits for its next event)."""
    if num_requeues(q, key, limiter) < max_retries:
        return add_rate_limited(q, key, now, limiter)
    return forget(q, key, limiter), ()


def forget(q: WorkQueue, key: ObjectKey, limiter: RateLimiter = DEFAULT_RATE_LIMITER) -> WorkQueue:
    """Forget: `key` is done failing under `limiter`; its next failure waits the least."""
    if not q.requeues or (limiter, key) not in q.requeues:
        return q
    return attrs.evolve(q, requeues=q.requeues.discard((limiter, key)))


def num_requeues(q: WorkQueue, key: ObjectKey, limiter: RateLimiter = DEFAULT_RATE_LIMITER) -> int:
    """NumRequeues: the failures in a row of `key` under `limiter`."""
    requeue = q.requeues.get((limiter, key))
    return 0 if requeue is None else requeue.failures


def in_backoff(q: WorkQueue, key: ObjectKey, now: Time, limiter: RateLimiter = DEFAULT_RATE_LIMITER) -> bool:
    """Whether `key`'s last requeue under `limiter` is still ahead of `now`."""
    requeue = q.requeues.get((limiter, key))
    return requeue is not None and now < requeue.at


def fired(q: WorkQueue, ev: TimerFired) -> tuple[WorkQueue, ObjectKey | None]:
    """A timer fired: the key it resyncs if it is one of this queue's (its pending wake
    forgotten when due), else None (another timer of the component)."""
    key = ev.key
    if not isinstance(key, ObjectKey) or key.kind is not q.kind:
        return q, None
    pending = q.waiting.get(key)
    if pending is not None and pending.at <= ev.now:
        q = attrs.evolve(q, waiting=q.waiting.discard(key))
    return q, key


def resync_after_answer(
    failures: PMap[ObjectKey, int], key: ObjectKey, ok: bool, pending: Wake | None, at: Time, timer: Tag
) -> tuple[PMap[ObjectKey, int], Wake | None, tuple[WakeMeAt, ...]]:
    """A write for `key` was answered, and the component looks again at `at` (its one timer
    `timer`, pending as `pending`): the failures in a row after it, the wake pending, and
    the timer to ask for (none when `pending` covers it)."""
    if ok:
        failures, in_motion = failures.discard(key), True
    else:
        count = failures.get(key, 0) + 1
        failures, in_motion = failures.set(key, count), retry_in_motion(count)
    if covers(pending, at, in_motion):
        return failures, pending, ()
    return failures, Wake(at=at, in_motion=in_motion), (WakeMeAt(at=at, key=timer, in_motion=in_motion),)


def drop(q: WorkQueue, key: ObjectKey) -> WorkQueue:
    """`key`'s object is gone: no wake pending for it, no failures counted under any
    limiter (a timer already asked for still fires, and finds nothing to sync)."""
    requeues: PMap[tuple[RateLimiter, ObjectKey], Requeue] = pmap(
        {k: r for k, r in q.requeues.items() if k[1] != key}
    )
    if key not in q.waiting and len(requeues) == len(q.requeues):
        return q
    return attrs.evolve(q, waiting=q.waiting.discard(key), requeues=requeues)


# --- a component state's queue --------------------------------------------------------------


class Queued(Protocol):
    """A component's state record (an attrs class) that keeps its work queue in `queue`."""

    @property
    def queue(self) -> WorkQueue: ...


S = TypeVar("S", bound=Queued)


def wake(s: S, key: ObjectKey, at: Time, *, in_motion: bool = False) -> tuple[S, tuple[WakeMeAt, ...]]:
    """`add_after` on the queue of state `s`: the state (unchanged when a pending wake
    covers this one) and the timer to ask for."""
    queue, wakes = add_after(s.queue, key, at, in_motion=in_motion)
    if not wakes:
        return s, ()
    return attrs.evolve(s, queue=queue), wakes  # type: ignore[misc]  # S is an attrs record (Queued)


def requeue(
    s: S, key: ObjectKey, now: Time, limiter: RateLimiter = DEFAULT_RATE_LIMITER
) -> tuple[S, tuple[WakeMeAt, ...]]:
    """`add_rate_limited` on the queue of state `s`: another failure of `key` in a row."""
    queue, wakes = add_rate_limited(s.queue, key, now, limiter)
    return attrs.evolve(s, queue=queue), wakes  # type: ignore[misc]  # S is an attrs record (Queued)
