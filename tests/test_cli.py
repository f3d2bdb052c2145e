"""The `kcore` command, run in-process against a real cluster in a temporary KCORE_HOME."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kcore.api.codec import from_dict
from kcore.api.kinds import Kind
from kcore.api.meta import Time
from kcore.cli import main
from kcore.driver.clock import EPOCH
from kcore.printers import human_duration, table

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: {replicas}
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: nginx
          image: nginx:1.27
"""

CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}
data:
  key: {value}
"""


def deployment(replicas: int = 2) -> str:
    return DEPLOYMENT.replace("{replicas}", str(replicas))


def configmap(name: str = "cfg", value: str = "v1") -> str:
    return CONFIGMAP.format(name=name, value=value)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    h = tmp_path / "home"
    monkeypatch.setenv("KCORE_HOME", str(h))
    return h


@pytest.fixture
def cluster(home: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert main(["cluster", "create", "--no-addons", "--nodes", "2"]) == 0
    capsys.readouterr()
    return home


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def write(tmp_path: Path, name: str, text: str) -> str:
    p = tmp_path / name
    p.write_text(text)
    return str(p)


# --- cluster ---------------------------------------------------------------------------------


def test_cluster_create_makes_ready_nodes(cluster: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "get", "nodes")
    assert code == 0
    assert out == (
        "NAME     STATUS   ROLES    AGE   VERSION\n"
        "node-1   Ready    <none>   0s    v1.30.0-kcore\n"
        "node-2   Ready    <none>   0s    v1.30.0-kcore\n"
    )


def test_node_capacity_follows_the_flags(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cluster", "create", "--no-addons", "--nodes", "1", "--node-cpu", "8", "--node-memory", "32Gi", "--pods", "50"]) == 0
    capsys.readouterr()
    _, out, _ = run(capsys, "get", "node", "node-1", "-o", "json")
    status = json.loads(out)["status"]
    assert status["capacity"] == status["allocatable"] == {
        "cpu": "8",
        "ephemeral-storage": "100Gi",
        "memory": "32Gi",
        "pods": "50",
    }


def test_cluster_create_twice_is_an_error(cluster: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "cluster", "create")
    assert code == 1 and "already exists" in err


def test_a_missing_home_is_a_clear_error(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["get", "pods"], ["apply", "-f", "-"], ["cluster", "info"], ["advance", "1m"]):
        code, _, err = run(capsys, *argv)
        assert code == 1, argv
        assert err.startswith("error: no cluster: run `kcore cluster create`"), argv
    assert not home.exists()


def test_cluster_info_and_delete(cluster: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "cluster", "info")
    assert code == 0 and "nodes:    2" in out and "2026-01-01T00:00:00Z" in out
    assert run(capsys, "cluster", "delete")[0] == 0
    assert not cluster.exists()
    assert run(capsys, "cluster", "delete")[0] == 1


def test_system_namespaces_exist(cluster: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "get", "ns", "-o", "name")
    assert out.split() == [
        "namespace/default",
        "namespace/kube-node-lease",
        "namespace/kube-public",
        "namespace/kube-system",
    ]


# --- apply -----------------------------------------------------------------------------------


def test_apply_creates_then_unchanged_then_configured(
    cluster: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = write(tmp_path, "d.yaml", deployment(2))
    assert run(capsys, "apply", "-f", f)[:2] == (0, "deployment.apps/web created\n")
    assert run(capsys, "apply", "-f", f)[:2] == (0, "deployment.apps/web unchanged\n")
    f = write(tmp_path, "d.yaml", deployment(4))
    assert run(capsys, "apply", "-f", f)[:2] == (0, "deployment.apps/web configured\n")
    _, out, _ = run(capsys, "get", "deploy", "web", "-o", "json")
    assert json.loads(out)["spec"]["replicas"] == 4


def test_apply_a_directory_in_name_order_and_stdin(
    cluster: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    d = tmp_path / "m"
    d.mkdir()
    write(d, "b.yaml", configmap("b"))
    write(d, "a.yml", configmap("a"))
    write(d, "c.json", json.dumps(yaml.safe_load(configmap("c"))))
    write(d, "notes.txt", "not a manifest")
    code, out, _ = run(capsys, "apply", "-f", str(d))
    assert (code, out) == (0, "configmap/a created\nconfigmap/b created\nconfigmap/c created\n")
    monkeypatch.setattr(sys, "stdin", __import__("io").StringIO(configmap("d")))
    assert run(capsys, "apply", "-f", "-")[:2] == (0, "configmap/d created\n")


def test_apply_an_invalid_object_reports_the_field_and_stores_nothing(
    cluster: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = write(tmp_path, "x.yaml", deployment(-1) + "---\n" + configmap("ok"))
    code, out, err = run(capsys, "apply", "-f", f)
    assert code == 1
    assert out == "configmap/ok created\n"
    assert err.startswith(f'Error from server (Invalid): error when creating "{f}": Deployment.apps "web" is invalid: ')
    assert "spec.replicas: Invalid value: -1: must be greater than or equal to 0" in err
    code, _, err = run(capsys, "get", "deploy", "web")
    assert (code, err) == (1, 'Error from server (NotFound): deployments.apps "web" not found\n')


def test_unknown_fields_warn_on_stderr(cluster: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = write(tmp_path, "x.yaml", configmap("w") + "spec:\n  foo: 1\n")
    code, out, err = run(capsys, "apply", "-f", f)
    assert (code, out) == (0, "configmap/w created\n")
    assert 'Warning: unknown field "spec"' in err


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("kind: [unclosed\n", "error parsing"),
        ("apiVersion: v1\nkind: Frobnicator\nmetadata: {name: x}\n", "Frobnicator"),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: 5\n", "data"),
    ],
)
def test_a_bad_manifest_fails_before_anything_is_applied(
    cluster: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, needle: str
) -> None:
    f = write(tmp_path, "x.yaml", configmap("first") + "---\n" + text)
    code, out, err = run(capsys, "apply", "-f", f)
    assert code == 1 and out == ""
    assert err.startswith("error: ") and needle in err
    assert run(capsys, "get", "cm", "first")[0] == 1


def test_apply_a_missing_path_is_an_error(cluster: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "apply", "-f", "/no/such.yaml")
    assert (code, err) == (1, 'error: the path "/no/such.yaml" does not exist\n')


def test_apply_honours_namespace_flag_and_refuses_a_mismatch(
    cluster: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = write(tmp_path, "x.yaml", configmap("a"))
    assert run(capsys, "apply", "-f", f, "-n", "kube-system")[0] == 0
    assert run(capsys, "get", "cm", "a", "-n", "kube-system")[0] == 0
    g = write(tmp_path, "y.yaml", configmap("b").replace("name: b", "name: b\n  namespace: default"))
    code, _, err = run(capsys, "apply", "-f", g, "-n", "kube-system")
    assert code == 1 and "does not match the namespace" in err


# --- get -------------------------------------------------------------------------------------


def test_get_json_of_several_is_a_list_and_of_one_the_object(
    cluster: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "apply", "-f", write(tmp_path, "a.yaml", configmap("a") + "---\n" + configmap("b")))
    _, out, _ = run(capsys, "get", "configmaps", "-o", "json")
    doc = json.loads(out)
    assert (doc["apiVersion"], doc["kind"], doc["metadata"]) == ("v1", "List", {"resourceVersion": ""})
    assert [(i["apiVersion"], i["kind"], i["metadata"]["name"]) for i in doc["items"]] == [
        ("v1", "ConfigMap", "a"),
        ("v1", "ConfigMap", "b"),
    ]
    _, out, _ = run(capsys, "get", "cm/a", "-o", "json")
    one = json.loads(out)
    assert (one["kind"], one["metadata"]["name"], one["data"]) == ("ConfigMap", "a", {"key": "v1"})
    _, out, _ = run(capsys, "get", "cm", "b", "-o", "yaml")
    assert yaml.safe_load(out)["metadata"]["name"] == "b"


EMPTY_LIST_JSON = """\
{
    "apiVersion": "v1",
    "items": [],
    "kind": "List",
    "metadata": {
        "resourceVersion": ""
    }
}
"""
EMPTY_LIST_YAML = 'apiVersion: v1\nitems: []\nkind: List\nmetadata:\n  resourceVersion: ""\n'


@pytest.mark.parametrize("argv", [("pods", "-A"), ("pods", "-n", "nowhere"), ("deploy,sts",), ("pods", "-l", "app=none")])
def test_get_of_nothing_prints_an_empty_list_as_kubectl(
    cluster: Path, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]
) -> None:
    """kubectl prints an empty List for -o json|yaml, nothing for -o name, and the "No
    resources found" line (on stderr) for tables only; every one exits 0."""
    assert run(capsys, "get", *argv, "-o", "json") == (0, EMPTY_LIST_JSON, "")
    assert run(capsys, "get", *argv, "-o", "yaml") == (0, EMPTY_LIST_YAML, "")
    assert run(capsys, "get", *argv, "-o", "name") == (0, "", "")
    code, out, err = run(capsys, "get", *argv, "-o", "wide")
    assert (code, out) == (0, "") and err.startswith("No resources found")
    assert json.loads(EMPTY_LIST_JSON) == yaml.safe_load(EMPTY_LIST_YAML)


