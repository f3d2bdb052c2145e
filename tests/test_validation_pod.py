"""Pod validation: containers, ports, env, resources, volumes, probes, scheduling
constraints, and what a pod update may change."""

from __future__ import annotations

from typing import Any

import attrs
from pyrsistent import pmap

from kcore.api.defaults import apply_defaults
from kcore.api.meta import Time
from kcore.api.pod import (
    Affinity,
    Container,
    ContainerPort,
    DNSPolicy,
    EmptyDirVolumeSource,
    EnvVar,
    EnvVarSource,
    ExecAction,
    HTTPGetAction,
    NodeAffinity,
    NodeSelector,
    NodeSelectorOperator,
    NodeSelectorRequirement,
    NodeSelectorTerm,
    Pod,
    PodAffinityTerm,
    PodAntiAffinity,
    PodSpec,
    Probe,
    ResourceRequirements,
    SecretVolumeSource,
    TaintEffect,
    TCPSocketAction,
    Toleration,
    TolerationOperator,
    TopologySpreadConstraint,
    UnsatisfiableConstraintAction,
    Volume,
    VolumeMount,
)
from kcore.api.validation import validate
from kcore.api.validation.pod import POD_UPDATE_FORBIDDEN
from kcore.quantity import parse_quantity
from kcore.util_validation import FieldError
from tests.builders import a_container, a_pod, with_meta


def texts(errors: tuple[FieldError, ...]) -> list[str]:
    return [str(e) for e in errors]


def pod_with(*containers: Container, **spec: Any) -> Pod:  # Any: PodSpec fields of every type
    pod = a_pod(containers=containers or (a_container(),))
    return attrs.evolve(pod, spec=attrs.evolve(pod.spec, **spec))


def errors_of(pod: Pod) -> list[str]:
    return texts(validate(apply_defaults(pod), None))


def test_a_default_pod_is_valid() -> None:
    assert errors_of(a_pod()) == []


def test_containers_are_required() -> None:
    pod = a_pod()
    assert errors_of(attrs.evolve(pod, spec=PodSpec())) == ["spec.containers: Required value"]


def test_container_names_are_unique_across_init_and_app_containers() -> None:
    pod = pod_with(a_container("app"), init_containers=(a_container("app"),))
    assert errors_of(pod) == ['spec.initContainers[0].name: Duplicate value: "app"']
    assert errors_of(pod_with(a_container("app"), a_container("app"))) == [
        'spec.containers[1].name: Duplicate value: "app"'
    ]


def test_a_container_image_is_required() -> None:
    assert errors_of(pod_with(a_container(image=""))) == [
        "spec.containers[0].image: Required value"
    ]


def test_container_ports_are_in_range_with_unique_iana_names() -> None:
    c = attrs.evolve(
        a_container(),
        ports=(
            ContainerPort(container_port=70000, name="http"),
            ContainerPort(container_port=81, name="http"),
        ),
    )
    assert errors_of(pod_with(c)) == [
        "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
        'spec.containers[0].ports[1].name: Duplicate value: "http"',
    ]
    ok = attrs.evolve(a_container(), ports=(ContainerPort(container_port=80, name="http"),))
    assert errors_of(pod_with(ok)) == []


def test_a_port_name_is_an_iana_service_name() -> None:
    c = attrs.evolve(a_container(), ports=(ContainerPort(container_port=80, name="123"),))
    assert errors_of(pod_with(c)) == [
        'spec.containers[0].ports[0].name: Invalid value: "123": must contain at least one letter (a-z)'
    ]


def test_host_ports_are_unique_per_protocol_and_ip() -> None:
    c1 = attrs.evolve(a_container("a"), ports=(ContainerPort(container_port=80, host_port=8080),))
    c2 = attrs.evolve(a_container("b"), ports=(ContainerPort(container_port=81, host_port=8080),))
    assert errors_of(pod_with(c1, c2)) == [
        'spec.containers[1].ports[0].hostPort: Duplicate value: "TCP//8080"'
    ]


