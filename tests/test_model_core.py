"""Model behaviour of the core/v1 kinds: construction, values, and upstream defaulting."""

from __future__ import annotations

from collections.abc import Callable

import attrs
import pytest
from pyrsistent import pmap

from kcore.api import core, pod, pod_defaults
from kcore.api.core import (
    ConfigMap,
    Endpoints,
    Event,
    LimitRange,
    LimitRangeItem,
    LimitRangeSpec,
    LimitType,
    Namespace,
    NamespacePhase,
    Node,
    NodeStatus,
    ObjectReference,
    PersistentVolumeClaim,
    PersistentVolumeClaimPhase,
    PersistentVolumeMode,
    ReplicationController,
    ReplicationControllerSpec,
    ResourceQuota,
    Secret,
    Service,
    ServiceAccount,
    ServiceAffinity,
    ServicePort,
    ServiceSpec,
    ServiceType,
    SessionAffinityConfig,
    TrafficPolicy,
)
from kcore.api.kinds import Kind
from kcore.api.meta import ApiObject, ObjectMeta, Time
from kcore.api.pod import (
    Container,
    ContainerPort,
    EnvVar,
    EnvVarSource,
    HTTPGetAction,
    ObjectFieldSelector,
    Pod,
    PodPhase,
    PodQOSClass,
    PodSecurityContext,
    PodSpec,
    PodTemplateSpec,
    Probe,
    Protocol,
    PullPolicy,
    ResourceRequirements,
    RestartPolicy,
    SecretVolumeSource,
    Volume,
)
from kcore.quantity import Quantity, parse_quantity


def q(text: str) -> Quantity:
    return parse_quantity(text)


def a_pod(
    *containers: Container, volumes: tuple[Volume, ...] = (), host_network: bool = False
) -> Pod:
    return Pod(
        metadata=ObjectMeta(name="web", namespace="default"),
        spec=PodSpec(containers=containers, volumes=volumes, host_network=host_network),
    )


def only_container(p: Pod) -> Container:
    (c,) = p.spec.containers
    return c


def defaulted(p: Pod) -> Pod:
    out = pod_defaults.default(p)
    assert isinstance(out, Pod)
    return out


# --- Pod ---------------------------------------------------------------------------------


def test_a_new_pod_has_upstreams_static_defaults() -> None:
    spec = PodSpec(containers=(Container(name="c", ports=(ContainerPort(container_port=80),)),))
    assert spec.restart_policy is RestartPolicy.ALWAYS
    assert spec.dns_policy is pod.DNSPolicy.CLUSTER_FIRST
    assert spec.termination_grace_period_seconds == 30
    assert spec.scheduler_name == "default-scheduler"
    c = spec.containers[0]
    assert c.ports[0].protocol is Protocol.TCP
    assert c.termination_message_path == "/dev/termination-log"
    assert c.termination_message_policy is pod.TerminationMessagePolicy.FILE
    assert Pod(spec=spec).status == pod.PodStatus()
    assert Pod.KIND is Kind.POD


@pytest.mark.parametrize(
    ("image", "policy"),
    [
        ("nginx", PullPolicy.ALWAYS),
        ("nginx:latest", PullPolicy.ALWAYS),
        ("nginx:1.25", PullPolicy.IF_NOT_PRESENT),
        ("registry.local:5000/team/nginx", PullPolicy.ALWAYS),
        ("registry.local:5000/team/nginx:1.25", PullPolicy.IF_NOT_PRESENT),
        ("nginx@sha256:" + "a" * 64, PullPolicy.IF_NOT_PRESENT),
        ("nginx:latest@sha256:" + "a" * 64, PullPolicy.ALWAYS),
        ("", PullPolicy.IF_NOT_PRESENT),
    ],
)
def test_image_pull_policy_is_defaulted_from_the_tag(image: str, policy: PullPolicy) -> None:
    p = defaulted(a_pod(Container(name="c", image=image)))
    assert only_container(p).image_pull_policy is policy


def test_an_explicit_image_pull_policy_is_kept() -> None:
    c = Container(name="c", image="nginx", image_pull_policy=PullPolicy.NEVER)
    assert only_container(defaulted(a_pod(c))).image_pull_policy is PullPolicy.NEVER


