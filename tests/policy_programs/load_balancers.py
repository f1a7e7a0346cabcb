"""Programs for nlb-ssh-only-security-groups, internal-load-balancers and no-plaintext-ldap."""

from __future__ import annotations

from typing import Optional

import pulumi_aws as aws

from .common import Net, network, unknown_in_preview

CURRENT_TLS = "ELBSecurityPolicy-TLS13-1-2-2021-06"


def _nlb(
    net: Net,
    name: str,
    groups: Optional[list],
    internal: bool = True,
    tags: Optional[dict] = None,
    listeners: tuple[tuple[int, str, Optional[str]], ...] = ((22, "TCP", None),),
) -> aws.lb.LoadBalancer:
    lb = aws.lb.LoadBalancer(
        name,
        load_balancer_type="network",
        internal=internal,
        subnets=[net.private.id, net.private_b.id],
        security_groups=groups,
        tags=tags,
    )
    for port, protocol, policy in listeners:
        tg = aws.lb.TargetGroup(f"{name}-{port}", port=port, protocol="TCP", target_type="ip", vpc_id=net.vpc.id)
        aws.lb.Listener(
            f"{name}-{port}",
            load_balancer_arn=lb.arn,
            port=port,
            protocol=protocol,
            ssl_policy=policy,
            certificate_arn="arn:aws:acm:us-east-1:123456789012:certificate/abc" if policy else None,
            default_actions=[aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=tg.arn)],
        )
    return lb


def _ssh_group(net: Net, name: str, cidr: str = "192.168.100.0/24") -> aws.ec2.SecurityGroup:
    return aws.ec2.SecurityGroup(
        name,
        vpc_id=net.vpc.id,
        description="login NLB",
        ingress=[aws.ec2.SecurityGroupIngressArgs(protocol="tcp", from_port=22, to_port=22, cidr_blocks=[cidr])],
    )


# ---------------------------------------------------------------- compliant


def login_nlb_ssh_only():
    """Internal login NLB whose group admits TCP 22 from the office network and the VPC (a separate rule)."""
    net = network()
    sg = _ssh_group(net, "login-nlb-sg")
    aws.vpc.SecurityGroupIngressRule(
        "login-from-vpc",
        security_group_id=sg.id,
        ip_protocol="tcp",
        from_port=22,
        to_port=22,
        cidr_ipv4=net.vpc.cidr_block,
    )
    aws.vpc.SecurityGroupEgressRule("login-out", security_group_id=sg.id, ip_protocol="-1", cidr_ipv4="0.0.0.0/0")
    _nlb(net, "login", [sg.id])


def directory_nlb_ldaps_from_vpc():
    """Directory NLB: a TLS listener on 636 with a current policy; its group admits 636 from the VPC only."""
    net = network()
    sg = aws.ec2.SecurityGroup(
        "directory-nlb-sg",
        vpc_id=net.vpc.id,
        ingress=[
            aws.ec2.SecurityGroupIngressArgs(protocol="tcp", from_port=636, to_port=636, cidr_blocks=["10.0.0.0/16"])
        ],
    )
    aws.ec2.SecurityGroupRule(
        "directory-from-subnet",
        type="ingress",
        security_group_id=sg.id,
        protocol="tcp",
        from_port=636,
        to_port=636,
        cidr_blocks=["10.0.1.0/24"],
    )
    _nlb(net, "directory", [sg.id], listeners=((636, "TLS", CURRENT_TLS),))


def internet_facing_alb():
    """An internet-facing application load balancer with HTTPS from anywhere: not an NLB, not judged."""
    net = network()
    sg = aws.ec2.SecurityGroup(
        "web-sg",
        vpc_id=net.vpc.id,
        ingress=[
            aws.ec2.SecurityGroupIngressArgs(protocol="tcp", from_port=443, to_port=443, cidr_blocks=["0.0.0.0/0"])
        ],
    )
    aws.lb.LoadBalancer(
        "web", load_balancer_type="application", internal=False, security_groups=[sg.id], subnets=[net.public.id]
    )


def tls_listener_current_policy():
    net = network()
    _nlb(net, "directory", [_ldaps_group(net)], listeners=((636, "TLS", CURRENT_TLS),))


def _ldaps_group(net: Net):
    return aws.ec2.SecurityGroup(
        "directory-nlb-sg",
        vpc_id=net.vpc.id,
        ingress=[
            aws.ec2.SecurityGroupIngressArgs(
                protocol="tcp", from_port=636, to_port=636, cidr_blocks=[net.vpc.cidr_block]
            )
        ],
    ).id


# ---------------------------------------------------------------- violating


