"""The EndpointSlice controller: every Service with a selector has slices listing its pods.

Owns `EndpointSliceController` (component "endpointslice-controller", its Events from
"endpoint-slice-controller"), its state `SliceState`, and `sync`. The packing itself is
`endpointslice_reconciler.reconcile`, a pure function returning a `Plan`.

Rules (as upstream's Controller):
- A Service is synced when it is added, updated or deleted; when a pod it selects is
  added or deleted; when a pod update moves its endpoints (`services_to_update_on_pod_change`,
  the old pod being the view's copy before the event); one second after a slice it
  manages changed beyond the controller's own writes (the tracker's generation), was
  deleted unexpectedly, or changed its service-name or managed-by label; every Service at
  a start or relist. Node events only update the view: upstream reads nodes at sync time
  and queues on node changes only for topology hints, which kcore does not implement.
- Sync: a deleted Service forgets its trigger times and tracked slices (its slices are
  the garbage collector's: they are owned by it); an ExternalName Service or one without
  a selector gets nothing; otherwise the selected pods and the managed slices (not being
  deleted) are reconciled, unless the view is older than the controller's own writes
  (`stale_slices`), which requeues the Service rate-limited.
- One sync in flight per Service: its writes go out together, a sync wanted meanwhile runs
  after the last answer. A round with a failed write (or a pod whose node is not in the
  view) records a FailedToUpdateEndpointSlices Warning and requeues the Service
  rate-limited (1 s doubling to 1000 s, upstream's defaultSyncBackOff/maxSyncBackOff),
  at most 15 times in a row (maxRetries); a clean round forgets the failures. A create
  refused because the namespace is terminating and a delete of a slice already gone are
  not failures.

Differences from upstream: docs/semantics.md, "EndpointSlice controller".
Must not know: the driver, the Endpoints controller, kube-proxy.
Mirrors pkg/controller/endpointslice/endpointslice_controller.go.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, assert_never

import attrs
from pyrsistent import pmap, pset
from pyrsistent.typing import PMap, PSet

from kcore.api.core import EventSource, Node, Service
from kcore.api.discovery import (
    LABEL_MANAGED_BY,
    LABEL_SERVICE_NAME,
    MANAGED_BY_CONTROLLER,
    EndpointSlice,
)
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import Time
from kcore.api.pod import Pod
from kcore.api.watch import WatchType
from kcore.component.effects import Effect, EventType, RecordEvent
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
from kcore.component.inflight import Rounds, round_answered, round_sent, round_wanted
from kcore.component.informer import follow
from kcore.component.requests import Response
from kcore.component.workqueue import (
    RateLimiter,
    WorkQueue,
    add_after,
    add_rate_limited_up_to,
    fired,
    forget,
)
from kcore.controllers import endpointslice_reconciler as rec
from kcore.controllers.endpoint_util import (
    TriggerTimes,
    compute_trigger_time,
    forget_service,
    services_to_update_on_pod_change,
)
from kcore.controllers.endpointslice_reconciler import Op, Plan, SliceTracker
from kcore.state import ClusterState, get, list_objects, pods_selected, services_selecting

NAME: Final = "endpointslice-controller"
EVENT_SOURCE: Final = "endpoint-slice-controller"
SYNC_BACKOFF: Final = RateLimiter(base_delay=1.0, max_delay=1000.0)
"""defaultSyncBackOff (1 s) doubling to maxSyncBackOff (1000 s)."""
MAX_RETRIES: Final = 15
SLICE_CHANGE_DELAY: Final = 1.0
"""endpointSliceChangeMinSyncDelay: a slice change resyncs its Service a second later."""
FAILED_TO_UPDATE: Final = "FailedToUpdateEndpointSlices"

SliceIndex = PMap[ObjectKey, PMap[str, None]]


@attrs.frozen(kw_only=True)
class SliceState:
    """The controller's own state: the view, the retry queue (Service keys), the tracker of
    its own writes, the trigger times, the rounds out, and its slices by Service."""

    view: ClusterState
    queue: WorkQueue = WorkQueue(kind=Kind.SERVICE)
    tracker: SliceTracker = SliceTracker()
    triggers: TriggerTimes = TriggerTimes()
    rounds: Rounds = pmap()
    slices: SliceIndex = pmap()  # Service key -> names of the slices it manages (a cache of the view)
    awaiting: PSet[ObjectKey] = pset()  # Services whose view lagged their own writes: synced on their next slice event


@attrs.frozen
class EndpointSliceController:
    name: str = NAME
    event_source: EventSource = EventSource(component=EVENT_SOURCE)
    watches: frozenset[Kind] = frozenset({Kind.SERVICE, Kind.POD, Kind.NODE, Kind.ENDPOINT_SLICE})

    def init(self, view: ClusterState, now: Time) -> tuple[SliceState, tuple[Effect, ...]]:
        return SliceState(view=view, slices=_index(view)), ()

    def step(self, s: SliceState, ev: Event) -> tuple[SliceState, tuple[Effect, ...]]:
        """Absorb one event, then sync every Service it concerns, in key order.

        Handles Started/Resynced (sync all), WatchDelivered (Services, pods, slices; nodes
        fold in), ApiAnswered (slice writes), TimerFired (a requeue). May emit CallApi
        (Create/Update/Delete EndpointSlice), RecordEvent, WakeMeAt."""
        now = ev.now
        keys: Iterable[ObjectKey] = ()
        effects: list[Effect] = []
        match ev:
            case Started():
                keys = _all_services(s.view)
            case Resynced(view=view):
                s = attrs.evolve(s, view=view, rounds=pmap(), slices=_index(view), awaiting=pset())
                keys = _all_services(view)
            case WatchDelivered():
                s, keys, wakes = _absorb(s, ev)
                effects.extend(wakes)
            case ApiAnswered(tag=Op() as op, response=resp):
                s, keys, more = _answered(s, op, resp, now)
                effects.extend(more)
            case TimerFired():
                queue, key = fired(s.queue, ev)
                s = attrs.evolve(s, queue=queue)
                keys = () if key is None else (key,)
            case ApiAnswered() | RuntimeAnswered() | RuntimeNotified():
                pass
            case _:
                assert_never(ev)
        for key in sorted(set(keys)):
            s, synced = sync(s, key, now)
            effects.extend(synced)
        return s, tuple(effects)


# --- absorbing events ----------------------------------------------------------------------------


def _all_services(view: ClusterState) -> list[ObjectKey]:
    return [_key(o) for o in list_objects(view, Kind.SERVICE)]


def _key(obj: Service | Pod | EndpointSlice | object) -> ObjectKey:
    assert isinstance(obj, Service | Pod | EndpointSlice)
    return ObjectKey(kind=obj.KIND, namespace=obj.metadata.namespace, name=obj.metadata.name)


def _index(view: ClusterState) -> SliceIndex:
    return rec.slices_index(list_objects(view, Kind.ENDPOINT_SLICE), Kind.SERVICE, MANAGED_BY_CONTROLLER)


def _service_of(es: EndpointSlice) -> ObjectKey | None:
    return rec.label_owner(es, Kind.SERVICE, MANAGED_BY_CONTROLLER)


def _absorb(s: SliceState, delivered: WatchDelivered) -> tuple[SliceState, list[ObjectKey], tuple[Effect, ...]]:
    """Fold the event into the view; the Services to sync now, and the wakes asked for."""
    w = delivered.event
    old = get(s.view, w.key)
    s = attrs.evolve(s, view=follow(s.view, delivered))
    obj = w.obj
    match obj:
        case Service():
            return s, [w.key], ()
        case Pod():
            if w.type is WatchType.MODIFIED and isinstance(old, Pod):
                return s, list(services_to_update_on_pod_change(s.view, old, obj)), ()
            return s, list(services_selecting(s.view, obj.metadata.namespace, obj.metadata.labels)), ()
        case EndpointSlice():
            return _slice_event(s, w.type, old if isinstance(old, EndpointSlice) else None, obj, delivered.now)
        case _:
            return s, [], ()


def _slice_event(
    s: SliceState, kind: WatchType, old: EndpointSlice | None, es: EndpointSlice, now: Time
) -> tuple[SliceState, list[ObjectKey], tuple[Effect, ...]]:
    """onEndpointSliceAdd/Update/Delete: the index kept, and the Services to resync 1 s later."""
    deleted = kind is WatchType.DELETED
    index = s.slices
    if old is not None:
        index = rec.index_slice(index, _service_of(old), old.metadata.name, False)
    if not deleted:
        index = rec.index_slice(index, _service_of(es), es.metadata.name, True)
    s = attrs.evolve(s, slices=index)
    later: list[ObjectKey] = []
    svc = _label_service(es)
    managed = es.metadata.labels.get(LABEL_MANAGED_BY) == MANAGED_BY_CONTROLLER
    if deleted:
        if managed and svc is not None and rec.has_slice(s.tracker, svc, es):
            tracker, expected = rec.handle_deletion(s.tracker, svc, es.metadata.uid)
            s = attrs.evolve(s, tracker=tracker)
            if not expected:
                later.append(svc)
    elif kind is WatchType.MODIFIED and old is not None and _label_service(old) != svc:
        later.extend(k for k in (svc, _label_service(old)) if k is not None)
    else:
        was_managed = old is not None and old.metadata.labels.get(LABEL_MANAGED_BY) == MANAGED_BY_CONTROLLER
        changed_hands = kind is WatchType.MODIFIED and old is not None and was_managed != managed
        if svc is not None and (changed_hands or (managed and rec.should_sync(s.tracker, svc, es))):
            later.append(svc)
    wakes: list[Effect] = []
    queue = s.queue
    rounds = s.rounds
    now_keys: list[ObjectKey] = []
    if svc is not None and svc in s.awaiting:
        # the write the view lagged behind has arrived: sync now
        now_keys.append(svc)
        s = attrs.evolve(s, awaiting=s.awaiting.discard(svc))
        later = [k for k in later if k != svc]
    for key in later:
        rounds, busy = round_wanted(rounds, key)
        if busy:
            # A round of this Service is out: the change may be its own write seen before
            # its answer (which the tracker needs); sync again once the round is answered.
            continue
        queue, more = add_after(queue, key, Time(now + SLICE_CHANGE_DELAY), in_motion=True)
        wakes.extend(more)
    return attrs.evolve(s, queue=queue, rounds=rounds), now_keys, tuple(wakes)


def _label_service(es: EndpointSlice) -> ObjectKey | None:
    name = es.metadata.labels.get(LABEL_SERVICE_NAME, "")
    return ObjectKey(kind=Kind.SERVICE, namespace=es.metadata.namespace, name=name) if name else None


# --- sync ----------------------------------------------------------------------------------------


def sync(s: SliceState, key: ObjectKey, now: Time) -> tuple[SliceState, tuple[Effect, ...]]:
    """syncService for `key`: observe the Service, its pods and slices; decide; emit."""
    rounds, busy = round_wanted(s.rounds, key)
    if busy:
        return attrs.evolve(s, rounds=rounds), ()
    svc = get(s.view, key)
    if not isinstance(svc, Service):
        s = attrs.evolve(
            s,
            triggers=forget_service(s.triggers, key),
            tracker=rec.forget_owner(s.tracker, key),
            queue=forget(s.queue, key, SYNC_BACKOFF),
        )
        return s, ()
    if not rec.selects_pods(svc):
        return attrs.evolve(s, queue=forget(s.queue, key, SYNC_BACKOFF)), ()
    pods = pods_selected(s.view, key.namespace, svc.spec.selector)
    slices = rec.owned_slices(s.slices, key, lambda k: get(s.view, k))
    tracker, stale = rec.stale_slices(s.tracker, key, svc.metadata.uid, slices)
    s = attrs.evolve(s, tracker=tracker)
    if stale:
        # Our own write is not in the view yet: its watch event syncs the Service again
        # (work in motion, delivered by the driver); the timer is only a safety net.
        queue, wakes = add_after(s.queue, key, Time(now + SLICE_CHANGE_DELAY), in_motion=False)
        return attrs.evolve(s, queue=queue, awaiting=s.awaiting.add(key)), wakes
    triggers, trigger = compute_trigger_time(s.triggers, key, svc, pods)
    s = attrs.evolve(s, triggers=triggers)
    plan = rec.reconcile(svc, pods, slices, lambda n: _node(s.view, n), trigger)
    return _emit(s, key, plan, now)


def _node(view: ClusterState, name: str) -> Node | None:
    node = get(view, ObjectKey(kind=Kind.NODE, namespace="", name=name)) if name else None
    return node if isinstance(node, Node) else None


def _emit(s: SliceState, key: ObjectKey, plan: Plan, now: Time) -> tuple[SliceState, tuple[Effect, ...]]:
    calls = rec.plan_calls(key, plan)
    missing = f"skipping pods whose node is not found: {', '.join(plan.missing_nodes)}" if plan.missing_nodes else ""
    if not calls:
        if missing:
            return _retry(s, key, now, _event_message(key, missing), ())
        return attrs.evolve(s, queue=forget(s.queue, key, SYNC_BACKOFF)), ()
    return attrs.evolve(s, rounds=round_sent(s.rounds, key, len(calls), missing)), calls


def _event_message(key: ObjectKey, error: str) -> str:
    return f"Error updating Endpoint Slices for Service {key.namespace}/{key.name}: {error}"


def _retry(s: SliceState, key: ObjectKey, now: Time, message: str, effects: tuple[Effect, ...]) -> tuple[SliceState, tuple[Effect, ...]]:
    """handleErr: requeue rate-limited within the retry budget, else drop (forget); the
    Warning when the sync failed writing (not for a stale view)."""
    event: tuple[Effect, ...] = ()
    if message:
        event = (RecordEvent(involved=key, type=EventType.WARNING, reason=FAILED_TO_UPDATE, message=message),)
    queue, wakes = add_rate_limited_up_to(s.queue, key, now, max_retries=MAX_RETRIES, limiter=SYNC_BACKOFF)
    return attrs.evolve(s, queue=queue), (*effects, *event, *wakes)


def _answered(s: SliceState, op: Op, resp: Response, now: Time) -> tuple[SliceState, list[ObjectKey], tuple[Effect, ...]]:
    """A slice write answered: the tracker learns it; after the round's last answer, a
    failure requeues (with its Warning), success forgets, and a wanted sync runs."""
    tracker, error = rec.write_answered(s.tracker, op, resp)
    rounds, done = round_answered(s.rounds, op.owner, error)
    s = attrs.evolve(s, tracker=tracker, rounds=rounds)
    if done is None:
        return s, [], ()
    again = [op.owner] if done.again else []
    if done.error:
        s, effects = _retry(s, op.owner, now, _event_message(op.owner, done.error), ())
        return s, again, effects
    return attrs.evolve(s, queue=forget(s.queue, op.owner, SYNC_BACKOFF)), again, ()
