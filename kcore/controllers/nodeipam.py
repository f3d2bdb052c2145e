"""The node IPAM controller: every Node gets its own podCIDR out of the cluster CIDR.

Owns `NodeIpamController` (component "node-ipam-controller", its Events from the range
allocator's "cidrAllocator", watches Node) and its state
`NodeIpamState`. The subnets live in a `kcore.network.ipam.CidrSet`, kept incrementally:
a Node that already has `spec.podCIDR` (bootstrap sets them; the field is immutable)
occupies its subnet; a Node without one gets the lowest free /24 of
`view.config.cluster_cidr` through an Update of `spec.podCIDR` and `spec.podCIDRs`; a
deleted Node frees its subnet, and Nodes that were waiting for one are tried again.

Rules:
- Never two Nodes the same subnet: a subnet is held from the moment the update is sent;
  a failed update frees it again and the Node is retried 1 s later (`RETRY`, a
  `WakeMeAt`); a Conflict means the view is stale, and the retry reads the newer Node.
  For settling (`kcore.component.workqueue`) the retry is in motion the first time in a
  row (its work queue counts the failures), merely scheduled after the same Node failed
  again.
- One update in flight per Node, tagged with the Node's key (so is its retry timer); the
  answer's Node is folded into the view at once, so a step between the answer and its
  watch event never allocates twice.
- When no subnet is left the Node is told once: a Normal Event "CIDRNotAvailable" with
  upstream's message "Node <name> status is now: CIDRNotAvailable".
- Per-event work is proportional to the Node the event names (a full pass only at start
  and after a resync).

Must not know: pods, the kubelet, how the driver delivers events.
Mirrors pkg/controller/nodeipam/ipam/range_allocator.go (AllocateOrOccupyCIDR,
ReleaseCIDR, updateCIDRsAllocation) over cidrset/cidr_set.go.
"""

from __future__ import annotations

from typing import Final, assert_never

import attrs
from pyrsistent import pset
from pyrsistent.typing import PSet

from kcore.api.core import EventSource, Node
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ApiObject, Status, Time, evolver
from kcore.api.watch import WatchType
from kcore.component.effects import CallApi, Effect, EventType, RecordEvent, WakeMeAt
from kcore.component.events import (
    ApiAnswered,
    Event,
    Resynced,
    RuntimeAnswered,
    RuntimeNotified,
    Started,
    TimerFired,
    WatchDelivered,
)
from kcore.component.informer import follow
from kcore.component.requests import Response, Update
from kcore.component.workqueue import RateLimiter, WorkQueue, forget, rate_limited, retry_in_motion
from kcore.network.ipam import (
    DEFAULT_NODE_MASK_SIZE,
    CidrSet,
    Exhausted,
    allocate_next,
    cidr_of,
    cidr_set,
    occupy,
    release_node,
)
from kcore.state import ClusterState, get, list_objects, put

NAME: Final = "node-ipam-controller"
RETRY: Final = RateLimiter(base_delay=1.0, max_delay=1.0)
"""Backoff before a failed podCIDR update is tried again."""
CIDR_NOT_AVAILABLE: Final = "CIDRNotAvailable"
CIDR_ASSIGNMENT_FAILED: Final = "CIDRAssignmentFailed"

Effects = tuple[Effect, ...]


@attrs.frozen(kw_only=True)
class NodeIpamState:
    """The informer view, the subnets held, and what is in flight."""

    view: ClusterState
    cidrs: CidrSet | None  # None: the cluster CIDR is unusable (every Node is told)
    problem: str = ""  # why `cidrs` is None
    in_flight: PSet[str] = pset()  # nodes whose podCIDR update awaits its answer
    reported: PSet[str] = pset()  # nodes told CIDRNotAvailable, waiting for a free subnet
    queue: WorkQueue = WorkQueue(kind=Kind.NODE)  # failed podCIDR updates in a row per Node


_evolve = evolver(NodeIpamState)  # attrs.evolve for the hot per-event state updates


def node_key(name: str) -> ObjectKey:
    return ObjectKey(kind=Kind.NODE, namespace="", name=name)


def _remember(view: ClusterState, obj: ApiObject) -> ClusterState:
    """`view` with an answered object, unless the view already holds a newer one."""
    held = get(view, ObjectKey(kind=obj.KIND, namespace=obj.metadata.namespace, name=obj.metadata.name))
    if held is not None and held.metadata.resource_version >= obj.metadata.resource_version:
        return view
    return put(view, obj)


def _fresh(view: ClusterState, mask: int) -> NodeIpamState:
    """A state over `view` with every listed Node's podCIDR occupied."""
    made = cidr_set(view.config.cluster_cidr, mask)
    if not isinstance(made, CidrSet):
        return NodeIpamState(view=view, cidrs=None, problem=str(made))
    cs = made
    for obj in list_objects(view, Kind.NODE):
        if isinstance(obj, Node) and obj.spec.pod_cidr:
            cs = occupy(cs, obj.metadata.name, obj.spec.pod_cidr)
    return NodeIpamState(view=view, cidrs=cs)


