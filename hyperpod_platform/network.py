"""Network: VPC, private and public subnets, NAT, routes, S3 endpoint, the cluster security group.

Built from pulumi-aws resources (not awsx) so that every subnet, route table, route and association is a
resource the guardrails and tests can see (see docs/decisions.md). An existing VPC is read, not created: the
VPC, each private subnet, and each subnet's effective route table (its explicit association, else the VPC's
main table) with ``.get()``, so the guardrails judge existing subnets from what AWS reports.
"""

import json
import re
from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi
import pulumi_aws as aws

from . import checks
from ._args import ArgCheck, after, component_type, renamed, take
from .errors import ConfigError, Problem
from .settings import NetworkSettings


@dataclass(frozen=True)
class EffectiveRouteTable:
    """The route table an existing subnet uses."""

    subnet_id: str
    route_table_id: str
    explicit: bool
    """An explicit subnet association; False: no association, so the VPC's main route table applies."""


def aws_owned_bucket_reads(partition: str, region: str) -> list[str]:
    """Objects of AWS-owned buckets the nodes read through the S3 gateway endpoint with requests that carry no
    principal of the platform's accounts, so an ``aws:PrincipalAccount`` condition would deny them:

    - ECR image layers (every image a node pulls from ECR: EKS add-ons, HyperPod's agents, jobs): downloaded from
      ``prod-<region>-starport-layer-bucket`` through URLs ECR signs (ECR User Guide, "Minimum Amazon S3
      bucket permissions"; awsdocs/amazon-ecr-user-guide#8).

    Not here, on purpose: the SSM Agent's buckets (``amazon-ssm-<region>`` ...), which it reads with the
    node's own credentials (SSM User Guide, "SSM Agent communications with AWS managed S3 buckets": the
    instance profile needs ``s3:GetObject`` on them), so a principal of this account passes the condition;
    the Amazon Linux repositories (``al2023-repos-<region>-*``, ``amazonlinux-2-repos-<region>``), since no
    lifecycle script installs packages on Amazon Linux (the Slurm nodes' apt-get uses Ubuntu's mirrors)."""
    return [f"arn:{partition}:s3:::prod-{region}-starport-layer-bucket/*"]


