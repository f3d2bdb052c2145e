"""The HPA end to end over every default component: a Deployment whose pods report usage
through the metrics server (`kcore.io/*-usage` annotations), scaled by memory and by cpu."""

from __future__ import annotations

from kcore.api.apps import Deployment
from kcore.api.kinds import Kind
from kcore.api.manifest import load_manifests
from kcore.driver import new_cluster
from kcore.state import ClusterConfig, get
from tests.builders import key

MANIFEST = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
      annotations: {kcore.io/cpu-usage: "%(cpu)s", kcore.io/memory-usage: "%(mem)s"}
    spec:
      containers:
      - name: app
        image: nginx:1.27
        resources: {requests: {cpu: 100m, memory: 100Mi}}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web, namespace: default}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 2
  maxReplicas: 10
  metrics:
  - type: Resource
    resource: {name: %(metric)s, target: {type: Utilization, averageUtilization: 50}}
"""


def replicas_over_time(metric: str, cpu: str, mem: str, minutes: int = 4) -> list[int]:
    c = new_cluster(ClusterConfig(seed=8), nodes=3)
    objs = [loaded.obj for loaded in load_manifests(MANIFEST % {"metric": metric, "cpu": cpu, "mem": mem})]
    assert all(a.response.ok for a in c.apply(objs))
    seen = []
    for _ in range(minutes * 4):
        c.advance(15)
        d = get(c.state, key(Kind.DEPLOYMENT, "web"))
        assert isinstance(d, Deployment)
        seen.append(d.spec.replicas or 0)
    return seen


def test_memory_utilization_scales_a_deployment_up_to_its_maximum() -> None:
    seen = replicas_over_time("memory", cpu="10m", mem="200Mi")  # 200% of the request
    assert seen[-1] == 10
    assert seen == sorted(seen) and seen[0] >= 2  # only ever up, within [min, max]


def test_cpu_within_tolerance_keeps_the_deployment_as_it_is() -> None:
    seen = replicas_over_time("cpu", cpu="52m", mem="10Mi")  # 52% of a 50% target: within 0.1
    assert set(seen) == {2}
