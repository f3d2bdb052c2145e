"""Validation and defaulting of EndpointSlice, NetworkPolicy and IngressClass, in the
wording of upstream's pkg/apis/{discovery,networking}/validation tests."""

from __future__ import annotations

from typing import Any

import pytest

from kcore.api.codec import from_dict, to_dict
from kcore.api.defaults import apply_defaults
from kcore.api.meta import ApiObject
from kcore.api.validation import validate
from kcore.api.validation.network import non_special_ip


def obj(data: dict[str, Any]) -> ApiObject:
    """The defaulted object of a manifest dict, namespaced to `default` when it is namespaced."""
    decoded = from_dict(data)
    assert decoded.warnings == ()
    return apply_defaults(decoded.obj)


def errors(data: dict[str, Any], old: dict[str, Any] | None = None) -> list[str]:
    return [str(e) for e in validate(obj(data), None if old is None else obj(old))]


def slice_(**fields: Any) -> dict[str, Any]:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": "web-abc", "namespace": "default"},
        "addressType": "IPv4",
        **fields,
    }


def policy(spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "np", "namespace": "default"},
        "spec": spec,
    }


def ingress_class(spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "IngressClass",
        "metadata": {"name": "nginx"},
        "spec": spec,
    }


# ---- EndpointSlice ---------------------------------------------------------------------


def test_a_slice_port_defaults_its_name_to_empty_and_protocol_to_tcp() -> None:
    data = to_dict(obj(slice_(ports=[{"port": 80}])))
    assert data["ports"] == [{"name": "", "protocol": "TCP", "port": 80}]


def test_a_valid_slice_has_no_errors() -> None:
    endpoint = {
        "addresses": ["10.244.1.5"],
        "conditions": {"ready": True, "serving": True, "terminating": False},
        "hostname": "web-0",
        "nodeName": "node-1",
        "targetRef": {"kind": "Pod", "namespace": "default", "name": "web-0"},
    }
    assert errors(slice_(endpoints=[endpoint], ports=[{"name": "http", "port": 80}])) == []


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {"endpoints": [{"addresses": []}]},
            ["endpoints[0].addresses: Required value: must contain at least 1 address"],
        ),
        (
            {"endpoints": [{"addresses": ["fd00::1"]}]},
            ['endpoints[0].addresses[0]: Invalid value: "fd00::1": must be a valid IPv4 address'],
        ),
        (
            {"endpoints": [{"addresses": ["127.0.0.1"]}]},
            [
                'endpoints[0].addresses[0]: Invalid value: "127.0.0.1": '
                "may not be in the loopback range (127.0.0.0/8, ::1/128)"
            ],
        ),
        (
            {"endpoints": [{"addresses": ["10.0.0.1"], "hostname": "Web_0"}]},
            [
                'endpoints[0].hostname: Invalid value: "Web_0": a lowercase RFC 1123 label must '
                "consist of lower case alphanumeric characters or '-', and must start and end "
                "with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
                "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
            ],
        ),
        (
            {"ports": [{"name": "http", "port": 80}, {"name": "http", "port": 81}]},
            ['ports[1].name: Duplicate value: "http"'],
        ),
        (
            {"ports": [{"port": 80}, {"port": 81}]},
            ['ports[1].name: Duplicate value: ""'],
        ),
    ],
)
def test_slice_errors_name_the_field(fields: dict[str, Any], expected: list[str]) -> None:
    assert errors(slice_(**fields)) == expected


def test_a_slice_of_more_than_1000_endpoints_is_too_many() -> None:
    many = [{"addresses": [f"10.1.{i // 250}.{i % 250 + 1}"]} for i in range(1001)]
    assert errors(slice_(endpoints=many)) == ["endpoints: Too many: 1001: must have at most 1000 items"]


def test_fqdn_slices_take_domain_names() -> None:
    assert errors(slice_(addressType="FQDN", endpoints=[{"addresses": ["db.example.com"]}])) == []
    assert errors(slice_(addressType="FQDN", endpoints=[{"addresses": ["localhost"]}])) == [
        'endpoints[0].addresses[0]: Invalid value: "localhost": '
        "should be a domain with at least two segments separated by dots"
    ]


def test_the_address_type_of_a_slice_is_immutable() -> None:
    assert errors(slice_(addressType="IPv6"), old=slice_()) == [
        'addressType: Invalid value: "IPv6": field is immutable'
    ]


def test_special_ips_are_refused_by_name() -> None:
    assert [str(e) for e in non_special_ip("0.0.0.0", "ip")] == [
        'ip: Invalid value: "0.0.0.0": may not be unspecified (0.0.0.0, ::)'
    ]
    assert [str(e) for e in non_special_ip("169.254.1.1", "ip")] == [
        'ip: Invalid value: "169.254.1.1": may not be in the link-local range (169.254.0.0/16, fe80::/10)'
    ]
    assert [str(e) for e in non_special_ip("224.0.0.251", "ip")] == [
        'ip: Invalid value: "224.0.0.251": may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)'
    ]
    assert non_special_ip("10.0.0.1", "ip") == ()


