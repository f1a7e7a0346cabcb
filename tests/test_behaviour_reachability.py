"""The reachability behaviour check (policies/rules/behaviour_reachability.py): on the shipped stacks every flow
the platform needs is proved and nothing is a problem; a private EKS endpoint with no path for `pulumi up` (and no
VPN rule) is reported naming the cluster and the flow, by ``evaluate`` and through the analyzer protocol; a flow
the stack states (``DeployFrom``) is judged on that path alone."""

import dataclasses
import json
from pathlib import Path

import pytest

from hyperpod_platform import ClientVpn, ClientVpnArgs, EksControlPlane, EksControlPlaneArgs, Network, NetworkArgs
from hyperpod_platform.settings import EksSettings, NetworkSettings, VpnSettings
from policies.rules._behaviour import graph_of
from policies.rules.behaviour_reachability import NAME, evaluate
from tests.conftest import ROOT
from tests.policy_support import judge
from tools.harness import config_from_stack_file, run_program

COMMON = [
    "nodes -> FSx ",  # tcp/988 and tcp/1018-1023, each its own flow
    "nodes -> S3 lifecycle bucket ",
    "nodes -> S3 ECR image layers (prod-us-east-1-starport-layer-bucket)",
    "nodes -> ECR API tcp/443",
    "internet -> security group ",
]
REQUIRED = {
    "dev": COMMON
    + [
        "vpn client -> login NLB hp-dev-login tcp/22",
        "login NLB hp-dev-login -> login nodes tcp/22",
        "nodes -> LDAPS NLB hp-dev-ldaps tcp/636",
        "LDAPS NLB hp-dev-ldaps -> domain controllers tcp/389",
        "internet -> load balancer hp-dev-login closed",
    ],
    "prod": COMMON
    + [
        "vpn client -> login NLB hp-prod-login tcp/22",
        "login NLB hp-prod-login -> login nodes tcp/22",
        "nodes -> LDAPS NLB hp-prod-ldaps tcp/636",
        "LDAPS NLB hp-prod-ldaps -> domain controllers tcp/389",
    ],
    "eks-dev": COMMON
    + [
        "deployer (public) -> eks api hp-eks-dev-eks tcp/443",
        "vpn client -> eks api hp-eks-dev-eks tcp/443",
        "nodes -> eks api hp-eks-dev-eks tcp/443",
        "internet -> eks api hp-eks-dev-eks tcp/443 closed",
    ],
}


def _findings(stack: str):
    result = run_program(
        ROOT / "__main__.py", config_from_stack_file(ROOT / f"Pulumi.{stack}.yaml"), preview=False, stack=stack
    )
    assert result.error is None, result.error
    return evaluate(graph_of(result.registrations), {})


@pytest.mark.parametrize("stack", sorted(REQUIRED))
def test_every_flow_a_shipped_stack_needs_is_proved_open(stack):
    found = _findings(stack)
    assert not found.problems, [p.message for p in found.problems]
    assert not found.unknown, found.unknown  # with values resolved every id is known
    for flow in REQUIRED[stack]:
        assert any(p.startswith(flow) for p in found.proved), (flow, found.proved)
    assert any(p.startswith("nodes -> FSx ") and p.endswith("tcp/1018-1023") for p in found.proved)


# ---------------------------------------------------------------------------------- the EKS API, by path
NET = NetworkSettings(
    mode="create",
    availability_zones=("us-east-1a", "us-east-1b"),
    vpc_cidr="10.50.0.0/16",
    private_subnet_cidrs=("10.50.0.0/18", "10.50.64.0/18"),
    public_subnet_cidrs=("10.50.192.0/24", "10.50.193.0/24"),
    nat_gateways="single",
)
VPN = VpnSettings(enabled=True, client_cidr="10.255.0.0/22", clients=("alice",))


def _platform(eks: EksSettings, vpn: bool = False, vpn_rule: bool = True):
    """The network, optionally the Client VPN (admitted on 443 by the control plane's group, or not), and the
    EKS control plane on the cluster security group."""

    def program():
        net = Network("t", NetworkArgs(settings=NET, tags={}, region="us-east-1"))
        subnets = [s.id for s in net.private_subnets]
        if vpn:
            api = [net.cluster_security_group.id] if vpn_rule else []
            ClientVpn(
                "t",
                ClientVpnArgs(
                    settings=VPN,
                    vpc_id=net.vpc_id,
                    vpc_cidr=NET.vpc_cidr,
                    subnet_ids=subnets,
                    tags={},
                    api_security_group_ids=api,
                ),
            )
        EksControlPlane(
            "t",
            EksControlPlaneArgs(
                settings=eks,
                cluster_name="t-eks",
                vpc_id=net.vpc_id,
                subnet_ids=subnets,
                cluster_security_group=net.cluster_security_group,
                tags={},
            ),
        )

    return program


def _evaluate(program, preview=False):
    result = run_program(program, {"aws:region": "us-east-1"}, preview=preview)
    assert result.error is None, result.error
    return evaluate(graph_of(result.registrations), {})


