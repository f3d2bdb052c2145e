"""`net route` and `net resolve` in process at scale: one connection, one DNS question.

`python -m benchmarks.bench_route [--nodes 5000] [--services 10000] [--endpoints 100000] [--calls 2000]`

The view is `tests.synthetic.scale_view` with pods (`nodes` nodes, `services` Services,
`endpoints` Running and Ready pods behind them, 10 headless Services, kube-dns with a Ready
CoreDNS pod, the default ingress class and one Ingress). The routing model's input is
built as `kcore net route` builds it from a stored cluster (`network_from` over a
Snapshot holding kube-proxy's and CoreDNS's states, each `init`-ed from the view), once
per command; each step of that build is timed. Then each kind of call is timed one call
at a time, `calls` times, with a different source, target or source port each time:
- `route`: pod -> ClusterIP, pod -> Service name (DNS, then the ClusterIP), pod -> pod IP,
  outside client -> NodeIP:nodePort (Local policy, a node hosting an endpoint), outside
  client -> `http://` the ingress address with the Ingress's Host;
- `lookup` (a pod's stub resolver over its resolv.conf, as `net resolve` asks): A of a
  ClusterIP Service by its short name (search path), A of a headless Service (its ready
  endpoints), SRV of a named port, PTR of a pod IP, a name that does not exist (NXDOMAIN
  after the whole search path).
Mean and 99th percentile per call; target under 1 ms each. Every answer is checked (a
route delivered to a backend of the right Service on its target port, the DNS answer
the view implies), so no number comes from a call that went wrong.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Final

import attrs
from pyrsistent import pmap

from benchmarks import BenchmarkError, tune_gc
from kcore.addons.coredns import NAME as COREDNS
from kcore.addons.coredns import CoreDNS
from kcore.addons.kubeproxy import NAME as KUBE_PROXY
from kcore.addons.kubeproxy import KubeProxy
from kcore.api.core import Service
from kcore.api.discovery import EndpointSlice
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import Time
from kcore.api.pod import Pod
from kcore.cli.net_route import network_from
from kcore.driver.snapshot import Snapshot
from kcore.network.dns import Lookup, Rcode, RecordType, lookup, reverse_name
from kcore.network.route import Destination, Network, Route, Source, route
from kcore.state import ClusterState, get
from kcore.state import lookup as lookup_object
from tests.synthetic import (
    INGRESS_ADDRESS,
    INGRESS_HOST,
    NAMESPACE,
    TARGET_PORT,
    node_address,
    scale_service,
    scale_view,
    service_name,
)

T0: Final = Time(1_700_000_000.0)
HEADLESS: Final = 10
OUTSIDE: Final = "203.0.113.7"
TARGET_MS: Final = 1.0


@attrs.frozen(kw_only=True)
class Timed:
    name: str
    calls: int
    mean_ms: float
    p99_ms: float
    max_ms: float


@attrs.frozen(kw_only=True)
class Result:
    nodes: int
    services: int
    endpoints: int
    view_seconds: float
    build: tuple[tuple[str, float], ...]  # the Network's build steps, wall seconds
    calls: tuple[Timed, ...]


# --- the input ----------------------------------------------------------------------------


def network(view: ClusterState) -> tuple[Network, tuple[tuple[str, float], ...]]:
    """The Network as `kcore net route` builds it from a stored cluster, and the time of
    each step (the components' states are what a running cluster already holds)."""
    t = time.perf_counter()
    proxy, _ = KubeProxy().init(view, T0)
    t_proxy = time.perf_counter() - t
    t = time.perf_counter()
    dns, _ = CoreDNS().init(view, T0)
    t_dns = time.perf_counter() - t
    snap = Snapshot(state=view, now=T0, components=pmap({KUBE_PROXY: proxy, COREDNS: dns}))
    t = time.perf_counter()
    net = network_from(snap)
    t_net = time.perf_counter() - t
    steps = (
        ("kube-proxy tables (`KubeProxy.init`, held by a running cluster)", t_proxy),
        ("CoreDNS zone (`CoreDNS.init`, held by a running cluster)", t_dns),
        ("`network_from(snapshot)` (once per `net route` / `net resolve`)", t_net),
    )
    return net, steps


def _pod(view: ClusterState, name: str) -> Pod:
    pod = lookup_object(view, Kind.POD, NAMESPACE, name)
    if not isinstance(pod, Pod):
        raise BenchmarkError(f"pod {name} is not in the view")
    return pod


def _slice(view: ClusterState, service: str) -> EndpointSlice:
    sl = get(view, ObjectKey(kind=Kind.ENDPOINT_SLICE, namespace=NAMESPACE, name=f"{service}-abcde"))
    if not isinstance(sl, EndpointSlice):
        raise BenchmarkError(f"service {service} has no slice")
    return sl


def _backend_ips(view: ClusterState, service: str) -> frozenset[str]:
    return frozenset(ep.addresses[0] for ep in _slice(view, service).endpoints)


# --- the calls ----------------------------------------------------------------------------

Call = Callable[[int], None]


def _timed(name: str, call: Call, calls: int) -> Timed:
    times: list[float] = []
    for k in range(calls):
        t = time.perf_counter()
        call(k)
        times.append(time.perf_counter() - t)
    ms = sorted(1000 * x for x in times)
    return Timed(
        name=name, calls=calls, mean_ms=statistics.fmean(ms), p99_ms=ms[min(len(ms) - 1, int(0.99 * len(ms)))], max_ms=ms[-1]
    )


def _delivered_to(r: Route, ips: frozenset[str], port: int, what: str) -> None:
    if not r.delivered or r.backend is None or r.backend.ip not in ips or r.backend.port != port:
        raise BenchmarkError(f"{what}: {r.reason or r.backend}")


def route_calls(view: ClusterState, net: Network, services: int, per: int) -> list[tuple[str, Call]]:
    """The timed `route` calls, each checking its answer."""
    clients = [_pod(view, f"{service_name(i)}-00") for i in range(0, services, max(1, services // 97))]

    def client(k: int) -> Pod:
        return clients[k % len(clients)]

    def target(k: int) -> int:
        return (k * 7919 + 1) % services

    def to_cluster_ip(k: int) -> None:
        j = target(k)
        dst = Destination(host=scale_service(j).spec.cluster_ip, port=80)
        r = route(net, Source(pod=client(k)), dst, source_port=30000 + k % 30000)
        _delivered_to(r, _backend_ips(view, service_name(j)), TARGET_PORT, f"pod -> ClusterIP of {service_name(j)}")

    def to_name(k: int) -> None:
        j = target(k)
        r = route(net, Source(pod=client(k)), Destination(host=f"{service_name(j)}.{NAMESPACE}", port=80), source_port=30000 + k % 30000)
        _delivered_to(r, _backend_ips(view, service_name(j)), TARGET_PORT, f"pod -> {service_name(j)} by name")

    def to_pod(k: int) -> None:
        peer = _pod(view, f"{service_name(target(k))}-{k % per:02d}")
        r = route(net, Source(pod=client(k)), Destination(host=peer.status.pod_ip, port=TARGET_PORT))
        _delivered_to(r, frozenset({peer.status.pod_ip}), TARGET_PORT, "pod -> pod IP")
        if r.source_ip_seen != client(k).status.pod_ip:
            raise BenchmarkError(f"pod -> pod IP was seen from {r.source_ip_seen}")

    local_services = list(range(0, services, 10))  # NodePort, externalTrafficPolicy Local

    def to_node_port(k: int) -> None:
        j = local_services[k % len(local_services)]
        sl = _slice(view, service_name(j))
        host = sl.endpoints[k % len(sl.endpoints)]
        node_index = int((host.node_name or "").removeprefix("node-"))
        port = scale_service(j).spec.ports[0].node_port
        r = route(net, Source(ip=OUTSIDE), Destination(host=node_address(node_index), port=port), source_port=30000 + k % 30000)
        local = frozenset(ep.addresses[0] for ep in sl.endpoints if ep.node_name == host.node_name)
        _delivered_to(r, local, TARGET_PORT, f"outside -> NodePort {port} of {service_name(j)}")
        if r.source_ip_seen != OUTSIDE:
            raise BenchmarkError(f"a Local NodePort was seen from {r.source_ip_seen}")

    web = _backend_ips(view, service_name(1))

    def to_ingress(k: int) -> None:
        dst = Destination(host=INGRESS_ADDRESS, port=80, http=True, path=f"/shop/{k}")
        r = route(net, Source(ip=OUTSIDE), dst, source_port=30000 + k % 30000, host_header=INGRESS_HOST)
        _delivered_to(r, web, TARGET_PORT, "outside -> http ingress")
        if r.http_status != 200:
            raise BenchmarkError(f"http ingress answered {r.http_status}")

    return [
        ("route pod -> ClusterIP:80", to_cluster_ip),
        ("route pod -> Service name:80 (DNS + ClusterIP)", to_name),
        ("route pod -> pod IP:8080", to_pod),
        ("route outside -> NodeIP:nodePort (Local)", to_node_port),
        ("route outside -> http://ingress/ (Host, path)", to_ingress),
    ]


def _answers(found: Lookup, rcode: Rcode, want: Sequence[str], what: str) -> None:
    got = sorted(a.data for a in found.reply.answers)
    if found.reply.rcode is not rcode or got != sorted(want):
        raise BenchmarkError(f"{what}: {found.reply.rcode.value} {got}, expected {rcode.value} {sorted(want)}")


def lookup_calls(view: ClusterState, net: Network, services: int, per: int) -> list[tuple[str, Call]]:
    """The timed `lookup` calls (a pod's resolver, as `kcore net resolve`), each checked."""
    asker = _pod(view, f"{service_name(0)}-00")
    conf = net.resolv_conf(asker)
    zone = net.zone
    domain = zone.domain

    def target(k: int) -> int:
        return (k * 7919 + 3) % services

    def a_record(k: int) -> None:
        j = target(k)
        found = lookup(zone, conf, service_name(j), RecordType.A)
        _answers(found, Rcode.NOERROR, [scale_service(j).spec.cluster_ip], f"A {service_name(j)}")

    def headless(k: int) -> None:
        name = f"headless-{k % HEADLESS:03d}"
        found = lookup(zone, conf, f"{name}.{NAMESPACE}.svc.{domain}", RecordType.A)
        _answers(found, Rcode.NOERROR, sorted(_backend_ips(view, name)), f"A {name}")

    def srv(k: int) -> None:
        j = target(k)
        found = lookup(zone, conf, f"_http._tcp.{service_name(j)}.{NAMESPACE}.svc.{domain}", RecordType.SRV)
        _answers(found, Rcode.NOERROR, [f"0 100 80 {service_name(j)}.{NAMESPACE}.svc.{domain}."], f"SRV {service_name(j)}")

    def ptr(k: int) -> None:
        j = target(k)
        ep = _slice(view, service_name(j)).endpoints[k % per]
        found = lookup(zone, conf, reverse_name(ep.addresses[0]), RecordType.PTR)
        host = ep.addresses[0].replace(".", "-")
        _answers(found, Rcode.NOERROR, [f"{host}.{service_name(j)}.{NAMESPACE}.svc.{domain}."], f"PTR {ep.addresses[0]}")

    def nxdomain(k: int) -> None:
        found = lookup(zone, conf, f"nosuch-{k}.{NAMESPACE}", RecordType.A)
        _answers(found, Rcode.NXDOMAIN, [], f"A nosuch-{k}")
        if len(found.tried) < 4:
            raise BenchmarkError(f"NXDOMAIN after {found.tried} only")

    return [
        ("lookup A svc (short name, search path)", a_record),
        (f"lookup A headless ({per} endpoints)", headless),
        ("lookup SRV _http._tcp.svc", srv),
        ("lookup PTR of a pod IP", ptr),
        ("lookup NXDOMAIN (whole search path)", nxdomain),
    ]


def measure(nodes: int, services: int, endpoints: int, calls: int) -> Result:
    tune_gc()
    t = time.perf_counter()
    view = scale_view(nodes, services, endpoints, pods=True, headless=HEADLESS)
    view_seconds = time.perf_counter() - t
    if not isinstance(get(view, ObjectKey(kind=Kind.SERVICE, namespace=NAMESPACE, name=service_name(0))), Service):
        raise BenchmarkError("the view has no services")
    net, steps = network(view)
    per = max(1, endpoints // services)
    timed = [_timed(name, call, calls) for name, call in (*route_calls(view, net, services, per), *lookup_calls(view, net, services, per))]
    return Result(nodes=nodes, services=services, endpoints=endpoints, view_seconds=view_seconds, build=steps, calls=tuple(timed))


def report(r: Result) -> list[str]:
    """The result as Markdown (two tables)."""
    out = [
        f"{r.nodes:,} nodes, {r.services:,} Services, {r.endpoints:,} endpoints (Ready pods), "
        f"{HEADLESS} headless Services; view built in {r.view_seconds:.1f} s.",
        "",
        "| building the routing model's input | wall |",
        "|---|---:|",
        *(f"| {name} | {seconds * 1000:,.0f} ms |" for name, seconds in r.build),
        "",
        "| call (in process) | calls | mean | p99 | max | target |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for c in r.calls:
        verdict = "met" if c.p99_ms < TARGET_MS else "MISSED"
        out.append(
            f"| {c.name} | {c.calls:,} | {c.mean_ms * 1000:.0f} µs | {c.p99_ms * 1000:.0f} µs | {c.max_ms * 1000:.0f} µs "
            f"| < {TARGET_MS:g} ms: {verdict} |"
        )
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--nodes", type=int, default=5000)
    p.add_argument("--services", type=int, default=10_000)
    p.add_argument("--endpoints", type=int, default=100_000)
    p.add_argument("--calls", type=int, default=2000)
    a = p.parse_args()
    print("\n".join(report(measure(a.nodes, a.services, a.endpoints, a.calls))))


if __name__ == "__main__":
    main()
