"""The pure apiserver: `handle(state, request, now) -> (state, response, watch events)`.

Exports `handle` (server.py), `watch` and `compact` (watch.py) and `new_state` (an empty
`ClusterState`). See docs/architecture.md for the request flow:
authorize -> default -> admit -> version -> store -> watch event.

`watch` the function shadows its own submodule's name on the package.
"""

from __future__ import annotations

from kcore.apiserver.server import handle
from kcore.apiserver.watch import compact, watch
from kcore.state import ClusterConfig, ClusterState, empty_state


def new_state(config: ClusterConfig | None = None) -> ClusterState:
    """An empty cluster at revision 0 (no namespaces: the CLI's `cluster create` adds them)."""
    return empty_state(config)


__all__ = ["ClusterConfig", "ClusterState", "compact", "handle", "new_state", "watch"]
