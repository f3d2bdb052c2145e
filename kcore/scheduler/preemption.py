"""DefaultPreemption (the PostFilter): when a pod fits nowhere, find a node where deleting
lower-priority pods makes it fit, with as few and as unimportant victims as possible.

Rules (default_preemption.go, preemption.go):
- a pod with preemptionPolicy Never is not eligible, nor is a pod whose nominated node
  still has a terminating lower-priority pod (its earlier victims are on their way out),
  unless the filters found that node UnschedulableAndUnresolvable;
- only nodes that failed with a resolvable status (Unschedulable) are candidates; the
  others are "Preemption is not helpful for scheduling";
- on a candidate node every pod of lower priority is removed; if the pod still does not
  fit the node fails with that filter's status; else the removed pods are reprieved one by
  one, most important first (higher priority, then earlier start), keeping each that
  still lets the pod fit; the rest are the victims. A node with no lower-priority pod:
  "No preemption victims found for incoming pod";
- the dry run starts at a seeded offset and stops after max(10% of candidates, 100);
- the best candidate has the lowest highest victim priority, then the lowest priority
  sum, then the fewest victims, then the latest start of its highest-priority victims,
  then comes first. PodDisruptionBudgets are not modelled (no violations ever).
`preempt` returns a `Nomination`, or the PostFilter message ("preemption: ...").

Must not know: how victims are deleted (the scheduler component emits the requests).

Mirrors pkg/scheduler/framework/plugins/defaultpreemption/default_preemption.go and
pkg/scheduler/framework/preemption/preemption.go.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Final

import attrs

from kcore.api.pod import PreemptionPolicy
from kcore.scheduler.filtering import Diagnosis, Nomination, fit_error_message, fits
from kcore.scheduler.nodeinfo import NodeInfo, PodInfo, Snapshot, remove_pod
from kcore.scheduler.nodeinfo import add_pod as snapshot_add_pod
from kcore.scheduler.plugins.framework import Code, Cycle, Status, unresolvable

NAME: Final = "DefaultPreemption"
NOT_HELPFUL: Final = "Preemption is not helpful for scheduling"
NO_VICTIMS: Final = "No preemption victims found for incoming pod"
NOT_ELIGIBLE_NEVER: Final = "not eligible due to preemptionPolicy=Never."
NOT_ELIGIBLE_TERMINATING: Final = "not eligible due to a terminating pod on the nominated node."
MIN_CANDIDATE_NODES_PERCENTAGE: Final = 10
MIN_CANDIDATE_NODES_ABSOLUTE: Final = 100


@attrs.frozen(kw_only=True)
class Candidate:
    node_name: str
    victims: tuple[PodInfo, ...]  # most important first


def importance(p: PodInfo) -> tuple[int, float, str, str]:
    """MoreImportantPod as a sort key: higher priority, then earlier start, first."""
    return (-p.priority, p.start_time, p.namespace, p.key.name)


def _without(s: Snapshot, pods: Sequence[PodInfo]) -> Snapshot:
    for p in pods:
        s = remove_pod(s, p.key)
    return s


def select_victims(cycle: Cycle, ni: NodeInfo) -> tuple[PodInfo, ...] | Status:
    """SelectVictimsOnNode: the minimal set of lower-priority pods to delete, or why not."""
    pod = cycle.pod
    lower = sorted((p for p in ni.pods.values() if p.priority < pod.priority), key=importance)
    if not lower:
        return unresolvable(NAME, NO_VICTIMS)
    s = _without(cycle.snapshot, lower)
    status = fits(attrs.evolve(cycle, snapshot=s), s.info(ni.name))
    if status is not None:
        return status
    victims: list[PodInfo] = []
    for p in lower:
        trial = snapshot_add_pod(s, p.pod)
        if fits(attrs.evolve(cycle, snapshot=trial), trial.info(ni.name)) is None:
            s = trial
        else:
            victims.append(p)
    return tuple(victims)


def _offset(seed: int, pod: PodInfo, n: int) -> int:
    text = f"{seed}\x00{pod.uid}\x00{pod.namespace}\x00{pod.key.name}\x00preemption"
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") % n


def num_candidates(n: int) -> int:
    """calcNumCandidates: 10% of the potential nodes, at least 100, at most all."""
    return min(max(n * MIN_CANDIDATE_NODES_PERCENTAGE // 100, MIN_CANDIDATE_NODES_ABSOLUTE), n)


def _start_of_top(c: Candidate) -> float:
    top = c.victims[0].priority
    return min(v.start_time for v in c.victims if v.priority == top)


def pick_one(candidates: Sequence[Candidate]) -> Candidate:
    """pickOneNodeForPreemption over candidates in dry-run order."""
    for c in candidates:
        if not c.victims:
            return c

    def key(c: Candidate) -> tuple[int, int, int, float]:
        return (
            c.victims[0].priority,
            sum(v.priority + 2**31 for v in c.victims),
            len(c.victims),
            -_start_of_top(c),
        )

    best = min(key(c) for c in candidates)
    return next(c for c in candidates if key(c) == best)


def victims_terminating(cycle: Cycle, by_node: dict[str, Status]) -> bool:
    """PodEligibleToPreemptOthers' second rule: a lower-priority pod is terminating on the
    pod's nominated node (and the filters did not rule that node out for good)."""
    pod = cycle.pod
    nominated = pod.pod.status.nominated_node_name
    if not nominated:
        return False
    status = by_node.get(nominated)
    if status is not None and status.code is Code.UNSCHEDULABLE_AND_UNRESOLVABLE:
        return False
    ni = cycle.snapshot.get(nominated)
    return ni is not None and any(
        p.terminating and p.priority < pod.priority for p in ni.pods.values()
    )


def preempt(cycle: Cycle, diagnosis: Diagnosis, seed: int) -> Nomination | str:
    """The PostFilter: a nomination with its victims, or the "preemption: ..." message."""
    pod = cycle.pod
    if pod.pod.spec.preemption_policy is PreemptionPolicy.NEVER:
        return f"preemption: {NOT_ELIGIBLE_NEVER}"
    s = cycle.snapshot
    by_node = dict(diagnosis.node_to_status)
    if victims_terminating(cycle, by_node):
        return f"preemption: {NOT_ELIGIBLE_TERMINATING}"
    potential = [n for n in s.node_order if n in by_node and by_node[n].code is Code.UNSCHEDULABLE]
    statuses: dict[str, Status] = {}
    candidates: list[Candidate] = []
    if potential:
        offset, wanted = _offset(seed, pod, len(potential)), num_candidates(len(potential))
        for i in range(len(potential)):
            name = potential[(offset + i) % len(potential)]
            outcome = select_victims(cycle, s.info(name))
            if isinstance(outcome, Status):
                statuses[name] = outcome
                continue
            candidates.append(Candidate(node_name=name, victims=outcome))
            if len(candidates) >= wanted:
                break
    if not candidates:
        absent = unresolvable(NAME, NOT_HELPFUL)
        every = [statuses.get(n, absent) for n in s.node_order]
        return "preemption: " + fit_error_message(len(s.node_order), every, "")
    best = pick_one(candidates)
    return Nomination(
        node_name=best.node_name, victims=tuple(sorted(v.key for v in best.victims))
    )
