"""``vpn``: the Client VPN endpoint (hyperpod_platform/client_vpn.py)."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from hyperpod_platform.settings import NetworkSettings, VpnSettings

from ._reader import _cidr, _enum, _network, _range, _Reader
from .network import LOG_RETENTION_DAYS


def _client_cidr(network: NetworkSettings):
    """The clients' range: a /12 to /22 outside the VPC CIDR."""

    def check(c: str):
        bad = _cidr(c)
        if bad:
            return bad
        net = ipaddress.IPv4Network(c)
        if not 12 <= net.prefixlen <= 22:
            return ("Client VPN client ranges must be /12 to /22", "use a /22, e.g. 10.255.0.0/22")
        vpc = _network(network.vpc_cidr) if network.vpc_cidr else None
        if vpc is not None and net.overlaps(vpc):
            return (f"overlaps the VPC CIDR {network.vpc_cidr}", "pick a range outside the VPC, e.g. 10.255.0.0/22")
        return None

    return check


def _parse_vpn(r: _Reader, raw: Any, network: NetworkSettings) -> VpnSettings:
    path = "vpn"
    v = r.obj(raw, path, ("enabled", "clientCidr", "clients", "splitTunnel", "port", "logRetentionDays", "pkiVersion"))
    enabled = r.get(v, "enabled", path, bool, False)
    if not enabled:
        return VpnSettings()
    cidr = r.get(v, "clientCidr", path, str, check=_client_cidr(network))
    clients = r.str_list(
        v,
        "clients",
        path,
        [],
        item=lambda c: (
            None
            if re.match(r"^[a-z0-9][a-z0-9-]{0,31}$", c)
            else ("client names must be 1-32 lowercase letters, digits or hyphens", "use a short name like 'alice'")
        ),
    )
    if network.mode == "existing":
        r.fail(
            f"{path}.enabled",
            True,
            "the VPN needs the VPC CIDR, known only for a VPC this stack creates",
            "set vpn.enabled: false, or use network.mode: create",
        )
    return VpnSettings(
        enabled=True,
        client_cidr=cidr or "",
        clients=tuple(clients),
        split_tunnel=r.get(v, "splitTunnel", path, bool, True),
        port=r.get(v, "port", path, int, 443, _enum(443, 1194)) or 443,
        log_retention_days=r.get(v, "logRetentionDays", path, int, 90, _enum(*LOG_RETENTION_DAYS)) or 90,
        pki_version=r.get(v, "pkiVersion", path, int, 1, _range(1, 10_000)) or 1,
    )
