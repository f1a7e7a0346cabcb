"""ExecutionRole, built on its own under mocks: trust, the managed policy, an inline policy scoped as tightly
as AWS allows, readable secrets guarded by their own policies, and named SSM parameters. Which of the shipped
stack's resources it is scoped to is in tests/test_stack_dev.py."""

from __future__ import annotations

import json

import parliament
import pulumi
import pulumi_aws as aws
import pytest

from hyperpod_platform import ExecutionRole, ExecutionRoleArgs
from hyperpod_platform.execution_role import (
    DESCRIBE_ACTIONS,
    ENI_ACTIONS,
    MANAGED_POLICY,
    parameter_arn,
    policy_document,
)
from policies.rules import behaviour_authorization as authz
from policies.rules.behaviour_authorization import key_applies, resource_types_of
from tools.harness import ACCOUNT, DEPLOYER_ROLE, run_program

CONFIG = {"aws:region": "us-east-1", "aws-native:region": "us-east-1"}
NAME = "t"
VPC_ARN = f"arn:aws:ec2:us-east-1:{ACCOUNT}:vpc/vpc-0123456789abcdef0"
SUBNETS = [f"arn:aws:ec2:us-east-1:{ACCOUNT}:subnet/subnet-0123456789abcdef0"]
OTHER_SUBNET = f"arn:aws:ec2:us-east-1:{ACCOUNT}:subnet/subnet-0123456789abcdef1"
SECURITY_GROUPS = [f"arn:aws:ec2:us-east-1:{ACCOUNT}:security-group/sg-0123456789abcdef0"]
BUCKET_ARN = "arn:aws:s3:::sagemaker-demo-scripts"
PREFIX = "lifecycle"
SECRETS = [
    f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:host-keys-AbCdEf",
    f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:bind-AbCdEf",
]
PARAMETERS = ["/hyperpod-platform/demo/directory", "plain-name"]
ROLE = "aws:iam/role:Role"
INLINE = "aws:iam/rolePolicy:RolePolicy"
SECRET_POLICY = "aws:secretsmanager/secretPolicy:SecretPolicy"
EKS_ARN = f"arn:aws:eks:us-east-1:{ACCOUNT}:cluster/t-eks"


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def args(**changes) -> ExecutionRoleArgs:
    base = dict(
        vpc_arn=VPC_ARN,
        subnet_arns=SUBNETS,
        security_group_arns=SECURITY_GROUPS,
        bucket_arn=BUCKET_ARN,
        lifecycle_prefix=PREFIX,
        tags={"Project": "unit"},
        readable_secret_arns=SECRETS,
        readable_parameter_names=PARAMETERS,
    )
    return ExecutionRoleArgs(**{**base, **changes})


def run_role(role_args: ExecutionRoleArgs, *, preview: bool = False, consume: bool = False):
    """Build one ExecutionRole called NAME; ``consume``: another resource takes its ARN, as a cluster would."""

    def program():
        role = ExecutionRole(NAME, role_args)
        pulumi.export("arn", role.arn)
        if consume:
            aws.cloudwatch.LogGroup("taker", tags={"role": role.arn})

    result = run_program(program, CONFIG, preview=preview)
    assert result.error is None, result.error
    return result


def inline(result) -> dict:
    return json.loads(result.one(INLINE).inputs["policy"])


def statements(result) -> dict[str, dict]:
    return {s["Sid"]: s for s in inline(result)["Statement"]}


def test_trusts_sagemaker_with_no_condition_as_aws_hyperpod_templates_do():
    """Only SageMaker may assume the role, with the trust AWS's HyperPod templates write: no aws:SourceArn or
    aws:SourceAccount condition, which SageMaker is not documented to send (a trust requiring one would fail
    CreateCluster)."""
    (stmt,) = json.loads(run_role(args()).one(ROLE).inputs["assumeRolePolicy"])["Statement"]
    assert stmt == {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}


