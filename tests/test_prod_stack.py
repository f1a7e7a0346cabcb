"""The shipped prod stack: it passes the offline preview with every guardrail mandatory, and its plan is prod.

Resources are found in the --json plan by type and by the links between them (property dependencies), not
by the names the program gives them.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
P = "hyperpod-platform:"


@pytest.fixture(scope="module")
def prod(tmp_path_factory) -> dict:
    """`scripts/preview --stack prod --policy-config policies/config/prod.json --json PLAN`, run once."""
    plan_file = tmp_path_factory.mktemp("prod") / "plan.json"
    proc = subprocess.run(
        [
            str(ROOT / "scripts" / "preview"),
            "--stack",
            "prod",
            "--policy-config",
            "policies/config/prod.json",
            "--json",
            str(plan_file),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    plan = json.loads(plan_file.read_text()) if plan_file.exists() else {"resources": []}
    return {"proc": proc, "resources": plan["resources"], "by_urn": {r["urn"]: r for r in plan["resources"]}}


@pytest.fixture(scope="module")
def config() -> dict:
    return yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())["config"]


def _of_type(prod: dict, type_: str) -> list[dict]:
    return [r for r in prod["resources"] if r["type"] == type_]


def _one(prod: dict, type_: str) -> dict:
    found = _of_type(prod, type_)
    assert len(found) == 1, f"{len(found)} resources of type {type_}"
    return found[0]


def _linked(prod: dict, resource: dict, prop: str, type_: str) -> list[dict]:
    """The resources of `type_` that `resource`'s input `prop` depends on."""
    return [
        prod["by_urn"][u]
        for u in resource["propertyDependencies"].get(prop, [])
        if u in prod["by_urn"] and prod["by_urn"][u]["type"] == type_
    ]


SUBNET = "aws:ec2/subnet:Subnet"


def test_prod_preview_passes_every_guardrail_mandatory(prod):
    """Exit 0: valid config, CloudFormation schemas and no violation under policies/config/prod.json, in the
    preview's plan and with values resolved as at `up`."""
    proc = prod["proc"]
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    assert "Policy check: 0 mandatory, 0 advisory violation(s)." in proc.stdout
    assert "Preview of stack 'prod'" in proc.stdout


def test_config_regions_name_and_tags(config):
    """aws-native creates the cluster in the same region as aws; the name fits the load balancer names; tags."""
    assert config["aws-native:region"] == config["aws:region"]
    assert len(config[P + "clusterName"]) <= 18
    tags = config[P + "tags"]
    assert tags["Environment"] == "prod" and tags["Owner"] and tags["CostCenter"]


def test_three_private_subnets_in_three_azs_each_with_its_own_nat(prod, config):
    """Private subnets (the config's private CIDRs) in three distinct AZs, no public IPs; three NAT gateways
    in three AZs, and each private subnet's default route goes to the NAT gateway of its own AZ."""
    network = config[P + "network"]
    subnets = _of_type(prod, SUBNET)
    private = [s for s in subnets if s["inputs"]["cidrBlock"] in network["privateSubnetCidrs"]]
    assert len(private) == 3
    assert {s["inputs"]["availabilityZone"] for s in private} == set(network["availabilityZones"])
    assert len(set(network["availabilityZones"])) == 3
    assert all(s["inputs"]["mapPublicIpOnLaunch"] is False for s in private)

    nats = _of_type(prod, "aws:ec2/natGateway:NatGateway")
    assert len(nats) == 3
    nat_az = {}
    for nat in nats:
        (home,) = _linked(prod, nat, "subnetId", SUBNET)
        nat_az[nat["urn"]] = home["inputs"]["availabilityZone"]
    assert set(nat_az.values()) == set(network["availabilityZones"])

    table_of = {}  # private subnet urn -> route table urn
    for rta in _of_type(prod, "aws:ec2/routeTableAssociation:RouteTableAssociation"):
        for subnet in _linked(prod, rta, "subnetId", SUBNET):
            (table,) = _linked(prod, rta, "routeTableId", "aws:ec2/routeTable:RouteTable")
            table_of[subnet["urn"]] = table["urn"]
    for subnet in private:
        defaults = [
            route
            for route in _of_type(prod, "aws:ec2/route:Route")
            if route["inputs"].get("destinationCidrBlock") == "0.0.0.0/0"
            and table_of[subnet["urn"]] in route["propertyDependencies"].get("routeTableId", [])
        ]
        assert len(defaults) == 1, subnet["name"]
        (nat,) = _linked(prod, defaults[0], "natGatewayId", "aws:ec2/natGateway:NatGateway")
        assert nat_az[nat["urn"]] == subnet["inputs"]["availabilityZone"]


