"""EKS-side components built directly with small args under mocks: the control plane (pulumi-eks, a remote
component whose inputs are what the plan shows), the HyperPod Helm release, the FSx volume, the HyperPod
cluster in EKS mode and the execution role's EKS statements."""

import json

import pulumi_aws as aws
import pytest

from hyperpod_platform import (
    EksControlPlane,
    EksControlPlaneArgs,
    ExecutionRole,
    ExecutionRoleArgs,
    FsxVolume,
    FsxVolumeArgs,
    HyperPodCluster,
    HyperPodClusterArgs,
    HyperPodDependencies,
    HyperPodDependenciesArgs,
)
from hyperpod_platform._args import after
from hyperpod_platform.errors import ConfigError
from hyperpod_platform.hyperpod_cluster import EKS_ENTRYPOINT
from hyperpod_platform.settings import ClusterSettings, EksSettings, InstanceGroupSettings, KubernetesTaintSettings
from tools import k8s_schema
from tools.harness import run_program

CONFIG = {"aws:region": "us-east-1", "aws-native:region": "us-east-1"}
ADMIN = "arn:aws:iam::123456789012:role/PlatformAdmin"
K8S_PREFIX = "kubernetes:"


def _control_plane(name="t", **settings):
    sg = aws.ec2.SecurityGroup(f"{name}-sg", vpc_id="vpc-0123")
    return EksControlPlane(
        name,
        EksControlPlaneArgs(
            settings=EksSettings(**settings),
            cluster_name=f"{name}-eks",
            vpc_id="vpc-0123",
            subnet_ids=["subnet-a", "subnet-b"],
            cluster_security_group=sg,
            tags={"Cluster": name},
        ),
    ), sg


def _run(program, preview=False):
    result = run_program(program, CONFIG, preview=preview)
    assert result.error is None, result.error
    return result


@pytest.mark.parametrize("preview", [False, True], ids=["up", "preview"])
def test_control_plane_is_private_api_authenticated_without_node_groups(preview):
    """The pulumi-eks cluster (remote: no children under mocks) gets private access on, public off, API
    authentication, no default node group or node security group, our security group, logging, no OIDC."""
    result = _run(lambda: _control_plane(admin_role_arns=(ADMIN,)), preview)
    cluster = result.one("eks:index:Cluster")
    assert cluster.remote and not cluster.custom
    assert not [r for r in result.registrations if r.parent == cluster.urn]  # built by the plugin at deploy
    i = cluster.inputs
    assert (i["endpointPrivateAccess"], i["endpointPublicAccess"], i["authenticationMode"]) == (True, False, "API")
    assert "publicAccessCidrs" not in i
    assert i["skipDefaultNodeGroup"] is True and i["skipDefaultSecurityGroups"] is True
    assert i["clusterSecurityGroup"]["urn"] == result.named("t-sg").urn
    assert i["enabledClusterLogTypes"] == list(EksSettings().log_types)
    assert i["createOidcProvider"] is False and i["version"] == EksSettings().kubernetes_version
    assert i["name"] == "t-eks"


def test_vpc_cni_is_the_pinned_add_on_and_coredns_is_not_awaited():
    """The VPC CNI is an add-on at the pinned version (not the bootstrap's copy); pulumi-eks's CoreDNS add-on is
    off (it would wait for nodes that only come with HyperPod)."""
    i = _run(lambda: _control_plane(vpc_cni_version="v1.19.2-eksbuild.1")).one("eks:index:Cluster").inputs
    assert i["useDefaultVpcCni"] is False
    assert i["vpcCniOptions"]["addonVersion"] == "v1.19.2-eksbuild.1"
    assert i["corednsAddonOptions"]["enabled"] is False


def test_admin_roles_become_cluster_admin_access_entries():
    i = _run(lambda: _control_plane(admin_role_arns=(ADMIN,))).one("eks:index:Cluster").inputs
    (entry,) = i["accessEntries"].values()
    assert entry["principalArn"] == ADMIN
    (policy,) = entry["accessPolicies"].values()
    assert policy["policyArn"] == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
    assert policy["accessScope"] == {"type": "cluster"}


def test_public_endpoint_takes_the_listed_cidrs_only_when_on():
    i = (
        _run(lambda: _control_plane(endpoint_public_access=True, public_access_cidrs=("203.0.113.0/24",)))
        .one("eks:index:Cluster")
        .inputs
    )
    assert i["endpointPublicAccess"] is True and i["publicAccessCidrs"] == ["203.0.113.0/24"]


