"""Programs for the EKS guardrails: eks-endpoint-access, eks-authentication-mode, and private-subnets and
hyperpod-resilience on EKS clusters and EKS-orchestrated HyperPod clusters.

Every EKS cluster shape the rules judge appears: the pulumi-eks component through the real ``pulumi_eks`` SDK
(one ``eks:index:Cluster`` registration with the program's inputs: what mocks and the offline preview show),
``aws.eks.Cluster`` (what a real preview shows as that component's child), aws-native ``eks.Cluster``, and
aws-native ``sagemaker.Cluster`` with ``orchestrator.eks``. :func:`real_preview_shape` stands in for a real
preview: a component registered without the program's inputs (as a Node.js component provider registers
itself) with its ``aws:eks/cluster:Cluster`` child.

``EKS_COMPLIANT`` and ``EKS_VIOLATING`` map each rule to its programs, like ``COMPLIANT``/``VIOLATING`` of
the package; ``EKS_UNKNOWN_AT_PREVIEW`` lists (program, rule) whose value is unknown at preview and a
violation once known.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks
from pulumi_aws_native import eks as native_eks
from pulumi_aws_native import sagemaker

from .common import ROLE_ARN, network, unknown_in_preview

EKS_ROLE = "arn:aws:iam::123456789012:role/eks-cluster"
EKS_ARN = "arn:aws:eks:us-east-1:123456789012:cluster/hp-eks"
OFFICE = "81.2.69.0/24"  # an administrators' range: public, but a tiny share of the internet


# ---------------------------------------------------------------- building blocks
def component(name: str = "hp-eks", **overrides: Any) -> eks.Cluster:
    """A pulumi-eks cluster as HyperPod needs it (private subnets, private endpoint only, API authentication);
    ``overrides`` replace or (as None) drop its arguments."""
    net = overrides.pop("net", None) or network()
    args: dict[str, Any] = dict(
        vpc_id=net.vpc.id,
        private_subnet_ids=[net.private.id, net.private_b.id],
        endpoint_private_access=True,
        endpoint_public_access=False,
        authentication_mode=eks.AuthenticationMode.API,
        skip_default_node_group=True,
    )
    args.update(overrides)
    return eks.Cluster(name, **{k: v for k, v in args.items() if v is not None})


def aws_cluster(
    subnets: Sequence[Any],
    *,
    private: Optional[bool] = True,
    public: Optional[bool] = False,
    cidrs: Optional[Sequence[str]] = None,
    mode: Any = "API",
    opts: Optional[pulumi.ResourceOptions] = None,
    name: str = "eks",
) -> aws.eks.Cluster:
    """A pulumi-aws EKS cluster; None leaves a setting out (its default applies)."""
    return aws.eks.Cluster(
        name,
        role_arn=EKS_ROLE,
        vpc_config=aws.eks.ClusterVpcConfigArgs(
            subnet_ids=list(subnets),
            endpoint_private_access=private,
            endpoint_public_access=public,
            public_access_cidrs=list(cidrs) if cidrs is not None else None,
        ),
        access_config=aws.eks.ClusterAccessConfigArgs(authentication_mode=mode) if mode is not None else None,
        opts=opts,
    )


def native_cluster(
    subnets: Sequence[Any],
    *,
    private: Optional[bool] = True,
    public: Optional[bool] = False,
    cidrs: Optional[Sequence[str]] = None,
    mode: Optional[str] = "API",
) -> native_eks.Cluster:
    """An aws-native EKS cluster; None leaves a setting out (its default applies)."""
    return native_eks.Cluster(
        "native-eks",
        role_arn=EKS_ROLE,
        resources_vpc_config=native_eks.ClusterResourcesVpcConfigArgs(
            subnet_ids=list(subnets),
            endpoint_private_access=private,
            endpoint_public_access=public,
            public_access_cidrs=list(cidrs) if cidrs is not None else None,
        ),
        access_config=native_eks.ClusterAccessConfigArgs(authentication_mode=mode) if mode is not None else None,
    )


def eks_group(
    name: str,
    instance_type: Optional[str],
    checks: Optional[Sequence[str]] = None,
    flexible: Optional[Sequence[str]] = None,
    override_subnets: Optional[Sequence[Any]] = None,
) -> sagemaker.ClusterInstanceGroupArgs:
    """An instance group of an EKS-orchestrated HyperPod cluster (no Slurm config, a lifecycle OnCreate)."""
    return sagemaker.ClusterInstanceGroupArgs(
        instance_group_name=name,
        instance_type=instance_type,
        instance_requirements=sagemaker.ClusterInstanceRequirementsArgs(instance_types=list(flexible))
        if flexible
        else None,
        instance_count=1,
        execution_role=ROLE_ARN,
        life_cycle_config=sagemaker.ClusterLifeCycleConfigArgs(
            source_s3_uri="s3://sagemaker-lifecycle/eks", on_create="on_create.sh"
        ),
        on_start_deep_health_checks=list(checks) if checks else None,
        override_vpc_config=sagemaker.ClusterVpcConfigArgs(
            subnets=list(override_subnets), security_group_ids=["sg-0123456789abcdef0"]
        )
        if override_subnets
        else None,
    )


BOTH_CHECKS = ["InstanceStress", "InstanceConnectivity"]


def hyperpod_on_eks(
    subnets: Sequence[Any],
    groups: Optional[list] = None,
    node_recovery: Any = "Automatic",
    restricted: Optional[list] = None,
    cluster_arn: Any = EKS_ARN,
) -> sagemaker.Cluster:
    """An EKS-orchestrated HyperPod cluster: a CPU group and a GPU group with both deep health checks."""
    return sagemaker.Cluster(
        "hyperpod",
        cluster_name="hp-eks",
        node_recovery=node_recovery,
        orchestrator=sagemaker.ClusterOrchestratorArgs(
            eks=sagemaker.ClusterOrchestratorEksConfigArgs(cluster_arn=cluster_arn)
        ),
        instance_groups=groups
        or [eks_group("system", "ml.m5.2xlarge"), eks_group("gpu", "ml.p5.48xlarge", BOTH_CHECKS)],
        restricted_instance_groups=restricted,
        vpc_config=sagemaker.ClusterVpcConfigArgs(subnets=list(subnets), security_group_ids=["sg-0123456789abcdef0"]),
    )


def restricted_group(name: str, instance_type: str, checks: Optional[Sequence[str]] = None):
    return sagemaker.ClusterRestrictedInstanceGroupArgs(
        instance_group_name=name,
        instance_type=instance_type,
        instance_count=1,
        execution_role=ROLE_ARN,
        environment_config=sagemaker.ClusterEnvironmentConfigArgs(),
        on_start_deep_health_checks=list(checks) if checks else None,
    )


class _PluginComponent(pulumi.ComponentResource):
    """The pulumi-eks component as its plugin registers it in a real engine: no inputs, children under it."""

    def __init__(self, name: str):
        super().__init__("eks:index:Cluster", name, {}, None)


# ---------------------------------------------------------------- compliant
def component_private():
    """pulumi-eks: private subnets, private endpoint only, API authentication, no default node group."""
    component()


def component_public_endpoint_limited():
    """pulumi-eks: the public endpoint too, limited to the administrators' range; API_AND_CONFIG_MAP."""
    component(
        endpoint_public_access=True,
        public_access_cidrs=[OFFICE],
        authentication_mode=eks.AuthenticationMode.API_AND_CONFIG_MAP,
    )


