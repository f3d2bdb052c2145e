"""The codec, registry, defaulting dispatch and manifest loading, on realistic manifests."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import cast

import pytest
from pyrsistent import pmap
from pyrsistent.typing import PMap

from kcore.api.apps import Deployment
from kcore.api.codec import (
    CodecError,
    decode_value,
    encode_value,
    format_micro_time,
    format_time,
    from_dict,
    parse_time,
    to_dict,
)
from kcore.api.coordination import Lease, LeaseSpec
from kcore.api.core import ConfigMap, Secret, Service
from kcore.api.defaults import apply_defaults
from kcore.api.kinds import Kind
from kcore.api.manifest import ManifestError, dump_json, dump_yaml, load_manifests
from kcore.api.meta import MicroTime, ObjectMeta, Status, StatusReason, Time
from kcore.api.pod import Container, Pod, PodSpec
from kcore.api.registry import CLASSES, class_for, defaulter_for, kind_of
from kcore.quantity import Quantity, parse_quantity

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels:
    app: web
  creationTimestamp: null
spec:
  replicas: 3
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
        ports:
        - name: http
          containerPort: 80
        resources:
          requests:
            cpu: 250m
            memory: 64Mi
          limits:
            cpu: 0.5
            memory: 128Mi
        livenessProbe:
          httpGet:
            path: /healthz
            port: http
          initialDelaySeconds: 3
          periodSeconds: 3
        readinessProbe:
          tcpSocket:
            port: 80
"""

SERVICE = """\
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    app: web
  ports:
  - name: http
    port: 80
    targetPort: http
  - name: metrics
    port: 9090
"""

SECRET = """\
apiVersion: v1
kind: Secret
metadata:
  name: creds
type: Opaque
data:
  username: YWRtaW4=
stringData:
  password: s3cret
"""


def load_one(text: str) -> object:
    (loaded,) = load_manifests(text, source="test.yaml")
    assert loaded.warnings == ()
    return loaded.obj


def as_dict(value: object) -> dict[str, object]:
    assert isinstance(value, dict)
    return cast(dict[str, object], value)


def container_of(wire: Mapping[str, object]) -> dict[str, object]:
    spec = as_dict(as_dict(as_dict(wire["spec"])["template"])["spec"])
    containers = spec["containers"]
    assert isinstance(containers, list)
    return as_dict(containers[0])


# --- a Deployment with probes and resources ---------------------------------------------


def test_a_deployment_manifest_loads_into_typed_objects() -> None:
    obj = load_one(DEPLOYMENT)
    assert isinstance(obj, Deployment)
    assert obj.metadata.name == "web"
    assert obj.metadata.namespace == "shop"
    assert obj.metadata.labels == pmap({"app": "web"})
    assert obj.metadata.creation_timestamp is None
    assert obj.spec.replicas == 3
    (container,) = obj.spec.template.spec.containers
    assert container.resources.limits == pmap(
        {"cpu": parse_quantity("500m"), "memory": parse_quantity("128Mi")}
    )
    assert container.liveness_probe is not None
    assert container.liveness_probe.http_get is not None
    assert container.liveness_probe.http_get.port == "http"
    assert container.readiness_probe is not None
    assert container.readiness_probe.tcp_socket is not None
    assert container.readiness_probe.tcp_socket.port == 80


def test_loading_applies_upstream_defaults() -> None:
    obj = load_one(DEPLOYMENT)
    assert isinstance(obj, Deployment)
    wire = to_dict(obj)
    assert as_dict(wire["spec"])["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
    }
    assert as_dict(wire["spec"])["revisionHistoryLimit"] == 10
    assert container_of(wire)["imagePullPolicy"] == "IfNotPresent"


def test_a_deployment_encodes_in_the_kubernetes_shape() -> None:
    wire = to_dict(load_one(DEPLOYMENT))
    assert list(wire) == ["apiVersion", "kind", "metadata", "spec", "status"]
    assert wire["apiVersion"] == "apps/v1"
    assert wire["kind"] == "Deployment"
    assert wire["metadata"] == {"name": "web", "namespace": "shop", "labels": {"app": "web"}}
    container = container_of(wire)
    assert container["resources"] == {
        "limits": {"cpu": "500m", "memory": "128Mi"},
        "requests": {"cpu": "250m", "memory": "64Mi"},
    }
    liveness = as_dict(container["livenessProbe"])
    assert as_dict(liveness["httpGet"])["port"] == "http"
    assert as_dict(liveness["httpGet"])["path"] == "/healthz"
    assert as_dict(as_dict(container["readinessProbe"])["tcpSocket"])["port"] == 80
    json.dumps(wire)  # plain JSON all the way down


