"""The stack's FSx for Lustre file system on EKS: a static PersistentVolume (FSx CSI driver) and a claim bound
to it, so jobs on the EKS-orchestrated cluster mount the same data as Slurm nodes do."""

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from ._args import ArgCheck, component_type, take

CSI_DRIVER = "fsx.csi.aws.com"
"""The FSx for Lustre CSI driver (EKS add-on ``aws-fsx-csi-driver``)."""
CLAIM_NAME = "fsx-claim"
"""Name of the claim jobs mount (``examples/jobs/``)."""


@dataclass
class FsxVolumeArgs:
    """Inputs of :class:`FsxVolume`."""

    file_system_id: pulumi.Input[str]
    """The FSx for Lustre file system (``fs-...``)."""
    dns_name: pulumi.Input[str]
    """Its DNS name."""
    mount_name: pulumi.Input[str]
    """Its Lustre mount name."""
    capacity_gib: int
    """Its storage capacity, the volume's size."""
    namespace: pulumi.Input[str]
    """Namespace of the claim (it must exist: pass a value that resolves after whatever creates it)."""
    provider: k8s.Provider
    """The EKS cluster's Kubernetes provider, used explicitly."""


class FsxVolume(pulumi.ComponentResource):
    """A ReadWriteMany PersistentVolume for the file system and the claim ``fsx-claim`` bound to it."""

    volume: k8s.core.v1.PersistentVolume
    """The PersistentVolume (cluster-wide)."""
    claim: k8s.core.v1.PersistentVolumeClaim
    """The claim jobs mount."""

    def __init__(self, name: str, args: FsxVolumeArgs, opts: Optional[pulumi.ResourceOptions] = None):
        args, check = take("FsxVolume", FsxVolumeArgs, args)
        _check_args(args, check)
        check.raise_if_any()
        super().__init__(component_type("FsxVolume"), name, None, opts)
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=args.provider)
        size = f"{args.capacity_gib}Gi"
        pv_name = f"{name}-fsx"
        self.volume = k8s.core.v1.PersistentVolume(
            f"{name}-fsx-pv",
            metadata={"name": pv_name},
            spec={
                "capacity": {"storage": size},
                "volumeMode": "Filesystem",
                "accessModes": ["ReadWriteMany"],
                "persistentVolumeReclaimPolicy": "Retain",  # deleting the claim never touches the data
                "storageClassName": "",  # static: no class, bound by name below
                "mountOptions": ["flock"],
                "csi": {
                    "driver": CSI_DRIVER,
                    "volumeHandle": args.file_system_id,
                    "volumeAttributes": {"dnsname": args.dns_name, "mountname": args.mount_name},
                },
            },
            opts=k8s_opts,
        )
        self.claim = k8s.core.v1.PersistentVolumeClaim(
            f"{name}-fsx-claim",
            metadata={"name": CLAIM_NAME, "namespace": args.namespace},
            spec={
                "accessModes": ["ReadWriteMany"],
                "storageClassName": "",
                "volumeName": self.volume.metadata["name"],
                "resources": {"requests": {"storage": size}},
            },
            opts=k8s_opts,
        )
        self.register_outputs({"claim": CLAIM_NAME})


def _check_args(args: FsxVolumeArgs, check: ArgCheck) -> None:
    if args.capacity_gib < 1200:
        check.fail(
            "capacity_gib",
            args.capacity_gib,
            "is smaller than any FSx for Lustre file system",
            "give the file system's storage capacity in GiB",
        )
