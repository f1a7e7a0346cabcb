"""bucket-wildcard-delegation-only: a bucket policy allows Principal ``*`` only to delegate to access points.

The data account's bucket policy (seed 004) hands access control to the teams' access points with an Allow
for ``"Principal": "*"`` conditioned on ``StringEquals {"s3:DataAccessPointAccount": "<account>"}``: only
requests made through an access point of that account match, and each access point's own policy decides who.
Any other Allow of ``*`` (``"*"``, ``{"AWS": "*"}``, also in a list) or Allow with ``NotPrincipal`` (everyone
but someone) opens the bucket to every AWS account. Required in such a statement: ``s3:DataAccessPointAccount``
under ``StringEquals`` (plain or ``ForAnyValue:``; not ``...IfExists``, which passes requests made without an
access point) with literal 12-digit account IDs. Other conditions may narrow it further. Deny statements with
``*`` (the TLS-only deny of bucket-protection) are fine.

Judged in ``aws.s3.BucketPolicy`` (``policy``, JSON), aws-native ``s3.BucketPolicy`` (``policyDocument``) and
a bucket's own ``policy`` input. A document not known yet (preview) is a "cannot judge" note.
"""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs

from ._declare import Config, Props, declare, option
from ._iam import ACCOUNT_ID, conditions, is_allow, is_public_principal, positive_operator, strings
from ._lib import UNKNOWN, Verdicts, parse_document, statements

NAME = "bucket-wildcard-delegation-only"
# type -> its policy document input
TYPES = {
    "aws:s3/bucketPolicy:BucketPolicy": "policy",
    "aws-native:s3:BucketPolicy": "policyDocument",
    "aws:s3/bucket:Bucket": "policy",
    "aws:s3/bucketV2:BucketV2": "policy",
}
OWN_POLICY = {"aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"}  # a bucket's own policy input
DELEGATION_KEY = "s3:dataaccesspointaccount"
CONFIG = {
    "exemptBuckets": option([], "Resource or bucket names whose policy may allow Principal '*' (e.g. a website)."),
}

DESCRIPTION = (
    "A bucket policy allows Principal '*' (or {'AWS': '*'}, or everyone but a NotPrincipal) only with the "
    "access-point delegation condition StringEquals s3:DataAccessPointAccount naming the access points' "
    "account; Deny statements with '*' are fine."
)
REMEDIATION = (
    "Delegate to the access points: Condition {'StringEquals': {'s3:DataAccessPointAccount': '<account of the "
    "access points>'}} on the statement with Principal '*', and grant the teams in each access point's policy "
    "(aws.s3control.AccessPointPolicy); or name the principals ({'AWS': 'arn:aws:iam::<account>:role/<role>'}) "
    "instead of '*'."
)


def _delegation(st: dict) -> tuple[bool, str]:
    """(delegated, why not) for an Allow statement to everyone."""
    why = ""
    for op, key, values in conditions(st):
        if key != DELEGATION_KEY:
            continue
        if not positive_operator(op, {"StringEquals"}):
            why = f"{op} s3:DataAccessPointAccount does not require an access point (use StringEquals)"
        elif not values or not all(ACCOUNT_ID.match(v) for v in values):
            why = f"s3:DataAccessPointAccount {values} is not a list of 12-digit account IDs"
        else:
            return True, ""
    return False, why


def _check(doc: dict, where: str) -> list[str]:
    problems = []
    for i, st in enumerate(statements(doc)):
        if not is_allow(st):
            continue
        if "NotPrincipal" in st:
            who = f"everyone except NotPrincipal {st.get('NotPrincipal')}"
        elif is_public_principal(st.get("Principal")):
            who = f"Principal {st.get('Principal')!r}"
        else:
            continue
        ok, why = _delegation(st)
        if ok:
            continue
        actions = strings(st.get("Action")) or strings(st.get("NotAction"))
        problems.append(
            f"{where} statement {st.get('Sid') or i} allows {who} {actions} without Condition StringEquals "
            f"s3:DataAccessPointAccount" + (f" ({why})" if why else "")
        )
    return problems


def _validate(
    args: ResourceValidationArgs, props: Props, cfg: Config, verdicts: Verdicts, report_violation: ReportViolation
) -> None:
    exempt = {str(n) for n in cfg.get("exemptBuckets") or []}
    bucket = props.get("bucket")
    if args.name in exempt or (isinstance(bucket, str) and bucket in exempt):
        return
    key = TYPES[args.resource_type]
    doc, error = parse_document(props.get(key))
    if doc is UNKNOWN:
        verdicts.cannot_judge(f"{args.name}: {key} is not known yet")
        return
    if error or not isinstance(doc, dict):  # iam-least-privilege / bucket-protection report a malformed one
        return
    problems = _check(doc, key)
    if problems:
        on = f" of bucket {bucket}" if isinstance(bucket, str) and bucket else ""
        what = f"bucket {args.name}'s policy" if args.resource_type in OWN_POLICY else f"bucket policy {args.name}{on}"
        report_violation(
            f"{what}: "
            + "; ".join(problems)
            + ": so any AWS account may use the bucket directly; add {'StringEquals': {'s3:DataAccessPointAccount': "
            "'<account of the access points>'}} to delegate to the access points, or name the principals"
        )


POLICY = declare(
    NAME, DESCRIPTION, REMEDIATION, CONFIG, level="mandatory", severity="critical", resource=_validate, types=TYPES
)
