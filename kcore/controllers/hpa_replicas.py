"""The HPA's replica calculator: desired replicas from pods, their requests and metrics.

Owns the pure arithmetic of the autoscaler's resource metrics: `PodSample` (one pod's
metric as the metrics API reports it), `resource_samples` (the metrics client: a sample
per pod that has PodMetrics for the resource), `group_pods` (ready / unready / missing /
ignored, with the cpu initialisation rules), `pod_requests`, `utilization_ratio`,
`usage_ratio`, `pod_reads_changed` (whether a pod update touches any of that), and the two calculators `resource_replicas` (a Utilization target, percent
of requests) and `raw_resource_replicas` (an AverageValue target). Each returns a
`Proposal` or, when no count can be computed, the error text upstream would give.

Rules (as upstream):
- TOLERANCE 0.1: a ratio within 10% of 1 keeps the current count;
- pods being deleted or Failed are ignored; Pending pods are unready; a Running pod
  without a sample is missing; for cpu, a pod whose Ready condition or start time is
  unknown is unready, and so is one still inside CPU_INITIALIZATION_PERIOD (300 s) after
  its start that is not Ready or whose sample does not yet cover one window since its
  readiness changed; after that period, a pod not Ready that never was (its Ready
  condition last changed within DELAY_OF_INITIAL_READINESS_STATUS, 30 s, of its start);
- the first ratio uses only the ready pods' samples; when pods are missing or (on a
  scale-up) unready, missing pods count at 100% of their request on a scale-down (at
  the target when it is higher) and 0 on a scale-up, unready pods 0 on a scale-up, and
  the ratio is recomputed; a recomputed ratio within tolerance or pointing the other way,
  or a count moving against the ratio, keeps the current count.

Must not know: the controller's state, the driver, how metrics got into the view.
Mirrors pkg/controller/podautoscaler/replica_calculator.go (GetResourceReplicas,
GetRawResourceReplicas, calcPlainMetricReplicas, groupPods, calculatePodRequests) and
metrics/utilization.go, metrics/client.go (getResourceMetric).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Final

import attrs

from kcore.api.meta import ConditionStatus, Time
from kcore.api.metrics import PodMetrics, window_seconds
from kcore.api.pod import ContainerRestartPolicy, Pod, PodPhase

TOLERANCE: Final = 0.1
CPU_INITIALIZATION_PERIOD: Final = 300.0
DELAY_OF_INITIAL_READINESS_STATUS: Final = 30.0
RESOURCE_CPU: Final = "cpu"


@attrs.frozen(kw_only=True)
class PodSample:
    """One pod's metric: the value in milli-units, when it was taken and over what window."""

    value: int
    timestamp: Time
    window: float


@attrs.frozen(kw_only=True)
class Proposal:
    """A calculator's answer: the replica count, the utilization in percent of requests
    (0 for a raw target) and the raw average value in milli-units."""

    replicas: int
    utilization: int
    raw_average: int
    timestamp: Time


@attrs.frozen(kw_only=True)
class Groups:
    ready_count: int
    unready: frozenset[str]
    missing: frozenset[str]
    ignored: frozenset[str]


def resource_samples(
    metrics: Mapping[str, PodMetrics], resource: str, container: str = ""
) -> dict[str, PodSample]:
    """getResourceMetric: each pod's usage of `resource` summed over its containers (or
    only `container`); a pod any counted container of which lacks the resource has none."""
    samples: dict[str, PodSample] = {}
    for name in sorted(metrics):
        pm = metrics[name]
        total, missing, found = 0, False, False
        for c in pm.containers:
            if container and c.name != container:
                continue
            found = True
            quantity = c.usage.get(resource)
            if quantity is None:
                missing = True
                break
            total += quantity.milli_value()
        if missing or (container and not found):
            continue
        samples[name] = PodSample(
            value=total, timestamp=pm.timestamp or Time(0.0), window=window_seconds(pm.window) or 0.0
        )
    return samples


def _ready_condition(pod: Pod) -> tuple[ConditionStatus, Time] | None:
    for c in pod.status.conditions:
        if c.type == "Ready":
            return c.status, c.last_transition_time or Time(0.0)
    return None


