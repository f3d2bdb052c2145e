"""The kube-scheduler as a pure component: informer view, queue, assume cache, binding.

Owns `Scheduler` (the component value, "kube-scheduler", its Events from its profile
"default-scheduler"), its state `SchedulerState` and the step that turns watch events into scheduling cycles and API requests.

Theory of operation:
- `init` takes the LIST: bound pods are accounted in the nodeinfo `Snapshot`, pending pods
  this scheduler is responsible for (spec.schedulerName "default-scheduler", no
  nodeName, not being deleted, no scheduling gates) enter the `SchedulingQueue`.
- `step` adopts the driver's shared informer view (`informer.follow`) and folds each
  watch event into the Snapshot incrementally
  (one pod or one node per event; only `Resynced` rebuilds), files the pod in the queue,
  and moves the unschedulable pods when the event may make them fit (simplified
  queueing hints: a Node added, or updated in a property scheduling reads; an assigned
  pod deleted or turned terminal; an assigned pod added, for the pods waiting with pod
  (anti-)affinity or spread constraints, as InterPodAffinity's and PodTopologySpread's
  AssignedPodAdd hints).
- `wants` (the watch filter, with the object the previous write left): every event but
  a pod update that is bound before and after and changes nothing the cache or the
  queue reads (spec, labels, uid, creation and deletion timestamps, start time, whether
  it is terminal), as the kubelet's status writes to a running pod (conditions,
  containerStatuses, IPs, Pending -> Running). Such an update only re-confirms the pod
  in the cache (`_placed_as`); the view it would bring is read only for unbound pods,
  whose every update is taken (the queue, the nomination, the resourceVersion of the
  scheduler's own status writes). Upstream: eventhandlers.go updatePodInCache /
  updatePodInSchedulingQueue (`oldPod.ResourceVersion == newPod.ResourceVersion`) and
  framework/events.go PodSchedulingPropertiesChange (labels, requests, gates,
  tolerations; else AssignedPodOtherUpdate, which no default plugin's hint takes).
- Then it pops up to `batch` pods from activeQ, one scheduling cycle each
  (`algorithm.schedule_one` with the cluster seed and the round-robin start index); more
  waiting pods get a `WakeMeAt(Timer.CONTINUE)` so other events interleave. Backoff ends
  and the 5-minute unschedulable flush are timers too (`Timer.BACKOFF`, `Timer.FLUSH`). For settling, a backoff's end is
  work in motion (the pod was failed or moved by a change and retries then); the flush
  is merely scheduled: an unschedulable pod waits for a cluster event, and settling ends.
- Success: the pod is assumed into the Snapshot at once (so the next cycle sees it) and
  bound with `CallApi(Bind)`, tagged `Binding(pod, uid)` (a pod deleted and re-created
  under its name while its binding is out is another binding). The answer: 2xx records the Normal "Scheduled" event; an
  error forgets the assumed pod, moves the unschedulable pods (the space is free again),
  records FailedScheduling and re-queues the pod with backoff. An assumed pod stays
  assumed until its bound version arrives by watch (or it is deleted).
- Unschedulable: a Warning FailedScheduling event with the algorithm's message and a
  status update (PodScheduled=False, reason Unschedulable, same message) when that
  condition or the nomination changed; the pod waits in the unschedulable pods.
  A `Nomination` also sets status.nominatedNodeName and deletes each victim with a Normal
  "Preempted" event on it; the preemptor is retried once a victim is gone.
- Status updates carry the viewed resourceVersion: a stale view gets 409 and nothing is
  clobbered (the next attempt writes the condition again). Their answers, and those of
  the victims' deletions, are not read (tags `StatusWrite`, `Preemption`).

Must not know: the driver's queue, other components. Pure: time arrives in events, the
tie-breaking seed is the cluster's (`view.config.seed`).

Mirrors pkg/scheduler/schedule_one.go (scheduleOne, bindingCycle, handleSchedulingFailure,
updatePod), pkg/scheduler/eventhandlers.go, pkg/scheduler/backend/cache (assume/forget)
and pkg/scheduler/framework/preemption/preemption.go (prepareCandidate).
"""

