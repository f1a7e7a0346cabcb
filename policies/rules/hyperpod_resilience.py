"""hyperpod-resilience: HyperPod replaces failed nodes itself, and accelerated groups are health-checked.

``nodeRecovery`` must be ``Automatic``. Instance groups of accelerated types (``ml.p*``, ``ml.g*``, ``ml.gr*``,
``ml.trn*``, ``ml.inf*``) must run the deep health checks (``onStartDeepHealthChecks``) InstanceStress and
InstanceConnectivity, so a bad GPU or EFA link is caught before jobs land on it. Advisory by default.
"""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs

from ._declare import Config, Props, declare, option
from ._lib import UNKNOWN, Verdicts

NAME = "hyperpod-resilience"
TYPE = "aws-native:sagemaker:Cluster"
CONFIG = {
    "acceleratedPrefixes": option(
        ["ml.p", "ml.g", "ml.gr", "ml.trn", "ml.inf"], "Instance type prefixes that count as accelerated."
    ),
    "requiredDeepHealthChecks": option(
        ["InstanceStress", "InstanceConnectivity"],
        "Deep health checks every accelerated group runs.",
        enum=["InstanceStress", "InstanceConnectivity"],
    ),
}

DESCRIPTION = (
    "HyperPod clusters recover nodes automatically (NodeRecovery: Automatic) and accelerated instance "
    "groups run the deep health checks."
)
REMEDIATION = (
    "Set nodeRecovery: Automatic in the stack's cluster config, and deepHealthChecks: [InstanceStress, "
    "InstanceConnectivity] on every GPU/Trainium/Inferentia instance group."
)


def _validate(
    args: ResourceValidationArgs, props: Props, cfg: Config, verdicts: Verdicts, report_violation: ReportViolation
) -> None:
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


POLICY = declare(
    NAME, DESCRIPTION, REMEDIATION, CONFIG, level="advisory", severity="medium", resource=_validate, types={TYPE}
)
