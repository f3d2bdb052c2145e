"""The Deployment controller on the driver's shared informer view, with its `wants`
filter: of the pod events only those that can end a Recreate's wait are delivered
(upstream's deletePod, plus a pod turning terminal), and a Recreate rollout still waits
for the old pods and then proceeds under the real driver."""

from __future__ import annotations

import attrs

from kcore.api.apps import Deployment
from kcore.api.kinds import Kind
from kcore.api.meta import ApiObject, OwnerReference
from kcore.api.pod import Pod, PodPhase, PodStatus
from kcore.api.watch import WatchEvent, WatchType
from kcore.component.events import WatchDelivered
from kcore.component.requests import Delete
from kcore.controllers.deployment import DeploymentController
from kcore.driver.snapshot import Delivered
from kcore.state import get
from tests.builders import a_deployment, a_pod, a_replica_set, key, owner_ref
from tests.test_deployment_controller import (
    cluster,
    deployment,
    make,
    report,
    report_all,
    rs_named,
    set_image,
    sizes,
)

DC = DeploymentController()


def rs_ref() -> OwnerReference:
    return OwnerReference(api_version="apps/v1", kind="ReplicaSet", name="web-1", uid="uid-web-1", controller=True)


def pod_of_rs(phase: PodPhase = PodPhase.RUNNING) -> Pod:
    pod = a_pod("web-1-a", labels={"app": "web"})
    pod = attrs.evolve(pod, metadata=attrs.evolve(pod.metadata, owner_references=(rs_ref(),)))
    return attrs.evolve(pod, status=PodStatus(phase=phase))


def ev(obj: ApiObject, type: WatchType = WatchType.MODIFIED) -> WatchEvent:
    return WatchEvent(type=type, obj=obj, resource_version=3)


def test_pods_of_replica_sets_that_are_added_or_change_while_alive_are_dropped() -> None:
    for phase in (PodPhase.PENDING, PodPhase.RUNNING, PodPhase.UNKNOWN):
        assert not DC.wants(ev(pod_of_rs(phase), WatchType.ADDED))
        assert not DC.wants(ev(pod_of_rs(phase), WatchType.MODIFIED))


def test_a_deleted_or_terminal_pod_of_a_replica_set_is_taken() -> None:
    assert DC.wants(ev(pod_of_rs(), WatchType.DELETED))
    assert DC.wants(ev(pod_of_rs(PodPhase.SUCCEEDED)))
    assert DC.wants(ev(pod_of_rs(PodPhase.FAILED)))


def test_with_the_old_object_only_the_write_that_turns_a_pod_terminal_is_taken() -> None:
    running, done = pod_of_rs(), pod_of_rs(PodPhase.SUCCEEDED)
    assert DC.wants(ev(done), running)  # turned terminal: may end the wait
    assert DC.wants(ev(done), None)  # old unknown
    assert not DC.wants(ev(pod_of_rs(PodPhase.FAILED)), done)  # already terminal
    assert not DC.wants(ev(attrs.evolve(done, status=PodStatus(phase=PodPhase.SUCCEEDED, message="x"))), done)
    other = OwnerReference(api_version="apps/v1", kind="ReplicaSet", name="web-2", uid="uid-web-2", controller=True)
    moved = attrs.evolve(done, metadata=attrs.evolve(done.metadata, owner_references=(other,)))
    assert DC.wants(ev(moved), done)  # now counted for another ReplicaSet
    assert DC.wants(ev(done, WatchType.DELETED), done)
    assert not DC.wants(ev(running), pod_of_rs(PodPhase.PENDING))


def test_orphan_pods_and_pods_of_other_kinds_are_dropped_even_when_deleted() -> None:
    orphan = a_pod("stray", labels={"app": "web"})
    foreign = attrs.evolve(
        orphan,
        metadata=attrs.evolve(
            orphan.metadata,
            owner_references=(OwnerReference(api_version="apps/v1", kind="StatefulSet", name="db", uid="u", controller=True),),
        ),
    )
    for t in (WatchType.ADDED, WatchType.MODIFIED, WatchType.DELETED):
        assert not DC.wants(ev(orphan, t))
        assert not DC.wants(ev(foreign, t))


def test_every_deployment_and_replica_set_event_is_taken() -> None:
    for t in (WatchType.ADDED, WatchType.MODIFIED, WatchType.DELETED):
        assert DC.wants(ev(a_deployment("web"), t))
        assert DC.wants(ev(a_replica_set("web-1"), t))


def test_with_the_real_driver_recreate_waits_for_the_old_pod_then_scales_the_new_set_up() -> None:
    c = cluster()
    make(c, deployment(2, recreate=True))
    report_all(c)
    (old,) = sizes(c)
    make(c, a_pod("web-old-1", labels={"app": "web"}, owners=[owner_ref(rs_named(c, old))]))
    set_image(c, "nginx:1.28")
    report(c, old)
    assert sizes(c) == {old: 0}  # one pod of the old set still runs
    assert c.request(Delete(key=key(Kind.POD, "web-old-1"), grace_period_seconds=0)).ok
    c.run_until_stable()
    d = get(c.state, key(Kind.DEPLOYMENT, "web"))
    assert isinstance(d, Deployment)
    new = [n for n in sizes(c) if n != old]
    assert len(new) == 1 and sizes(c) == {old: 0, new[0]: 2}
    pod_events = [
        e.event.event
        for e in c.trace
        if isinstance(e, Delivered)
        and e.component == DC.name
        and isinstance(e.event, WatchDelivered)
        and e.event.event.obj.KIND is Kind.POD
    ]
    assert [(e.type, e.obj.metadata.name) for e in pod_events] == [(WatchType.DELETED, "web-old-1")]