def test_a_decoded_deployment_encodes_and_decodes_to_itself() -> None:
    obj = load_one(DEPLOYMENT)
    assert from_dict(to_dict(obj)) == from_dict(json.loads(json.dumps(to_dict(obj))))
    assert from_dict(to_dict(obj)).obj == obj


# --- a Service with a named targetPort, a Secret with data and stringData ----------------


def test_a_service_keeps_a_named_target_port_and_defaults_a_missing_one() -> None:
    obj = load_one(SERVICE)
    assert isinstance(obj, Service)
    ports = as_dict(to_dict(obj)["spec"])["ports"]
    assert isinstance(ports, list)
    assert [(p["name"], p["port"], p["targetPort"], p["protocol"]) for p in ports] == [
        ("http", 80, "http", "TCP"),
        ("metrics", 9090, 9090, "TCP"),
    ]


def test_a_secret_decodes_base64_data_and_merges_string_data() -> None:
    obj = load_one(SECRET)
    assert isinstance(obj, Secret)
    assert obj.data == pmap({"username": b"admin", "password": b"s3cret"})
    assert to_dict(obj) == {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "creds"},
        "data": {"password": "czNjcmV0", "username": "YWRtaW4="},
        "type": "Opaque",
    }


def test_bad_base64_is_an_error_naming_the_key() -> None:
    data = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"k": "%%"}}
    with pytest.raises(CodecError) as e:
        from_dict(data)
    assert e.value.path == "data[k]"


# --- streams -------------------------------------------------------------------------------


def test_a_multi_document_stream_skips_empty_documents_and_keeps_indexes() -> None:
    text = f"{SERVICE}---\n---\n# only a comment\n---\n{SECRET}"
    loaded = load_manifests(text, source="app.yaml")
    assert [(type(x.obj), x.index, x.source) for x in loaded] == [
        (Service, 0, "app.yaml"),
        (Secret, 3, "app.yaml"),
    ]


def test_a_list_expands_into_its_items() -> None:
    text = json.dumps(
        {
            "apiVersion": "v1",
            "kind": "List",
            "items": [
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}},
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}, "x": 1},
            ],
        }
    )
    loaded = load_manifests(text)
    assert [x.obj.metadata.name for x in loaded] == ["a", "b"]
    assert [x.warnings for x in loaded] == [(), ('unknown field "x"',)]
    assert {x.index for x in loaded} == {0}


def test_a_typed_list_expands_too() -> None:
    text = "apiVersion: v1\nkind: ConfigMapList\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n"
    (loaded,) = load_manifests(text)
    assert (loaded.obj, loaded.warnings) == (ConfigMap(metadata=ObjectMeta(name="a")), ())


def test_a_json_manifest_loads() -> None:
    text = (
        '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}}'
    )
    obj = load_one(text)
    assert obj == ConfigMap(metadata=ObjectMeta(name="c"), data=pmap({"k": "v"}))


def test_unquoted_yaml_timestamps_stay_rfc3339_strings() -> None:
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  creationTimestamp: 2026-01-01T00:00:00Z\ndata:\n  when: 2026-01-02T00:00:00Z\n"
    obj = load_one(text)
    assert isinstance(obj, ConfigMap)
    assert obj.metadata.creation_timestamp == Time(1767225600.0)
    assert obj.data == pmap({"when": "2026-01-02T00:00:00Z"})


# --- warnings --------------------------------------------------------------------------------


def test_unknown_fields_are_dropped_with_warnings_naming_their_full_paths() -> None:
    text = (
        DEPLOYMENT.replace(
            "        image: nginx:1.25\n", "        image: nginx:1.25\n        foo: 1\n"
        )
        .replace("  replicas: 3\n", "  replicas: 3\n  bogus: {a: 1}\n")
        .replace("  name: web\n", "  name: web\n  color: blue\n", 1)
    )
    (loaded,) = load_manifests(text)
    assert loaded.warnings == (
        'unknown field "metadata.color"',
        'unknown field "spec.bogus"',
        'unknown field "spec.template.spec.containers[0].foo"',
    )
    assert to_dict(loaded.obj) == to_dict(load_one(DEPLOYMENT))


