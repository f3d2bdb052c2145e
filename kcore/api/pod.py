"""Pod and everything a pod spec holds (core/v1), and the pod's QoS class.

Owns: `Pod`, `PodSpec`, `PodTemplateSpec` (embedded by ReplicationController and the apps
and batch kinds), `PodStatus`, containers, probes, volumes, affinity, tolerations, the
meta/v1 `LabelSelector` (apps and batch select with it too), and `qos_class(spec)`.

Rules: classes follow the conventions of `kcore.api.meta` exactly (the codec walks them
by their type hints). Static upstream defaults (`+default=` markers, restartPolicy,
dnsPolicy, terminationGracePeriodSeconds, probe timings, port protocol) are attrs
defaults; the context-dependent ones are `kcore.api.pod_defaults`'s. Maps are read in
sorted key order only. Knows nothing of the codec, the registry or validation.

Mirrors k8s.io/api/core/v1/types.go (Pod* and Container* types),
k8s.io/apimachinery/pkg/apis/meta/v1/types.go (LabelSelector) and
pkg/apis/core/helper/qos/qos.go (the QoS class).
"""

from __future__ import annotations

import enum
from typing import ClassVar, Final

import attrs
from pyrsistent import pmap
from pyrsistent.typing import PMap

from kcore.api.kinds import Kind
from kcore.api.meta import ConditionStatus, ObjectMeta, Time, wire
from kcore.quantity import Quantity

DEFAULT_SCHEDULER_NAME: Final = "default-scheduler"
DEFAULT_TERMINATION_MESSAGE_PATH: Final = "/dev/termination-log"
DEFAULT_VOLUME_MODE: Final = 0o644  # Secret/ConfigMap/DownwardAPI/Projected defaultMode

# PodCondition types (an open set upstream, so plain strings).
POD_SCHEDULED: Final = "PodScheduled"
POD_READY_TO_START_CONTAINERS: Final = "PodReadyToStartContainers"
POD_INITIALIZED: Final = "Initialized"
CONTAINERS_READY: Final = "ContainersReady"
POD_READY: Final = "Ready"
DISRUPTION_TARGET: Final = "DisruptionTarget"

# Resource names the QoS class looks at (qos.go isSupportedQoSComputeResource).
RESOURCE_CPU: Final = "cpu"
RESOURCE_MEMORY: Final = "memory"


# --- closed string sets ------------------------------------------------------------------


class Protocol(enum.Enum):
    TCP = "TCP"
    UDP = "UDP"
    SCTP = "SCTP"


class PullPolicy(enum.Enum):
    ALWAYS = "Always"
    NEVER = "Never"
    IF_NOT_PRESENT = "IfNotPresent"


class RestartPolicy(enum.Enum):
    ALWAYS = "Always"
    ON_FAILURE = "OnFailure"
    NEVER = "Never"


class ContainerRestartPolicy(enum.Enum):
    """A container's own restartPolicy: only "Always", which makes an init container a sidecar."""

    ALWAYS = "Always"


class DNSPolicy(enum.Enum):
    CLUSTER_FIRST_WITH_HOST_NET = "ClusterFirstWithHostNet"
    CLUSTER_FIRST = "ClusterFirst"
    DEFAULT = "Default"
    NONE = "None"


class TerminationMessagePolicy(enum.Enum):
    FILE = "File"
    FALLBACK_TO_LOGS_ON_ERROR = "FallbackToLogsOnError"


class URIScheme(enum.Enum):
    HTTP = "HTTP"
    HTTPS = "HTTPS"


class MountPropagationMode(enum.Enum):
    NONE = "None"
    HOST_TO_CONTAINER = "HostToContainer"
    BIDIRECTIONAL = "Bidirectional"


class RecursiveReadOnlyMode(enum.Enum):
    """volumeMounts[].recursiveReadOnly (1.30+)."""

    DISABLED = "Disabled"
    IF_POSSIBLE = "IfPossible"
    ENABLED = "Enabled"


