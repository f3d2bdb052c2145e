"""The routing model on the seed's own examples and the networking contracts of
`kcore net route`: a real cluster (CoreDNS, kube-proxy, the controllers), then routes."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest
from pyrsistent import pmap

from kcore.api.core import (
    ClientIPConfig,
    EndpointAddress,
    EndpointPort,
    Endpoints,
    EndpointSubset,
    Node,
    Service,
    ServiceAffinity,
    ServicePort,
    ServiceSpec,
    ServiceType,
    SessionAffinityConfig,
    TrafficPolicy,
)
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.manifest import load_manifests
from kcore.api.meta import ObjectMeta
from kcore.api.networking import IPBlock, NetworkPolicyEgressRule, NetworkPolicyPeer, PolicyType
from kcore.api.pod import Pod
from kcore.cli.net_resolve import pod_resolv_conf_in
from kcore.cli.net_route import network_from
from kcore.component.requests import Create, Delete, Update
from kcore.driver import new_cluster
from kcore.driver.cluster import Cluster
from kcore.driver.faults import CrashNode
from kcore.network.resolvconf import HOST_RESOLV_CONF
from kcore.network.route import Destination, Route, Source, parse_destination, route
from kcore.network.rules import node_ip
from kcore.runtime.runtime import resolv_conf_of
from kcore.state import ClusterConfig, get, list_objects
from tests.builders import a_network_policy

MANIFESTS = Path(__file__).resolve().parent / "manifests"


@pytest.fixture(scope="module")
def seeded() -> Cluster:
    c = new_cluster(ClusterConfig(seed=21), nodes=3)
    c.apply(item.obj for item in load_manifests((MANIFESTS / "kubeguide.yaml").read_text()))
    c.settle()
    return c


def pods(c: Cluster, namespace: str, app: str) -> list[Pod]:
    return [p for p in list_objects(c.state, Kind.POD, namespace) if isinstance(p, Pod) and p.metadata.labels.get("app") == app]


def nodes(c: Cluster) -> list[Node]:
    return [n for n in list_objects(c.state, Kind.NODE) if isinstance(n, Node)]


def go(c: Cluster, src: Source, to: str, **kw: object) -> Route:
    return route(network_from(c.snapshot()), src, parse_destination(to), **kw)  # type: ignore[arg-type]


def test_my_service_port_80_reaches_a_backend_on_9376_with_the_senders_ip(seeded: Cluster) -> None:
    (client, *_) = pods(seeded, "shop", "myweb")
    r = go(seeded, Source(pod=client), "my-service.default:80")
    backends = {p.status.pod_ip for p in pods(seeded, "default", "MyApp")}
    assert r.delivered and r.backend is not None
    assert (r.backend.ip in backends, r.backend.port, r.source_ip_seen) == (True, 9376, client.status.pod_ip)
    assert [h.step for h in r.hops] == ["source", "dns", "kube-proxy", "deliver"]
    assert r.hops[2].node == client.spec.node_name  # the source node's own rules


def test_myweb_nodeport_30001_is_reached_through_every_nodes_ip_and_snated_to_that_node(seeded: Cluster) -> None:
    web = {p.status.pod_ip for p in pods(seeded, "shop", "myweb")}
    for n in nodes(seeded):
        r = go(seeded, Source(ip="203.0.113.50"), f"{node_ip(n)}:30001")
        assert r.delivered and r.backend is not None and r.backend.ip in web and r.backend.port == 8080
        assert r.source_ip_seen == node_ip(n)


def test_mysql_is_reached_by_dns_name_from_another_namespace(seeded: Cluster) -> None:
    (client, *_) = pods(seeded, "shop", "myweb")
    r = go(seeded, Source(pod=client), "mysql.default:3306")
    (mysql,) = pods(seeded, "default", "mysql")
    assert r.delivered and r.backend is not None
    assert (r.backend.pod, r.backend.port) == (mysql.metadata.name, 3306)
    assert r.hops[1].detail == "mysql.default -> mysql.default.svc.cluster.local. " + get_cluster_ip(seeded, "default", "mysql")
    short = go(seeded, Source(pod=client), "mysql:3306")  # the short name is shop's, which has none
    assert (short.delivered, short.reason) == (False, "mysql does not resolve: NXDOMAIN")


def get_cluster_ip(c: Cluster, ns: str, name: str) -> str:
    svc = get(c.state, ObjectKey(kind=Kind.SERVICE, namespace=ns, name=name))
    assert isinstance(svc, Service)
    return svc.spec.cluster_ip


def test_every_running_pod_reaches_every_other_pod_ip_directly_seen_as_itself(seeded: Cluster) -> None:
    everyone = [p for p in list_objects(seeded.state, Kind.POD) if isinstance(p, Pod) and p.status.pod_ip]
    net = network_from(seeded.snapshot())
    for a in everyone:
        for b in everyone:
            port = b.spec.containers[0].ports[0].container_port if b.spec.containers[0].ports else 80
            r = route(net, Source(pod=a), Destination(host=b.status.pod_ip, port=port))
            assert r.delivered, (a.metadata.name, b.metadata.name, r.reason)
            assert r.source_ip_seen == a.status.pod_ip


def test_an_outside_client_reaches_no_pod_ip_and_no_cluster_ip(seeded: Cluster) -> None:
    (pod, *_) = pods(seeded, "default", "MyApp")
    for to in (f"{pod.status.pod_ip}:9376", f"{get_cluster_ip(seeded, 'default', 'my-service')}:80"):
        r = go(seeded, Source(ip="203.0.113.50"), to)
        assert (r.delivered, r.reason) == (False, "no route to host")


def test_a_pod_reaching_itself_through_its_service_is_seen_from_its_nodes_bridge() -> None:
    c = new_cluster(ClusterConfig(seed=3), nodes=1)
    c.apply(item.obj for item in load_manifests((MANIFESTS / "kubeguide.yaml").read_text()))
    c.settle()
    (mysql,) = pods(c, "default", "mysql")
    r = go(c, Source(pod=mysql), "mysql:3306")
    (node,) = nodes(c)
    assert r.delivered and r.backend is not None and r.backend.pod == mysql.metadata.name
    assert r.source_ip_seen == node.spec.pod_cidr.rsplit(".", 1)[0] + ".1"


def test_distinct_source_ports_reach_every_ready_backend_and_affinity_pins_a_client(seeded: Cluster) -> None:
    (client, *_) = pods(seeded, "shop", "myweb")
    backends = {p.status.pod_ip for p in pods(seeded, "default", "MyApp")}
    seen = {go(seeded, Source(pod=client), "my-service.default:80", source_port=p).backend.ip for p in range(40000, 40060)}  # type: ignore[union-attr]
    assert seen == backends
    c = new_cluster(ClusterConfig(seed=21), nodes=3)
    c.apply(item.obj for item in load_manifests((MANIFESTS / "kubeguide.yaml").read_text()))
    svc = get(c.state, ObjectKey(kind=Kind.SERVICE, namespace="default", name="my-service"))
    assert isinstance(svc, Service)
    sticky = attrs.evolve(
        svc.spec,
        session_affinity=ServiceAffinity.CLIENT_IP,
        session_affinity_config=SessionAffinityConfig(client_ip=ClientIPConfig(timeout_seconds=600)),
    )
    assert c.request(Update(obj=attrs.evolve(svc, spec=sticky))).ok
    c.settle()
    (client, *_) = pods(c, "shop", "myweb")
    pinned = {go(c, Source(pod=client), "my-service.default:80", source_port=p).backend.ip for p in range(40000, 40030)}  # type: ignore[union-attr]
    assert len(pinned) == 1


def test_no_endpoints_and_no_such_port_are_refused_with_a_reason() -> None:
    c = new_cluster(ClusterConfig(seed=4), nodes=2)
    empty = Service(metadata=ObjectMeta(name="empty", namespace="default"), spec=ServiceSpec(selector=pmap({"app": "none"}), ports=(ServicePort(port=80),)))
    assert c.request(Create(obj=empty)).ok
    c.settle()
    ip = get_cluster_ip(c, "default", "empty")
    r = go(c, Source(node=nodes(c)[0]), f"{ip}:80")
    assert (r.delivered, r.reason) == (False, "service default/empty has no endpoints")
    r = go(c, Source(node=nodes(c)[0]), f"{ip}:81")
    assert (r.delivered, r.reason) == (False, f"connection refused: {ip}:81/TCP is no Service port")


def test_local_traffic_policy_keeps_the_client_address_and_only_local_endpoints() -> None:
    c = new_cluster(ClusterConfig(seed=5), nodes=3)
    c.apply(item.obj for item in load_manifests((MANIFESTS / "kubeguide.yaml").read_text()))
    svc = get(c.state, ObjectKey(kind=Kind.SERVICE, namespace="shop", name="myweb"))
    assert isinstance(svc, Service)
    assert c.request(Update(obj=attrs.evolve(svc, spec=attrs.evolve(svc.spec, external_traffic_policy=TrafficPolicy.LOCAL)))).ok
    c.settle()
    hosting = {p.spec.node_name for p in pods(c, "shop", "myweb")}
    for n in nodes(c):
        r = go(c, Source(ip="203.0.113.50"), f"{node_ip(n)}:30001")
        if n.metadata.name in hosting:
            assert r.delivered and r.source_ip_seen == "203.0.113.50" and r.backend is not None and r.backend.node == n.metadata.name
        else:
            assert (r.delivered, r.reason) == (False, "service shop/myweb has no local endpoints")


def test_a_load_balancer_address_from_outside_lands_on_a_backend() -> None:
    c = new_cluster(ClusterConfig(seed=6), nodes=2)
    c.apply(item.obj for item in load_manifests((MANIFESTS / "kubeguide.yaml").read_text()))
    svc = get(c.state, ObjectKey(kind=Kind.SERVICE, namespace="default", name="my-service"))
    assert isinstance(svc, Service)
    lb = attrs.evolve(svc.spec, type=ServiceType.LOAD_BALANCER)
    assert c.request(Update(obj=attrs.evolve(svc, spec=lb))).ok
    c.settle()
    svc = get(c.state, ObjectKey(kind=Kind.SERVICE, namespace="default", name="my-service"))
    assert isinstance(svc, Service)
    (ingress,) = svc.status.load_balancer.ingress
    assert ingress.ip == "198.51.100.2"  # .1 is the ingress controller's
    r = go(c, Source(ip="203.0.113.50"), f"{ingress.ip}:80")
    assert r.delivered and r.backend is not None and r.backend.port == 9376
    assert r.source_ip_seen in {node_ip(n) for n in nodes(c)}


def add_external_db(c: Cluster) -> None:
    """A selectorless Service `external-db` (5432) with its Endpoints outside the cluster
    (192.0.2.42), as the Services page's example."""
    svc = Service(metadata=ObjectMeta(name="external-db", namespace="default"), spec=ServiceSpec(ports=(ServicePort(port=5432),)))
    eps = Endpoints(
        metadata=ObjectMeta(name="external-db", namespace="default"),
        subsets=(EndpointSubset(addresses=(EndpointAddress(ip="192.0.2.42"),), ports=(EndpointPort(port=5432),)),),
    )
    assert c.request(Create(obj=svc)).ok and c.request(Create(obj=eps)).ok


