"""`kcore net rules NODE [-o json]` against a real cluster in a temporary KCORE_HOME.

kube-proxy is not in the control plane yet, so the command computes the rules the stored
API state asks for; the Service's EndpointSlice is applied by hand (no EndpointSlice
controller runs yet either)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kcore.cli import main

MANIFEST = """\
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  clusterIP: 10.96.0.50
  selector: {app: web}
  ports:
    - {name: http, port: 80, targetPort: http, nodePort: 30080}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-abcde
  labels: {kubernetes.io/service-name: web}
addressType: IPv4
ports:
  - {name: http, port: 8080, protocol: TCP}
endpoints:
  - addresses: [10.244.1.7]
    nodeName: node-2
  - addresses: [10.244.0.5]
    nodeName: node-1
    conditions: {ready: true}
"""


@pytest.fixture
def cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Path:
    monkeypatch.setenv("KCORE_HOME", str(tmp_path / "home"))
    assert main(["cluster", "create", "--nodes", "2"]) == 0
    manifest = tmp_path / "web.yaml"
    manifest.write_text(MANIFEST)
    assert main(["apply", "-f", str(manifest)]) == 0
    capsys.readouterr()
    return tmp_path


def test_net_rules_lists_the_nodes_table_one_rule_a_line(cluster: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["net", "rules", "node-2"])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "# node node-2 172.18.0.3"
    assert "cluster-ip 10.96.0.50:80/TCP default/web:http -> 10.244.0.5:8080 10.244.1.7:8080" in lines
    assert "node-port 172.18.0.3:30080/TCP default/web:http -> 10.244.0.5:8080 10.244.1.7:8080" in lines


def test_net_rules_json_prints_the_table_as_data(cluster: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["net", "rules", "node-1", "-o", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["node"], data["address"], data["frozen"]) == ("node-1", "172.18.0.2", False)
    web = [r for r in data["rules"] if r["service"] == "default/web"]
    assert [(r["frontend"], r["ip"], r["port"]) for r in web] == [("cluster-ip", "10.96.0.50", 80), ("node-port", "172.18.0.2", 30080)]
    assert web[0]["backends"] == [{"ip": "10.244.0.5", "port": 8080, "node": "node-1"}, {"ip": "10.244.1.7", "port": 8080, "node": "node-2"}]


def test_net_rules_of_an_unknown_node_is_an_error(cluster: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["net", "rules", "node-9"]) == 1
    assert capsys.readouterr().err == 'error: nodes "node-9" not found\n'