class ContainerRestartRuleAction(enum.Enum):
    """restartPolicyRules[].action: Restart (1.34); RestartAllContainers (1.35, alpha)."""

    RESTART = "Restart"
    RESTART_ALL_CONTAINERS = "RestartAllContainers"


class ContainerRestartRuleOnExitCodesOperator(enum.Enum):
    IN = "In"
    NOT_IN = "NotIn"


class HostPathType(enum.Enum):
    UNSET = ""
    DIRECTORY_OR_CREATE = "DirectoryOrCreate"
    DIRECTORY = "Directory"
    FILE_OR_CREATE = "FileOrCreate"
    FILE = "File"
    SOCKET = "Socket"
    CHAR_DEVICE = "CharDevice"
    BLOCK_DEVICE = "BlockDevice"


class LabelSelectorOperator(enum.Enum):
    IN = "In"
    NOT_IN = "NotIn"
    EXISTS = "Exists"
    DOES_NOT_EXIST = "DoesNotExist"


class NodeSelectorOperator(enum.Enum):
    IN = "In"
    NOT_IN = "NotIn"
    EXISTS = "Exists"
    DOES_NOT_EXIST = "DoesNotExist"
    GT = "Gt"
    LT = "Lt"


class TaintEffect(enum.Enum):
    NO_SCHEDULE = "NoSchedule"
    PREFER_NO_SCHEDULE = "PreferNoSchedule"
    NO_EXECUTE = "NoExecute"


class TolerationOperator(enum.Enum):
    EXISTS = "Exists"
    EQUAL = "Equal"
    # Numeric comparison of the taint value (upstream TaintTolerationComparisonOperators).
    GT = "Gt"
    LT = "Lt"


class UnsatisfiableConstraintAction(enum.Enum):
    DO_NOT_SCHEDULE = "DoNotSchedule"
    SCHEDULE_ANYWAY = "ScheduleAnyway"


class NodeInclusionPolicy(enum.Enum):
    IGNORE = "Ignore"
    HONOR = "Honor"


class PreemptionPolicy(enum.Enum):
    PREEMPT_LOWER_PRIORITY = "PreemptLowerPriority"
    NEVER = "Never"


class SeccompProfileType(enum.Enum):
    UNCONFINED = "Unconfined"
    RUNTIME_DEFAULT = "RuntimeDefault"
    LOCALHOST = "Localhost"


class AppArmorProfileType(enum.Enum):
    UNCONFINED = "Unconfined"
    RUNTIME_DEFAULT = "RuntimeDefault"
    LOCALHOST = "Localhost"


class SupplementalGroupsPolicy(enum.Enum):
    MERGE = "Merge"
    STRICT = "Strict"


class PodFSGroupChangePolicy(enum.Enum):
    ON_ROOT_MISMATCH = "OnRootMismatch"
    ALWAYS = "Always"


class PodPhase(enum.Enum):
    PENDING = "Pending"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    UNKNOWN = "Unknown"


class PodQOSClass(enum.Enum):
    GUARANTEED = "Guaranteed"
    BURSTABLE = "Burstable"
    BEST_EFFORT = "BestEffort"


# --- selectors and references ----------------------------------------------------------


@attrs.frozen(kw_only=True)
class LabelSelectorRequirement:
    key: str
    operator: LabelSelectorOperator
    values: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class LabelSelector:
    """meta/v1 LabelSelector: both parts ANDed; an empty selector matches everything."""

    match_labels: PMap[str, str] = pmap()
    match_expressions: tuple[LabelSelectorRequirement, ...] = ()


@attrs.frozen(kw_only=True)
class LocalObjectReference:
    name: str = ""


@attrs.frozen(kw_only=True)
class ObjectFieldSelector:
    field_path: str
    api_version: str = ""  # defaulted to "v1"


@attrs.frozen(kw_only=True)
class ResourceFieldSelector:
    resource: str
    container_name: str = ""
    divisor: Quantity | None = None


