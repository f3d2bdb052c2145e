"""One status write in flight per owner (`kcore.controllers.status`)."""

from __future__ import annotations

import attrs
import pytest
from pyrsistent import pmap

from kcore.api.apps import ReplicaSet, ReplicaSetStatus
from kcore.api.kinds import Kind
from kcore.api.meta import Status, StatusReason, Time
from kcore.component.effects import CallApi, WakeMeAt
from kcore.component.requests import Response, Subresource, Update
from kcore.component.workqueue import RateLimiter, Wake, WorkQueue, num_requeues, rate_limited
from kcore.controllers import expectations as exps
from kcore.controllers.expectations import Expectations, RequestsOut
from kcore.controllers.status import (
    Outcome,
    Sent,
    StatusWrites,
    emit_status,
    forget_owner,
    forget_status,
    status_answered,
    status_write_answered,
    write_status,
)
from tests.builders import a_replica_set, key

RS_KEY = key(Kind.REPLICA_SET, "web")
NONE: StatusWrites[ReplicaSetStatus] = StatusWrites()
FRESH = ReplicaSetStatus()
TWO = ReplicaSetStatus(replicas=2, observed_generation=1)


def stored(rv: int, status: ReplicaSetStatus = FRESH) -> ReplicaSet:
    rs = a_replica_set("web", replicas=2)
    return attrs.evolve(rs, metadata=attrs.evolve(rs.metadata, resource_version=rv), status=status)


def put(rs: ReplicaSet, status: ReplicaSetStatus) -> ReplicaSet:
    return attrs.evolve(rs, status=status)


def write(writes: StatusWrites[ReplicaSetStatus], rs: ReplicaSet, status: ReplicaSetStatus) -> tuple[StatusWrites[ReplicaSetStatus], Update | None]:
    return write_status(writes, RS_KEY, rs, status, current=rs.status, with_status=put)


def test_a_changed_status_is_written_through_the_status_subresource_and_is_pending() -> None:
    rs = stored(3)
    writes, update = write(NONE, rs, TWO)
    assert update == Update(obj=put(rs, TWO), subresource=Subresource.STATUS)
    assert writes == StatusWrites(pending=pmap({RS_KEY: Sent(status=TWO)}))


def test_an_unchanged_status_is_not_written() -> None:
    rs = stored(3, TWO)
    assert write(NONE, rs, TWO) == (NONE, None)


def test_no_second_write_while_one_is_unanswered_or_not_yet_in_the_view() -> None:
    rs = stored(3)
    writes, _ = write(NONE, rs, TWO)
    three = ReplicaSetStatus(replicas=3, observed_generation=1)
    assert write(writes, rs, three) == (writes, None)
    writes, outcome = status_answered(writes, RS_KEY, Response(code=200, body=stored(4, TWO)))
    assert (outcome, writes) == (Outcome.LANDED, StatusWrites(pending=pmap({RS_KEY: Sent(status=TWO, written_rv=4)})))
    assert write(writes, rs, three) == (writes, None)  # the view still shows revision 3
    writes, update = write(writes, stored(4, TWO), three)
    assert update is not None and writes.pending[RS_KEY] == Sent(status=three)


@pytest.mark.parametrize(
    ("code", "outcome"),
    [(409, Outcome.RESYNC), (404, Outcome.RETRY), (500, Outcome.RETRY)],
)
def test_a_refused_write_is_no_longer_pending_and_says_what_to_do(code: int, outcome: Outcome) -> None:
    writes, _ = write(NONE, stored(3), TWO)
    refused = Response(code=code, body=Status(message="no", reason=StatusReason.CONFLICT, code=code))
    assert status_answered(writes, RS_KEY, refused) == (NONE, outcome)


def test_a_gone_owner_has_nothing_pending() -> None:
    writes, _ = write(NONE, stored(3), TWO)
    assert forget_status(writes, RS_KEY) == NONE
    assert forget_status(NONE, RS_KEY) is NONE


# --- over a controller's state record -------------------------------------------------------

