"""The simulated container runtime: each CRI call, each scripted behaviour, each callback."""

from __future__ import annotations

from collections.abc import Mapping

import attrs
import pytest
from pyrsistent import pmap, pset

from kcore.api.meta import Time
from kcore.api.pod import (
    Container,
    ContainerRestartPolicy,
    EmptyDirVolumeSource,
    Pod,
    PodSpec,
    RestartPolicy,
    Volume,
    VolumeMount,
)
from kcore.bug import KcoreBug
from kcore.network.ipam import PodIPAllocator, pod_ip_allocator
from kcore.runtime.cri import (
    CallFailed,
    ContainerConfig,
    ContainerCreated,
    ContainerExited,
    ContainerPhase,
    ContainerRemoved,
    ContainerRole,
    ContainerStarted,
    CreateContainer,
    ErrorCode,
    ExecProbe,
    ExitReason,
    ImagePulled,
    ImagePullFailed,
    ProbeKind,
    ProbeResult,
    PullImage,
    PullStarted,
    RemoveContainer,
    RemovePodSandbox,
    RunPodSandbox,
    SandboxReady,
    SandboxRemoved,
    Scheduled,
    StartContainer,
    StopAccepted,
    StopContainer,
    container_config_for,
    container_id,
    run_pod_sandbox_for,
    sandbox_id,
)
from kcore.runtime.runtime import (
    ContainerRecord,
    RuntimeState,
    Sandbox,
    SandboxVolume,
    apply,
    containers_in,
    fail_image_pulls,
    fire,
    kill_container,
    new_runtime,
    probe_passes,
    probe_passes_at,
    sandboxes_of,
    set_pod_cidr,
)
from kcore.runtime.script import Behaviour, Script, behaviour_for, parse_script
from kcore.util_validation import forbidden, invalid
from tests.builders import a_container, a_pod, with_meta

T = Time(100.0)
NODE_IP = "192.168.0.10"
CIDR = "10.244.1.0/24"
SID = sandbox_id("uid-web", 0)


def _runtime(pod_cidr: str = CIDR) -> RuntimeState:
    state = new_runtime("node-1", NODE_IP, pod_cidr)
    assert isinstance(state, RuntimeState)
    return state


def _pool(*owners: str) -> PodIPAllocator:
    pool = pod_ip_allocator(CIDR)
    assert isinstance(pool, PodIPAllocator)
    for offset, owner in enumerate(owners, start=2):
        pool = attrs.evolve(
            pool,
            by_owner=pool.by_owner.set(owner, offset),
            by_offset=pool.by_offset.set(offset, owner),
        )
    return pool


def _sandbox_call(
    annotations: Mapping[str, str] | None = None,
    *,
    uid: str = "uid-web",
    policy: RestartPolicy = RestartPolicy.ALWAYS,
    volumes: tuple[str, ...] = (),
) -> RunPodSandbox:
    return RunPodSandbox(
        pod_uid=uid,
        namespace="default",
        name="web",
        restart_policy=policy,
        volumes=volumes,
        annotations=pmap(annotations or {}),
    )


def _with_sandbox(
    annotations: Mapping[str, str] | None = None,
    *,
    policy: RestartPolicy = RestartPolicy.ALWAYS,
    volumes: tuple[str, ...] = (),
    images: tuple[str, ...] = ("nginx:1.25",),
) -> RuntimeState:
    state, result, _ = apply(
        _runtime(), _sandbox_call(annotations, policy=policy, volumes=volumes), T
    )
    assert isinstance(result, SandboxReady)
    return attrs.evolve(state, images=pset(images))


def _created(
    state: RuntimeState,
    name: str = "app",
    role: ContainerRole = ContainerRole.APP,
    attempt: int = 0,
) -> tuple[RuntimeState, str]:
    config = ContainerConfig(name=name, image="nginx:1.25", role=role, attempt=attempt)
    state, result, _ = apply(state, CreateContainer(sandbox_id=SID, config=config), T)
    assert isinstance(result, ContainerCreated)
    return state, result.container_id


def _started(
    state: RuntimeState,
    name: str = "app",
    role: ContainerRole = ContainerRole.APP,
    attempt: int = 0,
) -> tuple[RuntimeState, str, tuple[Scheduled, ...]]:
    state, cid = _created(state, name, role, attempt)
    state, result, scheduled = apply(state, StartContainer(container_id=cid), T)
    assert result == ContainerStarted(container_id=cid, started_at=T)
    return state, cid, scheduled


