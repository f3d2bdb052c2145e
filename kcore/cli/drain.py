"""`kcore cordon`, `uncordon` and `drain`: take a node out of scheduling and empty it.

Owns `cmd_cordon`, `cmd_uncordon` (spec.unschedulable, re-read on a conflict) and
`cmd_drain`: cordon, pick the node's pods with kubectl's filters
(`kcore.kubectl.drain`: DaemonSet, mirror, emptyDir, unmanaged, in kubectl's error
wording), evict each through pods/eviction (a 429 from a disruption budget is retried
every 5 s) and wait for them to go, all in simulated time bounded by --timeout (0: a
simulated day), then store; it never settles further.

Output follows kubectl: `node/x cordoned` (`already cordoned`), `evicting pod ns/name`,
`pod/name evicted`, `node/x drained`; refusals and timeouts on stderr as kubectl prints
them, exit code 1.

Mirrors k8s.io/kubectl/pkg/cmd/drain (drain.go) and k8s.io/kubectl/pkg/drain (drain.go,
cordon.go) in the parts kcore serves.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Final

import attrs

from kcore.api.core import Node
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.pod import Pod
from kcore.cli.resources import server_error, status_of
from kcore.cli.session import CliError, go_duration, max_steps, mutating, settling_from
from kcore.component.requests import Evict, Get, ListObjects, ObjectList, Update
from kcore.driver.clock import DurationError, parse_duration
from kcore.driver.cluster import Cluster
from kcore.kubectl.drain import (
    DrainOptions,
    PodDeleteStatus,
    PodsForDeletion,
    aggregate,
    daemon_set_to_check,
    filter_pod,
    pods_for_deletion,
)

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
            status = status_of(got)
            print(server_error(status) if status else f"error: node {name!r}: unexpected answer", file=sys.stderr)
            return False
        if node.spec.unschedulable == desired:
            print(f"node/{name} already {verb}")
            return True
        resp = cluster.request(Update(obj=attrs.evolve(node, spec=attrs.evolve(node.spec, unschedulable=desired))))
        if resp.ok:
            print(f"node/{name} {verb}")
            return True
        status = status_of(resp)
        if resp.code != 409:
            print(server_error(status) if status else f"error: node {name!r}: unexpected answer", file=sys.stderr)
            return False
    print(f"error: node {name!r} kept changing; try again", file=sys.stderr)
    return False


def cmd_cordon(args: argparse.Namespace) -> int:
    with mutating(settling_from(args)) as cluster:
        return 0 if _cordon(cluster, args.node, True) else 1


def cmd_uncordon(args: argparse.Namespace) -> int:
    with mutating(settling_from(args)) as cluster:
        return 0 if _cordon(cluster, args.node, False) else 1


def _pods_for_deletion(cluster: Cluster, node: str, options: DrainOptions) -> PodsForDeletion:
    """GetPodsForDeletion: the node's pods through kubectl's filters (each DaemonSet-owned
    pod's DaemonSet read from the apiserver, as daemonSetFilter does)."""
    resp = cluster.request(ListObjects(kind=Kind.POD, field_selector=f"spec.nodeName={node}"))
    if not isinstance(resp.body, ObjectList):
        status = status_of(resp)
        return PodsForDeletion(errors=(status.message if status else "cannot list pods",))
    filtered: list[tuple[Pod, PodDeleteStatus]] = []
    for pod in resp.body.items:
        if not isinstance(pod, Pod):
            continue
        daemon_set = daemon_set_to_check(pod)
        answer = cluster.request(Get(key=daemon_set)) if daemon_set is not None else None
        filtered.append((pod, filter_pod(pod, options, answer)))
    return pods_for_deletion(filtered)


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
            status = status_of(resp)
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
    with mutating(settling_from(args, timeout_flag=False)) as cluster:
        if not _cordon(cluster, node, True):
            return 1
        options = DrainOptions(
            force=args.force, ignore_daemonsets=args.ignore_daemonsets, delete_emptydir_data=args.delete_emptydir_data
        )
        found = _pods_for_deletion(cluster, node, options)
        errors: Sequence[str] = found.errors
        if not errors:
            if found.warnings:
                print(f"Warning: {'; '.join(found.warnings)}", file=sys.stderr)
            failed = _evict_all(cluster, found.pods, args, timeout or UNBOUNDED_DRAIN_SECONDS)
            if not failed:
                print(f"node/{node} drained")
                return 0
            pending = _pods_for_deletion(cluster, node, options).pods
            if pending:
                print(f'There are pending pods in node "{node}" when an error occurred: {aggregate(failed)}', file=sys.stderr)
                for p in pending:
                    print(f"pod/{p.metadata.name}", file=sys.stderr)
            errors = failed
        print(f'error: unable to drain node "{node}" due to error: {aggregate(errors)}, continuing command...', file=sys.stderr)
        print("There are pending nodes to be drained:", file=sys.stderr)
        print(f" {node}", file=sys.stderr)
        if len(errors) == 1:
            print(f"error: {errors[0]}", file=sys.stderr)
        else:
            for line in errors:
                print(line, file=sys.stderr)
        return 1