def s3_endpoint_policy(accounts, partition: str, region: str, several: bool = False) -> dict:
    """The S3 gateway endpoint's policy: anything of S3 for principals of ``accounts`` (one account ID or a
    list), and ``s3:GetObject`` on :func:`aws_owned_bucket_reads` for any principal (no condition)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PlatformAccountPrincipalsOnly" if several else "OwnAccountPrincipalsOnly",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:PrincipalAccount": accounts}},
            },
            {
                "Sid": "AwsOwnedBucketsTheNodesRead",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": aws_owned_bucket_reads(partition, region),
            },
        ],
    }


_lookup: Optional[tuple[object, NetworkSettings, list[EffectiveRouteTable], list[Problem]]] = None
"""The last lookup: (the run's resource monitor, the settings it was for, tables, problems)."""


def existing_route_tables(network: NetworkSettings) -> tuple[list[EffectiveRouteTable], list[Problem]]:
    """Existing VPC: each private subnet's effective route table, looked up in AWS (blocking invokes).

    ``getRouteTable`` by subnet finds an explicit association; when there is none ("no matching" route table),
    the subnet uses the VPC's main route table (filter ``association.main=true``), looked up once. A lookup
    that fails otherwise is a config problem. The result is kept for these very settings in this run (the
    same resource monitor), so ``stack_config.load()`` and :class:`Network` look up once."""
    global _lookup
    monitor = pulumi.runtime.settings.get_monitor()
    if _lookup is not None and _lookup[0] is monitor and _lookup[1] == network:
        return _lookup[2], _lookup[3]
    tables: list[EffectiveRouteTable] = []
    problems: list[Problem] = []
    if network.mode == "existing":
        main: Optional[str] = None
        main_failed = False
        for i, subnet_id in enumerate(network.private_subnet_ids):
            try:
                rt = aws.ec2.get_route_table(subnet_id=subnet_id)
                tables.append(EffectiveRouteTable(subnet_id, rt.id, True))
                continue
            except Exception as exc:  # noqa: BLE001 - "no matching" means no explicit association
                reason = _reason(exc)
                if "no matching" not in reason.lower():
                    problems.append(
                        Problem(
                            f"network.privateSubnetIds[{i}]",
                            subnet_id,
                            f"its route table cannot be read ({reason})",
                            "give a subnet whose route tables these credentials can describe",
                        )
                    )
                    continue
            if main is None and not main_failed:
                try:
                    main = aws.ec2.get_route_table(
                        vpc_id=network.vpc_id,
                        filters=[aws.ec2.GetRouteTableFilterArgs(name="association.main", values=["true"])],
                    ).id
                except Exception as exc:  # noqa: BLE001 - the lookup's own error says why
                    main_failed = True
                    problems.append(
                        Problem(
                            "network.vpcId",
                            network.vpc_id,
                            f"its main route table cannot be read ({_reason(exc)}); private subnets "
                            "without a route table association of their own use it",
                            "give a VPC whose route tables these credentials can describe",
                        )
                    )
            if main is not None:
                tables.append(EffectiveRouteTable(subnet_id, main, False))
    _lookup = (monitor, network, tables, problems)
    return tables, problems


def route_table_problems(network: NetworkSettings) -> list[Problem]:
    """Config problems of the existing private subnets' route table lookups (for ``stack_config.load()``)."""
    return existing_route_tables(network)[1]


def _reason(exc: Exception) -> str:
    """The provider's reason: the last line of the error (the engine nests it), without invoke prefixes."""
    lines = [ln.strip().lstrip("* ") for ln in str(exc).splitlines() if ln.strip()]
    text = re.sub(r"^invoke of \S+ failed: ", "", lines[-1] if lines else type(exc).__name__)
    return re.sub(r"\s*\(\)$", "", text)  # a failure without a property


@dataclass
class NetworkArgs:
    """Inputs of :class:`Network`."""

    settings: NetworkSettings
    """Validated network settings."""
    tags: dict[str, str]
    """Tags for every resource."""
    region: str
    """AWS region, for the S3 endpoint service name."""
    endpoint_accounts: Sequence[str] = ()
    """Other accounts whose principals may use the S3 gateway endpoint: data accounts whose roles the cluster's
    pods assume to read through VPC-only access points."""


class Network(pulumi.ComponentResource):
    """A VPC (created or existing) with private subnets in two or more AZs and the cluster security group."""

    vpc_id: pulumi.Output[str]
    """Id of the VPC."""
    vpc_arn: pulumi.Output[str]
    """ARN of the VPC (scopes the execution role's ENI permissions)."""
    vpc_cidr: pulumi.Output[str]
    """CIDR block of the VPC."""
    private_subnets: list[aws.ec2.Subnet]
    """Private subnets, one per AZ, the first one is the primary (FSx, default cluster placement)."""
    existing_route_tables: list[aws.ec2.RouteTable]
    """Existing mode: the private subnets' effective route tables, read (each once)."""
    public_subnets: list[aws.ec2.Subnet]
    """Public subnets (create mode only); they hold the NAT gateways."""
    cluster_security_group: aws.ec2.SecurityGroup
    """Security group of the cluster nodes and FSx."""
    cluster_security_group_id: pulumi.Output[str]
    """Id of the cluster security group, resolving once all its rules exist: what AWS validates at create (FSx
    for Lustre checks the Lustre ports at CreateFileSystem) takes this, never the bare group id."""

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None):
        args, check = take("Network", NetworkArgs, args)
        _check_args(args, check)
        check.raise_if_any()
        super().__init__(component_type("Network"), name, None, renamed(opts, "Network"))
        s = args.settings
        child = pulumi.ResourceOptions(parent=self)
        tags = args.tags
        self.public_subnets = []
        self.private_subnets = []
        self.existing_route_tables = []
        private_route_tables: list[pulumi.Output[str]] = []

        if s.mode == "existing":
            effective, problems = existing_route_tables(s)
            if problems:  # a config error, before any resource of the network (load() may report it first)
                raise ConfigError(problems)
            vpc = aws.ec2.Vpc.get(f"{name}-vpc", s.vpc_id, opts=child)
            self.private_subnets = [
                aws.ec2.Subnet.get(f"{name}-private-{i}", sid, opts=child) for i, sid in enumerate(s.private_subnet_ids)
            ]
            # What the private-subnets guardrail judges them by, as read state: each effective route table
            # (with its routes) once, and each explicit association (subnet -> table). A subnet without one
            # uses the main table, which the VPC's read state names (mainRouteTableId).
            for rtb in dict.fromkeys(e.route_table_id for e in effective):
                self.existing_route_tables.append(aws.ec2.RouteTable.get(f"{name}-{rtb}", rtb, opts=child))
            for i, e in enumerate(effective):
                if e.explicit:
                    aws.ec2.RouteTableAssociation.get(
                        f"{name}-private-rta-{i}", f"{e.subnet_id}/{e.route_table_id}", opts=child
                    )
            private_route_tables = [pulumi.Output.from_input(r) for r in s.route_table_ids]
        else:
            vpc = aws.ec2.Vpc(
                f"{name}-vpc",
                cidr_block=s.vpc_cidr,
                enable_dns_hostnames=True,
                enable_dns_support=True,
                tags={**tags, "Name": f"{name}-vpc"},
                opts=child,
            )
            igw = aws.ec2.InternetGateway(
                f"{name}-igw", vpc_id=vpc.id, tags={**tags, "Name": f"{name}-igw"}, opts=child
            )
            public_rt = aws.ec2.RouteTable(
                f"{name}-public-rt", vpc_id=vpc.id, tags={**tags, "Name": f"{name}-public"}, opts=child
            )
            aws.ec2.Route(
                f"{name}-public-default",
                route_table_id=public_rt.id,
                destination_cidr_block="0.0.0.0/0",
                gateway_id=igw.id,
                opts=child,
            )
            nats: list[aws.ec2.NatGateway] = []
            for i, (az, private_cidr, public_cidr) in enumerate(
                zip(s.availability_zones, s.private_subnet_cidrs, s.public_subnet_cidrs, strict=True)
            ):
                public = aws.ec2.Subnet(
                    f"{name}-public-{i}",
                    vpc_id=vpc.id,
                    cidr_block=public_cidr,
                    availability_zone=az,
                    map_public_ip_on_launch=False,
                    tags={**tags, "Name": f"{name}-public-{az}", "Tier": "public"},
                    opts=child,
                )
                aws.ec2.RouteTableAssociation(
                    f"{name}-public-rta-{i}", subnet_id=public.id, route_table_id=public_rt.id, opts=child
                )
                self.public_subnets.append(public)
                if s.nat_gateways == "perAz" or i == 0:
                    eip = aws.ec2.Eip(
                        f"{name}-nat-{i}", domain="vpc", tags={**tags, "Name": f"{name}-nat-{az}"}, opts=child
                    )
                    nats.append(
                        aws.ec2.NatGateway(
                            f"{name}-nat-{i}",
                            allocation_id=eip.allocation_id,
                            subnet_id=public.id,
                            tags={**tags, "Name": f"{name}-nat-{az}"},
                            opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]),
                        )
                    )
                private = aws.ec2.Subnet(
                    f"{name}-private-{i}",
                    vpc_id=vpc.id,
                    cidr_block=private_cidr,
                    availability_zone=az,
                    map_public_ip_on_launch=False,
                    tags={**tags, "Name": f"{name}-private-{az}", "Tier": "private"},
                    opts=child,
                )
                rt = aws.ec2.RouteTable(
                    f"{name}-private-rt-{i}", vpc_id=vpc.id, tags={**tags, "Name": f"{name}-private-{az}"}, opts=child
                )
                aws.ec2.Route(
                    f"{name}-private-{i}-default",
                    route_table_id=rt.id,
                    destination_cidr_block="0.0.0.0/0",
                    nat_gateway_id=nats[-1].id,
                    opts=child,
                )
                aws.ec2.RouteTableAssociation(
                    f"{name}-private-rta-{i}", subnet_id=private.id, route_table_id=rt.id, opts=child
                )
                self.private_subnets.append(private)
                private_route_tables.append(rt.id)

        self.vpc_id = vpc.id
        self.vpc_arn = vpc.arn
        self.vpc_cidr = vpc.cidr_block

        if private_route_tables:
            # Gateway endpoint: S3 traffic (lifecycle scripts, data, image layers) stays off the NAT. The policy
            # admits principals of the platform's accounts (a data-perimeter control), and reads of the AWS-owned
            # buckets the nodes fetch from with requests that carry no principal of ours (URLs AWS signs): see
            # aws_owned_bucket_reads.
            extra = sorted(set(args.endpoint_accounts))
            account = vpc.arn.apply(lambda arn: [arn.split(":")[4], *extra] if extra else arn.split(":")[4])
            partition = vpc.arn.apply(lambda arn: arn.split(":")[1])
            aws.ec2.VpcEndpoint(
                f"{name}-s3",
                vpc_id=vpc.id,
                service_name=f"com.amazonaws.{args.region}.s3",
                vpc_endpoint_type="Gateway",
                route_table_ids=private_route_tables,
                policy=pulumi.Output.all(account, partition).apply(
                    lambda v: json.dumps(s3_endpoint_policy(v[0], v[1], args.region, bool(extra)))
                ),
                tags={**tags, "Name": f"{name}-s3"},
                opts=child,
            )

        sg = aws.ec2.SecurityGroup(
            f"{name}-cluster-sg",
            vpc_id=vpc.id,
            description="HyperPod cluster nodes and FSx for Lustre",
            tags={**tags, "Name": f"{name}-cluster"},
            opts=child,
        )
        # EFA needs all traffic to and from the group itself, both ways.
        rules: list[pulumi.Resource] = []
        rules.append(
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-cluster-self-in",
                security_group_id=sg.id,
                ip_protocol="-1",
                referenced_security_group_id=sg.id,
                description="all traffic within the cluster (EFA)",
                opts=child,
            )
        )
        rules.append(
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-cluster-self-out",
                security_group_id=sg.id,
                ip_protocol="-1",
                referenced_security_group_id=sg.id,
                description="all traffic within the cluster (EFA)",
                opts=child,
            )
        )
        # Lustre ports, stated on their own so they survive if the self rule is ever narrowed.
        for port_from, port_to in ((988, 988), (1018, 1023)):
            rules.append(
                aws.vpc.SecurityGroupIngressRule(
                    f"{name}-cluster-lustre-{port_from}",
                    security_group_id=sg.id,
                    ip_protocol="tcp",
                    from_port=port_from,
                    to_port=port_to,
                    referenced_security_group_id=sg.id,
                    description=f"FSx for Lustre TCP {port_from}-{port_to}",
                    opts=child,
                )
            )
        rules.append(
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-cluster-egress",
                security_group_id=sg.id,
                ip_protocol="-1",
                cidr_ipv4="0.0.0.0/0",
                description="outbound (AWS APIs, packages)",
                opts=child,
            )
        )
        self.cluster_security_group = sg
        # A value, not a resource list: it carries the wait across component and language boundaries.
        self.cluster_security_group_id = after(sg.id, rules)

        if s.flow_logs:
            log_group = aws.cloudwatch.LogGroup(
                f"{name}-flow-logs", retention_in_days=s.flow_logs_retention_days, tags=tags, opts=child
            )
            role = aws.iam.Role(
                f"{name}-flow-logs",
                tags=tags,
                opts=child,
                assume_role_policy=vpc.arn.apply(
                    lambda arn: json.dumps(
                        {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                                    "Action": "sts:AssumeRole",
                                    "Condition": {"StringEquals": {"aws:SourceAccount": arn.split(":")[4]}},
                                }
                            ],
                        }
                    )
                ),
            )
            aws.iam.RolePolicy(
                f"{name}-flow-logs",
                role=role.id,
                opts=child,
                policy=log_group.arn.apply(
                    lambda arn: json.dumps(
                        {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                                    "Resource": f"{arn}:*",
                                }
                            ],
                        }
                    )
                ),
            )
            aws.ec2.FlowLog(
                f"{name}-flow-log",
                vpc_id=vpc.id,
                traffic_type="ALL",
                log_destination=log_group.arn,
                iam_role_arn=role.arn,
                tags=tags,
                opts=child,
            )

        self.register_outputs(
            {
                "vpc_id": self.vpc_id,
                "private_subnet_ids": [sn.id for sn in self.private_subnets],
                "cluster_security_group_id": self.cluster_security_group_id,
            }
        )


