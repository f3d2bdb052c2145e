"""The routing model: one connection followed hop by hop through the flat pod network,
the source node's kube-proxy rules, NodePorts, load balancers and the ingress
controller, to one backend or to the reason it was dropped.

Owns `Network` (what routing reads: the API state, each node's programmed rules, the DNS
zone, the nodes that are down, the seed), `Source`, `Destination`, `Hop`, `Backend`,
`Route`, `network_of`, `parse_destination`, `route`, and `dns_denied` (NetworkPolicy on a
pod's DNS query, which `kcore net resolve` applies too).

Rules (the flat network model of the Kubernetes networking page, kube-proxy's iptables
mode, and the contracts of `kcore net route`):
- Pod to pod IP: delivered directly across nodes with no NAT: the receiver sees the
  sender's pod IP. An outside client (an address outside the pod CIDR, the service CIDR
  and the node IPs) reaches no pod IP and no ClusterIP: "no route".
- Pod or node to a ClusterIP: the *source node's* rules pick one backend of that
  Service port (the rule the node runs, frozen if the node is not Ready); no rule for
  the port: refused; a REJECT rule: "has no endpoints"; a DROP rule: "has no local
  endpoints". A node's own traffic is seen from its InternalIP; a pod reaching itself
  through its Service (hairpin) from its node's bridge address (the first host of the
  node's podCIDR).
- Outside client to NodeIP:nodePort: the receiving node's rules; externalTrafficPolicy
  Cluster is SNATed to that node's InternalIP, Local keeps the client address and only
  the node's own endpoints. To a LoadBalancer IP or an externalIP: the load balancer
  hands the connection to a Ready node that is not down (for Local, one whose health
  check answers 200, i.e. with a local endpoint), chosen by the connection's identity,
  then as a NodePort on that node. From inside the cluster a LoadBalancer IP or an
  externalIP is short-circuited by the source node's rules.
- An `http://` destination at the ingress controller's address is routed by its Host
  header and path through the served Ingresses (`kcore.network.ingress`) to one ready
  endpoint of the backend Service port; 404 (nothing matches) and 503 (a resource
  backend, or a Service without ready endpoints) are not delivered. The backend sees
  the controller's address, as behind an ingress-nginx proxy.
- Backend choice is deterministic: a hash of (seed, source address, source port, the
  Service port), as iptables' random probability rules pick at random per connection;
  ClientIP session affinity picks by (seed, client address) alone, by highest random
  weight, so a client stays on its backend while that backend lives.
- At the backend: a backend address no pod has is outside the cluster (a selectorless
  Service's Endpoints) and is delivered there; a pod whose node is down, a pod not
  Running, a port no container serves (a pod that declares no port serves every port)
  drop the connection with the reason; NetworkPolicy is enforced at both ends
  (`kcore.network.policy`): the source pod's egress against the backend it was sent to,
  the backend's ingress against the address it sees (after SNAT, the node's).
- A name is looked up through the source pod's resolv.conf; the query to the kube-dns
  clusterIP is itself a connection on 53/UDP, so when NetworkPolicy denies it at every DNS
  server pod (the pod's egress or the server's ingress) the name does not resolve.

Must not know: the driver, the CLI, components. Pure.

Mirrors the data path of pkg/proxy/iptables/proxier.go (KUBE-SERVICES, KUBE-NODEPORTS,
KUBE-SVC/KUBE-SEP chains, masquerade rules), the cloud load balancer's node selection
(healthCheckNodePort) and ingress-nginx's proxying.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Callable, Mapping
from typing import Final

import attrs

from kcore.api.core import Node, Service, TrafficPolicy
from kcore.api.discovery import EndpointSlice
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.networking import Ingress
from kcore.api.pod import Pod, PodPhase, Protocol
from kcore.network.dns import (
    DNS_NAMESPACE,
    DNS_SERVICE,
    Lookup,
    Rcode,
    RecordType,
    Reply,
    Zone,
    is_server_pod,
    lookup,
)
from kcore.network.ingress import route_http, served_ingresses
from kcore.network.policy import Peer, egress_allowed, ingress_allowed
from kcore.network.resolvconf import ResolvConf, cluster_dns_ip
from kcore.network.rules import Backend as RuleBackend
from kcore.network.rules import (
    Frontend,
    Rule,
    ServiceRules,
    Target,
    node_ip,
    node_ready,
    slices_by_service,
)
from kcore.state import ClusterState, cluster_ip_owner, get, list_objects, node_port_owner

INGRESS_PORTS: Final = (80, 443)
NO_ROUTE: Final = "no route to host"

RulesOn = Callable[[str, ObjectKey], ServiceRules | None]
"""(node, Service) -> that Service's rules as the node runs them (None: none there)."""


