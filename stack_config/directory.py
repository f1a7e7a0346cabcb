"""``directory``: the AWS Managed Microsoft AD, created or existing (hyperpod_platform/directory.py,
directory_connection.py, directory_admin_host.py), its groups and who may log in where. Users are read by
``directory_users.py``, the LDAPS endpoint by ``ldaps.py``."""

from __future__ import annotations

import re
from typing import Any

from hyperpod_platform import checks
from hyperpod_platform.checks import (  # noqa: F401 - the patterns: re-exported
    AD_GROUP_RE,
    DIRECTORY_ID_RE,
    DIRECTORY_MODES,
    EDITIONS,
    NETBIOS_RE,
    ad_group,
    ipv4_address,
)
from hyperpod_platform.errors import MISSING as _MISSING
from hyperpod_platform.settings import ROLES, DirectorySettings

from ._reader import _enum, _range, _Reader
from .aws_lookups import ec2_type_check
from .directory_users import _parse_users, _sam
from .ldaps import _parse_ldaps

LINUX_GROUP_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
DIRECTORY_KEYS = (
    "enabled",
    "mode",
    "domainName",
    "shortName",
    "edition",
    "directoryId",
    "dnsIps",
    "protect",
    "bindUser",
    "bindPasswordVersion",
    "groups",
    "allowedGroups",
    "allowedGroupsByRole",
    "sudoGroups",
    "localGroups",
    "users",
    "defaultShell",
    "ldaps",
    "adminInstance",
    "adminInstanceType",
)


def _parse_directory(r: _Reader, raw: Any, region: str) -> DirectorySettings:
    path = "directory"
    d = r.obj(raw, path, DIRECTORY_KEYS)
    if not r.get(d, "enabled", path, bool, False):
        return DirectorySettings()
    identity = _directory_identity(r, d, path)
    bind_user = r.get(d, "bindUser", path, str, "ReadOnly", _sam("bind user names")) or "ReadOnly"
    groups = _directory_groups(r, d, path)
    users = _parse_users(r, d, path, list(groups["groups"]), bind_user)
    shell = (
        r.get(
            d,
            "defaultShell",
            path,
            str,
            "/bin/bash",
            lambda v: None if re.match(r"^/[A-Za-z0-9/._-]+$", v) else ("is not an absolute path", "use /bin/bash"),
        )
        or "/bin/bash"
    )
    ldaps = _parse_ldaps(r, d.get("ldaps", _MISSING), f"{path}.ldaps", region)
    itype = r.get(
        d,
        "adminInstanceType",
        path,
        str,
        "t3.medium",
        ec2_type_check("admin instance", x86_only="Windows Server (x86_64 only)"),
    )
    return DirectorySettings(
        enabled=True,
        **identity,
        protect=r.get(d, "protect", path, bool, True),
        bind_user=bind_user,
        bind_password_version=r.get(d, "bindPasswordVersion", path, int, 1, _range(1, 10_000)) or 1,
        **groups,
        users=users,
        default_shell=shell,
        ldaps=ldaps,
        admin_instance=bool(r.get(d, "adminInstance", path, bool, False)),
        admin_instance_type=itype or "t3.medium",
    )


def _directory_identity(r: _Reader, d: dict, path: str) -> dict[str, Any]:
    """Which directory: its mode, domain and NetBIOS names, edition, or an existing one's id and DNS IPs.
    Returns those DirectorySettings fields."""
    mode = r.get(d, "mode", path, str, "create", _enum(*DIRECTORY_MODES)) or "create"
    domain = r.get(d, "domainName", path, str, check=checks.domain_name)
    short = r.get(d, "shortName", path, str, None, checks.netbios_name)
    edition = r.get(d, "edition", path, str, "Standard", _enum(*EDITIONS)) or "Standard"
    directory_id = r.get(d, "directoryId", path, str, None, checks.directory_id)
    dns_ips = r.str_list(d, "dnsIps", path, [], item=_ipv4)
    _mode_keys(r, d, path, mode)
    return dict(
        mode=mode,
        domain_name=domain or "",
        short_name=short,
        edition=edition,
        directory_id=directory_id,
        dns_ips=tuple(dns_ips),
    )


_ipv4 = ipv4_address("give the domain controllers' IPs, or omit dnsIps")