PRIVATE_ONLY = EksSettings(endpoint_public_access=False)


@pytest.mark.parametrize("preview", [False, True], ids=["up", "preview"])
def test_a_private_endpoint_with_no_deployer_path_is_a_problem_on_the_cluster(preview):
    found = _evaluate(_platform(PRIVATE_ONLY), preview)
    (problem,) = [p for p in found.problems if "deployer" in p.message]
    assert problem.node is not None and problem.node.type == "eks:index:Cluster" and problem.node.name == "t-eks"
    assert "flow deployer (any) -> eks api t-eks tcp/443 is closed" in problem.message
    assert "eks.deployFrom" in problem.message  # the fix
    assert not any(p.startswith("deployer") for p in found.proved)


def test_the_same_plan_fails_through_the_analyzer_naming_the_cluster_and_the_flow(pack):
    report = judge(pack, _platform(PRIVATE_ONLY), policy_config={NAME: "mandatory"})
    (violation,) = [d for d in report.by_policy(NAME) if not d.cannot_judge]
    assert violation.mandatory and violation.name == "t-eks" and violation.type == "eks:index:Cluster"
    assert "deployer (any) -> eks api t-eks tcp/443 is closed" in violation.message


def test_the_vpn_rule_opens_the_api_to_vpn_clients_and_the_vpn_deployer():
    found = _evaluate(_platform(EksSettings(deploy_from="vpn"), vpn=True))
    assert not found.problems, [p.message for p in found.problems]
    assert "vpn client -> eks api t-eks tcp/443" in found.proved
    assert "deployer (vpn) -> eks api t-eks tcp/443" in found.proved


def test_without_the_vpn_rule_the_vpn_deployer_is_refused_naming_the_vpn_group():
    """Client VPN traffic carries the endpoint's group and its subnets' addresses: the VPC-wide egress of the
    VPN's group does not help when the control plane's group does not admit it."""
    found = _evaluate(_platform(EksSettings(deploy_from="vpn"), vpn=True, vpn_rule=False))
    messages = [p.message for p in found.problems]
    assert any("flow vpn client -> eks api t-eks tcp/443 is closed" in m and "t-vpn-sg" in m for m in messages)
    assert any("flow deployer (vpn) -> eks api t-eks tcp/443 is closed" in m for m in messages)


def test_a_stated_public_deployer_is_judged_on_the_public_endpoint_only():
    """A range admitted on 443 does not stand in for the public path the cluster says `pulumi up` takes."""
    settings = EksSettings(deploy_from="public", endpoint_public_access=True, public_access_cidrs=("203.0.113.0/28",))
    found = _evaluate(_platform(settings))
    assert "deployer (public) -> eks api t-eks tcp/443" in found.proved
    assert "internet -> eks api t-eks tcp/443 closed (public endpoint: ['203.0.113.0/28'])" in found.proved


def test_private_ranges_inside_the_vpc_open_the_private_deployer_and_ranges_outside_need_a_route():
    inside = _evaluate(_platform(EksSettings(deploy_from="private", private_access_cidrs=("10.50.0.0/24",))))
    assert "deployer (private) -> eks api t-eks tcp/443" in inside.proved
    outside = _evaluate(_platform(EksSettings(deploy_from="private", private_access_cidrs=("10.99.0.0/16",))))
    (problem,) = [p for p in outside.problems if "deployer" in p.message]
    assert "10.99.0.0/16 is outside the VPC" in problem.message and "no route" in problem.message


def test_a_public_endpoint_without_ranges_is_the_internet_reaching_the_api():
    """pulumi-eks used directly (EksControlPlane refuses it): a public endpoint with no ranges is 0.0.0.0/0."""
    import pulumi_eks as eks

    def program():
        net = Network("t", NetworkArgs(settings=NET, tags={}, region="us-east-1"))
        eks.Cluster(
            "t-eks",
            vpc_id=net.vpc_id,
            private_subnet_ids=[s.id for s in net.private_subnets],
            endpoint_private_access=True,
            endpoint_public_access=True,
            skip_default_node_group=True,
            skip_default_security_groups=True,
            cluster_security_group=net.cluster_security_group,
        )

    found = _evaluate(program)
    assert any("flow internet -> eks api t-eks tcp/443 is open" in p.message for p in found.problems)


def test_the_shipped_eks_stack_states_where_pulumi_up_runs():
    """Pulumi.eks-dev.yaml's deployFrom reaches the plan as the cluster's DeployFrom tag, which the check reads."""
    result = run_program(
        ROOT / "__main__.py", config_from_stack_file(ROOT / "Pulumi.eks-dev.yaml"), preview=False, stack="eks-dev"
    )
    assert result.error is None, result.error
    assert result.one("eks:index:Cluster").inputs["tags"]["DeployFrom"] == "public"


def test_the_check_is_mandatory_in_the_production_policy_config():
    assert json.loads(Path(ROOT / "policies/config/prod.json").read_text())[NAME] == "mandatory"


