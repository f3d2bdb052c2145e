"""One reconcile of one StatefulSet, decided as data: which pods and claims to create,
update or delete now (upstream's updateStatefulSet).

Owns `plan(...) -> Operations`, the operation types it returns (`CreateClaim`, `CreatePod`,
`DeletePod`, `UpdatePod`, `UpdateClaim`), `ClaimSeen` (how the caller's view shows one
claim: missing, in flight, or stored) and `max_unavailable`.

Theory of operation, as upstream:
- The set's pods (claimed, with a valid ordinal) split into `replicas` (ordinals in
  [start, start + replicas)) and `condemned` (the rest, highest ordinal first).
- Each replica slot, in ordinal order (processReplica): a Failed/Succeeded pod is deleted
  (and recreated on a later sync); an empty slot gets its claims, then its pod, stamped at
  the current revision below the partition and at the update revision from it on; a
  Pending pod gets any claim that went missing; claims whose ownerReferences disagree
  with the retention policy are updated; a pod whose identity or storage drifted is
  updated. OrderedReady ("monotonic") stops at the first slot that is created, waiting,
  terminating, or not Running+Ready+available; Parallel goes through every slot.
- Condemned pods (processCondemned): their claims first get the refs the retention policy
  wants, then they are deleted, highest ordinal first; OrderedReady deletes one at a time,
  only when every other pod is healthy (or this one is the first unhealthy), and waits for
  termination.
- RollingUpdate (not OnDelete): from the highest ordinal down to the partition, delete the
  first pod not at the update revision, waiting for each to come back available
  (maxUnavailable, when set, lets that many be unavailable at once).

Because kcore's writes are asynchronous, claims are created in one sync and the pod in a
later one (once the claims are stored or answered), where upstream does both in one call.

Must not know: component state, the driver, request tags, events.
Mirrors pkg/controller/statefulset/stateful_set_control.go (updateStatefulSet,
processReplica, processCondemned, runForAll, updateStatefulSetAfterInvariantEstablished)
and stateful_pod_control.go (CreateStatefulPod, createPersistentVolumeClaims,
UpdateStatefulPod).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence

import attrs

from kcore.api.apps import PodManagementPolicy, StatefulSet, StatefulSetUpdateStrategyType
from kcore.api.core import PersistentVolumeClaim
from kcore.api.meta import Time
from kcore.api.pod import Pod, PodPhase
from kcore.controllers.statefulset_util import (
    Revisions,
    claim_is_stale,
    claim_owners_up_to_date,
    claims_for,
    identity_matches,
    in_ordinal_range,
    is_finished,
    is_running_and_available,
    is_running_and_ready,
    is_terminating,
    is_unavailable,
    new_stateful_pod,
    ordinal_of,
    pod_name,
    pod_revision,
    start_ordinal,
    storage_matches,
    with_identity,
    with_retention_refs,
    with_storage,
)
from kcore.intstr import scaled_value


class Pending(enum.Enum):
    """A claim whose create or update is in flight: not known to exist yet."""

    IN_FLIGHT = "in flight"


ClaimSeen = PersistentVolumeClaim | Pending | None
"""How the caller sees one claim by name: stored, in flight, or missing (None)."""


@attrs.frozen(kw_only=True)
class CreateClaim:
    claim: PersistentVolumeClaim
    pod: str


@attrs.frozen(kw_only=True)
class UpdateClaim:
    claim: PersistentVolumeClaim
    pod: str


@attrs.frozen(kw_only=True)
class CreatePod:
    pod: Pod


@attrs.frozen(kw_only=True)
class UpdatePod:
    pod: Pod


@attrs.frozen(kw_only=True)
class DeletePod:
    pod: Pod
    for_update: bool = False


@attrs.frozen(kw_only=True)
class ClaimBlocked:
    """A claim of `pod` is being deleted: the pod cannot be created (upstream's error
    "pvc <claim> is being deleted")."""

    claim: str
    pod: str


Operation = CreateClaim | UpdateClaim | CreatePod | UpdatePod | DeletePod | ClaimBlocked


@attrs.frozen(kw_only=True)
class Operations:
    """What updateStatefulSet does in one sync: `ops` in order, and the pods deleted for
    update (upstream lowers status.currentReplicas by them)."""

    ops: tuple[Operation, ...]
    deleted_for_update: int = 0


Lookup = Callable[[str], ClaimSeen]


@attrs.frozen(kw_only=True)
class _Ctx:
    sts: StatefulSet
    revs: Revisions
    claims: Lookup
    monotonic: bool
    now: Time


def max_unavailable(sts: StatefulSet) -> int | None:
    """getStatefulSetMaxUnavailable (percent of replicas rounded up, at least 1); None when
    rollingUpdate.maxUnavailable is unset (the classic one-at-a-time path)."""
    ru = sts.spec.update_strategy.rolling_update
    if ru is None or ru.max_unavailable is None:
        return None
    try:
        value = scaled_value(ru.max_unavailable, sts.spec.replicas, True)
    except ValueError:
        return 1
    return max(value, 1)


def plan(sts: StatefulSet, pods: Sequence[Pod], revs: Revisions, claims: Lookup, now: Time) -> Operations:
    """updateStatefulSet for `sts` over its claimed `pods` (any order): the operations to
    perform now. A set being deleted gets none."""
    if sts.metadata.deletion_timestamp is not None:
        return Operations(ops=())
    start = start_ordinal(sts)
    slots: list[Pod | None] = [None] * sts.spec.replicas
    condemned: list[Pod] = []
    for pod in pods:
        ordinal = ordinal_of(pod)
        if in_ordinal_range(ordinal, sts):
            slots[ordinal - start] = pod
        elif ordinal >= 0:
            condemned.append(pod)
    condemned.sort(key=ordinal_of, reverse=True)
    ctx = _Ctx(
        sts=sts,
        revs=revs,
        claims=claims,
        monotonic=sts.spec.pod_management_policy is not PodManagementPolicy.PARALLEL,
        now=now,
    )
    ops: list[Operation] = []
    for i, slot in enumerate(slots):
        if _process_replica(ctx, start + i, slot, ops) and ctx.monotonic:
            return Operations(ops=tuple(ops))
    first_unhealthy = _first_unhealthy(ctx, slots, condemned)
    fixing = _fix_condemned_claims(ctx, condemned, ops)
    for pod in condemned:
        if fixing:
            break  # the claims' new owners land before their pods go
        if _process_condemned(ctx, pod, first_unhealthy, ops) and ctx.monotonic:
            return Operations(ops=tuple(ops))
    if sts.spec.update_strategy.type is StatefulSetUpdateStrategyType.ON_DELETE:
        return Operations(ops=tuple(ops))
    deleted = _rolling_update(ctx, slots, ops)
    return Operations(ops=tuple(ops), deleted_for_update=deleted)


def _first_unhealthy(ctx: _Ctx, slots: Sequence[Pod | None], condemned: Sequence[Pod]) -> str:
    """The name of the first unavailable replica slot, else of the lowest unavailable
    condemned pod ("" when all are available)."""
    start = start_ordinal(ctx.sts)
    for i, slot in enumerate(slots):
        if is_unavailable(slot, ctx.sts.spec.min_ready_seconds, ctx.now):
            return pod_name(ctx.sts, start + i)
    for pod in reversed(condemned):
        if is_unavailable(pod, ctx.sts.spec.min_ready_seconds, ctx.now):
            return pod.metadata.name
    return ""


def _process_replica(ctx: _Ctx, ordinal: int, pod: Pod | None, ops: list[Operation]) -> bool:
    """processReplica: True when an OrderedReady set must stop here this sync."""
    sts = ctx.sts
    if pod is None:
        return _create_replica(ctx, ordinal, ops)
    if is_finished(pod):
        if not is_terminating(pod):
            ops.append(DeletePod(pod=pod))
        return True
    if pod.status.phase is PodPhase.PENDING:
        _create_missing_claims(ctx, pod.metadata.name, ordinal, ops)
    _fix_claims(ctx, pod, ops)
    if ctx.monotonic and (
        is_terminating(pod)
        or not is_running_and_ready(pod)
        or not is_running_and_available(pod, sts.spec.min_ready_seconds, ctx.now)
    ):
        return True
    if not (identity_matches(sts, pod) and storage_matches(sts, pod)):
        ops.append(UpdatePod(pod=with_storage(sts, with_identity(sts, pod))))
    return False


def _create_replica(ctx: _Ctx, ordinal: int, ops: list[Operation]) -> bool:
    """An empty slot: wait out stale claims, create missing claims, then (all stored) the pod."""
    sts, revs = ctx.sts, ctx.revs
    name = pod_name(sts, ordinal)
    seen = [(c, ctx.claims(c.metadata.name)) for c in claims_for(sts, ordinal)]
    if any(isinstance(s, PersistentVolumeClaim) and claim_is_stale(s, name) for _, s in seen):
        return True
    blocked = [c for c, s in seen if isinstance(s, PersistentVolumeClaim) and s.metadata.deletion_timestamp is not None]
    if blocked:
        ops.extend(ClaimBlocked(claim=c.metadata.name, pod=name) for c in blocked)
        return True
    missing = [c for c, s in seen if s is None]
    ops.extend(CreateClaim(claim=c, pod=name) for c in missing)
    if missing or any(s is Pending.IN_FLIGHT for _, s in seen):
        return True
    below_partition = _below_partition(sts, ordinal)
    template, revision = (revs.current_template, revs.current) if below_partition else (revs.update_template, revs.update)
    ops.append(CreatePod(pod=new_stateful_pod(sts, template, revision, ordinal)))
    return ctx.monotonic


def _below_partition(sts: StatefulSet, ordinal: int) -> bool:
    """newVersionedStatefulSetPod's test: a RollingUpdate set stamps ordinals below
    start + partition at the current revision."""
    strategy = sts.spec.update_strategy
    if strategy.type is not StatefulSetUpdateStrategyType.ROLLING_UPDATE:
        return False
    partition = strategy.rolling_update.partition if strategy.rolling_update is not None else 0
    return ordinal < start_ordinal(sts) + partition


def _create_missing_claims(ctx: _Ctx, name: str, ordinal: int, ops: list[Operation]) -> None:
    for claim in claims_for(ctx.sts, ordinal):
        if ctx.claims(claim.metadata.name) is None:
            ops.append(CreateClaim(claim=claim, pod=name))


def _fix_claims(ctx: _Ctx, pod: Pod, ops: list[Operation]) -> bool:
    """ClaimsMatchRetentionPolicy / UpdatePodClaimForRetentionPolicy for one pod's stored
    claims; True when any claim needed (or still has) a write in flight."""
    busy = False
    for claim in claims_for(ctx.sts, ordinal_of(pod)):
        seen = ctx.claims(claim.metadata.name)
        if seen is Pending.IN_FLIGHT:
            busy = True
        elif isinstance(seen, PersistentVolumeClaim) and not claim_owners_up_to_date(seen, ctx.sts, pod):
            ops.append(UpdateClaim(claim=with_retention_refs(seen, ctx.sts, pod), pod=pod.metadata.name))
            busy = True
    return busy


def _fix_condemned_claims(ctx: _Ctx, condemned: Sequence[Pod], ops: list[Operation]) -> bool:
    busy = False
    for pod in condemned:
        busy = _fix_claims(ctx, pod, ops) or busy
    return busy


def _process_condemned(ctx: _Ctx, pod: Pod, first_unhealthy: str, ops: list[Operation]) -> bool:
    """processCondemned: True when an OrderedReady set must stop here this sync."""
    if is_terminating(pod):
        return ctx.monotonic
    mrs = ctx.sts.spec.min_ready_seconds
    healthy = is_running_and_ready(pod) and is_running_and_available(pod, mrs, ctx.now)
    if ctx.monotonic and not healthy and pod.metadata.name != first_unhealthy:
        return True
    ops.append(DeletePod(pod=pod))
    return True


def _rolling_update(ctx: _Ctx, slots: Sequence[Pod | None], ops: list[Operation]) -> int:
    """Delete, from the highest ordinal down to the partition, pods not at the update
    revision; returns how many were deleted."""
    sts = ctx.sts
    ru = sts.spec.update_strategy.rolling_update
    partition = ru.partition if ru is not None else 0
    mrs = sts.spec.min_ready_seconds
    budget = max_unavailable(sts)
    if budget is not None:
        unavailable = sum(1 for s in slots if is_unavailable(s, mrs, ctx.now))
        if unavailable >= budget:
            return 0
        deleted = 0
        for target in range(len(slots) - 1, partition - 1, -1):
            if deleted >= budget - unavailable:
                break
            pod = slots[target]
            if pod is not None and pod_revision(pod) != ctx.revs.update and not is_terminating(pod):
                ops.append(DeletePod(pod=pod, for_update=True))
                deleted += 1
        return deleted
    for target in range(len(slots) - 1, partition - 1, -1):
        pod = slots[target]
        if pod is not None and pod_revision(pod) != ctx.revs.update and not is_terminating(pod):
            ops.append(DeletePod(pod=pod, for_update=True))
            return 1
        if is_unavailable(pod, mrs, ctx.now):
            return 0
    return 0
