"""kubectl-like tables: the columns `kubectl get` prints for each kind.

Owns `table(objs, kind, now, wide=..., all_namespaces=...)` and `human_duration`. Rows
are computed from each object's wire form (`kcore.api.codec.to_dict`), exactly the data
kubectl's printers see, so a column reads the same field names as upstream. Output is
plain text aligned as Go's tabwriter does for kubectl (columns separated by three
spaces), with AGE measured against the simulated clock, never the wall clock.

Mirrors pkg/printers/internalversion/printers.go (column sets and cell logic) and
k8s.io/apimachinery/pkg/util/duration (HumanDuration).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from kcore.api.codec import to_dict
from kcore.api.kinds import Kind
from kcore.api.meta import ApiObject, Time

Obj = Mapping[str, Any]  # one object in its wire (JSON) shape
Cell = Callable[[Obj, Time], str]
NONE: Final = "<none>"


# --- cell helpers -------------------------------------------------------------------------


def human_duration(seconds: float) -> str:
    """kubectl's AGE format (duration.HumanDuration): 45s, 5m30s, 3h, 2d4h, 1y30d."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m" if s % 60 == 0 else f"{minutes}m{s % 60}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        return f"{hours}h" if minutes % 60 == 0 else f"{hours}h{minutes % 60}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d" if hours % 24 == 0 else f"{hours // 24}d{hours % 24}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if days == 0 else f"{hours // 24 // 365}y{days}d"
    return f"{hours // 24 // 365}y"


def _epoch(stamp: object) -> float | None:
    if not isinstance(stamp, str) or not stamp:
        return None
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def since(stamp: object, now: Time) -> str:
    """Age of an RFC 3339 timestamp at `now`, or <unknown>."""
    t = _epoch(stamp)
    return "<unknown>" if t is None else human_duration(now - t)


def _get(o: Obj, *path: str) -> Any:
    cur: Any = o
    for p in path:
        if not isinstance(cur, Mapping):
            return None
        cur = cur.get(p)
    return cur


def _int(o: Obj, *path: str) -> int:
    v = _get(o, *path)
    return v if isinstance(v, int) else 0


def _list(o: Obj, *path: str) -> list[Any]:
    v = _get(o, *path)
    return v if isinstance(v, list) else []


def _map(o: Obj, *path: str) -> Mapping[str, Any]:
    v = _get(o, *path)
    return v if isinstance(v, Mapping) else {}


def _str(o: Obj, *path: str) -> str:
    v = _get(o, *path)
    return v if isinstance(v, str) else ""


def _age(o: Obj, now: Time) -> str:
    return since(_get(o, "metadata", "creationTimestamp"), now)


def _created_at(o: Obj, now: Time) -> str:
    return _str(o, "metadata", "creationTimestamp")


def _name(o: Obj, now: Time) -> str:
    return _str(o, "metadata", "name")


def _labels_text(m: Mapping[str, Any]) -> str:
    return ",".join(f"{k}={m[k]}" for k in sorted(m)) or NONE


def _selector_text(sel: Mapping[str, Any]) -> str:
    parts = [f"{k}={v}" for k, v in sorted(_map(sel, "matchLabels").items())]
    for e in _list(sel, "matchExpressions"):
        op, key, vals = e.get("operator", ""), e.get("key", ""), e.get("values") or []
        if op == "In":
            parts.append(f"{key} in ({','.join(sorted(vals))})")
        elif op == "NotIn":
            parts.append(f"{key} notin ({','.join(sorted(vals))})")
        elif op == "Exists":
            parts.append(key)
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
    return ",".join(parts) or NONE


def _containers(o: Obj, *path: str) -> tuple[str, str]:
    cs = _list(o, *path)
    return (
        ",".join(str(c.get("name", "")) for c in cs),
        ",".join(str(c.get("image", "")) for c in cs),
    )


