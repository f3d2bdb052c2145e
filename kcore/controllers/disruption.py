"""The disruption controller: keeps every PodDisruptionBudget's status true to its pods.

Owns `DisruptionController` ("disruption-controller", its Events from "controllermanager"
as upstream's), its state `DisruptionState` and the pure helpers `expected_pod_count`, `build_disrupted_pod_map`, `count_healthy_pods` and
`compute_status`.

Theory of operation (level-triggered, as upstream's trySync):
- `step` folds the event into the informer view and marks budgets dirty: a budget's own
  events; a pod's events mark every budget of its namespace that selects it (before or
  after the change); a scale owner's (ReplicaSet, Deployment, StatefulSet,
  ReplicationController) every budget of its namespace. Dirty budgets sync in sorted order.
- `sync` observes the pods the selector picks (a nil selector picks none), decides
  expectedPods and desiredHealthy (`expected_pod_count`: an integer minAvailable counts
  the pods; a percentage, or maxUnavailable, sums the scale of the pods' controllers,
  a ReplicaSet owned by a Deployment counting as that Deployment), drops disruptedPods
  entries whose pod is gone, being deleted, or was not deleted within DELETION_TIMEOUT,
  counts Ready pods not being deleted nor recently disrupted as currentHealthy, and
  allows currentHealthy - desiredHealthy disruptions (0 while expectedPods is 0). When
  the computed status (with the DisruptionAllowed condition and observedGeneration)
  differs from the view's, it writes it with an Update of the status subresource.
- A pod selected by the budget whose controller cannot be found or has no scale makes
  the count impossible: the budget fails safe (disruptionsAllowed 0, condition
  DisruptionAllowed=False reason SyncFailed), as upstream's failSafe.
- In-flight writes are data (`in_flight`, the budgets whose status write, tagged with the
  budget's key, awaits its answer): a budget with a write in flight is not synced again
  until the answer; a 409 re-syncs after a one-second `WakeMeAt`. A `WakeMeAt` at the
  earliest disruptedPods expiry re-checks the budget (`timers` keeps one per budget);
  either timer is keyed by the budget's key.
  For settling (`kcore.component.workqueue`) the expiry is a deadline, merely scheduled;
  the conflict retry is in motion the first time in a row (its work queue counts the
  conflicts in a row, `CONFLICT_RETRY`), not after.

Differences from upstream: a pod event marks every budget selecting it (upstream: the
first); scale-owner events mark budgets too (upstream reads those listers only on a
pod or budget event); the NoPods / UnmanagedPods Events are recorded only with a status
write, so a fixed point emits nothing; a disruptedPods entry expires at exactly
DELETION_TIMEOUT (upstream: just after); stale DisruptionTarget pod conditions are not reset.

Watch filter (`wants`): every budget event, every ADDED and DELETED event, and an update
only when it changes what a sync reads: of a pod its labels, ownerReferences,
deletionTimestamp and, unless it is being deleted (then it is never healthy), Ready
condition status (`pod_reads_changed`); of a scale owner its
uid, ownerReferences and spec.replicas. A kubelet's other status writes, a binding and a
workload's status writes (the bulk of a rollout's traffic) do not pass, and every field
a sync reads (at an event, an answer or a timer) is as current as the last accepted
event. Upstream's updatePod enqueues on every pod update; its sync reads only these
fields. An update whose old object is unknown passes.

Must not know: the eviction subresource's internals, the driver's queue, other controllers.
Mirrors pkg/controller/disruption/disruption.go.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, assert_never

import attrs
from pyrsistent import pmap, pset
from pyrsistent.typing import PMap, PSet

from kcore.api.apps import Deployment, ReplicaSet, StatefulSet
from kcore.api.core import EventSource, ReplicationController
from kcore.api.kinds import Kind, ObjectKey, UnknownKindError, kind_for_gvk
from kcore.api.meta import ApiObject, ConditionStatus, OwnerReference, Time, evolver
from kcore.api.pod import Pod
from kcore.api.policy import (
    DISRUPTION_ALLOWED,
    SYNC_FAILED,
    Condition,
    PodDisruptionBudget,
    PodDisruptionBudgetStatus,
    selects,
    set_condition,
    with_disruption_allowed_condition,
)
from kcore.api.watch import WatchEvent, WatchType
from kcore.component.effects import CallApi, Effect, EventType, RecordEvent, WakeMeAt
from kcore.component.events import (
    ApiAnswered,
    Event,
    Resynced,
    RuntimeAnswered,
    RuntimeNotified,
    Started,
    TimerFired,
    WatchDelivered,
)
from kcore.component.informer import follow
from kcore.component.requests import Subresource, Update
from kcore.component.workqueue import (
    RateLimiter,
    WorkQueue,
    forget,
    num_requeues,
    rate_limited,
    retry_in_motion,
)
from kcore.intstr import IntOrStringError, scaled_value
from kcore.state import ClusterState, get, key_of, list_objects, put

# Reasons for PodDisruptionBudget events (upstream's disruption.go writes them inline)
NO_PODS: Final = "NoPods"
UNMANAGED_PODS: Final = "UnmanagedPods"
CALCULATE_EXPECTED_POD_COUNT_FAILED: Final = "CalculateExpectedPodCountFailed"

NAME: Final = "disruption-controller"
DELETION_TIMEOUT: Final = 120.0
"""Seconds an evicted pod may take to start deleting before its budget counts it again."""
CONFLICT_RETRY: Final = RateLimiter(base_delay=1.0, max_delay=1.0)
"""A budget whose status write conflicted is synced again 1 s later."""
SCALE_KINDS: Final = frozenset({Kind.REPLICA_SET, Kind.DEPLOYMENT, Kind.STATEFUL_SET, Kind.REPLICATION_CONTROLLER})

Out = tuple["DisruptionState", tuple[Effect, ...]]
Scaled = ReplicaSet | Deployment | StatefulSet | ReplicationController


@attrs.frozen(kw_only=True)
class DisruptionState:
    view: ClusterState
    dirty: PSet[ObjectKey] = pset()
    in_flight: PSet[ObjectKey] = pset()  # budgets whose status write awaits its answer
    timers: PMap[ObjectKey, Time] = pmap()  # budget -> earliest recheck asked for
    queue: WorkQueue = WorkQueue(kind=Kind.POD_DISRUPTION_BUDGET)  # conflicting status writes in a row


_evolve = evolver(DisruptionState)  # attrs.evolve for the hot per-event state updates


@attrs.frozen(kw_only=True)
class Expected:
    """What the budget's pods should number: (expectedPods, desiredHealthy, unmanaged pod names)."""

    expected: int
    desired: int
    unmanaged: tuple[str, ...] = ()


