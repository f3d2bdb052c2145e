"""NetworkPolicy enforcement: whether one connection is allowed at its source (egress)
and at its destination (ingress), as the network plugin evaluates the policies.

Owns `Peer` (one end of a connection: its address as the other end sees it, and the pod
behind it when it is one), `Verdict`, `isolated`, `ingress_allowed`, `egress_allowed`
and `allowed` (both ends).

Rules (the NetworkPolicy page of kubernetes.io and the API reference):
- A pod is isolated for a direction only when some policy of its namespace selects it
  (`podSelector`, an empty one selecting every pod) and lists that direction in
  `policyTypes`; a pod no policy isolates allows everything in that direction.
- An isolated pod allows a connection when some policy selecting it for the direction
  has a rule whose peers match the other end (no `from`/`to`: every peer) and whose
  ports match (no `ports`: every port). Policies are additive: the union of their rules.
- A peer: `podSelector` alone picks pods of the policy's namespace; `namespaceSelector`
  alone every pod of the namespaces it picks (by their labels, with
  `kubernetes.io/metadata.name`); both, the pods it picks in those namespaces;
  `ipBlock` an address in `cidr` and in none of `except` (matched on the address the
  enforcing end sees, so after SNAT the node's address).
- A port: the protocol (TCP when unset) and the number, a range up to `endPort`, or a
  name, looked up in the destination pod's containers (a name matches no connection to
  something that is not a pod).
- Connections between a pod and its own node are always allowed, in both directions, and
  a pod cannot block access to itself (a connection from a pod to itself, by its IP or
  through its Service, is allowed at both ends).
- hostNetwork pods, of the two behaviours the page allows the "most common" one: pod and
  namespace selectors ignore them (no policy isolates one, no peer selector matches
  one) and their traffic is their node's (an ipBlock matches the node's address, and
  with pods on their own node it is node traffic).

Must not know: routing, proxies, components. Pure.

Mirrors the NetworkPolicy semantics of k8s.io/api/networking/v1/types.go and the
network-policy-api conformance expectations (upstream leaves enforcement to the plugin).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Final

import attrs

from kcore.api.core import Namespace
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.networking import (
    IPBlock,
    NetworkPolicy,
    NetworkPolicyPeer,
    NetworkPolicyPort,
    PolicyType,
)
from kcore.api.pod import LabelSelector, Pod, Protocol
from kcore.labels import SelectorParseError, selector_from_label_selector
from kcore.state import ClusterState, get, list_objects

NODE_TRAFFIC: Final = "traffic between a pod and its own node is always allowed"
SELF_TRAFFIC: Final = "a pod cannot block access to itself"
HOST_NETWORK: Final = "NetworkPolicy does not select a hostNetwork pod"


@attrs.frozen(kw_only=True)
class Peer:
    """One end of a connection: `ip` as the other end sees it, the pod behind it (or None),
    and the node it is on or is (for node traffic; "" for an outside address)."""

    ip: str
    pod: Pod | None = None
    node: str = ""


@attrs.frozen(kw_only=True)
class Verdict:
    allowed: bool
    reason: str


def _selects(selector: LabelSelector, labels: Mapping[str, str]) -> bool:
    try:
        parsed = selector_from_label_selector(
            selector.match_labels, tuple((r.key, r.operator.value, r.values) for r in selector.match_expressions)
        )
    except SelectorParseError:
        return False
    return parsed.matches(labels)


def _as_seen(peer: Peer) -> Peer:
    """A hostNetwork pod's end is its node's."""
    if peer.pod is not None and peer.pod.spec.host_network:
        return Peer(ip=peer.ip, node=peer.node or peer.pod.spec.node_name)
    return peer


def _same_pod(a: Pod | None, b: Pod) -> bool:
    return a is not None and (a.metadata.namespace, a.metadata.name, a.metadata.uid) == (
        b.metadata.namespace, b.metadata.name, b.metadata.uid
    )


def _policies(view: ClusterState, pod: Pod, direction: PolicyType) -> tuple[NetworkPolicy, ...]:
    if pod.spec.host_network:
        return ()
    return tuple(
        np
        for np in list_objects(view, Kind.NETWORK_POLICY, pod.metadata.namespace)
        if isinstance(np, NetworkPolicy)
        and direction in np.spec.policy_types
        and _selects(np.spec.pod_selector, pod.metadata.labels)
    )


def isolated(view: ClusterState, pod: Pod, direction: PolicyType) -> bool:
    """Whether some policy isolates `pod` for `direction`."""
    return bool(_policies(view, pod, direction))


def _in_block(block: IPBlock, ip: str) -> bool:
    try:
        address = ipaddress.ip_address(ip)
        if address not in ipaddress.ip_network(block.cidr, strict=False):
            return False
        return not any(address in ipaddress.ip_network(e, strict=False) for e in block.except_)
    except ValueError:
        return False


def _namespace_labels(view: ClusterState, name: str) -> dict[str, str]:
    ns = get(view, ObjectKey(kind=Kind.NAMESPACE, namespace="", name=name))
    labels = dict(ns.metadata.labels) if isinstance(ns, Namespace) else {}
    labels.setdefault("kubernetes.io/metadata.name", name)
    return labels


def _peer_matches(view: ClusterState, policy_ns: str, peer: NetworkPolicyPeer, other: Peer) -> bool:
    if peer.ip_block is not None:
        return _in_block(peer.ip_block, other.ip)
    pod = other.pod
    if pod is None:
        return False
    ns = pod.metadata.namespace
    if peer.namespace_selector is None:
        if ns != policy_ns:
            return False
    elif not _selects(peer.namespace_selector, _namespace_labels(view, ns)):
        return False
    return peer.pod_selector is None or _selects(peer.pod_selector, pod.metadata.labels)


def _named_port(pod: Pod | None, name: str, protocol: Protocol) -> int | None:
    if pod is None:
        return None
    for c in (*pod.spec.containers, *pod.spec.init_containers):
        for p in c.ports:
            if p.name == name and p.protocol is protocol:
                return p.container_port
    return None


def _port_matches(rule_ports: Iterable[NetworkPolicyPort], dst: Pod | None, port: int, protocol: Protocol) -> bool:
    ports = tuple(rule_ports)
    if not ports:
        return True
    for p in ports:
        if (p.protocol or Protocol.TCP) is not protocol:
            continue
        if p.port is None:
            return True
        if isinstance(p.port, int):
            if p.port == port or (p.end_port is not None and p.port <= port <= p.end_port):
                return True
        elif _named_port(dst, p.port, protocol) == port:
            return True
    return False


def _name(np: NetworkPolicy) -> str:
    return f"{np.metadata.namespace}/{np.metadata.name}"


def ingress_allowed(view: ClusterState, dst: Pod, src: Peer, port: int, protocol: Protocol = Protocol.TCP) -> Verdict:
    """Whether `dst` accepts a connection from `src` on `port`/`protocol`."""
    src = _as_seen(src)
    if dst.spec.host_network:
        return Verdict(allowed=True, reason=HOST_NETWORK)
    if src.pod is None and src.node and src.node == dst.spec.node_name:
        return Verdict(allowed=True, reason=NODE_TRAFFIC)
    if _same_pod(src.pod, dst):
        return Verdict(allowed=True, reason=SELF_TRAFFIC)
    policies = _policies(view, dst, PolicyType.INGRESS)
    if not policies:
        return Verdict(allowed=True, reason="no policy isolates the destination for ingress")
    for np in policies:
        for rule in np.spec.ingress:
            peers_ok = not rule.from_ or any(_peer_matches(view, np.metadata.namespace, p, src) for p in rule.from_)
            if peers_ok and _port_matches(rule.ports, dst, port, protocol):
                return Verdict(allowed=True, reason=f"allowed by NetworkPolicy {_name(np)} (ingress)")
    names = ", ".join(_name(np) for np in policies)
    return Verdict(allowed=False, reason=f"denied by NetworkPolicy (ingress to {dst.metadata.namespace}/{dst.metadata.name}: {names})")


def egress_allowed(view: ClusterState, src: Pod, dst: Peer, port: int, protocol: Protocol = Protocol.TCP) -> Verdict:
    """Whether `src` may open a connection to `dst` on `port`/`protocol`."""
    dst = _as_seen(dst)
    if src.spec.host_network:
        return Verdict(allowed=True, reason=HOST_NETWORK)
    if dst.pod is None and dst.node and dst.node == src.spec.node_name:
        return Verdict(allowed=True, reason=NODE_TRAFFIC)
    if _same_pod(dst.pod, src):
        return Verdict(allowed=True, reason=SELF_TRAFFIC)
    policies = _policies(view, src, PolicyType.EGRESS)
    if not policies:
        return Verdict(allowed=True, reason="no policy isolates the source for egress")
    for np in policies:
        for rule in np.spec.egress:
            peers_ok = not rule.to or any(_peer_matches(view, np.metadata.namespace, p, dst) for p in rule.to)
            if peers_ok and _port_matches(rule.ports, dst.pod, port, protocol):
                return Verdict(allowed=True, reason=f"allowed by NetworkPolicy {_name(np)} (egress)")
    names = ", ".join(_name(np) for np in policies)
    return Verdict(allowed=False, reason=f"denied by NetworkPolicy (egress from {src.metadata.namespace}/{src.metadata.name}: {names})")


def allowed(view: ClusterState, src: Peer, dst: Peer, port: int, protocol: Protocol = Protocol.TCP) -> Verdict:
    """Both ends: the source pod's egress (when it is a pod), then the destination pod's
    ingress (when it is one)."""
    if src.pod is not None:
        out = egress_allowed(view, src.pod, dst, port, protocol)
        if not out.allowed:
            return out
    if dst.pod is not None:
        return ingress_allowed(view, dst.pod, src, port, protocol)
    return Verdict(allowed=True, reason="no pod at the destination")
