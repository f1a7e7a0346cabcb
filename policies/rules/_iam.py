"""Where IAM policy documents and managed-policy ARNs live in the resources this pack judges, and how to
read a statement (wildcards, conditions) the way IAM does."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from ._lib import UNKNOWN, as_list

# type -> [(path, kind)]; kind is "trust" (a role's trust policy) or "identity" (permissions)
DOCUMENTS: dict[str, list[tuple[tuple[Any, ...], str]]] = {
    "aws:iam/role:Role": [(("assumeRolePolicy",), "trust"), (("inlinePolicies", "*", "policy"), "identity")],
    "aws:iam/rolePolicy:RolePolicy": [(("policy",), "identity")],
    "aws:iam/userPolicy:UserPolicy": [(("policy",), "identity")],
    "aws:iam/groupPolicy:GroupPolicy": [(("policy",), "identity")],
    "aws:iam/policy:Policy": [(("policy",), "identity")],
    "aws:ssoadmin/permissionSetInlinePolicy:PermissionSetInlinePolicy": [(("inlinePolicy",), "identity")],
    "aws-native:iam:Role": [
        (("assumeRolePolicyDocument",), "trust"),
        (("policies", "*", "policyDocument"), "identity"),
    ],
    "aws-native:iam:User": [(("policies", "*", "policyDocument"), "identity")],
    "aws-native:iam:Group": [(("policies", "*", "policyDocument"), "identity")],
    "aws-native:iam:RolePolicy": [(("policyDocument",), "identity")],
    "aws-native:iam:UserPolicy": [(("policyDocument",), "identity")],
    "aws-native:iam:GroupPolicy": [(("policyDocument",), "identity")],
    "aws-native:iam:ManagedPolicy": [(("policyDocument",), "identity")],
    "aws-native:sso:PermissionSet": [(("inlinePolicy",), "identity")],
}

# type -> paths of the managed-policy ARNs it attaches (a path ending at a list means every item)
MANAGED_POLICY_ARNS: dict[str, list[tuple[Any, ...]]] = {
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": [("policyArn",)],
    "aws:iam/userPolicyAttachment:UserPolicyAttachment": [("policyArn",)],
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment": [("policyArn",)],
    "aws:iam/policyAttachment:PolicyAttachment": [("policyArn",)],
    "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive": [("policyArns",)],
    "aws:iam/userPolicyAttachmentsExclusive:UserPolicyAttachmentsExclusive": [("policyArns",)],
    "aws:iam/groupPolicyAttachmentsExclusive:GroupPolicyAttachmentsExclusive": [("policyArns",)],
    "aws:iam/role:Role": [("managedPolicyArns",)],
    "aws:ssoadmin/managedPolicyAttachment:ManagedPolicyAttachment": [("managedPolicyArn",)],
    "aws-native:iam:Role": [("managedPolicyArns",)],
    "aws-native:iam:User": [("managedPolicyArns",)],
    "aws-native:iam:Group": [("managedPolicyArns",)],
    "aws-native:sso:PermissionSet": [("managedPolicies",)],
}


def documents(typ: str, props: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """(where, kind, raw document) for every policy document of a resource."""
    out: list[tuple[str, str, Any]] = []
    for path, kind in DOCUMENTS.get(typ, []):
        out += [(where, kind, raw) for where, raw in _walk(props, list(path), "")]
    return out


def managed_policy_arns(typ: str, props: dict[str, Any]) -> list[tuple[str, Any]]:
    """(where, ARN or UNKNOWN) for every managed policy a resource attaches."""
    out: list[tuple[str, Any]] = []
    for path in MANAGED_POLICY_ARNS.get(typ, []):
        for where, value in _walk(props, list(path), ""):
            if isinstance(value, list):
                out += [(f"{where}[{i}]", v) for i, v in enumerate(value) if v is UNKNOWN or v]
            else:
                out.append((where, value))
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


# ---------------------------------------------------------------- reading statements as IAM does
@lru_cache(maxsize=512)
def _pattern(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def wildcard_match(pattern: str, text: str, ignore_case: bool = False) -> bool:
    """IAM's wildcard match: ``*`` any run of characters, ``?`` one character, nothing else special."""
    return _pattern(str(pattern), ignore_case).fullmatch(str(text)) is not None


def only_wildcards(text: str) -> bool:
    """True for ``*``, ``**``, ``?*``...: a pattern that matches anything (of its length)."""
    return bool(text) and set(text) <= {"*", "?"} and "*" in text


