"""The kubelet component end to end: pods bound to a node run through the simulated runtime
and report status as upstream's kubelet does (driven by `Cluster`, one kubelet per node)."""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Mapping

import attrs
from pyrsistent import pmap

from kcore.api.coordination import Lease
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ConditionStatus, Time
from kcore.api.pod import (
    Container,
    ContainerRestartPolicy,
    DNSPolicy,
    ExecAction,
    Pod,
    PodDNSConfig,
    PodDNSConfigOption,
    PodPhase,
    Probe,
    PullPolicy,
    ResourceRequirements,
    RestartPolicy,
    Volume,
    VolumeMount,
)
from kcore.component.effects import CallApi, CallRuntime, RecordEvent
from kcore.component.events import WatchDelivered
from kcore.component.requests import Create, Delete, Update
from kcore.driver.bootstrap import create_cluster
from kcore.driver.cluster import Cluster
from kcore.driver.faults import CrashComponent, CrashNode, HealPartition, PartitionNode, RestartNode
from kcore.driver.snapshot import Delivered, Performed
from kcore.kubelet import backoff as bo
from kcore.kubelet import pod_worker as pw
from kcore.kubelet import probes
from kcore.kubelet.component import Asked, Kubelet, NetworkConfig, PodCall
from kcore.kubelet.config import KubeletConfig
from kcore.network.resolvconf import HOST_RESOLV_CONF, ResolvConf
from kcore.quantity import parse_quantity
from kcore.runtime import runtime as rt
from kcore.runtime.cri import ProbeKind, RunPodSandbox
from kcore.state import ClusterConfig, get, list_objects
from tests.builders import a_container, a_pod

NODE = "node-1"
CIDR = "10.244.0.0/24"


def a_cluster(nodes: int = 1, **config: float) -> Cluster:
    kubelets = [Kubelet(config=KubeletConfig(node_name=f"node-{i}", **config)) for i in range(1, nodes + 1)]  # type: ignore[arg-type]  # test-only overrides of float fields
    return create_cluster(ClusterConfig(), nodes=nodes, components=kubelets)


def run_pod(
    c: Cluster,
    name: str = "web",
    *,
    annotations: Mapping[str, str] | None = None,
    containers: tuple[Container, ...] = (),
    node: str = NODE,
    grace: int = 30,
    restart_policy: RestartPolicy = RestartPolicy.ALWAYS,
    init_containers: tuple[Container, ...] = (),
    volumes: tuple[Volume, ...] = (),
    host_network: bool = False,
) -> Pod:
    pod = a_pod(name, annotations=annotations, containers=containers, node_name=node, grace=grace)
    spec = attrs.evolve(
        pod.spec,
        restart_policy=restart_policy,
        init_containers=init_containers,
        volumes=volumes,
        host_network=host_network,
    )
    pod = attrs.evolve(pod, spec=spec)
    resp = c.request(Create(obj=pod))
    assert resp.ok, resp.body
    assert isinstance(resp.body, Pod)
    return resp.body


def pod_of(c: Cluster, name: str = "web") -> Pod:
    found = get(c.state, ObjectKey(kind=Kind.POD, namespace="default", name=name))
    assert isinstance(found, Pod), f"pod {name} is gone"
    return found


def conditions(pod: Pod) -> dict[str, ConditionStatus]:
    return {cond.type: cond.status for cond in pod.status.conditions}


def events(c: Cluster, pod: str = "web") -> list[tuple[float, str, str]]:
    """(time, reason, message) of every Event the kubelets recorded about `pod`, in order."""
    return [
        (e.at, e.effect.reason, e.effect.message)
        for e in c.trace
        if isinstance(e, Performed) and isinstance(e.effect, RecordEvent) and e.effect.involved.name == pod
    ]


def status_writes(c: Cluster) -> int:
    return sum(
        1
        for e in c.trace
        if isinstance(e, Performed)
        and isinstance(e.effect, CallApi)
        and isinstance(e.effect.request, Update)
        and e.effect.request.obj.KIND is Kind.POD
    )


# --- running -------------------------------------------------------------------------------


