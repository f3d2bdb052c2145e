"""A component's informer view: the cluster as the component has seen it through watches.

Owns `observe`, the one way a component folds a watch event into its view. The view is a
`ClusterState` (what `init` received, then every delivered event applied in order), so a
component reads it with the same `kcore.state` queries and indexes the apiserver uses
(`list_objects`, `pods_on_node`, `dependents`, ...). The view may lag the apiserver: that
staleness is real and components must live with it (expectations, conflicts).

Rules: `observe` never touches the watch log; the view's `revision` is the newest event
it has seen. Pure. Mirrors client-go's `cache.Store` fed by a reflector.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from kcore.apiserver.types import WatchEvent, WatchType
from kcore.state import ClusterState, put, remove


def observe(view: ClusterState, ev: WatchEvent) -> ClusterState:
    """`view` after `ev`: ADDED/MODIFIED store the object, DELETED drops it."""
    match ev.type:
        case WatchType.DELETED:
            view = remove(view, ev.key)
        case WatchType.ADDED | WatchType.MODIFIED:
            view = put(view, ev.obj)
        case WatchType.ERROR:
            return view
    if ev.resource_version > view.revision:
        view = attrs.evolve(view, revision=ev.resource_version)
    return view


def observe_all(view: ClusterState, events: Iterable[WatchEvent]) -> ClusterState:
    """`view` after each of `events`, in order."""
    for ev in events:
        view = observe(view, ev)
    return view
