"""Validation of the core/v1 kinds other than Pod.

Owns `validate_<kind>` (create) and `validate_<kind>_update` for Namespace, Node,
Service, Endpoints, Event, ConfigMap, Secret, ServiceAccount, ResourceQuota, LimitRange,
PersistentVolumeClaim and ReplicationController.

Rules: pure; errors in upstream's order and wording; maps read in sorted key order.
ClusterIP and NodePort *allocation* (in range, free) is admission's business, not this
module's: here a clusterIP is only checked to be empty, "None" or an IP address.

Mirrors pkg/apis/core/validation/validation.go (ValidateNamespace, ValidateNode,
ValidateService(Update), ValidateEndpoints, ValidateConfigMap(Update),
ValidateSecret(Update), ValidateResourceQuota, ValidateLimitRange,
ValidatePersistentVolumeClaim(Update), ValidateReplicationController) and events.go.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import attrs

from kcore.api.core import (
    ConfigMap,
    EndpointAddress,
    Endpoints,
    Event,
    LimitRange,
    LimitRangeItem,
    LimitType,
    Namespace,
    Node,
    PersistentVolumeClaim,
    PersistentVolumeClaimPhase,
    ReplicationController,
    ResourceQuota,
    Secret,
    Service,
    ServiceAccount,
    ServiceAffinity,
    ServicePort,
    ServiceType,
    TrafficPolicy,
)
from kcore.api.pod import RestartPolicy
from kcore.api.validation.meta import (
    Errors,
    NameRule,
    dns1123_label,
    dns1123_subdomain,
    immutable,
    invalid_rendered,
    non_negative,
    selector_mismatch,
    validate_object_meta,
    validate_object_meta_update,
)
from kcore.api.validation.pod import validate_pod_template
from kcore.labels import selector_from_set, validate_label_name, validate_labels
from kcore.quantity import Quantity
from kcore.util_validation import (
    NEGATIVE_ERROR_MSG,
    FieldError,
    child,
    duplicate,
    forbidden,
    index,
    invalid,
    is_config_map_key,
    is_qualified_name,
    is_valid_cidr,
    is_valid_ip,
    is_valid_label_value,
    is_valid_port_name,
    is_valid_port_num,
    key,
    not_supported,
    required,
    too_long,
)

MAX_SECRET_SIZE: Final = 1 << 20  # 1 MiB, for ConfigMaps too
MAX_CLIENT_IP_AFFINITY_SECONDS: Final = 86400
CLUSTER_IP_NONE: Final = "None"
IMMUTABLE_WHEN_SET: Final = "field is immutable when `immutable` is set"
STANDARD_QUOTA_RESOURCES: Final = frozenset(
    (
        "pods",
        "services",
        "replicationcontrollers",
        "resourcequotas",
        "secrets",
        "configmaps",
        "persistentvolumeclaims",
        "services.nodeports",
        "services.loadbalancers",
        "cpu",
        "memory",
        "ephemeral-storage",
        "storage",
        "requests.cpu",
        "requests.memory",
        "requests.storage",
        "requests.ephemeral-storage",
        "limits.cpu",
        "limits.memory",
        "limits.ephemeral-storage",
    )
)
INTEGER_QUOTA_RESOURCES: Final = frozenset(
    (
        "pods",
        "services",
        "replicationcontrollers",
        "resourcequotas",
        "secrets",
        "configmaps",
        "persistentvolumeclaims",
        "services.nodeports",
        "services.loadbalancers",
    )
)
SECRET_TYPE_TLS: Final = "kubernetes.io/tls"
SECRET_TYPE_BASIC_AUTH: Final = "kubernetes.io/basic-auth"
SECRET_TYPE_SSH_AUTH: Final = "kubernetes.io/ssh-auth"
SECRET_TYPE_SA_TOKEN: Final = "kubernetes.io/service-account-token"


# ---- Namespace, Node ---------------------------------------------------------------------


def validate_namespace(ns: Namespace) -> Errors:
    """ValidateNamespace: a DNS-1123 label name; spec finalizers qualified names."""
    errors = list(validate_object_meta(ns.metadata, namespaced=False, rule=NameRule.DNS1123_LABEL))
    for i, f in enumerate(ns.spec.finalizers):
        p = index(child("spec", "finalizers"), i)
        messages = is_qualified_name(f)
        errors.extend(invalid(p, f, m) for m in messages)
        if not messages and "/" not in f and f != "kubernetes":
            errors.append(
                invalid(p, f, "name is neither a standard finalizer name nor is it fully qualified")
            )
    return tuple(errors)


def validate_node(node: Node) -> Errors:
    """ValidateNode: a DNS-1123 subdomain name, valid taints and pod CIDRs."""
    errors = list(
        validate_object_meta(node.metadata, namespaced=False, rule=NameRule.DNS1123_SUBDOMAIN)
    )
    seen: set[tuple[str, str]] = set()
    for i, taint in enumerate(node.spec.taints):
        p = index(child("spec", "taints"), i)
        errors.extend(validate_label_name(taint.key, child(p, "key")))
        messages = is_valid_label_value(taint.value)
        if messages:
            errors.append(invalid(child(p, "value"), taint.value, ";".join(messages)))
        pair = (taint.key, taint.effect.value)
        if pair in seen:
            errors.append(duplicate(p, f"{taint.key}:{taint.effect.value}"))
        seen.add(pair)
    cidrs = node.spec.pod_cidrs or ((node.spec.pod_cidr,) if node.spec.pod_cidr else ())
    for i, cidr in enumerate(cidrs):
        errors.extend(
            invalid(index(child("spec", "podCIDRs"), i), cidr, m) for m in is_valid_cidr(cidr)
        )
    return tuple(errors)


# ---- Service ---------------------------------------------------------------------------


def validate_service(svc: Service) -> Errors:
    """ValidateService: ports, selector, clusterIP shape, type-specific rules."""
    spec = svc.spec
    errors = list(validate_object_meta(svc.metadata, namespaced=True, rule=NameRule.DNS1035_LABEL))
    headless = spec.cluster_ip == CLUSTER_IP_NONE
    if not spec.ports and not headless and spec.type is not ServiceType.EXTERNAL_NAME:
        errors.append(required("spec.ports", ""))
    match spec.type:
        case ServiceType.LOAD_BALANCER | ServiceType.NODE_PORT:
            if headless:
                errors.append(
                    invalid(
                        "spec.clusterIP",
                        spec.cluster_ip,
                        f"may not be set to 'None' for {spec.type.value} services",
                    )
                )
        case ServiceType.EXTERNAL_NAME:
            if spec.cluster_ip:
                errors.append(
                    forbidden("spec.clusterIP", "must be empty for ExternalName services")
                )
            if spec.external_name:
                errors.extend(dns1123_subdomain(spec.external_name, "spec.externalName"))
            else:
                errors.append(required("spec.externalName", ""))
        case ServiceType.CLUSTER_IP:
            for i, port in enumerate(spec.ports):
                if port.node_port:
                    errors.append(
                        forbidden(
                            child(index("spec.ports", i), "nodePort"),
                            "may not be used when `type` is 'ClusterIP'",
                        )
                    )
    names: set[str] = set()
    for i, port in enumerate(spec.ports):
        errors.extend(_service_port(port, len(spec.ports) > 1, names, index("spec.ports", i)))
    errors.extend(validate_labels(spec.selector, "spec.selector"))
    if spec.session_affinity is ServiceAffinity.CLIENT_IP:
        cfg = spec.session_affinity_config
        timeout = None if cfg is None or cfg.client_ip is None else cfg.client_ip.timeout_seconds
        if timeout is not None and not 0 < timeout <= MAX_CLIENT_IP_AFFINITY_SECONDS:
            errors.append(
                invalid(
                    "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
                    timeout,
                    f"must be greater than 0 and less than {MAX_CLIENT_IP_AFFINITY_SECONDS}",
                )
            )
    elif spec.session_affinity_config is not None:
        errors.append(
            forbidden("spec.sessionAffinityConfig", "must not be set when session affinity is None")
        )
    local_lb = spec.type is ServiceType.LOAD_BALANCER and spec.external_traffic_policy is TrafficPolicy.LOCAL
    if spec.health_check_node_port and not local_lb:
        errors.append(
            invalid(
                "spec.healthCheckNodePort",
                spec.health_check_node_port,
                "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
            )
        )
    errors.extend(_cluster_ips(svc))
    for i, ip in enumerate(spec.external_ips):
        errors.extend(invalid(index("spec.externalIPs", i), ip, m) for m in is_valid_ip(ip))
    errors.extend(_duplicate_ports(spec.ports))
    return tuple(errors)


def _service_port(port: ServicePort, require_name: bool, names: set[str], path: str) -> Errors:
    errors: list[FieldError] = []
    if require_name and not port.name:
        errors.append(required(child(path, "name"), ""))
    elif port.name:
        errors.extend(dns1123_label(port.name, child(path, "name")))
        if port.name in names:
            errors.append(duplicate(child(path, "name"), port.name))
        names.add(port.name)
    errors.extend(invalid(child(path, "port"), port.port, m) for m in is_valid_port_num(port.port))
    target = port.target_port
    if isinstance(target, int):
        errors.extend(
            invalid(child(path, "targetPort"), target, m) for m in is_valid_port_num(target)
        )
    elif isinstance(target, str):
        errors.extend(
            invalid(child(path, "targetPort"), target, m) for m in is_valid_port_name(target)
        )
    return tuple(errors)


def _cluster_ips(svc: Service) -> Errors:
    spec = svc.spec
    errors: list[FieldError] = []
    if spec.cluster_ip and spec.cluster_ip != CLUSTER_IP_NONE and is_valid_ip(spec.cluster_ip):
        errors.append(
            invalid(
                "spec.clusterIPs[0]",
                spec.cluster_ip,
                "must be empty, 'None', or a valid IP address",
            )
        )
    if spec.cluster_ips and spec.cluster_ips[0] != spec.cluster_ip:
        errors.append(
            invalid_rendered(
                "spec.clusterIPs",
                "[]string{" + ", ".join(f'"{ip}"' for ip in spec.cluster_ips) + "}",
                "first value must match `clusterIP`",
            )
        )
    return tuple(errors)


def _duplicate_ports(ports: tuple[ServicePort, ...]) -> Errors:
    errors: list[FieldError] = []
    node_ports: set[tuple[str, int]] = set()
    for i, port in enumerate(ports):
        if port.node_port:
            pair = (port.protocol.value, port.node_port)
            if pair in node_ports:
                errors.append(duplicate(child(index("spec.ports", i), "nodePort"), port.node_port))
            node_ports.add(pair)
    service_ports: set[tuple[str, int]] = set()
    for i, port in enumerate(ports):
        pair = (port.protocol.value, port.port)
        if pair in service_ports:
            errors.append(duplicate(index("spec.ports", i), f"{port.port}/{port.protocol.value}"))
        service_ports.add(pair)
    return tuple(errors)


def validate_service_update(new: Service, old: Service) -> Errors:
    """ValidateServiceUpdate: an allocated clusterIP never changes."""
    errors = list(validate_object_meta_update(new.metadata, old.metadata))
    if (
        new.spec.type is not ServiceType.EXTERNAL_NAME
        and old.spec.type is not ServiceType.EXTERNAL_NAME
        and old.spec.cluster_ip
    ):
        errors.extend(immutable(new.spec.cluster_ip, old.spec.cluster_ip, "spec.clusterIP"))
    return (*errors, *validate_service(new))


# ---- Endpoints, Event, ServiceAccount ----------------------------------------------------


def validate_endpoints(ep: Endpoints) -> Errors:
    """ValidateEndpoints: each subset has addresses and valid ports."""
    errors = list(
        validate_object_meta(ep.metadata, namespaced=True, rule=NameRule.DNS1123_SUBDOMAIN)
    )
    for i, subset in enumerate(ep.subsets):
        p = index("subsets", i)
        if not subset.addresses and not subset.not_ready_addresses:
            errors.append(required(p, "must specify `addresses` or `notReadyAddresses`"))
        for name, addresses in (
            ("addresses", subset.addresses),
            ("notReadyAddresses", subset.not_ready_addresses),
        ):
            for j, address in enumerate(addresses):
                errors.extend(_endpoint_address(address, index(child(p, name), j)))
        for j, port in enumerate(subset.ports):
            pp = index(child(p, "ports"), j)
            if len(subset.ports) > 1 and not port.name:
                errors.append(required(child(pp, "name"), ""))
            elif port.name:
                errors.extend(dns1123_label(port.name, child(pp, "name")))
            errors.extend(
                invalid(child(pp, "port"), port.port, m) for m in is_valid_port_num(port.port)
            )
    return tuple(errors)


def _endpoint_address(address: EndpointAddress, path: str) -> Errors:
    errors = [invalid(child(path, "ip"), address.ip, m) for m in is_valid_ip(address.ip)]
    if address.hostname:
        errors.extend(dns1123_label(address.hostname, child(path, "hostname")))
    if address.node_name:
        errors.extend(dns1123_subdomain(address.node_name, child(path, "nodeName")))
    return tuple(errors)


def validate_event(ev: Event) -> Errors:
    """ValidateEventCreate: the involved object lives in the event's namespace."""
    errors = list(
        validate_object_meta(ev.metadata, namespaced=True, rule=NameRule.DNS1123_SUBDOMAIN)
    )
    involved = ev.involved_object.namespace
    if involved and involved != ev.metadata.namespace:
        errors.append(
            invalid("involvedObject.namespace", involved, "does not match event.namespace")
        )
    return tuple(errors)


