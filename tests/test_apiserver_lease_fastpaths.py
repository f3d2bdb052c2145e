"""The fast paths a Lease renewal takes answer exactly as the slow paths they skip.

A renewal (the kubelet's `Update` of its Lease carrying the stored metadata, only
spec.renewTime new) once paid for: the authorizer's request attributes (a system:masters
user), copying the server-owned metadata fields it already carries, NamespaceLifecycle
(which passes every update), validating the update of the very stored metadata, an
isinstance test per kind before Lease's validation, two metadata copies for the
generation and the resourceVersion, and a second no-op comparison after a spec change.
Each test below pins one skip against the code it replaced (`_reference_*`, as it was),
and `test_lease_updates_answer_as_the_reference_path` the whole update against it.
"""

from __future__ import annotations

import copy
import math

import attrs
from hypothesis import given
from hypothesis import strategies as st
from pyrsistent import pmap

from kcore.api.coordination import Lease, LeaseSpec
from kcore.api.core import (
    ConfigMap,
    Namespace,
    PersistentVolumeClaim,
    ResourceQuota,
    ResourceQuotaSpec,
    Service,
)
from kcore.api.defaults import apply_defaults
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ApiObject, MicroTime, ObjectMeta, OwnerReference, Status, Time
from kcore.api.pod import Pod
from kcore.api.registry import CLASSES
from kcore.api.user import ADMIN, UserInfo
from kcore.api.validation import RULES, validate
from kcore.api.validation.meta import validate_object_meta_update, validate_owner_references
from kcore.api.watch import WatchType
from kcore.apiserver import errors
from kcore.apiserver.admission import (
    CHAINS,
    OP_CHAINS,
    PLUGINS,
    Admitted,
    Operation,
    Request,
)
from kcore.apiserver.auth import MASTERS
from kcore.apiserver.server import authorize_request, handle
from kcore.apiserver.storage import (
    Outcome,
    commit,
    commit_delete,
    defaults_of,
    fail,
    pending_finalizers,
    prepare_update,
    same_object,
    scoped_key,
    spec_changed,
    with_meta,
)
from kcore.component.requests import Create, Delete, Get, ListObjects, Response, Subresource, Update
from kcore.quantity import parse_quantity
from kcore.state import ClusterState, empty_state, get, list_objects, lookup, put
from kcore.state_quota import charges, fixed_charges, same_charges, scope_of
from kcore.util_validation import FieldError, child, invalid
from properties.strategies import any_object, object_meta, objects, owner_references
from tests.builders import cluster_with
from tests.test_admission import _instance

NOW = Time(1_700_000_000.0)
NAMESPACE = "kube-node-lease"


# --- the references: the code as it was -------------------------------------------------------


def _reference_prepare_update(old: ApiObject, new: ApiObject) -> ApiObject:
    """prepare_update of the main resource, always copying the server-owned fields."""
    om = old.metadata
    meta = attrs.evolve(
        new.metadata,
        namespace=om.namespace,
        uid=om.uid,
        resource_version=om.resource_version,
        creation_timestamp=om.creation_timestamp,
        deletion_timestamp=om.deletion_timestamp,
        deletion_grace_period_seconds=om.deletion_grace_period_seconds,
        generate_name=om.generate_name,
        generation=om.generation,
    )
    new = with_meta(new, meta)
    if old.KIND.info.has_status and hasattr(old, "status"):
        new = attrs.evolve(new, status=old.status)  # type: ignore[misc]  # checked above
    if isinstance(old, Namespace) and isinstance(new, Namespace) and old.metadata.deletion_timestamp is None:
        new = attrs.evolve(new, spec=old.spec)
    return new


def _reference_validate(obj: ApiObject, old: ApiObject | None) -> tuple[FieldError, ...]:
    """validate as the ordered class match it was."""
    for cls, rule in RULES:
        if isinstance(obj, cls):
            return rule(obj, old)
    raise AssertionError(type(obj))


