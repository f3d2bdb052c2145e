"""Scale and speed harnesses for kcore; results are recorded in docs/benchmarks.md.

`python -m benchmarks.run [--quick]` runs every benchmark (`make bench` calls it):
- `bench_apiserver`: creates, updates and status updates per second through the full
  `kcore.apiserver.handle` path (authorization, defaulting, admission, versioning, store,
  watch log), at several sizes of existing state, plus a cProfile of the create path;
- `bench_fork`: the cost of a snapshot/fork of a 150,000-pod `ClusterState` against
  `copy.deepcopy` of the same data as JSON dicts.

Benchmarks are the imperative shell: they read the clock and set the garbage collector's
thresholds (as the driver does, see DESIGN.md's performance notes), never the core.
Every benchmark checks what it did (each response must be a success) so a number can
never come from a run that silently failed.
"""

from __future__ import annotations

import cProfile
import gc
import io
import pstats
from collections.abc import Callable
from typing import Final

GC_THRESHOLDS: Final = (100_000, 50, 1000)
"""The driver's thresholds (kcore.driver.cluster.GC_THRESHOLDS): the cyclic collector, not
the data structures, is the first wall once tables pass ~20k objects."""


class BenchmarkError(Exception):
    """A benchmark did not do what it measures (a request failed, a count is off)."""


def tune_gc() -> None:
    """Set the collector's thresholds as the driver does; call once per benchmark process."""
    gc.set_threshold(*GC_THRESHOLDS)


def profiled(work: Callable[[], object], top: int) -> str:
    """cProfile of `work()`: the top functions by own time and by cumulative time."""
    prof = cProfile.Profile()
    prof.enable()
    work()
    prof.disable()
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return out.getvalue()
