"""Access to the EKS-orchestrated cluster from a team's own account (issue "teams across accounts", point 3).

Per team, in the cluster account: an IAM role that trusts only the team's configured principal (a role of the
team account, never its root) on condition of the team's external id or the cluster's organization; an EKS
access entry for that role with ``AmazonEKSEditPolicy`` scoped to the team namespace (``hyperpod-ns-<team>``)
only; and the ``aws eks update-kubeconfig`` line a team member runs after assuming the team principal.
"""

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from . import checks
from ._args import ArgCheck, after, component_type, take
from .settings import TeamSettings

EDIT_POLICY = "AmazonEKSEditPolicy"
"""EKS access policy a team's role gets, scoped to the team namespace."""
TEAM_NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
"""A team name: a DNS label, as its namespace ``hyperpod-ns-<team>`` and ComputeQuota's TeamName require."""
NAMESPACE_MAX = 63
"""Kubernetes namespace names are DNS labels: 63 characters at most."""
ACCOUNT_ID_RE = re.compile(r"^\d{12}$")
ORGANIZATION_ID_RE = re.compile(r"^o-[a-z0-9]{10,32}$")
EXTERNAL_ID_RE = re.compile(r"^[\w+=,.@:/-]{2,1224}$")
"""STS's ExternalId: 2-1224 characters of letters, digits and ``+=,.@:/-_``."""
EKS_CLUSTER_NAME_RE = re.compile(r"^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$")
ROLE_NAME_MAX = 64
"""IAM role names: at most 64 characters."""


def physical_name(base: str, limit: int, *, lower: bool = False) -> str:
    """``base`` as an AWS physical name of at most ``limit`` characters: characters AWS refuses become ``-``
    (IAM's ``+=,.@_-`` are kept unless ``lower``, for S3's lowercase-and-hyphen names); a name too long keeps
    its start and ends with 8 hex digits of the whole name's hash, so two long names stay distinct."""
    name = re.sub(r"[^a-z0-9-]+" if lower else r"[^A-Za-z0-9+=,.@_-]+", "-", base.lower() if lower else base)
    name = re.sub(r"-{2,}", "-", name).strip("-") if lower else name.strip("-")
    if len(name) > limit:
        digest = hashlib.sha1(base.encode()).hexdigest()[:8]
        name = f"{name[: limit - 9].rstrip('-')}-{digest}"
    return name


def role_arn_in(account_id: str, what: str) -> checks.Check:
    """The ARN of an IAM role in ``account_id``: not the account root, not a user, not an assumed-role session,
    no wildcard (a trust that names it then admits exactly that role)."""
    example = f"arn:aws:iam::{account_id}:role/DataScientist"

    def check(v: str):
        m = checks.ARN_RE.match(v)
        if m and m["service"] == "iam" and m["resource"] == "root":
            return (
                f"is the root of account {m['account']}: a trust in it admits every principal that account allows",
                f"name the one role of {what}, e.g. {example}",
            )
        if m and m["service"] == "iam" and m["resource"].startswith("user/"):
            return ("is an IAM user, not a role", f"give the role {what} uses, e.g. {example}")
        if not m or m["service"] != "iam" or not m["resource"].startswith("role/") or "*" in v:
            return (f"is not the ARN of an IAM role (of {what})", f"give one like {example}")
        if account_id and m["account"] != account_id:
            return (f"is a role of account {m['account']}, not of {what} ({account_id})", f"give a role like {example}")
        return None

    return check


def check_team(check: ArgCheck, arg: str, team: TeamSettings) -> None:
    """The team's name: a DNS label whose namespace ``hyperpod-ns-<team>`` is a valid namespace name."""
    if not TEAM_NAME_RE.match(team.name):
        check.fail(
            f"{arg}.name",
            team.name,
            "is not a team name (lowercase letters, digits and hyphens, starting and ending with a letter or digit)",
            f"use e.g. '{re.sub(r'[^a-z0-9-]+', '-', team.name.lower()).strip('-') or 'team-a'}'",
        )
    elif len(team.namespace) > NAMESPACE_MAX:
        check.fail(
            f"{arg}.name",
            team.name,
            f"makes the namespace '{team.namespace}' longer than Kubernetes' {NAMESPACE_MAX} characters",
            f"use at most {NAMESPACE_MAX - len(team.namespace) + len(team.name)} characters",
        )


def check_account_id(check: ArgCheck, arg: str, value: str) -> None:
    if not ACCOUNT_ID_RE.match(value):
        check.fail(arg, value, "is not an AWS account id", "give the 12-digit account id, e.g. 111122223333")


def check_common(check: ArgCheck, eks_cluster_name: pulumi.Input[str], region: str, tags: dict) -> None:
    """What both team components take alike: the EKS cluster's name (when known), the region, the tags."""

    def cluster_name(v: str):
        if EKS_CLUSTER_NAME_RE.match(v):
            return None
        return ("is not an EKS cluster name", "give the name of the EKS cluster (EksControlPlaneArgs.cluster_name)")

    check.check("eks_cluster_name", eks_cluster_name, cluster_name)
    check.check("region", region, checks.region_name)
    check.tags(tags, own=())


