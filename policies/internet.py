"""What counts as "open to the internet" for a set of source ranges.

One definition for the policy pack (imported as ``internet`` when the pack runs from ``policies/``) and for
the program's config check (imported as ``policies.internet``): standard library only.

A set of ranges is judged by its union, so the whole internet written as two halves (``0.0.0.0/1`` and
``128.0.0.0/1``), or as many small pieces, is the whole internet. Only public addresses count: private,
shared, loopback, link-local, documentation, multicast and reserved space (IANA's special-purpose registry)
cannot reach a VPC from the internet. A union that admits at least ``WORLD_SHARE`` of the public IPv4 or
IPv6 space is "the internet": no legitimate client range is that wide (the largest allocations are /8s,
1/220 of public IPv4), and it catches "everything except a few ranges" as well as the whole space.
"""

from __future__ import annotations

import ipaddress
from typing import Iterable, Union

Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

WORLD_SHARE = 1 / 16
"""A union admitting this share of public IPv4 or IPv6 addresses (or more) is open to the internet."""

_NOT_PUBLIC_V4 = [
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",  # "this network"
        "10.0.0.0/8",  # private
        "100.64.0.0/10",  # shared (carrier-grade NAT)
        "127.0.0.0/8",  # loopback
        "169.254.0.0/16",  # link-local
        "172.16.0.0/12",  # private
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation
        "192.88.99.0/24",  # deprecated 6to4 relay
        "192.168.0.0/16",  # private
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # documentation
        "203.0.113.0/24",  # documentation
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, broadcast
    )
]
_GLOBAL_V6 = ipaddress.ip_network("2000::/3")  # global unicast
_NOT_PUBLIC_V6 = [ipaddress.ip_network("2001:db8::/32")]  # documentation


def _minus(nets: list[Network], holes: list[Network]) -> list[Network]:
    out = list(nets)
    for hole in holes:
        rest: list[Network] = []
        for net in out:
            if net.version != hole.version or not net.overlaps(hole):
                rest.append(net)
            elif net.subnet_of(hole):
                continue
            else:
                rest.extend(net.address_exclude(hole))
        out = rest
    return out


_PUBLIC_V4 = _minus([ipaddress.ip_network("0.0.0.0/0")], _NOT_PUBLIC_V4)
_PUBLIC_V6 = _minus([_GLOBAL_V6], _NOT_PUBLIC_V6)
PUBLIC_V4_ADDRESSES = sum(n.num_addresses for n in _PUBLIC_V4)
PUBLIC_V6_ADDRESSES = sum(n.num_addresses for n in _PUBLIC_V6)


def networks(cidrs: Iterable[str]) -> list[Network]:
    """The parseable ranges among ``cidrs`` (host bits allowed, as AWS reads them); the rest is skipped."""
    out = []
    for cidr in cidrs:
        try:
            out.append(ipaddress.ip_network(str(cidr).strip(), strict=False))
        except ValueError:
            continue
    return out


def _public_count(nets: list[Network], public: list[Network]) -> int:
    merged = list(ipaddress.collapse_addresses(nets)) if nets else []
    total = 0
    for net in merged:
        for pub in public:
            if net.overlaps(pub):
                if net.subnet_of(pub):
                    total += net.num_addresses
                elif pub.subnet_of(net):
                    total += pub.num_addresses
    return total


def internet_share(cidrs: Iterable[str]) -> float:
    """The larger of the shares of public IPv4 and of public IPv6 addresses that the union of ``cidrs`` admits
    (0.0 to 1.0)."""
    nets = networks(cidrs)
    v4 = [n for n in nets if n.version == 4]
    v6 = [n for n in nets if n.version == 6]
    return max(_public_count(v4, _PUBLIC_V4) / PUBLIC_V4_ADDRESSES, _public_count(v6, _PUBLIC_V6) / PUBLIC_V6_ADDRESSES)


def opens_to_internet(cidrs: Iterable[str]) -> bool:
    """True when the union of ``cidrs`` admits at least ``WORLD_SHARE`` of the public IPv4 or IPv6 internet."""
    return internet_share(cidrs) >= WORLD_SHARE
