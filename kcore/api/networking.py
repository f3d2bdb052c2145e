"""The networking.k8s.io/v1 group: Ingress, IngressClass, NetworkPolicy.

Owns the frozen value classes of an Ingress (rules, paths, backends, TLS, load-balancer
status), an IngressClass (controller, parameters), a NetworkPolicy (pod selector, ingress
and egress rules of peers and ports, policy types) and `default`. Upstream defines no
Ingress defaulting; `default` does what networking/v1 defaults.go does for the other two:
a NetworkPolicy port's nil protocol is TCP, empty policyTypes become [Ingress] plus Egress
when egress rules exist, and IngressClass parameters' nil scope is Cluster.

Rules (see kcore/api/meta.py for the conventions the codec reads): a Go pointer field is
`X | None = None`; a backend is either a service or a resource, a service port either a
name or a number (0 = unset, as upstream's omitempty int32).

Mirrors k8s.io/api/networking/v1/types.go.
"""


from __future__ import annotations

import enum
from typing import ClassVar, Final

import attrs

from kcore.api.core import TypedLocalObjectReference
from kcore.api.kinds import Kind
from kcore.api.meta import ApiObject, ObjectMeta, wire
from kcore.api.pod import LabelSelector, Protocol

ANNOTATION_DEFAULT_INGRESS_CLASS: Final = "ingressclass.kubernetes.io/is-default-class"
"""networkingv1.AnnotationIsDefaultIngressClass: "true" marks the cluster's default class."""


class PathType(enum.Enum):
    EXACT = "Exact"
    PREFIX = "Prefix"
    IMPLEMENTATION_SPECIFIC = "ImplementationSpecific"


@attrs.frozen(kw_only=True)
class ServiceBackendPort:
    name: str = ""
    number: int = 0


@attrs.frozen(kw_only=True)
class IngressServiceBackend:
    name: str
    port: ServiceBackendPort = ServiceBackendPort()


@attrs.frozen(kw_only=True)
class IngressBackend:
    service: IngressServiceBackend | None = None
    resource: TypedLocalObjectReference | None = None


@attrs.frozen(kw_only=True)
class IngressTLS:
    hosts: tuple[str, ...] = ()
    secret_name: str = ""


@attrs.frozen(kw_only=True)
class HTTPIngressPath:
    path: str = ""
    path_type: PathType
    backend: IngressBackend


@attrs.frozen(kw_only=True)
class HTTPIngressRuleValue:
    paths: tuple[HTTPIngressPath, ...] = ()


@attrs.frozen(kw_only=True)
class IngressRule:
    host: str = ""
    http: HTTPIngressRuleValue | None = None


@attrs.frozen(kw_only=True)
class IngressSpec:
    ingress_class_name: str | None = None
    default_backend: IngressBackend | None = None
    tls: tuple[IngressTLS, ...] = ()
    rules: tuple[IngressRule, ...] = ()


@attrs.frozen(kw_only=True)
class IngressPortStatus:
    port: int
    protocol: Protocol
    error: str | None = None


@attrs.frozen(kw_only=True)
class IngressLoadBalancerIngress:
    ip: str = ""
    hostname: str = ""
    ports: tuple[IngressPortStatus, ...] = ()


@attrs.frozen(kw_only=True)
class IngressLoadBalancerStatus:
    ingress: tuple[IngressLoadBalancerIngress, ...] = ()


@attrs.frozen(kw_only=True)
class IngressStatus:
    load_balancer: IngressLoadBalancerStatus = IngressLoadBalancerStatus()


@attrs.frozen(kw_only=True)
class Ingress:
    KIND: ClassVar[Kind] = Kind.INGRESS
    metadata: ObjectMeta = ObjectMeta()
    spec: IngressSpec = IngressSpec()
    status: IngressStatus = IngressStatus()


# --- IngressClass --------------------------------------------------------------------


class IngressClassParametersScope(enum.Enum):
    CLUSTER = "Cluster"
    NAMESPACE = "Namespace"


