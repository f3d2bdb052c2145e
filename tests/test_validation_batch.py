"""Validation of Job and CronJob, and the cron schedule parser."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from pyrsistent import pmap

from kcore.api.batch import CompletionMode, CronJob, CronJobSpec, Job, JobSpec, JobTemplateSpec
from kcore.api.defaults import apply_defaults
from kcore.api.meta import Time
from kcore.api.pod import LabelSelector, PodTemplateSpec, RestartPolicy
from kcore.api.validation import validate
from kcore.api.validation.batch import cron_schedule_error
from kcore.util_validation import FieldError
from tests.builders import a_template, meta, with_meta


def texts(errors: tuple[FieldError, ...]) -> list[str]:
    return [str(e) for e in errors]


def template(policy: RestartPolicy = RestartPolicy.NEVER) -> PodTemplateSpec:
    t = a_template({"app": "batch"})
    return attrs.evolve(t, spec=attrs.evolve(t.spec, restart_policy=policy))


def job(**spec: Any) -> Job:  # Any: JobSpec fields of every type
    base = JobSpec(
        template=template(),
        selector=LabelSelector(match_labels=pmap({"app": "batch"})),
        manual_selector=True,
    )
    j = Job(
        metadata=with_meta(Job(metadata=meta("pi"), spec=base), uid="u1").metadata,
        spec=attrs.evolve(base, **spec),
    )
    return apply_defaults(j)


def test_a_default_job_is_valid() -> None:
    assert validate(job(), None) == ()


def test_job_counts_are_non_negative() -> None:
    assert texts(validate(job(parallelism=-1, completions=-1, backoff_limit=-1), None)) == [
        "spec.parallelism: Invalid value: -1: must be greater than or equal to 0",
        "spec.completions: Invalid value: -1: must be greater than or equal to 0",
        "spec.backoffLimit: Invalid value: -1: must be greater than or equal to 0",
    ]


def test_a_job_template_may_not_restart_always() -> None:
    assert texts(validate(job(template=template(RestartPolicy.ALWAYS)), None)) == [
        'spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"'
    ]
    assert validate(job(template=template(RestartPolicy.ON_FAILURE)), None) == ()


def test_a_job_selector_must_match_its_template() -> None:
    j = job(selector=LabelSelector(match_labels=pmap({"app": "other"})))
    assert texts(validate(j, None)) == [
        'spec.template.metadata.labels: Invalid value: map[string]string{"app":"batch"}: '
        "`selector` does not match template `labels`"
    ]


def test_a_generated_selector_matches_the_generated_labels() -> None:
    j = apply_defaults(
        Job(
            metadata=with_meta(
                Job(metadata=meta("gen"), spec=JobSpec(template=template())), uid="u9"
            ).metadata,
            spec=JobSpec(template=template()),
        )
    )
    assert validate(j, None) == ()


def test_an_indexed_job_needs_completions() -> None:
    assert texts(validate(job(completion_mode=CompletionMode.INDEXED, parallelism=2), None)) == [
        "spec.completions: Required value: when completion mode is Indexed"
    ]


def test_a_running_job_template_is_immutable() -> None:
    old = with_meta(job(), creation_timestamp=Time(1.0))
    changed = attrs.evolve(
        old,
        spec=attrs.evolve(
            old.spec,
            template=attrs.evolve(
                old.spec.template,
                spec=attrs.evolve(old.spec.template.spec, node_selector=pmap({"a": "b"})),
            ),
        ),
    )
    assert texts(validate(changed, old)) == [
        "spec.template: Invalid value: core.PodTemplateSpec{...}: field is immutable"
    ]


def test_a_suspended_job_may_change_its_scheduling_directives() -> None:
    old = with_meta(job(suspend=True), creation_timestamp=Time(1.0))
    changed = attrs.evolve(
        old,
        spec=attrs.evolve(
            old.spec,
            template=attrs.evolve(
                old.spec.template,
                spec=attrs.evolve(old.spec.template.spec, node_selector=pmap({"a": "b"})),
            ),
        ),
    )
    assert validate(changed, old) == ()


def test_job_completions_are_immutable_unless_indexed_in_tandem() -> None:
    old = with_meta(job(completions=3, parallelism=3), creation_timestamp=Time(1.0))
    assert texts(validate(attrs.evolve(old, spec=attrs.evolve(old.spec, completions=4)), old)) == [
        "spec.completions: Invalid value: 4: field is immutable"
    ]
    indexed = with_meta(
        job(completions=3, parallelism=3, completion_mode=CompletionMode.INDEXED),
        creation_timestamp=Time(1.0),
    )
    both = attrs.evolve(indexed, spec=attrs.evolve(indexed.spec, completions=5, parallelism=5))
    assert validate(both, indexed) == ()


def cron(schedule: str = "*/5 * * * *", **spec: Any) -> CronJob:  # Any: CronJobSpec fields
    jt = JobTemplateSpec(spec=JobSpec(template=template()))
    return apply_defaults(
        CronJob(
            metadata=meta("tick"),
            spec=attrs.evolve(CronJobSpec(schedule=schedule, job_template=jt), **spec),
        )
    )


def test_a_default_cron_job_is_valid() -> None:
    assert validate(cron(), None) == ()


def test_a_cron_schedule_is_required_and_parses() -> None:
    assert texts(validate(cron(""), None)) == ["spec.schedule: Required value"]
    assert texts(validate(cron("* * *"), None)) == [
        'spec.schedule: Invalid value: "* * *": expected exactly 5 fields, found 3: [* * *]'
    ]


def test_a_schedule_may_not_carry_a_time_zone() -> None:
    assert texts(validate(cron("TZ=UTC 0 * * * *"), None)) == [
        'spec.schedule: Invalid value: "TZ=UTC 0 * * * *": cannot use TZ or CRON_TZ in schedule, use timeZone field instead'
    ]


def test_a_time_zone_is_explicit() -> None:
    assert texts(validate(cron(time_zone="Local"), None)) == [
        'spec.timeZone: Invalid value: "Local": timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones'
    ]
    assert validate(cron(time_zone="Europe/Berlin"), None) == ()


def test_history_limits_are_non_negative() -> None:
    assert texts(validate(cron(failed_jobs_history_limit=-1), None)) == [
        "spec.failedJobsHistoryLimit: Invalid value: -1: must be greater than or equal to 0"
    ]


def test_a_cron_job_template_has_no_selector() -> None:
    jt = JobTemplateSpec(
        spec=JobSpec(template=template(), selector=LabelSelector(match_labels=pmap({"a": "b"})))
    )
    assert texts(validate(cron(job_template=jt), None)) == [
        'spec.jobTemplate.spec.selector: Invalid value: &LabelSelector{MatchLabels:map[string]string{"a":"b"},'
        "MatchExpressions:[]LabelSelectorRequirement{},}: `selector` will be auto-generated"
    ]


def test_a_cron_job_name_is_at_most_52_characters() -> None:
    long = with_meta(cron(), name="x" * 53)
    assert texts(validate(long, None)) == [
        f'metadata.name: Invalid value: "{"x" * 53}": must be no more than 52 characters'
    ]


@pytest.mark.parametrize(
    "schedule",
    [
        "* * * * *",
        "0 0 1 1 *",
        "*/15 9-17 * * mon-fri",
        "0,30 * * JAN,jul SUN",
        "@hourly",
        "@every 1h30m",
        "5/10 * ? * *",
    ],
)
def test_standard_schedules_parse(schedule: str) -> None:
    assert cron_schedule_error(schedule) is None


@pytest.mark.parametrize(
    ("schedule", "error"),
    [
        ("60 * * * *", "end of range (60) above maximum (59): 60"),
        ("* * 0 * *", "beginning of range (0) below minimum (1): 0"),
        ("5-2 * * * *", "beginning of range (5) beyond end of range (2): 5-2"),
        ("*/0 * * * *", "step of range should be a positive number: */0"),
        ("x * * * *", 'failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax'),
        ("1-2-3 * * * *", "too many hyphens: 1-2-3"),
        ("@fortnightly", "unrecognized descriptor: @fortnightly"),
        ("* * * * * *", "expected exactly 5 fields, found 6: [* * * * * *]"),
    ],
)
def test_bad_schedules_fail_with_the_cron_library_message(schedule: str, error: str) -> None:
    assert cron_schedule_error(schedule) == error
