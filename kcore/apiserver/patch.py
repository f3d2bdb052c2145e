"""The three patch formats the apiserver accepts, applied to an object's JSON form.

Owns: `apply_patch(kind, original, patch_type, text) -> dict` for JSON merge patch
(RFC 7386), JSON patch (RFC 6902: add, remove, replace, move, copy, test) and strategic
merge patch (SMP) for the built-in kinds, with `PatchError` carrying the HTTP code a
failure answers with (400 for a malformed body, 422 for one that cannot apply).

Rules of SMP (k8s.io/apimachinery/pkg/util/strategicpatch/patch.go):
- maps merge key by key; `null` deletes a key; `{"$patch": "replace"}` inside a map
  replaces it, `{"$patch": "delete"}` removes it;
- a list with a patchMergeKey merges element-wise by that key (`{"$patch": "delete",
  key: v}` removes one element; a `{"$patch": "replace"}` element replaces the whole
  list); a list tagged `patchStrategy:"merge"` of primitives is a set union;
  `$deleteFromPrimitiveList/<field>` removes values from such a list; every other list
  is replaced whole;
- `$setElementOrder/<field>` orders the merged list: listed elements first in the given
  order, then the others in their original order (upstream interleaves server-only
  elements at their old positions; kcore keeps them after, see docs/semantics.md);
- `$retainKeys` drops every key of the merged map not listed.
The merge keys are upstream's struct tags (`patchMergeKey`/`patchStrategy`), written
here once as a schema per kind; an unknown field merges as a plain map or replaces as a
plain list.

Must not know: typed objects (the caller converts with the codec), storage, admission.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Final

import attrs

from kcore.api.kinds import Kind
from kcore.component.requests import PatchType


class PatchError(ValueError):
    """A patch that cannot be applied; `code` is 400 (malformed) or 422 (does not apply)."""

    def __init__(self, message: str, code: int = 400, path: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.path = path


def apply_patch(
    kind: Kind, original: Mapping[str, object], patch_type: PatchType, text: str
) -> dict[str, object]:
    """The patched JSON object; `original` is not modified."""
    try:
        patch = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise PatchError(f"error decoding patch: {e}") from None
    base = copy.deepcopy(dict(original))
    match patch_type:
        case PatchType.MERGE:
            if not isinstance(patch, dict):
                raise PatchError("error decoding patch: a merge patch must be a JSON object")
            out = merge_patch(base, patch)
        case PatchType.JSON:
            out = json_patch(base, patch)
        case PatchType.STRATEGIC:
            if not isinstance(patch, dict):
                raise PatchError("error decoding patch: a strategic merge patch must be a JSON object")
            out = strategic_merge_patch(base, patch, SCHEMAS.get(kind, _EMPTY))
    if not isinstance(out, dict):
        raise PatchError("the patched object is not a JSON object", 422)
    return out


# --- RFC 7386 merge patch ------------------------------------------------------------------


def merge_patch(target: object, patch: object) -> object:
    """RFC 7386: objects merge recursively, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            result.pop(k, None)
        else:
            result[k] = merge_patch(result.get(k), v)
    return result


# --- RFC 6902 JSON patch -------------------------------------------------------------------

_OPS: Final = frozenset({"add", "remove", "replace", "move", "copy", "test"})


