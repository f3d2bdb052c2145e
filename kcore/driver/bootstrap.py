"""What a new cluster starts with: system namespaces, the bootstrap RBAC policy, the system
PriorityClasses, the `kubernetes` Service, nodes.

Owns `create_cluster` and `node_object`. Everything is created through the apiserver
(`Cluster.request`), as kubeadm and the kubelets do on a real cluster, so the objects
carry uids, timestamps and resourceVersions like any other.

Nodes are `node-1..node-N`, Ready, with capacity = allocatable = the given cpu, memory
and pods; node i has InternalIP `172.18.0.<i+1>` (kind's docker network layout, continuing
through 172.18.0.0/16) and podCIDR the i-th /24 of the cluster CIDR (`10.244.<i-1>.0/24`
with the default 10.244.0.0/16, which holds 256 nodes; a larger cluster needs a larger
`ClusterConfig.cluster_cidr`, and `create_cluster` says so before creating anything). Mirrors kubeadm's
bootstrap (namespaces, clusterrolebindings), the apiserver's start hook that creates
system-node-critical and system-cluster-critical (pkg/registry/scheduling/rest/
storage_scheduling.go), its `kubernetes` Service with Endpoints and EndpointSlice
(pkg/controlplane/controller/kubernetesservice, reconcilers/endpointsadapter.go: created
once; a deleted one is not recreated) and the kubelet's node registration
(pkg/kubelet/kubelet_node_status.go).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Final

import attrs
from pyrsistent import pmap

from kcore.addons.coredns import coredns_objects
from kcore.addons.ingress import ingress_objects
from kcore.api.core import (
    EndpointAddress,
    Endpoints,
    EndpointSubset,
    Namespace,
    Node,
    NodeAddress,
    NodeCondition,
    NodeSpec,
    NodeStatus,
    NodeSystemInfo,
    Service,
    ServicePort,
    ServiceSpec,
)
from kcore.api.core import EndpointPort as CoreEndpointPort
from kcore.api.discovery import (
    LABEL_SERVICE_NAME,
    LABEL_SKIP_MIRROR,
    AddressType,
    Endpoint,
    EndpointConditions,
    EndpointPort,
    EndpointSlice,
)
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ApiObject, ConditionStatus, ObjectMeta, Status, Time
from kcore.api.pod import Protocol
from kcore.api.scheduling import SYSTEM_PRIORITY_CLASSES
from kcore.apiserver.auth import bootstrap_policy
from kcore.bug import KcoreBug
from kcore.component.requests import Create, Subresource, Update
from kcore.driver.cluster import AnyComponent, Cluster
from kcore.kubelet.node_status import node_ip
from kcore.quantity import parse_quantity
from kcore.state import ClusterConfig, empty_state

DEFAULT_CLUSTER_CIDR: Final = ClusterConfig().cluster_cidr

KUBERNETES_SERVICE: Final = "kubernetes"
APISERVER_ADDRESS: Final = "172.18.0.1"
"""The apiserver's advertise address: the control plane runs beside the nodes, at the one
address of kind's 172.18.0.0/16 network that no node holds."""
APISERVER_PORT: Final = 6443

SYSTEM_NAMESPACES: Final = ("default", "kube-node-lease", "kube-public", "kube-system")
KUBELET_VERSION: Final = "v1.30.0-kcore"


@attrs.frozen(kw_only=True)
class NodeShape:
    """What every bootstrap node offers."""

    cpu: str = "4"
    memory: str = "16Gi"
    pods: int = 110


def node_internal_ip(index: int) -> str:
    """The InternalIP of `node-<index>`: 172.18.0.<index+1> for the first 253 (kind's
    layout), then on through 172.18.0.0/16."""
    ip = node_ip(f"node-{index}")
    if ip is None:
        raise ValueError(f"node index {index} is outside 1..65000")
    return ip


def node_pod_cidr(index: int, cluster_cidr: str = DEFAULT_CLUSTER_CIDR) -> str:
    """The /24 podCIDR of `node-<index>`: the index-th /24 of `cluster_cidr`.

    Raises ValueError when the cluster CIDR holds fewer /24s (a /16 holds 256 nodes)."""
    net = ipaddress.ip_network(cluster_cidr, strict=False)
    if net.prefixlen > 24:
        raise ValueError(f"cluster CIDR {cluster_cidr} is smaller than one /24 node podCIDR")
    room = 1 << (24 - net.prefixlen)
    if not 1 <= index <= room:
        raise ValueError(
            f"cluster CIDR {cluster_cidr} holds {room} node podCIDRs of /24; node-{index} needs a larger one"
        )
    base = int(net.network_address) + ((index - 1) << 8)
    return f"{ipaddress.IPv4Address(base)}/24"


