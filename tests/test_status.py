"""One status write in flight per owner (`kcore.controllers.status`)."""

from __future__ import annotations

import attrs
import pytest
from pyrsistent import pmap

from kcore.api.apps import ReplicaSet, ReplicaSetStatus
from kcore.api.kinds import Kind
from kcore.api.meta import Status, StatusReason
from kcore.component.requests import Response, Subresource, Update
from kcore.controllers.status import (
    Outcome,
    Sent,
    StatusWrites,
    forget_status,
    status_answered,
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