@attrs.frozen(kw_only=True)
class IngressClassParametersReference:
    api_group: str | None = attrs.field(default=None, metadata=wire("apiGroup"))
    kind: str
    name: str
    scope: IngressClassParametersScope | None = None
    namespace: str | None = None


@attrs.frozen(kw_only=True)
class IngressClassSpec:
    controller: str = ""
    parameters: IngressClassParametersReference | None = None


@attrs.frozen(kw_only=True)
class IngressClass:
    KIND: ClassVar[Kind] = Kind.INGRESS_CLASS
    metadata: ObjectMeta = ObjectMeta()
    spec: IngressClassSpec = IngressClassSpec()


# --- NetworkPolicy -------------------------------------------------------------------


class PolicyType(enum.Enum):
    INGRESS = "Ingress"
    EGRESS = "Egress"


@attrs.frozen(kw_only=True)
class IPBlock:
    cidr: str
    except_: tuple[str, ...] = attrs.field(default=(), metadata=wire("except"))


@attrs.frozen(kw_only=True)
class NetworkPolicyPeer:
    pod_selector: LabelSelector | None = None
    namespace_selector: LabelSelector | None = None
    ip_block: IPBlock | None = attrs.field(default=None, metadata=wire("ipBlock"))


@attrs.frozen(kw_only=True)
class NetworkPolicyPort:
    protocol: Protocol | None = None
    port: int | str | None = None
    end_port: int | None = None


@attrs.frozen(kw_only=True)
class NetworkPolicyIngressRule:
    ports: tuple[NetworkPolicyPort, ...] = ()
    from_: tuple[NetworkPolicyPeer, ...] = attrs.field(default=(), metadata=wire("from"))


@attrs.frozen(kw_only=True)
class NetworkPolicyEgressRule:
    ports: tuple[NetworkPolicyPort, ...] = ()
    to: tuple[NetworkPolicyPeer, ...] = ()


@attrs.frozen(kw_only=True)
class NetworkPolicySpec:
    pod_selector: LabelSelector = attrs.field(factory=LabelSelector, metadata=wire(always=True))
    ingress: tuple[NetworkPolicyIngressRule, ...] = ()
    egress: tuple[NetworkPolicyEgressRule, ...] = ()
    policy_types: tuple[PolicyType, ...] = ()


@attrs.frozen(kw_only=True)
class NetworkPolicy:
    KIND: ClassVar[Kind] = Kind.NETWORK_POLICY
    metadata: ObjectMeta = ObjectMeta()
    spec: NetworkPolicySpec = NetworkPolicySpec()


def _default_ports(ports: tuple[NetworkPolicyPort, ...]) -> tuple[NetworkPolicyPort, ...]:
    return tuple(
        attrs.evolve(p, protocol=Protocol.TCP) if p.protocol is None else p for p in ports
    )


def _default_network_policy(np: NetworkPolicy) -> NetworkPolicy:
    spec = np.spec
    types = spec.policy_types or (
        (PolicyType.INGRESS, PolicyType.EGRESS) if spec.egress else (PolicyType.INGRESS,)
    )
    return attrs.evolve(
        np,
        spec=attrs.evolve(
            spec,
            ingress=tuple(attrs.evolve(r, ports=_default_ports(r.ports)) for r in spec.ingress),
            egress=tuple(attrs.evolve(r, ports=_default_ports(r.ports)) for r in spec.egress),
            policy_types=types,
        ),
    )


def _default_ingress_class(ic: IngressClass) -> IngressClass:
    params = ic.spec.parameters
    if params is None or params.scope is not None:
        return ic
    scoped = attrs.evolve(params, scope=IngressClassParametersScope.CLUSTER)
    return attrs.evolve(ic, spec=attrs.evolve(ic.spec, parameters=scoped))


def default(obj: ApiObject) -> ApiObject:
    """networking/v1 defaults.go: NetworkPolicy and IngressClass; Ingress is unchanged."""
    match obj:
        case NetworkPolicy():
            return _default_network_policy(obj)
        case IngressClass():
            return _default_ingress_class(obj)
        case _:
            return obj
