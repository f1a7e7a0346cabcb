"""The node contract: what every node reads at boot from ``generated/platform.json``.

The stack builds a :class:`NodeContract` from plain values (Pulumi Outputs resolved first) and renders it with
:meth:`NodeContract.to_json`. The lifecycle scripts read it through ``lifecycle/lib/platform_json.py``, which
knows one ``schema_version`` (its ``SCHEMA_VERSION``, kept equal to this module's by a test) and refuses any
other, and refuses a bundle missing a top-level key. A feature that is off is a key whose value is ``null``
(``fsx``, ``login``, ``directory``), never a missing key: a missing key means a broken bundle. The one
exception is ``login_targets``, added within version 1: a bundle without it (rendered before it existed) has
that feature off, as ``null`` does.

Change the layout (rename, remove or retype a key) only together with the scripts, and bump
:data:`SCHEMA_VERSION` in both places.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from typing import Any, Mapping, Optional

SCHEMA_VERSION = 1
"""Version of the ``platform.json`` layout; the node scripts accept exactly this one."""


class ContractError(ValueError):
    """A ``platform.json`` document that is not a contract of this version (missing key, wrong type...)."""


def _text(where: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ContractError(f"{where} must be a string, not {value!r}")
    return value


def _names(where: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise ContractError(f"{where} must be a list of strings, not {value!r}")
    return tuple(_text(f"{where}[{i}]", item) for i, item in enumerate(value))


def _fields(cls: type, where: str, data: Any) -> dict[str, Any]:
    """``data``'s values for ``cls``'s fields; a missing or unknown key is an error naming it."""
    if not isinstance(data, Mapping):
        raise ContractError(f"{where} must be an object, not {data!r}")
    names = [f.name for f in fields(cls)]
    missing = [n for n in names if n not in data]
    if missing:
        raise ContractError(f"{where} has no {', '.join(missing)}")
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise ContractError(f"{where} has unknown keys {', '.join(unknown)}")
    return {n: data[n] for n in names}


@dataclass(frozen=True)
class FsxMount:
    """The FSx for Lustre file system every node mounts (``fsx``)."""

    dns_name: str
    mount_name: str
    mount_path: str

    def __post_init__(self) -> None:
        for f in fields(self):
            _text(f"fsx.{f.name}", getattr(self, f.name))

    def to_dict(self) -> dict[str, Any]:
        return {"dns_name": self.dns_name, "mount_name": self.mount_name, "mount_path": self.mount_path}

    @classmethod
    def from_dict(cls, data: Any) -> FsxMount:
        return cls(**_fields(cls, "fsx", data))


@dataclass(frozen=True)
class LoginNode:
    """Where login nodes get their shared SSH host keys (``login``)."""

    host_keys_secret_id: str
    host_name: str

    def __post_init__(self) -> None:
        for f in fields(self):
            _text(f"login.{f.name}", getattr(self, f.name))

    def to_dict(self) -> dict[str, Any]:
        return {"host_keys_secret_id": self.host_keys_secret_id, "host_name": self.host_name}

    @classmethod
    def from_dict(cls, data: Any) -> LoginNode:
        return cls(**_fields(cls, "login", data))


@dataclass(frozen=True)
class LoginTargetsNode:
    """The target group login nodes register themselves in (``login_targets``): its ARN, the targets' port,
    and the VPC whose network interfaces tell a live target from a stale one."""

    target_group_arn: str
    port: int
    vpc_id: str

    def __post_init__(self) -> None:
        _text("login_targets.target_group_arn", self.target_group_arn)
        _text("login_targets.vpc_id", self.vpc_id)
        if type(self.port) is not int or not 1 <= self.port <= 65535:
            raise ContractError(f"login_targets.port must be a port number, not {self.port!r}")

    def to_dict(self) -> dict[str, Any]:
        return {"target_group_arn": self.target_group_arn, "port": self.port, "vpc_id": self.vpc_id}

    @classmethod
    def from_dict(cls, data: Any) -> LoginTargetsNode:
        return cls(**_fields(cls, "login_targets", data))


OPTIONAL_KEYS = ("login_targets",)
"""Top-level keys added within this version: absent means off (``null``)."""


@dataclass(frozen=True)
class DirectoryNode:
    """The plan-time directory settings (``directory``); the connection itself is an SSM parameter
    (``connection_parameter``) the stack writes once the directory is ready."""

    domain: str
    search_base: str
    bind_user: str
    connection_parameter: str
    allowed_groups_by_role: Mapping[str, tuple[str, ...]]
    sudo_groups: tuple[str, ...]
    local_groups: tuple[str, ...]
    default_shell: str
    home_dir: str

    def __post_init__(self) -> None:
        for name in ("domain", "search_base", "bind_user", "connection_parameter", "default_shell", "home_dir"):
            _text(f"directory.{name}", getattr(self, name))
        by_role = self.allowed_groups_by_role
        if not isinstance(by_role, Mapping):
            raise ContractError(f"directory.allowed_groups_by_role must be an object, not {by_role!r}")
        object.__setattr__(
            self,
            "allowed_groups_by_role",
            {
                _text("directory.allowed_groups_by_role key", role): _names(
                    f"directory.allowed_groups_by_role.{role}", groups
                )
                for role, groups in by_role.items()
            },
        )
        for name in ("sudo_groups", "local_groups"):
            object.__setattr__(self, name, _names(f"directory.{name}", getattr(self, name)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "domain": self.domain,
            "search_base": self.search_base,
            "bind_user": self.bind_user,
            "connection_parameter": self.connection_parameter,
            "allowed_groups_by_role": {role: list(groups) for role, groups in self.allowed_groups_by_role.items()},
            "sudo_groups": list(self.sudo_groups),
            "local_groups": list(self.local_groups),
            "default_shell": self.default_shell,
            "home_dir": self.home_dir,
        }

    @classmethod
    def from_dict(cls, data: Any) -> DirectoryNode:
        return cls(**_fields(cls, "directory", data))


@dataclass(frozen=True)
class NodeContract:
    """``generated/platform.json``: the cluster, each instance group's role, and the optional features
    (``None`` is a feature that is off; it is rendered as ``null``, never left out)."""

    cluster_name: str
    region: str
    groups: Mapping[str, str]
    """Instance group name -> node role (controller, login, compute)."""
    fsx: Optional[FsxMount]
    login: Optional[LoginNode]
    directory: Optional[DirectoryNode]
    schema_version: int = SCHEMA_VERSION
    login_targets: Optional[LoginTargetsNode] = None
    """Login nodes register themselves in the login NLB's target group (``None``: they do not)."""

    def __post_init__(self) -> None:
        _text("cluster_name", self.cluster_name)
        _text("region", self.region)
        if not isinstance(self.groups, Mapping):
            raise ContractError(f"groups must be an object, not {self.groups!r}")
        object.__setattr__(
            self,
            "groups",
            {_text("groups key", g): _text(f"groups.{g}", role) for g, role in self.groups.items()},
        )
        for name, kind in (
            ("fsx", FsxMount),
            ("login", LoginNode),
            ("directory", DirectoryNode),
            ("login_targets", LoginTargetsNode),
        ):
            value = getattr(self, name)
            if value is not None and not isinstance(value, kind):
                raise ContractError(f"{name} must be a {kind.__name__} or None, not {value!r}")
        if type(self.schema_version) is not int:
            raise ContractError(f"schema_version must be an integer, not {self.schema_version!r}")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values; every field present (``None`` for a feature that is off)."""
        return {
            "schema_version": self.schema_version,
            "cluster_name": self.cluster_name,
            "region": self.region,
            "groups": dict(self.groups),
            "fsx": self.fsx.to_dict() if self.fsx else None,
            "login": self.login.to_dict() if self.login else None,
            "directory": self.directory.to_dict() if self.directory else None,
            "login_targets": self.login_targets.to_dict() if self.login_targets else None,
        }

    def to_json(self) -> str:
        """The file's content: sorted keys, two-space indent, so the same contract is the same bytes."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, data: Any) -> NodeContract:
        """The contract in a parsed ``platform.json``; an unknown version or a missing key is an error."""
        if not isinstance(data, Mapping):
            raise ContractError(f"platform.json must be an object, not {data!r}")
        version = data.get("schema_version")
        if version != SCHEMA_VERSION or type(version) is not int:
            raise ContractError(f"platform.json schema_version {version!r} is not {SCHEMA_VERSION}")
        v = _fields(cls, "platform.json", {k: None for k in OPTIONAL_KEYS} | dict(data))
        return cls(
            cluster_name=v["cluster_name"],
            region=v["region"],
            groups=v["groups"],
            fsx=None if v["fsx"] is None else FsxMount.from_dict(v["fsx"]),
            login=None if v["login"] is None else LoginNode.from_dict(v["login"]),
            directory=None if v["directory"] is None else DirectoryNode.from_dict(v["directory"]),
            schema_version=version,
            login_targets=None if v["login_targets"] is None else LoginTargetsNode.from_dict(v["login_targets"]),
        )

    @classmethod
    def from_json(cls, text: str) -> NodeContract:
        return cls.from_dict(json.loads(text))
