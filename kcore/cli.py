"""The `kcore` command: a local cluster driven with kubectl's habits.

Owns `main(argv) -> exit code` and the subcommands `cluster create|delete|info`,
`apply`, `get`, `delete`, `scale`, `advance`, `fault`, `cordon`, `uncordon` and `drain`
(`rollout` is `kcore.cli_rollout`, `wait` is `kcore.cli_wait`). Each command runs in a
`kcore.cli_session` session: it loads the cluster from `$KCORE_HOME` (default `./.kcore`,
see `kcore.store.file`), sends requests through the apiserver as the local admin identity
(`kcore.api.user.ADMIN`, a member of system:masters), and a command that writes
then settles (`Cluster.settle`: simulated time runs as far as the work it set in motion
needs; `--wait=false` opts out, `--timeout` bounds it) and stores the new values
atomically. `advance` moves the clock by exactly its duration. Reads (`get`, `cluster
info`) never write.

Output follows kubectl: `deployment.apps/web created`, `Error from server (NotFound):
pods "x" not found` on stderr with exit code 1, `No resources found in default
namespace.` on stderr, `Warning: unknown field "spec.foo"` on stderr.
`drain` cordons, filters the node's pods as kubectl's drain filters do (DaemonSet, mirror,
emptyDir, unmanaged; kubectl's error wording), evicts each through pods/eviction (a 429
from a disruption budget is retried every 5 s) and waits for them to go, all in simulated
time bounded by --timeout.
Mirrors k8s.io/kubectl/pkg/cmd (apply, get, delete, scale, drain) and
k8s.io/kubectl/pkg/drain (filters.go, drain.go, cordon.go) in the parts kcore serves.
"""

from __future__ import annotations

import argparse
import ipaddress
import sys
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Final

import attrs

from kcore.api.core import Node
from kcore.api.kinds import Kind, ObjectKey, UnknownKindError, kind_for_name
from kcore.api.manifest import Loaded, ManifestError, dump_json, dump_yaml, load_manifests
from kcore.api.meta import ApiObject, ObjectMeta, OwnerReference, Status
from kcore.api.pod import Pod, PodPhase
from kcore.cli_rollout import add_rollout_parser
from kcore.cli_session import (
    MANIFEST_SUFFIXES,
    NO_SETTLING,
    SessionError,
    add_settle_flags,
    go_duration,
    load,
    max_steps,
    mutating,
    require_cluster,
    settling_from,
    store_from_env,
)
from kcore.cli_wait import add_wait_parser
from kcore.component.requests import (
    Delete,
    Evict,
    Get,
    ListObjects,
    ObjectList,
    Response,
    Update,
    UpdateScale,
)
from kcore.driver import canonical_name, new_cluster
from kcore.driver.bootstrap import NodeShape
from kcore.driver.clock import DurationError, format_time, parse_duration
from kcore.driver.cluster import Applied, ApplyOutcome, Cluster
from kcore.driver.faults import (
    CrashComponent,
    CrashNode,
    FailImagePull,
    Fault,
    HealPartition,
    KillContainer,
    PartitionNode,
    PauseComponent,
    RestartNode,
    ResumeComponent,
)
from kcore.printers import table
from kcore.quantity import parse_quantity
from kcore.state import ClusterConfig, get, list_objects
from kcore.store.file import StoreError


class CliError(Exception):
    """A user-facing failure: printed as `error: <message>`, exit code 1."""


# --- shared helpers -------------------------------------------------------------------------


def _mutating(args: argparse.Namespace, *, timeout_flag: bool = True) -> AbstractContextManager[Cluster]:
    """The session of a command that writes: settle as its flags say (`kcore.cli_session`)."""
    return mutating(settling_from(args, timeout_flag=timeout_flag))


def resource_name(kind: Kind) -> str:
    """kubectl's `deployment.apps` / `pod`: the lowercase kind with its group."""
    return kind.info.resource


def _server_error(status: Status, context: str = "") -> str:
    reason = status.reason.value
    head = f"Error from server ({reason})" if reason else "Error from server"
    return f"{head}: {context}{status.message}"


def _status_of(resp: Response) -> Status | None:
    return resp.body if isinstance(resp.body, Status) else None


def _parse_kind_and_names(target: str, names: Sequence[str]) -> tuple[Kind, tuple[str, ...]]:
    if "/" in target:
        if names:
            raise CliError("there is no need to specify a resource type as a separate argument when passing arguments in resource/name form")
        kind_text, _, name = target.partition("/")
        if not name:
            raise CliError(f'arguments in resource/name form must have a single resource and name: "{target}"')
        return kind_for_name(kind_text), (name,)
    return kind_for_name(target), tuple(names)


