"""The discovery.k8s.io/v1 group: EndpointSlice.

Owns the frozen value classes of an EndpointSlice (its endpoints with their conditions,
hints and target references, and its ports), the well-known labels the EndpointSlice
controllers set, and `default`. An EndpointSlice holds a subset of one Service's endpoints
(at most `MAX_ENDPOINTS_PER_SLICE` written by the controller, 1000 accepted), all of one
address type, with one port list for all of them.

Rules (see kcore/api/meta.py for the conventions the codec reads):
- `conditions.ready`, `serving` and `terminating`, `hostname`, `nodeName`, `zone` and every
  field of a port are Go pointers upstream and stay `X | None`; a nil `ready` reads as
  ready ("unknown state ... interpreted as ready"), a nil `serving` follows `ready`;
- `default` sets a port's nil `name` to "" and nil `protocol` to TCP, as
  SetDefaults_EndpointPort does.

Knows nothing of controllers, validation or the apiserver.

Mirrors k8s.io/api/discovery/v1/types.go, well_known_labels.go and
pkg/apis/discovery/v1/defaults.go.
"""

from __future__ import annotations

import enum
from typing import ClassVar, Final

import attrs
from pyrsistent import pmap
from pyrsistent.typing import PMap

from kcore.api.core import ObjectReference
from kcore.api.kinds import Kind
from kcore.api.meta import ApiObject, ObjectMeta
from kcore.api.pod import Protocol

LABEL_SERVICE_NAME: Final = "kubernetes.io/service-name"
"""discoveryv1.LabelServiceName: the Service an EndpointSlice belongs to."""
LABEL_MANAGED_BY: Final = "endpointslice.kubernetes.io/managed-by"
"""discoveryv1.LabelManagedBy: the controller that manages an EndpointSlice."""
MANAGED_BY_CONTROLLER: Final = "endpointslice-controller.k8s.io"
MANAGED_BY_MIRRORING: Final = "endpointslicemirroring-controller.k8s.io"
LABEL_SKIP_MIRROR: Final = "endpointslice.kubernetes.io/skip-mirror"
MAX_ENDPOINTS_PER_SLICE: Final = 100
"""The controller's default --max-endpoints-per-slice."""


class AddressType(enum.Enum):
    IPV4 = "IPv4"
    IPV6 = "IPv6"
    FQDN = "FQDN"


@attrs.frozen(kw_only=True)
class EndpointConditions:
    ready: bool | None = None
    serving: bool | None = None
    terminating: bool | None = None


@attrs.frozen(kw_only=True)
class ForZone:
    name: str


@attrs.frozen(kw_only=True)
class ForNode:
    name: str


@attrs.frozen(kw_only=True)
class EndpointHints:
    for_zones: tuple[ForZone, ...] = ()
    for_nodes: tuple[ForNode, ...] = ()


@attrs.frozen(kw_only=True)
class Endpoint:
    addresses: tuple[str, ...] = ()
    conditions: EndpointConditions = attrs.field(factory=EndpointConditions)
    hostname: str | None = None
    target_ref: ObjectReference | None = None
    deprecated_topology: PMap[str, str] = pmap()
    node_name: str | None = None
    zone: str | None = None
    hints: EndpointHints | None = None


@attrs.frozen(kw_only=True)
class EndpointPort:
    name: str | None = None
    protocol: Protocol | None = None
    port: int | None = None
    app_protocol: str | None = None


@attrs.frozen(kw_only=True)
class EndpointSlice:
    KIND: ClassVar[Kind] = Kind.ENDPOINT_SLICE

    metadata: ObjectMeta = ObjectMeta()
    address_type: AddressType
    endpoints: tuple[Endpoint, ...] = ()
    ports: tuple[EndpointPort, ...] = ()


def is_ready(endpoint: Endpoint) -> bool:
    """A nil `ready` is ready (the API's documented reading of an unknown state)."""
    return endpoint.conditions.ready is not False


def _default_port(port: EndpointPort) -> EndpointPort:
    return attrs.evolve(
        port,
        name="" if port.name is None else port.name,
        protocol=Protocol.TCP if port.protocol is None else port.protocol,
    )


def default(obj: ApiObject) -> ApiObject:
    """SetDefaults_EndpointPort on every port of a slice; other kinds are unchanged."""
    if not isinstance(obj, EndpointSlice):
        return obj
    ports = tuple(_default_port(p) for p in obj.ports)
    if ports == obj.ports:
        return obj
    return attrs.evolve(obj, ports=ports)
