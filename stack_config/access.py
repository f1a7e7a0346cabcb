"""``access``: SSH over SSM and the optional bastion (hyperpod_platform/access.py)."""

from __future__ import annotations

from typing import Any

from hyperpod_platform.errors import MISSING as _MISSING
from hyperpod_platform.settings import AccessSettings, NetworkSettings

from ._reader import _Reader
from .aws_lookups import ec2_type_check
from .login import _ssh_sources


def _parse_access(r: _Reader, raw: Any, network: NetworkSettings) -> AccessSettings:
    path = "access"
    a = r.obj(raw, path, ("ssm", "bastion", "bastionAllowedCidrs", "bastionInstanceType", "bastionKeyName"))
    bastion = r.get(a, "bastion", path, bool, False)
    cidrs = _ssh_sources(r, a, "bastionAllowedCidrs", path)
    if bastion and not a.get("bastionAllowedCidrs"):
        r.fail(
            f"{path}.bastionAllowedCidrs",
            _MISSING,
            "a bastion needs the client ranges allowed to reach it",
            "list your office or VPN egress ranges",
        )
    if bastion and network.mode == "existing":
        r.fail(
            f"{path}.bastion",
            True,
            "the bastion goes in a public subnet this stack creates",
            "set access.bastion: false, or use network.mode: create",
        )
    itype = r.get(
        a,
        "bastionInstanceType",
        path,
        str,
        "t3.micro",
        ec2_type_check("bastion", x86_only="the Amazon Linux 2023 x86_64 image"),
    )
    return AccessSettings(
        ssm=r.get(a, "ssm", path, bool, True),
        bastion=bool(bastion),
        bastion_allowed_cidrs=tuple(cidrs),
        bastion_instance_type=itype or "t3.micro",
        bastion_key_name=r.get(a, "bastionKeyName", path, str, None),
    )
