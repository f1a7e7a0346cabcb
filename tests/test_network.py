"""Network component under mocks: private subnets in distinct AZs, routes, NAT, endpoint, security group."""

from __future__ import annotations

import json

import pytest

from tests.conftest import P
from tools import harness


def _by_id(result):
    return {r.outputs.get("id"): r for r in result.registrations if r.custom and r.outputs.get("id")}


def _route_table_of(result, subnet):
    ids = _by_id(result)
    assoc = [
        r
        for r in result.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation")
        if r.inputs["subnetId"] == subnet.outputs["id"]
    ]
    assert len(assoc) == 1, f"{subnet.name} has {len(assoc)} route table associations"
    return ids[assoc[0].inputs["routeTableId"]]


def _routes(result, table):
    return [r for r in result.of_type("aws:ec2/route:Route") if r.inputs["routeTableId"] == table.outputs["id"]]


def test_private_subnets_are_private_and_in_distinct_azs(dev_run):
    """Private subnets: no public IPs, default route through a NAT gateway, never an internet gateway."""
    private = [s for s in dev_run.of_type("aws:ec2/subnet:Subnet") if s.inputs["tags"]["Tier"] == "private"]
    assert len(private) == 2
    assert len({s.inputs["availabilityZone"] for s in private}) == 2
    for subnet in private:
        assert subnet.inputs.get("mapPublicIpOnLaunch") is False
        routes = _routes(dev_run, _route_table_of(dev_run, subnet))
        assert [r.inputs.get("natGatewayId") is not None for r in routes] == [True]
        assert not any(r.inputs.get("gatewayId") for r in routes)


def test_public_subnets_route_to_the_internet_gateway(dev_run):
    """Public subnets (NAT only) route 0.0.0.0/0 to the internet gateway."""
    igw = dev_run.one("aws:ec2/internetGateway:InternetGateway")
    public = [s for s in dev_run.of_type("aws:ec2/subnet:Subnet") if s.inputs["tags"]["Tier"] == "public"]
    assert len(public) == 2
    for subnet in public:
        routes = _routes(dev_run, _route_table_of(dev_run, subnet))
        assert [(r.inputs["destinationCidrBlock"], r.inputs["gatewayId"]) for r in routes] == [
            ("0.0.0.0/0", igw.outputs["id"])
        ]


def test_nat_gateway_count_follows_config(dev_config, run_stack):
    """`single` makes one NAT gateway; `perAz` one per AZ, each private subnet using its own."""
    assert len(run_stack(dev_config).of_type("aws:ec2/natGateway:NatGateway")) == 1
    dev_config[P + "network"]["natGateways"] = "perAz"
    result = run_stack(dev_config)
    nats = result.of_type("aws:ec2/natGateway:NatGateway")
    assert len(nats) == 2
    used = {r.inputs["natGatewayId"] for r in result.of_type("aws:ec2/route:Route") if r.inputs.get("natGatewayId")}
    assert used == {n.outputs["id"] for n in nats}


def test_cluster_security_group_rules(dev_run):
    """All traffic from and to itself (EFA), Lustre 988 and 1018-1023 from itself, egress; nothing else."""
    sg = dev_run.named("hp-dev-cluster-sg")
    sg_id = sg.outputs["id"]
    nlb_sg_id = dev_run.named("hp-dev-nlb-sg").outputs["id"]
    ingress = [
        r
        for r in dev_run.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r.inputs["securityGroupId"] == sg_id
    ]
    egress = [
        r
        for r in dev_run.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
        if r.inputs["securityGroupId"] == sg_id
    ]
    assert not sg.inputs.get("ingress") and not sg.inputs.get("egress")
    got_in = {
        (
            r.inputs["ipProtocol"],
            r.inputs.get("fromPort"),
            r.inputs.get("toPort"),
            r.inputs.get("referencedSecurityGroupId"),
            r.inputs.get("cidrIpv4"),
        )
        for r in ingress
    }
    assert got_in == {
        ("-1", None, None, sg_id, None),
        ("tcp", 988, 988, sg_id, None),
        ("tcp", 1018, 1023, sg_id, None),
        ("tcp", 22, 22, nlb_sg_id, None),  # SSH only from the login NLB ...
        ("tcp", 22, 22, dev_run.named("hp-dev-bastion-sg").outputs["id"], None),
    }  # ... and bastion
    got_out = {
        (r.inputs["ipProtocol"], r.inputs.get("referencedSecurityGroupId"), r.inputs.get("cidrIpv4")) for r in egress
    }
    assert got_out == {("-1", sg_id, None), ("-1", None, "0.0.0.0/0")}