def test_defaulting_a_pod_gives_the_whole_expected_pod() -> None:
    p = a_pod(Container(name="c", image="nginx:1.25"))
    assert defaulted(p) == attrs.evolve(
        p,
        spec=attrs.evolve(
            p.spec,
            containers=(
                Container(
                    name="c", image="nginx:1.25", image_pull_policy=PullPolicy.IF_NOT_PRESENT
                ),
            ),
            security_context=PodSecurityContext(),
            enable_service_links=True,
        ),
        status=pod.PodStatus(phase=PodPhase.PENDING, qos_class=PodQOSClass.BEST_EFFORT),
    )


def test_pod_defaulting_is_idempotent() -> None:
    p = a_pod(
        Container(
            name="c",
            image="nginx",
            resources=ResourceRequirements(limits=pmap({"cpu": q("1")})),
            readiness_probe=Probe(http_get=HTTPGetAction(port=80, path="")),
        ),
        volumes=(Volume(name="scratch"),),
        host_network=True,
    )
    once = defaulted(p)
    assert defaulted(once) == once


def test_requests_default_to_limits_only_where_absent() -> None:
    res = ResourceRequirements(
        limits=pmap({"cpu": q("2"), "memory": q("1Gi")}), requests=pmap({"cpu": q("500m")})
    )
    c = only_container(defaulted(a_pod(Container(name="c", image="x:1", resources=res))))
    assert c.resources.requests == pmap({"cpu": q("500m"), "memory": q("1Gi")})
    assert c.resources.limits == res.limits


def test_a_template_gets_spec_defaults_but_not_pod_only_defaults() -> None:
    res = ResourceRequirements(limits=pmap({"cpu": q("1")}))
    t = PodTemplateSpec(spec=PodSpec(containers=(Container(name="c", image="x", resources=res),)))
    out = pod_defaults.default_pod_template(t)
    (c,) = out.spec.containers
    assert c.image_pull_policy is PullPolicy.ALWAYS
    assert c.resources.requests == pmap()
    assert out.spec.enable_service_links is None
    assert out.spec.security_context == PodSecurityContext()


@pytest.mark.parametrize(
    ("requests", "limits", "qos"),
    [
        ({}, {}, PodQOSClass.BEST_EFFORT),
        ({"cpu": "0"}, {}, PodQOSClass.BEST_EFFORT),
        ({"cpu": "100m"}, {}, PodQOSClass.BURSTABLE),
        ({}, {"cpu": "1", "memory": "1Gi"}, PodQOSClass.GUARANTEED),
        ({"cpu": "1000m", "memory": "1Gi"}, {"cpu": "1", "memory": "1Gi"}, PodQOSClass.GUARANTEED),
        ({"cpu": "500m"}, {"cpu": "1", "memory": "1Gi"}, PodQOSClass.BURSTABLE),
        ({}, {"cpu": "1"}, PodQOSClass.BURSTABLE),
    ],
)
def test_the_qos_class_follows_requests_and_limits(
    requests: dict[str, str], limits: dict[str, str], qos: PodQOSClass
) -> None:
    res = ResourceRequirements(
        requests=pmap({k: q(v) for k, v in requests.items()}),
        limits=pmap({k: q(v) for k, v in limits.items()}),
    )
    p = defaulted(a_pod(Container(name="c", image="x", resources=res)))
    assert p.status.qos_class is qos


def test_one_unlimited_container_makes_a_pod_burstable() -> None:
    full = ResourceRequirements(limits=pmap({"cpu": q("1"), "memory": q("1Gi")}))
    p = a_pod(Container(name="a", resources=full), Container(name="b"))
    assert pod.qos_class(p.spec) is PodQOSClass.BURSTABLE


def test_a_pods_existing_phase_is_kept() -> None:
    p = attrs.evolve(a_pod(Container(name="c")), status=pod.PodStatus(phase=PodPhase.RUNNING))
    assert defaulted(p).status.phase is PodPhase.RUNNING


