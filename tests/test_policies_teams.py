"""The teams-across-accounts guardrails, driven through the engine's analyzer protocol like
tests/test_policies.py, and the policy harness handing each resource's provider to the pack as the engine does.

team-access-namespace-scoped, cross-account-trust-conditioned, access-points-vpc-only,
bucket-wildcard-delegation-only and quotas-fit-capacity on the programs of tests/policy_programs/teams.py
(three accounts: cluster, scientists, data; data-account resources created with a second ``aws.Provider``).
Every program runs under mocks (tools.harness.run_program) and the pack judges it as a subprocess over gRPC
(tools.policy_harness), at preview (computed values unknown) and with values resolved as at `up`.
"""

from __future__ import annotations

import copy
import json

import pytest

from policies.rules._lib import Provider
from tests.conftest import ROOT
from tests.policy_programs import teams as programs
from tests.policy_programs.teams import (
    DATA,
    NOTES_AT_PREVIEW,
    TEAM_DATA_COMPLIANT,
    TEAMS_COMPLIANT,
    TEAMS_UNKNOWN_AT_PREVIEW,
    TEAMS_VIOLATING,
)
from tests.policy_support import REGION, guardrails_only, judge, program_id
from tools.harness import config_from_stack_file, run_program
from tools.policy_harness import PROD_CONFIG, load_policy_config

PROD = load_policy_config(PROD_CONFIG)
TEAM_RULES = {
    "team-access-namespace-scoped": "stack",
    "cross-account-trust-conditioned": "stack",
    "access-points-vpc-only": "resource",
    "bucket-wildcard-delegation-only": "resource",
    "quotas-fit-capacity": "stack",
    "team-data-own-prefix": "stack",
}
ALL_PROGRAMS = sorted(
    {p for table in (TEAMS_COMPLIANT, TEAMS_VIOLATING) for progs in table.values() for p in progs}
    | {p for p, _ in TEAMS_UNKNOWN_AT_PREVIEW}
    | set(TEAM_DATA_COMPLIANT),
    key=lambda p: p.__name__,
)


def only(report, rule):
    (d,) = report.by_policy(rule)
    return d


# ---------------------------------------------------------------- the pack
def test_team_rules_are_declared_mandatory_with_described_config(pack):
    """The five rules: their policy type (stack rules see other resources: roles, clusters), mandatory by
    default and in prod.json, a config schema whose options have defaults and descriptions."""
    from google.protobuf import json_format
    from pulumi.runtime.proto import analyzer_pb2

    policies = {p.name: p for p in pack.info().policies}
    for name, kind in TEAM_RULES.items():
        p = policies[name]
        expected = analyzer_pb2.POLICY_TYPE_STACK if kind == "stack" else analyzer_pb2.POLICY_TYPE_RESOURCE
        assert p.policy_type == expected, name
        assert analyzer_pb2.EnforcementLevel.Name(p.enforcementLevel) == "MANDATORY", name
        assert p.description and p.remediation_steps, name
        schema = json_format.MessageToDict(p.configSchema)
        assert all("default" in prop and "description" in prop for prop in schema["properties"].values()), name
        entry = PROD[name]
        assert (entry if isinstance(entry, str) else entry["enforcementLevel"]) == "mandatory", name
    assert PROD["team-access-namespace-scoped"]["adminPrincipals"] == ["arn:aws:iam::*:role/PlatformAdmin"]


# ---------------------------------------------------------------- every rule: compliant and violating programs
@pytest.mark.parametrize(
    "rule,program", [(r, p) for r, progs in TEAMS_COMPLIANT.items() for p in progs], ids=program_id
)
def test_compliant_teams_program_passes(pack, rule, program):
    """No violation of its rule nor of any other under prod.json, at preview and with values resolved; nothing
    left unjudged once resolved, nor at preview unless a value only exists once created (NOTES_AT_PREVIEW)."""
    for preview in (True, False):
        report = judge(pack, program, preview=preview, policy_config=guardrails_only(PROD))
        assert report.violations == [], [str(d) for d in report.violations]
        if preview and program in NOTES_AT_PREVIEW:
            assert report.by_policy(rule) and all(d.cannot_judge for d in report.by_policy(rule))
        else:
            assert report.notes == [], [str(d) for d in report.notes]


