"""The simulated container runtime of one node: `RuntimeState` and the pure `apply`.

Owns `RuntimeState` (sandboxes, containers, the image cache and the node's pod IP pool
`pod_ips`),
`apply(state, call, now) -> (state, result, scheduled)` which performs one CRI call, and
`fire(state, scheduled, now) -> (state, events)` which lets a scheduled callback happen.

Theory of operation:
- The kubelet emits `RuntimeCall`s; the driver (or a kubelet that embeds the runtime)
  runs `apply` with the current simulated time and hands the `RuntimeResult` back. Work
  that takes simulated time (an image pull, a container running until it exits, a
  graceful stop) comes back as `Scheduled(at, event)` values. At `at` the driver calls
  `fire`, which applies the event to the state and returns it for delivery to the
  kubelet, or returns nothing when something overtook it (a container stopped or removed
  before its scripted exit). So the state and the delivered events never disagree.
- Behaviour is data: containers run forever, except that init containers and containers
  of a pod with restartPolicy Never/OnFailure exit 0 after `DEFAULT_RUN_SECONDS`; the
  pod's `kcore.io/...` annotations (`kcore.runtime.script`, docs/runtime.md) script
  exits, crashes, OOM kills, probe answers, pull times and pull failures.
- A container only moves forward: Created -> Running -> Exited. A restart is a new
  container (a new attempt, a new id), as with CRI; restart counts are the kubelet's.
- The sandbox owns the network namespace (its IP, from the node's podCIDR, or the node
  IP under hostNetwork), the pod's volumes and its /etc/resolv.conf (the DNSConfig the
  kubelet sends; `resolv_conf_of`); every container of the pod shares them.
  Removing the sandbox kills and removes its containers and frees its IP.
- No clock, no randomness: `now` comes with each call, ids are hashes
  (`cri.sandbox_id`, `cri.container_id`). Maps are read in sorted order.
- A bad call (unknown id, wrong state, missing image) is a `CallFailed` result and
  leaves the state unchanged; it never raises.

Must not know: the API server, pod status, restart and pull policies, backoff.
Mirrors containerd's CRI plugin (pkg/cri/server: sandbox_run.go, container_start.go,
container_stop.go, image_pull.go) in the shapes it answers with.
"""

from __future__ import annotations

import math
from typing import Final, assert_never

import attrs
from pyrsistent import pmap, pset
from pyrsistent.typing import PMap, PSet

from kcore.api.meta import Time
from kcore.api.pod import RestartPolicy
from kcore.bug import KcoreBug
from kcore.network import ipam
from kcore.network.resolvconf import HOST_RESOLV_CONF, ResolvConf
from kcore.runtime.cri import (
    CallFailed,
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
    RuntimeCall,
    RuntimeConfigured,
    RuntimeEvent,
    RuntimeResult,
    SandboxReady,
    SandboxRemoved,
    Scheduled,
    StartContainer,
    StopAccepted,
    StopContainer,
    UpdateRuntimeConfig,
    container_id,
    sandbox_id,
)
from kcore.runtime.script import Behaviour, Script, behaviour_for, parse_script
from kcore.util_validation import FieldError, forbidden

DEFAULT_RUN_SECONDS: Final = 1.0
"""How long a run-to-completion container runs when the script does not say."""

DEFAULT_IMAGE_PULL_SECONDS: Final = 1.0
"""How long pulling an image that is not cached takes when the script does not say."""

SIGKILL_EXIT_CODE: Final = 137  # 128 + SIGKILL(9)
CRASH_EXIT_CODE: Final = 1


@attrs.frozen(kw_only=True)
class SandboxVolume:
    """A pod volume as the sandbox holds it: its name and where it lives on the node."""

    name: str
    host_path: str


@attrs.frozen(kw_only=True)
class Sandbox:
    """A pause sandbox: the pod's network namespace, IP and volumes, and its script."""

    id: str
    pod_uid: str
    namespace: str
    name: str
    attempt: int
    ip: str
    host_network: bool
    restart_policy: RestartPolicy
    created_at: Time
    volumes: PMap[str, SandboxVolume] = pmap()
    script: Script = Script()
    containers: PSet[str] = pset()
    failed_pulls: PMap[str, int] = pmap()  # container name -> pulls that failed so far
    resolv_conf: ResolvConf = HOST_RESOLV_CONF  # /etc/resolv.conf as the sandbox holds it


