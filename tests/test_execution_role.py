"""ExecutionRole under mocks: trust, managed policy, and an inline policy scoped as tightly as AWS allows."""

from __future__ import annotations

import json

import parliament

from hyperpod_platform.execution_role import DESCRIBE_ACTIONS, parameter_arn


def _role(dev_run):
    return next(r for r in dev_run.of_type("aws:iam/role:Role") if r.name == "hp-dev-role")


def _inline(dev_run):
    return json.loads(dev_run.named("hp-dev-vpc-and-lifecycle").inputs["policy"])


def test_trusts_sagemaker_in_this_account_only(dev_run):
    """Only SageMaker may assume the role, and only for clusters of this account."""
    (stmt,) = json.loads(_role(dev_run).inputs["assumeRolePolicy"])["Statement"]
    assert stmt["Principal"] == {"Service": "sagemaker.amazonaws.com"} and stmt["Action"] == "sts:AssumeRole"
    assert stmt["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    assert stmt["Condition"]["ArnLike"] == {"aws:SourceArn": "arn:aws:sagemaker:us-east-1:123456789012:cluster/*"}


def test_has_the_hyperpod_managed_policy(dev_run):
    """AmazonSageMakerClusterInstanceRolePolicy is attached to the role."""
    att = dev_run.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert att.inputs["policyArn"] == "arn:aws:iam::aws:policy/AmazonSageMakerClusterInstanceRolePolicy"
    assert att.inputs["role"] == _role(dev_run).outputs["name"]


def test_no_wildcard_where_a_scope_exists(dev_run):
    """Resource "*" only for EC2 Describe calls (they take no resource scope); no Action wildcards."""
    for stmt in _inline(dev_run)["Statement"]:
        actions = stmt["Action"] if isinstance(stmt["Action"], list) else [stmt["Action"]]
        assert not any("*" in a for a in actions), stmt
        if stmt["Resource"] == "*":
            assert actions == DESCRIBE_ACTIONS and all(a.startswith("ec2:Describe") for a in actions)


def test_eni_actions_scoped_to_cluster_network(dev_run):
    """ENIs are created only in the cluster's subnets with its security group, and managed only in its VPC."""
    stmts = {s["Sid"]: s for s in _inline(dev_run)["Statement"]}
    subnet = dev_run.named("hp-dev-private-0").outputs["arn"]
    sg = dev_run.named("hp-dev-cluster-sg").outputs["arn"]
    vpc = dev_run.one("aws:ec2/vpc:Vpc").outputs["arn"]
    create = stmts["CreateEniInClusterSubnets"]["Resource"]
    assert subnet in create and sg in create
    assert dev_run.named("hp-dev-private-1").outputs["arn"] not in create  # placement: primary subnet only
    assert stmts["ManageEnisInClusterVpc"]["Condition"] == {"ArnEquals": {"ec2:Vpc": vpc}}


def test_lifecycle_bucket_read_only(dev_run):
    """Read-only access (GetObject, ListBucket) to the lifecycle prefix of the lifecycle bucket, nothing else."""
    bucket = dev_run.one("aws:s3/bucket:Bucket").outputs["arn"]
    s3 = [s for s in _inline(dev_run)["Statement"] if str(s["Action"]).startswith("s3:")]
    assert {(s["Action"], json.dumps(s["Resource"])) for s in s3} == {
        ("s3:GetObject", json.dumps(f"{bucket}/lifecycle/*")),
        ("s3:ListBucket", json.dumps(bucket)),
    }


def test_parliament_finds_nothing(dev_run):
    """The IAM linter has no finding on the inline policy (it once caught DetachNetworkInterface's scope)."""
    findings = parliament.analyze_policy_string(json.dumps(_inline(dev_run))).findings
    assert [(f.issue, f.detail) for f in findings] == []


def test_reads_exactly_the_directory_connection_parameter(dev_config, run_stack, dev_run):
    """ssm:GetParameter on the one connection parameter's ARN, built from its name, the account and the
    region (invokes), so the policy, and the cluster waiting for it, do not depend on the parameter; with the
    directory off there is no SSM grant at all."""
    ssm = [s for s in _inline(dev_run)["Statement"] if "ssm:" in json.dumps(s["Action"])]
    name = dev_run.one("aws:ssm/parameter:Parameter").inputs["name"]
    assert name == "/hyperpod-platform/hp-dev/directory"
    assert ssm == [
        {
            "Sid": "ReadNamedParameters",
            "Effect": "Allow",
            "Action": "ssm:GetParameter",
            "Resource": ["arn:aws:ssm:us-east-1:123456789012:parameter/hyperpod-platform/hp-dev/directory"],
        }
    ]
    param = dev_run.one("aws:ssm/parameter:Parameter").urn
    inline = dev_run.named("hp-dev-vpc-and-lifecycle")
    assert param not in inline.dependencies and param not in sum(inline.property_dependencies.values(), [])
    dev_config["hyperpod-platform:directory"] = {"enabled": False}
    result = run_stack(dev_config)
    assert result.error is None, result.error
    assert "ssm:" not in result.named("hp-dev-vpc-and-lifecycle").inputs["policy"]


def test_parameter_arn_from_a_name():
    assert (
        parameter_arn("aws-cn", "cn-north-1", "123456789012", "/a/b")
        == "arn:aws-cn:ssm:cn-north-1:123456789012:parameter/a/b"
    )
    assert (
        parameter_arn("aws", "us-east-1", "123456789012", "plain")
        == "arn:aws:ssm:us-east-1:123456789012:parameter/plain"
    )
