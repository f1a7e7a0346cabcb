"""Components check their own args (``hyperpod_platform.checks``, collected by ``ArgCheck``): a bad arg raises
one ConfigError naming ``Component.arg``, the value and the fix, before the component registers anything; every
mistake of one call is in that error, each once; args are a dataclass instance or a mapping of its fields."""

from __future__ import annotations

import dataclasses
import inspect
import json
from pathlib import Path
from typing import Any

import pulumi
import pytest

import hyperpod_platform as hp
from hyperpod_platform._args import component_type
from hyperpod_platform.errors import ConfigError
from hyperpod_platform.settings import (
    AccessSettings,
    ClusterSettings,
    DirectorySettings,
    DirectoryUserSettings,
    FsxSettings,
    InstanceGroupSettings,
    LdapsSettings,
    LoginSettings,
    NetworkSettings,
    VpnSettings,
)
from tools.harness import RunResult, run_program

CONFIG = {"aws:region": "us-east-1"}
ACCOUNT = "123456789012"
VPC = "vpc-0123456789abcdef0"
SUBNETS = ("subnet-0123456789abcdef0", "subnet-0123456789abcdef1")
SG = "sg-0123456789abcdef0"
TAGS = {"Project": "hyperpod-platform", "Cluster": "hp"}
PEM = "-----BEGIN CERTIFICATE-----\nMIIBcomponentArgsTestCA\n-----END CERTIFICATE-----\n"
ACM_ARN = f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/0123abcd-0123-4567-89ab-0123456789ab"
CLUSTER_ARN = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:cluster/abcdef012345"
CONTROLLER = InstanceGroupSettings(name="controller", role="controller", instance_type="ml.m5.xlarge", count=1)
CPU = InstanceGroupSettings(name="cpu", role="compute", instance_type="ml.m5.2xlarge", count=2, partition="cpu")
NETWORK = NetworkSettings(
    mode="create",
    availability_zones=("us-east-1a", "us-east-1b"),
    vpc_cidr="10.0.0.0/16",
    private_subnet_cidrs=("10.0.0.0/18", "10.0.64.0/18"),
    public_subnet_cidrs=("10.0.192.0/24", "10.0.193.0/24"),
    nat_gateways="single",
)

