"""Directory, built directly under mocks: AWS Managed Microsoft AD in the first two given subnets (or an existing
directory, looked up or given by its DNS IPs), protected, its Admin password generated and readable by the
deployer only, and the read-only bind user's password generated and kept in Secrets Manager."""

from __future__ import annotations

import base64
import dataclasses
import json

import pulumi
import pulumi_aws as aws
import pytest
from pulumi.runtime import mocks as pmocks

import tools.harness as harness
from hyperpod_platform import Directory, DirectoryArgs
from hyperpod_platform.directory import PASSWORD_SPECIALS
from hyperpod_platform.settings import DirectorySettings
from tools.harness import DEPLOYER_ROLE, DEPLOYER_SESSION, RunResult, run_program
from tools.preview import plan_of

COMPONENT = "hyperpod-platform:index:Directory"
DIRECTORY = "aws:directoryservice/directory:Directory"
SECRET = "aws:secretsmanager/secret:Secret"
VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
POLICY = "aws:secretsmanager/secretPolicy:SecretPolicy"
PASSWORD = "random:index/randomPassword:RandomPassword"
SUBNET = "aws:ec2/subnet:Subnet"
LOOKUP = "aws:directoryservice/getDirectory:getDirectory"
CONFIG = {"aws:region": "us-east-1", "aws-native:region": "us-east-1"}

NAME = "t"
VPC_ID = "vpc-0123456789abcdef0"
CREATE = DirectorySettings(enabled=True, domain_name="corp.example.com")
EXISTING = DirectorySettings(enabled=True, mode="existing", domain_name="corp.example.com", directory_id="d-0123456789")
TAGS = {"Cluster": NAME}


def _run(settings: DirectorySettings = CREATE, preview: bool = False) -> RunResult:
    """A Directory in three tiny subnets (it takes the first two); a consumer of its bind secret ARN; its
    outputs exported."""

    def program():
        subnets = [aws.ec2.Subnet(f"subnet-{i}", vpc_id=VPC_ID, cidr_block=f"10.20.{i}.0/24") for i in range(3)]
        d = Directory(
            NAME, DirectoryArgs(settings=settings, vpc_id=VPC_ID, subnet_ids=[s.id for s in subnets], tags=TAGS)
        )
        aws.ssm.Parameter("consumer", type="String", insecure_value=d.bind_secret_arn)  # e.g. the nodes' policy
        pulumi.export("directoryId", d.directory_id)
        pulumi.export("dnsIps", d.dns_ips)
        pulumi.export("securityGroupId", d.security_group_id)
        pulumi.export("controllerCount", d.controller_count)
        pulumi.export("bindSecretArn", d.bind_secret_arn)
        pulumi.export("hasAdminSecret", d.admin_secret is not None)
        pulumi.export("hasDirectory", d.directory is not None)

    result = run_program(program, CONFIG, preview=preview)
    assert result.error is None, result.error
    return result


def _mine(result: RunResult, typ: str) -> list:
    component = result.one(COMPONENT)
    return [r for r in result.of_type(typ) if r.parent == component.urn]


def _one(result: RunResult, typ: str, name: str):
    (found,) = [r for r in _mine(result, typ) if r.name == name]
    return found


def _lookup(directory_id: str) -> dict:
    """What the mocks answer for the directory's lookup (the directory as AWS describes it)."""
    call = pmocks.MockCallArgs(token=LOOKUP, args={"directoryId": directory_id}, provider="")
    return harness.AwsMocks(CONFIG["aws:region"], preview=False).call(call)


def _subnet_ids(result: RunResult) -> list[str]:
    return [result.named(f"subnet-{i}", SUBNET).outputs["id"] for i in range(3)]


# --- created mode ------------------------------------------------------------------------------------------
def test_creates_managed_ad_in_the_first_two_subnets_with_data_access():
    """A MicrosoftAD directory (Standard by default), named for the domain with its NetBIOS name from the first
    label, in the given VPC and the first two given subnets, with Data API access on, tagged."""
    result = _run()
    (d,) = _mine(result, DIRECTORY)
    i = d.inputs
    assert (i["type"], i["edition"], i["name"], i["shortName"]) == (
        "MicrosoftAD",
        "Standard",
        "corp.example.com",
        "CORP",
    )
    assert i["vpcSettings"] == {"vpcId": VPC_ID, "subnetIds": _subnet_ids(result)[:2]}
    assert i["enableDirectoryDataAccess"] is True and i["tags"] == TAGS
    assert NAME in i["description"]


def test_directory_takes_edition_and_short_name_from_the_settings():
    result = _run(dataclasses.replace(CREATE, edition="Enterprise", short_name="CORPX"))
    i = result.one(DIRECTORY).inputs
    assert (i["edition"], i["shortName"]) == ("Enterprise", "CORPX")