def json_patch(doc: object, patch: object) -> object:
    """RFC 6902: apply each operation in order; any failure fails the whole patch."""
    if not isinstance(patch, list):
        raise PatchError("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    for i, op in enumerate(patch):
        if not isinstance(op, dict):
            raise PatchError(f"json patch operation {i} is not an object")
        name = op.get("op")
        if name not in _OPS:
            raise PatchError(f"Unexpected kind: {name}")
        path = _pointer(op, "path")
        match name:
            case "add":
                doc = _add(doc, path, copy.deepcopy(_value(op)))
            case "remove":
                doc, _ = _remove(doc, path)
            case "replace":
                doc, _ = _remove(doc, path, "replace")
                doc = _add(doc, path, copy.deepcopy(_value(op)))
            case "move":
                src = _pointer(op, "from")
                if path[: len(src)] == src and len(path) > len(src):
                    raise PatchError("move operation: from cannot be a prefix of path", 422)
                doc, moved = _remove(doc, src, "move")
                doc = _add(doc, path, moved)
            case "copy":
                src = _pointer(op, "from")
                doc = _add(doc, path, copy.deepcopy(_lookup(doc, src, "copy")))
            case "test":
                if _lookup(doc, path, "test") != _value(op):
                    raise PatchError(f"testing value {_render(path)} failed: test failed", 422)
    return doc


def _value(op: Mapping[str, object]) -> object:
    if "value" not in op:
        raise PatchError(f"missing value for {op.get('op')} operation")
    return op["value"]


def _pointer(op: Mapping[str, object], field: str) -> tuple[str, ...]:
    text = op.get(field)
    if not isinstance(text, str):
        raise PatchError(f"missing {field} in json patch {op.get('op')} operation")
    if text == "":
        return ()
    if not text.startswith("/"):
        raise PatchError(f"invalid JSON pointer {text!r}: must start with /")
    return tuple(p.replace("~1", "/").replace("~0", "~") for p in text[1:].split("/"))


def _render(path: tuple[str, ...]) -> str:
    return "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in path)


def _index(container: list[object], token: str, path: tuple[str, ...], allow_end: bool) -> int:
    if token == "-" and allow_end:
        return len(container)
    if not token.isdigit() or (len(token) > 1 and token.startswith("0")):
        raise PatchError(f"invalid array index {token!r} in {_render(path)}", 422)
    i = int(token)
    if i > len(container) or (i == len(container) and not allow_end):
        raise PatchError(f"array index out of bounds in {_render(path)}", 422)
    return i


def _parent(doc: object, path: tuple[str, ...], op: str) -> object:
    node = doc
    for depth, token in enumerate(path[:-1]):
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list):
            node = node[_index(node, token, path[: depth + 1], False)]
        else:
            raise PatchError(
                f"{op} operation does not apply: doc is missing path: {_render(path)}", 422
            )
    return node


def _lookup(doc: object, path: tuple[str, ...], op: str) -> object:
    if not path:
        return doc
    parent = _parent(doc, path, op)
    token = path[-1]
    if isinstance(parent, dict) and token in parent:
        return parent[token]
    if isinstance(parent, list):
        return parent[_index(parent, token, path, False)]
    raise PatchError(f"{op} operation does not apply: doc is missing path: {_render(path)}", 422)


def _add(doc: object, path: tuple[str, ...], value: object) -> object:
    if not path:
        return value
    parent = _parent(doc, path, "add")
    token = path[-1]
    if isinstance(parent, dict):
        parent[token] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, token, path, True), value)
    else:
        raise PatchError(f"add operation does not apply: doc is missing path: {_render(path)}", 422)
    return doc


def _remove(doc: object, path: tuple[str, ...], op: str = "remove") -> tuple[object, object]:
    if not path:
        return None, doc
    parent = _parent(doc, path, op)
    token = path[-1]
    if isinstance(parent, dict) and token in parent:
        return doc, parent.pop(token)
    if isinstance(parent, list):
        return doc, parent.pop(_index(parent, token, path, False))
    raise PatchError(f"{op} operation does not apply: doc is missing path: {_render(path)}", 422)


# --- strategic merge patch: schema ---------------------------------------------------------


@attrs.frozen(kw_only=True)
class ListField:
    """A list with a patch strategy: `merge_key` for lists of maps, else a primitive set."""

    merge_key: str = ""
    item: Schema | None = None


@attrs.frozen(kw_only=True)
class MapField:
    """A nested struct whose own fields carry strategies."""

    fields: Schema


Schema = Mapping[str, "ListField | MapField"]
_EMPTY: Final[Schema] = {}


def _by(key: str, item: Schema | None = None) -> ListField:
    return ListField(merge_key=key, item=item)