def validate_service_account(sa: ServiceAccount) -> Errors:
    return validate_object_meta(sa.metadata, namespaced=True, rule=NameRule.DNS1123_SUBDOMAIN)


# ---- ConfigMap, Secret -----------------------------------------------------------------


def _data_keys(keys: list[str], path: str) -> Errors:
    return tuple(invalid(key(path, k), k, m) for k in keys for m in is_config_map_key(k))


def validate_config_map(cm: ConfigMap) -> Errors:
    """ValidateConfigMap: valid keys, none in both maps, total size at most 1 MiB."""
    errors = list(
        validate_object_meta(cm.metadata, namespaced=True, rule=NameRule.DNS1123_SUBDOMAIN)
    )
    errors.extend(_data_keys(sorted(cm.data), "data"))
    errors.extend(_data_keys(sorted(cm.binary_data), "binaryData"))
    errors.extend(
        invalid(key("binaryData", k), k, "duplicate of key present in data")
        for k in sorted(cm.binary_data)
        if k in cm.data
    )
    size = sum(len(v.encode()) for v in cm.data.values()) + sum(
        len(v) for v in cm.binary_data.values()
    )
    if size > MAX_SECRET_SIZE:
        errors.append(too_long("", "", MAX_SECRET_SIZE))
    return tuple(errors)