def test_a_bound_pod_runs_with_an_ip_from_the_pod_cidr_and_is_ready() -> None:
    c = a_cluster()
    run_pod(c)
    c.advance(5)
    pod = pod_of(c)
    assert pod.status.phase is PodPhase.RUNNING
    assert ipaddress.ip_address(pod.status.pod_ip) in ipaddress.ip_network(CIDR)
    assert pod.status.pod_ip == "10.244.0.2"
    assert pod.status.host_ip == "172.18.0.2"
    assert conditions(pod) == {
        "PodReadyToStartContainers": ConditionStatus.TRUE,
        "Initialized": ConditionStatus.TRUE,
        "Ready": ConditionStatus.TRUE,
        "ContainersReady": ConditionStatus.TRUE,
        "PodScheduled": ConditionStatus.TRUE,
    }
    (cs,) = pod.status.container_statuses
    assert cs.ready and cs.started and cs.restart_count == 0
    assert cs.state.running is not None and cs.state.running.started_at == c.now - 4  # after a 1 s pull
    assert cs.container_id.startswith("containerd://")
    assert [(r, m) for _, r, m in events(c)] == [
        ("Pulling", 'Pulling image "nginx:1.25"'),
        ("Pulled", 'Successfully pulled image "nginx:1.25" in 1s (1s including waiting)'),
        ("Created", "Created container: app"),
        ("Started", "Started container app"),
    ]


def test_a_settled_kubelet_writes_nothing_more() -> None:
    c = a_cluster()
    run_pod(c)
    c.advance(5)
    before = status_writes(c)
    c.advance(60)
    assert status_writes(c) == before


def test_pods_on_one_node_get_distinct_ips_and_the_second_pull_is_skipped() -> None:
    c = a_cluster()
    run_pod(c, "a")
    c.advance(3)
    run_pod(c, "b")
    c.advance(3)
    assert {pod_of(c, "a").status.pod_ip, pod_of(c, "b").status.pod_ip} == {"10.244.0.2", "10.244.0.3"}
    assert ("Pulled", 'Container image "nginx:1.25" already present on machine') in [
        (r, m) for _, r, m in events(c, "b")
    ]


def test_two_containers_share_one_sandbox_ip_and_their_empty_dir() -> None:
    c = a_cluster()
    mount = (VolumeMount(name="shared", mount_path="/data"),)
    one = attrs.evolve(a_container("one"), volume_mounts=mount)
    two = attrs.evolve(a_container("two", image="busybox:1.36"), volume_mounts=mount)
    created = run_pod(c, containers=(one, two), volumes=(Volume(name="shared"),))
    c.advance(5)
    pod = pod_of(c)
    assert pod.status.phase is PodPhase.RUNNING
    assert [s.ready for s in pod.status.container_statuses] == [True, True]
    runtime = c.runtime(NODE)
    (box,) = rt.sandboxes_of(runtime, created.metadata.uid)
    assert box.ip == pod.status.pod_ip
    records = rt.containers_in(runtime, box.id)
    assert sorted(r.name for r in records) == ["one", "two"]
    assert {r.mounts for r in records} == {(box.volumes["shared"],)}


def test_a_host_network_pod_takes_the_node_ip() -> None:
    c = a_cluster()
    run_pod(c, host_network=True)
    c.advance(5)
    pod = pod_of(c)
    assert pod.status.pod_ip == pod.status.host_ip == "172.18.0.2"


def test_init_containers_run_in_order_before_the_app_containers() -> None:
    c = a_cluster()
    inits = (a_container("first", image="busybox:1.36"), a_container("second", image="busybox:1.36"))
    run_pod(c, annotations={"kcore.io/run-seconds.second": "3"}, init_containers=inits)
    c.advance(2)
    pending = pod_of(c)
    assert pending.status.phase is PodPhase.PENDING
    assert conditions(pending)["Initialized"] is ConditionStatus.FALSE
    (app,) = pending.status.container_statuses
    assert app.state.waiting is not None and app.state.waiting.reason == "PodInitializing"
    c.advance(10)
    pod = pod_of(c)
    assert pod.status.phase is PodPhase.RUNNING
    first, second = pod.status.init_container_statuses
    (app,) = pod.status.container_statuses
    assert first.state.terminated is not None and second.state.terminated is not None
    assert app.state.running is not None
    assert first.state.terminated.reason == "Completed" and first.state.terminated.exit_code == 0
    f1, s1 = first.state.terminated, second.state.terminated
    assert f1.started_at is not None and f1.finished_at is not None
    assert s1.started_at is not None and s1.finished_at is not None
    assert app.state.running.started_at is not None
    assert f1.finished_at <= s1.started_at
    assert s1.finished_at - s1.started_at == 3
    assert s1.finished_at <= app.state.running.started_at
    assert conditions(pod)["Initialized"] is ConditionStatus.TRUE


