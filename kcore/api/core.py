"""The core/v1 kinds other than Pod, and their defaulting.

Owns: Namespace, Node, Service, Endpoints, Event, ConfigMap, Secret, ServiceAccount,
ResourceQuota, LimitRange, PersistentVolumeClaim, ReplicationController, the shared
`ObjectReference`, and `default` for all of these (a Pod is handed to `kcore.api.pod`).

Rules: classes follow the conventions of `kcore.api.meta` exactly (the codec walks them
by their type hints). Static upstream defaults are attrs defaults; `default` applies the
context-dependent ones (Service targetPort = port, traffic policies, RC replicas and
selector from the template, Secret stringData merged into data, LimitRange container
defaults, Node allocatable = capacity, the namespace name label and `kubernetes`
finalizer) and is idempotent. Maps are read in sorted key order only. Knows nothing of
the codec, the registry, validation or allocation (ClusterIPs and NodePorts are the
apiserver's).

Mirrors k8s.io/api/core/v1/types.go and pkg/apis/core/v1/defaults.go (SetDefaults_Service,
_ReplicationController, _Secret, _Namespace, _NamespaceStatus, _NodeStatus,
_LimitRangeItem, _PersistentVolumeClaim(Spec), _Endpoints), plus the stringData merge of
pkg/apis/core/v1/conversion.go and the namespace finalizer of
pkg/registry/core/namespace/strategy.go.
"""

from __future__ import annotations

import enum
from typing import ClassVar, Final

import attrs
from pyrsistent import pmap
from pyrsistent.typing import PMap

from kcore.api.kinds import Kind
from kcore.api.meta import ApiObject, ConditionStatus, MicroTime, ObjectMeta, Time, wire
from kcore.api.pod import (
    LabelSelector,
    LocalObjectReference,
    Pod,
    PodTemplateSpec,
    Protocol,
    TaintEffect,
)
from kcore.api.pod_defaults import default_pod, default_pod_template, fill_missing
from kcore.quantity import Quantity

NAMESPACE_FINALIZER: Final = "kubernetes"
LABEL_METADATA_NAME: Final = "kubernetes.io/metadata.name"
SECRET_TYPE_OPAQUE: Final = "Opaque"
EVENT_TYPE_NORMAL: Final = "Normal"
EVENT_TYPE_WARNING: Final = "Warning"
DEFAULT_CLIENT_IP_AFFINITY_SECONDS: Final = 10800

# NodeCondition types (an open set upstream, so plain strings).
NODE_READY: Final = "Ready"
NODE_MEMORY_PRESSURE: Final = "MemoryPressure"
NODE_DISK_PRESSURE: Final = "DiskPressure"
NODE_PID_PRESSURE: Final = "PIDPressure"
NODE_NETWORK_UNAVAILABLE: Final = "NetworkUnavailable"


# --- shared references -----------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ObjectReference:
    """A reference to any object (Event.involvedObject, Endpoints targetRef, ...)."""

    kind: str = ""
    namespace: str = ""
    name: str = ""
    uid: str = ""
    api_version: str = ""
    resource_version: str = ""
    field_path: str = ""


# --- Namespace -------------------------------------------------------------------------


class NamespacePhase(enum.Enum):
    ACTIVE = "Active"
    TERMINATING = "Terminating"


@attrs.frozen(kw_only=True)
class NamespaceSpec:
    finalizers: tuple[str, ...] = ()  # `default` adds "kubernetes" to a live namespace


@attrs.frozen(kw_only=True)
class NamespaceCondition:
    type: str
    status: ConditionStatus
    last_transition_time: Time | None = None
    reason: str = ""
    message: str = ""


@attrs.frozen(kw_only=True)
class NamespaceStatus:
    phase: NamespacePhase = NamespacePhase.ACTIVE
    conditions: tuple[NamespaceCondition, ...] = ()


@attrs.frozen(kw_only=True)
class Namespace:
    KIND: ClassVar[Kind] = Kind.NAMESPACE

    metadata: ObjectMeta = ObjectMeta()
    spec: NamespaceSpec = NamespaceSpec()
    status: NamespaceStatus = NamespaceStatus()


# --- Node ------------------------------------------------------------------------------


class NodePhase(enum.Enum):
    PENDING = "Pending"
    RUNNING = "Running"
    TERMINATED = "Terminated"


