"""Execution role of the HyperPod instance groups."""

import json
from dataclasses import dataclass, field
from typing import Optional

import pulumi
import pulumi_aws as aws

from . import checks
from ._args import ArgCheck, after, component_type, renamed, take

MANAGED_POLICY = "AmazonSageMakerClusterInstanceRolePolicy"
ENI_ACTIONS = [
    "ec2:CreateNetworkInterfacePermission",
    "ec2:DeleteNetworkInterface",
    "ec2:DeleteNetworkInterfacePermission",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
]
"""ENI actions that name only the network interface: scoped to the cluster VPC with ``ArnEquals ec2:Vpc``."""
# A condition key exists only for the resource types that define it (parliament's iam_definition.json lists
# them per action and resource type); a key the request lacks is absent, and ArnEquals on an absent key is
# false. ec2:Vpc is a key of network-interface, not of instance, and DetachNetworkInterface and
# AttachNetworkInterface need both (instance*, network-interface*): each resource must be allowed, so
# ``ArnEquals ec2:Vpc`` on instance/* denies them. They get ``ArnEqualsIfExists``: enforced on the ENI, which
# always has a VPC, and true for the instance, which has no such key. (Not two statements, one per resource
# type: parliament judges a statement alone and flags each half as RESOURCE_MISMATCH.)
ATTACHMENT_ACTIONS = ["ec2:DetachNetworkInterface"]
"""ENI actions that also name the instance (``instance*`` in the IAM data)."""
# What the Amazon VPC CNI on an EKS node does with the node's role (it has no role of its own here): attach,
# modify and tag ENIs in the cluster VPC (existing ENIs too: amazon-vpc-cni-k8s pkg/awsutils TagENI calls
# CreateTags on its own, without ec2:CreateAction), and describe instances, tags and types.
EKS_ATTACHMENT_ACTIONS = ["ec2:AttachNetworkInterface", "ec2:ModifyNetworkInterfaceAttribute"]
"""The CNI's actions on an ENI that may name the instance too (attach needs it; modify names it for the
attachment)."""
EKS_ENI_ACTIONS = ["ec2:CreateTags"]
"""The CNI's actions that name only the ENI."""
EKS_DESCRIBE_ACTIONS = ["ec2:DescribeInstances", "ec2:DescribeTags", "ec2:DescribeInstanceTypes"]
# Pulling the HyperPod agents' images: they live in AWS-owned registries per region, so pulls are not scoped
# to an account (as in AmazonEC2ContainerRegistryReadOnly); read-only.
ECR_PULL_ACTIONS = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
# The trust AWS's own HyperPod templates write (aws/sagemaker-hyperpod-cluster-setup eks and slurm IAM
# templates; awsome-distributed-ai sagemaker_iam_role): SageMaker, no condition. Whether SageMaker sends
# aws:SourceArn / aws:SourceAccount when it assumes an instance role is not documented, and a trust
# that requires a key the request lacks fails CreateCluster. Only principals of this account allowed to
# iam:PassRole this role can make SageMaker use it, which keeps it to this account's clusters.
TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
# EC2 Describe* calls support no resource-level scope: AWS accepts only "*" for them.
DESCRIBE_ACTIONS = [
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeVpcs",
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
]


@dataclass
class ExecutionRoleArgs:
    """Inputs of :class:`ExecutionRole`."""

    vpc_arn: pulumi.Input[str]
    """ARN of the cluster VPC: ENI actions are limited to it."""
    subnet_arns: list[pulumi.Input[str]]
    """Subnets the cluster may create ENIs in."""
    security_group_arns: list[pulumi.Input[str]]
    """Security groups the cluster may attach to its ENIs."""
    bucket_arn: pulumi.Input[str]
    """Lifecycle bucket: read-only access to its ``lifecycle/`` prefix."""
    lifecycle_prefix: str
    """Key prefix of the lifecycle scripts."""
    tags: dict[str, str]
    """Tags for the role."""
    readable_secret_arns: list[pulumi.Input[str]] = field(default_factory=list)
    """The only secrets the nodes may read (e.g. the login host keys)."""
    readable_parameter_names: list[str] = field(default_factory=list)
    """The only SSM parameters the nodes may read (e.g. the directory connection), by name: their ARNs are
    built from the name, this account and region, so the role does not wait for the parameters."""
    eks_cluster_arn: Optional[pulumi.Input[str]] = None
    """EKS orchestrator: the EKS cluster the nodes join. Adds what EKS nodes need: the VPC CNI's ENI actions
    in the VPC, image pulls, and Pod Identity credentials for this cluster only."""


def parameter_arn(partition: str, region: str, account: str, name: str) -> str:
    """ARN of the SSM parameter ``name`` (a hierarchical name's leading slash is not repeated)."""
    return f"arn:{partition}:ssm:{region}:{account}:parameter/{name.lstrip('/')}"