# --- observe ---------------------------------------------------------------------------------


def pod_reads_changed(old: Pod, new: Pod) -> bool:
    """Whether a pod update changes what a sync reads of it (selector labels, controller
    reference, deletion, readiness)."""
    if old is new:
        return False
    a, b = old.metadata, new.metadata
    return (
        a.uid != b.uid
        or a.labels != b.labels
        or a.owner_references != b.owner_references
        or a.deletion_timestamp != b.deletion_timestamp
        or (b.deletion_timestamp is None and old.status.conditions is not new.status.conditions and _ready(old) != _ready(new))
    )


def _scale_reads_changed(old: ApiObject, new: ApiObject) -> bool:
    if not isinstance(old, Scaled) or not isinstance(new, Scaled):
        return True
    a, b = old.metadata, new.metadata
    return a.uid != b.uid or a.owner_references != b.owner_references or old.spec.replicas != new.spec.replicas


def _budgets(view: ClusterState, namespace: str) -> tuple[PodDisruptionBudget, ...]:
    return tuple(b for b in list_objects(view, Kind.POD_DISRUPTION_BUDGET, namespace) if isinstance(b, PodDisruptionBudget))


def pods_of(view: ClusterState, pdb: PodDisruptionBudget) -> tuple[Pod, ...]:
    """The pods of the budget's namespace its selector picks, sorted by name."""
    pods = list_objects(view, Kind.POD, pdb.metadata.namespace)
    return tuple(p for p in pods if isinstance(p, Pod) and selects(pdb, p.metadata.labels))


def _controller_ref(obj: ApiObject) -> OwnerReference | None:
    return next((r for r in obj.metadata.owner_references if r.controller), None)


def _replicas(obj: Scaled) -> int:
    if isinstance(obj, ReplicationController):
        return obj.spec.replicas if obj.spec.replicas is not None else 1
    return obj.spec.replicas


