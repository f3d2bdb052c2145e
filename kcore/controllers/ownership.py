"""Which owner a pod's event concerns, and when an owner must look again at its pods.

Owns `parse_selector` (a LabelSelector as a `Selector`, None when it does not parse),
`resolve_controller_ref` (the owner of a kind that controls an object, if the view holds
it with the uid the reference names), `owners_selecting` (the owners of a kind whose
selector takes an orphan), `pod_owners` (the two together: whom a pod's event concerns)
and `availability_wake` (when the first ready pod that is not yet available becomes so).

Rules: an owner is found by the controllerRef's kind, name and uid, in the pod's namespace;
a pod with a controller concerns only that owner, an orphan every owner that would adopt
it. A ready pod is available `minReadySeconds` after it turned ready, so its owner looks
again one second later (the status counts it then). Pure reads of the informer view.

Must not know: any particular owner kind (callers pass the kind and how an owner selects).
Mirrors pkg/controller/controller_utils.go and the controllers' resolveControllerRef,
getPodReplicaSets / getPodStatefulSets, and the AddAfter(minReadySeconds) of
replica_set.go, daemon_controller.go and stateful_set_control.go.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Final

from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ApiObject, Time
from kcore.api.pod import LabelSelector, Pod
from kcore.controllers.podcontrol import (
    controller_of,
    is_pod_available,
    is_pod_ready,
    key_of,
    pod_ready_time,
)
from kcore.labels import Selector, SelectorParseError, selector_from_label_selector
from kcore.state import ClusterState, get, list_objects

AVAILABILITY_GRACE: Final = 1.0
"""Seconds after a pod becomes available before its owner looks again."""


def parse_selector(sel: LabelSelector) -> Selector | None:
    """metav1.LabelSelectorAsSelector; None for a selector that does not parse (upstream
    logs the error and skips the sync)."""
    try:
        return selector_from_label_selector(
            sel.match_labels, tuple((r.key, r.operator.value, r.values) for r in sel.match_expressions)
        )
    except SelectorParseError:
        return None


def resolve_controller_ref(view: ClusterState, kind: Kind, obj: ApiObject) -> ObjectKey | None:
    """resolveControllerRef: the owner of `kind` in the view controlling `obj`, if any."""
    ref = controller_of(obj.metadata)
    if ref is None or ref.kind != kind.value:
        return None
    key = ObjectKey(kind=kind, namespace=obj.metadata.namespace, name=ref.name)
    owner = get(view, key)
    return key if owner is not None and owner.metadata.uid == ref.uid else None


def owners_selecting(
    view: ClusterState, kind: Kind, pod: ApiObject, selects: Callable[[ApiObject, ApiObject], bool]
) -> set[ObjectKey]:
    """The owners of `kind` in the pod's namespace that `selects(owner, pod)`."""
    return {key_of(o) for o in list_objects(view, kind, pod.metadata.namespace) if selects(o, pod)}


def pod_owners(
    view: ClusterState, kind: Kind, pod: ApiObject | None, selects: Callable[[ApiObject, ApiObject], bool]
) -> set[ObjectKey]:
    """Owners of `kind` to sync for `pod`: its controller, or (an orphan) every owner that
    selects it."""
    if pod is None:
        return set()
    if controller_of(pod.metadata) is not None:
        key = resolve_controller_ref(view, kind, pod)
        return {key} if key is not None else set()
    return owners_selecting(view, kind, pod, selects)


def availability_wake(
    pods: Iterable[Pod],
    min_ready_seconds: int,
    now: Time,
    *,
    ready: Callable[[Pod], bool] = is_pod_ready,
    available: Callable[[Pod, int, Time], bool] = is_pod_available,
) -> Time | None:
    """When to look again for a ready pod that is not yet available: one second after the
    earliest becomes so (None: no such pod, or no minReadySeconds)."""
    if min_ready_seconds <= 0:
        return None
    times = [
        t
        for p in pods
        if ready(p) and not available(p, min_ready_seconds, now)
        for t in (pod_ready_time(p),)
        if t is not None
    ]
    if not times:
        return None
    return Time(min(times) + min_ready_seconds + AVAILABILITY_GRACE)
