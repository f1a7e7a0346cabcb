"""A team's training data in a data account (issue "teams across accounts", point 4).

The trust chain, pod to data::

    pod (service account <sa> in hyperpod-ns-<team>)
      -> EKS Pod Identity assumes the data-access role (cluster account; trusts pods.eks.amazonaws.com for
         that cluster, namespace and service account only)
      -> which assumes the target role (data account; trusts the data-access role only, with the pod identity
         association's external id)
      -> which reads the team's prefix through the team's S3 access point (VPC-only network origin)
      -> which the bucket policy delegates to (access points of the data account only).

Everything in the data account is made through an explicit ``aws.Provider`` that assumes the account's
configured role and refuses any other account (``allowed_account_ids``). The stack should make ONE such
provider per data account (:func:`data_account_provider`) and pass it to every team's :class:`TeamData`, and
ONE :class:`BucketDelegation` per distinct bucket: a bucket policy replaces the bucket's whole policy
(``PutBucketPolicy``), so two teams sharing a bucket must not each write one. For a bucket the stack does not
own, :class:`BucketDelegation` reads the bucket's current policy and keeps every statement it did not write
(their Sids are not :data:`PLATFORM_SIDS`), and ``pulumi destroy`` leaves that policy in place.
"""

import json
import re
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import pulumi
import pulumi_aws as aws

from . import checks
from ._args import ArgCheck, after, component_type, take
from .lifecycle_bucket import private_bucket_controls
from .settings import AccountSettings, TeamSettings
from .team_access import (
    ACCOUNT_ID_RE,
    ROLE_NAME_MAX,
    check_account_id,
    check_common,
    check_team,
    physical_name,
    role_arn_in,
)

SESSION_NAME = "hyperpod-platform"
"""Session name of the data-account provider's assumed role (in the data account's CloudTrail)."""
ACCESS_POINT_NAME_MAX = 50
"""S3 access point names: 3-50 lowercase letters, digits and hyphens."""
READ_ACTIONS = ["s3:GetObject"]
"""What a team's pods may do with the objects under its prefix (read-only, the default)."""
WRITE_ACTIONS = ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]
"""Added with ``writable``: write, replace and delete objects under the prefix."""
DATA_ACTIONS = [
    "s3:GetObject*",
    "s3:PutObject*",
    "s3:DeleteObject*",
    "s3:ListBucket*",
    "s3:ListMultipartUploadParts",
    "s3:AbortMultipartUpload",
    "s3:RestoreObject",
]
"""Data actions through an access point that only the team's target role may take (management actions, such
as the deployer updating the access point's policy, are not among them)."""
EXISTING_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
"""Any S3 bucket name (an existing bucket may have dots; a created one may not, see ``checks.bucket_name``)."""


def data_account_provider(
    name: str, account: AccountSettings, region: str, opts: Optional[pulumi.ResourceOptions] = None
) -> aws.Provider:
    """The AWS provider of a data account: it assumes the account's configured role (with its external id)
    and refuses to act in any other account. Make one per data account and pass it to the components."""
    return aws.Provider(
        name,
        region=region,
        allowed_account_ids=[account.account_id],
        assume_roles=[
            aws.ProviderAssumeRoleArgs(
                role_arn=account.role_arn, external_id=account.external_id, session_name=SESSION_NAME
            )
        ],
        opts=opts,
    )


def data_role_trust(cluster_name: str, namespace: str, service_account: str) -> dict:
    """The data-access role's trust: EKS Pod Identity (``sts:AssumeRole`` and ``sts:TagSession``) for this
    cluster's pods of this service account in this namespace only, by the session tags Pod Identity sends
    (EKS User Guide, pod-id-role: eks-cluster-name, kubernetes-namespace, kubernetes-service-account)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "EksPodIdentityForTheTeamServiceAccount",
                "Effect": "Allow",
                "Principal": {"Service": "pods.eks.amazonaws.com"},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
                "Condition": {
                    "StringEquals": {
                        "aws:RequestTag/eks-cluster-name": cluster_name,
                        "aws:RequestTag/kubernetes-namespace": namespace,
                        "aws:RequestTag/kubernetes-service-account": service_account,
                    }
                },
            }
        ],
    }


def data_role_policy(target_role_arn: str) -> dict:
    """All the data-access role may do: assume the team's target role (with session tags)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AssumeTheTeamTargetRoleOnly",
                "Effect": "Allow",
                "Action": ["sts:AssumeRole", "sts:TagSession"],
                "Resource": target_role_arn,
            }
        ],
    }


