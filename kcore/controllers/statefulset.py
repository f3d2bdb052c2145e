"""The StatefulSet controller: stable, ordered pods with their own claims, as a pure component.

Owns `StatefulSetController` ("statefulset-controller", watching StatefulSets, Pods and
PersistentVolumeClaims), its state `StatefulSetState`, the request tag `Op`, and the
sync's `Observed` and `Plan`.

Theory of operation (level-triggered, as upstream's syncStatefulSet):
- `step` folds the event into the informer view, maps it to set keys (a pod to its
  controller, or an orphan named `<set>-<ordinal>` to every set selecting it; a claim to
  every set whose templates name it), then syncs those keys in sorted order.
- `sync` observes the set (its claim: adopt orphans that match the selector and are named
  like its members, release owned pods that stopped matching; its revisions: update = the
  revision of the live template, current = status.currentRevision when its template is
  known, else the update revision, as upstream initialises its history), decides a `Plan`
  (only when the set's expectations are satisfied and no failure backoff is pending,
  `statefulset_control.plan`: processReplica / processCondemned / the rolling update; the
  status when it changed) and emits it through the kit.
- A request's tag says what it answers (`Op(owner, action, target, pod)`); a timer's key
  is the set's key. In flight: `expectations` (pods created and deleted), `writes` (pods
  and claims with a create/update/patch out: 0 until answered, then the revision it made;
  a claim being written counts as not there yet, so a pod never goes before its claims),
  `status_writes`, `requests_out` (what a relist keeps). A slow watch therefore never
  creates an ordinal twice.
- A failed create, delete or a claim being deleted: the set is not managed again before
  its rate-limited requeue (5 ms doubling to 1000 s), and the count starts afresh once a
  write of a plan succeeds. A failed status write resyncs after 1 s (`STATUS_RETRY`). A
  conflict resyncs when the view catches up.
- Settling: the availability wait (one second after a ready pod becomes available) and
  the first retry after a failure are in motion; later retries and the expectations'
  expiry are merely scheduled. OrderedReady needs no timer: each pod's Ready arrives as a
  watch event.

Differences from upstream: docs/semantics.md, "StatefulSet controller".

Watch filter (`wants`): every StatefulSet and PersistentVolumeClaim event; a Pod event only
when the pod is controlled by a StatefulSet or is an orphan it might adopt (no controller
ownerReference), as upstream's addPod/updatePod/deletePod return early for a controllerRef
of another kind. The view is the shared informer cache; the controller reads only its
own pods and orphans, so a skipped pod is never read stale. A pod whose controllerRef
moves from a StatefulSet straight to another kind in one write is not seen leaving
(upstream enqueues the old set); the next sync of that set sees it gone.

Must not know: the driver's queue, other controllers, the kubelet or scheduler.
Mirrors pkg/controller/statefulset/stateful_set.go (sync, getPodsForStatefulSet,
addPod/updatePod/deletePod) and stateful_pod_control.go (events).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Final, assert_never

import attrs
from pyrsistent import pmap
from pyrsistent.typing import PMap

from kcore.api.apps import StatefulSet, StatefulSetStatus
from kcore.api.core import EventSource, PersistentVolumeClaim
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ApiObject, Time, evolver
from kcore.api.pod import Pod, PodTemplateSpec
from kcore.api.watch import WatchEvent, WatchType
from kcore.component.effects import CallApi, Effect, EventType, RecordEvent
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
from kcore.component.requests import Create, Delete, Request, Response, Update
from kcore.component.workqueue import (
    RateLimiter,
    WorkQueue,
    drop,
    fired,
    forget,
    in_backoff,
    requeue,
    wake,
)
from kcore.controllers import expectations as exps
from kcore.controllers import statefulset_control as control
from kcore.controllers.expectations import Expectations, RequestsOut
from kcore.controllers.ownership import (
    availability_wake,
    parse_selector,
    pod_owners,
    resolve_controller_ref,
)
from kcore.controllers.podcontrol import (
    FAILED_CREATE_POD_REASON,
    FAILED_DELETE_POD_REASON,
    SUCCESSFUL_CREATE_POD_REASON,
    SUCCESSFUL_DELETE_POD_REASON,
    adopt_request,
    claim,
    controller_of,
    error_message,
    key_of,
    mine_or_orphan,
    release_request,
)
from kcore.controllers.statefulset_control import (
    ClaimBlocked,
    ClaimSeen,
    CreateClaim,
    CreatePod,
    DeletePod,
    Operation,
    Pending,
    UpdateClaim,
    UpdatePod,
)
from kcore.controllers.statefulset_util import (
    Revisions,
    compute_status,
    is_member_of,
    is_running_and_available,
    is_running_and_ready,
    ordinal_of,
    parent_and_ordinal,
    pod_revision,
    revision_name,
    sorted_by_ordinal,
    template_from_pod,
)
from kcore.controllers.status import StatusWrites, emit_status, forget_owner, status_write_answered
from kcore.labels import Selector
from kcore.state import ClusterState, dependents, get, list_objects

STATUS_RETRY: Final = RateLimiter(base_delay=1.0, max_delay=1.0)
"""A status write that failed other than by a conflict: the set is synced again 1 s later."""

# recordPodEvent / recordClaimEvent: "Successful<Verb>" / "Failed<Verb>" (stateful_pod_control.go)
SUCCESSFUL_UPDATE_REASON: Final = "SuccessfulUpdate"
FAILED_UPDATE_REASON: Final = "FailedUpdate"


# --- requests and state ---------------------------------------------------------------------


class Action(enum.Enum):
    CREATE_POD = "create pod"
    DELETE_POD = "delete pod"
    UPDATE_POD = "update pod"
    CLAIM_POD = "adopt or release pod"
    CREATE_CLAIM = "create claim"
    UPDATE_CLAIM = "update claim"
    STATUS = "status"


_WRITES: Final = frozenset({Action.UPDATE_POD, Action.CLAIM_POD, Action.CREATE_CLAIM, Action.UPDATE_CLAIM})
"""The requests whose object is pending in `writes` until the view shows what they made."""


@attrs.frozen(kw_only=True)
class Op:
    """The tag of a request: the set it is for, what it does, the object it writes, and
    (for a claim) the name of the pod it is for."""

    owner: ObjectKey
    action: Action
    target: ObjectKey | None = None
    pod: str = ""


@attrs.frozen(kw_only=True)
class StatefulSetState:
    """The controller's own state (never the cluster's)."""

    view: ClusterState
    queue: WorkQueue = WorkQueue(kind=Kind.STATEFUL_SET)
    expectations: Expectations = exps.NO_EXPECTATIONS
    requests_out: RequestsOut = pmap()
    writes: PMap[ObjectKey, int] = pmap()  # pod/claim key -> revision written (0: unanswered)
    status_writes: StatusWrites[StatefulSetStatus] = StatusWrites()
    revisions: PMap[ObjectKey, PMap[str, PodTemplateSpec]] = pmap()  # set -> revision -> template


_evolve = evolver(StatefulSetState)  # attrs.evolve for the hot per-event state updates


@attrs.frozen(kw_only=True)
class Observed:
    """What one sync reads: the set, the pods it claims (adopted orphans included, by
    ordinal), the orphans to adopt and the pods to release, and its revisions."""

    sts: StatefulSet
    pods: tuple[Pod, ...]
    adopt: tuple[Pod, ...]
    release: tuple[Pod, ...]
    revs: Revisions


@attrs.frozen(kw_only=True)
class Plan:
    """What one sync of a set sends, in order: adopt and release patches, then either a
    wake at the expectations' expiry (`recheck_at`, merely scheduled) or the writes of
    `statefulset_control.plan` (`ops`, minus writes to objects with one already out; a
    blocked claim's event in its place and, `backoff`, a rate-limited requeue after them),
    the status, and a wake when a pod becomes available (in motion)."""

    adopt: tuple[Pod, ...] = ()
    release: tuple[Pod, ...] = ()
    recheck_at: Time | None = None
    ops: tuple[Operation, ...] = ()
    backoff: bool = False
    status: StatefulSetStatus
    available_at: Time | None = None


# --- the component --------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class StatefulSetController:
    """The StatefulSet controller (apps/v1 StatefulSet, its Pods and PersistentVolumeClaims)."""

    name: str = "statefulset-controller"
    event_source: EventSource = EventSource(component="statefulset-controller")  # stateful_set.go

    @property
    def watches(self) -> frozenset[Kind]:
        return frozenset({Kind.STATEFUL_SET, Kind.POD, Kind.PERSISTENT_VOLUME_CLAIM})

    def wants(self, event: WatchEvent, old: ApiObject | None = None) -> bool:
        """The watch filter (see the module doc): sets, claims, and pods controlled by a
        StatefulSet or by nothing."""
        return mine_or_orphan(event.obj, Kind.POD, Kind.STATEFUL_SET)

    def init(self, view: ClusterState, now: Time) -> tuple[StatefulSetState, tuple[Effect, ...]]:
        """A fresh state over a fresh LIST; the `Started` event then syncs every set."""
        return StatefulSetState(view=view), ()

    def step(self, state: StatefulSetState, event: Event) -> tuple[StatefulSetState, tuple[Effect, ...]]:
        """Absorb one event, then sync every set it concerns, in key order.

        Handles Started/Resynced (sync all), WatchDelivered (sets, pods, claims),
        ApiAnswered (pod creates/deletes/updates/patches, claim creates/updates, status
        writes), TimerFired (resync one). May emit CallApi (Create/Delete/Update/Patch
        pods, Create/Update claims, Update status), RecordEvent, WakeMeAt.
        """
        s, now = state, event.now
        keys: Iterable[ObjectKey] = ()
        effects: list[Effect] = []
        match event:
            case Started():
                keys = _all_sets(s.view)
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
                s = _relisted(s, view)
                keys = _all_sets(view)
            case ApiAnswered() | RuntimeAnswered() | RuntimeNotified():
                pass
            case _:
                assert_never(event)
        for key in sorted(keys):
            s, synced = self.sync(s, key, now)
            effects.extend(synced)
        return s, tuple(effects)

    # -- sync

    def sync(self, s: StatefulSetState, key: ObjectKey, now: Time) -> tuple[StatefulSetState, tuple[Effect, ...]]:
        """syncStatefulSet for `key`: observe the set, its pods and revisions, decide, emit."""
        sts = get(s.view, key)
        if not isinstance(sts, StatefulSet):
            return _forget_set(s, key), ()
        selector = parse_selector(sts.spec.selector)
        if selector is None:
            return s, ()  # a selector that does not parse
        s, seen = _observe(s, sts, selector)
        return _emit(s, seen, decide(s, seen, now), now)


# --- absorbing events -----------------------------------------------------------------------


def _all_sets(view: ClusterState) -> set[ObjectKey]:
    return {key_of(o) for o in list_objects(view, Kind.STATEFUL_SET)}


def _absorb(s: StatefulSetState, delivered: WatchDelivered) -> tuple[StatefulSetState, set[ObjectKey]]:
    we = delivered.event
    key = we.key
    view = follow(s.view, delivered)
    new = None if we.type is WatchType.DELETED else we.obj
    old = get(s.view, key)
    s = _evolve(s, view=view)
    written = s.writes.get(key)
    if written is not None and (new is None or 0 < written <= we.resource_version):
        s = _evolve(s, writes=s.writes.discard(key))
    match key.kind:
        case Kind.STATEFUL_SET:
            if new is None:
                s = _evolve(s, expectations=exps.forget(s.expectations, key))
            return s, {key}
        case Kind.POD:
            keys = pod_owners(view, Kind.STATEFUL_SET, old, _selects) | pod_owners(view, Kind.STATEFUL_SET, new, _selects)
            if new is None or new.metadata.deletion_timestamp is not None:
                s = _evolve(s, expectations=exps.deletion_observed_anywhere(s.expectations, key))
            elif we.type is WatchType.ADDED and (owner := resolve_controller_ref(view, Kind.STATEFUL_SET, new)) is not None:
                s = _evolve(s, expectations=exps.creation_observed(s.expectations, owner))
            return s, keys
        case Kind.PERSISTENT_VOLUME_CLAIM:
            return s, _sets_of_claim(view, key)
        case _:
            return s, set()


def _relisted(s: StatefulSetState, view: ClusterState) -> StatefulSetState:
    """A relist shows every answered write: only sets with requests still out keep their
    expectations, only unanswered writes stay pending."""
    writes = pmap({k: v for k, v in s.writes.items() if v == 0})
    return attrs.evolve(s, view=view, expectations=exps.keep_only(s.expectations, s.requests_out), writes=writes)


def _selects(obj: ApiObject, pod: ApiObject) -> bool:
    """Whether set `obj` would adopt the orphan `pod`: named like its member, and selected."""
    if not isinstance(obj, StatefulSet) or not is_member_of(obj, pod):
        return False
    selector = parse_selector(obj.spec.selector)
    return selector is not None and selector.matches(pod.metadata.labels)


def _sets_of_claim(view: ClusterState, claim_key: ObjectKey) -> set[ObjectKey]:
    """Sets whose claim templates name `claim_key` (`<template>-<set>-<ordinal>`)."""
    parent, ordinal = parent_and_ordinal(claim_key.name)
    if ordinal < 0:
        return set()
    return {
        key_of(obj)
        for obj in list_objects(view, Kind.STATEFUL_SET, claim_key.namespace)
        if isinstance(obj, StatefulSet)
        and any(parent == f"{t.metadata.name}-{obj.metadata.name}" for t in obj.spec.volume_claim_templates)
    }


# --- sync: observe, decide, emit ------------------------------------------------------------


def _observe(s: StatefulSetState, sts: StatefulSet, selector: Selector) -> tuple[StatefulSetState, Observed]:
    """getPodsForStatefulSet (claim the pods named like members and selected) and
    getStatefulSetRevisions (the revisions still in use kept in memory)."""
    key = key_of(sts)
    names = {k for k in dependents(s.view, sts.metadata.uid) if k.kind is Kind.POD}
    orphans = (
        key_of(p)
        for p in list_objects(s.view, Kind.POD, key.namespace)
        if controller_of(p.metadata) is None and is_member_of(sts, p)
    )
    candidates = tuple(p for k in sorted({*names, *orphans}) if isinstance(p := get(s.view, k), Pod))
    result = claim(sts, candidates, lambda p: selector.matches(p.metadata.labels) and is_member_of(sts, p))
    adopt = tuple(p for p in result.adopt if isinstance(p, Pod))
    release = tuple(p for p in result.release if isinstance(p, Pod))
    pods = sorted_by_ordinal(p for p in (*result.owned, *adopt) if isinstance(p, Pod) and ordinal_of(p) >= 0)
    known, revs = _revisions(s.revisions.get(key, pmap()), sts, pods)
    s = attrs.evolve(s, revisions=s.revisions.set(key, known))
    return s, Observed(sts=sts, pods=pods, adopt=adopt, release=release, revs=revs)


def _revisions(
    known: PMap[str, PodTemplateSpec], sts: StatefulSet, pods: tuple[Pod, ...]
) -> tuple[PMap[str, PodTemplateSpec], Revisions]:
    """The update revision of the live template; the current one named by
    status.currentRevision when its template is known (in memory or from a surviving pod),
    else the update revision. Keeps only the revisions still in use."""
    template = sts.spec.template
    update = revision_name(sts, template, sts.status.collision_count or 0)
    known = known.set(update, template)
    current = sts.status.current_revision or update
    current_template = known.get(current)
    if current_template is None:
        survivor = next((p for p in pods if pod_revision(p) == current), None)
        if survivor is not None:
            current_template = template_from_pod(sts, survivor)
            known = known.set(current, current_template)
    if current_template is None:
        current, current_template = update, template
    in_use = {update, current, *(pod_revision(p) for p in pods)}
    known = pmap({name: t for name, t in known.items() if name in in_use})
    return known, Revisions(current=current, current_template=current_template, update=update, update_template=template)


def decide(s: StatefulSetState, seen: Observed, now: Time) -> Plan:
    """The claim's patches, updateStatefulSet (when expectations and backoff allow) and
    updateStatefulSetStatus, as a `Plan`. One write per object at a time: a pod or claim
    with a write out gets no other."""
    sts, pods, revs = seen.sts, seen.pods, seen.revs
    key = key_of(sts)
    busy = set(s.writes)
    adopt = _not_busy(seen.adopt, busy)
    release = _not_busy(seen.release, busy)
    recheck_at: Time | None = None
    ops: list[Operation] = []
    deleted_for_update = 0
    if not exps.satisfied(s.expectations, key, now):
        expiry = exps.expires_at(s.expectations, key)
        if expiry is not None:  # a safety net: merely scheduled
            recheck_at = Time(expiry + 1.0)
    elif not in_backoff(s.queue, key, now):
        decided = control.plan(sts, pods, revs, lambda name: _claim_seen(s, key.namespace, name), now)
        deleted_for_update = decided.deleted_for_update
        for op in decided.ops:
            match op:
                case UpdateClaim(claim=obj) | UpdatePod(pod=obj):
                    if key_of(obj) in busy:
                        continue
                    busy.add(key_of(obj))
                case CreateClaim(claim=pvc):
                    busy.add(key_of(pvc))
                case CreatePod() | DeletePod() | ClaimBlocked():
                    pass
                case _:
                    assert_never(op)
            ops.append(op)
    return Plan(
        adopt=adopt,
        release=release,
        recheck_at=recheck_at,
        ops=tuple(ops),
        backoff=any(isinstance(op, ClaimBlocked) for op in ops),
        status=compute_status(sts, pods, revs, -deleted_for_update, now),
        available_at=availability_wake(
            pods, sts.spec.min_ready_seconds, now, ready=is_running_and_ready, available=is_running_and_available
        ),
    )


def _not_busy(pods: tuple[Pod, ...], busy: set[ObjectKey]) -> tuple[Pod, ...]:
    """The pods with no write out (each one marked busy from now on)."""
    out: list[Pod] = []
    for pod in pods:
        if key_of(pod) not in busy:
            busy.add(key_of(pod))
            out.append(pod)
    return tuple(out)


def _claim_seen(s: StatefulSetState, namespace: str, name: str) -> ClaimSeen:
    """A claim as the plan sees it: in flight while a write of it is out or not yet in
    the view, else stored or missing."""
    key = ObjectKey(kind=Kind.PERSISTENT_VOLUME_CLAIM, namespace=namespace, name=name)
    obj = get(s.view, key)
    written = s.writes.get(key)
    if written is not None and (written == 0 or obj is None or obj.metadata.resource_version < written):
        return Pending.IN_FLIGHT
    return obj if isinstance(obj, PersistentVolumeClaim) else None


def _emit(s: StatefulSetState, seen: Observed, plan: Plan, now: Time) -> tuple[StatefulSetState, tuple[Effect, ...]]:
    """Send the plan: patches and writes marked in `writes`, expectations raised for the
    creates and deletes, the status write one at a time, wakes through the work queue."""
    sts = seen.sts
    key = key_of(sts)
    effects: list[Effect] = []
    for pod in plan.adopt:
        s = _send(s, adopt_request(pod, sts), Op(owner=key, action=Action.CLAIM_POD, target=key_of(pod)), effects)
    for pod in plan.release:
        patch = release_request(pod, sts.metadata.uid)
        s = _send(s, patch, Op(owner=key, action=Action.CLAIM_POD, target=key_of(pod)), effects)
    if plan.recheck_at is not None:
        s, wakes = wake(s, key, plan.recheck_at)
        effects.extend(wakes)
    creates = 0
    deletes: list[ObjectKey] = []
    for op in plan.ops:
        match op:
            case CreateClaim(claim=pvc, pod=pod_name):
                tag = Op(owner=key, action=Action.CREATE_CLAIM, target=key_of(pvc), pod=pod_name)
                s = _send(s, Create(obj=pvc), tag, effects)
            case UpdateClaim(claim=pvc, pod=pod_name):
                tag = Op(owner=key, action=Action.UPDATE_CLAIM, target=key_of(pvc), pod=pod_name)
                s = _send(s, Update(obj=pvc), tag, effects)
            case CreatePod(pod=pod):
                creates += 1
                target = ObjectKey(kind=Kind.POD, namespace=key.namespace, name=pod.metadata.name)
                s = _send(s, Create(obj=pod), Op(owner=key, action=Action.CREATE_POD, target=target), effects)
            case UpdatePod(pod=pod):
                s = _send(s, Update(obj=pod), Op(owner=key, action=Action.UPDATE_POD, target=key_of(pod)), effects)
            case DeletePod(pod=pod):
                deletes.append(key_of(pod))
                s = _send(s, Delete(key=key_of(pod)), Op(owner=key, action=Action.DELETE_POD, target=key_of(pod)), effects)
            case ClaimBlocked(claim=claim_name, pod=pod_name):
                effects.append(_pod_event(key, Verb.CREATE, pod_name, f"pvc {claim_name} is being deleted"))
            case _:
                assert_never(op)
    if creates or deletes:
        s = _evolve(s, expectations=exps.expect(s.expectations, key, add=creates, deletes=deletes, now=now))
    if plan.backoff:
        s, wakes = requeue(s, key, now)
        effects.extend(wakes)
    status = Op(owner=key, action=Action.STATUS)
    s, tail = emit_status(
        s, key, sts, plan.status, current=sts.status, tag=status, available_at=plan.available_at
    )
    return s, (*effects, *tail)


# --- answers --------------------------------------------------------------------------------


def _answered(
    s: StatefulSetState, op: Op, resp: Response, now: Time
) -> tuple[StatefulSetState, set[ObjectKey], tuple[Effect, ...]]:
    """What an answer to one of our requests changes: the sets to sync and the effects it
    asks for (its event, a retry)."""
    s = _evolve(s, requests_out=exps.request_answered(s.requests_out, op.owner))
    owner, target = op.owner, op.target
    if op.action is Action.STATUS:
        s, resync, wakes = status_write_answered(s, owner, resp, now, STATUS_RETRY)
        return s, {owner} if resync else set(), wakes
    if target is None:
        return s, {owner}, ()
    if op.action in _WRITES:
        s = _landed(s, target, resp)
    if resp.ok and op.action is not Action.CLAIM_POD:
        # a write of the plan went through: the backoff starts afresh (upstream's
        # workqueue Forget after a sync without error)
        s = _evolve(s, queue=forget(s.queue, owner))
    effects: list[Effect] = []
    match op.action:
        case Action.CREATE_POD:
            if resp.ok:
                return s, set(), (_pod_event(owner, Verb.CREATE, target.name),)
            s = _evolve(s, expectations=exps.creation_observed(s.expectations, owner))
            if resp.code == 409:  # AlreadyExists: the view is behind; upstream records nothing
                return s, {owner}, ()
            effects.append(_pod_event(owner, Verb.CREATE, target.name, error_message(resp)))
        case Action.DELETE_POD:
            if resp.ok:
                return s, set(), (_pod_event(owner, Verb.DELETE, target.name),)
            s = _evolve(s, expectations=exps.deletion_observed(s.expectations, owner, target))
            if resp.code == 404:
                return s, {owner}, ()
            effects.append(_pod_event(owner, Verb.DELETE, target.name, error_message(resp)))
        case Action.UPDATE_POD:
            if resp.ok:
                return s, set(), (_pod_event(owner, Verb.UPDATE, target.name),)
            if resp.code in (404, 409):
                return s, {owner}, ()
            effects.append(_pod_event(owner, Verb.UPDATE, target.name, error_message(resp)))
        case Action.CLAIM_POD:
            return s, set() if resp.ok else {owner}, ()
        case Action.CREATE_CLAIM | Action.UPDATE_CLAIM:
            verb = Verb.CREATE if op.action is Action.CREATE_CLAIM else Verb.UPDATE
            if resp.ok:
                events = (_claim_event(owner, verb, target.name, op.pod),) if verb is Verb.CREATE else ()
                return s, {owner}, events
            if resp.code in (404, 409):  # exists already / changed meanwhile: the view catches up
                return s, {owner}, ()
            effects.append(_claim_event(owner, verb, target.name, op.pod, error_message(resp)))
        case Action.STATUS:
            return s, {owner}, ()
        case _:
            assert_never(op.action)
    s, wakes = requeue(s, owner, now)
    return s, {owner}, (*effects, *wakes)


def _landed(s: StatefulSetState, target: ObjectKey, resp: Response) -> StatefulSetState:
    """A write to `target` was answered: remember the revision it made (pending until the
    view shows it), or forget it when it failed."""
    body = resp.body
    if resp.ok and isinstance(body, Pod | PersistentVolumeClaim):
        return _evolve(s, writes=s.writes.set(target, body.metadata.resource_version))
    return _evolve(s, writes=s.writes.discard(target))


# --- sending and forgetting -----------------------------------------------------------------


def _send(s: StatefulSetState, request: Request, op: Op, effects: list[Effect]) -> StatefulSetState:
    effects.append(CallApi(request=request, tag=op))
    s = _evolve(s, requests_out=exps.requests_sent(s.requests_out, op.owner))
    if op.target is not None and op.action in _WRITES:
        s = _evolve(s, writes=s.writes.set(op.target, 0))
    return s


def _forget_set(s: StatefulSetState, key: ObjectKey) -> StatefulSetState:
    """The set is gone: nothing of it is expected, pending, failing or remembered any more."""
    s = forget_owner(s, key)
    return _evolve(s, queue=drop(s.queue, key), revisions=s.revisions.discard(key))


# --- events (stateful_pod_control.go) -------------------------------------------------------


class Verb(enum.Enum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


_REASONS: Final[Mapping[Verb, tuple[str, str]]] = {
    Verb.CREATE: (SUCCESSFUL_CREATE_POD_REASON, FAILED_CREATE_POD_REASON),
    Verb.UPDATE: (SUCCESSFUL_UPDATE_REASON, FAILED_UPDATE_REASON),
    Verb.DELETE: (SUCCESSFUL_DELETE_POD_REASON, FAILED_DELETE_POD_REASON),
}
"""Per verb, the reasons of its success and failure events."""


def _pod_event(owner: ObjectKey, verb: Verb, pod: str, error: str = "") -> RecordEvent:
    """recordPodEvent: Successful<Verb> / Failed<Verb> about the set."""
    ok, failed = _REASONS[verb]
    if not error:
        msg = f"{verb.value} Pod {pod} in StatefulSet {owner.name} successful"
        return RecordEvent(involved=owner, type=EventType.NORMAL, reason=ok, message=msg)
    msg = f"{verb.value} Pod {pod} in StatefulSet {owner.name} failed error: {error}"
    return RecordEvent(involved=owner, type=EventType.WARNING, reason=failed, message=msg)


def _claim_event(owner: ObjectKey, verb: Verb, claim_name: str, pod: str, error: str = "") -> RecordEvent:
    """recordClaimEvent: Successful<Verb> / Failed<Verb> about the set."""
    ok, failed = _REASONS[verb]
    if not error:
        msg = f"{verb.value} Claim {claim_name} Pod {pod} in StatefulSet {owner.name} success"
        return RecordEvent(involved=owner, type=EventType.NORMAL, reason=ok, message=msg)
    msg = f"{verb.value} Claim {claim_name} for Pod {pod} in StatefulSet {owner.name} failed error: {error}"
    return RecordEvent(involved=owner, type=EventType.WARNING, reason=failed, message=msg)