def test_probe_zero_values_and_http_path_are_defaulted() -> None:
    probe = Probe(http_get=HTTPGetAction(port="http", path=""), timeout_seconds=0, period_seconds=0)
    c = only_container(defaulted(a_pod(Container(name="c", liveness_probe=probe))))
    assert c.liveness_probe == Probe(http_get=HTTPGetAction(port="http", path="/"))


def test_volumes_get_a_source_and_a_default_mode() -> None:
    p = defaulted(
        a_pod(
            Container(name="c"),
            volumes=(
                Volume(name="scratch"),
                Volume(name="creds", secret=SecretVolumeSource(secret_name="s")),
                Volume(name="ro", secret=SecretVolumeSource(secret_name="s", default_mode=0o400)),
            ),
        )
    )
    assert p.spec.volumes == (
        Volume(name="scratch", empty_dir=pod.EmptyDirVolumeSource()),
        Volume(name="creds", secret=SecretVolumeSource(secret_name="s", default_mode=0o644)),
        Volume(name="ro", secret=SecretVolumeSource(secret_name="s", default_mode=0o400)),
    )


def test_host_network_makes_container_ports_host_ports() -> None:
    c = Container(name="c", ports=(ContainerPort(container_port=8080),))
    out = only_container(defaulted(a_pod(c, host_network=True)))
    assert out.ports == (ContainerPort(container_port=8080, host_port=8080),)


def test_env_field_refs_default_their_api_version() -> None:
    env = EnvVar(
        name="NODE",
        value_from=EnvVarSource(field_ref=ObjectFieldSelector(field_path="spec.nodeName")),
    )
    (out,) = only_container(defaulted(a_pod(Container(name="c", env=(env,))))).env
    assert out.value_from == EnvVarSource(
        field_ref=ObjectFieldSelector(field_path="spec.nodeName", api_version="v1")
    )


def test_pods_are_hashable_values() -> None:
    a = a_pod(Container(name="c", image="nginx"))
    b = a_pod(Container(name="c", image="nginx"))
    assert a == b
    assert hash(a) == hash(b)
    assert len({a, b, defaulted(a)}) == 2
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        a.spec = PodSpec()  # type: ignore[misc]  # proving the class is frozen


def test_evolve_changes_one_field_and_shares_the_rest() -> None:
    a = a_pod(Container(name="c", image="nginx"))
    b = attrs.evolve(a, spec=attrs.evolve(a.spec, node_name="node-1"))
    assert b.spec.node_name == "node-1"
    assert a.spec.node_name == ""
    assert b.spec.containers is a.spec.containers
    assert b.metadata is a.metadata


def test_a_container_name_is_required() -> None:
    with pytest.raises(TypeError):
        Container()  # type: ignore[call-arg]  # proving the field is required


# --- Service -------------------------------------------------------------------------------


def defaulted_service(spec: ServiceSpec) -> ServiceSpec:
    out = core.default(Service(metadata=ObjectMeta(name="web"), spec=spec))
    assert isinstance(out, Service)
    return out.spec


def test_service_target_port_defaults_to_port() -> None:
    spec = defaulted_service(
        ServiceSpec(
            ports=(
                ServicePort(name="http", port=80),
                ServicePort(name="named", port=81, target_port="web"),
                ServicePort(name="num", port=82, target_port=8082, protocol=Protocol.UDP),
            )
        )
    )
    assert spec == ServiceSpec(
        ports=(
            ServicePort(name="http", port=80, target_port=80),
            ServicePort(name="named", port=81, target_port="web"),
            ServicePort(name="num", port=82, target_port=8082, protocol=Protocol.UDP),
        ),
        internal_traffic_policy=TrafficPolicy.CLUSTER,
    )
    assert spec.type is ServiceType.CLUSTER_IP
    assert spec.session_affinity is ServiceAffinity.NONE
    assert spec.ports[0].protocol is Protocol.TCP


def test_a_node_port_service_gets_traffic_policies() -> None:
    spec = defaulted_service(ServiceSpec(type=ServiceType.NODE_PORT))
    assert spec.external_traffic_policy is TrafficPolicy.CLUSTER
    assert spec.internal_traffic_policy is TrafficPolicy.CLUSTER
    assert spec.allocate_load_balancer_node_ports is None