def _reference_admit(state: ClusterState, op: Operation, obj: ApiObject, old: ApiObject | None) -> Admitted | Status:
    """Every plugin in order, none left out."""
    req = Request(state=state, op=op, old=old, now=NOW)
    for plugin in PLUGINS:
        result = plugin(req, obj)
        if isinstance(result, Status):
            return result
        obj = result
    return Admitted(obj=obj)


def _reference_write_update(state: ClusterState, old: ApiObject, new: ApiObject) -> Outcome:
    """write_update with its two no-op checks and two metadata copies."""
    if same_object(new, old):
        return state, Response(code=200, body=old), ()
    admitted = _reference_admit(state, Operation.UPDATE, new, old)
    if isinstance(admitted, Status):
        return fail(state, admitted)
    new = admitted.obj
    if spec_changed(old, new):
        new = with_meta(new, attrs.evolve(new.metadata, generation=old.metadata.generation + 1))
    if same_object(new, old):
        return state, Response(code=200, body=old), ()
    nm = new.metadata
    if nm.deletion_timestamp is not None and nm.deletion_grace_period_seconds in (None, 0) and not pending_finalizers(new):
        state, final, event = commit_delete(state, new)
        return state, Response(code=200, body=final), (event,)
    state, stored, event = commit(state, new, WatchType.MODIFIED)
    return state, Response(code=200, body=stored), (event,)


def _reference_update(state: ClusterState, request: Update) -> Outcome:
    denied = authorize_request(state, request)
    if denied is not None:
        return fail(state, denied)
    obj = request.obj
    key = scoped_key(obj)
    if isinstance(key, Status):
        return fail(state, key)
    old = get(state, key)
    if old is None:
        return fail(state, errors.not_found(key))
    m, om = obj.metadata, old.metadata
    if m.resource_version and m.resource_version != om.resource_version:
        return fail(state, errors.stale(key))
    if m.uid and m.uid != om.uid:
        why = f"Precondition failed: UID in precondition: {m.uid}, UID in object meta: {om.uid}"
        return fail(state, errors.conflict(key, why))
    return _reference_write_update(state, old, _reference_prepare_update(old, apply_defaults(obj)))


# --- the whole renewal -----------------------------------------------------------------------


def _leases(n: int) -> tuple[ClusterState, tuple[Lease, ...]]:
    state = cluster_with(namespaces=("default", NAMESPACE))
    stored: list[Lease] = []
    for i in range(n):
        lease = Lease(
            metadata=ObjectMeta(
                name=f"node-{i}",
                namespace=NAMESPACE,
                owner_references=(OwnerReference(api_version="v1", kind="Node", name=f"node-{i}", uid=f"uid-{i}"),),
            ),
            spec=LeaseSpec(holder_identity=f"node-{i}", lease_duration_seconds=40, renew_time=MicroTime(NOW)),
        )
        state, response, _ = handle(state, Create(obj=lease), NOW)
        assert isinstance(response.body, Lease)
        stored.append(response.body)
    return state, tuple(stored)


_BASE, _STORED = _leases(2)
# The same Leases in a namespace with a ResourceQuota counting them: the usage index holds
# the namespace, so every write goes through the quota checks and `recharge`.
_QUOTED = handle(
    _BASE,
    Create(
        obj=ResourceQuota(
            metadata=ObjectMeta(name="q", namespace=NAMESPACE),
            spec=ResourceQuotaSpec(hard=pmap({"count/leases.coordination.k8s.io": parse_quantity("3")})),
        )
    ),
    NOW,
)[0]
assert NAMESPACE in _QUOTED.quota_usage

_USERS = st.sampled_from(
    (
        ADMIN,
        UserInfo(name="system:node:node-0", groups=("system:nodes", "system:authenticated")),
        UserInfo(name="root", groups=(MASTERS,)),
    )
)


