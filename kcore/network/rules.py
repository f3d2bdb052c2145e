"""kube-proxy's rules as values: what each Service's ports forward to, computed once and
shared by every node.

Owns the rule values (`Backend`, `Frontend`, `Target`, `Rule`, `HealthCheck`,
`ServiceRules`), the table every node programs (`RuleTable`: one shared map Service ->
`ServiceRules` plus per-node overrides), a node's view of it (`NodeRules`) and the pure
functions that compute them: `service_entry` (one Service and its EndpointSlices),
`with_service` / `with_node` / `without_node` (one change to a table), `compute_table`
(every Service of a view, from scratch), `table_rules` (one node's rules), `render_rules`
(one rule a line, as `iptables-save` lists a table) and `rules_json` (the same as data).

Rules (upstream's syncProxyRules, CategorizeEndpoints and the change trackers):
- A Service gets rules unless it is ExternalName or headless or has no ClusterIP yet
  (ShouldSkipService). Each of its ports gets a ClusterIP:port/protocol rule, a NodePort
  rule when it has a nodePort (on every address of the node: `ip` is "", and a node's
  view shows its InternalIP), one rule per `externalIPs` entry and one per
  `status.loadBalancer.ingress[].ip` (not for ingress points of ipMode Proxy).
- A port's endpoints are those of every slice of the Service (the
  `kubernetes.io/service-name` label, IPv4 slices only) whose port has the same name
  and protocol, on that slice's port number, so a named targetPort may resolve to
  different numbers in different slices. The first address of each endpoint counts;
  an ip:port listed twice is kept once (the slice first by name wins).
- Usable endpoints are the Ready ones; if none is Ready anywhere, the serving and
  terminating ones (independently for the cluster-wide and the node-local set). nil
  `ready` and nil `serving` read as true, nil `terminating` as false.
- No usable endpoint anywhere: every rule of the port is REJECT "has no endpoints". A
  Local policy (internalTrafficPolicy for the ClusterIP rule, externalTrafficPolicy for
  the NodePort, external and load-balancer rules) keeps only the endpoints on the node
  itself, and a node without one DROPs that traffic ("has no local endpoints").
- Session affinity ClientIP is the rule's `affinity_seconds` (default 10800).
- healthCheckNodePort (LoadBalancer with externalTrafficPolicy Local): the node answers
  200 with its count of local Ready endpoints, 503 when it has none.

Sharing: a rule depends on the node only through a Local policy, so the table holds one
`ServiceRules` per Service for every node (for a Local-policy Service, the variant of a
node with no local endpoint) and an override only for a node that hosts an endpoint of
a Local-policy Service. A node's table is the shared map with its overrides laid over it.
One EndpointSlice change therefore rewrites one Service's entry and the overrides of the
nodes hosting its endpoints, whatever the number of nodes.

Must not know: the component, the informer, the apiserver, time.

Mirrors pkg/proxy/iptables/proxier.go (syncProxyRules), pkg/proxy/topology.go
(CategorizeEndpoints), pkg/proxy/endpointslicecache.go, pkg/proxy/servicechangetracker.go
and pkg/proxy/healthcheck (service_health.go).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Final

import attrs
from pyrsistent import pmap, pset
from pyrsistent.typing import PMap, PSet

from kcore.api.core import (
    DEFAULT_CLIENT_IP_AFFINITY_SECONDS,
    LoadBalancerIPMode,
    Node,
    Service,
    ServiceAffinity,
    ServicePort,
    ServiceType,
    TrafficPolicy,
)
from kcore.api.discovery import LABEL_SERVICE_NAME, AddressType, EndpointSlice
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ConditionStatus
from kcore.api.pod import Protocol
from kcore.state import ClusterState, list_objects

NO_ENDPOINTS: Final = "has no endpoints"
NO_LOCAL_ENDPOINTS: Final = "has no local endpoints"
INTERNAL_IP: Final = "InternalIP"


class Frontend(enum.Enum):
    """Where traffic enters: the order a Service's rules are listed in."""

    CLUSTER_IP = "cluster-ip"
    NODE_PORT = "node-port"
    EXTERNAL_IP = "external-ip"
    LOAD_BALANCER = "load-balancer"


