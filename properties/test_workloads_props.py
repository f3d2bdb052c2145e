"""Laws of the workload controllers over the WHOLE cluster, under faults.

A `RuleBasedStateMachine` runs every default component (`kcore.driver.new_cluster`: the
control plane controllers, the scheduler and a real kubelet per node over the simulated
runtime, 3 nodes) and tours the API like a user and a chaos monkey: create / scale /
update the template of / delete (propagation Background, Foreground or Orphan)
ReplicaSets, ReplicationControllers, DaemonSets, Jobs, CronJobs, and Deployments and
StatefulSets when their controllers are in `default_components`; delete a namespace and
create it again; delete pods; kill containers; crash/restart nodes; partition/heal them;
pause/resume/crash controllers; roll Deployments back (`rollout undo`) and pause/resume
their rollouts; advance simulated time. Bundles carry the keys created and the nodes and
controllers a fault holds (consumed when it is healed).

Safety, checked on every write (the apiserver's watch log is replayed after each rule,
so no intermediate state between two rules escapes):
- a DaemonSet never has two live (not terminal, not deleting) pods for one node;
- a Job never has more active pods than its parallelism, and `status.succeeded` never
  decreases, never exceeds completions, and never exceeds the number of distinct pods
  seen Succeeded (no completion is counted twice);
- a StatefulSet never has two pods with one ordinal, and under OrderedReady ordinal n is
  created only when every ordinal below it exists with a pod that has been Ready;
- a Deployment in a rolling update that started from a complete rollout with no fault,
  pod deletion or scale since (a "calm" rollout): ready live pods >= replicas -
  maxUnavailable, and the ReplicaSets' summed spec.replicas <= replicas + maxSurge.

Convergence (the `converge` rule, and at teardown): heal every fault, advance enough
simulated time, then
- every ReplicaSet / ReplicationController has exactly spec.replicas live owned pods,
  all Running; every Deployment's status has updated = available = replicas for its
  current generation; every DaemonSet has exactly one live Running pod per eligible node
  and none elsewhere; every Job is Complete or Failed with succeeded <= completions (CronJob
  Jobs older than two minutes); every StatefulSet has Running pods named 0..n-1;
- no dangling owner: every object with an ownerReference has that owner, same uid
  (Orphan deletion strips the references instead); no object outlives its namespace;
- idempotence at the fixed point: advancing two more minutes makes no API write to a
  workload object or pod by any control plane component, except the CronJobs' own runs.

Determinism is a separate test: one program (workloads and faults) replayed twice from
the same seed gives the same objects (`kcore.api.codec.to_dict`) and the same trace.

Shrunk failures paste into tests/test_workload_regressions.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

import attrs
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    MultipleResults,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)
from pyrsistent import pmap

from kcore.api.apps import (
    DaemonSet,
    DaemonSetSpec,
    Deployment,
    DeploymentSpec,
    PodManagementPolicy,
    ReplicaSet,
    ReplicaSetSpec,
    StatefulSet,
    StatefulSetSpec,
)
from kcore.api.batch import CronJob, CronJobSpec, Job, JobConditionType, JobSpec, JobTemplateSpec
from kcore.api.codec import to_dict
from kcore.api.core import Namespace, Node, ReplicationController, ReplicationControllerSpec
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ApiObject, ConditionStatus, ObjectMeta, Status
from kcore.api.pod import LabelSelector, Pod, PodPhase, PodSpec, PodTemplateSpec, RestartPolicy
from kcore.api.watch import WatchEvent, WatchType
from kcore.component.effects import CallApi
from kcore.component.requests import Create, Delete, PropagationPolicy, Update
from kcore.controllers import daemonset_util as du
from kcore.controllers import deployment_util as dpu
from kcore.driver import new_cluster
from kcore.driver.cluster import CLIENT, Cluster
from kcore.driver.faults import (
    CrashComponent,
    CrashNode,
    HealPartition,
    KillContainer,
    PartitionNode,
    PauseComponent,
    RestartNode,
    ResumeComponent,
)
from kcore.driver.snapshot import Performed
from kcore.kubectl.rollback import rollback_request
from kcore.state import ClusterConfig, events_since, get, list_objects
from tests.builders import a_container

NODES: Final = ("node-1", "node-2", "node-3")
NAMESPACES: Final = ("default", "team")
SETTLE: Final = 900.0
"""Simulated seconds after healing: pod eviction (300 s toleration), job backoffs, pod GC."""
QUIET: Final = 120.0
WORKLOAD_KINDS: Final = frozenset(
    {
        Kind.POD,
        Kind.REPLICA_SET,
        Kind.REPLICATION_CONTROLLER,
        Kind.DAEMON_SET,
        Kind.JOB,
        Kind.CRON_JOB,
        Kind.DEPLOYMENT,
        Kind.STATEFUL_SET,
    }
)
OWNED_KINDS: Final = (Kind.POD, Kind.REPLICA_SET, Kind.JOB, Kind.PERSISTENT_VOLUME_CLAIM)
CONTROLLERS: Final = (
    "replicaset-controller",
    "replicationcontroller-controller",
    "daemonset-controller",
    "job-controller",
    "cronjob-controller",
    "garbage-collector-controller",
    "namespace-controller",
    "kube-scheduler",
    "node-lifecycle-controller",
    "deployment-controller",
    "statefulset-controller",
)

Workload = ReplicaSet | ReplicationController | Deployment | StatefulSet | DaemonSet

_BASES: dict[int, Cluster] = {}


def base_cluster(seed: int) -> Cluster:
    """A fresh settled 3-node cluster for `seed` (built once per seed, then forked)."""
    if seed not in _BASES:
        c = new_cluster(ClusterConfig(seed=seed), nodes=len(NODES))
        assert c.request(Create(obj=Namespace(metadata=ObjectMeta(name="team")))).ok
        assert c.advance(5)
        _BASES[seed] = c
    return _BASES[seed].fork()


# --- builders -----------------------------------------------------------------------------


def _meta(name: str, namespace: str) -> ObjectMeta:
    return ObjectMeta(name=name, namespace=namespace, labels=pmap({"app": name}))


def _template(name: str, restart: RestartPolicy = RestartPolicy.ALWAYS, **annotations: str) -> PodTemplateSpec:
    spec = PodSpec(containers=(a_container("main", "busybox:1.36"),), restart_policy=restart, termination_grace_period_seconds=5)
    return PodTemplateSpec(metadata=ObjectMeta(labels=pmap({"app": name}), annotations=pmap(annotations)), spec=spec)


def _selector(name: str) -> LabelSelector:
    return LabelSelector(match_labels=pmap({"app": name}))


def replica_set(name: str, namespace: str, replicas: int) -> ReplicaSet:
    return ReplicaSet(
        metadata=_meta(name, namespace),
        spec=ReplicaSetSpec(replicas=replicas, selector=_selector(name), template=_template(name)),
    )


def replication_controller(name: str, namespace: str, replicas: int) -> ReplicationController:
    return ReplicationController(
        metadata=_meta(name, namespace),
        spec=ReplicationControllerSpec(replicas=replicas, selector=pmap({"app": name}), template=_template(name)),
    )


def daemon_set(name: str, namespace: str, only_node: str) -> DaemonSet:
    template = _template(name)
    if only_node:
        pinned = attrs.evolve(template.spec, node_selector=pmap({"kubernetes.io/hostname": only_node}))
        template = attrs.evolve(template, spec=pinned)
    return DaemonSet(metadata=_meta(name, namespace), spec=DaemonSetSpec(selector=_selector(name), template=template))


def job_spec(name: str, completions: int, parallelism: int, fail: bool, backoff: int) -> JobSpec:
    annotations = {"kcore.io/exit-code": "1"} if fail else {}
    return JobSpec(
        completions=completions,
        parallelism=parallelism,
        backoff_limit=backoff,
        template=_template(name, RestartPolicy.NEVER, **annotations),
    )


def job(name: str, namespace: str, completions: int, parallelism: int, fail: bool, backoff: int) -> Job:
    return Job(metadata=_meta(name, namespace), spec=job_spec(name, completions, parallelism, fail, backoff))


def cron_job(name: str, namespace: str) -> CronJob:
    template = JobTemplateSpec(spec=job_spec(name, 1, 1, False, 1))
    return CronJob(metadata=_meta(name, namespace), spec=CronJobSpec(schedule="*/2 * * * *", job_template=template))


def deployment(name: str, namespace: str, replicas: int) -> Deployment:
    return Deployment(
        metadata=_meta(name, namespace),
        spec=DeploymentSpec(replicas=replicas, selector=_selector(name), template=_template(name)),
    )


def stateful_set(name: str, namespace: str, replicas: int, parallel: bool) -> StatefulSet:
    policy = PodManagementPolicy.PARALLEL if parallel else PodManagementPolicy.ORDERED_READY
    return StatefulSet(
        metadata=_meta(name, namespace),
        spec=StatefulSetSpec(
            replicas=replicas,
            selector=_selector(name),
            template=_template(name),
            service_name=name,
            pod_management_policy=policy,
        ),
    )


def with_spec(obj: Workload, **changes: object) -> Workload:
    """`obj` with some spec fields changed (every workload kind has a `spec`)."""
    spec = attrs.evolve(obj.spec, **changes)  # type: ignore[arg-type]  # a union of specs; each has the field
    return attrs.evolve(obj, spec=spec)  # type: ignore[arg-type]  # the spec of obj's own kind


# --- reading the cluster ------------------------------------------------------------------


def ready(p: Pod) -> bool:
    return any(c.type == "Ready" and c.status is ConditionStatus.TRUE for c in p.status.conditions)


def live(p: Pod) -> bool:
    return p.metadata.deletion_timestamp is None and p.status.phase not in (PodPhase.SUCCEEDED, PodPhase.FAILED)


def controller_uid(obj: ApiObject) -> str:
    for ref in obj.metadata.owner_references:
        if ref.controller:
            return ref.uid
    return ""


def finished(j: Job) -> JobConditionType | None:
    for c in j.status.conditions:
        if c.type in (JobConditionType.COMPLETE, JobConditionType.FAILED) and c.status is ConditionStatus.TRUE:
            return c.type
    return None


def ordinal(set_name: str, pod_name: str) -> int | None:
    m = re.fullmatch(re.escape(set_name) + r"-(\d+)", pod_name)
    return int(m.group(1)) if m else None


def _key(obj: ApiObject) -> ObjectKey:
    return ObjectKey(kind=obj.KIND, namespace=obj.metadata.namespace, name=obj.metadata.name)


class History:
    """Replays the apiserver's watch log write by write and checks the safety laws."""

    def __init__(self, c: Cluster) -> None:
        self.revision = c.state.revision
        self.objs: dict[ObjectKey, ApiObject] = {}
        for kind in (Kind.POD, Kind.JOB, Kind.DAEMON_SET, Kind.STATEFUL_SET, Kind.DEPLOYMENT, Kind.REPLICA_SET):
            for o in list_objects(c.state, kind):
                self.objs[_key(o)] = o
        self.was_ready: set[str] = set()  # pod uids seen Ready
        self.succeeded: dict[str, int] = {}  # job uid -> highest status.succeeded
        self.succeeded_pods: dict[str, set[str]] = {}  # job uid -> uids of its pods seen Succeeded
        self.calm: set[str] = set()  # deployment uids in a calm rollout

    def by_uid(self, kind: Kind, uid: str) -> ApiObject | None:
        for k, o in self.objs.items():
            if k.kind is kind and o.metadata.uid == uid:
                return o
        return None

    def pods_of(self, uid: str) -> list[Pod]:
        return [o for o in self.objs.values() if isinstance(o, Pod) and controller_uid(o) == uid]

    def catch_up(self, c: Cluster) -> None:
        events = events_since(c.state, self.revision)
        assert events is not None, "watch log compacted under the property"
        for ev in events:
            self.absorb(ev)
        self.revision = c.state.revision

    def absorb(self, ev: WatchEvent) -> None:
        obj = ev.obj
        if obj.KIND not in (Kind.POD, Kind.JOB, Kind.DAEMON_SET, Kind.STATEFUL_SET, Kind.DEPLOYMENT, Kind.REPLICA_SET):
            return
        key = _key(obj)
        if ev.type is WatchType.DELETED:
            self.objs.pop(key, None)
        else:
            self.objs[key] = obj
        if isinstance(obj, Pod):
            if ready(obj):
                self.was_ready.add(obj.metadata.uid)
            if obj.status.phase is PodPhase.SUCCEEDED:
                self.succeeded_pods.setdefault(controller_uid(obj), set()).add(obj.metadata.uid)
            if ev.type is not WatchType.DELETED:
                self.check_pod(obj, added=ev.type is WatchType.ADDED)
        elif isinstance(obj, Job) and ev.type is not WatchType.DELETED:
            uid = obj.metadata.uid
            assert obj.status.succeeded >= self.succeeded.get(uid, 0), ("job succeeded decreased", key)
            assert obj.status.succeeded <= (obj.spec.completions or 1), ("job succeeded > completions", key)
            seen = len(self.succeeded_pods.get(uid, ()))
            assert obj.status.succeeded <= seen, ("a completion counted twice", key, obj.status.succeeded, seen)
            self.succeeded[uid] = obj.status.succeeded
        if isinstance(obj, Pod | ReplicaSet | Deployment):
            self.check_calm_rollouts()

    def check_pod(self, pod: Pod, *, added: bool) -> None:
        uid = controller_uid(pod)
        if not uid:
            return
        owner = next((r.kind for r in pod.metadata.owner_references if r.controller), "")
        if owner == "DaemonSet":
            nodes = [du.target_node_name(p) for p in self.pods_of(uid) if live(p)]
            assert len(nodes) == len(set(nodes)), ("two daemon pods on one node", sorted(nodes))
        elif owner == "Job":
            j = self.by_uid(Kind.JOB, uid)
            if isinstance(j, Job):
                active = [p.metadata.name for p in self.pods_of(uid) if live(p)]
                assert len(active) <= (j.spec.parallelism or 1), ("job over parallelism", j.metadata.name, active)
        elif owner == "StatefulSet":
            sts = self.by_uid(Kind.STATEFUL_SET, uid)
            if not isinstance(sts, StatefulSet):
                return
            name = sts.metadata.name
            ords = [ordinal(name, p.metadata.name) for p in self.pods_of(uid)]
            assert None not in ords and len(ords) == len(set(ords)), ("statefulset ordinals", ords)
            n = ordinal(name, pod.metadata.name)
            if added and n and sts.spec.pod_management_policy is PodManagementPolicy.ORDERED_READY:
                ns = pod.metadata.namespace
                for i in range(n):
                    prev = self.objs.get(ObjectKey(kind=Kind.POD, namespace=ns, name=f"{name}-{i}"))
                    assert prev is not None and prev.metadata.uid in self.was_ready, (
                        "ordinal created before its predecessors were Ready",
                        pod.metadata.name,
                        i,
                    )

    def check_calm_rollouts(self) -> None:
        for uid in sorted(self.calm):
            d = self.by_uid(Kind.DEPLOYMENT, uid)
            if not isinstance(d, Deployment) or d.metadata.deletion_timestamp is not None:
                continue
            rss = [o for o in self.objs.values() if isinstance(o, ReplicaSet) and controller_uid(o) == uid]
            pods = [p for rs in rss for p in self.pods_of(rs.metadata.uid)]
            want = d.spec.replicas
            assert sum(rs.spec.replicas for rs in rss) <= want + dpu.max_surge(d), ("surge exceeded", d.metadata.name)
            up = sum(1 for p in pods if live(p) and ready(p))
            assert up >= want - dpu.max_unavailable(d), ("unavailable exceeded", d.metadata.name, up)