def _namespace_for(kind: Kind, args: argparse.Namespace) -> str:
    return (args.namespace or "default") if kind.info.namespaced else ""


def _read_sources(paths: Sequence[str]) -> list[tuple[str, str]]:
    """(source name, text) of every manifest named by -f: files, directories, `-`."""
    out: list[tuple[str, str]] = []
    for p in paths:
        if p == "-":
            out.append(("STDIN", sys.stdin.read()))
            continue
        path = Path(p)
        if path.is_dir():
            files = sorted(f for f in path.iterdir() if f.suffix in MANIFEST_SUFFIXES and f.is_file())
        elif path.is_file():
            files = [path]
        else:
            raise CliError(f'the path "{p}" does not exist')
        for f in files:
            try:
                out.append((str(f), f.read_text(encoding="utf-8")))
            except (OSError, UnicodeDecodeError) as e:
                raise CliError(f'cannot read "{f}": {e}') from e
    return out


def _load_all(paths: Sequence[str]) -> list[Loaded]:
    loaded: list[Loaded] = []
    for source, text in _read_sources(paths):
        try:
            loaded.extend(load_manifests(text, source=source, defaults=False))
        except ManifestError as e:
            raise CliError(f"error parsing {source}: {e}") from e
    if not loaded:
        raise CliError("no objects passed to apply")
    return loaded


def _with_namespace(obj: ApiObject, args: argparse.Namespace) -> ApiObject:
    """The object in the namespace kubectl would use, or CliError on a mismatch."""
    meta = obj.metadata
    if not obj.KIND.info.namespaced:
        return obj if not meta.namespace else _set_meta(obj, attrs.evolve(meta, namespace=""))
    if not meta.namespace:
        return _set_meta(obj, attrs.evolve(meta, namespace=args.namespace or "default"))
    if args.namespace and args.namespace != meta.namespace:
        raise CliError(
            f'the namespace from the provided object "{meta.namespace}" does not match the namespace '
            f'"{args.namespace}". You must pass \'--namespace={meta.namespace}\' to perform this operation.'
        )
    return obj


def _set_meta(obj: ApiObject, meta: ObjectMeta) -> ApiObject:
    new: ApiObject = attrs.evolve(obj, metadata=meta)  # type: ignore[misc]  # every kind is an attrs class
    return new


# --- commands -------------------------------------------------------------------------------


def default_cluster_cidr(nodes: int) -> str:
    """10.244.0.0/16 (kind's pod network), or the smallest block around it that gives
    `nodes` nodes a /24 each (10.244.0.0/14 for 1,024, 10.240.0.0/12 for 4,096, ...)."""
    prefix = 16
    while (1 << (24 - prefix)) < nodes and prefix > 9:
        prefix -= 1
    return str(ipaddress.ip_network(f"10.244.0.0/{prefix}", strict=False))


def cmd_cluster_create(args: argparse.Namespace) -> int:
    store = store_from_env()
    if store.exists():
        raise CliError(f"a cluster already exists in {store.home}; run `kcore cluster delete` first")
    if args.nodes < 0:
        raise CliError(f"--nodes must be >= 0, got {args.nodes}")
    if args.pods < 1:
        raise CliError(f"--pods must be >= 1, got {args.pods}")
    for flag, text in (("--node-cpu", args.node_cpu), ("--node-memory", args.node_memory)):
        try:
            parse_quantity(text)
        except ValueError as e:
            raise CliError(f"{flag}: {e}") from e
    shape = NodeShape(cpu=args.node_cpu, memory=args.node_memory, pods=args.pods)
    cidr = args.cluster_cidr or default_cluster_cidr(args.nodes)
    try:
        cluster = new_cluster(
            ClusterConfig(seed=args.seed, cluster_cidr=cidr),
            nodes=args.nodes,
            shape=shape,
            throttled=args.client_limits == "upstream",
        )
    except ValueError as e:
        raise CliError(f"--cluster-cidr: {e}") from e
    with store.lock():
        store.save(cluster.snapshot())
    print(f"cluster created in {store.home} with {args.nodes} node{'s' if args.nodes != 1 else ''} (seed {args.seed})")
    return 0


def cmd_cluster_delete(args: argparse.Namespace) -> int:
    store = store_from_env()
    if not store.delete():
        raise CliError(f"no cluster in {store.home}")
    print(f"cluster deleted from {store.home}")
    return 0


