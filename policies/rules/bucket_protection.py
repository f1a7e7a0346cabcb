"""bucket-protection: every S3 bucket blocks public access, denies non-TLS requests and is encrypted.

A stack policy, because in pulumi-aws 7 each of these is its own resource linked to the bucket: a
``BucketPublicAccessBlock`` with all four settings true, a ``BucketServerSideEncryptionConfiguration``, and
a ``BucketPolicy`` with a Deny statement for ``aws:SecureTransport`` false. A resource counts for a bucket
when its ``bucket`` property depends on the bucket (at preview the name is unknown) or names it.
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from ._lib import UNKNOWN, Graph, Node, Verdicts, as_list, config_of, parse_document, statements

NAME = "bucket-protection"
BUCKET_TYPES = {"aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"}
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
ENCRYPTION_TYPES = {
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
}
POLICY_TYPE = "aws:s3/bucketPolicy:BucketPolicy"
BLOCK_SETTINGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
DEFAULTS: dict[str, Any] = {"exemptBuckets": []}

DESCRIPTION = (
    "Every S3 bucket has a public access block with all four settings on, default server-side "
    "encryption, and a bucket policy denying requests without TLS (aws:SecureTransport false)."
)
REMEDIATION = (
    "Add for the bucket: aws.s3.BucketPublicAccessBlock(block_public_acls, block_public_policy, "
    "ignore_public_acls, restrict_public_buckets all True); aws.s3.BucketServerSideEncryptionConfiguration "
    "(aws:kms or AES256); aws.s3.BucketPolicy with a statement Effect Deny, Principal '*', Action 's3:*', "
    "Resource [bucket ARN, bucket ARN/*], Condition Bool aws:SecureTransport 'false'. See "
    "components/lifecycle_bucket.py."
)


def _denies_insecure_transport(doc: Any) -> bool:
    for st in statements(doc):
        if st.get("Effect") != "Deny":
            continue
        principal = st.get("Principal")
        if principal not in ("*", {"AWS": "*"}) and not (
            isinstance(principal, dict) and "*" in as_list(principal.get("AWS"))
        ):
            continue
        actions = [str(a) for a in as_list(st.get("Action"))]
        if not any(a in ("*", "s3:*") for a in actions):
            continue
        cond = st.get("Condition") or {}
        value = (cond.get("Bool") or {}).get("aws:SecureTransport") if isinstance(cond, dict) else None
        if any(str(v).lower() == "false" for v in as_list(value)):
            return True
    return False


def _check(graph: Graph, bucket: Node, verdicts: Verdicts) -> list[str]:
    keys = ("id", "bucket")
    problems: list[str] = []
    # public access block
    blocks = graph.referrers({PUBLIC_ACCESS_BLOCK}, "bucket", bucket, keys)
    for block in blocks:
        values = [block.props.get(k) for k in BLOCK_SETTINGS]
        if all(v is True for v in values):
            continue
        if any(v is UNKNOWN for v in values):
            verdicts.cannot_judge(
                f"public access block {block.name} of bucket {bucket.name}: a setting is not known yet"
            )
        else:
            off = [k for k, v in zip(BLOCK_SETTINGS, values, strict=False) if v is not True]
            problems.append(f"public access block {block.name} leaves {', '.join(off)} off")
    if not blocks:
        problems.append("no BucketPublicAccessBlock")
    # encryption
    encryption = graph.referrers(ENCRYPTION_TYPES, "bucket", bucket, keys)
    inline = bucket.props.get("serverSideEncryptionConfiguration")
    if not encryption and not inline:
        problems.append("no BucketServerSideEncryptionConfiguration")
    for enc in encryption:
        rules = enc.props.get("rules")
        if rules is UNKNOWN:
            verdicts.cannot_judge(f"encryption {enc.name} of bucket {bucket.name}: its rules are not known yet")
        elif not rules:
            problems.append(f"encryption configuration {enc.name} has no rules")
    # TLS-only bucket policy
    documents = [(p.name, p.props.get("policy")) for p in graph.referrers({POLICY_TYPE}, "bucket", bucket, keys)]
    if bucket.props.get("policy"):
        documents.append((f"{bucket.name}.policy", bucket.props.get("policy")))
    denied, unknown = False, []
    for name, raw in documents:
        doc, error = parse_document(raw)
        if doc is UNKNOWN:
            unknown.append(name)
        elif error:
            problems.append(f"bucket policy {name} is {error}")
        elif _denies_insecure_transport(doc):
            denied = True
    if not denied:
        if unknown:
            verdicts.cannot_judge(
                f"bucket {bucket.name}: whether bucket policy {', '.join(unknown)} denies "
                "non-TLS requests (the document is not known yet)"
            )
        else:
            problems.append(
                "no bucket policy denying requests without TLS (aws:SecureTransport false)"
                if documents
                else "no BucketPolicy denying requests without TLS"
            )
    return problems


def _validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    cfg = config_of(args, DEFAULTS)
    exempt = {str(b) for b in cfg.get("exemptBuckets") or []}
    graph = Graph(args.resources)
    verdicts = Verdicts()
    for bucket in graph.of_type(*BUCKET_TYPES):
        if bucket.name in exempt or bucket.props.get("bucket") in exempt:
            continue
        problems = _check(graph, bucket, verdicts)
        if problems:
            report_violation("; ".join(problems), bucket.urn)
    verdicts.finish()


POLICY = StackValidationPolicy(
    name=NAME,
    description=DESCRIPTION,
    validate=_validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    remediation_steps=REMEDIATION,
    config_schema=PolicyConfigSchema(
        properties={
            "exemptBuckets": {
                "type": "array",
                "items": {"type": "string"},
                "default": DEFAULTS["exemptBuckets"],
                "description": "Resource or bucket names exempt from this rule (e.g. a website bucket).",
            },
        }
    ),
)
