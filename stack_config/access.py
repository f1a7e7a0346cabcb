"""``access``: SSH over SSM and the optional bastion (hyperpod_platform/access.py)."""

from __future__ import annotations

from typing import Any, Optional

from hyperpod_platform.errors import MISSING as _MISSING
from hyperpod_platform.settings import AccessSettings, NetworkSettings

from ._reader import _Reader
from .aws_lookups import ec2_type_check
from .login import _ssh_sources

KEY_NAME_MAX = 255
"""EC2 key pair names: up to 255 ASCII characters (botocore's ec2 model, CreateKeyPair KeyName), without leading
or trailing spaces (the EC2 User Guide, "Create a key pair")."""


def _key_name(v: str) -> Optional[tuple[str, str]]:
    """An EC2 key pair name: 1-255 printable ASCII characters, no leading or trailing space."""
    fix = "give the name `aws ec2 describe-key-pairs` shows for your key pair, e.g. 'ops-bastion'"
    if not 1 <= len(v) <= KEY_NAME_MAX:
        return (f"is {len(v)} characters; an EC2 key pair name has 1-{KEY_NAME_MAX}", fix)
    bad = next((i for i, c in enumerate(v) if not " " <= c <= "~"), None)
    if bad is not None:
        return (
            f"holds U+{ord(v[bad]):04X} at character {bad + 1}; EC2 key pair names are printable ASCII "
            "(no control characters, no other Unicode)",
            fix,
        )
    if v != v.strip(" "):
        return ("starts or ends with a space, which EC2 key pair names may not", "remove the spaces")
    return None


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
        bastion_key_name=r.get(a, "bastionKeyName", path, str, None, _key_name),
    )