from __future__ import annotations

import enum
from typing import Final, assert_never

import attrs
from pyrsistent import pmap
from pyrsistent.typing import PMap

from kcore.api.core import EventSource, Namespace, Node
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ApiObject, ConditionStatus, Status, Time, evolver
from kcore.api.pod import DEFAULT_SCHEDULER_NAME, Pod, PodCondition
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
from kcore.component.requests import Bind, Delete, Subresource, Update
from kcore.scheduler import queue as sq
from kcore.scheduler.algorithm import Success, Unschedulable, schedule_one
from kcore.scheduler.filtering import Nomination
from kcore.scheduler.nodeinfo import (
    Snapshot,
    add_pod,
    counts_on_node,
    from_state,
    remove_node,
    remove_pod,
    update_namespace,
    update_node,
)
from kcore.scheduler.plugins.framework import SchedulerConfig
from kcore.state import ClusterState, get, list_objects

# Reasons for the scheduler's events (schedule_one.go and preemption.go write them inline)
FAILED_SCHEDULING: Final = "FailedScheduling"
SCHEDULED: Final = "Scheduled"
PREEMPTED: Final = "Preempted"

NAME: Final = "kube-scheduler"
DEFAULT_BATCH: Final = 100
POD_SCHEDULED: Final = "PodScheduled"
REASON_UNSCHEDULABLE: Final = "Unschedulable"
REASON_SCHEDULER_ERROR: Final = "SchedulerError"


class Timer(enum.Enum):
    """The scheduler's timers."""

    CONTINUE = "schedule"  # more pods wait in activeQ than one step schedules
    BACKOFF = "backoff"  # the earliest backoff ends
    FLUSH = "flush"  # the earliest unschedulable pod is due for the periodic flush


@attrs.frozen(kw_only=True)
class Binding:
    """The tag of a pod's binding: the pod, and which incarnation of it (its uid)."""

    pod: ObjectKey
    uid: str


@attrs.frozen(kw_only=True)
class StatusWrite:
    """The tag of a PodScheduled=False status write, built on `resource_version`."""

    pod: ObjectKey
    resource_version: int


@attrs.frozen(kw_only=True)
class Preemption:
    """The tag of a victim's deletion, asked for by `preemptor`."""

    victim: ObjectKey
    preemptor: ObjectKey


@attrs.frozen(kw_only=True)
class BindCall:
    """A binding in flight: the queued pod (for its attempts) and the chosen node."""

    queued: sq.QueuedPod
    node: str


@attrs.frozen(kw_only=True)
class SchedulerState:
    """The scheduler's own state; `snapshot` includes the assumed pods."""

    view: ClusterState
    snapshot: Snapshot
    queue: sq.SchedulingQueue = sq.SchedulingQueue()
    assumed: PMap[ObjectKey, str] = pmap()  # pod -> node, until its bound version is seen
    binds: PMap[Binding, BindCall] = pmap()  # the bindings in flight
    next_start: int = 0
    wake_at: Time | None = None  # the earliest flush timer asked for and not yet fired
    backoff_at: Time | None = None  # the earliest backoff timer asked for and not yet fired
    continuing: bool = False  # a `Timer.CONTINUE` is pending


Out = tuple[SchedulerState, tuple[Effect, ...]]
_evolve_state: Final = evolver(SchedulerState)


def responsible(pod: Pod) -> bool:
    """Whether the pod waits for this scheduler (eventhandlers.go responsibleForPod and
    the queue's PreEnqueue: scheduling gates keep a pod out)."""
    return (
        not pod.spec.node_name
        and pod.spec.scheduler_name == DEFAULT_SCHEDULER_NAME
        and pod.metadata.deletion_timestamp is None
        and not pod.spec.scheduling_gates
    )


def _pod_key(pod: Pod) -> ObjectKey:
    return ObjectKey(kind=Kind.POD, namespace=pod.metadata.namespace, name=pod.metadata.name)


