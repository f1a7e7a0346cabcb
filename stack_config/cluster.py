"""``clusterName`` and ``cluster``: the HyperPod cluster and its instance groups
(hyperpod_platform/hyperpod_cluster.py), and the names the stack derives from ``clusterName``."""

from __future__ import annotations

import difflib
import re
from typing import Any, Optional

from hyperpod_platform.checks import (  # noqa: F401 - RESERVED_PREFIXES: re-exported
    DEEP_HEALTH_CHECKS,
    MAX_GROUP_INSTANCES,
    NODE_RECOVERY,
    RESERVED_PREFIXES,
    SLURM_CONFIG_STRATEGIES,
    SUBNET_PLACEMENTS,
    cluster_name,
    slurm_role_problems,
)
from hyperpod_platform.errors import MISSING as _MISSING
from hyperpod_platform.settings import (
    ACCELERATED_RE,
    ROLES,
    TAINT_EFFECTS,
    ClusterSettings,
    DirectorySettings,
    InstanceGroupSettings,
    KubernetesTaintSettings,
    LoginSettings,
)

from ._reader import _enum, _name, _range, _Reader
from .aws_lookups import NO_SMT_FAMILY_RE, hyperpod_instance_types, instance_family

GROUP_KEYS = (
    "name",
    "role",
    "instanceType",
    "count",
    "partition",
    "threadsPerCore",
    "ebsVolumeGiB",
    "deepHealthChecks",
    "labels",
    "taints",
)
ORCHESTRATORS = ("slurm", "eks")


# Names the stack derives from clusterName. Pulumi auto-names resources "<logical name>-<7 hex>" (8 more
# characters); load balancers and target groups take at most 32 (tests check every one in the plan).
AUTONAME_SUFFIX = 8
LB_NAME_LIMIT = 32
LOGIN_LB_SUFFIXES = ("-login",)  # hyperpod_platform/login_access.py: load balancer and target group
LDAPS_LB_SUFFIXES = ("-ldaps", "-ldap")  # hyperpod_platform/ldaps_endpoint.py


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


def _parse_group(r: _Reader, raw: Any, path: str, eks: Optional[bool] = False) -> Optional[InstanceGroupSettings]:
    """One group; ``eks`` None: the orchestrator is itself a problem, so neither one's keys are judged."""
    g = r.obj(raw, path, GROUP_KEYS, item=True)
    if not isinstance(raw, dict):
        return None
    name = r.get(g, "name", path, str, check=_name("instance group names"))
    if eks is None:
        role = r.get(g, "role", path, str, "compute", _enum(*ROLES))
    elif eks:
        _orchestrator_keys(r, g, path, ("role", "partition"), "Slurm", "the group's Kubernetes labels and taints")
        g = {k: v for k, v in g.items() if k not in ("role", "partition")}
        role = "compute"  # every EKS node runs pods
    else:
        _orchestrator_keys(r, g, path, ("labels", "taints"), "EKS", "its Slurm role and partition")
        role = r.get(g, "role", path, str, check=_enum(*ROLES))
    instance_type = r.get(g, "instanceType", path, str, check=_hyperpod_type)
    count = r.get(g, "count", path, int, check=_range(0, MAX_GROUP_INSTANCES))
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
    labels = _labels(r, g, path) if eks is not False else {}
    taints = _taints(r, g, path) if eks is not False else []
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
        labels=labels,
        taints=tuple(taints),
    )


def _orchestrator_keys(r: _Reader, g: dict, path: str, keys: tuple[str, ...], owner: str, instead: str) -> None:
    """Keys of the other orchestrator in a group are problems that say whose they are."""
    for key in keys:
        if key in g:
            r.unread(
                f"{path}.{key}",
                g[key],
                f"applies only to a {owner}-orchestrated cluster (cluster.orchestrator)",
                f"remove {path}.{key}; this group uses {instead}",
            )


LABEL_NAME_RE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$")
LABEL_PREFIX_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
HYPERPOD_LABEL_PREFIX = "sagemaker.amazonaws.com/"


