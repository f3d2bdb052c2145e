"""Creates, updates and status updates per second through the full apiserver path.

Every operation is one `kcore.apiserver.handle(state, request, now)` call as an in-process
client makes it: authorization (the local admin identity), defaulting, admission
(validation, namespace lifecycle, LimitRange, ResourceQuota, allocation), versioning,
the store with its indexes, and the watch log. The namespace holds a LimitRange (so its
defaults are applied to every pod) and a ResourceQuota (so every create is charged).

- creates: prebuilt small pods (one container with cpu/memory requests, two labels),
  each `Create`d; the rate is measured on top of `existing` pods already stored.
- updates: the client's read-modify-write loop: `get` the stored pod, evolve one label,
  `Update` carrying the stored resourceVersion (so optimistic concurrency is checked).
- status updates: `get`, evolve the status (Running, a pod IP), `Update` of /status.

Existing pods are stored for setup by `prefill`: copies of one pod the apiserver created,
renamed and restamped, written with `kcore.state.put` (setup time is not measured). The
quota is created after the prefill: its usage index counts the prefilled pods once (setup, not
measured), as upstream recalculates a new quota; every measured create is then charged.

Time is the CPU time of this process (`time.process_time`): the benchmark runs on one
core, and on a shared machine other processes' work does not count against it (the
wall-clock rate under load is lower). Each measurement restarts from the same base state
(a value), keeps the fastest of
`repeats` runs, and fails with `BenchmarkError` if any response is not a success.
"""

from __future__ import annotations

import cProfile
import gc
import pstats
import time
from collections.abc import Callable, Sequence
from typing import Final

import attrs
from pyrsistent import pmap

from benchmarks import BenchmarkError
from kcore.api.core import (
    LimitRange,
    LimitRangeItem,
    LimitRangeSpec,
    LimitType,
    Namespace,
    ResourceQuota,
    ResourceQuotaSpec,
)
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ApiObject, ObjectMeta, Time
from kcore.api.pod import (
    Container,
    Pod,
    PodPhase,
    PodSpec,
    ResourceRequirements,
)
from kcore.apiserver import handle
from kcore.apiserver.naming import uid_for
from kcore.component.requests import Create, Request, Subresource, Update
from kcore.quantity import parse_quantity
from kcore.state import ClusterConfig, ClusterState, count, empty_state, get, put

NOW: Final = Time(1_700_000_000.0)
NAMESPACE: Final = "bench"
SEED: Final = 7


@attrs.frozen(kw_only=True)
class Measured:
    """One timed run: `ops` operations on top of `existing` stored pods."""

    operation: str
    existing: int
    ops: int
    seconds: float
    state: ClusterState  # the state the fastest run ended in

    @property
    def per_second(self) -> float:
        return self.ops / self.seconds if self.seconds > 0 else float("inf")

    @property
    def micros_per_op(self) -> float:
        return 1e6 * self.seconds / self.ops if self.ops else 0.0


@attrs.frozen(kw_only=True)
class ProfileLine:
    """One function of a profile: its own time and its time including callees, as shares."""

    function: str
    calls: int
    own_share: float
    total_share: float


# --- inputs ------------------------------------------------------------------------------


def small_pod(name: str, namespace: str = NAMESPACE) -> Pod:
    """A small pod as a client submits it: one nginx container with cpu/memory requests."""
    return Pod(
        metadata=ObjectMeta(
            name=name, namespace=namespace, labels=pmap({"app": "bench", "tier": "web"})
        ),
        spec=PodSpec(
            containers=(
                Container(
                    name="app",
                    image="nginx:1.25",
                    resources=ResourceRequirements(
                        requests=pmap(
                            {"cpu": parse_quantity("100m"), "memory": parse_quantity("64Mi")}
                        )
                    ),
                ),
            ),
        ),
    )


def _limit_range(namespace: str) -> LimitRange:
    limits = pmap({"cpu": parse_quantity("500m"), "memory": parse_quantity("256Mi")})
    return LimitRange(
        metadata=ObjectMeta(name="defaults", namespace=namespace),
        spec=LimitRangeSpec(limits=(LimitRangeItem(type=LimitType.CONTAINER, default=limits),)),
    )


def _quota(namespace: str) -> ResourceQuota:
    hard = pmap(
        {
            "pods": parse_quantity("1000000"),
            "requests.cpu": parse_quantity("100000"),
            "requests.memory": parse_quantity("100000Gi"),
        }
    )
    return ResourceQuota(
        metadata=ObjectMeta(name="quota", namespace=namespace),
        spec=ResourceQuotaSpec(hard=hard),
    )