_FRONTEND_ORDER: Final = {f: i for i, f in enumerate(Frontend)}


class Target(enum.Enum):
    """What a rule does: DNAT to a backend, or REJECT / DROP with upstream's comment."""

    FORWARD = "forward"
    REJECT = "reject"
    DROP = "drop"


@attrs.frozen(kw_only=True, order=True)
class Backend:
    """One endpoint of one port: where forwarded traffic goes, and the node it is on."""

    ip: str
    port: int
    node: str = ""


@attrs.frozen(kw_only=True)
class Rule:
    """One frontend of one Service port and what it does with the traffic."""

    service: ObjectKey
    port_name: str
    frontend: Frontend
    ip: str  # "" on a NodePort rule: every address of the node
    port: int
    protocol: Protocol
    target: Target
    backends: tuple[Backend, ...] = ()
    affinity_seconds: int | None = None  # ClientIP session affinity

    @property
    def comment(self) -> str:
        """Upstream's comment on a REJECT or DROP rule ("" when it forwards)."""
        match self.target:
            case Target.FORWARD:
                return ""
            case Target.REJECT:
                return NO_ENDPOINTS
            case Target.DROP:
                return NO_LOCAL_ENDPOINTS

    def sort_key(self) -> tuple[str, int, str, int, str]:
        return (self.port_name, _FRONTEND_ORDER[self.frontend], self.ip, self.port, self.protocol.value)


@attrs.frozen(kw_only=True)
class HealthCheck:
    """healthCheckNodePort: the node's answer for one Service (200 with local endpoints)."""

    service: ObjectKey
    port: int
    local_endpoints: int

    @property
    def status_code(self) -> int:
        return 200 if self.local_endpoints > 0 else 503


@attrs.frozen(kw_only=True)
class ServiceRules:
    """Every rule of one Service (sorted) and its health check, as one node programs them."""

    service: ObjectKey
    rules: tuple[Rule, ...] = ()
    health_check: HealthCheck | None = None


@attrs.frozen(kw_only=True)
class RuleTable:
    """What every node programs: `services` shared by all, `overrides[node]` laid over it
    for the Local-policy Services whose endpoints that node hosts, and each node's
    InternalIP ("" when it has none). `override_nodes[svc]` names the nodes with an
    override of `svc`, so replacing a Service touches only those."""

    services: PMap[ObjectKey, ServiceRules] = pmap()
    overrides: PMap[str, PMap[ObjectKey, ServiceRules]] = pmap()
    override_nodes: PMap[ObjectKey, PSet[str]] = pmap()
    node_ips: PMap[str, str] = pmap()


EMPTY_TABLE: Final = RuleTable()


@attrs.frozen(kw_only=True)
class NodeRules:
    """One node's programmed rules, in listing order; `frozen` when the node is not Ready
    and keeps the rules it had."""

    node: str
    address: str
    frozen: bool = False
    rules: tuple[Rule, ...] = ()
    health_checks: tuple[HealthCheck, ...] = ()


# --- endpoints ----------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class _Endpoint:
    backend: Backend
    ready: bool
    serving_terminating: bool


def _port_endpoints(slices: Iterable[EndpointSlice], name: str, protocol: Protocol) -> tuple[_Endpoint, ...]:
    """The endpoints of one Service port across `slices` (sorted by name), deduplicated
    by ip:port, in ip:port order."""
    seen: dict[tuple[str, int], _Endpoint] = {}
    for sl in sorted(slices, key=lambda s: s.metadata.name):
        if sl.address_type is not AddressType.IPV4:
            continue
        for p in sl.ports:
            if (p.name or "") != name or (p.protocol or Protocol.TCP) is not protocol or not p.port:
                continue
            for ep in sl.endpoints:
                if not ep.addresses or (ep.addresses[0], p.port) in seen:
                    continue
                c = ep.conditions
                ready = c.ready is not False
                serving = c.serving is not False
                terminating = c.terminating is True
                backend = Backend(ip=ep.addresses[0], port=p.port, node=ep.node_name or "")
                seen[(backend.ip, backend.port)] = _Endpoint(
                    backend=backend, ready=ready, serving_terminating=serving and terminating
                )
    return tuple(seen[k] for k in sorted(seen))


