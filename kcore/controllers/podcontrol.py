"""What controllers that own pods share: pod stamping, ranking, ownership claims, slow
start, and the events of their pod creates and deletes.

Owns, as pure functions over API values:
- controller references: `controller_ref(owner)` (controller=true, blockOwnerDeletion=true)
  and `controller_of(meta)`;
- `pod_from_template(template, owner)`: the pod a controller creates (labels, annotations,
  finalizers and spec from the template, generateName `<owner>-`, the controllerRef);
- pod predicates: `is_pod_active`, `is_pod_ready`, `is_pod_available`, `available_at`;
- victim choice: `pods_to_delete(pods, count, ranks, now)` in upstream's ActivePodsWithRanks
  order, with `co_location_ranks` for the "doubled up" criterion and `rank_facts`, what
  that order reads of one pod (`RankFacts`);
- ownership claims: `claim(...)` decides which candidates an owner keeps, adopts or
  releases (ControllerRefManager.ClaimObject), and `adopt_request` / `release_request`
  build the strategic merge patches upstream sends;
- slow start: `SlowStart`, a creation burst sent in batches 1, 2, 4, ... that stops at the
  first failed batch (upstream slowStartBatch): `slow_start`, `batch_answered`, `skipped`;
  and `burst_create_answered` (`BurstAnswered`), one create of an owner's burst answered:
  its event, the owner's expectations lowered for a create that failed and, at the end of
  a failed burst, for those never sent, the burst kept or ended, the next batch's size;
- RealPodControl's events: the reasons `SUCCESSFUL_CREATE_POD_REASON`,
  `FAILED_CREATE_POD_REASON`, `SUCCESSFUL_DELETE_POD_REASON`, `FAILED_DELETE_POD_REASON`,
  and `create_answered` / `delete_answered`, the event a create or delete answer records
  about its owner; `error_message(resp)`, the error text of a refused request.

Rules: nothing here sends requests or reads a clock; callers pass `now`. Every tuple that
leaves a function is in a deterministic order (ties keep the caller's order, which callers
sort by name). Usable by the ReplicaSet, Job, DaemonSet and StatefulSet controllers.

Must not know: any particular owner kind, the driver, component state (a burst's record
is the controller's; only its `progress` is read here).

Mirrors pkg/controller/controller_utils.go (GetPodFromTemplate, getPodsPrefix,
FilterActivePods, IsPodActive, ActivePodsWithRanks, SlowStartInitialBatchSize,
RealPodControl.CreatePods/DeletePod and their event reasons),
pkg/controller/controller_ref_manager.go (ClaimObject, adopt/release patches),
pkg/controller/replicaset/replica_set.go (slowStartBatch, getPodsToDelete,
getPodsRankedByRelatedPodsOnSameNode) and k8s.io/kubernetes/pkg/api/v1/pod (IsPodReady,
IsPodAvailable).
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Final, Generic, Protocol, TypeVar

import attrs
from pyrsistent.typing import PMap

from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ApiObject, ConditionStatus, ObjectMeta, OwnerReference, Status, Time
from kcore.api.pod import ContainerRestartPolicy, Pod, PodPhase, PodTemplateSpec
from kcore.component.effects import EventType, RecordEvent
from kcore.component.requests import Patch, PatchType, Response
from kcore.controllers import expectations as exps
from kcore.controllers.expectations import Expectations

BURST_REPLICAS: Final = 500
"""At most this many creates or deletes per sync of one owner (upstream BurstReplicas)."""

SLOW_START_INITIAL_BATCH: Final = 1
"""The first batch of a creation burst (upstream SlowStartInitialBatchSize)."""

DELETION_COST_ANNOTATION: Final = "controller.kubernetes.io/pod-deletion-cost"

# Reasons for the events of pod creates and deletes (controller_utils.go)
FAILED_CREATE_POD_REASON: Final = "FailedCreate"
SUCCESSFUL_CREATE_POD_REASON: Final = "SuccessfulCreate"
FAILED_DELETE_POD_REASON: Final = "FailedDelete"
SUCCESSFUL_DELETE_POD_REASON: Final = "SuccessfulDelete"


# --- controller references ------------------------------------------------------------------


def controller_ref(owner: ApiObject) -> OwnerReference:
    """metav1.NewControllerRef: an ownerReference marking `owner` as the controller."""
    return OwnerReference(
        api_version=owner.KIND.info.api_version,
        kind=owner.KIND.value,
        name=owner.metadata.name,
        uid=owner.metadata.uid,
        controller=True,
        block_owner_deletion=True,
    )


def controller_of(meta: ObjectMeta) -> OwnerReference | None:
    """metav1.GetControllerOf: the ownerReference with controller=true, if any."""
    for ref in meta.owner_references:
        if ref.controller:
            return ref
    return None


def mine_or_orphan(obj: ApiObject, child: Kind, owner: Kind) -> bool:
    """The watch filter of a controller of `owner`s over their `child`ren (Pods, or a
    CronJob's Jobs): true for every object not of the `child` kind, and for children
    controlled by an `owner` or by nothing (orphans it might adopt). Upstream's
    add/update/delete handlers return early for a controllerRef of another kind."""
    if obj.KIND is not child:
        return True
    ref = controller_of(obj.metadata)
    return ref is None or ref.kind == owner.value


def key_of(obj: ApiObject) -> ObjectKey:
    m = obj.metadata
    return ObjectKey(kind=obj.KIND, namespace=m.namespace, name=m.name)


# --- stamping pods --------------------------------------------------------------------------


def pod_name_prefix(owner_name: str) -> str:
    """getPodsPrefix: `<owner>-`, or the bare name when the dash would make it too long."""
    prefix = f"{owner_name}-"
    return prefix if len(prefix) <= 253 else owner_name


def pod_from_template(template: PodTemplateSpec, owner: ApiObject) -> Pod:
    """GetPodFromTemplate: the pod to create for `owner` (the apiserver picks the name)."""
    t = template.metadata
    meta = ObjectMeta(
        generate_name=pod_name_prefix(owner.metadata.name),
        namespace=owner.metadata.namespace,
        labels=t.labels,
        annotations=t.annotations,
        finalizers=t.finalizers,
        owner_references=(controller_ref(owner),),
    )
    return Pod(metadata=meta, spec=template.spec)


# --- pod predicates -------------------------------------------------------------------------


def is_pod_active(pod: Pod) -> bool:
    """IsPodActive: not Succeeded, not Failed, not being deleted."""
    return (
        pod.status.phase not in (PodPhase.SUCCEEDED, PodPhase.FAILED)
        and pod.metadata.deletion_timestamp is None
    )


def pod_ready_time(pod: Pod) -> Time | None:
    """When the Ready condition last turned True (None if not ready or never stamped)."""
    for c in pod.status.conditions:
        if c.type == "Ready" and c.status is ConditionStatus.TRUE:
            return c.last_transition_time
    return None


def is_pod_ready(pod: Pod) -> bool:
    """IsPodReady: the Ready condition is True."""
    return any(c.type == "Ready" and c.status is ConditionStatus.TRUE for c in pod.status.conditions)


def available_at(pod: Pod, min_ready_seconds: int) -> Time | None:
    """The instant after which a ready pod counts as available (None: not ready)."""
    if not is_pod_ready(pod):
        return None
    since = pod_ready_time(pod)
    return Time((since or 0.0) + min_ready_seconds)


def is_pod_available(pod: Pod, min_ready_seconds: int, now: Time) -> bool:
    """IsPodAvailable: ready, and (minReadySeconds 0 or ready since strictly before now - min)."""
    if not is_pod_ready(pod):
        return False
    if min_ready_seconds == 0:
        return True
    since = pod_ready_time(pod)
    return since is not None and since + min_ready_seconds < now


# --- victims --------------------------------------------------------------------------------

_PHASE_ORDINAL: Final[Mapping[PodPhase | None, int]] = {
    PodPhase.PENDING: 0,
    PodPhase.UNKNOWN: 1,
    PodPhase.RUNNING: 2,
}


def _deletion_cost(pod: Pod) -> int:
    """GetDeletionCostFromPodAnnotations: an int32, 0 when absent or malformed."""
    text = pod.metadata.annotations.get(DELETION_COST_ANNOTATION, "")
    try:
        cost = int(text.strip()) if text.strip() == text else 0
    except ValueError:
        return 0
    return cost if -(2**31) <= cost < 2**31 else 0


def _max_restarts(pod: Pod) -> tuple[int, int]:
    """maxContainerRestarts: (regular containers, restartable init containers = sidecars)."""
    sidecars = {c.name for c in pod.spec.init_containers if c.restart_policy is ContainerRestartPolicy.ALWAYS}
    regular = max((s.restart_count for s in pod.status.container_statuses), default=0)
    side = max((s.restart_count for s in pod.status.init_container_statuses if s.name in sidecars), default=0)
    return regular, side


def _log_rank(t: Time, now: Time) -> int:
    """The log2 bucket of how long ago `t` was, in nanoseconds (upstream logarithmicRankDiff)."""
    d = round((now - t) * 1e9)
    return int(math.log2(d)) if d > 0 else -1


@attrs.frozen(kw_only=True)
class RankFacts:
    """What ActivePodsWithRanks.Less reads of one pod, computed once per ranking: two pods
    with equal facts rank alike."""

    assigned: bool
    phase: int
    ready: bool
    cost: int
    rank: int
    uid: str
    ready_time: Time | None
    ready_bucket: int
    sidecar_restarts: int
    restarts: int
    created: Time | None
    created_bucket: int


def rank_facts(pod: Pod, rank: int, now: Time) -> RankFacts:
    """What the victim ranking reads of `pod`, with its co-location `rank`, at `now`."""
    ready = is_pod_ready(pod)
    ready_time = pod_ready_time(pod) if ready else None
    created = pod.metadata.creation_timestamp
    regular, side = _max_restarts(pod)
    return RankFacts(
        assigned=bool(pod.spec.node_name),
        phase=_PHASE_ORDINAL.get(pod.status.phase, 0),
        ready=ready,
        cost=_deletion_cost(pod),
        rank=rank,
        uid=pod.metadata.uid,
        ready_time=ready_time,
        ready_bucket=_log_rank(ready_time, now) if ready_time is not None else 0,
        sidecar_restarts=side,
        restarts=regular,
        created=created,
        created_bucket=_log_rank(created, now) if created is not None else 0,
    )


def _newer(ti: Time | None, tj: Time | None, bi: int, bj: int, ui: str, uj: str) -> bool | None:
    """LogarithmicScaleDown over two times with their log2 buckets: a zero time first,
    then the younger bucket, then by uid; None when neither goes first."""
    if ti == tj:
        return None
    if ti is None or tj is None:
        return ti is None
    if bi == bj:
        return None if ui == uj else ui < uj
    return bi < bj


def _less(fi: RankFacts, fj: RankFacts) -> bool | None:
    """ActivePodsWithRanks.Less: True if `fi`'s pod goes first, None when neither does."""
    if fi.assigned != fj.assigned:
        return not fi.assigned
    if fi.phase != fj.phase:
        return fi.phase < fj.phase
    if fi.ready != fj.ready:
        return not fi.ready
    if fi.cost != fj.cost:
        return fi.cost < fj.cost
    if fi.rank != fj.rank:
        return fi.rank > fj.rank
    if fi.ready and fj.ready:
        verdict = _newer(fi.ready_time, fj.ready_time, fi.ready_bucket, fj.ready_bucket, fi.uid, fj.uid)
        if verdict is not None:
            return verdict
    if fi.sidecar_restarts != fj.sidecar_restarts:
        return fi.sidecar_restarts > fj.sidecar_restarts
    if fi.restarts != fj.restarts:
        return fi.restarts > fj.restarts
    return _newer(fi.created, fj.created, fi.created_bucket, fj.created_bucket, fi.uid, fj.uid)


def _compare(a: tuple[RankFacts, Pod], b: tuple[RankFacts, Pod]) -> int:
    if _less(a[0], b[0]):
        return -1
    if _less(b[0], a[0]):
        return 1
    return 0


def co_location_ranks(pods: Sequence[Pod], related: Iterable[Pod]) -> tuple[int, ...]:
    """getPodsRankedByRelatedPodsOnSameNode: per pod, the active related pods on its node."""
    on_node: dict[str, int] = {}
    for p in related:
        if is_pod_active(p):
            on_node[p.spec.node_name] = on_node.get(p.spec.node_name, 0) + 1
    return tuple(on_node.get(p.spec.node_name, 0) for p in pods)


def pods_to_delete(pods: Sequence[Pod], count: int, ranks: Sequence[int], now: Time) -> tuple[Pod, ...]:
    """getPodsToDelete: the first `count` of `pods` in deletion order (ties keep input order).

    Order (ActivePodsWithRanks, LogarithmicScaleDown and PodDeletionCost on, as upstream's
    defaults): unassigned < assigned; Pending < Unknown < Running; not ready < ready; lower
    deletion cost; more related pods on the same node; ready for less time (log2 buckets,
    then uid); more sidecar, then container restarts; created more recently (log2 buckets,
    then uid).
    """
    if count >= len(pods):
        return tuple(pods)
    facts = [(rank_facts(p, r, now), p) for p, r in zip(pods, ranks, strict=True)]
    ranked = sorted(facts, key=functools.cmp_to_key(_compare))
    return tuple(p for _, p in ranked[:count])


# --- claiming (ControllerRefManager) --------------------------------------------------------


@attrs.frozen(kw_only=True)
class Claim:
    """What an owner does with its candidates: keep `owned`, `adopt` orphans, `release` pods."""

    owned: tuple[ApiObject, ...] = ()
    adopt: tuple[ApiObject, ...] = ()
    release: tuple[ApiObject, ...] = ()


def claim(
    owner: ApiObject, candidates: Sequence[ApiObject], matches: Callable[[ApiObject], bool]
) -> Claim:
    """ClaimObject over `candidates` for `owner`.

    Owned by another controller: ignored. Owned by `owner`: kept while `matches`, else
    released (unless the owner is being deleted). Orphans: adopted when they match, live,
    share the owner's namespace and the owner is not being deleted. Adopted objects count
    as owned by the caller, as upstream counts a successful adoption.
    """
    uid = owner.metadata.uid
    deleting = owner.metadata.deletion_timestamp is not None
    owned: list[ApiObject] = []
    adopt: list[ApiObject] = []
    release: list[ApiObject] = []
    for obj in candidates:
        ref = controller_of(obj.metadata)
        if ref is not None:
            if ref.uid != uid:
                continue
            if matches(obj):
                owned.append(obj)
            elif not deleting:
                release.append(obj)
            continue
        if (
            deleting
            or not matches(obj)
            or obj.metadata.deletion_timestamp is not None
            or obj.metadata.namespace != owner.metadata.namespace
        ):
            continue
        adopt.append(obj)
    return Claim(owned=tuple(owned), adopt=tuple(adopt), release=tuple(release))


def _patch(obj: ApiObject, refs: list[dict[str, object]]) -> Patch:
    body = {"metadata": {"ownerReferences": refs, "uid": obj.metadata.uid}}
    return Patch(key=key_of(obj), patch_type=PatchType.STRATEGIC, patch=json.dumps(body, sort_keys=True))


def adopt_request(obj: ApiObject, owner: ApiObject) -> Patch:
    """The strategic merge patch adding `owner`'s controllerRef (the uid guards a re-created object)."""
    ref = controller_ref(owner)
    return _patch(
        obj,
        [
            {
                "apiVersion": ref.api_version,
                "kind": ref.kind,
                "name": ref.name,
                "uid": ref.uid,
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ],
    )


def release_request(obj: ApiObject, owner_uid: str) -> Patch:
    """The strategic merge patch deleting the ownerReference to `owner_uid`."""
    return _patch(obj, [{"$patch": "delete", "uid": owner_uid}])


# --- slow start -----------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class SlowStart:
    """A creation burst in flight: `remaining` not yet sent, `in_flight` creates of the
    current batch unanswered, `batch` its size, `succeeded` so far, the first `error` seen."""

    remaining: int
    batch: int = 0
    in_flight: int = 0
    succeeded: int = 0
    error: str = ""

    @property
    def done(self) -> bool:
        return not self.in_flight and (self.remaining == 0 or bool(self.error))


def slow_start(count: int) -> SlowStart:
    """Begin a burst of `count` creations: its first batch (`in_flight`) goes out now."""
    first = min(count, SLOW_START_INITIAL_BATCH)
    return SlowStart(remaining=count - first, batch=first, in_flight=first)


def batch_answered(ss: SlowStart, error: str) -> tuple[SlowStart, int]:
    """One create of the batch answered (`error` "" on success): the new state and the size
    of the next batch to send now (0 while the batch is still out, or when done)."""
    ss = attrs.evolve(
        ss,
        in_flight=ss.in_flight - 1,
        succeeded=ss.succeeded + (0 if error else 1),
        error=ss.error or error,
    )
    if ss.in_flight or ss.error or ss.remaining == 0:
        return ss, 0
    size = min(2 * ss.batch, ss.remaining)
    return attrs.evolve(ss, remaining=ss.remaining - size, batch=size, in_flight=size), size


def skipped(ss: SlowStart) -> int:
    """Creations never sent because a batch failed (their expectations must be lowered)."""
    return ss.remaining if ss.error else 0


class Bursting(Protocol):
    """A controller's record of one owner's creation burst: its slow-start progress."""

    @property
    def progress(self) -> SlowStart: ...


B = TypeVar("B", bound=Bursting)


@attrs.frozen(kw_only=True)
class BurstAnswered(Generic[B]):
    """What one create answer of an owner's burst asks: the event to record, the
    expectations and bursts after it, the size of the next batch to send now (`send`),
    the burst's progress when this answer ended it (`ended`, its `error` "" when every
    create landed), and whether no burst of the owner was out at all (`unknown`)."""

    event: RecordEvent
    expectations: Expectations
    bursts: PMap[ObjectKey, B]
    send: int = 0
    ended: SlowStart | None = None
    unknown: bool = False


def burst_create_answered(
    expectations: Expectations, bursts: PMap[ObjectKey, B], owner: ObjectKey, resp: Response
) -> BurstAnswered[B]:
    """One create of `owner`'s burst answered with `resp`: a failed create is never
    observed (its expectation lowered), the burst's progress moves on, and when the burst
    ends it is dropped and the creates never sent are lowered too (slowStartBatch's caller
    lowering the skipped pods' expectations)."""
    event = create_answered(owner, resp)
    error = "" if resp.ok else error_message(resp)
    if error:
        expectations = exps.creation_observed(expectations, owner)
    burst = bursts.get(owner)
    if burst is None:
        return BurstAnswered(event=event, expectations=expectations, bursts=bursts, unknown=True)
    progress, size = batch_answered(burst.progress, error)
    if not progress.done:
        kept = bursts.set(owner, attrs.evolve(burst, progress=progress))  # type: ignore[misc]  # B is an attrs record (Bursting)
        return BurstAnswered(event=event, expectations=expectations, bursts=kept, send=size)
    expectations = exps.creation_observed(expectations, owner, skipped(progress))
    return BurstAnswered(event=event, expectations=expectations, bursts=bursts.discard(owner), ended=progress)


# --- the events of pod creates and deletes (RealPodControl) ---------------------------------


def error_message(resp: Response) -> str:
    """The error of a refused request, as upstream prints an API error."""
    body = resp.body
    return body.message if isinstance(body, Status) else f"unexpected response code {resp.code}"


def create_answered(owner: ObjectKey, resp: Response) -> RecordEvent:
    """The event a pod create's answer records about `owner`: SuccessfulCreate "Created
    pod: <name>", or FailedCreate "Error creating: <error>"."""
    if resp.ok:
        name = resp.body.metadata.name if isinstance(resp.body, Pod) else ""
        message = f"Created pod: {name}"
        return RecordEvent(involved=owner, type=EventType.NORMAL, reason=SUCCESSFUL_CREATE_POD_REASON, message=message)
    message = f"Error creating: {error_message(resp)}"
    return RecordEvent(involved=owner, type=EventType.WARNING, reason=FAILED_CREATE_POD_REASON, message=message)


def delete_answered(owner: ObjectKey, pod: ObjectKey, resp: Response) -> RecordEvent | None:
    """The event a pod delete's answer records about `owner`: SuccessfulDelete "Deleted
    pod: <name>", FailedDelete "Error deleting: <error>", or none for a pod already gone."""
    if resp.ok:
        message = f"Deleted pod: {pod.name}"
        return RecordEvent(involved=owner, type=EventType.NORMAL, reason=SUCCESSFUL_DELETE_POD_REASON, message=message)
    if resp.code == 404:
        return None
    message = f"Error deleting: {error_message(resp)}"
    return RecordEvent(involved=owner, type=EventType.WARNING, reason=FAILED_DELETE_POD_REASON, message=message)
