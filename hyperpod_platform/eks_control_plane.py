"""The EKS control plane an EKS-orchestrated HyperPod cluster joins (pulumi-eks ``eks.Cluster``), its add-ons
and the Kubernetes provider every Kubernetes resource of the platform uses.

pulumi-eks is a remote component: its children (the ``aws:eks/cluster:Cluster``, its role, the add-ons it
manages) are built by its plugin at deploy time. Offline (mocks, the offline preview) the plan shows the
``eks:index:Cluster`` with its inputs, which the tests and the guardrails judge.
"""

import re
from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks
import pulumi_kubernetes as k8s

from . import checks
from ._args import ArgCheck, after, component_type, take
from .settings import EksSettings

ADMIN_POLICY = "AmazonEKSClusterAdminPolicy"
"""EKS access policy the admin roles get, cluster-wide."""


@dataclass
class EksControlPlaneArgs:
    """Inputs of :class:`EksControlPlane`."""

    settings: EksSettings
    """Validated EKS settings."""
    cluster_name: str
    """Name of the EKS cluster (known at plan time: the HyperPod cluster's ``Orchestrator.Eks.ClusterArn``)."""
    vpc_id: pulumi.Input[str]
    """VPC of the control plane."""
    subnet_ids: Sequence[pulumi.Input[str]]
    """Private subnets of the control plane's network interfaces, in at least two AZs."""
    cluster_security_group: aws.ec2.SecurityGroup
    """The security group the HyperPod nodes have: the control plane gets it too, so nodes and the control
    plane reach each other through its self-referencing rule, and nothing wider is opened. It must have no
    inline rules (pulumi-eks adds none when its default groups are skipped)."""
    tags: dict[str, str]
    """Tags for every resource."""


class EksControlPlane(pulumi.ComponentResource):
    """An EKS control plane for HyperPod: private endpoint, API authentication, VPC CNI and Pod Identity agent
    add-ons, control-plane logs, admin access entries; no node group (HyperPod brings the nodes)."""

    cluster: eks.Cluster
    """The pulumi-eks cluster (a remote component)."""
    cluster_arn: pulumi.Output[str]
    """ARN of the EKS cluster; it resolves once the control plane and its add-ons exist."""
    eks_cluster_name: pulumi.Output[str]
    """Name of the EKS cluster; it resolves once the control plane exists (add-ons and access entries take it)."""
    kubeconfig: pulumi.Output[str]
    """Kubeconfig (JSON) of the cluster; a secret."""
    provider: k8s.Provider
    """The Kubernetes provider every Kubernetes resource of the platform is given explicitly."""

    def __init__(self, name: str, args: EksControlPlaneArgs, opts: Optional[pulumi.ResourceOptions] = None):
        args, check = take("EksControlPlane", EksControlPlaneArgs, args)
        _check_args(args, check)
        check.raise_if_any()
        super().__init__(component_type("EksControlPlane"), name, None, opts)
        s = args.settings
        child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        partition = aws.get_partition_output(opts=invoke).partition
        admin_policy = partition.apply(lambda p: f"arn:{p}:eks::aws:cluster-access-policy/{ADMIN_POLICY}")
        self.cluster = eks.Cluster(
            f"{name}-eks",
            name=args.cluster_name,
            version=s.kubernetes_version,
            vpc_id=args.vpc_id,
            private_subnet_ids=list(args.subnet_ids),
            endpoint_private_access=True,
            # Where `pulumi up` runs (settings.deploy_from) decides the one path opened for it: the public
            # endpoint limited to the runner's ranges, the VPN's group (ClientVpn), or private ranges (below).
            endpoint_public_access=s.endpoint_public_access,
            public_access_cidrs=list(s.public_access_cidrs) if s.endpoint_public_access else None,
            authentication_mode=eks.AuthenticationMode(s.authentication_mode),
            access_entries={
                f"admin-{i}": eks.AccessEntryArgs(
                    principal_arn=arn,
                    access_policies={
                        "cluster-admin": eks.AccessPolicyAssociationArgs(
                            policy_arn=admin_policy,
                            access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                        )
                    },
                )
                for i, arn in enumerate(s.admin_role_arns)
            },
            skip_default_node_group=True,
            skip_default_security_groups=True,  # no node group, so no node security group; ours below
            cluster_security_group=args.cluster_security_group,
            # The VPC CNI as an EKS add-on pinned to a version HyperPod supports (not the bootstrap's copy).
            use_default_vpc_cni=False,
            vpc_cni_options=eks.VpcCniOptionsArgs(addon_version=s.vpc_cni_version),
            # CoreDNS stays the bootstrap's self-managed copy: a managed add-on would wait for nodes, and the
            # nodes come from HyperPod, which waits for this cluster.
            coredns_addon_options=eks.CoreDnsAddonOptionsArgs(enabled=False),
            create_oidc_provider=False,  # pods get AWS credentials through EKS Pod Identity
            enabled_cluster_log_types=list(s.log_types),
            # The reachability check proves the path for the stated place (policies/rules/behaviour_reachability)
            tags={**args.tags, "DeployFrom": s.deploy_from} if s.deploy_from else args.tags,
            opts=child,
        )
        # The private endpoint's ENIs carry the cluster security group: it admits the listed ranges (a runner in
        # the VPC or a connected network) on TCP 443 only.
        for i, cidr in enumerate(s.private_access_cidrs):
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-api-from-{i}",
                security_group_id=args.cluster_security_group.id,
                ip_protocol="tcp",
                from_port=443,
                to_port=443,
                cidr_ipv4=cidr,
                description=f"Kubernetes API from {cidr}",
                opts=child,
            )
        # Add-ons by the cluster's (plan-time) name; `after` orders them after the control plane.
        cluster_name = after(args.cluster_name, [self.cluster])
        addons = [
            aws.eks.Addon(
                f"{name}-pod-identity-agent",
                cluster_name=cluster_name,
                addon_name="eks-pod-identity-agent",
                addon_version=s.pod_identity_agent_version,
                resolve_conflicts_on_create="OVERWRITE",
                resolve_conflicts_on_update="OVERWRITE",
                tags=args.tags,
                opts=child,
            ),
            # Only add-ons that become ACTIVE with no node (DaemonSets) are on the cluster's path: the nodes come
            # from the HyperPod cluster, which waits for this one. Add-ons with a controller Deployment (the FSx
            # CSI driver) are EksNodeAddons, after the HyperPod cluster (policies/data/readiness.json).
        ]
        region = aws.get_region_output(opts=invoke).region
        account = aws.get_caller_identity_output(opts=invoke).account_id
        arn = pulumi.Output.format("arn:{0}:eks:{1}:{2}:cluster/{3}", partition, region, account, args.cluster_name)
        self.cluster_arn = after(arn, [self.cluster, *addons])
        self.eks_cluster_name = cluster_name
        self.kubeconfig = pulumi.Output.secret(self.cluster.kubeconfig_json)
        self.provider = k8s.Provider(f"{name}-k8s", kubeconfig=self.kubeconfig, opts=child)
        self.register_outputs({"cluster_arn": self.cluster_arn, "kubeconfig": self.kubeconfig})


