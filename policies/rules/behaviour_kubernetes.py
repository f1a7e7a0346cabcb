"""behaviour-kubernetes: the pods the platform needs are placed, and each team may run its jobs.

Two questions about the cluster as deployed, answered from the plan (a behaviour check, ``_behaviour.py``):

**Pods placed.** Every node DaemonSet the HyperPod chart or an EKS add-on must run on an instance group
tolerates that group's taints (``NoSchedule``/``NoExecute``; ``PreferNoSchedule`` keeps no pod off). The facts
of each DaemonSet (fixed tolerations, the values path of its extra ones and their default, the instance types
its node affinity admits, its nodeSelector) are pinned in ``policies/data/kubernetes_daemonsets.json``, made by
``tools/daemonset_facts.py`` from a helm render of the pinned chart (its commit is recorded there); the add-ons'
from their own charts. The tolerations a DaemonSet gets are read from the Helm release's ``values`` (a list
replaces the chart's default, as Helm merges) or the add-on's ``configurationValues``; the groups and their
taints and labels from the HyperPod cluster's ``instanceGroups[*].kubernetesConfig``. A DaemonSet must run on a
group when its sub-chart is enabled, its affinity admits the group's instance type and the group's labels carry
its nodeSelector. A group whose taint it does not tolerate gets no such pod: no EFA or GPU devices, no health
agent.

**Teams may run their jobs.** For each team (a ComputeQuota's ``teamName``, namespace ``hyperpod-ns-<team>``),
its principals (access entries whose policy is scoped to that namespace, or whose Kubernetes groups are bound
there) may ``create`` PyTorchJobs (``kubeflow.org``) and batch Jobs and pods, read the Kueue workloads of their
jobs in the namespace, read the Kueue cluster queues and priority classes, and, when the stack has a shared
file system volume, read a claim in the namespace bound to it. Permissions come from EKS access policies
(fixed rule sets over Kubernetes' own API groups, :data:`ACCESS_POLICIES`, which cover no custom resource) on
their scope, and RBAC in the plan: Roles, ClusterRoles and their bindings to the entry's groups.

Each pod placed and each permission granted is proved; each failure is a problem naming the DaemonSet and the
group, or the team, verb and resource, with the fix.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any, Optional

from ._behaviour import Findings, declare_behaviour
from ._declare import Config
from ._lib import UNKNOWN, Graph, Node, as_list, has_unknown

NAME = "behaviour-kubernetes"
DATA = Path(__file__).resolve().parent.parent / "data" / "kubernetes_daemonsets.json"

CLUSTER = "aws-native:sagemaker:Cluster"
RELEASE = "kubernetes:helm.sh/v3:Release"
ADDON = "aws:eks/addon:Addon"
EKS_COMPONENT = "eks:index:Cluster"
QUOTA = "aws-native:sagemaker:ComputeQuota"
AWS_ENTRY = "aws:eks/accessEntry:AccessEntry"
NATIVE_ENTRY = "aws-native:eks:AccessEntry"
ASSOCIATION = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
RBAC = "kubernetes:rbac.authorization.k8s.io/v1:"
ROLE, ROLE_BINDING = RBAC + "Role", RBAC + "RoleBinding"
CLUSTER_ROLE, CLUSTER_ROLE_BINDING = RBAC + "ClusterRole", RBAC + "ClusterRoleBinding"
PVC, PV = "kubernetes:core/v1:PersistentVolumeClaim", "kubernetes:core/v1:PersistentVolume"
MASTERS = "system:masters"
INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"
BLOCKING = ("NoSchedule", "NoExecute")

_ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
_READ = ["get", "list", "watch"]
_CORE_WORKLOAD = [
    "pods",
    "pods/attach",
    "pods/exec",
    "pods/portforward",
    "pods/proxy",
    "pods/log",
    "pods/status",
    "services",
    "services/proxy",
    "endpoints",
    "persistentvolumeclaims",
    "configmaps",
    "secrets",
    "serviceaccounts",
    "replicationcontrollers",
    "replicationcontrollers/scale",
    "events",
    "limitranges",
    "resourcequotas",
]
_BUILTIN_GROUPS = ["apps", "autoscaling", "batch", "extensions", "policy", "networking.k8s.io"]


def _edit_rules(verbs: list[str]) -> list[dict]:
    return [
        {"apiGroups": [""], "resources": _CORE_WORKLOAD, "verbs": verbs},
        {"apiGroups": _BUILTIN_GROUPS, "resources": ["*"], "verbs": verbs},
        {"apiGroups": [""], "resources": ["namespaces"], "verbs": _READ},
    ]


ACCESS_POLICIES: dict[str, list[dict]] = {
    # EKS user guide, "Review access policy permissions": fixed rule sets over named Kubernetes API groups
    # (core, apps, autoscaling, batch, extensions, policy, networking.k8s.io); no custom resource is covered.
    "AmazonEKSViewPolicy": _edit_rules(_READ),
    "AmazonEKSEditPolicy": _edit_rules(_ALL_VERBS),
    "AmazonEKSAdminPolicy": [
        *_edit_rules(_ALL_VERBS),
        {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles", "rolebindings"], "verbs": _ALL_VERBS},
    ],
    "AmazonEKSClusterAdminPolicy": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}],
}
"""The rules of EKS's access policies, as the EKS user guide lists them (apart from cluster admin, none covers
``kubeflow.org`` or ``kueue.x-k8s.io``)."""

JOB_PERMISSIONS = (
    # (API group, resource, verb, where): what a team needs to run the jobs the platform serves.
    ("kubeflow.org", "pytorchjobs", "create", "namespace"),
    ("batch", "jobs", "create", "namespace"),
    ("", "pods", "create", "namespace"),
    ("kueue.x-k8s.io", "workloads", "get", "namespace"),
    ("kueue.x-k8s.io", "workloads", "list", "namespace"),
    ("kueue.x-k8s.io", "clusterqueues", "list", "cluster"),
    ("kueue.x-k8s.io", "workloadpriorityclasses", "list", "cluster"),
)
STORAGE_PERMISSION = ("", "persistentvolumeclaims", "get", "namespace")

DESCRIPTION = (
    "Every node DaemonSet the HyperPod chart or an EKS add-on must run on an instance group tolerates the "
    "group's taints, and every team can create PyTorchJobs, batch Jobs and pods, read its Kueue workloads and "
    "queues, and mount the shared file system in its own namespace (EKS access policies and RBAC in the plan)."
)
REMEDIATION = (
    "Give each node DaemonSet tolerations for the taints of the groups it must run on (the platform's "
    "platform_values(..., taints) does so at <sub-chart>.tolerations); give each team's access entry a "
    "Kubernetes group bound to a Role in hyperpod-ns-<team> for kubeflow.org pytorchjobs, batch jobs, pods and "
    "kueue.x-k8s.io workloads, and a read-only ClusterRole for Kueue's cluster queues and priority classes "
    "(TeamAccess does); make a claim on the FSx volume in each team namespace (FsxVolume team_namespaces)."
)


@functools.lru_cache(maxsize=1)
def facts() -> dict:
    """The pinned DaemonSet facts (``policies/data/kubernetes_daemonsets.json``)."""
    return json.loads(DATA.read_text())


# ------------------------------------------------------------------------------------------- pods placed


def tolerates(toleration: dict, taint: dict) -> bool:
    """Kubernetes' ``ToleratesTaint``: the effect matches or is empty; ``Exists`` matches the key (an empty key
    every key), ``Equal`` (the default) the key and the value."""
    if toleration.get("effect") and toleration.get("effect") != taint.get("effect"):
        return False
    if toleration.get("operator") == "Exists":
        return not toleration.get("key") or toleration.get("key") == taint.get("key")
    return toleration.get("key") == taint.get("key") and (toleration.get("value") or "") == (taint.get("value") or "")


def _at(values: Any, dotted: str) -> Any:
    """The value at ``dotted`` in nested maps, or None."""
    node = values
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _groups(cluster: Node) -> list[dict]:
    groups = cluster.props.get("instanceGroups")
    return [g for g in groups if isinstance(g, dict)] if isinstance(groups, list) else []


def _taint_text(taint: dict) -> str:
    value = f"={taint.get('value')}" if taint.get("value") else ""
    return f"{taint.get('key')}{value}:{taint.get('effect')}"


def _toleration_for(taint: dict) -> dict:
    if taint.get("value"):
        return {
            "key": taint.get("key"),
            "operator": "Equal",
            "value": taint.get("value"),
            "effect": taint.get("effect"),
        }
    return {"key": taint.get("key"), "operator": "Exists", "effect": taint.get("effect")}


def _must_run(ds: dict, group: dict) -> bool:
    types = ds.get("instanceTypes")
    if types is not None and group.get("instanceType") not in types:
        return False
    labels = (group.get("kubernetesConfig") or {}).get("labels") or {}
    wanted = {k: v for k, v in (ds.get("nodeSelector") or {}).items() if k != INSTANCE_TYPE_LABEL}
    return all(labels.get(k) == v for k, v in wanted.items())


def _place(
    found: Findings,
    owner: Node,
    cluster: Node,
    what: str,
    ds: dict,
    tolerations: list[dict],
    fix_path: Optional[str],
) -> None:
    """Prove or refuse ``ds`` on each group of ``cluster`` it must run on."""
    for group in _groups(cluster):
        if not _must_run(ds, group):
            continue
        name, kind = group.get("instanceGroupName"), group.get("instanceType")
        taints = (group.get("kubernetesConfig") or {}).get("taints") or []
        if has_unknown(taints) or has_unknown(tolerations):
            found.cannot_judge(f"{what} on group {name}: its taints or tolerations are not known yet")
            continue
        blocking = [t for t in taints if isinstance(t, dict) and t.get("effect") in BLOCKING]
        untolerated = [t for t in blocking if not any(tolerates(tol, t) for tol in tolerations)]
        if not untolerated:
            found.prove(f"pod {what} on group {name} ({kind})")
            continue
        needed = [_toleration_for(t) for t in untolerated]
        if fix_path:
            fix = f"add {json.dumps(needed, default=str)} to {fix_path} (keeping the tolerations it has)"
        else:
            fix = "its tolerations are fixed in its template: take the taint off the group, or tolerate it in the chart"
        found.fail(
            owner,
            f"pod {what} cannot run on instance group {name} ({kind}) of {cluster.name}: it does not tolerate "
            f"taint {', '.join(_taint_text(t) for t in untolerated)}: {fix}",
        )


def _chart_releases(graph: Graph) -> list[Node]:
    """The Helm releases of the HyperPod chart (as HyperPodDependencies names it, or by its chart directory)."""
    return [
        r
        for r in graph.of_type(RELEASE)
        if r.props.get("name") == "hyperpod-dependencies" or "HyperPodHelmChart" in str(r.props.get("chart") or "")
    ]


def _chart_pods(graph: Graph, clusters: list[Node], found: Findings) -> None:
    for release in _chart_releases(graph):
        values = release.props.get("values")
        if values is UNKNOWN:
            found.cannot_judge(f"{release.label}: its values are not known yet")
            continue
        values = values if isinstance(values, dict) else {}
        for ds in facts()["daemonsets"]:
            if ds.get("enabledBy") and _at(values, ds["enabledBy"]) is False:
                continue
            path = ds.get("tolerationsValues")
            extra = _at(values, path) if path else None
            extra = extra if isinstance(extra, list) else ds.get("defaultTolerations") or []
            tolerations = [*ds.get("fixedTolerations", []), *extra]
            what = f"{ds['namespace']}/{ds['name']} (DaemonSet of the HyperPod chart)"
            for cluster in clusters:
                _place(found, release, cluster, what, ds, tolerations, f"the release's values {path}" if path else None)


def _addon_nodes(graph: Graph) -> dict[str, Node]:
    """Add-on name -> the resource installing it: ``aws.eks.Addon``, or pulumi-eks's VPC CNI option."""
    found: dict[str, Node] = {}
    for addon in graph.of_type(ADDON):
        name = addon.props.get("addonName")
        if isinstance(name, str):
            found.setdefault(name, addon)
    for component in graph.of_type(EKS_COMPONENT):
        if component.props.get("vpcCniOptions") or component.props.get("useDefaultVpcCni") is not False:
            found.setdefault("vpc-cni", component)
    return found


