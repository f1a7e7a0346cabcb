"""nlb-ssh-only-security-groups: network load balancers admit only what their role needs.

- The login load balancer's security groups admit only TCP 22, never from 0.0.0.0/0 or ::/0.
- The directory load balancer's security groups admit only TCP 636 from inside the VPC.
- Any other ingress on a network load balancer's security groups is a violation.

A load balancer's role comes from its tag (``roleTag``, default ``hyperpod:lb-role`` = ``login`` or
``directory``), else from its name (``loginNamePattern``, ``directoryNamePattern``). Ingress counts whether it
is inline on the group or a separate ``aws.ec2.SecurityGroupRule`` / ``aws.vpc.SecurityGroupIngressRule`` /
aws-native ``SecurityGroupIngress``, and a VPC's default security group (``DefaultSecurityGroup`` or
``vpc.default_security_group_id``) is judged like any other. "From the internet" is judged on the union of the
group's sources for TCP 22, managed prefix lists expanded (see no-world-ssh and ``policies/internet.py``); a
directory group's prefix list must hold only VPC ranges.
"""

from __future__ import annotations

import re
from typing import Any

from pulumi_policy import ReportViolation

from ._declare import Config, declare, defaults, option
from ._lib import (
    UNKNOWN,
    Graph,
    Group,
    Ingress,
    Node,
    SecurityGroups,
    Verdicts,
    within,
)

NAME = "nlb-ssh-only-security-groups"

LB_TYPES = {
    "aws:lb/loadBalancer:LoadBalancer",
    "aws:alb/loadBalancer:LoadBalancer",
    "aws-native:elasticloadbalancingv2:LoadBalancer",
}
CIDR_ASSOCIATION_TYPES = {
    "aws:ec2/vpcIpv4CidrBlockAssociation:VpcIpv4CidrBlockAssociation",
    "aws:ec2/vpcIpv6CidrBlockAssociation:VpcIpv6CidrBlockAssociation",
    "aws-native:ec2:VPCCidrBlock",
}

CONFIG = {
    "roleTag": option("hyperpod:lb-role", "Tag whose value (login or directory) names a load balancer's role."),
    "loginNamePattern": option("login", "Regex on the resource name marking a login load balancer."),
    "directoryNamePattern": option("directory|ldap", "Regex on the resource name marking a directory load balancer."),
    "loginPort": option(22),
    "directoryPort": option(636),
    "requireSecurityGroups": option(True, "A login or directory load balancer without security groups is a violation."),
    "vpcCidrs": option([], "CIDRs counted as inside the VPC (default: the VPC's own CIDR blocks)."),
}
DEFAULTS = defaults(CONFIG)

DESCRIPTION = (
    "Security groups of network load balancers admit only their role's traffic: the login load balancer "
    "TCP 22 and never from 0.0.0.0/0 or ::/0, the directory load balancer TCP 636 from inside the VPC; "
    "any other ingress is a violation."
)

REMEDIATION = (
    "Give the load balancer its own security group with one ingress rule: TCP 22 from the allowed client "
    "CIDRs (login) or TCP 636 from the VPC CIDR (directory). Remove every other ingress, inline or as "
    "aws.ec2.SecurityGroupRule / aws.vpc.SecurityGroupIngressRule. Mark the load balancer's role with "
    "the tag hyperpod:lb-role=login|directory."
)


def _is_network(lb: Node) -> Any:
    if lb.type == "aws-native:elasticloadbalancingv2:LoadBalancer":
        kind = lb.props.get("type")
    else:
        kind = lb.props.get("loadBalancerType")
    if kind is UNKNOWN:
        return UNKNOWN
    return kind == "network"


def role_of(lb: Node, cfg: dict[str, Any]) -> str:
    """``login``, ``directory`` or ``other``: from the role tag, else from the load balancer's name."""
    tags = lb.props.get("tags")
    value = None
    if isinstance(tags, dict):
        value = tags.get(cfg["roleTag"])
    elif isinstance(tags, list):  # aws-native: [{key, value}]
        value = next((t.get("value") for t in tags if isinstance(t, dict) and t.get("key") == cfg["roleTag"]), None)
    if isinstance(value, str) and value.lower() in ("login", "directory"):
        return value.lower()
    if cfg.get("loginNamePattern") and re.search(cfg["loginNamePattern"], lb.name, re.IGNORECASE):
        return "login"
    if cfg.get("directoryNamePattern") and re.search(cfg["directoryNamePattern"], lb.name, re.IGNORECASE):
        return "directory"
    return "other"


