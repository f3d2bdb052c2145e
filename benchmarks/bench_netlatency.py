"""Network programming latency in simulated time: pod Ready -> every node's kube-proxy
table holds it, as upstream's SLI (SIG scalability: p99 <= 30 s).

`python -m benchmarks.bench_netlatency [--nodes 1000] [--services 20] [--replicas 50]
[--client-limits upstream|none]`

Upstream's SLI (kubernetes/community sig-scalability/slos/network_programming_latency.md):
the latency of programming one in-cluster load-balancing mechanism (kube-proxy's rules on
one node), from when a Service's spec or its set of Ready pods changes to when the node's
rules reflect it, aggregated across all programmers; kube-proxy exports it as
`network_programming_duration_seconds`, from the EndpointSlice's
`endpoints.kubernetes.io/last-change-trigger-time` (the change's time, a pod's Ready
transition) to the end of the sync that programmed it.

The run: `kcore.driver.new_cluster` with `nodes` nodes and the add-ons (CoreDNS,
kube-proxy, the ingress controller), with upstream's client rate limits by default (the
EndpointSlice controller writes at 20 QPS, burst 30, as kube-controller-manager's
client does); `services` Deployments of `replicas` pods, each behind its ClusterIP
Service, go through three phases, each run until every Deployment is complete and
every Ready pod is in every node's table:
- **create**: the Services and Deployments are created;
- **scale up**: every Deployment doubles;
- **rolling update**: every Deployment's image changes (25% surge, 25% unavailable).

Measured, in simulated time, without touching the driver: `Cluster.advance_until` calls
its condition after every instant of simulated time, and that is where the benchmark
looks. When kube-proxy's programmed tables changed in that instant (`ProxyState`
`programmed` and `frozen`, read with `component_state`), each watched Service's backends
are read per node (`service_rules_on` over the node's table: the shared rules, the node's
override, or its frozen table); every backend address new on a node is one sample: its
pod (the endpoint's targetRef) became Ready at T0 (its Ready condition's
lastTransitionTime), and the latency is now - T0. Nodes that share a table share the
sample, so a sample carries a weight (the number of nodes) rather than being copied
5,000 times. Also recorded, as kube-proxy would export it: for each slice change a sync
programmed, now - the slice's last-change-trigger-time, for every node.

Checked: at the end of each phase every Ready pod of every Service is a backend on every
node (and every sample's pod was Ready), so no number comes from a run that silently
failed. Percentiles are over all (pod, node) samples, p50/p90/p99 and the maximum.
"""

from __future__ import annotations

import argparse
import datetime
import time
from collections.abc import Iterable
from typing import Final

import attrs
from pyrsistent import pmap

from benchmarks import BenchmarkError, tune_gc
from benchmarks.bench_deployment import with_image
from kcore.addons.kubeproxy import NAME as KUBE_PROXY
from kcore.addons.kubeproxy import ProxyState
from kcore.api.apps import Deployment, DeploymentSpec
from kcore.api.core import Service, ServicePort, ServiceSpec
from kcore.api.discovery import LABEL_SERVICE_NAME, EndpointSlice
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ObjectMeta
from kcore.api.pod import (
    Container,
    ContainerPort,
    LabelSelector,
    Pod,
    PodSpec,
    PodTemplateSpec,
    ResourceRequirements,
)
from kcore.cli.cluster import default_cluster_cidr
from kcore.component.requests import Create, Get, Update
from kcore.controllers.endpoint_util import ANNOTATION_LAST_CHANGE_TRIGGER_TIME
from kcore.controllers.podcontrol import is_pod_ready
from kcore.driver import new_cluster
from kcore.driver.cluster import Cluster
from kcore.network.rules import Frontend, RuleTable, ServiceRules, service_rules_on
from kcore.quantity import parse_quantity
from kcore.state import ClusterConfig, get, list_objects
from kcore.state import lookup as lookup_object

NAMESPACE: Final = "default"
IMAGE_V1: Final = "registry.k8s.io/nginx:1.25"
IMAGE_V2: Final = "registry.k8s.io/nginx:1.26"
PHASE_LIMIT: Final = 1800.0
"""Simulated seconds a phase may take before it counts as not converging."""
SLO_SECONDS: Final = 30.0
_REQUESTS = pmap({"cpu": parse_quantity("10m"), "memory": parse_quantity("16Mi")})


def app(k: int) -> str:
    return f"app-{k:03d}"


def deployment(k: int, replicas: int) -> Deployment:
    labels = pmap({"app": app(k)})
    container = Container(
        name="web", image=IMAGE_V1, ports=(ContainerPort(container_port=8080, name="http"),),
        resources=ResourceRequirements(requests=_REQUESTS),
    )
    return Deployment(
        metadata=ObjectMeta(name=app(k), namespace=NAMESPACE, labels=labels),
        spec=DeploymentSpec(
            replicas=replicas,
            selector=LabelSelector(match_labels=labels),
            template=PodTemplateSpec(metadata=ObjectMeta(labels=labels), spec=PodSpec(containers=(container,))),
        ),
    )


