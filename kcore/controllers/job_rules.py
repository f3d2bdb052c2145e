"""Pure rules of the Job controller: finished jobs, failed pods, conditions, finalizers.

Owns `JOB_TRACKING_FINALIZER`, `is_job_finished`, `has_tracking_finalizer`,
`is_pod_failed`, `past_backoff_limit_on_failure`, `ensure_condition` (and the condition
constructor) and `remove_finalizer_patch`. No effects, no clock.

Must not know: the component state, the driver.
Mirrors pkg/controller/job/job_controller.go (isPodFailed, pastBackoffLimitOnFailure,
ensureJobConditionStatus, newCondition, removeTrackingFinalizerPatch) and
pkg/controller/job/util/utils.go (IsJobFinished).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Final

from kcore.api.batch import Job, JobCondition, JobConditionType, PodReplacementPolicy
from kcore.api.kinds import ObjectKey
from kcore.api.meta import ApiObject, ConditionStatus, Time
from kcore.api.pod import Pod, PodPhase, RestartPolicy
from kcore.component.requests import Patch, PatchType

JOB_TRACKING_FINALIZER: Final = "batch.kubernetes.io/job-tracking"



def seconds(now: Time) -> Time:
    return Time(float(math.floor(now)))


def is_job_finished(job: Job) -> bool:
    """IsJobFinished: a Complete or Failed condition is True."""
    return any(
        c.type in (JobConditionType.COMPLETE, JobConditionType.FAILED) and c.status is ConditionStatus.TRUE
        for c in job.status.conditions
    )


def has_tracking_finalizer(pod: ApiObject) -> bool:
    return JOB_TRACKING_FINALIZER in pod.metadata.finalizers


def only_replace_failed(job: Job) -> bool:
    return job.spec.pod_replacement_policy is PodReplacementPolicy.FAILED


def is_pod_failed(pod: Pod, job: Job) -> bool:
    """isPodFailed: phase Failed, or (unless only failed pods are replaced) being deleted
    without having succeeded."""
    if pod.status.phase is PodPhase.FAILED:
        return True
    if only_replace_failed(job):
        return False
    return pod.metadata.deletion_timestamp is not None and pod.status.phase is not PodPhase.SUCCEEDED


def past_backoff_limit_on_failure(job: Job, pods: Sequence[Pod]) -> bool:
    """pastBackoffLimitOnFailure: restartPolicy OnFailure and the container restarts of
    pending/running pods reach backoffLimit (exceed it when the limit is 0)."""
    if job.spec.template.spec.restart_policy is not RestartPolicy.ON_FAILURE:
        return False
    restarts = sum(
        s.restart_count
        for p in pods
        if p.status.phase in (PodPhase.RUNNING, PodPhase.PENDING)
        for s in (*p.status.init_container_statuses, *p.status.container_statuses)
    )
    limit = backoff_limit(job)
    return restarts > 0 if limit == 0 else restarts >= limit


def backoff_limit(job: Job) -> int:
    return 6 if job.spec.backoff_limit is None else job.spec.backoff_limit


def completions_of(job: Job) -> int:
    return job.spec.completions or 0


def find_condition(conds: Sequence[JobCondition], kind: JobConditionType) -> JobCondition | None:
    for c in conds:
        if c.type is kind:
            return c
    return None


def new_condition(kind: JobConditionType, reason: str, message: str, now: Time, status: ConditionStatus = ConditionStatus.TRUE) -> JobCondition:
    t = seconds(now)
    return JobCondition(type=kind, status=status, last_probe_time=t, last_transition_time=t, reason=reason, message=message)


def ensure_condition(
    conds: tuple[JobCondition, ...], kind: JobConditionType, status: ConditionStatus, reason: str, message: str, now: Time
) -> tuple[tuple[JobCondition, ...], bool]:
    """ensureJobConditionStatus: set or update the condition of `kind`; a False condition
    is never added from nothing. Returns the list and whether it changed."""
    for i, c in enumerate(conds):
        if c.type is kind:
            if c.status is status and c.reason == reason and c.message == message:
                return conds, False
            return (*conds[:i], new_condition(kind, reason, message, now, status), *conds[i + 1 :]), True
    if status is ConditionStatus.FALSE:
        return conds, False
    return (*conds, new_condition(kind, reason, message, now, status)), True


def remove_finalizer_patch(pod: ObjectKey) -> Patch:
    body = {"metadata": {"$deleteFromPrimitiveList/finalizers": [JOB_TRACKING_FINALIZER]}}
    return Patch(key=pod, patch_type=PatchType.STRATEGIC, patch=json.dumps(body, sort_keys=True))

