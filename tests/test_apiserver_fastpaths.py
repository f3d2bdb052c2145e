"""The apiserver's fast paths answer exactly as the slow paths they skip.

- `storage.same_object` (identity-first field comparison) is `==`, and `spec_changed`
  is the comparison of the objects with metadata and status aligned; `storage.with_meta`
  (each kind's generated evolve) is `attrs.evolve`;
- `admission.pod_server_set_values` copies only the fields that take a stored value: the
  same answer as evolving the whole spec (`_reference_server_set_values`, the rule as
  upstream states it);
- `validation.validate_pod_update` skips the spec rules when the update carries the stored
  spec itself: the same errors as for an equal copy of it.
"""

from __future__ import annotations

import copy

import attrs
from hypothesis import given
from hypothesis import strategies as st

from kcore.api.kinds import Kind
from kcore.api.meta import ApiObject, Time
from kcore.api.pod import Pod, PodSpec, TaintEffect, Toleration
from kcore.api.validation.pod import validate_pod_update
from kcore.apiserver.admission import (
    DEFAULT_TOLERATION_SECONDS,
    TAINT_NOT_READY,
    TAINT_UNREACHABLE,
    Operation,
    Request,
    keep_resources,
    pod_server_set_values,
    tolerates,
)
from kcore.apiserver.storage import same_object, spec_changed, with_meta
from kcore.state import empty_state
from properties.strategies import any_object, objects
from tests.builders import a_container, a_pod

NOW = Time(1_700_000_000.0)


def _copy(obj: ApiObject) -> ApiObject:
    """An equal object that shares no field value with `obj` (identity shortcuts miss)."""
    return copy.deepcopy(obj)


def _reference_spec_changed(old: ApiObject, new: ApiObject) -> bool:
    if type(old) is not type(new):
        return True
    aligned = with_meta(new, old.metadata)
    if hasattr(old, "status"):
        aligned = attrs.evolve(aligned, status=old.status)  # type: ignore[misc]  # attrs instances
    return aligned != old


# --- storage ------------------------------------------------------------------------------------


@given(any_object(), any_object())
def test_same_object_is_equality_of_unrelated_objects(a: ApiObject, b: ApiObject) -> None:
    assert same_object(a, b) == (a == b)
    assert spec_changed(a, b) == _reference_spec_changed(a, b)


@given(any_object(), any_object())
def test_with_meta_is_attrs_evolve_for_every_kind(obj: ApiObject, other: ApiObject) -> None:
    """Each kind's generated evolve (`storage._EVOLVE_KIND`) builds what attrs.evolve builds."""
    got = with_meta(obj, other.metadata)
    want = attrs.evolve(obj, metadata=other.metadata)  # type: ignore[misc]  # attrs instances
    assert type(got) is type(want)
    assert got == want
    assert got.metadata is other.metadata


@given(st.data())
def test_same_object_is_equality_of_an_object_and_its_variants(data: st.DataObject) -> None:
    a = data.draw(any_object())
    other = data.draw(objects(a.KIND))
    # Share some fields by identity, copy or replace the others.
    changes = {}
    for f in attrs.fields(type(a)):  # type: ignore[arg-type]  # every kind is an attrs class
        how = data.draw(st.sampled_from(("same", "copy", "other")))
        if how == "copy":
            changes[f.name] = copy.deepcopy(getattr(a, f.name))
        elif how == "other":
            changes[f.name] = getattr(other, f.name)
    b = attrs.evolve(a, **changes)  # type: ignore[misc]  # attrs instances
    assert same_object(a, b) == (a == b)
    assert same_object(a, a) and same_object(a, _copy(a))
    assert spec_changed(a, b) == _reference_spec_changed(a, b)
    assert not spec_changed(a, a)


def test_an_update_that_keeps_the_spec_is_no_spec_change_and_a_new_image_is() -> None:
    pod = a_pod()
    relabelled = attrs.evolve(pod, metadata=attrs.evolve(pod.metadata, labels=pod.metadata.labels.set("a", "b")))
    assert not spec_changed(pod, relabelled) and not same_object(pod, relabelled)
    image = attrs.evolve(pod.spec.containers[0], image="nginx:2")
    assert spec_changed(pod, attrs.evolve(pod, spec=attrs.evolve(pod.spec, containers=(image,))))


# --- admission: PodServerSetValues ------------------------------------------------------------