def _field(*path: str, default: str = "") -> Cell:
    def cell(o: Obj, now: Time) -> str:
        v = _get(o, *path)
        if v is None or v == "":
            return default
        return str(v).lower() if isinstance(v, bool) else str(v)

    return cell


def _count(*path: str) -> Cell:
    return lambda o, now: str(_int(o, *path))


# --- per-kind cells -----------------------------------------------------------------------


def _pod_ready(o: Obj, now: Time) -> str:
    statuses = _list(o, "status", "containerStatuses")
    ready = sum(1 for s in statuses if s.get("ready"))
    return f"{ready}/{len(_list(o, 'spec', 'containers'))}"


def _pod_status(o: Obj, now: Time) -> str:
    # printers.go printPod: phase, then status.reason, then init and main container states.
    reason = _str(o, "status", "phase") or "Pending"
    reason = _str(o, "status", "reason") or reason
    inits = _list(o, "status", "initContainerStatuses")
    n_init = len(_list(o, "spec", "initContainers"))
    initializing = False
    for i, s in enumerate(inits):
        term, wait = _map(s, "state", "terminated"), _map(s, "state", "waiting")
        if term and term.get("exitCode", 0) == 0:
            continue
        initializing = True
        if term:
            reason = "Init:" + (term.get("reason") or f"ExitCode:{term.get('exitCode', 0)}")
        elif wait.get("reason") and wait.get("reason") != "PodInitializing":
            reason = "Init:" + str(wait["reason"])
        else:
            reason = f"Init:{i}/{n_init}"
        break
    if not initializing:
        has_running = False
        for s in reversed(_list(o, "status", "containerStatuses")):
            term, wait = _map(s, "state", "terminated"), _map(s, "state", "waiting")
            if wait.get("reason"):
                reason = str(wait["reason"])
            elif term.get("reason"):
                reason = str(term["reason"])
            elif term:
                reason = f"ExitCode:{term.get('exitCode', 0)}"
            elif _map(s, "state", "running") and s.get("ready"):
                has_running = True
        if reason == "Completed" and has_running:
            reason = "Running"
    if _get(o, "metadata", "deletionTimestamp"):
        reason = "Unknown" if _str(o, "status", "reason") == "NodeLost" else "Terminating"
    return reason


def pod_status_text(pod: ApiObject) -> str:
    """The STATUS column `kubectl get pods` shows for `pod` (CrashLoopBackOff, Init:0/1, ...)."""
    return _pod_status(to_dict(pod), Time(0.0))


def _pod_restarts(o: Obj, now: Time) -> str:
    return str(sum(int(s.get("restartCount", 0)) for s in _list(o, "status", "containerStatuses")))


def _pod_ip(o: Obj, now: Time) -> str:
    return _str(o, "status", "podIP") or NONE


def _node_status(o: Obj, now: Time) -> str:
    ready = [c for c in _list(o, "status", "conditions") if c.get("type") == "Ready"]
    status = "Unknown"
    if ready:
        status = "Ready" if ready[0].get("status") == "True" else "NotReady"
    if _get(o, "spec", "unschedulable"):
        status += ",SchedulingDisabled"
    return status


def _node_roles(o: Obj, now: Time) -> str:
    prefix = "node-role.kubernetes.io/"
    roles = sorted(k[len(prefix) :] for k in _map(o, "metadata", "labels") if k.startswith(prefix))
    return ",".join(r for r in roles if r) or NONE


def _node_address(kind: str) -> Cell:
    def cell(o: Obj, now: Time) -> str:
        for a in _list(o, "status", "addresses"):
            if a.get("type") == kind:
                return str(a.get("address", ""))
        return NONE

    return cell


def _svc_external(o: Obj, now: Time) -> str:
    kind = _str(o, "spec", "type") or "ClusterIP"
    external = [str(x) for x in _list(o, "spec", "externalIPs")]
    if kind == "ExternalName":
        return _str(o, "spec", "externalName")
    if kind == "LoadBalancer":
        ingress = [
            str(i.get("ip") or i.get("hostname") or "")
            for i in _list(o, "status", "loadBalancer", "ingress")
        ]
        found = ingress + external
        return ",".join(found) if found else "<pending>"
    return ",".join(external) or NONE


