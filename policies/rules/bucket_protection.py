"""bucket-protection: every S3 bucket blocks public access, denies non-TLS requests and is encrypted.

A stack policy, because in pulumi-aws 7 each of these is its own resource linked to the bucket: a
``BucketPublicAccessBlock`` with all four settings true, a ``BucketServerSideEncryptionConfiguration``, and
a ``BucketPolicy`` with a Deny statement for ``aws:SecureTransport`` false. A resource counts for a bucket
when its ``bucket`` property depends on the bucket (at preview the name is unknown) or names it.

aws-native buckets (``aws-native:s3:Bucket``) are judged the same way: their own
``publicAccessBlockConfiguration`` (all four settings true) and ``bucketEncryption``
(``serverSideEncryptionConfiguration`` rules) count, as do the separate pulumi-aws resources above and
aws-native ``BucketPolicy`` (``policyDocument``, an object) naming the bucket. Versioning and ownership
controls are not part of this rule, for either provider.

The TLS deny is a Deny statement with Principal ``*`` (or ``{"AWS": "*"}``), Action ``*`` or ``s3:*``, a
Condition of only ``Bool`` or ``BoolIfExists`` ``aws:SecureTransport`` ``false`` (any other condition would
narrow it), and ``Resource`` patterns that cover this bucket's ARN and every object in it (``arn`` and
``arn/*``, or a wildcard covering both), matched against the bucket's ARN and name from the plan; a deny that
names another bucket does not count. When the bucket's ARN and name are not known yet (preview), whether the
deny names it cannot be judged and is said so.
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import ReportViolation

from ._declare import Config, declare, option
from ._iam import conditions, is_deny, is_public_principal, only_wildcards, strings, wildcard_match
from ._lib import UNKNOWN, Graph, Node, Verdicts, parse_document, statements

NAME = "bucket-protection"
NATIVE_BUCKET = "aws-native:s3:Bucket"
BUCKET_TYPES = {"aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2", NATIVE_BUCKET}
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
ENCRYPTION_TYPES = {
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
}
# bucket policy type -> its document property
POLICY_TYPES = {"aws:s3/bucketPolicy:BucketPolicy": "policy", "aws-native:s3:BucketPolicy": "policyDocument"}
BLOCK_SETTINGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
KEYS = ("id", "bucket", "bucketName")
PARTITIONS = ("aws", "aws-cn", "aws-us-gov")
CONFIG = {
    "exemptBuckets": option([], "Resource or bucket names exempt from this rule (e.g. a website bucket)."),
}

DESCRIPTION = (
    "Every S3 bucket (pulumi-aws or aws-native) has a public access block with all four settings on, "
    "default server-side encryption, and a bucket policy denying requests without TLS (aws:SecureTransport "
    "false) on the bucket itself and its objects."
)
REMEDIATION = (
    "Add for the bucket: aws.s3.BucketPublicAccessBlock(block_public_acls, block_public_policy, "
    "ignore_public_acls, restrict_public_buckets all True); aws.s3.BucketServerSideEncryptionConfiguration "
    "(aws:kms or AES256); aws.s3.BucketPolicy with a statement Effect Deny, Principal '*', Action 's3:*', "
    "Resource [bucket ARN, bucket ARN/*], Condition Bool aws:SecureTransport 'false'. For an aws-native "
    "bucket, its publicAccessBlockConfiguration and bucketEncryption inputs do the first two. See "
    "hyperpod_platform/lifecycle_bucket.py."
)


def _bucket_arns(bucket: Node) -> Any:
    """The ARNs the bucket is known by, or UNKNOWN when neither its ARN nor its name is known yet."""
    arns = set()
    arn = bucket.props.get("arn")
    if isinstance(arn, str) and arn:
        arns.add(arn)
    for key in ("bucket", "bucketName"):
        name = bucket.props.get(key)
        if isinstance(name, str) and name:
            arns.update(f"arn:{p}:s3:::{name}" for p in PARTITIONS)
    if bucket.type == "aws:s3/bucket:Bucket" or bucket.type == "aws:s3/bucketV2:BucketV2":
        rid = bucket.props.get("id")
        if isinstance(rid, str) and rid:
            arns.update(f"arn:{p}:s3:::{rid}" for p in PARTITIONS)
    return arns or UNKNOWN


def _covers(resources: list[str], arns: set[str]) -> bool:
    """Whether the Resource patterns cover one of the bucket's ARNs and every object in that bucket."""
    for arn in arns:
        bucket = any(wildcard_match(r, arn) for r in resources)
        objects = any(r.endswith("*") and wildcard_match(r, arn + "/") for r in resources)
        if bucket and objects:
            return True
    return False


def _all_of_s3(action: str) -> bool:
    service, _, act = action.partition(":")
    return service.lower() == "s3" and only_wildcards(act)


def _tls_denies(doc: Any) -> list[dict[str, Any]]:
    """The statements that deny every S3 request without TLS, whatever resources they name."""
    found = []
    for st in statements(doc):
        if not is_deny(st) or "NotPrincipal" in st or "NotAction" in st or "NotResource" in st:
            continue
        if not is_public_principal(st.get("Principal")):
            continue
        actions = strings(st.get("Action"))
        if not any(only_wildcards(a) or _all_of_s3(a) for a in actions):
            continue
        conds = conditions(st)
        if len(conds) != 1:
            continue
        op, key, values = conds[0]
        if op in ("Bool", "BoolIfExists") and key == "aws:securetransport" and values:
            if all(v.lower() == "false" for v in values):
                found.append(st)
    return found


