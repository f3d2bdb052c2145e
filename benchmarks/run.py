"""Run every benchmark and print the results as Markdown: `python -m benchmarks.run [--quick]`.

`make bench` calls this. `--quick` uses smaller sizes (under a minute); the full run
measures creates at 1k/10k/100k existing pods and forks of a 150,000-pod state (a few
minutes). The report starts with the machine (CPU model, cores, Python) and the command,
so it can be pasted into docs/benchmarks.md as is. The whole-cluster scenarios
(`bench_cluster`: 5,000 idle nodes for 10 simulated minutes, 50,000 pods to Running) come
last, then the Deployment scenario (`bench_deployment`: 1,000 replicas on 100 nodes
created, then rolled to a new image), then the network (`bench_route`: `net route` and
`net resolve` per call at 5,000 nodes, 10,000 Services, 100,000 endpoints;
`bench_netlatency`: the network programming latency SLI in simulated time).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Sequence
from importlib import metadata

import attrs

from benchmarks import GC_THRESHOLDS, tune_gc
from benchmarks import bench_apiserver as api
from benchmarks import bench_cluster as whole
from benchmarks import bench_deployment as rollout
from benchmarks import bench_fork as fork
from benchmarks import bench_netlatency as netlatency
from benchmarks import bench_route as routing
from kcore.state import ClusterState


@attrs.frozen(kw_only=True)
class Plan:
    """Sizes of one run."""

    existing: tuple[int, ...]  # stored pods before the measured requests
    ops: int  # requests per measurement
    repeats: int
    profile_existing: int
    profile_ops: int
    fork_sizes: tuple[int, ...]
    quota_budget: int  # cap on existing pods x creates into a namespace with a quota
    cluster_nodes: int = 0  # whole-cluster scenarios (bench_cluster); 0 skips them
    cluster_minutes: float = 0.0
    cluster_pods: int = 0
    deployment_nodes: int = 0  # the Deployment scenario (bench_deployment); 0 skips it
    deployment_replicas: int = 0
    route_nodes: int = 0  # `net route` / `net resolve` per call (bench_route); 0 skips it
    route_services: int = 0
    route_endpoints: int = 0
    latency_nodes: int = 0  # the network programming latency SLI (bench_netlatency); 0 skips it
    latency_services: int = 0
    latency_replicas: int = 0


FULL: Plan = Plan(
    existing=(1_000, 10_000, 100_000),
    ops=10_000,
    repeats=3,
    profile_existing=10_000,
    profile_ops=5_000,
    fork_sizes=fork.FULL_SIZES,
    quota_budget=10**12,  # no cap: quota usage is an index (O(1) per create)
    cluster_nodes=5_000,
    cluster_minutes=10.0,
    cluster_pods=50_000,
    deployment_nodes=100,
    deployment_replicas=1_000,
    route_nodes=5_000,
    route_services=10_000,
    route_endpoints=100_000,
    latency_nodes=5_000,
    latency_services=20,
    latency_replicas=50,
)
QUICK: Plan = Plan(
    existing=(1_000, 10_000),
    ops=2_000,
    repeats=2,
    profile_existing=1_000,
    profile_ops=1_000,
    fork_sizes=fork.QUICK_SIZES,
    quota_budget=10**12,
    cluster_nodes=200,
    cluster_minutes=1.0,
    cluster_pods=1_000,
    deployment_nodes=20,
    deployment_replicas=200,
    route_nodes=200,
    route_services=400,
    route_endpoints=4_000,
    latency_nodes=20,
    latency_services=4,
    latency_replicas=10,
)
TARGET_CREATES_PER_SECOND = 10_000
TARGET_FORK_SECONDS = 10e-6


def cpu_model() -> str:
    """`lscpu`'s "Model name" (read from /proc/cpuinfo; the platform string elsewhere)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> str:
    versions = ", ".join(f"{p} {_version(p)}" for p in ("attrs", "pyrsistent"))
    return (
        f"- CPU: {cpu_model()}, {os.cpu_count()} cores (one used)\n"
        f"- Python {platform.python_version()} ({platform.python_implementation()}), {versions}\n"
        f"- gc thresholds {GC_THRESHOLDS} (as the driver sets them)"
    )


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "?"


