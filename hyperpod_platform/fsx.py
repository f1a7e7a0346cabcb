"""Shared storage: FSx for Lustre in the cluster's primary private subnet."""

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from . import checks
from ._args import ArgCheck, component_type, renamed, take
from .settings import FsxSettings


@dataclass
class FsxArgs:
    """Inputs of :class:`Fsx`."""

    settings: FsxSettings
    """Validated FSx settings."""
    subnet_id: pulumi.Input[str]
    """Private subnet of the file system (the cluster's primary subnet)."""
    security_group_id: pulumi.Input[str]
    """The cluster security group (it admits Lustre 988 and 1018-1023 from itself), as a value that resolves
    once those rules exist (``Network.cluster_security_group_id``): FSx checks them at CreateFileSystem and
    fails with InvalidNetworkSettings when they land after it."""
    tags: dict[str, str]
    """Tags for every resource."""


class Fsx(pulumi.ComponentResource):
    """FSx for Lustre PERSISTENT_2 with LZ4 compression, protected from accidental delete by default."""

    file_system: aws.fsx.LustreFileSystem
    """The file system."""
    dns_name: pulumi.Output[str]
    """DNS name nodes mount."""
    mount_name: pulumi.Output[str]
    """Lustre mount name."""

    def __init__(self, name: str, args: FsxArgs, opts: pulumi.ResourceOptions | None = None):
        args, check = take("Fsx", FsxArgs, args)
        _check_args(args, check)
        check.raise_if_any()
        super().__init__(
            component_type("Fsx"), name, None, renamed(opts, "SharedStorage")
        )  # its name until the package was published
        s = args.settings
        self.file_system = aws.fsx.LustreFileSystem(
            f"{name}-lustre",
            deployment_type="PERSISTENT_2",
            storage_type="SSD",
            storage_capacity=s.storage_capacity_gib,
            per_unit_storage_throughput=s.throughput_per_tib,
            data_compression_type="LZ4",
            file_system_type_version="2.15",
            subnet_ids=args.subnet_id,  # a single subnet: FSx for Lustre lives in one AZ
            security_group_ids=[args.security_group_id],
            automatic_backup_retention_days=7,
            copy_tags_to_backups=True,
            skip_final_backup=False,  # a delete that gets past `protect` still leaves a backup
            tags={**args.tags, "Name": f"{name}-lustre"},
            opts=pulumi.ResourceOptions(parent=self, protect=s.protect),
        )
        self.dns_name = self.file_system.dns_name
        self.mount_name = self.file_system.mount_name
        self.register_outputs(
            {"dns_name": self.dns_name, "mount_name": self.mount_name, "file_system_id": self.file_system.id}
        )


def _check_args(args: FsxArgs, check: ArgCheck) -> None:
    """What FSx for Lustre PERSISTENT_2 accepts (capacity, throughput tier), a mount path the nodes can use, and
    tags AWS accepts."""
    s = args.settings
    check.check("settings.storage_capacity_gib", s.storage_capacity_gib, checks.fsx_capacity)
    check.check("settings.throughput_per_tib", s.throughput_per_tib, checks.one_of(*checks.FSX_THROUGHPUTS))
    check.check("settings.mount_path", s.mount_path, checks.mount_path)
    check.tags(args.tags)