def test_a_failing_init_container_fails_a_never_pod() -> None:
    c = a_cluster()
    inits = (a_container("setup", image="busybox:1.36"),)
    run_pod(c, annotations={"kcore.io/exit-code.setup": "2"}, init_containers=inits, restart_policy=RestartPolicy.NEVER)
    c.advance(10)
    pod = pod_of(c)
    assert pod.status.phase is PodPhase.FAILED
    (app,) = pod.status.container_statuses
    assert app.state.running is None and app.restart_count == 0


def test_a_failing_init_container_is_restarted_under_always() -> None:
    c = a_cluster()
    inits = (a_container("setup", image="busybox:1.36"),)
    run_pod(c, annotations={"kcore.io/exit-code.setup": "2"}, init_containers=inits)
    c.advance(30)
    pod = pod_of(c)
    assert pod.status.phase is PodPhase.PENDING
    (setup,) = pod.status.init_container_statuses
    assert setup.restart_count >= 2
    assert setup.last_state.terminated is not None and setup.last_state.terminated.exit_code == 2


def test_a_sidecar_runs_beside_the_app_containers() -> None:
    c = a_cluster()
    sidecar = attrs.evolve(a_container("proxy", image="envoy:1.30"), restart_policy=ContainerRestartPolicy.ALWAYS)
    run_pod(c, init_containers=(sidecar,))
    c.advance(10)
    pod = pod_of(c)
    assert pod.status.phase is PodPhase.RUNNING
    (proxy,) = pod.status.init_container_statuses
    assert proxy.state.running is not None and proxy.started
    assert conditions(pod)["Initialized"] is ConditionStatus.TRUE


# --- exits and restarts -----------------------------------------------------------------------


def test_a_never_pod_whose_container_exits_1_fails() -> None:
    c = a_cluster()
    run_pod(c, annotations={"kcore.io/exit-code": "1"}, restart_policy=RestartPolicy.NEVER)
    c.advance(10)
    pod = pod_of(c)
    assert pod.status.phase is PodPhase.FAILED
    (cs,) = pod.status.container_statuses
    assert cs.state.terminated is not None and cs.state.terminated.exit_code == 1
    assert cs.state.terminated.reason == "Error" and cs.restart_count == 0
    assert conditions(pod)["Ready"] is ConditionStatus.FALSE


def test_a_never_pod_whose_container_exits_0_succeeds() -> None:
    c = a_cluster()
    run_pod(c, restart_policy=RestartPolicy.NEVER)
    c.advance(10)
    pod = pod_of(c)
    assert pod.status.phase is PodPhase.SUCCEEDED
    (cs,) = pod.status.container_statuses
    assert cs.state.terminated is not None and cs.state.terminated.reason == "Completed"
    ready = next(cond for cond in pod.status.conditions if cond.type == "Ready")
    assert ready.reason == "PodCompleted"
    # the sandbox of a finished pod is gone, its address free again
    assert rt.sandboxes_of(c.runtime(NODE), pod.metadata.uid) == ()


def test_on_failure_restarts_a_failed_container_until_it_succeeds() -> None:
    c = a_cluster()
    run_pod(c, annotations={"kcore.io/exit-code": "3"}, restart_policy=RestartPolicy.ON_FAILURE)
    c.advance(30)
    pod = pod_of(c)
    assert pod.status.phase is PodPhase.RUNNING
    assert pod.status.container_statuses[0].restart_count >= 2


def test_crash_loop_back_off_doubles_from_10s_as_upstream() -> None:
    c = a_cluster()
    run_pod(c, annotations={"kcore.io/crash-after": "1"})
    c.advance(1200)
    starts = [t for t, reason, _ in events(c) if reason == "Started"]
    gaps = [b - a - 1 for a, b in itertools.pairwise(starts)]  # each run lasts 1 s
    # upstream doBackOff: the first restart is immediate, then 10 s doubling to 5 min
    assert gaps[:8] == [0, 10, 20, 40, 80, 160, 300, 300]
    pod = pod_of(c)
    (cs,) = pod.status.container_statuses
    assert pod.status.phase is PodPhase.RUNNING
    assert cs.restart_count == len(starts) - 1
    assert cs.last_state.terminated is not None and cs.last_state.terminated.exit_code == 1


