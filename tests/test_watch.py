"""Watch: every change after a revision, in order, filtered by kind and namespace; 410."""

from __future__ import annotations

from kcore.api.kinds import Kind
from kcore.api.meta import Time
from kcore.api.watch import WatchEvent, WatchType
from kcore.apiserver import compact, errors, handle, watch
from kcore.component.requests import Create, Delete
from kcore.state import ClusterConfig
from tests.builders import T0, a_config_map, a_pod, cluster_with, key

NOW = Time(T0)


def test_a_watch_from_a_revision_sees_every_later_change_of_its_kind_in_order() -> None:
    s = cluster_with(namespaces=("a", "b"))
    since = s.revision
    seen: list[WatchEvent] = []
    for req in (
        Create(obj=a_pod("p1", "a")),
        Create(obj=a_config_map("c", "a")),
        Create(obj=a_pod("p2", "b")),
        Delete(key=key(Kind.POD, "p1", "a")),
    ):
        s, _, events = handle(s, req, NOW)
        seen.extend(e for e in events if e.obj.KIND is Kind.POD)
    result = watch(s, Kind.POD, None, since)
    assert result == tuple(seen)
    assert [(e.type, e.key.name, e.resource_version) for e in seen] == [
        (WatchType.ADDED, "p1", since + 1),
        (WatchType.ADDED, "p2", since + 3),
        (WatchType.DELETED, "p1", since + 4),
    ]


def test_a_watch_in_one_namespace_sees_only_that_namespace() -> None:
    s = cluster_with(a_pod("p1", "a"), a_pod("p2", "b"), namespaces=("a", "b"))
    result = watch(s, Kind.POD, "b", 0)
    assert isinstance(result, tuple)
    assert [e.key.name for e in result] == ["p2"]


def test_a_watch_from_the_current_revision_sees_nothing() -> None:
    s = cluster_with(a_pod())
    assert watch(s, Kind.POD, None, s.revision) == ()


def test_a_watch_from_before_the_compacted_revision_is_gone() -> None:
    s = cluster_with(a_pod("p1"), a_pod("p2"), a_pod("p3"))
    c = compact(s, 3)
    assert watch(c, Kind.POD, None, 2) == errors.gone("too old resource version: 2 (3)")
    result = watch(c, Kind.POD, None, 3)
    assert isinstance(result, tuple)
    assert [e.resource_version for e in result] == [4]


def test_the_log_limit_compacts_old_events_automatically() -> None:
    s = cluster_with(*(a_pod(f"p{i}") for i in range(5)), config=ClusterConfig(watch_log_limit=3))
    assert s.log.compacted_revision == s.revision - 3
    assert watch(s, Kind.POD, None, 0) == errors.gone(f"too old resource version: 0 ({s.revision - 3})")