def _label_key(v: str) -> Optional[tuple[str, str]]:
    """A Kubernetes label or taint key: an optional DNS-subdomain prefix and '/', then a 1-63 character name;
    HyperPod's own prefix is not ours to set."""
    if v.startswith(HYPERPOD_LABEL_PREFIX):
        return (f"is under {HYPERPOD_LABEL_PREFIX}, which HyperPod manages (node health, instance group)",
                "use a key of your own, e.g. 'workload'")  # fmt: skip
    prefix, slash, label = v.rpartition("/")
    if (slash and (len(prefix) > 253 or not LABEL_PREFIX_RE.fullmatch(prefix))) or not LABEL_NAME_RE.fullmatch(label):
        return (
            "is not a Kubernetes label key (an optional DNS prefix and '/', then 1-63 letters, digits, '-', '_' or "
            "'.', starting and ending with a letter or digit)",
            "use a key like 'workload' or 'example.com/team'",
        )
    return None


MAX_LABELS = 50
"""Labels of one instance group: SageMaker's ``ClusterKubernetesLabels`` map has at most 50 entries (botocore's
sagemaker model; the CloudFormation schema of AWS::SageMaker::Cluster gives no bound). Its keys are 1-317
characters (a 253-character prefix, '/', a 63-character name: what :func:`_label_key` allows), its values 1-63."""
MAX_TAINTS = 50
"""Taints of one instance group: ``ClusterKubernetesTaints`` has at most 50 (the CloudFormation schema and botocore)."""


def _label_value(v: str) -> Optional[tuple[str, str]]:
    """A label or taint value as SageMaker takes it: 1-63 characters (``ClusterKubernetesLabelValue``: min 1, so
    no empty value, unlike Kubernetes itself), letters, digits, '-', '_' or '.', starting and ending with a letter
    or digit."""
    if v == "":
        return (
            "is empty; SageMaker refuses an empty Kubernetes label or taint value (1-63 characters)",
            "give a value like 'true', or remove the value",
        )
    if LABEL_NAME_RE.fullmatch(v):  # fullmatch: "$" would let a trailing line break through
        return None
    return (
        "is not a Kubernetes label value (at most 63 letters, digits, '-', '_' or '.', starting and ending with a "
        "letter or digit)",
        "use a value like 'gpu'",
    )


def _labels(r: _Reader, g: dict, path: str) -> dict[str, str]:
    raw = r.get(g, "labels", path, dict, {})
    if raw and len(raw) > MAX_LABELS:
        r.fail(
            f"{path}.labels",
            len(raw),
            f"an instance group takes at most {MAX_LABELS} Kubernetes labels (SageMaker's ClusterKubernetesLabels)",
            f"keep at most {MAX_LABELS} labels",
        )
        return {}
    out = {}
    for key, value in (raw or {}).items():
        p = f"{path}.labels.{key}"
        bad = _label_key(str(key))
        if bad:
            r.fail(p, key, *bad)
        elif not isinstance(value, str):
            r.fail(p, value, "must be a string", f'quote it: {key}: "{value}"')
        elif _label_value(value):
            r.fail(p, value, *_label_value(value))
        else:
            out[str(key)] = value
    return out


