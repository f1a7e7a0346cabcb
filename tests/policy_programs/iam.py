"""Programs for iam-least-privilege, iam-oidc-trust-pinned and iam-parliament-findings."""

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


# ---------------------------------------------------------------- admin-equivalent managed policies, every way
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
POWER_USER = "arn:aws:iam::aws:policy/PowerUserAccess"
IAM_FULL = "arn:aws:iam::aws:policy/IAMFullAccess"
EC2_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def _role(name: str = "node") -> aws.iam.Role:
    return aws.iam.Role(name, assume_role_policy=_trust({"Service": "ec2.amazonaws.com"}))


def admin_policy_attachment():
    aws.iam.PolicyAttachment("admin", roles=[_role().name], policy_arn=ADMIN)


def admin_in_managed_policy_arns():
    aws.iam.Role(
        "node",
        assume_role_policy=_trust({"Service": "ec2.amazonaws.com"}),
        managed_policy_arns=["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess", ADMIN],
    )


def admin_in_role_attachments_exclusive():
    aws.iam.RolePolicyAttachmentsExclusive("exclusive", role_name=_role().name, policy_arns=[ADMIN])


def power_user_attached_to_user():
    user = aws.iam.User("operator")
    aws.iam.UserPolicyAttachment("power", user=user.name, policy_arn=POWER_USER)


def iam_full_access_attached_to_group():
    group = aws.iam.Group("operators")
    aws.iam.GroupPolicyAttachment("iam-full", group=group.name, policy_arn=IAM_FULL)


def admin_in_user_attachments_exclusive():
    user = aws.iam.User("operator")
    aws.iam.UserPolicyAttachmentsExclusive("exclusive", user_name=user.name, policy_arns=[ADMIN])


def admin_in_group_attachments_exclusive():
    group = aws.iam.Group("operators")
    aws.iam.GroupPolicyAttachmentsExclusive("exclusive", group_name=group.name, policy_arns=[POWER_USER])


def native_role_managed_admin():
    native.iam.Role("native", assume_role_policy_document=EC2_TRUST, managed_policy_arns=[ADMIN])


def native_user_and_group_managed_admin():
    native.iam.User("native-user", managed_policy_arns=["arn:aws-us-gov:iam::aws:policy/AdministratorAccess"])
    native.iam.Group("native-group", managed_policy_arns=[IAM_FULL])


def sso_permission_set_admin():
    instance = "arn:aws:sso:::instance/ssoins-0123456789abcdef"
    ps = aws.ssoadmin.PermissionSet("admins", instance_arn=instance, name="admins")
    aws.ssoadmin.ManagedPolicyAttachment(
        "admin", instance_arn=instance, permission_set_arn=ps.arn, managed_policy_arn=ADMIN
    )


# ---------------------------------------------------------------- admin-equivalent documents, every place
def _allow(**statement) -> dict:
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", **statement}]}


def native_managed_policy_action_star():
    native.iam.ManagedPolicy("everything", policy_document=_allow(Action="*", Resource="*"))


def native_user_policy_not_action():
    """PowerUserAccess written inline: Allow everything but IAM."""
    user = native.iam.User("native-user")
    native.iam.UserPolicy(
        "power",
        user_name=user.id,
        policy_document=_allow(NotAction=["iam:*", "organizations:*", "account:*"], Resource="*"),
    )


def native_group_policy_iam_star():
    group = native.iam.Group("native-group")
    native.iam.GroupPolicy("iam", group_name=group.id, policy_document=_allow(Action="iam:*", Resource="*"))


def native_role_inline_s3_star():
    native.iam.Role(
        "native",
        assume_role_policy_document=EC2_TRUST,
        policies=[{"policy_name": "s3", "policy_document": _allow(Action=["s3:*"], Resource=["*"])}],
    )


def native_role_policy_ec2_star_on_every_arn():
    role = native.iam.Role("native", assume_role_policy_document=EC2_TRUST)
    native.iam.RolePolicy(
        "ec2", role_name=role.id, policy_document=_allow(Action="EC2:*", Resource="arn:aws:ec2:*:*:*")
    )


def policy_not_action():
    aws.iam.Policy("power", policy=json.dumps(_allow(NotAction="iam:*", Resource="*")))


def user_policy_not_resource():
    """Every read of S3 except one bucket."""
    user = aws.iam.User("operator")
    aws.iam.UserPolicy(
        "read-all-but",
        user=user.name,
        policy=json.dumps(_allow(Action="s3:Get*", NotResource="arn:aws:s3:::audit-logs/*")),
    )


def group_policy_escalation_pattern():
    group = aws.iam.Group("operators")
    aws.iam.GroupPolicy(
        "policies", group=group.name, policy=json.dumps(_allow(Action=["iam:Get*", "iam:*Policy*"], Resource="*"))
    )


def role_inline_sts_star():
    aws.iam.Role(
        "node",
        assume_role_policy=_trust({"Service": "ec2.amazonaws.com"}),
        inline_policies=[{"name": "sts", "policy": json.dumps(_allow(Action="sts:*", Resource="*"))}],
    )


def escalation_on_every_role():
    aws.iam.RolePolicy(
        "put-any-role",
        role=_role().id,
        policy=json.dumps(_allow(Action="iam:PutRolePolicy", Resource=f"arn:aws:iam::{ACCOUNT}:role/*")),
    )


def native_permission_set_inline_star():
    native.sso.PermissionSet(
        "admins",
        instance_arn="arn:aws:sso:::instance/ssoins-0123456789abcdef",
        name="admins",
        inline_policy=_allow(Action="*:*", Resource="*"),
    )


