"""Laws of service networking over the WHOLE cluster, under faults and rolling updates.

A `RuleBasedStateMachine` runs every default component (`kcore.driver.new_cluster`: the
controllers, the scheduler, a kubelet per node, kube-proxy, CoreDNS; 3 nodes) and tours
the API: create Deployments (with a readiness probe, containers naming their port) and
Services selecting them (targetPort by number or by name, some with ClientIP session
affinity), StatefulSets behind their headless governing Service, scale them, roll their
template, delete them, delete pods, kill containers, crash/restart and partition/heal
nodes, advance time. Every rule ends settled, as a `kcore` command does, so the proxies
and the DNS have caught up with the API.

Checked after every rule:
- pod IPs are pairwise distinct and inside their node's podCIDR;
- every connection from a Running pod to a Service's ClusterIP is delivered to a pod that
  is Ready (a rolling update with readiness probes never routes to a pod not Ready),
  selected by that Service, on the port its targetPort names, or it is refused with a
  reason;
- ClientIP session affinity: every connection of one client (any source port) picks one
  backend, and the client keeps it from rule to rule while it stays an endpoint; the one
  move allowed is to a backend that was not there before (kcore's highest-random-weight
  choice; upstream's affinity table keeps the client then too, see docs/semantics.md).
  Time plays no part: kcore's choice has no clock, and upstream's timeoutSeconds only
  frees a client to move, so staying past it is within upstream's behaviour;
- DNS answers what the API holds: when a CoreDNS pod is Ready, a ClusterIP Service's name
  is its ClusterIP (by the full name, and through a pod's search path), its SRV record
  for the named port points at the name, its address's PTR names it; a headless Service's
  name is exactly the Ready selected pods' IPs (NXDOMAIN when none), one SRV per such
  pod on its resolved port; `<hostname>.<svc>` of each Ready endpoint (a StatefulSet pod's
  hostname under its subdomain, else its IP dashed) is its IP and a not-Ready StatefulSet
  pod's name is NXDOMAIN; the PTR of a Ready endpoint's IP lists exactly the names the
  Services give it; `a-b-c-d.<ns>.pod` is the pod's IP; a deleted Service's names are
  NXDOMAIN. With no CoreDNS pod Ready every answer is SERVFAIL.

At a fixed point (`converge`: every fault healed, time advanced, settled):
- the Endpoints and the EndpointSlices of every Service list exactly its selected Ready
  pods on the resolved targetPort;
- every Ready node's kube-proxy forwards every ClusterIP to exactly those backends (the
  proxies agree);
- every Running pod reaches every other Running pod's IP directly, seen as itself, and
  every ClusterIP Service that has Ready pods by its DNS name, landing on one of them.

`Network` is the base of the NetworkPolicy machine (properties/test_netpol_props.py): its
namespaces (`NAMESPACES`), its starting cluster (`fresh`) and its builders are the
extension points.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from typing import ClassVar, Final

import attrs
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, initialize, invariant, rule
from pyrsistent import pmap

from kcore.api.apps import Deployment, DeploymentSpec, StatefulSet, StatefulSetSpec
from kcore.api.core import (
    ClientIPConfig,
    Endpoints,
    Node,
    Service,
    ServiceAffinity,
    ServicePort,
    ServiceSpec,
    SessionAffinityConfig,
)
from kcore.api.discovery import LABEL_SERVICE_NAME, EndpointSlice
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ObjectMeta
from kcore.api.pod import (
    Container,
    ContainerPort,
    ExecAction,
    LabelSelector,
    Pod,
    PodPhase,
    PodSpec,
    PodTemplateSpec,
    Probe,
)
from kcore.cli.net_route import network_from
from kcore.component.requests import Create, Delete, Update, UpdateScale
from kcore.controllers.endpoint_util import find_port
from kcore.controllers.podcontrol import is_pod_ready
from kcore.driver import new_cluster
from kcore.driver.cluster import Cluster
from kcore.driver.faults import CrashNode, HealPartition, KillContainer, PartitionNode, RestartNode
from kcore.network.dns import Rcode, RecordType, Zone, lookup, resolve, reverse_name
from kcore.network.resolvconf import cluster_dns_ip, pod_resolv_conf
from kcore.network.route import Destination, Route, Source, route
from kcore.network.route import Network as Net
from kcore.network.rules import Target, node_ready
from kcore.state import ClusterConfig, get, list_objects

NODES: Final = ("node-1", "node-2", "node-3")
ZONE: Final = "cluster.local"
_BASES: dict[int, Cluster] = {}


def base_cluster(seed: int) -> Cluster:
    if seed not in _BASES:
        _BASES[seed] = new_cluster(ClusterConfig(seed=seed), nodes=len(NODES))
    return _BASES[seed].fork()


@attrs.frozen
class App:
    """A workload the machine made and the Service of the same name selecting it."""

    kind: Kind
    namespace: str
    name: str

    @property
    def key(self) -> ObjectKey:
        return ObjectKey(kind=self.kind, namespace=self.namespace, name=self.name)


def template(
    labels: Mapping[str, str], port: int, image: str = "nginx:1.25", extra_ports: tuple[ContainerPort, ...] = ()
) -> PodTemplateSpec:
    """One container `app` with a readiness probe, serving `port` named `web` (and `extra_ports`)."""
    probe = Probe(exec=ExecAction(command=("true",)), period_seconds=2)
    ports = (ContainerPort(container_port=port, name="web"), *extra_ports)
    container = Container(name="app", image=image, ports=ports, readiness_probe=probe)
    return PodTemplateSpec(metadata=ObjectMeta(labels=pmap(labels)), spec=PodSpec(containers=(container,)))


def deployment(
    name: str, replicas: int, port: int, image: str = "nginx:1.25", *, namespace: str = "default",
    labels: Mapping[str, str] | None = None, extra_ports: tuple[ContainerPort, ...] = (),
) -> Deployment:
    """A Deployment of pods labelled `app: name` (plus `labels`), selected by that label."""
    selector = pmap({"app": name})
    spec = DeploymentSpec(
        replicas=replicas,
        selector=LabelSelector(match_labels=selector),
        template=template({**(labels or {}), "app": name}, port, image, extra_ports),
    )
    return Deployment(metadata=ObjectMeta(name=name, namespace=namespace, labels=selector), spec=spec)


def stateful_set(name: str, replicas: int, port: int, *, namespace: str = "default") -> StatefulSet:
    """A StatefulSet governed by the headless Service `name` (its pods' subdomain)."""
    selector = pmap({"app": name})
    spec = StatefulSetSpec(
        replicas=replicas,
        selector=LabelSelector(match_labels=selector),
        template=template(selector, port),
        service_name=name,
    )
    return StatefulSet(metadata=ObjectMeta(name=name, namespace=namespace, labels=selector), spec=spec)


def service(
    name: str, app: str, by_name: bool, *, namespace: str = "default", headless: bool = False,
    affinity: int | None = None,
) -> Service:
    """Port 80 `http` to targetPort `web` (by name) or 8080; ClientIP affinity for
    `affinity` seconds when given."""
    target: int | str = "web" if by_name else 8080
    spec = ServiceSpec(
        selector=pmap({"app": app}),
        ports=(ServicePort(port=80, name="http", target_port=target),),
        cluster_ip="None" if headless else "",
    )
    if affinity is not None:
        config = SessionAffinityConfig(client_ip=ClientIPConfig(timeout_seconds=affinity))
        spec = attrs.evolve(spec, session_affinity=ServiceAffinity.CLIENT_IP, session_affinity_config=config)
    return Service(metadata=ObjectMeta(name=name, namespace=namespace), spec=spec)


_CHOSEN: Final = re.compile(r" -> (\d+\.\d+\.\d+\.\d+):(\d+)")


def chosen_backend(r: Route) -> tuple[str, int] | None:
    """The backend (ip, port) the source node's kube-proxy picked for a connection, whether
    or not it was then delivered (None: no rule forwarded it)."""
    for hop in r.hops:
        if hop.step == "kube-proxy":
            found = _CHOSEN.search(hop.detail)
            if found is not None:
                return found.group(1), int(found.group(2))
    return None


def fqdn(svc: Service) -> str:
    return f"{svc.metadata.name}.{svc.metadata.namespace}.svc.{ZONE}."


def headless(svc: Service) -> bool:
    return svc.spec.cluster_ip == "None"


def selects(svc: Service, pod: Pod) -> bool:
    return pod.metadata.namespace == svc.metadata.namespace and all(
        pod.metadata.labels.get(k) == v for k, v in svc.spec.selector.items()
    )


def dns_hostname(pod: Pod, svc: Service) -> str:
    """The name DNS gives `pod` under `svc`: its hostname when its subdomain is the
    Service, else its IP with dashes (the kubernetes/dns specification)."""
    if pod.spec.hostname and pod.spec.subdomain == svc.metadata.name:
        return pod.spec.hostname
    return pod.status.pod_ip.replace(".", "-")


@attrs.frozen
class Pin:
    """What a ClientIP client was last sent to, and the backends there were then."""

    backend: tuple[str, int]
    backends: frozenset[tuple[str, int]]


class Network(RuleBasedStateMachine):
    apps = Bundle("apps")
    down_nodes = Bundle("down_nodes")
    cut_nodes = Bundle("cut_nodes")

    NAMESPACES: ClassVar[tuple[str, ...]] = ("default",)

    def __init__(self) -> None:
        super().__init__()
        self.c = self.fresh(0)
        self.made = 0
        self.down: set[str] = set()
        self.cut: set[str] = set()
        self.deleted: dict[tuple[str, str], str] = {}  # (namespace, service) -> its ClusterIP
        self.pins: dict[tuple[str, str, str], Pin] = {}  # (client ip, namespace, service)

    def fresh(self, seed: int) -> Cluster:
        """The cluster a run starts from."""
        return base_cluster(seed)

    @initialize(seed=st.integers(0, 1))
    def boot(self, seed: int) -> None:
        self.c = self.fresh(seed)

    def settle(self) -> None:
        self.c.settle(max_seconds=120)

    def name(self) -> str:
        self.made += 1
        return f"app-{self.made}"

    # -- rules

    @rule(target=apps, replicas=st.integers(0, 3), by_name=st.booleans(), affinity=st.none() | st.sampled_from((30, 600)))
    def create_app(self, replicas: int, by_name: bool, affinity: int | None = None) -> App:
        name = self.name()
        assert self.c.request(Create(obj=deployment(name, replicas, 8080))).ok
        assert self.c.request(Create(obj=service(name, name, by_name, affinity=affinity))).ok
        self.settle()
        return App(Kind.DEPLOYMENT, "default", name)

    @rule(target=apps, replicas=st.integers(0, 3), by_name=st.booleans())
    def create_stateful(self, replicas: int, by_name: bool) -> App:
        """A StatefulSet and its headless governing Service (the pods' DNS subdomain)."""
        name = self.name()
        assert self.c.request(Create(obj=service(name, name, by_name, headless=True))).ok
        assert self.c.request(Create(obj=stateful_set(name, replicas, 8080))).ok
        self.settle()
        return App(Kind.STATEFUL_SET, "default", name)

    @rule(app=apps, replicas=st.integers(0, 4))
    def scale(self, app: App, replicas: int) -> None:
        self.c.request(UpdateScale(key=app.key, replicas=replicas))
        self.settle()

    @rule(app=apps, port=st.sampled_from((8080, 9090)))
    def roll(self, app: App, port: int) -> None:
        """A new template: the image changes, and the named port may move (targetPort by
        name follows it, by number does not)."""
        workload = get(self.c.state, app.key)
        if not isinstance(workload, (Deployment, StatefulSet)):
            return
        self.made += 1
        old = workload.spec.template
        (container, *rest) = old.spec.containers
        ports = tuple(attrs.evolve(p, container_port=port) if p.name == "web" else p for p in container.ports)
        new = attrs.evolve(container, image=f"nginx:1.{self.made}", ports=ports)
        rolled = attrs.evolve(old, spec=attrs.evolve(old.spec, containers=(new, *rest)))
        if isinstance(workload, Deployment):
            self.c.request(Update(obj=attrs.evolve(workload, spec=attrs.evolve(workload.spec, template=rolled))))
        else:
            self.c.request(Update(obj=attrs.evolve(workload, spec=attrs.evolve(workload.spec, template=rolled))))
        self.settle()

    @rule(app=consumes(apps))
    def delete_app(self, app: App) -> None:
        """The workload and its Service go; the Service's names must go from DNS."""
        svc = get(self.c.state, ObjectKey(kind=Kind.SERVICE, namespace=app.namespace, name=app.name))
        assert isinstance(svc, Service)
        self.c.request(Delete(key=app.key))
        self.c.request(Delete(key=ObjectKey(kind=Kind.SERVICE, namespace=app.namespace, name=app.name)))
        self.deleted[(app.namespace, app.name)] = svc.spec.cluster_ip
        self.settle()

    @rule(data=st.data())
    def delete_pod(self, data: st.DataObject) -> None:
        pods = self.pods()
        if pods:
            p = data.draw(st.sampled_from(pods))
            self.c.request(Delete(key=ObjectKey(kind=Kind.POD, namespace=p.metadata.namespace, name=p.metadata.name)))
            self.settle()

    @rule(data=st.data())
    def kill_container(self, data: st.DataObject) -> None:
        pods = [p for p in self.pods() if p.status.phase is PodPhase.RUNNING and p.spec.node_name not in self.down]
        if pods:
            p = data.draw(st.sampled_from(pods))
            pod_key = ObjectKey(kind=Kind.POD, namespace=p.metadata.namespace, name=p.metadata.name)
            self.c.inject(KillContainer(node=p.spec.node_name, pod=pod_key, container="app"))
            self.settle()

    @rule(target=down_nodes, node=st.sampled_from(NODES))
    def crash(self, node: str) -> str:
        self.c.inject(CrashNode(node=node))
        self.down.add(node)
        self.settle()
        return node

    @rule(node=consumes(down_nodes))
    def restart(self, node: str) -> None:
        self.c.inject(RestartNode(node=node))
        self.down.discard(node)
        self.settle()

    @rule(target=cut_nodes, node=st.sampled_from(NODES))
    def partition(self, node: str) -> str:
        self.c.inject(PartitionNode(node=node))
        self.cut.add(node)
        self.settle()
        return node

    @rule(node=consumes(cut_nodes))
    def heal(self, node: str) -> None:
        self.c.inject(HealPartition(node=node))
        self.cut.discard(node)
        self.settle()

    @rule(seconds=st.sampled_from((10.0, 60.0)))
    def advance(self, seconds: float) -> None:
        self.c.advance(seconds)
        self.settle()

    @rule()
    def converge(self) -> None:
        for node in sorted(self.down):
            self.c.inject(RestartNode(node=node))
        for node in sorted(self.cut):
            self.c.inject(HealPartition(node=node))
        self.down.clear()
        self.cut.clear()
        self.c.advance(60)
        self.settle()
        self.at_fixed_point()

    # -- reading

    def pods(self) -> list[Pod]:
        """The pod-network pods of the machine's namespaces (a hostNetwork pod has its node's
        address and is not on the pod network)."""
        return [
            p for ns in self.NAMESPACES for p in list_objects(self.c.state, Kind.POD, ns)
            if isinstance(p, Pod) and not p.spec.host_network
        ]

    def services(self) -> list[Service]:
        return [
            s for ns in self.NAMESPACES for s in list_objects(self.c.state, Kind.SERVICE, ns)
            if isinstance(s, Service) and s.spec.selector
        ]

    def cluster_ip_services(self) -> list[Service]:
        return [s for s in self.services() if not headless(s)]

    def ready_selected(self, svc: Service) -> list[Pod]:
        """The Ready, not terminating pods `svc` selects that have an IP and serve its port."""
        return [
            p for p in self.pods()
            if selects(svc, p) and is_pod_ready(p) and p.metadata.deletion_timestamp is None and p.status.pod_ip
            and find_port(p, svc.spec.ports[0]) is not None
        ]

    def selected_ready(self, svc: Service) -> set[tuple[str, int]]:
        """(ip, port) of the Ready, not terminating pods `svc` selects."""
        out = set()
        for p in self.ready_selected(svc):
            port = find_port(p, svc.spec.ports[0])
            assert port is not None
            out.add((p.status.pod_ip, port))
        return out

    def up_ready_nodes(self) -> set[str]:
        """Nodes that are up, not cut off and Ready: their proxies run current rules (a
        partitioned or down node's proxy keeps its last rules by design, as a real one
        does, so it may still send to a pod since marked not Ready)."""
        return {
            n.metadata.name for n in list_objects(self.c.state, Kind.NODE)
            if isinstance(n, Node) and node_ready(n) and n.metadata.name not in self.down | self.cut
        }

    def clients(self, limit: int) -> list[Pod]:
        ready = self.up_ready_nodes()
        return [
            p for p in self.pods() if p.status.phase is PodPhase.RUNNING and p.status.pod_ip and p.spec.node_name in ready
        ][:limit]

    # -- safety

    @invariant()
    def pod_ips_are_distinct_and_inside_their_nodes_cidr(self) -> None:
        seen: dict[str, str] = {}
        for p in list_objects(self.c.state, Kind.POD):
            assert isinstance(p, Pod)
            ip = p.status.pod_ip
            if not ip or p.spec.host_network or p.status.phase in (PodPhase.SUCCEEDED, PodPhase.FAILED):
                continue
            assert ip not in seen, (ip, seen[ip], p.metadata.name)
            seen[ip] = p.metadata.name
            node = get(self.c.state, ObjectKey(kind=Kind.NODE, namespace="", name=p.spec.node_name))
            assert isinstance(node, Node) and node.spec.pod_cidr
            assert ipaddress.ip_address(ip) in ipaddress.ip_network(node.spec.pod_cidr), (ip, node.spec.pod_cidr)

    @invariant()
    def service_connections_land_on_ready_selected_backends_or_are_refused(self) -> None:
        net = network_from(self.c.snapshot())
        clients = self.clients(2)
        for svc in self.cluster_ip_services():
            for client in clients:
                for source_port in (40000, 40001, 40002):
                    r = route(net, Source(pod=client), Destination(host=svc.spec.cluster_ip, port=80), source_port=source_port)
                    if not r.delivered:
                        assert r.reason
                        continue
                    assert r.backend is not None and r.backend.pod is not None
                    backend = get(self.c.state, ObjectKey(kind=Kind.POD, namespace=svc.metadata.namespace, name=r.backend.pod))
                    assert isinstance(backend, Pod)
                    assert selects(svc, backend)
                    assert is_pod_ready(backend), (svc.metadata.name, backend.metadata.name)
                    assert r.backend.port == find_port(backend, svc.spec.ports[0])

    @invariant()
    def client_ip_affinity_keeps_a_client_on_its_backend_while_it_lives(self) -> None:
        net = network_from(self.c.snapshot())
        for svc in self.cluster_ip_services():
            if svc.spec.session_affinity is not ServiceAffinity.CLIENT_IP:
                continue
            key = ObjectKey(kind=Kind.SERVICE, namespace=svc.metadata.namespace, name=svc.metadata.name)
            for client in self.clients(4):
                rules = net.rules_on(client.spec.node_name, key)
                forward = [r for r in rules.rules if r.frontend.value == "cluster-ip"] if rules is not None else []
                backends = frozenset((b.ip, b.port) for r in forward for b in r.backends)
                picks = {
                    chosen_backend(route(net, Source(pod=client), Destination(host=svc.spec.cluster_ip, port=80), source_port=sp))
                    for sp in (40000, 40001, 40002, 50000)
                }
                assert len(picks) == 1, (svc.metadata.name, client.metadata.name, picks)  # one backend per client
                (pick,) = picks
                pin_key = (client.status.pod_ip, svc.metadata.namespace, svc.metadata.name)
                pin = self.pins.get(pin_key)
                if pick is None:
                    assert not backends
                    self.pins.pop(pin_key, None)
                    continue
                assert pick in backends
                if pin is not None and pin.backend in backends and pick != pin.backend:
                    # the old backend is still an endpoint: only a newcomer may take the client
                    assert pick not in pin.backends, (svc.metadata.name, client.metadata.name, pin, pick)
                self.pins[pin_key] = Pin(backend=pick, backends=backends)

    @invariant()
    def dns_answers_what_the_api_holds(self) -> None:
        zone = network_from(self.c.snapshot()).zone
        serving = any(
            is_pod_ready(p) for p in list_objects(self.c.state, Kind.POD, "kube-system")
            if isinstance(p, Pod) and p.metadata.labels.get("k8s-app") == "kube-dns"
        )
        if not serving:
            for svc in self.services():
                assert resolve(zone, fqdn(svc), RecordType.A).rcode is Rcode.SERVFAIL
            return
        ptr: dict[str, set[tuple[str, str, str]]] = {}
        for svc in self.services():
            self.check_service_dns(zone, svc, ptr)
        for ip, entries in sorted(ptr.items()):
            want = [f"{host}.{name}.{ns}.svc.{ZONE}." for ns, name, host in sorted(entries)]
            assert [a.data for a in resolve(zone, reverse_name(ip), RecordType.PTR).answers] == want, (ip, want)
        for pod in self.pods():
            ip = pod.status.pod_ip
            if ip:
                name = f"{ip.replace('.', '-')}.{pod.metadata.namespace}.pod.{ZONE}."
                assert [a.data for a in resolve(zone, name, RecordType.A).answers] == [ip]
            if pod.spec.subdomain and pod.spec.hostname and not any(ip == e for e in ptr):
                name = f"{pod.spec.hostname}.{pod.spec.subdomain}.{pod.metadata.namespace}.svc.{ZONE}."
                assert resolve(zone, name, RecordType.A).rcode is Rcode.NXDOMAIN, name
        live = {(s.metadata.namespace, s.metadata.name) for s in self.services()}
        for (ns, name), cluster_ip in sorted(self.deleted.items()):
            if (ns, name) in live:
                continue
            for qname, qtype in ((f"{name}.{ns}.svc.{ZONE}.", RecordType.A), (f"_http._tcp.{name}.{ns}.svc.{ZONE}.", RecordType.SRV)):
                assert resolve(zone, qname, qtype).rcode is Rcode.NXDOMAIN, qname
            if cluster_ip not in ("", "None"):
                gone = resolve(zone, reverse_name(cluster_ip), RecordType.PTR)
                assert f"{name}.{ns}.svc.{ZONE}." not in [a.data for a in gone.answers]

    def check_service_dns(self, zone: Zone, svc: Service, ptr: dict[str, set[tuple[str, str, str]]]) -> None:
        """One Service's A, SRV, PTR and per-endpoint names; records the PTR entries its
        Ready endpoints should have."""
        name = fqdn(svc)
        ready = sorted(self.ready_selected(svc), key=lambda p: ipaddress.ip_address(p.status.pod_ip))
        for p in ready:
            ptr.setdefault(p.status.pod_ip, set()).add((svc.metadata.namespace, svc.metadata.name, dns_hostname(p, svc)))
            host = resolve(zone, f"{dns_hostname(p, svc)}.{name}", RecordType.A)
            assert [a.data for a in host.answers] == [p.status.pod_ip], (svc.metadata.name, p.metadata.name)
        a = resolve(zone, name, RecordType.A)
        srv = resolve(zone, f"_http._tcp.{name}", RecordType.SRV)
        if headless(svc):
            if not ready:
                assert (a.rcode, srv.rcode) == (Rcode.NXDOMAIN, Rcode.NXDOMAIN), svc.metadata.name
                return
            assert [x.data for x in a.answers] == [p.status.pod_ip for p in ready], svc.metadata.name
            weight = 100 // len(ready)
            want = sorted(f"0 {weight} {find_port(p, svc.spec.ports[0])} {dns_hostname(p, svc)}.{name}" for p in ready)
            assert sorted(x.data for x in srv.answers) == want, svc.metadata.name
            return
        assert (a.rcode, [x.data for x in a.answers]) == (Rcode.NOERROR, [svc.spec.cluster_ip]), svc.metadata.name
        assert [x.data for x in srv.answers] == [f"0 100 80 {name}"], svc.metadata.name
        back = resolve(zone, reverse_name(svc.spec.cluster_ip), RecordType.PTR)
        assert [x.data for x in back.answers] == [name], svc.metadata.name
        dns_ip = cluster_dns_ip(self.c.state.config.service_cidr)
        for client in self.pods()[:1]:
            short = svc.metadata.name if client.metadata.namespace == svc.metadata.namespace else f"{svc.metadata.name}.{svc.metadata.namespace}"
            found = lookup(zone, pod_resolv_conf(client, cluster_dns=(dns_ip,)), short, RecordType.A)
            assert (found.fqdn, [x.data for x in found.reply.answers]) == (name, [svc.spec.cluster_ip]), short

    # -- at a fixed point

    def at_fixed_point(self) -> None:
        state = self.c.state
        net = network_from(self.c.snapshot())
        for svc in self.services():
            ns = svc.metadata.namespace
            want = self.selected_ready(svc)
            ep = get(state, ObjectKey(kind=Kind.ENDPOINTS, namespace=ns, name=svc.metadata.name))
            assert isinstance(ep, Endpoints)
            listed = {(a.ip, p.port) for s in ep.subsets for a in s.addresses for p in s.ports}
            assert listed == want, (svc.metadata.name, listed, want)
            slices = [
                s for s in list_objects(state, Kind.ENDPOINT_SLICE, ns)
                if isinstance(s, EndpointSlice) and s.metadata.labels.get(LABEL_SERVICE_NAME) == svc.metadata.name
            ]
            in_slices = {
                (e.addresses[0], p.port)
                for s in slices for e in s.endpoints for p in s.ports
                if e.conditions.ready and p.port is not None
            }
            assert in_slices == want, (svc.metadata.name, in_slices, want)
            if not headless(svc):
                self.proxies_agree(net, svc, want)
        running = [p for p in self.pods() if p.status.phase is PodPhase.RUNNING and p.status.pod_ip]
        for a in running[:3]:
            self.reaches_everything(net, a, running)

    def proxies_agree(self, net: Net, svc: Service, want: set[tuple[str, int]]) -> None:
        key = ObjectKey(kind=Kind.SERVICE, namespace=svc.metadata.namespace, name=svc.metadata.name)
        for n in list_objects(self.c.state, Kind.NODE):
            assert isinstance(n, Node)
            if not node_ready(n):
                continue
            rules = net.rules_on(n.metadata.name, key)
            assert rules is not None
            (cluster_ip,) = [r for r in rules.rules if r.frontend.value == "cluster-ip"]
            if want:
                assert cluster_ip.target is Target.FORWARD
                assert {(b.ip, b.port) for b in cluster_ip.backends} == want, n.metadata.name
            else:
                assert cluster_ip.target is Target.REJECT

    def reaches_everything(self, net: Net, a: Pod, running: list[Pod]) -> None:
        """`a` reaches every Running pod directly and every ClusterIP Service by name."""
        for b in running:
            port = b.spec.containers[0].ports[0].container_port
            r = route(net, Source(pod=a), Destination(host=b.status.pod_ip, port=port))
            assert r.delivered and r.source_ip_seen == a.status.pod_ip, r.reason
        for svc in self.cluster_ip_services():
            host = svc.metadata.name if svc.metadata.namespace == a.metadata.namespace else f"{svc.metadata.name}.{svc.metadata.namespace}"
            r = route(net, Source(pod=a), Destination(host=host, port=80))
            found = r.hops[1].detail if len(r.hops) > 1 else ""
            assert svc.spec.cluster_ip in found, (svc.metadata.name, found)
            ready = self.selected_ready(svc)
            if not ready:
                assert (r.delivered, r.reason) == (False, f"service {svc.metadata.namespace}/{svc.metadata.name} has no endpoints")
            elif r.delivered:
                assert r.backend is not None and (r.backend.ip, r.backend.port) in ready
            else:  # a targetPort by number the rolled pods no longer declare
                assert "is not served by any container" in r.reason, r.reason

    def teardown(self) -> None:
        if self.c is not None and (self.made or self.down or self.cut):
            self.converge()


def machine_settings(*, ci_examples: int, ci_steps: int, deep_steps: int) -> settings:
    """A whole-cluster machine's settings: bounded runs in the `ci` profile, and in `deep`
    (KCORE_HYPOTHESIS_PROFILE=deep) the profile's many examples of longer programs."""
    if os.environ.get("KCORE_HYPOTHESIS_PROFILE", "ci") == "deep":
        return settings(stateful_step_count=deep_steps, deadline=None)
    return settings(max_examples=ci_examples, stateful_step_count=ci_steps, deadline=None)


Network.TestCase.settings = machine_settings(ci_examples=60, ci_steps=30, deep_steps=80)
test_network = Network.TestCase


PROGRAM: Final[tuple[tuple[str, dict[str, object]], ...]] = (
    ("create_app", {"replicas": 3, "by_name": True}),
    ("create_app", {"replicas": 2, "by_name": False}),
    ("roll", {"app": App(Kind.DEPLOYMENT, "default", "app-1"), "port": 9090}),  # the named port moves: the Service follows
    ("roll", {"app": App(Kind.DEPLOYMENT, "default", "app-2"), "port": 9090}),  # by number: the Service still targets 8080
    ("partition", {"node": "node-3"}),
    ("advance", {"seconds": 60.0}),
    ("scale", {"app": App(Kind.DEPLOYMENT, "default", "app-1"), "replicas": 1}),
    ("crash", {"node": "node-2"}),
    ("kill_container", {"data": None}),
    ("converge", {}),
    ("scale", {"app": App(Kind.DEPLOYMENT, "default", "app-2"), "replicas": 0}),
    ("converge", {}),
)


def test_a_program_of_rolls_faults_and_scaling_keeps_every_law() -> None:
    """The machine's rules in a fixed order, with every invariant after each (as a shrunk
    program would run): rolling updates with readiness probes, a partition, a crash."""

    m = Network()
    m.boot(0)
    for name, kwargs in PROGRAM:
        args = {k: (FirstDraw() if v is None else v) for k, v in kwargs.items()}
        getattr(m, name)(**args)
        m.pod_ips_are_distinct_and_inside_their_nodes_cidr()
        m.service_connections_land_on_ready_selected_backends_or_are_refused()
        m.dns_answers_what_the_api_holds()
    assert {s.metadata.name for s in m.services()} == {"app-1", "app-2"}
    assert m.selected_ready(next(s for s in m.services() if s.metadata.name == "app-1"))


class FirstDraw:
    """`st.data()` for a fixed program: every draw takes the first element offered."""

    def draw(self, strategy: object) -> object:
        return strategy.elements[0]  # type: ignore[attr-defined]  # a sampled_from strategy
