"""Where IAM policy documents live in the resources this pack judges."""

from __future__ import annotations

from typing import Any

from ._lib import UNKNOWN

# type -> [(path, kind)]; kind is "trust" (a role's trust policy) or "identity" (permissions)
DOCUMENTS: dict[str, list[tuple[tuple[Any, ...], str]]] = {
    "aws:iam/role:Role": [(("assumeRolePolicy",), "trust"), (("inlinePolicies", "*", "policy"), "identity")],
    "aws:iam/rolePolicy:RolePolicy": [(("policy",), "identity")],
    "aws:iam/userPolicy:UserPolicy": [(("policy",), "identity")],
    "aws:iam/groupPolicy:GroupPolicy": [(("policy",), "identity")],
    "aws:iam/policy:Policy": [(("policy",), "identity")],
    "aws-native:iam:Role": [
        (("assumeRolePolicyDocument",), "trust"),
        (("policies", "*", "policyDocument"), "identity"),
    ],
    "aws-native:iam:RolePolicy": [(("policyDocument",), "identity")],
    "aws-native:iam:ManagedPolicy": [(("policyDocument",), "identity")],
}


def documents(typ: str, props: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """(where, kind, raw document) for every policy document of a resource."""
    out: list[tuple[str, str, Any]] = []
    for path, kind in DOCUMENTS.get(typ, []):
        out += [(where, kind, raw) for where, raw in _walk(props, list(path), "")]
    return out


def _walk(value: Any, path: list[Any], where: str) -> list[tuple[str, Any]]:
    if not path:
        return [] if value is None or value == "" else [(where, value)]
    if value is UNKNOWN:
        return [(where or "document", UNKNOWN)]
    head, rest = path[0], path[1:]
    if head == "*":
        if not isinstance(value, list):
            return []
        found = []
        for i, item in enumerate(value):
            found += _walk(item, rest, f"{where}[{i}]")
        return found
    if isinstance(value, dict) and head in value:
        return _walk(value[head], rest, f"{where}.{head}" if where else head)
    return []
