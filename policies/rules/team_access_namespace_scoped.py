"""team-access-namespace-scoped: a team's EKS access is scoped to exactly its own namespace.

Each team's cluster access role gets an EKS access policy "scoped to the namespace of the workforce" (seed
004): ``hyperpod-ns-<team>`` (the namespace HyperPod task governance creates for a team's ComputeQuota). EKS
also accepts cluster scope, several namespaces and wildcards (``dev-*``), and AmazonEKSClusterAdminPolicy, so
the rule makes the narrow form the only one a team can get.

**Who is a team.** Every principal that is not a platform administrator: ``adminPrincipals`` (IAM principal
ARNs, IAM wildcards allowed, e.g. ``arn:aws:iam::*:role/PlatformAdmin``) are the only principals whose access
may be cluster-wide. Without ``adminPrincipals`` in the pack config, the admins are the exact ARNs the stack
declares in its ``eksAdminRoleArns`` output (the platform's ``eks.adminRoleArns``); a production config
(``prod.json``) names them itself. Deciding "team" by a tag or a name instead would let an untagged, oddly
named role through with cluster access; an allow-list of admins fails closed.

**What is judged,** for every access policy a non-admin principal gets, in every shape: ``aws.eks.
AccessPolicyAssociation``, aws-native ``eks.AccessEntry`` ``accessPolicies``, and the pulumi-eks component's
``accessEntries[*].accessPolicies`` inputs (offline the component carries them; in a real preview its
``AccessEntry``/``AccessPolicyAssociation`` children are judged):

* never a cluster admin policy (``clusterAdminPolicies``, default AmazonEKSClusterAdminPolicy), at any scope;
* ``accessScope.type`` ``namespace`` (cluster scope, e.g. AmazonEKSAdminPolicy or AmazonEKSEditPolicy on
  the whole cluster, is refused);
* exactly one namespace, without ``*`` or ``?``, named ``<namespacePrefix><team>`` (``hyperpod-ns-<team>``);
* that namespace is the principal's own: the principal role (found in the stack by property dependency, ARN
  or name) is tagged ``<teamTag>=<team>``, or, untagged, its name (the ARN's role name, the role's ``name``
  input or its resource name) contains ``<team>`` as a whole word (``hp-team-a-access`` for ``team-a``);
* one principal reaches one team namespace, across all its associations.

Access entries (``aws.eks.AccessEntry``, aws-native, component) of non-admin principals must not join the
``system:masters`` Kubernetes group (cluster-admin through RBAC). Their other groups are judged by the RBAC
of the plan that binds them (a team needs RBAC for its custom resources, which no access policy covers): a
``RoleBinding`` only in the principal's own team namespace, a ``ClusterRoleBinding`` only to a ClusterRole of the
stack that reads (get/list/watch, no wildcard, no secrets). Entries of other types than STANDARD
(nodes: EC2_LINUX, HYPERPOD_LINUX...) are not judged. A principal or scope not known yet (preview) is a
"cannot judge" note where the verdict depends on it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Optional

from pulumi_policy import ReportViolation

from ._declare import Config, declare, option
from ._iam import wildcard_match
from ._lib import UNKNOWN, Graph, Node, Verdicts, as_list, has_unknown

NAME = "team-access-namespace-scoped"
ASSOCIATION = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
AWS_ENTRY = "aws:eks/accessEntry:AccessEntry"
NATIVE_ENTRY = "aws-native:eks:AccessEntry"
COMPONENT = "eks:index:Cluster"
ROLE_TYPES = {"aws:iam/role:Role", "aws-native:iam:Role"}
MASTERS = "system:masters"
CONFIG = {
    "adminPrincipals": option(
        [],
        "IAM principal ARNs (IAM wildcards allowed) of the platform administrators: the only principals whose "
        "EKS access may be cluster-wide. Every other principal is judged as a team's.",
    ),
    "namespacePrefix": option("hyperpod-ns-", "Prefix of a team's namespace (HyperPod task governance)."),
    "teamTag": option("team", "Tag key (any case) naming the team of a principal role."),
    "clusterAdminPolicies": option(
        ["AmazonEKSClusterAdminPolicy"],
        "EKS access policies (last segment of the ARN) a team never gets, whatever the scope.",
    ),
}

DESCRIPTION = (
    "A team's EKS access (any principal not in adminPrincipals; AccessPolicyAssociation, aws-native "
    "AccessEntry, pulumi-eks accessEntries) is namespace-scoped to exactly its own namespace "
    "hyperpod-ns-<team> (no wildcard, one namespace, the principal tagged or named for that team), never "
    "cluster-wide nor AmazonEKSClusterAdminPolicy, and never in system:masters."
)
REMEDIATION = (
    "Give the team's role a namespace-scoped policy: aws.eks.AccessPolicyAssociation(policy_arn=<...>/"
    "AmazonEKSEditPolicy, principal_arn=<team role>, access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs("
    "type='namespace', namespaces=['hyperpod-ns-<team>'])), tag the role team=<team> (or name it for the team), "
    "and keep cluster-wide policies for the roles listed in adminPrincipals (policies/config/prod.json)."
)


@dataclass
class Grant:
    """One access a principal gets: an access policy (``policy`` set) or an access entry's groups."""

    node: Node
    where: str  # e.g. "accessEntries.team-a.accessPolicies.edit" or "" for the resource itself
    principal: Any  # the principal ARN, or UNKNOWN
    principal_key: str  # the property whose dependencies may name the principal role
    policy: Any = None  # the access policy ARN (None: an entry's groups only)
    scope: Any = None  # {"type", "namespaces"} or UNKNOWN
    groups: Any = field(default_factory=list)  # kubernetesGroups

    @property
    def label(self) -> str:
        return _label(self.node) + (f" {self.where}" if self.where else "")


