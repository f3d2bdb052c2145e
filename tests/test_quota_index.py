"""The per-namespace quota usage index (kcore.state_quota.QuotaUsage) and the quota checks on it."""

from __future__ import annotations

from collections.abc import Mapping

import attrs
from pyrsistent import pmap, pset

from kcore.api.core import ResourceQuota, ResourceQuotaScope, ResourceQuotaSpec, ServiceType
from kcore.api.kinds import Kind
from kcore.api.meta import ObjectMeta, Time
from kcore.api.pod import Pod, PodPhase, PodStatus
from kcore.apiserver import handle
from kcore.component.requests import Create, Delete, Get, ListObjects, ObjectList, Update
from kcore.quantity import Quantity, parse_quantity
from kcore.state import ClusterState, get, put, quota_usage_of, remove
from kcore.state_quota import PodScopes, recount_usage
from tests.builders import T0, a_config_map, a_container, a_pod, a_service, cluster_with, key

BURSTABLE = PodScopes(best_effort=False, terminating=False)
BEST_EFFORT = PodScopes(best_effort=True, terminating=False)


def quota(
    *, scopes: tuple[ResourceQuotaScope, ...] = (), named: Mapping[str, str] = pmap(), **hard: str
) -> ResourceQuota:
    """A quota "q" in "default"; `hard` keys with "_" for "." (requests_cpu), `named` as is."""
    limits = {k.replace("_", "."): v for k, v in hard.items()} | dict(named)
    return ResourceQuota(
        metadata=ObjectMeta(name="q", namespace="default"),
        spec=ResourceQuotaSpec(
            hard=pmap({k: parse_quantity(v) for k, v in limits.items()}), scopes=scopes
        ),
    )


def q(text: str) -> Quantity:
    return parse_quantity(text)


def ok(state: ClusterState, request: Create | Update | Delete, now: Time = T0) -> ClusterState:
    state, response, _ = handle(state, request, now)
    assert response.ok, response.body
    return state


def stored_pod(state: ClusterState, name: str) -> Pod:
    pod = get(state, key(Kind.POD, name))
    assert isinstance(pod, Pod)
    return pod


def totals(state: ClusterState) -> dict[PodScopes | None, dict[str, Quantity]]:
    usage = state.quota_usage["default"]
    return {scope: dict(usage.totals[scope]) for scope in usage.totals}


def test_a_namespace_without_a_quota_keeps_no_index() -> None:
    state = ok(cluster_with(), Create(obj=a_pod("a", containers=(a_container(cpu="100m"),))))
    assert state.quota_usage == pmap()


def test_the_first_quota_counts_what_the_namespace_already_holds() -> None:
    state = cluster_with(a_pod("a", containers=(a_container(cpu="100m"),)), a_config_map("c"))
    state = ok(state, Create(obj=quota(pods="10")))
    assert totals(state) == {
        None: {"count/configmaps": q("1"), "configmaps": q("1"), "count/resourcequotas": q("1"), "resourcequotas": q("1")},
        BURSTABLE: {"count/pods": q("1"), "pods": q("1"), "cpu": q("100m"), "requests.cpu": q("100m")},
    }


def test_creates_and_deletes_move_the_charges_and_the_last_quota_drops_the_index() -> None:
    state = cluster_with(quota(pods="10"))
    state = ok(state, Create(obj=a_pod("a", containers=(a_container(cpu="100m", memory="64Mi"),))))
    state = ok(state, Create(obj=a_pod("b", containers=(a_container(cpu="250m"),))))
    assert totals(state)[BURSTABLE] == {
        "count/pods": q("2"),
        "pods": q("2"),
        "cpu": q("350m"),
        "requests.cpu": q("350m"),
        "memory": q("64Mi"),
        "requests.memory": q("64Mi"),
    }
    state = remove(state, key(Kind.POD, "a"))
    assert totals(state)[BURSTABLE] == {
        "count/pods": q("1"),
        "pods": q("1"),
        "cpu": q("250m"),
        "requests.cpu": q("250m"),
    }
    state = remove(state, key(Kind.RESOURCE_QUOTA, "q"))
    assert state.quota_usage == pmap()


def test_a_label_update_leaves_the_index_value_as_it_was() -> None:
    state = store_pods(cluster_with(quota(pods="10")), "a")
    before = state.quota_usage
    pod = stored_pod(state, "a")
    state = ok(state, Update(obj=attrs.evolve(pod, metadata=attrs.evolve(pod.metadata, labels=pmap({"x": "y"})))))
    assert state.quota_usage is before


