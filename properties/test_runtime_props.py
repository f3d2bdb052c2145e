"""Laws of the simulated runtime and of pod IPAM, under random call sequences.

- Flat network: the pod IPs held on a node are pairwise distinct, inside its podCIDR and
  never its network or gateway address; the pool holds exactly the live sandboxes.
- IPAM is lowest-free: every allocation returns the smallest free address.
- A container only moves forward: Created -> Running -> Exited.
- Determinism: the same calls at the same times give the same results and states.
"""

from __future__ import annotations

import ipaddress
from typing import Final

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
)
from pyrsistent import pmap

from kcore.api.meta import Time
from kcore.api.pod import RestartPolicy
from kcore.network.ipam import (
    Exhausted,
    PodIPAllocator,
    allocate,
    allocated,
    pod_ip_allocator,
    release,
)
from kcore.runtime.cri import (
    ContainerConfig,
    ContainerPhase,
    ContainerRole,
    CreateContainer,
    ExecProbe,
    ProbeKind,
    PullImage,
    RemoveContainer,
    RemovePodSandbox,
    RunPodSandbox,
    RuntimeCall,
    RuntimeResult,
    Scheduled,
    StartContainer,
    StopContainer,
    container_id,
    sandbox_id,
)
from kcore.runtime.runtime import RuntimeState, apply, fire, kill_container, new_runtime

CIDR: Final = "10.244.3.0/29"  # five pod addresses: exhaustion happens
NODE_IP: Final = "192.168.0.3"
IMAGES: Final = ("nginx", "redis")
NAMES: Final = ("app", "side", "init")
ORDER: Final = {ContainerPhase.CREATED: 0, ContainerPhase.RUNNING: 1, ContainerPhase.EXITED: 2}

SCRIPTS: Final = st.dictionaries(
    st.sampled_from(
        [
            "kcore.io/exit-code",
            "kcore.io/run-seconds",
            "kcore.io/crash-after",
            "kcore.io/oom-after",
            "kcore.io/stop-seconds",
            "kcore.io/fail-image-pull",
            "kcore.io/image-pull-seconds",
            "kcore.io/crash-after.app",
        ]
    ),
    st.sampled_from(["0", "1", "2.5", "3", "true", "bad", "-1"]),
    max_size=3,
)


def _runtime() -> RuntimeState:
    state = new_runtime("node-3", NODE_IP, CIDR)
    assert isinstance(state, RuntimeState)
    return state


# --- pod IP allocation alone ---------------------------------------------------------------


@given(st.lists(st.tuples(st.booleans(), st.integers(0, 7)), max_size=60))
def test_allocation_is_lowest_free_distinct_and_inside_the_cidr(
    ops: list[tuple[bool, int]],
) -> None:
    pool = pod_ip_allocator("10.244.7.0/28")
    assert isinstance(pool, PodIPAllocator)
    net = ipaddress.IPv4Network("10.244.7.0/28")
    usable = [str(net.network_address + i) for i in range(2, 15)]
    for take, owner_no in ops:
        owner = f"s{owner_no}"
        if take:
            held = {ip for ip, _ in allocated(pool)}
            got = allocate(pool, owner)
            free = [ip for ip in usable if ip not in held]
            if isinstance(got, Exhausted):
                assert free == []
                continue
            before = dict((o, ip) for ip, o in allocated(pool))
            pool, ip = got
            assert ip == before.get(owner, free[0] if free else None)
        else:
            pool = release(pool, owner)
        ips = [ip for ip, _ in allocated(pool)]
        assert len(ips) == len(set(ips))
        assert all(ip in usable for ip in ips)


# --- the runtime under random calls --------------------------------------------------------


