"""``accounts``, ``teams`` and ``governance``: teams sharing an EKS-orchestrated cluster with quotas, access from
their own accounts and data in a data account (hyperpod_platform/task_governance.py, team_access.py,
team_data.py)."""

from __future__ import annotations

import re
from typing import Any, Optional

from hyperpod_platform.checks import (
    addon_version,
    bucket_name,
    key_prefix,
    prefixes_overlap,
    priority_class_name,
    service_account_name,
    team_name,
)
from hyperpod_platform.errors import MISSING as _MISSING
from hyperpod_platform.settings import (
    AccountSettings,
    ClusterSettings,
    GovernanceSettings,
    PriorityClassSettings,
    QuotaResourceSettings,
    TeamDataSettings,
    TeamSettings,
)

from ._reader import _enum, _range, _Reader

ACCOUNT_ID_RE = re.compile(r"^\d{12}$")
ORG_RE = re.compile(r"^o-[a-z0-9]{10,32}$")
EXTERNAL_ID_RE = re.compile(r"^[\w+=,.@:/-]{2,1224}$")
ROLE_ARN_RE = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/[\w+=,.@/-]{1,64}$")
STRATEGIES = ("Lend", "DontLend", "LendAndBorrow")
PREEMPT = ("LowerPriority", "Never")
SWITCH = ("Enabled", "Disabled")
QUOTA_AMOUNTS = {"count": int, "accelerators": int, "vCpu": (int, float), "memoryGiB": (int, float)}
TEAM_KEYS = (
    "name",
    "account",
    "principalArn",
    "externalId",
    "quota",
    "sharingStrategy",
    "borrowLimit",
    "fairShareWeight",
    "preemptTeamTasks",
    "data",
)


_team_name = team_name  # one rule with TaskGovernance (hyperpod_platform.checks)


def _account_id(v: str):
    return None if ACCOUNT_ID_RE.match(v) else ("is not a 12-digit AWS account id", "quote the 12 digits")


def _parse_accounts(r: _Reader, raw: Any) -> dict[str, AccountSettings]:
    """``accounts``: alias -> {id, roleArn, externalId}; ``cluster`` is the cluster's own account."""
    path = "accounts"
    if raw is _MISSING or raw is None:
        return {}
    if not isinstance(raw, dict):
        r.fail(path, raw, "must be a mapping of account alias to {id, roleArn, externalId}", "give it as a mapping")
        return {}
    out: dict[str, AccountSettings] = {}
    ids: dict[str, str] = {}
    for alias, body in raw.items():
        ap = f"{path}.{alias}"
        a = r.obj(body, ap, ("id", "roleArn", "externalId"), item=True)
        account_id = r.get(a, "id", ap, str, check=_account_id)
        role = r.get(a, "roleArn", ap, str, None)
        if role and account_id and not _role_in(role, account_id):
            r.fail(
                f"{ap}.roleArn", role, f"is not an IAM role of account {account_id}", f"give a role ARN of {account_id}"
            )
        if alias == "cluster" and role:
            r.fail(
                f"{ap}.roleArn", role, "the cluster account is reached with the stack's own credentials", "remove it"
            )
        if account_id in ids:
            r.fail(f"{ap}.id", account_id, f"is also accounts.{ids[account_id]}", "give each account one alias")
            account_id = None  # a bad id, reported once: nothing is judged against it
        elif account_id:
            ids[account_id] = alias
        external = r.get(a, "externalId", ap, str, None, _external_id)
        # Kept with a bad id too (already one problem): the teams naming the alias are not told it is unknown.
        out[alias] = AccountSettings(alias=alias, account_id=account_id or "", role_arn=role, external_id=external)
    if "cluster" not in raw:
        r.fail(f"{path}.cluster", _MISSING, "the cluster's own account is required", "add accounts.cluster.id")
    return out


def _role_in(arn: str, account_id: str) -> bool:
    m = ROLE_ARN_RE.match(arn)
    return bool(m and m.group(1) == account_id)


def _external_id(v: str):
    return (
        None
        if EXTERNAL_ID_RE.match(v)
        else ("is not an STS external id (2-1224 of letters, digits, +=,.@:/-)", "use e.g. 'hp-research-7f3a'")
    )


def _parse_governance(r: _Reader, raw: Any, eks: bool) -> GovernanceSettings:
    path = "governance"
    g = r.obj(raw, path, ("priorityClasses", "fairShare", "idleResourceSharing", "addonVersion", "organizationId"))
    if g and not eks:
        r.unread(
            path,
            raw,
            "task governance needs an EKS-orchestrated cluster",
            "set cluster.orchestrator: eks, or remove governance",
        )
        return GovernanceSettings()
    classes = _priority_classes(r, g, path)
    return GovernanceSettings(
        priority_classes=tuple(classes),
        fair_share=r.get(g, "fairShare", path, str, "Enabled", _enum(*SWITCH)) or "Enabled",
        idle_resource_sharing=r.get(g, "idleResourceSharing", path, str, "Enabled", _enum(*SWITCH)) or "Enabled",
        addon_version=r.get(g, "addonVersion", path, str, None, addon_version),
        organization_id=r.get(
            g,
            "organizationId",
            path,
            str,
            None,
            lambda v: None if ORG_RE.match(v) else ("is not an AWS Organizations id", "give o-xxxxxxxxxx"),
        ),
    )


