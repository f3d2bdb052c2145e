"""Synthetic networking views at scale, and the small objects they are made of: values
stored with `kcore.state.put`, no apiserver, no controllers.

Owns the data-plane builders that kube-proxy's property suite and the benchmarks share:
`a_proxy_node` (a Node with a Ready condition, an InternalIP and a podCIDR),
`a_proxy_service` (a Service with its ClusterIP already allocated), `an_endpoint` and
`a_service_slice` (an EndpointSlice of one Service, its `kubernetes.io/service-name`
label set), and `scale_view`, the view of `nodes` Nodes, `services` Services and
`endpoints` endpoints that `benchmarks.bench_proxy` programs and `benchmarks.bench_route`
routes through.

Rules of `scale_view` (what the benchmarks rely on, and check):
- Node i (0-based) is `node-%05d`, Ready, InternalIP the (i+2)-th address of 172.18.0.0/16
  (as `kcore cluster create` lays them out), podCIDR the i-th /24 of the cluster CIDR
  (`SCALE_CONFIG`: 10.128.0.0/9, room for 32,768 nodes; bridge address .1).
- Service i is `svc-%05d` in namespace `bench`, ClusterIP the (1024+i)-th address of the
  service CIDR (clear of kube-dns at the 10th), port `http` 80 -> targetPort `http`;
  every tenth (i % 10 == 0) a NodePort with externalTrafficPolicy Local (nodePort
  30000 + (i // 10) % 2767: distinct up to 27,670 Services), every tenth another
  (i % 10 == 5) has ClientIP session affinity. Each has one slice
  `svc-%05d-abcde` of `endpoints // services` Ready endpoints on port `http` 8080.
- Endpoint e (global index) is on node `e % nodes` at the (e // nodes + 2)-th address of
  that node's podCIDR, so addresses are distinct and inside their node's podCIDR.
- With `pods`, every endpoint is a Running, Ready pod `svc-%05d-%02d` (label app=svc-%05d,
  one container serving `http` 8080) named by the endpoint's targetRef; `headless`
  headless Services `headless-%03d` are added the same way (their pods named after them,
  with `hostname`), plus what DNS and ingress need: kube-dns at the 10th service address
  with one Ready CoreDNS pod, the default IngressClass `kcore`, its controller's
  LoadBalancer Service at `INGRESS_ADDRESS`, and an Ingress `web` sending host
  `INGRESS_HOST` to `svc-00001:80`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Final

import attrs
from pyrsistent import pmap

from kcore.addons.ingress import CLASS_NAME
from kcore.addons.ingress import NAME as INGRESS_CONTROLLER
from kcore.addons.ingress import NAMESPACE as INGRESS_NAMESPACE
from kcore.api.core import (
    ClientIPConfig,
    LoadBalancerIngress,
    LoadBalancerStatus,
    Namespace,
    Node,
    NodeAddress,
    NodeCondition,
    NodeSpec,
    NodeStatus,
    ObjectReference,
    Service,
    ServiceAffinity,
    ServicePort,
    ServiceSpec,
    ServiceStatus,
    ServiceType,
    SessionAffinityConfig,
    TrafficPolicy,
)
from kcore.api.discovery import (
    LABEL_SERVICE_NAME,
    AddressType,
    Endpoint,
    EndpointConditions,
    EndpointPort,
    EndpointSlice,
)
from kcore.api.meta import ApiObject, ConditionStatus, ObjectMeta
from kcore.api.pod import (
    Container,
    ContainerPort,
    Pod,
    PodCondition,
    PodPhase,
    PodSpec,
    PodStatus,
    Protocol,
)
from kcore.network.dns import DNS_APP, DNS_APP_LABEL, DNS_NAMESPACE, DNS_SERVICE
from kcore.network.resolvconf import cluster_dns_ip
from kcore.state import ClusterConfig, ClusterState, empty_state, put
from tests.builders import T0, an_ingress, an_ingress_class

NAMESPACE: Final = "bench"
SCALE_CONFIG: Final = ClusterConfig(seed=11, cluster_cidr="10.128.0.0/9")
INGRESS_ADDRESS: Final = "198.51.100.1"
INGRESS_HOST: Final = "web.example.com"
TARGET_PORT: Final = 8080
FIRST_SERVICE_ADDRESS: Final = 1024
"""Service i's ClusterIP is this many addresses plus i into the service CIDR."""


# --- the objects --------------------------------------------------------------------------


def a_proxy_node(name: str, *, ready: bool = True, ip: str = "", pod_cidr: str = "") -> Node:
    """A Node as kube-proxy and routing read it: its Ready condition, InternalIP (none
    when ""), podCIDR (none when "")."""
    status = ConditionStatus.TRUE if ready else ConditionStatus.FALSE
    return Node(
        metadata=ObjectMeta(name=name),
        spec=NodeSpec(pod_cidr=pod_cidr, pod_cidrs=(pod_cidr,) if pod_cidr else ()),
        status=NodeStatus(
            conditions=(NodeCondition(type="Ready", status=status),),
            addresses=(NodeAddress(type="InternalIP", address=ip),) if ip else (),
        ),
    )