@pytest.mark.parametrize(
    "rule,program", [(r, p) for r, progs in TEAMS_VIOLATING.items() for p in progs], ids=program_id
)
def test_violating_teams_program_is_reported(pack, rule, program):
    """Reported by its rule on a resource of the program, mandatory by default and under prod.json, with values
    resolved as at `up`."""
    result = run_program(program, REGION, preview=False)
    assert result.error is None, result.error
    urns = {r.urn for r in result.registrations}
    default = pack.analyze(result.registrations, outputs=result.outputs, config=REGION).by_policy(rule)
    assert default, f"{rule} did not report {program.__name__}"
    assert all(d.urn in urns and not d.cannot_judge and d.mandatory for d in default), [str(d) for d in default]
    prod = pack.analyze(result.registrations, outputs=result.outputs, config=REGION, policy_config=PROD)
    assert prod.by_policy(rule) and {d.level for d in prod.by_policy(rule)} == {"mandatory"}


@pytest.mark.parametrize("program", ALL_PROGRAMS, ids=program_id)
def test_preview_never_crashes_a_teams_rule(pack, program):
    report = judge(pack, program, preview=True, policy_config=PROD)
    for d in report.notes:
        assert d.level == "advisory" and d.message.startswith("can't run policy")


@pytest.mark.parametrize(
    "rule,program", [(r, p) for r, progs in TEAMS_VIOLATING.items() for p in progs], ids=program_id
)
def test_preview_never_passes_a_teams_violation_silently(pack, rule, program):
    """At preview a violation is reported, or, where it rests on a value not known yet, noted."""
    report = judge(pack, program, preview=True)
    assert report.by_policy(rule), f"{rule} was silent on {program.__name__} at preview"


@pytest.mark.parametrize("program,rule", TEAMS_UNKNOWN_AT_PREVIEW, ids=program_id)
def test_unknown_at_preview_is_a_note_then_judged(pack, program, rule):
    preview = judge(pack, program, preview=True, policy_config=PROD).by_policy(rule)
    assert preview and all(d.cannot_judge and d.level == "advisory" for d in preview), [str(d) for d in preview]
    assert "not known" in preview[0].message
    deployed = judge(pack, program, policy_config=PROD).by_policy(rule)
    assert deployed and all(d.mandatory and not d.cannot_judge for d in deployed), [str(d) for d in deployed]


