"""ClusterState: tables, indexes kept in step by put/remove, the watch log and compaction."""

from __future__ import annotations

from collections.abc import Mapping

import attrs
from hypothesis import given
from hypothesis import strategies as st
from pyrsistent import pmap

from kcore.api.core import ResourceQuota, Service, ServicePort, ServiceSpec
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ApiObject, ObjectMeta, OwnerReference
from kcore.api.pod import Pod, PodPhase
from kcore.api.watch import WatchEvent, WatchType
from kcore.state import (
    ClusterConfig,
    ClusterState,
    cluster_ip_owner,
    compact,
    dependents,
    empty_state,
    events_since,
    get,
    key_of,
    keys_in_namespace,
    list_objects,
    node_port_owner,
    pods_on_node,
    pods_selected,
    put,
    record,
    remove,
    services_selecting,
)
from tests.builders import a_config_map, a_node, a_pod, key


def _owned(obj: ApiObject, uid: str) -> ApiObject:
    ref = OwnerReference(api_version="apps/v1", kind="ReplicaSet", name="rs", uid=uid)
    return attrs.evolve(obj, metadata=attrs.evolve(obj.metadata, owner_references=(ref,)))  # type: ignore[misc]


def _event(state: ClusterState, obj: ApiObject, type: WatchType = WatchType.ADDED) -> WatchEvent:
    return WatchEvent(type=type, obj=obj, resource_version=state.revision + 1)


def _service(name: str, ip: str, node_port: int, selector: Mapping[str, str] | None = None) -> Service:
    return Service(
        metadata=ObjectMeta(name=name, namespace="default"),
        spec=ServiceSpec(
            cluster_ip=ip,
            cluster_ips=(ip,),
            ports=(ServicePort(port=80, node_port=node_port),),
            selector=pmap(selector or {}),
        ),
    )


def test_an_empty_state_has_nothing_at_revision_zero() -> None:
    s = empty_state()
    assert s.revision == 0
    assert get(s, key(Kind.POD, "web")) is None
    assert list_objects(s, Kind.POD) == ()
    assert s.config == ClusterConfig()


def test_put_stores_an_object_under_its_kind_namespace_and_name() -> None:
    pod = a_pod("web", "prod")
    s = put(empty_state(), pod)
    assert get(s, key(Kind.POD, "web", "prod")) == pod
    assert get(s, key(Kind.POD, "web", "default")) is None
    assert keys_in_namespace(s, "prod") == (key(Kind.POD, "web", "prod"),)


def test_put_leaves_the_previous_value_untouched() -> None:
    s0 = put(empty_state(), a_pod("a"))
    s1 = put(s0, a_pod("b"))
    assert [p.metadata.name for p in list_objects(s0, Kind.POD)] == ["a"]
    assert [p.metadata.name for p in list_objects(s1, Kind.POD)] == ["a", "b"]


def test_list_objects_sorts_by_namespace_then_name_and_filters_by_namespace() -> None:
    s = empty_state()
    for ns, name in (("b", "x"), ("a", "z"), ("a", "y"), ("b", "a")):
        s = put(s, a_pod(name, ns))
    s = put(s, a_config_map("y", "a"))
    assert [(p.metadata.namespace, p.metadata.name) for p in list_objects(s, Kind.POD)] == [
        ("a", "y"),
        ("a", "z"),
        ("b", "a"),
        ("b", "x"),
    ]
    assert [p.metadata.name for p in list_objects(s, Kind.POD, "a")] == ["y", "z"]
    assert list_objects(s, Kind.POD, "c") == ()


def test_cluster_scoped_objects_are_not_in_any_namespace_index() -> None:
    s = put(empty_state(), a_node("node-1"))
    assert get(s, ObjectKey(kind=Kind.NODE, namespace="", name="node-1")) is not None
    assert s.keys_by_namespace == pmap()


def test_pods_by_node_follows_binding_and_removal() -> None:
    s = put(empty_state(), a_pod("a"))
    assert pods_on_node(s, "node-1") == ()
    s = put(s, a_pod("a", node_name="node-1"))
    s = put(s, a_pod("b", node_name="node-1"))
    assert pods_on_node(s, "node-1") == (key(Kind.POD, "a"), key(Kind.POD, "b"))
    s = put(s, a_pod("b", node_name="node-2"))
    assert pods_on_node(s, "node-1") == (key(Kind.POD, "a"),)
    assert pods_on_node(s, "node-2") == (key(Kind.POD, "b"),)
    s = remove(s, key(Kind.POD, "a"))
    assert pods_on_node(s, "node-1") == ()
    assert "node-1" not in s.pods_by_node


