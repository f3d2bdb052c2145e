"""The autoscaling/v2 group: HorizontalPodAutoscaler.

Owns the frozen value classes of the HPA (metric sources and targets, metric statuses,
scaling behavior, conditions) and `default`, its context-dependent defaulting.

Rules (see kcore/api/meta.py for the conventions the codec reads): a Go pointer field is
`X | None = None` except `minReplicas`, which upstream always defaults to 1; a metric is
a discriminated union expressed as `type` plus one optional source field, as on the wire;
`default` is idempotent and returns other kinds unchanged.

Upstream defaulting (pkg/apis/autoscaling/v2/defaults.go), reproduced by `default`:
- no metrics: one Resource metric, cpu at averageUtilization 80;
- a behavior that is present gets both rule sets filled field by field: scaleUp
  stabilization 0, selectPolicy Max, policies Pods 4 / 15s and Percent 100 / 15s;
  scaleDown selectPolicy Max, policies Percent 100 / 15s and *no* stabilization window,
  because the controller's --horizontal-pod-autoscaler-downscale-stabilization flag
  (default 300s) supplies it. An absent behavior stays absent (the controller then
  behaves as with the defaults). Alpha fields (tolerance, selectionStrategy) are not
  modelled.

Mirrors k8s.io/api/autoscaling/v2/types.go.
"""


from __future__ import annotations

import enum
from typing import ClassVar, Final

import attrs

from kcore.api.kinds import Kind
from kcore.api.meta import ApiObject, ConditionStatus, ObjectMeta, Time, wire
from kcore.api.pod import RESOURCE_CPU, LabelSelector
from kcore.quantity import Quantity

DEFAULT_CPU_UTILIZATION: Final = 80
DEFAULT_DOWNSCALE_STABILIZATION_SECONDS: Final = 300
"""Not written into objects: the controller's flag default for a nil scaleDown window."""


class MetricSourceType(enum.Enum):
    OBJECT = "Object"
    PODS = "Pods"
    RESOURCE = "Resource"
    CONTAINER_RESOURCE = "ContainerResource"
    EXTERNAL = "External"


class MetricTargetType(enum.Enum):
    UTILIZATION = "Utilization"
    VALUE = "Value"
    AVERAGE_VALUE = "AverageValue"


class ScalingPolicySelect(enum.Enum):
    MAX = "Max"
    MIN = "Min"
    DISABLED = "Disabled"


class HPAScalingPolicyType(enum.Enum):
    PODS = "Pods"
    PERCENT = "Percent"


class HorizontalPodAutoscalerConditionType(enum.Enum):
    SCALING_ACTIVE = "ScalingActive"
    ABLE_TO_SCALE = "AbleToScale"
    SCALING_LIMITED = "ScalingLimited"


@attrs.frozen(kw_only=True)
class CrossVersionObjectReference:
    kind: str
    name: str
    api_version: str = ""


# ---------------------------------------------------------------- metric specs


@attrs.frozen(kw_only=True)
class MetricIdentifier:
    name: str
    selector: LabelSelector | None = None


@attrs.frozen(kw_only=True)
class MetricTarget:
    type: MetricTargetType
    value: Quantity | None = None
    average_value: Quantity | None = None
    average_utilization: int | None = None


@attrs.frozen(kw_only=True)
class ObjectMetricSource:
    described_object: CrossVersionObjectReference
    target: MetricTarget
    metric: MetricIdentifier


@attrs.frozen(kw_only=True)
class PodsMetricSource:
    metric: MetricIdentifier
    target: MetricTarget


@attrs.frozen(kw_only=True)
class ResourceMetricSource:
    name: str  # a resource name: "cpu", "memory", ...
    target: MetricTarget


@attrs.frozen(kw_only=True)
class ContainerResourceMetricSource:
    name: str
    target: MetricTarget
    container: str


@attrs.frozen(kw_only=True)
class ExternalMetricSource:
    metric: MetricIdentifier
    target: MetricTarget


@attrs.frozen(kw_only=True)
class MetricSpec:
    """One metric; the source field named by `type` is the one that is set."""

    type: MetricSourceType
    object: ObjectMetricSource | None = None
    pods: PodsMetricSource | None = None
    resource: ResourceMetricSource | None = None
    container_resource: ContainerResourceMetricSource | None = None
    external: ExternalMetricSource | None = None


# ---------------------------------------------------------------- behavior


@attrs.frozen(kw_only=True)
class HPAScalingPolicy:
    type: HPAScalingPolicyType
    value: int
    period_seconds: int


@attrs.frozen(kw_only=True)
class HPAScalingRules:
    stabilization_window_seconds: int | None = None
    select_policy: ScalingPolicySelect | None = None
    policies: tuple[HPAScalingPolicy, ...] = ()


@attrs.frozen(kw_only=True)
class HorizontalPodAutoscalerBehavior:
    scale_up: HPAScalingRules | None = None
    scale_down: HPAScalingRules | None = None


