"""Realistic manifests in the styles the Kubernetes docs use load cleanly into kcore.

Every file under tests/manifests/ (kcore's own, written for these tests) must load with
no error and no unknown-field warning, survive the codec round trip unchanged, and pass
create validation as the apiserver sees it. Per fixture, a few exact values pin that the
fields landed where they belong (and that upstream defaults were applied).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import TypeVar

import attrs
import pytest

from kcore.api.apps import DaemonSet, Deployment, ReplicaSet, StatefulSet
from kcore.api.autoscaling import HorizontalPodAutoscaler
from kcore.api.batch import CronJob, Job
from kcore.api.codec import from_dict, to_dict
from kcore.api.coordination import Lease
from kcore.api.core import (
    ConfigMap,
    Endpoints,
    Event,
    LimitRange,
    Namespace,
    Node,
    PersistentVolumeClaim,
    ReplicationController,
    ResourceQuota,
    Secret,
    Service,
    ServiceAccount,
)
from kcore.api.defaults import apply_defaults
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.manifest import Loaded, load_manifests
from kcore.api.meta import ApiObject, Time
from kcore.api.metrics import PodMetrics
from kcore.api.networking import Ingress
from kcore.api.pod import Pod
from kcore.api.policy import PodDisruptionBudget
from kcore.api.rbac import ClusterRole, ClusterRoleBinding, Role, RoleBinding
from kcore.api.validation import validate
from kcore.apiserver import handle
from kcore.component.requests import Create
from kcore.quantity import parse_quantity
from kcore.state import get
from tests.builders import cluster_with

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "manifests"
FIXTURE_FILES = sorted(p for p in FIXTURES.iterdir() if p.suffix in (".yaml", ".yml", ".json"))

T = TypeVar("T")


def load(name: str) -> tuple[Loaded, ...]:
    return load_manifests((FIXTURES / name).read_text(encoding="utf-8"), source=name)


def only(name: str, cls: type[T], index: int = 0) -> T:
    """The `index`-th object of fixture `name`, checked to be a `cls`."""
    obj = load(name)[index].obj
    assert isinstance(obj, cls), f"{name}[{index}] is a {type(obj).__name__}"
    return obj


def as_created(obj: ApiObject) -> ApiObject:
    # The apiserver stamps a uid before validating (a Job's selector is generated from it)
    # and clears the namespace of a cluster-scoped object (upstream rest.BeforeCreate).
    namespace = obj.metadata.namespace if obj.KIND.info.namespaced else ""
    meta = attrs.evolve(
        obj.metadata, uid="00000000-0000-0000-0000-000000000001", namespace=namespace
    )
    return apply_defaults(attrs.evolve(obj, metadata=meta))  # type: ignore[misc]  # every kind is an attrs class


# --- every fixture ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.name)
def test_fixture_loads_without_warnings(path: Path) -> None:
    loaded = load(path.name)
    assert loaded
    assert [(item.obj.metadata.name, item.warnings) for item in loaded] == [
        (item.obj.metadata.name, ()) for item in loaded
    ]


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.name)
def test_fixture_round_trips_losslessly(path: Path) -> None:
    for item in load(path.name):
        again = from_dict(to_dict(item.obj))
        assert again.warnings == ()
        assert again.obj == item.obj
        assert to_dict(again.obj) == to_dict(item.obj)


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.name)
def test_fixture_passes_create_validation(path: Path) -> None:
    for item in load(path.name):
        assert validate(as_created(item.obj), None) == (), item.obj.metadata.name


def test_fixtures_cover_every_kind() -> None:
    kinds = {item.obj.KIND for path in FIXTURE_FILES for item in load(path.name)}
    assert sorted(k.value for k in set(Kind) - kinds) == []


def test_documents_keep_stream_order_and_index() -> None:
    loaded = load("web-app.yaml")
    assert [(type(i.obj).__name__, i.index) for i in loaded] == [
        ("Namespace", 0),
        ("Deployment", 1),
        ("Service", 2),
    ]


# --- exact values per fixture ----------------------------------------------------------------


def test_web_app_deployment_probes_resources_and_defaults() -> None:
    ns = only("web-app.yaml", Namespace, 0)
    # Upstream's namespace defaulting stamps the immutable name label.
    assert dict(ns.metadata.labels) == {"kubernetes.io/metadata.name": "shop", "team": "storefront"}
    d = only("web-app.yaml", Deployment, 1)
    assert d.spec.replicas == 4
    assert d.spec.revision_history_limit == 10
    assert d.spec.progress_deadline_seconds == 600
    rolling = d.spec.strategy.rolling_update
    assert rolling is not None and (rolling.max_surge, rolling.max_unavailable) == (1, 0)
    (c,) = d.spec.template.spec.containers
    assert c.resources.requests["cpu"] == parse_quantity("250m")
    assert c.resources.limits["memory"] == parse_quantity("256Mi")
    assert c.readiness_probe is not None and c.readiness_probe.http_get is not None
    assert c.readiness_probe.http_get.port == "http"
    assert c.liveness_probe is not None and c.liveness_probe.tcp_socket is not None
    assert c.liveness_probe.tcp_socket.port == 8080
    assert c.startup_probe is not None and c.startup_probe.failure_threshold == 30
    assert [e.name for e in c.env] == ["LOG_LEVEL", "POD_NAME"]
    assert d.spec.template.spec.termination_grace_period_seconds == 30


def test_web_app_service_targets_the_named_port() -> None:
    svc = only("web-app.yaml", Service, 2)
    (port,) = svc.spec.ports
    assert (port.name, port.port, port.target_port, port.protocol.value) == (
        "web",
        80,
        "http",
        "TCP",
    )
    assert svc.spec.type.value == "ClusterIP"
    assert dict(svc.spec.selector) == {"app.kubernetes.io/name": "catalog"}


def test_json_pod_affinity_and_tolerations() -> None:
    p = only("pod-scheduling.yaml", Pod)
    assert p.spec.priority == 1000
    assert p.spec.termination_grace_period_seconds == 60
    assert dict(p.spec.node_selector) == {"kubernetes.io/os": "linux"}
    assert [(t.key, t.operator.value, t.toleration_seconds) for t in p.spec.tolerations] == [
        ("dedicated", "Equal", None),
        ("node.kubernetes.io/unreachable", "Exists", 120),
    ]
    affinity = p.spec.affinity
    assert affinity is not None and affinity.node_affinity is not None
    required = affinity.node_affinity.required_during_scheduling_ignored_during_execution
    assert required is not None
    (term,) = required.node_selector_terms
    assert [tuple(r.values) for r in term.match_expressions] == [("a100", "h100")]
    (c,) = p.spec.containers
    assert c.resources.limits["example.com/gpu"] == parse_quantity("2")
    # An image pinned by digest and no tag pulls IfNotPresent, as upstream defaults it.
    assert c.image_pull_policy is not None and c.image_pull_policy.value == "IfNotPresent"


def test_pod_volumes_of_every_modelled_source() -> None:
    p = only("pod-volumes.yaml", Pod)
    assert p.spec.restart_policy.value == "OnFailure"
    vols = {v.name: v for v in p.spec.volumes}
    assert vols["work"].empty_dir is not None
    assert vols["work"].empty_dir.size_limit == parse_quantity("64Mi")
    assert vols["settings"].config_map is not None
    assert vols["settings"].config_map.name == "report-settings"
    assert vols["credentials"].secret is not None
    assert vols["credentials"].secret.default_mode == 0o400
    assert vols["archive"].persistent_volume_claim is not None
    assert vols["archive"].persistent_volume_claim.claim_name == "report-archive"
    assert vols["host-logs"].host_path is not None
    assert vols["host-logs"].host_path.path == "/var/log"
    assert [c.name for c in p.spec.init_containers] == ["fetch"]


def test_list_of_config_secret_with_string_data_and_service_account() -> None:
    loaded = load("config.yaml")
    assert [type(i.obj).__name__ for i in loaded] == ["ConfigMap", "Secret", "ServiceAccount"]
    cm = only("config.yaml", ConfigMap, 0)
    assert cm.data["retries"] == "3"
    assert cm.data["report.ini"] == "[output]\nformat = pdf\n"
    secret = only("config.yaml", Secret, 1)
    # stringData is write-only: defaulting moves it into data, as the apiserver does.
    assert dict(secret.data) == {"password": b"s3cr3t!", "username": b"reporter"}
    assert dict(secret.string_data) == {}
    assert secret.type == "Opaque"
    sa = only("config.yaml", ServiceAccount, 2)
    assert sa.automount_service_account_token is False


def test_pvc_requests_and_default_volume_mode() -> None:
    pvc = only("storage.yaml", PersistentVolumeClaim)
    assert pvc.spec.resources.requests["storage"] == parse_quantity("5Gi")
    assert [m.value for m in pvc.spec.access_modes] == ["ReadWriteOnce"]
    assert pvc.spec.storage_class_name == "standard"
    assert pvc.spec.volume_mode is not None and pvc.spec.volume_mode.value == "Filesystem"


def test_quota_and_limit_range() -> None:
    quota = only("policy.yaml", ResourceQuota, 0)
    assert quota.spec.hard["requests.memory"] == parse_quantity("16Gi")
    assert quota.spec.hard["pods"] == parse_quantity("20")
    lr = only("policy.yaml", LimitRange, 1)
    (item,) = lr.spec.limits
    assert item.type.value == "Container"
    assert item.default["cpu"] == parse_quantity("500m")
    assert item.default_request["memory"] == parse_quantity("64Mi")
    assert item.max["memory"] == parse_quantity("1Gi")


def test_cronjob_schedule_and_indexed_job() -> None:
    cj = only("batch.yaml", CronJob, 0)
    assert cj.spec.schedule == "30 2 * * 1-5"
    assert cj.spec.time_zone == "Etc/UTC"
    assert cj.spec.concurrency_policy.value == "Forbid"
    assert (cj.spec.successful_jobs_history_limit, cj.spec.failed_jobs_history_limit) == (5, 1)
    assert cj.spec.job_template.spec.backoff_limit == 2
    job = only("batch.yaml", Job, 1)
    assert (job.spec.completions, job.spec.parallelism) == (6, 2)
    assert job.spec.completion_mode is not None and job.spec.completion_mode.value == "Indexed"
    assert job.spec.ttl_seconds_after_finished == 600
    assert job.spec.backoff_limit == 6


def test_statefulset_with_claim_templates_and_headless_service() -> None:
    sts = only("stateful.yaml", StatefulSet, 0)
    assert sts.spec.service_name == "ledger"
    assert sts.spec.pod_management_policy.value == "Parallel"
    (claim,) = sts.spec.volume_claim_templates
    assert claim.metadata.name == "state"
    assert claim.spec.resources.requests["storage"] == parse_quantity("10Gi")
    svc = only("stateful.yaml", Service, 1)
    assert svc.spec.cluster_ip == "None"
    assert svc.spec.ports[0].target_port == 5432


def test_daemonset_replicaset_and_replication_controller() -> None:
    ds = only("node-agents.yaml", DaemonSet, 0)
    assert ds.spec.template.spec.host_network is True
    rolling = ds.spec.update_strategy.rolling_update
    assert rolling is not None and rolling.max_unavailable == 2
    rs = only("node-agents.yaml", ReplicaSet, 1)
    (expr,) = rs.spec.selector.match_expressions
    assert (expr.key, expr.operator.value, tuple(expr.values)) == ("tier", "In", ("cache",))
    rc = only("node-agents.yaml", ReplicationController, 2)
    assert dict(rc.spec.selector) == {"app": "legacy-web"}
    assert rc.spec.replicas == 1


def test_hpa_v2_metrics_and_behavior() -> None:
    hpa = only("autoscaling.yaml", HorizontalPodAutoscaler)
    assert (hpa.spec.min_replicas, hpa.spec.max_replicas) == (2, 12)
    assert hpa.spec.scale_target_ref.name == "catalog"
    cpu, rps = hpa.spec.metrics
    assert cpu.resource is not None and cpu.resource.target.average_utilization == 70
    assert rps.pods is not None and rps.pods.metric.name == "requests_per_second"
    assert rps.pods.target.average_value == parse_quantity("100")
    assert hpa.spec.behavior is not None and hpa.spec.behavior.scale_down is not None
    assert hpa.spec.behavior.scale_down.stabilization_window_seconds == 300
    assert [
        (p.type.value, p.value, p.period_seconds) for p in hpa.spec.behavior.scale_down.policies
    ] == [("Percent", 50, 60)]


def test_ingress_rules_tls_and_default_backend() -> None:
    ing = only("ingress.yaml", Ingress)
    assert ing.spec.ingress_class_name == "nginx"
    assert [tuple(t.hosts) for t in ing.spec.tls] == [("shop.example.org",)]
    (rule,) = ing.spec.rules
    assert rule.host == "shop.example.org"
    assert rule.http is not None
    paths = [(p.path, p.path_type.value) for p in rule.http.paths]
    assert paths == [("/catalog", "Prefix"), ("/healthz", "Exact")]
    first = rule.http.paths[0].backend.service
    assert first is not None and first.port.number == 80
    default = ing.spec.default_backend
    assert (
        default is not None and default.service is not None and default.service.port.name == "web"
    )


def test_rbac_roles_bindings_and_non_resource_urls() -> None:
    role = only("rbac.yaml", Role, 0)
    assert [tuple(r.resources) for r in role.rules] == [("pods", "pods/log")]
    binding = only("rbac.yaml", RoleBinding, 1)
    assert [(s.kind, s.name, s.namespace) for s in binding.subjects] == [
        ("User", "jane", ""),
        ("ServiceAccount", "reporter", "default"),
    ]
    assert (binding.role_ref.kind, binding.role_ref.name) == ("Role", "pod-reader")
    cr = only("rbac.yaml", ClusterRole, 2)
    assert [tuple(r.resource_names) for r in cr.rules] == [("catalog",), ()]
    assert tuple(cr.rules[1].non_resource_urls) == ("/healthz", "/healthz/*")
    crb = only("rbac.yaml", ClusterRoleBinding, 3)
    assert [(s.kind, s.name) for s in crb.subjects] == [("Group", "ops")]


def test_node_lease_endpoints_and_event() -> None:
    node = only("cluster.yaml", Node, 0)
    assert node.spec.pod_cidr == "10.244.1.0/24"
    assert [(t.key, t.value, t.effect.value) for t in node.spec.taints] == [
        ("dedicated", "gpu", "NoSchedule")
    ]
    lease = only("cluster.yaml", Lease, 1)
    assert (lease.spec.holder_identity, lease.spec.lease_duration_seconds) == ("worker-1", 40)
    ep = only("cluster.yaml", Endpoints, 2)
    (subset,) = ep.subsets
    assert [a.ip for a in subset.addresses] == ["192.0.2.10", "192.0.2.11"]
    assert [(p.name, p.port) for p in subset.ports] == [("sql", 5432)]
    ev = only("cluster.yaml", Event, 3)
    assert (ev.reason, ev.type, ev.count) == ("ScalingReplicaSet", "Normal", 1)
    assert ev.involved_object.name == "catalog"


def test_pod_resource_claims_and_container_claims() -> None:
    p = only("dra-claims.yaml", Pod)
    assert [
        (c.name, c.resource_claim_name, c.resource_claim_template_name)
        for c in p.spec.resource_claims
    ] == [
        ("accelerator", "shared-fpga", None),
        ("scratch-gpu", None, "one-gpu"),
    ]
    train, monitor = p.spec.containers
    assert [(c.name, c.request) for c in train.resources.claims] == [
        ("scratch-gpu", "gpu"),
        ("accelerator", ""),
    ]
    assert train.resources.requests["cpu"] == parse_quantity("2")
    assert [c.name for c in monitor.resources.claims] == ["accelerator"]
    spec = to_dict(p)["spec"]
    assert isinstance(spec, dict)
    assert spec["resourceClaims"] == [
        {"name": "accelerator", "resourceClaimName": "shared-fpga"},
        {"name": "scratch-gpu", "resourceClaimTemplateName": "one-gpu"},
    ]
    containers = spec["containers"]
    assert isinstance(containers, list) and isinstance(containers[1], dict)
    assert containers[1]["resources"] == {"claims": [{"name": "accelerator"}]}


def test_cluster_scoped_objects_with_a_namespace_are_stored_without_it() -> None:
    role = only("cluster-scoped-with-namespace.yaml", ClusterRole, 0)
    assert role.metadata.namespace == "plugins"  # kept as written until the apiserver sees it
    state = cluster_with()
    for item in load("cluster-scoped-with-namespace.yaml"):
        state, response, _ = handle(state, Create(obj=item.obj), Time(1_767_225_600.0))
        assert response.code == 201, response.body
    stored_role = get(state, ObjectKey(kind=Kind.CLUSTER_ROLE, namespace="", name="device-plugin"))
    stored_binding = get(
        state, ObjectKey(kind=Kind.CLUSTER_ROLE_BINDING, namespace="", name="device-plugin")
    )
    assert stored_role is not None and stored_role.metadata.namespace == ""
    assert isinstance(stored_binding, ClusterRoleBinding)
    assert stored_binding.metadata.namespace == ""
    assert [(s.kind, s.namespace) for s in stored_binding.subjects] == [
        ("ServiceAccount", "plugins")
    ]


def test_disruption_budgets_by_count_and_percentage() -> None:
    quorum = only("disruption-budgets.yaml", PodDisruptionBudget, 0)
    assert (quorum.spec.max_unavailable, quorum.spec.min_available) == (1, None)
    assert quorum.spec.selector is not None
    assert dict(quorum.spec.selector.match_labels) == {"app.kubernetes.io/name": "ledger"}
    web = only("disruption-budgets.yaml", PodDisruptionBudget, 1)
    assert (web.spec.min_available, web.spec.max_unavailable) == ("60%", None)
    assert web.spec.unhealthy_pod_eviction_policy is not None
    assert web.spec.unhealthy_pod_eviction_policy.value == "AlwaysAllow"


def test_pod_hardening_apparmor_and_supplemental_groups_policy() -> None:
    p = only("pod-hardening.yaml", Pod)
    psc = p.spec.security_context
    assert psc is not None and psc.app_armor_profile is not None
    assert (psc.app_armor_profile.type.value, psc.app_armor_profile.localhost_profile) == (
        "RuntimeDefault",
        None,
    )
    assert (
        psc.supplemental_groups_policy is not None
        and psc.supplemental_groups_policy.value == "Strict"
    )
    assert psc.supplemental_groups == (4000,)
    (c,) = p.spec.containers
    csc = c.security_context
    assert csc is not None and csc.app_armor_profile is not None
    assert (csc.app_armor_profile.type.value, csc.app_armor_profile.localhost_profile) == (
        "Localhost",
        "shop-app-restricted",
    )


# --- the checker script ----------------------------------------------------------------------


def _checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "check_manifests", ROOT / "scripts" / "check_manifests.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_checker_passes_the_fixtures(capsys: pytest.CaptureFixture[str]) -> None:
    main: Callable[[list[str]], int] = _checker().main
    assert main([str(FIXTURES)]) == 0
    out = capsys.readouterr().out
    *verdicts, totals = out.splitlines()
    assert totals.startswith(f"{len(FIXTURE_FILES)} files, ")
    assert totals.endswith(", 0 WARN, 0 SKIPPED, 0 FAIL (validation on)")
    assert {line.split()[0] for line in verdicts} == {"OK"}


def test_checker_reports_skips_warnings_and_failures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "mixed.yaml").write_text(
        "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: fast}\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\nbogus: 1\n---\n"
        "apiVersion: v1\nkind: Service\nmetadata: {name: b}\nspec: {ports: [{port: x}]}\n",
        encoding="utf-8",
    )
    main: Callable[[list[str]], int] = _checker().main
    assert main([str(tmp_path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "SKIPPED mixed.yaml doc 1: kind not modelled: storage.k8s.io/v1/StorageClass"
    assert lines[1] == 'WARN    mixed.yaml doc 2: ConfigMap v1: unknown field "bogus"'
    assert lines[2].startswith("FAIL    mixed.yaml doc 3: Service v1: ")
    assert "spec.ports[0].port" in lines[2]
    assert lines[3] == "1 files, 3 documents: 0 OK, 1 WARN, 1 SKIPPED, 1 FAIL (validation on)"


def test_pod_newer_fields_land_and_are_defaulted() -> None:
    pod = only("pod-newer-fields.yaml", Pod)
    spec = pod.spec
    assert spec.host_users is False
    assert spec.security_context is not None and spec.security_context.windows_options is not None
    assert spec.security_context.windows_options.run_as_user_name == "ContainerUser"
    (watcher,) = spec.init_containers
    (rule,) = watcher.restart_policy_rules
    assert rule.action.value == "Restart"
    assert rule.exit_codes is not None
    assert (rule.exit_codes.operator.value, rule.exit_codes.values) == ("In", (42, 43))
    (shell,) = spec.containers
    assert shell.security_context is not None
    win = shell.security_context.windows_options
    assert win is not None
    assert (win.gmsa_credential_spec_name, win.host_process) == ("webapp1", False)
    rro = shell.volume_mounts[1]
    assert rro.recursive_read_only is not None and rro.recursive_read_only.value == "Enabled"
    tools, _, scratch, certs = spec.volumes
    # SetDefaults_ImageVolumeSource: IfNotPresent unless the tag is (or defaults to) latest.
    assert tools.image is not None and tools.image.pull_policy is not None
    assert (tools.image.reference, tools.image.pull_policy.value) == (
        "quay.io/crio/artifact:v2",
        "IfNotPresent",
    )
    assert tools.empty_dir is None  # an image volume has a source: no emptyDir default
    assert scratch.empty_dir is not None
    assert scratch.empty_dir.medium == "Memory"
    assert scratch.empty_dir.size_limit == parse_quantity("64Mi")
    assert certs.projected is not None
    ctb, pcert = certs.projected.sources
    assert ctb.cluster_trust_bundle is not None
    assert ctb.cluster_trust_bundle.signer_name == "example.com/mysigner"
    assert ctb.cluster_trust_bundle.label_selector is not None
    assert dict(ctb.cluster_trust_bundle.label_selector.match_labels) == {"version": "live"}
    assert pcert.pod_certificate is not None
    # SetDefaults_PodCertificateProjection: maxExpirationSeconds 86400 when unset.
    assert pcert.pod_certificate.max_expiration_seconds == 86400
    assert dict(pcert.pod_certificate.user_annotations) == {"example.com/team": "payments"}
    wire = to_dict(pod)
    assert wire["spec"]["volumes"][0]["image"] == {  # type: ignore[index,call-overload]
        "reference": "quay.io/crio/artifact:v2",
        "pullPolicy": "IfNotPresent",
    }


def test_image_volume_pull_policy_follows_the_tag() -> None:
    text = (FIXTURES / "pod-newer-fields.yaml").read_text(encoding="utf-8")
    latest = text.replace("quay.io/crio/artifact:v2", "alpine")
    (item,) = load_manifests(latest, source="latest")
    assert isinstance(item.obj, Pod)
    image = item.obj.spec.volumes[0].image
    assert image is not None and image.pull_policy is not None
    assert image.pull_policy.value == "Always"


def _pod_with(text: str, old: str, new: str) -> Pod:
    (item,) = load_manifests(text.replace(old, new), source="variant")
    assert isinstance(item.obj, Pod)
    return item.obj


def test_restart_rules_image_volumes_and_rro_are_validated() -> None:
    text = (FIXTURES / "pod-newer-fields.yaml").read_text(encoding="utf-8")
    no_codes = _pod_with(
        text, "      exitCodes:\n        operator: In\n        values: [42, 43]\n", ""
    )
    assert [str(e) for e in validate(as_created(no_codes), None)] == [
        "spec.initContainers[0].restartPolicyRules[0].exitCodes: Required value: must be specified"
    ]
    no_policy = _pod_with(text, "    restartPolicy: Always\n", "")
    assert [e.path for e in validate(as_created(no_policy), None)] == [
        "spec.initContainers[0].restartPolicy"
    ]
    writable = _pod_with(
        text, "      readOnly: true\n      recursiveReadOnly", "      recursiveReadOnly"
    )
    assert [str(e) for e in validate(as_created(writable), None)] == [
        "spec.containers[0].volumeMounts[1].recursiveReadOnly: Forbidden: "
        "may only be specified when readOnly is true"
    ]
    two_sources = _pod_with(
        text, "    image:\n      reference", "    emptyDir: {}\n    image:\n      reference"
    )
    assert [str(e) for e in validate(as_created(two_sources), None)] == [
        "spec.volumes[0].image: Forbidden: may not specify more than 1 volume type"
    ]
    negative = _pod_with(text, "sizeLimit: 64Mi", "sizeLimit: -64Mi")
    assert [e.path for e in validate(as_created(negative), None)] == [
        "spec.volumes[2].emptyDir.sizeLimit"
    ]


def test_pod_metrics_sample_loads() -> None:
    m = only("metrics.yaml", PodMetrics)
    assert (m.metadata.name, m.window) == ("web-7d4b9c", "15s")
    (c,) = m.containers
    assert c.usage["cpu"] == parse_quantity("120m")


def test_pvc_volume_attributes_class_round_trips() -> None:
    pvc = only("pvc-attributes-class.yaml", PersistentVolumeClaim)
    assert pvc.spec.volume_attributes_class_name == "gold"
    assert pvc.spec.storage_class_name is None  # an explicit null stays unset
    assert to_dict(pvc)["spec"]["volumeAttributesClassName"] == "gold"  # type: ignore[index,call-overload]
