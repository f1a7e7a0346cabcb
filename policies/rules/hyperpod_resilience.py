"""hyperpod-resilience: HyperPod replaces failed nodes itself, and accelerated groups are health-checked.

``nodeRecovery`` must be ``Automatic``. Instance groups of accelerated types (``ml.p*``, ``ml.g*``, ``ml.gr*``,
``ml.trn*``, ``ml.inf*``) must run the deep health checks (``onStartDeepHealthChecks``) InstanceStress and
InstanceConnectivity, so a bad GPU or EFA link is caught before jobs land on it. Advisory by default.
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

NAME = "hyperpod-resilience"
TYPE = "aws-native:sagemaker:Cluster"
DEFAULTS: dict[str, Any] = {
    "acceleratedPrefixes": ["ml.p", "ml.g", "ml.gr", "ml.trn", "ml.inf"],
    "requiredDeepHealthChecks": ["InstanceStress", "InstanceConnectivity"],
}

DESCRIPTION = (
    "HyperPod clusters recover nodes automatically (NodeRecovery: Automatic) and accelerated instance "
    "groups run the deep health checks."
)
REMEDIATION = (
    "Set nodeRecovery: Automatic in the stack's cluster config, and deepHealthChecks: [InstanceStress, "
    "InstanceConnectivity] on every GPU/Trainium/Inferentia instance group."
)


def _validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != TYPE:
        return
    cfg = config_of(args, DEFAULTS)
    props = plain(args.props) or {}
    verdicts = Verdicts()
    recovery = props.get("nodeRecovery")
    if recovery is UNKNOWN:
        verdicts.cannot_judge("nodeRecovery is not known yet")
    elif recovery != "Automatic":
        report_violation(f"nodeRecovery is {recovery or 'unset'}; set it to Automatic")
    prefixes = tuple(str(p) for p in cfg.get("acceleratedPrefixes") or [])
    required = [str(c) for c in cfg.get("requiredDeepHealthChecks") or []]
    groups = props.get("instanceGroups")
    if groups is UNKNOWN:
        verdicts.cannot_judge("its instance groups are not known yet")
        groups = []
    for i, group in enumerate(groups or []):
        if not isinstance(group, dict):
            verdicts.cannot_judge(f"instance group {i} is not known yet")
            continue
        name = group.get("instanceGroupName") or f"#{i}"
        itype = group.get("instanceType")
        if itype is UNKNOWN:
            verdicts.cannot_judge(f"the instance type of group {name} is not known yet")
            continue
        if not isinstance(itype, str) or not itype.startswith(prefixes):
            continue
        checks = group.get("onStartDeepHealthChecks")
        if checks is UNKNOWN or (isinstance(checks, list) and UNKNOWN in checks):
            verdicts.cannot_judge(f"the deep health checks of group {name} are not known yet")
            continue
        missing = [c for c in required if c not in (checks or [])]
        if missing:
            report_violation(
                f"accelerated instance group {name} ({itype}) does not run the deep health "
                f"check(s) {', '.join(missing)}"
            )
    verdicts.finish()


POLICY = ResourceValidationPolicy(
    name=NAME,
    description=DESCRIPTION,
    validate=_validate,
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    remediation_steps=REMEDIATION,
    config_schema=PolicyConfigSchema(
        properties={
            "acceleratedPrefixes": {
                "type": "array",
                "items": {"type": "string"},
                "default": DEFAULTS["acceleratedPrefixes"],
                "description": "Instance type prefixes that count as accelerated.",
            },
            "requiredDeepHealthChecks": {
                "type": "array",
                "items": {"type": "string", "enum": ["InstanceStress", "InstanceConnectivity"]},
                "default": DEFAULTS["requiredDeepHealthChecks"],
                "description": "Deep health checks every accelerated group runs.",
            },
        }
    ),
)
