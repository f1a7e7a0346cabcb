"""Login targets: the login nodes' IPs registered in the login NLB's target group.

The IPs are the ENIs of the login instance group in the cluster VPC (looked up once the cluster exists), or
given in config. One attachment per configured login node keeps the plan's shape known at preview; a node
replaced by node recovery gets a new IP, which the next `pulumi up` (and its preview) shows as the
replacement of that node's attachment.
"""

from dataclasses import dataclass, field
from typing import Optional, Sequence

import pulumi
import pulumi_aws as aws

from . import checks
from ._args import ArgCheck, component_type, renamed, take


@dataclass
class LoginTargetsArgs:
    """Inputs of :class:`LoginTargets`."""

    target_group_arn: pulumi.Input[str]
    """The login NLB's target group."""
    login_group: str
    """Login instance group name; its ENI descriptions contain it."""
    count: int
    """Number of login nodes."""
    vpc_id: pulumi.Input[str]
    """Cluster VPC (the ENI lookup is limited to it)."""
    cluster_arn: pulumi.Input[str]
    """ARN of the HyperPod cluster: the lookup runs once it resolves, after the cluster exists."""
    target_ips: Sequence[str] = field(default_factory=tuple)
    """Fixed IPs from config; skips the lookup."""


class LoginTargets(pulumi.ComponentResource):
    """One TCP 22 target per login node."""

    ips: pulumi.Output[list[str]]
    """The login nodes' private IPs, sorted."""

    def __init__(self, name: str, args: LoginTargetsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        args, check = take("LoginTargets", LoginTargetsArgs, args)
        _check_args(args, check)
        check.raise_if_any()
        super().__init__(component_type("LoginTargets"), name, None, renamed(opts, "LoginTargets"))
        self.ips = pulumi.Output.from_input(sorted(args.target_ips)) if args.target_ips else self._lookup(args)
        for i in range(args.count):
            aws.lb.TargetGroupAttachment(
                f"{name}-login-{i}",
                target_group_arn=args.target_group_arn,
                port=22,
                target_id=self.ips.apply(lambda ips, i=i: _nth(ips, i, args)),
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.register_outputs({"ips": self.ips})

    def _lookup(self, args: LoginTargetsArgs) -> pulumi.Output[list[str]]:
        found = aws.ec2.get_network_interfaces_output(
            filters=[
                # The VPC id, taken once the cluster ARN resolves: the lookup waits for the cluster.
                {"name": "vpc-id", "values": [pulumi.Output.all(args.vpc_id, args.cluster_arn).apply(lambda v: v[0])]},
                {"name": "description", "values": [f"*{args.login_group}*"]},
            ],
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        return found.ids.apply(
            lambda ids: pulumi.Output.all(
                *[
                    aws.ec2.get_network_interface_output(
                        id=eni, opts=pulumi.InvokeOutputOptions(parent=self)
                    ).private_ip
                    for eni in sorted(ids)
                ]
            )
        ).apply(sorted)


def _nth(ips: list[str], i: int, args: LoginTargetsArgs) -> str:
    if i >= len(ips):
        raise pulumi.RunError(
            f"login group {args.login_group!r} has {len(ips)} network interface(s) in the VPC, expected "
            f"{args.count}: the cluster may still be scaling; run `pulumi up` again, or set "
            f"hyperpod-platform:login.targetIps"
        )
    return ips[i]


def _check_args(args: LoginTargetsArgs, check: ArgCheck) -> None:
    """The login group's name (its ENIs are found by it), one or more login nodes, and fixed IPs, when given,
    that are IPv4 addresses, each given once, one per node."""
    check.check("login_group", args.login_group, checks.aws_name("instance group names"))
    check.check("count", args.count, checks.between(1, checks.MAX_GROUP_INSTANCES))
    ips = list(args.target_ips)
    fix = "give the login nodes' private IPs, or leave target_ips empty to look them up"
    check.each("target_ips", ips, checks.ipv4_address(fix), same=str)
    if ips and len(ips) != args.count:
        check.fail("target_ips", ips, f"count is {args.count}, so {args.count} IP(s) are needed", fix)
