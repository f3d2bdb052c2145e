"""The ResourceQuota usage index (kcore.state_quota.QuotaUsage) under arbitrary writes.

Rules write and remove pods (any requests/limits, phase, pending graceful deletion,
activeDeadlineSeconds; and phase or deletion changes that keep the spec value), Services of every type, ConfigMaps and ResourceQuotas in two
namespaces, straight through `kcore.state.put`/`remove` (the layer that keeps the index).
Invariants after every step:
- a namespace is indexed exactly when it holds a ResourceQuota;
- each indexed namespace's usage equals a from-scratch recount of its objects;
- at any `now`, the index's charges (bucket totals plus the deleting pods still within
  their grace period) equal the sum of `charges(obj, now)` over the namespace's objects.
"""

from __future__ import annotations

import attrs
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from pyrsistent import pmap

from kcore.api.core import (
    ConfigMap,
    ResourceQuota,
    ResourceQuotaSpec,
    Service,
    ServicePort,
    ServiceSpec,
    ServiceType,
)
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ApiObject, ObjectMeta, Time
from kcore.api.pod import Container, Pod, PodPhase, PodSpec, PodStatus, ResourceRequirements
from kcore.quantity import Quantity
from kcore.state import (
    ClusterState,
    empty_state,
    get,
    keys_in_namespace,
    put,
    quota_usage_of,
    remove,
)
from kcore.state_quota import charged_now, charges, pod_compute_usage, recount_usage

T0 = 1_700_000_000.0
NAMESPACES = ("a", "b")
NAMES = ("x", "y", "z")

namespaces = st.sampled_from(NAMESPACES)
names = st.sampled_from(NAMES)
quantities = st.builds(
    Quantity.from_milli, st.integers(min_value=0, max_value=4000)
) | st.sampled_from((Quantity.from_int(64 << 20), Quantity.from_int(10**9)))
resource_lists = st.dictionaries(
    st.sampled_from(("cpu", "memory", "ephemeral-storage", "example.com/gpu")), quantities, max_size=3
).map(pmap)
containers = st.builds(
    lambda name, requests, limits: Container(
        name=name, image="nginx", resources=ResourceRequirements(requests=requests, limits=limits)
    ),
    st.sampled_from(("app", "side")),
    resource_lists,
    resource_lists,
)


@st.composite
def pods(draw: st.DrawFn, namespace: str, name: str) -> Pod:
    deleting = draw(st.booleans())
    return Pod(
        metadata=ObjectMeta(
            name=name,
            namespace=namespace,
            deletion_timestamp=Time(T0 + draw(st.integers(0, 60))) if deleting else None,
            deletion_grace_period_seconds=draw(st.sampled_from((None, 0, 30))) if deleting else None,
        ),
        spec=PodSpec(
            containers=tuple(draw(st.lists(containers, min_size=1, max_size=2))),
            init_containers=tuple(draw(st.lists(containers, max_size=1))),
            active_deadline_seconds=draw(st.sampled_from((None, 60))),
        ),
        status=PodStatus(phase=draw(st.sampled_from(tuple(PodPhase)))),
    )


def services(namespace: str, name: str, kind: ServiceType, ports: int) -> Service:
    return Service(
        metadata=ObjectMeta(name=name, namespace=namespace),
        spec=ServiceSpec(
            type=kind, ports=tuple(ServicePort(name=f"p{i}", port=80 + i) for i in range(ports))
        ),
    )


def total(usage: dict[str, Quantity], name: str) -> int:
    q = usage.get(name)
    return 0 if q is None else q.nanos


