"""Access to the EKS-orchestrated cluster from a team's own account (issue "teams across accounts", point 3).

Per team, in the cluster account: an IAM role that trusts only the team's configured principal (a role of the
team account, never its root) on condition of the team's external id or the cluster's organization; an EKS
access entry for that role with ``AmazonEKSEditPolicy`` scoped to the team namespace (``hyperpod-ns-<team>``)
only, carrying the team's Kubernetes group; the RBAC the jobs need that no EKS access policy gives; an AWS
config profile that assumes the role (with the external id); and the ``aws eks update-kubeconfig`` line that
uses the profile.

**RBAC.** EKS access policies are fixed rule sets over Kubernetes' own API groups: ``AmazonEKSEditPolicy`` does
not cover custom resources, so with it alone a team cannot submit a ``kubeflow.org`` PyTorchJob nor read its
``kueue.x-k8s.io`` queue. As the pinned HyperPod chart's ``charts/team-role-and-bindings`` does, the team's
group ``hyperpod-ns-<team>-namespace-level-group`` gets a Role in the team namespace (PyTorchJobs, batch Jobs,
pods and their logs, Kueue workloads and local queues, claims) and a read-only ClusterRole (Kueue cluster queues,
resource flavors, workload priority classes). SageMaker creates the namespace with the team's ComputeQuota:
the Role and its binding take the namespace as a value that resolves after the quota (``namespace``).

**Kubeconfig.** ``aws eks get-token`` takes only ``--cluster-name``, ``--role-arn`` and ``--cluster-id``
(awscli ``customizations/eks/get_token.py``): it cannot pass an external id. The team's way in is therefore an
AWS config profile (``role_arn``, ``external_id``, ``source_profile``) and ``update-kubeconfig --profile``,
whose kubeconfig runs ``get-token`` with ``AWS_PROFILE`` set to it.
"""

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from . import checks
from ._args import ArgCheck, after, component_type, take
from .settings import TeamSettings

EDIT_POLICY = "AmazonEKSEditPolicy"
"""EKS access policy a team's role gets, scoped to the team namespace."""
ACCOUNT_ID_RE = re.compile(r"^\d{12}$")
ORGANIZATION_ID_RE = re.compile(r"^o-[a-z0-9]{10,32}$")
EXTERNAL_ID_RE = re.compile(r"^[\w+=,.@:/-]{2,1224}$")
"""STS's ExternalId: 2-1224 characters of letters, digits and ``+=,.@:/-_``."""
EKS_CLUSTER_NAME_RE = re.compile(r"^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$")
ROLE_NAME_MAX = 64
"""IAM role names: at most 64 characters."""
PROFILE_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
"""An AWS config profile name as the CLI reads it unquoted in ``[profile <name>]``."""

