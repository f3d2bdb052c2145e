"""`kcore rollout`: status, restart, undo, history, pause and resume, as kubectl's.

Owns `add_rollout_parser(subparsers)` (the `rollout` subcommand, hooked into the `kcore`
parser by `kcore.cli.main`), the commands, and the pure helpers they print from:
`restart_patch(obj, now)` (defaultObjectRestarter) and `history_table(rss) -> str`
(DeploymentHistoryViewer); the status viewers are `kcore.rollout_status` (kubectl's
StatusViewerFor: `rollout_status` for a Deployment, `daemon_set_status`,
`stateful_set_status`).

Rules: each command loads the cluster from `$KCORE_HOME`, sends requests as the local
admin, settles (`--wait`, `--timeout`, as every mutating command) and stores atomically;
reads store nothing. `status` and `restart` take a Deployment, DaemonSet or StatefulSet;
`undo`, `history`, `pause` and `resume` only a Deployment. `rollout undo` uses
`kcore.kubectl.rollback.rollback_request`, the same JSON patch kubectl sends.
`rollout restart` sets the pod template annotation `kubectl.kubernetes.io/restartedAt`
to the simulated time (RFC 3339), which starts a new rollout. `rollout status` waits as
kubectl does, in simulated time: it moves the clock with `Cluster.advance_until`,
printing each status message when it changes, until the rollout is done, fails, or
`--timeout` of simulated time passes (default 10m; kubectl's default of 0, "never", is a
simulated day here, as drain's); the clock stays where waiting left it (stored, nothing
settles further). `--watch=false` prints the current state once.

Output follows kubectl v1.32: `deployment.apps/web rolled back`, `deployment "web"
successfully rolled out`, `deployment.apps/web restarted`, `deployment.apps/web
paused`, errors on stderr with exit code 1 (`error: timed out waiting for the
condition`). Mirrors k8s.io/kubectl/pkg/cmd/rollout (undo, status, restart, history,
pause, resume) and polymorphichelpers (rollback.go, rollout_status.go,
objectrestarter.go, history.go, objectpauser.go).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable
from typing import Final

from kcore.api.apps import (
    DaemonSet,
    Deployment,
    ReplicaSet,
    StatefulSet,
)
from kcore.api.kinds import Kind, ObjectKey, UnknownKindError, kind_for_name
from kcore.api.meta import ApiObject, Status, Time
from kcore.api.pod import PodTemplateSpec
from kcore.apiserver.errors import not_found, qualified_resource
from kcore.cli.resources import server_error
from kcore.cli.session import (
    NO_SETTLING,
    SessionError,
    add_settle_flags,
    load,
    max_steps,
    mutating,
    settling_from,
    store_from_env,
)
from kcore.component.requests import Patch, PatchType
from kcore.controllers import deployment_util as du
from kcore.controllers.podcontrol import controller_of
from kcore.driver.clock import DurationError, format_time, parse_duration
from kcore.driver.cluster import Cluster
from kcore.kubectl.rollback import rollback_request
from kcore.rollout_status import RolloutStatus, status_of
from kcore.state import ClusterState, get, list_objects
from kcore.store.file import StoreError

RESOURCE: Final = "deployment.apps"
PLURAL: Final = "deployments.apps"
RESTARTED_AT: Final = "kubectl.kubernetes.io/restartedAt"
"""The pod template annotation `rollout restart` sets (objectrestarter.go)."""
TIMED_OUT: Final = "timed out waiting for the condition"
"""What `rollout status` says when --timeout passes (wait.ErrWaitTimeout from UntilWithSync)."""
A_DAY: Final = 86400.0
"""`rollout status --timeout 0` (kubectl: never): a simulated day."""


class RolloutError(Exception):
    """A user-facing failure: printed as `error: <message>`, exit code 1."""


# --- pure helpers ---------------------------------------------------------------------------


def restart_patch(obj: ApiObject, now: Time) -> str:
    """The strategic merge patch kubectl's defaultObjectRestarter makes for `obj` at
    `now` (RolloutError for a paused Deployment, a kind it cannot restart, or a restart
    already asked for in this second)."""
    name = obj.metadata.name
    what = f'{qualified_resource(obj.KIND)} "{name}"'
    match obj:
        case Deployment() if obj.spec.paused:
            raise RolloutError(f"{what} can't restart paused deployment (run rollout resume first)")
        case Deployment() | DaemonSet() | StatefulSet():
            template = obj.spec.template
        case _:
            raise RolloutError(f"{what} restarting is not supported")
    stamp = format_time(now)
    if template.metadata.annotations.get(RESTARTED_AT) == stamp:
        raise RolloutError(
            f"failed to create patch for {name}: if restart has already been triggered within the past second, "
            "please wait before attempting to trigger another"
        )
    return json.dumps({"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}})


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
    return load(store_from_env())


def _any_target(args: argparse.Namespace) -> ObjectKey:
    """`TYPE/NAME` or `TYPE NAME`, of any kind the server serves."""
    text: str = args.target
    name: str = args.name or ""
    if "/" in text:
        if name:
            raise RolloutError("there is no need to specify a resource type as a separate argument when passing arguments in resource/name form")
        text, _, name = text.partition("/")
    if not name:
        raise RolloutError("required resource not specified")
    kind = kind_for_name(text)
    namespace = (args.namespace or "default") if kind.info.namespaced else ""
    return ObjectKey(kind=kind, namespace=namespace, name=name)


def _target(args: argparse.Namespace) -> ObjectKey:
    """`deployment/NAME` or `deployment NAME` (undo, history, pause, resume)."""
    key = _any_target(args)
    if key.kind is not Kind.DEPLOYMENT:
        raise RolloutError(f'no rollout support for {key.kind.info.plural} "{key.name}" in kcore (only deployments)')
    return key


def _object(cluster: Cluster, key: ObjectKey) -> ApiObject:
    obj = get(cluster.state, key)
    if obj is None:
        raise _ServerError(not_found(key))
    return obj


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
    with mutating(settling_from(args)) as cluster:
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


def _status_timeout(text: str) -> float:
    try:
        seconds = parse_duration(text)
    except DurationError as e:
        raise RolloutError(f"--timeout: {e}") from e
    return seconds if seconds > 0 else A_DAY


def watch_status(cluster: Cluster, key: ObjectKey, timeout: float) -> RolloutStatus:
    """Move the clock until the rollout of `key` is done, fails or `timeout` passes,
    printing each status message when it changes; returns the last status seen."""
    last = RolloutStatus(message="", done=False)

    def seen(state: ClusterState) -> bool:
        nonlocal last
        obj = get(state, key)
        # rollout_status.go: a Deleted event ends the watch (not to follow a new object)
        st = status_of(obj) if obj is not None else RolloutStatus(message="", done=True, error="object has been deleted")
        if st.message and st.message != last.message:
            print(st.message, end="", flush=True)
        last = st
        return st.done or bool(st.error)

    cluster.advance_until(seen, timeout, max_steps(cluster))
    return last


def cmd_status(args: argparse.Namespace) -> int:
    key = _any_target(args)
    timeout = _status_timeout(args.timeout)
    if not args.watch:
        st = status_of(_object(_load(), key))
        if st.error:
            raise RolloutError(st.error)
        print(st.message, end="")
        return 0
    with mutating(NO_SETTLING) as cluster:
        _object(cluster, key)
        st = watch_status(cluster, key, timeout)
    if st.error:
        raise RolloutError(st.error)
    if not st.done:
        raise RolloutError(TIMED_OUT)
    return 0


def cmd_restart(args: argparse.Namespace) -> int:
    key = _any_target(args)
    with mutating(settling_from(args)) as cluster:
        patch = restart_patch(_object(cluster, key), cluster.now)
        resp = cluster.request(Patch(key=key, patch_type=PatchType.STRATEGIC, patch=patch))
        if not resp.ok:
            why = resp.body.message if isinstance(resp.body, Status) else f"answer {resp.code}"
            raise RolloutError(f"failed to patch: {why}")
    print(f"{key.kind.info.resource}/{key.name} restarted")
    return 0


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
    with mutating(settling_from(args)) as cluster:
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
            print(server_error(e.status), file=sys.stderr)
        except (RolloutError, SessionError, UnknownKindError, StoreError) as e:
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
    """Add `rollout status|restart|undo|history|pause|resume` to the `kcore` parser's subcommands."""
    rollout = subparsers.add_parser("rollout", help="manage the rollout of a deployment, daemonset or statefulset")
    sub = rollout.add_subparsers(dest="rollout_command", metavar="ACTION")

    def target(p: argparse.ArgumentParser) -> None:
        p.add_argument("target", metavar="TYPE/NAME")
        p.add_argument("name", nargs="?", default="", metavar="NAME")
        p.add_argument("-n", "--namespace", default="", help="the namespace (default: default)")

    undo = sub.add_parser("undo", help="roll back to a previous revision")
    target(undo)
    undo.add_argument("--to-revision", type=int, default=0, help="the revision (default: the previous one)")
    add_settle_flags(undo)
    undo.set_defaults(func=_guarded(cmd_undo))

    status = sub.add_parser("status", help="show (and wait for, in simulated time) the rollout status")
    target(status)
    status.add_argument("-w", "--watch", type=_bool_flag, default=True, nargs="?", const=True)
    status.add_argument("--timeout", default="10m", help="simulated time to wait (default 10m; 0: a simulated day)")
    status.set_defaults(func=_guarded(cmd_status))

    restart = sub.add_parser("restart", help="restart the pods of a deployment, daemonset or statefulset (a new rollout)")
    target(restart)
    add_settle_flags(restart)
    restart.set_defaults(func=_guarded(cmd_restart))

    history = sub.add_parser("history", help="list the revisions of a deployment")
    target(history)
    history.add_argument("--revision", type=int, default=0, help="show the pod template of one revision")
    history.set_defaults(func=_guarded(cmd_history))

    pause = sub.add_parser("pause", help="stop a deployment's rollout from progressing")
    target(pause)
    add_settle_flags(pause)
    pause.set_defaults(func=_guarded(cmd_pause))

    resume = sub.add_parser("resume", help="let a paused deployment roll out again")
    target(resume)
    add_settle_flags(resume)
    resume.set_defaults(func=_guarded(cmd_resume))