# Small valid args of every component, and the type of a child it registers.
VALID: dict[str, tuple[Any, str]] = {
    "Access": (
        hp.AccessArgs(
            settings=AccessSettings(bastion=True, bastion_allowed_cidrs=("198.51.100.0/24",)),
            cluster_name="hp",
            cluster_arn=CLUSTER_ARN,
            vpc_id=VPC,
            public_subnet_id=SUBNETS[0],
            cluster_security_group_id=SG,
            tags=TAGS,
        ),
        "aws:ec2/instance:Instance",
    ),
    "ClientVpn": (
        hp.ClientVpnArgs(
            settings=VpnSettings(enabled=True, client_cidr="10.255.0.0/22", clients=("alice",)),
            vpc_id=VPC,
            vpc_cidr="10.0.0.0/16",
            subnet_ids=SUBNETS,
            tags=TAGS,
        ),
        "aws:ec2clientvpn/endpoint:Endpoint",
    ),
    "Directory": (
        hp.DirectoryArgs(
            settings=DirectorySettings(enabled=True, domain_name="corp.example.com"),
            vpc_id=VPC,
            subnet_ids=SUBNETS,
            tags=TAGS,
        ),
        "aws:directoryservice/directory:Directory",
    ),
    "DirectoryAdminHost": (
        hp.DirectoryAdminHostArgs(
            directory_id="d-0123456789",
            domain_name="corp.example.com",
            dns_ips=["10.0.0.10", "10.0.64.10"],
            vpc_id=VPC,
            subnet_id=SUBNETS[0],
            instance_type="t3.medium",
            tags=TAGS,
        ),
        "aws:ec2/instance:Instance",
    ),
    "DirectoryConnection": (
        hp.DirectoryConnectionArgs(
            parameter_name="/hyperpod-platform/hp/directory",
            ldaps_uri="ldaps://ldaps.corp.example.com",
            bind_dn="CN=ReadOnly,OU=Users,DC=corp,DC=example,DC=com",
            bind_secret_arn=f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:hp-ldap-bind-AbCdEf",
            group_dns={"ClusterAdmin": "CN=ClusterAdmin,OU=Users,DC=corp,DC=example,DC=com"},
            groups=("ClusterAdmin",),
            ca_certificate_pem=PEM,
            tags=TAGS,
        ),
        "aws:ssm/parameter:Parameter",
    ),
    "DirectoryContents": (
        hp.DirectoryContentsArgs(
            directory_id="d-0123456789",
            region="us-east-1",
            bind_user="ReadOnly",
            bind_password="Correct-Horse-Battery-9",
            groups=("ClusterAdmin", "ClusterDev"),
            users=(DirectoryUserSettings(name="alice", groups=("ClusterAdmin",), email="alice@example.com"),),
        ),
        "pulumi-python:dynamic:Resource",
    ),
    "ExecutionRole": (
        hp.ExecutionRoleArgs(
            vpc_arn=f"arn:aws:ec2:us-east-1:{ACCOUNT}:vpc/{VPC}",
            subnet_arns=[f"arn:aws:ec2:us-east-1:{ACCOUNT}:subnet/{SUBNETS[0]}"],
            security_group_arns=[f"arn:aws:ec2:us-east-1:{ACCOUNT}:security-group/{SG}"],
            bucket_arn="arn:aws:s3:::sagemaker-hp-lifecycle",
            lifecycle_prefix="lifecycle",
            tags=TAGS,
        ),
        "aws:iam/role:Role",
    ),
    "HyperPodCluster": (
        hp.HyperPodClusterArgs(
            settings=ClusterSettings(name="hp", instance_groups=(CONTROLLER, CPU)),
            execution_role_arn=f"arn:aws:iam::{ACCOUNT}:role/hp-nodes",
            subnet_ids=SUBNETS[:1],
            security_group_ids=(SG,),
            source_s3_uri="s3://sagemaker-hp-lifecycle/lifecycle",
            tags=TAGS,
        ),
        "aws-native:sagemaker:Cluster",
    ),
    "LdapsEndpoint": (
        hp.LdapsEndpointArgs(
            settings=LdapsSettings(),
            domain_name="corp.example.com",
            vpc_id=VPC,
            subnet_ids=SUBNETS,
            controller_ips=["10.0.0.10", "10.0.64.10"],
            controller_count=2,
            cluster_security_group_id=SG,
            tags=TAGS,
        ),
        "aws:lb/loadBalancer:LoadBalancer",
    ),
    "LifecycleBucket": (hp.LifecycleBucketArgs(cluster_name="hp", tags=TAGS), "aws:s3/bucket:Bucket"),
    "LoginAccess": (
        hp.LoginAccessArgs(
            settings=LoginSettings(allowed_cidrs=("192.168.100.0/24",)),
            login_group="login",
            vpc_id=VPC,
            vpc_cidr="10.0.0.0/16",
            subnet_ids=SUBNETS,
            cluster_security_group_id=SG,
            tags=TAGS,
            client_cidrs=("10.255.0.0/22",),
        ),
        "aws:lb/loadBalancer:LoadBalancer",
    ),
    "LoginTargets": (
        hp.LoginTargetsArgs(
            target_group_arn=f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:targetgroup/login/0123456789abcdef",
            login_group="login",
            count=2,
            vpc_id=VPC,
            cluster_arn=CLUSTER_ARN,
            target_ips=("10.0.0.10", "10.0.0.11"),
        ),
        "aws:lb/targetGroupAttachment:TargetGroupAttachment",
    ),
    "Network": (hp.NetworkArgs(settings=NETWORK, tags=TAGS, region="us-east-1"), "aws:ec2/vpc:Vpc"),
    "Fsx": (
        hp.FsxArgs(settings=FsxSettings(), subnet_id=SUBNETS[0], security_group_id=SG, tags=TAGS),
        "aws:fsx/lustreFileSystem:LustreFileSystem",
    ),
}

OWN_CASES = {
    "EksControlPlane": "tests/test_eks_components.py",
    "EksNodeAddons": "tests/test_behaviour_readiness.py",
    "FsxVolume": "tests/test_eks_components.py",
    "HyperPodDependencies": "tests/test_eks_components.py",
    "TaskGovernance": "tests/test_task_governance.py",
    "TeamAccess": "tests/test_team_access.py",
    "TeamData": "tests/test_team_data.py",
    "BucketDelegation": "tests/test_team_data.py",
}
"""EKS and team components whose bad-arg cases live with their own tests (named here, checked to exist)."""
PENDING = set(OWN_CASES)


def _with(args: Any, **changes: Any) -> Any:
    """``args`` with fields replaced; ``settings__mode="existing"`` replaces a field of ``args.settings``."""
    nested: dict[str, dict[str, Any]] = {}
    for key in [k for k in changes if "__" in k]:
        outer, inner = key.split("__", 1)
        nested.setdefault(outer, {})[inner] = changes.pop(key)
    for outer, fields in nested.items():
        changes[outer] = dataclasses.replace(getattr(args, outer), **fields)
    return dataclasses.replace(args, **changes)


