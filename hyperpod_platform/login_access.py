"""Login access: the login nodes behind an internal NLB on TCP 22, with one SSH host identity.

The NLB exists before the cluster (the nodes' lifecycle files name its host-key secret and its target group);
login nodes register themselves in the target group at boot, and :mod:`hyperpod_platform.login_targets` adds
the ones it finds after the cluster.
"""

import json
from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi
import pulumi_aws as aws
import pulumi_tls as tls

from . import checks
from ._args import ArgCheck, component_type, renamed, take
from .settings import LoginSettings

HOST_KEY_TYPES = {"ed25519": {"algorithm": "ED25519"}, "ecdsa": {"algorithm": "ECDSA", "ecdsa_curve": "P256"}}


@dataclass
class LoginAccessArgs:
    """Inputs of :class:`LoginAccess`."""

    settings: LoginSettings
    """Validated login settings."""
    login_group: str
    """Name of the login instance group."""
    vpc_id: pulumi.Input[str]
    """Cluster VPC."""
    vpc_cidr: pulumi.Input[str]
    """VPC CIDR: always a client range of the NLB."""
    subnet_ids: Sequence[pulumi.Input[str]]
    """Private subnets of the NLB, two or more AZs."""
    cluster_security_group_id: pulumi.Input[str]
    """The cluster's security group; it admits 22 from the NLB."""
    tags: dict[str, str]
    """Tags for every resource."""
    client_cidrs: Sequence[str] = ()
    """Extra client ranges (e.g. the Client VPN's), besides the VPC and configured CIDRs."""


class LoginAccess(pulumi.ComponentResource):
    """Internal NLB on TCP 22 in front of the login nodes, and their shared SSH host keys."""

    host_name: pulumi.Output[str]
    """DNS name users connect to."""
    known_hosts: pulumi.Output[str]
    """Ready known_hosts lines for ``host_name``."""
    host_keys_secret: aws.secretsmanager.Secret
    """Secret holding the private host keys (read by login nodes at boot)."""
    security_group: aws.ec2.SecurityGroup
    """Security group of the NLB."""
    target_group: aws.lb.TargetGroup
    """IP target group on port 22; login nodes register themselves in it (platform.json ``login_targets``) and
    :class:`LoginTargets` adds the ones it finds once the cluster exists."""

    def __init__(self, name: str, args: LoginAccessArgs, opts: Optional[pulumi.ResourceOptions] = None):
        args, check = take("LoginAccess", LoginAccessArgs, args)
        _check_args(args, check)
        check.raise_if_any()
        super().__init__(component_type("LoginAccess"), name, None, renamed(opts, "LoginAccess"))
        s = args.settings
        child = pulumi.ResourceOptions(parent=self)
        tags = args.tags

        # --- one host identity -------------------------------------------------------------------
        keys = {
            kind: tls.PrivateKey(f"{name}-host-{kind}-v{s.host_key_version}", **spec, opts=child)
            for kind, spec in HOST_KEY_TYPES.items()
        }
        self.host_keys_secret = aws.secretsmanager.Secret(
            f"{name}-host-keys",
            description=f"SSH host keys shared by the {args.login_group} login nodes",
            recovery_window_in_days=7,
            tags=tags,
            opts=child,
        )
        material = {
            f"ssh_host_{kind}_key{suffix}": out
            for kind, key in keys.items()
            for suffix, out in (("", key.private_key_openssh), (".pub", key.public_key_openssh))
        }
        secret_string = pulumi.Output.all(**material).apply(
            lambda m: json.dumps({k: v.strip() + "\n" for k, v in sorted(m.items())})
        )
        aws.secretsmanager.SecretVersion(
            f"{name}-host-keys",
            secret_id=self.host_keys_secret.id,
            secret_string=pulumi.Output.secret(secret_string),
            opts=child,
        )

        # --- network load balancer ---------------------------------------------------------------
        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-nlb-sg",
            vpc_id=args.vpc_id,
            description="Login NLB: SSH from client ranges only",
            tags={**tags, "Name": f"{name}-login-nlb"},
            opts=child,
        )
        cidrs = [args.vpc_cidr, *args.client_cidrs, *s.allowed_cidrs]
        for i, cidr in enumerate(cidrs):
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-nlb-ssh-{i}",
                security_group_id=self.security_group.id,
                ip_protocol="tcp",
                from_port=22,
                to_port=22,
                cidr_ipv4=cidr,
                description="SSH from a client range",
                opts=child,
            )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-nlb-to-login",
            security_group_id=self.security_group.id,
            ip_protocol="tcp",
            from_port=22,
            to_port=22,
            referenced_security_group_id=args.cluster_security_group_id,
            description="SSH and health checks to the login nodes",
            opts=child,
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-cluster-ssh-from-nlb",
            security_group_id=args.cluster_security_group_id,
            ip_protocol="tcp",
            from_port=22,
            to_port=22,
            referenced_security_group_id=self.security_group.id,
            description="SSH from the login NLB",
            opts=child,
        )
        nlb = aws.lb.LoadBalancer(
            f"{name}-login",
            load_balancer_type="network",
            internal=True,
            subnets=list(args.subnet_ids),
            security_groups=[self.security_group.id],
            enable_cross_zone_load_balancing=True,
            tags=tags,
            opts=child,
        )
        self.target_group = target_group = aws.lb.TargetGroup(
            f"{name}-login",
            port=22,
            protocol="TCP",
            target_type="ip",
            vpc_id=args.vpc_id,
            health_check={
                "protocol": "TCP",
                "port": "traffic-port",
                "healthy_threshold": 3,
                "unhealthy_threshold": 3,
                "interval": 10,
            },
            stickiness={"type": "source_ip", "enabled": s.stickiness},
            tags=tags,
            opts=child,
        )
        aws.lb.Listener(
            f"{name}-login-ssh",
            load_balancer_arn=nlb.arn,
            port=22,
            protocol="TCP",
            default_actions=[{"type": "forward", "target_group_arn": target_group.arn}],
            opts=child,
        )

        self.host_name = nlb.dns_name
        self.known_hosts = pulumi.Output.all(nlb.dns_name, *[k.public_key_openssh for k in keys.values()]).apply(
            lambda v: "".join(f"{v[0]} {pub.strip()}\n" for pub in v[1:])
        )
        self.register_outputs(
            {
                "host_name": self.host_name,
                "known_hosts": self.known_hosts,
                "host_keys_secret_arn": self.host_keys_secret.arn,
            }
        )


