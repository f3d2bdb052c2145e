"""Pod failure backoff of the Job controller: when may a failed Job pod be replaced.

Owns `BackoffRecord` (failures since the last success and when the last one finished),
`new_backoff_record` (fold newly finished pods into a record), `remaining_backoff`
(10 s * 2^(failures-1), capped at 6 min, minus the time since the last failure) and
`finished_time(pod)` (latest container finishedAt, else the Ready=False transition, else
deletionTimestamp - grace, else creation time).

Rules: the record lives only in the controller's memory, so a restart forgets it, exactly
as upstream's podBackoffStore (a cache.Store) does. Pure; time arrives as `now`.

Must not know: the component, the apiserver.
Mirrors pkg/controller/job/backoff_utils.go (DefaultJobPodFailureBackOff,
MaxJobPodFailureBackOff in job_controller.go).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import attrs

from kcore.api.meta import ConditionStatus, Time
from kcore.api.pod import Pod

DEFAULT_POD_FAILURE_BACKOFF: Final = 10.0
MAX_POD_FAILURE_BACKOFF: Final = 360.0


@attrs.frozen(kw_only=True)
class BackoffRecord:
    failures_after_last_success: int = 0
    last_failure_time: Time | None = None


NO_BACKOFF: Final = BackoffRecord()


def finished_time(pod: Pod) -> Time:
    """getFinishedTime: when `pod` finished, by upstream's order of evidence."""
    statuses = pod.status.container_statuses
    ends = [s.state.terminated.finished_at if s.state.terminated is not None else None for s in statuses]
    if statuses and all(e is not None for e in ends):
        return max(e for e in ends if e is not None)
    for c in pod.status.conditions:
        if c.type == "Ready" and c.status is ConditionStatus.FALSE and c.last_transition_time is not None:
            return c.last_transition_time
    m = pod.metadata
    if m.deletion_timestamp is not None:
        return Time(m.deletion_timestamp - (m.deletion_grace_period_seconds or 0))
    return m.creation_timestamp or Time(0.0)


def new_backoff_record(old: BackoffRecord, succeeded: Sequence[Pod], failed: Sequence[Pod]) -> BackoffRecord:
    """newBackoffRecord: `old` after the newly finished pods (failures after the last
    success count; any success resets)."""
    succ_times = sorted(finished_time(p) for p in succeeded)
    fail_times = sorted(finished_time(p) for p in failed)
    if not succ_times:
        if not fail_times:
            return old
        return BackoffRecord(
            failures_after_last_success=old.failures_after_last_success + len(fail_times),
            last_failure_time=fail_times[-1],
        )
    last_success = succ_times[-1]
    after = [t for t in fail_times if t > last_success]
    if not after:
        return NO_BACKOFF
    return BackoffRecord(failures_after_last_success=len(after), last_failure_time=after[-1])


def backoff_duration(failures: int) -> float:
    """10 s doubled per failure after the first, capped at 6 min (0 for no failures)."""
    if failures <= 0:
        return 0.0
    d = DEFAULT_POD_FAILURE_BACKOFF
    for _ in range(1, failures):
        d *= 2
        if d >= MAX_POD_FAILURE_BACKOFF:
            return MAX_POD_FAILURE_BACKOFF
    return d


def remaining_backoff(record: BackoffRecord, now: Time) -> float:
    """getRemainingTime: seconds still to wait before replacing a failed pod."""
    if record.failures_after_last_success == 0 or record.last_failure_time is None:
        return 0.0
    elapsed = now - record.last_failure_time
    d = backoff_duration(record.failures_after_last_success)
    return 0.0 if d < elapsed else d - elapsed
