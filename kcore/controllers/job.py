"""The Job controller: pods for a Job until enough succeed, or the Job fails.

Owns `JobController` ("job-controller", watches Job and Pod), its state `JobState` and
the request tag `Op`. What one sync decides (`Observed`, `Plan`, `decide`) is
`job_plan`; the pure rules (tracking finalizer, failed pods, conditions) live in
`job_rules`, Indexed helpers in `job_indexes`, pod failure backoff in `job_backoff`.

Theory of operation (level-triggered, as upstream's syncJob; `sync` observes, decides a
`Plan` and emits it):
- observe: the Job's pods (controller uid = the Job's), the active ones, the terminating
  ones, and the finished pods not yet accounted for: those still carrying the
  batch.kubernetes.io/job-tracking finalizer whose uid is not in
  `status.uncountedTerminatedPods` (and, Indexed, whose index is valid).
- decide: succeeded/failed = counters + uncounted + new; a failure condition when
  failed > backoffLimit (or the OnFailure restarts reach it) or activeDeadlineSeconds has
  passed; else manage: suspended -> remove every active pod; too many -> remove the
  extras; too few -> create `min(parallelism, completions - succeeded) - active` pods
  (Indexed: the lowest pending indexes), unless the pod failure backoff (10 s * 2^(n-1),
  at most 6 min, after the last failure) says wait. Success: completions reached with
  no pod active (nil completions: any success and no pod active).
- track (trackJobStatusWithFinalizers): new finished pods go into uncountedTerminatedPods
  (Indexed successes straight into completedIndexes), written through the status
  subresource; a pod's finalizer is removed only once the *observed* Job status already
  accounts for it; a uid leaves the uncounted lists for the counters only once its pod
  is seen without the finalizer (or gone). Every count is therefore made once, by a
  write conditioned on the Job's resourceVersion, and survives any restart.
- finish (1.31+ order): SuccessCriteriaMet / FailureTarget first; Complete (with
  completionTime) / Failed once nothing is uncounted and no pod is terminating. Events
  Completed "Job completed" or the failure reason, when that write succeeds.
- A request's tag says what it answers (`Op(owner, action, ...)`, carrying what its
  success records: the backoff, the finished condition); a timer's key is the Job's key,
  or an orphan pod's for its finalizer patch (two work queues, as upstream's `queue` and
  `orphanQueue`). In flight: pod creations/deletions in `expectations`, finalizer
  removals in `removing` (and `removals_out`, what a relist keeps), one status write per
  Job in `status_writes` (a Job is not synced again until the view shows it), failure
  backoff in `backoff` (memory only, as upstream's podBackoffStore).
- Settling: the first retry of a failed request (its work queue counts failures in a row,
  `RETRY` apart) and the pod failure back-off after the first failure since the last
  success are in motion; later ones, and the activeDeadlineSeconds check, are merely
  scheduled, so a Job whose pods keep failing lets settling end.

Differences from upstream: creations go out in one burst (no slow-start batches); no
adoption of orphans (the generated selector names the Job's uid); podFailurePolicy,
successPolicy, backoffLimitPerIndex and managedBy are not acted on; a Job with its
status write in flight waits for it instead of syncing concurrently; a failed request is
retried after a fixed second (docs/semantics.md, "Work queues and retries").

Watch filter (`wants`): every Job event; a Pod event only when the pod is controlled by a
Job, is an orphan (no controller ownerReference), or carries the job-tracking finalizer
(an orphaned finalizer to clean up), as upstream's addPod/updatePod/deletePod return
early for a controllerRef of another kind. The view is the shared informer cache; the
controller reads only the Jobs' own pods and pods with the finalizer, so a skipped pod
is never read stale. A pod whose controllerRef moves from a Job straight to another kind
(dropping the finalizer) in one write is not seen leaving; the next sync of that Job
sees it gone.

Must not know: the driver, the kubelet, other controllers.
Mirrors pkg/controller/job/job_controller.go (syncJob, manageJob,
trackJobStatusAndRemoveFinalizers, pastBackoffLimitOnFailure, pastActiveDeadline).
"""