def _must(state: ClusterState, request: Request) -> tuple[ClusterState, ApiObject]:
    state, response, _ = handle(state, request, NOW)
    body = response.body
    if not response.ok or not hasattr(body, "metadata"):
        raise BenchmarkError(f"{type(request).__name__} failed during setup: {body}")
    return state, body  # type: ignore[return-value]  # a success of a write answers with the object


@attrs.frozen(kw_only=True)
class Scenario:
    """What the benchmark namespace holds besides the pods."""

    name: str
    limit_range: bool
    quota: bool


BARE: Final = Scenario(name="namespace only", limit_range=False, quota=False)
LIMITED: Final = Scenario(name="LimitRange", limit_range=True, quota=False)
FULL_CHAIN: Final = Scenario(name="LimitRange + ResourceQuota", limit_range=True, quota=True)


def base_state(existing: int, scenario: Scenario = FULL_CHAIN) -> ClusterState:
    """The benchmark namespace, its LimitRange, `existing` stored pods, then its quota."""
    state = empty_state(ClusterConfig(seed=SEED))
    state, _ = _must(state, Create(obj=Namespace(metadata=ObjectMeta(name=NAMESPACE))))
    if scenario.limit_range:
        state, _ = _must(state, Create(obj=_limit_range(NAMESPACE)))
    if existing:
        state, template = _must(state, Create(obj=small_pod("fill-0")))
        state = prefill(state, template, existing - 1)
    if scenario.quota:
        state, _ = _must(state, Create(obj=_quota(NAMESPACE)))
    return state


def prefill(state: ClusterState, template: ApiObject, n: int, prefix: str = "fill") -> ClusterState:
    """`n` copies of the stored `template`, each with its own name, uid and revision.

    Setup only: written with `kcore.state.put`, not through admission, and without watch
    events (the watch log starts after them).
    """
    if not isinstance(template, Pod):
        raise BenchmarkError("prefill copies a stored pod")
    seed = state.config.seed
    rev = state.revision
    meta = template.metadata
    spec, status = template.spec, template.status
    for i in range(1, n + 1):
        rev += 1
        m = attrs.evolve(meta, name=f"{prefix}-{i}", uid=uid_for(seed, rev), resource_version=rev)
        state = put(state, Pod(metadata=m, spec=spec, status=status))
    return attrs.evolve(state, revision=rev)


def create_requests(n: int, prefix: str = "new") -> tuple[Create, ...]:
    return tuple(Create(obj=small_pod(f"{prefix}-{i}")) for i in range(n))


def pod_keys(state: ClusterState, n: int, prefix: str = "fill") -> tuple[ObjectKey, ...]:
    """Keys of the first `n` prefilled pods (fill-0 is the apiserver-created template)."""
    keys = tuple(ObjectKey(kind=Kind.POD, namespace=NAMESPACE, name=f"{prefix}-{i}") for i in range(n))
    if n and get(state, keys[-1]) is None:
        raise BenchmarkError(f"only {count(state, Kind.POD)} pods stored, {n} needed")
    return keys


# --- the measured loops ------------------------------------------------------------------


def run_creates(state: ClusterState, requests: Sequence[Create]) -> ClusterState:
    for request in requests:
        state, response, _ = handle(state, request, NOW)
        if not response.ok:
            raise BenchmarkError(f"create {request.obj.metadata.name} failed: {response.body}")
    return state


def run_updates(state: ClusterState, keys: Sequence[ObjectKey], ops: int) -> ClusterState:
    """`ops` read-modify-write label updates, round robin over `keys`."""
    for i in range(ops):
        key = keys[i % len(keys)]
        old = get(state, key)
        if not isinstance(old, Pod):
            raise BenchmarkError(f"{key} is not a stored pod")
        m = old.metadata
        meta = attrs.evolve(m, labels=m.labels.set("round", str(i)))
        state, response, _ = handle(state, Update(obj=attrs.evolve(old, metadata=meta)), NOW)
        if not response.ok:
            raise BenchmarkError(f"update of {key} failed: {response.body}")
    return state


def run_status_updates(state: ClusterState, keys: Sequence[ObjectKey], ops: int) -> ClusterState:
    """`ops` read-modify-write /status updates (Running, a new pod IP), round robin."""
    for i in range(ops):
        key = keys[i % len(keys)]
        old = get(state, key)
        if not isinstance(old, Pod):
            raise BenchmarkError(f"{key} is not a stored pod")
        status = attrs.evolve(
            old.status,
            phase=PodPhase.RUNNING,
            host_ip="10.0.0.1",
            pod_ip=f"10.244.{(i >> 8) & 255}.{i & 255}",
            start_time=NOW,
        )
        request = Update(obj=attrs.evolve(old, status=status), subresource=Subresource.STATUS)
        state, response, _ = handle(state, request, NOW)
        if not response.ok:
            raise BenchmarkError(f"status update of {key} failed: {response.body}")
    return state