def _reference_server_set_values(obj: Pod, old: Pod) -> Pod:
    """The plugin as it copied the whole spec (before the fast path)."""
    spec, was = obj.spec, old.spec
    defaults = tuple(
        t
        for t in was.tolerations
        if t.key in (TAINT_NOT_READY, TAINT_UNREACHABLE)
        and t.toleration_seconds == DEFAULT_TOLERATION_SECONDS
        and not tolerates(spec.tolerations, t.key)
    )
    old_containers = {c.name: c for c in (*was.containers, *was.init_containers)}
    new_spec = attrs.evolve(
        spec,
        node_name=spec.node_name or was.node_name,
        service_account_name=spec.service_account_name or was.service_account_name,
        service_account=spec.service_account or was.service_account,
        priority=was.priority if spec.priority is None else spec.priority,
        preemption_policy=spec.preemption_policy or was.preemption_policy,
        tolerations=spec.tolerations + defaults,
        containers=tuple(keep_resources(c, old_containers.get(c.name)) for c in spec.containers),
        init_containers=tuple(
            keep_resources(c, old_containers.get(c.name)) for c in spec.init_containers
        ),
    )
    return obj if new_spec == spec else attrs.evolve(obj, spec=new_spec)


_tolerations = st.lists(
    st.builds(
        Toleration,
        key=st.sampled_from((TAINT_NOT_READY, TAINT_UNREACHABLE, "", "other")),
        effect=st.sampled_from((None, TaintEffect.NO_EXECUTE, TaintEffect.NO_SCHEDULE)),
        toleration_seconds=st.sampled_from((None, DEFAULT_TOLERATION_SECONDS, 5)),
    ),
    max_size=3,
).map(tuple)


def _pod_specs() -> st.SearchStrategy[PodSpec]:
    return st.builds(
        lambda pod, node, sa, priority, tolerations, drop_resources: attrs.evolve(
            pod.spec,
            node_name=node,
            service_account_name=sa,
            service_account=sa,
            priority=priority,
            tolerations=tolerations,
            containers=tuple(
                attrs.evolve(c, resources=attrs.evolve(c.resources, requests=c.resources.requests.discard("cpu")))
                if drop_resources
                else c
                for c in pod.spec.containers
            ),
        ),
        objects(Kind.POD).filter(lambda p: isinstance(p, Pod)).map(lambda p: p if isinstance(p, Pod) else Pod()),
        st.sampled_from(("", "node-1")),
        st.sampled_from(("", "default", "robot")),
        st.none() | st.integers(0, 10),
        _tolerations,
        st.booleans(),
    )


@given(st.data())
def test_server_set_values_answers_as_copying_the_whole_spec(data: st.DataObject) -> None:
    old_spec = data.draw(_pod_specs())
    new_spec = data.draw(st.sampled_from(("same", "copy", "other")))
    old = attrs.evolve(a_pod(), spec=old_spec)
    if new_spec == "same":
        new = old
    elif new_spec == "copy":
        new = attrs.evolve(old, spec=copy.deepcopy(old_spec))
    else:
        new = attrs.evolve(old, spec=data.draw(_pod_specs()))
    req = Request(state=empty_state(), op=Operation.UPDATE, old=old, now=NOW)
    assert pod_server_set_values(req, new) == _reference_server_set_values(new, old)


def test_a_status_update_keeps_the_pod_itself() -> None:
    old = a_pod()
    new = attrs.evolve(old, status=attrs.evolve(old.status, pod_ip="10.0.0.1"))
    req = Request(state=empty_state(), op=Operation.UPDATE, old=old, now=NOW)
    assert pod_server_set_values(req, new) is new


def test_an_update_without_the_node_name_keeps_the_bound_node() -> None:
    old = a_pod(node_name="node-1")
    new = attrs.evolve(old, spec=attrs.evolve(old.spec, node_name=""))
    req = Request(state=empty_state(), op=Operation.UPDATE, old=old, now=NOW)
    result = pod_server_set_values(req, new)
    assert isinstance(result, Pod) and result.spec == old.spec


# --- validation --------------------------------------------------------------------------------


@given(objects(Kind.POD), st.booleans())
def test_validating_an_update_with_the_stored_spec_equals_with_a_copy(obj: ApiObject, relabel: bool) -> None:
    assert isinstance(obj, Pod)
    new = obj
    if relabel:
        new = attrs.evolve(obj, metadata=attrs.evolve(obj.metadata, labels=obj.metadata.labels.set("x", "y")))
    copied = attrs.evolve(new, spec=copy.deepcopy(obj.spec))
    assert new.spec is obj.spec and copied.spec is not obj.spec
    assert validate_pod_update(new, obj) == validate_pod_update(copied, obj)


def test_a_pod_update_with_the_stored_spec_still_reports_its_metadata_errors() -> None:
    old = a_pod(containers=(a_container(),))
    renamed = attrs.evolve(old, metadata=attrs.evolve(old.metadata, name="other"))
    errors = validate_pod_update(renamed, old)
    assert [e.path for e in errors] == ["metadata.name"]
