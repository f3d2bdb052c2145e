"""Validation of the network kinds: EndpointSlice (discovery.k8s.io), NetworkPolicy and
IngressClass (networking.k8s.io).

Owns `validate_endpoint_slice(_update)`, `validate_network_policy(_update)`,
`validate_ingress_class(_update)` and `non_special_ip` (ValidateNonSpecialIP).

Rules: pure; errors in upstream's order and wording. An endpoint's addresses are checked
against the slice's address type; FQDN addresses as fully qualified domain names.

Mirrors pkg/apis/discovery/validation/validation.go,
pkg/apis/networking/validation/validation.go (ValidateNetworkPolicy*, ValidateIPBlock,
ValidateIngressClass*) and pkg/apis/core/validation/validation.go (ValidateNonSpecialIP).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Final

from kcore.api.discovery import AddressType, Endpoint, EndpointPort, EndpointSlice
from kcore.api.networking import (
    IngressClass,
    IngressClassParametersReference,
    IngressClassParametersScope,
    IPBlock,
    NetworkPolicy,
    NetworkPolicyPeer,
    NetworkPolicyPort,
    NetworkPolicySpec,
    PolicyType,
)
from kcore.api.pod import Protocol
from kcore.api.validation.meta import (
    Errors,
    NameRule,
    dns1123_label,
    dns1123_subdomain,
    immutable,
    invalid_rendered,
    label_errors,
    name_errors,
    validate_label_selector,
    validate_object_meta,
    validate_object_meta_update,
)
from kcore.util_validation import (
    FieldError,
    child,
    duplicate,
    forbidden,
    index,
    invalid,
    is_dns1123_subdomain,
    is_qualified_name,
    is_valid_cidr,
    is_valid_ipv4_address,
    is_valid_ipv6_address,
    is_valid_port_name,
    is_valid_port_num,
    not_supported,
    regex_error,
    required,
    too_long,
    too_many,
)

MAX_ADDRESSES: Final = 100
MAX_ENDPOINTS: Final = 1000
MAX_PORTS: Final = 20000
MAX_LEN_INGRESS_CLASS_CONTROLLER: Final = 250
_PROTOCOLS: Final = (Protocol.TCP, Protocol.UDP, Protocol.SCTP)
_HTTP_PATH_FMT: Final = r"[A-Za-z0-9/\-._~%!$&'()*+,;=:]+"
_HTTP_PATH: Final = re.compile(f"^{_HTTP_PATH_FMT}$")
_FQDN_LABEL: Final = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LINK_LOCAL_MULTICAST: Final = {4: ipaddress.ip_network("224.0.0.0/24"), 6: ipaddress.ip_network("ff02::/16")}
"""net.IP.IsLinkLocalMulticast: 224.0.0.0/24 and ff02::/16 (upstream's message says ff02::/10)."""


def non_special_ip(address: str, path: str) -> Errors:
    """ValidateNonSpecialIP: not unspecified, loopback, link-local or link-local multicast."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return (invalid(path, address, "must be a valid IP address"),)
    if ip.is_unspecified:
        return (invalid(path, address, "may not be unspecified (0.0.0.0, ::)"),)
    if ip.is_loopback:
        return (invalid(path, address, "may not be in the loopback range (127.0.0.0/8, ::1/128)"),)
    if ip.is_link_local:
        return (invalid(path, address, "may not be in the link-local range (169.254.0.0/16, fe80::/10)"),)
    if ip in _LINK_LOCAL_MULTICAST[ip.version]:
        return (
            invalid(path, address, "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"),
        )
    return ()


# ---- EndpointSlice ---------------------------------------------------------------------


def validate_endpoint_slice(slice_: EndpointSlice) -> Errors:
    """ValidateEndpointSlice: meta, address type, endpoints (addresses per type), ports."""
    errors = list(
        validate_object_meta(slice_.metadata, namespaced=True, rule=NameRule.DNS1123_SUBDOMAIN)
    )
    errors.extend(_endpoints(slice_.endpoints, slice_.address_type, "endpoints"))
    errors.extend(_endpoint_ports(slice_.ports, "ports"))
    return tuple(errors)


def validate_endpoint_slice_update(new: EndpointSlice, old: EndpointSlice) -> Errors:
    """ValidateEndpointSliceUpdate: addressType is immutable."""
    return (
        *validate_object_meta_update(new.metadata, old.metadata),
        *validate_endpoint_slice(new),
        *immutable(new.address_type, old.address_type, "addressType"),
    )


def _fqdn(value: str, path: str) -> Errors:
    """IsFullyQualifiedDomainName: at least two labels, a DNS-1123 subdomain, at most 253."""
    name = value.removesuffix(".")
    if not name:
        return (required(path, ""),)
    errors = [invalid(path, value, m) for m in is_dns1123_subdomain(name)]
    if errors:
        return tuple(errors)
    if len(name.split(".")) < 2:
        return (invalid(path, value, "should be a domain with at least two segments separated by dots"),)
    for label in name.split("."):
        if len(label) > 63:
            return (invalid(path, value, "must be no more than 63 characters"),)
        if not _FQDN_LABEL.match(label):
            return (invalid(path, value, "each label must be a valid DNS-1123 label"),)
    return ()


def _address(address: str, address_type: AddressType, path: str) -> Errors:
    match address_type:
        case AddressType.IPV4:
            errs = tuple(invalid(path, address, m) for m in is_valid_ipv4_address(address))
            return errs or non_special_ip(address, path)
        case AddressType.IPV6:
            errs = tuple(invalid(path, address, m) for m in is_valid_ipv6_address(address))
            return errs or non_special_ip(address, path)
        case AddressType.FQDN:
            return _fqdn(address, path)


def _endpoints(endpoints: tuple[Endpoint, ...], address_type: AddressType, path: str) -> Errors:
    if len(endpoints) > MAX_ENDPOINTS:
        return (too_many(path, len(endpoints), MAX_ENDPOINTS),)
    errors: list[FieldError] = []
    for i, endpoint in enumerate(endpoints):
        p = index(path, i)
        addresses = child(p, "addresses")
        if not endpoint.addresses:
            errors.append(required(addresses, "must contain at least 1 address"))
        elif len(endpoint.addresses) > MAX_ADDRESSES:
            errors.append(too_many(addresses, len(endpoint.addresses), MAX_ADDRESSES))
        for j, address in enumerate(endpoint.addresses):
            errors.extend(_address(address, address_type, index(addresses, j)))
        if endpoint.node_name is not None:
            errors.extend(
                invalid(child(p, "nodeName"), endpoint.node_name, m)
                for m in name_errors(NameRule.DNS1123_SUBDOMAIN, endpoint.node_name)
            )
        errors.extend(label_errors(endpoint.deprecated_topology, child(p, "deprecatedTopology")))
        if endpoint.hostname is not None:
            errors.extend(dns1123_label(endpoint.hostname, child(p, "hostname")))
    return tuple(errors)


def _endpoint_ports(ports: tuple[EndpointPort, ...], path: str) -> Errors:
    if len(ports) > MAX_PORTS:
        return (too_many(path, len(ports), MAX_PORTS),)
    errors: list[FieldError] = []
    names: set[str] = set()
    for i, port in enumerate(ports):
        p = index(path, i)
        name = port.name or ""
        if name:
            errors.extend(dns1123_label(name, child(p, "name")))
        if name in names:
            errors.append(duplicate(child(p, "name"), name))
        names.add(name)
        if port.protocol is None:
            errors.append(required(child(p, "protocol"), ""))
        elif port.protocol not in _PROTOCOLS:
            errors.append(not_supported(child(p, "protocol"), port.protocol.value, _PROTOCOLS))
        if port.app_protocol is not None:
            errors.extend(
                invalid(child(p, "appProtocol"), port.app_protocol, m)
                for m in is_qualified_name(port.app_protocol)
            )
    return tuple(errors)


# ---- NetworkPolicy ---------------------------------------------------------------------


def validate_network_policy(np: NetworkPolicy) -> Errors:
    """ValidateNetworkPolicy: meta and spec."""
    return (
        *validate_object_meta(np.metadata, namespaced=True, rule=NameRule.DNS1123_SUBDOMAIN),
        *_network_policy_spec(np.spec, "spec"),
    )


def validate_network_policy_update(new: NetworkPolicy, old: NetworkPolicy) -> Errors:
    """ValidateNetworkPolicyUpdate: meta update and the new spec."""
    return (*validate_object_meta_update(new.metadata, old.metadata), *_network_policy_spec(new.spec, "spec"))


def _network_policy_spec(spec: NetworkPolicySpec, path: str) -> Errors:
    errors = list(validate_label_selector(spec.pod_selector, child(path, "podSelector")))
    rules = (
        *((index(child(path, "ingress"), i), "from", r.ports, r.from_) for i, r in enumerate(spec.ingress)),
        *((index(child(path, "egress"), i), "to", r.ports, r.to) for i, r in enumerate(spec.egress)),
    )
    for p, peers_name, ports, peers in rules:
        for j, port in enumerate(ports):
            errors.extend(_policy_port(port, index(child(p, "ports"), j)))
        for j, peer in enumerate(peers):
            errors.extend(_peer(peer, index(child(p, peers_name), j)))
    types = child(path, "policyTypes")
    if len(spec.policy_types) > 2:
        rendered = "[" + " ".join(t.value for t in spec.policy_types) + "]"
        errors.append(invalid_rendered(types, f"&{rendered}", "may not specify more than two policyTypes"))
        return tuple(errors)
    for i, t in enumerate(spec.policy_types):
        if t not in (PolicyType.INGRESS, PolicyType.EGRESS):
            errors.append(not_supported(index(types, i), t.value, tuple(PolicyType)))
    return tuple(errors)


def _policy_port(port: NetworkPolicyPort, path: str) -> Errors:
    errors: list[FieldError] = []
    if port.protocol is not None and port.protocol not in _PROTOCOLS:
        errors.append(not_supported(child(path, "protocol"), port.protocol.value, _PROTOCOLS))
    if isinstance(port.port, int):
        errors.extend(invalid(child(path, "port"), port.port, m) for m in is_valid_port_num(port.port))
        if port.end_port is not None:
            if port.end_port < port.port:
                errors.append(invalid(child(path, "endPort"), port.port, "must be greater than or equal to `port`"))
            errors.extend(
                invalid(child(path, "endPort"), port.end_port, m) for m in is_valid_port_num(port.end_port)
            )
    elif isinstance(port.port, str):
        if port.end_port is not None:
            errors.append(
                invalid(child(path, "endPort"), port.end_port, "may not be specified when `port` is non-numeric")
            )
        errors.extend(invalid(child(path, "port"), port.port, m) for m in is_valid_port_name(port.port))
    elif port.end_port is not None:
        errors.append(
            invalid(child(path, "endPort"), port.end_port, "may not be specified when `port` is not specified")
        )
    return tuple(errors)


def _peer(peer: NetworkPolicyPeer, path: str) -> Errors:
    errors: list[FieldError] = []
    peers = 0
    if peer.pod_selector is not None:
        peers += 1
        errors.extend(validate_label_selector(peer.pod_selector, child(path, "podSelector")))
    if peer.namespace_selector is not None:
        peers += 1
        errors.extend(validate_label_selector(peer.namespace_selector, child(path, "namespaceSelector")))
    if peer.ip_block is not None:
        peers += 1
        errors.extend(validate_ip_block(peer.ip_block, child(path, "ipBlock")))
    if peers == 0:
        errors.append(required(path, "must specify a peer"))
    elif peers > 1 and peer.ip_block is not None:
        errors.append(forbidden(path, "may not specify both ipBlock and another peer"))
    return tuple(errors)


def _network(cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    if is_valid_cidr(cidr):
        return None
    try:
        return ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return None


def validate_ip_block(block: IPBlock, path: str) -> Errors:
    """ValidateIPBlock: a CIDR, and each `except` a strict subset of it."""
    cidr_path = child(path, "cidr")
    if not block.cidr:
        return (required(cidr_path, ""),)
    errors = [invalid(cidr_path, block.cidr, m) for m in is_valid_cidr(block.cidr)]
    net = _network(block.cidr)
    if net is None:
        return tuple(errors)
    for i, text in enumerate(block.except_):
        p = index(child(path, "except"), i)
        errors.extend(invalid(p, text, m) for m in is_valid_cidr(text))
        exc = _network(text)
        if exc is None:
            continue
        if exc.version != net.version or exc.network_address not in net or net.prefixlen >= exc.prefixlen:
            errors.append(invalid(p, text, "must be a strict subset of `cidr`"))
    return tuple(errors)


# ---- IngressClass ----------------------------------------------------------------------


def validate_ingress_class(ic: IngressClass) -> Errors:
    """ValidateIngressClass: a cluster-scoped name, a domain-prefixed controller, parameters."""
    errors = list(validate_object_meta(ic.metadata, namespaced=False, rule=NameRule.DNS1123_SUBDOMAIN))
    controller = ic.spec.controller
    cpath = "spec.controller"
    if len(controller) > MAX_LEN_INGRESS_CLASS_CONTROLLER:
        errors.append(too_long(cpath, controller, MAX_LEN_INGRESS_CLASS_CONTROLLER))
    errors.extend(_domain_prefixed_path(controller, cpath))
    if ic.spec.parameters is not None:
        errors.extend(_parameters(ic.spec.parameters, "spec.parameters"))
    return tuple(errors)


def validate_ingress_class_update(new: IngressClass, old: IngressClass) -> Errors:
    """ValidateIngressClassUpdate: the controller is immutable."""
    return (
        *validate_object_meta_update(new.metadata, old.metadata),
        *immutable(new.spec.controller, old.spec.controller, "spec.controller"),
        *validate_ingress_class(new),
    )


def _domain_prefixed_path(value: str, path: str) -> Errors:
    if not value:
        return (required(path, ""),)
    host, sep, rest = value.partition("/")
    if not sep or not host or not rest:
        return (invalid(path, value, 'must be a domain-prefixed path (such as "acme.io/foo")'),)
    errors = [invalid(path, host, m) for m in is_dns1123_subdomain(host)]
    if not _HTTP_PATH.match(rest):
        errors.append(invalid(path, rest, regex_error("Invalid path", _HTTP_PATH_FMT)))
    return tuple(errors)


def _parameters(params: IngressClassParametersReference, path: str) -> Errors:
    errors: list[FieldError] = []
    if not params.kind:
        errors.append(required(child(path, "kind"), "kind is required"))
    else:
        errors.extend(
            invalid(child(path, "kind"), params.kind, m) for m in name_errors(NameRule.PATH_SEGMENT, params.kind)
        )
    if not params.name:
        errors.append(required(child(path, "name"), "name is required"))
    else:
        errors.extend(
            invalid(child(path, "name"), params.name, m) for m in name_errors(NameRule.PATH_SEGMENT, params.name)
        )
    if params.api_group is not None:
        errors.extend(dns1123_subdomain(params.api_group, child(path, "apiGroup")))
    if params.scope is None:
        errors.append(required(child(path, "scope"), ""))
        return tuple(errors)
    if params.scope is IngressClassParametersScope.NAMESPACE:
        if params.namespace is None:
            errors.append(required(child(path, "namespace"), "`parameters.scope` is set to 'Namespace'"))
        else:
            errors.extend(dns1123_label(params.namespace, child(path, "namespace")))
    elif params.namespace is not None:
        errors.append(forbidden(child(path, "namespace"), "`parameters.scope` is set to 'Cluster'"))
    return tuple(errors)
