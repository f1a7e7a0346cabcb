"""Programs for no-world-ssh."""

from __future__ import annotations

import pulumi_aws as aws
import pulumi_aws_native as aws_native

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


# ---------------------------------------------------------------- the internet as pieces, prefix lists, default groups
HALVES = ["0.0.0.0/1", "128.0.0.0/1"]


def _ssh(cidrs: list[str]) -> aws.ec2.SecurityGroupIngressArgs:
    return aws.ec2.SecurityGroupIngressArgs(protocol="tcp", from_port=22, to_port=22, cidr_blocks=cidrs)


def _vpc_rule(name: str, group_id, **source) -> aws.vpc.SecurityGroupIngressRule:
    return aws.vpc.SecurityGroupIngressRule(
        name, security_group_id=group_id, ip_protocol="tcp", from_port=22, to_port=22, **source
    )


def halves_of_the_internet():
    """0.0.0.0/1 and 128.0.0.0/1 in one hand-written ingress block: the whole internet."""
    vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16")
    aws.ec2.SecurityGroup("halves", vpc_id=vpc.id, ingress=[_ssh(HALVES)])


def two_rules_cover_the_internet():
    """Two aws.vpc rules on one group, each with half of the internet."""
    vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16")
    sg = aws.ec2.SecurityGroup("split", vpc_id=vpc.id)
    for i, cidr in enumerate(HALVES):
        _vpc_rule(f"ssh-half-{i}", sg.id, cidr_ipv4=cidr)


PIECES = ["32.0.0.0/5", "40.0.0.0/5"]
"""Each piece admits under 1/16 of the public IPv4 internet (not the internet alone); together over 1/16."""


def pieces_on_one_group_cover_the_internet():
    """Two rules on one group (an aws.ec2.SecurityGroupRule and an aws-native SecurityGroupIngress), each with
    a piece that alone is not the internet: their union is."""
    vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16")
    sg = aws.ec2.SecurityGroup("pieces", vpc_id=vpc.id)
    aws.ec2.SecurityGroupRule(
        "ssh-piece-0",
        type="ingress",
        security_group_id=sg.id,
        protocol="tcp",
        from_port=22,
        to_port=22,
        cidr_blocks=PIECES[:1],
    )
    aws_native.ec2.SecurityGroupIngress(
        "ssh-piece-1", group_id=sg.id, ip_protocol="tcp", from_port=22, to_port=22, cidr_ip=PIECES[1]
    )


def internet_in_ipv6_pieces_and_a_range():
    """Inline 2000::/4 plus a SecurityGroupRule (ports 0-65535) with 3000::/4: all of global unicast IPv6."""
    vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16")
    sg = aws.ec2.SecurityGroup(
        "v6",
        vpc_id=vpc.id,
        ingress=[
            aws.ec2.SecurityGroupIngressArgs(protocol="tcp", from_port=22, to_port=22, ipv6_cidr_blocks=["2000::/4"])
        ],
    )
    aws.ec2.SecurityGroupRule(
        "v6-rest",
        type="ingress",
        security_group_id=sg.id,
        protocol="tcp",
        from_port=0,
        to_port=65535,
        ipv6_cidr_blocks=["3000::/4"],
    )


def rules_on_an_existing_group_cover_the_internet():
    """Two rules name the same group of another stack by ID: still one group, still the whole internet."""
    for i, cidr in enumerate(HALVES):
        _vpc_rule(f"ssh-half-{i}", "sg-0e0e0e0e0e0e0e0e0", cidr_ipv4=cidr)


def prefix_list_with_the_world():
    """A managed prefix list of the stack holding 0.0.0.0/0, named by a SecurityGroupRule."""
    vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16")
    pl = aws.ec2.ManagedPrefixList(
        "anywhere",
        address_family="IPv4",
        max_entries=5,
        entries=[aws.ec2.ManagedPrefixListEntryArgs(cidr="0.0.0.0/0", description="everyone")],
    )
    sg = aws.ec2.SecurityGroup("pl", vpc_id=vpc.id)
    aws.ec2.SecurityGroupRule(
        "ssh-from-list",
        type="ingress",
        security_group_id=sg.id,
        protocol="tcp",
        from_port=22,
        to_port=22,
        prefix_list_ids=[pl.id],
    )


