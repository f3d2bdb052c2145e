"""ObjectMeta validation: names per kind, namespaces, labels, annotations, owners,
finalizers, and the identity fields an update may not change."""

from __future__ import annotations

import attrs
from pyrsistent import pmap

from kcore.api.core import ConfigMap, Namespace, Service, ServicePort, ServiceSpec
from kcore.api.meta import ObjectMeta, OwnerReference, Time
from kcore.api.validation import validate
from kcore.util_validation import FieldError
from tests.builders import a_config_map, a_namespace, with_meta

SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)


def texts(errors: tuple[FieldError, ...]) -> list[str]:
    return [str(e) for e in errors]


def test_a_valid_object_has_no_errors() -> None:
    assert validate(a_config_map("cfg"), None) == ()


def test_a_name_or_generate_name_is_required() -> None:
    assert texts(validate(a_config_map(""), None)) == [
        "metadata.name: Required value: name or generateName is required"
    ]
    assert validate(with_meta(a_config_map(""), generate_name="cfg-"), None) == ()


def test_names_are_dns_subdomains() -> None:
    assert texts(validate(a_config_map("Bad_Name"), None)) == [
        f'metadata.name: Invalid value: "Bad_Name": {SUBDOMAIN_MSG}'
    ]
    assert validate(a_config_map("a.b-c"), None) == ()


def test_a_generate_name_may_end_with_a_dash_but_must_otherwise_be_valid() -> None:
    bad = with_meta(a_config_map(""), generate_name="Bad-")
    assert texts(validate(bad, None)) == [
        f'metadata.generateName: Invalid value: "Bad-": {SUBDOMAIN_MSG}'
    ]


def test_namespace_names_are_dns_labels() -> None:
    assert texts(validate(a_namespace("a.b"), None)) == [
        'metadata.name: Invalid value: "a.b": must not contain dots'
    ]
    assert validate(a_namespace("team-a"), None) == ()


def test_service_names_are_dns1035_labels() -> None:
    svc = Service(
        metadata=ObjectMeta(name="1web", namespace="default"),
        spec=ServiceSpec(ports=(ServicePort(port=80, target_port=80),)),
    )
    assert texts(validate(svc, None)) == [
        'metadata.name: Invalid value: "1web": a DNS-1035 label must consist of lower case '
        "alphanumeric characters or '-', start with an alphabetic character, and end with an "
        "alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is "
        "'[a-z]([-a-z0-9]*[a-z0-9])?')"
    ]


def test_a_namespaced_kind_needs_a_namespace() -> None:
    assert texts(validate(a_config_map("cfg", ""), None)) == ["metadata.namespace: Required value"]


def test_a_cluster_scoped_kind_may_not_have_a_namespace() -> None:
    ns = attrs.evolve(a_namespace("x"), metadata=ObjectMeta(name="x", namespace="default"))
    assert texts(validate(ns, None)) == ["metadata.namespace: Forbidden: not allowed on this type"]


def test_label_keys_and_values_are_checked() -> None:
    bad = with_meta(a_config_map("cfg"), labels=pmap({"app": "-x"}))
    assert texts(validate(bad, None)) == [
        'metadata.labels: Invalid value: "-x": a valid label must be an empty string or consist of '
        "alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
        "character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is "
        "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
    ]
    assert validate(with_meta(a_config_map("cfg"), labels=pmap({"x.io/app": "v1"})), None) == ()


def test_annotations_may_not_exceed_256_kib_in_total() -> None:
    big = with_meta(a_config_map("cfg"), annotations=pmap({"a": "x" * (256 * 1024)}))
    assert texts(validate(big, None)) == [
        "metadata.annotations: Too long: may not be more than 262144 bytes"
    ]
    ok = with_meta(a_config_map("cfg"), annotations=pmap({"a": "x" * (256 * 1024 - 1)}))
    assert validate(ok, None) == ()


def test_annotation_keys_are_qualified_names() -> None:
    bad = with_meta(a_config_map("cfg"), annotations=pmap({"a/b/c": "v"}))
    assert texts(validate(bad, None))[0].startswith('metadata.annotations: Invalid value: "a/b/c"')


def test_owner_references_need_every_part() -> None:
    ref = OwnerReference(api_version="", kind="ReplicaSet", name="rs", uid="")
    bad = with_meta(a_config_map("cfg"), owner_references=(ref,))
    assert texts(validate(bad, None)) == [
        'metadata.ownerReferences.apiVersion: Invalid value: "": version must not be empty',
        'metadata.ownerReferences.uid: Invalid value: "": uid must not be empty',
    ]


def test_only_one_owner_reference_may_be_the_controller() -> None:
    refs = tuple(
        OwnerReference(api_version="v1", kind="A", name=n, uid=n, controller=True) for n in "ab"
    )
    errors = texts(validate(with_meta(a_config_map("cfg"), owner_references=refs), None))
    assert len(errors) == 1
    assert errors[0].endswith(
        'Only one reference can have Controller set to true. Found "true" in references for A/a and A/b'
    )


def test_finalizers_are_qualified_names_and_orphan_excludes_foreground() -> None:
    bad = with_meta(a_config_map("cfg"), finalizers=("orphan", "foregroundDeletion"))
    assert texts(validate(bad, None)) == [
        'metadata.finalizers: Invalid value: []string{"orphan", "foregroundDeletion"}: '
        "finalizer orphan and foregroundDeletion cannot be both set"
    ]
    assert validate(with_meta(a_config_map("cfg"), finalizers=("example.com/x", "a")), None) == ()


def _stored(obj: ConfigMap) -> ConfigMap:
    return with_meta(obj, uid="u1", creation_timestamp=Time(10.0), resource_version=3)


def test_the_name_is_immutable() -> None:
    old = _stored(a_config_map("cfg"))
    assert texts(validate(with_meta(old, name="other"), old)) == [
        'metadata.name: Invalid value: "other": field is immutable'
    ]
    assert validate(with_meta(old, labels=pmap({"a": "b"})), old) == ()


def test_the_uid_and_creation_timestamp_are_immutable() -> None:
    old = _stored(a_config_map("cfg"))
    changed = with_meta(old, uid="u2", creation_timestamp=Time(11.0))
    assert texts(validate(changed, old)) == [
        'metadata.uid: Invalid value: "u2": field is immutable',
        "metadata.creationTimestamp: Invalid value: 11.0: field is immutable",
    ]


def test_no_finalizer_may_be_added_once_deletion_started() -> None:
    old = with_meta(_stored(a_config_map("cfg")), deletion_timestamp=Time(20.0))
    new = with_meta(old, finalizers=("example.com/x",))
    assert texts(validate(new, old)) == [
        "metadata.finalizers: Forbidden: no new finalizers can be added if the object is being "
        'deleted, found new finalizers []string{"example.com/x"}'
    ]


def test_namespace_spec_finalizers_must_be_standard_or_qualified() -> None:
    ns = a_namespace("x")
    bad = attrs.evolve(ns, spec=attrs.evolve(ns.spec, finalizers=("custom",)))
    assert texts(validate(bad, None)) == [
        'spec.finalizers[0]: Invalid value: "custom": name is neither a standard finalizer name '
        "nor is it fully qualified"
    ]
    good = attrs.evolve(ns, spec=attrs.evolve(ns.spec, finalizers=("kubernetes",)))
    assert validate(good, None) == ()


def test_every_namespace_builder_default_is_valid() -> None:
    assert validate(Namespace(metadata=ObjectMeta(name="n")), None) == ()