def test_crash_loop_back_off_shows_the_upstream_waiting_message() -> None:
    c = a_cluster()
    created = run_pod(c, annotations={"kcore.io/crash-after": "1"})
    c.advance(2.5)  # crashed at 2, restarted at once, crashes again at 3
    c.advance(1)
    (cs,) = pod_of(c).status.container_statuses
    assert cs.state.waiting is not None
    assert cs.state.waiting.reason == "CrashLoopBackOff"
    uid = created.metadata.uid
    assert cs.state.waiting.message == f"back-off 10s restarting failed container=app pod=web_default({uid})"
    assert cs.restart_count == 1
    assert ("BackOff", f"Back-off restarting failed container app in pod web_default({uid})") in [
        (r, m) for _, r, m in events(c)
    ]


def test_back_off_starts_over_after_ten_minutes_of_running() -> None:
    c = a_cluster()
    run_pod(c, annotations={"kcore.io/crash-after": "700"})
    c.advance(3000)
    starts = [t for t, reason, _ in events(c) if reason == "Started"]
    gaps = [b - a - 700 for a, b in itertools.pairwise(starts)]
    assert gaps[:3] == [0, 0, 0]


def test_restart_count_never_decreases_and_phase_never_goes_back() -> None:
    c = a_cluster()
    run_pod(c, annotations={"kcore.io/crash-after": "2"})
    seen_counts: list[int] = []
    seen_phases: list[PodPhase] = []
    for _ in range(60):
        c.advance(2)
        pod = pod_of(c)
        assert pod.status.phase is not None
        seen_phases.append(pod.status.phase)
        seen_counts.extend(s.restart_count for s in pod.status.container_statuses)
    assert seen_counts == sorted(seen_counts)
    assert seen_phases == sorted(seen_phases, key=[PodPhase.PENDING, PodPhase.RUNNING].index)


# --- images -----------------------------------------------------------------------------------


def test_a_failing_pull_shows_err_image_pull_then_image_pull_back_off() -> None:
    c = a_cluster()
    run_pod(c, annotations={"kcore.io/fail-image-pull": "true"})
    c.advance(1)
    (cs,) = pod_of(c).status.container_statuses
    assert cs.state.waiting is not None and cs.state.waiting.reason == "ErrImagePull"
    assert "nginx:1.25" in cs.state.waiting.message
    c.advance(2)
    (cs,) = pod_of(c).status.container_statuses
    assert cs.state.waiting is not None and cs.state.waiting.reason == "ImagePullBackOff"
    assert cs.state.waiting.message == 'Back-off pulling image "nginx:1.25"'
    assert pod_of(c).status.phase is PodPhase.PENDING
    c.advance(120)
    pulls = [t for t, reason, _ in events(c) if reason == "Pulling"]
    # each pull fails after 1 s; retries wait 10 s, 20 s, 40 s after the failure
    assert [b - a - 1 for a, b in itertools.pairwise(pulls)][:3] == [10, 20, 40]


def test_a_registry_that_recovers_lets_the_pod_run() -> None:
    c = a_cluster()
    run_pod(c, annotations={"kcore.io/fail-image-pull": "1"})
    c.advance(30)
    assert pod_of(c).status.phase is PodPhase.RUNNING


def test_pull_policy_never_without_the_image_is_err_image_never_pull() -> None:
    c = a_cluster()
    container = attrs.evolve(a_container(), image_pull_policy=PullPolicy.NEVER)
    run_pod(c, containers=(container,))
    c.advance(5)
    (cs,) = pod_of(c).status.container_statuses
    assert cs.state.waiting is not None and cs.state.waiting.reason == "ErrImageNeverPull"
    assert cs.state.waiting.message == 'Container image "nginx:1.25" is not present with pull policy of Never'


# --- probes -----------------------------------------------------------------------------------


def _probe(period_seconds: int = 10, failure_threshold: int = 3) -> Probe:
    return Probe(
        exec=ExecAction(command=("true",)), period_seconds=period_seconds, failure_threshold=failure_threshold
    )


def test_readiness_waits_for_the_probe_to_pass() -> None:
    c = a_cluster()
    container = attrs.evolve(a_container(), readiness_probe=_probe(period_seconds=5))
    run_pod(c, annotations={"kcore.io/ready-after": "12"}, containers=(container,))
    c.advance(5)
    pod = pod_of(c)
    assert pod.status.phase is PodPhase.RUNNING
    assert conditions(pod)["Ready"] is ConditionStatus.FALSE
    assert not pod.status.container_statuses[0].ready
    c.advance(20)  # started at 1; probes at 1, 6, 11 fail, at 16 passes
    pod = pod_of(c)
    assert conditions(pod)["Ready"] is ConditionStatus.TRUE
    ready = next(cond for cond in pod.status.conditions if cond.type == "Ready")
    assert ready.last_transition_time == 16 + c.now - 25
    unhealthy = [m for _, r, m in events(c) if r == "Unhealthy"]
    assert len(unhealthy) == 3 and unhealthy[0].startswith("Readiness probe failed")