def aws_cluster_private():
    net = network()
    aws_cluster([net.private.id, net.private_b.id])


def aws_cluster_public_endpoint_limited():
    net = network()
    aws_cluster([net.private.id, net.private_b.id], public=True, cidrs=[OFFICE, "10.0.0.0/8"])


def native_cluster_private():
    net = network()
    native_cluster([net.private.id, net.private_b.id], public=True, cidrs=[OFFICE], mode="API_AND_CONFIG_MAP")


def hyperpod_on_eks_resilient():
    """The pulumi-eks control plane and an EKS-orchestrated HyperPod cluster on it, in private subnets: node
    recovery Automatic, deep health checks on the GPU, Trainium and flexible accelerated groups and on the
    restricted group; the CPU group needs none."""
    net = network()
    control_plane = component(net=net)
    hyperpod_on_eks(
        [net.private.id, net.private_b.id],
        groups=[
            eks_group("system", "ml.m5.2xlarge"),
            eks_group("gpu", "ml.p5.48xlarge", BOTH_CHECKS),
            eks_group("trn", "ml.trn1.32xlarge", ["InstanceConnectivity", "InstanceStress"]),
            eks_group("flex", None, BOTH_CHECKS, flexible=["ml.g5.12xlarge", "ml.g6.12xlarge"]),
            eks_group("cpu-flex", None, flexible=["ml.c5.4xlarge", "ml.m5.4xlarge"]),
        ],
        restricted=[restricted_group("nova", "ml.p5.48xlarge", BOTH_CHECKS)],
        cluster_arn=control_plane.urn.apply(lambda _: EKS_ARN),
    )


