"""The admission chain: each plugin's effect or refusal, then allocation."""

from __future__ import annotations

import enum
import typing

import attrs
from hypothesis import given
from hypothesis import strategies as st
from pyrsistent import pmap

from kcore.api.core import (
    Event,
    Namespace,
    NamespacePhase,
    NamespaceStatus,
    ObjectReference,
    ResourceQuotaScope,
    ResourceQuotaSpec,
    Service,
    ServicePort,
    ServiceType,
    TrafficPolicy,
)
from kcore.api.defaults import apply_defaults
from kcore.api.meta import ApiObject, ObjectMeta, Status, StatusReason, Time
from kcore.api.pod import (
    Pod,
    PodPhase,
    PodStatus,
    PreemptionPolicy,
    ResourceRequirements,
    TaintEffect,
    Toleration,
    TolerationOperator,
)
from kcore.api.registry import CLASSES
from kcore.api.validation.meta import label_errors, label_key_errors
from kcore.apiserver import handle
from kcore.apiserver.admission import (
    CHAINS,
    PLUGIN_KINDS,
    PLUGINS,
    Admitted,
    Operation,
    Request,
    admit,
)
from kcore.component.requests import Create
from kcore.labels import validate_label_name, validate_labels
from kcore.quantity import parse_quantity
from kcore.state import ClusterConfig, ClusterState, put
from tests.builders import (
    T0,
    a_config_map,
    a_container,
    a_limit_range,
    a_pod,
    a_resource_quota,
    a_service,
    cluster_with,
)


def admitted(result: Admitted | Status) -> ApiObject:
    assert isinstance(result, Admitted), result
    return result.obj


def refused(result: Admitted | Status) -> Status:
    assert isinstance(result, Status), result
    return result


def create(state: ClusterState, obj: ApiObject) -> Admitted | Status:
    return admit(state, Operation.CREATE, apply_defaults(obj), None, T0)


def created_pod(state: ClusterState, pod: Pod) -> Pod:
    obj = admitted(create(state, pod))
    assert isinstance(obj, Pod)
    return obj


def store(state: ClusterState, *objects: ApiObject) -> ClusterState:
    for obj in objects:
        state, response, _ = handle(state, Create(obj=obj), T0)
        assert response.ok, response.body
    return state


# ---- NamespaceLifecycle -------------------------------------------------------------------


def test_a_create_in_a_missing_namespace_is_not_found() -> None:
    status = refused(create(cluster_with(), a_pod(namespace="ghost")))
    assert (status.code, status.reason, status.message) == (
        404,
        StatusReason.NOT_FOUND,
        'namespaces "ghost" not found',
    )
    assert isinstance(create(cluster_with(), a_pod()), Admitted)


def test_a_create_in_a_terminating_namespace_is_forbidden() -> None:
    state = cluster_with()
    doomed = Namespace(
        metadata=ObjectMeta(name="doomed"), status=NamespaceStatus(phase=NamespacePhase.TERMINATING)
    )
    state = put(state, doomed)
    status = refused(create(state, a_pod(namespace="doomed")))
    assert (status.code, status.message) == (
        403,
        'pods "web" is forbidden: unable to create new content in namespace doomed because it is being terminated',
    )


def test_system_namespaces_cannot_be_deleted() -> None:
    ns = Namespace(metadata=ObjectMeta(name="kube-system"))
    status = refused(admit(cluster_with(), Operation.DELETE, ns, None, T0))
    assert (status.code, status.message) == (
        403,
        'namespaces "kube-system" is forbidden: this namespace may not be deleted',
    )
    team = Namespace(metadata=ObjectMeta(name="team"))
    assert admit(cluster_with(), Operation.DELETE, team, None, T0) == Admitted(obj=team)


# ---- LimitRanger ---------------------------------------------------------------------------


