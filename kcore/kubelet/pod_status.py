"""The pod status the kubelet reports: phase, conditions and container statuses.

Owns `pod_phase(worker)`, `compute_status(worker, previous, node_ip, now)` and
`status_phase(worker)` (the phase `compute_status` gives, alone), pure functions of a
`PodWorker` (what the kubelet knows) and the status last reported. `image_id` is memoized
(a pure function of the image name).

The status memo (`remember_status`, `settled_status`): `compute_status` is idempotent
once the worker's phase floor has moved to the phase it gave: with `w2` that worker,
`compute_status(w2, D, ip, t) == D` for `D = compute_status(w, P, ip, t0)` and every `t`
(each condition then finds itself as its previous one, the IPs and start time are
carried over, the rest does not read the previous status). So the kubelet keeps, in the
worker, the last status computed with the inputs it read (`status_inputs`); while those
inputs stay the same objects and the status last reported equals it (the answer to our
own write, the echo of it, a status-only update carrying it), the computation is skipped:
upstream's status manager likewise finds nothing to do when the cached status is the
one it would generate (status_manager.go needsUpdate).

Rules (upstream's):
- Phase (kubelet_pods.go getPhase): Pending while an init container has not completed or
  an app container never started; Running once all started and one runs; with none
  running: Always -> Running (restarting), all exited 0 -> Succeeded, Never -> Failed,
  OnFailure -> Running. A failed init container under Never fails the pod. A pod whose
  teardown is done after deletion is terminal: Succeeded if every container exited 0,
  else Failed. A rejected pod is Failed. The phase never moves backwards: the worker's
  `floor` (the newest phase reported) wins over an earlier one.
- Conditions (status/generate.go) in upstream's order: PodReadyToStartContainers,
  Initialized, Ready, ContainersReady, PodScheduled; lastTransitionTime kept while the
  status stays the same.
- Container statuses: running / terminated / waiting (with the reason the worker knows:
  ContainerCreating, PodInitializing, ErrImagePull, ImagePullBackOff, CrashLoopBackOff ...);
  lastState is the previous run's termination; restartCount, ready, started,
  image/imageID/containerID (containerd:// ids).

Must not know: the runtime calls, the API server. Mirrors pkg/kubelet/kubelet_pods.go
(generateAPIPodStatus, getPhase, convertToAPIContainerStatuses) and
pkg/kubelet/status/generate.go.
"""

from __future__ import annotations

import functools
import hashlib
from typing import Final

from kcore.api.meta import ConditionStatus, Time, evolver
from kcore.api.pod import (
    ContainerState,
    ContainerStateRunning,
    ContainerStateTerminated,
    ContainerStateWaiting,
    ContainerStatus,
    HostIP,
    PodCondition,
    PodIP,
    PodPhase,
    PodStatus,
    RestartPolicy,
)
from kcore.kubelet.pod_worker import (
    CONTAINER_CREATING,
    ContainerRun,
    Exit,
    PodWorker,
    Stage,
    StatusMemo,
    evolve_worker,
    is_terminal,
    ordered_runs,
    spec_of,
)
from kcore.runtime.cri import ProbeKind

POD_READY_TO_START: Final = "PodReadyToStartContainers"
INITIALIZED: Final = "Initialized"
READY: Final = "Ready"
CONTAINERS_READY: Final = "ContainersReady"
POD_SCHEDULED: Final = "PodScheduled"

_evolve_status = evolver(PodStatus)  # `attrs.evolve` for a PodStatus, cheaper
_RANK: Final = {PodPhase.PENDING: 0, PodPhase.UNKNOWN: 0, PodPhase.RUNNING: 1, PodPhase.SUCCEEDED: 2, PodPhase.FAILED: 2}