def cmd_cluster_info(args: argparse.Namespace) -> int:
    store = store_from_env()
    cluster = load(store)
    nodes = cluster.request(ListObjects(kind=Kind.NODE))
    count = len(nodes.body.items) if isinstance(nodes.body, ObjectList) else 0
    snap = cluster.snapshot()
    print(f"kcore cluster in {store.home}")
    print(f"  time:     {format_time(snap.now)}")
    print(f"  seed:     {snap.seed}")
    print(f"  revision: {snap.state.revision}")
    print(f"  nodes:    {count}")
    return 0


def cmd_apply(args: argparse.Namespace) -> int:
    require_cluster()
    loaded = _load_all(args.filename)
    failed = False
    with _mutating(args) as cluster:
        for item in loaded:
            for w in item.warnings:
                print(f"Warning: {w}", file=sys.stderr)
            try:
                obj = _with_namespace(item.obj, args)
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
        text = _server_error(status, where) if status else f"error: {where}{message}"
        print(text, file=sys.stderr)
        return False
    print(f"{name} {result.outcome.value}")
    return True


def cmd_get(args: argparse.Namespace) -> int:
    if "," in args.kind and "/" not in args.kind:
        return _get_several(args)
    kind, names = _parse_kind_and_names(args.kind, args.names)
    cluster = load(store_from_env())
    if names and args.all_namespaces:
        raise CliError("a resource cannot be retrieved by name across all namespaces")
    ns = _namespace_for(kind, args)
    objs: list[ApiObject] = []
    failed = False
    for name in names:
        resp = cluster.request(Get(key=ObjectKey(kind=kind, namespace=ns, name=name)))
        status = _status_of(resp)
        if status is not None:
            print(_server_error(status), file=sys.stderr)
            failed = True
        elif not isinstance(resp.body, ObjectList | type(None)):
            objs.append(resp.body)  # type: ignore[arg-type]  # a Get answers the object
    if not names:
        scope = None if args.all_namespaces or not kind.info.namespaced else ns
        resp = cluster.request(
            ListObjects(kind=kind, namespace=scope, label_selector=args.selector, field_selector=args.field_selector)
        )
        status = _status_of(resp)
        if status is not None:
            print(_server_error(status), file=sys.stderr)
            return 1
        assert isinstance(resp.body, ObjectList)
        objs = list(resp.body.items)
        if not objs and args.output in ("", "wide"):
            where = f" in {ns} namespace" if scope else ""
            print(f"No resources found{where}.", file=sys.stderr)
            return 0
    if objs or not names:
        _print_objects(objs, kind, cluster, args, single=len(names) == 1)
    return 1 if failed else 0


def _get_several(args: argparse.Namespace) -> int:
    """`kcore get deploy,rs,po`: each kind's table (names prefixed `kind/`), or one List."""
    if args.names:
        raise CliError("there is no need to specify a resource type as a separate argument when passing arguments in resource/name form")
    kinds = []
    for part in args.kind.split(","):
        try:
            kinds.append(kind_for_name(part.strip()))
        except UnknownKindError as e:
            raise CliError(f'the server doesn\'t have a resource type "{part.strip()}"') from e
    cluster = load(store_from_env())
    found: list[tuple[Kind, list[ApiObject]]] = []
    for kind in kinds:
        ns = _namespace_for(kind, args)
        scope = None if args.all_namespaces or not kind.info.namespaced else ns
        resp = cluster.request(
            ListObjects(kind=kind, namespace=scope, label_selector=args.selector, field_selector=args.field_selector)
        )
        status = _status_of(resp)
        if status is not None:
            print(_server_error(status), file=sys.stderr)
            return 1
        assert isinstance(resp.body, ObjectList)
        if resp.body.items:
            found.append((kind, list(resp.body.items)))
    if not found and args.output in ("", "wide"):
        ns = _namespace_for(kinds[0], args)
        where = "" if args.all_namespaces else f" in {ns} namespace"
        print(f"No resources found{where}.", file=sys.stderr)
        return 0
    if args.output in ("json", "yaml", "name"):
        everything = [o for _, objs in found for o in objs]
        if args.output == "name":
            for kind, objs in found:
                for o in objs:
                    print(f"{resource_name(kind)}/{o.metadata.name}")
        else:
            sys.stdout.write(dump_json(everything) if args.output == "json" else dump_yaml(everything))
        return 0
    tables = [
        table(
            objs,
            kind,
            cluster.now,
            wide=args.output == "wide",
            all_namespaces=bool(args.all_namespaces),
            name_prefix=f"{resource_name(kind)}/",
        )
        for kind, objs in found
    ]
    sys.stdout.write("\n".join(tables))
    return 0


