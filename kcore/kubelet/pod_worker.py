"""The per-pod state machine of the kubelet: what to ask of the runtime next.

Owns `PodWorker` (everything the kubelet knows about one pod it runs: the sandbox, one
`ContainerRun` per container, restart and pull back-off, in-flight calls) and the pure
transitions:
- `plan(worker, env)`: level-triggered, as upstream's computePodActions + SyncPod: given
  what has happened so far, the runtime calls to make now (`Ask`), the v1 Events to
  record and when to look again (`Wake`). At most one call per container and one per
  sandbox is in flight; a call's answer or a runtime callback moves the machine on.
- `on_answer(worker, purpose, result, env)`: a runtime call answered.
- `on_runtime_event(worker, event, env)`: a pull ended or a container exited.

Rules (upstream's, read from pkg/kubelet/kuberuntime/kuberuntime_manager.go):
- The sandbox comes first (its IP is the pod's; hostNetwork pods get the node's IP),
  with the pod's resolv.conf from its dnsPolicy and the kubelet's clusterDNS (GetPodDNS);
  then the init containers one at a time, in order, each to exit 0 (a sidecar, an init
  container with restartPolicy Always, only has to be running); then every app container.
- Each (re)start of a container pulls by imagePullPolicy: Always pulls, IfNotPresent
  pulls unless the image is known present, Never refuses (ErrImageNeverPull). A failed
  pull shows ErrImagePull, then ImagePullBackOff until the pull back-off (10 s doubling
  to 5 min) lets it try again.
- An exited container is restarted per restartPolicy (init containers: on failure unless
  Never; sidecars: always) through the restart back-off: the first restart is immediate,
  then 10 s, 20 s, 40 s ... up to 5 min (CrashLoopBackOff), counted from the exit;
  the back-off starts over after 10 min without a failure (doBackOff, flowcontrol).
  A container killed by a failed liveness or startup probe restarts at once.
- A terminal pod (or one being deleted) is torn down: every running container is stopped
  with the grace period (deletionGracePeriodSeconds, else terminationGracePeriodSeconds),
  then the sandbox is removed. Nothing runs again in a terminal pod.
- Each `Wake` says whether it is work in motion for settling (`kcore.driver.settling`):
  undecided probes (`probes.in_motion`, unless the container was already killed by that
  probe once: a repeat), the moment ErrImagePull turns into ImagePullBackOff, and the
  first retry after a failed pull, sandbox or container call are; CrashLoopBackOff, a
  second failed pull, a repeated call failure and activeDeadlineSeconds are merely
  scheduled, so a pod stuck in a repeating state lets settling end.

Must not know: the API server, request ids, the driver; the status it implies is
`kcore.kubelet.pod_status`'s business.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from typing import Final

import attrs
from pyrsistent import pmap
from pyrsistent.typing import PMap, PSet

from kcore.api.kinds import ObjectKey
from kcore.api.meta import Time, evolver
from kcore.api.pod import (
    Container,
    ContainerRestartPolicy,
    Pod,
    PodPhase,
    PodQOSClass,
    PodStatus,
    PullPolicy,
    RestartPolicy,
    qos_class,
)
from kcore.api.pod_defaults import default_pull_policy
from kcore.component.effects import EventType, RecordEvent
from kcore.kubelet import backoff as bo
from kcore.kubelet import events as reasons
from kcore.kubelet import probes
from kcore.kubelet.admission import Rejection
from kcore.kubelet.config import KubeletConfig
from kcore.network.resolvconf import pod_resolv_conf
from kcore.runtime.cri import (
    CallFailed,
    ContainerCreated,
    ContainerExited,
    ContainerStarted,
    CreateContainer,
    ErrorCode,
    ExecProbe,
    ImagePulled,
    ImagePullFailed,
    ProbeKind,
    ProbeResult,
    PullImage,
    PullStarted,
    RemovePodSandbox,
    RuntimeCall,
    RuntimeEvent,
    RuntimeResult,
    SandboxReady,
    SandboxRemoved,
    StartContainer,
    StopAccepted,
    StopContainer,
    container_config_for,
    run_pod_sandbox_for,
    sandbox_id,
)
from kcore.scheduler.nodeinfo import Resources, pod_requests

RETRY_SECONDS = 10.0
"""How long the pod worker waits after a failed runtime call (pod_workers.go backOffPeriod)."""

ERR_IMAGE_PULL_SHOWN_SECONDS = 1.0
"""How long ErrImagePull shows before ImagePullBackOff: upstream's next pod sync."""

DEADLINE_EXCEEDED = "DeadlineExceeded"
DEADLINE_MESSAGE = "Pod was active on the node longer than the specified deadline"

