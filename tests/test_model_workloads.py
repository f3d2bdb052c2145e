"""The apps, batch, autoscaling, networking and coordination object models.

Construction, upstream defaults (static attrs defaults and each group's `default`),
idempotence of `default`, value semantics (equality, hashing, evolve) and the typing
conventions the codec walks.
"""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Callable

import attrs
import pytest
from pyrsistent import pmap
from pyrsistent.typing import PMap

from kcore.api import apps, autoscaling, batch, coordination, networking
from kcore.api.apps import (
    DaemonSet,
    DaemonSetSpec,
    DaemonSetUpdateStrategy,
    DaemonSetUpdateStrategyType,
    Deployment,
    DeploymentSpec,
    DeploymentStrategy,
    DeploymentStrategyType,
    PersistentVolumeClaimRetentionPolicyType,
    PodManagementPolicy,
    ReplicaSet,
    ReplicaSetSpec,
    RollingUpdateDaemonSet,
    RollingUpdateDeployment,
    RollingUpdateStatefulSetStrategy,
    StatefulSet,
    StatefulSetPersistentVolumeClaimRetentionPolicy,
    StatefulSetSpec,
    StatefulSetUpdateStrategy,
    StatefulSetUpdateStrategyType,
)
from kcore.api.autoscaling import (
    CrossVersionObjectReference,
    HorizontalPodAutoscaler,
    HorizontalPodAutoscalerBehavior,
    HorizontalPodAutoscalerSpec,
    HPAScalingPolicy,
    HPAScalingPolicyType,
    HPAScalingRules,
    MetricSourceType,
    MetricSpec,
    MetricTarget,
    MetricTargetType,
    ResourceMetricSource,
    ScalingPolicySelect,
)
from kcore.api.batch import (
    CompletionMode,
    ConcurrencyPolicy,
    CronJob,
    CronJobSpec,
    Job,
    JobSpec,
    JobTemplateSpec,
    PodFailurePolicy,
    PodFailurePolicyAction,
    PodFailurePolicyOnPodConditionsPattern,
    PodFailurePolicyRule,
    PodReplacementPolicy,
)
from kcore.api.coordination import LeaseSpec
from kcore.api.kinds import Kind
from kcore.api.meta import ApiObject, ConditionStatus, MicroTime, ObjectMeta, Time
from kcore.api.pod import Container, LabelSelector, PodSpec, PodTemplateSpec, PullPolicy
from kcore.api.pod_defaults import default_pod_template
from kcore.quantity import Quantity, parse_quantity
from tests.builders import a_lease, an_ingress

LABELS: PMap[str, str] = pmap({"app": "web"})
SELECTOR = LabelSelector(match_labels=LABELS)
TEMPLATE = PodTemplateSpec(
    metadata=ObjectMeta(labels=LABELS),
    spec=PodSpec(containers=(Container(name="web", image="nginx:1.25"),)),
)
META = ObjectMeta(name="web", namespace="default")


def a_deployment(strategy: DeploymentStrategy | None = None) -> Deployment:
    spec = DeploymentSpec(selector=SELECTOR, template=TEMPLATE)
    if strategy is not None:
        spec = attrs.evolve(spec, strategy=strategy)
    return Deployment(metadata=META, spec=spec)


def a_daemon_set(strategy: DaemonSetUpdateStrategy | None = None) -> DaemonSet:
    spec = DaemonSetSpec(selector=SELECTOR, template=TEMPLATE)
    if strategy is not None:
        spec = attrs.evolve(spec, update_strategy=strategy)
    return DaemonSet(metadata=META, spec=spec)


def a_stateful_set() -> StatefulSet:
    return StatefulSet(
        metadata=META, spec=StatefulSetSpec(selector=SELECTOR, template=TEMPLATE, service_name="web")
    )


def a_job(template: PodTemplateSpec = TEMPLATE, **spec: typing.Any) -> Job:
    return Job(
        metadata=ObjectMeta(name="pi", namespace="default"),
        spec=JobSpec(template=template, **spec),
    )


def a_cron_job() -> CronJob:
    return CronJob(
        metadata=ObjectMeta(name="tick", namespace="default"),
        spec=CronJobSpec(
            schedule="*/5 * * * *", job_template=JobTemplateSpec(spec=JobSpec(template=TEMPLATE))
        ),
    )


def an_hpa(**spec: typing.Any) -> HorizontalPodAutoscaler:
    return HorizontalPodAutoscaler(
        metadata=META,
        spec=HorizontalPodAutoscalerSpec(
            scale_target_ref=CrossVersionObjectReference(
                kind="Deployment", name="web", api_version="apps/v1"
            ),
            max_replicas=10,
            **spec,
        ),
    )