def _print_objects(
    objs: Sequence[ApiObject], kind: Kind, cluster: Cluster, args: argparse.Namespace, *, single: bool
) -> None:
    """`objs` as `-o` asks: one object or a `List` (an empty one too) in json/yaml, one
    `kind/name` per line, or the table (never called with no objects for a table)."""
    out = args.output
    if out == "json":
        sys.stdout.write(dump_json(objs[0] if single else objs))
    elif out == "yaml":
        sys.stdout.write(dump_yaml(objs[0] if single else objs))
    elif out == "name":
        for o in objs:
            print(f"{resource_name(kind)}/{o.metadata.name}")
    else:
        sys.stdout.write(
            table(objs, kind, cluster.now, wide=out == "wide", all_namespaces=bool(args.all_namespaces))
        )


def cmd_delete(args: argparse.Namespace) -> int:
    require_cluster()
    if args.filename:
        if args.kind:
            raise CliError("specify resources by -f or by KIND NAME, not both")
        keys = []
        for item in _load_all(args.filename):
            obj = _with_namespace(item.obj, args)
            keys.append(ObjectKey(kind=obj.KIND, namespace=obj.metadata.namespace, name=obj.metadata.name))
    else:
        if not args.kind:
            raise CliError("you must provide one or more resources by argument or filename")
        kind, names = _parse_kind_and_names(args.kind, args.names)
        if not names:
            raise CliError("resource(s) were provided, but no name was specified")
        keys = [ObjectKey(kind=kind, namespace=_namespace_for(kind, args), name=n) for n in names]
    failed = False
    with _mutating(args) as cluster:
        for key in keys:
            resp = cluster.request(Delete(key=key))
            status = _status_of(resp)
            if status is not None and not resp.ok:
                print(_server_error(status), file=sys.stderr)
                failed = True
            else:
                print(f'{resource_name(key.kind)} "{key.name}" deleted')
    return 1 if failed else 0


def cmd_scale(args: argparse.Namespace) -> int:
    kind, names = _parse_kind_and_names(args.kind, args.names)
    if not names:
        raise CliError("resource(s) were provided, but no name was specified")
    if args.replicas < 0:
        raise CliError("The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0")
    if not kind.info.has_scale:
        raise CliError(f'the server could not find the requested resource: {kind.info.plural} have no scale subresource')
    failed = False
    with _mutating(args) as cluster:
        for name in names:
            key = ObjectKey(kind=kind, namespace=_namespace_for(kind, args), name=name)
            resp = cluster.request(UpdateScale(key=key, replicas=args.replicas))
            status = _status_of(resp)
            if status is not None and not resp.ok:
                print(_server_error(status), file=sys.stderr)
                failed = True
            else:
                print(f"{resource_name(kind)}/{name} scaled")
    return 1 if failed else 0


def cmd_advance(args: argparse.Namespace) -> int:
    try:
        seconds = parse_duration(args.duration)
    except DurationError as e:
        raise CliError(str(e)) from e
    with mutating(NO_SETTLING) as cluster:
        if not cluster.advance(seconds, max_steps(cluster)):
            print(f"Warning: the cluster did not settle within {max_steps(cluster)} steps", file=sys.stderr)
        print(f"advanced {args.duration}: now {format_time(cluster.now)}")
    return 0


# --- faults --------------------------------------------------------------------------------

FAULT_HELP: Final = """crash-node NODE | restart-node NODE | partition NODE | heal NODE |
kill-container POD -c CONTAINER [-n NS] [--oom] | fail-image-pull NODE IMAGE [--count N] |
pause COMPONENT | resume COMPONENT | crash COMPONENT"""