@attrs.frozen(kw_only=True)
class ContainerRecord:
    """One container (one attempt). `stop_at`: when an accepted StopContainer ends it."""

    id: str
    sandbox_id: str
    name: str
    image: str
    attempt: int
    role: ContainerRole
    created_at: Time
    mounts: tuple[SandboxVolume, ...] = ()
    phase: ContainerPhase = ContainerPhase.CREATED
    started_at: Time | None = None
    finished_at: Time | None = None
    exit_code: int | None = None
    reason: ExitReason | None = None
    stop_at: Time | None = None


@attrs.frozen(kw_only=True)
class RuntimeState:
    """Everything the runtime of node `node_name` holds. `pod_ips` is None until the node
    has a podCIDR (`set_pod_cidr`); until then only hostNetwork sandboxes can run."""

    node_name: str
    node_ip: str
    pod_ips: ipam.PodIPAllocator | None = None
    sandboxes: PMap[str, Sandbox] = pmap()
    containers: PMap[str, ContainerRecord] = pmap()
    images: PSet[str] = pset()
    failing_images: PMap[str, int] = pmap()  # injected faults: image -> pulls left to fail


Outcome = tuple[RuntimeState, RuntimeResult, tuple[Scheduled, ...]]


# --- construction and queries ------------------------------------------------------------


def new_runtime(node_name: str, node_ip: str, pod_cidr: str = "") -> RuntimeState | FieldError:
    """An empty runtime for a node; with `pod_cidr` its pod network is ready at once."""
    state = RuntimeState(node_name=node_name, node_ip=node_ip)
    return set_pod_cidr(state, pod_cidr) if pod_cidr else state


def set_pod_cidr(state: RuntimeState, pod_cidr: str) -> RuntimeState | FieldError:
    """Configure the pod network from the node's podCIDR (the CNI config appearing).

    Setting the same CIDR again is a no-op; changing it while addresses are in use is
    refused (upstream's podCIDR is immutable and the addresses would leave the range).
    """
    alloc = ipam.pod_ip_allocator(pod_cidr)
    if isinstance(alloc, FieldError):
        return alloc
    if state.pod_ips is not None and state.pod_ips.cidr == alloc.cidr:
        return state
    if state.pod_ips is not None and state.pod_ips.by_owner:
        return forbidden("spec.podCIDR", f"pod addresses of {state.pod_ips.cidr} are in use")
    return attrs.evolve(state, pod_ips=alloc)


def image_present(state: RuntimeState, image: str) -> bool:
    """Whether `image` is in the node's cache (what the kubelet's pull policy asks)."""
    return image in state.images


def sandboxes_of(state: RuntimeState, pod_uid: str) -> tuple[Sandbox, ...]:
    """The pod's sandboxes, oldest attempt first."""
    found = [s for s in state.sandboxes.values() if s.pod_uid == pod_uid]
    return tuple(sorted(found, key=lambda s: (s.attempt, s.id)))


def resolv_conf_of(state: RuntimeState, pod_uid: str) -> ResolvConf | None:
    """The resolv.conf of the pod's newest sandbox (what its containers read), if it has one."""
    boxes = sandboxes_of(state, pod_uid)
    return boxes[-1].resolv_conf if boxes else None


def containers_in(state: RuntimeState, sandbox: str) -> tuple[ContainerRecord, ...]:
    """The sandbox's containers in creation order."""
    box = state.sandboxes.get(sandbox)
    if box is None:
        return ()
    records = (state.containers[c] for c in box.containers)
    return tuple(sorted(records, key=lambda c: (c.created_at, c.name, c.attempt, c.id)))


def probe_passes(state: RuntimeState, container: str, kind: ProbeKind, now: Time) -> bool:
    """Whether the container passes its `kind` probe at `now`, from the pod's script.

    Only a running container passes anything. Liveness passes until
    `liveness-fail-after` seconds of running; readiness from `ready-after` seconds on, and
    not once liveness fails (a hung process answers neither); startup from
    `startup-after` seconds on. Unscripted, every probe passes.
    """
    record = state.containers.get(container)
    if record is None or record.phase is not ContainerPhase.RUNNING:
        return False
    assert record.started_at is not None
    box = state.sandboxes[record.sandbox_id]
    b = behaviour_for(box.script, record.name)
    elapsed = now - record.started_at
    live = b.liveness_fail_after is None or elapsed < b.liveness_fail_after
    match kind:
        case ProbeKind.LIVENESS:
            return live
        case ProbeKind.READINESS:
            return live and elapsed >= (b.ready_after or 0.0)
        case ProbeKind.STARTUP:
            return elapsed >= (b.startup_after or 0.0)
        case _:
            assert_never(kind)


