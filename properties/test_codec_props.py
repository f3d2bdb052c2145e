"""Codec laws for every kind: decode(encode(x)) == x; the encoding is JSON and stable."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kcore.api.codec import from_dict, to_dict
from kcore.api.kinds import Kind
from kcore.api.meta import ApiObject
from properties.strategies import any_object, objects


@pytest.mark.parametrize("kind", list(Kind), ids=lambda k: k.value)
@given(data=st.data())
def test_decoding_the_encoding_gives_back_the_object(kind: Kind, data: st.DataObject) -> None:
    obj = data.draw(objects(kind))
    decoded = from_dict(to_dict(obj))
    assert decoded.obj == obj
    assert decoded.warnings == ()


@given(any_object())
def test_the_encoding_is_json_that_survives_a_text_round_trip(obj: ApiObject) -> None:
    wire = to_dict(obj)
    text = json.dumps(wire)
    assert json.loads(text) == wire
    assert from_dict(json.loads(text)).obj == obj


@given(any_object())
def test_the_encoding_is_stable_and_starts_with_api_version_and_kind(obj: ApiObject) -> None:
    wire = to_dict(obj)
    assert list(wire)[:2] == ["apiVersion", "kind"]
    assert wire["kind"] == obj.KIND.value
    assert json.dumps(to_dict(from_dict(wire).obj)) == json.dumps(wire)
