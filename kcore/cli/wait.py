"""`kcore wait`: kubectl's wait, in simulated time.

Owns `add_wait_parser(subparsers)` (the `wait` subcommand, hooked into the `kcore` parser
by `kcore.cli.main`), `cmd_wait`, and the pure pieces it runs on: `parse_for` (kubectl's
conditionFuncFor: `condition=NAME[=VALUE]`, `delete`, `create`), `parse_timeout`,
`targets_from` (the resource builder's ResourceTypeOrNameArgs: `TYPE/NAME...`,
`TYPE NAME...`, `TYPE -l SELECTOR`, `TYPE --all`), `condition_met`
(ConditionalWait.checkCondition, read from the object's JSON as kubectl reads it) and
`error_text` (how cmdutil.CheckErr prints what failed).

Rules: bad flags and arguments fail before the cluster is loaded, so nothing is stored.
Otherwise wait loads the cluster under the store's lock and visits the objects in order
as kubectl does: a name is read when its turn comes, a selector is listed when its turn
comes. For each object it moves the simulated clock on with `Cluster.advance_until`
until the condition holds or the one overall `--timeout` (default 30s, as kubectl's) has
passed, so an object after one that timed out is checked once, at the deadline. The
cluster is stored with the clock where waiting left it, timed out or not; wait never
settles further (`mutating(NO_SETTLING)`). A condition is met by the first status
condition whose type equals NAME case-insensitively, once its (or the status')
observedGeneration has caught up with metadata.generation, when its status equals VALUE
(default True) case-insensitively. `--for=delete` is met when the object is gone or
replaced by one with another uid; an object already missing is met (a named one prints
nothing). `--timeout=0` checks once; a negative timeout waits a simulated week.

Output follows kubectl v1.32: `deployment.apps/web condition met` per object on stdout
as each is met; on stderr `error: timed out waiting for the condition on
deployments/web`, `Error from server (NotFound): deployments.apps "web" not found`,
`error: condition not met for pods/x` (timeout 0), `error: no matching resources found`;
several errors print one a line without the `error: ` prefix, as CheckErr prints an
aggregate. Exit code 1 on any error. kubectl polls `--for=create` every 0.5 s; here it
ends at the instant the last object appears. `--for=jsonpath=` is not served.

Mirrors k8s.io/kubectl/pkg/cmd/wait (wait.go, condition.go, delete.go) and the parts of
k8s.io/cli-runtime/pkg/resource/builder.go that turn arguments into objects.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Final, assert_never

import attrs

from kcore.api.codec import JSONValue, to_dict
from kcore.api.kinds import Kind, ObjectKey, kind_for_name
from kcore.api.meta import ApiObject, Status, Time
from kcore.apiserver.errors import not_found
from kcore.cli.session import NO_SETTLING, SessionError, max_steps, mutating
from kcore.component.requests import ListObjects, ObjectList
from kcore.driver.clock import DurationError, parse_duration
from kcore.driver.cluster import Cluster
from kcore.state import ClusterState, get

DEFAULT_TIMEOUT: Final = "30s"
"""kubectl wait's default --timeout."""

A_WEEK: Final = 168 * 3600.0
"""What a negative --timeout means (wait.go: "negative means wait for a week")."""

TIMED_OUT: Final = "timed out waiting for the condition"
"""k8s.io/apimachinery/pkg/util/wait.ErrWaitTimeout."""

NO_TYPE_NEEDED: Final = (
    "there is no need to specify a resource type as a separate argument when passing arguments "
    "in resource/name form (e.g. 'kcore get resource/<resource_name>' instead of "
    "'kcore get resource resource/<resource_name>'"
)
MISSING_RESOURCE: Final = (
    "You must provide one or more resources by argument.\n"
    "Example resource specifications include:\n"
    "   '<resource>/<name>'\n"
    "   '<resource> <name>'\n"
    "   '<resource> -l <selector>'"
)


# --- what to wait for ------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ForCondition:
    """`--for=condition=NAME[=VALUE]`: a status condition; VALUE defaults to true."""

    name: str
    value: str = "true"


@attrs.frozen(kw_only=True)
class ForDelete:
    """`--for=delete`."""