def _taints(r: _Reader, g: dict, path: str) -> list[KubernetesTaintSettings]:
    raw = r.get(g, "taints", path, list, [])
    if raw and len(raw) > MAX_TAINTS:
        r.fail(
            f"{path}.taints",
            len(raw),
            f"an instance group takes at most {MAX_TAINTS} Kubernetes taints (SageMaker's ClusterKubernetesTaints)",
            f"keep at most {MAX_TAINTS} taints",
        )
        return []
    out = []
    for i, t in enumerate(raw or []):
        tp = f"{path}.taints[{i}]"
        item = r.obj(t, tp, ("key", "value", "effect"), item=True)
        if not isinstance(t, dict):
            continue
        key = r.get(item, "key", tp, str, check=_label_key)
        value = r.get(item, "value", tp, str, None, _label_value)
        effect = r.get(item, "effect", tp, str, check=_enum(*TAINT_EFFECTS))
        if key and effect:
            out.append(KubernetesTaintSettings(key=key, value=value, effect=effect))
    seen = [(t.key, t.effect) for t in out]
    for dup in sorted({x for x in seen if seen.count(x) > 1}):
        r.fail(f"{path}.taints", list(dup), "the same key and effect are tainted twice", "list each taint once")
    return out


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
    c = r.obj(raw, path, ("orchestrator", "instanceGroups", "nodeRecovery", "slurmConfigStrategy", "subnetPlacement"))
    orchestrator = r.get(c, "orchestrator", path, str, "slurm", _enum(*ORCHESTRATORS)) or "slurm"
    if c.get("orchestrator", "slurm") not in ORCHESTRATORS:  # one problem: judge nothing by either orchestrator
        orchestrator = None
    eks = None if orchestrator is None else orchestrator == "eks"
    groups_raw = r.get(c, "instanceGroups", path, list)
    groups = _instance_groups(r, groups_raw, f"{path}.instanceGroups", eks) if groups_raw is not None else []
    nr = r.get(c, "nodeRecovery", path, str, "Automatic", _enum(*NODE_RECOVERY))
    if eks and "slurmConfigStrategy" in c:
        r.unread(
            f"{path}.slurmConfigStrategy",
            c["slurmConfigStrategy"],
            "applies only to a Slurm-orchestrated cluster (cluster.orchestrator is eks)",
            f"remove {path}.slurmConfigStrategy",
        )
    strategy = r.get(c, "slurmConfigStrategy", path, str, "Managed", _enum(*SLURM_CONFIG_STRATEGIES))
    placement = r.get(c, "subnetPlacement", path, str, "primary", _enum(*SUBNET_PLACEMENTS))
    return ClusterSettings(
        name=name or "",
        instance_groups=tuple(groups),
        node_recovery=nr or "Automatic",
        slurm_config_strategy=strategy or "Managed",
        subnet_placement=placement or "primary",
        orchestrator=orchestrator,
    )


def _instance_groups(
    r: _Reader, groups_raw: list, path: str, eks: Optional[bool] = False
) -> list[InstanceGroupSettings]:
    """1 to 100 groups with names of their own; for Slurm one controller, at most one login group, compute with
    a partition."""
    groups: list[InstanceGroupSettings] = []
    index: dict[int, int] = {}  # id of a parsed group -> its index in the config (earlier groups may be dropped)
    if not 1 <= len(groups_raw) <= 100:
        r.fail(path, len(groups_raw), "a cluster has 1 to 100 instance groups", "list between 1 and 100 groups")
    for i, g in enumerate(groups_raw):
        parsed = _parse_group(r, g, f"{path}[{i}]", eks)
        if parsed:
            groups.append(parsed)
            index[id(parsed)] = i
    names = [g.name for g in groups]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        r.fail(path, dup, "two instance groups share this name", "give each group its own name")
    if eks is not False:
        return groups
    if len(groups) == len(groups_raw):
        _group_roles(r, groups, path)
    for g in groups:
        given = groups_raw[index[id(g)]]
        if g.role == "compute" and not g.partition and given.get("partition") is None:  # a bad one: its own problem
            r.fail(
                f"{path}[{index[id(g)]}].partition",
                _MISSING,
                "a compute group needs a Slurm partition",
                f"set partition, e.g. '{g.name}'",
            )
    return groups


def _group_roles(r: _Reader, groups: list[InstanceGroupSettings], path: str) -> None:
    """Exactly one controller group, at most one login group, and a compute group (the rule components apply)."""
    for names, why, fix in slurm_role_problems([(g.name, g.role) for g in groups]):
        r.fail(path, names, why, fix)


_cluster_name = cluster_name  # the check lives in hyperpod_platform.checks (components run it too)


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
