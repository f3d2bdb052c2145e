"""The kubelet's idle heartbeat fast paths equal the slow paths they replace.

`renew_lease` (evolvers, the owner built only when missing) against the Lease renewal
written out with `attrs.evolve`; `with_lease` against `informer.observe`; and the
component's heartbeat and Lease answers, stepped through a live cluster (renewals,
status reports falling due, a Lease taken by someone else, a deleted Lease, a partition),
against `node_status_request` / `lease_request` / `observe` on the view the step saw.
"""

from __future__ import annotations

from typing import Any

import attrs
from pyrsistent import pmap

from kcore.api.coordination import Lease
from kcore.api.core import EventSource, Node, ResourceQuota, ResourceQuotaSpec
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import MicroTime, ObjectMeta, OwnerReference, Time
from kcore.api.watch import WatchEvent, WatchType
from kcore.component.effects import CallApi, Effect, WakeMeAt
from kcore.component.events import ApiAnswered, Event, TimerFired
from kcore.component.informer import observe
from kcore.component.requests import Create, Delete, Get, Request, Subresource, Update
from kcore.driver.bootstrap import create_cluster
from kcore.driver.cluster import Cluster
from kcore.driver.faults import HealPartition, PartitionNode
from kcore.kubelet.component import (
    Kubelet,
    KubeletState,
    LeaseRead,
    LeaseRenewal,
    NodeStatusUpdate,
    Timer,
    with_lease,
)
from kcore.kubelet.config import KubeletConfig
from kcore.kubelet.node_status import lease_key, lease_request, node_status_request, renew_lease
from kcore.quantity import parse_quantity
from kcore.state import ClusterConfig, ClusterState, get, put
from tests.builders import a_node, cluster_with

CONFIG = KubeletConfig(node_name="node-1")
LEASE_KEY = lease_key(CONFIG)


def _slow_lease_request(view: ClusterState, config: KubeletConfig, now: Time) -> Request:
    """The Lease renewal as it was written before the evolvers: `attrs.evolve` throughout."""
    node = get(view, ObjectKey(kind=Kind.NODE, namespace="", name=config.node_name))
    owner = (
        OwnerReference(api_version="v1", kind="Node", name=node.metadata.name, uid=node.metadata.uid)
        if isinstance(node, Node) and node.metadata.uid
        else None
    )
    found = get(view, lease_key(config))
    base = (
        found
        if isinstance(found, Lease)
        else Lease(metadata=ObjectMeta(name=config.node_name, namespace="kube-node-lease"))
    )
    meta = base.metadata
    if owner is not None and not meta.owner_references:
        meta = attrs.evolve(meta, owner_references=(owner,))
    spec = attrs.evolve(
        base.spec,
        holder_identity=config.node_name,
        lease_duration_seconds=config.node_lease_duration_seconds,
        renew_time=MicroTime(now),
    )
    lease = attrs.evolve(base, metadata=meta, spec=spec)
    return Update(obj=lease) if isinstance(found, Lease) else Create(obj=lease)


def _node(uid: str = "uid-1") -> Node:
    n = a_node("node-1")
    return attrs.evolve(n, metadata=attrs.evolve(n.metadata, uid=uid, resource_version=7))


def _lease(owners: tuple[OwnerReference, ...] = (), rv: int = 9, holder: str | None = "node-1") -> Lease:
    lease = Lease(metadata=ObjectMeta(name="node-1", namespace="kube-node-lease", owner_references=owners, resource_version=rv))
    return attrs.evolve(lease, spec=attrs.evolve(lease.spec, holder_identity=holder, lease_duration_seconds=40))


OWNER = OwnerReference(api_version="v1", kind="Node", name="node-1", uid="uid-1")
OTHER_OWNER = OwnerReference(api_version="v1", kind="Node", name="node-1", uid="uid-0")


def _views() -> list[ClusterState]:
    """Views a kubelet may hold: with or without its Node (with or without a uid) and Lease."""
    bare = cluster_with(namespaces=("kube-node-lease",))
    views = [bare, put(bare, _node()), put(bare, _node(uid=""))]
    for lease in (_lease(), _lease(owners=(OWNER,)), _lease(owners=(OTHER_OWNER,), holder="intruder")):
        views += [put(v, lease) for v in views[:3]]
    return views


def test_renew_lease_equals_the_attrs_evolve_renewal_in_every_view() -> None:
    for view in _views():
        for config in (CONFIG, KubeletConfig(node_name="node-1", node_lease_duration_seconds=15)):
            now = Time(1_000.5)
            assert lease_request(view, config, now) == _slow_lease_request(view, config, now)
            node, lease = get(view, ObjectKey(kind=Kind.NODE, namespace="", name="node-1")), get(view, LEASE_KEY)
            fast = renew_lease(
                lease if isinstance(lease, Lease) else None, node if isinstance(node, Node) else None, config, now
            )
            assert fast == _slow_lease_request(view, config, now)


def _quota_view(view: ClusterState) -> ClusterState:
    quota = ResourceQuota(
        metadata=ObjectMeta(name="q", namespace="kube-node-lease", uid="q-uid", resource_version=3),
        spec=ResourceQuotaSpec(hard=pmap({"count/leases.coordination.k8s.io": parse_quantity("5")})),
    )
    return put(view, quota)