@attrs.frozen(kw_only=True)
class Network:
    """What routing reads. Build with `network_of`."""

    view: ClusterState
    rules_on: RulesOn
    zone: Zone
    resolv_conf: Callable[[Pod], ResolvConf]
    down: frozenset[str] = frozenset()  # nodes that are down (crashed)
    seed: int = 0
    ingress_address: str = ""
    ingress_class: str = ""
    pods_by_ip: Mapping[str, Pod] = attrs.field(factory=dict)
    node_by_ip: Mapping[str, Node] = attrs.field(factory=dict)
    frontends: Mapping[str, ObjectKey] = attrs.field(factory=dict)  # LB and external IPs -> Service
    bridges: Mapping[str, str] = attrs.field(factory=dict)  # node -> its bridge address (podCIDR's first host)
    bridge_nodes: Mapping[str, str] = attrs.field(factory=dict)  # bridge address -> its node (the first by name)
    nodes_in_order: tuple[Node, ...] = ()  # every Node, by name (where a load balancer looks)
    slices_of: Mapping[ObjectKey, tuple[EndpointSlice, ...]] = attrs.field(factory=dict)  # Service -> its slices, by name
    dns_pods: tuple[Pod, ...] = ()  # the cluster DNS server's pods that have an address, by name


def network_of(
    view: ClusterState,
    rules_on: RulesOn,
    zone: Zone,
    resolv_conf: Callable[[Pod], ResolvConf],
    *,
    down: frozenset[str] = frozenset(),
    seed: int = 0,
    ingress_address: str = "",
    ingress_class: str = "",
) -> Network:
    """A `Network` with its lookup indexes built once (pod and node addresses, the
    nodes' bridge addresses, the Services' load-balancer and external addresses), so one
    `route` costs what it follows, not the size of the cluster."""
    pods = {p.status.pod_ip: p for p in list_objects(view, Kind.POD) if isinstance(p, Pod) and p.status.pod_ip and not p.spec.host_network}
    all_nodes = [n for n in list_objects(view, Kind.NODE) if isinstance(n, Node)]
    nodes = {node_ip(n): n for n in all_nodes if node_ip(n)}
    bridges = {n.metadata.name: _bridge_of(n) for n in all_nodes if n.spec.pod_cidr}
    bridge_nodes: dict[str, str] = {}
    for name, bridge in bridges.items():
        bridge_nodes.setdefault(bridge, name)
    slices_of = {key: tuple(slices) for key, slices in slices_by_service(view).items()}
    fronts: dict[str, ObjectKey] = {}
    for svc in list_objects(view, Kind.SERVICE):
        if not isinstance(svc, Service):
            continue
        key = ObjectKey(kind=Kind.SERVICE, namespace=svc.metadata.namespace, name=svc.metadata.name)
        for ip in (*svc.spec.external_ips, *(i.ip for i in svc.status.load_balancer.ingress if i.ip)):
            fronts.setdefault(ip, key)
    return Network(
        view=view,
        rules_on=rules_on,
        zone=zone,
        resolv_conf=resolv_conf,
        down=down,
        seed=seed,
        ingress_address=ingress_address,
        ingress_class=ingress_class,
        pods_by_ip=pods,
        node_by_ip=nodes,
        frontends=fronts,
        bridges=bridges,
        bridge_nodes=bridge_nodes,
        nodes_in_order=tuple(all_nodes),
        slices_of=slices_of,
        dns_pods=dns_servers(view),
    )


@attrs.frozen(kw_only=True)
class Source:
    """Where a connection starts: a pod, a node, or an address."""

    pod: Pod | None = None
    node: Node | None = None
    ip: str = ""


@attrs.frozen(kw_only=True)
class Destination:
    host: str
    port: int
    http: bool = False
    path: str = "/"


@attrs.frozen(kw_only=True)
class Hop:
    node: str | None
    step: str
    detail: str