@attrs.frozen(kw_only=True)
class Taint:
    key: str
    effect: TaintEffect
    value: str = ""
    time_added: Time | None = None


@attrs.frozen(kw_only=True)
class NodeSpec:
    pod_cidr: str = attrs.field(default="", metadata=wire("podCIDR"))
    pod_cidrs: tuple[str, ...] = attrs.field(default=(), metadata=wire("podCIDRs"))
    provider_id: str = attrs.field(default="", metadata=wire("providerID"))
    unschedulable: bool = False
    taints: tuple[Taint, ...] = ()


@attrs.frozen(kw_only=True)
class NodeCondition:
    type: str
    status: ConditionStatus
    last_heartbeat_time: Time | None = None
    last_transition_time: Time | None = None
    reason: str = ""
    message: str = ""


@attrs.frozen(kw_only=True)
class NodeAddress:
    type: str  # Hostname, InternalIP, ExternalIP, InternalDNS, ExternalDNS
    address: str


@attrs.frozen(kw_only=True)
class DaemonEndpoint:
    port: int = attrs.field(metadata=wire("Port"))  # upstream's one capitalised JSON name


@attrs.frozen(kw_only=True)
class NodeDaemonEndpoints:
    kubelet_endpoint: DaemonEndpoint | None = None


@attrs.frozen(kw_only=True)
class NodeSystemInfo:
    machine_id: str = attrs.field(default="", metadata=wire("machineID"))
    system_uuid: str = attrs.field(default="", metadata=wire("systemUUID"))
    boot_id: str = attrs.field(default="", metadata=wire("bootID"))
    kernel_version: str = ""
    os_image: str = ""
    container_runtime_version: str = ""
    kubelet_version: str = ""
    kube_proxy_version: str = ""
    operating_system: str = ""
    architecture: str = ""


@attrs.frozen(kw_only=True)
class ContainerImage:
    names: tuple[str, ...] = ()
    size_bytes: int = 0


@attrs.frozen(kw_only=True)
class NodeStatus:
    capacity: PMap[str, Quantity] = pmap()
    allocatable: PMap[str, Quantity] = pmap()  # defaulted to capacity
    phase: NodePhase | None = None
    conditions: tuple[NodeCondition, ...] = ()
    addresses: tuple[NodeAddress, ...] = ()
    daemon_endpoints: NodeDaemonEndpoints | None = None
    node_info: NodeSystemInfo | None = None
    images: tuple[ContainerImage, ...] = ()


@attrs.frozen(kw_only=True)
class Node:
    KIND: ClassVar[Kind] = Kind.NODE

    metadata: ObjectMeta = ObjectMeta()
    spec: NodeSpec = NodeSpec()
    status: NodeStatus = NodeStatus()


# --- Service ---------------------------------------------------------------------------


class ServiceType(enum.Enum):
    CLUSTER_IP = "ClusterIP"
    NODE_PORT = "NodePort"
    LOAD_BALANCER = "LoadBalancer"
    EXTERNAL_NAME = "ExternalName"


class ServiceAffinity(enum.Enum):
    NONE = "None"
    CLIENT_IP = "ClientIP"


class TrafficPolicy(enum.Enum):
    """externalTrafficPolicy and internalTrafficPolicy share these two values."""

    CLUSTER = "Cluster"
    LOCAL = "Local"


class IPFamily(enum.Enum):
    IPV4 = "IPv4"
    IPV6 = "IPv6"


class IPFamilyPolicy(enum.Enum):
    SINGLE_STACK = "SingleStack"
    PREFER_DUAL_STACK = "PreferDualStack"
    REQUIRE_DUAL_STACK = "RequireDualStack"


class LoadBalancerIPMode(enum.Enum):
    VIP = "VIP"
    PROXY = "Proxy"


@attrs.frozen(kw_only=True)
class ServicePort:
    port: int
    name: str = ""
    protocol: Protocol = Protocol.TCP
    app_protocol: str | None = None
    target_port: int | str | None = None  # defaulted to `port`
    node_port: int = 0


@attrs.frozen(kw_only=True)
class ClientIPConfig:
    timeout_seconds: int | None = None


@attrs.frozen(kw_only=True)
class SessionAffinityConfig:
    client_ip: ClientIPConfig | None = attrs.field(default=None, metadata=wire("clientIP"))


