"""The kubelet's node status and its Lease heartbeat, as requests to the apiserver.

Owns `node_status_request` (registration and the periodic status update) and
`lease_request` (create or renew the node's Lease in kube-node-lease). The kubelet
component calls the first every `node_status_update_frequency` and the second every
renew interval; both read only the component's informer view, the config and `now`.

Rules:
- Status setters run in upstream's order over the Node in the view: addresses
  (InternalIP kept from the Node, Hostname = the node name), capacity/allocatable kept
  (they describe the machine; allocatable defaults to capacity), nodeInfo and
  daemonEndpoints, then the MemoryPressure, DiskPressure, PIDPressure and Ready
  conditions. kcore's simulated machine never runs short, so the pressures are always
  False and Ready always True. Every kubelet-owned condition gets lastHeartbeatTime=now;
  lastTransitionTime changes only when its status flips; conditions other components own
  (NetworkUnavailable, ...) are kept as they are.
- An update is sent when the status differs in anything but heartbeat times, or when
  `node_status_report_frequency` has passed since the last heartbeat the Node carries
  (upstream keeps that time in memory; the Node's Ready heartbeat is the same fact and
  survives a kubelet restart). Otherwise None: nothing to send.
- The update carries the view's resourceVersion: a stale view answers 409 Conflict and the
  caller retries once its view has caught up (upstream patches; a conditional update
  never overwrites a status it has not seen).
- A Node missing from the view is registered again (Create) with the default labels;
  its capacity and InternalIP come from `DEFAULT_CAPACITY` and the kind layout of
  `node_ip` because KubeletConfig does not describe the machine.
- The Lease is `kube-node-lease/<node>`, held by the node, owned by the Node (when the
  view has it, as upstream's setNodeOwnerFunc); renewing keeps its resourceVersion.

Must not know: the kubelet component's state, pods, the runtime, the driver.

Mirrors pkg/kubelet/kubelet_node_status.go (registerWithAPIServer, initialNode,
tryUpdateNodeStatus, nodeStatusHasChanged), pkg/kubelet/nodestatus/setters.go and
pkg/kubelet/nodelease + component-helpers/apimachinery/lease/controller.go.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

import attrs
from pyrsistent import pmap
from pyrsistent.typing import PMap

from kcore.api.coordination import Lease, LeaseSpec
from kcore.api.core import (
    NODE_DISK_PRESSURE,
    NODE_MEMORY_PRESSURE,
    NODE_PID_PRESSURE,
    NODE_READY,
    DaemonEndpoint,
    Node,
    NodeAddress,
    NodeCondition,
    NodeDaemonEndpoints,
    NodeStatus,
    NodeSystemInfo,
)
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ConditionStatus, MicroTime, ObjectMeta, OwnerReference, Time, evolver
from kcore.component.requests import Create, Request, Subresource, Update
from kcore.kubelet.config import KubeletConfig
from kcore.quantity import Quantity, parse_quantity
from kcore.state import ClusterState, get

KUBELET_VERSION: Final = "v1.30.0-kcore"
CONTAINER_RUNTIME_VERSION: Final = "kcore://0.1.0"
OS_IMAGE: Final = "kcore simulated node"
KERNEL_VERSION: Final = "6.0.0-kcore"
OPERATING_SYSTEM: Final = "linux"
ARCHITECTURE: Final = "amd64"
KUBELET_PORT: Final = 10250
NODE_LEASE_NAMESPACE: Final = "kube-node-lease"

LABEL_HOSTNAME: Final = "kubernetes.io/hostname"
LABEL_OS: Final = "kubernetes.io/os"
LABEL_ARCH: Final = "kubernetes.io/arch"
INTERNAL_IP: Final = "InternalIP"
HOSTNAME: Final = "Hostname"

DEFAULT_CAPACITY: Final[PMap[str, Quantity]] = pmap(
    {
        "cpu": parse_quantity("4"),
        "memory": parse_quantity("16Gi"),
        "pods": parse_quantity("110"),
        "ephemeral-storage": parse_quantity("100Gi"),
    }
)
"""What a re-registering machine offers: kcore's bootstrap NodeShape defaults."""

