"""Teams, accounts and the cluster policy in stack config (stack_config/teams.py): each mistake is one problem
naming its key, the value and the fix, reported before any resource is registered."""

import copy

import pytest

from tests.conftest import ROOT, P
from tools.harness import config_from_stack_file, run_program

STACK = ROOT / "Pulumi.eks-dev.yaml"


@pytest.fixture
def config() -> dict:
    return copy.deepcopy(config_from_stack_file(STACK))


def _team(c: dict, name: str) -> dict:
    return next(t for t in c[P + "teams"] if t["name"] == name)


def _slurm(c: dict) -> None:
    """The same teams on the Slurm dev stack."""
    dev = config_from_stack_file(ROOT / "Pulumi.dev.yaml")
    teams = c[P + "teams"]
    c.clear()
    c.update(copy.deepcopy(dev), **{P + "teams": teams})


BAD = {
    "quotas overbook an instance type": (
        lambda c: _team(c, "vision")["quota"][0].update(count=2),
        "teams",
        "book 3 ml.g5.8xlarge (research 1 + vision 2) but the cluster has 2",
    ),
    "upper-case team name": (lambda c: _team(c, "vision").update(name="Vision"), "teams[1].name", "use 'vision'"),
    "teams on a Slurm stack": (_slurm, "teams", "EKS-orchestrated"),
    "duplicate team names": (lambda c: _team(c, "vision").update(name="research"), "teams", "share this name"),
    "team name too long for the derived queue": (
        lambda c: _team(c, "vision").update(name="v" * 39),
        "teams[1].name",
        "at most 38",
    ),
    "unknown account alias": (
        lambda c: _team(c, "vision").update(account="visoin"),
        "teams[1].account",
        "accounts.visoin",
    ),
    "principal is the account root": (
        lambda c: _team(c, "vision").update(principalArn="arn:aws:iam::444444444444:root"),
        "teams[1].principalArn",
        "not its root",
    ),
    "principal in another account": (
        lambda c: _team(c, "vision").update(principalArn="arn:aws:iam::222222222222:role/MLEngineer"),
        "teams[1].principalArn",
        "444444444444",
    ),
    "no external id and no organization": (
        lambda c: c[P + "governance"].pop("organizationId"),
        "teams[1].externalId",
        "organizationId",
    ),
    "borrow limit on a lending team": (
        lambda c: _team(c, "vision").update(borrowLimit=20),
        "teams[1].borrowLimit",
        "Lend",
    ),
    "borrow limit above 500": (lambda c: _team(c, "research").update(borrowLimit=600), "teams[0].borrowLimit", "500"),
    "fair share weight above 100": (
        lambda c: _team(c, "research").update(fairShareWeight=101),
        "teams[0].fairShareWeight",
        "100",
    ),
    "unknown sharing strategy": (
        lambda c: _team(c, "vision").update(sharingStrategy="Borrow"),
        "teams[1].sharingStrategy",
        "LendAndBorrow",
    ),
    "quota for a type the cluster lacks": (
        lambda c: _team(c, "vision")["quota"][0].update(instanceType="ml.p4d.24xlarge"),
        "teams[1].quota[0].instanceType",
        "ml.g5.8xlarge",
    ),
    "quota resource with two amounts": (
        lambda c: _team(c, "vision")["quota"][1].update(count=1),
        "teams[1].quota[1]",
        "exactly one amount",
    ),
    "eleven priority classes": (
        lambda c: c[P + "governance"].update(priorityClasses=[{"name": f"c{i}", "weight": i} for i in range(11)]),
        "governance.priorityClasses",
        "at most 10",
    ),
    "priority weight above 100": (
        lambda c: c[P + "governance"]["priorityClasses"][0].update(weight=101),
        "governance.priorityClasses[0].weight",
        "100",
    ),
    "data account without a role to assume": (
        lambda c: c[P + "accounts"]["data"].pop("roleArn"),
        "accounts.data.roleArn",
        "needs a role",
    ),
    "data prefix with a trailing slash": (
        lambda c: _team(c, "research")["data"].update(prefix="research/"),
        "teams[0].data.prefix",
        "trailing",
    ),
    "account id with eleven digits": (
        lambda c: c[P + "accounts"]["vision"].update(id="44444444444"),
        "accounts.vision.id",
        "12-digit",
    ),
    "cluster account missing": (lambda c: c[P + "accounts"].pop("cluster"), "accounts.cluster", "required"),
    "role for the cluster account": (
        lambda c: c[P + "accounts"]["cluster"].update(roleArn="arn:aws:iam::123456789012:role/X"),
        "accounts.cluster.roleArn",
        "own credentials",
    ),
    "account id written as a number": (
        lambda c: c[P + "accounts"]["vision"].update(id=444444444444),
        "accounts.vision.id",
        "must be a string",
    ),
    "one account under two aliases": (
        lambda c: c[P + "accounts"]["vision"].update(id="222222222222"),
        "accounts.vision.id",
        "accounts.research",
    ),
}