@attrs.frozen(kw_only=True)
class Backend:
    namespace: str | None
    pod: str | None
    node: str | None
    ip: str
    port: int


@attrs.frozen(kw_only=True)
class Route:
    delivered: bool
    reason: str
    source_ip_seen: str
    backend: Backend | None
    hops: tuple[Hop, ...]
    http_status: int | None = None

    def json(self) -> dict[str, object]:
        doc: dict[str, object] = {
            "delivered": self.delivered,
            "reason": self.reason,
            "source_ip_seen": self.source_ip_seen,
            "backend": None if self.backend is None else attrs.asdict(self.backend),
            "hops": [attrs.asdict(h) for h in self.hops],
        }
        if self.http_status is not None:
            doc["http_status"] = self.http_status
        return doc


class BadRequest(ValueError):
    """A malformed destination (exit 1 in the CLI)."""


def parse_destination(text: str) -> Destination:
    """`HOST:PORT` or `http://HOST[:PORT][/PATH]` (port 80 by default)."""
    if text.startswith("http://"):
        rest = text[len("http://") :]
        hostport, slash, path = rest.partition("/")
        host, colon, port_text = hostport.rpartition(":") if ":" in hostport else (hostport, "", "")
        port = _port(port_text, text) if colon else 80
        if not host:
            raise BadRequest(f"malformed destination {text!r}: no host")
        return Destination(host=host.lower(), port=port, http=True, path="/" + path if slash else "/")
    host, colon, port_text = text.rpartition(":")
    if not colon or not host:
        raise BadRequest(f"malformed destination {text!r}: expected HOST:PORT or http://HOST[:PORT]/PATH")
    return Destination(host=host.lower(), port=_port(port_text, text))


def _port(text: str, whole: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise BadRequest(f"malformed destination {whole!r}: port must be 1-65535")
    return int(text)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


def _hash(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:8], "big")


# --- the source ------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class _From:
    ip: str
    node: str | None
    pod: Pod | None
    outside: bool


def _source(net: Network, src: Source) -> _From:
    if src.pod is not None:
        return _From(ip=src.pod.status.pod_ip, node=src.pod.spec.node_name or None, pod=src.pod, outside=False)
    if src.node is not None:
        return _From(ip=node_ip(src.node), node=src.node.metadata.name, pod=None, outside=False)
    pod = net.pods_by_ip.get(src.ip)
    if pod is not None:
        return _From(ip=src.ip, node=pod.spec.node_name or None, pod=pod, outside=False)
    node = net.node_by_ip.get(src.ip)
    if node is not None:
        return _From(ip=src.ip, node=node.metadata.name, pod=None, outside=False)
    return _From(ip=src.ip, node=None, pod=None, outside=_outside(net.view, src.ip))


def _outside(view: ClusterState, ip: str) -> bool:
    address = ipaddress.ip_address(ip)
    for cidr in (view.config.cluster_cidr, view.config.service_cidr):
        if address in ipaddress.ip_network(cidr, strict=False):
            return False
    return True


def _describe(src: _From) -> str:
    if src.pod is not None:
        return f"pod {src.pod.metadata.namespace}/{src.pod.metadata.name} ({src.ip})"
    if src.node is not None:
        return f"node {src.node} ({src.ip})"
    return f"{'outside client' if src.outside else 'address'} {src.ip}"


# --- the route ---------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class _Walk:
    hops: tuple[Hop, ...] = ()

    def add(self, node: str | None, step: str, detail: str) -> _Walk:
        return _Walk(hops=(*self.hops, Hop(node=node, step=step, detail=detail)))

    def drop(self, reason: str, seen: str = "", http_status: int | None = None) -> Route:
        return Route(delivered=False, reason=reason, source_ip_seen=seen, backend=None, hops=self.hops, http_status=http_status)


