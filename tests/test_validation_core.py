"""Validation of the core/v1 kinds other than Pod."""

from __future__ import annotations

import attrs
from pyrsistent import pmap

from kcore.api.core import (
    ConfigMap,
    EndpointAddress,
    EndpointPort,
    Endpoints,
    EndpointSubset,
    Event,
    LimitRange,
    LimitRangeItem,
    LimitRangeSpec,
    LimitType,
    Node,
    NodeSpec,
    ObjectReference,
    PersistentVolumeAccessMode,
    PersistentVolumeClaim,
    PersistentVolumeClaimPhase,
    PersistentVolumeClaimSpec,
    PersistentVolumeClaimStatus,
    ReplicationController,
    ReplicationControllerSpec,
    ResourceQuota,
    ResourceQuotaSpec,
    Secret,
    Service,
    ServicePort,
    ServiceSpec,
    ServiceType,
    Taint,
    VolumeResourceRequirements,
)
from kcore.api.defaults import apply_defaults
from kcore.api.meta import ObjectMeta, Time
from kcore.api.pod import RestartPolicy, TaintEffect
from kcore.api.validation import validate
from kcore.quantity import parse_quantity
from kcore.util_validation import FieldError
from tests.builders import a_config_map, a_service, a_template, meta, with_meta


def texts(errors: tuple[FieldError, ...]) -> list[str]:
    return [str(e) for e in errors]


def service(*ports: ServicePort, **spec: object) -> Service:
    svc = a_service()
    svc = attrs.evolve(svc, spec=attrs.evolve(svc.spec, ports=ports or svc.spec.ports, **spec))  # type: ignore[arg-type]  # test helper: any ServiceSpec field
    return apply_defaults(svc)


# ---- Service -------------------------------------------------------------------------------


def test_a_default_service_is_valid() -> None:
    assert validate(service(), None) == ()


def test_service_ports_are_required_unless_headless() -> None:
    svc = attrs.evolve(a_service(), spec=ServiceSpec())
    assert texts(validate(svc, None)) == ["spec.ports: Required value"]
    assert validate(attrs.evolve(svc, spec=ServiceSpec(cluster_ip="None")), None) == ()


def test_service_ports_are_in_range() -> None:
    assert texts(validate(service(ServicePort(port=0, target_port=80)), None)) == [
        "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive"
    ]


def test_several_service_ports_need_unique_names() -> None:
    svc = service(ServicePort(port=80, name="http"), ServicePort(port=81))
    assert texts(validate(svc, None)) == ["spec.ports[1].name: Required value"]
    dup = service(ServicePort(port=80, name="http"), ServicePort(port=81, name="http"))
    assert texts(validate(dup, None)) == ['spec.ports[1].name: Duplicate value: "http"']


def test_service_ports_are_unique_per_protocol() -> None:
    svc = service(ServicePort(port=80, name="a"), ServicePort(port=80, name="b"))
    assert texts(validate(svc, None)) == ['spec.ports[1]: Duplicate value: "80/TCP"']


def test_a_target_port_name_is_an_iana_name() -> None:
    svc = service(ServicePort(port=80, target_port="not_valid"))
    assert texts(validate(svc, None)) == [
        'spec.ports[0].targetPort: Invalid value: "not_valid": must contain only alpha-numeric '
        "characters (a-z, 0-9), and hyphens (-)"
    ]


def test_node_ports_are_forbidden_for_cluster_ip_services() -> None:
    svc = service(ServicePort(port=80, node_port=30080))
    assert texts(validate(svc, None)) == [
        "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"
    ]
    assert (
        validate(service(ServicePort(port=80, node_port=30080), type=ServiceType.NODE_PORT), None)
        == ()
    )


def test_node_port_services_cannot_be_headless() -> None:
    svc = service(type=ServiceType.NODE_PORT, cluster_ip="None")
    assert texts(validate(svc, None)) == [
        "spec.clusterIP: Invalid value: \"None\": may not be set to 'None' for NodePort services"
    ]


