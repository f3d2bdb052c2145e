"""The driver's runtime glue and fault injection, with a small scripted node agent.

`Agent` is a test component named like a per-node component (`agent/node-1`): it runs
runtime calls it is told to, records every answer and notification, and makes an API
call on each `Started`, so each test can assert exactly what reached it.
"""

from __future__ import annotations

import attrs
import pytest
from pyrsistent import pmap, pvector

from kcore.api.core import ConfigMap, EventSource, Node
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ObjectMeta, Time
from kcore.api.pod import Pod
from kcore.component.effects import CallApi, CallRuntime, Effect
from kcore.component.events import (
    ApiAnswered,
    Event,
    Resynced,
    RuntimeAnswered,
    RuntimeNotified,
    Started,
    TimerFired,
    WatchDelivered,
)
from kcore.component.requests import Create, Get, Update
from kcore.driver.bootstrap import create_cluster
from kcore.driver.cluster import Cluster, node_component_name, node_of_component
from kcore.driver.faults import (
    CrashComponent,
    CrashNode,
    FailImagePull,
    FaultAt,
    HealPartition,
    KillContainer,
    PartitionNode,
    PauseComponent,
    RestartNode,
    ResumeComponent,
    random_plan,
)
from kcore.driver.snapshot import Crashed, Delivered, Injected
from kcore.runtime import cri
from kcore.runtime.cri import (
    ContainerConfig,
    ContainerExited,
    ImagePulled,
    ImagePullFailed,
    PullImage,
    RunPodSandbox,
    UpdateRuntimeConfig,
)
from kcore.state import ClusterConfig, ClusterState
from tests.builders import a_pod_spec

NODE = "node-1"


@attrs.frozen
class Agent:
    """Records what it receives; `plan` maps a request id to the runtime call to make."""

    name: str = node_component_name("agent", NODE)
    event_source: EventSource = EventSource(component="agent", host=NODE)
    watches: frozenset[Kind] = frozenset({Kind.CONFIG_MAP})

    def init(self, view: ClusterState, now: Time) -> tuple[tuple[str, ...], tuple[Effect, ...]]:
        return (), ()

    def step(self, s: tuple[str, ...], ev: Event) -> tuple[tuple[str, ...], tuple[Effect, ...]]:
        match ev:
            case Started():
                get = Get(key=ObjectKey(kind=Kind.NAMESPACE, namespace="", name="default"))
                return (*s, "started"), (CallApi(request=get, tag="ns"),)
            case ApiAnswered(tag=rid, response=r):
                return (*s, f"api:{rid}:{r.code}"), ()
            case WatchDelivered(event=w):
                return (*s, f"watch:{w.obj.metadata.name}"), ()
            case RuntimeAnswered(tag=rid, result=res):
                return (*s, f"rt:{rid}:{type(res).__name__}"), ()
            case RuntimeNotified(event=e):
                return (*s, f"note:{type(e).__name__}"), ()
            case Resynced():
                return (*s, "resynced"), ()
            case TimerFired(key=k):
                return (*s, f"timer:{k}"), ()


def fresh(*, nodes: int = 1) -> Cluster:
    base = create_cluster(ClusterConfig(seed=7), nodes=nodes)
    cluster = Cluster(base.snapshot(), [Agent()])
    cluster.run_until_stable()
    return cluster


def seen(c: Cluster) -> tuple[str, ...]:
    got: tuple[str, ...] = c.component_state(Agent().name)
    return got


def run_call(c: Cluster, call: cri.RuntimeCall, rid: str) -> None:
    """Perform `call` as the agent would (through the driver's effect path)."""
    c._perform_all(Agent().name, (CallRuntime(node=NODE, call=call, tag=rid),))
    c.run_until_stable()


def sandbox(c: Cluster, uid: str = "u1", *, annotations: dict[str, str] | None = None) -> str:
    run_call(c, UpdateRuntimeConfig(pod_cidr="10.244.0.0/24"), "cfg")
    call = RunPodSandbox(pod_uid=uid, namespace="default", name="p", annotations=pmap(annotations or {}))
    run_call(c, call, "box")
    box = cri.sandbox_id(uid, 0)
    assert box in c.runtime(NODE).sandboxes
    return box


def test_per_node_component_names() -> None:
    assert node_component_name("kubelet", "node-3") == "kubelet/node-3"
    assert node_of_component("kubelet/node-3") == "node-3"
    assert node_of_component("kube-scheduler") is None


def test_runtime_calls_answer_and_pulls_notify_later() -> None:
    c = fresh()
    box = sandbox(c, annotations={"kcore.io/image-pull-seconds": "5"})
    assert seen(c)[-2:] == ("rt:cfg:RuntimeConfigured", "rt:box:SandboxReady")
    assert c.runtime(NODE).sandboxes[box].ip.startswith("10.244.0.")
    run_call(c, PullImage(image="nginx:1.27", sandbox_id=box, container="web"), "pull")
    assert seen(c)[-1] == "rt:pull:PullStarted"
    c.advance(4)
    assert seen(c)[-1] == "rt:pull:PullStarted"
    c.advance(1)
    assert seen(c)[-1] == "note:" + ImagePulled.__name__
    assert "nginx:1.27" in c.runtime(NODE).images


