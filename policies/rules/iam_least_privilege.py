"""iam-least-privilege: no wildcard trust, no unconditioned account-root trust, no admin-equivalent grant.

Policy documents arrive as JSON strings in pulumi-aws inputs (``assumeRolePolicy``, ``policy``,
``inlinePolicies[].policy``) and as objects in aws-native ones; both are judged (every place a document can
be written: see ``_iam.DOCUMENTS``). At preview a document built from other resources' outputs is unknown as
a whole: that is reported as "cannot judge", never as a pass.

What counts as admin-equivalent, in an Allow statement of any document:

* ``Action: "*"``, or an action whose service part is only wildcards (``*:*``, ``*:Get*``);
* ``NotAction`` (an Allow of everything but a list is how PowerUserAccess is written);
* ``NotResource`` together with a wildcard action (``s3:Get*`` on everything but one bucket);
* a whole service (``iam:*``, ``s3:*``, ``sts:*``, ``ec2:*``: an action part of only wildcards) on every
  resource (``*``, or an ARN whose resource part is only wildcards);
* an IAM privilege-escalation action (``iam:PutRolePolicy``, ``iam:AttachUserPolicy``,
  ``iam:CreatePolicyVersion``... see ``ESCALATION``), literally or through a pattern such as
  ``iam:*Policy*`` or ``iam:Attach*``, on every resource or on every role/user/group/policy
  (``arn:aws:iam::*:role/*``): whoever holds it can grant themselves anything.

Conditions do not excuse these. A trust policy must not trust Principal ``*`` (nor everyone but someone:
Allow with ``NotPrincipal``), nor an account root without a Condition.

Managed policies in ``forbiddenManagedPolicies`` (default AdministratorAccess, PowerUserAccess,
IAMFullAccess: full control, everything but IAM, and IAM itself, which grants the rest) are violations
however they are attached: the policy-attachment resources (``*PolicyAttachment``, ``PolicyAttachment``, the
``*PolicyAttachmentsExclusive`` lists), a role's ``managedPolicyArns`` (pulumi-aws and aws-native, also
aws-native users and groups) and IAM Identity Center permission sets. They are matched by the last segment of
the ARN, whatever the partition or path.
"""

from __future__ import annotations

import re
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs

from ._declare import Config, Props, declare, option
from ._iam import (
    DOCUMENTS,
    MANAGED_POLICY_ARNS,
    documents,
    is_allow,
    managed_policy_arns,
    only_wildcards,
    strings,
    wildcard_match,
)
from ._lib import UNKNOWN, Verdicts, parse_document, statements

NAME = "iam-least-privilege"
ACCOUNT_ROOT = re.compile(r"^(arn:aws[a-z-]*:iam::\d{12}:root|\d{12})$")
CONFIG = {
    "forbiddenManagedPolicies": option(
        ["AdministratorAccess", "PowerUserAccess", "IAMFullAccess"],
        "Managed policy names (last segment of the ARN) that must never be attached.",
    ),
}
# IAM actions with which a principal can give itself (or a principal it controls) any permission.
ESCALATION = (
    "iam:AttachRolePolicy",
    "iam:AttachUserPolicy",
    "iam:AttachGroupPolicy",
    "iam:PutRolePolicy",
    "iam:PutUserPolicy",
    "iam:PutGroupPolicy",
    "iam:CreatePolicyVersion",
    "iam:SetDefaultPolicyVersion",
    "iam:UpdateAssumeRolePolicy",
    "iam:AddUserToGroup",
    "iam:CreateAccessKey",
    "iam:CreateLoginProfile",
    "iam:UpdateLoginProfile",
    "iam:PutRolePermissionsBoundary",
    "iam:PutUserPermissionsBoundary",
    "iam:DeleteRolePermissionsBoundary",
    "iam:DeleteUserPermissionsBoundary",
)
IAM_TYPE_WIDE = re.compile(r"^(role|user|group|policy)/[*?]+$", re.IGNORECASE)
TYPES = DOCUMENTS.keys() | MANAGED_POLICY_ARNS.keys()

DESCRIPTION = (
    "IAM is least-privilege: no trust of Principal '*' or of an account root without a Condition; no "
    "admin-equivalent Allow (Action '*', NotAction, NotResource with wildcard actions, '<service>:*' on every "
    "resource, IAM privilege-escalation actions on every resource); no AdministratorAccess, PowerUserAccess "
    "or IAMFullAccess attached by any means."
)
REMEDIATION = (
    "Trust a named service or role (Principal {'Service': 'sagemaker.amazonaws.com'}) with "
    "aws:SourceAccount "
    "/ aws:SourceArn conditions; when trusting an account root add a Condition (e.g. aws:PrincipalArn or "
    "sts:ExternalId); list the actions a role needs (no '*', no '<service>:*' on '*', no NotAction) on the "
    "resources it needs, grant IAM write actions only on named roles or users, and never attach "
    "AdministratorAccess, PowerUserAccess or IAMFullAccess."
)