def _usable(endpoints: Iterable[_Endpoint]) -> tuple[Backend, ...]:
    """Ready endpoints; if none, the serving and terminating ones (CategorizeEndpoints)."""
    eps = tuple(endpoints)
    ready = tuple(e.backend for e in eps if e.ready)
    return ready if ready else tuple(e.backend for e in eps if e.serving_terminating)


# --- one Service --------------------------------------------------------------------------


def skipped(svc: Service) -> bool:
    """ShouldSkipService: ExternalName, headless, or no ClusterIP allocated yet."""
    return svc.spec.type is ServiceType.EXTERNAL_NAME or svc.spec.cluster_ip in ("", "None")


def _affinity(svc: Service) -> int | None:
    if svc.spec.session_affinity is not ServiceAffinity.CLIENT_IP:
        return None
    cfg = svc.spec.session_affinity_config
    if cfg is None or cfg.client_ip is None or cfg.client_ip.timeout_seconds is None:
        return DEFAULT_CLIENT_IP_AFFINITY_SECONDS
    return cfg.client_ip.timeout_seconds


def _external_frontends(svc: Service, port: ServicePort) -> tuple[tuple[Frontend, str, int], ...]:
    out: list[tuple[Frontend, str, int]] = []
    if port.node_port:
        out.append((Frontend.NODE_PORT, "", port.node_port))
    out.extend((Frontend.EXTERNAL_IP, ip, port.port) for ip in svc.spec.external_ips)
    if svc.spec.type is ServiceType.LOAD_BALANCER:
        out.extend(
            (Frontend.LOAD_BALANCER, ing.ip, port.port)
            for ing in svc.status.load_balancer.ingress
            if ing.ip and ing.ip_mode is not LoadBalancerIPMode.PROXY
        )
    return tuple(out)


def _rules(svc: Service, key: ObjectKey, ports: Mapping[int, tuple[_Endpoint, ...]], node: str | None) -> ServiceRules:
    """The Service's rules as node `node` programs them (None: a node with no endpoint)."""
    internal_local = svc.spec.internal_traffic_policy is TrafficPolicy.LOCAL
    external_local = svc.spec.external_traffic_policy is TrafficPolicy.LOCAL
    affinity = _affinity(svc)
    rules: list[Rule] = []
    local_ips: set[str] = set()
    for i, port in enumerate(svc.spec.ports):
        eps = ports[i]
        cluster = _usable(eps)
        local = _usable(e for e in eps if node is not None and e.backend.node == node)
        local_ips.update(e.backend.ip for e in eps if e.ready and node is not None and e.backend.node == node)
        has_any = bool(cluster)
        fronts = (
            (Frontend.CLUSTER_IP, svc.spec.cluster_ip, port.port, internal_local),
            *((f, ip, p, external_local) for f, ip, p in _external_frontends(svc, port)),
        )
        for frontend, ip, number, is_local in fronts:
            backends = local if is_local else cluster
            target = Target.FORWARD if backends else Target.DROP if has_any else Target.REJECT
            rules.append(
                Rule(
                    service=key, port_name=port.name, frontend=frontend, ip=ip, port=number,
                    protocol=port.protocol, target=target, backends=backends, affinity_seconds=affinity,
                )
            )
    health = None
    if external_local and svc.spec.health_check_node_port:
        health = HealthCheck(service=key, port=svc.spec.health_check_node_port, local_endpoints=len(local_ips))
    return ServiceRules(service=key, rules=tuple(sorted(rules, key=Rule.sort_key)), health_check=health)


