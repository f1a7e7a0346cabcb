"""What every platform has, whatever orchestrates it: the network, shared storage and the Client VPN."""

from dataclasses import dataclass, field
from typing import Any, Optional

import pulumi

import hyperpod_platform as hp
from hyperpod_platform.settings import StackSettings


@dataclass
class Base:
    """The shared components and the values the orchestrators' wiring takes from them."""

    network: hp.Network
    storage: Optional[hp.Fsx]
    vpn: Optional[hp.ClientVpn]
    vpc: pulumi.Output[str]
    sg: pulumi.Output[str]
    subnets: list[pulumi.Output[str]]
    parts: dict[str, Any] = field(default_factory=dict)
    """The components the orchestrator's wiring built, by role (for programs that extend the stack)."""


def base(s: StackSettings) -> Base:
    name, tags = s.cluster.name, s.tag_dict
    network = hp.Network(
        name,
        hp.NetworkArgs(
            settings=s.network,
            tags=tags,
            region=s.region,
            # data accounts whose roles the teams' pods assume read through the S3 gateway endpoint
            endpoint_accounts=sorted({s.accounts[t.data.account].account_id for t in s.teams if t.data}),
        ),
    )
    vpc, sg, subnets = network.vpc_id, network.cluster_security_group.id, [n.id for n in network.private_subnets]
    storage = vpn = None
    if s.fsx.enabled:
        storage = hp.Fsx(name, hp.FsxArgs(settings=s.fsx, subnet_id=subnets[0], security_group_id=sg, tags=tags))
    if s.vpn.enabled:
        vpn = hp.ClientVpn(
            name,
            hp.ClientVpnArgs(settings=s.vpn, vpc_id=vpc, vpc_cidr=s.network.vpc_cidr, subnet_ids=subnets, tags=tags),
        )
    return Base(network, storage, vpn, vpc, sg, subnets)


def common_exports(s: StackSettings, b: Base) -> dict:
    """Exports every platform has."""
    return {
        "clusterName": s.cluster.name,
        "vpcId": b.vpc,
        "privateSubnetIds": b.subnets,
        "clusterSecurityGroupId": b.sg,
        "fsxDnsName": b.storage and b.storage.dns_name,
        "fsxMountName": b.storage and b.storage.mount_name,
        "vpnEndpointId": b.vpn and b.vpn.endpoint.id,
        "vpnProfiles": b.vpn and b.vpn.profiles,  # a secret: `scripts/vpn-profile NAME` writes one to a file
    }
