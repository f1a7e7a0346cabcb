"""team-data-own-prefix: a team's S3 access reaches the objects of its own prefix only.

Teams share data buckets (seed 004): each team reads ``<prefix>/*`` through its own access point, with a target
role (data account) that its pods reach through EKS Pod Identity. A prefix of ``*`` gave the policies
``.../object/*/*``, every other team's objects in the bucket, and passed every other guardrail. Judged here,
from the plan, for every team:

* its **roles**: the target role and the role of every EKS Pod Identity association (``targetRoleArn``,
  ``roleArn``), and every role tagged ``<teamTag>`` (default ``team``); their inline policies
  (``aws.iam.RolePolicy`` on the role, the role's ``inlinePolicies``);
* every **access point policy** (``aws.s3control.AccessPointPolicy``).

In an Allow statement with an S3 action (or ``*``, or ``NotAction``), each resource must be an S3 object key
that is literal, or a literal prefix followed by the one trailing ``/*``: no wildcard elsewhere in the key
(``object/*/*``, ``object/re*``), no ``.``/``..`` or empty segment, no policy variable (``${...}``), no bare
``*``, no wildcard bucket or access point name, no ``NotResource``; ``s3:prefix`` conditions likewise. A role
naming an access point whose policy grants another role (another team's access point), a role reaching a
prefix its access point does not grant, and two access points of one bucket granting prefixes one within the
other (``research`` and ``research/a``) are violations too. A document not known yet is a "cannot judge" note.
Managed policies attached to a team role are not read here (iam-least-privilege judges their breadth).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Optional

from pulumi_policy import ReportViolation

from ._declare import Config, declare, option
from ._iam import conditions, documents, is_allow, strings
from ._lib import UNKNOWN, Graph, Node, Verdicts, as_list, parse_document, statements

NAME = "team-data-own-prefix"
ROLE_TYPES = {"aws:iam/role:Role", "aws-native:iam:Role"}
ROLE_POLICY_TYPES = {"aws:iam/rolePolicy:RolePolicy": "policy", "aws-native:iam:RolePolicy": "policyDocument"}
ASSOCIATION_TYPES = {
    "aws:eks/podIdentityAssociation:PodIdentityAssociation",
    "aws-native:eks:PodIdentityAssociation",
}
AP_POLICY_TYPE = "aws:s3control/accessPointPolicy:AccessPointPolicy"
ACCESS_POINT_TYPES = {"aws:s3/accessPoint:AccessPoint", "aws-native:s3:AccessPoint"}
CONFIG = {
    "teamTag": option("team", "Tag key that marks a role as a team's (its value names the team)."),
    "exemptResources": option([], "Resource or role names whose S3 access is not judged by this rule."),
}

DESCRIPTION = (
    "A team's roles (Pod Identity target and data roles, roles tagged for a team) and every access point "
    "policy reach S3 objects only as '<literal prefix>/*' (no wildcard beyond that trailing '/*', no bare '*', "
    "no '..' or policy variable), only through the team's own access point and within its own prefix; two "
    "access points of one bucket do not grant prefixes one within the other."
)
REMEDIATION = (
    "Give the team a literal prefix and grant 'arn:aws:s3:<region>:<account>:accesspoint/<the team's access "
    "point>/object/<prefix>/*' (and s3:prefix '<prefix>/*' for ListBucket) only, as "
    "hyperpod_platform.team_data.target_role_policy and access_point_policy do; give teams sharing a bucket "
    "prefixes neither of which starts with the other."
)

SEGMENT = re.compile(r"^[A-Za-z0-9!_.'()-]+$")


def literal_prefix_problem(prefix: str) -> Optional[str]:
    """Why ``prefix`` (the part before a trailing ``/*``) is not a literal key prefix, or None."""
    segments = prefix.split("/")
    if not prefix or "" in segments:
        return "an empty segment"
    if any(s in (".", "..") for s in segments):
        return "a '.' or '..' segment"
    bad = sorted({c for s in segments for c in s if not SEGMENT.match(c)})
    return f"{', '.join(repr(c) for c in bad)} in the key" if bad else None


def key_problem(key: str) -> tuple[Optional[str], Optional[str]]:
    """(why the object key pattern ``key`` reaches beyond one prefix or None, the prefix it grants or None)."""
    if key.endswith("/*"):
        why = literal_prefix_problem(key[:-2])
        return (f"{key!r} has {why}, so it reaches beyond one prefix" if why else None), (None if why else key[:-2])
    why = literal_prefix_problem(key)
    return (f"{key!r} has {why}: it is not one prefix's '<prefix>/*' nor one object" if why else None), None


@dataclass
class Reach:
    """What one document reaches: problems, and the access points and prefixes it names."""

    problems: list[str] = field(default_factory=list)
    access_points: dict[str, str] = field(default_factory=dict)  # name -> the statement naming it first
    prefixes: dict[tuple[str, str], str] = field(default_factory=dict)  # (access point, prefix) -> statement


def _s3_statement(st: dict[str, Any]) -> bool:
    if "NotAction" in st:
        return True
    return any(
        a == "*" or a.lower().startswith("s3:") or a.lower().startswith("s3*") for a in strings(st.get("Action"))
    )


def _resource(res: str, where: str, reach: Reach) -> None:
    if set(res) <= {"*", "?"}:
        reach.problems.append(f"{where} allows Resource {res!r}: every object of every bucket and access point")
        return
    parts = res.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "s3":
        return
    rest = parts[5]
    if rest.startswith("accesspoint/"):
        name, _, tail = rest[len("accesspoint/") :].partition("/")
        if any(c in name for c in "*?$"):
            reach.problems.append(f"{where} allows {res}: access point name {name!r} is a pattern (every team's)")
            return
        reach.access_points.setdefault(name, where)
        if not tail:
            return
        key = tail[len("object/") :] if tail.startswith("object/") else None
        if key is None:
            reach.problems.append(f"{where} allows {res}: not '<access point>/object/<prefix>/*'")
            return
        why, prefix = key_problem(key)
        if why:
            reach.problems.append(f"{where} allows {res}: the key {why}")
        elif prefix:
            reach.prefixes.setdefault((name, prefix), where)
        return
    if parts[3] or parts[4]:  # other S3 resources (jobs, storage lens...) are not objects
        return
    bucket, _, key = rest.partition("/")
    if any(c in bucket for c in "*?$"):
        reach.problems.append(f"{where} allows {res}: bucket name {bucket!r} is a pattern")
        return
    if key:
        why, _prefix = key_problem(key)
        if why:
            reach.problems.append(f"{where} allows {res}: the key {why}")


def _reach(doc: dict, label: str) -> Reach:
    reach = Reach()
    for i, st in enumerate(statements(doc)):
        if not is_allow(st) or not _s3_statement(st):
            continue
        where = f"{label} statement {st.get('Sid') or i}"
        if "NotResource" in st:
            reach.problems.append(f"{where} allows every resource except NotResource {st.get('NotResource')}")
            continue
        for res in strings(st.get("Resource")):
            _resource(res, where, reach)
        for op, key, values in conditions(st):
            if key != "s3:prefix" or op.startswith("StringNot"):
                continue
            for v in values:
                why = key_problem(v)[0] if any(c in v for c in "*?$") or ".." in v else None
                if why:
                    reach.problems.append(f"{where} lists s3:prefix {why}")
    return reach


def _role_name(arn: Any) -> Optional[str]:
    if isinstance(arn, str) and ":role/" in arn:
        return arn.rsplit("/", 1)[-1]
    return None


def _team_roles(graph: Graph, tag_key: str) -> dict[str, Node]:
    roles = graph.of_type(*ROLE_TYPES)
    by_name = {r.props.get("roleName") or r.props.get("name"): r for r in roles}
    found: dict[str, Node] = {}
    for assoc in graph.of_type(*ASSOCIATION_TYPES):
        for key in ("targetRoleArn", "roleArn"):
            hits = assoc.deps_of(key, ROLE_TYPES)
            named = by_name.get(_role_name(assoc.props.get(key)))
            for role in hits + ([named] if named is not None else []):
                found[role.urn] = role
    for role in roles:
        tags = role.props.get("tags")
        items = (
            tags.items()
            if isinstance(tags, dict)
            else [(t.get("key"), t.get("value")) for t in as_list(tags) if isinstance(t, dict)]
        )
        if any(isinstance(k, str) and k.lower() == tag_key.lower() for k, _ in items):
            found[role.urn] = role
    return found


def _role_documents(graph: Graph, role: Node) -> list[tuple[Node, str, Any]]:
    """(resource, label, raw document) of the role's inline policies: its own and the RolePolicy resources on it."""
    out = [
        (role, f"role {role.name} {where}", raw)
        for where, kind, raw in documents(role.type, role.props)
        if kind == "identity"
    ]
    for typ, key in ROLE_POLICY_TYPES.items():
        keys = ("id", "name", "roleName")
        for policy in graph.referrers({typ}, "role" if typ.startswith("aws:") else "roleName", role, keys):
            out.append((policy, f"role policy {policy.name} (on team role {role.name})", policy.props.get(key)))
    return out


@dataclass
class AccessPointGrant:
    policy: Node
    name: Optional[str]
    bucket: Any
    principals: set[str]
    reach: Reach


def _access_point_of(graph: Graph, policy: Node) -> tuple[Optional[str], Any]:
    """(the access point's name, its bucket) of an access point policy, as far as known."""
    nodes = policy.deps_of("accessPointArn", ACCESS_POINT_TYPES)
    arn = policy.props.get("accessPointArn")
    name = arn.split("accesspoint/", 1)[1].split("/")[0] if isinstance(arn, str) and "accesspoint/" in arn else None
    if not nodes and name:
        nodes = [n for n in graph.of_type(*ACCESS_POINT_TYPES) if n.props.get("name") == name]
    if nodes:
        own = nodes[0].props.get("name")
        return (own if isinstance(own, str) and own else name), nodes[0].props.get("bucket")
    return name, None


def _validate(graph: Graph, cfg: Config, verdicts: Verdicts, report_violation: ReportViolation) -> None:
    exempt = {str(n) for n in as_list(cfg.get("exemptResources"))}
    tag_key = str(cfg.get("teamTag") or "team")
    found: dict[str, list[str]] = {}
    labels: dict[str, str] = {}

    grants: list[AccessPointGrant] = []
    for policy in graph.of_type(AP_POLICY_TYPE):
        if policy.name in exempt:
            continue
        doc, error = parse_document(policy.props.get("policy"))
        if doc is UNKNOWN:
            verdicts.cannot_judge(f"access point policy {policy.name}: policy is not known yet")
            continue
        if error or not isinstance(doc, dict):
            continue
        reach = _reach(doc, "policy")
        name, bucket = _access_point_of(graph, policy)
        principals = {
            n for st in statements(doc) if is_allow(st) for p in _aws(st) for n in [_role_name(p)] if n is not None
        }
        grants.append(AccessPointGrant(policy, name, bucket, principals, reach))
        labels[policy.urn] = f"access point policy {policy.name}"
        found.setdefault(policy.urn, []).extend(reach.problems)

    for i, a in enumerate(grants):
        for b in grants[i + 1 :]:
            if not isinstance(a.bucket, str) or a.bucket != b.bucket:
                continue
            for (_, pa), _where in sorted(a.reach.prefixes.items()):
                for (_, pb), where in sorted(b.reach.prefixes.items()):
                    if pa == pb or pa.startswith(pb + "/") or pb.startswith(pa + "/"):
                        found[b.policy.urn].append(
                            f"{where} grants prefix {pb!r} of bucket {b.bucket}, and access point policy "
                            f"{a.policy.name} grants {pa!r}: one within the other, so one team's objects are the "
                            "other's too (give the teams prefixes neither of which starts with the other)"
                        )

    by_access_point = {g.name: g for g in grants if g.name}
    for role in _team_roles(graph, tag_key).values():
        if role.name in exempt or role.props.get("name") in exempt:
            continue
        own_name = role.props.get("roleName") or role.props.get("name")
        for holder, label, raw in _role_documents(graph, role):
            doc, error = parse_document(raw)
            if doc is UNKNOWN:
                verdicts.cannot_judge(f"{label}: the document is not known yet")
                continue
            if error or not isinstance(doc, dict):
                continue
            reach = _reach(doc, label)
            problems = list(reach.problems)
            for ap, where in sorted(reach.access_points.items()):
                grant = by_access_point.get(ap)
                if grant is None or not isinstance(own_name, str):
                    continue
                if grant.principals and own_name not in grant.principals:
                    problems.append(
                        f"{where} reaches access point {ap}, whose policy {grant.policy.name} grants "
                        f"{sorted(grant.principals)}, not this role: another team's access point"
                    )
                    continue
                own = {p for _, p in grant.reach.prefixes}
                for (_, prefix), named in sorted(p for p in reach.prefixes.items() if p[0][0] == ap):
                    if own and not any(prefix == o or prefix.startswith(o + "/") for o in own):
                        problems.append(
                            f"{named} reaches prefix {prefix!r} of access point {ap}, outside the prefixes its "
                            f"policy {grant.policy.name} grants ({sorted(own)})"
                        )
            if problems:
                labels[holder.urn] = label.split(" statement ")[0] if holder is not role else f"role {role.name}"
                found.setdefault(holder.urn, []).extend(problems)

    for urn, problems in found.items():
        if problems:
            report_violation(
                f"{labels[urn]}: "
                + "; ".join(problems)
                + ": grant only 'accesspoint/<the team's access point>/object/<its literal prefix>/*' (and s3:prefix "
                "'<prefix>/*'), as team_data.target_role_policy and access_point_policy do",
                urn,
            )


def _aws(st: dict[str, Any]) -> list[str]:
    principal = st.get("Principal")
    return strings(principal.get("AWS")) if isinstance(principal, dict) else []


POLICY = declare(NAME, DESCRIPTION, REMEDIATION, CONFIG, level="mandatory", severity="critical", stack=_validate)
