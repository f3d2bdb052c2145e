"""What a component receives: the closed union of driver events.

Owns `Event`, the facts the driver delivers to a component's `step`. Each carries `now`,
the simulated time of delivery: components never read a clock. Events name facts (past
tense); a component answers with effects (`kcore.component.effects`).

- `Started`: the component was (re)started; its `init` already saw a fresh LIST.
- `WatchDelivered`: one change from the apiserver's watch log, in revision order. For a
  control-plane component it also carries `view`, the shared informer cache right after
  the write that made the change (see `kcore.component.informer.follow`).
- `ApiAnswered`: the response to the component's own `CallApi` effect.
- `TimerFired`: a `WakeMeAt` the component asked for came due.
- `Resynced`: the component's watch stream was cut (a partition) and is back: `view` is a
  fresh LIST; replace the informer view with it and resync every key (client-go's relist).
- `RuntimeAnswered`: the result of the component's own `CallRuntime` (kubelet only).
- `RuntimeNotified`: something the runtime had in motion happened (an image pull ended,
  a container exited); delivered to the component whose call set it in motion.

Must not know: how the queue orders them, or which component gets what.
Mirrors the informer event handlers and workqueue callbacks of client-go.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from kcore.api.meta import Time
from kcore.api.watch import WatchEvent
from kcore.component.effects import Tag
from kcore.component.requests import Response
from kcore.runtime.cri import RuntimeEvent, RuntimeResult

if TYPE_CHECKING:
    from kcore.state import ClusterState


@attrs.frozen(kw_only=True)
class Started:
    """The component (re)started; delivered once after each `init`."""

    now: Time


@attrs.frozen(kw_only=True)
class WatchDelivered:
    """One watch event (ADDED/MODIFIED/DELETED) of a kind the component watches.

    `view`, when set, is the shared informer cache as of this event: the apiserver's state
    right after the request that produced it (kube-controller-manager's shared informer
    factory keeps one cache per kind for all its controllers, updated before any handler
    runs). A component adopts it with `informer.follow` instead of folding the event into
    a private copy. It is derived data: not compared, not shown, not kept in the trace.
    """

    event: WatchEvent
    now: Time
    view: ClusterState | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class ApiAnswered:
    """The apiserver answered the component's `CallApi` that carried `tag`."""

    tag: Tag
    response: Response
    now: Time


@attrs.frozen(kw_only=True)
class TimerFired:
    """A `WakeMeAt(at, key)` came due; `now` is at least the requested time.

    `view` is set only for a component that reads the current cache (see
    `kcore.component.protocol`): the shared informer cache as it is at delivery."""

    key: Tag
    now: Time
    view: ClusterState | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class Resynced:
    """The watch stream is back after a gap; `view` is a fresh LIST of the whole cluster."""

    view: ClusterState
    now: Time


@attrs.frozen(kw_only=True)
class RuntimeAnswered:
    """The container runtime answered the component's `CallRuntime` that carried `tag`."""

    tag: Tag
    result: RuntimeResult
    now: Time


@attrs.frozen(kw_only=True)
class RuntimeNotified:
    """A runtime callback of node `node` happened (ImagePulled, ImagePullFailed,
    ContainerExited), at `now`."""

    node: str
    event: RuntimeEvent
    now: Time


Event = Started | WatchDelivered | ApiAnswered | TimerFired | Resynced | RuntimeAnswered | RuntimeNotified