def test_limit_range_defaults_fill_missing_requests_and_limits() -> None:
    state = cluster_with(a_limit_range(default={"cpu": "500m"}, default_request={"cpu": "250m"}))
    pod = created_pod(state, a_pod())
    res = pod.spec.containers[0].resources
    assert (dict(res.requests), dict(res.limits)) == (
        {"cpu": parse_quantity("250m")},
        {"cpu": parse_quantity("500m")},
    )
    assert pod.metadata.annotations["kubernetes.io/limit-ranger"] == (
        "LimitRanger plugin set: cpu request for container app; cpu limit for container app"
    )


def test_limit_range_defaults_keep_what_the_container_states() -> None:
    state = cluster_with(a_limit_range(default_request={"cpu": "250m"}))
    pod = created_pod(state, a_pod(containers=(a_container(cpu="100m"),)))
    assert dict(pod.spec.containers[0].resources.requests) == {"cpu": parse_quantity("100m")}


def test_a_container_below_the_minimum_is_forbidden() -> None:
    state = cluster_with(a_limit_range(min={"cpu": "200m"}))
    status = refused(create(state, a_pod(containers=(a_container(cpu="100m"),))))
    assert (status.code, status.message) == (
        403,
        'pods "web" is forbidden: minimum cpu usage per Container is 200m, but request is 100m',
    )


def test_a_container_above_the_maximum_is_forbidden() -> None:
    state = cluster_with(a_limit_range(max={"memory": "1Gi"}))
    c = attrs.evolve(
        a_container(),
        resources=ResourceRequirements(limits=pmap({"memory": parse_quantity("2Gi")})),
    )
    status = refused(create(state, a_pod(containers=(c,))))
    assert (
        status.message
        == 'pods "web" is forbidden: maximum memory usage per Container is 1Gi, but limit is 2Gi'
    )


def test_the_maximum_becomes_the_default_limit() -> None:
    pod = created_pod(cluster_with(a_limit_range(max={"memory": "1Gi"})), a_pod())
    assert dict(pod.spec.containers[0].resources.limits) == {"memory": parse_quantity("1Gi")}


def test_the_limit_to_request_ratio_is_enforced() -> None:
    state = cluster_with(a_limit_range(max_limit_request_ratio={"cpu": "2"}))
    c = attrs.evolve(
        a_container(),
        resources=ResourceRequirements(
            requests=pmap({"cpu": parse_quantity("100m")}),
            limits=pmap({"cpu": parse_quantity("1")}),
        ),
    )
    status = refused(create(state, a_pod(containers=(c,))))
    assert status.message == (
        'pods "web" is forbidden: cpu max limit to request ratio per Container is 2, but provided ratio is 10.000000'
    )


# ---- ServiceAccount, Priority, DefaultTolerationSeconds ---------------------------------


def test_pods_run_as_the_default_service_account() -> None:
    pod = created_pod(cluster_with(), a_pod())
    assert pod.spec.service_account_name == "default"
    named = a_pod()
    named = attrs.evolve(named, spec=attrs.evolve(named.spec, service_account_name="builder"))
    assert created_pod(cluster_with(), named).spec.service_account_name == "builder"


def test_priority_comes_from_the_system_priority_classes() -> None:
    pod = a_pod()
    critical = attrs.evolve(
        pod, spec=attrs.evolve(pod.spec, priority_class_name="system-node-critical")
    )
    assert created_pod(cluster_with(), critical).spec.priority == 2000001000
    plain = created_pod(cluster_with(), pod)
    assert (plain.spec.priority, plain.spec.preemption_policy) == (
        0,
        PreemptionPolicy.PREEMPT_LOWER_PRIORITY,
    )


def test_a_pod_may_not_state_a_different_priority() -> None:
    pod = a_pod()
    pod = attrs.evolve(pod, spec=attrs.evolve(pod.spec, priority=7))
    assert refused(create(cluster_with(), pod)).message == (
        'pods "web" is forbidden: the integer value of priority (7) must not be provided in pod spec; '
        "priority admission controller computed 0 from the given PriorityClass name"
    )


