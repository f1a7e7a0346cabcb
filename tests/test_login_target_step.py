"""Login nodes follow node recovery (lifecycle/steps/45-login-target.sh), run for real with a fake ``aws`` CLI
(tests/fake_aws_account.py) that keeps the account's target group and network interfaces in a JSON file. Nodes boot, one is replaced by node recovery (its ENI gone, a new node with a new IP), and the target
group follows without any `pulumi up`."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from hyperpod_platform import login_targets
from tests import fake_aws_account
from tests.test_lifecycle import new_node, platform, snapshot, write_json

CLUSTER = "hp-dev"
VPC = "vpc-0a1b2c3d4e5f60718"
SUBNET = "subnet-0a1b2c3d4e5f60718"
TG = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/hp-dev-login/0123456789abcdef"
A, B, C = "10.1.0.20", "10.1.0.21", "10.1.0.22"
NLB_IP, ENDPOINT_IP = "10.1.0.200", "10.1.0.201"
STEP = "45-login-target"


def node_eni(name: str, ip: str) -> dict:
    return fake_aws_account.eni(
        f"eni-{name}", ip, VPC, SUBNET, f"SageMaker HyperPod cluster {CLUSTER} instance group login node {name}"
    )


AWS_OWN = [  # what AWS keeps in the VPC by itself: never a login target
    fake_aws_account.eni(
        "eni-nlb", NLB_IP, VPC, SUBNET, "ELB net/hp-dev-login/0123456789abcdef", "network_load_balancer"
    ),
    fake_aws_account.eni(
        "eni-vpce", ENDPOINT_IP, VPC, SUBNET, "VPC Endpoint Interface vpce-0123456789abcdef0", "vpc_endpoint"
    ),
]


class Account:
    """The fake account's state file."""

    def __init__(self, path: Path):
        self.path = path
        self.write(
            {
                "target_groups": {TG: []},
                "network_interfaces": list(AWS_OWN),
            }
        )

    def read(self) -> dict:
        return json.loads(self.path.read_text())

    def write(self, state: dict) -> None:
        self.path.write_text(json.dumps(state, indent=2, sort_keys=True))

    def edit(self, change) -> None:
        state = self.read()
        change(state)
        self.write(state)

    def targets(self) -> list[tuple[str, int]]:
        return sorted((t["Id"], t["Port"]) for t in self.read()["target_groups"][TG])

    def add_eni(self, name: str, ip: str) -> None:
        self.edit(lambda s: s["network_interfaces"].append(node_eni(name, ip)))

    def remove_eni(self, ip: str) -> None:
        def drop(s):
            s["network_interfaces"] = [e for e in s["network_interfaces"] if e["PrivateIpAddress"] != ip]

        self.edit(drop)


