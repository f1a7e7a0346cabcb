"""The shipped EKS stack (Pulumi.eks-dev.yaml) end to end: the offline preview under the production policy
config, what its plan holds and waits for, and the EKS config mistakes, each named with its key, value and fix."""

import copy
import json

import pytest

from tests.conftest import ROOT, P
from tools import preview
from tools.harness import config_from_stack_file, run_program

STACK = ROOT / "Pulumi.eks-dev.yaml"
PROD_POLICY = ROOT / "policies" / "config" / "prod.json"


@pytest.fixture
def eks_config() -> dict:
    return copy.deepcopy(config_from_stack_file(STACK))


@pytest.fixture(scope="module")
def plan(tmp_path_factory) -> list[dict]:
    """The eks-dev preview's --json plan, under the production policy config (exit 0)."""
    out = tmp_path_factory.mktemp("eks") / "plan.json"
    code = preview.main(["--stack", "eks-dev", "--quiet", "--policy-config", str(PROD_POLICY), "--json", str(out)])
    assert code == 0
    return json.loads(out.read_text())["resources"]


def _one(plan: list[dict], typ: str) -> dict:
    (res,) = [r for r in plan if r["type"] == typ]
    return res


def test_eks_dev_preview_passes_prod_policies_and_shows_the_eks_platform(plan):
    """The plan shows the control plane (remote: its inputs), the CNI and Pod Identity add-on settings, the
    Helm release, the FSx volume and the HyperPod cluster with orchestrator.eks."""
    control = _one(plan, "eks:index:Cluster")
    assert control["remote"] and control["inputs"]["vpcCniOptions"]["addonVersion"] == "v1.19.2-eksbuild.1"
    assert control["inputs"]["authenticationMode"] == "API" and control["inputs"]["endpointPrivateAccess"] is True
    (control_plane,) = [r["urn"] for r in plan if r["type"] == "hyperpod-platform:index:EksControlPlane"]
    addons = {
        r["inputs"]["addonName"] for r in plan if r["type"] == "aws:eks/addon:Addon" and r["parent"] == control_plane
    }
    assert addons == {"eks-pod-identity-agent"}  # DaemonSets only: the nodes' add-ons come after the nodes
    (node_addons,) = [r["urn"] for r in plan if r["type"] == "hyperpod-platform:index:EksNodeAddons"]
    assert {r["inputs"]["addonName"] for r in plan if r["parent"] == node_addons} == {"aws-fsx-csi-driver"}
    release = _one(plan, "kubernetes:helm.sh/v3:Release")["inputs"]
    assert release["namespace"] == "kube-system" and release["skipAwait"] is True
    assert release["values"]["mlflow"] == {"enabled": False}  # the stack's helmValues over the defaults
    assert release["values"]["global"]["region"] == "us-east-1"
    pvs = [r["inputs"] for r in plan if r["type"] == "kubernetes:core/v1:PersistentVolume"]
    assert len(pvs) == 3 and {pv["spec"]["csi"]["driver"] for pv in pvs} == {"fsx.csi.aws.com"}  # kubeflow, 2 teams
    hyperpod = _one(plan, "aws-native:sagemaker:Cluster")["inputs"]
    assert set(hyperpod["orchestrator"]) == {"eks"}
    groups = {g["instanceGroupName"]: g for g in hyperpod["instanceGroups"]}
    assert groups["gpu"]["onStartDeepHealthChecks"] == ["InstanceStress", "InstanceConnectivity"]
    assert groups["gpu"]["kubernetesConfig"]["taints"][0]["key"] == "nvidia.com/gpu"
    assert not [r for r in plan if r["type"].startswith(("aws:directoryservice", "aws:lb/"))]  # no Slurm parts


def test_hyperpod_cluster_waits_for_the_control_plane_and_the_helm_release(plan):
    hyperpod = _one(plan, "aws-native:sagemaker:Cluster")
    assert _one(plan, "eks:index:Cluster")["urn"] in hyperpod["dependencies"]
    assert _one(plan, "kubernetes:helm.sh/v3:Release")["urn"] in hyperpod["dependencies"]
    # ...and not on the file system: FSx reaches pods through the volume, not the nodes' boot.
    assert _one(plan, "aws:fsx/lustreFileSystem:LustreFileSystem")["urn"] not in hyperpod["dependencies"]


