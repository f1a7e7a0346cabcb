"""internal-load-balancers: network load balancers are internal.

The platform's load balancers (login, directory) serve users inside the VPC or through Client VPN; none is
reachable from the internet. Covers ``aws.lb.LoadBalancer`` / ``aws.alb.LoadBalancer`` (``internal``,
default false) and aws-native ``elasticloadbalancingv2.LoadBalancer`` (``scheme``, default internet-facing).
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

from ._lib import UNKNOWN, Verdicts, config_of, plain

NAME = "internal-load-balancers"
DEFAULTS: dict[str, Any] = {"loadBalancerTypes": ["network"]}
CLASSIC = {"aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer"}
NATIVE = "aws-native:elasticloadbalancingv2:LoadBalancer"

DESCRIPTION = "Network load balancers are internal (never internet-facing)."
REMEDIATION = (
    "Set internal=True (aws.lb.LoadBalancer) or scheme='internal' (aws-native) and place the load balancer "
    "in private subnets; users reach it through Client VPN or a peered network."
)


def _validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type not in CLASSIC and args.resource_type != NATIVE:
        return
    cfg = config_of(args, DEFAULTS)
    kinds = {str(k) for k in cfg.get("loadBalancerTypes") or []}
    props = plain(args.props) or {}
    verdicts = Verdicts()
    if args.resource_type == NATIVE:
        kind, internal = props.get("type", "application"), props.get("scheme", "internet-facing")
        internal = internal if internal is UNKNOWN else internal == "internal"
    else:
        kind, internal = props.get("loadBalancerType", "application"), props.get("internal", False)
    if kind is UNKNOWN:
        verdicts.cannot_judge("its load balancer type is not known yet")
    elif kind in kinds:
        if internal is UNKNOWN:
            verdicts.cannot_judge("whether it is internal is not known yet")
        elif internal is not True:
            report_violation(f"is an internet-facing {kind} load balancer; it must be internal")
    verdicts.finish()


POLICY = ResourceValidationPolicy(
    name=NAME,
    description=DESCRIPTION,
    validate=_validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    remediation_steps=REMEDIATION,
    config_schema=PolicyConfigSchema(
        properties={
            "loadBalancerTypes": {
                "type": "array",
                "items": {"type": "string", "enum": ["network", "application", "gateway"]},
                "default": DEFAULTS["loadBalancerTypes"],
                "description": "Load balancer types that must be internal.",
            },
        }
    ),
)
