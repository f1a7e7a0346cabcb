"""Issue 17's acceptance through ``scripts/preview``: the shipped stacks pass with the default pack config and
with prod.json, and each defect put back into the shipped program (tests/policy_programs/defects_stack.py)
makes the preview exit non-zero naming the resource and the flow, permission or pod."""

import os
import subprocess
import sys
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks_sdk
import pytest

from policies.rules import team_access_namespace_scoped as team_rule
from tests.policy_programs import eks
from tests.policy_support import judge

ROOT = Path(__file__).resolve().parent.parent
DEFECTS = ROOT / "tests/policy_programs/defects_stack.py"
ADMIN = "arn:aws:iam::123456789012:role/PlatformAdmin"
CONFIG = {"aws:region": "us-east-1", "aws-native:region": "us-east-1"}


def _preview(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "tools.preview", "--quiet", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )


@pytest.mark.parametrize("stack", ["dev", "eks-dev"])
@pytest.mark.parametrize("policy_config", [None, "policies/config/prod.json"], ids=["default-pack-config", "prod"])
def test_shipped_stack_preview_exits_0(stack, policy_config):
    proc = _preview("--stack", stack, *(["--policy-config", policy_config] if policy_config else []))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Policy check: 0 mandatory" in proc.stdout


# (DEFECT, stack, the rule, the resource named, what the message names)
CASES = [
    (
        "addon-on-cluster-path",
        "eks-dev",
        "behaviour-readiness",
        "hp-eks-dev-fsx-csi-driver (aws:eks/addon:Addon)",
        "Deployment fsx-csi-controller",
    ),
    (
        "private-endpoint-no-deployer",
        "eks-dev",
        "behaviour-reachability",
        "hp-eks-dev-eks (eks:index:Cluster)",
        "flow deployer (public) -> eks api hp-eks-dev-eks tcp/443 is closed",
    ),
    (
        "endpoint-policy-without-ecr-layers",
        "eks-dev",
        "behaviour-authorization",
        "hp-eks-dev-s3 (aws:ec2/vpcEndpoint:VpcEndpoint)",
        "s3:GetObject on arn:aws:s3:::prod-us-east-1-starport-layer-bucket/",
    ),
    (
        "endpoint-policy-without-ecr-layers",
        "dev",
        "behaviour-reachability",
        "hp-dev-s3 (aws:ec2/vpcEndpoint:VpcEndpoint)",
        "flow nodes -> S3 ECR image layers (prod-us-east-1-starport-layer-bucket) is closed",
    ),
    (
        "ec2-vpc-on-instance",
        "eks-dev",
        "behaviour-authorization",
        "hp-eks-dev-vpc-and-lifecycle (aws:iam/rolePolicy:RolePolicy)",
        "VPC CNI (EKS nodes of hp-eks-dev-cluster, hp-eks-dev-role): ec2:AttachNetworkInterface on",
    ),
    (
        "taint-not-tolerated",
        "eks-dev",
        "behaviour-kubernetes",
        "hp-eks-dev-hyperpod-deps (kubernetes:helm.sh/v3:Release)",
        "aws-efa-k8s-device-plugin (DaemonSet of the HyperPod chart) cannot run on instance group gpu",
    ),
    (
        "team-without-pytorchjob-rbac",
        "eks-dev",
        "behaviour-kubernetes",
        "hp-eks-dev-research-entry (aws:eks/accessEntry:AccessEntry)",
        "team research (arn:aws:iam::123456789012:role/hp-eks-dev-research-access) cannot create "
        "kubeflow.org/pytorchjobs in hyperpod-ns-research",
    ),
]


@pytest.mark.parametrize("defect,stack,rule,resource,needle", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_defect_put_back_fails_the_preview_naming_resource_and_behaviour(defect, stack, rule, resource, needle):
    proc = _preview("--stack", stack, "--program", str(DEFECTS), env={"DEFECT": defect})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith(f"  [mandatory] {rule}: {resource}:")]
    assert lines, proc.stderr
    assert any(needle in ln for ln in lines), lines


def _admin_entry_stack(declared):
    def program():
        eks.component(
            access_entries={
                "admin": eks_sdk.AccessEntryArgs(
                    principal_arn=ADMIN,
                    access_policies={
                        "cluster-admin": eks_sdk.AccessPolicyAssociationArgs(
                            policy_arn="arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
                            access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                        )
                    },
                )
            }
        )
        if declared is not None:
            pulumi.export(team_rule.DECLARED_ADMINS, declared)

    return program


@pytest.mark.parametrize(
    "declared,violation",
    [
        ([ADMIN], False),
        (None, True),
        (["arn:aws:iam::*:role/*"], True),
        (["arn:aws:iam::123456789012:role/Other"], True),
    ],
    ids=["declared", "not-declared", "wildcard-ignored", "another-role"],
)
def test_without_admin_principals_the_stacks_declared_admins_are_the_admins(pack, declared, violation):
    """The default pack config has no adminPrincipals: the exact ARNs the stack exports as eksAdminRoleArns are
    the admins (a wildcard there widens nothing); any other principal with cluster admin is still a violation."""
    report = judge(pack, _admin_entry_stack(declared), config=CONFIG)
    found = [d for d in report.violations if d.policy == team_rule.NAME]
    assert bool(found) is violation, [d.message for d in found]


def test_prod_admin_principals_replace_the_declared_admins(pack):
    report = judge(
        pack,
        _admin_entry_stack([ADMIN]),
        config=CONFIG,
        policy_config={team_rule.NAME: {"adminPrincipals": ["arn:aws:iam::*:role/SomeoneElse"]}},
    )
    assert [d for d in report.violations if d.policy == team_rule.NAME]
