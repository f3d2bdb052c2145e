"""What a command names on its command line, and how it prints what the server answers.

Owns the argument forms the object commands share: `parse_kind_and_names` (`TYPE/NAME`
or `TYPE NAME...`), `namespace_for` (`-n`, default `default`), `load_all` (the manifests
`-f` names: files, directories, `-`) and `with_namespace` (an object in the namespace
kubectl would use); and the wording of answers: `resource_name` (`deployment.apps`),
`status_of` and `server_error` (`Error from server (NotFound): pods "x" not found`).

Rules: a bad argument raises `CliError` before anything is sent; reading manifests is the
only I/O here.

Mirrors k8s.io/cli-runtime/pkg/resource/builder.go (FilenameParam,
ResourceTypeOrNameArgs) and k8s.io/kubectl/pkg/cmd/util/helpers.go (CheckErr).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import attrs

from kcore.api.kinds import Kind, kind_for_name
from kcore.api.manifest import Loaded, ManifestError, load_manifests
from kcore.api.meta import ApiObject, ObjectMeta, Status
from kcore.cli.session import MANIFEST_SUFFIXES, CliError
from kcore.component.requests import Response


def resource_name(kind: Kind) -> str:
    """kubectl's `deployment.apps` / `pod`: the lowercase kind with its group."""
    return kind.info.resource


def server_error(status: Status, context: str = "") -> str:
    """cmdutil.CheckErr's wording of a server answer: `Error from server (NotFound): ...`."""
    reason = status.reason.value
    head = f"Error from server ({reason})" if reason else "Error from server"
    return f"{head}: {context}{status.message}"


def status_of(resp: Response) -> Status | None:
    """The `Status` an answer carries, or None when it carries an object."""
    return resp.body if isinstance(resp.body, Status) else None


def parse_kind_and_names(target: str, names: Sequence[str]) -> tuple[Kind, tuple[str, ...]]:
    """`TYPE/NAME` or `TYPE NAME...`: the kind and the names (CliError on a mixed form)."""
    if "/" in target:
        if names:
            raise CliError("there is no need to specify a resource type as a separate argument when passing arguments in resource/name form")
        kind_text, _, name = target.partition("/")
        if not name:
            raise CliError(f'arguments in resource/name form must have a single resource and name: "{target}"')
        return kind_for_name(kind_text), (name,)
    return kind_for_name(target), tuple(names)


def namespace_for(kind: Kind, args: argparse.Namespace) -> str:
    """The namespace `-n` names (default `default`), or "" for a cluster-scoped kind."""
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


def load_all(paths: Sequence[str]) -> list[Loaded]:
    """Every object in the manifests `-f` names, undefaulted, in order (CliError when
    one does not parse or there are none)."""
    loaded: list[Loaded] = []
    for source, text in _read_sources(paths):
        try:
            loaded.extend(load_manifests(text, source=source, defaults=False))
        except ManifestError as e:
            raise CliError(f"error parsing {source}: {e}") from e
    if not loaded:
        raise CliError("no objects passed to apply")
    return loaded


def with_namespace(obj: ApiObject, args: argparse.Namespace) -> ApiObject:
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