def service(k: int) -> Service:
    port = ServicePort(name="http", port=80, target_port="http")
    return Service(metadata=ObjectMeta(name=app(k), namespace=NAMESPACE), spec=ServiceSpec(ports=(port,), selector=pmap({"app": app(k)})))


def _key(kind: Kind, k: int) -> ObjectKey:
    return ObjectKey(kind=kind, namespace=NAMESPACE, name=app(k))


# --- the samples ------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Latency:
    """Weighted samples: (seconds, how many (pod, node) pairs had it)."""

    samples: tuple[tuple[float, int], ...]

    @property
    def count(self) -> int:
        return sum(w for _, w in self.samples)

    def quantile(self, q: float) -> float:
        """The smallest latency at or below which a share `q` of the samples lie."""
        ordered = sorted(self.samples)
        total = self.count
        need = q * total
        seen = 0
        for value, weight in ordered:
            seen += weight
            if seen >= need:
                return value
        return ordered[-1][0] if ordered else float("nan")

    @property
    def max(self) -> float:
        return max((v for v, _ in self.samples), default=float("nan"))


def _cluster_ip_backends(rules: ServiceRules | None) -> frozenset[str]:
    if rules is None:
        return frozenset()
    return frozenset(b.ip for r in rules.rules if r.frontend is Frontend.CLUSTER_IP for b in r.backends)


Backend = tuple[str, str]
"""(address, uid of the pod holding it): an address reused by a new pod is a new backend."""


def _tagged(ips: frozenset[str], pods: dict[str, Pod]) -> frozenset[Backend]:
    """Each address with the uid of the Ready pod holding it; "" when no Ready pod does
    (the table still holds a pod that is gone or going, whose address a new pod may have
    been given already)."""
    return frozenset((ip, pods[ip].metadata.uid if ip in pods and _ready_since(pods[ip]) is not None else "") for ip in ips)


def _parse_trigger(text: str) -> float:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class Observer:
    """Reads kube-proxy's tables after every instant and keeps the samples (the shell's
    side: plain mutable state, never the core's)."""

    def __init__(self, cluster: Cluster, services: Iterable[ObjectKey]) -> None:
        self.cluster = cluster
        self.services = tuple(services)
        self.last: tuple[RuleTable, object] | None = None
        # per Service: backends on the nodes with no table of their own, and the exceptions
        self.common: dict[ObjectKey, frozenset[Backend]] = {k: frozenset() for k in self.services}
        self.special: dict[ObjectKey, dict[str, frozenset[Backend]]] = {k: {} for k in self.services}
        self.seen_rules: dict[ObjectKey, object] = {}
        self.ready: list[tuple[float, int]] = []
        self.triggers: list[tuple[float, int]] = []
        self.trigger_seen: dict[tuple[str, str], str] = {}
        self.pending: list[float] = []  # trigger times of slice writes not yet programmed
        self.slice_table: object = None
        self.not_ready_samples = 0

    def proxy(self) -> ProxyState:
        s = self.cluster.component_state(KUBE_PROXY)
        if not isinstance(s, ProxyState):
            raise BenchmarkError("kube-proxy is not running")
        return s

    def observe(self) -> None:
        """Record what the last instant programmed (O(1) when it programmed nothing)."""
        self._slice_writes()
        s = self.proxy()
        if self.last is not None and self.last[0] is s.programmed and self.last[1] is s.frozen:
            return
        self.last = (s.programmed, s.frozen)
        nodes = tuple(s.programmed.node_ips)
        now = float(self.cluster.now)
        self.triggers.extend((now - t, len(nodes)) for t in self.pending)
        self.pending = []
        for key in self.services:
            marker = (s.programmed.services.get(key), s.programmed.override_nodes.get(key), s.frozen)
            if _same(self.seen_rules.get(key), marker):
                continue
            self.seen_rules[key] = marker
            self._service(s, key, len(nodes))

    def _service(self, s: ProxyState, key: ObjectKey, nodes: int) -> None:
        now = float(self.cluster.now)
        pods = self._pods_by_ip(key)
        special_nodes = set(s.frozen) | set(s.programmed.override_nodes.get(key, ()))
        common = _tagged(_cluster_ip_backends(s.programmed.services.get(key)), pods)
        special = {
            n: _tagged(_cluster_ip_backends(service_rules_on(s.frozen.get(n, s.programmed), n, key)), pods) for n in special_nodes
        }
        old_common, old_special = self.common[key], self.special[key]
        added: dict[Backend, int] = {b: nodes - len(set(old_special) | special_nodes) for b in common - old_common}
        for n in set(old_special) | special_nodes:
            for b in special.get(n, common) - old_special.get(n, old_common):
                added[b] = added.get(b, 0) + 1
        for (ip, uid), weight in added.items():
            if weight <= 0 or not uid:
                continue
            pod = pods.get(ip)
            t0 = _ready_since(pod) if pod is not None else None
            if t0 is None:
                self.not_ready_samples += weight
                continue
            self.ready.append((now - t0, weight))
        self.common[key], self.special[key] = common, special

    def _slices(self, key: ObjectKey) -> list[EndpointSlice]:
        return [
            sl for sl in list_objects(self.cluster.state, Kind.ENDPOINT_SLICE, key.namespace)
            if isinstance(sl, EndpointSlice) and sl.metadata.labels.get(LABEL_SERVICE_NAME) == key.name
        ]

    def _pods_by_ip(self, key: ObjectKey) -> dict[str, Pod]:
        out: dict[str, Pod] = {}
        for sl in self._slices(key):
            for ep in sl.endpoints:
                if ep.addresses and ep.target_ref is not None:
                    pod = lookup_object(self.cluster.state, Kind.POD, ep.target_ref.namespace or key.namespace, ep.target_ref.name)
                    if isinstance(pod, Pod):
                        out[ep.addresses[0]] = pod
        return out

    def _slice_writes(self) -> None:
        """Note the trigger time of every slice write of a watched Service (the slice table
        changed in this instant); the next sync programs them, as kube-proxy's
        endpointSliceCache keeps each update's trigger time until its next sync."""
        table = self.cluster.state.tables.get(Kind.ENDPOINT_SLICE)
        if table is self.slice_table:
            return
        self.slice_table = table
        for key in self.services:
            for sl in self._slices(key):
                text = sl.metadata.annotations.get(ANNOTATION_LAST_CHANGE_TRIGGER_TIME, "")
                name = (sl.metadata.namespace, sl.metadata.name)
                if text and self.trigger_seen.get(name) != text:
                    self.trigger_seen[name] = text
                    self.pending.append(_parse_trigger(text))