def a_proxy_service(
    name: str,
    namespace: str = "default",
    *,
    cluster_ip: str,
    ports: tuple[ServicePort, ...],
    kind: ServiceType = ServiceType.CLUSTER_IP,
    selector: dict[str, str] | None = None,
    external_ips: tuple[str, ...] = (),
    internal_policy: TrafficPolicy | None = None,
    external_policy: TrafficPolicy | None = None,
    health_check_node_port: int = 0,
    affinity: bool = False,
) -> Service:
    """A Service with its ClusterIP allocated (what the apiserver would have stored)."""
    spec = ServiceSpec(
        ports=ports,
        selector=pmap(selector or {}),
        type=kind,
        cluster_ip=cluster_ip,
        external_ips=external_ips,
        internal_traffic_policy=internal_policy,
        external_traffic_policy=external_policy,
        health_check_node_port=health_check_node_port,
        session_affinity=ServiceAffinity.CLIENT_IP if affinity else ServiceAffinity.NONE,
        session_affinity_config=SessionAffinityConfig(client_ip=ClientIPConfig(timeout_seconds=10800)) if affinity else None,
    )
    return Service(metadata=ObjectMeta(name=name, namespace=namespace), spec=spec)


def an_endpoint(
    ip: str,
    *,
    node: str | None = None,
    ready: bool | None = True,
    serving: bool | None = True,
    terminating: bool | None = False,
    pod: str = "",
    namespace: str = "",
    hostname: str | None = None,
) -> Endpoint:
    """One endpoint address with its conditions (and the pod it is, when `pod`)."""
    ref = ObjectReference(kind="Pod", namespace=namespace, name=pod) if pod else None
    return Endpoint(
        addresses=(ip,),
        node_name=node,
        hostname=hostname,
        target_ref=ref,
        conditions=EndpointConditions(ready=ready, serving=serving, terminating=terminating),
    )


def a_service_slice(
    service: str,
    namespace: str = "default",
    *,
    name: str = "",
    endpoints: Iterable[Endpoint] = (),
    ports: Iterable[EndpointPort] = (),
) -> EndpointSlice:
    """An IPv4 EndpointSlice of Service `service` (`<service>-abcde` unless `name`)."""
    return EndpointSlice(
        metadata=ObjectMeta(name=name or f"{service}-abcde", namespace=namespace, labels=pmap({LABEL_SERVICE_NAME: service})),
        address_type=AddressType.IPV4,
        endpoints=tuple(endpoints),
        ports=tuple(ports),
    )


# --- the scale view -----------------------------------------------------------------------


def node_name(i: int) -> str:
    return f"node-{i:05d}"


def node_address(i: int) -> str:
    """Node i's InternalIP: the (i+2)-th address of 172.18.0.0/16."""
    return str(ipaddress.IPv4Address("172.18.0.0") + 2 + i)


def pod_cidr(i: int, config: ClusterConfig = SCALE_CONFIG) -> str:
    """Node i's podCIDR: the i-th /24 of the cluster CIDR."""
    base = ipaddress.ip_network(config.cluster_cidr).network_address
    return f"{base + (i << 8)}/24"


def endpoint_address(e: int, nodes: int, config: ClusterConfig = SCALE_CONFIG) -> str:
    """Endpoint e's address: on node e % nodes, the (e // nodes + 2)-th of its podCIDR."""
    slot = e // nodes + 2
    if slot > 254:
        raise ValueError(f"{e + 1} endpoints over {nodes} nodes do not fit a /24 each")
    return str(ipaddress.ip_network(pod_cidr(e % nodes, config)).network_address + slot)


def service_address(i: int, config: ClusterConfig = SCALE_CONFIG) -> str:
    return str(ipaddress.ip_network(config.service_cidr).network_address + FIRST_SERVICE_ADDRESS + i)


def service_name(i: int) -> str:
    return f"svc-{i:05d}"


def scale_node(i: int) -> Node:
    return a_proxy_node(node_name(i), ip=node_address(i), pod_cidr=pod_cidr(i))


