"""Programs for secret-policy-not-public and secret-has-resource-policy."""

from __future__ import annotations

import json

import pulumi_aws as aws
import pulumi_aws_native as native

ACCOUNT = "123456789012"
DEPLOYER = f"arn:aws:iam::{ACCOUNT}:role/ci/platform-deployer"


def _doc(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _read(principal, resource="*", **extra) -> dict:
    return {
        "Effect": "Allow",
        "Principal": principal,
        "Action": "secretsmanager:GetSecretValue",
        "Resource": resource,
        **extra,
    }


def _deployer_only(arn: str) -> dict:
    """The stack's own style: deny every principal but the named ones."""
    return _doc(
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": arn,
            "Condition": {"ArnNotEquals": {"aws:PrincipalArn": [DEPLOYER]}},
        }
    )


def _secret_with_policy(document) -> None:
    secret = aws.secretsmanager.Secret("token")
    aws.secretsmanager.SecretPolicy(
        "token", secret_arn=secret.arn, policy=secret.arn.apply(lambda arn: json.dumps(document(arn)))
    )


# ---------------------------------------------------------------- compliant
def deny_all_but_deployer():
    _secret_with_policy(_deployer_only)


def public_principal_pinned_to_org_and_account():
    _secret_with_policy(
        lambda arn: _doc(
            _read("*", arn, Condition={"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}),
            _read({"AWS": "*"}, arn, Condition={"StringEquals": {"aws:PrincipalAccount": ACCOUNT}}),
            _read({"AWS": "*"}, arn, Condition={"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/app-*"}}),
        )
    )


def native_secret_with_resource_policy():
    secret = native.secretsmanager.Secret("native-token", description="a token")
    native.secretsmanager.ResourcePolicy(
        "native-token",
        secret_id=secret.id,
        block_public_policy=True,
        resource_policy=secret.id.apply(_deployer_only),
    )


def secret_with_own_policy():
    """The (deprecated) policy input of the secret itself counts as its resource policy."""
    aws.secretsmanager.Secret("token", policy=json.dumps(_doc(_read({"AWS": DEPLOYER}))))


# ---------------------------------------------------------------- secret-policy-not-public
def public_read():
    _secret_with_policy(lambda arn: _doc(_read("*", arn)))


def public_read_with_condition_that_pins_nothing():
    _secret_with_policy(
        lambda arn: _doc(
            _read({"AWS": ["*"]}, arn, Condition={"StringLike": {"aws:PrincipalAccount": "*"}}),
        )
    )


def public_read_pinned_only_if_exists():
    _secret_with_policy(
        lambda arn: _doc(_read("*", arn, Condition={"StringEqualsIfExists": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}))
    )


def allow_with_not_principal():
    _secret_with_policy(
        lambda arn: _doc(
            {
                "Effect": "Allow",
                "NotPrincipal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/blocked"},
                "Action": "secretsmanager:GetSecretValue",
                "Resource": arn,
            }
        )
    )


def secret_own_policy_public():
    aws.secretsmanager.Secret("token", policy=json.dumps(_doc(_read("*"))))


def native_resource_policy_public():
    secret = native.secretsmanager.Secret("native-token")
    native.secretsmanager.ResourcePolicy("native-token", secret_id=secret.id, resource_policy=_doc(_read({"AWS": "*"})))


# ---------------------------------------------------------------- secret-has-resource-policy
def secret_without_policy():
    aws.secretsmanager.Secret("token", description="no resource policy")


def native_secret_without_policy():
    native.secretsmanager.Secret("native-token")


def policy_for_another_secret():
    """Two secrets, one policy: the second secret has none."""
    _secret_with_policy(_deployer_only)
    aws.secretsmanager.Secret("other-token")