def test_server_managed_metadata_fields_pass_silently() -> None:
    data = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "managedFields": [{"manager": "kubectl"}], "selfLink": "/x"},
    }
    assert from_dict(data).warnings == ()


# --- errors ------------------------------------------------------------------------------


def deployment_with(**spec: object) -> dict[str, object]:
    base: dict[str, object] = {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]},
        },
    }
    base.update(spec)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": base,
    }


def decode_error(data: object) -> CodecError:
    with pytest.raises(CodecError) as e:
        from_dict(cast(dict[str, object], data))
    return e.value


def test_a_wrong_type_is_an_error_naming_the_path() -> None:
    e = decode_error(deployment_with(replicas="three"))
    assert (e.path, str(e)) == (
        "spec.replicas",
        'spec.replicas: expected integer, got string "three"',
    )
    assert isinstance(e, ValueError)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (3.5, "expected integer, got number 3.5"),
        (True, "expected integer, got boolean true"),
        ([3], "expected integer, got array"),
        ({"n": 3}, "expected integer, got object"),
    ],
)
def test_ints_refuse_what_upstream_refuses(value: object, message: str) -> None:
    assert decode_error(deployment_with(replicas=value)).detail == message


def test_an_integral_float_is_accepted_for_an_int() -> None:
    obj = from_dict(deployment_with(replicas=3.0)).obj
    assert isinstance(obj, Deployment)
    assert obj.spec.replicas == 3
    assert type(obj.spec.replicas) is int


def test_errors_deep_in_lists_name_the_index() -> None:
    data = deployment_with()
    containers = as_dict(as_dict(as_dict(data["spec"])["template"])["spec"])["containers"]
    assert isinstance(containers, list)
    containers.append({"name": "side", "image": "busybox", "ports": [{"containerPort": "x"}]})
    e = decode_error(data)
    assert e.path == "spec.template.spec.containers[1].ports[0].containerPort"


def test_a_missing_required_field_is_an_error_naming_the_path() -> None:
    data = deployment_with()
    containers = as_dict(as_dict(as_dict(data["spec"])["template"])["spec"])["containers"]
    assert isinstance(containers, list)
    containers[0] = {"image": "nginx"}
    e = decode_error(data)
    assert str(e) == "spec.template.spec.containers[0].name: Required value"


def test_null_is_absent_for_an_optional_field_and_an_error_for_a_required_one() -> None:
    obj = from_dict(deployment_with(replicas=None, minReadySeconds=None)).obj
    assert obj == from_dict(deployment_with()).obj
    data = deployment_with()
    as_dict(as_dict(as_dict(data["spec"])["template"])["spec"])["containers"] = [
        {"name": None, "image": "nginx"}
    ]
    assert decode_error(data).path == "spec.template.spec.containers[0].name"


def test_an_unknown_enum_value_lists_the_supported_ones() -> None:
    data = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "s"},
        "spec": {"type": "Bogus"},
    }
    e = decode_error(data)
    assert str(e) == (
        'spec.type: Unsupported value: "Bogus": supported values: '
        '"ClusterIP", "NodePort", "LoadBalancer", "ExternalName"'
    )


def test_a_missing_or_unknown_kind_is_an_error() -> None:
    assert decode_error({"apiVersion": "v1", "metadata": {}}).path == "kind"
    assert decode_error({"kind": "Pod"}).path == "apiVersion"
    e = decode_error({"apiVersion": "v2", "kind": "Pod"})
    assert str(e) == 'kind: no matches for kind "Pod" in version "v2"'
    assert decode_error(["not", "an", "object"]).path == ""


def test_a_kind_from_the_request_path_is_used_or_checked() -> None:
    obj = from_dict({"metadata": {"name": "c"}}, kind=Kind.CONFIG_MAP).obj
    assert obj == ConfigMap(metadata=ObjectMeta(name="c"))
    with pytest.raises(CodecError, match="the body is a ConfigMap, but the request is for Secret"):
        from_dict({"apiVersion": "v1", "kind": "ConfigMap"}, kind=Kind.SECRET)