def real_preview_shape():
    """What a real preview shows: the component without inputs, its aws:eks/cluster:Cluster child with the
    values pulumi-eks passed on. Judged through the child; the empty component is not a violation."""
    net = network()
    plugin = _PluginComponent("hp-eks")
    aws_cluster(
        [net.private.id, net.private_b.id], opts=pulumi.ResourceOptions(parent=plugin), name="hp-eks-eksCluster"
    )


# ---------------------------------------------------------------- eks-endpoint-access: violating
def component_endpoint_defaults():
    """pulumi-eks without endpoint arguments: private access false and a public endpoint open to 0.0.0.0/0."""
    component(endpoint_private_access=None, endpoint_public_access=None)


def component_public_world():
    component(endpoint_public_access=True, public_access_cidrs=["0.0.0.0/0"])


def component_public_halves():
    """The internet in two halves is the internet."""
    component(endpoint_public_access=True, public_access_cidrs=["0.0.0.0/1", "128.0.0.0/1"])


def component_public_without_cidrs():
    """Public access on, no publicAccessCidrs: AWS's default 0.0.0.0/0."""
    component(endpoint_public_access=True)


def aws_cluster_endpoint_defaults():
    net = network()
    aws_cluster([net.private.id, net.private_b.id], private=None, public=None)


def aws_cluster_public_ipv6_world():
    net = network()
    aws_cluster([net.private.id, net.private_b.id], public=True, cidrs=[OFFICE, "::/0"])


def native_cluster_private_off():
    net = network()
    native_cluster([net.private.id, net.private_b.id], private=False)


def native_cluster_public_default_cidrs():
    net = network()
    native_cluster([net.private.id, net.private_b.id], public=None)


# ---------------------------------------------------------------- eks-authentication-mode: violating
def component_auth_default():
    """pulumi-eks without authenticationMode: CONFIG_MAP."""
    component(authentication_mode=None)


def component_auth_config_map():
    component(authentication_mode=eks.AuthenticationMode.CONFIG_MAP)


def aws_cluster_auth_default():
    net = network()
    aws_cluster([net.private.id, net.private_b.id], mode=None)


def native_cluster_auth_config_map():
    net = network()
    native_cluster([net.private.id, net.private_b.id], mode="CONFIG_MAP")


# ---------------------------------------------------------------- private-subnets: violating
def component_public_subnet_ids():
    """pulumi-eks given the public subnet beside the private one (publicSubnetIds)."""
    net = network()
    component(net=net, public_subnet_ids=[net.public.id])


def component_subnet_ids_public():
    net = network()
    component(net=net, private_subnet_ids=None, subnet_ids=[net.public.id, net.private.id])


def component_node_subnets_public():
    """The control plane is private, but the default node group's subnets are not."""
    net = network()
    component(net=net, skip_default_node_group=None, node_subnet_ids=[net.public.id])


def component_default_vpc():
    """pulumi-eks given neither VPC nor subnets: the default VPC's public subnets."""
    component(vpc_id=None, private_subnet_ids=None)


def native_cluster_in_public_subnet():
    net = network()
    native_cluster([net.public.id, net.private.id])


def nodegroups_in_public_subnet():
    net = network()
    aws.eks.NodeGroup(
        "workers",
        cluster_name="hp-eks",
        node_role_arn=ROLE_ARN,
        subnet_ids=[net.public.id],
        scaling_config=aws.eks.NodeGroupScalingConfigArgs(desired_size=1, min_size=1, max_size=1),
    )
    native_eks.Nodegroup("native-workers", cluster_name="hp-eks", node_role=ROLE_ARN, subnets=[net.public.id])


def hyperpod_on_eks_in_public_subnet():
    net = network()
    hyperpod_on_eks([net.public.id])


def hyperpod_on_eks_group_override_public():
    net = network()
    hyperpod_on_eks(
        [net.private.id],
        groups=[eks_group("gpu", "ml.p5.48xlarge", BOTH_CHECKS, override_subnets=[net.public.id])],
    )


