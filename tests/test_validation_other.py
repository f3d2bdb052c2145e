"""Validation of HorizontalPodAutoscaler, Ingress, RBAC objects and Lease."""

from __future__ import annotations

import attrs

from kcore.api.autoscaling import (
    CrossVersionObjectReference,
    HorizontalPodAutoscaler,
    HorizontalPodAutoscalerSpec,
    MetricSourceType,
    MetricSpec,
    MetricTarget,
    MetricTargetType,
    ResourceMetricSource,
)
from kcore.api.coordination import Lease, LeaseSpec
from kcore.api.defaults import apply_defaults
from kcore.api.meta import ObjectMeta, Time
from kcore.api.networking import (
    HTTPIngressPath,
    HTTPIngressRuleValue,
    Ingress,
    IngressBackend,
    IngressRule,
    IngressServiceBackend,
    IngressSpec,
    PathType,
    ServiceBackendPort,
)
from kcore.api.rbac import (
    ClusterRoleBinding,
    PolicyRule,
    Role,
    RoleBinding,
    RoleRef,
    Subject,
)
from kcore.api.validation import validate
from kcore.util_validation import FieldError
from tests.builders import meta, with_meta


def texts(errors: tuple[FieldError, ...]) -> list[str]:
    return [str(e) for e in errors]


# ---- HPA -----------------------------------------------------------------------------


def hpa(
    min_replicas: int = 1, max_replicas: int = 5, *metrics: MetricSpec
) -> HorizontalPodAutoscaler:
    spec = HorizontalPodAutoscalerSpec(
        scale_target_ref=CrossVersionObjectReference(
            kind="Deployment", name="web", api_version="apps/v1"
        ),
        min_replicas=min_replicas,
        max_replicas=max_replicas,
        metrics=metrics,
    )
    return apply_defaults(HorizontalPodAutoscaler(metadata=meta("web"), spec=spec))


def test_a_default_hpa_is_valid() -> None:
    assert validate(hpa(), None) == ()


def test_min_replicas_is_at_least_one_and_at_most_max() -> None:
    assert texts(validate(hpa(0, 5), None)) == [
        "spec.minReplicas: Invalid value: 0: must be greater than or equal to 1"
    ]
    assert texts(validate(hpa(3, 2), None)) == [
        "spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`"
    ]


def test_the_scale_target_needs_a_kind_and_name() -> None:
    h = hpa()
    bad = attrs.evolve(
        h, spec=attrs.evolve(h.spec, scale_target_ref=CrossVersionObjectReference(kind="", name=""))
    )
    assert texts(validate(bad, None)) == [
        "spec.scaleTargetRef.kind: Required value",
        "spec.scaleTargetRef.name: Required value",
    ]


def test_a_utilization_target_is_positive() -> None:
    metric = MetricSpec(
        type=MetricSourceType.RESOURCE,
        resource=ResourceMetricSource(
            name="cpu",
            target=MetricTarget(type=MetricTargetType.UTILIZATION, average_utilization=0),
        ),
    )
    assert texts(validate(hpa(1, 5, metric), None)) == [
        "spec.metrics[0].resource.target.averageUtilization: Invalid value: 0: must be greater than 0"
    ]


def test_a_metric_populates_the_source_its_type_names() -> None:
    metric = MetricSpec(type=MetricSourceType.PODS)
    assert texts(validate(hpa(1, 5, metric), None)) == [
        "spec.metrics[0].pods: Required value: must populate information for the given metric source"
    ]


# ---- Ingress -------------------------------------------------------------------------


def ingress(
    host: str = "example.com",
    path: str = "/",
    path_type: PathType = PathType.PREFIX,
    backend: IngressBackend | None = None,
) -> Ingress:
    backend = backend or IngressBackend(
        service=IngressServiceBackend(name="web", port=ServiceBackendPort(number=80))
    )
    rule = IngressRule(
        host=host,
        http=HTTPIngressRuleValue(
            paths=(HTTPIngressPath(path=path, path_type=path_type, backend=backend),)
        ),
    )
    return Ingress(metadata=meta("web"), spec=IngressSpec(rules=(rule,)))


def test_a_simple_ingress_is_valid() -> None:
    assert validate(ingress(), None) == ()
    assert validate(ingress(host="*.example.com"), None) == ()


def test_an_ingress_needs_rules_or_a_default_backend() -> None:
    empty = Ingress(metadata=meta("web"), spec=IngressSpec())
    assert texts(validate(empty, None)) == [
        "spec: Invalid value: []networking.IngressRule(nil): either `defaultBackend` or `rules` must be specified"
    ]