def _mode_keys(r: _Reader, d: dict, path: str, mode: str) -> None:
    """Keys of the other mode are problems; an existing directory needs its id."""
    if mode == "existing":
        if d.get("directoryId") is None:  # left out, or an explicit null
            r.fail(
                f"{path}.directoryId",
                _MISSING,
                "is required when directory.mode is 'existing'",
                "set directory.directoryId to the existing directory's id",
            )
        for key in ("edition", "shortName"):
            if d.get(key) is not None:
                r.unread(
                    f"{path}.{key}", d[key], "applies only when directory.mode is 'create'", f"remove {path}.{key}"
                )
        if d.get("adminInstance"):
            r.fail(
                f"{path}.adminInstance",
                True,
                "the admin instance joins a directory this stack creates",
                "set directory.adminInstance: false, or use directory.mode: create",
            )
        return
    for key in ("directoryId", "dnsIps"):
        if d.get(key) is not None:
            r.unread(
                f"{path}.{key}",
                d[key],
                "applies only when directory.mode is 'existing'",
                f"remove {path}.{key}, or set directory.mode: existing",
            )


_ad_group = ad_group  # the check lives in hyperpod_platform.checks (DirectoryContents runs it too)


def _directory_groups(r: _Reader, d: dict, path: str) -> dict[str, Any]:
    """The groups the stack keeps, who may log in (overall and by role), who has sudo, and local groups.
    Returns those DirectorySettings fields."""
    groups = r.str_list(d, "groups", path, ["ClusterAdmin", "ClusterDev"], item=_ad_group, same=str.lower)
    allowed = r.str_list(d, "allowedGroups", path, ["ClusterAdmin", "ClusterDev"], item=_ad_group, same=str.lower)
    sudo = r.str_list(d, "sudoGroups", path, ["ClusterAdmin"], item=_ad_group, same=str.lower)
    local = r.str_list(
        d,
        "localGroups",
        path,
        ["ubuntu"],
        item=lambda v: (
            None
            if LINUX_GROUP_RE.match(v)
            else ("is not a Linux group name", "use lowercase letters, digits, '-' or '_', e.g. ubuntu")
        ),
    )
    for key, values in (("allowedGroups", allowed), ("sudoGroups", sudo)):
        for i, g in enumerate(values):
            if g not in groups:
                r.fail(
                    f"{path}.{key}[{i}]",
                    g,
                    "is not one of directory.groups (the groups the stack keeps)",
                    f"add {g} to directory.groups, or use one of: {', '.join(groups)}",
                )
    if not allowed:
        r.fail(f"{path}.allowedGroups", [], "no directory group could log in", "list at least one group")
    # A bad allowedGroups entry is reported once: checks against that list are skipped until it is fixed.
    written = d.get("allowedGroups")
    judged = (not isinstance(written, list) or len(written) == len(allowed)) and set(allowed) <= set(groups)
    by_role = _allowed_by_role(r, d.get("allowedGroupsByRole"), f"{path}.allowedGroupsByRole", allowed, judged)
    for i, g in enumerate(sudo if judged else []):
        if g not in allowed:
            r.fail(
                f"{path}.sudoGroups[{i}]",
                g,
                "has sudo but may not log in (not in directory.allowedGroups)",
                f"add {g} to directory.allowedGroups, or remove it from sudoGroups",
            )
    return dict(
        groups=tuple(groups),
        allowed_groups=tuple(allowed),
        allowed_groups_by_role=by_role,
        sudo_groups=tuple(sudo),
        local_groups=tuple(local),
    )


def _allowed_by_role(
    r: _Reader, raw: Any, path: str, allowed: list[str], judged: bool = True
) -> dict[str, tuple[str, ...]]:
    """``allowedGroupsByRole``: role -> a subset of ``allowedGroups``; every role is filled in."""
    if raw is None:
        return {role: tuple(allowed) for role in ROLES}
    if not isinstance(raw, dict):
        r.fail(path, raw, "must be a mapping of node role to groups", "give e.g. {controller: [ClusterAdmin]}")
        return {role: tuple(allowed) for role in ROLES}
    out = []
    for role in raw:
        if role not in ROLES:
            r.fail(f"{path}.{role}", raw[role], "is not a node role", f"use one of: {', '.join(ROLES)}")
    for role in ROLES:
        if role not in raw:
            out.append((role, tuple(allowed)))
            continue
        if raw[role] is None:
            r.fail(
                f"{path}.{role}",
                [],
                f"is empty: no directory group could log in to {role} nodes",
                f"list the groups allowed on {role} nodes, or remove {role} to allow all of allowedGroups",
            )
            continue
        values = r.str_list(
            raw,
            role,
            path,
            same=str.lower,
            item=lambda v: (
                None
                if v in allowed or not judged
                else (
                    "is not one of directory.allowedGroups",
                    f"use one of: {', '.join(allowed)}, or add it to allowedGroups",
                )
            ),
        )
        if role in raw and isinstance(raw[role], list) and not raw[role]:
            r.fail(
                f"{path}.{role}",
                [],
                f"no directory group could log in to {role} nodes",
                "list at least one group (local groups keep access regardless)",
            )
        out.append((role, tuple(dict.fromkeys(values))))
    return dict(out)
