"""The Deployment controller: rollouts, scaling, rollback, pause, status, through the driver.

Each test runs the controller alone in a cluster (no ReplicaSet controller, no kubelet):
the ReplicaSets' status (replicas, readyReplicas, availableReplicas, observedGeneration)
is what the test writes through the status subresource, as the ReplicaSet controller
would, so every step of a rollout is scripted. Assertions compare the exact ReplicaSet
sizes and the exact ScalingReplicaSet events after each step.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import pytest
from pyrsistent import pmap

from kcore.api.apps import (
    Deployment,
    DeploymentCondition,
    DeploymentConditionType,
    DeploymentStrategy,
    DeploymentStrategyType,
    ReplicaSet,
    ReplicaSetStatus,
    RollingUpdateDeployment,
)
from kcore.api.defaults import apply_defaults
from kcore.api.kinds import Kind
from kcore.api.meta import ApiObject, ConditionStatus, Status, Time
from kcore.api.pod import Pod, PodPhase, PodTemplateSpec
from kcore.component.effects import CallApi, EventType, RecordEvent, WakeMeAt
from kcore.component.events import WatchDelivered
from kcore.component.requests import Create, Delete, Patch, Subresource, Update
from kcore.controllers import deployment_util as du
from kcore.controllers.deployment import (
    NAME,
    DeploymentController,
    RoundWrite,
    plan_sync,
    resolve_fenceposts,
)
from kcore.controllers.deployment_rollout import Plan, Purpose
from kcore.controllers.replicaset import ReplicaSetController
from kcore.driver.bootstrap import create_cluster
from kcore.driver.cluster import Cluster
from kcore.driver.faults import CrashComponent
from kcore.driver.snapshot import Performed
from kcore.intstr import IntOrStringError
from kcore.kubectl.rollback import rollback_request
from kcore.state import ClusterConfig, get, list_objects
from tests.builders import a_container, a_deployment, a_pod, a_replica_set, key, owner_ref
from tests.rig import Rig

WEB = key(Kind.DEPLOYMENT, "web")


# --- harness --------------------------------------------------------------------------------


def cluster(*extra: ReplicaSetController) -> Cluster:
    base = create_cluster(ClusterConfig(seed=7), nodes=1)
    return Cluster(base.snapshot(), [DeploymentController(), *extra])


def deployment(
    replicas: int = 3,
    *,
    image: str = "nginx:1.27",
    surge: int | str = "25%",
    unavailable: int | str = "25%",
    recreate: bool = False,
    deadline: int = 600,
    history: int = 10,
    paused: bool = False,
) -> Deployment:
    d = a_deployment("web", replicas=replicas, containers=[a_container("nginx", image=image)])
    strategy = (
        DeploymentStrategy(type=DeploymentStrategyType.RECREATE)
        if recreate
        else DeploymentStrategy(rolling_update=RollingUpdateDeployment(max_surge=surge, max_unavailable=unavailable))
    )
    spec = attrs.evolve(
        d.spec, strategy=strategy, progress_deadline_seconds=deadline, revision_history_limit=history, paused=paused
    )
    return attrs.evolve(d, spec=spec)


def make(c: Cluster, obj: ApiObject) -> None:
    resp = c.request(Create(obj=obj))
    assert resp.ok, resp.body
    c.run_until_stable()


def the_deployment(c: Cluster) -> Deployment:
    d = get(c.state, WEB)
    assert isinstance(d, Deployment)
    return d


def change(c: Cluster, **spec_changes: Any) -> None:  # DeploymentSpec fields
    d = the_deployment(c)
    resp = c.request(Update(obj=attrs.evolve(d, spec=attrs.evolve(d.spec, **spec_changes))))
    assert resp.ok, resp.body
    c.run_until_stable()


def set_image(c: Cluster, image: str) -> None:
    d = the_deployment(c)
    template = d.spec.template
    containers = tuple(attrs.evolve(ct, image=image) for ct in template.spec.containers)
    change(c, template=attrs.evolve(template, spec=attrs.evolve(template.spec, containers=containers)))


def replica_sets(c: Cluster) -> dict[str, ReplicaSet]:
    return {rs.metadata.name: rs for rs in list_objects(c.state, Kind.REPLICA_SET, "default") if isinstance(rs, ReplicaSet)}


def sizes(c: Cluster) -> dict[str, int]:
    return {name: rs.spec.replicas for name, rs in replica_sets(c).items()}


def rs_named(c: Cluster, name: str) -> ReplicaSet:
    return replica_sets(c)[name]


def report(c: Cluster, name: str, *, available: int | None = None, replicas: int | None = None) -> None:
    """Write the status the ReplicaSet controller would: pods = spec, `available` of them up."""
    rs = rs_named(c, name)
    n = rs.spec.replicas if replicas is None else replicas
    a = n if available is None else available
    st = ReplicaSetStatus(
        replicas=n, fully_labeled_replicas=n, ready_replicas=a, available_replicas=a, observed_generation=rs.metadata.generation
    )
    resp = c.request(Update(obj=attrs.evolve(rs, status=st), subresource=Subresource.STATUS))
    assert resp.ok, resp.body
    c.run_until_stable()


def report_all(c: Cluster) -> None:
    for name in sorted(replica_sets(c)):
        report(c, name)


def events(c: Cluster) -> list[str]:
    return [
        e.effect.message
        for e in c.trace
        if isinstance(e, Performed) and e.component == NAME and isinstance(e.effect, RecordEvent)
    ]


def new_events(c: Cluster, before: int) -> list[str]:
    return events(c)[before:]


def condition(d: Deployment, kind: DeploymentConditionType) -> DeploymentCondition:
    found = du.get_condition(d.status, kind)
    assert found is not None
    return found


def defaulted(d: Deployment) -> Deployment:
    out = apply_defaults(d)
    assert isinstance(out, Deployment)
    return out


def name_for(template: PodTemplateSpec, collisions: int | None = None) -> str:
    return f"web-{du.compute_hash(template, collisions)}"


# --- creation and status --------------------------------------------------------------------


def test_a_new_deployment_gets_a_replica_set_named_by_its_template_hash() -> None:
    c = cluster()
    make(c, deployment(3))
    d = the_deployment(c)
    h = du.compute_hash(d.spec.template, None)
    assert sizes(c) == {f"web-{h}": 3}
    rs = rs_named(c, f"web-{h}")
    assert dict(rs.metadata.labels) == {"app": "web", "pod-template-hash": h}
    assert dict(rs.spec.selector.match_labels) == {"app": "web", "pod-template-hash": h}
    assert dict(rs.spec.template.metadata.labels) == {"app": "web", "pod-template-hash": h}
    assert dict(rs.metadata.annotations) == {
        du.REVISION_ANNOTATION: "1",
        du.DESIRED_REPLICAS_ANNOTATION: "3",
        du.MAX_REPLICAS_ANNOTATION: "4",
    }
    assert [(r.kind, r.name, r.uid, r.controller) for r in rs.metadata.owner_references] == [
        ("Deployment", "web", d.metadata.uid, True)
    ]
    assert d.metadata.annotations[du.REVISION_ANNOTATION] == "1"
    assert events(c) == [f"Scaled up replica set web-{h} from 0 to 3"]
    progressing = condition(d, DeploymentConditionType.PROGRESSING)
    assert (progressing.status, progressing.reason, progressing.message) == (
        ConditionStatus.TRUE,
        "NewReplicaSetCreated",
        f'Created new replica set "web-{h}"',
    )
    available = condition(d, DeploymentConditionType.AVAILABLE)
    assert (available.status, available.reason, available.message) == (
        ConditionStatus.FALSE,
        "MinimumReplicasUnavailable",
        "Deployment does not have minimum availability.",
    )


def test_status_follows_the_replica_sets_and_completes_the_rollout() -> None:
    c = cluster()
    make(c, deployment(3))
    report_all(c)
    d = the_deployment(c)
    st = d.status
    assert (st.replicas, st.updated_replicas, st.ready_replicas, st.available_replicas, st.unavailable_replicas) == (
        3,
        3,
        3,
        3,
        0,
    )
    assert st.observed_generation == d.metadata.generation
    (rs_name,) = sizes(c)
    available = condition(d, DeploymentConditionType.AVAILABLE)
    assert (available.status, available.reason, available.message) == (
        ConditionStatus.TRUE,
        "MinimumReplicasAvailable",
        "Deployment has minimum availability.",
    )
    progressing = condition(d, DeploymentConditionType.PROGRESSING)
    assert (progressing.status, progressing.reason, progressing.message) == (
        ConditionStatus.TRUE,
        "NewReplicaSetAvailable",
        f'ReplicaSet "{rs_name}" has successfully progressed.',
    )


def test_at_a_fixed_point_another_sync_plans_nothing() -> None:
    c = cluster()
    make(c, deployment(3))
    report_all(c)
    assert plan_sync(c.state, the_deployment(c), Time(c.now + 30)) == Plan()
    pending = c.pending()
    c.advance(30)
    assert c.pending() <= pending


def test_status_is_written_only_on_change() -> None:
    c = cluster()
    make(c, deployment(3))
    report_all(c)
    rv = the_deployment(c).metadata.resource_version
    rs_name = next(iter(sizes(c)))
    report(c, rs_name)  # the same status again: the apiserver keeps it, nothing to write
    assert the_deployment(c).metadata.resource_version == rv


# --- rolling update -------------------------------------------------------------------------


def test_rolling_update_first_steps_respect_surge_and_unavailable() -> None:
    c = cluster()
    make(c, deployment(10, surge=3, unavailable=2))
    report_all(c)
    (old,) = sizes(c)
    before = len(events(c))
    set_image(c, "nginx:1.28")
    new = name_for(the_deployment(c).spec.template)
    # one settle: surge to 13 pods, 2 old ones go (10 - 2 available), the freed room is surged
    assert sizes(c) == {old: 8, new: 5}
    assert new_events(c, before) == [
        f"Scaled up replica set {new} from 0 to 3",
        f"Scaled down replica set {old} from 10 to 8",
        f"Scaled up replica set {new} from 3 to 5",
    ]
    before = len(events(c))
    report(c, old)
    report(c, new, available=0)  # nothing new is available: nothing more may go
    assert sizes(c) == {old: 8, new: 5}
    assert new_events(c, before) == []
    report(c, new, available=3)  # 11 available: 3 old ones may go, and 3 more new surge
    assert sizes(c) == {old: 5, new: 8}
    assert new_events(c, before) == [
        f"Scaled down replica set {old} from 8 to 5",
        f"Scaled up replica set {new} from 5 to 8",
    ]


def test_rolling_update_stays_within_bounds_until_complete() -> None:
    c = cluster()
    make(c, deployment(10, surge=3, unavailable=2))
    report_all(c)
    set_image(c, "nginx:1.28")
    new = name_for(the_deployment(c).spec.template)
    ready: dict[str, int] = {name: rs.status.available_replicas for name, rs in replica_sets(c).items()}
    for _ in range(40):
        total = sum(sizes(c).values())
        assert total <= 13
        for name, rs in sorted(replica_sets(c).items()):
            up = min(ready.get(name, 0), rs.spec.replicas)
            if name == new:
                up = min(rs.spec.replicas, up + 2)  # two new pods become available per step
            ready[name] = up
            report(c, name, available=up)
            assert sum(ready.values()) >= 8
        d = the_deployment(c)
        if du.deployment_complete(d, d.status):
            break
    d = the_deployment(c)
    assert du.deployment_complete(d, d.status)
    assert {n: s for n, s in sizes(c).items() if s} == {new: 10}
    assert condition(d, DeploymentConditionType.PROGRESSING).reason == "NewReplicaSetAvailable"
    assert d.metadata.annotations[du.REVISION_ANNOTATION] == "2"
    assert rs_named(c, new).metadata.annotations[du.REVISION_ANNOTATION] == "2"


# --- recreate -------------------------------------------------------------------------------


def test_recreate_scales_old_down_waits_for_its_pods_then_scales_new_up() -> None:
    c = cluster()
    make(c, deployment(3, recreate=True))
    report_all(c)
    (old,) = sizes(c)
    pod = a_pod("web-old-1", labels={"app": "web"}, owners=[owner_ref(rs_named(c, old))])
    make(c, pod)
    before = len(events(c))
    set_image(c, "nginx:1.28")
    assert sizes(c) == {old: 0}
    assert new_events(c, before) == [f"Scaled down replica set {old} from 3 to 0"]
    report(c, old)  # its status reaches 0 pods, but one pod is still there
    assert sizes(c) == {old: 0}
    assert c.request(Delete(key=key(Kind.POD, "web-old-1"), grace_period_seconds=0)).ok
    c.run_until_stable()
    new = name_for(the_deployment(c).spec.template)
    assert sizes(c) == {old: 0, new: 3}
    assert new_events(c, before)[1:] == [f"Scaled up replica set {new} from 0 to 3"]


def test_recreate_ignores_terminal_pods_of_old_replica_sets() -> None:
    c = cluster()
    make(c, deployment(2, recreate=True))
    report_all(c)
    (old,) = sizes(c)
    pod = a_pod("web-done", labels={"app": "web"}, owners=[owner_ref(rs_named(c, old))])
    make(c, pod)
    stored = get(c.state, key(Kind.POD, "web-done"))
    assert isinstance(stored, Pod)
    done = attrs.evolve(stored, status=attrs.evolve(stored.status, phase=PodPhase.SUCCEEDED))
    assert c.request(Update(obj=done, subresource=Subresource.STATUS)).ok
    set_image(c, "nginx:1.28")
    report(c, old)
    assert sizes(c) == {old: 0, name_for(the_deployment(c).spec.template): 2}


# --- rollback -------------------------------------------------------------------------------


def rolled_twice(c: Cluster) -> tuple[str, str]:
    make(c, deployment(3))
    report_all(c)
    (first,) = sizes(c)
    set_image(c, "nginx:1.28")
    for _ in range(6):
        report_all(c)
    second = name_for(the_deployment(c).spec.template)
    assert sizes(c) == {first: 0, second: 3}
    return first, second


def test_rollback_to_revision_1_restores_its_template_and_bumps_its_revision() -> None:
    c = cluster()
    first, second = rolled_twice(c)
    req = rollback_request(c.state, WEB, 1)
    assert isinstance(req, Patch)
    assert c.request(req).ok
    c.run_until_stable()
    d = the_deployment(c)
    assert du.equal_ignore_hash(d.spec.template, rs_named(c, first).spec.template)
    assert "pod-template-hash" not in d.spec.template.metadata.labels
    for _ in range(6):
        report_all(c)
    assert sizes(c) == {first: 3, second: 0}
    back = rs_named(c, first).metadata.annotations
    assert (back[du.REVISION_ANNOTATION], back[du.REVISION_HISTORY_ANNOTATION]) == ("3", "1")
    assert the_deployment(c).metadata.annotations[du.REVISION_ANNOTATION] == "3"


def test_rollback_without_revision_goes_to_the_previous_one() -> None:
    c = cluster()
    first, _ = rolled_twice(c)
    req = rollback_request(c.state, WEB)
    assert isinstance(req, Patch)
    assert c.request(req).ok
    c.run_until_stable()
    assert du.equal_ignore_hash(the_deployment(c).spec.template, rs_named(c, first).spec.template)


def test_rollback_refusals_are_statuses_as_kubectl_says_them() -> None:
    c = cluster()
    rolled_twice(c)
    missing = rollback_request(c.state, WEB, 7)
    assert isinstance(missing, Status) and missing.message == "unable to find specified revision 7 in history"
    same = rollback_request(c.state, WEB, 2)
    assert isinstance(same, Status)
    assert (same.status, same.message) == ("Success", "skipped rollback (current template already matches revision 2)")
    gone = rollback_request(c.state, key(Kind.DEPLOYMENT, "nope"), 1)
    assert isinstance(gone, Status) and gone.code == 404
    change(c, paused=True)
    paused = rollback_request(c.state, WEB, 1)
    assert isinstance(paused, Status) and paused.message.startswith("you cannot rollback a paused deployment")


def test_the_rollback_annotation_rolls_back_and_records_deployment_rollback() -> None:
    c = cluster()
    first, _ = rolled_twice(c)
    d = the_deployment(c)
    meta = attrs.evolve(d.metadata, annotations=d.metadata.annotations.set(du.ROLLBACK_TO_ANNOTATION, "1"))
    assert c.request(Update(obj=attrs.evolve(d, metadata=meta))).ok
    c.run_until_stable()
    d = the_deployment(c)
    assert du.ROLLBACK_TO_ANNOTATION not in d.metadata.annotations
    assert du.equal_ignore_hash(d.spec.template, rs_named(c, first).spec.template)
    assert 'Rolled back deployment "web" to revision 1' in events(c)


# --- pause, scaling -------------------------------------------------------------------------


def test_a_paused_deployment_makes_no_rollout_progress_until_resumed() -> None:
    c = cluster()
    make(c, deployment(3))
    report_all(c)
    (old,) = sizes(c)
    change(c, paused=True)
    set_image(c, "nginx:1.28")
    assert sizes(c) == {old: 3}
    progressing = condition(the_deployment(c), DeploymentConditionType.PROGRESSING)
    assert (progressing.status, progressing.reason, progressing.message) == (
        ConditionStatus.UNKNOWN,
        "DeploymentPaused",
        "Deployment is paused",
    )
    change(c, replicas=5)  # scaling still works while paused
    assert sizes(c) == {old: 5}
    change(c, paused=False)
    new = name_for(the_deployment(c).spec.template)
    assert set(sizes(c)) == {old, new}
    assert sizes(c)[new] > 0


def test_scaling_mid_rollout_is_proportional_as_in_the_upstream_docs() -> None:
    c = cluster()
    make(c, deployment(10, surge=3, unavailable=2))
    report_all(c)
    (old,) = sizes(c)
    set_image(c, "nginx:does-not-exist")
    new = name_for(the_deployment(c).spec.template)
    report(c, old)
    report(c, new, available=0)
    assert sizes(c) == {old: 8, new: 5}
    before = len(events(c))
    change(c, replicas=15)
    assert sizes(c) == {old: 11, new: 7}
    assert new_events(c, before) == [
        f"Scaled up replica set {old} from 8 to 11",
        f"Scaled up replica set {new} from 5 to 7",
    ]


def test_scaling_a_settled_deployment_scales_its_only_replica_set() -> None:
    c = cluster()
    make(c, deployment(3))
    report_all(c)
    (only,) = sizes(c)
    change(c, replicas=1)
    assert sizes(c) == {only: 1}
    assert events(c)[-1] == f"Scaled down replica set {only} from 3 to 1"
    assert rs_named(c, only).metadata.annotations[du.DESIRED_REPLICAS_ANNOTATION] == "1"


# --- progress deadline, history, ownership, collisions --------------------------------------


def test_progress_deadline_exceeded_after_the_deadline_in_simulated_time() -> None:
    c = cluster()
    make(c, deployment(3, deadline=60))
    (rs,) = sizes(c)
    report(c, rs, available=0)
    c.advance(59)
    assert condition(the_deployment(c), DeploymentConditionType.PROGRESSING).status is ConditionStatus.TRUE
    c.advance(3)
    progressing = condition(the_deployment(c), DeploymentConditionType.PROGRESSING)
    assert (progressing.status, progressing.reason, progressing.message) == (
        ConditionStatus.FALSE,
        "ProgressDeadlineExceeded",
        f'ReplicaSet "{rs}" has timed out progressing.',
    )


def test_revision_history_limit_deletes_the_oldest_idle_replica_sets() -> None:
    c = cluster()
    make(c, deployment(2, history=1))
    report_all(c)
    names = list(sizes(c))
    for image in ("nginx:1.28", "nginx:1.29"):
        set_image(c, image)
        for _ in range(6):
            report_all(c)
        names.append(name_for(the_deployment(c).spec.template))
    assert sizes(c) == {names[1]: 0, names[2]: 2}


def test_an_orphan_replica_set_with_the_same_template_is_adopted_not_duplicated() -> None:
    c = cluster()
    d = deployment(2)
    orphan = a_replica_set("web-orphan", replicas=2, labels={"app": "web"})
    orphan = attrs.evolve(orphan, spec=attrs.evolve(orphan.spec, template=d.spec.template))
    make(c, orphan)
    make(c, d)
    assert sizes(c) == {"web-orphan": 2}
    rs = rs_named(c, "web-orphan")
    assert [r.uid for r in rs.metadata.owner_references] == [the_deployment(c).metadata.uid]
    assert rs.metadata.annotations[du.REVISION_ANNOTATION] == "1"


def test_a_hash_collision_bumps_collision_count_and_uses_the_next_name() -> None:
    c = cluster()
    d = deployment(2)
    template = defaulted(d).spec.template  # what the apiserver stores, and the controller hashes
    squatter = a_replica_set(name_for(template), replicas=0, labels={"app": "other"})
    make(c, squatter)
    make(c, d)
    assert the_deployment(c).status.collision_count == 1
    assert sizes(c) == {name_for(template): 0, name_for(template, 1): 2}


def test_with_the_replicaset_controller_pods_carry_the_template_hash() -> None:
    c = cluster(ReplicaSetController())
    make(c, deployment(3))
    (rs,) = sizes(c)
    pods = [p for p in list_objects(c.state, Kind.POD, "default") if isinstance(p, Pod)]
    assert len(pods) == 3
    assert {p.metadata.labels["pod-template-hash"] for p in pods} == {rs.removeprefix("web-")}
    assert the_deployment(c).status.replicas == 3


# --- pure helpers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("surge", "unavailable", "desired", "expected"),
    [
        ("0%", "0%", 0, (0, 1)),
        ("39%", "39%", 10, (4, 3)),
        (None, "39%", 10, (0, 3)),
        ("39%", None, 10, (4, 0)),
        (None, None, 10, (0, 1)),
        (3, 2, 10, (3, 2)),
        ("25%", "25%", 1, (1, 0)),
    ],
)
def test_resolve_fenceposts_as_upstream(
    surge: int | str | None, unavailable: int | str | None, desired: int, expected: tuple[int, int]
) -> None:
    assert resolve_fenceposts(surge, unavailable, desired) == expected


@pytest.mark.parametrize(("surge", "unavailable"), [("oops", "39%"), ("55%", "urg")])
def test_resolve_fenceposts_rejects_non_percentages(surge: str, unavailable: str) -> None:
    with pytest.raises(IntOrStringError):
        resolve_fenceposts(surge, unavailable, 10)


def test_safe_encode_string_maps_digits_onto_consonants_and_digits() -> None:
    assert du.safe_encode_string("0123456789") == "456789bcdf"


def test_compute_hash_changes_with_the_template_and_the_collision_count() -> None:
    a = deployment(3).spec.template
    b = deployment(3, image="nginx:1.28").spec.template
    assert du.compute_hash(a, None) == du.compute_hash(a, None)
    assert len({du.compute_hash(a, None), du.compute_hash(b, None), du.compute_hash(a, 1), du.compute_hash(a, 0)}) == 4


def test_equal_ignore_hash_ignores_only_the_hash_label() -> None:
    t = deployment(3).spec.template
    labelled = attrs.evolve(t, metadata=attrs.evolve(t.metadata, labels=t.metadata.labels.set("pod-template-hash", "x")))
    other = attrs.evolve(t, metadata=attrs.evolve(t.metadata, labels=pmap({"app": "other"})))
    assert du.equal_ignore_hash(t, labelled)
    assert not du.equal_ignore_hash(t, other)


def _rs(name: str, replicas: int, annotations: Mapping[str, str], created: float) -> ReplicaSet:
    rs = a_replica_set(name, replicas=replicas)
    meta = attrs.evolve(rs.metadata, annotations=pmap(annotations), creation_timestamp=Time(created))
    return attrs.evolve(rs, metadata=meta)


def test_get_proportion_splits_by_the_max_replicas_annotation() -> None:
    d = deployment(15, surge=3, unavailable=2)
    old = _rs("old", 8, {du.MAX_REPLICAS_ANNOTATION: "13"}, 1.0)
    new = _rs("new", 5, {du.MAX_REPLICAS_ANNOTATION: "13"}, 2.0)
    assert du.get_proportion(old, d, 5, 0) == 3
    assert du.get_proportion(new, d, 5, 3) == 2
    assert du.get_proportion(new, d, 5, 5) == 0


def test_last_revision_is_the_second_highest() -> None:
    rss = [_rs(f"r{i}", 0, {du.REVISION_ANNOTATION: str(v)}, float(i)) for i, v in enumerate((3, 7, 5))]
    assert du.last_revision(rss) == 5
    assert du.max_revision(rss) == 7



# --- restarts and stale views ---------------------------------------------------------------


def test_a_restarted_controller_relists_and_finishes_the_rollout() -> None:
    c = cluster()
    make(c, deployment(4, surge=1, unavailable=1))
    report_all(c)
    set_image(c, "nginx:1.28")
    c.inject(CrashComponent(name=NAME))
    c.run_until_stable()
    for _ in range(10):
        report_all(c)
    new = name_for(the_deployment(c).spec.template)
    assert {n: s for n, s in sizes(c).items() if s} == {new: 4}
    d = the_deployment(c)
    assert du.deployment_complete(d, d.status)


def test_a_stale_view_conflicts_backs_off_and_the_next_watch_event_retries() -> None:
    c = cluster()
    make(c, deployment(3))
    report_all(c)
    (only,) = sizes(c)
    rs_key = key(Kind.REPLICA_SET, only)
    now = c.now
    rig = Rig(DeploymentController(), state=c.state, now=now)
    assert rig.start() == ()  # a fixed point
    d = the_deployment(c)
    assert rig.request(Update(obj=attrs.evolve(d, spec=attrs.evolve(d.spec, replicas=5)))).ok
    scaled = rig.deliver_watches()
    rs = rs_named(c, only)
    relabelled = attrs.evolve(rs, metadata=attrs.evolve(rs.metadata, labels=rs.metadata.labels.set("team", "a")))
    assert rig.request(Update(obj=relabelled)).ok  # not yet seen by the controller
    scale_rs, write_status = scaled  # the scale and the deployment's status (observedGeneration)
    assert isinstance(scale_rs, CallApi) and isinstance(scale_rs.request, Update)
    assert isinstance(write_status, CallApi) and isinstance(write_status.request, Update)
    assert scale_rs.request.obj.metadata.resource_version == rs.metadata.resource_version
    scaled_up = RecordEvent(
        involved=WEB, type=EventType.NORMAL, reason="ScalingReplicaSet", message=f"Scaled up replica set {only} from 3 to 5"
    )
    assert scale_rs.tag == RoundWrite(deployment=WEB, purpose=Purpose.UPDATE_RS, rs_name=only, events=(scaled_up,))
    assert write_status.tag == RoundWrite(deployment=WEB, purpose=Purpose.STATUS)
    conflict = rig.perform(scale_rs)
    assert conflict.response.code == 409
    assert rig.step(conflict) == ()  # the round still has a write out
    assert rig.answer(write_status) == (WakeMeAt(at=Time(now + 0.005), key=WEB, in_motion=True),)  # a first failure
    relabel = rig.inbox.pop(0)  # the newer object: retry at once (the status write's event waits)
    (call,) = rig.step(WatchDelivered(event=relabel, now=now))
    assert isinstance(call, CallApi) and isinstance(call.request, Update)
    retried = call.request.obj
    assert isinstance(retried, ReplicaSet) and retried.metadata.resource_version > rs.metadata.resource_version
    assert rig.perform(call).response.ok
    stored = rig.get(rs_key, ReplicaSet)
    assert (stored.spec.replicas, stored.metadata.labels.get("team")) == (5, "a")
