"""internal-load-balancers: no load balancer of any kind is internet-facing.

The platform's load balancers (login, directory) serve users inside the VPC or through Client VPN; none is
reachable from the internet, and nothing else in the stack may put a load balancer on it. Covers
``aws.lb.LoadBalancer`` / ``aws.alb.LoadBalancer`` of every type (``internal``, default false;
``loadBalancerType`` default application), classic ``aws.elb.LoadBalancer`` (``internal``, default false),
aws-native ``elasticloadbalancingv2.LoadBalancer`` (``scheme``, default internet-facing) and aws-native
classic ``elasticloadbalancing.LoadBalancer`` (``scheme``, default internet-facing).

A gateway load balancer has no scheme: AWS rejects one for it, and it is never reachable from the internet
(traffic reaches it only through Gateway Load Balancer endpoints), so it passes.
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs

from ._declare import Config, Props, declare, option
from ._lib import UNKNOWN, Verdicts

NAME = "internal-load-balancers"
KINDS = ["network", "application", "classic"]
CONFIG = {
    "loadBalancerTypes": option(
        KINDS,
        "Load balancer types that must be internal (a gateway load balancer has no scheme and always passes).",
        enum=["network", "application", "gateway", "classic"],
    ),
}
V2 = {"aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer"}
CLASSIC = "aws:elb/loadBalancer:LoadBalancer"
NATIVE_V2 = "aws-native:elasticloadbalancingv2:LoadBalancer"
NATIVE_CLASSIC = "aws-native:elasticloadbalancing:LoadBalancer"
TYPES = V2 | {CLASSIC, NATIVE_V2, NATIVE_CLASSIC}

DESCRIPTION = (
    "Load balancers of every kind (network, application, classic; pulumi-aws and aws-native) are internal, "
    "never internet-facing."
)
REMEDIATION = (
    "Set internal=True (aws.lb/aws.alb/aws.elb LoadBalancer) or scheme='internal' (aws-native) and place "
    "the load balancer in private subnets; users reach it through Client VPN or a peered network."
)


def _kind_and_internal(typ: str, props: dict[str, Any]) -> tuple[Any, Any]:
    if typ == NATIVE_V2:
        scheme = props.get("scheme", "internet-facing")
        return props.get("type", "application"), scheme if scheme is UNKNOWN else scheme == "internal"
    if typ == NATIVE_CLASSIC:
        scheme = props.get("scheme", "internet-facing")
        return "classic", scheme if scheme is UNKNOWN else scheme == "internal"
    if typ == CLASSIC:
        return "classic", props.get("internal", False)
    return props.get("loadBalancerType", "application"), props.get("internal", False)


def _validate(
    args: ResourceValidationArgs, props: Props, cfg: Config, verdicts: Verdicts, report_violation: ReportViolation
) -> None:
    kinds = {str(k) for k in cfg.get("loadBalancerTypes") or []}
    kind, internal = _kind_and_internal(args.resource_type, props)
    if kind is None or kind == "":
        kind = "application"
    if kind is UNKNOWN:
        verdicts.cannot_judge("its load balancer type is not known yet")
    elif kind == "gateway":
        pass  # no scheme: never internet-facing
    elif kind in kinds:
        if internal is UNKNOWN:
            verdicts.cannot_judge("whether it is internal is not known yet")
        elif internal is not True:
            report_violation(f"is an internet-facing {kind} load balancer; it must be internal")


POLICY = declare(
    NAME, DESCRIPTION, REMEDIATION, CONFIG, level="mandatory", severity="high", resource=_validate, types=TYPES
)
