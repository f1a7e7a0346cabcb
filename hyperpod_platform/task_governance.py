"""Task governance on an EKS-orchestrated HyperPod cluster: the ``amazon-sagemaker-hyperpod-taskgovernance``
EKS add-on (Kueue and its controller), the cluster policy (``AWS::SageMaker::ClusterSchedulerConfig``: priority
classes, fair share, idle-compute sharing) and one ``AWS::SageMaker::ComputeQuota`` per team.

aws-native has no ClusterSchedulerConfig resource, so the policy is an ``aws.cloudcontrol.Resource`` whose
desired state is the CloudFormation properties as JSON; the offline preview validates it against the
CloudFormation schema like every aws-native input (``tools/cfn_schema.py``).

Order: the add-on waits for the HyperPod cluster (its pods need the cluster's nodes, and EKS waits for them
before the add-on is active); the policy and the quotas wait for the add-on, through the cluster ARN they take
(:func:`after`), so the dependency travels with the value.
"""

import json
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws
import pulumi_aws_native as aws_native
from pulumi_aws_native import sagemaker

from . import checks
from ._args import ArgCheck, after, component_type, take
from .settings import GovernanceSettings, QuotaResourceSettings, TeamSettings

ADDON = "amazon-sagemaker-hyperpod-taskgovernance"
"""The EKS add-on of HyperPod task governance."""
POLICY_TYPE = "AWS::SageMaker::ClusterSchedulerConfig"
"""CloudFormation type of the cluster policy (created through Cloud Control)."""
NAME_LIMIT = 63
"""SageMaker entity names (policy, quota): ``^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$``."""
AMOUNTS = ("count", "accelerators", "vcpu", "memory_gib")
"""The amounts a quota resource gives exactly one of."""


@dataclass
class TaskGovernanceArgs:
    """Inputs of :class:`TaskGovernance`."""

    cluster_name: str
    """Name of the HyperPod cluster: the prefix of the cluster policy's and the quotas' names."""
    eks_cluster_name: pulumi.Input[str]
    """The EKS cluster the add-on goes on; pass a value that resolves once the control plane exists
    (``EksControlPlane``'s cluster name)."""
    hyperpod_cluster_arn: pulumi.Input[str]
    """ARN of the EKS-orchestrated HyperPod cluster (``HyperPodCluster.arn``): the add-on, the policy and the
    quotas wait for it."""
    settings: GovernanceSettings
    """The cluster policy and the add-on version."""
    teams: Sequence[TeamSettings]
    """The teams sharing the cluster: one compute quota each (their access is another component's)."""
    tags: dict[str, str]
    """Tags for every resource."""


def entity_name(cluster: str, suffix: str) -> str:
    """``<cluster>-<suffix>`` within SageMaker's 63 characters: the cluster part is cut, never the suffix (names
    are unique per cluster, so the suffix alone keeps them apart)."""
    return f"{cluster[: NAME_LIMIT - len(suffix) - 1]}-{suffix}"


def policy_state(name: str, cluster_arn: str, settings: GovernanceSettings, tags: Mapping[str, str]) -> dict:
    """The cluster policy as CloudFormation properties (Cloud Control's desired state)."""
    scheduler: dict[str, Any] = {}
    if settings.priority_classes:
        scheduler["PriorityClasses"] = [{"Name": c.name, "Weight": c.weight} for c in settings.priority_classes]
    scheduler["FairShare"] = settings.fair_share
    scheduler["IdleResourceSharing"] = settings.idle_resource_sharing
    state: dict[str, Any] = {"Name": name, "ClusterArn": cluster_arn, "SchedulerConfig": scheduler}
    if tags:
        state["Tags"] = [{"Key": k, "Value": v} for k, v in sorted(tags.items())]
    return state


def quota_resource(q: QuotaResourceSettings) -> sagemaker.ComputeQuotaResourceConfigArgs:
    """One resource of a quota: whole instances, or accelerators, vCPUs or memory of an instance type."""
    return sagemaker.ComputeQuotaResourceConfigArgs(
        instance_type=q.instance_type,
        count=q.count,
        accelerators=q.accelerators,
        v_cpu=q.vcpu,
        memory_in_gi_b=q.memory_gib,
    )


