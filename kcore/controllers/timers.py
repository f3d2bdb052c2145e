"""Per-owner resync timers: the `WakeMeAt` key naming one owner object, and back; and what
settling (`kcore.driver.settling`) reads of a controller's timer: whether it is work in motion.

Owns `owner_timer_key(prefix, owner)` and `owner_of_timer(prefix, kind, key)`, the one
encoding every controller uses for "resync this owner at t" (`<prefix><namespace>/<name>`),
so a controller never parses keys of its own making by hand; `Wake`, the resync a
controller has pending for one owner, with `wake(...)` (ask for one unless a pending one
covers it; `wake_once` for a component's single timer) and `fired(...)` (forget it once
it is due); `retry_in_motion(failures)`; and `resync_after_answer(...)`, the bookkeeping of
a component that looks again after every answer (garbage collector, namespaces).

Rules for `WakeMeAt.in_motion`, as every controller marks it:
- in motion: a wait that is part of the work itself and ends by itself (minReadySeconds,
  a step waiting for something already happening), and the first retry after a failure;
- merely scheduled: periodic work, deadlines and safety nets, and a retry after the same
  failure happened again (a repeating state must let settling end, not run to its bound).
- A pending wake covers a new one only when it is due no later and it is in motion or the
  new one is not: a merely scheduled timer never swallows work in motion.

Pure; mirrors a workqueue's AddAfter of a namespace/name key (upstream has no settling).
"""

from __future__ import annotations

import attrs
from pyrsistent.typing import PMap

from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import Time
from kcore.component.effects import Effect, Tag, WakeMeAt


def owner_timer_key(prefix: str, owner: ObjectKey) -> str:
    """The timer key that resyncs `owner`."""
    return f"{prefix}{owner.namespace}/{owner.name}"


def owner_of_timer(prefix: str, kind: Kind, key: str) -> ObjectKey | None:
    """The owner of `kind` a timer key made by `owner_timer_key(prefix, ...)` names, or
    None for a key of another shape (another timer of the same component)."""
    if not key.startswith(prefix) or "/" not in key[len(prefix) :]:
        return None
    namespace, _, name = key[len(prefix) :].partition("/")
    return ObjectKey(kind=kind, namespace=namespace, name=name)


def retry_in_motion(failures: int) -> bool:
    """Whether the retry after the `failures`-th failure in a row is work in motion: the
    first is (a conflict, a refused write clears by itself); a later one repeats a state."""
    return failures <= 1


@attrs.frozen(kw_only=True)
class Wake:
    """The resync timer last asked for one owner, still pending: when, and whether in motion."""

    at: Time
    in_motion: bool = False


def covers(pending: Wake | None, at: Time, in_motion: bool) -> bool:
    """Whether `pending` makes a new wake at `at` needless: due no later, and in motion
    itself or the new one is not."""
    return pending is not None and pending.at <= at and (pending.in_motion or not in_motion)


def wake_once(pending: Wake | None, at: Time, in_motion: bool, key: Tag) -> tuple[Wake | None, WakeMeAt | None]:
    """Ask for timer `key` at `at` unless `pending` (the one last asked for) covers it: the
    wake now pending and the effect (None when covered)."""
    if covers(pending, at, in_motion):
        return pending, None
    return Wake(at=at, in_motion=in_motion), WakeMeAt(at=at, key=key, in_motion=in_motion)


def wake(
    wakeups: PMap[ObjectKey, Wake], owner: ObjectKey, at: Time, in_motion: bool, key: str, effects: list[Effect]
) -> PMap[ObjectKey, Wake]:
    """Ask for a resync of `owner` at `at` (timer `key`, appended to `effects`) unless a
    pending one covers it: the wakes pending after (`wakeups` itself when covered)."""
    pending, effect = wake_once(wakeups.get(owner), at, in_motion, key)
    if effect is None or pending is None:
        return wakeups
    effects.append(effect)
    return wakeups.set(owner, pending)


def resync_after_answer(
    failures: PMap[ObjectKey, int], key: ObjectKey, ok: bool, pending: Wake | None, at: Time, timer: Tag
) -> tuple[PMap[ObjectKey, int], Wake | None, tuple[WakeMeAt, ...]]:
    """A component that looks again at `at` (its one timer `timer`) after every answer: a
    write for `key` was answered. The failures in a row after it, the wake pending, and
    the timer to ask for: in motion after a success or a first failure, not after the
    same write failed again."""
    if ok:
        failures, moving = failures.discard(key), True
    else:
        count = failures.get(key, 0) + 1
        failures, moving = failures.set(key, count), retry_in_motion(count)
    pending, effect = wake_once(pending, at, moving, timer)
    return failures, pending, ((effect,) if effect is not None else ())


def fired(wakeups: PMap[ObjectKey, Wake], owner: ObjectKey, now: Time) -> PMap[ObjectKey, Wake]:
    """`wakeups` after `owner`'s timer fired at `now`: its pending wake is gone if due."""
    pending = wakeups.get(owner)
    return wakeups.discard(owner) if pending is not None and pending.at <= now else wakeups