def _fault_from_args(args: argparse.Namespace, cluster: Cluster) -> Fault:
    what, target = args.fault, args.target
    nodes = {n.metadata.name for n in list_objects(cluster.state, Kind.NODE)}
    names = {c.name for c in cluster.components}
    node_faults: dict[str, type[CrashNode | RestartNode | PartitionNode | HealPartition]] = {
        "crash-node": CrashNode,
        "restart-node": RestartNode,
        "partition": PartitionNode,
        "heal": HealPartition,
    }
    if what in node_faults or what == "fail-image-pull":
        if target not in nodes:
            raise CliError(f'nodes "{target}" not found')
        if what == "fail-image-pull":
            if not args.image:
                raise CliError("fail-image-pull needs NODE IMAGE")
            return FailImagePull(node=target, image=args.image, count=args.count)
        return node_faults[what](node=target)
    if what in ("pause", "resume", "crash"):
        target = canonical_name(target)
        if target not in names:
            raise CliError(f'component "{target}" not found; components: {", ".join(sorted(names))}')
        if what == "pause":
            return PauseComponent(name=target)
        return ResumeComponent(name=target) if what == "resume" else CrashComponent(name=target)
    if what == "kill-container":
        pod = get(cluster.state, ObjectKey(kind=Kind.POD, namespace=args.namespace, name=target))
        if not isinstance(pod, Pod):
            raise CliError(f'pods "{target}" not found')
        if not pod.spec.node_name:
            raise CliError(f'pod "{target}" is not running on a node')
        container = args.container or (pod.spec.containers[0].name if pod.spec.containers else "")
        if container not in {c.name for c in (*pod.spec.init_containers, *pod.spec.containers)}:
            raise CliError(f'container "{container}" not found in pod "{target}"')
        key = ObjectKey(kind=Kind.POD, namespace=args.namespace, name=target)
        return KillContainer(node=pod.spec.node_name, pod=key, container=container, oom=args.oom)
    raise CliError(f"unknown fault {what!r}; one of: {FAULT_HELP}")


def cmd_fault(args: argparse.Namespace) -> int:
    """Inject one fault now (the driver's fault model), then settle."""
    with _mutating(args) as cluster:
        fault = _fault_from_args(args, cluster)
        cluster.inject(fault)
        print(f"injected {type(fault).__name__}: {args.target}")
    return 0


# --- cordon, uncordon, drain ------------------------------------------------------------------

DAEMON_SET_FATAL: Final = "DaemonSet-managed Pods (use --ignore-daemonsets to ignore)"
DAEMON_SET_WARNING: Final = "ignoring DaemonSet-managed Pods"
LOCAL_STORAGE_FATAL: Final = "Pods with local storage (use --delete-emptydir-data to override)"
LOCAL_STORAGE_WARNING: Final = "deleting Pods with local storage"
UNMANAGED_FATAL: Final = "cannot delete Pods that declare no controller (use --force to override)"
UNMANAGED_WARNING: Final = "deleting Pods that declare no controller"
MIRROR_ANNOTATION: Final = "kubernetes.io/config.mirror"
EVICTION_RETRY_SECONDS: Final = 5.0
DRAIN_POLL_SECONDS: Final = 1.0
UNBOUNDED_DRAIN_SECONDS: Final = 86_400.0
"""--timeout=0 means "no limit" to kubectl; kcore stops waiting after a simulated day."""


def _node_key(name: str) -> ObjectKey:
    return ObjectKey(kind=Kind.NODE, namespace="", name=name)


def _cordon(cluster: Cluster, name: str, desired: bool) -> bool:
    """Set spec.unschedulable; print kubectl's `node/x cordoned` (or `already cordoned`)."""
    verb = "cordoned" if desired else "uncordoned"
    for _ in range(5):  # a 409 means someone wrote the Node in between: read it again
        got = cluster.request(Get(key=_node_key(name)))
        node = got.body
        if not isinstance(node, Node):
            status = _status_of(got)
            print(_server_error(status) if status else f"error: node {name!r}: unexpected answer", file=sys.stderr)
            return False
        if node.spec.unschedulable == desired:
            print(f"node/{name} already {verb}")
            return True
        resp = cluster.request(Update(obj=attrs.evolve(node, spec=attrs.evolve(node.spec, unschedulable=desired))))
        if resp.ok:
            print(f"node/{name} {verb}")
            return True
        status = _status_of(resp)
        if resp.code != 409:
            print(_server_error(status) if status else f"error: node {name!r}: unexpected answer", file=sys.stderr)
            return False
    print(f"error: node {name!r} kept changing; try again", file=sys.stderr)
    return False


def cmd_cordon(args: argparse.Namespace) -> int:
    with _mutating(args) as cluster:
        return 0 if _cordon(cluster, args.node, True) else 1


def cmd_uncordon(args: argparse.Namespace) -> int:
    with _mutating(args) as cluster:
        return 0 if _cordon(cluster, args.node, False) else 1


