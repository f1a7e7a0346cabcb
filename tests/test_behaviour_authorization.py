"""behaviour-authorization: each call the platform's runtime makes, judged as IAM decides it (identity policy +
S3 endpoint policy + resource policy, per resource type with the condition keys that exist for it), on the
shipped stacks' plans; each defect of issue 17's authorization class reintroduced into a plan is reported
naming the call; and the same through the analyzer protocol."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from policies.rules import behaviour_authorization as authz
from policies.rules._behaviour import graph_of
from tools.harness import ACCOUNT, config_from_stack_file, run_program

ROOT = Path(__file__).resolve().parent.parent
PROD = json.loads((ROOT / "policies" / "config" / "prod.json").read_text())
STACKS = {"dev": "Pulumi.dev.yaml", "eks-dev": "Pulumi.eks-dev.yaml"}
INLINE = "aws:iam/rolePolicy:RolePolicy"
ROLE = "aws:iam/role:Role"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"


def plan(stack: str, preview: bool = False):
    result = run_program(
        ROOT / "__main__.py", config_from_stack_file(ROOT / STACKS[stack]), preview=preview, stack=stack
    )
    assert result.error is None, result.error
    return result


class Plans(dict):
    """Each shipped stack's plan (values resolved, as at `up`), run once per module when first asked for."""

    def __missing__(self, stack: str):
        self[stack] = plan(stack)
        return self[stack]


@pytest.fixture(scope="module")
def plans():
    return Plans()


def found(registrations) -> authz.Findings:
    return authz.evaluate(graph_of(registrations), {})


def execution_policy(result):
    """The execution role's inline policy registration (the one the cluster's role gets)."""
    (reg,) = [r for r in result.of_type(INLINE) if r.name.endswith("-vpc-and-lifecycle")]
    return reg


def changed(result, reg, key: str, value):
    """The plan's registrations with ``reg``'s input ``key`` replaced (inputs win over outputs in the graph)."""
    return [dataclasses.replace(r, inputs={**r.inputs, key: value}) if r is reg else r for r in result.registrations]


def with_statements(result, reg, key: str, edit):
    doc = json.loads(reg.inputs[key])
    doc["Statement"] = edit({s.get("Sid", str(i)): s for i, s in enumerate(doc["Statement"])})
    return changed(result, reg, key, json.dumps(doc))


def problems_naming(findings: authz.Findings, *needles: str) -> list[authz.Problem]:
    return [p for p in findings.problems if all(n in p.message for n in needles)]


# ---------------------------------------------------------------- the shipped stacks
@pytest.mark.parametrize("stack", ["dev", "eks-dev"])
def test_every_modelled_call_of_the_shipped_stack_is_allowed(plans, stack):
    """With every value resolved (as at `pulumi up`), each call is proved: none denied, none left unjudged."""
    findings = found(plans[stack].registrations)
    assert [p.message for p in findings.problems] == []
    assert findings.unknown == []
    assert findings.proved


@pytest.mark.parametrize(
    "stack, calls",
    [
        (
            "dev",
            [
                ("HyperPod", "ec2:CreateNetworkInterface"),
                ("HyperPod", "ec2:DetachNetworkInterface"),
                ("lifecycle scripts", "s3:GetObject"),
                ("lifecycle scripts", "s3:ListBucket"),
                ("lifecycle scripts", "ssm:GetParameter"),
                ("lifecycle scripts", "secretsmanager:GetSecretValue"),
                ("SageMaker", "sts:AssumeRole"),
            ],
        ),
        (
            "eks-dev",
            [
                ("VPC CNI", "ec2:CreateNetworkInterface"),
                ("VPC CNI", "ec2:AttachNetworkInterface"),
                ("VPC CNI", "ec2:DetachNetworkInterface"),
                ("VPC CNI", "ec2:ModifyNetworkInterfaceAttribute"),
                ("VPC CNI", "ec2:AssignPrivateIpAddresses"),
                ("VPC CNI", "ec2:CreateTags on arn:aws:ec2:us-east-1:123456789012:network-interface/eni-"),
                ("VPC CNI", "ec2:DeleteNetworkInterface"),
                ("VPC CNI", "ec2:DescribeInstances"),
                ("image pulls", "ecr:GetAuthorizationToken"),
                ("image pulls", "ecr:BatchGetImage"),
                ("image pulls", "ecr:GetDownloadUrlForLayer"),
                ("image pulls", "s3:GetObject on arn:aws:s3:::prod-us-east-1-starport-layer-bucket/"),
                ("lifecycle scripts", "s3:GetObject"),
                ("EKS Pod Identity agent", "eks-auth:AssumeRoleForPodIdentity"),
                ("team pods", "sts:AssumeRole on arn:aws:iam::123456789012:role/"),
                ("team pods", "sts:TagSession on arn:aws:iam::123456789012:role/"),
                ("team pods", "sts:AssumeRole on arn:aws:iam::333333333333:role/"),
                ("team pods", "s3:GetObject on arn:aws:s3:us-east-1:333333333333:accesspoint/"),
                ("team pods", "s3:ListBucket on arn:aws:s3:us-east-1:333333333333:accesspoint/"),
            ],
        ),
    ],
)
def test_the_runtime_calls_of_each_stack_are_proved(plans, stack, calls):
    """Each call the runtime makes on that stack is among the proved ones (caller and action, resource)."""
    proved = found(plans[stack].registrations).proved
    missing = [(who, what) for who, what in calls if not any(p.startswith(who) and what in p for p in proved)]
    assert missing == [], proved


