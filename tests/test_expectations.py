"""Controller expectations (`kcore.controllers.expectations`): what an owner waits to see,
when it may act again, and what a relist keeps."""

from __future__ import annotations

from pyrsistent import pmap, pset

from kcore.api.kinds import Kind
from kcore.api.meta import Time
from kcore.controllers import expectations as exps
from kcore.controllers.expectations import Expectation, Expectations
from tests.builders import T0, key

RS_KEY = key(Kind.REPLICA_SET, "web")
OTHER = key(Kind.REPLICA_SET, "api")
A, B = key(Kind.POD, "a"), key(Kind.POD, "b")


def test_expectations_track_creations_by_count_and_deletions_by_key() -> None:
    e = exps.expect_creations(exps.NO_EXPECTATIONS, RS_KEY, 2, T0)
    assert not exps.satisfied(e, RS_KEY, T0)
    e = exps.creation_observed(exps.creation_observed(e, RS_KEY), RS_KEY)
    assert exps.satisfied(e, RS_KEY, T0)
    e = exps.expect_deletions(e, RS_KEY, [A, B], T0)
    e = exps.deletion_observed(exps.deletion_observed(e, RS_KEY, A), RS_KEY, A)
    assert not exps.satisfied(e, RS_KEY, T0)
    assert exps.satisfied(e, RS_KEY, Time(T0 + 300.5))  # expired after 5 minutes
    assert exps.satisfied(exps.deletion_observed(e, RS_KEY, B), RS_KEY, T0)
    assert exps.forget(e, RS_KEY) == exps.NO_EXPECTATIONS


def test_expect_sets_creations_and_deletions_in_one_record_replacing_the_old_one() -> None:
    e = exps.expect_creations(exps.NO_EXPECTATIONS, RS_KEY, 5, T0)
    e = exps.expect(e, RS_KEY, add=1, deletes=[A], now=Time(T0 + 1))
    assert e == Expectations(by_owner=pmap({RS_KEY: Expectation(add=1, deletes=pset([A]), since=Time(T0 + 1))}))
    e = exps.deletion_observed(exps.creation_observed(e, RS_KEY), RS_KEY, A)
    assert exps.satisfied(e, RS_KEY, Time(T0 + 1))


def test_a_deletion_seen_lowers_every_owner_waiting_for_the_pod() -> None:
    e = exps.expect(exps.NO_EXPECTATIONS, RS_KEY, deletes=[A], now=T0)
    e = exps.expect(e, OTHER, deletes=[A, B], now=T0)
    e = exps.deletion_observed_anywhere(e, A)
    assert exps.satisfied(e, RS_KEY, T0)
    assert e.by_owner[OTHER] == Expectation(deletes=pset([B]), since=T0)


def test_keep_only_keeps_the_records_of_the_owners_named() -> None:
    e = exps.expect_creations(exps.expect_creations(exps.NO_EXPECTATIONS, RS_KEY, 1, T0), OTHER, 2, T0)
    assert exps.keep_only(e, pmap({OTHER: 1})) == Expectations(by_owner=pmap({OTHER: Expectation(add=2, since=T0)}))
    assert exps.keep_only(e, {RS_KEY, OTHER}) == e
    assert exps.keep_only(e, ()) == exps.NO_EXPECTATIONS


def test_requests_out_count_per_owner_and_drop_an_owner_with_none_left() -> None:
    out = exps.requests_sent(exps.requests_sent(pmap(), RS_KEY, 3), OTHER)
    assert out == pmap({RS_KEY: 3, OTHER: 1})
    out = exps.request_answered(exps.request_answered(out, OTHER), RS_KEY)
    assert out == pmap({RS_KEY: 2})
    assert exps.requests_sent(out, OTHER, 0) is out
