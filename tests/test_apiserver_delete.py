"""The apiserver's delete: preconditions, graceful pod deletion, finalizers, propagation."""

from __future__ import annotations

import attrs

from kcore.api.core import Namespace, NamespacePhase
from kcore.api.kinds import Kind
from kcore.api.meta import ApiObject, Time
from kcore.api.pod import Pod, PodPhase
from kcore.api.watch import WatchEvent, WatchType
from kcore.apiserver import errors, handle
from kcore.component.requests import Delete, PropagationPolicy, Response, Subresource, Update
from kcore.state import ClusterState, get
from tests.builders import T0, a_config_map, a_deployment, a_pod, cluster_with, key, with_meta

NOW = Time(T0 + 10)
POD = key(Kind.POD, "web")


def _stored(state: ClusterState, k: object = POD) -> ApiObject:
    assert k is POD or hasattr(k, "kind")
    obj = get(state, k)  # type: ignore[arg-type]
    assert obj is not None
    return obj



def test_deleting_an_unbound_pod_removes_it_at_once() -> None:
    s0 = cluster_with(a_pod())
    old = _stored(s0)
    s1, response, events = handle(s0, Delete(key=POD), NOW)
    rev = s0.revision + 1
    # As upstream's graceless pod delete: the last state carries the deletion stamps.
    final = with_meta(
        old, resource_version=rev, deletion_timestamp=NOW, deletion_grace_period_seconds=0, generation=2
    )
    assert response == Response(code=200, body=errors.success(Kind.POD, "web", old.metadata.uid))
    assert events == (WatchEvent(type=WatchType.DELETED, obj=final, resource_version=rev),)
    assert get(s1, POD) is None
    assert s1.revision == rev


def test_deleting_a_missing_object_is_not_found() -> None:
    s0 = cluster_with()
    s1, response, events = handle(s0, Delete(key=POD), NOW)
    assert response == Response(code=404, body=errors.not_found(POD))
    assert (s1, events) == (s0, ())


def test_deleting_a_bound_pod_starts_its_grace_period() -> None:
    s0 = cluster_with(a_pod(node_name="node-1", grace=30))
    old = _stored(s0)
    s1, response, events = handle(s0, Delete(key=POD), NOW)
    rev = s0.revision + 1
    expected = with_meta(
        old,
        deletion_timestamp=Time(NOW + 30),
        deletion_grace_period_seconds=30,
        generation=2,
        resource_version=rev,
    )
    assert response == Response(code=200, body=expected)
    assert events == (WatchEvent(type=WatchType.MODIFIED, obj=expected, resource_version=rev),)
    assert _stored(s1) == expected


def test_the_grace_period_of_the_request_overrides_the_pods() -> None:
    s0 = cluster_with(a_pod(node_name="node-1", grace=30))
    s1, _, _ = handle(s0, Delete(key=POD, grace_period_seconds=5), NOW)
    m = _stored(s1).metadata
    assert (m.deletion_timestamp, m.deletion_grace_period_seconds) == (Time(NOW + 5), 5)


def test_a_bound_pod_deleted_with_grace_zero_is_gone_at_once() -> None:
    s0 = cluster_with(a_pod(node_name="node-1"))
    s1, response, events = handle(s0, Delete(key=POD, grace_period_seconds=0), NOW)
    assert response.code == 200 and [e.type for e in events] == [WatchType.DELETED]
    assert get(s1, POD) is None


def test_a_finished_pod_is_deleted_at_once() -> None:
    s0 = cluster_with(a_pod(node_name="node-1"))
    pod = _stored(s0)
    assert isinstance(pod, Pod)
    done = attrs.evolve(pod, status=attrs.evolve(pod.status, phase=PodPhase.SUCCEEDED))
    s1, _, _ = handle(s0, Update(obj=done, subresource=Subresource.STATUS), NOW)
    s2, _, events = handle(s1, Delete(key=POD), NOW)
    assert [e.type for e in events] == [WatchType.DELETED]
    assert get(s2, POD) is None