def test_a_load_balancer_allocates_node_ports_by_default() -> None:
    spec = defaulted_service(ServiceSpec(type=ServiceType.LOAD_BALANCER))
    assert spec.allocate_load_balancer_node_ports is True


def test_an_external_name_service_gets_no_traffic_policy() -> None:
    spec = defaulted_service(
        ServiceSpec(type=ServiceType.EXTERNAL_NAME, external_name="db.example")
    )
    assert spec.internal_traffic_policy is None
    assert spec.external_traffic_policy is None


def test_client_ip_affinity_gets_the_default_timeout() -> None:
    spec = defaulted_service(ServiceSpec(session_affinity=ServiceAffinity.CLIENT_IP))
    assert spec.session_affinity_config == SessionAffinityConfig(
        client_ip=core.ClientIPConfig(timeout_seconds=10800)
    )


# --- ReplicationController -----------------------------------------------------------------


def test_rc_selector_labels_and_replicas_default_from_the_template() -> None:
    labels = pmap({"app": "web"})
    template = PodTemplateSpec(
        metadata=ObjectMeta(labels=labels),
        spec=PodSpec(containers=(Container(name="c", image="nginx"),)),
    )
    rc = ReplicationController(
        metadata=ObjectMeta(name="web"), spec=ReplicationControllerSpec(template=template)
    )
    out = core.default(rc)
    assert out == ReplicationController(
        metadata=ObjectMeta(name="web", labels=labels),
        spec=ReplicationControllerSpec(
            replicas=1, selector=labels, template=pod_defaults.default_pod_template(template)
        ),
    )
    assert core.default(out) == out


def test_an_rc_keeps_its_own_selector_labels_and_zero_replicas() -> None:
    template = PodTemplateSpec(metadata=ObjectMeta(labels=pmap({"app": "web", "tier": "fe"})))
    rc = ReplicationController(
        metadata=ObjectMeta(name="web", labels=pmap({"team": "a"})),
        spec=ReplicationControllerSpec(
            replicas=0, selector=pmap({"app": "web"}), template=template
        ),
    )
    out = core.default(rc)
    assert isinstance(out, ReplicationController)
    assert out.spec.replicas == 0
    assert out.spec.selector == pmap({"app": "web"})
    assert out.metadata.labels == pmap({"team": "a"})


# --- other kinds ---------------------------------------------------------------------------


def test_secret_string_data_is_merged_into_data_and_cleared() -> None:
    s = Secret(
        metadata=ObjectMeta(name="s"),
        data=pmap({"user": b"old", "keep": b"k"}),
        string_data=pmap({"user": "admin", "pass": "hunter2"}),
        type="",
    )
    out = core.default(s)
    assert out == Secret(
        metadata=ObjectMeta(name="s"),
        data=pmap({"user": b"admin", "keep": b"k", "pass": b"hunter2"}),
        type="Opaque",
    )
    assert core.default(out) == out


def test_a_namespace_gets_its_name_label_and_finalizer() -> None:
    ns = Namespace(metadata=ObjectMeta(name="team-a"))
    out = core.default(ns)
    assert out == Namespace(
        metadata=ObjectMeta(name="team-a", labels=pmap({"kubernetes.io/metadata.name": "team-a"})),
        spec=core.NamespaceSpec(finalizers=("kubernetes",)),
    )
    assert isinstance(out, Namespace)
    assert out.status.phase is NamespacePhase.ACTIVE
    assert core.default(out) == out


def test_a_finalized_terminating_namespace_is_not_given_its_finalizer_back() -> None:
    ns = Namespace(
        metadata=ObjectMeta(
            name="gone",
            labels=pmap({"kubernetes.io/metadata.name": "gone"}),
            deletion_timestamp=Time(100.0),
        ),
        status=core.NamespaceStatus(phase=NamespacePhase.TERMINATING),
    )
    assert core.default(ns) == ns


