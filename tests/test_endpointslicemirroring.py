"""The EndpointSlice mirroring controller: hand-written Endpoints of a Service without a
selector mirrored into slices (exact writes), and cleaned up when mirroring stops."""

from __future__ import annotations

import attrs
from pyrsistent import pmap

from kcore.api.core import EndpointAddress, Endpoints, EndpointSubset, Service
from kcore.api.discovery import (
    LABEL_MANAGED_BY,
    LABEL_SERVICE_NAME,
    LABEL_SKIP_MIRROR,
    MANAGED_BY_MIRRORING,
    AddressType,
    EndpointSlice,
)
from kcore.api.kinds import Kind
from kcore.api.meta import ApiObject, ObjectMeta
from kcore.component.effects import CallApi, EventType, RecordEvent
from kcore.component.requests import Create, Delete, Update
from kcore.controllers.endpointslicemirroring import (
    TOO_MANY_ADDRESSES,
    EndpointSliceMirroringController,
    MirrorState,
    mirror,
)
from kcore.state import list_objects
from tests.builders import a_service, an_endpoints, key, with_meta
from tests.rig import Rig

MIRROR = EndpointSliceMirroringController()
EP = key(Kind.ENDPOINTS, "web")


def selectorless() -> Service:
    svc = a_service("web")
    return attrs.evolve(svc, spec=attrs.evolve(svc.spec, selector=pmap()))


def slices(rig: Rig[MirrorState]) -> list[EndpointSlice]:
    return [o for o in list_objects(rig.state, Kind.ENDPOINT_SLICE) if isinstance(o, EndpointSlice)]


def mirrored(rig: Rig[MirrorState]) -> list[tuple[AddressType, list[tuple[str, bool | None]], list[int | None]]]:
    return [
        (es.address_type, [(e.addresses[0], e.conditions.ready) for e in es.endpoints], [p.port for p in es.ports])
        for es in slices(rig)
    ]


def rig_with(*objects: ApiObject) -> Rig[MirrorState]:
    rig = Rig(MIRROR, *objects)
    rig.settle(rig.start())
    return rig


def test_the_endpoints_of_a_service_without_selector_are_mirrored() -> None:
    ep = an_endpoints("web", ips=("10.0.0.5", "10.0.0.6"), ports=(8080,))
    subset = ep.subsets[0]
    ep = attrs.evolve(ep, subsets=(attrs.evolve(subset, not_ready_addresses=(EndpointAddress(ip="10.0.0.7"),)),))
    rig = rig_with(selectorless(), ep)
    assert mirrored(rig) == [(AddressType.IPV4, [("10.0.0.5", True), ("10.0.0.6", True), ("10.0.0.7", False)], [8080])]
    (es,) = slices(rig)
    assert (es.metadata.generate_name, es.metadata.labels[LABEL_SERVICE_NAME], es.metadata.labels[LABEL_MANAGED_BY]) == (
        "web-", "web", MANAGED_BY_MIRRORING,
    )
    assert [(o.kind, o.name, o.controller) for o in es.metadata.owner_references] == [("Endpoints", "web", True)]


def test_a_change_of_the_endpoints_rewrites_the_mirrored_slice_in_place() -> None:
    rig = rig_with(selectorless(), an_endpoints("web", ips=("10.0.0.5",)))
    (before,) = slices(rig)
    ep = rig.get(EP, Endpoints)
    assert rig.request(Update(obj=attrs.evolve(ep, subsets=an_endpoints("web", ips=("10.0.0.9",)).subsets))).ok
    rig.settle(rig.deliver_watches())
    (after,) = slices(rig)
    assert (after.metadata.name, mirrored(rig)) == (before.metadata.name, [(AddressType.IPV4, [("10.0.0.9", True)], [80])])


def test_services_with_a_selector_and_skip_mirror_endpoints_are_not_mirrored() -> None:
    assert rig_with(a_service("web"), an_endpoints("web")).s.rounds == pmap()
    skipped = with_meta(an_endpoints("web"), labels=pmap({LABEL_SKIP_MIRROR: "true"}))
    rig = rig_with(selectorless(), skipped)
    assert slices(rig) == []


def test_mirrored_slices_go_when_the_service_gains_a_selector_or_the_endpoints_go() -> None:
    rig = rig_with(selectorless(), an_endpoints("web"))
    assert len(slices(rig)) == 1
    svc = rig.get(key(Kind.SERVICE, "web"), Service)
    assert rig.request(Update(obj=attrs.evolve(svc, spec=attrs.evolve(svc.spec, selector=pmap({"app": "web"}))))).ok
    effects = rig.deliver_watches()
    assert [type(e.request).__name__ for e in effects if isinstance(e, CallApi)] == ["Delete"]
    rig.settle(effects)
    assert slices(rig) == []
    rig = rig_with(selectorless(), an_endpoints("web"))
    assert rig.request(Delete(key=EP)).ok
    rig.settle(rig.deliver_watches())
    assert slices(rig) == []


def test_at_most_1000_addresses_per_subset_are_mirrored_with_a_warning() -> None:
    ep = an_endpoints("web", ips=[f"10.0.{i // 250}.{i % 250}" for i in range(1005)])
    rig = Rig(MIRROR, selectorless(), ep)
    effects = rig.start()
    assert effects[0] == RecordEvent(
        involved=EP, type=EventType.WARNING, reason=TOO_MANY_ADDRESSES,
        message="A max of 1000 addresses can be mirrored to EndpointSlices per Endpoints subset. 5 addresses were skipped",
    )
    rig.settle(effects)
    assert [len(es.endpoints) for es in slices(rig)] == [1000]


def test_mirror_splits_address_types_and_recycles_a_slice_whose_ports_changed() -> None:
    ep = Endpoints(
        metadata=ObjectMeta(name="web", namespace="default", uid="ep-uid"),
        subsets=(EndpointSubset(addresses=(EndpointAddress(ip="10.0.0.5"), EndpointAddress(ip="fd00::5")),
                                ports=an_endpoints().subsets[0].ports),),
    )
    plan = mirror(ep, ()).plan
    assert [(es.address_type, es.endpoints[0].addresses) for es in plan.creates] == [
        (AddressType.IPV4, ("10.0.0.5",)), (AddressType.IPV6, ("fd00::5",)),
    ]
    stored = attrs.evolve(plan.creates[0], metadata=attrs.evolve(plan.creates[0].metadata, name="web-x", uid="u1"), ports=())
    again = mirror(attrs.evolve(ep, subsets=(attrs.evolve(ep.subsets[0], addresses=ep.subsets[0].addresses[:1]),)), (stored,)).plan
    assert (len(again.creates), [es.metadata.name for es in again.updates], again.deletes) == (0, ["web-x"], ())


def test_a_client_creating_a_mirrored_slice_by_hand_gets_it_reconciled() -> None:
    rig = rig_with(selectorless(), an_endpoints("web", ips=("10.0.0.5",)))
    (es,) = slices(rig)
    assert rig.request(Update(obj=attrs.evolve(es, endpoints=()))).ok
    rig.settle(rig.deliver_watches())
    assert mirrored(rig) == [(AddressType.IPV4, [("10.0.0.5", True)], [80])]
    assert rig.request(Create(obj=attrs.evolve(es, metadata=ObjectMeta(name="web-extra", namespace="default", labels=es.metadata.labels)))).ok
    rig.settle(rig.deliver_watches())
    assert mirrored(rig) == [(AddressType.IPV4, [("10.0.0.5", True)], [80])]
