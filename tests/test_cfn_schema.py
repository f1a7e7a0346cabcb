"""The CloudFormation schema check on real registered aws-native inputs."""

from __future__ import annotations

import copy

from tools import cfn_schema


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