def _vpc_cidrs(graph: Graph, group: Group, cfg: dict[str, Any]) -> Any:
    if cfg.get("vpcCidrs"):
        return [str(c) for c in cfg["vpcCidrs"]]
    cidrs: list[str] = []
    for vpc in group.vpcs:
        for k in ("cidrBlock", "ipv6CidrBlock"):
            v = vpc.props.get(k)
            if v is UNKNOWN:
                return UNKNOWN
            if isinstance(v, str) and v:
                cidrs.append(v)
        for assoc in graph.nodes:
            if assoc.type in CIDR_ASSOCIATION_TYPES and graph.refers(assoc, "vpcId", vpc):
                for k in ("cidrBlock", "ipv6CidrBlock"):
                    v = assoc.props.get(k)
                    if isinstance(v, str) and v:
                        cidrs.append(v)
    return cidrs or UNKNOWN


def _judge(
    groups: SecurityGroups, rule: Ingress, role: str, port: float, vpc_cidrs: Any
) -> tuple[list[str], list[str]]:
    """(violations, cannot-judge notes) of one ingress permission on a load balancer of ``role`` (the login
    group's sources are judged together, in :func:`_validate`)."""
    what = rule.describe()
    if role == "other":
        return [f"admits {what}, but the load balancer has no login or directory role"], []
    exact = rule.only_tcp_port(port)
    if exact is UNKNOWN:
        return [], [f"protocol or ports of {rule.where} are not known yet"]
    if not exact:
        return [f"admits {what}; a {role} load balancer admits only TCP {int(port)}"], []
    if role == "login":
        return [], []
    bad, unknown = [], []
    for kind, value in rule.sources:
        if kind in ("cidr4", "cidr6"):
            if value is UNKNOWN:
                unknown.append(f"a source of {rule.where} is not known yet")
            elif vpc_cidrs is UNKNOWN:
                unknown.append(f"the VPC CIDR of the directory load balancer's group is not known ({rule.where})")
            elif not within(value, vpc_cidrs):
                bad.append(f"admits {what}: {value} is outside the VPC ({', '.join(vpc_cidrs)})")
        elif kind == "prefix-list":
            candidates = groups.prefix_lists.candidates(rule, value)
            if len(candidates) != 1 or candidates[0].problems and candidates[0].label == value:
                bad.append(
                    f"admits {what}: a prefix list that is not in this stack cannot be shown to stay inside the VPC"
                )
                continue
            (pl,) = candidates
            unknown += pl.problems
            if vpc_cidrs is UNKNOWN:
                unknown.append(f"the VPC CIDR of the directory load balancer's group is not known ({rule.where})")
                continue
            outside = [c for c in pl.known if not within(c, vpc_cidrs)]
            if outside:
                bad.append(f"admits {what}: prefix list {pl.label} holds {', '.join(outside)}, outside the VPC")
    return bad, unknown


def _validate(graph: Graph, cfg: Config, verdicts: Verdicts, report_violation: ReportViolation) -> None:
    groups = SecurityGroups(graph)
    for lb in graph.of_type(*LB_TYPES):
        network = _is_network(lb)
        if network is UNKNOWN:
            verdicts.cannot_judge(f"{lb.label}: its type is not known yet")
            continue
        if not network:
            continue
        role = role_of(lb, cfg)
        port = float(cfg["loginPort"] if role == "login" else cfg["directoryPort"])
        keys, unresolved = groups.targets(lb, "securityGroups")
        problems: list[str] = [
            f"security group {u} is not a group of this stack, so its rules cannot be checked" for u in unresolved
        ]
        found = []
        for k in keys:
            group = groups.group(k)
            if group is not None:
                found.append(group)
            elif not (isinstance(k, tuple) and k[0] == "id"):  # the default group of an existing VPC
                label = groups.groups[k].label if k in groups.groups else f"the default security group of {k[1]}"
                problems.append(f"{label} is not managed by this stack, so its rules cannot be checked")
        if not keys and not unresolved and cfg.get("requireSecurityGroups", True) and role != "other":
            problems.append(f"has no security group; a {role} load balancer needs one that admits only TCP {int(port)}")
        for group in found:
            vpc_cidrs = _vpc_cidrs(graph, group, cfg) if role == "directory" else []
            for rule in group.rules:
                bad, unknown = _judge(groups, rule, role, port, vpc_cidrs)
                problems += [f"{group.label} {b}" for b in bad]
                for u in unknown:
                    verdicts.cannot_judge(f"{lb.label}, {group.label}: {u}")
            if role == "login":
                ex = groups.exposure(group.rules, port)
                if ex.opens:
                    what = "; ".join(r.describe() for r in ex.contributors)
                    problems.append(f"{group.label} admits {what}: SSH from the internet")
                for u in ex.undecided():
                    verdicts.cannot_judge(f"{lb.label}, {group.label}: {u}")
        if problems:
            report_violation(f"{role} load balancer: " + "; ".join(dict.fromkeys(problems)), lb.urn)


POLICY = declare(NAME, DESCRIPTION, REMEDIATION, CONFIG, level="mandatory", severity="high", stack=_validate)
