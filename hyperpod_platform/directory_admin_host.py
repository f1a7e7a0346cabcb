"""Optional domain-joined Windows admin instance, for what the Directory Service Data API cannot do.

The Data API manages users, groups and memberships (``hyperpod_platform/directory_contents.py``). Organizational
units, Group Policy, fine-grained password policies, DNS records and delegation need the AD tools: this
instance, in a private subnet with no inbound rules, joins the domain through SSM
(``AWS-JoinDirectoryServiceDomain``), installs the RSAT tools, and is reached through Session Manager
(Fleet Manager RDP), never from the internet.
"""

import json
from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi
import pulumi_aws as aws

from . import checks
from ._args import ArgCheck, component_type, renamed, take

WINDOWS_AMI_PARAMETER = "/aws/service/ami-windows-latest/Windows_Server-2022-English-Full-Base"
USER_DATA = """<powershell>
Install-WindowsFeature -Name RSAT-ADDS, RSAT-AD-PowerShell, RSAT-DNS-Server, GPMC
</powershell>
<persist>false</persist>
"""


@dataclass
class DirectoryAdminHostArgs:
    """Inputs of :class:`DirectoryAdminHost`."""

    directory_id: pulumi.Input[str]
    """The directory to join."""
    domain_name: str
    """Its DNS name."""
    dns_ips: pulumi.Input[Sequence[str]]
    """Its domain controllers (DNS servers for the join)."""
    vpc_id: pulumi.Input[str]
    """VPC of the instance."""
    subnet_id: pulumi.Input[str]
    """A private subnet."""
    instance_type: str
    """EC2 instance type."""
    tags: dict[str, str]
    """Tags for every resource."""


class DirectoryAdminHost(pulumi.ComponentResource):
    """A private Windows instance joined to the directory, managed through SSM."""

    instance: aws.ec2.Instance
    """The instance (connect with Session Manager / Fleet Manager)."""

    def __init__(self, name: str, args: DirectoryAdminHostArgs, opts: Optional[pulumi.ResourceOptions] = None):
        args, check = take("DirectoryAdminHost", DirectoryAdminHostArgs, args)
        _check_args(args, check)
        check.raise_if_any()
        super().__init__(component_type("DirectoryAdminHost"), name, None, renamed(opts, "DirectoryAdminHost"))
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{name}-ad-admin",
            description="Directory admin instance (SSM, domain join)",
            assume_role_policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
                    ],
                }
            ),
            tags=args.tags,
            opts=child,
        )
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self)).partition
        for suffix, policy in (("ssm", "AmazonSSMManagedInstanceCore"), ("ds", "AmazonSSMDirectoryServiceAccess")):
            aws.iam.RolePolicyAttachment(
                f"{name}-ad-admin-{suffix}",
                role=role.name,
                opts=child,
                policy_arn=partition.apply(lambda p, n=policy: f"arn:{p}:iam::aws:policy/{n}"),
            )
        profile = aws.iam.InstanceProfile(f"{name}-ad-admin", role=role.name, tags=args.tags, opts=child)
        sg = aws.ec2.SecurityGroup(
            f"{name}-ad-admin-sg",
            vpc_id=args.vpc_id,
            tags={**args.tags, "Name": f"{name}-ad-admin"},
            description="Directory admin instance: no inbound; reached through SSM",
            opts=child,
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-ad-admin-out",
            security_group_id=sg.id,
            ip_protocol="-1",
            cidr_ipv4="0.0.0.0/0",
            description="SSM, Windows Update, the directory",
            opts=child,
        )
        ami = aws.ssm.get_parameter_output(name=WINDOWS_AMI_PARAMETER, opts=pulumi.InvokeOutputOptions(parent=self))
        self.instance = aws.ec2.Instance(
            f"{name}-ad-admin",
            ami=ami.value,
            instance_type=args.instance_type,
            subnet_id=args.subnet_id,
            vpc_security_group_ids=[sg.id],
            iam_instance_profile=profile.name,
            user_data=USER_DATA,
            associate_public_ip_address=False,
            metadata_options={"http_tokens": "required", "http_endpoint": "enabled"},
            root_block_device={"encrypted": True, "volume_size": 50, "volume_type": "gp3"},
            tags={**args.tags, "Name": f"{name}-ad-admin"},
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["ami"]),
        )
        aws.ssm.Association(
            f"{name}-ad-admin-join",
            name="AWS-JoinDirectoryServiceDomain",
            targets=[{"key": "InstanceIds", "values": [self.instance.id]}],
            parameters={
                "directoryId": args.directory_id,
                "directoryName": args.domain_name,
                "dnsIpAddresses": pulumi.Output.from_input(args.dns_ips).apply(lambda v: ",".join(sorted(v))),
            },
            opts=child,
        )
        self.register_outputs({"instance_id": self.instance.id})


def _check_args(args: DirectoryAdminHostArgs, check: ArgCheck) -> None:
    """The domain to join, an x86_64 instance type (Windows Server), and, when given as plain values, the
    directory's id and one or more domain controller IPs; tags AWS accepts."""
    check.check("domain_name", args.domain_name, checks.domain_name)
    windows = checks.x86_ec2_type("admin instance", "Windows Server (x86_64 only)")
    check.check("instance_type", args.instance_type, windows)
    check.check("directory_id", args.directory_id, checks.directory_id)
    if isinstance(args.dns_ips, (list, tuple)):
        why = "the domain join needs the domain controllers as DNS servers"
        if check.at_least("dns_ips", args.dns_ips, 1, why, "give the domain controllers' IPs (Directory.dns_ips)"):
            check.each("dns_ips", args.dns_ips, checks.ipv4_address("give the domain controllers' IPs"), same=str)
    check.tags(args.tags)