# ---------------------------------------------------------------- team-access-namespace-scoped: what it says
@pytest.mark.parametrize(
    "program,name,needles",
    [
        (
            programs.team_cluster_scope,
            "team-a-edit",
            [
                "arn:aws:iam::123456789012:role/hp-team-a-cluster-access (not in adminPrincipals)",
                "gets AmazonEKSEditPolicy scoped to the whole cluster (accessScope.type 'cluster')",
                "type='namespace', namespaces=['hyperpod-ns-<team>']",
            ],
        ),
        (
            programs.team_cluster_admin_policy,
            "team-a-admin",
            ["gets AmazonEKSClusterAdminPolicy, a cluster admin policy", "a team policy such as AmazonEKSEditPolicy"],
        ),
        (programs.team_wildcard_namespace, "team-a-edit", ["namespace pattern 'hyperpod-ns-*'"]),
        (programs.team_two_namespaces, "team-a-edit", ["2 namespaces ['hyperpod-ns-team-a', 'hyperpod-ns-team-b']"]),
        (programs.team_default_namespace, "team-a-edit", ["namespace 'default', not a team namespace hyperpod-ns-"]),
        (
            programs.team_other_teams_namespace,
            "team-a-edit",
            ["is tagged team=team-a but is scoped to hyperpod-ns-team-b", "scope it to hyperpod-ns-team-a"],
        ),
        (
            programs.team_principal_not_its_team,
            "scientist-edit",
            ["role/DataScientist is scoped to hyperpod-ns-team-a but is neither tagged team=team-a nor named"],
        ),
        (
            programs.team_role_reaches_two_namespaces,
            "team-b-edit",
            ["reaches several team namespaces: hyperpod-ns-team-a (AccessPolicyAssociation team-a-edit)"],
        ),
        (programs.team_entry_in_system_masters, "team-a-entry", ["joins Kubernetes group system:masters"]),
        (
            programs.component_team_cluster_admin,
            "hp-eks",
            ["accessEntries.team-a.accessPolicies.main: principal arn:aws:iam::123456789012:role/hp-team-a-cluster"],
        ),
        (programs.native_team_entry_cluster_scope, "team-a-native", ["accessPolicies[0]: principal"]),
    ],
    ids=lambda v: program_id(v) if callable(v) else None,
)
def test_team_access_names_the_resource_the_value_and_the_fix(pack, program, name, needles):
    d = only(judge(pack, program, policy_config=PROD), "team-access-namespace-scoped")
    assert d.name == name and d.mandatory
    for needle in needles:
        assert needle in d.message, d.message


def test_admins_are_cluster_wide_only_through_the_allow_list(pack):
    """PlatformAdmin's cluster admin entry (component and association) passes under prod.json's
    adminPrincipals and is a violation without it: an admin is named, never guessed from tags or names."""
    for program in (programs.teams_namespace_scoped, programs.component_team_entries):
        assert judge(pack, program, policy_config=PROD).by_policy("team-access-namespace-scoped") == []
        found = judge(pack, program).by_policy("team-access-namespace-scoped")
        assert found and all("role/PlatformAdmin (not in adminPrincipals)" in d.message for d in found)


def test_eks_dev_stack_admin_entries_need_the_allow_list(pack):
    """The shipped eks-dev stack's admin access entries (pulumi-eks accessEntries, cluster-wide
    AmazonEKSClusterAdminPolicy) pass under prod.json because PlatformAdmin is listed there, and with the
    default config because the stack declares it (eksAdminRoleArns); with neither they are a team's."""
    config = copy.deepcopy(config_from_stack_file(ROOT / "Pulumi.eks-dev.yaml"))
    result = run_program(ROOT / "__main__.py", config, preview=False, stack="eks-dev")
    assert result.error is None, result.error
    report = pack.analyze(result.registrations, outputs=result.outputs, config=config, policy_config=PROD)
    assert report.by_policy("team-access-namespace-scoped") == []
    without = {**PROD, "team-access-namespace-scoped": "mandatory"}
    report = pack.analyze(result.registrations, outputs=result.outputs, config=config, policy_config=without)
    assert report.by_policy("team-access-namespace-scoped") == []
    undeclared = {k: v for k, v in result.outputs.items() if k != "eksAdminRoleArns"}
    report = pack.analyze(result.registrations, outputs=undeclared, config=config, policy_config=without)
    (d,) = report.by_policy("team-access-namespace-scoped")
    assert d.type == "eks:index:Cluster" and "role/PlatformAdmin (not in adminPrincipals)" in d.message