def test_a_failing_liveness_probe_restarts_the_container() -> None:
    c = a_cluster()
    container = attrs.evolve(a_container(), liveness_probe=_probe(period_seconds=5, failure_threshold=2))
    run_pod(c, annotations={"kcore.io/liveness-fail-after": "7"}, containers=(container,))
    c.advance(20)  # started at 1: probes pass at 1, 6; fail at 11, 16 -> killed at 16
    msgs = [(t, r, m) for t, r, m in events(c) if r in ("Killing", "Unhealthy")]
    assert next(m for _, r, m in msgs if r == "Killing") == "Container app failed liveness probe, will be restarted"
    kill_at = next(t for t, r, _ in msgs if r == "Killing")
    assert kill_at - c.now + 20 == 16
    (cs,) = pod_of(c).status.container_statuses
    assert cs.restart_count == 1 and cs.state.running is not None


def test_a_startup_probe_holds_readiness_until_it_passes() -> None:
    c = a_cluster()
    container = attrs.evolve(
        a_container(), startup_probe=_probe(period_seconds=2, failure_threshold=30), readiness_probe=_probe(period_seconds=2)
    )
    run_pod(c, annotations={"kcore.io/startup-after": "6"}, containers=(container,))
    c.advance(4)
    (cs,) = pod_of(c).status.container_statuses
    assert cs.started is False and not cs.ready
    c.advance(10)
    (cs,) = pod_of(c).status.container_statuses
    assert cs.started is True and cs.ready


# --- deletion ---------------------------------------------------------------------------------


def test_graceful_deletion_stops_containers_then_deletes_the_pod() -> None:
    c = a_cluster()
    created = run_pod(c, grace=30)
    c.advance(5)
    resp = c.request(Delete(key=ObjectKey(kind=Kind.POD, namespace="default", name="web")))
    assert resp.ok
    c.advance(1)
    assert get(c.state, ObjectKey(kind=Kind.POD, namespace="default", name="web")) is None
    assert ("Killing", "Stopping container app") in [(r, m) for _, r, m in events(c)]
    assert rt.sandboxes_of(c.runtime(NODE), created.metadata.uid) == ()


def test_graceful_deletion_waits_out_the_grace_period_for_a_stubborn_process() -> None:
    c = a_cluster()
    created = run_pod(c, annotations={"kcore.io/stop-seconds": "3600"}, grace=20)
    c.advance(5)
    c.request(Delete(key=ObjectKey(kind=Kind.POD, namespace="default", name="web")))
    c.advance(19)
    pod = pod_of(c)
    assert pod.metadata.deletion_timestamp is not None
    assert pod.status.container_statuses[0].state.running is not None
    c.advance(2)
    assert get(c.state, ObjectKey(kind=Kind.POD, namespace="default", name="web")) is None
    assert rt.sandboxes_of(c.runtime(NODE), created.metadata.uid) == ()


def test_a_pod_force_deleted_from_the_api_is_torn_down() -> None:
    c = a_cluster()
    created = run_pod(c)
    c.advance(5)
    c.request(Delete(key=ObjectKey(kind=Kind.POD, namespace="default", name="web"), grace_period_seconds=0))
    c.advance(2)
    assert rt.sandboxes_of(c.runtime(NODE), created.metadata.uid) == ()
    assert c.component_state("kubelet/node-1").workers == pmap()


# --- admission, restarts, nodes -----------------------------------------------------------------


def test_a_pod_that_does_not_fit_is_rejected_and_never_runs() -> None:
    c = a_cluster()
    big = attrs.evolve(
        a_container(), resources=ResourceRequirements(requests=pmap({"cpu": parse_quantity("1000")}))
    )
    created = run_pod(c, containers=(big,))
    c.advance(5)
    pod = pod_of(c)
    assert pod.status.phase is PodPhase.FAILED
    assert pod.status.reason == "OutOfcpu"
    assert rt.sandboxes_of(c.runtime(NODE), created.metadata.uid) == ()


def test_a_crashed_kubelet_picks_its_pods_up_again() -> None:
    c = a_cluster()
    run_pod(c)
    c.advance(5)
    c.inject(CrashComponent(name="kubelet/node-1"))
    c.advance(10)
    pod = pod_of(c)
    assert pod.status.phase is PodPhase.RUNNING
    assert pod.status.container_statuses[0].ready
    assert pod.status.pod_ip.startswith("10.244.0.")


