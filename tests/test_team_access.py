"""TeamAccess built directly with small args under mocks: the team's cluster-access role trusts only the team's
principal on condition of its external id or the organization, its access entry gets AmazonEKSEditPolicy in
the team namespace only, and the kubeconfig line names the cluster, region, role and team."""

import json
from dataclasses import replace

import pulumi
import pulumi_aws as aws
import pytest

from hyperpod_platform import TeamAccess, TeamAccessArgs
from hyperpod_platform.errors import ConfigError
from hyperpod_platform.settings import QuotaResourceSettings, TeamSettings
from tools.harness import ACCOUNT, run_program

CONFIG = {"aws:region": "us-east-1", "aws-native:region": "us-east-1"}
TEAM_ACCOUNT = "222222222222"
PRINCIPAL = f"arn:aws:iam::{TEAM_ACCOUNT}:role/DataScientist"
ORG = "o-abcdefghij"
QUOTA = (QuotaResourceSettings(instance_type="ml.g5.8xlarge", count=1),)
TEAM = TeamSettings(name="team-a", quota=QUOTA, account="research", principal_arn=PRINCIPAL, external_id="hp-team-a")
EDIT = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy"


def _args(team=TEAM, **changes):
    fields = dict(
        team=team,
        team_account_id=TEAM_ACCOUNT,
        eks_cluster_name="hp-eks",
        region="us-east-1",
        tags={"Project": "hyperpod-platform"},
        organization_id=None,
    )
    fields.update(changes)
    return TeamAccessArgs(**fields)


def _run(args=None, preview=False, name="hp-team-a", exports=True):
    def program():
        access = TeamAccess(name, args or _args())
        if exports:
            pulumi.export("role_arn", access.role_arn)
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
    assert all(r.provider == "" for r in result.registrations if r.custom)


@pytest.mark.parametrize("preview", [False, True], ids=["up", "preview"])
def test_outputs_are_the_role_arn_and_a_ready_kubeconfig_line(preview):
    outputs = _run(preview=preview).outputs
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/hp-team-a-access"
    assert outputs["role_arn"] == role_arn
    assert outputs["kubeconfig_command"] == (
        f"aws eks update-kubeconfig --name hp-eks --region us-east-1 --role-arn {role_arn} --alias team-a"
    )


def test_role_arn_waits_for_the_access_entry_and_its_policy():
    def program():
        access = TeamAccess("hp-team-a", _args())
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
        (_args(team=_team(name="Team_A")), "team.name", "not a team name"),
        (_args(team=_team(name="t" * 53)), "team.name", "longer than"),
        (_args(team_account_id="2222"), "team_account_id", "not an AWS account id"),
        (_args(eks_cluster_name="-bad"), "eks_cluster_name", "not an EKS cluster name"),
        (_args(region="mars-1"), "region", "not an AWS region"),
    ],
)
def test_bad_args_are_refused_before_anything_is_registered(args, path, why):
    def program():
        TeamAccess("hp-team-a", args)

    result = run_program(program, CONFIG, preview=True)
    assert isinstance(result.error, ConfigError), result.error
    paths = {p.path for p in result.error.problems}
    assert f"TeamAccess.{path}" in paths, paths
    assert why in str(result.error)
    assert result.registrations == []