def test_dependents_index_follows_owner_references() -> None:
    s = put(empty_state(), _owned(a_pod("a"), "uid-1"))
    s = put(s, _owned(a_pod("b"), "uid-1"))
    assert dependents(s, "uid-1") == (key(Kind.POD, "a"), key(Kind.POD, "b"))
    s = put(s, _owned(a_pod("a"), "uid-2"))
    assert dependents(s, "uid-1") == (key(Kind.POD, "b"),)
    assert dependents(s, "uid-2") == (key(Kind.POD, "a"),)
    s = remove(s, key(Kind.POD, "b"))
    assert dependents(s, "uid-1") == ()


def test_service_ips_and_node_ports_are_held_until_removed_or_changed() -> None:
    s = put(empty_state(), _service("web", "10.96.0.10", 30080))
    web = key(Kind.SERVICE, "web")
    assert cluster_ip_owner(s, "10.96.0.10") == web
    assert node_port_owner(s, 30080) == web
    s = put(s, _service("web", "10.96.0.10", 30081))
    assert node_port_owner(s, 30080) is None
    assert node_port_owner(s, 30081) == web
    s = remove(s, web)
    assert cluster_ip_owner(s, "10.96.0.10") is None
    assert node_port_owner(s, 30081) is None


def test_headless_services_hold_no_cluster_ip() -> None:
    s = put(empty_state(), _service("db", "None", 0))
    assert s.service_cluster_ips == pmap()
    assert s.service_node_ports == pmap()


def test_remove_of_an_absent_key_is_a_no_op() -> None:
    s = put(empty_state(), a_pod("a"))
    assert remove(s, key(Kind.POD, "zzz")) is s
    assert remove(s, key(Kind.SERVICE, "a")) is s


def test_record_advances_the_revision_and_logs_in_order() -> None:
    s = empty_state()
    events = []
    for name in ("a", "b", "c"):
        ev = _event(s, a_pod(name))
        events.append(ev)
        s = record(put(s, a_pod(name)), (ev,))
    assert s.revision == 3
    assert events_since(s, 0) == tuple(events)
    assert events_since(s, 1) == tuple(events[1:])
    assert events_since(s, 3) == ()


def test_the_log_keeps_only_the_configured_number_of_events() -> None:
    s = empty_state(ClusterConfig(watch_log_limit=2))
    for i in range(5):
        s = record(s, (_event(s, a_pod(f"p{i}")),))
    assert s.log.compacted_revision == 3
    assert [e.resource_version for e in events_since(s, 3) or ()] == [4, 5]
    assert events_since(s, 2) is None


def test_a_long_log_is_rebuilt_once_its_dead_prefix_outgrows_it() -> None:
    s = empty_state(ClusterConfig(watch_log_limit=10))
    for i in range(3000):
        s = record(s, (_event(s, a_pod(f"p{i}")),))
    assert len(s.log) == 10
    assert len(s.log.events) < 2100
    assert [e.resource_version for e in events_since(s, 2990) or ()] == list(range(2991, 3001))


def test_compact_forgets_events_up_to_a_revision() -> None:
    s = empty_state()
    for i in range(4):
        s = record(s, (_event(s, a_pod(f"p{i}")),))
    c = compact(s, 2)
    assert c.log.compacted_revision == 2
    assert events_since(c, 1) is None
    assert [e.resource_version for e in events_since(c, 2) or ()] == [3, 4]
    assert compact(c, 1) is c
    assert compact(s, 99).log.compacted_revision == 4


# --- put's fast path: a write that keeps the indexed fields touches no index ------------------
#
# Writes replace stored objects either keeping the indexed values by identity (the fast
# path: a status or label write) or changing them; after every write the indexes equal
# those of the same objects put one by one into an empty state (the slow path only).

_OWNERS = st.sampled_from(((), ("u1",), ("u1", "u2"), ("u2",)))
_SELECTORS = st.sampled_from(({}, {"app": "a"}, {"app": "a", "n": "0"}, {"n": "1"}))


def _pod_write(name: str, node: str, owners: tuple[str, ...], phase: PodPhase) -> ApiObject:
    pod = a_pod(name, node_name=node, labels={"app": name})
    refs = tuple(OwnerReference(api_version="apps/v1", kind="ReplicaSet", name=u, uid=u) for u in owners)
    return attrs.evolve(
        pod,
        metadata=attrs.evolve(pod.metadata, owner_references=refs),
        status=attrs.evolve(pod.status, phase=phase),
    )


_writes = st.lists(
    st.one_of(
        st.builds(
            _pod_write,
            st.sampled_from(("a", "b")),
            st.sampled_from(("", "node-1", "node-2")),
            _OWNERS,
            st.sampled_from((PodPhase.PENDING, PodPhase.RUNNING, PodPhase.SUCCEEDED)),
        ),
        # Each Service has its own IP and port (the allocators never share one): the
        # indexes are then a function of the stored objects alone.
        st.builds(
            lambda n, ip, port, selector: _service(
                n,
                ("10.96.0.10" if n == "s" else "10.96.0.11") if ip else "None",
                (30001 if n == "s" else 30002) if port else 0,
                selector,
            ),
            st.sampled_from(("s", "t")),
            st.booleans(),
            st.booleans(),
            _SELECTORS,
        ),
        st.sampled_from(("a", "b", "s", "t")).map(lambda n: ("relabel", n)),
        st.sampled_from(("a", "b")).map(lambda n: ("status", n)),
    ),
    max_size=25,
)