def test_after_a_node_crash_the_pod_runs_again_keeping_its_restart_count() -> None:
    c = a_cluster()
    run_pod(c, annotations={"kcore.io/crash-after": "3"})
    c.advance(20)
    before = pod_of(c).status.container_statuses[0].restart_count
    assert before >= 2
    c.inject(CrashNode(node=NODE))
    c.advance(30)
    c.inject(RestartNode(node=NODE))
    c.advance(5)
    pod = pod_of(c)
    assert pod.status.phase is PodPhase.RUNNING
    assert pod.status.container_statuses[0].restart_count >= before


def test_the_kubelet_renews_its_lease() -> None:
    c = a_cluster()
    c.advance(25)
    leases = list_objects(c.state, Kind.LEASE, "kube-node-lease")
    assert [lease.metadata.name for lease in leases] == [NODE]
    renewed = leases[0].spec.renew_time  # type: ignore[attr-defined]  # a Lease
    assert renewed == Time(c.now - 5)


def test_every_node_runs_only_its_own_pods() -> None:
    c = a_cluster(nodes=2)
    run_pod(c, "a", node="node-1")
    run_pod(c, "b", node="node-2")
    c.advance(5)
    assert pod_of(c, "a").status.pod_ip == "10.244.0.2"
    assert pod_of(c, "b").status.pod_ip == "10.244.1.2"


STATIC_MANIFEST = """
apiVersion: v1
kind: Pod
metadata:
  name: etcd
  namespace: kube-system
spec:
  containers:
  - name: etcd
    image: registry.k8s.io/etcd:3.5.12-0
"""


def test_a_static_pod_runs_from_the_manifest_and_is_mirrored_in_the_api() -> None:
    kubelet = Kubelet(config=KubeletConfig(node_name=NODE, static_manifests=(("etcd.yaml", STATIC_MANIFEST),)))
    c = create_cluster(ClusterConfig(), nodes=1, components=[kubelet])
    c.advance(5)
    mirror = get(c.state, ObjectKey(kind=Kind.POD, namespace="kube-system", name=f"etcd-{NODE}"))
    assert isinstance(mirror, Pod)
    assert "kubernetes.io/config.mirror" in mirror.metadata.annotations
    assert mirror.status.phase is PodPhase.RUNNING
    assert mirror.status.container_statuses[0].ready
    c.request(Delete(key=ObjectKey(kind=Kind.POD, namespace="kube-system", name=f"etcd-{NODE}")))
    c.advance(15)
    again = get(c.state, ObjectKey(kind=Kind.POD, namespace="kube-system", name=f"etcd-{NODE}"))
    assert isinstance(again, Pod) and again.metadata.uid != mirror.metadata.uid  # recreated
    assert again.status.phase is PodPhase.RUNNING


def test_a_partitioned_kubelet_catches_up_after_the_heal() -> None:
    c = a_cluster()
    created = run_pod(c)
    c.advance(5)
    c.inject(PartitionNode(node=NODE))
    c.request(Delete(key=ObjectKey(kind=Kind.POD, namespace="default", name="web")))
    c.advance(10)
    assert pod_of(c).metadata.deletion_timestamp is not None  # nobody told the kubelet
    assert len(rt.sandboxes_of(c.runtime(NODE), created.metadata.uid)) == 1
    c.inject(HealPartition(node=NODE))
    c.advance(5)
    assert get(c.state, ObjectKey(kind=Kind.POD, namespace="default", name="web")) is None
    assert rt.sandboxes_of(c.runtime(NODE), created.metadata.uid) == ()


def test_a_pod_past_its_active_deadline_fails_and_stops() -> None:
    c = a_cluster()
    created = run_pod(c)
    pod = attrs.evolve(created, spec=attrs.evolve(created.spec, active_deadline_seconds=30))
    assert c.request(Update(obj=pod)).ok
    c.advance(29)
    assert pod_of(c).status.phase is PodPhase.RUNNING
    c.advance(2)
    pod = pod_of(c)
    assert pod.status.phase is PodPhase.FAILED
    assert (pod.status.reason, pod.status.message) == (
        "DeadlineExceeded",
        "Pod was active on the node longer than the specified deadline",
    )
    assert pod.status.container_statuses[0].state.terminated is not None
    assert rt.sandboxes_of(c.runtime(NODE), created.metadata.uid) == ()


