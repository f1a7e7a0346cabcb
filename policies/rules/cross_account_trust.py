"""cross-account-trust-conditioned: a role trusting another account names a role there and pins the caller.

Teams across accounts (seed 004) chain roles over account boundaries: the data scientists' role (account B)
assumes a team's cluster access role (account A), pods' roles (account A) assume data roles (account C).
Such a trust is a confused-deputy risk unless it names exactly who may assume the role and what for
(aws-samples/aws-iam-permissions-guardrails IAM-STS-1: "Check that the sts external ID is specified"). In
every role's trust policy (``aws.iam.Role`` ``assumeRolePolicy``, aws-native ``iam.Role``
``assumeRolePolicyDocument``), an Allow statement whose ``Principal.AWS`` is in **another account** must:

* name a role (``arn:aws:iam::<account>:role/<name>``), not the account (``:root``, a bare account ID), a
  user, an assumed-role session or a pattern (``role/*``);
* carry ``sts:ExternalId`` (``StringEquals``, not ``...IfExists``) or the caller's organization
  (``aws:PrincipalOrgID`` ``o-...``, or ``aws:PrincipalOrgPaths`` starting ``o-.../``).

**Another account** is one other than the account the role is created in: its provider's account
(``_lib.account_of``: the account of the role the provider assumes, else its single ``allowedAccountIds``
entry; also for the default provider when the stack's ``aws:assumeRoles``/``aws:allowedAccountIds`` name one),
else the account in the role's own ARN once it is known. When neither is known yet (preview, default
provider), a statement that already meets both requirements passes and any other naming an account is a
"cannot judge" note, judged once the role's ARN is known. Service principals (``pods.eks.amazonaws.com``,
``sagemaker.amazonaws.com``) and federated ones are not accounts; ``Principal: "*"`` is iam-least-privilege's.
A statement allowing only session actions (``sts:TagSession``, ``sts:SetSourceIdentity``, ``sts:SetContext``,
by literal name) assumes nothing by itself and is not judged: ``sts:TagSession`` has no ``sts:ExternalId`` key,
so a conditioned trust that passes session tags allows it in a statement of its own.

**Pod identity target roles.** A role that an EKS Pod Identity association names as ``targetRoleArn`` is
assumed by the association's role with the association's external ID ("You put this value in the trust policy
of the target role, in a Condition to match the sts:ExternalId. This ensures that the target role can only be
assumed by this association"): its trust must have a statement allowing sts:AssumeRole to the association's
role (any AWS principal while that ARN is unknown) with ``StringEquals sts:ExternalId``, equal to the
association's ``externalId`` once that is known. A target role outside the stack cannot be seen: a note.
"""

from __future__ import annotations

from typing import Any, Optional

from pulumi_policy import ReportViolation

from ._declare import Config, declare, option
from ._iam import (
    allows_assume_role,
    aws_principals,
    external_ids,
    is_allow,
    named_role,
    org_pinned,
    principal_account,
)
from ._lib import UNKNOWN, Graph, Node, Verdicts, arn_account, as_list, parse_document, statements

NAME = "cross-account-trust-conditioned"
# role type -> its trust policy input
ROLE_TYPES = {"aws:iam/role:Role": "assumeRolePolicy", "aws-native:iam:Role": "assumeRolePolicyDocument"}
ASSOCIATION_TYPES = {
    "aws:eks/podIdentityAssociation:PodIdentityAssociation",
    "aws-native:eks:PodIdentityAssociation",
}
CONFIG = {
    "exemptRoles": option([], "Resource or role names whose trust is not judged by this rule."),
}

DESCRIPTION = (
    "A role trusting a principal in another account than its own (the account of its provider, or of its ARN) "
    "names a role there (not the account root) and requires sts:ExternalId or aws:PrincipalOrgID; a Pod "
    "Identity target role pins sts:ExternalId for the association's role."
)
REMEDIATION = (
    "Trust the one role that assumes this one, with a condition, e.g. {'Effect': 'Allow', 'Principal': {'AWS': "
    "'arn:aws:iam::<other account>:role/<role>'}, 'Action': 'sts:AssumeRole', 'Condition': {'StringEquals': "
    "{'sts:ExternalId': '<shared id>'}}} (or {'aws:PrincipalOrgID': 'o-...'}); for a Pod Identity target role, "
    "{'StringEquals': {'sts:ExternalId': association.external_id}} on the statement trusting the association's "
    "role_arn."
)


