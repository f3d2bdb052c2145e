"""The apps/v1 group: ReplicaSet, Deployment, DaemonSet, StatefulSet.

Owns the frozen value classes of these kinds (spec, status, strategies, conditions) and
`default`, their context-dependent defaulting. Static defaults are attrs defaults.

Rules (see kcore/api/meta.py for the conventions the codec reads):
- a Go pointer field is `X | None = None`, unless upstream defaulting always sets it
  (`replicas`, `revisionHistoryLimit`, `progressDeadlineSeconds`, ...): such a field is a
  plain scalar whose attrs default is the upstream default, so a stored object never
  holds "unset";
- defaulting that depends on other fields (rolling-update parameters only for the
  RollingUpdate strategy type, pod template defaults) lives in `default`, which is
  idempotent and returns other kinds unchanged.

Knows nothing of controllers, validation or the codec.

Mirrors k8s.io/api/apps/v1/types.go and pkg/apis/apps/v1/defaults.go. One simplification:
upstream gives a StatefulSet `rollingUpdate: {partition: 0}` only when the strategy type
was defaulted; kcore gives it whenever the type is RollingUpdate (a nil rolling update and
partition 0 mean the same thing to the controller).
"""


from __future__ import annotations

import enum
from typing import ClassVar, Final

import attrs

from kcore.api.core import PersistentVolumeClaim
from kcore.api.kinds import Kind
from kcore.api.meta import ApiObject, ConditionStatus, ObjectMeta, Time, wire
from kcore.api.pod import LabelSelector, PodTemplateSpec
from kcore.api.pod_defaults import default_pod_template

DEFAULT_REVISION_HISTORY_LIMIT: Final = 10
DEFAULT_PROGRESS_DEADLINE_SECONDS: Final = 600
DEFAULT_DEPLOYMENT_MAX_UNAVAILABLE: Final = "25%"
DEFAULT_DEPLOYMENT_MAX_SURGE: Final = "25%"
DEFAULT_DAEMON_SET_MAX_UNAVAILABLE: Final = 1
DEFAULT_DAEMON_SET_MAX_SURGE: Final = 0


# ---------------------------------------------------------------- ReplicaSet


class ReplicaSetConditionType(enum.Enum):
    REPLICA_FAILURE = "ReplicaFailure"


@attrs.frozen(kw_only=True)
class ReplicaSetCondition:
    type: ReplicaSetConditionType
    status: ConditionStatus
    last_transition_time: Time | None = None
    reason: str = ""
    message: str = ""


@attrs.frozen(kw_only=True)
class ReplicaSetSpec:
    replicas: int = 1
    min_ready_seconds: int = 0
    selector: LabelSelector
    template: PodTemplateSpec = PodTemplateSpec()


@attrs.frozen(kw_only=True)
class ReplicaSetStatus:
    replicas: int = attrs.field(default=0, metadata=wire(always=True))
    fully_labeled_replicas: int = 0
    ready_replicas: int = 0
    available_replicas: int = 0
    observed_generation: int = 0
    conditions: tuple[ReplicaSetCondition, ...] = ()


@attrs.frozen(kw_only=True)
class ReplicaSet:
    KIND: ClassVar[Kind] = Kind.REPLICA_SET
    metadata: ObjectMeta = ObjectMeta()
    spec: ReplicaSetSpec
    status: ReplicaSetStatus = ReplicaSetStatus()


# ---------------------------------------------------------------- Deployment


class DeploymentStrategyType(enum.Enum):
    ROLLING_UPDATE = "RollingUpdate"
    RECREATE = "Recreate"


@attrs.frozen(kw_only=True)
class RollingUpdateDeployment:
    """Either an absolute number or a percentage ("25%") of the desired replicas."""

    max_unavailable: int | str | None = None
    max_surge: int | str | None = None


@attrs.frozen(kw_only=True)
class DeploymentStrategy:
    type: DeploymentStrategyType = DeploymentStrategyType.ROLLING_UPDATE
    rolling_update: RollingUpdateDeployment | None = None


class DeploymentConditionType(enum.Enum):
    AVAILABLE = "Available"
    PROGRESSING = "Progressing"
    REPLICA_FAILURE = "ReplicaFailure"


@attrs.frozen(kw_only=True)
class DeploymentCondition:
    type: DeploymentConditionType
    status: ConditionStatus
    last_update_time: Time | None = None
    last_transition_time: Time | None = None
    reason: str = ""
    message: str = ""


@attrs.frozen(kw_only=True)
class DeploymentSpec:
    replicas: int = 1
    selector: LabelSelector
    template: PodTemplateSpec = PodTemplateSpec()
    strategy: DeploymentStrategy = DeploymentStrategy()
    min_ready_seconds: int = 0
    revision_history_limit: int = DEFAULT_REVISION_HISTORY_LIMIT
    paused: bool = False
    progress_deadline_seconds: int = DEFAULT_PROGRESS_DEADLINE_SECONDS


