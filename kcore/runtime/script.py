"""The behaviour script of a pod: `kcore.io/...` annotations parsed into values.

Owns `Knob` (the annotation names), `Behaviour` (one container's scripted behaviour),
`Script` (a pod's: pod-wide values plus per-container overrides) and `parse_script`.

Rules (docs/runtime.md is the user-facing contract):
- `kcore.io/<knob>` applies to every container of the pod (init containers included);
  `kcore.io/<knob>.<container>` applies to that container and wins over the pod-wide one.
  Container names are DNS labels, so the first `.` after the knob splits them.
- Parsing never raises. A value that does not parse (or is out of range) is ignored, as
  if absent, and reported as a `FieldError` warning naming the annotation:
  `metadata.annotations[kcore.io/exit-code]: Invalid value: "abc": must be ...`.
- Other `kcore.io/` names are not ours to judge (other components may use the prefix)
  and are ignored silently; docs/runtime.md lists the knobs.
- Seconds are decimal numbers (`"3"`, `"2.5"`, optionally `"3s"`), finite and >= 0;
  `ready-after` and `startup-after` also take `"never"` (the probe never passes).

Must not know: time, the runtime's state, the kubelet.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from typing import Final, assert_never

import attrs
from pyrsistent import pmap
from pyrsistent.typing import PMap

from kcore.util_validation import FieldError, invalid, key

PREFIX: Final = "kcore.io/"

FAIL_ALWAYS: Final = 1 << 62
"""`fail_image_pull` for `kcore.io/fail-image-pull: "true"`: every pull fails."""


class Knob(enum.Enum):
    """The scripting annotations, `kcore.io/<value>`."""

    EXIT_CODE = "exit-code"
    RUN_SECONDS = "run-seconds"
    CRASH_AFTER = "crash-after"
    OOM_AFTER = "oom-after"
    READY_AFTER = "ready-after"
    STARTUP_AFTER = "startup-after"
    LIVENESS_FAIL_AFTER = "liveness-fail-after"
    IMAGE_PULL_SECONDS = "image-pull-seconds"
    FAIL_IMAGE_PULL = "fail-image-pull"
    STOP_SECONDS = "stop-seconds"

    @property
    def annotation(self) -> str:
        return PREFIX + self.value


_KNOBS: Final = {k.value: k for k in Knob}


@attrs.frozen(kw_only=True)
class Behaviour:
    """One container's script; None = not scripted (the runtime's default applies)."""

    exit_code: int | None = None
    run_seconds: float | None = None
    crash_after: float | None = None
    oom_after: float | None = None
    ready_after: float | None = None
    startup_after: float | None = None
    liveness_fail_after: float | None = None
    image_pull_seconds: float | None = None
    fail_image_pull: int | None = None  # how many pulls fail (FAIL_ALWAYS: all)
    stop_seconds: float | None = None


@attrs.frozen(kw_only=True)
class Script:
    pod: Behaviour = Behaviour()
    containers: PMap[str, Behaviour] = pmap()


def parse_script(annotations: Mapping[str, str]) -> tuple[Script, tuple[FieldError, ...]]:
    """The script in `annotations` and a warning per ignored (unusable) value."""
    pod = Behaviour()
    per_container: dict[str, Behaviour] = {}
    warnings: list[FieldError] = []
    for name in sorted(annotations):
        if not name.startswith(PREFIX):
            continue
        knob_name, _, container = name[len(PREFIX) :].partition(".")
        knob = _KNOBS.get(knob_name)
        if knob is None:
            continue
        value = _parse_value(knob, annotations[name])
        if isinstance(value, str):
            warnings.append(invalid(key("metadata.annotations", name), annotations[name], value))
        elif container:
            per_container[container] = _set(per_container.get(container, Behaviour()), knob, value)
        else:
            pod = _set(pod, knob, value)
    script = Script(pod=pod, containers=pmap(per_container))
    return script, tuple(warnings)


def behaviour_for(script: Script, container: str) -> Behaviour:
    """`container`'s behaviour: its own values, else the pod-wide ones."""
    own = script.containers.get(container)
    if own is None:
        return script.pod
    inherited = {
        f.name: getattr(script.pod, f.name)
        for f in attrs.fields(Behaviour)
        if getattr(own, f.name) is None
    }
    return attrs.evolve(own, **inherited)


def _set(b: Behaviour, knob: Knob, value: float) -> Behaviour:
    match knob:
        case Knob.EXIT_CODE:
            return attrs.evolve(b, exit_code=int(value))
        case Knob.FAIL_IMAGE_PULL:
            return attrs.evolve(b, fail_image_pull=int(value))
        case Knob.RUN_SECONDS:
            return attrs.evolve(b, run_seconds=value)
        case Knob.CRASH_AFTER:
            return attrs.evolve(b, crash_after=value)
        case Knob.OOM_AFTER:
            return attrs.evolve(b, oom_after=value)
        case Knob.READY_AFTER:
            return attrs.evolve(b, ready_after=value)
        case Knob.STARTUP_AFTER:
            return attrs.evolve(b, startup_after=value)
        case Knob.LIVENESS_FAIL_AFTER:
            return attrs.evolve(b, liveness_fail_after=value)
        case Knob.IMAGE_PULL_SECONDS:
            return attrs.evolve(b, image_pull_seconds=value)
        case Knob.STOP_SECONDS:
            return attrs.evolve(b, stop_seconds=value)
        case _:
            assert_never(knob)


def _parse_value(knob: Knob, raw: str) -> int | float | str:
    """The parsed value, or (a str) why it is unusable."""
    text = raw.strip()
    match knob:
        case Knob.EXIT_CODE:
            return _parse_int(text, 0, 255, "must be an integer exit code between 0 and 255")
        case Knob.FAIL_IMAGE_PULL:
            lowered = text.lower()
            if lowered == "true":
                return FAIL_ALWAYS
            if lowered == "false":
                return 0
            return _parse_int(
                text, 0, FAIL_ALWAYS, '"true", "false" or how many pulls fail (an integer >= 0)'
            )
        case Knob.READY_AFTER | Knob.STARTUP_AFTER if text.lower() == "never":
            return math.inf
        case _:
            return _parse_seconds(text)


def _parse_int(text: str, lo: int, hi: int, why: str) -> int | str:
    try:
        value = int(text, 10)
    except ValueError:
        return why
    return value if lo <= value <= hi else why


def _parse_seconds(text: str) -> float | str:
    why = 'must be a number of seconds >= 0 (e.g. "3", "2.5" or "3s")'
    number = text.removesuffix("s")
    try:
        value = float(number)
    except ValueError:
        return why
    if not math.isfinite(value) or value < 0:
        return why
    return value + 0.0  # -0.0 -> 0.0
