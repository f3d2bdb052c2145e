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
    ScoreFn,
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
    for name in sorted(r.scalar) if r.scalar else ():
        want = r.scalar[name]
        have = alloc.scalar.get(name, 0)
        if want != 0 and want > have - used.scalar.get(name, 0):
            out.append((f"Insufficient {name}", want > have))
    return tuple(out)


def prefilter(cycle: Cycle) -> FilterFn:
    """Every node checks the pod's requests against what it has left."""
    pod = cycle.pod
    r = pod.requests
    if not (r.ephemeral_storage or r.scalar):
        return _check_cpu_memory(pod)

    def check(ni: NodeInfo) -> Status | None:
        return _status(pod, ni)

    return check


def _status(pod: PodInfo, ni: NodeInfo) -> Status | None:
    short = insufficient(pod, ni)
    if not short:
        return None
    code = Code.UNSCHEDULABLE_AND_UNRESOLVABLE if any(u for _, u in short) else Code.UNSCHEDULABLE
    return Status(code=code, reasons=tuple(reason for reason, _ in short), plugin=NAME)


def _check_cpu_memory(pod: PodInfo) -> FilterFn:
    """The filter for a pod asking only for cpu and memory: a cheap test first, the full
    `insufficient` only on a node that fails it."""
    cpu, mem = pod.requests.milli_cpu, pod.requests.memory

    def check(ni: NodeInfo) -> Status | None:
        alloc, used = ni.allocatable, ni.requested
        if (
            len(ni.pods) < ni.allowed_pods
            and cpu <= alloc.milli_cpu - used.milli_cpu
            and mem <= alloc.memory - used.memory
        ):
            return None
        return _status(pod, ni)

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
    if tuple(name for name, _ in resources) == (CPU, MEMORY):
        return ScorePlan(score=_least_allocated_cpu_memory(pod, resources[0][1], resources[1][1]))

    def score(ni: NodeInfo) -> int:
        total = weights = 0
        for requested, allocatable, weight in _fit_pairs(pod, ni, resources, True):
            if allocatable == 0:
                continue
            total += least_requested(requested, allocatable) * weight
            weights += weight
        return total // weights if weights else 0

    return ScorePlan(score=score)


def _least_allocated_cpu_memory(pod: PodInfo, w_cpu: int, w_mem: int) -> ScoreFn:
    """LeastAllocated over cpu and memory only (the default), without the generic loop."""
    cpu, mem = pod.non_zero_cpu, pod.non_zero_memory

    def score(ni: NodeInfo) -> int:
        alloc = ni.allocatable
        cap_cpu, cap_mem = alloc.milli_cpu, alloc.memory
        if cap_cpu and cap_mem:
            req_cpu, req_mem = ni.non_zero_cpu + cpu, ni.non_zero_memory + mem
            s_cpu = 0 if req_cpu > cap_cpu else (cap_cpu - req_cpu) * MAX_NODE_SCORE // cap_cpu
            s_mem = 0 if req_mem > cap_mem else (cap_mem - req_mem) * MAX_NODE_SCORE // cap_mem
            return (s_cpu * w_cpu + s_mem * w_mem) // (w_cpu + w_mem)
        total = weights = 0
        if cap_cpu:
            total += least_requested(ni.non_zero_cpu + cpu, cap_cpu) * w_cpu
            weights += w_cpu
        if cap_mem:
            total += least_requested(ni.non_zero_memory + mem, cap_mem) * w_mem
            weights += w_mem
        return total // weights if weights else 0

    return score


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

    if tuple(name for name, _ in resources) == (CPU, MEMORY):
        return ScorePlan(score=_balanced_cpu_memory(pod))

    def score(ni: NodeInfo) -> int:
        fractions = [
            min(requested / allocatable, 1.0)
            for requested, allocatable, _ in _fit_pairs(pod, ni, resources, False)
            if allocatable != 0
        ]
        return balanced_score(fractions)

    return ScorePlan(score=score)


def _balanced_cpu_memory(pod: PodInfo) -> ScoreFn:
    """BalancedAllocation over cpu and memory only (the default): |f_cpu - f_mem| / 2."""
    cpu, mem = pod.requests.milli_cpu, pod.requests.memory

    def score(ni: NodeInfo) -> int:
        alloc, used = ni.allocatable, ni.requested
        cap_cpu, cap_mem = alloc.milli_cpu, alloc.memory
        if cap_cpu and cap_mem:
            f_cpu = (used.milli_cpu + cpu) / cap_cpu
            f_mem = (used.memory + mem) / cap_mem
            if f_cpu > 1.0:
                f_cpu = 1.0
            if f_mem > 1.0:
                f_mem = 1.0
            diff = f_cpu - f_mem if f_cpu >= f_mem else f_mem - f_cpu
            return int((1 - diff / 2) * MAX_NODE_SCORE)
        return MAX_NODE_SCORE

    return score