def test_managed_policy_and_eni_scope_follow_the_vpcs_partition_region_and_account():
    """Another partition, region and account in the VPC ARN carry into the managed policy ARN and the ENI
    statements."""
    china_vpc = "arn:aws-cn:ec2:cn-north-1:210987654321:vpc/vpc-0123456789abcdef0"
    result = run_role(args(vpc_arn=china_vpc, readable_secret_arns=[], readable_parameter_names=[]))
    policy_arn = result.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment").inputs["policyArn"]
    assert policy_arn == f"arn:aws-cn:iam::aws:policy/{MANAGED_POLICY}"
    stmts = statements(result)
    assert stmts["ManageEnisInClusterVpc"]["Resource"] == "arn:aws-cn:ec2:cn-north-1:210987654321:network-interface/*"
    assert stmts["ManageEnisInClusterVpc"]["Condition"] == {"ArnEquals": {"ec2:Vpc": china_vpc}}
    assert stmts["EniAttachmentsInClusterVpc"]["Resource"] == [
        "arn:aws-cn:ec2:cn-north-1:210987654321:network-interface/*",
        "arn:aws-cn:ec2:cn-north-1:210987654321:instance/*",
    ]


def test_has_the_hyperpod_managed_policy():
    """AmazonSageMakerClusterInstanceRolePolicy is attached to the role."""
    result = run_role(args())
    att = result.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert att.inputs["policyArn"] == "arn:aws:iam::aws:policy/AmazonSageMakerClusterInstanceRolePolicy"
    assert att.inputs["role"] == result.one(ROLE).outputs["name"]
    assert result.one(INLINE).inputs["role"] == result.one(ROLE).outputs["id"]


def test_no_wildcard_where_a_scope_exists():
    """Resource "*" only for EC2 Describe calls (they take no resource scope); no Action wildcards."""
    found_describe = False
    for stmt in inline(run_role(args()))["Statement"]:
        actions = stmt["Action"] if isinstance(stmt["Action"], list) else [stmt["Action"]]
        assert not any("*" in a for a in actions), stmt
        if stmt["Resource"] == "*":
            found_describe = True
            assert actions == DESCRIBE_ACTIONS and all(a.startswith("ec2:Describe") for a in actions)
    assert found_describe


