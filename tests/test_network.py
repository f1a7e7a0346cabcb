"""Network, built on its own under mocks: private subnets in distinct AZs, routes, NAT, S3 endpoint, the
cluster security group, flow logs, and an existing VPC read rather than created.

Each test builds the component directly with small settings; how the shipped stack wires it is in
tests/test_stack_dev.py.
"""

from __future__ import annotations

import dataclasses
import json

import pulumi
import pytest

from hyperpod_platform import ConfigError, Network, NetworkArgs
from hyperpod_platform.network import route_table_problems, s3_endpoint_policy
from hyperpod_platform.settings import NetworkSettings
from tools import harness
from tools.harness import ACCOUNT, run_program

CONFIG = {"aws:region": "us-east-1", "aws-native:region": "us-east-1"}
NAME = "t"
TAGS = {"Project": "unit", "Owner": "tests"}
CREATE = NetworkSettings(
    mode="create",
    availability_zones=("us-east-1a", "us-east-1b"),
    vpc_cidr="10.0.0.0/16",
    private_subnet_cidrs=("10.0.0.0/18", "10.0.64.0/18"),
    public_subnet_cidrs=("10.0.192.0/24", "10.0.193.0/24"),
    nat_gateways="single",
    flow_logs=False,
)
EXISTING = NetworkSettings(
    mode="existing",
    vpc_id=harness.EXISTING_VPC,
    private_subnet_ids=("subnet-0123456789abcdef0", "subnet-0123456789abcdef1"),
)
EXPLICIT_TABLE = "rtb-0123456789abcdef0"
"""The mocks' table explicitly associated with subnet-...f0."""
MAIN_TABLE = "rtb-0fedcba9876543210"
"""The mocks' main route table of the existing VPC."""
GET_ROUTE_TABLE = "aws:ec2/getRouteTable:getRouteTable"
SUBNET = "aws:ec2/subnet:Subnet"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
ROUTE = "aws:ec2/route:Route"
NAT = "aws:ec2/natGateway:NatGateway"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"


def run_network(settings: NetworkSettings, *, preview: bool = False, region: str = "us-east-1", before=None):
    """Build one Network called NAME; export what it offers the rest of a program."""

    def program():
        if before is not None:
            before()
        net = Network(NAME, NetworkArgs(settings=settings, tags=TAGS, region=region))
        pulumi.export("vpc_id", net.vpc_id)
        pulumi.export("vpc_arn", net.vpc_arn)
        pulumi.export("vpc_cidr", net.vpc_cidr)
        pulumi.export("private_subnet_ids", [s.id for s in net.private_subnets])
        pulumi.export("public_subnet_ids", [s.id for s in net.public_subnets])
        pulumi.export("existing_route_table_ids", [t.id for t in net.existing_route_tables])
        pulumi.export("cluster_security_group_id", net.cluster_security_group.id)

    result = run_program(program, CONFIG, preview=preview)
    return result


def ok(result):
    assert result.error is None, result.error
    return result


def create(**changes):
    return ok(run_network(dataclasses.replace(CREATE, **changes)))


def tier(result, name: str):
    """The subnets of a tier in AZ order (their names end in the AZ's index), not in the order the SDK's
    concurrent registrations happened to reach the engine."""
    subnets = [s for s in result.of_type(SUBNET) if s.inputs["tags"]["Tier"] == name]
    return sorted(subnets, key=lambda s: int(s.name.rsplit("-", 1)[1]))


def by_id(result):
    return {r.outputs.get("id"): r for r in result.registrations if r.custom and r.outputs.get("id")}


def route_table_of(result, subnet):
    assoc = [r for r in result.of_type(ASSOCIATION) if r.inputs["subnetId"] == subnet.outputs["id"]]
    assert len(assoc) == 1, f"{subnet.name} has {len(assoc)} route table associations"
    return by_id(result)[assoc[0].inputs["routeTableId"]]


