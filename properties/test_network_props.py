"""Laws of service networking over the WHOLE cluster, under faults and rolling updates.

A `RuleBasedStateMachine` runs every default component (`kcore.driver.new_cluster`: the
controllers, the scheduler, a kubelet per node, kube-proxy, CoreDNS; 3 nodes) and tours
the API: create Deployments (with a readiness probe, containers naming their port) and
Services selecting them (targetPort by number or by name), scale them, roll their
template, delete pods, kill containers, crash/restart and partition/heal nodes, advance
time. Every rule ends settled, as a `kcore` command does, so the proxies and the DNS have
caught up with the API.

Checked after every rule:
- pod IPs are pairwise distinct and inside their node's podCIDR;
- every connection from a Running pod to a Service's ClusterIP is delivered to a pod that
  is Ready (a rolling update with readiness probes never routes to a pod not Ready),
  selected by that Service, on the port its targetPort names, or it is refused with a
  reason.

At a fixed point (`converge`: every fault healed, time advanced, settled):
- the Endpoints and the EndpointSlices of every Service list exactly its selected Ready
  pods on the resolved targetPort;
- every Ready node's kube-proxy forwards every ClusterIP to exactly those backends (the
  proxies agree);
- every Running pod reaches every other Running pod's IP directly, seen as itself, and
  every Service that has Ready pods by its DNS name, landing on one of them;
- DNS answers agree with the API: each Service's name resolves to its ClusterIP.
"""

from __future__ import annotations

import ipaddress
from typing import Final

import attrs
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, initialize, invariant, rule
from pyrsistent import pmap

from kcore.api.apps import Deployment, DeploymentSpec
from kcore.api.core import Endpoints, Node, Service, ServicePort, ServiceSpec
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
from kcore.network.dns import Rcode, RecordType, resolve
from kcore.network.route import Destination, Source, route
from kcore.network.rules import Target, node_ready
from kcore.state import ClusterConfig, get, list_objects

NODES: Final = ("node-1", "node-2", "node-3")
_BASES: dict[int, Cluster] = {}


def base_cluster(seed: int) -> Cluster:
    if seed not in _BASES:
        _BASES[seed] = new_cluster(ClusterConfig(seed=seed), nodes=len(NODES))
    return _BASES[seed].fork()


def deployment(name: str, replicas: int, port: int, image: str = "nginx:1.25") -> Deployment:
    probe = Probe(exec=ExecAction(command=("true",)), period_seconds=2)
    container = Container(
        name="app", image=image, ports=(ContainerPort(container_port=port, name="web"),), readiness_probe=probe
    )
    labels = pmap({"app": name})
    template = PodTemplateSpec(metadata=ObjectMeta(labels=labels), spec=PodSpec(containers=(container,)))
    spec = DeploymentSpec(replicas=replicas, selector=LabelSelector(match_labels=labels), template=template)
    return Deployment(metadata=ObjectMeta(name=name, namespace="default", labels=labels), spec=spec)


def service(name: str, app: str, by_name: bool) -> Service:
    target: int | str = "web" if by_name else 8080
    spec = ServiceSpec(selector=pmap({"app": app}), ports=(ServicePort(port=80, name="http", target_port=target),))
    return Service(metadata=ObjectMeta(name=name, namespace="default"), spec=spec)


