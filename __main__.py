"""HyperPod platform: network, storage, login access, directory, lifecycle scripts, execution role, Slurm cluster."""
import json
from pathlib import Path

import pulumi

import stack_config
from components.access_paths import AccessPaths, AccessPathsArgs
from components.client_vpn import ClientVpn, ClientVpnArgs
from components.directory import Directory, DirectoryArgs
from components.directory_admin_host import DirectoryAdminHost, DirectoryAdminHostArgs
from components.directory_contents import DirectoryContents, DirectoryContentsArgs
from components.execution_role import ExecutionRole, ExecutionRoleArgs
from components.hyperpod_cluster import HyperPodCluster, HyperPodClusterArgs
from components.ldaps_endpoint import LdapsEndpoint, LdapsEndpointArgs
from components.lifecycle_bucket import PREFIX, LifecycleBucket, LifecycleBucketArgs
from components.login_access import LoginAccess, LoginAccessArgs
from components.login_targets import LoginTargets, LoginTargetsArgs
from components.network import Network, NetworkArgs
from components.storage import SharedStorage, SharedStorageArgs

settings = stack_config.load()  # validates everything before any resource is registered
name = settings.cluster.name
tags = settings.tag_dict
login_group = settings.cluster.login_group

network = Network(name, NetworkArgs(settings=settings.network, tags=tags, region=settings.region))
primary_subnet = network.private_subnets[0]
node_subnets = network.private_subnets if settings.cluster.subnet_placement == "all" else [primary_subnet]
cluster_sg = network.cluster_security_group

storage = (SharedStorage(name, SharedStorageArgs(settings=settings.fsx, subnet_id=primary_subnet.id,
                                                 security_group_id=cluster_sg.id, tags=tags))
           if settings.fsx.enabled else None)

vpn = (ClientVpn(name, ClientVpnArgs(settings=settings.vpn, vpc_id=network.vpc_id,
                                     vpc_cidr=settings.network.vpc_cidr,
                                     subnet_ids=[s.id for s in network.private_subnets], tags=tags))
       if settings.vpn.enabled else None)

login = (LoginAccess(name, LoginAccessArgs(
    settings=settings.login, login_group=login_group.name, vpc_id=network.vpc_id, vpc_cidr=network.vpc_cidr,
    subnet_ids=[s.id for s in network.private_subnets], cluster_security_group_id=cluster_sg.id, tags=tags,
    client_cidrs=[settings.vpn.client_cidr] if vpn else []))
    if settings.login.enabled else None)

ds = settings.directory
directory_subnets = [s.id for s in network.private_subnets[:2]]  # distinct AZs (validated)
directory = ldaps = contents = None
if ds.enabled:
    directory = Directory(name, DirectoryArgs(settings=ds, vpc_id=network.vpc_id, subnet_ids=directory_subnets,
                                              tags=tags))
    ldaps = LdapsEndpoint(name, LdapsEndpointArgs(
        settings=ds.ldaps, domain_name=ds.domain_name, vpc_id=network.vpc_id, subnet_ids=directory_subnets,
        controller_ips=directory.dns_ips, controller_count=directory.controller_count,
        cluster_security_group_id=cluster_sg.id, tags=tags))
    contents = DirectoryContents(name, DirectoryContentsArgs(
        directory_id=directory.directory_id, region=settings.region, bind_user=ds.bind_user,
        bind_password=directory.bind_password, groups=ds.groups, users=ds.users, protect=ds.protect))
    if ds.admin_instance:
        DirectoryAdminHost(name, DirectoryAdminHostArgs(
            directory_id=directory.directory_id, domain_name=ds.domain_name, dns_ips=directory.dns_ips,
            vpc_id=network.vpc_id, subnet_id=primary_subnet.id, instance_type=ds.admin_instance_type, tags=tags))

platform_json = pulumi.Output.all(
    fsx_dns=storage.dns_name if storage else None, fsx_mount=storage.mount_name if storage else None,
    login_secret=login.host_keys_secret.arn if login else None, login_host=login.host_name if login else None,
    ldaps_uri=ldaps.uri if ldaps else None, bind_dn=contents.bind_dn if contents else None,
    group_dns=contents.group_dns if contents else None, bind_secret=directory.bind_secret.arn if directory else None,
).apply(lambda v: json.dumps({
    "cluster_name": name,
    "region": settings.region,
    "fsx": {"dns_name": v["fsx_dns"], "mount_name": v["fsx_mount"], "mount_path": settings.fsx.mount_path}
    if storage else None,
    "groups": {g.name: g.role for g in settings.cluster.instance_groups},
    "login": {"host_keys_secret_id": v["login_secret"], "host_name": v["login_host"]} if login else None,
    "directory": {
        "domain": ds.domain_name, "ldaps_uri": v["ldaps_uri"], "search_base": ds.search_base,
        "bind_dn": v["bind_dn"], "bind_secret_id": v["bind_secret"], "ca_cert": "generated/ldaps-ca.pem",
        "allowed_groups": {g: v["group_dns"][g] for g in ds.allowed_groups}, "sudo_groups": list(ds.sudo_groups),
        "local_groups": list(ds.local_groups), "default_shell": ds.default_shell,
        "home_dir": f"{settings.fsx.mount_path}/home/%u" if storage else "/home/%u",
    } if directory else None,
}, indent=2, sort_keys=True))
rendered = {"generated/platform.json": platform_json}
if ldaps:
    rendered["generated/ldaps-ca.pem"] = ldaps.ca_certificate_pem  # public certificate only

lifecycle = LifecycleBucket(name, LifecycleBucketArgs(
    source_dir=Path(__file__).parent / "lifecycle", cluster_name=name, tags=tags,
    bucket_name=settings.lifecycle.bucket_name, rendered=rendered))

role = ExecutionRole(name, ExecutionRoleArgs(
    vpc_arn=network.vpc_arn, subnet_arns=[s.arn for s in node_subnets], security_group_arns=[cluster_sg.arn],
    bucket_arn=lifecycle.bucket.arn, lifecycle_prefix=PREFIX, tags=tags,
    readable_secret_arns=[*([login.host_keys_secret.arn] if login else []),
                          *([directory.bind_secret.arn] if directory else [])]))

cluster = HyperPodCluster(name, HyperPodClusterArgs(
    settings=settings.cluster, execution_role_arn=role.arn, subnet_ids=[s.id for s in node_subnets],
    security_group_ids=[cluster_sg.id], source_s3_uri=lifecycle.source_s3_uri, tags=tags,
    wait_for=[*lifecycle.objects, *role.ready, *(directory.ready + ldaps.ready if directory else [])]))

if login:
    LoginTargets(name, LoginTargetsArgs(
        target_group_arn=login.target_group.arn, login_group=login_group.name, count=login_group.count,
        vpc_id=network.vpc_id, cluster=cluster.cluster, target_ips=settings.login.target_ips))
    pulumi.export("loginHost", login.host_name)
    pulumi.export("loginKnownHosts", login.known_hosts)

paths = AccessPaths(name, AccessPathsArgs(
    settings=settings.access, cluster_name=name, cluster_arn=cluster.arn, vpc_id=network.vpc_id,
    public_subnet_id=network.public_subnets[0].id if network.public_subnets else None,
    cluster_security_group_id=cluster_sg.id, tags=tags))
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
    if directory.admin_secret:
        pulumi.export("directoryAdminSecretArn", directory.admin_secret.arn)
if storage:
    pulumi.export("fsxDnsName", storage.dns_name)
    pulumi.export("fsxMountName", storage.mount_name)
