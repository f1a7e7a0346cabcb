"""iam-oidc-trust-pinned: a role trusting an OIDC identity provider pins who may assume it.

A trust statement (Allow) whose Principal is ``{"Federated": ...}`` an OIDC provider (GitHub's
``token.actions.githubusercontent.com``, any ``arn:...:oidc-provider/<host>``, an EKS cluster's
``oidc.eks.<region>.amazonaws.com/id/<id>``, or a web-identity provider such as ``accounts.google.com``)
lets anyone with a token from that provider assume the role unless the Condition names the subject and the
audience. Required, in the same statement:

* ``<host>:sub`` under ``StringEquals`` (any value) or ``StringLike`` whose every value pins an owner: its
  text before the first wildcard is not empty nor a bare prefix such as ``repo:`` — for GitHub
  ``repo:<owner>/`` with a literal owner (``repo:*``, ``repo:org*`` do not pin), for EKS
  ``system:serviceaccount:<namespace>:`` with a literal namespace;
* ``<host>:aud`` under ``StringEquals``/``StringLike`` with no bare ``*`` value.

``...IfExists`` and ``ForAllValues:`` forms do not count (they pass when the key is absent); ``ForAnyValue:``
does. Cognito identity pools (``cognito-identity.amazonaws.com``) need the audience (the pool) only: their
``sub`` is a per-user identity id. SAML providers are not OIDC and are not judged here.
"""

from __future__ import annotations

import re
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs

from ._declare import Config, Props, declare, option
from ._iam import DOCUMENTS, conditions, documents, is_allow, only_wildcards, positive_operator, strings
from ._lib import UNKNOWN, Verdicts, parse_document, statements

NAME = "iam-oidc-trust-pinned"
GITHUB = "token.actions.githubusercontent.com"
COGNITO = "cognito-identity.amazonaws.com"
STRING_OPS = {"StringEquals", "StringEqualsIgnoreCase", "StringLike"}
CONFIG = {
    "requireAudience": option(True, "Require the ':aud' condition besides ':sub' (Cognito: ':aud' only, always)."),
}

DESCRIPTION = (
    "A role trusting an OIDC provider (GitHub Actions, EKS, any oidc-provider) has Conditions on the "
    "provider's ':sub' claim (a pinned owner/repository or namespace, not '*' or 'repo:*') and ':aud'."
)
REMEDIATION = (
    "Add to the trust statement, for GitHub: Condition {'StringEquals': "
    "{'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com'}, 'StringLike': "
    "{'token.actions.githubusercontent.com:sub': 'repo:<owner>/<repo>:ref:refs/heads/main'}}; for EKS: "
    "'<oidc host>:sub': 'system:serviceaccount:<namespace>:<service account>' and '<oidc host>:aud': "
    "'sts.amazonaws.com'."
)


def provider_host(federated: str) -> str:
    """``token.actions.githubusercontent.com`` for the provider ARN or the bare host; '' for SAML."""
    if ":saml-provider/" in federated:
        return ""
    if ":oidc-provider/" in federated:
        return federated.split(":oidc-provider/", 1)[1]
    return federated


def _pins_subject(value: str, host: str) -> bool:
    prefix = re.split(r"[*?]", value, maxsplit=1)[0]
    if prefix == value:  # no wildcard: StringLike is an exact match
        return bool(value)
    if host.lower() == GITHUB or prefix.startswith("repo:"):
        return re.match(r"^repo:[^/:]+/", prefix) is not None
    if prefix.startswith("system:serviceaccount:"):
        return re.match(r"^system:serviceaccount:[^:]+:", prefix) is not None
    return re.fullmatch(r"[^:/]*[:/]?", prefix) is None


def _claim(st: dict[str, Any], host: str, claim: str) -> tuple[bool, list[str]]:
    """(pinned, why not) for the ``<host>:<claim>`` condition of a statement."""
    key = f"{host}:{claim}".lower()
    found, why = False, []
    for op, k, values in conditions(st):
        if k != key:
            continue
        if not positive_operator(op, STRING_OPS):
            why.append(f"{op} does not require {host}:{claim} to match")
            continue
        like = op.endswith("StringLike")
        if not values:
            why.append(f"{op} {host}:{claim} has no value")
        elif claim == "sub" and like and not all(_pins_subject(v, host) for v in values):
            why.append(f"{op} {host}:sub {values} does not pin an owner")
        elif like and any(only_wildcards(v) for v in values):
            why.append(f"{op} {host}:{claim} {values} matches anything")
        else:
            found = True
    return found, why


def _check(doc: Any, where: str, require_audience: bool) -> list[str]:
    problems = []
    for i, st in enumerate(statements(doc)):
        principal = st.get("Principal")
        if not is_allow(st) or not isinstance(principal, dict):
            continue
        sid = f"{where} statement {st.get('Sid') or i}"
        for federated in strings(principal.get("Federated")):
            host = provider_host(federated)
            if not host:
                continue
            claims = ("aud",) if host.lower() == COGNITO else ("sub", "aud") if require_audience else ("sub",)
            for claim in claims:
                ok, why = _claim(st, host, claim)
                if not ok:
                    detail = f" ({'; '.join(why)})" if why else ""
                    problems.append(f"{sid} trusts {federated} without a condition on {host}:{claim}{detail}")
    return problems


def _validate(
    args: ResourceValidationArgs, props: Props, cfg: Config, verdicts: Verdicts, report_violation: ReportViolation
) -> None:
    require_audience = cfg.get("requireAudience") is not False
    problems = []
    for where, kind, raw in documents(args.resource_type, props):
        if kind != "trust":
            continue
        doc, error = parse_document(raw)
        if doc is UNKNOWN:
            verdicts.cannot_judge(f"{where} is not known yet")
        elif doc is not None and not error:  # iam-least-privilege reports malformed documents
            problems += _check(doc, where, require_audience)
    if problems:
        report_violation("; ".join(problems))


POLICY = declare(
    NAME, DESCRIPTION, REMEDIATION, CONFIG, level="mandatory", severity="high", resource=_validate, types=DOCUMENTS
)
