"""Regressions the network properties found (properties/test_netpol_props.py), each shrunk
to a plain program over a real cluster (the controllers, kube-proxy, CoreDNS), then
routed with `kcore.network.route.route`."""

from __future__ import annotations

import attrs
from pyrsistent import pmap

from kcore.api.core import Node, Service, ServiceType
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ObjectMeta
from kcore.api.networking import (
    IPBlock,
    NetworkPolicyEgressRule,
    NetworkPolicyIngressRule,
    NetworkPolicyPeer,
    NetworkPolicyPort,
    PolicyType,
)
from kcore.api.pod import Container, ContainerPort, LabelSelector, Pod, PodPhase, PodSpec, Protocol
from kcore.cli.net_route import network_from
from kcore.component.requests import Create, Update
from kcore.driver import new_cluster
from kcore.driver.cluster import Cluster
from kcore.network.route import Destination, Route, Source, route
from kcore.network.rules import node_ip
from kcore.state import ClusterConfig, get, list_objects
from properties.test_network_props import deployment, service
from tests.builders import a_network_policy

BOTH = (PolicyType.INGRESS, PolicyType.EGRESS)


def cluster_with_app(nodes: int) -> Cluster:
    """A settled cluster running one pod of `x` (port 8080 named web) behind Service `x`."""
    c = new_cluster(ClusterConfig(seed=0), nodes=nodes)
    assert c.request(Create(obj=deployment("x", 1, 8080))).ok
    assert c.request(Create(obj=service("x", "x", by_name=True))).ok
    c.settle()
    return c


def the_pod(c: Cluster, prefix: str) -> Pod:
    (pod,) = [p for p in list_objects(c.state, Kind.POD, "default") if isinstance(p, Pod) and p.metadata.name.startswith(prefix)]
    assert pod.status.phase is PodPhase.RUNNING
    return pod


def host_pod(c: Cluster, node: str) -> Pod:
    """A Running hostNetwork pod `agent` (role=agent) on `node`."""
    container = Container(name="app", image="agent:1", ports=(ContainerPort(container_port=9100, name="metrics"),))
    pod = Pod(
        metadata=ObjectMeta(name="agent", namespace="default", labels=pmap({"role": "agent"})),
        spec=PodSpec(containers=(container,), node_name=node, host_network=True),
    )
    assert c.request(Create(obj=pod)).ok
    c.settle()
    return the_pod(c, "agent")


def go(c: Cluster, src: Source, host: str, port: int) -> Route:
    return route(network_from(c.snapshot()), src, Destination(host=host, port=port))


def test_a_pod_under_default_deny_still_reaches_itself_by_its_ip_and_through_its_service() -> None:
    """NetworkPolicy page: "a pod cannot block access to itself". Found as: deny-all
    (Ingress and Egress, every pod), then the pod to its own IP was denied at its egress
    and, through its Service (hairpin), at its ingress."""
    c = cluster_with_app(nodes=1)
    assert c.request(Create(obj=a_network_policy("deny-all", types=BOTH))).ok
    c.settle()
    x = the_pod(c, "x-")
    svc = get(c.state, ObjectKey(kind=Kind.SERVICE, namespace="default", name="x"))
    assert isinstance(svc, Service)
    direct = go(c, Source(pod=x), x.status.pod_ip, 8080)
    hairpin = go(c, Source(pod=x), svc.spec.cluster_ip, 80)
    assert (direct.delivered, direct.source_ip_seen) == (True, x.status.pod_ip), direct.reason
    assert hairpin.delivered, hairpin.reason
    assert hairpin.source_ip_seen == "10.244.0.1"  # the node's bridge


