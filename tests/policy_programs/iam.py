"""Programs for iam-least-privilege and iam-parliament-findings."""

from __future__ import annotations

import json

import pulumi_aws as aws
import pulumi_aws_native as native

ACCOUNT = "123456789012"


def _doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _trust(principal, condition=None) -> str:
    st = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    if condition:
        st["Condition"] = condition
    return _doc(st)


def service_role():
    """A role SageMaker may assume for this account's clusters, with a scoped inline policy."""
    role = aws.iam.Role(
        "node",
        assume_role_policy=_trust(
            {"Service": "sagemaker.amazonaws.com"},
            {
                "StringEquals": {"aws:SourceAccount": ACCOUNT},
                "ArnLike": {"aws:SourceArn": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:cluster/*"},
            },
        ),
    )
    aws.iam.RolePolicy(
        "read-scripts",
        role=role.id,
        policy=_doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::hp-bucket/lifecycle/*"}),
    )
    aws.iam.RolePolicyAttachment(
        "managed", role=role.name, policy_arn="arn:aws:iam::aws:policy/AmazonSageMakerClusterInstanceRolePolicy"
    )


def trust_account_root_with_condition():
    aws.iam.Role(
        "cross",
        assume_role_policy=_trust(
            {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/admins-*"}},
        ),
    )


def trust_anyone():
    aws.iam.Role("open", assume_role_policy=_trust({"AWS": "*"}))


def trust_account_root_unconditioned():
    aws.iam.Role("cross", assume_role_policy=_trust({"AWS": [f"arn:aws:iam::{ACCOUNT}:root"]}))


def action_star():
    role = aws.iam.Role("node", assume_role_policy=_trust({"Service": "ec2.amazonaws.com"}))
    aws.iam.RolePolicy("everything", role=role.id, policy=_doc({"Effect": "Allow", "Action": "*", "Resource": "*"}))


def administrator_access():
    role = aws.iam.Role("node", assume_role_policy=_trust({"Service": "ec2.amazonaws.com"}))
    aws.iam.RolePolicyAttachment("admin", role=role.name, policy_arn="arn:aws:iam::aws:policy/AdministratorAccess")


def malformed_policy():
    role = aws.iam.Role("node", assume_role_policy=_trust({"Service": "ec2.amazonaws.com"}))
    aws.iam.RolePolicy("broken", role=role.id, policy='{"Version": "2012-10-17", "Statement": [')


def native_role_trusts_anyone():
    """aws-native passes documents as objects, not JSON strings."""
    native.iam.Role(
        "native",
        assume_role_policy_document={
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}],
        },
    )


def unknown_action():
    role = aws.iam.Role("node", assume_role_policy=_trust({"Service": "ec2.amazonaws.com"}))
    aws.iam.RolePolicy(
        "typo",
        role=role.id,
        policy=_doc({"Effect": "Allow", "Action": "s3:GetObjekt", "Resource": "arn:aws:s3:::hp-bucket/*"}),
    )


def policy_unknown_at_preview():
    """The policy document embeds another resource's ARN: unknown at preview, Action '*' at deploy."""
    role = aws.iam.Role("node", assume_role_policy=_trust({"Service": "ec2.amazonaws.com"}))
    aws.iam.RolePolicy(
        "late",
        role=role.id,
        policy=role.arn.apply(lambda arn: _doc({"Effect": "Allow", "Action": "*", "Resource": arn})),
    )