def prefix_list_entries_cover_the_internet():
    """An empty managed prefix list filled by two ManagedPrefixListEntry resources with the halves, named inline."""
    vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16")
    pl = aws.ec2.ManagedPrefixList("halves", address_family="IPv4", max_entries=5)
    for i, cidr in enumerate(HALVES):
        aws.ec2.ManagedPrefixListEntry(f"half-{i}", prefix_list_id=pl.id, cidr=cidr)
    aws.ec2.SecurityGroup(
        "pl",
        vpc_id=vpc.id,
        ingress=[aws.ec2.SecurityGroupIngressArgs(protocol="tcp", from_port=22, to_port=22, prefix_list_ids=[pl.id])],
    )


def native_prefix_list_with_the_world():
    """aws-native: a PrefixList with 0.0.0.0/0 named by a SecurityGroupIngress (sourcePrefixListId)."""
    vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16")
    pl = aws_native.ec2.PrefixList(
        "anywhere",
        address_family="IPv4",
        max_entries=5,
        prefix_list_name="anywhere",
        entries=[aws_native.ec2.PrefixListEntryArgs(cidr="0.0.0.0/0")],
    )
    sg = aws.ec2.SecurityGroup("pl", vpc_id=vpc.id)
    aws_native.ec2.SecurityGroupIngress(
        "ssh-from-list",
        group_id=sg.id,
        ip_protocol="tcp",
        from_port=22,
        to_port=22,
        source_prefix_list_id=pl.prefix_list_id,
    )


def default_group_world_ssh():
    """aws.ec2.DefaultSecurityGroup adopts the VPC's default group and opens SSH to the world."""
    vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16")
    aws.ec2.DefaultSecurityGroup("default", vpc_id=vpc.id, ingress=[_ssh(["0.0.0.0/0"])])


def default_group_halves_by_id():
    """Half of the internet inline on the DefaultSecurityGroup, the other half in a rule naming
    vpc.default_security_group_id: the same group."""
    vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16")
    aws.ec2.DefaultSecurityGroup("default", vpc_id=vpc.id, ingress=[_ssh(HALVES[:1])])
    _vpc_rule("default-other-half", vpc.default_security_group_id, cidr_ipv4=HALVES[1])


def default_group_rules_by_id():
    """No DefaultSecurityGroup: two rules on vpc.default_security_group_id with a half each."""
    vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16")
    for i, cidr in enumerate(HALVES):
        _vpc_rule(f"default-half-{i}", vpc.default_security_group_id, cidr_ipv4=cidr)


def ssh_from_office_prefix_list():
    """A prefix list of private and office ranges (and a locked-down default group): no internet."""
    vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16")
    pl = aws.ec2.ManagedPrefixList(
        "office",
        address_family="IPv4",
        max_entries=5,
        entries=[aws.ec2.ManagedPrefixListEntryArgs(cidr="192.168.0.0/16")],
    )
    aws.ec2.ManagedPrefixListEntry("office-vpn", prefix_list_id=pl.id, cidr="10.0.0.0/9")
    sg = aws.ec2.SecurityGroup("office", vpc_id=vpc.id, ingress=[_ssh(["10.128.0.0/9", "172.16.0.0/12"])])
    aws.ec2.SecurityGroupRule(
        "ssh-from-office",
        type="ingress",
        security_group_id=sg.id,
        protocol="tcp",
        from_port=22,
        to_port=22,
        prefix_list_ids=[pl.id],
    )
    aws.ec2.DefaultSecurityGroup("default", vpc_id=vpc.id)


def aws_managed_prefix_list():
    """SSH from a prefix list that is not in the stack (an AWS-managed one): cannot be judged."""
    vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16")
    sg = aws.ec2.SecurityGroup("managed-list", vpc_id=vpc.id)
    _vpc_rule("ssh-from-aws-list", sg.id, prefix_list_id="pl-0a1b2c3d4e5f60718")
