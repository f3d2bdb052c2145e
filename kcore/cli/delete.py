"""`kcore delete`: delete objects by name or by manifest, as kubectl delete does.

Owns `cmd_delete` (`delete KIND NAME...`, `delete KIND/NAME`, `delete -f`). Every named
object is deleted in order, a missing one prints kubectl's NotFound and the rest still go
(exit code 1); then the cluster settles, so finalizers and garbage collection play out.

Mirrors k8s.io/kubectl/pkg/cmd/delete (delete.go) in the parts kcore serves.
"""

from __future__ import annotations

import argparse
import sys

from kcore.api.kinds import ObjectKey
from kcore.cli.resources import (
    load_all,
    namespace_for,
    parse_kind_and_names,
    resource_name,
    server_error,
    status_of,
    with_namespace,
)
from kcore.cli.session import CliError, mutating, require_cluster, settling_from
from kcore.component.requests import Delete


def cmd_delete(args: argparse.Namespace) -> int:
    require_cluster()
    if args.filename:
        if args.kind:
            raise CliError("specify resources by -f or by KIND NAME, not both")
        keys = []
        for item in load_all(args.filename):
            obj = with_namespace(item.obj, args)
            keys.append(ObjectKey(kind=obj.KIND, namespace=obj.metadata.namespace, name=obj.metadata.name))
    else:
        if not args.kind:
            raise CliError("you must provide one or more resources by argument or filename")
        kind, names = parse_kind_and_names(args.kind, args.names)
        if not names:
            raise CliError("resource(s) were provided, but no name was specified")
        keys = [ObjectKey(kind=kind, namespace=namespace_for(kind, args), name=n) for n in names]
    failed = False
    with mutating(settling_from(args)) as cluster:
        for key in keys:
            resp = cluster.request(Delete(key=key))
            status = status_of(resp)
            if status is not None and not resp.ok:
                print(server_error(status), file=sys.stderr)
                failed = True
            else:
                print(f'{resource_name(key.kind)} "{key.name}" deleted')
    return 1 if failed else 0