def login_nlb_admits_http():
    """The login NLB's group also admits TCP 80 (a separate aws.vpc rule), from the office network."""
    net = network()
    sg = _ssh_group(net, "login-nlb-sg")
    aws.vpc.SecurityGroupIngressRule(
        "login-http", security_group_id=sg.id, ip_protocol="tcp", from_port=80, to_port=80, cidr_ipv4="192.168.100.0/24"
    )
    _nlb(net, "login", [sg.id])


def login_nlb_world_ssh():
    """The login NLB's group admits TCP 22 from 0.0.0.0/0 (an aws.ec2.SecurityGroupRule)."""
    net = network()
    sg = _ssh_group(net, "login-nlb-sg")
    aws.ec2.SecurityGroupRule(
        "login-world",
        type="ingress",
        security_group_id=sg.id,
        protocol="tcp",
        from_port=22,
        to_port=22,
        cidr_blocks=["0.0.0.0/0"],
    )
    _nlb(net, "login", [sg.id])


def tagged_login_nlb_admits_http():
    """A load balancer named 'frontdoor' is a login NLB by its tag; its group admits TCP 80."""
    net = network()
    sg = aws.ec2.SecurityGroup(
        "frontdoor-sg",
        vpc_id=net.vpc.id,
        ingress=[
            aws.ec2.SecurityGroupIngressArgs(protocol="tcp", from_port=80, to_port=80, cidr_blocks=["10.0.0.0/16"])
        ],
    )
    _nlb(net, "frontdoor", [sg.id], tags={"hyperpod:lb-role": "login"})


def login_nlb_without_sg():
    net = network()
    _nlb(net, "login", None)


def directory_nlb_from_outside_vpc():
    net = network()
    sg = aws.ec2.SecurityGroup(
        "directory-nlb-sg",
        vpc_id=net.vpc.id,
        ingress=[
            aws.ec2.SecurityGroupIngressArgs(protocol="tcp", from_port=636, to_port=636, cidr_blocks=["192.168.0.0/16"])
        ],
    )
    _nlb(net, "directory", [sg.id], listeners=((636, "TLS", CURRENT_TLS),))


def directory_nlb_plain_ldap():
    """Directory NLB whose group admits 389 (and a listener on 389: no-plaintext-ldap too)."""
    net = network()
    sg = aws.ec2.SecurityGroup(
        "directory-nlb-sg",
        vpc_id=net.vpc.id,
        ingress=[
            aws.ec2.SecurityGroupIngressArgs(protocol="tcp", from_port=389, to_port=389, cidr_blocks=["10.0.0.0/16"])
        ],
    )
    _nlb(net, "directory", [sg.id], listeners=((389, "TCP", None),))


def unclassified_nlb():
    """An NLB that is neither login nor directory: any ingress on its group is a violation."""
    net = network()
    sg = aws.ec2.SecurityGroup(
        "metrics-sg",
        vpc_id=net.vpc.id,
        ingress=[
            aws.ec2.SecurityGroupIngressArgs(protocol="tcp", from_port=9090, to_port=9090, cidr_blocks=["10.0.0.0/16"])
        ],
    )
    _nlb(net, "metrics", [sg.id], listeners=((9090, "TCP", None),))


def internet_facing_nlb():
    net = network()
    _nlb(net, "login", [_ssh_group(net, "login-nlb-sg").id], internal=False)


def ldap_listener_389():
    net = network()
    _nlb(net, "directory", [_ldaps_group(net)], listeners=((636, "TLS", CURRENT_TLS), (389, "TCP", None)))


def tls_listener_old_policy():
    net = network()
    _nlb(net, "directory", [_ldaps_group(net)], listeners=((636, "TLS", "ELBSecurityPolicy-2016-08"),))


def tls_listener_without_policy():
    net = network()
    lb = aws.lb.LoadBalancer(
        "directory",
        load_balancer_type="network",
        internal=True,
        subnets=[net.private.id],
        security_groups=[_ldaps_group(net)],
    )
    aws.lb.Listener(
        "directory-636",
        load_balancer_arn=lb.arn,
        port=636,
        protocol="TLS",
        certificate_arn="arn:aws:acm:us-east-1:123456789012:certificate/abc",
        default_actions=[aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn="arn:tg")],
    )


# ---------------------------------------------------------------- unknown at preview


def login_nlb_source_unknown_at_preview():
    """The login group's source CIDR is another resource's output: unknown at preview, 0.0.0.0/0 at deploy."""
    net = network()
    sg = aws.ec2.SecurityGroup("login-nlb-sg", vpc_id=net.vpc.id, description="login NLB")
    aws.vpc.SecurityGroupIngressRule(
        "login-late",
        security_group_id=sg.id,
        ip_protocol="tcp",
        from_port=22,
        to_port=22,
        cidr_ipv4=unknown_in_preview(net.vpc, "0.0.0.0/0"),
    )
    _nlb(net, "login", [sg.id])
