"""The root CA certificate publisher (the worked example of docs/writing-a-controller.md):
its step driven by hand with exact effects, then in a cluster with the namespace
controller, as a user sees it."""

from __future__ import annotations

import attrs
from pyrsistent import pmap, pset

from kcore.api.core import ConfigMap
from kcore.api.kinds import Kind
from kcore.api.meta import ObjectMeta, Status, StatusReason, Time
from kcore.api.watch import WatchEvent, WatchType
from kcore.apiserver import handle
from kcore.component.effects import CallApi, WakeMeAt
from kcore.component.events import ApiAnswered, Started, TimerFired, WatchDelivered
from kcore.component.requests import Create, Delete, Response, Update
from kcore.controllers.namespace import NamespaceController
from kcore.controllers.rootcacertpublisher import (
    CONFIG_MAP_NAME,
    DESCRIPTION,
    DESCRIPTION_ANNOTATION,
    Action,
    Op,
    PublisherState,
    RootCACertPublisher,
    ca_bundle,
    config_map_key,
    namespace_key,
    wanted,
)
from kcore.driver.bootstrap import create_cluster
from kcore.driver.cluster import Cluster
from kcore.state import ClusterConfig, ClusterState, get
from tests.builders import a_namespace, a_pod, cluster_with, key

T0 = Time(1_000.0)
TEAM = namespace_key("team")
PUBLISHER = RootCACertPublisher()


def the_config_map(namespace: str, seed: int = 0) -> ConfigMap:
    meta = ObjectMeta(name=CONFIG_MAP_NAME, namespace=namespace, annotations=pmap({DESCRIPTION_ANNOTATION: DESCRIPTION}))
    return ConfigMap(metadata=meta, data=pmap({"ca.crt": ca_bundle(seed)}))


def started(view: ClusterState) -> tuple[PublisherState, tuple[object, ...]]:
    s, effects = PUBLISHER.init(view, T0)
    assert effects == ()
    return PUBLISHER.step(s, Started(now=T0))


def stored(view: ClusterState, obj: ConfigMap) -> tuple[ClusterState, ConfigMap]:
    view, resp, _ = handle(view, Create(obj=obj), T0)
    assert resp.ok and isinstance(resp.body, ConfigMap), resp.body
    return view, resp.body


def team_only() -> ClusterState:
    """`default` (which has its bundle already) and `team` (which has none)."""
    view, _ = stored(cluster_with(a_namespace("team")), the_config_map("default"))
    return view


def test_a_start_creates_the_config_map_in_every_namespace() -> None:
    s, effects = started(cluster_with(a_namespace("team")))
    assert effects == (
        CallApi(request=Create(obj=the_config_map("default")), tag=Op(namespace=namespace_key("default"), action=Action.CREATE)),
        CallApi(request=Create(obj=the_config_map("team")), tag=Op(namespace=TEAM, action=Action.CREATE)),
    )
    assert s.writing == pset({namespace_key("default"), TEAM})


def test_one_write_in_flight_per_namespace() -> None:
    view = team_only()
    s, _ = started(view)
    modified = WatchEvent(type=WatchType.MODIFIED, obj=a_namespace("team"), resource_version=view.revision)
    s, effects = PUBLISHER.step(s, WatchDelivered(event=modified, now=T0))
    assert effects == ()


def test_a_config_map_that_is_right_is_left_alone_and_a_changed_one_is_restored() -> None:
    view, cm = stored(team_only(), the_config_map("team"))
    assert wanted(view, "team", cm) is None
    edited = attrs.evolve(
        cm,
        data=pmap({"ca.crt": "mine"}),
        metadata=attrs.evolve(cm.metadata, labels=pmap({"keep": "me"}), annotations=pmap()),
    )
    restored = wanted(view, "team", edited)
    assert restored == attrs.evolve(
        edited,
        data=cm.data,
        metadata=attrs.evolve(edited.metadata, annotations=pmap({DESCRIPTION_ANNOTATION: DESCRIPTION})),
    )
    s, _ = started(view)
    assert s.writing == pset()
    event = WatchEvent(type=WatchType.MODIFIED, obj=edited, resource_version=view.revision + 1)
    s, effects = PUBLISHER.step(s, WatchDelivered(event=event, now=T0))
    assert effects == (CallApi(request=Update(obj=restored), tag=Op(namespace=TEAM, action=Action.UPDATE)),)