def _label(node: Node) -> str:
    """``AccessPolicyAssociation team-a-edit``: how a message names the resource."""
    return f"{node.type.split(':')[-1]} {node.name}"


def _entry_type_judged(entry: dict) -> bool:
    kind = entry.get("type")
    return kind in (None, "", "STANDARD") or kind is UNKNOWN


def _grants(graph: Graph) -> list[Grant]:
    grants: list[Grant] = []
    for node in graph.of_type(ASSOCIATION):
        p = node.props
        grants.append(Grant(node, "", p.get("principalArn"), "principalArn", p.get("policyArn"), p.get("accessScope")))
    for node in graph.of_type(AWS_ENTRY):
        if _entry_type_judged(node.props):
            grants.append(
                Grant(
                    node, "", node.props.get("principalArn"), "principalArn", groups=node.props.get("kubernetesGroups")
                )
            )
    for node in graph.of_type(NATIVE_ENTRY):
        p = node.props
        if not _entry_type_judged(p):
            continue
        grants.append(Grant(node, "", p.get("principalArn"), "principalArn", groups=p.get("kubernetesGroups")))
        policies = p.get("accessPolicies")
        if policies is UNKNOWN:
            grants.append(Grant(node, "accessPolicies", p.get("principalArn"), "principalArn", UNKNOWN, UNKNOWN))
        for i, ap in enumerate(policies if isinstance(policies, list) else []):
            ap = ap if isinstance(ap, dict) else {}
            grants.append(
                Grant(
                    node,
                    f"accessPolicies[{i}]",
                    p.get("principalArn"),
                    "principalArn",
                    ap.get("policyArn", UNKNOWN),
                    ap.get("accessScope", UNKNOWN),
                )
            )
    for node in graph.of_type(COMPONENT):
        entries = node.props.get("accessEntries")
        if entries is UNKNOWN:
            grants.append(Grant(node, "accessEntries", UNKNOWN, "accessEntries", UNKNOWN, UNKNOWN))
            continue
        for key, entry in (entries or {}).items() if isinstance(entries, dict) else []:
            entry = entry if isinstance(entry, dict) else {}
            if not _entry_type_judged(entry):
                continue
            principal = entry.get("principalArn", UNKNOWN)
            base = f"accessEntries.{key}"
            grants.append(Grant(node, base, principal, "accessEntries", groups=entry.get("kubernetesGroups")))
            policies = entry.get("accessPolicies")
            for pkey, ap in (policies or {}).items() if isinstance(policies, dict) else []:
                ap = ap if isinstance(ap, dict) else {}
                grants.append(
                    Grant(
                        node,
                        f"{base}.accessPolicies.{pkey}",
                        principal,
                        "accessEntries",
                        ap.get("policyArn", UNKNOWN),
                        ap.get("accessScope", UNKNOWN),
                    )
                )
    return grants


def _is_admin(principal: Any, patterns: list[str]) -> Any:
    if principal is UNKNOWN or not isinstance(principal, str):
        return UNKNOWN if principal is UNKNOWN else False
    return any(wildcard_match(p, principal) for p in patterns)


def _policy_name(arn: Any) -> Any:
    return arn.rsplit("/", 1)[-1] if isinstance(arn, str) else arn