from __future__ import annotations

import enum
from typing import Final, assert_never

import attrs
from pyrsistent import pmap, pset
from pyrsistent.typing import PMap, PSet

from kcore.api.batch import (
    CompletionMode,
    Job,
    JobCondition,
    JobConditionType,
    JobStatus,
    UncountedTerminatedPods,
)
from kcore.api.core import EventSource
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ApiObject, Time, evolver
from kcore.api.pod import Pod, PodPhase
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
from kcore.component.requests import Create, Delete, Request, Response
from kcore.component.workqueue import (
    RateLimiter,
    WorkQueue,
    fired,
    forget,
    rate_limited,
    requeue,
    retry_in_motion,
    wake,
)
from kcore.controllers import expectations as exps
from kcore.controllers import job_indexes as ix
from kcore.controllers.expectations import Expectations, RequestsOut
from kcore.controllers.job_backoff import NO_BACKOFF, BackoffRecord, new_backoff_record
from kcore.controllers.job_plan import Observed, Plan, decide, new_finished
from kcore.controllers.job_rules import (
    completions_of,
    has_tracking_finalizer,
    is_job_finished,
    remove_finalizer_patch,
)
from kcore.controllers.ownership import resolve_controller_ref
from kcore.controllers.podcontrol import (
    controller_of,
    create_answered,
    delete_answered,
    is_pod_active,
    key_of,
    mine_or_orphan,
)
from kcore.controllers.status import (
    Outcome,
    StatusWrites,
    emit_status,
    forget_owner,
    status_answered,
    status_pending,
)
from kcore.state import ClusterState, dependents, get, list_objects

NAME: Final = "job-controller"
RETRY: Final = RateLimiter(base_delay=1.0, max_delay=1.0)
"""A Job whose request failed (or conflicted) is synced again 1 s later (an orphan pod's
finalizer patch, retried 1 s later)."""


# --- requests and state ---------------------------------------------------------------------


class Action(enum.Enum):
    CREATE = "create"
    DELETE = "delete"
    REMOVE_FINALIZER = "remove-finalizer"
    ORPHAN_FINALIZER = "orphan-finalizer"
    STATUS = "status"


@attrs.frozen(kw_only=True)
class Op:
    """The tag of a request: the Job it is for (an orphan pod's own key for a finalizer
    patch no Job owns), what it does, the pod (and its uid) it acts on, and what a status
    write records once it lands (the pod failure backoff, the finished condition)."""

    owner: ObjectKey
    action: Action
    pod: ObjectKey | None = None
    uid: str = ""
    backoff: BackoffRecord | None = None
    finished: JobCondition | None = None


@attrs.frozen(kw_only=True)
class JobState:
    """The controller's own state (never the cluster's)."""

    view: ClusterState
    queue: WorkQueue = WorkQueue(kind=Kind.JOB)
    orphan_queue: WorkQueue = WorkQueue(kind=Kind.POD)  # orphan pods' finalizer patches
    expectations: Expectations = exps.NO_EXPECTATIONS
    requests_out: RequestsOut = pmap()
    removing: PMap[ObjectKey, PSet[str]] = pmap()  # job -> pod uids whose finalizer removal is out
    removals_out: PMap[tuple[ObjectKey, str], int] = pmap()  # (job, uid) -> removals unanswered
    orphan_patches: PSet[ObjectKey] = pset()
    status_writes: StatusWrites[JobStatus] = StatusWrites()
    backoff: PMap[ObjectKey, BackoffRecord] = pmap()


_evolve = evolver(JobState)  # attrs.evolve for the hot per-event state updates