def store_pods(state: ClusterState, *names: str) -> ClusterState:
    for name in names:
        state = ok(state, Create(obj=a_pod(name, containers=(a_container(cpu="100m"),))))
    return state


def test_a_terminal_pod_keeps_only_its_object_count() -> None:
    state = store_pods(cluster_with(quota(pods="1")), "a")
    state = put(state, attrs.evolve(stored_pod(state, "a"), status=PodStatus(phase=PodPhase.FAILED)))
    assert totals(state)[BURSTABLE] == {"count/pods": q("1")}
    ok(state, Create(obj=a_pod("b", containers=(a_container(cpu="1"),))))


def test_a_count_pods_quota_counts_terminal_pods_too() -> None:
    state = store_pods(cluster_with(quota(named={"count/pods": "1"})), "a")
    state = put(state, attrs.evolve(stored_pod(state, "a"), status=PodStatus(phase=PodPhase.SUCCEEDED)))
    _, response, _ = handle(state, Create(obj=a_pod("b")), T0)
    assert response.code == 403
    assert "exceeded quota: q, requested: count/pods=1, used: count/pods=1" in str(response.body)


def test_a_deleting_pod_charges_until_its_deletion_timestamp_plus_grace() -> None:
    # Upstream's QuotaV1Pod adds the grace period to deletionTimestamp, which already lies
    # one grace period after the delete: a pod deleted at T0 with grace 30 charges to T0+60.
    state = cluster_with(quota(pods="1"))
    state = ok(state, Create(obj=a_pod("a", node_name="node-1", grace=30)))
    state = ok(state, Delete(key=key(Kind.POD, "a")))
    pod = stored_pod(state, "a")
    assert pod.metadata.deletion_timestamp == Time(T0 + 30)
    assert state.quota_usage["default"].deleting == pset([key(Kind.POD, "a")])
    _, refused, _ = handle(state, Create(obj=a_pod("b")), Time(T0 + 60))
    assert refused.code == 403
    _, admitted, _ = handle(state, Create(obj=a_pod("b")), Time(T0 + 61))
    assert admitted.code == 201


def test_scoped_buckets_keep_best_effort_pods_apart() -> None:
    state = cluster_with(quota(pods="1", scopes=(ResourceQuotaScope.BEST_EFFORT,)))
    state = ok(state, Create(obj=a_pod("burstable", containers=(a_container(cpu="1"),))))
    state = ok(state, Create(obj=a_pod("best-effort")))
    assert totals(state)[BEST_EFFORT] == {"count/pods": q("1"), "pods": q("1")}
    _, response, _ = handle(state, Create(obj=a_pod("another")), T0)
    assert response.code == 403
    ok(state, Create(obj=a_pod("burstable-2", containers=(a_container(cpu="1"),))))


def test_services_charge_node_ports_and_load_balancers() -> None:
    state = cluster_with(quota(services="5"))
    svc = a_service("lb", ports=(80, 443))
    ports = tuple(attrs.evolve(p, name=f"p{p.port}") for p in svc.spec.ports)
    svc = attrs.evolve(svc, spec=attrs.evolve(svc.spec, type=ServiceType.LOAD_BALANCER, ports=ports))
    state = ok(state, Create(obj=svc))
    assert totals(state)[None]["services.nodeports"] == q("2")
    assert totals(state)[None]["services.loadbalancers"] == q("1")


def test_the_index_equals_a_recount() -> None:
    state = store_pods(cluster_with(quota(pods="10"), a_config_map("c")), "a", "b")
    state = remove(state, key(Kind.CONFIG_MAP, "c"))
    assert quota_usage_of(state, "default") == recount_usage(
        state.tables, state.keys_by_namespace["default"]
    )


def test_a_read_quota_shows_hard_and_used_from_the_index() -> None:
    state = store_pods(cluster_with(quota(pods="10", requests_cpu="2", configmaps="5")), "a", "b")
    _, response, _ = handle(state, Get(key=key(Kind.RESOURCE_QUOTA, "q")), T0)
    read = response.body
    assert isinstance(read, ResourceQuota)
    assert read.status.hard == read.spec.hard
    assert dict(read.status.used) == {
        "pods": q("2"),
        "requests.cpu": q("200m"),
        "configmaps": q("0"),
    }
    _, listed, _ = handle(state, ListObjects(kind=Kind.RESOURCE_QUOTA, namespace="default"), T0)
    assert isinstance(listed.body, ObjectList)
    assert listed.body.items == (read,)
    stored = get(state, key(Kind.RESOURCE_QUOTA, "q"))
    assert isinstance(stored, ResourceQuota) and stored.status.used == pmap()
