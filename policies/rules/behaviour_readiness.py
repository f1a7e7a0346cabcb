"""behaviour-readiness: nothing waits for what can only be ready after it.

Each kind of resource has a "ready when", the moment the engine stops waiting for it (the facts, with their
sources, are pinned in ``policies/data/readiness.json``):

* an EKS add-on (``aws.eks.Addon``, aws-native ``eks.Addon``) is ready when ACTIVE, and the provider waits 20
  minutes for that; an add-on with a controller Deployment (``aws-fsx-csi-driver``, ``coredns``, the task
  governance add-on's Kueue) is ACTIVE only once a schedulable node runs its pods; a DaemonSet-only add-on
  (``vpc-cni``, ``eks-pod-identity-agent``, ``kube-proxy``) is ACTIVE with no node;
* a Helm release (``helm.v3.Release``) that is awaited (``skipAwait`` not true), and a Kubernetes Deployment,
  StatefulSet, Pod or Job without the ``pulumi.com/skipAwait`` annotation, are ready when their pods run.

The nodes come from the resources that bring them: an EKS-orchestrated HyperPod cluster (aws-native
``sagemaker.Cluster`` with ``orchestrator.eks``) or an EKS node group. A resource that needs a node must come
after such a resource: when the node provider waits for it (directly or through anything on its path) the
deployment deadlocks, and when it waits for nothing that brings nodes it races them. Each is a violation
naming the resource, what it needs and the path; an add-on the data does not know is "cannot judge".
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

from ._behaviour import Findings, declare_behaviour
from ._declare import Config
from ._lib import UNKNOWN, Graph, Node, as_list, get, number

NAME = "behaviour-readiness"
DATA = Path(__file__).resolve().parent.parent / "data" / "readiness.json"
ADDONS = {"aws:eks/addon:Addon", "aws-native:eks:Addon"}
RELEASE = "kubernetes:helm.sh/v3:Release"
HYPERPOD = "aws-native:sagemaker:Cluster"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
SKIP_AWAIT = "pulumi.com/skipAwait"

DESCRIPTION = (
    "Nothing waits for what can only be ready after it: an EKS add-on with a controller Deployment, an awaited "
    "Helm release or Kubernetes workload needs a schedulable node, so it comes after the HyperPod cluster (or "
    "node group) that brings the nodes, and that cluster never waits for it."
)
REMEDIATION = (
    "Create what needs nodes after the resource that brings them: give it a value that resolves after the "
    "HyperPod cluster (its ARN, e.g. hyperpod_platform.EksNodeAddons or after()), and keep it off the HyperPod "
    "cluster's inputs and dependencies; install a Helm release whose pods run on those nodes with "
    "skip_await=True. Add-ons that are DaemonSets only (vpc-cni, eks-pod-identity-agent) may come before."
)


@lru_cache(maxsize=1)
def facts() -> dict[str, Any]:
    """The pinned readiness facts (``policies/data/readiness.json``)."""
    return json.loads(DATA.read_text())


def _path(start: Node, target: Node) -> Optional[list[Node]]:
    """A dependency path start -> ... -> target (start waits for target), or None."""
    seen: dict[str, Optional[Node]] = {start.urn: None}
    todo = [start]
    while todo:
        node = todo.pop()
        for dep in _deps(node):
            if dep.urn in seen:
                continue
            seen[dep.urn] = node
            if dep is target:
                path = [dep]
                back = node
                while back is not None:
                    path.append(back)
                    back = seen[back.urn]
                return list(reversed(path))
            todo.append(dep)
    return None


def _deps(node: Node) -> list[Node]:
    out = {d.urn: d for d in node.dependencies}
    for deps in node.deps.values():
        for d in deps:
            out.setdefault(d.urn, d)
    return list(out.values())


def _closure(start: Node) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for dep in _deps(todo.pop()):
            if dep.urn not in seen:
                seen.add(dep.urn)
                todo.append(dep)
    return seen


def _brings_nodes(node: Node) -> Any:
    """Whether ``node`` brings Kubernetes nodes (True/False, or UNKNOWN)."""
    if node.type == NODE_GROUP:
        return True
    orchestrator = node.props.get("orchestrator")
    if orchestrator is UNKNOWN:
        return UNKNOWN
    if not isinstance(orchestrator, dict) or "eks" not in orchestrator:
        return False  # Slurm: its nodes are no Kubernetes nodes
    groups = node.props.get("instanceGroups")
    if groups is UNKNOWN:
        return UNKNOWN
    counts = [number(get(g, "instanceCount")) for g in as_list(groups)]
    return any(c is None or c > 0 for c in counts)


def _needs_nodes(node: Node, found: Findings) -> Optional[str]:
    """What ``node`` runs that needs a schedulable node before it is ready, or None."""
    if node.type in ADDONS:
        name = node.props.get("addonName")
        if name is UNKNOWN or not isinstance(name, str):
            found.cannot_judge(f"{node.label}: its addonName is not known yet")
            return None
        known = facts()["addons"].get(name)
        if known is None:
            found.cannot_judge(f"{node.label}: add-on {name} is not in policies/data/readiness.json")
            return None
        pods = [w for w in known["workloads"] if w["kind"] != "DaemonSet"]
        if not pods:
            found.prove(f"{name}: DaemonSets only, ACTIVE with no node (may precede the nodes)")
            return None
        shown = ", ".join(f"{w['kind']} {w['name']} ({w.get('replicas', 1)} replica(s))" for w in pods)
        return f"add-on {name} runs {shown} and is ACTIVE only once they run (the provider waits 20 minutes)"
    if node.type == RELEASE:
        skip = node.props.get("skipAwait")
        if skip is UNKNOWN:
            found.cannot_judge(f"{node.label}: skipAwait is not known yet")
            return None
        return None if skip is True else "Helm release waits for its pods (skipAwait is not true)"
    if node.type.startswith("kubernetes:"):
        kind = node.type.rsplit(":", 1)[-1]
        if kind in facts()["kubernetes_awaited_kinds"]["kinds"]:
            annotations = get(node.props, "metadata", "annotations") or {}
            if isinstance(annotations, dict) and str(annotations.get(SKIP_AWAIT, "")).lower() == "true":
                return None
            return f"Kubernetes {kind} is awaited until its pods run"
    return None


def evaluate(graph: Graph, cfg: Config) -> Findings:
    found = Findings("orders")
    providers = []
    for node in graph.of_type(HYPERPOD, NODE_GROUP):
        brings = _brings_nodes(node)
        if brings is UNKNOWN:
            found.cannot_judge(f"{node.label}: whether it brings Kubernetes nodes is not known yet")
        elif brings:
            providers.append(node)
    closures = {p.urn: _closure(p) for p in providers}
    for node in graph.nodes:
        need = _needs_nodes(node, found)
        if need is None:
            continue
        if not providers:
            found.cannot_judge(f"{node.label}: {need}, and nothing in the stack brings Kubernetes nodes")
            continue
        blocking = [p for p in providers if node.urn in closures[p.urn]]
        if blocking:
            for p in blocking:
                path = _path(p, node) or [p, node]
                chain = " -> ".join(n.name for n in path)
                found.fail(
                    node,
                    f"{need}, but {p.label} brings those nodes and waits for it ({chain}): a deadlock, the "
                    f"deployment fails when the wait ends. Create {node.name} after {p.name} (take its ARN, e.g. "
                    "hyperpod_platform.EksNodeAddons) and remove it from the cluster's path",
                )
            continue
        after = [p for p in providers if p.urn in _closure(node)]
        if not after:
            found.fail(
                node,
                f"{need}, but it waits for none of {', '.join(p.name for p in providers)}, which bring the nodes: "
                f"it races them and fails when its wait ends first. Make {node.name} wait for the nodes (take "
                "the HyperPod cluster's ARN)",
            )
            continue
        found.prove(f"{node.name} after {', '.join(p.name for p in after)} (needs a schedulable node)")
    return found


POLICY = declare_behaviour(NAME, DESCRIPTION, REMEDIATION, evaluate)