# ---------------------------------------------------------------------------------- one defect at a time
@pytest.fixture(scope="module")
def dev_plan() -> list:
    result = run_program(ROOT / "__main__.py", config_from_stack_file(ROOT / "Pulumi.dev.yaml"), preview=False)
    assert result.error is None, result.error
    return result.registrations


def _judge_without(plan: list, *names: str, **inputs):
    """The plan with the resources ``names`` removed (no ``inputs``) or with ``inputs`` changed."""
    regs = []
    for r in plan:
        if r.name in names:
            if not inputs:
                continue
            r = dataclasses.replace(r, inputs={**r.inputs, **inputs}, outputs={**r.outputs, **inputs})
        regs.append(r)
    assert len(regs) == len(plan) - (0 if inputs else len(names)), names
    return evaluate(graph_of(regs), {})


def _problem(found, flow: str):
    hits = [p for p in found.problems if f"flow {flow}" in p.message]
    assert len(hits) == 1, (flow, [p.message for p in found.problems])
    assert flow not in found.proved
    return hits[0]


def test_a_missing_lustre_port_rule_closes_that_fsx_flow_on_the_file_system(dev_plan):
    """Without the group's all-traffic self rule, each Lustre rule carries its own ports: the 988 flow stays open,
    the 1018-1023 flow closes when its rule goes."""
    found = _judge_without(dev_plan, "hp-dev-cluster-self-in", "hp-dev-cluster-lustre-1018")
    p = _problem(found, "nodes -> FSx hp-dev-lustre tcp/1018-1023")
    assert p.node.name == "hp-dev-lustre" and "hp-dev-cluster-sg" in p.message and "admit" in p.message
    assert "nodes -> FSx hp-dev-lustre tcp/988" in found.proved


def test_a_login_nlb_that_cannot_send_to_the_nodes_is_named_with_its_group(dev_plan):
    p = _problem(_judge_without(dev_plan, "hp-dev-nlb-to-login"), "login NLB hp-dev-login -> login nodes tcp/22")
    assert p.node.name == "hp-dev-login" and "egress rule of security group hp-dev-nlb-sg" in p.message


def test_ldaps_from_the_nodes_needs_the_directory_nlbs_ingress(dev_plan):
    p = _problem(_judge_without(dev_plan, "hp-dev-ldaps-nlb-in-636"), "nodes -> LDAPS NLB hp-dev-ldaps tcp/636")
    assert p.node.name == "hp-dev-ldaps" and "hp-dev-ldaps-nlb-sg" in p.message


def test_vpn_clients_reach_the_login_nlb_by_the_vpn_subnets_not_the_client_range(dev_plan):
    """Client VPN sends from its ENIs in the associated subnets: without the VPC-range rule, the client-range
    rule (10.255.0.0/22) does not let a VPN client in."""
    p = _problem(_judge_without(dev_plan, "hp-dev-nlb-ssh-0"), "vpn client -> login NLB hp-dev-login tcp/22")
    assert p.node.name == "hp-dev-login" and "hp-dev-vpn-sg" in p.message


def test_an_endpoint_policy_of_own_principals_only_closes_the_ecr_layer_flow_on_the_endpoint(dev_plan):
    own_only = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:PrincipalAccount": "123456789012"}},
            }
        ],
    }
    found = _judge_without(dev_plan, "hp-dev-s3", policy=json.dumps(own_only))
    p = _problem(found, "nodes -> S3 ECR image layers (prod-us-east-1-starport-layer-bucket)")
    assert p.node.type == "aws:ec2/vpcEndpoint:VpcEndpoint" and "requests ECR signs" in p.message
    assert any(f.startswith("nodes -> S3 lifecycle bucket ") for f in found.proved)  # own principals still pass


def test_a_security_group_open_to_the_internet_is_a_problem_naming_it(dev_plan):
    found = _judge_without(dev_plan, "hp-dev-nlb-ssh-2", cidrIpv4="0.0.0.0/0")
    (p,) = [p for p in found.problems if "flow internet -> security group hp-dev-nlb-sg is open" in p.message]
    assert p.node.name == "hp-dev-nlb-sg" and "100%" in p.message


def test_nodes_without_a_nat_route_or_ecr_endpoint_cannot_reach_the_ecr_api(dev_plan):
    found = _judge_without(dev_plan, "hp-dev-private-0-default")
    p = _problem(found, "nodes -> ECR API tcp/443")
    assert p.node.type == "aws-native:sagemaker:Cluster" and "ecr.api interface endpoint" in p.message


@pytest.mark.parametrize("stack", ["dev", "eks-dev"])
def test_at_preview_nothing_is_a_problem_and_only_unknown_values_are_left_to_judge(stack):
    result = run_program(
        ROOT / "__main__.py", config_from_stack_file(ROOT / f"Pulumi.{stack}.yaml"), preview=True, stack=stack
    )
    assert result.error is None, result.error
    found = evaluate(graph_of(result.registrations), {})
    assert not found.problems, [p.message for p in found.problems]
    assert found.unknown and all("not known yet" in u for u in found.unknown)