@dataclass
class TeamAccessArgs:
    """Inputs of :class:`TeamAccess`."""

    team: TeamSettings
    """The team: its name (namespace ``hyperpod-ns-<team>``), its principal and its external id."""
    team_account_id: str
    """The team's account (12 digits): the one account whose role the trust admits."""
    eks_cluster_name: pulumi.Input[str]
    """Name of the EKS cluster the access entry is made in; give one that resolves after the control plane
    exists (:func:`hyperpod_platform._args.after`)."""
    region: str
    """Region of the EKS cluster, for the ``aws eks update-kubeconfig`` line."""
    tags: dict[str, str]
    """Tags for the role and the access entry."""
    organization_id: Optional[str] = None
    """AWS Organizations id (``o-...``) the trust requires of the team principal when the team has no
    external id."""


class TeamAccess(pulumi.ComponentResource):
    """A team's way into the cluster from its own account: a role in the cluster account trusting only the
    team's principal (external id or organization required), with EKS edit rights in the team namespace only."""

    role: aws.iam.Role
    """The team's cluster-access role (in the cluster account)."""
    role_arn: pulumi.Output[str]
    """ARN of the team's cluster-access role; it resolves once its access entry and namespace-scoped policy
    exist. The team principal needs ``sts:AssumeRole`` on it in the team account."""
    kubeconfig_command: pulumi.Output[str]
    """``aws eks update-kubeconfig --name <cluster> --region <region> --role-arn <role> --alias <team>``: run it
    with the team principal's credentials."""

    def __init__(self, name: str, args: TeamAccessArgs, opts: Optional[pulumi.ResourceOptions] = None):
        args, check = take("TeamAccess", TeamAccessArgs, args)
        _check_args(args, check)
        check.raise_if_any()
        super().__init__(component_type("TeamAccess"), name, None, opts)
        team = args.team
        child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        partition = aws.get_partition_output(opts=invoke).partition
        account = aws.get_caller_identity_output(opts=invoke).account_id  # the cluster account
        role_name = physical_name(f"{name}-access", ROLE_NAME_MAX)
        self.role = aws.iam.Role(
            f"{name}-role",
            name=role_name,
            description=f"Cluster access of team {team.name} (namespace {team.namespace}) from its account",
            assume_role_policy=json.dumps(trust_policy(team, args.organization_id)),
            tags=args.tags,
            opts=child,
        )
        # The role's ARN from its name: known in a preview, so the guardrails judge whose access this is.
        role_arn = after(pulumi.Output.format("arn:{0}:iam::{1}:role/{2}", partition, account, role_name), [self.role])
        entry = aws.eks.AccessEntry(
            f"{name}-entry",
            cluster_name=args.eks_cluster_name,
            principal_arn=role_arn,
            type="STANDARD",
            tags=args.tags,
            opts=child,
        )
        edit = aws.eks.AccessPolicyAssociation(
            f"{name}-edit",
            cluster_name=args.eks_cluster_name,
            principal_arn=entry.principal_arn,  # after the entry: a policy needs its access entry
            policy_arn=partition.apply(lambda p: f"arn:{p}:eks::aws:cluster-access-policy/{EDIT_POLICY}"),
            access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="namespace", namespaces=[team.namespace]),
            opts=child,
        )
        self.role_arn = after(role_arn, [entry, edit])
        self.kubeconfig_command = pulumi.Output.format(
            "aws eks update-kubeconfig --name {0} --region {1} --role-arn {2} --alias {3}",
            args.eks_cluster_name,
            args.region,
            self.role_arn,
            team.name,
        )
        self.register_outputs({"role_arn": self.role_arn, "kubeconfig_command": self.kubeconfig_command})


def trust_policy(team: TeamSettings, organization_id: Optional[str]) -> dict:
    """The role's trust: the team principal exactly (a role ARN, never an account root), on condition of the
    team's external id, or else of the organization the principal belongs to; nobody else."""
    condition = {"sts:ExternalId": team.external_id} if team.external_id else {"aws:PrincipalOrgID": organization_id}
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "TeamPrincipalOnly",
                "Effect": "Allow",
                "Principal": {"AWS": team.principal_arn},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": condition},
            }
        ],
    }


def _check_args(args: TeamAccessArgs, check: ArgCheck) -> None:
    """The team's name, its principal (a role of the team account), an external id or an organization id for
    the trust's condition, the account id, the cluster name, region and tags."""
    team = args.team
    check_team(check, "team", team)
    check_account_id(check, "team_account_id", args.team_account_id)
    account = args.team_account_id if ACCOUNT_ID_RE.match(args.team_account_id) else ""
    check.check("team.principal_arn", team.principal_arn, role_arn_in(account, f"team {team.name}'s account"))
    if team.external_id is not None:
        if not EXTERNAL_ID_RE.match(team.external_id):
            check.fail(
                "team.external_id",
                team.external_id,
                "is not an STS external id (2-1224 letters, digits and +=,.@:/-_)",
                "give the external id the team principal passes",
            )
    elif args.organization_id is None:
        check.fail(
            "organization_id",
            None,
            f"is required: team {team.name} has no external id, and a cross-account trust needs one or the "
            "other (no unconditioned trust)",
            "give the AWS Organizations id (o-...), or an external id for the team",
        )
    if args.organization_id is not None and not ORGANIZATION_ID_RE.match(args.organization_id):
        check.fail(
            "organization_id",
            args.organization_id,
            "is not an AWS Organizations id",
            "give it as o- and 10-32 lowercase letters or digits",
        )
    check_common(check, args.eks_cluster_name, args.region, args.tags)
