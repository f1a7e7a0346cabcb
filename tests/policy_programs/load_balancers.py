"""Programs for nlb-ssh-only-security-groups, internal-load-balancers and no-plaintext-ldap."""

from __future__ import annotations

from typing import Optional

import pulumi_aws as aws
import pulumi_aws_native as aws_native

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


# ---------------------------------------------------------------- load balancers of every kind
def internal_load_balancers_of_every_kind():
    """Internal ALB (aws.alb), classic ELB and aws-native v2 and classic load balancers, a gateway load
    balancer (no scheme), all in private subnets, no listener or ingress of their own."""
    net = network()
    private = [net.private.id, net.private_b.id]
    aws.alb.LoadBalancer("intranet", load_balancer_type="application", internal=True, subnets=private)
    aws.elb.LoadBalancer(
        "legacy",
        internal=True,
        subnets=[net.private.id],
        listeners=[
            aws.elb.LoadBalancerListenerArgs(
                instance_port=8443, instance_protocol="tcp", lb_port=8443, lb_protocol="tcp"
            )
        ],
    )
    aws_native.elasticloadbalancingv2.LoadBalancer("native", type="network", scheme="internal", subnets=private)
    aws_native.elasticloadbalancing.LoadBalancer(
        "native-classic",
        scheme="internal",
        subnets=[net.private.id],
        listeners=[
            aws_native.elasticloadbalancing.LoadBalancerListenersArgs(
                instance_port="8443", load_balancer_port="8443", protocol="TCP"
            )
        ],
    )
    aws.lb.LoadBalancer("inspection", load_balancer_type="gateway", subnets=[net.private.id])


def internet_facing_alb_module():
    """aws.alb.LoadBalancer with internal unset: internet-facing."""
    net = network()
    aws.alb.LoadBalancer("web", subnets=[net.public.id])


def internet_facing_classic_elb():
    net = network()
    aws.elb.LoadBalancer(
        "legacy",
        subnets=[net.public.id],
        listeners=[
            aws.elb.LoadBalancerListenerArgs(
                instance_port=8443, instance_protocol="tcp", lb_port=8443, lb_protocol="tcp"
            )
        ],
    )


def internet_facing_native_load_balancers():
    """aws-native v2 (no scheme: internet-facing by default) and classic (scheme internet-facing)."""
    net = network()
    aws_native.elasticloadbalancingv2.LoadBalancer("native", type="network", subnets=[net.public.id])
    aws_native.elasticloadbalancing.LoadBalancer(
        "native-classic",
        scheme="internet-facing",
        subnets=[net.public.id],
        listeners=[
            aws_native.elasticloadbalancing.LoadBalancerListenersArgs(
                instance_port="8443", load_balancer_port="8443", protocol="TCP"
            )
        ],
    )


# ---------------------------------------------------------------- login groups: the internet as pieces, prefix lists
def login_nlb_world_in_halves():
    """The login group admits TCP 22 from 0.0.0.0/1 inline and 128.0.0.0/1 in a separate rule."""
    net = network()
    sg = _ssh_group(net, "login-nlb-sg", "0.0.0.0/1")
    aws.vpc.SecurityGroupIngressRule(
        "login-other-half",
        security_group_id=sg.id,
        ip_protocol="tcp",
        from_port=22,
        to_port=22,
        cidr_ipv4="128.0.0.0/1",
    )
    _nlb(net, "login", [sg.id])


def login_nlb_world_prefix_list():
    """The login group admits TCP 22 from a managed prefix list that holds ::/0."""
    net = network()
    pl = aws.ec2.ManagedPrefixList("clients", address_family="IPv6", max_entries=5)
    aws.ec2.ManagedPrefixListEntry("clients-all", prefix_list_id=pl.id, cidr="::/0")
    sg = _ssh_group(net, "login-nlb-sg")
    aws.vpc.SecurityGroupIngressRule(
        "login-from-list", security_group_id=sg.id, ip_protocol="tcp", from_port=22, to_port=22, prefix_list_id=pl.id
    )
    _nlb(net, "login", [sg.id])


def login_nlb_on_default_group():
    """The login NLB uses the VPC's default security group, which keeps AWS's rule (all traffic from itself)."""
    net = network()
    _nlb(net, "login", [net.vpc.default_security_group_id])


def directory_nlb_prefix_list_outside_vpc():
    """The directory group admits 636 from a prefix list of the stack with a range outside the VPC."""
    net = network()
    pl = aws.ec2.ManagedPrefixList(
        "ldap-clients",
        address_family="IPv4",
        max_entries=5,
        entries=[
            aws.ec2.ManagedPrefixListEntryArgs(cidr="10.0.1.0/24"),
            aws.ec2.ManagedPrefixListEntryArgs(cidr="198.51.100.0/24"),
        ],
    )
    sg = aws.ec2.SecurityGroup("directory-nlb-sg", vpc_id=net.vpc.id)
    aws.vpc.SecurityGroupIngressRule(
        "directory-from-list",
        security_group_id=sg.id,
        ip_protocol="tcp",
        from_port=636,
        to_port=636,
        prefix_list_id=pl.id,
    )
    _nlb(net, "directory", [sg.id], listeners=((636, "TLS", CURRENT_TLS),))