# waiting reasons (pkg/kubelet/container/sync_result.go, images/types.go, kubelet_pods.go)
CONTAINER_CREATING = "ContainerCreating"
POD_INITIALIZING = "PodInitializing"
CRASH_LOOP_BACK_OFF = "CrashLoopBackOff"
ERR_IMAGE_PULL = "ErrImagePull"
IMAGE_PULL_BACK_OFF = "ImagePullBackOff"
ERR_IMAGE_NEVER_PULL = "ErrImageNeverPull"
CREATE_CONTAINER_ERROR = "CreateContainerError"


class SandboxStage(enum.Enum):
    NONE = "None"
    CREATING = "Creating"
    READY = "Ready"
    REMOVING = "Removing"
    GONE = "Gone"


class Stage(enum.Enum):
    """Where one container's current attempt is."""

    NEW = "New"  # to pull (or to restart)
    PULLING = "Pulling"
    PULLED = "Pulled"  # image present: to create
    CREATING = "Creating"
    STARTING = "Starting"
    RUNNING = "Running"
    STOPPING = "Stopping"
    EXITED = "Exited"


class Op(enum.Enum):
    SANDBOX = "RunPodSandbox"
    REMOVE_SANDBOX = "RemovePodSandbox"
    DISCARD_SANDBOX = "DiscardPodSandbox"  # a leftover sandbox of an earlier incarnation
    PULL = "PullImage"
    CREATE = "CreateContainer"
    START = "StartContainer"
    STOP = "StopContainer"
    PROBE = "ExecProbe"


@attrs.frozen(kw_only=True)
class Purpose:
    """What a runtime call is for: the kubelet tags its `CallRuntime` with it, and the
    answer comes back with it (one call per container, and one per sandbox, in flight)."""

    uid: str
    op: Op
    container: str = ""
    probe: ProbeKind | None = None


@attrs.frozen(kw_only=True)
class Ask:
    """Make `call` on the node's runtime."""

    call: RuntimeCall
    purpose: Purpose


@attrs.frozen(kw_only=True)
class Wake:
    """Look at the pod again at `at`; `in_motion`: see the module doc."""

    at: Time
    in_motion: bool = False


Out = Ask | RecordEvent | Wake


@attrs.frozen(kw_only=True)
class Exit:
    """One finished run of a container (ContainerStateTerminated)."""

    exit_code: int
    reason: str
    started_at: Time | None
    finished_at: Time
    container_id: str
    killed_by: str = ""  # the probe that killed it ("liveness" / "startup"), if one did


@attrs.frozen(kw_only=True)
class ContainerRun:
    name: str
    init: bool = False
    sidecar: bool = False
    stage: Stage = Stage.NEW
    busy: bool = False  # a runtime call for it is in flight
    attempt: int = 0  # the runtime attempt of the next CreateContainer
    container_id: str = ""
    started_at: Time | None = None
    exit: Exit | None = None  # of the current attempt, once EXITED
    last_exit: Exit | None = None  # lastState.terminated
    restart_count: int = 0
    waiting_reason: str = ""
    waiting_message: str = ""
    pull_started_at: Time | None = None
    kill_reason: str = ""  # "liveness" / "startup": restart at once
    probes: PMap[ProbeKind, probes.ProbeTrack] = pmap()
    noted_backoff: Time | None = None  # the exit whose BackOff event was recorded

    @property
    def started(self) -> bool:
        """Running, and past its startup probe (if any)."""
        if self.stage not in (Stage.RUNNING, Stage.STOPPING):
            return False
        track = self.probes.get(ProbeKind.STARTUP)
        return track is None or track.passing

    @property
    def succeeded(self) -> bool:
        return self.stage is Stage.EXITED and self.exit is not None and self.exit.exit_code == 0


@attrs.frozen(kw_only=True)
class PodWorker:
    key: ObjectKey
    uid: str
    pod: Pod
    static: bool = False
    rejection: Rejection | None = None
    sandbox: SandboxStage = SandboxStage.NONE
    sandbox_busy: bool = False
    sandbox_attempt: int = 0
    sandbox_id: str = ""
    sandbox_failed: bool = False  # the last sandbox attempt failed (its retry is a repeat)
    pod_ip: str = ""
    start_time: Time | None = None
    # one run per spec container, in spec order (init containers first): a pod's
    # containers never change (ValidatePodUpdate), so the order is fixed at creation
    runs: tuple[ContainerRun, ...] = ()
    restart_backoff: bo.Backoff
    pull_backoff: bo.Backoff
    deleting: bool = False  # deletionTimestamp seen, or gone from the API
    gone_from_api: bool = False
    torn_down: bool = False  # a terminal or deleted pod's containers and sandbox are gone
    floor: PodPhase = PodPhase.PENDING  # the newest phase reported: never go back
    wakes: PMap[Time, bool] = pmap()  # timers queued: time -> whether one is in motion
    # the pod's QoS class: a function of its containers' resources, which never change
    # (ValidatePodUpdate), so computed once, not per status
    qos: PodQOSClass = PodQOSClass.BEST_EFFORT
    requests: Resources = Resources()  # pod_requests(pod), for admission, likewise fixed
    # a cache, not state (left out of equality): `pod_status.settled_status`'s record of
    # the last status computed, with the inputs it was computed from
    status_memo: StatusMemo | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True, eq=False)