def _cpu_unready(pod: Pod, sample: PodSample, now: Time) -> bool:
    ready = _ready_condition(pod)
    start = pod.status.start_time
    if ready is None or start is None:
        return True
    status, transition = ready
    if start + CPU_INITIALIZATION_PERIOD > now:
        return status is ConditionStatus.FALSE or sample.timestamp < transition + sample.window
    return status is ConditionStatus.FALSE and start + DELAY_OF_INITIAL_READINESS_STATUS > transition


def pod_reads_changed(old: Pod, new: Pod) -> bool:
    """Whether an update of a pod changes anything the calculator reads of it: the
    selector's labels, groupPods' deletion / phase / start time / Ready condition, the
    requests (the HPA's watch filter)."""
    if old is new:
        return False
    a, b, x, y = old.metadata, new.metadata, old.status, new.status
    if (
        a.deletion_timestamp != b.deletion_timestamp
        or a.uid != b.uid
        or a.labels != b.labels
        or old.spec.containers != new.spec.containers
        or old.spec.init_containers != new.spec.init_containers
    ):
        return True
    if b.deletion_timestamp is not None:
        return False  # ignored by groupPods whatever its status says
    return (
        x.phase is not y.phase
        or x.start_time != y.start_time
        or (x.conditions is not y.conditions and _ready_condition(old) != _ready_condition(new))
    )


def group_pods(pods: tuple[Pod, ...], samples: Mapping[str, PodSample], resource: str, now: Time) -> Groups:
    """groupPods: how many pods are ready, and which are unready, missing or ignored."""
    ready = 0
    unready: set[str] = set()
    missing: set[str] = set()
    ignored: set[str] = set()
    for pod in pods:
        name = pod.metadata.name
        if pod.metadata.deletion_timestamp is not None or pod.status.phase is PodPhase.FAILED:
            ignored.add(name)
            continue
        if pod.status.phase in (PodPhase.PENDING, None):
            unready.add(name)
            continue
        sample = samples.get(name)
        if sample is None:
            missing.add(name)
            continue
        if resource == RESOURCE_CPU and _cpu_unready(pod, sample, now):
            unready.add(name)
            continue
        ready += 1
    return Groups(ready_count=ready, unready=frozenset(unready), missing=frozenset(missing), ignored=frozenset(ignored))


def pod_requests(pods: tuple[Pod, ...], resource: str, container: str = "") -> dict[str, int] | str:
    """calculatePodRequests: each pod's request of `resource` in milli-units over its
    containers and sidecars (or only `container`), or the error naming the first
    container without one."""
    requests: dict[str, int] = {}
    for pod in pods:
        sidecars = tuple(
            c for c in pod.spec.init_containers if c.restart_policy is ContainerRestartPolicy.ALWAYS
        )
        total = 0
        for c in (*pod.spec.containers, *sidecars):
            if container and c.name != container:
                continue
            quantity = c.resources.requests.get(resource)
            if quantity is None:
                return f"missing request for {resource} in container {c.name} of Pod {pod.metadata.name}"
            total += quantity.milli_value()
        requests[pod.metadata.name] = total
    return requests


def utilization_ratio(
    values: Mapping[str, int], requests: Mapping[str, int], target: int
) -> tuple[float, int, int] | str:
    """GetResourceUtilizationRatio: (ratio to the target, utilization percent, raw average)."""
    metrics_total = requests_total = entries = 0
    for name in sorted(values):
        request = requests.get(name)
        if request is None:
            continue
        metrics_total += values[name]
        requests_total += request
        entries += 1
    if requests_total == 0:
        return "no metrics returned matched known pods"
    utilization = _go_div(metrics_total * 100, requests_total)
    return utilization / target, utilization, _go_div(metrics_total, entries)


def usage_ratio(values: Mapping[str, int], target: int) -> tuple[float, int]:
    """GetMetricUsageRatio: (ratio of the average to the target, the average)."""
    average = _go_div(sum(values.values()), len(values))
    return average / target, average