def _priority_classes(r: _Reader, g: dict, path: str) -> list[PriorityClassSettings]:
    raw = r.get(g, "priorityClasses", path, list, [])
    if len(raw) > 10:
        r.fail(
            f"{path}.priorityClasses", len(raw), "a cluster policy has at most 10 priority classes", "keep 10 or fewer"
        )
    out, seen = [], set()
    for i, c in enumerate(raw):
        cp = f"{path}.priorityClasses[{i}]"
        p = r.obj(c, cp, ("name", "weight"), item=True)
        name = r.get(p, "name", cp, str, check=priority_class_name)
        weight = r.get(p, "weight", cp, int, check=_range(0, 100))
        if name in seen:
            r.fail(f"{cp}.name", name, "names another priority class too", "give each class its own name")
        seen.add(name)
        if name is not None and weight is not None:
            out.append(PriorityClassSettings(name=name, weight=weight))
    return out


def _parse_teams(
    r: _Reader, raw: Any, cluster: ClusterSettings, accounts: dict[str, AccountSettings], org: Optional[str]
) -> list[TeamSettings]:
    path = "teams"
    if raw is _MISSING or raw is None:
        return []
    if cluster.orchestrator == "slurm":
        r.fail(
            path,
            [t.get("name") if isinstance(t, dict) else t for t in raw] if isinstance(raw, list) else raw,
            "teams need task governance, which runs only on an EKS-orchestrated cluster (this stack is Slurm)",
            "set cluster.orchestrator: eks (with an eks section), or remove teams",
        )
        return []
    if not isinstance(raw, list):
        r.fail(path, raw, "must be a list of teams", "give teams as a YAML list")
        return []
    parsed = [_parse_team(r, t, f"{path}[{i}]", cluster, accounts, org) for i, t in enumerate(raw)]
    teams = [t for t in parsed if t is not None]
    names = [t.name for t in teams]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        r.fail(path, dup, "two teams share this name (and so one namespace)", "give each team its own name")
    _prefix_overlaps(r, teams, path)
    _quota_capacity(r, teams, cluster, path)
    return teams


def _parse_team(
    r: _Reader, raw: Any, tp: str, cluster: ClusterSettings, accounts: dict, org: Optional[str]
) -> Optional[TeamSettings]:
    t = r.obj(raw, tp, TEAM_KEYS, item=True)
    if not isinstance(raw, dict):
        return None
    name = r.get(t, "name", tp, str, check=_team_name)
    alias = r.get(t, "account", tp, str, check=_alias(accounts))
    principal = r.get(t, "principalArn", tp, str)
    if (
        principal
        and alias in accounts
        and accounts[alias].account_id
        and not _role_in(principal, accounts[alias].account_id)
    ):
        r.fail(
            f"{tp}.principalArn",
            principal,
            f"must be an IAM role of the team's account {accounts[alias].account_id} (not its root or a user)",
            f"give arn:aws:iam::{accounts[alias].account_id}:role/<the team's role>",
        )
    external = r.get(t, "externalId", tp, str, None, _external_id)
    if not external and not org:
        r.fail(
            f"{tp}.externalId",
            _MISSING,
            "the team's trust needs a condition: an external id, or the organization (governance.organizationId)",
            "set an externalId the team's principal passes, or governance.organizationId",
        )
    strategy = r.get(t, "sharingStrategy", tp, str, "LendAndBorrow", _enum(*STRATEGIES)) or "LendAndBorrow"
    borrow = r.get(t, "borrowLimit", tp, int, None, _range(1, 500))
    if borrow is not None and strategy != "LendAndBorrow":
        r.fail(
            f"{tp}.borrowLimit",
            borrow,
            f"only a LendAndBorrow team borrows (this one is {strategy})",
            "remove borrowLimit",
        )
    quota = _quota(r, t, tp, cluster)
    data = _team_data(r, t.get("data", _MISSING), f"{tp}.data", accounts)
    if None in (name, alias, principal) or not quota:
        return None
    return TeamSettings(
        name=name,
        quota=tuple(quota),
        account=alias,
        principal_arn=principal,
        sharing_strategy=strategy,
        borrow_limit=borrow,
        fair_share_weight=r.get(t, "fairShareWeight", tp, int, 0, _range(0, 100)) or 0,
        preempt_team_tasks=r.get(t, "preemptTeamTasks", tp, str, "LowerPriority", _enum(*PREEMPT)) or "LowerPriority",
        external_id=external,
        data=data,
    )


