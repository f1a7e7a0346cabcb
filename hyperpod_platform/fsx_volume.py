"""The stack's FSx for Lustre file system on EKS: static PersistentVolumes (FSx CSI driver) and a claim bound to
each, so jobs on the EKS-orchestrated cluster mount the same data as Slurm nodes do.

A PersistentVolumeClaim is namespaced and a statically provisioned PersistentVolume binds exactly one claim:
one file system reaches several namespaces (``kubeflow`` and each team's ``hyperpod-ns-<team>``, where task
governance queues its jobs) through one PV and one claim ``fsx-claim`` per namespace, all with the file
system's id as ``volumeHandle``."""

import re
from dataclasses import dataclass, field
from typing import Mapping, Optional

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
    """Namespace of the first claim (it must exist: pass a value that resolves after whatever creates it)."""
    provider: k8s.Provider
    """The EKS cluster's Kubernetes provider, used explicitly."""
    team_namespaces: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Team name -> its namespace ``hyperpod-ns-<team>``, as a value that resolves once the namespace exists
    (after the team's ComputeQuota): one more PV and claim each."""


class FsxVolume(pulumi.ComponentResource):
    """ReadWriteMany PersistentVolumes for the file system, each bound to a claim ``fsx-claim`` of one namespace."""

    volume: k8s.core.v1.PersistentVolume
    """The PersistentVolume of the first claim (cluster-wide)."""
    claim: k8s.core.v1.PersistentVolumeClaim
    """The claim jobs in ``namespace`` mount."""
    team_claims: dict[str, k8s.core.v1.PersistentVolumeClaim]
    """Team -> the claim its jobs mount in its namespace."""

    def __init__(self, name: str, args: FsxVolumeArgs, opts: Optional[pulumi.ResourceOptions] = None):
        args, check = take("FsxVolume", FsxVolumeArgs, args)
        _check_args(args, check)
        check.raise_if_any()
        super().__init__(component_type("FsxVolume"), name, None, opts)
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=args.provider)
        self.volume, self.claim = self._bound(f"{name}-fsx", args.namespace, args, k8s_opts)
        self.team_claims = {}
        for team, namespace in args.team_namespaces.items():
            _, self.team_claims[team] = self._bound(f"{name}-fsx-{team}", namespace, args, k8s_opts)
        self.register_outputs({"claim": CLAIM_NAME, "teams": sorted(self.team_claims)})

    def _bound(
        self,
        child: str,
        namespace: pulumi.Input[str],
        args: FsxVolumeArgs,
        k8s_opts: pulumi.ResourceOptions,
    ) -> tuple[k8s.core.v1.PersistentVolume, k8s.core.v1.PersistentVolumeClaim]:
        """One static PV ``child`` for the file system and the claim in ``namespace`` bound to it by name."""
        size = f"{args.capacity_gib}Gi"
        volume = k8s.core.v1.PersistentVolume(
            f"{child}-pv",
            metadata={"name": child},
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
        claim = k8s.core.v1.PersistentVolumeClaim(
            f"{child}-claim",
            metadata={"name": CLAIM_NAME, "namespace": namespace},
            spec={
                "accessModes": ["ReadWriteMany"],
                "storageClassName": "",
                "volumeName": volume.metadata["name"],
                "resources": {"requests": {"storage": size}},
            },
            opts=k8s_opts,
        )
        return volume, claim


TEAM_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def _check_args(args: FsxVolumeArgs, check: ArgCheck) -> None:
    """A Lustre size, and team names that make valid PV names; a known team namespace is the team's own."""
    for team, namespace in args.team_namespaces.items():
        if not TEAM_RE.match(team):
            check.fail(
                f"team_namespaces.{team}",
                namespace,
                "is not keyed by a team name (lowercase letters, digits and hyphens): it names the team's volume",
                "key each namespace by its team's name",
            )
        elif isinstance(namespace, str) and namespace != f"hyperpod-ns-{team}":
            check.fail(
                f"team_namespaces.{team}",
                namespace,
                f"is not team {team}'s namespace (task governance queues only jobs in hyperpod-ns-{team})",
                f"give hyperpod-ns-{team}, resolving after the team's ComputeQuota",
            )
    if args.capacity_gib < 1200:
        check.fail(
            "capacity_gib",
            args.capacity_gib,
            "is smaller than any FSx for Lustre file system",
            "give the file system's storage capacity in GiB",
        )
