"""What the Endpoints and EndpointSlice controllers share: which pods back a Service, on
which port, which Services a pod change concerns, and the last-change trigger time.

Owns `should_pod_be_in_endpoints`, `should_set_hostname`, `find_port`, `pod_ip_for`,
`pod_endpoints_changed`, `services_to_update_on_pod_change`, `TriggerTimes` with
`compute_trigger_time` and `forget_service`, and `trigger_time_text`.

Rules (as upstream's endpointslice util):
- A pod is never an endpoint once terminal (Succeeded/Failed) or before it has an IP; a
  terminating pod (deletionTimestamp set) is one only when `include_terminating`.
- A pod's hostname is published only when its `subdomain` names the Service (same
  namespace): a StatefulSet's pods behind their governing headless Service.
- A service port's targetPort is a number (used as is) or a name, looked up among the
  containers' ports (then the sidecar init containers') of the same protocol; a pod that
  names no such port is no endpoint for that service port.
- A pod change concerns its Services when its endpoint-relevant fields changed
  (deletionTimestamp, readiness, IPs) or its labels or hostname/subdomain changed; with
  labels changed and nothing else, only the Services it joined or left.
- The trigger time of a sync is the earliest change not yet seen (a pod's Ready
  transition or the Service's creation), the Service's creation on its first sync; zero
  (None) when nothing changed: the annotation is then removed.

Pure. Mirrors staging/src/k8s.io/endpointslice/util/controller_utils.go,
trigger_time_tracker.go and pkg/api/v1/pod/util.go (FindPort).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

import attrs
from pyrsistent import pmap
from pyrsistent.typing import PMap

from kcore.api.core import IPFamily, Service, ServicePort
from kcore.api.kinds import ObjectKey
from kcore.api.meta import Time
from kcore.api.pod import ContainerRestartPolicy, Pod, PodPhase
from kcore.controllers.podcontrol import is_pod_ready
from kcore.state import ClusterState, services_selecting

ANNOTATION_LAST_CHANGE_TRIGGER_TIME = "endpoints.kubernetes.io/last-change-trigger-time"
"""v1.EndpointsLastChangeTriggerTime."""
LABEL_HEADLESS = "service.kubernetes.io/headless"
"""v1.IsHeadlessService: set on the Endpoints and slices of a Service without a cluster IP."""


def should_pod_be_in_endpoints(pod: Pod, include_terminating: bool) -> bool:
    """ShouldPodBeInEndpoints: not terminal, has an IP, not terminating unless included."""
    if pod.status.phase in (PodPhase.SUCCEEDED, PodPhase.FAILED):
        return False
    if not pod.status.pod_ip and not pod.status.pod_ips:
        return False
    return include_terminating or pod.metadata.deletion_timestamp is None


def should_set_hostname(pod: Pod, svc: Service) -> bool:
    """ShouldSetHostname: the pod has a hostname and its subdomain is this Service."""
    return bool(pod.spec.hostname) and pod.spec.subdomain == svc.metadata.name and pod.metadata.namespace == svc.metadata.namespace


def pod_ip_for(svc: Service, pod: Pod) -> str | None:
    """The pod's IP of the Service's (first) IP family, or None (podToEndpointAddressForService)."""
    if svc.spec.ip_families:
        v6 = svc.spec.ip_families[0] is IPFamily.IPV6
    elif svc.spec.cluster_ip and svc.spec.cluster_ip != "None":
        v6 = ":" in svc.spec.cluster_ip
    else:
        v6 = ":" in pod.status.pod_ip
    ips = [p.ip for p in pod.status.pod_ips] or ([pod.status.pod_ip] if pod.status.pod_ip else [])
    for ip in ips:
        if (":" in ip) == v6:
            return ip
    return None


def find_port(pod: Pod, port: ServicePort) -> int | None:
    """FindPort: the container port a service port's targetPort names, or None."""
    target = port.port if port.target_port is None else port.target_port
    if isinstance(target, int):
        return target
    for c in pod.spec.containers:
        for p in c.ports:
            if p.name == target and p.protocol is port.protocol:
                return p.container_port
    for c in pod.spec.init_containers:
        if c.restart_policy is not ContainerRestartPolicy.ALWAYS:
            continue
        for p in c.ports:
            if p.name == target and p.protocol is port.protocol:
                return p.container_port
    return None