def test_host_network_ports_must_match_host_ports() -> None:
    c = attrs.evolve(a_container(), ports=(ContainerPort(container_port=80, host_port=8080),))
    pod = pod_with(c, host_network=True)
    assert errors_of(pod) == [
        "spec.containers[0].ports[0].containerPort: Invalid value: 80: must match `hostPort` when `hostNetwork` is true"
    ]
    ok = attrs.evolve(a_container(), ports=(ContainerPort(container_port=80),))
    assert errors_of(pod_with(ok, host_network=True)) == []


def test_env_names_are_checked_and_value_from_needs_one_source() -> None:
    c = attrs.evolve(
        a_container(),
        env=(EnvVar(name="1X"), EnvVar(name="OK", value_from=EnvVarSource())),
    )
    assert errors_of(pod_with(c)) == [
        'spec.containers[0].env[0].name: Invalid value: "1X": a valid environment variable name '
        "must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with "
        "a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for "
        "validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')",
        'spec.containers[0].env[1].valueFrom: Invalid value: "": must specify one of: '
        "`fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
    ]


def _resources(requests: dict[str, str], limits: dict[str, str]) -> Container:
    res = ResourceRequirements(
        requests=pmap({k: parse_quantity(v) for k, v in requests.items()}),
        limits=pmap({k: parse_quantity(v) for k, v in limits.items()}),
    )
    return attrs.evolve(a_container(), resources=res)


def test_requests_may_not_exceed_limits() -> None:
    assert errors_of(pod_with(_resources({"cpu": "2"}, {"cpu": "1"}))) == [
        'spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1'
    ]
    assert errors_of(pod_with(_resources({"cpu": "500m"}, {"cpu": "1"}))) == []


def test_resource_quantities_are_non_negative() -> None:
    assert errors_of(pod_with(_resources({"memory": "-1Mi"}, {}))) == [
        'spec.containers[0].resources.requests[memory]: Invalid value: "-1Mi": must be greater than or equal to 0'
    ]


def test_resource_names_are_standard_for_containers() -> None:
    assert errors_of(pod_with(_resources({"pods": "1"}, {}))) == [
        'spec.containers[0].resources.requests[pods]: Invalid value: "pods": must be a standard resource for containers'
    ]
    assert errors_of(pod_with(_resources({"example.com/gpu": "1"}, {"example.com/gpu": "1"}))) == []


def test_extended_resources_need_equal_limits() -> None:
    assert errors_of(pod_with(_resources({"example.com/gpu": "1"}, {}))) == [
        "spec.containers[0].resources.limits: Required value: Limit must be set for non overcommitable resources"
    ]


def test_volume_names_are_unique_and_have_one_source() -> None:
    vols = (
        Volume(name="data", empty_dir=EmptyDirVolumeSource()),
        Volume(
            name="data",
            empty_dir=EmptyDirVolumeSource(),
            secret=SecretVolumeSource(secret_name="s"),
        ),
    )
    assert errors_of(pod_with(volumes=vols)) == [
        "spec.volumes[1].secret: Forbidden: may not specify more than 1 volume type",
        'spec.volumes[1].name: Duplicate value: "data"',
    ]


def test_volume_mounts_refer_to_volumes() -> None:
    c = attrs.evolve(a_container(), volume_mounts=(VolumeMount(name="nope", mount_path="/d"),))
    assert errors_of(pod_with(c)) == ['spec.containers[0].volumeMounts[0].name: Not found: "nope"']
    ok = attrs.evolve(a_container(), volume_mounts=(VolumeMount(name="data", mount_path="/d"),))
    assert errors_of(pod_with(ok, volumes=(Volume(name="data"),))) == []


def test_a_probe_has_exactly_one_handler() -> None:
    none = attrs.evolve(a_container(), readiness_probe=Probe())
    assert errors_of(pod_with(none)) == [
        "spec.containers[0].readinessProbe: Required value: must specify a handler type"
    ]
    two = attrs.evolve(
        a_container(),
        readiness_probe=Probe(
            exec=ExecAction(command=("true",)), tcp_socket=TCPSocketAction(port=80)
        ),
    )
    assert errors_of(pod_with(two)) == [
        "spec.containers[0].readinessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type"
    ]


