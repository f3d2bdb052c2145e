"""The shape every control-plane component has: a value with two pure functions.

Owns the `Component` protocol. A component (controller, scheduler, kubelet, ...) is a
value: `name` identifies it in the trace, the store and faults (upstream's canonical id:
`replicaset-controller` as in kube-controller-manager's `controller_names.go`,
`kube-scheduler`; a per-node component adds its node, `kubelet/node-1`), `event_source`
signs the Events it records (upstream's recorder source, which need not be the id:
`replication-controller`, `default-scheduler`, `kubelet` with the node as host),
`watches` names the kinds whose watch events it wants, and
- `init(view, now) -> (S, effects)` builds its state from a fresh LIST (`view` is a
  `ClusterState` snapshot; sharing it is free). It is called at start and after a crash,
  exactly as a restarted controller relists; nothing may depend on surviving a restart.
- `step(S, event) -> (S, effects)` absorbs one event (`kcore.component.events`) and returns
  its new state and the effects (`kcore.component.effects`) the driver should perform.

Optionally, a component may also define `wants(event: WatchEvent, old) -> bool` (the
`Selective` protocol): the driver then delivers only the watch events it accepts, as a
client-go `FilteringResourceEventHandler` does. `old` is the object as the previous write
left it (None for ADDED; client-go's `UpdateFunc(oldObj, newObj)`), so a filter can skip
changes to fields the component never reads (a status-only write). A filter is a pure
function of its arguments and must accept every event that could matter to the component (its own objects,
orphans it might adopt, deletions of what it tracks). The shared informer view that a
delivered event carries still holds every change, so skipping an event never leaves a
stale object behind in the next view.

A control-plane component may also set `reads_current_view = True`: the driver then
attaches the shared cache as it is at delivery (not as of the event) to each
`WatchDelivered` and `TimerFired` it delivers to it, so a timer handler reads current
objects even of kinds the component does not watch, as an upstream controller reads a
lister (the node lifecycle controller reads Leases only in its monitor pass and watches
none). Its view only moves forward; such a component must not take `get(view, key)`
before an event for the object as it was before that event.

Both are pure: no I/O, no clock (time arrives as `now`), no randomness. A component
signals a broken invariant by raising `KcoreBug`; the driver records the crash and
restarts it. Mirrors the Elm architecture's `update : Msg -> Model -> (Model, Cmd Msg)`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, TypeVar

from kcore.api.core import EventSource
from kcore.api.kinds import Kind
from kcore.api.meta import ApiObject, Time
from kcore.api.watch import WatchEvent
from kcore.component.effects import Effect
from kcore.component.events import Event

if TYPE_CHECKING:
    from kcore.state import ClusterState

S = TypeVar("S")


class Component(Protocol[S]):
    """A pure control-plane component; the driver owns its state value between steps."""

    @property
    def name(self) -> str: ...

    @property
    def event_source(self) -> EventSource: ...

    @property
    def watches(self) -> frozenset[Kind]: ...

    def init(self, view: ClusterState, now: Time) -> tuple[S, tuple[Effect, ...]]: ...

    def step(self, state: S, event: Event) -> tuple[S, tuple[Effect, ...]]: ...


class Selective(Protocol):
    """A component that filters its watch events before delivery (see the module doc)."""

    def wants(self, event: WatchEvent, old: ApiObject | None = None) -> bool: ...
