"""Validation of the batch/v1 kinds: Job and CronJob, with a strict cron parser.

Owns `validate_job`, `validate_job_update`, `validate_cron_job`,
`validate_cron_job_update` and `cron_schedule_error`, a small parser that accepts
exactly what upstream's robfig/cron/v3 `ParseStandard` accepts (five fields with names,
ranges, steps and lists, the @yearly..@hourly descriptors and @every) and answers with
its error text.

Rules: pure; errors in upstream's order and wording. The time zone is checked for
syntax only: the core reads no tz database (deviation: an unknown but well-formed zone
name such as "Mars/Olympus" passes here and fails upstream).

Mirrors pkg/apis/batch/validation/validation.go and github.com/robfig/cron/v3 parser.go.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

import attrs

from kcore.api.batch import CompletionMode, CronJob, Job, JobSpec, JobTemplateSpec
from kcore.api.pod import PodTemplateSpec, RestartPolicy
from kcore.api.validation.meta import (
    Errors,
    NameRule,
    go_label_selector,
    immutable,
    immutable_selector,
    invalid_rendered,
    non_negative,
    selector_matches,
    selector_mismatch,
    validate_label_selector,
    validate_object_meta,
    validate_object_meta_update,
)
from kcore.api.validation.pod import validate_pod_template
from kcore.util_validation import (
    FieldError,
    child,
    invalid,
    not_supported,
    required,
)

MAX_PARALLELISM_FOR_INDEXED_JOB: Final = 100_000
MAX_COMPLETIONS_FOR_INDEXED_JOB: Final = 100_000
CRON_JOB_NAME_MAX_LENGTH: Final = 52  # DNS-1035 label max (63) minus the 11-char suffix
_TIME_ZONE_PART_RE: Final = re.compile(r"[A-Za-z.\-_0-9+]{1,14}")


# ---- Job --------------------------------------------------------------------------------


def validate_job(job: Job) -> Errors:
    """ValidateJob: metadata, the spec, a selector that matches the template."""
    spec = job.spec
    errors: list[FieldError] = [
        *validate_object_meta(job.metadata, namespaced=True, rule=NameRule.DNS1123_SUBDOMAIN),
        *_job_spec(spec, "spec"),
    ]
    if spec.selector is None:
        errors.append(required("spec.selector", ""))
    else:
        errors.extend(validate_label_selector(spec.selector, "spec.selector"))
        if selector_matches(spec.selector, spec.template.metadata.labels) is False:
            errors.append(
                selector_mismatch(spec.template.metadata.labels, "spec.template.metadata.labels")
            )
    return tuple(errors)


def _job_spec(spec: JobSpec, path: str) -> Errors:
    """validateJobSpec: counts non-negative, Indexed rules, template and restartPolicy."""
    errors: list[FieldError] = []
    for name, value in (
        ("parallelism", spec.parallelism),
        ("completions", spec.completions),
        ("activeDeadlineSeconds", spec.active_deadline_seconds),
        ("backoffLimit", spec.backoff_limit),
        ("ttlSecondsAfterFinished", spec.ttl_seconds_after_finished),
    ):
        errors.extend(non_negative(value, child(path, name)))
    if spec.completion_mode is CompletionMode.INDEXED:
        if spec.completions is None:
            errors.append(required(child(path, "completions"), "when completion mode is Indexed"))
        elif spec.completions > MAX_COMPLETIONS_FOR_INDEXED_JOB:
            errors.append(
                invalid(
                    child(path, "completions"),
                    spec.completions,
                    f"must be less than or equal to {MAX_COMPLETIONS_FOR_INDEXED_JOB} "
                    "when completion mode is Indexed",
                )
            )
        if spec.parallelism is not None and spec.parallelism > MAX_PARALLELISM_FOR_INDEXED_JOB:
            errors.append(
                invalid(
                    child(path, "parallelism"),
                    spec.parallelism,
                    f"must be less than or equal to {MAX_PARALLELISM_FOR_INDEXED_JOB} "
                    "when completion mode is Indexed",
                )
            )
    template_path = child(path, "template")
    errors.extend(validate_pod_template(spec.template, template_path))
    errors.extend(_job_restart_policy(spec, child(template_path, "spec", "restartPolicy")))
    return tuple(errors)


def _job_restart_policy(spec: JobSpec, path: str) -> Errors:
    policy = spec.template.spec.restart_policy
    if policy is RestartPolicy.ALWAYS:
        return (required(path, 'valid values: "OnFailure", "Never"'),)
    if spec.pod_failure_policy is not None and policy is not RestartPolicy.NEVER:
        return (
            invalid(path, policy, 'only "Never" is supported when podFailurePolicy is specified'),
        )
    return ()


def validate_job_update(new: Job, old: Job) -> Errors:
    """ValidateJobUpdate: selector, completion mode and (unless suspended and never
    started) the pod template are immutable; completions only as Indexed, in tandem."""
    ns, os = new.spec, old.spec
    errors: list[FieldError] = [
        *validate_object_meta_update(new.metadata, old.metadata),
        *validate_job(new),
    ]
    if ns.completion_mode is CompletionMode.INDEXED:
        if ns.completions != os.completions and ns.completions != ns.parallelism:
            errors.append(
                invalid(
                    "spec.completions",
                    ns.completions,
                    "can only be modified in tandem with spec.parallelism",
                )
            )
    else:
        errors.extend(immutable(ns.completions, os.completions, "spec.completions"))
    if ns.selector is not None and os.selector is not None:
        errors.extend(immutable_selector(ns.selector, os.selector, "spec.selector"))
    errors.extend(_template_update(new, old))
    errors.extend(immutable(ns.completion_mode, os.completion_mode, "spec.completionMode"))
    if ns.pod_failure_policy != os.pod_failure_policy:
        errors.append(invalid_rendered("spec.podFailurePolicy", "{...}", "field is immutable"))
    return tuple(errors)


def _template_update(new: Job, old: Job) -> Errors:
    template, old_template = new.spec.template, old.spec.template
    if new.spec.suspend and old.status.start_time is None:
        # Scheduling directives of a suspended job that never started may change.
        old_template = PodTemplateSpec(
            metadata=attrs.evolve(
                old_template.metadata,
                labels=template.metadata.labels,
                annotations=template.metadata.annotations,
            ),
            spec=attrs.evolve(
                old_template.spec,
                node_selector=template.spec.node_selector,
                tolerations=template.spec.tolerations,
                affinity=template.spec.affinity,
            ),
        )
    if template == old_template:
        return ()
    return (invalid_rendered("spec.template", "core.PodTemplateSpec{...}", "field is immutable"),)


# ---- CronJob ----------------------------------------------------------------------------


def validate_cron_job(cj: CronJob, old: CronJob | None = None) -> Errors:
    """ValidateCronJobCreate / the spec half of ValidateCronJobUpdate."""
    spec = cj.spec
    errors: list[FieldError] = list(
        validate_object_meta(cj.metadata, namespaced=True, rule=NameRule.DNS1123_SUBDOMAIN)
    )
    if len(cj.metadata.name) > CRON_JOB_NAME_MAX_LENGTH:
        errors.append(
            invalid(
                "metadata.name",
                cj.metadata.name,
                f"must be no more than {CRON_JOB_NAME_MAX_LENGTH} characters",
            )
        )
    if not spec.schedule:
        errors.append(required("spec.schedule", ""))
    else:
        allow_tz = old is not None and "TZ" in old.spec.schedule
        errors.extend(_schedule(spec.schedule, allow_tz, spec.time_zone, "spec.schedule"))
    errors.extend(non_negative(spec.starting_deadline_seconds, "spec.startingDeadlineSeconds"))
    if old is None or old.spec.time_zone != spec.time_zone:
        errors.extend(_time_zone(spec.time_zone, "spec.timeZone"))
    errors.extend(_job_template(spec.job_template, "spec.jobTemplate"))
    errors.extend(
        non_negative(spec.successful_jobs_history_limit, "spec.successfulJobsHistoryLimit")
    )
    errors.extend(non_negative(spec.failed_jobs_history_limit, "spec.failedJobsHistoryLimit"))
    return tuple(errors)


def validate_cron_job_update(new: CronJob, old: CronJob) -> Errors:
    return (*validate_object_meta_update(new.metadata, old.metadata), *validate_cron_job(new, old))


def _schedule(schedule: str, allow_tz: bool, time_zone: str | None, path: str) -> Errors:
    errors: list[FieldError] = []
    error = cron_schedule_error(schedule)
    if error is not None:
        errors.append(invalid(path, schedule, error))
    if "TZ" in schedule:
        if not allow_tz:
            errors.append(
                invalid(
                    path,
                    schedule,
                    "cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
                )
            )
        elif time_zone is not None:
            errors.append(
                invalid(
                    path, schedule, "cannot use both timeZone field and TZ or CRON_TZ in schedule"
                )
            )
    return tuple(errors)


def _time_zone(zone: str | None, path: str) -> Errors:
    if zone is None:
        return ()
    if not zone:
        return (invalid(path, zone, "timeZone must be nil or non-empty string"),)
    for part in zone.split("/"):
        if part in (".", "..") or part.startswith("-") or not _TIME_ZONE_PART_RE.fullmatch(part):
            return (invalid(path, zone, f"unknown time zone {zone}"),)
    if zone.lower() == "local":
        return (
            invalid(
                path,
                zone,
                "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones",
            ),
        )
    return ()


def _job_template(template: JobTemplateSpec, path: str) -> Errors:
    spec_path = child(path, "spec")
    errors = list(_job_spec(template.spec, spec_path))
    if template.spec.selector is not None:
        errors.append(
            invalid_rendered(
                child(spec_path, "selector"),
                go_label_selector(template.spec.selector),
                "`selector` will be auto-generated",
            )
        )
    if template.spec.manual_selector:
        errors.append(not_supported(child(spec_path, "manualSelector"), True, ("nil", "false")))
    return tuple(errors)


# ---- cron schedules (robfig/cron/v3 ParseStandard, as the CronJob validation uses) ----

_CRON_DESCRIPTORS: Final = frozenset(
    ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
)
_MONTH_NAMES: Final = {
    m: i + 1
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
    )
}
_DOW_NAMES: Final = {d: i for i, d in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
_CRON_FIELDS: Final[tuple[tuple[int, int, Mapping[str, int]], ...]] = (
    (0, 59, {}),  # minute
    (0, 23, {}),  # hour
    (1, 31, {}),  # day of month
    (1, 12, _MONTH_NAMES),
    (0, 6, _DOW_NAMES),
)


def cron_schedule_error(spec: str) -> str | None:
    """The robfig/cron/v3 error text for a bad standard schedule, or None when it parses."""
    if not spec:
        return "empty spec string"
    if spec.startswith("TZ=") or spec.startswith("CRON_TZ="):
        _, _, spec = spec.partition(" ")
        spec = spec.strip()
    if spec.startswith("@"):
        if spec in _CRON_DESCRIPTORS or spec.startswith("@every "):
            return _every_error(spec) if spec.startswith("@every ") else None
        return f"unrecognized descriptor: {spec}"
    fields = spec.split()
    if len(fields) != 5:
        return f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]"
    for text, (low, high, names) in zip(fields, _CRON_FIELDS, strict=True):
        for expr in (e for e in text.split(",") if e):
            error = _cron_range_error(expr, low, high, names)
            if error is not None:
                return error
    return None


def _every_error(spec: str) -> str | None:
    duration = spec[len("@every ") :]
    if re.fullmatch(r"(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+", duration) is None:
        return f'failed to parse duration {spec}: time: invalid duration "{duration}"'
    return None


def _cron_int(expr: str, names: Mapping[str, int]) -> int | str:
    if expr.lower() in names:
        return names[expr.lower()]
    if re.fullmatch(r"[+-]?\d+", expr) is None:
        return f'failed to parse int from {expr}: strconv.Atoi: parsing "{expr}": invalid syntax'
    num = int(expr)
    if num < 0:
        return f"negative number ({num}) not allowed: {expr}"
    return num


def _cron_range_error(expr: str, low: int, high: int, names: Mapping[str, int]) -> str | None:
    range_and_step = expr.split("/")
    low_and_high = range_and_step[0].split("-")
    if low_and_high[0] in ("*", "?"):
        start, end = low, high
    else:
        if len(low_and_high) > 2:
            return f"too many hyphens: {expr}"
        first = _cron_int(low_and_high[0], names)
        if isinstance(first, str):
            return first
        start = end = first
        if len(low_and_high) == 2:
            last = _cron_int(low_and_high[1], names)
            if isinstance(last, str):
                return last
            end = last
    if len(range_and_step) > 2:
        return f"too many slashes: {expr}"
    if len(range_and_step) == 2:
        step = _cron_int(range_and_step[1], {})
        if isinstance(step, str):
            return step
        if step <= 0:
            return f"step of range should be a positive number: {expr}"
        if len(low_and_high) == 1:
            end = high
    if start < low:
        return f"beginning of range ({start}) below minimum ({low}): {expr}"
    if end > high:
        return f"end of range ({end}) above maximum ({high}): {expr}"
    if start > end:
        return f"beginning of range ({start}) beyond end of range ({end}): {expr}"
    return None
