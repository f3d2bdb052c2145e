"""Validation of the apps/v1 workloads."""

from __future__ import annotations

import attrs
from pyrsistent import pmap

from kcore.api.apps import (
    DaemonSet,
    DaemonSetSpec,
    Deployment,
    DeploymentStrategy,
    DeploymentStrategyType,
    RollingUpdateDaemonSet,
    RollingUpdateDeployment,
    StatefulSet,
    StatefulSetSpec,
)
from kcore.api.defaults import apply_defaults
from kcore.api.meta import Time
from kcore.api.pod import LabelSelector, RestartPolicy
from kcore.api.validation import validate
from kcore.util_validation import FieldError
from tests.builders import a_deployment, a_replica_set, a_template, meta, with_meta


def texts(errors: tuple[FieldError, ...]) -> list[str]:
    return [str(e) for e in errors]


def deployment(**spec: object) -> Deployment:
    d = a_deployment()
    return apply_defaults(attrs.evolve(d, spec=attrs.evolve(d.spec, **spec)))  # type: ignore[arg-type]  # any DeploymentSpec field


def rolling(max_unavailable: int | str, max_surge: int | str) -> DeploymentStrategy:
    return DeploymentStrategy(
        rolling_update=RollingUpdateDeployment(max_unavailable=max_unavailable, max_surge=max_surge)
    )


def test_a_default_deployment_is_valid() -> None:
    assert validate(deployment(), None) == ()


def test_the_selector_must_match_the_template_labels() -> None:
    d = deployment(selector=LabelSelector(match_labels=pmap({"app": "other"})))
    assert texts(validate(d, None)) == [
        'spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: '
        "`selector` does not match template `labels`"
    ]


def test_an_empty_selector_is_invalid() -> None:
    d = deployment(selector=LabelSelector())
    assert texts(validate(d, None)) == [
        "spec.selector: Invalid value: &LabelSelector{MatchLabels:map[string]string{},"
        "MatchExpressions:[]LabelSelectorRequirement{},}: empty selector is invalid for deployment"
    ]


def test_replicas_are_non_negative() -> None:
    assert texts(validate(deployment(replicas=-1), None)) == [
        "spec.replicas: Invalid value: -1: must be greater than or equal to 0"
    ]


def test_the_template_restarts_always() -> None:
    d = deployment()
    t = attrs.evolve(
        d.spec.template,
        spec=attrs.evolve(d.spec.template.spec, restart_policy=RestartPolicy.ON_FAILURE),
    )
    assert texts(validate(attrs.evolve(d, spec=attrs.evolve(d.spec, template=t)), None)) == [
        'spec.template.spec.restartPolicy: Unsupported value: "OnFailure": supported values: "Always"'
    ]


def test_max_unavailable_and_max_surge_may_not_both_be_zero() -> None:
    assert texts(validate(deployment(strategy=rolling(0, "0%")), None)) == [
        "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0"
    ]
    assert validate(deployment(strategy=rolling(0, 1)), None) == ()


def test_max_unavailable_is_at_most_100_percent() -> None:
    assert texts(validate(deployment(strategy=rolling("120%", 1)), None)) == [
        'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "120%": must not be greater than 100%'
    ]


def test_rolling_parameters_are_non_negative_ints_or_percents() -> None:
    assert texts(validate(deployment(strategy=rolling(-1, "x")), None)) == [
        "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: -1: must be greater than or equal to 0",
        'spec.strategy.rollingUpdate.maxSurge: Invalid value: "x": a valid percent string must be '
        "a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for "
        "validation is '[0-9]+%')",
    ]


def test_recreate_takes_no_rolling_parameters() -> None:
    strategy = DeploymentStrategy(
        type=DeploymentStrategyType.RECREATE, rolling_update=RollingUpdateDeployment()
    )
    assert texts(validate(deployment(strategy=strategy), None)) == [
        "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'"
    ]


def test_progress_deadline_exceeds_min_ready_seconds() -> None:
    assert texts(validate(deployment(min_ready_seconds=600), None)) == [
        "spec.progressDeadlineSeconds: Invalid value: 600: must be greater than minReadySeconds"
    ]


def test_revision_history_limit_is_non_negative() -> None:
    assert texts(validate(deployment(revision_history_limit=-1), None)) == [
        "spec.revisionHistoryLimit: Invalid value: -1: must be greater than or equal to 0"
    ]


def test_the_selector_is_immutable_after_creation() -> None:
    old = with_meta(deployment(), uid="u", creation_timestamp=Time(1.0))
    labels = {"app": "web", "v": "2"}
    new = attrs.evolve(
        old,
        spec=attrs.evolve(
            old.spec,
            selector=LabelSelector(match_labels=pmap(labels)),
            template=apply_defaults(a_deployment(labels=labels)).spec.template,
        ),
    )
    assert texts(validate(new, old)) == [
        'spec.selector: Invalid value: &LabelSelector{MatchLabels:map[string]string{"app":"web","v":"2"},'
        "MatchExpressions:[]LabelSelectorRequirement{},}: field is immutable"
    ]
    assert validate(attrs.evolve(old, spec=attrs.evolve(old.spec, replicas=5)), old) == ()