def _build(component: str, args: Any) -> RunResult:
    """Construct ``component`` with ``args`` under the mocks, as in a first `pulumi preview`."""
    cls = getattr(hp, component)
    return run_program(lambda: cls("hp", args), CONFIG, preview=True)


def _refused(component: str, args: Any) -> ConfigError:
    """The component refused ``args`` with a ConfigError, and nothing was registered: not the component, not a
    child."""
    result = _build(component, args)
    assert isinstance(result.error, ConfigError), result.error
    assert not [r for r in result.registrations if r.type == component_type(component)]
    assert result.registrations == []
    assert str(result.error).startswith(f"invalid {component} args ({len(result.error.problems)} problem(s)):")
    return result.error


# (component, changes to its valid args, the arg named, the value as shown, words of the fix)
BAD = [
    ("Access", dict(settings__bastion_allowed_cidrs=("0.0.0.0/0",)), "settings.bastion_allowed_cidrs[0]",
     '"0.0.0.0/0"', "only the client networks"),
    ("ClientVpn", dict(settings__client_cidr="10.0.4.0/22"), "settings.client_cidr", '"10.0.4.0/22"',
     "outside the VPC"),
    ("Directory", dict(settings__mode="existing", settings__directory_id="d-123"), "settings.directory_id",
     '"d-123"', "like d-1234567890"),
    ("DirectoryAdminHost", dict(instance_type="t4g.medium"), "instance_type", '"t4g.medium"', "x86_64 type"),
    ("DirectoryConnection", dict(groups=("ClusterAdmin", "Nobody")), "groups[1]", '"Nobody"', "DN to group_dns"),
    ("DirectoryContents", dict(users=(DirectoryUserSettings(name="bob", groups=("ClusterOps",)),)),
     "users[0].groups[0]", '"ClusterOps"', "ClusterAdmin, ClusterDev"),
    ("ExecutionRole", dict(subnet_arns=[]), "subnet_arns", "[]", "ARNs of the nodes' subnets"),
    ("HyperPodCluster", dict(settings__name="hp_dev"), "settings.name", '"hp_dev"', "use 'hp-dev'"),
    ("LdapsEndpoint", dict(settings__certificate_arn=ACM_ARN, settings__dns_name="ldaps.corp.example.com"),
     "settings.ca_certificate", "<missing>", "PEM certificate"),
    ("LifecycleBucket", dict(bucket_name="Lifecycle_Scripts"), "bucket_name", '"Lifecycle_Scripts"',
     "'sagemaker-lifecycle-scripts'"),
    ("LoginAccess", dict(settings__allowed_cidrs=("10.255.0.0/22",)), "settings.allowed_cidrs[0]",
     '"10.255.0.0/22"', "remove settings.allowed_cidrs[0]"),
    ("LoginTargets", dict(target_ips=("10.0.0.10",)), "target_ips", '["10.0.0.10"]',
     "leave target_ips empty"),
    ("Network", dict(settings__nat_gateways="perSubnet"), "settings.nat_gateways", '"perSubnet"',
     "use one of single, perAz"),
    ("Fsx", dict(settings__storage_capacity_gib=1000), "settings.storage_capacity_gib", "1000",
     "use 1200"),
]  # fmt: skip


@pytest.mark.parametrize(("component", "changes", "arg", "shown", "fix"), BAD, ids=[b[0] for b in BAD])
def test_a_bad_arg_raises_one_problem_naming_component_arg_value_and_fix_and_registers_nothing(
    component, changes, arg, shown, fix
):
    err = _refused(component, _with(VALID[component][0], **changes))
    assert len(err.problems) == 1, err  # one mistake, reported once
    (line,) = [ln for ln in str(err).splitlines() if ln.startswith("  - ")]
    assert line.startswith(f"  - {component}.{arg} = {shown}: "), line
    assert fix in line.split(". Fix: ", 1)[1], line


@pytest.mark.parametrize("component", sorted(VALID))
def test_small_valid_args_build_the_component_and_its_children(component):
    args, child = VALID[component]
    result = _build(component, args)
    assert result.error is None, result.error
    parent = result.one(component_type(component))
    assert [r for r in result.of_type(child) if r.parent == parent.urn], f"no {child} under {component}"


@pytest.mark.parametrize("component", sorted(VALID))
def test_args_given_as_a_mapping_build_what_the_dataclass_builds(component):
    """A dict of the python field names, nested settings as dicts too: what a program in another language
    hands a component through the component provider."""
    args = VALID[component][0]

    def plan(result: RunResult) -> list:
        assert result.error is None, result.error
        return sorted((r.type, r.name, r.parent, json.dumps(r.inputs, sort_keys=True)) for r in result.registrations)

    mapping = dataclasses.asdict(args)
    assert isinstance(mapping, dict) and not any(dataclasses.is_dataclass(v) for v in mapping.values())
    assert plan(_build(component, mapping)) == plan(_build(component, args))