def _exit(
    cid: str, code: int, reason: ExitReason, at: float, name: str = "app", started: float = T
) -> Scheduled:
    return Scheduled(
        at=Time(at),
        event=ContainerExited(
            container_id=cid,
            sandbox_id=SID,
            container=name,
            exit_code=code,
            reason=reason,
            started_at=Time(started),
            finished_at=Time(at),
        ),
    )


# --- sandboxes ---------------------------------------------------------------------------


def test_a_sandbox_takes_the_lowest_pod_ip_and_owns_the_pods_volumes() -> None:
    state, result, scheduled = apply(_runtime(), _sandbox_call(volumes=("cache",)), T)
    assert (result, scheduled) == (SandboxReady(sandbox_id=SID, ip="10.244.1.2"), ())
    assert state == RuntimeState(
        node_name="node-1",
        node_ip=NODE_IP,
        pod_ips=_pool(SID),
        sandboxes=pmap(
            {
                SID: Sandbox(
                    id=SID,
                    pod_uid="uid-web",
                    namespace="default",
                    name="web",
                    attempt=0,
                    ip="10.244.1.2",
                    host_network=False,
                    restart_policy=RestartPolicy.ALWAYS,
                    created_at=T,
                    volumes=pmap(
                        {
                            "cache": SandboxVolume(
                                name="cache",
                                host_path="/var/lib/kubelet/pods/uid-web/volumes/cache",
                            )
                        }
                    ),
                )
            }
        ),
    )


def test_two_pods_get_distinct_ips() -> None:
    state, _, _ = apply(_runtime(), _sandbox_call(uid="a"), T)
    state, result, _ = apply(state, _sandbox_call(uid="b"), T)
    assert result == SandboxReady(sandbox_id=sandbox_id("b", 0), ip="10.244.1.3")


def test_a_host_network_sandbox_takes_the_node_ip_and_no_pod_ip() -> None:
    call = attrs.evolve(_sandbox_call(), host_network=True)
    state, result, _ = apply(_runtime(), call, T)
    assert result == SandboxReady(sandbox_id=SID, ip=NODE_IP)
    assert state.pod_ips == _pool()


def test_a_host_network_sandbox_runs_before_the_node_has_a_pod_cidr() -> None:
    bare = new_runtime("node-1", NODE_IP)
    assert isinstance(bare, RuntimeState)
    _, result, _ = apply(bare, attrs.evolve(_sandbox_call(), host_network=True), T)
    assert result == SandboxReady(sandbox_id=SID, ip=NODE_IP)


def test_a_pod_network_sandbox_fails_until_the_node_has_a_pod_cidr() -> None:
    bare = new_runtime("node-1", NODE_IP)
    assert isinstance(bare, RuntimeState)
    assert apply(bare, _sandbox_call(), T) == (
        bare,
        CallFailed(
            code=ErrorCode.UNAVAILABLE,
            message="container runtime network not ready: NetworkReady=false "
            'reason:NetworkPluginNotReady message:node "node-1" has no podCIDR yet',
        ),
        (),
    )


def test_a_full_pod_cidr_fails_the_sandbox_with_host_locals_message() -> None:
    state, _, _ = apply(_runtime("10.244.1.0/30"), _sandbox_call(uid="a"), T)
    assert apply(state, _sandbox_call(uid="b"), T) == (
        state,
        CallFailed(
            code=ErrorCode.RESOURCE_EXHAUSTED,
            message=f'failed to setup network for sandbox "{sandbox_id("b", 0)}": plugin '
            'type="host-local" failed (add): failed to allocate for range 0: no IP addresses '
            "available in range set: 10.244.1.2-10.244.1.2",
        ),
        (),
    )


def test_the_same_sandbox_attempt_twice_is_already_exists() -> None:
    state = _with_sandbox()
    assert apply(state, _sandbox_call(), T) == (
        state,
        CallFailed(
            code=ErrorCode.ALREADY_EXISTS,
            message=f'failed to reserve sandbox name "web_default_uid-web_0": name is reserved for "{SID}"',
        ),
        (),
    )


def test_a_sandbox_without_a_uid_is_an_invalid_argument() -> None:
    state = _runtime()
    assert apply(state, attrs.evolve(_sandbox_call(), pod_uid=""), T) == (
        state,
        CallFailed(
            code=ErrorCode.INVALID_ARGUMENT,
            message="sandbox config must include uid, name and namespace",
        ),
        (),
    )