def routes(result, table):
    return [r for r in result.of_type(ROUTE) if r.inputs["routeTableId"] == table.outputs["id"]]


def reads(result, typ):
    return [r for r in result.registrations if r.read and r.type == typ]


def mock_network(monkeypatch, edit=None):
    """The existing VPC's route tables as the mocks describe them, after ``edit``."""
    data = harness.existing_network()
    if edit:
        edit(data["routeTables"])
    monkeypatch.setattr(harness.AwsMocks, "existing_network", data)
    return data


# ---------------------------------------------------------------- a VPC the component creates
def test_every_resource_is_a_child_of_the_component():
    result = create(flow_logs=True)
    (component,) = result.of_type("hyperpod-platform:index:Network")
    assert component.name == NAME
    children = [r for r in result.registrations if r is not component]
    assert children and all(r.parent == component.urn for r in children)
    assert all(r.name.startswith(f"{NAME}-") for r in children)


def test_private_subnets_are_private_and_in_distinct_azs():
    """One private subnet per AZ: no public IPs, the default route through a NAT gateway, never an internet
    gateway. They are the component's private_subnets, in AZ order."""
    result = create()
    private = tier(result, "private")
    assert [s.inputs["availabilityZone"] for s in private] == list(CREATE.availability_zones)
    assert [s.inputs["cidrBlock"] for s in private] == list(CREATE.private_subnet_cidrs)
    for subnet in private:
        assert subnet.inputs.get("mapPublicIpOnLaunch") is False
        rts = routes(result, route_table_of(result, subnet))
        assert [r.inputs.get("natGatewayId") is not None for r in rts] == [True]
        assert not any(r.inputs.get("gatewayId") for r in rts)
    primary = result.named(f"{NAME}-private-0", SUBNET)
    assert primary.inputs["availabilityZone"] == CREATE.availability_zones[0]
    assert result.outputs["private_subnet_ids"] == [s.outputs["id"] for s in private]


def test_public_subnets_route_to_the_internet_gateway_and_launch_no_public_ips():
    """Public subnets (NAT only) route 0.0.0.0/0 to the VPC's internet gateway."""
    result = create()
    igw = result.one("aws:ec2/internetGateway:InternetGateway")
    vpc = result.one("aws:ec2/vpc:Vpc")
    assert igw.inputs["vpcId"] == vpc.outputs["id"]
    public = tier(result, "public")
    assert [s.inputs["cidrBlock"] for s in public] == list(CREATE.public_subnet_cidrs)
    assert result.outputs["public_subnet_ids"] == [s.outputs["id"] for s in public]
    for subnet in public:
        assert subnet.inputs.get("mapPublicIpOnLaunch") is False
        rts = routes(result, route_table_of(result, subnet))
        assert [(r.inputs["destinationCidrBlock"], r.inputs["gatewayId"]) for r in rts] == [
            ("0.0.0.0/0", igw.outputs["id"])
        ]


def test_vpc_has_dns_and_the_given_cidr():
    result = create()
    vpc = result.one("aws:ec2/vpc:Vpc")
    assert vpc.inputs["cidrBlock"] == CREATE.vpc_cidr
    assert vpc.inputs["enableDnsHostnames"] is True and vpc.inputs["enableDnsSupport"] is True
    assert result.outputs["vpc_id"] == vpc.outputs["id"] and result.outputs["vpc_arn"] == vpc.outputs["arn"]
    assert result.outputs["vpc_cidr"] == CREATE.vpc_cidr


def test_single_nat_gateway_serves_every_private_subnet():
    """`single`: one NAT gateway, in the first public subnet, created after the internet gateway."""
    result = create(nat_gateways="single")
    (nat,) = result.of_type(NAT)
    assert nat.inputs["subnetId"] == result.named(f"{NAME}-public-0", SUBNET).outputs["id"]
    eip = result.one("aws:ec2/eip:Eip")
    assert eip.inputs["domain"] == "vpc" and nat.inputs["allocationId"] == eip.outputs["allocationId"]
    assert result.one("aws:ec2/internetGateway:InternetGateway").urn in nat.dependencies
    used = {r.inputs["natGatewayId"] for r in result.of_type(ROUTE) if r.inputs.get("natGatewayId")}
    assert used == {nat.outputs["id"]}