def test_a_cluster_ip_must_be_an_address() -> None:
    assert texts(validate(service(cluster_ip="10.96.0.300"), None)) == [
        "spec.clusterIPs[0]: Invalid value: \"10.96.0.300\": must be empty, 'None', or a valid IP address"
    ]


def test_external_name_services_need_an_external_name() -> None:
    svc = attrs.evolve(a_service(), spec=ServiceSpec(type=ServiceType.EXTERNAL_NAME))
    assert texts(validate(svc, None)) == ["spec.externalName: Required value"]
    named = attrs.evolve(
        svc, spec=ServiceSpec(type=ServiceType.EXTERNAL_NAME, external_name="db.example.com")
    )
    assert validate(named, None) == ()


def test_the_service_selector_is_a_label_set() -> None:
    assert texts(validate(service(selector=pmap({"app": "a b"})), None))[0].startswith(
        'spec.selector: Invalid value: "a b"'
    )


def test_an_allocated_cluster_ip_is_immutable() -> None:
    old = with_meta(service(cluster_ip="10.96.0.10", cluster_ips=("10.96.0.10",)), uid="u")
    new = attrs.evolve(
        old, spec=attrs.evolve(old.spec, cluster_ip="10.96.0.11", cluster_ips=("10.96.0.11",))
    )
    assert texts(validate(new, old)) == [
        'spec.clusterIP: Invalid value: "10.96.0.11": field is immutable'
    ]
    assert validate(old, old) == ()


# ---- Namespace-scoped simple kinds ---------------------------------------------------------


def test_node_taints_are_unique_by_key_and_effect() -> None:
    taint = Taint(key="dedicated", value="gpu", effect=TaintEffect.NO_SCHEDULE)
    node = Node(metadata=ObjectMeta(name="n1"), spec=NodeSpec(taints=(taint, taint)))
    assert texts(validate(node, None)) == [
        'spec.taints[1]: Duplicate value: "dedicated:NoSchedule"'
    ]
    assert (
        validate(Node(metadata=ObjectMeta(name="n1"), spec=NodeSpec(taints=(taint,))), None) == ()
    )


def test_endpoints_subsets_need_addresses_and_valid_ips() -> None:
    ep = Endpoints(
        metadata=meta("web"),
        subsets=(
            EndpointSubset(ports=(EndpointPort(port=80),)),
            EndpointSubset(addresses=(EndpointAddress(ip="x"),), ports=(EndpointPort(port=80),)),
        ),
    )
    assert texts(validate(ep, None)) == [
        "subsets[0]: Required value: must specify `addresses` or `notReadyAddresses`",
        'subsets[1].addresses[0].ip: Invalid value: "x": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)',
    ]


def test_an_event_lives_in_its_objects_namespace() -> None:
    ev = Event(
        metadata=meta("e1"),
        involved_object=ObjectReference(kind="Pod", namespace="other", name="p"),
    )
    assert texts(validate(ev, None)) == [
        'involvedObject.namespace: Invalid value: "other": does not match event.namespace'
    ]
    ok = attrs.evolve(
        ev, involved_object=ObjectReference(kind="Pod", namespace="default", name="p")
    )
    assert validate(ok, None) == ()


# ---- ConfigMap, Secret -------------------------------------------------------------------


def test_config_map_keys_are_config_keys() -> None:
    assert texts(validate(a_config_map("c", data={"a b": "x"}), None)) == [
        'data[a b]: Invalid value: "a b": a valid config key must consist of alphanumeric '
        "characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used "
        "for validation is '[-._a-zA-Z0-9]+')"
    ]


def test_config_maps_are_at_most_one_mebibyte() -> None:
    assert texts(validate(a_config_map("c", data={"k": "x" * (1 << 20 + 0) + "x"}), None)) == [
        ": Too long: may not be more than 1048576 bytes"
    ]
    assert validate(a_config_map("c", data={"k": "x" * (1 << 20)}), None) == ()