@attrs.frozen(kw_only=True)
class ConfigMapKeySelector:
    key: str
    name: str = ""
    optional: bool | None = None


@attrs.frozen(kw_only=True)
class SecretKeySelector:
    key: str
    name: str = ""
    optional: bool | None = None


# --- containers ------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ContainerPort:
    container_port: int
    name: str = ""
    host_port: int = 0
    host_ip: str = attrs.field(default="", metadata=wire("hostIP"))
    protocol: Protocol = Protocol.TCP


@attrs.frozen(kw_only=True)
class EnvVarSource:
    field_ref: ObjectFieldSelector | None = None
    resource_field_ref: ResourceFieldSelector | None = None
    config_map_key_ref: ConfigMapKeySelector | None = None
    secret_key_ref: SecretKeySelector | None = None


@attrs.frozen(kw_only=True)
class EnvVar:
    name: str
    value: str = ""
    value_from: EnvVarSource | None = None


@attrs.frozen(kw_only=True)
class ConfigMapEnvSource:
    name: str = ""
    optional: bool | None = None


@attrs.frozen(kw_only=True)
class SecretEnvSource:
    name: str = ""
    optional: bool | None = None


@attrs.frozen(kw_only=True)
class EnvFromSource:
    prefix: str = ""
    config_map_ref: ConfigMapEnvSource | None = None
    secret_ref: SecretEnvSource | None = None


@attrs.frozen(kw_only=True)
class ContainerResourceClaim:
    """A container's use of one of the pod's resource claims (upstream core/v1 ResourceClaim).

    `name` names an entry of `spec.resourceClaims`; `request`, when set, picks one request
    of that claim (dynamic resource allocation).
    """

    name: str
    request: str = ""


@attrs.frozen(kw_only=True)
class ResourceRequirements:
    limits: PMap[str, Quantity] = pmap()
    requests: PMap[str, Quantity] = pmap()
    claims: tuple[ContainerResourceClaim, ...] = ()


@attrs.frozen(kw_only=True)
class VolumeMount:
    name: str
    mount_path: str
    read_only: bool = False
    recursive_read_only: RecursiveReadOnlyMode | None = None
    sub_path: str = ""
    sub_path_expr: str = ""
    mount_propagation: MountPropagationMode | None = None


@attrs.frozen(kw_only=True)
class ExecAction:
    command: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class HTTPHeader:
    name: str
    value: str


@attrs.frozen(kw_only=True)
class HTTPGetAction:
    port: int | str
    path: str = "/"
    host: str = ""
    scheme: URIScheme = URIScheme.HTTP
    http_headers: tuple[HTTPHeader, ...] = ()


@attrs.frozen(kw_only=True)
class TCPSocketAction:
    port: int | str
    host: str = ""


@attrs.frozen(kw_only=True)
class GRPCAction:
    port: int
    service: str | None = None


@attrs.frozen(kw_only=True)
class SleepAction:
    seconds: int


@attrs.frozen(kw_only=True)
class Probe:
    """A probe: exactly one handler (validation checks that), then the timing knobs."""

    exec: ExecAction | None = None
    http_get: HTTPGetAction | None = None
    tcp_socket: TCPSocketAction | None = None
    grpc: GRPCAction | None = None
    initial_delay_seconds: int = 0
    timeout_seconds: int = 1
    period_seconds: int = 10
    success_threshold: int = 1
    failure_threshold: int = 3
    termination_grace_period_seconds: int | None = None


@attrs.frozen(kw_only=True)
class LifecycleHandler:
    exec: ExecAction | None = None
    http_get: HTTPGetAction | None = None
    tcp_socket: TCPSocketAction | None = None
    sleep: SleepAction | None = None


@attrs.frozen(kw_only=True)
class Lifecycle:
    post_start: LifecycleHandler | None = None
    pre_stop: LifecycleHandler | None = None