def _addon_pods(graph: Graph, clusters: list[Node], found: Findings) -> None:
    installed = _addon_nodes(graph)
    for ds in facts().get("addons", []):
        node = installed.get(ds["addon"])
        if node is None:
            continue
        config: Any = node.props.get("configurationValues") if node.type == ADDON else None
        if config is UNKNOWN:
            found.cannot_judge(f"{node.label}: its configurationValues are not known yet")
            continue
        try:
            config = json.loads(config) if isinstance(config, str) and config.strip() else {}
        except ValueError:
            config = {}
        every = _at(config, ds["tolerateAllValues"]) if ds.get("tolerateAllValues") else None
        every = ds.get("tolerateAllDefault", False) if every is None else every
        extra = _at(config, ds["tolerationsValues"]) if ds.get("tolerationsValues") else None
        extra = extra if isinstance(extra, list) else ds.get("defaultTolerations") or []
        tolerations = [{"operator": "Exists"}] if every else [*extra, *ds.get("fixedTolerations", [])]
        what = f"{ds['namespace']}/{ds['name']} (DaemonSet of add-on {ds['addon']})"
        fix = f"the add-on's configurationValues {ds['tolerationsValues']}" if ds.get("tolerationsValues") else None
        for cluster in clusters:
            _place(found, node, cluster, what, {**ds, "instanceTypes": None, "nodeSelector": {}}, tolerations, fix)


