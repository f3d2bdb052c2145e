"""Builders of API objects with sane defaults, for tests: `a_pod(...)`, `a_node(...)`, ...

One builder per kind (and per part several kinds share: `a_container`, `a_template`,
`a_claim_template`). Each returns a valid object of its kind as a user would submit it
(no uid, no resourceVersion), so it can be created through the apiserver as is. Keyword
arguments override the interesting parts; anything else is upstream's default. A workload
selects its template's labels (`app=<name>` unless `labels`). Also `cluster_with`, which
creates objects through `handle` (namespaces first) and returns the state.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

import attrs
from pyrsistent import pmap

from kcore.api import rbac
from kcore.api.apps import (
    DaemonSet,
    DaemonSetSpec,
    DaemonSetUpdateStrategy,
    Deployment,
    DeploymentSpec,
    PersistentVolumeClaimRetentionPolicyType,
    PodManagementPolicy,
    ReplicaSet,
    ReplicaSetSpec,
    RollingUpdateStatefulSetStrategy,
    StatefulSet,
    StatefulSetOrdinals,
    StatefulSetPersistentVolumeClaimRetentionPolicy,
    StatefulSetSpec,
    StatefulSetUpdateStrategy,
    StatefulSetUpdateStrategyType,
)
from kcore.api.autoscaling import (
    CrossVersionObjectReference,
    HorizontalPodAutoscaler,
    HorizontalPodAutoscalerBehavior,
    HorizontalPodAutoscalerSpec,
    MetricSourceType,
    MetricSpec,
    MetricTarget,
    MetricTargetType,
    ResourceMetricSource,
)
from kcore.api.batch import CompletionMode, CronJob, CronJobSpec, Job, JobSpec, JobTemplateSpec
from kcore.api.coordination import Lease, LeaseSpec
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
    Namespace,
    Node,
    NodeCondition,
    NodeSpec,
    NodeStatus,
    ObjectReference,
    PersistentVolumeAccessMode,
    PersistentVolumeClaim,
    PersistentVolumeClaimSpec,
    ReplicationController,
    ReplicationControllerSpec,
    ResourceQuota,
    ResourceQuotaSpec,
    Secret,
    Service,
    ServiceAccount,
    ServicePort,
    ServiceSpec,
    VolumeResourceRequirements,
)
from kcore.api.discovery import (
    LABEL_SERVICE_NAME,
    AddressType,
    Endpoint,
    EndpointConditions,
    EndpointSlice,
)
from kcore.api.discovery import EndpointPort as SliceEndpointPort
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ApiObject, ConditionStatus, MicroTime, ObjectMeta, OwnerReference, Time
from kcore.api.metrics import ContainerMetrics, PodMetrics
from kcore.api.networking import (
    ANNOTATION_DEFAULT_INGRESS_CLASS,
    HTTPIngressPath,
    HTTPIngressRuleValue,
    Ingress,
    IngressBackend,
    IngressClass,
    IngressClassSpec,
    IngressRule,
    IngressServiceBackend,
    IngressSpec,
    NetworkPolicy,
    NetworkPolicyEgressRule,
    NetworkPolicyIngressRule,
    NetworkPolicySpec,
    PathType,
    PolicyType,
    ServiceBackendPort,
)
from kcore.api.pod import (
    Container,
    ContainerPort,
    LabelSelector,
    Pod,
    PodSpec,
    PodTemplateSpec,
    Protocol,
    ResourceRequirements,
    RestartPolicy,
    Toleration,
)
from kcore.api.policy import (
    PodDisruptionBudget,
    PodDisruptionBudgetSpec,
    UnhealthyPodEvictionPolicy,
)
from kcore.api.rbac import (
    ClusterRole,
    ClusterRoleBinding,
    PolicyRule,
    Role,
    RoleBinding,
    RoleRef,
    Subject,
)
from kcore.api.scheduling import PreemptionPolicy, PriorityClass
from kcore.quantity import Quantity, parse_quantity
from kcore.state import ClusterConfig, ClusterState, empty_state

T = TypeVar("T", bound=ApiObject)

T0 = Time(1_700_000_000.0)
"""A fixed simulated 'now' for tests (2023-11-14T22:13:20Z)."""


def meta(
    name: str = "",
    namespace: str = "default",
    *,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    generate_name: str = "",
    finalizers: Iterable[str] = (),
    owners: Iterable[OwnerReference] = (),
) -> ObjectMeta:
    """ObjectMeta with the common fields."""
    return ObjectMeta(
        name=name,
        namespace=namespace,
        generate_name=generate_name,
        labels=pmap(labels or {}),
        annotations=pmap(annotations or {}),
        finalizers=tuple(finalizers),
        owner_references=tuple(owners),
    )


def a_container(
    name: str = "app",
    image: str = "nginx:1.25",
    *,
    cpu: str = "",
    memory: str = "",
    ports: Iterable[int] = (),
) -> Container:
    """A container; `cpu`/`memory` set requests (and nothing else) when given."""
    requests = {k: parse_quantity(v) for k, v in (("cpu", cpu), ("memory", memory)) if v}
    return Container(
        name=name,
        image=image,
        ports=tuple(ContainerPort(container_port=p) for p in ports),
        resources=ResourceRequirements(requests=pmap(requests)),
    )


def a_pod_spec(
    *containers: Container, node_name: str = "", grace: int = 30
) -> PodSpec:
    return PodSpec(
        containers=containers or (a_container(),),
        node_name=node_name,
        termination_grace_period_seconds=grace,
    )


def a_pod(
    name: str = "web",
    namespace: str = "default",
    *,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    containers: Iterable[Container] = (),
    node_name: str = "",
    grace: int = 30,
    generate_name: str = "",
    finalizers: Iterable[str] = (),
    owners: Iterable[OwnerReference] = (),
) -> Pod:
    """A pod with one nginx container (unless `containers`), unbound unless `node_name`."""
    return Pod(
        metadata=meta(
            name,
            namespace,
            labels=labels,
            annotations=annotations,
            generate_name=generate_name,
            finalizers=finalizers,
            owners=owners,
        ),
        spec=a_pod_spec(*containers, node_name=node_name, grace=grace),
    )


def a_namespace(name: str = "default", *, labels: Mapping[str, str] | None = None) -> Namespace:
    return Namespace(metadata=meta(name, "", labels=labels))


def a_node(
    name: str = "node-1",
    *,
    cpu: str = "4",
    memory: str = "16Gi",
    pods: str = "110",
    labels: Mapping[str, str] | None = None,
    unschedulable: bool = False,
    ready: bool = True,
) -> Node:
    """A Ready node with capacity = allocatable."""
    capacity = pmap({k: parse_quantity(v) for k, v in (("cpu", cpu), ("memory", memory), ("pods", pods))})
    condition = NodeCondition(
        type="Ready", status=ConditionStatus.TRUE if ready else ConditionStatus.FALSE
    )
    return Node(
        metadata=meta(name, "", labels={"kubernetes.io/hostname": name, **(labels or {})}),
        spec=NodeSpec(unschedulable=unschedulable),
        status=NodeStatus(capacity=capacity, allocatable=capacity, conditions=(condition,)),
    )


def a_template(labels: Mapping[str, str], *containers: Container) -> PodTemplateSpec:
    return PodTemplateSpec(metadata=ObjectMeta(labels=pmap(labels)), spec=a_pod_spec(*containers))


def a_deployment(
    name: str = "web",
    namespace: str = "default",
    *,
    replicas: int = 3,
    labels: Mapping[str, str] | None = None,
    containers: Iterable[Container] = (),
) -> Deployment:
    """A Deployment whose selector matches its template's labels (default app=<name>)."""
    selected = dict(labels or {"app": name})
    return Deployment(
        metadata=meta(name, namespace, labels=selected),
        spec=DeploymentSpec(
            replicas=replicas,
            selector=LabelSelector(match_labels=pmap(selected)),
            template=a_template(selected, *containers),
        ),
    )