def test_s3_gateway_endpoint_on_private_route_tables(dev_run):
    """The S3 endpoint serves every private route table and admits only this account's principals."""
    ep = dev_run.one("aws:ec2/vpcEndpoint:VpcEndpoint")
    assert ep.inputs["vpcEndpointType"] == "Gateway" and ep.inputs["serviceName"] == "com.amazonaws.us-east-1.s3"
    private = [s for s in dev_run.of_type("aws:ec2/subnet:Subnet") if s.inputs["tags"]["Tier"] == "private"]
    assert sorted(ep.inputs["routeTableIds"]) == sorted(_route_table_of(dev_run, s).outputs["id"] for s in private)
    stmt = json.loads(ep.inputs["policy"])["Statement"][0]
    assert stmt["Condition"] == {"StringEquals": {"aws:PrincipalAccount": "123456789012"}}


def test_flow_logs_optional(dev_config, run_stack, dev_run):
    """Flow logs go to a CloudWatch group through a role only VPC flow logs can assume; off means none."""
    flow = dev_run.one("aws:ec2/flowLog:FlowLog")
    assert flow.inputs["trafficType"] == "ALL"
    role = next(r for r in dev_run.of_type("aws:iam/role:Role") if r.name.endswith("flow-logs"))
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Principal"] == {
        "Service": "vpc-flow-logs.amazonaws.com"
    }
    dev_config[P + "network"]["flowLogs"] = False
    assert run_stack(dev_config).of_type("aws:ec2/flowLog:FlowLog") == []


def test_existing_vpc_is_read_not_created(dev_config, run_stack):
    """Existing mode reads the VPC and subnets with .get() (so they are in the graph) and creates none."""
    dev_config[P + "network"] = {
        "mode": "existing",
        "vpcId": "vpc-0123456789abcdef0",
        "privateSubnetIds": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
        "routeTableIds": ["rtb-0123456789abcdef0"],
    }
    dev_config.pop(P + "vpn")  # the VPN and the bastion need a VPC this stack creates
    dev_config.pop(P + "access")
    result = run_stack(dev_config)
    assert result.error is None, result.error
    reads = {(r.type, r.id) for r in result.registrations if r.read}
    assert reads == {
        ("aws:ec2/vpc:Vpc", "vpc-0123456789abcdef0"),
        ("aws:ec2/subnet:Subnet", "subnet-0123456789abcdef0"),
        ("aws:ec2/subnet:Subnet", "subnet-0123456789abcdef1"),
        # their effective route tables (see the tests below)
        ("aws:ec2/routeTable:RouteTable", "rtb-0123456789abcdef0"),
        ("aws:ec2/routeTable:RouteTable", "rtb-0fedcba9876543210"),
        ("aws:ec2/routeTableAssociation:RouteTableAssociation", "subnet-0123456789abcdef0/rtb-0123456789abcdef0"),
    }
    assert not [
        r
        for r in result.registrations
        if not r.read and r.type in ("aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ec2/natGateway:NatGateway")
    ]
    assert result.named("hp-dev-cluster-sg").inputs["vpcId"] == "vpc-0123456789abcdef0"
    assert result.one("aws:ec2/vpcEndpoint:VpcEndpoint").inputs["routeTableIds"] == ["rtb-0123456789abcdef0"]
    cluster = result.one("aws-native:sagemaker:Cluster")
    assert cluster.inputs["vpcConfig"]["subnets"] == ["subnet-0123456789abcdef0"]


# ---------------------------------------------------------------- existing VPC: effective route tables, read
EXISTING = {
    "mode": "existing",
    "vpcId": "vpc-0123456789abcdef0",
    "privateSubnetIds": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
}
GET_ROUTE_TABLE = "aws:ec2/getRouteTable:getRouteTable"