def _owner(view: ClusterState, namespace: str, ref: OwnerReference) -> Scaled | None:
    """The stored controller `ref` names, if it is a scale owner with that uid."""
    try:
        kind = kind_for_gvk(ref.api_version, ref.kind)
    except UnknownKindError:
        return None
    if kind not in SCALE_KINDS:
        return None
    obj = get(view, ObjectKey(kind=kind, namespace=namespace, name=ref.name))
    if not isinstance(obj, Scaled) or obj.metadata.uid != ref.uid:
        return None
    return obj


def _controller_scale(view: ClusterState, namespace: str, ref: OwnerReference) -> tuple[str, int] | None:
    """(uid, replicas) of the pod's controller: the finders of upstream in order (a
    ReplicaSet of a live Deployment counts as the Deployment), then the scale subresource."""
    owner = _owner(view, namespace, ref)
    if owner is None:
        return None
    if isinstance(owner, ReplicaSet):
        parent_ref = _controller_ref(owner)
        parent = _owner(view, namespace, parent_ref) if parent_ref is not None else None
        if isinstance(parent, Deployment):
            return parent.metadata.uid, _replicas(parent)
    return owner.metadata.uid, _replicas(owner)


def expected_scale(view: ClusterState, pods: Iterable[Pod]) -> tuple[int, tuple[str, ...]] | str:
    """getExpectedScale: (sum of the pods' controllers' scale, unmanaged pod names), or
    the error text when a pod's controller is not a scale owner we can find."""
    scales: dict[str, int] = {}
    unmanaged: list[str] = []
    for pod in pods:
        ref = _controller_ref(pod)
        if ref is None:
            unmanaged.append(pod.metadata.name)
            continue
        found = _controller_scale(view, pod.metadata.namespace, ref)
        if found is None:
            return f'found no controllers for pod "{pod.metadata.name}"'
        scales[found[0]] = found[1]
    return sum(scales.values()), tuple(unmanaged)


def expected_pod_count(view: ClusterState, pdb: PodDisruptionBudget, pods: tuple[Pod, ...]) -> Expected | str:
    """getExpectedPodCount: expectedPods and desiredHealthy, or why they cannot be known."""
    spec = pdb.spec
    budget = spec.max_unavailable if spec.max_unavailable is not None else spec.min_available
    if budget is None:
        return Expected(expected=0, desired=0)
    if isinstance(spec.min_available, int) and spec.max_unavailable is None:
        return Expected(expected=len(pods), desired=spec.min_available)
    scale = expected_scale(view, pods)
    if isinstance(scale, str):
        return scale
    expected, unmanaged = scale
    try:
        amount = scaled_value(budget, expected, round_up=True)
    except IntOrStringError as e:
        return str(e)
    desired = max(expected - amount, 0) if spec.max_unavailable is not None else amount
    return Expected(expected=expected, desired=desired, unmanaged=unmanaged)


def build_disrupted_pod_map(pods: tuple[Pod, ...], pdb: PodDisruptionBudget, now: Time) -> tuple[PMap[str, Time], Time | None]:
    """buildDisruptedPodMap: the entries still pending (pod exists, not being deleted, not
    timed out) and the earliest time one of them times out."""
    old = pdb.status.disrupted_pods
    kept: dict[str, Time] = {}
    recheck: Time | None = None
    for pod in pods:
        at = old.get(pod.metadata.name)
        if at is None or pod.metadata.deletion_timestamp is not None:
            continue
        expiry = Time(at + DELETION_TIMEOUT)
        if expiry <= now:
            continue
        kept[pod.metadata.name] = at
        recheck = expiry if recheck is None else min(recheck, expiry)
    return pmap(kept), recheck


def _ready(pod: Pod) -> bool:
    return any(c.type == "Ready" and c.status is ConditionStatus.TRUE for c in pod.status.conditions)


def count_healthy_pods(pods: tuple[Pod, ...], disrupted: PMap[str, Time]) -> int:
    """countHealthyPods: Ready pods neither being deleted nor awaiting an approved eviction
    (`disrupted` holds only entries that have not timed out)."""
    return sum(
        1
        for p in pods
        if p.metadata.deletion_timestamp is None and p.metadata.name not in disrupted and _ready(p)
    )