def a_replica_set(
    name: str = "web",
    namespace: str = "default",
    *,
    replicas: int = 3,
    labels: Mapping[str, str] | None = None,
    owners: Iterable[OwnerReference] = (),
    min_ready_seconds: int = 0,
) -> ReplicaSet:
    """A ReplicaSet whose pods count as available `min_ready_seconds` after Ready."""
    selected = dict(labels or {"app": name})
    return ReplicaSet(
        metadata=meta(name, namespace, labels=selected, owners=owners),
        spec=ReplicaSetSpec(
            replicas=replicas,
            selector=LabelSelector(match_labels=pmap(selected)),
            template=a_template(selected),
            min_ready_seconds=min_ready_seconds,
        ),
    )


def a_service(
    name: str = "web",
    namespace: str = "default",
    *,
    selector: Mapping[str, str] | None = None,
    ports: Iterable[int] = (80,),
) -> Service:
    return Service(
        metadata=meta(name, namespace),
        spec=ServiceSpec(
            selector=pmap(selector if selector is not None else {"app": name}),
            ports=tuple(ServicePort(port=p) for p in ports),
        ),
    )


def a_config_map(
    name: str = "config", namespace: str = "default", *, data: Mapping[str, str] | None = None
) -> ConfigMap:
    return ConfigMap(metadata=meta(name, namespace), data=pmap(data or {}))