class StatusMemo:
    """`status` was computed for a worker whose status inputs were `inputs` (see
    `kcore.kubelet.pod_status.status_inputs`); kept by `pod_status.remember_status`."""

    inputs: tuple[object, ...]
    status: PodStatus


# `attrs.evolve` for the two hot records, cheaper (built once at import)
evolve_run = evolver(ContainerRun)
evolve_worker = evolver(PodWorker)


@attrs.frozen(kw_only=True)
class Env:
    """What a step needs beyond the worker: the node and what the runtime holds."""

    config: KubeletConfig
    node_ip: str
    images: PSet[str]
    now: Time


# --- construction ------------------------------------------------------------------------


def new_worker(
    pod: Pod, config: KubeletConfig, *, static: bool = False, rejection: Rejection | None = None
) -> PodWorker:
    """A worker for `pod`, picking up restart counts and the phase from its API status."""
    previous = {s.name: s for s in (*pod.status.init_container_statuses, *pod.status.container_statuses)}
    runs: dict[str, ContainerRun] = {}
    for c, init in _spec_containers(pod):
        before = previous.get(c.name)
        runs[c.name] = ContainerRun(
            name=c.name,
            init=init,
            sidecar=init and c.restart_policy is ContainerRestartPolicy.ALWAYS,
            restart_count=before.restart_count if before is not None else 0,
            attempt=before.restart_count if before is not None else 0,
        )
    backoff = bo.Backoff(
        initial=config.backoff_initial,
        maximum=config.backoff_max,
        reset_after=config.backoff_reset_after,
    )
    return PodWorker(
        key=ObjectKey(kind=pod.KIND, namespace=pod.metadata.namespace, name=pod.metadata.name),
        uid=pod.metadata.uid,
        pod=pod,
        static=static,
        rejection=rejection,
        runs=tuple(runs.values()),
        restart_backoff=backoff,
        pull_backoff=backoff,
        start_time=pod.status.start_time,
        pod_ip=pod.status.pod_ip,
        floor=pod.status.phase or PodPhase.PENDING,
        qos=qos_class(pod.spec),
        requests=pod_requests(pod),
    )


def _spec_containers(pod: Pod) -> Iterator[tuple[Container, bool]]:
    for c in pod.spec.init_containers:
        yield c, True
    for c in pod.spec.containers:
        yield c, False


def spec_of(worker: PodWorker, name: str) -> Container | None:
    for c, _ in _spec_containers(worker.pod):
        if c.name == name:
            return c
    return None


def grace_seconds(pod: Pod) -> int:
    """The grace period to stop containers with (deletion's, else the spec's)."""
    m = pod.metadata
    if m.deletion_grace_period_seconds is not None:
        return max(m.deletion_grace_period_seconds, 0)
    return max(pod.spec.termination_grace_period_seconds, 0)


def pod_ref(pod: Pod) -> str:
    """upstream's format.Pod: name_namespace(uid)."""
    m = pod.metadata
    return f"{m.name}_{m.namespace}({m.uid})"


# --- helpers ------------------------------------------------------------------------------


def _event(w: PodWorker, type_: EventType, reason: str, message: str) -> RecordEvent:
    return RecordEvent(involved=w.key, type=type_, reason=reason, message=message)


def _put(w: PodWorker, run: ContainerRun) -> PodWorker:
    """`w` with `run` in place of the run of the same name (`w` itself if unchanged)."""
    runs = w.runs
    name = run.name
    for i, r in enumerate(runs):
        if r.name == name:
            if r is run:
                return w
            return evolve_worker(w, runs=(*runs[:i], run, *runs[i + 1 :]))
    return w


def run_named(w: PodWorker, name: str) -> ContainerRun | None:
    """The run of container `name`, if the pod has one."""
    for run in w.runs:
        if run.name == name:
            return run
    return None


def _ask(w: PodWorker, op: Op, call: RuntimeCall, container: str = "", probe: ProbeKind | None = None) -> Ask:
    return Ask(call=call, purpose=Purpose(uid=w.uid, op=op, container=container, probe=probe))


def is_terminal(phase: PodPhase) -> bool:
    return phase in (PodPhase.SUCCEEDED, PodPhase.FAILED)


