"""`kcore apply` settles: right after it, what can run is Running and Ready, and what cannot
is reported, one line per object, on stderr.

The manifests restate the kubernetes/website examples named above each one (the same
objects, names, images and probes; written here in flow style), applied through the CLI
exactly as a user would: `kcore cluster create --nodes 3`, `kcore apply -f`, `kcore get`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kcore.cli import main

# content/en/examples/controllers/nginx-deployment.yaml
NGINX_DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: nginx-deployment, labels: {app.kubernetes.io/name: nginx}}
spec:
  replicas: 3
  selector: {matchLabels: {app.kubernetes.io/name: nginx}}
  template:
    metadata: {labels: {app.kubernetes.io/name: nginx}}
    spec:
      containers: [{name: nginx, image: "nginx:1.14.2", ports: [{containerPort: 80}]}]
"""

# content/en/examples/application/web/web.yaml (a headless Service and an OrderedReady StatefulSet)
WEB_STATEFULSET = """\
apiVersion: v1
kind: Service
metadata: {name: nginx, labels: {app: nginx}}
spec: {ports: [{port: 80, name: web}], clusterIP: None, selector: {app: nginx}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: nginx
  replicas: 2
  selector: {matchLabels: {app: nginx}}
  template:
    metadata: {labels: {app: nginx}}
    spec:
      containers:
      - name: nginx
        image: registry.k8s.io/nginx-slim:0.7
        ports: [{containerPort: 80, name: web}]
        volumeMounts: [{name: www, mountPath: /usr/share/nginx/html}]
  volumeClaimTemplates:
  - metadata: {name: www}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
"""

# content/en/examples/controllers/daemonset.yaml
FLUENTD_DAEMONSET = """\
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: fluentd-elasticsearch, namespace: kube-system, labels: {k8s-app: fluentd-logging}}
spec:
  selector: {matchLabels: {name: fluentd-elasticsearch}}
  template:
    metadata: {labels: {name: fluentd-elasticsearch}}
    spec:
      tolerations: [{key: node-role.kubernetes.io/master, effect: NoSchedule}]
      containers:
      - name: fluentd-elasticsearch
        image: "k8s.gcr.io/fluentd-elasticsearch:1.20"
        resources: {limits: {memory: 200Mi}, requests: {cpu: 100m, memory: 200Mi}}
        volumeMounts:
        - {name: varlog, mountPath: /var/log}
        - {name: varlibdockercontainers, mountPath: /var/lib/docker/containers, readOnly: true}
      terminationGracePeriodSeconds: 30
      volumes:
      - {name: varlog, hostPath: {path: /var/log}}
      - {name: varlibdockercontainers, hostPath: {path: /var/lib/docker/containers}}
"""

# content/en/examples/controllers/job.yaml
PI_JOB = """\
apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  template:
    spec:
      containers: [{name: pi, image: perl, command: [perl, "-Mbignum=bpi", -wle, "print bpi(1000)"]}]
      restartPolicy: Never
  backoffLimit: 4
"""

# content/en/examples/pods/probe/tcp-liveness-readiness.yaml
GOPROXY = """\
apiVersion: v1
kind: Pod
metadata: {name: goproxy, labels: {app.kubernetes.io/name: goproxy}}
spec:
  containers:
  - name: goproxy
    image: "registry.k8s.io/goproxy:0.1"
    ports: [{containerPort: 8080}]
    readinessProbe: {tcpSocket: {port: 8080}, initialDelaySeconds: 15, periodSeconds: 10}
    livenessProbe: {tcpSocket: {port: 8080}, initialDelaySeconds: 15, periodSeconds: 10}
"""

# content/en/examples/debug/termination.yaml: its container exits after `sleep 10`, so under
# restartPolicy Always it crash-loops; the simulated runtime runs no commands, so the
# script annotation says what the command does (docs/runtime.md)
TERMINATION = """\
apiVersion: v1
kind: Pod
metadata: {name: termination-demo, annotations: {kcore.io/run-seconds: "10", kcore.io/exit-code: "0"}}
spec:
  containers:
  - name: termination-demo-container
    image: debian
    command: [/bin/sh]
    args: [-c, "sleep 10 && echo Sleep expired > /dev/termination-log"]
"""