def test_a_bad_annotation_is_ignored_and_reported_as_a_warning() -> None:
    call = _sandbox_call({"kcore.io/exit-code": "abc", "kcore.io/run-seconds": "4"})
    state, result, _ = apply(_runtime(), call, T)
    assert result == SandboxReady(
        sandbox_id=SID,
        ip="10.244.1.2",
        warnings=(
            invalid(
                "metadata.annotations[kcore.io/exit-code]",
                "abc",
                "must be an integer exit code between 0 and 255",
            ),
        ),
    )
    assert state.sandboxes[SID].script == Script(pod=Behaviour(run_seconds=4.0))


def test_removing_a_sandbox_frees_its_ip_and_removes_its_containers() -> None:
    state, cid, _ = _started(_with_sandbox())
    state, result, scheduled = apply(state, RemovePodSandbox(sandbox_id=SID), T)
    assert (result, scheduled) == (
        SandboxRemoved(sandbox_id=SID, released_ip="10.244.1.2", removed_containers=(cid,)),
        (),
    )
    assert state == RuntimeState(
        node_name="node-1", node_ip=NODE_IP, pod_ips=_pool(), images=pset(["nginx:1.25"])
    )


def test_removing_an_unknown_sandbox_succeeds_as_cri_requires() -> None:
    state = _runtime()
    assert apply(state, RemovePodSandbox(sandbox_id="nope"), T) == (
        state,
        SandboxRemoved(sandbox_id="nope", released_ip=""),
        (),
    )


def test_a_new_attempt_after_removal_reuses_the_freed_ip_under_a_new_id() -> None:
    state, _, _ = apply(_with_sandbox(), RemovePodSandbox(sandbox_id=SID), T)
    _, result, _ = apply(state, attrs.evolve(_sandbox_call(), attempt=1), T)
    assert result == SandboxReady(sandbox_id=sandbox_id("uid-web", 1), ip="10.244.1.2")


def test_set_pod_cidr_refuses_a_change_while_addresses_are_in_use() -> None:
    state = _with_sandbox()
    assert set_pod_cidr(state, "10.244.9.0/24") == forbidden(
        "spec.podCIDR", "pod addresses of 10.244.1.0/24 are in use"
    )
    assert set_pod_cidr(state, CIDR) == state


# --- images ------------------------------------------------------------------------------


def test_pulling_an_uncached_image_takes_a_second_by_default() -> None:
    state = _with_sandbox(images=())
    call = PullImage(image="redis:7", sandbox_id=SID, container="app")
    assert apply(state, call, T) == (
        state,
        PullStarted(sandbox_id=SID, container="app", image="redis:7", completes_at=Time(101.0)),
        (
            Scheduled(
                at=Time(101.0),
                event=ImagePulled(sandbox_id=SID, container="app", image="redis:7", at=Time(101.0)),
            ),
        ),
    )


def test_a_completed_pull_caches_the_image_and_is_delivered() -> None:
    state = _with_sandbox(images=())
    event = ImagePulled(sandbox_id=SID, container="app", image="redis:7", at=Time(101.0))
    new, delivered = fire(state, Scheduled(at=Time(101.0), event=event), Time(101.0))
    assert (new, delivered) == (attrs.evolve(state, images=pset(["redis:7"])), (event,))


def test_pulling_a_cached_image_completes_at_once() -> None:
    state = _with_sandbox()
    _, result, _ = apply(state, PullImage(image="nginx:1.25", sandbox_id=SID, container="app"), T)
    assert result == PullStarted(
        sandbox_id=SID, container="app", image="nginx:1.25", completes_at=T
    )


def test_image_pull_seconds_scripts_the_pull_time() -> None:
    state = _with_sandbox({"kcore.io/image-pull-seconds": "30"}, images=())
    _, result, _ = apply(state, PullImage(image="redis:7", sandbox_id=SID, container="app"), T)
    assert result == PullStarted(
        sandbox_id=SID, container="app", image="redis:7", completes_at=Time(130.0)
    )


def _failed_pull(image: str, container: str = "app", at: float = 101.0) -> ImagePullFailed:
    return ImagePullFailed(
        sandbox_id=SID,
        container=container,
        image=image,
        message=f'Failed to pull image "{image}": rpc error: code = NotFound desc = failed to '
        f'resolve reference "{image}": not found (simulated)',
        at=Time(at),
    )