def test_a_manifest_error_names_source_object_and_path() -> None:
    text = DEPLOYMENT.replace("replicas: 3", "replicas: x")
    with pytest.raises(ManifestError) as e:
        load_manifests(text, source="deploy.yaml")
    assert (
        str(e.value)
        == 'deploy.yaml: Deployment "web": spec.replicas: expected integer, got string "x"'
    )
    assert (e.value.source, e.value.index, e.value.path) == ("deploy.yaml", 0, "spec.replicas")


def test_a_manifest_error_in_a_stream_names_the_document() -> None:
    text = f"{SERVICE}---\n{DEPLOYMENT.replace('replicas: 3', 'replicas: x')}"
    with pytest.raises(ManifestError) as e:
        load_manifests(text, source="app.yaml")
    assert str(e.value).startswith('app.yaml: document 2: Deployment "web": spec.replicas:')
    assert e.value.index == 1


def test_a_manifest_error_in_a_list_names_the_item() -> None:
    text = json.dumps(
        {"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "Nope"}]}
    )
    with pytest.raises(ManifestError, match=r"^l.json: items\[0\]: Nope: kind: no matches"):
        load_manifests(text, source="l.json")


@pytest.mark.parametrize("text", ["a: [", "- 1\n- 2\n", "just text"])
def test_text_that_is_not_an_object_is_a_manifest_error(text: str) -> None:
    with pytest.raises(ManifestError, match=r"^x\.yaml: "):
        load_manifests(text, source="x.yaml")


# --- scalars: IntOrString, Quantity, Time, resourceVersion --------------------------------


def test_int_or_string_accepts_numbers_and_strings() -> None:
    text = SERVICE.replace("targetPort: http", "targetPort: 8080.0")
    obj = load_one(text)
    assert isinstance(obj, Service)
    assert obj.spec.ports[0].target_port == 8080
    with pytest.raises(
        ManifestError, match=r"spec.ports\[0\].targetPort: expected integer or string"
    ):
        load_manifests(SERVICE.replace("targetPort: http", "targetPort: true"))


def test_quantities_accept_numbers_and_encode_canonically() -> None:
    requests = {"cpu": 0.5, "memory": "1024Mi", "ephemeral-storage": 2}
    spec = {"containers": [{"name": "c", "resources": {"requests": requests}}]}
    value, warnings = decode_value(spec, PodSpec)
    assert warnings == ()
    assert isinstance(value, PodSpec)
    wire = as_dict(encode_value(value, PodSpec))
    containers = wire["containers"]
    assert isinstance(containers, list)
    assert as_dict(containers[0])["resources"] == {
        "requests": {"cpu": "500m", "ephemeral-storage": "2", "memory": "1Gi"}
    }
    with pytest.raises(CodecError) as e:
        decode_value({"cpu": "lots"}, PMap[str, Quantity], path="r")
    assert e.value.path == "r[cpu]"


@pytest.mark.parametrize(
    ("text", "seconds", "micros"),
    [
        ("2026-01-01T00:00:00Z", 1767225600, 0),
        ("2026-01-01T01:30:00+01:30", 1767225600, 0),
        ("2025-12-31T19:00:00.25-05:00", 1767225600, 250000),
        ("2026-01-01T00:00:00.123456789Z", 1767225600, 123456),
    ],
)
def test_times_parse_rfc3339_with_offsets_and_fractions(
    text: str, seconds: int, micros: int
) -> None:
    assert parse_time(text) == (seconds, micros)


@pytest.mark.parametrize(
    "text", ["2026-01-01", "2026-13-01T00:00:00Z", "yesterday", "2026-01-01T00:00:00"]
)
def test_malformed_times_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="invalid time"):
        parse_time(text)


def test_time_is_whole_seconds_and_micro_time_has_six_digits() -> None:
    assert format_time(1767225600.75) == "2026-01-01T00:00:00Z"
    assert format_micro_time(1767225600.5) == "2026-01-01T00:00:00.500000Z"
    assert format_micro_time(0.0) == "1970-01-01T00:00:00.000000Z"