class RuntimeMachine(RuleBasedStateMachine):
    """User-ish actions on one node's runtime plus the driver delivering callbacks."""

    def __init__(self) -> None:
        super().__init__()
        self.state = _runtime()
        self.now = Time(1000.0)
        self.pending: list[Scheduled] = []
        self.seen: dict[str, ContainerPhase] = {}
        self.next_uid = 0

    def _do(self, call: RuntimeCall) -> RuntimeResult:
        self.state, result, scheduled = apply(self.state, call, self.now)
        self.pending.extend(scheduled)
        return result

    def _sandboxes(self) -> list[str]:
        return sorted(self.state.sandboxes)

    def _containers(self) -> list[str]:
        return sorted(self.state.containers)

    @rule(
        annotations=SCRIPTS,
        host=st.booleans(),
        policy=st.sampled_from(list(RestartPolicy)),
    )
    def run_sandbox(self, annotations: dict[str, str], host: bool, policy: RestartPolicy) -> None:
        self.next_uid += 1
        self._do(
            RunPodSandbox(
                pod_uid=f"uid-{self.next_uid}",
                namespace="default",
                name=f"pod-{self.next_uid}",
                host_network=host,
                restart_policy=policy,
                volumes=("data",),
                annotations=pmap(annotations),
            )
        )

    @precondition(lambda self: bool(self.state.sandboxes))
    @rule(data=st.data())
    def remove_sandbox(self, data: st.DataObject) -> None:
        self._do(RemovePodSandbox(sandbox_id=data.draw(st.sampled_from(self._sandboxes()))))

    @precondition(lambda self: bool(self.state.sandboxes))
    @rule(data=st.data(), image=st.sampled_from(IMAGES), name=st.sampled_from(NAMES))
    def pull(self, data: st.DataObject, image: str, name: str) -> None:
        sid = data.draw(st.sampled_from(self._sandboxes()))
        self._do(PullImage(image=image, sandbox_id=sid, container=name))

    @precondition(lambda self: bool(self.state.sandboxes))
    @rule(
        data=st.data(),
        image=st.sampled_from(IMAGES),
        name=st.sampled_from(NAMES),
        attempt=st.integers(0, 2),
        role=st.sampled_from(list(ContainerRole)),
    )
    def create(
        self, data: st.DataObject, image: str, name: str, attempt: int, role: ContainerRole
    ) -> None:
        sid = data.draw(st.sampled_from(self._sandboxes()))
        config = ContainerConfig(
            name=name, image=image, attempt=attempt, role=role, mounts=("data",)
        )
        self._do(CreateContainer(sandbox_id=sid, config=config))

    @precondition(lambda self: bool(self.state.containers))
    @rule(data=st.data())
    def start(self, data: st.DataObject) -> None:
        self._do(StartContainer(container_id=data.draw(st.sampled_from(self._containers()))))

    @precondition(lambda self: bool(self.state.containers))
    @rule(data=st.data(), timeout=st.sampled_from([0.0, 2.0, 30.0]))
    def stop(self, data: st.DataObject, timeout: float) -> None:
        cid = data.draw(st.sampled_from(self._containers()))
        self._do(StopContainer(container_id=cid, timeout=timeout))

    @precondition(lambda self: bool(self.state.containers))
    @rule(data=st.data())
    def remove_container(self, data: st.DataObject) -> None:
        self._do(RemoveContainer(container_id=data.draw(st.sampled_from(self._containers()))))

    @precondition(lambda self: bool(self.state.containers))
    @rule(data=st.data(), kind=st.sampled_from(list(ProbeKind)))
    def probe(self, data: st.DataObject, kind: ProbeKind) -> None:
        cid = data.draw(st.sampled_from(self._containers()))
        before = self.state
        self._do(ExecProbe(container_id=cid, kind=kind))
        assert self.state == before

    @precondition(lambda self: bool(self.state.containers))
    @rule(data=st.data(), oom=st.booleans())
    def kill(self, data: st.DataObject, oom: bool) -> None:
        cid = data.draw(st.sampled_from(self._containers()))
        self.state, _ = kill_container(self.state, cid, self.now, oom=oom)

    @rule(seconds=st.sampled_from([0.0, 0.5, 1.0, 5.0]))
    def advance(self, seconds: float) -> None:
        self.now = Time(self.now + seconds)

    @precondition(lambda self: bool(self.pending))
    @rule(data=st.data())
    def deliver_one_callback(self, data: st.DataObject) -> None:
        """The driver delivers a due callback, in any order among the due ones."""
        earliest = min(s.at for s in self.pending)
        self.now = Time(max(self.now, earliest))
        due = [i for i, s in enumerate(self.pending) if s.at <= self.now]
        scheduled = self.pending.pop(data.draw(st.sampled_from(due)))
        self.state, _ = fire(self.state, scheduled, self.now)

    @invariant()
    def pod_ips_are_distinct_and_inside_the_pod_cidr(self) -> None:
        pool = self.state.pod_ips
        assert pool is not None
        pod_sandboxes = {s.id: s.ip for s in self.state.sandboxes.values() if not s.host_network}
        assert dict((owner, ip) for ip, owner in allocated(pool)) == pod_sandboxes
        ips = list(pod_sandboxes.values())
        assert len(ips) == len(set(ips))
        net = ipaddress.IPv4Network(CIDR)
        for ip in ips:
            address = ipaddress.IPv4Address(ip)
            assert address in net
            assert address not in (
                net.network_address,
                net.network_address + 1,
                net.broadcast_address,
            )
        assert all(s.ip == NODE_IP for s in self.state.sandboxes.values() if s.host_network)

    @invariant()
    def containers_only_move_forward(self) -> None:
        # A removed container is forgotten: re-creating the same attempt reuses its id.
        self.seen = {c: p for c, p in self.seen.items() if c in self.state.containers}
        for cid in self._containers():
            record = self.state.containers[cid]
            previous = self.seen.get(cid)
            assert previous is None or ORDER[previous] <= ORDER[record.phase]
            self.seen[cid] = record.phase
            assert (record.started_at is not None) == (record.phase is not ContainerPhase.CREATED)
            assert (record.exit_code is not None) == (record.phase is ContainerPhase.EXITED)
            assert cid in self.state.sandboxes[record.sandbox_id].containers


