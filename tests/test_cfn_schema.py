"""The CloudFormation schema check on real registered aws-native inputs."""

from __future__ import annotations

import copy
import json

import pytest

from tools import cfn_schema, preview


def test_dev_cluster_inputs_are_schema_valid(dev_run):
    """The dev stack's cluster, as registered, satisfies AWS::SageMaker::Cluster."""
    cluster = dev_run.one("aws-native:sagemaker:Cluster")
    assert list(cfn_schema.validate(cluster.type, cluster.inputs)) == []


def test_schema_catches_invalid_group_name(dev_run):
    """An underscore in an instance group name breaks the schema's InstanceGroupName pattern."""
    cluster = dev_run.one("aws-native:sagemaker:Cluster")
    inputs = copy.deepcopy(cluster.inputs)
    inputs["instanceGroups"][1]["instanceGroupName"] = "login_group"
    errors = list(cfn_schema.validate(cluster.type, inputs))
    assert len(errors) == 1 and "InstanceGroups/1/InstanceGroupName" in errors[0] and "login_group" in errors[0]


def test_schema_catches_range_and_enum(dev_run):
    """Numbers (sent as floats by the engine) are checked as integers against ranges and enums."""
    inputs = copy.deepcopy(dev_run.one("aws-native:sagemaker:Cluster").inputs)
    inputs["instanceGroups"][0]["threadsPerCore"] = 4.0
    inputs["nodeRecovery"] = "Sometimes"
    errors = "\n".join(cfn_schema.validate("aws-native:sagemaker:Cluster", inputs))
    assert "ThreadsPerCore: 4 is greater than the maximum of 2" in errors
    assert "NodeRecovery" in errors


def test_unknown_values_are_not_judged(dev_config, run_stack):
    """At preview, ARNs and ids are unknown; the check skips them rather than failing on the placeholder."""
    cluster = run_stack(dev_config, preview=True).one("aws-native:sagemaker:Cluster")
    assert cluster.inputs["instanceGroups"][0]["executionRole"] == "<unknown>"
    assert list(cfn_schema.validate(cluster.type, cluster.inputs)) == []


def test_direct_schema_read_matches_cfn_lint_manager():
    """Reading the bundled schema file gives exactly what cfn-lint's PROVIDER_SCHEMA_MANAGER returns."""
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    for name in ("AWS::SageMaker::Cluster", "AWS::SageMaker::ComputeQuota"):
        cfn_schema.load_schema.cache_clear()
        assert cfn_schema.load_schema(name) == PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", name).schema
    assert cfn_schema.cfn_type("aws-native:sagemaker:Cluster") == "AWS::SageMaker::Cluster"


# ---------------------------------------------------------------- Cloud Control resources

POLICY = {
    "Name": "hp-policy",
    "ClusterArn": "arn:aws:sagemaker:us-east-1:123456789012:cluster/abcdef123456",
    "SchedulerConfig": {
        "PriorityClasses": [{"Name": "inference", "Weight": 90}, {"Name": "training", "Weight": 50}],
        "FairShare": "Enabled",
        "IdleResourceSharing": "Disabled",
    },
    "Tags": [{"Key": "Project", "Value": "hyperpod-platform"}],
}


def _policy(**changes) -> dict:
    """Inputs of an aws.cloudcontrol.Resource for the cluster policy, as the harness records them."""
    state = copy.deepcopy(POLICY)
    state.update(changes)
    return {"typeName": "AWS::SageMaker::ClusterSchedulerConfig", "desiredState": json.dumps(state)}


def _scheduler(**changes) -> dict:
    return {**POLICY["SchedulerConfig"], **changes}


def test_a_valid_cluster_policy_desired_state_passes():
    """A Cloud Control resource is judged by its desired state against its typeName's schema: a valid
    ClusterSchedulerConfig gives no message."""
    assert cfn_schema.validated(cfn_schema.CLOUDCONTROL)
    assert list(cfn_schema.validate(cfn_schema.CLOUDCONTROL, _policy())) == []


