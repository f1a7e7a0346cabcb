"""no-world-ssh: no security group anywhere admits SSH from the whole internet.

Judges every security group and security group rule resource on its own: inline ``ingress`` of
``aws.ec2.SecurityGroup`` (and aws-native ``securityGroupIngress``), ``aws.ec2.SecurityGroupRule`` of type
ingress, ``aws.vpc.SecurityGroupIngressRule`` and aws-native ``SecurityGroupIngress``. A permission counts
when it admits TCP 22 (all protocols, or a TCP port range covering 22) from a CIDR spanning the whole address
space (0.0.0.0/0, ::/0).
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

from ._lib import RULE_TYPES, SECURITY_GROUP_TYPES, UNKNOWN, Verdicts, config_of, ingress_of, is_world, plain

NAME = "no-world-ssh"
DEFAULTS: dict[str, Any] = {"ports": [22]}
TYPES = SECURITY_GROUP_TYPES | set(RULE_TYPES)

DESCRIPTION = "No security group admits SSH (TCP 22) from the whole internet (0.0.0.0/0 or ::/0)."
REMEDIATION = (
    "Restrict the source to the networks that need SSH (a VPN or corporate CIDR, or a security group), or "
    "reach nodes through SSM Session Manager or the internal login load balancer instead."
)


def _validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type not in TYPES:
        return
    cfg = config_of(args, DEFAULTS)
    ports = [float(p) for p in cfg.get("ports") or [22]]
    props = plain(args.props) or {}
    verdicts = Verdicts()
    for rule in ingress_of(args.resource_type, props, args.name):
        for port in ports:
            covers = rule.covers_port(port)
            if covers is False:
                continue
            for kind, value in rule.sources:
                if kind not in ("cidr4", "cidr6"):
                    continue
                world = is_world(value)
                if world is True and covers is True:
                    report_violation(f"admits {rule.describe()}: TCP {int(port)} from the whole internet")
                elif world is UNKNOWN or (world is True and covers is UNKNOWN):
                    verdicts.cannot_judge(
                        f"whether {rule.where} admits TCP {int(port)} from the internet: "
                        "a protocol, port or CIDR is not known yet"
                    )
    verdicts.finish()


POLICY = ResourceValidationPolicy(
    name=NAME,
    description=DESCRIPTION,
    validate=_validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    remediation_steps=REMEDIATION,
    config_schema=PolicyConfigSchema(
        properties={
            "ports": {
                "type": "array",
                "items": {"type": "integer"},
                "default": DEFAULTS["ports"],
                "description": "TCP ports never open to the whole internet.",
            },
        }
    ),
)