# --- the machine --------------------------------------------------------------------------


class WholeCluster(RuleBasedStateMachine):
    """Every default component, random workloads, random faults."""

    workloads = Bundle("workloads")
    down_nodes = Bundle("down_nodes")
    cut_nodes = Bundle("cut_nodes")
    paused_controllers = Bundle("paused_controllers")

    def __init__(self) -> None:
        super().__init__()
        self.c = base_cluster(0)
        self.history = History(self.c)
        self.made = 0
        self.down: set[str] = set()
        self.cut: set[str] = set()
        self.paused: set[str] = set()
        self.quiet_checks = 0
        self.since_converge = 0  # rules run since the last convergence check

    @initialize(seed=st.integers(0, 2))
    def boot(self, seed: int) -> None:
        self.c = base_cluster(seed)
        self.history = History(self.c)

    # -- helpers

    def running(self, name: str) -> bool:
        return any(comp.name == name for comp in self.c.components)

    def fresh_name(self, prefix: str) -> str:
        self.made += 1
        return f"{prefix}-{self.made}"

    def create(self, obj: ApiObject) -> MultipleResults[ObjectKey]:
        resp = self.c.request(Create(obj=obj))
        if not resp.ok:  # e.g. the namespace is terminating: refused, as upstream
            assert resp.code in (403, 404), resp
            return multiple()
        self.c.run_until_stable()
        return multiple(_key(obj))

    def faulty(self) -> bool:
        return bool(self.down or self.cut or self.paused)

    def disturb(self) -> None:
        self.history.calm.clear()

    def pods(self) -> list[Pod]:
        return [p for p in list_objects(self.c.state, Kind.POD) if isinstance(p, Pod)]

    # -- workloads

    @rule(target=workloads, ns=st.sampled_from(NAMESPACES), replicas=st.integers(0, 3))
    def create_replica_set(self, ns: str, replicas: int) -> MultipleResults[ObjectKey]:
        return self.create(replica_set(self.fresh_name("rs"), ns, replicas))

    @rule(target=workloads, ns=st.sampled_from(NAMESPACES), replicas=st.integers(0, 3))
    def create_replication_controller(self, ns: str, replicas: int) -> MultipleResults[ObjectKey]:
        return self.create(replication_controller(self.fresh_name("rc"), ns, replicas))

    @rule(target=workloads, ns=st.sampled_from(NAMESPACES), only_node=st.sampled_from(["", "node-2"]))
    def create_daemon_set(self, ns: str, only_node: str) -> MultipleResults[ObjectKey]:
        return self.create(daemon_set(self.fresh_name("ds"), ns, only_node))

    @rule(
        target=workloads,
        ns=st.sampled_from(NAMESPACES),
        completions=st.integers(1, 3),
        parallelism=st.integers(1, 2),
        fail=st.booleans(),
        backoff=st.integers(0, 2),
    )
    def create_job(self, ns: str, completions: int, parallelism: int, fail: bool, backoff: int) -> MultipleResults[ObjectKey]:
        return self.create(job(self.fresh_name("job"), ns, completions, parallelism, fail, backoff))

    @rule(target=workloads, ns=st.sampled_from(NAMESPACES))
    def create_cron_job(self, ns: str) -> MultipleResults[ObjectKey]:
        return self.create(cron_job(self.fresh_name("cron"), ns))

    @precondition(lambda self: self.running("deployment-controller"))
    @rule(target=workloads, ns=st.sampled_from(NAMESPACES), replicas=st.integers(0, 3))
    def create_deployment(self, ns: str, replicas: int) -> MultipleResults[ObjectKey]:
        return self.create(deployment(self.fresh_name("deploy"), ns, replicas))

    @precondition(lambda self: self.running("statefulset-controller"))
    @rule(target=workloads, ns=st.sampled_from(NAMESPACES), replicas=st.integers(0, 3), parallel=st.booleans())
    def create_stateful_set(self, ns: str, replicas: int, parallel: bool) -> MultipleResults[ObjectKey]:
        return self.create(stateful_set(self.fresh_name("sts"), ns, replicas, parallel))

    @rule(key=workloads, replicas=st.integers(0, 3))
    def scale(self, key: ObjectKey, replicas: int) -> None:
        obj = get(self.c.state, key)
        if isinstance(obj, ReplicaSet | ReplicationController | Deployment | StatefulSet):
            self.disturb()
            assert self.c.request(Update(obj=with_spec(obj, replicas=replicas))).ok
            self.c.run_until_stable()

    @rule(key=workloads)
    def update_template(self, key: ObjectKey) -> None:
        """A new pod template revision (an annotation bump): a rollout for Deployments,
        DaemonSets and StatefulSets; nothing for the pods of a ReplicaSet or a Job."""
        obj = get(self.c.state, key)
        if not isinstance(obj, ReplicaSet | ReplicationController | Deployment | StatefulSet | DaemonSet):
            return
        template = obj.spec.template
        assert template is not None
        bumped = template.metadata.annotations.set("revision", str(self.made))
        self.made += 1
        new = attrs.evolve(template, metadata=attrs.evolve(template.metadata, annotations=bumped))
        assert self.c.request(Update(obj=with_spec(obj, template=new))).ok
        self.c.run_until_stable()

    @rule(key=workloads, to_revision=st.integers(0, 3))
    def rollback(self, key: ObjectKey, to_revision: int) -> None:
        """`kubectl rollout undo` (to the previous, or to a given revision): a rollout back."""
        if not isinstance(get(self.c.state, key), Deployment):
            return
        req = rollback_request(self.c.state, key, to_revision)
        if isinstance(req, Status):  # no such revision, paused, already there: nothing sent
            return
        resp = self.c.request(req)
        assert resp.ok or resp.code == 409, resp
        self.c.run_until_stable()

    @rule(key=workloads, paused=st.booleans())
    def pause_rollout(self, key: ObjectKey, paused: bool) -> None:
        """`kubectl rollout pause/resume`: a paused Deployment keeps its bounds and waits."""
        obj = get(self.c.state, key)
        if not isinstance(obj, Deployment):
            return
        assert self.c.request(Update(obj=with_spec(obj, paused=paused))).ok
        self.c.run_until_stable()

    @rule(key=consumes(workloads), propagation=st.sampled_from(PropagationPolicy))
    def delete_workload(self, key: ObjectKey, propagation: PropagationPolicy) -> None:
        self.disturb()  # a deleted Deployment's pods go: no longer a rollout
        resp = self.c.request(Delete(key=key, propagation=propagation))
        assert resp.ok or resp.code == 404, resp
        self.c.run_until_stable()

    @rule(ns=st.sampled_from(NAMESPACES[1:]))
    def delete_namespace(self, ns: str) -> None:
        self.disturb()
        resp = self.c.request(Delete(key=ObjectKey(kind=Kind.NAMESPACE, namespace="", name=ns)))
        assert resp.ok or resp.code in (404, 409), resp
        self.c.run_until_stable()

    @rule(ns=st.sampled_from(NAMESPACES[1:]))
    def create_namespace(self, ns: str) -> None:
        resp = self.c.request(Create(obj=Namespace(metadata=ObjectMeta(name=ns))))
        assert resp.ok or resp.code == 409, resp
        self.c.run_until_stable()

    # -- pods and faults

    @precondition(lambda self: bool(self.pods()))
    @rule(i=st.integers(0, 50))
    def delete_pod(self, i: int) -> None:
        pods = self.pods()
        p = pods[i % len(pods)]
        self.disturb()
        self.c.request(Delete(key=_key(p)))
        self.c.run_until_stable()

    @precondition(lambda self: any(p.spec.node_name and p.status.phase is PodPhase.RUNNING for p in self.pods()))
    @rule(i=st.integers(0, 50), oom=st.booleans())
    def kill_container(self, i: int, oom: bool) -> None:
        pods = [p for p in self.pods() if p.spec.node_name and p.status.phase is PodPhase.RUNNING]
        p = pods[i % len(pods)]
        self.disturb()
        self.c.inject(KillContainer(node=p.spec.node_name, pod=_key(p), container=p.spec.containers[0].name, oom=oom))
        self.c.run_until_stable()

    @rule(target=down_nodes, node=st.sampled_from(NODES))
    def crash_node(self, node: str) -> MultipleResults[str]:
        self.disturb()
        newly = node not in self.down
        self.down.add(node)
        self.c.inject(CrashNode(node=node))
        self.c.run_until_stable()
        return multiple(node) if newly else multiple()

    @rule(node=consumes(down_nodes))
    def restart_node(self, node: str) -> None:
        if node not in self.down:  # `converge` restarted it already
            return
        self.down.discard(node)
        self.c.inject(RestartNode(node=node))
        self.c.run_until_stable()

    @rule(target=cut_nodes, node=st.sampled_from(NODES))
    def partition_node(self, node: str) -> MultipleResults[str]:
        self.disturb()
        newly = node not in self.cut
        self.cut.add(node)
        self.c.inject(PartitionNode(node=node))
        self.c.run_until_stable()
        return multiple(node) if newly else multiple()

    @rule(node=consumes(cut_nodes))
    def heal_partition(self, node: str) -> None:
        if node not in self.cut:  # `converge` healed it already
            return
        self.cut.discard(node)
        self.c.inject(HealPartition(node=node))
        self.c.run_until_stable()

    @rule(target=paused_controllers, name=st.sampled_from(CONTROLLERS))
    def pause_component(self, name: str) -> MultipleResults[str]:
        if not self.running(name):
            return multiple()
        self.disturb()
        newly = name not in self.paused
        self.paused.add(name)
        self.c.inject(PauseComponent(name=name))
        return multiple(name) if newly else multiple()

    @rule(name=consumes(paused_controllers))
    def resume_component(self, name: str) -> None:
        if name not in self.paused:  # `converge` resumed it already
            return
        self.paused.discard(name)
        self.c.inject(ResumeComponent(name=name))
        self.c.run_until_stable()

    @rule(name=st.sampled_from(CONTROLLERS))
    def crash_component(self, name: str) -> None:
        if self.running(name):
            self.c.inject(CrashComponent(name=name))
            self.c.run_until_stable()

    @rule(seconds=st.sampled_from([1.0, 5.0, 30.0, 120.0, 400.0]))
    def advance(self, seconds: float) -> None:
        assert self.c.advance(seconds)

    # -- convergence

    @precondition(lambda self: self.since_converge >= 2)  # another rule ran since
    @rule()
    def converge(self) -> None:
        """Heal everything, let time pass, check every workload reached its spec."""
        self.heal()
        assert self.c.advance(SETTLE)
        self.history.catch_up(self.c)
        check_converged(self.c)
        self.mark_calm()
        start = len(self.c.trace) + self.c.snapshot().trace_dropped
        assert self.c.advance(QUIET)
        check_quiet(self.c, start)
        self.quiet_checks += 1
        self.since_converge = 0

    def heal(self) -> None:
        for node in sorted(self.down):
            self.c.inject(RestartNode(node=node))
        for node in sorted(self.cut):
            self.c.inject(HealPartition(node=node))
        for name in sorted(self.paused):
            self.c.inject(ResumeComponent(name=name))
        self.down.clear()
        self.cut.clear()
        self.paused.clear()
        for d in list_objects(self.c.state, Kind.DEPLOYMENT):  # the user resumes paused rollouts
            if isinstance(d, Deployment) and d.spec.paused:
                assert self.c.request(Update(obj=with_spec(d, paused=False))).ok
        self.c.run_until_stable()

    def mark_calm(self) -> None:
        """Deployments complete right now start a calm window (until the next disturbance)."""
        self.history.calm = {
            d.metadata.uid for d in list_objects(self.c.state, Kind.DEPLOYMENT) if isinstance(d, Deployment)
        }

    @invariant()
    def safety(self) -> None:
        self.history.catch_up(self.c)
        self.since_converge += 1

    def teardown(self) -> None:
        if hasattr(self, "c"):
            self.converge()