def _fmt_time(seconds: float) -> str:
    if seconds < 1e-6:
        return f"{seconds * 1e9:.0f} ns"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.2f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def quota_ops(plan: Plan, existing: int) -> int:
    """Creates measured in a namespace with a quota: `plan.ops`, unless the plan caps
    existing x creates (a guard from when quota admission scanned the namespace per create;
    the full and quick plans set no cap since the usage index)."""
    return max(2, min(plan.ops, plan.quota_budget // max(existing, 1)))


def apiserver_section(plan: Plan, out: list[str]) -> None:
    out.append("## Apiserver: requests per second through `handle` (one core)\n")
    out.append(
        f"{plan.ops:,} requests per measurement, fastest of {plan.repeats}. "
        f"Target: >= {TARGET_CREATES_PER_SECOND:,} creates/s.\n"
    )
    out.append("| existing pods | operation | namespace holds | requests/s | µs/request |")
    out.append("|---:|---|---|---:|---:|")
    for existing in plan.existing:
        _size_rows(plan, existing, out)
    out.append("")
    profile_section(
        "LimitRange", api.base_state(plan.profile_existing, api.LIMITED), plan.profile_ops, 20, out
    )
    quota_existing = plan.profile_existing
    profile_section(
        "LimitRange + ResourceQuota",
        api.base_state(quota_existing, api.FULL_CHAIN),
        quota_ops(plan, quota_existing),
        8,
        out,
    )


def _size_rows(plan: Plan, existing: int, out: list[str]) -> None:
    """The table rows for one size; the states built here are garbage once it returns."""
    rows: list[api.Measured] = []
    for scenario in (api.BARE, api.LIMITED, api.FULL_CHAIN):
        start = time.perf_counter()
        base = api.base_state(existing, scenario)
        _log(f"setup of {existing:,} pods ({scenario.name}): {time.perf_counter() - start:.1f} s")
        label = f"create|{scenario.name}"
        if scenario.quota:
            n = quota_ops(plan, existing)
            rows.append(api.measure_creates(base, n, plan.repeats, operation=label))
            rows.append(api.measure_updates(base, plan.ops, plan.repeats))
            rows.append(api.measure_status_updates(base, plan.ops, plan.repeats))
        else:
            rows.append(api.measure_creates(base, plan.ops, plan.repeats, operation=label))
    for m in rows:
        operation, _, holds = m.operation.partition("|")
        holds = holds or api.FULL_CHAIN.name
        out.append(
            f"| {existing:,} | {operation} | {holds} | {m.per_second:,.0f} | {m.micros_per_op:.1f} |"
        )
        _log(f"{existing:,} existing: {m.operation}: {m.per_second:,.0f}/s ({m.ops:,} ops)")


def profile_section(
    holds: str, base: ClusterState, ops: int, top: int, out: list[str]
) -> None:
    prof = api.profile_creates(base, ops, top)
    out.append(
        f"### Where a create's time goes: namespace with {holds} "
        f"(cProfile, {prof.ops:,} creates on {prof.existing:,} pods)\n"
    )
    out.append("Stages (time including callees, share of the create loop):\n")
    out.append("| stage | calls | share |")
    out.append("|---|---:|---:|")
    for line in prof.stages:
        out.append(f"| `{line.function}` | {line.calls:,} | {line.total_share:.1%} |")
    out.append("\nTop functions by own time (share of all profiled time):\n")
    out.append("| function | calls | own | incl. callees |")
    out.append("|---|---:|---:|---:|")
    for line in prof.top:
        out.append(
            f"| `{line.function}` | {line.calls:,} | {line.own_share:.1%} | {line.total_share:.1%} |"
        )
    out.append("")


def _log(text: str) -> None:
    print("  " + text, file=sys.stderr, flush=True)


def fork_section(plan: Plan, out: list[str]) -> None:
    out.append("## Snapshot / fork vs `copy.deepcopy` of the same pods as JSON dicts\n")
    out.append(f"Target: independent of size, under {TARGET_FORK_SECONDS * 1e6:.0f} µs.\n")
    out.append(
        "| pods | share the value | `Cluster.snapshot()` | `Cluster.fork()` "
        "| fork + 1 create | `copy.deepcopy` (JSON dicts) | deepcopy / fork |"
    )
    out.append("|---:|---:|---:|---:|---:|---:|---:|")
    for pods in plan.fork_sizes:
        t = fork.measure(pods)
        ratio = t.deepcopy / t.fork if t.fork > 0 else float("inf")
        out.append(
            f"| {pods:,} | {_fmt_time(t.share)} | {_fmt_time(t.snapshot)} | {_fmt_time(t.fork)} "
            f"| {_fmt_time(t.fork_and_create)} | {_fmt_time(t.deepcopy)} | {ratio:,.0f}x |"
        )
        _log(f"fork of {pods:,} pods: {_fmt_time(t.fork)}; deepcopy {_fmt_time(t.deepcopy)}")
    out.append("")


def cluster_section(plan: Plan, out: list[str]) -> None:
    """The whole cluster (`bench_cluster`): idle nodes, pods converging, memory."""
    if plan.cluster_nodes <= 0:
        return
    out.append("## Whole cluster: every default component, simulated time\n")
    out.append(
        f"`new_cluster` with {plan.cluster_nodes:,} nodes; idle {plan.cluster_minutes:g} simulated "
        f"minutes; then {plan.cluster_pods:,} bare pods created and run to Running. "
        "Target (5,000 nodes): idle at >= 10x wall clock.\n"
    )
    rows = whole.run(plan.cluster_nodes, plan.cluster_minutes, plan.cluster_pods)
    out.extend(rows)
    out.append("")
    _log(f"whole cluster of {plan.cluster_nodes:,} nodes: done")


def deployment_section(plan: Plan, out: list[str]) -> None:
    """A Deployment created from nothing to all pods Ready, then rolled to a new image."""
    if plan.deployment_nodes <= 0:
        return
    out.append("## Deployment: create and rolling update, every default component\n")
    out.append(
        f"`new_cluster` with {plan.deployment_nodes:,} nodes; a Deployment of "
        f"{plan.deployment_replicas:,} replicas created until every pod is Ready and it is "
        "Available, then its image changed until the rollout is complete (25% surge, 25% "
        "unavailable). Target (1,000 replicas on 100 nodes): <= 10 s each.\n"
    )
    out.extend(rollout.run(plan.deployment_nodes, plan.deployment_replicas))
    out.append("")
    _log(f"deployment of {plan.deployment_replicas:,} replicas: done")


def network_section(plan: Plan, out: list[str]) -> None:
    """`net route` / `net resolve` per call at scale, and the network programming latency."""
    if plan.route_nodes > 0:
        out.append("## Network: `net route` and `net resolve` in process\n")
        out.append(f"Target: under {routing.TARGET_MS:g} ms per call.\n")
        out.extend(routing.report(routing.measure(plan.route_nodes, plan.route_services, plan.route_endpoints, 2000)))
        out.append("")
        _log(f"route and resolve at {plan.route_nodes:,} nodes: done")
    if plan.latency_nodes > 0:
        out.append("## Network programming latency (pod Ready -> every node's rules), simulated time\n")
        out.append(f"Target (SIG scalability SLO): p99 <= {netlatency.SLO_SECONDS:g} s.\n")
        out.extend(netlatency.report(netlatency.measure(plan.latency_nodes, plan.latency_services, plan.latency_replicas)))
        out.append("")
        _log(f"network programming latency at {plan.latency_nodes:,} nodes: done")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes (under a minute)")
    args = parser.parse_args(argv)
    tune_gc()
    plan = QUICK if args.quick else FULL
    command = "python -m benchmarks.run" + (" --quick" if args.quick else "")
    out = [f"# kcore benchmarks (`{command}`)\n", machine(), ""]
    start = time.perf_counter()
    apiserver_section(plan, out)
    fork_section(plan, out)
    cluster_section(plan, out)
    deployment_section(plan, out)
    network_section(plan, out)
    out.append(f"Whole run: {time.perf_counter() - start:.0f} s.")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