def route(
    net: Network,
    src: Source,
    dst: Destination,
    *,
    protocol: Protocol = Protocol.TCP,
    source_port: int = 40000,
    host_header: str = "",
) -> Route:
    """Follow one connection from `src` to `dst` (see the module doc)."""
    origin = _source(net, src)
    walk = _Walk().add(origin.node, "source", _describe(origin))
    if not origin.ip:
        return walk.drop("the source has no IP address")
    if origin.node is not None and origin.node in net.down:
        return walk.drop(f"the source's node {origin.node} is down")
    ip = dst.host
    if not _is_ip(ip):
        resolved = _resolve(net, origin, dst.host)
        walk = walk.add(origin.node, "dns", _dns_detail(resolved))
        if resolved.reply.rcode is not Rcode.NOERROR or not resolved.reply.answers:
            why = resolved.reply.reason or resolved.reply.rcode.value
            return walk.drop(f"{dst.host} does not resolve: {why}")
        a = next((ans.data for ans in resolved.reply.answers if ans.type is RecordType.A), "")
        if not a:
            return walk.drop(f"{dst.host} does not resolve to an address (only {resolved.reply.answers[0].type.value})")
        ip = a
    if dst.http and net.ingress_address and ip == net.ingress_address and dst.port in INGRESS_PORTS:
        return _through_ingress(net, origin, walk, host_header or dst.host, dst.path, protocol, source_port)
    pod = net.pods_by_ip.get(ip)
    if pod is not None:
        if origin.outside:
            return walk.drop(NO_ROUTE)
        walk = walk.add(origin.node, "pod-network", f"to pod IP {ip} directly, no NAT")
        return _deliver(net, origin, walk, RuleBackend(ip=ip, port=dst.port, node=pod.spec.node_name), origin.ip, protocol)
    svc_key = cluster_ip_owner(net.view, ip)
    if svc_key is not None:
        if origin.outside or origin.node is None:
            return walk.drop(NO_ROUTE)
        return _through_rules(net, origin, walk, origin.node, svc_key, Frontend.CLUSTER_IP, ip, dst.port, protocol, source_port)
    node = net.node_by_ip.get(ip)
    if node is not None:
        return _node_port(net, origin, walk, node.metadata.name, ip, dst.port, protocol, source_port)
    svc_key = net.frontends.get(ip)
    if svc_key is not None:
        return _external(net, origin, walk, svc_key, ip, dst.port, protocol, source_port)
    return walk.drop(NO_ROUTE)


def _resolve(net: Network, origin: _From, name: str) -> Lookup:
    """A pod asks through its own resolv.conf; a node or an outside client only a full
    name, of the cluster DNS."""
    if origin.pod is not None:
        conf = net.resolv_conf(origin.pod)
        denied = dns_denied(net.view, net.zone, net.dns_pods, origin.pod, conf)
        if denied:
            return Lookup(query=name, fqdn=name, reply=Reply(rcode=Rcode.SERVFAIL, reason=denied))
        return lookup(net.zone, conf, name, RecordType.A)
    full = name if name.endswith(".") else name + "."
    return lookup(net.zone, ResolvConf(nameservers=(cluster_dns_ip(net.view.config.service_cidr),)), full, RecordType.A)


def dns_servers(view: ClusterState) -> tuple[Pod, ...]:
    """The cluster DNS server's pods that have an address, by name."""
    return tuple(p for p in list_objects(view, Kind.POD, DNS_NAMESPACE) if is_server_pod(p) and isinstance(p, Pod) and p.status.pod_ip)


def dns_denied(view: ClusterState, zone: Zone, servers: tuple[Pod, ...], pod: Pod, conf: ResolvConf) -> str:
    """Why NetworkPolicy stops `pod`'s query to the cluster DNS (its first nameserver the
    kube-dns clusterIP) on 53/UDP at every DNS server pod of `servers`, or "" when one may
    answer (as a real client then times out: "no servers could be reached")."""
    if pod.spec.host_network or not conf.nameservers or not servers:
        return ""
    if zone.cluster_ips.get(conf.nameservers[0]) != (DNS_NAMESPACE, DNS_SERVICE):
        return ""
    reason = ""
    for server in servers:
        out = egress_allowed(view, pod, Peer(ip=server.status.pod_ip, pod=server), 53, Protocol.UDP)
        if not out.allowed:
            reason = out.reason
            continue
        inbound = ingress_allowed(view, server, Peer(ip=pod.status.pod_ip, pod=pod), 53, Protocol.UDP)
        if inbound.allowed:
            return ""
        reason = inbound.reason
    return f"no servers could be reached: the query to {conf.nameservers[0]}:53/UDP is {reason}"


def _dns_detail(found: Lookup) -> str:
    answers = ", ".join(a.data for a in found.reply.answers) or found.reply.rcode.value
    return f"{found.query} -> {found.fqdn} {answers}"