def _svc_ports(o: Obj, now: Time) -> str:
    out = []
    for p in _list(o, "spec", "ports"):
        port, proto, node = p.get("port"), p.get("protocol", "TCP"), p.get("nodePort")
        out.append(f"{port}:{node}/{proto}" if node else f"{port}/{proto}")
    return ",".join(out) or NONE


def _data_count(o: Obj, now: Time) -> str:
    return str(len(_map(o, "data")) + len(_map(o, "binaryData")) + len(_map(o, "stringData")))


def _event_object(o: Obj, now: Time) -> str:
    inv = _map(o, "involvedObject")
    return f"{str(inv.get('kind', '')).lower()}/{inv.get('name', '')}"


def _event_source(o: Obj, now: Time) -> str:
    """kubectl's formatEventSource: `component, host`, each falling back to the
    reportingComponent / reportingInstance an events.k8s.io/v1 writer sets instead."""
    component = _get(o, "source", "component") or _get(o, "reportingComponent") or ""
    host = _get(o, "source", "host") or _get(o, "reportingInstance") or ""
    return f"{component}, {host}" if host else str(component)


def _event_last_seen(o: Obj, now: Time) -> str:
    stamp = _get(o, "lastTimestamp") or _get(o, "eventTime") or _get(o, "metadata", "creationTimestamp")
    return since(stamp, now)


def _job_status(o: Obj, now: Time) -> str:
    conds = {c.get("type"): c.get("status") for c in _list(o, "status", "conditions")}
    for kind, text in (("Failed", "Failed"), ("Complete", "Complete"), ("Suspended", "Suspended")):
        if conds.get(kind) == "True":
            return text
    if conds.get("FailureTarget") == "True":
        return "FailureTarget"
    if conds.get("SuccessCriteriaMet") == "True":
        return "SuccessCriteriaMet"
    return "Running"


def _job_completions(o: Obj, now: Time) -> str:
    succeeded = _int(o, "status", "succeeded")
    completions = _get(o, "spec", "completions")
    if isinstance(completions, int):
        return f"{succeeded}/{completions}"
    parallelism = _get(o, "spec", "parallelism")
    return f"{succeeded}/1 of {parallelism if isinstance(parallelism, int) else 1}"


def _job_duration(o: Obj, now: Time) -> str:
    start = _epoch(_get(o, "status", "startTime"))
    if start is None:
        return ""
    end = _epoch(_get(o, "status", "completionTime"))
    return human_duration((end if end is not None else now) - start)


def _cron_last(o: Obj, now: Time) -> str:
    stamp = _get(o, "status", "lastScheduleTime")
    return NONE if not stamp else since(stamp, now)


def _active_count(o: Obj, now: Time) -> str:
    return str(len(_list(o, "status", "active")))


def _sts_ready(o: Obj, now: Time) -> str:
    return f"{_int(o, 'status', 'readyReplicas')}/{_int(o, 'spec', 'replicas')}"


def _deploy_ready(o: Obj, now: Time) -> str:
    return f"{_int(o, 'status', 'readyReplicas')}/{_int(o, 'spec', 'replicas')}"


def _hpa_reference(o: Obj, now: Time) -> str:
    ref = _map(o, "spec", "scaleTargetRef")
    return f"{ref.get('kind', '')}/{ref.get('name', '')}"


def _hpa_targets(o: Obj, now: Time) -> str:
    current = {
        (m.get("type"), _get(m, "resource", "name")): m for m in _list(o, "status", "currentMetrics")
    }
    out = []
    for m in _list(o, "spec", "metrics"):
        kind = m.get("type")
        if kind == "Resource":
            name = _get(m, "resource", "name")
            target = _map(m, "resource", "target")
            cur = _map(current.get((kind, name), {}), "resource", "current")
            if "averageUtilization" in target:
                have = cur.get("averageUtilization")
                shown = f"{have}%" if have is not None else "<unknown>"
                out.append(f"{name}: {shown}/{target['averageUtilization']}%")
            else:
                have = cur.get("averageValue")
                out.append(f"{name}: {have if have is not None else '<unknown>'}/{target.get('averageValue', '')}")
        else:
            out.append(f"<{str(kind).lower()}>")
    return ", ".join(out) or NONE