def test_times_round_trip_through_metadata_and_a_lease() -> None:
    lease = Lease(
        metadata=ObjectMeta(
            name="node-1", namespace="kube-node-lease", creation_timestamp=Time(1767225600.0)
        ),
        spec=LeaseSpec(holder_identity="node-1", renew_time=MicroTime(1767225600.123456)),
    )
    wire = to_dict(lease)
    assert wire == {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {
            "name": "node-1",
            "namespace": "kube-node-lease",
            "creationTimestamp": "2026-01-01T00:00:00Z",
        },
        "spec": {"holderIdentity": "node-1", "renewTime": "2026-01-01T00:00:00.123456Z"},
    }
    assert from_dict(wire).obj == lease


def test_a_fractional_time_is_truncated_to_the_second_on_input() -> None:
    data = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"creationTimestamp": "2026-01-01T00:00:00.9Z"},
    }
    obj = from_dict(data).obj
    assert obj.metadata.creation_timestamp == Time(1767225600.0)


def test_resource_version_is_a_string_on_the_wire_and_zero_values_are_omitted() -> None:
    meta = ObjectMeta(name="c", resource_version=42, generation=0, uid="u-1")
    wire = to_dict(ConfigMap(metadata=meta))
    assert wire == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "uid": "u-1", "resourceVersion": "42"},
    }
    assert from_dict(wire).obj == ConfigMap(metadata=meta)
    bad = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"resourceVersion": "abc"}}
    assert decode_error(bad).path == "metadata.resourceVersion"
    assert (
        decode_error({**bad, "metadata": {"resourceVersion": 5}}).detail
        == "expected string, got number 5"
    )


def test_status_encodes_as_meta_v1_status() -> None:
    status = Status(message='pods "x" not found', reason=StatusReason.NOT_FOUND, code=404)
    assert to_dict(status) == {
        "apiVersion": "v1",
        "kind": "Status",
        "metadata": {},
        "status": "Failure",
        "message": 'pods "x" not found',
        "reason": "NotFound",
        "code": 404,
    }


# --- output ----------------------------------------------------------------------------------


def test_dump_yaml_is_block_style_in_wire_order() -> None:
    cm = ConfigMap(
        metadata=ObjectMeta(name="c", namespace="default"), data=pmap({"b": "2", "a": "x\ny\n"})
    )
    assert dump_yaml(cm) == (
        "apiVersion: v1\n"
        "kind: ConfigMap\n"
        "metadata:\n"
        "  name: c\n"
        "  namespace: default\n"
        "data:\n"
        "  a: |\n"
        "    x\n"
        "    y\n"
        "  b: '2'\n"
    )
    assert load_one(dump_yaml(cm)) == cm


def test_dump_json_of_several_objects_is_a_list() -> None:
    a, b = ConfigMap(metadata=ObjectMeta(name="a")), ConfigMap(metadata=ObjectMeta(name="b"))
    assert json.loads(dump_json([a, b])) == {
        "apiVersion": "v1",
        "items": [to_dict(a), to_dict(b)],
        "kind": "List",
        "metadata": {"resourceVersion": ""},
    }
    assert dump_json(a) == json.dumps(to_dict(a), indent=4) + "\n"
    assert [x.obj for x in load_manifests(dump_yaml([a, b]))] == [a, b]


# --- registry and defaulting -----------------------------------------------------------------


def test_every_kind_has_a_class_named_as_the_kind() -> None:
    assert set(CLASSES) == set(Kind)
    for kind, cls in CLASSES.items():
        assert cls.__name__ == kind.value
        assert class_for(kind) is cls


def test_kind_of_reads_the_class_and_refuses_non_kinds() -> None:
    assert (
        kind_of(Pod(metadata=ObjectMeta(name="p"), spec=PodSpec(containers=(Container(name="c"),))))
        is Kind.POD
    )
    with pytest.raises(LookupError):
        kind_of(ObjectMeta())


def test_apply_defaults_dispatches_to_the_kinds_group_module() -> None:
    pod = Pod(
        metadata=ObjectMeta(name="p"),
        spec=PodSpec(containers=(Container(name="c", image="nginx"),)),
    )
    defaulted = apply_defaults(pod)
    assert defaulted == defaulter_for(Kind.POD)(pod)
    assert apply_defaults(defaulted) == defaulted
    (container,) = defaulted.spec.containers
    assert container.image_pull_policy is not None
    assert container.image_pull_policy.value == "Always"
