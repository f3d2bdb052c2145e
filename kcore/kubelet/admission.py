"""The kubelet's pod admission: may this node start this pod?

Owns `Rejection` and `admit_pod`, the kubelet's predicate admit handler. The kubelet asks
it once per pod, before anything of the pod runs; a rejected pod is failed by the caller
(phase Failed, the rejection's reason and message in the pod status), never retried.

Rules, in upstream's order (the first failure wins, as upstream reports only
`reasons[0]`):
1. OS: a pod labelled `kubernetes.io/os` other than the node's OS (kcore nodes are
   linux) -> PodOSSelectorNodeLabelDoesNotMatch.
2. GeneralPredicates (scheduler.AdmissionCheck with every failure): resources first
   (pods count, cpu, memory, ephemeral-storage, then scalar resources sorted by name)
   against the node's allocatable minus the requests of `admitted`, reason
   `OutOf<resource>`, message "Node didn't have enough resource: ..."; then node
   selector and required node affinity (NodeAffinity), spec.nodeName (NodeName), host
   ports (NodePorts); message "Predicate <name> failed: <scheduler reason>".
3. Untolerated NoExecute taints (TaintToleration), skipped for static pods.
Extended resources (a domain-qualified name outside kubernetes.io) that the node does not
advertise are dropped from the pod's requests first, as upstream's
removeMissingExtendedResources. Requests are the pod-level effective requests (the init
containers' max rule, sidecars, overhead) of `kcore.scheduler.nodeinfo.pod_requests`.
`admitted` are the pods the kubelet already admitted; terminal ones and the pod itself
are ignored, duplicates count once.

Must not know: the kubelet component's state, the runtime, API requests.

Mirrors pkg/kubelet/lifecycle/predicate.go (Admit, generalFilter,
removeMissingExtendedResources, InsufficientResourceError) and
pkg/scheduler/schedule_one.go (AdmissionCheck).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final

import attrs
from pyrsistent import pmap

from kcore.api.core import Node
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.pod import Container, Pod, PodPhase, TaintEffect
from kcore.helpers.scheduling import required_matches, tolerates
from kcore.kubelet.config import KubeletConfig
from kcore.kubelet.static_pods import is_static_pod
from kcore.scheduler.nodeinfo import (
    CPU,
    EPHEMERAL_STORAGE,
    MEMORY,
    PODS,
    HostPort,
    Resources,
    pod_host_ports,
    pod_requests,
    ports_conflict,
    resources_of,
)
from kcore.scheduler.plugins.nodeaffinity import ERR_REASON_POD
from kcore.state import ClusterState, get

NODE_OS: Final = "linux"
LABEL_OS: Final = "kubernetes.io/os"

INVALID_NODE_INFO: Final = "InvalidNodeInfo"
OS_SELECTOR_MISMATCH: Final = "PodOSSelectorNodeLabelDoesNotMatch"
INSUFFICIENT_RESOURCE_PREFIX: Final = "OutOf"
NODE_AFFINITY: Final = "NodeAffinity"
NODE_NAME: Final = "NodeName"
NODE_PORTS: Final = "NodePorts"
TAINT_TOLERATION: Final = "TaintToleration"
NODE_NAME_REASON: Final = "node(s) didn't match the requested node name"
NODE_PORTS_REASON: Final = "node(s) didn't have free ports for the requested pod ports"
TAINT_REASON: Final = "node(s) had taints that the pod didn't tolerate"


@attrs.frozen(kw_only=True)
class Rejection:
    """Why the kubelet refused a pod: `reason` goes to status.reason, `message` to
    status.message (PodAdmitResult)."""

    reason: str
    message: str


def admit_pod(
    view: ClusterState,
    config: KubeletConfig,
    pod: Pod,
    admitted: Sequence[Pod],
    requests_of: Callable[[Pod], Resources] = pod_requests,
) -> Rejection | None:
    """The first reason this node cannot run `pod` next to `admitted`, or None to admit.
    `requests_of` gives an admitted pod's requests (the kubelet passes the ones it keeps
    per pod: a pod's resources never change, so they equal `pod_requests`)."""
    node = get(view, ObjectKey(kind=Kind.NODE, namespace="", name=config.node_name))
    if not isinstance(node, Node):
        return Rejection(reason=INVALID_NODE_INFO, message="Kubelet cannot get node info.")
    if pod.metadata.labels.get(LABEL_OS, NODE_OS) != NODE_OS:
        return Rejection(
            reason=OS_SELECTOR_MISMATCH,
            message="Failed to admit pod as the `kubernetes.io/os` label doesn't match node label",
        )
    others = _others(pod, admitted)
    rejection = (
        _resources(remove_missing_extended_resources(pod, node), node, others, requests_of)
        or _predicate(NODE_AFFINITY, ERR_REASON_POD, required_matches(pod, node))
        or _predicate(
            NODE_NAME, NODE_NAME_REASON, pod.spec.node_name in ("", node.metadata.name)
        )
        or _predicate(NODE_PORTS, NODE_PORTS_REASON, _ports_free(pod, others))
    )
    if rejection is None and not is_static_pod(pod):
        rejection = _predicate(TAINT_TOLERATION, TAINT_REASON, _no_execute_tolerated(pod, node))
    return rejection