def test_a_selectorless_service_delivers_to_its_outside_endpoint() -> None:
    c = new_cluster(ClusterConfig(seed=7), nodes=1)
    add_external_db(c)
    c.settle()
    r = go(c, Source(node=nodes(c)[0]), f"{get_cluster_ip(c, 'default', 'external-db')}:5432")
    assert r.delivered and r.backend is not None
    assert attrs.asdict(r.backend) == {"namespace": None, "pod": None, "node": None, "ip": "192.0.2.42", "port": 5432}


def test_a_network_policy_denies_and_the_node_itself_is_still_allowed(seeded: Cluster) -> None:
    c = new_cluster(ClusterConfig(seed=8), nodes=2)
    c.apply(item.obj for item in load_manifests((MANIFESTS / "kubeguide.yaml").read_text()))
    assert c.request(Create(obj=a_network_policy("deny-mysql", selects={"app": "mysql"}))).ok
    c.settle()
    (client, *_) = pods(c, "shop", "myweb")
    r = go(c, Source(pod=client), "mysql.default:3306")
    assert not r.delivered and r.reason.startswith("denied by NetworkPolicy (ingress to default/mysql-")
    (mysql,) = pods(c, "default", "mysql")
    own = next(n for n in nodes(c) if n.metadata.name == mysql.spec.node_name)
    assert go(c, Source(node=own), f"{mysql.status.pod_ip}:3306").delivered


