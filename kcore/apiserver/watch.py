"""Watch: resume the change stream of one kind from a revision.

Owns `watch(state, kind, namespace, since)` and `compact(state, revision)`. A watch from
`since` delivers every logged change with resourceVersion > since, in revision order,
each exactly once, filtered to one kind (and one namespace when given). A `since` older
than the compacted revision answers 410 Gone, as upstream's watch cache does
(`too old resource version: X (Y)`, Y the newest compacted revision); the client then
relists.

Must not know: how the log is laid out (kcore.state owns it) or how events are made
(storage.py).

Mirrors k8s.io/apiserver/pkg/storage/cacher/watch_cache.go (getAllEventsSinceLocked).
"""

from __future__ import annotations

from kcore import state as cluster_state
from kcore.api.kinds import Kind
from kcore.api.meta import Status
from kcore.api.watch import WatchEvent
from kcore.apiserver import errors
from kcore.state import ClusterState


def watch(
    state: ClusterState, kind: Kind, namespace: str | None, since: int
) -> tuple[WatchEvent, ...] | Status:
    """Every change of `kind` (in `namespace`, or all when None) after revision `since`."""
    events = cluster_state.events_since(state, since)
    if events is None:
        return errors.gone(
            f"too old resource version: {since} ({state.log.compacted_revision})"
        )
    ns = namespace if kind.info.namespaced else None
    return tuple(
        e
        for e in events
        if e.obj.KIND is kind and (ns is None or e.obj.metadata.namespace == ns)
    )


def compact(state: ClusterState, revision: int) -> ClusterState:
    """Forget the changes at or below `revision`; later watches from before it get 410."""
    return cluster_state.compact(state, revision)
