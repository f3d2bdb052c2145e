"""Node podCIDR allocation and per-node pod IP allocation (kcore.network.ipam)."""

from __future__ import annotations

from pyrsistent import pmap

from kcore.network.ipam import (
    CidrSet,
    Exhausted,
    PodCidrAllocation,
    PodIPAllocator,
    allocate,
    allocate_next,
    allocate_pod_cidrs,
    allocated,
    cidr_of,
    cidr_set,
    ip_of,
    occupy,
    pod_ip_allocator,
    release,
    release_node,
    reserve,
)
from kcore.util_validation import ErrorType, FieldError, invalid


def _pool(cidr: str = "10.244.1.0/24") -> PodIPAllocator:
    pool = pod_ip_allocator(cidr)
    assert isinstance(pool, PodIPAllocator)
    return pool


def _take(pool: PodIPAllocator, owner: str) -> tuple[PodIPAllocator, str]:
    got = allocate(pool, owner)
    assert not isinstance(got, Exhausted)
    return got


# --- node podCIDRs -----------------------------------------------------------------------


def test_new_nodes_get_consecutive_slash_24s_in_sorted_name_order() -> None:
    result = allocate_pod_cidrs("10.244.0.0/16", ["node-b", "node-a", "node-c"], {})
    assert result == PodCidrAllocation(
        cidrs=pmap(
            {"node-a": "10.244.0.0/24", "node-b": "10.244.1.0/24", "node-c": "10.244.2.0/24"}
        ),
        assigned=(
            ("node-a", "10.244.0.0/24"),
            ("node-b", "10.244.1.0/24"),
            ("node-c", "10.244.2.0/24"),
        ),
    )


def test_a_node_keeps_its_cidr_and_a_new_node_fills_the_lowest_gap() -> None:
    existing = {"node-a": "10.244.0.0/24", "node-c": "10.244.2.0/24"}
    result = allocate_pod_cidrs("10.244.0.0/16", ["node-a", "node-c", "node-d"], existing)
    assert result == PodCidrAllocation(
        cidrs=pmap(
            {"node-a": "10.244.0.0/24", "node-c": "10.244.2.0/24", "node-d": "10.244.1.0/24"}
        ),
        assigned=(("node-d", "10.244.1.0/24"),),
    )


def test_the_cidr_of_a_departed_node_is_free_again() -> None:
    existing = {"gone": "10.244.0.0/24", "node-b": "10.244.1.0/24"}
    result = allocate_pod_cidrs("10.244.0.0/16", ["node-b", "node-z"], existing)
    assert result.assigned == (("node-z", "10.244.0.0/24"),)


def test_a_kept_cidr_outside_the_cluster_cidr_is_kept_and_occupies_nothing() -> None:
    existing = {"odd": "192.168.7.0/24"}
    result = allocate_pod_cidrs("10.244.0.0/16", ["odd", "new"], existing)
    assert result == PodCidrAllocation(
        cidrs=pmap({"odd": "192.168.7.0/24", "new": "10.244.0.0/24"}),
        assigned=(("new", "10.244.0.0/24"),),
    )


def test_a_full_cluster_cidr_leaves_later_nodes_without_a_cidr_and_says_why() -> None:
    result = allocate_pod_cidrs("10.244.0.0/23", ["a", "b", "c"], {})
    assert result == PodCidrAllocation(
        cidrs=pmap({"a": "10.244.0.0/24", "b": "10.244.1.0/24"}),
        assigned=(("a", "10.244.0.0/24"), ("b", "10.244.1.0/24")),
        problems=(
            invalid(
                "nodes[c].spec.podCIDR",
                "",
                "no remaining /24 in cluster CIDR 10.244.0.0/23 (CIDRNotAvailable)",
            ),
        ),
    )


def test_a_malformed_cluster_cidr_is_a_problem_not_a_crash() -> None:
    result = allocate_pod_cidrs("10.244.0.0/33", ["a"], {})
    assert result.cidrs == pmap()
    assert result.assigned == ()
    assert [(p.path, p.reason, p.bad_value) for p in result.problems] == [
        ("clusterCIDR", ErrorType.INVALID, '"10.244.0.0/33"')
    ]


def test_an_unparseable_existing_cidr_is_reported_and_not_replaced() -> None:
    result = allocate_pod_cidrs("10.244.0.0/16", ["a", "b"], {"a": "nonsense"})
    assert result.cidrs == pmap({"b": "10.244.0.0/24"})
    assert result.assigned == (("b", "10.244.0.0/24"),)
    assert [(p.path, p.bad_value) for p in result.problems] == [
        ("nodes[a].spec.podCIDR", '"nonsense"')
    ]


def test_a_node_mask_smaller_than_the_cluster_prefix_is_rejected() -> None:
    result = allocate_pod_cidrs("10.244.0.0/16", ["a"], {}, node_mask_size=8)
    assert result == PodCidrAllocation(
        problems=(
            invalid(
                "nodeCIDRMaskSize",
                8,
                "must be between 16 (the cluster CIDR's) and 30, inclusive",
            ),
        )
    )


def test_a_custom_node_mask_size_cuts_subnets_of_that_size() -> None:
    result = allocate_pod_cidrs("10.0.0.0/8", ["a", "b"], {}, node_mask_size=16)
    assert result.assigned == (("a", "10.0.0.0/16"), ("b", "10.1.0.0/16"))


# --- pod IPs -----------------------------------------------------------------------------


def test_an_empty_pool_covers_the_hosts_after_network_and_gateway() -> None:
    assert _pool() == PodIPAllocator(cidr="10.244.1.0/24", network=0x0AF40100, first=2, last=254)


