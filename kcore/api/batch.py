"""The batch/v1 group: Job and CronJob.

Owns the frozen value classes of these kinds (spec, status, pod failure and success
policies, conditions), `default` (context-dependent defaulting) and `generate_selector`
(the selector and pod labels the apiserver gives a job at create time).

Rules (see kcore/api/meta.py for the conventions the codec reads):
- a Go pointer field is `X | None = None`, unless upstream defaulting always sets it to a
  constant (`suspend`, `completionMode`, `manualSelector`, history limits): such a field
  is a plain scalar whose attrs default is the upstream default;
- `parallelism`, `completions`, `backoffLimit` and `podReplacementPolicy` depend on other
  fields, so they stay optional in the class and `default` fills them;
- `default` is idempotent and returns other kinds unchanged.

Knows nothing of the job controller, validation or the codec.

Mirrors k8s.io/api/batch/v1/types.go, pkg/apis/batch/v1/defaults.go and the selector
generation of pkg/registry/batch/job/strategy.go.
"""


from __future__ import annotations

import enum
from typing import ClassVar, Final

import attrs
from pyrsistent.typing import PMap

from kcore.api.core import ObjectReference
from kcore.api.kinds import Kind
from kcore.api.meta import ApiObject, ConditionStatus, ObjectMeta, Time, wire
from kcore.api.pod import LabelSelector, PodTemplateSpec
from kcore.api.pod_defaults import default_pod_template

DEFAULT_BACKOFF_LIMIT: Final = 6
MAX_INT32: Final = 2**31 - 1
"""The backoffLimit upstream gives a job with backoffLimitPerIndex (no global limit)."""

# pkg/apis/batch/types.go: the labels generate_selector stamps on the pod template.
JOB_NAME_LABEL: Final = "batch.kubernetes.io/job-name"
LEGACY_JOB_NAME_LABEL: Final = "job-name"
CONTROLLER_UID_LABEL: Final = "batch.kubernetes.io/controller-uid"
LEGACY_CONTROLLER_UID_LABEL: Final = "controller-uid"


# ---------------------------------------------------------------- Job


class CompletionMode(enum.Enum):
    NON_INDEXED = "NonIndexed"
    INDEXED = "Indexed"


class PodReplacementPolicy(enum.Enum):
    TERMINATING_OR_FAILED = "TerminatingOrFailed"
    FAILED = "Failed"


class PodFailurePolicyAction(enum.Enum):
    FAIL_JOB = "FailJob"
    FAIL_INDEX = "FailIndex"
    IGNORE = "Ignore"
    COUNT = "Count"


class PodFailurePolicyOnExitCodesOperator(enum.Enum):
    IN = "In"
    NOT_IN = "NotIn"


@attrs.frozen(kw_only=True)
class PodFailurePolicyOnExitCodesRequirement:
    container_name: str | None = None
    operator: PodFailurePolicyOnExitCodesOperator
    values: tuple[int, ...] = ()


@attrs.frozen(kw_only=True)
class PodFailurePolicyOnPodConditionsPattern:
    """`type` is a pod condition type (e.g. "DisruptionTarget"); status defaults to True."""

    type: str
    status: ConditionStatus = ConditionStatus.TRUE


@attrs.frozen(kw_only=True)
class PodFailurePolicyRule:
    action: PodFailurePolicyAction
    on_exit_codes: PodFailurePolicyOnExitCodesRequirement | None = None
    on_pod_conditions: tuple[PodFailurePolicyOnPodConditionsPattern, ...] = ()


@attrs.frozen(kw_only=True)
class PodFailurePolicy:
    rules: tuple[PodFailurePolicyRule, ...] = ()


@attrs.frozen(kw_only=True)
class SuccessPolicyRule:
    succeeded_indexes: str | None = None
    succeeded_count: int | None = None


@attrs.frozen(kw_only=True)
class SuccessPolicy:
    rules: tuple[SuccessPolicyRule, ...] = ()


@attrs.frozen(kw_only=True)
class JobSpec:
    parallelism: int | None = None
    completions: int | None = None
    active_deadline_seconds: int | None = None
    pod_failure_policy: PodFailurePolicy | None = None
    success_policy: SuccessPolicy | None = None
    backoff_limit: int | None = None
    backoff_limit_per_index: int | None = None
    max_failed_indexes: int | None = None
    selector: LabelSelector | None = None
    manual_selector: bool = False
    template: PodTemplateSpec = PodTemplateSpec()
    ttl_seconds_after_finished: int | None = None
    completion_mode: CompletionMode = CompletionMode.NON_INDEXED
    suspend: bool = attrs.field(default=False, metadata=wire(always=True))
    pod_replacement_policy: PodReplacementPolicy | None = None
    managed_by: str | None = None


class JobConditionType(enum.Enum):
    SUSPENDED = "Suspended"
    COMPLETE = "Complete"
    FAILED = "Failed"
    FAILURE_TARGET = "FailureTarget"
    SUCCESS_CRITERIA_MET = "SuccessCriteriaMet"


@attrs.frozen(kw_only=True)
class JobCondition:
    type: JobConditionType
    status: ConditionStatus
    last_probe_time: Time | None = None
    last_transition_time: Time | None = None
    reason: str = ""
    message: str = ""