def _find_rule(rules: ServiceRules | None, frontend: Frontend, ip: str, port: int, protocol: Protocol) -> Rule | None:
    if rules is None:
        return None
    for r in rules.rules:
        if r.frontend is frontend and r.port == port and r.protocol is protocol and (r.ip == ip or frontend is Frontend.NODE_PORT):
            return r
    return None


def _pick(net: Network, rule: Rule, client_ip: str, source_port: int) -> RuleBackend:
    where = f"{rule.service.namespace}/{rule.service.name}:{rule.port_name}"
    if rule.affinity_seconds is not None:
        return max(rule.backends, key=lambda b: _hash(net.seed, "affinity", client_ip, where, b.ip, b.port))
    return rule.backends[_hash(net.seed, client_ip, source_port, where) % len(rule.backends)]


def _svc_name(key: ObjectKey) -> str:
    return f"{key.namespace}/{key.name}"


def _apply_rule(
    net: Network,
    origin: _From,
    walk: _Walk,
    node: str,
    rule: Rule | None,
    what: str,
    protocol: Protocol,
    source_port: int,
    seen: Callable[[RuleBackend], str],
) -> Route:
    """What `rule` (the one `node` runs for the connection, or None) does with it; `seen`
    gives the source address the chosen backend sees."""
    if rule is None:
        return walk.drop(f"connection refused: {what} is no Service port")
    if rule.target is not Target.FORWARD:
        walk = walk.add(node, "kube-proxy", f"{what}: {rule.target.value.upper()}")
        return walk.drop(f"service {_svc_name(rule.service)} {rule.comment}")
    backend = _pick(net, rule, origin.ip, source_port)
    affinity = " (ClientIP affinity)" if rule.affinity_seconds is not None else ""
    walk = walk.add(node, "kube-proxy", f"{what} -> {backend.ip}:{backend.port}{affinity} (service {_svc_name(rule.service)})")
    return _deliver(net, origin, walk, backend, seen(backend), protocol)


def _through_rules(
    net: Network, origin: _From, walk: _Walk, node: str, key: ObjectKey, frontend: Frontend, ip: str, port: int,
    protocol: Protocol, source_port: int,
) -> Route:
    """A ClusterIP through the source node's rules: no NAT of the source, but a pod
    reaching itself (hairpin) is seen from its node's bridge address."""
    rule = _find_rule(net.rules_on(node, key), frontend, ip, port, protocol)

    def seen(backend: RuleBackend) -> str:
        return _bridge_ip(net, node) if origin.pod is not None and backend.ip == origin.ip else origin.ip

    return _apply_rule(net, origin, walk, node, rule, f"{ip}:{port}/{protocol.value}", protocol, source_port, seen)


def _bridge_ip(net: Network, node: str) -> str:
    """The node's bridge address: the first host of its podCIDR ("" without one)."""
    return net.bridges.get(node, "")


def _bridge_of(n: Node) -> str:
    return str(next(ipaddress.ip_network(n.spec.pod_cidr, strict=False).hosts()))


def _node_port(
    net: Network, origin: _From, walk: _Walk, node: str, ip: str, port: int, protocol: Protocol, source_port: int
) -> Route:
    key = _node_port_owner(net, port)
    if key is None:
        return walk.drop(f"connection refused: nothing listens on {ip}:{port}/{protocol.value} (no NodePort {port})")
    if node in net.down:
        return walk.drop(f"node {node} is down")
    svc = get(net.view, key)
    local = isinstance(svc, Service) and _external_local(svc)
    walk = walk.add(node, "node-port", f"{ip}:{port} on node {node} (service {_svc_name(key)})")
    rule = _find_rule(net.rules_on(node, key), Frontend.NODE_PORT, "", port, protocol)
    seen = origin.ip if local else ip  # Cluster: SNATed to the node that took the connection
    return _apply_rule(net, origin, walk, node, rule, f"NodePort {port}/{protocol.value}", protocol, source_port, lambda _: seen)


def _node_port_owner(net: Network, port: int) -> ObjectKey | None:
    return node_port_owner(net.view, port)


def _external_local(svc: Service) -> bool:
    return svc.spec.external_traffic_policy is TrafficPolicy.LOCAL