# ---------------------------------------------------------------- cross-account-trust-conditioned: what it says
@pytest.mark.parametrize(
    "program,needles",
    [
        (
            programs.data_role_trusts_cluster_root,
            [
                "trusts arn:aws:iam::123456789012:root in account 123456789012, another account than the role's "
                f"{DATA} (from its provider acct-c-data)",
                "(the account root) instead of one role",
                "name the role (arn:aws:iam::123456789012:role/<role>)",
            ],
        ),
        (
            programs.data_role_trusts_cluster_role_unconditioned,
            ["requires neither sts:ExternalId nor aws:PrincipalOrgID", "{'sts:ExternalId': '<shared id>'}"],
        ),
        (programs.data_role_external_id_if_exists, ["requires neither sts:ExternalId nor aws:PrincipalOrgID"]),
        (programs.data_role_trusts_role_pattern, ["role/hp-* (a role pattern)"]),
        (
            programs.scientists_trust_unconditioned,
            ["trusts arn:aws:iam::222222222222:role/DataScientist", "another account than the role's 123456789012"],
        ),
        (
            programs.pod_identity_target_without_external_id,
            [
                "it is the target role of pod identity association team-a-pod-identity",
                "trusts arn:aws:iam::123456789012:role/hp-team-a-pods without Condition StringEquals sts:ExternalId",
                "'sts:ExternalId': association.external_id",
            ],
        ),
        (programs.pod_identity_target_pins_another_id, ["pins sts:ExternalId ['made-up'], not the association's"]),
        (programs.native_role_in_data_account_unconditioned, ["user/alice (not a role)", "acct-c-native"]),
    ],
    ids=lambda v: program_id(v) if callable(v) else None,
)
def test_cross_account_trust_names_the_role_the_principal_and_the_fix(pack, program, needles):
    d = only(judge(pack, program, policy_config=PROD), "cross-account-trust-conditioned")
    assert d.mandatory and d.type in ("aws:iam/role:Role", "aws-native:iam:Role")
    for needle in needles:
        assert needle in d.message, d.message


def test_same_account_and_service_trusts_are_not_cross_account(pack):
    """A data role trusting a role of the data account, and roles trusting pods.eks.amazonaws.com or
    sagemaker.amazonaws.com, need no external ID: their accounts are the role's own (or none)."""
    report = judge(pack, programs.data_role_trusts_cluster_role_in_org, policy_config=PROD)
    assert report.by_policy("cross-account-trust-conditioned") == []
    report = judge(pack, programs.pod_identity_target_role, policy_config=PROD)
    assert report.by_policy("cross-account-trust-conditioned") == []


# ---------------------------------------------------------------- access points, bucket delegation, quotas
def test_access_point_message_names_the_provider_account_and_the_fix(pack):
    d = only(judge(pack, programs.access_point_internet_origin), "access-points-vpc-only")
    assert d.name == "team-a-ap" and d.type == "aws:s3/accessPoint:AccessPoint"
    assert f"created with provider acct-c-data in account {DATA} has no vpcConfiguration" in d.message
    assert "network origin is Internet" in d.message
    assert "vpc_configuration=aws.s3.AccessPointVpcConfigurationArgs(vpc_id=" in d.message


@pytest.mark.parametrize(
    "program,needle",
    [
        (programs.bucket_allows_everyone, "allows Principal '*' ['s3:GetObject', 's3:ListBucket'] without Condition"),
        (programs.bucket_allows_aws_star_if_exists, "StringEqualsIfExists s3:DataAccessPointAccount does not require"),
        (programs.bucket_delegation_blank_account, "s3:DataAccessPointAccount [''] is not a list of 12-digit"),
        (programs.bucket_allows_not_principal, "allows everyone except NotPrincipal"),
        (programs.native_bucket_policy_allows_everyone, "policyDocument statement DelegateToAccessPoints"),
        (programs.bucket_own_policy_allows_everyone, "bucket prepared-data's policy: policy statement"),
    ],
    ids=lambda v: program_id(v) if callable(v) else None,
)
def test_bucket_wildcard_names_the_statement_and_the_fix(pack, program, needle):
    d = only(judge(pack, program), "bucket-wildcard-delegation-only")
    assert needle in d.message, d.message
    assert "{'StringEquals': {'s3:DataAccessPointAccount': '<account of the access points>'}}" in d.message