def trust_everyone_but():
    aws.iam.Role(
        "open",
        assume_role_policy=_doc(
            {
                "Effect": "Allow",
                "NotPrincipal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/blocked"},
                "Action": "sts:AssumeRole",
            }
        ),
    )


def scoped_look_alikes():
    """What the evasion checks must not catch (and parliament finds nothing in): a wildcard on one bucket, a
    listing on "*", IAM writes matched by a pattern but on one named role, a Deny with NotAction, scoped
    managed policies attached the exclusive way and through an aws-native role."""
    role = _role()
    aws.iam.RolePolicy(
        "scoped",
        role=role.id,
        policy=_doc(
            {"Effect": "Allow", "Action": "s3:ListBucket*", "Resource": "arn:aws:s3:::hp-bucket"},
            {"Effect": "Allow", "Action": "iam:ListRoles", "Resource": "*"},
            {"Effect": "Allow", "Action": "iam:PutRole*", "Resource": f"arn:aws:iam::{ACCOUNT}:role/hp-node"},
            {
                "Effect": "Deny",
                "NotAction": ["s3:GetObject"],
                "Resource": "*",
                "Condition": {"StringNotEquals": {"aws:RequestedRegion": "us-east-1"}},
            },
        ),
    )
    read_only = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
    aws.iam.RolePolicyAttachmentsExclusive("exclusive", role_name=role.name, policy_arns=[read_only])
    native.iam.Role("native", assume_role_policy_document=EC2_TRUST, managed_policy_arns=[read_only])


# ---------------------------------------------------------------- OIDC trusts
GITHUB = "token.actions.githubusercontent.com"
GITHUB_PROVIDER = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{GITHUB}"
EKS = "oidc.eks.us-east-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"
EKS_PROVIDER = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{EKS}"


def _web_identity(provider: str, condition=None) -> str:
    st = {"Effect": "Allow", "Principal": {"Federated": provider}, "Action": "sts:AssumeRoleWithWebIdentity"}
    if condition:
        st["Condition"] = condition
    return _doc(st)


def github_oidc_pinned():
    aws.iam.Role(
        "deploy",
        assume_role_policy=_web_identity(
            GITHUB_PROVIDER,
            {
                "StringEquals": {f"{GITHUB}:aud": "sts.amazonaws.com"},
                "StringLike": {f"{GITHUB}:sub": "repo:example-org/hyperpod-platform:ref:refs/heads/main"},
            },
        ),
    )


def github_oidc_org_wide():
    """Any repository of one organization: the owner is pinned."""
    aws.iam.Role(
        "preview",
        assume_role_policy=_web_identity(
            GITHUB_PROVIDER,
            {
                "StringEquals": {f"{GITHUB}:aud": ["sts.amazonaws.com"]},
                "ForAnyValue:StringLike": {f"{GITHUB}:sub": ["repo:example-org/*"]},
            },
        ),
    )


def eks_oidc_pinned():
    native.iam.Role(
        "irsa",
        assume_role_policy_document=json.loads(
            _web_identity(
                EKS_PROVIDER,
                {
                    "StringEquals": {
                        f"{EKS}:sub": "system:serviceaccount:training:fsx-csi",
                        f"{EKS}:aud": "sts.amazonaws.com",
                    }
                },
            )
        ),
    )


def github_oidc_without_sub():
    aws.iam.Role(
        "deploy",
        assume_role_policy=_web_identity(GITHUB_PROVIDER, {"StringEquals": {f"{GITHUB}:aud": "sts.amazonaws.com"}}),
    )


def github_oidc_any_repo():
    aws.iam.Role(
        "deploy",
        assume_role_policy=_web_identity(
            GITHUB_PROVIDER,
            {"StringEquals": {f"{GITHUB}:aud": "sts.amazonaws.com"}, "StringLike": {f"{GITHUB}:sub": "repo:*"}},
        ),
    )


def github_oidc_owner_prefix():
    """``repo:example-org*`` also matches ``repo:example-org-evil/...``."""
    aws.iam.Role(
        "deploy",
        assume_role_policy=_web_identity(
            GITHUB,
            {
                "StringEquals": {f"{GITHUB}:aud": "sts.amazonaws.com"},
                "StringLike": {f"{GITHUB}:sub": ["repo:example-org/app:*", "repo:example-org*"]},
            },
        ),
    )


def github_oidc_sub_if_exists():
    aws.iam.Role(
        "deploy",
        assume_role_policy=_web_identity(
            GITHUB_PROVIDER,
            {
                "StringEquals": {f"{GITHUB}:aud": "sts.amazonaws.com"},
                "StringLikeIfExists": {f"{GITHUB}:sub": "repo:example-org/app:*"},
            },
        ),
    )


def github_oidc_without_aud():
    aws.iam.Role(
        "deploy",
        assume_role_policy=_web_identity(
            GITHUB_PROVIDER, {"StringEquals": {f"{GITHUB}:sub": "repo:example-org/app:ref:refs/heads/main"}}
        ),
    )


def eks_oidc_any_service_account():
    aws.iam.Role(
        "irsa",
        assume_role_policy=_web_identity(
            EKS_PROVIDER,
            {
                "StringEquals": {f"{EKS}:aud": "sts.amazonaws.com"},
                "StringLike": {f"{EKS}:sub": "system:serviceaccount:*"},
            },
        ),
    )


def native_role_oidc_unconditioned():
    native.iam.Role("irsa", assume_role_policy_document=json.loads(_web_identity(EKS_PROVIDER)))
