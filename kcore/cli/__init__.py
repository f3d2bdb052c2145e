"""The `kcore` command: a local cluster driven with kubectl's habits.

Each command loads the cluster from `$KCORE_HOME` (default `./.kcore`, see
`kcore.store.file`), sends requests through the apiserver as the local admin identity
(`kcore.api.user.ADMIN`, a member of system:masters), and a command that writes then
settles (`Cluster.settle`: simulated time runs as far as the work it set in motion needs;
`--wait=false` opts out, `--timeout` bounds it) and stores the new values atomically
(`kcore.cli.session`). `advance` moves the clock by exactly its duration. Reads (`get`,
`cluster info`) never write.

Output follows kubectl: `deployment.apps/web created`, `Error from server (NotFound):
pods "x" not found` on stderr with exit code 1, `No resources found in default
namespace.` on stderr, `Warning: unknown field "spec.foo"` on stderr.

The parser and the dispatch are `kcore.cli.main` (its `main` is the `kcore` entry point);
one module per command family; kubectl's client logic they use is `kcore.kubectl`.
Mirrors k8s.io/kubectl/pkg/cmd in the parts kcore serves.
"""

from kcore.cli.main import main

__all__ = ["main"]
