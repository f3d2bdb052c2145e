"""A whole cluster in simulated time: every default component, thousands of nodes.

`python -m benchmarks.bench_cluster [--nodes 5000] [--minutes 10] [--pods 50000] [--profile]`

`kcore.driver.new_cluster` builds the cluster `kcore cluster create --nodes N` makes (the
controllers, the scheduler, one kubelet per node; pod CIDR from
`kcore.cli.cluster.default_cluster_cidr`), then three scenarios are measured:
- **idle**: `advance` the clock `minutes` simulated minutes with nothing to do but the
  kubelets' Lease renewals, the node status reports and the node lifecycle controller's
  monitor passes; the number to beat is simulated seconds per wall second (>= 10 at
  5,000 nodes: 10 simulated minutes in under a minute);
- **pods**: `pods` bare pods (one pause container, 10m cpu, 16Mi memory) created through
  the apiserver at once, then the clock advanced second by second until every one is
  bound and Running (scheduler, binding, kubelet admission, sandbox, container start,
  status writes); the wall time to converge is measured;
- **memory**: the resident set size of the process holding the converged cluster
  (`VmRSS` from /proc/self/status, else the peak from `resource.getrusage`), and the
  count of stored objects.

Each scenario checks what it did (every node Ready and its Lease renewed, every pod
Running on a node) and raises `BenchmarkError` otherwise: no number comes from a run that
silently failed. `--profile` prints the cProfile of the idle advance instead.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from typing import Final

import attrs
from pyrsistent import pmap

from benchmarks import BenchmarkError, profiled, tune_gc
from kcore.api.coordination import Lease
from kcore.api.core import NODE_READY, Node
from kcore.api.kinds import Kind
from kcore.api.meta import ConditionStatus, ObjectMeta, Time
from kcore.api.pod import Container, Pod, PodPhase, PodSpec, ResourceRequirements
from kcore.cli.cluster import default_cluster_cidr
from kcore.component.requests import Create
from kcore.driver import new_cluster
from kcore.driver.cluster import Cluster
from kcore.quantity import parse_quantity
from kcore.state import ClusterConfig, count, list_objects

NAMESPACE: Final = "default"
_REQUESTS = pmap({"cpu": parse_quantity("10m"), "memory": parse_quantity("16Mi")})
CONVERGE_LIMIT_SECONDS: Final = 600.0
"""Simulated seconds the pods scenario may take before it counts as not converging."""


@attrs.frozen(kw_only=True)
class Built:
    nodes: int
    seconds: float
    deliveries: int


@attrs.frozen(kw_only=True)
class Idle:
    nodes: int
    simulated: float
    seconds: float
    cpu_seconds: float  # process CPU time: on a shared machine, steadier than wall time
    deliveries: int  # trace entries (deliveries and performed effects) during the advance

    @property
    def speedup(self) -> float:
        """Simulated seconds per wall-clock second."""
        return self.simulated / self.seconds

    @property
    def micros_per_entry(self) -> float:
        return self.seconds / max(self.deliveries, 1) * 1e6


@attrs.frozen(kw_only=True)
class Converged:
    nodes: int
    pods: int
    create_seconds: float  # the Create requests alone
    seconds: float  # create + advance until every pod is Running
    cpu_seconds: float
    simulated: float  # simulated seconds until every pod was Running
    deliveries: int


@attrs.frozen(kw_only=True)
class Memory:
    rss_bytes: int
    objects: int  # objects stored in the cluster state


def cluster_config(nodes: int) -> ClusterConfig:
    return ClusterConfig(seed=1, cluster_cidr=default_cluster_cidr(nodes))


def trace_total(cluster: Cluster) -> int:
    """Trace entries ever written (kept + forgotten)."""
    return len(cluster.trace) + cluster.snapshot().trace_dropped


def build(nodes: int) -> tuple[Cluster, Built]:
    """`new_cluster` with `nodes` nodes, settled; timed."""
    tune_gc()
    t0 = time.perf_counter()
    cluster = new_cluster(cluster_config(nodes), nodes=nodes)
    seconds = time.perf_counter() - t0
    return cluster, Built(nodes=nodes, seconds=seconds, deliveries=trace_total(cluster))


def check_nodes_alive(cluster: Cluster, nodes: int, since: Time) -> None:
    """Every node Ready and its Lease renewed at or after `since`."""
    ready = 0
    for obj in list_objects(cluster.state, Kind.NODE):
        if isinstance(obj, Node) and any(
            c.type == NODE_READY and c.status is ConditionStatus.TRUE for c in obj.status.conditions
        ):
            ready += 1
    if ready != nodes:
        raise BenchmarkError(f"{ready} of {nodes} nodes Ready")
    renewed = sum(
        1
        for obj in list_objects(cluster.state, Kind.LEASE, "kube-node-lease")
        if isinstance(obj, Lease) and obj.spec.renew_time is not None and obj.spec.renew_time >= since
    )
    if renewed != nodes:
        raise BenchmarkError(f"{renewed} of {nodes} node Leases renewed since t={since}")


def idle(cluster: Cluster, nodes: int, minutes: float) -> Idle:
    """Advance `minutes` simulated minutes; every node must stay Ready with a fresh Lease."""
    before = trace_total(cluster)
    simulated = minutes * 60.0
    t0, c0 = time.perf_counter(), time.process_time()
    if not cluster.advance(simulated):
        raise BenchmarkError("the driver did not settle while idle")
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    check_nodes_alive(cluster, nodes, Time(cluster.now - 20.0))
    return Idle(
        nodes=nodes, simulated=simulated, seconds=seconds, cpu_seconds=cpu, deliveries=trace_total(cluster) - before
    )


def bare_pod(i: int) -> Pod:
    return Pod(
        metadata=ObjectMeta(name=f"bench-{i}", namespace=NAMESPACE),
        spec=PodSpec(
            containers=(
                Container(
                    name="pause",
                    image="registry.k8s.io/pause:3.10",
                    resources=ResourceRequirements(requests=_REQUESTS),
                ),
            )
        ),
    )


def running(cluster: Cluster) -> int:
    return sum(
        1
        for p in list_objects(cluster.state, Kind.POD, NAMESPACE)
        if isinstance(p, Pod) and p.spec.node_name and p.status.phase is PodPhase.RUNNING
    )


def converge(cluster: Cluster, nodes: int, pods: int, step: float = 1.0, batch: int = 0) -> Converged:
    """Create `pods` bare pods (all at once, or `batch` at a time, each batch running
    before the next is created), then advance `step` seconds at a time until all Run."""
    before = trace_total(cluster)
    start = cluster.now
    t0, c0 = time.perf_counter(), time.process_time()
    create_seconds = 0.0
    size = batch if batch > 0 else pods
    for first in range(0, pods, size):
        last = min(pods, first + size)
        c1 = time.perf_counter()
        for i in range(first, last):
            resp = cluster.request(Create(obj=bare_pod(i)))
            if not resp.ok:
                raise BenchmarkError(f"pod {i} not created: {resp.body}")
        create_seconds += time.perf_counter() - c1
        while True:
            if not cluster.advance(step):
                raise BenchmarkError("the driver did not settle while pods started")
            if running(cluster) == last:
                break
            if cluster.now - start > CONVERGE_LIMIT_SECONDS:
                raise BenchmarkError(f"{running(cluster)} of {last} pods Running after {CONVERGE_LIMIT_SECONDS}s")
        _log(f"{last:,} pods Running: {time.perf_counter() - t0:.0f} s wall, {time.process_time() - c0:.0f} s CPU")
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    return Converged(
        nodes=nodes,
        pods=pods,
        create_seconds=create_seconds,
        seconds=seconds,
        cpu_seconds=cpu,
        simulated=cluster.now - start,
        deliveries=trace_total(cluster) - before,
    )


def _log(text: str) -> None:
    print("  " + text, file=sys.stderr, flush=True)


def rss_bytes() -> int:
    """The process's resident set now (VmRSS), else its peak (ru_maxrss, KiB on Linux)."""
    try:
        with open("/proc/self/status", encoding="utf-8") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def memory(cluster: Cluster) -> Memory:
    objects = sum(count(cluster.state, kind) for kind in Kind)
    return Memory(rss_bytes=rss_bytes(), objects=objects)


