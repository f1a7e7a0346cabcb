"""Login targets: the login nodes' IPs registered in the login NLB's target group.

Two writers share the target group, and neither undoes the other:

- **The login nodes register themselves** (lifecycle step ``45-login-target.sh``, at boot and then from a
  timer): each adds its own IP and removes targets that no network interface holds any more (a node that
  node recovery replaced). The target group ARN reaches them in platform.json (:func:`node_settings`): the
  bundle, and so the cluster, waits for the target group (created in seconds, from the VPC alone) and not for
  the NLB. They may call exactly what that needs (:data:`NODE_ACTIONS`, :data:`NODE_READS`) through an inline
  policy on the execution role, made here.
- **`pulumi up`** looks up the login group's node ENIs once the cluster exists (or takes
  ``login.targetIps``) and keeps one attachment per configured login node, so the plan shows the targets.
  The attachments are ``retain_on_delete``: when a replaced node's attachment is replaced, Pulumi registers
  the new IP and never deregisters the old one. Removing targets is the nodes' job alone, and they remove
  only IPs that no ENI holds, so a later `pulumi up` never takes a live node out of the NLB.

The lookup selects only the cluster's node ENIs of exactly the login group: a description filter alone also
matches what AWS puts in the VPC by itself (the login NLB's own ENIs, ``ELB net/<name>/...``; interface
endpoints' ``VPC Endpoint Interface vpce-...``) and a group whose name only starts with the login group's
(``login-gpu``). See :func:`is_login_node_eni`.
"""

import json
import re
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import pulumi
import pulumi_aws as aws

from . import checks
from ._args import ArgCheck, component_type, renamed, take
from .node_contract import LoginTargetsNode

PORT = 22
NODE_INTERFACE_TYPES = ("interface", "efa")
"""EC2 ``InterfaceType`` of a node's ENI (ENA, or EFA with ENA). What AWS creates in a VPC by itself has its own
type: ``network_load_balancer``, ``vpc_endpoint``, ``natGateway``, ``gateway_load_balancer(_endpoint)``,
``transit_gateway``, ``lambda`` ..."""
NODE_ACTIONS = (
    "elasticloadbalancing:RegisterTargets",
    "elasticloadbalancing:DeregisterTargets",
)
"""What a login node may do to the login target group (and only to it)."""
NODE_READS = ("elasticloadbalancing:DescribeTargetHealth", "ec2:DescribeNetworkInterfaces")
"""Reads without resource-level permissions (``Resource: *``): the targets, and which IPs ENIs still hold."""


def node_settings(target_group_arn: str, vpc_id: str) -> LoginTargetsNode:
    """platform.json's ``login_targets`` section: where login nodes register themselves."""
    return LoginTargetsNode(target_group_arn=target_group_arn, port=PORT, vpc_id=vpc_id)


_NAME_CHARS = re.compile(r"[^A-Za-z0-9-]+")


def names_group(description: str, group: str) -> bool:
    """The description names ``group`` as a whole name: one of its words (split on anything an instance group
    name cannot hold) is exactly the group name, so ``login`` is not found in ``login-gpu``, ``hp-dev-login``
    or ``ELB net/hp-dev-login-1a2b/...``."""
    return group in _NAME_CHARS.split(description or "")


def is_login_node_eni(eni: Any, group: str, security_group_ids: Sequence[str] = ()) -> bool:
    """An ENI (``aws.ec2.get_network_interface`` result) of a node of ``group``: a node's interface type (not a
    load balancer's, an endpoint's, a NAT gateway's ...), carrying one of the cluster's security groups when
    they are given (AWS-managed ENIs of ``interface`` type, e.g. Client VPN's or an ALB's, carry their own),
    and a description naming exactly the group."""
    if eni.interface_type not in NODE_INTERFACE_TYPES:
        return False
    if security_group_ids and not set(eni.security_groups or ()) & set(security_group_ids):
        return False
    return names_group(eni.description, group)


def login_node_ips(enis: Sequence[Any], group: str, security_group_ids: Sequence[str] = ()) -> list[str]:
    """The private IPs of ``group``'s nodes among ``enis``, sorted: one per node (an instance with several ENIs
    counts once, by its lowest device index)."""
    best: dict[str, tuple[int, str]] = {}
    for eni in enis:
        if not is_login_node_eni(eni, group, security_group_ids):
            continue
        attached = (eni.attachments or [None])[0]
        instance = (attached and attached.instance_id) or eni.id
        index = attached.device_index if attached else 0
        if instance not in best or index < best[instance][0]:
            best[instance] = (index, eni.private_ip)
    return sorted(ip for _, ip in best.values())