def test_the_first_pod_gets_dot_2_and_the_next_dot_3() -> None:
    pool, first = _take(_pool(), "sandbox-a")
    pool, second = _take(pool, "sandbox-b")
    assert (first, second) == ("10.244.1.2", "10.244.1.3")
    assert allocated(pool) == (("10.244.1.2", "sandbox-a"), ("10.244.1.3", "sandbox-b"))


def test_allocating_again_for_the_same_owner_returns_its_address() -> None:
    pool, first = _take(_pool(), "sandbox-a")
    again, ip = _take(pool, "sandbox-a")
    assert (again, ip) == (pool, first)


def test_a_released_address_is_the_lowest_free_one_again() -> None:
    pool, _ = _take(_pool(), "a")
    pool, _ = _take(pool, "b")
    pool, _ = _take(pool, "c")
    pool = release(pool, "b")
    pool, ip = _take(pool, "d")
    assert ip == "10.244.1.3"
    assert allocated(pool) == (("10.244.1.2", "a"), ("10.244.1.3", "d"), ("10.244.1.4", "c"))


def test_releasing_an_owner_without_an_address_changes_nothing() -> None:
    pool, _ = _take(_pool(), "a")
    assert release(pool, "nobody") == pool


def test_a_full_pool_answers_exhausted_with_host_locals_message() -> None:
    pool, _ = _take(_pool("10.244.1.0/30"), "a")
    assert allocate(pool, "b") == Exhausted(
        message="failed to allocate for range 0: no IP addresses available in range set: "
        "10.244.1.2-10.244.1.2"
    )


def test_ip_of_names_the_owners_address_or_none() -> None:
    pool, _ = _take(_pool(), "a")
    assert (ip_of(pool, "a"), ip_of(pool, "b")) == ("10.244.1.2", None)


def test_reserve_adopts_a_known_address() -> None:
    pool = reserve(_pool(), "a", "10.244.1.9")
    assert isinstance(pool, PodIPAllocator)
    assert allocated(pool) == (("10.244.1.9", "a"),)
    assert _take(pool, "b")[1] == "10.244.1.2"


def test_reserve_refuses_the_gateway_an_address_held_by_another_and_garbage() -> None:
    pool, _ = _take(_pool(), "a")
    assert reserve(pool, "b", "10.244.1.1") == invalid(
        "ip", "10.244.1.1", "must be a pod address of 10.244.1.0/24"
    )
    assert reserve(pool, "b", "10.244.1.2") == invalid("ip", "10.244.1.2", "already allocated to a")
    bad = reserve(pool, "b", "ten")
    assert isinstance(bad, FieldError)
    assert (bad.path, bad.bad_value) == ("ip", '"ten"')


def test_a_pool_over_an_ipv6_or_tiny_cidr_is_an_error_naming_the_field() -> None:
    assert pod_ip_allocator("fd00::/64") == invalid(
        "spec.podCIDR", "fd00::/64", "must be an IPv4 CIDR: kcore's pod network is IPv4 only"
    )
    assert pod_ip_allocator("10.0.0.0/31") == invalid(
        "spec.podCIDR",
        "10.0.0.0/31",
        "must hold at least one pod address (prefix length at most /30)",
    )


# --- CidrSet: the node IPAM controller's incremental subnets ------------------------------


def _set(cidr: str = "10.244.0.0/22") -> CidrSet:
    made = cidr_set(cidr)
    assert isinstance(made, CidrSet)
    return made


def test_cidr_set_allocates_lowest_free_skipping_occupied() -> None:
    cs = occupy(_set(), "boot", "10.244.0.0/24")
    got = allocate_next(cs, "a")
    assert not isinstance(got, Exhausted)
    cs, cidr = got
    assert cidr == "10.244.1.0/24"
    assert cidr_of(cs, "boot") == "10.244.0.0/24"
    assert allocate_next(cs, "a") == (cs, "10.244.1.0/24")


def test_cidr_set_release_frees_the_subnet_for_the_next_node() -> None:
    cs = occupy(occupy(_set(), "x", "10.244.0.0/24"), "y", "10.244.1.0/24")
    cs = release_node(cs, "x")
    got = allocate_next(cs, "z")
    assert not isinstance(got, Exhausted) and got[1] == "10.244.0.0/24"
    assert release_node(cs, "nobody") == cs


def test_cidr_set_exhausted_after_every_subnet_is_held() -> None:
    cs = _set("10.244.0.0/23")
    for n in ("a", "b"):
        got = allocate_next(cs, n)
        assert not isinstance(got, Exhausted)
        cs = got[0]
    assert allocate_next(cs, "c") == Exhausted(message="no remaining /24 in cluster CIDR 10.244.0.0/23")


def test_cidr_set_occupy_ignores_foreign_sizes_and_held_subnets() -> None:
    cs = occupy(_set(), "a", "10.244.0.0/24")
    assert occupy(cs, "b", "10.244.0.0/24") == cs  # held by a: stays with a
    assert occupy(cs, "b", "10.0.0.0/24") == cs  # outside the cluster CIDR
    assert occupy(cs, "b", "10.244.1.0/25") == cs  # another size
    assert occupy(cs, "b", "junk") == cs


def test_cidr_set_rejects_a_bad_cluster_cidr_naming_the_field() -> None:
    err = cidr_set("10.244.0.0/33")
    assert isinstance(err, FieldError) and err.path == "clusterCIDR"
    err = cidr_set("10.244.0.0/16", 8)
    assert isinstance(err, FieldError) and err.path == "nodeCIDRMaskSize"