def profile_idle(cluster: Cluster, seconds: float, top: int = 30) -> str:
    """cProfile of `advance(seconds)`: the top functions by own time and by cumulative."""
    return profiled(lambda: cluster.advance(seconds), top)


def report(built: Built, idle_r: Idle | None, conv: Converged | None, mem: Memory | None) -> list[str]:
    """The results as Markdown table rows (the caller prints the header)."""
    n = built.nodes
    rows = [f"| {n:,} | new_cluster (settled) | {built.seconds:.1f} s | | {built.deliveries:,} trace entries |"]
    if idle_r is not None:
        rows.append(
            f"| {n:,} | idle {idle_r.simulated / 60:g} simulated min | {idle_r.seconds:.1f} s "
            f"| {idle_r.cpu_seconds:.1f} s | {idle_r.speedup:.1f}x wall clock; {idle_r.deliveries:,} trace "
            f"entries, {idle_r.micros_per_entry:.1f} µs each |"
        )
    if conv is not None:
        rows.append(
            f"| {n:,} | {conv.pods:,} pods created -> all Running | {conv.seconds:.1f} s "
            f"| {conv.cpu_seconds:.1f} s | creates {conv.create_seconds:.1f} s; {conv.simulated:g} simulated s; "
            f"{conv.deliveries:,} trace entries |"
        )
    if mem is not None:
        rows.append(
            f"| {n:,} | memory (RSS) | {mem.rss_bytes / 2**20:,.0f} MiB | | {mem.objects:,} stored objects |"
        )
    return rows


HEADER: Final = ("| nodes | scenario | wall time | CPU time | notes |", "|---:|---|---:|---:|---|")


def run(nodes: int, minutes: float, pods: int, batch: int = 0) -> list[str]:
    """All three scenarios on one cluster; the Markdown table (each row is also logged
    to stderr as soon as it is measured)."""
    cluster, built = build(nodes)
    _log(report(built, None, None, None)[0])
    idle_r = idle(cluster, nodes, minutes) if minutes > 0 else None
    if idle_r is not None:
        _log(report(built, idle_r, None, None)[1])
    conv = converge(cluster, nodes, pods, batch=batch) if pods > 0 else None
    return [*HEADER, *report(built, idle_r, conv, memory(cluster))]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--pods", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=0, help="create pods this many at a time (0: all at once)")
    parser.add_argument("--profile", action="store_true", help="cProfile one idle simulated minute")
    args = parser.parse_args()
    if args.profile:
        cluster, _ = build(args.nodes)
        print(profile_idle(cluster, 60.0))
        return
    print("\n".join(run(args.nodes, args.minutes, args.pods, args.batch)))


if __name__ == "__main__":
    main()
