"""The DaemonSet rolling update: which old pods to replace within maxUnavailable, or which
nodes to surge onto within maxSurge, as a pure plan.

Owns `Changes` (what manage or the rolling update asks of syncNodes) and
`rolling_update_plan` (with `find_updated_pods_on_node`).

Rules (upstream's rollingUpdate): budgets scale against desiredNumberScheduled, both
rounded up; when both are 0 on a non-empty set, maxUnavailable is 1. Without surge, every
node with nothing, with an old and a new pod, with duplicates, or with an unavailable new
pod counts as unavailable; unavailable old pods are replaced at once, available ones only
within what is left of maxUnavailable. With surge, a node whose old pod is unavailable
gets its new pod at once, others within maxSurge; an old pod goes when its node's new pod
is available (or, on a node that should no longer run it, once enough pods elsewhere are
available). Deleting pods do not count. Nodes are visited in name order (upstream: Go
map order).

Must not know: component state, the apiserver, the driver.
Mirrors pkg/controller/daemon/update.go (rollingUpdate, findUpdatedPodsOnNode,
updatedDesiredNodeCounts).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs

from kcore.api.apps import DaemonSet
from kcore.api.core import Node
from kcore.api.meta import Time
from kcore.api.pod import Pod
from kcore.controllers import daemonset_util as du
from kcore.controllers.podcontrol import is_pod_available


def find_updated_pods_on_node(pods: Sequence[Pod], hash_: str, generation: int | None) -> tuple[Pod | None, Pod | None, bool]:
    """findUpdatedPodsOnNode: (new, old, ok) over live pods; ok False on duplicates."""
    new: Pod | None = None
    old: Pod | None = None
    for pod in pods:
        if pod.metadata.deletion_timestamp is not None:
            continue
        if du.is_pod_updated(pod, hash_, generation):
            if new is not None:
                return None, None, False
            new = pod
        else:
            if old is not None:
                return None, None, False
            old = pod
    return new, old, True


@attrs.frozen(kw_only=True)
class Changes:
    """Pods to delete (in order) and nodes to create a pod on (by name)."""

    delete: tuple[Pod, ...] = ()
    create: tuple[str, ...] = ()


def rolling_update_plan(
    ds: DaemonSet, nodes: Sequence[Node], by_node: Mapping[str, Sequence[Pod]], hash_: str, now: Time
) -> Changes:
    """rollingUpdate: old pods to delete within maxUnavailable, or (with maxSurge) nodes to
    create a new pod on beside an old one, and old pods whose new pod is available.

    Raises IntOrStringError on a malformed maxSurge/maxUnavailable.
    """
    eligible = {n.metadata.name: du.node_should_run(n, ds)[0] for n in nodes}
    desired = sum(1 for ok in eligible.values() if ok)
    groups: dict[str, Sequence[Pod]] = dict(by_node)
    for name, ok in eligible.items():
        if ok:
            groups.setdefault(name, ())
    max_surge = du.surge_count(ds, desired)
    max_unavailable = du.unavailable_count(ds, desired)
    if desired > 0 and max_surge == 0 and max_unavailable == 0:
        max_unavailable = 1
    generation = du.template_generation(ds)
    mrs = ds.spec.min_ready_seconds
    if max_surge == 0:
        return _unavailable_plan(groups, hash_, generation, mrs, max_unavailable, now)
    return _surge_plan(groups, eligible, desired, hash_, generation, mrs, max_surge, now)


def _unavailable_plan(
    groups: Mapping[str, Sequence[Pod]], hash_: str, generation: int | None, mrs: int, max_unavailable: int, now: Time
) -> Changes:
    unavailable = 0
    allowed: list[Pod] = []
    candidates: list[Pod] = []
    for name in sorted(groups):
        new, old, ok = find_updated_pods_on_node(groups[name], hash_, generation)
        if not ok or (old is None) == (new is None):
            unavailable += 1  # duplicates, nothing, or both: the manage loop acts here
        elif new is not None:
            unavailable += 0 if is_pod_available(new, mrs, now) else 1
        elif old is not None:
            if not is_pod_available(old, mrs, now):
                allowed.append(old)
                unavailable += 1
            elif unavailable < max_unavailable:
                candidates.append(old)
    remaining = max(0, min(max_unavailable - unavailable, len(candidates)))
    return Changes(delete=(*allowed, *candidates[:remaining]))


def _surge_plan(
    groups: Mapping[str, Sequence[Pod]],
    eligible: Mapping[str, bool],
    desired: int,
    hash_: str,
    generation: int | None,
    mrs: int,
    max_surge: int,
    now: Time,
) -> Changes:
    to_delete: list[Pod] = []
    should_not_run: list[Pod] = []
    candidates: list[str] = []
    allowed: list[str] = []
    surge = available = 0
    for name in sorted(groups):
        new, old, ok = find_updated_pods_on_node(groups[name], hash_, generation)
        if not ok:
            surge += 1
            continue
        shown = old if old is not None else new
        if shown is not None and is_pod_available(shown, mrs, now):
            available += 1
        if old is None:
            continue
        if new is None:
            runs = eligible.get(name, False)
            if not is_pod_available(old, mrs, now):
                if runs:
                    allowed.append(name)
                else:
                    to_delete.append(old)
            elif not runs:
                should_not_run.append(old)
            elif surge < max_surge:
                candidates.append(name)
            continue
        if not is_pod_available(new, mrs, now):
            surge += 1
        else:
            to_delete.append(old)
    deletable = min(available - desired, len(should_not_run))
    if deletable > 0:
        to_delete.extend(should_not_run[:deletable])
    remaining = max(0, min(max_surge - surge, len(candidates)))
    return Changes(delete=tuple(to_delete), create=(*allowed, *candidates[:remaining]))