def node_object(index: int, shape: NodeShape, now: Time, cluster_cidr: str = DEFAULT_CLUSTER_CIDR) -> Node:
    """Node `node-<index>` as its kubelet registers it: Ready, capacity = allocatable."""
    name = f"node-{index}"
    pod_cidr = node_pod_cidr(index, cluster_cidr)
    capacity = pmap(
        {
            "cpu": parse_quantity(shape.cpu),
            "memory": parse_quantity(shape.memory),
            "pods": parse_quantity(str(shape.pods)),
            "ephemeral-storage": parse_quantity("100Gi"),
        }
    )

    def cond(kind: str, status: ConditionStatus, reason: str, message: str) -> NodeCondition:
        return NodeCondition(
            type=kind,
            status=status,
            last_heartbeat_time=now,
            last_transition_time=now,
            reason=reason,
            message=message,
        )

    f = ConditionStatus.FALSE
    return Node(
        metadata=ObjectMeta(
            name=name,
            labels=pmap(
                {
                    "kubernetes.io/arch": "amd64",
                    "kubernetes.io/hostname": name,
                    "kubernetes.io/os": "linux",
                }
            ),
        ),
        spec=NodeSpec(pod_cidr=pod_cidr, pod_cidrs=(pod_cidr,)),
        status=NodeStatus(
            capacity=capacity,
            allocatable=capacity,
            conditions=(
                cond("MemoryPressure", f, "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                cond("DiskPressure", f, "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                cond("PIDPressure", f, "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                cond("Ready", ConditionStatus.TRUE, "KubeletReady", "kubelet is posting ready status"),
            ),
            addresses=(
                NodeAddress(type="InternalIP", address=node_internal_ip(index)),
                NodeAddress(type="Hostname", address=name),
            ),
            node_info=NodeSystemInfo(
                kubelet_version=KUBELET_VERSION,
                kube_proxy_version=KUBELET_VERSION,
                container_runtime_version="kcore://0.1.0",
                os_image="kcore simulated node",
                kernel_version="6.0.0-kcore",
                operating_system="linux",
                architecture="amd64",
            ),
        ),
    )


def _must(cluster: Cluster, obj: ApiObject) -> ApiObject:
    resp = cluster.request(Create(obj=obj))
    body = resp.body
    if isinstance(body, Status):
        if body.reason.value == "AlreadyExists":
            return obj
        raise KcoreBug(f"bootstrap object {obj.KIND.value} {obj.metadata.name!r} rejected: {body.message}")
    return body  # type: ignore[return-value]  # a successful Create answers the object


def add_node(cluster: Cluster, index: int, shape: NodeShape) -> None:
    """Register node `node-<index>` (create, then its status, as a kubelet does)."""
    node = node_object(index, shape, cluster.now, cluster.state.config.cluster_cidr)
    created = _must(cluster, node)
    with_status = attrs.evolve(node, metadata=created.metadata)
    resp = cluster.request(Update(obj=with_status, subresource=Subresource.STATUS))
    if not resp.ok:
        msg = resp.body.message if isinstance(resp.body, Status) else "unexpected answer"
        raise KcoreBug(f"{ObjectKey(kind=Kind.NODE, namespace='', name=node.metadata.name)}: {msg}")


def create_cluster(
    config: ClusterConfig,
    *,
    nodes: int = 0,
    shape: NodeShape = NodeShape(),
    components: Sequence[AnyComponent] = (),
    addons: bool = False,
) -> Cluster:
    """A fresh cluster: system namespaces, bootstrap RBAC, the system PriorityClasses,
    `nodes` Ready nodes, and with `addons` the objects of the add-ons `kcore cluster
    create` installs (CoreDNS; the ingress controller's namespace, class and Service);
    settled.

    Raises ValueError when the cluster CIDR cannot give every node a /24."""
    if nodes:
        node_pod_cidr(nodes, config.cluster_cidr)
    cluster = Cluster.empty(empty_state(config), components, seed=config.seed)
    for ns in SYSTEM_NAMESPACES:
        _must(cluster, Namespace(metadata=ObjectMeta(name=ns)))
    for obj in bootstrap_policy():
        _must(cluster, obj)
    for pc in SYSTEM_PRIORITY_CLASSES:
        _must(cluster, pc)
    for obj in kubernetes_service_objects(config):
        _must(cluster, obj)
    for i in range(1, nodes + 1):
        add_node(cluster, i, shape)
    if addons:
        for obj in addon_objects(config):
            _must(cluster, obj)
    cluster.run_until_stable()
    return cluster


def kubernetes_service_objects(config: ClusterConfig) -> tuple[ApiObject, ...]:
    """The `kubernetes` Service in `default` that the apiserver keeps (its bootstrap
    controller): ClusterIP the first address of the service CIDR, port 443 (`https`) to the
    apiserver's secure port 6443 at `APISERVER_ADDRESS`, with its Endpoints (not mirrored)
    and the EndpointSlice the apiserver writes itself."""
    network = ipaddress.ip_network(config.service_cidr.split(",")[0].strip(), strict=False)
    first = str(network.network_address + 1)
    labels = pmap({"component": "apiserver", "provider": "kubernetes"})
    service = Service(
        metadata=ObjectMeta(name=KUBERNETES_SERVICE, namespace="default", labels=labels),
        spec=ServiceSpec(
            cluster_ip=first,
            ports=(
                ServicePort(name="https", port=443, protocol=Protocol.TCP, target_port=APISERVER_PORT),
            ),
        ),
    )
    endpoints = Endpoints(
        metadata=ObjectMeta(
            name=KUBERNETES_SERVICE, namespace="default", labels=pmap({LABEL_SKIP_MIRROR: "true"})
        ),
        subsets=(
            EndpointSubset(
                addresses=(EndpointAddress(ip=APISERVER_ADDRESS),),
                ports=(CoreEndpointPort(name="https", port=APISERVER_PORT, protocol=Protocol.TCP),),
            ),
        ),
    )
    slice_ = EndpointSlice(
        metadata=ObjectMeta(
            name=KUBERNETES_SERVICE, namespace="default", labels=pmap({LABEL_SERVICE_NAME: KUBERNETES_SERVICE})
        ),
        address_type=AddressType.IPV4,
        endpoints=(Endpoint(addresses=(APISERVER_ADDRESS,), conditions=EndpointConditions(ready=True)),),
        ports=(EndpointPort(name="https", port=APISERVER_PORT, protocol=Protocol.TCP),),
    )
    return service, endpoints, slice_


def addon_objects(config: ClusterConfig) -> tuple[ApiObject, ...]:
    """What the add-ons need stored: CoreDNS as kubeadm installs it, the ingress
    controller as minikube's and kind's add-ons do."""
    return (*coredns_objects(config), *ingress_objects())
