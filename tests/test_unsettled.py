"""`kcore.unsettled`: what a settled cluster still lacks, one line per object."""

from __future__ import annotations

import attrs

from kcore.api.manifest import load_manifests
from kcore.driver import new_cluster
from kcore.driver.cluster import Cluster
from kcore.state import ClusterConfig
from kcore.unsettled import unsettled


def settled(manifest: str, *, settle: bool = True) -> Cluster:
    cluster = new_cluster(ClusterConfig(seed=5), nodes=2)
    objs = []
    for loaded in load_manifests(manifest, defaults=False):
        obj = loaded.obj
        if obj.KIND.info.namespaced and not obj.metadata.namespace:
            obj = attrs.evolve(obj, metadata=attrs.evolve(obj.metadata, namespace="default"))  # type: ignore[misc]
        objs.append(obj)
    assert all(r.response.ok for r in cluster.apply(objs))
    if settle:
        cluster.settle()
    return cluster


def lines(cluster: Cluster) -> list[str]:
    return [u.line for u in unsettled(cluster.state)]


def deployment(name: str, *, paused: bool = False, annotations: str = "{}") -> str:
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}}}
spec:
  replicas: 2
  paused: {str(paused).lower()}
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}, annotations: {annotations}}}
    spec: {{containers: [{{name: app, image: nginx}}]}}
"""


def job(name: str, *, suspend: bool = False, exit_code: int = 0, backoff: int = 0) -> str:
    return f"""
apiVersion: batch/v1
kind: Job
metadata: {{name: {name}}}
spec:
  suspend: {str(suspend).lower()}
  backoffLimit: {backoff}
  template:
    metadata: {{annotations: {{kcore.io/exit-code: "{exit_code}"}}}}
    spec: {{restartPolicy: Never, containers: [{{name: app, image: busybox}}]}}
"""


def test_a_settled_cluster_has_nothing_to_report() -> None:
    assert lines(settled(deployment("web") + "---" + job("done"))) == []


def test_a_rollout_in_progress_names_the_first_pod_holding_it_back() -> None:
    cluster = settled(deployment("web"), settle=False)
    cluster.run_until_stable()
    [line] = lines(cluster)
    assert line.startswith("deployment.apps/web: 0/2 ready (pod web-") and line.endswith(": ContainerCreating, 1 more)")


def test_a_paused_deployment_is_settled_as_it_is() -> None:
    assert lines(settled(deployment("held", paused=True))) == []


def test_a_finished_job_is_settled_failed_or_complete_and_a_suspended_one_too() -> None:
    assert lines(settled(job("failed", exit_code=3) + "---" + job("later", suspend=True))) == []


def test_a_running_job_says_how_many_completed() -> None:
    cluster = settled(job("pi"), settle=False)
    cluster.run_until_stable()
    [line] = lines(cluster)
    assert line.startswith("job.batch/pi: 0/1 complete (pod pi-") and line.endswith(": ContainerCreating)")


def test_pods_and_namespaces_being_deleted_are_not_settled() -> None:
    cluster = settled(
        """
apiVersion: v1
kind: Namespace
metadata: {name: gone}
---
apiVersion: v1
kind: Pod
metadata: {name: slow, namespace: gone, annotations: {kcore.io/stop-seconds: "20"}}
spec: {containers: [{name: app, image: nginx}]}
"""
    )
    from kcore.api.kinds import Kind, ObjectKey
    from kcore.component.requests import Delete

    assert cluster.request(Delete(key=ObjectKey(kind=Kind.NAMESPACE, namespace="", name="gone"))).ok
    cluster.run_until_stable()
    assert lines(cluster) == ["pod/slow: Terminating", "namespace/gone: Terminating"]
    cluster.settle()
    assert lines(cluster) == []
