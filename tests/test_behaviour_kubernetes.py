"""The behaviour-kubernetes check: every node DaemonSet of the HyperPod chart and of the EKS add-ons is placed on
the instance groups it must run on, and every team may run its jobs and mount the shared file system in its own
namespace. Judged on the shipped eks-dev plan (no problem), on that plan with each defect put back (a problem
naming the pod and group, or the team, verb and resource), through the real analyzer protocol, and the pinned
DaemonSet facts against a fresh helm render of the pinned chart. Also the team-access guardrail on the new RBAC."""

from __future__ import annotations

import copy

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pytest
from pulumi_aws_native import sagemaker

from hyperpod_platform import hyperpod_chart
from policies.rules import behaviour_kubernetes as bk
from policies.rules._behaviour import graph_of
from tests import chart_support
from tests.conftest import ROOT, P
from tests.policy_support import judge
from tools import daemonset_facts
from tools.harness import config_from_stack_file, run_program
from tools.policy_harness import PROD_CONFIG, load_policy_config

STACK = ROOT / "Pulumi.eks-dev.yaml"
RELEASE = "kubernetes:helm.sh/v3:Release"
RBAC = "kubernetes:rbac.authorization.k8s.io/v1:"
EFA = "kube-system/hyperpod-dependencies-aws-efa-k8s-device-plugin"
NVIDIA = "kube-system/hyperpod-dependencies-nvidia-device-plugin"
AGENT = "aws-hyperpod/health-monitoring-agent"
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}


def _eks_dev(preview: bool, change=None):
    config = copy.deepcopy(config_from_stack_file(STACK))
    if change:
        change(config)
    result = run_program(ROOT / "__main__.py", config, preview=preview, stack="eks-dev")
    assert result.error is None, result.error
    return result


@pytest.fixture(scope="module")
def plans():
    return {preview: _eks_dev(preview) for preview in (False, True)}


def _evaluate(registrations):
    return bk.evaluate(graph_of(registrations), {})


def _replaced(registrations, pick, **inputs):
    """A copy of the plan where the resources ``pick`` selects have ``inputs`` (state is inputs over outputs)."""
    out = copy.deepcopy(registrations)
    for r in out:
        if pick(r):
            r.inputs.update(inputs)
            for key in inputs:
                r.outputs.pop(key, None)
    return out


def _messages(found) -> list[str]:
    return [p.message for p in found.problems]


# ------------------------------------------------------------------------------------------ the data


def test_daemonset_facts_are_from_the_pinned_chart_and_agree_with_a_fresh_render():
    """The pinned facts name the chart commit; re-rendering the chart with the platform's values finds the same
    DaemonSets of the local sub-charts with the same facts. The two remote sub-charts (not rendered offline)
    carry their source commit, and what they take from the parent chart's values.yaml is that file's."""
    data = bk.facts()
    assert data["source"]["commit"] == hyperpod_chart.CHART_COMMIT
    chart = chart_support.chart_dir()
    fresh = daemonset_facts.collect(chart, {})
    assert fresh["daemonsets"] == daemonset_facts.local_facts(data)
    own = hyperpod_chart.chart_values(chart)
    remote = [d for d in data["daemonsets"] if d["subchart"] in data["source"]["subcharts"]]
    assert {d["subchart"] for d in remote} == {"aws-efa-k8s-device-plugin", "nvidia-device-plugin"}
    for ds in remote:
        source = data["source"]["subcharts"][ds["subchart"]]
        assert len(source["commit"]) == 40 and source["repository"].startswith("https://github.com/")
        key = ds["subchart"]
        if ds["tolerationsValues"]:
            assert ds["tolerationsValues"] == f"{key}.tolerations"
            assert ds["defaultTolerations"] == [t for t in own[key]["tolerations"] if t not in ds["fixedTolerations"]]
    (efa,) = [d for d in remote if d["name"].endswith("aws-efa-k8s-device-plugin")]
    assert efa["fixedTolerations"] == [{"key": "CriticalAddonsOnly", "operator": "Exists"}]
    assert efa["instanceTypes"] == sorted(own["aws-efa-k8s-device-plugin"]["supportedInstanceLabels"]["values"])


def test_the_platform_tolerates_what_the_pinned_facts_say_a_daemonset_takes_from_values():
    """Every DaemonSet with a values path for its tolerations is one the platform's values give the groups'
    taints (hyperpod_chart.CHART_TOLERATIONS), with the chart's own tolerations kept."""
    paths = {d["tolerationsValues"].split(".")[0] for d in bk.facts()["daemonsets"] if d["tolerationsValues"]}
    assert paths == set(hyperpod_chart.CHART_TOLERATIONS)


