"""Manifests: YAML or JSON text in, defaulted typed objects out; and kubectl-like output.

Owns `load_manifests`, `Loaded`, `ManifestError`, `dump_yaml`, `dump_json`. Parsing is
PyYAML's safe loader (JSON is YAML) with one change kubectl also makes: timestamps stay
strings, as they do when sigs.k8s.io/yaml turns YAML into JSON. Empty documents are
skipped; a `kind: List` (or any `*List`) expands into its items. Each object is decoded by
`kcore.api.codec` and then defaulted by `kcore.api.defaults`. Text is given, not read:
the caller owns the file system.

Mirrors k8s.io/cli-runtime/pkg/resource (the visitor that splits streams and flattens
lists) and kubectl's printers (`-o yaml`, `-o json`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, Final

import attrs
import yaml

from kcore.api.codec import CodecError, JSONValue, from_dict, to_dict
from kcore.api.defaults import apply_defaults
from kcore.api.meta import ApiObject


class ManifestError(ValueError):
    """A manifest that does not load; the message names source, document, object and path."""

    def __init__(self, message: str, *, source: str = "", index: int = 0, path: str = "") -> None:
        super().__init__(message)
        self.source = source
        self.index = index
        self.path = path


@attrs.frozen(kw_only=True)
class Loaded:
    """One object of a manifest: `index` is its document's position in the stream (from 0)."""

    obj: ApiObject
    warnings: tuple[str, ...]
    source: str
    index: int


_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[misc]  # PyYAML's loader bases are untyped
    """SafeLoader without the timestamp and `=` (value) implicit resolvers."""


_Loader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:value")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _parse(text: str, source: str) -> list[object]:
    docs: list[object] = []
    try:
        for doc in yaml.load_all(text, Loader=_Loader):  # _Loader is a SafeLoader
            docs.append(doc)
    except yaml.YAMLError as e:
        raise ManifestError(
            f"{_where(source, len(docs), None)}error parsing YAML: {e}",
            source=source,
            index=len(docs),
        ) from None
    return docs


def _where(source: str, index: int, total: int | None) -> str:
    parts = [source] if source else []
    if total is None or total > 1:
        parts.append(f"document {index + 1}")
    return ": ".join(parts) + ": " if parts else ""


def _describe_object(data: Mapping[str, object]) -> str:
    kind = data.get("kind")
    meta = data.get("metadata")
    name = meta.get("name") if isinstance(meta, Mapping) else None
    if not isinstance(kind, str) or not kind:
        return ""
    return f'{kind} "{name}": ' if isinstance(name, str) and name else f"{kind}: "


def load_manifests(text: str, *, source: str = "", defaults: bool = True) -> tuple[Loaded, ...]:
    """Load every object of a YAML/JSON stream, decoded and defaulted, in stream order.

    `defaults=False` keeps the objects as written: what `kubectl apply` sends and records
    in its last-applied-configuration annotation (the apiserver defaults them anyway).

    Raises `ManifestError` for unparsable text, a document that is not an object, an
    unknown kind, a wrong type or a missing required field.
    """
    docs = _parse(text, source)
    total = sum(1 for d in docs if d is not None)
    out: list[Loaded] = []
    for index, doc in enumerate(docs):
        if doc is None:
            continue
        where = _where(source, index, total)
        if not isinstance(doc, Mapping):
            raise ManifestError(
                f"{where}expected an object, got {type(doc).__name__}",
                source=source,
                index=index,
            )
        for item_path, item in _flatten(doc, where, source, index):
            out.append(_load_one(item, item_path, where, source, index, defaults))
    return tuple(out)


def _flatten(
    doc: Mapping[str, object], where: str, source: str, index: int
) -> Iterable[tuple[str, Mapping[str, object]]]:
    kind = doc.get("kind")
    if not (isinstance(kind, str) and kind.endswith("List") and "items" in doc):
        return (("", doc),)
    items = doc.get("items") or []
    if not isinstance(items, list):
        raise ManifestError(
            f"{where}{kind}: items: expected array", source=source, index=index, path="items"
        )
    flat: list[tuple[str, Mapping[str, object]]] = []
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise ManifestError(
                f"{where}{kind}: items[{i}]: expected object",
                source=source,
                index=index,
                path=f"items[{i}]",
            )
        flat.append((f"items[{i}]", item))
    return flat


def _load_one(
    data: Mapping[str, object],
    item_path: str,
    where: str,
    source: str,
    index: int,
    defaults: bool,
) -> Loaded:
    try:
        decoded = from_dict(data)
    except CodecError as e:
        prefix = f"{item_path}: " if item_path else ""
        raise ManifestError(
            f"{where}{prefix}{_describe_object(data)}{e}",
            source=source,
            index=index,
            path=e.path,
        ) from None
    obj = apply_defaults(decoded.obj) if defaults else decoded.obj
    return Loaded(obj=obj, warnings=decoded.warnings, source=source, index=index)


# --- output ------------------------------------------------------------------------------

_BaseDumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_BaseDumper):  # type: ignore[misc]  # PyYAML's dumper bases are untyped
    """Block style, keys in the given order, multi-line strings as literal blocks."""


def _represent_str(dumper: Any, value: str) -> Any:
    # go-yaml (kubectl's printer) writes an empty string as "", a multi-line one as a block
    style = "|" if "\n" in value else ('"' if value == "" else None)
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)

LIST_API_VERSION: Final = "v1"


def _as_json(objs: ApiObject | Iterable[ApiObject]) -> JSONValue:
    if hasattr(objs, "KIND"):
        return to_dict(objs)
    # kubectl's printers sort a List's keys (it prints through unstructured maps).
    return {
        "apiVersion": LIST_API_VERSION,
        "items": [to_dict(o) for o in objs],
        "kind": "List",
        "metadata": {"resourceVersion": ""},
    }


def dump_yaml(objs: ApiObject | Iterable[ApiObject]) -> str:
    """kubectl `-o yaml`: one object, or a `kind: List` of several; keys in wire order."""
    text: str = yaml.dump(
        _as_json(objs),
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=1 << 16,
    )
    return text


def dump_json(objs: ApiObject | Iterable[ApiObject]) -> str:
    """kubectl `-o json`: four-space indentation, keys in wire order, a trailing newline."""
    return json.dumps(_as_json(objs), indent=4, ensure_ascii=False) + "\n"
