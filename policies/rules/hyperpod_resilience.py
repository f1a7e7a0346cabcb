"""hyperpod-resilience: HyperPod replaces failed nodes itself, and accelerated groups are health-checked.

``nodeRecovery`` must be ``Automatic`` (the API documents no default, so it is set explicitly). Instance
groups of accelerated types (``ml.p*``, ``ml.g*``, ``ml.gr*``, ``ml.trn*``, ``ml.inf*``) must run the deep
health checks (``onStartDeepHealthChecks``) InstanceStress and InstanceConnectivity, so a bad GPU or EFA link
is caught before jobs land on it. Advisory by default.

Judged alike whatever orchestrates the cluster (``orchestrator.slurm`` or ``orchestrator.eks``): node
recovery and deep health checks are HyperPod's own, on both. Nothing Slurm-specific is required (no
controller or login group, no ``slurmConfig``), so an EKS-orchestrated cluster is never judged for what only
Slurm has. A group is accelerated when its ``instanceType``, or any of ``instanceRequirements.instanceTypes``
(a flexible group), is; ``restrictedInstanceGroups`` (EKS only) are judged like instance groups.
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs

from ._declare import Config, Props, declare, option
from ._lib import UNKNOWN, Verdicts, get

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
    "HyperPod clusters, Slurm or EKS orchestrated, recover nodes automatically (NodeRecovery: Automatic) and "
    "accelerated instance groups (restricted ones included) run the deep health checks."
)
REMEDIATION = (
    "Set nodeRecovery: Automatic in the stack's cluster config, and deepHealthChecks: [InstanceStress, "
    "InstanceConnectivity] on every GPU/Trainium/Inferentia instance group. In a program: "
    'sagemaker.Cluster(node_recovery="Automatic", ...) and on_start_deep_health_checks=["InstanceStress", '
    '"InstanceConnectivity"] on each accelerated ClusterInstanceGroupArgs / ClusterRestrictedInstanceGroupArgs.'
)

# (property, what a message calls one of its groups)
GROUP_LISTS = (("instanceGroups", "instance group"), ("restrictedInstanceGroups", "restricted instance group"))


def _orchestrated(props: Props, name: str) -> str:
    """How a message names the cluster: ``EKS-orchestrated HyperPod cluster hp`` or ``Slurm-...``."""
    orchestrator = props.get("orchestrator")
    if isinstance(orchestrator, dict):
        if get(orchestrator, "eks") not in (None, UNKNOWN):
            return f"EKS-orchestrated HyperPod cluster {name}"
        if get(orchestrator, "slurm") not in (None, UNKNOWN):
            return f"Slurm-orchestrated HyperPod cluster {name}"
    return f"HyperPod cluster {name}"


def _validate(
    args: ResourceValidationArgs, props: Props, cfg: Config, verdicts: Verdicts, report_violation: ReportViolation
) -> None:
    cluster = _orchestrated(props, args.name)
    recovery = props.get("nodeRecovery")
    if recovery is UNKNOWN:
        verdicts.cannot_judge(f"nodeRecovery of {cluster} is not known yet")
    elif recovery != "Automatic":
        report_violation(
            f"{cluster}: nodeRecovery is {recovery or 'unset'}; set it to Automatic "
            '(node_recovery="Automatic") so HyperPod reboots or replaces faulty nodes itself'
        )
    prefixes = tuple(str(p) for p in cfg.get("acceleratedPrefixes") or [])
    required = [str(c) for c in cfg.get("requiredDeepHealthChecks") or []]
    for key, kind in GROUP_LISTS:
        groups = props.get(key)
        if groups is UNKNOWN:
            verdicts.cannot_judge(f"the {key} of {cluster} are not known yet")
            continue
        for i, group in enumerate(groups if isinstance(groups, list) else []):
            _judge_group(cluster, kind, i, group, prefixes, required, verdicts, report_violation)


def _judge_group(
    cluster: str,
    kind: str,
    i: int,
    group: Any,
    prefixes: tuple[str, ...],
    required: list[str],
    verdicts: Verdicts,
    report_violation: ReportViolation,
) -> None:
    if not isinstance(group, dict):
        verdicts.cannot_judge(f"{kind} {i} of {cluster} is not known yet")
        return
    name = group.get("instanceGroupName") or f"#{i}"
    types = [group.get("instanceType")]
    flexible = get(group, "instanceRequirements", "instanceTypes")
    types += flexible if isinstance(flexible, list) else [flexible]
    types = [t for t in types if t is not None]
    if UNKNOWN in types:
        verdicts.cannot_judge(f"the instance type of {kind} {name} of {cluster} is not known yet")
        return
    accelerated = [str(t) for t in types if isinstance(t, str) and t.startswith(prefixes)]
    if not accelerated:
        return
    checks = group.get("onStartDeepHealthChecks")
    if checks is UNKNOWN or (isinstance(checks, list) and UNKNOWN in checks):
        verdicts.cannot_judge(f"the deep health checks of {kind} {name} of {cluster} are not known yet")
        return
    missing = [c for c in required if c not in (checks or [])]
    if missing:
        report_violation(
            f"{cluster}: accelerated {kind} {name} ({', '.join(accelerated)}) does not run the deep health "
            f"check(s) {', '.join(missing)}; add them to its on_start_deep_health_checks"
        )


POLICY = declare(
    NAME, DESCRIPTION, REMEDIATION, CONFIG, level="advisory", severity="medium", resource=_validate, types={TYPE}
)
