"""`kcore get`: list or show objects, as kubectl get prints them.

Owns `cmd_get`: one kind (`get pods`, `get pod/x`, `get pod x y`), several at once
(`get deploy,rs,po`: each kind's table, names prefixed `kind/`), with `-n`, `-A`, `-l`,
`--field-selector` and `-o json|yaml|wide|name`. A read: it loads the cluster and stores
nothing.

Output follows kubectl: the tables of `kcore.printers`, one object or a `List` in
json/yaml, `No resources found in default namespace.` on stderr, `Error from server
(NotFound): pods "x" not found` on stderr with exit code 1.

Mirrors k8s.io/kubectl/pkg/cmd/get (get.go) in the parts kcore serves.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from kcore.api.kinds import Kind, ObjectKey, UnknownKindError, kind_for_name
from kcore.api.manifest import dump_json, dump_yaml
from kcore.api.meta import ApiObject
from kcore.cli.resources import (
    namespace_for,
    parse_kind_and_names,
    resource_name,
    server_error,
    status_of,
)
from kcore.cli.session import CliError, load, store_from_env
from kcore.component.requests import Get, ListObjects, ObjectList
from kcore.driver.cluster import Cluster
from kcore.printers import table


def cmd_get(args: argparse.Namespace) -> int:
    if "," in args.kind and "/" not in args.kind:
        return _get_several(args)
    kind, names = parse_kind_and_names(args.kind, args.names)
    cluster = load(store_from_env())
    if names and args.all_namespaces:
        raise CliError("a resource cannot be retrieved by name across all namespaces")
    ns = namespace_for(kind, args)
    objs: list[ApiObject] = []
    failed = False
    for name in names:
        resp = cluster.request(Get(key=ObjectKey(kind=kind, namespace=ns, name=name)))
        status = status_of(resp)
        if status is not None:
            print(server_error(status), file=sys.stderr)
            failed = True
        elif not isinstance(resp.body, ObjectList | type(None)):
            objs.append(resp.body)  # type: ignore[arg-type]  # a Get answers the object
    if not names:
        scope = None if args.all_namespaces or not kind.info.namespaced else ns
        resp = cluster.request(
            ListObjects(kind=kind, namespace=scope, label_selector=args.selector, field_selector=args.field_selector)
        )
        status = status_of(resp)
        if status is not None:
            print(server_error(status), file=sys.stderr)
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
        ns = namespace_for(kind, args)
        scope = None if args.all_namespaces or not kind.info.namespaced else ns
        resp = cluster.request(
            ListObjects(kind=kind, namespace=scope, label_selector=args.selector, field_selector=args.field_selector)
        )
        status = status_of(resp)
        if status is not None:
            print(server_error(status), file=sys.stderr)
            return 1
        assert isinstance(resp.body, ObjectList)
        if resp.body.items:
            found.append((kind, list(resp.body.items)))
    if not found and args.output in ("", "wide"):
        ns = namespace_for(kinds[0], args)
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
