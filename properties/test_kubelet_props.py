"""Laws of the kubelet under random workloads, deletions, kills and crashes.

- A pod's phase only moves forward: Pending -> Running -> Succeeded/Failed.
- A container's restartCount never decreases.
- Flat network: running pods have pairwise distinct IPs inside their node's podCIDR.
- Determinism: the same program gives the same final state.
- The kubelet's fast paths equal their slow paths in every state it reaches: the cached
  node IP is the view's, `status_phase` is `compute_status(...).phase`, the runs are in
  spec order, the conditions (which reuse unchanged previous ones) equal conditions
  built afresh as upstream's generate.go does, and a status the memo settles
  (`settled_status`) is the one `compute_status` gives.
"""

from __future__ import annotations

import ipaddress
from typing import Final

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, rule
from pyrsistent import pmap

from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ConditionStatus, Time
from kcore.api.pod import (
    Container,
    ContainerRestartPolicy,
    HostIP,
    Pod,
    PodCondition,
    PodIP,
    PodPhase,
    PodStatus,
    RestartPolicy,
)
from kcore.component.requests import Create, Delete
from kcore.driver.bootstrap import create_cluster
from kcore.driver.cluster import Cluster
from kcore.driver.faults import CrashComponent, CrashNode, KillContainer, RestartNode
from kcore.kubelet import pod_status as ps
from kcore.kubelet import pod_worker as pw
from kcore.kubelet import probes
from kcore.kubelet.admission import Rejection
from kcore.kubelet.component import Kubelet, KubeletState, Reported, node_ip_of
from kcore.kubelet.config import KubeletConfig
from kcore.runtime.cri import ProbeKind
from kcore.scheduler.nodeinfo import pod_requests
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


    @invariant()
    def fast_paths_equal_slow_paths(self) -> None:
        for node in NODES:
            s = self.cluster.component_state(f"kubelet/{node}")
            assert isinstance(s, KubeletState)
            check_fast_paths(s, KubeletConfig(node_name=node))


def slow_ordered_runs(w: pw.PodWorker) -> tuple[pw.ContainerRun, ...]:
    """The runs looked up by name in spec order, as before they were kept in that order."""
    by_name = {r.name: r for r in w.runs}
    spec = w.pod.spec
    names = [c.name for c in (*spec.init_containers, *spec.containers)]
    return tuple(by_name[n] for n in names if n in by_name)


def slow_condition(
    previous: PodStatus, type_: str, ok: bool, now: Time, reason: str = "", message: str = ""
) -> PodCondition:
    """generate.go's condition, built afresh: lastTransitionTime from the last previous
    condition of the same type and status."""
    status = ConditionStatus.TRUE if ok else ConditionStatus.FALSE
    since = now
    for c in previous.conditions:
        if c.type == type_ and c.status is status and c.last_transition_time is not None:
            since = c.last_transition_time
    return PodCondition(type=type_, status=status, last_transition_time=since, reason=reason, message=message)


def slow_conditions(w: pw.PodWorker, previous: PodStatus, phase: PodPhase, now: Time) -> tuple[PodCondition, ...]:
    """generate.go's conditions built afresh (the kubelet's code before it reused the
    unchanged previous conditions)."""
    runs = slow_ordered_runs(w)
    sandbox_ready = bool(w.pod_ip) and not w.torn_down
    incomplete = [r for r in runs if r.init and not (r.succeeded or (r.sidecar and r.started))]
    if phase is PodPhase.SUCCEEDED or (phase is PodPhase.FAILED and not incomplete):
        incomplete = []
    unready = [r.name for r in runs if not r.init and not ps.container_status(w, r).ready]
    names = "[" + " ".join(r.name for r in incomplete) + "]"
    out = [
        slow_condition(previous, ps.POD_READY_TO_START, sandbox_ready, now),
        slow_condition(
            previous,
            ps.INITIALIZED,
            not incomplete,
            now,
            "ContainersNotInitialized" if incomplete else "",
            f"containers with incomplete status: {names}" if incomplete else "",
        ),
    ]
    if phase is PodPhase.SUCCEEDED:
        reason, message, ok = "PodCompleted", "", False
    elif unready:
        reason, message, ok = "ContainersNotReady", "containers with unready status: [" + " ".join(unready) + "]", False
    else:
        reason, message, ok = "", "", True
    out.append(slow_condition(previous, ps.READY, ok, now, reason, message))
    out.append(slow_condition(previous, ps.CONTAINERS_READY, ok, now, reason, message))
    scheduled = next((c for c in previous.conditions if c.type == ps.POD_SCHEDULED), None)
    out.append(scheduled or slow_condition(previous, ps.POD_SCHEDULED, True, now))
    known = {c.type for c in out}
    out.extend(c for c in previous.conditions if c.type not in known)
    return tuple(out)