def test_tag_session_under_the_external_id_condition_is_denied(plans):
    """The class found on eks-dev (fixed in team_data.target_role_trust): a trust allowing AssumeRole and
    TagSession in one statement under sts:ExternalId denies TagSession, a call that has no such key (IAM
    reference; the EKS User Guide's target-role trust gives TagSession its own statement)."""
    result = plans["eks-dev"]
    (target,) = [r for r in result.of_type(ROLE) if r.name.endswith("-target-role")]

    def one_statement(sts):
        assume = dict(sts["TheTeamDataRoleThroughItsAssociation"])
        assume["Action"] = ["sts:AssumeRole", "sts:TagSession"]
        return [assume]

    findings = found(with_statements(result, target, "assumeRolePolicy", one_statement))
    (problem,) = problems_naming(findings, "sts:TagSession", "sts:ExternalId is not a condition key")
    assert problem.node.type == ROLE and problem.node.name.endswith("-target-role")
    assert "team pods" in problem.message and "Fix:" in problem.message


def test_a_preview_plan_is_not_judged_but_noted(plans):
    """At preview the VPC's ARN is unknown: nothing is proved or denied, and the check says what it waits for."""
    findings = found(plan("dev", preview=True).registrations)
    assert findings.problems == [] and findings.proved == []
    assert any("not known yet" in u for u in findings.unknown)


# ---------------------------------------------------------------- each defect, reintroduced
def test_ec2_vpc_condition_on_instance_denies_attach_and_detach(plans):
    """Defect 4: ArnEquals ec2:Vpc over [network-interface/*, instance/*] (as before the fix): ec2:Vpc is not a
    key of the instance resource type, so the instance half of Attach/DetachNetworkInterface is denied."""
    result = plans["eks-dev"]
    reg = execution_policy(result)

    def old_shape(stmts):
        stmts["EniAttachmentsInClusterVpc"]["Condition"] = {
            "ArnEquals": stmts["EniAttachmentsInClusterVpc"]["Condition"]["ArnEqualsIfExists"]
        }
        return list(stmts.values())

    findings = found(with_statements(result, reg, "policy", old_shape))
    for action in ("ec2:AttachNetworkInterface", "ec2:DetachNetworkInterface"):
        (problem,) = problems_naming(findings, "VPC CNI", action, "(instance)", "ec2:Vpc is not a condition key")
        assert problem.node.urn == reg.urn
        assert "in a statement of its own for resource type instance" in problem.message
    assert problems_naming(findings, "HyperPod", "ec2:DetachNetworkInterface", "ec2:Vpc is not a condition key")


def test_create_tags_only_at_creation_denies_the_cnis_tagging_of_an_existing_eni(plans):
    """Defect 4: ec2:CreateTags allowed only with ec2:CreateAction=CreateNetworkInterface: the CNI's TagENI
    (CreateTags on an existing ENI, no CreateAction) is denied, naming the key the request lacks."""
    result = plans["eks-dev"]
    reg = execution_policy(result)

    def no_tagging(stmts):
        stmts["CniManageEnisInClusterVpc"]["Action"] = [
            a for a in stmts["CniManageEnisInClusterVpc"]["Action"] if a != "ec2:CreateTags"
        ]
        return list(stmts.values())

    findings = found(with_statements(result, reg, "policy", no_tagging))
    (problem,) = problems_naming(findings, "VPC CNI", "ec2:CreateTags", "eni-")
    assert "ec2:CreateAction" in problem.message and "carries no ec2:CreateAction" in problem.message
    assert problem.node.urn == reg.urn
    assert not problems_naming(findings, "tags at creation")  # tagging at creation is still allowed