def _ips(pod: Pod) -> tuple[str, ...]:
    return tuple(p.ip for p in pod.status.pod_ips)


def pod_endpoints_changed(old: Pod, new: Pod) -> tuple[bool, bool]:
    """podEndpointsChanged: (the pod's endpoint changed, its labels or hostname changed)."""
    labels_changed = (
        old.metadata.labels != new.metadata.labels
        or old.spec.hostname != new.spec.hostname
        or old.spec.subdomain != new.spec.subdomain
    )
    if old.metadata.deletion_timestamp != new.metadata.deletion_timestamp:
        return True, labels_changed
    if is_pod_ready(old) != is_pod_ready(new):
        return True, labels_changed
    return _ips(old) != _ips(new) or old.status.pod_ip != new.status.pod_ip, labels_changed


def services_to_update_on_pod_change(view: ClusterState, old: Pod, new: Pod) -> tuple[ObjectKey, ...]:
    """GetServicesToUpdateOnPodChange: the Services whose endpoints a pod update can move."""
    if old.metadata.resource_version == new.metadata.resource_version:
        return ()
    changed, labels_changed = pod_endpoints_changed(old, new)
    if not changed and not labels_changed:
        return ()
    ns = new.metadata.namespace
    now = set(services_selecting(view, ns, new.metadata.labels))
    if labels_changed:
        before = set(services_selecting(view, ns, old.metadata.labels))
        now = now | before if changed else now ^ before
    return tuple(sorted(now))


# ---- trigger times ----------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class _ServiceTimes:
    pods: PMap[str, Time] = pmap()
    service: Time | None = None


@attrs.frozen(kw_only=True)
class TriggerTimes:
    """TriggerTimeTracker: per Service, the trigger times its last sync saw."""

    services: PMap[ObjectKey, _ServiceTimes] = pmap()


def _pod_trigger_time(pod: Pod) -> Time | None:
    for c in pod.status.conditions:
        if c.type == "Ready":
            return c.last_transition_time
    return None


def _earliest(current: Time | None, new: Time) -> Time:
    return new if current is None or new < current else current


def compute_trigger_time(
    times: TriggerTimes, key: ObjectKey, svc: Service, pods: Iterable[Pod]
) -> tuple[TriggerTimes, Time | None]:
    """ComputeEndpointLastChangeTriggerTime: the earliest change since the last sync."""
    state = times.services.get(key)
    last = state or _ServiceTimes()
    earliest: Time | None = None
    seen: dict[str, Time] = {}
    for pod in pods:
        t = _pod_trigger_time(pod)
        if t is None:
            continue
        seen[pod.metadata.name] = t
        before = last.pods.get(pod.metadata.name)
        if before is None or t > before:
            earliest = _earliest(earliest, t)
    created = svc.metadata.creation_timestamp
    if created is not None and (last.service is None or created > last.service):
        earliest = _earliest(earliest, created)
    if state is None:
        earliest = created
    new = TriggerTimes(services=times.services.set(key, _ServiceTimes(pods=pmap(seen), service=created)))
    return new, earliest


def forget_service(times: TriggerTimes, key: ObjectKey) -> TriggerTimes:
    """DeleteService: the Service is gone."""
    return TriggerTimes(services=times.services.discard(key))


def trigger_time_text(t: Time) -> str:
    """The annotation's value: RFC 3339 with nanoseconds, trailing zeros dropped (Go's RFC3339Nano)."""
    whole = int(t)
    micros = round((t - whole) * 1_000_000)
    stamp = datetime.datetime.fromtimestamp(whole, tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    frac = f".{micros:06d}".rstrip("0") if micros else ""
    return f"{stamp}{frac}Z"