# ------------------------------------------------------------------------------------------ team access


def _covers(rule: dict, group: str, resource: str, verb: str) -> bool:
    if rule.get("resourceNames"):
        return False  # limited to named objects: not "create any" nor "list all"
    groups, resources, verbs = (as_list(rule.get(k)) for k in ("apiGroups", "resources", "verbs"))
    return (
        (group in groups or "*" in groups)
        and (resource in resources or "*" in resources)
        and (verb in verbs or "*" in verbs)
    )


class _Principal:
    """A principal's access: its entry, Kubernetes groups, and access policies with their scope."""

    def __init__(self, arn: Any, entry: Node):
        self.arn = arn
        self.entry = entry
        self.groups: list[Any] = []
        self.policies: list[tuple[Any, Any, Node]] = []  # (policy ARN, scope, the resource granting it)


def _principals(graph: Graph) -> list[_Principal]:
    by_arn: dict[Any, _Principal] = {}
    loose: list[_Principal] = []

    def entry(arn: Any, node: Node) -> _Principal:
        if isinstance(arn, str):
            return by_arn.setdefault(arn, _Principal(arn, node))
        p = _Principal(arn, node)
        loose.append(p)
        return p

    for node in graph.of_type(AWS_ENTRY):
        p = entry(node.props.get("principalArn"), node)
        p.groups += as_list(node.props.get("kubernetesGroups"))
    for node in graph.of_type(NATIVE_ENTRY):
        p = entry(node.props.get("principalArn"), node)
        p.groups += as_list(node.props.get("kubernetesGroups"))
        for ap in as_list(node.props.get("accessPolicies")):
            if isinstance(ap, dict):
                p.policies.append((ap.get("policyArn"), ap.get("accessScope"), node))
    for node in graph.of_type(EKS_COMPONENT):
        entries = node.props.get("accessEntries")
        for e in entries.values() if isinstance(entries, dict) else []:
            if not isinstance(e, dict):
                continue
            p = entry(e.get("principalArn"), node)
            p.groups += as_list(e.get("kubernetesGroups"))
            policies = e.get("accessPolicies")
            for ap in policies.values() if isinstance(policies, dict) else []:
                if isinstance(ap, dict):
                    p.policies.append((ap.get("policyArn"), ap.get("accessScope"), node))
    for node in graph.of_type(ASSOCIATION):
        arn = node.props.get("principalArn")
        p = by_arn.get(arn) if isinstance(arn, str) else None
        if p is None:
            p = entry(arn, node)
        p.policies.append((node.props.get("policyArn"), node.props.get("accessScope"), node))
    return [*by_arn.values(), *loose]