@attrs.frozen(kw_only=True)
class ServiceSpec:
    ports: tuple[ServicePort, ...] = ()
    selector: PMap[str, str] = pmap()
    cluster_ip: str = attrs.field(default="", metadata=wire("clusterIP"))
    cluster_ips: tuple[str, ...] = attrs.field(default=(), metadata=wire("clusterIPs"))
    type: ServiceType = ServiceType.CLUSTER_IP
    external_ips: tuple[str, ...] = attrs.field(default=(), metadata=wire("externalIPs"))
    session_affinity: ServiceAffinity = ServiceAffinity.NONE
    load_balancer_ip: str = attrs.field(default="", metadata=wire("loadBalancerIP"))
    load_balancer_source_ranges: tuple[str, ...] = ()
    external_name: str = ""
    external_traffic_policy: TrafficPolicy | None = None
    health_check_node_port: int = 0
    publish_not_ready_addresses: bool = False
    session_affinity_config: SessionAffinityConfig | None = None
    ip_families: tuple[IPFamily, ...] = attrs.field(default=(), metadata=wire("ipFamilies"))
    ip_family_policy: IPFamilyPolicy | None = attrs.field(
        default=None, metadata=wire("ipFamilyPolicy")
    )
    allocate_load_balancer_node_ports: bool | None = None
    load_balancer_class: str | None = None
    internal_traffic_policy: TrafficPolicy | None = None


@attrs.frozen(kw_only=True)
class PortStatus:
    port: int
    protocol: Protocol = Protocol.TCP
    error: str | None = None


@attrs.frozen(kw_only=True)
class LoadBalancerIngress:
    ip: str = ""
    hostname: str = ""
    ip_mode: LoadBalancerIPMode | None = attrs.field(default=None, metadata=wire("ipMode"))
    ports: tuple[PortStatus, ...] = ()


@attrs.frozen(kw_only=True)
class LoadBalancerStatus:
    ingress: tuple[LoadBalancerIngress, ...] = ()


@attrs.frozen(kw_only=True)
class ServiceStatus:
    load_balancer: LoadBalancerStatus = LoadBalancerStatus()


@attrs.frozen(kw_only=True)
class Service:
    KIND: ClassVar[Kind] = Kind.SERVICE

    metadata: ObjectMeta = ObjectMeta()
    spec: ServiceSpec = ServiceSpec()
    status: ServiceStatus = ServiceStatus()


# --- Endpoints -------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class EndpointAddress:
    ip: str
    hostname: str = ""
    node_name: str | None = None
    target_ref: ObjectReference | None = None


@attrs.frozen(kw_only=True)
class EndpointPort:
    port: int
    name: str = ""
    protocol: Protocol = Protocol.TCP
    app_protocol: str | None = None


@attrs.frozen(kw_only=True)
class EndpointSubset:
    addresses: tuple[EndpointAddress, ...] = ()
    not_ready_addresses: tuple[EndpointAddress, ...] = ()
    ports: tuple[EndpointPort, ...] = ()


@attrs.frozen(kw_only=True)
class Endpoints:
    KIND: ClassVar[Kind] = Kind.ENDPOINTS

    metadata: ObjectMeta = ObjectMeta()
    subsets: tuple[EndpointSubset, ...] = ()


# --- Event -----------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class EventSource:
    component: str = ""
    host: str = ""


@attrs.frozen(kw_only=True)
class EventSeries:
    count: int = 0
    last_observed_time: MicroTime | None = None


@attrs.frozen(kw_only=True)
class Event:
    """core/v1 Event. `type` is "Normal" or "Warning"; `reason` is an open set."""

    KIND: ClassVar[Kind] = Kind.EVENT

    metadata: ObjectMeta = ObjectMeta()
    involved_object: ObjectReference
    reason: str = ""
    message: str = ""
    source: EventSource = EventSource()
    first_timestamp: Time | None = None
    last_timestamp: Time | None = None
    count: int = 0
    type: str = ""
    event_time: MicroTime | None = None
    series: EventSeries | None = None
    action: str = ""
    related: ObjectReference | None = None
    reporting_component: str = ""
    reporting_instance: str = ""


# --- ConfigMap, Secret, ServiceAccount -------------------------------------------------


@attrs.frozen(kw_only=True)
class ConfigMap:
    KIND: ClassVar[Kind] = Kind.CONFIG_MAP

    metadata: ObjectMeta = ObjectMeta()
    immutable: bool | None = None
    data: PMap[str, str] = pmap()
    binary_data: PMap[str, bytes] = pmap()


