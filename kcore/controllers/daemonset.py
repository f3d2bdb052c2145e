"""The DaemonSet controller as a pure component: one pod per eligible node.

Owns `DaemonSetController` (name "daemonset-controller", watches DaemonSet, Node, Pod),
its state `DaemonSetState`, the request tag `Op` and the creation `Burst`. What one sync
decides (observe -> `Plan`) lives in `daemonset_plan`, the rolling update in
`daemonset_update`, the per-pod and per-node rules (hash, tolerations, pinning,
eligibility) in `daemonset_util`.

Theory of operation (level-triggered, as upstream's syncDaemonSet):
- `step` folds the event into the informer view and maps it to DaemonSet keys: a
  DaemonSet to itself, a pod to its controlling DaemonSet, a node added or deleted (or
  changed in labels, taints or unschedulable) to every DaemonSet. Keys sync in order.
- `sync` observes the DaemonSet's pods grouped by target node (spec.nodeName, or the
  node a pending pod is pinned to; terminal pods already being deleted are left out) and
  the revision hash of its template (`daemonset_util.template_hash`), decides a `Plan`
  and emits it. While its expectations are unsatisfied or a creation burst is out it only
  writes status (observedGeneration untouched). Otherwise manage: per node in name order
  (podsShouldBeOnNode) create a pod where one should run and none exists, delete failed
  pods (rate limited per node by `failedPodsBackoff`, 1 s doubling to 15 min, a Warning
  FailedDaemonPod event), succeeded pods, all but the oldest running pod (without
  surge; with surge one old and one new may coexist until the new one is available),
  every pod of a node that should no longer run it, and pending pods pinned to nodes
  that are gone. When manage has nothing to do and the strategy is RollingUpdate,
  `rolling_update_plan` picks old pods to delete (maxUnavailable) or nodes to surge onto
  (maxSurge). Creates go out in slow-start batches (1, 2, 4, ...; at most 250 per sync),
  each pinned to its node by required node affinity matchFields metadata.name; the
  default scheduler binds them. Then status is written (only when it changed).
- A request's tag says what it answers (`Op(owner, action, pod)`); a timer's key is the
  DaemonSet's key, through the work queue. In flight: `expectations` (creations counted,
  deletions by pod key, cleared by the watch, expired after 5 simulated minutes),
  `bursts`, `status_writes` (one at a time), `requests_out` (what a relist keeps); so a
  slow watch never makes two pods for one node.
- minReadySeconds: a ready but not yet available pod asks for a wake one second after it
  becomes available, in motion.
- A failed create burst or delete resyncs after the work queue's rate-limited requeue
  (5 ms doubling to 1000 s), not at once; an event still syncs at once. A failed status
  write resyncs 1 s later (`STATUS_RETRY`).
- Settling (`kcore.component.workqueue`): the availability wait and the first retry after
  a failed create, delete or status write are in motion; later retries and the failed-pod
  backoff (a daemon pod that failed on its node again) are merely scheduled.

Differences from upstream: no ControllerRevision objects (the hash stands in; see
docs/semantics.md), so no history cleanup or rollback; orphan pods are not adopted and
owned pods that stop matching the selector are ignored rather than released; node and
candidate order is by name where upstream iterates a Go map.

Watch filter (`wants`): every DaemonSet and Node event; a Pod event only when the pod is
controlled by a DaemonSet or is an orphan (no controller ownerReference), as upstream's
addPod/updatePod/deletePod return early for a controllerRef of another kind. The view is
the shared informer cache, so a skipped pod is never read stale: the controller reads
only its own pods (`dependents` of a DaemonSet) and Nodes. A pod whose controllerRef moves
from a DaemonSet straight to another kind in one write is not seen leaving (upstream
enqueues the old DaemonSet); the next sync of that DaemonSet sees it gone.

Must not know: the driver's queue, the scheduler or kubelet internals, other controllers.
Mirrors pkg/controller/daemon/daemon_controller.go (syncDaemonSet, manage, syncNodes,
storeDaemonSetStatus, the pod and node event handlers).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Final, assert_never

import attrs
from pyrsistent import pmap
from pyrsistent.typing import PMap

from kcore.api.apps import DaemonSet, DaemonSetStatus
from kcore.api.core import EventSource, Node
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ApiObject, Time, evolver
from kcore.api.pod import Pod, PodTemplateSpec
from kcore.api.watch import WatchEvent, WatchType
from kcore.component.effects import CallApi, Effect, RecordEvent
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
from kcore.component.requests import Create, Delete, Request, Response
from kcore.component.workqueue import (
    DEFAULT_RATE_LIMITER,
    RateLimiter,
    WorkQueue,
    fired,
    forget,
    requeue,
    wake,
)
from kcore.controllers import daemonset_util as du
from kcore.controllers import expectations as exps
from kcore.controllers.daemonset_plan import (
    Backoff,
    BackoffWait,
    Observed,
    Plan,
    decide,
    observe,
    selects_all,
)
from kcore.controllers.expectations import Expectations, RequestsOut
from kcore.controllers.ownership import resolve_controller_ref
from kcore.controllers.podcontrol import (
    SlowStart,
    burst_create_answered,
    delete_answered,
    key_of,
    mine_or_orphan,
    slow_start,
)
from kcore.controllers.status import StatusWrites, emit_status, forget_owner, status_write_answered
from kcore.state import ClusterState, get, list_objects

NAME: Final = "daemonset-controller"

STATUS_RETRY: Final = RateLimiter(base_delay=1.0, max_delay=1.0)
"""A failed status write: the DaemonSet is synced again 1 s later."""


# --- requests and state ---------------------------------------------------------------------


class Action(enum.Enum):
    CREATE = "create"
    DELETE = "delete"
    STATUS = "status"


@attrs.frozen(kw_only=True)
class Op:
    """The tag of a request: the DaemonSet it is for, what it does, and to which pod."""

    owner: ObjectKey
    action: Action
    pod: ObjectKey | None = None


@attrs.frozen(kw_only=True)
class Burst:
    """A creation burst: slow-start progress, the DaemonSet and its stamped template, the
    nodes not yet sent."""

    progress: SlowStart
    ds: DaemonSet
    template: PodTemplateSpec
    nodes: tuple[str, ...]


@attrs.frozen(kw_only=True)
class DaemonSetState:
    """The controller's own state (never the cluster's)."""

    view: ClusterState
    queue: WorkQueue = WorkQueue(kind=Kind.DAEMON_SET)
    expectations: Expectations = exps.NO_EXPECTATIONS
    requests_out: RequestsOut = pmap()
    bursts: PMap[ObjectKey, Burst] = pmap()
    status_writes: StatusWrites[DaemonSetStatus] = StatusWrites()
    failed_backoff: PMap[str, Backoff] = pmap()  # failedPodsBackoff, by `backoff_key`


_evolve = evolver(DaemonSetState)  # attrs.evolve for the hot per-event state updates


# --- the component --------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class DaemonSetController:
    """The DaemonSet controller: one daemon pod per eligible node, rolling updates."""

    name: str = NAME
    event_source: EventSource = EventSource(component=NAME)  # daemon_controller.go
    watches: frozenset[Kind] = frozenset({Kind.DAEMON_SET, Kind.NODE, Kind.POD})

    def wants(self, event: WatchEvent, old: ApiObject | None = None) -> bool:
        """The watch filter (see the module doc): DaemonSets, Nodes, and pods controlled by a
        DaemonSet or by nothing."""
        return mine_or_orphan(event.obj, Kind.POD, Kind.DAEMON_SET)

    def init(self, view: ClusterState, now: Time) -> tuple[DaemonSetState, tuple[Effect, ...]]:
        """A fresh state over a fresh LIST; the `Started` event then syncs every DaemonSet."""
        return DaemonSetState(view=view), ()

    def step(self, state: DaemonSetState, event: Event) -> tuple[DaemonSetState, tuple[Effect, ...]]:
        """Absorb one event, then sync every DaemonSet it concerns, in key order.

        Handles Started/Resynced (sync all), WatchDelivered (DaemonSets, nodes, pods),
        ApiAnswered (creates, deletes, status writes), TimerFired (resync one). May emit
        CallApi (Create/Delete pods, Update status), RecordEvent, WakeMeAt.
        """
        s, now = state, event.now
        keys: Iterable[ObjectKey] = ()
        effects: list[Effect] = []
        match event:
            case Started():
                keys = _all_daemon_sets(s.view)
            case WatchDelivered():
                s, keys = _absorb(s, event)
            case ApiAnswered(tag=Op() as op, response=resp):
                s, keys, answered = _answered(s, op, resp, now)
                effects.extend(answered)
            case TimerFired():
                queue, key = fired(s.queue, event)
                s = s if queue is s.queue else _evolve(s, queue=queue)
                keys = () if key is None else (key,)
            case Resynced(view=view):
                # a relist shows every answered write: only DaemonSets with requests still
                # out keep their expectations (the events that would lower the rest never come)
                s = _evolve(s, view=view, expectations=exps.keep_only(s.expectations, s.requests_out))
                keys = _all_daemon_sets(view)
            case ApiAnswered() | RuntimeAnswered() | RuntimeNotified():
                pass
            case _:
                assert_never(event)
        for key in sorted(keys):
            s, synced = sync(s, key, now)
            effects.extend(synced)
        return s, tuple(effects)


# --- absorbing events -----------------------------------------------------------------------


def _all_daemon_sets(view: ClusterState) -> set[ObjectKey]:
    return {key_of(o) for o in list_objects(view, Kind.DAEMON_SET)}


def _node_changed(old: object, new: object) -> bool:
    """Whether a node update can change eligibility (labels, taints, unschedulable)."""
    if not isinstance(old, Node) or not isinstance(new, Node):
        return True
    return (old.metadata.labels, old.spec.taints, old.spec.unschedulable) != (
        new.metadata.labels,
        new.spec.taints,
        new.spec.unschedulable,
    )


def _absorb(s: DaemonSetState, delivered: WatchDelivered) -> tuple[DaemonSetState, set[ObjectKey]]:
    we = delivered.event
    key = we.key
    old = get(s.view, key)
    s = _evolve(s, view=follow(s.view, delivered))
    match key.kind:
        case Kind.DAEMON_SET:
            if we.type is WatchType.DELETED:
                s = _evolve(s, expectations=exps.forget(s.expectations, key))
            return s, {key}
        case Kind.NODE:
            if we.type is WatchType.MODIFIED and not _node_changed(old, we.obj):
                return s, set()
            return s, _all_daemon_sets(s.view)
        case Kind.POD:
            return _absorb_pod(s, we, old)
        case _:
            return s, set()


def _absorb_pod(s: DaemonSetState, we: WatchEvent, old: ApiObject | None) -> tuple[DaemonSetState, set[ObjectKey]]:
    """A pod event concerns its DaemonSet now and the one it had before; it lowers the
    expectations of the one that controls it."""
    keys: set[ObjectKey] = set()
    new = we.obj if isinstance(we.obj, Pod) else None
    owner = resolve_controller_ref(s.view, Kind.DAEMON_SET, new) if new is not None else None
    if owner is not None:
        keys.add(owner)
        gone = we.type is WatchType.DELETED or we.obj.metadata.deletion_timestamp is not None
        if gone:
            s = _evolve(s, expectations=exps.deletion_observed(s.expectations, owner, we.key))
        elif we.type is WatchType.ADDED:
            s = _evolve(s, expectations=exps.creation_observed(s.expectations, owner))
    if isinstance(old, Pod) and (previous := resolve_controller_ref(s.view, Kind.DAEMON_SET, old)) is not None:
        keys.add(previous)
    return s, keys


# --- sync: observe, decide, emit ------------------------------------------------------------


def sync(s: DaemonSetState, key: ObjectKey, now: Time) -> tuple[DaemonSetState, tuple[Effect, ...]]:
    """syncDaemonSet for `key`: observe its nodes and pods, decide a `Plan`, emit it."""
    ds = get(s.view, key)
    if not isinstance(ds, DaemonSet):
        return forget_owner(s, key, DEFAULT_RATE_LIMITER, STATUS_RETRY), ()
    if ds.metadata.deletion_timestamp is not None:
        return s, ()
    refused = selects_all(ds)
    if refused is not None:
        return s, (refused,)
    seen = observe(s.view, ds)
    act = exps.satisfied(s.expectations, key, now) and key not in s.bursts
    return _emit(s, seen, decide(seen, act=act, failed_backoff=s.failed_backoff, now=now), now)


def _emit(s: DaemonSetState, seen: Observed, plan: Plan, now: Time) -> tuple[DaemonSetState, tuple[Effect, ...]]:
    """Send the plan (syncNodes, then storeDaemonSetStatus): manage's events and backoff
    wakes in order, expectations raised before the creates and deletes go, the status
    write one at a time, wakes through the work queue."""
    ds, key = seen.ds, key_of(seen.ds)
    effects: list[Effect] = []
    for note in plan.notes:
        match note:
            case RecordEvent():
                effects.append(note)
            case BackoffWait(at=at):
                s, wakes = wake(s, key, at)
                effects.extend(wakes)
            case _:
                assert_never(note)
    if plan.failed_backoff is not s.failed_backoff:
        s = _evolve(s, failed_backoff=plan.failed_backoff)
    if plan.create or plan.delete:
        victims = tuple(key_of(p) for p in plan.delete)
        s = _evolve(s, expectations=exps.expect(s.expectations, key, add=len(plan.create), deletes=victims, now=now))
        if plan.create:
            progress = slow_start(len(plan.create))
            burst = Burst(progress=progress, ds=ds, template=du.stamped_template(ds, seen.hash), nodes=plan.create)
            s = _evolve(s, bursts=s.bursts.set(key, burst))
            s = _send_creates(s, key, progress.in_flight, effects)
        for pk in victims:
            s = _send(s, Delete(key=pk), Op(owner=key, action=Action.DELETE, pod=pk), effects)
    status = Op(owner=key, action=Action.STATUS)
    s, tail = emit_status(
        s, key, ds, plan.status, current=ds.status, tag=status, available_at=plan.available_at
    )
    return s, (*effects, *tail)


# --- answers --------------------------------------------------------------------------------


def _answered(
    s: DaemonSetState, op: Op, resp: Response, now: Time
) -> tuple[DaemonSetState, set[ObjectKey], tuple[Effect, ...]]:
    """What an answer to one of our requests changes: the DaemonSets to sync and the
    effects it asks for (its event, the next batch of a burst, a retry)."""
    s = _evolve(s, requests_out=exps.request_answered(s.requests_out, op.owner))
    owner, pod = op.owner, op.pod
    match op.action:
        case Action.CREATE:
            return _created(s, owner, resp, now)
        case Action.DELETE:
            return _deleted(s, owner, pod, resp, now) if pod is not None else (s, {owner}, ())
        case Action.STATUS:
            s, resync, wakes = status_write_answered(s, owner, resp, now, STATUS_RETRY)
            return s, {owner} if resync else set(), wakes
        case _:
            assert_never(op.action)


def _created(
    s: DaemonSetState, owner: ObjectKey, resp: Response, now: Time
) -> tuple[DaemonSetState, set[ObjectKey], tuple[Effect, ...]]:
    """A create of a burst answered: its event; the next batch when this one is all
    answered; at the end of the burst a resync, or (after a failure) a backoff."""
    answer = burst_create_answered(s.expectations, s.bursts, owner, resp)
    s = _evolve(s, expectations=answer.expectations, bursts=answer.bursts)
    effects: list[Effect] = [answer.event]
    if answer.send:
        s = _send_creates(s, owner, answer.send, effects)
    if answer.ended is None:
        return s, {owner} if answer.unknown else set(), tuple(effects)
    if answer.ended.error:
        # no resync now (it would create again at once, a hot loop while a quota refuses):
        # after a backoff, as upstream's AddRateLimited after a failed syncDaemonSet
        s, wakes = requeue(s, owner, now)
        return s, set(), (*effects, *wakes)
    return _evolve(s, queue=forget(s.queue, owner)), {owner}, tuple(effects)


def _deleted(
    s: DaemonSetState, owner: ObjectKey, pod: ObjectKey, resp: Response, now: Time
) -> tuple[DaemonSetState, set[ObjectKey], tuple[Effect, ...]]:
    """A delete answered: its event; a failed one is waited for no more, and backs off."""
    event = delete_answered(owner, pod, resp)
    if resp.ok:
        return _evolve(s, queue=forget(s.queue, owner)), set(), () if event is None else (event,)
    # the informer will not observe this deletion: stop waiting for it
    s = _evolve(s, expectations=exps.deletion_observed(s.expectations, owner, pod))
    if event is None:  # already gone
        return s, {owner}, ()
    s, wakes = requeue(s, owner, now)
    return s, set(), (event, *wakes)


# --- sending --------------------------------------------------------------------------------


def _send(s: DaemonSetState, request: Request, op: Op, effects: list[Effect]) -> DaemonSetState:
    effects.append(CallApi(request=request, tag=op))
    return _evolve(s, requests_out=exps.requests_sent(s.requests_out, op.owner))


def _send_creates(s: DaemonSetState, owner: ObjectKey, size: int, effects: list[Effect]) -> DaemonSetState:
    """The next `size` creates of the burst, one pod pinned to each of its next nodes
    (each answer comes back to `_created`)."""
    burst = s.bursts[owner]
    tag = Op(owner=owner, action=Action.CREATE)
    effects.extend(
        CallApi(request=Create(obj=du.pod_for_node(burst.ds, burst.template, node)), tag=tag)
        for node in burst.nodes[:size]
    )
    return _evolve(
        s,
        requests_out=exps.requests_sent(s.requests_out, owner, size),
        bursts=s.bursts.set(owner, attrs.evolve(burst, nodes=burst.nodes[size:])),
    )