def compute_status(
    pdb: PodDisruptionBudget, current: int, expected: Expected, disrupted: PMap[str, Time], now: Time
) -> PodDisruptionBudgetStatus:
    """updatePdbStatus: the counts, the allowance (none while no pod is expected), the
    observed generation and the DisruptionAllowed condition."""
    allowed = current - expected.desired
    if expected.expected <= 0 or allowed <= 0:
        allowed = 0
    status = PodDisruptionBudgetStatus(
        observed_generation=pdb.metadata.generation,
        disrupted_pods=disrupted,
        disruptions_allowed=allowed,
        current_healthy=current,
        desired_healthy=expected.desired,
        expected_pods=expected.expected,
        conditions=pdb.status.conditions,
    )
    return with_disruption_allowed_condition(status, now)


def fail_safe_status(pdb: PodDisruptionBudget, message: str, now: Time) -> PodDisruptionBudgetStatus:
    """failSafe: no disruption allowed, condition DisruptionAllowed=False/SyncFailed."""
    st = pdb.status
    cond = Condition(
        type=DISRUPTION_ALLOWED,
        status=ConditionStatus.FALSE,
        reason=SYNC_FAILED,
        message=message,
        observed_generation=st.observed_generation,
        last_transition_time=now,
    )
    return attrs.evolve(st, disruptions_allowed=0, conditions=set_condition(st.conditions, cond, now))


# --- decide and emit -------------------------------------------------------------------------


def _notes(pdb: PodDisruptionBudget, pods: tuple[Pod, ...], expected: Expected) -> tuple[Effect, ...]:
    """The Events upstream records while syncing (here only alongside a status write)."""
    key = key_of(pdb)
    notes: list[Effect] = []
    if not pods:
        notes.append(RecordEvent(involved=key, type=EventType.NORMAL, reason=NO_PODS, message="No matching pods found"))
    if expected.unmanaged:
        message = (
            "Pods selected by this PodDisruptionBudget were found to be unmanaged. As a result, the status "
            "of the PDB cannot be calculated correctly, which may result in undefined behavior. To account "
            'for these pods please set ".spec.minAvailable" field of the PDB to an integer value.'
        )
        notes.append(RecordEvent(involved=key, type=EventType.WARNING, reason=UNMANAGED_PODS, message=message))
    return tuple(notes)


def sync(s: DisruptionState, key: ObjectKey, now: Time) -> Out:
    """Observe the budget's pods, decide its status, write it if it changed."""
    s = attrs.evolve(s, dirty=s.dirty.discard(key))
    pdb = get(s.view, key)
    if not isinstance(pdb, PodDisruptionBudget):
        return attrs.evolve(s, timers=s.timers.discard(key), queue=forget(s.queue, key, CONFLICT_RETRY)), ()
    pods = pods_of(s.view, pdb)
    expected = expected_pod_count(s.view, pdb, pods)
    effects: list[Effect] = []
    if isinstance(expected, str):
        status = fail_safe_status(pdb, expected, now)
        notes: tuple[Effect, ...] = (
            RecordEvent(
                involved=key,
                type=EventType.WARNING,
                reason=CALCULATE_EXPECTED_POD_COUNT_FAILED,
                message=f"Failed to calculate the number of expected pods: {expected}",
            ),
        )
    else:
        disrupted, recheck = build_disrupted_pod_map(pods, pdb, now)
        status = compute_status(pdb, count_healthy_pods(pods, disrupted), expected, disrupted, now)
        notes = _notes(pdb, pods, expected)
        pending = s.timers.get(key)
        if recheck is not None and (pending is None or recheck < pending or pending <= now):
            s = attrs.evolve(s, timers=s.timers.set(key, recheck))
            effects.append(WakeMeAt(at=recheck, key=key))  # a deadline: merely scheduled
    if status == pdb.status:
        return s, tuple(effects)
    request = Update(obj=attrs.evolve(pdb, status=status), subresource=Subresource.STATUS)
    s = attrs.evolve(s, in_flight=s.in_flight.add(key))
    return s, (*effects, *notes, CallApi(request=request, tag=key))