def test_bucket_deny_with_wildcard_is_fine(pack):
    """The TLS-only Deny with Principal '*' of every compliant data bucket is not judged."""
    report = judge(pack, programs.bucket_names_its_readers)
    assert report.by_policy("bucket-wildcard-delegation-only") == []


def test_quota_message_names_the_teams_and_the_totals(pack):
    """Judged at preview already: the quotas name their cluster by dependency (its ARN is unknown)."""
    for preview in (True, False):
        d = only(judge(pack, programs.quotas_exceed_gpus, preview=preview), "quotas-fit-capacity")
        assert d.name == "hyperpod" and d.type == "aws-native:sagemaker:Cluster"
        assert "reserve 5 ml.g5.8xlarge instances" in d.message
        assert "team-a 3 (quota team-a-quota)" in d.message and "team-b 2 (quota team-b-quota)" in d.message
        assert "instance groups have 4 (gpu: 4)" in d.message and "lower the teams' count" in d.message
    d = only(judge(pack, programs.quota_for_missing_type), "quotas-fit-capacity")
    assert "it has no ml.p5.48xlarge instance group" in d.message and "add a ml.p5.48xlarge instance group" in d.message
    d = only(judge(pack, programs.vcpu_share_on_a_full_type), "quotas-fit-capacity")
    assert "reserve 4 ml.g5.8xlarge instances and part of another (team-a 4 (quota team-a-quota), team-c vCpu 8" in (
        d.message
    )
    assert "lower the teams' count for ml.g5.8xlarge by 1 in total" in d.message


# ---------------------------------------------------------------- the harness hands each resource's provider
def _capture(runner):
    """Record every request the runner sends (Analyze, AnalyzeStack) while still sending it."""
    sent = []
    call = runner._call

    def spy(method, request):
        sent.append((method, request))
        return call(method, request)

    runner._call = spy
    return sent


def _props(message) -> dict:
    from google.protobuf import json_format

    return json_format.MessageToDict(message)


def _data_and_cluster_program():
    """Resources in the data account (explicit provider) and in the cluster account (default providers)."""
    programs.access_points_in_vpc()
    programs.native_access_point_in_vpc()
    programs.team_role("team-a")
    programs.governed_cluster()


def test_harness_passes_the_explicit_provider_and_the_default_one_otherwise(pack):
    """Analyze and AnalyzeStack carry, for a resource created with provider=, that provider as the engine
    sends it (getProviderResource: type, URN, name, its inputs as the SDK sent them, with the version the
    engine adds); for any other custom resource its package's default provider; for a provider or a component,
    none. A default provider is registered only for a package some resource uses without an explicit one."""
    result = run_program(_data_and_cluster_program, REGION, preview=True)
    assert result.error is None, result.error
    sent = _capture(pack)
    try:
        pack.analyze(result.registrations, outputs=result.outputs, config=REGION)
    finally:
        del pack._call
    analyzed = {r.urn: r for m, r in sent if m == "Analyze"}
    (stack_request,) = [r for m, r in sent if m == "AnalyzeStack"]
    in_stack = {r.urn: r for r in stack_request.resources}
    explicit = result.named("acct-c-data", "pulumi:providers:aws")

    point = analyzed[result.named("team-a-ap").urn]
    assert point.HasField("provider")
    assert (point.provider.type, point.provider.name, point.provider.urn) == (
        "pulumi:providers:aws",
        "acct-c-data",
        explicit.urn,
    )
    props = _props(point.provider.properties)
    assert json.loads(props["allowedAccountIds"]) == [DATA]
    assert json.loads(props["assumeRoles"])[0]["roleArn"] == programs.DEPLOY_ROLE
    assert props["region"] == "us-east-1" and props["version"]
    assert in_stack[point.urn].provider == point.provider

    native = analyzed[result.named("team-a-native-ap").urn]
    assert native.provider.name == "acct-c-native" and json.loads(_props(native.provider.properties)["assumeRole"])

    role = analyzed[result.named("team-a-cluster-access").urn]
    assert role.provider.name.startswith("default_") and role.provider.urn.endswith(
        "pulumi:providers:aws::" + role.provider.name
    )
    assert "allowedAccountIds" not in _props(role.provider.properties)
    cluster = analyzed[result.named("hyperpod").urn]
    assert cluster.provider.type == "pulumi:providers:aws-native" and cluster.provider.name.startswith("default_")

    for urn in (explicit.urn, result.named("acct-c-native").urn):
        assert not analyzed[urn].HasField("provider")
    registered_defaults = sorted(r.name for r in stack_request.resources if r.type.startswith("pulumi:providers:"))
    assert registered_defaults == sorted(["acct-c-data", "acct-c-native", role.provider.name, cluster.provider.name])


