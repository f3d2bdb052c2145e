"""IP address management: node podCIDRs from the cluster CIDR, pod IPs from a podCIDR.

Owns: `allocate_pod_cidrs` (what the node IPAM controller decides: one /24 per node out
of the cluster CIDR, in one batch), `CidrSet` (the same subnets kept incrementally by the
node IPAM controller: occupy, allocate next, release) and `PodIPAllocator` (what the CNI plugin's host-local IPAM does on
one node: hand out addresses of the node's podCIDR to sandboxes and take them back).

Rules:
- Pure values, no I/O. Every choice is the *smallest free* one, so the result depends
  only on the inputs, never on the order of a dict or the history of frees:
  - a node keeps the podCIDR it already has (upstream's `spec.podCIDR` is immutable);
    nodes without one get, in sorted name order, the lowest free subnet;
  - a sandbox gets the lowest free host address of the podCIDR.
  Upstream rotates instead (cidrset.go `nextCandidate`, host-local's "last reserved IP"
  file): they avoid reusing a just-freed address/subnet; kcore prefers reproducibility.
  docs/runtime.md ("Pod IPs") records the difference.
- Addresses skipped in a podCIDR, as CNI host-local with the bridge plugin does: the
  network address (x.x.x.0), the gateway (the first host, x.x.x.1, held by the node's
  bridge `cni0`) and the broadcast address (x.x.x.255). A /24 therefore holds 253 pods,
  more than the kubelet's default maxPods of 110.
- IPv4 only (kcore's cluster network is single-stack).
- Bad input never raises: a malformed CIDR comes back as a `FieldError` naming the field.

Must not know: nodes or pods as API objects, the apiserver, the runtime.

Mirrors pkg/controller/nodeipam/ipam/range_allocator.go and cidrset/cidr_set.go, and
containernetworking/plugins plugins/ipam/host-local (allocator.go, range.go).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Final

import attrs
from pyrsistent import pmap
from pyrsistent.typing import PMap

from kcore.util_validation import FieldError, invalid, key

DEFAULT_CLUSTER_CIDR: Final = "10.244.0.0/16"
"""The cluster CIDR kcore uses when none is configured (flannel's, kubeadm docs' example)."""

DEFAULT_NODE_MASK_SIZE: Final = 24
"""kube-controller-manager --node-cidr-mask-size default for IPv4."""

FIRST_HOST_OFFSET: Final = 2
"""Offset of the first pod address: .0 is the network, .1 the gateway (cni0 bridge)."""


# --- parsing ---------------------------------------------------------------------------


def parse_ipv4_cidr(value: str, path: str) -> ipaddress.IPv4Network | FieldError:
    """`value` as an IPv4 network in canonical form (host bits zero), or the error at `path`."""
    try:
        net = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        return invalid(path, value, f"must be a valid IPv4 CIDR (e.g. 10.244.0.0/16): {exc}")
    if not isinstance(net, ipaddress.IPv4Network):
        return invalid(path, value, "must be an IPv4 CIDR: kcore's pod network is IPv4 only")
    return net


# --- node podCIDRs ---------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class PodCidrAllocation:
    """The outcome of `allocate_pod_cidrs`.

    `cidrs`: every node's podCIDR afterwards (kept and new). `assigned`: the new ones,
    sorted by node name: what the node IPAM controller must write to `spec.podCIDR`.
    `problems`: nodes left without a CIDR (range full, unusable existing value) or a bad
    cluster CIDR; each a `FieldError` whose path names the node and field.
    """

    cidrs: PMap[str, str] = pmap()
    assigned: tuple[tuple[str, str], ...] = ()
    problems: tuple[FieldError, ...] = ()


def allocate_pod_cidrs(
    cluster_cidr: str,
    node_names: Iterable[str],
    existing: Mapping[str, str],
    *,
    node_mask_size: int = DEFAULT_NODE_MASK_SIZE,
) -> PodCidrAllocation:
    """Give every node in `node_names` a podCIDR of size /`node_mask_size` inside `cluster_cidr`.

    `existing` maps node name -> its current `spec.podCIDR` ("" or absent = none). A node
    with a CIDR keeps it, whatever it is (the field is immutable); a kept CIDR inside the
    cluster CIDR is occupied. Nodes without one get the lowest free subnet, in sorted
    name order. Entries of `existing` for nodes not in `node_names` are ignored (their
    subnets are free again: the node is gone).
    """
    cluster = parse_ipv4_cidr(cluster_cidr, "clusterCIDR")
    if isinstance(cluster, FieldError):
        return PodCidrAllocation(problems=(cluster,))
    if not cluster.prefixlen <= node_mask_size <= 30:
        detail = f"must be between {cluster.prefixlen} (the cluster CIDR's) and 30, inclusive"
        return PodCidrAllocation(problems=(invalid("nodeCIDRMaskSize", node_mask_size, detail),))
    names = sorted(set(node_names))
    kept: dict[str, str] = {}
    used: set[int] = set()
    problems: list[FieldError] = []
    shift = 32 - node_mask_size
    base = int(cluster.network_address) >> shift
    count = 1 << (node_mask_size - cluster.prefixlen)
    for name in names:
        current = existing.get(name, "")
        if not current:
            continue
        net = parse_ipv4_cidr(current, key("nodes", name) + ".spec.podCIDR")
        if isinstance(net, FieldError):
            problems.append(net)
            continue
        kept[name] = str(net)
        if net.prefixlen == node_mask_size and net.subnet_of(cluster):
            used.add((int(net.network_address) >> shift) - base)
    assigned: list[tuple[str, str]] = []
    candidate = 0
    for name in names:
        if name in kept or existing.get(name, ""):
            continue
        while candidate in used:
            candidate += 1
        if candidate >= count:
            detail = f"no remaining /{node_mask_size} in cluster CIDR {cluster} (CIDRNotAvailable)"
            problems.append(invalid(key("nodes", name) + ".spec.podCIDR", "", detail))
            continue
        subnet = ipaddress.IPv4Network(((base + candidate) << shift, node_mask_size))
        used.add(candidate)
        assigned.append((name, str(subnet)))
    cidrs = pmap({**kept, **dict(assigned)})
    return PodCidrAllocation(cidrs=cidrs, assigned=tuple(assigned), problems=tuple(problems))


# --- pod IPs on one node ---------------------------------------------------------------


@attrs.frozen(kw_only=True)
class PodIPAllocator:
    """The pod addresses of one node's podCIDR: which are taken, and by whom.

    Offsets are host numbers inside the CIDR (`first` .. `last` usable); `by_owner` and
    `by_offset` are the same relation both ways (owner = the sandbox id). Build one with
    `pod_ip_allocator`; change it only through `allocate`, `reserve` and `release`.
    """

    cidr: str
    network: int
    first: int
    last: int
    by_owner: PMap[str, int] = pmap()
    by_offset: PMap[int, str] = pmap()


@attrs.frozen(kw_only=True)
class Exhausted:
    """No free address left: host-local's error text, with the range it searched."""

    message: str