def test_every_kubernetes_resource_of_the_stack_names_the_clusters_provider(eks_config):
    result = run_program(ROOT / "__main__.py", eks_config, preview=True, stack="eks-dev")
    assert result.error is None, result.error
    provider = result.one("pulumi:providers:kubernetes")
    k8s = [r for r in result.registrations if r.type.startswith("kubernetes:")]
    # the Helm release, a PV and claim for kubeflow and each team, and each team's Role, ClusterRole and bindings
    assert len(k8s) == 1 + 2 * 3 + 4 * 2 and all(r.provider.startswith(provider.urn + "::") for r in k8s)


def test_the_nodes_get_the_eks_lifecycle_script_and_the_eks_role_statements(eks_config):
    result = run_program(ROOT / "__main__.py", eks_config, preview=False, stack="eks-dev")
    assert result.error is None, result.error
    keys = {o.inputs["key"] for o in result.of_type("aws:s3/bucketObjectv2:BucketObjectv2")}
    assert "lifecycle/on_create.sh" in keys and "lifecycle/on_init_complete.sh" not in keys
    role = result.one("hyperpod-platform:index:ExecutionRole")
    (inline,) = [r for r in result.of_type("aws:iam/rolePolicy:RolePolicy") if r.parent == role.urn]
    policy = json.loads(inline.inputs["policy"])
    pod_identity = [s for s in policy["Statement"] if s["Sid"] == "PodIdentityForThisCluster"]
    assert pod_identity[0]["Resource"] == "arn:aws:eks:us-east-1:123456789012:cluster/hp-eks-dev-eks"
    assert result.outputs["eksClusterName"] == "hp-eks-dev-eks" and "<secret>" in result.outputs["kubeconfig"]


def _group(config: dict, name: str) -> dict:
    return next(g for g in config[P + "cluster"]["instanceGroups"] if g["name"] == name)


def _slurm_with(config: dict, key: str) -> None:
    """The Slurm dev stack's config, plus this stack's ``key`` section."""
    section = config[P + key]
    config.clear()
    config.update(copy.deepcopy(config_from_stack_file(ROOT / "Pulumi.dev.yaml")), **{P + key: section})