class QuotaIndex(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.state: ClusterState = empty_state()

    @rule(data=st.data(), namespace=namespaces, name=names)
    def put_pod(self, data: st.DataObject, namespace: str, name: str) -> None:
        self.state = put(self.state, data.draw(pods(namespace, name)))

    @rule(namespace=namespaces, name=names, kind=st.sampled_from(tuple(ServiceType)), ports=st.integers(0, 3))
    def put_service(self, namespace: str, name: str, kind: ServiceType, ports: int) -> None:
        self.state = put(self.state, services(namespace, name, kind, ports))

    @rule(namespace=namespaces, name=names)
    def put_config_map(self, namespace: str, name: str) -> None:
        self.state = put(self.state, ConfigMap(metadata=ObjectMeta(name=name, namespace=namespace)))

    @rule(namespace=namespaces, name=names, pods_allowed=st.integers(0, 5))
    def put_quota(self, namespace: str, name: str, pods_allowed: int) -> None:
        spec = ResourceQuotaSpec(hard=pmap({"pods": Quantity.from_int(pods_allowed)}))
        quota = ResourceQuota(metadata=ObjectMeta(name=name, namespace=namespace), spec=spec)
        self.state = put(self.state, quota)

    @rule(
        kind=st.sampled_from((Kind.POD, Kind.SERVICE, Kind.CONFIG_MAP, Kind.RESOURCE_QUOTA)),
        namespace=namespaces,
        name=names,
    )
    def remove_object(self, kind: Kind, namespace: str, name: str) -> None:
        self.state = remove(self.state, ObjectKey(kind=kind, namespace=namespace, name=name))

    @rule(namespace=namespaces, name=names)
    def relabel_pod(self, namespace: str, name: str) -> None:
        pod = get(self.state, ObjectKey(kind=Kind.POD, namespace=namespace, name=name))
        if isinstance(pod, Pod):
            meta = attrs.evolve(pod.metadata, labels=pmap({"round": str(self.state.revision)}))
            self.state = put(self.state, attrs.evolve(pod, metadata=meta))

    @rule(namespace=namespaces, name=names, phase=st.sampled_from(tuple(PodPhase)))
    def set_pod_phase(self, namespace: str, name: str, phase: PodPhase) -> None:
        pod = get(self.state, ObjectKey(kind=Kind.POD, namespace=namespace, name=name))
        if isinstance(pod, Pod):
            self.state = put(self.state, attrs.evolve(pod, status=PodStatus(phase=phase)))

    @rule(namespace=namespaces, name=names, at=st.integers(0, 60), grace=st.sampled_from((None, 0, 30)))
    def mark_pod_deleted(self, namespace: str, name: str, at: int, grace: int | None) -> None:
        pod = get(self.state, ObjectKey(kind=Kind.POD, namespace=namespace, name=name))
        if isinstance(pod, Pod):
            meta = attrs.evolve(
                pod.metadata,
                deletion_timestamp=Time(T0 + at),
                deletion_grace_period_seconds=grace,
            )
            self.state = put(self.state, attrs.evolve(pod, metadata=meta))

    @invariant()
    def indexed_exactly_where_a_quota_is_stored(self) -> None:
        with_quota = {
            ns
            for ns in NAMESPACES
            if any(k.kind is Kind.RESOURCE_QUOTA for k in keys_in_namespace(self.state, ns))
        }
        assert set(self.state.quota_usage.keys()) == with_quota

    @invariant()
    def the_index_equals_a_recount(self) -> None:
        for ns in sorted(self.state.quota_usage.keys()):
            recount = recount_usage(self.state.tables, self.state.keys_by_namespace[ns])
            assert self.state.quota_usage[ns] == recount

    @invariant()
    def charges_at_any_time_equal_the_objects_charges(self) -> None:
        for ns in NAMESPACES:
            usage = quota_usage_of(self.state, ns)
            for now in (Time(T0), Time(T0 + 45), Time(T0 + 200)):
                from_index: dict[str, int] = {}
                for bucket in usage.totals.values():
                    for n, q in bucket:
                        from_index[n] = from_index.get(n, 0) + q.nanos
                for key in sorted(usage.deleting):
                    pod = get(self.state, key)
                    assert isinstance(pod, Pod)
                    if charged_now(pod, now):
                        for n, q in pod_compute_usage(pod).items():
                            from_index[n] = from_index.get(n, 0) + q.nanos
                expected: dict[str, int] = {}
                for key in keys_in_namespace(self.state, ns):
                    obj: ApiObject | None = get(self.state, key)
                    assert obj is not None
                    for n, q in charges(obj, now).items():
                        expected[n] = expected.get(n, 0) + q.nanos
                assert {n: v for n, v in from_index.items() if v} == {
                    n: v for n, v in expected.items() if v
                }


TestQuotaIndex = QuotaIndex.TestCase