def test_fail_image_pull_true_fails_every_pull_with_err_image_pull() -> None:
    state = _with_sandbox({"kcore.io/fail-image-pull": "true"}, images=())
    call = PullImage(image="redis:7", sandbox_id=SID, container="app")
    state, _, first = apply(state, call, T)
    state, _, second = apply(state, call, Time(200.0))
    assert (first, second) == (
        (Scheduled(at=Time(101.0), event=_failed_pull("redis:7")),),
        (Scheduled(at=Time(201.0), event=_failed_pull("redis:7", at=201.0)),),
    )
    assert _failed_pull("redis:7").reason == "ErrImagePull"


def test_fail_image_pull_with_a_count_fails_only_that_many_pulls() -> None:
    state = _with_sandbox({"kcore.io/fail-image-pull": "1"}, images=())
    call = PullImage(image="redis:7", sandbox_id=SID, container="app")
    state, _, first = apply(state, call, T)
    state, _, second = apply(state, call, T)
    assert [s.event for s in first + second] == [
        _failed_pull("redis:7"),
        ImagePulled(sandbox_id=SID, container="app", image="redis:7", at=Time(101.0)),
    ]


def test_a_per_container_annotation_fails_only_that_containers_pull() -> None:
    state = _with_sandbox({"kcore.io/fail-image-pull.sidecar": "true"}, images=())
    _, _, app = apply(state, PullImage(image="redis:7", sandbox_id=SID, container="app"), T)
    _, _, side = apply(state, PullImage(image="redis:7", sandbox_id=SID, container="sidecar"), T)
    assert (type(app[0].event), side[0].event) == (
        ImagePulled,
        _failed_pull("redis:7", container="sidecar"),
    )


def test_an_injected_pull_failure_fails_the_next_pull_even_of_a_cached_image() -> None:
    state = fail_image_pulls(_with_sandbox(), "nginx:1.25", 1)
    call = PullImage(image="nginx:1.25", sandbox_id=SID, container="app")
    state, _, first = apply(state, call, T)
    _, _, second = apply(state, call, T)
    assert [s.event for s in first + second] == [
        _failed_pull("nginx:1.25"),
        ImagePulled(sandbox_id=SID, container="app", image="nginx:1.25", at=T),
    ]


def test_pulling_for_an_unknown_sandbox_is_not_found() -> None:
    state = _runtime()
    assert apply(state, PullImage(image="x", sandbox_id="nope", container="app"), T) == (
        state,
        CallFailed(
            code=ErrorCode.NOT_FOUND,
            message='an error occurred when try to find sandbox "nope": not found',
        ),
        (),
    )


# --- containers --------------------------------------------------------------------------


def test_creating_a_container_records_it_created_with_a_deterministic_id() -> None:
    state, cid = _created(_with_sandbox())
    assert cid == container_id(SID, "app", 0)
    assert state.containers == pmap(
        {
            cid: ContainerRecord(
                id=cid,
                sandbox_id=SID,
                name="app",
                image="nginx:1.25",
                attempt=0,
                role=ContainerRole.APP,
                created_at=T,
            )
        }
    )
    assert state.sandboxes[SID].containers == pset([cid])


def test_creating_a_container_whose_image_is_not_pulled_is_not_found() -> None:
    state = _with_sandbox(images=())
    call = CreateContainer(sandbox_id=SID, config=ContainerConfig(name="app", image="redis:7"))
    assert apply(state, call, T) == (
        state,
        CallFailed(
            code=ErrorCode.NOT_FOUND,
            message='failed to get image "redis:7": not present on node "node-1"',
        ),
        (),
    )


def test_mounting_a_volume_the_sandbox_does_not_have_is_an_invalid_argument() -> None:
    state = _with_sandbox()
    config = ContainerConfig(name="app", image="nginx:1.25", mounts=("data",))
    assert apply(state, CreateContainer(sandbox_id=SID, config=config), T) == (
        state,
        CallFailed(
            code=ErrorCode.INVALID_ARGUMENT,
            message=f'volume "data" is not a volume of sandbox "{SID}"',
        ),
        (),
    )


def test_creating_the_same_container_attempt_twice_is_already_exists() -> None:
    state, cid = _created(_with_sandbox())
    config = ContainerConfig(name="app", image="nginx:1.25")
    assert apply(state, CreateContainer(sandbox_id=SID, config=config), T) == (
        state,
        CallFailed(code=ErrorCode.ALREADY_EXISTS, message=f'container "{cid}" already exists'),
        (),
    )