@attrs.frozen(kw_only=True)
class NodeIpamController:
    """The component: `init` occupies the listed Nodes' CIDRs, `step` handles one event."""

    node_mask_size: int = DEFAULT_NODE_MASK_SIZE
    name: str = NAME
    event_source: EventSource = EventSource(component="cidrAllocator")  # ipam/range_allocator.go
    watches: frozenset[Kind] = frozenset({Kind.NODE})

    def init(self, view: ClusterState, now: Time) -> tuple[NodeIpamState, Effects]:
        """Relist: occupy every listed podCIDR; the `Started` event then syncs every Node."""
        return _fresh(view, self.node_mask_size), ()

    def step(self, state: NodeIpamState, event: Event) -> tuple[NodeIpamState, Effects]:
        """Absorb one event; may emit Node updates, retry timers and CIDRNotAvailable events."""
        match event:
            case Started():
                return _sync_all(state)
            case WatchDelivered(event=ev):
                state = _evolve(state, view=follow(state.view, event))
                name = ev.obj.metadata.name
                if ev.type is WatchType.DELETED and state.cidrs is not None:
                    state = attrs.evolve(state, cidrs=release_node(state.cidrs, name))
                    return _sync_names(state, (name, *sorted(state.reported)))
                return _sync_names(state, (name,))
            case ApiAnswered(tag=ObjectKey(name=name), response=resp, now=now):
                return _answered(state, name, resp, now)
            case TimerFired(key=ObjectKey(name=name)):
                return _sync_names(state, (name,))
            case Resynced(view=view):
                keep = state.in_flight
                fresh = _fresh(view, self.node_mask_size)
                cs = fresh.cidrs
                if cs is not None:
                    for name in sorted(keep):
                        held = cidr_of(state.cidrs, name) if state.cidrs is not None else None
                        if held is not None:
                            cs = occupy(cs, name, held)
                fresh = attrs.evolve(fresh, cidrs=cs, in_flight=keep, queue=state.queue)
                return _sync_all(fresh)
            case ApiAnswered() | TimerFired() | RuntimeAnswered() | RuntimeNotified():
                return state, ()
            case _:
                assert_never(event)


def _sync_all(state: NodeIpamState) -> tuple[NodeIpamState, Effects]:
    names = tuple(o.metadata.name for o in list_objects(state.view, Kind.NODE))
    return _sync_names(state, names)


def _sync_names(state: NodeIpamState, names: tuple[str, ...]) -> tuple[NodeIpamState, Effects]:
    effects: list[Effect] = []
    for name in dict.fromkeys(names):  # ordered, each once
        state, out = sync(state, name)
        effects.extend(out)
    return state, tuple(effects)


def sync(state: NodeIpamState, name: str) -> tuple[NodeIpamState, Effects]:
    """Level-triggered: occupy a set podCIDR, or allocate and write one; release a gone Node."""
    obj = get(state.view, node_key(name))
    if state.cidrs is None:
        return _report(state, name, f"{CIDR_NOT_AVAILABLE}: {state.problem}") if isinstance(obj, Node) else (state, ())
    if not isinstance(obj, Node):
        if name in state.in_flight:
            return state, ()
        return attrs.evolve(
            state,
            cidrs=release_node(state.cidrs, name),
            reported=state.reported.discard(name),
            queue=forget(state.queue, node_key(name), RETRY),
        ), ()
    if obj.spec.pod_cidr:
        cs = state.cidrs
        if cidr_of(cs, name) != obj.spec.pod_cidr:
            cs = occupy(release_node(cs, name), name, obj.spec.pod_cidr)
        return attrs.evolve(state, cidrs=cs, reported=state.reported.discard(name)), ()
    if name in state.in_flight:
        return state, ()
    got = allocate_next(state.cidrs, name)
    if isinstance(got, Exhausted):
        return _report(state, name, CIDR_NOT_AVAILABLE)
    cs, cidr = got
    updated = attrs.evolve(obj, spec=attrs.evolve(obj.spec, pod_cidr=cidr, pod_cidrs=(cidr,)))
    state = attrs.evolve(state, cidrs=cs, in_flight=state.in_flight.add(name), reported=state.reported.discard(name))
    return state, (CallApi(request=Update(obj=updated), tag=node_key(name)),)


def _report(state: NodeIpamState, name: str, status: str) -> tuple[NodeIpamState, Effects]:
    """RecordNodeStatusChange(CIDRNotAvailable), once until the Node is retried."""
    if name in state.reported:
        return state, ()
    event = RecordEvent(
        involved=node_key(name),
        type=EventType.NORMAL,
        reason=CIDR_NOT_AVAILABLE,
        message=f"Node {name} status is now: {status}",
    )
    return attrs.evolve(state, reported=state.reported.add(name)), (event,)


def _answered(state: NodeIpamState, name: str, resp: Response, now: Time) -> tuple[NodeIpamState, Effects]:
    state = attrs.evolve(state, in_flight=state.in_flight.discard(name))
    body = resp.body
    if resp.ok and isinstance(body, Node):
        return attrs.evolve(state, view=_remember(state.view, body), queue=forget(state.queue, node_key(name), RETRY)), ()
    if resp.code == 404 or state.cidrs is None:
        return sync(attrs.evolve(state, queue=forget(state.queue, node_key(name), RETRY)), name)
    # updateCIDRsAllocation failed: free the subnet, say so, and try again after a backoff.
    state = attrs.evolve(state, cidrs=release_node(state.cidrs, name))
    message = body.message if isinstance(body, Status) else f"unexpected answer {resp.code}"
    event = RecordEvent(
        involved=node_key(name),
        type=EventType.WARNING,
        reason=CIDR_ASSIGNMENT_FAILED,
        message=f"Node {name} status is now: {CIDR_ASSIGNMENT_FAILED} ({message})",
    )
    queue, requeue = rate_limited(state.queue, node_key(name), now, RETRY)
    state = attrs.evolve(state, queue=queue)
    wake = WakeMeAt(at=requeue.at, key=node_key(name), in_motion=retry_in_motion(requeue.failures))
    if resp.code == 409:  # a stale view, not a failure worth an Event: the retry reads the newer Node
        return state, (wake,)
    return state, (event, wake)