def is_allow(st: dict[str, Any]) -> bool:
    return str(st.get("Effect", "")).lower() == "allow"


def is_deny(st: dict[str, Any]) -> bool:
    return str(st.get("Effect", "")).lower() == "deny"


def strings(value: Any) -> list[str]:
    return [str(v) for v in as_list(value) if v is not None]


def conditions(st: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    """(operator, condition key in lower case, values) for each condition of a statement."""
    out = []
    cond = st.get("Condition")
    if not isinstance(cond, dict):
        return out
    for op, block in cond.items():
        if not isinstance(block, dict):
            continue
        for key, values in block.items():
            out.append((str(op), str(key).lower(), strings(values)))
    return out


def positive_operator(op: str, bases: set[str]) -> bool:
    """True when ``op`` is one of ``bases`` in a form that requires the key to be present and to match:
    plain or ``ForAnyValue:``; never ``...IfExists`` nor ``ForAllValues:`` (both pass when the key is absent)."""
    if op.endswith("IfExists") or op.startswith("ForAllValues:"):
        return False
    if op.startswith("ForAnyValue:"):
        op = op[len("ForAnyValue:") :]
    return op in bases


def is_public_principal(principal: Any) -> bool:
    """Principal ``"*"`` or ``{"AWS": "*"}`` (also inside a list): anyone, in any account."""
    if principal == "*":
        return True
    if isinstance(principal, dict):
        return any(str(p) == "*" for p in as_list(principal.get("AWS")))
    return False


# ---------------------------------------------------------------- principals in other accounts
ACCOUNT_ID = re.compile(r"^\d{12}$")
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/(.+)$")


def aws_principals(st: dict[str, Any]) -> list[str]:
    """The ``Principal.AWS`` entries of a statement (account IDs, ARNs, ``*``)."""
    principal = st.get("Principal")
    return strings(principal.get("AWS")) if isinstance(principal, dict) else []


def principal_account(principal: str) -> Any:
    """The account an AWS principal belongs to: a bare account ID, or the account field of an IAM or STS ARN;
    None for ``*`` or anything without a literal account."""
    if ACCOUNT_ID.match(principal):
        return principal
    parts = principal.split(":", 5)
    if len(parts) == 6 and parts[0] == "arn" and parts[2] in ("iam", "sts") and ACCOUNT_ID.match(parts[4]):
        return parts[4]
    return None


def named_role(principal: str) -> bool:
    """True for one IAM role by name (``arn:aws:iam::111122223333:role/path/name``, no wildcard): not an
    account root or bare account ID, not a user, not an assumed-role session, not a pattern."""
    m = ROLE_ARN.match(principal)
    return m is not None and not any(c in m.group(2) for c in "*?")


EXTERNAL_ID = "sts:externalid"
ORG_KEYS = ("aws:principalorgid", "aws:principalorgpaths")
STRING_MATCH = {"StringEquals", "StringEqualsIgnoreCase", "StringLike"}


def external_ids(st: dict[str, Any]) -> list[str]:
    """The ``sts:ExternalId`` values a statement requires (``StringEquals``, plain or ``ForAnyValue:``; never
    ``...IfExists``), each a literal."""
    return [
        v
        for op, key, values in conditions(st)
        if key == EXTERNAL_ID and positive_operator(op, {"StringEquals"})
        for v in values
        if v and not only_wildcards(v)
    ]


def org_pinned(st: dict[str, Any]) -> bool:
    """Whether a statement requires the caller's organization: ``aws:PrincipalOrgID`` (``o-...``, no
    wildcard) or ``aws:PrincipalOrgPaths`` starting with a literal ``o-.../`` path, under a string operator
    that requires the key."""
    for op, key, values in conditions(st):
        if key not in ORG_KEYS or not positive_operator(op, STRING_MATCH) or not values:
            continue
        if key == "aws:principalorgid" and all(v.startswith("o-") and not any(c in v for c in "*?") for v in values):
            return True
        if key == "aws:principalorgpaths" and all(re.match(r"^o-[a-z0-9]+/", v) for v in values):
            return True
    return False


def allows_assume_role(st: dict[str, Any]) -> bool:
    """Whether an Allow statement's Action covers ``sts:AssumeRole``."""
    return any(wildcard_match(a, "sts:AssumeRole", ignore_case=True) for a in strings(st.get("Action")))