def _home(role: Node) -> tuple[Any, str]:
    """(the role's account or None/UNKNOWN, how it is known)."""
    provider = role.provider
    account = provider.account if provider is not None else None
    if isinstance(account, str):
        return account, f"its provider {provider.name}" if not provider.default else "the stack's aws config"
    own = arn_account(role.props.get("arn"))
    if own:
        return own, "its ARN"
    return (UNKNOWN if account is UNKNOWN else None), ""


def _requirements(principal: str, st: dict[str, Any]) -> list[str]:
    """What a statement trusting ``principal`` in another account lacks."""
    missing = []
    if not named_role(principal):
        kind = (
            "the account root"
            if principal.endswith(":root") or principal.isdigit()
            else "a role pattern"
            if ":role/" in principal
            else "not a role"
        )
        missing.append(f"names {principal} ({kind}) instead of one role")
    if not external_ids(st) and not org_pinned(st):
        missing.append("requires neither sts:ExternalId nor aws:PrincipalOrgID")
    return missing


SESSION_ONLY_ACTIONS = {"sts:tagsession", "sts:setsourceidentity", "sts:setcontext"}
"""Actions a trust statement may allow that assume nothing by themselves: they only apply within an
AssumeRole call another statement allows (IAM: sts:TagSession has no sts:ExternalId key, so a pinned
AssumeRole statement and a separate TagSession statement is how a conditioned trust passes session tags)."""


def _session_only(st: dict[str, Any]) -> bool:
    """Whether an Allow statement allows only session actions (literal names; a NotAction or a wildcard is judged)."""
    if "NotAction" in st:
        return False
    actions = st.get("Action")
    names = [actions] if isinstance(actions, str) else actions if isinstance(actions, list) else []
    return bool(names) and all(isinstance(a, str) and a.lower() in SESSION_ONLY_ACTIONS for a in names)


def _trust(role: Node, verdicts: Verdicts) -> Optional[Any]:
    key = ROLE_TYPES[role.type]
    doc, error = parse_document(role.props.get(key))
    if doc is UNKNOWN:
        verdicts.cannot_judge(f"role {role.name}: {key} is not known yet")
        return None
    return doc if not error and isinstance(doc, dict) else None


def _check_role(role: Node, verdicts: Verdicts) -> list[str]:
    doc = _trust(role, verdicts)
    if doc is None:
        return []
    home, how = _home(role)
    key = ROLE_TYPES[role.type]
    problems = []
    for i, st in enumerate(statements(doc)):
        if not is_allow(st) or _session_only(st):
            continue
        sid = f"{key} statement {st.get('Sid') or i}"
        for principal in aws_principals(st):
            account = principal_account(principal)
            if account is None:
                continue
            missing = _requirements(principal, st)
            if not missing:
                continue
            if not isinstance(home, str):
                verdicts.cannot_judge(
                    f"role {role.name}: {sid} trusts {principal} and {'; '.join(missing)}; whether account "
                    f"{account} is another account than the role's is not known yet (its provider names none "
                    "and its ARN is not known yet)"
                )
                continue
            if account == home:
                continue
            fix = []
            if not named_role(principal):
                fix.append(f"name the role (arn:aws:iam::{account}:role/<role>)")
            if not external_ids(st) and not org_pinned(st):
                fix.append(
                    "add Condition {'StringEquals': {'sts:ExternalId': '<shared id>'}} or {'StringEquals': "
                    "{'aws:PrincipalOrgID': 'o-...'}}"
                )
            problems.append(
                f"{sid} trusts {principal} in account {account}, another account than the role's {home} (from "
                f"{how}), and {' and '.join(missing)}: {' and '.join(fix)}"
            )
    return problems


