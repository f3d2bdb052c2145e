"""A creation burst's answers through the kit (`podcontrol.burst_create_answered`): the
event, the expectations, the burst kept or ended, the next batch."""

from __future__ import annotations

import attrs
from pyrsistent import pmap
from pyrsistent.typing import PMap

from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import Status, StatusReason, Time
from kcore.component.requests import Response
from kcore.controllers import expectations as exps
from kcore.controllers.podcontrol import (
    BurstAnswered,
    SlowStart,
    burst_create_answered,
    create_answered,
    slow_start,
)
from tests.builders import a_pod, key

RS_KEY = key(Kind.REPLICA_SET, "web")
CREATED = Response(code=201, body=a_pod("web-a"))
REFUSED = Response(code=403, body=Status(message="quota", reason=StatusReason.FORBIDDEN, code=403))


@attrs.frozen(kw_only=True)
class Burst:
    """A controller's burst record: its progress and something of its own."""

    progress: SlowStart
    note: str = "mine"


def bursts(count: int) -> PMap[ObjectKey, Burst]:
    return pmap({RS_KEY: Burst(progress=slow_start(count))})


def test_a_create_landing_sends_the_next_doubled_batch_once_the_batch_is_answered() -> None:
    expecting = exps.expect_creations(exps.NO_EXPECTATIONS, RS_KEY, 3, Time(0.0))
    answer = burst_create_answered(expecting, bursts(3), RS_KEY, CREATED)
    progress = SlowStart(remaining=0, batch=2, in_flight=2, succeeded=1)
    assert answer == BurstAnswered(
        event=create_answered(RS_KEY, CREATED),
        expectations=expecting,
        bursts=pmap({RS_KEY: Burst(progress=progress)}),
        send=2,
    )


def test_a_failed_create_ends_the_burst_and_lowers_its_own_and_the_unsent_expectations() -> None:
    expecting = exps.expect_creations(exps.NO_EXPECTATIONS, RS_KEY, 3, Time(0.0))
    answer = burst_create_answered(expecting, bursts(3), RS_KEY, REFUSED)
    assert (answer.send, answer.bursts, answer.unknown) == (0, pmap(), False)
    assert answer.ended is not None and answer.ended.error == "quota"
    assert exps.satisfied(answer.expectations, RS_KEY, Time(0.0))


def test_an_answer_with_no_burst_out_still_records_its_event_and_says_so() -> None:
    none: PMap[ObjectKey, Burst] = pmap()
    answer = burst_create_answered(exps.NO_EXPECTATIONS, none, RS_KEY, CREATED)
    assert (answer.unknown, answer.ended, answer.send, answer.event) == (True, None, 0, create_answered(RS_KEY, CREATED))