@dataclass
class LoginTargetsArgs:
    """Inputs of :class:`LoginTargets`."""

    target_group_arn: pulumi.Input[str]
    """The login NLB's target group."""
    login_group: str
    """Login instance group name; its node ENIs' descriptions name it."""
    count: int
    """Number of login nodes."""
    vpc_id: pulumi.Input[str]
    """Cluster VPC (the ENI lookup is limited to it)."""
    cluster_arn: pulumi.Input[str]
    """ARN of the HyperPod cluster: the lookup runs once it resolves, after the cluster exists."""
    target_ips: Sequence[str] = field(default_factory=tuple)
    """Fixed IPs from config; skips the lookup."""
    security_group_ids: Sequence[pulumi.Input[str]] = field(default_factory=tuple)
    """The cluster's security groups (its VpcConfig): a node ENI carries them. Empty: not a criterion."""
    execution_role: Optional[pulumi.Input[str]] = None
    """Name of the nodes' execution role. Given: login nodes register themselves (platform.json
    ``login_targets``, :func:`node_settings`), allowed by an inline policy on this role."""


class LoginTargets(pulumi.ComponentResource):
    """One TCP 22 target per login node."""

    ips: pulumi.Output[list[str]]
    """The login nodes' private IPs, sorted."""

    def __init__(self, name: str, args: LoginTargetsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        args, check = take("LoginTargets", LoginTargetsArgs, args)
        _check_args(args, check)
        check.raise_if_any()
        super().__init__(component_type("LoginTargets"), name, None, renamed(opts, "LoginTargets"))
        if args.execution_role is not None:
            aws.iam.RolePolicy(
                f"{name}-login-targets",
                role=args.execution_role,
                policy=pulumi.Output.from_input(args.target_group_arn).apply(_node_policy),
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.ips = pulumi.Output.from_input(sorted(args.target_ips)) if args.target_ips else self._lookup(args)
        for i in range(args.count):
            aws.lb.TargetGroupAttachment(
                f"{name}-login-{i}",
                target_group_arn=args.target_group_arn,
                port=PORT,
                target_id=self.ips.apply(lambda ips, i=i: _nth(ips, i, args)),
                # Pulumi adds targets, never removes them: a replaced attachment leaves its old IP to the
                # nodes, which deregister it once no ENI holds it (a live node is never taken out).
                opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
            )
        self.register_outputs({"ips": self.ips})

    def _lookup(self, args: LoginTargetsArgs) -> pulumi.Output[list[str]]:
        found = aws.ec2.get_network_interfaces_output(
            filters=[
                # The VPC id, taken once the cluster ARN resolves: the lookup waits for the cluster.
                {"name": "vpc-id", "values": [pulumi.Output.all(args.vpc_id, args.cluster_arn).apply(lambda v: v[0])]},
                # Narrows the lookup; AWS-managed ENIs and longer group names still match it, and are
                # left out by is_login_node_eni on what each ENI is.
                {"name": "description", "values": [f"*{args.login_group}*"]},
            ],
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        groups = pulumi.Output.all(*args.security_group_ids)
        return found.ids.apply(
            lambda ids: pulumi.Output.all(
                groups,
                *[
                    aws.ec2.get_network_interface_output(id=eni, opts=pulumi.InvokeOutputOptions(parent=self))
                    for eni in sorted(ids)
                ],
            )
        ).apply(lambda v: login_node_ips(v[1:], args.login_group, v[0]))


def _node_policy(target_group_arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "KeepLoginTargets",
                    "Effect": "Allow",
                    "Action": list(NODE_ACTIONS),
                    "Resource": target_group_arn,
                },
                {"Sid": "ReadTargetsAndInterfaces", "Effect": "Allow", "Action": list(NODE_READS), "Resource": "*"},
            ],
        }
    )


def _nth(ips: list[str], i: int, args: LoginTargetsArgs) -> str:
    if i >= len(ips):
        raise pulumi.RunError(
            f"login group {args.login_group!r} has {len(ips)} network interface(s) in the VPC, expected "
            f"{args.count}: the cluster may still be scaling; run `pulumi up` again, or set "
            f"hyperpod-platform:login.targetIps"
        )
    return ips[i]


def _check_args(args: LoginTargetsArgs, check: ArgCheck) -> None:
    """The login group's name (its ENIs are found by it), one or more login nodes, fixed IPs, when given,
    that are IPv4 addresses, each given once, one per node."""
    check.check("login_group", args.login_group, checks.aws_name("instance group names"))
    check.check("count", args.count, checks.between(1, checks.MAX_GROUP_INSTANCES))
    ips = list(args.target_ips)
    fix = "give the login nodes' private IPs, or leave target_ips empty to look them up"
    check.each("target_ips", ips, checks.ipv4_address(fix), same=str)
    if ips and len(ips) != args.count:
        check.fail("target_ips", ips, f"count is {args.count}, so {args.count} IP(s) are needed", fix)