def test_per_az_nat_gateways_each_serve_the_private_subnet_of_their_az():
    """`perAz`: one NAT gateway per AZ, in that AZ's public subnet; each private subnet routes through the
    NAT gateway of its own AZ."""
    result = create(nat_gateways="perAz")
    nats = result.of_type(NAT)
    assert len(nats) == len(CREATE.availability_zones) == len(result.of_type("aws:ec2/eip:Eip"))
    nat_by_id = {n.outputs["id"]: n for n in nats}
    subnet_by_id = {s.outputs["id"]: s for s in result.of_type(SUBNET)}
    for private in tier(result, "private"):
        (route,) = routes(result, route_table_of(result, private))
        nat_subnet = subnet_by_id[nat_by_id[route.inputs["natGatewayId"]].inputs["subnetId"]]
        assert nat_subnet.inputs["tags"]["Tier"] == "public"
        assert nat_subnet.inputs["availabilityZone"] == private.inputs["availabilityZone"]
    assert {r.inputs["natGatewayId"] for r in result.of_type(ROUTE) if r.inputs.get("natGatewayId")} == set(nat_by_id)


def test_cluster_security_group_admits_itself_and_lustre_and_sends_anywhere():
    """All traffic from and to itself (EFA), Lustre 988 and 1018-1023 from itself, egress anywhere; nothing
    else, and no inline rules that would fight the separate rule resources."""
    result = create()
    sg = result.named(f"{NAME}-cluster-sg")
    sg_id = sg.outputs["id"]
    assert sg.inputs["vpcId"] == result.one("aws:ec2/vpc:Vpc").outputs["id"]
    assert result.outputs["cluster_security_group_id"] == sg_id
    assert not sg.inputs.get("ingress") and not sg.inputs.get("egress")
    got_in = {
        (
            r.inputs["ipProtocol"],
            r.inputs.get("fromPort"),
            r.inputs.get("toPort"),
            r.inputs.get("referencedSecurityGroupId"),
            r.inputs.get("cidrIpv4"),
        )
        for r in result.of_type(INGRESS)
        if r.inputs["securityGroupId"] == sg_id
    }
    assert got_in == {
        ("-1", None, None, sg_id, None),
        ("tcp", 988, 988, sg_id, None),
        ("tcp", 1018, 1023, sg_id, None),
    }
    got_out = {
        (r.inputs["ipProtocol"], r.inputs.get("referencedSecurityGroupId"), r.inputs.get("cidrIpv4"))
        for r in result.of_type(EGRESS)
        if r.inputs["securityGroupId"] == sg_id
    }
    assert got_out == {("-1", sg_id, None), ("-1", None, "0.0.0.0/0")}
    assert len(result.of_type(INGRESS)) == 3 and len(result.of_type(EGRESS)) == 2  # none elsewhere


def test_s3_gateway_endpoint_serves_private_route_tables_for_own_account_principals():
    """The S3 endpoint, for the region in the args, serves every private route table (no public one) and
    admits principals of the VPC's account for anything of S3."""
    settings = dataclasses.replace(CREATE, availability_zones=("eu-west-1a", "eu-west-1b"))
    result = ok(run_network(settings, region="eu-west-1"))
    ep = result.one("aws:ec2/vpcEndpoint:VpcEndpoint")
    assert ep.inputs["vpcEndpointType"] == "Gateway" and ep.inputs["serviceName"] == "com.amazonaws.eu-west-1.s3"
    assert ep.inputs["vpcId"] == result.one("aws:ec2/vpc:Vpc").outputs["id"]
    private = tier(result, "private")
    assert sorted(ep.inputs["routeTableIds"]) == sorted(route_table_of(result, s).outputs["id"] for s in private)
    own = [s for s in json.loads(ep.inputs["policy"])["Statement"] if "Condition" in s]
    assert [(s["Action"], s["Resource"], s["Condition"]) for s in own] == [
        ("s3:*", "*", {"StringEquals": {"aws:PrincipalAccount": ACCOUNT}})
    ]