def test_a_backend_on_a_crashed_node_is_dropped_with_the_reason() -> None:
    c = new_cluster(ClusterConfig(seed=9), nodes=2)
    c.apply(item.obj for item in load_manifests((MANIFESTS / "kubeguide.yaml").read_text()))
    c.settle()
    (mysql,) = pods(c, "default", "mysql")
    other = next(n for n in nodes(c) if n.metadata.name != mysql.spec.node_name)
    c.inject(CrashNode(node=mysql.spec.node_name))
    r = go(c, Source(node=other), f"{mysql.status.pod_ip}:3306")
    assert (r.delivered, r.reason) == (False, f"the backend pod default/{mysql.metadata.name}'s node {mysql.spec.node_name} is down")


def test_http_through_the_ingress_by_host_and_path() -> None:
    c = new_cluster(ClusterConfig(seed=10), nodes=2)
    c.apply(item.obj for item in load_manifests((MANIFESTS / "kubeguide.yaml").read_text()))
    ingress = """
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: shop, namespace: default}
spec:
  rules:
  - host: shop.example.com
    http:
      paths:
      - {path: /app, pathType: Prefix, backend: {service: {name: my-service, port: {number: 80}}}}
"""
    c.apply(item.obj for item in load_manifests(ingress))
    c.settle()
    r = go(c, Source(ip="203.0.113.50"), "http://198.51.100.1/app/x", host_header="shop.example.com")
    assert r.delivered and r.http_status == 200 and r.backend is not None and r.backend.port == 9376
    miss = go(c, Source(ip="203.0.113.50"), "http://198.51.100.1/app/x", host_header="other.example.com")
    assert (miss.delivered, miss.http_status) == (False, 404)