def _external(
    net: Network, origin: _From, walk: _Walk, key: ObjectKey, ip: str, port: int, protocol: Protocol, source_port: int
) -> Route:
    svc = get(net.view, key)
    if not isinstance(svc, Service):
        return walk.drop(NO_ROUTE)
    lb = ip in {i.ip for i in svc.status.load_balancer.ingress}
    frontend = Frontend.LOAD_BALANCER if lb else Frontend.EXTERNAL_IP
    what = f"{ip}:{port}/{protocol.value}"
    local = _external_local(svc)
    if not origin.outside and origin.node is not None:
        # in-cluster traffic to an external address: the source node's rules short-circuit it
        seen_inside = origin.ip if local else _node_address(net, origin.node)
        rule = _find_rule(net.rules_on(origin.node, key), frontend, ip, port, protocol)
        return _apply_rule(net, origin, walk, origin.node, rule, what, protocol, source_port, lambda _: seen_inside)
    nodes = _lb_nodes(net, key, local)
    if not nodes:
        why = "no node has a local endpoint (health checks fail)" if local else "no Ready node"
        return walk.add(None, "load-balancer", f"{what} (service {_svc_name(key)})").drop(f"the load balancer has no backend node: {why}")
    node = nodes[_hash(net.seed, "lb", origin.ip, source_port, ip) % len(nodes)]
    walk = walk.add(None, "load-balancer" if lb else "external-ip", f"{what} -> node {node} (service {_svc_name(key)})")
    rule = _find_rule(net.rules_on(node, key), frontend, ip, port, protocol)
    seen = origin.ip if local else _node_address(net, node)
    return _apply_rule(net, origin, walk, node, rule, what, protocol, source_port, lambda _: seen)


def _node_address(net: Network, node: str) -> str:
    n = get(net.view, ObjectKey(kind=Kind.NODE, namespace="", name=node))
    return node_ip(n) if isinstance(n, Node) else ""


def _lb_nodes(net: Network, key: ObjectKey, local: bool) -> list[str]:
    """The nodes a cloud load balancer sends to: Ready and up; for Local, those whose
    health check answers 200."""
    out = []
    for n in net.nodes_in_order:
        if n.metadata.name in net.down or not _ready(n):
            continue
        if local:
            rules = net.rules_on(n.metadata.name, key)
            if rules is None or rules.health_check is None or rules.health_check.status_code != 200:
                continue
        out.append(n.metadata.name)
    return out


def _ready(n: Node) -> bool:
    return node_ready(n)


# --- ingress -------------------------------------------------------------------------------------


def _through_ingress(
    net: Network, origin: _From, walk: _Walk, host: str, path: str, protocol: Protocol, source_port: int
) -> Route:
    ingresses: tuple[Ingress, ...] = served_ingresses(net.view, net.ingress_class)
    found = route_http(ingresses, host, path)
    if found.backend is None or found.backend.service is None:
        walk = walk.add(None, "ingress", f"Host {host} path {path}: {found.http_status}")
        return walk.drop(found.reason, http_status=found.http_status)
    backend = found.backend.service
    svc_key = ObjectKey(kind=Kind.SERVICE, namespace=found.namespace, name=backend.name)
    walk = walk.add(
        None,
        "ingress",
        f"Host {host} path {path} -> service {found.namespace}/{backend.name} (Ingress {found.namespace}/{found.ingress}, {found.path_type.value if found.path_type else 'default backend'} {found.path or ''})".rstrip(),
    )
    svc = get(net.view, svc_key)
    if not isinstance(svc, Service):
        return walk.drop(f"service {_svc_name(svc_key)} not found", http_status=503)
    sp = next(
        (p for p in svc.spec.ports if (backend.port.name and p.name == backend.port.name) or (backend.port.number and p.port == backend.port.number)),
        None,
    )
    if sp is None:
        return walk.drop(f"service {_svc_name(svc_key)} has no port {backend.port.name or backend.port.number}", http_status=503)
    ready = _ready_endpoints(net.slices_of.get(svc_key, ()), sp.name, sp.protocol)
    if not ready:
        return walk.drop(f"service {_svc_name(svc_key)} has no ready endpoints", http_status=503)
    chosen = ready[_hash(net.seed, origin.ip, source_port, _svc_name(svc_key), sp.name) % len(ready)]
    walk = walk.add(None, "ingress-proxy", f"-> {chosen.ip}:{chosen.port}")
    result = _deliver(net, origin, walk, chosen, net.ingress_address, protocol, from_ingress=True)
    return attrs.evolve(result, http_status=200 if result.delivered else 502)