def pod_ip_allocator(cidr: str, path: str = "spec.podCIDR") -> PodIPAllocator | FieldError:
    """An empty allocator over `cidr`, or the error naming `path` if it is not a usable CIDR."""
    net = parse_ipv4_cidr(cidr, path)
    if isinstance(net, FieldError):
        return net
    if net.prefixlen > 30:
        return invalid(path, cidr, "must hold at least one pod address (prefix length at most /30)")
    return PodIPAllocator(
        cidr=str(net),
        network=int(net.network_address),
        first=FIRST_HOST_OFFSET,
        last=net.num_addresses - 2,
    )


def _address(alloc: PodIPAllocator, offset: int) -> str:
    return str(ipaddress.IPv4Address(alloc.network + offset))


def ip_of(alloc: PodIPAllocator, owner: str) -> str | None:
    """The address `owner` holds, if any."""
    offset = alloc.by_owner.get(owner)
    return None if offset is None else _address(alloc, offset)


def allocated(alloc: PodIPAllocator) -> tuple[tuple[str, str], ...]:
    """Every (address, owner) pair in address order."""
    return tuple((_address(alloc, o), alloc.by_offset[o]) for o in sorted(alloc.by_offset))


def allocate(alloc: PodIPAllocator, owner: str) -> tuple[PodIPAllocator, str] | Exhausted:
    """The lowest free address for `owner` (its current one if it already holds one)."""
    held = ip_of(alloc, owner)
    if held is not None:
        return alloc, held
    offset = alloc.first
    while offset in alloc.by_offset:  # at most len(by_offset) steps
        offset += 1
    if offset > alloc.last:
        span = f"{_address(alloc, alloc.first)}-{_address(alloc, alloc.last)}"
        return Exhausted(
            message=f"failed to allocate for range 0: no IP addresses available in range set: {span}"
        )
    return _take(alloc, owner, offset), _address(alloc, offset)


def reserve(alloc: PodIPAllocator, owner: str, ip: str) -> PodIPAllocator | FieldError:
    """Record that `owner` holds `ip` (re-adopting a sandbox after a restart).

    Fails, naming `ip`, when the address is malformed, outside the usable range, or held
    by another owner; re-reserving an owner's own address is a no-op.
    """
    try:
        offset = int(ipaddress.IPv4Address(ip)) - alloc.network
    except ValueError as exc:
        return invalid("ip", ip, f"must be a valid IPv4 address: {exc}")
    if not alloc.first <= offset <= alloc.last:
        return invalid("ip", ip, f"must be a pod address of {alloc.cidr}")
    holder = alloc.by_offset.get(offset)
    if holder == owner:
        return alloc
    if holder is not None:
        return invalid("ip", ip, f"already allocated to {holder}")
    if owner in alloc.by_owner:
        return invalid("ip", ip, f"{owner} already holds {ip_of(alloc, owner)}")
    return _take(alloc, owner, offset)


