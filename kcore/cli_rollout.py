"""`kcore rollout`: undo, status, history, pause and resume of a Deployment, as kubectl's.

Owns `add_rollout_parser(subparsers)` (the `rollout` subcommand, hooked into the `kcore`
parser by `kcore.cli`), the commands, and two pure helpers the commands print from:
`rollout_status(d) -> RolloutStatus` (kubectl's DeploymentStatusViewer) and
`history_table(name, rss) -> str` (DeploymentHistoryViewer).

Rules: each command loads the cluster from `$KCORE_HOME`, sends requests as the local
admin, settles and stores atomically (reads store nothing). `rollout undo` uses
`kcore.controllers.deployment.rollback_request`, the same JSON patch kubectl sends.
`rollout status` waits as kubectl does, but in simulated time: it advances the clock one
second at a time (stored afterwards) until the rollout is done, fails, or `--timeout` of
simulated time passes; `--watch=false` prints the current state once.

Output follows kubectl: `deployment.apps/web rolled back`, `deployment "web" successfully
rolled out`, `deployment.apps/web paused`, errors on stderr with exit code 1.
Mirrors k8s.io/kubectl/pkg/cmd/rollout (undo, status, history, pause, resume) and
polymorphichelpers (rollback.go, rollout_status.go, history.go, objectpauser.go).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Final

import attrs

from kcore.api.apps import Deployment, DeploymentConditionType, ReplicaSet
from kcore.api.kinds import Kind, ObjectKey, UnknownKindError, kind_for_name
from kcore.api.meta import Status
from kcore.api.pod import PodTemplateSpec
from kcore.apiserver.errors import not_found
from kcore.apiserver.types import Patch, PatchType
from kcore.controllers import deployment_util as du
from kcore.controllers.deployment import rollback_request
from kcore.controllers.podcontrol import controller_of
from kcore.driver.clock import DurationError, parse_duration
from kcore.driver.cluster import Cluster
from kcore.state import get, list_objects
from kcore.store.file import StoreError

MAX_STEPS: Final = 200_000
"""How many deliveries one second of `rollout status` may run."""
RESOURCE: Final = "deployment.apps"
PLURAL: Final = "deployments.apps"


class RolloutError(Exception):
    """A user-facing failure: printed as `error: <message>`, exit code 1."""


# --- pure helpers ---------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class RolloutStatus:
    """What `kubectl rollout status` prints: a message, whether it is done, or an error."""

    message: str
    done: bool
    error: str = ""


def rollout_status(d: Deployment) -> RolloutStatus:
    """DeploymentStatusViewer.Status for `d`."""
    name, st = d.metadata.name, d.status
    if d.metadata.generation > st.observed_generation:
        return RolloutStatus(message="Waiting for deployment spec update to be observed...\n", done=False)
    cond = du.get_condition(st, DeploymentConditionType.PROGRESSING)
    if cond is not None and cond.reason == du.REASON_TIMED_OUT:
        return RolloutStatus(message="", done=False, error=f'deployment "{name}" exceeded its progress deadline')
    prefix = f'Waiting for deployment "{name}" rollout to finish: '
    if st.updated_replicas < d.spec.replicas:
        text = f"{st.updated_replicas} out of {d.spec.replicas} new replicas have been updated...\n"
        return RolloutStatus(message=prefix + text, done=False)
    if st.replicas > st.updated_replicas:
        text = f"{st.replicas - st.updated_replicas} old replicas are pending termination...\n"
        return RolloutStatus(message=prefix + text, done=False)
    if st.available_replicas < st.updated_replicas:
        text = f"{st.available_replicas} of {st.updated_replicas} updated replicas are available...\n"
        return RolloutStatus(message=prefix + text, done=False)
    return RolloutStatus(message=f'deployment "{name}" successfully rolled out\n', done=True)


def _history(rss: Iterable[ReplicaSet]) -> dict[int, ReplicaSet]:
    out: dict[int, ReplicaSet] = {}
    for rs in rss:
        v = du.revision(rs)
        if v is not None:
            out[v] = rs
    return out


def history_table(rss: Iterable[ReplicaSet]) -> str:
    """DeploymentHistoryViewer.ViewHistory: REVISION and CHANGE-CAUSE, tab-aligned."""
    history = _history(rss)
    if not history:
        return "No rollout history found."
    rows = [("REVISION", "CHANGE-CAUSE")]
    for v in sorted(history):
        cause = history[v].metadata.annotations.get(du.CHANGE_CAUSE_ANNOTATION, "") or "<none>"
        rows.append((str(v), cause))
    width = max(len(r[0]) for r in rows) + 2  # tabwriter padding 2
    return "".join(f"{a.ljust(width)}{b}\n" for a, b in rows)


def describe_template(t: PodTemplateSpec, change_cause: str = "") -> str:
    """A short `printTemplate`: labels, annotations, containers with image, ports, env."""
    labels = sorted(f"{k}={v}" for k, v in t.metadata.labels.items() if k != du.POD_TEMPLATE_HASH_LABEL)
    annotations = dict(t.metadata.annotations)
    if change_cause:
        annotations[du.CHANGE_CAUSE_ANNOTATION] = change_cause
    lines = ["Pod Template:", f"  Labels:\t{_joined(labels)}"]
    if annotations:
        lines.append(f"  Annotations:\t{_joined(sorted(f'{k}: {v}' for k, v in annotations.items()))}")
    lines.append("  Containers:")
    for c in t.spec.containers:
        lines.append(f"   {c.name}:")
        lines.append(f"    Image:\t{c.image}")
        ports = [f"{p.container_port}/{p.protocol.value}" for p in c.ports]
        lines.append(f"    Port:\t{', '.join(ports) if ports else '<none>'}")
        env = [f"{e.name}:\t{e.value}" for e in c.env]
        lines.append(f"    Environment:\t{_joined(env)}")
    lines.append(f"  Volumes:\t{_joined([v.name for v in t.spec.volumes])}")
    return "\n".join(lines) + "\n"


def _joined(items: list[str]) -> str:
    return "\n\t".join(items) if items else "<none>"


# --- commands -------------------------------------------------------------------------------


def _load() -> Cluster:
    # kcore.cli owns loading (components, static pods); imported late: it imports this module
    from kcore import cli

    return cli._load(cli._store())


@contextmanager
def _mutating() -> Iterator[Cluster]:
    """kcore.cli's: load, lock, yield the cluster, settle it and store it atomically."""
    from kcore import cli

    with cli._mutating() as cluster:
        yield cluster


