"""TeamData and BucketDelegation built directly with small args under mocks: what lives in the cluster account
uses the default provider, what lives in the data account uses the data account's provider (allowed account
and assumed role); the role chain pod -> data-access role -> target role pins the association's external id;
the access point is VPC-only and limited to the team's prefix and target role; the bucket is read or created
(protected); the bucket policy, one per bucket, is TLS-only and delegates to the data account's access points; on
a bucket the stack does not own it keeps the statements the platform did not write (read from a model of the data
account's buckets) and outlives the stack."""

import json
import re
from dataclasses import replace

import pulumi
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hyperpod_platform import BucketDelegation, BucketDelegationArgs, TeamData, TeamDataArgs
from hyperpod_platform.checks import key_prefix
from hyperpod_platform.errors import ConfigError
from hyperpod_platform.settings import AccountSettings, QuotaResourceSettings, TeamDataSettings, TeamSettings
from hyperpod_platform.team_data import PLATFORM_SIDS, READ_ACTIONS, WRITE_ACTIONS, data_account_provider
from tools import harness
from tools.harness import ACCOUNT, Registration, RunResult, run_program

CONFIG = {"aws:region": "us-east-1", "aws-native:region": "us-east-1"}
DATA_ACCOUNT = "333333333333"
DEPLOY_ROLE = f"arn:aws:iam::{DATA_ACCOUNT}:role/PulumiDeploy"
VPC = "vpc-0123456789abcdef0"
DATA = AccountSettings(alias="data", account_id=DATA_ACCOUNT, role_arn=DEPLOY_ROLE, external_id="hp-gov")
QUOTA = (QuotaResourceSettings(instance_type="ml.g5.8xlarge", count=1),)
TEAM = TeamSettings(
    name="team-a",
    quota=QUOTA,
    account="research",
    principal_arn="arn:aws:iam::222222222222:role/DataScientist",
    external_id="hp-team-a",
    data=TeamDataSettings(account="data", bucket="prepared-data", prefix="team-a"),
)
TARGET_ARN = f"arn:aws:iam::{DATA_ACCOUNT}:role/hp-team-a-target"
AP_ARN = f"arn:aws:s3:us-east-1:{DATA_ACCOUNT}:accesspoint/hp-team-a"
DATA_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/hp-team-a-data"

CLUSTER_SIDE = (
    "aws:iam/role:Role",
    "aws:iam/rolePolicy:RolePolicy",
    "aws:eks/podIdentityAssociation:PodIdentityAssociation",
)


def _team(**data_changes) -> TeamSettings:
    return replace(TEAM, data=replace(TEAM.data, **data_changes))


def _args(team=TEAM, **changes) -> TeamDataArgs:
    fields = dict(
        team=team,
        data_account=DATA,
        eks_cluster_name="hp-eks",
        vpc_id=VPC,
        region="us-east-1",
        tags={"Project": "hyperpod-platform"},
    )
    fields.update(changes)
    return TeamDataArgs(**fields)


def _run(args=None, preview=False, name="hp-team-a") -> RunResult:
    def program():
        data = TeamData(name, args or _args())
        for key in ("data_role_arn", "target_role_arn", "access_point_arn", "bucket_name"):
            pulumi.export(key, getattr(data, key))

    result = run_program(program, CONFIG, preview=preview)
    assert result.error is None, result.error
    return result


def _provider_urn(reg: Registration) -> str:
    """The URN of the provider ``reg`` was registered with ("" for the default provider)."""
    return reg.provider.rsplit("::", 1)[0] if reg.provider else ""


def _children(result: RunResult, name: str = "hp-team-a") -> list[Registration]:
    component = result.named(name, "hyperpod-platform:index:TeamData")
    return [r for r in result.registrations if r.parent == component.urn]


def _policy(reg: Registration, key: str = "policy") -> dict:
    return json.loads(reg.inputs[key])