@attrs.frozen(kw_only=True)
class ForCreate:
    """`--for=create`."""


WaitFor = ForCondition | ForDelete | ForCreate


def parse_for(text: str) -> WaitFor:
    """kubectl's conditionFuncFor (SessionError for what it does not recognise)."""
    low = text.lower()
    if low == "delete":
        return ForDelete()
    if low == "create":
        return ForCreate()
    if text.startswith("condition="):
        name, eq, value = text.removeprefix("condition=").partition("=")
        return ForCondition(name=name, value=value) if eq else ForCondition(name=name)
    if text.startswith("jsonpath="):
        raise SessionError("--for=jsonpath is not served by kcore: use condition=NAME[=VALUE], delete or create")
    raise SessionError(f"unrecognized condition: {json.dumps(text)}")


def parse_timeout(text: str) -> float:
    """Seconds for `--timeout` as kubectl reads it: `0` checks once, negative is a week."""
    body = text.strip()
    if body.lstrip("+-") == "0":
        return 0.0
    negative = body.startswith("-")
    try:
        seconds = parse_duration(body[1:] if negative else body)
    except DurationError as e:
        raise SessionError(f"--timeout: {e}") from e
    return A_WEEK if negative and seconds > 0 else seconds


def _fields(obj: ApiObject) -> tuple[dict[str, JSONValue], dict[str, JSONValue]]:
    data = to_dict(obj)
    meta, status = data.get("metadata"), data.get("status")
    return (meta if isinstance(meta, dict) else {}), (status if isinstance(status, dict) else {})


def _int(value: JSONValue) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def condition_met(obj: ApiObject, want: ForCondition) -> bool:
    """ConditionalWait.checkCondition: the first condition of type `want.name` decides,
    unless its observedGeneration (or the status') is behind metadata.generation."""
    meta, status = _fields(obj)
    conditions = status.get("conditions")
    for cond in conditions if isinstance(conditions, list) else ():
        if not isinstance(cond, dict):
            continue
        kind, value = cond.get("type"), cond.get("status")
        if not isinstance(kind, str) or kind.lower() != want.name.lower() or not isinstance(value, str):
            continue
        generation = _int(meta.get("generation", None))
        observed = _int(cond.get("observedGeneration", None))
        if observed is None:
            observed = _int(status.get("observedGeneration", None))
        if generation is not None and observed is not None and observed < generation:
            return False
        return value.lower() == want.value.lower()
    return False


# --- which objects ---------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ByName:
    """One object named on the command line (read when its turn comes)."""

    key: ObjectKey


@attrs.frozen(kw_only=True)
class BySelector:
    """Every object of one kind a selector matches (listed when its turn comes);
    `namespace` None lists all namespaces."""

    kind: Kind
    namespace: str | None
    labels: str = ""
    fields: str = ""


Target = ByName | BySelector


@attrs.frozen(kw_only=True)
class Scope:
    """The flags that say where to look: `-n`, `-A`, `-l`, `--field-selector`, `--all`."""

    namespace: str = "default"
    all_namespaces: bool = False
    labels: str = ""
    fields: str = ""
    select_all: bool = False

    @property
    def selects(self) -> bool:
        return bool(self.labels.strip() or self.fields.strip() or self.select_all)


def _by_name(kind: Kind, name: str, scope: Scope) -> ByName:
    if kind.info.namespaced and scope.all_namespaces:
        raise SessionError("a resource cannot be retrieved by name across all namespaces")
    return ByName(key=ObjectKey(kind=kind, namespace=scope.namespace if kind.info.namespaced else "", name=name))


def _tuples(words: Sequence[str], scope: Scope) -> tuple[Target, ...]:
    if any("/" not in w for w in words):
        raise SessionError(NO_TYPE_NEEDED)
    if scope.selects:
        raise SessionError("selectors and the all flag cannot be used when passing resource/name arguments")
    out: list[Target] = []
    for word in words:
        parts = word.split("/")
        if len(parts) != 2:
            raise SessionError("arguments in resource/name form may not have more than one slash")
        kind_text, name = parts
        if not kind_text or not name or "," in kind_text:
            raise SessionError("arguments in resource/name form must have a single resource and name")
        out.append(_by_name(kind_for_name(kind_text), name, scope))
    return tuple(out)