def check_converged(c: Cluster) -> None:
    """Every workload at its spec, no dangling owner, no object outliving its namespace."""
    state = c.state
    pods = [p for p in list_objects(state, Kind.POD) if isinstance(p, Pod)]
    by_owner: dict[str, list[Pod]] = {}
    for p in pods:
        if live(p) and controller_uid(p):
            by_owner.setdefault(controller_uid(p), []).append(p)
    for kind in (Kind.REPLICA_SET, Kind.REPLICATION_CONTROLLER):
        for rs in list_objects(state, kind):
            assert isinstance(rs, ReplicaSet | ReplicationController)
            if rs.metadata.deletion_timestamp is not None:
                continue
            mine = by_owner.get(rs.metadata.uid, [])
            assert len(mine) == rs.spec.replicas, (rs.metadata.name, rs.spec.replicas, [p.metadata.name for p in mine])
            assert all(p.status.phase is PodPhase.RUNNING for p in mine), (rs.metadata.name, [p.status.phase for p in mine])
    for d in list_objects(state, Kind.DEPLOYMENT):
        assert isinstance(d, Deployment)
        if d.metadata.deletion_timestamp is None:
            st_ = d.status
            assert st_.observed_generation == d.metadata.generation, d.metadata.name
            assert (st_.updated_replicas, st_.available_replicas, st_.replicas) == (d.spec.replicas,) * 3, (
                d.metadata.name,
                st_,
            )
    nodes = [n for n in list_objects(state, Kind.NODE) if isinstance(n, Node)]
    for ds in list_objects(state, Kind.DAEMON_SET):
        assert isinstance(ds, DaemonSet)
        if ds.metadata.deletion_timestamp is not None:
            continue
        eligible = sorted(n.metadata.name for n in nodes if du.node_should_run(n, ds)[0])
        mine = by_owner.get(ds.metadata.uid, [])
        assert sorted(p.spec.node_name for p in mine) == eligible, (ds.metadata.name, eligible, mine)
        assert all(p.status.phase is PodPhase.RUNNING for p in mine), ds.metadata.name
    for j in list_objects(state, Kind.JOB):
        assert isinstance(j, Job)
        created = j.metadata.creation_timestamp or c.now
        if j.metadata.deletion_timestamp is None and created <= c.now - QUIET:
            assert finished(j) is not None, (j.metadata.name, j.status)
            assert j.status.succeeded <= (j.spec.completions or 1), j.metadata.name
    for sts in list_objects(state, Kind.STATEFUL_SET):
        assert isinstance(sts, StatefulSet)
        if sts.metadata.deletion_timestamp is not None:
            continue
        mine = by_owner.get(sts.metadata.uid, [])
        name = sts.metadata.name
        assert sorted(p.metadata.name for p in mine) == sorted(f"{name}-{i}" for i in range(sts.spec.replicas)), name
        assert all(p.status.phase is PodPhase.RUNNING and ready(p) for p in mine), name
    check_no_dangling(state_objects(c, OWNED_KINDS), c)
    namespaces = {n.metadata.name for n in list_objects(state, Kind.NAMESPACE)}
    for kind in sorted(WORKLOAD_KINDS, key=lambda k: k.value):
        for o in list_objects(state, kind):
            assert o.metadata.namespace in namespaces, ("outlived its namespace", _key(o))


