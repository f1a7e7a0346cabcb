"""TaskGovernance built directly with small args under mocks: the task governance add-on, the cluster policy
through Cloud Control (its desired state valid against the CloudFormation schema), one ComputeQuota per team,
the order after the HyperPod cluster and the add-on, and the args it refuses before registering anything."""

import dataclasses
import json

import pulumi
import pulumi_aws as aws
import pytest
from pulumi_aws_native import sagemaker

from hyperpod_platform import TaskGovernance, TaskGovernanceArgs
from hyperpod_platform._args import after
from hyperpod_platform.errors import ConfigError
from hyperpod_platform.settings import (
    GovernanceSettings,
    PriorityClassSettings,
    QuotaResourceSettings,
    TeamSettings,
)
from hyperpod_platform.task_governance import ADDON
from tools import cfn_schema
from tools.harness import run_program

CONFIG = {"aws:region": "us-east-1", "aws-native:region": "us-east-1"}
CLUSTER_ARN = "arn:aws:sagemaker:us-east-1:123456789012:cluster/abcdef123456"  # the mocks' HyperPod cluster ARN
ADDON_TYPE = "aws:eks/addon:Addon"
POLICY_TYPE = cfn_schema.CLOUDCONTROL
QUOTA_TYPE = "aws-native:sagemaker:ComputeQuota"
TAGS = {"Project": "hyperpod-platform", "Cluster": "hp"}

SETTINGS = GovernanceSettings(
    priority_classes=(PriorityClassSettings("inference", 90), PriorityClassSettings("training", 50)),
    fair_share="Enabled",
    idle_resource_sharing="Disabled",
    addon_version="v1.0.0-eksbuild.1",
)
RESEARCH = TeamSettings(
    name="research",
    quota=(
        QuotaResourceSettings("ml.g5.8xlarge", count=2),
        QuotaResourceSettings("ml.p5.48xlarge", accelerators=4),
    ),
    account="research",
    principal_arn="arn:aws:iam::222222222222:role/Scientists",
    sharing_strategy="LendAndBorrow",
    borrow_limit=150,
    fair_share_weight=60,
)
SERVING = TeamSettings(
    name="serving",
    quota=(QuotaResourceSettings("ml.m5.2xlarge", vcpu=6.5), QuotaResourceSettings("ml.c5.2xlarge", memory_gib=12.5)),
    account="serving",
    principal_arn="arn:aws:iam::333333333333:role/Serving",
    sharing_strategy="Lend",
    fair_share_weight=10,
    preempt_team_tasks="Never",
)
BATCH = TeamSettings(
    name="batch",
    quota=(QuotaResourceSettings("ml.g5.8xlarge", count=1),),
    account="batch",
    principal_arn="arn:aws:iam::444444444444:role/Batch",
)  # the defaults: LendAndBorrow without a borrow limit (the service's 50), weight 0, LowerPriority


def _args(**changes) -> TaskGovernanceArgs:
    base = TaskGovernanceArgs(
        cluster_name="hp",
        eks_cluster_name="hp-eks",
        hyperpod_cluster_arn=CLUSTER_ARN,
        settings=SETTINGS,
        teams=(RESEARCH, SERVING, BATCH),
        tags=TAGS,
    )
    return dataclasses.replace(base, **changes)


def _program(**changes):
    """Stand-ins for the EKS control plane and the HyperPod cluster, then the component on their outputs (the
    EKS cluster's name after its control plane, as EksControlPlane passes it; the HyperPod cluster's ARN)."""

    def program():
        eks = aws.eks.Cluster(
            "eks",
            name="hp-eks",
            role_arn="arn:aws:iam::123456789012:role/eks",
            vpc_config=aws.eks.ClusterVpcConfigArgs(subnet_ids=["subnet-0123456789abcdef0"]),
        )
        cluster = sagemaker.Cluster("hp", cluster_name="hp", instance_groups=[])
        args = _args(eks_cluster_name=after("hp-eks", [eks]), hyperpod_cluster_arn=cluster.cluster_arn, **changes)
        governance = TaskGovernance("gov", args)
        pulumi.export("quota_names", governance.quota_names)
        pulumi.export("policy_name", governance.policy_name)

    return program