def probe_passes_at(state: RuntimeState, container: str, kind: ProbeKind, now: Time) -> Time | None:
    """When a probe failing at `now` passes by the container's script, if it ever does:
    readiness at `ready-after` (unless the process hangs first), startup at
    `startup-after`; a failing liveness probe (a hang) never passes again."""
    record = state.containers.get(container)
    if record is None or record.phase is not ContainerPhase.RUNNING or kind is ProbeKind.LIVENESS:
        return None
    assert record.started_at is not None
    b = behaviour_for(state.sandboxes[record.sandbox_id].script, record.name)
    after = b.ready_after if kind is ProbeKind.READINESS else b.startup_after
    if after is None or math.isinf(after) or now - record.started_at >= after:
        return None
    hangs = b.liveness_fail_after
    if kind is ProbeKind.READINESS and hangs is not None and hangs <= after:
        return None
    return Time(record.started_at + after)


# --- apply -------------------------------------------------------------------------------


def apply(state: RuntimeState, call: RuntimeCall, now: Time) -> Outcome:
    """Perform one CRI call at simulated time `now`.

    Returns the new state, the call's result (a `CallFailed` leaves the state as it was)
    and the callbacks it set in motion, each to be passed to `fire` at its `at`.
    """
    match call:
        case UpdateRuntimeConfig(pod_cidr=cidr):
            configured = set_pod_cidr(state, cidr)
            if isinstance(configured, FieldError):
                return _failed(state, ErrorCode.INVALID_ARGUMENT, str(configured))
            return configured, RuntimeConfigured(pod_cidr=cidr), ()
        case RunPodSandbox():
            return _run_pod_sandbox(state, call, now)
        case PullImage():
            return _pull_image(state, call, now)
        case CreateContainer():
            return _create_container(state, call, now)
        case StartContainer():
            return _start_container(state, call, now)
        case StopContainer():
            return _stop_container(state, call, now)
        case RemoveContainer():
            return _remove_container(state, call)
        case RemovePodSandbox():
            return _remove_pod_sandbox(state, call)
        case ExecProbe():
            if call.container_id not in state.containers:
                return _failed(state, ErrorCode.NOT_FOUND, _no_container(call.container_id))
            ok = probe_passes(state, call.container_id, call.kind, now)
            passes_at = None if ok else probe_passes_at(state, call.container_id, call.kind, now)
            return (
                state,
                ProbeResult(container_id=call.container_id, kind=call.kind, success=ok, passes_at=passes_at),
                (),
            )
        case _:
            assert_never(call)


def _failed(state: RuntimeState, code: ErrorCode, message: str) -> Outcome:
    return state, CallFailed(code=code, message=message), ()


def _no_container(cid: str) -> str:
    return f'an error occurred when try to find container "{cid}": not found'


def _no_sandbox(sid: str) -> str:
    return f'an error occurred when try to find sandbox "{sid}": not found'


