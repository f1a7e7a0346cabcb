"""The three shapes of an EKS cluster the rules judge, and where each keeps its settings.

- ``eks:index:Cluster``: the pulumi-eks component (remote, custom=False). Under mocks and in the offline
  preview the plugin never runs: the plan holds this one resource with the program's inputs (camelCase,
  top level), and the rules judge those inputs. pulumi-eks passes them on to its ``aws:eks/cluster:Cluster``
  unchanged, so an input left out takes the EKS default.
- ``aws:eks/cluster:Cluster``: pulumi-aws, what a real preview shows as the component's child (and what a
  program may create directly): ``vpcConfig{...}`` and ``accessConfig{authenticationMode}``.
- ``aws-native:eks:Cluster``: ``resourcesVpcConfig{...}`` and ``accessConfig{authenticationMode}``.

With a real engine the plugin registers the component itself, without the program's inputs (a Node.js
component passes no properties to the engine), and builds the ``aws:eks/cluster:Cluster`` under it. A
component with no inputs at all is therefore not judged by the resource rules (its child is); the stack rule
private-subnets, which sees the children, judges a component only when no ``aws:eks/cluster:Cluster``
descends from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from ._lib import Graph, Node

COMPONENT = "eks:index:Cluster"
AWS_CLUSTER = "aws:eks/cluster:Cluster"
NATIVE_CLUSTER = "aws-native:eks:Cluster"
CLUSTER_TYPES = (COMPONENT, AWS_CLUSTER, NATIVE_CLUSTER)


@dataclass(frozen=True)
class Shape:
    """Where one kind of EKS cluster keeps a setting, and how a program spells it."""

    kind: str  # shown in messages
    vpc: Optional[str]  # the object holding the endpoint settings (None: top level)
    vpc_arg: str  # how a Python program sets that object
    access: tuple[str, ...]  # path of authenticationMode
    access_arg: str  # how a Python program sets it
    default_note: str  # what decides a value the program leaves out

    def field(self, key: str) -> str:
        """The input's path as the engine shows it, e.g. ``vpcConfig.endpointPrivateAccess``."""
        return f"{self.vpc}.{key}" if self.vpc else key

    def arg(self, snake: str, value: str) -> str:
        """How to set ``snake`` to ``value`` in a Python program, e.g.
        ``vpc_config=aws.eks.ClusterVpcConfigArgs(endpoint_private_access=True)``."""
        return self.vpc_arg.format(f"{snake}={value}")


SHAPES: dict[str, Shape] = {
    COMPONENT: Shape(
        kind="pulumi-eks cluster",
        vpc=None,
        vpc_arg="eks.Cluster(..., {})",
        access=("authenticationMode",),
        access_arg="eks.Cluster(..., authentication_mode=eks.AuthenticationMode.API)",
        default_note="the pulumi-eks default",
    ),
    AWS_CLUSTER: Shape(
        kind="EKS cluster",
        vpc="vpcConfig",
        vpc_arg="vpc_config=aws.eks.ClusterVpcConfigArgs(..., {})",
        access=("accessConfig", "authenticationMode"),
        access_arg='access_config=aws.eks.ClusterAccessConfigArgs(authentication_mode="API")',
        default_note="the pulumi-aws and EKS default",
    ),
    NATIVE_CLUSTER: Shape(
        kind="EKS cluster (aws-native)",
        vpc="resourcesVpcConfig",
        vpc_arg="resources_vpc_config=aws_native.eks.ClusterResourcesVpcConfigArgs(..., {})",
        access=("accessConfig", "authenticationMode"),
        access_arg='access_config=aws_native.eks.ClusterAccessConfigArgs(authentication_mode="API")',
        default_note="the CloudFormation and EKS default",
    ),
}


def who(resource_type: str, name: str) -> str:
    """``pulumi-eks cluster hp-eks`` / ``EKS cluster hp-eks``: how a message names the cluster."""
    return f"{SHAPES[resource_type].kind} {name}"


def without_inputs(resource_type: str, props: dict[str, Any]) -> bool:
    """A pulumi-eks component that carries none of the program's inputs: the plugin's own registration in a
    real engine, judged through its ``aws:eks/cluster:Cluster`` child (see the module docstring)."""
    return resource_type == COMPONENT and not props


def has_cluster_child(graph: Graph, component: Node) -> bool:
    """Whether an ``aws:eks/cluster:Cluster`` of the stack descends from ``component`` (a real preview)."""
    for cluster in graph.of_type(AWS_CLUSTER):
        parent = _parent(cluster)
        seen: set[str] = set()
        while parent and parent not in seen:
            if parent == component.urn:
                return True
            seen.add(parent)
            node = graph.by_urn.get(parent)
            parent = _parent(node) if node is not None else ""
    return False


def _parent(node: Node) -> str:
    """The URN of ``node``'s parent (the SDK hands a stack policy the parent resource itself)."""
    parent = getattr(node.raw, "parent", None)
    if parent is None:
        return ""
    return str(getattr(parent, "urn", parent) or "")