def test_every_data_account_resource_is_in_the_data_account(pack):
    """Through the protocol, with the rules' helper (policies/rules/_lib.py Provider.account): each resource
    created with a data provider is in the data account; every other custom resource's provider names no
    account, i.e. it is in the stack's (cluster) account."""
    for preview in (True, False):
        result = run_program(_data_and_cluster_program, REGION, preview=preview)
        assert result.error is None, result.error
        sent = _capture(pack)
        try:
            pack.analyze(result.registrations, outputs=result.outputs, config=REGION)
        finally:
            del pack._call
        data_urns = {r.urn for r in result.registrations if r.provider}
        assert {result.named(n).urn for n in ("team-a-ap", "team-b-ap", "team-a-native-ap")} == data_urns
        for method, request in sent:
            if method != "Analyze" or not request.HasField("provider"):
                continue
            p = request.provider
            props = {k: _decode(v) for k, v in _props(p.properties).items()}
            account = Provider(p.type, p.urn, p.name, props).account
            assert account == (DATA if request.urn in data_urns else None), request.urn


def _decode(value):
    """A provider input as the helper reads it: the SDK's JSON-encoded lists and objects decoded."""
    return json.loads(value) if isinstance(value, str) and value[:1] in "[{" else value


def test_rules_see_the_provider_account(pack):
    """The helper resolves the account from the provider's assumed role when allowedAccountIds is absent, and
    from allowedAccountIds alone; the default provider names none."""
    role_only = Provider("pulumi:providers:aws", "urn:x", "p", {"assumeRoles": [{"roleArn": programs.DEPLOY_ROLE}]})
    allowed_only = Provider("pulumi:providers:aws", "urn:x", "p", {"allowedAccountIds": ["444455556666"]})
    several = Provider("pulumi:providers:aws", "urn:x", "p", {"allowedAccountIds": ["444455556666", DATA]})
    default = Provider("pulumi:providers:aws", "urn:x", "default_7_51_1", {"region": "us-east-1"})
    assert (role_only.account, allowed_only.account, several.account, default.account) == (
        DATA,
        "444455556666",
        None,
        None,
    )
    assert default.default and not role_only.default and default.label == "the default aws provider"


def test_unregistered_provider_reference_is_an_error(pack):
    """The engine asserts a resource's provider was registered before it; so does the harness."""
    result = run_program(programs.access_point_internet_origin, REGION, preview=False)
    assert result.error is None, result.error
    without = [r for r in result.registrations if not r.type.startswith("pulumi:providers:")]
    with pytest.raises(ValueError, match="names provider .*acct-c-data, which no earlier registration is"):
        pack.analyze(without, outputs=result.outputs, config=REGION)


# ---------------------------------------------------------------- team-data-own-prefix: what it says
OWN_PREFIX = "team-data-own-prefix"


