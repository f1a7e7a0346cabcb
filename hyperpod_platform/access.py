"""Other ways in: SSM Session Manager (SSH over SSM) and an optional bastion host."""

import json
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from . import checks
from ._args import ArgCheck, component_type, renamed, take
from .errors import MISSING
from .settings import AccessSettings

SSH_DOCUMENT = "AWS-StartSSHSession"
SHELL_DOCUMENT = "SSM-SessionManagerRunShell"


@dataclass
class AccessArgs:
    """Inputs of :class:`Access`."""

    settings: AccessSettings
    """Validated SSM and bastion settings."""
    cluster_name: str
    """Cluster name, for the ssh_config host patterns."""
    cluster_arn: pulumi.Input[str]
    """The HyperPod cluster, the only SSM target users may open SSH sessions to."""
    vpc_id: pulumi.Input[str]
    """Cluster VPC."""
    public_subnet_id: Optional[pulumi.Input[str]]
    """Public subnet of the bastion (create mode only)."""
    cluster_security_group_id: pulumi.Input[str]
    """Cluster SG: admits SSH from the bastion's group."""
    tags: dict[str, str]
    """Tags for every resource."""


def ssm_user_policy(cluster_arn: str) -> dict:
    """Users may open SSH sessions (AWS-StartSSHSession) to the cluster's nodes, and nothing else: a session
    without a document name would use the default shell document, which is denied explicitly."""
    region, account = cluster_arn.split(":")[3:5]
    partition = cluster_arn.split(":")[1]
    doc = f"arn:{partition}:ssm:{region}::document/{SSH_DOCUMENT}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "SshToClusterNodes",
                "Effect": "Allow",
                "Action": "ssm:StartSession",
                "Resource": [cluster_arn, doc],
            },
            {
                "Sid": "DenyDefaultShell",
                "Effect": "Deny",
                "Action": "ssm:StartSession",
                "Resource": f"arn:{partition}:ssm:{region}:{account}:document/{SHELL_DOCUMENT}",
            },
            {
                "Sid": "OwnSessionsOnly",
                "Effect": "Allow",
                "Action": ["ssm:TerminateSession", "ssm:ResumeSession"],
                "Resource": f"arn:{partition}:ssm:{region}:{account}:session/${{aws:userid}}-*",
            },
            {
                "Sid": "FindNodes",
                "Effect": "Allow",
                "Action": ["sagemaker:DescribeCluster", "sagemaker:ListClusterNodes"],
                "Resource": cluster_arn,
            },
        ],
    }


def ssm_ssh_config(cluster_name: str, cluster_id: str) -> str:
    """An ssh_config block that reaches ``<cluster>-node-<group>-<instance-id>`` through SSM.

    ssh hands ProxyCommand to a shell after pasting the host name in, so the name never goes into the script
    text: it is passed single-quoted as an argument (OpenSSH refuses host names with quotes and other shell
    metacharacters), and the script refuses anything but letters, digits and hyphens before using it.
    """
    prefix = f"{cluster_name}-node-"
    script = (
        'case "$1" in *[!A-Za-z0-9-]*) echo "not an SSM node name: $1" >&2; exit 2;; esac; '
        f'exec aws ssm start-session --document-name {SSH_DOCUMENT} --parameters "portNumber=$2" '
        f'--target "sagemaker-cluster:{cluster_id}_${{1#{prefix}}}"'
    )
    return (
        f"# Nodes by SSM target: ssh {prefix}<group>-<instance-id>\n"
        f"Host {prefix}*\n"
        f"  ProxyCommand sh -c '{script}' sh '%h' '%p'\n"
    )


