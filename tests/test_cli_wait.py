"""`kcore wait`, run in-process against a real cluster in a temporary KCORE_HOME.

Each test applies without settling (`--wait=false`), so the work is still in motion,
then waits: the simulated clock moves only as far as the condition needs, or by exactly
the timeout. Output is compared whole with kubectl v1.32's (k8s.io/kubectl/pkg/cmd/wait).
"""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest

from kcore.api.apps import (
    Deployment,
    DeploymentCondition,
    DeploymentConditionType,
    DeploymentStatus,
)
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ConditionStatus
from kcore.cli import main
from kcore.cli.session import SessionError
from kcore.cli.wait import (
    A_WEEK,
    ByName,
    BySelector,
    Failure,
    ForCondition,
    ForCreate,
    ForDelete,
    Scope,
    condition_met,
    error_text,
    parse_for,
    parse_timeout,
    targets_from,
)
from kcore.driver.clock import EPOCH
from kcore.store.file import FileStore
from tests.builders import a_deployment

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
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

# ready 5 s after it starts: its readiness probe (every 10 s by default) passes at 10 s
WARMING_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: warming
  labels: {app: warming}
  annotations: {kcore.io/ready-after: "5"}
spec:
  containers:
    - name: app
      image: nginx:1.27
      readinessProbe:
        httpGet: {path: /, port: 80}
"""

# never ready within any test: its readiness probe fails for an hour
SLOW_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: slow
  labels: {app: slow}
  annotations: {kcore.io/ready-after: "3600"}
spec:
  containers:
    - name: app
      image: nginx:1.27
      readinessProbe:
        httpGet: {path: /, port: 80}
"""

# takes 20 s to stop after SIGTERM, well within its 30 s grace period
STOPPING_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: stopper
  annotations: {kcore.io/stop-seconds: "20"}
spec:
  terminationGracePeriodSeconds: 30
  containers:
    - name: app
      image: nginx:1.27
