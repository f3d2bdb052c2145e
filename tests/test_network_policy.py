"""NetworkPolicy enforcement: the kubernetes.io NetworkPolicy page's examples, then a
property against an independent oracle."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
from hypothesis import given
from hypothesis import strategies as st
from pyrsistent import pmap

from kcore.api.codec import from_dict
from kcore.api.defaults import apply_defaults
from kcore.api.networking import NetworkPolicy, PolicyType
from kcore.api.pod import ContainerPort, Pod, PodIP, PodStatus, Protocol
from kcore.network.policy import (
    NODE_TRAFFIC,
    Peer,
    allowed,
    egress_allowed,
    ingress_allowed,
    isolated,
)
from kcore.state import ClusterState
from tests.builders import a_container, a_namespace, a_pod, cluster_with


def pod(name: str, ns: str = "default", ip: str = "10.244.0.5", labels: Mapping[str, str] | None = None,
        ports: tuple[tuple[str, int], ...] = ()) -> Pod:
    container = attrs.evolve(a_container(), ports=tuple(ContainerPort(container_port=n, name=pn) for pn, n in ports))
    p = a_pod(name, ns, labels=labels, containers=(container,), node_name="node-1")
    return attrs.evolve(p, status=PodStatus(pod_ip=ip, pod_ips=(PodIP(ip=ip),)))


def policy(name: str, spec: dict[str, Any], ns: str = "default") -> NetworkPolicy:
    data = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": name, "namespace": ns}, "spec": spec}
    decoded = from_dict(data)
    assert decoded.warnings == ()
    obj = apply_defaults(decoded.obj)
    assert isinstance(obj, NetworkPolicy)
    return obj


def view(*objs: Any, namespaces: tuple[tuple[str, dict[str, str]], ...] = ()) -> ClusterState:
    extra = tuple(a_namespace(n, labels=labels) for n, labels in namespaces)
    return cluster_with(*extra, *objs)


DB = pod("db", ip="10.244.0.10", labels={"role": "db"}, ports=(("redis", 6379),))
FRONTEND = pod("frontend", ip="10.244.0.11", labels={"role": "frontend"})
OTHER = pod("other", ip="10.244.0.12", labels={"role": "other"})
IN_PROJECT = pod("tool", ns="myproject", ip="10.244.1.5")

# content/en/examples/service/networking/networkpolicy.yaml
TEST_NETWORK_POLICY = policy(
    "test-network-policy",
    {
        "podSelector": {"matchLabels": {"role": "db"}},
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [
            {
                "from": [
                    {"ipBlock": {"cidr": "172.17.0.0/16", "except": ["172.17.1.0/24"]}},
                    {"namespaceSelector": {"matchLabels": {"project": "myproject"}}},
                    {"podSelector": {"matchLabels": {"role": "frontend"}}},
                ],
                "ports": [{"protocol": "TCP", "port": 6379}],
            }
        ],
        "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/24"}}], "ports": [{"protocol": "TCP", "port": 5978}]}],
    },
)


def documented() -> ClusterState:
    return view(DB, FRONTEND, OTHER, IN_PROJECT, TEST_NETWORK_POLICY, namespaces=(("myproject", {"project": "myproject"}),))


def from_pod(p: Pod) -> Peer:
    return Peer(ip=p.status.pod_ip, pod=p)


def test_the_documented_policy_admits_frontend_myproject_and_the_ip_block_on_6379_only() -> None:
    v = documented()
    assert ingress_allowed(v, DB, from_pod(FRONTEND), 6379).allowed
    assert ingress_allowed(v, DB, from_pod(IN_PROJECT), 6379).allowed
    assert ingress_allowed(v, DB, Peer(ip="172.17.0.9"), 6379).allowed
    assert not ingress_allowed(v, DB, Peer(ip="172.17.1.9"), 6379).allowed  # in `except`
    assert not ingress_allowed(v, DB, from_pod(OTHER), 6379).allowed
    assert not ingress_allowed(v, DB, from_pod(FRONTEND), 80).allowed
    assert not ingress_allowed(v, DB, from_pod(FRONTEND), 6379, Protocol.UDP).allowed
    denied = ingress_allowed(v, DB, from_pod(OTHER), 6379)
    assert denied.reason == "denied by NetworkPolicy (ingress to default/db: default/test-network-policy)"


def test_the_documented_policy_limits_egress_to_the_block_on_5978() -> None:
    v = documented()
    assert egress_allowed(v, DB, Peer(ip="10.0.0.7"), 5978).allowed
    assert not egress_allowed(v, DB, Peer(ip="10.0.1.7"), 5978).allowed
    assert not egress_allowed(v, DB, from_pod(FRONTEND), 80).allowed
    # pods the policy does not select are not isolated
    assert egress_allowed(v, FRONTEND, from_pod(DB), 6379).allowed
    assert not isolated(v, FRONTEND, PolicyType.INGRESS)


def test_allowed_checks_the_source_egress_then_the_destination_ingress() -> None:
    v = documented()
    assert allowed(v, from_pod(FRONTEND), from_pod(DB), 6379).allowed
    out = allowed(v, from_pod(DB), from_pod(FRONTEND), 80)
    assert out.reason == "denied by NetworkPolicy (egress from default/db: default/test-network-policy)"


def test_default_deny_ingress_and_allow_all_ingress() -> None:
    deny = policy("default-deny-ingress", {"podSelector": {}, "policyTypes": ["Ingress"]})
    v = view(DB, FRONTEND, deny)
    assert not ingress_allowed(v, DB, from_pod(FRONTEND), 6379).allowed
    assert egress_allowed(v, DB, from_pod(FRONTEND), 80).allowed  # egress untouched
    allow = policy("allow-all-ingress", {"podSelector": {}, "ingress": [{}], "policyTypes": ["Ingress"]})
    assert ingress_allowed(view(DB, FRONTEND, deny, allow), DB, from_pod(FRONTEND), 6379).allowed


def test_a_pod_and_its_node_always_talk() -> None:
    deny = policy("deny-all", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})
    v = view(DB, deny)
    node = Peer(ip="10.244.0.1", node="node-1")
    assert ingress_allowed(v, DB, node, 6379) == ingress_allowed(v, DB, node, 1)
    assert ingress_allowed(v, DB, node, 6379).reason == NODE_TRAFFIC
    assert not ingress_allowed(v, DB, Peer(ip="10.244.1.1", node="node-2"), 6379).allowed


def test_named_ports_and_port_ranges() -> None:
    named = policy("named", {"podSelector": {"matchLabels": {"role": "db"}}, "ingress": [{"ports": [{"port": "redis"}]}]})
    v = view(DB, named)
    assert ingress_allowed(v, DB, from_pod(FRONTEND), 6379).allowed
    assert not ingress_allowed(v, DB, from_pod(FRONTEND), 6380).allowed
    # content/en/examples/service/networking/networkpolicy-multiport-egress.yaml
    multi = policy(
        "multi-port-egress",
        {
            "podSelector": {"matchLabels": {"role": "db"}},
            "policyTypes": ["Egress"],
            "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/24"}}], "ports": [{"protocol": "TCP", "port": 32000, "endPort": 32768}]}],
        },
    )
    v = view(DB, multi)
    assert [egress_allowed(v, DB, Peer(ip="10.0.0.1"), p).allowed for p in (31999, 32000, 32500, 32768, 32769)] == [
        False, True, True, True, False,
    ]


def test_namespace_and_pod_selector_together_need_both() -> None:
    both = policy(
        "both",
        {
            "podSelector": {"matchLabels": {"role": "db"}},
            "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "a"}}, "podSelector": {"matchLabels": {"app": "x"}}}]}],
        },
    )
    x_in_a = pod("x", ns="a", ip="10.244.2.1", labels={"app": "x"})
    y_in_a = pod("y", ns="a", ip="10.244.2.2", labels={"app": "y"})
    x_in_b = pod("x", ns="b", ip="10.244.2.3", labels={"app": "x"})
    v = view(DB, both, namespaces=(("a", {"team": "a"}), ("b", {"team": "b"})))
    assert [ingress_allowed(v, DB, from_pod(p), 6379).allowed for p in (x_in_a, y_in_a, x_in_b)] == [True, False, False]
    by_name = policy("by-name", {"podSelector": {}, "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "b"}}}]}]})
    v = view(DB, by_name, namespaces=(("a", {}), ("b", {})))
    assert [ingress_allowed(v, DB, from_pod(p), 1).allowed for p in (x_in_a, x_in_b)] == [False, True]


# --- property: the verdict equals an independent oracle -------------------------------------

_LABELS = st.sampled_from(({}, {"app": "a"}, {"app": "b"}, {"app": "a", "tier": "x"}))
_PORT = st.sampled_from((None, 80, 443, "http"))


@st.composite
def _policy(draw: st.DrawFn, i: int) -> dict[str, Any]:
    def sel(labels: dict[str, str]) -> dict[str, Any]:
        return {"matchLabels": labels}

    rules = []
    for _ in range(draw(st.integers(0, 2))):
        peers = []
        for _ in range(draw(st.integers(0, 2))):
            kind = draw(st.sampled_from(("pod", "ns", "both", "ip")))
            if kind == "pod":
                peers.append({"podSelector": sel(draw(_LABELS))})
            elif kind == "ns":
                peers.append({"namespaceSelector": sel(draw(st.sampled_from(({}, {"team": "t"}))))})
            elif kind == "both":
                peers.append({"podSelector": sel(draw(_LABELS)), "namespaceSelector": sel({"team": "t"})})
            else:
                peers.append({"ipBlock": {"cidr": "10.244.0.0/16", "except": draw(st.sampled_from(([], ["10.244.1.0/24"])))}})
        ports = [{"port": p} if p is not None else {} for p in draw(st.lists(_PORT, max_size=2))]
        rule: dict[str, Any] = {"from": peers} if peers else {}
        if ports:
            rule["ports"] = ports
        rules.append(rule)
    return {"podSelector": sel(draw(_LABELS)), "policyTypes": ["Ingress"], "ingress": rules, "_name": f"p{i}"}


def _oracle_matches(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def _oracle(policies: list[dict[str, Any]], dst_labels: dict[str, str], src_ns: str, src_labels: dict[str, str], src_ip: str,
            ns_labels: dict[str, dict[str, str]], port: int) -> bool:
    selecting = [p for p in policies if _oracle_matches(p["podSelector"]["matchLabels"], dst_labels)]
    if not selecting:
        return True
    for p in selecting:
        for rule in p["ingress"]:
            peers = rule.get("from", [])
            ok_peer = not peers
            for peer in peers:
                if "ipBlock" in peer:
                    inside = src_ip.startswith("10.244.")
                    excepted = bool(peer["ipBlock"]["except"]) and src_ip.startswith("10.244.1.")
                    ok_peer |= inside and not excepted
                    continue
                ns_ok = ("namespaceSelector" not in peer and src_ns == "default") or (
                    "namespaceSelector" in peer and _oracle_matches(peer["namespaceSelector"]["matchLabels"], ns_labels[src_ns])
                )
                pod_ok = "podSelector" not in peer or _oracle_matches(peer["podSelector"]["matchLabels"], src_labels)
                ok_peer |= ns_ok and pod_ok
            ports = rule.get("ports", [])
            ok_port = not ports or any(q.get("port") in (None, port) or (q.get("port") == "http" and port == 8080) for q in ports)
            if ok_peer and ok_port:
                return True
    return False


@given(
    st.lists(st.integers(0, 1000), min_size=0, max_size=3).flatmap(lambda xs: st.tuples(*(_policy(i) for i in range(len(xs))))),
    _LABELS,
    st.sampled_from(("default", "t1", "u1")),
    _LABELS,
    st.sampled_from(("10.244.0.7", "10.244.1.7")),
    st.sampled_from((80, 443, 8080)),
)
def test_ingress_verdicts_equal_the_oracle(policies: tuple[dict[str, Any], ...], dst_labels: dict[str, str], src_ns: str,
                                           src_labels: dict[str, str], src_ip: str, port: int) -> None:
    ns_labels = {"default": {"kubernetes.io/metadata.name": "default"}, "t1": {"team": "t"}, "u1": {}}
    dst = pod("dst", labels=dst_labels, ip="10.244.0.9", ports=(("http", 8080),))
    src = pod("src", ns=src_ns, labels=src_labels, ip=src_ip)
    objs = [policy(p["_name"], {k: v for k, v in p.items() if k != "_name"}) for p in policies]
    v = view(dst, *objs, namespaces=(("t1", {"team": "t"}), ("u1", {})))
    got = ingress_allowed(v, dst, Peer(ip=src_ip, pod=src), port).allowed
    assert got == _oracle(list(policies), dst_labels, src_ns, src_labels, src_ip, ns_labels, port)


def test_pmap_labels_are_read_like_dicts() -> None:
    v = view(DB, TEST_NETWORK_POLICY)
    relabelled = attrs.evolve(FRONTEND, metadata=attrs.evolve(FRONTEND.metadata, labels=pmap({"role": "frontend"})))
    assert ingress_allowed(v, DB, from_pod(relabelled), 6379).allowed