def _ready_endpoints(slices: tuple[EndpointSlice, ...], port_name: str, protocol: Protocol) -> list[RuleBackend]:
    """The ready endpoints of one Service port across its slices, in address order."""
    out: list[RuleBackend] = []
    for es in slices:
        port = next((p.port for p in es.ports if (p.name or "") == port_name and (p.protocol or Protocol.TCP) is protocol), None)
        if port is None:
            continue
        for e in es.endpoints:
            if e.addresses and e.conditions.ready is not False:
                out.append(RuleBackend(ip=e.addresses[0], port=port, node=e.node_name or ""))
    return sorted(set(out))


# --- the backend --------------------------------------------------------------------------------


def _serves(pod: Pod, port: int, protocol: Protocol) -> bool:
    declared = [p for c in (*pod.spec.containers, *pod.spec.init_containers) for p in c.ports]
    return not declared or any(p.container_port == port and p.protocol is protocol for p in declared)


def _deliver(
    net: Network, origin: _From, walk: _Walk, backend: RuleBackend, seen: str, protocol: Protocol, *, from_ingress: bool = False
) -> Route:
    pod = net.pods_by_ip.get(backend.ip)
    if pod is None:
        if _outside(net.view, backend.ip) and backend.ip not in net.node_by_ip:
            if origin.pod is not None and not from_ingress:  # the source pod's egress rules (ipBlock)
                verdict = egress_allowed(net.view, origin.pod, Peer(ip=backend.ip), backend.port, protocol)
                if not verdict.allowed:
                    return walk.add(origin.node, "network-policy", verdict.reason).drop(verdict.reason, seen)
            walk = walk.add(None, "deliver", f"to {backend.ip}:{backend.port} outside the cluster")
            target = Backend(namespace=None, pod=None, node=None, ip=backend.ip, port=backend.port)
            return Route(delivered=True, reason="", source_ip_seen=seen, backend=target, hops=walk.hops)
        return walk.drop(f"no pod has the address {backend.ip}", seen)
    name = f"{pod.metadata.namespace}/{pod.metadata.name}"
    node = pod.spec.node_name
    if node in net.down:
        return walk.drop(f"the backend pod {name}'s node {node} is down", seen)
    if pod.status.phase is not PodPhase.RUNNING:
        phase = pod.status.phase.value if pod.status.phase else "Pending"
        return walk.drop(f"the backend pod {name} is not running ({phase})", seen)
    if not _serves(pod, backend.port, protocol):
        return walk.drop(f"port {backend.port}/{protocol.value} is not served by any container of pod {name}", seen)
    src_peer = Peer(ip=origin.ip, pod=origin.pod, node="" if origin.pod is not None else origin.node or "")
    if from_ingress:
        src_peer = Peer(ip=net.ingress_address)
    seen_peer = Peer(ip=seen, pod=origin.pod if seen == origin.ip else None, node=_node_of_address(net, seen))
    dst_peer = Peer(ip=backend.ip, pod=pod, node="")
    if src_peer.pod is not None:  # the source end: the pod's egress, whatever SNAT does later
        verdict = egress_allowed(net.view, src_peer.pod, dst_peer, backend.port, protocol)
        if not verdict.allowed:
            return walk.add(origin.node, "network-policy", verdict.reason).drop(verdict.reason, seen)
    # the destination end judges the address it sees (a SNATed connection is the node's)
    verdict = ingress_allowed(net.view, pod, seen_peer, backend.port, protocol)
    if not verdict.allowed:
        return walk.add(node, "network-policy", verdict.reason).drop(verdict.reason, seen)
    walk = walk.add(node, "deliver", f"to pod {name} ({backend.ip}:{backend.port}) on {node}, seen from {seen}")
    target = Backend(namespace=pod.metadata.namespace, pod=pod.metadata.name, node=node, ip=backend.ip, port=backend.port)
    return Route(delivered=True, reason="", source_ip_seen=seen, backend=target, hops=walk.hops)


def _node_of_address(net: Network, ip: str) -> str:
    node = net.node_by_ip.get(ip)
    if node is not None:
        return node.metadata.name
    return net.bridge_nodes.get(ip, "")
