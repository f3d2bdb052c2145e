"""Patch formats: RFC 7386 merge patch, RFC 6902 JSON patch, strategic merge patch.

Strategic cases are ported from k8s.io/apimachinery/pkg/util/strategicpatch/patch_test.go
(merge by key, `$patch: delete`, `$patch: replace`, primitive merge lists,
`$deleteFromPrimitiveList`, `$setElementOrder`, `$retainKeys`) on the pod schema.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import pytest

from kcore.api.kinds import Kind
from kcore.apiserver.patch import (
    SCHEMAS,
    PatchError,
    apply_patch,
    json_patch,
    merge_patch,
    strategic_merge_patch,
)
from kcore.component.requests import PatchType

POD = SCHEMAS[Kind.POD]


def smp(original: Mapping[str, object], patch: Mapping[str, object]) -> dict[str, object]:
    return apply_patch(Kind.POD, original, PatchType.STRATEGIC, json.dumps(patch))


def pod(*containers: dict[str, object], **spec: object) -> dict[str, object]:
    return {"metadata": {"name": "p"}, "spec": {"containers": list(containers), **spec}}


# --- merge patch (RFC 7386 appendix A) ------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "patch", "result"),
    [
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        (["a", "b"], ["c", "d"], ["c", "d"]),
        ({"a": "b"}, ["c"], ["c"]),
        ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
        ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ],
)
def test_merge_patch_follows_rfc_7386(target: object, patch: object, result: object) -> None:
    assert merge_patch(target, patch) == result


def test_merge_patch_replaces_lists_whole() -> None:
    original = pod({"name": "a", "image": "x"}, {"name": "b", "image": "y"})
    patched = apply_patch(
        Kind.POD, original, PatchType.MERGE, '{"spec": {"containers": [{"name": "b", "image": "z"}]}}'
    )
    assert patched == pod({"name": "b", "image": "z"})


# --- JSON patch (RFC 6902 appendix A) -------------------------------------------------------


@pytest.mark.parametrize(
    ("doc", "ops", "result"),
    [
        ({"foo": "bar"}, [{"op": "add", "path": "/baz", "value": "qux"}], {"baz": "qux", "foo": "bar"}),
        ({"foo": ["bar", "baz"]}, [{"op": "add", "path": "/foo/1", "value": "qux"}], {"foo": ["bar", "qux", "baz"]}),
        ({"baz": "qux", "foo": "bar"}, [{"op": "remove", "path": "/baz"}], {"foo": "bar"}),
        ({"foo": ["bar", "qux", "baz"]}, [{"op": "remove", "path": "/foo/1"}], {"foo": ["bar", "baz"]}),
        ({"baz": "qux", "foo": "bar"}, [{"op": "replace", "path": "/baz", "value": "boo"}], {"baz": "boo", "foo": "bar"}),
        (
            {"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}},
            [{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}],
            {"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}},
        ),
        ({"foo": ["all", "grass", "cows", "eat"]}, [{"op": "move", "from": "/foo/1", "path": "/foo/3"}], {"foo": ["all", "cows", "eat", "grass"]}),
        ({"foo": "bar"}, [{"op": "add", "path": "/child", "value": {"grandchild": {}}}], {"foo": "bar", "child": {"grandchild": {}}}),
        ({"foo": ["bar"]}, [{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}], {"foo": ["bar", ["abc", "def"]]}),
        ({"/": 9, "~1": 10}, [{"op": "test", "path": "/~01", "value": 10}], {"/": 9, "~1": 10}),
        ({"a": {"b": 1}}, [{"op": "copy", "from": "/a", "path": "/c"}], {"a": {"b": 1}, "c": {"b": 1}}),
        ({"baz": "qux", "foo": ["a", 2, "c"]}, [{"op": "test", "path": "/baz", "value": "qux"}, {"op": "test", "path": "/foo/1", "value": 2}], {"baz": "qux", "foo": ["a", 2, "c"]}),
    ],
)
def test_json_patch_follows_rfc_6902(doc: object, ops: object, result: object) -> None:
    assert json_patch(doc, ops) == result


@pytest.mark.parametrize(
    ("doc", "ops"),
    [
        ({"baz": "qux"}, [{"op": "test", "path": "/baz", "value": "bar"}]),
        ({"foo": "bar"}, [{"op": "add", "path": "/baz/bat", "value": "qux"}]),
        ({"foo": "bar"}, [{"op": "remove", "path": "/nope"}]),
        ({"foo": [1]}, [{"op": "replace", "path": "/foo/5", "value": 2}]),
        ({"foo": [1]}, [{"op": "add", "path": "/foo/01", "value": 2}]),
    ],
)
def test_a_json_patch_that_does_not_apply_is_422(doc: object, ops: object) -> None:
    with pytest.raises(PatchError) as e:
        json_patch(doc, ops)
    assert e.value.code == 422


@pytest.mark.parametrize(
    "text",
    [
        "{not json",
        '{"op": "add"}',
        '[{"op": "frobnicate", "path": "/a"}]',
        '[{"op": "add", "value": 1}]',
        '[{"op": "add", "path": "/a"}]',
        '[{"op": "add", "path": "a", "value": 1}]',
    ],
)
def test_a_malformed_json_patch_is_400(text: str) -> None:
    with pytest.raises(PatchError) as e:
        apply_patch(Kind.POD, {}, PatchType.JSON, text)
    assert e.value.code == 400


def test_a_failed_json_patch_leaves_the_original_untouched() -> None:
    original = {"a": [1, 2]}
    with pytest.raises(PatchError):
        apply_patch(Kind.POD, original, PatchType.JSON, '[{"op": "remove", "path": "/a/0"}, {"op": "test", "path": "/a/0", "value": 9}]')
    assert original == {"a": [1, 2]}


# --- strategic merge patch ------------------------------------------------------------------


def test_smp_merges_containers_by_name() -> None:
    original = pod({"name": "a", "image": "x"}, {"name": "b", "image": "y"})
    patched = smp(original, {"spec": {"containers": [{"name": "b", "image": "z"}, {"name": "c", "image": "w"}]}})
    assert patched == pod(
        {"name": "a", "image": "x"}, {"name": "b", "image": "z"}, {"name": "c", "image": "w"}
    )


def test_smp_deletes_a_container_with_the_patch_delete_directive() -> None:
    original = pod({"name": "a", "image": "x"}, {"name": "b", "image": "y"})
    patched = smp(original, {"spec": {"containers": [{"name": "a", "$patch": "delete"}]}})
    assert patched == pod({"name": "b", "image": "y"})


def test_smp_replaces_a_list_with_the_patch_replace_directive() -> None:
    original = pod({"name": "a", "image": "x"}, {"name": "b", "image": "y"})
    patched = smp(original, {"spec": {"containers": [{"name": "c", "image": "z"}, {"$patch": "replace"}]}})
    assert patched == pod({"name": "c", "image": "z"})


def test_smp_replaces_a_map_with_the_patch_replace_directive() -> None:
    original = pod({"name": "a"}, nodeSelector={"x": "1", "y": "2"})
    patched = smp(original, {"spec": {"nodeSelector": {"z": "3", "$patch": "replace"}}})
    assert patched == pod({"name": "a"}, nodeSelector={"z": "3"})


def test_smp_deletes_a_map_with_the_patch_delete_directive() -> None:
    original = pod({"name": "a"}, nodeSelector={"x": "1"})
    assert smp(original, {"spec": {"nodeSelector": {"$patch": "delete"}}}) == pod({"name": "a"})


def test_smp_merges_nested_lists_by_their_own_keys() -> None:
    original = pod(
        {
            "name": "a",
            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
            "ports": [{"containerPort": 80, "name": "http"}],
            "volumeMounts": [{"name": "v", "mountPath": "/data"}],
        }
    )
    patched = smp(
        original,
        {
            "spec": {
                "containers": [
                    {
                        "name": "a",
                        "env": [{"name": "B", "value": "3"}],
                        "ports": [{"containerPort": 443, "name": "https"}],
                        "volumeMounts": [{"mountPath": "/data", "readOnly": True}],
                    }
                ]
            }
        },
    )
    assert patched == pod(
        {
            "name": "a",
            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "3"}],
            "ports": [{"containerPort": 80, "name": "http"}, {"containerPort": 443, "name": "https"}],
            "volumeMounts": [{"name": "v", "mountPath": "/data", "readOnly": True}],
        }
    )


def test_smp_replaces_lists_without_a_merge_key() -> None:
    original = pod({"name": "a", "args": ["x", "y"]}, tolerations=[{"key": "a"}])
    patched = smp(original, {"spec": {"tolerations": [{"key": "b"}], "containers": [{"name": "a", "args": ["z"]}]}})
    assert patched == pod({"name": "a", "args": ["z"]}, tolerations=[{"key": "b"}])


def test_smp_null_deletes_a_field() -> None:
    original = pod({"name": "a", "image": "x"}, nodeName="n1")
    assert smp(original, {"spec": {"nodeName": None}}) == pod({"name": "a", "image": "x"})


def test_smp_merges_finalizers_as_a_set() -> None:
    original = {"metadata": {"name": "p", "finalizers": ["a", "b"]}}
    patched = smp(original, {"metadata": {"finalizers": ["b", "c"]}})
    assert patched == {"metadata": {"name": "p", "finalizers": ["a", "b", "c"]}}


def test_smp_delete_from_primitive_list() -> None:
    original = {"metadata": {"name": "p", "finalizers": ["a", "b", "c"]}}
    patched = smp(original, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["b"]}})
    assert patched == {"metadata": {"name": "p", "finalizers": ["a", "c"]}}


def test_smp_merges_owner_references_by_uid() -> None:
    original = {"metadata": {"name": "p", "ownerReferences": [{"uid": "1", "name": "a"}]}}
    patched = smp(original, {"metadata": {"ownerReferences": [{"uid": "1", "controller": True}, {"uid": "2", "name": "b"}]}})
    assert patched["metadata"] == {
        "name": "p",
        "ownerReferences": [{"uid": "1", "name": "a", "controller": True}, {"uid": "2", "name": "b"}],
    }


def test_smp_set_element_order_orders_the_merged_list() -> None:
    original = pod({"name": "a"}, {"name": "b"}, {"name": "c"})
    patched = smp(
        original,
        {
            "spec": {
                "$setElementOrder/containers": [{"name": "c"}, {"name": "a"}, {"name": "b"}],
                "containers": [{"name": "a", "image": "new"}],
            }
        },
    )
    assert patched == pod({"name": "c"}, {"name": "a", "image": "new"}, {"name": "b"})


def test_smp_retain_keys_drops_unlisted_keys() -> None:
    original = {"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}}
    patched = apply_patch(
        Kind.DEPLOYMENT,
        original,
        PatchType.STRATEGIC,
        '{"spec": {"strategy": {"type": "Recreate", "$retainKeys": ["type"]}}}',
    )
    assert patched == {"spec": {"strategy": {"type": "Recreate"}}}


def test_smp_merges_conditions_by_type_in_status() -> None:
    original = {"status": {"conditions": [{"type": "Ready", "status": "False"}, {"type": "PodScheduled", "status": "True"}]}}
    patched = smp(original, {"status": {"conditions": [{"type": "Ready", "status": "True"}]}})
    assert patched == {"status": {"conditions": [{"type": "Ready", "status": "True"}, {"type": "PodScheduled", "status": "True"}]}}


def test_smp_merges_service_ports_by_port() -> None:
    original = {"spec": {"ports": [{"port": 80, "name": "http"}, {"port": 443, "name": "https"}]}}
    patched = apply_patch(
        Kind.SERVICE, original, PatchType.STRATEGIC, '{"spec": {"ports": [{"port": 443, "targetPort": 8443}]}}'
    )
    assert patched == {"spec": {"ports": [{"port": 80, "name": "http"}, {"port": 443, "name": "https", "targetPort": 8443}]}}


def test_smp_merges_template_containers_of_workloads() -> None:
    original = {"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}}}}
    patched = apply_patch(
        Kind.DEPLOYMENT,
        original,
        PatchType.STRATEGIC,
        '{"spec": {"template": {"spec": {"containers": [{"name": "b", "image": "z"}]}}}}',
    )
    assert patched == {"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "z"}]}}}}


def test_smp_list_item_without_its_merge_key_is_400() -> None:
    with pytest.raises(PatchError) as e:
        smp(pod({"name": "a"}), {"spec": {"containers": [{"image": "x"}]}})
    assert e.value.code == 400


def test_smp_unknown_directive_is_400() -> None:
    with pytest.raises(PatchError) as e:
        smp(pod({"name": "a"}), {"spec": {"$patch": "explode"}})
    assert e.value.code == 400


def test_smp_does_not_modify_its_input() -> None:
    original = pod({"name": "a", "image": "x"})
    snapshot = json.dumps(original)
    strategic_merge_patch(json.loads(snapshot), {"spec": {"containers": [{"name": "a", "image": "y"}]}}, POD)
    smp(original, {"spec": {"containers": [{"name": "a", "image": "y"}]}})
    assert json.dumps(original) == snapshot