def a_replication_controller(
    name: str = "web", namespace: str = "default", *, replicas: int = 3, labels: Mapping[str, str] | None = None
) -> ReplicationController:
    selected = dict(labels or {"app": name})
    return ReplicationController(
        metadata=meta(name, namespace, labels=selected),
        spec=ReplicationControllerSpec(replicas=replicas, selector=pmap(selected), template=a_template(selected)),
    )


def a_claim_template(name: str = "www", *, storage: str = "1Gi") -> PersistentVolumeClaim:
    """A ReadWriteOnce claim asking for `storage`, as a StatefulSet's volumeClaimTemplate."""
    return PersistentVolumeClaim(
        metadata=ObjectMeta(name=name),
        spec=PersistentVolumeClaimSpec(
            access_modes=(PersistentVolumeAccessMode.READ_WRITE_ONCE,),
            resources=VolumeResourceRequirements(requests=pmap({"storage": parse_quantity(storage)})),
        ),
    )


def a_pvc(name: str = "data", namespace: str = "default", *, storage: str = "1Gi") -> PersistentVolumeClaim:
    """A stand-alone claim (`a_claim_template` in a namespace)."""
    claim = a_claim_template(name, storage=storage)
    return attrs.evolve(claim, metadata=meta(name, namespace))


def a_stateful_set(
    name: str = "web",
    namespace: str = "default",
    *,
    replicas: int = 3,
    labels: Mapping[str, str] | None = None,
    claims: Iterable[str] = ("www",),
    policy: PodManagementPolicy = PodManagementPolicy.ORDERED_READY,
    partition: int | None = None,
    on_delete: bool = False,
    when_deleted: str = "Retain",
    when_scaled: str = "Retain",
    min_ready_seconds: int = 0,
    start: int | None = None,
    service_name: str = "nginx",
) -> StatefulSet:
    """A StatefulSet with a claim template per name in `claims`, rolling (from
    `partition`) unless `on_delete`; `start` sets spec.ordinals."""
    selected = dict(labels or {"app": name})
    if on_delete:
        strategy = StatefulSetUpdateStrategy(type=StatefulSetUpdateStrategyType.ON_DELETE)
    else:
        strategy = StatefulSetUpdateStrategy(rolling_update=RollingUpdateStatefulSetStrategy(partition=partition or 0))
    return StatefulSet(
        metadata=meta(name, namespace),
        spec=StatefulSetSpec(
            replicas=replicas,
            selector=LabelSelector(match_labels=pmap(selected)),
            template=a_template(selected),
            volume_claim_templates=tuple(a_claim_template(c) for c in claims),
            service_name=service_name,
            pod_management_policy=policy,
            update_strategy=strategy,
            min_ready_seconds=min_ready_seconds,
            persistent_volume_claim_retention_policy=StatefulSetPersistentVolumeClaimRetentionPolicy(
                when_deleted=PersistentVolumeClaimRetentionPolicyType(when_deleted),
                when_scaled=PersistentVolumeClaimRetentionPolicyType(when_scaled),
            ),
            ordinals=None if start is None else StatefulSetOrdinals(start=start),
        ),
    )