def _run_pod_sandbox(state: RuntimeState, call: RunPodSandbox, now: Time) -> Outcome:
    if not (call.pod_uid and call.name and call.namespace):
        return _failed(
            state, ErrorCode.INVALID_ARGUMENT, "sandbox config must include uid, name and namespace"
        )
    sid = sandbox_id(call.pod_uid, call.attempt)
    if sid in state.sandboxes:
        reserved = f"{call.name}_{call.namespace}_{call.pod_uid}_{call.attempt}"
        return _failed(
            state,
            ErrorCode.ALREADY_EXISTS,
            f'failed to reserve sandbox name "{reserved}": name is reserved for "{sid}"',
        )
    pool = state.pod_ips
    if call.host_network:
        ip = state.node_ip
    elif pool is None:
        return _failed(
            state,
            ErrorCode.UNAVAILABLE,
            f'container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:node "{state.node_name}" has no podCIDR yet',
        )
    else:
        taken = ipam.allocate(pool, sid)
        if isinstance(taken, ipam.Exhausted):
            return _failed(
                state,
                ErrorCode.RESOURCE_EXHAUSTED,
                f'failed to setup network for sandbox "{sid}": plugin type="host-local" failed (add): {taken.message}',
            )
        pool, ip = taken
    script, warnings = parse_script(call.annotations)
    volumes = {
        v: SandboxVolume(name=v, host_path=f"/var/lib/kubelet/pods/{call.pod_uid}/volumes/{v}")
        for v in call.volumes
    }
    box = Sandbox(
        id=sid,
        pod_uid=call.pod_uid,
        namespace=call.namespace,
        name=call.name,
        attempt=call.attempt,
        ip=ip,
        host_network=call.host_network,
        restart_policy=call.restart_policy,
        created_at=now,
        volumes=pmap(volumes),
        script=script,
        resolv_conf=call.dns,
    )
    new = attrs.evolve(state, pod_ips=pool, sandboxes=state.sandboxes.set(sid, box))
    return new, SandboxReady(sandbox_id=sid, ip=ip, warnings=warnings), ()


def _pull_image(state: RuntimeState, call: PullImage, now: Time) -> Outcome:
    box = state.sandboxes.get(call.sandbox_id)
    if box is None:
        return _failed(state, ErrorCode.NOT_FOUND, _no_sandbox(call.sandbox_id))
    if not call.image:
        return _failed(state, ErrorCode.INVALID_ARGUMENT, "image must not be empty")
    b = behaviour_for(box.script, call.container)
    scripted_failures = box.failed_pulls.get(call.container, 0)
    injected = state.failing_images.get(call.image, 0)
    fails = scripted_failures < (b.fail_image_pull or 0) or injected > 0
    cached = call.image in state.images and not fails
    delay = (
        0.0
        if cached
        else (
            b.image_pull_seconds if b.image_pull_seconds is not None else DEFAULT_IMAGE_PULL_SECONDS
        )
    )
    at = Time(now + delay)
    event: RuntimeEvent
    if fails:
        event = ImagePullFailed(
            sandbox_id=box.id,
            container=call.container,
            image=call.image,
            message=f'Failed to pull image "{call.image}": rpc error: code = NotFound desc = failed to resolve reference "{call.image}": not found (simulated)',
            at=at,
        )
        box = attrs.evolve(
            box, failed_pulls=box.failed_pulls.set(call.container, scripted_failures + 1)
        )
        failing = state.failing_images
        if injected > 0:
            failing = (
                failing.remove(call.image)
                if injected == 1
                else failing.set(call.image, injected - 1)
            )
        state = attrs.evolve(
            state, sandboxes=state.sandboxes.set(box.id, box), failing_images=failing
        )
    else:
        event = ImagePulled(sandbox_id=box.id, container=call.container, image=call.image, at=at)
    result = PullStarted(
        sandbox_id=box.id, container=call.container, image=call.image, completes_at=at
    )
    return state, result, (Scheduled(at=at, event=event),)


def _create_container(state: RuntimeState, call: CreateContainer, now: Time) -> Outcome:
    box = state.sandboxes.get(call.sandbox_id)
    config = call.config
    if box is None:
        return _failed(state, ErrorCode.NOT_FOUND, _no_sandbox(call.sandbox_id))
    if not config.name:
        return _failed(state, ErrorCode.INVALID_ARGUMENT, "container config must include a name")
    if config.image not in state.images:
        return _failed(
            state,
            ErrorCode.NOT_FOUND,
            f'failed to get image "{config.image}": not present on node "{state.node_name}"',
        )
    missing = sorted(set(config.mounts) - set(box.volumes))
    if missing:
        return _failed(
            state,
            ErrorCode.INVALID_ARGUMENT,
            f'volume "{missing[0]}" is not a volume of sandbox "{box.id}"',
        )
    cid = container_id(box.id, config.name, config.attempt)
    if cid in state.containers:
        return _failed(state, ErrorCode.ALREADY_EXISTS, f'container "{cid}" already exists')
    record = ContainerRecord(
        id=cid,
        sandbox_id=box.id,
        name=config.name,
        image=config.image,
        attempt=config.attempt,
        role=config.role,
        created_at=now,
        mounts=tuple(box.volumes[m] for m in config.mounts),
    )
    box = attrs.evolve(box, containers=box.containers.add(cid))
    new = attrs.evolve(
        state,
        sandboxes=state.sandboxes.set(box.id, box),
        containers=state.containers.set(cid, record),
    )
    return new, ContainerCreated(container_id=cid), ()