def _target(args: argparse.Namespace) -> ObjectKey:
    """`deployment/NAME` or `deployment NAME` (only Deployments roll out here)."""
    text: str = args.target
    name: str = args.name or ""
    if "/" in text:
        if name:
            raise RolloutError("there is no need to specify a resource type as a separate argument when passing arguments in resource/name form")
        text, _, name = text.partition("/")
    if not name:
        raise RolloutError("required resource not specified")
    kind = kind_for_name(text)
    if kind is not Kind.DEPLOYMENT:
        raise RolloutError(f'no rollout support for {kind.info.plural} "{name}" in kcore (only deployments)')
    return ObjectKey(kind=Kind.DEPLOYMENT, namespace=args.namespace or "default", name=name)


def _deployment(cluster: Cluster, key: ObjectKey) -> Deployment:
    d = get(cluster.state, key)
    if not isinstance(d, Deployment):
        raise _ServerError(not_found(key))
    return d


class _ServerError(Exception):
    def __init__(self, status: Status) -> None:
        super().__init__(status.message)
        self.status = status


def _controlled(cluster: Cluster, d: Deployment) -> list[ReplicaSet]:
    out = []
    for rs in list_objects(cluster.state, Kind.REPLICA_SET, d.metadata.namespace):
        ref = controller_of(rs.metadata)
        if isinstance(rs, ReplicaSet) and ref is not None and ref.uid == d.metadata.uid:
            out.append(rs)
    return out


def cmd_undo(args: argparse.Namespace) -> int:
    key = _target(args)
    with _mutating() as cluster:
        answer = rollback_request(cluster.state, key, args.to_revision)
        if isinstance(answer, Status):
            if answer.status == "Success":
                print(f"{RESOURCE}/{key.name} {answer.message}")
                return 0
            if answer.reason.value == "NotFound" and get(cluster.state, key) is None:
                raise _ServerError(answer)
            raise RolloutError(answer.message)
        resp = cluster.request(answer)
        if not resp.ok:
            why = resp.body.message if isinstance(resp.body, Status) else f"answer {resp.code}"
            raise RolloutError(f"failed restoring revision {args.to_revision}: {why}")
    print(f"{RESOURCE}/{key.name} rolled back")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    key = _target(args)
    try:
        timeout = parse_duration(args.timeout)
    except DurationError as e:
        raise RolloutError(str(e)) from e
    if not args.watch:
        st = rollout_status(_deployment(_load(), key))
        if st.error:
            raise RolloutError(st.error)
        print(st.message, end="")
        return 0
    with _mutating() as cluster:
        deadline = cluster.now + timeout
        last = ""
        while True:
            st = rollout_status(_deployment(cluster, key))
            if st.error:
                raise RolloutError(st.error)
            if st.message != last:
                print(st.message, end="")
                last = st.message
            if st.done:
                return 0
            if cluster.now >= deadline:
                raise RolloutError("timed out waiting for the condition")
            cluster.advance(1.0, MAX_STEPS)


