"""How the Job controller decides one sync: what it observed, and the `Plan` it sends.

Owns `Observed` (syncJobCtx: the Job's pods and counts), `Plan` (the pods to delete and
create, the wakes, the events, the finalizers to remove and the status to write),
`new_finished` (getNewFinishedPods) and `decide(observed, satisfied, now) -> Plan`, with
its passes: the terminal condition (`_failure`: backoffLimit, activeDeadlineSeconds),
manageJob (`_manage`), the Suspended condition and trackJobStatusAndRemoveFinalizers
(`_track`). The rules are in the module doc of `kcore.controllers.job`.

Rules: pure; `now` comes from the caller; pods in the view's name order (Indexed: by
index). Must not know: the component state, how the plan is sent or answered.
Mirrors pkg/controller/job/job_controller.go (syncJob, manageJob, getNewFinishedPods,
trackJobStatusAndRemoveFinalizers, pastActiveDeadline, activePodsForRemoval).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import attrs
from pyrsistent.typing import PSet

from kcore.api.batch import (
    CompletionMode,
    Job,
    JobCondition,
    JobConditionType,
    JobStatus,
    UncountedTerminatedPods,
)
from kcore.api.kinds import ObjectKey
from kcore.api.meta import ConditionStatus, Time
from kcore.api.pod import Pod, PodPhase, PodTemplateSpec
from kcore.component.effects import EventType, RecordEvent
from kcore.component.workqueue import retry_in_motion
from kcore.controllers import job_indexes as ix
from kcore.controllers.job_backoff import BackoffRecord, remaining_backoff
from kcore.controllers.job_rules import (
    JOB_TRACKING_FINALIZER,
    backoff_limit,
    completions_of,
    ensure_condition,
    find_condition,
    has_tracking_finalizer,
    is_pod_failed,
    new_condition,
    only_replace_failed,
    past_backoff_limit_on_failure,
    seconds,
)
from kcore.controllers.podcontrol import is_pod_ready, key_of, pod_from_template, pods_to_delete

MAX_POD_CREATE_DELETE_PER_SYNC: Final = 500
MAX_UNCOUNTED_PODS: Final = 500
MIN_DELAY: Final = 1.0  # syncJobBatchPeriod: the least delay of a requeue


@attrs.frozen(kw_only=True)
class Observed:
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


@attrs.frozen(kw_only=True)
class Plan:
    """What one sync of a Job sends, in order: a wake when its deadline passes (merely
    scheduled); the pods to delete (their finalizers removed first, unless
    `keep_finalizers`: deleteActivePods, the pods then count as failed); a wake when the
    pod failure backoff ends; the pods to create; the Suspended / Resumed events; the
    finalizers to remove (pods the observed status accounts for); the status, written when
    it changed, whose landing records `backoff` and the `finished` event."""

    deadline_at: Time | None = None
    delete: tuple[Pod, ...] = ()
    keep_finalizers: bool = False
    backoff_at: Time | None = None
    backoff_in_motion: bool = False
    create: tuple[Pod, ...] = ()
    events: tuple[RecordEvent, ...] = ()
    release: tuple[Pod, ...] = ()
    status: JobStatus
    backoff: BackoffRecord
    finished: JobCondition | None = None


@attrs.frozen(kw_only=True)
class _Managed:
    """What manageJob decides: the pods to delete or create (or the backoff to wait out)
    and the active count after, with the pods and ready pods it removes."""

    active: int
    removed: int = 0
    removed_ready: int = 0
    delete: tuple[Pod, ...] = ()
    create: tuple[Pod, ...] = ()
    backoff_at: Time | None = None
    backoff_in_motion: bool = False


def new_finished(
    job: Job, pods: Sequence[Pod], uncounted: set[str], removing: PSet[str]
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


def decide(seen: Observed, satisfied: bool, now: Time) -> Plan:
    """syncJob's decisions: the terminal condition it heads for, manageJob (when the
    expectations are `satisfied`), the Suspended condition, and the tracked status."""
    job, key = seen.job, key_of(seen.job)
    status = job.status
    if status.start_time is None and not job.spec.suspend:
        status = attrs.evolve(status, start_time=seconds(now))
    finished, deadline_at = _failure(seen, status, now)
    active = len(seen.active)
    terminating = sum(1 for p in seen.pods if p.metadata.deletion_timestamp is not None and p.status.phase not in (PodPhase.SUCCEEDED, PodPhase.FAILED))
    ready = sum(1 for p in seen.active if is_pod_ready(p))
    managed = _Managed(active=active)
    keep_finalizers = False
    events: tuple[RecordEvent, ...] = ()
    if finished is not None:
        deleted = 0
        if satisfied:  # deleteActivePods: the pods keep their finalizers and count as failed
            managed, keep_finalizers, deleted = _Managed(active=active, delete=seen.active), True, len(seen.active)
        if deleted != active or not satisfied:
            finished = None
        active -= deleted
        terminating += deleted
        ready -= sum(1 for p in seen.active if is_pod_ready(p)) if deleted else 0
    else:
        manage_called = False
        if satisfied and job.metadata.deletion_timestamp is None:
            managed = _manage(seen, now)
            active = managed.active
            terminating += managed.removed
            ready -= managed.removed_ready
            manage_called = True
        if job.spec.completions is None:
            complete = seen.succeeded > 0 and active == 0
        else:
            complete = seen.succeeded >= job.spec.completions and active == 0
        if complete:
            finished = new_condition(JobConditionType.SUCCESS_CRITERIA_MET, "CompletionsReached", "Reached expected number of succeeded pods", now)
        elif manage_called:
            status, events = _suspend_condition(job, status, key, now)
    status = attrs.evolve(status, active=active, ready=ready, terminating=terminating)
    status, release, done = _track(seen, status, finished, now)
    return Plan(
        deadline_at=deadline_at,
        delete=managed.delete,
        keep_finalizers=keep_finalizers,
        backoff_at=managed.backoff_at,
        backoff_in_motion=managed.backoff_in_motion,
        create=managed.create,
        events=events,
        release=release,
        status=status,
        backoff=seen.new_backoff,
        finished=done,
    )


def _failure(seen: Observed, status: JobStatus, now: Time) -> tuple[JobCondition | None, Time | None]:
    """The terminal condition this sync heads for (before any success), if any; else,
    for a Job with a deadline still ahead, when to look again (pastActiveDeadline)."""
    job = seen.job
    met = find_condition(job.status.conditions, JobConditionType.SUCCESS_CRITERIA_MET)
    if met is not None and met.status is ConditionStatus.TRUE:
        return met, None
    target = find_condition(job.status.conditions, JobConditionType.FAILURE_TARGET)
    if target is not None and target.status is ConditionStatus.TRUE:
        return new_condition(JobConditionType.FAILED, target.reason, target.message, now), None
    if seen.failed > backoff_limit(job) or past_backoff_limit_on_failure(job, seen.pods):
        return new_condition(JobConditionType.FAILURE_TARGET, "BackoffLimitExceeded", "Job has reached the specified backoff limit", now), None
    ads = job.spec.active_deadline_seconds
    suspended = find_condition(job.status.conditions, JobConditionType.SUSPENDED)
    resuming = suspended is not None and suspended.status is ConditionStatus.TRUE
    # a Job being resumed restarts its clock in this sync (its old startTime is void)
    if ads is not None and status.start_time is not None and not job.spec.suspend and not resuming:
        deadline = Time(status.start_time + ads)
        if now >= deadline:
            return new_condition(JobConditionType.FAILURE_TARGET, "DeadlineExceeded", "Job was active longer than specified deadline", now), None
        return None, deadline
    return None, None


def _suspend_condition(job: Job, status: JobStatus, key: ObjectKey, now: Time) -> tuple[JobStatus, tuple[RecordEvent, ...]]:
    """The Suspended condition as the spec says, and the event of a change."""
    if job.spec.suspend:
        conds, changed = ensure_condition(status.conditions, JobConditionType.SUSPENDED, ConditionStatus.TRUE, "JobSuspended", "Job suspended", now)
        events = (RecordEvent(involved=key, type=EventType.NORMAL, reason="Suspended", message="Job suspended"),) if changed else ()
        return attrs.evolve(status, conditions=conds), events
    conds, changed = ensure_condition(status.conditions, JobConditionType.SUSPENDED, ConditionStatus.FALSE, "JobResumed", "Job resumed", now)
    if not changed:
        return status, ()
    resumed = RecordEvent(involved=key, type=EventType.NORMAL, reason="Resumed", message="Job resumed")
    # ActiveDeadlineSeconds counts continuous activity: a resumed job starts afresh
    return attrs.evolve(status, conditions=conds, start_time=seconds(now)), (resumed,)


def _manage(seen: Observed, now: Time) -> _Managed:
    """manageJob: suspended -> delete every active pod; too many -> the extras; too few
    -> create, unless the pod failure backoff says wait."""
    job = seen.job
    active = len(seen.active)
    if job.spec.suspend:
        return _Managed(active=0, removed=active, removed_ready=sum(1 for p in seen.active if is_pod_ready(p)), delete=seen.active)
    parallelism = job.spec.parallelism if job.spec.parallelism is not None else 1
    if job.spec.completions is None:
        want = active if seen.succeeded > 0 else parallelism
    else:
        want = max(0, min(job.spec.completions - seen.succeeded, parallelism))
    victims = _for_removal(job, seen.active, max(0, active - want), now)[:MAX_POD_CREATE_DELETE_PER_SYNC]
    if victims:
        ready = sum(1 for p in victims if is_pod_ready(p))
        return _Managed(active=active - len(victims), removed=len(victims), removed_ready=ready, delete=victims)
    terminating = (
        sum(1 for p in seen.pods if p.metadata.deletion_timestamp is not None and p.status.phase not in (PodPhase.SUCCEEDED, PodPhase.FAILED))
        if only_replace_failed(job)
        else 0
    )
    diff = want - terminating - active
    if diff <= 0:
        return _Managed(active=active)
    wait = remaining_backoff(seen.new_backoff, now)
    if wait > 0:
        # in motion after the first failure since the last success; after another, the
        # pods keep failing (a repeating state) and the back-off is merely scheduled
        moving = retry_in_motion(seen.new_backoff.failures_after_last_success)
        return _Managed(active=active, backoff_at=Time(now + max(wait, MIN_DELAY)), backoff_in_motion=moving)
    diff = min(diff, MAX_POD_CREATE_DELETE_PER_SYNC)
    template = job.spec.template
    meta = template.metadata
    if JOB_TRACKING_FINALIZER not in meta.finalizers:
        template = attrs.evolve(template, metadata=attrs.evolve(meta, finalizers=(*meta.finalizers, JOB_TRACKING_FINALIZER)))
    if job.spec.completion_mode is CompletionMode.INDEXED:
        indexes: tuple[int | None, ...] = ix.first_pending_indexes(seen.succeeded_indexes, seen.active, diff, completions_of(job))
    else:
        indexes = (None,) * diff
    return _Managed(active=active + len(indexes), create=tuple(_pod_for(job, template, i) for i in indexes))


def _pod_for(job: Job, template: PodTemplateSpec, index: int | None) -> Pod:
    if index is None:
        return pod_from_template(template, job)
    pod = pod_from_template(ix.indexed_template(template, job.metadata.name, index), job)
    gen = ix.generate_name_with_index(job.metadata.name, index)
    return attrs.evolve(pod, metadata=attrs.evolve(pod.metadata, generate_name=gen))


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


def _track(
    seen: Observed, status: JobStatus, finished: JobCondition | None, now: Time
) -> tuple[JobStatus, tuple[Pod, ...], JobCondition | None]:
    """trackJobStatusAndRemoveFinalizers, split at its flush: account newly finished pods
    in the status; the pods whose finalizers to remove (the observed status already
    accounts for them); the finished condition the status reaches, if any."""
    job = seen.job
    indexed = job.spec.completion_mode is CompletionMode.INDEXED
    completions = completions_of(job)
    with_finalizer = {p.metadata.uid for p in seen.pods if has_tracking_finalizer(p)} | set(seen.removing)
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
    pods = sorted(seen.pods, key=lambda p: (ix.completion_index(p) or 0, p.metadata.name)) if indexed else seen.pods
    for pod in pods:
        uid = pod.metadata.uid
        if not has_tracking_finalizer(pod) or uid in seen.removing:
            continue
        failed = is_pod_failed(pod, job)
        if not (job.metadata.deletion_timestamp is not None or finished is not None or pod.status.phase is PodPhase.SUCCEEDED or failed):
            continue
        added = False
        index = ix.completion_index(pod)
        if pod.status.phase is PodPhase.SUCCEEDED and uid not in unc_f:
            if indexed:
                if index is not None and index < completions and not ix.has_index(seen.prev_indexes, index):
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
        succ = ix.with_indexes(seen.succeeded_indexes, new_indexes)
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
    done: JobCondition | None = None
    if finished is not None and not unc_s and not unc_f and not status.terminating:
        conds, _ = ensure_condition(status.conditions, finished.type, finished.status, finished.reason, finished.message, now)
        status = attrs.evolve(status, conditions=conds)
        if finished.type is JobConditionType.COMPLETE:
            status = attrs.evolve(status, completion_time=seconds(now))
        done = finished
    return status, tuple(release), done
