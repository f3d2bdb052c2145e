"""Every value the driver holds, as one immutable `Snapshot`, and the trace records.

Owns `Snapshot` (the cluster state, the simulated clock, the seed, every component's
state, the event queue, the trace, faults, runtimes and rate limiters) and the trace
entries (`Delivered`, `Performed`, `Crashed`, `Injected`: `TraceEntry`). A `Cluster`
(`kcore.driver.cluster`) runs on a snapshot and returns one; the store
(`kcore.store.file`) saves and loads one and imports nothing else of the driver's loop.

Rules: values only, no behaviour; taking a snapshot is O(1) because nothing in it ever
changes. The trace keeps the newest `trace_limit` entries; `trace_dropped` counts the
rest (the first kept entry's index).
"""

from __future__ import annotations

from typing import Any, Final

import attrs
from pyrsistent import pmap, pset, pvector
from pyrsistent.typing import PMap, PSet, PVector

from kcore.api.meta import Time
from kcore.component.effects import Effect
from kcore.component.events import Event
from kcore.driver import recorder
from kcore.driver.clock import EPOCH
from kcore.driver.faults import Fault
from kcore.driver.queue import EventQueue
from kcore.driver.throttle import Bucket, RateLimit
from kcore.runtime.runtime import RuntimeState
from kcore.state import ClusterState

DEFAULT_TRACE_LIMIT: Final = 100_000
"""Trace entries a `Cluster` keeps by default: the newest, so memory stays bounded."""


# --- trace ----------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Delivered:
    """The driver delivered `event` to `component` at simulated time `at`."""

    at: Time
    component: str
    event: Event


@attrs.frozen(kw_only=True)
class Performed:
    """The driver performed `effect` on behalf of `component` (or `CLIENT`)."""

    at: Time
    component: str
    effect: Effect


@attrs.frozen(kw_only=True)
class Crashed:
    """`component` raised `KcoreBug`; the driver restarted it."""

    at: Time
    component: str
    error: str


@attrs.frozen(kw_only=True)
class Injected:
    """The driver injected `fault` at simulated time `at`."""

    at: Time
    fault: Fault


TraceEntry = Delivered | Performed | Crashed | Injected


# --- the snapshot -------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Snapshot:
    """Every value the driver holds; immutable, so taking one is O(1)."""

    state: ClusterState
    now: Time = EPOCH
    seed: int = 0
    components: PMap[str, Any] = pmap()
    queue: EventQueue = EventQueue()
    counter: int = 0  # request ids and recorded Event names
    trace: PVector[TraceEntry] = pvector()
    recorder: recorder.RecorderCache = recorder.RecorderCache()
    trace_limit: int = DEFAULT_TRACE_LIMIT  # newest entries kept; 0 keeps none
    trace_dropped: int = 0  # entries forgotten so far (the trace's first index)
    runtimes: PMap[str, RuntimeState] = pmap()  # node -> its container runtime
    runtime_users: PMap[str, str] = pmap()  # node -> the component that calls its runtime
    boots: PMap[str, int] = pmap()  # node -> crashes so far (voids older runtime callbacks)
    down_nodes: PSet[str] = pset()
    partitioned: PSet[str] = pset()
    paused: PSet[str] = pset()  # component names
    held: PVector[tuple[str, Event]] = pvector()  # paused components' mail, in order
    client_limits: PMap[str, RateLimit] = pmap()  # component -> its client's rate limit (none: unthrottled)
    buckets: PMap[str, Bucket] = pmap()  # component -> its rate limiter's tokens