CREATE_ONLY = ("availability_zones", "vpc_cidr", "private_subnet_cidrs", "public_subnet_cidrs")
EXISTING_ONLY = ("vpc_id", "private_subnet_ids", "route_table_ids")


def _check_args(args: NetworkArgs, check: ArgCheck) -> None:
    """A network this component can build: a VPC to create (two or more AZs of the region, one private and one
    public block per AZ, inside the VPC and apart), or an existing VPC with two or more private subnets; only
    the settings of the mode given; a region name for the S3 endpoint; tags AWS accepts."""
    s = args.settings
    check.check("region", args.region, checks.region_name)
    check.check("settings.mode", s.mode, checks.one_of("create", "existing"))
    if s.flow_logs:
        days = checks.one_of(*checks.LOG_RETENTION_DAYS)
        check.check("settings.flow_logs_retention_days", s.flow_logs_retention_days, days)
    if s.mode in ("create", "existing"):
        other = "existing" if s.mode == "create" else "create"
        for key in EXISTING_ONLY if s.mode == "create" else CREATE_ONLY:
            if getattr(s, key):
                why = f"applies only when settings.mode is '{other}'"
                check.fail(f"settings.{key}", getattr(s, key), why, f"remove it, or set settings.mode to '{other}'")
    if s.mode == "create":
        _check_create(args, check)
    elif s.mode == "existing":
        check.check("settings.vpc_id", s.vpc_id, checks.vpc_id)
        check.each("settings.private_subnet_ids", s.private_subnet_ids, checks.subnet_id, same=str)
        check.at_least(
            "settings.private_subnet_ids",
            s.private_subnet_ids,
            2,
            "needs at least 2 private subnets in distinct AZs",
            "list two or more private subnets of the VPC, in different AZs",
        )
        check.each("settings.route_table_ids", s.route_table_ids, checks.route_table_id, same=str)
    check.tags(args.tags)