def test_get_of_a_missing_name_prints_only_the_error(cluster: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "get", "pod", "ghost", "-o", "json") == (1, "", 'Error from server (NotFound): pods "ghost" not found\n')


def test_get_table_selector_all_namespaces_and_empty(
    cluster: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "get", "pods")
    assert (code, out, err) == (0, "", "No resources found in default namespace.\n")
    labelled = configmap("a").replace("name: a", "name: a\n  labels: {tier: x}")
    run(capsys, "apply", "-f", write(tmp_path, "a.yaml", labelled + "---\n" + configmap("b")))
    run(capsys, "apply", "-f", write(tmp_path, "c.yaml", configmap("c")), "-n", "kube-public")
    assert run(capsys, "get", "cm", "-l", "tier=x", "-o", "name")[1] == "configmap/a\n"
    code, out, _ = run(capsys, "get", "cm", "-A")
    assert out.splitlines() == [
        "NAMESPACE     NAME   DATA   AGE",
        "default       a      1      0s",
        "default       b      1      0s",
        "kube-public   c      1      0s",
    ]
    assert run(capsys, "get", "cm", "--field-selector", "metadata.name=b", "-o", "name")[1] == "configmap/b\n"


def test_get_an_unknown_kind_or_missing_object_fails(cluster: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "get", "frobs") == (1, "", 'error: the server doesn\'t have a resource type "frobs"\n')
    assert run(capsys, "get", "po", "x") == (1, "", 'Error from server (NotFound): pods "x" not found\n')