class Network(RuleBasedStateMachine):
    apps = Bundle("apps")
    down_nodes = Bundle("down_nodes")
    cut_nodes = Bundle("cut_nodes")

    def __init__(self) -> None:
        super().__init__()
        self.c = base_cluster(0)
        self.made = 0
        self.down: set[str] = set()
        self.cut: set[str] = set()

    @initialize(seed=st.integers(0, 1))
    def boot(self, seed: int) -> None:
        self.c = base_cluster(seed)

    def settle(self) -> None:
        self.c.settle(max_seconds=120)

    # -- rules

    @rule(target=apps, replicas=st.integers(0, 3), by_name=st.booleans())
    def create_app(self, replicas: int, by_name: bool) -> str:
        self.made += 1
        name = f"app-{self.made}"
        assert self.c.request(Create(obj=deployment(name, replicas, 8080))).ok
        assert self.c.request(Create(obj=service(name, name, by_name))).ok
        self.settle()
        return name

    @rule(app=apps, replicas=st.integers(0, 4))
    def scale(self, app: str, replicas: int) -> None:
        key = ObjectKey(kind=Kind.DEPLOYMENT, namespace="default", name=app)
        self.c.request(UpdateScale(key=key, replicas=replicas))
        self.settle()

    @rule(app=apps, port=st.sampled_from((8080, 9090)))
    def roll(self, app: str, port: int) -> None:
        """A new template: the image changes, and the named port may move (targetPort by
        name follows it, by number does not)."""
        key = ObjectKey(kind=Kind.DEPLOYMENT, namespace="default", name=app)
        d = get(self.c.state, key)
        if not isinstance(d, Deployment):
            return
        self.made += 1
        new = deployment(app, d.spec.replicas if d.spec.replicas is not None else 1, port, image=f"nginx:1.{self.made}")
        self.c.request(Update(obj=attrs.evolve(d, spec=attrs.evolve(d.spec, template=new.spec.template))))
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
        return [p for p in list_objects(self.c.state, Kind.POD, "default") if isinstance(p, Pod)]

    def services(self) -> list[Service]:
        return [s for s in list_objects(self.c.state, Kind.SERVICE, "default") if isinstance(s, Service) and s.spec.selector]

    def selected_ready(self, svc: Service) -> set[tuple[str, int]]:
        """(ip, port) of the Ready, not terminating pods `svc` selects."""
        out = set()
        for p in self.pods():
            selected = all(p.metadata.labels.get(k) == v for k, v in svc.spec.selector.items())
            if selected and is_pod_ready(p) and p.metadata.deletion_timestamp is None and p.status.pod_ip:
                port = find_port(p, svc.spec.ports[0])
                if port is not None:
                    out.add((p.status.pod_ip, port))
        return out

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
        # clients on nodes that are up and Ready: a partitioned or down node's proxy keeps its
        # last rules by design (a real one does), so it may still send to a pod since marked
        # not Ready by the node lifecycle controller
        ready_nodes = {
            n.metadata.name for n in list_objects(self.c.state, Kind.NODE)
            if isinstance(n, Node) and node_ready(n) and n.metadata.name not in self.down | self.cut
        }
        clients = [
            p for p in self.pods()
            if p.status.phase is PodPhase.RUNNING and p.status.pod_ip and p.spec.node_name in ready_nodes
        ][:2]
        for svc in self.services():
            for client in clients:
                for source_port in (40000, 40001, 40002):
                    r = route(net, Source(pod=client), Destination(host=svc.spec.cluster_ip, port=80), source_port=source_port)
                    if not r.delivered:
                        assert r.reason
                        continue
                    assert r.backend is not None and r.backend.pod is not None
                    backend = get(self.c.state, ObjectKey(kind=Kind.POD, namespace="default", name=r.backend.pod))
                    assert isinstance(backend, Pod)
                    assert all(backend.metadata.labels.get(k) == v for k, v in svc.spec.selector.items())
                    assert is_pod_ready(backend), (svc.metadata.name, backend.metadata.name)
                    assert r.backend.port == find_port(backend, svc.spec.ports[0])

    # -- at a fixed point

    def at_fixed_point(self) -> None:
        state = self.c.state
        net = network_from(self.c.snapshot())
        for svc in self.services():
            want = self.selected_ready(svc)
            ep = get(state, ObjectKey(kind=Kind.ENDPOINTS, namespace="default", name=svc.metadata.name))
            assert isinstance(ep, Endpoints)
            listed = {(a.ip, p.port) for s in ep.subsets for a in s.addresses for p in s.ports}
            assert listed == want, (svc.metadata.name, listed, want)
            slices = [
                s for s in list_objects(state, Kind.ENDPOINT_SLICE, "default")
                if isinstance(s, EndpointSlice) and s.metadata.labels.get(LABEL_SERVICE_NAME) == svc.metadata.name
            ]
            in_slices = {
                (e.addresses[0], p.port)
                for s in slices for e in s.endpoints for p in s.ports
                if e.conditions.ready and p.port is not None
            }
            assert in_slices == want, (svc.metadata.name, in_slices, want)
            for n in list_objects(state, Kind.NODE):
                assert isinstance(n, Node)
                if not node_ready(n):
                    continue
                rules = net.rules_on(n.metadata.name, ObjectKey(kind=Kind.SERVICE, namespace="default", name=svc.metadata.name))
                assert rules is not None
                (cluster_ip,) = [r for r in rules.rules if r.frontend.value == "cluster-ip"]
                if want:
                    assert cluster_ip.target is Target.FORWARD
                    assert {(b.ip, b.port) for b in cluster_ip.backends} == want, n.metadata.name
                else:
                    assert cluster_ip.target is Target.REJECT
        running = [p for p in self.pods() if p.status.phase is PodPhase.RUNNING and p.status.pod_ip]
        for a in running[:3]:
            for b in running:
                port = b.spec.containers[0].ports[0].container_port
                r = route(net, Source(pod=a), Destination(host=b.status.pod_ip, port=port))
                assert r.delivered and r.source_ip_seen == a.status.pod_ip, r.reason
            for svc in self.services():
                r = route(net, Source(pod=a), Destination(host=svc.metadata.name, port=80))
                found = r.hops[1].detail if len(r.hops) > 1 else ""
                assert svc.spec.cluster_ip in found, (svc.metadata.name, found)
                ready = self.selected_ready(svc)
                if not ready:
                    assert (r.delivered, r.reason) == (False, f"service default/{svc.metadata.name} has no endpoints")
                elif r.delivered:
                    assert r.backend is not None and (r.backend.ip, r.backend.port) in ready
                else:  # a targetPort by number the rolled pods no longer declare
                    assert "is not served by any container" in r.reason, r.reason
        for svc in self.services():
            reply = resolve(net.zone, f"{svc.metadata.name}.default.svc.cluster.local.", RecordType.A)
            assert reply.rcode is Rcode.NOERROR and [a.data for a in reply.answers] == [svc.spec.cluster_ip]

    def teardown(self) -> None:
        if self.c is not None and (self.made or self.down or self.cut):
            self.converge()


Network.TestCase.settings = settings(stateful_step_count=8, deadline=None)
test_network = Network.TestCase



PROGRAM: Final = (
    ("create_app", {"replicas": 3, "by_name": True}),
    ("create_app", {"replicas": 2, "by_name": False}),
    ("roll", {"app": "app-1", "port": 9090}),  # the named port moves: the Service follows
    ("roll", {"app": "app-2", "port": 9090}),  # by number: the Service still targets 8080
    ("partition", {"node": "node-3"}),
    ("advance", {"seconds": 60.0}),
    ("scale", {"app": "app-1", "replicas": 1}),
    ("crash", {"node": "node-2"}),
    ("kill_container", {"data": None}),
    ("converge", {}),
    ("scale", {"app": "app-2", "replicas": 0}),
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
    assert {s.metadata.name for s in m.services()} == {"app-1", "app-2"}
    assert m.selected_ready(next(s for s in m.services() if s.metadata.name == "app-1"))


class FirstDraw:
    """`st.data()` for a fixed program: every draw takes the first element offered."""

    def draw(self, strategy: object) -> object:
        return strategy.elements[0]  # type: ignore[attr-defined]  # a sampled_from strategy
