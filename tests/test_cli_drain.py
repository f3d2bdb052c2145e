"""`kcore cordon`, `uncordon` and `drain`, run in-process against a cluster in a temporary
KCORE_HOME. Objects the CLI cannot make by itself (pods owned by a DaemonSet uid) are
created through the same file store, as another client would."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import attrs
import pytest
from pyrsistent import pmap

from kcore.api.apps import DaemonSet, DaemonSetSpec
from kcore.api.core import Node
from kcore.api.kinds import Kind
from kcore.api.meta import ApiObject, Status, StatusReason
from kcore.api.pod import EmptyDirVolumeSource, LabelSelector, Pod, Volume
from kcore.cli import main
from kcore.cli.session import go_duration
from kcore.component.requests import Create, Evict, Request, Response
from kcore.driver import default_components
from kcore.driver.cluster import Cluster
from kcore.state import get, list_objects
from kcore.store.file import FileStore
from tests.builders import a_pod, a_replica_set, a_template, key


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


def _edit(home: Path, fn: Callable[[Cluster], None]) -> Cluster:
    store = FileStore(home)
    with store.lock():
        snap = store.load()
        cluster = Cluster(snap, default_components(snap.state))
        fn(cluster)
        cluster.run_until_stable()
        store.save(cluster.snapshot())
    return cluster


def _create(home: Path, *objs: ApiObject) -> list[ApiObject]:
    made: list[ApiObject] = []

    def go(c: Cluster) -> None:
        for obj in objs:
            resp = c.request(Create(obj=obj))
            assert resp.ok, resp.body
            assert not isinstance(resp.body, Status)
            made.append(resp.body)  # type: ignore[arg-type]  # a Create answers the object

    _edit(home, go)
    return made


def _state(home: Path) -> Cluster:
    snap = FileStore(home).load()
    return Cluster(snap, default_components(snap.state))


def _node(home: Path, name: str = "node-1") -> Node:
    node = get(_state(home).state, key(Kind.NODE, name))
    assert isinstance(node, Node)
    return node


def _pod_exists(home: Path, name: str, namespace: str = "default") -> bool:
    return get(_state(home).state, key(Kind.POD, name, namespace)) is not None


def _managed_pod(
    home: Path, name: str, node: str = "node-1", *, rs: str = "web", grace: int = 0, stop_seconds: int = 0
) -> None:
    """Pod `name` on `node`, adopted by a one-replica ReplicaSet `rs` (so it keeps it);
    its container takes `stop_seconds` to stop after SIGTERM (the runtime script)."""
    notes = {"kcore.io/stop-seconds": str(stop_seconds)} if stop_seconds else {}
    _create(home, a_pod(name, node_name=node, grace=grace, labels={"app": rs}, annotations=notes))
    _create(home, a_replica_set(rs, replicas=1))
    pod = get(_state(home).state, key(Kind.POD, name))
    assert pod is not None and [r.name for r in pod.metadata.owner_references] == [rs]


# --- cordon / uncordon --------------------------------------------------------------------


def test_cordon_and_uncordon_flip_unschedulable_with_kubectls_output(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "cordon", "node-1") == (0, "node/node-1 cordoned\n", "")
    assert _node(home).spec.unschedulable is True
    assert run(capsys, "cordon", "node-1") == (0, "node/node-1 already cordoned\n", "")
    assert run(capsys, "uncordon", "node-1") == (0, "node/node-1 uncordoned\n", "")
    assert _node(home).spec.unschedulable is False
    assert run(capsys, "uncordon", "node-1") == (0, "node/node-1 already uncordoned\n", "")


def test_cordon_of_an_unknown_node_is_a_server_error(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "cordon", "nope")
    assert (code, out) == (1, "")
    assert err == 'Error from server (NotFound): nodes "nope" not found\n'


# --- drain refusals -----------------------------------------------------------------------


def test_drain_refuses_a_pod_without_controller_unless_forced(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _create(home, a_pod("x", node_name="node-1", grace=0))
    code, out, err = run(capsys, "drain", "node-1")
    assert code == 1
    assert out == "node/node-1 cordoned\n"
    msg = "cannot delete Pods that declare no controller (use --force to override): default/x"
    assert err == (
        f'error: unable to drain node "node-1" due to error: {msg}, continuing command...\n'
        "There are pending nodes to be drained:\n node-1\n"
        f"error: {msg}\n"
        "settled after 1s (simulated)\n"  # the kubelet started the pod meanwhile
    )
    assert _pod_exists(home, "x")
    assert _node(home).spec.unschedulable is True


def test_drain_lists_every_refusal_reason(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _create(
        home,
        DaemonSet(
            metadata=attrs.evolve(a_pod("agent").metadata, labels=pmap({"app": "agent"})),
            spec=DaemonSetSpec(selector=LabelSelector(match_labels=pmap({"app": "agent"})), template=a_template({"app": "agent"})),
        ),
    )
    # the DaemonSet controller makes one pod per node; the scheduler binds each to its node
    [agent] = [
        p.metadata.name
        for p in list_objects(_state(home).state, Kind.POD, "default")
        if isinstance(p, Pod) and p.metadata.labels.get("app") == "agent" and p.spec.node_name == "node-1"
    ]
    # a ReplicaSet-managed pod with an emptyDir on node-1 (the controller names it)
    rs = a_replica_set("cache", replicas=1)
    spec = attrs.evolve(
        rs.spec.template.spec,
        node_name="node-1",
        termination_grace_period_seconds=0,
        volumes=(Volume(name="tmp", empty_dir=EmptyDirVolumeSource()),),
    )
    rs = attrs.evolve(rs, spec=attrs.evolve(rs.spec, template=attrs.evolve(rs.spec.template, spec=spec)))
    _create(home, rs)
    [cache] = [p.metadata.name for p in list_objects(_state(home).state, Kind.POD, "default") if p.metadata.labels.get("app") == "cache"]
    code, out, err = run(capsys, "drain", "node-1")
    assert code == 1
    ds_msg = f"cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): default/{agent}"
    local_msg = f"cannot delete Pods with local storage (use --delete-emptydir-data to override): default/{cache}"
    assert err == (
        f'error: unable to drain node "node-1" due to error: [{ds_msg}, {local_msg}], continuing command...\n'
        "There are pending nodes to be drained:\n node-1\n"
        f"{ds_msg}\n{local_msg}\n"
        "settled after 1s (simulated)\n"  # the kubelets started the pods meanwhile
    )
    code, out, err = run(capsys, "drain", "node-1", "--ignore-daemonsets", "--delete-emptydir-data")
    assert code == 0, err
    assert out == (
        "node/node-1 already cordoned\n"
        f"evicting pod default/{cache}\n"
        f"pod/{cache} evicted\n"
        "node/node-1 drained\n"
    )
    assert err == f"Warning: ignoring DaemonSet-managed Pods: default/{agent}; deleting Pods with local storage: default/{cache}\n"
    assert _pod_exists(home, agent)
    assert not _pod_exists(home, cache)  # the ReplicaSet makes a new one


# --- drain evictions ----------------------------------------------------------------------


def test_drain_evicts_managed_and_forced_pods_and_leaves_other_nodes_alone(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _managed_pod(home, "web-1")
    _create(home, a_pod("solo", node_name="node-1", grace=0), a_pod("elsewhere", node_name="node-2", grace=0))
    code, out, err = run(capsys, "drain", "node-1", "--force")
    assert code == 0, err
    assert out == (
        "node/node-1 cordoned\n"
        "evicting pod default/solo\n"
        "evicting pod default/web-1\n"
        "pod/solo evicted\n"
        "pod/web-1 evicted\n"
        "node/node-1 drained\n"
    )
    assert err == "Warning: deleting Pods that declare no controller: default/solo\nsettled after 1s (simulated)\n"
    assert not _pod_exists(home, "web-1") and not _pod_exists(home, "solo")
    assert _pod_exists(home, "elsewhere")


def test_drain_of_an_empty_node_only_cordons(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "drain", "node-2") == (0, "node/node-2 cordoned\nnode/node-2 drained\n", "")


def test_drain_waits_for_terminating_pods_until_the_timeout(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _managed_pod(home, "slow-1", rs="slow", grace=30, stop_seconds=25)
    assert run(capsys, "advance", "1m")[0] == 0  # the kubelet starts it: now stopping takes time
    before = _state(home).now
    code, out, err = run(capsys, "drain", "node-1", "--timeout", "10s")
    assert code == 1
    assert out == "node/node-1 cordoned\nevicting pod default/slow-1\n"
    failure = 'error when waiting for pod "slow-1" in namespace "default" to terminate: global timeout reached: 10s'
    assert err == (
        f'There are pending pods in node "node-1" when an error occurred: {failure}\npod/slow-1\n'
        f'error: unable to drain node "node-1" due to error: {failure}, continuing command...\n'
        "There are pending nodes to be drained:\n node-1\n"
        f"error: {failure}\n"
        "settled after 15s (simulated)\n"  # the pod's own 25 s stop plays out
    )
    assert _state(home).now == before + 10 + 15


def test_drain_with_grace_period_zero_deletes_at_once(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _managed_pod(home, "slow-1", rs="slow", grace=30, stop_seconds=25)
    code, out, _ = run(capsys, "drain", "node-1", "--grace-period", "0")
    assert code == 0
    assert out.endswith("pod/slow-1 evicted\nnode/node-1 drained\n")


def test_drain_retries_an_eviction_refused_by_a_disruption_budget_every_5s(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _managed_pod(home, "web-1")
    refusals = [2]
    original = Cluster.request

    def budgeted(self: Cluster, req: Request) -> Response:
        if isinstance(req, Evict) and refusals[0] > 0:
            refusals[0] -= 1
            status = Status(
                message="Cannot evict pod as it would violate the pod's disruption budget.",
                reason=StatusReason.TOO_MANY_REQUESTS,
                code=429,
            )
            return Response(code=429, body=status)
        return original(self, req)

    monkeypatch.setattr(Cluster, "request", budgeted)
    before = _state(home).now
    code, out, err = run(capsys, "drain", "node-1")
    assert code == 0
    assert out == "node/node-1 cordoned\n" + "evicting pod default/web-1\n" * 3 + "pod/web-1 evicted\nnode/node-1 drained\n"
    line = 'error when evicting pods/"web-1" -n "default" (will retry after 5s): Cannot evict pod as it would violate the pod\'s disruption budget.\n'
    assert err == line * 2 + "settled after 1s (simulated)\n"
    assert _state(home).now == before + 10 + 1  # two 5 s retries; the replacement's pull


def test_drain_rejects_a_bad_timeout(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "drain", "node-1", "--timeout", "soon")
    assert code == 1
    assert err.startswith('error: invalid duration "soon"')


def test_go_duration_matches_gos_string_form() -> None:
    assert [go_duration(s) for s in (0, 10, 60, 90, 3600, 5400)] == ["0s", "10s", "1m0s", "1m30s", "1h0m0s", "1h30m0s"]




def test_drain_waits_on_a_real_disruption_budget(home: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A Deployment's two pods behind a PodDisruptionBudget of minAvailable 2: every
    eviction is refused with 429 until the timeout (no fake answers: the eviction API and
    the disruption controller decide)."""
    manifest = tmp_path / "guarded.yaml"
    manifest.write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: guarded}\n"
        "spec:\n  replicas: 2\n  selector: {matchLabels: {app: guarded}}\n"
        "  template:\n    metadata: {labels: {app: guarded}}\n"
        "    spec:\n      nodeSelector: {kubernetes.io/hostname: node-1}\n"
        "      containers: [{name: app, image: nginx}]\n---\n"
        "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: guarded}\n"
        "spec: {minAvailable: 2, selector: {matchLabels: {app: guarded}}}\n"
    )
    assert run(capsys, "apply", "-f", str(manifest))[0] == 0
    assert run(capsys, "advance", "1m")[0] == 0
    code, out, err = run(capsys, "drain", "node-1", "--timeout", "20s")
    assert code == 1
    assert "Cannot evict pod as it would violate the pod's disruption budget." in err
    assert "global timeout reached: 20s" in err
    assert out.startswith("node/node-1 cordoned\nevicting pod default/guarded-")
