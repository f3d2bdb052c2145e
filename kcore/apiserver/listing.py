"""Reads: get, list with label and field selectors.

Owns the field sets each kind exposes to field selectors (upstream's per-kind
`GetAttrs`/`ToSelectableFields`) and the list response. Every kind selects on
metadata.name and metadata.namespace; the others are listed in `_FIELDS`. A selector on
any other field is a 400 BadRequest `field label not supported: <field>`, as upstream's
conversion funcs answer.

Rules: a list in one namespace walks that namespace's index, an all-namespaces list the
kind's table; the items come sorted by (namespace, name); the list's resourceVersion is
the current revision.

Mirrors pkg/registry/core/pod/strategy.go (ToSelectableFields), node, event, secret and
namespace strategies, and pkg/apis/core/v1/conversion.go (the supported field labels).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final

from kcore.api.core import Event, Namespace, Node, ResourceQuota, Secret
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ApiObject, Time
from kcore.api.pod import Pod
from kcore.apiserver import errors
from kcore.apiserver.admission import quota_status
from kcore.component.requests import ObjectList, Response
from kcore.labels import SelectorParseError, parse_field_selector, parse_selector
from kcore.state import ClusterState, get, list_objects


def _pod_fields(obj: ApiObject) -> dict[str, str]:
    assert isinstance(obj, Pod)
    s = obj.spec
    st = obj.status
    return {
        "spec.nodeName": s.node_name,
        "spec.restartPolicy": s.restart_policy.value,
        "spec.schedulerName": s.scheduler_name,
        "spec.serviceAccountName": s.service_account_name,
        "spec.hostNetwork": "true" if s.host_network else "false",
        "status.phase": st.phase.value if st.phase is not None else "",
        "status.podIP": st.pod_ip,
        "status.nominatedNodeName": st.nominated_node_name,
    }


def _node_fields(obj: ApiObject) -> dict[str, str]:
    assert isinstance(obj, Node)
    return {"spec.unschedulable": "true" if obj.spec.unschedulable else "false"}


def _event_fields(obj: ApiObject) -> dict[str, str]:
    assert isinstance(obj, Event)
    io = obj.involved_object
    return {
        "involvedObject.kind": io.kind,
        "involvedObject.namespace": io.namespace,
        "involvedObject.name": io.name,
        "involvedObject.uid": io.uid,
        "involvedObject.apiVersion": io.api_version,
        "involvedObject.resourceVersion": io.resource_version,
        "involvedObject.fieldPath": io.field_path,
        "reason": obj.reason,
        "reportingComponent": obj.reporting_component,
        "source": obj.source.component or obj.reporting_component,
        "type": obj.type,
    }


def _secret_fields(obj: ApiObject) -> dict[str, str]:
    assert isinstance(obj, Secret)
    return {"type": obj.type}


def _namespace_fields(obj: ApiObject) -> dict[str, str]:
    assert isinstance(obj, Namespace)
    return {"status.phase": obj.status.phase.value}


_FIELDS: Final[Mapping[Kind, tuple[frozenset[str], Callable[[ApiObject], dict[str, str]]]]] = {
    Kind.POD: (
        frozenset(
            {
                "spec.nodeName",
                "spec.restartPolicy",
                "spec.schedulerName",
                "spec.serviceAccountName",
                "spec.hostNetwork",
                "status.phase",
                "status.podIP",
                "status.nominatedNodeName",
            }
        ),
        _pod_fields,
    ),
    Kind.NODE: (frozenset({"spec.unschedulable"}), _node_fields),
    Kind.EVENT: (
        frozenset(
            {
                "involvedObject.kind",
                "involvedObject.namespace",
                "involvedObject.name",
                "involvedObject.uid",
                "involvedObject.apiVersion",
                "involvedObject.resourceVersion",
                "involvedObject.fieldPath",
                "reason",
                "reportingComponent",
                "source",
                "type",
            }
        ),
        _event_fields,
    ),
    Kind.SECRET: (frozenset({"type"}), _secret_fields),
    Kind.NAMESPACE: (frozenset({"status.phase"}), _namespace_fields),
}

_META_FIELDS: Final = frozenset({"metadata.name", "metadata.namespace"})


def selectable_fields(obj: ApiObject) -> dict[str, str]:
    """The field set a field selector reads for `obj`."""
    m = obj.metadata
    fields = {"metadata.name": m.name, "metadata.namespace": m.namespace}
    extra = _FIELDS.get(obj.KIND)
    if extra is not None:
        fields.update(extra[1](obj))
    return fields


def get_object(state: ClusterState, key: ObjectKey, now: Time) -> Response:
    """GET one object: 200 with it, or 404."""
    obj = get(state, key if key.kind.info.namespaced else ObjectKey(kind=key.kind, namespace="", name=key.name))
    if obj is None:
        s = errors.not_found(key)
        return Response(code=s.code, body=s)
    return Response(code=200, body=_as_read(state, obj, now))


def _as_read(state: ClusterState, obj: ApiObject, now: Time) -> ApiObject:
    """What a read returns: a ResourceQuota with its status filled in from the usage index
    (kcore has no quota controller to store it; see docs/semantics.md)."""
    if isinstance(obj, ResourceQuota):
        return quota_status(state, obj, now)
    return obj


def list_response(
    state: ClusterState,
    kind: Kind,
    namespace: str | None,
    label_selector: str,
    field_selector: str,
    now: Time,
) -> Response:
    """LIST: the matching objects sorted by (namespace, name), at the current revision."""
    try:
        labels = parse_selector(label_selector)
        fields = parse_field_selector(field_selector)
    except SelectorParseError as e:
        s = errors.bad_request(str(e))
        return Response(code=s.code, body=s)
    supported = _META_FIELDS | (_FIELDS[kind][0] if kind in _FIELDS else frozenset())
    for r in fields.requirements:
        if r.field not in supported:
            s = errors.bad_request(f"field label not supported: {r.field}")
            return Response(code=s.code, body=s)
    scope = namespace if kind.info.namespaced else None
    items = list_objects(state, kind, scope)
    if not labels.is_empty():
        items = tuple(o for o in items if labels.matches(o.metadata.labels))
    if not fields.is_empty():
        items = tuple(o for o in items if fields.matches(selectable_fields(o)))
    if kind is Kind.RESOURCE_QUOTA:
        items = tuple(_as_read(state, o, now) for o in items)
    body = ObjectList(kind=kind, items=items, resource_version=state.revision)
    return Response(code=200, body=body)