EXAMPLES: tuple[Callable[[], ApiObject], ...] = (
    lambda: ReplicaSet(metadata=META, spec=ReplicaSetSpec(selector=SELECTOR, template=TEMPLATE)),
    a_deployment,
    a_daemon_set,
    a_stateful_set,
    a_job,
    a_cron_job,
    an_hpa,
    an_ingress,
    a_lease,
)
DEFAULTERS: tuple[Callable[[ApiObject], ApiObject], ...] = (
    apps.default,
    batch.default,
    autoscaling.default,
    networking.default,
    coordination.default,
)


def apply_all(obj: ApiObject) -> ApiObject:
    for d in DEFAULTERS:
        obj = d(obj)
    return obj


# ---------------------------------------------------------------- Deployment


def test_deployment_static_defaults_match_upstream() -> None:
    spec = a_deployment().spec
    assert (spec.replicas, spec.revision_history_limit, spec.progress_deadline_seconds) == (
        1,
        10,
        600,
    )
    assert (spec.min_ready_seconds, spec.paused) == (0, False)
    assert spec.strategy == DeploymentStrategy(type=DeploymentStrategyType.ROLLING_UPDATE)


def test_deployment_default_gives_rolling_update_25_percent_surge_and_unavailable() -> None:
    d = apps.default(a_deployment())
    assert isinstance(d, Deployment)
    assert d.spec.strategy == DeploymentStrategy(
        type=DeploymentStrategyType.ROLLING_UPDATE,
        rolling_update=RollingUpdateDeployment(max_unavailable="25%", max_surge="25%"),
    )


def test_deployment_default_keeps_the_rolling_parameters_the_user_gave() -> None:
    given = DeploymentStrategy(rolling_update=RollingUpdateDeployment(max_surge=0))
    d = apps.default(a_deployment(given))
    assert isinstance(d, Deployment)
    assert d.spec.strategy.rolling_update == RollingUpdateDeployment(
        max_unavailable="25%", max_surge=0
    )


def test_recreate_deployment_gets_no_rolling_update() -> None:
    recreate = DeploymentStrategy(type=DeploymentStrategyType.RECREATE)
    d = apps.default(a_deployment(recreate))
    assert isinstance(d, Deployment)
    assert d.spec.strategy == recreate


def test_deployment_default_defaults_the_pod_template() -> None:
    d = apps.default(a_deployment())
    assert isinstance(d, Deployment)
    assert d.spec.template == default_pod_template(TEMPLATE)
    assert d.spec.template.spec.containers[0].image_pull_policy is PullPolicy.IF_NOT_PRESENT


# ---------------------------------------------------------------- DaemonSet, StatefulSet


def test_daemon_set_rolling_update_defaults_to_one_unavailable_no_surge() -> None:
    ds = apps.default(a_daemon_set())
    assert isinstance(ds, DaemonSet)
    assert ds.spec.update_strategy == DaemonSetUpdateStrategy(
        type=DaemonSetUpdateStrategyType.ROLLING_UPDATE,
        rolling_update=RollingUpdateDaemonSet(max_unavailable=1, max_surge=0),
    )
    assert ds.spec.revision_history_limit == 10


def test_on_delete_daemon_set_gets_no_rolling_update() -> None:
    on_delete = DaemonSetUpdateStrategy(type=DaemonSetUpdateStrategyType.ON_DELETE)
    ds = apps.default(a_daemon_set(on_delete))
    assert isinstance(ds, DaemonSet)
    assert ds.spec.update_strategy == on_delete


def test_stateful_set_defaults_partition_zero_ordered_ready_and_retain() -> None:
    sts = apps.default(a_stateful_set())
    assert isinstance(sts, StatefulSet)
    spec = sts.spec
    assert spec.replicas == 1
    assert spec.revision_history_limit == 10
    assert spec.pod_management_policy is PodManagementPolicy.ORDERED_READY
    assert spec.update_strategy == StatefulSetUpdateStrategy(
        type=StatefulSetUpdateStrategyType.ROLLING_UPDATE,
        rolling_update=RollingUpdateStatefulSetStrategy(partition=0),
    )
    retain = PersistentVolumeClaimRetentionPolicyType.RETAIN
    assert spec.persistent_volume_claim_retention_policy == (
        StatefulSetPersistentVolumeClaimRetentionPolicy(when_deleted=retain, when_scaled=retain)
    )