def test_two_containers_of_a_pod_share_its_ip_and_its_empty_dir() -> None:
    # Upstream's "communicate between containers in the same pod using a shared volume".
    pod = with_meta(
        a_pod(
            "two-containers",
            containers=[
                attrs.evolve(
                    a_container("nginx-container", "nginx"),
                    volume_mounts=(
                        VolumeMount(name="shared-data", mount_path="/usr/share/nginx/html"),
                    ),
                ),
                attrs.evolve(
                    a_container("debian-container", "debian"),
                    volume_mounts=(VolumeMount(name="shared-data", mount_path="/pod-data"),),
                ),
            ],
        ),
        uid="uid-two",
    )
    pod = attrs.evolve(
        pod,
        spec=attrs.evolve(
            pod.spec, volumes=(Volume(name="shared-data", empty_dir=EmptyDirVolumeSource()),)
        ),
    )
    state, ready, _ = apply(_runtime(), run_pod_sandbox_for(pod), T)
    assert isinstance(ready, SandboxReady)
    state = attrs.evolve(state, images=pset(["nginx", "debian"]))
    for container in pod.spec.containers:
        config = container_config_for(container, init=False)
        state, _, _ = apply(state, CreateContainer(sandbox_id=ready.sandbox_id, config=config), T)
    shared = SandboxVolume(
        name="shared-data", host_path="/var/lib/kubelet/pods/uid-two/volumes/shared-data"
    )
    records = containers_in(state, ready.sandbox_id)
    assert [(c.name, c.sandbox_id, c.mounts) for c in records] == [
        ("debian-container", ready.sandbox_id, (shared,)),
        ("nginx-container", ready.sandbox_id, (shared,)),
    ]
    assert [s.ip for s in sandboxes_of(state, "uid-two")] == ["10.244.1.2"]


def test_a_container_of_an_always_pod_runs_forever() -> None:
    state, cid, scheduled = _started(_with_sandbox())
    assert scheduled == ()
    assert state.containers[cid].phase is ContainerPhase.RUNNING
    assert state.containers[cid].started_at == T


def test_a_container_of_a_never_pod_exits_0_after_a_second() -> None:
    _, cid, scheduled = _started(_with_sandbox(policy=RestartPolicy.NEVER))
    assert scheduled == (_exit(cid, 0, ExitReason.COMPLETED, 101.0),)


def test_an_exit_applies_when_fired_and_is_delivered() -> None:
    state, cid, scheduled = _started(_with_sandbox(policy=RestartPolicy.ON_FAILURE))
    new, delivered = fire(state, scheduled[0], Time(101.0))
    assert delivered == (scheduled[0].event,)
    assert new.containers[cid] == attrs.evolve(
        state.containers[cid],
        phase=ContainerPhase.EXITED,
        finished_at=Time(101.0),
        exit_code=0,
        reason=ExitReason.COMPLETED,
    )


def test_an_init_container_runs_to_completion_even_in_an_always_pod() -> None:
    _, cid, scheduled = _started(_with_sandbox(), "init", ContainerRole.INIT)
    assert scheduled == (_exit(cid, 0, ExitReason.COMPLETED, 101.0, name="init"),)


def test_a_sidecar_runs_forever_even_in_a_never_pod() -> None:
    _, _, scheduled = _started(
        _with_sandbox(policy=RestartPolicy.NEVER), "log", ContainerRole.SIDECAR
    )
    assert scheduled == ()


def test_a_scripted_exit_code_ends_a_container_even_in_an_always_pod() -> None:
    _, cid, scheduled = _started(_with_sandbox({"kcore.io/exit-code": "3"}))
    assert scheduled == (_exit(cid, 3, ExitReason.ERROR, 101.0),)


def test_run_seconds_sets_how_long_a_container_runs() -> None:
    state = _with_sandbox({"kcore.io/run-seconds": "7.5"}, policy=RestartPolicy.NEVER)
    _, cid, scheduled = _started(state)
    assert scheduled == (_exit(cid, 0, ExitReason.COMPLETED, 107.5),)