def _others(pod: Pod, admitted: Sequence[Pod]) -> tuple[Pod, ...]:
    """The admitted pods still running other than `pod`, one per (namespace, name), in
    that order."""
    me = _key(pod)
    by_key = {
        k: p
        for p in admitted
        if p.status.phase not in (PodPhase.SUCCEEDED, PodPhase.FAILED) and (k := _key(p)) != me
    }
    return tuple(by_key[k] for k in sorted(by_key))


def _key(pod: Pod) -> tuple[str, str]:
    return (pod.metadata.namespace, pod.metadata.name)


def _predicate(name: str, reason: str, ok: bool) -> Rejection | None:
    return None if ok else Rejection(reason=name, message=f"Predicate {name} failed: {reason}")


# --- resources ---------------------------------------------------------------------------


def is_extended_resource(name: str) -> bool:
    """v1helper.IsExtendedResourceName: domain-qualified, outside kubernetes.io, and not a
    quota `requests.` name."""
    return "/" in name and "kubernetes.io/" not in name and not name.startswith("requests.")


def remove_missing_extended_resources(pod: Pod, node: Node) -> Pod:
    """`pod` without requests for extended resources `node` does not offer (upstream's
    removeMissingExtendedResources, pkg/kubelet/lifecycle/predicate.go)."""
    allocatable = node.status.allocatable
    if not any(
        is_extended_resource(n) and n not in allocatable
        for c in (*pod.spec.containers, *pod.spec.init_containers)
        for n in c.resources.requests
    ):
        return pod  # nothing to drop (the common case): the pod as it is

    def keep(c: Container) -> Container:
        req = c.resources.requests
        missing = [n for n in req if is_extended_resource(n) and n not in allocatable]
        if not missing:
            return c
        kept = pmap({n: req[n] for n in req if n not in missing})
        return attrs.evolve(c, resources=attrs.evolve(c.resources, requests=kept))

    spec = attrs.evolve(
        pod.spec,
        containers=tuple(keep(c) for c in pod.spec.containers),
        init_containers=tuple(keep(c) for c in pod.spec.init_containers),
    )
    return attrs.evolve(pod, spec=spec)


def _out_of(name: str, requested: int, used: int, capacity: int) -> Rejection:
    return Rejection(
        reason=f"{INSUFFICIENT_RESOURCE_PREFIX}{name}",
        message=(
            f"Node didn't have enough resource: {name}, requested: {requested}, "
            f"used: {used}, capacity: {capacity}"
        ),
    )


def _resources(
    pod: Pod, node: Node, others: Sequence[Pod], requests_of: Callable[[Pod], Resources] = pod_requests
) -> Rejection | None:
    """fitsRequest: the first resource the node lacks, in upstream's order."""
    alloc = node.status.allocatable
    pods_q = alloc.get(PODS)
    allowed = pods_q.value() if pods_q is not None else 0
    if len(others) + 1 > allowed:
        return _out_of(PODS, 1, len(others), allowed)
    want = pod_requests(pod)
    if not (want.milli_cpu or want.memory or want.ephemeral_storage or want.scalar):
        return None
    have = resources_of(alloc)
    used = Resources()
    for p in others:
        used = used.plus(requests_of(p))
    for name in (CPU, MEMORY, EPHEMERAL_STORAGE, *sorted(want.scalar)):
        r = want.get(name)
        if r > 0 and r > have.get(name) - used.get(name):
            return _out_of(name, r, used.get(name), have.get(name))
    return None


# --- ports and taints --------------------------------------------------------------------


def _ports_free(pod: Pod, others: Sequence[Pod]) -> bool:
    """nodeports.Fits: no wanted host port clashes with one the admitted pods hold."""
    used: dict[HostPort, int] = {}
    for p in others:
        for hp in pod_host_ports(p):
            used[hp] = used.get(hp, 0) + 1
    held = pmap(used)
    return not any(ports_conflict(held, hp) for hp in pod_host_ports(pod))


def _no_execute_tolerated(pod: Pod, node: Node) -> bool:
    """FindMatchingUntoleratedTaint over NoExecute taints only (the kubelet ignores the
    scheduling-time NoSchedule taints)."""
    return all(
        any(tolerates(t, taint.key, taint.value, taint.effect) for t in pod.spec.tolerations)
        for taint in node.spec.taints
        if taint.effect is TaintEffect.NO_EXECUTE
    )