@attrs.frozen(kw_only=True)
class Capabilities:
    add: tuple[str, ...] = ()
    drop: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class SELinuxOptions:
    user: str = ""
    role: str = ""
    type: str = ""
    level: str = ""


@attrs.frozen(kw_only=True)
class SeccompProfile:
    type: SeccompProfileType
    localhost_profile: str | None = None


@attrs.frozen(kw_only=True)
class AppArmorProfile:
    """securityContext.appArmorProfile (GA in 1.30; replaced the container.apparmor annotations)."""

    type: AppArmorProfileType
    localhost_profile: str | None = None


@attrs.frozen(kw_only=True)
class WindowsSecurityContextOptions:
    """securityContext.windowsOptions (pod and container level)."""

    gmsa_credential_spec_name: str | None = attrs.field(
        default=None, metadata=wire("gmsaCredentialSpecName")
    )
    gmsa_credential_spec: str | None = attrs.field(
        default=None, metadata=wire("gmsaCredentialSpec")
    )
    run_as_user_name: str | None = None
    host_process: bool | None = None


@attrs.frozen(kw_only=True)
class ContainerRestartRuleOnExitCodes:
    """The exit codes a restart rule matches: `operator` In/NotIn over `values`."""

    operator: ContainerRestartRuleOnExitCodesOperator
    values: tuple[int, ...] = ()


@attrs.frozen(kw_only=True)
class ContainerRestartRule:
    """One of a container's restartPolicyRules (upstream core/v1 ContainerRestartRule).

    Upstream marks `action` required and `exitCodes` the (only) member of a one-of;
    validation reports a rule without exit codes.
    """

    action: ContainerRestartRuleAction
    exit_codes: ContainerRestartRuleOnExitCodes | None = None


@attrs.frozen(kw_only=True)
class SecurityContext:
    """Container-level securityContext (the subset kcore models)."""

    capabilities: Capabilities | None = None
    privileged: bool | None = None
    se_linux_options: SELinuxOptions | None = None
    run_as_user: int | None = None
    run_as_group: int | None = None
    run_as_non_root: bool | None = None
    read_only_root_filesystem: bool | None = None
    allow_privilege_escalation: bool | None = None
    seccomp_profile: SeccompProfile | None = None
    app_armor_profile: AppArmorProfile | None = None
    windows_options: WindowsSecurityContextOptions | None = None


@attrs.frozen(kw_only=True)
class Container:
    """A container of a pod (also the shape of init containers)."""

    name: str
    image: str = ""
    command: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    working_dir: str = ""
    ports: tuple[ContainerPort, ...] = ()
    env_from: tuple[EnvFromSource, ...] = ()
    env: tuple[EnvVar, ...] = ()
    resources: ResourceRequirements = ResourceRequirements()
    resize_policy: tuple[ContainerResizePolicy, ...] = ()
    restart_policy: ContainerRestartPolicy | None = None
    restart_policy_rules: tuple[ContainerRestartRule, ...] = ()
    volume_mounts: tuple[VolumeMount, ...] = ()
    liveness_probe: Probe | None = None
    readiness_probe: Probe | None = None
    startup_probe: Probe | None = None
    lifecycle: Lifecycle | None = None
    termination_message_path: str = DEFAULT_TERMINATION_MESSAGE_PATH
    termination_message_policy: TerminationMessagePolicy = TerminationMessagePolicy.FILE
    image_pull_policy: PullPolicy | None = None  # defaulted from the image tag
    security_context: SecurityContext | None = None
    stdin: bool = False
    stdin_once: bool = False
    tty: bool = False


# --- volumes ---------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class KeyToPath:
    key: str
    path: str
    mode: int | None = None


@attrs.frozen(kw_only=True)
class EmptyDirVolumeSource:
    medium: str = ""  # "", "Memory", "HugePages", "HugePages-<size>"
    size_limit: Quantity | None = None


@attrs.frozen(kw_only=True)
class ConfigMapVolumeSource:
    name: str = ""
    items: tuple[KeyToPath, ...] = ()
    default_mode: int | None = None  # defaulted to 0644
    optional: bool | None = None