def _indexes(state: ClusterState) -> tuple[object, ...]:
    return (
        state.pods_by_node,
        state.dependents_by_owner_uid,
        state.keys_by_namespace,
        state.service_cluster_ips,
        state.service_node_ports,
        state.quota_usage,
        state.pods_by_label,
        state.services_by_selector,
    )


def _from_scratch(state: ClusterState) -> ClusterState:
    rebuilt = empty_state()
    for kind in (Kind.POD, Kind.SERVICE, Kind.RESOURCE_QUOTA):
        for obj in list_objects(state, kind):
            rebuilt = put(rebuilt, obj)
    return rebuilt


def _same_values_write(state: ClusterState, how: str, name: str) -> ApiObject | None:
    """The stored object rewritten keeping every field value by identity but a label (or
    the pod's phase)."""
    stored = get(state, key(Kind.POD, name)) or get(state, key(Kind.SERVICE, name))
    if stored is None:
        return None
    if how == "status" and isinstance(stored, Pod):
        phase = PodPhase.RUNNING if stored.status.phase is PodPhase.PENDING else PodPhase.PENDING
        return attrs.evolve(stored, status=attrs.evolve(stored.status, phase=phase))
    m = stored.metadata
    return attrs.evolve(stored, metadata=attrs.evolve(m, labels=m.labels.set("n", str(len(m.labels)))))  # type: ignore[misc]


def _selects(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


@given(_writes, st.booleans())
def test_put_keeps_the_indexes_of_a_from_scratch_build(writes: list[object], quota: bool) -> None:
    state = empty_state()
    if quota:
        state = put(state, ResourceQuota(metadata=ObjectMeta(name="q", namespace="default")))
    for w in writes:
        obj = _same_values_write(state, *w) if isinstance(w, tuple) else w
        if obj is None:
            continue
        assert not isinstance(obj, tuple)
        state = put(state, obj)  # type: ignore[arg-type]  # the strategy draws objects or (how, name)
        assert _indexes(state) == _indexes(_from_scratch(state))
    pods = list_objects(state, Kind.POD)
    for svc in list_objects(state, Kind.SERVICE):
        selector = svc.spec.selector  # type: ignore[attr-defined]  # the Service table holds Services
        assert pods_selected(state, "default", selector) == tuple(p for p in pods if _selects(selector, p.metadata.labels))
    for pod in pods:
        assert services_selecting(state, "default", pod.metadata.labels) == tuple(
            key_of(s) for s in list_objects(state, Kind.SERVICE) if _selects(s.spec.selector, pod.metadata.labels)  # type: ignore[attr-defined]
        )


def test_a_status_write_leaves_every_index_value_itself() -> None:
    state = put(empty_state(), _owned(a_pod("web", node_name="node-1"), "u1"))
    pod = get(state, key(Kind.POD, "web"))
    assert isinstance(pod, Pod)
    after = put(state, attrs.evolve(pod, status=attrs.evolve(pod.status, phase=PodPhase.RUNNING)))
    assert all(a is b for a, b in zip(_indexes(after), _indexes(state), strict=True))
    moved = put(after, attrs.evolve(pod, spec=attrs.evolve(pod.spec, node_name="node-2")))
    assert pods_on_node(moved, "node-2") == (key(Kind.POD, "web"),) and pods_on_node(moved, "node-1") == ()


# --- fast paths equal the slow paths ---------------------------------------------------------


@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(0, 30), st.booleans()), max_size=60))
def test_list_objects_scans_either_side_alike(objs: list[tuple[str, int, bool]]) -> None:
    """Listing one kind in one namespace gives the same answer whichever of the kind's
    table and the namespace's keys is smaller (pods and config maps mixed, any counts)."""
    s = empty_state()
    for ns, i, is_pod in objs:
        s = put(s, a_pod(f"o{i}", namespace=ns) if is_pod else a_config_map(f"o{i}", namespace=ns))
    for ns in ("a", "b", "c", "d"):
        for kind in (Kind.POD, Kind.CONFIG_MAP):
            expected = sorted(
                k.name for k in keys_in_namespace(s, ns) if k.kind is kind
            )
            assert [o.metadata.name for o in list_objects(s, kind, ns)] == expected
            assert all(o.KIND is kind and o.metadata.namespace == ns for o in list_objects(s, kind, ns))