def _start_container(state: RuntimeState, call: StartContainer, now: Time) -> Outcome:
    record = state.containers.get(call.container_id)
    if record is None:
        return _failed(state, ErrorCode.NOT_FOUND, _no_container(call.container_id))
    if record.phase is not ContainerPhase.CREATED:
        return _failed(
            state,
            ErrorCode.FAILED_PRECONDITION,
            f'container "{record.id}" is in {record.phase.value} state, want {ContainerPhase.CREATED.value}',
        )
    record = attrs.evolve(record, phase=ContainerPhase.RUNNING, started_at=now)
    new = attrs.evolve(state, containers=state.containers.set(record.id, record))
    box = state.sandboxes[record.sandbox_id]
    planned = planned_exit(behaviour_for(box.script, record.name), _runs_to_completion(box, record))
    scheduled: tuple[Scheduled, ...] = ()
    if planned is not None:
        after, code, reason = planned
        scheduled = (_exit_at(record, Time(now + after), code, reason),)
    return new, ContainerStarted(container_id=record.id, started_at=now), scheduled


def _runs_to_completion(box: Sandbox, record: ContainerRecord) -> bool:
    match record.role:
        case ContainerRole.INIT:
            return True
        case ContainerRole.SIDECAR:
            return False
        case ContainerRole.APP:
            return box.restart_policy is not RestartPolicy.ALWAYS
        case _:
            assert_never(record.role)


def planned_exit(b: Behaviour, runs_to_completion: bool) -> tuple[float, int, ExitReason] | None:
    """When (seconds after start), how and why a container exits by itself; None = never.

    The earliest of: `oom-after` (137, OOMKilled), `crash-after` (the scripted non-zero
    exit code, else 1; Error) and the run length (`run-seconds`, else
    `DEFAULT_RUN_SECONDS` when the container runs to completion or has a scripted
    `exit-code`; exits with `exit-code`, else 0). Ties go in that order.
    """
    options: list[tuple[float, int, int, ExitReason]] = []
    if b.oom_after is not None:
        options.append((b.oom_after, 0, SIGKILL_EXIT_CODE, ExitReason.OOM_KILLED))
    if b.crash_after is not None:
        options.append((b.crash_after, 1, b.exit_code or CRASH_EXIT_CODE, ExitReason.ERROR))
    run = b.run_seconds
    if run is None and (runs_to_completion or b.exit_code is not None):
        run = DEFAULT_RUN_SECONDS
    if run is not None:
        code = b.exit_code or 0
        options.append((run, 2, code, ExitReason.COMPLETED if code == 0 else ExitReason.ERROR))
    if not options:
        return None
    after, _, code, reason = min(options, key=lambda o: (o[0], o[1]))
    return after, code, reason


def _exit_at(record: ContainerRecord, at: Time, code: int, reason: ExitReason) -> Scheduled:
    assert record.started_at is not None
    event = ContainerExited(
        container_id=record.id,
        sandbox_id=record.sandbox_id,
        container=record.name,
        exit_code=code,
        reason=reason,
        started_at=record.started_at,
        finished_at=at,
    )
    return Scheduled(at=at, event=event)


def _stop_container(state: RuntimeState, call: StopContainer, now: Time) -> Outcome:
    record = state.containers.get(call.container_id)
    if record is None:
        return _failed(state, ErrorCode.NOT_FOUND, _no_container(call.container_id))
    if record.phase is not ContainerPhase.RUNNING:
        return state, StopAccepted(container_id=record.id, exits_at=None), ()
    box = state.sandboxes[record.sandbox_id]
    shutdown = behaviour_for(box.script, record.name).stop_seconds or 0.0
    timeout = max(call.timeout, 0.0)
    if timeout > 0 and shutdown < timeout:
        at, code, reason = Time(now + shutdown), 0, ExitReason.COMPLETED
    else:
        at, code, reason = Time(now + timeout), SIGKILL_EXIT_CODE, ExitReason.ERROR
    if record.stop_at is not None and record.stop_at <= at:
        return state, StopAccepted(container_id=record.id, exits_at=record.stop_at), ()
    record = attrs.evolve(record, stop_at=at)
    new = attrs.evolve(state, containers=state.containers.set(record.id, record))
    return (
        new,
        StopAccepted(container_id=record.id, exits_at=at),
        (_exit_at(record, at, code, reason),),
    )