def _assert_data_provider(provider: Registration) -> None:
    assert provider.type == "pulumi:providers:aws"
    assert json.loads(provider.inputs["allowedAccountIds"]) == [DATA_ACCOUNT]
    assert json.loads(provider.inputs["assumeRoles"]) == [
        {"roleArn": DEPLOY_ROLE, "externalId": "hp-gov", "sessionName": "hyperpod-platform"}
    ]
    assert provider.inputs["region"] == "us-east-1"


# ---------------------------------------------------------------- providers: which account each resource is in


@pytest.mark.parametrize("preview", [False, True], ids=["up", "preview"])
def test_data_account_resources_use_the_data_provider_and_cluster_resources_the_default(preview):
    result = _run(preview=preview)
    provider = result.one("pulumi:providers:aws")
    _assert_data_provider(provider)
    children = [r for r in _children(result) if r.custom and r.type != "pulumi:providers:aws"]
    cluster = {r.name for r in children if r.name in ("hp-team-a-data-role", "hp-team-a-data-role-chain")}
    cluster |= {r.name for r in children if r.type == "aws:eks/podIdentityAssociation:PodIdentityAssociation"}
    assert cluster == {"hp-team-a-data-role", "hp-team-a-data-role-chain", "hp-team-a-pod-identity"}
    for r in children:
        expected = "" if r.name in cluster else provider.urn
        assert _provider_urn(r) == expected, r.name
    in_data = {r.type for r in children if r.name not in cluster}
    assert in_data == {
        "aws:iam/role:Role",
        "aws:iam/rolePolicy:RolePolicy",
        "aws:s3/bucket:Bucket",
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",  # read with the bucket: a check of it
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/accessPoint:AccessPoint",
        "aws:s3control/accessPointPolicy:AccessPointPolicy",
    }


def test_one_shared_provider_serves_every_team_of_the_data_account():
    """The stack's way: one provider per data account, passed to each team; the components make none."""
    team_b = replace(TEAM, name="team-b", data=replace(TEAM.data, prefix="team-b"))

    def program():
        provider = data_account_provider("data-account", DATA, "us-east-1")
        TeamData("hp-team-a", _args(data_provider=provider))
        TeamData("hp-team-b", _args(team=team_b, data_provider=provider))

    result = run_program(program, CONFIG, preview=False)
    assert result.error is None, result.error
    provider = result.one("pulumi:providers:aws")
    _assert_data_provider(provider)
    for name in ("hp-team-a", "hp-team-b"):
        for kind in ("aws:s3/accessPoint:AccessPoint", "aws:s3control/accessPointPolicy:AccessPointPolicy"):
            (reg,) = [r for r in _children(result, name) if r.type == kind]
            assert _provider_urn(reg) == provider.urn
        target = result.named(f"{name}-target-role")
        assert _provider_urn(target) == provider.urn
        assert _provider_urn(result.named(f"{name}-data-role")) == ""


# ---------------------------------------------------------------- the role chain


@pytest.mark.parametrize("preview", [False, True], ids=["up", "preview"])
def test_data_role_trusts_pod_identity_for_the_team_service_account_only(preview):
    role = _run(preview=preview).named("hp-team-a-data-role")
    assert _policy(role, "assumeRolePolicy") == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "EksPodIdentityForTheTeamServiceAccount",
                "Effect": "Allow",
                "Principal": {"Service": "pods.eks.amazonaws.com"},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
                "Condition": {
                    "StringEquals": {
                        "aws:RequestTag/eks-cluster-name": "hp-eks",
                        "aws:RequestTag/kubernetes-namespace": "hyperpod-ns-team-a",
                        "aws:RequestTag/kubernetes-service-account": "data-access",
                    }
                },
            }
        ],
    }


@pytest.mark.parametrize("preview", [False, True], ids=["up", "preview"])
def test_data_role_may_only_assume_the_target_role(preview):
    chain = _run(preview=preview).named("hp-team-a-data-role-chain")
    assert _policy(chain) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AssumeTheTeamTargetRoleOnly",
                "Effect": "Allow",
                "Action": ["sts:AssumeRole", "sts:TagSession"],
                "Resource": TARGET_ARN,
            }
        ],
    }