def test_private_access_ranges_are_admitted_on_443_by_the_control_planes_group_and_the_place_is_tagged():
    """deploy_from and private_access_cidrs: one TCP 443 ingress rule per range on the cluster security group
    (nothing else), and the cluster's DeployFrom tag the reachability check reads; none without them."""
    result = _run(lambda: _control_plane(deploy_from="private", private_access_cidrs=("10.0.8.0/24", "10.9.0.0/16")))
    sg = result.one("aws:ec2/securityGroup:SecurityGroup")
    rules = result.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert sorted(r.inputs["cidrIpv4"] for r in rules) == ["10.0.8.0/24", "10.9.0.0/16"]
    assert all(r.inputs["securityGroupId"] == sg.outputs["id"] for r in rules)
    assert all((r.inputs["ipProtocol"], r.inputs["fromPort"], r.inputs["toPort"]) == ("tcp", 443, 443) for r in rules)
    assert result.one("eks:index:Cluster").inputs["tags"]["DeployFrom"] == "private"
    plain = _run(lambda: _control_plane())
    assert not plain.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert "DeployFrom" not in plain.one("eks:index:Cluster").inputs["tags"]


def test_control_plane_installs_only_daemonset_add_ons_which_wait_for_it():
    """The Pod Identity agent (a DaemonSet, ACTIVE with no node) waits for the control plane; the FSx CSI driver
    (a controller Deployment) is not here: it would deadlock the HyperPod cluster that brings the nodes."""
    result = _run(lambda: _control_plane())
    cluster = result.one("eks:index:Cluster")
    addons = {a.inputs["addonName"]: a for a in result.of_type("aws:eks/addon:Addon")}
    assert set(addons) == {"eks-pod-identity-agent"}
    for addon in addons.values():
        assert addon.inputs["clusterName"] == "t-eks" and cluster.urn in addon.dependencies


def test_cluster_arn_waits_for_the_control_plane_and_add_ons():
    """The ARN (from the plan-time name) carries the control plane and its add-ons: whoever takes it waits."""

    def program():
        cp, _ = _control_plane()
        aws.ssm.Parameter("consumer", type="String", insecure_value=cp.cluster_arn)

    result = _run(program)
    consumer = result.named("consumer")
    assert consumer.inputs["insecureValue"] == "arn:aws:eks:us-east-1:123456789012:cluster/t-eks"
    waited = {result.one("eks:index:Cluster").urn, *(a.urn for a in result.of_type("aws:eks/addon:Addon"))}
    assert waited <= set(consumer.dependencies)


def _platform_on_eks(tmp_path, preview=False):
    chart = tmp_path / "chart"
    chart.mkdir()
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: hyperpod-helm-chart\nversion: 0.1.0\n")

    def program():
        cp, sg = _control_plane()
        deps = HyperPodDependencies(
            "t",
            HyperPodDependenciesArgs(
                chart_path=str(chart), provider=cp.provider, values={"mlflow": {"enabled": False}}
            ),
        )
        FsxVolume(
            "t",
            FsxVolumeArgs(
                file_system_id="fs-0123456789abcdef0",
                dns_name="fs-0123456789abcdef0.fsx.us-east-1.amazonaws.com",
                mount_name="abcdefgh",
                capacity_gib=1200,
                namespace=deps.status.apply(lambda _: "kubeflow"),
                provider=cp.provider,
            ),
        )

    return _run(program, preview)


@pytest.mark.parametrize("preview", [False, True], ids=["up", "preview"])
def test_every_kubernetes_resource_uses_the_clusters_provider(tmp_path, preview):
    """No Kubernetes resource falls back to the default provider: each names the control plane's provider."""
    result = _platform_on_eks(tmp_path, preview)
    provider = result.one("pulumi:providers:kubernetes")
    k8s = [r for r in result.registrations if r.type.startswith(K8S_PREFIX)]
    assert {r.type for r in k8s} >= {
        "kubernetes:helm.sh/v3:Release",
        "kubernetes:core/v1:PersistentVolume",
        "kubernetes:core/v1:PersistentVolumeClaim",
    }
    assert all(r.provider.startswith(provider.urn + "::") for r in k8s), [(r.name, r.provider) for r in k8s]


