"""One seed and one sequence of commands give byte-identical output, whatever the process.

The same commands run as separate `kcore` processes under different PYTHONHASHSEEDs (so
string hashing, and with it PMap iteration order, differs) and in process through
`Cluster`: every `get -o json` must be the same bytes, and settling must end at the same
simulated time.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import attrs

from kcore.api.kinds import Kind, ObjectKey
from kcore.api.manifest import dump_json, load_manifests
from kcore.component.requests import ListObjects, ObjectList, UpdateScale
from kcore.driver import new_cluster
from kcore.state import ClusterConfig

MANIFEST = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  replicas: 4
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
        readinessProbe: {httpGet: {path: /, port: 80}, initialDelaySeconds: 3, periodSeconds: 2}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 2
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}, annotations: {kcore.io/ready-after: "4"}}
    spec:
      containers:
      - name: db
        image: postgres:16
        readinessProbe: {exec: {command: [pg_isready]}, periodSeconds: 3}
"""

SEED = 11
NODES = 3


def _kcore(home: Path, hash_seed: str, *argv: str) -> str:
    env = {**os.environ, "KCORE_HOME": str(home), "PYTHONHASHSEED": hash_seed}
    done = subprocess.run(
        [sys.executable, "-m", "kcore.cli", *argv], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _through_the_cli(tmp_path: Path, hash_seed: str) -> tuple[str, str]:
    home = tmp_path / f"home-{hash_seed}"
    manifest = tmp_path / "app.yaml"
    manifest.write_text(MANIFEST)
    _kcore(home, hash_seed, "cluster", "create", "--nodes", str(NODES), "--seed", str(SEED))
    _kcore(home, hash_seed, "apply", "-f", str(manifest))
    after_apply = _kcore(home, hash_seed, "get", "pods", "-A", "-o", "json")
    _kcore(home, hash_seed, "scale", "deployment/web", "--replicas", "2")
    after_scale = _kcore(home, hash_seed, "get", "pods", "-A", "-o", "json")
    return after_apply, after_scale


def _in_process() -> tuple[str, str]:
    cluster = new_cluster(ClusterConfig(seed=SEED), nodes=NODES)
    objs = [
        attrs.evolve(loaded.obj, metadata=attrs.evolve(loaded.obj.metadata, namespace="default"))  # type: ignore[misc]
        for loaded in load_manifests(MANIFEST, defaults=False)
    ]
    cluster.apply(objs)
    cluster.settle()

    def pods() -> str:
        listed = cluster.request(ListObjects(kind=Kind.POD)).body
        assert isinstance(listed, ObjectList)
        return dump_json(list(listed.items))

    after_apply = pods()
    cluster.request(UpdateScale(key=ObjectKey(kind=Kind.DEPLOYMENT, namespace="default", name="web"), replicas=2))
    cluster.settle()
    return after_apply, pods()


def test_the_same_commands_give_the_same_bytes_in_every_process_and_in_process(tmp_path: Path) -> None:
    one = _through_the_cli(tmp_path, "1")
    two = _through_the_cli(tmp_path, "4242")
    assert one == two
    assert one == _in_process()
    after_apply, after_scale = one
    assert after_apply.count('"ready": true') == 8  # 4 web + 2 db + 2 CoreDNS pods, all Ready
    assert after_scale.count('"ready": true') == 6
