"""`kcore rollout` against a real cluster (control plane and kubelets) in a temporary home.

The `rollout` parser is mounted on a fresh argparse parser exactly as `kcore.cli` mounts it
(`add_rollout_parser(subparsers)`); cluster creation and apply go through `kcore.cli.main`.
The deployment controller is added to the control plane when the driver does not run it.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import attrs
import pytest
from pyrsistent import pmap

import kcore.driver
from kcore.api.apps import Deployment, DeploymentConditionType, DeploymentStatus
from kcore.api.kinds import Kind
from kcore.api.meta import ConditionStatus
from kcore.apiserver.types import Get
from kcore.cli import main
from kcore.cli_rollout import add_rollout_parser, history_table, rollout_status
from kcore.controllers.deployment import DeploymentController
from kcore.controllers.deployment_util import (
    CHANGE_CAUSE_ANNOTATION,
    REASON_TIMED_OUT,
    REVISION_ANNOTATION,
    new_condition,
)
from kcore.driver.cluster import Cluster
from kcore.store.file import FileStore
from tests.builders import T0, a_deployment, a_replica_set, key

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: nginx
          image: IMAGE
"""

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    h = tmp_path / "home"
    monkeypatch.setenv("KCORE_HOME", str(h))
    plane = kcore.driver.control_plane

    def with_deployments() -> tuple[object, ...]:
        comps = plane()
        return comps if any(c.name == "deployment-controller" for c in comps) else (*comps, DeploymentController())

    monkeypatch.setattr(kcore.driver, "control_plane", with_deployments)
    assert main(["cluster", "create", "--nodes", "1"]) == 0
    return h


@pytest.fixture
def rollout(capsys: pytest.CaptureFixture[str]) -> Run:
    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        parser = argparse.ArgumentParser(prog="kcore")
        add_rollout_parser(parser.add_subparsers(dest="command"))
        args = parser.parse_args(["rollout", *argv])
        code = args.func(args)
        out, err = capsys.readouterr()
        return code, out, err

    return run


def apply(tmp_path: Path, image: str) -> None:
    f = tmp_path / f"web-{image.replace(':', '-')}.yaml"
    f.write_text(DEPLOYMENT.replace("IMAGE", image), encoding="utf-8")
    assert main(["apply", "-f", str(f)]) == 0


def deployed(home: Path) -> Deployment:
    cluster = Cluster(FileStore(home).load())
    d = cluster.request(Get(key=key(Kind.DEPLOYMENT, "web"))).body
    assert isinstance(d, Deployment)
    return d


def two_revisions(tmp_path: Path, rollout: Run) -> None:
    apply(tmp_path, "nginx:1.27")
    assert rollout("status", "deployment/web")[0] == 0
    apply(tmp_path, "nginx:1.28")
    assert rollout("status", "deployment/web")[0] == 0


def test_status_waits_in_simulated_time_until_rolled_out(home: Path, tmp_path: Path, rollout: Run) -> None:
    apply(tmp_path, "nginx:1.27")
    code, out, _ = rollout("status", "deployment/web")
    assert code == 0
    assert out.splitlines()[-1] == 'deployment "web" successfully rolled out'
    assert deployed(home).status.available_replicas == 3


def test_history_lists_revisions_with_their_change_cause(home: Path, tmp_path: Path, rollout: Run) -> None:
    two_revisions(tmp_path, rollout)
    code, out, _ = rollout("history", "deployment/web")
    assert (code, out) == (0, "deployment.apps/web \nREVISION  CHANGE-CAUSE\n1         <none>\n2         <none>\n\n")
    code, out, _ = rollout("history", "deployment/web", "--revision", "1")
    assert code == 0
    assert out.startswith("deployment.apps/web with revision #1\nPod Template:\n  Labels:\tapp=web\n")
    assert "    Image:\tnginx:1.27\n" in out