def _breadth(grant: Grant, cfg: Config) -> tuple[list[str], list[str], Optional[str]]:
    """(problems, what is not known, the one team namespace) of a grant's policy and scope."""
    problems: list[str] = []
    unknown: list[str] = []
    name = _policy_name(grant.policy)
    admin_policies = {str(p) for p in cfg.get("clusterAdminPolicies") or []}
    if name is UNKNOWN or name is None:
        unknown.append("its policyArn is not known yet")
    elif name in admin_policies:
        problems.append(f"gets {name}, a cluster admin policy,")
    scope = grant.scope
    kind = scope.get("type", UNKNOWN) if isinstance(scope, dict) else scope
    if kind is UNKNOWN:
        unknown.append("its accessScope is not known yet")
        return problems, unknown, None
    if kind != "namespace":
        problems.append(
            f"{'is' if problems else f'gets {name}'} scoped to the whole cluster (accessScope.type {kind!r})"
        )
        return problems, unknown, None
    namespaces = scope.get("namespaces") if isinstance(scope, dict) else None
    if namespaces is UNKNOWN or has_unknown(namespaces):
        unknown.append("its accessScope.namespaces are not known yet")
        return problems, unknown, None
    namespaces = [str(n) for n in as_list(namespaces)]
    prefix = str(cfg.get("namespacePrefix") or "")
    if len(namespaces) != 1:
        problems.append(f"is scoped to {len(namespaces)} namespaces {namespaces}, not exactly one")
        return problems, unknown, None
    (ns,) = namespaces
    if any(c in ns for c in "*?"):
        problems.append(f"is scoped to namespace pattern {ns!r} (a wildcard reaches other namespaces)")
    elif not ns.startswith(prefix) or len(ns) == len(prefix):
        problems.append(f"is scoped to namespace {ns!r}, not a team namespace {prefix}<team>")
    else:
        return problems, unknown, ns
    return problems, unknown, None


def _role_of(graph: Graph, grant: Grant) -> Optional[Node]:
    """The stack's role the grant's principal is: by property dependency (of an association or entry; for the
    component, whose ``accessEntries`` dependencies mix every entry's, only when the principal is unknown and
    one role explains it), else by its known ARN, else by the ARN's role name."""
    deps = grant.node.deps_of(grant.principal_key, ROLE_TYPES)
    if deps and grant.principal_key != "accessEntries":
        return deps[0]
    principal = grant.principal
    if isinstance(principal, str):
        hit = graph.by_value(principal, ROLE_TYPES, ("arn",))
        if hit is None and ":role/" in principal:
            hit = graph.by_value(principal.rsplit("/", 1)[-1], ROLE_TYPES, ("name", "roleName"))
        return hit
    return deps[0] if principal is UNKNOWN and len(deps) == 1 else None


def _tag(role: Optional[Node], key: str) -> Any:
    """The value of tag ``key`` (any case) of a role: pulumi-aws ``tags`` map or aws-native ``tags`` list."""
    if role is None:
        return None
    tags = role.props.get("tags")
    if tags is UNKNOWN:
        return UNKNOWN
    if isinstance(tags, dict):
        items = list(tags.items())
    else:
        items = [(t.get("key"), t.get("value")) for t in tags or [] if isinstance(t, dict)]
    for k, v in items:
        if isinstance(k, str) and k.lower() == key.lower():
            return v
    return None


def _names(grant: Grant, role: Optional[Node]) -> list[str]:
    names = []
    if isinstance(grant.principal, str) and ":role/" in grant.principal:
        names.append(grant.principal.rsplit("/", 1)[-1])
    if role is not None:
        for key in ("name", "roleName"):
            value = role.props.get(key)
            if isinstance(value, str) and value:
                names.append(value)
        names.append(role.name)
    return list(dict.fromkeys(names))


def _word(team: str, name: str) -> bool:
    return re.search(rf"(?<![a-z0-9]){re.escape(team)}(?![a-z0-9])", name, re.IGNORECASE) is not None


def _who(grant: Grant, role: Optional[Node]) -> str:
    if isinstance(grant.principal, str):
        return f"principal {grant.principal}"
    return f"principal role {role.name}" if role is not None else "its principal"


STACK = "pulumi:pulumi:Stack"
DECLARED_ADMINS = "eksAdminRoleArns"