def _resolve_target(graph: Graph, assoc: Node, verdicts: Verdicts) -> list[Node]:
    value = assoc.props.get("targetRoleArn")
    roles = assoc.deps_of("targetRoleArn", ROLE_TYPES)
    if roles:
        return roles
    if value is UNKNOWN:
        verdicts.cannot_judge(f"pod identity association {assoc.name}: targetRoleArn is not known yet")
        return []
    if not isinstance(value, str) or not value:
        return []
    hit = graph.by_value(value, ROLE_TYPES, ("arn",))
    if hit is None and ":role/" in value:  # by name in the ARN's account (mocks compute ARNs in one account)
        name, account = value.rsplit("/", 1)[-1], arn_account(value)
        for role in graph.of_type(*ROLE_TYPES):
            if role.props.get("name") == name and account in (None, role.account, arn_account(role.props.get("arn"))):
                hit = role
                break
    if hit is None:
        verdicts.cannot_judge(
            f"pod identity association {assoc.name}: target role {value} is not a role of this stack, so its "
            "trust (sts:ExternalId) cannot be seen"
        )
        return []
    return [hit]


def _check_target(role: Node, assoc: Node, verdicts: Verdicts) -> Optional[str]:
    doc = _trust(role, verdicts)
    if doc is None:
        return None
    source = assoc.props.get("roleArn")
    expected = assoc.props.get("externalId")
    key = ROLE_TYPES[role.type]
    trusting = []
    for st in statements(doc):
        if not is_allow(st) or not allows_assume_role(st):
            continue
        principals = aws_principals(st)
        if not principals:
            continue
        if isinstance(source, str) and source and source not in principals:
            continue
        trusting.append(st)
    who = source if isinstance(source, str) and source else "the association's role"
    pinned = [st for st in trusting if external_ids(st)]
    if expected is UNKNOWN and pinned:
        verdicts.cannot_judge(
            f"role {role.name}: whether the sts:ExternalId its {key} pins is pod identity association "
            f"{assoc.name}'s externalId is not known until the association exists"
        )
        return None
    if isinstance(expected, str) and expected:
        if any(expected in external_ids(st) for st in pinned):
            return None
        if pinned:
            found = sorted({v for st in pinned for v in external_ids(st)})
            return (
                f"it is the target role of pod identity association {assoc.name}, but its "
                f"{key} pins sts:ExternalId {found}, not the association's externalId {expected!r}: use "
                "association.external_id"
            )
    elif pinned:
        return None
    if not trusting:
        what = f"has no statement allowing sts:AssumeRole to {who}"
    else:
        what = f"trusts {who} without Condition StringEquals sts:ExternalId"
    return (
        f"it is the target role of pod identity association {assoc.name}, but its {key} {what}: "
        "add {'StringEquals': {'sts:ExternalId': association.external_id}} so only this association can assume it"
    )


def _validate(graph: Graph, cfg: Config, verdicts: Verdicts, report_violation: ReportViolation) -> None:
    exempt = {str(n) for n in as_list(cfg.get("exemptRoles"))}
    found: dict[str, list[str]] = {}
    roles = {r.urn: r for r in graph.of_type(*ROLE_TYPES)}
    for role in roles.values():
        if role.name in exempt or role.props.get("name") in exempt:
            continue
        found[role.urn] = _check_role(role, verdicts)
    for assoc in graph.of_type(*ASSOCIATION_TYPES):
        for role in _resolve_target(graph, assoc, verdicts):
            if role.name in exempt or role.props.get("name") in exempt:
                continue
            problem = _check_target(role, assoc, verdicts)
            if problem:
                found.setdefault(role.urn, []).append(problem)
    for urn, problems in found.items():
        if problems:
            report_violation(f"role {roles[urn].name}: " + "; ".join(problems), urn)


POLICY = declare(NAME, DESCRIPTION, REMEDIATION, CONFIG, level="mandatory", severity="high", stack=_validate)
