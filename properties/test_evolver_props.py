"""`kcore.api.meta.evolver`: the generated copy functions equal `attrs.evolve`.

For every class the create path copies through a generated function (Pod, PodSpec,
Container, ObjectMeta), a generated object and a generated set of changes give exactly
the object `attrs.evolve` gives; an unknown field is a TypeError in both.
"""

from __future__ import annotations

import typing

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kcore.api.kinds import Kind
from kcore.api.meta import ObjectMeta, evolver
from kcore.api.pod import Container, Pod, PodSpec
from properties.strategies import for_type, object_meta, objects


def _changes(cls: type, data: st.DataObject) -> dict[str, object]:
    fields = attrs.fields(cls)
    chosen = data.draw(st.lists(st.sampled_from([f.name for f in fields]), unique=True, max_size=4))
    types = {f.name: f.type for f in fields}
    hints = typing.get_type_hints(cls)
    return {name: data.draw(for_type(hints.get(name, types[name]))) for name in chosen}


@settings(max_examples=60)
@given(data=st.data())
def test_a_generated_pod_copy_equals_attrs_evolve(data: st.DataObject) -> None:
    pod = data.draw(objects(Kind.POD))
    assert isinstance(pod, Pod)
    for cls, inst in ((Pod, pod), (PodSpec, pod.spec), (ObjectMeta, pod.metadata)):
        changes = _changes(cls, data)
        assert evolver(cls)(inst, **changes) == attrs.evolve(inst, **changes)  # type: ignore[misc]


@settings(max_examples=40)
@given(data=st.data())
def test_a_generated_container_copy_equals_attrs_evolve(data: st.DataObject) -> None:
    pod = data.draw(objects(Kind.POD))
    assert isinstance(pod, Pod)
    for c in pod.spec.containers:
        changes = _changes(Container, data)
        assert evolver(Container)(c, **changes) == attrs.evolve(c, **changes)


@given(meta=object_meta(Kind.POD))
def test_an_unknown_field_is_a_type_error_in_both(meta: ObjectMeta) -> None:
    with pytest.raises(TypeError):
        attrs.evolve(meta, no_such_field=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        evolver(ObjectMeta)(meta, no_such_field=1)
