"""Per-key exponential back-off, as the kubelet uses it for restarts and image pulls.

Owns `Backoff` (a value: key -> `BackoffEntry(delay, last_update)`) and the three
questions upstream's `flowcontrol.Backoff` answers:
- `next_backoff(b, key, at)`: a failure happened at `at`: the delay starts at `initial`,
  doubles up to `maximum`, and starts over once `reset_after` seconds passed since the
  previous failure (upstream: `2 * maxDuration`, i.e. 10 minutes for restarts).
- `in_backoff_since(b, key, event_time, now)`: is a restart still held back?
  (`now - event_time < delay`, the entry not expired): the CrashLoopBackOff check.
- `in_backoff_since_update(b, key, now)`: is a retry still held back, counted from the
  last failure (`now - last_update < delay`): the ImagePullBackOff check.

Rules: pure; time arrives as arguments. Must not know: pods, containers, the runtime.
Mirrors k8s.io/client-go/util/flowcontrol/backoff.go.
"""

from __future__ import annotations

import attrs
from pyrsistent import pmap
from pyrsistent.typing import PMap

from kcore.api.meta import Time


@attrs.frozen(kw_only=True)
class BackoffEntry:
    delay: float
    last_update: Time


@attrs.frozen(kw_only=True)
class Backoff:
    """Back-off state per key; the parameters are fixed for the table's life."""

    initial: float
    maximum: float
    reset_after: float
    entries: PMap[str, BackoffEntry] = pmap()


def _expired(b: Backoff, entry: BackoffEntry, at: Time) -> bool:
    return at - entry.last_update > b.reset_after


def next_backoff(b: Backoff, key: str, at: Time) -> Backoff:
    """`b` after a failure of `key` at `at` (flowcontrol.Backoff.Next)."""
    entry = b.entries.get(key)
    if entry is None or _expired(b, entry, at):
        delay = b.initial
    else:
        delay = min(entry.delay * 2, b.maximum)
    return attrs.evolve(b, entries=b.entries.set(key, BackoffEntry(delay=delay, last_update=at)))


def delay_of(b: Backoff, key: str) -> float:
    """The current delay of `key` (0 when it never failed): what messages print."""
    entry = b.entries.get(key)
    return 0.0 if entry is None else entry.delay


def in_backoff_since(b: Backoff, key: str, event_time: Time, now: Time) -> bool:
    """Whether `key` must still wait at `now`, counting from `event_time`."""
    entry = b.entries.get(key)
    if entry is None or _expired(b, entry, now):
        return False
    return now - event_time < entry.delay


def in_backoff_since_update(b: Backoff, key: str, now: Time) -> bool:
    """Whether `key` must still wait at `now`, counting from its last failure."""
    entry = b.entries.get(key)
    if entry is None or _expired(b, entry, now):
        return False
    return now - entry.last_update < entry.delay


def forget(b: Backoff, key: str) -> Backoff:
    """`b` without `key` (a success, or the thing is gone)."""
    return attrs.evolve(b, entries=b.entries.discard(key))


def format_delay(seconds: float) -> str:
    """A delay as Go's time.Duration prints whole seconds and minutes: 10s, 2m40s, 5m0s."""
    total = int(seconds)
    if total < 60:
        return f"{total}s"
    minutes, secs = divmod(total, 60)
    return f"{minutes}m{secs}s"