@attrs.frozen(kw_only=True)
class SecretVolumeSource:
    secret_name: str = ""
    items: tuple[KeyToPath, ...] = ()
    default_mode: int | None = None  # defaulted to 0644
    optional: bool | None = None


@attrs.frozen(kw_only=True)
class HostPathVolumeSource:
    path: str
    type: HostPathType = HostPathType.UNSET


@attrs.frozen(kw_only=True)
class PersistentVolumeClaimVolumeSource:
    claim_name: str
    read_only: bool = False


@attrs.frozen(kw_only=True)
class DownwardAPIVolumeFile:
    path: str
    field_ref: ObjectFieldSelector | None = None
    resource_field_ref: ResourceFieldSelector | None = None
    mode: int | None = None


@attrs.frozen(kw_only=True)
class DownwardAPIVolumeSource:
    items: tuple[DownwardAPIVolumeFile, ...] = ()
    default_mode: int | None = None  # defaulted to 0644


@attrs.frozen(kw_only=True)
class DownwardAPIProjection:
    items: tuple[DownwardAPIVolumeFile, ...] = ()


@attrs.frozen(kw_only=True)
class ConfigMapProjection:
    name: str = ""
    items: tuple[KeyToPath, ...] = ()
    optional: bool | None = None


@attrs.frozen(kw_only=True)
class SecretProjection:
    name: str = ""
    items: tuple[KeyToPath, ...] = ()
    optional: bool | None = None


@attrs.frozen(kw_only=True)
class ServiceAccountTokenProjection:
    path: str
    audience: str = ""
    expiration_seconds: int | None = None  # defaulted to one hour


@attrs.frozen(kw_only=True)
class ClusterTrustBundleProjection:
    """A ClusterTrustBundle (by name, or by signer name and label selector) as one file."""

    path: str
    name: str | None = None
    signer_name: str | None = None
    label_selector: LabelSelector | None = None
    optional: bool | None = None


# SetDefaults_PodCertificateProjection: a day, when the pod does not say.
DEFAULT_POD_CERTIFICATE_MAX_EXPIRATION: Final = 86400


@attrs.frozen(kw_only=True)
class PodCertificateProjection:
    """A kubelet-generated key and a certificate from `signerName` (1.34+, alpha)."""

    signer_name: str
    key_type: str  # RSA3072, RSA4096, ECDSAP256, ECDSAP384, ECDSAP521, ED25519
    max_expiration_seconds: int | None = None  # defaulted to a day
    credential_bundle_path: str = ""
    key_path: str = ""
    certificate_chain_path: str = ""
    user_annotations: PMap[str, str] = pmap()


@attrs.frozen(kw_only=True)
class VolumeProjection:
    secret: SecretProjection | None = None
    downward_api: DownwardAPIProjection | None = attrs.field(
        default=None, metadata=wire("downwardAPI")
    )
    config_map: ConfigMapProjection | None = None
    service_account_token: ServiceAccountTokenProjection | None = None
    cluster_trust_bundle: ClusterTrustBundleProjection | None = None
    pod_certificate: PodCertificateProjection | None = None


@attrs.frozen(kw_only=True)
class ProjectedVolumeSource:
    sources: tuple[VolumeProjection, ...] = ()
    default_mode: int | None = None  # defaulted to 0644


@attrs.frozen(kw_only=True)
class ImageVolumeSource:
    """An OCI image or artifact mounted read-only (1.31+); pullPolicy defaulted from the tag."""

    reference: str = ""
    pull_policy: PullPolicy | None = None


@attrs.frozen(kw_only=True)
class Volume:
    """A pod volume: a name and one source (an absent source defaults to emptyDir)."""

    name: str
    empty_dir: EmptyDirVolumeSource | None = None
    config_map: ConfigMapVolumeSource | None = None
    secret: SecretVolumeSource | None = None
    host_path: HostPathVolumeSource | None = None
    persistent_volume_claim: PersistentVolumeClaimVolumeSource | None = None
    projected: ProjectedVolumeSource | None = None
    downward_api: DownwardAPIVolumeSource | None = attrs.field(
        default=None, metadata=wire("downwardAPI")
    )
    image: ImageVolumeSource | None = None


