"""The file store: where a local cluster lives between `kcore` commands.

Owns `FileStore`, `home_from_env`, `code_fingerprint` and the store errors. The file
`$KCORE_HOME/cluster.kcore` holds, behind a header naming the format version and the
fingerprint of the kcore code that wrote it, two pickle frames:
1. the portable state: the API objects in their wire form (`to_dict`), the revision, the
   clock, the seed and the cluster config, as plain dicts and lists (what etcd would
   hold), readable by any kcore version;
2. the driver's whole `Snapshot` (component states, queue, runtimes, trace), read only
   when the fingerprint matches the running code: kcore's classes change between
   versions, and a pickle of old classes cannot be trusted.
When the fingerprints differ (kcore was upgraded or edited), the cluster restarts from
the portable state, as a control plane and its nodes restart on an upgrade: the objects
and the clock stay, components relist, node runtimes start empty, the watch log starts
at the stored revision (older watches get 410 Gone).

Rules:
- Every write replaces the file atomically: write a temp file in the same directory,
  flush, fsync, `os.replace`, fsync the directory. A command killed at any instant leaves
  either the old cluster or the new one, never a torn file.
- `lock()` serialises read-modify-write cycles of concurrent commands (flock on a
  separate lock file, released by the OS if the process dies).
- A missing home is the clear error "no cluster: run `kcore cluster create`"; a file of
  another format version or a damaged one is a `StoreError` naming the file.
- The pickle is written and read only by kcore itself in the user's own directory; it
  is a cache of trusted local state, not an interchange format.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import gc
import hashlib
import os
import pickle
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Final

import attrs
from pyrsistent import pmap

from kcore.api.codec import CodecError, from_dict, to_dict
from kcore.api.kinds import Kind
from kcore.api.meta import Time
from kcore.api.user import UserInfo
from kcore.driver.snapshot import Snapshot
from kcore.driver.throttle import RateLimit
from kcore.state import ClusterConfig, ClusterState, WatchLog, empty_state, list_objects, put

FORMAT_VERSION: Final = 2
MAGIC: Final = b"KCORE-STORE"
STATE_FILE: Final = "cluster.kcore"
LOCK_FILE: Final = "lock"
DEFAULT_HOME: Final = ".kcore"


class StoreError(Exception):
    """The stored cluster cannot be read or written."""


class NoClusterError(StoreError):
    """KCORE_HOME holds no cluster."""


def home_from_env(env: Mapping[str, str] | None = None) -> Path:
    """`$KCORE_HOME`, or `./.kcore` when unset or empty."""
    environ = os.environ if env is None else env
    return Path(environ.get("KCORE_HOME") or DEFAULT_HOME)


@functools.cache
def code_fingerprint() -> str:
    """SHA-256 of every kcore source file (path and content): which code wrote a store."""
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:32]


def _header(fingerprint: str) -> bytes:
    return MAGIC + b" " + str(FORMAT_VERSION).encode() + b" " + fingerprint.encode() + b"\n"


def portable(snap: Snapshot) -> dict[str, Any]:
    """What survives any code change: objects in wire form, revision, clock, seed, config,
    the components' client rate limits."""
    state = snap.state
    cfg = state.config
    objects = [to_dict(o) for kind in sorted(Kind, key=lambda k: k.value) for o in list_objects(state, kind)]
    return {
        "now": float(snap.now),
        "seed": snap.seed,
        "revision": state.revision,
        "config": {
            "seed": cfg.seed,
            "service_cidr": cfg.service_cidr,
            "node_port_range": list(cfg.node_port_range),
            "cluster_cidr": cfg.cluster_cidr,
            "lb_pool": cfg.lb_pool,
            "watch_log_limit": cfg.watch_log_limit,
            "static_tokens": {
                t: {"name": u.name, "groups": list(u.groups), "uid": u.uid} for t, u in sorted(cfg.static_tokens.items())
            },
            "token_key": cfg.token_key,
        },
        "objects": objects,
        "client_limits": {name: [lim.qps, lim.burst] for name, lim in sorted(snap.client_limits.items())},
    }


