"""`kcore apply -f`: create or update objects from manifests, as kubectl apply does.

Owns `cmd_apply`. Each object of the manifests (`-f`: files, directories, `-`) goes
through `Cluster.apply` (kubectl's create-or-merge, `kcore.kubectl.apply`) in order;
unknown fields print `Warning: unknown field ...` on stderr, a failed object prints
kubectl's error and the rest still apply (exit code 1). Then the cluster settles.

Output follows kubectl: `deployment.apps/web created`, `configured`, `unchanged`.

Mirrors k8s.io/kubectl/pkg/cmd/apply (apply.go) in the parts kcore serves.
"""

from __future__ import annotations

import argparse
import sys

from kcore.cli.resources import load_all, resource_name, server_error, with_namespace
from kcore.cli.session import CliError, mutating, require_cluster, settling_from
from kcore.driver.cluster import Applied, ApplyOutcome


def cmd_apply(args: argparse.Namespace) -> int:
    require_cluster()
    loaded = load_all(args.filename)
    failed = False
    with mutating(settling_from(args)) as cluster:
        for item in loaded:
            for w in item.warnings:
                print(f"Warning: {w}", file=sys.stderr)
            try:
                obj = with_namespace(item.obj, args)
            except CliError as e:
                print(f"error: {e}", file=sys.stderr)
                failed = True
                continue
            (result,) = cluster.apply([obj])
            failed |= not _report_apply(result, item.source)
    return 1 if failed else 0


def _report_apply(result: Applied, source: str) -> bool:
    name = f"{resource_name(result.key.kind)}/{result.key.name}"
    if result.outcome is ApplyOutcome.FAILED:
        status = result.status
        message = status.message if status else "unexpected answer"
        where = f'error when {result.verb} "{source}": ' if source else ""
        text = server_error(status, where) if status else f"error: {where}{message}"
        print(text, file=sys.stderr)
        return False
    print(f"{name} {result.outcome.value}")
    return True
