"""The CrossGuard pack in policies/, driven through the engine's analyzer protocol.

Every test runs a real Pulumi program under mocks (tools.harness.run_program) and hands what it registered to
the pack running as a subprocess, over gRPC, as the engine does (tools.policy_harness): Analyze per resource,
AnalyzeStack with the dependency graph. No test calls a rule's function directly, so the rules see what the
engine sends: read-only proxies, floats, unknown sentinels at preview.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.conftest import ROOT
from tests.policy_programs import (
    COMPLIANT,
    VIOLATING,
    buckets,
    hyperpod,
    iam,
    load_balancers,
    secrets,
    security_groups,
    subnets,
)
from tests.policy_support import REGION, guardrails_only, judge, program_id
from tools import preview
from tools.harness import run_program
from tools.policy_harness import (
    PROD_CONFIG,
    SECRET_SIG,
    SIG_KEY,
    UNKNOWN,
    PolicyConfigError,
    PolicyPackRunner,
    effective_config,
    load_policy_config,
    wire,
)

RULES = [
    "private-subnets",
    "nlb-ssh-only-security-groups",
    "internal-load-balancers",
    "no-plaintext-ldap",
    "bucket-protection",
    "stateful-protection",
    "hyperpod-resilience",
    "eks-endpoint-access",
    "eks-authentication-mode",
    "no-world-ssh",
    "iam-least-privilege",
    "iam-oidc-trust-pinned",
    "secret-policy-not-public",
    "secret-has-resource-policy",
    "team-access-namespace-scoped",
    "cross-account-trust-conditioned",
    "access-points-vpc-only",
    "bucket-wildcard-delegation-only",
    "team-data-own-prefix",
    "quotas-fit-capacity",
    "behaviour-readiness",
    "behaviour-authorization",
    "behaviour-reachability",
    "behaviour-kubernetes",
]
BEHAVIOUR = {r for r in RULES if r.startswith("behaviour-")}
ADVISORY_BY_DEFAULT = {"hyperpod-resilience", "iam-parliament-findings", "stateful-protection"}
PROD = load_policy_config(PROD_CONFIG)
LOGIN_NLB_STACK = ROOT / "tests" / "policy_programs" / "login_nlb_stack.py"

# (program, rule): unknown at preview (a "cannot judge" note), a mandatory violation once deployed
UNKNOWN_AT_PREVIEW = [
    (subnets.public_ip_flag_unknown_at_preview, "private-subnets", False),
    (load_balancers.login_nlb_source_unknown_at_preview, "nlb-ssh-only-security-groups", True),
    (security_groups.world_ssh_unknown_at_preview, "no-world-ssh", True),
    (iam.policy_unknown_at_preview, "iam-least-privilege", True),
    (buckets.tls_deny_other_bucket_unknown_at_preview, "bucket-protection", True),
]
ALL_PROGRAMS = sorted(
    {p for table in (COMPLIANT, VIOLATING) for progs in table.values() for p in progs}
    | {p for p, _, _ in UNKNOWN_AT_PREVIEW},
    key=lambda p: (p.__module__, p.__name__),
)


# ---------------------------------------------------------------- the pack itself
def test_pack_describes_every_rule(pack):
    """GetAnalyzerInfo lists every rule with description, severity, remediation steps, config schema with
    defaults, and the default enforcement levels of the issue (resilience and parliament advisory)."""
    from google.protobuf import json_format
    from pulumi.runtime.proto import analyzer_pb2

    info = pack.info()
    policies = {p.name: p for p in info.policies}
    assert info.name == "hyperpod-guardrails" and info.supportsConfig
    assert set(RULES) | {"iam-parliament-findings"} == set(policies)
    for name, p in policies.items():
        assert p.description and p.remediation_steps, name
        assert p.severity != analyzer_pb2.POLICY_SEVERITY_UNSPECIFIED, name
        level = analyzer_pb2.EnforcementLevel.Name(p.enforcementLevel).lower()
        assert level == ("advisory" if name in ADVISORY_BY_DEFAULT else "mandatory"), name
        schema = json_format.MessageToDict(p.configSchema)
        assert schema.get("properties"), name
        assert all("default" in prop for prop in schema["properties"].values()), name
    stack_policies = {p.name for p in info.policies if p.policy_type == analyzer_pb2.POLICY_TYPE_STACK}
    assert stack_policies == {
        "private-subnets",
        "nlb-ssh-only-security-groups",
        "bucket-protection",
        "secret-has-resource-policy",
        "no-world-ssh",  # a group's ingress from every resource, pooled
        "no-plaintext-ldap",  # security groups judged with the directory NLB's group
        "team-access-namespace-scoped",  # principals resolved to the stack's roles (tags, names)
        "cross-account-trust-conditioned",  # a role's account from its ARN; Pod Identity target roles
        "quotas-fit-capacity",  # quotas summed per cluster, against its instance groups
        "team-data-own-prefix",  # a team's roles and access point policies, against each other
        *BEHAVIOUR,  # what must be true on AWS, judged on the whole plan
    }


def test_prod_config_makes_every_rule_mandatory(pack):
    """policies/config/prod.json: every rule of the issue mandatory; parliament findings stay advisory."""
    effective = effective_config(PROD, pack.info())
    assert {name: level for name, (level, _) in effective.items()} == {
        **{rule: "mandatory" for rule in RULES},
        "iam-parliament-findings": "advisory",
    }


def test_dev_stack_passes_every_rule_under_prod_config(pack, dev_config):
    """The shipped dev stack, as `pulumi preview` and as `pulumi up` would register it, under prod.json: no
    mandatory violation, and every rule can judge every resource once values are known."""
    for in_preview in (True, False):
        result = run_program(ROOT / "__main__.py", dev_config, preview=in_preview)
        assert result.error is None, result.error
        report = pack.analyze(result.registrations, outputs=result.outputs, config=dev_config, policy_config=PROD)
        assert report.mandatory == [], [str(d) for d in report.mandatory]
        # Advice may come only from the parliament linter (its action database lags behind AWS).
        assert {d.policy for d in report.violations} <= {"iam-parliament-findings"}, [str(d) for d in report.violations]
        if not in_preview:
            assert report.notes == [], "with every value known, every rule can judge"


# ---------------------------------------------------------------- every rule: compliant and violating programs
@pytest.mark.parametrize("rule,program", [(r, p) for r, progs in COMPLIANT.items() for p in progs], ids=program_id)
def test_compliant_program_passes(pack, rule, program):
    """A compliant program has no violation of its rule, nor of any other guardrail, even with every rule
    mandatory (the behaviour checks judge whole platforms: tests/test_behaviour_*.py)."""
    report = judge(pack, program, policy_config=guardrails_only(PROD))
    assert report.violations == [], [str(d) for d in report.violations]
    assert report.notes == []


@pytest.mark.parametrize("rule,program", [(r, p) for r, progs in VIOLATING.items() for p in progs], ids=program_id)
def test_violating_program_is_reported(pack, rule, program):
    """A violating program is reported by its rule, on a resource of the program, at the rule's default level
    and as mandatory under prod.json (parliament findings stay advisory)."""
    result = run_program(program, REGION, preview=False)
    assert result.error is None, result.error
    urns = {r.urn for r in result.registrations}
    default = pack.analyze(result.registrations, outputs=result.outputs, config=REGION).by_policy(rule)
    assert default, f"{rule} did not report {program.__name__}"
    assert all(d.urn in urns and not d.cannot_judge for d in default), [str(d) for d in default]
    assert {d.level for d in default} == {"advisory" if rule in ADVISORY_BY_DEFAULT else "mandatory"}
    prod = pack.analyze(result.registrations, outputs=result.outputs, config=REGION, policy_config=PROD)
    assert {d.level for d in prod.by_policy(rule)} == {"advisory" if rule == "iam-parliament-findings" else "mandatory"}


@pytest.mark.parametrize("program", ALL_PROGRAMS, ids=program_id)
def test_preview_never_crashes_a_rule(pack, program):
    """Under preview (IDs, ARNs and documents unknown) every rule runs to completion on every program: a
    crashing rule would surface as a gRPC error (PolicyPackError) here."""
    report = judge(pack, program, preview=True, policy_config=PROD)
    for d in report.notes:
        assert d.level == "advisory" and d.message.startswith("can't run policy")


@pytest.mark.parametrize("rule,program", [(r, p) for r, progs in VIOLATING.items() for p in progs], ids=program_id)
def test_preview_never_passes_a_violation_silently(pack, rule, program):
    """At preview a violating program is still reported, or its rule says what it could not judge."""
    report = judge(pack, program, preview=True)
    assert report.by_policy(rule), f"{rule} was silent on {program.__name__} at preview"


@pytest.mark.parametrize("program,rule,stack_level", UNKNOWN_AT_PREVIEW, ids=program_id)
def test_unknown_at_preview_is_a_note_then_judged(pack, program, rule, stack_level):
    """A value that is unknown at preview gives the engine's advisory "can't run policy ... during preview"
    note naming what is unknown; once known (`up`), the same program is judged."""
    preview = judge(pack, program, preview=True, policy_config=PROD).by_policy(rule)
    assert preview and all(d.cannot_judge and d.level == "advisory" for d in preview), [str(d) for d in preview]
    assert "not known yet" in preview[0].message
    deployed = judge(pack, program, preview=False, policy_config=PROD).by_policy(rule)
    if program is subnets.public_ip_flag_unknown_at_preview:
        assert deployed == []  # the flag turns out false
    else:
        assert deployed and all(d.mandatory for d in deployed), [str(d) for d in deployed]


# ---------------------------------------------------------------- what the rules say
def test_private_subnets_names_the_route_to_the_internet_gateway(pack):
    (d,) = judge(pack, subnets.cluster_in_public_subnet).by_policy("private-subnets")
    assert d.name == "cluster" and d.type == "aws-native:sagemaker:Cluster"
    assert "subnet public uses route table public-rt" in d.message and "internet gateway igw" in d.message


def test_private_subnets_judges_per_group_overrides(pack):
    (d,) = judge(pack, subnets.group_override_in_public_subnet).by_policy("private-subnets")
    assert "instanceGroups[].overrideVpcConfig.subnets" in d.message and "vpcConfig.subnets:" not in d.message


def test_private_subnets_read_subnet_judged_from_its_read_state(pack):
    (d,) = judge(pack, subnets.read_subnet_with_public_ips).by_policy("private-subnets")
    assert "mapPublicIpOnLaunch=true" in d.message


def test_private_subnets_unverifiable_placement_is_said_not_passed(pack):
    """Subnets the stack cannot see are a violation by default, an advisory note if configured, and pass only
    when the policy config vouches for them."""
    for program, subnet_id in (
        (subnets.read_subnet_routes_unseen, "subnet-0ccccccccccccccccc"),
        (subnets.literal_subnet_id, "subnet-0ddddddddddddddddd"),
    ):
        (d,) = judge(pack, program).by_policy("private-subnets")
        assert d.mandatory and "cannot verify" in d.message and subnet_id in d.message
        notes = judge(pack, program, policy_config={"private-subnets": {"unverifiable": "advisory"}})
        (n,) = notes.by_policy("private-subnets")
        assert n.cannot_judge and n.level == "advisory" and subnet_id in n.message
        trusted = judge(pack, program, policy_config={"private-subnets": {"trustedSubnetIds": [subnet_id]}})
        assert trusted.by_policy("private-subnets") == []


def test_nlb_rule_reports_http_and_world_ssh_on_the_login_group(pack):
    (http,) = judge(pack, load_balancers.login_nlb_admits_http).by_policy("nlb-ssh-only-security-groups")
    assert http.name == "login" and "TCP 80" in http.message and "login-nlb-sg" in http.message
    (world,) = judge(pack, load_balancers.login_nlb_world_ssh).by_policy("nlb-ssh-only-security-groups")
    assert "TCP 22 from 0.0.0.0/0" in world.message


def test_nlb_rule_config_names_roles(pack):
    """A load balancer that matches no role pattern is judged as 'other' (any ingress is a violation)."""
    report = judge(
        pack,
        load_balancers.login_nlb_ssh_only,
        policy_config={"nlb-ssh-only-security-groups": {"loginNamePattern": "^bastion$"}},
    )
    (d,) = report.by_policy("nlb-ssh-only-security-groups")
    assert "no login or directory role" in d.message


def test_internal_load_balancers_config_widens_the_types(pack):
    report = judge(
        pack,
        load_balancers.internet_facing_alb,
        policy_config={"internal-load-balancers": {"loadBalancerTypes": ["network", "application"]}},
    )
    (d,) = report.by_policy("internal-load-balancers")
    assert d.name == "web" and "internet-facing application" in d.message


def test_hyperpod_resilience_config_and_levels(pack):
    relaxed = judge(
        pack,
        hyperpod.trainium_group_with_one_check,
        policy_config={"hyperpod-resilience": {"requiredDeepHealthChecks": ["InstanceStress"]}},
    )
    assert relaxed.by_policy("hyperpod-resilience") == []
    (d,) = judge(pack, hyperpod.node_recovery_none).by_policy("hyperpod-resilience")
    assert d.level == "advisory" and "nodeRecovery is None" in d.message


def test_iam_parliament_findings_can_be_ignored(pack):
    (d,) = judge(pack, iam.unknown_action).by_policy("iam-parliament-findings")
    assert "UNKNOWN_ACTION" in d.message and "s3:GetObjekt" in d.message
    ignored = judge(
        pack, iam.unknown_action, policy_config={"iam-parliament-findings": {"ignoreIssues": ["UNKNOWN_ACTION"]}}
    )
    assert ignored.by_policy("iam-parliament-findings") == []


def test_disabled_rules_do_not_run(pack):
    report = judge(pack, load_balancers.login_nlb_world_ssh, policy_config={"all": "disabled"})
    assert report.diagnostics == []
    report = judge(
        pack, load_balancers.login_nlb_world_ssh, policy_config={"all": "disabled", "no-world-ssh": "advisory"}
    )
    assert {d.policy for d in report.diagnostics} == {"no-world-ssh"}
    assert all(d.level == "advisory" for d in report.diagnostics)


# ---------------------------------------------------------------- policy config validation
@pytest.mark.parametrize(
    "config,message",
    [
        ({"private-subnet": "mandatory"}, "unknown policies: private-subnet"),
        ({"no-world-ssh": "blocking"}, "enforcement level 'blocking'"),
        ({"no-world-ssh": {"ports": ["ssh"]}}, "no-world-ssh: ports.0"),
        ({"private-subnets": {"unverifiable": "ignore"}}, "private-subnets: unverifiable"),
        ({"bucket-protection": {"exempt": ["x"]}}, "Additional properties"),
    ],
)
def test_invalid_policy_config_is_an_error(pack, config, message):
    with pytest.raises(PolicyConfigError, match=message.replace("(", r"\(").replace(".", r"\.")):
        effective_config(config, pack.info())


def test_policy_config_file_errors(tmp_path):
    with pytest.raises(PolicyConfigError, match="does not exist"):
        load_policy_config(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(PolicyConfigError, match="not valid JSON"):
        load_policy_config(tmp_path / "bad.json")


# ---------------------------------------------------------------- the protocol harness
def test_harness_sends_every_registration_and_the_stack(pack, dev_config):
    """Analyze once per registration (component resources included) plus the stack resource; AnalyzeStack
    once; the subprocess is gone after close()."""
    result = run_program(ROOT / "__main__.py", dev_config, preview=True)
    assert any(not r.custom for r in result.registrations)
    with PolicyPackRunner(stack="dev", config=dev_config) as runner:
        runner.analyze(result.registrations, outputs=result.outputs)
        assert runner.calls["Analyze"] == len(result.registrations) + 1
        assert runner.calls["AnalyzeStack"] == 1 and runner.calls["Configure"] == 1
        proc = runner.proc
    assert runner.proc is None and proc.poll() is not None


def test_wire_encoding_matches_the_engine():
    """The harness's markers go back to the engine's encoding: unknown sentinel and secret envelope."""
    plain = {"a": "<unknown>", "b": [{"<secret>": "s3cr3t"}, 1.0], "c": {"d": "<unknown>"}}
    assert wire(plain) == {"a": UNKNOWN, "b": [{SIG_KEY: SECRET_SIG, "value": "s3cr3t"}, 1.0], "c": {"d": UNKNOWN}}


def test_secrets_and_assets_reach_the_pack(pack):
    """A secret input and a file asset travel in the engine's envelopes without upsetting any rule."""
    import pulumi
    import pulumi_aws as aws

    def program():
        aws.secretsmanager.SecretVersion("s", secret_id="x", secret_string=pulumi.Output.secret("hunter2"))
        aws.s3.BucketObjectv2("o", bucket="b", key="k", source=pulumi.FileAsset(str(ROOT / "README.md")))

    report = judge(pack, program)
    assert report.diagnostics == []


