"""The imperative shell around the pure core: clock, event queue, effects, the `Cluster`.

`default_components(state)` is the set of components a `kcore` cluster runs: the
control plane (kube-controller-manager's controllers, kube-scheduler and the metrics
server add-on) and one kubelet per Node in `state`. The CLI and the demo build every
`Cluster` with it, so adding a component is adding it here.

Each component's name is its upstream id (kube-controller-manager's
cmd/kube-controller-manager/names/controller_names.go, `kube-scheduler`, `kubelet/<node>`);
`ALIASES` maps the other names a user may type for one (upstream's ControllerDescriptor
aliases, the `--controllers` names of before controller_names.go, and kcore's own
earlier names) to it, and `canonical_name` resolves them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import attrs

from kcore.addons.coredns import CoreDNS
from kcore.addons.ingress import IngressController
from kcore.addons.kubeproxy import KubeProxy
from kcore.addons.metricsserver import MetricsServer
from kcore.api.kinds import Kind
from kcore.controllers.cronjob import CronJobController
from kcore.controllers.daemonset import DaemonSetController
from kcore.controllers.deployment import DeploymentController
from kcore.controllers.disruption import DisruptionController
from kcore.controllers.endpoints import EndpointsController
from kcore.controllers.endpointslice import EndpointSliceController
from kcore.controllers.endpointslicemirroring import EndpointSliceMirroringController
from kcore.controllers.garbagecollector import GarbageCollector
from kcore.controllers.hpa import HorizontalPodAutoscalerController
from kcore.controllers.job import JobController
from kcore.controllers.namespace import NamespaceController
from kcore.controllers.nodeipam import NodeIpamController
from kcore.controllers.nodelifecycle import NodeLifecycleController
from kcore.controllers.podgc import PodGCController
from kcore.controllers.replicaset import ReplicaSetController, ReplicationControllerController
from kcore.controllers.serviceaccount import ServiceAccountController
from kcore.controllers.servicelb import ServiceLBController
from kcore.controllers.statefulset import StatefulSetController
from kcore.controllers.ttlafterfinished import TTLAfterFinishedController
from kcore.driver.bootstrap import NodeShape, create_cluster
from kcore.driver.cluster import AnyComponent, Cluster
from kcore.driver.throttle import upstream_client_limits
from kcore.kubelet.component import Kubelet
from kcore.kubelet.config import KubeletConfig
from kcore.network.resolvconf import cluster_dns_ip
from kcore.scheduler.component import Scheduler
from kcore.state import ClusterConfig, ClusterState, list_objects


def control_plane() -> tuple[AnyComponent, ...]:
    """kube-controller-manager's controllers, the cloud's load-balancer controller, the
    metrics server, ingress, CoreDNS and kube-proxy add-ons and kube-scheduler, in delivery
    order."""
    return (
        NamespaceController(),
        ServiceAccountController(),
        GarbageCollector(),
        NodeIpamController(),
        NodeLifecycleController(),
        PodGCController(),
        DeploymentController(),
        ReplicaSetController(),
        ReplicationControllerController(),
        DaemonSetController(),
        StatefulSetController(),
        JobController(),
        CronJobController(),
        TTLAfterFinishedController(),
        DisruptionController(),
        EndpointsController(),
        EndpointSliceController(),
        EndpointSliceMirroringController(),
        ServiceLBController(),
        MetricsServer(),
        IngressController(),
        CoreDNS(),
        KubeProxy(),
        HorizontalPodAutoscalerController(),
        Scheduler(),
    )


ALIASES: Final[Mapping[str, str]] = {
    # kube-controller-manager's aliases (cmd/kube-controller-manager/app: ControllerDescriptor.aliases)
    "namespace": "namespace-controller",
    "serviceaccount": "serviceaccount-controller",
    "garbagecollector": "garbage-collector-controller",
    "nodeipam": "node-ipam-controller",
    "nodelifecycle": "node-lifecycle-controller",
    "podgc": "pod-garbage-collector-controller",
    "deployment": "deployment-controller",
    "replicaset": "replicaset-controller",
    "replicationcontroller": "replicationcontroller-controller",
    "daemonset": "daemonset-controller",
    "statefulset": "statefulset-controller",
    "job": "job-controller",
    "cronjob": "cronjob-controller",
    "ttl-after-finished": "ttl-after-finished-controller",
    "disruption": "disruption-controller",
    "horizontalpodautoscaling": "horizontal-pod-autoscaler-controller",
    "endpoint": "endpoints-controller",
    "endpointslice": "endpointslice-controller",
    "endpointslicemirroring": "endpointslice-mirroring-controller",
    "service": "service-lb-controller",
    "ingress": "ingress-nginx-controller",
    # kcore's earlier names
    "garbage-collector": "garbage-collector-controller",
    "pod-garbage-collector": "pod-garbage-collector-controller",
    "horizontal-pod-autoscaler": "horizontal-pod-autoscaler-controller",
    "scheduler": "kube-scheduler",
}


def canonical_name(name: str) -> str:
    """The component `name` stands for: its canonical id for an alias, else `name`."""
    return ALIASES.get(name, name)


StaticManifests = Mapping[str, tuple[tuple[str, str], ...]]
"""node name -> (file name, text) of its static pod manifest directory (read by the shell)."""


def kubelets(state: ClusterState, static_manifests: StaticManifests | None = None) -> tuple[AnyComponent, ...]:
    """One kubelet per Node in `state`, in node name order, each with its static pods and
    kubeadm's clusterDNS (the 10th address of the service CIDR)."""
    statics = static_manifests or {}
    dns = (cluster_dns_ip(state.config.service_cidr),)
    return tuple(
        Kubelet(
            config=KubeletConfig(
                node_name=n.metadata.name, static_manifests=statics.get(n.metadata.name, ()), cluster_dns=dns
            )
        )
        for n in list_objects(state, Kind.NODE)
    )


def default_components(
    state: ClusterState, static_manifests: StaticManifests | None = None
) -> tuple[AnyComponent, ...]:
    """The components every `kcore` cluster over `state` runs, in delivery order."""
    return (*control_plane(), *kubelets(state, static_manifests))


def new_cluster(
    config: ClusterConfig | None = None,
    *,
    nodes: int = 3,
    shape: NodeShape | None = None,
    throttled: bool = False,
    addons: bool = True,
) -> Cluster:
    """A bootstrapped cluster (system namespaces, RBAC, `nodes` Ready nodes, the add-ons)
    running `default_components`, settled (simulated time runs until the add-ons' pods are
    up): what `kcore cluster create` makes, as a value.

    `throttled` gives every component its upstream client rate limit
    (`kcore.driver.throttle.upstream_client_limits`), so simulated time passes as upstream
    would take it; unthrottled, every request goes out the moment it is made. Without
    `addons` nothing of the add-ons is stored (their components still run, idle)."""
    base = create_cluster(config or ClusterConfig(), nodes=nodes, shape=shape or NodeShape(), addons=addons)
    components = default_components(base.state)
    snapshot = base.snapshot()
    if throttled:
        snapshot = attrs.evolve(snapshot, client_limits=upstream_client_limits(c.name for c in components))
    cluster = Cluster(snapshot, components)
    cluster.settle()  # the add-ons' pods (CoreDNS) are running when the command ends, as kind's `--wait`
    return cluster
