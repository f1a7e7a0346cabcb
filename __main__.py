"""HyperPod platform: network, storage, login access, directory, lifecycle scripts, execution role, Slurm cluster."""

import pulumi

import stack_config
from hyperpod_platform.access_paths import AccessPaths, AccessPathsArgs
from hyperpod_platform.client_vpn import ClientVpn, ClientVpnArgs
from hyperpod_platform.directory import Directory, DirectoryArgs
from hyperpod_platform.directory_admin_host import DirectoryAdminHost, DirectoryAdminHostArgs
from hyperpod_platform.directory_connection import (
    DirectoryConnection,
    DirectoryConnectionArgs,
    node_settings,
    parameter_name,
)
from hyperpod_platform.directory_contents import DirectoryContents, DirectoryContentsArgs
from hyperpod_platform.execution_role import ExecutionRole, ExecutionRoleArgs
from hyperpod_platform.hyperpod_cluster import HyperPodCluster, HyperPodClusterArgs
from hyperpod_platform.ldaps_endpoint import LdapsEndpoint, LdapsEndpointArgs
from hyperpod_platform.lifecycle_bucket import (
    PLATFORM_FILE,
    PREFIX,
    LifecycleBucket,
    LifecycleBucketArgs,
    platform_json,
)
from hyperpod_platform.login_access import LoginAccess, LoginAccessArgs
from hyperpod_platform.login_targets import LoginTargets, LoginTargetsArgs
from hyperpod_platform.network import Network, NetworkArgs
from hyperpod_platform.storage import SharedStorage, SharedStorageArgs

settings = stack_config.load()  # validates everything before any resource is registered
name = settings.cluster.name
tags = settings.tag_dict
login_group = settings.cluster.login_group

network = Network(name, NetworkArgs(settings=settings.network, tags=tags, region=settings.region))
primary_subnet = network.private_subnets[0]
node_subnets = network.private_subnets if settings.cluster.subnet_placement == "all" else [primary_subnet]
cluster_sg = network.cluster_security_group

storage = (
    SharedStorage(
        name,
        SharedStorageArgs(
            settings=settings.fsx, subnet_id=primary_subnet.id, security_group_id=cluster_sg.id, tags=tags
        ),
    )
    if settings.fsx.enabled
    else None
)

vpn = (
    ClientVpn(
        name,
        ClientVpnArgs(
            settings=settings.vpn,
            vpc_id=network.vpc_id,
            vpc_cidr=settings.network.vpc_cidr,
            subnet_ids=[s.id for s in network.private_subnets],
            tags=tags,
        ),
    )
    if settings.vpn.enabled
    else None
)

login = (
    LoginAccess(
        name,
        LoginAccessArgs(
            settings=settings.login,
            login_group=login_group.name,
            vpc_id=network.vpc_id,
            vpc_cidr=network.vpc_cidr,
            subnet_ids=[s.id for s in network.private_subnets],
            cluster_security_group_id=cluster_sg.id,
            tags=tags,
            client_cidrs=[settings.vpn.client_cidr] if vpn else [],
        ),
    )
    if settings.login.enabled
    else None
)

ds = settings.directory
directory_subnets = [s.id for s in network.private_subnets[:2]]  # distinct AZs (validated)
directory = ldaps = contents = None
connection = parameter_name(name) if ds.enabled else None  # SSM parameter the nodes find the directory through
if ds.enabled:
    directory = Directory(
        name, DirectoryArgs(settings=ds, vpc_id=network.vpc_id, subnet_ids=directory_subnets, tags=tags)
    )
    ldaps = LdapsEndpoint(
        name,
        LdapsEndpointArgs(
            settings=ds.ldaps,
            domain_name=ds.domain_name,
            vpc_id=network.vpc_id,
            subnet_ids=directory_subnets,
            controller_ips=directory.dns_ips,
            controller_count=directory.controller_count,
            cluster_security_group_id=cluster_sg.id,
            tags=tags,
        ),
    )
    contents = DirectoryContents(
        name,
        DirectoryContentsArgs(
            directory_id=directory.directory_id,
            region=settings.region,
            bind_user=ds.bind_user,
            bind_password=directory.bind_password,
            groups=ds.groups,
            users=ds.users,
            protect=ds.protect,
        ),
    )
    DirectoryConnection(
        name,
        DirectoryConnectionArgs(  # published once the directory can serve the nodes
            parameter_name=connection,
            ldaps_uri=ldaps.uri,
            bind_dn=contents.bind_dn,
            bind_secret_arn=directory.bind_secret_arn,
            group_dns=contents.group_dns,
            groups=ds.allowed_groups,
            ca_certificate_pem=ldaps.ca_certificate_pem,
            tags=tags,
        ),
    )
    if ds.admin_instance:
        DirectoryAdminHost(
            name,
            DirectoryAdminHostArgs(
                directory_id=directory.directory_id,
                domain_name=ds.domain_name,
                dns_ips=directory.dns_ips,
                vpc_id=network.vpc_id,
                subnet_id=primary_subnet.id,
                instance_type=ds.admin_instance_type,
                tags=tags,
            ),
        )