def service_entry(
    svc: Service, slices: Iterable[EndpointSlice]
) -> tuple[ServiceRules | None, PMap[str, ServiceRules]]:
    """One Service's shared rules (None when it gets none) and its per-node overrides:
    one for each node hosting a usable endpoint when a traffic policy is Local."""
    if skipped(svc):
        return None, pmap()
    key = ObjectKey(kind=Kind.SERVICE, namespace=svc.metadata.namespace, name=svc.metadata.name)
    slices = tuple(slices)
    ports = {i: _port_endpoints(slices, p.name, p.protocol) for i, p in enumerate(svc.spec.ports)}
    shared = _rules(svc, key, ports, None)
    local = TrafficPolicy.LOCAL in (svc.spec.internal_traffic_policy, svc.spec.external_traffic_policy)
    if not local:
        return shared, pmap()
    hosts = sorted({e.backend.node for eps in ports.values() for e in eps if e.backend.node and (e.ready or e.serving_terminating)})
    overrides = {n: _rules(svc, key, ports, n) for n in hosts}
    return shared, pmap({n: r for n, r in overrides.items() if r != shared})


# --- the table ----------------------------------------------------------------------------


def with_service(
    table: RuleTable, key: ObjectKey, shared: ServiceRules | None, overrides: Mapping[str, ServiceRules]
) -> RuleTable:
    """`table` with Service `key`'s entry replaced (None: removed) and its overrides
    exactly `overrides`; touches only the nodes with an old or a new override."""
    services = table.services.discard(key) if shared is None else table.services.set(key, shared)
    old_nodes = table.override_nodes.get(key, pset())
    all_overrides = table.overrides
    for n in old_nodes:
        if n not in overrides:
            mine = all_overrides[n].discard(key)
            all_overrides = all_overrides.set(n, mine) if mine else all_overrides.discard(n)
    for n, r in overrides.items():
        all_overrides = all_overrides.set(n, all_overrides.get(n, pmap()).set(key, r))
    new_nodes = pset(overrides)
    override_nodes = table.override_nodes.set(key, new_nodes) if new_nodes else table.override_nodes.discard(key)
    return attrs.evolve(table, services=services, overrides=all_overrides, override_nodes=override_nodes)


def node_ip(node: Node) -> str:
    """The node's first InternalIP ("" without one)."""
    return next((a.address for a in node.status.addresses if a.type == INTERNAL_IP), "")


def node_ready(node: Node) -> bool:
    """The node's Ready condition is True."""
    return any(c.type == "Ready" and c.status is ConditionStatus.TRUE for c in node.status.conditions)


def with_node(table: RuleTable, name: str, ip: str) -> RuleTable:
    return table if table.node_ips.get(name) == ip else attrs.evolve(table, node_ips=table.node_ips.set(name, ip))


def without_node(table: RuleTable, name: str) -> RuleTable:
    return attrs.evolve(table, node_ips=table.node_ips.discard(name)) if name in table.node_ips else table


def service_of_slice(sl: EndpointSlice) -> ObjectKey | None:
    """The Service an EndpointSlice belongs to (its `kubernetes.io/service-name` label)."""
    name = sl.metadata.labels.get(LABEL_SERVICE_NAME, "")
    return ObjectKey(kind=Kind.SERVICE, namespace=sl.metadata.namespace, name=name) if name else None


def slices_by_service(view: ClusterState) -> dict[ObjectKey, list[EndpointSlice]]:
    """Every EndpointSlice of `view` under its Service, in (namespace, name) order."""
    out: dict[ObjectKey, list[EndpointSlice]] = {}
    for sl in list_objects(view, Kind.ENDPOINT_SLICE):
        assert isinstance(sl, EndpointSlice)
        svc = service_of_slice(sl)
        if svc is not None:
            out.setdefault(svc, []).append(sl)
    return out


def compute_table(view: ClusterState) -> RuleTable:
    """The table of every Service and Node of `view`, from scratch."""
    by_service = slices_by_service(view)
    table = EMPTY_TABLE
    for svc in list_objects(view, Kind.SERVICE):
        assert isinstance(svc, Service)
        key = ObjectKey(kind=Kind.SERVICE, namespace=svc.metadata.namespace, name=svc.metadata.name)
        shared, overrides = service_entry(svc, by_service.get(key, ()))
        if shared is not None:
            table = with_service(table, key, shared, overrides)
    ips = {n.metadata.name: node_ip(n) for n in list_objects(view, Kind.NODE) if isinstance(n, Node)}
    return attrs.evolve(table, node_ips=pmap(ips))


