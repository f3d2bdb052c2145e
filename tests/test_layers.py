"""The layers of kcore, as data, and the scan that holds every import to them.

Each module belongs to a group (its package under `kcore/`, or its own name for a module
at the top); groups sit in layers, lowest first. A module may import its own group and
any group of a lower layer; a group of the same layer only where `ALSO` allows it. On top
of that the core (every layer below the shell) is pure: it imports no clock, randomness,
file system, process or network module and calls no `open`, `print` or `input`, so one
seed gives one result (DESIGN.md). docs/architecture.md draws the same table.

Every import counts: at the top of a module, inside a function, under TYPE_CHECKING.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import attrs

ROOT: Final = Path(__file__).resolve().parent.parent / "kcore"

LAYERS: Final[tuple[tuple[str, frozenset[str]], ...]] = (
    ("leaf checks", frozenset({"bug", "util_validation"})),
    ("leaf values", frozenset({"quantity", "intstr", "labels", "persistent"})),
    ("object model", frozenset({"api"})),
    ("cluster state", frozenset({"state", "state_quota"})),
    ("node substrate", frozenset({"network", "runtime"})),
    ("component protocol and shared helpers", frozenset({"component", "helpers"})),
    ("apiserver and components", frozenset({"apiserver", "controllers", "addons", "scheduler", "kubelet"})),
    ("kubectl's client logic and readers for the shell", frozenset({"kubectl", "printers", "rollout_status", "unsettled"})),
    ("driver and store", frozenset({"driver", "store"})),
    ("command line", frozenset({"cli", "demo"})),
)

SHELL: Final = frozenset({"driver", "store", "cli", "demo"})
"""Groups allowed I/O, the clock and the process: the imperative shell."""

ALSO: Final[frozenset[tuple[str, str]]] = frozenset(
    {
        # the cluster state keeps the ResourceQuota usage index in step with every write
        ("state", "state_quota"),
        # the runtime hands out pod IPs from the node's range (`network.ipam`)
        ("runtime", "network"),
        # the kubelet admits pods with the scheduler's accounting and reasons, as
        # upstream's lifecycle/predicate.go imports the scheduler framework
        ("kubelet", "scheduler"),
        # what the shell prints about workloads and pods
        ("unsettled", "printers"),
        ("unsettled", "rollout_status"),
        # the store keeps the driver's snapshot (`driver/snapshot.py`, with the rate limits in it)
        ("store", "driver"),
        ("demo", "cli"),
    }
)

IMPURE_MODULES: Final = frozenset(
    {
        "asyncio", "fcntl", "gc", "io", "logging", "multiprocessing", "os", "pathlib", "pickle",
        "random", "secrets", "shutil", "signal", "socket", "subprocess", "sys", "tempfile",
        "threading", "time", "uuid",
    }
)  # fmt: skip
IMPURE_CALLS: Final = frozenset({"open", "print", "input", "breakpoint"})
IMPURE_ATTRIBUTES: Final = frozenset({"now", "utcnow", "today", "utcfromtimestamp"})
LOCAL_TIME: Final = "fromtimestamp"  # pure only with a time zone given: local time is the machine's
PURE_EXCEPTIONS: Final[frozenset[tuple[str, str]]] = frozenset(
    {
        # CronJob time zones read the tz database, as upstream's time.LoadLocation does
        ("kcore.controllers.cronjob_schedule", "zoneinfo"),
    }
)


@attrs.frozen
class Import:
    module: str  # the importing module, dotted
    target: str  # the imported module, dotted
    line: int


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def group_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def layer_of(group: str) -> int:
    for i, (_, groups) in enumerate(LAYERS):
        if group in groups:
            return i
    raise AssertionError(f"kcore.{group} is in no layer: add it to LAYERS (and docs/architecture.md)")


def modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(ROOT.rglob("*.py")):
        yield module_name(path), ast.parse(path.read_text(), filename=str(path))


def imports(module: str, tree: ast.Module) -> Iterator[Import]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module, alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield Import(module, node.module, node.lineno)
            for alias in node.names:  # `from kcore import state` imports kcore.state
                if node.module == "kcore":
                    yield Import(module, f"kcore.{alias.name}", node.lineno)


def all_imports() -> list[Import]:
    return [imp for module, tree in modules() for imp in imports(module, tree)]


def test_every_group_has_a_layer() -> None:
    groups = {group_of(m) for m, _ in modules()} - {""}
    for g in sorted(groups):
        layer_of(g)


def test_imports_only_point_down() -> None:
    bad: list[str] = []
    for imp in all_imports():
        if not imp.target.startswith("kcore.") or imp.target == "kcore":
            continue
        src, dst = group_of(imp.module), group_of(imp.target)
        if src == dst or (src, dst) in ALSO:
            continue
        if layer_of(dst) >= layer_of(src):
            bad.append(
                f"{imp.module}:{imp.line} imports {imp.target}: {LAYERS[layer_of(src)][0]} may not "
                f"import {LAYERS[layer_of(dst)][0]}"
            )
    assert not bad, "\n".join(bad)


def test_the_core_is_pure() -> None:
    bad: list[str] = []
    for module, tree in modules():
        if group_of(module) in SHELL:
            continue
        for imp in imports(module, tree):
            top = imp.target.split(".")[0]
            if (top in IMPURE_MODULES or top == "zoneinfo") and (module, top) not in PURE_EXCEPTIONS:
                bad.append(f"{module}:{imp.line} imports {imp.target}")
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                fn = node.func
                if isinstance(fn, ast.Name) and fn.id in IMPURE_CALLS:
                    bad.append(f"{module}:{node.lineno} calls {fn.id}()")
                if isinstance(fn, ast.Attribute) and fn.attr in IMPURE_ATTRIBUTES:
                    bad.append(f"{module}:{node.lineno} calls .{fn.attr}()")
                zoned = len(node.args) >= 2 or any(k.arg == "tz" for k in node.keywords)
                if isinstance(fn, ast.Attribute) and fn.attr == LOCAL_TIME and not zoned:
                    bad.append(f"{module}:{node.lineno} calls .{fn.attr}() without a time zone")
    assert not bad, "\n".join(bad)


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle in `graph`, as a path from a module back to itself, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph.get(m, ())):
            if state.get(n) == 1:
                return [*stack[stack.index(n) :], n]
            if n not in state:
                found = visit(n)
                if found:
                    return found
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state:
            found = visit(m)
            if found:
                return found
    return None


def test_no_import_cycles() -> None:
    """No two modules import each other, directly or round about: not even through an
    import inside a function, which is how a cycle hides. A package's `__init__` counts as
    importing what it re-exports, so it is left out as a target."""
    names = {m for m, _ in modules()}
    packages = {m for m in names if (ROOT.parent / m.replace(".", "/") / "__init__.py").exists()}
    graph: dict[str, set[str]] = {}
    for imp in all_imports():
        if imp.target in names and imp.target not in packages and imp.module not in packages:
            graph.setdefault(imp.module, set()).add(imp.target)
    assert _cycle(graph) is None


def test_the_scan_sees_a_wrong_import() -> None:
    tree = ast.parse("from kcore.driver.cluster import Cluster\nimport time\n")
    found = list(imports("kcore.controllers.example", tree))
    assert [i.target for i in found] == ["kcore.driver.cluster", "time"]
    assert layer_of(group_of(found[0].target)) > layer_of("controllers")
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