class LoginNode:
    """A login node: its own root, the bundle with a platform.json that turns self-registration on, and the
    HyperPod resource config listing the login group's instances."""

    def __init__(self, tmp: Path, name: str, ip: str, account: Account, login_ips: list[str]):
        self.n = new_node(tmp / name)
        self.ip, self.account = ip, account
        data = platform()
        data["login"] = {
            "host_keys_secret_id": "arn:aws:secretsmanager:us-east-1:123456789012:secret:k",
            "host_name": "h",
        }
        data["login_targets"] = login_targets.node_settings(TG, VPC).to_dict()
        self.n.set_platform(data)
        write_json(
            self.n.root / "opt/ml/config/resource_config.json",
            {
                "InstanceGroups": [
                    {
                        "Name": "login",
                        "Instances": [{"CustomerIpAddress": i, "InstanceId": f"i-{i}"} for i in login_ips],
                    }
                ]
            },
        )
        fake_aws_account.install(self.n.bin_dir)

    def env(self, **extra: str) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("HP_", "AWS_"))}
        base.update(
            PATH=f"{self.n.bin_dir}{os.pathsep}{os.environ['PATH']}",
            HP_ROOT=str(self.n.root),
            HP_LIFECYCLE_DIR=str(self.n.bundle),
            HP_PLATFORM_JSON=str(self.n.bundle / "generated/platform.json"),
            HP_RESOURCE_CONFIG=str(self.n.root / "opt/ml/config/resource_config.json"),
            HP_NODE_ROLE="login",
            HP_NODE_GROUP="login",
            HP_NODE_IP=f"127.0.0.1 {self.ip}",
            HP_LOG_TAG=STEP,
            STUB_CALLS=str(self.n.calls_log),
            FAKE_AWS_STATE=str(self.account.path),
        )
        base.update(extra)
        return base

    def boot(self, **extra: str) -> subprocess.CompletedProcess:
        """The step as the entry point runs it at boot (after 40-login-host-keys)."""
        return self._run(["bash", str(self.n.bundle / f"steps/{STEP}.sh")], self.env(**extra))

    def timer_run(self) -> subprocess.CompletedProcess:
        """The timer's own command, with its unit's Environment (paths under the test's root)."""
        unit = (self.n.root / "etc/systemd/system/hyperpod-login-target.service").read_text()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HP_", "AWS_"))}
        env.update(PATH=self.env()["PATH"], HP_ROOT=str(self.n.root), STUB_CALLS=str(self.n.calls_log))
        env["FAKE_AWS_STATE"] = str(self.account.path)
        command = None
        for line in unit.splitlines():
            if line.startswith("Environment="):
                key, value = line[len("Environment=") :].split("=", 1)
                env[key] = str(self.n.root) + value if value.startswith("/opt/") else value
            if line.startswith("ExecStart="):
                command = line[len("ExecStart=") :].split()
        assert command is not None and command[0] == "/bin/bash"
        return self._run(["bash", str(self.n.root) + command[1]], env)

    @staticmethod
    def _run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
        return subprocess.run(argv, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)

    def calls(self) -> list[list[str]]:
        return [c for c in self.n.calls() if c[0] == "aws"]

    def writes(self) -> list[str]:
        """The aws calls that change the account."""
        return [c[2] for c in self.calls() if c[1] == "elbv2" and c[2] in ("register-targets", "deregister-targets")]


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stdout
    return result.stdout


@pytest.fixture
def account(tmp_path: Path) -> Account:
    return Account(tmp_path / "account.json")


def test_replaced_login_node_takes_the_place_of_the_one_it_replaces_without_pulumi(tmp_path: Path, account: Account):
    """Boot A and B: both are targets. Node recovery replaces B by C (B's ENI gone, C's new): C's boot
    registers C and deregisters B, and the NLB's and an endpoint's own IPs never become targets. A second
    run on each node changes nothing: no write call, the same account state, the same files."""
    account.add_eni("a", A)
    account.add_eni("b", B)
    node_a = LoginNode(tmp_path, "a", A, account, [A, B])
    node_b = LoginNode(tmp_path, "b", B, account, [A, B])
    assert f"registered {A}:22 in {TG}" in ok(node_a.boot())
    assert f"registered {B}:22 in {TG}" in ok(node_b.boot())
    assert account.targets() == [(A, 22), (B, 22)]

    account.remove_eni(B)  # node recovery: B's instance and its ENI are gone; C comes up with a new IP
    account.add_eni("c", C)
    node_c = LoginNode(tmp_path, "c", C, account, [A, C])
    out = ok(node_c.boot())
    assert f"registered {C}:22 in {TG}" in out
    assert f"deregistered {B}:22 from {TG}: no node's network interface in {VPC} holds it" in out
    assert account.targets() == [(A, 22), (C, 22)]

    for node in (node_a, node_c):
        state, files, writes = account.read(), snapshot(node.n.root), node.writes()
        again = ok(node.boot())
        assert f"{node.ip}:22 already registered in {TG}; no stale target" in again
        assert "wrote " not in again
        assert account.read() == state and snapshot(node.n.root) == files and node.writes() == writes
    assert account.targets() == [(A, 22), (C, 22)]