# content/en/examples/pods/resource/cpu-request-limit-2.yaml (100 cpus: more than any node)
CPU_DEMO_2 = """\
apiVersion: v1
kind: Namespace
metadata: {name: cpu-example}
---
apiVersion: v1
kind: Pod
metadata: {name: cpu-demo-2, namespace: cpu-example}
spec:
  containers:
  - {name: cpu-demo-ctr-2, image: vish/stress, resources: {limits: {cpu: "100"}, requests: {cpu: "100"}}, args: [-cpus, "2"]}
"""

# content/en/examples/application/job/cronjob.yaml (every minute there; every 5 minutes here)
HELLO_CRONJOB = """\
apiVersion: batch/v1
kind: CronJob
metadata: {name: hello}
spec:
  schedule: "*/5 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          containers: [{name: hello, image: "busybox:1.28", command: [/bin/sh, -c, date; echo Hello from the Kubernetes cluster]}]
          restartPolicy: OnFailure
"""


@pytest.fixture
def cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Path:
    monkeypatch.setenv("KCORE_HOME", str(tmp_path / "home"))
    assert main(["cluster", "create", "--no-addons", "--nodes", "3"]) == 0
    capsys.readouterr()
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def apply(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, *flags: str) -> tuple[int, str, str]:
    path = tmp_path / "manifest.yaml"
    path.write_text(text)
    return run(capsys, "apply", *flags, "-f", str(path))


def get_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    code, out, err = run(capsys, "get", *argv, "-o", "json")
    assert code == 0, err
    return json.loads(out)


def pods(capsys: pytest.CaptureFixture[str], namespace: str = "default") -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = get_json(capsys, "pods", "-n", namespace)["items"]
    return items


def running_and_ready(pod: dict[str, Any]) -> bool:
    status = pod["status"]
    ready = any(c["type"] == "Ready" and c["status"] == "True" for c in status.get("conditions", []))
    return status.get("phase") == "Running" and ready and bool(status.get("podIP"))


# --- what can run is running right after apply ---------------------------------------------