def _conditions(node: Node) -> tuple[tuple[str, ConditionStatus], ...]:
    return tuple((c.type, c.status) for c in node.status.conditions)


def pod_update_matters(old: Pod, new: Pod) -> bool:
    """Whether an update of a pod from `old` to `new` can change what the scheduler does:
    always while unbound in either version; for a bound pod, a change to anything the
    cache counts (`_placed_as`: spec, labels, uid, creation/deletion time, start time) or
    to whether it is terminal (`counts_on_node`)."""
    if not old.spec.node_name or not new.spec.node_name:
        return True
    a, b = old.metadata, new.metadata
    return not (
        (old.spec is new.spec or old.spec == new.spec)
        and counts_on_node(old) == counts_on_node(new)
        and old.status.start_time == new.status.start_time
        and a.uid == b.uid
        and (a.labels is b.labels or a.labels == b.labels)
        and a.deletion_timestamp == b.deletion_timestamp
        and a.creation_timestamp == b.creation_timestamp
    )


def node_may_help(old: Node | None, new: Node) -> bool:
    """nodeSchedulingPropertiesChange: added, or a property the plugins read changed
    (unschedulable, allocatable, labels, taints, condition statuses); heartbeats do not."""
    if old is None:
        return True
    return (
        old.spec.unschedulable != new.spec.unschedulable
        or old.spec.taints != new.spec.taints
        or old.metadata.labels != new.metadata.labels
        or old.status.allocatable != new.status.allocatable
        or _conditions(old) != _conditions(new)
    )


# --- absorbing watch events --------------------------------------------------------------


def _placed_as(snap: Snapshot, key: ObjectKey, pod: Pod) -> bool:
    """Whether the snapshot already counts `pod` exactly as this version would be
    counted: same node and everything `pod_info` reads (spec, labels, uid, deletion,
    start time). The assumed pod's bound version and the kubelet's status writes arrive
    so; re-adding them would rebuild the NodeInfo for nothing (upstream's cache also
    only confirms an assumed pod)."""
    held = snap.pod(key)
    if held is None:
        return False
    old = held.pod
    if old is pod:
        return True
    a, b = old.metadata, pod.metadata
    return (
        (old.spec is pod.spec or old.spec == pod.spec)
        and old.status.start_time == pod.status.start_time
        and a.uid == b.uid
        and a.labels == b.labels
        and a.deletion_timestamp == b.deletion_timestamp
        and a.creation_timestamp == b.creation_timestamp
    )


def _absorb_pod(s: SchedulerState, view: ClusterState, ev: WatchEvent, pod: Pod, now: Time) -> SchedulerState:
    key = _pod_key(pod)
    snap, q, assumed = s.snapshot, s.queue, s.assumed
    was_counted = key in snap.pod_nodes
    if ev.type is WatchType.DELETED:
        snap, q = remove_pod(snap, key), sq.delete(q, key)
        if key in assumed:
            assumed = assumed.discard(key)
        if was_counted:
            q = sq.move_all(q, now)  # AssignedPodDelete
        return _evolve_state(s, view=view, snapshot=snap, queue=q, assumed=assumed)
    is_assumed = key in assumed
    if counts_on_node(pod):
        if not _placed_as(snap, key, pod):
            snap = add_pod(snap, pod)
        if not was_counted or is_assumed:  # AssignedPodAdd: first seen bound in the API
            q = sq.move_pod_constrained(q, now)
        if is_assumed:
            assumed, is_assumed = assumed.discard(key), False
    elif not is_assumed:
        snap = remove_pod(snap, key)
        if was_counted:
            q = sq.move_all(q, now)  # an assigned pod turned terminal: its space is free
    waits = not is_assumed and responsible(pod)
    q = sq.update(q, pod, now) if waits else sq.delete(q, key)
    return _evolve_state(s, view=view, snapshot=snap, queue=q, assumed=assumed)