def _raw_phase(w: PodWorker) -> PodPhase:
    if w.rejection is not None:
        return PodPhase.FAILED
    policy = w.pod.spec.restart_policy
    runs = ordered_runs(w)
    for run in runs:
        never = run.init and not run.sidecar and policy is RestartPolicy.NEVER
        if never and run.stage is Stage.EXITED and run.exit is not None and run.exit.exit_code != 0:
            return PodPhase.FAILED
    pending_init = any(r.init and not r.sidecar and not _ever_succeeded(r) for r in runs)
    running = stopped = succeeded = waiting = 0
    for run in runs:
        if run.init:
            continue
        if run.stage in (Stage.RUNNING, Stage.STOPPING):
            running += 1
        elif run.stage is Stage.EXITED and run.exit is not None:
            stopped += 1
            succeeded += run.exit.exit_code == 0
        elif run.last_exit is not None:
            stopped += 1
            succeeded += run.last_exit.exit_code == 0
        else:
            waiting += 1
    terminal = w.torn_down and w.deleting
    if terminal and running == 0:
        return PodPhase.SUCCEEDED if waiting == 0 and stopped == succeeded else PodPhase.FAILED
    if pending_init or waiting > 0:
        return PodPhase.PENDING
    if running > 0:
        return PodPhase.RUNNING
    if stopped > 0:
        if policy is RestartPolicy.ALWAYS:
            return PodPhase.RUNNING
        if stopped == succeeded:
            return PodPhase.SUCCEEDED
        if policy is RestartPolicy.NEVER:
            return PodPhase.FAILED
        return PodPhase.RUNNING
    return PodPhase.PENDING


def _ever_succeeded(run: ContainerRun) -> bool:
    return run.succeeded


def later_phase(a: PodPhase, b: PodPhase) -> PodPhase:
    """The later of two phases (Pending < Running < Succeeded/Failed; the first terminal wins)."""
    if is_terminal(a):
        return a
    return b if _RANK[b] > _RANK[a] else a


def pod_phase(w: PodWorker) -> PodPhase:
    """The phase to report: getPhase, never behind the worker's floor."""
    phase = _raw_phase(w)
    if is_terminal(w.floor):
        return w.floor
    return phase if _RANK[phase] >= _RANK[w.floor] else w.floor


def _terminated(e: Exit) -> ContainerStateTerminated:
    return ContainerStateTerminated(
        exit_code=e.exit_code,
        reason=e.reason,
        started_at=e.started_at,
        finished_at=e.finished_at,
        container_id=_cid(e.container_id),
    )


def _cid(raw: str) -> str:
    return f"containerd://{raw}" if raw else ""


@functools.lru_cache(maxsize=1024)
def image_id(image: str) -> str:
    """The simulated image digest of `image` (stable, as the registry's would be)."""
    digest = hashlib.sha256(image.encode("utf-8")).hexdigest()
    name = image.split("@", 1)[0].rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
    return f"{name}@sha256:{digest}"


def _ready(run: ContainerRun) -> bool:
    """A started container is ready while it runs, stopping included (the runtime still
    runs it through its grace period; the prober keeps its last readiness result), as
    upstream's prober manager reports it: so a terminating endpoint stays `serving`."""
    if run.stage not in (Stage.RUNNING, Stage.STOPPING) or not run.started:
        return False
    track = run.probes.get(ProbeKind.READINESS)
    return track is None or track.passing