def _run(preview: bool, **changes):
    result = run_program(_program(**changes), CONFIG, preview=preview)
    assert result.error is None, result.error
    return result


MODES = pytest.mark.parametrize("preview", [False, True], ids=["up", "preview"])


@MODES
def test_the_add_on_is_task_governance_on_the_eks_cluster_overwriting_conflicts(preview):
    """One aws.eks.Addon, a child of the component: the task governance add-on at the settings' version, on the
    EKS cluster, conflicts resolved by overwriting on create and update, with the tags. Its cluster name waits
    for the HyperPod cluster, so in a first preview it is unknown like the cluster's ARN."""
    result = _run(preview)
    addon = result.one(ADDON_TYPE)
    assert addon.parent == result.one("hyperpod-platform:index:TaskGovernance").urn
    assert addon.inputs == {
        "addonName": ADDON,
        "addonVersion": "v1.0.0-eksbuild.1",
        "clusterName": "<unknown>" if preview else "hp-eks",
        "resolveConflictsOnCreate": "OVERWRITE",
        "resolveConflictsOnUpdate": "OVERWRITE",
        "tags": TAGS,
    }
    assert ADDON == "amazon-sagemaker-hyperpod-taskgovernance"


def test_without_an_add_on_version_eks_picks_it():
    addon = _run(False, settings=dataclasses.replace(SETTINGS, addon_version=None)).one(ADDON_TYPE)
    assert "addonVersion" not in addon.inputs


def test_the_cluster_policy_is_a_cloud_control_resource_whose_desired_state_the_schema_accepts():
    """The policy is an aws.cloudcontrol.Resource of AWS::SageMaker::ClusterSchedulerConfig: name, the HyperPod
    cluster's ARN, the priority classes with their weights, fair share and idle sharing as set, the tags; the
    offline schema check finds nothing wrong with it."""
    result = _run(False)
    policy = result.one(POLICY_TYPE)
    assert policy.inputs["typeName"] == "AWS::SageMaker::ClusterSchedulerConfig"
    assert json.loads(policy.inputs["desiredState"]) == {
        "Name": "hp-policy",
        "ClusterArn": CLUSTER_ARN,
        "SchedulerConfig": {
            "PriorityClasses": [{"Name": "inference", "Weight": 90}, {"Name": "training", "Weight": 50}],
            "FairShare": "Enabled",
            "IdleResourceSharing": "Disabled",
        },
        "Tags": [{"Key": "Cluster", "Value": "hp"}, {"Key": "Project", "Value": "hyperpod-platform"}],
    }
    assert list(cfn_schema.validate(policy.type, policy.inputs)) == []
    assert result.outputs["policy_name"] == "hp-policy"


def test_a_policy_without_priority_classes_leaves_them_out_and_stays_valid():
    policy = _run(False, settings=GovernanceSettings(fair_share="Disabled")).one(POLICY_TYPE)
    state = json.loads(policy.inputs["desiredState"])
    assert state["SchedulerConfig"] == {"FairShare": "Disabled", "IdleResourceSharing": "Enabled"}
    assert list(cfn_schema.validate(policy.type, policy.inputs)) == []


def test_in_a_preview_the_policys_desired_state_is_unknown_and_not_judged():
    """The desired state is built from the cluster's ARN, unknown in a first preview: the schema check leaves it
    (it is judged on the resolved pass); the policy's name output stays known."""
    result = _run(True)
    policy = result.one(POLICY_TYPE)
    assert policy.inputs == {"typeName": "AWS::SageMaker::ClusterSchedulerConfig", "desiredState": "<unknown>"}
    assert list(cfn_schema.validate(policy.type, policy.inputs)) == []
    assert result.outputs["policy_name"] == "hp-policy"


