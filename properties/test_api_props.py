"""API invariants of the pure apiserver, under arbitrary request sequences.

- resourceVersion strictly increases: every write lands at a new, higher revision, and a
  rejected or no-op request leaves the revision (and the state) alone;
- a watch from any revision delivers every later change once, in order: replaying it on
  the snapshot at that revision rebuilds the final state exactly;
- concurrent read-modify-write clients never lose an update: a stale write is a
  Conflict, the client rereads and retries, and the final counter equals the number of
  successful increments.
"""

from __future__ import annotations

import attrs
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from pyrsistent import pmap

from kcore.api.core import ConfigMap
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ApiObject, StatusReason, Time
from kcore.api.watch import WatchType
from kcore.apiserver import handle, watch
from kcore.component.requests import (
    Bind,
    Create,
    Delete,
    Get,
    Patch,
    PatchType,
    PropagationPolicy,
    Request,
    Update,
)
from kcore.state import ClusterState, get, key_of, list_objects
from tests.builders import T0, a_config_map, a_pod, cluster_with, key, with_meta

NAMES = ("a", "b", "c")
NAMESPACES = ("default", "other")



@st.composite
def requests(draw: st.DrawFn) -> Request:
    """One request against a small key space of pods and config maps (so they collide)."""
    name = draw(st.sampled_from(NAMES))
    ns = draw(st.sampled_from(NAMESPACES))
    choice = draw(st.integers(0, 8))
    value = str(draw(st.integers(0, 3)))
    finalizers = draw(st.sampled_from(((), ("example.com/hold",))))
    match choice:
        case 0:
            return Create(obj=a_config_map(name, ns, data={"v": value}))
        case 1:
            return Create(obj=with_meta(a_pod(name, ns, node_name=draw(st.sampled_from(("", "n1")))), finalizers=finalizers))
        case 2:
            return Update(obj=with_meta(a_config_map(name, ns, data={"v": value}), finalizers=finalizers))
        case 3:
            return Patch(
                key=key(Kind.CONFIG_MAP, name, ns), patch_type=PatchType.MERGE, patch=f'{{"data": {{"w": "{value}"}}}}'
            )
        case 4:
            return Patch(
                key=key(Kind.POD, name, ns),
                patch_type=PatchType.MERGE,
                patch='{"metadata": {"finalizers": null}}',
            )
        case 5:
            return Bind(key=key(Kind.POD, name, ns), node_name="n1")
        case 6:
            kind = draw(st.sampled_from((Kind.POD, Kind.CONFIG_MAP)))
            policy = draw(st.sampled_from((None, *PropagationPolicy)))
            grace = draw(st.sampled_from((None, 0, 5)))
            return Delete(key=key(kind, name, ns), propagation=policy, grace_period_seconds=grace)
        case 7:
            return Get(key=key(Kind.POD, name, ns))
        case _:
            return Update(obj=with_meta(a_config_map(name, ns, data={"v": value}), resource_version=draw(st.integers(1, 12))))


def _run(reqs: list[Request]) -> list[ClusterState]:
    s = cluster_with(namespaces=NAMESPACES)
    states = [s]
    for i, req in enumerate(reqs):
        s, _, _ = handle(s, req, Time(T0 + i))
        states.append(s)
    return states


def _objects(state: ClusterState) -> dict[ObjectKey, ApiObject]:
    return {key_of(o): o for kind in (Kind.POD, Kind.CONFIG_MAP) for o in list_objects(state, kind)}


@given(st.lists(requests(), max_size=30))
def test_resource_version_strictly_increases(reqs: list[Request]) -> None:
    s = cluster_with(namespaces=NAMESPACES)
    for i, req in enumerate(reqs):
        before = s
        s, response, events = handle(s, req, Time(T0 + i))
        revisions = [e.resource_version for e in events]
        assert revisions == sorted(set(revisions))
        if events:
            assert revisions[0] > before.revision
            assert s.revision == revisions[-1]
        else:
            assert s.revision == before.revision
        if not response.ok:
            assert s is before and events == ()
        for obj in _objects(s).values():
            assert 0 < obj.metadata.resource_version <= s.revision


@given(st.lists(requests(), max_size=30), st.data())
def test_a_watch_from_any_revision_replays_to_the_final_state(reqs: list[Request], data: st.DataObject) -> None:
    states = _run(reqs)
    start = data.draw(st.sampled_from(states))
    final = states[-1]
    view = _objects(start)
    last = start.revision
    for kind in (Kind.POD, Kind.CONFIG_MAP):
        events = watch(final, kind, None, start.revision)
        assert isinstance(events, tuple)
        revs = [e.resource_version for e in events]
        assert revs == sorted(set(revs)) and all(r > start.revision for r in revs)
    merged = sorted(
        (e for kind in (Kind.POD, Kind.CONFIG_MAP) for e in watch(final, kind, None, start.revision)),  # type: ignore[union-attr]
        key=lambda e: e.resource_version,
    )
    for e in merged:
        assert e.resource_version > last
        last = e.resource_version
        if e.type is WatchType.DELETED:
            assert e.key in view
            del view[e.key]
        else:
            assert (e.type is WatchType.ADDED) == (e.key not in view)
            view[e.key] = e.obj
    assert view == _objects(final)


class ConcurrentCounters(RuleBasedStateMachine):
    """Clients each read the counter, then write counter+1 with the version they read."""

    CLIENTS = 3
    KEY = key(Kind.CONFIG_MAP, "counter")

    def __init__(self) -> None:
        super().__init__()
        self.state = cluster_with(a_config_map("counter", data={"n": "0"}))
        self.read: dict[int, ConfigMap] = {}
        self.successes = 0
        self.conflicts = 0
        self.clock = 0

    def _now(self) -> Time:
        self.clock += 1
        return Time(T0 + self.clock)

    @rule(client=st.integers(0, CLIENTS - 1))
    def read_counter(self, client: int) -> None:
        _, response, _ = handle(self.state, Get(key=self.KEY), self._now())
        assert isinstance(response.body, ConfigMap)
        self.read[client] = response.body

    @precondition(lambda self: bool(self.read))
    @rule(data=st.data())
    def write_increment(self, data: st.DataObject) -> None:
        client = data.draw(st.sampled_from(sorted(self.read)))
        seen = self.read.pop(client)
        n = int(seen.data["n"])
        new = attrs.evolve(seen, data=pmap({"n": str(n + 1)}))
        self.state, response, _ = handle(self.state, Update(obj=new), self._now())
        if response.ok:
            self.successes += 1
        else:
            assert response.code == 409
            assert getattr(response.body, "reason", None) is StatusReason.CONFLICT
            self.conflicts += 1

    @invariant()
    def no_update_is_lost(self) -> None:
        stored = get(self.state, self.KEY)
        assert isinstance(stored, ConfigMap)
        assert int(stored.data["n"]) == self.successes


TestConcurrentCounters = ConcurrentCounters.TestCase
