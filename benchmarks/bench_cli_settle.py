"""`kcore apply` of a big Deployment through the CLI, settled until every pod is Ready.

`python -m benchmarks.bench_cli_settle [--nodes 100] [--replicas 1000] [--client-limits none|upstream] [--profile]`

Runs the `kcore` commands a user would type, in this process through `kcore.cli.main`
(the same code as the `kcore` executable: load the store, request, settle, store), in a
fresh temporary `KCORE_HOME`: `cluster create --nodes N`, `apply -f` of one Deployment of
`replicas` pods (one container, 10m cpu and 16Mi memory requested, no probes), then
`get pods -o json`. Settling is what makes `apply` end with the pods Running and Ready,
and the benchmark checks exactly that after the apply (every pod bound, Running and
Ready, the Deployment's status counting them): no number comes from a run that silently
failed (`BenchmarkError`).

For each command it reports wall and CPU time. For the apply it also splits the time:
- **settle, total**: inside `Cluster.settle` (delivering every event the apply set in
  motion: the controllers, the scheduler, the kubelets: the work itself);
- **settle, own**: the part of that outside the deliveries (`run_until_stable`): the
  settling loop's peeks at the queue and its count of items in motion. This is what
  settling adds; it must stay a rounding error (no rescans);
- **report**: `kcore.unsettled` over the settled state (one pass over the workloads and
  pods, once per command);
- **store**: loading and saving the cluster file (pickle), which grows with the cluster.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

import attrs

from benchmarks import BenchmarkError, profiled, tune_gc
from kcore.api.apps import Deployment
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.pod import Pod, PodPhase
from kcore.cli import main, session
from kcore.controllers.podcontrol import is_pod_ready
from kcore.driver.cluster import Cluster
from kcore.state import get, list_objects
from kcore.store.file import FileStore

MANIFEST: Final = """\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: default}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - name: app
        image: registry.example/app:1
        resources: {{requests: {{cpu: 10m, memory: 16Mi}}}}
"""


@attrs.frozen(kw_only=True)
class Timing:
    wall: float
    cpu: float


@attrs.frozen(kw_only=True)
class Result:
    nodes: int
    replicas: int
    create: Timing
    apply: Timing
    get_json: Timing
    simulated: float  # simulated seconds the apply's settling took
    settle_total: float
    settle_own: float
    report: float
    store: float
    deliveries: int


class _Meter:
    """Wall time spent inside wrapped functions, outermost calls only per name."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = {}
        self._depth: dict[str, int] = {}

    @contextlib.contextmanager
    def measuring(self, name: str) -> Iterator[None]:
        depth = self._depth.get(name, 0)
        self._depth[name] = depth + 1
        start = time.perf_counter()
        try:
            yield
        finally:
            self._depth[name] = depth
            if depth == 0:
                self.totals[name] = self.totals.get(name, 0.0) + time.perf_counter() - start

    def wrap(self, owner: Any, attr: str, name: str) -> Callable[[], None]:
        original = getattr(owner, attr)
        meter = self

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            with meter.measuring(name):
                return original(*args, **kwargs)

        setattr(owner, attr, wrapped)
        return lambda: setattr(owner, attr, original)


def _timed(work: Callable[[], int]) -> Timing:
    wall, cpu = time.perf_counter(), time.process_time()
    code = work()
    if code != 0:
        raise BenchmarkError(f"a kcore command exited {code}")
    return Timing(wall=time.perf_counter() - wall, cpu=time.process_time() - cpu)


def _quiet(argv: list[str]) -> Callable[[], int]:
    def run() -> int:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            return main(argv)

    return run


