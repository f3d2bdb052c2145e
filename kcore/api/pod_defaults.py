"""The context-dependent defaults of a Pod and of the pod template every workload embeds.

Owns `default` (the registry's defaulter for the Pod kind) with its reusable parts
`default_pod`, `default_pod_spec`, `default_pod_template`, `default_container`,
`default_volume`, `default_pull_policy` and `fill_missing` (LimitRange defaulting uses it
too).

Rules: what an attrs default cannot say is set here: imagePullPolicy from the image tag,
requests from limits, securityContext {}, volume defaultMode, enableServiceLinks, and the
status phase and QoS class of a new pod. Every function is idempotent and fills only
unset fields, so defaulting a stored pod changes nothing. Maps are read in sorted key
order only.

Mirrors pkg/apis/core/v1/defaults.go (SetDefaults_Pod, _PodSpec, _Container, _Probe,
_Volume, volume sources, _HTTPGetAction, _ObjectFieldSelector).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Final

import attrs
from pyrsistent.typing import PMap

from kcore.api.meta import ApiObject, evolver
from kcore.api.pod import (
    DEFAULT_POD_CERTIFICATE_MAX_EXPIRATION,
    DEFAULT_SCHEDULER_NAME,
    DEFAULT_TERMINATION_MESSAGE_PATH,
    DEFAULT_VOLUME_MODE,
    Container,
    DownwardAPIVolumeFile,
    EmptyDirVolumeSource,
    EnvVar,
    HTTPGetAction,
    LifecycleHandler,
    ObjectFieldSelector,
    Pod,
    PodPhase,
    PodQOSClass,
    PodSecurityContext,
    PodSpec,
    PodStatus,
    PodTemplateSpec,
    Probe,
    PullPolicy,
    Volume,
    VolumeProjection,
    qos_class,
)
from kcore.quantity import Quantity


def image_tag(image: str) -> str:
    """The tag of an image reference as upstream's parsers.ParseImageName reads it.

    "latest" when neither a tag nor a digest is given; "" for a digest-only reference.
    """
    name, at, _digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        return last.split(":", 1)[1]
    return "" if at else "latest"


def default_pull_policy(image: str) -> PullPolicy:
    """imagePullPolicy for an unset field: Always for :latest (explicit or implied)."""
    if image and image_tag(image) == "latest":
        return PullPolicy.ALWAYS
    return PullPolicy.IF_NOT_PRESENT


def _default_http_get(h: HTTPGetAction | None) -> HTTPGetAction | None:
    if h is None or h.path:
        return h
    return attrs.evolve(h, path="/")


def _default_probe(p: Probe | None) -> Probe | None:
    if p is None:
        return None
    # A zero is what an explicit `0` (or Go's zero value) decodes to; upstream replaces it.
    return attrs.evolve(
        p,
        http_get=_default_http_get(p.http_get),
        timeout_seconds=p.timeout_seconds or 1,
        period_seconds=p.period_seconds or 10,
        success_threshold=p.success_threshold or 1,
        failure_threshold=p.failure_threshold or 3,
    )


def _default_handler(h: LifecycleHandler | None) -> LifecycleHandler | None:
    if h is None:
        return None
    return attrs.evolve(h, http_get=_default_http_get(h.http_get))


def _default_field_ref(f: ObjectFieldSelector | None) -> ObjectFieldSelector | None:
    if f is None or f.api_version:
        return f
    return attrs.evolve(f, api_version="v1")


def _default_env(e: EnvVar) -> EnvVar:
    if e.value_from is None:
        return e
    return attrs.evolve(
        e,
        value_from=attrs.evolve(e.value_from, field_ref=_default_field_ref(e.value_from.field_ref)),
    )


def default_container(c: Container) -> Container:
    """SetDefaults_Container plus its probes, lifecycle hooks and env field refs."""
    # Only the fields that get a default are passed: a plain container (no env, probes or
    # hooks) is copied with its two scalar defaults.
    changes: dict[str, object] = {
        "image_pull_policy": c.image_pull_policy or default_pull_policy(c.image),
        "termination_message_path": c.termination_message_path
        or DEFAULT_TERMINATION_MESSAGE_PATH,
    }
    if c.env:
        changes["env"] = tuple(_default_env(e) for e in c.env)
    if c.liveness_probe is not None:
        changes["liveness_probe"] = _default_probe(c.liveness_probe)
    if c.readiness_probe is not None:
        changes["readiness_probe"] = _default_probe(c.readiness_probe)
    if c.startup_probe is not None:
        changes["startup_probe"] = _default_probe(c.startup_probe)
    if c.lifecycle is not None:
        changes["lifecycle"] = attrs.evolve(
            c.lifecycle,
            post_start=_default_handler(c.lifecycle.post_start),
            pre_stop=_default_handler(c.lifecycle.pre_stop),
        )
    return _EVOLVE_CONTAINER(c, **changes)


def _default_downward_file(f: DownwardAPIVolumeFile) -> DownwardAPIVolumeFile:
    return attrs.evolve(f, field_ref=_default_field_ref(f.field_ref))


def _default_projection(p: VolumeProjection) -> VolumeProjection:
    d, t, c = p.downward_api, p.service_account_token, p.pod_certificate
    if c is not None and c.max_expiration_seconds is None:
        c = attrs.evolve(c, max_expiration_seconds=DEFAULT_POD_CERTIFICATE_MAX_EXPIRATION)
    return attrs.evolve(
        p,
        downward_api=(
            None
            if d is None
            else attrs.evolve(d, items=tuple(_default_downward_file(f) for f in d.items))
        ),
        service_account_token=(
            t
            if t is None or t.expiration_seconds is not None
            else attrs.evolve(t, expiration_seconds=3600)
        ),
        pod_certificate=c,
    )


def default_volume(v: Volume) -> Volume:
    """SetDefaults_Volume and the volume-source defaults (defaultMode 0644, emptyDir)."""
    if all(
        s is None
        for s in (
            v.empty_dir,
            v.config_map,
            v.secret,
            v.host_path,
            v.persistent_volume_claim,
            v.projected,
            v.downward_api,
            v.image,
        )
    ):
        return attrs.evolve(v, empty_dir=EmptyDirVolumeSource())
    mode = DEFAULT_VOLUME_MODE
    cm, sec, proj, dapi, img = v.config_map, v.secret, v.projected, v.downward_api, v.image
    return attrs.evolve(
        v,
        image=(
            img
            if img is None or img.pull_policy is not None
            else attrs.evolve(img, pull_policy=default_pull_policy(img.reference))
        ),
        config_map=(
            cm if cm is None or cm.default_mode is not None else attrs.evolve(cm, default_mode=mode)
        ),
        secret=(
            sec
            if sec is None or sec.default_mode is not None
            else attrs.evolve(sec, default_mode=mode)
        ),
        projected=(
            None
            if proj is None
            else attrs.evolve(
                proj,
                default_mode=mode if proj.default_mode is None else proj.default_mode,
                sources=tuple(_default_projection(s) for s in proj.sources),
            )
        ),
        downward_api=(
            None
            if dapi is None
            else attrs.evolve(
                dapi,
                default_mode=mode if dapi.default_mode is None else dapi.default_mode,
                items=tuple(_default_downward_file(f) for f in dapi.items),
            )
        ),
    )


# attrs.evolve for the classes every pod create copies (see `kcore.api.meta.evolver`).
_EVOLVE_CONTAINER: Final = evolver(Container)
_EVOLVE_SPEC: Final = evolver(PodSpec)
_EVOLVE_POD: Final = evolver(Pod)
_EMPTY_SECURITY_CONTEXT: Final = PodSecurityContext()
_NO_STATUS: Final = Pod().status  # the shared default instance
_NEW_POD_STATUS: Final[Mapping[PodQOSClass, PodStatus]] = MappingProxyType(
    {q: PodStatus(phase=PodPhase.PENDING, qos_class=q) for q in PodQOSClass}
)
"""A created pod's status, by QoS class: immutable values, shared by every new pod."""