def test_pods_tolerate_not_ready_and_unreachable_for_five_minutes() -> None:
    pod = created_pod(cluster_with(), a_pod())
    assert pod.spec.tolerations == tuple(
        Toleration(
            key=k,
            operator=TolerationOperator.EXISTS,
            effect=TaintEffect.NO_EXECUTE,
            toleration_seconds=300,
        )
        for k in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable")
    )


def test_a_pod_tolerating_everything_gets_no_default_tolerations() -> None:
    everything = Toleration(operator=TolerationOperator.EXISTS)
    pod = a_pod()
    pod = attrs.evolve(pod, spec=attrs.evolve(pod.spec, tolerations=(everything,)))
    assert created_pod(cluster_with(), pod).spec.tolerations == (everything,)


# ---- Validation -------------------------------------------------------------------------


def test_an_invalid_object_is_refused_with_422_and_causes() -> None:
    status = refused(create(cluster_with(), a_pod(containers=(a_container(image=""),))))
    assert (status.code, status.reason, status.message) == (
        422,
        StatusReason.INVALID,
        'Pod "web" is invalid: spec.containers[0].image: Required value',
    )
    assert status.details is not None
    assert [(c.field, c.message) for c in status.details.causes] == [
        ("spec.containers[0].image", "Required value")
    ]


def test_a_re_submitted_pod_manifest_keeps_server_set_fields() -> None:
    state = store(cluster_with(), a_pod(node_name="node-1"))
    old = state.tables[a_pod().KIND][("default", "web")]
    new = apply_defaults(a_pod())
    result = admit(state, Operation.UPDATE, new, old, T0)
    assert isinstance(result, Admitted)
    assert isinstance(result.obj, Pod) and isinstance(old, Pod)
    assert result.obj.spec.node_name == old.spec.node_name == "node-1"


# ---- ResourceQuota -------------------------------------------------------------------------


def test_an_object_count_quota_refuses_one_too_many() -> None:
    state = store(cluster_with(a_resource_quota(pods="2")), a_pod("a"), a_pod("b"))
    status = refused(create(state, a_pod("c")))
    assert (status.code, status.message) == (
        403,
        'pods "c" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2',
    )


def test_terminal_pods_use_no_quota() -> None:
    unused = cluster_with(a_resource_quota(pods="1"))
    state = store(unused, a_pod("a"))
    assert refused(create(state, a_pod("b"))).code == 403
    stored = state.tables[a_pod().KIND][("default", "a")]
    assert isinstance(stored, Pod)
    done = attrs.evolve(stored, status=PodStatus(phase=PodPhase.SUCCEEDED))
    state = put(state, done)
    assert create(state, a_pod("b")) == create(unused, a_pod("b"))  # admitted as if "a" never ran


def test_a_compute_quota_needs_every_container_to_state_the_resource() -> None:
    state = cluster_with(a_resource_quota(limits_cpu="2"))
    status = refused(create(state, a_pod()))
    assert (
        status.message
        == 'pods "web" is forbidden: failed quota: q: must specify limits.cpu for: app'
    )


def test_a_compute_quota_sums_requests() -> None:
    state = store(
        cluster_with(a_resource_quota(requests_cpu="1")), a_pod("a", containers=(a_container(cpu="600m"),))
    )
    status = refused(create(state, a_pod("b", containers=(a_container(cpu="600m"),))))
    assert status.message == (
        'pods "b" is forbidden: exceeded quota: q, requested: requests.cpu=600m, '
        "used: requests.cpu=600m, limited: requests.cpu=1"
    )
    fits = a_pod("b", containers=(a_container(cpu="400m"),))
    assert create(state, fits) == create(cluster_with(), fits)  # admitted, and the quota changes nothing


def test_quota_counts_config_maps_and_generic_counts() -> None:
    state = store(cluster_with(a_resource_quota(configmaps="1")), a_config_map("one"))
    assert refused(create(state, a_config_map("two"))).message == (
        'configmaps "two" is forbidden: exceeded quota: q, requested: configmaps=1, used: configmaps=1, limited: configmaps=1'
    )