def check_fast_paths(s: KubeletState, config: KubeletConfig) -> None:
    assert s.node_ip == node_ip_of(s.view, config)
    # the key index holds exactly the workers' keys (the scan it replaces)
    by_key: dict[ObjectKey, set[str]] = {}
    for uid, w in s.workers.items():
        by_key.setdefault(w.key, set()).add(uid)
    assert {k: set(v) for k, v in s.uids_by_key.items()} == by_key
    assert all(len(set(v)) == len(v) for v in s.uids_by_key.values())
    for uid, w in sorted(s.workers.items()):
        assert pw.ordered_runs(w) == slow_ordered_runs(w), uid
        assert w.requests == pod_requests(w.pod), uid  # what admission reads for it
        previous = s.reported.get(uid, Reported()).status
        for now in (s.now, Time(s.now + 7)):
            status = ps.compute_status(w, previous, s.node_ip, now)
            assert ps.status_phase(w) == status.phase, uid
            assert ps.conditions(w, previous, ps.pod_phase(w), now) == slow_conditions(w, previous, ps.pod_phase(w), now)
            # the status memo: a skipped computation gives what the computation would
            settled = ps.settled_status(w, previous, s.node_ip)
            if settled is not None:
                assert settled == status, uid
            memo = w.status_memo
            if memo is not None and memo.inputs == ps.status_inputs(w, s.node_ip):
                assert ps.compute_status(w, memo.status, s.node_ip, now) == memo.status, uid


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


# --- fast paths against slow paths on generated workers -------------------------------------

CONDITION_TYPES: Final = (
    ps.POD_READY_TO_START,
    ps.INITIALIZED,
    ps.READY,
    ps.CONTAINERS_READY,
    ps.POD_SCHEDULED,
    "example.com/Gate",
)
MESSAGES: Final = (
    "",
    "containers with unready status: [c0]",
    "containers with unready status: [c0 c1]",
    "containers with incomplete status: [i0]",
)
REASONS: Final = ("", "ContainersNotReady", "ContainersNotInitialized", "PodCompleted")
TIMES: Final = st.sampled_from((None, Time(0.0), Time(5.0)))

previous_conditions = st.lists(
    st.builds(
        PodCondition,
        type=st.sampled_from(CONDITION_TYPES),
        status=st.sampled_from(tuple(ConditionStatus)),
        last_probe_time=st.sampled_from((None, Time(3.0))),
        last_transition_time=TIMES,
        reason=st.sampled_from(REASONS),
        message=st.sampled_from(MESSAGES),
    ),
    max_size=7,
).map(tuple)
ips = st.sampled_from(("", "10.244.0.7"))


@st.composite
def runs_of(draw: st.DrawFn, w: pw.PodWorker) -> pw.PodWorker:
    """`w` with each run drawn at some point of its life."""
    runs = []
    for run in w.runs:
        stage = draw(st.sampled_from(tuple(pw.Stage)))
        code = draw(st.sampled_from((0, 1)))
        done = pw.Exit(exit_code=code, reason="Completed", started_at=Time(1.0), finished_at=Time(2.0), container_id="x1")
        tracks = {}
        for kind in (ProbeKind.STARTUP, ProbeKind.READINESS):
            passing = draw(st.sampled_from((None, True, False)))
            if passing is not None:
                tracks[kind] = probes.ProbeTrack(kind=kind, origin=Time(1.0), next_at=Time(2.0), passing=passing)
        runs.append(
            pw.evolve_run(
                run,
                stage=stage,
                exit=done if stage is pw.Stage.EXITED and draw(st.booleans()) else None,
                last_exit=draw(st.sampled_from((None, done))),
                waiting_reason=draw(st.sampled_from(("", pw.CRASH_LOOP_BACK_OFF))),
                container_id=draw(st.sampled_from(("", "x2"))),
                restart_count=draw(st.integers(0, 2)),
                probes=pmap(tracks),
            )
        )
    return pw.evolve_worker(w, runs=tuple(runs))