def default_pod_spec(spec: PodSpec) -> PodSpec:
    """SetDefaults_PodSpec and everything nested: what every pod template gets.

    Idempotent. Pod-only defaults (requests from limits, enableServiceLinks) are not here,
    as upstream keeps them off templates (kubernetes/kubernetes#69445).
    """
    return _EVOLVE_SPEC(spec, **_spec_defaults(spec))


def _spec_defaults(
    spec: PodSpec, container: Callable[[Container], Container] = default_container
) -> dict[str, object]:
    """The fields `default_pod_spec` sets, as evolve arguments (one copy for all of them);
    `container` defaults each container (`default_pod` adds the pod-only defaults)."""
    changes: dict[str, object] = {
        "containers": tuple(map(container, spec.containers)),
        "security_context": spec.security_context or _EMPTY_SECURITY_CONTEXT,
        "scheduler_name": spec.scheduler_name or DEFAULT_SCHEDULER_NAME,
    }
    if spec.volumes:
        changes["volumes"] = tuple(default_volume(v) for v in spec.volumes)
    if spec.init_containers:
        changes["init_containers"] = tuple(map(container, spec.init_containers))
    return changes


def default_pod_template(t: PodTemplateSpec) -> PodTemplateSpec:
    """Defaults for a pod template embedded in a controller's spec."""
    return attrs.evolve(t, spec=default_pod_spec(t.spec))