class Access(pulumi.ComponentResource):
    """The SSM user policy with its ssh_config snippet, and the bastion with its ProxyJump snippet."""

    ssm_policy_arn: Optional[pulumi.Output[str]] = None
    """ARN of the IAM policy for users (SSH over SSM to this cluster only); None when SSM access is off."""
    ssm_ssh_config: Optional[pulumi.Output[str]] = None
    """ssh_config lines that reach nodes through SSM."""
    bastion_ssh_config: Optional[pulumi.Output[str]] = None
    """ssh_config lines that reach the VPC through the bastion."""

    def __init__(self, name: str, args: AccessArgs, opts: Optional[pulumi.ResourceOptions] = None):
        args, check = take("Access", AccessArgs, args)
        _check_args(args, check)
        check.raise_if_any()
        super().__init__(
            component_type("Access"), name, None, renamed(opts, "AccessPaths")
        )  # its name until the package was published
        s = args.settings
        child = pulumi.ResourceOptions(parent=self)
        if s.ssm:
            policy = aws.iam.Policy(
                f"{name}-ssm-users",
                description="SSH to HyperPod nodes over SSM only",
                policy=pulumi.Output.from_input(args.cluster_arn).apply(lambda arn: json.dumps(ssm_user_policy(arn))),
                tags=args.tags,
                opts=child,
            )
            self.ssm_policy_arn = policy.arn
            self.ssm_ssh_config = pulumi.Output.from_input(args.cluster_arn).apply(
                lambda arn: ssm_ssh_config(args.cluster_name, arn.rsplit("/", 1)[1])
            )
        if s.bastion:
            sg = aws.ec2.SecurityGroup(
                f"{name}-bastion-sg",
                vpc_id=args.vpc_id,
                description="Bastion: SSH from listed CIDRs only",
                tags={**args.tags, "Name": f"{name}-bastion"},
                opts=child,
            )
            for i, cidr in enumerate(s.bastion_allowed_cidrs):
                aws.vpc.SecurityGroupIngressRule(
                    f"{name}-bastion-ssh-{i}",
                    security_group_id=sg.id,
                    ip_protocol="tcp",
                    from_port=22,
                    to_port=22,
                    cidr_ipv4=cidr,
                    description="SSH from an allowed range",
                    opts=child,
                )
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-bastion-to-cluster",
                security_group_id=sg.id,
                ip_protocol="tcp",
                from_port=22,
                to_port=22,
                referenced_security_group_id=args.cluster_security_group_id,
                description="SSH to the cluster",
                opts=child,
            )
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-cluster-ssh-from-bastion",
                security_group_id=args.cluster_security_group_id,
                ip_protocol="tcp",
                from_port=22,
                to_port=22,
                referenced_security_group_id=sg.id,
                description="SSH from the bastion",
                opts=child,
            )
            bastion = aws.ec2.Instance(
                f"{name}-bastion",
                ami="resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
                instance_type=s.bastion_instance_type,
                subnet_id=args.public_subnet_id,
                vpc_security_group_ids=[sg.id],
                associate_public_ip_address=True,
                key_name=s.bastion_key_name,
                metadata_options={"http_tokens": "required", "http_endpoint": "enabled"},
                root_block_device={"encrypted": True, "volume_size": 16},
                tags={**args.tags, "Name": f"{name}-bastion", "Role": "bastion"},
                opts=child,
            )
            self.bastion_ssh_config = bastion.public_ip.apply(
                lambda ip: (
                    f"Host {args.cluster_name}-bastion\n  HostName {ip}\n  User ec2-user\n\n"
                    f"# Then: ssh -J {args.cluster_name}-bastion <user>@<login host>\n"
                )
            )
        outputs = {
            "ssm_policy_arn": self.ssm_policy_arn,
            "ssm_ssh_config": self.ssm_ssh_config,
            "bastion_ssh_config": self.bastion_ssh_config,
        }
        self.register_outputs({k: v for k, v in outputs.items() if v is not None})


def _check_args(args: AccessArgs, check: ArgCheck) -> None:
    """The cluster's name and ARN (they go into the ssh_config snippet and the SSM policy), and with the bastion:
    the client ranges allowed to reach it (valid, never the whole internet), a public subnet to put it in and an
    x86_64 instance type for its image; tags AWS accepts."""
    s = args.settings
    check.check("cluster_name", args.cluster_name, checks.cluster_name)
    cluster = checks.arn_of(
        "sagemaker", "cluster/", "a HyperPod cluster", "arn:aws:sagemaker:us-east-1:123456789012:cluster/abcdef012345"
    )
    check.check("cluster_arn", args.cluster_arn, cluster)
    check.each("settings.bastion_allowed_cidrs", s.bastion_allowed_cidrs, checks.ssh_source_cidr, same=str)
    if s.bastion:
        if not s.bastion_allowed_cidrs:
            why = "a bastion needs the client ranges allowed to reach it"
            check.fail("settings.bastion_allowed_cidrs", [], why, "list your office or VPN egress ranges")
        if args.public_subnet_id is None:
            why = "the bastion goes in a public subnet"
            check.fail("public_subnet_id", MISSING, why, "give a public subnet of the VPC (Network.public_subnets)")
        image = checks.x86_ec2_type("bastion", "the Amazon Linux 2023 x86_64 image")
        check.check("settings.bastion_instance_type", s.bastion_instance_type, image)
    check.tags(args.tags)