def state_objects(c: Cluster, kinds: Iterable[Kind]) -> list[ApiObject]:
    return [o for kind in kinds for o in list_objects(c.state, kind)]


def check_no_dangling(objs: list[ApiObject], c: Cluster) -> None:
    uids: dict[str, ObjectKey] = {}
    for kind in (Kind.REPLICA_SET, Kind.REPLICATION_CONTROLLER, Kind.DAEMON_SET, Kind.JOB, Kind.CRON_JOB, Kind.DEPLOYMENT, Kind.STATEFUL_SET, Kind.NODE):
        for o in list_objects(c.state, kind):
            uids[o.metadata.uid] = _key(o)
    for o in objs:
        for ref in o.metadata.owner_references:
            owner = uids.get(ref.uid)
            assert owner is not None and owner.name == ref.name, ("dangling owner", _key(o), ref.kind, ref.name)


def check_quiet(c: Cluster, start: int) -> None:
    """No control plane write to a workload object or pod since trace index `start`
    (heartbeats, leases, node status and metrics are free), CronJob runs aside."""
    trace = c.trace
    first = start - c.snapshot().trace_dropped
    writes = []
    for entry in trace[max(first, 0) :]:
        if not isinstance(entry, Performed) or entry.component == CLIENT or entry.component.startswith("kubelet/"):
            continue
        eff = entry.effect
        if not isinstance(eff, CallApi):
            continue
        req = eff.request
        target = getattr(req, "key", None) or (_key(req.obj) if hasattr(req, "obj") else None)
        if not isinstance(target, ObjectKey) or target.kind not in WORKLOAD_KINDS:
            continue
        name = target.name or getattr(getattr(req, "obj", None), "metadata", ObjectMeta()).generate_name
        if name.startswith("cron-"):
            continue
        if type(req).__name__ in ("Get", "ListObjects", "GetScale"):
            continue
        writes.append((entry.component, type(req).__name__, target))
    assert not writes, ("writes at a fixed point", writes[:5])