def _quota(result, team: str):
    return result.named(f"gov-{team}", QUOTA_TYPE)


@MODES
def test_one_compute_quota_per_team_with_its_exact_config(preview):
    """A ComputeQuota per team, named <cluster>-<team>: whole instances or accelerators / vCPUs / memory as the
    team's quota gives them, its sharing strategy (a borrow limit only for a LendAndBorrow team that sets one),
    its preemption choice, its team name and fair-share weight, enabled, tagged; each valid against the
    CloudFormation schema (in a preview with the cluster ARN unknown)."""
    result = _run(preview)
    assert sorted(r.name for r in result.of_type(QUOTA_TYPE)) == ["gov-batch", "gov-research", "gov-serving"]
    arn = "<unknown>" if preview else CLUSTER_ARN
    tags = [{"key": "Cluster", "value": "hp"}, {"key": "Project", "value": "hyperpod-platform"}]
    expected = {
        "research": (
            [{"instanceType": "ml.g5.8xlarge", "count": 2}, {"instanceType": "ml.p5.48xlarge", "accelerators": 4}],
            {"strategy": "LendAndBorrow", "borrowLimit": 150},
            "LowerPriority",
            60,
        ),
        "serving": (
            [{"instanceType": "ml.m5.2xlarge", "vCpu": 6.5}, {"instanceType": "ml.c5.2xlarge", "memoryInGiB": 12.5}],
            {"strategy": "Lend"},
            "Never",
            10,
        ),
        "batch": ([{"instanceType": "ml.g5.8xlarge", "count": 1}], {"strategy": "LendAndBorrow"}, "LowerPriority", 0),
    }
    for team, (resources, sharing, preempt, weight) in expected.items():
        quota = _quota(result, team)
        assert quota.inputs == {
            "name": f"hp-{team}",
            "description": f"Compute quota of team {team} (namespace hyperpod-ns-{team})",
            "clusterArn": arn,
            "computeQuotaConfig": {
                "computeQuotaResources": resources,
                "resourceSharingConfig": sharing,
                "preemptTeamTasks": preempt,
            },
            "computeQuotaTarget": {"teamName": team, "fairShareWeight": weight},
            "activationState": "Enabled",
            "tags": tags,
        }, team
        assert list(cfn_schema.validate(quota.type, quota.inputs)) == [], team
    assert result.outputs["quota_names"] == {"research": "hp-research", "serving": "hp-serving", "batch": "hp-batch"}


@MODES
def test_policy_and_quotas_wait_for_the_add_on_which_waits_for_the_hyperpod_cluster(preview):
    """The add-on depends on the HyperPod cluster (the resource behind the ARN it was given) and on the EKS
    control plane; the policy and every quota depend directly on the add-on and on the HyperPod cluster, through
    the cluster ARN they take."""
    result = _run(preview)
    cluster, eks = result.named("hp").urn, result.named("eks").urn
    addon = result.one(ADDON_TYPE)
    assert {cluster, eks} <= set(addon.dependencies)
    dependents = [result.one(POLICY_TYPE), *result.of_type(QUOTA_TYPE)]
    assert len(dependents) == 4
    for res in dependents:
        assert {addon.urn, cluster} <= set(res.dependencies), res.name
    for quota in result.of_type(QUOTA_TYPE):
        assert {addon.urn, cluster} <= set(quota.property_dependencies["clusterArn"]), quota.name


def test_names_of_a_long_cluster_are_cut_to_sagemakers_63_characters_keeping_the_team():
    """A 63-character cluster name: the policy's and the quotas' names keep their suffix whole and fit the
    schema's Name pattern."""
    long_name = "h" + "p" * 62
    result = _run(False, cluster_name=long_name)
    for team in ("research", "serving", "batch"):
        quota = _quota(result, team)
        assert len(quota.inputs["name"]) == 63 and quota.inputs["name"].endswith(f"p-{team}")
        assert list(cfn_schema.validate(quota.type, quota.inputs)) == []
    policy = result.one(POLICY_TYPE)
    name = json.loads(policy.inputs["desiredState"])["Name"]
    assert len(name) == 63 and name.endswith("p-policy")
    assert list(cfn_schema.validate(policy.type, policy.inputs)) == []