def validate_config_map_update(new: ConfigMap, old: ConfigMap) -> Errors:
    errors = [*validate_object_meta_update(new.metadata, old.metadata)]
    if old.immutable:
        if not new.immutable:
            errors.append(forbidden("immutable", IMMUTABLE_WHEN_SET))
        if new.data != old.data:
            errors.append(forbidden("data", IMMUTABLE_WHEN_SET))
        if new.binary_data != old.binary_data:
            errors.append(forbidden("binaryData", IMMUTABLE_WHEN_SET))
    return (*errors, *validate_config_map(new))


def validate_secret(secret: Secret) -> Errors:
    """ValidateSecret: valid keys, total size at most 1 MiB, type-specific keys."""
    errors = list(
        validate_object_meta(secret.metadata, namespaced=True, rule=NameRule.DNS1123_SUBDOMAIN)
    )
    data = {
        **{k: v for k, v in secret.data.items()},
        **{k: v.encode() for k, v in secret.string_data.items()},
    }
    errors.extend(_data_keys(sorted(data), "data"))
    if sum(len(v) for v in data.values()) > MAX_SECRET_SIZE:
        errors.append(too_long("data", "", MAX_SECRET_SIZE))
    errors.extend(_secret_type(secret.type, data, secret.metadata.annotations))
    return tuple(errors)


