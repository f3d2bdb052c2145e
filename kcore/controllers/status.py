"""One status write in flight per owner: the bookkeeping of a controller's updateXStatus.

Owns `StatusWrites` (per owner, the status write sent and not yet seen in the view),
`Sent`, `Outcome`, and the functions `write_status`, `status_pending`,
`status_answered` and `forget_status`; and, over a controller's state record that holds
the kit (`OwnerState`: `queue`, `expectations`, `requests_out`, `status_writes`), the
tail of a sync and its answer: `emit_status` (the status write, put into the object by
`replace_status` unless the caller converts, then the wake when a pod becomes available),
`status_write_answered` (LANDED / RESYNC / RETRY applied), and `forget_owner` (the owner
is gone).

Rules:
- A controller writes an owner's status (through the status subresource, conditioned on
  the resourceVersion of its view) only when the status it computed differs from the
  view's, and never while its previous write is unanswered, or answered but not yet in
  the view: writes never race each other, and the first sync after the view shows the
  last one writes whatever changed since.
- An answer: an object back -> LANDED (pending until the view reaches the revision it
  made); a conflict, or success without an object -> RESYNC (the view has, or soon gets,
  a newer version); any other failure -> RETRY (the controller's backoff). The write is
  no longer pending after RESYNC or RETRY. `status_write_answered` applies it: LANDED
  forgets the failures under the caller's limiter, RESYNC asks for a sync now, RETRY
  requeues the owner rate-limited under that limiter.
- `emit_status` sends the write tagged as the caller says (one request out for the owner)
  and then, when a pod becomes available at `available_at` (minReadySeconds), asks for a
  wake then, in motion: the pod becomes available by itself, and status must show it.

Must not know: any kind of owner (the caller puts the status into its object), the
controller's retry delays (the caller passes its limiter). Mirrors the updateReplicaSetStatus / storeDaemonSetStatus /
updateStatefulSetStatus / job updateStatusHandler calls of pkg/controller, which write
once per sync and return the error for a requeue.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar, assert_never, cast

import attrs
from pyrsistent import pmap
from pyrsistent.typing import PMap

from kcore.api.kinds import ObjectKey
from kcore.api.meta import ApiObject, Status, Time
from kcore.component.effects import CallApi, Effect, Tag, WakeMeAt
from kcore.component.requests import ObjectList, Response, Scale, Subresource, Update
from kcore.component.workqueue import RateLimiter, WorkQueue, add_after, add_rate_limited, forget
from kcore.controllers import expectations as exps
from kcore.controllers.expectations import Expectations, RequestsOut

St = TypeVar("St")
St_co = TypeVar("St_co", covariant=True)
O = TypeVar("O", bound=ApiObject)  # noqa: E741  # the owner's class


class Outcome(enum.Enum):
    """What a status write's answer asks of the controller."""

    LANDED = "landed"
    RESYNC = "resync"
    RETRY = "retry"


@attrs.frozen(kw_only=True)
class Sent(Generic[St_co]):
    """A status write sent: `written_rv` 0 until answered, then the revision it made."""

    status: St_co
    written_rv: int = 0


@attrs.frozen(kw_only=True)
class StatusWrites(Generic[St_co]):
    """Every owner's status write in flight."""

    pending: PMap[ObjectKey, Sent[St_co]] = pmap()


def status_pending(writes: StatusWrites[St], key: ObjectKey, obj: ApiObject) -> tuple[StatusWrites[St], bool]:
    """Whether `key`'s last write is still out (unanswered, or not yet in the view that
    holds `obj`); a write the view shows is dropped."""
    sent = writes.pending.get(key)
    if sent is None:
        return writes, False
    if sent.written_rv and obj.metadata.resource_version >= sent.written_rv:
        return StatusWrites(pending=writes.pending.discard(key)), False
    return writes, True


def write_status(
    writes: StatusWrites[St],
    key: ObjectKey,
    obj: O,
    status: St,
    *,
    current: St,
    with_status: Callable[[O, St], ApiObject],
) -> tuple[StatusWrites[St], Update | None]:
    """The status update of `obj` (the view's, with status `current`) to `status`: None
    when nothing changed or a write is still pending."""
    writes, busy = status_pending(writes, key, obj)
    if busy or status == current:
        return writes, None
    update = Update(obj=with_status(obj, status), subresource=Subresource.STATUS)
    return StatusWrites(pending=writes.pending.set(key, Sent(status=status))), update