@pytest.mark.parametrize("preview", [False, True], ids=["up", "preview"])
def test_association_names_the_target_role_by_its_computed_arn(preview):
    """The target role ARN comes from its name and the data account: the association needs no target role
    yet (whose trust needs the association's external id)."""
    result = _run(preview=preview)
    association = result.one("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    i = association.inputs
    assert (i["clusterName"], i["namespace"], i["serviceAccount"]) == ("hp-eks", "hyperpod-ns-team-a", "data-access")
    assert i["targetRoleArn"] == TARGET_ARN
    assert i["disableSessionTags"] is False
    target = result.named("hp-team-a-target-role")
    assert target.urn not in association.dependencies
    assert target.inputs["name"] == "hp-team-a-target"
    data_role = result.named("hp-team-a-data-role")
    assert data_role.urn in association.dependencies
    assert i["roleArn"] == DATA_ROLE_ARN  # from its name: known in a preview too


def test_target_role_trust_pins_the_association_external_id_and_tags_sessions_apart():
    """AssumeRole under the association's external id; TagSession in its own statement, since the IAM reference
    gives sts:TagSession no sts:ExternalId key (under that condition the tagging, and so the chain, is denied)."""
    result = _run()
    association = result.one("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    external_id = association.outputs["externalId"]
    assert external_id
    target = result.named("hp-team-a-target-role")
    assert association.urn in target.dependencies
    assert _policy(target, "assumeRolePolicy") == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "TheTeamDataRoleThroughItsAssociation",
                "Effect": "Allow",
                "Principal": {"AWS": DATA_ROLE_ARN},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": external_id}},
            },
            {
                "Sid": "ItsSessionTags",
                "Effect": "Allow",
                "Principal": {"AWS": DATA_ROLE_ARN},
                "Action": "sts:TagSession",
            },
        ],
    }


def test_in_a_preview_the_target_trust_waits_for_the_external_id():
    target = _run(preview=True).named("hp-team-a-target-role")
    assert target.inputs["assumeRolePolicy"] == "<unknown>"


@pytest.mark.parametrize(("writable", "actions"), [(False, READ_ACTIONS), (True, READ_ACTIONS + WRITE_ACTIONS)])
def test_target_role_reaches_the_team_prefix_through_its_access_point_only(writable, actions):
    policy = _policy(_run(_args(writable=writable)).named("hp-team-a-target-access"))
    assert policy == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ListTheTeamPrefixThroughItsAccessPoint",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": AP_ARN,
                "Condition": {"StringLike": {"s3:prefix": ["team-a/*"]}},
            },
            {
                "Sid": "ObjectsOfTheTeamPrefixThroughItsAccessPoint",
                "Effect": "Allow",
                "Action": actions,
                "Resource": f"{AP_ARN}/object/team-a/*",
            },
        ],
    }
    assert "s3:PutObject" not in json.dumps(_policy(_run().named("hp-team-a-target-access")))  # read-only default


# ---------------------------------------------------------------- the access point


@pytest.mark.parametrize("preview", [False, True], ids=["up", "preview"])
def test_access_point_is_vpc_only_and_blocks_public_access(preview):
    result = _run(preview=preview)
    ap = result.one("aws:s3/accessPoint:AccessPoint")
    assert ap.inputs["vpcConfiguration"] == {"vpcId": VPC}
    assert ap.inputs["publicAccessBlockConfiguration"] == {
        "blockPublicAcls": True,
        "blockPublicPolicy": True,
        "ignorePublicAcls": True,
        "restrictPublicBuckets": True,
    }
    assert ap.inputs["name"] == "hp-team-a" and ap.inputs["accountId"] == DATA_ACCOUNT
    assert ap.inputs["bucket"] == "prepared-data"  # the read bucket's id
    assert result.named("hp-team-a-bucket").urn in ap.dependencies
    assert "policy" not in ap.inputs  # the policy is its own resource