def test_sandbox_before_runtime_config_fails_as_network_not_ready() -> None:
    c = fresh()
    run_call(c, RunPodSandbox(pod_uid="u", namespace="default", name="p"), "box")
    assert seen(c)[-1] == "rt:box:CallFailed"


def test_crash_node_wipes_runtime_voids_callbacks_and_restart_reinits() -> None:
    c = fresh()
    box = sandbox(c, annotations={"kcore.io/image-pull-seconds": "5"})
    run_call(c, PullImage(image="nginx:1.27", sandbox_id=box, container="web"), "pull")
    c.inject(CrashNode(node=NODE))
    before = seen(c)
    c.request(Create(obj=ConfigMap(metadata=ObjectMeta(name="while-down", namespace="default"))))
    c.advance(30)
    assert seen(c) == before  # no watch event, no pull notification while down
    assert NODE not in c.snapshot().runtimes
    c.inject(RestartNode(node=NODE))
    c.run_until_stable()
    assert seen(c) == ("started", "api:ns:200")  # init: a fresh state, then Started
    assert c.runtime(NODE).sandboxes == pmap()  # the runtime came back empty
    assert any(isinstance(t, Injected) and isinstance(t.fault, CrashNode) for t in c.trace)


def test_partition_times_out_api_calls_drops_watches_and_resyncs_on_heal() -> None:
    c = fresh()
    c.inject(PartitionNode(node=NODE))
    c.request(Create(obj=ConfigMap(metadata=ObjectMeta(name="missed", namespace="default"))))
    c.inject(CrashComponent(name=Agent().name))  # restart: its Get on Started times out
    c.run_until_stable()
    assert seen(c) == ("started", "api:ns:504")
    c.inject(HealPartition(node=NODE))
    c.run_until_stable()
    assert seen(c)[-1] == "resynced"
    c.request(Create(obj=ConfigMap(metadata=ObjectMeta(name="after", namespace="default"))))
    c.run_until_stable()
    assert seen(c)[-1] == "watch:after"


def test_pause_holds_mail_in_order_and_resume_delivers_it() -> None:
    c = fresh()
    c.inject(PauseComponent(name=Agent().name))
    for name in ("a", "b"):
        c.request(Create(obj=ConfigMap(metadata=ObjectMeta(name=name, namespace="default"))))
    c.run_until_stable()
    assert "watch:a" not in seen(c)
    c.inject(ResumeComponent(name=Agent().name))
    c.run_until_stable()
    assert seen(c)[-2:] == ("watch:a", "watch:b")


def test_crash_component_loses_its_mail_and_reinits() -> None:
    c = fresh()
    c.request(Create(obj=ConfigMap(metadata=ObjectMeta(name="lost", namespace="default"))))
    c.inject(CrashComponent(name=Agent().name))
    c.run_until_stable()
    assert seen(c) == ("started", "api:ns:200")
    assert any(isinstance(t, Crashed) and t.error == "injected crash" for t in c.trace)


def test_kill_container_notifies_exit_and_failed_pulls_fail() -> None:
    c = fresh()
    pod = c.request(
        Create(obj=ConfigMap(metadata=ObjectMeta(name="x", namespace="default")))
    )  # any object: KillContainer looks the pod up and ignores non-pods
    assert pod.ok
    c.inject(KillContainer(node=NODE, pod=ObjectKey(kind=Kind.POD, namespace="default", name="x"), container="c"))
    c.inject(FailImagePull(node=NODE, image="busybox", count=1))
    box = sandbox(c)
    run_call(c, PullImage(image="busybox", sandbox_id=box, container="c"), "pull")
    c.advance(60)
    assert seen(c)[-1] == "note:" + ImagePullFailed.__name__


def test_kill_running_container() -> None:
    c = fresh()
    created = c.request(Create(obj=Pod(metadata=ObjectMeta(name="p", namespace="default"), spec=a_pod_spec())))
    assert created.ok, created
    pod = created.body
    assert isinstance(pod, Pod)
    uid = pod.metadata.uid
    box = sandbox(c, uid)
    run_call(c, PullImage(image="nginx", sandbox_id=box, container="c"), "pull")
    c.advance(60)
    run_call(c, cri.CreateContainer(sandbox_id=box, config=ContainerConfig(name="c", image="nginx")), "create")
    cid = cri.container_id(box, "c", 0)
    run_call(c, cri.StartContainer(container_id=cid), "start")
    c.inject(KillContainer(node=NODE, pod=ObjectKey(kind=Kind.POD, namespace="default", name="p"), container="c"))
    c.run_until_stable()
    assert seen(c)[-1] == "note:" + ContainerExited.__name__
    assert c.runtime(NODE).containers[cid].phase is cri.ContainerPhase.EXITED