def _scope_covers(scope: Any, namespace: Optional[str]) -> Any:
    if not isinstance(scope, dict):
        return UNKNOWN
    if scope.get("type") == "cluster":
        return True
    if namespace is None:  # a cluster-scoped object: only cluster scope reaches it
        return False
    namespaces = scope.get("namespaces")
    if has_unknown(namespaces):
        return UNKNOWN
    return namespace in [str(n) for n in as_list(namespaces)]


def _get(value: Any, *path: str) -> Any:
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _meta(node: Node, key: str) -> Any:
    meta = node.props.get("metadata")
    return meta.get(key) if isinstance(meta, dict) else (UNKNOWN if meta is UNKNOWN else None)


def _subjects_match(binding: Node, groups: list[Any], arn: Any) -> bool:
    for s in as_list(binding.props.get("subjects")):
        if not isinstance(s, dict):
            continue
        if s.get("kind") == "Group" and s.get("name") in groups:
            return True
        if s.get("kind") == "User" and isinstance(arn, str) and s.get("name") == arn:
            return True
    return False


def _rules_of(graph: Graph, binding: Node, namespace: Optional[str]) -> list[dict]:
    ref = binding.props.get("roleRef")
    if not isinstance(ref, dict):
        return []
    kind, name = ref.get("kind"), ref.get("name")
    if kind == "Role":
        roles = [r for r in graph.of_type(ROLE) if _meta(r, "name") == name and _meta(r, "namespace") == namespace]
    else:
        roles = [r for r in graph.of_type(CLUSTER_ROLE) if _meta(r, "name") == name]
    return [rule for r in roles for rule in as_list(r.props.get("rules")) if isinstance(rule, dict)]


