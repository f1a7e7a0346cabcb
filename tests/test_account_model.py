"""The mocks model the account, not the call (tools/harness.py AccountModel): every lookup answers from one model
of the VPC, built from the existing network, the ids the user's config names and what the program registers,
with what AWS adds by itself (load balancers', endpoints', NAT gateways' and HyperPod nodes' network
interfaces; a created VPC's main route table), in botocore's shapes under pulumi-aws's names."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import botocore.session
import pulumi_aws as aws
import pytest
import yaml

from tests.conftest import ROOT, P
from tools import harness, preview
from tools.harness import config_from_stack_file

ATTACH = "aws:lb/targetGroupAttachment:TargetGroupAttachment"
LB = "aws:lb/loadBalancer:LoadBalancer"
OTHER_VPC, OTHER_SUBNETS, OTHER_RTB = (
    "vpc-0a1b2c3d4e5f6a7b8",
    ["subnet-0f1e2d3c4b5a69788", "subnet-07a6b5c4d3e2f1a00"],
    "rtb-0c0c0c0c0c0c0c0c4",
)


@pytest.fixture
def models(monkeypatch) -> list[harness.AccountModel]:
    """The account model of each run, as its mocks built it."""
    seen: list[harness.AccountModel] = []
    original = harness.AwsMocks.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        seen.append(self.model)

    monkeypatch.setattr(harness.AwsMocks, "__init__", init)
    return seen


def login_attachments(result) -> list:
    """The login NLB's targets (the LDAPS NLB has attachments too)."""
    (component,) = result.of_type("hyperpod-platform:index:LoginTargets")
    return [a for a in result.of_type(ATTACH) if a.parent == component.urn]


def login_group(config) -> dict:
    (group,) = [g for g in config[P + "cluster"]["instanceGroups"] if g["role"] == "login"]
    return group


def by_description(model: harness.AccountModel, prefix: str) -> list[dict]:
    return [e for e in model.enis.values() if e["Description"].startswith(prefix)]


def nodes_of(model: harness.AccountModel, group: str) -> list[dict]:
    return [e for e in model.enis.values() if f" instance group {group} node " in e["Description"]]


def test_dev_stack_targets_are_the_login_nodes_and_not_the_nlbs_own_enis(dev_config, run_stack, models):
    """In the dev stack the login NLB is ``hp-dev-login``, so the ``*login*`` description lookup returns its ENIs
    (one per subnet) beside the login nodes': the targets are exactly the login nodes' IPs."""
    result = run_stack(dev_config)
    assert result.error is None, result.error
    model = models[-1]
    nlb = by_description(model, "ELB net/hp-dev-login/")
    assert len(nlb) == len(result.named("hp-dev-login", LB).inputs["subnets"]) == 2
    (lookup,) = [a for t, a in result.calls if t == "aws:ec2/getNetworkInterfaces:getNetworkInterfaces"]
    found = {e["NetworkInterfaceId"] for e in model.find_enis(lookup["filters"])}
    assert {e["NetworkInterfaceId"] for e in nlb} <= found
    logins = nodes_of(model, login_group(dev_config)["name"])
    assert len(logins) == login_group(dev_config)["count"]
    targets = sorted(a.inputs["targetId"] for a in login_attachments(result))
    assert targets == sorted(e["PrivateIpAddress"] for e in logins)
    assert not set(targets) & {e["PrivateIpAddress"] for e in nlb}


def test_a_login_group_of_three_previews_and_deploys_without_target_ips(dev_config, run_stack, tmp_path: Path):
    """Issue 18: three login nodes used to stop the offline preview (exit 4: the mocks had two ENIs). The model
    gives each node of the cluster's groups its ENI, so the plan has three targets and the preview exits 0."""
    login_group(dev_config)["count"] = 3
    result = run_stack(dev_config)
    assert result.error is None, result.error
    assert len({a.inputs["targetId"] for a in login_attachments(result)}) == 3
    stack = tmp_path / "Pulumi.three.yaml"
    stack.write_text(yaml.safe_dump({"config": dev_config}))
    assert preview.main(["--config-file", str(stack), "--quiet", "--no-policy"]) == 0


def test_what_aws_adds_to_the_vpc_is_in_the_model(dev_config, run_stack, models):
    """One ENI per subnet of every load balancer (the LDAPS NLB too), per subnet of every interface endpoint,
    per NAT gateway, and per node of every instance group, in the node subnets with the cluster's security
    group; the created VPC has its main route table."""
    result = run_stack(dev_config)
    assert result.error is None, result.error
    model = models[-1]
    for lb in result.of_type(LB):
        enis = by_description(model, f"ELB net/{lb.name}/")
        assert sorted(e["SubnetId"] for e in enis) == sorted(lb.inputs["subnets"])
        assert {e["InterfaceType"] for e in enis} == {"network_load_balancer"}
        assert {g["GroupId"] for e in enis for g in e["Groups"]} == set(lb.inputs["securityGroups"])
    for nat in result.of_type("aws:ec2/natGateway:NatGateway"):
        (eni,) = by_description(model, f"Interface for NAT Gateway {nat.id}")
        assert eni["InterfaceType"] == "natGateway" and eni["SubnetId"] == nat.inputs["subnetId"]
    endpoints = [
        e for e in result.of_type("aws:ec2/vpcEndpoint:VpcEndpoint") if e.inputs["vpcEndpointType"] == "Interface"
    ]
    for ep in endpoints:
        assert len(by_description(model, f"VPC Endpoint Interface {ep.id}")) == len(ep.inputs["subnetIds"])
    cluster = result.one("aws-native:sagemaker:Cluster")
    for group in cluster.inputs["instanceGroups"]:
        nodes = nodes_of(model, group["instanceGroupName"])
        assert len(nodes) == group["instanceCount"]
        assert {e["SubnetId"] for e in nodes} <= set(cluster.inputs["vpcConfig"]["subnets"])
        assert all(
            [g["GroupId"] for g in e["Groups"]] == cluster.inputs["vpcConfig"]["securityGroupIds"] for e in nodes
        )
    ips = [e["PrivateIpAddress"] for e in model.enis.values()]
    assert len(ips) == len(set(ips)), "two ENIs with one address"
    vpc = result.one("aws:ec2/vpc:Vpc")
    main = model.network["routeTables"][vpc.outputs["mainRouteTableId"]]
    assert main["main"] is True and main["vpcId"] == vpc.id