def test_created_directory_reports_its_id_controllers_and_security_group():
    """The directory's id, DNS IPs and the security group AWS made are the component's outputs; two domain
    controllers (one per subnet), known at plan time."""
    result = _run()
    d = result.one(DIRECTORY).outputs
    o = result.outputs
    assert (o["directoryId"], o["dnsIps"], o["securityGroupId"]) == (d["id"], d["dnsIpAddresses"], d["securityGroupId"])
    assert o["controllerCount"] == 2 and o["hasDirectory"] is True and o["hasAdminSecret"] is True


def test_directory_and_its_admin_secret_are_protected():
    """The directory and the Admin password's secret are protected, and nothing else of the component is
    (the passwords, the bind secret and the secret versions can be replaced)."""
    result = _run()
    component = result.one(COMPONENT)
    protected = sorted((r.type, r.name) for r in result.registrations if r.parent == component.urn and r.protect)
    assert protected == [(DIRECTORY, f"{NAME}-directory"), (SECRET, f"{NAME}-directory-admin")]


def test_protect_false_lifts_the_protection():
    result = _run(dataclasses.replace(CREATE, protect=False))
    component = result.one(COMPONENT)
    assert result.one(DIRECTORY) and not [
        r.name for r in result.registrations if r.parent == component.urn and r.protect
    ]


def test_passwords_are_generated_with_ad_complexity():
    """Admin and bind passwords come from pulumi-random: 32 characters, at least two of each class, specials
    only from the set that needs no quoting."""
    passwords = {p.name: p.inputs for p in _mine(_run(), PASSWORD)}
    assert set(passwords) == {f"{NAME}-directory-admin", f"{NAME}-ldap-bind"}
    for p in passwords.values():
        assert p["length"] == 32 and p["special"] is True and p["overrideSpecial"] == PASSWORD_SPECIALS
        assert min(p["minUpper"], p["minLower"], p["minNumeric"], p["minSpecial"]) >= 2


def test_passwords_reach_the_directory_and_the_secrets_only_as_secrets():
    """The directory gets the Admin password, and each secret version its password, as secrets; nowhere in the
    component's plan (secrets redacted) does either password appear in any form."""
    result = _run()
    passwords = {p.name: p.outputs["result"] for p in _mine(result, PASSWORD)}
    admin, bind = passwords[f"{NAME}-directory-admin"], passwords[f"{NAME}-ldap-bind"]
    assert result.one(DIRECTORY).inputs["password"] == {"<secret>": admin}
    assert _one(result, VERSION, f"{NAME}-directory-admin").inputs["secretString"] == {"<secret>": admin}
    assert _one(result, VERSION, f"{NAME}-ldap-bind").inputs["secretString"] == {"<secret>": bind}
    plan = json.dumps(plan_of(result))
    for password in (admin, bind):
        forms = (password, base64.b64encode(password.encode()).decode(), password.encode().hex())
        assert not [f for f in forms if f in plan], "a password appears in the plan"


def test_passwords_are_kept_secret_in_state(monkeypatch):
    """Each password resource asks the engine to keep its result secret, so the bind password the component
    hands on (``bind_password``) is a secret wherever it goes."""
    secret_outputs: dict[tuple[str, str], list[str]] = {}

    class Monitor(harness.RecordingMonitor):
        def RegisterResource(self, request):
            secret_outputs[(request.type, request.name)] = list(request.additionalSecretOutputs)
            return super().RegisterResource(request)

    monkeypatch.setattr(harness, "RecordingMonitor", Monitor)
    result = _run()
    for p in _mine(result, PASSWORD):
        assert "result" in secret_outputs[(PASSWORD, p.name)], p.name


def test_bind_password_version_is_the_bind_passwords_only_keeper():
    """bindPasswordVersion keeps the bind password: a new version makes a new password (a replacement the
    preview shows); the Admin password has no keeper (a new one would replace the directory)."""
    for version in (1, 2):
        result = _run(dataclasses.replace(CREATE, bind_password_version=version))
        keepers = {p.name: p.inputs.get("keepers") for p in _mine(result, PASSWORD)}
        assert keepers == {f"{NAME}-directory-admin": None, f"{NAME}-ldap-bind": {"version": str(version)}}


def test_secrets_say_what_they_hold_and_keep_a_recovery_window():
    result = _run()
    admin = _one(result, SECRET, f"{NAME}-directory-admin").inputs
    bind = _one(result, SECRET, f"{NAME}-ldap-bind").inputs
    assert CREATE.domain_name in admin["description"] and admin["recoveryWindowInDays"] == 30
    assert CREATE.bind_user in bind["description"] and CREATE.domain_name in bind["description"]
    assert bind["recoveryWindowInDays"] == 7
    assert admin["tags"] == bind["tags"] == TAGS


