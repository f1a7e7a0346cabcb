"""TeamAccess built directly with small args under mocks: the team's cluster-access role trusts only the team's
principal on condition of its external id or the organization, its access entry gets AmazonEKSEditPolicy in
the team namespace only and the team's Kubernetes group, that group gets the RBAC its jobs need (custom
resources no access policy covers) in its namespace after the namespace exists, and the team's AWS profile
carries the external id that the kubeconfig line's profile passes."""

import json
import re
from dataclasses import replace

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pytest

from hyperpod_platform import TeamAccess, TeamAccessArgs
from hyperpod_platform._args import after
from hyperpod_platform.errors import ConfigError
from hyperpod_platform.settings import QuotaResourceSettings, TeamSettings
from tools import k8s_schema
from tools.harness import ACCOUNT, run_program

CONFIG = {"aws:region": "us-east-1", "aws-native:region": "us-east-1"}
TEAM_ACCOUNT = "222222222222"
PRINCIPAL = f"arn:aws:iam::{TEAM_ACCOUNT}:role/DataScientist"
ORG = "o-abcdefghij"
QUOTA = (QuotaResourceSettings(instance_type="ml.g5.8xlarge", count=1),)
TEAM = TeamSettings(name="team-a", quota=QUOTA, account="research", principal_arn=PRINCIPAL, external_id="hp-team-a")
EDIT = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy"


RBAC = "kubernetes:rbac.authorization.k8s.io/v1:"
GROUP = "hyperpod-ns-team-a-namespace-level-group"
# awscli customizations/eks (aws/aws-cli@07c4fe366b49c4dde816d674f4941134fc432673): update_kubeconfig.py's
# ARG_TABLE, and the global options; get_token.py takes only --cluster-name, --role-arn and --cluster-id.
UPDATE_KUBECONFIG_FLAGS = {
    "--name", "--kubeconfig", "--role-arn", "--proxy-url", "--dry-run", "--verbose", "--alias", "--user-alias",
    "--assume-role-arn", "--region", "--profile",
}  # fmt: skip


def _args(team=TEAM, **changes):
    fields = dict(
        team=team,
        team_account_id=TEAM_ACCOUNT,
        eks_cluster_name="hp-eks",
        region="us-east-1",
        tags={"Project": "hyperpod-platform"},
        organization_id=None,
        namespace=team.namespace,
    )
    fields.update(changes)
    return TeamAccessArgs(**fields)


def _with_provider(args):
    """``args`` with the cluster's Kubernetes provider (a resource: made inside the program)."""
    provider = k8s.Provider("k8s", kubeconfig="{}")
    if isinstance(args, dict):
        return {"provider": provider, **args}
    return args if args.provider is not None else replace(args, provider=provider)


def _run(args=None, preview=False, name="hp-team-a", exports=True):
    def program():
        access = TeamAccess(name, _with_provider(args or _args()))
        if exports:
            pulumi.export("role_arn", access.role_arn)
            pulumi.export("aws_profile", access.aws_profile)
            pulumi.export("kubeconfig_command", access.kubeconfig_command)

    result = run_program(program, CONFIG, preview=preview)
    assert result.error is None, result.error
    return result


def _team(**changes):
    return replace(TEAM, **changes)


@pytest.mark.parametrize("preview", [False, True], ids=["up", "preview"])
def test_role_trusts_only_the_team_principal_with_its_external_id(preview):
    role = _run(preview=preview).one("aws:iam/role:Role")
    assert json.loads(role.inputs["assumeRolePolicy"]) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "TeamPrincipalOnly",
                "Effect": "Allow",
                "Principal": {"AWS": PRINCIPAL},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": "hp-team-a"}},
            }
        ],
    }
    assert role.inputs["name"] == "hp-team-a-access"
    assert role.provider == ""  # the cluster account: the default provider


def test_without_an_external_id_the_trust_requires_the_organization():
    role = _run(_args(team=_team(external_id=None), organization_id=ORG)).one("aws:iam/role:Role")
    (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert statement["Principal"] == {"AWS": PRINCIPAL}
    assert statement["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": ORG}}


