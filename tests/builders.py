"""Builders of API objects with sane defaults, for tests: `a_pod(...)`, `a_node(...)`, ...

Each returns a valid object of its kind as a user would submit it (no uid, no
resourceVersion), so it can be created through the apiserver as is. Keyword arguments
override the interesting parts; anything else is upstream's default. Also `cluster_with`,
which creates objects through `handle` (namespaces first) and returns the state.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

import attrs
from pyrsistent import pmap

from kcore.api.apps import Deployment, DeploymentSpec, ReplicaSet, ReplicaSetSpec
from kcore.api.core import (
    ConfigMap,
    Namespace,
    Node,
    NodeCondition,
    NodeSpec,
    NodeStatus,
    Service,
    ServicePort,
    ServiceSpec,
)
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ApiObject, ConditionStatus, ObjectMeta, OwnerReference, Time
from kcore.api.pod import (
    Container,
    ContainerPort,
    LabelSelector,
    Pod,
    PodSpec,
    PodTemplateSpec,
    ResourceRequirements,
)
from kcore.quantity import parse_quantity
from kcore.state import ClusterConfig, ClusterState, empty_state

T = TypeVar("T", bound=ApiObject)

T0 = Time(1_700_000_000.0)
"""A fixed simulated 'now' for tests (2023-11-14T22:13:20Z)."""


def meta(
    name: str = "",
    namespace: str = "default",
    *,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    generate_name: str = "",
    finalizers: Iterable[str] = (),
    owners: Iterable[OwnerReference] = (),
) -> ObjectMeta:
    """ObjectMeta with the common fields."""
    return ObjectMeta(
        name=name,
        namespace=namespace,
        generate_name=generate_name,
        labels=pmap(labels or {}),
        annotations=pmap(annotations or {}),
        finalizers=tuple(finalizers),
        owner_references=tuple(owners),
    )


def a_container(
    name: str = "app",
    image: str = "nginx:1.25",
    *,
    cpu: str = "",
    memory: str = "",
    ports: Iterable[int] = (),
) -> Container:
    """A container; `cpu`/`memory` set requests (and nothing else) when given."""
    requests = {k: parse_quantity(v) for k, v in (("cpu", cpu), ("memory", memory)) if v}
    return Container(
        name=name,
        image=image,
        ports=tuple(ContainerPort(container_port=p) for p in ports),
        resources=ResourceRequirements(requests=pmap(requests)),
    )


def a_pod_spec(
    *containers: Container, node_name: str = "", grace: int = 30
) -> PodSpec:
    return PodSpec(
        containers=containers or (a_container(),),
        node_name=node_name,
        termination_grace_period_seconds=grace,
    )


def a_pod(
    name: str = "web",
    namespace: str = "default",
    *,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    containers: Iterable[Container] = (),
    node_name: str = "",
    grace: int = 30,
    generate_name: str = "",
    finalizers: Iterable[str] = (),
    owners: Iterable[OwnerReference] = (),
) -> Pod:
    """A pod with one nginx container (unless `containers`), unbound unless `node_name`."""
    return Pod(
        metadata=meta(
            name,
            namespace,
            labels=labels,
            annotations=annotations,
            generate_name=generate_name,
            finalizers=finalizers,
            owners=owners,
        ),
        spec=a_pod_spec(*containers, node_name=node_name, grace=grace),
    )


def a_namespace(name: str = "default", *, labels: Mapping[str, str] | None = None) -> Namespace:
    return Namespace(metadata=meta(name, "", labels=labels))


def a_node(
    name: str = "node-1",
    *,
    cpu: str = "4",
    memory: str = "16Gi",
    pods: str = "110",
    labels: Mapping[str, str] | None = None,
    unschedulable: bool = False,
    ready: bool = True,
) -> Node:
    """A Ready node with capacity = allocatable."""
    capacity = pmap({k: parse_quantity(v) for k, v in (("cpu", cpu), ("memory", memory), ("pods", pods))})
    condition = NodeCondition(
        type="Ready", status=ConditionStatus.TRUE if ready else ConditionStatus.FALSE
    )
    return Node(
        metadata=meta(name, "", labels={"kubernetes.io/hostname": name, **(labels or {})}),
        spec=NodeSpec(unschedulable=unschedulable),
        status=NodeStatus(capacity=capacity, allocatable=capacity, conditions=(condition,)),
    )


def a_template(labels: Mapping[str, str], *containers: Container) -> PodTemplateSpec:
    return PodTemplateSpec(metadata=ObjectMeta(labels=pmap(labels)), spec=a_pod_spec(*containers))


def a_deployment(
    name: str = "web",
    namespace: str = "default",
    *,
    replicas: int = 3,
    labels: Mapping[str, str] | None = None,
    containers: Iterable[Container] = (),
) -> Deployment:
    """A Deployment whose selector matches its template's labels (default app=<name>)."""
    selected = dict(labels or {"app": name})
    return Deployment(
        metadata=meta(name, namespace, labels=selected),
        spec=DeploymentSpec(
            replicas=replicas,
            selector=LabelSelector(match_labels=pmap(selected)),
            template=a_template(selected, *containers),
        ),
    )