EKS_NAME_RE = re.compile(r"^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$")


def _check_args(args: EksControlPlaneArgs, check: ArgCheck) -> None:
    s = args.settings
    if not EKS_NAME_RE.match(args.cluster_name):
        check.fail(
            "cluster_name",
            args.cluster_name,
            "is not an EKS cluster name (1-100 letters, digits, '-' or '_', starting with a letter or digit)",
            "use e.g. 'hp-eks'",
        )
    check.check("settings.kubernetes_version", s.kubernetes_version, checks.kubernetes_version)
    check.check("settings.authentication_mode", s.authentication_mode, checks.one_of(*checks.AUTHENTICATION_MODES))
    check.check("settings.vpc_cni_version", s.vpc_cni_version, checks.vpc_cni_version)
    check.each("settings.log_types", s.log_types, checks.one_of(*checks.LOG_TYPES))
    check.each("settings.admin_role_arns", s.admin_role_arns, checks.iam_role_arn)
    if s.endpoint_public_access:
        if not s.public_access_cidrs:
            check.fail(
                "settings.public_access_cidrs",
                [],
                "a public endpoint needs its client ranges (EKS would open it to 0.0.0.0/0)",
                "list the client networks, or set endpoint_public_access to False",
            )
        check.each("settings.public_access_cidrs", s.public_access_cidrs, checks.api_access_cidr)
    check.each("settings.private_access_cidrs", s.private_access_cidrs, checks.api_access_cidr, same=str)
    check.check("settings.deploy_from", s.deploy_from, checks.one_of(*checks.DEPLOY_FROM))
    if s.deploy_from == "public" and not s.endpoint_public_access:
        check.fail(
            "settings.endpoint_public_access",
            False,
            "`pulumi up` runs from outside the VPC (deploy_from 'public'), and the endpoint is private only",
            "set endpoint_public_access to True with the runner's ranges, or deploy_from 'vpn' or 'private'",
        )
    if s.deploy_from == "private" and not s.private_access_cidrs:
        check.fail(
            "settings.private_access_cidrs",
            [],
            "`pulumi up` runs inside the VPC or a connected network (deploy_from 'private'), and no range of it "
            "is admitted on 443",
            "list the runner's network",
        )
    if len(args.subnet_ids) < 2:
        check.fail("subnet_ids", list(args.subnet_ids), "EKS needs subnets in at least two AZs", "give two or more")
