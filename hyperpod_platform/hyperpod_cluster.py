"""HyperPod cluster with the Slurm orchestrator, through aws-native ``sagemaker.Cluster``."""

from dataclasses import dataclass
from typing import Sequence

import pulumi
import pulumi_aws_native as aws_native
from pulumi_aws_native import sagemaker

from ._args import component_type, renamed, take
from .settings import ClusterSettings, InstanceGroupSettings

ENTRYPOINT = "on_init_complete.sh"
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


def instance_group(
    g: InstanceGroupSettings, role_arn: pulumi.Input[str], source_s3_uri: pulumi.Input[str]
) -> sagemaker.ClusterInstanceGroupArgs:
    """One group's API shape from its settings."""
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
        life_cycle_config=sagemaker.ClusterLifeCycleConfigArgs(
            source_s3_uri=source_s3_uri, on_init_complete=ENTRYPOINT
        ),
        slurm_config=sagemaker.ClusterSlurmConfigArgs(
            node_type=NODE_TYPES[g.role], partition_names=[g.partition] if g.partition else None
        ),
        threads_per_core=g.threads_per_core,
        instance_storage_configs=storage,
        on_start_deep_health_checks=list(g.deep_health_checks) or None,
    )


class HyperPodCluster(pulumi.ComponentResource):
    """A Slurm-orchestrated HyperPod cluster in extended lifecycle mode (OnInitComplete)."""

    cluster: sagemaker.Cluster
    """The aws-native cluster resource."""
    arn: pulumi.Output[str]
    """Cluster ARN."""

    def __init__(self, name: str, args: HyperPodClusterArgs, opts: pulumi.ResourceOptions | None = None):
        args, check = take("HyperPodCluster", HyperPodClusterArgs, args)
        check.raise_if_any()
        super().__init__(component_type("HyperPodCluster"), name, None, renamed(opts, "HyperPodCluster"))
        s = args.settings
        self.cluster = sagemaker.Cluster(
            f"{name}-cluster",
            cluster_name=s.name,
            orchestrator=sagemaker.ClusterOrchestratorArgs(
                slurm=sagemaker.ClusterOrchestratorSlurmConfigArgs(slurm_config_strategy=s.slurm_config_strategy)
            ),
            instance_groups=[instance_group(g, args.execution_role_arn, args.source_s3_uri) for g in s.instance_groups],
            node_recovery=s.node_recovery,
            vpc_config=sagemaker.ClusterVpcConfigArgs(
                subnets=list(args.subnet_ids), security_group_ids=list(args.security_group_ids)
            ),
            tags=[aws_native.TagArgs(key=k, value=v) for k, v in sorted(args.tags.items())],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.arn = self.cluster.cluster_arn
        self.register_outputs({"arn": self.arn, "name": s.name})