def _allowed(graph: Graph, p: _Principal, group: str, resource: str, verb: str, namespace: Optional[str]) -> Any:
    """How ``p`` may ``verb`` ``group/resource`` in ``namespace`` (None: cluster-scoped): a description of the
    grant, False, or UNKNOWN."""
    if MASTERS in p.groups:
        return f"group {MASTERS}"
    unknown = False
    for policy, scope, node in p.policies:
        name = policy.rsplit("/", 1)[-1] if isinstance(policy, str) else policy
        if name is UNKNOWN or policy is None:
            unknown = True
            continue
        if not any(_covers(r, group, resource, verb) for r in ACCESS_POLICIES.get(name, [])):
            continue
        covered = _scope_covers(scope, namespace)
        if covered is True:
            return f"access policy {name} ({node.label})"
        unknown = unknown or covered is UNKNOWN
    for binding in graph.of_type(CLUSTER_ROLE_BINDING):
        if _subjects_match(binding, p.groups, p.arn):
            if any(_covers(r, group, resource, verb) for r in _rules_of(graph, binding, None)):
                return f"ClusterRoleBinding {_meta(binding, 'name')}"
    if namespace is not None:
        for binding in graph.of_type(ROLE_BINDING):
            ns = _meta(binding, "namespace")
            if ns is UNKNOWN:
                unknown = True
                continue
            if ns == namespace and _subjects_match(binding, p.groups, p.arn):
                if any(_covers(r, group, resource, verb) for r in _rules_of(graph, binding, namespace)):
                    return f"RoleBinding {namespace}/{_meta(binding, 'name')}"
    return UNKNOWN if unknown or has_unknown(p.groups) else False


def _team_principals(graph: Graph, principals: list[_Principal], namespace: str) -> list[_Principal]:
    """The principals of the team of ``namespace``: an access policy scoped to exactly it, or a group bound in it."""
    bound = [b for b in graph.of_type(ROLE_BINDING) if _meta(b, "namespace") == namespace]
    found = []
    for p in principals:
        scoped = any(
            isinstance(scope, dict)
            and scope.get("type") == "namespace"
            and as_list(scope.get("namespaces")) == [namespace]
            for _, scope, _ in p.policies
        )
        if scoped or any(_subjects_match(b, p.groups, p.arn) for b in bound):
            found.append(p)
    return found


def _show(group: str, resource: str) -> str:
    return f"{group}/{resource}" if group else resource