@attrs.frozen(kw_only=True)
class PodDeleteStatus:
    """drain's PodDeleteStatus: whether to evict, and a Warning or Error message."""

    delete: bool
    reason: str = "Okay"  # Okay | Skip | Warning | Error
    message: str = ""


def _controller_of(pod: Pod) -> OwnerReference | None:
    return next((o for o in pod.metadata.owner_references if o.controller), None)


def _finished(pod: Pod) -> bool:
    return pod.status.phase in (PodPhase.SUCCEEDED, PodPhase.FAILED)


def drain_filter(cluster: Cluster, pod: Pod, args: argparse.Namespace) -> PodDeleteStatus:
    """kubectl's filters in order (daemonSet, mirror, localStorage, unreplicated); the
    first that keeps the pod decides, else the last one's warning stands."""
    status = PodDeleteStatus(delete=True)
    ref = _controller_of(pod)
    if ref is not None and ref.kind == Kind.DAEMON_SET.value and not _finished(pod):
        got = cluster.request(Get(key=ObjectKey(kind=Kind.DAEMON_SET, namespace=pod.metadata.namespace, name=ref.name)))
        gone = _status_of(got)
        if gone is not None:
            if got.code == 404 and args.force:
                status = PodDeleteStatus(delete=True, reason="Warning", message=gone.message)
            else:
                return PodDeleteStatus(delete=False, reason="Error", message=gone.message)
        elif not args.ignore_daemonsets:
            return PodDeleteStatus(delete=False, reason="Error", message=DAEMON_SET_FATAL)
        else:
            return PodDeleteStatus(delete=False, reason="Warning", message=DAEMON_SET_WARNING)
    if MIRROR_ANNOTATION in pod.metadata.annotations:
        return PodDeleteStatus(delete=False, reason="Skip")
    if any(v.empty_dir is not None for v in pod.spec.volumes) and not _finished(pod):
        if not args.delete_emptydir_data:
            return PodDeleteStatus(delete=False, reason="Error", message=LOCAL_STORAGE_FATAL)
        status = PodDeleteStatus(delete=True, reason="Warning", message=LOCAL_STORAGE_WARNING)
    if not _finished(pod) and ref is None:
        if not args.force:
            return PodDeleteStatus(delete=False, reason="Error", message=UNMANAGED_FATAL)
        status = PodDeleteStatus(delete=True, reason="Warning", message=UNMANAGED_WARNING)
    return status


def _pods_for_deletion(cluster: Cluster, node: str, args: argparse.Namespace) -> tuple[list[Pod], list[str], list[str]]:
    """GetPodsForDeletion: (pods to evict, warning lines, error lines)."""
    resp = cluster.request(ListObjects(kind=Kind.POD, field_selector=f"spec.nodeName={node}"))
    if not isinstance(resp.body, ObjectList):
        status = _status_of(resp)
        return [], [], [status.message if status else "cannot list pods"]
    pods: list[Pod] = []
    warned: dict[str, list[str]] = {}
    failed: dict[str, list[str]] = {}
    for pod in resp.body.items:
        if not isinstance(pod, Pod):
            continue
        st = drain_filter(cluster, pod, args)
        name = f"{pod.metadata.namespace}/{pod.metadata.name}"
        if st.delete:
            pods.append(pod)
        if st.reason == "Warning":
            warned.setdefault(st.message, []).append(name)
        elif st.reason == "Error":
            failed.setdefault(st.message, []).append(name)
    warnings = [f"{msg}: {', '.join(names)}" for msg, names in warned.items()]
    errors = [
        f"{msg}: {', '.join(names)}" if msg.lower().startswith("cannot delete") else f"cannot delete {msg}: {', '.join(names)}"
        for msg, names in failed.items()
    ]
    return pods, warnings, errors


def _aggregate(errors: Sequence[str]) -> str:
    """utilerrors.Aggregate.Error(): one message as is, several in brackets."""
    return errors[0] if len(errors) == 1 else f"[{', '.join(errors)}]"


