"""The DaemonSet controller through the driver, under random node churn: nodes join and
leave, gain and lose the selected label and a NoExecute taint, while the driver delivers
events a few at a time. The `nodes` bundle holds the names of the nodes that joined;
a node leaves by being consumed from it. At every step no node has two live daemon pods;
once the cluster is stable every eligible node has exactly one and no other node has any.

The scheduler is left out: pending pods map to their node by the pinning affinity, and a
node's deletion takes its pending pods with it (bound pods would wait for pod GC)."""

from __future__ import annotations

import attrs
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, initialize, invariant, rule

from kcore.api.apps import DaemonSet
from kcore.api.core import Node, Taint
from kcore.api.kinds import Kind
from kcore.api.pod import Pod, TaintEffect
from kcore.component.requests import Create, Delete, Update
from kcore.controllers import daemonset_util as du
from kcore.controllers.daemonset import DaemonSetController
from kcore.driver.cluster import Cluster
from kcore.state import get, list_objects
from tests.builders import a_daemon_set, a_node, cluster_with, key

SELECTED = "run"


def a_daemon_node(name: str, selected: bool, tainted: bool) -> Node:
    node = a_node(name, labels={SELECTED: "yes" if selected else "no"})
    taints = (Taint(key="maintenance", effect=TaintEffect.NO_EXECUTE),) if tainted else ()
    return attrs.evolve(node, spec=attrs.evolve(node.spec, taints=taints))


class DaemonSetChurn(RuleBasedStateMachine):
    nodes = Bundle("nodes")

    def __init__(self) -> None:
        super().__init__()
        self.cluster = Cluster.empty(cluster_with(a_daemon_node("n0", True, False)), [DaemonSetController()])
        assert self.cluster.request(Create(obj=a_daemon_set(node_selector={SELECTED: "yes"}))).ok
        self.created = 1

    @initialize(target=nodes)
    def the_first_node(self) -> str:
        """n0, selected and untainted, is there before the DaemonSet."""
        return "n0"

    # -- views

    def stored_nodes(self) -> list[Node]:
        return [n for n in list_objects(self.cluster.state, Kind.NODE) if isinstance(n, Node)]

    def placement(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for p in list_objects(self.cluster.state, Kind.POD):
            if isinstance(p, Pod) and p.metadata.deletion_timestamp is None:
                node = du.target_node_name(p)
                counts[node] = counts.get(node, 0) + 1
        return counts

    def node(self, name: str) -> Node:
        node = get(self.cluster.state, key(Kind.NODE, name))
        assert isinstance(node, Node), name
        return node

    def update(self, node: Node) -> None:
        assert self.cluster.request(Update(obj=node)).ok

    # -- user actions

    @rule(target=nodes, selected=st.booleans(), tainted=st.booleans())
    def add_node(self, selected: bool, tainted: bool) -> str:
        name = f"n{self.created}"
        self.created += 1
        assert self.cluster.request(Create(obj=a_daemon_node(name, selected, tainted))).ok
        return name

    @rule(name=consumes(nodes))
    def remove_node(self, name: str) -> None:
        assert self.cluster.request(Delete(key=key(Kind.NODE, name))).ok

    @rule(name=nodes, selected=st.booleans())
    def relabel(self, name: str, selected: bool) -> None:
        node = self.node(name)
        labels = node.metadata.labels.set(SELECTED, "yes" if selected else "no")
        self.update(attrs.evolve(node, metadata=attrs.evolve(node.metadata, labels=labels)))

    @rule(name=nodes, tainted=st.booleans())
    def taint(self, name: str, tainted: bool) -> None:
        node = self.node(name)
        taints = (Taint(key="maintenance", effect=TaintEffect.NO_EXECUTE),) if tainted else ()
        self.update(attrs.evolve(node, spec=attrs.evolve(node.spec, taints=taints)))

    # -- the driver

    @rule(steps=st.integers(1, 15))
    def deliver_some(self, steps: int) -> None:
        for _ in range(steps):
            if not self.cluster.step():
                return
            self.never_two_on_one_node()

    @rule()
    def settle(self) -> None:
        assert self.cluster.run_until_stable()
        ds = get(self.cluster.state, key(Kind.DAEMON_SET, "agent"))
        assert isinstance(ds, DaemonSet)
        eligible = {n.metadata.name for n in self.stored_nodes() if du.node_should_run(n, ds)[0]}
        assert self.placement() == dict.fromkeys(eligible, 1)
        assert ds.status.desired_number_scheduled == len(eligible)
        assert ds.status.current_number_scheduled == len(eligible)

    @invariant()
    def never_two_on_one_node(self) -> None:
        crowded = {n: k for n, k in self.placement().items() if k > 1}
        assert not crowded, crowded


DaemonSetChurn.TestCase.settings = settings(
    settings.get_profile("ci"), max_examples=25, stateful_step_count=25
)
test_daemon_set_churn = DaemonSetChurn.TestCase