@pytest.mark.parametrize("stack", ["dev", "eks-dev"])
def test_an_endpoint_policy_without_the_layer_bucket_denies_image_layers_and_nothing_of_ours(plans, stack):
    """Defect 3: an endpoint policy of account principals only denies ECR's signed layer downloads (on EKS, the
    call is modelled); the problem is on the endpoint, names the bucket and the missing allowance. The stack's
    own S3 calls still pass."""
    result = plans[stack]
    (endpoint,) = result.of_type(ENDPOINT)

    def accounts_only(stmts):
        return [s for s in stmts.values() if "Condition" in s]

    findings = found(with_statements(result, endpoint, "policy", accounts_only))
    layer = problems_naming(findings, "s3:GetObject", "prod-us-east-1-starport-layer-bucket")
    if stack == "eks-dev":
        (problem,) = layer
        assert problem.node.urn == endpoint.urn
        assert "aws:PrincipalAccount" in problem.message and "no aws:PrincipalAccount condition" in problem.message
    else:
        assert layer == []  # no image pull is modelled on the Slurm nodes
    assert problems_naming(findings, "lifecycle scripts") == []


def test_a_trust_requiring_source_arn_denies_sagemaker(plans):
    """Defect 9 (trust): aws:SourceArn required in the execution role's trust, which SageMaker is not documented
    to send: SageMaker's AssumeRole is reported on the role, naming the key."""
    result = plans["dev"]
    (role,) = [r for r in result.of_type(ROLE) if "sagemaker.amazonaws.com" in r.inputs["assumeRolePolicy"]]

    def with_source_arn(stmts):
        (stmt,) = stmts.values()
        stmt["Condition"] = {"ArnLike": {"aws:SourceArn": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:cluster/*"}}
        return [stmt]

    findings = found(with_statements(result, role, "assumeRolePolicy", with_source_arn))
    (problem,) = problems_naming(findings, "SageMaker", "sts:AssumeRole")
    assert "aws:SourceArn" in problem.message and "carries no aws:SourceArn" in problem.message
    assert problem.node.urn == role.urn


def test_an_explicit_deny_in_the_lifecycle_bucket_policy_denies_the_scripts(plans):
    """A bucket-policy Deny that catches the execution role beats its identity grant: reported on the bucket
    policy, naming the Deny."""
    result = plans["dev"]
    (bucket_policy,) = [r for r in result.of_type(BUCKET_POLICY) if r.name.endswith("-tls-only")]

    def deny_all(stmts):
        return [
            *stmts.values(),
            {"Sid": "NoReads", "Effect": "Deny", "Principal": "*", "Action": "s3:Get*", "Resource": "*"},
        ]

    findings = found(with_statements(result, bucket_policy, "policy", deny_all))
    (problem,) = problems_naming(findings, "lifecycle scripts", "s3:GetObject")
    assert "explicitly denied by statement NoReads" in problem.message and problem.node.urn == bucket_policy.urn


# ---------------------------------------------------------------- the evaluation itself
WHO = authz.Principal("a role", f"arn:aws:iam::{ACCOUNT}:role/r", ACCOUNT)


def decide(statements, action="s3:GetObject", arn="arn:aws:s3:::b/k", rtype="object", context=None, policies=()):
    call = authz.Call(
        "caller",
        action,
        [authz.Target(rtype, arn, ACCOUNT, list(policies))],
        WHO,
        {"aws:principalaccount": ACCOUNT, **(context or {})},
        [authz.Doc("identity", None, {"Statement": statements}, "identity")],
    )
    return authz.judge(call)


@pytest.mark.parametrize(
    "statement, allowed",
    [
        ({"Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::b/*"}, True),
        ({"Effect": "Allow", "Action": "s3:Put*", "Resource": "arn:aws:s3:::b/*"}, False),
        ({"Effect": "Allow", "NotAction": "s3:Put*", "Resource": "arn:aws:s3:::b/*"}, True),
        ({"Effect": "Allow", "NotAction": "s3:Get*", "Resource": "arn:aws:s3:::b/*"}, False),
        ({"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::other/*"}, True),
        ({"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::b/*"}, False),
        (
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": "*",
                "Condition": {"Bool": {"aws:SecureTransport": "true"}},
            },
            True,
        ),
        (
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": "*",
                "Condition": {"StringLike": {"s3:DataAccessPointArn": "arn:*"}},
            },
            False,
        ),
        (
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": "*",
                "Condition": {"StringLikeIfExists": {"s3:DataAccessPointArn": "arn:*"}},
            },
            True,
        ),
        (
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": "*",
                "Condition": {"StringNotEquals": {"s3:DataAccessPointAccount": "1"}},
            },
            True,
        ),
        (
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": "*",
                "Condition": {"Null": {"s3:DataAccessPointArn": "true"}},
            },
            True,
        ),
        (
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": "*",
                "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": "team"}},
            },
            False,
        ),
        (
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": "*",
                "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": "team"}},
            },
            True,
        ),
    ],
)
def test_statements_are_read_as_iam_reads_them(statement, allowed):
    """Wildcards, NotAction, NotResource, and conditions on keys present or absent (IfExists, negated, Null,
    ForAnyValue false and ForAllValues true on an absent key)."""
    assert decide([{"Sid": "s", **statement}], context={"aws:securetransport": "true"}).allowed is allowed


def test_an_explicit_deny_beats_an_allow():
    verdict = decide(
        [
            {"Sid": "A", "Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            {"Sid": "D", "Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"},
        ]
    )
    assert not verdict.allowed and "statement D of identity" in verdict.why


def test_across_accounts_both_the_identity_and_the_resource_policy_must_allow():
    grant = [{"Sid": "A", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]
    other = authz.Target("object", "arn:aws:s3:::theirs/k", "999999999999")
    call = authz.Call(
        "caller", "s3:GetObject", [other], WHO, {}, [authz.Doc("identity", None, {"Statement": grant}, "identity")]
    )
    assert not authz.judge(call).allowed
    other.policies = [
        authz.Doc("bucket policy", None, {"Statement": [{**grant[0], "Principal": {"AWS": WHO.arn}}]}, "resource")
    ]
    assert authz.judge(call).allowed


def test_the_iam_data_decides_which_keys_a_resource_type_has():
    """ec2:Vpc: network-interface yes, instance no; action-level keys (ec2:CreateAction) for every type."""
    assert authz.key_applies("ec2:AttachNetworkInterface", "network-interface", "ec2:Vpc")
    assert authz.key_applies("ec2:AttachNetworkInterface", "instance", "ec2:Vpc") is False
    assert authz.key_applies("ec2:CreateTags", "network-interface", "ec2:CreateAction")
    assert authz.key_applies("sts:TagSession", "role", "aws:RequestTag/kubernetes-namespace")
    assert authz.key_applies("sts:TagSession", "role", "sts:ExternalId") is False
    assert authz.key_applies("s3:GetObject", "object", "aws:PrincipalAccount")  # a global key


# ---------------------------------------------------------------- through the analyzer protocol
def test_the_pack_reports_a_mandatory_violation_on_the_endpoint_naming_the_call(pack, plans):
    """The policy as the engine runs it (Analyze + AnalyzeStack): the eks-dev plan with an account-only endpoint
    policy gets a mandatory behaviour-authorization violation on the endpoint, by default and under prod.json;
    the shipped plan gets none on the endpoint."""
    result = plans["eks-dev"]
    (endpoint,) = result.of_type(ENDPOINT)
    broken = with_statements(result, endpoint, "policy", lambda stmts: [s for s in stmts.values() if "Condition" in s])
    config = config_from_stack_file(ROOT / STACKS["eks-dev"])
    for policy_config in (None, PROD):
        report = pack.analyze(broken, outputs=result.outputs, config=config, policy_config=policy_config)
        (d,) = [d for d in report.by_policy(authz.NAME) if d.urn == endpoint.urn]
        assert d.mandatory and "s3:GetObject" in d.message and "starport-layer-bucket" in d.message, d.message
    shipped = pack.analyze(result.registrations, outputs=result.outputs, config=config)
    assert [d for d in shipped.by_policy(authz.NAME) if d.urn == endpoint.urn] == []


# ---------------------------------------------------------------- the login nodes' own target (45-login-target.sh)
TARGET_GROUP = f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:targetgroup/hp-dev-login/0123456789abcdef"
LOGIN_CALLS = (
    ("elasticloadbalancing:RegisterTargets", TARGET_GROUP),
    ("elasticloadbalancing:DeregisterTargets", TARGET_GROUP),
    ("elasticloadbalancing:DescribeTargetHealth", f"* (the targets of {TARGET_GROUP})"),
    ("ec2:DescribeNetworkInterfaces", "* (the ENIs of vpc-"),
)


def login_targets_policy(result):
    (reg,) = [r for r in result.of_type(INLINE) if r.name.endswith("-login-targets")]
    return reg


@pytest.mark.parametrize("action, on", LOGIN_CALLS)
def test_each_call_of_the_login_target_step_is_proved_on_dev(plans, action, on):
    """The login nodes' register / deregister / read calls, with the execution role, are proved on the dev
    stack's login target group (from platform.json login_targets)."""
    proved = found(plans["dev"].registrations).proved
    assert [p for p in proved if p.startswith("login nodes") and f"{action} on {on}" in p], proved


def test_eks_dev_has_no_login_target_calls(plans):
    """No login target group in eks-dev's platform.json: no login node call is modelled."""
    assert [p for p in found(plans["eks-dev"].registrations).proved if p.startswith("login nodes")] == []


def test_without_the_login_targets_policy_the_target_group_calls_are_denied(plans):
    """The login-target inline policy removed from the plan: RegisterTargets, DeregisterTargets and
    DescribeTargetHealth are each reported, naming the call, the target group and the grant to add;
    DescribeNetworkInterfaces stays allowed by the execution role's DescribeNetwork statement."""
    result = plans["dev"]
    gone = login_targets_policy(result)
    findings = found([r for r in result.registrations if r is not gone])
    for action in ("elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"):
        (problem,) = problems_naming(findings, "login nodes", action, TARGET_GROUP)
        assert "no identity policy of execution role" in problem.message
        assert f"Fix: grant {action} on {TARGET_GROUP} to execution role" in problem.message
    (problem,) = problems_naming(findings, "login nodes", "elasticloadbalancing:DescribeTargetHealth on *")
    assert "Fix: grant elasticloadbalancing:DescribeTargetHealth on *" in problem.message
    assert problems_naming(findings, "login nodes", "ec2:DescribeNetworkInterfaces") == []
    assert any(p.startswith("login nodes") and "ec2:DescribeNetworkInterfaces" in p for p in findings.proved)


def test_register_targets_scoped_to_another_target_group_is_denied(plans):
    """RegisterTargets granted on another target group's ARN only: the login nodes' RegisterTargets on the login
    target group is reported with the fix naming it; DeregisterTargets, still granted, is proved."""
    result = plans["dev"]
    reg = login_targets_policy(result)
    other = TARGET_GROUP.replace("hp-dev-login", "hp-dev-ldap")

    def elsewhere(stmts):
        keep = dict(stmts["KeepLoginTargets"], Action=["elasticloadbalancing:DeregisterTargets"])
        register = {"Sid": "Elsewhere", "Effect": "Allow", "Action": "elasticloadbalancing:RegisterTargets"}
        return [keep, {**register, "Resource": other}, stmts["ReadTargetsAndInterfaces"]]

    findings = found(with_statements(result, reg, "policy", elsewhere))
    (problem,) = problems_naming(findings, "login nodes", "elasticloadbalancing:RegisterTargets", TARGET_GROUP)
    assert f"Fix: grant elasticloadbalancing:RegisterTargets on {TARGET_GROUP}" in problem.message
    assert [p.message for p in findings.problems] == [problem.message]
    assert any("elasticloadbalancing:DeregisterTargets on " + TARGET_GROUP in p for p in findings.proved)


def test_the_target_group_calls_are_judged_on_the_targetgroup_resource_type():
    """The IAM data: Register/DeregisterTargets take targetgroup (tag keys, no service keys beyond them);
    DescribeTargetHealth and DescribeNetworkInterfaces take no resource type (Resource *)."""
    for action in ("elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"):
        assert authz.resource_types(action) == ["targetgroup"]
        assert authz.resource_types_of(action, TARGET_GROUP) == ["targetgroup"]
        assert authz.key_applies(action, "targetgroup", "aws:ResourceTag/team")
        assert authz.key_applies(action, "targetgroup", "ec2:Vpc") is False
    assert authz.resource_types("elasticloadbalancing:DescribeTargetHealth") == []
    assert authz.resource_types("ec2:DescribeNetworkInterfaces") == []
    assert authz.key_applies("ec2:DescribeNetworkInterfaces", "", "ec2:Region")