def _principals(principal: Any) -> list[str]:
    if isinstance(principal, str):
        return [principal]
    if isinstance(principal, dict):
        return [p for v in principal.values() for p in strings(v)]
    return []


def _resource_part(resource: str) -> tuple[str, str]:
    """(service, resource part) of an ARN; ("*", "*") for a bare wildcard."""
    if only_wildcards(resource):
        return "*", "*"
    parts = resource.split(":", 5)
    if len(parts) < 6:
        return "", resource
    return parts[2].lower(), parts[5]


def _every_resource(resources: list[str]) -> bool:
    """True when a Resource pattern matches every resource (of its service)."""
    return any(only_wildcards(_resource_part(r)[1]) for r in resources)


def _every_iam_principal(resources: list[str]) -> bool:
    for r in resources:
        service, part = _resource_part(r)
        if only_wildcards(part) or (service in ("iam", "*") and IAM_TYPE_WIDE.match(part)):
            return True
    return False


def _admin_equivalent(st: dict[str, Any]) -> list[str]:
    """Why an Allow statement grants (near) everything; empty when it does not."""
    problems = []
    actions = strings(st.get("Action"))
    resources = strings(st.get("Resource"))
    has_not_resource = "NotResource" in st
    for a in actions:
        service, _, act = a.partition(":")
        if only_wildcards(a) or only_wildcards(service):
            problems.append(f"allows Action '{a}' (every service)")
        elif only_wildcards(act) and (has_not_resource or _every_resource(resources)):
            where = "every resource but its NotResource" if has_not_resource else "every resource"
            problems.append(f"allows every {service} action ('{a}') on {where}")
    if "NotAction" in st:
        problems.append(f"allows every action except NotAction {strings(st.get('NotAction'))}")
    wild = [a for a in actions if "*" in a or "?" in a]
    if has_not_resource and wild and not problems:
        problems.append(f"allows wildcard actions {wild} on everything except NotResource")
    if not problems and (has_not_resource or _every_iam_principal(resources)):
        escalations = sorted({e for a in actions for e in ESCALATION if wildcard_match(a, e, ignore_case=True)})
        if escalations:
            on = "every resource but its NotResource" if has_not_resource else f"{resources}"
            problems.append(f"allows IAM privilege escalation ({', '.join(escalations)} through {actions}) on {on}")
    return problems


def _check(doc: Any, kind: str, where: str) -> list[str]:
    problems = []
    for i, st in enumerate(statements(doc)):
        if not is_allow(st):
            continue
        sid = f"{where} statement {st.get('Sid') or i}"
        problems += [f"{sid} {p}" for p in _admin_equivalent(st)]
        if kind != "trust":
            continue
        principal = st.get("Principal")
        aws = strings(principal.get("AWS")) if isinstance(principal, dict) else []
        if principal == "*" or "*" in _principals(principal):
            problems.append(f"{sid} trusts Principal '*' (anyone)")
        if "NotPrincipal" in st:
            problems.append(f"{sid} trusts everyone except NotPrincipal (Allow with NotPrincipal)")
        roots = [p for p in aws if ACCOUNT_ROOT.match(p)]
        if roots and not st.get("Condition"):
            problems.append(f"{sid} trusts account root {', '.join(roots)} without a Condition")
    return problems


def _forbidden(arn: str, names: list[str]) -> bool:
    if ":policy/" not in arn:
        return False
    last = arn.rsplit("/", 1)[-1]
    return any(last == name for name in names)


def _validate(
    args: ResourceValidationArgs, props: Props, cfg: Config, verdicts: Verdicts, report_violation: ReportViolation
) -> None:
    typ = args.resource_type
    names = [str(n) for n in cfg.get("forbiddenManagedPolicies") or []]
    problems = []
    for where, arn in managed_policy_arns(typ, props):
        if arn is UNKNOWN:
            verdicts.cannot_judge(f"{where}: the attached policy ARN is not known yet")
        elif isinstance(arn, str) and _forbidden(arn, names):
            problems.append(f"{where} attaches {arn}, an admin-equivalent managed policy")
    for where, kind, raw in documents(typ, props):
        doc, error = parse_document(raw)
        if doc is UNKNOWN:
            verdicts.cannot_judge(f"{where} is not known yet")
        elif error:
            problems.append(f"{where} is {error}")
        elif doc is not None:
            problems += _check(doc, kind, where)
    if problems:
        report_violation("; ".join(problems))


POLICY = declare(
    NAME, DESCRIPTION, REMEDIATION, CONFIG, level="mandatory", severity="high", resource=_validate, types=TYPES
)
