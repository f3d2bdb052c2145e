"""InterPodAffinity: required affinity / anti-affinity of the incoming pod and required
anti-affinity of existing pods against it (filter); preferred terms both ways and existing
pods' required affinity at hardPodAffinityWeight (score, min-max normalized).

Rules (filtering.go): counts are kept per (topologyKey, value) pair. Affinity needs, on
every term's topology, a pair holding a pod matching all the terms, except that the first
pod of a group that matches its own terms may go anywhere its topology keys exist when no
pod in the cluster matches; anti-affinity fails a node whose pair holds a matching pod;
an existing pod's anti-affinity term matching the incoming pod fails every node sharing
that pod's pair. Namespace selectors are read against the namespaces' labels.

Mirrors pkg/scheduler/framework/plugins/interpodaffinity/{filtering,scoring}.go.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

from kcore.scheduler.nodeinfo import AffinityTerm, NodeInfo, PodInfo, Snapshot
from kcore.scheduler.plugins.framework import (
    MAX_NODE_SCORE,
    Cycle,
    FilterFn,
    ScorePlan,
    Status,
    unresolvable,
    unschedulable,
)

NAME: Final = "InterPodAffinity"
ERR_AFFINITY: Final = "node(s) didn't match pod affinity rules"
ERR_ANTI_AFFINITY: Final = "node(s) didn't match pod anti-affinity rules"
ERR_EXISTING_ANTI_AFFINITY: Final = "node(s) didn't satisfy existing pods anti-affinity rules"

Pair = tuple[str, str]


def _bump(counts: dict[Pair, int], ni: NodeInfo, key: str, by: int) -> None:
    value = ni.labels.get(key)
    if value is not None:
        pair = (key, value)
        n = counts.get(pair, 0) + by
        if n == 0:
            counts.pop(pair, None)
        else:
            counts[pair] = n


def _matches_all(terms: Sequence[AffinityTerm], p: PodInfo, s: Snapshot) -> bool:
    if not terms:
        return False
    ns_labels = s.ns_labels(p.namespace)
    return all(t.matches(p, ns_labels) for t in terms)


def existing_anti_affinity_counts(s: Snapshot, pod: PodInfo) -> dict[Pair, int]:
    """getExistingAntiAffinityCounts: pairs where an existing pod's anti-affinity bars `pod`."""
    counts: dict[Pair, int] = {}
    ns_labels = s.ns_labels(pod.namespace)
    for name in sorted(s.with_required_anti_affinity):
        ni = s.info(name)
        if ni.node is None:
            continue
        for key in ni.pods_with_required_anti_affinity:
            for term in ni.pods[key].required_anti_affinity:
                if term.matches(pod, ns_labels):
                    _bump(counts, ni, term.topology_key, 1)
    return counts


def _candidate_pods(s: Snapshot, terms: Iterable[AffinityTerm]) -> Iterable[PodInfo]:
    """Existing pods that could match any of `terms`: only their namespaces' pods, unless a
    namespace selector may pick any namespace."""
    terms = tuple(terms)
    if any(not t.namespace_selector.matches_nothing for t in terms):
        namespaces: Iterable[str] = sorted(s.pods_by_namespace)
    else:
        namespaces = sorted({ns for t in terms for ns in t.namespaces})
    for ns in namespaces:
        for key in s.pods_by_namespace.get(ns, ()):
            yield s.info(s.pod_nodes[key]).pods[key]


def incoming_counts(s: Snapshot, pod: PodInfo) -> tuple[dict[Pair, int], dict[Pair, int]]:
    """getIncomingAffinityAntiAffinityCounts over every existing pod."""
    affinity: dict[Pair, int] = {}
    anti: dict[Pair, int] = {}
    if not pod.required_affinity and not pod.required_anti_affinity:
        return affinity, anti
    for p in _candidate_pods(s, pod.required_affinity + pod.required_anti_affinity):
        ni = s.info(s.pod_nodes[p.key])
        if ni.node is None:
            continue
        if _matches_all(pod.required_affinity, p, s):
            for t in pod.required_affinity:
                _bump(affinity, ni, t.topology_key, 1)
        ns_labels = s.ns_labels(p.namespace)
        for t in pod.required_anti_affinity:
            if t.matches(p, ns_labels):
                _bump(anti, ni, t.topology_key, 1)
    return affinity, anti