_SET: Final = ListField()
_CONDITIONS: Final[Schema] = {"conditions": _by("type")}

_CONTAINER: Final[Schema] = {
    "ports": _by("containerPort"),
    "env": _by("name"),
    "volumeMounts": _by("mountPath"),
    "volumeDevices": _by("devicePath"),
}
_POD_SPEC: Final[Schema] = {
    "volumes": _by("name"),
    "initContainers": _by("name", _CONTAINER),
    "containers": _by("name", _CONTAINER),
    "ephemeralContainers": _by("name", _CONTAINER),
    "imagePullSecrets": _by("name"),
    "hostAliases": _by("ip"),
    "topologySpreadConstraints": _by("topologyKey"),
    "schedulingGates": _by("name"),
    "resourceClaims": _by("name"),
}
_METADATA: Final[Schema] = {"ownerReferences": _by("uid"), "finalizers": _SET}
_TEMPLATE: Final[Schema] = {
    "metadata": MapField(fields=_METADATA),
    "spec": MapField(fields=_POD_SPEC),
}


def _object(spec: Schema = _EMPTY, status: Schema = _EMPTY) -> Schema:
    return {
        "metadata": MapField(fields=_METADATA),
        "spec": MapField(fields=spec),
        "status": MapField(fields=status),
    }


_WORKLOAD: Final = _object({"template": MapField(fields=_TEMPLATE)}, _CONDITIONS)

SCHEMAS: Final[Mapping[Kind, Schema]] = {
    **{kind: _object() for kind in Kind},
    Kind.POD: _object(
        _POD_SPEC,
        {**_CONDITIONS, "podIPs": _by("ip"), "hostIPs": _by("ip"), "resourceClaimStatuses": _by("name")},
    ),
    Kind.NODE: _object(
        {"podCIDRs": _SET},
        {**_CONDITIONS, "addresses": _by("type")},
    ),
    Kind.SERVICE: _object({"ports": _by("port")}, _CONDITIONS),
    Kind.NAMESPACE: _object(_EMPTY, _CONDITIONS),
    Kind.PERSISTENT_VOLUME_CLAIM: _object(_EMPTY, _CONDITIONS),
    Kind.REPLICATION_CONTROLLER: _WORKLOAD,
    Kind.REPLICA_SET: _WORKLOAD,
    Kind.DEPLOYMENT: _WORKLOAD,
    Kind.DAEMON_SET: _WORKLOAD,
    Kind.STATEFUL_SET: _WORKLOAD,
    Kind.JOB: _WORKLOAD,
    Kind.CRON_JOB: _object(
        {"jobTemplate": MapField(fields={"spec": MapField(fields={"template": MapField(fields=_TEMPLATE)})})}
    ),
    Kind.HORIZONTAL_POD_AUTOSCALER: _object(_EMPTY, _CONDITIONS),
}


# --- strategic merge patch: algorithm -------------------------------------------------------

_DIRECTIVE: Final = "$patch"
_ORDER: Final = "$setElementOrder/"
_DELETE_PRIMITIVE: Final = "$deleteFromPrimitiveList/"
_RETAIN: Final = "$retainKeys"


def strategic_merge_patch(
    original: dict[str, object], patch: Mapping[str, object], schema: Schema
) -> dict[str, object]:
    """Merge `patch` into `original` following `schema` (SMP); `original` is consumed."""
    directive = patch.get(_DIRECTIVE)
    if directive == "replace":
        return _strip({k: v for k, v in patch.items() if k != _DIRECTIVE}, schema)
    if directive == "delete":
        return {}
    if directive not in (None, "merge"):
        raise PatchError(f"Unknown patch type: {directive}")
    result = original
    for k, v in patch.items():
        if k.startswith("$"):
            continue
        node = schema.get(k)
        if v is None or (isinstance(v, dict) and v.get(_DIRECTIVE) == "delete"):
            result.pop(k, None)
        else:
            result[k] = _merge_value(result.get(k), v, node)
    for k, v in patch.items():
        if k.startswith(_DELETE_PRIMITIVE):
            _delete_from_primitive_list(result, k[len(_DELETE_PRIMITIVE) :], v)
    for k, v in patch.items():
        if k.startswith(_ORDER):
            _set_element_order(result, k[len(_ORDER) :], v, schema.get(k[len(_ORDER) :]))
    if _RETAIN in patch:
        keep = patch[_RETAIN]
        if not isinstance(keep, list) or not all(isinstance(x, str) for x in keep):
            raise PatchError("doesn't contain a list of string", 400)
        for k in [k for k in result if k not in keep]:
            del result[k]
    return result


