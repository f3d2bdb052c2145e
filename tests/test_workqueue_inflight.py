"""One sync in flight per key (`kcore.component.inflight`): a sync wanted while a round
is out waits for its last answer, and the round keeps its first error."""

from __future__ import annotations

from pyrsistent import pmap

from kcore.api.kinds import Kind
from kcore.component.inflight import Round, Rounds, round_answered, round_sent, round_wanted
from tests.builders import key

SVC = key(Kind.SERVICE, "web")
OTHER = key(Kind.SERVICE, "db")
NONE: Rounds = pmap()


def test_a_sync_with_no_round_out_runs_now_and_changes_nothing() -> None:
    assert round_wanted(NONE, SVC) == (NONE, False)


def test_a_sync_wanted_while_a_round_is_out_waits_and_runs_after_its_last_answer() -> None:
    rounds = round_sent(NONE, SVC, 2)
    rounds, busy = round_wanted(rounds, SVC)
    assert (busy, rounds) == (True, pmap({SVC: Round(out=2, again=True)}))
    rounds, done = round_answered(rounds, SVC)
    assert (rounds, done) == (pmap({SVC: Round(out=1, again=True)}), None)
    assert round_answered(rounds, SVC) == (NONE, Round(out=0, again=True))


def test_a_round_keeps_the_first_error_met_including_one_it_started_with() -> None:
    rounds = round_sent(NONE, SVC, 2, "node missing")
    rounds, _ = round_answered(rounds, SVC, "refused")
    assert round_answered(rounds, SVC, "") == (NONE, Round(out=0, error="node missing"))
    rounds = round_sent(NONE, SVC, 2)
    rounds, _ = round_answered(rounds, SVC, "")
    assert round_answered(rounds, SVC, "refused")[1] == Round(out=0, error="refused")


def test_an_answer_with_no_round_out_finishes_nothing_and_other_keys_are_untouched() -> None:
    rounds = round_sent(NONE, OTHER)
    assert round_answered(rounds, SVC, "refused") == (rounds, None)
    assert round_wanted(rounds, SVC) == (rounds, False)