def a_daemon_set(
    name: str = "agent",
    namespace: str = "default",
    *,
    labels: Mapping[str, str] | None = None,
    node_selector: Mapping[str, str] | None = None,
    tolerations: tuple[Toleration, ...] = (),
    strategy: DaemonSetUpdateStrategy | None = None,
    min_ready_seconds: int = 0,
    image: str = "agent:1",
    grace: int = 0,
) -> DaemonSet:
    """A DaemonSet of one `image` container, on the nodes `node_selector` picks."""
    selected = dict(labels or {"app": name})
    template = a_template(selected, a_container(image=image))
    spec = attrs.evolve(
        template.spec, node_selector=pmap(node_selector or {}), tolerations=tolerations, termination_grace_period_seconds=grace
    )
    return DaemonSet(
        metadata=meta(name, namespace, labels=selected),
        spec=DaemonSetSpec(
            selector=LabelSelector(match_labels=pmap(selected)),
            template=attrs.evolve(template, spec=spec),
            update_strategy=strategy or DaemonSetUpdateStrategy(),
            min_ready_seconds=min_ready_seconds,
        ),
    )


def a_job_spec(
    name: str = "pi",
    *,
    completions: int | None = 1,
    parallelism: int | None = 1,
    backoff_limit: int | None = None,
    deadline: int | None = None,
    suspend: bool = False,
    indexed: bool = False,
    restart: RestartPolicy = RestartPolicy.NEVER,
    ttl: int | None = None,
) -> JobSpec:
    """A Job's spec: one busybox container `main` labelled app=<name>, restart Never."""
    template = PodTemplateSpec(
        metadata=ObjectMeta(labels=pmap({"app": name})),
        spec=PodSpec(containers=(a_container("main", "busybox:1.36"),), restart_policy=restart),
    )
    return JobSpec(
        completions=completions,
        parallelism=parallelism,
        backoff_limit=backoff_limit,
        active_deadline_seconds=deadline,
        suspend=suspend,
        template=template,
        completion_mode=CompletionMode.INDEXED if indexed else CompletionMode.NON_INDEXED,
        ttl_seconds_after_finished=ttl,
    )


def a_job(
    name: str = "pi",
    namespace: str = "default",
    *,
    completions: int | None = 1,
    parallelism: int | None = 1,
    backoff_limit: int | None = None,
    deadline: int | None = None,
    suspend: bool = False,
    indexed: bool = False,
    restart: RestartPolicy = RestartPolicy.NEVER,
    ttl: int | None = None,
) -> Job:
    """A Job of `a_job_spec`: one pod to completion unless `completions`/`parallelism`."""
    spec = a_job_spec(
        name,
        completions=completions,
        parallelism=parallelism,
        backoff_limit=backoff_limit,
        deadline=deadline,
        suspend=suspend,
        indexed=indexed,
        restart=restart,
        ttl=ttl,
    )
    return Job(metadata=meta(name, namespace), spec=spec)


def a_cron_job(
    name: str = "tick",
    namespace: str = "default",
    *,
    schedule: str = "* * * * *",
    job: JobSpec | None = None,
    job_labels: Mapping[str, str] | None = None,
    **spec: Any,
) -> CronJob:
    """A CronJob on `schedule` whose jobs are `job` (a one-pod Job by default), labelled
    `job_labels`; `spec` sets the other CronJobSpec fields (concurrency_policy, suspend, ...)."""
    template = JobTemplateSpec(metadata=ObjectMeta(labels=pmap(job_labels or {})), spec=job or a_job_spec(name))
    return CronJob(metadata=meta(name, namespace), spec=CronJobSpec(schedule=schedule, job_template=template, **spec))


