"""Fsx, built on its own under mocks: FSx for Lustre settings, placement, backups and delete
protection. How the shipped stack places and configures it is in tests/test_stack_dev.py."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from hyperpod_platform import Fsx, FsxArgs
from hyperpod_platform.settings import FsxSettings
from tools.harness import run_program

CONFIG = {"aws:region": "us-east-1", "aws-native:region": "us-east-1"}
NAME = "t"
TAGS = {"Project": "unit"}
SUBNET = "subnet-0123456789abcdef0"
SECURITY_GROUP = "sg-0123456789abcdef0"
LUSTRE = "aws:fsx/lustreFileSystem:LustreFileSystem"


def run_storage(settings: FsxSettings, *, subnet_id=SUBNET, security_group_id=SECURITY_GROUP, preview=False):
    def program():
        storage = Fsx(
            NAME,
            FsxArgs(settings=settings, subnet_id=subnet_id, security_group_id=security_group_id, tags=TAGS),
        )
        pulumi.export("dns_name", storage.dns_name)
        pulumi.export("mount_name", storage.mount_name)
        pulumi.export("file_system_id", storage.file_system.id)

    result = run_program(program, CONFIG, preview=preview)
    assert result.error is None, result.error
    return result


def test_file_system_is_persistent_2_ssd_with_lz4_and_lustre_2_15():
    fs = run_storage(FsxSettings()).one(LUSTRE).inputs
    assert fs["deploymentType"] == "PERSISTENT_2" and fs["storageType"] == "SSD"
    assert fs["dataCompressionType"] == "LZ4"
    assert fs["fileSystemTypeVersion"] == "2.15"


def test_size_and_throughput_follow_the_settings():
    """The default size and tier, and a larger size step with another throughput tier, reach the file system."""
    fs = run_storage(FsxSettings()).one(LUSTRE).inputs
    assert (fs["storageCapacity"], fs["perUnitStorageThroughput"]) == (1200, 250)
    fs = run_storage(FsxSettings(storage_capacity_gib=4800, throughput_per_tib=1000)).one(LUSTRE).inputs
    assert (fs["storageCapacity"], fs["perUnitStorageThroughput"]) == (4800, 1000)


def test_file_system_sits_in_the_given_subnet_with_the_given_security_group():
    """One subnet (FSx for Lustre lives in one AZ) and the security group, both as given."""
    fs = run_storage(FsxSettings()).one(LUSTRE).inputs
    assert fs["subnetIds"] == SUBNET
    assert fs["securityGroupIds"] == [SECURITY_GROUP]


def test_placement_taken_from_other_resources_outputs():
    """The subnet and security group may be outputs of other resources: the file system waits for them."""

    def program():
        sg = aws.ec2.SecurityGroup("sg", vpc_id="vpc-0123456789abcdef0")
        subnet = aws.ec2.Subnet("subnet", vpc_id="vpc-0123456789abcdef0", cidr_block="10.0.0.0/24")
        Fsx(NAME, FsxArgs(settings=FsxSettings(), subnet_id=subnet.id, security_group_id=sg.id, tags={}))

    result = run_program(program, CONFIG, preview=False)
    assert result.error is None, result.error
    fs = result.one(LUSTRE)
    sg, subnet = result.named("sg"), result.named("subnet")
    assert fs.inputs["subnetIds"] == subnet.outputs["id"] and fs.inputs["securityGroupIds"] == [sg.outputs["id"]]
    assert {sg.urn, subnet.urn} <= set(fs.dependencies)


def test_fsx_is_protected_unless_settings_say_otherwise():
    assert run_storage(FsxSettings()).one(LUSTRE).protect is True
    assert run_storage(FsxSettings(protect=False)).one(LUSTRE).protect is False


def test_a_delete_past_protection_still_leaves_a_backup():
    """Daily automatic backups kept a week, tagged like the file system, and a final backup on delete."""
    fs = run_storage(FsxSettings(protect=False)).one(LUSTRE).inputs
    assert fs["skipFinalBackup"] is False
    assert fs["automaticBackupRetentionDays"] == 7 and fs["copyTagsToBackups"] is True


def test_file_system_is_a_tagged_child_named_after_the_component():
    result = run_storage(FsxSettings())
    (component,) = result.of_type("hyperpod-platform:index:Fsx")
    fs = result.one(LUSTRE)
    assert component.name == NAME and fs.parent == component.urn
    assert fs.name == f"{NAME}-lustre"
    assert fs.inputs["tags"] == {**TAGS, "Name": f"{NAME}-lustre"}


def test_outputs_are_what_nodes_mount():
    """dns_name and mount_name are the file system's, for the nodes' mount; unknown until it exists."""
    result = run_storage(FsxSettings())
    fs = result.one(LUSTRE).outputs
    assert result.outputs == {"dns_name": fs["dnsName"], "mount_name": fs["mountName"], "file_system_id": fs["id"]}
    preview = run_storage(FsxSettings(), preview=True)
    assert preview.outputs["dns_name"] == "<unknown>" and preview.outputs["mount_name"] == "<unknown>"


def test_the_shipped_stacks_file_system_waits_for_every_lustre_port_rule():
    """FSx validates its security groups at CreateFileSystem (aws/aws-parallelcluster#6181): in the dev plan the
    file system's transitive dependencies hold the group's 988 and 1018-1023 rules, not only the group."""
    from tests.conftest import ROOT
    from tools.harness import config_from_stack_file

    result = run_program(ROOT / "__main__.py", config_from_stack_file(ROOT / "Pulumi.dev.yaml"), preview=False)
    assert result.error is None, result.error
    by_urn = {r.urn: r for r in result.registrations}

    def closure(urn: str, seen: set) -> set:
        reg = by_urn[urn]
        for dep in [*reg.dependencies, *(u for us in (reg.property_dependencies or {}).values() for u in us)]:
            if dep in by_urn and dep not in seen:
                seen.add(dep)
                closure(dep, seen)
        return seen

    fs = result.one(LUSTRE)
    lustre_rules = {
        r.urn
        for r in result.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r.inputs.get("ipProtocol") == "tcp"
        and (r.inputs.get("fromPort"), r.inputs.get("toPort")) in ((988, 988), (1018, 1023))
    }
    assert len(lustre_rules) == 2
    assert lustre_rules <= closure(fs.urn, set())
