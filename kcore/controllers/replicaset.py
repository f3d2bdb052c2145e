"""The ReplicaSet and ReplicationController controller: one implementation, two kinds.

Owns `ReplicaController` (parameterised by the owner `Kind`), its two instances
`ReplicaSetController` ("replicaset-controller") and `ReplicationControllerController`
("replicationcontroller-controller", its Events from "replication-controller"), the
component state `ReplicaSetState`, and the pure helpers `compute_status`, `as_owner`, `with_status`.

Theory of operation (level-triggered, as upstream's syncReplicaSet):
- `step` folds the event into the informer view, maps it to owner keys (a pod to its
  controller, or an orphan to every owner whose selector matches it), then syncs those
  keys in sorted order.
- `sync` observes (the owner's active pods: those it controls plus matching orphans),
  claims (adopt matching orphans, release owned pods that stopped matching, ignore pods
  of other controllers or being deleted), and, only when the owner's expectations are
  satisfied, no creation burst is in flight and no failure backoff is pending, manages:
  too few pods -> create `min(missing, 500)` from the template in slow-start batches
  1, 2, 4, ... (the next batch goes when the previous one is all answered; a failed
  create ends the burst); too many -> delete the first `min(extra, 500)` in
  ActivePodsWithRanks order. Then it writes status through the status subresource when
  the computed status differs from the view's (and from a write still in flight).
- The claim is kept incrementally (`Tally`, per owner): a pod's watch event reclassifies
  that pod alone for the owners it concerns, so a sync costs O(changed pods), not
  O(owned pods); the tally is rebuilt from the view whenever the owner's uid, selector,
  template labels or deletion, or the claims in flight change, and after a relist. It is
  a cache: the effects are those of claiming every candidate afresh (a test checks the
  two agree after every step of a rollout with adoption and release).
- Views and filters: the informer view is the driver's shared cache (`informer.follow`);
  `wants` drops the updates of pods controlled by another kind before and after
  (upstream's updatePod in replica_set.go resolves the controllerRef of both versions and
  returns when neither names an owner of this kind), and the updates that change nothing
  a sync reads of a pod (`pod_update_matters`: most kubelet status writes; upstream
  compares `ResourceVersion` only). Pod additions and deletions are always taken (the
  expectations, the orphan index). A dropped update leaves the tally holding an older
  object that differs only in unread fields; a tally that would adopt an orphan checks,
  before use, that its pods to adopt are the view's (else it is counted afresh); the
  orphan index keeps a pod until its deletion (every reader re-checks the pod's
  controller in the view).
- In-flight requests are data: `expectations` (cleared by the watch events that show the
  pods created or deleted, expired after 5 simulated minutes), `in_flight` (request id ->
  what it was for), `bursts`, `claiming`, `status_writes`. A stale view therefore never
  acts twice.
- A failed create or delete records a `Failure`: status carries the ReplicaFailure
  condition (FailedCreate / FailedDelete) until a later manage succeeds, and the owner is
  not managed again before `retry_at` (5 ms doubling to 1000 s, a `WakeMeAt`).
- minReadySeconds: a ready but not yet available pod asks for a `WakeMeAt` one second
  after it becomes available (upstream requeues after minReadySeconds + 1 s).
- Settling (`kcore.controllers.timers`): the availability wait and the first retry after a
  failure (`Failure.count`, or `retries` for status writes and claims) are in motion; a
  later retry and the expectations' expiry are merely scheduled. One wake is pending per
  owner (`wakeups`), and a merely scheduled one never covers one in motion.

Differences from upstream: the ReplicaFailure condition lasts from the failed burst to the
next successful manage (upstream decides it per sync); an adoption counts as owned while
its patch is in flight (upstream patches synchronously); canAdopt reads the view, not a
fresh quorum GET; a sync held back by unfulfilled expectations asks for a `WakeMeAt` at their
expiry (upstream relies on informer resyncs); a failed adopt/release patch is retried after
`CLAIM_RETRY` seconds, not at once; victims tie by input (name) order where Go's unstable
sort is arbitrary.

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
from pyrsistent import pmap, pset
from pyrsistent.typing import PMap, PSet

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
from kcore.api.meta import ApiObject, ConditionStatus, OwnerReference, Status, Time, evolver
from kcore.api.pod import ContainerRestartPolicy, Pod, PodTemplateSpec
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
from kcore.controllers import expectations as exps
from kcore.controllers.expectations import Expectations
from kcore.controllers.podcontrol import (
    BURST_REPLICAS,
    DELETION_COST_ANNOTATION,
    SlowStart,
    adopt_request,
    batch_answered,
    batch_sent,
    claim,
    co_location_ranks,
    controller_of,
    is_pod_active,
    is_pod_available,
    is_pod_ready,
    key_of,
    pod_from_template,
    pod_ready_time,
    pods_to_delete,
    release_request,
    retry_delay,
    skipped,
    slow_start,
)
from kcore.controllers.timers import (
    Wake,
    fired,
    owner_of_timer,
    owner_timer_key,
    retry_in_motion,
    wake,
)
from kcore.labels import (
    Selector,
    SelectorParseError,
    selector_from_label_selector,
    selector_from_set,
)
from kcore.state import ClusterState, dependents, get, list_objects

CLAIM_RETRY: Final = 1.0
"""Seconds before an owner whose adopt/release patch failed is synced again."""

STATUS_RETRY: Final = 1.0
"""Seconds before retrying a status write that failed other than by a conflict."""

_TIMER_PREFIX: Final = "sync "
_NO_KEYS: Final[PSet[ObjectKey]] = pset()


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


def as_owner(obj: ApiObject) -> Owner | None:
    """The uniform view of a ReplicaSet or RC; None for another kind or a selector that
    does not parse (upstream logs it and skips the sync)."""
    match obj:
        case ReplicaSet(spec=spec, status=st):
            sel = spec.selector
            try:
                selector = selector_from_label_selector(
                    sel.match_labels,
                    tuple((r.key, r.operator.value, r.values) for r in sel.match_expressions),
                )
            except SelectorParseError:
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


# --- component state ------------------------------------------------------------------------


class Action(enum.Enum):
    CREATE = "create"
    DELETE = "delete"
    ADOPT = "adopt"
    RELEASE = "release"
    STATUS = "status"


@attrs.frozen(kw_only=True)
class InFlight:
    """What one outstanding request was for."""

    owner: ObjectKey
    action: Action
    pod: ObjectKey | None = None


@attrs.frozen(kw_only=True)
class Burst:
    """A creation burst of one owner: the slow-start progress and the pod it stamps."""

    progress: SlowStart
    pod: Pod


@attrs.frozen(kw_only=True)
class StatusWrite:
    """A status update sent (`written_rv` 0 until answered) and not yet seen in the view."""

    status: ReplicaSetStatus
    written_rv: int = 0


@attrs.frozen(kw_only=True)
class Claiming:
    """An adopt/release patch of `owner` on a pod: `written_rv` 0 until answered."""

    owner: ObjectKey
    written_rv: int = 0


@attrs.frozen(kw_only=True)
class Failure:
    """The last failed manage of an owner: condition reason/message and retry backoff."""

    reason: str
    message: str
    count: int
    retry_at: Time


@attrs.frozen(kw_only=True)
class Basis:
    """What an owner's claim of its pods depends on besides the pods themselves."""

    uid: str
    deleting: bool
    selector: Selector
    template_labels: PMap[str, str]