def test_a_second_delete_may_only_shorten_the_grace_period() -> None:
    s0 = cluster_with(a_pod(node_name="node-1", grace=30))
    s1, _, _ = handle(s0, Delete(key=POD), NOW)
    s2, longer, events = handle(s1, Delete(key=POD, grace_period_seconds=60), Time(NOW + 1))
    assert longer == Response(code=200, body=_stored(s1))
    assert (s2, events) == (s1, ())
    s3, shorter, events = handle(s1, Delete(key=POD, grace_period_seconds=10), Time(NOW + 1))
    m = _stored(s3).metadata
    assert (m.deletion_timestamp, m.deletion_grace_period_seconds) == (Time(NOW + 10), 10)
    assert shorter.code == 200 and [e.type for e in events] == [WatchType.MODIFIED]


def test_the_kubelets_grace_zero_delete_finishes_a_graceful_deletion() -> None:
    s0 = cluster_with(a_pod(node_name="node-1"))
    s1, _, _ = handle(s0, Delete(key=POD), NOW)
    s2, response, events = handle(s1, Delete(key=POD, grace_period_seconds=0), Time(NOW + 3))
    assert response.code == 200 and [e.type for e in events] == [WatchType.DELETED]
    assert get(s2, POD) is None


def test_a_uid_precondition_that_does_not_match_is_conflict() -> None:
    s0 = cluster_with(a_pod())
    uid = _stored(s0).metadata.uid
    s1, response, events = handle(s0, Delete(key=POD, precondition_uid="other"), NOW)
    why = f"Precondition failed: UID in precondition: other, UID in object meta: {uid}"
    assert response == Response(code=409, body=errors.conflict(POD, why))
    assert (s1, events) == (s0, ())


def test_a_resource_version_precondition_that_does_not_match_is_conflict() -> None:
    s0 = cluster_with(a_pod())
    rv = _stored(s0).metadata.resource_version
    _, response, _ = handle(s0, Delete(key=POD, precondition_resource_version=rv + 7), NOW)
    why = f"Precondition failed: ResourceVersion in precondition: {rv + 7}, ResourceVersion in object meta: {rv}"
    assert response == Response(code=409, body=errors.conflict(POD, why))
    _, ok, _ = handle(s0, Delete(key=POD, precondition_resource_version=rv), NOW)
    assert ok.code == 200


def test_an_object_with_finalizers_is_marked_and_kept() -> None:
    s0 = cluster_with(a_config_map("cfg"))
    cm = key(Kind.CONFIG_MAP, "cfg")
    s0, _, _ = handle(s0, Update(obj=with_meta(_stored(s0, cm), finalizers=("example.com/keep",))), NOW)
    old = _stored(s0, cm)
    _s1, response, events = handle(s0, Delete(key=cm), NOW)
    rev = s0.revision + 1
    expected = with_meta(old, deletion_timestamp=NOW, deletion_grace_period_seconds=0, resource_version=rev)
    assert response == Response(code=200, body=expected)
    assert events == (WatchEvent(type=WatchType.MODIFIED, obj=expected, resource_version=rev),)


def test_removing_the_last_finalizer_deletes_the_object() -> None:
    s0 = cluster_with(a_config_map("cfg"))
    cm = key(Kind.CONFIG_MAP, "cfg")
    s0, _, _ = handle(s0, Update(obj=with_meta(_stored(s0, cm), finalizers=("a", "b"))), NOW)
    s1, _, _ = handle(s0, Delete(key=cm), NOW)
    s2, r2, e2 = handle(s1, Update(obj=with_meta(_stored(s1, cm), finalizers=("b",))), NOW)
    assert r2.code == 200 and [e.type for e in e2] == [WatchType.MODIFIED]
    last = with_meta(_stored(s2, cm), finalizers=())
    s3, r3, e3 = handle(s2, Update(obj=last), NOW)
    rev = s2.revision + 1
    final = with_meta(last, resource_version=rev)
    assert r3 == Response(code=200, body=final)
    assert e3 == (WatchEvent(type=WatchType.DELETED, obj=final, resource_version=rev),)
    assert get(s3, cm) is None