def test_fsx_and_directory_are_protected(prod, config):
    """FSx, the Managed AD (Enterprise) and the directory's admin secret carry `protect` in the plan."""
    fsx = _one(prod, "aws:fsx/lustreFileSystem:LustreFileSystem")
    assert fsx["protect"] is True
    assert fsx["inputs"]["storageCapacity"] == config[P + "fsx"]["storageCapacityGiB"] >= 4800
    assert fsx["inputs"]["perUnitStorageThroughput"] >= 250
    directory = _one(prod, "aws:directoryservice/directory:Directory")
    assert directory["protect"] is True
    assert directory["inputs"]["edition"] == "Enterprise"
    secrets = _of_type(prod, "aws:secretsmanager/secret:Secret")
    admin = [s for s in secrets if s["urn"] in directory_admin_secret_urns(prod, directory)]
    assert admin and all(s["protect"] for s in admin)


def directory_admin_secret_urns(prod: dict, directory: dict) -> set[str]:
    """The secrets whose versions hold the password the directory was created with."""
    passwords = set(directory["propertyDependencies"].get("password", []))
    urns = set()
    for version in _of_type(prod, "aws:secretsmanager/secretVersion:SecretVersion"):
        if passwords & set(version["propertyDependencies"].get("secretString", [])):
            urns.update(version["propertyDependencies"].get("secretId", []))
    return urns


def test_directory_keeps_developers_off_the_controller(config):
    by_role = config[P + "directory"]["allowedGroupsByRole"]
    assert by_role["controller"] == ["ClusterAdmin"]
    assert config[P + "directory"]["protect"] is True and config[P + "fsx"]["protect"] is True


def test_gpu_group_runs_both_deep_health_checks_next_to_fsx(prod):
    """The cluster recovers nodes automatically; an accelerated group of 4 runs InstanceStress and
    InstanceConnectivity; the nodes are in FSx's subnet (subnetPlacement: primary); controller and login
    groups are sized for prod."""
    cluster = _one(prod, "aws-native:sagemaker:Cluster")
    inputs = cluster["inputs"]
    assert inputs["nodeRecovery"] == "Automatic"
    groups = {g["slurmConfig"]["nodeType"]: g for g in inputs["instanceGroups"]}
    gpu = next(g for g in inputs["instanceGroups"] if g["instanceType"].startswith("ml.p"))
    assert gpu["slurmConfig"]["nodeType"] == "Compute" and gpu["instanceCount"] >= 4
    assert set(gpu["onStartDeepHealthChecks"]) == {"InstanceStress", "InstanceConnectivity"}
    assert groups["Login"]["instanceCount"] == 2
    assert groups["Controller"]["instanceType"] not in ("ml.m5.large", "ml.m5.xlarge", "ml.m5.2xlarge")

    fsx = _one(prod, "aws:fsx/lustreFileSystem:LustreFileSystem")
    node_subnets = {s["urn"] for s in _linked(prod, cluster, "vpcConfig", SUBNET)}
    fsx_subnets = {s["urn"] for s in _linked(prod, fsx, "subnetIds", SUBNET)}
    assert node_subnets == fsx_subnets and len(node_subnets) == 1


def test_flow_logs_on_with_long_retention(prod):
    """All VPC traffic is logged to a log group kept at least a year."""
    vpc = _one(prod, "aws:ec2/vpc:Vpc")
    (flow,) = _of_type(prod, "aws:ec2/flowLog:FlowLog")
    assert flow["inputs"]["trafficType"] == "ALL"
    assert vpc["urn"] in flow["propertyDependencies"]["vpcId"]
    (group,) = _linked(prod, flow, "logDestination", "aws:cloudwatch/logGroup:LogGroup")
    assert group["inputs"]["retentionInDays"] >= 365


def test_client_vpn_in_every_az_and_no_instance_in_a_public_subnet(prod, config):
    """Prod is reached over Client VPN (associated with the private subnet of every AZ) or SSM: no bastion,
    and no instance (the directory's admin host included) in a public subnet or with a public IP."""
    private_cidrs = config[P + "network"]["privateSubnetCidrs"]
    endpoint = _one(prod, "aws:ec2clientvpn/endpoint:Endpoint")
    associations = _of_type(prod, "aws:ec2clientvpn/networkAssociation:NetworkAssociation")
    assert all(endpoint["urn"] in a["propertyDependencies"]["clientVpnEndpointId"] for a in associations)
    associated = [s for a in associations for s in _linked(prod, a, "subnetId", SUBNET)]
    assert sorted(s["inputs"]["cidrBlock"] for s in associated) == sorted(private_cidrs)
    for instance in _of_type(prod, "aws:ec2/instance:Instance"):
        (subnet,) = _linked(prod, instance, "subnetId", SUBNET)
        assert subnet["inputs"]["cidrBlock"] in private_cidrs, instance["name"]
        assert instance["inputs"].get("associatePublicIpAddress") is not True, instance["name"]
