"""``directory.users``: the directory's users and their OpenSSH public keys
(hyperpod_platform/directory_contents.py)."""

from __future__ import annotations

import re
from typing import Any, Callable, Optional

from hyperpod_platform.settings import DirectoryUserSettings

from ._reader import _Reader

SAM_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,18}[A-Za-z0-9_-]$|^[A-Za-z0-9]$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SSH_KEY_TYPES = (
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
)
USER_KEYS = ("name", "groups", "sshPublicKeys", "email", "givenName", "surname")


def _sam(what: str) -> Callable[[str], Optional[tuple[str, str]]]:
    """An account name (sAMAccountName) that is not reserved."""

    def check(v: str):
        if not SAM_RE.match(v):
            return (
                f"{what} must be 1-20 letters, digits, dots, hyphens or underscores, not starting with a "
                "dot or hyphen and not ending with a dot (sAMAccountName)",
                f"use e.g. '{what.split()[0]}1'",
            )
        if v.lower() in ("admin", "administrator", "root", "nobody", "krbtgt", "guest"):
            return (f"{v} is a reserved account name", "pick another name")
        return None

    return check


def _ssh_key(v: str):
    """An OpenSSH public key line, parsed (cryptography's OpenSSH reader): the key data must be a whole key of
    the type the line names, and RSA keys at least 2048 bits."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import load_ssh_public_key

    fix = "paste the whole line of the user's id_*.pub file, e.g. 'ssh-ed25519 AAAAC3Nza... alice@laptop'"
    if "PRIVATE KEY" in v:
        return (
            "is a private key; it must never be in config (rotate it if it was shared)",
            "give the public key: the one line of the matching .pub file",
        )
    parts = v.strip().split()
    if len(parts) < 2 or parts[0] not in SSH_KEY_TYPES:
        return (f"is not an OpenSSH public key line (types: {', '.join(SSH_KEY_TYPES)})", fix)
    if len(v) > 1024:
        return ("is longer than 1024 characters", "use an ed25519 or ecdsa key")
    try:
        key = load_ssh_public_key(" ".join(parts[:2]).encode())
    except Exception as exc:  # noqa: BLE001 - the reader says what is wrong with the key data
        inner = _ssh_blob_type(parts[1])
        if inner and inner != parts[0]:
            return (f"says {parts[0]} but its key data is {inner}", fix)
        return (f"has key data that is not a whole {parts[0]} key ({exc})", fix)
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < 2048:
        return (f"is a {key.key_size}-bit RSA key; keys under 2048 bits are refused", "use an ed25519 key")
    return None


def _ssh_blob_type(body: str) -> Optional[str]:
    """The key type named inside an OpenSSH key blob, if the blob can be read that far."""
    import base64
    import binascii
    import struct

    try:
        blob = base64.b64decode(body, validate=True)
        (length,) = struct.unpack(">I", blob[:4])
        return blob[4 : 4 + length].decode()
    except (binascii.Error, struct.error, UnicodeDecodeError, ValueError):
        return None


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


def _length_1_64(v: str):
    return None if 0 < len(v) <= 64 else ("must be 1-64 characters", "shorten it")


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
    keys = r.str_list(u, "sshPublicKeys", upath, [], item=_ssh_key, same=lambda k: tuple(k.split()[:2]))
    if len(keys) > 25:
        r.fail(
            f"{upath}.sshPublicKeys",
            len(keys),
            "the Directory Service Data API keeps at most 25 values of an attribute (altSecurityIdentities)",
            "list at most 25 keys",
        )
    email = r.get(
        u,
        "email",
        upath,
        str,
        None,
        lambda v: None if EMAIL_RE.match(v) else ("is not an email address", "use name@example.com"),
    )
    given = r.get(u, "givenName", upath, str, None, _length_1_64)
    surname = r.get(u, "surname", upath, str, None, _length_1_64)
    if not uname:
        return None
    return DirectoryUserSettings(
        name=uname,
        groups=tuple(ugroups),
        ssh_public_keys=tuple(keys),
        email=email,
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
