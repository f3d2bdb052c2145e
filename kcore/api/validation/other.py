"""Validation of the remaining groups: autoscaling (HPA), networking (Ingress), RBAC, Lease.

Owns `validate_hpa`, `validate_ingress`, `validate_role`, `validate_cluster_role`,
`validate_role_binding(_update)`, `validate_cluster_role_binding(_update)` and
`validate_lease`.

Rules: pure; errors in upstream's order and wording.

Mirrors pkg/apis/autoscaling/validation/validation.go,
pkg/apis/networking/validation/validation.go, pkg/apis/rbac/validation/validation.go
and pkg/apis/coordination/validation/validation.go.
"""

from __future__ import annotations

from typing import Final

from kcore.api.autoscaling import (
    CrossVersionObjectReference,
    HorizontalPodAutoscaler,
    HPAScalingRules,
    MetricIdentifier,
    MetricSourceType,
    MetricSpec,
    MetricTarget,
)
from kcore.api.coordination import Lease
from kcore.api.networking import (
    HTTPIngressPath,
    Ingress,
    IngressBackend,
    IngressRule,
    PathType,
)
from kcore.api.rbac import (
    GROUP,
    GROUP_KIND,
    SERVICE_ACCOUNT_KIND,
    USER_KIND,
    ClusterRole,
    ClusterRoleBinding,
    PolicyRule,
    Role,
    RoleBinding,
    RoleRef,
    Subject,
)
from kcore.api.validation.meta import (
    Errors,
    NameRule,
    dns1123_label,
    invalid_rendered,
    name_errors,
    validate_object_meta,
    validate_object_meta_update,
)
from kcore.util_validation import (
    FieldError,
    child,
    forbidden,
    go_quote,
    index,
    invalid,
    is_dns1123_subdomain,
    is_valid_ip,
    is_valid_port_name,
    is_valid_port_num,
    is_wildcard_dns1123_subdomain,
    not_supported,
    required,
)

MAX_STABILIZATION_WINDOW_SECONDS: Final = 3600
MAX_PERIOD_SECONDS: Final = 1800
INVALID_PATH_SEQUENCES: Final = ("//", "/./", "/../", "%2f", "%2F")
INVALID_PATH_SUFFIXES: Final = ("/..", "/.")


# ---- HorizontalPodAutoscaler ---------------------------------------------------------------


def validate_hpa(hpa: HorizontalPodAutoscaler) -> Errors:
    """validateHorizontalPodAutoscalerSpec: 1 <= minReplicas <= maxReplicas, a target,
    then (only when the target is sound) metrics, then behavior."""
    spec = hpa.spec
    errors = list(
        validate_object_meta(hpa.metadata, namespaced=True, rule=NameRule.DNS1123_SUBDOMAIN)
    )
    if spec.min_replicas < 1:
        errors.append(
            invalid("spec.minReplicas", spec.min_replicas, "must be greater than or equal to 1")
        )
    if spec.max_replicas < 1:
        errors.append(invalid("spec.maxReplicas", spec.max_replicas, "must be greater than 0"))
    if spec.max_replicas < spec.min_replicas:
        errors.append(
            invalid(
                "spec.maxReplicas",
                spec.max_replicas,
                "must be greater than or equal to `minReplicas`",
            )
        )
    ref_errors = _cross_version_ref(spec.scale_target_ref, "spec.scaleTargetRef")
    metric_errors = tuple(
        e for i, m in enumerate(spec.metrics) for e in _metric(m, index("spec.metrics", i))
    )
    if ref_errors:
        errors.extend(ref_errors)
    elif metric_errors:
        errors.extend(metric_errors)
    elif spec.behavior is not None:
        for name, rules in (
            ("scaleUp", spec.behavior.scale_up),
            ("scaleDown", spec.behavior.scale_down),
        ):
            if rules is not None:
                errors.extend(_scaling_rules(rules, child("spec.behavior", name)))
    return tuple(errors)


def _path_segment(value: str, path: str) -> Errors:
    return tuple(invalid(path, value, m) for m in name_errors(NameRule.PATH_SEGMENT, value))