def test_undo_rolls_back_to_the_previous_revision(home: Path, tmp_path: Path, rollout: Run) -> None:
    two_revisions(tmp_path, rollout)
    assert rollout("undo", "deployment/web") == (0, "deployment.apps/web rolled back\n", "")
    assert deployed(home).spec.template.spec.containers[0].image == "nginx:1.27"
    _, out, _ = rollout("history", "deployment/web")
    assert out.splitlines()[2:4] == ["2         <none>", "3         <none>"]


def test_undo_to_a_missing_revision_is_an_error(home: Path, tmp_path: Path, rollout: Run) -> None:
    two_revisions(tmp_path, rollout)
    assert rollout("undo", "deployment/web", "--to-revision", "9") == (
        1,
        "",
        "error: unable to find specified revision 9 in history\n",
    )
    assert rollout("undo", "deployment/web", "--to-revision", "2") == (
        0,
        "deployment.apps/web skipped rollback (current template already matches revision 2)\n",
        "",
    )
    assert rollout("undo", "deployment/nope") == (
        1,
        "",
        'Error from server (NotFound): deployments.apps "nope" not found\n',
    )


def test_pause_and_resume(home: Path, tmp_path: Path, rollout: Run) -> None:
    two_revisions(tmp_path, rollout)
    assert rollout("pause", "deployment/web") == (0, "deployment.apps/web paused\n", "")
    assert deployed(home).spec.paused
    assert rollout("pause", "deployment/web") == (1, "", 'error: deployments.apps "web" is already paused\n')
    code, _, err = rollout("undo", "deployment/web")
    assert code == 1 and err.startswith("error: you cannot rollback a paused deployment")
    assert rollout("resume", "deploy", "web") == (0, "deployment.apps/web resumed\n", "")
    assert rollout("resume", "deployment/web") == (1, "", 'error: deployments.apps "web" is not paused\n')


def test_only_deployments_roll_out(home: Path, rollout: Run) -> None:
    code, _, err = rollout("status", "statefulset/db")
    assert code == 1 and "only deployments" in err


def observed(**status: object) -> Deployment:
    """The builder's 3-replica deployment with its spec observed and `status` counts."""
    d = a_deployment("web", replicas=3)
    return attrs.evolve(d, status=DeploymentStatus(observed_generation=d.metadata.generation, **status))  # type: ignore[arg-type]  # counts and conditions only


def test_rollout_status_messages_follow_kubectl() -> None:
    assert rollout_status(observed(updated_replicas=1)).message == (
        'Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have been updated...\n'
    )
    assert rollout_status(observed(updated_replicas=3, replicas=5)).message == (
        'Waiting for deployment "web" rollout to finish: 2 old replicas are pending termination...\n'
    )
    assert rollout_status(observed(updated_replicas=3, replicas=3, available_replicas=1)).message == (
        'Waiting for deployment "web" rollout to finish: 1 of 3 updated replicas are available...\n'
    )
    done = rollout_status(observed(updated_replicas=3, replicas=3, available_replicas=3))
    assert (done.message, done.done) == ('deployment "web" successfully rolled out\n', True)
    cond = new_condition(DeploymentConditionType.PROGRESSING, ConditionStatus.FALSE, REASON_TIMED_OUT, "x", T0)
    assert rollout_status(observed(conditions=(cond,))).error == 'deployment "web" exceeded its progress deadline'
    unobserved = attrs.evolve(observed(), metadata=attrs.evolve(observed().metadata, generation=2))
    assert rollout_status(unobserved).message == "Waiting for deployment spec update to be observed...\n"


def test_history_table_without_revisions_and_with_a_change_cause() -> None:
    assert history_table(()) == "No rollout history found."
    rs = a_replica_set("web-1")
    ann = pmap({CHANGE_CAUSE_ANNOTATION: "kubectl set image", REVISION_ANNOTATION: "4"})
    rs = attrs.evolve(rs, metadata=attrs.evolve(rs.metadata, annotations=ann))
    assert history_table((rs,)) == "REVISION  CHANGE-CAUSE\n4         kubectl set image\n"
