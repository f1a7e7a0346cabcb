"""HyperPod cluster, orchestrated by Slurm or by an EKS cluster, through aws-native ``sagemaker.Cluster``."""

from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi
import pulumi_aws_native as aws_native
from pulumi_aws_native import sagemaker

from . import checks
from ._args import ArgCheck, component_type, renamed, take
from .settings import ACCELERATED_RE, ORCHESTRATORS, ROLES, ClusterSettings, InstanceGroupSettings

ENTRYPOINT = "on_init_complete.sh"
"""Slurm: extended mode, after HyperPod has set up Slurm (``hyperpod_platform/lifecycle/``)."""
EKS_ENTRYPOINT = "on_create.sh"
"""EKS: HyperPod joins the node to the cluster; the script adds what that mode leaves to us
(``hyperpod_platform/lifecycle_eks/``)."""
NODE_TYPES = {"controller": "Controller", "login": "Login", "compute": "Compute"}


@dataclass
class HyperPodClusterArgs:
    """Inputs of :class:`HyperPodCluster`."""

    settings: ClusterSettings
    """Validated cluster settings."""
    execution_role_arn: pulumi.Input[str]
    """Role every instance group runs as."""
    subnet_ids: Sequence[pulumi.Input[str]]
    """Private subnets of the nodes."""
    security_group_ids: Sequence[pulumi.Input[str]]
    """Security groups of the nodes (the cluster group)."""
    source_s3_uri: pulumi.Input[str]
    """Where the lifecycle scripts are."""
    tags: dict[str, str]
    """Cluster tags."""
    eks_cluster_arn: Optional[pulumi.Input[str]] = None
    """EKS orchestrator: the EKS cluster the nodes join; pass a value that resolves once the control plane,
    its add-ons and the HyperPod Helm chart are in place (the cluster then waits for them)."""


def instance_group(
    g: InstanceGroupSettings, role_arn: pulumi.Input[str], source_s3_uri: pulumi.Input[str], eks: bool = False
) -> sagemaker.ClusterInstanceGroupArgs:
    """One group's API shape from its settings: Slurm node type and partition, or EKS labels and taints."""
    storage = (
        [
            sagemaker.ClusterInstanceStorageConfigArgs(
                ebs_volume_config=sagemaker.ClusterEbsVolumeConfigArgs(volume_size_in_gb=g.ebs_volume_gib)
            )
        ]
        if g.ebs_volume_gib
        else None
    )
    return sagemaker.ClusterInstanceGroupArgs(
        instance_group_name=g.name,
        instance_type=g.instance_type,
        instance_count=g.count,
        execution_role=role_arn,
        life_cycle_config=sagemaker.ClusterLifeCycleConfigArgs(source_s3_uri=source_s3_uri, on_create=EKS_ENTRYPOINT)
        if eks
        else sagemaker.ClusterLifeCycleConfigArgs(source_s3_uri=source_s3_uri, on_init_complete=ENTRYPOINT),
        slurm_config=None
        if eks
        else sagemaker.ClusterSlurmConfigArgs(
            node_type=NODE_TYPES[g.role], partition_names=[g.partition] if g.partition else None
        ),
        kubernetes_config=sagemaker.ClusterKubernetesConfigArgs(
            labels=dict(g.labels) or None,
            taints=[sagemaker.ClusterKubernetesTaintArgs(key=t.key, value=t.value, effect=t.effect) for t in g.taints]
            or None,
        )
        if eks and (g.labels or g.taints)
        else None,
        threads_per_core=g.threads_per_core,
        instance_storage_configs=storage,
        on_start_deep_health_checks=list(g.deep_health_checks) or None,
    )