def _cross_version_ref(ref: CrossVersionObjectReference, path: str) -> Errors:
    errors: list[FieldError] = []
    for name, value in (("kind", ref.kind), ("name", ref.name)):
        if not value:
            errors.append(required(child(path, name), ""))
        else:
            errors.extend(_path_segment(value, child(path, name)))
    return tuple(errors)


def _metric_identifier(metric: MetricIdentifier, path: str) -> Errors:
    if not metric.name:
        return (required(child(path, "name"), "must specify a metric name"),)
    return _path_segment(metric.name, child(path, "name"))


def _metric_target(target: MetricTarget, path: str) -> Errors:
    errors: list[FieldError] = []
    if target.value is not None and target.value.sign() != 1:
        errors.append(invalid(child(path, "value"), str(target.value), "must be positive"))
    if target.average_value is not None and target.average_value.sign() != 1:
        errors.append(
            invalid(child(path, "averageValue"), str(target.average_value), "must be positive")
        )
    if target.average_utilization is not None and target.average_utilization < 1:
        errors.append(
            invalid(
                child(path, "averageUtilization"),
                target.average_utilization,
                "must be greater than 0",
            )
        )
    return tuple(errors)


def _resource_target(target: MetricTarget, path: str) -> Errors:
    tp = child(path, "target")
    errors = list(_metric_target(target, tp))
    if target.average_utilization is None and target.average_value is None:
        errors.append(
            required(
                child(tp, "averageUtilization"),
                "must set either a target raw value or a target utilization",
            )
        )
    if target.average_utilization is not None and target.average_value is not None:
        errors.append(
            forbidden(
                child(tp, "averageValue"),
                "may not set both a target raw value and a target utilization",
            )
        )
    return tuple(errors)


_SOURCE_FIELDS: Final = (
    (MetricSourceType.OBJECT, "object"),
    (MetricSourceType.PODS, "pods"),
    (MetricSourceType.RESOURCE, "resource"),
    (MetricSourceType.CONTAINER_RESOURCE, "containerResource"),
    (MetricSourceType.EXTERNAL, "external"),
)


def _metric(m: MetricSpec, path: str) -> Errors:
    """validateMetricSpec: the source named by `type`, and only that one."""
    sources = {
        "object": m.object,
        "pods": m.pods,
        "resource": m.resource,
        "containerResource": m.container_resource,
        "external": m.external,
    }
    present = [name for _, name in _SOURCE_FIELDS if sources[name] is not None]
    errors: list[FieldError] = []
    if present:
        errors.extend(_source(m, present[0], child(path, present[0])))
    expected = next(name for t, name in _SOURCE_FIELDS if t is m.type)
    if sources[expected] is None:
        errors.append(
            required(child(path, expected), "must populate information for the given metric source")
        )
    if len(present) != 1:
        errors.extend(
            forbidden(child(path, name), "must populate the given metric source only")
            for name in present
            if name != expected
        )
    return tuple(errors)


def _source(m: MetricSpec, name: str, path: str) -> Errors:
    errors: list[FieldError] = []
    if name == "object" and m.object is not None:
        src = m.object
        errors.extend(_cross_version_ref(src.described_object, child(path, "describedObject")))
        errors.extend(_metric_identifier(src.metric, child(path, "metric")))
        errors.extend(_metric_target(src.target, child(path, "target")))
        if src.target.value is None and src.target.average_value is None:
            errors.append(
                required(
                    child(path, "target", "averageValue"),
                    "must set either a target value or averageValue",
                )
            )
    elif name == "pods" and m.pods is not None:
        errors.extend(_metric_identifier(m.pods.metric, child(path, "metric")))
        errors.extend(_metric_target(m.pods.target, child(path, "target")))
        if m.pods.target.average_value is None:
            errors.append(
                required(
                    child(path, "target", "averageValue"),
                    "must specify a positive target averageValue",
                )
            )
    elif name == "resource" and m.resource is not None:
        if not m.resource.name:
            errors.append(required(child(path, "name"), "must specify a resource name"))
        errors.extend(_resource_target(m.resource.target, path))
    elif name == "containerResource" and m.container_resource is not None:
        src_c = m.container_resource
        if not src_c.name:
            errors.append(required(child(path, "name"), "must specify a resource name"))
        if not src_c.container:
            errors.append(required(child(path, "container"), "must specify a container"))
        else:
            errors.extend(dns1123_label(src_c.container, child(path, "container")))
        errors.extend(_resource_target(src_c.target, path))
    elif name == "external" and m.external is not None:
        ext = m.external
        errors.extend(_metric_identifier(ext.metric, child(path, "metric")))
        errors.extend(_metric_target(ext.target, child(path, "target")))
        if ext.target.value is None and ext.target.average_value is None:
            errors.append(
                required(
                    child(path, "target", "averageValue"),
                    "must set either a target value for metric or a per-pod target",
                )
            )
        if ext.target.value is not None and ext.target.average_value is not None:
            errors.append(
                forbidden(
                    child(path, "target", "value"),
                    "may not set both a target value for metric and a per-pod target",
                )
            )
    return tuple(errors)


