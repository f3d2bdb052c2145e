"""Settling a whole cluster's pods: the kubelet's and the scheduler's marks of what is in motion.

Each test applies objects to a 3-node cluster (`new_cluster`), settles, and checks when
settling ended and what the pods and `kcore.unsettled` say then. The default image pull
takes 1 s; containers start at once after it.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs
import pytest

from kcore.api.kinds import Kind, ObjectKey
from kcore.api.manifest import load_manifests
from kcore.api.pod import Pod
from kcore.driver import new_cluster
from kcore.driver.cluster import Cluster
from kcore.driver.settling import SettleEnd
from kcore.printers import pod_status_text
from kcore.state import ClusterConfig, get
from kcore.unsettled import unsettled


def settled_cluster(manifest: str) -> tuple[Cluster, float, SettleEnd]:
    cluster = new_cluster(ClusterConfig(seed=3), nodes=3)
    objs = []
    for loaded in load_manifests(manifest, defaults=False):
        obj = loaded.obj
        if not obj.metadata.namespace:
            obj = attrs.evolve(obj, metadata=attrs.evolve(obj.metadata, namespace="default"))  # type: ignore[misc]
        objs.append(obj)
    assert all(r.response.ok for r in cluster.apply(objs))
    settled = cluster.settle()
    return cluster, settled.seconds, settled.end


def pod(cluster: Cluster, name: str) -> Pod:
    found = get(cluster.state, ObjectKey(kind=Kind.POD, namespace="default", name=name))
    assert isinstance(found, Pod)
    return found


def ready(p: Pod) -> bool:
    return any(c.type == "Ready" and c.status.value == "True" for c in p.status.conditions)


def lines(cluster: Cluster) -> list[str]:
    return [u.line for u in unsettled(cluster.state)]


def a_pod(name: str, annotations: Mapping[str, str] | None = None, container: str = "") -> str:
    """A one-container nginx pod; `container` adds lines to the container (probes, resources)."""
    notes = ", ".join(f"{k}: {v!r}" for k, v in (annotations or {}).items())
    return f"""
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  annotations: {{{notes}}}
spec:
  containers:
  - name: web
    image: nginx{container}
"""


def test_a_pod_without_probes_settles_running_and_ready_after_its_pull() -> None:
    cluster, seconds, end = settled_cluster(a_pod("plain"))
    assert (end, seconds) == (SettleEnd.SETTLED, 1.0)
    p = pod(cluster, "plain")
    assert ready(p) and p.status.pod_ip
    assert lines(cluster) == []


def test_a_readiness_probe_with_an_initial_delay_settles_once_it_passed() -> None:
    probe = "\n    readinessProbe: {tcpSocket: {port: 8080}, initialDelaySeconds: 15, periodSeconds: 10}"
    cluster, seconds, end = settled_cluster(a_pod("goproxy", container=probe))
    # the container starts at 1 s; the probe's grid is start + k * 10 s, past the 15 s delay
    assert (end, seconds) == (SettleEnd.SETTLED, 21.0)
    assert ready(pod(cluster, "goproxy"))


def test_a_slow_starting_container_settles_when_its_script_makes_it_ready() -> None:
    probe = "\n    readinessProbe: {httpGet: {path: /, port: 80}, periodSeconds: 5}"
    cluster, seconds, end = settled_cluster(a_pod("slow", {"kcore.io/ready-after": "15"}, probe))
    # ticks at 1, 6, 11 fail (three failures decide nothing: the script says it warms up), 16 passes
    assert (end, seconds) == (SettleEnd.SETTLED, 16.0)
    assert ready(pod(cluster, "slow"))


def test_a_readiness_probe_that_never_passes_ends_settling_after_its_failure_threshold() -> None:
    probe = "\n    readinessProbe: {httpGet: {path: /, port: 80}, periodSeconds: 5}"
    cluster, seconds, end = settled_cluster(a_pod("never", {"kcore.io/ready-after": "never"}, probe))
    assert (end, seconds) == (SettleEnd.SETTLED, 11.0)  # failures at 1, 6 and 11: failing for good
    assert lines(cluster) == ["pod/never: Running, not ready"]


def test_a_crash_looping_deployment_settles_in_crash_loop_back_off_and_says_so() -> None:
    cluster, seconds, end = settled_cluster(
        """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}, annotations: {kcore.io/exit-code: "1"}}
    spec:
      containers: [{name: web, image: nginx}]
"""
    )
    # pulled at 1 s, exits at 2 s, restarted at once, exits at 3 s: then a 10 s back-off
    assert (end, seconds) == (SettleEnd.SETTLED, 3.0)
    [line] = lines(cluster)
    assert line.startswith("deployment.apps/web: 0/2 ready (pod web-") and line.endswith(": CrashLoopBackOff, 1 more)")


def test_an_unschedulable_pod_ends_settling_at_once_with_the_schedulers_reason() -> None:
    big = "\n    resources: {requests: {cpu: '100'}}"
    cluster, seconds, end = settled_cluster(a_pod("huge", container=big))
    assert (end, seconds) == (SettleEnd.SETTLED, 0.0)
    [line] = lines(cluster)
    assert line.startswith("pod/huge: Unschedulable: 0/3 nodes are available: 3 Insufficient cpu.")


def test_an_image_that_never_pulls_settles_in_image_pull_back_off() -> None:
    cluster, seconds, end = settled_cluster(a_pod("badimg", {"kcore.io/fail-image-pull": "true"}))
    # fails at 1 s, ImagePullBackOff at 2 s, the first retry at 11 s fails at 12 s: a repeat
    assert (end, seconds) == (SettleEnd.SETTLED, 13.0)
    assert pod_status_text(pod(cluster, "badimg")) == "ImagePullBackOff"
    assert lines(cluster) == ["pod/badimg: ImagePullBackOff"]


def test_an_image_pull_that_fails_once_is_retried_and_runs() -> None:
    cluster, seconds, end = settled_cluster(a_pod("flaky", {"kcore.io/fail-image-pull": "1"}))
    assert (end, seconds) == (SettleEnd.SETTLED, 12.0)
    assert ready(pod(cluster, "flaky"))


def test_a_startup_probe_that_kills_again_and_again_lets_settling_end() -> None:
    probe = "\n    startupProbe: {httpGet: {path: /, port: 80}, periodSeconds: 10, failureThreshold: 3}"
    cluster, seconds, end = settled_cluster(a_pod("boot", {"kcore.io/startup-after": "100"}, probe))
    # three failures (1, 11, 21 s) kill it; it restarts at once; the same probe again is a repeat
    assert (end, seconds) == (SettleEnd.SETTLED, 21.0)
    assert pod(cluster, "boot").status.container_statuses[0].restart_count == 1


@pytest.mark.parametrize("seed", [1, 2])
def test_settling_the_same_input_twice_gives_the_same_cluster(seed: int) -> None:
    manifest = a_pod("a") + "---" + a_pod("b", {"kcore.io/ready-after": "7"}, "\n    readinessProbe: {exec: {command: [x]}}")
    one, _, _ = settled_cluster(manifest)
    two, _, _ = settled_cluster(manifest)
    assert one.snapshot() == two.snapshot()