def _secret_type(kind: str, data: Mapping[str, bytes], annotations: Mapping[str, str]) -> Errors:
    match kind:
        case "kubernetes.io/service-account-token":
            if not annotations.get("kubernetes.io/service-account.name"):
                return (required("metadata.annotations[kubernetes.io/service-account.name]", ""),)
        case "kubernetes.io/tls":
            return tuple(
                required(key("data", k), "") for k in ("tls.crt", "tls.key") if k not in data
            )
        case "kubernetes.io/basic-auth":
            if "username" not in data and "password" not in data:
                return (required("data[username]", ""), required("data[password]", ""))
        case "kubernetes.io/ssh-auth":
            if "ssh-privatekey" not in data:
                return (required("data[ssh-privatekey]", ""),)
        case _:
            return ()
    return ()


def validate_secret_update(new: Secret, old: Secret) -> Errors:
    errors = [*validate_object_meta_update(new.metadata, old.metadata)]
    errors.extend(immutable(new.type, old.type, "type"))
    if old.immutable:
        if not new.immutable:
            errors.append(forbidden("immutable", IMMUTABLE_WHEN_SET))
        if new.data != old.data:
            errors.append(forbidden("data", IMMUTABLE_WHEN_SET))
    return (*errors, *validate_secret(new))


