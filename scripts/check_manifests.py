"""Load every manifest under a directory through kcore's codec and report per document.

Usage: python scripts/check_manifests.py [-q] DIR [DIR ...]

For each *.yaml / *.yml / *.json file (sorted by path), every YAML document, and every item
of a `kind: List`, is checked on its own, so one bad document does not hide the others:

- a document whose apiVersion/kind kcore does not model is SKIPPED (named);
- a document without apiVersion/kind (a patch fragment, a tool's config) is SKIPPED;
- otherwise it is loaded with `kcore.api.manifest.load_manifests` (decode + defaults), its
  codec round trip `from_dict(to_dict(obj)).obj == obj` is checked, and, when
  `kcore.api.validation.validate` exists, `validate(obj, None)` (create) is run.

One line per document: OK, WARN (unknown-field warnings), SKIPPED or FAIL (the error, and
any unknown-field warnings of the same document), then totals. Exit status 1 when any document of a modelled kind FAILs (or a file does not
parse), else 0. This is a developer tool (it reads files), not part of the core.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import attrs
import yaml

from kcore.api.codec import from_dict, to_dict
from kcore.api.defaults import apply_defaults
from kcore.api.kinds import UnknownKindError, kind_for_gvk
from kcore.api.manifest import ManifestError, load_manifests
from kcore.api.meta import ApiObject

SUFFIXES: Final = (".yaml", ".yml", ".json")
# Stands in for the uid the apiserver assigns on create (Job selector generation needs one).
PLACEHOLDER_UID: Final = "00000000-0000-0000-0000-000000000000"

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[misc]  # PyYAML's loader bases are untyped
    """SafeLoader keeping timestamps as strings, as kubectl's YAML-to-JSON step does."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@attrs.frozen(kw_only=True)
class Result:
    """The verdict on one document: `status` is OK, WARN, SKIPPED or FAIL."""

    where: str
    status: str
    detail: str = ""
    modelled: bool = True


Validator = Callable[[ApiObject, object], Sequence[object]]


def find_validator() -> Validator | None:
    """`kcore.api.validation.validate` when that function exists, else None."""
    try:
        module = importlib.import_module("kcore.api.validation")
    except ImportError:
        return None
    fn = getattr(module, "validate", None)
    return fn if callable(fn) else None


def manifest_files(root: Path) -> list[Path]:
    """Every manifest file under `root` (or `root` itself), sorted by path."""
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in SUFFIXES)


def documents(text: str) -> Iterator[tuple[str, object]]:
    """(label, document) for each document of a stream, `kind: List` items expanded."""
    for index, doc in enumerate(yaml.load_all(text, Loader=_Loader)):  # a SafeLoader
        if doc is None:
            continue
        label = f"doc {index + 1}"
        kind = doc.get("kind") if isinstance(doc, Mapping) else None
        items = doc.get("items") if isinstance(doc, Mapping) else None
        if isinstance(kind, str) and kind.endswith("List") and isinstance(items, list):
            for i, item in enumerate(items):
                yield f"{label} items[{i}]", item
        else:
            yield label, doc


