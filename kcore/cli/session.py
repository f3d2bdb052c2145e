"""One `kcore` command's session with the stored cluster: load, lock, settle, store.

Owns `load`, `store_from_env`, `require_cluster`, `mutating` (the context every command
that writes runs in), the settling flags every mutating command shares
(`add_settle_flags`: `--wait[=false]`, `--no-wait`, `--timeout`), how a settle is
reported on stderr (`report_settled`), `go_duration` (how every span is printed) and the
errors a command reports as `error: <message>` (`CliError`, `SessionError`). Every
command module of `kcore.cli` imports it; it imports none of them.

Rules: a mutating command loads the cluster under the store's lock, makes its requests,
then lets simulated time run as far as the work it set in motion needs
(`Cluster.settle`, bounded by `--timeout`, 10 simulated minutes by default) and stores
the new values atomically. `--wait=false` (kubectl's flag) or `--no-wait` stops at once
instead: only what is due at this instant runs. Everything a settle says goes to
stderr, so stdout stays kubectl's: `settled after 34s (simulated)`, then one line per
object that is still not settled (`kcore.unsettled`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

import attrs

from kcore.driver import default_components
from kcore.driver.clock import DurationError, parse_duration
from kcore.driver.cluster import Cluster
from kcore.driver.faults import CrashComponent
from kcore.driver.settling import DEFAULT_SETTLE_SECONDS, Settled, SettleEnd
from kcore.kubelet.component import Kubelet
from kcore.kubelet.static_pods import static_pods
from kcore.state import object_count
from kcore.store.file import FileStore, home_from_env
from kcore.unsettled import unsettled

MAX_STEPS: Final = 200_000
"""How many deliveries one simulated instant of a command may run before it gives up, at
least: `max_steps` scales it with the cluster (a hot loop, a component that answers its
own events without end, is a bug; a big cluster's first instant after a big apply is not)."""

STEPS_PER_OBJECT: Final = 100
"""Deliveries one instant may take per stored object (a pod's first instant takes ~25)."""

STATIC_POD_DIR: Final = "manifests"
"""Static pods of node N live in $KCORE_HOME/nodes/N/manifests/ (the kubelet's staticPodPath)."""

MANIFEST_SUFFIXES: Final = (".yaml", ".yml", ".json")

MAX_REPORTED: Final = 20
"""Unsettled objects listed one per line; the rest are counted."""


class CliError(Exception):
    """A user-facing failure of a command: printed as `error: <message>`, exit code 1."""


class SessionError(Exception):
    """A user-facing failure of the session itself (a bad flag): `error: <message>`, exit 1."""


def store_from_env() -> FileStore:
    """The store of the cluster in `$KCORE_HOME`."""
    return FileStore(home_from_env())


def static_manifests(home: Path) -> dict[str, tuple[tuple[str, str], ...]]:
    """Every node's static pod manifests under `home`: node -> ((file name, text), ...)."""
    out: dict[str, tuple[tuple[str, str], ...]] = {}
    nodes = home / "nodes"
    if not nodes.is_dir():
        return out
    for node_dir in sorted(nodes.iterdir()):
        mdir = node_dir / STATIC_POD_DIR
        if mdir.is_dir():
            files = sorted(f for f in mdir.iterdir() if f.suffix in MANIFEST_SUFFIXES and f.is_file())
            out[node_dir.name] = tuple((f.name, f.read_text(encoding="utf-8", errors="replace")) for f in files)
    return out


def load(store: FileStore) -> Cluster:
    """The stored cluster with its components (a kubelet per node, with its static pods)."""
    snap = store.load()
    cluster = Cluster(snap, default_components(snap.state, static_manifests(store.home)))
    # a kubelet whose static pod directory changed since it started restarts to read it
    # (upstream re-reads the directory every 20 s and restarts only the changed pods)
    for comp in cluster.components:
        if isinstance(comp, Kubelet):
            wanted, _ = static_pods(comp.config)
            if cluster.component_state(comp.name).statics != wanted:
                cluster.inject(CrashComponent(name=comp.name))
    return cluster


def max_steps(cluster: Cluster) -> int:
    """The deliveries one simulated instant of a command may take, for this cluster."""
    return max(MAX_STEPS, STEPS_PER_OBJECT * object_count(cluster.state))


def require_cluster() -> None:
    """Raise the store's clear NoClusterError when `$KCORE_HOME` holds no cluster."""
    store = store_from_env()
    if not store.exists():
        store.load()


@attrs.frozen(kw_only=True)
class Settling:
    """How a mutating command ends: settle for up to `timeout` seconds, or (`wait`
    False) only deliver what is due now."""

    wait: bool = True
    timeout: float = DEFAULT_SETTLE_SECONDS


NO_SETTLING: Final = Settling(wait=False)


def _bool(text: str) -> bool:
    low = text.lower()
    if low in ("true", "t", "1", "yes"):
        return True
    if low in ("false", "f", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"invalid boolean {text!r} (true or false)")


def add_settle_flags(p: argparse.ArgumentParser, *, timeout: bool = True) -> None:
    """`--wait[=BOOL]`, `--no-wait` and (unless the command has its own) `--timeout`."""
    p.add_argument(
        "--wait",
        type=_bool,
        nargs="?",
        const=True,
        default=True,
        metavar="BOOL",
        help="let simulated time run until the work this command set in motion has played out (default true)",
    )
    p.add_argument("--no-wait", dest="wait", action="store_false", help="the same as --wait=false")
    if timeout:
        p.add_argument(
            "--timeout",
            default="10m",
            help="the most simulated time settling may take (default 10m)",
        )


def settling_from(args: argparse.Namespace, *, timeout_flag: bool = True) -> Settling:
    """The `Settling` a command's flags ask for (SessionError on a bad --timeout)."""
    wait = bool(getattr(args, "wait", True))
    text = getattr(args, "timeout", "10m") if timeout_flag else "10m"
    try:
        seconds = parse_duration(text)
    except DurationError as e:
        raise SessionError(f"--timeout: {e}") from e
    return Settling(wait=wait, timeout=seconds)


@contextmanager
def mutating(settling: Settling = NO_SETTLING) -> Iterator[Cluster]:
    """Load and lock the cluster, yield it, then settle (or only run what is due now, for
    `NO_SETTLING`) and store it atomically."""
    require_cluster()
    store = store_from_env()
    with store.lock():
        cluster = load(store)
        yield cluster
        steps = max_steps(cluster)
        if settling.wait:
            report_settled(cluster, cluster.settle(settling.timeout, steps), steps)
        elif not cluster.run_until_stable(steps):
            print(f"Warning: the cluster did not settle within {steps} steps", file=sys.stderr)
        store.save(cluster.snapshot())


def go_duration(seconds: float) -> str:
    """Go's time.Duration.String() to the millisecond, as kubectl prints spans: 0s, 1.5s,
    34s, 1m0s, 2m10.5s, 1h30m0s."""
    millis = round(seconds * 1000)
    h, rest = divmod(millis, 3_600_000)
    m, ms = divmod(rest, 60_000)
    secs = f"{ms // 1000}.{ms % 1000:03d}".rstrip("0").rstrip(".") + "s"
    if h:
        return f"{h}h{m}m{secs}"
    if m:
        return f"{m}m{secs}"
    return secs


def report_settled(cluster: Cluster, settled: Settled, steps: int = MAX_STEPS) -> None:
    """What settling did, on stderr: the simulated time it took (when any), why it
    stopped if not because everything settled, then what is still not settled."""
    if settled.seconds > 0:
        print(f"settled after {go_duration(settled.seconds)} (simulated)", file=sys.stderr)
    match settled.end:
        case SettleEnd.TIMEOUT:
            print(
                f"Warning: work was still in motion after {go_duration(settled.seconds)} (simulated; --timeout)",
                file=sys.stderr,
            )
        case SettleEnd.STEPS:
            print(f"Warning: one simulated instant needed more than {steps} deliveries", file=sys.stderr)
        case SettleEnd.SETTLED:
            pass
    lines = unsettled(cluster.state)
    for item in lines[:MAX_REPORTED]:
        print(item.line, file=sys.stderr)
    if len(lines) > MAX_REPORTED:
        print(f"... and {len(lines) - MAX_REPORTED} more objects not settled", file=sys.stderr)
