"""The node IPAM controller driven by the Cluster facade (kcore.controllers.nodeipam)."""

from __future__ import annotations

import attrs
from pyrsistent import pset

from kcore.api.core import Event, Node
from kcore.api.kinds import Kind
from kcore.component.effects import CallApi
from kcore.component.requests import Create, Delete, Update
from kcore.controllers.nodeipam import NodeIpamController, NodeIpamState
from kcore.driver.bootstrap import create_cluster
from kcore.driver.cluster import Cluster
from kcore.driver.faults import CrashComponent
from kcore.state import ClusterConfig, get, list_objects
from tests.builders import a_node, cluster_with, key
from tests.rig import Rig


def _cluster(nodes: int = 3, cidr: str = "10.244.0.0/16") -> Cluster:
    return create_cluster(ClusterConfig(cluster_cidr=cidr), nodes=nodes, components=(NodeIpamController(),))


def _cidrs(c: Cluster) -> dict[str, tuple[str, tuple[str, ...]]]:
    out = {}
    for obj in list_objects(c.state, Kind.NODE):
        assert isinstance(obj, Node)
        out[obj.metadata.name] = (obj.spec.pod_cidr, obj.spec.pod_cidrs)
    return out


def _add(c: Cluster, name: str) -> None:
    assert c.request(Create(obj=a_node(name))).ok
    c.run_until_stable()


def _events(c: Cluster, reason: str) -> list[tuple[str, str, str]]:
    return [
        (e.involved_object.name, e.type, e.message)
        for e in list_objects(c.state, Kind.EVENT)
        if isinstance(e, Event) and e.reason == reason
    ]


def test_bootstrap_cidrs_are_respected_and_a_new_node_gets_the_next_free_24() -> None:
    c = _cluster()
    _add(c, "node-4")
    assert _cidrs(c) == {
        "node-1": ("10.244.0.0/24", ("10.244.0.0/24",)),
        "node-2": ("10.244.1.0/24", ("10.244.1.0/24",)),
        "node-3": ("10.244.2.0/24", ("10.244.2.0/24",)),
        "node-4": ("10.244.3.0/24", ("10.244.3.0/24",)),
    }


def test_a_node_without_a_podcidr_gets_the_lowest_free_24_through_an_update_tagged_with_its_key() -> None:
    rig = Rig(NodeIpamController(), state=cluster_with(a_node("n1"), namespaces=()))
    n1 = rig.get(key(Kind.NODE, "n1"), Node)
    (update,) = rig.start()
    given = attrs.evolve(n1, spec=attrs.evolve(n1.spec, pod_cidr="10.244.0.0/24", pod_cidrs=("10.244.0.0/24",)))
    assert update == CallApi(request=Update(obj=given), tag=key(Kind.NODE, "n1"))
    assert rig.s.in_flight == pset({"n1"})
    assert rig.settle([update]) == [update]  # the answer and the watch event ask for nothing more
    assert rig.get(key(Kind.NODE, "n1"), Node).spec.pod_cidrs == ("10.244.0.0/24",)
    assert rig.s.in_flight == pset()


def test_nodes_added_together_never_share_a_cidr() -> None:
    c = _cluster(nodes=0)
    for i in range(1, 6):
        assert c.request(Create(obj=a_node(f"n{i}"))).ok
    c.run_until_stable()
    cidrs = [pc for pc, _ in _cidrs(c).values()]
    assert sorted(cidrs) == [f"10.244.{i}.0/24" for i in range(5)]


def test_a_deleted_nodes_cidr_is_given_to_the_next_node() -> None:
    c = _cluster()
    assert c.request(Delete(key=key(Kind.NODE, "node-2"))).ok
    c.run_until_stable()
    _add(c, "node-9")
    assert _cidrs(c)["node-9"] == ("10.244.1.0/24", ("10.244.1.0/24",))


def test_exhausted_range_records_cidr_not_available_once_and_retries_after_a_delete() -> None:
    c = _cluster(nodes=2, cidr="10.244.0.0/23")
    _add(c, "node-3")
    _add(c, "node-4")
    assert _cidrs(c)["node-3"] == ("", ())
    assert _events(c, "CIDRNotAvailable") == [
        ("node-3", "Normal", "Node node-3 status is now: CIDRNotAvailable"),
        ("node-4", "Normal", "Node node-4 status is now: CIDRNotAvailable"),
    ]
    assert c.request(Delete(key=key(Kind.NODE, "node-1"))).ok
    c.run_until_stable()
    cidrs = _cidrs(c)
    assert cidrs["node-3"] == ("10.244.0.0/24", ("10.244.0.0/24",))
    assert cidrs["node-4"] == ("", ())
    assert len(_events(c, "CIDRNotAvailable")) == 2


def test_a_restarted_controller_keeps_every_assignment() -> None:
    c = _cluster(nodes=1)
    _add(c, "extra")
    c.inject(CrashComponent(name="node-ipam-controller"))
    c.run_until_stable()
    _add(c, "later")
    cidrs = _cidrs(c)
    assert cidrs["extra"][0] == "10.244.1.0/24"
    assert cidrs["later"][0] == "10.244.2.0/24"
    st = c.component_state("node-ipam-controller")
    assert isinstance(st, NodeIpamState)
    assert st.in_flight == pset()


def test_a_bad_cluster_cidr_tells_each_node_and_assigns_nothing() -> None:
    c = create_cluster(ClusterConfig(cluster_cidr="10.244.0.0/33"), components=(NodeIpamController(),))
    _add(c, "n1")
    node = get(c.state, key(Kind.NODE, "n1"))
    assert isinstance(node, Node) and node.spec.pod_cidr == ""
    (event,) = _events(c, "CIDRNotAvailable")
    assert event[0] == "n1"
    assert "clusterCIDR" in event[2]
