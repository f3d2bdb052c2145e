"""`kcore net route` through the command line: the JSON contract, text output, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kcore.cli import main

MANIFESTS = Path(__file__).resolve().parent / "manifests"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("route")


@pytest.fixture
def cluster(home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Path:
    monkeypatch.setenv("KCORE_HOME", str(home / "kcore"))
    if not (home / "kcore").exists():
        assert main(["cluster", "create", "--nodes", "2", "--seed", "3"]) == 0
        assert main(["apply", "-f", str(MANIFESTS / "kubeguide.yaml")]) == 0
    capsys.readouterr()
    return home


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def a_pod(capsys: pytest.CaptureFixture[str], namespace: str, prefix: str) -> str:
    _, out, _ = run(capsys, "get", "pods", "-n", namespace, "-o", "name")
    return next(line.split("/", 1)[1] for line in out.split() if line.split("/", 1)[1].startswith(prefix))


def test_route_json_has_the_contracts_keys(cluster: Path, capsys: pytest.CaptureFixture[str]) -> None:
    web = a_pod(capsys, "shop", "myweb-")
    code, out, err = run(capsys, "net", "route", "--from", f"pod/{web}", "-n", "shop", "--to", "mysql.default:3306", "-o", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert set(doc) == {"delivered", "reason", "source_ip_seen", "backend", "hops"}
    assert doc["delivered"] is True and doc["reason"] == ""
    assert set(doc["backend"]) == {"namespace", "pod", "node", "ip", "port"}
    assert doc["backend"]["namespace"] == "default" and doc["backend"]["port"] == 3306
    assert all(set(h) == {"node", "step", "detail"} for h in doc["hops"])


def test_a_dropped_connection_exits_0_and_says_why(cluster: Path, capsys: pytest.CaptureFixture[str]) -> None:
    web = a_pod(capsys, "shop", "myweb-")
    code, out, _ = run(capsys, "net", "route", "--from", f"pod/{web}", "-n", "shop", "--to", "nosuch:80", "-o", "json")
    doc = json.loads(out)
    assert (code, doc["delivered"], doc["reason"], doc["backend"]) == (0, False, "nosuch does not resolve: NXDOMAIN", None)
    code, out, _ = run(capsys, "net", "route", "--from", f"pod/{web}", "-n", "shop", "--to", "mysql.default:3307")
    assert code == 0 and out.splitlines()[-1].startswith("dropped: connection refused:")


def test_http_to_the_ingress_address_answers_a_status(cluster: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "net", "route", "--from", "203.0.113.7", "--to", "http://198.51.100.1/", "-o", "json")
    doc = json.loads(out)
    assert (code, doc["delivered"], doc["http_status"]) == (0, False, 404)


def test_bad_requests_exit_1(cluster: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "net", "route", "--from", "pod/nope", "--to", "mysql:3306")[0] == 1
    code, _, err = run(capsys, "net", "route", "--from", "203.0.113.7", "--to", "mysql")
    assert code == 1 and "malformed destination 'mysql'" in err
    assert run(capsys, "net", "route", "--from", "not-an-ip", "--to", "10.0.0.1:80")[0] == 1
    assert run(capsys, "net", "route", "--from", "node/nope", "--to", "10.0.0.1:80")[0] == 1


def test_text_output_lists_the_hops_then_the_outcome(cluster: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "net", "route", "--from", "node/node-1", "--to", "my-service.default.svc.cluster.local:80")
    lines = out.splitlines()
    assert code == 0
    assert [line.split()[0] for line in lines[:-1]] == ["source", "dns", "kube-proxy", "deliver"]
    assert lines[-1].startswith("delivered to pod default/myapp-")