def test_replica_sets_check_selector_and_replicas() -> None:
    rs = apply_defaults(a_replica_set())
    assert validate(rs, None) == ()
    bad = attrs.evolve(rs, spec=attrs.evolve(rs.spec, replicas=-2))
    assert texts(validate(bad, None)) == [
        "spec.replicas: Invalid value: -2: must be greater than or equal to 0"
    ]


def daemon_set(max_unavailable: int | str, max_surge: int | str) -> DaemonSet:
    ds = DaemonSet(
        metadata=meta("agent"),
        spec=DaemonSetSpec(
            selector=LabelSelector(match_labels=pmap({"app": "agent"})),
            template=a_template({"app": "agent"}),
        ),
    )
    ds = apply_defaults(ds)
    strategy = attrs.evolve(
        ds.spec.update_strategy,
        rolling_update=RollingUpdateDaemonSet(max_unavailable=max_unavailable, max_surge=max_surge),
    )
    return attrs.evolve(ds, spec=attrs.evolve(ds.spec, update_strategy=strategy))


def test_a_daemon_set_surges_or_drains_but_not_both() -> None:
    assert validate(daemon_set(1, 0), None) == ()
    assert texts(validate(daemon_set(1, 1), None)) == [
        "spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: 1: may not be set when maxUnavailable is non-zero"
    ]
    assert texts(validate(daemon_set(0, 0), None)) == [
        "spec.updateStrategy.rollingUpdate.maxUnavailable: Required value: cannot be 0 when maxSurge is 0"
    ]


def stateful_set(**spec: object) -> StatefulSet:
    sts = StatefulSet(
        metadata=meta("db"),
        spec=StatefulSetSpec(
            selector=LabelSelector(match_labels=pmap({"app": "db"})),
            template=a_template({"app": "db"}),
            service_name="db",
        ),
    )
    return apply_defaults(attrs.evolve(sts, spec=attrs.evolve(sts.spec, **spec)))  # type: ignore[arg-type]  # any StatefulSetSpec field


def test_a_default_stateful_set_is_valid() -> None:
    assert validate(stateful_set(), None) == ()


def test_a_stateful_set_service_name_is_a_dns_label() -> None:
    assert texts(validate(stateful_set(service_name="DB"), None))[0].startswith(
        'spec.serviceName: Invalid value: "DB": a DNS-1035 label'
    )


def test_a_stateful_set_update_may_only_change_some_fields() -> None:
    old = with_meta(stateful_set(), uid="u", creation_timestamp=Time(1.0))
    renamed = attrs.evolve(old, spec=attrs.evolve(old.spec, service_name="other"))
    assert texts(validate(renamed, old)) == [
        "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', "
        "'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"
    ]
    scaled = attrs.evolve(old, spec=attrs.evolve(old.spec, replicas=4, min_ready_seconds=5))
    assert validate(scaled, old) == ()


def test_a_stateful_set_partition_is_non_negative() -> None:
    sts = stateful_set()
    ru = sts.spec.update_strategy.rolling_update
    assert ru is not None
    strategy = attrs.evolve(sts.spec.update_strategy, rolling_update=attrs.evolve(ru, partition=-1))
    bad = attrs.evolve(sts, spec=attrs.evolve(sts.spec, update_strategy=strategy))
    assert texts(validate(bad, None)) == [
        "spec.updateStrategy.rollingUpdate.partition: Invalid value: -1: must be greater than or equal to 0"
    ]


def test_stateful_set_mounts_may_name_volume_claim_templates() -> None:
    from kcore.api.core import PersistentVolumeClaim
    from kcore.api.meta import ObjectMeta
    from kcore.api.pod import VolumeMount

    sts = stateful_set()
    c = attrs.evolve(
        sts.spec.template.spec.containers[0],
        volume_mounts=(VolumeMount(name="www", mount_path="/www"),),
    )
    template = attrs.evolve(
        sts.spec.template, spec=attrs.evolve(sts.spec.template.spec, containers=(c,))
    )
    unclaimed = attrs.evolve(sts, spec=attrs.evolve(sts.spec, template=template))
    assert texts(validate(unclaimed, None)) == [
        'spec.template.spec.containers[0].volumeMounts[0].name: Not found: "www"'
    ]
    claim = PersistentVolumeClaim(metadata=ObjectMeta(name="www"))
    claimed = attrs.evolve(
        unclaimed, spec=attrs.evolve(unclaimed.spec, volume_claim_templates=(claim,))
    )
    assert validate(claimed, None) == ()