def target_role_trust(data_role_arn: str, external_id: str) -> dict:
    """The target role's trust: the data-access role exactly, with the pod identity association's external id
    ("ensures that the target role can only be assumed by this association", EKS API PodIdentityAssociation);
    ``sts:TagSession`` because Pod Identity passes its session tags on, in a statement of its own: the IAM
    reference gives ``sts:TagSession`` no ``sts:ExternalId`` key, so under that condition it would be denied
    (EKS user guide, pod-id-assign-target-role). Tagging alone assumes nothing."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "TheTeamDataRoleThroughItsAssociation",
                "Effect": "Allow",
                "Principal": {"AWS": data_role_arn},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": external_id}},
            },
            {
                "Sid": "ItsSessionTags",
                "Effect": "Allow",
                "Principal": {"AWS": data_role_arn},
                "Action": "sts:TagSession",
            },
        ],
    }


def _object_actions(writable: bool) -> list[str]:
    return READ_ACTIONS + (WRITE_ACTIONS if writable else [])


def target_role_policy(access_point_arn: str, prefix: str, writable: bool = False) -> dict:
    """The target role's permissions: list and read (and with ``writable``, write) the team's prefix, through
    the team's access point only (the bucket itself is never named: the bucket policy delegates to the
    access point)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ListTheTeamPrefixThroughItsAccessPoint",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": access_point_arn,
                "Condition": {"StringLike": {"s3:prefix": [f"{prefix}/*"]}},
            },
            {
                "Sid": "ObjectsOfTheTeamPrefixThroughItsAccessPoint",
                "Effect": "Allow",
                "Action": _object_actions(writable),
                "Resource": f"{access_point_arn}/object/{prefix}/*",
            },
        ],
    }