@pytest.mark.parametrize("mistake", list(BAD), ids=list(BAD))
def test_team_config_mistake_is_one_problem_naming_key_value_and_fix(config, mistake):
    change, key, words = BAD[mistake]
    change(config)
    result = run_program(ROOT / "__main__.py", config, preview=True, stack="eks-dev")
    assert result.error is not None and not result.registrations, mistake
    lines = [ln for ln in str(result.error).splitlines() if ln.startswith("  - ")]
    mine = [ln for ln in lines if f"hyperpod-platform:{key} =" in ln]
    assert len(mine) == 1 and len(lines) == 1, (key, lines)  # one mistake, one problem
    assert words in mine[0] and ". Fix: " in mine[0], (words, mine)


def test_the_shipped_teams_parse_into_settings(config):
    import stack_config

    raw = {k.split(":", 1)[1]: v for k, v in config.items() if k.startswith(P)}
    s = stack_config.parse(raw, "us-east-1")
    assert [t.name for t in s.teams] == ["research", "vision"]
    research, vision = s.teams
    assert research.namespace == "hyperpod-ns-research" and research.data.account == "data"
    assert vision.data is None and vision.quota[1].vcpu == 4 and vision.external_id is None
    assert s.accounts["data"].role_arn == "arn:aws:iam::333333333333:role/PulumiDeploy"
    assert [c.name for c in s.governance.priority_classes] == ["inference", "training", "batch"]


# ---------------------------------------------------------------- a data prefix is a value that reaches IAM
HOSTILE_PREFIXES = {
    "a bare wildcard": "*",
    "a wildcard segment": "research/*",
    "a wildcard inside a segment": "res*",
    "a single-character wildcard": "researc?",
    "a parent segment": "..",
    "a parent segment inside": "research/../vision",
    "a current-directory segment": "research/./a",
    "an empty segment": "research//a",
    "a leading slash": "/research",
    "an IAM policy variable": "${aws:username}",
    "an IAM policy variable in a segment": "research/${aws:PrincipalTag/team}",
    "a space": "research data",
    "a newline": "research\na",
    "an empty prefix": "",
}


@pytest.mark.parametrize("prefix", list(HOSTILE_PREFIXES.values()), ids=list(HOSTILE_PREFIXES))
def test_a_data_prefix_that_would_widen_or_escape_iam_is_one_problem_naming_the_key(config, prefix):
    """Every prefix that is not literal segments of S3's safe characters (wildcards, '..', '.', empty segments,
    policy variables...) is refused before any resource: one problem, naming teams[0].data.prefix and the fix."""
    _team(config, "research")["data"]["prefix"] = prefix
    result = run_program(ROOT / "__main__.py", config, preview=True, stack="eks-dev")
    assert result.error is not None and not result.registrations, prefix
    lines = [ln for ln in str(result.error).splitlines() if ln.startswith("  - ")]
    assert len(lines) == 1, lines
    assert lines[0].startswith("  - hyperpod-platform:teams[0].data.prefix = "), lines
    assert "not an S3 key prefix" in lines[0] and ". Fix: " in lines[0], lines


def _vision_data(c: dict, prefix: str, bucket: str = "hp-eks-dev-training-data") -> None:
    _team(c, "vision")["data"] = {"account": "data", "bucket": bucket, "prefix": prefix}


@pytest.mark.parametrize(
    "research,vision", [("research", "research/a"), ("research/a", "research"), ("research", "research")]
)
def test_two_teams_whose_prefixes_nest_in_one_bucket_are_one_problem_naming_both(config, research, vision):
    _team(config, "research")["data"]["prefix"] = research
    _vision_data(config, vision)
    result = run_program(ROOT / "__main__.py", config, preview=True, stack="eks-dev")
    assert result.error is not None and not result.registrations
    lines = [ln for ln in str(result.error).splitlines() if ln.startswith("  - ")]
    assert len(lines) == 1, lines
    assert lines[0].startswith("  - hyperpod-platform:teams = "), lines
    assert "teams research and vision" in lines[0] and "hp-eks-dev-training-data" in lines[0], lines


@pytest.mark.parametrize(
    "vision,bucket",
    [("researchers", "hp-eks-dev-training-data"), ("vision", "hp-eks-dev-training-data"), ("research", "hp-other")],
)
def test_prefixes_that_do_not_nest_or_lie_in_other_buckets_are_accepted(config, vision, bucket):
    """``research`` and ``researchers`` share characters, not keys; the same prefix in another bucket is fine."""
    import stack_config

    _vision_data(config, vision, bucket)
    raw = {k.split(":", 1)[1]: v for k, v in config.items() if k.startswith(P)}
    s = stack_config.parse(raw, "us-east-1")
    assert [t.data.prefix for t in s.teams] == ["research", vision]
