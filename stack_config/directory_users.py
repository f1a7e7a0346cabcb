"""``directory.users``: the directory's users and their OpenSSH public keys
(hyperpod_platform/directory_contents.py)."""

from __future__ import annotations

from typing import Any, Optional

from hyperpod_platform.checks import (  # noqa: F401 - the patterns: re-exported
    EMAIL_RE,
    MAX_SSH_KEYS,
    SAM_RE,
    SSH_KEY_TYPES,
    account_name,
    email,
    name_part,
    ssh_key_characters,
    ssh_key_identity,
    ssh_public_key,
)
from hyperpod_platform.settings import DirectoryUserSettings

from ._reader import _Reader

USER_KEYS = ("name", "groups", "sshPublicKeys", "email", "givenName", "surname")


# The value checks live in hyperpod_platform.checks (DirectoryContents runs them on its own args too).
_sam = account_name

EMAIL_MAX = 254
"""RFC 5321: a path is at most 256 octets with its angle brackets, so an address at most 254 (errata 1690); a
local part at most 64 (4.5.3.1.1), a domain at most 255 (4.5.3.1.2), each DNS label at most 63 (RFC 1035). The
Directory Service Data API takes up to 256 characters (EmailAddress)."""


def _printable(v: str) -> Optional[tuple[str, str]]:
    """No control, format or separator characters other than the ASCII space: they reach the directory's
    attributes as they are, and break the LDAP tools and SSSD that read them."""
    import unicodedata

    for i, c in enumerate(v):
        if c != " " and unicodedata.category(c)[0] in "CZ":
            return (
                f"holds {unicodedata.name(c, 'a control character')} (U+{ord(c):04X}) at character {i + 1}",
                "type it again as plain text on one line",
            )
    return None


def _email(v: str) -> Optional[tuple[str, str]]:
    """An email address within RFC 5321's lengths, of printable characters."""
    bad = _printable(v)
    if bad:
        return bad
    if len(v) > EMAIL_MAX:
        return (f"is {len(v)} characters; an email address has at most {EMAIL_MAX} (RFC 5321)", "give a real address")
    bad = email(v)
    if bad:
        return bad
    local, _, domain = v.rpartition("@")
    if len(local) > 64:
        return (f"has a local part of {len(local)} characters; at most 64 (RFC 5321)", "give a real address")
    if any(len(label) > 63 for label in domain.split(".")):
        return ("has a domain label longer than 63 characters (RFC 1035)", "give a real address")
    return None


def _ssh_key(v: str) -> Optional[tuple[str, str]]:
    """An OpenSSH public key line of characters OpenSSH reads (:func:`ssh_key_characters`), then parsed."""
    return ssh_key_characters(v) or ssh_public_key(v)


def _length_1_64(v: str) -> Optional[tuple[str, str]]:
    """A given name or surname: 1-64 characters (the Data API's GivenName, Surname), printable."""
    return _printable(v) or name_part(v)


def _parse_users(
    r: _Reader, d: dict, path: str, groups: list[str], bind_user: str
) -> tuple[DirectoryUserSettings, ...]:
    """Every user, then names that clash: two users, a user and the bind user, a user and a group."""
    users: list[DirectoryUserSettings] = []
    users_raw = r.get(d, "users", path, list, [])
    for i, u_raw in enumerate(users_raw or []):
        user = _parse_user(r, u_raw, f"{path}.users[{i}]", groups)
        if user:
            users.append(user)
    _user_name_clashes(r, path, [u.name.lower() for u in users], groups, bind_user)
    return tuple(users)


def _parse_user(r: _Reader, u_raw: Any, upath: str, groups: list[str]) -> Optional[DirectoryUserSettings]:
    u = r.obj(u_raw, upath, USER_KEYS, item=True)
    if not isinstance(u_raw, dict):
        return None
    uname = r.get(u, "name", upath, str, check=_sam("user names"))
    ugroups = r.str_list(
        u,
        "groups",
        upath,
        [],
        item=lambda v: (
            None
            if v in groups
            else ("is not one of directory.groups", f"use one of: {', '.join(groups)}, or add it to directory.groups")
        ),
    )
    keys = r.str_list(u, "sshPublicKeys", upath, [], item=_ssh_key, same=ssh_key_identity)
    if len(keys) > MAX_SSH_KEYS:
        r.fail(
            f"{upath}.sshPublicKeys",
            len(keys),
            f"the Directory Service Data API keeps at most {MAX_SSH_KEYS} values of an attribute "
            "(altSecurityIdentities)",
            f"list at most {MAX_SSH_KEYS} keys",
        )
    mail = r.get(u, "email", upath, str, None, _email)
    given = r.get(u, "givenName", upath, str, None, _length_1_64)
    surname = r.get(u, "surname", upath, str, None, _length_1_64)
    if not uname:
        return None
    return DirectoryUserSettings(
        name=uname,
        groups=tuple(ugroups),
        ssh_public_keys=tuple(keys),
        email=mail,
        given_name=given,
        surname=surname,
    )


def _user_name_clashes(r: _Reader, path: str, names: list[str], groups: list[str], bind_user: str) -> None:
    """User names (lowercase) are unique, are not the bind user's, and no group's (AD names are one space)."""
    for dup in sorted({n for n in names if names.count(n) > 1}):
        r.fail(
            f"{path}.users",
            dup,
            "two users share this name (names are case-insensitive)",
            "give each user its own name",
        )
    if bind_user.lower() in names:
        r.fail(
            f"{path}.users",
            bind_user,
            "is the bind user, which the stack manages itself",
            "remove it from directory.users, or set another directory.bindUser",
        )
    clash = {g.lower() for g in groups} & set(names + [bind_user.lower()])
    if clash:
        r.fail(
            f"{path}.groups",
            sorted(clash),
            "share a name with a user (AD names are unique across both)",
            "rename the group or the user",
        )