def _scaling_rules(rules: HPAScalingRules, path: str) -> Errors:
    errors: list[FieldError] = []
    window = rules.stabilization_window_seconds
    if window is not None and window < 0:
        errors.append(
            invalid(
                child(path, "stabilizationWindowSeconds"),
                window,
                "must be greater than or equal to zero",
            )
        )
    if window is not None and window > MAX_STABILIZATION_WINDOW_SECONDS:
        errors.append(
            invalid(
                child(path, "stabilizationWindowSeconds"),
                window,
                f"must be less than or equal to {MAX_STABILIZATION_WINDOW_SECONDS}",
            )
        )
    if not rules.policies:
        errors.append(required(child(path, "policies"), "must specify at least one Policy"))
    for i, policy in enumerate(rules.policies):
        p = index(child(path, "policies"), i)
        if policy.value <= 0:
            errors.append(invalid(child(p, "value"), policy.value, "must be greater than zero"))
        if policy.period_seconds <= 0:
            errors.append(
                invalid(
                    child(p, "periodSeconds"), policy.period_seconds, "must be greater than zero"
                )
            )
        if policy.period_seconds > MAX_PERIOD_SECONDS:
            errors.append(
                invalid(
                    child(p, "periodSeconds"),
                    policy.period_seconds,
                    f"must be less than or equal to {MAX_PERIOD_SECONDS}",
                )
            )
    return tuple(errors)


# ---- Ingress --------------------------------------------------------------------------------


def validate_ingress(ing: Ingress) -> Errors:
    """ValidateIngressCreate: rules or a default backend; hosts, paths, backends, TLS."""
    spec = ing.spec
    errors = list(
        validate_object_meta(ing.metadata, namespaced=True, rule=NameRule.DNS1123_SUBDOMAIN)
    )
    if not spec.rules and spec.default_backend is None:
        errors.append(
            invalid_rendered(
                "spec",
                "[]networking.IngressRule(nil)",
                "either `defaultBackend` or `rules` must be specified",
            )
        )
    if spec.default_backend is not None:
        errors.extend(_backend(spec.default_backend, "spec.defaultBackend"))
    for i, rule in enumerate(spec.rules):
        errors.extend(_ingress_rule(rule, index("spec.rules", i)))
    for i, tls in enumerate(spec.tls):
        for j, host in enumerate(tls.hosts):
            errors.extend(_host(host, index(child(index("spec.tls", i), "hosts"), j)))
    if spec.ingress_class_name is not None:
        errors.extend(
            invalid("spec.ingressClassName", spec.ingress_class_name, m)
            for m in is_dns1123_subdomain(spec.ingress_class_name)
        )
    return tuple(errors)


def _host(host: str, path: str) -> Errors:
    if "*" in host:
        return tuple(invalid(path, host, m) for m in is_wildcard_dns1123_subdomain(host))
    return tuple(invalid(path, host, m) for m in is_dns1123_subdomain(host))