BAD = {
    "kubernetes version outside the allow-list": (
        lambda c: c[P + "eks"].update(kubernetesVersion="1.20"),
        "eks.kubernetesVersion",
        "1.28, 1.29",
    ),
    "kubernetes version as a number": (
        lambda c: c[P + "eks"].update(kubernetesVersion=1.32),
        "eks.kubernetesVersion",
        "string",
    ),
    "config-map authentication": (
        lambda c: c[P + "eks"].update(authenticationMode="CONFIG_MAP"),
        "eks.authenticationMode",
        "API",
    ),
    "public endpoint open to the world": (
        lambda c: c[P + "eks"].update(endpointPublicAccess=True, publicAccessCidrs=["0.0.0.0/0"]),
        "eks.publicAccessCidrs",
        "open to the world",
    ),
    "the world in two halves": (
        lambda c: c[P + "eks"].update(endpointPublicAccess=True, publicAccessCidrs=["0.0.0.0/1", "128.0.0.0/1"]),
        "eks.publicAccessCidrs",
        "internet",
    ),
    "public endpoint without CIDRs": (
        lambda c: c[P + "eks"].pop("publicAccessCidrs"),
        "eks.publicAccessCidrs",
        "required",
    ),
    "CIDRs on a private endpoint": (
        lambda c: c[P + "eks"].update(deployFrom="vpn"),
        "eks.publicAccessCidrs",
        "endpointPublicAccess",
    ),
    "deploy from an unknown place": (
        lambda c: c[P + "eks"].update(deployFrom="laptop"),
        "eks.deployFrom",
        "public",
    ),
    "deploy from the public endpoint that is turned off": (
        lambda c: c[P + "eks"].update(endpointPublicAccess=False),
        "eks.endpointPublicAccess",
        "eks.deployFrom",
    ),
    "deploy from the VPN without a VPN": (
        lambda c: (c[P + "eks"].update(deployFrom="vpn"), c[P + "eks"].pop("publicAccessCidrs"), c.pop(P + "vpn")),
        "eks.deployFrom",
        "vpn.enabled",
    ),
    "deploy from a private network without its ranges": (
        lambda c: (c[P + "eks"].update(deployFrom="private"), c[P + "eks"].pop("publicAccessCidrs")),
        "eks.privateAccessCidrs",
        "required",
    ),
    "private ranges that are the internet": (
        lambda c: (
            c[P + "eks"].update(deployFrom="private", privateAccessCidrs=["0.0.0.0/1", "128.0.0.0/1"]),
            c[P + "eks"].pop("publicAccessCidrs"),
        ),
        "eks.privateAccessCidrs",
        "internet",
    ),
    "private range of the whole internet": (
        lambda c: c[P + "eks"].update(privateAccessCidrs=["0.0.0.0/0"]),
        "eks.privateAccessCidrs[0]",
        "internet",
    ),
    "VPC CNI too old": (
        lambda c: c[P + "eks"].update(vpcCniVersion="v1.18.2-eksbuild.1"),
        "eks.vpcCniVersion",
        "v1.18.3",
    ),
    "VPC CNI not a version": (lambda c: c[P + "eks"].update(vpcCniVersion="latest"), "eks.vpcCniVersion", "vX.Y.Z"),
    "misspelt helm value": (
        lambda c: c[P + "eks"]["helmValues"].update(mlfow={"enabled": True}),
        "eks.helmValues.mlfow",
        "mlflow",
    ),
    "misspelt sub-chart value": (
        lambda c: c[P + "eks"]["helmValues"].update({"health-monitoring-agent": {"regoin": "x"}}),
        "eks.helmValues.health-monitoring-agent.regoin",
        "region",
    ),
    "admin role that is a user": (
        lambda c: c[P + "eks"].update(adminRoleArns=["arn:aws:iam::123456789012:user/alice"]),
        "eks.adminRoleArns[0]",
        "IAM role",
    ),
    "unknown log type": (lambda c: c[P + "eks"].update(logTypes=["api", "audits"]), "eks.logTypes[1]", "audit"),
    "unknown eks key": (
        lambda c: c[P + "eks"].update(endpointPrivateAccess=False),
        "eks.endpointPrivateAccess",
        "not a known setting",
    ),
    "bad namespace": (lambda c: c[P + "eks"].update(fsxNamespace="Team_A"), "eks.fsxNamespace", "namespace"),
    "slurm role on an eks group": (
        lambda c: _group(c, "cpu").update(role="compute"),
        "instanceGroups[0].role",
        "Slurm",
    ),
    "slurm partition on an eks group": (
        lambda c: _group(c, "gpu").update(partition="gpu"),
        "instanceGroups[1].partition",
        "Slurm",
    ),
    "slurm config strategy": (
        lambda c: c[P + "cluster"].update(slurmConfigStrategy="Managed"),
        "cluster.slurmConfigStrategy",
        "Slurm",
    ),
    "login section": (lambda c: c.update({P + "login": {"allowedCidrs": ["192.168.0.0/24"]}}), "login", "Slurm"),
    "directory section": (
        lambda c: c.update({P + "directory": {"enabled": True, "domainName": "corp.example.com"}}),
        "directory",
        "IAM",
    ),
    "label under HyperPod's prefix": (
        lambda c: _group(c, "cpu")["labels"].update({"sagemaker.amazonaws.com/node-health-status": "Schedulable"}),
        "labels.sagemaker.amazonaws.com/node-health-status",
        "HyperPod manages",
    ),
    "label value with a space": (
        lambda c: _group(c, "cpu")["labels"].update(workload="cpu jobs"),
        "labels.workload",
        "label value",
    ),
    "taint effect": (
        lambda c: _group(c, "gpu")["taints"][0].update(effect="NoSchedul"),
        "taints[0].effect",
        "NoSchedule",
    ),
    "eks section on a slurm stack": (
        lambda c: _slurm_with(c, "eks"),
        "eks",
        "EKS-orchestrated",
    ),
    "unknown orchestrator": (
        lambda c: c[P + "cluster"].update(orchestrator="k8s"),
        "cluster.orchestrator",
        "slurm, eks",
    ),
}


@pytest.mark.parametrize("mistake", list(BAD), ids=list(BAD))
def test_eks_config_mistake_is_one_problem_naming_key_value_and_fix(eks_config, mistake):
    change, key, words = BAD[mistake]
    change(eks_config)
    result = run_program(ROOT / "__main__.py", eks_config, preview=True, stack="eks-dev")
    assert result.error is not None and not result.registrations, mistake
    lines = [ln for ln in str(result.error).splitlines() if ln.startswith("  - ")]
    mine = [ln for ln in lines if key in ln]
    assert mine and len(lines) == 1, (key, lines)  # one mistake, one problem
    assert any(words in ln and ". Fix: " in ln for ln in mine), (words, mine)