def test_an_immutable_config_map_keeps_its_data() -> None:
    old: ConfigMap = attrs.evolve(
        with_meta(a_config_map("c", data={"k": "v"}), uid="u"), immutable=True
    )
    changed = attrs.evolve(old, data=pmap({"k": "w"}))
    assert texts(validate(changed, old)) == [
        "data: Forbidden: field is immutable when `immutable` is set"
    ]
    relabelled = with_meta(old, labels=pmap({"a": "b"}))
    assert validate(relabelled, old) == ()


def test_tls_secrets_need_a_certificate_and_key() -> None:
    secret = Secret(metadata=meta("tls"), type="kubernetes.io/tls", data=pmap({"tls.crt": b"c"}))
    assert texts(validate(secret, None)) == ["data[tls.key]: Required value"]


def test_a_secret_type_is_immutable() -> None:
    old = Secret(metadata=with_meta(Secret(metadata=meta("s")), uid="u").metadata, type="Opaque")
    new = attrs.evolve(old, type="example.com/x")
    assert texts(validate(new, old)) == ['type: Invalid value: "example.com/x": field is immutable']


# ---- ResourceQuota, LimitRange -------------------------------------------------------------


def test_quota_resources_are_standard_names() -> None:
    rq = ResourceQuota(
        metadata=meta("q"), spec=ResourceQuotaSpec(hard=pmap({"pod": parse_quantity("1")}))
    )
    assert texts(validate(rq, None)) == [
        'spec.hard[pod]: Invalid value: "pod": must be a standard resource for quota'
    ]
    ok = ResourceQuota(
        metadata=meta("q"),
        spec=ResourceQuotaSpec(
            hard=pmap({"pods": parse_quantity("1"), "count/deployments.apps": parse_quantity("2")})
        ),
    )
    assert validate(ok, None) == ()


def test_object_counts_in_a_quota_are_integers() -> None:
    rq = ResourceQuota(
        metadata=meta("q"), spec=ResourceQuotaSpec(hard=pmap({"pods": parse_quantity("1500m")}))
    )
    assert texts(validate(rq, None)) == [
        'spec.hard[pods]: Invalid value: "1500m": must be an integer'
    ]


def test_a_limit_range_min_may_not_exceed_max() -> None:
    item = LimitRangeItem(
        type=LimitType.CONTAINER,
        min=pmap({"cpu": parse_quantity("2")}),
        max=pmap({"cpu": parse_quantity("1")}),
    )
    lr = LimitRange(metadata=meta("lr"), spec=LimitRangeSpec(limits=(item,)))
    assert texts(validate(lr, None)) == [
        'spec.limits[0].min[cpu]: Invalid value: "2": min value 2 is greater than max value 1'
    ]


def test_pod_limit_ranges_have_no_defaults() -> None:
    item = LimitRangeItem(type=LimitType.POD, default=pmap({"cpu": parse_quantity("1")}))
    lr = LimitRange(metadata=meta("lr"), spec=LimitRangeSpec(limits=(item,)))
    assert texts(validate(lr, None)) == [
        "spec.limits[0].default: Forbidden: may not be specified when `type` is 'Pod'"
    ]


def test_a_limit_request_ratio_is_at_least_one() -> None:
    item = LimitRangeItem(
        type=LimitType.CONTAINER, max_limit_request_ratio=pmap({"cpu": parse_quantity("500m")})
    )
    lr = LimitRange(metadata=meta("lr"), spec=LimitRangeSpec(limits=(item,)))
    assert texts(validate(lr, None)) == [
        'spec.limits[0].maxLimitRequestRatio[cpu]: Invalid value: "500m": ratio 500m is less than 1'
    ]


# ---- PersistentVolumeClaim --------------------------------------------------------------------