def _ingress_hosts(o: Obj, now: Time) -> str:
    hosts = [str(r.get("host")) for r in _list(o, "spec", "rules") if r.get("host")]
    return ",".join(hosts) or "*"


def _ingress_address(o: Obj, now: Time) -> str:
    ing = _list(o, "status", "loadBalancer", "ingress")
    return ",".join(str(i.get("ip") or i.get("hostname") or "") for i in ing)


def _ingress_ports(o: Obj, now: Time) -> str:
    return "80, 443" if _list(o, "spec", "tls") else "80"


def _endpoints(o: Obj, now: Time) -> str:
    pairs = []
    for subset in _list(o, "subsets"):
        ports = _list(subset, "ports") or [{}]
        for a in _list(subset, "addresses"):
            for p in ports:
                ip = a.get("ip", "")
                pairs.append(f"{ip}:{p['port']}" if "port" in p else str(ip))
    if not pairs:
        return NONE
    shown = ",".join(pairs[:3])
    return shown + (f" + {len(pairs) - 3} more..." if len(pairs) > 3 else "")


def _first_three(items: list[str]) -> str:
    """listWithMoreString with max 3: the first three, "+ N more...", or <unset>."""
    shown = ",".join(items[:3])
    if len(items) > 3:
        return f"{shown} + {len(items) - 3} more..."
    return shown or "<unset>"


def _slice_ports(o: Obj, now: Time) -> str:
    ports = []
    for p in _list(o, "ports"):
        if p.get("port") is not None:
            ports.append(str(p["port"]))
        elif p.get("name") is not None:
            ports.append(str(p["name"]))
        else:
            ports.append("*")
    return _first_three(ports)


def _slice_endpoints(o: Obj, now: Time) -> str:
    return _first_three([str(a) for e in _list(o, "endpoints") for a in (e.get("addresses") or [])])


def _ingress_class_parameters(o: Obj, now: Time) -> str:
    params = _map(o, "spec", "parameters")
    if not params:
        return NONE
    kind = str(params.get("kind", ""))
    if params.get("apiGroup") is not None:
        kind = f"{kind}.{params['apiGroup']}"
    return f"{kind}/{params.get('name', '')}"


def _quota_pairs(o: Obj, want_limits: bool) -> str:
    hard, used = _map(o, "status", "hard") or _map(o, "spec", "hard"), _map(o, "status", "used")
    out = []
    for k in sorted(hard):
        if k.startswith("limits.") == want_limits:
            out.append(f"{k}: {used.get(k, '0')}/{hard[k]}")
    return ", ".join(out)


def _pvc_capacity(o: Obj, now: Time) -> str:
    return str(_map(o, "status", "capacity").get("storage", ""))