def test_a_best_effort_scoped_quota_ignores_burstable_pods() -> None:
    scoped = attrs.evolve(
        a_resource_quota(pods="0"),
        spec=ResourceQuotaSpec(
            hard=pmap({"pods": parse_quantity("0")}), scopes=(ResourceQuotaScope.BEST_EFFORT,)
        ),
    )
    state = cluster_with(scoped)
    assert isinstance(create(state, a_pod(containers=(a_container(cpu="100m"),))), Admitted)
    assert refused(create(state, a_pod())).code == 403


# ---- ClusterIP and NodePort allocation ----------------------------------------------------


def created_service(state: ClusterState, svc: Service) -> Service:
    obj = admitted(create(state, svc))
    assert isinstance(obj, Service)
    return obj


def test_a_service_gets_a_cluster_ip_inside_the_cidr() -> None:
    svc = created_service(cluster_with(), a_service())
    ip = svc.spec.cluster_ip
    assert ip.startswith("10.") and ip not in ("10.96.0.0", "10.96.0.1")
    assert svc.spec.cluster_ips == (ip,)


def test_cluster_ip_choice_is_deterministic_per_seed() -> None:
    a = created_service(cluster_with(), a_service()).spec.cluster_ip
    b = created_service(cluster_with(), a_service()).spec.cluster_ip
    c = created_service(cluster_with(config=ClusterConfig(seed=7)), a_service()).spec.cluster_ip
    assert a == b != c


def test_the_next_free_address_is_taken_when_the_first_choice_is_used() -> None:
    first = created_service(cluster_with(), a_service()).spec.cluster_ip
    other = a_service("other")
    other = attrs.evolve(other, spec=attrs.evolve(other.spec, cluster_ip=first))
    state = store(cluster_with(), other)
    second = created_service(state, a_service()).spec.cluster_ip
    assert second != first


def test_an_explicit_cluster_ip_that_is_taken_is_invalid() -> None:
    holder = a_service("holder")
    holder = attrs.evolve(holder, spec=attrs.evolve(holder.spec, cluster_ip="10.96.0.10"))
    state = store(cluster_with(), holder)
    svc = a_service()
    svc = attrs.evolve(svc, spec=attrs.evolve(svc.spec, cluster_ip="10.96.0.10"))
    status = refused(create(state, svc))
    assert (status.code, status.message) == (
        422,
        'Service "web" is invalid: spec.clusterIPs: Invalid value: []string{"10.96.0.10"}: '
        "failed to allocate IP 10.96.0.10: provided IP is already allocated",
    )


def test_an_explicit_cluster_ip_outside_the_cidr_is_invalid() -> None:
    svc = a_service()
    svc = attrs.evolve(svc, spec=attrs.evolve(svc.spec, cluster_ip="192.168.0.1"))
    assert refused(create(cluster_with(), svc)).message.endswith(
        "failed to allocate IP 192.168.0.1: provided IP (192.168.0.1) is not in the valid range. "
        "The range of valid IPs is 10.96.0.0/12"
    )


def test_headless_and_external_name_services_get_no_address() -> None:
    headless = a_service()
    headless = attrs.evolve(headless, spec=attrs.evolve(headless.spec, cluster_ip="None"))
    assert created_service(cluster_with(), headless).spec.cluster_ips == ("None",)
    ext = Service(metadata=ObjectMeta(name="db", namespace="default"))
    ext = attrs.evolve(
        ext,
        spec=attrs.evolve(ext.spec, type=ServiceType.EXTERNAL_NAME, external_name="db.example.com"),
    )
    assert created_service(cluster_with(), ext).spec.cluster_ip == ""


def node_port_service(name: str = "web", node_port: int = 0) -> Service:
    svc = a_service(name)
    return attrs.evolve(
        svc,
        spec=attrs.evolve(
            svc.spec, type=ServiceType.NODE_PORT, ports=(ServicePort(port=80, node_port=node_port),)
        ),
    )