def test_an_ingress_host_is_a_dns_name_not_an_ip() -> None:
    errors = texts(validate(ingress(host="10.0.0.1"), None))
    assert (
        errors[0]
        == 'spec.rules[0].host: Invalid value: "10.0.0.1": must be a DNS name, not an IP address'
    )


def test_prefix_and_exact_paths_are_absolute() -> None:
    assert texts(validate(ingress(path="api"), None)) == [
        'spec.rules[0].http.paths[0].path: Invalid value: "api": must be an absolute path'
    ]
    assert texts(validate(ingress(path="/a//b", path_type=PathType.EXACT), None)) == [
        "spec.rules[0].http.paths[0].path: Invalid value: \"/a//b\": must not contain '//'"
    ]


def test_a_service_backend_needs_a_port() -> None:
    backend = IngressBackend(service=IngressServiceBackend(name="web"))
    assert texts(validate(ingress(backend=backend), None)) == [
        "spec.rules[0].http.paths[0].backend: Required value: port name or number is required"
    ]


# ---- RBAC ----------------------------------------------------------------------------


def test_role_rules_need_verbs_groups_and_resources() -> None:
    role = Role(metadata=meta("r"), rules=(PolicyRule(),))
    assert texts(validate(role, None)) == [
        "rules[0].verbs: Required value: verbs must contain at least one value",
        "rules[0].apiGroups: Required value: resource rules must supply at least one api group",
        "rules[0].resources: Required value: resource rules must supply at least one resource",
    ]
    ok = Role(
        metadata=meta("r"),
        rules=(PolicyRule(verbs=("get",), api_groups=("",), resources=("pods",)),),
    )
    assert validate(ok, None) == ()


def test_namespaced_rules_cannot_name_urls() -> None:
    role = Role(
        metadata=meta("r"), rules=(PolicyRule(verbs=("get",), non_resource_urls=("/healthz",)),)
    )
    assert texts(validate(role, None)) == [
        'rules[0].nonResourceURLs: Invalid value: []string{"/healthz"}: namespaced rules cannot apply to non-resource URLs'
    ]


def binding(kind: str = "Role", subject_kind: str = "User") -> RoleBinding:
    return apply_defaults(
        RoleBinding(
            metadata=meta("rb"),
            role_ref=RoleRef(api_group="rbac.authorization.k8s.io", kind=kind, name="r"),
            subjects=(Subject(kind=subject_kind, name="alice"),),
        )
    )


def test_a_role_ref_names_a_role_or_cluster_role() -> None:
    assert validate(binding(), None) == ()
    assert texts(validate(binding(kind="Pod"), None)) == [
        'roleRef.kind: Unsupported value: "Pod": supported values: "Role", "ClusterRole"'
    ]


def test_subject_kinds_are_user_group_or_service_account() -> None:
    assert texts(validate(binding(subject_kind="Robot"), None)) == [
        'subjects[0].kind: Unsupported value: "Robot": supported values: "ServiceAccount", "User", "Group"'
    ]


def test_a_cluster_role_binding_service_account_needs_a_namespace() -> None:
    crb = ClusterRoleBinding(
        metadata=ObjectMeta(name="crb"),
        role_ref=RoleRef(api_group="rbac.authorization.k8s.io", kind="ClusterRole", name="view"),
        subjects=(Subject(kind="ServiceAccount", name="builder"),),
    )
    assert texts(validate(crb, None)) == ["subjects[0].namespace: Required value"]


def test_a_role_ref_cannot_change() -> None:
    old = with_meta(binding(), uid="u", creation_timestamp=Time(1.0))
    new = attrs.evolve(old, role_ref=attrs.evolve(old.role_ref, name="other"))
    assert texts(validate(new, old)) == [
        'roleRef: Invalid value: rbac.RoleRef{APIGroup:"rbac.authorization.k8s.io", Kind:"Role", '
        'Name:"other"}: cannot change roleRef'
    ]


# ---- Lease -----------------------------------------------------------------------------


def test_a_lease_duration_is_positive() -> None:
    assert texts(
        validate(Lease(metadata=meta("l"), spec=LeaseSpec(lease_duration_seconds=0)), None)
    ) == ["spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"]
    assert (
        validate(Lease(metadata=meta("l"), spec=LeaseSpec(lease_duration_seconds=15)), None) == ()
    )