def test_every_mistake_of_one_call_is_reported_together_in_one_error():
    """Several mistakes, in the settings and in the args themselves, each once, in one error."""
    groups = (
        CONTROLLER,
        dataclasses.replace(CONTROLLER, name="controller2"),
        dataclasses.replace(CPU, instance_type="p5.48xlarge"),
    )
    args = _with(
        VALID["HyperPodCluster"][0],
        settings__name="hp_dev",
        settings__instance_groups=groups,
        subnet_ids=(),
        source_s3_uri="https://example.com/lifecycle",
    )
    err = _refused("HyperPodCluster", args)
    named = [p.path for p in err.problems]
    assert named == [
        "HyperPodCluster.settings.name",
        "HyperPodCluster.settings.instance_groups[2].instance_type",
        "HyperPodCluster.settings.instance_groups",
        "HyperPodCluster.subnet_ids",
        "HyperPodCluster.source_s3_uri",
    ]
    assert "(5 problem(s))" in str(err)
    assert "exactly one controller group, found 2" in str(err)


def test_wrong_types_unknown_keys_and_missing_args_are_reported_before_the_components_own_checks():
    """take() judges the shape first (a wrong type, an unknown key, a missing arg, together); the component's
    own checks (here the mount path) run only on args of the right shape."""
    mapping = {
        "settings": {"storage_capacity_gib": "1200", "mount_path": "/etc"},
        "subnet_id": SUBNETS[0],
        "tags": TAGS,
        "size_gib": 1200,
    }
    err = _refused("Fsx", mapping)
    assert sorted(p.path for p in err.problems) == [
        "Fsx.security_group_id",
        "Fsx.settings.storage_capacity_gib",
        "Fsx.size_gib",
    ]
    text = str(err)
    assert 'Fsx.settings.storage_capacity_gib = "1200": must be an integer' in text
    assert "Fsx.size_gib = 1200: is not an arg" in text
    assert "Fsx.security_group_id = <missing>: is required" in text
    assert "mount_path" not in text


@pytest.mark.parametrize(
    ("component", "changes", "secret"),
    [
        (
            "LdapsEndpoint",
            dict(
                settings__certificate_arn=ACM_ARN,
                settings__dns_name="ldaps.corp.example.com",
                settings__ca_certificate="-----BEGIN PRIVATE KEY-----\nMIIEvQsecretKeyMaterial\n-----END PRIVATE KEY-----",
            ),
            "MIIEvQsecretKeyMaterial",
        ),
        (
            "DirectoryContents",
            dict(
                users=(
                    DirectoryUserSettings(
                        name="bob",
                        ssh_public_keys=("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEsecret\n",),
                    ),
                )
            ),
            "b3BlbnNzaC1rZXktdjEsecret",
        ),
    ],
    ids=["ca-certificate-that-is-a-private-key", "ssh-key-that-is-a-private-key"],
)
def test_a_secret_in_a_bad_arg_is_never_shown(component, changes, secret):
    err = _refused(component, _with(VALID[component][0], **changes))
    assert len(err.problems) == 1 and secret not in str(err) and "<redacted str" in str(err)


def test_unknown_outputs_are_left_to_resolve():
    """An output is not judged while unknown: the same arg that is refused as a plain value builds as one."""

    def program():
        later = pulumi.Output.from_input("s3").apply(lambda _: "not-an-s3-uri")  # what a resource resolves to
        hp.HyperPodCluster("hp", _with(VALID["HyperPodCluster"][0], source_s3_uri=later))

    assert run_program(program, CONFIG, preview=True).error is None


COMPONENTS = sorted(n for n in hp.__all__ if inspect.isclass(getattr(hp, n)) and issubclass(
    getattr(hp, n), pulumi.ComponentResource))  # fmt: skip


@pytest.mark.parametrize("component", COMPONENTS)
def test_every_component_refuses_an_unknown_arg_and_names_its_required_ones_before_registering(component):
    err = _refused(component, {"colour": "blue"})
    assert f'{component}.colour = "blue": is not an arg' in str(err)
    assert any(p.why == "is required" for p in err.problems)


def test_every_public_component_has_cases_here():
    assert set(VALID) == {b[0] for b in BAD} == set(COMPONENTS) - PENDING


def test_components_with_their_own_bad_arg_cases_have_them():
    """Each component whose cases live elsewhere has, in that file, a test that raises its ConfigError."""
    for component, path in OWN_CASES.items():
        text = (Path(__file__).resolve().parent.parent / path).read_text()
        assert f"{component}." in text and "ConfigError" in text, (component, path)