def _same(a: object, b: tuple[object, ...]) -> bool:
    """`a` is a tuple holding the very same values as `b` (identity, not equality: a
    deep comparison of tables would cost what the check is there to avoid)."""
    return isinstance(a, tuple) and len(a) == len(b) and all(x is y for x, y in zip(a, b, strict=True))


def _ready_since(pod: Pod) -> float | None:
    for c in pod.status.conditions:
        if c.type == "Ready" and c.last_transition_time is not None and is_pod_ready(pod):
            return float(c.last_transition_time)
    return None


# --- the phases -------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Phase:
    name: str
    pods_ready: int  # Ready pods at the end
    simulated: float
    wall: float
    ready: Latency  # pod Ready -> node's table, per (pod, node)
    triggers: Latency  # slice trigger time -> sync, per (slice change, node)


def _complete(cluster: Cluster, observer: Observer, services: int, replicas: int, image: str) -> bool:
    """Every Deployment complete at `replicas` on `image`, no sync pending, and every
    Ready pod of each Service a backend on every node."""
    if observer.proxy().sync_due is not None:
        return False
    for k in range(services):
        d = get(cluster.state, _key(Kind.DEPLOYMENT, k))
        if not isinstance(d, Deployment):
            raise BenchmarkError(f"deployment {app(k)} is gone")
        st = d.status
        if st.observed_generation < d.metadata.generation or (st.replicas, st.updated_replicas, st.available_replicas) != (replicas,) * 3:
            return False
    pods = [p for p in list_objects(cluster.state, Kind.POD, NAMESPACE) if isinstance(p, Pod)]
    ready = [p for p in pods if is_pod_ready(p) and p.metadata.deletion_timestamp is None]
    if len(ready) != services * replicas or any(p.spec.containers[0].image != image for p in ready):
        return False
    for p in ready:
        key = _key(Kind.SERVICE, int(p.metadata.labels["app"].removeprefix("app-")))
        b = (p.status.pod_ip, p.metadata.uid)
        if b not in observer.common[key] or any(b not in tagged for tagged in observer.special[key].values()):
            return False
    return True


