"""`kcore scale`: set the replicas of a scalable object through its scale subresource.

Owns `cmd_scale` (`scale KIND/NAME --replicas N`, several names at once), then settles.
Output follows kubectl: `deployment.apps/web scaled`.

Mirrors k8s.io/kubectl/pkg/cmd/scale (scale.go) in the parts kcore serves.
"""

from __future__ import annotations

import argparse
import sys

from kcore.api.kinds import ObjectKey
from kcore.cli.resources import (
    namespace_for,
    parse_kind_and_names,
    resource_name,
    server_error,
    status_of,
)
from kcore.cli.session import CliError, mutating, settling_from
from kcore.component.requests import UpdateScale


def cmd_scale(args: argparse.Namespace) -> int:
    kind, names = parse_kind_and_names(args.kind, args.names)
    if not names:
        raise CliError("resource(s) were provided, but no name was specified")
    if args.replicas < 0:
        raise CliError("The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0")
    if not kind.info.has_scale:
        raise CliError(f'the server could not find the requested resource: {kind.info.plural} have no scale subresource')
    failed = False
    with mutating(settling_from(args)) as cluster:
        for name in names:
            key = ObjectKey(kind=kind, namespace=namespace_for(kind, args), name=name)
            resp = cluster.request(UpdateScale(key=key, replicas=args.replicas))
            status = status_of(resp)
            if status is not None and not resp.ok:
                print(server_error(status), file=sys.stderr)
                failed = True
            else:
                print(f"{resource_name(kind)}/{name} scaled")
    return 1 if failed else 0
