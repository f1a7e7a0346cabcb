"""LoginTargets, built under mocks in a VPC the mocks model as AWS keeps it (tools/harness.py AccountModel):
a VPC with two subnets, the login NLB (whose ENIs AWS adds, one per subnet, described ``ELB net/...``), an
interface endpoint (``VPC Endpoint Interface vpce-...``) and a HyperPod cluster whose nodes get one ENI each,
per the cluster's instance groups. One TCP 22 target per login node, its IP looked up once the cluster
exists, or fixed. How the shipped stack wires it is in tests/test_stack_dev.py and
tests/test_login_self_registration.py."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pulumi
import pulumi_aws as aws
import pulumi_aws_native as aws_native
import pytest

from hyperpod_platform import LoginTargets, LoginTargetsArgs, login_targets
from tools import harness
from tools.harness import run_program

CONFIG = {"aws:region": "us-east-1", "aws-native:region": "us-east-1"}
NAME = "t"
LOGIN_GROUP = "entry"
ATTACH = "aws:lb/targetGroupAttachment:TargetGroupAttachment"
LIST_ENIS = "aws:ec2/getNetworkInterfaces:getNetworkInterfaces"
READ_ENI = "aws:ec2/getNetworkInterface:getNetworkInterface"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"


def run_targets(
    *, count: int = 2, target_ips=(), preview: bool = False, groups: dict | None = None, self_register=False
):
    """A VPC, the login NLB and target group, an interface endpoint, a HyperPod cluster with ``groups`` (name ->
    count; the login group has ``count`` nodes), then LoginTargets called NAME."""
    groups = {"controller": 1, LOGIN_GROUP: count, **(groups or {})}

    def program():
        vpc = aws.ec2.Vpc("vpc", cidr_block="10.20.0.0/16")
        subnets = [
            aws.ec2.Subnet(
                f"private-{i}", vpc_id=vpc.id, cidr_block=f"10.20.{64 * i}.0/18", availability_zone=f"us-east-1{az}"
            )
            for i, az in enumerate("ab")
        ]
        cluster_sg = aws.ec2.SecurityGroup("cluster-sg", vpc_id=vpc.id)
        nlb_sg = aws.ec2.SecurityGroup("nlb-sg", vpc_id=vpc.id)
        aws.lb.LoadBalancer(
            f"{NAME}-{LOGIN_GROUP}",  # matches the lookup, as the stack's NLB <cluster>-login does a group called login
            load_balancer_type="network",
            internal=True,
            subnets=[s.id for s in subnets],
            security_groups=[nlb_sg.id],
        )
        target_group = aws.lb.TargetGroup(f"{NAME}-login", port=22, protocol="TCP", target_type="ip", vpc_id=vpc.id)
        aws.ec2.VpcEndpoint(
            "ssm",
            vpc_id=vpc.id,
            service_name="com.amazonaws.us-east-1.ssm",
            vpc_endpoint_type="Interface",
            subnet_ids=[s.id for s in subnets],
            security_group_ids=[cluster_sg.id],
        )
        role = aws.iam.Role("role", assume_role_policy="{}")
        cluster = aws_native.sagemaker.Cluster(
            "cluster",
            cluster_name="hp-t",
            instance_groups=[
                aws_native.sagemaker.ClusterInstanceGroupArgs(
                    instance_group_name=g,
                    instance_count=n,
                    instance_type="ml.m5.xlarge",
                    execution_role=role.arn,
                    life_cycle_config=aws_native.sagemaker.ClusterLifeCycleConfigArgs(
                        source_s3_uri="s3://b/l", on_create="x.sh"
                    ),
                )
                for g, n in groups.items()
            ],
            vpc_config=aws_native.sagemaker.ClusterVpcConfigArgs(
                subnets=[subnets[0].id], security_group_ids=[cluster_sg.id]
            ),
        )
        targets = LoginTargets(
            NAME,
            LoginTargetsArgs(
                target_group_arn=target_group.arn,
                login_group=LOGIN_GROUP,
                count=count,
                vpc_id=vpc.id,
                cluster_arn=cluster.cluster_arn,
                target_ips=list(target_ips),
                security_group_ids=[cluster_sg.id],
                **({"execution_role": role.name} if self_register else {}),
            ),
        )
        pulumi.export("ips", targets.ips)
        pulumi.export("vpc", vpc.id)

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


def read_enis(answers) -> list[dict]:
    return [a for t, a in answers if t == READ_ENI]


def node_ips(answers, group: str) -> list[str]:
    """The IPs of the ENIs the model gave the HyperPod nodes of ``group``."""
    return sorted(a["privateIp"] for a in read_enis(answers) if f" instance group {group} node " in a["description"])


def test_lookup_asks_for_the_login_groups_enis_in_the_vpc_then_reads_each(answers):
    """One lookup of ENIs in the given VPC whose description contains the login group, then one read of each
    ENI it found."""
    result = ok(run_targets())
    lookups = [a for t, a in result.calls if t == LIST_ENIS]
    assert len(lookups) == 1
    assert {f["name"]: f["values"] for f in lookups[0]["filters"]} == {
        "vpc-id": [result.outputs["vpc"]],
        "description": [f"*{LOGIN_GROUP}*"],
    }
    (listed,) = [a for t, a in answers if t == LIST_ENIS]
    assert sorted(a["id"] for t, a in result.calls if t == READ_ENI) == sorted(listed["ids"])


def test_the_lookup_also_finds_the_nlbs_own_enis_and_the_targets_leave_them_out(answers):
    """The login NLB is named after the login group, so the description lookup also returns its ENIs (one per
    subnet, ``ELB net/<name>/...``, as AWS describes them): the targets are the login nodes' IPs only."""
    result = ok(run_targets())
    nlb = [a for a in read_enis(answers) if a["description"].startswith(f"ELB net/{NAME}-{LOGIN_GROUP}/")]
    assert len(nlb) == 2 and {a["interfaceType"] for a in nlb} == {"network_load_balancer"}
    logins = node_ips(answers, LOGIN_GROUP)
    assert len(logins) == 2
    assert result.outputs["ips"] == logins
    assert [a["targetId"] for a in attachments(result).values()] == logins
    assert not {a["privateIp"] for a in nlb} & set(result.outputs["ips"])


