"""The imperative shell around the pure core: clock, event queue, effects, the `Cluster`.

`default_components(state)` is the set of components a `kcore` cluster runs: the
control plane (kube-controller-manager's controllers and kube-scheduler) and one kubelet
per Node in `state`. The CLI and the demo build every `Cluster` with it, so adding a
component is adding it here.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from kcore.api.kinds import Kind
from kcore.controllers.cronjob import CronJobController
from kcore.controllers.daemonset import DaemonSetController
from kcore.controllers.deployment import DeploymentController
from kcore.controllers.disruption import DisruptionController
from kcore.controllers.garbagecollector import GarbageCollector
from kcore.controllers.hpa import HorizontalPodAutoscalerController
from kcore.controllers.job import JobController
from kcore.controllers.metricsserver import MetricsServer
from kcore.controllers.namespace import NamespaceController
from kcore.controllers.nodeipam import NodeIpamController
from kcore.controllers.nodelifecycle import NodeLifecycleController
from kcore.controllers.podgc import PodGCController
from kcore.controllers.replicaset import ReplicaSetController, ReplicationControllerController
from kcore.controllers.serviceaccount import ServiceAccountController
from kcore.controllers.statefulset import StatefulSetController
from kcore.controllers.ttlafterfinished import TTLAfterFinishedController
from kcore.driver.bootstrap import NodeShape, create_cluster
from kcore.driver.cluster import AnyComponent, Cluster
from kcore.driver.throttle import upstream_client_limits
from kcore.kubelet.component import Kubelet
from kcore.kubelet.config import KubeletConfig
from kcore.scheduler.component import Scheduler
from kcore.state import ClusterConfig, ClusterState, list_objects


def control_plane() -> tuple[AnyComponent, ...]:
    """kube-controller-manager's controllers and kube-scheduler, in delivery order."""
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
        MetricsServer(),
        HorizontalPodAutoscalerController(),
        Scheduler(),
    )


StaticManifests = Mapping[str, tuple[tuple[str, str], ...]]
"""node name -> (file name, text) of its static pod manifest directory (read by the shell)."""


def kubelets(state: ClusterState, static_manifests: StaticManifests | None = None) -> tuple[AnyComponent, ...]:
    """One kubelet per Node in `state`, in node name order, each with its static pods."""
    statics = static_manifests or {}
    return tuple(
        Kubelet(config=KubeletConfig(node_name=n.metadata.name, static_manifests=statics.get(n.metadata.name, ())))
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
) -> Cluster:
    """A bootstrapped cluster (system namespaces, RBAC, `nodes` Ready nodes) running
    `default_components`, settled: what `kcore cluster create` makes, as a value.

    `throttled` gives every component its upstream client rate limit
    (`kcore.driver.throttle.upstream_client_limits`), so simulated time passes as upstream
    would take it; unthrottled, every request goes out the moment it is made."""
    base = create_cluster(config or ClusterConfig(), nodes=nodes, shape=shape or NodeShape())
    components = default_components(base.state)
    snapshot = base.snapshot()
    if throttled:
        snapshot = attrs.evolve(snapshot, client_limits=upstream_client_limits(c.name for c in components))
    cluster = Cluster(snapshot, components)
    cluster.run_until_stable()
    return cluster