@attrs.frozen(kw_only=True)
class Tally:
    """One owner's claim over its candidate pods, as `_claim` + `compute_status` would find
    it, kept up to date pod by pod: each watch event of a pod that concerns the owner
    (`_interested`, before or after the event) reclassifies that pod alone.

    `claimed` are the pods it owns or is adopting (by key), `adopt` and `release` the
    candidates it would patch; `fully_labeled` and `ready` count `claimed`. Valid while its
    `basis` is the owner's and `claiming` is the state's (else rebuilt from the view)."""

    basis: Basis
    claiming: PMap[ObjectKey, Claiming]
    # derived from `basis` (template labels as a selector), built once per rebuild
    template_sel: Selector = attrs.field(eq=False, repr=False)
    claimed: PMap[ObjectKey, Pod] = pmap()
    adopt: PMap[ObjectKey, Pod] = pmap()
    release: PMap[ObjectKey, Pod] = pmap()
    fully_labeled: int = 0
    ready: int = 0


@attrs.frozen(kw_only=True)
class ReplicaSetState:
    """The controller's own state (never the cluster's)."""

    view: ClusterState
    expectations: Expectations = exps.NO_EXPECTATIONS
    in_flight: PMap[str, InFlight] = pmap()
    bursts: PMap[ObjectKey, Burst] = pmap()
    # pods with an adopt/release patch out, and by whom: no one else claims them until the
    # view has seen the revision the patch made (0 while unanswered)
    claiming: PMap[ObjectKey, Claiming] = pmap()
    status_writes: PMap[ObjectKey, StatusWrite] = pmap()
    failures: PMap[ObjectKey, Failure] = pmap()
    # consecutive failed status writes and adopt/release patches per owner (their retries)
    retries: PMap[ObjectKey, int] = pmap()
    wakeups: PMap[ObjectKey, Wake] = pmap()  # the resync timer pending per owner
    orphans: PMap[str, PSet[ObjectKey]] = pmap()  # namespace -> pods with no controller
    # per owner: its claim, kept per pod event (a cache: dropping any entry changes nothing)
    tallies: PMap[ObjectKey, Tally] = pmap()
    # per owner: its `Owner` (selector parsed) for the object last synced (a cache: not compared)
    owners: PMap[ObjectKey, Owner] = attrs.field(default=pmap(), eq=False, repr=False)
    next_id: int = 0