def _diff(a: object, b: object, path: str = "") -> str:
    """The first path where two JSON values differ (for a readable round-trip failure)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                return _diff(a.get(key), b.get(key), f"{path}.{key}" if path else key)
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                return _diff(x, y, f"{path}[{i}]")
    return f"{path or '<root>'}: {a!r} != {b!r}"


def as_created(obj: ApiObject) -> ApiObject:
    """`obj` as the apiserver's create path validates it, not as the file spells it.

    kubectl sends a namespaced object without a namespace to "default"; the apiserver
    clears the namespace of a cluster-scoped object (upstream rest.BeforeCreate, as
    kcore's storage.create does) and stamps a uid before validating (which lets a Job's
    selector be generated), so the manifest is not blamed for what the request path
    supplies.
    """
    m = obj.metadata
    namespace = (m.namespace or "default") if obj.KIND.info.namespaced else ""
    meta = attrs.evolve(m, namespace=namespace, uid=m.uid or PLACEHOLDER_UID)
    return apply_defaults(attrs.evolve(obj, metadata=meta))  # type: ignore[misc]  # every kind is an attrs class


def check_object(obj: ApiObject, validate: Validator | None) -> str:
    """Round trip and validation problems of one loaded object ("" when none)."""
    wire = to_dict(obj)
    again = from_dict(wire)
    if again.warnings:
        return f"round trip: re-decoding warns {list(again.warnings)}"
    if again.obj != obj:
        return f"round trip: object differs; wire diff at {_diff(wire, to_dict(again.obj))}"
    if validate is not None:
        errors = validate(as_created(obj), None)
        if errors:
            return "validation: " + "; ".join(str(e) for e in errors)
    return ""


def check_document(where: str, doc: object, validate: Validator | None) -> Result:
    """Load, round-trip and validate one document."""
    if not isinstance(doc, Mapping):
        return Result(where=where, status="FAIL", detail=f"not an object: {type(doc).__name__}")
    api_version, kind = doc.get("apiVersion"), doc.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str):
        return Result(
            where=where, status="SKIPPED", detail="no apiVersion/kind (not an object)", modelled=False
        )
    try:
        kind_for_gvk(api_version, kind)
    except UnknownKindError:
        return Result(
            where=where, status="SKIPPED", detail=f"kind not modelled: {api_version}/{kind}", modelled=False
        )
    name = f"{kind} {api_version}"
    text = yaml.safe_dump(dict(doc), sort_keys=False)
    try:
        (loaded,) = load_manifests(text, source=where)
        problem = check_object(loaded.obj, validate)
    except ManifestError as e:
        return Result(where=where, status="FAIL", detail=f"{name}: {e}")
    except Exception as e:  # a crash is a kcore bug to report, not a reason to stop
        return Result(where=where, status="FAIL", detail=f"{name}: crash: {type(e).__name__}: {e}")
    if problem:
        # Unknown fields are named too: they may be why validation fails (a dropped field).
        also = f" (also warns: {'; '.join(loaded.warnings)})" if loaded.warnings else ""
        return Result(where=where, status="FAIL", detail=f"{name}: {problem}{also}")
    if loaded.warnings:
        return Result(where=where, status="WARN", detail=f"{name}: " + "; ".join(loaded.warnings))
    return Result(where=where, status="OK", detail=name)


def check_file(path: Path, label: str, validate: Validator | None) -> list[Result]:
    """Results for every document of one file."""
    try:
        docs = list(documents(path.read_text(encoding="utf-8")))
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        # Not a kcore failure: kubectl rejects such a file too.
        return [Result(where=label, status="FAIL", detail=f"unparsable: {e}", modelled=False)]
    return [check_document(f"{label} {where}", doc, validate) for where, doc in docs]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("dirs", nargs="+", type=Path, metavar="DIR")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only non-OK lines")
    args = parser.parse_args(argv)
    validate = find_validator()
    results: list[Result] = []
    for root in args.dirs:
        for path in manifest_files(root):
            label = str(path.relative_to(root)) if root.is_dir() else str(path)
            results.extend(check_file(path, label, validate))
    for r in results:
        if not (args.quiet and r.status == "OK"):
            print(f"{r.status:7} {r.where}: {' '.join(r.detail.split())}")
    counts = {s: sum(1 for r in results if r.status == s) for s in ("OK", "WARN", "SKIPPED", "FAIL")}
    files = sum(len(manifest_files(root)) for root in args.dirs)
    print(
        f"{files} files, {len(results)} documents: "
        + ", ".join(f"{n} {s}" for s, n in counts.items())
        + f" (validation {'on' if validate else 'unavailable'})"
    )
    return 1 if any(r.status == "FAIL" and r.modelled for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