def test_crash_after_crashes_every_attempt_with_exit_code_1() -> None:
    state, first, s1 = _started(_with_sandbox({"kcore.io/crash-after": "5"}))
    state, _ = fire(state, s1[0], Time(105.0))
    _, second, s2 = _started(state, attempt=1)
    assert (s1, s2) == (
        (_exit(first, 1, ExitReason.ERROR, 105.0),),
        (_exit(second, 1, ExitReason.ERROR, 105.0),),
    )


def test_oom_after_kills_with_137_oom_killed_before_a_later_crash() -> None:
    state = _with_sandbox({"kcore.io/oom-after": "2", "kcore.io/crash-after": "5"})
    _, cid, scheduled = _started(state)
    assert scheduled == (_exit(cid, 137, ExitReason.OOM_KILLED, 102.0),)


def test_a_per_container_annotation_overrides_the_pod_wide_one() -> None:
    state = _with_sandbox({"kcore.io/crash-after": "5", "kcore.io/crash-after.app": "9"})
    state, app, s_app = _started(state)
    _, other, s_other = _started(state, "other")
    assert (s_app, s_other) == (
        (_exit(app, 1, ExitReason.ERROR, 109.0),),
        (_exit(other, 1, ExitReason.ERROR, 105.0, name="other"),),
    )


def test_starting_a_running_container_is_a_failed_precondition() -> None:
    state, cid, _ = _started(_with_sandbox())
    assert apply(state, StartContainer(container_id=cid), T) == (
        state,
        CallFailed(
            code=ErrorCode.FAILED_PRECONDITION,
            message=f'container "{cid}" is in Running state, want Created',
        ),
        (),
    )


def test_starting_an_unknown_container_is_not_found() -> None:
    state = _runtime()
    assert apply(state, StartContainer(container_id="nope"), T) == (
        state,
        CallFailed(
            code=ErrorCode.NOT_FOUND,
            message='an error occurred when try to find container "nope": not found',
        ),
        (),
    )


# --- stopping, removing, killing ---------------------------------------------------------


def test_stopping_a_running_container_exits_it_gracefully_with_0_at_once() -> None:
    state, cid, _ = _started(_with_sandbox())
    state, result, scheduled = apply(state, StopContainer(container_id=cid, timeout=30), T)
    assert (result, scheduled) == (
        StopAccepted(container_id=cid, exits_at=T),
        (_exit(cid, 0, ExitReason.COMPLETED, T),),
    )
    assert state.containers[cid].stop_at == T


def test_a_container_slower_to_stop_than_the_grace_period_is_killed_with_137() -> None:
    state, cid, _ = _started(_with_sandbox({"kcore.io/stop-seconds": "60"}))
    _, result, scheduled = apply(state, StopContainer(container_id=cid, timeout=30), T)
    assert (result, scheduled) == (
        StopAccepted(container_id=cid, exits_at=Time(130.0)),
        (_exit(cid, 137, ExitReason.ERROR, 130.0),),
    )


def test_a_stop_with_zero_timeout_kills_at_once() -> None:
    state, cid, _ = _started(_with_sandbox())
    _, result, scheduled = apply(state, StopContainer(container_id=cid, timeout=0), T)
    assert (result, scheduled) == (
        StopAccepted(container_id=cid, exits_at=T),
        (_exit(cid, 137, ExitReason.ERROR, T),),
    )


def test_a_second_stop_with_a_later_deadline_keeps_the_first() -> None:
    state, cid, _ = _started(_with_sandbox({"kcore.io/stop-seconds": "60"}))
    state, _, _ = apply(state, StopContainer(container_id=cid, timeout=10), T)
    assert apply(state, StopContainer(container_id=cid, timeout=30), T) == (
        state,
        StopAccepted(container_id=cid, exits_at=Time(110.0)),
        (),
    )


def test_a_stop_overtakes_the_scripted_exit_which_is_then_dropped() -> None:
    state, cid, natural = _started(_with_sandbox(policy=RestartPolicy.NEVER))
    state, _, stop = apply(state, StopContainer(container_id=cid, timeout=30), T)
    state, first = fire(state, stop[0], T)
    after, second = fire(state, natural[0], Time(101.0))
    assert (first, second, after) == ((stop[0].event,), (), state)
    assert state.containers[cid].exit_code == 0


def test_stopping_a_container_that_never_ran_is_a_no_op() -> None:
    state, cid = _created(_with_sandbox())
    assert apply(state, StopContainer(container_id=cid, timeout=30), T) == (
        state,
        StopAccepted(container_id=cid, exits_at=None),
        (),
    )