# ---- NetworkPolicy ---------------------------------------------------------------------


def test_policy_types_default_from_the_rules_and_ports_to_tcp() -> None:
    ingress_only = to_dict(obj(policy({"podSelector": {}, "ingress": [{"ports": [{"port": 80}]}]})))
    assert ingress_only["spec"] == {
        "podSelector": {},
        "ingress": [{"ports": [{"protocol": "TCP", "port": 80}]}],
        "policyTypes": ["Ingress"],
    }
    both = to_dict(obj(policy({"podSelector": {}, "egress": [{}]})))
    assert both["spec"]["policyTypes"] == ["Ingress", "Egress"]
    explicit = to_dict(obj(policy({"podSelector": {}, "egress": [{}], "policyTypes": ["Egress"]})))
    assert explicit["spec"]["policyTypes"] == ["Egress"]


def test_the_documented_example_policy_is_valid() -> None:
    spec = {
        "podSelector": {"matchLabels": {"role": "db"}},
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [
            {
                "from": [
                    {"ipBlock": {"cidr": "172.17.0.0/16", "except": ["172.17.1.0/24"]}},
                    {"namespaceSelector": {"matchLabels": {"project": "myproject"}}},
                    {"podSelector": {"matchLabels": {"role": "frontend"}}},
                ],
                "ports": [{"protocol": "TCP", "port": 6379}],
            }
        ],
        "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/24"}}], "ports": [{"port": 32000, "endPort": 32768}]}],
    }
    assert errors(policy(spec)) == []


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"from": [{}]}, ["spec.ingress[0].from[0]: Required value: must specify a peer"]),
        (
            {"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}, "podSelector": {}}]},
            ["spec.ingress[0].from[0]: Forbidden: may not specify both ipBlock and another peer"],
        ),
        (
            {"from": [{"ipBlock": {"cidr": "10.0.0.0/24", "except": ["10.0.0.0/24"]}}]},
            ['spec.ingress[0].from[0].ipBlock.except[0]: Invalid value: "10.0.0.0/24": must be a strict subset of `cidr`'],
        ),
        (
            {"from": [{"ipBlock": {"cidr": ""}}]},
            ["spec.ingress[0].from[0].ipBlock.cidr: Required value"],
        ),
        (
            {"ports": [{"port": 90, "endPort": 80}]},
            ["spec.ingress[0].ports[0].endPort: Invalid value: 90: must be greater than or equal to `port`"],
        ),
        (
            {"ports": [{"port": "http", "endPort": 80}]},
            ["spec.ingress[0].ports[0].endPort: Invalid value: 80: may not be specified when `port` is non-numeric"],
        ),
        (
            {"ports": [{"endPort": 80}]},
            ["spec.ingress[0].ports[0].endPort: Invalid value: 80: may not be specified when `port` is not specified"],
        ),
        (
            {"ports": [{"port": 0}]},
            ["spec.ingress[0].ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive"],
        ),
    ],
)
def test_policy_rule_errors_name_the_field(rule: dict[str, Any], expected: list[str]) -> None:
    assert errors(policy({"podSelector": {}, "ingress": [rule]})) == expected


def test_more_than_two_policy_types_are_refused() -> None:
    spec = {"podSelector": {}, "policyTypes": ["Ingress", "Egress", "Ingress"]}
    assert errors(policy(spec)) == [
        "spec.policyTypes: Invalid value: &[Ingress Egress Ingress]: may not specify more than two policyTypes"
    ]


# ---- IngressClass ----------------------------------------------------------------------


def test_an_ingress_class_needs_a_domain_prefixed_controller() -> None:
    assert errors(ingress_class({"controller": "k8s.io/ingress-nginx"})) == []
    assert errors(ingress_class({})) == ["spec.controller: Required value"]
    assert errors(ingress_class({"controller": "nginx"})) == [
        'spec.controller: Invalid value: "nginx": must be a domain-prefixed path (such as "acme.io/foo")'
    ]


def test_ingress_class_parameters_default_to_cluster_scope_and_forbid_a_namespace() -> None:
    params = {"apiGroup": "k8s.example.com", "kind": "IngressParameters", "name": "lb"}
    data = to_dict(obj(ingress_class({"controller": "example.com/lb", "parameters": params})))
    assert data["spec"]["parameters"]["scope"] == "Cluster"
    with_ns = {**params, "namespace": "default"}
    assert errors(ingress_class({"controller": "example.com/lb", "parameters": with_ns})) == [
        "spec.parameters.namespace: Forbidden: `parameters.scope` is set to 'Cluster'"
    ]
    namespaced = {**params, "scope": "Namespace"}
    assert errors(ingress_class({"controller": "example.com/lb", "parameters": namespaced})) == [
        "spec.parameters.namespace: Required value: `parameters.scope` is set to 'Namespace'"
    ]


def test_the_controller_of_an_ingress_class_is_immutable() -> None:
    old = ingress_class({"controller": "k8s.io/ingress-nginx"})
    new = ingress_class({"controller": "example.com/other"})
    assert errors(new, old=old) == ['spec.controller: Invalid value: "example.com/other": field is immutable']