def cmd_history(args: argparse.Namespace) -> int:
    key = _target(args)
    cluster = _load()
    d = _deployment(cluster, key)
    rss = _controlled(cluster, d)
    if args.revision > 0:
        rs = _history(rss).get(args.revision)
        if rs is None:
            raise RolloutError("unable to find the specified revision")
        cause = rs.metadata.annotations.get(du.CHANGE_CAUSE_ANNOTATION, "")
        print(f"{RESOURCE}/{key.name} with revision #{args.revision}")
        print(describe_template(rs.spec.template, cause))
        return 0
    print(f"{RESOURCE}/{key.name} ")
    print(history_table(rss))
    return 0


def _set_paused(args: argparse.Namespace, paused: bool) -> int:
    key = _target(args)
    with _mutating() as cluster:
        d = _deployment(cluster, key)
        if d.spec.paused == paused:
            raise RolloutError(f'{PLURAL} "{key.name}" {"is already paused" if paused else "is not paused"}')
        patch = json.dumps({"spec": {"paused": paused}})
        resp = cluster.request(Patch(key=key, patch_type=PatchType.MERGE, patch=patch))
        if not resp.ok and isinstance(resp.body, Status):
            raise _ServerError(resp.body)
    print(f"{RESOURCE}/{key.name} {'paused' if paused else 'resumed'}")
    return 0


def cmd_pause(args: argparse.Namespace) -> int:
    return _set_paused(args, True)


def cmd_resume(args: argparse.Namespace) -> int:
    return _set_paused(args, False)


Command = Callable[[argparse.Namespace], int]


def _guarded(func: Command) -> Command:
    """Wrap a command so user errors print as kubectl's and exit 1."""

    def run(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except _ServerError as e:
            reason = e.status.reason.value
            head = f"Error from server ({reason})" if reason else "Error from server"
            print(f"{head}: {e.status.message}", file=sys.stderr)
        except (RolloutError, UnknownKindError, StoreError) as e:
            print(f"error: {e}", file=sys.stderr)
        return 1

    return run


# --- argument parsing ------------------------------------------------------------------------


def _bool_flag(text: str) -> bool:
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"invalid boolean {text!r}")


def add_rollout_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `rollout undo|status|history|pause|resume` to the `kcore` parser's subcommands."""
    rollout = subparsers.add_parser("rollout", help="manage the rollout of a deployment")
    sub = rollout.add_subparsers(dest="rollout_command", metavar="ACTION")

    def target(p: argparse.ArgumentParser) -> None:
        p.add_argument("target", metavar="deployment/NAME")
        p.add_argument("name", nargs="?", default="", metavar="NAME")
        p.add_argument("-n", "--namespace", default="", help="the namespace (default: default)")

    undo = sub.add_parser("undo", help="roll back to a previous revision")
    target(undo)
    undo.add_argument("--to-revision", type=int, default=0, help="the revision (default: the previous one)")
    undo.set_defaults(func=_guarded(cmd_undo))

    status = sub.add_parser("status", help="show (and wait for, in simulated time) the rollout status")
    target(status)
    status.add_argument("-w", "--watch", type=_bool_flag, default=True, nargs="?", const=True)
    status.add_argument("--timeout", default="10m", help="simulated time to wait (default 10m)")
    status.set_defaults(func=_guarded(cmd_status))

    history = sub.add_parser("history", help="list the revisions of a deployment")
    target(history)
    history.add_argument("--revision", type=int, default=0, help="show the pod template of one revision")
    history.set_defaults(func=_guarded(cmd_history))

    pause = sub.add_parser("pause", help="stop a deployment's rollout from progressing")
    target(pause)
    pause.set_defaults(func=_guarded(cmd_pause))

    resume = sub.add_parser("resume", help="let a paused deployment roll out again")
    target(resume)
    resume.set_defaults(func=_guarded(cmd_resume))