RETRY = RateLimiter(base_delay=1.0, max_delay=1.0)
TAG = ("status", RS_KEY)


@attrs.frozen(kw_only=True)
class Kit:
    """A controller state holding the kit's fields, and one of its own."""

    queue: WorkQueue = WorkQueue(kind=Kind.REPLICA_SET)
    expectations: Expectations = exps.NO_EXPECTATIONS
    requests_out: RequestsOut = pmap()
    status_writes: StatusWrites[ReplicaSetStatus] = StatusWrites()
    own: int = 0


def emit(s: Kit, rs: ReplicaSet, status: ReplicaSetStatus, available_at: float | None = None) -> tuple[Kit, tuple[object, ...]]:
    at = None if available_at is None else Time(available_at)
    return emit_status(s, RS_KEY, rs, status, current=rs.status, with_status=put, tag=TAG, available_at=at)


def test_emit_status_sends_the_changed_status_tagged_then_the_availability_wake_in_motion() -> None:
    rs = stored(3)
    s, effects = emit(Kit(), rs, TWO, available_at=8.0)
    assert effects == (
        CallApi(request=Update(obj=put(rs, TWO), subresource=Subresource.STATUS), tag=TAG),
        WakeMeAt(at=Time(8.0), key=RS_KEY, in_motion=True),
    )
    assert (s.status_writes.pending[RS_KEY], s.requests_out, s.queue.waiting[RS_KEY]) == (
        Sent(status=TWO), pmap({RS_KEY: 1}), Wake(at=Time(8.0), in_motion=True)
    )


def test_emit_status_with_nothing_to_write_or_wake_leaves_the_state_as_it_is() -> None:
    s = Kit(own=3)
    assert emit(s, stored(3, TWO), TWO) == (s, ())
    busy, _ = emit(s, stored(3), TWO)
    assert emit(busy, stored(3), ReplicaSetStatus(replicas=5)) == (busy, ())  # a write is out


@pytest.mark.parametrize(
    ("code", "resync", "failures", "wakes"),
    [
        (200, False, 0, ()),
        (409, True, 1, ()),
        (500, False, 2, (WakeMeAt(at=Time(11.0), key=RS_KEY, in_motion=False),)),
    ],
)
def test_status_write_answered_forgets_failures_resyncs_or_requeues_under_the_callers_limiter(
    code: int, resync: bool, failures: int, wakes: tuple[WakeMeAt, ...]
) -> None:
    queue, _ = rate_limited(WorkQueue(kind=Kind.REPLICA_SET), RS_KEY, Time(0.0), RETRY)
    s, _ = emit(Kit(queue=queue), stored(3), TWO)
    body: object = stored(4, TWO) if code == 200 else Status(message="no", reason=StatusReason.CONFLICT, code=code)
    after, again, asked = status_write_answered(s, RS_KEY, Response(code=code, body=body), Time(10.0), RETRY)  # type: ignore[arg-type]
    assert (again, num_requeues(after.queue, RS_KEY, RETRY), asked) == (resync, failures, wakes)
    assert (RS_KEY in after.status_writes.pending) is (code == 200)


def test_forget_owner_drops_expectations_the_status_write_and_failures_under_each_limiter() -> None:
    queue, _ = rate_limited(WorkQueue(kind=Kind.REPLICA_SET), RS_KEY, Time(0.0), RETRY)
    queue, _ = rate_limited(queue, RS_KEY, Time(0.0))
    s, _ = emit(Kit(queue=queue, expectations=exps.expect_creations(exps.NO_EXPECTATIONS, RS_KEY, 2, Time(0.0)), own=4), stored(3), TWO)
    gone = forget_owner(s, RS_KEY, RETRY)
    assert (gone.expectations, gone.status_writes, gone.own) == (exps.NO_EXPECTATIONS, NONE, 4)
    assert (num_requeues(gone.queue, RS_KEY, RETRY), num_requeues(gone.queue, RS_KEY)) == (0, 1)
