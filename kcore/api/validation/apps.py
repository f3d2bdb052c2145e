"""Validation of the apps/v1 kinds: ReplicaSet, Deployment, DaemonSet, StatefulSet.

Owns `validate_<kind>` (create) and `validate_<kind>_update`. Every workload needs a
non-empty selector that matches its template's labels, a template whose restartPolicy is
Always, and (apps/v1) a selector that never changes after creation.

Rules: pure; errors in upstream's order and wording.

Mirrors pkg/apis/apps/validation/validation.go and the apps/v1 selector immutability of
pkg/registry/apps/*/strategy.go (ValidateUpdate).
"""

from __future__ import annotations

from typing import Final

import attrs

from kcore.api.apps import (
    DaemonSet,
    DaemonSetUpdateStrategyType,
    Deployment,
    DeploymentStrategy,
    DeploymentStrategyType,
    ReplicaSet,
    StatefulSet,
    StatefulSetUpdateStrategyType,
)
from kcore.api.pod import LabelSelector, PodTemplateSpec
from kcore.api.validation.core import template_restart_always
from kcore.api.validation.meta import (
    Errors,
    NameRule,
    go_label_selector,
    immutable_selector,
    invalid_rendered,
    non_negative,
    selector_is_empty,
    selector_matches,
    selector_mismatch,
    validate_label_selector,
    validate_object_meta,
    validate_object_meta_update,
)
from kcore.api.validation.pod import validate_pod_template
from kcore.intstr import (
    int_value,
    validate_not_more_than_100_percent,
    validate_positive_int_or_percent,
)
from kcore.util_validation import (
    FieldError,
    child,
    forbidden,
    invalid,
    is_dns1035_label,
    required,
)

STATEFUL_SET_FORBIDDEN: Final = (
    "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
    "'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"
)


def _selector_and_template(
    selector: LabelSelector,
    template: PodTemplateSpec,
    what: str,
    kind_name: str,
    claim_names: frozenset[str] = frozenset(),
) -> Errors:
    """The shared part: a valid non-empty selector that matches a valid template."""
    errors: list[FieldError] = list(validate_label_selector(selector, "spec.selector"))
    if selector_is_empty(selector):
        errors.append(
            invalid_rendered(
                "spec.selector",
                go_label_selector(selector),
                f"empty selector is invalid for {what}",
            )
        )
    elif selector_matches(selector, template.metadata.labels) is False:
        errors.append(selector_mismatch(template.metadata.labels, "spec.template.metadata.labels"))
    errors.extend(validate_pod_template(template, "spec.template", claim_names))
    errors.extend(
        template_restart_always(template.spec.restart_policy, "spec.template.spec.restartPolicy")
    )
    if template.spec.active_deadline_seconds is not None:
        errors.append(
            forbidden(
                "spec.template.spec.activeDeadlineSeconds",
                f"activeDeadlineSeconds in {kind_name} is not Supported",
            )
        )
    return tuple(errors)


def _is_zero(value: int | str | None) -> bool:
    # getIntOrPercentValue: "0%" and 0 are both zero.
    if value is None:
        return True
    if isinstance(value, str):
        return int_value(value.removesuffix("%")) == 0
    return value == 0


# ---- ReplicaSet ---------------------------------------------------------------------


def validate_replica_set(rs: ReplicaSet) -> Errors:
    spec = rs.spec
    return (
        *validate_object_meta(rs.metadata, namespaced=True, rule=NameRule.DNS1123_SUBDOMAIN),
        *non_negative(spec.replicas, "spec.replicas"),
        *non_negative(spec.min_ready_seconds, "spec.minReadySeconds"),
        *_selector_and_template(spec.selector, spec.template, "deployment", "ReplicaSet"),
    )


def validate_replica_set_update(new: ReplicaSet, old: ReplicaSet) -> Errors:
    return (
        *validate_object_meta_update(new.metadata, old.metadata),
        *validate_replica_set(new),
        *immutable_selector(new.spec.selector, old.spec.selector, "spec.selector"),
    )