# `attrs.evolve` for the records of the Lease renewal (every heartbeat of every node)
_evolve_lease = evolver(Lease)
_evolve_lease_spec = evolver(LeaseSpec)
_evolve_meta = evolver(ObjectMeta)

_NODE_INDEX: Final = re.compile(r"node-([0-9]+)")


@attrs.frozen(kw_only=True)
class _Pressure:
    type: str
    reason: str
    message: str


# Upstream's condition setter order (nodestatus.MemoryPressureCondition, ...).
_PRESSURES: Final = (
    _Pressure(
        type=NODE_MEMORY_PRESSURE,
        reason="KubeletHasSufficientMemory",
        message="kubelet has sufficient memory available",
    ),
    _Pressure(
        type=NODE_DISK_PRESSURE,
        reason="KubeletHasNoDiskPressure",
        message="kubelet has no disk pressure",
    ),
    _Pressure(
        type=NODE_PID_PRESSURE,
        reason="KubeletHasSufficientPID",
        message="kubelet has sufficient PID available",
    ),
)
READY_REASON: Final = "KubeletReady"
READY_MESSAGE: Final = "kubelet is posting ready status"


def node_key(config: KubeletConfig) -> ObjectKey:
    return ObjectKey(kind=Kind.NODE, namespace="", name=config.node_name)


def lease_key(config: KubeletConfig) -> ObjectKey:
    return ObjectKey(kind=Kind.LEASE, namespace=NODE_LEASE_NAMESPACE, name=config.node_name)


# --- node status -------------------------------------------------------------------------


def node_status_request(view: ClusterState, config: KubeletConfig, now: Time) -> Request | None:
    """The node's registration (Create) when the view has no Node, the status Update when
    one is due, or None."""
    node = get(view, node_key(config))
    if not isinstance(node, Node):
        return Create(obj=initial_node(config, now))
    status = node_status(node, now)
    if not (status_changed(node.status, status) or report_due(node, config, now)):
        return None
    return Update(obj=attrs.evolve(node, status=status), subresource=Subresource.STATUS)


def initial_node(config: KubeletConfig, now: Time) -> Node:
    """kl.initialNode plus one pass of the setters: what registration creates."""
    name = config.node_name
    bare = Node(
        metadata=ObjectMeta(
            name=name,
            labels=pmap({LABEL_ARCH: ARCHITECTURE, LABEL_HOSTNAME: name, LABEL_OS: OPERATING_SYSTEM}),
        ),
        status=NodeStatus(capacity=DEFAULT_CAPACITY, allocatable=DEFAULT_CAPACITY),
    )
    return attrs.evolve(bare, status=node_status(bare, now))


def node_ip(name: str) -> str | None:
    """The InternalIP kcore's bootstrap gives `node-<i>` (`bootstrap.node_internal_ip`);
    None for any other name."""
    m = _NODE_INDEX.fullmatch(name)
    if m is None or not 1 <= int(m.group(1)) <= 65_000:
        return None
    return f"172.18.{(int(m.group(1)) + 1) // 256}.{(int(m.group(1)) + 1) % 256}"


def node_status(node: Node, now: Time) -> NodeStatus:
    """The setters applied to `node.status` at `now` (heartbeats included)."""
    old = node.status
    capacity = old.capacity or DEFAULT_CAPACITY
    return attrs.evolve(
        old,
        addresses=_addresses(node),
        capacity=capacity,
        allocatable=old.allocatable or capacity,
        node_info=_node_info(old.node_info),
        daemon_endpoints=NodeDaemonEndpoints(kubelet_endpoint=DaemonEndpoint(port=KUBELET_PORT)),
        conditions=_conditions(old.conditions, now),
    )


def _addresses(node: Node) -> tuple[NodeAddress, ...]:
    name = node.metadata.name
    internal = tuple(a for a in node.status.addresses if a.type == INTERNAL_IP)
    if not internal:
        ip = node_ip(name)
        internal = (NodeAddress(type=INTERNAL_IP, address=ip),) if ip is not None else ()
    return (*internal, NodeAddress(type=HOSTNAME, address=name))


