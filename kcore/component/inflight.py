"""One sync in flight per key: the round of writes a controller has out for a key, and
whether another sync of it was wanted meanwhile.

Owns `Round` (per key: its writes unanswered, the first error met, whether to sync
again), `Rounds` (the rounds out, by key) and the functions `round_wanted`, `round_sent`
and `round_answered`.

Rules:
- A sync of a key whose round is out does not run: `round_wanted` marks the round to
  sync again (`again`) and says so; the controller runs that sync after the round's last
  answer, on a view that has seen the answers' watch events or will. Syncs of one key
  therefore never overlap, and a change seen meanwhile is never lost.
- `round_sent` starts a round of `out` writes (at least one), with an error already met
  (a pod whose node is missing) or none; `round_answered` counts one answer, keeps its
  first error, and hands back the finished round after the last one.
- A relist drops every round (`pmap()`): the answers still to come finish no round.
  A controller whose own watch event starts its next step (the load-balancer
  controller) only asks whether a round is out (`key in rounds`), never for `again`.

Must not know: what the writes are, the controller's retries (its work queue's).
Pure. Mirrors client-go util/workqueue queue.go: an item being processed is not handed
out again, and one added meanwhile (dirty) is queued again on Done.
"""

from __future__ import annotations

import attrs
from pyrsistent.typing import PMap

from kcore.api.kinds import ObjectKey


@attrs.frozen(kw_only=True)
class Round:
    """A key's writes out: how many are unanswered, the first error met, and whether
    another sync was wanted meanwhile (it runs after the last answer)."""

    out: int
    error: str = ""
    again: bool = False


Rounds = PMap[ObjectKey, Round]
"""The rounds out, by key."""


def round_wanted(rounds: Rounds, key: ObjectKey) -> tuple[Rounds, bool]:
    """A sync of `key` is wanted: (the rounds, True) with its round marked `again` when
    one is out, so the sync waits; (the rounds unchanged, False) when it may run now."""
    busy = rounds.get(key)
    if busy is None:
        return rounds, False
    return rounds.set(key, attrs.evolve(busy, again=True)), True


def round_sent(rounds: Rounds, key: ObjectKey, out: int = 1, error: str = "") -> Rounds:
    """A round of `out` writes of `key` went out (`error`: one already met)."""
    return rounds.set(key, Round(out=out, error=error))


def round_answered(rounds: Rounds, key: ObjectKey, error: str = "") -> tuple[Rounds, Round | None]:
    """One answer of `key`'s round (`error` "" when it counts as done): the rounds after
    it and, when it was the last, the finished round (its first error, whether to sync
    again); None while writes are still out, or when no round of `key` is out."""
    r = rounds.get(key)
    if r is None:
        return rounds, None
    r = attrs.evolve(r, out=r.out - 1, error=r.error or error)
    if r.out > 0:
        return rounds.set(key, r), None
    return rounds.discard(key), r