platform = platform_json(  # nothing of the directory in it: the cluster does not wait for Managed AD
    settings,
    fsx_dns_name=storage.dns_name if storage else None,
    fsx_mount_name=storage.mount_name if storage else None,
    login_secret_arn=login.host_keys_secret.arn if login else None,
    login_host=login.host_name if login else None,
    directory=node_settings(ds, connection, f"{settings.fsx.mount_path}/home/%u" if storage else "/home/%u")
    if connection
    else None,
)
lifecycle = LifecycleBucket(
    name,
    LifecycleBucketArgs(
        cluster_name=name,
        tags=tags,
        bucket_name=settings.lifecycle.bucket_name,
        rendered={PLATFORM_FILE: platform},
    ),
)

role = ExecutionRole(
    name,
    ExecutionRoleArgs(
        vpc_arn=network.vpc_arn,
        subnet_arns=[s.arn for s in node_subnets],
        security_group_arns=[cluster_sg.arn],
        bucket_arn=lifecycle.bucket.arn,
        lifecycle_prefix=PREFIX,
        tags=tags,
        readable_secret_arns=[
            *([login.host_keys_secret.arn] if login else []),
            *([directory.bind_secret_arn] if directory else []),
        ],
        readable_parameter_names=[connection] if connection else [],
    ),
)

cluster = HyperPodCluster(
    name,
    HyperPodClusterArgs(
        settings=settings.cluster,
        execution_role_arn=role.arn,
        subnet_ids=[s.id for s in node_subnets],
        security_group_ids=[cluster_sg.id],
        source_s3_uri=lifecycle.source_s3_uri,
        tags=tags,
    ),
)

if login:
    LoginTargets(
        name,
        LoginTargetsArgs(
            target_group_arn=login.target_group.arn,
            login_group=login_group.name,
            count=login_group.count,
            vpc_id=network.vpc_id,
            cluster_arn=cluster.arn,
            target_ips=settings.login.target_ips,
        ),
    )
    pulumi.export("loginHost", login.host_name)
    pulumi.export("loginKnownHosts", login.known_hosts)

paths = AccessPaths(
    name,
    AccessPathsArgs(
        settings=settings.access,
        cluster_name=name,
        cluster_arn=cluster.arn,
        vpc_id=network.vpc_id,
        public_subnet_id=network.public_subnets[0].id if network.public_subnets else None,
        cluster_security_group_id=cluster_sg.id,
        tags=tags,
    ),
)
if paths.ssm_ssh_config:
    pulumi.export("ssmUserPolicyArn", paths.ssm_policy_arn)
    pulumi.export("ssmSshConfig", paths.ssm_ssh_config)
if paths.bastion_ssh_config:
    pulumi.export("bastionSshConfig", paths.bastion_ssh_config)
if vpn:
    pulumi.export("vpnEndpointId", vpn.endpoint.id)
    pulumi.export("vpnProfiles", vpn.profiles)  # secret: `scripts/vpn-profile NAME` writes one to a file

pulumi.export("clusterName", name)
pulumi.export("clusterArn", cluster.arn)
pulumi.export("vpcId", network.vpc_id)
pulumi.export("privateSubnetIds", [s.id for s in network.private_subnets])
pulumi.export("clusterSecurityGroupId", cluster_sg.id)
pulumi.export("lifecycleS3Uri", lifecycle.source_s3_uri)
pulumi.export("executionRoleArn", role.arn)
if directory:
    pulumi.export("directoryId", directory.directory_id)
    pulumi.export("ldapsUri", ldaps.uri)
    pulumi.export("ldapBindSecretArn", directory.bind_secret.arn)
    pulumi.export("directoryConnectionParameter", connection)
    if directory.admin_secret:
        pulumi.export("directoryAdminSecretArn", directory.admin_secret.arn)
if storage:
    pulumi.export("fsxDnsName", storage.dns_name)
    pulumi.export("fsxMountName", storage.mount_name)
