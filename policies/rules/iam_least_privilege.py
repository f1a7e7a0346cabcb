"""iam-least-privilege: no wildcard trust, no unconditioned account-root trust, no ``Action: "*"``.

Policy documents arrive as JSON strings in pulumi-aws inputs (``assumeRolePolicy``, ``policy``,
``inlinePolicies[].policy``) and as objects in aws-native ones; both are judged. At preview a document built
from other resources' outputs is unknown as a whole: that is reported as "cannot judge", never as a pass.
Attaching the AdministratorAccess managed policy counts as ``Action: "*"``.
"""

from __future__ import annotations

import re
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

from ._iam import DOCUMENTS, documents
from ._lib import UNKNOWN, Verdicts, as_list, config_of, parse_document, plain, statements

NAME = "iam-least-privilege"
ATTACHMENT_TYPES = {
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
    "aws:iam/policyAttachment:PolicyAttachment",
}
ACCOUNT_ROOT = re.compile(r"^(arn:aws[a-z-]*:iam::\d{12}:root|\d{12})$")
DEFAULTS: dict[str, Any] = {"forbiddenManagedPolicies": ["AdministratorAccess"]}

DESCRIPTION = (
    "IAM is least-privilege: no trust policy with Principal '*', no account-root trust without a "
    "Condition, no Allow of Action '*'."
)
REMEDIATION = (
    "Trust a named service or role (Principal {'Service': 'sagemaker.amazonaws.com'}) with "
    "aws:SourceAccount "
    "/ aws:SourceArn conditions; when trusting an account root add a Condition (e.g. aws:PrincipalArn or "
    "sts:ExternalId); list the actions a role needs instead of '*' and never attach AdministratorAccess."
)


def _principals(principal: Any) -> list[str]:
    if isinstance(principal, str):
        return [principal]
    if isinstance(principal, dict):
        return [str(p) for v in principal.values() for p in as_list(v)]
    return []


def _check(doc: Any, kind: str, where: str) -> list[str]:
    problems = []
    for i, st in enumerate(statements(doc)):
        if st.get("Effect") != "Allow":
            continue
        sid = f"{where} statement {st.get('Sid') or i}"
        if "*" in [str(a) for a in as_list(st.get("Action"))]:
            problems.append(f"{sid} allows Action '*'")
        if kind != "trust":
            continue
        principal = st.get("Principal")
        aws = [str(p) for p in as_list(principal.get("AWS"))] if isinstance(principal, dict) else []
        if principal == "*" or "*" in _principals(principal):
            problems.append(f"{sid} trusts Principal '*' (anyone)")
        roots = [p for p in aws if ACCOUNT_ROOT.match(p)]
        if roots and not st.get("Condition"):
            problems.append(f"{sid} trusts account root {', '.join(roots)} without a Condition")
    return problems


def _validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    typ = args.resource_type
    if typ not in DOCUMENTS and typ not in ATTACHMENT_TYPES:
        return
    cfg = config_of(args, DEFAULTS)
    props = plain(args.props) or {}
    verdicts = Verdicts()
    if typ in ATTACHMENT_TYPES:
        arn = props.get("policyArn")
        if arn is UNKNOWN:
            verdicts.cannot_judge("the attached policy ARN is not known yet")
        elif isinstance(arn, str) and any(
            arn.endswith(f":policy/{name}") for name in cfg.get("forbiddenManagedPolicies") or []
        ):
            report_violation(f"attaches {arn}, which allows Action '*'")
        verdicts.finish()
        return
    problems = []
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
    verdicts.finish()


POLICY = ResourceValidationPolicy(
    name=NAME,
    description=DESCRIPTION,
    validate=_validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    remediation_steps=REMEDIATION,
    config_schema=PolicyConfigSchema(
        properties={
            "forbiddenManagedPolicies": {
                "type": "array",
                "items": {"type": "string"},
                "default": DEFAULTS["forbiddenManagedPolicies"],
                "description": "Managed policy names that must never be attached.",
            },
        }
    ),
)
