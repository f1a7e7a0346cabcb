"""HyperPodCluster, built on its own under mocks: instance groups from settings, orchestrator, recovery, VPC
placement, lifecycle scripts and tags. How the shipped stack's config, role and lifecycle bucket reach it is
in tests/test_stack_dev.py."""

from __future__ import annotations

import dataclasses

import pulumi
import pulumi_aws as aws

from hyperpod_platform import HyperPodCluster, HyperPodClusterArgs
from hyperpod_platform.settings import ClusterSettings, InstanceGroupSettings
from tools.harness import ACCOUNT, run_program

CONFIG = {"aws:region": "us-east-1", "aws-native:region": "us-east-1"}
NAME = "t"
CLUSTER = "aws-native:sagemaker:Cluster"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/demo-nodes"
SOURCE = "s3://sagemaker-demo-scripts/lifecycle"
SUBNETS = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
SECURITY_GROUPS = ["sg-0123456789abcdef0"]
CONTROLLER = InstanceGroupSettings(
    name="ctl", role="controller", instance_type="ml.m5.2xlarge", count=1, threads_per_core=2, ebs_volume_gib=200
)
LOGIN = InstanceGroupSettings(name="entry", role="login", instance_type="ml.m5.xlarge", count=2)
GPU = InstanceGroupSettings(
    name="train",
    role="compute",
    instance_type="ml.g5.12xlarge",
    count=4,
    partition="gpu",
    threads_per_core=1,
    ebs_volume_gib=500,
    deep_health_checks=("InstanceStress", "InstanceConnectivity"),
)
CPU = InstanceGroupSettings(name="cpu", role="compute", instance_type="ml.c5.4xlarge", count=3)
SETTINGS = ClusterSettings(name="demo", instance_groups=(CONTROLLER, LOGIN, GPU, CPU))


def run_cluster(settings: ClusterSettings = SETTINGS, *, preview: bool = False, tags=None, **changes):
    def program():
        cluster = HyperPodCluster(
            NAME,
            HyperPodClusterArgs(
                **{
                    "settings": settings,
                    "execution_role_arn": ROLE_ARN,
                    "subnet_ids": SUBNETS[:1],
                    "security_group_ids": SECURITY_GROUPS,
                    "source_s3_uri": SOURCE,
                    "tags": {"Project": "unit"} if tags is None else tags,
                    **changes,
                }
            ),
        )
        pulumi.export("arn", cluster.arn)

    result = run_program(program, CONFIG, preview=preview)
    assert result.error is None, result.error
    return result


def groups(result) -> dict[str, dict]:
    return {g["instanceGroupName"]: g for g in result.one(CLUSTER).inputs["instanceGroups"]}


def test_every_group_becomes_one_instance_group_in_order():
    """Name, instance type and count of each configured group, in the configured order."""
    got = run_cluster().one(CLUSTER).inputs["instanceGroups"]
    assert [(g["instanceGroupName"], g["instanceType"], g["instanceCount"]) for g in got] == [
        (g.name, g.instance_type, g.count) for g in SETTINGS.instance_groups
    ]


def test_each_role_is_its_slurm_node_type_and_compute_groups_name_their_partition():
    got = groups(run_cluster())
    assert got[CONTROLLER.name]["slurmConfig"] == {"nodeType": "Controller"}
    assert got[LOGIN.name]["slurmConfig"] == {"nodeType": "Login"}
    assert got[GPU.name]["slurmConfig"] == {"nodeType": "Compute", "partitionNames": ["gpu"]}
    assert got[CPU.name]["slurmConfig"] == {"nodeType": "Compute"}  # no partition given: Slurm's default


def test_threads_storage_and_health_checks_only_where_set():
    """Threads per core, an extra EBS volume and deep health checks appear for the groups that set them, and
    are left to HyperPod's defaults elsewhere."""
    got = groups(run_cluster())
    ctl, login, gpu = got[CONTROLLER.name], got[LOGIN.name], got[GPU.name]
    assert ctl["threadsPerCore"] == 2 and gpu["threadsPerCore"] == 1
    assert ctl["instanceStorageConfigs"] == [{"ebsVolumeConfig": {"volumeSizeInGb": 200}}]
    assert gpu["instanceStorageConfigs"] == [{"ebsVolumeConfig": {"volumeSizeInGb": 500}}]
    assert gpu["onStartDeepHealthChecks"] == ["InstanceStress", "InstanceConnectivity"]
    for plain in (login, got[CPU.name]):
        assert {"threadsPerCore", "instanceStorageConfigs", "onStartDeepHealthChecks"}.isdisjoint(plain), plain
    assert "onStartDeepHealthChecks" not in ctl


