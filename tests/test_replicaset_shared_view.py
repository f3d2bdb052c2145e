"""The ReplicaSet/RC controller on the driver's shared informer view, with its `wants`
filter: which pod events it drops, and that dropping them changes no effect (a controller
fed the dropped events too acts the same), under the real driver as well."""

from __future__ import annotations

import attrs
from pyrsistent import pmap

from kcore.api.apps import ReplicaSet, StatefulSet, StatefulSetSpec
from kcore.api.core import ReplicationController, ReplicationControllerSpec
from kcore.api.kinds import Kind
from kcore.api.meta import ApiObject, ObjectMeta, OwnerReference
from kcore.api.pod import LabelSelector, Pod
from kcore.apiserver import handle
from kcore.apiserver.types import Create, Request, Update, WatchEvent, WatchType
from kcore.controllers.replicaset import (
    ReplicaController,
    ReplicaSetController,
    ReplicaSetState,
    ReplicationControllerController,
)
from kcore.driver.cluster import Cluster, Delivered
from kcore.driver.effects import CallApi, Effect
from kcore.driver.events import Started, WatchDelivered
from kcore.driver.informer import observe
from kcore.state import ClusterState, get, list_objects
from tests.builders import (
    T0,
    a_node,
    a_pod,
    a_replica_set,
    a_template,
    cluster_with,
    key,
    owner_ref,
)

RS = ReplicaSetController()
RC = ReplicationControllerController()


def foreign_ref(name: str = "db", *, controller: bool = True) -> OwnerReference:
    return OwnerReference(api_version="apps/v1", kind="StatefulSet", name=name, uid=f"uid-{name}", controller=controller)


def with_refs(pod: Pod, *refs: OwnerReference) -> Pod:
    return attrs.evolve(pod, metadata=attrs.evolve(pod.metadata, owner_references=refs))


def ev(obj: ApiObject, type: WatchType = WatchType.MODIFIED) -> WatchEvent:
    return WatchEvent(type=type, obj=obj, resource_version=7)


def rs_ref(name: str = "web") -> OwnerReference:
    return OwnerReference(api_version="apps/v1", kind="ReplicaSet", name=name, uid=f"uid-{name}", controller=True)


# --- the filter -------------------------------------------------------------------------------


def test_the_replicaset_controller_drops_added_and_modified_pods_of_another_kind() -> None:
    pod = with_refs(a_pod("db-0"), foreign_ref())
    assert not RS.wants(ev(pod, WatchType.ADDED))
    assert not RS.wants(ev(pod, WatchType.MODIFIED))


def test_the_rc_controller_drops_the_pods_of_replica_sets() -> None:
    pod = with_refs(a_pod("web-x"), rs_ref())
    assert not RC.wants(ev(pod, WatchType.ADDED))
    assert not RC.wants(ev(pod, WatchType.MODIFIED))
    assert RS.wants(ev(pod, WatchType.MODIFIED))


def test_orphans_own_pods_deletions_and_owners_are_always_taken() -> None:
    orphan = a_pod("stray", labels={"app": "web"})
    foreign = with_refs(a_pod("db-0"), foreign_ref())
    for t in (WatchType.ADDED, WatchType.MODIFIED, WatchType.DELETED):
        assert RS.wants(ev(orphan, t)) and RC.wants(ev(orphan, t))
        assert RS.wants(ev(with_refs(a_pod("web-x"), rs_ref()), t))
        assert RS.wants(ev(a_replica_set("web"), t)) and RC.wants(ev(a_replica_set("web"), t))
    assert RS.wants(ev(foreign, WatchType.DELETED)) and RC.wants(ev(foreign, WatchType.DELETED))


def test_a_pod_still_naming_an_owner_of_its_kind_is_taken_whoever_controls_it() -> None:
    pod = with_refs(a_pod("web-x"), attrs.evolve(rs_ref(), controller=False), foreign_ref())
    assert RS.wants(ev(pod))
    assert not RC.wants(ev(pod))
    not_controlling = with_refs(a_pod("web-y"), foreign_ref(controller=False))
    assert RS.wants(ev(not_controlling)) and RC.wants(ev(not_controlling))  # still an orphan


# --- dropping changes nothing -----------------------------------------------------------------


class Twin:
    """Two copies of one controller over one apiserver state: `full` is handed every watch
    event, `filtered` only those `wants` accepts; both get the shared view."""

    def __init__(self, comp: ReplicaController, *objects: ApiObject) -> None:
        self.comp = comp
        self.state: ClusterState = cluster_with(a_node(), *objects)
        self.full: ReplicaSetState = comp.init(self.state, T0)[0]
        self.filtered: ReplicaSetState = self.full
        self.dropped = 0

    def step_both(self, event: Started | WatchDelivered) -> tuple[tuple[Effect, ...], tuple[Effect, ...]]:
        self.full, a = self.comp.step(self.full, event)
        if isinstance(event, WatchDelivered) and not self.comp.wants(event.event):
            self.dropped += 1
            return a, ()
        self.filtered, b = self.comp.step(self.filtered, event)
        return a, b

    def request(self, req: Request) -> list[tuple[tuple[Effect, ...], tuple[Effect, ...]]]:
        """Perform `req`; deliver its watch events (with the view after each) to both."""
        before = self.state
        self.state, resp, events = handle(before, req, T0)
        assert resp.ok, resp
        out = []
        view = before
        for e in events:
            # as the driver: one event carries the new state, several are folded one by one
            view = self.state if len(events) == 1 else observe(view, e)
            if e.obj.KIND in self.comp.watches:
                out.append(self.step_both(WatchDelivered(event=e, now=T0, view=view)))
        return out