@attrs.frozen(kw_only=True)
class HorizontalPodAutoscalerSpec:
    scale_target_ref: CrossVersionObjectReference
    min_replicas: int = 1
    max_replicas: int
    metrics: tuple[MetricSpec, ...] = ()
    behavior: HorizontalPodAutoscalerBehavior | None = None


# ---------------------------------------------------------------- status


@attrs.frozen(kw_only=True)
class MetricValueStatus:
    value: Quantity | None = None
    average_value: Quantity | None = None
    average_utilization: int | None = None


@attrs.frozen(kw_only=True)
class ObjectMetricStatus:
    metric: MetricIdentifier
    current: MetricValueStatus
    described_object: CrossVersionObjectReference


@attrs.frozen(kw_only=True)
class PodsMetricStatus:
    metric: MetricIdentifier
    current: MetricValueStatus


@attrs.frozen(kw_only=True)
class ResourceMetricStatus:
    name: str
    current: MetricValueStatus


@attrs.frozen(kw_only=True)
class ContainerResourceMetricStatus:
    name: str
    current: MetricValueStatus
    container: str


@attrs.frozen(kw_only=True)
class ExternalMetricStatus:
    metric: MetricIdentifier
    current: MetricValueStatus


@attrs.frozen(kw_only=True)
class MetricStatus:
    type: MetricSourceType
    object: ObjectMetricStatus | None = None
    pods: PodsMetricStatus | None = None
    resource: ResourceMetricStatus | None = None
    container_resource: ContainerResourceMetricStatus | None = None
    external: ExternalMetricStatus | None = None


@attrs.frozen(kw_only=True)
class HorizontalPodAutoscalerCondition:
    type: HorizontalPodAutoscalerConditionType
    status: ConditionStatus
    last_transition_time: Time | None = None
    reason: str = ""
    message: str = ""


@attrs.frozen(kw_only=True)
class HorizontalPodAutoscalerStatus:
    observed_generation: int | None = None
    last_scale_time: Time | None = None
    current_replicas: int = 0
    desired_replicas: int = attrs.field(default=0, metadata=wire(always=True))
    current_metrics: tuple[MetricStatus, ...] = ()
    conditions: tuple[HorizontalPodAutoscalerCondition, ...] = ()


@attrs.frozen(kw_only=True)
class HorizontalPodAutoscaler:
    KIND: ClassVar[Kind] = Kind.HORIZONTAL_POD_AUTOSCALER
    metadata: ObjectMeta = ObjectMeta()
    spec: HorizontalPodAutoscalerSpec
    status: HorizontalPodAutoscalerStatus = HorizontalPodAutoscalerStatus()


# ---------------------------------------------------------------- defaulting

DEFAULT_METRIC: Final = MetricSpec(
    type=MetricSourceType.RESOURCE,
    resource=ResourceMetricSource(
        name=RESOURCE_CPU,
        target=MetricTarget(
            type=MetricTargetType.UTILIZATION, average_utilization=DEFAULT_CPU_UTILIZATION
        ),
    ),
)

DEFAULT_SCALE_UP_RULES: Final = HPAScalingRules(
    stabilization_window_seconds=0,
    select_policy=ScalingPolicySelect.MAX,
    policies=(
        HPAScalingPolicy(type=HPAScalingPolicyType.PODS, value=4, period_seconds=15),
        HPAScalingPolicy(type=HPAScalingPolicyType.PERCENT, value=100, period_seconds=15),
    ),
)

DEFAULT_SCALE_DOWN_RULES: Final = HPAScalingRules(
    stabilization_window_seconds=None,
    select_policy=ScalingPolicySelect.MAX,
    policies=(
        HPAScalingPolicy(type=HPAScalingPolicyType.PERCENT, value=100, period_seconds=15),
    ),
)


def default(obj: ApiObject) -> ApiObject:
    """Apply autoscaling/v2 context-dependent defaults; other kinds are returned unchanged."""
    match obj:
        case HorizontalPodAutoscaler():
            spec = obj.spec
            metrics = spec.metrics or (DEFAULT_METRIC,)
            behavior = spec.behavior
            if behavior is not None:
                behavior = HorizontalPodAutoscalerBehavior(
                    scale_up=_fill_rules(behavior.scale_up, DEFAULT_SCALE_UP_RULES),
                    scale_down=_fill_rules(behavior.scale_down, DEFAULT_SCALE_DOWN_RULES),
                )
            spec = attrs.evolve(spec, metrics=metrics, behavior=behavior)
            return attrs.evolve(obj, spec=spec)
        case _:
            return obj


def _fill_rules(given: HPAScalingRules | None, defaults: HPAScalingRules) -> HPAScalingRules:
    """copyHPAScalingRules: every field the user set wins over the default."""
    if given is None:
        return defaults
    return HPAScalingRules(
        stabilization_window_seconds=(
            defaults.stabilization_window_seconds
            if given.stabilization_window_seconds is None
            else given.stabilization_window_seconds
        ),
        select_policy=given.select_policy or defaults.select_policy,
        # Upstream keeps an explicit `policies: []` (validation then rejects it); a tuple
        # cannot tell empty from unset, so kcore defaults both.
        policies=given.policies or defaults.policies,
    )
