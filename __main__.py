"""HyperPod platform: network, shared storage, lifecycle scripts, execution role, Slurm cluster."""
import json
from pathlib import Path

import pulumi

import stack_config
from components.execution_role import ExecutionRole, ExecutionRoleArgs
from components.hyperpod_cluster import HyperPodCluster, HyperPodClusterArgs
from components.lifecycle_bucket import PREFIX, LifecycleBucket, LifecycleBucketArgs
from components.network import Network, NetworkArgs
from components.storage import SharedStorage, SharedStorageArgs

settings = stack_config.load()  # validates everything before any resource is registered
name = settings.cluster.name
tags = settings.tag_dict

network = Network(name, NetworkArgs(settings=settings.network, tags=tags, region=settings.region))
primary_subnet = network.private_subnets[0]
node_subnets = network.private_subnets if settings.cluster.subnet_placement == "all" else [primary_subnet]
cluster_sg = network.cluster_security_group

storage = (SharedStorage(name, SharedStorageArgs(settings=settings.fsx, subnet_id=primary_subnet.id,
                                                 security_group_id=cluster_sg.id, tags=tags))
           if settings.fsx.enabled else None)

platform_json = pulumi.Output.all(
    storage.dns_name if storage else None, storage.mount_name if storage else None,
).apply(lambda fsx: json.dumps({
    "cluster_name": name,
    "region": settings.region,
    "fsx": {"dns_name": fsx[0], "mount_name": fsx[1], "mount_path": settings.fsx.mount_path} if storage else None,
    "groups": {g.name: g.role for g in settings.cluster.instance_groups},
}, indent=2, sort_keys=True))

lifecycle = LifecycleBucket(name, LifecycleBucketArgs(
    source_dir=Path(__file__).parent / "lifecycle", cluster_name=name, tags=tags,
    bucket_name=settings.lifecycle.bucket_name, rendered={"generated/platform.json": platform_json}))

role = ExecutionRole(name, ExecutionRoleArgs(
    vpc_arn=network.vpc_arn, subnet_arns=[s.arn for s in node_subnets], security_group_arns=[cluster_sg.arn],
    bucket_arn=lifecycle.bucket.arn, lifecycle_prefix=PREFIX, tags=tags))

cluster = HyperPodCluster(name, HyperPodClusterArgs(
    settings=settings.cluster, execution_role_arn=role.arn, subnet_ids=[s.id for s in node_subnets],
    security_group_ids=[cluster_sg.id], source_s3_uri=lifecycle.source_s3_uri, tags=tags,
    wait_for=[*lifecycle.objects, *role.ready]))

pulumi.export("clusterName", name)
pulumi.export("clusterArn", cluster.arn)
pulumi.export("vpcId", network.vpc_id)
pulumi.export("privateSubnetIds", [s.id for s in network.private_subnets])
pulumi.export("clusterSecurityGroupId", cluster_sg.id)
pulumi.export("lifecycleS3Uri", lifecycle.source_s3_uri)
pulumi.export("executionRoleArn", role.arn)
if storage:
    pulumi.export("fsxDnsName", storage.dns_name)
    pulumi.export("fsxMountName", storage.mount_name)