def test_the_policy_still_denies_other_pods_and_the_pod_itself_elsewhere() -> None:
    c = cluster_with_app(nodes=1)
    assert c.request(Create(obj=deployment("y", 1, 8080))).ok
    assert c.request(Create(obj=a_network_policy("deny-all", types=BOTH))).ok
    c.settle()
    x, y = the_pod(c, "x-"), the_pod(c, "y-")
    assert go(c, Source(pod=x), y.status.pod_ip, 8080).reason.startswith("denied by NetworkPolicy (egress from default/x-")
    assert go(c, Source(pod=y), x.status.pod_ip, 8080).reason.startswith("denied by NetworkPolicy (egress from default/y-")


def test_a_host_network_pod_on_the_pods_node_talks_as_the_node_does() -> None:
    """Found as: a default-deny ingress policy on x, then a hostNetwork pod on x's node
    was denied where its node (the same address) was allowed."""
    c = cluster_with_app(nodes=1)
    assert c.request(Create(obj=a_network_policy("deny", selects={"app": "x"}))).ok
    c.settle()
    agent, x = host_pod(c, "node-1"), the_pod(c, "x-")
    node = get(c.state, ObjectKey(kind=Kind.NODE, namespace="", name="node-1"))
    assert isinstance(node, Node)
    from_node = go(c, Source(node=node), x.status.pod_ip, 8080)
    from_agent = go(c, Source(pod=agent), x.status.pod_ip, 8080)
    assert (from_agent.delivered, from_agent.source_ip_seen) == (from_node.delivered, from_node.source_ip_seen) == (True, agent.status.pod_ip)


def test_no_policy_isolates_a_host_network_pod_and_selectors_do_not_pick_it() -> None:
    """Found as: an egress default-deny selecting a hostNetwork pod denied its traffic; the
    NetworkPolicy page's most common behaviour ignores hostNetwork pods in selectors and
    treats their traffic as their node's (an ipBlock of the node addresses matches it)."""
    c = cluster_with_app(nodes=2)
    x = the_pod(c, "x-")
    other = "node-2" if x.spec.node_name == "node-1" else "node-1"
    agent = host_pod(c, other)
    deny_egress = a_network_policy("deny-agent-egress", selects={"role": "agent"}, types=(PolicyType.EGRESS,))
    by_selector = NetworkPolicyIngressRule(
        from_=(NetworkPolicyPeer(pod_selector=LabelSelector(match_labels=pmap({"role": "agent"}))),)
    )
    only_agents = a_network_policy("only-agents", selects={"app": "x"}, ingress=(by_selector,), types=(PolicyType.INGRESS,))
    assert c.request(Create(obj=deny_egress)).ok
    assert c.request(Create(obj=only_agents)).ok
    c.settle()
    denied = go(c, Source(pod=agent), x.status.pod_ip, 8080)
    assert denied.reason == f"denied by NetworkPolicy (ingress to default/{x.metadata.name}: default/only-agents)"
    by_block = NetworkPolicyIngressRule(from_=(NetworkPolicyPeer(ip_block=IPBlock(cidr="172.18.0.0/16")),))
    nodes = a_network_policy("from-nodes", selects={"app": "x"}, ingress=(by_block,), types=(PolicyType.INGRESS,))
    assert c.request(Create(obj=nodes)).ok
    c.settle()
    allowed = go(c, Source(pod=agent), x.status.pod_ip, 8080)
    assert (allowed.delivered, allowed.source_ip_seen) == (True, agent.status.pod_ip), allowed.reason


def test_a_host_network_pod_is_not_isolated_by_a_policy_selecting_it() -> None:
    c = cluster_with_app(nodes=1)
    agent = host_pod(c, "node-1")
    assert c.request(Create(obj=a_network_policy("deny-all", types=BOTH))).ok
    c.settle()
    x = the_pod(c, "x-")
    r = go(c, Source(pod=agent), x.status.pod_ip, 8080)
    assert r.delivered, r.reason


