"""NetworkPolicy over the WHOLE cluster, under faults and rolling updates: a denied flow is
never delivered and an allowed one always is, judged by an oracle written here from the
NetworkPolicy page of kubernetes.io (it does not call `kcore.network.policy`).

`NetPol` is the whole-cluster machine of properties/test_network_props.py (every rule and
law of it: Deployments, StatefulSets, Services, rolls, scaling, pod deletion, container
kills, node crashes and partitions, time) over three namespaces: `default`, `ns-a`
(team=x) and `ns-b` (team=y). It adds workloads whose pods carry a `role` and serve two
named ports (`web` 8080, which a roll may move to 9090, and `admin` 7070), relabels pods
and namespaces, and creates, replaces and deletes NetworkPolicies drawn from
`properties.strategies.network_policy_specs`: pod and namespace selectors (matchLabels
and every expression operator, empty = all), both together, ipBlocks with `except`, ports
by number, range (`endPort`), name and protocol, policyTypes Ingress/Egress or unset,
empty rule lists (default deny).

It also runs hostNetwork pods (with a role, in ns-a and ns-b) on chosen nodes.

Checked after every rule, with `kcore.network.route.route` over the cluster's network:
- every ordered pair of Running pods, on ports 8080, 9090 and 7070 to the pod's IP:
  delivered exactly when neither node is down, the destination serves the port, the
  source's egress allows it and the destination's ingress allows it;
- every Running pod to every ClusterIP Service: whatever backend the source node's
  kube-proxy picks, delivered exactly when that pod could be reached directly (the
  policies see the backend pod and its target port; a pod reaching itself through its
  Service is seen from its node's bridge address);
- every node, and every Running hostNetwork pod, to every Running pod on 8080: never
  from a node that is down, else the destination's ingress with the node's address (an
  ipBlock peer can match it), always allowed from the pod's own node.
Connections go to addresses, not names, and not through NodePorts: the DNS step of a
route asks no policy, and a SNATed connection's ingress is also judged by its source pod
(both differ from the NetworkPolicy page; they are the routing model's to change).

The oracle's semantics (kubernetes.io/docs/concepts/services-networking/network-policies):
a pod is isolated for a direction when a policy of its namespace selects it and lists the
direction in policyTypes (unset: Ingress, plus Egress when the policy has egress rules);
an isolated pod admits a connection when some rule of some selecting policy matches the
peer (no peers: all) and the port (no ports: all); a podSelector peer picks pods of the
policy's namespace, a namespaceSelector peer pods of the namespaces it picks (every
namespace carries kubernetes.io/metadata.name), both together the pods picked in those
namespaces, an ipBlock the addresses in cidr and in no except; a named port is the
destination pod's container port of that name; a pod and its own node always talk, and
a pod cannot block access to itself. NetworkPolicy and hostNetwork pods: of the two
behaviours the page allows, the one "most common": a hostNetwork pod is ignored by pod
and namespace selectors (so no policy isolates it) and its traffic is its node's.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import ClassVar, Final

import attrs
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, consumes, invariant, rule
from pyrsistent import pmap

from kcore.api.core import Namespace, Node, Service
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ObjectMeta
from kcore.api.networking import (
    NetworkPolicy,
    NetworkPolicyPeer,
    NetworkPolicyPort,
    NetworkPolicySpec,
    PolicyType,
)
from kcore.api.pod import (
    Container,
    ContainerPort,
    LabelSelector,
    LabelSelectorOperator,
    Pod,
    PodPhase,
    PodSpec,
    Protocol,
)
from kcore.cli.net_route import network_from
from kcore.component.requests import Create, Delete, Update
from kcore.driver.cluster import Cluster
from kcore.network.route import Destination, Route, Source, route
from kcore.network.route import Network as RouteNetwork
from kcore.network.rules import node_ip
from kcore.state import get, list_objects
from properties.strategies import network_policy_specs
from properties.test_network_props import (
    NODES,
    App,
    Network,
    base_cluster,
    chosen_backend,
    deployment,
    machine_settings,
    service,
)
from tests.builders import a_namespace

TEAMS: Final = {"ns-a": "x", "ns-b": "y"}
ROLES: Final = ("db", "web")
PORTS: Final = (8080, 9090, 7070)
ADMIN: Final = ContainerPort(container_port=7070, name="admin")
BLOCKS: Final = (
    ("10.244.0.0/16", ()),  # every pod
    ("10.244.0.0/16", ("10.244.1.0/24",)),  # every pod but node-2's
    ("10.244.2.0/24", ()),  # node-3's pods
    ("172.18.0.0/16", ()),  # the nodes' addresses
    ("0.0.0.0/0", ("10.244.0.0/16",)),  # everything but pods
)
SPECS: Final = network_policy_specs(
    pod_keys={"role": ROLES},
    namespace_keys={"team": ("x", "y"), "kubernetes.io/metadata.name": ("default", "ns-a", "ns-b")},
    blocks=BLOCKS,
    numbers=(7070, 8080, 9090),
    names=("web", "admin", "metrics"),
)
NAME_LABEL: Final = "kubernetes.io/metadata.name"
_BASES: dict[int, Cluster] = {}


def netpol_cluster(seed: int) -> Cluster:
    """The whole-cluster machine's cluster with the namespaces ns-a and ns-b."""
    if seed not in _BASES:
        c = base_cluster(seed)
        for ns, team in sorted(TEAMS.items()):
            assert c.request(Create(obj=a_namespace(ns, labels={"team": team}))).ok
        c.settle()
        _BASES[seed] = c
    return _BASES[seed].fork()