def test_probe_timings_are_non_negative() -> None:
    c = attrs.evolve(
        a_container(),
        readiness_probe=Probe(http_get=HTTPGetAction(port=80), initial_delay_seconds=-1),
    )
    assert errors_of(pod_with(c)) == [
        "spec.containers[0].readinessProbe.initialDelaySeconds: Invalid value: -1: must be greater than or equal to 0"
    ]


def test_liveness_and_startup_probes_need_a_success_threshold_of_one() -> None:
    probe = Probe(http_get=HTTPGetAction(port=80), success_threshold=2)
    c = attrs.evolve(a_container(), liveness_probe=probe, startup_probe=probe)
    assert errors_of(pod_with(c)) == [
        "spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1",
        "spec.containers[0].startupProbe.successThreshold: Invalid value: 2: must be 1",
    ]
    ready = attrs.evolve(a_container(), readiness_probe=probe)
    assert errors_of(pod_with(ready)) == []


def test_dns_policy_none_needs_a_dns_config() -> None:
    assert errors_of(pod_with(dns_policy=DNSPolicy.NONE)) == [
        "spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None"
    ]


def test_node_selector_is_a_label_set() -> None:
    assert errors_of(pod_with(node_selector=pmap({"disk": "ssd"}))) == []
    assert errors_of(pod_with(node_selector=pmap({"a/b/c": "x"})))[0].startswith(
        'spec.nodeSelector: Invalid value: "a/b/c"'
    )


def test_node_affinity_requirements_are_well_formed() -> None:
    term = NodeSelectorTerm(
        match_expressions=(NodeSelectorRequirement(key="zone", operator=NodeSelectorOperator.IN),)
    )
    affinity = Affinity(
        node_affinity=NodeAffinity(
            required_during_scheduling_ignored_during_execution=NodeSelector(
                node_selector_terms=(term,)
            )
        )
    )
    assert errors_of(pod_with(affinity=affinity)) == [
        "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
        ".nodeSelectorTerms[0].matchExpressions[0].values: Required value: "
        "must be specified when `operator` is 'In' or 'NotIn'"
    ]


def test_pod_anti_affinity_terms_need_a_topology_key() -> None:
    affinity = Affinity(
        pod_anti_affinity=PodAntiAffinity(
            required_during_scheduling_ignored_during_execution=(PodAffinityTerm(topology_key=""),)
        )
    )
    assert errors_of(pod_with(affinity=affinity)) == [
        "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0]"
        ".topologyKey: Required value: can not be empty"
    ]


def test_an_exists_toleration_has_no_value() -> None:
    t = Toleration(key="k", operator=TolerationOperator.EXISTS, value="v")
    assert errors_of(pod_with(tolerations=(t,))) == [
        "spec.tolerations[0].operator: Invalid value: \"v\": value must be empty when `operator` is 'Exists'"
    ]
    ok = Toleration(key="k", operator=TolerationOperator.EXISTS, effect=TaintEffect.NO_SCHEDULE)
    assert errors_of(pod_with(tolerations=(ok,))) == []


def test_toleration_seconds_need_the_no_execute_effect() -> None:
    t = Toleration(key="k", value="v", effect=TaintEffect.NO_SCHEDULE, toleration_seconds=5)
    assert errors_of(pod_with(tolerations=(t,))) == [
        "spec.tolerations[0].effect: Invalid value: \"NoSchedule\": effect must be 'NoExecute' when `tolerationSeconds` is set"
    ]


def test_an_empty_toleration_key_needs_operator_exists() -> None:
    t = Toleration(key="", operator=TolerationOperator.EQUAL)
    assert errors_of(pod_with(tolerations=(t,))) == [
        'spec.tolerations[0].operator: Invalid value: "Equal": operator must be Exists when `key` '
        'is empty, which means "match all values and all keys"'
    ]