@attrs.frozen(kw_only=True)
class UncountedTerminatedPods:
    """UIDs of finished pods whose finalizer the controller has not yet removed."""

    succeeded: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class JobStatus:
    conditions: tuple[JobCondition, ...] = ()
    start_time: Time | None = None
    completion_time: Time | None = None
    active: int = 0
    succeeded: int = 0
    failed: int = 0
    terminating: int | None = None
    completed_indexes: str = ""
    failed_indexes: str | None = None
    uncounted_terminated_pods: UncountedTerminatedPods | None = None
    ready: int | None = None


@attrs.frozen(kw_only=True)
class Job:
    KIND: ClassVar[Kind] = Kind.JOB
    metadata: ObjectMeta = ObjectMeta()
    spec: JobSpec
    status: JobStatus = JobStatus()


# ---------------------------------------------------------------- CronJob


class ConcurrencyPolicy(enum.Enum):
    ALLOW = "Allow"
    FORBID = "Forbid"
    REPLACE = "Replace"


@attrs.frozen(kw_only=True)
class JobTemplateSpec:
    metadata: ObjectMeta = ObjectMeta()
    spec: JobSpec


@attrs.frozen(kw_only=True)
class CronJobSpec:
    schedule: str
    time_zone: str | None = None
    starting_deadline_seconds: int | None = None
    concurrency_policy: ConcurrencyPolicy = ConcurrencyPolicy.ALLOW
    suspend: bool = attrs.field(default=False, metadata=wire(always=True))
    job_template: JobTemplateSpec
    successful_jobs_history_limit: int = 3
    failed_jobs_history_limit: int = 1


@attrs.frozen(kw_only=True)
class CronJobStatus:
    active: tuple[ObjectReference, ...] = ()
    last_schedule_time: Time | None = None
    last_successful_time: Time | None = None


@attrs.frozen(kw_only=True)
class CronJob:
    KIND: ClassVar[Kind] = Kind.CRON_JOB
    metadata: ObjectMeta = ObjectMeta()
    spec: CronJobSpec
    status: CronJobStatus = CronJobStatus()


# ---------------------------------------------------------------- defaulting


def default(obj: ApiObject) -> ApiObject:
    """Apply batch/v1 context-dependent defaults; other kinds are returned unchanged.

    A Job that already has a uid (stored, or being created after the apiserver assigned
    one) also gets its generated selector, as `generate_selector` describes.
    """
    match obj:
        case Job():
            job = attrs.evolve(obj, spec=default_job_spec(obj.spec))
            # SetDefaults_Job: a job without labels takes its pod template's labels.
            template_labels = job.spec.template.metadata.labels
            if template_labels and not job.metadata.labels:
                job = attrs.evolve(
                    job, metadata=attrs.evolve(job.metadata, labels=template_labels)
                )
            return generate_selector(job) if job.metadata.uid else job
        case CronJob():
            jt = obj.spec.job_template
            jt = attrs.evolve(jt, spec=default_job_spec(jt.spec))
            return attrs.evolve(obj, spec=attrs.evolve(obj.spec, job_template=jt))
        case _:
            return obj


def default_job_spec(spec: JobSpec) -> JobSpec:
    """SetDefaults_Job's spec part, shared by Job and CronJob's jobTemplate."""
    completions, parallelism = spec.completions, spec.parallelism
    # "For a non-parallel job, you can leave both unset. When both are unset, both are
    # defaulted to 1." A lone parallelism leaves completions nil: a work-queue job.
    if completions is None and parallelism is None:
        completions = 1
    if parallelism is None:
        parallelism = 1
    backoff_limit = spec.backoff_limit
    if backoff_limit is None:
        per_index = spec.backoff_limit_per_index is not None
        backoff_limit = MAX_INT32 if per_index else DEFAULT_BACKOFF_LIMIT
    replacement = spec.pod_replacement_policy
    if replacement is None:
        replacement = (
            PodReplacementPolicy.FAILED
            if spec.pod_failure_policy is not None
            else PodReplacementPolicy.TERMINATING_OR_FAILED
        )
    return attrs.evolve(
        spec,
        completions=completions,
        parallelism=parallelism,
        backoff_limit=backoff_limit,
        pod_replacement_policy=replacement,
        template=default_pod_template(spec.template),
    )


def generate_selector(job: Job) -> Job:
    """The selector and template labels the apiserver gives a job without manualSelector.

    Template labels gain job-name and controller-uid (legacy and batch.kubernetes.io
    forms) unless already present; the selector gains matchLabels controller-uid = uid.
    A label the user set to a conflicting value is kept, so validation rejects the
    mismatch (as upstream's pkg/registry/batch/job/strategy.go). Needs a uid; a job with
    `manual_selector` is returned unchanged.
    """
    if job.spec.manual_selector:
        return job
    name, uid = job.metadata.name, job.metadata.uid
    template = job.spec.template
    labels = _set_missing(
        template.metadata.labels,
        ((LEGACY_JOB_NAME_LABEL, name), (JOB_NAME_LABEL, name),
         (LEGACY_CONTROLLER_UID_LABEL, uid), (CONTROLLER_UID_LABEL, uid)),
    )
    template = attrs.evolve(template, metadata=attrs.evolve(template.metadata, labels=labels))
    selector = job.spec.selector or LabelSelector()
    selector = attrs.evolve(
        selector, match_labels=_set_missing(selector.match_labels, ((CONTROLLER_UID_LABEL, uid),))
    )
    return attrs.evolve(job, spec=attrs.evolve(job.spec, template=template, selector=selector))


def _set_missing(
    labels: PMap[str, str], entries: tuple[tuple[str, str], ...]
) -> PMap[str, str]:
    for key, value in entries:
        if key not in labels:
            labels = labels.set(key, value)
    return labels