def test_bad_destinations_are_refused() -> None:
    from kcore.network.route import BadRequest

    for text in ("nohost", "web:0", "web:http", "http:///x"):
        with pytest.raises(BadRequest):
            parse_destination(text)
    assert parse_destination("http://Shop.example.com/a/b") == Destination(host="shop.example.com", port=80, http=True, path="/a/b")


def test_deleting_the_backends_leaves_the_service_without_endpoints(seeded: Cluster) -> None:
    c = new_cluster(ClusterConfig(seed=11), nodes=2)
    c.apply(item.obj for item in load_manifests((MANIFESTS / "kubeguide.yaml").read_text()))
    c.settle()
    assert c.request(Delete(key=ObjectKey(kind=Kind.DEPLOYMENT, namespace="default", name="myapp"))).ok
    c.settle()
    (client, *_) = pods(c, "shop", "myweb")
    r = go(c, Source(pod=client), "my-service.default:80")
    assert (r.delivered, r.reason) == (False, "service default/my-service has no endpoints")


def test_a_pod_resolves_with_the_resolv_conf_its_kubelet_gave_its_sandbox(seeded: Cluster) -> None:
    (client, *_) = pods(seeded, "shop", "myweb")
    snap = seeded.snapshot()
    held = resolv_conf_of(snap.runtimes[client.spec.node_name], client.metadata.uid)
    assert held is not None and held.searches[0] == "shop.svc.cluster.local"
    assert held.nameservers == (get_cluster_ip(seeded, "kube-system", "kube-dns"),)
    assert pod_resolv_conf_in(snap, client) == held
    # a sandbox holding the node's own resolver (a kubelet without clusterDNS) knows no
    # cluster names: the route asks what the pod's file says, not what it should say
    runtime = snap.runtimes[client.spec.node_name]
    (box,) = [b for b in runtime.sandboxes.values() if b.pod_uid == client.metadata.uid]
    hosted = attrs.evolve(runtime, sandboxes=runtime.sandboxes.set(box.id, attrs.evolve(box, resolv_conf=HOST_RESOLV_CONF)))
    snap = attrs.evolve(snap, runtimes=snap.runtimes.set(client.spec.node_name, hosted))
    r = route(network_from(snap), Source(pod=client), parse_destination("mysql.default:3306"))
    assert (r.delivered, r.reason) == (False, "mysql.default does not resolve: NXDOMAIN")