def _public_access_block(graph: Graph, bucket: Node, verdicts: Verdicts) -> list[str]:
    blocks = [(b.name, b.props) for b in graph.referrers({PUBLIC_ACCESS_BLOCK}, "bucket", bucket, KEYS)]
    if bucket.type == NATIVE_BUCKET:
        inline = bucket.props.get("publicAccessBlockConfiguration")
        if inline is UNKNOWN:
            verdicts.cannot_judge(f"bucket {bucket.name}: publicAccessBlockConfiguration is not known yet")
            return []
        if isinstance(inline, dict):
            blocks.append((f"{bucket.name}.publicAccessBlockConfiguration", inline))
    problems = []
    for name, props in blocks:
        values = [props.get(k) for k in BLOCK_SETTINGS]
        if all(v is True for v in values):
            continue
        if any(v is UNKNOWN for v in values):
            verdicts.cannot_judge(f"public access block {name} of bucket {bucket.name}: a setting is not known yet")
        else:
            off = [k for k, v in zip(BLOCK_SETTINGS, values, strict=False) if v is not True]
            problems.append(f"public access block {name} leaves {', '.join(off)} off")
    if not blocks:
        problems.append(
            "no BucketPublicAccessBlock"
            + (" nor publicAccessBlockConfiguration" if bucket.type == NATIVE_BUCKET else "")
        )
    return problems


def _encryption(graph: Graph, bucket: Node, verdicts: Verdicts) -> list[str]:
    problems = []
    encryption = graph.referrers(ENCRYPTION_TYPES, "bucket", bucket, KEYS)
    if bucket.type == NATIVE_BUCKET:
        inline = bucket.props.get("bucketEncryption")
        rules = inline.get("serverSideEncryptionConfiguration") if isinstance(inline, dict) else inline
        if rules is UNKNOWN:
            verdicts.cannot_judge(f"bucket {bucket.name}: bucketEncryption is not known yet")
            return []
        if not encryption and not rules:
            problems.append(
                "no bucketEncryption.serverSideEncryptionConfiguration nor BucketServerSideEncryptionConfiguration"
            )
    elif not encryption and not bucket.props.get("serverSideEncryptionConfiguration"):
        problems.append("no BucketServerSideEncryptionConfiguration")
    for enc in encryption:
        rules = enc.props.get("rules")
        if rules is UNKNOWN:
            verdicts.cannot_judge(f"encryption {enc.name} of bucket {bucket.name}: its rules are not known yet")
        elif not rules:
            problems.append(f"encryption configuration {enc.name} has no rules")
    return problems


def _check(graph: Graph, bucket: Node, verdicts: Verdicts) -> list[str]:
    problems = _public_access_block(graph, bucket, verdicts) + _encryption(graph, bucket, verdicts)
    # TLS-only bucket policy, on this bucket
    documents = [
        (p.name, p.props.get(key))
        for typ, key in POLICY_TYPES.items()
        for p in graph.referrers({typ}, "bucket", bucket, KEYS)
    ]
    if bucket.props.get("policy"):
        documents.append((f"{bucket.name}.policy", bucket.props.get("policy")))
    arns = _bucket_arns(bucket)
    denied, unknown, elsewhere = False, [], []
    for name, raw in documents:
        doc, error = parse_document(raw)
        if doc is UNKNOWN:
            unknown.append(name)
        elif error:
            problems.append(f"bucket policy {name} is {error}")
        else:
            for st in _tls_denies(doc):
                resources = strings(st.get("Resource"))
                if arns is UNKNOWN:
                    unknown.append(f"{name} (the bucket's ARN)")
                elif _covers(resources, arns):
                    denied = True
                else:
                    elsewhere.append(f"{name} ({', '.join(resources) or 'no Resource'})")
    if not denied:
        if unknown:
            verdicts.cannot_judge(
                f"bucket {bucket.name}: whether bucket policy {', '.join(unknown)} denies "
                "non-TLS requests to it (not known yet)"
            )
        elif elsewhere:
            problems.append(
                f"the TLS deny in {'; '.join(elsewhere)} does not name this bucket and its objects "
                "(bucket ARN and ARN/*)"
            )
        else:
            problems.append(
                "no bucket policy denying requests without TLS (aws:SecureTransport false)"
                if documents
                else "no BucketPolicy denying requests without TLS"
            )
    return problems


def _validate(graph: Graph, cfg: Config, verdicts: Verdicts, report_violation: ReportViolation) -> None:
    exempt = {str(b) for b in cfg.get("exemptBuckets") or []}
    for bucket in graph.of_type(*BUCKET_TYPES):
        if bucket.name in exempt or bucket.props.get("bucket") in exempt:
            continue
        problems = _check(graph, bucket, verdicts)
        if problems:
            report_violation("; ".join(problems), bucket.urn)


POLICY = declare(NAME, DESCRIPTION, REMEDIATION, CONFIG, level="mandatory", severity="high", stack=_validate)