def test_a_node_port_service_gets_a_port_in_range() -> None:
    port = created_service(cluster_with(), node_port_service()).spec.ports[0].node_port
    assert 30000 <= port <= 32767


def test_an_explicit_node_port_is_honoured_or_refused_when_taken() -> None:
    assert (
        created_service(cluster_with(), node_port_service(node_port=30080)).spec.ports[0].node_port
        == 30080
    )
    state = store(cluster_with(), node_port_service("holder", 30080))
    status = refused(create(state, node_port_service(node_port=30080)))
    assert (status.code, status.message) == (
        422,
        'Service "web" is invalid: spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated',
    )


def test_a_node_port_outside_the_range_is_invalid() -> None:
    status = refused(create(cluster_with(), node_port_service(node_port=80)))
    assert status.message == (
        'Service "web" is invalid: spec.ports[0].nodePort: Invalid value: 80: provided port is not in '
        "the valid range. The range of valid ports is 30000-32767"
    )


def test_an_update_that_omits_allocated_values_keeps_them() -> None:
    state = store(cluster_with(), node_port_service())
    old = state.tables[Service.KIND][("default", "web")]
    assert isinstance(old, Service)
    again = apply_defaults(node_port_service())
    new = admitted(admit(state, Operation.UPDATE, again, old, T0))
    assert isinstance(new, Service)
    assert (new.spec.cluster_ip, new.spec.ports[0].node_port) == (
        old.spec.cluster_ip,
        old.spec.ports[0].node_port,
    )


def local_lb(name: str = "web", health: int = 0, policy: TrafficPolicy = TrafficPolicy.LOCAL) -> Service:
    svc = a_service(name)
    return attrs.evolve(
        svc,
        spec=attrs.evolve(
            svc.spec,
            type=ServiceType.LOAD_BALANCER,
            external_traffic_policy=policy,
            health_check_node_port=health,
            ports=(ServicePort(port=80),),
        ),
    )


def test_a_local_load_balancer_gets_a_health_check_node_port_apart_from_its_node_ports() -> None:
    svc = created_service(cluster_with(), local_lb())
    assert 30000 <= svc.spec.health_check_node_port <= 32767
    assert svc.spec.health_check_node_port != svc.spec.ports[0].node_port
    assert created_service(cluster_with(), local_lb(policy=TrafficPolicy.CLUSTER)).spec.health_check_node_port == 0


def test_a_requested_health_check_node_port_is_honoured_or_refused_when_taken() -> None:
    assert created_service(cluster_with(), local_lb(health=31000)).spec.health_check_node_port == 31000
    state = store(cluster_with(), node_port_service("holder", 31000))
    status = refused(create(state, local_lb(health=31000)))
    assert status.message == (
        'Service "web" is invalid: spec.healthCheckNodePort: Invalid value: 31000: failed to allocate '
        "requested HealthCheck NodePort 31000: provided port is already allocated"
    )


def test_a_health_check_node_port_is_only_for_local_load_balancers() -> None:
    status = refused(create(cluster_with(), local_lb(health=31000, policy=TrafficPolicy.CLUSTER)))
    assert status.message == (
        'Service "web" is invalid: spec.healthCheckNodePort: Invalid value: 31000: may only be set '
        "when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"
    )


def test_an_update_keeps_the_health_check_node_port_and_drops_it_with_the_local_policy() -> None:
    state = store(cluster_with(), local_lb())
    old = state.tables[Service.KIND][("default", "web")]
    assert isinstance(old, Service) and old.spec.health_check_node_port
    kept = admitted(admit(state, Operation.UPDATE, apply_defaults(local_lb()), old, T0))
    assert isinstance(kept, Service) and kept.spec.health_check_node_port == old.spec.health_check_node_port
    to_cluster = attrs.evolve(old, spec=attrs.evolve(old.spec, external_traffic_policy=TrafficPolicy.CLUSTER))
    dropped = admitted(admit(state, Operation.UPDATE, to_cluster, old, T0))
    assert isinstance(dropped, Service) and dropped.spec.health_check_node_port == 0