@pytest.mark.parametrize(
    ("changes", "needles"),
    [
        ({"SchedulerConfig": _scheduler(FairShare="On")}, ["SchedulerConfig/FairShare", "'On' is not one of"]),
        (
            {"SchedulerConfig": _scheduler(PriorityClasses=[{"Name": f"p{i}", "Weight": i} for i in range(11)])},
            ["SchedulerConfig/PriorityClasses:", "is too long"],
        ),
        (
            {"SchedulerConfig": _scheduler(PriorityClasses=[{"Name": "urgent", "Weight": 101}])},
            ["SchedulerConfig/PriorityClasses/0/Weight: 101 is greater than the maximum of 100"],
        ),
        ({"SchedulerConfig": _scheduler(PriorityClasses=[{"Name": "Urgent_1", "Weight": 1}])}, ["0/Name", "Urgent_1"]),
        ({"ClusterArn": "arn:aws:sagemaker:us-east-1:123456789012:cluster/my-cluster"}, ["ClusterArn", "my-cluster"]),
        ({"Status": "Created"}, ["Status: read-only properties are not allowed"]),
        ({"Colour": "blue"}, ["Additional properties are not allowed ('Colour'"]),
    ],
    ids=["fair-share-on", "eleven-priority-classes", "weight-101", "class-name", "arn-by-name", "read-only", "extra"],
)
def test_a_bad_cluster_policy_fails_naming_the_property(changes, needles):
    errors = list(cfn_schema.validate(cfn_schema.CLOUDCONTROL, _policy(**changes)))
    assert len(errors) == 1, errors
    assert errors[0].startswith("AWS::SageMaker::ClusterSchedulerConfig ")
    for needle in needles:
        assert needle in errors[0]


def test_a_cloud_control_resource_without_a_required_property_fails():
    state = {k: v for k, v in POLICY.items() if k != "SchedulerConfig"}
    inputs = {"typeName": "AWS::SageMaker::ClusterSchedulerConfig", "desiredState": json.dumps(state)}
    assert list(cfn_schema.validate(cfn_schema.CLOUDCONTROL, inputs)) == [
        "AWS::SageMaker::ClusterSchedulerConfig (resource): 'SchedulerConfig' is a required property"
    ]


def test_an_unknown_desired_state_is_not_judged_and_a_secret_one_is():
    """At preview the desired state (built from the cluster's ARN) is unknown: nothing to judge. A secret
    desired state is judged by its value."""
    unknown = {"typeName": "AWS::SageMaker::ClusterSchedulerConfig", "desiredState": "<unknown>"}
    assert list(cfn_schema.validate(cfn_schema.CLOUDCONTROL, unknown)) == []
    secret = _policy(SchedulerConfig=_scheduler(FairShare="On"))
    secret["desiredState"] = {"<secret>": secret["desiredState"]}
    assert "SchedulerConfig/FairShare" in "".join(cfn_schema.validate(cfn_schema.CLOUDCONTROL, secret))


def test_a_type_without_a_schema_and_a_state_that_is_not_json_fail():
    nope = {"typeName": "AWS::SageMaker::NoSuchThing", "desiredState": "{}"}
    assert list(cfn_schema.validate(cfn_schema.CLOUDCONTROL, nope)) == [
        "AWS::SageMaker::NoSuchThing (typeName): no CloudFormation schema for this type in us-east-1"
    ]
    broken = {"typeName": "AWS::SageMaker::ClusterSchedulerConfig", "desiredState": "{Name: x"}
    (error,) = cfn_schema.validate(cfn_schema.CLOUDCONTROL, broken)
    assert error.startswith("AWS::SageMaker::ClusterSchedulerConfig (desiredState): is not JSON")


PROGRAM = """\
import json
import pulumi_aws as aws

state = {state}
aws.cloudcontrol.Resource("policy", type_name="AWS::SageMaker::ClusterSchedulerConfig", desired_state=json.dumps(state))
"""


@pytest.mark.parametrize("fair_share", ["Enabled", "On"])
def test_the_offline_preview_validates_cloud_control_desired_state(tmp_path, capsys, fair_share):
    """scripts/preview judges a Cloud Control resource where it judges aws-native ones: a valid policy passes
    (exit 0), FairShare "On" stops the preview with the schema exit code, naming the property."""
    state = {**POLICY, "SchedulerConfig": _scheduler(FairShare=fair_share)}
    program = tmp_path / "__main__.py"
    program.write_text(PROGRAM.format(state=repr(state)))
    config = tmp_path / "Pulumi.cc.yaml"
    config.write_text("config:\n  aws:region: us-east-1\n")
    args = ["--config-file", str(config), "--program", str(program), "--no-policy", "--quiet"]
    code = preview.main(args)
    err = capsys.readouterr().err
    if fair_share == "Enabled":
        assert code == preview.EXIT_OK, err
    else:
        assert code == preview.EXIT_SCHEMA
        assert "policy: AWS::SageMaker::ClusterSchedulerConfig SchedulerConfig/FairShare: 'On' is not one of" in err
