"""What is still not settled in a cluster: one line per object, as a user reads it.

Owns `Unsettled` and `unsettled(state) -> tuple[Unsettled, ...]`: the workloads whose
status has not reached their spec, the bare pods that are neither Ready nor finished, and
the objects still being deleted, each with the pod that holds it back
(`deployment.apps/web: 2/3 ready (pod web-x: CrashLoopBackOff)`). The CLI prints these
after settling (`kcore.cli.session.report_settled`); embedders call it on
`Cluster.state` after `Cluster.settle`.

Rules: a read of the state, never a decision: settling does not consult it (it stops on
what the components mark as in motion, `kcore.driver.settling`), it only says what the
settled cluster looks like. A Deployment, StatefulSet or DaemonSet is settled when
kubectl's status viewer says it rolled out (`kcore.rollout_status`; a paused Deployment
too, and one whose strategy the viewer cannot judge when every pod is ready), a
ReplicaSet or ReplicationController that no Deployment owns when its replicas are
ready, a Job when it finished (Complete or Failed) or is suspended; a pod with no
controller when it is Ready or finished. A pod or namespace with a deletionTimestamp is
not settled. Lines come sorted by kind, namespace and name; the pod named is the first
unready one by name. Cost: one pass over the workloads and the pods, then only the
dependents of the unsettled workloads (the owner index).

Mirrors k8s.io/kubectl/pkg/polymorphichelpers/rollout_status.go in what counts as done.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import attrs

from kcore.api.apps import DaemonSet, Deployment, ReplicaSet, StatefulSet
from kcore.api.batch import Job
from kcore.api.core import Namespace, NamespacePhase, ReplicationController
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ApiObject, ConditionStatus, ObjectMeta
from kcore.api.pod import Pod, PodPhase
from kcore.printers import pod_status_text
from kcore.rollout_status import NOT_ROLLING, status_of
from kcore.state import ClusterState, dependents, get, list_objects

_ORDER: Final = (
    Kind.DEPLOYMENT,
    Kind.STATEFUL_SET,
    Kind.DAEMON_SET,
    Kind.REPLICA_SET,
    Kind.REPLICATION_CONTROLLER,
    Kind.JOB,
    Kind.POD,
    Kind.NAMESPACE,
)


@attrs.frozen(kw_only=True)
class Unsettled:
    """`key` is not settled: `summary` says how far it got, `pod` names what holds it
    back (`pod web-x: CrashLoopBackOff`), when a pod does."""

    key: ObjectKey
    summary: str
    pod: str = ""

    @property
    def line(self) -> str:
        """`deployment.apps/web: 2/3 ready (pod web-x: CrashLoopBackOff)`."""
        detail = f" ({self.pod})" if self.pod else ""
        return f"{self.key.kind.info.resource}/{self.key.name}: {self.summary}{detail}"


def unsettled(state: ClusterState) -> tuple[Unsettled, ...]:
    """Every object of `state` that is not settled, sorted (see the module doc)."""
    out: list[Unsettled] = []
    for kind in _ORDER:
        for obj in list_objects(state, kind):
            item = _check(state, obj)
            if item is not None:
                out.append(item)
    return tuple(out)


def _key(obj: ApiObject) -> ObjectKey:
    m = obj.metadata
    return ObjectKey(kind=obj.KIND, namespace=m.namespace, name=m.name)


def _has_controller(meta: ObjectMeta) -> bool:
    return any(ref.controller for ref in meta.owner_references)


def _check(state: ClusterState, obj: ApiObject) -> Unsettled | None:
    match obj:
        case Deployment():
            return _deployment(state, obj)
        case StatefulSet():
            return _statefulset(state, obj)
        case DaemonSet():
            return _daemonset(state, obj)
        case ReplicaSet() | ReplicationController():
            return _replicas(state, obj)
        case Job():
            return _job(state, obj)
        case Pod():
            return _pod(obj)
        case Namespace():
            if obj.status.phase is NamespacePhase.TERMINATING or obj.metadata.deletion_timestamp is not None:
                return Unsettled(key=_key(obj), summary="Terminating")
            return None
        case _:
            return None


def _rolled_out(obj: Deployment | StatefulSet | DaemonSet) -> bool:
    """kubectl's status viewer says done (a strategy it cannot judge: every pod ready)."""
    st = status_of(obj)
    if st.error == NOT_ROLLING:
        return _all_ready(obj)
    return st.done


def _all_ready(obj: Deployment | StatefulSet | DaemonSet) -> bool:
    match obj:
        case DaemonSet():
            return obj.status.number_ready >= obj.status.desired_number_scheduled
        case _:
            return obj.status.ready_replicas >= obj.spec.replicas