# --- the component --------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class JobController:
    """The Job controller as a pure component."""

    name: str = NAME
    event_source: EventSource = EventSource(component=NAME)  # job_controller.go

    @property
    def watches(self) -> frozenset[Kind]:
        return frozenset({Kind.JOB, Kind.POD})

    def wants(self, event: WatchEvent, old: ApiObject | None = None) -> bool:
        """The watch filter (see the module doc): Jobs, and pods controlled by a Job or by
        nothing or carrying the job-tracking finalizer."""
        obj = event.obj
        return mine_or_orphan(obj, Kind.POD, Kind.JOB) or has_tracking_finalizer(obj)

    def init(self, view: ClusterState, now: Time) -> tuple[JobState, tuple[Effect, ...]]:
        """A fresh state over a fresh LIST; `Started` then syncs every Job."""
        return JobState(view=view), ()

    def step(self, state: JobState, event: Event) -> tuple[JobState, tuple[Effect, ...]]:
        """Absorb one event, then sync every Job it concerns, in key order, then clean the
        orphaned finalizers of the pods it concerns.

        Handles Started/Resynced (all Jobs, orphaned finalizers), WatchDelivered (Jobs and
        pods), ApiAnswered (creates, deletes, finalizer patches, status writes), TimerFired
        (a Job, or an orphan pod's finalizer). May emit CallApi (Create/Delete/Patch pods,
        Update job status), RecordEvent, WakeMeAt.
        """
        s, now = state, event.now
        effects: list[Effect] = []
        jobs: set[ObjectKey] = set()
        pods: set[ObjectKey] = set()
        match event:
            case Started():
                jobs, pods = _all_jobs_and_finalized_pods(s.view)
            case WatchDelivered():
                s, jobs, pods = self._absorb(s, event)
            case ApiAnswered(tag=Op() as op, response=resp):
                s, jobs, pods, answered = _answered(s, op, resp, now)
                effects.extend(answered)
            case TimerFired():
                queue, job = fired(s.queue, event)
                orphan_queue, pod = fired(s.orphan_queue, event)
                s = attrs.evolve(s, queue=queue, orphan_queue=orphan_queue)
                jobs = set() if job is None else {job}
                pods = set() if pod is None else {pod}
            case Resynced(view=view):
                s = self._relisted(s, view)
                jobs, pods = _all_jobs_and_finalized_pods(view)
            case ApiAnswered() | RuntimeAnswered() | RuntimeNotified():
                pass
            case _:
                assert_never(event)
        for key in sorted(jobs):
            s, synced = self.sync(s, key, now)
            effects.extend(synced)
        for pk in sorted(pods):
            s, cleaned = _clean_orphan(s, pk)
            effects.extend(cleaned)
        return s, tuple(effects)

    # -- sync

    def sync(self, s: JobState, key: ObjectKey, now: Time) -> tuple[JobState, tuple[Effect, ...]]:
        """syncJob for `key`: observe its pods, decide a `Plan` (manage, track), emit it."""
        job = get(s.view, key)
        if not isinstance(job, Job):
            s = forget_owner(s, key, RETRY)
            return attrs.evolve(s, removing=s.removing.discard(key), backoff=s.backoff.discard(key)), ()
        if is_job_finished(job):
            return attrs.evolve(s, backoff=s.backoff.discard(key)), ()
        writes, busy = status_pending(s.status_writes, key, job)
        if busy:
            return s, ()  # our last status write is not in the view yet: it will resync us
        if writes is not s.status_writes:
            s = attrs.evolve(s, status_writes=writes)
        return _emit(s, job, decide(observe(s, job), exps.satisfied(s.expectations, key, now), now), now)

    # -- absorbing events

    def _absorb(self, s: JobState, delivered: WatchDelivered) -> tuple[JobState, set[ObjectKey], set[ObjectKey]]:
        we = delivered.event
        key = we.key
        if key.kind is Kind.JOB:
            old = get(s.view, key)
            s = _evolve(s, view=follow(s.view, delivered))
            pods: set[ObjectKey] = set()
            if we.type is WatchType.DELETED:
                s = _evolve(
                    s,
                    expectations=exps.forget(s.expectations, key),
                    removing=s.removing.discard(key),
                    backoff=s.backoff.discard(key),
                )
                uid = old.metadata.uid if old is not None else we.obj.metadata.uid
                pods = {k for k in dependents(s.view, uid) if k.kind is Kind.POD}
            elif isinstance(we.obj, Job) and is_job_finished(we.obj):
                pods = {k for k in dependents(s.view, we.obj.metadata.uid) if k.kind is Kind.POD}
            return s, {key}, pods
        if key.kind is not Kind.POD:
            return _evolve(s, view=follow(s.view, delivered)), set(), set()
        old_pod = get(s.view, key)
        view = follow(s.view, delivered)
        s = _evolve(s, view=view)
        jobs: set[ObjectKey] = set()
        for candidate, in_view in ((old_pod, s.view), (we.obj, view)):
            if candidate is not None and (jk := resolve_controller_ref(in_view, Kind.JOB, candidate)) is not None:
                jobs.add(jk)
        gone = we.type is WatchType.DELETED
        for jk in sorted(jobs):
            if gone or we.obj.metadata.deletion_timestamp is not None:
                s = _evolve(s, expectations=exps.deletion_observed(s.expectations, jk, key))
            elif we.type is WatchType.ADDED:
                s = _evolve(s, expectations=exps.creation_observed(s.expectations, jk))
            if gone or not has_tracking_finalizer(we.obj):
                s = _removal_observed(s, jk, we.obj.metadata.uid)
        if gone:
            s = _evolve(s, orphan_queue=forget(s.orphan_queue, key, RETRY))
        return s, jobs, ({key} if not gone else set())

    def _relisted(self, s: JobState, view: ClusterState) -> JobState:
        """A relist shows every answered write: only Jobs with requests still out keep
        their expectations, and only the finalizer removals still out are pending."""
        removing: dict[ObjectKey, PSet[str]] = {}
        for job, uid in s.removals_out:
            removing[job] = removing.get(job, pset()).add(uid)
        return attrs.evolve(
            s, view=view, expectations=exps.keep_only(s.expectations, s.requests_out), removing=pmap(removing)
        )


