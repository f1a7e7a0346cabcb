"""``network``: a VPC the stack creates, or an existing one (hyperpod_platform/network.py)."""

from __future__ import annotations

import ipaddress
from typing import Any

from hyperpod_platform import checks
from hyperpod_platform.checks import (  # noqa: F401 - the patterns: re-exported
    AZ_RE,
    LOG_RETENTION_DAYS,
    NAT_GATEWAYS,
    RTB_ID_RE,
    SUBNET_ID_RE,
    VPC_ID_RE,
)
from hyperpod_platform.settings import NetworkSettings

from ._reader import _cidr, _enum, _network, _Reader

NETWORK_KEYS = (
    "mode",
    "availabilityZones",
    "vpcCidr",
    "privateSubnetCidrs",
    "publicSubnetCidrs",
    "natGateways",
    "flowLogs",
    "flowLogsRetentionDays",
    "vpcId",
    "privateSubnetIds",
    "routeTableIds",
)
CREATE_ONLY = ("vpcCidr", "privateSubnetCidrs", "publicSubnetCidrs", "availabilityZones", "natGateways")
EXISTING_ONLY = ("vpcId", "privateSubnetIds", "routeTableIds")


def _parse_network(r: _Reader, raw: Any, region: str) -> NetworkSettings:
    path = "network"
    n = r.obj(raw, path, NETWORK_KEYS)
    mode = r.get(n, "mode", path, str, "create", _enum("create", "existing"))
    flow_logs = r.get(n, "flowLogs", path, bool, False)
    retention = r.get(n, "flowLogsRetentionDays", path, int, 30, _enum(*LOG_RETENTION_DAYS))
    if mode == "existing":
        return _parse_existing(r, n, path, bool(flow_logs), retention or 30)
    return _parse_create(r, n, path, region, bool(flow_logs), retention or 30)


def _only_in_mode(r: _Reader, n: dict, path: str, keys: tuple[str, ...], mode: str) -> None:
    for key in keys:
        if key in n:
            r.unread(
                f"{path}.{key}",
                n[key],
                f"applies only when network.mode is '{mode}'",
                f"remove {path}.{key}, or set network.mode: {mode}",
            )


def _parse_existing(r: _Reader, n: dict, path: str, flow_logs: bool, retention: int) -> NetworkSettings:
    """An existing VPC: its id, two or more private subnets, and optionally their route tables."""
    _only_in_mode(r, n, path, CREATE_ONLY, "create")
    vpc_id = r.get(n, "vpcId", path, str, check=checks.vpc_id)
    subnets = r.str_list(n, "privateSubnetIds", path, item=checks.subnet_id)
    if "privateSubnetIds" in n and len(subnets) < 2:
        r.fail(
            f"{path}.privateSubnetIds",
            n.get("privateSubnetIds"),
            "needs at least 2 private subnets in distinct AZs",
            "list two or more private subnets of the VPC, in different AZs",
        )
    rtbs = r.str_list(n, "routeTableIds", path, [], item=checks.route_table_id)
    return NetworkSettings(
        mode="existing",
        vpc_id=vpc_id or "",
        private_subnet_ids=tuple(subnets),
        route_table_ids=tuple(rtbs),
        flow_logs=flow_logs,
        flow_logs_retention_days=retention,
    )


def _parse_create(r: _Reader, n: dict, path: str, region: str, flow_logs: bool, retention: int) -> NetworkSettings:
    """A VPC the stack creates: AZs of the region, the VPC CIDR and one private and public subnet per AZ."""
    _only_in_mode(r, n, path, EXISTING_ONLY, "existing")
    azs = _availability_zones(r, n, path, region)
    before = len(r.problems)
    vpc_cidr = r.get(n, "vpcCidr", path, str, "10.0.0.0/16", checks.vpc_cidr)
    vpc_net = _network(vpc_cidr) if vpc_cidr and len(r.problems) == before else None  # no containment checks
    private = r.str_list(n, "privateSubnetCidrs", path, item=_cidr)
    public = r.str_list(n, "publicSubnetCidrs", path, item=_cidr)
    _subnet_cidr_problems(r, n, path, vpc_cidr, vpc_net, private, public)
    nat = r.get(n, "natGateways", path, str, "perAz", _enum(*NAT_GATEWAYS))
    return NetworkSettings(
        mode="create",
        availability_zones=tuple(azs),
        vpc_cidr=vpc_cidr or "",
        private_subnet_cidrs=tuple(private),
        public_subnet_cidrs=tuple(public),
        nat_gateways=nat or "perAz",
        flow_logs=flow_logs,
        flow_logs_retention_days=retention,
    )


def _availability_zones(r: _Reader, n: dict, path: str, region: str) -> list[str]:
    """Two or more AZ names, each of the stack's region."""
    azs = r.str_list(n, "availabilityZones", path, item=checks.availability_zone)
    if "availabilityZones" in n and isinstance(n["availabilityZones"], list):
        if len(n["availabilityZones"]) < 2:
            r.fail(
                f"{path}.availabilityZones",
                n["availabilityZones"],
                "needs at least 2 AZs (Managed AD, the login NLB and resilience need two)",
                "list two or more AZs of the region",
            )
        for i, az in enumerate(azs):
            m = AZ_RE.match(az)
            if m and region and m.group(1) != region:
                r.fail(
                    f"{path}.availabilityZones[{i}]",
                    az,
                    f"is not in the stack's region {region} (aws:region)",
                    f"use an AZ of {region}, like {region}a",
                )
    return azs


def _subnet_cidr_problems(
    r: _Reader,
    n: dict,
    path: str,
    vpc_cidr: str,
    vpc_net: ipaddress.IPv4Network | None,
    private: list[str],
    public: list[str],
) -> None:
    """One CIDR per AZ, each inside the VPC CIDR, /28 or larger, and overlapping no other subnet."""
    blocks: list[tuple[str, str]] = []
    for key, cidrs in (("privateSubnetCidrs", private), ("publicSubnetCidrs", public)):
        raw_list = n.get(key)
        az_list = n.get("availabilityZones")
        if (
            isinstance(raw_list, list)
            and isinstance(az_list, list)
            and len(az_list) >= 2
            and len(raw_list) != len(az_list)
        ):
            r.fail(
                f"{path}.{key}",
                raw_list,
                f"needs one CIDR per AZ ({len(az_list)} AZs listed)",
                f"give exactly {len(az_list)} CIDRs, in the order of network.availabilityZones",
            )
        blocks += [(f"{path}.{key}[{i}]", c) for i, c in enumerate(cidrs)]
    for label, cidr, why, fix in checks.subnet_blocks(vpc_net, blocks):
        r.fail(label, cidr, why, fix)
