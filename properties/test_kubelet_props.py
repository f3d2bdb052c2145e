"""Laws of the kubelet under random workloads, deletions, kills and crashes.

- A pod's phase only moves forward: Pending -> Running -> Succeeded/Failed.
- A container's restartCount never decreases.
- Flat network: running pods have pairwise distinct IPs inside their node's podCIDR.
- Determinism: the same program gives the same final state.
"""

from __future__ import annotations

import ipaddress
from typing import Final

import attrs
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, rule

from kcore.api.kinds import Kind, ObjectKey
from kcore.api.pod import Pod, PodPhase, RestartPolicy
from kcore.apiserver.types import Create, Delete
from kcore.driver.bootstrap import create_cluster
from kcore.driver.cluster import Cluster
from kcore.driver.faults import CrashComponent, CrashNode, KillContainer, RestartNode
from kcore.kubelet.component import Kubelet
from kcore.kubelet.config import KubeletConfig
from kcore.state import ClusterConfig, list_objects
from tests.builders import a_pod

NODES: Final = ("node-1", "node-2")
CIDRS: Final = {"node-1": "10.244.0.0/24", "node-2": "10.244.1.0/24"}
RANK: Final = {PodPhase.PENDING: 0, PodPhase.RUNNING: 1, PodPhase.SUCCEEDED: 2, PodPhase.FAILED: 2}

SCRIPTS: Final[tuple[dict[str, str], ...]] = (
    {},
    {"kcore.io/crash-after": "3"},
    {"kcore.io/exit-code": "1"},
    {"kcore.io/exit-code": "0", "kcore.io/run-seconds": "4"},
    {"kcore.io/ready-after": "5"},
    {"kcore.io/fail-image-pull": "2"},
    {"kcore.io/stop-seconds": "100"},
)
POLICIES: Final = (RestartPolicy.ALWAYS, RestartPolicy.ON_FAILURE, RestartPolicy.NEVER)


def new_cluster() -> Cluster:
    kubelets = [Kubelet(config=KubeletConfig(node_name=n)) for n in NODES]
    return create_cluster(ClusterConfig(), nodes=len(NODES), components=kubelets)


class KubeletMachine(RuleBasedStateMachine):
    pods = Bundle("pods")

    def __init__(self) -> None:
        super().__init__()
        self.cluster = new_cluster()
        self.count = 0
        self.phases: dict[str, PodPhase] = {}
        self.restarts: dict[tuple[str, str], int] = {}

    @rule(
        target=pods,
        node=st.sampled_from(NODES),
        script=st.sampled_from(SCRIPTS),
        policy=st.sampled_from(POLICIES),
        grace=st.sampled_from((0, 5, 30)),
    )
    def create_pod(self, node: str, script: dict[str, str], policy: RestartPolicy, grace: int) -> ObjectKey:
        self.count += 1
        pod = a_pod(f"p{self.count}", node_name=node, annotations=script, grace=grace)
        pod = attrs.evolve(pod, spec=attrs.evolve(pod.spec, restart_policy=policy))
        assert self.cluster.request(Create(obj=pod)).ok
        return ObjectKey(kind=Kind.POD, namespace="default", name=pod.metadata.name)

    @rule(key=consumes(pods))
    def delete_pod(self, key: ObjectKey) -> None:
        self.cluster.request(Delete(key=key))

    @rule(seconds=st.sampled_from((1, 3, 10, 45)))
    def advance(self, seconds: int) -> None:
        assert self.cluster.advance(seconds)

    @rule(key=pods, node=st.sampled_from(NODES))
    def kill_container(self, key: ObjectKey, node: str) -> None:
        self.cluster.inject(KillContainer(node=node, pod=key, container="app"))

    @rule(node=st.sampled_from(NODES))
    def crash_kubelet(self, node: str) -> None:
        self.cluster.inject(CrashComponent(name=f"kubelet/{node}"))

    @rule(node=st.sampled_from(NODES), down=st.sampled_from((5, 30)))
    def crash_node(self, node: str, down: int) -> None:
        self.cluster.inject(CrashNode(node=node))
        assert self.cluster.advance(down)
        self.cluster.inject(RestartNode(node=node))

    def _pods(self) -> list[Pod]:
        return [p for p in list_objects(self.cluster.state, Kind.POD) if isinstance(p, Pod)]

    @invariant()
    def phase_only_moves_forward(self) -> None:
        for pod in self._pods():
            phase = pod.status.phase or PodPhase.PENDING
            before = self.phases.get(pod.metadata.uid)
            if before is not None:
                assert RANK[phase] >= RANK[before], (pod.metadata.name, before, phase)
                if RANK[before] == 2:
                    assert phase is before
            self.phases[pod.metadata.uid] = phase

    @invariant()
    def restart_count_never_decreases(self) -> None:
        for pod in self._pods():
            for cs in (*pod.status.init_container_statuses, *pod.status.container_statuses):
                k = (pod.metadata.uid, cs.name)
                assert cs.restart_count >= self.restarts.get(k, 0), (pod.metadata.name, cs)
                self.restarts[k] = cs.restart_count

    @invariant()
    def running_pods_have_distinct_ips_in_their_node_cidr(self) -> None:
        seen: dict[str, str] = {}
        for pod in self._pods():
            if pod.status.phase is not PodPhase.RUNNING or not pod.status.pod_ip:
                continue
            ip = pod.status.pod_ip
            assert ipaddress.ip_address(ip) in ipaddress.ip_network(CIDRS[pod.spec.node_name]), (pod.metadata.name, ip)
            assert ip not in seen, (pod.metadata.name, seen[ip], ip)
            seen[ip] = pod.metadata.name


KubeletMachine.TestCase.settings = settings(max_examples=12, stateful_step_count=14)
test_kubelet_machine = KubeletMachine.TestCase


def test_the_same_program_gives_the_same_state() -> None:
    def run() -> tuple[object, ...]:
        c = new_cluster()
        for i, script in enumerate(SCRIPTS):
            pod = a_pod(f"p{i}", node_name=NODES[i % 2], annotations=script)
            assert c.request(Create(obj=pod)).ok
        c.advance(30)
        c.inject(CrashComponent(name="kubelet/node-1"))
        c.advance(60)
        return tuple((p.metadata.name, p.status) for p in list_objects(c.state, Kind.POD) if isinstance(p, Pod))

    assert run() == run()