def _all_jobs_and_finalized_pods(view: ClusterState) -> tuple[set[ObjectKey], set[ObjectKey]]:
    """Every Job, and every pod carrying the tracking finalizer (an orphan's to clean)."""
    jobs = {key_of(j) for j in list_objects(view, Kind.JOB)}
    return jobs, {key_of(p) for p in list_objects(view, Kind.POD) if has_tracking_finalizer(p)}


# --- sync: observe, decide, emit --------------------------------------------------------------


def observe(s: JobState, job: Job) -> Observed:
    """The Job's pods (controller uid = the Job's), its active ones, and its counts: the
    counters, the uncounted uids and the newly finished pods (getNewFinishedPods)."""
    key = key_of(job)
    uid = job.metadata.uid
    pods = tuple(
        p
        for k in sorted(dependents(s.view, uid))
        if k.kind is Kind.POD
        and isinstance(p := get(s.view, k), Pod)
        and (ref := controller_of(p.metadata)) is not None
        and ref.uid == uid
    )
    active = tuple(p for p in pods if is_pod_active(p))
    removing = s.removing.get(key, pset())
    unc = job.status.uncounted_terminated_pods or UncountedTerminatedPods()
    new_succ, new_fail = new_finished(job, pods, set(unc.succeeded) | set(unc.failed), removing)
    succeeded = job.status.succeeded + len(new_succ) + len(unc.succeeded)
    failed = job.status.failed + len(new_fail) + len(unc.failed)
    record = new_backoff_record(s.backoff.get(key, NO_BACKOFF), new_succ, new_fail)
    seen = Observed(job=job, pods=pods, active=active, removing=removing, succeeded=succeeded, failed=failed, new_backoff=record)
    if job.spec.completion_mode is CompletionMode.INDEXED:
        completions = completions_of(job)
        prev = ix.parse_indexes(job.status.completed_indexes, completions)
        new = (
            i
            for p in pods
            if p.status.phase is PodPhase.SUCCEEDED and has_tracking_finalizer(p)
            and (i := ix.completion_index(p)) is not None and i < completions
        )
        succ = ix.with_indexes(prev, new)
        seen = attrs.evolve(seen, prev_indexes=prev, succeeded_indexes=succ, succeeded=ix.total(succ))
    return seen