def ordered_runs(w: PodWorker) -> tuple[ContainerRun, ...]:
    """Runs in spec order (init containers first)."""
    return w.runs


# --- plan ---------------------------------------------------------------------------------


def plan(w: PodWorker, env: Env, phase: PodPhase) -> tuple[PodWorker, tuple[Out, ...]]:
    """What to do for the pod now, given its computed `phase` (see module docstring)."""
    if w.rejection is not None:
        return _tear_down(w, env)
    start = w.start_time
    if start is None:
        start = env.now
        w = evolve_worker(w, start_time=start)
    deadline = w.pod.spec.active_deadline_seconds
    if deadline is not None and not is_terminal(phase) and not is_terminal(w.floor):
        # kubelet_pods.go pastActiveDeadline: the pod fails and everything in it stops
        ends = Time(start + deadline)
        if env.now >= ends:
            rejection = Rejection(reason=DEADLINE_EXCEEDED, message=DEADLINE_MESSAGE)
            return _tear_down(evolve_worker(w, rejection=rejection), env)
        w, done = _plan_live(w, env, phase)
        return w, (*done, Wake(at=ends))
    return _plan_live(w, env, phase)


def _plan_live(w: PodWorker, env: Env, phase: PodPhase) -> tuple[PodWorker, tuple[Out, ...]]:
    if w.deleting or is_terminal(phase) or is_terminal(w.floor):
        return _tear_down(w, env)
    match w.sandbox:
        case SandboxStage.NONE | SandboxStage.GONE:
            if w.sandbox_busy:
                return w, ()
            dns = pod_resolv_conf(w.pod, cluster_dns=env.config.cluster_dns, cluster_domain=env.config.cluster_domain)
            call = run_pod_sandbox_for(w.pod, w.sandbox_attempt, dns)
            w = evolve_worker(w, sandbox=SandboxStage.CREATING, sandbox_busy=True)
            return w, (_ask(w, Op.SANDBOX, call),)
        case SandboxStage.CREATING | SandboxStage.REMOVING:
            return w, ()
        case SandboxStage.READY:
            pass
    outs: list[Out] = []
    initialized = True
    for run in ordered_runs(w):
        if not run.init:
            continue
        if run.sidecar and run.stage is Stage.RUNNING:
            w, more = _probe(w, run, env)
            outs.extend(more)
            continue
        if run.succeeded:
            continue
        w, more = _advance(w, run, env)
        outs.extend(more)
        initialized = False
        break
    for run in ordered_runs(w):
        if run.init:
            continue
        if not initialized:
            if not run.waiting_reason:
                w = _put(w, evolve_run(run, waiting_reason=POD_INITIALIZING))
            continue
        w, more = _advance(w, run, env)
        outs.extend(more)
    return w, tuple(outs)


def _advance(w: PodWorker, run: ContainerRun, env: Env) -> tuple[PodWorker, tuple[Out, ...]]:
    """Move one container one step on (at most one call in flight)."""
    if run.busy:
        return w, ()
    spec = spec_of(w, run.name)
    if spec is None:
        return w, ()
    match run.stage:
        case Stage.NEW:
            return _pull(w, run, spec, env)
        case Stage.PULLING | Stage.CREATING | Stage.STARTING | Stage.STOPPING:
            return w, ()
        case Stage.PULLED:
            config = container_config_for(spec, init=run.init, attempt=run.attempt)
            run = evolve_run(run, stage=Stage.CREATING, busy=True)
            call = CreateContainer(sandbox_id=w.sandbox_id, config=config)
            return _put(w, run), (_ask(w, Op.CREATE, call, run.name),)
        case Stage.RUNNING:
            return _probe(w, run, env)
        case Stage.EXITED:
            return _maybe_restart(w, run, env)


def _pull_policy(spec: Container) -> PullPolicy:
    return spec.image_pull_policy or default_pull_policy(spec.image)