# ---- Deployment ---------------------------------------------------------------------


def validate_deployment(d: Deployment) -> Errors:
    spec = d.spec
    errors = [
        *validate_object_meta(d.metadata, namespaced=True, rule=NameRule.DNS1123_SUBDOMAIN),
        *non_negative(spec.replicas, "spec.replicas"),
        *_selector_and_template(spec.selector, spec.template, "deployment", "ReplicaSet"),
        *_deployment_strategy(spec.strategy, "spec.strategy"),
        *non_negative(spec.min_ready_seconds, "spec.minReadySeconds"),
        *non_negative(spec.revision_history_limit, "spec.revisionHistoryLimit"),
        *non_negative(spec.progress_deadline_seconds, "spec.progressDeadlineSeconds"),
    ]
    if spec.progress_deadline_seconds <= spec.min_ready_seconds:
        errors.append(
            invalid(
                "spec.progressDeadlineSeconds",
                spec.progress_deadline_seconds,
                "must be greater than minReadySeconds",
            )
        )
    return tuple(errors)


def _deployment_strategy(strategy: DeploymentStrategy, path: str) -> Errors:
    ru = strategy.rolling_update
    match strategy.type:
        case DeploymentStrategyType.RECREATE:
            if ru is not None:
                return (
                    forbidden(
                        child(path, "rollingUpdate"),
                        "may not be specified when strategy `type` is 'Recreate'",
                    ),
                )
            return ()
        case DeploymentStrategyType.ROLLING_UPDATE:
            if ru is None:
                return (
                    required(
                        child(path, "rollingUpdate"), "this should be defaulted and never be nil"
                    ),
                )
            p = child(path, "rollingUpdate")
            errors = [
                *validate_positive_int_or_percent_opt(
                    ru.max_unavailable, child(p, "maxUnavailable")
                ),
                *validate_positive_int_or_percent_opt(ru.max_surge, child(p, "maxSurge")),
            ]
            if _is_zero(ru.max_unavailable) and _is_zero(ru.max_surge):
                errors.append(
                    invalid(
                        child(p, "maxUnavailable"),
                        ru.max_unavailable if ru.max_unavailable is not None else 0,
                        "may not be 0 when `maxSurge` is 0",
                    )
                )
            if ru.max_unavailable is not None:
                errors.extend(
                    validate_not_more_than_100_percent(
                        ru.max_unavailable, child(p, "maxUnavailable")
                    )
                )
            return tuple(errors)


def validate_positive_int_or_percent_opt(value: int | str | None, path: str) -> Errors:
    return () if value is None else validate_positive_int_or_percent(value, path)


def validate_deployment_update(new: Deployment, old: Deployment) -> Errors:
    return (
        *validate_object_meta_update(new.metadata, old.metadata),
        *validate_deployment(new),
        *immutable_selector(new.spec.selector, old.spec.selector, "spec.selector"),
    )


# ---- DaemonSet ----------------------------------------------------------------------


def validate_daemon_set(ds: DaemonSet) -> Errors:
    spec = ds.spec
    errors = [
        *validate_object_meta(ds.metadata, namespaced=True, rule=NameRule.DNS1123_SUBDOMAIN),
        *_selector_and_template(spec.selector, spec.template, "daemonset", "DaemonSet"),
        *non_negative(spec.min_ready_seconds, "spec.minReadySeconds"),
        *non_negative(spec.revision_history_limit, "spec.revisionHistoryLimit"),
    ]
    strategy = spec.update_strategy
    if strategy.type is DaemonSetUpdateStrategyType.ROLLING_UPDATE:
        ru = strategy.rolling_update
        p = "spec.updateStrategy.rollingUpdate"
        if ru is None:
            errors.append(required(p, ""))
            return tuple(errors)
        errors.extend(
            validate_positive_int_or_percent_opt(ru.max_unavailable, child(p, "maxUnavailable"))
        )
        errors.extend(validate_positive_int_or_percent_opt(ru.max_surge, child(p, "maxSurge")))
        for name, value in (("maxUnavailable", ru.max_unavailable), ("maxSurge", ru.max_surge)):
            if value is not None:
                errors.extend(validate_not_more_than_100_percent(value, child(p, name)))
        has_unavailable, has_surge = not _is_zero(ru.max_unavailable), not _is_zero(ru.max_surge)
        if has_unavailable and has_surge:
            errors.append(
                invalid(
                    child(p, "maxSurge"),
                    ru.max_surge,
                    "may not be set when maxUnavailable is non-zero",
                )
            )
        elif not has_unavailable and not has_surge:
            errors.append(required(child(p, "maxUnavailable"), "cannot be 0 when maxSurge is 0"))
    return tuple(errors)


