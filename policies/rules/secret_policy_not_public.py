"""secret-policy-not-public: a Secrets Manager resource policy never opens a secret to any AWS account.

Judges every resource policy a secret can get: ``aws.secretsmanager.SecretPolicy`` (``policy``), the
deprecated ``policy`` input of ``aws.secretsmanager.Secret``, and aws-native
``secretsmanager.ResourcePolicy`` (``resourcePolicy``, an object). An Allow statement whose Principal is
public (``"*"``, ``{"AWS": "*"}``) or that uses ``NotPrincipal`` is a violation unless its Condition pins
the caller to an account or organization: ``aws:PrincipalAccount`` / ``aws:SourceAccount`` (12-digit
values), ``aws:PrincipalOrgID`` / ``aws:SourceOrgID`` (literal ``o-...``), ``aws:PrincipalOrgPaths`` /
``aws:SourceOrgPaths`` (a literal ``o-.../`` prefix), or ``aws:PrincipalArn`` / ``aws:SourceArn`` with a
literal account field, under a String/Arn operator that requires the key (not ``...IfExists``, not
``ForAllValues:``). Deny statements with Principal ``*`` are how the stack narrows its secrets and are fine.
"""

from __future__ import annotations

import re
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs

from ._declare import Config, Props, declare, option
from ._iam import conditions, is_allow, is_public_principal, positive_operator
from ._lib import UNKNOWN, Verdicts, parse_document, statements

NAME = "secret-policy-not-public"
POLICY_INPUTS = {
    "aws:secretsmanager/secretPolicy:SecretPolicy": "policy",
    "aws:secretsmanager/secret:Secret": "policy",
    "aws-native:secretsmanager:ResourcePolicy": "resourcePolicy",
}
CONFIG = {"exemptResources": option([], "Resource names exempt from this rule (a secret deliberately shared).")}
OPS = {"StringEquals", "StringLike", "ArnEquals", "ArnLike"}
ACCOUNT = re.compile(r"^\d{12}$")

DESCRIPTION = (
    "No Secrets Manager resource policy allows a public principal ('*', {'AWS': '*'}) or uses Allow with "
    "NotPrincipal without a Condition pinning the account or organization."
)
REMEDIATION = (
    "Name the principals that may read the secret ({'AWS': 'arn:aws:iam::<account>:role/<role>'}), or add a "
    "Condition such as {'StringEquals': {'aws:PrincipalAccount': '<account>'}} or "
    "{'StringEquals': {'aws:PrincipalOrgID': 'o-...'}}; keep BlockPublicPolicy on."
)


def _pins(key: str, value: str) -> bool:
    if "*" in value or "?" in value:
        if key in ("aws:principalorgpaths", "aws:sourceorgpaths"):
            return re.match(r"^o-[a-z0-9]+/", re.split(r"[*?]", value, maxsplit=1)[0]) is not None
        if key in ("aws:principalarn", "aws:sourcearn"):
            parts = value.split(":")
            return len(parts) > 5 and ACCOUNT.match(parts[4]) is not None
        return False
    if key in ("aws:principalaccount", "aws:sourceaccount"):
        return ACCOUNT.match(value) is not None
    if key in ("aws:principalorgid", "aws:sourceorgid"):
        return value.startswith("o-")
    if key in ("aws:principalorgpaths", "aws:sourceorgpaths"):
        return value.startswith("o-")
    if key in ("aws:principalarn", "aws:sourcearn"):
        parts = value.split(":")
        return len(parts) > 5 and ACCOUNT.match(parts[4]) is not None
    return False


def _pinned(st: dict[str, Any]) -> bool:
    return any(
        positive_operator(op, OPS) and values and all(_pins(key, v) for v in values)
        for op, key, values in conditions(st)
    )


def public_statements(doc: Any, where: str) -> list[str]:
    problems = []
    for i, st in enumerate(statements(doc)):
        if not is_allow(st):
            continue
        sid = f"{where} statement {st.get('Sid') or i}"
        if "NotPrincipal" in st and not _pinned(st):
            problems.append(f"{sid} allows everyone except NotPrincipal without a Condition pinning the account")
        elif is_public_principal(st.get("Principal")) and not _pinned(st):
            problems.append(f"{sid} allows a public principal without a Condition pinning the account or org")
    return problems


def _validate(
    args: ResourceValidationArgs, props: Props, cfg: Config, verdicts: Verdicts, report_violation: ReportViolation
) -> None:
    if args.name in set(cfg.get("exemptResources") or []):
        return
    key = POLICY_INPUTS[args.resource_type]
    doc, error = parse_document(props.get(key))
    if doc is UNKNOWN:
        verdicts.cannot_judge(f"{key} is not known yet")
    elif error:
        report_violation(f"{key} is {error}")
    elif doc is not None:
        problems = public_statements(doc, key)
        if problems:
            report_violation("; ".join(problems))


POLICY = declare(
    NAME, DESCRIPTION, REMEDIATION, CONFIG, level="mandatory", severity="high", resource=_validate, types=POLICY_INPUTS
)
