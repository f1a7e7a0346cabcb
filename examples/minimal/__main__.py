"""A minimal HyperPod platform built from the hyperpod-platform package: a new VPC in two AZs, FSx for Lustre,
the lifecycle bucket, the nodes' execution role and a Slurm cluster with a controller and one compute group.

It uses only the package and the Pulumi SDKs: the settings are built by hand, not read by the repository's
stack_config layer.
"""

import pulumi

from hyperpod_platform import (
    ExecutionRole,
    ExecutionRoleArgs,
    Fsx,
    FsxArgs,
    HyperPodCluster,
    HyperPodClusterArgs,
    LifecycleBucket,
    LifecycleBucketArgs,
    Network,
    NetworkArgs,
)
from hyperpod_platform.lifecycle_bucket import PLATFORM_FILE, PREFIX, platform_json
from hyperpod_platform.settings import (
    ClusterSettings,
    FsxSettings,
    InstanceGroupSettings,
    LifecycleSettings,
    NetworkSettings,
    StackSettings,
)

config = pulumi.Config()
name = config.get("clusterName") or "hp-minimal"
region = pulumi.Config("aws").require("region")
tags = {"Project": pulumi.get_project(), "Cluster": name}

network_settings = NetworkSettings(
    mode="create",
    availability_zones=(f"{region}a", f"{region}b"),
    vpc_cidr="10.30.0.0/16",
    private_subnet_cidrs=("10.30.0.0/18", "10.30.64.0/18"),
    public_subnet_cidrs=("10.30.192.0/24", "10.30.193.0/24"),
    nat_gateways="single",
)
fsx_settings = FsxSettings(storage_capacity_gib=1200, throughput_per_tib=125, mount_path="/fsx")
cluster_settings = ClusterSettings(
    name=name,
    instance_groups=(
        InstanceGroupSettings(name="controller", role="controller", instance_type="ml.m5.xlarge", count=1),
        InstanceGroupSettings(name="cpu", role="compute", instance_type="ml.m5.2xlarge", count=2, partition="cpu"),
    ),
)

network = Network(name, NetworkArgs(settings=network_settings, tags=tags, region=region))
subnet = network.private_subnets[0]  # the primary subnet: FSx and every node
sg = network.cluster_security_group

storage = Fsx(name, FsxArgs(settings=fsx_settings, subnet_id=subnet.id, security_group_id=sg.id, tags=tags))

# The package's node scripts (uploaded by default) read generated/platform.json: the typed node contract, here
# with FSx and without login access or a directory (those steps skip themselves).
settings = StackSettings(
    region=region, network=network_settings, fsx=fsx_settings, cluster=cluster_settings, lifecycle=LifecycleSettings()
)
platform = platform_json(settings, fsx_dns_name=storage.dns_name, fsx_mount_name=storage.mount_name)
lifecycle = LifecycleBucket(name, LifecycleBucketArgs(cluster_name=name, tags=tags, rendered={PLATFORM_FILE: platform}))

role = ExecutionRole(
    name,
    ExecutionRoleArgs(
        vpc_arn=network.vpc_arn,
        subnet_arns=[subnet.arn],
        security_group_arns=[sg.arn],
        bucket_arn=lifecycle.bucket.arn,
        lifecycle_prefix=PREFIX,
        tags=tags,
    ),
)

cluster = HyperPodCluster(
    name,
    HyperPodClusterArgs(
        settings=cluster_settings,
        execution_role_arn=role.arn,
        subnet_ids=[subnet.id],
        security_group_ids=[sg.id],
        source_s3_uri=lifecycle.source_s3_uri,
        tags=tags,
    ),
)

pulumi.export("clusterName", name)
pulumi.export("clusterArn", cluster.arn)
pulumi.export("vpcId", network.vpc_id)
pulumi.export("fsxDnsName", storage.dns_name)
pulumi.export("fsxMountName", storage.mount_name)
pulumi.export("lifecycleS3Uri", lifecycle.source_s3_uri)
