"""NodeResourcesFit (filter: requests against allocatable minus what bound pods request;
score: LeastAllocated) and NodeResourcesBalancedAllocation (score).

Rules: the filter reports every shortage at once, in upstream's order (pods, cpu,
memory, ephemeral-storage, then scalar resources sorted by name); it is unresolvable
when the pod asks for more than the node's whole allocatable. LeastAllocated scores the
non-zero requests (100m / 200Mi for a missing request) of the node plus the pod;
BalancedAllocation scores the plain requests and skips a pod requesting nothing.
Neither normalizes.

Mirrors pkg/scheduler/framework/plugins/noderesources/fit.go, least_allocated.go,
balanced_allocation.go and resource_allocation.go.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

from kcore.scheduler.nodeinfo import CPU, MEMORY, NodeInfo, PodInfo
from kcore.scheduler.plugins.framework import (
    MAX_NODE_SCORE,
    Code,
    Cycle,
    FilterFn,
    ScorePlan,
    Status,
)

NAME: Final = "NodeResourcesFit"
BALANCED: Final = "NodeResourcesBalancedAllocation"


def insufficient(pod: PodInfo, ni: NodeInfo) -> tuple[tuple[str, bool], ...]:
    """fitsRequest: (reason, unresolvable) for each resource the node lacks."""
    out: list[tuple[str, bool]] = []
    if len(ni.pods) + 1 > ni.allowed_pods:
        out.append(("Too many pods", False))
    r, alloc, used = pod.requests, ni.allocatable, ni.requested
    if not (r.milli_cpu or r.memory or r.ephemeral_storage or r.scalar):
        return tuple(out)
    if r.milli_cpu > 0 and r.milli_cpu > alloc.milli_cpu - used.milli_cpu:
        out.append(("Insufficient cpu", r.milli_cpu > alloc.milli_cpu))
    if r.memory > 0 and r.memory > alloc.memory - used.memory:
        out.append(("Insufficient memory", r.memory > alloc.memory))
    if r.ephemeral_storage > 0 and r.ephemeral_storage > alloc.ephemeral_storage - used.ephemeral_storage:
        out.append(("Insufficient ephemeral-storage", r.ephemeral_storage > alloc.ephemeral_storage))
    for name in sorted(r.scalar):
        want = r.scalar[name]
        have = alloc.scalar.get(name, 0)
        if want != 0 and want > have - used.scalar.get(name, 0):
            out.append((f"Insufficient {name}", want > have))
    return tuple(out)


def prefilter(cycle: Cycle) -> FilterFn:
    """Every node checks the pod's requests against what it has left."""
    pod = cycle.pod

    def check(ni: NodeInfo) -> Status | None:
        short = insufficient(pod, ni)
        if not short:
            return None
        code = (
            Code.UNSCHEDULABLE_AND_UNRESOLVABLE
            if any(u for _, u in short)
            else Code.UNSCHEDULABLE
        )
        return Status(code=code, reasons=tuple(reason for reason, _ in short), plugin=NAME)

    return check


def least_requested(requested: int, capacity: int) -> int:
    """leastRequestedScore: the free fraction of capacity, 0..100."""
    if capacity == 0 or requested > capacity:
        return 0
    return (capacity - requested) * MAX_NODE_SCORE // capacity


def _fit_pairs(
    pod: PodInfo, ni: NodeInfo, resources: Sequence[tuple[str, int]], non_zero: bool
) -> list[tuple[int, int, int]]:
    """(requested, allocatable, weight) per resource, as calculateResourceAllocatableRequest."""
    out: list[tuple[int, int, int]] = []
    for name, weight in resources:
        if name == CPU:
            req = (ni.non_zero_cpu + pod.non_zero_cpu) if non_zero else (
                ni.requested.milli_cpu + pod.requests.milli_cpu
            )
            out.append((req, ni.allocatable.milli_cpu, weight))
        elif name == MEMORY:
            req = (ni.non_zero_memory + pod.non_zero_memory) if non_zero else (
                ni.requested.memory + pod.requests.memory
            )
            out.append((req, ni.allocatable.memory, weight))
        else:
            want = pod.requests.get(name)
            if want == 0:
                out.append((0, 0, weight))  # an unrequested extended resource is not scored
            else:
                out.append((ni.requested.get(name) + want, ni.allocatable.get(name), weight))
    return out


def prescore_least_allocated(cycle: Cycle, feasible: Sequence[NodeInfo]) -> ScorePlan:
    """LeastAllocated: weighted mean of each resource's free fraction after placing the pod."""
    pod, resources = cycle.pod, cycle.config.fit_resources

    def score(ni: NodeInfo) -> int:
        total = weights = 0
        for requested, allocatable, weight in _fit_pairs(pod, ni, resources, True):
            if allocatable == 0:
                continue
            total += least_requested(requested, allocatable) * weight
            weights += weight
        return total // weights if weights else 0

    return ScorePlan(score=score)


def balanced_score(fractions: Sequence[float]) -> int:
    """balancedResourceScorer: (1 - standard deviation of the used fractions) * 100."""
    std = 0.0
    if len(fractions) == 2:
        std = abs((fractions[0] - fractions[1]) / 2)
    elif len(fractions) > 2:
        mean = sum(fractions) / len(fractions)
        std = math.sqrt(sum((f - mean) * (f - mean) for f in fractions) / len(fractions))
    return int((1 - std) * MAX_NODE_SCORE)


def prescore_balanced(cycle: Cycle, feasible: Sequence[NodeInfo]) -> ScorePlan | None:
    """BalancedAllocation: favour nodes whose resources stay evenly used; skip best-effort."""
    pod, resources = cycle.pod, cycle.config.balanced_resources
    if all(pod.requests.get(name) == 0 for name, _ in resources):
        return None

    def score(ni: NodeInfo) -> int:
        fractions = [
            min(requested / allocatable, 1.0)
            for requested, allocatable, _ in _fit_pairs(pod, ni, resources, False)
            if allocatable != 0
        ]
        return balanced_score(fractions)

    return ScorePlan(score=score)