def _deployment(state: ClusterState, d: Deployment) -> Unsettled | None:
    if d.spec.paused or d.metadata.deletion_timestamp is not None or _rolled_out(d):
        return None
    pods = (p for rs in _owned(state, d.metadata.uid, Kind.REPLICA_SET) for p in _owned(state, rs.metadata.uid, Kind.POD))
    return Unsettled(key=_key(d), summary=f"{d.status.ready_replicas}/{d.spec.replicas} ready", pod=_holding(pods))


def _statefulset(state: ClusterState, s: StatefulSet) -> Unsettled | None:
    if s.metadata.deletion_timestamp is not None or _rolled_out(s):
        return None
    pods = _owned(state, s.metadata.uid, Kind.POD)
    return Unsettled(key=_key(s), summary=f"{s.status.ready_replicas}/{s.spec.replicas} ready", pod=_holding(pods))


def _daemonset(state: ClusterState, ds: DaemonSet) -> Unsettled | None:
    if ds.metadata.deletion_timestamp is not None or _rolled_out(ds):
        return None
    st = ds.status
    pods = _owned(state, ds.metadata.uid, Kind.POD)
    return Unsettled(key=_key(ds), summary=f"{st.number_ready}/{st.desired_number_scheduled} ready", pod=_holding(pods))


def _replicas(state: ClusterState, rs: ReplicaSet | ReplicationController) -> Unsettled | None:
    if _has_controller(rs.metadata) or rs.metadata.deletion_timestamp is not None:
        return None  # its Deployment's line covers it
    st, want = rs.status, rs.spec.replicas
    if st.observed_generation >= rs.metadata.generation and st.replicas == want and st.ready_replicas >= want:
        return None
    pods = _owned(state, rs.metadata.uid, Kind.POD)
    return Unsettled(key=_key(rs), summary=f"{st.ready_replicas}/{want} ready", pod=_holding(pods))


def _job(state: ClusterState, job: Job) -> Unsettled | None:
    if job.spec.suspend or job.metadata.deletion_timestamp is not None:
        return None
    finished = any(
        c.type.value in ("Complete", "Failed") and c.status is ConditionStatus.TRUE for c in job.status.conditions
    )
    if finished:
        return None
    completions = job.spec.completions if job.spec.completions is not None else 1
    pods = _owned(state, job.metadata.uid, Kind.POD)
    return Unsettled(key=_key(job), summary=f"{job.status.succeeded}/{completions} complete", pod=_holding(pods))


def _pod(pod: Pod) -> Unsettled | None:
    if pod.metadata.deletion_timestamp is not None:
        return Unsettled(key=_key(pod), summary="Terminating")
    if _has_controller(pod.metadata) and not _mirror(pod):
        return None  # its controller's line covers it
    problem = pod_problem(pod)
    return None if problem is None else Unsettled(key=_key(pod), summary=problem)


def _mirror(pod: Pod) -> bool:
    return any(ref.kind == Kind.NODE.value for ref in pod.metadata.owner_references)


def _owned(state: ClusterState, uid: str, kind: Kind) -> Iterable[ApiObject]:
    if not uid:
        return ()
    found = []
    for key in dependents(state, uid):
        if key.kind is kind:
            obj = get(state, key)
            if obj is not None:
                found.append(obj)
    return found


def _holding(pods: Iterable[ApiObject]) -> str:
    """`pod x: why` of the first pod by name that is not Ready or finished, with a count
    of the others."""
    stuck = sorted(
        ((p.metadata.name, why) for p in pods if isinstance(p, Pod) and (why := pod_problem(p)) is not None),
    )
    if not stuck:
        return ""
    name, why = stuck[0]
    more = f", {len(stuck) - 1} more" if len(stuck) > 1 else ""
    return f"pod {name}: {why}{more}"


def pod_problem(pod: Pod) -> str | None:
    """Why `pod` is not settled (kubectl's STATUS, with the scheduler's message for an
    unschedulable pod), or None when it is Ready or finished."""
    if pod.metadata.deletion_timestamp is not None:
        return "Terminating"
    phase = pod.status.phase
    if phase in (PodPhase.SUCCEEDED, PodPhase.FAILED):
        return None
    conditions = {c.type: c for c in pod.status.conditions}
    ready = conditions.get("Ready")
    if ready is not None and ready.status is ConditionStatus.TRUE:
        return None
    scheduled = conditions.get("PodScheduled")
    if not pod.spec.node_name and scheduled is not None and scheduled.status is ConditionStatus.FALSE:
        reason = scheduled.reason or "Pending"
        return f"{reason}: {scheduled.message}" if scheduled.message else reason
    text = pod_status_text(pod)
    return f"{text}, not ready" if text == "Running" else text