_evolve_state: Final = evolver(ReplicaSetState)
_evolve_tally: Final = evolver(Tally)
_evolve_owner: Final = evolver(Owner)


def _orphan_index(view: ClusterState) -> PMap[str, PSet[ObjectKey]]:
    index: dict[str, PSet[ObjectKey]] = {}
    for obj in list_objects(view, Kind.POD):
        if controller_of(obj.metadata) is None:
            ns = obj.metadata.namespace
            index[ns] = index.get(ns, pset()).add(key_of(obj))
    return pmap(index)


def _reindex_orphan(
    orphans: PMap[str, PSet[ObjectKey]], key: ObjectKey, pod: ApiObject | None
) -> PMap[str, PSet[ObjectKey]]:
    ns = key.namespace
    current = orphans.get(ns, pset())
    updated = current.add(key) if pod is not None and controller_of(pod.metadata) is None else current.discard(key)
    if updated is current:
        return orphans
    return orphans.set(ns, updated) if updated else orphans.discard(ns)


def _message(resp: Response) -> str:
    body = resp.body
    return body.message if isinstance(body, Status) else f"unexpected response code {resp.code}"


def compute_status(
    owner: Owner, pods: Iterable[Pod], failure: Failure | None, now: Time
) -> ReplicaSetStatus:
    """calculateStatus: counts over the owner's active pods, observedGeneration, and the
    ReplicaFailure condition (added while a failure stands, removed once it is cleared)."""
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


def basis_of(owner: Owner) -> Basis:
    meta = owner.obj.metadata
    labels = owner.template.metadata.labels if owner.template is not None else pmap()
    return Basis(
        uid=meta.uid, deleting=meta.deletion_timestamp is not None, selector=owner.selector, template_labels=labels
    )


def sorted_claimed(t: Tally) -> tuple[Pod, ...]:
    """The claimed pods in `_claim`'s order: by name (then namespace, the candidates' order)."""
    return tuple(sorted(t.claimed.values(), key=lambda p: (p.metadata.name, p.metadata.namespace)))


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


def reclassify(view: ClusterState, orphans: PMap[str, PSet[ObjectKey]], claiming: PMap[ObjectKey, Claiming], owner: ObjectKey, t: Tally, pk: ObjectKey) -> Tally:
    """`t` with the pod at `pk` counted as `_claim` would count it now: a candidate (naming
    the owner's uid, or an orphan of its namespace) that is active and not being claimed by
    another owner is kept or released if the owner controls it, adopted if an orphan."""
    b = t.basis
    claimed, adopt, release = t.claimed, t.adopt, t.release
    if pk in adopt:
        adopt = adopt.discard(pk)
    if pk in release:
        release = release.discard(pk)
    fully_labeled, ready = t.fully_labeled, t.ready
    template_sel = t.template_sel
    old = claimed.get(pk)
    if old is not None:
        claimed = claimed.discard(pk)
        fully_labeled -= template_sel.matches(old.metadata.labels)
        ready -= is_pod_ready(old)
    pod = get(view, pk)
    c = claiming.get(pk)
    keep = False
    if (
        isinstance(pod, Pod)
        and is_pod_active(pod)
        and (c is None or c.owner == owner)
        and (pk in view.dependents_by_owner_uid.get(b.uid, _NO_KEYS) or pk in orphans.get(pk.namespace, _NO_KEYS))
    ):
        ref = controller_of(pod.metadata)
        matches = b.selector.matches(pod.metadata.labels)
        if ref is not None:
            if ref.uid == b.uid:
                if matches:
                    keep = True
                elif not b.deleting:
                    release = release.set(pk, pod)
        elif not b.deleting and matches and pod.metadata.namespace == owner.namespace:
            adopt = adopt.set(pk, pod)
            keep = True
    if keep and isinstance(pod, Pod):
        claimed = claimed.set(pk, pod)
        fully_labeled += template_sel.matches(pod.metadata.labels)
        ready += is_pod_ready(pod)
    return _evolve_tally(
        t, claimed=claimed, adopt=adopt, release=release, fully_labeled=fully_labeled, ready=ready
    )


def _ready_since(pod: Pod) -> tuple[bool, Time | None]:
    ready = is_pod_ready(pod)
    return ready, pod_ready_time(pod) if ready else None


def _restarts(pod: Pod) -> tuple[int, int]:
    """What victim ranking reads of restarts (podcontrol's maxContainerRestarts): the most
    restarts of a regular container and of a sidecar, 0 without statuses."""
    st = pod.status
    regular = max((c.restart_count for c in st.container_statuses), default=0)
    if not st.init_container_statuses:
        return regular, 0
    sidecars = {c.name for c in pod.spec.init_containers if c.restart_policy is ContainerRestartPolicy.ALWAYS}
    return regular, max((c.restart_count for c in st.init_container_statuses if c.name in sidecars), default=0)


