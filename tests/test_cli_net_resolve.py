"""`kcore net resolve` against a real stored cluster in a temporary KCORE_HOME."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kcore.addons.coredns import coredns_objects
from kcore.api.manifest import dump_yaml
from kcore.cli import main
from kcore.driver import control_plane
from kcore.state import ClusterConfig

NOTE = "records computed from the stored objects"
WIRED = any(c.name == "coredns" for c in control_plane())

APP = """\
apiVersion: v1
kind: Namespace
metadata: {name: data}
---
apiVersion: v1
kind: Pod
metadata: {name: client, labels: {app: client}}
spec:
  containers: [{name: c, image: busybox:1.36}]
---
apiVersion: v1
kind: Pod
metadata: {name: hostnet}
spec:
  hostNetwork: true
  containers: [{name: c, image: busybox:1.36}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  clusterIP: 10.96.0.12
  selector: {app: web}
  ports: [{name: http, port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: data}
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{name: pg, port: 5432}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: db-x1
  namespace: data
  labels: {kubernetes.io/service-name: db}
addressType: IPv4
endpoints:
  - {addresses: [10.244.0.50], hostname: db-0, conditions: {ready: true}}
  - {addresses: [10.244.1.51], hostname: db-1, conditions: {ready: true}}
ports: [{name: pg, port: 5432, protocol: TCP}]
"""


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Path:
    h = tmp_path / "home"
    monkeypatch.setenv("KCORE_HOME", str(h))
    assert main(["cluster", "create", "--no-addons", "--nodes", "2"]) == 0  # the `dns` fixture adds CoreDNS
    app = tmp_path / "app.yaml"
    app.write_text(APP)
    assert main(["apply", "-f", str(app)]) == 0
    capsys.readouterr()
    return h


@pytest.fixture
def dns(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    manifest = tmp_path / "coredns.yaml"
    manifest.write_text(dump_yaml(coredns_objects(ClusterConfig())))
    assert main(["apply", "-f", str(manifest)]) == 0
    capsys.readouterr()
    return home


def resolve(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """`kcore net resolve ARGV`, through the command line."""
    code = main(["net", "resolve", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def as_json(capsys: pytest.CaptureFixture[str], *argv: str) -> object:
    code, out, err = resolve(capsys, *argv, "-o", "json")
    assert code == 0, err
    assert (NOTE in err) is not WIRED
    return json.loads(out)


def test_a_short_name_resolves_through_the_pods_search_path(dns: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert as_json(capsys, "web", "--from", "pod/client") == {
        "query": "web",
        "fqdn": "web.default.svc.cluster.local.",
        "rcode": "NOERROR",
        "answers": [{"name": "web.default.svc.cluster.local.", "type": "A", "data": "10.96.0.12"}],
    }


def test_a_headless_service_in_another_namespace_answers_its_endpoints(dns: Path, capsys: pytest.CaptureFixture[str]) -> None:
    got = as_json(capsys, "db.data", "--from", "pod/client")
    assert got == {
        "query": "db.data",
        "fqdn": "db.data.svc.cluster.local.",
        "rcode": "NOERROR",
        "answers": [
            {"name": "db.data.svc.cluster.local.", "type": "A", "data": "10.244.0.50"},
            {"name": "db.data.svc.cluster.local.", "type": "A", "data": "10.244.1.51"},
        ],
    }
    one = as_json(capsys, "db-1.db.data.svc.cluster.local", "--from", "pod/client")
    assert one == {
        "query": "db-1.db.data.svc.cluster.local",
        "fqdn": "db-1.db.data.svc.cluster.local.",
        "rcode": "NOERROR",
        "answers": [{"name": "db-1.db.data.svc.cluster.local.", "type": "A", "data": "10.244.1.51"}],
    }


def test_srv_names_each_endpoint(dns: Path, capsys: pytest.CaptureFixture[str]) -> None:
    got = as_json(capsys, "_pg._tcp.db.data", "--from", "pod/client", "--type", "SRV")
    name = "_pg._tcp.db.data.svc.cluster.local."
    assert got == {
        "query": "_pg._tcp.db.data",
        "fqdn": name,
        "rcode": "NOERROR",
        "answers": [
            {"name": name, "type": "SRV", "data": "0 50 5432 db-0.db.data.svc.cluster.local."},
            {"name": name, "type": "SRV", "data": "0 50 5432 db-1.db.data.svc.cluster.local."},
        ],
    }


def test_ptr_takes_an_address(dns: Path, capsys: pytest.CaptureFixture[str]) -> None:
    got = as_json(capsys, "10.96.0.12", "--from", "pod/client", "--type", "PTR")
    assert got == {
        "query": "10.96.0.12",
        "fqdn": "12.0.96.10.in-addr.arpa.",
        "rcode": "NOERROR",
        "answers": [{"name": "12.0.96.10.in-addr.arpa.", "type": "PTR", "data": "web.default.svc.cluster.local."}],
    }


def test_an_unknown_name_is_nxdomain_and_exits_zero(dns: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert as_json(capsys, "nothere", "--from", "pod/client") == {
        "query": "nothere",
        "fqdn": "nothere.",
        "rcode": "NXDOMAIN",
        "answers": [],
    }


def test_a_host_network_pod_uses_the_nodes_resolver(dns: Path, capsys: pytest.CaptureFixture[str]) -> None:
    got = as_json(capsys, "web.default.svc.cluster.local", "--from", "pod/hostnet")
    assert got == {"query": "web.default.svc.cluster.local", "fqdn": "web.default.svc.cluster.local.", "rcode": "NXDOMAIN", "answers": []}


def test_without_the_dns_add_on_lookups_fail(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    got = as_json(capsys, "web", "--from", "pod/client")
    assert got == {
        "query": "web",
        "fqdn": "web.default.svc.cluster.local.",
        "rcode": "SERVFAIL",
        "answers": [],
        "reason": "no DNS server answers at 10.96.0.10",
    }


def test_the_text_output_reads_like_dig(dns: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = resolve(capsys, "web", "--from", "pod/client")
    assert code == 0
    assert out == (
        "; <<>> kcore net resolve <<>> web (from pod/client in default)\n"
        ";; resolv.conf: nameserver 10.96.0.10; search default.svc.cluster.local svc.cluster.local cluster.local; "
        "options ndots:5\n"
        ";; ->>HEADER<<- opcode: QUERY, status: NOERROR, answers: 1\n"
        "\n"
        ";; QUESTION SECTION:\n"
        ";web.default.svc.cluster.local.\t\tIN\tA\n"
        "\n"
        ";; ANSWER SECTION:\n"
        "web.default.svc.cluster.local.\t30\tIN\tA\t10.96.0.12\n"
    )


def test_without_from_the_name_is_asked_of_the_cluster_dns_as_is(dns: Path, capsys: pytest.CaptureFixture[str]) -> None:
    got = as_json(capsys, "kube-dns.kube-system.svc.cluster.local")
    assert got == {
        "query": "kube-dns.kube-system.svc.cluster.local",
        "fqdn": "kube-dns.kube-system.svc.cluster.local.",
        "rcode": "NOERROR",
        "answers": [{"name": "kube-dns.kube-system.svc.cluster.local.", "type": "A", "data": "10.96.0.10"}],
    }


def test_a_bad_request_exits_one(dns: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = resolve(capsys, "web", "--from", "pod/ghost")
    assert (code, err) == (1, 'error: pods "ghost" not found in namespace default\n')
    code, _, err = resolve(capsys, "web..default", "--from", "pod/client")
    assert (code, err) == (1, "error: malformed name 'web..default': empty label\n")
    code, _, err = resolve(capsys, "web", "--from", "deploy/web")
    assert (code, err) == (1, "error: --from takes pod/NAME, not 'deploy/web'\n")


DENY_EGRESS = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny-egress, namespace: default}
spec: {podSelector: {}, policyTypes: [Egress]}
"""

ALLOW_DNS = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-dns, namespace: default}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}}]
    ports: [{protocol: UDP, port: 53}]
"""


def test_an_egress_default_deny_stops_the_pods_lookups_until_dns_is_allowed(
    dns: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The query to kube-dns is a 53/UDP connection: a real client under default-deny
    egress times out ("no servers could be reached")."""
    (tmp_path / "deny.yaml").write_text(DENY_EGRESS)
    assert main(["apply", "-f", str(tmp_path / "deny.yaml")]) == 0
    capsys.readouterr()
    doc = as_json(capsys, "web", "--from", "pod/client")
    assert isinstance(doc, dict) and doc["rcode"] == "SERVFAIL" and doc["answers"] == []
    assert doc["reason"] == (
        "no servers could be reached: the query to 10.96.0.10:53/UDP is denied by NetworkPolicy "
        "(egress from default/client: default/default-deny-egress)"
    )
    (tmp_path / "allow.yaml").write_text(ALLOW_DNS)
    assert main(["apply", "-f", str(tmp_path / "allow.yaml")]) == 0
    capsys.readouterr()
    doc = as_json(capsys, "web", "--from", "pod/client")
    assert isinstance(doc, dict) and doc["rcode"] == "NOERROR", doc
