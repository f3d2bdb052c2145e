"""The namespace controller (deletion empties, then removes) and the service account
controller (`default` in every active namespace)."""

from __future__ import annotations

import attrs

from kcore.api.core import Namespace, NamespacePhase, ServiceAccount
from kcore.api.kinds import Kind
from kcore.api.meta import ApiObject
from kcore.component.requests import Create, Delete
from kcore.controllers.garbagecollector import GarbageCollector
from kcore.controllers.namespace import CONTENT_REMAINING, NamespaceController
from kcore.controllers.serviceaccount import ServiceAccountController
from kcore.driver.bootstrap import create_cluster
from kcore.driver.cluster import AnyComponent, Cluster
from kcore.state import ClusterConfig, get, keys_in_namespace, list_objects
from tests.builders import (
    a_config_map,
    a_namespace,
    a_pod,
    a_replica_set,
    a_service,
    key,
    owner_ref,
)


def cluster(*components: AnyComponent) -> Cluster:
    base = create_cluster(ClusterConfig(seed=5), nodes=1)
    c = Cluster(base.snapshot(), components)
    c.run_until_stable()
    return c


def make(c: Cluster, obj: ApiObject) -> ApiObject:
    resp = c.request(Create(obj=obj))
    assert resp.ok, resp.body
    return resp.body  # type: ignore[return-value]


def test_deleting_a_namespace_deletes_its_content_then_the_namespace() -> None:
    c = cluster(NamespaceController(), ServiceAccountController())
    make(c, a_namespace("team"))
    for obj in (a_config_map("cfg", "team"), a_service("web", "team"), a_pod("p", "team")):
        make(c, obj)
    c.run_until_stable()
    assert c.request(Delete(key=key(Kind.NAMESPACE, "team", ""))).ok
    c.run_until_stable()
    c.advance(5)
    assert get(c.state, key(Kind.NAMESPACE, "team", "")) is None
    assert keys_in_namespace(c.state, "team") == ()
    assert get(c.state, key(Kind.CONFIG_MAP, "cfg", "default")) is None  # never existed there


def test_a_terminating_namespace_waits_for_graceful_pods_and_says_what_remains() -> None:
    c = cluster(NamespaceController())
    make(c, a_namespace("team"))
    make(c, a_pod("running", "team", node_name="node-1"))  # bound: deleted gracefully
    c.run_until_stable()
    assert c.request(Delete(key=key(Kind.NAMESPACE, "team", ""))).ok
    c.run_until_stable()
    c.advance(5)
    ns = get(c.state, key(Kind.NAMESPACE, "team", ""))
    assert isinstance(ns, Namespace) and ns.status.phase is NamespacePhase.TERMINATING
    cond = {x.type: x for x in ns.status.conditions}[CONTENT_REMAINING]
    assert cond.message == "Some resources are remaining: pods has 1 resource instances"
    refused = c.request(Create(obj=a_config_map("late", "team")))
    assert refused.code == 403
    assert c.request(Delete(key=key(Kind.POD, "running", "team"), grace_period_seconds=0)).ok  # the kubelet's final delete
    c.run_until_stable()
    c.advance(5)
    assert get(c.state, key(Kind.NAMESPACE, "team", "")) is None


def test_namespace_deletion_with_owners_and_the_collector_leaves_nothing() -> None:
    c = cluster(NamespaceController(), GarbageCollector())
    make(c, a_namespace("team"))
    rs = make(c, a_replica_set("web", "team"))
    for i in range(3):
        make(c, a_pod(f"web-{i}", "team", labels={"app": "web"}, owners=[owner_ref(rs)]))
    c.run_until_stable()
    assert c.request(Delete(key=key(Kind.NAMESPACE, "team", ""))).ok
    c.run_until_stable()
    c.advance(10)
    assert get(c.state, key(Kind.NAMESPACE, "team", "")) is None
    assert keys_in_namespace(c.state, "team") == ()


def test_every_active_namespace_gets_a_default_service_account_again_and_again() -> None:
    c = cluster(ServiceAccountController())
    defaults = [sa.metadata.namespace for sa in list_objects(c.state, Kind.SERVICE_ACCOUNT) if sa.metadata.name == "default"]
    assert defaults == ["default", "kube-node-lease", "kube-public", "kube-system"]
    make(c, a_namespace("team"))
    c.run_until_stable()
    first = get(c.state, key(Kind.SERVICE_ACCOUNT, "default", "team"))
    assert isinstance(first, ServiceAccount)
    assert c.request(Delete(key=key(Kind.SERVICE_ACCOUNT, "default", "team"))).ok
    c.run_until_stable()
    again = get(c.state, key(Kind.SERVICE_ACCOUNT, "default", "team"))
    assert isinstance(again, ServiceAccount) and again.metadata.uid != first.metadata.uid  # a new one
    assert attrs.evolve(again, metadata=first.metadata) == first


def test_no_default_service_account_in_a_terminating_namespace() -> None:
    c = cluster(ServiceAccountController(), NamespaceController())
    make(c, a_namespace("team"))
    make(c, a_pod("running", "team", node_name="node-1"))
    c.run_until_stable()
    assert c.request(Delete(key=key(Kind.NAMESPACE, "team", ""))).ok
    c.run_until_stable()
    c.advance(3)
    assert get(c.state, key(Kind.SERVICE_ACCOUNT, "default", "team")) is None
