"""EKS add-ons whose controllers run on HyperPod's nodes, installed once those nodes exist.

An ``aws.eks.Addon`` waits up to 20 minutes for ACTIVE, and an add-on with a controller Deployment (the FSx
CSI driver's ``fsx-csi-controller``, two replicas) cannot become ACTIVE before a schedulable node exists. On
an EKS-orchestrated HyperPod cluster the nodes come from the HyperPod cluster, which itself waits for the
control plane: such an add-on on the control plane's path is a deadlock (the cluster waits for the add-on,
the add-on for the cluster's nodes). So these add-ons take the HyperPod cluster's ARN and wait for it; the
DaemonSet-only add-ons (VPC CNI, Pod Identity agent) stay with the control plane (``EksControlPlane``), since
they become ACTIVE with no node. The facts per add-on are pinned in ``policies/data/readiness.json``, which
the ``behaviour-readiness`` guardrail judges every plan by.
"""

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from . import checks
from ._args import ArgCheck, component_type, take

FSX_CSI_DRIVER = "aws-fsx-csi-driver"
"""The FSx for Lustre CSI driver add-on (static provisioning: its node plugin mounts, no AWS calls)."""


@dataclass
class EksNodeAddonsArgs:
    """Inputs of :class:`EksNodeAddons`."""

    eks_cluster_name: pulumi.Input[str]
    """The EKS cluster the add-ons go on (``EksControlPlane.eks_cluster_name``: it resolves once the control plane
    exists)."""
    hyperpod_cluster_arn: pulumi.Input[str]
    """ARN of the EKS-orchestrated HyperPod cluster whose nodes run the add-ons' controllers
    (``HyperPodCluster.arn``): every add-on waits for it."""
    tags: dict[str, str]
    """Tags for every add-on."""
    fsx_csi_driver: bool = True
    """Install the FSx for Lustre CSI driver (pods mount the stack's file system through it)."""
    fsx_csi_driver_version: Optional[str] = None
    """Version of the FSx CSI driver add-on (vX.Y.Z-eksbuild.N); None: EKS's default for the cluster's
    Kubernetes version."""


class EksNodeAddons(pulumi.ComponentResource):
    """The EKS add-ons with controllers that need nodes, after the HyperPod cluster that brings the nodes."""

    addons: dict[str, aws.eks.Addon]
    """The add-ons by add-on name."""

    def __init__(self, name: str, args: EksNodeAddonsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        args, check = take("EksNodeAddons", EksNodeAddonsArgs, args)
        _check_args(args, check)
        check.raise_if_any()
        super().__init__(component_type("EksNodeAddons"), name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # The cluster's name, carrying the HyperPod cluster: the add-ons are created once its nodes exist.
        cluster_name = pulumi.Output.all(args.eks_cluster_name, args.hyperpod_cluster_arn).apply(lambda v: v[0])
        self.addons = {}
        if args.fsx_csi_driver:
            self.addons[FSX_CSI_DRIVER] = aws.eks.Addon(
                f"{name}-fsx-csi-driver",
                cluster_name=cluster_name,
                addon_name=FSX_CSI_DRIVER,
                addon_version=args.fsx_csi_driver_version,
                resolve_conflicts_on_create="OVERWRITE",
                resolve_conflicts_on_update="OVERWRITE",
                tags=args.tags,
                opts=child,
            )
        self.register_outputs({"addons": sorted(self.addons)})


def _check_args(args: EksNodeAddonsArgs, check: ArgCheck) -> None:
    if args.fsx_csi_driver_version is not None:
        check.check("fsx_csi_driver_version", args.fsx_csi_driver_version, checks.addon_version)
    if isinstance(args.hyperpod_cluster_arn, str):
        check.check("hyperpod_cluster_arn", args.hyperpod_cluster_arn, checks.hyperpod_cluster_arn)
