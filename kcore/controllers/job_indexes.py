"""Indexed Jobs: completion indexes, their compressed interval strings, pod stamping.

Owns, as pure functions: `Intervals` (ordered, merged, inclusive index ranges) with
`parse_indexes` / `format_indexes` for `status.completedIndexes` ("1,3-5": two adjacent
indexes print as "3,4", three or more as "3-5"), `with_indexes`, `has_index`, `total`;
`completion_index(pod)`; `first_pending_indexes`; `duplicated_index_pods` (the active pods
an Indexed Job must remove: no index, index out of range, or a repeated index); and
`indexed_template(template, job_name, index)` (annotation + label
batch.kubernetes.io/job-completion-index, hostname `<job>-<index>`, the JOB_COMPLETION_INDEX
env var from the label, generateName `<job>-<index>-`).

Rules: a malformed interval is skipped, an index >= completions is dropped (upstream's
parseIndexesFromString); nothing here reads a clock or emits effects.

Must not know: the component, the apiserver, the driver.
Mirrors pkg/controller/job/indexed_job_utils.go.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

import attrs

from kcore.api.meta import ApiObject
from kcore.api.pod import Container, EnvVar, EnvVarSource, ObjectFieldSelector, Pod, PodTemplateSpec

COMPLETION_INDEX_ANNOTATION: Final = "batch.kubernetes.io/job-completion-index"
COMPLETION_INDEX_ENV: Final = "JOB_COMPLETION_INDEX"
MAX_GENERATED_NAME_LENGTH: Final = 58  # names.MaxGeneratedNameLength (63 - 5 random chars)

Interval = tuple[int, int]
Intervals = tuple[Interval, ...]


def parse_indexes(text: str, completions: int) -> Intervals:
    """parseIndexesFromString: ordered intervals below `completions`; corrupt parts skipped."""
    if not text:
        return ()
    out: list[Interval] = []
    for part in text.split(","):
        limits = part.split("-")
        try:
            first = int(limits[0])
        except ValueError:
            continue
        if first >= completions:
            break
        if len(limits) > 1:
            try:
                last = int(limits[1])
            except ValueError:
                continue
            last = min(last, completions - 1)
        else:
            last = first
        if out and out[-1][1] == first - 1:
            out[-1] = (out[-1][0], last)
        else:
            out.append((first, last))
    return tuple(out)


def _merge(a: Intervals, b: Intervals) -> Intervals:
    out: list[Interval] = []
    for first, last in sorted((*a, *b)):
        if not out or first > out[-1][1] + 1:
            out.append((first, last))
        elif out[-1][1] < last:
            out[-1] = (out[-1][0], last)
    return tuple(out)


def with_indexes(intervals: Intervals, indexes: Iterable[int]) -> Intervals:
    """withOrderedIndexes: `intervals` plus `indexes`, merged."""
    return _merge(intervals, tuple((i, i) for i in sorted(set(indexes))))


def has_index(intervals: Intervals, index: int) -> bool:
    return any(first <= index <= last for first, last in intervals)


def total(intervals: Intervals) -> int:
    return sum(last - first + 1 for first, last in intervals)


def format_indexes(intervals: Intervals) -> str:
    """orderedIntervals.String: "0-2,4"; two adjacent indexes as "3,4"."""
    parts: list[str] = []
    for first, last in intervals:
        if last == first:
            parts.append(str(first))
        elif last == first + 1:
            parts.append(f"{first},{last}")
        else:
            parts.append(f"{first}-{last}")
    return ",".join(parts)


def completion_index(obj: ApiObject) -> int | None:
    """getCompletionIndex: the annotation as a non-negative int, else None (unknown)."""
    text = obj.metadata.annotations.get(COMPLETION_INDEX_ANNOTATION)
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError:
        return None
    return value if value >= 0 else None


def first_pending_indexes(
    succeeded: Intervals, active: Iterable[Pod], count: int, completions: int
) -> tuple[int, ...]:
    """firstPendingIndexes: the lowest `count` indexes below `completions` that are neither
    succeeded nor held by an active pod."""
    taken = with_indexes(succeeded, (ix for p in active if (ix := completion_index(p)) is not None))
    out: list[int] = []
    candidate = 0
    while candidate < completions and len(out) < count:
        if has_index(taken, candidate):
            candidate += 1
            continue
        out.append(candidate)
        candidate += 1
    return tuple(out)


def duplicated_index_pods(pods: Sequence[Pod], completions: int) -> tuple[tuple[Pod, ...], tuple[Pod, ...]]:
    """appendDuplicatedIndexPodsForRemoval: (to remove, left). Pods without an index or
    with one out of range are removed; of pods sharing an index all but the last by name
    are removed (upstream sorts them by ActivePods; kcore by name, for determinism)."""
    rm: list[Pod] = []
    left: list[Pod] = []
    by_index: dict[int, list[Pod]] = {}
    for p in sorted(pods, key=lambda p: p.metadata.name):
        ix = completion_index(p)
        if ix is None or ix >= completions:
            rm.append(p)
        else:
            by_index.setdefault(ix, []).append(p)
    for ix in sorted(by_index):
        group = by_index[ix]
        rm.extend(group[:-1])
        left.append(group[-1])
    return tuple(rm), tuple(left)


def _with_index_env(c: Container) -> Container:
    if any(e.name == COMPLETION_INDEX_ENV for e in c.env):
        return c
    ref = ObjectFieldSelector(field_path=f"metadata.labels['{COMPLETION_INDEX_ANNOTATION}']")
    env = EnvVar(name=COMPLETION_INDEX_ENV, value_from=EnvVarSource(field_ref=ref))
    return attrs.evolve(c, env=(*c.env, env))


def generate_name_with_index(job_name: str, index: int) -> str:
    """podGenerateNameWithIndex: `<job>-<index>-`, the job name cut to fit 58 characters."""
    suffix = f"-{index}-"
    prefix = job_name + suffix
    if len(prefix) > MAX_GENERATED_NAME_LENGTH:
        prefix = prefix[: MAX_GENERATED_NAME_LENGTH - len(suffix)] + suffix
    return prefix


def indexed_template(template: PodTemplateSpec, job_name: str, index: int) -> PodTemplateSpec:
    """The template of the pod for completion `index`: index env vars (addCompletionIndex-
    EnvVariables), annotation and label (PodIndexLabel, GA), hostname `<job>-<index>`."""
    meta = template.metadata
    meta = attrs.evolve(
        meta,
        annotations=meta.annotations.set(COMPLETION_INDEX_ANNOTATION, str(index)),
        labels=meta.labels.set(COMPLETION_INDEX_ANNOTATION, str(index)),
    )
    spec = template.spec
    spec = attrs.evolve(
        spec,
        init_containers=tuple(_with_index_env(c) for c in spec.init_containers),
        containers=tuple(_with_index_env(c) for c in spec.containers),
        hostname=f"{job_name}-{index}",
    )
    return attrs.evolve(template, metadata=meta, spec=spec)