def test_node_allocatable_defaults_to_capacity() -> None:
    cap = pmap({"cpu": q("4"), "memory": q("16Gi"), "pods": q("110")})
    out = core.default(Node(metadata=ObjectMeta(name="node-1"), status=NodeStatus(capacity=cap)))
    assert out == Node(
        metadata=ObjectMeta(name="node-1"), status=NodeStatus(capacity=cap, allocatable=cap)
    )
    own = NodeStatus(capacity=cap, allocatable=pmap({"cpu": q("3")}))
    assert core.default(Node(status=own)) == Node(status=own)


def test_limit_range_container_defaults_fill_from_max_default_and_min() -> None:
    item = LimitRangeItem(
        type=LimitType.CONTAINER,
        max=pmap({"cpu": q("2"), "memory": q("1Gi")}),
        min=pmap({"cpu": q("100m"), "ephemeral-storage": q("1Gi")}),
        default=pmap({"cpu": q("1")}),
    )
    out = core.default(LimitRange(spec=LimitRangeSpec(limits=(item,))))
    assert out == LimitRange(
        spec=LimitRangeSpec(
            limits=(
                attrs.evolve(
                    item,
                    default=pmap({"cpu": q("1"), "memory": q("1Gi")}),
                    default_request=pmap(
                        {"cpu": q("1"), "memory": q("1Gi"), "ephemeral-storage": q("1Gi")}
                    ),
                ),
            )
        )
    )


def test_a_pod_limit_range_item_is_not_defaulted() -> None:
    item = LimitRangeItem(type=LimitType.POD, max=pmap({"cpu": q("2")}))
    lr = LimitRange(spec=LimitRangeSpec(limits=(item,)))
    assert core.default(lr) == lr


def test_core_default_delegates_pods_and_leaves_plain_kinds_alone() -> None:
    p = a_pod(Container(name="c", image="nginx"))
    assert core.default(p) == pod_defaults.default(p)
    cm = ConfigMap(metadata=ObjectMeta(name="cm"), data=pmap({"k": "v"}))
    assert core.default(cm) is cm
    svc = Service(metadata=ObjectMeta(name="s"))
    assert pod_defaults.default(svc) is svc


def test_every_core_kind_declares_its_kind() -> None:
    ref = ObjectReference(kind="Pod", namespace="default", name="web")
    kinds: tuple[tuple[Callable[[], ApiObject], Kind], ...] = (
        (Namespace, Kind.NAMESPACE),
        (Node, Kind.NODE),
        (Service, Kind.SERVICE),
        (Endpoints, Kind.ENDPOINTS),
        (ConfigMap, Kind.CONFIG_MAP),
        (Secret, Kind.SECRET),
        (ServiceAccount, Kind.SERVICE_ACCOUNT),
        (ResourceQuota, Kind.RESOURCE_QUOTA),
        (LimitRange, Kind.LIMIT_RANGE),
        (PersistentVolumeClaim, Kind.PERSISTENT_VOLUME_CLAIM),
        (ReplicationController, Kind.REPLICATION_CONTROLLER),
    )
    for make, kind in kinds:
        obj = make()
        assert obj.KIND is kind
        assert obj == make()
        assert hash(obj) == hash(make())
    ev = Event(metadata=ObjectMeta(name="web.1"), involved_object=ref, reason="Scheduled")
    assert ev.KIND is Kind.EVENT
    assert hash(ev) == hash(attrs.evolve(ev))


def test_an_event_requires_its_involved_object() -> None:
    with pytest.raises(TypeError):
        Event()  # type: ignore[call-arg]  # proving the field is required


def test_a_pvc_starts_pending_with_a_filesystem_volume() -> None:
    pvc = PersistentVolumeClaim(metadata=ObjectMeta(name="data"))
    assert pvc.spec.volume_mode is PersistentVolumeMode.FILESYSTEM
    assert pvc.status.phase is PersistentVolumeClaimPhase.PENDING
    assert core.default(pvc) is pvc


def test_quantities_inside_objects_compare_as_values() -> None:
    a = Node(status=NodeStatus(capacity=pmap({"cpu": q("4")})))
    b = Node(status=NodeStatus(capacity=pmap({"cpu": q("4")})))
    assert a == b
    assert hash(a) == hash(b)