def test_a_group_whose_name_only_starts_with_the_login_group_is_not_the_login_group(answers):
    """``entry-gpu`` (and ``gpu-entry``) contain ``entry`` but are other groups: their nodes' ENIs are found by
    the description lookup and are not login targets."""
    result = ok(run_targets(groups={f"{LOGIN_GROUP}-gpu": 2, f"gpu-{LOGIN_GROUP}": 1}))
    assert len(node_ips(answers, f"{LOGIN_GROUP}-gpu")) == 2
    assert result.outputs["ips"] == node_ips(answers, LOGIN_GROUP) and len(result.outputs["ips"]) == 2


def test_targets_follow_the_login_groups_count():
    """A login group of three nodes gets three ENIs from the model, so three targets, and no error."""
    result = ok(run_targets(count=3))
    assert len(attachments(result)) == 3 and len(set(result.outputs["ips"])) == 3


def test_one_target_per_login_node_on_port_22_with_the_enis_ips_sorted(answers):
    """The login nodes' private IPs, sorted, become the targets of attachments 0..count-1 (a stable pairing,
    whatever order the lookup returns them in), each on port 22 of the given target group."""
    result = ok(run_targets())
    found = node_ips(answers, LOGIN_GROUP)
    got = attachments(result)
    assert list(got) == [f"{NAME}-login-0", f"{NAME}-login-1"]
    assert [a["targetId"] for a in got.values()] == found == result.outputs["ips"]
    target_group = result.named(f"{NAME}-login", TARGET_GROUP).outputs["arn"]
    assert all(a["port"] == 22 and a["targetGroupArn"] == target_group for a in got.values())


def test_pulumi_adds_targets_and_never_removes_one():
    """Every attachment is retain_on_delete: replacing a node's attachment registers the new IP and leaves the
    old one to the nodes, which deregister it only once no ENI holds it."""
    result = ok(run_targets())
    assert result.of_type(ATTACH) and all(a.retain_on_delete for a in result.of_type(ATTACH))


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


def test_fewer_login_enis_than_login_nodes_fails_with_what_to_do(monkeypatch):
    """Three login nodes configured but the cluster has two (it may still be scaling): the update fails naming
    the group, both counts, and the two ways out."""
    original = harness.AccountModel._hyperpod_nodes

    def two_login_nodes(self, arn, inputs):
        groups = [{**g, "instanceCount": min(2, g["instanceCount"])} for g in inputs["instanceGroups"]]
        original(self, arn, {**inputs, "instanceGroups": groups})

    monkeypatch.setattr(harness.AccountModel, "_hyperpod_nodes", two_login_nodes)
    result = run_targets(count=3)
    assert result.error is not None
    message = str(result.error)
    assert f"login group {LOGIN_GROUP!r} has 2 network interface(s) in the VPC, expected 3" in message
    assert "run `pulumi up` again" in message and "login.targetIps" in message