def test_helm_release_is_pinned_local_chart_in_kube_system_not_awaited(tmp_path):
    result = _platform_on_eks(tmp_path)
    release = result.one("kubernetes:helm.sh/v3:Release").inputs
    assert release["chart"] == str(tmp_path / "chart") and release["namespace"] == "kube-system"
    assert release["skipAwait"] is True and release["name"] == "hyperpod-dependencies"
    assert release["values"] == {"mlflow": {"enabled": False}}


def test_fsx_volume_is_a_static_retained_lustre_volume_bound_to_its_claim(tmp_path):
    """The PV names the file system through the FSx CSI driver, is kept when the claim goes, and the claim in
    the namespace (created by the chart: the claim waits for the release) binds to it by name."""
    result = _platform_on_eks(tmp_path)
    pv = result.one("kubernetes:core/v1:PersistentVolume")
    claim = result.one("kubernetes:core/v1:PersistentVolumeClaim")
    spec = pv.inputs["spec"]
    assert spec["csi"]["driver"] == "fsx.csi.aws.com" and spec["csi"]["volumeHandle"] == "fs-0123456789abcdef0"
    assert spec["csi"]["volumeAttributes"] == {
        "dnsname": "fs-0123456789abcdef0.fsx.us-east-1.amazonaws.com",
        "mountname": "abcdefgh",
    }
    assert spec["persistentVolumeReclaimPolicy"] == "Retain" and spec["accessModes"] == ["ReadWriteMany"]
    assert spec["capacity"] == {"storage": "1200Gi"} and spec["storageClassName"] == ""
    assert claim.inputs["metadata"] == {"name": "fsx-claim", "namespace": "kubeflow"}
    assert claim.inputs["spec"]["volumeName"] == pv.inputs["metadata"]["name"]
    assert result.one("kubernetes:helm.sh/v3:Release").urn in claim.dependencies


def test_helm_release_refuses_a_chart_path_without_a_chart(tmp_path):
    def program():
        cp, _ = _control_plane()
        HyperPodDependencies("t", HyperPodDependenciesArgs(chart_path=str(tmp_path / "nowhere"), provider=cp.provider))

    result = run_program(program, CONFIG, preview=True)
    assert isinstance(result.error, ConfigError)
    assert "HyperPodDependencies.chart_path" in str(result.error) and "scripts/fetch-chart" in str(result.error)
    assert not result.of_type("kubernetes:helm.sh/v3:Release")


GPU = InstanceGroupSettings(
    name="gpu",
    role="compute",
    instance_type="ml.g5.8xlarge",
    count=2,
    deep_health_checks=("InstanceStress", "InstanceConnectivity"),
    ebs_volume_gib=500,
    labels={"team": "research"},
    taints=(KubernetesTaintSettings(key="nvidia.com/gpu", effect="NoSchedule", value="true"),),
)
CPU = InstanceGroupSettings(name="cpu", role="compute", instance_type="ml.m5.2xlarge", count=1)


def test_eks_mode_cluster_joins_the_eks_cluster_with_labels_taints_and_on_create():
    """Orchestrator.Eks.ClusterArn, no Slurm config, OnCreate entrypoint, labels and taints per group, deep
    health checks and EBS on the GPU group, automatic node recovery."""

    def program():
        HyperPodCluster(
            "t",
            HyperPodClusterArgs(
                settings=ClusterSettings(name="t", instance_groups=(CPU, GPU), orchestrator="eks"),
                execution_role_arn="arn:aws:iam::123456789012:role/exec",
                subnet_ids=["subnet-a"],
                security_group_ids=["sg-1"],
                source_s3_uri="s3://sagemaker-t/lifecycle",
                tags={},
                eks_cluster_arn="arn:aws:eks:us-east-1:123456789012:cluster/t-eks",
            ),
        )

    i = _run(program).one("aws-native:sagemaker:Cluster").inputs
    assert i["orchestrator"] == {"eks": {"clusterArn": "arn:aws:eks:us-east-1:123456789012:cluster/t-eks"}}
    assert i["nodeRecovery"] == "Automatic"
    groups = {g["instanceGroupName"]: g for g in i["instanceGroups"]}
    assert all("slurmConfig" not in g for g in groups.values())
    assert {g["lifeCycleConfig"].get("onCreate") for g in groups.values()} == {EKS_ENTRYPOINT}
    assert all("onInitComplete" not in g["lifeCycleConfig"] for g in groups.values())
    gpu = groups["gpu"]
    assert gpu["kubernetesConfig"] == {
        "labels": {"team": "research"},
        "taints": [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}],
    }
    assert gpu["onStartDeepHealthChecks"] == ["InstanceStress", "InstanceConnectivity"]
    assert gpu["instanceStorageConfigs"] == [{"ebsVolumeConfig": {"volumeSizeInGb": 500}}]
    assert "kubernetesConfig" not in groups["cpu"]