def _check(home: Path, replicas: int) -> Cluster:
    cluster = Cluster(FileStore(home).load(), ())
    state = cluster.state
    pods = [p for p in list_objects(state, Kind.POD, "default") if isinstance(p, Pod)]
    ready = [p for p in pods if p.spec.node_name and p.status.phase is PodPhase.RUNNING and is_pod_ready(p)]
    if len(pods) != replicas or len(ready) != replicas:
        raise BenchmarkError(f"after apply: {len(pods)} pods, {len(ready)} Running and Ready, want {replicas}")
    d = get(state, ObjectKey(kind=Kind.DEPLOYMENT, namespace="default", name="web"))
    if not isinstance(d, Deployment) or d.status.available_replicas != replicas:
        raise BenchmarkError(f"after apply the Deployment reports {getattr(d, 'status', None)}")
    return cluster


def run(nodes: int, replicas: int, limits: str = "none") -> Result:
    """The three commands in a fresh home; raises BenchmarkError if the apply did not settle."""
    tune_gc()
    with tempfile.TemporaryDirectory(prefix="kcore-bench-") as tmp:
        home = Path(tmp) / "home"
        os.environ["KCORE_HOME"] = str(home)
        manifest = Path(tmp) / "web.yaml"
        manifest.write_text(MANIFEST.format(replicas=replicas))
        create = _timed(_quiet(["cluster", "create", "--nodes", str(nodes), "--client-limits", limits]))
        before = Cluster(FileStore(home).load(), ())
        meter = _Meter()
        undo = [
            meter.wrap(Cluster, "settle", "settle"),
            meter.wrap(Cluster, "run_until_stable", "deliver"),
            meter.wrap(session, "unsettled", "report"),
            meter.wrap(FileStore, "load", "store"),
            meter.wrap(FileStore, "save", "store"),
        ]
        try:
            apply = _timed(_quiet(["apply", "-f", str(manifest)]))
        finally:
            for u in undo:
                u()
        after = _check(home, replicas)
        get_json = _timed(_quiet(["get", "pods", "-o", "json"]))
    settle = meter.totals.get("settle", 0.0)
    deliver = meter.totals.get("deliver", 0.0)
    return Result(
        nodes=nodes,
        replicas=replicas,
        create=create,
        apply=apply,
        get_json=get_json,
        simulated=after.now - before.now,
        settle_total=settle,
        settle_own=max(settle - deliver, 0.0),
        report=meter.totals.get("report", 0.0),
        store=meter.totals.get("store", 0.0),
        deliveries=after.snapshot().trace_dropped + len(after.trace) - (before.snapshot().trace_dropped + len(before.trace)),
    )


def report(r: Result) -> str:
    rows = [
        "| command | wall | CPU |",
        "|---|---:|---:|",
        f"| `kcore cluster create --nodes {r.nodes}` | {r.create.wall:.1f} s | {r.create.cpu:.1f} s |",
        f"| `kcore apply -f web.yaml` ({r.replicas} replicas, to all Ready) | {r.apply.wall:.1f} s | {r.apply.cpu:.1f} s |",
        f"| `kcore get pods -o json` | {r.get_json.wall:.1f} s | {r.get_json.cpu:.1f} s |",
        "",
        f"apply: settled after {r.simulated:g} simulated s; {r.deliveries:,} trace entries",
        "",
        "| share of the apply | wall |",
        "|---|---:|",
        f"| settle, total (delivering what the apply set in motion) | {r.settle_total:.2f} s |",
        f"| settle, own (the loop outside deliveries) | {r.settle_own * 1000:.1f} ms |",
        f"| report (`kcore.unsettled`) | {r.report * 1000:.1f} ms |",
        f"| store load + save | {r.store:.2f} s |",
    ]
    return "\n".join(rows)


def main_(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--replicas", type=int, default=1000)
    parser.add_argument("--client-limits", choices=("none", "upstream"), default="none")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)
    if args.profile:
        print(profiled(lambda: run(args.nodes, args.replicas, args.client_limits), 40))
        return
    print(report(run(args.nodes, args.replicas, args.client_limits)))


if __name__ == "__main__":
    main_()