def test_with_lease_equals_observe() -> None:
    renewed = [
        _lease(rv=20),  # a renewal as answered
        _lease(owners=(OWNER,), rv=21),  # ... that gained its owner
        attrs.evolve(_lease(owners=(OWNER,), rv=22), metadata=attrs.evolve(_lease(owners=(OWNER,)).metadata, resource_version=22)),
        _lease(owners=(OTHER_OWNER,), rv=4),  # older than the view's revision
    ]
    views = _views()
    views += [_quota_view(v) for v in views]  # a namespace with quota: `put` recharges
    checked = 0
    for view in views:
        view = attrs.evolve(view, revision=max(view.revision, 10))
        for body in renewed:
            ev = WatchEvent(type=WatchType.MODIFIED, obj=body, resource_version=body.metadata.resource_version)
            assert with_lease(view, body) == observe(view, ev)
            checked += 1
    assert checked == len(views) * len(renewed)


def test_with_lease_keeps_the_owner_index_in_step() -> None:
    view = put(cluster_with(namespaces=("kube-node-lease",)), _lease(rv=5))
    owned = with_lease(view, _lease(owners=(OWNER,), rv=12))
    assert owned.dependents_by_owner_uid.get("uid-1") is not None
    assert owned == observe(view, WatchEvent(type=WatchType.MODIFIED, obj=_lease(owners=(OWNER,), rv=12), resource_version=12))
    assert owned.revision == 12


# --- the component, stepped in a live cluster -----------------------------------------------------


@attrs.frozen(kw_only=True)
class _Checked:
    """The kubelet of node-1, checking each heartbeat and Lease answer against the slow
    path on the view the step saw; `seen` counts the checks (a mutable list: test-only)."""

    kubelet: Kubelet
    seen: list[str]

    @property
    def name(self) -> str:
        return self.kubelet.name

    @property
    def event_source(self) -> EventSource:
        return self.kubelet.event_source

    @property
    def watches(self) -> frozenset[Kind]:
        return self.kubelet.watches

    def init(self, view: ClusterState, now: Time) -> tuple[KubeletState, tuple[Effect, ...]]:
        return self.kubelet.init(view, now)

    def step(self, s: KubeletState, event: Event) -> tuple[KubeletState, tuple[Effect, ...]]:
        new, effects = self.kubelet.step(s, event)
        if isinstance(event, TimerFired) and event.key is Timer.HEARTBEAT:
            expected: list[Request] = []
            status = node_status_request(s.view, CONFIG, event.now)
            calls = [e for e in effects if isinstance(e, CallApi)]
            if len(calls) == 2 or status is not None:  # the fast check may skip only a None
                assert status is not None
                expected.append(status)
                self.seen.append("status")
            expected.append(_slow_lease_request(s.view, CONFIG, event.now))
            assert [e.request for e in calls] == expected
            renewal = LeaseRenewal(at=event.now)
            assert [e.tag for e in calls] == ([NodeStatusUpdate(at=event.now)] if len(calls) == 2 else []) + [renewal]
            assert effects[-1] == WakeMeAt(at=Time(event.now + 10.0), key=Timer.HEARTBEAT)
            assert new.now == event.now
            self.seen.append("heartbeat")
        elif isinstance(event, ApiAnswered) and isinstance(event.tag, LeaseRenewal | LeaseRead):
            body = event.response.body
            if event.response.ok and isinstance(body, Lease):
                ev = WatchEvent(type=WatchType.MODIFIED, obj=body, resource_version=body.metadata.resource_version)
                assert new.view == observe(s.view, ev)
                assert effects == ()
                self.seen.append("renewed")
            else:
                self.seen.append("refused")
                reread = [e for e in effects if isinstance(e, CallApi)]
                assert reread in ([], [CallApi(request=Get(key=LEASE_KEY), tag=LeaseRead(at=event.now))])
            assert new.now == event.now
        return new, effects


def _checked_cluster() -> tuple[Cluster, list[str]]:
    seen: list[str] = []
    comp: Any = _Checked(kubelet=Kubelet(config=CONFIG), seen=seen)
    return create_cluster(ClusterConfig(), nodes=1, components=[comp]), seen


def _stored_lease(c: Cluster) -> Lease:
    obj = get(c.state, LEASE_KEY)
    assert isinstance(obj, Lease)
    return obj


def test_heartbeats_and_lease_answers_equal_the_slow_path_through_reports_and_refusals() -> None:
    c, seen = _checked_cluster()
    c.advance(660.0)  # 66 heartbeats: two status reports fall due (every 300 s)
    assert seen.count("heartbeat") >= 66 and seen.count("status") >= 2 and seen.count("renewed") >= 66
    lease = _stored_lease(c)
    taken = attrs.evolve(lease, spec=attrs.evolve(lease.spec, holder_identity="intruder"))
    assert c.request(Update(obj=taken)).ok
    c.advance(25.0)  # a 409, a re-read, a renewal
    assert "refused" in seen and _stored_lease(c).spec.holder_identity == "node-1"
    assert c.request(Delete(key=LEASE_KEY)).ok
    c.advance(25.0)  # a 404, a re-read that finds none, a create
    assert _stored_lease(c).metadata.uid != lease.metadata.uid
    c.inject(PartitionNode(node="node-1"))
    c.advance(30.0)  # 504s: nothing is re-read, the next heartbeat tries again
    c.inject(HealPartition(node="node-1"))
    before = seen.count("renewed")
    c.advance(30.0)
    assert seen.count("renewed") > before


def test_a_node_status_change_is_checked_again_at_the_next_heartbeat() -> None:
    c, seen = _checked_cluster()
    c.advance(30.0)
    node = get(c.state, ObjectKey(kind=Kind.NODE, namespace="", name="node-1"))
    assert isinstance(node, Node)
    # someone else drops the kubelet's conditions: the Node's rv moves, the check runs again
    changed = attrs.evolve(node, status=attrs.evolve(node.status, conditions=()))
    assert c.request(Update(obj=changed, subresource=Subresource.STATUS)).ok
    statuses = seen.count("status")
    c.advance(10.0)
    assert seen.count("status") == statuses + 1
