"""Ingress routing as an ingress controller serves it: which backend one HTTP request
reaches, by its Host header and path, through every Ingress of the controller's class.

Owns `IngressRoute` (the answer: the backend, the Ingress and rule that chose it, or why
none did), `served_ingresses` (the Ingresses a controller of a class serves),
`host_matches`, `path_matches` and `route_http`.

Rules (the Ingress page of kubernetes.io; merging and conflicts as ingress-nginx):
- A controller serves the Ingresses naming its class, and those naming none when its
  class is the cluster's default (`ingressclass.kubernetes.io/is-default-class: "true"`);
  an Ingress naming another class is left alone.
- Host: a rule's host matches the request's Host (port stripped, case-insensitive)
  exactly, or as a wildcard `*.example.com` one label deep (`a.example.com`, not
  `example.com` nor `a.b.example.com`); a rule without host matches any Host. Exact
  hosts win over wildcards, wildcards over rules without host.
- Path: Exact matches the path exactly; Prefix element-wise on `/`-separated elements
  (`/foo` matches `/foo`, `/foo/` and `/foo/bar`, not `/foobar`; a trailing `/` is
  ignored); ImplementationSpecific as a plain string prefix (ingress-nginx without regex).
  Among the paths of the chosen host that match, the longest wins; for the same path
  Exact beats Prefix (the documentation's table).
- Several Ingresses for one host are merged into one server; a path claimed twice goes
  to the oldest Ingress (creation time, then namespace/name).
- Nothing matched: the defaultBackend of the oldest served Ingress that has one, else
  404. A resource backend is answered as not routable (503).

Must not know: pods, endpoints, proxies (the routing model follows the backend Service
further). Pure.

Mirrors k8s.io/api/networking/v1 semantics and ingress-nginx's server/location building
(internal/ingress/controller/controller.go createServers, location ordering).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import attrs

from kcore.api.kinds import Kind, ObjectKey
from kcore.api.networking import (
    ANNOTATION_DEFAULT_INGRESS_CLASS,
    HTTPIngressPath,
    Ingress,
    IngressBackend,
    IngressClass,
    PathType,
)
from kcore.state import ClusterState, get, list_objects


@attrs.frozen(kw_only=True)
class IngressRoute:
    """Where one request goes: `backend` with the Ingress (namespace/name), host rule and
    path that chose it, or `backend` None with the HTTP status and reason."""

    backend: IngressBackend | None
    namespace: str = ""
    ingress: str = ""
    host: str = ""
    path: str = ""
    path_type: PathType | None = None
    http_status: int = 200
    reason: str = ""


def is_default_class(ic: IngressClass) -> bool:
    return ic.metadata.annotations.get(ANNOTATION_DEFAULT_INGRESS_CLASS) == "true"


def served_ingresses(view: ClusterState, class_name: str) -> tuple[Ingress, ...]:
    """The Ingresses a controller of `class_name` serves, oldest first."""
    ic = get(view, ObjectKey(kind=Kind.INGRESS_CLASS, namespace="", name=class_name))
    default = isinstance(ic, IngressClass) and is_default_class(ic)
    served = [
        i
        for i in list_objects(view, Kind.INGRESS)
        if isinstance(i, Ingress)
        and (i.spec.ingress_class_name == class_name or (i.spec.ingress_class_name is None and default))
    ]
    return tuple(sorted(served, key=_age))


def _age(i: Ingress) -> tuple[float, str, str]:
    return (i.metadata.creation_timestamp or 0.0, i.metadata.namespace, i.metadata.name)


def host_matches(rule_host: str, host: str) -> bool:
    """Whether a rule's host (exact, `*.` wildcard, or empty) matches the request's Host."""
    if not rule_host:
        return True
    if rule_host.startswith("*."):
        first, _, rest = host.partition(".")
        return bool(first) and rest == rule_host[2:]
    return rule_host == host


def _elements(path: str) -> list[str]:
    return [e for e in path.split("/") if e]


def path_matches(rule: HTTPIngressPath, path: str) -> bool:
    """Whether one path rule matches the request path."""
    match rule.path_type:
        case PathType.EXACT:
            return rule.path == path
        case PathType.PREFIX:
            want = _elements(rule.path or "/")
            return _elements(path)[: len(want)] == want
        case PathType.IMPLEMENTATION_SPECIFIC:
            return path.startswith(rule.path or "/")


def _host_rank(rule_host: str) -> int:
    return 0 if rule_host and not rule_host.startswith("*.") else (1 if rule_host else 2)


def _request_host(host: str) -> str:
    h = host.strip().lower()
    if h.startswith("["):
        return h
    return h.rsplit(":", 1)[0] if h.count(":") == 1 else h


def route_http(ingresses: Sequence[Ingress], host: str, path: str) -> IngressRoute:
    """The backend a request for `host` and `path` reaches through `ingresses` (oldest first)."""
    host = _request_host(host)
    path = path or "/"
    candidates: list[tuple[int, str, Ingress]] = []
    for ing in ingresses:
        for rule in ing.spec.rules:
            if rule.http is not None and host_matches(rule.host.lower(), host):
                candidates.append((_host_rank(rule.host), rule.host, ing))
    if candidates:
        best_rank = min(rank for rank, _, _ in candidates)
        best_host = next(h for rank, h, _ in candidates if rank == best_rank)
        chosen = _best_path(((h, ing) for rank, h, ing in candidates if rank == best_rank and h == best_host), path)
        if chosen is not None:
            return chosen
    for ing in ingresses:
        if ing.spec.default_backend is not None:
            return _answer(ing.spec.default_backend, ing, "", "", None)
    return IngressRoute(backend=None, http_status=404, reason=f"no Ingress rule matches host {host!r} path {path!r} and there is no default backend")


def _best_path(rules: Iterable[tuple[str, Ingress]], path: str) -> IngressRoute | None:
    best: tuple[int, int, float, str, str] | None = None
    chosen: IngressRoute | None = None
    for host, ing in rules:
        for rule in ing.spec.rules:
            if rule.host != host or rule.http is None:
                continue
            for p in rule.http.paths:
                if not path_matches(p, path):
                    continue
                # longest path first, Exact before Prefix, then the oldest Ingress
                age = _age(ing)
                order = (-len(p.path or "/"), 0 if p.path_type is PathType.EXACT else 1, age[0], age[1], age[2])
                if best is None or order < best:
                    best = order
                    chosen = _answer(p.backend, ing, host, p.path or "/", p.path_type)
    return chosen


def _answer(backend: IngressBackend, ing: Ingress, host: str, path: str, path_type: PathType | None) -> IngressRoute:
    route = IngressRoute(
        backend=backend, namespace=ing.metadata.namespace, ingress=ing.metadata.name, host=host, path=path, path_type=path_type
    )
    if backend.service is None:
        return attrs.evolve(route, http_status=503, reason="the backend is a resource, not a Service: not routable")
    return route