# --- scheduling constraints ------------------------------------------------------------


@attrs.frozen(kw_only=True)
class NodeSelectorRequirement:
    key: str
    operator: NodeSelectorOperator
    values: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class NodeSelectorTerm:
    match_expressions: tuple[NodeSelectorRequirement, ...] = ()
    match_fields: tuple[NodeSelectorRequirement, ...] = ()


@attrs.frozen(kw_only=True)
class NodeSelector:
    """Terms are ORed; the requirements inside one term are ANDed."""

    node_selector_terms: tuple[NodeSelectorTerm, ...] = ()


@attrs.frozen(kw_only=True)
class PreferredSchedulingTerm:
    weight: int
    preference: NodeSelectorTerm


@attrs.frozen(kw_only=True)
class NodeAffinity:
    required_during_scheduling_ignored_during_execution: NodeSelector | None = None
    preferred_during_scheduling_ignored_during_execution: tuple[PreferredSchedulingTerm, ...] = ()


@attrs.frozen(kw_only=True)
class PodAffinityTerm:
    topology_key: str
    label_selector: LabelSelector | None = None
    namespaces: tuple[str, ...] = ()
    namespace_selector: LabelSelector | None = None
    match_label_keys: tuple[str, ...] = ()
    mismatch_label_keys: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class WeightedPodAffinityTerm:
    weight: int
    pod_affinity_term: PodAffinityTerm


@attrs.frozen(kw_only=True)
class PodAffinity:
    required_during_scheduling_ignored_during_execution: tuple[PodAffinityTerm, ...] = ()
    preferred_during_scheduling_ignored_during_execution: tuple[WeightedPodAffinityTerm, ...] = ()


@attrs.frozen(kw_only=True)
class PodAntiAffinity:
    required_during_scheduling_ignored_during_execution: tuple[PodAffinityTerm, ...] = ()
    preferred_during_scheduling_ignored_during_execution: tuple[WeightedPodAffinityTerm, ...] = ()


@attrs.frozen(kw_only=True)
class Affinity:
    node_affinity: NodeAffinity | None = None
    pod_affinity: PodAffinity | None = None
    pod_anti_affinity: PodAntiAffinity | None = None


@attrs.frozen(kw_only=True)
class Toleration:
    """An empty key with operator Exists tolerates everything; no effect matches all effects."""

    key: str = ""
    operator: TolerationOperator = TolerationOperator.EQUAL
    value: str = ""
    effect: TaintEffect | None = None
    toleration_seconds: int | None = None


@attrs.frozen(kw_only=True)
class TopologySpreadConstraint:
    max_skew: int
    topology_key: str
    when_unsatisfiable: UnsatisfiableConstraintAction
    label_selector: LabelSelector | None = None
    min_domains: int | None = None
    node_affinity_policy: NodeInclusionPolicy | None = None
    node_taints_policy: NodeInclusionPolicy | None = None
    match_label_keys: tuple[str, ...] = ()


# --- pod spec --------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Sysctl:
    name: str
    value: str


@attrs.frozen(kw_only=True)
class PodSecurityContext:
    """Pod-level securityContext (the subset kcore models); defaulted to {}."""

    se_linux_options: SELinuxOptions | None = None
    run_as_user: int | None = None
    run_as_group: int | None = None
    run_as_non_root: bool | None = None
    supplemental_groups: tuple[int, ...] = ()
    fs_group: int | None = None
    sysctls: tuple[Sysctl, ...] = ()
    fs_group_change_policy: PodFSGroupChangePolicy | None = None
    seccomp_profile: SeccompProfile | None = None
    supplemental_groups_policy: SupplementalGroupsPolicy | None = None
    app_armor_profile: AppArmorProfile | None = None
    windows_options: WindowsSecurityContextOptions | None = None


