"""Validation of pods and pod templates: the pod spec, and what a pod update may change.

Owns `validate_pod` (create), `validate_pod_update`, `validate_pod_spec` and
`validate_pod_template` (reused by ReplicationController and the apps and batch kinds).

Rules: pure functions returning `FieldError`s in upstream's order and wording; maps are
read in sorted key order. Closed string sets (restartPolicy, dnsPolicy, protocols,
operators, effects) are enums the codec already checked, so only the cross-field rules
remain here. Quantities arrive parsed; only their sign and integrality are checked.

Mirrors pkg/apis/core/validation/validation.go (ValidatePodSpec, validateContainers,
validateInitContainers, validateContainerPorts, validateEnv, ValidateResourceRequirements,
validateVolumes, ValidateVolumeMounts, validateProbe, validateHandler, validateAffinity,
ValidateTolerations, validateTopologySpreadConstraints, ValidatePodUpdate,
ValidatePodTemplateSpec).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

import attrs
from pyrsistent.typing import PMap

from kcore.api.pod import (
    Container,
    ContainerPort,
    ContainerRestartPolicy,
    DNSPolicy,
    EnvVar,
    ExecAction,
    HTTPGetAction,
    LifecycleHandler,
    MountPropagationMode,
    NodeSelector,
    NodeSelectorOperator,
    NodeSelectorRequirement,
    NodeSelectorTerm,
    Pod,
    PodAffinityTerm,
    PodSpec,
    PodTemplateSpec,
    Probe,
    RecursiveReadOnlyMode,
    ResourceRequirements,
    TaintEffect,
    TCPSocketAction,
    Toleration,
    TolerationOperator,
    TopologySpreadConstraint,
    UnsatisfiableConstraintAction,
    Volume,
    VolumeMount,
    WeightedPodAffinityTerm,
)
from kcore.api.validation.meta import (
    Errors,
    NameRule,
    dns1123_label,
    dns1123_subdomain,
    label_errors,
    label_key_errors,
    non_negative,
    plain_label_key,
    validate_annotations,
    validate_label_selector,
    validate_object_meta,
    validate_object_meta_update,
)
from kcore.labels import validate_label_name
from kcore.quantity import Quantity
from kcore.util_validation import (
    NEGATIVE_ERROR_MSG,
    FieldError,
    child,
    duplicate,
    forbidden,
    inclusive_range_error,
    index,
    invalid,
    is_dns1123_label,
    is_env_var_name,
    is_qualified_name,
    is_valid_label_value,
    is_valid_port_name,
    is_valid_port_num,
    key,
    not_found,
    required,
    too_many,
)

MAX_INT32: Final = 2**31 - 1
STANDARD_CONTAINER_RESOURCES: Final = frozenset(("cpu", "memory", "ephemeral-storage"))
HUGEPAGES_PREFIX: Final = "hugepages-"
UPDATABLE_POD_SPEC_FIELDS: Final = (
    "`spec.containers[*].image`",
    "`spec.initContainers[*].image`",
    "`spec.activeDeadlineSeconds`",
    "`spec.tolerations` (only additions to existing tolerations)",
    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
)
POD_UPDATE_FORBIDDEN: Final = "pod updates may not change fields other than " + ",".join(
    UPDATABLE_POD_SPEC_FIELDS
)


# ---- entry points ------------------------------------------------------------------------


def validate_pod(pod: Pod) -> Errors:
    """ValidatePodCreate: metadata (DNS-1123 subdomain name) and the spec."""
    return (
        *validate_object_meta(pod.metadata, namespaced=True, rule=NameRule.DNS1123_SUBDOMAIN),
        *validate_pod_spec(pod.spec, "spec"),
    )


def validate_pod_template(
    template: PodTemplateSpec, path: str, claim_names: frozenset[str] = frozenset()
) -> Errors:
    """ValidatePodTemplateSpec: template labels and annotations, then the pod spec.

    `claim_names` are volumes the controller adds (a StatefulSet's volumeClaimTemplates):
    mounts may name them.
    """
    meta = child(path, "metadata")
    return (
        *label_errors(template.metadata.labels, child(meta, "labels")),
        *validate_annotations(template.metadata.annotations, child(meta, "annotations")),
        *validate_pod_spec(template.spec, child(path, "spec"), claim_names),
    )


def validate_pod_spec(
    spec: PodSpec, path: str, claim_names: frozenset[str] = frozenset()
) -> Errors:
    """ValidatePodSpec: every rule on a pod spec that does not depend on an old object."""
    volume_names = frozenset(v.name for v in spec.volumes) | claim_names
    errors: list[FieldError] = []
    if spec.volumes:
        errors.extend(validate_volumes(spec.volumes, child(path, "volumes")))
    errors.extend(validate_containers(spec.containers, volume_names, child(path, "containers")))
    if spec.init_containers:
        errors.extend(
            validate_init_containers(
                spec.init_containers,
                frozenset(c.name for c in spec.containers),
                volume_names,
                child(path, "initContainers"),
            )
        )
    errors.extend(_host_ports(spec, path))
    if spec.host_network:
        errors.extend(_host_network(spec.containers, child(path, "containers")))
        errors.extend(_host_network(spec.init_containers, child(path, "initContainers")))
    if spec.dns_policy is DNSPolicy.NONE and spec.dns_config is None:
        errors.append(
            required(child(path, "dnsConfig"), "must provide `dnsConfig` when `dnsPolicy` is None")
        )
    if spec.node_selector:
        errors.extend(label_errors(spec.node_selector, child(path, "nodeSelector")))
    # Unrolled (no tuple of pairs per call): every pod create runs these.
    if spec.service_account_name:
        errors.extend(dns1123_subdomain(spec.service_account_name, child(path, "serviceAccountName")))
    if spec.node_name:
        errors.extend(dns1123_subdomain(spec.node_name, child(path, "nodeName")))
    if spec.priority_class_name:
        errors.extend(dns1123_subdomain(spec.priority_class_name, child(path, "priorityClassName")))
    if spec.hostname:
        errors.extend(dns1123_label(spec.hostname, child(path, "hostname")))
    if spec.subdomain:
        errors.extend(dns1123_label(spec.subdomain, child(path, "subdomain")))
    if spec.active_deadline_seconds is not None and not (
        1 <= spec.active_deadline_seconds <= MAX_INT32
    ):
        errors.append(
            invalid(
                child(path, "activeDeadlineSeconds"),
                spec.active_deadline_seconds,
                inclusive_range_error(1, MAX_INT32),
            )
        )
    grace = spec.termination_grace_period_seconds
    if grace is not None and grace < 0:
        errors.extend(non_negative(grace, child(path, "terminationGracePeriodSeconds")))
    if spec.affinity is not None:
        errors.extend(_affinity(spec, child(path, "affinity")))
    if spec.tolerations:
        errors.extend(validate_tolerations(spec.tolerations, child(path, "tolerations")))
    if spec.topology_spread_constraints:
        errors.extend(
            _topology_spread(
                spec.topology_spread_constraints, child(path, "topologySpreadConstraints")
            )
        )
    return tuple(errors)


# ---- containers ----------------------------------------------------------------------------


def validate_containers(
    containers: tuple[Container, ...], volumes: frozenset[str], path: str
) -> Errors:
    """validateContainers: at least one, unique DNS-1123 label names, then each one."""
    if not containers:
        return (required(path, ""),)
    errors: list[FieldError] = []
    seen: set[str] = set()
    for i, c in enumerate(containers):
        p = index(path, i)
        name = c.name
        if name and name not in seen and not is_dns1123_label(name):
            seen.add(name)  # `_container_name` without building the path it would not use
        else:
            errors.extend(_container_name(name, seen, child(p, "name")))
        errors.extend(_container(c, volumes, p))
        if c.restart_policy is not None:
            errors.append(
                forbidden(child(p, "restartPolicy"), "may not be set for non-init containers")
            )
        if c.liveness_probe is not None and c.liveness_probe.success_threshold != 1:
            errors.append(
                invalid(
                    child(p, "livenessProbe", "successThreshold"),
                    c.liveness_probe.success_threshold,
                    "must be 1",
                )
            )
        if c.startup_probe is not None and c.startup_probe.success_threshold != 1:
            errors.append(
                invalid(
                    child(p, "startupProbe", "successThreshold"),
                    c.startup_probe.success_threshold,
                    "must be 1",
                )
            )
    return tuple(errors)


def validate_init_containers(
    containers: tuple[Container, ...],
    app_names: frozenset[str],
    volumes: frozenset[str],
    path: str,
) -> Errors:
    """validateInitContainers: names unique across all containers; probes only on sidecars."""
    errors: list[FieldError] = []
    seen: set[str] = set(app_names)
    for i, c in enumerate(containers):
        p = index(path, i)
        errors.extend(_container_name(c.name, seen, child(p, "name")))
        errors.extend(_container(c, volumes, p))
        if c.restart_policy is ContainerRestartPolicy.ALWAYS:
            continue
        for field_name, value in (
            ("lifecycle", c.lifecycle),
            ("livenessProbe", c.liveness_probe),
            ("readinessProbe", c.readiness_probe),
            ("startupProbe", c.startup_probe),
        ):
            if value is not None:
                errors.append(
                    forbidden(
                        child(p, field_name),
                        "may not be set for init containers without restartPolicy=Always",
                    )
                )
    return tuple(errors)


def _container_name(name: str, seen: set[str], path: str) -> Errors:
    if not name:
        return (required(path, ""),)
    errors = dns1123_label(name, path)
    if name in seen:
        errors = (*errors, duplicate(path, name))
    seen.add(name)
    return errors


def _container(c: Container, volumes: frozenset[str], path: str) -> Errors:
    errors: list[FieldError] = []
    if not c.image:
        errors.append(required(child(path, "image"), ""))
    elif c.image != c.image.strip():
        errors.append(
            invalid(child(path, "image"), c.image, "must not have leading or trailing whitespace")
        )
    # Empty lists are skipped before their paths are built: a create validates every pod.
    if c.ports:
        errors.extend(validate_container_ports(c.ports, child(path, "ports")))
    if c.env:
        errors.extend(_env(c.env, child(path, "env")))
    if c.volume_mounts:
        errors.extend(_volume_mounts(c.volume_mounts, volumes, child(path, "volumeMounts")))
    for field_name, probe in (
        ("livenessProbe", c.liveness_probe),
        ("readinessProbe", c.readiness_probe),
        ("startupProbe", c.startup_probe),
    ):
        if probe is not None:
            errors.extend(validate_probe(probe, child(path, field_name)))
    if c.lifecycle is not None:
        for field_name, handler in (
            ("postStart", c.lifecycle.post_start),
            ("preStop", c.lifecycle.pre_stop),
        ):
            if handler is not None:
                errors.extend(_lifecycle_handler(handler, child(path, "lifecycle", field_name)))
    res = c.resources
    if (res.limits or res.requests) and not _plainly_valid(res.limits, res.requests):
        errors.extend(validate_resource_requirements(res, child(path, "resources")))
    errors.extend(_restart_policy_rules(c, path))
    return tuple(errors)


def _restart_policy_rules(c: Container, path: str) -> Errors:
    """validateContainerRestartPolicy's rule checks (actions and operators are enums)."""
    rules = c.restart_policy_rules
    if not rules:
        return ()
    errors: list[FieldError] = []
    if c.restart_policy is None:
        errors.append(
            required(child(path, "restartPolicy"), "must be set when restartPolicyRules are used")
        )
    if len(rules) > 20:
        errors.append(too_many(child(path, "restartPolicyRules"), len(rules), 20))
    for i, rule in enumerate(rules):
        p = index(child(path, "restartPolicyRules"), i)
        if rule.exit_codes is None:
            errors.append(required(child(p, "exitCodes"), "must be specified"))
        elif len(rule.exit_codes.values) > 255:
            errors.append(
                too_many(child(p, "exitCodes", "values"), len(rule.exit_codes.values), 255)
            )
    return tuple(errors)


def validate_container_ports(ports: tuple[ContainerPort, ...], path: str) -> Errors:
    """validateContainerPorts: IANA_SVC_NAME names, unique; ports in 1..65535."""
    errors: list[FieldError] = []
    names: set[str] = set()
    for i, port in enumerate(ports):
        p = index(path, i)
        if port.name:
            messages = is_valid_port_name(port.name)
            if messages:
                errors.extend(invalid(child(p, "name"), port.name, m) for m in messages)
            elif port.name in names:
                errors.append(duplicate(child(p, "name"), port.name))
            else:
                names.add(port.name)
        if port.container_port == 0:
            errors.append(required(child(p, "containerPort"), ""))
        else:
            errors.extend(
                invalid(child(p, "containerPort"), port.container_port, m)
                for m in is_valid_port_num(port.container_port)
            )
        if port.host_port != 0:
            errors.extend(
                invalid(child(p, "hostPort"), port.host_port, m)
                for m in is_valid_port_num(port.host_port)
            )
    return tuple(errors)


def _host_ports(spec: PodSpec, path: str) -> Errors:
    """AccumulateUniqueHostPorts: one (protocol, hostIP, hostPort) per pod."""
    errors: list[FieldError] = []
    seen: set[str] = set()
    for field_name, containers in (
        ("containers", spec.containers),
        ("initContainers", spec.init_containers),
    ):
        for ci, c in enumerate(containers):
            for pi, port in enumerate(c.ports):
                if port.host_port == 0:
                    continue
                text = f"{port.protocol.value}/{port.host_ip}/{port.host_port}"
                p = child(index(child(index(child(path, field_name), ci), "ports"), pi), "hostPort")
                if text in seen:
                    errors.append(duplicate(p, text))
                seen.add(text)
    return tuple(errors)


def _host_network(containers: tuple[Container, ...], path: str) -> Errors:
    return tuple(
        invalid(
            child(index(child(index(path, ci), "ports"), pi), "containerPort"),
            port.container_port,
            "must match `hostPort` when `hostNetwork` is true",
        )
        for ci, c in enumerate(containers)
        for pi, port in enumerate(c.ports)
        if port.host_port != port.container_port
    )


def _env(env: tuple[EnvVar, ...], path: str) -> Errors:
    errors: list[FieldError] = []
    for i, var in enumerate(env):
        p = index(path, i)
        if not var.name:
            errors.append(required(child(p, "name"), ""))
        else:
            errors.extend(invalid(child(p, "name"), var.name, m) for m in is_env_var_name(var.name))
        source = var.value_from
        if source is None:
            continue
        sp = child(p, "valueFrom")
        count = sum(
            x is not None
            for x in (
                source.field_ref,
                source.resource_field_ref,
                source.config_map_key_ref,
                source.secret_key_ref,
            )
        )
        if count == 0:
            errors.append(
                invalid(
                    sp,
                    "",
                    "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
                )
            )
        elif count > 1:
            errors.append(invalid(sp, "", "may not have more than one field specified at a time"))
        if var.value and count:
            errors.append(invalid(sp, "", "may not be specified when `value` is not empty"))
        for ref_name, ref in (
            ("configMapKeyRef", source.config_map_key_ref),
            ("secretKeyRef", source.secret_key_ref),
        ):
            if ref is not None and not ref.name:
                errors.append(required(child(sp, ref_name, "name"), ""))
            if ref is not None and not ref.key:
                errors.append(required(child(sp, ref_name, "key"), ""))
    return tuple(errors)


def _volume_mounts(mounts: tuple[VolumeMount, ...], volumes: frozenset[str], path: str) -> Errors:
    errors: list[FieldError] = []
    mount_points: set[str] = set()
    for i, m in enumerate(mounts):
        p = index(path, i)
        if not m.name:
            errors.append(required(child(p, "name"), ""))
        if m.name not in volumes:
            errors.append(not_found(child(p, "name"), m.name))
        if not m.mount_path:
            errors.append(required(child(p, "mountPath"), ""))
        if m.mount_path in mount_points:
            errors.append(invalid(child(p, "mountPath"), m.mount_path, "must be unique"))
        mount_points.add(m.mount_path)
        if m.sub_path and (m.sub_path.startswith("/") or ".." in m.sub_path.split("/")):
            detail = (
                "must be a relative path" if m.sub_path.startswith("/") else "must not contain '..'"
            )
            errors.append(invalid(child(p, "subPath"), m.sub_path, detail))
        rro = m.recursive_read_only
        if rro is not None and rro is not RecursiveReadOnlyMode.DISABLED:
            if not m.read_only:
                errors.append(
                    forbidden(
                        child(p, "recursiveReadOnly"), "may only be specified when readOnly is true"
                    )
                )
            if m.mount_propagation not in (None, MountPropagationMode.NONE):
                errors.append(
                    forbidden(
                        child(p, "recursiveReadOnly"),
                        "may only be specified when mountPropagation is None or not specified",
                    )
                )
    return tuple(errors)


# ---- resources -----------------------------------------------------------------------------


def _is_native(name: str) -> bool:
    return "/" not in name or "kubernetes.io/" in name


def _overcommit_allowed(name: str) -> bool:
    return _is_native(name) and not name.startswith(HUGEPAGES_PREFIX)


def _resource_name(name: str, path: str) -> Errors:
    """validateContainerResourceName."""
    if name in STANDARD_CONTAINER_RESOURCES:
        return ()  # valid qualified names: no need for the regexes
    errors = tuple(invalid(path, name, m) for m in is_qualified_name(name))
    if "/" not in name:
        if name not in STANDARD_CONTAINER_RESOURCES and not name.startswith(HUGEPAGES_PREFIX):
            return (*errors, invalid(path, name, "must be a standard resource for containers"))
    elif not _is_native(name) and (
        name.startswith("requests.") or is_qualified_name("requests." + name)
    ):
        return (*errors, invalid(path, name, "doesn't follow extended resource name standard"))
    return errors


def _quantity_value(name: str, q: Quantity, path: str) -> Errors:
    """ValidateResourceQuantityValue: non-negative; integral for non-cpu extended names."""
    if q.sign() < 0:
        return (invalid(path, str(q), NEGATIVE_ERROR_MSG),)
    if not _overcommit_allowed(name) and not name.startswith(HUGEPAGES_PREFIX) and q.nanos % 10**9:
        return (invalid(path, str(q), "must be an integer"),)
    return ()


def _plainly_valid(limits: PMap[str, Quantity], requests: PMap[str, Quantity]) -> bool:
    """Every entry standard and non-negative, every request within its limit: no rule of
    `validate_resource_requirements` can fail (checked without sorting or paths)."""
    for name, q in limits.iteritems():
        if q.nanos < 0 or name not in STANDARD_CONTAINER_RESOURCES:
            return False
    for name, q in requests.iteritems():
        if q.nanos < 0 or name not in STANDARD_CONTAINER_RESOURCES:
            return False
        if limits:
            limit = limits.get(name)
            if limit is not None and q.nanos > limit.nanos:
                return False
    return True


def validate_resource_requirements(res: ResourceRequirements, path: str) -> Errors:
    """ValidateResourceRequirements: valid names, non-negative, requests <= limits.

    A standard resource (cpu, memory, ephemeral-storage) with a non-negative value, and a
    request within its limit, cannot fail any rule: it is passed before a path is built.
    """
    limits, requests = res.limits, res.requests
    if _plainly_valid(limits, requests):
        return ()
    errors: list[FieldError] = []
    lim_path, req_path = child(path, "limits"), child(path, "requests")
    for name in sorted(limits):
        q = limits[name]
        if q.nanos >= 0 and name in STANDARD_CONTAINER_RESOURCES:
            continue
        p = key(lim_path, name)
        errors.extend(_resource_name(name, p))
        errors.extend(_quantity_value(name, q, p))
    for name in sorted(requests):
        q = requests[name]
        limit = limits.get(name)
        if (
            q.nanos >= 0
            and name in STANDARD_CONTAINER_RESOURCES
            and (limit is None or q.nanos <= limit.nanos)
        ):
            continue
        p = key(req_path, name)
        errors.extend(_resource_name(name, p))
        errors.extend(_quantity_value(name, q, p))
        if limit is not None:
            if q != limit and not _overcommit_allowed(name):
                errors.append(
                    invalid(req_path, str(q), f"must be equal to {name} limit of {limit}")
                )
            elif q > limit:
                errors.append(
                    invalid(
                        req_path, str(q), f"must be less than or equal to {name} limit of {limit}"
                    )
                )
        elif not _overcommit_allowed(name):
            errors.append(required(lim_path, "Limit must be set for non overcommitable resources"))
    return tuple(errors)


# ---- volumes ---------------------------------------------------------------------------


_VOLUME_SOURCES: Final = (
    ("emptyDir", "empty_dir"),
    ("configMap", "config_map"),
    ("secret", "secret"),
    ("hostPath", "host_path"),
    ("persistentVolumeClaim", "persistent_volume_claim"),
    ("projected", "projected"),
    ("downwardAPI", "downward_api"),
    ("image", "image"),
)


def validate_volumes(volumes: tuple[Volume, ...], path: str) -> Errors:
    """validateVolumes: unique DNS-1123 label names, exactly one source each."""
    errors: list[FieldError] = []
    names: set[str] = set()
    for i, vol in enumerate(volumes):
        p = index(path, i)
        errors.extend(_volume_source(vol, p))
        if not vol.name:
            errors.append(required(child(p, "name"), ""))
        else:
            errors.extend(dns1123_label(vol.name, child(p, "name")))
        if vol.name in names:
            errors.append(duplicate(child(p, "name"), vol.name))
        names.add(vol.name)
    return tuple(errors)


def _volume_source(vol: Volume, path: str) -> Errors:
    errors: list[FieldError] = []
    count = 0
    for wire_name, attr in _VOLUME_SOURCES:
        if getattr(vol, attr) is None:
            continue
        count += 1
        if count > 1:
            errors.append(
                forbidden(child(path, wire_name), "may not specify more than 1 volume type")
            )
    if count == 0:
        errors.append(required(path, "must specify a volume type"))
    if vol.config_map is not None and not vol.config_map.name:
        errors.append(required(child(path, "configMap", "name"), ""))
    if vol.secret is not None and not vol.secret.secret_name:
        errors.append(required(child(path, "secret", "secretName"), ""))
    if vol.host_path is not None and not vol.host_path.path:
        errors.append(required(child(path, "hostPath", "path"), ""))
    if vol.persistent_volume_claim is not None and not vol.persistent_volume_claim.claim_name:
        errors.append(required(child(path, "persistentVolumeClaim", "claimName"), ""))
    size = vol.empty_dir.size_limit if vol.empty_dir is not None else None
    if size is not None and size.sign() < 0:
        errors.append(
            forbidden(
                child(path, "emptyDir", "sizeLimit"),
                "SizeLimit field must be a valid resource quantity",
            )
        )
    return tuple(errors)


# ---- probes and handlers ---------------------------------------------------------------


def _port_num_or_name(port: int | str, path: str) -> Errors:
    if isinstance(port, int):
        return tuple(invalid(path, port, m) for m in is_valid_port_num(port))
    return tuple(invalid(path, port, m) for m in is_valid_port_name(port))


def _handlers(path: str, handlers: tuple[tuple[str, object | None], ...]) -> Errors:
    set_names = [name for name, h in handlers if h is not None]
    if not set_names:
        return (required(path, "must specify a handler type"),)
    if len(set_names) > 1:
        return (forbidden(child(path, set_names[1]), "may not specify more than 1 handler type"),)
    return ()


def _handler_details(
    path: str,
    exec_: object | None,
    http_get: object | None,
    tcp_socket: object | None,
) -> Errors:
    errors: list[FieldError] = []
    if isinstance(exec_, ExecAction) and not exec_.command:
        errors.append(required(child(path, "exec", "command"), ""))
    if isinstance(http_get, HTTPGetAction):
        if not http_get.path:
            errors.append(required(child(path, "httpGet", "path"), ""))
        errors.extend(_port_num_or_name(http_get.port, child(path, "httpGet", "port")))
    if isinstance(tcp_socket, TCPSocketAction):
        errors.extend(_port_num_or_name(tcp_socket.port, child(path, "tcpSocket", "port")))
    return tuple(errors)


def validate_probe(probe: Probe, path: str) -> Errors:
    """validateProbe: one handler, non-negative timings, positive probe grace period."""
    errors: list[FieldError] = [
        *_handlers(
            path,
            (
                ("exec", probe.exec),
                ("httpGet", probe.http_get),
                ("tcpSocket", probe.tcp_socket),
                ("grpc", probe.grpc),
            ),
        ),
        *_handler_details(path, probe.exec, probe.http_get, probe.tcp_socket),
    ]
    if probe.grpc is not None:
        errors.extend(
            invalid(child(path, "grpc", "port"), probe.grpc.port, m)
            for m in is_valid_port_num(probe.grpc.port)
        )
    for name, value in (
        ("initialDelaySeconds", probe.initial_delay_seconds),
        ("timeoutSeconds", probe.timeout_seconds),
        ("periodSeconds", probe.period_seconds),
        ("successThreshold", probe.success_threshold),
        ("failureThreshold", probe.failure_threshold),
    ):
        errors.extend(non_negative(value, child(path, name)))
    grace = probe.termination_grace_period_seconds
    if grace is not None and grace <= 0:
        errors.append(
            invalid(child(path, "terminationGracePeriodSeconds"), grace, "must be greater than 0")
        )
    return tuple(errors)


def _lifecycle_handler(handler: LifecycleHandler, path: str) -> Errors:
    errors = (
        *_handlers(
            path,
            (
                ("exec", handler.exec),
                ("httpGet", handler.http_get),
                ("tcpSocket", handler.tcp_socket),
                ("sleep", handler.sleep),
            ),
        ),
        *_handler_details(path, handler.exec, handler.http_get, handler.tcp_socket),
    )
    if handler.sleep is not None and handler.sleep.seconds < 0:
        errors = (
            *errors,
            invalid(child(path, "sleep", "seconds"), handler.sleep.seconds, NEGATIVE_ERROR_MSG),
        )
    return errors


# ---- scheduling constraints ---------------------------------------------------------------


def _node_selector_requirement(req: NodeSelectorRequirement, path: str) -> Errors:
    errors: list[FieldError] = []
    match req.operator:
        case NodeSelectorOperator.IN | NodeSelectorOperator.NOT_IN:
            if not req.values:
                errors.append(
                    required(
                        child(path, "values"),
                        "must be specified when `operator` is 'In' or 'NotIn'",
                    )
                )
        case NodeSelectorOperator.EXISTS | NodeSelectorOperator.DOES_NOT_EXIST:
            if req.values:
                errors.append(
                    forbidden(
                        child(path, "values"),
                        "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                    )
                )
        case NodeSelectorOperator.GT | NodeSelectorOperator.LT:
            if len(req.values) != 1:
                errors.append(
                    required(
                        child(path, "values"),
                        "must be specified single value when `operator` is 'Lt' or 'Gt'",
                    )
                )
    errors.extend(validate_label_name(req.key, child(path, "key")))
    return tuple(errors)


def _node_selector_term(term: NodeSelectorTerm, path: str) -> Errors:
    return tuple(
        e
        for i, req in enumerate(term.match_expressions)
        for e in _node_selector_requirement(req, index(child(path, "matchExpressions"), i))
    )


def _node_selector(selector: NodeSelector, path: str) -> Errors:
    terms_path = child(path, "nodeSelectorTerms")
    if not selector.node_selector_terms:
        return (required(terms_path, "must have at least one node selector term"),)
    return tuple(
        e
        for i, term in enumerate(selector.node_selector_terms)
        for e in _node_selector_term(term, index(terms_path, i))
    )


def _weight(weight: int, path: str) -> Errors:
    if 1 <= weight <= 100:
        return ()
    return (invalid(path, weight, "must be in the range 1-100"),)


def _pod_affinity_term(term: PodAffinityTerm, path: str) -> Errors:
    errors: list[FieldError] = []
    if term.label_selector is not None:
        errors.extend(validate_label_selector(term.label_selector, child(path, "labelSelector")))
    if term.namespace_selector is not None:
        errors.extend(
            validate_label_selector(term.namespace_selector, child(path, "namespaceSelector"))
        )
    for i, ns in enumerate(term.namespaces):
        errors.extend(dns1123_label(ns, index(child(path, "namespaces"), i)))
    if not term.topology_key:
        errors.append(required(child(path, "topologyKey"), "can not be empty"))
    else:
        errors.extend(validate_label_name(term.topology_key, child(path, "topologyKey")))
    return tuple(errors)


def _pod_affinity_terms(
    required_terms: tuple[PodAffinityTerm, ...],
    preferred: tuple[WeightedPodAffinityTerm, ...],
    path: str,
) -> Errors:
    req_path = child(path, "requiredDuringSchedulingIgnoredDuringExecution")
    pref_path = child(path, "preferredDuringSchedulingIgnoredDuringExecution")
    errors = [
        e for i, t in enumerate(required_terms) for e in _pod_affinity_term(t, index(req_path, i))
    ]
    for i, w in enumerate(preferred):
        p = index(pref_path, i)
        errors.extend(_weight(w.weight, child(p, "weight")))
        errors.extend(_pod_affinity_term(w.pod_affinity_term, child(p, "podAffinityTerm")))
    return tuple(errors)


def _affinity(spec: PodSpec, path: str) -> Errors:
    affinity = spec.affinity
    if affinity is None:
        return ()
    errors: list[FieldError] = []
    na = affinity.node_affinity
    if na is not None:
        np = child(path, "nodeAffinity")
        if na.required_during_scheduling_ignored_during_execution is not None:
            errors.extend(
                _node_selector(
                    na.required_during_scheduling_ignored_during_execution,
                    child(np, "requiredDuringSchedulingIgnoredDuringExecution"),
                )
            )
        for i, pref in enumerate(na.preferred_during_scheduling_ignored_during_execution):
            p = index(child(np, "preferredDuringSchedulingIgnoredDuringExecution"), i)
            errors.extend(_weight(pref.weight, child(p, "weight")))
            errors.extend(_node_selector_term(pref.preference, child(p, "preference")))
    for name, pa in (
        ("podAffinity", affinity.pod_affinity),
        ("podAntiAffinity", affinity.pod_anti_affinity),
    ):
        if pa is not None:
            errors.extend(
                _pod_affinity_terms(
                    pa.required_during_scheduling_ignored_during_execution,
                    pa.preferred_during_scheduling_ignored_during_execution,
                    child(path, name),
                )
            )
    return tuple(errors)


def validate_tolerations(tolerations: tuple[Toleration, ...], path: str) -> Errors:
    """ValidateTolerations: keys, Exists needs no value, tolerationSeconds needs NoExecute."""
    errors: list[FieldError] = []
    for i, t in enumerate(tolerations):
        if (
            t.operator is TolerationOperator.EXISTS
            and not t.value
            and t.key
            and plain_label_key(t.key)
            and (t.toleration_seconds is None or t.effect is TaintEffect.NO_EXECUTE)
        ):
            continue  # the usual shape (a plain key, Exists): no rule below can fail
        p = index(path, i)
        if t.key:
            errors.extend(label_key_errors(t.key, child(p, "key")))
        if not t.key and t.operator is not TolerationOperator.EXISTS:
            errors.append(
                invalid(
                    child(p, "operator"),
                    t.operator,
                    'operator must be Exists when `key` is empty, which means "match all values and all keys"',
                )
            )
        if t.toleration_seconds is not None and t.effect is not TaintEffect.NO_EXECUTE:
            errors.append(
                invalid(
                    child(p, "effect"),
                    t.effect.value if t.effect is not None else "",
                    "effect must be 'NoExecute' when `tolerationSeconds` is set",
                )
            )
        if t.operator is TolerationOperator.EQUAL:
            messages = is_valid_label_value(t.value)
            if messages:
                errors.append(invalid(child(p, "operator"), t.value, ";".join(messages)))
        elif t.operator is TolerationOperator.EXISTS:
            if t.value:
                errors.append(
                    invalid(
                        child(p, "operator"),
                        t.value,
                        "value must be empty when `operator` is 'Exists'",
                    )
                )
        elif re.fullmatch(r"[+-]?[0-9]+", t.value) is None:
            errors.append(
                invalid(
                    child(p, "value"),
                    t.value,
                    "value must be a valid integer for numeric comparison operators",
                )
            )
    return tuple(errors)


def _topology_spread(constraints: tuple[TopologySpreadConstraint, ...], path: str) -> Errors:
    errors: list[FieldError] = []
    seen: set[tuple[str, UnsatisfiableConstraintAction]] = set()
    for i, c in enumerate(constraints):
        p = index(path, i)
        if c.max_skew <= 0:
            errors.append(invalid(child(p, "maxSkew"), c.max_skew, "must be greater than zero"))
        if not c.topology_key:
            errors.append(required(child(p, "topologyKey"), "can not be empty"))
        else:
            errors.extend(validate_label_name(c.topology_key, child(p, "topologyKey")))
        if c.min_domains is not None:
            if c.min_domains <= 0:
                errors.append(
                    invalid(child(p, "minDomains"), c.min_domains, "must be greater than zero")
                )
            if c.when_unsatisfiable is not UnsatisfiableConstraintAction.DO_NOT_SCHEDULE:
                errors.append(
                    invalid(
                        child(p, "minDomains"),
                        c.min_domains,
                        "can only use minDomains if whenUnsatisfiable=DoNotSchedule, "
                        f"not {c.when_unsatisfiable.value}",
                    )
                )
        pair = (c.topology_key, c.when_unsatisfiable)
        if pair in seen:
            errors.append(
                duplicate(
                    child(p, "{topologyKey, whenUnsatisfiable}"),
                    f"{{{c.topology_key}, {c.when_unsatisfiable.value}}}",
                )
            )
        seen.add(pair)
        if c.label_selector is not None:
            errors.extend(validate_label_selector(c.label_selector, child(p, "labelSelector")))
    return tuple(errors)


# ---- update --------------------------------------------------------------------------------


def validate_pod_update(new: Pod, old: Pod) -> Errors:
    """ValidatePodUpdate: only images, activeDeadlineSeconds, tolerations (additions) and
    a negative terminationGracePeriodSeconds (to 1) may change in a pod's spec."""
    errors: list[FieldError] = [
        *validate_object_meta_update(new.metadata, old.metadata),
        *validate_pod(new),
    ]
    spec_path = "spec"
    ns, os = new.spec, old.spec
    for name, new_c, old_c in (
        ("containers", ns.containers, os.containers),
        ("initContainers", ns.init_containers, os.init_containers),
    ):
        if len(new_c) != len(old_c):
            errors.append(
                forbidden(child(spec_path, name), "pod updates may not add or remove containers")
            )
            return tuple(errors)
    deadline_errors = _deadline_update(ns.active_deadline_seconds, os.active_deadline_seconds)
    if deadline_errors:
        return (*errors, *deadline_errors)
    if ns is os:  # a metadata or status update: the stored spec itself
        return tuple(errors)
    errors.extend(
        _only_added_tolerations(ns.tolerations, os.tolerations, child(spec_path, "tolerations"))
    )
    if ns == os:
        return tuple(errors)
    munged = attrs.evolve(
        ns,
        containers=tuple(
            attrs.evolve(c, image=o.image)
            for c, o in zip(ns.containers, os.containers, strict=True)
        ),
        init_containers=tuple(
            attrs.evolve(c, image=o.image)
            for c, o in zip(ns.init_containers, os.init_containers, strict=True)
        ),
        active_deadline_seconds=os.active_deadline_seconds,
        tolerations=os.tolerations,
    )
    if os.termination_grace_period_seconds < 0 and ns.termination_grace_period_seconds == 1:
        munged = attrs.evolve(
            munged, termination_grace_period_seconds=os.termination_grace_period_seconds
        )
    if munged != os:
        errors.append(forbidden(spec_path, POD_UPDATE_FORBIDDEN))
    return tuple(errors)


def _deadline_update(new: int | None, old: int | None) -> Errors:
    path = "spec.activeDeadlineSeconds"
    if new is None:
        if old is not None:
            return (invalid(path, None, "must not update from a positive integer to nil value"),)
        return ()
    if not 0 <= new <= MAX_INT32:
        return (invalid(path, new, inclusive_range_error(0, MAX_INT32)),)
    if old is not None and old < new:
        return (invalid(path, new, "must be less than or equal to previous value"),)
    return ()


def _only_added_tolerations(
    new: tuple[Toleration, ...], old: tuple[Toleration, ...], path: str
) -> Errors:
    for o in old:
        if not any(attrs.evolve(o, toleration_seconds=n.toleration_seconds) == n for n in new):
            return (
                forbidden(
                    path, "existing toleration can not be modified except its tolerationSeconds"
                ),
            )
    return ()


def labels_of(template: PodTemplateSpec | None) -> Mapping[str, str]:
    """A template's labels (empty when there is no template)."""
    return {} if template is None else template.metadata.labels
