"""quotas-fit-capacity: the teams' compute quotas on a HyperPod cluster fit its instances.

"The total reserved quota should not surpass the cluster's available capacity ... 20 ml.c5.2xlarge instances,
the cumulative quota ... should remain under 20" (awslabs/ai-on-sagemaker-hyperpod, task governance). A stack
policy: for each aws-native ``sagemaker.ComputeQuota`` (not ``activationState: Disabled``), the instance
``count`` of each ``computeQuotaConfig.computeQuotaResources[]`` entry is summed per HyperPod cluster (the
quota's ``clusterArn``) and ``instanceType``, and compared with the ``instanceCount`` of that cluster's
``instanceGroups`` of that type (aws-native ``sagemaker.Cluster``). A quota names its cluster by property
dependency (the cluster's ``clusterArn`` output is unknown at preview) or by the known ARN; a cluster outside
the stack, or a count not known yet, is a "cannot judge" note. A share given in accelerators, vCPUs or memory
instead of instances is some part of an instance of its type (the pack has no table of instance sizes): it is
over capacity when it comes on top of instance counts that already take every instance of the type, or when
the cluster has no group of that type. Messages name the teams (``computeQuotaTarget.teamName``), their quotas
and the totals.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from pulumi_policy import ReportViolation

from ._declare import Config, declare, option
from ._lib import UNKNOWN, Graph, Node, Verdicts, as_list, number

NAME = "quotas-fit-capacity"
QUOTA = "aws-native:sagemaker:ComputeQuota"
CLUSTER = "aws-native:sagemaker:Cluster"
CLUSTER_KEYS = ("clusterArn", "id", "arn")
PARTIAL_KEYS = ("accelerators", "acceleratorPartition", "vCpu", "memoryInGiB")  # shares smaller than an instance
CONFIG = {
    "exemptQuotas": option([], "Resource or quota names not counted (e.g. a quota being moved)."),
}

DESCRIPTION = (
    "The instances the teams' ComputeQuotas reserve on a HyperPod cluster, summed per instance type, do not "
    "exceed the instanceCount of that cluster's instance groups of that type."
)
REMEDIATION = (
    "Lower the teams' compute_quota_resources[].count (aws_native.sagemaker.ComputeQuota) or raise the "
    "instance_count of the cluster's instance group of that type, so that for each instance type the teams' "
    "counts add up to at most the cluster's instances."
)


@dataclass
class Share:
    team: str
    quota: str
    count: float  # instances; 0 for a share in accelerators, vCPUs or memory (some part of an instance)
    partial: str = ""  # that share, e.g. "vCpu 4"

    def describe(self) -> str:
        amount = self.partial if self.partial else _n(self.count)
        return f"{self.team} {amount} (quota {self.quota})"


def _n(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _amount(value: Any) -> str:
    if isinstance(value, dict):
        return "/".join(f"{k} {_amount(v)}" for k, v in value.items())
    n = number(value)
    return _n(n) if n is not None else str(value)


def _capacity(cluster: Node, verdicts: Verdicts) -> tuple[dict[str, tuple[float, list[str]]], Any]:
    """(instance type -> (instances, ["group: n", ...]), the types whose capacity is not known yet: a set, or
    :data:`UNKNOWN` when a group's type is not known, so that no type can be judged)."""
    out: dict[str, tuple[float, list[str]]] = {}
    groups = cluster.props.get("instanceGroups")
    if groups is UNKNOWN:
        verdicts.cannot_judge(f"cluster {cluster.name}: its instanceGroups are not known yet")
        return out, UNKNOWN
    uncertain: Any = set()
    for i, group in enumerate(as_list(groups)):
        if not isinstance(group, dict):
            continue
        typ, count = group.get("instanceType"), group.get("instanceCount")
        name = group.get("instanceGroupName") if isinstance(group.get("instanceGroupName"), str) else f"#{i}"
        if typ is UNKNOWN or count is UNKNOWN:
            verdicts.cannot_judge(f"cluster {cluster.name}: instance group {name}'s type or count is not known yet")
            if typ is UNKNOWN:
                uncertain = UNKNOWN
            elif uncertain is not UNKNOWN:
                uncertain.add(typ)
            continue
        n = number(count)
        if not isinstance(typ, str) or n is None:
            continue
        total, names = out.get(typ, (0.0, []))
        out[typ] = (total + n, names + [f"{name}: {_n(n)}"])
    return out, uncertain


def _validate(graph: Graph, cfg: Config, verdicts: Verdicts, report_violation: ReportViolation) -> None:
    exempt = {str(n) for n in as_list(cfg.get("exemptQuotas"))}
    reserved: dict[str, dict[str, list[Share]]] = defaultdict(lambda: defaultdict(list))  # cluster URN -> type
    clusters: dict[str, Node] = {}
    for quota in graph.of_type(QUOTA):
        p = quota.props
        qname = p.get("name") if isinstance(p.get("name"), str) else quota.name
        if quota.name in exempt or qname in exempt or p.get("activationState") == "Disabled":
            continue
        team = (
            p.get("computeQuotaTarget", {}).get("teamName") if isinstance(p.get("computeQuotaTarget"), dict) else None
        )
        team = team if isinstance(team, str) else "(team not known yet)"
        arn = p.get("clusterArn")
        found, unresolved = graph.resolve(quota, "clusterArn", as_list(arn), {CLUSTER}, CLUSTER_KEYS)
        if not found:
            what = ", ".join(unresolved) or "no cluster"
            verdicts.cannot_judge(
                f"quota {qname} (team {team}): its cluster ({what}) is not a HyperPod cluster of this stack, so its "
                "capacity cannot be seen"
            )
            continue
        config = p.get("computeQuotaConfig")
        resources = config.get("computeQuotaResources") if isinstance(config, dict) else config
        if resources is UNKNOWN or config is UNKNOWN:
            verdicts.cannot_judge(f"quota {qname} (team {team}): computeQuotaResources are not known yet")
            continue
        for entry in as_list(resources):
            if not isinstance(entry, dict):
                continue
            typ, count = entry.get("instanceType"), entry.get("count")
            if typ is UNKNOWN or count is UNKNOWN:
                verdicts.cannot_judge(f"quota {qname} (team {team}): an instance type or count is not known yet")
                continue
            n = number(count)
            partial = ", ".join(f"{k} {_amount(entry[k])}" for k in PARTIAL_KEYS if entry.get(k) is not None)
            if n is None and not partial:
                continue
            for cluster in found[:1]:
                clusters[cluster.urn] = cluster
                reserved[cluster.urn][str(typ)].append(Share(team, qname, n or 0.0, "" if n is not None else partial))
    for urn, by_type in reserved.items():
        cluster = clusters[urn]
        capacity, uncertain = _capacity(cluster, verdicts)
        cname = cluster.props.get("clusterName") if isinstance(cluster.props.get("clusterName"), str) else ""
        label = f"cluster {cluster.name}" + (f" ({cname})" if cname and cname != cluster.name else "")
        for typ, shares in sorted(by_type.items()):
            total = sum(s.count for s in shares)
            partial = [s for s in shares if s.partial]
            have, groups = capacity.get(typ, (0.0, []))
            if (total < have or (total == have and not partial)) or uncertain is UNKNOWN or typ in uncertain:
                continue
            teams = ", ".join(s.describe() for s in sorted(shares, key=lambda s: (s.team, s.quota)))
            amount = f"{_n(total)} {typ} instances" + (" and part of another" if partial else "")
            if groups:
                where = f"its {typ} instance groups have {_n(have)} ({', '.join(groups)})"
                fix = (
                    f"lower the teams' count for {typ} by {_n(total - have + (1 if partial else 0))} in total, or "
                    "raise the groups' instance_count"
                )
            else:
                where = f"it has no {typ} instance group"
                fix = f"remove the teams' {typ} shares, or add a {typ} instance group"
            report_violation(f"{label}: the teams' compute quotas reserve {amount} ({teams}) but {where}: {fix}", urn)


POLICY = declare(NAME, DESCRIPTION, REMEDIATION, CONFIG, level="mandatory", severity="high", stack=_validate)