def calls(effects: tuple[Effect, ...]) -> list[object]:
    return [e.request for e in effects if isinstance(e, CallApi)]


def annotated(twin: Twin, value: str) -> ReplicaSet:
    stored = get(twin.state, key(Kind.REPLICA_SET, "web"))
    assert isinstance(stored, ReplicaSet)
    return attrs.evolve(stored, metadata=attrs.evolve(stored.metadata, annotations=pmap({"a": value})))


def test_an_orphan_adopted_by_another_kind_unseen_is_replaced_at_the_owners_next_sync() -> None:
    rs = a_replica_set("web", replicas=1, labels={"app": "web"})
    twin = Twin(RS, rs, a_pod("stray", labels={"app": "web"}))
    a, b = twin.step_both(Started(now=T0))
    assert calls(a) == calls(b) and len(calls(a)) == 2  # the adopt patch and a status write
    # a sync while the adopt patch is out: the tally is counted again, with the pod to adopt
    for a, b in twin.request(Update(obj=annotated(twin, "first"))):
        assert calls(a) == calls(b) == []
    stray = get(twin.state, key(Kind.POD, "stray"))
    assert isinstance(stray, Pod)
    # another kind's controller takes the orphan first: the filtered controller never sees
    # it (as upstream's updatePod, which queues no owner for it), the full one syncs at once
    ((early, none),) = twin.request(Update(obj=with_refs(stray, foreign_ref())))
    assert twin.dropped == 1 and none == ()
    ((late, b),) = twin.request(Update(obj=annotated(twin, "second")))
    creates = [r for r in calls(b) if isinstance(r, Create)]
    assert len(creates) == 1  # the pod it no longer gets is replaced, from a recount
    assert creates == [r for r in calls((*early, *late)) if isinstance(r, Create)]
    assert twin.full.tallies == twin.filtered.tallies


def test_an_rc_beside_a_replica_set_acts_the_same_without_the_replica_sets_pods() -> None:
    rs = a_replica_set("web", replicas=2, labels={"app": "web"})
    rc = ReplicationController(
        metadata=ObjectMeta(name="db", namespace="default"),
        spec=ReplicationControllerSpec(replicas=1, selector=pmap({"app": "db"}), template=a_template({"app": "db"})),
    )
    twin = Twin(RC, rs, rc)
    a, b = twin.step_both(Started(now=T0))
    assert calls(a) == calls(b)
    stored_rs = get(twin.state, key(Kind.REPLICA_SET, "web"))
    assert stored_rs is not None
    for i in range(3):
        pod = with_refs(a_pod(f"web-{i}", labels={"app": "web"}), owner_ref(stored_rs))
        for a, b in twin.request(Create(obj=pod)):
            assert calls(a) == calls(b) == []
    assert twin.dropped == 3
    assert twin.full.tallies == twin.filtered.tallies


# --- the real driver --------------------------------------------------------------------------


def test_with_the_real_driver_each_controller_keeps_its_replicas_and_the_rc_one_skips_rs_pods() -> None:
    rs = a_replica_set("web", replicas=3, labels={"app": "web"})
    rc = ReplicationController(
        metadata=ObjectMeta(name="db", namespace="default"),
        spec=ReplicationControllerSpec(replicas=2, selector=pmap({"app": "db"}), template=a_template({"app": "db"})),
    )
    other = StatefulSet(
        metadata=ObjectMeta(name="cache", namespace="default", uid="uid-cache"),
        spec=StatefulSetSpec(selector=LabelSelector(match_labels=pmap({"app": "cache"})), template=a_template({"app": "cache"})),
    )
    c = Cluster.empty(cluster_with(a_node(), rs, rc, other), [RS, RC])
    stored = get(c.state, key(Kind.STATEFUL_SET, "cache"))
    assert stored is not None
    assert c.request(Create(obj=with_refs(a_pod("cache-0", labels={"app": "cache"}), owner_ref(stored)))).ok
    assert c.run_until_stable()
    pods = [p for p in list_objects(c.state, Kind.POD) if isinstance(p, Pod)]
    by_owner: dict[str, int] = {}
    for p in pods:
        ref = next((r for r in p.metadata.owner_references if r.controller), None)
        name = "" if ref is None else f"{ref.kind}/{ref.name}"
        by_owner[name] = by_owner.get(name, 0) + 1
    assert by_owner == {"ReplicaSet/web": 3, "ReplicationController/db": 2, "StatefulSet/cache": 1}
    got_rs, got_rc = get(c.state, key(Kind.REPLICA_SET, "web")), get(c.state, key(Kind.REPLICATION_CONTROLLER, "db"))
    assert isinstance(got_rs, ReplicaSet) and got_rs.status.replicas == 3
    assert isinstance(got_rc, ReplicationController) and got_rc.status.replicas == 2
    delivered = [e for e in c.trace if isinstance(e, Delivered) and isinstance(e.event, WatchDelivered)]
    pod_kinds = {
        (e.component, r.kind)
        for e in delivered
        if isinstance(e.event, WatchDelivered) and e.event.event.obj.KIND is Kind.POD
        for r in e.event.event.obj.metadata.owner_references
    }
    assert ("replicationcontroller-controller", "ReplicaSet") not in pod_kinds
    assert ("replicaset-controller", "StatefulSet") not in pod_kinds
    assert ("replicaset-controller", "ReplicaSet") in pod_kinds