def test_on_delete_stateful_set_gets_no_rolling_update() -> None:
    on_delete = StatefulSetUpdateStrategy(type=StatefulSetUpdateStrategyType.ON_DELETE)
    sts = a_stateful_set()
    sts = attrs.evolve(sts, spec=attrs.evolve(sts.spec, update_strategy=on_delete))
    out = apps.default(sts)
    assert isinstance(out, StatefulSet)
    assert out.spec.update_strategy == on_delete


def test_replica_set_defaults_one_replica_and_its_template() -> None:
    rs = apps.default(EXAMPLES[0]())
    assert isinstance(rs, ReplicaSet)
    assert rs.spec.replicas == 1
    assert rs.spec.template == default_pod_template(TEMPLATE)


# ---------------------------------------------------------------- Job


def test_job_with_neither_completions_nor_parallelism_gets_one_of_each() -> None:
    job = batch.default(a_job())
    assert isinstance(job, Job)
    s = job.spec
    assert (s.completions, s.parallelism, s.backoff_limit) == (1, 1, 6)
    assert s.completion_mode is CompletionMode.NON_INDEXED
    assert (s.suspend, s.manual_selector) == (False, False)
    assert s.pod_replacement_policy is PodReplacementPolicy.TERMINATING_OR_FAILED
    assert s.template == default_pod_template(TEMPLATE)


def test_work_queue_job_with_only_parallelism_keeps_completions_unset() -> None:
    job = batch.default(a_job(parallelism=5))
    assert isinstance(job, Job)
    assert (job.spec.completions, job.spec.parallelism) == (None, 5)


def test_job_with_only_completions_gets_parallelism_one() -> None:
    job = batch.default(a_job(completions=4))
    assert isinstance(job, Job)
    assert (job.spec.completions, job.spec.parallelism) == (4, 1)


def test_job_with_backoff_limit_per_index_has_no_global_backoff_limit() -> None:
    job = batch.default(a_job(backoff_limit_per_index=2, completion_mode=CompletionMode.INDEXED))
    assert isinstance(job, Job)
    assert job.spec.backoff_limit == batch.MAX_INT32 == 2147483647


def test_job_with_pod_failure_policy_replaces_only_failed_pods() -> None:
    policy = PodFailurePolicy(
        rules=(
            PodFailurePolicyRule(
                action=PodFailurePolicyAction.IGNORE,
                on_pod_conditions=(PodFailurePolicyOnPodConditionsPattern(type="DisruptionTarget"),),
            ),
        )
    )
    job = batch.default(a_job(pod_failure_policy=policy))
    assert isinstance(job, Job)
    assert job.spec.pod_replacement_policy is PodReplacementPolicy.FAILED
    assert policy.rules[0].on_pod_conditions[0].status is ConditionStatus.TRUE


def test_job_without_labels_takes_its_template_labels() -> None:
    job = batch.default(a_job())
    assert isinstance(job, Job)
    assert job.metadata.labels == LABELS


def test_job_keeps_its_own_labels() -> None:
    own = pmap({"team": "a"})
    job = a_job()
    job = attrs.evolve(job, metadata=attrs.evolve(job.metadata, labels=own))
    out = batch.default(job)
    assert isinstance(out, Job)
    assert out.metadata.labels == own


def test_job_without_uid_gets_no_generated_selector() -> None:
    job = batch.default(a_job())
    assert isinstance(job, Job)
    assert job.spec.selector is None
    assert job.spec.template.metadata.labels == LABELS


def test_generated_selector_matches_the_controller_uid_label_stamped_on_the_template() -> None:
    job = a_job()
    job = attrs.evolve(job, metadata=attrs.evolve(job.metadata, uid="u-1"))
    out = batch.generate_selector(job)
    assert out.spec.selector == LabelSelector(
        match_labels=pmap({"batch.kubernetes.io/controller-uid": "u-1"})
    )
    assert out.spec.template.metadata.labels == pmap(
        {
            "app": "web",
            "job-name": "pi",
            "batch.kubernetes.io/job-name": "pi",
            "controller-uid": "u-1",
            "batch.kubernetes.io/controller-uid": "u-1",
        }
    )
    defaulted = batch.default(job)
    assert isinstance(defaulted, Job)
    assert defaulted.spec.selector == out.spec.selector
    assert defaulted.spec.template.metadata.labels == out.spec.template.metadata.labels
    assert defaulted.metadata.labels == LABELS  # taken from the template before stamping


