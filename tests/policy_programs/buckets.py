"""Programs for bucket-protection."""

from __future__ import annotations

import json

import pulumi_aws as aws
import pulumi_aws_native as native


def _tls_only(bucket: aws.s3.Bucket, deny: bool = True) -> None:
    aws.s3.BucketPolicy(
        "tls-only",
        bucket=bucket.id,
        policy=bucket.arn.apply(
            lambda arn: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "DenyInsecureTransport" if deny else "AllowRead",
                            "Effect": "Deny" if deny else "Allow",
                            "Principal": "*" if deny else {"AWS": "arn:aws:iam::123456789012:role/reader"},
                            "Action": "s3:*" if deny else "s3:GetObject",
                            "Resource": [arn, f"{arn}/*"],
                            **({"Condition": {"Bool": {"aws:SecureTransport": "false"}}} if deny else {}),
                        }
                    ],
                }
            )
        ),
    )


def _block(bucket: aws.s3.Bucket, restrict: bool = True) -> None:
    aws.s3.BucketPublicAccessBlock(
        "public-access",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=restrict,
    )


def _encrypt(bucket: aws.s3.Bucket) -> None:
    aws.s3.BucketServerSideEncryptionConfiguration(
        "encryption",
        bucket=bucket.id,
        rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms"}}],
    )


def protected_bucket():
    bucket = aws.s3.Bucket("data", bucket_prefix="hp-data-")
    _block(bucket)
    _encrypt(bucket)
    _tls_only(bucket)


def bare_bucket():
    aws.s3.Bucket("data", bucket_prefix="hp-data-")


def partial_public_access_block():
    bucket = aws.s3.Bucket("data", bucket_prefix="hp-data-")
    _block(bucket, restrict=False)
    _encrypt(bucket)
    _tls_only(bucket)


def policy_without_tls_deny():
    bucket = aws.s3.Bucket("data", bucket_prefix="hp-data-")
    _block(bucket)
    _encrypt(bucket)
    _tls_only(bucket, deny=False)


def _tls_statement(resources, operator: str = "Bool", **extra_conditions) -> dict:
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": resources,
        "Condition": {operator: {"aws:SecureTransport": "false"}, **extra_conditions},
    }


def _policy(bucket: aws.s3.Bucket, statement) -> None:
    """A bucket policy whose one statement ``statement(arn)`` builds from the bucket's ARN."""
    aws.s3.BucketPolicy(
        "tls-only",
        bucket=bucket.id,
        policy=bucket.arn.apply(lambda arn: json.dumps({"Version": "2012-10-17", "Statement": [statement(arn)]})),
    )


def _protected_but_policy(statement) -> None:
    bucket = aws.s3.Bucket("data", bucket_prefix="hp-data-")
    _block(bucket)
    _encrypt(bucket)
    _policy(bucket, statement)


def tls_deny_bool_if_exists():
    """``BoolIfExists`` aws:SecureTransport false is a TLS deny (the key is always present)."""
    _protected_but_policy(lambda arn: _tls_statement([arn, f"{arn}/*"], operator="BoolIfExists"))


def tls_deny_wildcard_covering_the_bucket():
    _protected_but_policy(lambda arn: _tls_statement(f"{arn}*"))


def tls_deny_names_another_bucket():
    _protected_but_policy(lambda arn: _tls_statement(["arn:aws:s3:::other-bucket", "arn:aws:s3:::other-bucket/*"]))


def tls_deny_bucket_but_not_objects():
    _protected_but_policy(lambda arn: _tls_statement([arn]))


def tls_deny_narrowed_by_condition():
    """Another condition key narrows the deny to some requests only."""
    _protected_but_policy(
        lambda arn: _tls_statement([arn, f"{arn}/*"], StringEquals={"aws:PrincipalAccount": "123456789012"})
    )


def tls_deny_other_bucket_unknown_at_preview():
    """A literal document naming another bucket: at preview this bucket's name is unknown (bucket_prefix)."""
    bucket = aws.s3.Bucket("data", bucket_prefix="hp-data-")
    _block(bucket)
    _encrypt(bucket)
    aws.s3.BucketPolicy(
        "tls-only",
        bucket=bucket.id,
        policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [_tls_statement(["arn:aws:s3:::other-bucket", "arn:aws:s3:::other-bucket/*"])],
            }
        ),
    )


# ---------------------------------------------------------------- aws-native buckets
BLOCK_ALL = {
    "block_public_acls": True,
    "block_public_policy": True,
    "ignore_public_acls": True,
    "restrict_public_buckets": True,
}
KMS = {"server_side_encryption_configuration": [{"server_side_encryption_by_default": {"sse_algorithm": "aws:kms"}}]}


def _native_bucket(**overrides) -> native.s3.Bucket:
    args = {
        "bucket_name": "hp-native-data",
        "public_access_block_configuration": BLOCK_ALL,
        "bucket_encryption": KMS,
        "versioning_configuration": {"status": "Enabled"},
        "ownership_controls": {"rules": [{"object_ownership": "BucketOwnerEnforced"}]},
        **overrides,
    }
    return native.s3.Bucket("native", **{k: v for k, v in args.items() if v is not None})


def _native_policy(bucket: native.s3.Bucket, deny: bool = True) -> None:
    native.s3.BucketPolicy(
        "native-tls-only",
        bucket=bucket.id,
        policy_document=bucket.arn.apply(
            lambda arn: {
                "Version": "2012-10-17",
                "Statement": [
                    _tls_statement([arn, f"{arn}/*"])
                    if deny
                    else {
                        "Effect": "Allow",
                        "Principal": {"AWS": "arn:aws:iam::123456789012:role/reader"},
                        "Action": "s3:GetObject",
                        "Resource": f"{arn}/*",
                    }
                ],
            }
        ),
    )


def native_protected_bucket():
    _native_policy(_native_bucket())


def native_bucket_with_separate_resources():
    """An aws-native bucket protected by the pulumi-aws resources (public access block, encryption)."""
    bucket = _native_bucket(public_access_block_configuration=None, bucket_encryption=None)
    aws.s3.BucketPublicAccessBlock("public-access", bucket=bucket.id, **{k: True for k in BLOCK_ALL})
    aws.s3.BucketServerSideEncryptionConfiguration(
        "encryption", bucket=bucket.id, rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}]
    )
    _native_policy(bucket)


def native_bare_bucket():
    native.s3.Bucket("native", bucket_name="hp-native-data")


def native_bucket_partial_block():
    _native_policy(_native_bucket(public_access_block_configuration={**BLOCK_ALL, "restrict_public_buckets": False}))


def native_bucket_unencrypted():
    _native_policy(_native_bucket(bucket_encryption=None))


def native_bucket_policy_without_tls_deny():
    _native_policy(_native_bucket(), deny=False)
