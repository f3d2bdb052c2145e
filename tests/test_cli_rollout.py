"""`kcore rollout` against a real cluster (control plane and kubelets) in a temporary home.

The `rollout` parser is mounted on a fresh argparse parser exactly as `kcore.cli.main` mounts it
(`add_rollout_parser(subparsers)`); cluster creation and apply go through `kcore.cli.main`.
The deployment controller is added to the control plane when the driver does not run it.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import attrs
import pytest
from pyrsistent import pmap

import kcore.driver
from kcore.api.apps import (
    DaemonSet,
    DaemonSetStatus,
    DaemonSetUpdateStrategy,
    DaemonSetUpdateStrategyType,
    Deployment,
    DeploymentConditionType,
    DeploymentStatus,
    ReplicaSet,
    RollingUpdateStatefulSetStrategy,
    StatefulSet,
    StatefulSetStatus,
    StatefulSetUpdateStrategy,
    StatefulSetUpdateStrategyType,
)
from kcore.api.kinds import Kind
from kcore.api.meta import ConditionStatus
from kcore.cli import main
from kcore.cli.rollout import (
    RESTARTED_AT,
    RolloutError,
    add_rollout_parser,
    history_table,
    restart_patch,
)
from kcore.component.requests import Get
from kcore.controllers.deployment import DeploymentController
from kcore.controllers.deployment_util import (
    CHANGE_CAUSE_ANNOTATION,
    REASON_TIMED_OUT,
    REVISION_ANNOTATION,
    new_condition,
)
from kcore.driver.clock import EPOCH
from kcore.driver.cluster import Cluster
from kcore.rollout_status import daemon_set_status, rollout_status, stateful_set_status
from kcore.state import list_objects
from kcore.store.file import FileStore
from tests.builders import (
    T0,
    a_daemon_set,
    a_deployment,
    a_replica_set,
    a_stateful_set,
    key,
)

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

DAEMON_SET = """\
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
spec:
  selector:
    matchLabels: {app: agent}
  template:
    metadata:
      labels: {app: agent}
    spec:
      containers:
        - name: agent
          image: fluentd:v1.16
"""

# OrderedReady (the default): each pod is created once the one before it is Ready, 2 s
# after it started (its readiness probe's initial delay)
STATEFUL_SET = """\
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
spec:
  replicas: 3
  serviceName: db
  selector:
    matchLabels: {app: db}
  template:
    metadata:
      labels: {app: db}
    spec:
      containers:
        - name: db
          image: postgres:16
          readinessProbe:
            tcpSocket: {port: 5432}
            initialDelaySeconds: 2
            periodSeconds: 1