def _pull(w: PodWorker, run: ContainerRun, spec: Container, env: Env) -> tuple[PodWorker, tuple[Out, ...]]:
    image = spec.image
    policy = _pull_policy(spec)
    present = image in env.images
    if policy is PullPolicy.NEVER and not present:
        message = f'Container image "{image}" is not present with pull policy of Never'
        if run.waiting_reason == ERR_IMAGE_NEVER_PULL:
            return w, ()
        run = evolve_run(run, waiting_reason=ERR_IMAGE_NEVER_PULL, waiting_message=message)
        return _put(w, run), (_event(w, EventType.WARNING, reasons.ERR_IMAGE_NEVER_PULL_POLICY, message),)
    if policy is not PullPolicy.ALWAYS and present:
        event = _event(w, EventType.NORMAL, reasons.PULLED_IMAGE, f'Container image "{image}" already present on machine')
        run = evolve_run(run, stage=Stage.PULLED)
        w, outs = _advance(w, run, env)
        return w, (event, *outs)
    key = f"{w.uid}_{image}"
    if bo.in_backoff_since_update(w.pull_backoff, key, env.now):
        entry = w.pull_backoff.entries[key]
        # the retry after a first failed pull may well succeed; after a second, the pull
        # is failing for good as far as anyone can tell (ImagePullBackOff)
        wake = Wake(at=Time(entry.last_update + entry.delay), in_motion=entry.delay <= w.pull_backoff.initial)
        shown = Time(entry.last_update + ERR_IMAGE_PULL_SHOWN_SECONDS)
        if run.waiting_reason == ERR_IMAGE_PULL and env.now < shown:
            return w, (Wake(at=shown, in_motion=True),)  # the failure itself is shown until the next sync
        if run.waiting_reason == IMAGE_PULL_BACK_OFF:
            return w, (wake,)
        message = f'Back-off pulling image "{image}"'
        run = evolve_run(run, waiting_reason=IMAGE_PULL_BACK_OFF, waiting_message=message)
        events = (
            _event(w, EventType.NORMAL, reasons.BACK_OFF_PULL_IMAGE, message),
            _event(w, EventType.WARNING, reasons.FAILED_TO_CREATE_CONTAINER, f"Error: {IMAGE_PULL_BACK_OFF}"),
        )
        return _put(w, run), (*events, wake)
    run = evolve_run(run, stage=Stage.PULLING, busy=True, pull_started_at=env.now)
    call = PullImage(image=image, sandbox_id=w.sandbox_id, container=run.name)
    return _put(w, run), (_ask(w, Op.PULL, call, run.name),)


def _restartable(w: PodWorker, run: ContainerRun) -> bool:
    assert run.exit is not None
    if run.sidecar:
        return True
    policy = w.pod.spec.restart_policy
    if run.init:
        return policy is not RestartPolicy.NEVER and run.exit.exit_code != 0
    match policy:
        case RestartPolicy.ALWAYS:
            return True
        case RestartPolicy.ON_FAILURE:
            return run.exit.exit_code != 0
        case RestartPolicy.NEVER:
            return False


def _maybe_restart(w: PodWorker, run: ContainerRun, env: Env) -> tuple[PodWorker, tuple[Out, ...]]:
    if run.exit is None or not _restartable(w, run):
        return w, ()
    key = run.name
    outs: list[Out] = []
    if not run.kill_reason:
        finished = run.exit.finished_at
        if bo.in_backoff_since(w.restart_backoff, key, finished, env.now):
            delay = bo.delay_of(w.restart_backoff, key)
            message = (
                f"back-off {bo.format_delay(delay)} restarting failed container={run.name} pod={pod_ref(w.pod)}"
            )
            wake = Wake(at=Time(finished + delay))
            if run.noted_backoff == finished:
                return _put(w, evolve_run(run, waiting_message=message)), (wake,)
            run = evolve_run(
                run, waiting_reason=CRASH_LOOP_BACK_OFF, waiting_message=message, noted_backoff=finished
            )
            event = _event(
                w,
                EventType.WARNING,
                reasons.BACK_OFF_START_CONTAINER,
                f"Back-off restarting failed container {run.name} in pod {pod_ref(w.pod)}",
            )
            return _put(w, run), (event, wake)
        w = evolve_worker(w, restart_backoff=bo.next_backoff(w.restart_backoff, key, finished))
    run = evolve_run(
        run,
        stage=Stage.NEW,
        last_exit=run.exit,
        exit=None,
        restart_count=run.restart_count + 1,
        attempt=run.attempt + 1,
        container_id="",
        started_at=None,
        waiting_reason="",
        waiting_message="",
        kill_reason="",
        probes=pmap(),
    )
    w, more = _advance(_put(w, run), run, env)
    outs.extend(more)
    return w, tuple(outs)


def _probe(w: PodWorker, run: ContainerRun, env: Env) -> tuple[PodWorker, tuple[Out, ...]]:
    """Due probes of a running container: startup first, the others once it passed."""
    spec = spec_of(w, run.name)
    if spec is None or run.busy:
        return w, ()
    outs: list[Out] = []
    started = run.started
    for kind in probes.PROBE_ORDER:
        probe = probes.probe_of(spec, kind)
        track = run.probes.get(kind)
        if probe is None or track is None or track.inflight:
            continue
        if kind is ProbeKind.STARTUP and track.passing:
            continue
        if kind is not ProbeKind.STARTUP and not started:
            continue
        if track.next_at > env.now:
            label = _KILL_LABEL[kind]
            repeat = bool(label) and run.last_exit is not None and run.last_exit.killed_by == label
            outs.append(Wake(at=track.next_at, in_motion=probes.in_motion(track, probe) and not repeat))
            continue
        run = evolve_run(run, probes=run.probes.set(kind, attrs.evolve(track, inflight=True)))
        outs.append(_ask(w, Op.PROBE, ExecProbe(container_id=run.container_id, kind=kind), run.name, kind))
    return _put(w, run), tuple(outs)