def _check_args(args: LoginAccessArgs, check: ArgCheck) -> None:
    """The login group's name, client ranges that are valid, never the whole internet and each given once (one
    security group rule each: AWS refuses a duplicate), a host-key version, a subnet for the NLB, tags AWS
    accepts."""
    s = args.settings
    check.check("login_group", args.login_group, checks.aws_name("instance group names"))
    check.check("vpc_cidr", args.vpc_cidr, checks.vpc_cidr)
    check.each("client_cidrs", args.client_cidrs, checks.ssh_source_cidr, same=str)
    check.each("settings.allowed_cidrs", s.allowed_cidrs, checks.ssh_source_cidr, same=str)
    sources = [("vpc_cidr", args.vpc_cidr)] if isinstance(args.vpc_cidr, str) else []
    sources += [(f"client_cidrs[{i}]", c) for i, c in enumerate(args.client_cidrs)]
    sources += [(f"settings.allowed_cidrs[{i}]", c) for i, c in enumerate(s.allowed_cidrs)]
    first: dict[str, str] = {}
    for label, cidr in sources:  # a repeat within one list is reported above
        if cidr in first and first[cidr].split("[")[0] != label.split("[")[0]:
            check.fail(label, cidr, f"is already a client range of the NLB ({first[cidr]})", f"remove {label}")
        first.setdefault(cidr, label)
    check.check("settings.host_key_version", s.host_key_version, checks.between(1, 10_000))
    why = "the load balancer needs a subnet"
    check.at_least("subnet_ids", args.subnet_ids, 1, why, "give the VPC's private subnets")
    check.tags(args.tags)
