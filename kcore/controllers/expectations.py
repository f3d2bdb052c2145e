"""Controller expectations: the creates and deletes a controller has in flight, as data.

Owns `Expectations` (per owner: how many creations it still waits to observe, which pod
keys it waits to see deleted, and since when), the pure functions that raise and lower
them, and `RequestsOut` (per owner, the requests a controller has sent and not yet seen
answered). A controller that acted on its informer view must not act again on the same
owner until the watch shows what it did, or the stale view would make it create or
delete twice; `satisfied` says when it may act.

Rules:
- `expect` (and `expect_creations` / `expect_deletions`) replace the owner's record
  (upstream's SetExpectations): a controller only raises expectations when the old ones
  are satisfied.
- Creations are counted (any observed pod controlled by the owner lowers the count);
  deletions are tracked by pod key, so a pod seen deleted twice (terminating, then gone)
  lowers them once (upstream's UIDTrackingControllerExpectations).
- A record older than `EXPECTATIONS_TIMEOUT` simulated seconds counts as satisfied, so a
  lost watch event cannot wedge an owner forever. Time is `now` from the caller.
- A relist shows every answered write, and the watch events that would have lowered the
  other owners' records were never sent: only owners with requests still out keep their
  records (`keep_only(exp, requests_out)`).

Must not know: pods, the apiserver, the driver. Usable by any controller that creates or
deletes dependents (ReplicaSet, Job, DaemonSet, ...).

Mirrors pkg/controller/controller_utils.go (ControllerExpectations,
UIDTrackingControllerExpectations, ExpectationsTimeout).
"""

from __future__ import annotations

from collections.abc import Container, Hashable, Iterable
from typing import Final, TypeVar

import attrs
from pyrsistent import pmap, pset
from pyrsistent.typing import PMap, PSet

from kcore.api.kinds import ObjectKey
from kcore.api.meta import Time

EXPECTATIONS_TIMEOUT: Final = 5 * 60.0
"""Seconds after which unfulfilled expectations no longer block a sync (upstream: 5 min)."""


@attrs.frozen(kw_only=True)
class Expectation:
    """What one owner waits to observe: `add` more creations and the deletion of `deletes`."""

    add: int = 0
    deletes: PSet[ObjectKey] = pset()
    since: Time

    def fulfilled(self) -> bool:
        return self.add <= 0 and not self.deletes


@attrs.frozen(kw_only=True)
class Expectations:
    """Every owner's `Expectation`, keyed by the owner's key."""

    by_owner: PMap[ObjectKey, Expectation] = pmap()


NO_EXPECTATIONS: Final = Expectations()


def satisfied(exp: Expectations, owner: ObjectKey, now: Time) -> bool:
    """SatisfiedExpectations: no record, every expectation observed, or the record expired."""
    rec = exp.by_owner.get(owner)
    if rec is None:
        return True
    return rec.fulfilled() or now - rec.since > EXPECTATIONS_TIMEOUT


def expect(
    exp: Expectations, owner: ObjectKey, *, add: int = 0, deletes: Iterable[ObjectKey] = (), now: Time
) -> Expectations:
    """SetExpectations: the owner waits to observe `add` new dependents and each of
    `deletes` deleted."""
    return Expectations(by_owner=exp.by_owner.set(owner, Expectation(add=add, deletes=pset(deletes), since=now)))


def expect_creations(exp: Expectations, owner: ObjectKey, count: int, now: Time) -> Expectations:
    """ExpectCreations: the owner waits to observe `count` new dependents."""
    return expect(exp, owner, add=count, now=now)


def expect_deletions(
    exp: Expectations, owner: ObjectKey, pods: Iterable[ObjectKey], now: Time
) -> Expectations:
    """ExpectDeletions: the owner waits to observe each of `pods` deleted."""
    return expect(exp, owner, deletes=pods, now=now)


def creation_observed(exp: Expectations, owner: ObjectKey, count: int = 1) -> Expectations:
    """CreationObserved (or a create that failed / was skipped): `count` fewer to wait for."""
    rec = exp.by_owner.get(owner)
    if rec is None or rec.add <= 0:
        return exp
    return Expectations(by_owner=exp.by_owner.set(owner, attrs.evolve(rec, add=max(0, rec.add - count))))


def deletion_observed(exp: Expectations, owner: ObjectKey, pod: ObjectKey) -> Expectations:
    """DeletionObserved: `pod` is gone (or terminating, or its delete failed); idempotent."""
    rec = exp.by_owner.get(owner)
    if rec is None or pod not in rec.deletes:
        return exp
    return Expectations(by_owner=exp.by_owner.set(owner, attrs.evolve(rec, deletes=rec.deletes.discard(pod))))


def deletion_observed_anywhere(exp: Expectations, pod: ObjectKey) -> Expectations:
    """`pod` is gone: lower every owner that waits for it, whoever controls it now (a pod
    released or re-adopted between the delete and its watch event still counts)."""
    waiting = [owner for owner, rec in exp.by_owner.items() if pod in rec.deletes]
    for owner in waiting:
        exp = deletion_observed(exp, owner, pod)
    return exp


def expires_at(exp: Expectations, owner: ObjectKey) -> float | None:
    """When the owner's record stops blocking syncs (None: no record)."""
    rec = exp.by_owner.get(owner)
    return None if rec is None else rec.since + EXPECTATIONS_TIMEOUT


def forget(exp: Expectations, owner: ObjectKey) -> Expectations:
    """DeleteExpectations: the owner is gone; drop its record."""
    if owner not in exp.by_owner:
        return exp
    return Expectations(by_owner=exp.by_owner.discard(owner))


def keep_only(exp: Expectations, owners: Container[ObjectKey]) -> Expectations:
    """The records of `owners` alone (a relist: the owners with requests still out)."""
    kept = pmap({k: v for k, v in exp.by_owner.items() if k in owners})
    return exp if len(kept) == len(exp.by_owner) else Expectations(by_owner=kept)


# --- requests out per owner -----------------------------------------------------------------

K = TypeVar("K", bound=Hashable)

RequestsOut = PMap[ObjectKey, int]
"""Per owner, the requests sent and not yet answered (owners with none are absent)."""


def requests_sent(out: PMap[K, int], owner: K, count: int = 1) -> PMap[K, int]:
    """`count` more requests of `owner` went out."""
    return out.set(owner, out.get(owner, 0) + count) if count else out


def request_answered(out: PMap[K, int], owner: K) -> PMap[K, int]:
    """One request of `owner` was answered."""
    left = out.get(owner, 0) - 1
    return out.set(owner, left) if left > 0 else out.discard(owner)