def an_hpa(
    name: str = "web",
    namespace: str = "default",
    *,
    target_kind: str = "ReplicaSet",
    target_name: str = "web",
    utilization: int = 50,
    average_value: str = "",
    min_replicas: int = 1,
    max_replicas: int = 10,
    behavior: HorizontalPodAutoscalerBehavior | None = None,
) -> HorizontalPodAutoscaler:
    """An autoscaler of `target_kind` `target_name` on CPU: `utilization` percent of the
    request, or an `average_value` in millicores when given."""
    api_version = "v1" if target_kind == "ReplicationController" else "apps/v1"
    if average_value:
        target = MetricTarget(type=MetricTargetType.AVERAGE_VALUE, average_value=Quantity.from_milli(int(average_value)))
    else:
        target = MetricTarget(type=MetricTargetType.UTILIZATION, average_utilization=utilization)
    cpu = MetricSpec(type=MetricSourceType.RESOURCE, resource=ResourceMetricSource(name="cpu", target=target))
    return HorizontalPodAutoscaler(
        metadata=meta(name, namespace),
        spec=HorizontalPodAutoscalerSpec(
            scale_target_ref=CrossVersionObjectReference(api_version=api_version, kind=target_kind, name=target_name),
            min_replicas=min_replicas,
            max_replicas=max_replicas,
            metrics=(cpu,),
            behavior=behavior,
        ),
    )


def a_pdb(
    name: str = "web-pdb",
    namespace: str = "default",
    *,
    min_available: int | str | None = None,
    max_unavailable: int | str | None = None,
    labels: Mapping[str, str] | None = None,
    selector: LabelSelector | None = None,
    policy: UnhealthyPodEvictionPolicy | None = None,
) -> PodDisruptionBudget:
    """A PodDisruptionBudget over the pods `selector` picks (default: labels, app=web)."""
    chosen = selector if selector is not None else LabelSelector(match_labels=pmap(labels or {"app": "web"}))
    return PodDisruptionBudget(
        metadata=meta(name, namespace),
        spec=PodDisruptionBudgetSpec(
            min_available=min_available,
            max_unavailable=max_unavailable,
            selector=chosen,
            unhealthy_pod_eviction_policy=policy,
        ),
    )


def a_pod_metrics(name: str, namespace: str = "default", *, at: Time = T0, cpu_milli: Mapping[str, int] | None = None) -> PodMetrics:
    """What the metrics server reports for pod `name` at `at`: CPU in millicores per container."""
    usage = cpu_milli if cpu_milli is not None else {"app": 0}
    return PodMetrics(
        metadata=meta(name, namespace),
        timestamp=at,
        containers=tuple(ContainerMetrics(name=c, usage=pmap({"cpu": Quantity.from_milli(m)})) for c, m in usage.items()),
    )


def an_ingress(name: str = "web", namespace: str = "default", *, host: str = "example.com", service: str = "web", port: int = 80) -> Ingress:
    """An nginx-class Ingress sending `host`/ to `service`:`port`."""
    backend = IngressBackend(service=IngressServiceBackend(name=service, port=ServiceBackendPort(number=port)))
    path = HTTPIngressPath(path="/", path_type=PathType.PREFIX, backend=backend)
    rule = IngressRule(host=host, http=HTTPIngressRuleValue(paths=(path,)))
    return Ingress(metadata=meta(name, namespace), spec=IngressSpec(ingress_class_name="nginx", rules=(rule,)))


def an_ingress_class(name: str = "kcore", controller: str = "kcore.dev/ingress", *, default: bool = False) -> IngressClass:
    """An IngressClass served by `controller`, the cluster's default when `default`."""
    annotations = {ANNOTATION_DEFAULT_INGRESS_CLASS: "true"} if default else None
    return IngressClass(metadata=meta(name, "", annotations=annotations), spec=IngressClassSpec(controller=controller))


