"""``vpn``: the Client VPN endpoint (hyperpod_platform/client_vpn.py)."""

from __future__ import annotations

from typing import Any

from hyperpod_platform.checks import LOG_RETENTION_DAYS, VPN_PORTS, vpn_client_cidr, vpn_client_name
from hyperpod_platform.settings import NetworkSettings, VpnSettings

from ._reader import _enum, _range, _Reader


def _client_cidr(network: NetworkSettings):
    """The clients' range: a /12 to /22 outside the VPC CIDR (the check lives in hyperpod_platform.checks)."""
    return vpn_client_cidr(network.vpc_cidr)


def _parse_vpn(r: _Reader, raw: Any, network: NetworkSettings) -> VpnSettings:
    path = "vpn"
    v = r.obj(raw, path, ("enabled", "clientCidr", "clients", "splitTunnel", "port", "logRetentionDays", "pkiVersion"))
    enabled = r.get(v, "enabled", path, bool, False)
    if not enabled:
        return VpnSettings()
    cidr = r.get(v, "clientCidr", path, str, check=_client_cidr(network))
    clients = r.str_list(v, "clients", path, [], item=vpn_client_name)
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
        port=r.get(v, "port", path, int, 443, _enum(*VPN_PORTS)) or 443,
        log_retention_days=r.get(v, "logRetentionDays", path, int, 90, _enum(*LOG_RETENTION_DAYS)) or 90,
        pki_version=r.get(v, "pkiVersion", path, int, 1, _range(1, 10_000)) or 1,
    )
