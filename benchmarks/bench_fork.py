"""Snapshot and fork of a large cluster against deep-copying the same data as JSON dicts.

A `ClusterState` is an immutable value, so a snapshot is keeping a reference and a fork is
a second owner of the same value: both O(1), whatever the size. This harness measures,
for states of several sizes (the largest 150,000 pods):
- `share`: binding the value to a second name (what `kcore.state` promises);
- `Cluster.snapshot()` and `Cluster.fork()` of the driver facade over that state;
- `fork + 1 create`: a fork followed by one create through the apiserver on the fork
  (what diverging costs: a path copy, not a copy of the state);
- `deepcopy`: `copy.deepcopy` of every pod as its Kubernetes JSON (`kcore.api.codec.to_dict`)
  in a dict keyed "namespace/name": the cost a mutable-dict design pays per snapshot.

States are built for setup by `bench_apiserver.base_state` (namespace, LimitRange, pods
copied from one the apiserver created, written with `kcore.state.put`); setup time is not
measured. Tiny operations are timed in batches (`timeit`) and reported per call.
"""

from __future__ import annotations

import copy
import time
import timeit
from collections.abc import Callable
from typing import Final

import attrs

from benchmarks import BenchmarkError
from benchmarks.bench_apiserver import LIMITED, NOW, base_state, small_pod
from kcore.api.codec import JSONValue, to_dict
from kcore.api.kinds import Kind
from kcore.api.pod import Pod
from kcore.apiserver import handle
from kcore.component.requests import Create
from kcore.driver.cluster import Cluster
from kcore.state import ClusterState, count, list_objects

FULL_SIZES: Final = (1_000, 10_000, 150_000)
QUICK_SIZES: Final = (1_000, 10_000)


@attrs.frozen(kw_only=True)
class ForkTimes:
    """Per-call times, in seconds, for one state size."""

    pods: int
    share: float
    snapshot: float
    fork: float
    fork_and_create: float
    deepcopy: float
    to_dict_setup: float  # building the JSON dicts (setup of the deepcopy, not a snapshot)


def per_call(fn: Callable[[], object]) -> float:
    """Seconds per call of `fn`: the best of 3 batches of ~0.2 s each (`timeit.autorange`)."""
    timer = timeit.Timer(fn)
    number, _ = timer.autorange()
    return min(timer.repeat(repeat=3, number=number)) / number


def as_json(state: ClusterState) -> dict[str, dict[str, JSONValue]]:
    """Every pod as its Kubernetes JSON, keyed "namespace/name"."""
    out: dict[str, dict[str, JSONValue]] = {}
    for pod in list_objects(state, Kind.POD):
        m = pod.metadata
        out[f"{m.namespace}/{m.name}"] = to_dict(pod)
    return out


def measure(pods: int, *, deepcopy_repeats: int = 1) -> ForkTimes:
    """All fork/snapshot timings for a state of `pods` pods."""
    state = base_state(pods, LIMITED)
    if count(state, Kind.POD) != pods:
        raise BenchmarkError(f"{count(state, Kind.POD)} pods stored, {pods} wanted")
    cluster = Cluster.empty(state)
    one = Create(obj=small_pod("forked"))

    def share() -> ClusterState:
        fork = state
        return fork

    def fork_and_create() -> ClusterState:
        fork = cluster.fork()
        new, response, _ = handle(fork.state, one, NOW)
        if not response.ok:
            raise BenchmarkError(f"create on a fork failed: {response.body}")
        return new

    start = time.perf_counter()
    data = as_json(state)
    to_dict_setup = time.perf_counter() - start
    if len(data) != pods:
        raise BenchmarkError(f"{len(data)} JSON pods, {pods} wanted")
    deep = min(_timed(lambda: copy.deepcopy(data)) for _ in range(max(1, deepcopy_repeats)))
    return ForkTimes(
        pods=pods,
        share=per_call(share),
        snapshot=per_call(cluster.snapshot),
        fork=per_call(cluster.fork),
        fork_and_create=per_call(fork_and_create),
        deepcopy=deep,
        to_dict_setup=to_dict_setup,
    )


def fork_is_independent(pods: int) -> tuple[int, int]:
    """Create one pod on a fork: (pods in the original, pods in the fork) afterwards."""
    state = base_state(pods, LIMITED)
    fork = Cluster.empty(state).fork()
    new, response, _ = handle(fork.state, Create(obj=small_pod("forked")), NOW)
    if not response.ok or not isinstance(response.body, Pod):
        raise BenchmarkError(f"create on a fork failed: {response.body}")
    return count(state, Kind.POD), count(new, Kind.POD)


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start