@pytest.fixture
def existing_config(dev_config):
    dev_config[P + "network"] = dict(EXISTING)
    dev_config.pop(P + "vpn")
    dev_config.pop(P + "access")
    return dev_config


def _mock_network(monkeypatch, edit=None):
    data = harness.existing_network()
    if edit:
        edit(data["routeTables"])
    monkeypatch.setattr(harness.AwsMocks, "existing_network", data)
    return data


def _reads(result, typ):
    return [r for r in result.registrations if r.read and r.type == typ]


def test_existing_subnet_explicit_association_is_read(existing_config, run_stack):
    """A subnet with its own route table: getRouteTable by subnet finds it; the association is read by its
    import id (subnet/route table) and the table with its routes, so both are read state with real ids."""
    result = run_stack(existing_config, preview=True)
    assert result.error is None, result.error
    (assoc,) = _reads(result, "aws:ec2/routeTableAssociation:RouteTableAssociation")
    assert assoc.name == "hp-dev-private-rta-0" and assoc.id == "subnet-0123456789abcdef0/rtb-0123456789abcdef0"
    assert assoc.outputs["subnetId"] == "subnet-0123456789abcdef0"
    assert assoc.outputs["routeTableId"] == "rtb-0123456789abcdef0" and assoc.outputs["id"].startswith("rtbassoc-")
    table = result.named("hp-dev-rtb-0123456789abcdef0")
    assert table.read and table.outputs["vpcId"] == "vpc-0123456789abcdef0"
    assert [(r["cidrBlock"], r["natGatewayId"], r["gatewayId"]) for r in table.outputs["routes"]] == [
        ("0.0.0.0/0", "nat-0123456789abcdef0", "")
    ]
    assert (GET_ROUTE_TABLE, {"subnetId": "subnet-0123456789abcdef0"}) in [
        (t, {k: v for k, v in a.items() if v}) for t, a in result.calls
    ]


def test_existing_subnet_without_association_uses_the_main_table(existing_config, run_stack):
    """No explicit association ("no matching" table by subnet): the VPC's main route table, found with the
    filter association.main=true in vpcId, is read; the VPC's read state names the same table."""
    result = run_stack(existing_config)
    assert result.error is None, result.error
    assert [r.outputs["subnetId"] for r in _reads(result, "aws:ec2/routeTableAssociation:RouteTableAssociation")] == [
        "subnet-0123456789abcdef0"
    ]  # none for ...f1
    main = result.named("hp-dev-rtb-0fedcba9876543210")
    assert result.named("hp-dev-vpc").outputs["mainRouteTableId"] == main.id == "rtb-0fedcba9876543210"
    assert [(r["cidrBlock"], r["natGatewayId"]) for r in main.outputs["routes"]] == [
        ("0.0.0.0/0", "nat-0fedcba9876543210")
    ]
    lookups = [a for t, a in result.calls if t == GET_ROUTE_TABLE]
    assert [a.get("subnetId") for a in lookups] == ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1", None]
    assert lookups[2]["vpcId"] == "vpc-0123456789abcdef0"
    assert lookups[2]["filters"] == [{"name": "association.main", "values": ["true"]}]


def test_existing_route_tables_are_looked_up_and_read_once(existing_config, run_stack, monkeypatch):
    """Two subnets on the main table: one main-table lookup and one read; two on one explicit table: one
    read, an association each. The lookups run once per run, however often they are asked for."""
    _mock_network(monkeypatch, lambda t: t["rtb-0123456789abcdef0"].update(subnets=[]))
    result = run_stack(existing_config)
    assert result.error is None, result.error
    assert [r.id for r in _reads(result, "aws:ec2/routeTable:RouteTable")] == ["rtb-0fedcba9876543210"]
    assert _reads(result, "aws:ec2/routeTableAssociation:RouteTableAssociation") == []
    assert len([t for t, _ in result.calls if t == GET_ROUTE_TABLE]) == 3  # two by subnet, one main

    _mock_network(monkeypatch, lambda t: t["rtb-0123456789abcdef0"]["subnets"].append("subnet-0123456789abcdef1"))
    result = run_stack(existing_config)
    assert result.error is None, result.error
    assert [r.id for r in _reads(result, "aws:ec2/routeTable:RouteTable")] == ["rtb-0123456789abcdef0"]
    assert sorted(r.name for r in _reads(result, "aws:ec2/routeTableAssociation:RouteTableAssociation")) == [
        "hp-dev-private-rta-0",
        "hp-dev-private-rta-1",
    ]
    assert len([t for t, _ in result.calls if t == GET_ROUTE_TABLE]) == 2