def test_no_teams_still_sets_up_the_add_on_and_the_policy():
    result = _run(False, teams=())
    assert result.of_type(QUOTA_TYPE) == []
    assert result.one(ADDON_TYPE) and result.one(POLICY_TYPE)
    assert result.outputs["quota_names"] == {}


def test_args_as_a_mapping_build_the_same_component():
    """A mapping of the args' fields (what the component provider hands over) builds it as the dataclass does."""

    def program():
        TaskGovernance("gov", dataclasses.asdict(_args()))

    result = run_program(program, CONFIG, preview=False)
    assert result.error is None, result.error
    assert sorted(r.name for r in result.of_type(QUOTA_TYPE)) == ["gov-batch", "gov-research", "gov-serving"]
    assert json.loads(result.one(POLICY_TYPE).inputs["desiredState"])["SchedulerConfig"]["FairShare"] == "Enabled"


def _team(**changes) -> TeamSettings:
    return dataclasses.replace(RESEARCH, **changes)


def _quota_of(*resources: QuotaResourceSettings) -> TeamSettings:
    return _team(quota=resources)


BAD = [
    ("team-name-pattern", dict(teams=(_team(name="Research_Team"),)), {"teams[0].name"}, "lowercase letters"),
    ("team-name-length", dict(teams=(_team(name="r" * 39),)), {"teams[0].name"}, "must fit Kubernetes' 63"),
    ("team-twice", dict(teams=(RESEARCH, _team(fair_share_weight=5))), {"teams[1].name"}, "repeats teams[0].name"),
    (
        "eleven-priority-classes",
        dict(settings=GovernanceSettings(priority_classes=tuple(PriorityClassSettings(f"p{i}", i) for i in range(11)))),
        {"settings.priority_classes"},
        "at most 10 priority classes",
    ),
    (
        "priority-weight-101",
        dict(settings=GovernanceSettings(priority_classes=(PriorityClassSettings("urgent", 101),))),
        {"settings.priority_classes[0].weight"},
        "between 0 and 100",
    ),
    (
        "priority-class-twice",
        dict(settings=GovernanceSettings(priority_classes=(PriorityClassSettings("a", 1),) * 2)),
        {"settings.priority_classes[1].name"},
        "repeats settings.priority_classes[0].name",
    ),
    (
        "priority-class-name",
        dict(settings=GovernanceSettings(priority_classes=(PriorityClassSettings("Urgent", 1),))),
        {"settings.priority_classes[0].name"},
        "priority class names",
    ),
    ("fair-share-on", dict(settings=GovernanceSettings(fair_share="On")), {"settings.fair_share"}, "Enabled"),
    (
        "idle-sharing-yes",
        dict(settings=GovernanceSettings(idle_resource_sharing="yes")),
        {"settings.idle_resource_sharing"},
        "Enabled",
    ),
    (
        "addon-version",
        dict(settings=GovernanceSettings(addon_version="latest")),
        {"settings.addon_version"},
        "not an EKS add-on version",
    ),
    ("weight-101", dict(teams=(_team(fair_share_weight=101),)), {"teams[0].fair_share_weight"}, "between 0 and 100"),
    ("borrow-0", dict(teams=(_team(borrow_limit=0),)), {"teams[0].borrow_limit"}, "between 1 and 500"),
    ("borrow-501", dict(teams=(_team(borrow_limit=501),)), {"teams[0].borrow_limit"}, "between 1 and 500"),
    (
        "borrow-without-borrowing",
        dict(teams=(_team(sharing_strategy="Lend", borrow_limit=50),)),
        {"teams[0].borrow_limit"},
        "only a LendAndBorrow team borrows",
    ),
    ("strategy", dict(teams=(_team(sharing_strategy="Share"),)), {"teams[0].sharing_strategy"}, "LendAndBorrow"),
    ("preempt", dict(teams=(_team(preempt_team_tasks="Always"),)), {"teams[0].preempt_team_tasks"}, "LowerPriority"),
    (
        "two-amounts",
        dict(teams=(_quota_of(QuotaResourceSettings("ml.g5.8xlarge", count=1, accelerators=4)),)),
        {"teams[0].quota[0]"},
        "exactly one amount (count, accelerators given)",
    ),
    (
        "no-amount",
        dict(teams=(_quota_of(QuotaResourceSettings("ml.g5.8xlarge")),)),
        {"teams[0].quota[0]"},
        "exactly one amount (none given)",
    ),
    (
        "zero-count",
        dict(teams=(_quota_of(QuotaResourceSettings("ml.g5.8xlarge", count=0)),)),
        {"teams[0].quota[0].count"},
        "more than 0",
    ),
    (
        "instance-type",
        dict(teams=(_quota_of(QuotaResourceSettings("g5.8xlarge", count=1)),)),
        {"teams[0].quota[0].instance_type"},
        "ml.",
    ),
    ("empty-quota", dict(teams=(_quota_of(),)), {"teams[0].quota"}, "1 to 15 resources"),
    (
        "sixteen-resources",
        dict(teams=(_quota_of(*[QuotaResourceSettings("ml.g5.8xlarge", count=1)] * 16),)),
        {"teams[0].quota"},
        "1 to 15 resources",
    ),
    ("cluster-name", dict(cluster_name="hp_cluster"), {"cluster_name"}, "no underscores"),
    ("arn-by-name", dict(hyperpod_cluster_arn="hp"), {"hyperpod_cluster_arn"}, "not the ARN of a HyperPod cluster"),
    ("tag-key", dict(tags={"aws:reserved": "x"}), {"tags.aws:reserved"}, "aws:"),
    ("weight-type", dict(teams=(_team(fair_share_weight="high"),)), {"teams[0].fair_share_weight"}, "integer"),
]