@attrs.frozen(kw_only=True)
class HostAlias:
    ip: str
    hostnames: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class PodDNSConfigOption:
    name: str = ""
    value: str | None = None


@attrs.frozen(kw_only=True)
class PodDNSConfig:
    nameservers: tuple[str, ...] = ()
    searches: tuple[str, ...] = ()
    options: tuple[PodDNSConfigOption, ...] = ()


@attrs.frozen(kw_only=True)
class PodReadinessGate:
    condition_type: str


@attrs.frozen(kw_only=True)
class PodSchedulingGate:
    """A gate that keeps a pod out of scheduling until removed (spec.schedulingGates)."""

    name: str


@attrs.frozen(kw_only=True)
class PodResourceClaim:
    """A pod-level reference to a ResourceClaim or a ResourceClaimTemplate (spec.resourceClaims).

    Exactly one of the two sources should be set; upstream validation says so, the model
    keeps what the manifest gives.
    """

    name: str
    resource_claim_name: str | None = None
    resource_claim_template_name: str | None = None


@attrs.frozen(kw_only=True)
class ContainerResizePolicy:
    resource_name: str
    restart_policy: str = "NotRequired"


@attrs.frozen(kw_only=True)
class PodSpec:
    volumes: tuple[Volume, ...] = ()
    init_containers: tuple[Container, ...] = ()
    containers: tuple[Container, ...] = ()
    restart_policy: RestartPolicy = RestartPolicy.ALWAYS
    termination_grace_period_seconds: int = 30
    active_deadline_seconds: int | None = None
    dns_policy: DNSPolicy = DNSPolicy.CLUSTER_FIRST
    node_selector: PMap[str, str] = pmap()
    service_account_name: str = ""
    service_account: str = ""  # deprecated alias of service_account_name
    automount_service_account_token: bool | None = None
    node_name: str = ""
    host_network: bool = False
    host_pid: bool = attrs.field(default=False, metadata=wire("hostPID"))
    host_ipc: bool = attrs.field(default=False, metadata=wire("hostIPC"))
    share_process_namespace: bool | None = None
    host_users: bool | None = None  # false: a user namespace for the pod
    security_context: PodSecurityContext | None = None  # defaulted to {}
    image_pull_secrets: tuple[LocalObjectReference, ...] = ()
    hostname: str = ""
    subdomain: str = ""
    affinity: Affinity | None = None
    scheduler_name: str = DEFAULT_SCHEDULER_NAME
    tolerations: tuple[Toleration, ...] = ()
    host_aliases: tuple[HostAlias, ...] = ()
    priority_class_name: str = ""
    priority: int | None = None
    dns_config: PodDNSConfig | None = None
    readiness_gates: tuple[PodReadinessGate, ...] = ()
    runtime_class_name: str | None = None
    enable_service_links: bool | None = None  # defaulted to true on Pods only
    preemption_policy: PreemptionPolicy | None = None
    overhead: PMap[str, Quantity] = pmap()
    topology_spread_constraints: tuple[TopologySpreadConstraint, ...] = ()
    scheduling_gates: tuple[PodSchedulingGate, ...] = ()
    resource_claims: tuple[PodResourceClaim, ...] = ()
    resources: ResourceRequirements | None = None  # pod-level requests/limits
    set_hostname_as_fqdn: bool | None = attrs.field(
        default=None, metadata=wire("setHostnameAsFQDN")
    )


@attrs.frozen(kw_only=True)
class PodTemplateSpec:
    """The pod a controller stamps out: metadata (labels) and a spec."""

    metadata: ObjectMeta = ObjectMeta()
    spec: PodSpec = PodSpec()


# --- pod status ------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class PodCondition:
    type: str
    status: ConditionStatus
    last_probe_time: Time | None = None
    last_transition_time: Time | None = None
    reason: str = ""
    message: str = ""