# --- the oracle ------------------------------------------------------------------------------


def selector_matches(selector: LabelSelector, labels: Mapping[str, str]) -> bool:
    """A label selector: every matchLabels pair and every expression (an empty one
    matches everything)."""
    if any(labels.get(k) != v for k, v in selector.match_labels.items()):
        return False
    for e in selector.match_expressions:
        has = e.key in labels
        match e.operator:
            case LabelSelectorOperator.IN:
                ok = has and labels[e.key] in e.values
            case LabelSelectorOperator.NOT_IN:
                ok = not has or labels[e.key] not in e.values
            case LabelSelectorOperator.EXISTS:
                ok = has
            case LabelSelectorOperator.DOES_NOT_EXIST:
                ok = not has
        if not ok:
            return False
    return True


@attrs.frozen(kw_only=True)
class End:
    """One end of a connection as the other end sees it: an address, and the pod or the
    node behind it."""

    ip: str
    pod: Pod | None = None
    node: str = ""


@attrs.frozen(kw_only=True)
class World:
    """What the oracle reads: the policies as they were written, the namespaces' labels."""

    policies: Mapping[str, tuple[tuple[str, NetworkPolicySpec], ...]]  # namespace -> (name, spec)
    namespace_labels: Mapping[str, Mapping[str, str]]

    def types(self, spec: NetworkPolicySpec) -> set[PolicyType]:
        if spec.policy_types:
            return set(spec.policy_types)
        return {PolicyType.INGRESS, *((PolicyType.EGRESS,) if spec.egress else ())}

    def selecting(self, pod: Pod, direction: PolicyType) -> list[NetworkPolicySpec]:
        if pod.spec.host_network:
            return []
        return [
            spec for _, spec in self.policies.get(pod.metadata.namespace, ())
            if direction in self.types(spec) and selector_matches(spec.pod_selector, pod.metadata.labels)
        ]

    def peer_matches(self, policy_ns: str, peer: NetworkPolicyPeer, other: End) -> bool:
        if peer.ip_block is not None:
            address = ipaddress.ip_address(other.ip)
            return address in ipaddress.ip_network(peer.ip_block.cidr) and not any(
                address in ipaddress.ip_network(e) for e in peer.ip_block.except_
            )
        if other.pod is None or other.pod.spec.host_network:
            return False
        ns = other.pod.metadata.namespace
        if peer.namespace_selector is None:
            ns_ok = ns == policy_ns
        else:
            ns_ok = selector_matches(peer.namespace_selector, {**self.namespace_labels.get(ns, {}), NAME_LABEL: ns})
        return ns_ok and (peer.pod_selector is None or selector_matches(peer.pod_selector, other.pod.metadata.labels))

    def allows(self, pod: Pod, direction: PolicyType, other: End, dst: Pod | None, port: int) -> bool:
        """Whether `pod`, isolated or not for `direction`, admits a TCP connection with
        `other` on `port` (`dst`: the destination pod, for named ports)."""
        if other.pod is None and other.node and other.node == pod.spec.node_name:
            return True
        if other.pod is not None and other.pod.metadata.uid == pod.metadata.uid:
            return True  # a pod cannot block access to itself
        policies = self.selecting(pod, direction)
        if not policies:
            return True
        for spec in policies:
            rules = (
                [(r.from_, r.ports) for r in spec.ingress] if direction is PolicyType.INGRESS
                else [(r.to, r.ports) for r in spec.egress]
            )
            for peers, ports in rules:
                ns = pod.metadata.namespace
                if (not peers or any(self.peer_matches(ns, p, other) for p in peers)) and port_matches(ports, dst, port):
                    return True
        return False