def _check_create(args: NetworkArgs, check: ArgCheck) -> None:
    """The VPC to create: AZs of the region, its block, and one private and one public subnet block per AZ."""
    s, region = args.settings, args.region
    azs = list(s.availability_zones)
    check.each("settings.availability_zones", azs, checks.availability_zone, same=str)
    for i, az in enumerate(azs):
        m = checks.AZ_RE.match(az)
        if m and checks.REGION_RE.match(region) and m.group(1) != region:
            why, fix = f"is not in the region {region}", f"use an AZ of {region}, like {region}a"
            check.fail(f"settings.availability_zones[{i}]", az, why, fix)
    enough = check.at_least(
        "settings.availability_zones",
        azs,
        2,
        "needs at least 2 AZs (Managed AD, the login NLB and resilience need two)",
        "list two or more AZs of the region",
    )
    check.check("settings.vpc_cidr", s.vpc_cidr, checks.vpc_cidr)
    vpc = None if checks.vpc_cidr(s.vpc_cidr) else checks.ipv4_network(s.vpc_cidr)
    blocks: list[tuple[str, str]] = []
    for key in ("private_subnet_cidrs", "public_subnet_cidrs"):
        cidrs = list(getattr(s, key))
        check.each(f"settings.{key}", cidrs, checks.ipv4_cidr, same=str)
        if enough and len(cidrs) != len(azs):
            check.fail(
                f"settings.{key}",
                cidrs,
                f"needs one CIDR per AZ ({len(azs)} AZs listed)",
                f"give exactly {len(azs)} CIDRs, in the order of settings.availability_zones",
            )
        # A repeat within the list is reported as such (above), not again as an overlap.
        blocks += [(f"settings.{key}[{i}]", c) for i, c in enumerate(cidrs) if cidrs.index(c) == i]
    for label, cidr, why, fix in checks.subnet_blocks(vpc, blocks):
        check.fail(label, cidr, why, fix)
    check.check("settings.nat_gateways", s.nat_gateways, checks.one_of(*checks.NAT_GATEWAYS))
