"""The simulated metrics server: writes every Running pod's PodMetrics each resolution.

Owns `MetricsServer` (the add-on "metrics-server"), its state `MetricsServerState`, the
usage model `pod_usage` (what a pod's containers use, read from its annotations) and
`pod_metrics` (the PodMetrics sample of a pod at `now`).

Theory of operation: every RESOLUTION (15 s, metrics-server's --metric-resolution) a
`WakeMeAt` tick scrapes the informer view. Each Running pod that is not being deleted
gets a fresh sample (timestamp = now, window = 15s) by a Create (no PodMetrics in the
view) or an unconditional Update; a PodMetrics whose pod is gone or no longer Running is
deleted, as the real server stops serving it. Each write's tag is its PodMetrics key; a
key with a write in flight is skipped until its answer; a failed write is simply retried
by the next tick (the timer `Timer.SCRAPE`).

The usage model is data on the pod (docs/runtime.md):
- `kcore.io/cpu-usage: "250m"` is the whole pod's usage, split over its containers in
  proportion to their cpu requests (evenly when none has one; milli-units left over by
  the split go to the first containers); `kcore.io/memory-usage` likewise for memory;
- `kcore.io/cpu-usage.<container>` / `kcore.io/memory-usage.<container>` set one
  container's usage and take precedence over its share of the pod-level value;
- an unannotated (or unparseable) usage is 0.

Watch filter (`wants`): a scrape reads, of each pod, its phase, deletionTimestamp, labels,
annotations (the usage model) and containers (names, requests), and of each PodMetrics
only whether it exists. So it takes every ADDED and DELETED PodMetrics event but no
MODIFIED one (its own samples, unconditional writes), and a Pod event unless the pod is
Pending and not being deleted (a DELETED event always passes), or it was being deleted
already (no longer measured), or the update changes
none of the fields above (a kubelet's conditions, containerStatuses, IPs; a binding).
A pod never goes back to Pending, so a skipped Pending pod is never measured, and every
field a scrape reads is current in the view as of the last accepted event. An update
whose old object is unknown passes. (The real metrics-server lists pods at each scrape;
this is the informer equivalent.)

Must not know: the autoscaler, the kubelet, the container runtime.
Mirrors sigs.k8s.io/metrics-server (pkg/scraper, pkg/storage: a sample per pod per
resolution, served as metrics.k8s.io/v1beta1 PodMetrics).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Final, assert_never

import attrs
from pyrsistent import pmap, pset
from pyrsistent.typing import PSet

from kcore.api.core import EventSource
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ApiObject, ObjectMeta, Time, evolver
from kcore.api.metrics import DEFAULT_WINDOW, ContainerMetrics, PodMetrics
from kcore.api.pod import Container, Pod, PodPhase
from kcore.api.watch import WatchEvent, WatchType
from kcore.component.effects import CallApi, Effect, WakeMeAt
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
from kcore.component.requests import Create, Delete, Update
from kcore.quantity import Format, Quantity, QuantityParseError, parse_quantity
from kcore.state import ClusterState, get, list_objects

NAME: Final = "metrics-server"
RESOLUTION: Final = 15.0
CPU_USAGE: Final = "kcore.io/cpu-usage"
MEMORY_USAGE: Final = "kcore.io/memory-usage"
_RESOURCES: Final = (("cpu", CPU_USAGE), ("memory", MEMORY_USAGE))

Out = tuple["MetricsServerState", tuple[Effect, ...]]


class Timer(enum.Enum):
    """The metrics server's one timer: the next resolution's scrape."""

    SCRAPE = "scrape"


@attrs.frozen(kw_only=True)
class MetricsServerState:
    view: ClusterState
    writing: PSet[ObjectKey] = pset()  # PodMetrics with a write in flight (each the write's tag)


_evolve = evolver(MetricsServerState)  # attrs.evolve for the hot per-event state updates


def _milli(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        value = parse_quantity(text).milli_value()
    except QuantityParseError:
        return None
    return value if value >= 0 else None


def _split(total: int, weights: tuple[int, ...]) -> tuple[int, ...]:
    """`total` in proportion to `weights` (evenly if all are 0), remainders to the first."""
    if not weights:
        return ()
    if sum(weights) == 0:
        weights = tuple(1 for _ in weights)
    shares = [total * w // sum(weights) for w in weights]
    for i in range(total - sum(shares)):
        shares[i % len(shares)] += 1
    return tuple(shares)


def _usage_of(containers: tuple[Container, ...], annotations: Mapping[str, str], resource: str, key: str) -> tuple[int, ...]:
    weights = tuple(
        (c.resources.requests[resource].milli_value() if resource in c.resources.requests else 0) for c in containers
    )
    shares = _split(_milli(annotations.get(key)) or 0, weights)
    own = tuple(_milli(annotations.get(f"{key}.{c.name}")) for c in containers)
    return tuple(o if o is not None else s for o, s in zip(own, shares, strict=True))


def _quantity(resource: str, milli: int) -> Quantity:
    if resource == "memory" and milli % 1000 == 0:
        return Quantity.from_int(milli // 1000, Format.BINARY_SI)
    return Quantity.from_milli(milli)


def pod_usage(pod: Pod) -> tuple[ContainerMetrics, ...]:
    """Each container's cpu and memory usage by the pod's `kcore.io/*-usage` annotations."""
    containers = pod.spec.containers
    annotations = pod.metadata.annotations
    per_resource = {res: _usage_of(containers, annotations, res, key) for res, key in _RESOURCES}
    return tuple(
        ContainerMetrics(
            name=c.name, usage=pmap({res: _quantity(res, per_resource[res][i]) for res, _ in _RESOURCES})
        )
        for i, c in enumerate(containers)
    )


def pod_metrics(pod: Pod, now: Time) -> PodMetrics:
    """The sample of `pod` taken at `now`: named, namespaced and labelled as the pod."""
    m = pod.metadata
    return PodMetrics(
        metadata=ObjectMeta(name=m.name, namespace=m.namespace, labels=m.labels),
        timestamp=now,
        window=DEFAULT_WINDOW,
        containers=pod_usage(pod),
    )


def scrape_reads_changed(old: Pod, new: Pod) -> bool:
    """Whether an update of a pod changes anything a scrape reads of it."""
    if old is new:
        return False
    a, b = old.metadata, new.metadata
    return (
        old.status.phase is not new.status.phase
        or a.deletion_timestamp != b.deletion_timestamp
        or a.uid != b.uid
        or a.labels != b.labels
        or a.annotations != b.annotations
        or old.spec.containers != new.spec.containers
    )


def _measured(pod: Pod) -> bool:
    return pod.status.phase is PodPhase.RUNNING and pod.metadata.deletion_timestamp is None


def _metrics_key(pod: Pod) -> ObjectKey:
    return ObjectKey(kind=Kind.POD_METRICS, namespace=pod.metadata.namespace, name=pod.metadata.name)


def scrape(s: MetricsServerState, now: Time) -> Out:
    """One resolution: a sample for every measured pod, deletes for samples of pods gone."""
    requests: list[tuple[ObjectKey, Create | Update | Delete]] = []
    live: set[ObjectKey] = set()
    for obj in list_objects(s.view, Kind.POD):
        if not isinstance(obj, Pod) or not _measured(obj):
            continue
        key = _metrics_key(obj)
        live.add(key)
        sample = pod_metrics(obj, now)
        if get(s.view, key) is None:
            requests.append((key, Create(obj=sample)))
        else:
            requests.append((key, Update(obj=sample)))
    for stale in list_objects(s.view, Kind.POD_METRICS):
        key = ObjectKey(kind=Kind.POD_METRICS, namespace=stale.metadata.namespace, name=stale.metadata.name)
        if key not in live:
            requests.append((key, Delete(key=key)))
    effects: list[Effect] = []
    writing = s.writing
    for key, request in sorted(requests, key=lambda kr: kr[0]):
        if key in writing:
            continue
        writing = writing.add(key)
        effects.append(CallApi(request=request, tag=key))
    effects.append(WakeMeAt(at=Time(now + RESOLUTION), key=Timer.SCRAPE))  # periodic: merely scheduled
    s = attrs.evolve(s, writing=writing)
    return s, tuple(effects)


@attrs.frozen(kw_only=True)
class MetricsServer:
    """metrics-server, as a pure component over the informer view."""

    name: str = NAME
    event_source: EventSource = EventSource(component=NAME)  # records no events
    watches: frozenset[Kind] = frozenset({Kind.POD, Kind.POD_METRICS})

    def wants(self, event: WatchEvent, old: ApiObject | None = None) -> bool:
        """The watch filter (see the module doc): no Pending pod that stays, no update of
        fields a scrape does not read."""
        obj = event.obj
        if event.type is WatchType.DELETED:
            return True
        if not isinstance(obj, Pod):
            return event.type is not WatchType.MODIFIED or old is None or obj.KIND is not Kind.POD_METRICS
        if obj.status.phase is PodPhase.PENDING and obj.metadata.deletion_timestamp is None:
            return False
        if isinstance(old, Pod) and old.metadata.deletion_timestamp is not None and obj.metadata.uid == old.metadata.uid:
            return False  # being deleted already: never measured again until DELETED
        return not isinstance(old, Pod) or scrape_reads_changed(old, obj)

    def init(self, view: ClusterState, now: Time) -> Out:
        """Start from a fresh LIST; the first scrape runs on `Started`."""
        return MetricsServerState(view=view), ()

    def step(self, state: MetricsServerState, event: Event) -> Out:
        """Absorb `event`; scrape on `Started` and on each resolution tick.

        Emits `CallApi` (PodMetrics Create/Update/Delete) and `WakeMeAt` (the next tick)."""
        s = state
        match event:
            case Started(now=now):
                return scrape(s, now)
            case TimerFired(key=Timer.SCRAPE, now=now):
                return scrape(s, now)
            case TimerFired():
                return s, ()
            case WatchDelivered():
                return _evolve(s, view=follow(s.view, event)), ()
            case ApiAnswered(tag=ObjectKey() as key):
                return attrs.evolve(s, writing=s.writing.discard(key)), ()
            case ApiAnswered():
                return s, ()
            case Resynced(view=view):
                return attrs.evolve(s, view=view), ()
            case RuntimeAnswered() | RuntimeNotified():
                return s, ()
            case _:
                assert_never(event)