def port_matches(ports: Iterable[NetworkPolicyPort], dst: Pod | None, port: int) -> bool:
    listed = tuple(ports)
    if not listed:
        return True
    for p in listed:
        if (p.protocol or Protocol.TCP) is not Protocol.TCP:
            continue
        if p.port is None:
            return True
        if isinstance(p.port, int):
            if p.port <= port <= (p.end_port if p.end_port is not None else p.port):
                return True
        elif dst is not None and any(
            cp.name == p.port and cp.container_port == port and cp.protocol is Protocol.TCP
            for c in dst.spec.containers for cp in c.ports
        ):
            return True
    return False


def serves(pod: Pod, port: int) -> bool:
    declared = [p for c in (*pod.spec.containers, *pod.spec.init_containers) for p in c.ports]
    return not declared or any(p.container_port == port and p.protocol is Protocol.TCP for p in declared)


@attrs.frozen
class PolicyRef:
    namespace: str
    name: str


# --- the machine -----------------------------------------------------------------------------


class NetPol(Network):
    policies = Bundle("policies")

    NAMESPACES: ClassVar[tuple[str, ...]] = ("default", "ns-a", "ns-b")

    def __init__(self) -> None:
        super().__init__()
        self.written: dict[tuple[str, str], NetworkPolicySpec] = {}
        self.policies_made = 0

    def fresh(self, seed: int) -> Cluster:
        return netpol_cluster(seed)

    # -- rules

    @rule(target=Network.apps, namespace=st.sampled_from(NAMESPACES), role=st.sampled_from(ROLES),
          replicas=st.integers(0, 2), by_name=st.booleans())
    def create_member(self, namespace: str, role: str, replicas: int, by_name: bool) -> App:
        """A Deployment of pods with a role, serving `web` and `admin`, and its Service."""
        name = self.name()
        d = deployment(name, replicas, 8080, namespace=namespace, labels={"role": role}, extra_ports=(ADMIN,))
        assert self.c.request(Create(obj=d)).ok
        assert self.c.request(Create(obj=service(name, name, by_name, namespace=namespace))).ok
        self.settle()
        return App(Kind.DEPLOYMENT, namespace, name)

    @rule(namespace=st.sampled_from(sorted(TEAMS)), role=st.sampled_from(ROLES), node=st.sampled_from(NODES))
    def create_host_pod(self, namespace: str, role: str, node: str) -> None:
        """A hostNetwork pod on `node` (an agent, as a DaemonSet runs one)."""
        self.made += 1
        container = Container(name="app", image="agent:1", ports=(ContainerPort(container_port=8080, name="web"),))
        spec = PodSpec(containers=(container,), node_name=node, host_network=True)
        meta = ObjectMeta(name=f"agent-{self.made}", namespace=namespace, labels=pmap({"role": role}))
        assert self.c.request(Create(obj=Pod(metadata=meta, spec=spec))).ok
        self.settle()

    def host_pods(self) -> list[Pod]:
        return [
            p for ns in self.NAMESPACES for p in list_objects(self.c.state, Kind.POD, ns)
            if isinstance(p, Pod) and p.spec.host_network
        ]

    @rule(data=st.data(), role=st.none() | st.sampled_from(ROLES))
    def relabel_pod(self, data: st.DataObject, role: str | None) -> None:
        pods = self.pods() + self.host_pods()
        if not pods:
            return
        p = data.draw(st.sampled_from(pods))
        labels = p.metadata.labels.discard("role") if role is None else p.metadata.labels.set("role", role)
        self.c.request(Update(obj=attrs.evolve(p, metadata=attrs.evolve(p.metadata, labels=labels))))
        self.settle()

    @rule(namespace=st.sampled_from(sorted(TEAMS)), team=st.none() | st.sampled_from(("x", "y")))
    def relabel_namespace(self, namespace: str, team: str | None) -> None:
        ns = get(self.c.state, ObjectKey(kind=Kind.NAMESPACE, namespace="", name=namespace))
        assert isinstance(ns, Namespace)
        labels = ns.metadata.labels.discard("team") if team is None else ns.metadata.labels.set("team", team)
        assert self.c.request(Update(obj=attrs.evolve(ns, metadata=attrs.evolve(ns.metadata, labels=labels)))).ok
        self.settle()

    @rule(target=policies, namespace=st.sampled_from(NAMESPACES), spec=SPECS)
    def create_policy(self, namespace: str, spec: NetworkPolicySpec) -> PolicyRef:
        self.policies_made += 1
        name = f"np-{self.policies_made}"
        obj = NetworkPolicy(metadata=ObjectMeta(name=name, namespace=namespace), spec=spec)
        response = self.c.request(Create(obj=obj))
        assert response.ok, response
        self.written[(namespace, name)] = spec
        self.settle()
        return PolicyRef(namespace, name)

    @rule(policy=policies, spec=SPECS)
    def replace_policy(self, policy: PolicyRef, spec: NetworkPolicySpec) -> None:
        old = get(self.c.state, ObjectKey(kind=Kind.NETWORK_POLICY, namespace=policy.namespace, name=policy.name))
        assert isinstance(old, NetworkPolicy)
        response = self.c.request(Update(obj=attrs.evolve(old, spec=spec)))
        assert response.ok, response
        self.written[(policy.namespace, policy.name)] = spec
        self.settle()

    @rule(policy=consumes(policies))
    def delete_policy(self, policy: PolicyRef) -> None:
        key = ObjectKey(kind=Kind.NETWORK_POLICY, namespace=policy.namespace, name=policy.name)
        assert self.c.request(Delete(key=key)).ok
        del self.written[(policy.namespace, policy.name)]
        self.settle()

    def reaches_everything(self, net: RouteNetwork, a: Pod, running: list[Pod]) -> None:
        """Without policies, the whole-cluster machine's law; with them, which flows are
        delivered is the oracle's to say (checked after every rule)."""
        if not self.written:
            super().reaches_everything(net, a, running)

    # -- the law

    def world(self) -> World:
        by_ns: dict[str, list[tuple[str, NetworkPolicySpec]]] = {}
        for (ns, name), spec in sorted(self.written.items(), key=lambda kv: kv[0]):
            by_ns.setdefault(ns, []).append((name, spec))
        labels = {
            ns.metadata.name: dict(ns.metadata.labels)
            for ns in list_objects(self.c.state, Kind.NAMESPACE) if isinstance(ns, Namespace)
        }
        return World(policies={ns: tuple(v) for ns, v in by_ns.items()}, namespace_labels=labels)

    def reachable(self, world: World, src: Pod | None, seen: End, dst: Pod, port: int) -> bool:
        """The oracle: whether a TCP connection from `src` (a pod, else a node or a
        hostNetwork pod, `seen.node`), which the destination sees as `seen`, reaches `dst`
        on `port`."""
        src_node = src.spec.node_name if src is not None else seen.node
        if src_node in self.down or dst.spec.node_name in self.down:
            return False
        if dst.status.phase is not PodPhase.RUNNING or not serves(dst, port):
            return False
        if src is not None and not world.allows(src, PolicyType.EGRESS, End(ip=dst.status.pod_ip, pod=dst), dst, port):
            return False
        return world.allows(dst, PolicyType.INGRESS, seen, dst, port)

    @invariant()
    def a_denied_flow_is_never_delivered_and_an_allowed_one_always_is(self) -> None:
        net = network_from(self.c.snapshot())
        world = self.world()
        running = [p for p in self.pods() if p.status.phase is PodPhase.RUNNING and p.status.pod_ip and not p.spec.host_network]
        for a in running:
            me = End(ip=a.status.pod_ip, pod=a)
            for b in running:
                for port in PORTS:
                    r = route(net, Source(pod=a), Destination(host=b.status.pod_ip, port=port))
                    want = self.reachable(world, a, me, b, port)
                    self.judge(r, want, f"{name(a)} -> {name(b)}:{port}")
            for svc in self.cluster_ip_services():
                self.through_service(net, world, a, svc)
        nodes = {n.metadata.name: n for n in list_objects(self.c.state, Kind.NODE) if isinstance(n, Node)}
        sources = [(Source(node=n), n.metadata.name, f"node {n.metadata.name}") for n in nodes.values()]
        sources += [
            (Source(pod=h), h.spec.node_name, f"hostNetwork pod {name(h)}")
            for h in self.host_pods() if h.status.phase is PodPhase.RUNNING and h.status.pod_ip
        ]
        for src, node_name, what in sources:
            seen = End(ip=node_ip(nodes[node_name]), node=node_name)
            for b in running:
                r = route(net, src, Destination(host=b.status.pod_ip, port=8080))
                self.judge(r, self.reachable(world, None, seen, b, 8080), f"{what} -> {name(b)}:8080")

    def through_service(self, net: RouteNetwork, world: World, a: Pod, svc: Service) -> None:
        r = route(net, Source(pod=a), Destination(host=svc.spec.cluster_ip, port=80))
        what = f"{name(a)} -> service {svc.metadata.namespace}/{svc.metadata.name}"
        chosen = chosen_backend(r)
        if chosen is None:
            assert not r.delivered, what
            return
        ip, port = chosen
        backends = [
            p for p in list_objects(self.c.state, Kind.POD)
            if isinstance(p, Pod) and p.status.pod_ip == ip and not p.spec.host_network
        ]
        if not backends:
            assert not r.delivered, what
            return
        (b,) = [p for p in backends if p.status.phase is PodPhase.RUNNING] or backends[:1]
        self.judge(r, self.reachable(world, a, End(ip=a.status.pod_ip, pod=a), b, port), f"{what} via {name(b)}:{port}")

    def judge(self, r: Route, want: bool, what: str) -> None:
        assert r.delivered == want, (what, want, r.reason, [h.detail for h in r.hops], sorted(self.written))
        if not want and r.reason.startswith("denied by NetworkPolicy"):
            assert self.written, what


def name(p: Pod) -> str:
    return f"{p.metadata.namespace}/{p.metadata.name}"


NetPol.TestCase.settings = machine_settings(ci_examples=60, ci_steps=30, deep_steps=80)
test_network_policy = NetPol.TestCase