def targets_from(words: Sequence[str], scope: Scope) -> tuple[Target, ...]:
    """The objects `words` and `scope` name, in kubectl's order (the builder's rules and
    error messages; UnknownKindError for a type the server does not serve)."""
    if any("/" in w for w in words):
        return _tuples(words, scope)
    if not words:
        raise SessionError(MISSING_RESOURCE)
    kinds = [kind_for_name(part) for part in words[0].split(",") if part]
    names = words[1:]
    if scope.selects:
        if names:
            raise SessionError("name cannot be provided when a selector is specified")
        return tuple(
            BySelector(
                kind=kind,
                namespace=None if scope.all_namespaces or not kind.info.namespaced else scope.namespace,
                labels=scope.labels,
                fields=scope.fields,
            )
            for kind in kinds
        )
    if not names:
        raise SessionError("resource(s) were provided, but no name was specified")
    if len(kinds) != 1:
        raise SessionError("you must specify only one resource")
    return tuple(_by_name(kinds[0], name, scope) for name in names)


# --- what failed -----------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Failure:
    """One error of a run, as kubectl's messageForError renders it; `from_server` when
    it is the apiserver's Status (`Error from server (NotFound): ...`)."""

    message: str
    from_server: bool = False


def server_failure(status: Status) -> Failure:
    """StandardErrorMessage of an API Status."""
    reason = status.reason.value
    head = f"Error from server ({reason})" if reason else "Error from server"
    return Failure(message=f"{head}: {status.message}", from_server=True)


def error_text(failures: Sequence[Failure]) -> str:
    """cmdutil.CheckErr: one error as `error: ...` (a server's as it is), several one a line."""
    if len(failures) == 1 and not failures[0].from_server:
        return f"error: {failures[0].message}\n"
    return "".join(f"{f.message}\n" for f in failures)


def _object_name(key: ObjectKey) -> str:
    """resource.Info.ObjectName: the plural resource, no group (`deployments/web`)."""
    return f"{key.kind.info.plural}/{key.name}"


# --- waiting ---------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class _Wait:
    want: WaitFor
    timeout: float
    deadline: Time

    def left(self, cluster: Cluster) -> float:
        return max(0.0, self.deadline - cluster.now)


def _until(cluster: Cluster, w: _Wait, key: ObjectKey, done: Callable[[ClusterState], bool]) -> Failure | None:
    """Advance until `done`; a timeout 0 checks once, as kubectl does."""
    if w.timeout == 0:
        return None if done(cluster.state) else Failure(message=f"condition not met for {_object_name(key)}")
    if cluster.advance_until(done, w.left(cluster), max_steps(cluster)):
        return None
    return Failure(message=f"{TIMED_OUT} on {_object_name(key)}")


def _wait_one(cluster: Cluster, w: _Wait, key: ObjectKey) -> Failure | None:
    """Wait for one object (None: its condition was met)."""
    want = w.want
    current = get(cluster.state, key)
    match want:
        case ForCondition():
            if current is None:  # condition.go's preconditionFunc
                return server_failure(not_found(key))

            def met(state: ClusterState) -> bool:
                obj = get(state, key)
                return obj is not None and condition_met(obj, want)

            return _until(cluster, w, key, met)
        case ForDelete():
            if current is None:
                return None
            uid = current.metadata.uid

            def gone(state: ClusterState) -> bool:
                obj = get(state, key)
                return obj is None or obj.metadata.uid != uid

            return _until(cluster, w, key, gone)
        case ForCreate():
            return None if current is not None else server_failure(not_found(key))
        case _:
            assert_never(want)


