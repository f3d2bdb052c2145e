"""The garbage collector: background, orphan and foreground propagation, dangling owners.

Each test builds a cluster with only the collector running, makes owners and dependents
through the apiserver, deletes an owner with a propagation policy and checks what is left.
"""

from __future__ import annotations

import attrs

from kcore.api.apps import ReplicaSet
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import FINALIZER_FOREGROUND, ApiObject, OwnerReference
from kcore.api.pod import Pod
from kcore.component.requests import Create, Delete, PropagationPolicy, Subresource, Update
from kcore.controllers.garbagecollector import GarbageCollector
from kcore.driver.bootstrap import create_cluster
from kcore.driver.cluster import Cluster
from kcore.driver.faults import CrashComponent
from kcore.driver.snapshot import Delivered
from kcore.state import ClusterConfig, get
from tests.builders import a_deployment, a_pod, a_replica_set, key, owner_ref


def gc_cluster() -> Cluster:
    base = create_cluster(ClusterConfig(seed=3), nodes=1)
    return Cluster(base.snapshot(), [GarbageCollector()])


def make(c: Cluster, obj: ApiObject) -> ApiObject:
    resp = c.request(Create(obj=obj))
    assert resp.ok, resp.body
    body = resp.body
    assert not isinstance(body, str)
    return body  # type: ignore[return-value]


def rs_with_pods(c: Cluster, n: int = 2, *, node: str = "") -> tuple[ReplicaSet, list[Pod]]:
    rs = make(c, a_replica_set("web"))
    assert isinstance(rs, ReplicaSet)
    pods = []
    for i in range(n):
        p = make(c, a_pod(f"web-{i}", labels={"app": "web"}, owners=[owner_ref(rs)], node_name=node))
        assert isinstance(p, Pod)
        pods.append(p)
    c.run_until_stable()
    return rs, pods


def present(c: Cluster, k: ObjectKey) -> ApiObject | None:
    return get(c.state, k)


def delete(c: Cluster, k: ObjectKey, policy: PropagationPolicy | None) -> None:
    assert c.request(Delete(key=k, propagation=policy)).ok
    c.run_until_stable()
    c.advance(5)


def test_owned_pods_stay_while_the_owner_lives() -> None:
    c = gc_cluster()
    rs, pods = rs_with_pods(c)
    c.advance(10)
    assert present(c, key(Kind.REPLICA_SET, "web")) == rs
    assert [present(c, key(Kind.POD, p.metadata.name)) for p in pods] == pods  # untouched


def test_background_deletion_removes_dependents_after_the_owner() -> None:
    c = gc_cluster()
    rs_with_pods(c)
    delete(c, key(Kind.REPLICA_SET, "web"), PropagationPolicy.BACKGROUND)
    assert present(c, key(Kind.REPLICA_SET, "web")) is None
    assert present(c, key(Kind.POD, "web-0")) is None
    assert present(c, key(Kind.POD, "web-1")) is None


def test_orphan_deletion_strips_owner_references_and_keeps_dependents() -> None:
    c = gc_cluster()
    rs_with_pods(c)
    delete(c, key(Kind.REPLICA_SET, "web"), PropagationPolicy.ORPHAN)
    assert present(c, key(Kind.REPLICA_SET, "web")) is None
    for name in ("web-0", "web-1"):
        pod = present(c, key(Kind.POD, name))
        assert pod is not None and pod.metadata.owner_references == ()


def test_foreground_deletion_waits_for_blocking_dependents() -> None:
    c = gc_cluster()
    rs_with_pods(c, node="node-1")  # bound pods terminate gracefully: nothing runs them here
    delete(c, key(Kind.REPLICA_SET, "web"), PropagationPolicy.FOREGROUND)
    owner = present(c, key(Kind.REPLICA_SET, "web"))
    assert owner is not None and FINALIZER_FOREGROUND in owner.metadata.finalizers
    pods = [present(c, key(Kind.POD, n)) for n in ("web-0", "web-1")]
    assert all(p is not None and p.metadata.deletion_timestamp is not None for p in pods)
    for n in ("web-0", "web-1"):  # what the kubelet does once containers stopped
        assert c.request(Delete(key=key(Kind.POD, n), grace_period_seconds=0)).ok
    c.run_until_stable()
    c.advance(5)
    assert present(c, key(Kind.REPLICA_SET, "web")) is None


def test_foreground_chain_deployment_replicaset_pods() -> None:
    c = gc_cluster()
    dep = make(c, a_deployment("web"))
    rs = make(c, a_replica_set("web-abc", labels={"app": "web"}, owners=[owner_ref(dep)]))
    make(c, a_pod("web-abc-1", labels={"app": "web"}, owners=[owner_ref(rs)]))
    c.run_until_stable()
    delete(c, key(Kind.DEPLOYMENT, "web"), PropagationPolicy.FOREGROUND)
    c.advance(10)
    for k in (key(Kind.DEPLOYMENT, "web"), key(Kind.REPLICA_SET, "web-abc"), key(Kind.POD, "web-abc-1")):
        assert present(c, k) is None, k