@st.composite
def _lease_updates(draw: st.DrawFn) -> Update:
    lease = draw(st.sampled_from(_STORED))
    spec = lease.spec
    meta = lease.metadata
    for change in draw(st.lists(st.integers(0, 11), max_size=3)):
        if change == 0:
            spec = attrs.evolve(spec, renew_time=MicroTime(NOW + draw(st.integers(0, 30))))
        elif change == 1:
            spec = attrs.evolve(spec, lease_duration_seconds=draw(st.sampled_from((None, 0, -1, 40))))
        elif change == 2:
            spec = attrs.evolve(spec, holder_identity=draw(st.sampled_from((None, "node-0", "other"))))
        elif change == 3:
            meta = copy.deepcopy(meta)  # equal, nothing shared
        elif change == 4:
            meta = attrs.evolve(meta, labels=meta.labels.set("k", draw(st.sampled_from(("v", "bad value")))))
        elif change == 5:
            meta = attrs.evolve(meta, resource_version=draw(st.sampled_from((0, 1, meta.resource_version))))
        elif change == 6:
            meta = attrs.evolve(meta, uid=draw(st.sampled_from(("", "other", meta.uid))))
        elif change == 7:
            meta = attrs.evolve(meta, generation=draw(st.integers(0, 3)), creation_timestamp=None)
        elif change == 8:
            meta = attrs.evolve(meta, finalizers=("example.com/f",), deletion_timestamp=Time(NOW))
        elif change == 9:
            meta = attrs.evolve(meta, owner_references=(*meta.owner_references, *draw(st.lists(owner_references(), max_size=2))))
        elif change == 10:
            meta = attrs.evolve(meta, name=draw(st.sampled_from(("node-0", "node-1", "missing"))))
        else:
            meta = attrs.evolve(meta, namespace=draw(st.sampled_from(("", "default", NAMESPACE))))
    obj = attrs.evolve(lease, metadata=meta, spec=spec)
    return Update(obj=obj, user=draw(_USERS))


@given(st.lists(_lease_updates(), min_size=1, max_size=4), st.booleans())
def test_lease_updates_answer_as_the_reference_path(requests: list[Update], quota: bool) -> None:
    """Renewals, no-ops, invalid, misaddressed and conflicting updates, by masters and RBAC
    users, with and without a quota: the same state, response and watch events as the
    path without the fast paths."""
    fast = slow = _QUOTED if quota else _BASE
    for request in requests:
        fast, fast_response, fast_events = handle(fast, request, NOW)
        slow, slow_response, slow_events = _reference_update(slow, request)
        assert fast_response == slow_response
        assert fast_events == slow_events
        assert fast == slow
        assert fast.quota_usage == _recounted(fast).quota_usage


def test_a_renewal_carrying_the_stored_metadata_stores_one_new_revision() -> None:
    lease = _STORED[0]
    renewed = attrs.evolve(lease, spec=attrs.evolve(lease.spec, renew_time=MicroTime(NOW + 10)))
    state, response, events = handle(_BASE, Update(obj=renewed), NOW)
    assert response.code == 200 and isinstance(response.body, Lease)
    m = response.body.metadata
    assert m.resource_version == _BASE.revision + 1
    assert m.generation == lease.metadata.generation + 1
    assert response.body.spec == renewed.spec
    assert [e.type for e in events] == [WatchType.MODIFIED] and events[0].obj is response.body
    assert state == _reference_update(_BASE, Update(obj=renewed))[0]


def _recounted(state: ClusterState) -> ClusterState:
    """The same objects put one by one into an empty state: every index built from scratch."""
    rebuilt = empty_state(state.config)
    for kind in Kind:
        for obj in list_objects(state, kind):
            rebuilt = put(rebuilt, obj)
    return rebuilt


# --- state: charges and put -----------------------------------------------------------------