def _ingress_rule(rule: IngressRule, path: str) -> Errors:
    errors: list[FieldError] = []
    if rule.host:
        if not is_valid_ip(rule.host):
            errors.append(
                invalid(child(path, "host"), rule.host, "must be a DNS name, not an IP address")
            )
        errors.extend(_host(rule.host, child(path, "host")))
    if rule.http is not None:
        paths_path = child(path, "http", "paths")
        if not rule.http.paths:
            errors.append(required(paths_path, ""))
        for i, p in enumerate(rule.http.paths):
            errors.extend(_ingress_path(p, index(paths_path, i)))
    return tuple(errors)


def _ingress_path(p: HTTPIngressPath, path: str) -> Errors:
    errors: list[FieldError] = []
    pp = child(path, "path")
    if p.path_type in (PathType.EXACT, PathType.PREFIX):
        if not p.path.startswith("/"):
            errors.append(invalid(pp, p.path, "must be an absolute path"))
        errors.extend(
            invalid(pp, p.path, f"must not contain '{seq}'")
            for seq in INVALID_PATH_SEQUENCES
            if seq in p.path
        )
        errors.extend(
            invalid(pp, p.path, f"cannot end with '{suffix}'")
            for suffix in INVALID_PATH_SUFFIXES
            if p.path.endswith(suffix)
        )
    elif p.path and not p.path.startswith("/"):
        errors.append(invalid(pp, p.path, "must be an absolute path"))
    errors.extend(_backend(p.backend, child(path, "backend")))
    return tuple(errors)


def _backend(backend: IngressBackend, path: str) -> Errors:
    service, resource = backend.service, backend.resource
    if service is not None and resource is not None:
        return (invalid(path, "", "cannot set both resource and service backends"),)
    if resource is not None:
        errors: list[FieldError] = []
        if not resource.kind:
            errors.append(required(child(path, "resource", "kind"), ""))
        if not resource.name:
            errors.append(required(child(path, "resource", "name"), ""))
        return tuple(errors)
    if service is None:
        return (invalid(path, "", "resource or service backend is required"),)
    errors = []
    name_path = child(path, "service", "name")
    if not service.name:
        errors.append(required(name_path, ""))
    else:
        errors.extend(
            invalid(name_path, service.name, m)
            for m in name_errors(NameRule.DNS1035_LABEL, service.name)
        )
    port = service.port
    if port.name and port.number:
        errors.append(invalid(path, "", "cannot set both port name & port number"))
    elif port.name:
        errors.extend(
            invalid(child(path, "service", "port", "name"), port.name, m)
            for m in is_valid_port_name(port.name)
        )
    elif port.number:
        errors.extend(
            invalid(child(path, "service", "port", "number"), port.number, m)
            for m in is_valid_port_num(port.number)
        )
    else:
        errors.append(required(path, "port name or number is required"))
    return tuple(errors)


# ---- RBAC ----------------------------------------------------------------------------------


def _policy_rule(rule: PolicyRule, namespaced: bool, path: str) -> Errors:
    errors: list[FieldError] = []
    if not rule.verbs:
        errors.append(required(child(path, "verbs"), "verbs must contain at least one value"))
    if rule.non_resource_urls:
        urls = "[]string{" + ", ".join(go_quote(u) for u in rule.non_resource_urls) + "}"
        up = child(path, "nonResourceURLs")
        if namespaced:
            errors.append(
                invalid_rendered(up, urls, "namespaced rules cannot apply to non-resource URLs")
            )
        if rule.api_groups or rule.resources or rule.resource_names:
            errors.append(
                invalid_rendered(
                    up, urls, "rules cannot apply to both regular resources and non-resource URLs"
                )
            )
        return tuple(errors)
    if not rule.api_groups:
        errors.append(
            required(child(path, "apiGroups"), "resource rules must supply at least one api group")
        )
    if not rule.resources:
        errors.append(
            required(child(path, "resources"), "resource rules must supply at least one resource")
        )
    return tuple(errors)


def validate_role(role: Role) -> Errors:
    return (
        *validate_object_meta(role.metadata, namespaced=True, rule=NameRule.PATH_SEGMENT),
        *(e for i, r in enumerate(role.rules) for e in _policy_rule(r, True, index("rules", i))),
    )


def validate_cluster_role(role: ClusterRole) -> Errors:
    return (
        *validate_object_meta(role.metadata, namespaced=False, rule=NameRule.PATH_SEGMENT),
        *(e for i, r in enumerate(role.rules) for e in _policy_rule(r, False, index("rules", i))),
    )