def test_removing_a_container_forgets_it_and_drops_its_pending_exit() -> None:
    state, cid, scheduled = _started(_with_sandbox(policy=RestartPolicy.NEVER))
    state, result, _ = apply(state, RemoveContainer(container_id=cid), T)
    assert result == ContainerRemoved(container_id=cid)
    assert (state.containers, state.sandboxes[SID].containers) == (pmap(), pset())
    assert fire(state, scheduled[0], Time(101.0)) == (state, ())


def test_killing_a_running_container_exits_it_now_with_137() -> None:
    state, cid, _ = _started(_with_sandbox())
    new, delivered = kill_container(state, cid, Time(150.0))
    assert delivered == (_exit(cid, 137, ExitReason.ERROR, 150.0).event,)
    assert new.containers[cid].phase is ContainerPhase.EXITED


def test_killing_with_oom_reports_oom_killed() -> None:
    state, cid, _ = _started(_with_sandbox())
    _, delivered = kill_container(state, cid, Time(150.0), oom=True)
    assert delivered == (_exit(cid, 137, ExitReason.OOM_KILLED, 150.0).event,)


def test_killing_a_container_that_is_not_running_does_nothing() -> None:
    state, cid = _created(_with_sandbox())
    assert kill_container(state, cid, T) == (state, ())


def test_firing_a_callback_before_its_time_is_a_bug() -> None:
    state, _, scheduled = _started(_with_sandbox(policy=RestartPolicy.NEVER))
    with pytest.raises(KcoreBug):
        fire(state, scheduled[0], T)


# --- probes ------------------------------------------------------------------------------


def test_an_unscripted_running_container_passes_every_probe() -> None:
    state, cid, _ = _started(_with_sandbox())
    assert [probe_passes(state, cid, k, T) for k in ProbeKind] == [True, True, True]


def test_ready_after_holds_readiness_back_for_that_long() -> None:
    state, cid, _ = _started(_with_sandbox({"kcore.io/ready-after": "10"}))
    at = [probe_passes(state, cid, ProbeKind.READINESS, Time(t)) for t in (100, 109.9, 110)]
    assert at == [False, False, True]


def test_liveness_fail_after_fails_liveness_and_readiness_from_then_on() -> None:
    state, cid, _ = _started(_with_sandbox({"kcore.io/liveness-fail-after": "20"}))
    answers = [
        (
            probe_passes(state, cid, ProbeKind.LIVENESS, Time(t)),
            probe_passes(state, cid, ProbeKind.READINESS, Time(t)),
        )
        for t in (119, 120)
    ]
    assert answers == [(True, True), (False, False)]


def test_startup_after_holds_the_startup_probe_back() -> None:
    state, cid, _ = _started(_with_sandbox({"kcore.io/startup-after": "5"}))
    answers = [probe_passes(state, cid, ProbeKind.STARTUP, Time(t)) for t in (104, 105)]
    assert answers == [False, True]


def test_a_container_that_is_not_running_fails_its_probes() -> None:
    state, cid = _created(_with_sandbox())
    assert [probe_passes(state, cid, k, T) for k in ProbeKind] == [False, False, False]


def test_exec_probe_answers_as_a_call() -> None:
    state, cid, _ = _started(_with_sandbox({"kcore.io/ready-after": "10"}))
    call = ExecProbe(container_id=cid, kind=ProbeKind.READINESS)
    assert apply(state, call, T) == (
        state,
        ProbeResult(container_id=cid, kind=ProbeKind.READINESS, success=False, passes_at=Time(T + 10)),
        (),
    )


def test_a_failing_probe_says_when_its_script_lets_it_pass() -> None:
    """`passes_at` is the warm-up's end (readiness, startup); a hang, a probe scripted to
    never pass and a liveness failure pass never."""
    cases = (
        ({"kcore.io/ready-after": "10"}, ProbeKind.READINESS, Time(T + 10)),
        ({"kcore.io/startup-after": "4"}, ProbeKind.STARTUP, Time(T + 4)),
        ({"kcore.io/ready-after": "never"}, ProbeKind.READINESS, None),
        ({"kcore.io/ready-after": "10", "kcore.io/liveness-fail-after": "5"}, ProbeKind.READINESS, None),
        ({"kcore.io/liveness-fail-after": "0"}, ProbeKind.LIVENESS, None),
        ({"kcore.io/liveness-fail-after": "0"}, ProbeKind.READINESS, None),
    )
    for script, kind, when in cases:
        state, cid, _ = _started(_with_sandbox(script))
        assert probe_passes_at(state, cid, kind, T) == when, script
        _, result, _ = apply(state, ExecProbe(container_id=cid, kind=kind), T)
        assert result == ProbeResult(container_id=cid, kind=kind, success=False, passes_at=when), script