def test_deleting_again_while_finalizers_are_pending_changes_nothing() -> None:
    s0 = cluster_with(a_config_map("cfg"))
    cm = key(Kind.CONFIG_MAP, "cfg")
    s0, _, _ = handle(s0, Update(obj=with_meta(_stored(s0, cm), finalizers=("a",))), NOW)
    s1, _, _ = handle(s0, Delete(key=cm), NOW)
    s2, response, events = handle(s1, Delete(key=cm), Time(NOW + 5))
    assert response == Response(code=200, body=_stored(s1, cm))
    assert (s2, events) == (s1, ())


def test_foreground_propagation_adds_the_foreground_finalizer() -> None:
    s0 = cluster_with(a_deployment())
    d = key(Kind.DEPLOYMENT, "web")
    s1, response, events = handle(s0, Delete(key=d, propagation=PropagationPolicy.FOREGROUND), NOW)
    m = _stored(s1, d).metadata
    assert (m.finalizers, m.deletion_timestamp, m.deletion_grace_period_seconds) == (
        ("foregroundDeletion",),
        NOW,
        0,
    )
    assert response.code == 200 and [e.type for e in events] == [WatchType.MODIFIED]


def test_orphan_propagation_adds_the_orphan_finalizer() -> None:
    s0 = cluster_with(a_deployment())
    d = key(Kind.DEPLOYMENT, "web")
    s1, _, _ = handle(s0, Delete(key=d, propagation=PropagationPolicy.ORPHAN), NOW)
    assert _stored(s1, d).metadata.finalizers == ("orphan",)


def test_background_propagation_deletes_at_once_and_drops_gc_finalizers() -> None:
    s0 = cluster_with(a_deployment())
    d = key(Kind.DEPLOYMENT, "web")
    s0, _, _ = handle(s0, Update(obj=with_meta(_stored(s0, d), finalizers=("orphan",))), NOW)
    s1, response, events = handle(s0, Delete(key=d, propagation=PropagationPolicy.BACKGROUND), NOW)
    assert response.code == 200 and [e.type for e in events] == [WatchType.DELETED]
    assert get(s1, d) is None


def test_deleting_a_namespace_makes_it_terminating_until_its_finalizers_clear() -> None:
    s0 = cluster_with(namespaces=("default", "doomed"))
    ns = key(Kind.NAMESPACE, "doomed")
    s1, response, events = handle(s0, Delete(key=ns), NOW)
    stored = _stored(s1, ns)
    assert isinstance(stored, Namespace)
    assert response.code == 200 and [e.type for e in events] == [WatchType.MODIFIED]
    assert stored.status.phase is NamespacePhase.TERMINATING
    assert stored.metadata.deletion_timestamp == NOW
    assert stored.spec.finalizers == ("kubernetes",)
    cleared = attrs.evolve(stored, spec=attrs.evolve(stored.spec, finalizers=()))
    s2, r2, e2 = handle(s1, Update(obj=cleared), NOW)
    assert r2.code == 200 and [e.type for e in e2] == [WatchType.DELETED]
    assert get(s2, ns) is None


def test_a_live_namespaces_spec_finalizers_cannot_be_cleared_by_update() -> None:
    s0 = cluster_with(namespaces=("default", "ns"))
    stored = _stored(s0, key(Kind.NAMESPACE, "ns"))
    assert isinstance(stored, Namespace)
    cleared = attrs.evolve(stored, spec=attrs.evolve(stored.spec, finalizers=()))
    s1, response, events = handle(s0, Update(obj=cleared), NOW)
    assert response == Response(code=200, body=stored)
    assert (s1, events) == (s0, ())


def test_a_config_map_delete_returns_success_with_its_uid() -> None:
    s0 = cluster_with(a_config_map("cfg", data={"a": "b"}))
    cm = key(Kind.CONFIG_MAP, "cfg")
    uid = _stored(s0, cm).metadata.uid
    _, response, _ = handle(s0, Delete(key=cm), NOW)
    assert response == Response(code=200, body=errors.success(Kind.CONFIG_MAP, "cfg", uid))
