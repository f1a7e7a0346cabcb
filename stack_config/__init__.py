"""Stack settings: the one place that reads and validates Pulumi config.

``load()`` reads the project's config keys (declared in ``Pulumi.yaml``), checks all of them, and returns
frozen, typed settings. Every problem in a config is collected and reported together in one
``ConfigError``, before the program registers any resource. Each problem names the key path, the bad
value, why it is wrong, and how to fix it.

One module per config section, mirroring the components: ``network``, ``fsx`` (storage), ``cluster`` (and
``clusterName``), ``lifecycle``, ``login``, ``vpn``, ``access``, ``directory`` (with ``directory_users`` and
``ldaps``) and ``tags``; ``_reader`` is the shared reader, ``aws_lookups`` the facts from AWS's data and the
look-ups in AWS, ``namespaces`` the keys outside the project's. ``parse()`` and ``load()`` compose them.

The rules a single value must meet live in ``hyperpod_platform.checks``, where the components find them too:
a component checks its own args with them, and this layer adds what needs the whole config or AWS (the
region's instance types and AZs, existing subnets, the union of SSH client ranges) and reports it all at once.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Optional

import pulumi

from hyperpod_platform.errors import (  # noqa: F401 - re-exported: the config layer's error types
    CREDENTIAL_FIX,
    PROJECT,
    ConfigError,
    Problem,
    credential_problem,
    set_secret_config,
)
from hyperpod_platform.errors import MISSING as _MISSING
from hyperpod_platform.settings import (  # noqa: F401 - re-exported: what load() returns
    ACCELERATED_RE,
    ROLES,
    AccessSettings,
    ClusterSettings,
    DirectorySettings,
    DirectoryUserSettings,
    FsxSettings,
    InstanceGroupSettings,
    LdapsSettings,
    LifecycleSettings,
    LoginSettings,
    NetworkSettings,
    StackSettings,
    VpnSettings,
)

from ._reader import KIND_NAMES, NAME_RE, _Reader  # noqa: F401 - NAME_RE: hyperpod_platform.checks' (read there)
from .access import _parse_access
from .aws_lookups import (  # noqa: F401 - re-exported
    ARM64_FAMILY_RE,
    NO_SMT_FAMILY_RE,
    aws_regions,
    ec2_instance_types,
    ec2_type_check,
    existing_subnet_problems,
    hyperpod_instance_types,
    hyperpod_regions,
    instance_family,
    region_problem,
)
from .cluster import (  # noqa: F401 - re-exported
    AUTONAME_SUFFIX,
    DEEP_HEALTH_CHECKS,
    LB_NAME_LIMIT,
    LDAPS_LB_SUFFIXES,
    LOGIN_LB_SUFFIXES,
    RESERVED_PREFIXES,
    _cluster_name,
    _derived_name_lengths,
    _parse_cluster,
)
from .directory import AD_GROUP_RE, DIRECTORY_ID_RE, LINUX_GROUP_RE, NETBIOS_RE, _parse_directory  # noqa: F401
from .directory_users import EMAIL_RE, SAM_RE, SSH_KEY_TYPES  # noqa: F401 - re-exported
from .eks import _parse_eks, deploy_path_problems
from .fsx import FSX_THROUGHPUTS, MOUNT_PATH_RE, SYSTEM_DIRS, _parse_fsx  # noqa: F401 - re-exported
from .ldaps import ACM_ARN_RE, DOMAIN_RE  # noqa: F401 - re-exported
from .lifecycle import BUCKET_RE, _parse_lifecycle  # noqa: F401 - re-exported
from .login import _login_source_repeats, _parse_login
from .namespaces import _with_secrecy, namespace_problems, native_region_problems
from .network import AZ_RE, LOG_RETENTION_DAYS, RTB_ID_RE, SUBNET_ID_RE, VPC_ID_RE, _parse_network  # noqa: F401
from .tags import STACK_TAGS, TAG_LIMIT, TAG_PUNCTUATION, _tags  # noqa: F401 - re-exported
from .teams import _parse_accounts, _parse_governance, _parse_teams
from .vpn import _parse_vpn

TOP_KEYS = (
    "clusterName",
    "tags",
    "network",
    "fsx",
    "cluster",
    "lifecycle",
    "login",
    "vpn",
    "access",
    "directory",
    "eks",
    "accounts",
    "teams",
    "governance",
)
SLURM_ONLY = {
    "login": "the login NLB and its shared host keys serve Slurm login nodes",
    "directory": "the directory reaches the nodes through SSSD on Slurm nodes; EKS users sign in with IAM "
    "(eks.adminRoleArns, access entries)",
}


def _region_problems(r: _Reader, region: Optional[str]) -> Optional[str]:
    """``aws:region`` is set and hosts HyperPod; returns the region the section checks may rely on."""
    if not region:
        r.problems.append(
            Problem("aws:region", _MISSING, "the AWS region is not set", "run `pulumi config set aws:region us-east-1`")
        )
    elif region_problem("aws:region", region):
        r.problems.append(Problem("aws:region", region, *region_problem("aws:region", region)))
        return None  # checks that depend on the region (AZ names, ARNs) would only repeat this problem
    return region


def parse(raw: dict[str, Any], region: Optional[str]) -> StackSettings:
    """Validate ``raw`` (key -> value, without the project prefix) and return the settings."""
    r = _Reader()
    region = _region_problems(r, region)
    r.obj(raw, "", TOP_KEYS)
    # Unknown top-level keys come back as ".key"; strip the leading dot.
    r.problems = [dataclasses.replace(p, path=p.path.lstrip(".")) for p in r.problems]
    name = r.get(raw, "clusterName", "", str, check=_cluster_name)
    if name and credential_problem(name):  # the name is the stack's own Cluster tag, on every resource
        r.problems.append(Problem("clusterName", name, credential_problem(name), CREDENTIAL_FIX, True))
        name = None
    network = _parse_network(r, raw.get("network", _MISSING), region or "")
    fsx = _parse_fsx(r, raw.get("fsx", _MISSING))
    cluster = _parse_cluster(r, raw.get("cluster", _MISSING), name)
    lifecycle = _parse_lifecycle(r, raw.get("lifecycle", _MISSING))
    eks = _parse_eks(r, raw.get("eks", _MISSING), cluster.orchestrator)
    slurm = _slurm_sections(r, raw, cluster.orchestrator)
    accounts = _parse_accounts(r, raw.get("accounts", _MISSING))
    governance = _parse_governance(r, raw.get("governance", _MISSING), cluster.orchestrator != "slurm")
    teams = _parse_teams(r, raw.get("teams", _MISSING), cluster, accounts, governance.organization_id)
    login = _parse_login(r, slurm.get("login", _MISSING), network, cluster)
    vpn = _parse_vpn(r, raw.get("vpn", _MISSING), network)
    r.problems += deploy_path_problems(cluster.orchestrator, eks, vpn)
    _login_source_repeats(r, slurm.get("login"), login, network, vpn)
    access = _parse_access(r, raw.get("access", _MISSING), network)
    directory = _parse_directory(r, slurm.get("directory", _MISSING), region or "")
    tags = _tags(r, raw.get("tags"), "tags")
    _derived_name_lengths(r, name, login, directory)
    if r.problems:
        raise ConfigError(r.problems)
    return StackSettings(
        region=region or "",
        network=network,
        fsx=fsx,
        cluster=cluster,
        lifecycle=lifecycle,
        login=login,
        vpn=vpn,
        access=access,
        directory=directory,
        eks=eks,
        accounts=accounts,
        teams=tuple(teams),
        governance=governance,
        tags=tags,
    )


def _slurm_sections(r: _Reader, raw: dict[str, Any], orchestrator: str) -> dict[str, Any]:
    """The Slurm-only sections to parse: all of them for Slurm; for EKS none, each one given being a problem."""
    if orchestrator != "eks":  # Slurm, or an orchestrator that is itself a problem
        return {k: raw[k] for k in SLURM_ONLY if k in raw}
    for key, why in SLURM_ONLY.items():
        if raw.get(key) not in (None, _MISSING, {}):
            r.unread(key, raw[key], f"applies only to a Slurm-orchestrated cluster: {why}", f"remove {key}")
    return {"login": {"enabled": False}}


def _read_config(every_key: list[str]) -> tuple[dict[str, Any], list[Problem]]:
    """The project's keys from the Pulumi config (unknown ones too: they are typos), and values that are not
    valid structured config."""
    from pulumi.runtime import config as runtime_config

    cfg = pulumi.Config(PROJECT)
    raw: dict[str, Any] = {}
    problems = []
    for key in TOP_KEYS:
        try:
            value = cfg.get_object(key) if key not in ("clusterName",) else cfg.get(key)
        except Exception:  # noqa: BLE001 - not JSON: report it like any other bad value
            value = cfg.get(key)
            problems.append(Problem(key, value, "is not valid structured config", f"give {key} as a YAML mapping"))
        if value is not None:
            raw[key] = value
    for full in every_key:  # keys under the project namespace that the program does not know are typos
        key = full.split(":", 1)[1] if full.startswith(f"{PROJECT}:") else None
        if key and key not in TOP_KEYS:
            raw[key] = _decoded(runtime_config.get_config(full))
    return raw, problems


def _decoded(value: Any) -> Any:
    """A config value as the program reads it: JSON text of an object or a list decoded."""
    import json

    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def load() -> StackSettings:
    """Read this project's keys from the Pulumi config and validate them."""
    from pulumi.runtime import config as runtime_config

    every_key = sorted(set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env()))
    secret = {k for k in every_key if runtime_config.is_config_secret(k)}
    # Before anything is judged: errors redact whatever holds these values, and the wiring marks every resource
    # input and stack output holding one as a Pulumi secret (wiring.common.hide_secret_config).
    set_secret_config([_decoded(runtime_config.get_config(k)) for k in sorted(secret)])
    raw, problems = _read_config(every_key)
    problems += namespace_problems({k: runtime_config.get_config(k) for k in every_key})
    region = pulumi.Config("aws").get("region")
    try:
        settings = parse(raw, region)
    except ConfigError as err:
        problems += err.problems
        settings = None
    if settings is not None:
        problems += native_region_problems(region, pulumi.Config("aws-native").get("region"))
        problems += existing_subnet_problems(settings.network)
        if not problems and settings.network.mode == "existing":
            from hyperpod_platform.network import route_table_problems  # reads AWS: only for a config valid so far

            problems += route_table_problems(settings.network)
    if problems:
        raise ConfigError([_with_secrecy(p, secret) for p in problems])
    return settings