def _teams(graph: Graph, found: Findings) -> None:
    principals = _principals(graph)
    fsx_volumes = [v for v in graph.of_type(PV) if _get(v.props, "spec", "csi", "driver") == "fsx.csi.aws.com"]
    for quota in graph.of_type(QUOTA):
        team = (quota.props.get("computeQuotaTarget") or {}).get("teamName")
        if not isinstance(team, str):
            found.cannot_judge(f"{quota.label}: its team name is not known yet")
            continue
        namespace = f"hyperpod-ns-{team}"
        members = _team_principals(graph, principals, namespace)
        if not members:
            found.fail(
                quota,
                f"team {team} has no access entry scoped to or bound in {namespace}: nobody can submit its jobs; "
                "give the team a role with an access entry (TeamAccess)",
            )
            continue
        needed = list(JOB_PERMISSIONS) + ([STORAGE_PERMISSION] if fsx_volumes else [])
        for p in members:
            who = p.arn if isinstance(p.arn, str) else p.entry.label
            for group, resource, verb, where in needed:
                ns = namespace if where == "namespace" else None
                grant = _allowed(graph, p, group, resource, verb, ns)
                place = f"in {namespace}" if ns else "cluster-wide"
                if grant is UNKNOWN:
                    found.cannot_judge(f"team {team} ({who}): {verb} {_show(group, resource)} {place} not known yet")
                elif grant:
                    found.prove(f"permission team {team} ({who}) may {verb} {_show(group, resource)} {place}")
                else:
                    crd = group not in ("", *_BUILTIN_GROUPS)
                    found.fail(
                        p.entry,
                        f"team {team} ({who}) cannot {verb} {_show(group, resource)} {place}"
                        + (": no EKS access policy covers this custom resource" if crd else "")
                        + f": bind a {'Role in ' + namespace if ns else 'read-only ClusterRole'} allowing it to a "
                        f"Kubernetes group of the team's access entry (kubernetesGroups), as TeamAccess does",
                    )
        if fsx_volumes:
            _team_claim(graph, found, quota, team, namespace, fsx_volumes)


def _team_claim(graph: Graph, found: Findings, quota: Node, team: str, namespace: str, volumes: list[Node]) -> None:
    claims = [c for c in graph.of_type(PVC) if _meta(c, "namespace") == namespace]
    names = {_meta(v, "name") for v in volumes}
    for claim in claims:
        volume = (claim.props.get("spec") or {}).get("volumeName")
        if volume in names or (volume is UNKNOWN and any(d.type == PV for d in claim.deps.get("spec", []))):
            found.prove(f"permission team {team} may mount claim {namespace}/{_meta(claim, 'name')} (shared FSx)")
            return
    found.fail(
        quota,
        f"team {team} cannot mount the shared file system: no claim in {namespace} is bound to an FSx volume "
        f"(a claim is namespaced, a static PV binds one claim): give FsxVolume team_namespaces a claim for {team}",
    )


# ---------------------------------------------------------------------------------------------- check


def _eks_clusters(graph: Graph) -> list[Node]:
    return [
        c
        for c in graph.of_type(CLUSTER)
        if isinstance(c.props.get("orchestrator"), dict) and "eks" in c.props["orchestrator"]
    ]


def evaluate(graph: Graph, cfg: Config) -> Findings:
    """Pods placed and team permissions of the plan (see the module's docstring). The chart's pods are judged
    where the stack installs the chart; the teams where it manages Kubernetes objects of the cluster (a
    guardrail's small program with quotas alone is not a platform)."""
    found = Findings("pods")
    clusters = _eks_clusters(graph)
    if clusters:
        _chart_pods(graph, clusters, found)
        _addon_pods(graph, clusters, found)
    if any(n.type.startswith("kubernetes:") for n in graph.nodes):  # the stack runs the cluster's Kubernetes side
        _teams(graph, found)
    return found


def counts(found: Findings) -> dict[str, int]:
    """How many pods were placed and permissions proved."""
    return {
        "pods placed": sum(1 for p in found.proved if p.startswith("pod ")),
        "permissions proved": sum(1 for p in found.proved if p.startswith("permission ")),
    }


POLICY = declare_behaviour(NAME, DESCRIPTION, REMEDIATION, evaluate)