def _node_info(old: NodeSystemInfo | None) -> NodeSystemInfo:
    """MachineInfo (ids kept: the machine's) and VersionInfo (this kubelet's)."""
    return attrs.evolve(
        old or NodeSystemInfo(),
        kernel_version=KERNEL_VERSION,
        os_image=OS_IMAGE,
        container_runtime_version=CONTAINER_RUNTIME_VERSION,
        kubelet_version=KUBELET_VERSION,
        kube_proxy_version=KUBELET_VERSION,
        operating_system=OPERATING_SYSTEM,
        architecture=ARCHITECTURE,
    )


def _conditions(old: Sequence[NodeCondition], now: Time) -> tuple[NodeCondition, ...]:
    """Each kubelet-owned condition replaced in place (or appended in setter order)."""
    wanted = [
        (p.type, ConditionStatus.FALSE, p.reason, p.message) for p in _PRESSURES
    ] + [(NODE_READY, ConditionStatus.TRUE, READY_REASON, READY_MESSAGE)]
    out = list(old)
    for kind, status, reason, message in wanted:
        at = next((i for i, c in enumerate(out) if c.type == kind), None)
        prev = out[at] if at is not None else None
        new = NodeCondition(
            type=kind,
            status=status,
            last_heartbeat_time=now,
            last_transition_time=prev.last_transition_time
            if prev is not None and prev.status is status and prev.last_transition_time is not None
            else now,
            reason=reason,
            message=message,
        )
        if at is None:
            out.append(new)
        else:
            out[at] = new
    return tuple(out)


def status_changed(old: NodeStatus, new: NodeStatus) -> bool:
    """nodeStatusHasChanged: whether `new` differs from `old` in anything but the
    conditions' heartbeat times (compared in place: no copy of either status)."""
    if len(old.conditions) != len(new.conditions):
        return True
    for a, b in zip(old.conditions, new.conditions, strict=True):
        if a != b and attrs.evolve(a, last_heartbeat_time=b.last_heartbeat_time) != b:
            return True
    return attrs.evolve(new, conditions=old.conditions) != old


def report_due(node: Node, config: KubeletConfig, now: Time) -> bool:
    """Whether `node_status_report_frequency` has passed since the status last reported."""
    last = last_heartbeat(node)
    return last is None or now - last >= config.node_status_report_frequency


def last_heartbeat(node: Node) -> Time | None:
    """When the node's status was last reported: its Ready condition's heartbeat."""
    for c in node.status.conditions:
        if c.type == NODE_READY:
            return c.last_heartbeat_time
    return None


# --- lease -------------------------------------------------------------------------------


def lease_request(view: ClusterState, config: KubeletConfig, now: Time) -> Request:
    """Create the node's Lease, or renew it (renewTime=now) keeping its resourceVersion."""
    node = get(view, node_key(config))
    found = get(view, lease_key(config))
    return renew_lease(
        found if isinstance(found, Lease) else None, node if isinstance(node, Node) else None, config, now
    )


def renew_lease(found: Lease | None, node: Node | None, config: KubeletConfig, now: Time) -> Request:
    """`lease_request` for the Lease and the Node the caller already read from its view
    (None: absent): the heartbeat's hot path, built with the evolvers (the owner reference
    is built only for a Lease that has none yet)."""
    if found is None:
        base = Lease(metadata=ObjectMeta(name=config.node_name, namespace=NODE_LEASE_NAMESPACE))
    else:
        base = found
    meta = base.metadata
    if not meta.owner_references and node is not None and node.metadata.uid:
        owner = OwnerReference(api_version="v1", kind="Node", name=node.metadata.name, uid=node.metadata.uid)
        meta = _evolve_meta(meta, owner_references=(owner,))
    spec = _evolve_lease_spec(
        base.spec,
        holder_identity=config.node_name,
        lease_duration_seconds=config.node_lease_duration_seconds,
        renew_time=MicroTime(now),
    )
    lease = _evolve_lease(base, metadata=meta, spec=spec)
    return Create(obj=lease) if found is None else Update(obj=lease)
