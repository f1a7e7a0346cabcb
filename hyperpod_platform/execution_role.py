"""Execution role of the HyperPod instance groups."""

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from ._args import after, component_type, renamed, take

MANAGED_POLICY = "AmazonSageMakerClusterInstanceRolePolicy"
ENI_ACTIONS = [
    "ec2:CreateNetworkInterfacePermission",
    "ec2:DeleteNetworkInterface",
    "ec2:DeleteNetworkInterfacePermission",
    "ec2:DetachNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
]
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
) -> dict:
    """The inline policy, as a plain document (tested and linted on its own)."""
    _, partition, _, region, account, _ = vpc_arn.split(":", 5)
    enis = f"arn:{partition}:ec2:{region}:{account}:network-interface/*"
    instances = f"arn:{partition}:ec2:{region}:{account}:instance/*"  # DetachNetworkInterface names both
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
                "Resource": [enis, instances],
                "Condition": {"ArnEquals": {"ec2:Vpc": vpc_arn}},
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
        ),
    }


class ExecutionRole(pulumi.ComponentResource):
    """IAM role assumed by the HyperPod nodes, trusted by SageMaker in this account only."""

    role: aws.iam.Role
    """The role; later components attach narrowly scoped policies to it."""
    arn: pulumi.Output[str]
    """Role ARN for the instance groups; it resolves once the role's policies are attached, so a cluster that
    takes it boots with its permissions in place."""

    def __init__(self, name: str, args: ExecutionRoleArgs, opts: pulumi.ResourceOptions | None = None):
        args, check = take("ExecutionRole", ExecutionRoleArgs, args)
        check.raise_if_any()
        super().__init__(component_type("ExecutionRole"), name, None, renamed(opts, "ExecutionRole"))
        child = pulumi.ResourceOptions(parent=self)
        arn_parts = pulumi.Output.from_input(args.vpc_arn).apply(lambda a: a.split(":"))
        trust = arn_parts.apply(
            lambda p: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "sagemaker.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                            "Condition": {
                                "StringEquals": {"aws:SourceAccount": p[4]},
                                "ArnLike": {"aws:SourceArn": f"arn:{p[1]}:sagemaker:{p[3]}:{p[4]}:cluster/*"},
                            },
                        }
                    ],
                }
            )
        )
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
            ).apply(
                lambda v: json.dumps(
                    policy_document(v[0], list(v[1]), list(v[2]), v[3], args.lifecycle_prefix, list(v[4]), list(v[5]))
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
