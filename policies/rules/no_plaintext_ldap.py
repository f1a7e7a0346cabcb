"""no-plaintext-ldap: no load balancer listener on the plaintext LDAP port; TLS listeners use a current policy.

Directory traffic goes over LDAPS (636), never LDAP (389). A TLS or HTTPS listener must name an SSL policy
from the allowed list (TLS 1.2+ with forward secrecy; TLS 1.0/1.1 policies are not allowed). Covers
``aws.lb.Listener``, ``aws.alb.Listener`` and aws-native ``elasticloadbalancingv2.Listener``.
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

from ._lib import UNKNOWN, Verdicts, config_of, number, plain

NAME = "no-plaintext-ldap"
TYPES = {"aws:lb/listener:Listener", "aws:alb/listener:Listener", "aws-native:elasticloadbalancingv2:Listener"}
DEFAULTS: dict[str, Any] = {
    "plaintextPorts": [389],
    "allowedSslPolicies": [
        "ELBSecurityPolicy-TLS13-1-2-2021-06",
        "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
        "ELBSecurityPolicy-TLS13-1-3-2021-06",
        "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
        "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04",
        "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
    ],
}

DESCRIPTION = "No listener on the plaintext LDAP port (389); TLS listeners use a current TLS policy (TLS 1.2 or later)."
REMEDIATION = (
    "Serve the directory over LDAPS: a TLS listener on 636 with ssl_policy "
    "'ELBSecurityPolicy-TLS13-1-2-2021-06' (or a TCP passthrough listener on 636), and remove the 389 "
    "listener. Set ssl_policy explicitly on every TLS/HTTPS listener."
)


def _validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type not in TYPES:
        return
    cfg = config_of(args, DEFAULTS)
    props = plain(args.props) or {}
    verdicts = Verdicts()
    port, protocol, policy = props.get("port"), props.get("protocol"), props.get("sslPolicy")
    plaintext = {float(p) for p in cfg.get("plaintextPorts") or []}
    if port is UNKNOWN:
        verdicts.cannot_judge("its port is not known yet")
    elif number(port) in plaintext:
        report_violation(f"listens on port {int(number(port))} (plaintext LDAP); use LDAPS on 636")
    if protocol is UNKNOWN:
        verdicts.cannot_judge("its protocol is not known yet")
    elif isinstance(protocol, str) and protocol.upper() in ("TLS", "HTTPS"):
        allowed = [str(p) for p in cfg.get("allowedSslPolicies") or []]
        if policy is UNKNOWN:
            verdicts.cannot_judge("its SSL policy is not known yet")
        elif not policy:
            report_violation(
                f"is a {protocol.upper()} listener without an explicit ssl_policy; set one of: {', '.join(allowed)}"
            )
        elif policy not in allowed:
            report_violation(f"uses SSL policy {policy}, which is not current; use one of: {', '.join(allowed)}")
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
            "plaintextPorts": {
                "type": "array",
                "items": {"type": "integer"},
                "default": DEFAULTS["plaintextPorts"],
                "description": "Listener ports that carry plaintext LDAP.",
            },
            "allowedSslPolicies": {
                "type": "array",
                "items": {"type": "string"},
                "default": DEFAULTS["allowedSslPolicies"],
                "description": "SSL policies a TLS/HTTPS listener may use.",
            },
        }
    ),
)