def scale_service(i: int) -> Service:
    """Service i of the scale view (see the module doc for its shape)."""
    local = i % 10 == 0
    port = ServicePort(name="http", port=80, target_port="http", node_port=30000 + (i // 10) % 2767 if local else 0)
    return a_proxy_service(
        service_name(i),
        NAMESPACE,
        cluster_ip=service_address(i),
        ports=(port,),
        selector={"app": service_name(i)},
        kind=ServiceType.NODE_PORT if local else ServiceType.CLUSTER_IP,
        external_policy=TrafficPolicy.LOCAL if local else None,
        internal_policy=TrafficPolicy.CLUSTER,
        affinity=i % 10 == 5,
    )


def scale_slice(service: str, first: int, per: int, nodes: int, *, hostnames: bool = False) -> EndpointSlice:
    """The one slice of `service`: endpoints `first .. first+per-1`, named after their pods."""
    endpoints = tuple(
        an_endpoint(
            endpoint_address(first + j, nodes),
            node=node_name((first + j) % nodes),
            pod=f"{service}-{j:02d}",
            namespace=NAMESPACE,
            hostname=f"{service}-{j:02d}" if hostnames else None,
        )
        for j in range(per)
    )
    return a_service_slice(
        service, NAMESPACE, endpoints=endpoints, ports=(EndpointPort(name="http", protocol=Protocol.TCP, port=TARGET_PORT),)
    )


def a_running_pod(name: str, namespace: str, *, ip: str, node: str, labels: dict[str, str], port: int = TARGET_PORT) -> Pod:
    """A bound pod that is Running and Ready at `ip`, one container serving `port`."""
    container = Container(name="app", image="nginx:1.25", ports=(ContainerPort(container_port=port, name="http"),))
    ready = PodCondition(type="Ready", status=ConditionStatus.TRUE, last_transition_time=T0)
    return Pod(
        metadata=ObjectMeta(name=name, namespace=namespace, labels=pmap(labels)),
        spec=PodSpec(containers=(container,), node_name=node),
        status=PodStatus(phase=PodPhase.RUNNING, conditions=(ready,), pod_ip=ip),
    )


def _pods_of(sl: EndpointSlice, app: str) -> list[Pod]:
    return [
        a_running_pod(ep.target_ref.name, NAMESPACE, ip=ep.addresses[0], node=ep.node_name or "", labels={"app": app})
        for ep in sl.endpoints
        if ep.target_ref is not None
    ]


def _dns_and_ingress(config: ClusterConfig) -> list[ApiObject]:
    """kube-dns with one Ready CoreDNS pod; the default IngressClass, its controller's
    Service at `INGRESS_ADDRESS`, and the Ingress `web`."""
    dns_ip = cluster_dns_ip(config.service_cidr)
    dns = a_proxy_service(
        DNS_SERVICE,
        DNS_NAMESPACE,
        cluster_ip=dns_ip,
        ports=(ServicePort(name="dns", port=53, protocol=Protocol.UDP), ServicePort(name="dns-tcp", port=53)),
        selector={DNS_APP_LABEL: DNS_APP},
    )
    coredns = a_running_pod(
        "coredns-0", DNS_NAMESPACE, ip=str(ipaddress.ip_network(pod_cidr(0)).network_address + 254),
        node=node_name(0), labels={DNS_APP_LABEL: DNS_APP}, port=53,
    )
    controller = a_proxy_service(
        INGRESS_CONTROLLER,
        INGRESS_NAMESPACE,
        cluster_ip=str(ipaddress.ip_network(config.service_cidr).network_address + 20),
        ports=(ServicePort(name="http", port=80, target_port="http", node_port=32767),),
        kind=ServiceType.LOAD_BALANCER,
    )
    controller = attrs.evolve(
        controller,
        status=ServiceStatus(load_balancer=LoadBalancerStatus(ingress=(LoadBalancerIngress(ip=INGRESS_ADDRESS),))),
    )
    ingress = an_ingress("web", NAMESPACE, host=INGRESS_HOST, service=service_name(1), port=80)
    ingress = attrs.evolve(ingress, spec=attrs.evolve(ingress.spec, ingress_class_name=CLASS_NAME))
    return [dns, coredns, an_ingress_class(CLASS_NAME, default=True), controller, ingress]


def scale_view(
    nodes: int, services: int, endpoints: int, *, pods: bool = False, headless: int = 0, config: ClusterConfig = SCALE_CONFIG
) -> ClusterState:
    """The view described in the module doc."""
    view = empty_state(config)
    per = max(1, endpoints // services)
    for ns in ("default", DNS_NAMESPACE, INGRESS_NAMESPACE, NAMESPACE):
        view = put(view, Namespace(metadata=ObjectMeta(name=ns)))
    for i in range(nodes):
        view = put(view, scale_node(i))
    for i in range(services):
        svc = scale_service(i)
        sl = scale_slice(svc.metadata.name, i * per, per, nodes)
        view = put(put(view, svc), sl)
        for pod in _pods_of(sl, svc.metadata.name) if pods else ():
            view = put(view, pod)
    for k in range(headless):
        name = f"headless-{k:03d}"
        svc = a_proxy_service(name, NAMESPACE, cluster_ip="None", ports=(ServicePort(name="http", port=80, target_port="http"),), selector={"app": name})
        sl = scale_slice(name, services * per + k * per, per, nodes, hostnames=True)
        view = put(put(view, svc), sl)
        for pod in _pods_of(sl, name) if pods else ():
            view = put(view, pod)
    if pods:
        for obj in _dns_and_ingress(config):
            view = put(view, obj)
    return view
