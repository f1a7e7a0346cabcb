"""Building blocks of the policy test programs: a small VPC with a public and a private subnet, a cluster."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import pulumi
import pulumi_aws as aws
from pulumi_aws_native import sagemaker

ROLE_ARN = "arn:aws:iam::123456789012:role/hyperpod-test"


@dataclass
class Net:
    vpc: aws.ec2.Vpc
    igw: aws.ec2.InternetGateway
    public: aws.ec2.Subnet
    private: aws.ec2.Subnet
    private_b: aws.ec2.Subnet


def network(public_ips_on_public: bool = False) -> Net:
    """VPC 10.0.0.0/16; ``public`` routes 0.0.0.0/0 to an internet gateway, the two private ones to a NAT."""
    vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16")
    igw = aws.ec2.InternetGateway("igw", vpc_id=vpc.id)
    public_rt = aws.ec2.RouteTable("public-rt", vpc_id=vpc.id)
    aws.ec2.Route("public-default", route_table_id=public_rt.id, destination_cidr_block="0.0.0.0/0", gateway_id=igw.id)
    public = aws.ec2.Subnet(
        "public", vpc_id=vpc.id, cidr_block="10.0.0.0/24", map_public_ip_on_launch=public_ips_on_public
    )
    aws.ec2.RouteTableAssociation("public", subnet_id=public.id, route_table_id=public_rt.id)
    eip = aws.ec2.Eip("nat", domain="vpc")
    nat = aws.ec2.NatGateway("nat", allocation_id=eip.allocation_id, subnet_id=public.id)
    private_rt = aws.ec2.RouteTable("private-rt", vpc_id=vpc.id)
    aws.ec2.Route(
        "private-default", route_table_id=private_rt.id, destination_cidr_block="0.0.0.0/0", nat_gateway_id=nat.id
    )
    privates = []
    for suffix, cidr in (("", "10.0.1.0/24"), ("-b", "10.0.2.0/24")):
        subnet = aws.ec2.Subnet(f"private{suffix}", vpc_id=vpc.id, cidr_block=cidr, map_public_ip_on_launch=False)
        aws.ec2.RouteTableAssociation(f"private{suffix}", subnet_id=subnet.id, route_table_id=private_rt.id)
        privates.append(subnet)
    return Net(vpc, igw, public, privates[0], privates[1])


def group(
    name: str,
    instance_type: str,
    checks: Optional[Sequence[str]] = None,
    override_subnets: Optional[Sequence[Any]] = None,
    security_group_ids: Optional[Sequence[Any]] = None,
) -> sagemaker.ClusterInstanceGroupArgs:
    override = (
        sagemaker.ClusterVpcConfigArgs(
            subnets=list(override_subnets), security_group_ids=list(security_group_ids or [])
        )
        if override_subnets
        else None
    )
    return sagemaker.ClusterInstanceGroupArgs(
        instance_group_name=name,
        instance_type=instance_type,
        instance_count=1,
        execution_role=ROLE_ARN,
        life_cycle_config=sagemaker.ClusterLifeCycleConfigArgs(
            source_s3_uri="s3://bucket/lifecycle", on_init_complete="on_init_complete.sh"
        ),
        on_start_deep_health_checks=list(checks) if checks else None,
        override_vpc_config=override,
    )


def cluster(
    subnets: Sequence[Any],
    groups: Optional[list] = None,
    node_recovery: Optional[str] = "Automatic",
    security_group_ids: Sequence[Any] = ("sg-0123456789abcdef0",),
) -> sagemaker.Cluster:
    return sagemaker.Cluster(
        "cluster",
        cluster_name="hp-test",
        node_recovery=node_recovery,
        orchestrator=sagemaker.ClusterOrchestratorArgs(
            slurm=sagemaker.ClusterOrchestratorSlurmConfigArgs(slurm_config_strategy="Managed")
        ),
        instance_groups=groups
        or [
            group("controller", "ml.m5.xlarge"),
            group("gpu", "ml.g5.12xlarge", ["InstanceStress", "InstanceConnectivity"]),
        ],
        vpc_config=sagemaker.ClusterVpcConfigArgs(subnets=list(subnets), security_group_ids=list(security_group_ids)),
    )


def unknown_in_preview(resource: pulumi.CustomResource, value: Any) -> pulumi.Output:
    """``value``, but unknown during preview (derived from a computed attribute of ``resource``)."""
    return resource.arn.apply(lambda _: value)
