"""Pods bound per second end to end: the Scheduler component run by the driver.

`python -m benchmarks.bench_scheduler_component [--nodes 1000] [--pods 5000]`

A `create_cluster` cluster with `nodes` bootstrap-shaped nodes (4 cpu, 16Gi, 110 pods) holds
`pods` pending pods (100m cpu, 500Mi memory; created before the clock starts). Then a
fresh `Scheduler` starts on that state and the driver runs until stable; the measured time
covers everything a real binding costs: the scheduler's LIST (`init`), each scheduling
cycle, the Bind through the apiserver, the watch events fanned back, the Normal
"Scheduled" Event objects created, and the informer/snapshot updates.

Every pod must end up bound (a BenchmarkError otherwise) and no node over allocatable.
"""

from __future__ import annotations

import argparse
import time

import attrs
from pyrsistent import pmap

from benchmarks import BenchmarkError, tune_gc
from kcore.api.core import Node
from kcore.api.kinds import Kind
from kcore.api.meta import ObjectMeta
from kcore.api.pod import Container, Pod, PodSpec, ResourceRequirements
from kcore.cli.cluster import default_cluster_cidr
from kcore.component.requests import Create, Subresource, Update
from kcore.driver.bootstrap import NodeShape, create_cluster, node_object
from kcore.driver.cluster import Cluster
from kcore.driver.faults import PauseComponent, ResumeComponent
from kcore.quantity import parse_quantity
from kcore.scheduler import Scheduler, SchedulerState
from kcore.state import ClusterConfig, list_objects

_REQUESTS = pmap({"cpu": parse_quantity("100m"), "memory": parse_quantity("500Mi")})


@attrs.frozen(kw_only=True)
class Result:
    nodes: int
    pods: int
    seconds: float
    steps: int

    @property
    def pods_per_second(self) -> float:
        return self.pods / self.seconds


def pod(i: int) -> Pod:
    return Pod(
        metadata=ObjectMeta(name=f"pod-{i}", namespace="default"),
        spec=PodSpec(
            containers=(
                Container(
                    name="pause",
                    image="registry.k8s.io/pause:3.10",
                    resources=ResourceRequirements(requests=_REQUESTS, limits=_REQUESTS),
                ),
            )
        ),
    )


def register(cluster: Cluster, index: int) -> None:
    """Node `node-<index>` as bootstrap registers it (its podCIDR from the cluster CIDR)."""
    shaped = node_object(index, NodeShape(), cluster.now, cluster.state.config.cluster_cidr)
    bare = attrs.evolve(shaped, spec=attrs.evolve(shaped.spec, pod_cidr="", pod_cidrs=()))
    created = cluster.request(Create(obj=bare)).body
    if not isinstance(created, Node):
        raise BenchmarkError(f"node {index} not created: {created}")
    resp = cluster.request(Update(obj=attrs.evolve(bare, metadata=created.metadata), subresource=Subresource.STATUS))
    if not resp.ok:
        raise BenchmarkError(f"node {index} status not written: {resp.body}")


def pending_cluster(nodes: int, pods: int) -> Cluster:
    """The cluster before the scheduler starts: nodes and pending pods."""
    cluster = create_cluster(ClusterConfig(seed=7, cluster_cidr=default_cluster_cidr(nodes)))
    for i in range(1, nodes + 1):
        register(cluster, i)
    for i in range(pods):
        resp = cluster.request(Create(obj=pod(i)))
        if not resp.ok:
            raise BenchmarkError(f"pod {i} not created: {resp.body}")
    return cluster


def check(cluster: Cluster, pods: int) -> None:
    """Every pod bound, no node over its allocatable (the scheduler's own accounting)."""
    unbound = [p for p in list_objects(cluster.state, Kind.POD) if isinstance(p, Pod) and not p.spec.node_name]
    if unbound:
        raise BenchmarkError(f"{len(unbound)} of {pods} pods unbound")
    state: SchedulerState = cluster.component_state("kube-scheduler")
    for ni in state.snapshot.node_infos():
        if ni.requested.milli_cpu > ni.allocatable.milli_cpu or len(ni.pods) > ni.allowed_pods:
            raise BenchmarkError(f"node {ni.name} overcommitted")


def run(nodes: int, pods: int, existing: int = 0) -> Result:
    """SchedulingBasic through the component: `existing` pods placed first (not timed),
    then `pods` more created while the scheduler is paused; the time (CPU of this
    process: one core) runs from its resume until every pod is bound."""
    tune_gc()
    base = pending_cluster(nodes, existing)
    cluster = Cluster(base.snapshot(), [Scheduler()])
    if not cluster.run_until_stable():
        raise BenchmarkError("the driver did not settle")
    cluster.inject(PauseComponent(name="kube-scheduler"))
    for i in range(existing, existing + pods):
        resp = cluster.request(Create(obj=pod(i)))
        if not resp.ok:
            raise BenchmarkError(f"pod {i} not created: {resp.body}")
    cluster.run_until_stable()
    steps_before = len(cluster.trace) + cluster.snapshot().trace_dropped
    t0 = time.process_time()
    cluster.inject(ResumeComponent(name="kube-scheduler"))
    if not cluster.run_until_stable():
        raise BenchmarkError("the driver did not settle")
    seconds = time.process_time() - t0
    check(cluster, existing + pods)
    steps = len(cluster.trace) + cluster.snapshot().trace_dropped - steps_before
    return Result(nodes=nodes, pods=pods, seconds=seconds, steps=steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--pods", type=int, default=5000)
    parser.add_argument("--existing", type=int, default=0)
    args = parser.parse_args()
    r = run(args.nodes, args.pods, args.existing)
    print(
        f"scheduler component nodes={r.nodes} pods={r.pods}: {r.pods_per_second:,.0f} pods bound/s "
        f"({r.seconds:.2f} s, {r.steps:,} trace entries)"
    )


if __name__ == "__main__":
    main()