def test_attachments_are_children_named_after_the_component():
    result = ok(run_targets(count=2, self_register=True))
    (component,) = result.of_type("hyperpod-platform:index:LoginTargets")
    assert component.name == NAME
    children = [r for r in result.registrations if r.parent == component.urn]
    assert len(result.of_type(ATTACH)) == 2 and len(children) == 3  # two attachments and the nodes' policy
    assert all(r.name.startswith(f"{NAME}-") for r in children)


def test_the_nodes_may_keep_the_login_target_group_and_nothing_else():
    """With an execution role: an inline policy on that role allows register/deregister on the login target
    group only, and the two reads that have no resource-level permissions."""
    result = ok(run_targets(self_register=True))
    target_group = result.named(f"{NAME}-login", TARGET_GROUP).outputs["arn"]
    policy = result.one("aws:iam/rolePolicy:RolePolicy")
    assert policy.inputs["role"] == result.named("role").outputs["name"]
    statements = {s["Sid"]: s for s in as_json(policy.inputs["policy"])["Statement"]}
    assert statements == {
        "KeepLoginTargets": {
            "Sid": "KeepLoginTargets",
            "Effect": "Allow",
            "Action": ["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"],
            "Resource": target_group,
        },
        "ReadTargetsAndInterfaces": {
            "Sid": "ReadTargetsAndInterfaces",
            "Effect": "Allow",
            "Action": ["elasticloadbalancing:DescribeTargetHealth", "ec2:DescribeNetworkInterfaces"],
            "Resource": "*",
        },
    }


def test_without_an_execution_role_nothing_but_the_attachments():
    result = ok(run_targets())
    assert result.of_type("aws:iam/rolePolicy:RolePolicy") == []


def eni(**fields):
    base = {
        "interface_type": "interface",
        "security_groups": ["sg-1"],
        "description": "",
        "attachments": [],
        "id": "eni-1",
        "private_ip": "10.0.0.1",
    }
    return SimpleNamespace(**{**base, **fields})


@pytest.mark.parametrize(
    "fields, chosen",
    [
        ({"description": "SageMaker HyperPod cluster c instance group login node i-1"}, True),
        ({"description": "SageMaker HyperPod cluster c instance group login-gpu node i-1"}, False),
        ({"description": "ELB net/hp-dev-login/0123456789abcdef", "interface_type": "network_load_balancer"}, False),
        ({"description": "ELB app/login/0123456789abcdef", "security_groups": ["sg-alb"]}, False),
        ({"description": "VPC Endpoint Interface vpce-0login", "interface_type": "vpc_endpoint"}, False),
        ({"description": "Interface for NAT Gateway nat-0 login", "interface_type": "nat_gateway"}, False),
        ({"description": "login", "security_groups": ["sg-vpn"]}, False),
        ({"description": "login", "interface_type": "efa"}, True),
    ],
    ids=["node", "longer-group", "nlb", "alb-own-group", "endpoint", "nat", "other-groups", "efa-node"],
)
def test_only_a_login_nodes_eni_is_a_login_eni(fields, chosen):
    assert login_targets.is_login_node_eni(eni(**fields), "login", ["sg-1"]) is chosen


def test_an_instance_with_several_enis_is_one_target():
    def attached(instance, index):
        return [SimpleNamespace(instance_id=instance, device_index=index)]

    enis = [
        eni(id="eni-a1", private_ip="10.0.0.9", description="login", attachments=attached("i-a", 1)),
        eni(id="eni-a0", private_ip="10.0.0.5", description="login", attachments=attached("i-a", 0)),
        eni(id="eni-b0", private_ip="10.0.0.7", description="login", attachments=attached("i-b", 0)),
    ]
    assert login_targets.login_node_ips(enis, "login", ["sg-1"]) == ["10.0.0.5", "10.0.0.7"]


def as_json(value):
    """A JSON input as the engine recorded it (a string, or already parsed; pulumi-aws marks a parameter's value
    secret)."""
    if isinstance(value, dict) and set(value) == {"<secret>"}:
        value = value["<secret>"]
    return json.loads(value) if isinstance(value, str) else value