def fill_missing(base: PMap[str, Quantity], source: PMap[str, Quantity]) -> PMap[str, Quantity]:
    """`base` plus every entry of `source` whose key `base` lacks (upstream's defaulting loops)."""
    if not source:
        return base
    missing = sorted(k for k in source if k not in base)
    if not missing:
        return base
    e = base.evolver()
    for k in missing:
        e[k] = source[k]
    return e.persistent()


def _requests_from_limits(c: Container) -> Container:
    """SetDefaults_Pod: a resource with a limit and no request is requested at its limit."""
    r = c.resources
    requests = fill_missing(r.requests, r.limits)
    if requests is r.requests:
        return c
    return _EVOLVE_CONTAINER(c, resources=attrs.evolve(r, requests=requests))


def _host_network_ports(c: Container) -> Container:
    """With hostNetwork every container port is also a host port."""
    if all(p.host_port for p in c.ports):
        return c
    ports = tuple(
        p if p.host_port else attrs.evolve(p, host_port=p.container_port) for p in c.ports
    )
    return attrs.evolve(c, ports=ports)


def _pod_container(c: Container, host_network: bool) -> Container:
    """SetDefaults_Pod for one (already spec-defaulted) container."""
    c = _requests_from_limits(c)
    return _host_network_ports(c) if host_network else c


def default_pod(pod: Pod) -> Pod:
    """SetDefaults_Pod on top of the spec defaults, then the status a new pod starts with.

    The phase (Pending) and qosClass are what upstream's pod strategy sets on create;
    here they fill only unset fields, so applying this to a stored pod changes nothing.
    The spec is copied once for every default it gets.
    """
    spec = pod.spec
    host_network = spec.host_network
    changes = _spec_defaults(spec, lambda c: _pod_container(default_container(c), host_network))
    if spec.enable_service_links is None:
        changes["enable_service_links"] = True
    spec = _EVOLVE_SPEC(spec, **changes)
    status = pod.status
    if status is _NO_STATUS:  # a pod as created: one shared value per QoS class
        status = _NEW_POD_STATUS[qos_class(spec)]
    elif status.phase is None or status.qos_class is None:
        status = attrs.evolve(
            status,
            phase=status.phase or PodPhase.PENDING,
            qos_class=status.qos_class or qos_class(spec),
        )
    return _EVOLVE_POD(pod, spec=spec, status=status)


def default(obj: ApiObject) -> ApiObject:
    """Context-dependent defaults of this module's kinds (Pod); other kinds unchanged."""
    match obj:
        case Pod():
            return default_pod(obj)
        case _:
            return obj