def test_enis_have_botocore_fields_and_reads_have_pulumi_aws_fields(dev_config, run_stack, models):
    """Every modelled ENI uses only field names of botocore's ec2 ``NetworkInterface`` output shape, and a read
    answers with exactly the fields of pulumi-aws's ``GetNetworkInterfaceResult``."""
    result = run_stack(dev_config)
    assert result.error is None, result.error
    model = models[-1]
    shape = botocore.session.get_session().get_service_model("ec2").shape_for("NetworkInterface")
    attachment = shape.members["Attachment"]
    for eni in model.enis.values():
        assert set(eni) <= set(shape.members), set(eni) - set(shape.members)
        assert set(eni.get("Attachment", {})) <= set(attachment.members)
        assert eni["InterfaceType"] in shape.members["InterfaceType"].enum
    result_type = aws.ec2.GetNetworkInterfaceResult
    fields = {p.fget._pulumi_name for p in vars(result_type).values() if isinstance(p, property)}
    read = model.eni_for_pulumi(next(iter(model.enis.values())))
    assert set(read) | {"filters"} == fields, set(read) ^ fields


def test_an_existing_vpc_with_the_users_own_ids_previews_without_editing_the_harness(run_stack, tmp_path: Path):
    """tests/configs/existing-vpc.yaml with another VPC, other subnets and another route table: the model takes
    them as they are named (each subnet in that VPC, in an AZ of its own, using the VPC's main route table, which
    routes through a NAT gateway), the
    program runs in preview and with values resolved, and the offline preview with the production guardrails
    exits 0."""
    config = config_from_stack_file(ROOT / "tests/configs/existing-vpc.yaml")
    network = config[P + "network"]
    network.update(vpcId=OTHER_VPC, privateSubnetIds=list(OTHER_SUBNETS), routeTableIds=[OTHER_RTB])
    for is_preview in (True, False):
        result = run_stack(copy.deepcopy(config), preview=is_preview)
        assert result.error is None, result.error
        subnets = [r for r in result.of_type("aws:ec2/subnet:Subnet") if r.read]
        assert sorted(s.id for s in subnets) == sorted(OTHER_SUBNETS)
        assert {s.outputs["vpcId"] for s in subnets} == {OTHER_VPC}
        assert len({s.outputs["availabilityZone"] for s in subnets}) == 2
        (main,) = [r for r in result.of_type("aws:ec2/routeTable:RouteTable") if r.read]  # the subnets' table
        assert main.outputs["vpcId"] == OTHER_VPC and main.outputs["routes"][0]["natGatewayId"].startswith("nat-")
        (s3,) = [
            e for e in result.of_type("aws:ec2/vpcEndpoint:VpcEndpoint") if e.inputs["vpcEndpointType"] == "Gateway"
        ]
        assert s3.inputs["routeTableIds"] == [OTHER_RTB]
    stack = tmp_path / "Pulumi.other.yaml"
    stack.write_text(yaml.safe_dump({"config": config}))
    assert (
        preview.main(
            ["--config-file", str(stack), "--quiet", "--policy-config", str(ROOT / "policies/config/prod.json")]
        )
        == 0
    )


def test_lookups_answer_from_the_model_and_refuse_filters_they_do_not_know():
    """getVpc, getSubnets and getRouteTables read the same model as getNetworkInterfaces; an unknown filter is
    an error, not a silent match."""
    config = {
        "aws:region": "us-east-1",
        P + "network": json.dumps(
            {"mode": "existing", "vpcId": OTHER_VPC, "privateSubnetIds": OTHER_SUBNETS, "routeTableIds": [OTHER_RTB]}
        ),
    }
    mocks = harness.AwsMocks("us-east-1", preview=False, config=config)

    def call(token, **args):
        from pulumi.runtime import mocks as pmocks

        return mocks.call(pmocks.MockCallArgs(token=token, args=args, provider=""))

    assert (
        call("aws:ec2/getVpc:getVpc", id=OTHER_VPC)["mainRouteTableId"]
        == mocks.network["vpcs"][OTHER_VPC]["mainRouteTableId"]
    )
    assert call("aws:ec2/getSubnets:getSubnets", filters=[{"name": "vpc-id", "values": [OTHER_VPC]}])["ids"] == sorted(
        OTHER_SUBNETS
    )
    tables = call("aws:ec2/getRouteTables:getRouteTables", vpcId=OTHER_VPC)["ids"]
    assert OTHER_RTB in tables and mocks.network["vpcs"][OTHER_VPC]["mainRouteTableId"] in tables
    with pytest.raises(Exception, match="unsupported filter 'no-such-filter'"):
        call("aws:ec2/getNetworkInterfaces:getNetworkInterfaces", filters=[{"name": "no-such-filter", "values": ["x"]}])
