"""Every component is named and signs its Events as upstream's does, the old names still
work, and the Events' source reads as kubectl reads it.

The ids are kube-controller-manager's (cmd/kube-controller-manager/names/controller_names.go),
`kube-scheduler` and `kubelet/<node>`; the event sources are each upstream recorder's
`EventSource`, which is not always the id.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kcore.api.core import Event, EventSource, ObjectReference
from kcore.api.kinds import Kind
from kcore.api.meta import ObjectMeta
from kcore.apiserver.listing import selectable_fields
from kcore.cli import main
from kcore.driver import ALIASES, canonical_name, control_plane, kubelets, new_cluster
from kcore.driver.clock import EPOCH
from kcore.printers import rows
from kcore.state import ClusterConfig

UPSTREAM: dict[str, EventSource] = {
    "namespace-controller": EventSource(component="namespace-controller"),
    "serviceaccount-controller": EventSource(component="serviceaccount-controller"),
    "garbage-collector-controller": EventSource(component="garbage-collector-controller"),
    "node-ipam-controller": EventSource(component="cidrAllocator"),
    "node-lifecycle-controller": EventSource(component="node-controller"),
    "pod-garbage-collector-controller": EventSource(component="pod-garbage-collector-controller"),
    "deployment-controller": EventSource(component="deployment-controller"),
    "replicaset-controller": EventSource(component="replicaset-controller"),
    "replicationcontroller-controller": EventSource(component="replication-controller"),
    "daemonset-controller": EventSource(component="daemonset-controller"),
    "statefulset-controller": EventSource(component="statefulset-controller"),
    "job-controller": EventSource(component="job-controller"),
    "cronjob-controller": EventSource(component="cronjob-controller"),
    "ttl-after-finished-controller": EventSource(component="ttl-after-finished-controller"),
    "disruption-controller": EventSource(component="controllermanager"),
    "endpoints-controller": EventSource(component="endpoint-controller"),
    "endpointslice-controller": EventSource(component="endpoint-slice-controller"),
    "endpointslice-mirroring-controller": EventSource(component="endpoint-slice-mirroring-controller"),
    "service-lb-controller": EventSource(component="service-controller"),
    "metrics-server": EventSource(component="metrics-server"),
    "ingress-nginx-controller": EventSource(component="nginx-ingress-controller"),
    "coredns": EventSource(component="coredns"),
    "kube-proxy": EventSource(component="kube-proxy"),
    "horizontal-pod-autoscaler-controller": EventSource(component="horizontal-pod-autoscaler"),
    "kube-scheduler": EventSource(component="default-scheduler"),
}


def test_the_control_plane_has_upstreams_ids_and_event_sources_in_delivery_order() -> None:
    assert [(c.name, c.event_source) for c in control_plane()] == list(UPSTREAM.items())


def test_a_kubelet_is_named_per_node_but_records_as_kubelet_on_its_host() -> None:
    state = new_cluster(ClusterConfig(seed=1), nodes=2).state
    assert [(k.name, k.event_source) for k in kubelets(state)] == [
        ("kubelet/node-1", EventSource(component="kubelet", host="node-1")),
        ("kubelet/node-2", EventSource(component="kubelet", host="node-2")),
    ]


def test_every_alias_names_a_control_plane_component_and_ids_stand_for_themselves() -> None:
    ids = {c.name for c in control_plane()}
    assert set(ALIASES.values()) <= ids
    assert not set(ALIASES) & ids
    assert [canonical_name(n) for n in ("scheduler", "garbagecollector", "podgc", "kubelet/node-1")] == [
        "kube-scheduler",
        "garbage-collector-controller",
        "pod-garbage-collector-controller",
        "kubelet/node-1",
    ]


def test_kcore_fault_takes_a_components_earlier_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KCORE_HOME", str(tmp_path / "home"))
    manifest = tmp_path / "pod.yaml"
    manifest.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec: {containers: [{name: app, image: nginx}]}\n")
    assert main(["cluster", "create", "--nodes", "1"]) == 0
    assert main(["fault", "pause", "scheduler"]) == 0
    assert main(["apply", "-f", str(manifest)]) == 0
    assert main(["advance", "30s"]) == 0
    capsys.readouterr()
    assert main(["get", "pod", "web"]) == 0
    assert "Pending" in capsys.readouterr().out
    assert main(["fault", "resume", "kube-scheduler"]) == 0
    assert main(["advance", "30s"]) == 0
    capsys.readouterr()
    assert main(["get", "pod", "web"]) == 0
    assert "Running" in capsys.readouterr().out


def _event(name: str, source: EventSource, reporting: tuple[str, str] = ("", "")) -> Event:
    return Event(
        metadata=ObjectMeta(name=name, namespace="default"),
        involved_object=ObjectReference(kind="Pod", namespace="default", name="web"),
        source=source,
        reporting_component=reporting[0],
        reporting_instance=reporting[1],
    )


KUBELET_EVENT = _event("a", EventSource(component="kubelet", host="node-1"), ("kubelet", "node-1"))
SCHEDULER_EVENT = _event("b", EventSource(component="default-scheduler"), ("default-scheduler", ""))
EVENTS_V1_EVENT = _event("c", EventSource(), ("default-scheduler", "kube-scheduler-node-1"))  # reporting* only


def test_the_source_column_reads_as_kubectls_format_event_source() -> None:
    table = rows([KUBELET_EVENT, SCHEDULER_EVENT, EVENTS_V1_EVENT], Kind.EVENT, EPOCH, wide=True)
    at = table[0].index("SOURCE")
    assert [r[at] for r in table[1:]] == ["kubelet, node-1", "default-scheduler", "default-scheduler, kube-scheduler-node-1"]


def test_event_field_selectors_read_source_and_reporting_component_as_upstream() -> None:
    assert [(selectable_fields(e)["source"], selectable_fields(e)["reportingComponent"]) for e in (KUBELET_EVENT, EVENTS_V1_EVENT)] == [
        ("kubelet", "kubelet"),
        ("default-scheduler", "default-scheduler"),
    ]