def test_a_kubelet_that_crashed_during_a_deletion_still_frees_the_sandbox() -> None:
    c = a_cluster()
    created = run_pod(c, annotations={"kcore.io/stop-seconds": "3600"}, grace=10)
    c.advance(5)
    c.request(Delete(key=ObjectKey(kind=Kind.POD, namespace="default", name="web")))
    c.advance(1)
    c.inject(CrashComponent(name="kubelet/node-1"))
    c.advance(2)
    assert get(c.state, ObjectKey(kind=Kind.POD, namespace="default", name="web")) is None
    assert rt.sandboxes_of(c.runtime(NODE), created.metadata.uid) == ()
    pool = c.runtime(NODE).pod_ips
    assert pool is not None and not pool.by_owner


# --- the pure parts ---------------------------------------------------------------------------


def test_backoff_doubles_caps_and_starts_over_as_flowcontrol() -> None:
    b = bo.Backoff(initial=10, maximum=300, reset_after=600)
    t = Time(0)
    delays = []
    for _ in range(7):
        b = bo.next_backoff(b, "k", t)
        delays.append(bo.delay_of(b, "k"))
    assert delays == [10, 20, 40, 80, 160, 300, 300]
    assert bo.in_backoff_since(b, "k", Time(0), Time(299))
    assert not bo.in_backoff_since(b, "k", Time(0), Time(300))
    assert bo.next_backoff(b, "k", Time(601)).entries["k"] == bo.BackoffEntry(delay=10, last_update=Time(601))
    assert not bo.in_backoff_since_update(b, "k", Time(601))
    assert [bo.format_delay(d) for d in (10, 160, 300)] == ["10s", "2m40s", "5m0s"]


def test_probe_ticks_follow_the_period_grid_past_the_initial_delay() -> None:
    probe = Probe(exec=ExecAction(command=("true",)), initial_delay_seconds=12, period_seconds=5)
    track = probes.new_track(ProbeKind.READINESS, probe, Time(100))
    assert track == probes.ProbeTrack(kind=ProbeKind.READINESS, origin=Time(100), next_at=Time(115), passing=False)
    track = probes.record(track, probe, True, Time(115))
    assert (track.passing, track.next_at, track.successes) == (True, Time(120), 1)


def test_probe_results_flip_only_at_their_thresholds() -> None:
    probe = Probe(exec=ExecAction(command=("true",)), success_threshold=2, failure_threshold=3)
    track = probes.new_track(ProbeKind.LIVENESS, probe, Time(0))
    for t in (0, 10):
        track = probes.record(track, probe, False, Time(t))
    assert track.passing and track.failures == 2
    track = probes.record(track, probe, False, Time(20))
    assert not track.passing
    track = probes.record(track, probe, True, Time(30))
    assert not track.passing
    track = probes.record(track, probe, True, Time(40))
    assert track.passing and track.next_at == Time(50)


# --- the node Lease without a watch (upstream's nodelease latestLease) -------------------------


def _lease(c: Cluster) -> Lease:
    obj = get(c.state, ObjectKey(kind=Kind.LEASE, namespace="kube-node-lease", name="node-1"))
    assert isinstance(obj, Lease)
    return obj


def test_the_kubelet_renews_its_lease_from_its_own_writes_without_watching_it() -> None:
    c = a_cluster()
    first = _lease(c).spec.renew_time
    c.advance(35.0)
    renewed = _lease(c).spec.renew_time
    assert renewed is not None and first is not None and renewed > first
    delivered = [
        e
        for e in c.trace
        if isinstance(e, Delivered) and isinstance(e.event, WatchDelivered) and e.event.event.obj.KIND is Kind.LEASE
    ]
    assert delivered == []  # no Lease watch event reaches the kubelet


def test_a_lease_changed_by_someone_else_is_read_again_and_renewed() -> None:
    c = a_cluster()
    lease = _lease(c)
    taken = attrs.evolve(lease, spec=attrs.evolve(lease.spec, holder_identity="intruder"))
    assert c.request(Update(obj=taken)).ok  # the kubelet's copy is now stale: its next write is a 409
    c.advance(25.0)  # a refused renewal, a re-read, a renewal on top of it
    now_lease = _lease(c)
    assert now_lease.spec.holder_identity == "node-1"
    assert now_lease.metadata.resource_version > taken.metadata.resource_version


def test_a_deleted_lease_is_created_again() -> None:
    c = a_cluster()
    lease = _lease(c)
    assert c.request(Delete(key=ObjectKey(kind=Kind.LEASE, namespace="kube-node-lease", name="node-1"))).ok
    c.advance(35.0)  # a 404, a re-read that finds none, a create
    again = _lease(c)
    assert again.metadata.uid != lease.metadata.uid and again.spec.holder_identity == "node-1"