@pytest.mark.parametrize("program", TEAM_DATA_COMPLIANT, ids=program_id)
def test_teams_reading_their_own_prefixes_pass_every_mandatory_guardrail(pack, program):
    """Two teams side by side in one bucket (``team-a``, ``team-ab``: a longer word, not a prefix within), and a
    role narrowed within its access point's prefix: nothing mandatory, nothing from (or unjudged by) the rule."""
    for preview in (True, False):
        report = judge(pack, program, preview=preview, policy_config=guardrails_only(PROD))
        assert [d for d in report.violations if d.mandatory] == [], [str(d) for d in report.violations]
        assert report.by_policy(OWN_PREFIX) == [], [str(d) for d in report.by_policy(OWN_PREFIX)]


@pytest.mark.parametrize(
    "program,resource,needles",
    [
        (programs.team_policy_on_every_prefix, "team-a-target-access", ["object/*/*", "reaches beyond one prefix"]),
        (programs.team_policy_on_every_prefix, "team-a-ap-policy", ["TeamRoleUsesObjectsOfItsPrefix", "object/*/*"]),
        (programs.team_hand_written_policy_on_every_prefix, "team-a-target-access", ["TeamObjects", "object/*/*"]),
        (programs.team_role_on_every_resource, "team-a-target-access", ["Resource '*'"]),
        (programs.team_role_on_the_whole_bucket, "team-a-target-access", ["arn:aws:s3:::hp-prepared-data/*"]),
        (programs.team_role_on_every_access_point, "team-a-target-access", ["access point name '*' is a pattern"]),
        (programs.team_role_escapes_with_a_parent_segment, "team-a-target-access", ["'.' or '..' segment"]),
        (programs.team_role_with_a_policy_variable, "team-a-target-access", ["'$'", "'{'"]),
        (programs.team_role_lists_every_prefix, "team-a-target-access", ["s3:prefix '*'"]),
        (
            programs.team_role_reaches_another_teams_access_point,
            "team-a-target-access",
            ["reaches access point hp-team-b-ap", "another team's access point"],
        ),
        (
            programs.team_role_reaches_beyond_its_access_point_grant,
            "team-a-target-access",
            ["prefix 'team-a-other'", "outside the prefixes its policy team-a-ap-policy grants (['team-a'])"],
        ),
        (
            programs.team_prefixes_nest_in_one_bucket,
            "team-b-ap-policy",
            ["grants prefix 'research/b' of bucket hp-prepared-data", "team-a-ap-policy grants 'research'"],
        ),
        (programs.pod_identity_target_role_on_every_prefix, "team-a-target-access", ["object/*"]),
    ],
    ids=lambda v: getattr(v, "__name__", None) or (v if isinstance(v, str) else "needles"),
)
def test_own_prefix_violation_names_the_role_or_policy_the_statement_and_the_fix(pack, program, resource, needles):
    report = judge(pack, program, policy_config=PROD)
    found = [d for d in report.by_policy(OWN_PREFIX) if d.urn.endswith(f"::{resource}")]
    assert len(found) == 1, [str(d) for d in report.by_policy(OWN_PREFIX)]
    (d,) = found
    assert d.mandatory and "statement " in d.message and "object/<its literal prefix>/*" in d.message, d.message
    for needle in needles:
        assert needle in d.message, (needle, d.message)


def test_eks_dev_stack_teams_reach_their_own_prefix_only(pack):
    """The shipped eks-dev stack (team research, prefix research, through TeamData) passes the rule with values
    resolved under prod.json, its target role policy on its own prefix's objects."""
    config = copy.deepcopy(config_from_stack_file(ROOT / "Pulumi.eks-dev.yaml"))
    result = run_program(ROOT / "__main__.py", config, preview=False, stack="eks-dev")
    assert result.error is None, result.error
    report = pack.analyze(result.registrations, outputs=result.outputs, config=config, policy_config=PROD)
    assert report.by_policy(OWN_PREFIX) == [], [str(d) for d in report.by_policy(OWN_PREFIX)]
    (policy,) = [r for r in result.registrations if r.type == "aws:iam/rolePolicy:RolePolicy" and "target" in r.name]
    assert "/object/research/*" in policy.inputs["policy"]
