"""Programs for stateful-protection."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from .common import network


def _stateful(protect_directory: bool, protect_fsx: bool) -> None:
    net = network()
    aws.directoryservice.Directory(
        "corp",
        name="corp.example.com",
        type="MicrosoftAD",
        edition="Standard",
        password=pulumi.Output.secret("Not-A-Real-Password-1"),
        vpc_settings={"vpc_id": net.vpc.id, "subnet_ids": [net.private.id, net.private_b.id]},
        opts=pulumi.ResourceOptions(protect=protect_directory),
    )
    aws.fsx.LustreFileSystem(
        "scratch",
        storage_capacity=1200,
        subnet_ids=net.private.id,
        deployment_type="PERSISTENT_2",
        per_unit_storage_throughput=250,
        opts=pulumi.ResourceOptions(protect=protect_fsx),
    )


def protected_directory_and_fsx():
    _stateful(True, True)


def unprotected_directory():
    _stateful(False, True)


def unprotected_fsx():
    _stateful(True, False)


def unprotected_windows_fsx():
    """An FSx for Windows file system without protect."""
    net = network()
    aws.fsx.WindowsFileSystem(
        "home",
        storage_capacity=32,
        subnet_ids=[net.private.id],
        deployment_type="SINGLE_AZ_2",
        throughput_capacity=32,
        active_directory_id="d-0123456789",
    )
