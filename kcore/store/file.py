"""The file store: where a local cluster lives between `kcore` commands.

Owns `FileStore`, `home_from_env` and the store errors. The driver's `Snapshot` (every
immutable value: cluster state, clock, seed, component states, queue, trace) is pickled
behind a header naming the format version, in `$KCORE_HOME/cluster.kcore`.

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
import os
import pickle
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Final

from kcore.driver.cluster import Snapshot

FORMAT_VERSION: Final = 1
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


def _header() -> bytes:
    return MAGIC + b" " + str(FORMAT_VERSION).encode() + b"\n"


class FileStore:
    """One cluster in one directory."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.path = home / STATE_FILE

    def exists(self) -> bool:
        return self.path.is_file()

    def load(self) -> Snapshot:
        """The stored snapshot; `NoClusterError` when there is none."""
        try:
            with self.path.open("rb") as f:
                header = f.readline()
                if header != _header():
                    raise StoreError(
                        f"{self.path}: not a kcore store of format {FORMAT_VERSION} "
                        f"(header {header[:40]!r}); delete it with `kcore cluster delete`"
                    )
                snap = pickle.load(f)
        except FileNotFoundError:
            raise NoClusterError(
                f"no cluster: run `kcore cluster create` (KCORE_HOME={self.home})"
            ) from None
        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError) as e:
            raise StoreError(f"{self.path}: damaged store ({e})") from e
        if not isinstance(snap, Snapshot):
            raise StoreError(f"{self.path}: damaged store (holds {type(snap).__name__})")
        return snap

    def save(self, snap: Snapshot) -> None:
        """Replace the stored snapshot atomically (temp file + fsync + rename)."""
        self.home.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".cluster-", suffix=".tmp", dir=self.home)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(_header())
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