def run_phase(cluster: Cluster, observer: Observer, name: str, services: int, replicas: int, image: str) -> Phase:
    start_ready, start_triggers = len(observer.ready), len(observer.triggers)
    t, start = time.perf_counter(), cluster.now
    state_seen: list[object] = [None]

    def done(_: object) -> bool:
        observer.observe()
        tables = cluster.state.tables
        marker = (tables.get(Kind.POD), tables.get(Kind.DEPLOYMENT), observer.last)
        if _same(state_seen[0], marker):  # no pod, Deployment or rule changed: no need to look again
            return False
        state_seen[0] = marker
        return _complete(cluster, observer, services, replicas, image)

    if not cluster.advance_until(done, PHASE_LIMIT):
        raise BenchmarkError(f"{name}: not complete after {PHASE_LIMIT:g} simulated seconds")
    return Phase(
        name=name,
        pods_ready=services * replicas,
        simulated=cluster.now - start,
        wall=time.perf_counter() - t,
        ready=Latency(samples=tuple(observer.ready[start_ready:])),
        triggers=Latency(samples=tuple(observer.triggers[start_triggers:])),
    )


def _must(cluster: Cluster, req: Create | Update) -> None:
    resp = cluster.request(req)
    if not resp.ok:
        raise BenchmarkError(f"{req}: {resp.body}")


def _update_deployments(cluster: Cluster, services: int, change: object) -> None:
    for k in range(services):
        got = cluster.request(Get(key=_key(Kind.DEPLOYMENT, k)))
        if not isinstance(got.body, Deployment):
            raise BenchmarkError(f"deployment {app(k)} not read: {got.body}")
        d = got.body
        new = attrs.evolve(d, spec=attrs.evolve(d.spec, replicas=change)) if isinstance(change, int) else with_image(d, str(change))
        _must(cluster, Update(obj=new))


@attrs.frozen(kw_only=True)
class Result:
    nodes: int
    services: int
    replicas: int
    throttled: bool
    build_seconds: float
    phases: tuple[Phase, ...]


def measure(nodes: int, services: int, replicas: int, throttled: bool = True) -> Result:
    tune_gc()
    t = time.perf_counter()
    cluster = new_cluster(ClusterConfig(seed=1, cluster_cidr=default_cluster_cidr(nodes)), nodes=nodes, throttled=throttled, addons=True)
    build = time.perf_counter() - t
    observer = Observer(cluster, [_key(Kind.SERVICE, k) for k in range(services)])
    observer.observe()
    for k in range(services):
        _must(cluster, Create(obj=service(k)))
        _must(cluster, Create(obj=deployment(k, replicas)))
    phases = [run_phase(cluster, observer, "create", services, replicas, IMAGE_V1)]
    _update_deployments(cluster, services, 2 * replicas)
    phases.append(run_phase(cluster, observer, "scale up x2", services, 2 * replicas, IMAGE_V1))
    _update_deployments(cluster, services, IMAGE_V2)
    phases.append(run_phase(cluster, observer, "rolling update", services, 2 * replicas, IMAGE_V2))
    return Result(nodes=nodes, services=services, replicas=replicas, throttled=throttled, build_seconds=build, phases=tuple(phases))


def report(r: Result) -> list[str]:
    """Markdown: one row per phase and measure, and the whole run."""
    out = [
        f"{r.nodes:,} nodes, {r.services} Services x Deployments of {r.replicas} then {2 * r.replicas} replicas, "
        f"client limits {'upstream' if r.throttled else 'none'} (cluster built in {r.build_seconds:.0f} s)",
        "",
        "| phase | measure | samples (pod x node) | p50 | p90 | p99 | max | simulated | wall |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    every = Latency(samples=tuple(s for p in r.phases for s in p.ready.samples))
    triggers = Latency(samples=tuple(s for p in r.phases for s in p.triggers.samples))
    rows = [(p.name, p.ready, p.triggers, f"{p.simulated:.0f} s", f"{p.wall:.0f} s") for p in r.phases]
    rows.append(("all", every, triggers, f"{sum(p.simulated for p in r.phases):.0f} s", f"{sum(p.wall for p in r.phases):.0f} s"))
    for name, ready, trig, sim, wall in rows:
        for label, lat in (("pod Ready -> node's table", ready), ("slice trigger time -> sync", trig)):
            out.append(
                f"| {name} | {label} | {lat.count:,} | {lat.quantile(0.5):.2f} s | {lat.quantile(0.9):.2f} s "
                f"| {lat.quantile(0.99):.2f} s | {lat.max:.2f} s | {sim} | {wall} |"
            )
    verdict = "met" if every.quantile(0.99) <= SLO_SECONDS else "MISSED"
    out.append("")
    out.append(f"p99 over all {every.count:,} samples: {every.quantile(0.99):.2f} s (SLO <= {SLO_SECONDS:g} s: {verdict}).")
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--nodes", type=int, default=1000)
    p.add_argument("--services", type=int, default=20)
    p.add_argument("--replicas", type=int, default=50)
    p.add_argument("--client-limits", choices=("upstream", "none"), default="upstream")
    a = p.parse_args()
    print("\n".join(report(measure(a.nodes, a.services, a.replicas, a.client_limits == "upstream"))))


if __name__ == "__main__":
    main()
