"""kubectl apply's client side: the last-applied annotation and the three-way merge."""

from __future__ import annotations

import attrs
from pyrsistent import pmap

from kcore.api.core import ConfigMap
from kcore.api.meta import ObjectMeta, OwnerReference
from kcore.kubectl.apply import LAST_APPLIED, merged_for_apply, with_last_applied


def cm(name: str, ns: str = "default", **data: str) -> ConfigMap:
    return ConfigMap(metadata=ObjectMeta(name=name, namespace=ns), data=pmap(data))


def test_the_annotation_holds_the_manifest_as_compact_sorted_json_without_itself() -> None:
    once = with_last_applied(cm("app", b="2", a="1"))
    text = '{"apiVersion":"v1","data":{"a":"1","b":"2"},"kind":"ConfigMap","metadata":{"name":"app","namespace":"default"}}\n'
    assert dict(once.metadata.annotations) == {LAST_APPLIED: text}
    assert with_last_applied(once) == once


def test_merged_for_apply_keeps_live_fields_never_applied_before() -> None:
    live = cm("app", a="1")
    live = attrs.evolve(live, metadata=attrs.evolve(live.metadata, uid="u-1", resource_version=7))
    merged = merged_for_apply(live, cm("app", b="2"))
    meta = merged["metadata"]
    assert isinstance(meta, dict)
    assert (meta["name"], meta["uid"], meta["resourceVersion"]) == ("app", "u-1", "7")
    assert meta["annotations"] == {LAST_APPLIED: '{"apiVersion":"v1","data":{"b":"2"},"kind":"ConfigMap","metadata":{"name":"app","namespace":"default"}}\n'}
    assert merged["data"] == {"a": "1", "b": "2"}


def test_a_key_the_last_apply_set_and_the_manifest_dropped_goes() -> None:
    live = with_last_applied(cm("app", a="1", b="2"))
    assert merged_for_apply(live, cm("app", b="3"))["data"] == {"b": "3"}


def test_the_live_owner_references_stay_unless_the_manifest_sets_them() -> None:
    ref = OwnerReference(api_version="v1", kind="ConfigMap", name="owner", uid="u-0")
    live = cm("app", a="1")
    live = attrs.evolve(live, metadata=attrs.evolve(live.metadata, owner_references=(ref,)))
    kept = merged_for_apply(live, cm("app", a="1"))["metadata"]
    assert isinstance(kept, dict)
    assert kept["ownerReferences"] == [{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": "u-0"}]
    mine = attrs.evolve(ref, name="mine", uid="u-9")
    desired = cm("app", a="1")
    desired = attrs.evolve(desired, metadata=attrs.evolve(desired.metadata, owner_references=(mine,)))
    set_by_manifest = merged_for_apply(live, desired)["metadata"]
    assert isinstance(set_by_manifest, dict)
    assert set_by_manifest["ownerReferences"] == [{"apiVersion": "v1", "kind": "ConfigMap", "name": "mine", "uid": "u-9"}]