def test_get_short_names_resolve(cluster: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("po", "svc", "deploy", "rs", "rc", "sts", "ds", "cj", "ep", "no", "ns", "ev", "hpa", "ing", "quota", "limits", "cm", "secret", "sa", "pvc"):
        code, _, err = run(capsys, "get", name, "-A")
        assert code == 0, (name, err)


# --- delete, scale, advance -------------------------------------------------------------------


def test_delete_by_name_and_by_file(cluster: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = write(tmp_path, "a.yaml", configmap("a") + "---\n" + configmap("b"))
    run(capsys, "apply", "-f", f)
    assert run(capsys, "delete", "cm", "a")[:2] == (0, 'configmap "a" deleted\n')
    assert run(capsys, "get", "cm", "a")[0] == 1
    code, out, err = run(capsys, "delete", "-f", f)
    assert code == 1 and out == 'configmap "b" deleted\n'
    assert err == 'Error from server (NotFound): configmaps "a" not found\n'


def test_scale_goes_through_the_scale_subresource(
    cluster: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "apply", "-f", write(tmp_path, "d.yaml", deployment(2)))
    assert run(capsys, "scale", "deployment/web", "--replicas", "5")[:2] == (0, "deployment.apps/web scaled\n")
    _, out, _ = run(capsys, "get", "deploy", "web", "-o", "json")
    assert json.loads(out)["spec"]["replicas"] == 5
    assert run(capsys, "scale", "cm/x", "--replicas", "1")[0] == 1
    assert run(capsys, "scale", "deploy/nope", "--replicas", "1")[0] == 1


def test_advance_moves_the_simulated_clock(cluster: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "advance", "1h30m")[:2] == (0, "advanced 1h30m: now 2026-01-01T01:30:00Z\n")
    _, out, _ = run(capsys, "get", "ns", "default")
    assert out.splitlines()[1].split() == ["default", "Active", "90m"]
    assert run(capsys, "advance", "soon")[0] == 1


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["get"]) == 2
    assert main(["scale", "deploy/x"]) == 2


# --- printers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (119, "119s"), (120, "2m"), (150, "2m30s"), (600, "10m"), (3 * 3600, "3h"), (3 * 3600 + 60, "3h1m"), (9 * 3600, "9h"), (50 * 3600, "2d2h"), (10 * 86400, "10d"), (800 * 86400, "2y70d"), (-5, "<invalid>")],
)
def test_human_duration_matches_kubectl(seconds: int, text: str) -> None:
    assert human_duration(seconds) == text


