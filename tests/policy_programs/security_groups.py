"""Programs for no-world-ssh."""

from __future__ import annotations

import pulumi_aws as aws

from .common import unknown_in_preview


def restricted_ssh():
    vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16")
    sg = aws.ec2.SecurityGroup(
        "ssh",
        vpc_id=vpc.id,
        ingress=[
            aws.ec2.SecurityGroupIngressArgs(protocol="tcp", from_port=22, to_port=22, cidr_blocks=["10.0.0.0/8"])
        ],
    )
    aws.vpc.SecurityGroupIngressRule(
        "ssh-from-sg",
        security_group_id=sg.id,
        ip_protocol="tcp",
        from_port=22,
        to_port=22,
        referenced_security_group_id=sg.id,
    )


def world_https_and_egress():
    vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16")
    sg = aws.ec2.SecurityGroup(
        "web",
        vpc_id=vpc.id,
        ingress=[
            aws.ec2.SecurityGroupIngressArgs(
                protocol="tcp", from_port=443, to_port=443, cidr_blocks=["0.0.0.0/0"], ipv6_cidr_blocks=["::/0"]
            )
        ],
        egress=[aws.ec2.SecurityGroupEgressArgs(protocol="-1", from_port=0, to_port=0, cidr_blocks=["0.0.0.0/0"])],
    )
    aws.ec2.SecurityGroupRule(
        "all-out",
        type="egress",
        security_group_id=sg.id,
        protocol="-1",
        from_port=0,
        to_port=0,
        cidr_blocks=["0.0.0.0/0"],
    )


def inline_world_ssh():
    vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16")
    aws.ec2.SecurityGroup(
        "bastion",
        vpc_id=vpc.id,
        ingress=[aws.ec2.SecurityGroupIngressArgs(protocol="tcp", from_port=22, to_port=22, cidr_blocks=["0.0.0.0/0"])],
    )


def rule_all_protocols_from_ipv6_world():
    vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16")
    sg = aws.ec2.SecurityGroup("open", vpc_id=vpc.id)
    aws.ec2.SecurityGroupRule(
        "everything",
        type="ingress",
        security_group_id=sg.id,
        protocol="-1",
        from_port=0,
        to_port=0,
        ipv6_cidr_blocks=["::/0"],
    )


def vpc_rule_port_range_from_world():
    vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16")
    sg = aws.ec2.SecurityGroup("range", vpc_id=vpc.id)
    aws.vpc.SecurityGroupIngressRule(
        "low-ports", security_group_id=sg.id, ip_protocol="tcp", from_port=1, to_port=1024, cidr_ipv4="0.0.0.0/0"
    )


def world_ssh_unknown_at_preview():
    """The source CIDR is another resource's output: unknown at preview, 0.0.0.0/0 at deploy."""
    vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16")
    sg = aws.ec2.SecurityGroup("late", vpc_id=vpc.id)
    aws.vpc.SecurityGroupIngressRule(
        "late-ssh",
        security_group_id=sg.id,
        ip_protocol="tcp",
        from_port=22,
        to_port=22,
        cidr_ipv4=unknown_in_preview(vpc, "0.0.0.0/0"),
    )