def test_admin_secret_readable_only_by_the_deployer():
    """The Admin password's secret denies GetSecretValue to every principal but the deploying role, whose ARN
    (path included) comes from the caller's session context; no workload may read it."""
    result = _run()
    secret = _one(result, SECRET, f"{NAME}-directory-admin").outputs["arn"]
    (policy,) = _mine(result, POLICY)
    assert policy.inputs["secretArn"] == secret
    (stmt,) = json.loads(policy.inputs["policy"])["Statement"]
    assert stmt == {
        "Sid": "OnlyTheDeployerReads",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "secretsmanager:GetSecretValue",
        "Resource": secret,
        "Condition": {"ArnNotEquals": {"aws:PrincipalArn": [DEPLOYER_ROLE]}},
    }
    contexts = [a for t, a in result.calls if t == "aws:iam/getSessionContext:getSessionContext"]
    assert [a["arn"] for a in contexts] == [DEPLOYER_SESSION]


def test_bind_secret_arn_resolves_once_the_secret_holds_the_password():
    """Whatever takes ``bind_secret_arn`` waits for the bind secret's version: nodes that read it find a
    value. The ARN is the bind secret's."""
    result = _run()
    consumer = result.named("consumer", "aws:ssm/parameter:Parameter")
    version = _one(result, VERSION, f"{NAME}-ldap-bind")
    assert version.urn in consumer.dependencies
    assert consumer.inputs["insecureValue"] == result.outputs["bindSecretArn"]
    assert result.outputs["bindSecretArn"] == _one(result, SECRET, f"{NAME}-ldap-bind").outputs["arn"]


def test_preview_registers_the_directory_with_unknown_id_and_controllers():
    """In a first preview the directory's id and DNS IPs are unknown; everything is registered, and the
    controller count is still known."""
    result = _run(preview=True)
    assert len(_mine(result, DIRECTORY)) == 1 and len(_mine(result, SECRET)) == 2
    o = result.outputs
    assert (o["directoryId"], o["dnsIps"], o["controllerCount"]) == ("<unknown>", "<unknown>", 2)


# --- existing mode -----------------------------------------------------------------------------------------
def test_existing_directory_is_looked_up_by_id():
    """mode: existing creates no directory, no Admin password and no Admin secret; the id, domain controllers
    and security group come from one lookup of the given directory; the bind secret is still made."""
    result = _run(EXISTING)
    assert not result.of_type(DIRECTORY) and not _mine(result, POLICY)
    assert [p.name for p in _mine(result, PASSWORD)] == [f"{NAME}-ldap-bind"]
    assert [s.name for s in _mine(result, SECRET)] == [f"{NAME}-ldap-bind"]
    lookups = [a for t, a in result.calls if t == LOOKUP]
    assert [a["directoryId"] for a in lookups] == [EXISTING.directory_id]
    found = _lookup(EXISTING.directory_id)
    o = result.outputs
    assert (o["directoryId"], o["dnsIps"], o["securityGroupId"]) == (
        EXISTING.directory_id,
        found["dnsIpAddresses"],
        found["securityGroupId"],
    )
    assert o["controllerCount"] == 2 and o["hasDirectory"] is False and o["hasAdminSecret"] is False


def test_existing_directory_with_dns_ips_needs_no_lookup():
    """Given dnsIps, the component looks nothing up: the domain controllers are the given IPs (as many as
    given), and there is no security group of the directory's to report."""
    ips = ("10.20.0.7", "10.20.64.7", "10.20.0.8")
    result = _run(dataclasses.replace(EXISTING, dns_ips=ips))
    assert not [t for t, _ in result.calls if t == LOOKUP]
    o = result.outputs
    assert (o["directoryId"], o["dnsIps"], o["controllerCount"]) == (EXISTING.directory_id, list(ips), 3)
    assert o["securityGroupId"] is None


def test_existing_directory_is_not_protected_by_the_component():
    """Nothing the component makes for an existing directory is protected (it owns only the bind secret)."""
    result = _run(EXISTING)
    component = result.one(COMPONENT)
    assert not [r.name for r in result.registrations if r.parent == component.urn and r.protect]


@pytest.mark.parametrize("dns_ips", [(), ("10.20.0.7", "10.20.64.7")])
def test_existing_directory_preview_knows_the_id_and_controllers(dns_ips):
    """In a preview the existing directory's id is known (it is given), and so are its domain controllers
    (given, or from the lookup, which runs in a preview too)."""
    result = _run(dataclasses.replace(EXISTING, dns_ips=dns_ips), preview=True)
    expected = list(dns_ips) or _lookup(EXISTING.directory_id)["dnsIpAddresses"]
    assert (result.outputs["directoryId"], result.outputs["dnsIps"]) == (EXISTING.directory_id, expected)