def test_the_pod_table_shows_ready_status_restarts_and_wide_columns() -> None:
    pod = from_dict(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p", "namespace": "default", "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"nodeName": "node-1", "containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]},
            "status": {
                "phase": "Running",
                "podIP": "10.244.0.5",
                "containerStatuses": [
                    {"name": "a", "ready": True, "restartCount": 2, "image": "x", "imageID": "", "state": {"running": {}}},
                    {"name": "b", "ready": False, "restartCount": 1, "image": "y", "imageID": "", "state": {"waiting": {"reason": "CrashLoopBackOff"}}},
                ],
            },
        }
    ).obj
    assert table([pod], Kind.POD, Time(EPOCH + 65), wide=True) == (
        "NAME   READY   STATUS             RESTARTS   AGE   IP           NODE     NOMINATED NODE   READINESS GATES\n"
        "p      1/2     CrashLoopBackOff   3          65s   10.244.0.5   node-1   <none>           <none>\n"
    )


def test_the_installed_console_script_runs(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "kcore"
    env = {"KCORE_HOME": str(tmp_path / "h"), "PATH": str(script.parent)}
    done = subprocess.run([str(script), "cluster", "create", "--nodes", "1"], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    done = subprocess.run([str(script), "get", "no", "-o", "name"], env=env, capture_output=True, text=True, check=False)
    assert (done.returncode, done.stdout) == (0, "node/node-1\n")
    done = subprocess.run([str(script), "get", "po", "nope"], env=env, capture_output=True, text=True, check=False)
    assert (done.returncode, done.stderr) == (1, 'Error from server (NotFound): pods "nope" not found\n')


def test_get_pdb_prints_kubectls_columns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("KCORE_HOME", str(tmp_path / "home"))
    manifest = tmp_path / "pdb.yaml"
    manifest.write_text(
        "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: web-pdb}\n"
        "spec: {maxUnavailable: 1, selector: {matchLabels: {app: web}}}\n"
    )
    assert main(["cluster", "create", "--no-addons", "--nodes", "1"]) == 0
    assert main(["apply", "-f", str(manifest)]) == 0
    capsys.readouterr()
    assert main(["get", "pdb"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "NAME      MIN AVAILABLE   MAX UNAVAILABLE   ALLOWED DISRUPTIONS   AGE",
        "web-pdb   N/A             1                 0                     0s",
    ]


def test_static_pods_from_a_nodes_manifest_directory_get_mirror_pods(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("KCORE_HOME", str(home))
    assert main(["cluster", "create", "--no-addons", "--nodes", "2"]) == 0
    manifests = home / "nodes" / "node-2" / "manifests"
    manifests.mkdir(parents=True)
    (manifests / "etcd.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: etcd, namespace: kube-system}\n"
        "spec: {containers: [{name: etcd, image: 'registry.k8s.io/etcd:3.5.15-0'}]}\n"
    )
    assert main(["advance", "30s"]) == 0
    capsys.readouterr()
    assert main(["get", "pod", "etcd-node-2", "-n", "kube-system", "-o", "json"]) == 0
    mirror = json.loads(capsys.readouterr().out)
    assert mirror["metadata"]["name"] == "etcd-node-2"
    assert mirror["spec"]["nodeName"] == "node-2"
    assert mirror["status"]["phase"] == "Running"
    assert "kubernetes.io/config.mirror" in mirror["metadata"]["annotations"]
    (manifests / "etcd.yaml").unlink()  # removing the file removes the static pod and its mirror
    assert main(["advance", "60s"]) == 0
    capsys.readouterr()
    assert main(["get", "pods", "-n", "kube-system"]) == 0
    assert "etcd-node-2" not in capsys.readouterr().out


def test_faults_from_the_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("KCORE_HOME", str(tmp_path / "home"))
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\n"
        "spec: {nodeName: node-2, containers: [{name: app, image: nginx}]}\n"
    )
    assert main(["cluster", "create", "--no-addons", "--nodes", "2"]) == 0
    assert main(["apply", "-f", str(manifest)]) == 0
    assert main(["advance", "30s"]) == 0
    assert main(["fault", "kill-container", "web", "-c", "app"]) == 0
    assert main(["advance", "5s"]) == 0
    capsys.readouterr()
    assert main(["get", "pod", "web", "-o", "json"]) == 0
    pod = json.loads(capsys.readouterr().out)
    assert pod["status"]["containerStatuses"][0]["restartCount"] == 1
    assert main(["fault", "crash-node", "node-2"]) == 0
    assert main(["advance", "2m"]) == 0
    capsys.readouterr()
    assert main(["get", "nodes"]) == 0
    assert "node-2   NotReady" in capsys.readouterr().out
    assert main(["fault", "restart-node", "node-2"]) == 0
    assert main(["advance", "1m"]) == 0
    capsys.readouterr()
    assert main(["get", "nodes"]) == 0
    assert "node-2   Ready" in capsys.readouterr().out
    assert main(["fault", "pause", "nobody"]) == 1
    assert 'component "nobody" not found' in capsys.readouterr().err
    assert main(["fault", "crash-node", "node-9"]) == 1
    assert 'nodes "node-9" not found' in capsys.readouterr().err


def test_get_several_kinds_at_once_like_kubectl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("KCORE_HOME", str(tmp_path / "home"))
    manifest = tmp_path / "cm.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: v}\n---\n"
        "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 80}]}\n"
    )
    assert main(["cluster", "create", "--no-addons", "--nodes", "1"]) == 0
    assert main(["apply", "-f", str(manifest)]) == 0
    capsys.readouterr()
    assert main(["get", "cm,svc,deploy", "-o", "name"]) == 0
    # the apiserver's own `kubernetes` Service is in default from the start, as upstream
    assert capsys.readouterr().out.splitlines() == ["configmap/a", "service/kubernetes", "service/s"]
    assert main(["get", "cm,svc"]) == 0
    out = capsys.readouterr().out
    assert "configmap/a " in out and "service/s " in out and "\n\nNAME" in out
    assert main(["get", "cm,svc", "-o", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["kind"] == "List" and [i["kind"] for i in listed["items"]] == ["ConfigMap", "Service", "Service"]
    assert main(["get", "cm,nope"]) == 1
    assert 'resource type "nope"' in capsys.readouterr().err


def test_a_cluster_with_upstream_client_limits_fills_a_replicaset_at_20_pods_a_second(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["cluster", "create", "--no-addons", "--nodes", "2", "--pods", "110", "--client-limits", "upstream"]) == 0
    assert run(capsys, "apply", "--wait=false", "-f", write(tmp_path, "d.yaml", deployment(60)))[0] == 0

    def pods() -> int:
        code, out, _ = run(capsys, "get", "pods", "-o", "name")
        assert code == 0
        return len(out.split())

    # the ReplicaSet controller's client: a burst of 30 (slow start sends 1, 2, 4, 8, 16 of
    # them), then 20 requests a second: 60 pods need more than a second of simulated time
    assert pods() < 60
    assert run(capsys, "advance", "5s")[0] == 0
    assert pods() == 60


def test_client_limits_must_be_named(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "cluster", "create", "--client-limits", "fast")
    assert code != 0 and "--client-limits" in err
    assert not (home / "cluster").exists() and run(capsys, "get", "nodes")[0] != 0


def test_cluster_create_takes_a_load_balancer_pool_and_refuses_a_bad_one(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "cluster", "create", "--lb-pool", "not-a-cidr")
    assert (code, out) == (1, "")
    assert "--lb-pool: invalid value 'not-a-cidr': must be an IPv4 CIDR such as 198.51.100.0/24" in err
    assert not home.exists() or not any(home.iterdir())
    assert run(capsys, "cluster", "create", "--lb-pool", "203.0.113.0/28")[0] == 0
    from kcore.cli.session import load, store_from_env

    assert load(store_from_env()).state.config.lb_pool == "203.0.113.0/28"


def test_a_default_cluster_runs_coredns_and_the_ingress_add_on(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "cluster", "create", "--nodes", "2")[0] == 0
    _, out, _ = run(capsys, "get", "pods", "-n", "kube-system", "-o", "name")
    assert len(out.split()) == 2 and all(p.startswith("pod/coredns-") for p in out.split())
    _, out, _ = run(capsys, "get", "pods", "-n", "kube-system")
    assert [line.split()[1:3] for line in out.splitlines()[1:]] == [["1/1", "Running"], ["1/1", "Running"]]
    _, out, _ = run(capsys, "get", "svc", "kube-dns", "-n", "kube-system", "-o", "json")
    assert json.loads(out)["spec"]["clusterIP"] == "10.96.0.10"
    _, out, _ = run(capsys, "get", "ingressclass", "-o", "name")
    assert out.split() == ["ingressclass.networking.k8s.io/kcore"]
    _, out, _ = run(capsys, "get", "svc", "ingress-nginx-controller", "-n", "ingress-nginx", "-o", "json")
    assert json.loads(out)["status"]["loadBalancer"]["ingress"] == [{"ip": "198.51.100.1", "ipMode": "VIP"}]


def test_names_may_follow_flags_as_kubectl_takes_them(cluster: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "get", "svc", "-n", "default", "kubernetes", "-o", "name") == (0, "service/kubernetes\n", "")
    assert run(capsys, "get", "-n", "default", "svc", "kubernetes", "-o", "name") == (0, "service/kubernetes\n", "")
    code, _, err = run(capsys, "get", "svc", "-n", "default", "kubernetes", "--bogus")
    assert code == 2 and "unrecognized arguments: kubernetes --bogus" in err
