"""The node contract (hyperpod_platform/node_contract.py): typed, versioned platform.json, rendered by the stack
and refused by the lifecycle scripts when its version is unknown or a key is missing."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import subprocess

import pytest

import stack_config
from hyperpod_platform.directory_connection import node_settings, parameter_name
from hyperpod_platform.node_contract import (
    OPTIONAL_KEYS,
    SCHEMA_VERSION,
    ContractError,
    DirectoryNode,
    FsxMount,
    LoginNode,
    LoginTargetsNode,
    NodeContract,
)
from tests.test_lifecycle import (
    DIRECTORY,
    FSX,
    LIFECYCLE,
    LOG_DIR,
    LOGIN_IP,
    Node,
    assert_ok,
    new_node,
    platform,
)
from tools.harness import run_program

FULL = NodeContract(
    cluster_name="hp-dev",
    region="us-east-1",
    groups={"controller": "controller", "login": "login", "gpu": "compute"},
    fsx=FsxMount(dns_name="fs-1.fsx.us-east-1.amazonaws.com", mount_name="abcdefgh", mount_path="/fsx"),
    login=LoginNode(host_keys_secret_id="arn:aws:secretsmanager:us-east-1:1:secret:keys", host_name="login.example"),
    directory=DirectoryNode(**DIRECTORY),
    login_targets=LoginTargetsNode(
        target_group_arn="arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/login/0123", port=22, vpc_id="vpc-1"
    ),
)
OFF = dataclasses.replace(FULL, fsx=None, login=None, directory=None, login_targets=None)


def _lifecycle_reader():
    """lifecycle/lib/platform_json.py, loaded as a module (the nodes run it as a script)."""
    spec = importlib.util.spec_from_file_location("lifecycle_platform_json", LIFECYCLE / "lib" / "platform_json.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- the contract ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("contract", [FULL, OFF], ids=["every-feature", "features-off"])
def test_contract_round_trips(contract: NodeContract):
    """to_json -> json.loads gives every field (a feature that is off is a null key, not a missing one), and
    from_json gives back an equal contract."""
    data = json.loads(contract.to_json())
    assert set(data) == {f.name for f in dataclasses.fields(NodeContract)}
    assert data["schema_version"] == SCHEMA_VERSION == 1
    assert (data["cluster_name"], data["region"], data["groups"]) == ("hp-dev", "us-east-1", dict(contract.groups))
    for name in ("fsx", "login", "directory", "login_targets"):
        section = getattr(contract, name)
        assert name in data
        assert data[name] == (
            None if section is None else {f.name: _plain(getattr(section, f.name)) for f in dataclasses.fields(section)}
        )
    if contract.directory:
        assert data["directory"] == DIRECTORY
    assert NodeContract.from_json(contract.to_json()) == contract


def _plain(value):
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def test_to_json_is_stable():
    """Sorted keys at every level: the same contract built in another order is the same bytes."""
    shuffled = dataclasses.replace(FULL, groups=dict(reversed(list(FULL.groups.items()))))
    assert shuffled.to_json() == FULL.to_json()
    text = FULL.to_json()
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"


@pytest.mark.parametrize(
    "change, message",
    [
        ({"schema_version": 2}, "schema_version 2 is not 1"),
        ({"schema_version": True}, "schema_version True is not 1"),
        ({"fsx": "DROP"}, "platform.json has no fsx"),
        ({"login": {"host_name": "h"}}, "login has no host_keys_secret_id"),
        ({"extra": 1}, "unknown keys extra"),
        ({"login_targets": {"target_group_arn": "a", "vpc_id": "v"}}, "login_targets has no port"),
        ({"login_targets": {"target_group_arn": "a", "port": "22", "vpc_id": "v"}}, "login_targets.port must be"),
    ],
)
def test_from_dict_refuses_what_is_not_this_contract(change: dict, message: str):
    data = {**FULL.to_dict(), **change}
    data = {k: v for k, v in data.items() if v != "DROP"}
    with pytest.raises(ContractError, match=message):
        NodeContract.from_dict(data)


def test_fields_are_typed():
    """A value that is not a resolved string (e.g. an Output that slipped through) is refused when building."""
    with pytest.raises(ContractError, match="fsx.dns_name must be a string"):
        FsxMount(dns_name=None, mount_name="m", mount_path="/fsx")
    with pytest.raises(ContractError, match="directory.sudo_groups must be a list"):
        DirectoryNode(**{**DIRECTORY, "sudo_groups": "ClusterAdmin"})


def test_lifecycle_scripts_understand_the_stack_schema_version():
    """The one version the node scripts accept is the one the stack renders; they require every field but the
    ones added within the version, which both sides take as off when absent."""
    reader = _lifecycle_reader()
    assert reader.SCHEMA_VERSION == SCHEMA_VERSION
    assert set(reader.REQUIRED) | set(reader.OPTIONAL) == {f.name for f in dataclasses.fields(NodeContract)}
    assert set(reader.OPTIONAL) == set(OPTIONAL_KEYS) == {"login_targets"}


def test_a_bundle_from_before_login_targets_has_them_off():
    """platform.json rendered before ``login_targets`` existed: the contract reads it as off, like null."""
    data = FULL.to_dict()
    del data["login_targets"]
    assert NodeContract.from_dict(data) == dataclasses.replace(FULL, login_targets=None)


def test_dev_plan_platform_json_is_the_contract_of_the_dev_settings(dev_config, dev_run):
    """The dev plan's generated/platform.json object holds exactly the contract built from the dev settings and
    the resources it names (FSx, the login host keys secret and host name, the login target group), byte for
    byte."""
    loaded = []
    result = run_program(lambda: loaded.append(stack_config.load()), dev_config, preview=False)
    assert result.error is None, result.error
    (s,) = loaded
    fs = dev_run.one("aws:fsx/lustreFileSystem:LustreFileSystem").outputs
    secret = dev_run.named("hp-dev-host-keys", "aws:secretsmanager/secret:Secret").outputs
    expected = NodeContract(
        cluster_name=s.cluster.name,
        region=s.region,
        groups={g.name: g.role for g in s.cluster.instance_groups},
        fsx=FsxMount(dns_name=fs["dnsName"], mount_name=fs["mountName"], mount_path=s.fsx.mount_path),
        login=LoginNode(host_keys_secret_id=secret["arn"], host_name=dev_run.outputs["loginHost"]),
        directory=node_settings(s.directory, parameter_name(s.cluster.name), f"{s.fsx.mount_path}/home/%u"),
        login_targets=LoginTargetsNode(
            target_group_arn=dev_run.named("hp-dev-login", "aws:lb/targetGroup:TargetGroup").outputs["arn"],
            port=22,
            vpc_id=dev_run.outputs["vpcId"],
        ),
    )
    (obj,) = [
        o
        for o in dev_run.of_type("aws:s3/bucketObjectv2:BucketObjectv2")
        if o.inputs["key"] == "lifecycle/generated/platform.json"
    ]
    content = obj.inputs["content"]
    assert NodeContract.from_json(content) == expected
    assert content == expected.to_json()
    assert json.loads(content)["schema_version"] == 1


# --- the lifecycle scripts read it -------------------------------------------------------------------------


@pytest.fixture
def node(tmp_path) -> Node:
    """A compute node with FSx enabled and stubs (tests/test_lifecycle.py)."""
    return new_node(tmp_path)


def _assert_stopped_before_any_step(node: Node, result: subprocess.CompletedProcess, message: str) -> None:
    assert result.returncode != 0, result.stdout
    assert message in result.stdout
    assert "running steps" not in result.stdout and "[10-logging]" not in result.stdout
    assert node.calls() == []
    assert not (node.root / "etc/logrotate.d/hyperpod-platform").exists()
    assert message in (node.root / LOG_DIR / "lifecycle.log").read_text()


@pytest.mark.parametrize("version", [2, 0, "1", None])
def test_unknown_schema_version_stops_before_any_step(node: Node, version):
    """A bundle rendered for another layout stops the entry point before any step, saying both versions."""
    node.set_platform({**platform(), "schema_version": version})
    result = node.run()
    _assert_stopped_before_any_step(
        node,
        result,
        f"platform.json schema_version {json.dumps(version)} is not supported by these scripts (expected 1)",
    )


@pytest.mark.parametrize("key", ["schema_version", "cluster_name", "region", "groups", "fsx", "login", "directory"])
def test_missing_top_level_key_stops_naming_it(node: Node, key: str):
    """A missing key (not a null one) is a broken bundle: the entry point stops before any step, naming it."""
    node.set_platform({k: v for k, v in platform().items() if k != key})
    result = node.run()
    _assert_stopped_before_any_step(node, result, f"platform.json has no {key}")


def test_null_features_are_skipped_with_their_off_lines(node: Node):
    """fsx, login and directory null on a login node: each step says the feature is off and the run succeeds,
    touching no mount, secret or package."""
    node.set_platform(platform(fsx=None))
    result = node.run(ip=LOGIN_IP)
    assert_ok(result)
    for line in (
        "[20-fsx-mount] no FSx file system in this stack; nothing to mount",
        "[30-home-dirs] no shared file system; homes stay local",
        "[40-login-host-keys] no login group in this stack; host keys stay as they are",
        "[50-directory] no directory in this stack; identity stays local",
    ):
        assert line in result.stdout
    assert "all steps done" in result.stdout
    assert node.calls() == []


@pytest.mark.parametrize(
    "section, value, step, message",
    [
        (
            "fsx",
            {k: v for k, v in FSX.items() if k != "mount_name"},
            "20-fsx-mount",
            "platform.json has no fsx.mount_name",
        ),
        (
            "login",
            {"host_name": "login.example"},
            "40-login-host-keys",
            "platform.json has no login.host_keys_secret_id",
        ),
        ("fsx", "on", "20-fsx-mount", "platform.json fsx is neither an object nor null"),
    ],
)
def test_missing_key_in_a_section_fails_its_step(node: Node, section: str, value, step: str, message: str):
    """A feature's section that lacks a key fails the step reading it, naming the key (not "feature off")."""
    node.set_platform({**platform(fsx=FSX if section == "fsx" else None), section: value})
    result = node.run(ip=LOGIN_IP)
    assert result.returncode != 0, result.stdout
    assert f"FAILED: step {step}" in result.stdout
    assert message in result.stdout
    assert "all steps done" not in result.stdout
    assert node.mounts() == []


