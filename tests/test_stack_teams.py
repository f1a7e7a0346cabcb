"""The shipped EKS stack's teams end to end: the plan holds task governance (a quota per team, the cluster
policy), per-team namespace-scoped access, pod identity with a target role, and S3 access points created in the
data account; every data-account resource is created with the data account's provider, everything else with
the stack's own (the cluster account)."""

import copy
import json
import re

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


# awscli customizations/eks/update_kubeconfig.py ARG_TABLE and the global options
# (aws/aws-cli@07c4fe366b49c4dde816d674f4941134fc432673); get_token.py has only --cluster-name, --role-arn and
# --cluster-id, so a kubeconfig made with --role-arn runs get-token without any external id.
UPDATE_KUBECONFIG_FLAGS = {
    "--name", "--kubeconfig", "--role-arn", "--proxy-url", "--dry-run", "--verbose", "--alias", "--user-alias",
    "--assume-role-arn", "--region", "--profile",
}  # fmt: skip


def test_each_team_whose_trust_needs_an_external_id_gets_a_profile_carrying_it(run):
    """Defect 8: the research team's trust requires its external id, which `aws eks get-token --role-arn` cannot
    pass. Each team gets an AWS profile assuming its role (with the external id where its trust requires one),
    and its kubeconfig line uses that profile with flags update-kubeconfig has, never --role-arn."""
    config = config_from_stack_file(STACK)
    teams = {t["name"]: t for t in config[P + "teams"]}
    roles, profiles = run.outputs["teamAccessRoleArns"], run.outputs["teamAwsProfiles"]
    commands = run.outputs["teamKubeconfigCommands"]
    assert set(profiles) == set(commands) == set(teams)
    for name in teams:
        role = next(r for r in run.of_type("aws:iam/role:Role") if r.inputs.get("name") == roles[name].split("/")[-1])
        (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
        needs = statement["Condition"]["StringEquals"].get("sts:ExternalId")
        lines = profiles[name].splitlines()
        assert f"role_arn = {roles[name]}" in lines
        assert (f"external_id = {needs}" in lines) if needs else not any(x.startswith("external_id") for x in lines)
        profile = lines[0].removeprefix("[profile ").removesuffix("]")
        flags = re.findall(r"--[a-z-]+", commands[name])
        assert set(flags) <= UPDATE_KUBECONFIG_FLAGS and "--role-arn" not in flags, commands[name]
        assert f"--profile {profile}" in commands[name]
    assert teams["research"].get("externalId") and "external_id = hp-research-7f3a" in profiles["research"]


def test_each_team_namespace_gets_its_jobs_rbac_and_a_claim_after_its_quota(run):
    """Defect 6 on the shipped stack: each team's group is bound in its own namespace to a Role for PyTorchJobs,
    and each team namespace has an FSx claim; both wait for the team's ComputeQuota (which creates the namespace)."""
    quotas = {q.inputs["computeQuotaTarget"]["teamName"]: q for q in run.of_type("aws-native:sagemaker:ComputeQuota")}
    roles = run.of_type("kubernetes:rbac.authorization.k8s.io/v1:Role")
    claims = run.of_type("kubernetes:core/v1:PersistentVolumeClaim")
    for team, quota in quotas.items():
        namespace = f"hyperpod-ns-{team}"
        (role,) = [r for r in roles if r.inputs["metadata"]["namespace"] == namespace]
        assert any("pytorchjobs" in rule["resources"] and "create" in rule["verbs"] for rule in role.inputs["rules"])
        (claim,) = [c for c in claims if c.inputs["metadata"]["namespace"] == namespace]
        for resource in (role, claim):
            assert _waits_for(run, resource, quota.urn), (resource.name, team)
    entries = {e.inputs["principalArn"]: e for e in run.of_type("aws:eks/accessEntry:AccessEntry")}
    assert all(len(e.inputs["kubernetesGroups"]) == 1 for e in entries.values())


def _waits_for(run, resource, urn: str) -> bool:
    """Whether ``resource`` depends on ``urn``, directly or through the resources it depends on."""
    by_urn = {r.urn: r for r in run.registrations}
    seen, todo = set(), list(resource.dependencies)
    while todo:
        current = todo.pop()
        if current == urn:
            return True
        if current not in seen and current in by_urn:
            seen.add(current)
            todo.extend(by_urn[current].dependencies)
    return False


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
    (statement,) = [s for s in json.loads(endpoint.inputs["policy"])["Statement"] if "Condition" in s]
    assert statement["Condition"]["StringEquals"]["aws:PrincipalAccount"] == ["123456789012", DATA_ACCOUNT]
