"""nlb-ssh-only-security-groups: network load balancers admit only what their role needs.

- The login load balancer's security groups admit only TCP 22, never from 0.0.0.0/0 or ::/0.
- The directory load balancer's security groups admit only TCP 636 from inside the VPC.
- Any other ingress on a network load balancer's security groups is a violation.

A load balancer's role comes from its tag (``roleTag``, default ``hyperpod:lb-role`` = ``login`` or
``directory``), else from its name (``loginNamePattern``, ``directoryNamePattern``). Ingress counts whether it
is inline on the group or a separate ``aws.ec2.SecurityGroupRule`` / ``aws.vpc.SecurityGroupIngressRule``.
"""

from __future__ import annotations

import re
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from ._lib import (
    RULE_TYPES,
    SECURITY_GROUP_TYPES,
    UNKNOWN,
    Graph,
    Ingress,
    Node,
    Verdicts,
    as_list,
    config_of,
    ingress_of,
    is_world,
    within,
)

NAME = "nlb-ssh-only-security-groups"

LB_TYPES = {
    "aws:lb/loadBalancer:LoadBalancer",
    "aws:alb/loadBalancer:LoadBalancer",
    "aws-native:elasticloadbalancingv2:LoadBalancer",
}
VPC_TYPES = {"aws:ec2/vpc:Vpc", "aws-native:ec2:VPC"}
CIDR_ASSOCIATION_TYPES = {
    "aws:ec2/vpcIpv4CidrBlockAssociation:VpcIpv4CidrBlockAssociation",
    "aws:ec2/vpcIpv6CidrBlockAssociation:VpcIpv6CidrBlockAssociation",
    "aws-native:ec2:VPCCidrBlock",
}

DEFAULTS: dict[str, Any] = {
    "roleTag": "hyperpod:lb-role",
    "loginNamePattern": "login",
    "directoryNamePattern": "directory|ldap",
    "loginPort": 22,
    "directoryPort": 636,
    "requireSecurityGroups": True,
    "vpcCidrs": [],
}

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


def _role(lb: Node, cfg: dict[str, Any]) -> str:
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


def _ingress(graph: Graph, sg: Node) -> list[Ingress]:
    rules = ingress_of(sg.type, sg.props, sg.name)
    for typ, key in RULE_TYPES.items():
        for rule in graph.referrers({typ}, key, sg):
            rules += ingress_of(rule.type, rule.props, rule.name)
    return rules


def _vpc_cidrs(graph: Graph, sg: Node, cfg: dict[str, Any]) -> Any:
    if cfg.get("vpcCidrs"):
        return [str(c) for c in cfg["vpcCidrs"]]
    key = "vpcId"
    vpcs, _ = graph.resolve(sg, key, as_list(sg.props.get(key)), VPC_TYPES)
    cidrs: list[str] = []
    for vpc in vpcs:
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


def _judge(rule: Ingress, role: str, port: float, vpc_cidrs: Any) -> tuple[list[str], list[str]]:
    """(violations, cannot-judge notes) of one ingress permission on a load balancer of ``role``."""
    what = rule.describe()
    if role == "other":
        return [f"admits {what}, but the load balancer has no login or directory role"], []
    exact = rule.only_tcp_port(port)
    if exact is UNKNOWN:
        return [], [f"protocol or ports of {rule.where} are not known yet"]
    if not exact:
        return [f"admits {what}; a {role} load balancer admits only TCP {int(port)}"], []
    bad, unknown = [], []
    for kind, value in rule.sources:
        if value is UNKNOWN:
            unknown.append(f"a source of {rule.where} is not known yet")
        elif role == "login":
            if kind in ("cidr4", "cidr6") and is_world(value):
                bad.append(f"admits {what}: SSH from the whole internet")
        elif kind in ("cidr4", "cidr6"):
            if vpc_cidrs is UNKNOWN:
                unknown.append(f"the VPC CIDR of the directory load balancer's group is not known ({rule.where})")
            elif not within(value, vpc_cidrs):
                bad.append(f"admits {what}: {value} is outside the VPC ({', '.join(vpc_cidrs)})")
        elif kind == "prefix-list":
            bad.append(f"admits {what}: a prefix list cannot be shown to stay inside the VPC")
    return bad, unknown


def _validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    cfg = config_of(args, DEFAULTS)
    graph = Graph(args.resources)
    verdicts = Verdicts()
    for lb in graph.of_type(*LB_TYPES):
        network = _is_network(lb)
        if network is UNKNOWN:
            verdicts.cannot_judge(f"{lb.label}: its type is not known yet")
            continue
        if not network:
            continue
        role = _role(lb, cfg)
        port = float(cfg["loginPort"] if role == "login" else cfg["directoryPort"])
        key = "securityGroups"
        groups, unresolved = graph.resolve(lb, key, as_list(lb.props.get(key)), SECURITY_GROUP_TYPES)
        problems: list[str] = [
            f"security group {u} is not a group of this stack, so its rules cannot be checked" for u in unresolved
        ]
        if not groups and not unresolved and cfg.get("requireSecurityGroups", True) and role != "other":
            problems.append(f"has no security group; a {role} load balancer needs one that admits only TCP {int(port)}")
        for sg in groups:
            vpc_cidrs = _vpc_cidrs(graph, sg, cfg) if role == "directory" else []
            for rule in _ingress(graph, sg):
                bad, unknown = _judge(rule, role, port, vpc_cidrs)
                problems += [f"security group {sg.name} {b}" for b in bad]
                for u in unknown:
                    verdicts.cannot_judge(f"{lb.label}, security group {sg.name}: {u}")
        if problems:
            report_violation(f"{role} load balancer: " + "; ".join(dict.fromkeys(problems)), lb.urn)
    verdicts.finish()


POLICY = StackValidationPolicy(
    name=NAME,
    description=DESCRIPTION,
    validate=_validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    remediation_steps=REMEDIATION,
    config_schema=PolicyConfigSchema(
        properties={
            "roleTag": {
                "type": "string",
                "default": DEFAULTS["roleTag"],
                "description": "Tag whose value (login or directory) names a load balancer's role.",
            },
            "loginNamePattern": {
                "type": "string",
                "default": DEFAULTS["loginNamePattern"],
                "description": "Regex on the resource name marking a login load balancer.",
            },
            "directoryNamePattern": {
                "type": "string",
                "default": DEFAULTS["directoryNamePattern"],
                "description": "Regex on the resource name marking a directory load balancer.",
            },
            "loginPort": {"type": "integer", "default": DEFAULTS["loginPort"]},
            "directoryPort": {"type": "integer", "default": DEFAULTS["directoryPort"]},
            "requireSecurityGroups": {
                "type": "boolean",
                "default": DEFAULTS["requireSecurityGroups"],
                "description": "A login or directory load balancer without security groups is a violation.",
            },
            "vpcCidrs": {
                "type": "array",
                "items": {"type": "string"},
                "default": DEFAULTS["vpcCidrs"],
                "description": "CIDRs counted as inside the VPC (default: the VPC's own CIDR blocks).",
            },
        }
    ),
)
