"""An EKS-orchestrated platform: the EKS control plane, the HyperPod Helm chart, FSx as a volume, the nodes'
lifecycle scripts and role, the HyperPod cluster joined to EKS, and the ways in."""

import pulumi

import hyperpod_platform as hp
from hyperpod_platform.hyperpod_chart import CHART_COMMIT, default_chart_dir, platform_values
from hyperpod_platform.lifecycle_bucket import LIFECYCLE_EKS_DIR, PREFIX
from hyperpod_platform.settings import StackSettings

from .common import Base, common_exports
from .teams import governance


def platform(s: StackSettings, b: Base) -> dict:
    """Wire the EKS platform onto the shared components; returns the stack's exports."""
    name, tags, e = s.cluster.name, s.tag_dict, s.eks
    network, storage = b.network, b.storage
    control = hp.EksControlPlane(
        name,
        hp.EksControlPlaneArgs(
            settings=e,
            cluster_name=f"{name}-eks",
            vpc_id=b.vpc,
            subnet_ids=b.subnets,
            cluster_security_group=network.cluster_security_group,
            tags=tags,
        ),
    )
    deps = hp.HyperPodDependencies(
        name,
        hp.HyperPodDependenciesArgs(
            chart_path=e.chart_path or str(default_chart_dir()),
            provider=control.provider,
            values=platform_values(s.region, e.helm_values),
            version_label=CHART_COMMIT[:7],
        ),
    )
    if storage:
        hp.FsxVolume(
            name,
            hp.FsxVolumeArgs(
                file_system_id=storage.file_system.id,
                dns_name=storage.dns_name,
                mount_name=storage.mount_name,
                capacity_gib=s.fsx.storage_capacity_gib,
                namespace=deps.status.apply(lambda _: e.fsx_namespace),  # created by the chart: after the release
                provider=control.provider,
            ),
        )
    lifecycle = hp.LifecycleBucket(
        name,
        hp.LifecycleBucketArgs(
            cluster_name=name, tags=tags, bucket_name=s.lifecycle.bucket_name, source_dir=str(LIFECYCLE_EKS_DIR)
        ),
    )
    node_subnets = network.private_subnets if s.cluster.subnet_placement == "all" else network.private_subnets[:1]
    role = hp.ExecutionRole(
        name,
        hp.ExecutionRoleArgs(
            vpc_arn=network.vpc_arn,
            subnet_arns=[n.arn for n in node_subnets],
            bucket_arn=lifecycle.bucket.arn,
            security_group_arns=[network.cluster_security_group.arn],
            lifecycle_prefix=PREFIX,
            tags=tags,
            eks_cluster_arn=control.cluster_arn,
        ),
    )
    # The cluster waits for the control plane with its add-ons and for the Helm release (HyperPod's
    # prerequisites), both carried by the ARN it takes; nothing else is on its path.
    cluster = hp.HyperPodCluster(
        name,
        hp.HyperPodClusterArgs(
            settings=s.cluster,
            execution_role_arn=role.arn,
            subnet_ids=[n.id for n in node_subnets],
            security_group_ids=[b.sg],
            source_s3_uri=lifecycle.source_s3_uri,
            tags=tags,
            eks_cluster_arn=pulumi.Output.all(control.cluster_arn, deps.status).apply(lambda v: v[0]),
        ),
    )
    paths = hp.Access(
        name,
        hp.AccessArgs(
            settings=s.access,
            cluster_name=name,
            cluster_arn=cluster.arn,
            vpc_id=b.vpc,
            cluster_security_group_id=b.sg,
            tags=tags,
            public_subnet_id=network.public_subnets[0].id if network.public_subnets else None,
        ),
    )
    team_exports = governance(s, control.eks_cluster_name, cluster.arn, b.vpc) if s.teams else {}
    b.parts.update(control_plane=control, dependencies=deps, lifecycle=lifecycle, role=role, cluster=cluster)
    return {
        **common_exports(s, b),
        **team_exports,
        "clusterArn": cluster.arn,
        "eksClusterName": f"{name}-eks",
        "eksClusterArn": control.cluster_arn,
        "kubeconfig": control.kubeconfig,  # a secret
        "lifecycleS3Uri": lifecycle.source_s3_uri,
        "executionRoleArn": role.arn,
        "ssmUserPolicyArn": paths.ssm_policy_arn,
        "ssmSshConfig": paths.ssm_ssh_config,
        "bastionSshConfig": paths.bastion_ssh_config,
    }
