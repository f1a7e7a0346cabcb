"""The shipped EKS stack's teams end to end: the plan holds task governance (a quota per team, the cluster
policy), per-team namespace-scoped access, pod identity with a target role, and S3 access points created in the
data account; every data-account resource is created with the data account's provider, everything else with
the stack's own (the cluster account)."""

import copy
import json

import pytest

from tests.conftest import ROOT, P
from tools.harness import config_from_stack_file, run_program

STACK = ROOT / "Pulumi.eks-dev.yaml"
DATA_ACCOUNT = "333333333333"


@pytest.fixture(scope="module")
def run():
    result = run_program(
        ROOT / "__main__.py", copy.deepcopy(config_from_stack_file(STACK)), preview=False, stack="eks-dev"
    )
    assert result.error is None, result.error
    return result


def test_each_team_has_a_quota_and_the_cluster_has_one_policy(run):
    config = config_from_stack_file(STACK)
    teams = {t["name"] for t in config[P + "teams"]}
    quotas = run.of_type("aws-native:sagemaker:ComputeQuota")
    assert {q.inputs["computeQuotaTarget"]["teamName"] for q in quotas} == teams
    cluster_arn = run.one("aws-native:sagemaker:Cluster").outputs["clusterArn"]
    assert {q.inputs["clusterArn"] for q in quotas} == {cluster_arn}
    (policy,) = [
        r for r in run.of_type("aws:cloudcontrol/resource:Resource") if "ClusterSchedulerConfig" in r.inputs["typeName"]
    ]
    state = json.loads(policy.inputs["desiredState"])
    assert [c["Name"] for c in state["SchedulerConfig"]["PriorityClasses"]] == ["inference", "training", "batch"]
    addon = [
        a
        for a in run.of_type("aws:eks/addon:Addon")
        if a.inputs["addonName"] == "amazon-sagemaker-hyperpod-taskgovernance"
    ]
    assert len(addon) == 1 and addon[0].urn in policy.dependencies


def test_each_team_gets_edit_access_scoped_to_its_own_namespace(run):
    associations = run.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    scopes = {a.inputs["accessScope"]["namespaces"][0] for a in associations}
    assert scopes == {"hyperpod-ns-research", "hyperpod-ns-vision"}
    for a in associations:
        assert a.inputs["accessScope"]["type"] == "namespace" and len(a.inputs["accessScope"]["namespaces"]) == 1
        assert a.inputs["policyArn"].endswith("/AmazonEKSEditPolicy")
    assert set(run.outputs["teamKubeconfigCommands"]) == {"research", "vision"}
    assert all(
        "--role-arn arn:aws:iam::123456789012:role/" in c for c in run.outputs["teamKubeconfigCommands"].values()
    )


def test_pod_identity_reaches_the_data_account_through_a_target_role(run):
    (association,) = run.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    assert association.inputs["namespace"] == "hyperpod-ns-research"
    assert association.inputs["targetRoleArn"].startswith(f"arn:aws:iam::{DATA_ACCOUNT}:role/")


def _account_of(run, registration) -> str:
    """The account a resource is created in: its explicit provider's allowed account, else the stack's."""
    if not registration.provider:
        return "123456789012"
    provider_urn = registration.provider.rsplit("::", 1)[0]
    provider = next(r for r in run.registrations if r.urn == provider_urn)
    if provider.type != "pulumi:providers:aws":
        return "123456789012"  # the Kubernetes provider acts in the cluster (account) it was built from
    return json.loads(provider.inputs["allowedAccountIds"])[0]


def test_data_account_resources_use_the_data_accounts_provider_and_nothing_else_does(run):
    access_points = run.of_type("aws:s3/accessPoint:AccessPoint")
    assert len(access_points) == 1 and access_points[0].inputs["vpcConfiguration"]["vpcId"]
    delegation = {r.urn for r in run.of_type("hyperpod-platform:index:BucketDelegation")}
    target_roles = [r for r in run.of_type("aws:iam/role:Role") if r.name.endswith("-target-role")]
    in_data = {
        r.urn
        for r in run.registrations
        if r.type in ("aws:s3/accessPoint:AccessPoint", "aws:s3control/accessPointPolicy:AccessPointPolicy")
        or (r.type == "aws:s3/bucketPolicy:BucketPolicy" and r.parent in delegation)
        or "-target-" in r.name
        or (r.read and r.type.startswith("aws:s3/"))
    }
    assert in_data and target_roles
    for r in run.registrations:
        if r.custom and not r.type.startswith("pulumi:providers:"):
            expected = DATA_ACCOUNT if r.urn in in_data else "123456789012"
            assert _account_of(run, r) == expected, (r.name, r.type, r.provider)


def test_the_s3_endpoint_admits_the_data_accounts_principals(run):
    endpoint = run.one("aws:ec2/vpcEndpoint:VpcEndpoint")
    (statement,) = json.loads(endpoint.inputs["policy"])["Statement"]
    assert statement["Condition"]["StringEquals"]["aws:PrincipalAccount"] == ["123456789012", DATA_ACCOUNT]