def test_access_point_policy_limits_the_access_point_to_the_prefix_and_the_target_role():
    result = _run()
    ap = result.one("aws:s3/accessPoint:AccessPoint")
    ap_policy = result.one("aws:s3control/accessPointPolicy:AccessPointPolicy")
    assert ap_policy.inputs["accessPointArn"] == ap.outputs["arn"]
    assert result.named("hp-team-a-target-role").urn in ap_policy.dependencies  # its principal exists first
    assert _policy(ap_policy) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "TeamRoleListsItsPrefix",
                "Effect": "Allow",
                "Principal": {"AWS": TARGET_ARN},
                "Action": "s3:ListBucket",
                "Resource": AP_ARN,
                "Condition": {"StringLike": {"s3:prefix": ["team-a/*"]}},
            },
            {
                "Sid": "TeamRoleUsesObjectsOfItsPrefix",
                "Effect": "Allow",
                "Principal": {"AWS": TARGET_ARN},
                "Action": READ_ACTIONS,
                "Resource": f"{AP_ARN}/object/team-a/*",
            },
            {
                "Sid": "NoOtherPrincipalUsesTheData",
                "Effect": "Deny",
                "Principal": "*",
                "Action": [
                    "s3:GetObject*",
                    "s3:PutObject*",
                    "s3:DeleteObject*",
                    "s3:ListBucket*",
                    "s3:ListMultipartUploadParts",
                    "s3:AbortMultipartUpload",
                    "s3:RestoreObject",
                ],
                "Resource": [AP_ARN, f"{AP_ARN}/object/*"],
                "Condition": {"ArnNotEquals": {"aws:PrincipalArn": TARGET_ARN}},
            },
        ],
    }