@st.composite
def workers(draw: st.DrawFn) -> pw.PodWorker:
    inits = tuple(
        Container(
            name=f"i{i}",
            image="busybox",
            restart_policy=draw(st.sampled_from((None, ContainerRestartPolicy.ALWAYS))),
        )
        for i in range(draw(st.integers(0, 2)))
    )
    apps = tuple(Container(name=f"c{i}", image="nginx:1.25") for i in range(draw(st.integers(1, 2))))
    pod = a_pod("p", containers=apps, node_name="node-1")
    spec = attrs.evolve(pod.spec, init_containers=inits, restart_policy=draw(st.sampled_from(POLICIES)))
    pod = attrs.evolve(pod, spec=spec)
    rejection = draw(st.sampled_from((None, Rejection(reason="OutOfcpu", message="no room"))))
    w = pw.new_worker(pod, KubeletConfig(node_name="node-1"), rejection=rejection)
    w = pw.evolve_worker(
        w,
        sandbox_id=draw(st.sampled_from(("", "sb-1"))),
        pod_ip=draw(ips),
        torn_down=draw(st.booleans()),
        deleting=draw(st.booleans()),
        floor=draw(st.sampled_from(tuple(RANK))),
        start_time=draw(TIMES),
    )
    return draw(runs_of(w))


@given(
    w=workers(),
    conditions=previous_conditions,
    host_ip=ips,
    pod_ip=ips,
    node_ip=st.sampled_from(("", "172.18.0.2", "10.244.0.7")),
    now=st.sampled_from((Time(5.0), Time(9.0))),
)
@settings(max_examples=300)
def test_status_fast_paths_equal_slow_paths(
    w: pw.PodWorker, conditions: tuple[PodCondition, ...], host_ip: str, pod_ip: str, node_ip: str, now: Time
) -> None:
    previous = PodStatus(
        conditions=conditions,
        host_ips=(HostIP(ip=host_ip),) if host_ip else (),
        pod_ips=(PodIP(ip=pod_ip),) if pod_ip else (),
    )
    assert pw.ordered_runs(w) == slow_ordered_runs(w)
    phase = ps.pod_phase(w)
    assert ps.conditions(w, previous, phase, now) == slow_conditions(w, previous, phase, now)
    status = ps.compute_status(w, previous, node_ip, now)
    assert ps.status_phase(w) == status.phase
    if not (w.rejection is not None and not w.sandbox_id):
        assert status.host_ips == ((HostIP(ip=node_ip),) if node_ip else ())
        assert status.pod_ips == ((PodIP(ip=w.pod_ip),) if w.pod_ip else ())


@given(
    w=workers(),
    conditions=previous_conditions,
    host_ip=ips,
    pod_ip=ips,
    node_ip=st.sampled_from(("", "172.18.0.2", "10.244.0.7")),
    now=st.sampled_from((Time(5.0), Time(9.0))),
    later=st.sampled_from((Time(5.0), Time(9.0), Time(60.0))),
)
@settings(max_examples=300)
def test_a_computed_status_is_settled_at_any_time(
    w: pw.PodWorker,
    conditions: tuple[PodCondition, ...],
    host_ip: str,
    pod_ip: str,
    node_ip: str,
    now: Time,
    later: Time,
) -> None:
    """The memo's law: once the floor moved to the computed phase, computing again from the
    computed status gives it back, at any time; the memo skips only that computation."""
    previous = PodStatus(
        conditions=conditions,
        host_ips=(HostIP(ip=host_ip),) if host_ip else (),
        pod_ips=(PodIP(ip=pod_ip),) if pod_ip else (),
    )
    assert ps.settled_status(w, previous, node_ip) is None  # nothing remembered yet
    desired = ps.compute_status(w, previous, node_ip, now)
    assert desired.phase is not None
    w2 = ps.remember_status(pw.evolve_worker(w, floor=desired.phase), desired, node_ip)
    assert ps.compute_status(w2, desired, node_ip, later) == desired
    assert ps.settled_status(w2, desired, node_ip) is desired
    equal = attrs.evolve(desired, conditions=tuple(desired.conditions))
    assert ps.settled_status(w2, equal, node_ip) is equal  # an equal status (the echo's) too
    # any other input or previous status: unknown, computed again
    assert ps.settled_status(w2, desired, node_ip + "x") is None
    assert ps.settled_status(pw.evolve_worker(w2, torn_down=not w2.torn_down), desired, node_ip) is None
    first = w2.runs[0]
    bumped = (pw.evolve_run(first, restart_count=first.restart_count + 1), *w2.runs[1:])
    assert ps.settled_status(pw.evolve_worker(w2, runs=bumped), desired, node_ip) is None
    if previous != desired:
        assert ps.settled_status(w2, previous, node_ip) is None
    assert w2 == pw.evolve_worker(w, floor=desired.phase)  # the memo is no part of the worker's value
