"""The CRI-shaped vocabulary of the simulated runtime: calls, results, callback events.

Owns three closed unions of frozen values:
- `RuntimeCall`: what the kubelet asks of its node's runtime (RunPodSandbox, PullImage,
  CreateContainer, StartContainer, StopContainer, RemoveContainer, RemovePodSandbox,
  ExecProbe). The kubelet emits them as effects; the driver performs them with
  `kcore.runtime.runtime.apply` and hands the result back to the kubelet as an event.
- `RuntimeResult`: the synchronous answer to one call (`CallFailed` carries a gRPC-like
  code and the message a real runtime would give).
- `RuntimeEvent`: what the runtime reports later, on its own (ImagePulled,
  ImagePullFailed, ContainerExited). `apply` returns them wrapped in `Scheduled(at,
  event)`; the driver passes each back through `kcore.runtime.runtime.fire` at `at`, which
  applies it (or drops it if overtaken) and yields the events to deliver.

Rules: values only; time is simulated seconds (`Time`) carried by the caller; ids are
64 hex digits derived from the pod uid, names and attempts (`sandbox_id`,
`container_id`), never random. Helpers `run_pod_sandbox_for` / `container_config_for`
build requests from the API model so every caller builds them the same way.

Must not know: the kubelet's policies (restart policy decisions, backoff, probe periods,
pull policies): the runtime answers, the kubelet decides.

Mirrors k8s.io/cri-api/pkg/apis/runtime/v1/api.proto (RuntimeService, ImageService),
restricted to what kcore simulates.
"""

from __future__ import annotations

import enum
import hashlib
from typing import Final

import attrs
from pyrsistent import pmap
from pyrsistent.typing import PMap

from kcore.api.meta import Time
from kcore.api.pod import Container, ContainerRestartPolicy, Pod, RestartPolicy
from kcore.network.resolvconf import HOST_RESOLV_CONF, ResolvConf
from kcore.util_validation import FieldError

ERR_IMAGE_PULL: Final = "ErrImagePull"
"""The reason of a failed pull (pkg/kubelet/images/types.go ErrImagePull)."""


# --- ids ---------------------------------------------------------------------------------


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()


def sandbox_id(pod_uid: str, attempt: int) -> str:
    """The id of the `attempt`-th sandbox of a pod (64 hex digits, like containerd's)."""
    return _digest("sandbox", pod_uid, str(attempt))


def container_id(sandbox: str, name: str, attempt: int) -> str:
    """The id of container `name`'s `attempt`-th run in sandbox `sandbox`."""
    return _digest("container", sandbox, name, str(attempt))


# --- enums -------------------------------------------------------------------------------


class ContainerRole(enum.Enum):
    """Which list of the pod spec a container comes from; decides its default lifetime."""

    INIT = "Init"  # spec.initContainers, runs to completion
    SIDECAR = "Sidecar"  # spec.initContainers with restartPolicy Always: long-running
    APP = "App"  # spec.containers


class ContainerPhase(enum.Enum):
    """CRI ContainerState. A container only moves forward: Created -> Running -> Exited."""

    CREATED = "Created"
    RUNNING = "Running"
    EXITED = "Exited"


class ExitReason(enum.Enum):
    """The reason a runtime gives for a terminated container (ContainerStatus.reason)."""

    COMPLETED = "Completed"  # exit code 0
    ERROR = "Error"  # non-zero exit code, or killed (137)
    OOM_KILLED = "OOMKilled"


class ProbeKind(enum.Enum):
    STARTUP = "Startup"
    READINESS = "Readiness"
    LIVENESS = "Liveness"


class ErrorCode(enum.Enum):
    """The gRPC status code a CRI call failed with."""

    NOT_FOUND = "NotFound"
    ALREADY_EXISTS = "AlreadyExists"
    FAILED_PRECONDITION = "FailedPrecondition"
    INVALID_ARGUMENT = "InvalidArgument"
    RESOURCE_EXHAUSTED = "ResourceExhausted"
    UNAVAILABLE = "Unavailable"


# --- requests ------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class RunPodSandbox:
    """Create and start the pause sandbox: the pod's network namespace, IP and volumes.

    `annotations` are the pod's: the `kcore.io/...` ones script the pod's behaviour and
    are parsed once, here. `volumes` are the pod's volume names: the sandbox owns them
    (an emptyDir lives and dies with the sandbox) and containers mount them by name.
    `dns` is CRI's DNSConfig: the resolv.conf the runtime writes into the sandbox (the
    kubelet's GetPodDNS; the node's own when the kubelet sends none).
    """

    pod_uid: str
    namespace: str
    name: str
    attempt: int = 0
    host_network: bool = False
    restart_policy: RestartPolicy = RestartPolicy.ALWAYS
    volumes: tuple[str, ...] = ()
    annotations: PMap[str, str] = pmap()
    dns: ResolvConf = HOST_RESOLV_CONF


@attrs.frozen(kw_only=True)
class PullImage:
    """Pull `image` for container `container` of sandbox `sandbox_id` (the pod's script
    decides pull time and failures, as CRI's PullImageRequest carries the sandbox config)."""

    image: str
    sandbox_id: str
    container: str


@attrs.frozen(kw_only=True)
class ContainerConfig:
    """The subset of a container spec the runtime needs."""

    name: str
    image: str
    attempt: int = 0
    role: ContainerRole = ContainerRole.APP
    mounts: tuple[str, ...] = ()  # names of the sandbox volumes it mounts


@attrs.frozen(kw_only=True)
class CreateContainer:
    sandbox_id: str
    config: ContainerConfig