def test_generate_selector_keeps_a_conflicting_user_label_for_validation_to_reject() -> None:
    labels = LABELS.set("batch.kubernetes.io/controller-uid", "other")
    job = a_job(template=attrs.evolve(TEMPLATE, metadata=ObjectMeta(labels=labels)))
    job = attrs.evolve(job, metadata=attrs.evolve(job.metadata, uid="u-1"))
    out = batch.generate_selector(job)
    assert out.spec.template.metadata.labels["batch.kubernetes.io/controller-uid"] == "other"
    assert out.spec.selector is not None
    assert out.spec.selector.match_labels["batch.kubernetes.io/controller-uid"] == "u-1"


def test_manual_selector_job_is_left_alone_by_generate_selector() -> None:
    job = a_job(manual_selector=True, selector=SELECTOR)
    job = attrs.evolve(job, metadata=attrs.evolve(job.metadata, uid="u-1"))
    assert batch.generate_selector(job) == job


# ---------------------------------------------------------------- CronJob


def test_cron_job_defaults_history_limits_concurrency_and_job_template() -> None:
    cj = batch.default(a_cron_job())
    assert isinstance(cj, CronJob)
    s = cj.spec
    assert (s.successful_jobs_history_limit, s.failed_jobs_history_limit) == (3, 1)
    assert s.concurrency_policy is ConcurrencyPolicy.ALLOW
    assert s.suspend is False
    jt = s.job_template.spec
    assert (jt.completions, jt.parallelism, jt.backoff_limit) == (1, 1, 6)
    assert jt.template == default_pod_template(TEMPLATE)


# ---------------------------------------------------------------- HPA


def test_hpa_without_metrics_targets_80_percent_cpu() -> None:
    hpa = autoscaling.default(an_hpa())
    assert isinstance(hpa, HorizontalPodAutoscaler)
    assert hpa.spec.min_replicas == 1
    assert hpa.spec.metrics == (
        MetricSpec(
            type=MetricSourceType.RESOURCE,
            resource=ResourceMetricSource(
                name="cpu",
                target=MetricTarget(type=MetricTargetType.UTILIZATION, average_utilization=80),
            ),
        ),
    )
    assert hpa.spec.behavior is None


def test_hpa_keeps_the_metrics_it_was_given() -> None:
    memory = MetricSpec(
        type=MetricSourceType.RESOURCE,
        resource=ResourceMetricSource(
            name="memory",
            target=MetricTarget(
                type=MetricTargetType.AVERAGE_VALUE, average_value=parse_quantity("512Mi")
            ),
        ),
    )
    hpa = autoscaling.default(an_hpa(metrics=(memory,)))
    assert isinstance(hpa, HorizontalPodAutoscaler)
    assert hpa.spec.metrics == (memory,)


def test_hpa_behavior_is_filled_field_by_field_from_upstream_defaults() -> None:
    behavior = HorizontalPodAutoscalerBehavior(
        scale_down=HPAScalingRules(stabilization_window_seconds=60)
    )
    hpa = autoscaling.default(an_hpa(behavior=behavior))
    assert isinstance(hpa, HorizontalPodAutoscaler)
    percent_100 = HPAScalingPolicy(type=HPAScalingPolicyType.PERCENT, value=100, period_seconds=15)
    assert hpa.spec.behavior == HorizontalPodAutoscalerBehavior(
        scale_up=HPAScalingRules(
            stabilization_window_seconds=0,
            select_policy=ScalingPolicySelect.MAX,
            policies=(
                HPAScalingPolicy(type=HPAScalingPolicyType.PODS, value=4, period_seconds=15),
                percent_100,
            ),
        ),
        scale_down=HPAScalingRules(
            stabilization_window_seconds=60,
            select_policy=ScalingPolicySelect.MAX,
            policies=(percent_100,),
        ),
    )


def test_hpa_empty_behavior_leaves_the_scale_down_window_to_the_controller() -> None:
    hpa = autoscaling.default(an_hpa(behavior=HorizontalPodAutoscalerBehavior()))
    assert isinstance(hpa, HorizontalPodAutoscaler)
    assert hpa.spec.behavior is not None
    assert hpa.spec.behavior.scale_down == autoscaling.DEFAULT_SCALE_DOWN_RULES
    assert hpa.spec.behavior.scale_down.stabilization_window_seconds is None


# ---------------------------------------------------------------- every kind


@pytest.mark.parametrize("make", EXAMPLES)
def test_defaulting_is_idempotent(make: Callable[[], ApiObject]) -> None:
    once = apply_all(make())
    assert apply_all(once) == once