# ---- ResourceQuota, LimitRange -------------------------------------------------------------


def _quota_resource_name(name: str, path: str) -> Errors:
    errors = tuple(invalid(path, name, m) for m in is_qualified_name(name))
    if (
        "/" not in name
        and name not in STANDARD_QUOTA_RESOURCES
        and not (name.startswith(("requests.hugepages-", "limits.hugepages-", "hugepages-")))
    ):
        return (*errors, invalid(path, name, "must be a standard resource for quota"))
    return errors


def _quantity_value(name: str, q: Quantity, path: str, integer: bool) -> Errors:
    if q.sign() < 0:
        return (invalid(path, str(q), NEGATIVE_ERROR_MSG),)
    if integer and q.nanos % 10**9:
        return (invalid(path, str(q), "must be an integer"),)
    return ()


def validate_resource_quota(rq: ResourceQuota) -> Errors:
    """ValidateResourceQuota: standard (or qualified) resource names, valid amounts."""
    errors = list(
        validate_object_meta(rq.metadata, namespaced=True, rule=NameRule.DNS1123_SUBDOMAIN)
    )
    for name in sorted(rq.spec.hard):
        p = key("spec.hard", name)
        errors.extend(_quota_resource_name(name, p))
        integer = name in INTEGER_QUOTA_RESOURCES or name.startswith("count/")
        errors.extend(_quantity_value(name, rq.spec.hard[name], p, integer))
    return tuple(errors)


def validate_limit_range(lr: LimitRange) -> Errors:
    """ValidateLimitRange: min <= defaultRequest <= default <= max, ratio >= 1."""
    errors = list(
        validate_object_meta(lr.metadata, namespaced=True, rule=NameRule.DNS1123_SUBDOMAIN)
    )
    for i, item in enumerate(lr.spec.limits):
        errors.extend(_limit_range_item(item, index("spec.limits", i)))
    return tuple(errors)


def _limit_range_item(item: LimitRangeItem, path: str) -> Errors:
    errors: list[FieldError] = []
    if item.type is LimitType.POD:
        if item.default:
            errors.append(
                forbidden(child(path, "default"), "may not be specified when `type` is 'Pod'")
            )
        if item.default_request:
            errors.append(
                forbidden(
                    child(path, "defaultRequest"), "may not be specified when `type` is 'Pod'"
                )
            )
    names: set[str] = set()
    for field_name, values in (
        ("max", item.max),
        ("min", item.min),
        ("default", item.default),
        ("defaultRequest", item.default_request),
        ("maxLimitRequestRatio", item.max_limit_request_ratio),
    ):
        for name in sorted(values):
            errors.extend(
                _quantity_value(name, values[name], key(child(path, field_name), name), False)
            )
            names.add(name)
    for name in sorted(names):
        errors.extend(_limit_range_bounds(item, name, path))
    return tuple(errors)


def _limit_range_bounds(item: LimitRangeItem, name: str, path: str) -> Errors:
    lo, hi = item.min.get(name), item.max.get(name)
    default, request = item.default.get(name), item.default_request.get(name)
    ratio = item.max_limit_request_ratio.get(name)
    errors: list[FieldError] = []

    def check(
        a: Quantity | None, b: Quantity | None, where: str, shown: Quantity, text: str
    ) -> None:
        if a is not None and b is not None and a > b:
            errors.append(invalid(key(child(path, where), name), str(shown), text.format(a=a, b=b)))

    check(lo, hi, "min", lo or Quantity(nanos=0), "min value {a} is greater than max value {b}")
    check(
        lo,
        request,
        "defaultRequest",
        request or Quantity(nanos=0),
        "min value {a} is greater than default request value {b}",
    )
    check(
        request,
        hi,
        "defaultRequest",
        request or Quantity(nanos=0),
        "default request value {a} is greater than max value {b}",
    )
    check(
        request,
        default,
        "defaultRequest",
        request or Quantity(nanos=0),
        "default request value {a} is greater than default limit value {b}",
    )
    check(
        lo,
        default,
        "default",
        lo or Quantity(nanos=0),
        "min value {a} is greater than default value {b}",
    )
    check(
        default,
        hi,
        "default",
        hi or Quantity(nanos=0),
        "default value {a} is greater than max value {b}",
    )
    if ratio is not None and ratio < Quantity.from_int(1):
        errors.append(
            invalid(
                key(child(path, "maxLimitRequestRatio"), name),
                str(ratio),
                f"ratio {ratio} is less than 1",
            )
        )
    if ratio is not None and lo is not None and hi is not None and lo.sign() > 0:
        limit = hi.as_fraction() / lo.as_fraction()
        if ratio.as_fraction() > limit:
            errors.append(
                invalid(
                    key(child(path, "maxLimitRequestRatio"), name),
                    str(ratio),
                    f"ratio {ratio} is greater than max/min = {float(limit):f}",
                )
            )
    return tuple(errors)