def _role_ref(ref: RoleRef, kinds: tuple[str, ...]) -> Errors:
    errors: list[FieldError] = []
    if ref.api_group != GROUP:
        errors.append(not_supported("roleRef.apiGroup", ref.api_group, (GROUP,)))
    if ref.kind not in kinds:
        errors.append(not_supported("roleRef.kind", ref.kind, kinds))
    if not ref.name:
        errors.append(required("roleRef.name", ""))
    else:
        errors.extend(_path_segment(ref.name, "roleRef.name"))
    return tuple(errors)


def _subject(subject: Subject, namespaced: bool, path: str) -> Errors:
    errors: list[FieldError] = []
    if not subject.name:
        errors.append(required(child(path, "name"), ""))
    match subject.kind:
        case "ServiceAccount":
            if subject.name:
                errors.extend(
                    invalid(child(path, "name"), subject.name, m)
                    for m in is_dns1123_subdomain(subject.name)
                )
            if subject.api_group:
                errors.append(not_supported(child(path, "apiGroup"), subject.api_group, ("",)))
            if not namespaced and not subject.namespace:
                errors.append(required(child(path, "namespace"), ""))
        case "User" | "Group":
            if subject.api_group != GROUP:
                errors.append(not_supported(child(path, "apiGroup"), subject.api_group, (GROUP,)))
        case _:
            errors.append(
                not_supported(
                    child(path, "kind"), subject.kind, (SERVICE_ACCOUNT_KIND, USER_KIND, GROUP_KIND)
                )
            )
    return tuple(errors)


def validate_role_binding(rb: RoleBinding) -> Errors:
    return (
        *validate_object_meta(rb.metadata, namespaced=True, rule=NameRule.PATH_SEGMENT),
        *_role_ref(rb.role_ref, ("Role", "ClusterRole")),
        *(e for i, s in enumerate(rb.subjects) for e in _subject(s, True, index("subjects", i))),
    )


def validate_cluster_role_binding(crb: ClusterRoleBinding) -> Errors:
    return (
        *validate_object_meta(crb.metadata, namespaced=False, rule=NameRule.PATH_SEGMENT),
        *_role_ref(crb.role_ref, ("ClusterRole",)),
        *(e for i, s in enumerate(crb.subjects) for e in _subject(s, False, index("subjects", i))),
    )


def _role_ref_update(new: RoleRef, old: RoleRef) -> Errors:
    if new == old:
        return ()
    shown = (
        f"rbac.RoleRef{{APIGroup:{go_quote(new.api_group)}, Kind:{go_quote(new.kind)}, "
        f"Name:{go_quote(new.name)}}}"
    )
    return (invalid_rendered("roleRef", shown, "cannot change roleRef"),)


def validate_role_binding_update(new: RoleBinding, old: RoleBinding) -> Errors:
    return (
        *validate_object_meta_update(new.metadata, old.metadata),
        *_role_ref_update(new.role_ref, old.role_ref),
        *validate_role_binding(new),
    )


def validate_cluster_role_binding_update(
    new: ClusterRoleBinding, old: ClusterRoleBinding
) -> Errors:
    return (
        *validate_object_meta_update(new.metadata, old.metadata),
        *_role_ref_update(new.role_ref, old.role_ref),
        *validate_cluster_role_binding(new),
    )


# ---- Lease ---------------------------------------------------------------------------------


def validate_lease(lease: Lease) -> Errors:
    spec = lease.spec
    errors = list(
        validate_object_meta(lease.metadata, namespaced=True, rule=NameRule.DNS1123_SUBDOMAIN)
    )
    if spec.lease_duration_seconds is not None and spec.lease_duration_seconds <= 0:
        errors.append(
            invalid(
                "spec.leaseDurationSeconds", spec.lease_duration_seconds, "must be greater than 0"
            )
        )
    if spec.lease_transitions is not None and spec.lease_transitions < 0:
        errors.append(
            invalid(
                "spec.leaseTransitions",
                spec.lease_transitions,
                "must be greater than or equal to 0",
            )
        )
    return tuple(errors)