def test_each_call_of_a_pod_is_tagged_with_its_worker_and_what_it_is_for() -> None:
    c = a_cluster()
    uid = run_pod(c).metadata.uid
    c.advance(5)
    calls = [
        (type(e.effect.call).__name__ if isinstance(e.effect, CallRuntime) else type(e.effect.request).__name__, e.effect.tag)
        for e in c.trace
        if isinstance(e, Performed) and e.component == f"kubelet/{NODE}" and isinstance(e.effect, CallRuntime | CallApi)
    ]
    assert [call for call in calls if isinstance(call[1], pw.Purpose | PodCall)] == [
        ("RunPodSandbox", pw.Purpose(uid=uid, op=pw.Op.SANDBOX)),
        ("Update", PodCall(uid=uid, asked=Asked.STATUS)),  # ContainerCreating
        ("PullImage", pw.Purpose(uid=uid, op=pw.Op.PULL, container="app")),
        ("Update", PodCall(uid=uid, asked=Asked.STATUS)),  # the pod IP
        ("CreateContainer", pw.Purpose(uid=uid, op=pw.Op.CREATE, container="app")),
        ("StartContainer", pw.Purpose(uid=uid, op=pw.Op.START, container="app")),
        ("Update", PodCall(uid=uid, asked=Asked.STATUS)),  # Running
    ]
    assert ("UpdateRuntimeConfig", NetworkConfig(pod_cidr=CIDR)) in calls


# --- the pod's resolv.conf (GetPodDNS handed to the runtime) -----------------------------


def _sandbox_dns(c: Cluster, uid: str) -> tuple[ResolvConf | None, object]:
    """The resolv.conf the kubelet asked for in RunPodSandbox, and what the runtime holds."""
    asked = [
        e.effect.call.dns
        for e in c.trace
        if isinstance(e, Performed) and isinstance(e.effect, CallRuntime) and isinstance(e.effect.call, RunPodSandbox)
    ]
    return (asked[-1] if asked else None), rt.resolv_conf_of(c.snapshot().runtimes[NODE], uid)


def test_the_kubelet_hands_the_runtime_the_pods_resolv_conf_from_its_cluster_dns() -> None:
    kubelet = Kubelet(config=KubeletConfig(node_name=NODE, cluster_dns=("10.96.0.10",)))
    c = create_cluster(ClusterConfig(), nodes=1, components=[kubelet])
    uid = run_pod(c).metadata.uid
    c.advance(5)
    asked, held = _sandbox_dns(c, uid)
    want = ResolvConf(
        nameservers=("10.96.0.10",),
        searches=("default.svc.cluster.local", "svc.cluster.local", "cluster.local"),
        options=("ndots:5",),
    )
    assert asked == held == want
    assert want.text() == (
        "nameserver 10.96.0.10\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n"
    )


def test_without_cluster_dns_a_pod_gets_the_nodes_own_resolv_conf() -> None:
    c = a_cluster()  # no clusterDNS configured: ClusterFirst falls back to Default
    uid = run_pod(c).metadata.uid
    c.advance(5)
    asked, held = _sandbox_dns(c, uid)
    assert asked == held == HOST_RESOLV_CONF


def test_a_pod_with_dns_policy_none_gets_exactly_its_dns_config() -> None:
    kubelet = Kubelet(config=KubeletConfig(node_name=NODE, cluster_dns=("10.96.0.10",)))
    c = create_cluster(ClusterConfig(), nodes=1, components=[kubelet])
    pod = attrs.evolve(
        a_pod("custom", node_name=NODE),
        spec=attrs.evolve(
            a_pod("custom", node_name=NODE).spec,
            dns_policy=DNSPolicy.NONE,
            dns_config=PodDNSConfig(
                nameservers=("192.0.2.1",),
                searches=("ns1.svc.cluster-domain.example", "my.dns.search.suffix"),
                options=(PodDNSConfigOption(name="ndots", value="2"), PodDNSConfigOption(name="edns0")),
            ),
        ),
    )
    created = c.request(Create(obj=pod))
    assert created.ok, created.body
    assert isinstance(created.body, Pod)
    c.advance(5)
    asked, held = _sandbox_dns(c, created.body.metadata.uid)
    assert asked == held
    assert held is not None and held.text() == (
        "nameserver 192.0.2.1\nsearch ns1.svc.cluster-domain.example my.dns.search.suffix\noptions ndots:2 edns0\n"
    )
