"""The Job controller: pods for a Job until enough succeed, or the Job fails.

Owns `JobController` ("job-controller", watches Job and Pod) and its state `JobState`.
The pure rules (tracking finalizer, failed pods, conditions) live in `job_rules`, Indexed
helpers in `job_indexes`, pod failure backoff in `job_backoff`.

Theory of operation (level-triggered, as upstream's syncJob):
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
status write in flight waits for it instead of syncing concurrently.

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
from collections.abc import Sequence
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
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ApiObject, ConditionStatus, Time, evolver
from kcore.api.pod import Pod, PodPhase, PodTemplateSpec
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
    add_after,
    add_rate_limited,
    fired,
    forget,
    rate_limited,
    retry_in_motion,
)
from kcore.controllers import expectations as exps
from kcore.controllers import job_indexes as ix
from kcore.controllers.expectations import Expectations, RequestsOut
from kcore.controllers.job_backoff import (
    NO_BACKOFF,
    BackoffRecord,
    new_backoff_record,
    remaining_backoff,
)
from kcore.controllers.job_rules import (
    JOB_TRACKING_FINALIZER,
    backoff_limit,
    completions_of,
    ensure_condition,
    find_condition,
    has_tracking_finalizer,
    is_job_finished,
    is_pod_failed,
    new_condition,
    only_replace_failed,
    past_backoff_limit_on_failure,
    remove_finalizer_patch,
    seconds,
)
from kcore.controllers.ownership import resolve_controller_ref
from kcore.controllers.podcontrol import (
    controller_of,
    create_answered,
    delete_answered,
    is_pod_active,
    is_pod_ready,
    key_of,
    mine_or_orphan,
    pod_from_template,
    pods_to_delete,
)
from kcore.controllers.status import (
    Outcome,
    StatusWrites,
    forget_status,
    status_answered,
    status_pending,
    write_status,
)
from kcore.state import ClusterState, dependents, get, list_objects

NAME: Final = "job-controller"
MAX_POD_CREATE_DELETE_PER_SYNC: Final = 500
MAX_UNCOUNTED_PODS: Final = 500
RETRY: Final = RateLimiter(base_delay=1.0, max_delay=1.0)
"""A Job whose request failed (or conflicted) is synced again 1 s later (an orphan pod's
finalizer patch, retried 1 s later)."""
MIN_DELAY: Final = 1.0  # syncJobBatchPeriod: the least delay of a requeue

Effects = list[Effect]


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


@attrs.frozen(kw_only=True)
class _Ctx:
    """One sync's observations (syncJobCtx)."""

    job: Job
    pods: tuple[Pod, ...]
    active: tuple[Pod, ...]
    removing: PSet[str]
    succeeded: int
    failed: int
    new_backoff: BackoffRecord
    prev_indexes: ix.Intervals = ()
    succeeded_indexes: ix.Intervals = ()