def absorb(s: SchedulerState, delivered: WatchDelivered, now: Time) -> SchedulerState:
    """Fold one delivered watch event into the view, the Snapshot and the queue."""
    ev = delivered.event
    view = follow(s.view, delivered)
    obj = ev.obj
    if ev.type is WatchType.ERROR:
        return _evolve_state(s, view=view)
    if isinstance(obj, Pod):
        return _absorb_pod(s, view, ev, obj, now)
    if isinstance(obj, Node):
        if ev.type is WatchType.DELETED:
            return _evolve_state(s, view=view, snapshot=remove_node(s.snapshot, obj.metadata.name))
        old = get(s.view, ev.key)
        snap = update_node(s.snapshot, obj)
        prev = old if isinstance(old, Node) else None
        q = sq.move_all(s.queue, now) if node_may_help(prev, obj) else s.queue
        return _evolve_state(s, view=view, snapshot=snap, queue=q)
    if isinstance(obj, Namespace) and ev.type is not WatchType.DELETED:
        return _evolve_state(s, view=view, snapshot=update_namespace(s.snapshot, obj))
    return _evolve_state(s, view=view)


# --- one scheduling cycle ----------------------------------------------------------------


def _unschedulable_status(pod: Pod, reason: str, message: str, nominated: str | None, now: Time) -> Pod | None:
    """updatePod: the pod with PodScheduled=False (and the nomination), None if unchanged."""
    status = pod.status
    old = next((c for c in status.conditions if c.type == POD_SCHEDULED), None)
    nominated_name = status.nominated_node_name if nominated is None else nominated
    same = (
        old is not None
        and old.status is ConditionStatus.FALSE
        and old.reason == reason
        and old.message == message
    )
    if same and nominated_name == status.nominated_node_name:
        return None
    stamp = Time(float(int(now)))
    changed_status = old is None or old.status is not ConditionStatus.FALSE
    cond = PodCondition(
        type=POD_SCHEDULED,
        status=ConditionStatus.FALSE,
        reason=reason,
        message=message,
        last_transition_time=stamp if changed_status or old is None else old.last_transition_time,
    )
    conditions = (*(c for c in status.conditions if c.type != POD_SCHEDULED), cond)
    new_status = attrs.evolve(status, conditions=conditions, nominated_node_name=nominated_name)
    return attrs.evolve(pod, status=new_status)


def _failure_effects(
    s: SchedulerState, pod: Pod, reason: str, message: str, nominated: str | None, now: Time
) -> tuple[SchedulerState, tuple[Effect, ...]]:
    """handleSchedulingFailure: the FailedScheduling event and the status update."""
    key = _pod_key(pod)
    effects: list[Effect] = [
        RecordEvent(involved=key, type=EventType.WARNING, reason=FAILED_SCHEDULING, message=message)
    ]
    current = get(s.view, key)
    updated = _unschedulable_status(current if isinstance(current, Pod) else pod, reason, message, nominated, now)
    if updated is not None:
        tag = StatusWrite(pod=key, resource_version=updated.metadata.resource_version)
        effects.append(CallApi(request=Update(obj=updated, subresource=Subresource.STATUS), tag=tag))
    return s, tuple(effects)


def _preempt(pod: Pod, nomination: Nomination) -> tuple[Effect, ...]:
    """prepareCandidate: delete each victim, with a Preempted event on it."""
    effects: list[Effect] = []
    preemptor = _pod_key(pod)
    message = f"Preempted by pod {pod.metadata.uid} on node {nomination.node_name}"
    for victim in nomination.victims:
        effects.append(RecordEvent(involved=victim, type=EventType.NORMAL, reason=PREEMPTED, message=message))
        effects.append(CallApi(request=Delete(key=victim), tag=Preemption(victim=victim, preemptor=preemptor)))
    return tuple(effects)