def access_point_policy(access_point_arn: str, prefix: str, target_role_arn: str, writable: bool = False) -> dict:
    """The access point's policy: the team's target role may list and read (write) the team's prefix, and no
    other principal may take a data action through this access point."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "TeamRoleListsItsPrefix",
                "Effect": "Allow",
                "Principal": {"AWS": target_role_arn},
                "Action": "s3:ListBucket",
                "Resource": access_point_arn,
                "Condition": {"StringLike": {"s3:prefix": [f"{prefix}/*"]}},
            },
            {
                "Sid": "TeamRoleUsesObjectsOfItsPrefix",
                "Effect": "Allow",
                "Principal": {"AWS": target_role_arn},
                "Action": _object_actions(writable),
                "Resource": f"{access_point_arn}/object/{prefix}/*",
            },
            {
                "Sid": "NoOtherPrincipalUsesTheData",
                "Effect": "Deny",
                "Principal": "*",
                "Action": DATA_ACTIONS,
                "Resource": [access_point_arn, f"{access_point_arn}/object/*"],
                "Condition": {"ArnNotEquals": {"aws:PrincipalArn": target_role_arn}},
            },
        ],
    }


TLS_SID = "HyperPodPlatformDenyInsecureTransport"
DELEGATION_SID = "HyperPodPlatformDelegateToAccessPoints"
PLATFORM_SIDS = frozenset({TLS_SID, DELEGATION_SID})
"""The Sids of the bucket-policy statements the platform writes; in a bucket the stack does not own, these and
only these are replaced, every other statement is kept as the data account wrote it."""


def bucket_policy(bucket_arn: str, account_id: str, access_point_arns: Optional[Sequence[str]] = None) -> dict:
    """The platform's bucket policy: TLS only, and access delegated to the access points of the data account
    (each of which decides who may use it), as the S3 User Guide's delegation example does. With
    ``access_point_arns``, only to those access points (``s3:DataAccessPointArn``, the narrower key)."""
    resources = [bucket_arn, f"{bucket_arn}/*"]
    delegated: dict[str, Any] = {"s3:DataAccessPointAccount": account_id}
    if access_point_arns:
        delegated["s3:DataAccessPointArn"] = sorted(set(access_point_arns))
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": TLS_SID,
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": resources,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
            {
                "Sid": DELEGATION_SID,
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": resources,
                "Condition": {"StringEquals": delegated},
            },
        ],
    }


def merged_bucket_policy(bucket: str, current: Optional[str], platform: dict) -> dict:
    """The policy to put on a bucket the stack does not own: its ``current`` policy (JSON as S3 returns it;
    empty or None: the bucket has none) with the ``platform`` statements added, replacing those of the same
    Sids (an earlier run's); every other statement, its Version and Id stay as they are. Raises ValueError
    when ``current`` is not a policy document (nothing is written over a policy this cannot read)."""
    if not current:
        return platform
    fix = f"fix the policy of bucket {bucket} in its account (aws s3api get-bucket-policy --bucket {bucket})"
    try:
        doc = json.loads(current)
    except ValueError as exc:
        raise ValueError(f"the current policy of bucket {bucket} is not JSON ({exc}): {fix}") from None
    statements = doc.get("Statement", []) if isinstance(doc, dict) else None
    if isinstance(statements, dict):  # the policy grammar allows one statement without a list
        statements = [statements]
    if not isinstance(statements, list) or not all(isinstance(st, dict) for st in statements):
        raise ValueError(f"the current policy of bucket {bucket} has no list of statements: {fix}")
    kept = [st for st in statements if st.get("Sid") not in PLATFORM_SIDS]
    merged = {"Version": doc.get("Version", platform["Version"])}
    if "Id" in doc:
        merged["Id"] = doc["Id"]
    merged["Statement"] = kept + platform["Statement"]
    return merged


def access_point_name(name: str) -> str:
    """The access point's name for the component ``name``: S3's rules (3-50 lowercase letters, digits and
    hyphens, starting and ending with a letter or digit), unique per stack as the component's name is."""
    ap = physical_name(name, ACCESS_POINT_NAME_MAX, lower=True)
    return ap if len(ap) >= 3 else f"{ap}-ap".lstrip("-")


@dataclass
class TeamDataArgs:
    """Inputs of :class:`TeamData`."""

    team: TeamSettings
    """The team, with its ``data`` (data account alias, bucket, prefix, service account)."""
    data_account: AccountSettings
    """The data account (``team.data.account``): its id, and the role Pulumi assumes there when no
    ``data_provider`` is given."""
    eks_cluster_name: pulumi.Input[str]
    """Name of the EKS cluster of the pod identity association; give one that resolves after the control plane
    and its Pod Identity agent add-on exist."""
    vpc_id: pulumi.Input[str]
    """The cluster VPC: the access point's network origin (requests must come through an S3 VPC endpoint in
    it)."""
    region: str
    """Region of the cluster, of the data bucket and of the access point (a VPC-only access point is reached
    through the VPC's S3 endpoint, which is regional)."""
    tags: dict[str, str]
    """Tags for every resource."""
    data_provider: Optional[aws.Provider] = None
    """The data account's provider (:func:`data_account_provider`), shared by every team of that account;
    None: the component makes its own from ``data_account``."""
    writable: bool = False
    """Let the team's pods also write and delete objects under the prefix; default read-only."""


class TeamData(pulumi.ComponentResource):
    """A team's pods reach the team's prefix of a data-account bucket: a Pod Identity role chain to a target
    role in the data account, and a VPC-only S3 access point limited to that prefix and that role."""

    data_role_arn: pulumi.Output[str]
    """The data-access role (cluster account) the pod identity association uses; resolves once its policy
    exists."""
    target_role_arn: pulumi.Output[str]
    """The target role (data account) the team's pods end up with; resolves once it and its policy exist."""
    access_point_arn: pulumi.Output[str]
    """The team's access point; resolves once it and its policy exist."""
    access_point_alias: pulumi.Output[str]
    """The access point's alias, usable wherever a bucket name is (``s3://<alias>/<prefix>/...``)."""
    bucket_name: pulumi.Output[str]
    """The data bucket; resolves once the bucket is read or created (give it to :class:`BucketDelegation`)."""

    def __init__(self, name: str, args: TeamDataArgs, opts: Optional[pulumi.ResourceOptions] = None):
        args, check = take("TeamData", TeamDataArgs, args)
        _check_args(args, check)
        check.raise_if_any()
        super().__init__(component_type("TeamData"), name, None, opts)
        team, data, account = args.team, args.team.data, args.data_account.account_id
        child = pulumi.ResourceOptions(parent=self)
        provider = args.data_provider or data_account_provider(
            f"{name}-data-account", args.data_account, args.region, child
        )
        in_data = pulumi.ResourceOptions(parent=self, provider=provider)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        partition = aws.get_partition_output(opts=invoke).partition
        cluster_account = aws.get_caller_identity_output(opts=invoke).account_id

        # ARNs built from names, so that nothing waits for what it only names: the association names the target
        # role before the target role exists (its trust needs the association's external id).
        target_name = physical_name(f"{name}-target", ROLE_NAME_MAX)
        target_arn = partition.apply(lambda p: f"arn:{p}:iam::{account}:role/{target_name}")
        ap_name = access_point_name(name)
        ap_arn = partition.apply(lambda p: f"arn:{p}:s3:{args.region}:{account}:accesspoint/{ap_name}")

        # ---- cluster account (default provider)
        data_role_name = physical_name(f"{name}-data", ROLE_NAME_MAX)
        data_role = aws.iam.Role(
            f"{name}-data-role",
            name=data_role_name,
            description=f"Pod Identity role of team {team.name}'s data access (chains to its data account)",
            assume_role_policy=pulumi.Output.from_input(args.eks_cluster_name).apply(
                lambda c: json.dumps(data_role_trust(c, team.namespace, data.service_account))
            ),
            tags=args.tags,
            opts=child,
        )
        chain = aws.iam.RolePolicy(
            f"{name}-data-role-chain",
            role=data_role.id,
            policy=target_arn.apply(lambda arn: json.dumps(data_role_policy(arn))),
            opts=child,
        )
        data_role_arn = after(
            pulumi.Output.format("arn:{0}:iam::{1}:role/{2}", partition, cluster_account, data_role_name), [data_role]
        )
        self.data_role_arn = after(data_role_arn, [chain])
        association = aws.eks.PodIdentityAssociation(
            f"{name}-pod-identity",
            cluster_name=args.eks_cluster_name,
            namespace=team.namespace,
            service_account=data.service_account,
            role_arn=self.data_role_arn,
            target_role_arn=target_arn,
            disable_session_tags=False,  # the data role's trust conditions are on the session tags
            tags=args.tags,
            opts=child,
        )

        # ---- data account (the data provider)
        target = aws.iam.Role(
            f"{name}-target-role",
            name=target_name,
            description=f"Team {team.name}'s data access to s3://{data.bucket}/{data.prefix}/ (from the cluster)",
            assume_role_policy=pulumi.Output.all(data_role_arn, association.external_id).apply(
                lambda v: json.dumps(target_role_trust(v[0], v[1]))
            ),
            tags=args.tags,
            opts=in_data,
        )
        target_policy = aws.iam.RolePolicy(
            f"{name}-target-access",
            role=target.id,
            policy=ap_arn.apply(lambda arn: json.dumps(target_role_policy(arn, data.prefix, args.writable))),
            opts=in_data,
        )
        self.target_role_arn = after(target_arn, [target, target_policy])

        if data.create_bucket:
            bucket = _created_bucket(f"{name}-bucket", data.bucket, args.tags, in_data)
        else:  # the data account's own bucket: read, never managed
            bucket = aws.s3.Bucket.get(f"{name}-bucket", data.bucket, opts=in_data)
            # Read, too, the bucket's public access block and default encryption: a preview fails when the data
            # account's bucket has neither (the reads find nothing), and the guardrails judge what they hold.
            aws.s3.BucketPublicAccessBlock.get(f"{name}-bucket-public-access", data.bucket, opts=in_data)
            aws.s3.BucketServerSideEncryptionConfiguration.get(f"{name}-bucket-encryption", data.bucket, opts=in_data)
        self.bucket_name = after(data.bucket, [bucket])

        # Network origin: the cluster VPC. Whether S3 accepts a VPC of another account (the cluster's) here is
        # not documented either way: the S3 control API says only "this access point will only allow connections
        # from the specified VPC ID" (botocore s3control VpcConfiguration), and the S3 User Guide
        # (access-points-vpc.html) "the VPC ID that you want to be able to use the access point"; neither names
        # the VPC's owner. Set, because the guardrail requires a VPC origin; unverified against AWS (see
        # docs/decisions.md, "Teams across accounts", for the fallback if CreateAccessPoint refuses it).
        ap = aws.s3.AccessPoint(
            f"{name}-access-point",
            name=ap_name,
            bucket=self.bucket_name,  # the name, known in a preview, after the bucket is read or created
            account_id=account,
            vpc_configuration=aws.s3.AccessPointVpcConfigurationArgs(vpc_id=args.vpc_id),
            public_access_block_configuration=aws.s3.AccessPointPublicAccessBlockConfigurationArgs(
                block_public_acls=True,
                block_public_policy=True,
                ignore_public_acls=True,
                restrict_public_buckets=True,
            ),
            tags=args.tags,
            opts=in_data,
        )
        ap_policy = aws.s3control.AccessPointPolicy(
            f"{name}-access-point-policy",
            access_point_arn=ap.arn,
            policy=pulumi.Output.all(ap_arn, after(target_arn, [target])).apply(
                lambda v: json.dumps(access_point_policy(v[0], data.prefix, v[1], args.writable))
            ),
            opts=in_data,
        )
        self.access_point_arn = after(ap_arn, [ap, ap_policy])
        self.access_point_alias = ap.alias
        self.register_outputs(
            {
                "data_role_arn": self.data_role_arn,
                "target_role_arn": self.target_role_arn,
                "access_point_arn": self.access_point_arn,
                "access_point_alias": self.access_point_alias,
                "bucket_name": self.bucket_name,
            }
        )


def _created_bucket(name: str, bucket: str, tags: dict, opts: pulumi.ResourceOptions) -> aws.s3.Bucket:
    """A data bucket the stack creates: private (owner-enforced, public access blocked), encrypted, versioned,
    protected from ``pulumi destroy``. Its TLS-only deny is in the bucket policy, which
    :class:`BucketDelegation` writes (one per bucket)."""
    created = aws.s3.Bucket(
        name,
        bucket=bucket,
        force_destroy=False,
        tags=tags,
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(protect=True)),
    )
    private_bucket_controls(name, created.id, opts)
    return created