def test_topology_spread_max_skew_is_positive_and_pairs_unique() -> None:
    c = TopologySpreadConstraint(
        max_skew=0,
        topology_key="zone",
        when_unsatisfiable=UnsatisfiableConstraintAction.DO_NOT_SCHEDULE,
    )
    assert errors_of(pod_with(topology_spread_constraints=(c, attrs.evolve(c, max_skew=1)))) == [
        "spec.topologySpreadConstraints[0].maxSkew: Invalid value: 0: must be greater than zero",
        'spec.topologySpreadConstraints[1].{topologyKey, whenUnsatisfiable}: Duplicate value: "{zone, DoNotSchedule}"',
    ]


def test_termination_grace_period_is_non_negative() -> None:
    assert errors_of(pod_with(termination_grace_period_seconds=-1)) == [
        "spec.terminationGracePeriodSeconds: Invalid value: -1: must be greater than or equal to 0"
    ]


def test_priority_class_name_is_a_subdomain() -> None:
    assert errors_of(pod_with(priority_class_name="Bad!"))[0].startswith(
        'spec.priorityClassName: Invalid value: "Bad!"'
    )
    assert errors_of(pod_with(priority_class_name="system-node-critical")) == []


def _stored(pod: Pod) -> Pod:
    return with_meta(apply_defaults(pod), uid="u", creation_timestamp=Time(1.0))


def test_a_pod_update_may_change_images() -> None:
    old = _stored(a_pod())
    c = attrs.evolve(old.spec.containers[0], image="nginx:1.26")
    new = attrs.evolve(old, spec=attrs.evolve(old.spec, containers=(c,)))
    assert validate(new, old) == ()


def test_a_pod_update_may_not_change_other_spec_fields() -> None:
    old = _stored(a_pod())
    new = attrs.evolve(old, spec=attrs.evolve(old.spec, node_selector=pmap({"a": "b"})))
    assert texts(validate(new, old)) == [f"spec: Forbidden: {POD_UPDATE_FORBIDDEN}"]
    assert POD_UPDATE_FORBIDDEN.startswith(
        "pod updates may not change fields other than `spec.containers[*].image`,"
    )


def test_a_pod_update_may_not_add_containers() -> None:
    old = _stored(a_pod())
    extra = attrs.evolve(old.spec.containers[0], name="b")
    new = attrs.evolve(old, spec=attrs.evolve(old.spec, containers=(*old.spec.containers, extra)))
    assert texts(validate(new, old)) == [
        "spec.containers: Forbidden: pod updates may not add or remove containers"
    ]


def test_a_pod_update_may_only_add_tolerations() -> None:
    t = Toleration(key="k", operator=TolerationOperator.EXISTS)
    old = _stored(pod_with(tolerations=(t,)))
    removed = attrs.evolve(old, spec=attrs.evolve(old.spec, tolerations=()))
    assert texts(validate(removed, old)) == [
        "spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds"
    ]
    added = attrs.evolve(
        old, spec=attrs.evolve(old.spec, tolerations=(t, attrs.evolve(t, key="j")))
    )
    assert validate(added, old) == ()


def test_active_deadline_seconds_may_only_decrease() -> None:
    old = _stored(pod_with(active_deadline_seconds=100))
    longer = attrs.evolve(old, spec=attrs.evolve(old.spec, active_deadline_seconds=200))
    assert texts(validate(longer, old)) == [
        "spec.activeDeadlineSeconds: Invalid value: 200: must be less than or equal to previous value"
    ]
    shorter = attrs.evolve(old, spec=attrs.evolve(old.spec, active_deadline_seconds=50))
    assert validate(shorter, old) == ()


def test_numeric_toleration_operators_need_an_integer_value() -> None:
    t = Toleration(
        key="k", operator=TolerationOperator.GT, value="x", effect=TaintEffect.NO_SCHEDULE
    )
    assert errors_of(pod_with(tolerations=(t,))) == [
        'spec.tolerations[0].value: Invalid value: "x": value must be a valid integer for numeric comparison operators'
    ]
    assert errors_of(pod_with(tolerations=(attrs.evolve(t, value="900"),))) == []
