"""An EKS-orchestrated platform: the EKS control plane, the HyperPod Helm chart, FSx as a volume, the nodes'
lifecycle scripts and role, the HyperPod cluster joined to EKS, and the ways in."""

import pulumi

import hyperpod_platform as hp
from hyperpod_platform.hyperpod_chart import CHART_COMMIT, default_chart_dir, platform_values
from hyperpod_platform.lifecycle_bucket import LIFECYCLE_EKS_DIR
from hyperpod_platform.settings import StackSettings

from .common import Base, common_exports, node_exports, nodes, secret_exports
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
            values=platform_values(  # device plugins tolerate the instance groups' taints
                s.region, e.helm_values, [vars(t) for g in s.cluster.instance_groups for t in g.taints]
            ),
            version_label=CHART_COMMIT[:7],
        ),
    )
    volume = None
    if storage:
        volume = hp.FsxVolumeArgs(
            file_system_id=storage.file_system.id,
            dns_name=storage.dns_name,
            mount_name=storage.mount_name,
            capacity_gib=s.fsx.storage_capacity_gib,
            namespace=deps.status.apply(lambda _: e.fsx_namespace),  # created by the chart: after the release
            provider=control.provider,
        )
        if not s.teams:  # with teams, governance() adds a claim in each team namespace (after its quota)
            hp.FsxVolume(name, volume)
    # The cluster waits for the control plane with its add-ons and for the Helm release (HyperPod's
    # prerequisites), both carried by the ARN it takes; nothing else is on its path.
    n = nodes(
        s,
        b,
        hp.LifecycleBucketArgs(
            cluster_name=name, tags=tags, bucket_name=s.lifecycle.bucket_name, source_dir=str(LIFECYCLE_EKS_DIR)
        ),
        {"eks_cluster_arn": control.cluster_arn},
        eks_cluster_arn=pulumi.Output.all(control.cluster_arn, deps.status).apply(lambda v: v[0]),
    )
    # Add-ons whose controllers run on the nodes: after the HyperPod cluster that brings them (readiness).
    node_addons = hp.EksNodeAddons(
        name,
        hp.EksNodeAddonsArgs(
            eks_cluster_name=control.eks_cluster_name,
            hyperpod_cluster_arn=n.cluster.arn,
            tags=tags,
            fsx_csi_driver=storage is not None,
            fsx_csi_driver_version=e.fsx_csi_driver_version,
        ),
    )
    team_exports = (
        governance(s, control.eks_cluster_name, n.cluster.arn, b.vpc, provider=control.provider, volume=volume)
        if s.teams
        else {}
    )
    b.parts.update(control_plane=control, dependencies=deps, node_addons=node_addons)
    return secret_exports(
        {
            **common_exports(s, b),
            **team_exports,
            **node_exports(n),
            "eksClusterName": f"{name}-eks",
            "eksClusterArn": control.cluster_arn,
            # The cluster-wide admins the config declares: the team-access guardrail's default list of admins.
            "eksAdminRoleArns": list(e.admin_role_arns),
            "kubeconfig": control.kubeconfig,  # a secret
        }
    )