def test_enis_are_created_only_in_the_given_subnets_with_the_given_groups_and_managed_only_in_the_vpc():
    stmts = statements(run_role(args()))
    create = stmts["CreateEniInClusterSubnets"]
    assert create["Action"] == "ec2:CreateNetworkInterface"
    assert create["Resource"] == [f"arn:aws:ec2:us-east-1:{ACCOUNT}:network-interface/*", *SUBNETS, *SECURITY_GROUPS]
    assert OTHER_SUBNET not in create["Resource"]
    manage = stmts["ManageEnisInClusterVpc"]
    assert manage["Action"] == ENI_ACTIONS
    assert manage["Condition"] == {"ArnEquals": {"ec2:Vpc": VPC_ARN}}
    tag = stmts["TagNewEnis"]
    assert tag["Action"] == "ec2:CreateTags"
    assert tag["Condition"] == {"StringEquals": {"ec2:CreateAction": "CreateNetworkInterface"}}
    # DetachNetworkInterface names the instance too, which has no ec2:Vpc: IfExists, so the ENI's VPC decides
    attach = stmts["EniAttachmentsInClusterVpc"]
    assert attach["Action"] == ["ec2:DetachNetworkInterface"]
    assert attach["Resource"] == [
        f"arn:aws:ec2:us-east-1:{ACCOUNT}:network-interface/*",
        f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/*",
    ]
    assert attach["Condition"] == {"ArnEqualsIfExists": {"ec2:Vpc": VPC_ARN}}


@pytest.mark.parametrize("eks", [None, EKS_ARN], ids=["slurm", "eks"])
def test_every_condition_key_exists_for_every_resource_type_its_statement_covers(eks):
    """The class of the ec2:Vpc-on-instance defect: for each statement, action and resource type its Resource
    covers (parliament's IAM data), each condition key is one AWS evaluates for that action and resource type;
    a key the resource type lacks is absent, so ArnEquals/StringEquals on it would deny. An ...IfExists condition
    (true when the key is absent) must still constrain one of the types, else it would be decoration."""
    document = policy_document(VPC_ARN, SUBNETS, SECURITY_GROUPS, BUCKET_ARN, PREFIX, SECRETS, [], eks)
    checked = 0
    for stmt in document["Statement"]:
        conditions = [(op, key) for op, block in stmt.get("Condition", {}).items() for key in block]
        for action in as_list(stmt["Action"]):
            types = [t for r in as_list(stmt["Resource"]) for t in resource_types_of(action, r)]
            assert types, (stmt["Sid"], action)  # its resources name a resource type of the action
            for op, key in conditions:
                checked += 1
                where = f"{stmt['Sid']}: {op} {key} on {action}"
                if op.endswith("IfExists"):
                    assert any(key_applies(action, t, key) for t in types), f"{where} constrains none of {types}"
                else:
                    missing = [t for t in types if not key_applies(action, t, key)]
                    assert missing == [], f"{where}: no such key for resource type(s) {missing}"
    assert checked > 0


@pytest.mark.parametrize(
    "action, targets, extra",
    [
        ("ec2:AttachNetworkInterface", ["instance", "network-interface"], {}),
        ("ec2:DetachNetworkInterface", ["instance", "network-interface"], {}),
        ("ec2:ModifyNetworkInterfaceAttribute", ["instance", "network-interface"], {}),
        ("ec2:AssignPrivateIpAddresses", ["network-interface"], {}),
        ("ec2:CreateTags", ["network-interface"], {}),  # TagENI: an existing ENI, no ec2:CreateAction
        ("ec2:CreateTags", ["network-interface"], {"ec2:createaction": "CreateNetworkInterface"}),
    ],
)
def test_the_vpc_cni_calls_on_an_eni_in_the_vpc_are_allowed(action, targets, extra):
    """Evaluated as IAM does (each resource type the call names, with its own condition keys): the CNI's calls
    on an ENI of the cluster VPC, tagging an existing ENI included, are allowed by the EKS role's policy."""
    document = policy_document(VPC_ARN, SUBNETS, SECURITY_GROUPS, BUCKET_ARN, PREFIX, eks_cluster_arn=EKS_ARN)
    arns = {
        "instance": f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-0123456789abcdef0",
        "network-interface": f"arn:aws:ec2:us-east-1:{ACCOUNT}:network-interface/eni-0123456789abcdef0",
    }
    who = authz.Principal("the role", f"arn:aws:iam::{ACCOUNT}:role/t", ACCOUNT)
    call = authz.Call(
        "VPC CNI",
        action,
        [authz.Target(t, arns[t], ACCOUNT) for t in targets],
        who,
        {"ec2:vpc": VPC_ARN, "aws:principalaccount": ACCOUNT, **extra},
        [authz.Doc("inline", None, document, "identity")],
    )
    verdict = authz.judge(call)
    assert verdict.allowed, verdict.why


def test_lifecycle_bucket_is_read_only_and_only_under_the_prefix():
    """GetObject under the prefix, ListBucket of that prefix only, nothing else of S3."""
    s3 = [s for s in inline(run_role(args()))["Statement"] if str(s["Action"]).startswith("s3:")]
    assert {(s["Action"], json.dumps(s["Resource"])) for s in s3} == {
        ("s3:GetObject", json.dumps(f"{BUCKET_ARN}/{PREFIX}/*")),
        ("s3:ListBucket", json.dumps(BUCKET_ARN)),
    }
    (listing,) = [s for s in s3 if s["Action"] == "s3:ListBucket"]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": [f"{PREFIX}/*", PREFIX]}}


def test_parliament_finds_nothing():
    """The IAM linter has no finding on the inline policy with every kind of statement in it (it once caught
    DetachNetworkInterface's scope)."""
    document = inline(run_role(args()))
    assert {"ReadNamedSecrets", "ReadNamedParameters"} <= {s["Sid"] for s in document["Statement"]}
    findings = parliament.analyze_policy_string(json.dumps(document)).findings
    assert [(f.issue, f.detail) for f in findings] == []


def test_reads_exactly_the_named_parameters_by_arns_built_from_invokes():
    """ssm:GetParameter on each named parameter's ARN, built from its name and the partition, region and
    account the provider reports (invokes, so the policy does not wait for any parameter resource)."""
    result = run_role(args())
    ssm = [s for s in inline(result)["Statement"] if "ssm:" in json.dumps(s["Action"])]
    assert ssm == [
        {
            "Sid": "ReadNamedParameters",
            "Effect": "Allow",
            "Action": "ssm:GetParameter",
            "Resource": [
                f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/hyperpod-platform/demo/directory",
                f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/plain-name",
            ],
        }
    ]
    tokens = {t for t, _ in result.calls}
    assert {
        "aws:index/getPartition:getPartition",
        "aws:index/getRegion:getRegion",
        "aws:index/getCallerIdentity:getCallerIdentity",
    } <= tokens


def test_no_parameters_no_ssm_grant_and_no_lookups():
    result = run_role(args(readable_parameter_names=[], readable_secret_arns=[]))
    assert "ssm:" not in result.one(INLINE).inputs["policy"]
    assert result.calls == []


def test_parameter_arn_from_a_name():
    """A hierarchical name's leading slash is not repeated; a plain name gets one."""
    assert (
        parameter_arn("aws-cn", "cn-north-1", "123456789012", "/a/b")
        == "arn:aws-cn:ssm:cn-north-1:123456789012:parameter/a/b"
    )
    assert (
        parameter_arn("aws", "us-east-1", "123456789012", "plain")
        == "arn:aws:ssm:us-east-1:123456789012:parameter/plain"
    )


def test_reads_exactly_the_named_secrets():
    stmts = statements(run_role(args()))
    assert stmts["ReadNamedSecrets"] == {
        "Sid": "ReadNamedSecrets",
        "Effect": "Allow",
        "Action": "secretsmanager:GetSecretValue",
        "Resource": SECRETS,
    }


def test_each_readable_secret_refuses_everyone_but_the_role_and_the_deployer():
    """Every readable secret gets a resource policy denying GetSecretValue to any principal other than this
    role and the role that deploys the stack (the issuer of the caller's session)."""
    result = run_role(args())
    role_arn = result.one(ROLE).outputs["arn"]
    policies = {p.inputs["secretArn"]: p for p in result.of_type(SECRET_POLICY)}
    assert set(policies) == set(SECRETS)
    for secret, policy in policies.items():
        (stmt,) = json.loads(policy.inputs["policy"])["Statement"]
        assert (stmt["Effect"], stmt["Principal"], stmt["Action"], stmt["Resource"]) == (
            "Deny",
            "*",
            "secretsmanager:GetSecretValue",
            secret,
        )
        assert stmt["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": sorted([role_arn, DEPLOYER_ROLE])}}
    assert "aws:iam/getSessionContext:getSessionContext" in {t for t, _ in result.calls}


def test_no_readable_secrets_no_secret_grant_and_no_secret_policies():
    result = run_role(args(readable_secret_arns=[]))
    assert "secretsmanager" not in result.one(INLINE).inputs["policy"]
    assert result.of_type(SECRET_POLICY) == []
    assert "aws:iam/getSessionContext:getSessionContext" not in {t for t, _ in result.calls}


def test_secret_arns_from_other_resources_are_granted_once_they_exist():
    """A secret ARN may be another resource's output: the grant and that secret's policy take its ARN."""

    def program():
        secret = aws.secretsmanager.Secret("keys")
        ExecutionRole(NAME, args(readable_secret_arns=[secret.arn], readable_parameter_names=[]))

    result = run_program(program, CONFIG, preview=False)
    assert result.error is None, result.error
    secret = result.named("keys")
    assert statements(result)["ReadNamedSecrets"]["Resource"] == [secret.outputs["arn"]]
    (policy,) = result.of_type(SECRET_POLICY)
    assert policy.inputs["secretArn"] == secret.outputs["arn"] and secret.urn in policy.dependencies


def test_arn_makes_its_taker_wait_for_both_policies():
    """``arn`` is the role's ARN, resolved once the managed and inline policies are attached: a cluster that
    takes it boots with its permissions in place."""
    result = run_role(args(), consume=True)
    role = result.one(ROLE)
    assert result.outputs["arn"] == role.outputs["arn"]
    taker = result.named("taker")
    assert taker.inputs["tags"]["role"] == role.outputs["arn"]
    policies = {result.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment").urn, result.one(INLINE).urn}
    assert policies <= set(taker.dependencies)


def test_every_resource_is_a_child_named_after_the_component():
    result = run_role(args())
    (component,) = result.of_type("hyperpod-platform:index:ExecutionRole")
    children = [r for r in result.registrations if r is not component]
    assert children and all(r.parent == component.urn and r.name.startswith(f"{NAME}-") for r in children)
    role = result.one(ROLE)
    assert role.name == f"{NAME}-role" and role.inputs["tags"] == {"Project": "unit"}