def real_preview_child_in_public_subnet():
    """A real preview's shape with the child in the public subnet: reported on the child only."""
    net = network()
    plugin = _PluginComponent("hp-eks")
    aws_cluster([net.public.id, net.private.id], opts=pulumi.ResourceOptions(parent=plugin), name="hp-eks-eksCluster")


# ---------------------------------------------------------------- hyperpod-resilience: violating
def hyperpod_on_eks_recovery_none():
    net = network()
    hyperpod_on_eks([net.private.id], node_recovery="None")


def hyperpod_on_eks_recovery_unset():
    net = network()
    hyperpod_on_eks([net.private.id], node_recovery=None)


def hyperpod_on_eks_gpu_without_checks():
    net = network()
    hyperpod_on_eks([net.private.id], groups=[eks_group("system", "ml.m5.2xlarge"), eks_group("gpu", "ml.g5.12xlarge")])


def hyperpod_on_eks_flexible_group_without_checks():
    """A flexible group (instanceRequirements, no instanceType) with accelerated types and no checks."""
    net = network()
    hyperpod_on_eks([net.private.id], groups=[eks_group("flex", None, flexible=["ml.m5.4xlarge", "ml.p4d.24xlarge"])])


def hyperpod_on_eks_restricted_group_one_check():
    net = network()
    hyperpod_on_eks([net.private.id], restricted=[restricted_group("nova", "ml.p5.48xlarge", ["InstanceStress"])])


# ---------------------------------------------------------------- unknown at preview
def component_public_cidrs_unknown_at_preview():
    """publicAccessCidrs from another resource's output: unknown at preview, 0.0.0.0/0 once known."""
    net = network()
    component(net=net, endpoint_public_access=True, public_access_cidrs=unknown_in_preview(net.vpc, ["0.0.0.0/0"]))


def aws_cluster_auth_unknown_at_preview():
    net = network()
    aws_cluster([net.private.id, net.private_b.id], mode=unknown_in_preview(net.vpc, "CONFIG_MAP"))


def hyperpod_on_eks_recovery_unknown_at_preview():
    net = network()
    hyperpod_on_eks([net.private.id], node_recovery=unknown_in_preview(net.vpc, "None"))


EKS_COMPLIANT = {
    "eks-endpoint-access": [
        component_private,
        component_public_endpoint_limited,
        aws_cluster_private,
        aws_cluster_public_endpoint_limited,
        native_cluster_private,
        real_preview_shape,
    ],
    "eks-authentication-mode": [component_private, component_public_endpoint_limited, native_cluster_private],
    "private-subnets": [component_private, aws_cluster_private, native_cluster_private, real_preview_shape],
    "hyperpod-resilience": [hyperpod_on_eks_resilient],
}

EKS_VIOLATING = {
    "eks-endpoint-access": [
        component_endpoint_defaults,
        component_public_world,
        component_public_halves,
        component_public_without_cidrs,
        aws_cluster_endpoint_defaults,
        aws_cluster_public_ipv6_world,
        native_cluster_private_off,
        native_cluster_public_default_cidrs,
    ],
    "eks-authentication-mode": [
        component_auth_default,
        component_auth_config_map,
        aws_cluster_auth_default,
        native_cluster_auth_config_map,
    ],
    "private-subnets": [
        component_public_subnet_ids,
        component_subnet_ids_public,
        component_node_subnets_public,
        component_default_vpc,
        native_cluster_in_public_subnet,
        nodegroups_in_public_subnet,
        hyperpod_on_eks_in_public_subnet,
        hyperpod_on_eks_group_override_public,
        real_preview_child_in_public_subnet,
    ],
    "hyperpod-resilience": [
        hyperpod_on_eks_recovery_none,
        hyperpod_on_eks_recovery_unset,
        hyperpod_on_eks_gpu_without_checks,
        hyperpod_on_eks_flexible_group_without_checks,
        hyperpod_on_eks_restricted_group_one_check,
    ],
}

# (program, rule): a "cannot judge" note at preview, a violation once deployed
EKS_UNKNOWN_AT_PREVIEW = [
    (component_public_cidrs_unknown_at_preview, "eks-endpoint-access"),
    (aws_cluster_auth_unknown_at_preview, "eks-authentication-mode"),
    (hyperpod_on_eks_recovery_unknown_at_preview, "hyperpod-resilience"),
]