def release(alloc: PodIPAllocator, owner: str) -> PodIPAllocator:
    """Free `owner`'s address; releasing an owner with none is a no-op (CNI DEL is idempotent)."""
    offset = alloc.by_owner.get(owner)
    if offset is None:
        return alloc
    return attrs.evolve(
        alloc, by_owner=alloc.by_owner.remove(owner), by_offset=alloc.by_offset.remove(offset)
    )


def _take(alloc: PodIPAllocator, owner: str, offset: int) -> PodIPAllocator:
    return attrs.evolve(
        alloc,
        by_owner=alloc.by_owner.set(owner, offset),
        by_offset=alloc.by_offset.set(offset, owner),
    )


# --- the node IPAM controller's set of node subnets -------------------------------------


@attrs.frozen(kw_only=True)
class CidrSet:
    """The /`mask` subnets of one cluster CIDR and which node holds each (cidr_set.go).

    Subnets are numbered 0..`count`-1 from the cluster CIDR's first address; `by_index`
    and `by_node` are the same relation both ways. Build one with `cidr_set`; change it
    only through `occupy`, `allocate_next` and `release_node`.
    """

    cluster: str
    mask: int
    base: int  # the cluster CIDR's first address >> (32 - mask)
    count: int
    by_index: PMap[int, str] = pmap()
    by_node: PMap[str, int] = pmap()


def cidr_set(cluster_cidr: str, node_mask_size: int = DEFAULT_NODE_MASK_SIZE) -> CidrSet | FieldError:
    """An empty set of the /`node_mask_size` subnets of `cluster_cidr`, or the error naming it."""
    cluster = parse_ipv4_cidr(cluster_cidr, "clusterCIDR")
    if isinstance(cluster, FieldError):
        return cluster
    if not cluster.prefixlen <= node_mask_size <= 30:
        detail = f"must be between {cluster.prefixlen} (the cluster CIDR's) and 30, inclusive"
        return invalid("nodeCIDRMaskSize", node_mask_size, detail)
    return CidrSet(
        cluster=str(cluster),
        mask=node_mask_size,
        base=int(cluster.network_address) >> (32 - node_mask_size),
        count=1 << (node_mask_size - cluster.prefixlen),
    )


def _subnet(cs: CidrSet, index: int) -> str:
    return str(ipaddress.IPv4Network(((cs.base + index) << (32 - cs.mask), cs.mask)))


def cidr_of(cs: CidrSet, node: str) -> str | None:
    """The subnet `node` holds in the set, if any."""
    index = cs.by_node.get(node)
    return None if index is None else _subnet(cs, index)


def occupy(cs: CidrSet, node: str, cidr: str) -> CidrSet:
    """Record that `node` already has `cidr` (set before, e.g. by bootstrap: Occupy).

    A CIDR that is malformed, of another size or outside the cluster CIDR occupies nothing
    (upstream logs and skips it); one held by another node stays with that node.
    """
    net = parse_ipv4_cidr(cidr, "spec.podCIDR")
    if isinstance(net, FieldError) or net.prefixlen != cs.mask:
        return cs
    index = (int(net.network_address) >> (32 - cs.mask)) - cs.base
    if not 0 <= index < cs.count or cs.by_index.get(index, node) != node:
        return cs
    return _hold(release_node(cs, node), node, index)


def allocate_next(cs: CidrSet, node: str) -> tuple[CidrSet, str] | Exhausted:
    """The lowest free subnet for `node` (its current one if it holds one): AllocateNext."""
    held = cidr_of(cs, node)
    if held is not None:
        return cs, held
    index = 0
    while index in cs.by_index:  # at most len(by_index) steps
        index += 1
    if index >= cs.count:
        return Exhausted(message=f"no remaining /{cs.mask} in cluster CIDR {cs.cluster}")
    return _hold(cs, node, index), _subnet(cs, index)


def release_node(cs: CidrSet, node: str) -> CidrSet:
    """Free `node`'s subnet (its Node is gone); a no-op when it holds none."""
    index = cs.by_node.get(node)
    if index is None:
        return cs
    return attrs.evolve(cs, by_index=cs.by_index.remove(index), by_node=cs.by_node.remove(node))


def _hold(cs: CidrSet, node: str, index: int) -> CidrSet:
    return attrs.evolve(cs, by_index=cs.by_index.set(index, node), by_node=cs.by_node.set(node, index))
