"""The ReplicaSet and ReplicationController controller: one implementation, two kinds.

Owns `ReplicaController` (parameterised by the owner `Kind`), its two instances
`ReplicaSetController` ("replicaset-controller") and `ReplicationControllerController`
("replicationcontroller-controller", its Events from "replication-controller"), the state
`ReplicaSetState`, the request tag `Op`, the sync's `Plan`, and the pure helpers
`compute_status`, `as_owner`, `owner_basis`, `with_status`.

Theory of operation (level-triggered, as upstream's syncReplicaSet):
- `step` folds the event into the informer view, maps it to owner keys (a pod to its
  controller, or an orphan to every owner whose selector matches it), then syncs those
  keys in sorted order.
- `sync` observes the owner and its claim (the pods it controls plus matching orphans,
  kept pod by pod in `replicaset_tally`), decides a `Plan` and emits it: adopt matching
  orphans and release owned pods that stopped matching; only when the owner's
  expectations are satisfied, no creation burst is out and no failure backoff is pending,
  manage: too few pods -> create `min(missing, 500)` from the template in slow-start
  batches 1, 2, 4, ... (a failed create ends the burst); too many -> delete the first
  `min(extra, 500)` in ActivePodsWithRanks order. Then write status when it changed.
- A request's tag says what it answers (`Op(owner, action, pod)`); a timer's key is the
  owner's key. In flight: `expectations`, `bursts`, `claiming` (adopt/release patches,
  until the view shows them), `status_writes`, `requests_out` (what a relist keeps).
- A failed create or delete records a `Failure`: status carries the ReplicaFailure
  condition until a later manage succeeds, and the owner is not managed again before its
  rate-limited requeue (5 ms doubling to 1000 s). A failed status write or adopt/release
  patch resyncs after 1 s (`WRITE_RETRY`).
- minReadySeconds: a ready pod not yet available resyncs the owner one second after it
  becomes available, in motion; the expectations' expiry wake is merely scheduled.
- `wants` drops pod updates of another kind's pods and those `pod_update_matters` says no
  sync reads (see the function).

Differences from upstream: docs/semantics.md, "ReplicaSet controller".
Must not know: the driver's queue, other controllers, the kubelet or scheduler.
Mirrors pkg/controller/replicaset/replica_set.go and pkg/controller/replication
(which runs the same code over ReplicationControllers through a conversion).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable
from typing import Final, assert_never

import attrs
from pyrsistent import pmap
from pyrsistent.typing import PMap

from kcore.api.apps import (
    ReplicaSet,
    ReplicaSetCondition,
    ReplicaSetConditionType,
    ReplicaSetStatus,
)
from kcore.api.core import (
    EventSource,
    ReplicationController,
    ReplicationControllerCondition,
    ReplicationControllerStatus,
)
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ApiObject, ConditionStatus, OwnerReference, Time, evolver
from kcore.api.pod import Pod, PodTemplateSpec
from kcore.api.watch import WatchEvent, WatchType
from kcore.component.effects import CallApi, Effect
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
    in_backoff,
    requeue,
    wake,
)
from kcore.controllers import expectations as exps
from kcore.controllers import replicaset_tally as tally
from kcore.controllers.expectations import Expectations, RequestsOut
from kcore.controllers.ownership import (
    availability_wake,
    parse_selector,
    pod_owners,
    resolve_controller_ref,
)
from kcore.controllers.podcontrol import (
    BURST_REPLICAS,
    FAILED_CREATE_POD_REASON,
    FAILED_DELETE_POD_REASON,
    SlowStart,
    adopt_request,
    burst_create_answered,
    co_location_ranks,
    controller_of,
    delete_answered,
    error_message,
    is_pod_available,
    is_pod_ready,
    key_of,
    pod_from_template,
    pods_to_delete,
    release_request,
    slow_start,
)
from kcore.controllers.replicaset_tally import Claiming, Orphans, Tally, pod_update_matters
from kcore.controllers.status import StatusWrites, emit_status, forget_owner, status_write_answered
from kcore.labels import Selector, selector_from_set
from kcore.state import ClusterState, dependents, get, list_objects

WRITE_RETRY: Final = RateLimiter(base_delay=1.0, max_delay=1.0)
"""A failed status write or adopt/release patch: the owner is synced again 1 s later."""


# --- requests and state ---------------------------------------------------------------------


class Action(enum.Enum):
    CREATE = "create"
    DELETE = "delete"
    ADOPT = "adopt"
    RELEASE = "release"
    STATUS = "status"


@attrs.frozen(kw_only=True)
class Op:
    """The tag of a request: the owner it is for, what it does, and to which pod."""

    owner: ObjectKey
    action: Action
    pod: ObjectKey | None = None


@attrs.frozen(kw_only=True)
class Burst:
    """A creation burst of one owner: the slow-start progress and the pod it stamps."""

    progress: SlowStart
    pod: Pod


@attrs.frozen(kw_only=True)
class Failure:
    """The last failed manage of an owner: the ReplicaFailure condition's reason and
    message (its backoff is the work queue's)."""

    reason: str
    message: str


@attrs.frozen(kw_only=True)
class ReplicaSetState:
    """The controller's own state (never the cluster's)."""

    view: ClusterState
    queue: WorkQueue
    expectations: Expectations = exps.NO_EXPECTATIONS
    requests_out: RequestsOut = pmap()
    bursts: PMap[ObjectKey, Burst] = pmap()
    # pods with an adopt/release patch out, and by whom: no one else claims them until the
    # view has seen the revision the patch made (0 while unanswered)
    claiming: PMap[ObjectKey, Claiming] = pmap()
    status_writes: StatusWrites[ReplicaSetStatus] = StatusWrites()
    failures: PMap[ObjectKey, Failure] = pmap()
    orphans: Orphans = pmap()  # namespace -> pods with no controller
    # per owner: its claim, kept per pod event (a cache: dropping any entry changes nothing)
    tallies: PMap[ObjectKey, Tally] = pmap()
    # per owner: its `Owner` (selector parsed) for the object last synced (a cache: not compared)
    owners: PMap[ObjectKey, Owner] = attrs.field(default=pmap(), eq=False, repr=False)


_evolve_state: Final = evolver(ReplicaSetState)


@attrs.frozen(kw_only=True)
class Observed:
    """What one sync reads: the owner and its claim."""

    owner: Owner
    tally: Tally


@attrs.frozen(kw_only=True)
class Plan:
    """What one sync of an owner sends, in order: adopt and release patches, then a
    creation burst of `create` copies of `pod` or the deletes of `delete` (or, `in_sync`,
    the standing failure cleared) or a wake at the expectations' expiry (`recheck_at`,
    merely scheduled), the status, and a wake when a pod becomes available (in motion)."""

    adopt: tuple[Pod, ...] = ()
    release: tuple[Pod, ...] = ()
    create: int = 0
    pod: Pod | None = None
    delete: tuple[Pod, ...] = ()
    in_sync: bool = False
    recheck_at: Time | None = None
    status: ReplicaSetStatus
    available_at: Time | None = None


# --- the component --------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ReplicaController:
    """The controller of `kind` (ReplicaSet or ReplicationController) and their pods."""

    kind: Kind
    name: str
    event_source: EventSource

    @property
    def watches(self) -> frozenset[Kind]:
        return frozenset({self.kind, Kind.POD})

    def wants(self, event: WatchEvent, old: ApiObject | None = None) -> bool:
        """The watch events this controller may act on: every owner event and pod
        deletion (deletion expectations, the orphan index); a pod's addition or update
        when the pod names an owner of this kind in an ownerReference or has no controller
        (upstream's addPod/updatePod return when resolveControllerRef finds no owner of
        this kind), or did so before the update; but not an update that changes nothing
        `pod_update_matters` reads. With `old` unknown (None) an update is judged by the
        new version alone."""
        obj = event.obj
        if not isinstance(obj, Pod) or event.type is WatchType.DELETED:
            return True
        kind = self.kind.value
        modified = event.type is WatchType.MODIFIED and isinstance(old, Pod)
        if self._candidate(obj.metadata.owner_references, kind):
            return not modified or not isinstance(old, Pod) or pod_update_matters(old, obj)
        # controlled by another kind now: taken only if it was a candidate before (then
        # its ownerReferences changed: it leaves a tally)
        return modified and isinstance(old, Pod) and self._candidate(old.metadata.owner_references, kind)

    @staticmethod
    def _candidate(refs: tuple[OwnerReference, ...], kind: str) -> bool:
        """Whether a pod with these ownerReferences may be counted by an owner of `kind`:
        one of them names that kind, or none is a controller (an orphan)."""
        foreign = False
        for ref in refs:
            if ref.kind == kind:
                return True
            foreign = foreign or bool(ref.controller)
        return not foreign

    def init(self, view: ClusterState, now: Time) -> tuple[ReplicaSetState, tuple[Effect, ...]]:
        """A fresh state over a fresh LIST; the `Started` event then syncs every owner."""
        return ReplicaSetState(view=view, queue=WorkQueue(kind=self.kind), orphans=tally.orphan_index(view)), ()

    def step(self, state: ReplicaSetState, event: Event) -> tuple[ReplicaSetState, tuple[Effect, ...]]:
        """Absorb one event, then sync every owner it concerns, in key order.

        Handles Started/Resynced (sync all), WatchDelivered (owners and pods), ApiAnswered
        (creates, deletes, adopt/release patches, status writes), TimerFired (resync one).
        May emit CallApi (Create/Delete/Patch pods, Update status), RecordEvent, WakeMeAt.
        """
        s, now = state, event.now
        keys: Iterable[ObjectKey] = ()
        effects: list[Effect] = []
        match event:
            case Started():
                keys = self._all_owners(s.view)
            case WatchDelivered():
                s, keys = self._absorb(s, event)
            case ApiAnswered(tag=Op() as op, response=resp):
                s, keys, answered = _answered(s, op, resp, now)
                effects.extend(answered)
            case TimerFired():
                queue, key = fired(s.queue, event)
                s = s if queue is s.queue else _evolve_state(s, queue=queue)
                keys = () if key is None else (key,)
            case Resynced(view=view):
                s = self._relisted(s, view)
                keys = self._all_owners(view)
            case ApiAnswered() | RuntimeAnswered() | RuntimeNotified():
                pass
            case _:
                assert_never(event)
        for key in sorted(keys):
            s, synced = self.sync(s, key, now)
            effects.extend(synced)
        return s, tuple(effects)

    # -- sync

    def sync(self, s: ReplicaSetState, key: ObjectKey, now: Time) -> tuple[ReplicaSetState, tuple[Effect, ...]]:
        """syncReplicaSet for `key`: observe the owner and its claim, decide, emit."""
        obj = get(s.view, key)
        if obj is None:
            return _forget_owner(s, key), ()
        s, seen = _observe(s, key, obj)
        if seen is None:
            return s, ()  # a selector that does not parse
        return _emit(s, seen.owner, decide(s, seen, now), now)

    # -- absorbing events

    def _all_owners(self, view: ClusterState) -> set[ObjectKey]:
        return {key_of(o) for o in list_objects(view, self.kind)}

    def _absorb(self, s: ReplicaSetState, delivered: WatchDelivered) -> tuple[ReplicaSetState, set[ObjectKey]]:
        we = delivered.event
        key = we.key
        if key.kind is self.kind:
            s = _evolve_state(s, view=follow(s.view, delivered))
            if we.type is WatchType.DELETED:
                s = _evolve_state(s, expectations=exps.forget(s.expectations, key))
            return s, {key}
        if key.kind is not Kind.POD:
            return _evolve_state(s, view=follow(s.view, delivered)), set()
        old = get(s.view, key)
        view = follow(s.view, delivered)
        new = None if we.type is WatchType.DELETED else we.obj
        keys = pod_owners(s.view, self.kind, old, _selects) | pod_owners(view, self.kind, new, _selects)
        changes: dict[str, object] = {"view": view}
        orphans = tally.reindex_orphan(s.orphans, key, new)
        if orphans is not s.orphans:
            changes["orphans"] = orphans
        landed = s.claiming.get(key)
        if landed is not None and (new is None or 0 < landed.written_rv <= we.resource_version):
            changes["claiming"] = s.claiming.discard(key)
        if new is None or new.metadata.deletion_timestamp is not None:
            expectations = exps.deletion_observed_anywhere(s.expectations, key)
            if expectations is not s.expectations:
                changes["expectations"] = expectations
        elif we.type is WatchType.ADDED and (owner := resolve_controller_ref(view, self.kind, new)) is not None:
            changes["expectations"] = exps.creation_observed(s.expectations, owner)
        s = _evolve_state(s, **changes)
        tallies = tally.retally(s.tallies, s.view, s.orphans, s.claiming, key, keys)
        return (s if tallies is s.tallies else _evolve_state(s, tallies=tallies)), keys

    def _relisted(self, s: ReplicaSetState, view: ClusterState) -> ReplicaSetState:
        """A relist shows every answered write: only owners with requests still out keep
        their expectations (the events that would have lowered the rest were never sent)."""
        return _evolve_state(
            s,
            view=view,
            orphans=tally.orphan_index(view),
            expectations=exps.keep_only(s.expectations, s.requests_out),
            tallies=pmap(),
        )


@attrs.frozen(kw_only=True)
class ReplicaSetController(ReplicaController):
    """The ReplicaSet controller (apps/v1 ReplicaSet, set-based selector)."""

    kind: Kind = Kind.REPLICA_SET
    name: str = "replicaset-controller"
    event_source: EventSource = EventSource(component="replicaset-controller")  # replica_set.go


@attrs.frozen(kw_only=True)
class ReplicationControllerController(ReplicaController):
    """The ReplicationController controller (v1 RC, equality-based selector map)."""

    kind: Kind = Kind.REPLICATION_CONTROLLER
    name: str = "replicationcontroller-controller"
    event_source: EventSource = EventSource(component="replication-controller")  # replication_controller.go


# --- sync: observe, decide, emit --------------------------------------------------------------


def _observe(s: ReplicaSetState, key: ObjectKey, obj: ApiObject) -> tuple[ReplicaSetState, Observed | None]:
    """The owner (its parse cached while its spec is the same object) and its tally (kept
    while valid, else counted afresh); None for a selector that does not parse."""
    cached = s.owners.get(key)
    owner = _owner_again(cached, obj)
    if owner is None:
        return _evolve_state(s, tallies=s.tallies.discard(key), owners=s.owners.discard(key)), None
    if owner is not cached:
        s = _evolve_state(s, owners=s.owners.set(key, owner))
    kept = s.tallies.get(key)
    t = tally.tally_of(s.view, s.orphans, s.claiming, kept, key, owner.obj, owner_basis(owner))
    if t is not kept:
        s = _evolve_state(s, tallies=s.tallies.set(key, t))
    return s, Observed(owner=owner, tally=t)


def decide(s: ReplicaSetState, seen: Observed, now: Time) -> Plan:
    """claimPods, manageReplicas (when expectations, bursts and backoff allow) and
    calculateStatus, as a `Plan`."""
    owner, t = seen.owner, seen.tally
    key = owner.key
    create, pod, in_sync, recheck_at = 0, None, False, None
    delete: tuple[Pod, ...] = ()
    if not exps.satisfied(s.expectations, key, now):
        # a watch event that never comes must not wedge the owner: resync at expiry (a
        # safety net, merely scheduled: the events it waits for are in motion themselves)
        expiry = exps.expires_at(s.expectations, key)
        if expiry is not None and key not in s.bursts:
            recheck_at = Time(expiry + 1.0)
    elif owner.obj.metadata.deletion_timestamp is None and key not in s.bursts and not in_backoff(s.queue, key, now):
        create, pod, delete, in_sync = _manage(s.view, owner, t, now)
    return Plan(
        adopt=tuple(t.adopt[pk] for pk in sorted(t.adopt) if pk not in s.claiming),
        release=tuple(t.release[pk] for pk in sorted(t.release) if pk not in s.claiming),
        create=create,
        pod=pod,
        delete=delete,
        in_sync=in_sync,
        recheck_at=recheck_at,
        status=tally_status(owner, t, None if in_sync else s.failures.get(key), now),
        available_at=availability_wake(t.claimed.values(), owner.min_ready_seconds, now),
    )


def _manage(view: ClusterState, owner: Owner, t: Tally, now: Time) -> tuple[int, Pod | None, tuple[Pod, ...], bool]:
    """manageReplicas: pods to create from the template, the ranked extras to delete, or
    (in sync) neither: (create, pod, delete, in_sync)."""
    diff = len(t.claimed) - owner.replicas
    if diff < 0:
        if owner.template is None:
            return 0, None, (), False
        return min(-diff, BURST_REPLICAS), pod_from_template(owner.template, owner.obj), (), False
    if diff > 0:
        pods = tally.sorted_claimed(t)
        ranks = co_location_ranks(pods, _related_pods(view, owner))
        return 0, None, pods_to_delete(pods, min(diff, BURST_REPLICAS), ranks, now), False
    return 0, None, (), True


def _emit(s: ReplicaSetState, owner: Owner, plan: Plan, now: Time) -> tuple[ReplicaSetState, tuple[Effect, ...]]:
    """Send the plan: patches marked `claiming`, expectations raised before the creates or
    deletes go, the status write one at a time, wakes through the work queue."""
    key = owner.key
    effects: list[Effect] = []
    for pod in plan.adopt:
        s = _claim(s, key, key_of(pod), Action.ADOPT, adopt_request(pod, owner.obj), effects)
    for pod in plan.release:
        s = _claim(s, key, key_of(pod), Action.RELEASE, release_request(pod, owner.obj.metadata.uid), effects)
    if plan.pod is not None:
        burst = Burst(progress=slow_start(plan.create), pod=plan.pod)
        s = _evolve_state(
            s,
            expectations=exps.expect_creations(s.expectations, key, plan.create, now),
            bursts=s.bursts.set(key, burst),
        )
        s = _send_creates(s, key, burst.progress.in_flight, effects)
    if plan.delete:
        victims = tuple(key_of(p) for p in plan.delete)
        s = _evolve_state(s, expectations=exps.expect_deletions(s.expectations, key, victims, now))
        for pk in victims:
            s = _send(s, Delete(key=pk), Op(owner=key, action=Action.DELETE, pod=pk), effects)
    if plan.in_sync:
        s = _recovered(s, key)
    if plan.recheck_at is not None:
        s, wakes = wake(s, key, plan.recheck_at)
        effects.extend(wakes)
    status = Op(owner=key, action=Action.STATUS)
    s, tail = emit_status(
        s, key, owner.obj, plan.status, current=owner.status, with_status=with_status, tag=status,
        available_at=plan.available_at,
    )
    return s, (*effects, *tail)


# --- answers ----------------------------------------------------------------------------------


def _answered(
    s: ReplicaSetState, op: Op, resp: Response, now: Time
) -> tuple[ReplicaSetState, set[ObjectKey], tuple[Effect, ...]]:
    """What an answer to one of our requests changes: the owners to sync and the
    effects it asks for (its event, the next batch of a burst, a retry)."""
    s = _evolve_state(s, requests_out=exps.request_answered(s.requests_out, op.owner))
    owner, pod = op.owner, op.pod
    match op.action:
        case Action.CREATE:
            return _created(s, owner, resp, now)
        case Action.DELETE:
            return _deleted(s, owner, pod, resp, now) if pod is not None else (s, {owner}, ())
        case Action.ADOPT | Action.RELEASE:
            if pod is None:
                return s, {owner}, ()
            if resp.ok and isinstance(resp.body, Pod):
                landed = Claiming(owner=owner, written_rv=resp.body.metadata.resource_version)
                s = _evolve_state(s, claiming=s.claiming.set(pod, landed), queue=forget(s.queue, owner, WRITE_RETRY))
                return s, set(), ()
            # no immediate resync: the view may not show yet why it failed (a 404 for a
            # pod whose DELETED event is still on its way), so retrying now could loop
            s, wakes = requeue(_evolve_state(s, claiming=s.claiming.discard(pod)), owner, now, WRITE_RETRY)
            return s, set(), wakes
        case Action.STATUS:
            s, resync, wakes = status_write_answered(s, owner, resp, now, WRITE_RETRY)
            return s, {owner} if resync else set(), wakes
        case _:
            assert_never(op.action)


def _created(
    s: ReplicaSetState, owner: ObjectKey, resp: Response, now: Time
) -> tuple[ReplicaSetState, set[ObjectKey], tuple[Effect, ...]]:
    """A create of a burst answered: its event; the next batch when this one is all
    answered; at the end of the burst, the failure it met (or none) and a resync."""
    answer = burst_create_answered(s.expectations, s.bursts, owner, resp)
    s = _evolve_state(s, expectations=answer.expectations, bursts=answer.bursts)
    effects: list[Effect] = [answer.event]
    if answer.send:
        s = _send_creates(s, owner, answer.send, effects)
    if answer.ended is None:
        return s, {owner} if answer.unknown else set(), tuple(effects)
    if answer.ended.error:
        s = _fail(s, owner, FAILED_CREATE_POD_REASON, answer.ended.error, now, effects)
    else:
        s = _recovered(s, owner)
    return s, {owner}, tuple(effects)


def _deleted(
    s: ReplicaSetState, owner: ObjectKey, pod: ObjectKey, resp: Response, now: Time
) -> tuple[ReplicaSetState, set[ObjectKey], tuple[Effect, ...]]:
    """A delete answered: its event; a failed one is waited for no more, and backs off."""
    event = delete_answered(owner, pod, resp)
    if resp.ok:
        return s, set(), () if event is None else (event,)
    # the informer will not observe this deletion: stop waiting for it
    s = _evolve_state(s, expectations=exps.deletion_observed(s.expectations, owner, pod))
    if resp.code == 404:
        return s, {owner}, ()
    effects: list[Effect] = [] if event is None else [event]
    return _fail(s, owner, FAILED_DELETE_POD_REASON, error_message(resp), now, effects), {owner}, tuple(effects)


# --- sending and failing ----------------------------------------------------------------------


def _send(s: ReplicaSetState, request: Request, op: Op, effects: list[Effect]) -> ReplicaSetState:
    effects.append(CallApi(request=request, tag=op))
    return _evolve_state(s, requests_out=exps.requests_sent(s.requests_out, op.owner))


def _send_creates(s: ReplicaSetState, owner: ObjectKey, size: int, effects: list[Effect]) -> ReplicaSetState:
    """The next `size` creates of the owner's burst (each answer comes back to `_created`)."""
    call = CallApi(request=Create(obj=s.bursts[owner].pod), tag=Op(owner=owner, action=Action.CREATE))
    effects.extend(call for _ in range(size))
    return _evolve_state(s, requests_out=exps.requests_sent(s.requests_out, owner, size))


def _claim(
    s: ReplicaSetState, owner: ObjectKey, pod: ObjectKey, action: Action, patch: Request, effects: list[Effect]
) -> ReplicaSetState:
    """An adopt or release patch: no one else claims the pod until the view shows it."""
    s = _send(s, patch, Op(owner=owner, action=action, pod=pod), effects)
    return _evolve_state(s, claiming=s.claiming.set(pod, Claiming(owner=owner)))


def _fail(
    s: ReplicaSetState, owner: ObjectKey, reason: str, message: str, now: Time, effects: list[Effect]
) -> ReplicaSetState:
    """A manage failed: the ReplicaFailure condition stands, and the owner is managed
    again only after its rate-limited requeue."""
    s = _evolve_state(s, failures=s.failures.set(owner, Failure(reason=reason, message=message)))
    s, wakes = requeue(s, owner, now)
    effects.extend(wakes)
    return s


def _recovered(s: ReplicaSetState, owner: ObjectKey) -> ReplicaSetState:
    """A manage succeeded: no standing failure, and the backoff starts afresh."""
    return _evolve_state(s, failures=s.failures.discard(owner), queue=forget(s.queue, owner))


def _forget_owner(s: ReplicaSetState, key: ObjectKey) -> ReplicaSetState:
    """The owner is gone: nothing of it is expected, pending, failing or cached any more."""
    s = forget_owner(s, key, DEFAULT_RATE_LIMITER, WRITE_RETRY)
    return _evolve_state(s, failures=s.failures.discard(key), tallies=s.tallies.discard(key), owners=s.owners.discard(key))


# --- owners of either kind ------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Owner:
    """A ReplicaSet or ReplicationController seen through one shape (upstream converts the
    RC into a ReplicaSet the same way)."""

    obj: ApiObject
    replicas: int
    min_ready_seconds: int
    selector: Selector
    template: PodTemplateSpec | None
    status: ReplicaSetStatus

    @property
    def key(self) -> ObjectKey:
        return key_of(self.obj)


_evolve_owner: Final = evolver(Owner)


def as_owner(obj: ApiObject) -> Owner | None:
    """The uniform view of a ReplicaSet or RC; None for another kind or a selector that
    does not parse (upstream logs it and skips the sync)."""
    match obj:
        case ReplicaSet(spec=spec, status=st):
            selector = parse_selector(spec.selector)
            if selector is None:
                return None
            return Owner(
                obj=obj,
                replicas=spec.replicas,
                min_ready_seconds=spec.min_ready_seconds,
                selector=selector,
                template=spec.template,
                status=st,
            )
        case ReplicationController(spec=rc_spec, status=rc_st):
            return Owner(
                obj=obj,
                replicas=1 if rc_spec.replicas is None else rc_spec.replicas,
                min_ready_seconds=rc_spec.min_ready_seconds,
                selector=selector_from_set(rc_spec.selector),
                template=rc_spec.template,
                status=_rc_status_as_rs(rc_st),
            )
        case _:
            return None


def _owner_again(cached: Owner | None, obj: ApiObject) -> Owner | None:
    """`as_owner(obj)`, reusing `cached` (the owner as of an earlier version of the
    object) when the spec it was parsed from is the same object: a status write keeps it."""
    if cached is not None:
        if cached.obj is obj:
            return cached
        if isinstance(obj, ReplicaSet) and isinstance(cached.obj, ReplicaSet) and obj.spec is cached.obj.spec:
            return _evolve_owner(cached, obj=obj, status=obj.status)
    return as_owner(obj)


def _selects(obj: ApiObject, pod: ApiObject) -> bool:
    """Whether owner `obj` would adopt the orphan `pod` (its selector matches)."""
    owner = as_owner(obj)
    return owner is not None and owner.selector.matches(pod.metadata.labels)


def owner_basis(owner: Owner) -> tally.Basis:
    """What the owner's claim depends on besides its pods (`replicaset_tally.Basis`)."""
    labels = owner.template.metadata.labels if owner.template is not None else pmap()
    return tally.basis_of(owner.obj, owner.selector, labels)


def _related_pods(view: ClusterState, owner: Owner) -> tuple[Pod, ...]:
    """getIndirectlyRelatedPods: pods selected by any owner sharing this owner's
    controller (a Deployment's ReplicaSets); none for an owner with no controller."""
    ctrl = controller_of(owner.obj.metadata)
    if ctrl is None:
        return ()
    kind = owner.key.kind
    siblings = [as_owner(o) for k in dependents(view, ctrl.uid) if k.kind is kind and (o := get(view, k)) is not None]
    selectors = [
        o.selector for o in siblings if o is not None and (c := controller_of(o.obj.metadata)) is not None and c.uid == ctrl.uid
    ]
    return tuple(
        p
        for p in list_objects(view, Kind.POD, owner.key.namespace)
        if isinstance(p, Pod) and any(sel.matches(p.metadata.labels) for sel in selectors)
    )


def _rc_status_as_rs(st: ReplicationControllerStatus) -> ReplicaSetStatus:
    conds = tuple(
        ReplicaSetCondition(
            type=ReplicaSetConditionType.REPLICA_FAILURE,
            status=c.status,
            last_transition_time=c.last_transition_time,
            reason=c.reason,
            message=c.message,
        )
        for c in st.conditions
        if c.type == ReplicaSetConditionType.REPLICA_FAILURE.value
    )
    return ReplicaSetStatus(
        replicas=st.replicas,
        fully_labeled_replicas=st.fully_labeled_replicas,
        ready_replicas=st.ready_replicas,
        available_replicas=st.available_replicas,
        observed_generation=st.observed_generation,
        conditions=conds,
    )


def with_status(obj: ApiObject, status: ReplicaSetStatus) -> ApiObject:
    """`obj` (a ReplicaSet or RC) carrying `status`, converted to the RC's shape if needed."""
    match obj:
        case ReplicaSet():
            return attrs.evolve(obj, status=status)
        case ReplicationController():
            rc_status = ReplicationControllerStatus(
                replicas=status.replicas,
                fully_labeled_replicas=status.fully_labeled_replicas,
                ready_replicas=status.ready_replicas,
                available_replicas=status.available_replicas,
                observed_generation=status.observed_generation,
                conditions=tuple(
                    ReplicationControllerCondition(
                        type=c.type.value,
                        status=c.status,
                        last_transition_time=c.last_transition_time,
                        reason=c.reason,
                        message=c.message,
                    )
                    for c in status.conditions
                ),
            )
            return attrs.evolve(obj, status=rc_status)
        case _:
            return obj


# --- status ---------------------------------------------------------------------------------


def compute_status(
    owner: Owner, pods: Iterable[Pod], failure: Failure | None, now: Time
) -> ReplicaSetStatus:
    """calculateStatus: counts over the owner's active pods, observedGeneration, and the
    ReplicaFailure condition (added while a failure stands, removed once it is cleared).
    The reference `tally_status` equals, from a tally's counts."""
    pods = tuple(pods)
    labels = owner.template.metadata.labels if owner.template is not None else pmap()
    template_sel = selector_from_set(labels)
    return status_of(
        owner,
        replicas=len(pods),
        fully_labeled=sum(1 for p in pods if template_sel.matches(p.metadata.labels)),
        ready=sum(1 for p in pods if is_pod_ready(p)),
        available=sum(1 for p in pods if is_pod_available(p, owner.min_ready_seconds, now)),
        failure=failure,
        now=now,
    )


def tally_status(owner: Owner, t: Tally, failure: Failure | None, now: Time) -> ReplicaSetStatus:
    """`compute_status` over the tally's claimed pods, from its counts."""
    mrs = owner.min_ready_seconds
    available = t.ready if mrs == 0 else sum(1 for p in t.claimed.values() if is_pod_available(p, mrs, now))
    return status_of(
        owner,
        replicas=len(t.claimed),
        fully_labeled=t.fully_labeled,
        ready=t.ready,
        available=available,
        failure=failure,
        now=now,
    )


def status_of(
    owner: Owner, *, replicas: int, fully_labeled: int, ready: int, available: int, failure: Failure | None, now: Time
) -> ReplicaSetStatus:
    """The status `compute_status` gives for these counts of the owner's active pods."""
    existing = tuple(c for c in owner.status.conditions if c.type is ReplicaSetConditionType.REPLICA_FAILURE)
    others = tuple(c for c in owner.status.conditions if c.type is not ReplicaSetConditionType.REPLICA_FAILURE)
    conditions = owner.status.conditions
    if failure is not None and not existing:
        cond = ReplicaSetCondition(
            type=ReplicaSetConditionType.REPLICA_FAILURE,
            status=ConditionStatus.TRUE,
            last_transition_time=Time(float(math.floor(now))),
            reason=failure.reason,
            message=failure.message,
        )
        conditions = (*others, cond)
    elif failure is None and existing:
        conditions = others
    return ReplicaSetStatus(
        replicas=replicas,
        fully_labeled_replicas=fully_labeled,
        ready_replicas=ready,
        available_replicas=available,
        observed_generation=owner.obj.metadata.generation,
        conditions=conditions,
    )
