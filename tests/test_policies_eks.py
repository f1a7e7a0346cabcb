"""The EKS guardrails, driven through the engine's analyzer protocol like tests/test_policies.py.

eks-endpoint-access and eks-authentication-mode on the three EKS cluster shapes (the pulumi-eks component's
inputs through the real ``pulumi_eks`` SDK under mocks, ``aws.eks.Cluster``, aws-native ``eks.Cluster``), and
private-subnets and hyperpod-resilience on EKS clusters and EKS-orchestrated HyperPod clusters
(tests/policy_programs/eks.py). Every program runs under mocks (tools.harness.run_program) and the pack judges
it as a subprocess over gRPC (tools.policy_harness).
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.conftest import ROOT
from tests.policy_programs import eks as programs
from tests.policy_programs.eks import EKS_COMPLIANT, EKS_UNKNOWN_AT_PREVIEW, EKS_VIOLATING
from tests.policy_support import REGION, guardrails_only, judge, program_id
from tools.harness import run_program
from tools.policy_harness import PROD_CONFIG, load_policy_config

PROD = load_policy_config(PROD_CONFIG)
EKS_RULES = ("eks-endpoint-access", "eks-authentication-mode")
ADVISORY_BY_DEFAULT = {"hyperpod-resilience"}
EKS_STACK = ROOT / "tests" / "policy_programs" / "eks_stack.py"
ALL_PROGRAMS = sorted(
    {p for table in (EKS_COMPLIANT, EKS_VIOLATING) for progs in table.values() for p in progs}
    | {p for p, _ in EKS_UNKNOWN_AT_PREVIEW},
    key=lambda p: p.__name__,
)


def messages(report, rule):
    return [d.message for d in report.by_policy(rule)]


# ---------------------------------------------------------------- the pack
def test_eks_rules_are_mandatory_resource_policies_on_every_cluster_shape(pack):
    """Both rules are resource policies (Analyze sees a resource's inputs before it is created), mandatory by
    default and in prod.json, with a described config schema whose options have defaults."""
    from google.protobuf import json_format
    from pulumi.runtime.proto import analyzer_pb2

    policies = {p.name: p for p in pack.info().policies}
    for name in EKS_RULES:
        p = policies[name]
        assert p.policy_type == analyzer_pb2.POLICY_TYPE_RESOURCE, name
        assert analyzer_pb2.EnforcementLevel.Name(p.enforcementLevel) == "MANDATORY", name
        assert p.remediation_steps and p.description, name
        schema = json_format.MessageToDict(p.configSchema)
        assert all("default" in prop and "description" in prop for prop in schema["properties"].values()), name
        assert PROD[name] == "mandatory"


# ---------------------------------------------------------------- every rule: compliant and violating programs
@pytest.mark.parametrize("rule,program", [(r, p) for r, progs in EKS_COMPLIANT.items() for p in progs], ids=program_id)
def test_compliant_eks_program_passes(pack, rule, program):
    """No violation of its rule nor of any other under prod.json, and nothing left unjudged, at preview (IDs
    unknown: subnets judged through dependencies) and once deployed."""
    for preview in (True, False):
        report = judge(pack, program, preview=preview, policy_config=guardrails_only(PROD))
        assert report.violations == [], [str(d) for d in report.violations]
        assert report.notes == [], [str(d) for d in report.notes]


@pytest.mark.parametrize("rule,program", [(r, p) for r, progs in EKS_VIOLATING.items() for p in progs], ids=program_id)
def test_violating_eks_program_is_reported(pack, rule, program):
    """Reported by its rule on a resource of the program, at the rule's default level, mandatory under
    prod.json."""
    result = run_program(program, REGION, preview=False)
    assert result.error is None, result.error
    urns = {r.urn for r in result.registrations}
    default = pack.analyze(result.registrations, outputs=result.outputs, config=REGION).by_policy(rule)
    assert default, f"{rule} did not report {program.__name__}"
    assert all(d.urn in urns and not d.cannot_judge for d in default), [str(d) for d in default]
    assert {d.level for d in default} == {"advisory" if rule in ADVISORY_BY_DEFAULT else "mandatory"}
    prod = pack.analyze(result.registrations, outputs=result.outputs, config=REGION, policy_config=PROD)
    assert {d.level for d in prod.by_policy(rule)} == {"mandatory"}


@pytest.mark.parametrize("program", ALL_PROGRAMS, ids=program_id)
def test_preview_never_crashes_an_eks_rule(pack, program):
    report = judge(pack, program, preview=True, policy_config=PROD)
    for d in report.notes:
        assert d.level == "advisory" and d.message.startswith("can't run policy")


@pytest.mark.parametrize("rule,program", [(r, p) for r, progs in EKS_VIOLATING.items() for p in progs], ids=program_id)
def test_preview_never_passes_an_eks_violation_silently(pack, rule, program):
    report = judge(pack, program, preview=True)
    assert report.by_policy(rule), f"{rule} was silent on {program.__name__} at preview"


@pytest.mark.parametrize("program,rule", EKS_UNKNOWN_AT_PREVIEW, ids=program_id)
def test_unknown_at_preview_is_a_note_then_judged(pack, program, rule):
    preview = judge(pack, program, preview=True, policy_config=PROD).by_policy(rule)
    assert preview and all(d.cannot_judge and d.level == "advisory" for d in preview), [str(d) for d in preview]
    assert "not known yet" in preview[0].message
    deployed = judge(pack, program, policy_config=PROD).by_policy(rule)
    assert deployed and all(d.mandatory and not d.cannot_judge for d in deployed), [str(d) for d in deployed]


# ---------------------------------------------------------------- eks-endpoint-access: what it says
def test_endpoint_defaults_are_judged_as_their_effective_values(pack):
    """pulumi-eks without endpoint arguments: private access is false and the public endpoint is open to
    0.0.0.0/0, each said with the default that decided it and the fix."""
    found = judge(pack, programs.component_endpoint_defaults).by_policy("eks-endpoint-access")
    assert {(d.name, d.type) for d in found} == {("hp-eks", "eks:index:Cluster")}
    text = " | ".join(d.message for d in found)
    assert "pulumi-eks cluster hp-eks: endpointPrivateAccess is not set, so it is false (the pulumi-eks default)" in (
        text
    )
    assert "set eks.Cluster(..., endpoint_private_access=True)" in text
    assert (
        "endpointPublicAccess is not set, so it is true (the pulumi-eks default) and publicAccessCidrs is not set"
        in (text)
    )
    assert "so AWS opens the public endpoint to 0.0.0.0/0 (its default)" in text
    assert "endpoint_public_access=False" in text


@pytest.mark.parametrize(
    "program,needle",
    [
        (programs.component_public_world, "publicAccessCidrs ['0.0.0.0/0'] admit 100% of the public internet"),
        (programs.component_public_halves, "publicAccessCidrs ['0.0.0.0/1', '128.0.0.0/1'] admit 100%"),
        (programs.aws_cluster_public_ipv6_world, f"vpcConfig.publicAccessCidrs ['{programs.OFFICE}', '::/0'] admit"),
        (programs.component_public_without_cidrs, "endpointPublicAccess is true and publicAccessCidrs is not set"),
        (programs.aws_cluster_endpoint_defaults, "vpcConfig.endpointPrivateAccess is not set, so it is false"),
        (programs.native_cluster_private_off, "resourcesVpcConfig.endpointPrivateAccess is false"),
        (
            programs.native_cluster_public_default_cidrs,
            "resourcesVpcConfig.endpointPublicAccess is not set, so it is true (the CloudFormation and EKS "
            "default) and resourcesVpcConfig.publicAccessCidrs is not set",
        ),
    ],
    ids=lambda v: getattr(v, "__name__", "needle"),
)
def test_endpoint_messages_name_the_value_and_the_fix(pack, program, needle):
    found = messages(judge(pack, program), "eks-endpoint-access")
    assert any(needle in m for m in found), found
    assert all(" set " in m or "list the administrators' ranges" in m for m in found), found


def test_endpoint_policy_config_narrows_the_public_endpoint(pack):
    """publicEndpoint: off refuses any public endpoint; allowedPublicCidrs refuses ranges outside it."""
    program = programs.component_public_endpoint_limited
    (off,) = judge(pack, program, policy_config={"eks-endpoint-access": {"publicEndpoint": "off"}}).by_policy(
        "eks-endpoint-access"
    )
    assert "publicEndpoint: off" in off.message and "endpoint_public_access=False" in off.message
    narrowed = {"eks-endpoint-access": {"allowedPublicCidrs": ["10.0.0.0/8", "198.51.100.0/24"]}}
    (outside,) = judge(pack, program, policy_config=narrowed).by_policy("eks-endpoint-access")
    assert f"entries ['{programs.OFFICE}'] are outside the ranges the policy config allows" in outside.message
    inside = {"eks-endpoint-access": {"allowedPublicCidrs": ["81.2.0.0/16"]}}
    assert judge(pack, program, policy_config=inside).by_policy("eks-endpoint-access") == []


# ---------------------------------------------------------------- eks-authentication-mode: what it says
@pytest.mark.parametrize(
    "program,needle",
    [
        (
            programs.component_auth_default,
            "pulumi-eks cluster hp-eks: authenticationMode is not set, so it is CONFIG_MAP (the pulumi-eks default)",
        ),
        (programs.component_auth_config_map, "authenticationMode is CONFIG_MAP; HyperPod needs API or API_AND_CONFIG"),
        (programs.aws_cluster_auth_default, "EKS cluster eks: accessConfig.authenticationMode is not set, so it is"),
        (programs.native_cluster_auth_config_map, "accessConfig.authenticationMode is CONFIG_MAP"),
    ],
    ids=lambda v: getattr(v, "__name__", "needle"),
)
def test_authentication_mode_messages(pack, program, needle):
    (d,) = judge(pack, program).by_policy("eks-authentication-mode")
    assert needle in d.message and "set " in d.message and "authentication_mode" in d.message, d.message


def test_authentication_mode_config_can_require_api_only(pack):
    program = programs.component_public_endpoint_limited  # API_AND_CONFIG_MAP
    assert judge(pack, program).by_policy("eks-authentication-mode") == []
    (d,) = judge(pack, program, policy_config={"eks-authentication-mode": {"allowedModes": ["API"]}}).by_policy(
        "eks-authentication-mode"
    )
    assert "authenticationMode is API_AND_CONFIG_MAP; HyperPod needs API" in d.message


# ---------------------------------------------------------------- a remote component: inputs offline, child in a real preview
def test_component_without_inputs_is_judged_through_its_child(pack):
    """A real preview's shape: the component registered without inputs (as its plugin does) is never judged
    as if it had the defaults; its aws:eks/cluster:Cluster child is, by every rule, once."""
    report = judge(pack, programs.real_preview_shape, policy_config=guardrails_only(PROD))
    assert report.diagnostics == [], [str(d) for d in report.diagnostics]
    report = judge(pack, programs.real_preview_child_in_public_subnet, policy_config=guardrails_only(PROD))
    (d,) = report.by_policy("private-subnets")
    assert (d.name, d.type) == ("hp-eks-eksCluster", "aws:eks/cluster:Cluster")
    assert "vpcConfig.subnetIds: subnet public uses route table public-rt" in d.message


def test_bare_component_offline_is_placed_in_the_default_vpc(pack):
    """pulumi-eks with no arguments at all registers no inputs: the endpoint and authentication rules cannot
    tell it from the plugin's own registration (they judge its child in a real preview), but private-subnets,
    which sees that it has no child, reports the default VPC it would land in."""
    import pulumi_eks as eks

    report = judge(pack, lambda: eks.Cluster("bare"), policy_config=guardrails_only(PROD))
    (d,) = report.by_policy("private-subnets")
    assert d.name == "bare" and "no VPC nor subnets given" in d.message and "default VPC" in d.message
    assert [x.policy for x in report.diagnostics] == ["private-subnets"]


# ---------------------------------------------------------------- private-subnets on EKS
@pytest.mark.parametrize(
    "program,name,needle",
    [
        (programs.component_public_subnet_ids, "hp-eks", "publicSubnetIds: subnet public uses route table public-rt"),
        (programs.component_subnet_ids_public, "hp-eks", "subnetIds: subnet public uses route table public-rt"),
        (programs.component_node_subnets_public, "hp-eks", "nodeSubnetIds: subnet public uses route table"),
        (programs.component_default_vpc, "hp-eks", "pulumi-eks then places the control plane in the default VPC"),
        (programs.native_cluster_in_public_subnet, "native-eks", "resourcesVpcConfig.subnetIds: subnet public uses"),
        (programs.hyperpod_on_eks_in_public_subnet, "hyperpod", "vpcConfig.subnets: subnet public uses"),
        (
            programs.hyperpod_on_eks_group_override_public,
            "hyperpod",
            "instanceGroups[].overrideVpcConfig.subnets: subnet public uses",
        ),
    ],
    ids=lambda v: getattr(v, "__name__", str(v)[:20]),
)
def test_private_subnets_names_the_eks_input_and_the_route(pack, program, name, needle):
    (d,) = judge(pack, program).by_policy("private-subnets")
    assert d.name == name and d.mandatory and needle in d.message, d.message
    assert "internet gateway" in d.message or "default VPC" in d.message


def test_private_subnets_judges_managed_node_groups(pack):
    found = judge(pack, programs.nodegroups_in_public_subnet).by_policy("private-subnets")
    assert {(d.name, d.type) for d in found} == {
        ("workers", "aws:eks/nodeGroup:NodeGroup"),
        ("native-workers", "aws-native:eks:Nodegroup"),
    }


# ---------------------------------------------------------------- hyperpod-resilience on EKS
@pytest.mark.parametrize(
    "program,needle",
    [
        (programs.hyperpod_on_eks_recovery_none, "EKS-orchestrated HyperPod cluster hyperpod: nodeRecovery is None"),
        (programs.hyperpod_on_eks_recovery_unset, "nodeRecovery is unset; set it to Automatic"),
        (
            programs.hyperpod_on_eks_gpu_without_checks,
            "accelerated instance group gpu (ml.g5.12xlarge) does not run the deep health check(s) "
            "InstanceStress, InstanceConnectivity",
        ),
        (programs.hyperpod_on_eks_flexible_group_without_checks, "accelerated instance group flex (ml.p4d.24xlarge)"),
        (
            programs.hyperpod_on_eks_restricted_group_one_check,
            "accelerated restricted instance group nova (ml.p5.48xlarge) does not run the deep health check(s) "
            "InstanceConnectivity",
        ),
    ],
    ids=lambda v: getattr(v, "__name__", "needle"),
)
def test_resilience_on_eks_names_cluster_group_and_fix(pack, program, needle):
    (d,) = judge(pack, program).by_policy("hyperpod-resilience")
    assert needle in d.message and d.level == "advisory", d.message


def test_resilience_names_the_slurm_orchestrator_too(pack):
    from tests.policy_programs import hyperpod

    (d,) = judge(pack, hyperpod.node_recovery_none).by_policy("hyperpod-resilience")
    assert d.message.startswith("Slurm-orchestrated HyperPod cluster cluster: nodeRecovery is None")


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


def test_eks_stack_preview_passes_and_defaults_fail_naming_the_rules(tmp_path):
    """`scripts/preview --program tests/policy_programs/eks_stack.py --policy-config prod.json` (the guardrails:
    the program is a fragment of a platform, which the behaviour checks judge whole): the EKS control plane and
    HyperPod cluster pass; the control plane with pulumi-eks's defaults exits 1 naming both EKS rules and the
    component."""
    config = tmp_path / "guardrails.json"
    config.write_text(json.dumps(guardrails_only(json.loads(PROD_CONFIG.read_text()))))
    ok = _preview("--stack", "dev", "--quiet", "--program", str(EKS_STACK), "--policy-config", str(config))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "Policy check: 0 mandatory, 0 advisory violation(s)." in ok.stdout
    bad = _preview(
        "--stack",
        "dev",
        "--quiet",
        "--program",
        str(EKS_STACK),
        "--policy-config",
        str(config),
        env={"EKS_VARIANT": "defaults"},
    )
    assert bad.returncode == 1, bad.stdout + bad.stderr
    lines = [ln for ln in bad.stderr.splitlines() if ln.startswith("  [mandatory] ")]
    assert {ln.split(":")[0].split("] ")[1] for ln in lines} == set(EKS_RULES), bad.stderr
    assert all("hp-eks (eks:index:Cluster)" in ln for ln in lines), bad.stderr
