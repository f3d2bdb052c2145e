"""The pure apiserver: `handle(state, request, now) -> (state, response, watch events)`.

Exports `handle` (server.py), `watch` and `compact` (watch.py) and `new_state` (an empty
`ClusterState`). See docs/architecture.md for the request flow:
authorize -> default -> admit -> version -> store -> watch event.

`handle` loads on first use, so importing a leaf module of this package (`types`,
`errors`, `auth`, `admission`) never drags in the whole server and its imports can never
form a cycle through this file. `watch` is imported eagerly: the function must shadow its
own submodule's name on the package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kcore.apiserver.watch import compact, watch
from kcore.state import ClusterConfig, ClusterState, empty_state

if TYPE_CHECKING:
    from kcore.apiserver.server import handle


def new_state(config: ClusterConfig | None = None) -> ClusterState:
    """An empty cluster at revision 0 (no namespaces: the CLI's `cluster create` adds them)."""
    return empty_state(config)


def __getattr__(name: str) -> object:
    if name == "handle":
        from kcore.apiserver.server import handle

        return handle
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["ClusterConfig", "ClusterState", "compact", "handle", "new_state", "watch"]