def _declared_admins(graph: Graph) -> list[str]:
    """Without ``adminPrincipals`` in the policy config: the admins the stack declares, its ``eksAdminRoleArns``
    output (the platform's ``eks.adminRoleArns``), exact ARNs only (no wildcard widens them). A production pack
    config names its admins itself, and then only those are admins."""
    declared: list[str] = []
    for stack in graph.of_type(STACK):
        value = stack.props.get(DECLARED_ADMINS)
        for arn in as_list(value) if isinstance(value, list) else []:
            if isinstance(arn, str) and arn.startswith("arn:") and "*" not in arn and "?" not in arn:
                declared.append(arn)
    return declared


def _validate(graph: Graph, cfg: Config, verdicts: Verdicts, report_violation: ReportViolation) -> None:
    admins = [str(p) for p in cfg.get("adminPrincipals") or []] or _declared_admins(graph)
    prefix = str(cfg.get("namespacePrefix") or "")
    tag_key = str(cfg.get("teamTag") or "team")
    problems: dict[str, list[str]] = {}  # node URN -> problems
    team_groups: dict[str, tuple[Grant, str]] = {}  # a non-admin entry's Kubernetes group -> (entry, principal)
    nodes: dict[str, Node] = {}
    reached: dict[str, dict[str, Grant]] = {}  # principal (ARN or role URN) -> team namespace -> the grant
    shown: dict[str, str] = {}  # principal -> how messages name it

    def problem(grant: Grant, text: str) -> None:
        nodes[grant.node.urn] = grant.node
        problems.setdefault(grant.node.urn, []).append(text)

    for grant in _grants(graph):
        admin = _is_admin(grant.principal, admins)
        if admin is True:
            continue
        role = _role_of(graph, grant)
        who = _who(grant, role)
        where = f"{grant.where}: " if grant.where else ""
        if grant.policy is None:  # an access entry: its Kubernetes groups
            groups = grant.groups
            if groups is UNKNOWN or has_unknown(groups):
                verdicts.cannot_judge(f"{grant.label}: kubernetesGroups are not known yet")
            elif MASTERS in [str(g) for g in as_list(groups)]:
                if admin is UNKNOWN:
                    verdicts.cannot_judge(f"{grant.label}: {who} joins {MASTERS}; the principal is not known yet")
                else:
                    problem(
                        grant,
                        f"{where}{who} joins Kubernetes group {MASTERS} (cluster admin through RBAC); a team's "
                        f"entry gets only its own group, bound in its namespace, and a namespace-scoped access policy",
                    )
            elif isinstance(groups, list) and admin is False:
                for g in groups:
                    if isinstance(g, str) and g != MASTERS:
                        team_groups.setdefault(g, (grant, grant.principal if isinstance(grant.principal, str) else ""))
            continue
        broad, unknown, namespace = _breadth(grant, cfg)
        if broad:
            if admin is UNKNOWN:
                verdicts.cannot_judge(
                    f"{grant.label}: {'; '.join(broad)}, which only adminPrincipals may have, and its principal "
                    "is not known yet"
                )
            else:
                admin_policy = any(b.endswith("a cluster admin policy,") for b in broad)
                problem(
                    grant,
                    f"{where}{who} (not in adminPrincipals) {' and '.join(broad).rstrip(',')}: scope it with "
                    f"access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type='namespace', "
                    f"namespaces=['{prefix}<team>'])"
                    + (" and give a team policy such as AmazonEKSEditPolicy" if admin_policy else ""),
                )
            continue
        if unknown or namespace is None:
            verdicts.cannot_judge(f"{grant.label}: {'; '.join(unknown)}")
            continue
        team = namespace[len(prefix) :]
        tagged = _tag(role, tag_key)
        if tagged is UNKNOWN:
            verdicts.cannot_judge(f"{grant.label}: the tags of role {role.name} are not known yet")
            continue
        if isinstance(tagged, str) and tagged:
            if tagged != team:
                problem(
                    grant,
                    f"{where}{who} is tagged {tag_key}={tagged} but is scoped to {namespace}, team {team}'s "
                    f"namespace: scope it to {prefix}{tagged}",
                )
                continue
        else:
            names = _names(grant, role)
            if not names:
                verdicts.cannot_judge(
                    f"{grant.label}: its principal is not known yet, so whose namespace {namespace} is cannot be told"
                )
                continue
            if not any(_word(team, n) for n in names):
                problem(
                    grant,
                    f"{where}{who} is scoped to {namespace} but is neither tagged {tag_key}={team} nor named for "
                    f"team {team} (names {names}), so {namespace} is not shown to be its own namespace: tag the "
                    f"role {tag_key}={team} or name it for the team",
                )
                continue
        if isinstance(grant.principal, str) or role is not None:
            key = grant.principal if isinstance(grant.principal, str) else role.urn
            reached.setdefault(key, {}).setdefault(namespace, grant)
            shown[key] = who
    for key, namespaces in reached.items():
        if len(namespaces) > 1:
            listing = ", ".join(f"{ns} ({g.label})" for ns, g in sorted(namespaces.items()))
            last = sorted(namespaces.items())[-1][1]
            problem(
                last,
                f"{shown[key]} reaches several team namespaces: {listing}; a team role reaches only its own "
                "namespace: give each team its own role",
            )
    for binding, text in _rbac_reach(graph, team_groups, reached, prefix, verdicts):
        nodes[binding.urn] = binding
        problems.setdefault(binding.urn, []).append(text)
    for urn, texts in problems.items():
        report_violation(f"{_label(nodes[urn])}: " + "; ".join(texts), urn)