def _access_modes(o: Obj, now: Time) -> str:
    short = {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX", "ReadWriteOncePod": "RWOP"}
    modes = _list(o, "status", "accessModes")
    return ",".join(short.get(m, m) for m in modes)


def _binding_role(o: Obj, now: Time) -> str:
    ref = _map(o, "roleRef")
    return f"{ref.get('kind', '')}/{ref.get('name', '')}"


# --- column sets ---------------------------------------------------------------------------

Columns = tuple[tuple[str, Cell], ...]
AGE: Final = ("AGE", _age)
NAME: Final = ("NAME", _name)


def _workload_wide(*template: str) -> Columns:
    return (
        ("CONTAINERS", lambda o, now: _containers(o, *template, "spec", "containers")[0]),
        ("IMAGES", lambda o, now: _containers(o, *template, "spec", "containers")[1]),
        ("SELECTOR", lambda o, now: _selector_text(_map(o, "spec", "selector"))),
    )


_COLUMNS: Final[Mapping[Kind, tuple[Columns, Columns]]] = {
    # kind: (default columns, extra columns of -o wide)
    Kind.POD: (
        (NAME, ("READY", _pod_ready), ("STATUS", _pod_status), ("RESTARTS", _pod_restarts), AGE),
        (
            ("IP", _pod_ip),
            ("NODE", _field("spec", "nodeName", default=NONE)),
            ("NOMINATED NODE", _field("status", "nominatedNodeName", default=NONE)),
            ("READINESS GATES", lambda o, now: NONE),
        ),
    ),
    Kind.DEPLOYMENT: (
        (
            NAME,
            ("READY", _deploy_ready),
            ("UP-TO-DATE", _count("status", "updatedReplicas")),
            ("AVAILABLE", _count("status", "availableReplicas")),
            AGE,
        ),
        _workload_wide("spec", "template"),
    ),
    Kind.REPLICA_SET: (
        (
            NAME,
            ("DESIRED", _count("spec", "replicas")),
            ("CURRENT", _count("status", "replicas")),
            ("READY", _count("status", "readyReplicas")),
            AGE,
        ),
        _workload_wide("spec", "template"),
    ),
    Kind.REPLICATION_CONTROLLER: (
        (
            NAME,
            ("DESIRED", _count("spec", "replicas")),
            ("CURRENT", _count("status", "replicas")),
            ("READY", _count("status", "readyReplicas")),
            AGE,
        ),
        (
            ("CONTAINERS", lambda o, now: _containers(o, "spec", "template", "spec", "containers")[0]),
            ("IMAGES", lambda o, now: _containers(o, "spec", "template", "spec", "containers")[1]),
            ("SELECTOR", lambda o, now: _labels_text(_map(o, "spec", "selector"))),
        ),
    ),
    Kind.DAEMON_SET: (
        (
            NAME,
            ("DESIRED", _count("status", "desiredNumberScheduled")),
            ("CURRENT", _count("status", "currentNumberScheduled")),
            ("READY", _count("status", "numberReady")),
            ("UP-TO-DATE", _count("status", "updatedNumberScheduled")),
            ("AVAILABLE", _count("status", "numberAvailable")),
            ("NODE SELECTOR", lambda o, now: _labels_text(_map(o, "spec", "template", "spec", "nodeSelector"))),
            AGE,
        ),
        _workload_wide("spec", "template"),
    ),
    Kind.STATEFUL_SET: (
        (NAME, ("READY", _sts_ready), AGE),
        _workload_wide("spec", "template")[:2],
    ),
    Kind.JOB: (
        (
            NAME,
            ("STATUS", _job_status),
            ("COMPLETIONS", _job_completions),
            ("DURATION", _job_duration),
            AGE,
        ),
        _workload_wide("spec", "template"),
    ),
    Kind.CRON_JOB: (
        (
            NAME,
            ("SCHEDULE", _field("spec", "schedule")),
            ("TIMEZONE", _field("spec", "timeZone", default=NONE)),
            ("SUSPEND", _field("spec", "suspend", default="false")),
            ("ACTIVE", _active_count),
            ("LAST SCHEDULE", _cron_last),
            AGE,
        ),
        (
            ("CONTAINERS", lambda o, now: _containers(o, "spec", "jobTemplate", "spec", "template", "spec", "containers")[0]),
            ("IMAGES", lambda o, now: _containers(o, "spec", "jobTemplate", "spec", "template", "spec", "containers")[1]),
            ("SELECTOR", lambda o, now: _selector_text(_map(o, "spec", "jobTemplate", "spec", "selector"))),
        ),
    ),
    Kind.SERVICE: (
        (
            NAME,
            ("TYPE", _field("spec", "type", default="ClusterIP")),
            ("CLUSTER-IP", _field("spec", "clusterIP", default=NONE)),
            ("EXTERNAL-IP", _svc_external),
            ("PORT(S)", _svc_ports),
            AGE,
        ),
        (("SELECTOR", lambda o, now: _labels_text(_map(o, "spec", "selector"))),),
    ),
    Kind.ENDPOINTS: ((NAME, ("ENDPOINTS", _endpoints), AGE), ()),
    Kind.ENDPOINT_SLICE: (
        (
            NAME,
            ("ADDRESSTYPE", _field("addressType")),
            ("PORTS", _slice_ports),
            ("ENDPOINTS", _slice_endpoints),
            AGE,
        ),
        (),
    ),
    Kind.NETWORK_POLICY: (
        (NAME, ("POD-SELECTOR", lambda o, now: _selector_text(_map(o, "spec", "podSelector"))), AGE),
        (),
    ),
    Kind.INGRESS_CLASS: (
        (
            NAME,
            ("CONTROLLER", _field("spec", "controller")),
            ("PARAMETERS", _ingress_class_parameters),
            AGE,
        ),
        (),
    ),
    Kind.NODE: (
        (NAME, ("STATUS", _node_status), ("ROLES", _node_roles), AGE, ("VERSION", _field("status", "nodeInfo", "kubeletVersion"))),
        (
            ("INTERNAL-IP", _node_address("InternalIP")),
            ("EXTERNAL-IP", _node_address("ExternalIP")),
            ("OS-IMAGE", _field("status", "nodeInfo", "osImage")),
            ("KERNEL-VERSION", _field("status", "nodeInfo", "kernelVersion")),
            ("CONTAINER-RUNTIME", _field("status", "nodeInfo", "containerRuntimeVersion")),
        ),
    ),
    Kind.NAMESPACE: ((NAME, ("STATUS", _field("status", "phase", default="Active")), AGE), ()),
    Kind.CONFIG_MAP: ((NAME, ("DATA", _data_count), AGE), ()),
    Kind.SECRET: ((NAME, ("TYPE", _field("type", default="Opaque")), ("DATA", _data_count), AGE), ()),
    Kind.SERVICE_ACCOUNT: ((NAME, ("SECRETS", lambda o, now: str(len(_list(o, "secrets")))), AGE), ()),
    Kind.EVENT: (
        (
            ("LAST SEEN", _event_last_seen),
            ("TYPE", _field("type")),
            ("REASON", _field("reason")),
            ("OBJECT", _event_object),
            ("MESSAGE", _field("message")),
        ),
        (
            ("SUBOBJECT", _field("involvedObject", "fieldPath")),
            ("SOURCE", _event_source),
            ("FIRST SEEN", lambda o, now: since(_get(o, "firstTimestamp"), now)),
            ("COUNT", _field("count")),
            NAME,
        ),
    ),
    Kind.POD_DISRUPTION_BUDGET: (
        (
            NAME,
            ("MIN AVAILABLE", _field("spec", "minAvailable", default="N/A")),
            ("MAX UNAVAILABLE", _field("spec", "maxUnavailable", default="N/A")),
            ("ALLOWED DISRUPTIONS", _count("status", "disruptionsAllowed")),
            AGE,
        ),
        (),
    ),
    Kind.HORIZONTAL_POD_AUTOSCALER: (
        (
            NAME,
            ("REFERENCE", _hpa_reference),
            ("TARGETS", _hpa_targets),
            ("MINPODS", _field("spec", "minReplicas", default="1")),
            ("MAXPODS", _field("spec", "maxReplicas")),
            ("REPLICAS", _count("status", "currentReplicas")),
            AGE,
        ),
        (),
    ),
    Kind.INGRESS: (
        (
            NAME,
            ("CLASS", _field("spec", "ingressClassName", default=NONE)),
            ("HOSTS", _ingress_hosts),
            ("ADDRESS", _ingress_address),
            ("PORTS", _ingress_ports),
            AGE,
        ),
        (),
    ),
    Kind.RESOURCE_QUOTA: (
        (
            NAME,
            AGE,
            ("REQUEST", lambda o, now: _quota_pairs(o, False)),
            ("LIMIT", lambda o, now: _quota_pairs(o, True)),
        ),
        (),
    ),
    Kind.LIMIT_RANGE: ((NAME, ("CREATED AT", _created_at)), ()),
    Kind.PERSISTENT_VOLUME_CLAIM: (
        (
            NAME,
            ("STATUS", _field("status", "phase", default="Pending")),
            ("VOLUME", _field("spec", "volumeName")),
            ("CAPACITY", _pvc_capacity),
            ("ACCESS MODES", _access_modes),
            ("STORAGECLASS", _field("spec", "storageClassName", default=NONE)),
            AGE,
        ),
        (("VOLUMEMODE", _field("spec", "volumeMode", default="Filesystem")),),
    ),
    Kind.ROLE: ((NAME, ("CREATED AT", _created_at)), ()),
    Kind.CLUSTER_ROLE: ((NAME, ("CREATED AT", _created_at)), ()),
    Kind.ROLE_BINDING: ((NAME, ("ROLE", _binding_role), AGE), ()),
    Kind.CLUSTER_ROLE_BINDING: ((NAME, ("ROLE", _binding_role), AGE), ()),
    Kind.LEASE: ((NAME, ("HOLDER", _field("spec", "holderIdentity")), AGE), ()),
    # printPriorityClass: PreemptionPolicy has no Priority 1 upstream, so it is a default column.
    Kind.PRIORITY_CLASS: (
        (
            NAME,
            ("VALUE", _count("value")),
            ("GLOBAL-DEFAULT", lambda o, now: "true" if o.get("globalDefault") else "false"),
            AGE,
            ("PREEMPTIONPOLICY", _field("preemptionPolicy")),
        ),
        (),
    ),
}


def columns(kind: Kind, *, wide: bool = False) -> Columns:
    """The columns `kubectl get <kind>` prints (plus the `-o wide` ones when asked)."""
    base, extra = _COLUMNS.get(kind, ((NAME, AGE), ()))
    return base + extra if wide else base


def rows(
    objs: Sequence[ApiObject],
    kind: Kind,
    now: Time,
    *,
    wide: bool = False,
    all_namespaces: bool = False,
    name_prefix: str = "",
) -> list[list[str]]:
    """Header row and one row per object, as strings; `name_prefix` (`pod/`) is what
    kubectl puts before each name when several kinds are listed at once."""
    cols = columns(kind, wide=wide)
    header = [h for h, _ in cols]
    if all_namespaces and kind.info.namespaced:
        header = ["NAMESPACE", *header]
    out = [header]
    for obj in objs:
        data = to_dict(obj)
        row = [(name_prefix + cell(data, now)) if h == "NAME" else cell(data, now) for h, cell in cols]
        if all_namespaces and kind.info.namespaced:
            row = [obj.metadata.namespace, *row]
        out.append(row)
    return out


def format_rows(table_rows: Sequence[Sequence[str]]) -> str:
    """Align as kubectl's tabwriter: each column padded to its widest cell plus 3 spaces."""
    if not table_rows:
        return ""
    widths = [max(len(r[i]) for r in table_rows) for i in range(len(table_rows[0]))]
    lines = []
    for r in table_rows:
        cells = [c.ljust(w + 3) for c, w in zip(r[:-1], widths[:-1], strict=True)]
        lines.append(("".join(cells) + r[-1]).rstrip())
    return "\n".join(lines) + "\n"


def table(
    objs: Sequence[ApiObject],
    kind: Kind,
    now: Time,
    *,
    wide: bool = False,
    all_namespaces: bool = False,
    name_prefix: str = "",
) -> str:
    """`kubectl get` output for `objs` of one kind, with a header line."""
    return format_rows(rows(objs, kind, now, wide=wide, all_namespaces=all_namespaces, name_prefix=name_prefix))