def _remove_container(state: RuntimeState, call: RemoveContainer) -> Outcome:
    record = state.containers.get(call.container_id)
    if record is None:
        return _failed(state, ErrorCode.NOT_FOUND, _no_container(call.container_id))
    box = state.sandboxes[record.sandbox_id]
    box = attrs.evolve(box, containers=box.containers.discard(record.id))
    new = attrs.evolve(
        state,
        sandboxes=state.sandboxes.set(box.id, box),
        containers=state.containers.remove(record.id),
    )
    return new, ContainerRemoved(container_id=record.id), ()


def _remove_pod_sandbox(state: RuntimeState, call: RemovePodSandbox) -> Outcome:
    box = state.sandboxes.get(call.sandbox_id)
    if box is None:  # idempotent, as CRI requires
        return state, SandboxRemoved(sandbox_id=call.sandbox_id, released_ip=""), ()
    removed = tuple(sorted(box.containers))
    containers = state.containers
    for cid in removed:
        containers = containers.remove(cid)
    pool = state.pod_ips
    released = ""
    if not box.host_network and pool is not None:
        released = ipam.ip_of(pool, box.id) or ""
        pool = ipam.release(pool, box.id)
    new = attrs.evolve(
        state, pod_ips=pool, sandboxes=state.sandboxes.remove(box.id), containers=containers
    )
    return (
        new,
        SandboxRemoved(sandbox_id=box.id, released_ip=released, removed_containers=removed),
        (),
    )


# --- callbacks and faults -----------------------------------------------------------------


def fire(
    state: RuntimeState, scheduled: Scheduled, now: Time
) -> tuple[RuntimeState, tuple[RuntimeEvent, ...]]:
    """Let a scheduled callback happen at `now` (>= its `at`); return what to deliver.

    An image pull completes (a success caches the image, even if its sandbox is gone);
    a container exit applies only if that container is still running: a stop or a
    removal that came first overtook it, and nothing is delivered.
    """
    if now < scheduled.at:
        raise KcoreBug(f"runtime callback fired at {now}, before its time {scheduled.at}")
    event = scheduled.event
    match event:
        case ImagePulled():
            return attrs.evolve(state, images=state.images.add(event.image)), (event,)
        case ImagePullFailed():
            return state, (event,)
        case ContainerExited():
            record = state.containers.get(event.container_id)
            if record is None or record.phase is not ContainerPhase.RUNNING:
                return state, ()
            return _exited(state, record, event), (event,)
        case _:
            assert_never(event)


def _exited(state: RuntimeState, record: ContainerRecord, event: ContainerExited) -> RuntimeState:
    record = attrs.evolve(
        record,
        phase=ContainerPhase.EXITED,
        finished_at=event.finished_at,
        exit_code=event.exit_code,
        reason=event.reason,
    )
    return attrs.evolve(state, containers=state.containers.set(record.id, record))


def kill_container(
    state: RuntimeState, container: str, now: Time, *, oom: bool = False
) -> tuple[RuntimeState, tuple[RuntimeEvent, ...]]:
    """Fault: the container's process dies now (SIGKILL, or the OOM killer when `oom`).

    Returns the `ContainerExited` to deliver at once; a container that is not running
    is left alone and nothing is delivered. Its pending callbacks are overtaken.
    """
    record = state.containers.get(container)
    if record is None or record.phase is not ContainerPhase.RUNNING:
        return state, ()
    reason = ExitReason.OOM_KILLED if oom else ExitReason.ERROR
    event = _exit_at(record, now, SIGKILL_EXIT_CODE, reason).event
    assert isinstance(event, ContainerExited)
    return _exited(state, record, event), (event,)


def fail_image_pulls(state: RuntimeState, image: str, count: int) -> RuntimeState:
    """Fault: the next `count` pulls of `image` on this node fail (count <= 0 clears it)."""
    if count <= 0:
        return attrs.evolve(state, failing_images=state.failing_images.discard(image))
    return attrs.evolve(state, failing_images=state.failing_images.set(image, count))