def test_tolerations_match_taints_as_kubernetes_does():
    taint = {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}
    assert bk.tolerates({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}, taint)
    assert bk.tolerates({"key": "nvidia.com/gpu", "operator": "Equal", "value": "true"}, taint)  # any effect
    assert bk.tolerates({"operator": "Exists"}, taint)  # an empty key with Exists: every taint
    assert not bk.tolerates({"key": "nvidia.com/gpu", "value": "false"}, taint)
    assert not bk.tolerates({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoExecute"}, taint)
    assert not bk.tolerates({"key": "CriticalAddonsOnly", "operator": "Exists"}, taint)


# ------------------------------------------------------------------------------------- the shipped stack


@pytest.mark.parametrize("preview", [False, True], ids=["up", "preview"])
def test_eks_dev_places_every_node_daemonset_and_proves_every_team_permission(plans, preview):
    found = _evaluate(plans[preview].registrations)
    assert found.problems == [] and found.unknown == [], (_messages(found), found.unknown)
    pods = {p for p in found.proved if p.startswith("pod ")}
    for ds in (EFA, NVIDIA, AGENT):
        assert any(p.startswith(f"pod {ds} ") and "on group gpu" in p for p in pods), ds
    assert not any(EFA in p and "group cpu" in p for p in pods)  # m5.2xlarge has no EFA: not its group
    for addon in ("aws-node", "eks-pod-identity-agent", "fsx-csi-node"):
        assert {g for g in ("cpu", "gpu") if any(f"/{addon} " in p and f"group {g} " in p for p in pods)} == {
            "cpu",
            "gpu",
        }
    for team in ("research", "vision"):
        for needed in (
            "create kubeflow.org/pytorchjobs in",
            "create batch/jobs in",
            "list kueue.x-k8s.io/workloads in",
            "list kueue.x-k8s.io/clusterqueues cluster-wide",
            f"mount claim hyperpod-ns-{team}/fsx-claim",
        ):
            assert any(p.startswith(f"permission team {team} ") and needed in p for p in found.proved), needed
    assert bk.counts(found) == {"pods placed": 9, "permissions proved": 18}


# ------------------------------------------------------------------------------ each defect put back


def test_the_efa_plugin_without_the_gpu_taints_toleration_is_a_problem_naming_pod_and_group(plans):
    """The release's values as they were before the fix (the platform's values without the groups' taints): the
    EFA DaemonSet does not tolerate nvidia.com/gpu, so the GPU group gets no EFA."""
    before = hyperpod_chart.platform_values("us-east-1", {"mlflow": {"enabled": False}})
    found = _evaluate(_replaced(plans[False].registrations, lambda r: r.type == RELEASE, values=before))
    (message,) = _messages(found)
    assert f"pod {EFA}" in message and "instance group gpu (ml.g5.8xlarge)" in message
    assert "taint nvidia.com/gpu=true:NoSchedule" in message and "aws-efa-k8s-device-plugin.tolerations" in message
    assert not any(f"pod {EFA} (DaemonSet of the HyperPod chart) on group gpu" in p for p in found.proved)


def test_a_group_taint_is_tolerated_by_the_platforms_values_and_refused_when_they_lack_it(plans):
    """A new taint on the GPU group: the stack's own values (platform_values takes the groups' taints) give every
    node DaemonSet with a values path a toleration; the plan before with the taint added is refused for each."""

    def taint_gpu(config):
        group = next(g for g in config[P + "cluster"]["instanceGroups"] if g["name"] == "gpu")
        group["taints"].append({"key": "dedicated", "value": "training", "effect": "NoExecute"})

    assert _evaluate(_eks_dev(False, taint_gpu).registrations).problems == []
    cluster = next(r for r in plans[False].registrations if r.type == "aws-native:sagemaker:Cluster")
    groups = copy.deepcopy(cluster.inputs["instanceGroups"])
    gpu = next(g for g in groups if g["instanceGroupName"] == "gpu")
    gpu["kubernetesConfig"]["taints"].append({"key": "dedicated", "value": "training", "effect": "NoExecute"})
    found = _evaluate(
        _replaced(plans[False].registrations, lambda r: r is cluster or r.urn == cluster.urn, instanceGroups=groups)
    )
    refused = {m.split(" (DaemonSet")[0].removeprefix("pod ") for m in _messages(found)}
    assert refused == {EFA, NVIDIA}  # the health agent and the add-ons tolerate every taint
    assert all("dedicated=training:NoExecute" in m and "group gpu" in m for m in _messages(found))


def test_a_team_without_rbac_for_pytorchjobs_is_a_problem_naming_the_permission(plans):
    """AmazonEKSEditPolicy alone (the plan before the fix): no access policy covers kubeflow.org or kueue."""
    registrations = [r for r in plans[False].registrations if not (r.type.startswith(RBAC) and "research" in r.name)]
    found = _evaluate(registrations)
    messages = _messages(found)
    assert any(
        "team research (arn:aws:iam::123456789012:role/hp-eks-dev-research-access) cannot create "
        "kubeflow.org/pytorchjobs in hyperpod-ns-research: no EKS access policy covers this custom resource" in m
        for m in messages
    ), messages
    assert any("cannot list kueue.x-k8s.io/clusterqueues cluster-wide" in m for m in messages)
    assert not any("cannot create batch/jobs" in m for m in messages)  # the edit policy covers batch
    assert all("team research" in m for m in messages)
    (entry,) = {p.node.name for p in found.problems}
    assert entry == "hp-eks-dev-research-entry"


def test_a_team_namespace_without_a_claim_is_a_problem_naming_the_team(plans):
    registrations = [r for r in plans[False].registrations if r.name != "hp-eks-dev-fsx-research-claim"]
    (problem,) = _evaluate(registrations).problems
    assert problem.node.name == "hp-eks-dev-research"  # the team's quota
    assert "team research cannot mount the shared file system: no claim in hyperpod-ns-research" in problem.message


# ------------------------------------------------------------------------------ through the analyzer


def _small_platform(with_rbac: bool, tolerate: bool):
    """A HyperPod chart release, a GPU group tainted nvidia.com/gpu, and team-a with edit access (and its RBAC)."""

    def program():
        provider = k8s.Provider("k8s", kubeconfig="{}")
        taints = [GPU_TAINT] if tolerate else []
        k8s.helm.v3.Release(
            "deps",
            name="hyperpod-dependencies",
            chart="charts/hyperpod/HyperPodHelmChart",
            namespace="kube-system",
            values=hyperpod_chart.platform_values("us-east-1", None, taints),
            opts=pulumi.ResourceOptions(provider=provider),
        )
        gpu = sagemaker.ClusterInstanceGroupArgs(
            instance_group_name="gpu",
            instance_type="ml.p5.48xlarge",
            instance_count=1,
            execution_role="arn:aws:iam::123456789012:role/hp-exec",
            life_cycle_config=sagemaker.ClusterLifeCycleConfigArgs(
                source_s3_uri="s3://sagemaker-lc/eks", on_create="on_create.sh"
            ),
            kubernetes_config=sagemaker.ClusterKubernetesConfigArgs(
                taints=[sagemaker.ClusterKubernetesTaintArgs(key="nvidia.com/gpu", value="true", effect="NoSchedule")]
            ),
        )
        cluster = sagemaker.Cluster(
            "hyperpod",
            cluster_name="hp-eks",
            node_recovery="Automatic",
            orchestrator=sagemaker.ClusterOrchestratorArgs(
                eks=sagemaker.ClusterOrchestratorEksConfigArgs(
                    cluster_arn="arn:aws:eks:us-east-1:123456789012:cluster/hp-eks"
                )
            ),
            instance_groups=[gpu],
            vpc_config=sagemaker.ClusterVpcConfigArgs(
                subnets=["subnet-0a"], security_group_ids=["sg-0123456789abcdef0"]
            ),
        )
        sagemaker.ComputeQuota(
            "quota-team-a",
            cluster_arn=cluster.cluster_arn,
            compute_quota_config=sagemaker.ComputeQuotaConfigArgs(
                compute_quota_resources=[
                    sagemaker.ComputeQuotaResourceConfigArgs(instance_type="ml.p5.48xlarge", count=1)
                ]
            ),
            compute_quota_target=sagemaker.ComputeQuotaTargetArgs(team_name="team-a", fair_share_weight=1),
        )
        principal = "arn:aws:iam::123456789012:role/hp-team-a-access"
        group = "hyperpod-ns-team-a-namespace-level-group"
        aws.eks.AccessEntry("team-a-entry", cluster_name="hp-eks", principal_arn=principal, kubernetes_groups=[group])
        aws.eks.AccessPolicyAssociation(
            "team-a-edit",
            cluster_name="hp-eks",
            principal_arn=principal,
            policy_arn="arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy",
            access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(
                type="namespace", namespaces=["hyperpod-ns-team-a"]
            ),
        )
        if with_rbac:
            opts = pulumi.ResourceOptions(provider=provider)
            subjects = [{"kind": "Group", "name": group, "apiGroup": "rbac.authorization.k8s.io"}]
            k8s.rbac.v1.Role(
                "team-a-jobs",
                metadata={"name": "jobs", "namespace": "hyperpod-ns-team-a"},
                rules=[
                    {"apiGroups": ["kubeflow.org"], "resources": ["pytorchjobs"], "verbs": ["create", "get"]},
                    {"apiGroups": ["kueue.x-k8s.io"], "resources": ["workloads"], "verbs": ["get", "list"]},
                ],
                opts=opts,
            )
            k8s.rbac.v1.RoleBinding(
                "team-a-jobs-binding",
                metadata={"name": "jobs", "namespace": "hyperpod-ns-team-a"},
                subjects=subjects,
                role_ref={"kind": "Role", "name": "jobs", "apiGroup": "rbac.authorization.k8s.io"},
                opts=opts,
            )
            k8s.rbac.v1.ClusterRole(
                "team-a-queues",
                metadata={"name": "queues"},
                rules=[
                    {
                        "apiGroups": ["kueue.x-k8s.io"],
                        "resources": ["clusterqueues", "workloadpriorityclasses"],
                        "verbs": ["list"],
                    }
                ],
                opts=opts,
            )
            k8s.rbac.v1.ClusterRoleBinding(
                "team-a-queues-binding",
                metadata={"name": "queues"},
                subjects=subjects,
                role_ref={"kind": "ClusterRole", "name": "queues", "apiGroup": "rbac.authorization.k8s.io"},
                opts=opts,
            )

    return program


def _kubernetes_violations(report) -> list[str]:
    return [d.message for d in report.violations if d.policy == bk.NAME]


def test_through_the_analyzer_an_untolerated_taint_and_missing_rbac_are_mandatory_violations(pack):
    report = judge(
        pack, _small_platform(with_rbac=False, tolerate=False), policy_config=load_policy_config(PROD_CONFIG)
    )
    messages = _kubernetes_violations(report)
    assert all(d.level == "mandatory" for d in report.violations if d.policy == bk.NAME)
    assert any(f"pod {EFA}" in m and "instance group gpu (ml.p5.48xlarge)" in m for m in messages), messages
    assert any(
        "team team-a" in m and "cannot create kubeflow.org/pytorchjobs in hyperpod-ns-team-a" in m for m in messages
    )
    fixed = judge(pack, _small_platform(with_rbac=True, tolerate=True), policy_config=load_policy_config(PROD_CONFIG))
    assert _kubernetes_violations(fixed) == []


# ------------------------------------------------------------------- the team-access guardrail on RBAC


def _team_access_violations(pack, registrations, outputs):
    report = pack.analyze(
        registrations,
        outputs=outputs,
        config={"aws:region": "us-east-1"},
        policy_config=load_policy_config(PROD_CONFIG),
    )
    return [d.message for d in report.violations if d.policy == "team-access-namespace-scoped"]


def test_team_access_guardrail_passes_eks_dev_and_catches_a_team_given_cluster_wide_rights(pack, plans):
    run = plans[False]
    assert _team_access_violations(pack, run.registrations, run.outputs) == []
    to_admin = _replaced(
        run.registrations,
        lambda r: r.name == "hp-eks-dev-research-queues-binding",
        roleRef={"kind": "ClusterRole", "name": "cluster-admin", "apiGroup": "rbac.authorization.k8s.io"},
    )
    (message,) = _team_access_violations(pack, to_admin, run.outputs)
    assert "hyperpod-ns-research-namespace-level-group" in message and "ClusterRole cluster-admin" in message
    writes = _replaced(
        run.registrations,
        lambda r: r.name == "hp-eks-dev-vision-queues-role",
        rules=[{"apiGroups": ["kubeflow.org"], "resources": ["pytorchjobs"], "verbs": ["create"]}],
    )
    (message,) = _team_access_violations(pack, writes, run.outputs)
    assert "hyperpod-ns-vision-queues-read, which does more than read" in message
    elsewhere = _replaced(
        run.registrations,
        lambda r: r.name == "hp-eks-dev-vision-jobs-binding",
        metadata={"name": "hyperpod-ns-vision-jobs", "namespace": "hyperpod-ns-research"},
    )
    (message,) = _team_access_violations(pack, elsewhere, run.outputs)
    assert "in namespace hyperpod-ns-research, not its own team namespace (hyperpod-ns-vision)" in message