def test_every_group_runs_the_lifecycle_entrypoint_as_the_execution_role():
    """Extended lifecycle mode: OnInitComplete from the given source, never OnCreate; each group runs as the
    given role."""
    for g in run_cluster().one(CLUSTER).inputs["instanceGroups"]:
        assert g["lifeCycleConfig"] == {"sourceS3Uri": SOURCE, "onInitComplete": "on_init_complete.sh"}
        assert "onCreate" not in g["lifeCycleConfig"]
        assert g["executionRole"] == ROLE_ARN


def test_slurm_orchestrator_with_automatic_recovery_by_default():
    inputs = run_cluster().one(CLUSTER).inputs
    assert inputs["clusterName"] == SETTINGS.name
    assert inputs["orchestrator"] == {"slurm": {"slurmConfigStrategy": "Managed"}}
    assert inputs["nodeRecovery"] == "Automatic"


def test_recovery_and_slurm_strategy_follow_the_settings():
    inputs = (
        run_cluster(dataclasses.replace(SETTINGS, node_recovery="None", slurm_config_strategy="Overwrite"))
        .one(CLUSTER)
        .inputs
    )
    assert inputs["nodeRecovery"] == "None"
    assert inputs["orchestrator"] == {"slurm": {"slurmConfigStrategy": "Overwrite"}}


def test_nodes_sit_in_the_given_subnets_with_the_given_security_groups():
    """The subnets as given, one or several, and the security groups as given."""
    vpc = run_cluster().one(CLUSTER).inputs["vpcConfig"]
    assert vpc == {"subnets": SUBNETS[:1], "securityGroupIds": SECURITY_GROUPS}
    assert run_cluster(subnet_ids=SUBNETS).one(CLUSTER).inputs["vpcConfig"]["subnets"] == SUBNETS


def test_tags_become_key_value_pairs_in_key_order():
    inputs = run_cluster(tags={"Owner": "team", "Environment": "dev", "Cluster": "demo"}).one(CLUSTER).inputs
    assert inputs["tags"] == [
        {"key": "Cluster", "value": "demo"},
        {"key": "Environment", "value": "dev"},
        {"key": "Owner", "value": "team"},
    ]


def test_cluster_waits_for_its_role_and_lifecycle_outputs():
    """The role ARN and the source URI may be outputs of other resources: the cluster depends on them."""

    def program():
        role = aws.iam.Role("nodes", assume_role_policy="{}")
        bucket = aws.s3.Bucket("scripts")
        HyperPodCluster(
            NAME,
            HyperPodClusterArgs(
                settings=SETTINGS,
                execution_role_arn=role.arn,
                subnet_ids=SUBNETS[:1],
                security_group_ids=SECURITY_GROUPS,
                source_s3_uri=bucket.bucket.apply(lambda b: f"s3://{b}/lifecycle"),
                tags={},
            ),
        )

    result = run_program(program, CONFIG, preview=False)
    assert result.error is None, result.error
    cluster, role, bucket = result.one(CLUSTER), result.named("nodes"), result.named("scripts")
    assert {role.urn, bucket.urn} <= set(cluster.dependencies)
    for g in cluster.inputs["instanceGroups"]:
        assert g["executionRole"] == role.outputs["arn"]
        assert g["lifeCycleConfig"]["sourceS3Uri"] == f"s3://{bucket.outputs['bucket']}/lifecycle"


def test_arn_output_is_the_clusters_arn_and_the_cluster_a_child_of_the_component():
    result = run_cluster()
    (component,) = result.of_type("hyperpod-platform:index:HyperPodCluster")
    cluster = result.one(CLUSTER)
    assert component.name == NAME and cluster.parent == component.urn and cluster.name == f"{NAME}-cluster"
    assert result.outputs["arn"] == cluster.outputs["clusterArn"]
    assert run_cluster(preview=True).outputs["arn"] == "<unknown>"