class HyperPodCluster(pulumi.ComponentResource):
    """A HyperPod cluster: Slurm-orchestrated in extended lifecycle mode (OnInitComplete), or EKS-orchestrated
    (OnCreate), with automatic node recovery and deep health checks as configured."""

    cluster: sagemaker.Cluster
    """The aws-native cluster resource."""
    arn: pulumi.Output[str]
    """Cluster ARN."""

    def __init__(self, name: str, args: HyperPodClusterArgs, opts: pulumi.ResourceOptions | None = None):
        args, check = take("HyperPodCluster", HyperPodClusterArgs, args)
        _check_args(args, check)
        check.raise_if_any()
        super().__init__(component_type("HyperPodCluster"), name, None, renamed(opts, "HyperPodCluster"))
        s = args.settings
        eks = s.orchestrator == "eks"
        orchestrator = (
            sagemaker.ClusterOrchestratorArgs(
                eks=sagemaker.ClusterOrchestratorEksConfigArgs(cluster_arn=args.eks_cluster_arn)
            )
            if eks
            else sagemaker.ClusterOrchestratorArgs(
                slurm=sagemaker.ClusterOrchestratorSlurmConfigArgs(slurm_config_strategy=s.slurm_config_strategy)
            )
        )
        self.cluster = sagemaker.Cluster(
            f"{name}-cluster",
            cluster_name=s.name,
            orchestrator=orchestrator,
            instance_groups=[
                instance_group(g, args.execution_role_arn, args.source_s3_uri, eks) for g in s.instance_groups
            ],
            node_recovery=s.node_recovery,
            vpc_config=sagemaker.ClusterVpcConfigArgs(
                subnets=list(args.subnet_ids), security_group_ids=list(args.security_group_ids)
            ),
            tags=[aws_native.TagArgs(key=k, value=v) for k, v in sorted(args.tags.items())],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.arn = self.cluster.cluster_arn
        self.register_outputs({"arn": self.arn, "name": s.name})


def _check_args(args: HyperPodClusterArgs, check: ArgCheck) -> None:
    """A cluster HyperPod accepts: its name; 1 to 100 instance groups with names of their own, each checked by
    :func:`_check_group`; with Slurm exactly one controller group, at most one login group and a compute group;
    a subnet and a security group for the nodes; the role and scripts it names; tags AWS accepts."""
    s = args.settings
    check.check("settings.orchestrator", s.orchestrator, checks.one_of(*ORCHESTRATORS))
    slurm = s.orchestrator == "slurm"  # EKS clusters have no Slurm roles or partitions
    if s.orchestrator == "eks" and args.eks_cluster_arn is None:
        check.fail(
            "eks_cluster_arn",
            None,
            "an EKS-orchestrated cluster needs the EKS cluster its nodes join",
            "pass EksControlPlane.cluster_arn (it resolves once the control plane is ready)",
        )
    elif slurm and args.eks_cluster_arn is not None:
        check.fail(
            "eks_cluster_arn",
            args.eks_cluster_arn if isinstance(args.eks_cluster_arn, str) else "<output>",
            "a Slurm-orchestrated cluster joins no EKS cluster",
            "remove eks_cluster_arn, or set settings.orchestrator to 'eks'",
        )
    check.check("settings.name", s.name, checks.cluster_name)
    check.check("settings.node_recovery", s.node_recovery, checks.one_of(*checks.NODE_RECOVERY))
    strategies = checks.one_of(*checks.SLURM_CONFIG_STRATEGIES)
    check.check("settings.slurm_config_strategy", s.slurm_config_strategy, strategies)
    check.check("settings.subnet_placement", s.subnet_placement, checks.one_of(*checks.SUBNET_PLACEMENTS))
    groups = list(s.instance_groups)
    if not 1 <= len(groups) <= 100:
        why = "a cluster has 1 to 100 instance groups"
        check.fail("settings.instance_groups", len(groups), why, "give between 1 and 100 groups")
    seen: dict[str, int] = {}
    for i, g in enumerate(groups):
        path = f"settings.instance_groups[{i}]"
        if g.name in seen:
            why = f"repeats settings.instance_groups[{seen[g.name]}].name"
            check.fail(f"{path}.name", g.name, why, "give each group its own name")
        else:
            seen[g.name] = i
            check.check(f"{path}.name", g.name, checks.aws_name("instance group names"))
        _check_group(g, path, slurm, check)
    if slurm and groups and all(g.role in ROLES for g in groups):
        _check_roles(groups, check)
    check.at_least("subnet_ids", args.subnet_ids, 1, "the nodes need a subnet", "give the nodes' private subnet(s)")
    why = "the nodes need a security group"
    check.at_least("security_group_ids", args.security_group_ids, 1, why, "give the cluster security group")
    role = checks.arn_of("iam", "role/", "an IAM role", "arn:aws:iam::123456789012:role/hp-exec")
    check.check("execution_role_arn", args.execution_role_arn, role)
    check.check("source_s3_uri", args.source_s3_uri, checks.s3_uri)
    check.tags(args.tags, own=())


def _check_group(g: InstanceGroupSettings, path: str, slurm: bool, check: ArgCheck) -> None:
    """One instance group: role, instance type, count, partition (Slurm: compute groups only; one without a
    partition is in Slurm's default), threads per core, EBS volume, deep health checks."""
    check.check(f"{path}.role", g.role, checks.one_of(*ROLES))
    check.check(f"{path}.instance_type", g.instance_type, checks.hyperpod_type_shape)
    check.check(f"{path}.count", g.count, checks.between(0, checks.MAX_GROUP_INSTANCES))
    if slurm and g.role in ("controller", "login") and g.count == 0:
        check.fail(f"{path}.count", g.count, f"a {g.role} group needs at least one instance", "set count to 1 or more")
    if slurm and g.partition and g.role in ROLES and g.role != "compute":  # without one: Slurm's default
        why = f"only compute groups have a partition (this is a {g.role} group)"
        check.fail(f"{path}.partition", g.partition, why, f"remove {path}.partition")
    else:
        check.check(f"{path}.partition", g.partition, checks.aws_name("partition names"))
    check.check(f"{path}.threads_per_core", g.threads_per_core, checks.one_of(1, 2))
    if g.threads_per_core == 2 and checks.NO_SMT_FAMILY_RE.match(checks.instance_family(g.instance_type)):
        why = (
            f"{g.instance_type} has one thread per core (no simultaneous multithreading on Graviton, Grace and "
            "7th-generation-or-later AMD processors)"
        )
        check.fail(f"{path}.threads_per_core", 2, why, "leave it unset, or set it to 1")
    check.check(f"{path}.ebs_volume_gib", g.ebs_volume_gib, checks.between(1, 16384))
    health = list(g.deep_health_checks)
    check.each(f"{path}.deep_health_checks", health, checks.one_of(*checks.DEEP_HEALTH_CHECKS), same=str)
    if health and g.role in ROLES and g.role != "compute":
        why = f"deep health checks run on compute groups, not on a {g.role} group"
        check.fail(f"{path}.deep_health_checks", health, why, f"remove {path}.deep_health_checks")
    elif health and not ACCELERATED_RE.match(g.instance_type):
        why = f"deep health checks apply only to accelerated (GPU/Trainium) instance types, not {g.instance_type}"
        check.fail(f"{path}.deep_health_checks", health, why, "remove them or use a GPU/Trainium type")
    elif "InstanceConnectivity" in health and 0 <= g.count < 2:
        why = (
            "InstanceConnectivity tests the network between instances of the group, which needs at least 2 "
            f"(count is {g.count})"
        )
        check.fail(f"{path}.deep_health_checks", health, why, "keep only InstanceStress, or set count to 2 or more")


def _check_roles(groups: list[InstanceGroupSettings], check: ArgCheck) -> None:
    """Slurm: exactly one controller group, at most one login group, and a compute group."""
    for names, why, fix in checks.slurm_role_problems([(g.name, g.role) for g in groups]):
        check.fail("settings.instance_groups", names, why, fix)