@attrs.frozen(kw_only=True)
class PodIP:
    ip: str


@attrs.frozen(kw_only=True)
class HostIP:
    ip: str


@attrs.frozen(kw_only=True)
class ContainerStateWaiting:
    reason: str = ""
    message: str = ""


@attrs.frozen(kw_only=True)
class ContainerStateRunning:
    started_at: Time | None = None


@attrs.frozen(kw_only=True)
class ContainerStateTerminated:
    exit_code: int
    signal: int = 0
    reason: str = ""
    message: str = ""
    started_at: Time | None = None
    finished_at: Time | None = None
    container_id: str = attrs.field(default="", metadata=wire("containerID"))


@attrs.frozen(kw_only=True)
class ContainerState:
    """At most one of the three is set; none set means waiting (upstream's convention)."""

    waiting: ContainerStateWaiting | None = None
    running: ContainerStateRunning | None = None
    terminated: ContainerStateTerminated | None = None


@attrs.frozen(kw_only=True)
class ContainerStatus:
    name: str
    state: ContainerState = ContainerState()
    last_state: ContainerState = ContainerState()
    ready: bool = attrs.field(default=False, metadata=wire(always=True))
    restart_count: int = attrs.field(default=0, metadata=wire(always=True))
    image: str = attrs.field(default="", metadata=wire(always=True))
    image_id: str = attrs.field(default="", metadata=wire("imageID", always=True))
    container_id: str = attrs.field(default="", metadata=wire("containerID"))
    started: bool | None = None


@attrs.frozen(kw_only=True)
class PodStatus:
    phase: PodPhase | None = None
    conditions: tuple[PodCondition, ...] = ()
    message: str = ""
    reason: str = ""
    nominated_node_name: str = ""
    host_ip: str = attrs.field(default="", metadata=wire("hostIP"))
    host_ips: tuple[HostIP, ...] = attrs.field(default=(), metadata=wire("hostIPs"))
    pod_ip: str = attrs.field(default="", metadata=wire("podIP"))
    pod_ips: tuple[PodIP, ...] = attrs.field(default=(), metadata=wire("podIPs"))
    start_time: Time | None = None
    init_container_statuses: tuple[ContainerStatus, ...] = ()
    container_statuses: tuple[ContainerStatus, ...] = ()
    qos_class: PodQOSClass | None = None
    observed_generation: int = 0


@attrs.frozen(kw_only=True)
class Pod:
    KIND: ClassVar[Kind] = Kind.POD

    metadata: ObjectMeta = ObjectMeta()
    spec: PodSpec = PodSpec()
    status: PodStatus = PodStatus()


# --- QoS class --------------------------------------------------------------------------


_QOS_RESOURCES: Final = (RESOURCE_CPU, RESOURCE_MEMORY)


def _add_positive(total: dict[str, int], rl: PMap[str, Quantity]) -> int:
    """Add the cpu and memory quantities above zero to `total` (milli-units); how many."""
    found = 0
    if rl:
        for name, q in rl.iteritems():  # one pass: cheaper than a PMap lookup per resource
            if name in _QOS_RESOURCES and q.nanos > 0:
                total[name] = total.get(name, 0) + q.milli_value()
                found += 1
    return found


def qos_class(spec: PodSpec) -> PodQOSClass:
    """The pod's QoS class from its containers' cpu/memory requests and limits (qos.go)."""
    requests: dict[str, int] = {}
    limits: dict[str, int] = {}
    every_container_limited = True
    for containers in (spec.containers, spec.init_containers):
        for c in containers:
            res = c.resources
            _add_positive(requests, res.requests)
            if _add_positive(limits, res.limits) != len(_QOS_RESOURCES):
                every_container_limited = False
    if not requests and not limits:
        return PodQOSClass.BEST_EFFORT
    if every_container_limited and requests == limits:
        return PodQOSClass.GUARANTEED
    return PodQOSClass.BURSTABLE
