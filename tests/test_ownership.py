"""Which owner a pod's event concerns, and the availability wake (`kcore.controllers.ownership`)."""

from __future__ import annotations

import attrs
from pyrsistent import pmap

from kcore.api.kinds import Kind
from kcore.api.meta import ApiObject, ConditionStatus, Time
from kcore.api.pod import (
    LabelSelector,
    LabelSelectorOperator,
    LabelSelectorRequirement,
    Pod,
    PodCondition,
    PodStatus,
)
from kcore.controllers.ownership import (
    availability_wake,
    owners_selecting,
    parse_selector,
    pod_owners,
    resolve_controller_ref,
)
from kcore.controllers.podcontrol import controller_ref
from kcore.state import get
from tests.builders import T0, a_pod, a_replica_set, cluster_with, key

WEB = key(Kind.REPLICA_SET, "web")
VIEW = cluster_with(a_replica_set("web", labels={"app": "web"}), a_replica_set("www", labels={"app": "web"}))


def stored(name: str) -> ApiObject:
    obj = get(VIEW, key(Kind.REPLICA_SET, name))
    assert obj is not None
    return obj


def selects(owner: ApiObject, pod: ApiObject) -> bool:
    return owner.metadata.labels.get("app") == pod.metadata.labels.get("app")


def test_a_selector_that_does_not_parse_is_none() -> None:
    bad = LabelSelector(match_expressions=(LabelSelectorRequirement(key="app", operator=LabelSelectorOperator.IN, values=()),))
    assert parse_selector(bad) is None
    sel = parse_selector(LabelSelector(match_labels=pmap({"app": "web"})))
    assert sel is not None and sel.matches(pmap({"app": "web"})) and not sel.matches(pmap({"app": "db"}))


def test_the_controller_ref_resolves_to_the_owner_only_with_its_uid() -> None:
    pod = a_pod("web-1", owners=[controller_ref(stored("web"))])
    assert resolve_controller_ref(VIEW, Kind.REPLICA_SET, pod) == WEB
    assert resolve_controller_ref(VIEW, Kind.REPLICATION_CONTROLLER, pod) is None
    impostor = attrs.evolve(controller_ref(stored("web")), uid="another-uid")
    assert resolve_controller_ref(VIEW, Kind.REPLICA_SET, a_pod("web-1", owners=[impostor])) is None


def test_a_controlled_pod_concerns_its_controller_and_an_orphan_every_owner_selecting_it() -> None:
    owned = a_pod("web-1", labels={"app": "web"}, owners=[controller_ref(stored("web"))])
    orphan = a_pod("stray", labels={"app": "web"})
    both = {WEB, key(Kind.REPLICA_SET, "www")}
    assert pod_owners(VIEW, Kind.REPLICA_SET, owned, selects) == {WEB}
    assert pod_owners(VIEW, Kind.REPLICA_SET, orphan, selects) == both == owners_selecting(VIEW, Kind.REPLICA_SET, orphan, selects)
    assert pod_owners(VIEW, Kind.REPLICA_SET, None, selects) == set()


def ready_since(name: str, since: float) -> Pod:
    cond = PodCondition(type="Ready", status=ConditionStatus.TRUE, last_transition_time=Time(since))
    return attrs.evolve(a_pod(name), status=PodStatus(conditions=(cond,)))


def test_the_availability_wake_is_a_second_after_the_first_ready_pod_becomes_available() -> None:
    pods = [ready_since("a", T0 + 4), ready_since("b", T0 + 2), a_pod("not-ready")]
    assert availability_wake(pods, 10, Time(T0 + 5)) == Time(T0 + 2 + 10 + 1)
    assert availability_wake(pods, 10, Time(T0 + 13)) == Time(T0 + 4 + 10 + 1)  # b is available
    assert availability_wake(pods, 0, Time(T0 + 5)) is None
    assert availability_wake(pods[2:], 10, Time(T0 + 5)) is None