def quota_config(team: TeamSettings) -> sagemaker.ComputeQuotaConfigArgs:
    """A team's guaranteed compute, how it shares idle compute (a borrow limit only when it borrows) and whether
    its tasks preempt its own lower-priority tasks."""
    borrows = team.sharing_strategy == "LendAndBorrow"
    return sagemaker.ComputeQuotaConfigArgs(
        compute_quota_resources=[quota_resource(q) for q in team.quota],
        resource_sharing_config=sagemaker.ComputeQuotaResourceSharingConfigArgs(
            strategy=sagemaker.ComputeQuotaResourceSharingConfigStrategy(team.sharing_strategy),
            borrow_limit=team.borrow_limit if borrows else None,
        ),
        preempt_team_tasks=sagemaker.ComputeQuotaConfigPreemptTeamTasks(team.preempt_team_tasks),
    )


class TaskGovernance(pulumi.ComponentResource):
    """HyperPod task governance on an EKS-orchestrated cluster: the task governance EKS add-on, the cluster
    policy (priority classes, fair share, idle-compute sharing) through Cloud Control, and one compute quota per
    team, all after the HyperPod cluster, the policy and quotas after the add-on."""

    quota_names: pulumi.Output[Mapping[str, str]]
    """Team -> name of its compute quota; resolves once the quota exists (and with it the team's namespace
    ``hyperpod-ns-<team>``)."""
    policy_name: pulumi.Output[str]
    """Name of the cluster policy; resolves once the policy exists."""

    def __init__(self, name: str, args: TaskGovernanceArgs, opts: Optional[pulumi.ResourceOptions] = None):
        args, check = take("TaskGovernance", TaskGovernanceArgs, args)
        _check_args(args, check)
        check.raise_if_any()
        super().__init__(component_type("TaskGovernance"), name, None, opts)
        s = args.settings
        child = pulumi.ResourceOptions(parent=self)
        # The add-on's pods run on the HyperPod nodes: its cluster name carries the HyperPod cluster's ARN's
        # dependencies, so it waits for the cluster (and shows unknown in a preview until the cluster exists).
        addon_cluster = pulumi.Output.all(args.eks_cluster_name, args.hyperpod_cluster_arn).apply(lambda v: v[0])
        self.addon = aws.eks.Addon(
            f"{name}-addon",
            cluster_name=addon_cluster,
            addon_name=ADDON,
            addon_version=s.addon_version,
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE",
            tags=args.tags,
            opts=child,
        )
        cluster_arn = after(args.hyperpod_cluster_arn, [self.addon])  # policy and quotas: after the add-on
        policy_name = entity_name(args.cluster_name, "policy")
        self.policy = aws.cloudcontrol.Resource(
            f"{name}-policy",
            type_name=POLICY_TYPE,
            desired_state=pulumi.Output.from_input(cluster_arn).apply(
                lambda arn: json.dumps(policy_state(policy_name, arn, s, args.tags))
            ),
            opts=child,
        )
        tags = [aws_native.TagArgs(key=k, value=v) for k, v in sorted(args.tags.items())]
        self.quotas: dict[str, sagemaker.ComputeQuota] = {}
        for team in args.teams:
            self.quotas[team.name] = sagemaker.ComputeQuota(
                f"{name}-{team.name}",
                name=entity_name(args.cluster_name, team.name),
                description=f"Compute quota of team {team.name} (namespace {team.namespace})",
                cluster_arn=cluster_arn,
                compute_quota_config=quota_config(team),
                compute_quota_target=sagemaker.ComputeQuotaTargetArgs(
                    team_name=team.name, fair_share_weight=team.fair_share_weight
                ),
                activation_state=sagemaker.ComputeQuotaActivationState.ENABLED,
                tags=tags or None,
                opts=child,
            )
        names = {t: after(entity_name(args.cluster_name, t), [q]) for t, q in self.quotas.items()}
        self.quota_names = pulumi.Output.all(**names) if names else pulumi.Output.from_input({})
        self.policy_name = after(policy_name, [self.policy])
        self.register_outputs({"quota_names": self.quota_names, "policy_name": self.policy_name})