def _role_policy(eks_cluster_arn=None) -> dict:
    def program():
        ExecutionRole(
            "t",
            ExecutionRoleArgs(
                vpc_arn="arn:aws:ec2:us-east-1:123456789012:vpc/vpc-0123",
                subnet_arns=["arn:aws:ec2:us-east-1:123456789012:subnet/subnet-a"],
                security_group_arns=["arn:aws:ec2:us-east-1:123456789012:security-group/sg-1"],
                bucket_arn="arn:aws:s3:::sagemaker-t",
                lifecycle_prefix="lifecycle",
                tags={},
                eks_cluster_arn=eks_cluster_arn,
            ),
        )

    return json.loads(_run(program).one("aws:iam/rolePolicy:RolePolicy").inputs["policy"])


def test_execution_role_gains_scoped_eks_statements_only_for_eks():
    """EKS nodes get the CNI's ENI actions inside the VPC, image pulls, and Pod Identity for their cluster only;
    a Slurm role has none of it."""
    eks_arn = "arn:aws:eks:us-east-1:123456789012:cluster/t-eks"
    slurm = {s["Sid"] for s in _role_policy()["Statement"]}
    statements = {s["Sid"]: s for s in _role_policy(eks_arn)["Statement"]}
    added = set(statements) - slurm
    assert added == {"CniDescribe", "CniManageEnisInClusterVpc", "EcrAuthToken", "EcrPull", "PodIdentityForThisCluster"}
    assert statements["PodIdentityForThisCluster"]["Resource"] == eks_arn
    assert statements["CniManageEnisInClusterVpc"]["Condition"] == {
        "ArnEquals": {"ec2:Vpc": "arn:aws:ec2:us-east-1:123456789012:vpc/vpc-0123"}
    }
    assert all(not a.startswith(("ecr:Put", "ecr:Delete", "ecr:Create")) for a in statements["EcrPull"]["Action"])


def _bad_control_plane(**settings):
    def program():
        _control_plane(**settings)

    return program


@pytest.mark.parametrize(
    "settings, arg",
    [
        ({"kubernetes_version": "1.20"}, "EksControlPlane.settings.kubernetes_version"),
        ({"authentication_mode": "CONFIG_MAP"}, "EksControlPlane.settings.authentication_mode"),
        ({"vpc_cni_version": "v1.18.2-eksbuild.1"}, "EksControlPlane.settings.vpc_cni_version"),
        ({"endpoint_public_access": True}, "EksControlPlane.settings.public_access_cidrs"),
        (
            {"endpoint_public_access": True, "public_access_cidrs": ("0.0.0.0/0",)},
            "EksControlPlane.settings.public_access_cidrs[0]",
        ),
        ({"admin_role_arns": ("arn:aws:iam::123456789012:user/alice",)}, "EksControlPlane.settings.admin_role_arns[0]"),
        ({"deploy_from": "laptop"}, "EksControlPlane.settings.deploy_from"),
        ({"deploy_from": "public"}, "EksControlPlane.settings.endpoint_public_access"),
        ({"deploy_from": "private"}, "EksControlPlane.settings.private_access_cidrs"),
        ({"private_access_cidrs": ("0.0.0.0/0",)}, "EksControlPlane.settings.private_access_cidrs[0]"),
    ],
)
def test_control_plane_refuses_bad_settings_before_registering_anything(settings, arg):
    result = run_program(_bad_control_plane(**settings), CONFIG, preview=True)
    assert isinstance(result.error, ConfigError) and f"{arg} = " in str(result.error) and "Fix: " in str(result.error)
    assert not [r for r in result.registrations if r.type.startswith(("eks:", "hyperpod-platform:"))]


def test_fsx_volume_refuses_a_capacity_no_lustre_file_system_has():
    def program():
        cp, _ = _control_plane()
        FsxVolume(
            "t",
            FsxVolumeArgs(
                file_system_id="fs-1",
                dns_name="d",
                mount_name="m",
                capacity_gib=100,
                namespace="kubeflow",
                provider=cp.provider,
            ),  # fmt: skip
        )

    result = run_program(program, CONFIG, preview=True)
    assert isinstance(result.error, ConfigError) and "FsxVolume.capacity_gib = 100" in str(result.error)
    assert not result.of_type("kubernetes:core/v1:PersistentVolume")