@pytest.mark.parametrize(("changes", "paths", "why"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_args_raise_a_config_error_naming_each_arg_before_anything_is_registered(changes, paths, why):
    """Each bad arg is refused with a ConfigError naming TaskGovernance.<arg> and why; the component registers
    nothing (the ARN and the EKS cluster name are plain values here, so nothing else is registered either)."""

    def program():
        TaskGovernance("gov", _args(**changes))

    result = run_program(program, CONFIG, preview=False)
    assert isinstance(result.error, ConfigError), result.error
    assert {p.path for p in result.error.problems} == {f"TaskGovernance.{p}" for p in paths}
    assert why in str(result.error)
    assert "invalid TaskGovernance args" in str(result.error)
    assert result.registrations == []


def test_all_problems_of_one_call_are_reported_at_once():
    changes = dict(
        settings=GovernanceSettings(fair_share="On", idle_resource_sharing="On"),
        teams=(_team(fair_share_weight=101, borrow_limit=0),),
    )

    def program():
        TaskGovernance("gov", _args(**changes))

    result = run_program(program, CONFIG, preview=False)
    assert isinstance(result.error, ConfigError)
    assert {p.path.removeprefix("TaskGovernance.") for p in result.error.problems} == {
        "settings.fair_share",
        "settings.idle_resource_sharing",
        "teams[0].fair_share_weight",
        "teams[0].borrow_limit",
    }
    assert result.registrations == []


def test_an_arn_given_as_an_output_is_left_to_resolve():
    """The component judges only plain values: an ARN that comes from another resource builds (the schema check
    judges what it resolves to)."""

    def program():
        later = pulumi.Output.from_input("x").apply(lambda _: "not-an-arn")
        TaskGovernance("gov", _args(hyperpod_cluster_arn=later))

    assert run_program(program, CONFIG, preview=True).error is None