def schedule_cycle(s: SchedulerState, qp: sq.QueuedPod, config: SchedulerConfig, now: Time) -> Out:
    """scheduleOne for one popped pod: assume and bind, or record why not and re-queue."""
    pod = qp.pod
    result = schedule_one(s.snapshot, pod, config, s.view.config.seed, s.next_start)
    s = _evolve_state(s, next_start=result.next_start_index)
    match result:
        case Success(node_name=node):
            bound = attrs.evolve(pod, spec=attrs.evolve(pod.spec, node_name=node))
            binding = Binding(pod=qp.key, uid=pod.metadata.uid)
            s = attrs.evolve(
                s,
                snapshot=add_pod(s.snapshot, bound),
                assumed=s.assumed.set(qp.key, node),
                binds=s.binds.set(binding, BindCall(queued=qp, node=node)),
            )
            return s, (CallApi(request=Bind(key=qp.key, node_name=node), tag=binding),)
        case Unschedulable(message=message, nomination=nomination):
            preempted = _preempt(pod, nomination) if nomination is not None else ()
            nominated = nomination.node_name if nomination is not None else None
            s, failed = _failure_effects(s, pod, REASON_UNSCHEDULABLE, message, nominated, now)
            s = _evolve_state(s, queue=sq.add_unschedulable(s.queue, qp, now))
            return s, (*preempted, *failed)
        case _:
            assert_never(result)


# --- answers -----------------------------------------------------------------------------


def _forget(s: SchedulerState, key: ObjectKey) -> SchedulerState:
    """ForgetPod: drop the assumed pod; the view's version of it counts if it is bound."""
    snap = remove_pod(s.snapshot, key)
    current = get(s.view, key)
    if isinstance(current, Pod) and counts_on_node(current):
        snap = add_pod(snap, current)
    return _evolve_state(s, snapshot=snap, assumed=s.assumed.discard(key))


def answered(s: SchedulerState, binding: Binding, ok: bool, message: str, now: Time) -> Out:
    """A binding's answer: the Scheduled event, or forget, move, record and back off."""
    call = s.binds.get(binding)
    if call is None:
        return s, ()
    s = _evolve_state(s, binds=s.binds.discard(binding))
    qp = call.queued
    key = qp.key
    if ok:
        text = f"Successfully assigned {key.namespace}/{key.name} to {call.node}"
        return s, (RecordEvent(involved=key, type=EventType.NORMAL, reason=SCHEDULED, message=text),)
    s = _forget(s, key)
    s = _evolve_state(s, queue=sq.move_all(s.queue, now))
    current = get(s.view, key)
    if not isinstance(current, Pod) or not responsible(current):
        return s, ()
    why = f'running Bind plugin "DefaultBinder": {message}'
    s, effects = _failure_effects(s, current, REASON_SCHEDULER_ERROR, why, None, now)
    q = sq.add_backoff(s.queue, attrs.evolve(qp, pod=current), now)
    return _evolve_state(s, queue=q), effects


# --- the component -----------------------------------------------------------------------


def initial_state(view: ClusterState, now: Time) -> SchedulerState:
    """The state a LIST gives: bound pods counted, pending pods queued in key order."""
    q = sq.SchedulingQueue()
    for obj in list_objects(view, Kind.POD):
        if isinstance(obj, Pod) and responsible(obj):
            q = sq.add(q, obj, now)
    return SchedulerState(view=view, snapshot=from_state(view), queue=q)


def resync(s: SchedulerState, view: ClusterState, now: Time) -> SchedulerState:
    """Relist: a fresh view and Snapshot (built once); assumed pods still unbound stay
    assumed, the queue keeps its pods that still wait and gains the new ones."""
    snap = from_state(view)
    assumed = s.assumed
    for key in sorted(assumed):
        current = get(view, key)
        if isinstance(current, Pod) and responsible(current):
            node = assumed[key]
            snap = add_pod(snap, attrs.evolve(current, spec=attrs.evolve(current.spec, node_name=node)))
        else:
            assumed = assumed.discard(key)
    q = s.queue
    for key in sorted(q.pods):
        if not isinstance(get(view, key), Pod):
            q = sq.delete(q, key)
    for obj in list_objects(view, Kind.POD):
        if isinstance(obj, Pod):
            key = _pod_key(obj)
            if responsible(obj) and key not in assumed:
                q = sq.update(q, obj, now)
            else:
                q = sq.delete(q, key)
    q = sq.move_all(q, now)
    return _evolve_state(s, view=view, snapshot=snap, assumed=assumed, queue=q)