@attrs.frozen(kw_only=True)
class DeploymentStatus:
    observed_generation: int = 0
    replicas: int = 0
    updated_replicas: int = 0
    ready_replicas: int = 0
    available_replicas: int = 0
    unavailable_replicas: int = 0
    conditions: tuple[DeploymentCondition, ...] = ()
    collision_count: int | None = None


@attrs.frozen(kw_only=True)
class Deployment:
    KIND: ClassVar[Kind] = Kind.DEPLOYMENT
    metadata: ObjectMeta = ObjectMeta()
    spec: DeploymentSpec
    status: DeploymentStatus = DeploymentStatus()


# ---------------------------------------------------------------- DaemonSet


class DaemonSetUpdateStrategyType(enum.Enum):
    ROLLING_UPDATE = "RollingUpdate"
    ON_DELETE = "OnDelete"


@attrs.frozen(kw_only=True)
class RollingUpdateDaemonSet:
    max_unavailable: int | str | None = None
    max_surge: int | str | None = None


@attrs.frozen(kw_only=True)
class DaemonSetUpdateStrategy:
    type: DaemonSetUpdateStrategyType = DaemonSetUpdateStrategyType.ROLLING_UPDATE
    rolling_update: RollingUpdateDaemonSet | None = None


@attrs.frozen(kw_only=True)
class DaemonSetCondition:
    """Upstream declares no DaemonSetConditionType constants, so `type` stays open."""

    type: str
    status: ConditionStatus
    last_transition_time: Time | None = None
    reason: str = ""
    message: str = ""


@attrs.frozen(kw_only=True)
class DaemonSetSpec:
    selector: LabelSelector
    template: PodTemplateSpec = PodTemplateSpec()
    update_strategy: DaemonSetUpdateStrategy = DaemonSetUpdateStrategy()
    min_ready_seconds: int = 0
    revision_history_limit: int = DEFAULT_REVISION_HISTORY_LIMIT


@attrs.frozen(kw_only=True)
class DaemonSetStatus:
    current_number_scheduled: int = attrs.field(default=0, metadata=wire(always=True))
    number_misscheduled: int = attrs.field(default=0, metadata=wire(always=True))
    desired_number_scheduled: int = attrs.field(default=0, metadata=wire(always=True))
    number_ready: int = attrs.field(default=0, metadata=wire(always=True))
    observed_generation: int = 0
    updated_number_scheduled: int = 0
    number_available: int = 0
    number_unavailable: int = 0
    collision_count: int | None = None
    conditions: tuple[DaemonSetCondition, ...] = ()


@attrs.frozen(kw_only=True)
class DaemonSet:
    KIND: ClassVar[Kind] = Kind.DAEMON_SET
    metadata: ObjectMeta = ObjectMeta()
    spec: DaemonSetSpec
    status: DaemonSetStatus = DaemonSetStatus()


# ---------------------------------------------------------------- StatefulSet


class PodManagementPolicy(enum.Enum):
    ORDERED_READY = "OrderedReady"
    PARALLEL = "Parallel"


class StatefulSetUpdateStrategyType(enum.Enum):
    ROLLING_UPDATE = "RollingUpdate"
    ON_DELETE = "OnDelete"


@attrs.frozen(kw_only=True)
class RollingUpdateStatefulSetStrategy:
    partition: int = 0
    max_unavailable: int | str | None = None


@attrs.frozen(kw_only=True)
class StatefulSetUpdateStrategy:
    type: StatefulSetUpdateStrategyType = StatefulSetUpdateStrategyType.ROLLING_UPDATE
    rolling_update: RollingUpdateStatefulSetStrategy | None = None


class PersistentVolumeClaimRetentionPolicyType(enum.Enum):
    RETAIN = "Retain"
    DELETE = "Delete"


@attrs.frozen(kw_only=True)
class StatefulSetPersistentVolumeClaimRetentionPolicy:
    when_deleted: PersistentVolumeClaimRetentionPolicyType = (
        PersistentVolumeClaimRetentionPolicyType.RETAIN
    )
    when_scaled: PersistentVolumeClaimRetentionPolicyType = (
        PersistentVolumeClaimRetentionPolicyType.RETAIN
    )


@attrs.frozen(kw_only=True)
class StatefulSetOrdinals:
    start: int = 0


@attrs.frozen(kw_only=True)
class StatefulSetCondition:
    """Upstream declares no StatefulSetConditionType constants, so `type` stays open."""

    type: str
    status: ConditionStatus
    last_transition_time: Time | None = None
    reason: str = ""
    message: str = ""