@attrs.frozen(kw_only=True)
class StartContainer:
    container_id: str


@attrs.frozen(kw_only=True)
class StopContainer:
    """SIGTERM, then SIGKILL after `timeout` seconds (the grace period)."""

    container_id: str
    timeout: float


@attrs.frozen(kw_only=True)
class RemoveContainer:
    container_id: str


@attrs.frozen(kw_only=True)
class RemovePodSandbox:
    """Tear the sandbox down: kill and remove its containers, free its IP and volumes."""

    sandbox_id: str


@attrs.frozen(kw_only=True)
class ExecProbe:
    """Run container `container_id`'s `kind` probe now (CRI ExecSync, or the kubelet's
    HTTP/TCP check: the simulation answers both from the pod's script)."""

    container_id: str
    kind: ProbeKind


@attrs.frozen(kw_only=True)
class UpdateRuntimeConfig:
    """The kubelet hands the runtime its node's podCIDR (CRI UpdateRuntimeConfig): the pod
    network becomes ready. Same CIDR again is a no-op; a different one while addresses are
    in use is refused."""

    pod_cidr: str


RuntimeCall = (
    UpdateRuntimeConfig
    | RunPodSandbox
    | PullImage
    | CreateContainer
    | StartContainer
    | StopContainer
    | RemoveContainer
    | RemovePodSandbox
    | ExecProbe
)


# --- results -------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class SandboxReady:
    """RunPodSandbox succeeded. `warnings`: unusable `kcore.io/` annotations (ignored)."""

    sandbox_id: str
    ip: str
    warnings: tuple[FieldError, ...] = ()


@attrs.frozen(kw_only=True)
class PullStarted:
    """The pull runs; `ImagePulled` or `ImagePullFailed` arrives at `completes_at`."""

    sandbox_id: str
    container: str
    image: str
    completes_at: Time


@attrs.frozen(kw_only=True)
class ContainerCreated:
    container_id: str


@attrs.frozen(kw_only=True)
class ContainerStarted:
    container_id: str
    started_at: Time


@attrs.frozen(kw_only=True)
class StopAccepted:
    """StopContainer was accepted. `exits_at`: when `ContainerExited` arrives; None when
    the container was not running (a no-op, as containerd's)."""

    container_id: str
    exits_at: Time | None


@attrs.frozen(kw_only=True)
class ContainerRemoved:
    container_id: str


@attrs.frozen(kw_only=True)
class SandboxRemoved:
    """The sandbox is gone; `released_ip` went back to the pool ("" for host network)."""

    sandbox_id: str
    released_ip: str
    removed_containers: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class ProbeResult:
    """A probe's answer. `passes_at`, for a failing answer, is when the container's script
    makes the probe pass by itself (an application still warming up: `ready-after`,
    `startup-after`), None when it never will: the kubelet reads it only to mark its next
    probe as work in motion for settling, never to decide anything."""

    container_id: str
    kind: ProbeKind
    success: bool
    passes_at: Time | None = None


@attrs.frozen(kw_only=True)
class CallFailed:
    """The call failed and changed nothing."""

    code: ErrorCode
    message: str


@attrs.frozen(kw_only=True)
class RuntimeConfigured:
    """UpdateRuntimeConfig succeeded: sandboxes get IPs from `pod_cidr`."""

    pod_cidr: str


RuntimeResult = (
    RuntimeConfigured
    | SandboxReady
    | PullStarted
    | ContainerCreated
    | ContainerStarted
    | StopAccepted
    | ContainerRemoved
    | SandboxRemoved
    | ProbeResult
    | CallFailed
)


# --- callbacks -----------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ImagePulled:
    sandbox_id: str
    container: str
    image: str
    at: Time


@attrs.frozen(kw_only=True)
class ImagePullFailed:
    sandbox_id: str
    container: str
    image: str
    message: str
    at: Time
    reason: str = ERR_IMAGE_PULL


@attrs.frozen(kw_only=True)
class ContainerExited:
    container_id: str
    sandbox_id: str
    container: str
    exit_code: int
    reason: ExitReason
    started_at: Time
    finished_at: Time


RuntimeEvent = ImagePulled | ImagePullFailed | ContainerExited


@attrs.frozen(kw_only=True)
class Scheduled:
    """`event` happens at `at` unless something overtakes it (see `runtime.fire`)."""

    at: Time
    event: RuntimeEvent


# --- requests from the API model ---------------------------------------------------------


def run_pod_sandbox_for(pod: Pod, attempt: int = 0, dns: ResolvConf = HOST_RESOLV_CONF) -> RunPodSandbox:
    """The RunPodSandbox request for `pod`'s `attempt`-th sandbox, with resolv.conf `dns`."""
    return RunPodSandbox(
        pod_uid=pod.metadata.uid,
        namespace=pod.metadata.namespace,
        name=pod.metadata.name,
        attempt=attempt,
        host_network=pod.spec.host_network,
        restart_policy=pod.spec.restart_policy,
        volumes=tuple(v.name for v in pod.spec.volumes),
        annotations=pod.metadata.annotations,
        dns=dns,
    )


def container_config_for(container: Container, *, init: bool, attempt: int = 0) -> ContainerConfig:
    """The ContainerConfig of `container` (from `spec.initContainers` when `init`)."""
    if not init:
        role = ContainerRole.APP
    elif container.restart_policy is ContainerRestartPolicy.ALWAYS:
        role = ContainerRole.SIDECAR
    else:
        role = ContainerRole.INIT
    return ContainerConfig(
        name=container.name,
        image=container.image,
        attempt=attempt,
        role=role,
        mounts=tuple(m.name for m in container.volume_mounts),
    )
