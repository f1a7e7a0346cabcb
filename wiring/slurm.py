"""A Slurm-orchestrated platform: login access, the directory over LDAPS, lifecycle scripts, the nodes' role, the
cluster, and the ways in."""

import dataclasses

import pulumi

import hyperpod_platform as hp
from hyperpod_platform import login_targets
from hyperpod_platform.directory_connection import node_settings, parameter_name
from hyperpod_platform.lifecycle_bucket import PLATFORM_FILE, platform_json
from hyperpod_platform.node_contract import NodeContract
from hyperpod_platform.settings import StackSettings

from .common import Base, common_exports, node_exports, nodes, secret_exports


def platform(s: StackSettings, b: Base) -> dict:
    """Wire the Slurm platform onto the shared components; returns the stack's exports."""
    name, tags, ds, login_group = s.cluster.name, s.tag_dict, s.directory, s.cluster.login_group
    network, storage, vpn, vpc, sg, subnets = b.network, b.storage, b.vpn, b.vpc, b.sg, b.subnets
    login = directory = ldaps = None
    if s.login.enabled:
        login = hp.LoginAccess(
            name,
            hp.LoginAccessArgs(
                settings=s.login,
                login_group=login_group.name,
                vpc_id=vpc,
                vpc_cidr=network.vpc_cidr,
                subnet_ids=subnets,
                cluster_security_group_id=sg,
                tags=tags,
                client_cidrs=[s.vpn.client_cidr] if vpn else [],
            ),
        )
    connection = parameter_name(name) if ds.enabled else None  # the SSM parameter nodes find the directory through
    if ds.enabled:
        dc_subnets = subnets[:2]  # two AZs (validated): one domain controller each
        directory = hp.Directory(name, hp.DirectoryArgs(settings=ds, vpc_id=vpc, subnet_ids=dc_subnets, tags=tags))
        ldaps = hp.LdapsEndpoint(
            name,
            hp.LdapsEndpointArgs(
                settings=ds.ldaps,
                domain_name=ds.domain_name,
                vpc_id=vpc,
                subnet_ids=dc_subnets,
                tags=tags,
                controller_ips=directory.dns_ips,
                controller_count=directory.controller_count,
                cluster_security_group_id=sg,
            ),
        )
        contents = hp.DirectoryContents(
            name,
            hp.DirectoryContentsArgs(
                directory_id=directory.directory_id,
                region=s.region,
                bind_user=ds.bind_user,
                bind_password=directory.bind_password,
                groups=ds.groups,
                users=ds.users,
                protect=ds.protect,
            ),
        )
        hp.DirectoryConnection(
            name,
            hp.DirectoryConnectionArgs(  # published once nodes can bind
                parameter_name=connection,
                ldaps_uri=ldaps.uri,
                bind_dn=contents.bind_dn,
                group_dns=contents.group_dns,
                bind_secret_arn=directory.bind_secret_arn,
                groups=ds.allowed_groups,
                ca_certificate_pem=ldaps.ca_certificate_pem,
                tags=tags,
            ),
        )
        if ds.admin_instance:
            hp.DirectoryAdminHost(
                name,
                hp.DirectoryAdminHostArgs(
                    directory_id=directory.directory_id,
                    domain_name=ds.domain_name,
                    dns_ips=directory.dns_ips,
                    vpc_id=vpc,
                    subnet_id=subnets[0],
                    instance_type=ds.admin_instance_type,
                    tags=tags,
                ),
            )

    home = f"{s.fsx.mount_path}/home/%u" if storage else "/home/%u"
    platform = platform_json(  # nothing of the directory: the cluster does not wait for Managed AD
        s,
        fsx_dns_name=storage and storage.dns_name,
        fsx_mount_name=storage and storage.mount_name,
        login_secret_arn=login and login.host_keys_secret.arn,
        login_host=login and login.host_name,
        directory=node_settings(ds, connection, home) if connection else None,
    )
    if login:  # login nodes register themselves in the NLB's target group (made from the VPC only, not the NLB)
        platform = pulumi.Output.all(platform, login.target_group.arn, vpc).apply(
            lambda v: dataclasses.replace(
                NodeContract.from_json(v[0]), login_targets=login_targets.node_settings(v[1], v[2])
            ).to_json()
        )
    readable = [a for a in (login and login.host_keys_secret.arn, directory and directory.bind_secret_arn) if a]
    n = nodes(
        s,
        b,
        hp.LifecycleBucketArgs(
            cluster_name=name, tags=tags, bucket_name=s.lifecycle.bucket_name, rendered={PLATFORM_FILE: platform}
        ),
        {"readable_secret_arns": readable, "readable_parameter_names": [connection] if connection else []},
    )
    if login:
        hp.LoginTargets(
            name,
            hp.LoginTargetsArgs(
                target_group_arn=login.target_group.arn,
                login_group=login_group.name,
                count=login_group.count,
                vpc_id=vpc,
                cluster_arn=n.cluster.arn,
                target_ips=s.login.target_ips,
                security_group_ids=[sg],
                execution_role=n.role.role.name,
            ),
        )
    b.parts.update(login=login, directory=directory, ldaps=ldaps)
    return secret_exports(
        {
            **common_exports(s, b),
            **node_exports(n),
            "loginHost": login and login.host_name,
            "loginKnownHosts": login and login.known_hosts,
            "directoryId": directory and directory.directory_id,
            "ldapsUri": ldaps and ldaps.uri,
            "ldapBindSecretArn": directory and directory.bind_secret_arn,
            "directoryConnectionParameter": connection,
            "directoryAdminSecretArn": directory and directory.admin_secret and directory.admin_secret.arn,
        }
    )