def service_rules_on(table: RuleTable, node: str, key: ObjectKey) -> ServiceRules | None:
    """Service `key`'s rules as `node` programs them (its override, else the shared ones)."""
    mine = table.overrides.get(node)
    if mine is not None and key in mine:
        return mine[key]
    return table.services.get(key)


def table_rules(table: RuleTable, node: str, *, frozen: bool = False) -> NodeRules:
    """Node `node`'s view of `table`: the shared rules with its overrides laid over them;
    NodePort rules show its InternalIP ("" when the table has none for it)."""
    address = table.node_ips.get(node, "")
    mine = table.overrides.get(node, pmap())
    rules: list[Rule] = []
    checks: list[HealthCheck] = []
    for key in sorted(table.services):
        entry = mine.get(key) or table.services[key]
        rules.extend(attrs.evolve(r, ip=address) if r.frontend is Frontend.NODE_PORT else r for r in entry.rules)
        if entry.health_check is not None:
            checks.append(entry.health_check)
    return NodeRules(node=node, address=address, frozen=frozen, rules=tuple(rules), health_checks=tuple(checks))


# --- rendering ----------------------------------------------------------------------------


def _service_port(rule: Rule) -> str:
    base = f"{rule.service.namespace}/{rule.service.name}"
    return f"{base}:{rule.port_name}" if rule.port_name else base


def render_rule(rule: Rule) -> str:
    """One rule on one line: `<frontend> <ip>:<port>/<proto> <ns>/<svc>[:<port>] -> ...`."""
    head = f"{rule.frontend.value} {rule.ip or '*'}:{rule.port}/{rule.protocol.value} {_service_port(rule)}"
    if rule.target is not Target.FORWARD:
        return f'{head} {rule.target.value.upper()} "{rule.comment}"'
    line = f"{head} -> " + " ".join(f"{b.ip}:{b.port}" for b in rule.backends)
    if rule.affinity_seconds is not None:
        line += f" affinity=ClientIP/{rule.affinity_seconds}s"
    return line


def render_rules(rules: NodeRules) -> list[str]:
    """A node's table, one rule a line, in the table's order, then its health checks; a
    first comment line names the node (and says when its table is frozen)."""
    state = " (not Ready: frozen at its last rules)" if rules.frozen else ""
    lines = [f"# node {rules.node} {rules.address or '-'}{state}"]
    lines.extend(render_rule(r) for r in rules.rules)
    lines.extend(
        f"health-check {rules.address or '*'}:{h.port}/TCP {h.service.namespace}/{h.service.name} "
        f"local-endpoints={h.local_endpoints} -> {h.status_code}"
        for h in rules.health_checks
    )
    return lines


JsonValue = str | int | bool | None | list["JsonValue"] | dict[str, "JsonValue"]


def _rule_json(rule: Rule) -> dict[str, JsonValue]:
    return {
        "service": f"{rule.service.namespace}/{rule.service.name}",
        "portName": rule.port_name,
        "frontend": rule.frontend.value,
        "ip": rule.ip,
        "port": rule.port,
        "protocol": rule.protocol.value,
        "target": rule.target.value,
        "comment": rule.comment,
        "backends": [{"ip": b.ip, "port": b.port, "node": b.node} for b in rule.backends],
        "sessionAffinitySeconds": rule.affinity_seconds,
    }


def rules_json(rules: NodeRules) -> dict[str, JsonValue]:
    """A node's table as data (the `-o json` form), in the same order as `render_rules`."""
    return {
        "node": rules.node,
        "address": rules.address,
        "frozen": rules.frozen,
        "rules": [_rule_json(r) for r in rules.rules],
        "healthChecks": [
            {"service": f"{h.service.namespace}/{h.service.name}", "port": h.port,
             "localEndpoints": h.local_endpoints, "statusCode": h.status_code}
            for h in rules.health_checks
        ],
    }
