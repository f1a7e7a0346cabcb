"""``login``: the login nodes behind an internal NLB (hyperpod_platform/login_access.py, login_targets.py),
and the SSH client ranges that both the NLB and the bastion take."""

from __future__ import annotations

import ipaddress
from typing import Any

from hyperpod_platform.checks import ipv4_address
from hyperpod_platform.settings import ClusterSettings, LoginSettings, NetworkSettings, VpnSettings

from ._reader import _cidr, _network, _range, _Reader


def _ssh_sources(r: _Reader, raw: dict, key: str, path: str) -> list[str]:
    """Client ranges allowed to SSH: valid CIDRs whose union is not the internet (the pack's own test,
    ``policies/internet.py``, so the whole internet written as pieces is refused here as it is there)."""
    from policies.internet import internet_share, opens_to_internet

    cidrs = r.str_list(raw, key, path, [], item=_cidr)
    if opens_to_internet(cidrs):
        r.fail(
            f"{path}.{key}",
            cidrs,
            f"together these ranges admit {internet_share(cidrs):.0%} of the public "
            "internet, which would open SSH to the world",
            "list only the client networks that need SSH",
        )
        return []
    return cidrs


def _parse_login(r: _Reader, raw: Any, network: NetworkSettings, cluster: ClusterSettings) -> LoginSettings:
    path = "login"
    lg = r.obj(raw, path, ("enabled", "allowedCidrs", "stickiness", "targetIps", "hostKeyVersion"))
    enabled = r.get(lg, "enabled", path, bool, True)

    cidrs = _ssh_sources(r, lg, "allowedCidrs", path)

    def ip(v: str):
        bad = ipv4_address("give the login nodes' private IPs, or omit targetIps")(v)
        if bad:
            return bad
        addr = ipaddress.IPv4Address(v)
        nets = [ipaddress.IPv4Network(c) for c in network.private_subnet_cidrs if _network(c)]
        if nets and not any(addr in n for n in nets):
            return ("is not in any private subnet", "give the login nodes' private IPs")
        return None

    target_ips = r.str_list(lg, "targetIps", path, [], item=ip)
    login = cluster.login_group
    if target_ips and login and len(target_ips) != login.count:
        r.fail(
            f"{path}.targetIps",
            target_ips,
            f"the login group has {login.count} node(s)",
            f"list {login.count} IPs, or omit targetIps to look them up",
        )
    if "enabled" in lg and enabled and cluster.instance_groups and not login:
        r.fail(
            f"{path}.enabled",
            True,
            "there is no login group to put behind the NLB",
            "add a group with role: login, or set login.enabled: false",
        )
    version = r.get(lg, "hostKeyVersion", path, int, 1, _range(1, 10_000))
    return LoginSettings(
        enabled=bool(enabled) and login is not None,
        allowed_cidrs=tuple(cidrs),
        stickiness=r.get(lg, "stickiness", path, bool, True),
        target_ips=tuple(target_ips),
        host_key_version=version or 1,
    )


def _login_source_repeats(r: _Reader, raw: Any, login: LoginSettings, network: NetworkSettings, vpn: VpnSettings):
    """``login.allowedCidrs`` does not repeat a range the login NLB admits anyway (the VPC's, the VPN clients'):
    each range is one security group rule, and AWS refuses a duplicate rule."""
    if not login.enabled:
        return
    given = raw.get("allowedCidrs") if isinstance(raw, dict) else None
    admitted = {network.vpc_cidr: "network.vpcCidr"} if network.vpc_cidr else {}
    if vpn.enabled and vpn.client_cidr:
        admitted[vpn.client_cidr] = "vpn.clientCidr"
    for cidr in login.allowed_cidrs:
        if cidr in admitted:
            i = given.index(cidr) if isinstance(given, list) and cidr in given else 0
            r.fail(
                f"login.allowedCidrs[{i}]",
                cidr,
                f"is already a client range of the login NLB ({admitted[cidr]})",
                "remove it from login.allowedCidrs",
            )