def prefilter(cycle: Cycle) -> FilterFn | None:
    """Count the pairs once; each node then looks its own pairs up."""
    s, pod = cycle.snapshot, cycle.pod
    existing = existing_anti_affinity_counts(s, pod)
    if not existing and not pod.required_affinity and not pod.required_anti_affinity:
        return None
    affinity, anti = incoming_counts(s, pod)
    self_match = _matches_all(pod.required_affinity, pod, s)

    def satisfies_affinity(ni: NodeInfo) -> bool:
        labels = ni.labels
        pods_exist = True
        for t in pod.required_affinity:
            value = labels.get(t.topology_key)
            if value is None:
                return False
            if affinity.get((t.topology_key, value), 0) <= 0:
                pods_exist = False
        return pods_exist or (not affinity and self_match)

    def check(ni: NodeInfo) -> Status | None:
        labels = ni.labels
        if not satisfies_affinity(ni):
            return unresolvable(NAME, ERR_AFFINITY)
        for t in pod.required_anti_affinity:
            value = labels.get(t.topology_key)
            if value is not None and anti.get((t.topology_key, value), 0) > 0:
                return unschedulable(NAME, ERR_ANTI_AFFINITY)
        if existing:
            for pair in labels.items():
                if existing.get(pair, 0) > 0:
                    return unschedulable(NAME, ERR_EXISTING_ANTI_AFFINITY)
        return None

    return check


def _process_terms(
    scores: dict[Pair, int],
    terms: Iterable[AffinityTerm],
    target: PodInfo,
    s: Snapshot,
    ni: NodeInfo,
    sign: int,
    weight: int | None = None,
) -> None:
    ns_labels = s.ns_labels(target.namespace)
    for t in terms:
        if t.matches(target, ns_labels):
            _bump(scores, ni, t.topology_key, sign * (t.weight if weight is None else weight))


def prescore(cycle: Cycle, feasible: Sequence[NodeInfo]) -> ScorePlan | None:
    """Topology scores from every relevant existing pod; a node scores its pairs' sum."""
    s, pod, hard_weight = cycle.snapshot, cycle.pod, cycle.config.hard_pod_affinity_weight
    has_constraints = bool(pod.preferred_affinity or pod.preferred_anti_affinity)
    names = s.node_order if has_constraints else tuple(sorted(s.with_affinity))
    scores: dict[Pair, int] = {}
    for name in names:
        ni = s.info(name)
        if ni.node is None or not ni.labels:
            continue
        keys = sorted(ni.pods) if has_constraints else sorted(ni.pods_with_affinity)
        for key in keys:
            existing = ni.pods[key]
            _process_terms(scores, pod.preferred_affinity, existing, s, ni, 1)
            _process_terms(scores, pod.preferred_anti_affinity, existing, s, ni, -1)
            if hard_weight > 0:
                _process_terms(scores, existing.required_affinity, pod, s, ni, 1, hard_weight)
            _process_terms(scores, existing.preferred_affinity, pod, s, ni, 1)
            _process_terms(scores, existing.preferred_anti_affinity, pod, s, ni, -1)
    if not scores:
        return None
    keys_used = sorted({k for k, _ in scores})

    def score(ni: NodeInfo) -> int:
        labels = ni.labels
        return sum(
            scores.get((k, labels[k]), 0) for k in keys_used if k in labels
        )

    def normalize(_nodes: Sequence[NodeInfo], raw: list[int]) -> list[int]:
        lo, hi = min(raw, default=0), max(raw, default=0)
        diff = hi - lo
        return [int(MAX_NODE_SCORE * ((x - lo) / diff)) if diff > 0 else 0 for x in raw]

    return ScorePlan(score=score, normalize=normalize)
