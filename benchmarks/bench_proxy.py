"""kube-proxy's tables at scale: program every node from scratch, then one endpoint change.

`python -m benchmarks.bench_proxy [--nodes 5000] [--services 10000] [--endpoints 100000]`

Synthetic values, no apiserver: `tests.synthetic.scale_view` (without pods) of `nodes`
Ready nodes, `services` Services with one EndpointSlice each and `endpoints` endpoints
spread over them and over the nodes. Every tenth Service is a NodePort with
externalTrafficPolicy Local (so nodes hosting its endpoints get overrides), every tenth
another one has ClientIP affinity. Measured:
- from scratch: `KubeProxy().init(view)` (the slice index, every Service's rules, every
  node programmed), its time and the memory it keeps (tracemalloc, a separate run);
- one change: one endpoint of one slice flips readiness, delivered as a watch event,
  then the sync timer fires: the new rules reach all nodes' tables. Averaged over
  `changes` changes, alternating Cluster- and Local-policy Services; target < 5 ms.

Each run checks what it measured: after every change the node hosting the flipped
endpoint (and another node) programs exactly the recomputed rules of that Service.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from typing import Final

import attrs

from benchmarks import BenchmarkError, tune_gc
from kcore.addons.kubeproxy import KubeProxy, ProxyState, Timer, rules_of_service
from kcore.api.core import Service
from kcore.api.discovery import EndpointConditions, EndpointSlice
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import Time
from kcore.api.watch import WatchEvent, WatchType
from kcore.component.events import TimerFired, WatchDelivered
from kcore.network.rules import service_entry
from kcore.state import ClusterState, get, put
from tests.synthetic import NAMESPACE, node_name, scale_service, scale_view

T0: Final = Time(1_700_000_000.0)


@attrs.frozen(kw_only=True)
class Result:
    nodes: int
    services: int
    endpoints: int
    build_seconds: float
    program_seconds: float
    program_mib: float
    changes: int
    change_ms: float
    change_max_ms: float


def build_view(nodes: int, services: int, endpoints: int) -> ClusterState:
    """`tests.synthetic.scale_view` without pods: kube-proxy reads none."""
    return scale_view(nodes, services, endpoints)


def flipped(sl: EndpointSlice) -> EndpointSlice:
    """`sl` with its first endpoint's readiness flipped."""
    ep = sl.endpoints[0]
    ready = ep.conditions.ready is False
    conditions = EndpointConditions(ready=ready, serving=ready, terminating=False)
    return attrs.evolve(sl, endpoints=(attrs.evolve(ep, conditions=conditions), *sl.endpoints[1:]))


def one_change(proxy: KubeProxy, s: ProxyState, view: ClusterState, sl: EndpointSlice, rv: int, now: Time) -> tuple[ProxyState, ClusterState]:
    view = attrs.evolve(put(view, sl), revision=rv)
    event = WatchDelivered(event=WatchEvent(type=WatchType.MODIFIED, obj=sl, resource_version=rv), now=now, view=view)
    s, effects = proxy.step(s, event)
    if len(effects) != 1:
        raise BenchmarkError(f"a slice change asked for {effects}, not one sync")
    s, _ = proxy.step(s, TimerFired(key=Timer.SYNC, now=Time(now + 1.0)))
    return s, view


def check(s: ProxyState, view: ClusterState, svc: Service, sl: EndpointSlice) -> None:
    key = ObjectKey(kind=Kind.SERVICE, namespace=NAMESPACE, name=svc.metadata.name)
    shared, overrides = service_entry(svc, [sl])
    host = sl.endpoints[0].node_name or ""
    for n in (host, node_name(0)):
        want = overrides.get(n, shared)
        if rules_of_service(s, n, key) != want:
            raise BenchmarkError(f"{n} does not program the new rules of {key.name}")


def measure(nodes: int, services: int, endpoints: int, changes: int) -> Result:
    tune_gc()
    t = time.perf_counter()
    view = build_view(nodes, services, endpoints)
    build = time.perf_counter() - t
    proxy = KubeProxy()
    t = time.perf_counter()
    s, _ = proxy.init(view, T0)
    program = time.perf_counter() - t
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    kept, _ = proxy.init(view, T0)
    mib = (tracemalloc.get_traced_memory()[0] - before) / 2**20
    tracemalloc.stop()
    del kept
    times: list[float] = []
    rv = view.revision
    for k in range(changes):
        i = (k * 37) % services if k % 2 else (k * 370) % services // 10 * 10  # Cluster, then Local
        current = get(view, ObjectKey(kind=Kind.ENDPOINT_SLICE, namespace=NAMESPACE, name=f"svc-{i:05d}-abcde"))
        assert isinstance(current, EndpointSlice)
        sl = flipped(current)
        rv += 1
        t = time.perf_counter()
        s, view = one_change(proxy, s, view, sl, rv, Time(T0 + k))
        times.append(time.perf_counter() - t)
        check(s, view, scale_service(i), sl)
    return Result(
        nodes=nodes, services=services, endpoints=endpoints, build_seconds=build, program_seconds=program,
        program_mib=mib, changes=changes, change_ms=1000 * sum(times) / len(times), change_max_ms=1000 * max(times),
    )


def report(r: Result) -> str:
    return (
        f"kube-proxy tables: {r.nodes} nodes, {r.services} services, {r.endpoints} endpoints "
        f"(view built in {r.build_seconds:.1f} s)\n"
        f"  program from scratch: {r.program_seconds:.2f} s, {r.program_mib:.0f} MiB kept\n"
        f"  one endpoint change to all {r.nodes} nodes' tables: {r.change_ms:.3f} ms mean, "
        f"{r.change_max_ms:.3f} ms max over {r.changes} changes (target < 5 ms)"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nodes", type=int, default=5000)
    p.add_argument("--services", type=int, default=10_000)
    p.add_argument("--endpoints", type=int, default=100_000)
    p.add_argument("--changes", type=int, default=200)
    a = p.parse_args()
    print(report(measure(a.nodes, a.services, a.endpoints, a.changes)))


if __name__ == "__main__":
    main()