# ---------------------------------------------------------------- scripts/preview end to end
def _preview(*args, env=None):
    return subprocess.run(
        [str(ROOT / "scripts" / "preview"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def test_dev_preview_passes_prod_policy_config():
    """`scripts/preview --stack dev --policy-config policies/config/prod.json` exits 0."""
    proc = _preview("--stack", "dev", "--quiet", "--policy-config", "policies/config/prod.json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Policies: pack hyperpod-guardrails, 25 policies (1 advisory, 24 mandatory)" in proc.stdout
    assert "Policy check: 0 mandatory, 0 advisory violation(s)." in proc.stdout


def test_cluster_in_public_subnet_fails_preview_naming_rule_and_cluster():
    """Acceptance: the shipped program with the cluster in subnets routed to the internet gateway exits 1,
    naming private-subnets and the cluster."""
    proc = _preview("--stack", "dev", "--quiet", "--program", "tests/policy_programs/public_cluster_stack.py")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("  [mandatory] private-subnets:")]
    assert lines and "hp-dev-cluster (aws-native:sagemaker:Cluster)" in lines[0]
    assert "internet gateway hp-dev-igw" in lines[0]


def _main(capsys, *args):
    """scripts/preview in this process (warm imports): exit code, stdout, stderr."""
    code = preview.main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(
    "variant,needle", [("http", "admits TCP 80 from 192.168.100.0/24"), ("world", "admits TCP 22 from 0.0.0.0/0")]
)
def test_login_nlb_extra_ingress_fails_preview_naming_rule(capsys, monkeypatch, variant, needle):
    """Acceptance: the login load balancer's security group also admitting TCP 80, or admitting 22 from
    0.0.0.0/0, exits 1 naming nlb-ssh-only-security-groups."""
    monkeypatch.setenv("LOGIN_INGRESS", variant)
    code, out, err = _main(capsys, "--stack", "dev", "--quiet", "--program", str(LOGIN_NLB_STACK))
    assert code == 1, out + err
    lines = [ln for ln in err.splitlines() if ln.startswith("  [mandatory] nlb-ssh-only-security-groups:")]
    assert len(lines) == 1 and needle in lines[0], err
    assert "(aws:lb/loadBalancer:LoadBalancer): login load balancer:" in lines[0]


def test_login_nlb_without_extra_ingress_passes(capsys, monkeypatch):
    monkeypatch.setenv("LOGIN_INGRESS", "none")
    code, out, err = _main(
        capsys, "--stack", "dev", "--quiet", "--program", str(LOGIN_NLB_STACK), "--policy-config", str(PROD_CONFIG)
    )
    assert code == 0, out + err


def test_preview_policy_config_errors_exit_2(capsys, tmp_path):
    (tmp_path / "typo.json").write_text(json.dumps({"private-subnet": "mandatory"}))
    code, _, err = _main(capsys, "--stack", "dev", "--quiet", "--policy-config", str(tmp_path / "typo.json"))
    assert code == 2 and "unknown policies: private-subnet" in err
    code, _, err = _main(capsys, "--stack", "dev", "--quiet", "--policy-config", str(tmp_path / "missing.json"))
    assert code == 2 and "does not exist" in err


def test_no_policy_skips_the_pack(capsys):
    code, out, _ = _main(capsys, "--stack", "dev", "--quiet", "--no-policy")
    assert code == 0 and "Policies:" not in out


def test_stack_config_error_takes_precedence_over_policies(capsys, monkeypatch, tmp_path):
    """Exit 2 for a bad stack config even when the policies would also fail."""
    monkeypatch.setenv("LOGIN_INGRESS", "world")
    cfg = (ROOT / "Pulumi.dev.yaml").read_text().replace("name: gpu", "name: worker_group")
    (tmp_path / "bad.yaml").write_text(cfg)
    code, out, err = _main(
        capsys, "--config-file", str(tmp_path / "bad.yaml"), "--quiet", "--program", str(LOGIN_NLB_STACK)
    )
    assert code == 2, out + err


# ---------------------------------------------------------------- private-subnets: existing subnets from read state
def _existing_network(monkeypatch, edit):
    """The harness's existing VPC with ``edit`` applied to its route tables (tools.harness.existing_network)."""
    from tools import harness

    data = harness.existing_network()
    edit(data["routeTables"])
    monkeypatch.setattr(harness.AwsMocks, "existing_network", data)


def test_private_subnets_existing_subnet_explicit_association_read(pack):
    """A read association (subnetId -> routeTableId) leads to the read route table: NAT only passes, an
    internet gateway route is a violation naming the subnet's id and the gateway, at preview too."""
    for preview_mode in (False, True):
        report = judge(
            pack, subnets.read_subnet_with_read_association, preview=preview_mode, policy_config=guardrails_only(PROD)
        )
        assert report.violations == [] and report.notes == [], [str(d) for d in report.diagnostics]
        (d,) = judge(pack, subnets.read_subnet_association_to_igw, preview=preview_mode).by_policy("private-subnets")
        assert d.mandatory and d.name == "cluster" and "placed in a public subnet" in d.message
        assert f"subnet existing ({subnets.PUBLIC_SUBNET}) uses route table existing-rt" in d.message
        assert "routes 0.0.0.0/0 to internet gateway igw-0123456789abcdef0" in d.message
        assert "routes ::/0 to internet gateway igw-0123456789abcdef0" in d.message


def test_private_subnets_existing_subnet_main_table_fallback(pack, monkeypatch):
    """No association in the stack: the subnet's VPC (read) names its main route table, which is read; its
    routes decide. Without that table read, the subnet cannot be verified."""
    report = judge(pack, subnets.read_subnet_on_read_main_table, policy_config=guardrails_only(PROD))
    assert report.violations == [] and report.notes == [], [str(d) for d in report.diagnostics]
    (d,) = judge(pack, subnets.read_subnet_main_table_unread).by_policy("private-subnets")
    assert d.mandatory and "cannot verify" in d.message
    assert f"main route table of VPC {subnets.EXISTING_VPC} ({subnets.MAIN_TABLE}) is not read" in d.message
    _existing_network(
        monkeypatch,
        lambda tables: tables[subnets.MAIN_TABLE]["routes"].append(
            {"cidrBlock": "0.0.0.0/0", "gatewayId": "igw-0123456789abcdef0"}
        ),
    )
    (d,) = judge(pack, subnets.read_subnet_on_read_main_table).by_policy("private-subnets")
    assert "placed in a public subnet" in d.message and "subnet existing (subnet-0123456789abcdef1)" in d.message
    assert f"(main route table of VPC {subnets.EXISTING_VPC}), which routes 0.0.0.0/0 to internet gateway" in d.message


def test_private_subnets_default_route_to_appliance_needs_trust(pack):
    """A default route to a network interface (firewall/NAT appliance) cannot be judged: unverifiable until
    the subnet is listed in trustedSubnetIds. Its transit gateway route for 172.16.0.0/12 is no concern."""
    (d,) = judge(pack, subnets.read_subnet_default_route_to_appliance).by_policy("private-subnets")
    assert d.mandatory and "cannot verify" in d.message and subnets.APPLIANCE_SUBNET in d.message
    assert "routes 0.0.0.0/0 to network interface eni-0e0e0e0e0e0e0e0e0" in d.message and "tgw-" not in d.message
    trusted = judge(
        pack,
        subnets.read_subnet_default_route_to_appliance,
        policy_config={
            **PROD,
            "private-subnets": {"enforcementLevel": "mandatory", "trustedSubnetIds": [subnets.APPLIANCE_SUBNET]},
        },
    )
    assert trusted.by_policy("private-subnets") == []


def test_private_subnets_default_route_to_created_appliance_is_unverifiable(pack):
    """The same for a route resource of the stack to an ENI it creates (unknown id at preview)."""

    def program():
        vpc = aws.ec2.Vpc("vpc", cidr_block="10.1.0.0/16")
        subnet = aws.ec2.Subnet("behind-firewall", vpc_id=vpc.id, cidr_block="10.1.0.0/24")
        eni = aws.ec2.NetworkInterface("firewall", subnet_id=subnet.id)
        rt = aws.ec2.RouteTable("rt", vpc_id=vpc.id)
        aws.ec2.Route("default", route_table_id=rt.id, destination_cidr_block="0.0.0.0/0", network_interface_id=eni.id)
        aws.ec2.RouteTableAssociation("a", subnet_id=subnet.id, route_table_id=rt.id)
        cluster([subnet.id])

    import pulumi_aws as aws

    from tests.policy_programs.common import cluster

    for preview_mode in (False, True):
        (d,) = judge(pack, program, preview=preview_mode).by_policy("private-subnets")
        assert (
            d.mandatory
            and "cannot verify" in d.message
            and "network interface" in d.message
            and "(route default)" in d.message
        )


EXISTING_VPC_CONFIG = ROOT / "tests" / "configs" / "existing-vpc.yaml"


def test_existing_vpc_preview_passes_prod_policy_config():
    """Acceptance: an existing-VPC stack with private subnets (one explicitly associated, one on the main
    table) passes `scripts/preview --config-file tests/configs/existing-vpc.yaml --policy-config prod.json`."""
    proc = _preview("--config-file", str(EXISTING_VPC_CONFIG), "--quiet", "--policy-config", str(PROD_CONFIG))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Policy check: 0 mandatory, 0 advisory violation(s)." in proc.stdout


def test_existing_vpc_with_igw_routed_subnet_fails_preview_naming_it(capsys, tmp_path):
    """Acceptance: the same stack with a private subnet whose route table routes to an internet gateway exits
    1; each placement in it is a private-subnets violation naming the subnet and the gateway."""
    cfg = EXISTING_VPC_CONFIG.read_text().replace("subnet-0123456789abcdef1", subnets.PUBLIC_SUBNET)
    assert subnets.PUBLIC_SUBNET in cfg
    (tmp_path / "public.yaml").write_text(cfg)
    code, out, err = _main(
        capsys, "--config-file", str(tmp_path / "public.yaml"), "--quiet", "--policy-config", str(PROD_CONFIG)
    )
    assert code == 1, out + err
    lines = [ln for ln in err.splitlines() if ln.startswith("  [mandatory] ")]
    assert lines and all(ln.startswith("  [mandatory] private-subnets: ") for ln in lines), err
    assert {ln.split(": ")[1].split(" (")[0] for ln in lines} == {
        "hp-shared-login",
        "hp-shared-ldaps",
        "hp-shared-directory",
    }
    for ln in lines:
        assert (
            f"subnet hp-shared-private-1 ({subnets.PUBLIC_SUBNET}) uses route table "
            f"hp-shared-{subnets.IGW_TABLE}, which routes 0.0.0.0/0 to internet gateway igw-" in ln
        )


# ---------------------------------------------------------------- IAM, secrets and buckets: what the rules say
def test_iam_admin_managed_policies_are_named_wherever_attached(pack):
    """AdministratorAccess, PowerUserAccess and IAMFullAccess are violations through every attachment path,
    whatever the partition; the message names the input and the ARN."""
    for program, where, policy in (
        (iam.admin_in_managed_policy_arns, "managedPolicyArns[1]", "AdministratorAccess"),
        (iam.admin_in_role_attachments_exclusive, "policyArns[0]", "AdministratorAccess"),
        (iam.power_user_attached_to_user, "policyArn", "PowerUserAccess"),
        (iam.iam_full_access_attached_to_group, "policyArn", "IAMFullAccess"),
        (iam.native_user_and_group_managed_admin, "arn:aws-us-gov:iam::aws:policy/AdministratorAccess", "native-user"),
        (iam.sso_permission_set_admin, "managedPolicyArn", "AdministratorAccess"),
    ):
        ds = judge(pack, program).by_policy("iam-least-privilege")
        assert any(d.mandatory and where in str(d) and policy in str(d) for d in ds), [str(d) for d in ds]


def test_iam_evasions_say_what_they_grant(pack):
    for program, text in (
        (iam.native_user_policy_not_action, "allows every action except NotAction"),
        (iam.policy_not_action, "allows every action except NotAction"),
        (iam.user_policy_not_resource, "on everything except NotResource"),
        (iam.group_policy_escalation_pattern, "iam:PutRolePolicy"),
        (iam.escalation_on_every_role, "allows IAM privilege escalation (iam:PutRolePolicy"),
        (iam.role_inline_sts_star, "allows every sts action ('sts:*') on every resource"),
        (iam.native_role_policy_ec2_star_on_every_arn, "allows every EC2 action ('EC2:*') on every resource"),
        (iam.native_permission_set_inline_star, "allows Action '*:*' (every service)"),
        (iam.trust_everyone_but, "trusts everyone except NotPrincipal"),
    ):
        (d,) = judge(pack, program).by_policy("iam-least-privilege")
        assert d.mandatory and text in d.message, (program.__name__, d.message)


def test_oidc_trust_names_the_missing_or_loose_claim(pack):
    host = iam.GITHUB
    for program, text in (
        (iam.github_oidc_without_sub, f"without a condition on {host}:sub"),
        (iam.github_oidc_any_repo, f"{host}:sub ['repo:*'] does not pin an owner"),
        (iam.github_oidc_owner_prefix, "does not pin an owner"),
        (iam.github_oidc_sub_if_exists, f"StringLikeIfExists does not require {host}:sub to match"),
        (iam.github_oidc_without_aud, f"without a condition on {host}:aud"),
        (iam.eks_oidc_any_service_account, f"{iam.EKS}:sub ['system:serviceaccount:*'] does not pin an owner"),
    ):
        (d,) = judge(pack, program).by_policy("iam-oidc-trust-pinned")
        assert d.mandatory and text in d.message, (program.__name__, d.message)
    relaxed = judge(
        pack, iam.github_oidc_without_aud, policy_config={"iam-oidc-trust-pinned": {"requireAudience": False}}
    )
    assert relaxed.by_policy("iam-oidc-trust-pinned") == []


def test_secret_rules_name_the_secret_and_the_statement(pack):
    (d,) = judge(pack, secrets.policy_for_another_secret).by_policy("secret-has-resource-policy")
    assert d.mandatory and d.name == "other-token" and "has no resource policy" in d.message
    (d,) = judge(pack, secrets.native_resource_policy_public).by_policy("secret-policy-not-public")
    assert d.type == "aws-native:secretsmanager:ResourcePolicy" and "public principal" in d.message
    (d,) = judge(pack, secrets.allow_with_not_principal).by_policy("secret-policy-not-public")
    assert "NotPrincipal" in d.message


def test_dev_stack_admin_secret_needs_its_resource_policy(pack, dev_config):
    """Every secret of the dev stack has a resource policy; without the Admin password's, the stack fails
    secret-has-resource-policy on that secret."""
    result = run_program(ROOT / "__main__.py", dev_config, preview=False)
    assert result.error is None, result.error
    without = [r for r in result.registrations if r.name != "hp-dev-directory-admin-deployer-only"]
    assert len(without) == len(result.registrations) - 1
    report = pack.analyze(without, outputs=result.outputs, config=dev_config, policy_config=PROD)
    (d,) = report.by_policy("secret-has-resource-policy")
    assert d.mandatory and d.name == "hp-dev-directory-admin"


def test_bucket_tls_deny_must_name_the_bucket(pack):
    (d,) = judge(pack, buckets.tls_deny_names_another_bucket).by_policy("bucket-protection")
    assert "arn:aws:s3:::other-bucket" in d.message and "does not name this bucket and its objects" in d.message
    (d,) = judge(pack, buckets.tls_deny_bucket_but_not_objects).by_policy("bucket-protection")
    assert "does not name this bucket and its objects" in d.message
    (d,) = judge(pack, buckets.native_bucket_partial_block).by_policy("bucket-protection")
    assert (
        d.type == "aws-native:s3:Bucket"
        and "publicAccessBlockConfiguration leaves restrictPublicBuckets off" in d.message
    )
    (d,) = judge(pack, buckets.native_bare_bucket).by_policy("bucket-protection")
    assert "no BucketPublicAccessBlock nor publicAccessBlockConfiguration" in d.message


# ---------------------------------------------------------------- network rules: unions, prefix lists, default groups, routes
def test_no_world_ssh_judges_the_union_of_a_groups_sources(pack):
    """Halves of the internet in two rules on one group are one violation, on the group, naming both rules.
    Pieces that are not the internet alone are one when they land on the same group, and not on two groups."""
    (d,) = judge(pack, security_groups.two_rules_cover_the_internet).by_policy("no-world-ssh")
    assert d.name == "split" and d.mandatory
    assert "0.0.0.0/1 (ssh-half-0)" in d.message and "128.0.0.0/1 (ssh-half-1)" in d.message
    assert "together 100%" in d.message
    (d,) = judge(pack, security_groups.pieces_on_one_group_cover_the_internet).by_policy("no-world-ssh")
    assert d.name == "pieces" and "32.0.0.0/5 (ssh-piece-0)" in d.message and "40.0.0.0/5 (ssh-piece-1)" in d.message

    def two_groups():
        vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16")
        for i, cidr in enumerate(security_groups.PIECES):
            sg = aws.ec2.SecurityGroup(f"half-{i}", vpc_id=vpc.id)
            aws.vpc.SecurityGroupIngressRule(
                f"ssh-{i}", security_group_id=sg.id, ip_protocol="tcp", from_port=22, to_port=22, cidr_ipv4=cidr
            )

    import pulumi_aws as aws

    assert judge(pack, two_groups).by_policy("no-world-ssh") == []


def test_no_world_ssh_prefix_list_outside_the_stack_cannot_be_judged(pack):
    """A prefix list the stack does not hold (AWS-managed, literal pl-...) is a "cannot judge" note, at preview
    and once deployed: never a silent pass."""
    for preview_mode in (True, False):
        (d,) = judge(pack, security_groups.aws_managed_prefix_list, preview=preview_mode, policy_config=PROD).by_policy(
            "no-world-ssh"
        )
        assert d.cannot_judge and d.level == "advisory"
        assert "pl-0a1b2c3d4e5f60718" in d.message and "not a prefix list of this stack" in d.message


def test_private_subnets_route_to_a_literal_table_is_never_dropped(pack):
    """A route to the internet gateway naming a route table that is not in the stack: at preview, while the
    subnet's main table ID is unknown, a note naming the route; once known (another table), judged private."""
    (n,) = judge(pack, subnets.route_by_literal_id_on_unknown_table, preview=True).by_policy("private-subnets")
    assert n.cannot_judge and "route literal-default" in n.message and "rtb-0c0c0c0c0c0c0c0c0" in n.message
    deployed = judge(pack, subnets.route_by_literal_id_on_unknown_table, policy_config=PROD)
    assert deployed.by_policy("private-subnets") == [] and deployed.notes == []


def test_internet_facing_load_balancer_is_for_internal_load_balancers_only(pack):
    """An internet-facing ALB in a public subnet is not a private-subnets placement; internal-load-balancers
    reports it by default, and passes it only when configured to judge network load balancers alone."""
    report = judge(pack, load_balancers.internet_facing_alb, policy_config=PROD)
    assert report.by_policy("private-subnets") == []
    (d,) = report.by_policy("internal-load-balancers")
    assert d.mandatory and "internet-facing application load balancer" in d.message
    narrowed = judge(
        pack,
        load_balancers.internet_facing_alb,
        policy_config={"internal-load-balancers": {"loadBalancerTypes": ["network"]}},
    )
    assert narrowed.by_policy("internal-load-balancers") == []


def test_no_plaintext_ldap_reports_groups_and_listeners_of_every_kind(pack):
    """389 and 3268 listeners of classic load balancers (pulumi-aws and aws-native), and a group admitting
    389 from anything but the directory NLB's group, name the port and the source."""
    reported = judge(pack, load_balancers.classic_elb_ldap_listeners).by_policy("no-plaintext-ldap")
    assert {d.name: "port" in d.message for d in reported} == {"legacy-ldap": True, "native-gc": True}
    assert any("port 3268" in d.message for d in reported) and any("port 389" in d.message for d in reported)
    (d,) = judge(pack, load_balancers.dc_group_ldap_from_vpc_cidr).by_policy("no-plaintext-ldap")
    assert d.name == "dc-ldap" and "TCP 389" in d.message and "10.0.0.0/16" in d.message
