"""The StatefulSet controller: stable, ordered pods with their own claims, as a pure component.

Owns `StatefulSetController` ("statefulset-controller", watching StatefulSets, Pods and
PersistentVolumeClaims), its state `StatefulSetState`, and `timer_key`.

Theory of operation (level-triggered, as upstream's syncStatefulSet):
- `step` folds the event into the informer view, maps it to set keys (a pod to its
  controller, or an orphan named `<set>-<ordinal>` to every set selecting it; a claim to
  every set whose templates name it), then syncs those keys in sorted order.
- `sync` claims the set's pods (adopt orphans that match the selector and are named like
  its members, release owned pods that stopped matching), picks the revisions (update =
  the revision of the live template; current = status.currentRevision when its template
  is known, else the update revision, as upstream initialises its history), and, only
  when the set's expectations are satisfied and no failure backoff is pending, performs
  `statefulset_control.plan` (processReplica / processCondemned / the rolling update).
  Then it writes status through the status subresource when it changed.
- In-flight requests are data: `expectations` (pods created and deleted, cleared by the
  watch events that show them, expired after 5 simulated minutes), `writes` (pods and
  claims with a create/update/patch out: 0 until answered, then the revision it made;
  a claim being written counts as not there yet, so a pod never goes before its claims),
  `status_writes` and `in_flight`. A slow watch therefore never creates an ordinal twice.
- A failed create, delete or a claim being deleted records a `Failure`: the set is not
  managed again before `retry_at` (5 ms doubling to 1000 s, a `WakeMeAt`), and the
  doubling starts afresh once a write of a plan succeeds. A conflict resyncs when the
  view catches up.
- minReadySeconds: a ready but not yet available pod asks for a `WakeMeAt` one second
  after it becomes available.
- Settling (`kcore.controllers.timers`): the availability wait and the first retry after
  a failure (`Failure.count`, `retries` for status writes) are in motion; later retries
  and the expectations' expiry are merely scheduled. OrderedReady needs no timer: each
  pod's Ready arrives as a watch event.

Differences from upstream: no ControllerRevision objects (see
`statefulset_util.revision_name`); the templates of earlier revisions live in the
component's memory, and after a restart a revision's template is recovered from a
surviving pod of it (`template_from_pod`), else the update revision stands in. Claims
are created in one sync and their pod in the next (upstream: one call). A claim's
retention ownerReferences are fixed on the sync after its pod is seen (upstream: right
after the pod create); a claim-only fix does not also rewrite the pod.

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
from typing import Final, assert_never

import attrs
from pyrsistent import pmap, pset
from pyrsistent.typing import PMap

from kcore.api.apps import StatefulSet, StatefulSetStatus
from kcore.api.core import EventSource, PersistentVolumeClaim
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ApiObject, Status, Time, evolver
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
from kcore.component.requests import Create, Delete, Patch, Response, Subresource, Update
from kcore.component.workqueue import DEFAULT_RATE_LIMITER
from kcore.controllers import expectations as exps
from kcore.controllers.expectations import Expectation, Expectations
from kcore.controllers.podcontrol import (
    adopt_request,
    claim,
    controller_of,
    key_of,
    mine_or_orphan,
    pod_ready_time,
    release_request,
)
from kcore.controllers.statefulset_control import (
    ClaimBlocked,
    ClaimSeen,
    CreateClaim,
    CreatePod,
    DeletePod,
    Pending,
    UpdateClaim,
    UpdatePod,
    plan,
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
    template_from_pod,
)
from kcore.controllers.timers import (
    Wake,
    fired,
    owner_of_timer,
    owner_timer_key,
    retry_in_motion,
    wake,
)
from kcore.labels import Selector, SelectorParseError, selector_from_label_selector
from kcore.state import ClusterState, dependents, get, list_objects

STATUS_RETRY: Final = 1.0
"""Seconds before retrying a status write that failed other than by a conflict."""

_TIMER_PREFIX: Final = "sync "

Effects = list[Effect]


class Action(enum.Enum):
    CREATE_POD = "create pod"
    DELETE_POD = "delete pod"
    UPDATE_POD = "update pod"
    CLAIM_POD = "adopt or release pod"
    CREATE_CLAIM = "create claim"
    UPDATE_CLAIM = "update claim"
    STATUS = "status"


@attrs.frozen(kw_only=True)
class InFlight:
    """What one outstanding request was for: the set, the object, and (for claims) the pod."""

    owner: ObjectKey
    action: Action
    target: ObjectKey | None = None
    pod: str = ""


@attrs.frozen(kw_only=True)
class StatusWrite:
    """A status update sent (`written_rv` 0 until answered) and not yet seen in the view."""

    status: StatefulSetStatus
    written_rv: int = 0


@attrs.frozen(kw_only=True)
class Failure:
    count: int
    retry_at: Time


@attrs.frozen(kw_only=True)
class StatefulSetState:
    """The controller's own state (never the cluster's)."""

    view: ClusterState
    expectations: Expectations = exps.NO_EXPECTATIONS
    in_flight: PMap[str, InFlight] = pmap()
    writes: PMap[ObjectKey, int] = pmap()  # pod/claim key -> revision written (0: unanswered)
    status_writes: PMap[ObjectKey, StatusWrite] = pmap()
    failures: PMap[ObjectKey, Failure] = pmap()
    retries: PMap[ObjectKey, int] = pmap()  # consecutive failed status writes per set
    wakeups: PMap[ObjectKey, Wake] = pmap()  # the resync timer pending per set
    revisions: PMap[ObjectKey, PMap[str, PodTemplateSpec]] = pmap()  # set -> revision -> template
    next_id: int = 0


_evolve = evolver(StatefulSetState)  # attrs.evolve for the hot per-event state updates


def timer_key(owner: ObjectKey) -> str:
    """The `WakeMeAt` key that resyncs `owner`."""
    return owner_timer_key(_TIMER_PREFIX, owner)


def _selector(sts: StatefulSet) -> Selector | None:
    sel = sts.spec.selector
    try:
        return selector_from_label_selector(
            sel.match_labels, tuple((r.key, r.operator.value, r.values) for r in sel.match_expressions)
        )
    except SelectorParseError:
        return None


def _message(resp: Response) -> str:
    body = resp.body
    return body.message if isinstance(body, Status) else f"unexpected response code {resp.code}"


def _pod_event(owner: ObjectKey, verb: str, pod: str, error: str = "") -> RecordEvent:
    """recordPodEvent: Successful<Verb> / Failed<Verb> about the set."""
    if not error:
        msg = f"{verb} Pod {pod} in StatefulSet {owner.name} successful"
        return RecordEvent(involved=owner, type=EventType.NORMAL, reason=f"Successful{verb.title()}", message=msg)
    msg = f"{verb} Pod {pod} in StatefulSet {owner.name} failed error: {error}"
    return RecordEvent(involved=owner, type=EventType.WARNING, reason=f"Failed{verb.title()}", message=msg)


def _claim_event(owner: ObjectKey, verb: str, claim_: str, pod: str, error: str = "") -> RecordEvent:
    """recordClaimEvent: Successful<Verb> / Failed<Verb> about the set."""
    if not error:
        msg = f"{verb} Claim {claim_} Pod {pod} in StatefulSet {owner.name} success"
        return RecordEvent(involved=owner, type=EventType.NORMAL, reason=f"Successful{verb.title()}", message=msg)
    msg = f"{verb} Claim {claim_} for Pod {pod} in StatefulSet {owner.name} failed error: {error}"
    return RecordEvent(involved=owner, type=EventType.WARNING, reason=f"Failed{verb.title()}", message=msg)


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
        s = state
        now = event.now
        keys: set[ObjectKey] = set()
        effects: Effects = []
        match event:
            case Started():
                keys = _all_sets(s.view)
            case WatchDelivered():
                s, keys = self._absorb(s, event)
            case ApiAnswered():
                s, keys = self._answered(s, event, effects)
            case TimerFired(key=tkey):
                s, keys = self._timer(s, tkey, now)
            case Resynced(view=view):
                s = self._relisted(s, view)
                keys = _all_sets(view)
            case RuntimeAnswered() | RuntimeNotified():
                pass
            case _:
                assert_never(event)
        for key in sorted(keys):
            s = self.sync(s, key, now, effects)
        return s, tuple(effects)

    # -- absorbing events

    def _absorb(self, s: StatefulSetState, delivered: WatchDelivered) -> tuple[StatefulSetState, set[ObjectKey]]:
        we = delivered.event
        key = we.key
        old = get(s.view, key)
        view = follow(s.view, delivered)
        new = None if we.type is WatchType.DELETED else we.obj
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
                keys = _sets_of_pod(s.view, old) | _sets_of_pod(view, new)
                if new is None or new.metadata.deletion_timestamp is not None:
                    s = _evolve(s, expectations=exps.deletion_observed_anywhere(s.expectations, key))
                elif we.type is WatchType.ADDED and (owner := _resolve(view, new)) is not None:
                    s = _evolve(s, expectations=exps.creation_observed(s.expectations, owner))
                return s, keys
            case Kind.PERSISTENT_VOLUME_CLAIM:
                return s, _sets_of_claim(view, key)
            case _:
                return s, set()

    def _relisted(self, s: StatefulSetState, view: ClusterState) -> StatefulSetState:
        """A relist shows every answered write: only sets with requests still out keep
        their expectations, only unanswered writes stay pending."""
        busy = {op.owner for op in s.in_flight.values()}
        kept = pmap({k: v for k, v in s.expectations.by_owner.items() if k in busy})
        writes = pmap({k: v for k, v in s.writes.items() if v == 0})
        return attrs.evolve(s, view=view, expectations=Expectations(by_owner=kept), writes=writes)

    def _timer(self, s: StatefulSetState, tkey: str, now: Time) -> tuple[StatefulSetState, set[ObjectKey]]:
        key = owner_of_timer(_TIMER_PREFIX, Kind.STATEFUL_SET, tkey)
        if key is None:
            return s, set()
        wakeups = fired(s.wakeups, key, now)
        if wakeups is not s.wakeups:
            s = attrs.evolve(s, wakeups=wakeups)
        return s, {key}

    # -- answers

    def _answered(
        self, s: StatefulSetState, ev: ApiAnswered, effects: Effects
    ) -> tuple[StatefulSetState, set[ObjectKey]]:
        op = s.in_flight.get(ev.tag)
        if op is None:
            return s, set()
        s = attrs.evolve(s, in_flight=s.in_flight.discard(ev.tag))
        resp, owner, now, target = ev.response, op.owner, ev.now, op.target
        if op.action is Action.STATUS:
            return self._status_answered(s, owner, resp, now, effects)
        if target is None:
            return s, {owner}
        if op.action in (Action.UPDATE_POD, Action.CLAIM_POD, Action.CREATE_CLAIM, Action.UPDATE_CLAIM):
            s = _landed(s, target, resp)
        if resp.ok and owner in s.failures and op.action is not Action.CLAIM_POD:
            # a write of the plan went through: the backoff starts afresh (upstream's
            # workqueue Forget after a sync without error)
            s = attrs.evolve(s, failures=s.failures.discard(owner))
        match op.action:
            case Action.CREATE_POD:
                if resp.ok:
                    effects.append(_pod_event(owner, "create", target.name))
                    return s, set()
                s = attrs.evolve(s, expectations=exps.creation_observed(s.expectations, owner))
                if resp.code == 409:  # AlreadyExists: the view is behind; upstream records nothing
                    return s, {owner}
                effects.append(_pod_event(owner, "create", target.name, _message(resp)))
                return self._fail(s, owner, now, effects), {owner}
            case Action.DELETE_POD:
                if resp.ok:
                    effects.append(_pod_event(owner, "delete", target.name))
                    return s, set()
                s = attrs.evolve(s, expectations=exps.deletion_observed(s.expectations, owner, target))
                if resp.code == 404:
                    return s, {owner}
                effects.append(_pod_event(owner, "delete", target.name, _message(resp)))
                return self._fail(s, owner, now, effects), {owner}
            case Action.UPDATE_POD:
                if resp.ok:
                    effects.append(_pod_event(owner, "update", target.name))
                    return s, set()
                if resp.code in (404, 409):
                    return s, {owner}
                effects.append(_pod_event(owner, "update", target.name, _message(resp)))
                return self._fail(s, owner, now, effects), {owner}
            case Action.CLAIM_POD:
                return s, set() if resp.ok else {owner}
            case Action.CREATE_CLAIM | Action.UPDATE_CLAIM:
                verb = "create" if op.action is Action.CREATE_CLAIM else "update"
                if resp.ok:
                    if op.action is Action.CREATE_CLAIM:
                        effects.append(_claim_event(owner, verb, target.name, op.pod))
                    return s, {owner}
                if resp.code in (404, 409):  # exists already / changed meanwhile: the view catches up
                    return s, {owner}
                effects.append(_claim_event(owner, verb, target.name, op.pod, _message(resp)))
                return self._fail(s, owner, now, effects), {owner}
            case Action.STATUS:
                return s, {owner}
            case _:
                assert_never(op.action)

    def _status_answered(
        self, s: StatefulSetState, owner: ObjectKey, resp: Response, now: Time, effects: Effects
    ) -> tuple[StatefulSetState, set[ObjectKey]]:
        pending = s.status_writes.get(owner)
        if resp.ok and pending is not None and isinstance(resp.body, StatefulSet):
            written = attrs.evolve(pending, written_rv=resp.body.metadata.resource_version)
            return attrs.evolve(s, status_writes=s.status_writes.set(owner, written), retries=s.retries.discard(owner)), set()
        s = attrs.evolve(s, status_writes=s.status_writes.discard(owner))
        if resp.ok or resp.code == 409:
            return s, {owner}
        count = s.retries.get(owner, 0) + 1
        s = attrs.evolve(s, retries=s.retries.set(owner, count))
        return self._wake(s, owner, Time(now + STATUS_RETRY), effects, in_motion=retry_in_motion(count)), set()

    def _fail(self, s: StatefulSetState, owner: ObjectKey, now: Time, effects: Effects) -> StatefulSetState:
        prior = s.failures.get(owner)
        count = 1 if prior is None else prior.count + 1
        retry_at = Time(now + DEFAULT_RATE_LIMITER.when(count))
        s = attrs.evolve(s, failures=s.failures.set(owner, Failure(count=count, retry_at=retry_at)))
        return self._wake(s, owner, retry_at, effects, in_motion=retry_in_motion(count))

    def _wake(
        self, s: StatefulSetState, owner: ObjectKey, at: Time, effects: Effects, *, in_motion: bool
    ) -> StatefulSetState:
        """Ask for a resync of `owner` at `at`, unless a pending one covers it (`timers.wake`)."""
        wakeups = wake(s.wakeups, owner, at, in_motion, timer_key(owner), effects)
        return s if wakeups is s.wakeups else attrs.evolve(s, wakeups=wakeups)

    def _send(
        self, s: StatefulSetState, call: Create | Delete | Update | Patch, op: InFlight, effects: Effects
    ) -> StatefulSetState:
        rid = f"sts-{s.next_id}"
        effects.append(CallApi(request=call, tag=rid))
        s = attrs.evolve(s, next_id=s.next_id + 1, in_flight=s.in_flight.set(rid, op))
        if op.target is not None and op.action in (
            Action.UPDATE_POD,
            Action.CLAIM_POD,
            Action.CREATE_CLAIM,
            Action.UPDATE_CLAIM,
        ):
            s = attrs.evolve(s, writes=s.writes.set(op.target, 0))
        return s

    # -- sync

    def sync(self, s: StatefulSetState, key: ObjectKey, now: Time, effects: Effects) -> StatefulSetState:
        """syncStatefulSet for `key`: claim pods, manage (if expectations allow), write status.

        Appends its effects to `effects`; returns the new state.
        """
        sts = get(s.view, key)
        if not isinstance(sts, StatefulSet):
            return attrs.evolve(
                s,
                expectations=exps.forget(s.expectations, key),
                status_writes=s.status_writes.discard(key),
                failures=s.failures.discard(key),
                retries=s.retries.discard(key),
                revisions=s.revisions.discard(key),
                wakeups=s.wakeups.discard(key),
            )
        selector = _selector(sts)
        if selector is None:
            return s
        s, pods = self._claim(s, sts, selector, effects)
        s, revs = self._revisions(s, sts, pods)
        failure = s.failures.get(key)
        deleted_for_update = 0
        if not exps.satisfied(s.expectations, key, now):
            expiry = exps.expires_at(s.expectations, key)
            if expiry is not None:  # a safety net: merely scheduled
                s = self._wake(s, key, Time(expiry + 1.0), effects, in_motion=False)
        elif failure is None or now >= failure.retry_at:
            s, deleted_for_update = self._manage(s, sts, pods, revs, now, effects)
        status = compute_status(sts, pods, revs, -deleted_for_update, now)
        s = self._write_status(s, sts, status, effects)
        return self._wake_for_availability(s, sts, pods, now, effects)

    def _claim(
        self, s: StatefulSetState, sts: StatefulSet, selector: Selector, effects: Effects
    ) -> tuple[StatefulSetState, tuple[Pod, ...]]:
        """getPodsForStatefulSet: claim pods named like members and selected; adopt and
        release with one patch in flight per pod. Returns the claimed pods with an ordinal."""
        key = key_of(sts)
        uid = sts.metadata.uid
        names = {k for k in dependents(s.view, uid) if k.kind is Kind.POD}
        orphans = (
            key_of(p)
            for p in list_objects(s.view, Kind.POD, key.namespace)
            if controller_of(p.metadata) is None and is_member_of(sts, p)
        )
        candidates = tuple(
            p for k in sorted({*names, *orphans}) if isinstance(p := get(s.view, k), Pod)
        )
        result = claim(sts, candidates, lambda p: selector.matches(p.metadata.labels) and is_member_of(sts, p))
        for pod in result.adopt:
            if key_of(pod) not in s.writes:
                op = InFlight(owner=key, action=Action.CLAIM_POD, target=key_of(pod))
                s = self._send(s, adopt_request(pod, sts), op, effects)
        for pod in result.release:
            if key_of(pod) not in s.writes:
                op = InFlight(owner=key, action=Action.CLAIM_POD, target=key_of(pod))
                s = self._send(s, release_request(pod, uid), op, effects)
        claimed = (p for p in (*result.owned, *result.adopt) if isinstance(p, Pod) and ordinal_of(p) >= 0)
        return s, tuple(sorted(claimed, key=lambda p: (ordinal_of(p), p.metadata.name)))

    def _revisions(
        self, s: StatefulSetState, sts: StatefulSet, pods: tuple[Pod, ...]
    ) -> tuple[StatefulSetState, Revisions]:
        """getStatefulSetRevisions: the update revision of the live template; the current
        one named by status.currentRevision when its template is known (in memory or from a
        surviving pod), else the update revision. Keeps only revisions still in use."""
        key = key_of(sts)
        template = sts.spec.template
        update = revision_name(sts, template, sts.status.collision_count or 0)
        known = s.revisions.get(key, pmap()).set(update, template)
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
        revs = Revisions(current=current, current_template=current_template, update=update, update_template=template)
        return attrs.evolve(s, revisions=s.revisions.set(key, known)), revs

    def _claim_seen(self, s: StatefulSetState, namespace: str, name: str) -> ClaimSeen:
        key = ObjectKey(kind=Kind.PERSISTENT_VOLUME_CLAIM, namespace=namespace, name=name)
        obj = get(s.view, key)
        written = s.writes.get(key)
        if written is not None and (written == 0 or obj is None or obj.metadata.resource_version < written):
            return Pending.IN_FLIGHT
        return obj if isinstance(obj, PersistentVolumeClaim) else None

    def _manage(
        self,
        s: StatefulSetState,
        sts: StatefulSet,
        pods: tuple[Pod, ...],
        revs: Revisions,
        now: Time,
        effects: Effects,
    ) -> tuple[StatefulSetState, int]:
        """updateStatefulSet: perform the plan; raise expectations for its creates and deletes."""
        key = key_of(sts)
        ns = key.namespace
        decided = plan(sts, pods, revs, lambda name: self._claim_seen(s, ns, name), now)
        creates = 0
        deletes: list[ObjectKey] = []
        blocked = False
        for op in decided.ops:
            match op:
                case CreateClaim(claim=pvc, pod=pod_name):
                    target = key_of(pvc)
                    s = self._send(s, Create(obj=pvc), InFlight(owner=key, action=Action.CREATE_CLAIM, target=target, pod=pod_name), effects)
                case UpdateClaim(claim=pvc, pod=pod_name):
                    target = key_of(pvc)
                    if target not in s.writes:
                        s = self._send(s, Update(obj=pvc), InFlight(owner=key, action=Action.UPDATE_CLAIM, target=target, pod=pod_name), effects)
                case CreatePod(pod=pod):
                    creates += 1
                    target = ObjectKey(kind=Kind.POD, namespace=ns, name=pod.metadata.name)
                    s = self._send(s, Create(obj=pod), InFlight(owner=key, action=Action.CREATE_POD, target=target), effects)
                case UpdatePod(pod=pod):
                    target = key_of(pod)
                    if target not in s.writes:
                        s = self._send(s, Update(obj=pod), InFlight(owner=key, action=Action.UPDATE_POD, target=target), effects)
                case DeletePod(pod=pod):
                    target = key_of(pod)
                    deletes.append(target)
                    s = self._send(s, Delete(key=target), InFlight(owner=key, action=Action.DELETE_POD, target=target), effects)
                case ClaimBlocked(claim=claim_, pod=pod_name):
                    effects.append(_pod_event(key, "create", pod_name, f"pvc {claim_} is being deleted"))
                    blocked = True
                case _:
                    assert_never(op)
        if creates or deletes:
            record = Expectation(add=creates, deletes=pset(deletes), since=now)
            s = attrs.evolve(s, expectations=Expectations(by_owner=s.expectations.by_owner.set(key, record)))
        if blocked:
            s = self._fail(s, key, now, effects)
        return s, decided.deleted_for_update

    def _write_status(
        self, s: StatefulSetState, sts: StatefulSet, status: StatefulSetStatus, effects: Effects
    ) -> StatefulSetState:
        """updateStatefulSetStatus, only when the status changed, one write in flight per set."""
        key = key_of(sts)
        pending = s.status_writes.get(key)
        if pending is not None and pending.written_rv and sts.metadata.resource_version >= pending.written_rv:
            s = attrs.evolve(s, status_writes=s.status_writes.discard(key))
            pending = None
        if status == sts.status or pending is not None:
            return s
        update = Update(obj=attrs.evolve(sts, status=status), subresource=Subresource.STATUS)
        s = self._send(s, update, InFlight(owner=key, action=Action.STATUS), effects)
        return attrs.evolve(s, status_writes=s.status_writes.set(key, StatusWrite(status=status)))

    def _wake_for_availability(
        self, s: StatefulSetState, sts: StatefulSet, pods: tuple[Pod, ...], now: Time, effects: Effects
    ) -> StatefulSetState:
        """A ready pod not yet available becomes so minReadySeconds after it turned ready:
        resync one second after (upstream requeues after minReadySeconds)."""
        mrs = sts.spec.min_ready_seconds
        if mrs <= 0:
            return s
        times = [
            t
            for p in pods
            if is_running_and_ready(p) and not is_running_and_available(p, mrs, now)
            for t in (pod_ready_time(p),)
            if t is not None
        ]
        if not times:
            return s
        return self._wake(s, key_of(sts), Time(min(times) + mrs + 1.0), effects, in_motion=True)


# --- mapping events to sets -----------------------------------------------------------------


def _all_sets(view: ClusterState) -> set[ObjectKey]:
    return {key_of(o) for o in list_objects(view, Kind.STATEFUL_SET)}


def _resolve(view: ClusterState, pod: ApiObject) -> ObjectKey | None:
    """resolveControllerRef: the StatefulSet controlling `pod`, if in the view."""
    ref = controller_of(pod.metadata)
    if ref is None or ref.kind != Kind.STATEFUL_SET.value:
        return None
    key = ObjectKey(kind=Kind.STATEFUL_SET, namespace=pod.metadata.namespace, name=ref.name)
    owner = get(view, key)
    return key if owner is not None and owner.metadata.uid == ref.uid else None


def _sets_of_pod(view: ClusterState, pod: ApiObject | None) -> set[ObjectKey]:
    """Sets to sync for `pod`: its controller, or (an orphan) every set that would claim it."""
    if pod is None:
        return set()
    if controller_of(pod.metadata) is not None:
        key = _resolve(view, pod)
        return {key} if key is not None else set()
    out: set[ObjectKey] = set()
    for obj in list_objects(view, Kind.STATEFUL_SET, pod.metadata.namespace):
        if isinstance(obj, StatefulSet) and is_member_of(obj, pod):
            sel = _selector(obj)
            if sel is not None and sel.matches(pod.metadata.labels):
                out.add(key_of(obj))
    return out


def _sets_of_claim(view: ClusterState, claim_key: ObjectKey) -> set[ObjectKey]:
    """Sets whose claim templates name `claim_key` (`<template>-<set>-<ordinal>`)."""
    parent, ordinal = parent_and_ordinal(claim_key.name)
    if ordinal < 0:
        return set()
    out: set[ObjectKey] = set()
    for obj in list_objects(view, Kind.STATEFUL_SET, claim_key.namespace):
        if isinstance(obj, StatefulSet) and any(
            parent == f"{t.metadata.name}-{obj.metadata.name}" for t in obj.spec.volume_claim_templates
        ):
            out.add(key_of(obj))
    return out


def _landed(s: StatefulSetState, target: ObjectKey, resp: Response) -> StatefulSetState:
    """A write to `target` was answered: remember the revision it made (pending until the
    view shows it), or forget it when it failed."""
    body = resp.body
    if resp.ok and isinstance(body, Pod | PersistentVolumeClaim):
        rv = body.metadata.resource_version
        return attrs.evolve(s, writes=s.writes.set(target, rv))
    return attrs.evolve(s, writes=s.writes.discard(target))