def test_existing_subnet_igw_route_is_read_state(existing_config, run_stack, monkeypatch):
    """A subnet explicitly associated with a table routed to an internet gateway: the read table's routes
    carry the igw- gateway, which the private-subnets guardrail then reports (tests/test_policies.py)."""
    _mock_network(monkeypatch, lambda t: t["rtb-0b0b0b0b0b0b0b0b0"]["subnets"].append("subnet-0123456789abcdef1"))
    result = run_stack(existing_config)
    assert result.error is None, result.error
    assert result.named("hp-dev-private-rta-1").outputs["routeTableId"] == "rtb-0b0b0b0b0b0b0b0b0"
    routes = result.named("hp-dev-rtb-0b0b0b0b0b0b0b0b0").outputs["routes"]
    assert {(r["cidrBlock"] or r["ipv6CidrBlock"], r["gatewayId"]) for r in routes} == {
        ("0.0.0.0/0", "igw-0123456789abcdef0"),
        ("::/0", "igw-0123456789abcdef0"),
    }


def _route_table_problems(settings):
    from hyperpod_platform.network import route_table_problems

    found = {}
    result = harness.run_program(
        lambda: found.setdefault("problems", route_table_problems(settings)), {"aws:region": "us-east-1"}, preview=True
    )
    assert result.error is None, result.error
    return found["problems"], result.calls


def test_route_table_lookup_failures_are_config_problems(monkeypatch):
    """A main route table that cannot be read is a problem of network.vpcId, reported once; other lookups
    that fail (not "no matching") are problems of the subnet. A subnet with an explicit association needs no
    main table."""
    from stack_config import NetworkSettings

    settings = NetworkSettings(
        mode="existing",
        vpc_id="vpc-0123456789abcdef0",
        private_subnet_ids=("subnet-0123456789abcdef0", "subnet-0123456789abcdef1", "subnet-0123456789abcdef3"),
    )
    problems, calls = _route_table_problems(settings)
    assert problems == [] and len(calls) == 4

    _mock_network(monkeypatch, lambda t: t.pop("rtb-0fedcba9876543210"))
    problems, calls = _route_table_problems(settings)
    assert [(p.path, p.value) for p in problems] == [("network.vpcId", "vpc-0123456789abcdef0")]
    assert "main route table cannot be read (no matching EC2 Route Table found)" in problems[0].why
    assert len(calls) == 4  # the main table is not asked for again

    monkeypatch.setattr(harness.AwsMocks, "existing_network", None)  # the default data again
    original = harness.AwsMocks._get_route_table

    def denied(self, a):
        if a.get("subnetId") == "subnet-0123456789abcdef3":
            return {}, [("", "UnauthorizedOperation: You are not authorized to perform ec2:DescribeRouteTables")]
        return original(self, a)

    monkeypatch.setattr(harness.AwsMocks, "_get_route_table", denied)
    problems, _ = _route_table_problems(settings)
    assert [(p.path, p.value) for p in problems] == [("network.privateSubnetIds[2]", "subnet-0123456789abcdef3")]
    assert "UnauthorizedOperation" in problems[0].why


def test_existing_route_table_lookup_failure_stops_the_program_as_a_config_error(
    existing_config, run_stack, monkeypatch
):
    """The program reports a failed lookup as a ConfigError (scripts/preview: exit 2), before any resource of
    the network is registered."""
    from stack_config import ConfigError

    _mock_network(monkeypatch, lambda t: t.pop("rtb-0fedcba9876543210"))
    result = run_stack(existing_config)
    assert isinstance(result.error, ConfigError), result.error
    assert [(p.path, p.value) for p in result.error.problems] == [("network.vpcId", "vpc-0123456789abcdef0")]
    assert not [
        r for r in result.registrations if r.custom and r.name.startswith("hp-dev-") and r.type.startswith("aws:ec2/")
    ]