"""

# never available within a test: the readiness probe fails for an hour
SLOW = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: slow
spec:
  replicas: 2
  progressDeadlineSeconds: 60
  selector:
    matchLabels: {app: slow}
  template:
    metadata:
      labels: {app: slow}
      annotations: {kcore.io/ready-after: "3600"}
    spec:
      containers:
        - name: app
          image: nginx:1.27
          readinessProbe:
            httpGet: {path: /, port: 80}
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
    assert main(["cluster", "create", "--no-addons", "--nodes", "1"]) == 0
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


def apply(tmp_path: Path, image: str, *flags: str) -> None:
    f = tmp_path / f"web-{image.replace(':', '-')}.yaml"
    f.write_text(DEPLOYMENT.replace("IMAGE", image), encoding="utf-8")
    assert main(["apply", "-f", str(f), *flags]) == 0


def apply_text(tmp_path: Path, name: str, text: str) -> None:
    """Apply `text` without settling: the rollout it starts is still in motion."""
    f = tmp_path / f"{name}.yaml"
    f.write_text(text, encoding="utf-8")
    assert main(["apply", "-f", str(f), "--wait=false"]) == 0


def clock(home: Path) -> float:
    """Simulated seconds since the cluster was created."""
    return FileStore(home).load().now - EPOCH


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


def test_status_prints_each_message_as_it_changes_while_the_clock_moves(
    home: Path, tmp_path: Path, rollout: Run
) -> None:
    apply(tmp_path, "nginx:1.27", "--wait=false")
    assert rollout("status", "deployment/web") == (
        0,
        'Waiting for deployment "web" rollout to finish: 0 of 3 updated replicas are available...\n'
        'deployment "web" successfully rolled out\n',
        "",
    )
    assert clock(home) == 1.0  # the image pull, and not a second more


def test_status_of_a_daemonset_after_apply_without_waiting(home: Path, tmp_path: Path, rollout: Run) -> None:
    apply_text(tmp_path, "agent", DAEMON_SET)
    assert rollout("status", "ds/agent") == (
        0,
        'Waiting for daemon set "agent" rollout to finish: 0 of 1 updated pods are available...\n'
        'daemon set "agent" successfully rolled out\n',
        "",
    )
    assert clock(home) == 1.0


def test_status_of_a_statefulset_follows_its_ordered_start(home: Path, tmp_path: Path, rollout: Run) -> None:
    apply_text(tmp_path, "db", STATEFUL_SET)
    # a defaulted RollingUpdate strategy has a partition (0): upstream's partitioned message
    assert rollout("status", "statefulset", "db") == (
        0,
        "Waiting for 3 pods to be ready...\n"
        "Waiting for 2 pods to be ready...\n"
        "Waiting for 1 pods to be ready...\n"
        "partitioned roll out complete: 3 new pods have been updated...\n",
        "",
    )
    assert clock(home) == 7.0  # db-0 pulls its image (1 s), then each is ready 2 s after it starts


def test_status_times_out_with_kubectls_message_after_the_timeout(home: Path, tmp_path: Path, rollout: Run) -> None:
    apply_text(tmp_path, "slow", SLOW)
    assert rollout("status", "deployment/slow", "--timeout", "30s") == (
        1,
        'Waiting for deployment "slow" rollout to finish: 0 of 2 updated replicas are available...\n',
        "error: timed out waiting for the condition\n",
    )
    assert clock(home) == 30.0


def test_status_reports_an_exceeded_progress_deadline(home: Path, tmp_path: Path, rollout: Run) -> None:
    apply_text(tmp_path, "slow", SLOW)
    code, out, err = rollout("status", "deployment/slow")
    assert (code, err) == (1, 'error: deployment "slow" exceeded its progress deadline\n')
    assert out == 'Waiting for deployment "slow" rollout to finish: 0 of 2 updated replicas are available...\n'
    assert clock(home) == 61.0  # progressDeadlineSeconds, then the controller requeues a second after it


def test_status_without_watch_prints_once_and_moves_no_time(home: Path, tmp_path: Path, rollout: Run) -> None:
    apply(tmp_path, "nginx:1.27", "--wait=false")
    assert rollout("status", "deployment/web", "--watch=false") == (
        0,
        'Waiting for deployment "web" rollout to finish: 0 of 3 updated replicas are available...\n',
        "",
    )
    assert clock(home) == 0.0


def pod_uids(home: Path) -> dict[str, str]:
    """Every pod in the default namespace: name -> uid."""
    return {p.metadata.name: p.metadata.uid for p in list_objects(FileStore(home).load().state, Kind.POD, "default")}


def test_restart_rolls_out_a_new_replicaset_that_replaces_every_pod(home: Path, tmp_path: Path, rollout: Run) -> None:
    apply(tmp_path, "nginx:1.27")
    before = set(pod_uids(home))
    assert len(before) == 3
    assert rollout("restart", "deployment/web") == (0, "deployment.apps/web restarted\n", "")
    d = deployed(home)
    assert d.spec.template.metadata.annotations[RESTARTED_AT] == "2026-01-01T00:00:01Z"
    assert (d.status.updated_replicas, d.status.available_replicas, d.status.replicas) == (3, 3, 3)
    after = set(pod_uids(home))
    assert len(after) == 3 and not after & before
    rss = list_objects(FileStore(home).load().state, Kind.REPLICA_SET, "default")
    assert sorted(rs.spec.replicas for rs in rss if isinstance(rs, ReplicaSet)) == [0, 3]  # a new one took over
    _, out, _ = rollout("history", "deployment/web")
    assert out.splitlines()[2:4] == ["1         <none>", "2         <none>"]


def test_restart_of_a_daemonset_and_a_statefulset_replaces_their_pods(home: Path, tmp_path: Path, rollout: Run) -> None:
    apply_text(tmp_path, "agent", DAEMON_SET)
    apply_text(tmp_path, "db", STATEFUL_SET)
    assert rollout("status", "statefulset/db")[0] == 0
    old = pod_uids(home)
    assert rollout("restart", "daemonset/agent") == (0, "daemonset.apps/agent restarted\n", "")
    # settling lets the rolling update run: db-2, db-1, db-0 replaced in turn, each ready 2 s after it starts
    assert rollout("restart", "sts", "db") == (0, "statefulset.apps/db restarted\n", "settled after 6s (simulated)\n")
    new = pod_uids(home)
    assert len(new) == len(old) == 4
    assert not set(new.values()) & set(old.values())


def test_restart_of_a_paused_deployment_is_refused_and_stores_nothing(
    home: Path, tmp_path: Path, rollout: Run
) -> None:
    apply(tmp_path, "nginx:1.27")
    assert rollout("pause", "deployment/web")[0] == 0
    before = FileStore(home).path.read_bytes()
    assert rollout("restart", "deployment/web") == (
        1,
        "",
        'error: deployments.apps "web" can\'t restart paused deployment (run rollout resume first)\n',
    )
    assert FileStore(home).path.read_bytes() == before


def test_restart_twice_in_one_simulated_second_is_refused(home: Path, tmp_path: Path, rollout: Run) -> None:
    apply(tmp_path, "nginx:1.27")
    assert rollout("restart", "deployment/web", "--wait=false")[0] == 0
    assert rollout("restart", "deployment/web") == (
        1,
        "",
        "error: failed to create patch for web: if restart has already been triggered within the past second, "
        "please wait before attempting to trigger another\n",
    )
    assert main(["advance", "1s"]) == 0
    assert rollout("restart", "deployment/web")[0] == 0


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


def test_only_deployments_undo_pause_resume_and_keep_a_history(home: Path, rollout: Run) -> None:
    for action in ("undo", "history", "pause", "resume"):
        code, _, err = rollout(action, "statefulset/db")
        assert code == 1 and "only deployments" in err, action


def test_status_and_restart_look_the_object_up_first(home: Path, rollout: Run) -> None:
    # status takes daemonsets and statefulsets too now: a missing one is kubectl's NotFound
    for action in ("status", "restart"):
        assert rollout(action, "statefulset/db") == (
            1,
            "",
            'Error from server (NotFound): statefulsets.apps "db" not found\n',
        )


def test_status_and_restart_of_a_kind_without_rollouts(home: Path, rollout: Run) -> None:
    assert rollout("status", "node/node-1") == (1, "", "error: no status viewer has been implemented for Node\n")
    assert rollout("restart", "node", "node-1") == (1, "", 'error: nodes "node-1" restarting is not supported\n')


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


def observed_daemon_set(**status: int) -> DaemonSet:
    """`a_daemon_set()` with its spec observed and `status` counts."""
    return attrs.evolve(a_daemon_set(), status=DaemonSetStatus(observed_generation=1, **status))  # type: ignore[arg-type]  # counts only


def observed_stateful_set(strategy: StatefulSetUpdateStrategy | None = None, **status: object) -> StatefulSet:
    """A 3-replica stateful set `db` (`strategy`, else rolling from partition 0) with `status`,
    its spec observed unless `status` says otherwise."""
    sts = a_stateful_set("db", claims=())
    spec = sts.spec if strategy is None else attrs.evolve(sts.spec, update_strategy=strategy)
    observed = StatefulSetStatus(**{"observed_generation": 1, **status})  # type: ignore[arg-type]  # counts and revisions only
    return attrs.evolve(sts, spec=spec, status=observed)


def test_daemon_set_status_messages_follow_kubectl() -> None:
    assert daemon_set_status(observed_daemon_set(desired_number_scheduled=3, updated_number_scheduled=1)).message == (
        'Waiting for daemon set "agent" rollout to finish: 1 out of 3 new pods have been updated...\n'
    )
    st = daemon_set_status(observed_daemon_set(desired_number_scheduled=3, updated_number_scheduled=3, number_available=2))
    assert st.message == 'Waiting for daemon set "agent" rollout to finish: 2 of 3 updated pods are available...\n'
    done = daemon_set_status(observed_daemon_set(desired_number_scheduled=3, updated_number_scheduled=3, number_available=3))
    assert (done.message, done.done) == ('daemon set "agent" successfully rolled out\n', True)
    ds = observed_daemon_set()
    unobserved = attrs.evolve(ds, metadata=attrs.evolve(ds.metadata, generation=2))
    assert daemon_set_status(unobserved).message == "Waiting for daemon set spec update to be observed...\n"
    on_delete = attrs.evolve(
        ds, spec=attrs.evolve(ds.spec, update_strategy=DaemonSetUpdateStrategy(type=DaemonSetUpdateStrategyType.ON_DELETE))
    )
    assert daemon_set_status(on_delete).error == "rollout status is only available for RollingUpdate strategy type"


def test_stateful_set_status_messages_follow_kubectl() -> None:
    unobserved = observed_stateful_set(observed_generation=0)
    assert stateful_set_status(unobserved).message == "Waiting for statefulset spec update to be observed...\n"
    assert stateful_set_status(observed_stateful_set(ready_replicas=1)).message == "Waiting for 2 pods to be ready...\n"
    partitioned = StatefulSetUpdateStrategy(rolling_update=RollingUpdateStatefulSetStrategy(partition=1))
    st = stateful_set_status(observed_stateful_set(partitioned, ready_replicas=3, updated_replicas=1))
    assert st.message == "Waiting for partitioned roll out to finish: 1 out of 2 new pods have been updated...\n"
    done = stateful_set_status(observed_stateful_set(ready_replicas=3, updated_replicas=3))
    assert (done.message, done.done) == ("partitioned roll out complete: 3 new pods have been updated...\n", True)
    plain = StatefulSetUpdateStrategy()  # RollingUpdate without rollingUpdate: as sent before defaulting
    st = stateful_set_status(observed_stateful_set(plain, ready_replicas=3, updated_replicas=1, update_revision="db-2", current_revision="db-1"))
    assert st.message == "waiting for statefulset rolling update to complete 1 pods at revision db-2...\n"
    done = stateful_set_status(observed_stateful_set(plain, ready_replicas=3, current_replicas=3, update_revision="db-2", current_revision="db-2"))
    assert (done.message, done.done) == ("statefulset rolling update complete 3 pods at revision db-2...\n", True)
    on_delete = StatefulSetUpdateStrategy(type=StatefulSetUpdateStrategyType.ON_DELETE)
    assert stateful_set_status(observed_stateful_set(on_delete)).error == "rollout status is only available for RollingUpdate strategy type"


def test_restart_patch_sets_restarted_at_in_the_pod_template() -> None:
    patch = restart_patch(a_deployment("web"), EPOCH)
    assert json.loads(patch) == {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: "2026-01-01T00:00:00Z"}}}}}
    rs = a_replica_set("web-1")
    with pytest.raises(RolloutError) as refused:
        restart_patch(rs, EPOCH)
    assert str(refused.value) == 'replicasets.apps "web-1" restarting is not supported'