def directory_nlb_prefix_list_in_vpc():
    """The directory group admits 636 from a prefix list of the stack holding only VPC subnets."""
    net = network()
    pl = aws.ec2.ManagedPrefixList(
        "ldap-clients",
        address_family="IPv4",
        max_entries=5,
        entries=[aws.ec2.ManagedPrefixListEntryArgs(cidr="10.0.1.0/24")],
    )
    aws.ec2.ManagedPrefixListEntry("ldap-clients-b", prefix_list_id=pl.id, cidr="10.0.2.0/24")
    sg = aws.ec2.SecurityGroup("directory-nlb-sg", vpc_id=net.vpc.id)
    aws.vpc.SecurityGroupIngressRule(
        "directory-from-list",
        security_group_id=sg.id,
        ip_protocol="tcp",
        from_port=636,
        to_port=636,
        prefix_list_id=pl.id,
    )
    _nlb(net, "directory", [sg.id], listeners=((636, "TLS", CURRENT_TLS),))


# ---------------------------------------------------------------- plaintext LDAP: listeners of every kind, groups
def _dc_group(net: Net, **source) -> aws.ec2.SecurityGroup:
    """A domain controller group admitting TCP ``port`` (389 by default) through one aws.vpc rule."""
    port = source.pop("port", 389)
    sg = aws.ec2.SecurityGroup("dc-sg", vpc_id=net.vpc.id, description="domain controllers")
    aws.vpc.SecurityGroupIngressRule(
        "dc-ldap", security_group_id=sg.id, ip_protocol="tcp", from_port=port, to_port=port, **source
    )
    return sg


def ldaps_path_to_domain_controllers():
    """The LDAPS NLB (TLS 636, and the global catalog over TLS on 3269) forwards to domain controllers whose
    group admits 389 and 3268 only from the NLB's group."""
    net = network()
    nlb_sg = _ldaps_group(net)
    dc = _dc_group(net, referenced_security_group_id=nlb_sg)
    aws.ec2.SecurityGroupRule(
        "dc-gc",
        type="ingress",
        security_group_id=dc.id,
        protocol="tcp",
        from_port=3268,
        to_port=3268,
        source_security_group_id=nlb_sg,
    )
    _nlb(net, "directory", [nlb_sg], listeners=((636, "TLS", CURRENT_TLS), (3269, "TLS", CURRENT_TLS)))


def global_catalog_listener_3268():
    net = network()
    _nlb(net, "directory", [_ldaps_group(net)], listeners=((636, "TLS", CURRENT_TLS), (3268, "TCP", None)))


def native_listener_389():
    """An aws-native listener on 389 (TCP) of an internal NLB."""
    net = network()
    lb = aws_native.elasticloadbalancingv2.LoadBalancer(
        "directory", type="network", scheme="internal", subnets=[net.private.id], security_groups=[_ldaps_group(net)]
    )
    aws_native.elasticloadbalancingv2.Listener(
        "directory-389",
        load_balancer_arn=lb.load_balancer_arn,
        port=389,
        protocol="TCP",
        default_actions=[
            aws_native.elasticloadbalancingv2.ListenerActionArgs(type="forward", target_group_arn="arn:tg")
        ],
    )


def classic_elb_ldap_listeners():
    """Internal classic load balancers (pulumi-aws and aws-native) passing LDAP and the global catalog in clear."""
    net = network()
    aws.elb.LoadBalancer(
        "legacy-ldap",
        internal=True,
        subnets=[net.private.id],
        listeners=[
            aws.elb.LoadBalancerListenerArgs(instance_port=389, instance_protocol="tcp", lb_port=389, lb_protocol="tcp")
        ],
    )
    aws_native.elasticloadbalancing.LoadBalancer(
        "native-gc",
        scheme="internal",
        subnets=[net.private.id],
        listeners=[
            aws_native.elasticloadbalancing.LoadBalancerListenersArgs(
                instance_port="3268", load_balancer_port="3268", protocol="TCP"
            )
        ],
    )


def dc_group_ldap_from_vpc_cidr():
    """A domain controller group admits 389 from the VPC CIDR: plaintext LDAP for anyone in the VPC."""
    _dc_group(network(), cidr_ipv4="10.0.0.0/16")


def dc_group_global_catalog_range_from_cluster():
    """A group admits TCP 3000-3300 (the plaintext global catalog 3268 among them) from another group."""
    net = network()
    cluster = aws.ec2.SecurityGroup("cluster-sg", vpc_id=net.vpc.id)
    aws.ec2.SecurityGroup(
        "dc-sg",
        vpc_id=net.vpc.id,
        ingress=[
            aws.ec2.SecurityGroupIngressArgs(protocol="tcp", from_port=3000, to_port=3300, security_groups=[cluster.id])
        ],
    )


def dc_group_ldap_from_prefix_list():
    """389 from a prefix list, through aws-native SecurityGroupIngress."""
    net = network()
    pl = aws.ec2.ManagedPrefixList(
        "office",
        address_family="IPv4",
        max_entries=5,
        entries=[aws.ec2.ManagedPrefixListEntryArgs(cidr="192.168.0.0/16")],
    )
    sg = aws.ec2.SecurityGroup("dc-sg", vpc_id=net.vpc.id)
    aws_native.ec2.SecurityGroupIngress(
        "dc-ldap", group_id=sg.id, ip_protocol="tcp", from_port=389, to_port=389, source_prefix_list_id=pl.id
    )
