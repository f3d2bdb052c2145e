"""A component's informer view: the cluster as the component has seen it through watches.

Owns `observe`, the one way a component folds a watch event into its view. The view is a
`ClusterState` (what `init` received, then every delivered event applied in order), so a
component reads it with the same `kcore.state` queries and indexes the apiserver uses
(`list_objects`, `pods_on_node`, `dependents`, ...). The view may lag the apiserver: that
staleness is real and components must live with it (expectations, conflicts).

Two ways to keep a view:
- `follow(view, delivered)`: adopt the shared informer cache the driver attaches to each
  `WatchDelivered` of a control-plane component (O(1): one shared value instead of one
  private copy per component, as kube-controller-manager shares one informer per kind
  between all its controllers). Falls back to `observe` when no view is attached.
- `observe(view, ev)`: fold one event into a private view (per-node components, whose
  view is scoped to their node, and tests that step a component by hand).

A shared view is the apiserver's state right after the write that produced the event, so
within one multi-event write it may already hold the later events of that write, as a
client-go store is updated before the handlers of the notifications run. Between two
deliveries it does not move: a component's view is the cache as of its last delivered
watch event (a component that filters events with `wants` sees a view as fresh as the
last event it accepted).

Rules: `observe` never touches the watch log; the view's `revision` is the newest event
it has seen. Pure. Mirrors client-go's `cache.Store` fed by a reflector, and
`SharedInformerFactory`.
"""

from __future__ import annotations

import attrs

from kcore.api.watch import WatchEvent, WatchType
from kcore.component.events import TimerFired, WatchDelivered
from kcore.state import ClusterState, put, remove


def follow(view: ClusterState, delivered: WatchDelivered | TimerFired) -> ClusterState:
    """The view after `delivered`: the shared informer cache it carries, else `view` with
    a watch event folded in by `observe` (a timer without a cache leaves `view` as is)."""
    shared = delivered.view
    if shared is not None:
        return shared
    return observe(view, delivered.event) if isinstance(delivered, WatchDelivered) else view


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