def pod_update_matters(old: Pod, new: Pod) -> bool:
    """Whether a pod update can change what an owner's sync reads of the pod: its claim
    (labels, ownerReferences, uid, deletion, phase, namespace), its tallies (the Ready
    condition and, for minReadySeconds, when it turned True) and its victim rank at
    scale-down (nodeName and the rest of the spec, phase, readiness and its time, the
    deletion-cost annotation, restart counts, creation time). A kubelet status write that
    changes only other conditions, container states, IPs or the start time does not, nor
    a status write to a pod inactive before and after (terminal, or being deleted: no
    claim counts it; its deletion was observed when deletionTimestamp was set)."""
    a, b = old.metadata, new.metadata
    if (
        a.uid != b.uid
        or (a.labels is not b.labels and a.labels != b.labels)
        or a.owner_references != b.owner_references
        or a.deletion_timestamp != b.deletion_timestamp
        or a.creation_timestamp != b.creation_timestamp
        or a.annotations.get(DELETION_COST_ANNOTATION) != b.annotations.get(DELETION_COST_ANNOTATION)
        or (old.spec is not new.spec and old.spec != new.spec)
    ):
        return True
    if old.status is new.status:
        return False
    if not is_pod_active(old) and not is_pod_active(new):
        return False  # terminal or being deleted, before and after: no sync reads it again
    return (
        old.status.phase != new.status.phase
        or _ready_since(old) != _ready_since(new)
        or _restarts(old) != _restarts(new)
    )


def _adopt_current(view: ClusterState, t: Tally) -> bool:
    """Whether every pod the tally would adopt is still the version it classified: an
    orphan adopted by a controller of another kind changes unseen (`wants` drops that
    event), and the tally must then be counted afresh."""
    return not t.adopt or all(get(view, pk) is pod for pk, pod in t.adopt.items())


def _owner_again(cached: Owner | None, obj: ApiObject) -> Owner | None:
    """`as_owner(obj)`, reusing `cached` (the owner as of an earlier version of the
    object) when the spec it was parsed from is the same object: a status write keeps it."""
    if cached is not None:
        if cached.obj is obj:
            return cached
        if isinstance(obj, ReplicaSet) and isinstance(cached.obj, ReplicaSet) and obj.spec is cached.obj.spec:
            return _evolve_owner(cached, obj=obj, status=obj.status)
    return as_owner(obj)


def timer_key(owner: ObjectKey) -> str:
    """The `WakeMeAt` key that resyncs `owner`."""
    return owner_timer_key(_TIMER_PREFIX, owner)


# --- the component --------------------------------------------------------------------------