def status_answered(writes: StatusWrites[St], key: ObjectKey, resp: Response) -> tuple[StatusWrites[St], Outcome]:
    """`key`'s status write was answered with `resp`."""
    sent = writes.pending.get(key)
    if resp.ok and sent is not None and not isinstance(resp.body, Status | ObjectList | Scale):
        written = attrs.evolve(sent, written_rv=resp.body.metadata.resource_version)
        return StatusWrites(pending=writes.pending.set(key, written)), Outcome.LANDED
    writes = forget_status(writes, key)
    if resp.ok or resp.code == 409:
        return writes, Outcome.RESYNC
    return writes, Outcome.RETRY


def forget_status(writes: StatusWrites[St], key: ObjectKey) -> StatusWrites[St]:
    """The owner is gone: nothing of it is pending any more."""
    if key not in writes.pending:
        return writes
    return StatusWrites(pending=writes.pending.discard(key))


# --- over a controller's state record -------------------------------------------------------


class OwnerState(Protocol):
    """A controller's state record (an attrs class) holding the kit under these names."""

    @property
    def queue(self) -> WorkQueue: ...

    @property
    def expectations(self) -> Expectations: ...

    @property
    def requests_out(self) -> RequestsOut: ...

    @property
    def status_writes(self) -> StatusWrites[object]: ...


S = TypeVar("S", bound=OwnerState)


def _evolve(s: S, **changes: object) -> S:
    return attrs.evolve(s, **changes)  # type: ignore[misc]  # S is an attrs record (OwnerState)


def replace_status(obj: ApiObject, status: object) -> ApiObject:
    """`obj` carrying `status` in its `status` field (a kind whose status is stored as
    computed; a ReplicationController seen as a ReplicaSet converts instead)."""
    return attrs.evolve(obj, status=status)  # type: ignore[misc]  # API objects are attrs records


def emit_status(
    s: S,
    key: ObjectKey,
    obj: O,
    status: St,
    *,
    current: St,
    tag: Tag,
    with_status: Callable[[O, St], ApiObject] = replace_status,
    available_at: Time | None = None,
) -> tuple[S, tuple[Effect, ...]]:
    """The tail of a sync of `key` (the view's `obj`, with status `current`): the status
    write to `status` when `write_status` sends one (tagged `tag`, one request out for
    `key`; `with_status` puts the status into the object), then a wake at `available_at`
    (in motion) unless a pending one covers it."""
    # the state record's `status_writes` holds statuses of the owner's kind, as `status` is
    pending = cast("StatusWrites[St]", s.status_writes)
    writes, update = write_status(pending, key, obj, status, current=current, with_status=with_status)
    changes: dict[str, object] = {}
    effects: list[Effect] = []
    if writes is not pending:
        changes["status_writes"] = writes
    if update is not None:
        effects.append(CallApi(request=update, tag=tag))
        changes["requests_out"] = exps.requests_sent(s.requests_out, key)
    if available_at is not None:
        queue, wakes = add_after(s.queue, key, available_at, in_motion=True)
        if wakes:
            changes["queue"] = queue
            effects.extend(wakes)
    return (_evolve(s, **changes) if changes else s), tuple(effects)


def status_write_answered(
    s: S, key: ObjectKey, resp: Response, now: Time, limiter: RateLimiter
) -> tuple[S, bool, tuple[WakeMeAt, ...]]:
    """`key`'s status write was answered with `resp`: the state after it, whether to sync
    `key` now (RESYNC), and the wake of its rate-limited requeue under `limiter` (RETRY;
    LANDED forgets its failures under `limiter`)."""
    writes, outcome = status_answered(s.status_writes, key, resp)
    match outcome:
        case Outcome.LANDED:
            return _evolve(s, status_writes=writes, queue=forget(s.queue, key, limiter)), False, ()
        case Outcome.RESYNC:
            return _evolve(s, status_writes=writes), True, ()
        case Outcome.RETRY:
            queue, wakes = add_rate_limited(s.queue, key, now, limiter)
            return _evolve(s, status_writes=writes, queue=queue), False, wakes
        case _:
            assert_never(outcome)


def forget_owner(s: S, key: ObjectKey, *limiters: RateLimiter) -> S:
    """The owner `key` is gone: nothing of it is expected or pending any more, and its
    failures under each of `limiters` are forgotten (a wake already asked for still
    fires, and finds nothing to sync)."""
    queue = s.queue
    for limiter in limiters:
        queue = forget(queue, key, limiter)
    return _evolve(
        s,
        expectations=exps.forget(s.expectations, key),
        status_writes=forget_status(s.status_writes, key),
        queue=queue,
    )