# --- requests from the model ---------------------------------------------------------------


def test_run_pod_sandbox_for_takes_the_pods_identity_policy_volumes_and_annotations() -> None:
    pod = Pod(
        metadata=with_meta(
            a_pod("job-1", annotations={"kcore.io/exit-code": "2"}), uid="u1"
        ).metadata,
        spec=PodSpec(
            containers=(Container(name="c", image="busybox"),),
            restart_policy=RestartPolicy.NEVER,
            host_network=True,
            volumes=(Volume(name="v"),),
        ),
    )
    assert run_pod_sandbox_for(pod, attempt=2) == RunPodSandbox(
        pod_uid="u1",
        namespace="default",
        name="job-1",
        attempt=2,
        host_network=True,
        restart_policy=RestartPolicy.NEVER,
        volumes=("v",),
        annotations=pmap({"kcore.io/exit-code": "2"}),
    )


def test_container_config_for_tells_init_sidecar_and_app_apart() -> None:
    plain = Container(
        name="c", image="busybox", volume_mounts=(VolumeMount(name="v", mount_path="/v"),)
    )
    sidecar = attrs.evolve(plain, restart_policy=ContainerRestartPolicy.ALWAYS)
    assert [
        container_config_for(plain, init=True, attempt=1),
        container_config_for(sidecar, init=True),
        container_config_for(plain, init=False),
    ] == [
        ContainerConfig(
            name="c", image="busybox", attempt=1, role=ContainerRole.INIT, mounts=("v",)
        ),
        ContainerConfig(name="c", image="busybox", role=ContainerRole.SIDECAR, mounts=("v",)),
        ContainerConfig(name="c", image="busybox", role=ContainerRole.APP, mounts=("v",)),
    ]


# --- the script --------------------------------------------------------------------------


def test_parse_script_reads_pod_wide_and_per_container_values() -> None:
    script, warnings = parse_script(
        {
            "kcore.io/exit-code": "4",
            "kcore.io/run-seconds.app": "3s",
            "kcore.io/fail-image-pull.app": "false",
            "kcore.io/ready-after": " 2.5 ",
        }
    )
    assert (script, warnings) == (
        Script(
            pod=Behaviour(exit_code=4, ready_after=2.5),
            containers=pmap({"app": Behaviour(run_seconds=3.0, fail_image_pull=0)}),
        ),
        (),
    )


def test_parse_script_ignores_other_annotations_and_unknown_kcore_names() -> None:
    assert parse_script({"app": "x", "kcore.io/unknown": "1", "example.com/exit-code": "1"}) == (
        Script(),
        (),
    )


def test_parse_script_warns_on_each_bad_value_in_name_order() -> None:
    _, warnings = parse_script(
        {
            "kcore.io/run-seconds": "-1",
            "kcore.io/exit-code": "256",
            "kcore.io/fail-image-pull": "maybe",
            "kcore.io/oom-after": "inf",
        }
    )
    seconds = 'must be a number of seconds >= 0 (e.g. "3", "2.5" or "3s")'
    assert warnings == (
        invalid(
            "metadata.annotations[kcore.io/exit-code]",
            "256",
            "must be an integer exit code between 0 and 255",
        ),
        invalid(
            "metadata.annotations[kcore.io/fail-image-pull]",
            "maybe",
            '"true", "false" or how many pulls fail (an integer >= 0)',
        ),
        invalid("metadata.annotations[kcore.io/oom-after]", "inf", seconds),
        invalid("metadata.annotations[kcore.io/run-seconds]", "-1", seconds),
    )


def test_a_containers_behaviour_falls_back_to_the_pod_wide_values_field_by_field() -> None:
    script, _ = parse_script(
        {"kcore.io/exit-code": "4", "kcore.io/crash-after": "9", "kcore.io/crash-after.app": "2"}
    )
    assert (behaviour_for(script, "app"), behaviour_for(script, "other")) == (
        Behaviour(exit_code=4, crash_after=2.0),
        Behaviour(exit_code=4, crash_after=9.0),
    )