def _best(operation: str, existing: int, ops: int, repeats: int, run: Callable[[], ClusterState]) -> Measured:
    best: Measured | None = None
    for _ in range(max(1, repeats)):
        gc.collect()  # no pause for an earlier run's garbage inside this one
        start = time.process_time()
        final = run()
        seconds = time.process_time() - start
        if best is None or seconds < best.seconds:
            best = Measured(operation=operation, existing=existing, ops=ops, seconds=seconds, state=final)
    assert best is not None
    return best


def measure_creates(
    base: ClusterState, ops: int, repeats: int = 3, operation: str = "create"
) -> Measured:
    """Creates/s of `ops` small pods on top of the pods stored in `base`."""
    existing = count(base, Kind.POD)
    requests = create_requests(ops)
    result = _best(operation, existing, ops, repeats, lambda: run_creates(base, requests))
    stored = count(result.state, Kind.POD)
    if stored != existing + ops:
        raise BenchmarkError(f"{stored} pods stored, {existing + ops} expected")
    return result


def measure_updates(base: ClusterState, ops: int, repeats: int = 3) -> Measured:
    """Label updates/s (get, evolve, Update with the stored resourceVersion)."""
    existing = count(base, Kind.POD)
    keys = pod_keys(base, min(existing, ops))
    return _best("update", existing, ops, repeats, lambda: run_updates(base, keys, ops))


def measure_status_updates(base: ClusterState, ops: int, repeats: int = 3) -> Measured:
    """/status updates/s (get, evolve the status, Update of the status subresource)."""
    existing = count(base, Kind.POD)
    keys = pod_keys(base, min(existing, ops))
    return _best("status update", existing, ops, repeats, lambda: run_status_updates(base, keys, ops))


# --- profile -----------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class CreateProfile:
    """Where the create loop's time goes: top functions by own time, and named stages."""

    ops: int
    existing: int
    top: tuple[ProfileLine, ...]
    stages: tuple[ProfileLine, ...]


STAGES: Final = (
    "handle",
    "authorize_request",
    "create",
    "apply_defaults",
    "uid_for",
    "_prepare_for_create",
    "admit",
    "namespace_lifecycle",
    "limit_ranger",
    "pod_mutations",
    "validate",
    "resource_quota",
    "_used",
    "qos_class",
    "commit",
    "put",
    "record",
)
"""Functions of the create path (bare names in kcore/) whose cumulative share is reported."""

_Row = tuple[int, int, float, float, object]


def profile_creates(base: ClusterState, ops: int, top: int = 20) -> CreateProfile:
    """cProfile of `ops` creates on top of the pods stored in `base`.

    `top`: the functions with the most own time, as shares of all profiled time.
    `stages`: each of `STAGES`, its time including callees as a share of the loop.
    """
    existing = count(base, Kind.POD)
    requests = create_requests(ops)
    profiler = cProfile.Profile()
    gc.collect()
    profiler.enable()
    final = run_creates(base, requests)
    profiler.disable()
    if count(final, Kind.POD) != existing + ops:
        raise BenchmarkError("the profiled run did not store every pod")
    table: dict[tuple[str, int, str], _Row] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]  # pstats keeps its table untyped
    own_total = sum(row[2] for row in table.values()) or 1.0
    loop = max((row[3] for f, row in table.items() if f[2] == "run_creates"), default=own_total)
    lines = sorted(
        (
            ProfileLine(function=_function_name(f), calls=row[1], own_share=row[2] / own_total, total_share=row[3] / loop)
            for f, row in table.items()
        ),
        key=lambda line: (-line.own_share, line.function),
    )
    stages = []
    for stage in STAGES:
        rows = [(f, row) for f, row in table.items() if f[2] == stage and "kcore" in f[0]]
        if rows:
            f, row = max(rows, key=lambda fr: fr[1][3])
            stages.append(
                ProfileLine(function=_function_name(f), calls=row[1], own_share=row[2] / loop, total_share=row[3] / loop)
            )
    return CreateProfile(ops=ops, existing=existing, top=tuple(lines[:top]), stages=tuple(stages))


def _function_name(f: tuple[str, int, str]) -> str:
    path, line, name = f
    if path == "~":
        return name
    marker = path.rfind("kcore/")
    if marker < 0:
        marker = path.rfind("site-packages/")
        short = path[marker + len("site-packages/") :] if marker >= 0 else path.rsplit("/", 1)[-1]
    else:
        short = path[marker:]
    return f"{short}:{line}({name})"