@attrs.frozen(kw_only=True)
class StatefulSetSpec:
    replicas: int = 1
    selector: LabelSelector
    template: PodTemplateSpec = PodTemplateSpec()
    volume_claim_templates: tuple[PersistentVolumeClaim, ...] = ()
    service_name: str = ""
    pod_management_policy: PodManagementPolicy = PodManagementPolicy.ORDERED_READY
    update_strategy: StatefulSetUpdateStrategy = StatefulSetUpdateStrategy()
    revision_history_limit: int = DEFAULT_REVISION_HISTORY_LIMIT
    min_ready_seconds: int = 0
    persistent_volume_claim_retention_policy: (
        StatefulSetPersistentVolumeClaimRetentionPolicy | None
    ) = None
    ordinals: StatefulSetOrdinals | None = None


@attrs.frozen(kw_only=True)
class StatefulSetStatus:
    observed_generation: int = 0
    replicas: int = attrs.field(default=0, metadata=wire(always=True))
    ready_replicas: int = 0
    current_replicas: int = 0
    updated_replicas: int = 0
    current_revision: str = ""
    update_revision: str = ""
    collision_count: int | None = None
    conditions: tuple[StatefulSetCondition, ...] = ()
    available_replicas: int = 0


@attrs.frozen(kw_only=True)
class StatefulSet:
    KIND: ClassVar[Kind] = Kind.STATEFUL_SET
    metadata: ObjectMeta = ObjectMeta()
    spec: StatefulSetSpec
    status: StatefulSetStatus = StatefulSetStatus()


# ---------------------------------------------------------------- defaulting


def default(obj: ApiObject) -> ApiObject:
    """Apply apps/v1 context-dependent defaults; other kinds are returned unchanged."""
    match obj:
        case ReplicaSet():
            return _default_replica_set(obj)
        case Deployment():
            return _default_deployment(obj)
        case DaemonSet():
            return _default_daemon_set(obj)
        case StatefulSet():
            return _default_stateful_set(obj)
        case _:
            return obj


def _default_replica_set(rs: ReplicaSet) -> ReplicaSet:
    spec = attrs.evolve(rs.spec, template=default_pod_template(rs.spec.template))
    return attrs.evolve(rs, spec=spec)


def _default_deployment(d: Deployment) -> Deployment:
    strategy = d.spec.strategy
    # pkg/apis/apps/v1/defaults.go: the 25%/25% parameters exist only for RollingUpdate;
    # a Recreate deployment carrying them is rejected by validation, not cleared here.
    if strategy.type is DeploymentStrategyType.ROLLING_UPDATE:
        ru = strategy.rolling_update or RollingUpdateDeployment()
        ru = RollingUpdateDeployment(
            max_unavailable=_or(ru.max_unavailable, DEFAULT_DEPLOYMENT_MAX_UNAVAILABLE),
            max_surge=_or(ru.max_surge, DEFAULT_DEPLOYMENT_MAX_SURGE),
        )
        strategy = attrs.evolve(strategy, rolling_update=ru)
    spec = attrs.evolve(
        d.spec, strategy=strategy, template=default_pod_template(d.spec.template)
    )
    return attrs.evolve(d, spec=spec)


def _default_daemon_set(ds: DaemonSet) -> DaemonSet:
    strategy = ds.spec.update_strategy
    if strategy.type is DaemonSetUpdateStrategyType.ROLLING_UPDATE:
        ru = strategy.rolling_update or RollingUpdateDaemonSet()
        ru = RollingUpdateDaemonSet(
            max_unavailable=_or(ru.max_unavailable, DEFAULT_DAEMON_SET_MAX_UNAVAILABLE),
            max_surge=_or(ru.max_surge, DEFAULT_DAEMON_SET_MAX_SURGE),
        )
        strategy = attrs.evolve(strategy, rolling_update=ru)
    spec = attrs.evolve(
        ds.spec, update_strategy=strategy, template=default_pod_template(ds.spec.template)
    )
    return attrs.evolve(ds, spec=spec)


def _default_stateful_set(sts: StatefulSet) -> StatefulSet:
    spec = sts.spec
    strategy = spec.update_strategy
    if (
        strategy.type is StatefulSetUpdateStrategyType.ROLLING_UPDATE
        and strategy.rolling_update is None
    ):
        strategy = attrs.evolve(strategy, rolling_update=RollingUpdateStatefulSetStrategy())
    retention = (
        spec.persistent_volume_claim_retention_policy
        or StatefulSetPersistentVolumeClaimRetentionPolicy()
    )
    spec = attrs.evolve(
        spec,
        update_strategy=strategy,
        persistent_volume_claim_retention_policy=retention,
        template=default_pod_template(spec.template),
    )
    return attrs.evolve(sts, spec=spec)


def _or(value: int | str | None, fallback: int | str) -> int | str:
    return fallback if value is None else value
