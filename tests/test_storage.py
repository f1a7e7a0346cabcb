"""SharedStorage under mocks: FSx for Lustre settings, placement and delete protection."""

from __future__ import annotations

from tests.conftest import P


def test_fsx_settings_and_placement(dev_run):
    """PERSISTENT_2, LZ4, size and throughput from config, in the primary private subnet with the cluster SG."""
    fs = dev_run.one("aws:fsx/lustreFileSystem:LustreFileSystem")
    assert fs.inputs["deploymentType"] == "PERSISTENT_2"
    assert fs.inputs["dataCompressionType"] == "LZ4"
    assert fs.inputs["storageCapacity"] == 1200 and fs.inputs["perUnitStorageThroughput"] == 250
    primary = dev_run.named("hp-dev-private-0")
    assert fs.inputs["subnetIds"] == primary.outputs["id"]
    sg = dev_run.named("hp-dev-cluster-sg")
    assert fs.inputs["securityGroupIds"] == [sg.outputs["id"]]
    assert fs.inputs["skipFinalBackup"] is False


def test_fsx_protected_by_default_and_by_config(dev_config, run_stack, dev_run):
    """The file system is protected unless the stack explicitly turns protection off."""
    assert dev_run.one("aws:fsx/lustreFileSystem:LustreFileSystem").protect is True
    dev_config[P + "fsx"]["protect"] = False
    assert run_stack(dev_config).one("aws:fsx/lustreFileSystem:LustreFileSystem").protect is False


def test_fsx_size_and_throughput_from_config(dev_config, run_stack):
    """A larger size step and another throughput tier flow through to the file system."""
    dev_config[P + "fsx"].update(storageCapacityGiB=4800, throughputPerTiB=1000)
    fs = run_stack(dev_config).one("aws:fsx/lustreFileSystem:LustreFileSystem")
    assert (fs.inputs["storageCapacity"], fs.inputs["perUnitStorageThroughput"]) == (4800, 1000)


def test_fsx_disabled(dev_config, run_stack):
    """With FSx off there is no file system and the rendered platform file says so."""
    dev_config[P + "fsx"] = {"enabled": False}
    result = run_stack(dev_config)
    assert result.of_type("aws:fsx/lustreFileSystem:LustreFileSystem") == []
    assert '"fsx": null' in result.named("hp-dev-generated-platform.json").inputs["content"]