def test_random_plan_is_a_function_of_the_seed_and_always_heals() -> None:
    nodes = ["node-1", "node-2", "node-3"]
    a = random_plan(11, nodes=nodes, components=["kube-scheduler"], count=6)
    assert a == random_plan(11, nodes=nodes, components=["kube-scheduler"], count=6)
    assert a != random_plan(12, nodes=nodes, components=["kube-scheduler"], count=6)
    assert [f.after for f in a] == sorted(f.after for f in a)
    downs = sum(isinstance(f.fault, CrashNode | PartitionNode | PauseComponent) for f in a)
    ups = sum(isinstance(f.fault, RestartNode | HealPartition | ResumeComponent) for f in a)
    assert downs == ups


def test_run_plan_injects_at_offsets() -> None:
    c = fresh()
    start = c.now
    plan = (FaultAt(after=10, fault=PauseComponent(name=Agent().name)), FaultAt(after=20, fault=ResumeComponent(name=Agent().name)))
    assert c.run_plan(plan, until=30)
    assert c.now == start + 30
    times = [t.at - start for t in c.trace if isinstance(t, Injected)]
    assert times == [10, 20]


def test_determinism_same_plan_same_trace() -> None:
    def go() -> tuple[object, ...]:
        c = fresh(nodes=2)
        box = sandbox(c, annotations={"kcore.io/image-pull-seconds": "3"})
        run_call(c, PullImage(image="nginx", sandbox_id=box, container="c"), "pull")
        c.run_plan(random_plan(3, nodes=["node-1", "node-2"], components=[Agent().name], count=3), until=400)
        return tuple(c.trace)

    assert go() == go()


@pytest.mark.parametrize("fault", [RestartNode(node=NODE), HealPartition(node=NODE), ResumeComponent(name="nobody")])
def test_undoing_what_never_happened_is_a_no_op(fault: object) -> None:
    c = fresh()
    before = seen(c)
    c.inject(fault)  # type: ignore[arg-type]
    c.run_until_stable()
    assert seen(c) == before


@attrs.frozen
class PodAgent:
    """A per-node component watching Pods and Nodes: it must see only its own node's."""

    name: str = node_component_name("agent", NODE)
    event_source: EventSource = EventSource(component="agent", host=NODE)
    watches: frozenset[Kind] = frozenset({Kind.POD, Kind.NODE})

    def init(self, view: ClusterState, now: Time) -> tuple[tuple[str, ...], tuple[Effect, ...]]:
        return (), ()

    def step(self, s: tuple[str, ...], ev: Event) -> tuple[tuple[str, ...], tuple[Effect, ...]]:
        if isinstance(ev, WatchDelivered):
            return (*s, f"{ev.event.obj.KIND.value}:{ev.event.obj.metadata.name}"), ()
        return s, ()


def test_per_node_components_see_only_their_nodes_pods_and_node() -> None:
    base = create_cluster(ClusterConfig(seed=7), nodes=2)
    c = Cluster(base.snapshot(), [PodAgent()])
    for name, node in (("mine", "node-1"), ("theirs", "node-2"), ("unbound", "")):
        spec = attrs.evolve(a_pod_spec(), node_name=node)
        assert c.request(Create(obj=Pod(metadata=ObjectMeta(name=name, namespace="default"), spec=spec))).ok
    for node in ("node-1", "node-2"):
        got = c.request(Get(key=ObjectKey(kind=Kind.NODE, namespace="", name=node)))
        node_obj = got.body
        assert isinstance(node_obj, Node)
        labels = node_obj.metadata.labels.set("touched", "yes")
        assert c.request(Update(obj=attrs.evolve(node_obj, metadata=attrs.evolve(node_obj.metadata, labels=labels)))).ok
    c.run_until_stable()
    assert c.component_state(PodAgent().name) == ("Pod:mine", "Node:node-1")


def test_the_trace_keeps_only_the_newest_entries() -> None:
    base = create_cluster(ClusterConfig(seed=7), nodes=0)
    c = Cluster(attrs.evolve(base.snapshot(), trace=pvector(), trace_limit=10, trace_dropped=0))
    for i in range(50):
        c.request(Create(obj=ConfigMap(metadata=ObjectMeta(name=f"c{i}", namespace="default"))))
    snap = c.snapshot()
    assert 10 <= len(snap.trace) <= 20
    assert snap.trace_dropped + len(snap.trace) == 50
    last = snap.trace[-1]
    assert isinstance(last.effect, CallApi) and last.effect.request.obj.metadata.name == "c49"  # type: ignore[union-attr]


def test_resume_keeps_the_order_of_held_and_still_queued_mail() -> None:
    from kcore.component.requests import Delete

    c = fresh()
    c.inject(PauseComponent(name=Agent().name))
    c.request(Create(obj=ConfigMap(metadata=ObjectMeta(name="x", namespace="default"))))
    c.run_until_stable()  # ADDED is now held
    c.request(Delete(key=ObjectKey(kind=Kind.CONFIG_MAP, namespace="default", name="x")))
    c.inject(ResumeComponent(name=Agent().name))  # DELETED is still queued, not yet held
    c.run_until_stable()
    assert seen(c)[-2:] == ("watch:x", "watch:x")
    delivered = [t.event.event.type.value for t in c.trace if isinstance(t, Delivered) and isinstance(t.event, WatchDelivered)]
    assert delivered[-2:] == ["ADDED", "DELETED"]