def test_a_snated_node_port_connection_is_judged_at_the_backend_by_the_node_address() -> None:
    """Found as: a pod on another node reaching x through a NodePort, x accepting only the
    node addresses (ipBlock 172.18.0.0/16); the connection arrives SNATed to the receiving
    node's InternalIP, yet x's ingress was judged against the client pod too and denied."""
    c = cluster_with_app(nodes=2)
    x = the_pod(c, "x-")
    other = "node-2" if x.spec.node_name == "node-1" else "node-1"
    client = Pod(
        metadata=ObjectMeta(name="client", namespace="default", labels=pmap({"app": "client"})),
        spec=PodSpec(containers=(Container(name="c", image="busybox"),), node_name=other),
    )
    assert c.request(Create(obj=client)).ok
    svc = get(c.state, ObjectKey(kind=Kind.SERVICE, namespace="default", name="x"))
    assert isinstance(svc, Service)
    as_node_port = attrs.evolve(svc, spec=attrs.evolve(svc.spec, type=ServiceType.NODE_PORT))
    assert c.request(Update(obj=as_node_port)).ok
    by_block = NetworkPolicyIngressRule(from_=(NetworkPolicyPeer(ip_block=IPBlock(cidr="172.18.0.0/16")),))
    nodes_only = a_network_policy("from-nodes", selects={"app": "x"}, ingress=(by_block,), types=(PolicyType.INGRESS,))
    assert c.request(Create(obj=nodes_only)).ok
    c.settle()
    svc = get(c.state, ObjectKey(kind=Kind.SERVICE, namespace="default", name="x"))
    assert isinstance(svc, Service) and svc.spec.ports[0].node_port
    nodes = {n.metadata.name: n for n in list_objects(c.state, Kind.NODE) if isinstance(n, Node)}
    receiver = nodes[x.spec.node_name]
    r = go(c, Source(pod=the_pod(c, "client")), node_ip(receiver), svc.spec.ports[0].node_port)
    assert r.delivered, r.reason
    assert r.source_ip_seen == node_ip(receiver)
    direct = go(c, Source(pod=the_pod(c, "client")), x.status.pod_ip, 8080)
    assert direct.reason == f"denied by NetworkPolicy (ingress to default/{x.metadata.name}: default/from-nodes)"


def test_egress_default_deny_stops_lookups_by_name_until_dns_is_allowed() -> None:
    """Found as: a pod under an egress default-deny still resolved `x` by name (the query
    to kube-dns:53/UDP bypassed its egress policy). The NetworkPolicy page's usual fix is
    an egress rule to the DNS pods on 53."""
    c = cluster_with_app(nodes=1)
    assert c.request(Create(obj=deployment("y", 1, 8080))).ok
    assert c.request(Create(obj=a_network_policy("deny-egress", selects={"app": "y"}, types=(PolicyType.EGRESS,)))).ok
    c.settle()
    y = the_pod(c, "y-")
    blocked = go(c, Source(pod=y), "x", 80)
    assert not blocked.delivered
    assert blocked.reason.startswith("x does not resolve: no servers could be reached: the query to 10.96.0.10:53/UDP is denied by NetworkPolicy (egress from default/y-")
    dns = NetworkPolicyPeer(namespace_selector=LabelSelector(match_labels=pmap({"kubernetes.io/metadata.name": "kube-system"})))
    rule = NetworkPolicyEgressRule(to=(dns,), ports=(NetworkPolicyPort(protocol=Protocol.UDP, port=53),))
    assert c.request(Create(obj=a_network_policy("allow-dns", selects={"app": "y"}, egress=(rule,), types=(PolicyType.EGRESS,)))).ok
    c.settle()
    resolved = go(c, Source(pod=the_pod(c, "y-")), "x", 80)
    assert [h.step for h in resolved.hops][:2] == ["source", "dns"]
    assert resolved.reason.startswith("denied by NetworkPolicy (egress from default/y-")  # x itself stays denied
    x = the_pod(c, "x-")
    assert go(c, Source(pod=x), "y", 80).reason != blocked.reason  # x has no egress policy: it resolves y