# ---- Validation fast paths ---------------------------------------------------------------

_LABEL_ALPHABET = "aZ09-_./é"


@given(
    st.dictionaries(
        st.text(_LABEL_ALPHABET, max_size=70) | st.sampled_from(("app", "example.com/tier")),
        st.text(_LABEL_ALPHABET, max_size=70),
        max_size=3,
    )
)
def test_the_plain_label_fast_path_answers_as_the_full_label_validation(
    labels: dict[str, str],
) -> None:
    assert label_errors(labels, "metadata.labels") == validate_labels(labels, "metadata.labels")
    for k in labels:
        assert label_key_errors(k, "key") == validate_label_name(k, "key")


# --- per-kind chains equal the whole chain ------------------------------------------------


def _built(cls: type) -> object:
    """An instance of `cls` with every required field built the same way (an enum: its first value)."""
    if isinstance(cls, enum.EnumMeta):
        return next(iter(cls))
    if not attrs.has(cls):
        return cls()
    hints = typing.get_type_hints(cls)
    required = {f.name: _built(hints[f.name]) for f in attrs.fields(cls) if f.default is attrs.NOTHING}
    return cls(**required)


def _instance(cls: type) -> ApiObject:
    obj = typing.cast(ApiObject, _built(cls))
    namespace = "default" if obj.KIND.info.namespaced else ""
    meta = ObjectMeta(name="x", namespace=namespace, labels=pmap({"app": "x"}))
    return attrs.evolve(obj, metadata=meta)  # type: ignore[misc]


def test_each_kind_chain_drops_only_plugins_that_pass_it_unchanged() -> None:
    """For every kind, each plugin left out of its chain returns the object itself for
    every operation, with and without an old object: the chain gives the whole chain's
    answer. The Pod, Service and PriorityClass chains keep their plugins."""
    state = cluster_with()
    for kind, cls in CLASSES.items():
        obj = _instance(cls)
        chain = CHAINS[cls]
        assert [p for p in PLUGINS if p in chain] == list(chain)  # order kept
        for plugin in PLUGINS:
            if plugin in chain:
                continue
            assert not issubclass(cls, PLUGIN_KINDS[plugin]), (kind, plugin)
            for op in Operation:
                for old in (None, obj):
                    req = Request(state=state, op=op, old=old, now=Time(100.0))
                    assert plugin(req, obj) is obj, (kind, plugin, op)
    assert len(CHAINS[Pod]) == len(PLUGINS) - 4
    assert len(CHAINS[Service]) == len(PLUGINS) - 4
    assert len(CHAINS[Event]) == len(PLUGINS) - 6


def _whole_chain(state: ClusterState, op: Operation, obj: ApiObject, old: ApiObject | None) -> Admitted | Status:
    req = Request(state=state, op=op, old=old, now=Time(100.0))
    for plugin in PLUGINS:
        result = plugin(req, obj)
        if isinstance(result, Status):
            return result
        obj = result
    return Admitted(obj=obj)


@given(
    st.sampled_from(["default", "missing", "Bad_NS"]),
    st.text(alphabet="abz.-_A", min_size=0, max_size=8),
    st.text(alphabet="abz-", max_size=4),
    st.sampled_from(list(Operation)),
    st.booleans(),
)
def test_event_admission_equals_the_whole_chain(
    namespace: str, name: str, involved_ns: str, op: Operation, with_old: bool
) -> None:
    """Events, valid and not, in live and missing namespaces: `admit` answers what the
    whole chain answers."""
    state = cluster_with()
    ev = Event(
        metadata=ObjectMeta(name=name, namespace=namespace),
        involved_object=ObjectReference(kind="Pod", namespace=involved_ns, name="p"),
        reason="Pulled",
        message="m",
        count=1,
    )
    old = attrs.evolve(ev, count=2) if with_old else None
    assert admit(state, op, ev, old, Time(100.0)) == _whole_chain(state, op, ev, old)