def _check_args(args: TaskGovernanceArgs, check: ArgCheck) -> None:
    """What the add-on, the policy and the quotas need: a cluster name for their names, a HyperPod cluster ARN,
    up to 10 priority classes with names of their own and weights 0-100, the policy's switches, an add-on
    version EKS can name, teams with names of their own each checked by :func:`_check_team`, tags AWS accepts."""
    s = args.settings
    check.check("cluster_name", args.cluster_name, checks.cluster_name)
    check.check("hyperpod_cluster_arn", args.hyperpod_cluster_arn, checks.hyperpod_cluster_arn)
    classes = list(s.priority_classes)
    if len(classes) > checks.MAX_PRIORITY_CLASSES:
        why = f"a cluster policy has at most {checks.MAX_PRIORITY_CLASSES} priority classes"
        check.fail("settings.priority_classes", len(classes), why, f"keep {checks.MAX_PRIORITY_CLASSES} or fewer")
    seen: dict[str, int] = {}
    for i, c in enumerate(classes):
        path = f"settings.priority_classes[{i}]"
        if c.name in seen:
            why = f"repeats settings.priority_classes[{seen[c.name]}].name"
            check.fail(f"{path}.name", c.name, why, "give each priority class its own name")
        else:
            seen[c.name] = i
            check.check(f"{path}.name", c.name, checks.priority_class_name)
        check.check(f"{path}.weight", c.weight, checks.between(0, 100))
    switches = checks.one_of(*checks.GOVERNANCE_SWITCHES)
    check.check("settings.fair_share", s.fair_share, switches)
    check.check("settings.idle_resource_sharing", s.idle_resource_sharing, switches)
    check.check("settings.addon_version", s.addon_version, checks.addon_version)
    teams: dict[str, int] = {}
    for i, team in enumerate(args.teams):
        path = f"teams[{i}]"
        if team.name in teams:
            why = f"repeats teams[{teams[team.name]}].name (a team is one namespace and one quota)"
            check.fail(f"{path}.name", team.name, why, "give each team its own name")
        else:
            teams[team.name] = i
            check.check(f"{path}.name", team.name, checks.team_name)
        _check_team(team, path, check)
    check.tags(args.tags, own=())


def _check_team(team: TeamSettings, path: str, check: ArgCheck) -> None:
    """One team's quota: 1 to 15 resources, each an instance type with exactly one positive amount; a sharing
    strategy, a borrow limit of 1-500 only when it lends and borrows, a fair-share weight of 0-100 and a
    preemption choice."""
    quota = list(team.quota)
    if not 1 <= len(quota) <= checks.MAX_QUOTA_RESOURCES:
        why = f"a quota has 1 to {checks.MAX_QUOTA_RESOURCES} resources"
        check.fail(f"{path}.quota", len(quota), why, f"give between 1 and {checks.MAX_QUOTA_RESOURCES} resources")
    for j, q in enumerate(quota):
        qp = f"{path}.quota[{j}]"
        check.check(f"{qp}.instance_type", q.instance_type, checks.hyperpod_type_shape)
        given = [a for a in AMOUNTS if getattr(q, a) is not None]
        if len(given) != 1:
            why = f"a quota resource gives exactly one amount ({', '.join(given) or 'none'} given)"
            check.fail(qp, {a: getattr(q, a) for a in given}, why, f"give one of {', '.join(AMOUNTS)}")
        for a in given:
            check.check(f"{qp}.{a}", getattr(q, a), checks.positive)
    check.check(f"{path}.sharing_strategy", team.sharing_strategy, checks.one_of(*checks.SHARING_STRATEGIES))
    lends_only = team.sharing_strategy in checks.SHARING_STRATEGIES and team.sharing_strategy != "LendAndBorrow"
    if team.borrow_limit is not None and lends_only:
        why = f"only a LendAndBorrow team borrows (this one is {team.sharing_strategy})"
        check.fail(f"{path}.borrow_limit", team.borrow_limit, why, "remove borrow_limit, or use LendAndBorrow")
    else:
        check.check(f"{path}.borrow_limit", team.borrow_limit, checks.between(*checks.BORROW_LIMIT))
    check.check(f"{path}.fair_share_weight", team.fair_share_weight, checks.between(0, 100))
    check.check(f"{path}.preempt_team_tasks", team.preempt_team_tasks, checks.one_of(*checks.PREEMPT_TEAM_TASKS))