def _tear_down(w: PodWorker, env: Env) -> tuple[PodWorker, tuple[Out, ...]]:
    """Stop what runs, then remove the sandbox; `torn_down` once both are gone."""
    outs: list[Out] = []
    waiting = False
    grace = grace_seconds(w.pod)
    for run in ordered_runs(w):
        if run.busy or run.stage is Stage.STOPPING:
            waiting = True
            continue
        if run.stage is Stage.RUNNING:
            run = evolve_run(run, stage=Stage.STOPPING, busy=True)
            w = _put(w, run)
            outs.append(_event(w, EventType.NORMAL, reasons.KILLING_CONTAINER, f"Stopping container {run.name}"))
            outs.append(_ask(w, Op.STOP, StopContainer(container_id=run.container_id, timeout=grace), run.name))
            waiting = True
    if waiting or w.sandbox_busy:
        return w, tuple(outs)
    if w.sandbox is SandboxStage.READY:
        w = evolve_worker(w, sandbox=SandboxStage.REMOVING, sandbox_busy=True)
        return w, (*outs, _ask(w, Op.REMOVE_SANDBOX, RemovePodSandbox(sandbox_id=w.sandbox_id)))
    if w.sandbox is SandboxStage.NONE:
        # this incarnation never ran a sandbox, but an earlier one (before a crash of
        # the kubelet alone) may have: remove those, as upstream finds them by listing
        # (RemovePodSandbox of an unknown id is a no-op)
        w = evolve_worker(w, sandbox=SandboxStage.GONE)
        for attempt in range(w.sandbox_attempt + 1):
            outs.append(_ask(w, Op.DISCARD_SANDBOX, RemovePodSandbox(sandbox_id=sandbox_id(w.uid, attempt))))
    if not w.torn_down:
        w = evolve_worker(w, torn_down=True)
    return w, tuple(outs)


# --- answers and callbacks -----------------------------------------------------------------


def on_answer(
    w: PodWorker, purpose: Purpose, result: RuntimeResult, env: Env
) -> tuple[PodWorker, tuple[Out, ...]]:
    """Fold one runtime answer into the worker."""
    if purpose.op in (Op.SANDBOX, Op.REMOVE_SANDBOX, Op.DISCARD_SANDBOX):
        return _sandbox_answer(w, purpose, result, env)
    run = run_named(w, purpose.container)
    if run is None:
        return w, ()
    if purpose.op is Op.PROBE:
        return _probe_answer(w, run, purpose, result, env)
    run = evolve_run(run, busy=False)
    w = _put(w, run)
    match result:
        case CallFailed(code=code, message=message):
            return _call_failed(w, run, purpose.op, code, message, env)
        case PullStarted(completes_at=at):
            spec = spec_of(w, run.name)
            image = spec.image if spec is not None else ""
            if at <= env.now and spec is not None and _pull_policy(spec) is PullPolicy.IF_NOT_PRESENT:
                msg = f'Container image "{image}" already present on machine'
                return _put(w, evolve_run(run, pull_started_at=None)), (
                    _event(w, EventType.NORMAL, reasons.PULLED_IMAGE, msg),
                )
            return w, (_event(w, EventType.NORMAL, reasons.PULLING_IMAGE, f'Pulling image "{image}"'),)
        case ContainerCreated(container_id=cid):
            run = evolve_run(run, stage=Stage.STARTING, busy=True, container_id=cid)
            w = _put(w, run)
            event = _event(w, EventType.NORMAL, reasons.CREATED_CONTAINER, f"Created container: {run.name}")
            return w, (event, _ask(w, Op.START, StartContainer(container_id=cid), run.name))
        case ContainerStarted(started_at=at):
            return _started(w, run, at)
        case StopAccepted(exits_at=None):
            if run.stage is Stage.STOPPING:  # it was not running any more: an exit is on its way or lost
                run = evolve_run(run, stage=Stage.EXITED, exit=run.exit or _killed(run, env.now))
            return _put(w, run), ()
        case StopAccepted():
            return w, ()
        case _:
            return w, ()


def _killed(run: ContainerRun, now: Time) -> Exit:
    return Exit(
        exit_code=137,
        reason="Error",
        started_at=run.started_at,
        finished_at=now,
        container_id=run.container_id,
        killed_by=run.kill_reason,
    )