def _check_data_account(
    check: ArgCheck, account: AccountSettings, provider: Optional[aws.Provider], arg: str = "data_account"
) -> None:
    """The data account's id, and how it is reached: the given provider (an AWS provider), or the account's
    role (a role of that account)."""
    check_account_id(check, f"{arg}.account_id", account.account_id)
    if provider is not None:
        if not isinstance(provider, pulumi.ProviderResource) or getattr(provider, "package", None) != "aws":
            check.fail(
                "data_provider",
                type(provider).__name__,
                "is not an AWS provider",
                "pass the data account's aws.Provider (data_account_provider), or leave it out",
            )
        return
    if account.role_arn is None:
        check.fail(
            f"{arg}.role_arn",
            None,
            f"is required to reach data account {account.alias} when no data_provider is given",
            "give the role Pulumi assumes in the data account, or pass the account's data_provider",
        )
        return
    own = account.account_id if ACCOUNT_ID_RE.match(account.account_id) else ""
    check.check(f"{arg}.role_arn", account.role_arn, role_arn_in(own, f"data account {account.alias}"))


def _check_bucket_name(check: ArgCheck, arg: str, bucket: str, created: bool) -> None:
    if created:
        check.check(arg, bucket, checks.bucket_name)
    elif not EXISTING_BUCKET_RE.match(bucket) or ".." in bucket:
        check.fail(arg, bucket, "is not an S3 bucket name", "give the data bucket's name as S3 shows it")