def a_network_policy(
    name: str = "deny", namespace: str = "default", *, selects: Mapping[str, str] | None = None,
    ingress: Iterable[NetworkPolicyIngressRule] = (), egress: Iterable[NetworkPolicyEgressRule] = (),
    types: Iterable[PolicyType] = (),
) -> NetworkPolicy:
    """A NetworkPolicy selecting the pods labelled `selects` (every pod when None): with no
    rules and no types, it denies all ingress to them."""
    spec = NetworkPolicySpec(
        pod_selector=LabelSelector(match_labels=pmap(selects or {})),
        ingress=tuple(ingress),
        egress=tuple(egress),
        policy_types=tuple(types),
    )
    return NetworkPolicy(metadata=meta(name, namespace), spec=spec)


def an_endpoint_slice(
    service: str = "web", namespace: str = "default", *, name: str = "", ips: Iterable[str] = ("10.244.0.5",),
    port: int = 80, ready: bool = True,
) -> EndpointSlice:
    """An IPv4 slice of service `service` (its `kubernetes.io/service-name` label): `ips` on `port`."""
    endpoints = tuple(Endpoint(addresses=(ip,), conditions=EndpointConditions(ready=ready)) for ip in ips)
    return EndpointSlice(
        metadata=meta(name or f"{service}-abcde", namespace, labels={LABEL_SERVICE_NAME: service}),
        address_type=AddressType.IPV4,
        endpoints=endpoints,
        ports=(SliceEndpointPort(name="", protocol=Protocol.TCP, port=port),),
    )


def a_lease(
    name: str = "node-1", namespace: str = "kube-node-lease", *, holder: str | None = None, duration: int = 40, renewed: float = 1.5
) -> Lease:
    """A node's heartbeat Lease (holder = its name), renewed at `renewed`."""
    return Lease(
        metadata=meta(name, namespace),
        spec=LeaseSpec(holder_identity=holder or name, lease_duration_seconds=duration, renew_time=MicroTime(renewed)),
    )


def a_priority_class(
    name: str = "high", value: int = 1000, *, default: bool = False, policy: PreemptionPolicy | None = None
) -> PriorityClass:
    return PriorityClass(metadata=meta(name, ""), value=value, global_default=default, preemption_policy=policy)


def a_resource_quota(name: str = "q", namespace: str = "default", **hard: str) -> ResourceQuota:
    """A quota with `hard` limits, `requests_cpu="1"` for requests.cpu."""
    return ResourceQuota(
        metadata=meta(name, namespace),
        spec=ResourceQuotaSpec(hard=pmap({k.replace("_", "."): parse_quantity(v) for k, v in hard.items()})),
    )


def a_limit_range(name: str = "limits", namespace: str = "default", **item: Mapping[str, str]) -> LimitRange:
    """One Container item, `default={"cpu": "500m"}` and so on."""
    maps = {k: pmap({n: parse_quantity(v) for n, v in vs.items()}) for k, vs in item.items()}
    return LimitRange(
        metadata=meta(name, namespace),
        spec=LimitRangeSpec(limits=(LimitRangeItem(type=LimitType.CONTAINER, **maps),)),
    )


def an_endpoints(name: str = "web", namespace: str = "default", *, ips: Iterable[str] = ("10.244.0.5",), ports: Iterable[int] = (80,)) -> Endpoints:
    """The endpoints of service `name`: one subset of ready `ips` on `ports`."""
    subset = EndpointSubset(
        addresses=tuple(EndpointAddress(ip=ip) for ip in ips), ports=tuple(EndpointPort(port=p) for p in ports)
    )
    return Endpoints(metadata=meta(name, namespace), subsets=(subset,))