@attrs.frozen(kw_only=True)
class Secret:
    """`string_data` is write-only: `default` merges it into `data` and clears it."""

    KIND: ClassVar[Kind] = Kind.SECRET

    metadata: ObjectMeta = ObjectMeta()
    immutable: bool | None = None
    data: PMap[str, bytes] = pmap()
    string_data: PMap[str, str] = pmap()
    type: str = SECRET_TYPE_OPAQUE


@attrs.frozen(kw_only=True)
class ServiceAccount:
    KIND: ClassVar[Kind] = Kind.SERVICE_ACCOUNT

    metadata: ObjectMeta = ObjectMeta()
    secrets: tuple[ObjectReference, ...] = ()
    image_pull_secrets: tuple[LocalObjectReference, ...] = ()
    automount_service_account_token: bool | None = None


# --- ResourceQuota, LimitRange ---------------------------------------------------------


class ResourceQuotaScope(enum.Enum):
    TERMINATING = "Terminating"
    NOT_TERMINATING = "NotTerminating"
    BEST_EFFORT = "BestEffort"
    NOT_BEST_EFFORT = "NotBestEffort"
    PRIORITY_CLASS = "PriorityClass"
    CROSS_NAMESPACE_POD_AFFINITY = "CrossNamespacePodAffinity"
    VOLUME_ATTRIBUTES_CLASS = "VolumeAttributesClass"


class ScopeSelectorOperator(enum.Enum):
    IN = "In"
    NOT_IN = "NotIn"
    EXISTS = "Exists"
    DOES_NOT_EXIST = "DoesNotExist"


@attrs.frozen(kw_only=True)
class ScopedResourceSelectorRequirement:
    scope_name: ResourceQuotaScope
    operator: ScopeSelectorOperator
    values: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class ScopeSelector:
    match_expressions: tuple[ScopedResourceSelectorRequirement, ...] = ()


@attrs.frozen(kw_only=True)
class ResourceQuotaSpec:
    hard: PMap[str, Quantity] = pmap()
    scopes: tuple[ResourceQuotaScope, ...] = ()
    scope_selector: ScopeSelector | None = None


@attrs.frozen(kw_only=True)
class ResourceQuotaStatus:
    hard: PMap[str, Quantity] = pmap()
    used: PMap[str, Quantity] = pmap()


@attrs.frozen(kw_only=True)
class ResourceQuota:
    KIND: ClassVar[Kind] = Kind.RESOURCE_QUOTA

    metadata: ObjectMeta = ObjectMeta()
    spec: ResourceQuotaSpec = ResourceQuotaSpec()
    status: ResourceQuotaStatus = ResourceQuotaStatus()


class LimitType(enum.Enum):
    POD = "Pod"
    CONTAINER = "Container"
    PERSISTENT_VOLUME_CLAIM = "PersistentVolumeClaim"


@attrs.frozen(kw_only=True)
class LimitRangeItem:
    type: LimitType
    max: PMap[str, Quantity] = pmap()
    min: PMap[str, Quantity] = pmap()
    default: PMap[str, Quantity] = pmap()
    default_request: PMap[str, Quantity] = pmap()
    max_limit_request_ratio: PMap[str, Quantity] = pmap()


@attrs.frozen(kw_only=True)
class LimitRangeSpec:
    limits: tuple[LimitRangeItem, ...] = ()


@attrs.frozen(kw_only=True)
class LimitRange:
    KIND: ClassVar[Kind] = Kind.LIMIT_RANGE

    metadata: ObjectMeta = ObjectMeta()
    spec: LimitRangeSpec = LimitRangeSpec()


# --- PersistentVolumeClaim -------------------------------------------------------------


class PersistentVolumeAccessMode(enum.Enum):
    READ_WRITE_ONCE = "ReadWriteOnce"
    READ_ONLY_MANY = "ReadOnlyMany"
    READ_WRITE_MANY = "ReadWriteMany"
    READ_WRITE_ONCE_POD = "ReadWriteOncePod"


class PersistentVolumeMode(enum.Enum):
    BLOCK = "Block"
    FILESYSTEM = "Filesystem"


class PersistentVolumeClaimPhase(enum.Enum):
    PENDING = "Pending"
    BOUND = "Bound"
    LOST = "Lost"