@pytest.mark.parametrize("make", EXAMPLES)
def test_each_group_default_returns_foreign_kinds_unchanged(make: Callable[[], ApiObject]) -> None:
    obj = make()
    own = {
        Kind.REPLICA_SET: apps.default,
        Kind.DEPLOYMENT: apps.default,
        Kind.DAEMON_SET: apps.default,
        Kind.STATEFUL_SET: apps.default,
        Kind.JOB: batch.default,
        Kind.CRON_JOB: batch.default,
        Kind.HORIZONTAL_POD_AUTOSCALER: autoscaling.default,
    }.get(obj.KIND)
    for d in DEFAULTERS:
        if d is not own:
            assert d(obj) is obj


@pytest.mark.parametrize("make", EXAMPLES)
def test_objects_are_values(make: Callable[[], ApiObject]) -> None:
    a, b = make(), make()
    assert a == b
    assert hash(a) == hash(b)
    assert len({a, b}) == 1
    renamed = attrs.evolve(a, metadata=attrs.evolve(a.metadata, name="other"))  # type: ignore[misc]  # ApiObject is a Protocol; every example is an attrs class
    assert renamed != a
    assert renamed.metadata.name == "other"
    assert a == b  # evolve built a new value; the original is untouched
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        a.metadata = ObjectMeta()  # type: ignore[misc]  # proving the class is frozen


def test_kinds_are_declared() -> None:
    kinds = [make().KIND for make in EXAMPLES]
    assert kinds == [
        Kind.REPLICA_SET,
        Kind.DEPLOYMENT,
        Kind.DAEMON_SET,
        Kind.STATEFUL_SET,
        Kind.JOB,
        Kind.CRON_JOB,
        Kind.HORIZONTAL_POD_AUTOSCALER,
        Kind.INGRESS,
        Kind.LEASE,
    ]


def test_lease_times_are_micro_time() -> None:
    hints = typing.get_type_hints(LeaseSpec)
    assert hints["renew_time"] == MicroTime | None
    assert hints["acquire_time"] == MicroTime | None


# ---------------------------------------------------------------- codec conventions


_SCALARS: tuple[object, ...] = (str, int, float, bool, bytes, Time, MicroTime, Quantity)


def _check_hint(hint: object, where: str, seen: set[type], out: list[str]) -> None:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint in _SCALARS:
        return
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return
    if isinstance(hint, type) and attrs.has(hint):
        _check_class(hint, seen, out)
        return
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            _check_hint(args[0], where, seen, out)
        else:
            out.append(f"{where}: a list is tuple[T, ...]")
        return
    if origin is PMap:
        if args[0] is not str:
            out.append(f"{where}: a map's keys are str")
        _check_hint(args[1], where, seen, out)
        return
    if origin in (typing.Union, types.UnionType):
        if set(args) == {int, str}:
            return
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            _check_hint(rest[0], where, seen, out)
        elif set(rest) != {int, str}:
            out.append(f"{where}: a union is T | None or int | str")
        return
    out.append(f"{where}: type {hint!r} is outside the codec's conventions")


def _check_class(cls: type, seen: set[type], out: list[str]) -> None:
    if cls in seen:
        return
    seen.add(cls)
    hints = typing.get_type_hints(cls)
    for field in attrs.fields(cls):
        hint = hints[field.name]
        where = f"{cls.__name__}.{field.name}"
        _check_hint(hint, where, seen, out)
        optional = typing.get_origin(hint) in (typing.Union, types.UnionType) and type(
            None
        ) in typing.get_args(hint)
        if optional and field.default is not None:
            out.append(f"{where}: an optional field defaults to None")
        if typing.get_origin(hint) is tuple and field.default != ():
            out.append(f"{where}: a list defaults to ()")


def codec_violations(cls: type) -> list[str]:
    """Every field, in `cls` and the classes it holds, whose type or default breaks the
    codec's conventions."""
    out: list[str] = []
    _check_class(cls, set(), out)
    return out


@pytest.mark.parametrize("make", EXAMPLES)
def test_every_field_type_follows_the_codec_conventions(make: Callable[[], ApiObject]) -> None:
    cls: type = type(make())
    assert codec_violations(cls) == []
    assert attrs.fields_dict(cls)["metadata"].default == ObjectMeta()


@attrs.frozen(kw_only=True)
class _OffConvention:
    names: list[str] = attrs.field(factory=list)
    maybe: int | None = 0
    many: tuple[int, str] = (0, "")


def test_the_codec_conventions_name_every_field_that_breaks_them() -> None:
    assert codec_violations(_OffConvention) == [
        "_OffConvention.names: type list[str] is outside the codec's conventions",
        "_OffConvention.maybe: an optional field defaults to None",
        "_OffConvention.many: a list is tuple[T, ...]",
        "_OffConvention.many: a list defaults to ()",
    ]
