"""Scheduler throughput on kube-scheduler's SchedulingBasic shape.

`python -m benchmarks.bench_scheduler [--nodes 5000] [--existing 1000] [--pods 10000]`

The shape of test/integration/scheduler_perf's SchedulingBasic: nodes with 4 cpu,
32Gi memory and 110 pods (node-default.yaml), pods requesting 100m cpu and 500Mi memory
(pod-default.yaml); `existing` pods are placed first (not measured), then `pods` pods go
through `schedule_one` and the snapshot update that records the binding (`add_pod`),
with upstream's adaptive percentageOfNodesToScore. Upstream's CI threshold for this shape
is 680-810 pods/s; kcore's target is at least 1,000 pods/s on one core.

Every measured decision must succeed (a BenchmarkError otherwise), and no node may end
up over its allocatable.
"""

from __future__ import annotations

import argparse
import time

import attrs
from pyrsistent import pmap

from benchmarks import BenchmarkError, tune_gc
from kcore.api.core import Node, NodeCondition, NodeSpec, NodeStatus
from kcore.api.meta import ConditionStatus, ObjectMeta
from kcore.api.pod import Container, Pod, PodSpec, ResourceRequirements
from kcore.quantity import parse_quantity
from kcore.scheduler import (
    SchedulerConfig,
    Snapshot,
    Success,
    add_pod,
    schedule_one,
    snapshot_of,
)


@attrs.frozen(kw_only=True)
class Result:
    nodes: int
    existing: int
    pods: int
    seconds: float
    evaluated_per_pod: float

    @property
    def pods_per_second(self) -> float:
        return self.pods / self.seconds


def node(i: int) -> Node:
    name = f"scheduler-perf-{i:05d}"
    capacity = pmap(
        {
            "cpu": parse_quantity("4"),
            "memory": parse_quantity("32Gi"),
            "pods": parse_quantity("110"),
        }
    )
    return Node(
        metadata=ObjectMeta(name=name, labels=pmap({"kubernetes.io/hostname": name})),
        spec=NodeSpec(),
        status=NodeStatus(
            capacity=capacity,
            allocatable=capacity,
            conditions=(NodeCondition(type="Ready", status=ConditionStatus.TRUE),),
        ),
    )


_REQUESTS = pmap({"cpu": parse_quantity("100m"), "memory": parse_quantity("500Mi")})


def pod(i: int, prefix: str) -> Pod:
    return Pod(
        metadata=ObjectMeta(name=f"{prefix}-{i}", namespace="sched-0", uid=f"uid-{prefix}-{i}"),
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


def place(
    s: Snapshot, pods: list[Pod], config: SchedulerConfig, start: int
) -> tuple[Snapshot, int, int]:
    """Schedule and record each pod; (snapshot, next start index, nodes evaluated)."""
    evaluated = 0
    for i, p in enumerate(pods):
        result = schedule_one(s, p, config, seed=7, start_index=start)
        if not isinstance(result, Success):
            raise BenchmarkError(f"pod {i} unschedulable: {result.message}")
        start = result.next_start_index
        evaluated += result.evaluated_nodes
        s = add_pod(s, attrs.evolve(p, spec=attrs.evolve(p.spec, node_name=result.node_name)))
    return s, start, evaluated


def check_not_overcommitted(s: Snapshot) -> None:
    for ni in s.node_infos():
        if (
            ni.requested.milli_cpu > ni.allocatable.milli_cpu
            or ni.requested.memory > ni.allocatable.memory
            or len(ni.pods) > ni.allowed_pods
        ):
            raise BenchmarkError(f"node {ni.name} overcommitted")


def run(nodes: int, existing: int, pods: int) -> Result:
    tune_gc()
    config = SchedulerConfig()
    s = snapshot_of([node(i) for i in range(nodes)], [])
    s, start, _ = place(s, [pod(i, "init") for i in range(existing)], config, 0)
    measured = [pod(i, "measured") for i in range(pods)]
    t0 = time.process_time()  # CPU time of this process: one core, whatever else runs
    s, _, evaluated = place(s, measured, config, start)
    seconds = time.process_time() - t0
    check_not_overcommitted(s)
    if len(s.pod_nodes) != existing + pods:
        raise BenchmarkError(f"{len(s.pod_nodes)} pods placed, want {existing + pods}")
    return Result(
        nodes=nodes, existing=existing, pods=pods, seconds=seconds, evaluated_per_pod=evaluated / pods
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--existing", type=int, default=1000)
    parser.add_argument("--pods", type=int, default=10000)
    args = parser.parse_args()
    r = run(args.nodes, args.existing, args.pods)
    print(
        f"SchedulingBasic nodes={r.nodes} existing={r.existing} measured={r.pods}: "
        f"{r.pods_per_second:,.0f} pods/s ({r.seconds:.2f} s, "
        f"{r.evaluated_per_pod:.0f} nodes evaluated per pod)"
    )


if __name__ == "__main__":
    main()