Effects = list[Effect]


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
        return ReplicaSetState(view=view, orphans=_orphan_index(view)), ()

    def step(self, state: ReplicaSetState, event: Event) -> tuple[ReplicaSetState, tuple[Effect, ...]]:
        """Absorb one event, then sync every owner it concerns, in key order.

        Handles Started/Resynced (sync all), WatchDelivered (owners and pods), ApiAnswered
        (creates, deletes, adopt/release patches, status writes), TimerFired (resync one).
        May emit CallApi (Create/Delete/Patch pods, Update status), RecordEvent, WakeMeAt.
        """
        s = state
        now = event.now
        keys: set[ObjectKey] = set()
        effects: Effects = []
        match event:
            case Started():
                keys = self._all_owners(s.view)
            case WatchDelivered():
                s, keys = self._absorb(s, event)
            case ApiAnswered():
                s, keys = self._answered(s, event, effects)
            case TimerFired(key=tkey):
                s, keys = self._timer(s, tkey, now)
            case Resynced(view=view):
                s = self._relisted(s, view)
                keys = self._all_owners(view)
            case RuntimeAnswered() | RuntimeNotified():
                pass
            case _:
                assert_never(event)
        for key in sorted(keys):
            s = self.sync(s, key, now, effects)
        return s, tuple(effects)

    # -- absorbing events

    def _all_owners(self, view: ClusterState) -> set[ObjectKey]:
        return {key_of(o) for o in list_objects(view, self.kind)}

    def _resolve(self, view: ClusterState, pod: ApiObject) -> ObjectKey | None:
        """resolveControllerRef: the owner of our kind controlling `pod`, if in the view."""
        ref = controller_of(pod.metadata)
        if ref is None or ref.kind != self.kind.value:
            return None
        key = ObjectKey(kind=self.kind, namespace=pod.metadata.namespace, name=ref.name)
        owner = get(view, key)
        return key if owner is not None and owner.metadata.uid == ref.uid else None

    def _interested(self, view: ClusterState, pod: ApiObject | None) -> set[ObjectKey]:
        """Owners to sync for `pod`: its controller, or (an orphan) every owner selecting it."""
        if pod is None:
            return set()
        if controller_of(pod.metadata) is not None:
            key = self._resolve(view, pod)
            return {key} if key is not None else set()
        out: set[ObjectKey] = set()
        for obj in list_objects(view, self.kind, pod.metadata.namespace):
            owner = as_owner(obj)
            if owner is not None and owner.selector.matches(pod.metadata.labels):
                out.add(owner.key)
        return out

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
        keys = self._interested(s.view, old) | self._interested(view, new)
        changes: dict[str, object] = {"view": view}
        orphans = _reindex_orphan(s.orphans, key, new)
        if orphans is not s.orphans:
            changes["orphans"] = orphans
        landed = s.claiming.get(key)
        if landed is not None and (new is None or 0 < landed.written_rv <= we.resource_version):
            changes["claiming"] = s.claiming.discard(key)
        if new is None or new.metadata.deletion_timestamp is not None:
            expectations = exps.deletion_observed_anywhere(s.expectations, key)
            if expectations is not s.expectations:
                changes["expectations"] = expectations
        elif we.type is WatchType.ADDED and (owner := self._resolve(view, new)) is not None:
            changes["expectations"] = exps.creation_observed(s.expectations, owner)
        s = _evolve_state(s, **changes)
        return self._retally(s, key, keys), keys

    def _retally(self, s: ReplicaSetState, pod: ObjectKey, owners: set[ObjectKey]) -> ReplicaSetState:
        """Recount `pod` in the tallies of the owners its event concerns (the only owners
        whose claim it can change: any other ignores it before and after)."""
        tallies = s.tallies
        for owner in owners:
            t = tallies.get(owner)
            if t is not None:
                tallies = tallies.set(owner, reclassify(s.view, s.orphans, s.claiming, owner, t, pod))
        return _evolve_state(s, tallies=tallies) if tallies is not s.tallies else s

    def _relisted(self, s: ReplicaSetState, view: ClusterState) -> ReplicaSetState:
        """A relist shows every answered write: only owners with requests still out keep
        their expectations (the events that would have lowered the rest were never sent)."""
        busy = {op.owner for op in s.in_flight.values()}
        kept = pmap({k: v for k, v in s.expectations.by_owner.items() if k in busy})
        return _evolve_state(
            s, view=view, orphans=_orphan_index(view), expectations=Expectations(by_owner=kept), tallies=pmap()
        )

    def _timer(self, s: ReplicaSetState, tkey: str, now: Time) -> tuple[ReplicaSetState, set[ObjectKey]]:
        key = owner_of_timer(_TIMER_PREFIX, self.kind, tkey)
        if key is None:
            return s, set()
        wakeups = fired(s.wakeups, key, now)
        if wakeups is not s.wakeups:
            s = _evolve_state(s, wakeups=wakeups)
        return s, {key}

    # -- answers

    def _answered(
        self, s: ReplicaSetState, ev: ApiAnswered, effects: Effects
    ) -> tuple[ReplicaSetState, set[ObjectKey]]:
        op = s.in_flight.get(ev.tag)
        if op is None:
            return s, set()
        s = _evolve_state(s, in_flight=s.in_flight.discard(ev.tag))
        resp, owner, now = ev.response, op.owner, ev.now
        match op.action:
            case Action.CREATE:
                return self._created(s, ev.tag, owner, resp, now, effects)
            case Action.DELETE:
                return self._deleted(s, op, resp, now, effects)
            case Action.ADOPT | Action.RELEASE:
                if op.pod is None:
                    return s, {owner}
                if resp.ok and isinstance(resp.body, Pod):
                    rv = resp.body.metadata.resource_version
                    landed = Claiming(owner=owner, written_rv=rv)
                    s = _evolve_state(s, claiming=s.claiming.set(op.pod, landed), retries=s.retries.discard(owner))
                    return s, set()
                # no immediate resync: the view may not show yet why it failed (a 404 for a
                # pod whose DELETED event is still on its way), so retrying now could loop
                s = _evolve_state(s, claiming=s.claiming.discard(op.pod))
                return self._retry(s, owner, Time(now + CLAIM_RETRY), effects), set()
            case Action.STATUS:
                pending = s.status_writes.get(owner)
                if resp.ok and pending is not None and isinstance(resp.body, ReplicaSet | ReplicationController):
                    written = attrs.evolve(pending, written_rv=resp.body.metadata.resource_version)
                    s = _evolve_state(s, status_writes=s.status_writes.set(owner, written), retries=s.retries.discard(owner))
                    return s, set()
                s = _evolve_state(s, status_writes=s.status_writes.discard(owner))
                if resp.ok or resp.code == 409:  # a conflict: the view has, or soon gets, a newer version
                    return s, {owner}
                return self._retry(s, owner, Time(now + STATUS_RETRY), effects), set()
            case _:
                assert_never(op.action)

    def _created(
        self, s: ReplicaSetState, rid: str, owner: ObjectKey, resp: Response, now: Time, effects: Effects
    ) -> tuple[ReplicaSetState, set[ObjectKey]]:
        error = "" if resp.ok else _message(resp)
        if resp.ok:
            name = resp.body.metadata.name if isinstance(resp.body, Pod) else ""
            effects.append(RecordEvent(involved=owner, type=EventType.NORMAL, reason="SuccessfulCreate", message=f"Created pod: {name}"))
        else:
            effects.append(RecordEvent(involved=owner, type=EventType.WARNING, reason="FailedCreate", message=f"Error creating: {error}"))
            s = _evolve_state(s, expectations=exps.creation_observed(s.expectations, owner))
        burst = s.bursts.get(owner)
        if burst is None:
            return s, {owner}
        progress, size = batch_answered(burst.progress, rid, error)
        s = _evolve_state(s, bursts=s.bursts.set(owner, attrs.evolve(burst, progress=progress)))
        if size:
            return self._send_creates(s, owner, size, effects), set()
        if not progress.done:
            return s, set()
        s = _evolve_state(
            s,
            bursts=s.bursts.discard(owner),
            expectations=exps.creation_observed(s.expectations, owner, skipped(progress)),
        )
        if progress.error:
            s = self._fail(s, owner, "FailedCreate", progress.error, now, effects)
        else:
            s = _evolve_state(s, failures=s.failures.discard(owner))
        return s, {owner}

    def _deleted(
        self, s: ReplicaSetState, op: InFlight, resp: Response, now: Time, effects: Effects
    ) -> tuple[ReplicaSetState, set[ObjectKey]]:
        pod, owner = op.pod, op.owner
        if pod is None:
            return s, {owner}
        if resp.ok:
            effects.append(RecordEvent(involved=owner, type=EventType.NORMAL, reason="SuccessfulDelete", message=f"Deleted pod: {pod.name}"))
            return s, set()
        # the informer will not observe this deletion: stop waiting for it
        s = _evolve_state(s, expectations=exps.deletion_observed(s.expectations, owner, pod))
        if resp.code == 404:
            return s, {owner}
        error = _message(resp)
        effects.append(RecordEvent(involved=owner, type=EventType.WARNING, reason="FailedDelete", message=f"Error deleting: {error}"))
        return self._fail(s, owner, "FailedDelete", error, now, effects), {owner}

    def _fail(
        self, s: ReplicaSetState, owner: ObjectKey, reason: str, message: str, now: Time, effects: Effects
    ) -> ReplicaSetState:
        prior = s.failures.get(owner)
        count = 1 if prior is None else prior.count + 1
        retry_at = Time(now + retry_delay(count))
        failure = Failure(reason=reason, message=message, count=count, retry_at=retry_at)
        s = _evolve_state(s, failures=s.failures.set(owner, failure))
        return self._wake(s, owner, retry_at, effects, in_motion=retry_in_motion(count))

    def _retry(self, s: ReplicaSetState, owner: ObjectKey, at: Time, effects: Effects) -> ReplicaSetState:
        """Retry a failed status write or claim patch at `at`: in motion the first time."""
        count = s.retries.get(owner, 0) + 1
        s = _evolve_state(s, retries=s.retries.set(owner, count))
        return self._wake(s, owner, at, effects, in_motion=retry_in_motion(count))

    def _wake(
        self, s: ReplicaSetState, owner: ObjectKey, at: Time, effects: Effects, *, in_motion: bool
    ) -> ReplicaSetState:
        """Ask for a resync of `owner` at `at`, unless a pending one covers it (`timers.wake`)."""
        wakeups = wake(s.wakeups, owner, at, in_motion, timer_key(owner), effects)
        return s if wakeups is s.wakeups else _evolve_state(s, wakeups=wakeups)

    def _request_id(self, s: ReplicaSetState) -> tuple[ReplicaSetState, str]:
        return _evolve_state(s, next_id=s.next_id + 1), f"{self.kind.info.short_names[0]}-{s.next_id}"

    def _send_creates(self, s: ReplicaSetState, owner: ObjectKey, size: int, effects: Effects) -> ReplicaSetState:
        burst = s.bursts[owner]
        rids: list[str] = []
        in_flight = s.in_flight
        for _ in range(size):
            s, rid = self._request_id(s)
            rids.append(rid)
            in_flight = in_flight.set(rid, InFlight(owner=owner, action=Action.CREATE))
            effects.append(CallApi(request=Create(obj=burst.pod), tag=rid))
        burst = attrs.evolve(burst, progress=batch_sent(burst.progress, rids))
        return _evolve_state(s, in_flight=in_flight, bursts=s.bursts.set(owner, burst))

    def _send(
        self, s: ReplicaSetState, call: Create | Delete | Update, op: InFlight, effects: Effects
    ) -> ReplicaSetState:
        s, rid = self._request_id(s)
        effects.append(CallApi(request=call, tag=rid))
        return _evolve_state(s, in_flight=s.in_flight.set(rid, op))

    # -- sync

    def sync(self, s: ReplicaSetState, key: ObjectKey, now: Time, effects: Effects) -> ReplicaSetState:
        """syncReplicaSet for `key`: claim, manage (if expectations allow), write status.

        Appends its effects to `effects`; returns the new state.
        """
        obj = get(s.view, key)
        if obj is None:
            return _evolve_state(
                s,
                expectations=exps.forget(s.expectations, key),
                status_writes=s.status_writes.discard(key),
                failures=s.failures.discard(key),
                retries=s.retries.discard(key),
                tallies=s.tallies.discard(key),
                owners=s.owners.discard(key),
            )
        cached = s.owners.get(key)
        owner = _owner_again(cached, obj)
        if owner is None:
            return _evolve_state(s, tallies=s.tallies.discard(key), owners=s.owners.discard(key))
        if owner is not cached:
            s = _evolve_state(s, owners=s.owners.set(key, owner))
        s, claimed = self._claim(s, owner, effects)
        failure = s.failures.get(key)
        if not exps.satisfied(s.expectations, key, now):
            # a watch event that never comes must not wedge the owner: resync at expiry (a
            # safety net, merely scheduled: the events it waits for are in motion themselves)
            expiry = exps.expires_at(s.expectations, key)
            if expiry is not None and key not in s.bursts:
                s = self._wake(s, key, Time(expiry + 1.0), effects, in_motion=False)
        elif (
            obj.metadata.deletion_timestamp is None
            and key not in s.bursts
            and (failure is None or now >= failure.retry_at)
        ):
            s = self._manage(s, owner, claimed, now, effects)
        status = tally_status(owner, claimed, s.failures.get(key), now)
        s = self._write_status(s, owner, status, effects)
        return self._wake_for_availability(s, owner, claimed, now, effects)

    def _candidates(self, s: ReplicaSetState, owner: Owner) -> tuple[Pod, ...]:
        """Active pods that could be the owner's: those naming its uid, and the orphans of
        its namespace (pods of other controllers are never looked at)."""
        keys = {k for k in dependents(s.view, owner.obj.metadata.uid) if k.kind is Kind.POD}
        keys.update(s.orphans.get(owner.key.namespace, pset()))
        pods = (get(s.view, k) for k in sorted(keys))
        return tuple(p for p in pods if isinstance(p, Pod) and is_pod_active(p))

    def _tally(self, s: ReplicaSetState, owner: Owner) -> tuple[ReplicaSetState, Tally]:
        """The owner's tally: the one kept since the last sync while still valid, else
        counted afresh from the view (every candidate through `claim`)."""
        basis = basis_of(owner)
        t = s.tallies.get(owner.key)
        if t is not None and t.claiming is s.claiming and t.basis == basis and _adopt_current(s.view, t):
            return s, t
        # a pod another owner is adopting or releasing right now is not a candidate
        candidates = tuple(
            p
            for p in self._candidates(s, owner)
            if (c := s.claiming.get(key_of(p))) is None or c.owner == owner.key
        )
        result = claim(owner.obj, candidates, lambda p: owner.selector.matches(p.metadata.labels))
        claimed = [p for p in (*result.owned, *result.adopt) if isinstance(p, Pod)]
        template_sel = selector_from_set(basis.template_labels)
        t = Tally(
            basis=basis,
            claiming=s.claiming,
            template_sel=template_sel,
            claimed=pmap({key_of(p): p for p in claimed}),
            adopt=pmap({key_of(p): p for p in result.adopt if isinstance(p, Pod)}),
            release=pmap({key_of(p): p for p in result.release if isinstance(p, Pod)}),
            fully_labeled=sum(1 for p in claimed if template_sel.matches(p.metadata.labels)),
            ready=sum(1 for p in claimed if is_pod_ready(p)),
        )
        return _evolve_state(s, tallies=s.tallies.set(owner.key, t)), t

    def _claim(self, s: ReplicaSetState, owner: Owner, effects: Effects) -> tuple[ReplicaSetState, Tally]:
        """claimPods: adopt and release (one patch in flight per pod); the claim (its
        pods by name: `sorted_claimed`)."""
        s, t = self._tally(s, owner)
        for pk in sorted(t.adopt):
            if pk not in s.claiming:
                s = self._send_patch(s, adopt_request(t.adopt[pk], owner.obj), owner.key, Action.ADOPT, pk, effects)
        for pk in sorted(t.release):
            if pk not in s.claiming:
                patch = release_request(t.release[pk], owner.obj.metadata.uid)
                s = self._send_patch(s, patch, owner.key, Action.RELEASE, pk, effects)
        return s, t

    def _send_patch(
        self, s: ReplicaSetState, patch: Patch, owner: ObjectKey, action: Action, pod: ObjectKey, effects: Effects
    ) -> ReplicaSetState:
        s, rid = self._request_id(s)
        effects.append(CallApi(request=patch, tag=rid))
        op = InFlight(owner=owner, action=action, pod=pod)
        return _evolve_state(s, in_flight=s.in_flight.set(rid, op), claiming=s.claiming.set(pod, Claiming(owner=owner)))

    def _manage(
        self, s: ReplicaSetState, owner: Owner, claimed: Tally, now: Time, effects: Effects
    ) -> ReplicaSetState:
        """manageReplicas: start a creation burst or delete the ranked extras."""
        key = owner.key
        diff = len(claimed.claimed) - owner.replicas
        if diff < 0:
            if owner.template is None:
                return s
            count = min(-diff, BURST_REPLICAS)
            progress, size = slow_start(count)
            burst = Burst(progress=progress, pod=pod_from_template(owner.template, owner.obj))
            s = _evolve_state(
                s,
                expectations=exps.expect_creations(s.expectations, key, count, now),
                bursts=s.bursts.set(key, burst),
            )
            return self._send_creates(s, key, size, effects)
        if diff > 0:
            count = min(diff, BURST_REPLICAS)
            pods = sorted_claimed(claimed)
            ranks = co_location_ranks(pods, self._related_pods(s.view, owner))
            victims = pods_to_delete(pods, count, ranks, now)
            s = _evolve_state(
                s, expectations=exps.expect_deletions(s.expectations, key, (key_of(p) for p in victims), now)
            )
            for pod in victims:
                pk = key_of(pod)
                s = self._send(s, Delete(key=pk), InFlight(owner=key, action=Action.DELETE, pod=pk), effects)
            return s
        return _evolve_state(s, failures=s.failures.discard(key))

    def _related_pods(self, view: ClusterState, owner: Owner) -> tuple[Pod, ...]:
        """getIndirectlyRelatedPods: pods selected by any owner sharing this owner's
        controller (a Deployment's ReplicaSets); none for an owner with no controller."""
        ctrl = controller_of(owner.obj.metadata)
        if ctrl is None:
            return ()
        siblings = [as_owner(o) for k in dependents(view, ctrl.uid) if k.kind is self.kind and (o := get(view, k)) is not None]
        selectors = [
            o.selector for o in siblings if o is not None and (c := controller_of(o.obj.metadata)) is not None and c.uid == ctrl.uid
        ]
        return tuple(
            p
            for p in list_objects(view, Kind.POD, owner.key.namespace)
            if isinstance(p, Pod) and any(sel.matches(p.metadata.labels) for sel in selectors)
        )

    def _write_status(
        self, s: ReplicaSetState, owner: Owner, status: ReplicaSetStatus, effects: Effects
    ) -> ReplicaSetState:
        """updateReplicaSetStatus, only when the status changed, and with at most one write
        per owner in flight (until the view shows it), so writes never race each other."""
        key = owner.key
        pending = s.status_writes.get(key)
        if pending is not None and pending.written_rv and owner.obj.metadata.resource_version >= pending.written_rv:
            s = _evolve_state(s, status_writes=s.status_writes.discard(key))
            pending = None
        if status == owner.status or pending is not None:
            return s  # one write at a time: the next sync after it lands writes what changed
        update = Update(obj=with_status(owner.obj, status), subresource=Subresource.STATUS)
        s = self._send(s, update, InFlight(owner=key, action=Action.STATUS), effects)
        return _evolve_state(s, status_writes=s.status_writes.set(key, StatusWrite(status=status)))

    def _wake_for_availability(
        self, s: ReplicaSetState, owner: Owner, claimed: Tally, now: Time, effects: Effects
    ) -> ReplicaSetState:
        """A ready pod not yet available becomes so minReadySeconds after it turned ready:
        resync one second after (upstream: AddAfter minReadySeconds + 1 s)."""
        if owner.min_ready_seconds <= 0:
            return s
        times = [
            t
            for p in claimed.claimed.values()
            if is_pod_ready(p) and not is_pod_available(p, owner.min_ready_seconds, now)
            for t in (pod_ready_time(p),)
            if t is not None
        ]
        if not times:
            return s
        # in motion: the pod becomes available by itself, and status must show it
        return self._wake(s, owner.key, Time(min(times) + owner.min_ready_seconds + 1.0), effects, in_motion=True)


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