def test_s3_gateway_endpoint_lets_any_principal_read_the_regions_ecr_layer_bucket():
    """ECR image layers come from the AWS-owned prod-<region>-starport-layer-bucket through URLs AWS signs (no
    principal of ours): the endpoint allows s3:GetObject on that bucket of the endpoint's region, for any
    principal and with no condition, and nothing more without the account condition (ECR User Guide,
    "Minimum Amazon S3 bucket permissions")."""
    settings = dataclasses.replace(CREATE, availability_zones=("eu-west-1a", "eu-west-1b"))
    ep = ok(run_network(settings, region="eu-west-1")).one("aws:ec2/vpcEndpoint:VpcEndpoint")
    open_ = [s for s in json.loads(ep.inputs["policy"])["Statement"] if "Condition" not in s]
    assert open_ == [
        {
            "Sid": "AwsOwnedBucketsTheNodesRead",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": ["arn:aws:s3:::prod-eu-west-1-starport-layer-bucket/*"],
        }
    ]


def test_aws_owned_bucket_reads_follow_the_partition_and_region():
    """The layer bucket's ARN takes the VPC's partition and the endpoint's region (China: aws-cn)."""
    policy = s3_endpoint_policy(["111122223333", "444455556666"], "aws-cn", "cn-north-1", several=True)
    account, aws_owned = policy["Statement"]
    assert account["Sid"] == "PlatformAccountPrincipalsOnly"
    assert account["Condition"] == {"StringEquals": {"aws:PrincipalAccount": ["111122223333", "444455556666"]}}
    assert aws_owned["Resource"] == ["arn:aws-cn:s3:::prod-cn-north-1-starport-layer-bucket/*"]


def test_flow_logs_go_to_a_log_group_through_a_role_only_flow_logs_assume():
    """Flow logs (ALL traffic) go to a CloudWatch group kept for the configured days, written through a role
    that only VPC flow logs of this account may assume, allowed to write to that group only."""
    result = create(flow_logs=True, flow_logs_retention_days=14)
    vpc = result.one("aws:ec2/vpc:Vpc")
    group = result.one("aws:cloudwatch/logGroup:LogGroup")
    assert group.inputs["retentionInDays"] == 14
    flow = result.one("aws:ec2/flowLog:FlowLog")
    assert flow.inputs["trafficType"] == "ALL" and flow.inputs["vpcId"] == vpc.outputs["id"]
    assert flow.inputs["logDestination"] == group.outputs["arn"]
    role = result.one("aws:iam/role:Role")
    assert flow.inputs["iamRoleArn"] == role.outputs["arn"]
    (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    policy = result.one("aws:iam/rolePolicy:RolePolicy")
    assert policy.inputs["role"] == role.outputs["id"]
    (grant,) = json.loads(policy.inputs["policy"])["Statement"]
    assert grant["Resource"] == f"{group.outputs['arn']}:*"
    assert not any("*" in a for a in grant["Action"])


def test_no_flow_logs_means_no_log_group_role_or_flow_log():
    result = create(flow_logs=False)
    for typ in ("aws:ec2/flowLog:FlowLog", "aws:cloudwatch/logGroup:LogGroup", "aws:iam/role:Role"):
        assert result.of_type(typ) == [], typ


def test_every_taggable_resource_carries_the_given_tags_and_a_name():
    result = create(flow_logs=True, nat_gateways="perAz")
    tagged = [r for r in result.registrations if r.custom and "tags" in r.inputs]
    assert {r.type for r in tagged} >= {"aws:ec2/vpc:Vpc", SUBNET, ROUTE_TABLE, NAT, "aws:ec2/flowLog:FlowLog"}
    for r in tagged:
        assert TAGS.items() <= r.inputs["tags"].items(), r.name
    named = [r for r in tagged if r.type.startswith("aws:ec2/") and r.type != "aws:ec2/flowLog:FlowLog"]
    assert all(r.inputs["tags"]["Name"].startswith(f"{NAME}-") for r in named)


def test_preview_plans_the_same_resources_as_an_update():
    """Nothing is created inside an apply: a first preview shows every resource the update makes."""
    settings = dataclasses.replace(CREATE, flow_logs=True, nat_gateways="perAz")
    preview = ok(run_network(settings, preview=True))
    update = ok(run_network(settings))
    assert sorted((r.type, r.name) for r in preview.registrations) == sorted(
        (r.type, r.name) for r in update.registrations
    )


# ---------------------------------------------------------------- an existing VPC
def test_existing_vpc_is_read_not_created():
    """Existing mode reads the VPC, the subnets and their effective route tables with .get() (so they are in
    the graph) and creates none of them; the security group goes in that VPC."""
    result = ok(run_network(EXISTING))
    assert {(r.type, r.id) for r in result.registrations if r.read} == {
        ("aws:ec2/vpc:Vpc", harness.EXISTING_VPC),
        (SUBNET, "subnet-0123456789abcdef0"),
        (SUBNET, "subnet-0123456789abcdef1"),
        (ROUTE_TABLE, EXPLICIT_TABLE),  # subnet ...f0's own table
        (ROUTE_TABLE, MAIN_TABLE),  # subnet ...f1 has none: the main table
        (ASSOCIATION, f"subnet-0123456789abcdef0/{EXPLICIT_TABLE}"),
    }
    created = {r.type for r in result.registrations if r.custom and not r.read}
    assert not created & {"aws:ec2/vpc:Vpc", SUBNET, NAT, ROUTE_TABLE, ROUTE, ASSOCIATION, "aws:ec2/eip:Eip"}
    assert result.of_type("aws:ec2/internetGateway:InternetGateway") == []
    assert result.named(f"{NAME}-cluster-sg").inputs["vpcId"] == harness.EXISTING_VPC
    assert result.outputs["vpc_id"] == harness.EXISTING_VPC
    assert result.outputs["private_subnet_ids"] == list(EXISTING.private_subnet_ids)
    assert result.outputs["public_subnet_ids"] == []
    assert sorted(result.outputs["existing_route_table_ids"]) == sorted([EXPLICIT_TABLE, MAIN_TABLE])


def test_existing_vpc_gets_the_s3_endpoint_only_on_the_route_tables_given():
    assert ok(run_network(EXISTING)).of_type("aws:ec2/vpcEndpoint:VpcEndpoint") == []
    result = ok(run_network(dataclasses.replace(EXISTING, route_table_ids=(EXPLICIT_TABLE,))))
    ep = result.one("aws:ec2/vpcEndpoint:VpcEndpoint")
    assert ep.inputs["routeTableIds"] == [EXPLICIT_TABLE] and ep.inputs["vpcId"] == harness.EXISTING_VPC


def test_existing_subnet_explicit_association_is_read():
    """A subnet with its own route table: getRouteTable by subnet finds it; the association is read by its
    import id (subnet/route table) and the table with its routes, so both are read state with real ids."""
    result = ok(run_network(EXISTING, preview=True))
    (assoc,) = reads(result, ASSOCIATION)
    assert assoc.name == f"{NAME}-private-rta-0" and assoc.id == f"subnet-0123456789abcdef0/{EXPLICIT_TABLE}"
    assert assoc.outputs["subnetId"] == "subnet-0123456789abcdef0"
    assert assoc.outputs["routeTableId"] == EXPLICIT_TABLE and assoc.outputs["id"].startswith("rtbassoc-")
    table = result.named(f"{NAME}-{EXPLICIT_TABLE}")
    assert table.read and table.outputs["vpcId"] == harness.EXISTING_VPC
    assert [(r["cidrBlock"], r["natGatewayId"], r["gatewayId"]) for r in table.outputs["routes"]] == [
        ("0.0.0.0/0", "nat-0123456789abcdef0", "")
    ]
    assert (GET_ROUTE_TABLE, {"subnetId": "subnet-0123456789abcdef0"}) in [
        (t, {k: v for k, v in a.items() if v}) for t, a in result.calls
    ]


def test_existing_subnet_without_association_uses_the_main_table():
    """No explicit association ("no matching" table by subnet): the VPC's main route table, found with the
    filter association.main=true in vpcId, is read; the VPC's read state names the same table."""
    result = ok(run_network(EXISTING))
    assert [r.outputs["subnetId"] for r in reads(result, ASSOCIATION)] == ["subnet-0123456789abcdef0"]  # none: f1
    main = result.named(f"{NAME}-{MAIN_TABLE}")
    assert result.named(f"{NAME}-vpc").outputs["mainRouteTableId"] == main.id == MAIN_TABLE
    assert [(r["cidrBlock"], r["natGatewayId"]) for r in main.outputs["routes"]] == [
        ("0.0.0.0/0", "nat-0fedcba9876543210")
    ]
    lookups = [a for t, a in result.calls if t == GET_ROUTE_TABLE]
    assert [a.get("subnetId") for a in lookups] == [*EXISTING.private_subnet_ids, None]
    assert lookups[2]["vpcId"] == harness.EXISTING_VPC
    assert lookups[2]["filters"] == [{"name": "association.main", "values": ["true"]}]


def test_existing_route_tables_are_looked_up_and_read_once(monkeypatch):
    """Two subnets on the main table: one main-table lookup and one read; two on one explicit table: one
    read, an association each. The lookups run once per run, however often they are asked for (the config
    layer asks for their problems before the component is built)."""
    mock_network(monkeypatch, lambda t: t[EXPLICIT_TABLE].update(subnets=[]))
    result = ok(run_network(EXISTING, before=lambda: route_table_problems(EXISTING)))
    assert [r.id for r in reads(result, ROUTE_TABLE)] == [MAIN_TABLE]
    assert reads(result, ASSOCIATION) == []
    assert len([t for t, _ in result.calls if t == GET_ROUTE_TABLE]) == 3  # two by subnet, one main

    mock_network(monkeypatch, lambda t: t[EXPLICIT_TABLE]["subnets"].append("subnet-0123456789abcdef1"))
    result = ok(run_network(EXISTING, before=lambda: route_table_problems(EXISTING)))
    assert [r.id for r in reads(result, ROUTE_TABLE)] == [EXPLICIT_TABLE]
    assert sorted(r.name for r in reads(result, ASSOCIATION)) == [f"{NAME}-private-rta-0", f"{NAME}-private-rta-1"]
    assert len([t for t, _ in result.calls if t == GET_ROUTE_TABLE]) == 2


def test_existing_subnet_igw_route_is_read_state(monkeypatch):
    """A subnet explicitly associated with a table routed to an internet gateway: the read table's routes
    carry the igw- gateway, which the private-subnets guardrail then reports (tests/test_policies.py)."""
    public_table = "rtb-0b0b0b0b0b0b0b0b0"
    mock_network(monkeypatch, lambda t: t[public_table]["subnets"].append("subnet-0123456789abcdef1"))
    result = ok(run_network(EXISTING))
    assert result.named(f"{NAME}-private-rta-1").outputs["routeTableId"] == public_table
    got = result.named(f"{NAME}-{public_table}").outputs["routes"]
    assert {(r["cidrBlock"] or r["ipv6CidrBlock"], r["gatewayId"]) for r in got} == {
        ("0.0.0.0/0", "igw-0123456789abcdef0"),
        ("::/0", "igw-0123456789abcdef0"),
    }


def _route_table_problems(settings):
    found = {}
    result = run_program(lambda: found.setdefault("problems", route_table_problems(settings)), CONFIG, preview=True)
    assert result.error is None, result.error
    return found["problems"], result.calls


def test_route_table_lookup_failures_are_config_problems(monkeypatch):
    """A main route table that cannot be read is a problem of network.vpcId, reported once; other lookups
    that fail (not "no matching") are problems of the subnet. A subnet with an explicit association needs no
    main table."""
    settings = dataclasses.replace(
        EXISTING, private_subnet_ids=(*EXISTING.private_subnet_ids, "subnet-0123456789abcdef3")
    )
    problems, calls = _route_table_problems(settings)
    assert problems == [] and len(calls) == 4

    mock_network(monkeypatch, lambda t: t.pop(MAIN_TABLE))
    problems, calls = _route_table_problems(settings)
    assert [(p.path, p.value) for p in problems] == [("network.vpcId", harness.EXISTING_VPC)]
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


def test_failed_route_table_lookup_is_a_config_error_before_any_resource(monkeypatch):
    """Built on its own (no config layer in front), the component raises the lookup's problem as a
    ConfigError before it registers any resource of the network."""
    mock_network(monkeypatch, lambda t: t.pop(MAIN_TABLE))
    result = run_network(EXISTING)
    assert isinstance(result.error, ConfigError), result.error
    assert [(p.path, p.value) for p in result.error.problems] == [("network.vpcId", harness.EXISTING_VPC)]
    assert [r.type for r in result.registrations] == ["hyperpod-platform:index:Network"]  # no child


def test_existing_vpc_plan_shape_is_known_at_preview():
    """The reads and the security group are planned in a first preview as in an update."""
    preview = ok(run_network(EXISTING, preview=True))
    update = ok(run_network(EXISTING))
    assert sorted((r.type, r.name, r.read) for r in preview.registrations) == sorted(
        (r.type, r.name, r.read) for r in update.registrations
    )


@pytest.mark.parametrize("nat", ["single", "perAz"])
def test_private_route_tables_are_distinct_per_subnet(nat):
    """Each private subnet has its own route table (so perAz can route each AZ to its own NAT)."""
    result = create(nat_gateways=nat)
    tables = [route_table_of(result, s).urn for s in tier(result, "private")]
    assert len(set(tables)) == len(tables) == len(CREATE.availability_zones)


@pytest.mark.parametrize("preview", [False, True], ids=["up", "preview"])
def test_cluster_security_group_id_is_the_groups_id_and_waits_for_every_rule_of_it(preview):
    """What takes ``cluster_security_group_id`` (FSx, which checks the Lustre ports at CreateFileSystem) depends
    on each of the group's rules, and gets the group's own id (known in a preview once the group's is)."""
    import pulumi_aws as aws

    def program():
        net = Network(NAME, NetworkArgs(settings=CREATE, tags=TAGS, region="us-east-1"))
        aws.ssm.Parameter("probe", type="String", value="x", description=net.cluster_security_group_id)
        pulumi.export("sg", net.cluster_security_group.id)

    result = ok(run_program(program, CONFIG, preview=preview))
    sg = result.one("aws:ec2/securityGroup:SecurityGroup")
    rules = [
        r
        for r in result.registrations
        if r.type.startswith("aws:vpc/securityGroup") and r.inputs.get("securityGroupId") == result.outputs["sg"]
    ]
    assert len(rules) == 5  # self in, self out, Lustre 988, Lustre 1018-1023, egress
    probe = result.one("aws:ssm/parameter:Parameter")
    assert {r.urn for r in rules} | {sg.urn} <= set(probe.property_dependencies["description"])
    assert probe.inputs["description"] == result.outputs["sg"]