def _evict_all(cluster: Cluster, pods: Sequence[Pod], args: argparse.Namespace, timeout: float) -> list[str]:
    """Evict every pod (a 429 is retried after 5 s) and wait for each to go, in simulated
    time, until `timeout`; the error lines of the pods that did not make it."""
    grace = args.grace_period if args.grace_period >= 0 else None
    deadline = cluster.now + timeout
    to_evict: dict[ObjectKey, tuple[Pod, float]] = {}
    for p in pods:
        to_evict[ObjectKey(kind=Kind.POD, namespace=p.metadata.namespace, name=p.metadata.name)] = (p, cluster.now)
    waiting: dict[ObjectKey, Pod] = {}
    errors: list[str] = []
    while to_evict or waiting:
        for key in [k for k, (_, due) in to_evict.items() if due <= cluster.now]:
            pod, _ = to_evict.pop(key)
            print(f"evicting pod {key.namespace}/{key.name}")
            resp = cluster.request(Evict(key=key, grace_period_seconds=grace))
            status = _status_of(resp)
            if resp.ok:
                waiting[key] = pod
            elif resp.code == 404:
                continue
            elif resp.code == 429:
                msg = status.message if status else "Too Many Requests"
                print(f'error when evicting pods/"{key.name}" -n "{key.namespace}" (will retry after 5s): {msg}', file=sys.stderr)
                to_evict[key] = (pod, cluster.now + EVICTION_RETRY_SECONDS)
            else:
                msg = status.message if status else f"unexpected answer {resp.code}"
                errors.append(f'error when evicting pods/"{key.name}" -n "{key.namespace}": {msg}')
        cluster.run_until_stable(max_steps(cluster))
        for key, pod in list(waiting.items()):
            now_there = cluster.request(Get(key=key)).body
            if not isinstance(now_there, Pod) or now_there.metadata.uid != pod.metadata.uid:
                del waiting[key]
                print(f"pod/{key.name} evicted")
        if not to_evict and not waiting:
            break
        if cluster.now >= deadline:
            limit = go_duration(timeout)
            errors += [f'error when evicting pods/"{k.name}" -n "{k.namespace}": global timeout reached: {limit}' for k in to_evict]
            errors += [
                f'error when waiting for pod "{k.name}" in namespace "{k.namespace}" to terminate: global timeout reached: {limit}'
                for k in waiting
            ]
            break
        cluster.advance(min(DRAIN_POLL_SECONDS, deadline - cluster.now), max_steps(cluster))
    return errors


def cmd_drain(args: argparse.Namespace) -> int:
    try:
        timeout = parse_duration(args.timeout) if args.timeout else 0.0
    except DurationError as e:
        raise CliError(str(e)) from e
    node = args.node
    with _mutating(args, timeout_flag=False) as cluster:
        if not _cordon(cluster, node, True):
            return 1
        pods, warnings, errors = _pods_for_deletion(cluster, node, args)
        if not errors:
            if warnings:
                print(f"Warning: {'; '.join(warnings)}", file=sys.stderr)
            failed = _evict_all(cluster, pods, args, timeout or UNBOUNDED_DRAIN_SECONDS)
            if not failed:
                print(f"node/{node} drained")
                return 0
            pending, _, _ = _pods_for_deletion(cluster, node, args)
            if pending:
                print(f'There are pending pods in node "{node}" when an error occurred: {_aggregate(failed)}', file=sys.stderr)
                for p in pending:
                    print(f"pod/{p.metadata.name}", file=sys.stderr)
            errors = failed
        print(f'error: unable to drain node "{node}" due to error: {_aggregate(errors)}, continuing command...', file=sys.stderr)
        print("There are pending nodes to be drained:", file=sys.stderr)
        print(f" {node}", file=sys.stderr)
        if len(errors) == 1:
            print(f"error: {errors[0]}", file=sys.stderr)
        else:
            for line in errors:
                print(line, file=sys.stderr)
        return 1


# --- argument parsing ------------------------------------------------------------------------


