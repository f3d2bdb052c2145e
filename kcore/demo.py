"""`python -m kcore.demo` (what `make demo` runs): a cluster end to end in a temp home.

Creates a 3-node cluster in a temporary KCORE_HOME, applies `examples/demo.yaml` through
the apiserver with `kcore apply` (which settles: scheduling, image pulls and readiness
play out before it returns), rolls the Deployment to a new image
(`examples/demo-v2.yaml`), crashes a node and lets time pass (`kcore advance`) to watch its
pods get evicted and replaced, then scales up: every step is a `kcore` command exactly as
a user would type it. Exits non-zero if any step fails. Touches nothing outside the
temporary directory.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from kcore.cli import main as kcore

EXAMPLES: Final = Path(__file__).resolve().parent.parent / "examples"
MANIFEST: Final = EXAMPLES / "demo.yaml"
UPDATE: Final = EXAMPLES / "demo-v2.yaml"

STEPS: Final[tuple[tuple[str, ...], ...]] = (
    ("cluster", "create", "--nodes", "3", "--seed", "1"),
    ("get", "nodes", "-o", "wide"),
    ("apply", "-f", str(MANIFEST)),  # settles: scheduled, pulled, started, Ready
    ("get", "deploy,rs,pods", "-n", "demo"),
    ("get", "pods", "-n", "demo", "-o", "wide"),
    ("get", "services", "-n", "demo", "-o", "wide"),
    ("apply", "-f", str(UPDATE)),  # a rolling update, played out before the command returns
    ("rollout", "status", "deployment/web", "-n", "demo"),
    ("get", "deploy,rs", "-n", "demo"),
    ("fault", "crash-node", "node-2"),
    ("advance", "6m"),  # time passing is the point: missed heartbeats, NotReady, evictions
    ("get", "nodes"),
    ("get", "pods", "-n", "demo", "-o", "wide"),
    ("fault", "restart-node", "node-2"),
    ("advance", "1m"),
    ("scale", "deployment/web", "-n", "demo", "--replicas", "5"),
    ("get", "nodes,deploy", "-n", "demo"),
    ("cluster", "info"),
)


def run(steps: Sequence[Sequence[str]] = STEPS) -> int:
    """Run `steps` as `kcore` commands in a fresh temporary home; the first failure's code."""
    for path in (MANIFEST, UPDATE):
        if not path.is_file():
            print(f"demo: {path} is missing (run from a kcore checkout)", file=sys.stderr)
            return 1
    old = os.environ.get("KCORE_HOME")
    with tempfile.TemporaryDirectory(prefix="kcore-demo-") as tmp:
        os.environ["KCORE_HOME"] = str(Path(tmp) / "home")
        try:
            for argv in steps:
                print(f"\n$ kcore {' '.join(argv)}", flush=True)
                code = kcore(list(argv))
                sys.stdout.flush()
                if code != 0:
                    print(f"demo: `kcore {' '.join(argv)}` exited {code}", file=sys.stderr)
                    return code
        finally:
            if old is None:
                os.environ.pop("KCORE_HOME", None)
            else:
                os.environ["KCORE_HOME"] = old
    return 0


if __name__ == "__main__":
    raise SystemExit(run())