def test_a_deployment_is_running_and_ready_right_after_apply(cluster: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = apply(cluster, capsys, NGINX_DEPLOYMENT)
    assert (code, out, err) == (0, "deployment.apps/nginx-deployment created\n", "settled after 1s (simulated)\n")
    listed = pods(capsys)
    assert len(listed) == 3 and all(running_and_ready(p) for p in listed)
    assert len({p["spec"]["nodeName"] for p in listed}) == 3
    status = get_json(capsys, "deployment", "nginx-deployment")["status"]
    assert (status["replicas"], status["readyReplicas"], status["availableReplicas"], status["updatedReplicas"]) == (3, 3, 3, 3)
    code, out, _ = run(capsys, "get", "deploy")
    assert out.splitlines()[1].split()[:4] == ["nginx-deployment", "3/3", "3", "3"]


def test_an_ordered_ready_statefulset_is_running_in_order_right_after_apply(cluster: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = apply(cluster, capsys, WEB_STATEFULSET)
    assert code == 0 and out == "service/nginx created\nstatefulset.apps/web created\n"
    assert err == "settled after 2s (simulated)\n"  # web-0 pulls and becomes Ready, then web-1
    listed = pods(capsys)
    assert [p["metadata"]["name"] for p in listed] == ["web-0", "web-1"]
    assert all(running_and_ready(p) for p in listed)
    started = [p["status"]["startTime"] for p in listed]
    assert started[0] < started[1]  # OrderedReady: web-1 only once web-0 was Ready
    status = get_json(capsys, "statefulset", "web")["status"]
    assert (status["replicas"], status["readyReplicas"], status["availableReplicas"]) == (2, 2, 2)
    assert len(get_json(capsys, "pvc")["items"]) == 2


def test_a_daemonset_runs_one_ready_pod_per_node_right_after_apply(cluster: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = apply(cluster, capsys, FLUENTD_DAEMONSET)
    assert (code, err) == (0, "settled after 1s (simulated)\n")
    listed = pods(capsys, "kube-system")
    assert sorted(p["spec"]["nodeName"] for p in listed) == ["node-1", "node-2", "node-3"]
    assert all(running_and_ready(p) for p in listed)
    status = get_json(capsys, "daemonset", "fluentd-elasticsearch", "-n", "kube-system")["status"]
    assert (status["desiredNumberScheduled"], status["numberReady"], status["numberAvailable"]) == (3, 3, 3)


def test_a_job_has_completed_right_after_apply(cluster: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = apply(cluster, capsys, PI_JOB)
    assert (code, err) == (0, "settled after 2s (simulated)\n")  # pull 1 s, run 1 s
    job = get_json(capsys, "job", "pi")
    assert job["status"]["succeeded"] == 1
    assert [c["type"] for c in job["status"]["conditions"] if c["status"] == "True"] == ["SuccessCriteriaMet", "Complete"]
    [pod] = pods(capsys)
    assert pod["status"]["phase"] == "Succeeded"


def test_a_readiness_probe_with_an_initial_delay_is_ready_right_after_apply(cluster: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = apply(cluster, capsys, GOPROXY)
    # started at 1 s; the probes' grid is start + k * 10 s past the 15 s delay: 21 s
    assert (code, err) == (0, "settled after 21s (simulated)\n")
    [pod] = pods(capsys)
    assert running_and_ready(pod)


# --- what cannot settle is reported, and settling ends without reaching its bound ------------


def test_a_crash_looping_pod_is_reported_in_crash_loop_back_off(cluster: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = apply(cluster, capsys, TERMINATION)
    assert (code, out) == (0, "pod/termination-demo created\n")
    # pulled at 1 s, exits at 11 s, restarted at once, exits at 21 s: then the back-off
    assert err == "settled after 21s (simulated)\npod/termination-demo: CrashLoopBackOff\n"
    code, out, _ = run(capsys, "get", "pods")
    assert out.splitlines()[1].split()[:4] == ["termination-demo", "0/1", "CrashLoopBackOff", "1"]


def test_an_unschedulable_pod_is_reported_with_the_schedulers_reason(cluster: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = apply(cluster, capsys, CPU_DEMO_2)
    assert (code, out) == (0, "namespace/cpu-example created\npod/cpu-demo-2 created\n")
    assert err.startswith("pod/cpu-demo-2: Unschedulable: 0/3 nodes are available: 3 Insufficient cpu.")
    assert "settled after" not in err  # nothing was in motion: no simulated time passed
    [pod] = pods(capsys, "cpu-example")
    assert pod["status"]["phase"] == "Pending" and "nodeName" not in pod["spec"]


def test_a_workload_that_cannot_settle_names_the_pod_that_holds_it_back(cluster: Path, capsys: pytest.CaptureFixture[str]) -> None:
    crashing = NGINX_DEPLOYMENT.replace(
        "metadata: {labels: {app.kubernetes.io/name: nginx}}",
        'metadata: {labels: {app.kubernetes.io/name: nginx}, annotations: {kcore.io/exit-code: "1"}}',
    )
    code, _, err = apply(cluster, capsys, crashing)
    lines = err.splitlines()
    assert code == 0 and lines[0] == "settled after 3s (simulated)"
    assert lines[1].startswith("deployment.apps/nginx-deployment: 0/3 ready (pod nginx-deployment-")
    assert lines[1].endswith(": CrashLoopBackOff, 2 more)")
    assert len(lines) == 2


# --- --wait=false, --timeout ------------------------------------------------------------------


def test_apply_with_wait_false_returns_at_once(cluster: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = apply(cluster, capsys, NGINX_DEPLOYMENT, "--wait=false")
    assert (code, out, err) == (0, "deployment.apps/nginx-deployment created\n", "")
    statuses = {p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] for p in pods(capsys)}
    assert statuses == {"ContainerCreating"}
    code, out, _ = run(capsys, "get", "pods")
    assert {line.split()[2] for line in out.splitlines()[1:]} == {"ContainerCreating"}


def test_no_wait_is_the_same_as_wait_false(cluster: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert apply(cluster, capsys, PI_JOB, "--no-wait")[2] == ""
    [pod] = pods(capsys)
    assert pod["status"]["phase"] == "Pending"


def test_settling_stops_at_its_timeout_and_says_so(cluster: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = apply(cluster, capsys, GOPROXY, "--timeout", "10s")
    assert code == 0
    assert err == (
        "settled after 10s (simulated)\n"
        "Warning: work was still in motion after 10s (simulated; --timeout)\n"
        "pod/goproxy: Running, not ready\n"
    )


def test_a_bad_timeout_is_an_error_and_stores_nothing(cluster: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = apply(cluster, capsys, PI_JOB, "--timeout", "soon")
    assert (code, out) == (1, "")
    assert err.startswith('error: --timeout: invalid duration "soon"')
    assert run(capsys, "get", "jobs") == (0, "", "No resources found in default namespace.\n")


# --- other mutating commands settle too -----------------------------------------------------------


def test_scale_and_delete_settle(cluster: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert apply(cluster, capsys, NGINX_DEPLOYMENT)[0] == 0
    code, out, err = run(capsys, "scale", "deployment/nginx-deployment", "--replicas", "5")
    # the image is on every node already (IfNotPresent): the new pods start at once
    assert (code, out, err) == (0, "deployment.apps/nginx-deployment scaled\n", "")
    assert sum(running_and_ready(p) for p in pods(capsys)) == 5
    code, out, err = run(capsys, "delete", "deployment", "nginx-deployment")
    assert (code, out) == (0, 'deployment.apps "nginx-deployment" deleted\n')
    assert pods(capsys) == []  # the garbage collector and the kubelets' graceful stops played out
    assert get_json(capsys, "rs")["items"] == []


def test_deleting_a_namespace_settles_until_it_is_gone(cluster: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert apply(cluster, capsys, CPU_DEMO_2)[0] == 0
    code, out, err = run(capsys, "delete", "namespace", "cpu-example")
    # the namespace controller deletes the pod, then looks again a second later: empty, gone
    assert (code, out, err) == (0, 'namespace "cpu-example" deleted\n', "settled after 1s (simulated)\n")
    assert run(capsys, "get", "namespace", "cpu-example")[0] == 1


def test_a_container_kill_settles_through_the_restart(cluster: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert apply(cluster, capsys, GOPROXY)[0] == 0
    code, out, err = run(capsys, "fault", "kill-container", "goproxy")
    assert (code, out) == (0, "injected KillContainer: goproxy\n")
    assert err == "settled after 20s (simulated)\n"  # restarted at once; ready again past the probe delay
    [pod] = pods(capsys)
    assert running_and_ready(pod) and pod["status"]["containerStatuses"][0]["restartCount"] == 1


# --- merely scheduled work does not run ahead --------------------------------------------------


def test_a_cronjob_applied_alone_runs_no_job_while_settling(cluster: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = apply(cluster, capsys, HELLO_CRONJOB)
    assert (code, out, err) == (0, "cronjob.batch/hello created\n", "")
    assert get_json(capsys, "jobs")["items"] == []
    assert run(capsys, "advance", "5m1s")[0] == 0  # past the schedule's first time, 00:05
    [job] = get_json(capsys, "jobs")["items"]
    assert job["metadata"]["ownerReferences"][0]["name"] == "hello"


def test_a_cronjob_runs_when_settling_passes_its_schedule(cluster: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "advance", "4m50s")[0] == 0
    assert apply(cluster, capsys, HELLO_CRONJOB)[0] == 0
    # a slow readiness (30 s) keeps settling going past 00:05: the Job starts and completes
    slow = GOPROXY.replace("initialDelaySeconds: 15", "initialDelaySeconds: 30")
    code, _, err = apply(cluster, capsys, slow)
    assert code == 0 and err.startswith("settled after 31s (simulated)")
    [job] = get_json(capsys, "jobs")["items"]
    assert job["status"]["succeeded"] == 1


def test_the_step_bound_of_one_instant_grows_with_the_cluster() -> None:
    """A big cluster's first instant after a big apply is legitimately long (10,000 pods on
    5,000 nodes need more than the 200,000 floor); the bound only catches hot loops."""
    from pyrsistent import pmap

    from kcore.api.core import ConfigMap
    from kcore.api.meta import ObjectMeta
    from kcore.cli.session import MAX_STEPS, STEPS_PER_OBJECT, max_steps
    from kcore.driver.cluster import Cluster
    from kcore.state import empty_state, put

    state = empty_state()
    assert max_steps(Cluster.empty(state)) == MAX_STEPS
    for i in range(2_500):
        state = put(state, ConfigMap(metadata=ObjectMeta(name=f"c{i}", namespace="default", uid=f"u{i}"), data=pmap()))
    assert max_steps(Cluster.empty(state)) == 2_500 * STEPS_PER_OBJECT > MAX_STEPS
