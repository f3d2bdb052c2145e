"""The imperative shell around the pure core: clock, event queue, effects, the `Cluster`.

`default_components()` is the set of components a `kcore` cluster runs (controllers,
scheduler, kubelets as later issues add them); the CLI and the demo build every
`Cluster` with it, so adding a component is adding it here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kcore.driver.cluster import AnyComponent


def default_components() -> tuple[AnyComponent, ...]:
    """The components every `kcore` cluster runs, in delivery order."""
    return ()