def pvc(
    storage: str = "1Gi",
    modes: tuple[PersistentVolumeAccessMode, ...] = (PersistentVolumeAccessMode.READ_WRITE_ONCE,),
) -> PersistentVolumeClaim:
    requests = pmap({"storage": parse_quantity(storage)}) if storage else pmap()
    return PersistentVolumeClaim(
        metadata=meta("data"),
        spec=PersistentVolumeClaimSpec(
            access_modes=modes, resources=VolumeResourceRequirements(requests=requests)
        ),
    )


def test_a_claim_needs_access_modes_and_storage() -> None:
    assert texts(validate(pvc("", ()), None)) == [
        "spec.accessModes: Required value: at least 1 access mode is required",
        "spec.resources[storage]: Required value",
    ]
    assert validate(pvc(), None) == ()


def test_a_claim_spec_is_immutable() -> None:
    old = with_meta(pvc(), uid="u")
    new = attrs.evolve(
        old, spec=attrs.evolve(old.spec, access_modes=(PersistentVolumeAccessMode.READ_WRITE_MANY,))
    )
    assert texts(validate(new, old)) == [
        "spec: Forbidden: spec is immutable after creation except resources.requests for bound claims"
    ]


def test_a_bound_claim_may_grow() -> None:
    old = attrs.evolve(
        with_meta(pvc(), uid="u"),
        status=PersistentVolumeClaimStatus(phase=PersistentVolumeClaimPhase.BOUND),
    )
    grown = attrs.evolve(
        old,
        spec=attrs.evolve(
            old.spec,
            resources=VolumeResourceRequirements(requests=pmap({"storage": parse_quantity("2Gi")})),
        ),
    )
    assert validate(grown, old) == ()
    shrunk = attrs.evolve(
        old,
        spec=attrs.evolve(
            old.spec,
            resources=VolumeResourceRequirements(
                requests=pmap({"storage": parse_quantity("512Mi")})
            ),
        ),
    )
    assert texts(validate(shrunk, old)) == [
        "spec.resources.requests.storage: Forbidden: field can not be less than previous value"
    ]


# ---- ReplicationController ------------------------------------------------------------------


def rc(
    selector: dict[str, str], labels: dict[str, str], replicas: int = 1
) -> ReplicationController:
    return ReplicationController(
        metadata=meta("web"),
        spec=ReplicationControllerSpec(
            replicas=replicas, selector=pmap(selector), template=a_template(labels)
        ),
    )


def test_a_replication_controller_selector_must_match_its_template() -> None:
    assert texts(validate(rc({"app": "a"}, {"app": "b"}), None)) == [
        'spec.template.metadata.labels: Invalid value: map[string]string{"app":"b"}: '
        "`selector` does not match template `labels`"
    ]
    assert validate(rc({"app": "a"}, {"app": "a", "tier": "x"}), None) == ()


def test_a_replication_controller_needs_a_selector_and_non_negative_replicas() -> None:
    assert texts(validate(rc({}, {"app": "a"}, replicas=-1), None)) == [
        "spec.selector: Required value",
        "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
    ]


def test_a_replication_controller_template_restarts_always() -> None:
    r = rc({"app": "a"}, {"app": "a"})
    assert r.spec.template is not None
    t = attrs.evolve(
        r.spec.template, spec=attrs.evolve(r.spec.template.spec, restart_policy=RestartPolicy.NEVER)
    )
    r = attrs.evolve(r, spec=attrs.evolve(r.spec, template=t))
    assert texts(validate(r, None)) == [
        'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"'
    ]


def test_updates_of_kinds_without_update_rules_still_check_metadata() -> None:
    old = with_meta(rc({"app": "a"}, {"app": "a"}), uid="u", creation_timestamp=Time(1.0))
    assert texts(validate(with_meta(old, namespace="other"), old)) == [
        'metadata.namespace: Invalid value: "other": field is immutable'
    ]
