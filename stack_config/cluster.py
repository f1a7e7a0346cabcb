"""``clusterName`` and ``cluster``: the HyperPod cluster and its instance groups
(hyperpod_platform/hyperpod_cluster.py), and the names the stack derives from ``clusterName``."""

from __future__ import annotations

import difflib
from typing import Any, Optional

from hyperpod_platform.errors import MISSING as _MISSING
from hyperpod_platform.settings import (
    ACCELERATED_RE,
    ROLES,
    ClusterSettings,
    DirectorySettings,
    InstanceGroupSettings,
    LoginSettings,
)

from ._reader import _enum, _name, _range, _Reader
from .aws_lookups import NO_SMT_FAMILY_RE, hyperpod_instance_types, instance_family

DEEP_HEALTH_CHECKS = ("InstanceStress", "InstanceConnectivity")
GROUP_KEYS = (
    "name",
    "role",
    "instanceType",
    "count",
    "partition",
    "threadsPerCore",
    "ebsVolumeGiB",
    "deepHealthChecks",
)

# Names the stack derives from clusterName. Pulumi auto-names resources "<logical name>-<7 hex>" (8 more
# characters); load balancers and target groups take at most 32 (tests check every one in the plan).
AUTONAME_SUFFIX = 8
LB_NAME_LIMIT = 32
LOGIN_LB_SUFFIXES = ("-login",)  # hyperpod_platform/login_access.py: load balancer and target group
LDAPS_LB_SUFFIXES = ("-ldaps", "-ldap")  # hyperpod_platform/ldaps_endpoint.py
RESERVED_PREFIXES = {"sg-": "security group names", "internal-": "load balancer names"}


def _type_suggestion(v: str, types: frozenset[str]) -> str:
    """The nearest HyperPod type of the same family, else of the same kind (accelerated or not)."""
    wanted = v if v.startswith("ml.") else f"ml.{v}"
    family = instance_family(wanted)
    same_family = sorted(t for t in types if instance_family(t) == family)
    same_kind = sorted(t for t in types if bool(ACCELERATED_RE.match(t)) == bool(ACCELERATED_RE.match(wanted)))
    for pool in (same_family, same_kind):
        close = difflib.get_close_matches(wanted, pool, n=1, cutoff=0.5)
        if close:
            return f"use {close[0]!r}"
    if same_family:
        return f"use one of {', '.join(same_family)}"
    return "use an ml.* type such as 'ml.g5.8xlarge' (GPU) or 'ml.m5.2xlarge' (CPU)"


def _hyperpod_type(v: str) -> Optional[tuple[str, str]]:
    types = hyperpod_instance_types()
    if v in types:
        return None
    return ("is not a HyperPod instance type (the SageMaker ClusterInstanceType list)", _type_suggestion(v, types))


def _parse_group(r: _Reader, raw: Any, path: str) -> Optional[InstanceGroupSettings]:
    g = r.obj(raw, path, GROUP_KEYS, item=True)
    if not isinstance(raw, dict):
        return None
    name = r.get(g, "name", path, str, check=_name("instance group names"))
    role = r.get(g, "role", path, str, check=_enum(*ROLES))
    instance_type = r.get(g, "instanceType", path, str, check=_hyperpod_type)
    count = r.get(g, "count", path, int, check=_range(0, 6758))
    if role in ("controller", "login") and count is not None and count < 1:
        r.fail(f"{path}.count", count, f"a {role} group needs at least one instance", "set count to 1 or more")
    partition = r.get(g, "partition", path, str, None, _name("partition names"))
    if partition and role != "compute":
        r.fail(
            f"{path}.partition",
            partition,
            f"only compute groups have a partition (this is a {role} group)",
            f"remove {path}.partition",
        )
    tpc = r.get(g, "threadsPerCore", path, int, None, _enum(1, 2))
    if tpc == 2 and instance_type and NO_SMT_FAMILY_RE.match(instance_family(instance_type)):
        r.fail(
            f"{path}.threadsPerCore",
            tpc,
            f"{instance_type} has one thread per core (no simultaneous "
            "multithreading on Graviton, Grace and 7th-generation-or-later AMD processors)",
            f"remove {path}.threadsPerCore, or set it to 1",
        )
    ebs = r.get(g, "ebsVolumeGiB", path, int, None, _range(1, 16384))
    checks = _deep_health_checks(r, g, path, role, instance_type, count)
    if None in (name, role, instance_type, count):
        return None
    return InstanceGroupSettings(
        name=name,
        role=role,
        instance_type=instance_type,
        count=count,
        partition=partition,
        threads_per_core=tpc,
        ebs_volume_gib=ebs,
        deep_health_checks=tuple(checks),
    )