def test_a_dependent_whose_owner_never_existed_is_collected() -> None:
    c = gc_cluster()
    ghost = OwnerReference(api_version="apps/v1", kind="ReplicaSet", name="ghost", uid="no-such-uid", controller=True)
    make(c, a_pod("orphaned", owners=[ghost]))
    c.run_until_stable()
    assert present(c, key(Kind.POD, "orphaned")) is None


def test_a_stale_uid_is_dangling_even_if_the_name_exists() -> None:
    c = gc_cluster()
    make(c, a_replica_set("web"))
    stale = OwnerReference(api_version="apps/v1", kind="ReplicaSet", name="web", uid="old-uid")
    make(c, a_pod("p", owners=[stale]))
    c.run_until_stable()
    assert present(c, key(Kind.POD, "p")) is None


def test_a_solid_owner_keeps_the_dependent_and_the_dangling_ref_goes() -> None:
    c = gc_cluster()
    rs = make(c, a_replica_set("web"))
    ghost = OwnerReference(api_version="apps/v1", kind="ReplicaSet", name="ghost", uid="no-such-uid")
    make(c, a_pod("p", owners=[owner_ref(rs, controller=False), ghost]))
    c.run_until_stable()
    c.advance(5)
    pod = present(c, key(Kind.POD, "p"))
    assert pod is not None
    assert [r.name for r in pod.metadata.owner_references] == ["web"]


def test_cluster_scoped_owner_collects_namespaced_dependents() -> None:
    c = gc_cluster()
    node = present(c, key(Kind.NODE, "node-1"))
    assert node is not None
    make(c, a_pod("mirror", owners=[owner_ref(node, controller=False)]))
    c.run_until_stable()
    delete(c, key(Kind.NODE, "node-1"), None)
    assert present(c, key(Kind.POD, "mirror")) is None


def test_a_collector_restart_mid_orphaning_still_finishes() -> None:
    c = gc_cluster()
    rs_with_pods(c, 5)
    assert c.request(Delete(key=key(Kind.REPLICA_SET, "web"), propagation=PropagationPolicy.ORPHAN)).ok
    c.step()
    c.step()
    c.inject(CrashComponent(name="garbage-collector-controller"))
    c.run_until_stable()
    c.advance(5)
    assert present(c, key(Kind.REPLICA_SET, "web")) is None
    for i in range(5):
        pod = present(c, key(Kind.POD, f"web-{i}"))
        assert pod is not None and pod.metadata.owner_references == ()


def test_at_rest_another_round_emits_nothing() -> None:
    c = gc_cluster()
    rs_with_pods(c)
    c.advance(5)
    before = len(c.trace) + c.snapshot().trace_dropped
    c.advance(60)
    assert len(c.trace) + c.snapshot().trace_dropped == before


def status_write(c: Cluster, k: ObjectKey) -> None:
    """A status-only write, as a kubelet makes: nothing the collector reads changes."""
    pod = present(c, k)
    assert isinstance(pod, Pod)
    new = attrs.evolve(pod, status=attrs.evolve(pod.status, message=f"write {pod.metadata.resource_version}"))
    assert c.request(Update(obj=new, subresource=Subresource.STATUS)).ok


def gc_deliveries(c: Cluster) -> int:
    return sum(1 for e in c.trace if isinstance(e, Delivered) and e.component == "garbage-collector-controller")


def test_status_writes_are_not_delivered_and_orphaning_still_works_after_them() -> None:
    c = gc_cluster()
    rs_with_pods(c)
    before = gc_deliveries(c)
    for name in ("web-0", "web-1"):
        status_write(c, key(Kind.POD, name))
    c.run_until_stable()
    assert gc_deliveries(c) == before  # skipped: the view now lags the pods' resourceVersion
    delete(c, key(Kind.REPLICA_SET, "web"), PropagationPolicy.ORPHAN)
    assert present(c, key(Kind.REPLICA_SET, "web")) is None
    for name in ("web-0", "web-1"):
        pod = present(c, key(Kind.POD, name))
        assert pod is not None and pod.metadata.owner_references == ()
        assert isinstance(pod, Pod) and pod.status.message.startswith("write")  # the patch kept the status


def test_a_dangling_ref_goes_from_a_dependent_whose_status_moved_on() -> None:
    c = gc_cluster()
    rs = make(c, a_replica_set("web"))
    other = make(c, a_replica_set("other"))
    make(c, a_pod("p", owners=[owner_ref(rs, controller=False), owner_ref(other, controller=False)]))
    c.run_until_stable()
    status_write(c, key(Kind.POD, "p"))
    c.run_until_stable()
    delete(c, key(Kind.REPLICA_SET, "other"), PropagationPolicy.BACKGROUND)
    pod = present(c, key(Kind.POD, "p"))
    assert pod is not None
    assert [r.name for r in pod.metadata.owner_references] == ["web"]