def a_replica_set(
    name: str = "web",
    namespace: str = "default",
    *,
    replicas: int = 3,
    labels: Mapping[str, str] | None = None,
    owners: Iterable[OwnerReference] = (),
) -> ReplicaSet:
    selected = dict(labels or {"app": name})
    return ReplicaSet(
        metadata=meta(name, namespace, labels=selected, owners=owners),
        spec=ReplicaSetSpec(
            replicas=replicas,
            selector=LabelSelector(match_labels=pmap(selected)),
            template=a_template(selected),
        ),
    )


def a_service(
    name: str = "web",
    namespace: str = "default",
    *,
    selector: Mapping[str, str] | None = None,
    ports: Iterable[int] = (80,),
) -> Service:
    return Service(
        metadata=meta(name, namespace),
        spec=ServiceSpec(
            selector=pmap(selector if selector is not None else {"app": name}),
            ports=tuple(ServicePort(port=p) for p in ports),
        ),
    )


def a_config_map(
    name: str = "config", namespace: str = "default", *, data: Mapping[str, str] | None = None
) -> ConfigMap:
    return ConfigMap(metadata=meta(name, namespace), data=pmap(data or {}))


def owner_ref(owner: ApiObject, *, controller: bool = True) -> OwnerReference:
    """An ownerReference to a stored `owner` (it must carry its uid)."""
    return OwnerReference(
        api_version=owner.KIND.info.api_version,
        kind=owner.KIND.value,
        name=owner.metadata.name,
        uid=owner.metadata.uid,
        controller=controller,
        block_owner_deletion=True if controller else None,
    )


def key(kind: Kind, name: str, namespace: str = "default") -> ObjectKey:
    """The key of a stored object (namespace ignored for cluster-scoped kinds)."""
    return ObjectKey(kind=kind, namespace=namespace if kind.info.namespaced else "", name=name)


def cluster_with(
    *objects: ApiObject,
    namespaces: Iterable[str] = ("default",),
    config: ClusterConfig | None = None,
    now: Time = T0,
) -> ClusterState:
    """A state holding `namespaces` and `objects`, all created through the apiserver."""
    from kcore.apiserver import handle  # late: builders of plain objects need no apiserver
    from kcore.component.requests import Create

    state = empty_state(config)
    for obj in (*(a_namespace(n) for n in namespaces), *objects):
        state, response, _ = handle(state, Create(obj=obj), now)
        if not response.ok:
            raise AssertionError(f"cannot create {obj.KIND.value} {obj.metadata.name}: {response.body}")
    return state


def with_meta(obj: T, **changes: Any) -> T:
    """`obj` with some metadata fields changed."""
    meta_ = attrs.evolve(obj.metadata, **changes)
    return attrs.evolve(obj, metadata=meta_)  # type: ignore[misc]  # every kind is an attrs class