RBAC_GROUP = "rbac.authorization.k8s.io"
READ = ("get", "list", "watch")
WRITE = ("create", "update", "patch", "delete")
NAMESPACE_RULES: tuple[dict, ...] = (
    # The job kinds the platform serves (examples/jobs) and what submitting and following them needs.
    {"apiGroups": ["kubeflow.org"], "resources": ["pytorchjobs", "pytorchjobs/status"], "verbs": [*READ, *WRITE]},
    {"apiGroups": ["batch"], "resources": ["jobs", "jobs/status"], "verbs": [*READ, *WRITE]},
    {"apiGroups": [""], "resources": ["pods", "pods/status"], "verbs": [*READ, "create", "delete"]},
    {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get", "list"]},
    # Kueue makes a Workload of each job: the team follows (and may re-prioritise) its own.
    {"apiGroups": ["kueue.x-k8s.io"], "resources": ["workloads", "workloads/status"], "verbs": [*READ, "patch"]},
    {"apiGroups": ["kueue.x-k8s.io"], "resources": ["localqueues"], "verbs": list(READ)},
    # Shared storage: the team's claim on the FSx volume (FsxVolume), mounted by its pods.
    {"apiGroups": [""], "resources": ["persistentvolumeclaims"], "verbs": list(READ)},
)
"""The Role a team's group gets in its own namespace (after the chart's ``team-level-namespaced-role``)."""
CLUSTER_RULES: tuple[dict, ...] = (
    {
        "apiGroups": ["kueue.x-k8s.io"],
        "resources": ["clusterqueues", "resourceflavors", "workloadpriorityclasses"],
        "verbs": list(READ),
    },
)
"""The ClusterRole a team's group gets: read only, Kueue's cluster-scoped objects (the chart's
``team-level-cluster-role``)."""


def team_group(team: TeamSettings) -> str:
    """The Kubernetes group of a team's access entry, as the HyperPod chart names it."""
    return f"{team.namespace}-namespace-level-group"


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
    """The team's name: the rule the config layer applies (:func:`checks.team_name`), one declaration."""
    check.check(f"{arg}.name", team.name, checks.team_name)


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
    provider: Optional[k8s.Provider] = None
    """The EKS cluster's Kubernetes provider, used explicitly for the team's RBAC (required)."""
    namespace: Optional[pulumi.Input[str]] = None
    """The team namespace ``hyperpod-ns-<team>`` as a value that resolves once it exists: SageMaker creates it
    with the team's ComputeQuota (``TaskGovernance.quota_names``), so the Role and its binding come after."""
    organization_id: Optional[str] = None
    """AWS Organizations id (``o-...``) the trust requires of the team principal when the team has no
    external id."""
    source_profile: str = "default"
    """The AWS config profile with the team principal's credentials on a team member's machine: the source of
    the team's profile (:attr:`TeamAccess.aws_profile`)."""


class TeamAccess(pulumi.ComponentResource):
    """A team's way into the cluster from its own account: a role in the cluster account trusting only the
    team's principal (external id or organization required), with EKS edit rights and the jobs' RBAC in the
    team namespace only, and an AWS profile with the kubeconfig line that uses it."""

    role: aws.iam.Role
    """The team's cluster-access role (in the cluster account)."""
    role_arn: pulumi.Output[str]
    """ARN of the team's cluster-access role; it resolves once its access entry and namespace-scoped policy
    exist. The team principal needs ``sts:AssumeRole`` on it in the team account."""
    group: str
    """The Kubernetes group the team's access entry carries (its RBAC subject)."""
    profile_name: str
    """Name of the team's AWS config profile (the component's name, as a profile name)."""
    aws_profile: pulumi.Output[str]
    """The ``~/.aws/config`` section a team member adds: ``role_arn`` (the team's cluster-access role),
    ``external_id`` when the trust requires one, ``source_profile`` and ``region``."""
    kubeconfig_command: pulumi.Output[str]
    """``aws eks update-kubeconfig --name <cluster> --region <region> --profile <profile> --alias <team>``: run
    it once :attr:`aws_profile` is in the AWS config; kubectl then assumes the role through the profile."""

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
        self.group = team_group(team)
        entry = aws.eks.AccessEntry(
            f"{name}-entry",
            cluster_name=args.eks_cluster_name,
            principal_arn=role_arn,
            type="STANDARD",
            kubernetes_groups=[self.group],
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
        rbac = self._rbac(name, team, args)
        self.role_arn = after(role_arn, [entry, edit, *rbac])
        self.profile_name = profile = re.sub(r"[^A-Za-z0-9_.-]+", "-", name)[:64]
        self.aws_profile = self.role_arn.apply(
            lambda arn: aws_profile(profile, arn, team.external_id, args.source_profile, args.region)
        )
        self.kubeconfig_command = pulumi.Output.format(
            "aws eks update-kubeconfig --name {0} --region {1} --profile {2} --alias {3}",
            args.eks_cluster_name,
            args.region,
            profile,
            team.name,
        )
        self.register_outputs(
            {
                "role_arn": self.role_arn,
                "aws_profile": self.aws_profile,
                "kubeconfig_command": self.kubeconfig_command,
            }
        )

    def _rbac(self, name: str, team: TeamSettings, args: TeamAccessArgs) -> list[pulumi.Resource]:
        """The team group's Role and RoleBinding in the team namespace (after it exists) and its read-only
        ClusterRole with its binding, all through the cluster's provider."""
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=args.provider)
        subject = [{"kind": "Group", "name": self.group, "apiGroup": RBAC_GROUP}]
        role_name, cluster_role_name = f"{team.namespace}-jobs", f"{team.namespace}-queues-read"
        role = k8s.rbac.v1.Role(
            f"{name}-jobs-role",
            metadata={"name": role_name, "namespace": args.namespace},
            rules=[dict(r) for r in NAMESPACE_RULES],
            opts=k8s_opts,
        )
        binding = k8s.rbac.v1.RoleBinding(
            f"{name}-jobs-binding",
            metadata={"name": role_name, "namespace": role.metadata["namespace"]},
            subjects=subject,
            role_ref={"kind": "Role", "name": role.metadata["name"], "apiGroup": RBAC_GROUP},
            opts=k8s_opts,
        )
        cluster_role = k8s.rbac.v1.ClusterRole(
            f"{name}-queues-role",
            metadata={"name": cluster_role_name},
            rules=[dict(r) for r in CLUSTER_RULES],
            opts=k8s_opts,
        )
        cluster_binding = k8s.rbac.v1.ClusterRoleBinding(
            f"{name}-queues-binding",
            metadata={"name": cluster_role_name},
            subjects=subject,
            role_ref={"kind": "ClusterRole", "name": cluster_role.metadata["name"], "apiGroup": RBAC_GROUP},
            opts=k8s_opts,
        )
        return [role, binding, cluster_role, cluster_binding]


def aws_profile(profile: str, role_arn: str, external_id: Optional[str], source_profile: str, region: str) -> str:
    """The AWS config section of a team's profile: the CLI assumes ``role_arn`` with ``external_id`` (when the
    trust requires one) from the credentials of ``source_profile``."""
    lines = [f"[profile {profile}]", f"role_arn = {role_arn}"]
    if external_id:
        lines.append(f"external_id = {external_id}")
    lines += [f"source_profile = {source_profile}", f"region = {region}"]
    return "\n".join(lines) + "\n"


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
    if args.provider is None:
        check.fail(
            "provider",
            None,
            "is required: the team's RBAC (its jobs' custom resources, which no EKS access policy covers) is "
            "created in the cluster",
            "give the EKS cluster's Kubernetes provider (EksControlPlane.provider)",
        )
    if args.namespace is None:
        check.fail(
            "namespace",
            None,
            f"is required: the team's Role lives in {team.namespace}, which SageMaker creates with the team's "
            "ComputeQuota",
            "give the namespace as a value that resolves after the quota (TaskGovernance.quota_names)",
        )
    elif isinstance(args.namespace, str) and args.namespace != team.namespace:
        check.fail(
            "namespace",
            args.namespace,
            f"is not team {team.name}'s namespace (task governance queues only jobs in {team.namespace})",
            f"give {team.namespace}, resolving after the team's ComputeQuota",
        )
    if not PROFILE_NAME_RE.match(args.source_profile):
        check.fail(
            "source_profile",
            args.source_profile,
            "is not an AWS config profile name",
            "give the profile name (letters, digits, '_', '.', '-') holding the team principal's credentials",
        )
    check_common(check, args.eks_cluster_name, args.region, args.tags)