_KILL_LABEL: Final = {ProbeKind.LIVENESS: "liveness", ProbeKind.STARTUP: "startup", ProbeKind.READINESS: ""}
"""`ContainerRun.kill_reason` of a kill by each probe (readiness never kills)."""


def _started(w: PodWorker, run: ContainerRun, at: Time) -> tuple[PodWorker, tuple[Out, ...]]:
    spec = spec_of(w, run.name)
    tracks: dict[ProbeKind, probes.ProbeTrack] = {}
    if spec is not None:
        for kind in probes.PROBE_ORDER:
            probe = probes.probe_of(spec, kind)
            if probe is not None:
                tracks[kind] = probes.new_track(kind, probe, at)
    run = evolve_run(
        run,
        stage=Stage.RUNNING,
        started_at=at,
        waiting_reason="",
        waiting_message="",
        probes=pmap(tracks),
    )
    w = _put(w, run)
    return w, (_event(w, EventType.NORMAL, reasons.STARTED_CONTAINER, f"Started container {run.name}"),)


def _call_failed(
    w: PodWorker, run: ContainerRun, op: Op, code: ErrorCode, message: str, env: Env
) -> tuple[PodWorker, tuple[Out, ...]]:
    before = run.waiting_reason
    match op:
        case Op.PULL:
            run = evolve_run(run, stage=Stage.NEW, waiting_reason=ERR_IMAGE_PULL, waiting_message=message)
        case Op.CREATE:
            run = evolve_run(
                run,
                stage=Stage.NEW,
                attempt=run.attempt + (1 if code is ErrorCode.ALREADY_EXISTS else 0),
                waiting_reason=CREATE_CONTAINER_ERROR,
                waiting_message=message,
            )
        case Op.START:
            run = evolve_run(run, stage=Stage.NEW, attempt=run.attempt + 1, waiting_reason="RunContainerError", waiting_message=message)
        case Op.STOP:
            run = evolve_run(run, stage=Stage.EXITED, exit=run.exit or _killed(run, env.now))
        case _:
            return w, ()
    w = _put(w, run)
    # the first retry of a failed call is in motion; the same failure again is a repeat
    retry = Wake(at=Time(env.now + RETRY_SECONDS), in_motion=op is Op.STOP or run.waiting_reason != before)
    reason = reasons.FAILED_TO_START_CONTAINER if op is Op.START else reasons.FAILED_TO_CREATE_CONTAINER
    return w, (_event(w, EventType.WARNING, reason, f"Error: {message}"), retry)


def _sandbox_answer(
    w: PodWorker, purpose: Purpose, result: RuntimeResult, env: Env
) -> tuple[PodWorker, tuple[Out, ...]]:
    if purpose.op is Op.DISCARD_SANDBOX:
        return w, ()
    w = evolve_worker(w, sandbox_busy=False)
    match result:
        case SandboxReady(sandbox_id=sid, ip=ip, warnings=warnings):
            w = evolve_worker(w, sandbox=SandboxStage.READY, sandbox_id=sid, pod_ip=ip, sandbox_failed=False)
            events = tuple(_event(w, EventType.WARNING, reasons.INVALID_SCRIPT, str(f)) for f in warnings)
            return w, events
        case SandboxRemoved():
            return evolve_worker(w, sandbox=SandboxStage.GONE), ()
        case CallFailed(code=ErrorCode.ALREADY_EXISTS):
            # a sandbox of this pod outlived an earlier kubelet (a crash of the kubelet
            # alone): discard it and start a fresh one with the next attempt
            old = sandbox_id(w.uid, w.sandbox_attempt)
            w = evolve_worker(w, sandbox=SandboxStage.NONE, sandbox_attempt=w.sandbox_attempt + 1)
            return w, (_ask(w, Op.DISCARD_SANDBOX, RemovePodSandbox(sandbox_id=old)),)
        case CallFailed(message=message):
            stage = SandboxStage.READY if purpose.op is Op.REMOVE_SANDBOX else SandboxStage.NONE
            first = not w.sandbox_failed  # the first retry is in motion, a repeat is not
            w = evolve_worker(w, sandbox=stage, sandbox_failed=True)
            event = _event(w, EventType.WARNING, reasons.FAILED_CREATE_POD_SANDBOX, f"Failed to create pod sandbox: {message}")
            return w, (event, Wake(at=Time(env.now + RETRY_SECONDS), in_motion=first))
        case _:
            return w, ()