def _marked_by(view: ClusterState, ev: WatchEvent) -> tuple[ObjectKey, ...]:
    """The budgets an event concerns (`view` is from before the event)."""
    obj = ev.obj
    ns = obj.metadata.namespace
    match obj:
        case PodDisruptionBudget():
            return (ev.key,)
        case Pod():
            before = get(view, ev.key)
            labels = [obj.metadata.labels] + ([before.metadata.labels] if before is not None else [])
            return tuple(key_of(b) for b in _budgets(view, ns) if any(selects(b, lb) for lb in labels))
        case _ if obj.KIND in SCALE_KINDS:
            return tuple(key_of(b) for b in _budgets(view, ns))
        case _:
            return ()


def _answered(s: DisruptionState, key: ObjectKey, ok: bool, code: int, body: object, now: Time) -> Out:
    s = attrs.evolve(s, in_flight=s.in_flight.discard(key))
    if code != 409 and num_requeues(s.queue, key, CONFLICT_RETRY):
        s = attrs.evolve(s, queue=forget(s.queue, key, CONFLICT_RETRY))
    if ok and isinstance(body, PodDisruptionBudget):
        stored = get(s.view, key)
        if stored is None or stored.metadata.resource_version < body.metadata.resource_version:
            # The answer is the budget at its new revision: the watch event will say the same.
            s = attrs.evolve(s, view=put(s.view, body))
        return s, ()
    if code == 409:
        queue, requeue = rate_limited(s.queue, key, now, CONFLICT_RETRY)
        s = attrs.evolve(s, queue=queue)
        return s, (WakeMeAt(at=requeue.at, key=key, in_motion=retry_in_motion(requeue.failures)),)
    return s, ()


def _all_budgets(view: ClusterState) -> PSet[ObjectKey]:
    return pset(key_of(b) for b in list_objects(view, Kind.POD_DISRUPTION_BUDGET))


def run(s: DisruptionState, now: Time) -> Out:
    """Sync every dirty budget without a write in flight, in sorted order."""
    effects: list[Effect] = []
    for key in sorted(s.dirty):
        if key in s.in_flight:
            continue
        s, out = sync(s, key, now)
        effects.extend(out)
    return s, tuple(effects)


@attrs.frozen(kw_only=True)
class DisruptionController:
    """kube-controller-manager's disruption controller."""

    name: str = NAME
    event_source: EventSource = EventSource(component="controllermanager")  # disruption.go
    watches: frozenset[Kind] = frozenset({Kind.POD_DISRUPTION_BUDGET, Kind.POD, *SCALE_KINDS})

    def wants(self, event: WatchEvent, old: ApiObject | None = None) -> bool:
        """The watch filter (see the module doc): no update of fields a sync does not read."""
        if event.type is not WatchType.MODIFIED or old is None:
            return True
        new = event.obj
        if isinstance(new, Pod):
            return not isinstance(old, Pod) or pod_reads_changed(old, new)
        if new.KIND in SCALE_KINDS:
            return _scale_reads_changed(old, new)
        return True

    def init(self, view: ClusterState, now: Time) -> Out:
        """Start from a fresh LIST; every budget is synced on `Started`."""
        return DisruptionState(view=view), ()

    def step(self, state: DisruptionState, event: Event) -> Out:
        """Absorb `event`, then sync the budgets it concerns.

        Handles every driver event (runtime events do not concern it); emits `CallApi`
        (status Updates), `WakeMeAt` (rechecks, conflict retries) and `RecordEvent`."""
        s, now = state, event.now
        effects: tuple[Effect, ...] = ()
        match event:
            case Started():
                s = attrs.evolve(s, dirty=_all_budgets(s.view))
            case WatchDelivered(event=ev):
                marked = _marked_by(s.view, ev)
                s = _evolve(s, view=follow(s.view, event))
                s = attrs.evolve(s, dirty=s.dirty.update(marked))
            case ApiAnswered(tag=ObjectKey() as budget, response=resp):
                s, effects = _answered(s, budget, resp.ok, resp.code, resp.body, now)
            case TimerFired(key=ObjectKey() as budget):
                if s.timers.get(budget) is not None and s.timers[budget] <= now:
                    s = attrs.evolve(s, timers=s.timers.discard(budget))
                s = attrs.evolve(s, dirty=s.dirty.add(budget))
            case ApiAnswered() | TimerFired():
                pass
            case Resynced(view=view):
                s = attrs.evolve(s, view=view, dirty=_all_budgets(view))
            case RuntimeAnswered() | RuntimeNotified():
                return state, ()
            case _:
                assert_never(event)
        s, more = run(s, now)
        return s, (*effects, *more)