RBAC = "kubernetes:rbac.authorization.k8s.io/v1:"
READ_VERBS = {"get", "list", "watch"}


def _meta(node: Node, key: str) -> Any:
    meta = node.props.get("metadata")
    return meta.get(key) if isinstance(meta, dict) else (UNKNOWN if meta is UNKNOWN else None)


def _rbac_reach(
    graph: Graph, team_groups: dict[str, tuple[Grant, str]], reached: dict, prefix: str, verdicts: Verdicts
) -> list[tuple[Node, str]]:
    """What the RBAC of the plan gives a team's Kubernetes groups: a RoleBinding only in the team's own
    namespace (its access policy's, else a ``<prefix><team>`` one), a ClusterRoleBinding only to a ClusterRole of
    the stack that reads (get/list/watch, no wildcard, no secrets)."""
    found: list[tuple[Node, str]] = []
    cluster_roles = {_meta(r, "name"): r for r in graph.of_type(RBAC + "ClusterRole")}
    for binding in graph.of_type(RBAC + "RoleBinding", RBAC + "ClusterRoleBinding"):
        subjects = binding.props.get("subjects")
        if has_unknown(subjects):
            verdicts.cannot_judge(f"{_label(binding)}: its subjects are not known yet")
            continue
        names = [s.get("name") for s in as_list(subjects) if isinstance(s, dict) and s.get("kind") == "Group"]
        for group in [n for n in names if n in team_groups]:
            grant, principal = team_groups[group]
            who = f"team group {group} (access entry {grant.node.name})"
            if binding.type.endswith(":RoleBinding"):
                ns = _meta(binding, "namespace")
                own = sorted(reached.get(principal, {})) if principal else []
                if ns is UNKNOWN or ns is None:
                    verdicts.cannot_judge(f"{_label(binding)}: its namespace is not known yet")
                elif not str(ns).startswith(prefix) or len(str(ns)) == len(prefix) or (own and ns not in own):
                    found.append(
                        (
                            binding,
                            f"binds {who} in namespace {ns}, not its own team namespace "
                            f"({', '.join(own) or prefix + '<team>'}): bind a team's group only in its namespace",
                        )
                    )
                continue
            ref = binding.props.get("roleRef")
            name = ref.get("name") if isinstance(ref, dict) else UNKNOWN
            role = cluster_roles.get(name)
            if name is UNKNOWN:
                verdicts.cannot_judge(f"{_label(binding)}: its roleRef is not known yet")
                continue
            if role is None:
                found.append(
                    (
                        binding,
                        f"binds {who} cluster-wide to ClusterRole {name}, which the stack does not define (a built-in "
                        "such as cluster-admin, admin or edit): give a team a read-only ClusterRole of the stack",
                    )
                )
                continue
            rules = role.props.get("rules")
            if has_unknown(rules):
                verdicts.cannot_judge(f"{_label(role)}: its rules are not known yet")
                continue
            wide = [
                r
                for r in as_list(rules)
                if not isinstance(r, dict)
                or not set(as_list(r.get("verbs"))) <= READ_VERBS
                or "*" in as_list(r.get("apiGroups"))
                or "*" in as_list(r.get("resources"))
                or "secrets" in as_list(r.get("resources"))
            ]
            if wide:
                found.append(
                    (
                        binding,
                        f"binds {who} cluster-wide to ClusterRole {name}, which does more than read "
                        f"({json.dumps(wide, default=str)}): a team's cluster-wide role only gets, lists and "
                        "watches named resources (e.g. Kueue's clusterqueues); writes belong in a Role in its "
                        "namespace",
                    )
                )
    return found


POLICY = declare(NAME, DESCRIPTION, REMEDIATION, CONFIG, level="mandatory", severity="critical", stack=_validate)