def _objects(cluster: Cluster, target: Target, w: _Wait) -> tuple[list[ObjectKey], Failure | None]:
    """The keys a target names now (a selector is listed at its turn, as kubectl's)."""
    match target:
        case ByName(key=key):
            if get(cluster.state, key) is not None:
                return [key], None
            if isinstance(w.want, ForDelete):
                return [], None  # RunWait ignores NotFound for --for=delete: met, printed by nobody
            return [], server_failure(not_found(key))
        case BySelector():
            req = ListObjects(
                kind=target.kind, namespace=target.namespace, label_selector=target.labels, field_selector=target.fields
            )
            body = cluster.request(req).body
            if isinstance(body, Status):
                return [], server_failure(body)
            assert isinstance(body, ObjectList)  # a list answers a ListObjects
            return [ObjectKey(kind=target.kind, namespace=o.metadata.namespace, name=o.metadata.name) for o in body.items], None
        case _:
            assert_never(target)


def _created(cluster: Cluster, targets: Iterable[Target], w: _Wait) -> Failure | None:
    """RunWait's --for=create poll: until every named object exists."""
    keys = [t.key for t in targets if isinstance(t, ByName)]
    if cluster.advance_until(lambda s: all(get(s, k) is not None for k in keys), w.left(cluster), max_steps(cluster)):
        return None
    return Failure(message=TIMED_OUT)


def wait_for(cluster: Cluster, targets: Sequence[Target], want: WaitFor, timeout: float) -> list[Failure]:
    """Visit `targets` in order, waiting for `want` on each object within one overall
    `timeout`; prints `KIND/NAME condition met` for each met, returns what failed."""
    w = _Wait(want=want, timeout=timeout, deadline=Time(cluster.now + timeout))
    cluster.run_until_stable(max_steps(cluster))
    if isinstance(want, ForCreate) and (failure := _created(cluster, targets, w)) is not None:
        return [failure]
    failures: list[Failure] = []
    visited = 0
    for target in targets:
        keys, failure = _objects(cluster, target, w)
        if failure is not None:
            failures.append(failure)
        for key in keys:
            visited += 1
            failure = _wait_one(cluster, w, key)
            if failure is None:
                print(f"{key.kind.info.resource}/{key.name} condition met", flush=True)
            else:
                failures.append(failure)
    if not failures and visited == 0 and not isinstance(want, ForDelete):
        failures.append(Failure(message="no matching resources found"))
    return failures


# --- the command -----------------------------------------------------------------------------


def cmd_wait(args: argparse.Namespace) -> int:
    """`kcore wait`: parse everything first (SessionError: nothing loaded or stored), then
    wait in simulated time and store the cluster as waiting left it."""
    want = parse_for(args.for_)
    timeout = parse_timeout(args.timeout)
    scope = Scope(
        namespace=args.namespace or "default",
        all_namespaces=args.all_namespaces,
        labels=args.selector,
        fields=args.field_selector,
        select_all=args.all,
    )
    targets = targets_from(args.resources, scope)
    with mutating(NO_SETTLING) as cluster:
        failures = wait_for(cluster, targets, want, timeout)
    if failures:
        sys.stderr.write(error_text(failures))
        return 1
    return 0


def add_wait_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `wait` to the `kcore` parser's subcommands."""
    p = subparsers.add_parser(
        "wait",
        help="wait (in simulated time) for a condition on one or many objects",
        description="Wait for a condition on objects, moving the simulated clock: "
        "kcore wait --for=condition=Available deployment/web; --for=delete pod/x; --for=create secret/s.",
    )
    p.add_argument("resources", nargs="*", metavar="TYPE[/NAME]", help="TYPE/NAME..., TYPE NAME..., or TYPE with -l/--all")
    p.add_argument(
        "--for",
        dest="for_",
        default="",
        metavar="CONDITION",
        help="condition=NAME[=VALUE] (VALUE default true, compared case-insensitively), delete or create",
    )
    p.add_argument(
        "--timeout",
        default=DEFAULT_TIMEOUT,
        help="simulated time to wait before giving up (default 30s; 0 checks once, negative waits a week)",
    )
    p.add_argument("-n", "--namespace", default="", help="the namespace (default: default)")
    p.add_argument("-A", "--all-namespaces", action="store_true", help="look in every namespace (with -l or --all)")
    p.add_argument("-l", "--selector", default="", help="a label selector")
    p.add_argument("--field-selector", default="", help="a field selector")
    p.add_argument("--all", action="store_true", help="every object of the type in the namespace")
    p.set_defaults(func=cmd_wait)