def container_status(w: PodWorker, run: ContainerRun) -> ContainerStatus:
    spec = spec_of(w, run.name)
    image = spec.image if spec is not None else ""
    last = ContainerState() if run.last_exit is None else ContainerState(terminated=_terminated(run.last_exit))
    cid = run.container_id
    if run.stage in (Stage.RUNNING, Stage.STOPPING):
        state = ContainerState(running=ContainerStateRunning(started_at=run.started_at))
    elif run.stage is Stage.EXITED and run.exit is not None and not run.waiting_reason:
        state = ContainerState(terminated=_terminated(run.exit))
    elif run.stage is Stage.EXITED and run.exit is not None:
        state = ContainerState(waiting=ContainerStateWaiting(reason=run.waiting_reason, message=run.waiting_message))
        last = ContainerState(terminated=_terminated(run.exit))
    else:
        reason = run.waiting_reason or CONTAINER_CREATING
        state = ContainerState(waiting=ContainerStateWaiting(reason=reason, message=run.waiting_message))
        cid = run.last_exit.container_id if run.last_exit is not None else ""
    if run.stage is Stage.EXITED and run.exit is not None:
        cid = run.exit.container_id
    shown_image = image_id(image) if cid else ""
    return ContainerStatus(
        name=run.name,
        state=state,
        last_state=last,
        ready=_ready(run),
        restart_count=run.restart_count,
        image=image,
        image_id=shown_image,
        container_id=_cid(cid),
        started=run.started,
    )


# the last previous condition of each type with a transition time, per status (True,
# False): plain dicts keyed by type (a tuple key would hash the status enum in Python)
_Since = tuple[dict[str, PodCondition], dict[str, PodCondition]]


def _since(previous: PodStatus) -> _Since:
    true: dict[str, PodCondition] = {}
    false: dict[str, PodCondition] = {}
    for c in previous.conditions:
        if c.last_transition_time is not None:
            if c.status is ConditionStatus.TRUE:
                true[c.type] = c
            elif c.status is ConditionStatus.FALSE:
                false[c.type] = c
    return true, false


def _condition(seen: _Since, type_: str, ok: bool, now: Time, reason: str = "", message: str = "") -> PodCondition:
    """The condition, its lastTransitionTime kept from the previous one of the same status;
    that previous condition itself when it is equal (cheap to compare later)."""
    status = ConditionStatus.TRUE if ok else ConditionStatus.FALSE
    last = (seen[0] if ok else seen[1]).get(type_)
    if last is None:
        return PodCondition(type=type_, status=status, last_transition_time=now, reason=reason, message=message)
    if last.last_probe_time is None and last.reason == reason and last.message == message:
        return last
    return PodCondition(
        type=type_, status=status, last_transition_time=last.last_transition_time, reason=reason, message=message
    )


def _names(runs: list[ContainerRun]) -> str:
    return "[" + " ".join(r.name for r in runs) + "]"


def conditions(w: PodWorker, previous: PodStatus, phase: PodPhase, now: Time) -> tuple[PodCondition, ...]:
    runs = ordered_runs(w)
    completed = phase is PodPhase.SUCCEEDED
    sandbox_ready = bool(w.pod_ip) and not w.torn_down
    incomplete = [r for r in runs if r.init and not (r.succeeded or (r.sidecar and r.started))]
    if phase is PodPhase.SUCCEEDED or (phase is PodPhase.FAILED and not incomplete):
        incomplete = []
    unready = [r for r in runs if not r.init and not _ready(r)]
    ready_gates_ok = True  # readiness gates are other components' conditions
    seen = _since(previous)
    out = [
        _condition(seen, POD_READY_TO_START, sandbox_ready, now),
        _condition(
            seen,
            INITIALIZED,
            not incomplete,
            now,
            "" if not incomplete else "ContainersNotInitialized",
            "" if not incomplete else f"containers with incomplete status: {_names(incomplete)}",
        ),
    ]
    if completed:
        reason, message, ok = "PodCompleted", "", False
    elif unready:
        reason, message, ok = "ContainersNotReady", f"containers with unready status: {_names(unready)}", False
    else:
        reason, message, ok = "", "", True
    out.append(_condition(seen, READY, ok and ready_gates_ok, now, reason, message))
    out.append(_condition(seen, CONTAINERS_READY, ok, now, reason, message))
    before = previous.conditions
    scheduled = next((c for c in before if c.type == POD_SCHEDULED), None)
    out.append(scheduled or _condition(seen, POD_SCHEDULED, True, now))
    known = {c.type for c in out}
    out.extend(c for c in before if c.type not in known)
    if len(out) == len(before) and all(a is b for a, b in zip(out, before, strict=True)):
        return before  # unchanged: the same tuple, so comparing statuses stays cheap
    return tuple(out)