def test_long_names_fit_s3_and_iam_limits():
    name = "Hyperpod_Platform-production-cluster-team-" + "x" * 60
    result = _run(name=name)
    ap_name = result.one("aws:s3/accessPoint:AccessPoint").inputs["name"]
    assert 3 <= len(ap_name) <= 50 and ap_name == ap_name.lower()
    assert ap_name[0].isalnum() and ap_name[-1].isalnum() and "_" not in ap_name
    for role in result.of_type("aws:iam/role:Role"):
        assert len(role.inputs["name"]) <= 64
    association = result.one("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    target = result.named(f"{name}-target-role")
    assert association.inputs["targetRoleArn"] == f"arn:aws:iam::{DATA_ACCOUNT}:role/{target.inputs['name']}"


# ---------------------------------------------------------------- the bucket


@pytest.mark.parametrize("preview", [False, True], ids=["up", "preview"])
def test_the_data_accounts_bucket_is_read_not_managed(preview):
    result = _run(preview=preview)
    bucket = result.one("aws:s3/bucket:Bucket")
    assert bucket.read and bucket.id == "prepared-data"
    assert _provider_urn(bucket) == result.one("pulumi:providers:aws").urn
    assert not result.of_type("aws:s3/bucketPolicy:BucketPolicy")  # BucketDelegation's, one per bucket


@pytest.mark.parametrize("preview", [False, True], ids=["up", "preview"])
def test_a_created_bucket_is_private_encrypted_versioned_and_protected(preview):
    result = _run(_args(team=_team(create_bucket=True, bucket="team-a-training-data")), preview=preview)
    bucket = result.one("aws:s3/bucket:Bucket")
    assert not bucket.read and bucket.protect
    assert bucket.inputs["bucket"] == "team-a-training-data" and bucket.inputs["forceDestroy"] is False
    provider = result.one("pulumi:providers:aws").urn
    settings = {
        "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/bucketVersioning:BucketVersioning",
    }
    for kind in settings:
        reg = result.one(kind)
        assert _provider_urn(reg) == provider and bucket.urn in reg.dependencies, kind
    pab = result.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    assert all(pab[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls"))
    assert pab["restrictPublicBuckets"] is True
    versioning = result.one("aws:s3/bucketVersioning:BucketVersioning").inputs
    assert versioning["versioningConfiguration"]["status"] == "Enabled"
    sse = result.one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    assert sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
    ownership = result.one("aws:s3/bucketOwnershipControls:BucketOwnershipControls").inputs
    assert ownership["rule"]["objectOwnership"] == "BucketOwnerEnforced"
    assert bucket.urn in result.one("aws:s3/accessPoint:AccessPoint").dependencies


@pytest.mark.parametrize("preview", [False, True], ids=["up", "preview"])
def test_outputs_resolve_to_the_computed_arns(preview):
    """Every output but the access point's alias is built from names: known in a preview."""
    outputs = _run(preview=preview).outputs
    assert outputs == {
        "data_role_arn": DATA_ROLE_ARN,
        "target_role_arn": TARGET_ARN,
        "access_point_arn": AP_ARN,
        "bucket_name": "prepared-data",
    }


# ---------------------------------------------------------------- one bucket policy per bucket


BUCKET_ARN = "arn:aws:s3:::prepared-data"
TLS_DENY = {
    "Sid": "HyperPodPlatformDenyInsecureTransport",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": [BUCKET_ARN, f"{BUCKET_ARN}/*"],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}
DELEGATION = {
    "Sid": "HyperPodPlatformDelegateToAccessPoints",
    "Effect": "Allow",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": [BUCKET_ARN, f"{BUCKET_ARN}/*"],
    "Condition": {"StringEquals": {"s3:DataAccessPointAccount": DATA_ACCOUNT}},
}
# Statements the data account's admins wrote: one with a Sid, one without.
ANALYTICS_READS = {
    "Sid": "AnalyticsReadsReports",
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{DATA_ACCOUNT}:role/Analytics"},
    "Action": "s3:GetObject",
    "Resource": f"{BUCKET_ARN}/reports/*",
}
NO_SID_DENY = {
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:DeleteBucket",
    "Resource": BUCKET_ARN,
    "Condition": {"ArnNotEquals": {"aws:PrincipalArn": f"arn:aws:iam::{DATA_ACCOUNT}:role/Admin"}},
}


@pytest.fixture
def data_account(monkeypatch):
    """A model of the data account's buckets for one test: fill the returned mapping with bucket name -> the
    policy S3 holds (JSON; None: no policy). The harness's Bucket.get() read answers from it as the provider
    does (``policy`` from GetBucketPolicy, "" when the bucket has none)."""
    buckets: dict = {}
    monkeypatch.setattr(harness.AwsMocks, "bucket_policies", buckets)
    return buckets


def _delegate(preview: bool, bucket: str = "prepared-data", **changes) -> RunResult:
    def program():
        fields = {"bucket": bucket, "data_account": DATA, "region": "us-east-1", **changes}
        BucketDelegation("prepared-data", BucketDelegationArgs(**fields))

    result = run_program(program, CONFIG, preview=preview)
    assert result.error is None, result.error
    return result


@pytest.mark.parametrize("preview", [False, True], ids=["up", "preview"])
def test_a_created_buckets_policy_is_tls_only_delegation_and_goes_with_the_stack(preview):
    result = _delegate(preview, created=True)
    provider = result.one("pulumi:providers:aws")
    _assert_data_provider(provider)
    policy = result.one("aws:s3/bucketPolicy:BucketPolicy")
    assert _provider_urn(policy) == provider.urn
    assert policy.inputs["bucket"] == "prepared-data"
    assert _policy(policy) == {"Version": "2012-10-17", "Statement": [TLS_DENY, DELEGATION]}
    assert not policy.retain_on_delete  # the stack's bucket: its policy is the stack's too
    assert not result.of_type("aws:s3/bucket:Bucket")  # nothing read: there is no other policy to keep


@pytest.mark.parametrize("preview", [False, True], ids=["up", "preview"])
def test_an_existing_buckets_policy_keeps_the_statements_the_platform_did_not_write(data_account, preview):
    stale = {**DELEGATION, "Condition": {"StringEquals": {"s3:DataAccessPointAccount": "444444444444"}}}
    data_account["prepared-data"] = json.dumps(
        {"Version": "2012-10-17", "Id": "DataTeamPolicy", "Statement": [ANALYTICS_READS, stale, NO_SID_DENY]}
    )
    result = _delegate(preview)
    assert _policy(result.one("aws:s3/bucketPolicy:BucketPolicy")) == {
        "Version": "2012-10-17",
        "Id": "DataTeamPolicy",
        # theirs as they were, in their order; the platform's own (an earlier run's, by Sid) replaced once
        "Statement": [ANALYTICS_READS, NO_SID_DENY, TLS_DENY, DELEGATION],
    }
    (read,) = result.of_type("aws:s3/bucket:Bucket")
    assert read.read and read.id == "prepared-data"
    assert _provider_urn(read) == result.one("pulumi:providers:aws").urn  # read in the data account


def test_a_second_run_over_its_own_merged_policy_writes_the_same_policy(data_account):
    data_account["prepared-data"] = json.dumps({"Version": "2012-10-17", "Statement": [ANALYTICS_READS]})
    first = _policy(_delegate(False).one("aws:s3/bucketPolicy:BucketPolicy"))
    data_account["prepared-data"] = json.dumps(first)  # what S3 holds after the first run
    assert _policy(_delegate(False).one("aws:s3/bucketPolicy:BucketPolicy")) == first


@pytest.mark.parametrize("preview", [False, True], ids=["up", "preview"])
def test_destroy_leaves_the_policy_of_a_bucket_the_stack_does_not_own(data_account, preview):
    data_account["prepared-data"] = json.dumps({"Version": "2012-10-17", "Statement": [ANALYTICS_READS]})
    policy = _delegate(preview).one("aws:s3/bucketPolicy:BucketPolicy")
    assert policy.retain_on_delete  # `pulumi destroy` drops it from the stack, not from the bucket
    assert not policy.protect  # and destroy still runs


@pytest.mark.parametrize("held", [None, ""], ids=["no-policy", "empty"])
def test_a_bucket_without_a_policy_gets_the_platforms_statements_only(data_account, held):
    data_account["prepared-data"] = held
    policy = _delegate(False).one("aws:s3/bucketPolicy:BucketPolicy")
    assert _policy(policy) == {"Version": "2012-10-17", "Statement": [TLS_DENY, DELEGATION]}
    assert policy.retain_on_delete


@pytest.mark.parametrize(
    ("held", "why"),
    [("{not json", "is not JSON"), (json.dumps({"Version": "2012-10-17", "Statement": "x"}), "no list")],
)
def test_a_current_policy_that_cannot_be_read_is_not_written_over(data_account, held, why):
    data_account["prepared-data"] = held

    def program():
        BucketDelegation(
            "prepared-data", BucketDelegationArgs(bucket="prepared-data", data_account=DATA, region="us-east-1")
        )

    result = run_program(program, CONFIG, preview=False)
    assert result.error is not None and why in str(result.error) and "prepared-data" in str(result.error)
    assert all("policy" not in r.inputs for r in result.of_type("aws:s3/bucketPolicy:BucketPolicy"))


def test_the_delegation_narrows_to_the_teams_access_points_when_given(data_account):
    data_account["prepared-data"] = None
    other = f"arn:aws:s3:us-east-1:{DATA_ACCOUNT}:accesspoint/hp-team-b"
    result = _delegate(False, access_point_arns=[other, AP_ARN, pulumi.Output.from_input(other)])
    statements = {st["Sid"]: st for st in _policy(result.one("aws:s3/bucketPolicy:BucketPolicy"))["Statement"]}
    assert set(statements) == PLATFORM_SIDS
    assert statements["HyperPodPlatformDelegateToAccessPoints"]["Condition"] == {
        "StringEquals": {"s3:DataAccessPointAccount": DATA_ACCOUNT, "s3:DataAccessPointArn": [AP_ARN, other]}
    }


def test_the_platform_statements_are_an_output_for_the_data_accounts_admin(data_account):
    data_account["prepared-data"] = json.dumps({"Version": "2012-10-17", "Statement": [ANALYTICS_READS]})

    def program():
        d = BucketDelegation(
            "prepared-data", BucketDelegationArgs(bucket="prepared-data", data_account=DATA, region="us-east-1")
        )
        pulumi.export("statements", d.statements)

    result = run_program(program, CONFIG, preview=False)
    assert result.error is None, result.error
    assert json.loads(result.outputs["statements"]) == [TLS_DENY, DELEGATION]


def test_two_teams_on_one_bucket_make_one_bucket_policy():
    """The stack's way: one provider per data account, one BucketDelegation per distinct bucket."""
    team_b = replace(TEAM, name="team-b", data=replace(TEAM.data, prefix="team-b"))

    def program():
        provider = data_account_provider("data-account", DATA, "us-east-1")
        teams = [TeamData(f"hp-{t.name}", _args(team=t, data_provider=provider)) for t in (TEAM, team_b)]
        BucketDelegation(
            "prepared-data",
            BucketDelegationArgs(
                bucket=teams[0].bucket_name, data_account=DATA, region="us-east-1", data_provider=provider
            ),
        )

    result = run_program(program, CONFIG, preview=False)
    assert result.error is None, result.error
    policy = result.one("aws:s3/bucketPolicy:BucketPolicy")
    assert _provider_urn(policy) == result.one("pulumi:providers:aws").urn
    assert len(result.of_type("aws:s3/accessPoint:AccessPoint")) == 2


def test_a_created_buckets_policy_waits_for_the_bucket():
    def program():
        provider = data_account_provider("data-account", DATA, "us-east-1")
        team = TeamData("hp-team-a", _args(team=_team(create_bucket=True), data_provider=provider))
        BucketDelegation(
            "prepared-data",
            BucketDelegationArgs(
                bucket=team.bucket_name, data_account=DATA, region="us-east-1", data_provider=provider, created=True
            ),
        )

    result = run_program(program, CONFIG, preview=True)
    assert result.error is None, result.error
    policy = result.one("aws:s3/bucketPolicy:BucketPolicy")
    assert result.one("aws:s3/bucket:Bucket").urn in policy.dependencies
    assert policy.inputs["bucket"] == "prepared-data"  # known in a preview: the name is the config's


# ---------------------------------------------------------------- refused args


@pytest.mark.parametrize(
    ("args", "path", "why"),
    [
        (_args(team=replace(TEAM, data=None)), "team.data", "has no data"),
        (_args(data_account=replace(DATA, alias="other")), "team.data.account", "not the given data account"),
        (_args(data_account=replace(DATA, role_arn=None)), "data_account.role_arn", "is required"),
        (
            _args(data_account=replace(DATA, role_arn="arn:aws:iam::444444444444:role/X")),
            "data_account.role_arn",
            "not of data account",
        ),
        (_args(data_account=replace(DATA, account_id="333")), "data_account.account_id", "not an AWS account id"),
        (_args(team=_team(prefix="/team-a/")), "team.data.prefix", "not an S3 key prefix"),
        (_args(team=_team(service_account="Data_Access")), "team.data.service_account", "service account"),
        (_args(team=_team(bucket="Bad_Bucket")), "team.data.bucket", "not an S3 bucket name"),
        (_args(team=_team(bucket="with.dots", create_bucket=True)), "team.data.bucket", "dots"),
        (_args(vpc_id="vpc-xyz"), "vpc_id", "not a VPC id"),
        (_args(region="mars-1"), "region", "not an AWS region"),
        (_args(eks_cluster_name="-bad"), "eks_cluster_name", "not an EKS cluster name"),
        (_args(team=replace(TEAM, name="Team A")), "team.name", "team names are lowercase"),
        (_args(data_provider="not-a-provider"), "data_provider", "not an AWS provider"),
    ],
)
def test_bad_args_are_refused_before_anything_is_registered(args, path, why):
    def program():
        TeamData("hp-team-a", args)

    result = run_program(program, CONFIG, preview=True)
    assert isinstance(result.error, ConfigError), result.error
    paths = {p.path for p in result.error.problems}
    assert f"TeamData.{path}" in paths, paths
    assert why in str(result.error)
    assert result.registrations == []


def test_an_existing_bucket_may_have_dots():
    assert _run(_args(team=_team(bucket="legacy.data.bucket"))).one("aws:s3/bucket:Bucket").id == "legacy.data.bucket"


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"bucket": "Bad_Bucket"}, "bucket"),
        ({"data_account": replace(DATA, role_arn=None)}, "data_account.role_arn"),
        ({"region": "nowhere"}, "region"),
        ({"access_point_arns": ["arn:aws:s3:us-east-1:444444444444:accesspoint/x-ap"]}, "access_point_arns[0]"),
        ({"access_point_arns": [BUCKET_ARN]}, "access_point_arns[0]"),
    ],
)
def test_bucket_delegation_refuses_bad_args(changes, path):
    def program():
        fields = {"bucket": "prepared-data", "data_account": DATA, "region": "us-east-1", **changes}
        BucketDelegation("prepared-data", BucketDelegationArgs(**fields))

    result = run_program(program, CONFIG, preview=True)
    assert isinstance(result.error, ConfigError), result.error
    assert f"BucketDelegation.{path}" in {p.path for p in result.error.problems}
    assert result.registrations == []


def test_the_data_provider_is_an_aws_provider_reference_in_the_schema():
    """Other languages pass the shared provider as a resource reference (the analyzer's schema)."""
    from pulumi.provider.experimental.analyzer import Analyzer

    from hyperpod_platform.provider import PACKAGE_NAME

    result = Analyzer(PACKAGE_NAME).analyze([TeamData, BucketDelegation])
    for component in ("TeamData", "BucketDelegation"):
        prop = result["component_definitions"][component].inputs["dataProvider"]
        assert prop.ref.endswith("#/resources/pulumi:providers:aws") and prop.optional


# ---------------------------------------------------------------- the prefix reaches IAM: literal segments only
@pytest.mark.parametrize(
    "prefix",
    ["*", "team-a/*", "team-?", "..", "team-a/../team-b", "./team-a", "team-a//x", "${aws:username}", "team a"],
)
def test_a_prefix_that_would_widen_or_escape_the_policies_is_refused_by_the_component(prefix):
    """TeamData checks its own args with the same rule as the config: the policies never get ``object/*/*``."""

    def program():
        TeamData("hp-team-a", _args(team=_team(prefix=prefix)))

    result = run_program(program, CONFIG, preview=True)
    assert isinstance(result.error, ConfigError), result.error
    problems = [p for p in result.error.problems if p.path == "TeamData.team.data.prefix"]
    assert len(problems) == 1 and len(result.error.problems) == 1, result.error.problems
    assert "not an S3 key prefix" in str(result.error)
    assert result.registrations == []


def test_the_prefix_rule_passes_literal_segments_and_refuses_any_pattern_character():
    """Property: over generated prefixes, the rule passes exactly '/'-joined non-empty segments of S3's safe
    characters other than '.' and '..'; so no accepted prefix holds '*', '?', '$', '{' or an escape segment."""
    segment = re.compile(r"^[A-Za-z0-9!_.'()-]+$")

    @settings(max_examples=300, derandomize=True, database=None)
    @given(st.text(alphabet="ab.*?/${}() -_!'\\x", max_size=12))
    def check(prefix):
        parts = prefix.split("/")
        literal = bool(prefix) and all(segment.match(p) and p not in (".", "..") for p in parts)
        assert (key_prefix(prefix) is None) == literal, prefix
        if key_prefix(prefix) is None:
            assert not set(prefix) & set("*?${}") and ".." not in parts

    check()