def _emit(s: JobState, job: Job, plan: Plan, now: Time) -> tuple[JobState, tuple[Effect, ...]]:
    """Send the plan: wakes through the work queue, expectations raised before the deletes
    or creates go, finalizer removals marked `removing`, the status write one at a time."""
    key = key_of(job)
    effects: list[Effect] = []
    if plan.deadline_at is not None:
        s, wakes = wake(s, key, plan.deadline_at)  # a deadline: merely scheduled
        effects.extend(wakes)
    if plan.delete:
        s = attrs.evolve(s, expectations=exps.expect_deletions(s.expectations, key, [key_of(p) for p in plan.delete], now))
        for pod in plan.delete:
            if not plan.keep_finalizers and has_tracking_finalizer(pod):
                s = _remove_finalizer(s, key, pod, effects)
            s = _send(s, Delete(key=key_of(pod)), Op(owner=key, action=Action.DELETE, pod=key_of(pod)), effects)
    if plan.backoff_at is not None:
        s, wakes = wake(s, key, plan.backoff_at, in_motion=plan.backoff_in_motion)
        effects.extend(wakes)
    if plan.create:
        s = attrs.evolve(s, expectations=exps.expect_creations(s.expectations, key, len(plan.create), now))
        for pod in plan.create:
            s = _send(s, Create(obj=pod), Op(owner=key, action=Action.CREATE), effects)
    effects.extend(plan.events)
    for pod in plan.release:
        s = _remove_finalizer(s, key, pod, effects)
    status = Op(owner=key, action=Action.STATUS, backoff=plan.backoff, finished=plan.finished)
    s, tail = emit_status(s, key, job, plan.status, current=job.status, tag=status)
    return s, (*effects, *tail)


# --- answers ----------------------------------------------------------------------------------


def _answered(
    s: JobState, op: Op, resp: Response, now: Time
) -> tuple[JobState, set[ObjectKey], set[ObjectKey], tuple[Effect, ...]]:
    """What an answer to one of our requests changes: the Jobs and orphan pods to sync,
    and the effects it asks for (its event, a retry)."""
    job, pod = op.owner, op.pod
    s = attrs.evolve(s, requests_out=exps.request_answered(s.requests_out, job))
    if resp.ok:
        if op.action is Action.ORPHAN_FINALIZER:
            s = attrs.evolve(s, orphan_queue=forget(s.orphan_queue, pod, RETRY)) if pod is not None else s
        else:
            s = attrs.evolve(s, queue=forget(s.queue, job, RETRY))
    effects: list[Effect] = []
    match op.action:
        case Action.CREATE:
            effects.append(create_answered(job, resp))
            if resp.ok:
                return s, set(), set(), tuple(effects)
            s = attrs.evolve(s, expectations=exps.creation_observed(s.expectations, job))
            return _retry(s, job, now, effects), set(), set(), tuple(effects)
        case Action.DELETE:
            event = delete_answered(job, pod, resp) if pod is not None else None
            if resp.ok and event is not None:
                return s, set(), set(), (event,)
            if pod is not None:
                s = attrs.evolve(s, expectations=exps.deletion_observed(s.expectations, job, pod))
            if resp.code == 404:
                return s, {job}, set(), ()
            if event is not None:
                effects.append(event)
            return _retry(s, job, now, effects), set(), set(), tuple(effects)
        case Action.REMOVE_FINALIZER:
            s = attrs.evolve(s, removals_out=exps.request_answered(s.removals_out, (job, op.uid)))
            if resp.ok:
                return s, set(), set(), ()
            s = _removal_observed(s, job, op.uid)
            if resp.code == 404:
                return s, {job}, set(), ()
            return _retry(s, job, now, effects), set(), set(), tuple(effects)
        case Action.ORPHAN_FINALIZER:
            if pod is not None:
                s = attrs.evolve(s, orphan_patches=s.orphan_patches.discard(pod))
                if not resp.ok and resp.code != 404:
                    orphan_queue, requeue = rate_limited(s.orphan_queue, pod, now, RETRY)
                    s = attrs.evolve(s, orphan_queue=orphan_queue)
                    effects.append(WakeMeAt(at=requeue.at, key=pod, in_motion=retry_in_motion(requeue.failures)))
            return s, set(), set(), tuple(effects)
        case Action.STATUS:
            writes, outcome = status_answered(s.status_writes, job, resp)
            s = attrs.evolve(s, status_writes=writes)
            if outcome is not Outcome.LANDED:
                return _retry(s, job, now, effects), set(), set(), tuple(effects)
            if op.backoff is not None:
                s = attrs.evolve(s, backoff=s.backoff.set(job, op.backoff))
            if op.finished is not None:
                effects.append(_finished_event(job, op.finished))
            return s, set(), set(), tuple(effects)
        case _:
            assert_never(op.action)


