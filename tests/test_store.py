"""The file store: round trip, atomic replacement, clear errors for missing or bad homes."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import attrs
import pytest

from kcore.api.meta import Time
from kcore.component.events import TimerFired
from kcore.driver.queue import EventQueue
from kcore.driver.snapshot import Snapshot
from kcore.state import ClusterConfig, empty_state
from kcore.store.file import FileStore, NoClusterError, StoreError, home_from_env


def a_snapshot(seed: int = 3) -> Snapshot:
    q = EventQueue().push(Time(5.0), "c", TimerFired(key="k", now=Time(5.0)))
    return Snapshot(state=empty_state(ClusterConfig(seed=seed)), now=Time(100.0), seed=seed, queue=q)


def test_a_saved_snapshot_loads_back_equal(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "home")
    snap = a_snapshot()
    store.save(snap)
    assert store.exists()
    assert store.load() == snap


def test_a_missing_home_says_to_create_a_cluster(tmp_path: Path) -> None:
    with pytest.raises(NoClusterError, match=r"no cluster: run `kcore cluster create`"):
        FileStore(tmp_path / "nowhere").load()


def test_a_file_of_another_format_is_refused_by_name(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    store.path.write_bytes(b"KCORE-STORE 999\n" + pickle.dumps(a_snapshot()))
    with pytest.raises(StoreError, match="not a kcore store of format 2"):
        store.load()


def test_a_truncated_file_is_a_store_error_not_a_crash(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    store.save(a_snapshot())
    data = store.path.read_bytes()
    header_end = data.index(b"\n") + 1
    store.path.write_bytes(data[: header_end + 10])  # inside the portable frame
    with pytest.raises(StoreError, match="damaged store"):
        store.load()


def test_a_write_that_dies_midway_leaves_the_old_cluster_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FileStore(tmp_path)
    old = a_snapshot(seed=1)
    store.save(old)

    def dies(obj: object, f: object, protocol: int = 0) -> None:
        f.write(b"half a pickle")  # type: ignore[attr-defined]
        raise KeyboardInterrupt

    monkeypatch.setattr(pickle, "dump", dies)
    with pytest.raises(KeyboardInterrupt):
        store.save(a_snapshot(seed=2))
    monkeypatch.undo()
    assert store.load() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cluster.kcore"]


def test_save_replaces_through_os_replace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, str]] = []
    real = os.replace

    def spy(src: str, dst: str) -> None:
        calls.append((Path(src).parent.name, Path(dst).name))
        real(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    FileStore(tmp_path / "h").save(a_snapshot())
    assert calls == [("h", "cluster.kcore")]


def test_a_long_queue_pickles_without_deep_recursion(tmp_path: Path) -> None:
    q = EventQueue()
    for i in range(5000):
        q = q.push(Time(float(i)), "c", TimerFired(key=str(i), now=Time(float(i))))
    store = FileStore(tmp_path)
    store.save(attrs.evolve(a_snapshot(), queue=q))
    loaded = store.load().queue
    assert [s.event for s in loaded] == [s.event for s in q]
    assert loaded.next_seq == q.next_seq


def test_delete_removes_the_home(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "h")
    store.save(a_snapshot())
    assert store.delete() is True
    assert not (tmp_path / "h").exists()
    assert store.delete() is False


def test_home_comes_from_kcore_home_or_defaults_to_dot_kcore() -> None:
    assert home_from_env({"KCORE_HOME": "/x/y"}) == Path("/x/y")
    assert home_from_env({}) == Path(".kcore")
    assert home_from_env({"KCORE_HOME": ""}) == Path(".kcore")


def test_a_store_written_by_other_code_restarts_from_its_portable_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kcore.api.codec import to_dict
    from kcore.api.kinds import Kind
    from kcore.driver import new_cluster
    from kcore.state import list_objects
    from kcore.store import file as store_file

    cluster = new_cluster(ClusterConfig(seed=4, cluster_cidr="10.244.0.0/16"), nodes=2)
    cluster.advance(30)
    store = FileStore(tmp_path / "home")
    store.save(cluster.snapshot())
    same, snap = store.load(), cluster.snapshot()
    assert tuple(same.queue) == tuple(snap.queue)  # the heap's shape may differ, not its order
    assert attrs.evolve(same, queue=snap.queue) == snap  # same code: everything, component states too
    monkeypatch.setattr(store_file, "code_fingerprint", lambda: "another-build")
    restarted = store.load()
    assert restarted.components == {} and restarted.runtimes == {}
    assert (restarted.now, restarted.seed, restarted.state.revision) == (cluster.now, cluster.seed, cluster.state.revision)
    assert restarted.state.config == cluster.state.config
    for kind in Kind:
        assert [to_dict(o) for o in list_objects(restarted.state, kind)] == [
            to_dict(o) for o in list_objects(cluster.state, kind)
        ]
    assert restarted.state.log.compacted_revision == cluster.state.revision  # old watches: 410 Gone


def test_a_restarted_cluster_runs_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kcore.driver import default_components, new_cluster
    from kcore.driver.cluster import Cluster
    from kcore.store import file as store_file

    store = FileStore(tmp_path / "home")
    store.save(new_cluster(ClusterConfig(seed=4), nodes=2).snapshot())
    monkeypatch.setattr(store_file, "code_fingerprint", lambda: "another-build")
    snap = store.load()
    cluster = Cluster(snap, default_components(snap.state))
    assert cluster.advance(60)
    assert cluster.state.revision > snap.state.revision  # heartbeats flow again


def test_client_limits_survive_a_restart_from_the_portable_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kcore.driver import new_cluster
    from kcore.store import file as store_file

    cluster = new_cluster(ClusterConfig(seed=4), nodes=1, throttled=True)
    assert cluster.snapshot().client_limits  # every component has one
    store = FileStore(tmp_path / "home")
    store.save(cluster.snapshot())
    monkeypatch.setattr(store_file, "code_fingerprint", lambda: "another-build")
    assert store.load().client_limits == cluster.snapshot().client_limits