RuntimeMachine.TestCase.settings = settings(stateful_step_count=40)
TestRuntimeMachine = RuntimeMachine.TestCase


# --- determinism -----------------------------------------------------------------------------

CALLS: Final = st.lists(
    st.one_of(
        SCRIPTS.map(
            lambda a: RunPodSandbox(pod_uid="u", namespace="ns", name="p", annotations=pmap(a))
        ),
        st.sampled_from(IMAGES).map(
            lambda i: PullImage(image=i, sandbox_id=_sid(), container="app")
        ),
        st.sampled_from(IMAGES).map(
            lambda i: CreateContainer(
                sandbox_id=_sid(), config=ContainerConfig(name="app", image=i)
            )
        ),
        st.just(StartContainer(container_id="")),
        st.floats(0, 40).map(lambda t: StopContainer(container_id="", timeout=t)),
    ),
    max_size=12,
)


def _sid() -> str:
    return sandbox_id("u", 0)


def _run(calls: list[RuntimeCall]) -> tuple[RuntimeState, list[object]]:
    state = _runtime()
    now = Time(0.0)
    trace: list[object] = []
    for call in calls:
        if isinstance(call, StartContainer | StopContainer):
            call = attrs.evolve(call, container_id=container_id(_sid(), "app", 0))
        state, result, scheduled = apply(state, call, now)
        trace.append((result, scheduled))
        for item in scheduled:
            now = Time(max(now, item.at))
            state, events = fire(state, item, now)
            trace.append(events)
    return state, trace


@given(CALLS)
def test_the_same_calls_give_the_same_results_and_state(calls: list[RuntimeCall]) -> None:
    assert _run(calls) == _run(calls)