WholeCluster.TestCase.settings = settings(stateful_step_count=15)
test_whole_cluster = WholeCluster.TestCase


# --- determinism --------------------------------------------------------------------------

Program = tuple[tuple[str, dict[str, object]], ...]

PROGRAM: Final[Program] = (
    ("create_replica_set", {"ns": "default", "replicas": 2}),
    ("create_daemon_set", {"ns": "team", "only_node": ""}),
    ("create_job", {"ns": "default", "completions": 3, "parallelism": 2, "fail": False, "backoff": 1}),
    ("create_job", {"ns": "team", "completions": 1, "parallelism": 1, "fail": True, "backoff": 1}),
    ("create_cron_job", {"ns": "default"}),
    ("create_deployment", {"ns": "default", "replicas": 2}),
    ("create_stateful_set", {"ns": "team", "replicas": 2, "parallel": False}),
    ("advance", {"seconds": 30.0}),
    ("crash_node", {"node": "node-2"}),
    ("kill_container", {"i": 3, "oom": True}),
    ("partition_node", {"node": "node-3"}),
    ("pause_component", {"name": "replicaset-controller"}),
    ("update_template", {"key": ObjectKey(kind=Kind.DEPLOYMENT, namespace="default", name="deploy-6")}),
    ("scale", {"key": ObjectKey(kind=Kind.REPLICA_SET, namespace="default", name="rs-1"), "replicas": 3}),
    ("advance", {"seconds": 120.0}),
    ("crash_component", {"name": "job-controller"}),
    ("delete_workload", {"key": ObjectKey(kind=Kind.DAEMON_SET, namespace="team", name="ds-2"), "propagation": PropagationPolicy.FOREGROUND}),
    ("delete_namespace", {"ns": "team"}),
    ("advance", {"seconds": 400.0}),
    ("converge", {}),
)


def run_program(seed: int, program: Program) -> Cluster:
    """The machine's rules called in order (as a shrunk Hypothesis program would)."""
    m = WholeCluster()
    m.boot(seed)
    for name, kwargs in program:
        getattr(m, name)(**kwargs)
        m.safety()
    return m.c


def fingerprint(c: Cluster) -> tuple[object, ...]:
    objects = [to_dict(o) for kind in sorted(Kind, key=lambda k: k.value) for o in list_objects(c.state, kind)]
    steps = [
        (type(e).__name__, e.at, getattr(e, "component", ""), type(getattr(e, "event", getattr(e, "effect", e))).__name__)
        for e in c.trace
    ]
    return (c.now, c.state.revision, objects, steps)


def test_one_seed_and_one_program_give_one_state_and_one_trace() -> None:
    first = run_program(1, PROGRAM)
    assert fingerprint(first) == fingerprint(run_program(1, PROGRAM))
    assert list_objects(first.state, Kind.DEPLOYMENT), "the program exercised a Deployment"
