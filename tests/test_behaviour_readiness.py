"""Readiness: nothing on the path of the HyperPod cluster (which brings the EKS nodes) waits for nodes.

The behaviour-readiness check (policies/rules/behaviour_readiness.py) judged on small programs and on the
shipped stacks, through ``evaluate`` and through the analyzer protocol; the EksNodeAddons component that puts
the FSx CSI driver (a controller Deployment) after the nodes."""

import json
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pytest

from hyperpod_platform import EksNodeAddons, EksNodeAddonsArgs
from hyperpod_platform._args import after
from hyperpod_platform.errors import ConfigError
from policies.rules import behaviour_readiness
from policies.rules._behaviour import graph_of
from tests.policy_programs import eks
from tests.policy_support import judge
from tools.harness import config_from_stack_file, run_program

ROOT = Path(__file__).resolve().parent.parent
CONFIG = {"aws:region": "us-east-1", "aws-native:region": "us-east-1"}
ARN = "arn:aws:sagemaker:us-east-1:123456789012:cluster/abcdefgh1234"


def _findings(program, config=CONFIG, preview=False):
    result = run_program(program, config, preview=preview)
    assert result.error is None, result.error
    return behaviour_readiness.evaluate(graph_of(result.registrations), {})


def _stack(stack):
    result = run_program(ROOT / "__main__.py", config_from_stack_file(ROOT / f"Pulumi.{stack}.yaml"), preview=False)
    assert result.error is None, result.error
    return result


def _addon(name, addon, **kw):
    return aws.eks.Addon(name, cluster_name="hp-eks", addon_name=addon, **kw)


def _hyperpod(waits_for=()):
    arn = eks.EKS_ARN if not waits_for else after(eks.EKS_ARN, list(waits_for))
    return eks.hyperpod_on_eks(["subnet-a", "subnet-b"], cluster_arn=arn)


def test_addon_with_a_controller_on_the_hyperpod_clusters_path_is_a_deadlock():
    def program():
        _hyperpod(waits_for=[_addon("fsx-csi", "aws-fsx-csi-driver")])

    found = _findings(program)
    (problem,) = found.problems
    assert problem.node.name == "fsx-csi"
    assert "Deployment fsx-csi-controller (2 replica(s))" in problem.message
    assert "a deadlock" in problem.message and "hyperpod -> fsx-csi" in problem.message


def test_deadlock_through_an_intermediate_resource_names_the_path():
    def program():
        addon = _addon("coredns", "coredns")
        middle = aws.ssm.Parameter("middle", type="String", insecure_value=after("x", [addon]))
        _hyperpod(waits_for=[middle])

    (problem,) = _findings(program).problems
    assert problem.node.name == "coredns" and "hyperpod -> middle -> coredns" in problem.message


def test_addon_with_a_controller_that_waits_for_nothing_races_the_nodes():
    def program():
        _hyperpod()
        _addon("fsx-csi", "aws-fsx-csi-driver")

    (problem,) = _findings(program).problems
    assert problem.node.name == "fsx-csi" and "races them" in problem.message


def test_addon_with_a_controller_after_the_cluster_is_proved():
    def program():
        cluster = _hyperpod()
        aws.eks.Addon("fsx-csi", cluster_name=after("hp-eks", [cluster]), addon_name="aws-fsx-csi-driver")

    found = _findings(program)
    assert not found.problems
    assert "fsx-csi after hyperpod (needs a schedulable node)" in found.proved


def test_daemonset_only_addon_may_precede_the_nodes():
    def program():
        _hyperpod(waits_for=[_addon("agent", "eks-pod-identity-agent")])

    found = _findings(program)
    assert not found.problems
    assert any(p.startswith("eks-pod-identity-agent: DaemonSets only") for p in found.proved)


def test_awaited_helm_release_on_the_clusters_path_is_a_deadlock_and_skip_await_is_not():
    def program(skip):
        provider = k8s.Provider("k8s", kubeconfig="{}")
        release = k8s.helm.v3.Release(
            "deps",
            chart="/charts/hyperpod",
            namespace="kube-system",
            skip_await=skip,
            opts=pulumi.ResourceOptions(provider=provider),
        )
        _hyperpod(waits_for=[release])

    (problem,) = _findings(lambda: program(False)).problems
    assert problem.node.name == "deps" and "skipAwait is not true" in problem.message
    assert not _findings(lambda: program(True)).problems