def test_a_step_run_alone_refuses_a_missing_key(node: Node):
    """Run on its own (as its timer does), the directory step also tells a missing directory key from a null one."""
    bundle_json = node.bundle / "generated" / "platform.json"
    env = {
        "PATH": f"{node.bin_dir}{os.pathsep}{os.environ['PATH']}",
        "HP_ROOT": str(node.root),
        "HP_LIFECYCLE_DIR": str(node.bundle),
        "HP_PLATFORM_JSON": str(bundle_json),
        "HP_LOG_TAG": "50-directory",
        "STUB_CALLS": str(node.calls_log),
    }

    def run() -> subprocess.CompletedProcess:
        return subprocess.run(
            ["bash", str(node.bundle / "steps" / "50-directory.sh")],
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=60,
            check=False,
        )

    node.set_platform(platform(fsx=None))
    off = run()
    assert_ok(off)
    assert "no directory in this stack; identity stays local" in off.stdout

    node.set_platform({k: v for k, v in platform(fsx=None).items() if k != "directory"})
    missing = run()
    assert missing.returncode != 0, missing.stdout
    assert "ERROR: platform.json has no directory: the lifecycle bundle is broken" in missing.stdout
    assert "identity stays local" not in missing.stdout
    assert node.calls() == []


def test_platform_readers_tell_null_from_missing(tmp_path):
    """common.sh: platform_get gives "" through a null section and dies naming a missing key; platform_enabled
    is false for null and dies (even inside `if`) for a missing section."""
    path = tmp_path / "platform.json"
    path.write_text(json.dumps(platform(fsx=None)))

    def sh(body: str) -> subprocess.CompletedProcess:
        script = f'set -euo pipefail; HP_PLATFORM_JSON="{path}"; source {LIFECYCLE}/lib/common.sh; {body}'
        return subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=False)

    got = sh('v="$(platform_get fsx.mount_path)"; echo "value=[${v}]"')
    assert got.returncode == 0 and got.stdout == "value=[]\n", got
    got = sh("if platform_enabled fsx; then echo ON; else echo OFF; fi")
    assert got.stdout == "OFF\n", got
    got = sh('v="$(platform_get region)"; echo "value=[${v}]"')
    assert got.stdout == "value=[us-east-1]\n", got

    path.write_text(json.dumps({**platform(), "fsx": {"dns_name": "d"}}))
    got = sh('v="$(platform_get fsx.mount_path)"; echo "AFTER ${v}"')
    assert got.returncode != 0 and "AFTER" not in got.stdout
    assert "platform.json has no fsx.mount_path" in got.stderr

    path.write_text(json.dumps({k: v for k, v in platform().items() if k != "login"}))
    got = sh("if platform_enabled login; then echo ON; else echo OFF; fi; echo AFTER")
    assert got.returncode != 0 and got.stdout == "", got
    assert "platform.json has no login" in got.stderr
