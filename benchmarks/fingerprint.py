"""Behaviour fingerprints: `python -m benchmarks.fingerprint [--out FILE] [--check FILE]`.

A refactor that must keep behaviour (issue 10: the component protocol moves, the
controller kit, effects with tags) is checked by running the same scenarios before and
after it and comparing one hash per scenario: the sha256 of every trace entry, in order
(deliveries and performed effects, `repr` of the values), and of the final state (every
stored object as JSON). Scenarios, each from one seed, in process:

- `deployment`: 10 nodes with upstream client limits, a 100-replica Deployment created
  and rolled to a new image (the `bench_deployment` flow, smaller);
- `cluster`: 30 nodes idle for 3 simulated minutes, then 150 bare pods to Running
  (`bench_cluster`, smaller);
- `workloads`: 4 nodes, the manifests of `tests/manifests` for every workload kind, then
  a seeded fault plan (node crashes and partitions, component pauses and crashes) and
  time to converge after it.

`repr` of a persistent map lists entries in hash order, which follows PYTHONHASHSEED for
string keys, so the script runs itself under PYTHONHASHSEED=0. `--check FILE` compares
with a file written by `--out` and exits 1 on any difference.

Two refactors change the text of a trace without changing what happens, and have their
own modes: `--loose` leaves out how an answer finds its asker (request ids or tags of
`CallApi`, `ApiAnswered`, `CallRuntime`, `RuntimeAnswered`, and timer keys), keeping the
request, the answer, the times and everything else; `--rename OLD=NEW` (repeatable)
replaces a name in every text before hashing, so a baseline run of the old code with the
renames gives the hash the renamed code must match. `--renames FILE` reads more of them,
one `OLD<tab>NEW` a line, for texts that hold `=` themselves (a field of a repr, a
fragment of JSON); they apply after the `--rename` ones, in file order.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Final

import attrs

from kcore.api.codec import to_dict
from kcore.api.kinds import Kind
from kcore.api.manifest import load_manifests
from kcore.component.events import Resynced
from kcore.driver import new_cluster
from kcore.driver.cluster import Cluster
from kcore.driver.faults import random_plan
from kcore.driver.snapshot import Delivered, Performed
from kcore.state import ClusterConfig, list_objects

MANIFESTS: Final = Path(__file__).resolve().parent.parent / "tests" / "manifests"
WORKLOAD_MANIFESTS: Final = (
    "web-app.yaml",
    "stateful.yaml",
    "batch.yaml",
    "node-agents.yaml",
    "autoscaling.yaml",
    "disruption-budgets.yaml",
)
UNBOUNDED: Final = 10**9


def unbounded(cluster: Cluster) -> Cluster:
    """`cluster` keeping every trace entry from now on."""
    return Cluster(attrs.evolve(cluster.snapshot(), trace_limit=UNBOUNDED), cluster.components)


_ADDRESSES: Final = ("request_id", "tag", "key")
"""Fields by which an answer or a timer finds its asker: left out in `--loose` mode."""


@attrs.frozen
class Mode:
    loose: bool = False
    renames: tuple[tuple[str, str], ...] = ()

    def text(self, s: str) -> str:
        for old, new in self.renames:
            s = s.replace(old, new)
        return s


def _loose(value: Any) -> str:
    fields = attrs.fields(type(value))
    parts = [f"{f.name}={getattr(value, f.name)!r}" for f in fields if f.name not in _ADDRESSES and f.repr]
    return f"{type(value).__name__}({', '.join(parts)})"


def _entry_text(entry: object, mode: Mode) -> str:
    if isinstance(entry, Delivered) and isinstance(entry.event, Resynced):
        ev = entry.event
        return f"Delivered(at={entry.at!r}, component={entry.component!r}, Resynced(revision={ev.view.revision}, now={ev.now!r}))"
    if mode.loose and isinstance(entry, Delivered | Performed):
        inner = entry.event if isinstance(entry, Delivered) else entry.effect
        return f"{type(entry).__name__}(at={entry.at!r}, component={entry.component!r}, {_loose(inner)})"
    return repr(entry)


def digest(cluster: Cluster, mode: Mode = Mode()) -> dict[str, object]:
    """The trace hash, the state hash and the sizes of `cluster`."""
    h = hashlib.sha256()
    for entry in cluster.trace:
        h.update(mode.text(_entry_text(entry, mode)).encode())
        h.update(b"\n")
    s = hashlib.sha256()
    objects = 0
    for kind in sorted(Kind, key=lambda k: k.value):
        for obj in list_objects(cluster.state, kind):
            s.update(mode.text(json.dumps(to_dict(obj), sort_keys=True)).encode())
            s.update(b"\n")
            objects += 1
    return {
        "trace": h.hexdigest(),
        "state": s.hexdigest(),
        "entries": len(cluster.trace),
        "objects": objects,
        "now": repr(cluster.now),
    }


def deployment() -> Cluster:
    from benchmarks import bench_deployment as bd

    cluster = unbounded(bd.build(10, throttled=True))
    bd.create_phase(cluster, 10, 100)
    bd.update_phase(cluster, 10, 100)
    return cluster


def whole_cluster() -> Cluster:
    from benchmarks import bench_cluster as bc

    cluster, _ = bc.build(30)
    cluster = unbounded(cluster)
    bc.idle(cluster, 30, 3.0)
    bc.converge(cluster, 30, 150)
    return cluster


def _renamed(fault: Any, places: dict[str, str]) -> Any:
    name = getattr(fault, "name", None)
    return attrs.evolve(fault, name=places[name]) if isinstance(name, str) else fault


def workloads() -> Cluster:
    cluster = unbounded(new_cluster(ClusterConfig(seed=11), nodes=4))
    for name in WORKLOAD_MANIFESTS:
        text = (MANIFESTS / name).read_text()
        objs = [loaded.obj for loaded in load_manifests(text, source=name, defaults=False)]
        cluster.apply(objs)
        cluster.settle()
    nodes = [f"node-{i}" for i in range(1, 5)]
    # components by delivery order, not by name: a renamed component keeps its place
    comps = [c.name for c in cluster.components if "/" not in c.name]
    places = {f"c{i:03d}": name for i, name in enumerate(comps)}
    plan = tuple(
        attrs.evolve(f, fault=_renamed(f.fault, places))
        for f in random_plan(5, nodes=nodes, components=sorted(places), duration=600.0, count=5)
    )
    cluster.run_plan(plan, until=900.0)
    cluster.advance(300.0)
    return cluster


SCENARIOS: Final[dict[str, Callable[[], Cluster]]] = {
    "deployment": deployment,
    "cluster": whole_cluster,
    "workloads": workloads,
}


def run(names: Iterable[str], mode: Mode = Mode()) -> dict[str, dict[str, object]]:
    return {name: digest(SCENARIOS[name](), mode) for name in names}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", help="write the fingerprints to this JSON file")
    p.add_argument("--check", help="compare with fingerprints written by --out; exit 1 on a difference")
    p.add_argument("--only", nargs="*", choices=sorted(SCENARIOS), default=sorted(SCENARIOS))
    p.add_argument("--loose", action="store_true", help="leave out request ids, tags and timer keys")
    p.add_argument("--rename", action="append", default=[], metavar="OLD=NEW", help="replace a name before hashing")
    p.add_argument("--renames", metavar="FILE", help="more renames, one OLD<tab>NEW a line")
    args = p.parse_args()
    if any("=" not in r for r in args.rename):
        p.error("--rename takes OLD=NEW")
    renames = [(old, new) for old, _, new in (r.partition("=") for r in args.rename)]
    if args.renames:
        for line in Path(args.renames).read_text().splitlines():
            if line:
                old, tab, new = line.partition("\t")
                if not tab:
                    p.error("--renames lines are OLD<tab>NEW")
                renames.append((old, new))
    if os.environ.get("PYTHONHASHSEED") != "0":
        env = dict(os.environ, PYTHONHASHSEED="0")
        sys.exit(subprocess.call([sys.executable, "-m", "benchmarks.fingerprint", *sys.argv[1:]], env=env))
    result = run(args.only, Mode(loose=args.loose, renames=tuple(renames)))
    text = json.dumps(result, indent=2, sort_keys=True)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    if args.check:
        want = json.loads(Path(args.check).read_text())
        bad = [n for n in result if want.get(n) != result[n]]
        for n in bad:
            print(f"{n}: differs: want {want.get(n)}, got {result[n]}", file=sys.stderr)
        sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
