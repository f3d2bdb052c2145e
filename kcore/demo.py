"""`python -m kcore.demo` (what `make demo` runs): a cluster end to end in a temp home.

Creates a 3-node cluster in a temporary KCORE_HOME, applies `examples/demo.yaml` through
the apiserver with `kcore apply`, then prints what was stored with `kcore get`, exactly
as a user would type it. Exits non-zero if any step fails. Touches nothing outside the
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

MANIFEST: Final = Path(__file__).resolve().parent.parent / "examples" / "demo.yaml"

STEPS: Final[tuple[tuple[str, ...], ...]] = (
    ("cluster", "create", "--nodes", "3", "--seed", "7"),
    ("apply", "-f", str(MANIFEST)),
    ("get", "nodes", "-o", "wide"),
    ("get", "namespaces"),
    ("get", "deployments", "-n", "demo", "-o", "wide"),
    ("get", "services", "-n", "demo", "-o", "wide"),
    ("get", "configmaps", "-n", "demo"),
    ("get", "pods", "-n", "demo"),
    ("get", "clusterroles"),
    ("advance", "10m"),
    ("get", "deploy/web", "-n", "demo"),
    ("apply", "-f", str(MANIFEST)),
    ("scale", "deployment/web", "-n", "demo", "--replicas", "5"),
    ("get", "deploy", "-n", "demo"),
    ("cluster", "info"),
)


def run(steps: Sequence[Sequence[str]] = STEPS) -> int:
    """Run `steps` as `kcore` commands in a fresh temporary home; the first failure's code."""
    if not MANIFEST.is_file():
        print(f"demo: {MANIFEST} is missing (run from a kcore checkout)", file=sys.stderr)
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
