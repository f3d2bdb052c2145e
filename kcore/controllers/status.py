"""One status write in flight per owner: the bookkeeping of a controller's updateXStatus.

Owns `StatusWrites` (per owner, the status write sent and not yet seen in the view),
`Sent`, `Outcome`, and the functions `write_status`, `status_pending`,
`status_answered` and `forget_status`.

Rules:
- A controller writes an owner's status (through the status subresource, conditioned on
  the resourceVersion of its view) only when the status it computed differs from the
  view's, and never while its previous write is unanswered, or answered but not yet in
  the view: writes never race each other, and the first sync after the view shows the
  last one writes whatever changed since.
- An answer: an object back -> LANDED (pending until the view reaches the revision it
  made); a conflict, or success without an object -> RESYNC (the view has, or soon gets,
  a newer version); any other failure -> RETRY (the controller's backoff). The write is
  no longer pending after RESYNC or RETRY.

Must not know: any kind of owner (the caller puts the status into its object), the
controller's backoff. Mirrors the updateReplicaSetStatus / storeDaemonSetStatus /
updateStatefulSetStatus / job updateStatusHandler calls of pkg/controller, which write
once per sync and return the error for a requeue.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Generic, TypeVar

import attrs
from pyrsistent import pmap
from pyrsistent.typing import PMap

from kcore.api.kinds import ObjectKey
from kcore.api.meta import ApiObject, Status
from kcore.component.requests import ObjectList, Response, Scale, Subresource, Update

St = TypeVar("St")
O = TypeVar("O", bound=ApiObject)  # noqa: E741  # the owner's class


class Outcome(enum.Enum):
    """What a status write's answer asks of the controller."""

    LANDED = "landed"
    RESYNC = "resync"
    RETRY = "retry"


@attrs.frozen(kw_only=True)
class Sent(Generic[St]):
    """A status write sent: `written_rv` 0 until answered, then the revision it made."""

    status: St
    written_rv: int = 0


@attrs.frozen(kw_only=True)
class StatusWrites(Generic[St]):
    """Every owner's status write in flight."""

    pending: PMap[ObjectKey, Sent[St]] = pmap()


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