def _probe_answer(
    w: PodWorker, run: ContainerRun, purpose: Purpose, result: RuntimeResult, env: Env
) -> tuple[PodWorker, tuple[Out, ...]]:
    kind = purpose.probe
    spec = spec_of(w, run.name)
    if kind is None or spec is None:
        return w, ()
    track = run.probes.get(kind)
    probe = probes.probe_of(spec, kind)
    if track is None or probe is None or run.stage is not Stage.RUNNING:
        return w, ()
    if not isinstance(result, ProbeResult) or result.container_id != run.container_id:
        return _put(w, evolve_run(run, probes=run.probes.set(kind, attrs.evolve(track, inflight=False)))), ()
    new = probes.record(track, probe, result.success, env.now, result.passes_at)
    run = evolve_run(run, probes=run.probes.set(kind, new))
    outs: list[Out] = []
    if not result.success:
        outs.append(_event(w, EventType.WARNING, reasons.CONTAINER_UNHEALTHY, f"{kind.value} probe failed: probe returned failure (simulated)"))
    if kind is ProbeKind.STARTUP and new.passing and not track.passing:
        realigned = {
            k: probes.realign(t, p, env.now)
            for k, t in run.probes.items()
            if k is not ProbeKind.STARTUP and (p := probes.probe_of(spec, k)) is not None
        }
        for k in sorted(realigned, key=lambda x: x.value):
            run = evolve_run(run, probes=run.probes.set(k, realigned[k]))
    failed_hard = kind in (ProbeKind.LIVENESS, ProbeKind.STARTUP) and not new.passing and new.failures >= max(probe.failure_threshold, 1)
    if failed_hard:
        label = "liveness" if kind is ProbeKind.LIVENESS else "startup"
        grace = probe.termination_grace_period_seconds
        timeout = grace if grace is not None else grace_seconds(w.pod)
        run = evolve_run(run, stage=Stage.STOPPING, busy=True, kill_reason=label)
        w = _put(w, run)
        outs.append(_event(w, EventType.NORMAL, reasons.KILLING_CONTAINER, f"Container {run.name} failed {label} probe, will be restarted"))
        outs.append(_ask(w, Op.STOP, StopContainer(container_id=run.container_id, timeout=timeout), run.name))
        return w, tuple(outs)
    return _put(w, run), tuple(outs)


def on_runtime_event(w: PodWorker, event: RuntimeEvent, env: Env) -> tuple[PodWorker, tuple[Out, ...]]:
    """A pull ended or a container exited (matched to this worker's sandbox by the caller)."""
    match event:
        case ImagePulled(container=name, image=image, at=at):
            run = run_named(w, name)
            if run is None or run.stage is not Stage.PULLING:
                return w, ()
            outs: tuple[Out, ...] = ()
            if run.pull_started_at is not None:
                took = bo.format_delay(at - run.pull_started_at)
                msg = f'Successfully pulled image "{image}" in {took} ({took} including waiting)'
                outs = (_event(w, EventType.NORMAL, reasons.PULLED_IMAGE, msg),)
            run = evolve_run(run, stage=Stage.PULLED, pull_started_at=None, waiting_reason="", waiting_message="")
            key = f"{w.uid}_{image}"
            return evolve_worker(_put(w, run), pull_backoff=bo.forget(w.pull_backoff, key)), outs
        case ImagePullFailed(container=name, image=image, message=message, at=at):
            run = run_named(w, name)
            if run is None or run.stage is not Stage.PULLING:
                return w, ()
            run = evolve_run(
                run, stage=Stage.NEW, pull_started_at=None, waiting_reason=ERR_IMAGE_PULL, waiting_message=message
            )
            key = f"{w.uid}_{image}"
            w = evolve_worker(_put(w, run), pull_backoff=bo.next_backoff(w.pull_backoff, key, at))
            return w, (
                _event(w, EventType.WARNING, reasons.FAILED_TO_PULL_IMAGE, message),
                _event(w, EventType.WARNING, reasons.FAILED_TO_CREATE_CONTAINER, f"Error: {ERR_IMAGE_PULL}"),
                Wake(at=Time(env.now + ERR_IMAGE_PULL_SHOWN_SECONDS), in_motion=True),
            )
        case ContainerExited():
            for run in ordered_runs(w):
                if run.container_id == event.container_id and run.stage in (Stage.RUNNING, Stage.STOPPING, Stage.STARTING):
                    done = Exit(
                        exit_code=event.exit_code,
                        reason=event.reason.value,
                        started_at=event.started_at,
                        finished_at=event.finished_at,
                        container_id=event.container_id,
                        killed_by=run.kill_reason,
                    )
                    run = evolve_run(run, stage=Stage.EXITED, exit=done, probes=pmap())
                    return _put(w, run), ()
            return w, ()
        case _:
            return w, ()


def owns_sandbox(w: PodWorker, sid: str) -> bool:
    return bool(sid) and w.sandbox_id == sid