def _finished_event(job: ObjectKey, cond: JobCondition) -> RecordEvent:
    if cond.type is JobConditionType.COMPLETE:
        return RecordEvent(involved=job, type=EventType.NORMAL, reason="Completed", message="Job completed")
    return RecordEvent(involved=job, type=EventType.WARNING, reason=cond.reason, message=cond.message)


def _removal_observed(s: JobState, job: ObjectKey, uid: str) -> JobState:
    """A finalizer removal is done (seen, or refused): the pod counts again as usual."""
    current = s.removing.get(job)
    if current is None or uid not in current:
        return s
    rest = current.discard(uid)
    return attrs.evolve(s, removing=s.removing.set(job, rest) if rest else s.removing.discard(job))


# --- orphaned finalizers ----------------------------------------------------------------------


def _clean_orphan(s: JobState, pk: ObjectKey) -> tuple[JobState, tuple[Effect, ...]]:
    """syncOrphanPod / cleanupPodFinalizers: drop the tracking finalizer of a pod whose
    Job is gone or finished, or that no controller owns."""
    pod = get(s.view, pk)
    if pod is None or not has_tracking_finalizer(pod) or pk in s.orphan_patches:
        return s, ()
    ref = controller_of(pod.metadata)
    if ref is not None:
        if ref.kind != Kind.JOB.value:
            return s, ()
        jk = resolve_controller_ref(s.view, Kind.JOB, pod)
        job = get(s.view, jk) if jk is not None else None
        if isinstance(job, Job) and not is_job_finished(job):
            return s, ()
    owner = resolve_controller_ref(s.view, Kind.JOB, pod) or pk
    effects: list[Effect] = []
    s = _send(s, remove_finalizer_patch(pk), Op(owner=owner, action=Action.ORPHAN_FINALIZER, pod=pk), effects)
    return attrs.evolve(s, orphan_patches=s.orphan_patches.add(pk)), tuple(effects)


# --- sending and waking -----------------------------------------------------------------------


def _send(s: JobState, call: Request, op: Op, effects: list[Effect]) -> JobState:
    effects.append(CallApi(request=call, tag=op))
    s = attrs.evolve(s, requests_out=exps.requests_sent(s.requests_out, op.owner))
    if op.action is Action.REMOVE_FINALIZER:
        s = attrs.evolve(s, removals_out=exps.requests_sent(s.removals_out, (op.owner, op.uid)))
    return s


def _remove_finalizer(s: JobState, job: ObjectKey, pod: Pod, effects: list[Effect]) -> JobState:
    """The tracking finalizer's removal from `pod`: its uid is `removing` until seen."""
    uid = pod.metadata.uid
    pk = key_of(pod)
    s = _send(s, remove_finalizer_patch(pk), Op(owner=job, action=Action.REMOVE_FINALIZER, pod=pk, uid=uid), effects)
    return attrs.evolve(s, removing=s.removing.set(job, s.removing.get(job, pset()).add(uid)))


def _retry(s: JobState, job: ObjectKey, now: Time, effects: list[Effect]) -> JobState:
    """Resync `job` `RETRY` after a failed request: in motion the first time in a row."""
    s, wakes = requeue(s, job, now, RETRY)
    effects.extend(wakes)
    return s