def from_portable(data: dict[str, Any]) -> Snapshot:
    """A restarted cluster from `portable` data: same objects and clock, fresh components."""
    c = data["config"]
    config = ClusterConfig(
        seed=c["seed"],
        service_cidr=c["service_cidr"],
        node_port_range=(c["node_port_range"][0], c["node_port_range"][1]),
        cluster_cidr=c["cluster_cidr"],
        lb_pool=c.get("lb_pool", ClusterConfig().lb_pool),
        watch_log_limit=c["watch_log_limit"],
        static_tokens=pmap(
            {t: UserInfo(name=u["name"], groups=tuple(u["groups"]), uid=u["uid"]) for t, u in c["static_tokens"].items()}
        ),
        token_key=c["token_key"],
    )
    state: ClusterState = empty_state(config)
    for obj in data["objects"]:
        state = put(state, from_dict(obj).obj)
    revision = int(data["revision"])
    state = attrs.evolve(state, revision=revision, log=WatchLog(compacted_revision=revision))
    limits = pmap({str(n): RateLimit(qps=float(q), burst=int(b)) for n, (q, b) in data.get("client_limits", {}).items()})
    return Snapshot(state=state, now=Time(data["now"]), seed=int(data["seed"]), client_limits=limits)


@contextlib.contextmanager
def _loading() -> Iterator[None]:
    """No cyclic collection while a cluster is unpickled, and what it loaded frozen after.

    Unpickling allocates millions of young container objects (5,000 nodes: 254 s with the
    default thresholds, the collector walking the growing heap again and again; 39 s
    without it); a young-generation pass after would still walk them all once (18 s).
    The loaded values are immutable and make no cycles (DESIGN.md), so `gc.freeze` moves
    them out of the collector's sight; reference counting still frees them."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


class FileStore:
    """One cluster in one directory."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.path = home / STATE_FILE

    def exists(self) -> bool:
        return self.path.is_file()

    def load(self) -> Snapshot:
        """The stored snapshot; `NoClusterError` when there is none. A store written by
        other kcore code comes back restarted from its portable state."""
        try:
            with _loading(), self.path.open("rb") as f:
                header = f.readline()
                parts = header.rstrip(b"\n").split(b" ")
                if len(parts) != 3 or parts[0] != MAGIC or parts[1] != str(FORMAT_VERSION).encode():
                    raise StoreError(
                        f"{self.path}: not a kcore store of format {FORMAT_VERSION} "
                        f"(header {header[:40]!r}); delete it with `kcore cluster delete`"
                    )
                data = pickle.load(f)
                if parts[2].decode() == code_fingerprint():
                    with contextlib.suppress(Exception):  # any trouble: the portable state
                        snap = pickle.load(f)
                        if isinstance(snap, Snapshot):
                            return snap
        except FileNotFoundError:
            raise NoClusterError(
                f"no cluster: run `kcore cluster create` (KCORE_HOME={self.home})"
            ) from None
        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError) as e:
            raise StoreError(f"{self.path}: damaged store ({e})") from e
        try:
            return from_portable(data)
        except (KeyError, TypeError, ValueError, CodecError) as e:
            raise StoreError(f"{self.path}: damaged store ({e})") from e

    def save(self, snap: Snapshot) -> None:
        """Replace the stored snapshot atomically (temp file + fsync + rename)."""
        self.home.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".cluster-", suffix=".tmp", dir=self.home)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(_header(code_fingerprint()))
                pickle.dump(portable(snap), f, protocol=pickle.HIGHEST_PROTOCOL)
                pickle.dump(snap, f, protocol=pickle.HIGHEST_PROTOCOL)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        _fsync_dir(self.home)

    def delete(self) -> bool:
        """Remove the home directory; False when there was no cluster."""
        if not self.home.exists():
            return False
        had = self.exists()
        shutil.rmtree(self.home)
        return had

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the home's exclusive lock (for a load-modify-save cycle)."""
        self.home.mkdir(parents=True, exist_ok=True)
        with (self.home / LOCK_FILE).open("a") as f:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