# ---- PersistentVolumeClaim ---------------------------------------------------------------


def validate_pvc(pvc: PersistentVolumeClaim) -> Errors:
    """ValidatePersistentVolumeClaim: access modes and a positive storage request."""
    errors = list(
        validate_object_meta(pvc.metadata, namespaced=True, rule=NameRule.DNS1123_SUBDOMAIN)
    )
    spec = pvc.spec
    if not spec.access_modes:
        errors.append(required("spec.accessModes", "at least 1 access mode is required"))
    storage = spec.resources.requests.get("storage")
    if storage is None:
        errors.append(required("spec.resources[storage]", ""))
    elif storage.sign() <= 0:
        errors.append(invalid("spec.resources[storage]", str(storage), "must be greater than zero"))
    return tuple(errors)


def validate_pvc_update(new: PersistentVolumeClaim, old: PersistentVolumeClaim) -> Errors:
    """ValidatePersistentVolumeClaimUpdate: the spec is immutable except a bound claim's
    storage request (which may only grow) and the binder's volumeName."""
    errors = [*validate_object_meta_update(new.metadata, old.metadata), *validate_pvc(new)]
    new_spec = new.spec
    if not old.spec.volume_name:
        new_spec = attrs.evolve(new_spec, volume_name=old.spec.volume_name)
    bound = new.status.phase is PersistentVolumeClaimPhase.BOUND
    if bound:
        new_spec = attrs.evolve(new_spec, resources=old.spec.resources)
    if new_spec != old.spec:
        errors.append(
            forbidden(
                "spec",
                "spec is immutable after creation except resources.requests for bound claims",
            )
        )
    new_size = new.spec.resources.requests.get("storage")
    old_size = old.spec.resources.requests.get("storage")
    if bound and new_size is not None and old_size is not None and new_size < old_size:
        errors.append(
            forbidden(
                "spec.resources.requests.storage", "field can not be less than previous value"
            )
        )
    return tuple(errors)


# ---- ReplicationController -------------------------------------------------------------------


def validate_replication_controller(rc: ReplicationController) -> Errors:
    """ValidateReplicationController: non-empty selector matching the template labels."""
    spec = rc.spec
    errors = list(
        validate_object_meta(rc.metadata, namespaced=True, rule=NameRule.DNS1123_SUBDOMAIN)
    )
    errors.extend(non_negative(spec.min_ready_seconds, "spec.minReadySeconds"))
    if not spec.selector:
        errors.append(required("spec.selector", ""))
    errors.extend(validate_labels(spec.selector, "spec.selector"))
    errors.extend(non_negative(spec.replicas, "spec.replicas"))
    template = spec.template
    if template is None:
        errors.append(required("spec.template", ""))
        return tuple(errors)
    if spec.selector and not selector_from_set(spec.selector).matches(template.metadata.labels):
        errors.append(selector_mismatch(template.metadata.labels, "spec.template.metadata.labels"))
    errors.extend(validate_pod_template(template, "spec.template"))
    errors.extend(
        template_restart_always(template.spec.restart_policy, "spec.template.spec.restartPolicy")
    )
    if template.spec.active_deadline_seconds is not None:
        errors.append(
            invalid(
                "spec.template.spec.activeDeadlineSeconds",
                template.spec.active_deadline_seconds,
                "activeDeadlineSeconds in ReplicationController is not Supported",
            )
        )
    return tuple(errors)


def template_restart_always(policy: RestartPolicy, path: str) -> Errors:
    """Controllers of long-running pods accept only restartPolicy Always."""
    if policy is RestartPolicy.ALWAYS:
        return ()
    return (not_supported(path, policy, (RestartPolicy.ALWAYS,)),)