def test_a_failed_write_is_requeued_rate_limited_and_forgotten_once_it_lands() -> None:
    s, (create,) = started(team_only())
    conflict = Response(code=500, body=Status(message="etcd is sad", reason=StatusReason.INTERNAL_ERROR, code=500))
    op = Op(namespace=TEAM, action=Action.CREATE)
    s, effects = PUBLISHER.step(s, ApiAnswered(tag=op, response=conflict, now=T0))
    assert effects == (WakeMeAt(at=Time(T0 + 0.005), key=TEAM, in_motion=True),)
    s, effects = PUBLISHER.step(s, TimerFired(key=TEAM, now=Time(T0 + 0.005)))
    assert effects == (create,)
    s, effects = PUBLISHER.step(s, ApiAnswered(tag=op, response=conflict, now=Time(T0 + 0.005)))
    assert effects == (WakeMeAt(at=Time(T0 + 0.015), key=TEAM, in_motion=False),)  # the same failure again
    s, _ = PUBLISHER.step(s, TimerFired(key=TEAM, now=Time(T0 + 0.015)))
    landed = Response(code=201, body=the_config_map("team"))
    s, effects = PUBLISHER.step(s, ApiAnswered(tag=op, response=landed, now=Time(T0 + 0.015)))
    assert (effects, s.queue.requeues, s.writing) == ((), pmap(), pset())


def test_an_update_goes_out_with_the_resource_version_it_read() -> None:
    view, cm = stored(team_only(), attrs.evolve(the_config_map("team"), data=pmap({"ca.crt": "old"})))
    _, effects = started(view)
    want = wanted(view, "team", cm)
    assert want is not None and want.metadata.resource_version == cm.metadata.resource_version
    assert effects == (CallApi(request=Update(obj=want), tag=Op(namespace=TEAM, action=Action.UPDATE)),)


# --- in a cluster -------------------------------------------------------------------------------


def cluster() -> Cluster:
    base = create_cluster(ClusterConfig(seed=3), nodes=1)
    c = Cluster(base.snapshot(), (NamespaceController(), RootCACertPublisher()))
    c.run_until_stable()
    return c


def test_every_namespace_has_the_bundle_and_gets_it_back_when_it_is_deleted_or_edited() -> None:
    c = cluster()
    for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
        assert get(c.state, config_map_key(ns)) is not None, ns
    assert c.request(Create(obj=a_namespace("team"))).ok
    c.run_until_stable()
    first = get(c.state, config_map_key("team"))
    assert isinstance(first, ConfigMap)
    assert (first.data, first.metadata.annotations) == (
        pmap({"ca.crt": ca_bundle(3)}),
        pmap({DESCRIPTION_ANNOTATION: DESCRIPTION}),
    )
    assert c.request(Delete(key=config_map_key("team"))).ok
    c.run_until_stable()
    again = get(c.state, config_map_key("team"))
    assert isinstance(again, ConfigMap) and again.data == first.data
    assert c.request(Update(obj=attrs.evolve(again, data=pmap({"ca.crt": "forged"})))).ok
    c.run_until_stable()
    restored = get(c.state, config_map_key("team"))
    assert isinstance(restored, ConfigMap) and restored.data == first.data


def test_a_terminating_namespace_gets_no_new_bundle_and_no_retries() -> None:
    c = cluster()
    assert c.request(Create(obj=a_namespace("team"))).ok
    assert c.request(Create(obj=a_pod("running", "team", node_name="node-1"))).ok
    c.run_until_stable()
    assert c.request(Delete(key=key(Kind.NAMESPACE, "team", ""))).ok
    assert c.request(Delete(key=config_map_key("team"))).ok
    c.run_until_stable()
    c.advance(60)
    assert get(c.state, config_map_key("team")) is None
    publisher = c.component_state(RootCACertPublisher().name)
    assert isinstance(publisher, PublisherState)
    assert (publisher.writing, publisher.queue.requeues) == (pset(), pmap())