def _merge_value(orig: object, patch: object, node: ListField | MapField | None) -> object:
    if isinstance(patch, dict):
        fields = node.fields if isinstance(node, MapField) else _EMPTY
        base = orig if isinstance(orig, dict) else {}
        return strategic_merge_patch(base, patch, fields)
    if isinstance(patch, list):
        if isinstance(node, ListField):
            if node.merge_key:
                return _merge_keyed_list(orig, patch, node)
            return _merge_primitive_list(orig, patch)
        return [_strip(x, _EMPTY) if isinstance(x, dict) else x for x in patch]
    return patch


def _strip(value: dict[str, object], schema: Schema) -> dict[str, object]:
    """A patch fragment with no original to merge into: apply it to an empty map."""
    return strategic_merge_patch({}, value, schema)


def _merge_primitive_list(orig: object, patch: list[object]) -> list[object]:
    if any(isinstance(x, dict | list) for x in patch):
        raise PatchError("the list of primitives to merge contains a non-primitive", 400)
    base = list(orig) if isinstance(orig, list) else []
    return base + [x for x in patch if x not in base]


def _merge_keyed_list(orig: object, patch: list[object], node: ListField) -> list[object]:
    key = node.merge_key
    item_schema = node.item if node.item is not None else _EMPTY
    items = [x for x in patch if isinstance(x, dict)]
    if len(items) != len(patch):
        raise PatchError(f"the list with merge key {key!r} contains a non-map element", 400)
    if any(x.get(_DIRECTIVE) == "replace" for x in items):
        return [_strip(x, item_schema) for x in items if x.get(_DIRECTIVE) != "replace"]
    result: list[object] = list(orig) if isinstance(orig, list) else []
    for x in items:
        if key not in x:
            raise PatchError(f"map: {json.dumps(x, sort_keys=True)} does not contain declared merge key: {key}")
        at = next(
            (i for i, o in enumerate(result) if isinstance(o, dict) and o.get(key) == x[key]), None
        )
        directive = x.get(_DIRECTIVE)
        if directive == "delete":
            result = [o for o in result if not (isinstance(o, dict) and o.get(key) == x[key])]
        elif at is None:
            result.append(_strip(x, item_schema))
        else:
            existing = result[at]
            base = existing if isinstance(existing, dict) else {}
            result[at] = strategic_merge_patch(base, x, item_schema)
    return result


def _delete_from_primitive_list(result: dict[str, object], field: str, values: object) -> None:
    if not isinstance(values, list):
        raise PatchError(f"Invalid type for {_DELETE_PRIMITIVE}{field}", 400)
    current = result.get(field)
    if isinstance(current, list):
        result[field] = [x for x in current if x not in values]


def _set_element_order(
    result: dict[str, object], field: str, order: object, node: ListField | MapField | None
) -> None:
    if not isinstance(order, list):
        raise PatchError(f"Invalid type for {_ORDER}{field}", 400)
    current = result.get(field)
    if not isinstance(current, list):
        return
    key = node.merge_key if isinstance(node, ListField) else ""

    def ident(x: object) -> object:
        if key and isinstance(x, dict):
            return json.dumps(x.get(key), sort_keys=True)
        return json.dumps(x, sort_keys=True)

    rank = {ident(x): i for i, x in enumerate(order)}
    listed = sorted((x for x in current if ident(x) in rank), key=lambda x: rank[ident(x)])
    result[field] = listed + [x for x in current if ident(x) not in rank]