def _prefix_overlaps(r: _Reader, teams: list[TeamSettings], path: str) -> None:
    """Two teams' prefixes in one bucket (bucket names are global) must not lie one within the other
    (``research`` and ``research/a``, or equal): the inner team's objects would be the outer team's too.
    Each pair is one problem naming both teams."""
    placed: list[tuple[str, str, str]] = []  # (team, bucket, prefix)
    for t in teams:
        if t.data is None:
            continue
        bucket, prefix = t.data.bucket, t.data.prefix
        for other, other_bucket, other_prefix in placed:
            if other_bucket == bucket and prefixes_overlap(prefix, other_prefix):
                r.fail(
                    path,
                    {other: other_prefix, t.name: prefix},
                    f"teams {other} and {t.name} share bucket {bucket} with prefixes {other_prefix!r} and "
                    f"{prefix!r}, one within the other, so one team's objects lie inside the other's prefix",
                    f"give teams {other} and {t.name} prefixes where neither starts with the other "
                    "(e.g. research/team-a and research/team-b), or separate buckets",
                )
        placed.append((t.name, bucket, prefix))


def _alias(accounts: dict):
    def check(v: str):
        if v in accounts:
            return None
        return (
            f"is not an account alias (accounts: {', '.join(sorted(accounts)) or 'none'})",
            f"add accounts.{v}, or use one of those",
        )

    return check


def _quota(r: _Reader, t: dict, tp: str, cluster: ClusterSettings) -> list[QuotaResourceSettings]:
    raw = r.get(t, "quota", tp, list)
    if raw is None:
        return []
    if not 1 <= len(raw) <= 15:
        r.fail(f"{tp}.quota", raw, f"a quota has 1 to 15 resources, not {len(raw)}", "list between 1 and 15")
    types = {g.instance_type for g in cluster.instance_groups}
    out = []
    for i, q in enumerate(raw):
        qp = f"{tp}.quota[{i}]"
        body = r.obj(q, qp, ("instanceType", *QUOTA_AMOUNTS), item=True)
        itype = r.get(body, "instanceType", qp, str, check=_cluster_type(types))
        given = [k for k in QUOTA_AMOUNTS if k in body]
        if len(given) != 1:
            r.fail(qp, body, "a quota resource gives exactly one amount", f"give one of {', '.join(QUOTA_AMOUNTS)}")
            continue
        amount = r.get(
            body,
            given[0],
            qp,
            QUOTA_AMOUNTS[given[0]],
            check=lambda v: None if v > 0 else ("must be more than 0", "give a positive amount"),
        )
        if itype and amount is not None:
            key = {"count": "count", "accelerators": "accelerators", "vCpu": "vcpu", "memoryGiB": "memory_gib"}[
                given[0]
            ]
            out.append(QuotaResourceSettings(instance_type=itype, **{key: amount}))
    return out


def _cluster_type(types: set[str]):
    def check(v: str):
        if v in types:
            return None
        return (
            "is not the instance type of any instance group of the cluster",
            f"use one of {', '.join(sorted(types))}",
        )

    return check


def _quota_capacity(r: _Reader, teams: list[TeamSettings], cluster: ClusterSettings, path: str) -> None:
    """Whole-instance quotas of one instance type add up to no more than the cluster has of it."""
    capacity: dict[str, int] = {}
    for g in cluster.instance_groups:
        capacity[g.instance_type] = capacity.get(g.instance_type, 0) + g.count
    booked: dict[str, list[tuple[str, int]]] = {}
    for t in teams:
        for q in t.quota:
            if q.count:
                booked.setdefault(q.instance_type, []).append((t.name, q.count))
    for itype, shares in sorted(booked.items()):
        total = sum(n for _, n in shares)
        if total > capacity.get(itype, 0):
            detail = " + ".join(f"{team} {n}" for team, n in shares)
            r.fail(
                path,
                {team: n for team, n in shares},
                f"quotas book {total} {itype} ({detail}) but the cluster has {capacity.get(itype, 0)}",
                f"lower the teams' {itype} counts to {capacity.get(itype, 0)} in total, or add instances",
            )


def _team_data(r: _Reader, raw: Any, dp: str, accounts: dict) -> Optional[TeamDataSettings]:
    if raw is _MISSING or raw is None:
        return None
    d = r.obj(raw, dp, ("account", "bucket", "prefix", "createBucket", "serviceAccount"))
    alias = r.get(d, "account", dp, str, check=_alias(accounts))
    if alias in accounts and not accounts[alias].role_arn:
        r.fail(
            f"accounts.{alias}.roleArn",
            _MISSING,
            f"the stack creates {dp}'s access point and role in that account, so it needs a role to assume there",
            f"set accounts.{alias}.roleArn (a role the deploying credentials may assume)",
        )
    bucket = r.get(d, "bucket", dp, str, check=bucket_name)
    prefix = r.get(d, "prefix", dp, str, check=key_prefix)
    if None in (alias, bucket, prefix):
        return None
    return TeamDataSettings(
        account=alias,
        bucket=bucket,
        prefix=prefix,
        create_bucket=r.get(d, "createBucket", dp, bool, False),
        service_account=r.get(d, "serviceAccount", dp, str, "data-access", service_account_name) or "data-access",
    )