@given(st.data())
def test_same_charges_means_the_same_charges(data: st.DataObject) -> None:
    a = data.draw(any_object())
    b = data.draw(st.one_of(objects(a.KIND), any_object(), st.just(copy.deepcopy(a))))
    if same_charges(a, b):
        assert charges(a, NOW) == charges(b, NOW)
        assert fixed_charges(a) == fixed_charges(b)
        assert scope_of(a) == scope_of(b)
    if type(a) is type(b) and not isinstance(a, (Pod, Service, PersistentVolumeClaim)):
        assert same_charges(a, b)


@given(st.lists(st.tuples(st.sampled_from(("node-0", "node-1", "cm")), st.integers(0, 3), st.booleans()), max_size=12), st.booleans())
def test_put_of_objects_charging_their_kind_alone_keeps_the_indexes_of_a_recount(
    writes: list[tuple[str, int, bool]], quota: bool
) -> None:
    """Leases and ConfigMaps rewritten with new contents, labels and owners, with and without
    a quota in their namespace: the indexes equal a from-scratch build after every put."""
    state = _QUOTED if quota else _BASE
    for name, n, owned in writes:
        refs = (OwnerReference(api_version="v1", kind="Node", name="n", uid=f"u{n}"),) if owned else ()
        meta = ObjectMeta(name=name, namespace=NAMESPACE, labels=pmap({"n": str(n)}), owner_references=refs)
        obj: ApiObject = (
            ConfigMap(metadata=meta, data=pmap({"n": str(n)}))
            if name == "cm"
            else Lease(metadata=meta, spec=LeaseSpec(renew_time=MicroTime(NOW + n)))
        )
        state = put(state, obj)
        assert lookup(state, obj.KIND, NAMESPACE, name) is obj
        assert get(state, ObjectKey(kind=obj.KIND, namespace=NAMESPACE, name=name)) is obj
        scratch = _recounted(state)
        assert state.quota_usage == scratch.quota_usage
        assert state.keys_by_namespace == scratch.keys_by_namespace
        assert state.dependents_by_owner_uid == scratch.dependents_by_owner_uid
    assert lookup(state, Kind.LEASE, NAMESPACE, "absent") is None
    assert lookup(state, Kind.JOB, NAMESPACE, "node-0") is None


# --- update: defaulting by class ------------------------------------------------------------


@given(any_object())
def test_defaults_by_class_are_apply_defaults(obj: ApiObject) -> None:
    assert defaults_of(obj) == apply_defaults(obj)


# --- prepare_update: the server-owned fields -----------------------------------------------------


@given(st.data())
def test_prepare_update_equals_copying_the_server_owned_fields(data: st.DataObject) -> None:
    old = data.draw(any_object())
    new = data.draw(objects(old.KIND))
    meta = old.metadata
    changes = {}
    for f in attrs.fields(ObjectMeta):
        how = data.draw(st.sampled_from(("same", "copy", "other")))
        if how == "copy":
            changes[f.name] = copy.deepcopy(getattr(meta, f.name))
        elif how == "other":
            changes[f.name] = getattr(new.metadata, f.name)
    new = with_meta(new, attrs.evolve(meta, **changes))
    got = prepare_update(old, new, Subresource.NONE)
    want = _reference_prepare_update(old, new)
    assert got == want


def test_prepare_update_copies_a_server_owned_value_equal_only_across_types() -> None:
    old = _STORED[0]
    meta = attrs.evolve(old.metadata, generation=True)  # True == 1, yet not the stored value
    assert old.metadata.generation == 1
    got = prepare_update(old, attrs.evolve(old, metadata=meta), Subresource.NONE)
    assert type(got.metadata.generation) is int


# --- admission: the per-operation chains --------------------------------------------------------