@attrs.frozen(kw_only=True)
class VolumeResourceRequirements:
    limits: PMap[str, Quantity] = pmap()
    requests: PMap[str, Quantity] = pmap()


@attrs.frozen(kw_only=True)
class TypedLocalObjectReference:
    kind: str
    name: str
    api_group: str | None = None


@attrs.frozen(kw_only=True)
class TypedObjectReference:
    kind: str
    name: str
    api_group: str | None = None
    namespace: str | None = None


@attrs.frozen(kw_only=True)
class PersistentVolumeClaimSpec:
    access_modes: tuple[PersistentVolumeAccessMode, ...] = ()
    selector: LabelSelector | None = None
    resources: VolumeResourceRequirements = VolumeResourceRequirements()
    volume_name: str = ""
    storage_class_name: str | None = None
    volume_mode: PersistentVolumeMode = PersistentVolumeMode.FILESYSTEM
    data_source: TypedLocalObjectReference | None = None
    data_source_ref: TypedObjectReference | None = None
    volume_attributes_class_name: str | None = None  # a VolumeAttributesClass (GA 1.34)


@attrs.frozen(kw_only=True)
class PersistentVolumeClaimCondition:
    type: str
    status: ConditionStatus
    last_probe_time: Time | None = None
    last_transition_time: Time | None = None
    reason: str = ""
    message: str = ""


@attrs.frozen(kw_only=True)
class PersistentVolumeClaimStatus:
    phase: PersistentVolumeClaimPhase = PersistentVolumeClaimPhase.PENDING
    access_modes: tuple[PersistentVolumeAccessMode, ...] = ()
    capacity: PMap[str, Quantity] = pmap()
    conditions: tuple[PersistentVolumeClaimCondition, ...] = ()


@attrs.frozen(kw_only=True)
class PersistentVolumeClaim:
    KIND: ClassVar[Kind] = Kind.PERSISTENT_VOLUME_CLAIM

    metadata: ObjectMeta = ObjectMeta()
    spec: PersistentVolumeClaimSpec = PersistentVolumeClaimSpec()
    status: PersistentVolumeClaimStatus = PersistentVolumeClaimStatus()


# --- ReplicationController -------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ReplicationControllerSpec:
    replicas: int | None = None  # defaulted to 1
    min_ready_seconds: int = 0
    selector: PMap[str, str] = pmap()  # defaulted to the template's labels
    template: PodTemplateSpec | None = None


@attrs.frozen(kw_only=True)
class ReplicationControllerCondition:
    type: str
    status: ConditionStatus
    last_transition_time: Time | None = None
    reason: str = ""
    message: str = ""


@attrs.frozen(kw_only=True)
class ReplicationControllerStatus:
    replicas: int = attrs.field(default=0, metadata=wire(always=True))
    fully_labeled_replicas: int = 0
    ready_replicas: int = 0
    available_replicas: int = 0
    observed_generation: int = 0
    conditions: tuple[ReplicationControllerCondition, ...] = ()


@attrs.frozen(kw_only=True)
class ReplicationController:
    KIND: ClassVar[Kind] = Kind.REPLICATION_CONTROLLER

    metadata: ObjectMeta = ObjectMeta()
    spec: ReplicationControllerSpec = ReplicationControllerSpec()
    status: ReplicationControllerStatus = ReplicationControllerStatus()


# --- defaulting ------------------------------------------------------------------------


def _default_namespace(ns: Namespace) -> Namespace:
    """The name label (SetDefaults_Namespace) and, on a live namespace, its finalizer.

    Upstream adds the finalizer when the namespace is created; a namespace not being
    deleted always carries it, so adding it whenever there is no deletionTimestamp is the
    same rule and stays idempotent (a finalized namespace is never given it back).
    """
    m = ns.metadata
    if m.name and m.labels.get(LABEL_METADATA_NAME) != m.name:
        m = attrs.evolve(m, labels=m.labels.set(LABEL_METADATA_NAME, m.name))
    spec = ns.spec
    if m.deletion_timestamp is None and NAMESPACE_FINALIZER not in spec.finalizers:
        spec = attrs.evolve(spec, finalizers=(*spec.finalizers, NAMESPACE_FINALIZER))
    return attrs.evolve(ns, metadata=m, spec=spec)