# --- the component --------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class JobController:
    """The Job controller as a pure component."""

    name: str = NAME

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
        """Absorb one event, then sync every Job it concerns, in key order.

        Handles Started/Resynced (all Jobs, orphaned finalizers), WatchDelivered (Jobs and
        pods), ApiAnswered (creates, deletes, finalizer patches, status writes), TimerFired.
        May emit CallApi (Create/Delete/Patch pods, Update job status), RecordEvent, WakeMeAt.
        """
        s, now = state, event.now
        effects: Effects = []
        jobs: set[ObjectKey] = set()
        pods: set[ObjectKey] = set()
        match event:
            case Started():
                jobs = {key_of(j) for j in list_objects(s.view, Kind.JOB)}
                pods = {key_of(p) for p in list_objects(s.view, Kind.POD) if has_tracking_finalizer(p)}
            case WatchDelivered():
                s, jobs, pods = self._absorb(s, event)
            case ApiAnswered(tag=Op() as op, response=resp):
                s, jobs, pods = self._answered(s, op, resp, now, effects)
            case TimerFired():
                queue, job = fired(s.queue, event)
                orphan_queue, pod = fired(s.orphan_queue, event)
                s = attrs.evolve(s, queue=queue, orphan_queue=orphan_queue)
                jobs = set() if job is None else {job}
                pods = set() if pod is None else {pod}
            case Resynced(view=view):
                s = self._relisted(s, view)
                jobs = {key_of(j) for j in list_objects(view, Kind.JOB)}
                pods = {key_of(p) for p in list_objects(view, Kind.POD) if has_tracking_finalizer(p)}
            case ApiAnswered() | RuntimeAnswered() | RuntimeNotified():
                pass
            case _:
                assert_never(event)
        for key in sorted(jobs):
            s = self.sync(s, key, now, effects)
        for pk in sorted(pods):
            s = self._clean_orphan(s, pk, effects)
        return s, tuple(effects)

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
                s = self._removal_observed(s, jk, we.obj.metadata.uid)
        if gone:
            s = _evolve(s, orphan_queue=forget(s.orphan_queue, key, RETRY))
        return s, jobs, ({key} if not gone else set())

    def _removal_observed(self, s: JobState, job: ObjectKey, uid: str) -> JobState:
        current = s.removing.get(job)
        if current is None or uid not in current:
            return s
        rest = current.discard(uid)
        return attrs.evolve(s, removing=s.removing.set(job, rest) if rest else s.removing.discard(job))

    def _relisted(self, s: JobState, view: ClusterState) -> JobState:
        """A relist shows every answered write: only Jobs with requests still out keep
        their expectations, and only the finalizer removals still out are pending."""
        removing: dict[ObjectKey, PSet[str]] = {}
        for job, uid in s.removals_out:
            removing[job] = removing.get(job, pset()).add(uid)
        return attrs.evolve(
            s, view=view, expectations=exps.keep_only(s.expectations, s.requests_out), removing=pmap(removing)
        )

    # -- answers

    def _answered(
        self, s: JobState, op: Op, resp: Response, now: Time, effects: Effects
    ) -> tuple[JobState, set[ObjectKey], set[ObjectKey]]:
        job, pod = op.owner, op.pod
        s = attrs.evolve(s, requests_out=exps.request_answered(s.requests_out, job))
        if resp.ok:
            if op.action is Action.ORPHAN_FINALIZER:
                s = attrs.evolve(s, orphan_queue=forget(s.orphan_queue, pod, RETRY)) if pod is not None else s
            else:
                s = attrs.evolve(s, queue=forget(s.queue, job, RETRY))
        match op.action:
            case Action.CREATE:
                effects.append(create_answered(job, resp))
                if resp.ok:
                    return s, set(), set()
                s = attrs.evolve(s, expectations=exps.creation_observed(s.expectations, job))
                return self._retry(s, job, now, effects), set(), set()
            case Action.DELETE:
                event = delete_answered(job, pod, resp) if pod is not None else None
                if resp.ok and event is not None:
                    effects.append(event)
                    return s, set(), set()
                if pod is not None:
                    s = attrs.evolve(s, expectations=exps.deletion_observed(s.expectations, job, pod))
                if resp.code == 404:
                    return s, {job}, set()
                if event is not None:
                    effects.append(event)
                return self._retry(s, job, now, effects), set(), set()
            case Action.REMOVE_FINALIZER:
                s = attrs.evolve(s, removals_out=exps.request_answered(s.removals_out, (job, op.uid)))
                if resp.ok:
                    return s, set(), set()
                s = self._removal_observed(s, job, op.uid)
                if resp.code == 404:
                    return s, {job}, set()
                return self._retry(s, job, now, effects), set(), set()
            case Action.ORPHAN_FINALIZER:
                if pod is not None:
                    s = attrs.evolve(s, orphan_patches=s.orphan_patches.discard(pod))
                    if not resp.ok and resp.code != 404:
                        orphan_queue, requeue = rate_limited(s.orphan_queue, pod, now, RETRY)
                        s = attrs.evolve(s, orphan_queue=orphan_queue)
                        effects.append(WakeMeAt(at=requeue.at, key=pod, in_motion=retry_in_motion(requeue.failures)))
                return s, set(), set()
            case Action.STATUS:
                writes, outcome = status_answered(s.status_writes, job, resp)
                s = attrs.evolve(s, status_writes=writes)
                if outcome is not Outcome.LANDED:
                    return self._retry(s, job, now, effects), set(), set()
                if op.backoff is not None:
                    s = attrs.evolve(s, backoff=s.backoff.set(job, op.backoff))
                if op.finished is not None:
                    effects.append(self._finished_event(job, op.finished))
                return s, set(), set()
            case _:
                assert_never(op.action)

    @staticmethod
    def _finished_event(job: ObjectKey, cond: JobCondition) -> RecordEvent:
        if cond.type is JobConditionType.COMPLETE:
            return RecordEvent(involved=job, type=EventType.NORMAL, reason="Completed", message="Job completed")
        return RecordEvent(involved=job, type=EventType.WARNING, reason=cond.reason, message=cond.message)

    def _retry(self, s: JobState, job: ObjectKey, now: Time, effects: Effects) -> JobState:
        """Resync `job` `RETRY` after a failed request: in motion the first time in a row."""
        queue, wakes = add_rate_limited(s.queue, job, now, RETRY)
        effects.extend(wakes)
        return attrs.evolve(s, queue=queue)

    def _wake(self, s: JobState, job: ObjectKey, at: Time, effects: Effects, *, in_motion: bool) -> JobState:
        """Ask for a resync of `job` at `at`, unless a pending one covers it."""
        queue, wakes = add_after(s.queue, job, at, in_motion=in_motion)
        if not wakes:
            return s
        effects.extend(wakes)
        return attrs.evolve(s, queue=queue)

    def _send(self, s: JobState, call: Request, op: Op, effects: Effects) -> JobState:
        effects.append(CallApi(request=call, tag=op))
        s = attrs.evolve(s, requests_out=exps.requests_sent(s.requests_out, op.owner))
        if op.action is Action.REMOVE_FINALIZER:
            s = attrs.evolve(s, removals_out=exps.requests_sent(s.removals_out, (op.owner, op.uid)))
        return s

    # -- orphaned finalizers

    def _clean_orphan(self, s: JobState, pk: ObjectKey, effects: Effects) -> JobState:
        """syncOrphanPod / cleanupPodFinalizers: drop the tracking finalizer of a pod whose
        Job is gone or finished, or that no controller owns."""
        pod = get(s.view, pk)
        if pod is None or not has_tracking_finalizer(pod) or pk in s.orphan_patches:
            return s
        ref = controller_of(pod.metadata)
        if ref is not None:
            if ref.kind != Kind.JOB.value:
                return s
            jk = resolve_controller_ref(s.view, Kind.JOB, pod)
            job = get(s.view, jk) if jk is not None else None
            if isinstance(job, Job) and not is_job_finished(job):
                return s
        owner = resolve_controller_ref(s.view, Kind.JOB, pod) or pk
        s = self._send(s, remove_finalizer_patch(pk), Op(owner=owner, action=Action.ORPHAN_FINALIZER, pod=pk), effects)
        return attrs.evolve(s, orphan_patches=s.orphan_patches.add(pk))

    # -- sync

    def sync(self, s: JobState, key: ObjectKey, now: Time, effects: Effects) -> JobState:
        """syncJob for `key`: observe its pods, decide, manage, track status.

        Appends its effects to `effects`; returns the new state.
        """
        job = get(s.view, key)
        if not isinstance(job, Job):
            return attrs.evolve(
                s,
                expectations=exps.forget(s.expectations, key),
                removing=s.removing.discard(key),
                status_writes=forget_status(s.status_writes, key),
                backoff=s.backoff.discard(key),
                queue=forget(s.queue, key, RETRY),
            )
        if is_job_finished(job):
            return attrs.evolve(s, backoff=s.backoff.discard(key))
        writes, busy = status_pending(s.status_writes, key, job)
        if busy:
            return s  # our last status write is not in the view yet: it will resync us
        if writes is not s.status_writes:
            s = attrs.evolve(s, status_writes=writes)
        satisfied = exps.satisfied(s.expectations, key, now)
        ctx = self._observe(s, job)
        status = job.status
        if status.start_time is None and not job.spec.suspend:
            status = attrs.evolve(status, start_time=seconds(now))
        s, finished = self._failure(s, ctx, status, now, effects)
        active = len(ctx.active)
        terminating = sum(1 for p in ctx.pods if p.metadata.deletion_timestamp is not None and p.status.phase not in (PodPhase.SUCCEEDED, PodPhase.FAILED))
        ready = sum(1 for p in ctx.active if is_pod_ready(p))
        if finished is not None:
            deleted = 0
            if satisfied:
                s = self._delete_pods(s, key, ctx.active, now, effects, keep_finalizer=True)
                deleted = len(ctx.active)
            if deleted != active or not satisfied:
                finished = None
            active -= deleted
            terminating += deleted
            ready -= sum(1 for p in ctx.active if is_pod_ready(p)) if deleted else 0
        else:
            manage_called = False
            if satisfied and job.metadata.deletion_timestamp is None:
                s, active, removed, removed_ready = self._manage(s, ctx, now, effects)
                terminating += removed
                ready -= removed_ready
                manage_called = True
            if job.spec.completions is None:
                complete = ctx.succeeded > 0 and active == 0
            else:
                complete = ctx.succeeded >= job.spec.completions and active == 0
            if complete:
                finished = new_condition(JobConditionType.SUCCESS_CRITERIA_MET, "CompletionsReached", "Reached expected number of succeeded pods", now)
            elif manage_called:
                status = self._suspend_condition(job, status, key, now, effects)
        status = attrs.evolve(status, active=active, ready=ready, terminating=terminating)
        return self._track(s, ctx, status, finished, now, effects)

    def _observe(self, s: JobState, job: Job) -> _Ctx:
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
        new_succ, new_fail = self._new_finished(job, pods, set(unc.succeeded) | set(unc.failed), removing)
        succeeded = job.status.succeeded + len(new_succ) + len(unc.succeeded)
        failed = job.status.failed + len(new_fail) + len(unc.failed)
        record = new_backoff_record(s.backoff.get(key, NO_BACKOFF), new_succ, new_fail)
        ctx = _Ctx(job=job, pods=pods, active=active, removing=removing, succeeded=succeeded, failed=failed, new_backoff=record)
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
            ctx = attrs.evolve(ctx, prev_indexes=prev, succeeded_indexes=succ, succeeded=ix.total(succ))
        return ctx

    def _new_finished(
        self, job: Job, pods: Sequence[Pod], uncounted: set[str], removing: PSet[str]
    ) -> tuple[tuple[Pod, ...], tuple[Pod, ...]]:
        """getNewFinishedPods: finished pods still carrying the finalizer, not yet uncounted."""
        indexed = job.spec.completion_mode is CompletionMode.INDEXED
        valid = [
            p
            for p in pods
            if has_tracking_finalizer(p)
            and p.metadata.uid not in uncounted
            and p.metadata.uid not in removing
            and (not indexed or ((i := ix.completion_index(p)) is not None and i < completions_of(job)))
        ]
        succeeded = tuple(p for p in valid if p.status.phase is PodPhase.SUCCEEDED)
        failed = tuple(p for p in valid if is_pod_failed(p, job))
        return succeeded, failed

    def _failure(
        self, s: JobState, ctx: _Ctx, status: JobStatus, now: Time, effects: Effects
    ) -> tuple[JobState, JobCondition | None]:
        """The terminal condition this sync heads for (before any success), if any; a Job
        with a deadline still ahead asks to be synced when it passes."""
        job = ctx.job
        met = find_condition(job.status.conditions, JobConditionType.SUCCESS_CRITERIA_MET)
        if met is not None and met.status is ConditionStatus.TRUE:
            return s, met
        target = find_condition(job.status.conditions, JobConditionType.FAILURE_TARGET)
        if target is not None and target.status is ConditionStatus.TRUE:
            return s, new_condition(JobConditionType.FAILED, target.reason, target.message, now)
        if ctx.failed > backoff_limit(job) or past_backoff_limit_on_failure(job, ctx.pods):
            return s, new_condition(JobConditionType.FAILURE_TARGET, "BackoffLimitExceeded", "Job has reached the specified backoff limit", now)
        ads = job.spec.active_deadline_seconds
        suspended = find_condition(job.status.conditions, JobConditionType.SUSPENDED)
        resuming = suspended is not None and suspended.status is ConditionStatus.TRUE
        # a Job being resumed restarts its clock in this sync (its old startTime is void)
        if ads is not None and status.start_time is not None and not job.spec.suspend and not resuming:
            deadline = Time(status.start_time + ads)
            if now >= deadline:
                return s, new_condition(JobConditionType.FAILURE_TARGET, "DeadlineExceeded", "Job was active longer than specified deadline", now)
            s = self._wake(s, key_of(job), deadline, effects, in_motion=False)  # a deadline
        return s, None

    def _suspend_condition(self, job: Job, status: JobStatus, key: ObjectKey, now: Time, effects: Effects) -> JobStatus:
        if job.spec.suspend:
            conds, changed = ensure_condition(status.conditions, JobConditionType.SUSPENDED, ConditionStatus.TRUE, "JobSuspended", "Job suspended", now)
            if changed:
                effects.append(RecordEvent(involved=key, type=EventType.NORMAL, reason="Suspended", message="Job suspended"))
            return attrs.evolve(status, conditions=conds)
        conds, changed = ensure_condition(status.conditions, JobConditionType.SUSPENDED, ConditionStatus.FALSE, "JobResumed", "Job resumed", now)
        if not changed:
            return status
        effects.append(RecordEvent(involved=key, type=EventType.NORMAL, reason="Resumed", message="Job resumed"))
        # ActiveDeadlineSeconds counts continuous activity: a resumed job starts afresh
        return attrs.evolve(status, conditions=conds, start_time=seconds(now))

    def _delete_pods(
        self, s: JobState, key: ObjectKey, pods: Sequence[Pod], now: Time, effects: Effects, *, keep_finalizer: bool
    ) -> JobState:
        """deleteActivePods (finalizers kept: the pods count as failed) or deleteJobPods
        (finalizer removed first: the pods are not counted)."""
        if not pods:
            return s
        keys = [key_of(p) for p in pods]
        s = attrs.evolve(s, expectations=exps.expect_deletions(s.expectations, key, keys, now))
        for pod, pk in zip(pods, keys, strict=True):
            if not keep_finalizer and has_tracking_finalizer(pod):
                s = self._send(s, remove_finalizer_patch(pk), Op(owner=key, action=Action.REMOVE_FINALIZER, pod=pk, uid=pod.metadata.uid), effects)
                s = attrs.evolve(s, removing=s.removing.set(key, s.removing.get(key, pset()).add(pod.metadata.uid)))
            s = self._send(s, Delete(key=pk), Op(owner=key, action=Action.DELETE, pod=pk), effects)
        return s

    def _manage(self, s: JobState, ctx: _Ctx, now: Time, effects: Effects) -> tuple[JobState, int, int, int]:
        """manageJob: (state, active, pods removed, ready pods removed)."""
        job, key = ctx.job, key_of(ctx.job)
        active = len(ctx.active)
        if job.spec.suspend:
            s = self._delete_pods(s, key, ctx.active, now, effects, keep_finalizer=False)
            return s, 0, active, sum(1 for p in ctx.active if is_pod_ready(p))
        parallelism = job.spec.parallelism if job.spec.parallelism is not None else 1
        if job.spec.completions is None:
            want = active if ctx.succeeded > 0 else parallelism
        else:
            want = max(0, min(job.spec.completions - ctx.succeeded, parallelism))
        victims = self._for_removal(job, ctx.active, max(0, active - want), now)[:MAX_POD_CREATE_DELETE_PER_SYNC]
        if victims:
            s = self._delete_pods(s, key, victims, now, effects, keep_finalizer=False)
            return s, active - len(victims), len(victims), sum(1 for p in victims if is_pod_ready(p))
        terminating = (
            sum(1 for p in ctx.pods if p.metadata.deletion_timestamp is not None and p.status.phase not in (PodPhase.SUCCEEDED, PodPhase.FAILED))
            if only_replace_failed(job)
            else 0
        )
        diff = want - terminating - active
        if diff <= 0:
            return s, active, 0, 0
        wait = remaining_backoff(ctx.new_backoff, now)
        if wait > 0:
            # in motion after the first failure since the last success; after another, the
            # pods keep failing (a repeating state) and the back-off is merely scheduled
            moving = retry_in_motion(ctx.new_backoff.failures_after_last_success)
            return self._wake(s, key, Time(now + max(wait, MIN_DELAY)), effects, in_motion=moving), active, 0, 0
        diff = min(diff, MAX_POD_CREATE_DELETE_PER_SYNC)
        template = job.spec.template
        meta = template.metadata
        if JOB_TRACKING_FINALIZER not in meta.finalizers:
            template = attrs.evolve(template, metadata=attrs.evolve(meta, finalizers=(*meta.finalizers, JOB_TRACKING_FINALIZER)))
        if job.spec.completion_mode is CompletionMode.INDEXED:
            indexes: tuple[int | None, ...] = ix.first_pending_indexes(ctx.succeeded_indexes, ctx.active, diff, completions_of(job))
        else:
            indexes = (None,) * diff
        s = attrs.evolve(s, expectations=exps.expect_creations(s.expectations, key, len(indexes), now))
        for index in indexes:
            pod = self._pod_for(job, template, index)
            s = self._send(s, Create(obj=pod), Op(owner=key, action=Action.CREATE), effects)
        return s, active + len(indexes), 0, 0

    @staticmethod
    def _pod_for(job: Job, template: PodTemplateSpec, index: int | None) -> Pod:
        if index is None:
            return pod_from_template(template, job)
        pod = pod_from_template(ix.indexed_template(template, job.metadata.name, index), job)
        gen = ix.generate_name_with_index(job.metadata.name, index)
        return attrs.evolve(pod, metadata=attrs.evolve(pod.metadata, generate_name=gen))

    @staticmethod
    def _for_removal(job: Job, active: Sequence[Pod], at_least: int, now: Time) -> tuple[Pod, ...]:
        """activePodsForRemoval: Indexed duplicates and strays first, then in ActivePods order."""
        rm: tuple[Pod, ...] = ()
        left: tuple[Pod, ...] = tuple(active)
        if job.spec.completion_mode is CompletionMode.INDEXED:
            rm, left = ix.duplicated_index_pods(active, completions_of(job))
        if len(rm) < at_least:
            more = pods_to_delete(left, at_least - len(rm), [0] * len(left), now)
            rm = (*rm, *more)
        return rm

    # -- tracking

    def _track(
        self, s: JobState, ctx: _Ctx, status: JobStatus, finished: JobCondition | None, now: Time, effects: Effects
    ) -> JobState:
        """trackJobStatusAndRemoveFinalizers, split at its flush: account newly finished pods
        in the status; remove finalizers of pods the observed status already accounts for."""
        job, key = ctx.job, key_of(ctx.job)
        indexed = job.spec.completion_mode is CompletionMode.INDEXED
        completions = completions_of(job)
        with_finalizer = {p.metadata.uid for p in ctx.pods if has_tracking_finalizer(p)} | set(ctx.removing)
        unc = status.uncounted_terminated_pods or UncountedTerminatedPods()
        # cleanUncountedPodsWithoutFinalizers: a uid whose pod lost its finalizer is counted now
        keep_s = tuple(u for u in unc.succeeded if u in with_finalizer)
        keep_f = tuple(u for u in unc.failed if u in with_finalizer)
        status = attrs.evolve(
            status,
            succeeded=status.succeeded + len(unc.succeeded) - len(keep_s),
            failed=status.failed + len(unc.failed) - len(keep_f),
        )
        unc_s, unc_f = list(keep_s), list(keep_f)
        failing = finished is not None and finished.type not in (JobConditionType.SUCCESS_CRITERIA_MET, JobConditionType.COMPLETE)
        new_indexes: list[int] = []
        release: list[Pod] = []
        pods = sorted(ctx.pods, key=lambda p: (ix.completion_index(p) or 0, p.metadata.name)) if indexed else ctx.pods
        for pod in pods:
            uid = pod.metadata.uid
            if not has_tracking_finalizer(pod) or uid in ctx.removing:
                continue
            failed = is_pod_failed(pod, job)
            if not (job.metadata.deletion_timestamp is not None or finished is not None or pod.status.phase is PodPhase.SUCCEEDED or failed):
                continue
            added = False
            index = ix.completion_index(pod)
            if pod.status.phase is PodPhase.SUCCEEDED and uid not in unc_f:
                if indexed:
                    if index is not None and index < completions and not ix.has_index(ctx.prev_indexes, index):
                        new_indexes.append(index)
                        added = True
                elif uid not in unc_s:
                    unc_s.append(uid)
                    added = True
            elif (failed or failing) and uid not in unc_f and (not indexed or (index is not None and index < completions)):
                unc_f.append(uid)
                added = True
            if not added:
                release.append(pod)
            if len(new_indexes) + len(unc_s) + len(unc_f) >= MAX_UNCOUNTED_PODS:
                break
        if indexed:
            succ = ix.with_indexes(ctx.succeeded_indexes, new_indexes)
            status = attrs.evolve(status, succeeded=ix.total(succ), completed_indexes=ix.format_indexes(succ))
        conds = status.conditions
        if finished is not None and finished.type is JobConditionType.FAILURE_TARGET:
            conds = (*conds, finished)
            finished = new_condition(JobConditionType.FAILED, finished.reason, finished.message, now)
        elif finished is not None and finished.type is JobConditionType.SUCCESS_CRITERIA_MET:
            if find_condition(conds, JobConditionType.SUCCESS_CRITERIA_MET) is None:
                conds = (*conds, finished)
            finished = new_condition(JobConditionType.COMPLETE, finished.reason, finished.message, now)
        status = attrs.evolve(
            status, conditions=conds, uncounted_terminated_pods=UncountedTerminatedPods(succeeded=tuple(unc_s), failed=tuple(unc_f))
        )
        for pod in release:
            pk = key_of(pod)
            s = self._send(s, remove_finalizer_patch(pk), Op(owner=key, action=Action.REMOVE_FINALIZER, pod=pk, uid=pod.metadata.uid), effects)
            s = attrs.evolve(s, removing=s.removing.set(key, s.removing.get(key, pset()).add(pod.metadata.uid)))
        done: JobCondition | None = None
        if finished is not None and not unc_s and not unc_f and not status.terminating:
            conds, _ = ensure_condition(status.conditions, finished.type, finished.status, finished.reason, finished.message, now)
            status = attrs.evolve(status, conditions=conds)
            if finished.type is JobConditionType.COMPLETE:
                status = attrs.evolve(status, completion_time=seconds(now))
            done = finished
        writes, update = write_status(s.status_writes, key, job, status, current=job.status, with_status=_with_status)
        if update is None:
            return s
        s = attrs.evolve(s, status_writes=writes)
        return self._send(s, update, Op(owner=key, action=Action.STATUS, backoff=ctx.new_backoff, finished=done), effects)


def _with_status(job: Job, status: JobStatus) -> Job:
    return attrs.evolve(job, status=status)