def validate_daemon_set_update(new: DaemonSet, old: DaemonSet) -> Errors:
    return (
        *validate_object_meta_update(new.metadata, old.metadata),
        *validate_daemon_set(new),
        *immutable_selector(new.spec.selector, old.spec.selector, "spec.selector"),
    )


# ---- StatefulSet --------------------------------------------------------------------


def validate_stateful_set(sts: StatefulSet) -> Errors:
    spec = sts.spec
    errors: list[FieldError] = list(
        validate_object_meta(sts.metadata, namespaced=True, rule=NameRule.DNS1123_SUBDOMAIN)
    )
    if spec.service_name:
        errors.extend(
            invalid("spec.serviceName", spec.service_name, m)
            for m in is_dns1035_label(spec.service_name)
        )
    strategy = spec.update_strategy
    ru = strategy.rolling_update
    if strategy.type is StatefulSetUpdateStrategyType.ON_DELETE and ru is not None:
        errors.append(
            invalid_rendered(
                "spec.updateStrategy.rollingUpdate",
                f"{{Partition:{ru.partition}}}",
                "only allowed for updateStrategy 'RollingUpdate'",
            )
        )
    elif ru is not None:
        p = "spec.updateStrategy.rollingUpdate"
        errors.extend(non_negative(ru.partition, child(p, "partition")))
        if ru.max_unavailable is not None:
            mp = child(p, "maxUnavailable")
            errors.extend(validate_positive_int_or_percent(ru.max_unavailable, mp))
            if _is_zero(ru.max_unavailable):
                errors.append(invalid(mp, ru.max_unavailable, "must be greater than zero"))
            errors.extend(validate_not_more_than_100_percent(ru.max_unavailable, mp))
    if spec.ordinals is not None:
        errors.extend(non_negative(spec.ordinals.start, "spec.ordinals.start"))
    errors.extend(non_negative(spec.replicas, "spec.replicas"))
    errors.extend(non_negative(spec.min_ready_seconds, "spec.minReadySeconds"))
    claims = frozenset(c.metadata.name for c in spec.volume_claim_templates)
    errors.extend(
        _selector_and_template(spec.selector, spec.template, "statefulset", "StatefulSet", claims)
    )
    errors.extend(non_negative(spec.revision_history_limit, "spec.revisionHistoryLimit"))
    return tuple(errors)


def validate_stateful_set_update(new: StatefulSet, old: StatefulSet) -> Errors:
    """Only replicas, ordinals, template, updateStrategy, the PVC retention policy and
    minReadySeconds may change."""
    errors = [*validate_object_meta_update(new.metadata, old.metadata), *validate_stateful_set(new)]
    o = old.spec
    clone = attrs.evolve(
        new.spec,
        replicas=o.replicas,
        template=o.template,
        update_strategy=o.update_strategy,
        min_ready_seconds=o.min_ready_seconds,
        ordinals=o.ordinals,
        persistent_volume_claim_retention_policy=o.persistent_volume_claim_retention_policy,
    )
    if clone != o:
        errors.append(forbidden("spec", STATEFUL_SET_FORBIDDEN))
    return tuple(errors)