def _go_div(a: int, b: int) -> int:
    """Go's integer division truncates toward zero."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def _within_tolerance(ratio: float) -> bool:
    return abs(1.0 - ratio) <= TOLERANCE


def _fill_in(
    values: dict[str, int],
    ratio: float,
    groups: Groups,
    missing_down: Mapping[str, int],
) -> dict[str, int]:
    filled = dict(values)
    if groups.missing:
        if ratio < 1.0:
            filled.update({n: missing_down[n] for n in groups.missing})
        elif ratio > 1.0:
            filled.update({n: 0 for n in groups.missing})
    if groups.unready and ratio > 1.0:
        filled.update({n: 0 for n in groups.unready})
    return filled


def _rebalanced(current: int, ratio: float, new_ratio: float, count: int) -> int:
    if _within_tolerance(new_ratio) or (ratio < 1.0 < new_ratio) or (ratio > 1.0 > new_ratio):
        return current
    replicas = math.ceil(new_ratio * count)
    if (new_ratio < 1.0 and replicas > current) or (new_ratio > 1.0 and replicas < current):
        return current
    return replicas


def _prepare(
    pods: tuple[Pod, ...], samples: Mapping[str, PodSample], resource: str, now: Time
) -> tuple[Groups, dict[str, int]] | str:
    if not pods:
        return "no pods returned by selector while calculating replica count"
    groups = group_pods(pods, samples, resource, now)
    dropped = groups.ignored | groups.unready
    values = {n: s.value for n, s in samples.items() if n not in dropped}
    return groups, values


def _timestamp(samples: Mapping[str, PodSample]) -> Time:
    return samples[min(samples)].timestamp if samples else Time(0.0)


def resource_replicas(
    current: int,
    target_utilization: int,
    resource: str,
    pods: tuple[Pod, ...],
    samples: Mapping[str, PodSample],
    now: Time,
    container: str = "",
) -> Proposal | str:
    """GetResourceReplicas: the count that brings utilization (percent of requests) to the target."""
    if not samples:
        return f"unable to get metrics for resource {resource}: no metrics returned from resource metrics API"
    prepared = _prepare(pods, samples, resource, now)
    if isinstance(prepared, str):
        return prepared
    groups, values = prepared
    requests = pod_requests(pods, resource, container)
    if isinstance(requests, str):
        return requests
    if not values:
        return "did not receive metrics for targeted pods (pods might be unready)"
    first = utilization_ratio(values, requests, target_utilization)
    if isinstance(first, str):
        return first
    ratio, utilization, raw = first
    at = _timestamp(samples)
    scale_up_with_unready = bool(groups.unready) and ratio > 1.0
    if not scale_up_with_unready and not groups.missing:
        replicas = current if _within_tolerance(ratio) else math.ceil(ratio * groups.ready_count)
        return Proposal(replicas=replicas, utilization=utilization, raw_average=raw, timestamp=at)
    fallback = max(100, target_utilization)
    missing_down = {n: _go_div(requests.get(n, 0) * fallback, 100) for n in groups.missing}
    filled = _fill_in(values, ratio, groups, missing_down)
    second = utilization_ratio(filled, requests, target_utilization)
    if isinstance(second, str):
        return second
    replicas = _rebalanced(current, ratio, second[0], len(filled))
    return Proposal(replicas=replicas, utilization=utilization, raw_average=raw, timestamp=at)


def raw_resource_replicas(
    current: int,
    target_milli: int,
    resource: str,
    pods: tuple[Pod, ...],
    samples: Mapping[str, PodSample],
    now: Time,
) -> Proposal | str:
    """GetRawResourceReplicas (calcPlainMetricReplicas): the count that brings the average
    usage per pod to `target_milli`."""
    if not samples:
        return f"unable to get metrics for resource {resource}: no metrics returned from resource metrics API"
    if target_milli <= 0:
        return f"invalid target value for resource {resource}: must be greater than 0"
    prepared = _prepare(pods, samples, resource, now)
    if isinstance(prepared, str):
        return prepared
    groups, values = prepared
    if not values:
        return "did not receive metrics for targeted pods (pods might be unready)"
    ratio, average = usage_ratio(values, target_milli)
    at = _timestamp(samples)
    scale_up_with_unready = bool(groups.unready) and ratio > 1.0
    if not scale_up_with_unready and not groups.missing:
        replicas = current if _within_tolerance(ratio) else math.ceil(ratio * groups.ready_count)
        return Proposal(replicas=replicas, utilization=0, raw_average=average, timestamp=at)
    missing_down = {n: target_milli for n in groups.missing}
    filled = _fill_in(values, ratio, groups, missing_down)
    new_ratio, _ = usage_ratio(filled, target_milli)
    replicas = _rebalanced(current, ratio, new_ratio, len(filled))
    return Proposal(replicas=replicas, utilization=0, raw_average=average, timestamp=at)