def _deep_health_checks(
    r: _Reader, g: dict, path: str, role: Optional[str], instance_type: Optional[str], count: Optional[int]
) -> list[str]:
    """Deep health checks: on accelerated compute groups only; InstanceConnectivity needs two instances."""
    checks = r.str_list(
        g,
        "deepHealthChecks",
        path,
        [],
        item=lambda v: (
            None
            if v in DEEP_HEALTH_CHECKS
            else (f"must be one of {', '.join(DEEP_HEALTH_CHECKS)}", f"use {' or '.join(DEEP_HEALTH_CHECKS)}")
        ),
    )
    if checks and role != "compute":
        r.fail(
            f"{path}.deepHealthChecks",
            checks,
            f"deep health checks run on compute groups, not on a {role} group",
            f"remove {path}.deepHealthChecks",
        )
    elif checks and instance_type and not ACCELERATED_RE.match(instance_type):
        r.fail(
            f"{path}.deepHealthChecks",
            checks,
            f"deep health checks apply only to accelerated (GPU/Trainium) instance types, not {instance_type}",
            f"remove {path}.deepHealthChecks or use a GPU/Trainium type",
        )
    elif "InstanceConnectivity" in checks and count is not None and count < 2:
        r.fail(
            f"{path}.deepHealthChecks",
            checks,
            f"InstanceConnectivity tests the network between instances of "
            f"the group, which needs at least 2 (count is {count})",
            "keep only InstanceStress, or set count to 2 or more",
        )
    return checks


def _parse_cluster(r: _Reader, raw: Any, name: Optional[str]) -> ClusterSettings:
    path = "cluster"
    c = r.obj(raw, path, ("instanceGroups", "nodeRecovery", "slurmConfigStrategy", "subnetPlacement"))
    groups_raw = r.get(c, "instanceGroups", path, list)
    groups = _instance_groups(r, groups_raw, f"{path}.instanceGroups") if groups_raw is not None else []
    nr = r.get(c, "nodeRecovery", path, str, "Automatic", _enum("Automatic", "None"))
    strategy = r.get(c, "slurmConfigStrategy", path, str, "Managed", _enum("Managed", "Overwrite", "Merge"))
    placement = r.get(c, "subnetPlacement", path, str, "primary", _enum("primary", "all"))
    return ClusterSettings(
        name=name or "",
        instance_groups=tuple(groups),
        node_recovery=nr or "Automatic",
        slurm_config_strategy=strategy or "Managed",
        subnet_placement=placement or "primary",
    )


def _instance_groups(r: _Reader, groups_raw: list, path: str) -> list[InstanceGroupSettings]:
    """1 to 100 groups with names of their own; one controller, at most one login group, compute with a
    partition."""
    groups: list[InstanceGroupSettings] = []
    if not 1 <= len(groups_raw) <= 100:
        r.fail(path, len(groups_raw), "a cluster has 1 to 100 instance groups", "list between 1 and 100 groups")
    for i, g in enumerate(groups_raw):
        parsed = _parse_group(r, g, f"{path}[{i}]")
        if parsed:
            groups.append(parsed)
    names = [g.name for g in groups]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        r.fail(path, dup, "two instance groups share this name", "give each group its own name")
    if len(groups) == len(groups_raw):
        _group_roles(r, groups, path)
    for g in groups:
        if g.role == "compute" and not g.partition:
            r.fail(
                f"{path}[{groups.index(g)}].partition",
                _MISSING,
                "a compute group needs a Slurm partition",
                f"set partition, e.g. '{g.name}'",
            )
    return groups


def _group_roles(r: _Reader, groups: list[InstanceGroupSettings], path: str) -> None:
    """Exactly one controller group, at most one login group, and a compute group."""
    roles = [g.role for g in groups]
    if roles.count("controller") != 1:
        r.fail(
            path,
            [g.name for g in groups if g.role == "controller"],
            f"a Slurm cluster needs exactly one controller group, found {roles.count('controller')}",
            "mark exactly one group with role: controller",
        )
    if roles.count("login") > 1:
        r.fail(
            path,
            [g.name for g in groups if g.role == "login"],
            "HyperPod Slurm supports at most one login group",
            "merge the login groups into one",
        )
    if "compute" not in roles:
        r.fail(
            path,
            [g.name for g in groups],
            "there is no compute group",
            "add a group with role: compute and a partition",
        )


def _cluster_name(v: str) -> Optional[tuple[str, str]]:
    """HyperPod's ClusterName pattern, and whatever the names derived from it need."""
    bad = _name("cluster names")(v)
    if bad:
        return bad
    for prefix, what in RESERVED_PREFIXES.items():
        if v.lower().startswith(prefix):
            return (
                f"starts with '{prefix}', which AWS refuses at the start of {what} (derived from clusterName)",
                f"use e.g. 'hp-{v[len(prefix) :]}'",
            )
    return None


def _derived_name_lengths(r: _Reader, name: Optional[str], login: LoginSettings, directory: DirectorySettings):
    """The load balancers and target groups this config creates must fit AWS's 32 characters."""
    suffixes = (LOGIN_LB_SUFFIXES if login.enabled else ()) + (LDAPS_LB_SUFFIXES if directory.enabled else ())
    if not name or not suffixes:
        return
    longest = max(suffixes, key=len)
    limit = LB_NAME_LIMIT - AUTONAME_SUFFIX - len(longest)
    if len(name) > limit:
        r.fail(
            "clusterName",
            name,
            f"is {len(name)} characters, but it begins the name of the load balancer "
            f"'{name}{longest}', which with Pulumi's {AUTONAME_SUFFIX}-character random suffix must fit AWS's "
            f"{LB_NAME_LIMIT}-character limit for load balancer and target group names",
            f"use at most {limit} characters, e.g. '{name[:limit].rstrip('-')}'",
        )