def test_addon_the_data_does_not_know_cannot_be_judged():
    def program():
        _hyperpod(waits_for=[_addon("mystery", "some-new-addon")])

    found = _findings(program)
    assert not found.problems
    assert found.unknown == ["mystery (Addon): add-on some-new-addon is not in policies/data/readiness.json"]


def test_every_pinned_addon_names_its_workloads_and_a_source():
    data = json.loads((ROOT / "policies/data/readiness.json").read_text())
    for name, fact in data["addons"].items():
        assert fact["source"], name
        assert {w["kind"] for w in fact["workloads"]} <= {"Deployment", "DaemonSet", "StatefulSet"}, name
    assert [w["replicas"] for w in data["addons"]["aws-fsx-csi-driver"]["workloads"] if "replicas" in w] == [2]


@pytest.mark.parametrize("stack", ["eks-dev", "dev", "prod"])
def test_shipped_stack_has_nothing_on_the_clusters_path_that_needs_nodes(stack):
    found = behaviour_readiness.evaluate(graph_of(_stack(stack).registrations), {})
    assert not found.problems, [p.message for p in found.problems]
    assert not found.unknown
    if stack == "eks-dev":
        assert "hp-eks-dev-fsx-csi-driver after hp-eks-dev-cluster (needs a schedulable node)" in found.proved
        assert "hp-eks-dev-addon after hp-eks-dev-cluster (needs a schedulable node)" in found.proved


def _waits_for(result, urn):
    by_urn = {r.urn: r for r in result.registrations}
    seen, todo = set(), [urn]
    while todo:
        for dep in by_urn[todo.pop()].dependencies:
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return seen


def test_eks_dev_hyperpod_cluster_does_not_wait_for_the_fsx_csi_driver():
    result = _stack("eks-dev")
    cluster = result.one("aws-native:sagemaker:Cluster")
    (addon,) = [a for a in result.of_type("aws:eks/addon:Addon") if a.inputs["addonName"] == "aws-fsx-csi-driver"]
    assert addon.urn not in _waits_for(result, cluster.urn)
    assert cluster.urn in _waits_for(result, addon.urn)


def test_node_addons_wait_for_the_hyperpod_cluster():
    def program():
        EksNodeAddons(
            "t",
            EksNodeAddonsArgs(
                eks_cluster_name="t-eks", hyperpod_cluster_arn=ARN, tags={}, fsx_csi_driver_version="v1.9.0-eksbuild.1"
            ),
        )

    result = run_program(program, CONFIG, preview=False)
    assert result.error is None, result.error
    (addon,) = result.of_type("aws:eks/addon:Addon")
    assert addon.inputs["addonName"] == "aws-fsx-csi-driver" and addon.inputs["clusterName"] == "t-eks"
    assert (
        addon.inputs["addonVersion"] == "v1.9.0-eksbuild.1"
        and addon.parent == result.one("hyperpod-platform:index:EksNodeAddons").urn
    )


def test_node_addons_without_the_fsx_csi_driver_install_nothing():
    result = run_program(
        lambda: EksNodeAddons(
            "t", EksNodeAddonsArgs(eks_cluster_name="t-eks", hyperpod_cluster_arn=ARN, tags={}, fsx_csi_driver=False)
        ),
        CONFIG,
        preview=False,
    )
    assert result.error is None and not result.of_type("aws:eks/addon:Addon")


def test_node_addons_refuse_a_bad_version_and_a_cluster_name_for_an_arn():
    with pytest.raises(ConfigError) as err:
        EksNodeAddons(
            "t",
            EksNodeAddonsArgs(
                eks_cluster_name="t-eks", hyperpod_cluster_arn="hp-cluster", tags={}, fsx_csi_driver_version="1.9"
            ),
        )
    text = str(err.value)
    assert "EksNodeAddons.fsx_csi_driver_version" in text and "vX.Y.Z-eksbuild.N" in text
    assert "EksNodeAddons.hyperpod_cluster_arn" in text and "HyperPodCluster.arn" in text


def test_deadlock_is_a_mandatory_violation_through_the_analyzer_protocol(pack):
    def program():
        _hyperpod(waits_for=[_addon("fsx-csi", "aws-fsx-csi-driver")])

    report = judge(pack, program, config=CONFIG)
    (v,) = [d for d in report.violations if d.policy == behaviour_readiness.NAME]
    assert v.mandatory and v.name == "fsx-csi" and "a deadlock" in v.message
