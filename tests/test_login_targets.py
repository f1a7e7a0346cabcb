"""LoginTargets, built on its own under mocks: one TCP 22 target per login node, its IP looked up from the
login group's ENIs once the cluster exists, or fixed. The mocks' ENI lookup finds two login ENIs
(tools/harness.py). How the shipped stack orders the lookup after its cluster is in tests/test_stack_dev.py."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pytest

from hyperpod_platform import LoginTargets, LoginTargetsArgs
from tools import harness
from tools.harness import run_program

CONFIG = {"aws:region": "us-east-1", "aws-native:region": "us-east-1"}
NAME = "t"
LOGIN_GROUP = "entry"
VPC = "vpc-0123456789abcdef0"
TARGET_GROUP_ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/login/0123456789abcdef"
ATTACH = "aws:lb/targetGroupAttachment:TargetGroupAttachment"
LIST_ENIS = "aws:ec2/getNetworkInterfaces:getNetworkInterfaces"
READ_ENI = "aws:ec2/getNetworkInterface:getNetworkInterface"


def run_targets(*, count: int = 2, target_ips=(), preview: bool = False):
    """LoginTargets called NAME, after a stand-in for the cluster (a resource whose ARN it waits for)."""

    def program():
        cluster = aws.cloudwatch.LogGroup("cluster")
        targets = LoginTargets(
            NAME,
            LoginTargetsArgs(
                target_group_arn=TARGET_GROUP_ARN,
                login_group=LOGIN_GROUP,
                count=count,
                vpc_id=VPC,
                cluster_arn=cluster.arn,
                target_ips=list(target_ips),
            ),
        )
        pulumi.export("ips", targets.ips)

    return run_program(program, CONFIG, preview=preview)


def ok(result):
    assert result.error is None, result.error
    return result


def attachments(result) -> dict[str, dict]:
    return {a.name: a.inputs for a in sorted(result.of_type(ATTACH), key=lambda a: a.name)}


@pytest.fixture
def answers(monkeypatch) -> list[tuple[str, dict]]:
    """What the mocks answered each invoke with, in order."""
    seen: list[tuple[str, dict]] = []
    original = harness.AwsMocks.call

    def call(self, args):
        answer = original(self, args)
        seen.append((args.token, answer))
        return answer

    monkeypatch.setattr(harness.AwsMocks, "call", call)
    return seen


def test_lookup_finds_the_login_groups_enis_in_the_vpc(answers):
    """One lookup of ENIs in the given VPC whose description names the login group, then one read of each
    ENI it found."""
    result = ok(run_targets())
    lookups = [a for t, a in result.calls if t == LIST_ENIS]
    assert len(lookups) == 1
    assert {f["name"]: f["values"] for f in lookups[0]["filters"]} == {
        "vpc-id": [VPC],
        "description": [f"*{LOGIN_GROUP}*"],
    }
    (listed,) = [a for t, a in answers if t == LIST_ENIS]
    assert sorted(a["id"] for t, a in result.calls if t == READ_ENI) == sorted(listed["ids"])


def test_one_target_per_login_node_on_port_22_with_the_enis_ips_sorted(answers):
    """The ENIs' private IPs, sorted, become the targets of attachments 0..count-1 (a stable pairing, whatever
    order the lookup returns them in), each on port 22 of the given target group."""
    result = ok(run_targets())
    found = sorted(a["privateIp"] for t, a in answers if t == READ_ENI)
    assert len(found) == 2
    got = attachments(result)
    assert list(got) == [f"{NAME}-login-0", f"{NAME}-login-1"]
    assert [a["targetId"] for a in got.values()] == found == result.outputs["ips"]
    assert all(a["port"] == 22 and a["targetGroupArn"] == TARGET_GROUP_ARN for a in got.values())


def test_targets_are_looked_up_after_the_cluster_exists():
    """The lookup waits for the cluster ARN, so every attachment depends on the cluster (new nodes are found),
    and in a first preview, before the cluster exists, the targets are unknown but planned."""
    result = ok(run_targets())
    cluster = result.named("cluster").urn
    assert all(cluster in a.dependencies for a in result.of_type(ATTACH))
    preview = ok(run_targets(preview=True))
    assert [a["targetId"] for a in attachments(preview).values()] == ["<unknown>", "<unknown>"]
    assert not [t for t, _ in preview.calls if t == LIST_ENIS]


def test_fixed_target_ips_are_used_sorted_and_skip_the_lookup():
    result = ok(run_targets(target_ips=["10.20.64.5", "10.20.0.5"]))
    assert [a["targetId"] for a in attachments(result).values()] == ["10.20.0.5", "10.20.64.5"]
    assert result.outputs["ips"] == ["10.20.0.5", "10.20.64.5"]
    assert not [t for t, _ in result.calls if t.startswith("aws:ec2/getNetworkInterface")]
    preview = ok(run_targets(target_ips=["10.20.64.5", "10.20.0.5"], preview=True))
    assert [a["targetId"] for a in attachments(preview).values()] == ["10.20.0.5", "10.20.64.5"]


def test_replaced_login_node_changes_only_its_own_target():
    """When a login node comes back with a new IP, the same attachment gets the new target (a replacement
    the preview shows), and the other node's target is unchanged."""
    before = {n: a["targetId"] for n, a in attachments(ok(run_targets())).items()}
    kept = before[f"{NAME}-login-0"]
    after = {n: a["targetId"] for n, a in attachments(ok(run_targets(target_ips=[kept, "10.20.7.99"]))).items()}
    assert after == {f"{NAME}-login-0": kept, f"{NAME}-login-1": "10.20.7.99"}
    assert after[f"{NAME}-login-1"] != before[f"{NAME}-login-1"]


def test_fewer_enis_than_login_nodes_fails_with_what_to_do():
    """Three login nodes but two ENIs found (the cluster may still be scaling): the update fails naming the
    group, both counts, and the two ways out."""
    result = run_targets(count=3)
    assert result.error is not None
    message = str(result.error)
    assert f"login group {LOGIN_GROUP!r} has 2 network interface(s) in the VPC, expected 3" in message
    assert "run `pulumi up` again" in message and "login.targetIps" in message


def test_attachments_are_children_named_after_the_component():
    result = ok(run_targets(count=2))
    (component,) = result.of_type("hyperpod-platform:index:LoginTargets")
    assert component.name == NAME
    assert len(result.of_type(ATTACH)) == 2
    assert all(a.parent == component.urn and a.name.startswith(f"{NAME}-") for a in result.of_type(ATTACH))