def an_event(about: ApiObject, reason: str = "Scheduled", message: str = "", *, warning: bool = False, at: Time = T0) -> Event:
    """A v1 Event about the object `about`, first and last seen at `at`."""
    m = about.metadata
    return Event(
        metadata=meta(f"{m.name}.{reason.lower()}", m.namespace or "default"),
        involved_object=ObjectReference(
            kind=about.KIND.value, namespace=m.namespace, name=m.name, uid=m.uid, api_version=about.KIND.info.api_version
        ),
        reason=reason,
        message=message,
        type="Warning" if warning else "Normal",
        first_timestamp=at,
        last_timestamp=at,
        count=1,
    )


def a_secret(name: str = "token", namespace: str = "default", *, data: Mapping[str, str] | None = None) -> Secret:
    return Secret(metadata=meta(name, namespace), string_data=pmap(data or {}))


def a_service_account(name: str = "default", namespace: str = "default", *, uid: str = "") -> ServiceAccount:
    return ServiceAccount(metadata=attrs.evolve(meta(name, namespace), uid=uid))


def a_rule(
    verbs: Iterable[str] = ("get",),
    groups: Iterable[str] = ("",),
    resources: Iterable[str] = ("pods",),
    names: Iterable[str] = (),
) -> PolicyRule:
    """An RBAC rule: `verbs` on `resources` of API `groups` (named `names` only, when given)."""
    return PolicyRule(verbs=tuple(verbs), api_groups=tuple(groups), resources=tuple(resources), resource_names=tuple(names))


def a_role(name: str, namespace: str, *rules: PolicyRule) -> Role:
    return Role(metadata=meta(name, namespace), rules=rules)


def a_cluster_role(name: str, *rules: PolicyRule) -> ClusterRole:
    return ClusterRole(metadata=meta(name, ""), rules=rules)


def a_role_binding(name: str, namespace: str, role_kind: str, role: str, *subjects: Subject) -> RoleBinding:
    """A binding in `namespace` of the `role_kind` ("Role" or "ClusterRole") `role`."""
    return RoleBinding(
        metadata=meta(name, namespace),
        subjects=subjects,
        role_ref=RoleRef(api_group=rbac.GROUP, kind=role_kind, name=role),
    )


def a_cluster_role_binding(name: str, role: str, *subjects: Subject) -> ClusterRoleBinding:
    return ClusterRoleBinding(
        metadata=meta(name, ""),
        subjects=subjects,
        role_ref=RoleRef(api_group=rbac.GROUP, kind="ClusterRole", name=role),
    )


def owner_ref(owner: ApiObject, *, controller: bool = True) -> OwnerReference:
    """An ownerReference to a stored `owner` (it must carry its uid)."""
    return OwnerReference(
        api_version=owner.KIND.info.api_version,
        kind=owner.KIND.value,
        name=owner.metadata.name,
        uid=owner.metadata.uid,
        controller=controller,
        block_owner_deletion=True if controller else None,
    )


def key(kind: Kind, name: str, namespace: str = "default") -> ObjectKey:
    """The key of a stored object (namespace ignored for cluster-scoped kinds)."""
    return ObjectKey(kind=kind, namespace=namespace if kind.info.namespaced else "", name=name)


def cluster_with(
    *objects: ApiObject,
    namespaces: Iterable[str] = ("default",),
    config: ClusterConfig | None = None,
    now: Time = T0,
) -> ClusterState:
    """A state holding `namespaces` and `objects`, all created through the apiserver."""
    from kcore.apiserver import handle  # late: builders of plain objects need no apiserver
    from kcore.component.requests import Create

    state = empty_state(config)
    for obj in (*(a_namespace(n) for n in namespaces), *objects):
        state, response, _ = handle(state, Create(obj=obj), now)
        if not response.ok:
            raise AssertionError(f"cannot create {obj.KIND.value} {obj.metadata.name}: {response.body}")
    return state


def with_meta(obj: T, **changes: Any) -> T:
    """`obj` with some metadata fields changed."""
    meta_ = attrs.evolve(obj.metadata, **changes)
    return attrs.evolve(obj, metadata=meta_)  # type: ignore[misc]  # every kind is an attrs class