def test_each_operation_chain_drops_only_plugins_that_pass_it_unchanged() -> None:
    """Each plugin left out of a (kind, operation) chain returns the object itself for that
    operation, with and without an old object, and the chains keep `CHAINS`' order."""
    state = cluster_with()
    for cls in CLASSES.values():
        obj = _instance(cls)
        for op in Operation:
            chain = OP_CHAINS[cls, op]
            assert [p for p in CHAINS[cls] if p in chain] == list(chain)
            for plugin in CHAINS[cls]:
                if plugin in chain:
                    continue
                for old in (None, obj):
                    req = Request(state=state, op=op, old=old, now=NOW)
                    assert plugin(req, obj) is obj, (cls, plugin, op)
    assert [p.__name__ for p in OP_CHAINS[Lease, Operation.UPDATE]] == ["validation", "resource_quota"]


# --- validation ------------------------------------------------------------------------------


def test_no_class_in_the_rules_subclasses_one_listed_before_it() -> None:
    """So the lookup by class picks what the ordered isinstance tries pick."""
    classes = [cls for cls, _ in RULES]
    for i, cls in enumerate(classes):
        assert not any(issubclass(cls, earlier) for earlier in classes[:i]), cls
    assert set(CLASSES.values()) <= set(classes)


@given(any_object(), st.none() | any_object())
def test_validate_by_class_equals_the_ordered_tries(obj: ApiObject, other: ApiObject | None) -> None:
    for old in (None, other, obj, copy.deepcopy(obj)):
        assert validate(obj, old) == _reference_validate(obj, old)


@given(st.sampled_from(list(Kind)).flatmap(object_meta))
def test_the_stored_metadata_itself_is_an_unchanged_update(meta: ObjectMeta) -> None:
    assert validate_object_meta_update(meta, meta) == validate_object_meta_update(copy.deepcopy(meta), meta)


def test_a_nan_creation_timestamp_still_differs_from_itself() -> None:
    meta = ObjectMeta(name="a", creation_timestamp=Time(math.nan))
    assert [e.path for e in validate_object_meta_update(meta, meta)] == ["metadata.creationTimestamp"]


def _reference_owner_references(refs: tuple[OwnerReference, ...], path: str) -> list[FieldError]:
    found: list[FieldError] = []
    for ref in refs:
        for name, value, what in (
            ("apiVersion", ref.api_version, "version"),
            ("kind", ref.kind, "kind"),
            ("name", ref.name, "name"),
            ("uid", ref.uid, "uid"),
        ):
            if not value:
                found.append(invalid(child(path, name), value, f"{what} must not be empty"))
    return found


_refs = st.lists(
    st.builds(
        OwnerReference,
        api_version=st.sampled_from(("", "v1")),
        kind=st.sampled_from(("", "Node")),
        name=st.sampled_from(("", "n")),
        uid=st.sampled_from(("", "u")),
        controller=st.none() | st.booleans(),
    )
    | owner_references(),
    max_size=4,
).map(tuple)


@given(_refs)
def test_owner_references_that_pass_at_a_glance_have_no_errors(refs: tuple[OwnerReference, ...]) -> None:
    got = validate_owner_references(refs, "metadata.ownerReferences")
    want = _reference_owner_references(refs, "metadata.ownerReferences")
    controllers = sum(1 for r in refs if r.controller)
    assert list(got[: len(want)]) == want
    assert len(got) == len(want) + (controllers > 1)


# --- authorization ----------------------------------------------------------------------------


@given(_USERS)
def test_masters_skip_only_what_authorize_would_allow(user: UserInfo) -> None:
    for request in (
        Get(key=scoped_key(_STORED[0]), user=user),  # type: ignore[arg-type]
        ListObjects(kind=Kind.LEASE, namespace=NAMESPACE, user=user),
        Delete(key=scoped_key(_STORED[1]), user=user),  # type: ignore[arg-type]
    ):
        denied = authorize_request(_BASE, request)
        if MASTERS in user.groups:
            assert denied is None
        _, response, _ = handle(_BASE, request, NOW)
        assert (response.code == 403) == (denied is not None)
