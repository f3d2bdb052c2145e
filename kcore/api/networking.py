"""The networking.k8s.io/v1 group: Ingress.

Owns the frozen value classes of an Ingress (rules, paths, backends, TLS, load-balancer
status) and `default`. Upstream defines no Ingress defaulting (networking/v1 defaults.go
covers NetworkPolicy and IngressClass only), so `default` returns every object unchanged;
it exists so each group module has the same contract.

Rules (see kcore/api/meta.py for the conventions the codec reads): a Go pointer field is
`X | None = None`; a backend is either a service or a resource, a service port either a
name or a number (0 = unset, as upstream's omitempty int32).

Mirrors k8s.io/api/networking/v1/types.go.
"""


from __future__ import annotations

import enum
from typing import ClassVar

import attrs

from kcore.api.core import TypedLocalObjectReference
from kcore.api.kinds import Kind
from kcore.api.meta import ApiObject, ObjectMeta
from kcore.api.pod import Protocol


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


def default(obj: ApiObject) -> ApiObject:
    """networking.k8s.io/v1 defines no Ingress defaulting: every object is unchanged."""
    return obj