def _never_ran(w: PodWorker) -> bool:
    """Rejected at admission: the pod never ran."""
    return w.rejection is not None and not w.sandbox_id


def status_phase(w: PodWorker) -> PodPhase:
    """`compute_status(w, ...).phase` without the rest of the status (whatever the
    previous status, node IP and time): what the kubelet needs while a write is in flight."""
    return PodPhase.FAILED if _never_ran(w) else pod_phase(w)


def compute_status(w: PodWorker, previous: PodStatus, node_ip: str, now: Time) -> PodStatus:
    """The status to report for the worker's pod, given the status last reported."""
    rejection = w.rejection
    if rejection is not None and not w.sandbox_id:  # rejected at admission: never ran
        return _evolve_status(
            previous,
            phase=PodPhase.FAILED,
            reason=rejection.reason,
            message=rejection.message,
            qos_class=w.qos,
            start_time=previous.start_time or now,
        )
    phase = pod_phase(w)
    runs = ordered_runs(w)
    failure = w.rejection
    ip = w.pod_ip
    return _evolve_status(
        previous,
        phase=phase,
        conditions=conditions(w, previous, phase, now),
        host_ip=node_ip,
        host_ips=_host_ips(previous.host_ips, node_ip),
        pod_ip=ip,
        pod_ips=_pod_ips(previous.pod_ips, ip),
        start_time=w.start_time or previous.start_time,
        init_container_statuses=tuple(container_status(w, r) for r in runs if r.init),
        container_statuses=tuple(container_status(w, r) for r in runs if not r.init),
        qos_class=w.qos,
        reason=failure.reason if failure is not None else previous.reason,
        message=failure.message if failure is not None else previous.message,
    )


def status_inputs(w: PodWorker, node_ip: str) -> tuple[object, ...]:
    """Everything `compute_status` reads besides the previous status and the time: the
    pod's spec (container images, restartPolicy), the runs, and the worker's fields."""
    return (
        w.pod.spec,
        w.runs,
        w.rejection,
        w.sandbox_id,
        w.pod_ip,
        w.torn_down,
        w.deleting,
        w.floor,
        w.start_time,
        w.qos,
        node_ip,
    )


def remember_status(w: PodWorker, status: PodStatus, node_ip: str) -> PodWorker:
    """`w` remembering that `status` is what `compute_status` gives for it (call it with
    the worker whose floor has moved to `status.phase`)."""
    return evolve_worker(w, status_memo=StatusMemo(inputs=status_inputs(w, node_ip), status=status))


def settled_status(w: PodWorker, previous: PodStatus, node_ip: str) -> PodStatus | None:
    """`previous` itself when the worker's memo shows `compute_status(w, previous,
    node_ip, now)` equals it at any `now` (see the module docstring); None when unknown."""
    memo = w.status_memo
    if memo is None:
        return None
    status = memo.status
    if (previous is status or previous == status) and memo.inputs == status_inputs(w, node_ip):
        return previous
    return None


def _host_ips(before: tuple[HostIP, ...], ip: str) -> tuple[HostIP, ...]:
    """`(HostIP(ip),)` (none without an ip), `before` itself when it is just that."""
    if not ip:
        return ()
    if len(before) == 1 and before[0].ip == ip:
        return before
    return (HostIP(ip=ip),)


def _pod_ips(before: tuple[PodIP, ...], ip: str) -> tuple[PodIP, ...]:
    """`(PodIP(ip),)` (none without an ip), `before` itself when it is just that."""
    if not ip:
        return ()
    if len(before) == 1 and before[0].ip == ip:
        return before
    return (PodIP(ip=ip),)