def _fsx_with_teams(namespaces):
    def program():
        cp, _ = _control_plane()
        quota = aws.ssm.Parameter("quota-a", type="String", insecure_value="stands for team-a's ComputeQuota")
        FsxVolume(
            "t",
            FsxVolumeArgs(
                file_system_id="fs-0123456789abcdef0",
                dns_name="fs-0123456789abcdef0.fsx.us-east-1.amazonaws.com",
                mount_name="abcdefgh",
                capacity_gib=1200,
                namespace="kubeflow",
                provider=cp.provider,
                team_namespaces={t: after(ns, [quota]) if t == "team-a" else ns for t, ns in namespaces.items()},
            ),
        )

    return program


@pytest.mark.parametrize("preview", [False, True], ids=["up", "preview"])
def test_fsx_volume_gives_each_team_namespace_its_own_volume_and_claim_on_the_same_file_system(preview):
    """Defect 6: a claim is namespaced and a static PV binds one claim, so the only claim (in kubeflow) left the
    team namespaces without FSx. One PV and one `fsx-claim` per namespace, every PV naming the same file system;
    a team's claim waits for its namespace (created with its quota)."""
    result = _run(_fsx_with_teams({"team-a": "hyperpod-ns-team-a", "team-b": "hyperpod-ns-team-b"}), preview)
    pvs = {pv.inputs["metadata"]["name"]: pv for pv in result.of_type("kubernetes:core/v1:PersistentVolume")}
    claims = result.of_type("kubernetes:core/v1:PersistentVolumeClaim")
    assert set(pvs) == {"t-fsx", "t-fsx-team-a", "t-fsx-team-b"}
    assert {pv.inputs["spec"]["csi"]["volumeHandle"] for pv in pvs.values()} == {"fs-0123456789abcdef0"}
    by_namespace = {c.inputs["metadata"]["namespace"]: c for c in claims}
    assert set(by_namespace) == {"kubeflow", "hyperpod-ns-team-a", "hyperpod-ns-team-b"}
    assert {c.inputs["metadata"]["name"] for c in claims} == {"fsx-claim"}
    bound = [c.inputs["spec"]["volumeName"] for c in claims]
    assert sorted(bound) == sorted(pvs)  # each PV bound by exactly one claim
    assert result.named("quota-a").urn in by_namespace["hyperpod-ns-team-a"].dependencies
    provider = result.one("pulumi:providers:kubernetes")
    assert all(r.provider.startswith(provider.urn + "::") for r in [*pvs.values(), *claims])
    if not preview:
        manifests = [(r.name, r.type, r.inputs) for r in [*pvs.values(), *claims]]
        assert k8s_schema.validate(manifests, "1.32") == []


def test_fsx_volume_refuses_a_team_namespace_of_another_team():
    result = run_program(_fsx_with_teams({"team-b": "hyperpod-ns-team-a"}), CONFIG, preview=True)
    assert isinstance(result.error, ConfigError)
    assert 'FsxVolume.team_namespaces.team-b = "hyperpod-ns-team-a"' in str(result.error)
    assert not result.of_type("kubernetes:core/v1:PersistentVolume")


@pytest.mark.parametrize(
    "orchestrator, arn", [("eks", None), ("slurm", "arn:aws:eks:us-east-1:123456789012:cluster/x")]
)
def test_cluster_refuses_an_eks_arn_that_does_not_match_its_orchestrator(orchestrator, arn):
    groups = (CPU,) if orchestrator == "eks" else (
        InstanceGroupSettings(name="controller", role="controller", instance_type="ml.m5.xlarge", count=1),
        InstanceGroupSettings(name="cpu", role="compute", instance_type="ml.m5.xlarge", count=1, partition="cpu"),
    )  # fmt: skip

    def program():
        HyperPodCluster(
            "t",
            HyperPodClusterArgs(
                settings=ClusterSettings(name="t", instance_groups=groups, orchestrator=orchestrator),
                execution_role_arn="arn:aws:iam::123456789012:role/exec",
                subnet_ids=["subnet-a"],
                security_group_ids=["sg-1"],
                source_s3_uri="s3://sagemaker-t/lifecycle",
                tags={},
                eks_cluster_arn=arn,
            ),
        )

    result = run_program(program, CONFIG, preview=True)
    assert isinstance(result.error, ConfigError) and "HyperPodCluster.eks_cluster_arn" in str(result.error)
    assert not result.of_type("aws-native:sagemaker:Cluster")
