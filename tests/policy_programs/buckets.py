"""Programs for bucket-protection."""

from __future__ import annotations

import json

import pulumi_aws as aws


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