def test_every_cluster_has_the_apiservers_kubernetes_service_reached_through_the_proxy(seeded: Cluster) -> None:
    svc = get(seeded.state, ObjectKey(kind=Kind.SERVICE, namespace="default", name="kubernetes"))
    assert isinstance(svc, Service) and not svc.spec.selector
    assert (svc.spec.cluster_ip, [(p.name, p.port, p.target_port) for p in svc.spec.ports]) == ("10.96.0.1", [("https", 443, 6443)])
    slices = [s for s in list_objects(seeded.state, Kind.ENDPOINT_SLICE, "default") if s.metadata.labels.get("kubernetes.io/service-name") == "kubernetes"]
    assert [s.metadata.name for s in slices] == ["kubernetes"]  # the apiserver's own; its Endpoints are not mirrored
    (client, *_) = pods(seeded, "shop", "myweb")
    r = go(seeded, Source(pod=client), "kubernetes.default:443")
    assert r.delivered and r.backend is not None
    assert (r.backend.pod, r.backend.ip, r.backend.port) == (None, "172.18.0.1", 6443)


def test_the_kubernetes_service_takes_the_first_address_of_any_service_cidr() -> None:
    c = new_cluster(ClusterConfig(service_cidr="10.100.0.0/16"), nodes=1, addons=False)
    svc = get(c.state, ObjectKey(kind=Kind.SERVICE, namespace="default", name="kubernetes"))
    assert isinstance(svc, Service) and svc.spec.cluster_ip == "10.100.0.1"


def test_a_local_load_balancer_is_health_checked_and_keeps_the_client_address() -> None:
    c = new_cluster(ClusterConfig(seed=6), nodes=3)
    c.apply(item.obj for item in load_manifests((MANIFESTS / "kubeguide.yaml").read_text()))
    svc = get(c.state, ObjectKey(kind=Kind.SERVICE, namespace="default", name="my-service"))
    assert isinstance(svc, Service)
    lb = attrs.evolve(svc.spec, type=ServiceType.LOAD_BALANCER, external_traffic_policy=TrafficPolicy.LOCAL)
    assert c.request(Update(obj=attrs.evolve(svc, spec=lb))).ok
    c.settle()
    svc = get(c.state, ObjectKey(kind=Kind.SERVICE, namespace="default", name="my-service"))
    assert isinstance(svc, Service) and 30000 <= svc.spec.health_check_node_port <= 32767
    hosting = {p.spec.node_name for p in pods(c, "default", "MyApp")}
    net = network_from(c.snapshot())
    for n in nodes(c):  # each node's kube-proxy answers the health check by its local endpoints
        rules = net.rules_on(n.metadata.name, ObjectKey(kind=Kind.SERVICE, namespace="default", name="my-service"))
        assert rules.health_check is not None and rules.health_check.port == svc.spec.health_check_node_port
        assert rules.health_check.status_code == (200 if n.metadata.name in hosting else 503)
    (ingress,) = svc.status.load_balancer.ingress
    for port in range(40000, 40020):  # the load balancer only picks nodes that pass
        r = go(c, Source(ip="203.0.113.50"), f"{ingress.ip}:80", source_port=port)
        assert r.delivered and r.backend is not None and r.backend.node in hosting
        assert r.source_ip_seen == "203.0.113.50"


def test_egress_policy_applies_to_a_backend_outside_the_cluster() -> None:
    """network-policy-default-deny-egress: an egress-isolated pod reaches nothing that no
    rule allows, a selectorless Service's outside endpoint included; an ipBlock allows it."""
    c = new_cluster(ClusterConfig(seed=7), nodes=1)
    c.apply(item.obj for item in load_manifests((MANIFESTS / "kubeguide.yaml").read_text()))
    add_external_db(c)
    c.settle()
    (client, *_) = pods(c, "default", "MyApp")
    to = f"{get_cluster_ip(c, 'default', 'external-db')}:5432"
    assert go(c, Source(pod=client), to).delivered
    deny = a_network_policy("default-deny-egress", types=(PolicyType.EGRESS,))
    assert c.request(Create(obj=deny)).ok
    c.settle()
    r = go(c, Source(pod=client), to)
    assert not r.delivered and r.reason.startswith("denied by NetworkPolicy (egress from default/")
    allow = a_network_policy(
        "allow-db", types=(PolicyType.EGRESS,),
        egress=(NetworkPolicyEgressRule(to=(NetworkPolicyPeer(ip_block=IPBlock(cidr="192.0.2.0/24")),)),),
    )
    assert c.request(Create(obj=allow)).ok
    c.settle()
    r = go(c, Source(pod=client), to)
    assert r.delivered and r.backend is not None and r.backend.ip == "192.0.2.42"