def _check_args(args: TeamDataArgs, check: ArgCheck) -> None:
    """The team (its name, and data in the given data account), the bucket, prefix and service account, the
    data account and how it is reached, the cluster name, the VPC, region and tags."""
    team, data = args.team, args.team.data
    check_team(check, "team", team)
    if data is None:
        check.fail("team.data", None, f"is required: team {team.name} has no data", "give the team's data settings")
    else:
        if data.account != args.data_account.alias:
            check.fail(
                "team.data.account",
                data.account,
                f"is not the given data account ({args.data_account.alias})",
                "pass the AccountSettings of the team's data account",
            )
        _check_bucket_name(check, "team.data.bucket", data.bucket, data.create_bucket)
        check.check("team.data.prefix", data.prefix, checks.key_prefix)
        check.check("team.data.service_account", data.service_account, checks.service_account_name)
    _check_data_account(check, args.data_account, args.data_provider)
    check.check("vpc_id", args.vpc_id, checks.vpc_id)
    check_common(check, args.eks_cluster_name, args.region, args.tags)


@dataclass
class BucketDelegationArgs:
    """Inputs of :class:`BucketDelegation`."""

    bucket: pulumi.Input[str]
    """The data bucket (for a bucket the stack creates: :attr:`TeamData.bucket_name`, which waits for it)."""
    data_account: AccountSettings
    """The data account: its id (the only account whose access points the bucket delegates to), and the role
    Pulumi assumes there when no ``data_provider`` is given."""
    region: str
    """Region of the data account's provider when the component makes its own."""
    data_provider: Optional[aws.Provider] = None
    """The data account's provider (:func:`data_account_provider`); None: the component makes its own."""
    created: bool = False
    """True for a bucket this stack creates (``TeamData`` with ``create_bucket``): the policy is the bucket's
    whole policy and goes with the stack. False (default), a bucket of the data account's: its current policy is
    read and every statement the platform did not write is kept, and ``pulumi destroy`` leaves the policy in
    place (the teams' access points go, so the delegation then reaches none of the platform's)."""
    access_point_arns: Optional[pulumi.Input[Sequence[pulumi.Input[str]]]] = None
    """The teams' access points on this bucket (:attr:`TeamData.access_point_arn`): delegate to those only
    (``s3:DataAccessPointArn``), not to every access point of the data account; None: the whole account's."""