def _ns_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("-n", "--namespace", default="", help="the namespace (default: default)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kcore", description="A deterministic Kubernetes control plane, kubectl-style.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    cluster = sub.add_parser("cluster", help="create, inspect or delete the local cluster")
    csub = cluster.add_subparsers(dest="cluster_command", metavar="ACTION")
    create = csub.add_parser("create", help="create a cluster in $KCORE_HOME")
    create.add_argument("--nodes", type=int, default=1)
    create.add_argument("--node-cpu", default="4")
    create.add_argument("--node-memory", default="16Gi")
    create.add_argument("--pods", type=int, default=110)
    create.add_argument("--seed", type=int, default=0)
    create.add_argument(
        "--cluster-cidr",
        default="",
        help="pod network, a /24 per node (default 10.244.0.0/16, widened for more than 256 nodes)",
    )
    create.add_argument(
        "--client-limits",
        choices=("none", "upstream"),
        default="none",
        help="components' apiserver client rate limits: none (every request at once, the default) or "
        "upstream (controllers 20 QPS burst 30, scheduler and kubelets 50/100: simulated time passes as upstream's)",
    )
    create.set_defaults(func=cmd_cluster_create)
    csub.add_parser("delete", help="delete the cluster in $KCORE_HOME").set_defaults(func=cmd_cluster_delete)
    csub.add_parser("info", help="show the cluster's clock, seed and size").set_defaults(func=cmd_cluster_info)

    apply = sub.add_parser("apply", help="create or update objects from manifests")
    apply.add_argument("-f", "--filename", action="append", required=True, help="file, directory or - (repeatable)")
    _ns_flags(apply)
    add_settle_flags(apply)
    apply.set_defaults(func=cmd_apply)

    get = sub.add_parser("get", help="list or show objects")
    get.add_argument("kind", metavar="KIND[/NAME]")
    get.add_argument("names", nargs="*", metavar="NAME")
    _ns_flags(get)
    get.add_argument("-A", "--all-namespaces", action="store_true")
    get.add_argument("-l", "--selector", default="")
    get.add_argument("--field-selector", default="")
    get.add_argument("-o", "--output", choices=("json", "yaml", "wide", "name"), default="")
    get.set_defaults(func=cmd_get)

    delete = sub.add_parser("delete", help="delete objects by name or manifest")
    delete.add_argument("kind", nargs="?", default="", metavar="KIND[/NAME]")
    delete.add_argument("names", nargs="*", metavar="NAME")
    delete.add_argument("-f", "--filename", action="append", default=[])
    _ns_flags(delete)
    add_settle_flags(delete)
    delete.set_defaults(func=cmd_delete)

    scale = sub.add_parser("scale", help="set the replicas of a scalable object")
    scale.add_argument("kind", metavar="KIND[/NAME]")
    scale.add_argument("names", nargs="*", metavar="NAME")
    scale.add_argument("--replicas", type=int, required=True)
    _ns_flags(scale)
    add_settle_flags(scale)
    scale.set_defaults(func=cmd_scale)

    add_rollout_parser(sub)
    add_wait_parser(sub)

    fault = sub.add_parser("fault", help="inject a fault: " + FAULT_HELP)
    fault.add_argument(
        "fault",
        choices=[
            "crash-node", "restart-node", "partition", "heal", "kill-container",
            "fail-image-pull", "pause", "resume", "crash",
        ],
    )
    fault.add_argument("target", help="a node, a pod (kill-container) or a component name")
    fault.add_argument("image", nargs="?", default="", help="fail-image-pull: the image")
    fault.add_argument("-c", "--container", default="")
    fault.add_argument("-n", "--namespace", default="default")
    fault.add_argument("--oom", action="store_true", help="kill-container: as the OOM killer")
    fault.add_argument("--count", type=int, default=1, help="fail-image-pull: how many pulls fail")
    add_settle_flags(fault)
    fault.set_defaults(func=cmd_fault)

    cordon = sub.add_parser("cordon", help="mark a node unschedulable")
    cordon.add_argument("node", metavar="NODE")
    add_settle_flags(cordon)
    cordon.set_defaults(func=cmd_cordon)
    uncordon = sub.add_parser("uncordon", help="mark a node schedulable again")
    uncordon.add_argument("node", metavar="NODE")
    add_settle_flags(uncordon)
    uncordon.set_defaults(func=cmd_uncordon)
    drain = sub.add_parser("drain", help="cordon a node and evict its pods (eviction API)")
    drain.add_argument("node", metavar="NODE")
    drain.add_argument("--ignore-daemonsets", action="store_true", help="ignore DaemonSet-managed pods")
    drain.add_argument("--delete-emptydir-data", action="store_true", help="evict pods using emptyDir too")
    drain.add_argument("--force", action="store_true", help="evict pods that declare no controller too")
    drain.add_argument("--grace-period", type=int, default=-1, help="seconds for each pod to stop (-1: its own)")
    drain.add_argument("--timeout", default="0s", help="give up after this simulated time (0s: a simulated day)")
    add_settle_flags(drain, timeout=False)
    drain.set_defaults(func=cmd_drain)

    advance = sub.add_parser("advance", help="move the simulated clock (90s, 10m, 1h30m) and reconcile")
    advance.add_argument("duration")
    advance.set_defaults(func=cmd_advance)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one `kcore` command; returns the process exit code."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse reports usage errors by exiting
        return e.code if isinstance(e.code, int) else 2
    func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr if args.command is None else sys.stdout)
        return 1 if args.command is None else 2
    try:
        return func(args)
    except (CliError, SessionError, UnknownKindError, StoreError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