"""


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Path:
    h = tmp_path / "home"
    monkeypatch.setenv("KCORE_HOME", str(h))
    assert main(["cluster", "create", "--no-addons", "--nodes", "2"]) == 0
    capsys.readouterr()
    return h


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def applied(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str) -> None:
    """Apply `text` without settling: the work it starts is still in motion."""
    f = tmp_path / "manifest.yaml"
    f.write_text(text, encoding="utf-8")
    code, _, err = run(capsys, "apply", "-f", str(f), "--wait=false")
    assert (code, err) == (0, "")


def clock(home: Path) -> float:
    """Simulated seconds since the cluster was created."""
    return FileStore(home).load().now - EPOCH


def stored(home: Path) -> bytes:
    return FileStore(home).path.read_bytes()


# --- waiting in simulated time ---------------------------------------------------------------


def test_wait_for_available_moves_the_clock_until_the_deployment_is_available(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    applied(tmp_path, capsys, DEPLOYMENT)
    assert run(capsys, "get", "deploy", "web", "-o", "name") == (0, "deployment.apps/web\n", "")
    code, out, err = run(capsys, "wait", "--for=condition=Available", "deployment/web")
    assert (code, out, err) == (0, "deployment.apps/web condition met\n", "")
    assert clock(home) == 1.0  # the image pull: no further
    # already met: no time passes
    assert run(capsys, "wait", "--for", "condition=available", "deploy", "web") == (
        0,
        "deployment.apps/web condition met\n",
        "",
    )
    assert clock(home) == 1.0


def test_wait_for_ready_pods_by_label_visits_each_in_name_order(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    applied(tmp_path, capsys, DEPLOYMENT)
    code, out, err = run(capsys, "wait", "--for=condition=Ready", "pod", "-l", "app=web", "--timeout", "1m")
    assert (code, err) == (0, "")
    names = run(capsys, "get", "pods", "-l", "app=web", "-o", "name")[1]
    assert out == "".join(f"{line} condition met\n" for line in names.splitlines())
    assert len(out.splitlines()) == 2
    assert clock(home) == 1.0


def test_wait_for_a_readiness_probe_to_pass(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    applied(tmp_path, capsys, WARMING_POD)
    assert run(capsys, "wait", "--for=condition=Ready", "pod/warming") == (0, "pod/warming condition met\n", "")
    assert clock(home) == 11.0  # started at 1 s, the probe's first pass after ready-after at 11 s


def test_wait_for_condition_false_and_case_insensitive_values(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    applied(tmp_path, capsys, SLOW_POD)
    assert run(capsys, "wait", "--for=condition=READY=false", "pod/slow") == (0, "pod/slow condition met\n", "")
    assert clock(home) == 0.0


def test_wait_for_delete_of_a_pod_stopping_within_its_grace_period(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    applied(tmp_path, capsys, STOPPING_POD)
    assert run(capsys, "wait", "--for=condition=Ready", "pod/stopper")[0] == 0
    started = clock(home)
    assert run(capsys, "delete", "pod", "stopper", "--wait=false") == (0, 'pod "stopper" deleted\n', "")
    assert run(capsys, "wait", "--for=delete", "pod/stopper") == (0, "pod/stopper condition met\n", "")
    assert clock(home) == started + 20.0
    assert run(capsys, "get", "pod", "stopper")[0] == 1
    # gone already: met, and kubectl prints nothing for a named object it cannot find
    assert run(capsys, "wait", "--for=delete", "pod/stopper") == (0, "", "")
    assert run(capsys, "wait", "--for=delete", "pod", "-l", "app=none") == (0, "", "")


def test_wait_for_create(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    applied(tmp_path, capsys, DEPLOYMENT)
    assert run(capsys, "wait", "--for=create", "deployment/web") == (0, "deployment.apps/web condition met\n", "")
    assert run(capsys, "wait", "--for=create", "deployment/nope", "--timeout", "5s") == (
        1,
        "",
        "error: timed out waiting for the condition\n",
    )
    assert clock(home) == 5.0


# --- timeouts and errors ---------------------------------------------------------------------


def test_a_timeout_exits_1_with_kubectls_message_and_moves_the_clock_by_the_timeout(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    applied(tmp_path, capsys, SLOW_POD)
    assert run(capsys, "wait", "--for=condition=Ready", "pod/slow") == (
        1,
        "",
        "error: timed out waiting for the condition on pods/slow\n",
    )
    assert clock(home) == 30.0  # kubectl's default --timeout
    assert run(capsys, "wait", "--for=condition=Ready", "pod/slow", "--timeout=90s")[0] == 1
    assert clock(home) == 120.0
    assert run(capsys, "get", "pod", "slow")[1].splitlines()[1].split()[1:3] == ["0/1", "Running"]


def test_a_timeout_of_zero_checks_once(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    applied(tmp_path, capsys, SLOW_POD)
    assert run(capsys, "wait", "--for=condition=Ready", "pod/slow", "--timeout=0") == (
        1,
        "",
        "error: condition not met for pods/slow\n",
    )
    assert run(capsys, "wait", "--for=delete", "pod/slow", "--timeout=0s") == (
        1,
        "",
        "error: condition not met for pods/slow\n",
    )
    assert clock(home) == 0.0


def test_several_failures_print_one_a_line_after_what_was_met(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    applied(tmp_path, capsys, SLOW_POD)
    applied(tmp_path, capsys, DEPLOYMENT)
    code, out, err = run(capsys, "wait", "--for=condition=Ready", "pod/slow", "pod/nope", "deployment/web", "--timeout=10s")
    assert (code, out) == (1, "")
    assert err == (
        "timed out waiting for the condition on pods/slow\n"
        'Error from server (NotFound): pods "nope" not found\n'
        "timed out waiting for the condition on deployments/web\n"  # a Deployment has no Ready condition
    )
    assert clock(home) == 10.0  # one timeout for all of them, as kubectl's


def test_a_missing_object_is_kubectls_not_found(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "wait", "--for=condition=Available", "deployment/web") == (
        1,
        "",
        'Error from server (NotFound): deployments.apps "web" not found\n',
    )
    assert run(capsys, "wait", "--for=condition=Ready", "pod", "-l", "app=web") == (
        1,
        "",
        "error: no matching resources found\n",
    )
    assert clock(home) == 0.0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--for=ready", "pod/x"], 'unrecognized condition: "ready"'),
        (["pod/x"], 'unrecognized condition: ""'),
        (["--for=jsonpath={.status.phase}=Running", "pod/x"], "--for=jsonpath is not served by kcore"),
        (["--for=delete"], "You must provide one or more resources by argument."),
        (["--for=delete", "pod"], "resource(s) were provided, but no name was specified"),
        (["--for=delete", "pod", "x", "-l", "app=x"], "name cannot be provided when a selector is specified"),
        (["--for=delete", "pod/x", "--all"], "selectors and the all flag cannot be used"),
        (["--for=delete", "pod/x", "y"], "there is no need to specify a resource type"),
        (["--for=delete", "pod/x", "--timeout", "soon"], '--timeout: invalid duration "soon"'),
        (["--for=delete", "gizmo/x"], 'the server doesn\'t have a resource type "gizmo"'),
    ],
)
def test_bad_input_is_a_clear_error_and_stores_nothing(
    home: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    before = stored(home)
    code, out, err = run(capsys, "wait", *argv)
    assert (code, out) == (1, "")
    assert err.startswith(f"error: {message}"), err
    assert stored(home) == before


def test_without_a_cluster_wait_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("KCORE_HOME", str(tmp_path / "none"))
    code, _, err = run(capsys, "wait", "--for=delete", "pod/x")
    assert code == 1 and err.startswith("error: no cluster: run `kcore cluster create`")


# --- the pure pieces -------------------------------------------------------------------------


def test_parse_for_follows_kubectls_condition_func_for() -> None:
    assert parse_for("condition=Ready") == ForCondition(name="Ready", value="true")
    assert parse_for("condition=Ready=False") == ForCondition(name="Ready", value="False")
    assert parse_for("condition=a=b=c") == ForCondition(name="a", value="b=c")
    assert parse_for("DELETE") == ForDelete()
    assert parse_for("Create") == ForCreate()
    with pytest.raises(SessionError, match='unrecognized condition: "Condition=Ready"'):
        parse_for("Condition=Ready")


def test_parse_timeout_reads_zero_and_negative_as_kubectl() -> None:
    assert parse_timeout("30s") == 30.0
    assert parse_timeout("1m30s") == 90.0
    assert parse_timeout("0") == 0.0
    assert parse_timeout("-1s") == A_WEEK
    with pytest.raises(SessionError, match="--timeout: "):
        parse_timeout("30")


def test_targets_follow_the_resource_builders_forms() -> None:
    scope = Scope(namespace="prod")
    pod = ObjectKey(kind=Kind.POD, namespace="prod", name="a")
    assert targets_from(["pod/a", "deploy/b"], scope) == (
        ByName(key=pod),
        ByName(key=ObjectKey(kind=Kind.DEPLOYMENT, namespace="prod", name="b")),
    )
    assert targets_from(["pods", "a"], scope) == (ByName(key=pod),)
    assert targets_from(["node/n1"], scope) == (ByName(key=ObjectKey(kind=Kind.NODE, namespace="", name="n1")),)
    assert targets_from(["po,deploy"], Scope(labels="app=web", all_namespaces=True)) == (
        BySelector(kind=Kind.POD, namespace=None, labels="app=web"),
        BySelector(kind=Kind.DEPLOYMENT, namespace=None, labels="app=web"),
    )
    assert targets_from(["pod"], Scope(select_all=True)) == (BySelector(kind=Kind.POD, namespace="default"),)
    with pytest.raises(SessionError, match="across all namespaces"):
        targets_from(["pod/a"], Scope(all_namespaces=True))


def available(status: ConditionStatus, *, generation: int = 1, observed: int = 1) -> Deployment:
    """The builder's deployment at `generation`, its Available condition `status`, as of `observed`."""
    d = a_deployment("web")
    cond = DeploymentCondition(type=DeploymentConditionType.AVAILABLE, status=status)
    return attrs.evolve(
        d,
        metadata=attrs.evolve(d.metadata, generation=generation),
        status=DeploymentStatus(observed_generation=observed, conditions=(cond,)),
    )


def test_condition_met_compares_case_insensitively_and_waits_for_the_generation() -> None:
    assert condition_met(available(ConditionStatus.TRUE), ForCondition(name="available"))
    assert not condition_met(available(ConditionStatus.FALSE), ForCondition(name="Available"))
    assert condition_met(available(ConditionStatus.FALSE), ForCondition(name="Available", value="FALSE"))
    assert not condition_met(available(ConditionStatus.TRUE, generation=2), ForCondition(name="Available"))
    assert not condition_met(available(ConditionStatus.TRUE), ForCondition(name="Progressing"))


def test_error_text_is_checkerrs() -> None:
    assert error_text([Failure(message="no matching resources found")]) == "error: no matching resources found\n"
    server = Failure(message='Error from server (NotFound): pods "x" not found', from_server=True)
    assert error_text([server]) == 'Error from server (NotFound): pods "x" not found\n'
    assert error_text([Failure(message="a"), server]) == 'a\nError from server (NotFound): pods "x" not found\n'