class BucketDelegation(pulumi.ComponentResource):
    """A data bucket's policy statements: TLS only, and access delegated to the data account's access points.
    One per bucket, however many teams' access points use it (a bucket policy replaces the bucket's whole
    policy). A bucket the stack does not own keeps the statements it has; a created one gets only these."""

    policy: pulumi.Output[str]
    """The bucket policy (JSON) as put on the bucket; resolves once it is in place."""
    statements: pulumi.Output[str]
    """The platform's own statements (JSON list), what a data-account admin would add by hand."""

    def __init__(self, name: str, args: BucketDelegationArgs, opts: Optional[pulumi.ResourceOptions] = None):
        args, check = take("BucketDelegation", BucketDelegationArgs, args)
        _check_delegation(args, check)
        check.raise_if_any()
        super().__init__(component_type("BucketDelegation"), name, None, opts)
        account = args.data_account.account_id
        provider = args.data_provider or data_account_provider(
            f"{name}-data-account", args.data_account, args.region, pulumi.ResourceOptions(parent=self)
        )
        in_data = pulumi.ResourceOptions(parent=self, provider=provider)
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self)).partition
        access_points = pulumi.Output.from_input(args.access_point_arns or [])
        platform = pulumi.Output.all(partition, args.bucket, access_points).apply(
            lambda v: bucket_policy(f"arn:{v[0]}:s3:::{v[1]}", account, v[2])
        )
        if args.created:  # the stack's own bucket: the platform's statements are its whole policy
            document = platform.apply(json.dumps)
            policy_opts = in_data
        else:
            # The data account's bucket: its policy as it is now, read with the bucket (the provider reads it
            # with GetBucketPolicy and gives none for a bucket without one, where the getBucketPolicy data
            # source would fail). PutBucketPolicy replaces the whole policy, so the platform's statements go
            # into the current one; destroy leaves it, as the bucket itself is left.
            current = aws.s3.Bucket.get(f"{name}-current", args.bucket, opts=in_data)
            read = pulumi.get(current, "policy")  # the output itself; the property warns it is deprecated as an input
            document = pulumi.Output.all(args.bucket, read, platform).apply(
                lambda v: json.dumps(merged_bucket_policy(v[0], v[1], v[2]))
            )
            policy_opts = pulumi.ResourceOptions.merge(in_data, pulumi.ResourceOptions(retain_on_delete=True))
        policy = aws.s3.BucketPolicy(f"{name}-policy", bucket=args.bucket, policy=document, opts=policy_opts)
        self.policy = after(document, [policy])
        self.statements = platform.apply(lambda doc: json.dumps(doc["Statement"]))
        self.register_outputs({"policy": self.policy, "statements": self.statements})


def _check_delegation(args: BucketDelegationArgs, check: ArgCheck) -> None:
    """The bucket's name (when known), the data account and how it is reached, the region."""

    def bucket(v: str):
        if EXISTING_BUCKET_RE.match(v) and ".." not in v:
            return None
        return ("is not an S3 bucket name", "give the data bucket's name")

    check.check("bucket", args.bucket, bucket)
    _check_data_account(check, args.data_account, args.data_provider)
    check.check("region", args.region, checks.region_name)
    account = args.data_account.account_id

    def access_point(v: Any):
        if isinstance(v, str) and re.fullmatch(
            rf"arn:aws[a-z-]*:s3:[a-z0-9-]+:{re.escape(account)}:accesspoint/[a-z0-9-]{{3,50}}", v
        ):
            return None
        return (
            f"is not the ARN of an S3 access point of data account {account}",
            "give the teams' TeamData.access_point_arn, or leave access_point_arns out",
        )

    if isinstance(args.access_point_arns, (list, tuple)):
        check.each("access_point_arns", args.access_point_arns, access_point)