@attrs.frozen(kw_only=True)
class Scheduler:
    """kube-scheduler: one default profile, watching pods, nodes and namespaces."""

    name: str = NAME
    # the profile's recorder (profile.go: NewRecorder(scheme, profileName))
    event_source: EventSource = EventSource(component=DEFAULT_SCHEDULER_NAME)
    watches: frozenset[Kind] = frozenset({Kind.POD, Kind.NODE, Kind.NAMESPACE})
    config: SchedulerConfig = SchedulerConfig()
    batch: int = DEFAULT_BATCH

    def wants(self, event: WatchEvent, old: ApiObject | None = None) -> bool:
        """Every event but a pod update `pod_update_matters` finds irrelevant (`old` None:
        unknown, taken)."""
        new = event.obj
        if event.type is not WatchType.MODIFIED or not isinstance(new, Pod) or not isinstance(old, Pod):
            return True
        return pod_update_matters(old, new)

    def init(self, view: ClusterState, now: Time) -> Out:
        """Build the state from a fresh LIST; scheduling starts on `Started`."""
        return initial_state(view, now), ()

    def step(self, state: SchedulerState, event: Event) -> Out:
        """Absorb `event`, then run scheduling cycles and ask for the timers needed.

        Handles every driver event (runtime events do not concern it); emits `CallApi`
        (Bind, status Update, victim Delete), `RecordEvent` and `WakeMeAt`."""
        s, now = state, event.now
        effects: tuple[Effect, ...] = ()
        match event:
            case Started():
                pass
            case WatchDelivered():
                s = absorb(s, event, now)
            case ApiAnswered(tag=Binding() as binding, response=resp):
                body = resp.body
                message = body.message if isinstance(body, Status) else ""
                s, effects = answered(s, binding, resp.ok, message, now)
            case ApiAnswered():
                pass  # status updates and victim deletions: the next attempt repairs either
            case TimerFired(key=Timer.CONTINUE):
                s = _evolve_state(s, continuing=False)
            case TimerFired(key=Timer.BACKOFF):
                if s.backoff_at is not None and now >= s.backoff_at:
                    s = _evolve_state(s, backoff_at=None)
            case TimerFired(key=Timer.FLUSH):
                if s.wake_at is not None and now >= s.wake_at:
                    s = _evolve_state(s, wake_at=None)
            case TimerFired():
                pass
            case Resynced(view=view):
                s = resync(s, view, now)
            case RuntimeAnswered() | RuntimeNotified():
                return state, ()
            case _:
                assert_never(event)
        s, more = self.run(s, now)
        return s, (*effects, *more)

    def run(self, s: SchedulerState, now: Time) -> Out:
        """Flush due backoffs, schedule up to `batch` pods, then ask for the next wake-ups."""
        q = sq.prune(sq.flush(s.queue, now))
        if q is not s.queue:
            s = _evolve_state(s, queue=q)
        effects: list[Effect] = []
        for _ in range(self.batch):
            q, qp = sq.pop(s.queue)
            if qp is None:
                break
            s, out = schedule_cycle(_evolve_state(s, queue=q), qp, self.config, now)
            effects.extend(out)
        q = sq.prune(s.queue)
        if q is not s.queue:
            s = _evolve_state(s, queue=q)
        if sq.has_active(q) and not s.continuing:
            s = _evolve_state(s, continuing=True)
            effects.append(WakeMeAt(at=now, key=Timer.CONTINUE, in_motion=True))
        backoff = sq.next_backoff_end(q)
        if backoff is not None and (s.backoff_at is None or backoff < s.backoff_at):
            s = _evolve_state(s, backoff_at=backoff)
            effects.append(WakeMeAt(at=backoff, key=Timer.BACKOFF, in_motion=True))
        wake = sq.next_unschedulable_flush(q)
        if wake is not None and (s.wake_at is None or wake < s.wake_at):
            s = _evolve_state(s, wake_at=wake)
            effects.append(WakeMeAt(at=wake, key=Timer.FLUSH))
        return s, tuple(effects)