@pytest.mark.parametrize("preview", [False, True], ids=["up", "preview"])
def test_access_entry_gets_the_edit_policy_in_the_team_namespace_only(preview):
    result = _run(preview=preview)
    role = result.one("aws:iam/role:Role")
    entry = result.one("aws:eks/accessEntry:AccessEntry")
    assert entry.inputs["type"] == "STANDARD" and entry.inputs["clusterName"] == "hp-eks"
    assert role.urn in entry.dependencies
    association = result.one("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    assert association.inputs["policyArn"] == EDIT
    assert association.inputs["accessScope"] == {"type": "namespace", "namespaces": ["hyperpod-ns-team-a"]}
    assert association.inputs["clusterName"] == "hp-eks"
    assert entry.urn in association.dependencies  # a policy association needs its access entry
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/hp-team-a-access"  # from its name: known in a preview too
    assert entry.inputs["principalArn"] == role_arn == association.inputs["principalArn"]
    assert all(r.provider == "" for r in result.registrations if r.custom and r.type.startswith("aws:"))


@pytest.mark.parametrize("preview", [False, True], ids=["up", "preview"])
def test_the_profile_carries_the_external_id_and_the_kubeconfig_line_uses_the_profile(preview):
    """Defect 8: `aws eks get-token --role-arn` (what update-kubeconfig --role-arn writes) cannot pass the external
    id the trust requires. The team's profile assumes the role with it; the kubeconfig line names the profile
    and passes only flags update-kubeconfig has, never --role-arn."""
    outputs = _run(preview=preview).outputs
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/hp-team-a-access"
    assert outputs["role_arn"] == role_arn
    assert outputs["aws_profile"] == (
        f"[profile hp-team-a]\nrole_arn = {role_arn}\nexternal_id = hp-team-a\nsource_profile = default\n"
        "region = us-east-1\n"
    )
    command = outputs["kubeconfig_command"]
    assert command == "aws eks update-kubeconfig --name hp-eks --region us-east-1 --profile hp-team-a --alias team-a"
    flags = set(re.findall(r"--[a-z-]+", command))
    assert flags <= UPDATE_KUBECONFIG_FLAGS and "--role-arn" not in flags


def test_without_an_external_id_the_profile_has_none_and_takes_the_given_source_profile():
    args = _args(team=_team(external_id=None), organization_id=ORG, source_profile="team-a-sso")
    profile = _run(args).outputs["aws_profile"]
    assert "external_id" not in profile and "source_profile = team-a-sso\n" in profile


@pytest.mark.parametrize("preview", [False, True], ids=["up", "preview"])
def test_team_group_gets_its_jobs_rbac_in_its_namespace_and_only_reads_queues_cluster_wide(preview):
    """Defect 6: AmazonEKSEditPolicy covers no custom resource. The entry carries the team's group, bound to a Role
    in the team namespace for PyTorchJobs, batch Jobs, pods, Kueue workloads and claims, and to a ClusterRole
    that only reads Kueue's cluster queues, flavors and priority classes; all through the cluster's provider."""
    result = _run(preview=preview)
    entry = result.one("aws:eks/accessEntry:AccessEntry")
    assert entry.inputs["kubernetesGroups"] == [GROUP]
    role, binding = result.one(RBAC + "Role"), result.one(RBAC + "RoleBinding")
    assert role.inputs["metadata"]["namespace"] == binding.inputs["metadata"]["namespace"] == "hyperpod-ns-team-a"
    rules = {
        (g, r): set(rule["verbs"])
        for rule in role.inputs["rules"]
        for g in rule["apiGroups"]
        for r in rule["resources"]
    }
    assert {"create", "get", "list", "watch", "delete"} <= rules[("kubeflow.org", "pytorchjobs")]
    assert {"create", "delete"} <= rules[("batch", "jobs")] and "create" in rules[("", "pods")]
    assert {"get", "list", "watch"} <= rules[("kueue.x-k8s.io", "workloads")]
    assert "get" in rules[("", "persistentvolumeclaims")]
    assert binding.inputs["subjects"] == [{"kind": "Group", "name": GROUP, "apiGroup": "rbac.authorization.k8s.io"}]
    assert (
        binding.inputs["roleRef"]["kind"] == "Role"
        and binding.inputs["roleRef"]["name"] == role.inputs["metadata"]["name"]
    )
    cluster_role, cluster_binding = result.one(RBAC + "ClusterRole"), result.one(RBAC + "ClusterRoleBinding")
    (read,) = cluster_role.inputs["rules"]
    assert read["apiGroups"] == ["kueue.x-k8s.io"] and set(read["verbs"]) == {"get", "list", "watch"}
    assert {"clusterqueues", "resourceflavors", "workloadpriorityclasses"} == set(read["resources"])
    assert cluster_binding.inputs["subjects"] == binding.inputs["subjects"]
    assert cluster_binding.inputs["roleRef"]["name"] == cluster_role.inputs["metadata"]["name"]
    provider = result.one("pulumi:providers:kubernetes")
    k8s_resources = [r for r in result.registrations if r.type.startswith("kubernetes:")]
    assert len(k8s_resources) == 4 and all(r.provider.startswith(provider.urn + "::") for r in k8s_resources)


def test_rbac_manifests_validate_against_the_kubernetes_schema():
    result = _run()
    resources = [(r.name, r.type, r.inputs) for r in result.registrations if r.type.startswith(RBAC)]
    assert len(resources) == 4
    for version in ("1.31", "1.32", "1.33"):
        assert k8s_schema.validate(resources, version) == []


def test_the_namespaced_rbac_waits_for_the_namespace_and_the_role_arn_for_the_rbac():
    """SageMaker creates hyperpod-ns-<team> with the team's ComputeQuota: the Role and its binding take the
    namespace as a value carrying the quota, and whoever takes the role ARN waits for the RBAC."""

    def program():
        quota = aws.ssm.Parameter("quota", type="String", insecure_value="stands for the ComputeQuota")
        access = TeamAccess("hp-team-a", _with_provider(_args(namespace=after(TEAM.namespace, [quota]))))
        aws.ssm.Parameter("consumer", type="String", insecure_value=access.role_arn)

    result = run_program(program, CONFIG, preview=False)
    assert result.error is None, result.error
    quota = result.named("quota").urn
    assert quota in result.one(RBAC + "Role").dependencies
    assert result.one(RBAC + "Role").urn in result.one(RBAC + "RoleBinding").dependencies  # so after it too
    assert {r.urn for r in result.registrations if r.type.startswith(RBAC)} <= set(
        result.named("consumer").dependencies
    )


def test_role_arn_waits_for_the_access_entry_and_its_policy():
    def program():
        access = TeamAccess("hp-team-a", _with_provider(_args()))
        aws.ssm.Parameter("consumer", type="String", insecure_value=access.role_arn)

    result = run_program(program, CONFIG, preview=False)
    assert result.error is None, result.error
    waited = {
        result.one("aws:eks/accessEntry:AccessEntry").urn,
        result.one("aws:eks/accessPolicyAssociation:AccessPolicyAssociation").urn,
    }
    assert waited <= set(result.named("consumer").dependencies)


def test_a_long_component_name_gives_a_role_name_iam_accepts():
    name = "hyperpod-platform-production-cluster-team-" + "x" * 40
    role = _run(name=name, exports=False).one("aws:iam/role:Role")
    assert len(role.inputs["name"]) <= 64 and role.inputs["name"].startswith("hyperpod-platform-production")


def test_args_may_be_a_mapping():
    args = {
        "team": TEAM,
        "team_account_id": TEAM_ACCOUNT,
        "eks_cluster_name": "hp-eks",
        "region": "us-east-1",
        "tags": {},
        "namespace": "hyperpod-ns-team-a",
    }
    assert _run(args, exports=False).one("aws:eks/accessEntry:AccessEntry")


@pytest.mark.parametrize(
    ("args", "path", "why"),
    [
        (_args(team=_team(principal_arn=f"arn:aws:iam::{TEAM_ACCOUNT}:root")), "team.principal_arn", "root"),
        (_args(team=_team(principal_arn=f"arn:aws:iam::{TEAM_ACCOUNT}:user/alice")), "team.principal_arn", "user"),
        (_args(team=_team(principal_arn="arn:aws:iam::999999999999:role/X")), "team.principal_arn", "not of team"),
        (_args(team=_team(principal_arn=f"arn:aws:iam::{TEAM_ACCOUNT}:role/*")), "team.principal_arn", "not the ARN"),
        (_args(team=_team(external_id=None)), "organization_id", "is required"),
        (_args(organization_id="org-1"), "organization_id", "not an AWS Organizations id"),
        (_args(team=_team(external_id="x")), "team.external_id", "not an STS external id"),
        (_args(team=_team(name="Team_A")), "team.name", "team names are lowercase"),
        (_args(team=_team(name="t" * 53)), "team.name", "must fit Kubernetes"),
        (_args(team_account_id="2222"), "team_account_id", "not an AWS account id"),
        (_args(eks_cluster_name="-bad"), "eks_cluster_name", "not an EKS cluster name"),
        (_args(region="mars-1"), "region", "not an AWS region"),
        (_args(namespace="hyperpod-ns-team-b"), "namespace", "not team team-a's namespace"),
        (_args(namespace=None), "namespace", "is required"),
        (_args(source_profile="my profile"), "source_profile", "not an AWS config profile name"),
        (_args(provider=False), "provider", "is required"),
    ],
)
def test_bad_args_are_refused_before_anything_is_registered(args, path, why):
    def program():
        TeamAccess("hp-team-a", replace(args, provider=None) if args.provider is False else _with_provider(args))

    result = run_program(program, CONFIG, preview=True)
    assert isinstance(result.error, ConfigError), result.error
    paths = {p.path for p in result.error.problems}
    assert f"TeamAccess.{path}" in paths, paths
    assert why in str(result.error)
    assert [r.type for r in result.registrations] in ([], ["pulumi:providers:kubernetes"])  # the test's provider