def _default_node(node: Node) -> Node:
    """SetDefaults_NodeStatus: allocatable defaults to capacity."""
    st = node.status
    if st.allocatable or not st.capacity:
        return node
    return attrs.evolve(node, status=attrs.evolve(st, allocatable=st.capacity))


def _default_service_port(p: ServicePort) -> ServicePort:
    if p.target_port in (None, 0, ""):
        return attrs.evolve(p, target_port=p.port)
    return p


def _default_session_affinity(spec: ServiceSpec) -> SessionAffinityConfig | None:
    if spec.session_affinity is ServiceAffinity.NONE:
        return None
    cfg = spec.session_affinity_config
    if cfg is None or cfg.client_ip is None or cfg.client_ip.timeout_seconds is None:
        return SessionAffinityConfig(
            client_ip=ClientIPConfig(timeout_seconds=DEFAULT_CLIENT_IP_AFFINITY_SECONDS)
        )
    return cfg


def _default_service(svc: Service) -> Service:
    """SetDefaults_Service (ClusterIP and NodePort allocation is the apiserver's)."""
    spec = svc.spec
    t = spec.type
    externally_accessible = t in (ServiceType.NODE_PORT, ServiceType.LOAD_BALANCER) or (
        t is ServiceType.CLUSTER_IP and bool(spec.external_ips)
    )
    external_policy = spec.external_traffic_policy
    if externally_accessible and external_policy is None:
        external_policy = TrafficPolicy.CLUSTER
    internal_policy = spec.internal_traffic_policy
    if internal_policy is None and t is not ServiceType.EXTERNAL_NAME:
        internal_policy = TrafficPolicy.CLUSTER
    allocate = spec.allocate_load_balancer_node_ports
    if t is ServiceType.LOAD_BALANCER and allocate is None:
        allocate = True
    spec = attrs.evolve(
        spec,
        ports=tuple(_default_service_port(p) for p in spec.ports),
        session_affinity_config=_default_session_affinity(spec),
        external_traffic_policy=external_policy,
        internal_traffic_policy=internal_policy,
        allocate_load_balancer_node_ports=allocate,
    )
    return attrs.evolve(svc, spec=spec)


def _default_secret(secret: Secret) -> Secret:
    """stringData entries overwrite data entries (as upstream conversion), then vanish."""
    data = secret.data
    if secret.string_data:
        e = data.evolver()
        for k in sorted(secret.string_data):
            e[k] = secret.string_data[k].encode("utf-8")
        data = e.persistent()
    return attrs.evolve(
        secret, data=data, string_data=pmap(), type=secret.type or SECRET_TYPE_OPAQUE
    )


def _default_limit_range_item(item: LimitRangeItem) -> LimitRangeItem:
    """SetDefaults_LimitRangeItem: default <- max; defaultRequest <- default, then min."""
    if item.type is not LimitType.CONTAINER:
        return item
    default_limit = fill_missing(item.default, item.max)
    default_request = fill_missing(fill_missing(item.default_request, default_limit), item.min)
    return attrs.evolve(item, default=default_limit, default_request=default_request)


def _default_replication_controller(rc: ReplicationController) -> ReplicationController:
    """SetDefaults_ReplicationController: replicas 1; selector and labels from the template."""
    spec, meta = rc.spec, rc.metadata
    template = spec.template
    selector = spec.selector
    if template is not None:
        labels = template.metadata.labels
        if labels and not selector:
            selector = labels
        if labels and not meta.labels:
            meta = attrs.evolve(meta, labels=labels)
        template = default_pod_template(template)
    spec = attrs.evolve(
        spec,
        replicas=1 if spec.replicas is None else spec.replicas,
        selector=selector,
        template=template,
    )
    return attrs.evolve(rc, metadata=meta, spec=spec)


def default(obj: ApiObject) -> ApiObject:
    """Context-dependent upstream defaults of the core/v1 kinds; other kinds unchanged."""
    match obj:
        case Pod():
            return default_pod(obj)
        case Namespace():
            return _default_namespace(obj)
        case Node():
            return _default_node(obj)
        case Service():
            return _default_service(obj)
        case Secret():
            return _default_secret(obj)
        case LimitRange():
            limits = tuple(_default_limit_range_item(i) for i in obj.spec.limits)
            return attrs.evolve(obj, spec=attrs.evolve(obj.spec, limits=limits))
        case ReplicationController():
            return _default_replication_controller(obj)
        case _:
            return obj