def policy_document(
    vpc_arn: str,
    subnet_arns: list[str],
    sg_arns: list[str],
    bucket_arn: str,
    prefix: str,
    secret_arns: list[str] = (),
    parameter_arns: list[str] = (),
    eks_cluster_arn: Optional[str] = None,
) -> dict:
    """The inline policy, as a plain document (tested and linted on its own)."""
    _, partition, _, region, account, _ = vpc_arn.split(":", 5)
    enis = f"arn:{partition}:ec2:{region}:{account}:network-interface/*"
    instances = f"arn:{partition}:ec2:{region}:{account}:instance/*"  # DetachNetworkInterface names both
    attachment_actions = ATTACHMENT_ACTIONS + (EKS_ATTACHMENT_ACTIONS if eks_cluster_arn else [])
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "DescribeNetwork", "Effect": "Allow", "Action": DESCRIBE_ACTIONS, "Resource": "*"},
            {
                "Sid": "CreateEniInClusterSubnets",
                "Effect": "Allow",
                "Action": "ec2:CreateNetworkInterface",
                "Resource": [enis, *subnet_arns, *sg_arns],
            },
            {
                "Sid": "ManageEnisInClusterVpc",
                "Effect": "Allow",
                "Action": ENI_ACTIONS,
                "Resource": enis,
                "Condition": {"ArnEquals": {"ec2:Vpc": vpc_arn}},
            },
            {
                "Sid": "EniAttachmentsInClusterVpc",
                "Effect": "Allow",
                "Action": attachment_actions,
                "Resource": [enis, instances],
                "Condition": {"ArnEqualsIfExists": {"ec2:Vpc": vpc_arn}},
            },
            {
                "Sid": "TagNewEnis",
                "Effect": "Allow",
                "Action": "ec2:CreateTags",
                "Resource": enis,
                "Condition": {"StringEquals": {"ec2:CreateAction": "CreateNetworkInterface"}},
            },
            {
                "Sid": "ReadLifecycleScripts",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": f"{bucket_arn}/{prefix}/*",
            },
            {
                "Sid": "ListLifecycleScripts",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": bucket_arn,
                "Condition": {"StringLike": {"s3:prefix": [f"{prefix}/*", prefix]}},
            },
        ]
        + (
            [
                {
                    "Sid": "ReadNamedSecrets",
                    "Effect": "Allow",
                    "Action": "secretsmanager:GetSecretValue",
                    "Resource": list(secret_arns),
                }
            ]
            if secret_arns
            else []
        )
        + (
            [
                {
                    "Sid": "ReadNamedParameters",
                    "Effect": "Allow",
                    "Action": "ssm:GetParameter",
                    "Resource": list(parameter_arns),
                }
            ]
            if parameter_arns
            else []
        )
        + (eks_statements(vpc_arn, eks_cluster_arn) if eks_cluster_arn else []),
    }


def eks_statements(vpc_arn: str, eks_cluster_arn: str) -> list[dict]:
    """What an EKS-orchestrated node needs besides the Slurm set: the VPC CNI's ENI actions (in the cluster VPC),
    describe calls, image pulls, and EKS Pod Identity credentials for pods of this cluster only."""
    _, partition, _, region, account, _ = vpc_arn.split(":", 5)
    return [
        {"Sid": "CniDescribe", "Effect": "Allow", "Action": EKS_DESCRIBE_ACTIONS, "Resource": "*"},
        {
            "Sid": "CniManageEnisInClusterVpc",
            "Effect": "Allow",
            "Action": EKS_ENI_ACTIONS,
            "Resource": f"arn:{partition}:ec2:{region}:{account}:network-interface/*",
            "Condition": {"ArnEquals": {"ec2:Vpc": vpc_arn}},
        },
        {"Sid": "EcrAuthToken", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {"Sid": "EcrPull", "Effect": "Allow", "Action": ECR_PULL_ACTIONS, "Resource": "*"},
        {
            "Sid": "PodIdentityForThisCluster",
            "Effect": "Allow",
            "Action": "eks-auth:AssumeRoleForPodIdentity",
            "Resource": eks_cluster_arn,
        },
    ]


class ExecutionRole(pulumi.ComponentResource):
    """IAM role assumed by the HyperPod nodes, trusted by SageMaker in this account only."""

    role: aws.iam.Role
    """The role; later components attach narrowly scoped policies to it."""
    arn: pulumi.Output[str]
    """Role ARN for the instance groups; it resolves once the role's policies are attached, so a cluster that
    takes it boots with its permissions in place."""

    def __init__(self, name: str, args: ExecutionRoleArgs, opts: pulumi.ResourceOptions | None = None):
        args, check = take("ExecutionRole", ExecutionRoleArgs, args)
        _check_args(args, check)
        check.raise_if_any()
        super().__init__(component_type("ExecutionRole"), name, None, renamed(opts, "ExecutionRole"))
        child = pulumi.ResourceOptions(parent=self)
        arn_parts = pulumi.Output.from_input(args.vpc_arn).apply(lambda a: a.split(":"))
        trust = json.dumps(TRUST_POLICY)
        self.role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=trust,
            tags=args.tags,
            description="HyperPod cluster instance role",
            opts=child,
        )
        managed = aws.iam.RolePolicyAttachment(
            f"{name}-managed",
            role=self.role.name,
            opts=child,
            policy_arn=arn_parts.apply(lambda p: f"arn:{p[1]}:iam::aws:policy/{MANAGED_POLICY}"),
        )
        parameter_arns = pulumi.Output.from_input([])
        if args.readable_parameter_names:  # invokes, not the parameters' arn outputs: no dependency on them
            invoke = pulumi.InvokeOutputOptions(parent=self)
            parameter_arns = pulumi.Output.all(
                aws.get_partition_output(opts=invoke).partition,
                aws.get_region_output(opts=invoke).region,
                aws.get_caller_identity_output(opts=invoke).account_id,
            ).apply(lambda p: [parameter_arn(*p, n) for n in args.readable_parameter_names])
        inline = aws.iam.RolePolicy(
            f"{name}-vpc-and-lifecycle",
            role=self.role.id,
            opts=child,
            policy=pulumi.Output.all(
                args.vpc_arn,
                pulumi.Output.all(*args.subnet_arns),
                pulumi.Output.all(*args.security_group_arns),
                args.bucket_arn,
                pulumi.Output.all(*args.readable_secret_arns),
                parameter_arns,
                args.eks_cluster_arn,
            ).apply(
                lambda v: json.dumps(
                    policy_document(
                        v[0], list(v[1]), list(v[2]), v[3], args.lifecycle_prefix, list(v[4]), list(v[5]), v[6]
                    )
                )
            ),
        )
        # The secrets' own policies refuse every other principal, so "only the nodes" holds even against
        # broad IAM grants elsewhere in the account. The principal running `pulumi up` is exempt too: the AWS
        # provider reads a secret's value back after writing it and on every refresh. aws:PrincipalArn of an
        # assumed role is the role's ARN (with its path), which the session context gives.
        if args.readable_secret_arns:
            caller = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
            deployer = aws.iam.get_session_context_output(
                arn=caller.arn, opts=pulumi.InvokeOutputOptions(parent=self)
            ).issuer_arn
        for i, secret_arn in enumerate(args.readable_secret_arns):
            aws.secretsmanager.SecretPolicy(
                f"{name}-secret-{i}-nodes-only",
                secret_arn=secret_arn,
                opts=child,
                policy=pulumi.Output.all(secret_arn, self.role.arn, deployer).apply(
                    lambda v: json.dumps(
                        {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Sid": "OnlyTheClusterNodesRead",
                                    "Effect": "Deny",
                                    "Principal": "*",
                                    "Action": "secretsmanager:GetSecretValue",
                                    "Resource": v[0],
                                    "Condition": {"ArnNotEquals": {"aws:PrincipalArn": sorted({v[1], v[2]})}},
                                }
                            ],
                        }
                    )
                ),
            )
        self.arn = after(self.role.arn, [managed, inline])
        self.register_outputs({"arn": self.arn})


def _check_args(args: ExecutionRoleArgs, check: ArgCheck) -> None:
    """What the policy is built from: the VPC's ARN, one or more subnets and security groups for the nodes'
    ENIs, the bucket and key prefix of the lifecycle scripts, the secrets' ARNs and the parameters' names (each
    once; plain values are checked, outputs when they resolve); tags AWS accepts."""
    account = "arn:aws:ec2:us-east-1:123456789012"
    check.check("vpc_arn", args.vpc_arn, checks.arn_of("ec2", "vpc/", "a VPC", f"{account}:vpc/vpc-0123456789abcdef0"))
    subnet = checks.arn_of("ec2", "subnet/", "a subnet", f"{account}:subnet/subnet-0123456789abcdef0")
    why = "the nodes' network interfaces are created in these subnets"
    if check.at_least("subnet_arns", args.subnet_arns, 1, why, "give the ARNs of the nodes' subnets"):
        check.each("subnet_arns", args.subnet_arns, subnet, same=str)
    sg = f"{account}:security-group/sg-0123456789abcdef0"
    group = checks.arn_of("ec2", "security-group/", "a security group", sg)
    why = "the nodes' network interfaces get these security groups"
    if check.at_least("security_group_arns", args.security_group_arns, 1, why, "give the cluster security group's ARN"):
        check.each("security_group_arns", args.security_group_arns, group, same=str)
    check.check("bucket_arn", args.bucket_arn, checks.arn_of("s3", "", "an S3 bucket", "arn:aws:s3:::sagemaker-hp-abc"))
    check.check("lifecycle_prefix", args.lifecycle_prefix, checks.key_prefix)
    example = "arn:aws:secretsmanager:us-east-1:123456789012:secret:hp-ldap-bind-AbCdEf"
    secret = checks.arn_of("secretsmanager", "secret:", "a Secrets Manager secret", example)
    check.each("readable_secret_arns", args.readable_secret_arns, secret, same=str)
    check.each("readable_parameter_names", args.readable_parameter_names, checks.parameter_name, same=str)
    check.tags(args.tags, own=())