def test_a_live_node_is_never_deregistered_and_aws_owned_ips_are(tmp_path: Path, account: Account):
    """Targets another login node holds stay; targets that only a load balancer's or an endpoint's ENI holds
    (what the description lookup of an older version registered) are removed."""
    account.add_eni("a", A)
    account.add_eni("b", B)
    account.edit(lambda s: s["target_groups"][TG].extend({"Id": ip, "Port": 22} for ip in (B, NLB_IP, ENDPOINT_IP)))
    node_a = LoginNode(tmp_path, "a", A, account, [A, B])
    out = ok(node_a.boot())
    assert account.targets() == [(A, 22), (B, 22)]
    assert f"deregistered {NLB_IP}:22" in out and f"deregistered {ENDPOINT_IP}:22" in out
    (lookup,) = [c for c in node_a.calls() if c[1:3] == ["ec2", "describe-network-interfaces"]]
    assert f"Name=vpc-id,Values={VPC}" in lookup
    assert f"Name=addresses.private-ip-address,Values={','.join(sorted([B, ENDPOINT_IP, NLB_IP]))}" in lookup


def test_a_refused_call_defers_and_the_timer_registers_once_it_is_allowed(tmp_path: Path, account: Account):
    """Before the inline policy is in place (the cluster does not wait for it), the boot run says it defers,
    exits 0 (the node is not failed), changes no target, and installs the timer; the timer's own command
    registers the node once the call is allowed."""
    account.add_eni("a", A)
    account.edit(lambda s: s.update(fail={"elbv2 describe-target-health": "AccessDenied"}))
    node_a = LoginNode(tmp_path, "a", A, account, [A])
    out = ok(node_a.boot())
    assert f"deferred: cannot list the targets of {TG}: " in out and "AccessDenied" in out
    assert account.targets() == []
    assert ["systemctl", "enable", "--now", "hyperpod-login-target.timer"] in node_a.n.calls()
    unit = (node_a.n.root / "etc/systemd/system/hyperpod-login-target.service").read_text()
    assert f"Environment=HP_LOGIN_TARGET_IP={A}" in unit

    account.edit(lambda s: s.pop("fail"))
    assert f"registered {A}:22 in {TG}" in ok(node_a.timer_run())
    assert account.targets() == [(A, 22)]


@pytest.mark.parametrize("operation", ["elbv2 register-targets", "elbv2 describe-target-health"])
def test_a_refused_call_defers_naming_it_and_changes_nothing(tmp_path: Path, account: Account, operation: str):
    account.add_eni("a", A)
    account.edit(lambda s: s.update(fail={operation: "AccessDenied"}))
    node_a = LoginNode(tmp_path, "a", A, account, [A])
    out = ok(node_a.boot())
    assert "deferred: cannot " in out and "AccessDenied" in out
    assert account.targets() == []


def test_malformed_settings_fail_the_step_naming_them(tmp_path: Path, account: Account):
    node = LoginNode(tmp_path, "a", A, account, [A])
    data = json.loads((node.n.bundle / "generated/platform.json").read_text())
    data["login_targets"]["target_group_arn"] = "nope"
    node.n.set_platform(data)
    result = node.boot()
    assert result.returncode != 0
    assert "platform.json login_targets.target_group_arn 'nope' is not a target group ARN" in result.stdout
    assert node.calls() == []


@pytest.mark.parametrize("case", ["compute-node", "no-self-registration"])
def test_other_nodes_and_stacks_make_no_call(tmp_path: Path, account: Account, case: str):
    """A compute node, or a bundle without ``login_targets`` (a stack from before, or login off), calls nothing."""
    node = LoginNode(tmp_path, "a", A, account, [A])
    env = {}
    if case == "compute-node":
        env["HP_NODE_ROLE"] = "compute"
    else:
        data = json.loads((node.n.bundle / "generated/platform.json").read_text())
        del data["login_targets"]
        node.n.set_platform(data)
    ok(node.boot(**env))
    assert node.calls() == [] and account.targets() == []
