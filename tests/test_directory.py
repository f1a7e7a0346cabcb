"""Directory under mocks: Managed AD in two private subnets of distinct AZs (or an existing one), protected,
passwords generated and kept only as secrets, the bind password never in any form outside Secrets Manager."""

from __future__ import annotations

import base64
import json
import re
import struct
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from tests.conftest import ROOT, P
from tools.harness import DEPLOYER_ROLE
from tools.preview import plan_of

DIRECTORY = "aws:directoryservice/directory:Directory"
SECRET = "aws:secretsmanager/secret:Secret"
VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
PASSWORD = "random:index/randomPassword:RandomPassword"
OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"


def test_managed_ad_in_two_private_subnets_of_distinct_azs(dev_run):
    """A MicrosoftAD directory (Standard by default) in the first two private subnets, which are in
    different AZs, with Data API access on."""
    d = dev_run.one(DIRECTORY).inputs
    assert (d["type"], d["edition"], d["name"], d["shortName"]) == (
        "MicrosoftAD",
        "Standard",
        "corp.hp-dev.example.com",
        "HPDEV",
    )
    subnets = {s.outputs["id"]: s for s in dev_run.of_type("aws:ec2/subnet:Subnet")}
    chosen = [subnets[i] for i in d["vpcSettings"]["subnetIds"]]
    assert [s.name for s in chosen] == ["hp-dev-private-0", "hp-dev-private-1"]
    assert len({s.inputs["availabilityZone"] for s in chosen}) == 2
    assert all(s.inputs.get("mapPublicIpOnLaunch") in (None, False) for s in chosen)
    assert d["vpcSettings"]["vpcId"] == dev_run.one("aws:ec2/vpc:Vpc").outputs["id"]
    assert d["enableDirectoryDataAccess"] is True


def test_enterprise_edition_by_config(dev_config, run_stack):
    dev_config[P + "directory"]["edition"] = "Enterprise"
    assert run_stack(dev_config).one(DIRECTORY).inputs["edition"] == "Enterprise"


def test_directory_and_its_contents_are_protected(dev_config, run_stack, dev_run):
    """The directory, its admin secret and its contents are protected; `protect: false` lifts it."""
    kept = [
        dev_run.one(DIRECTORY),
        dev_run.named("hp-dev-directory-admin", SECRET),
        dev_run.named("hp-dev-directory-contents"),
    ]
    assert all(r.protect for r in kept), [r.name for r in kept if not r.protect]
    dev_config[P + "directory"]["protect"] = False
    result = run_stack(dev_config)
    assert not result.one(DIRECTORY).protect and not result.named("hp-dev-directory-contents").protect


def test_passwords_generated_and_only_secrets(dev_run):
    """Admin and bind passwords come from pulumi-random (32 characters, AD complexity) and reach every
    resource only as secrets: the directory, both secret versions and the contents resource."""
    passwords = {p.name: p for p in dev_run.of_type(PASSWORD)}
    assert set(passwords) == {"hp-dev-directory-admin", "hp-dev-ldap-bind"}
    for p in passwords.values():
        assert p.inputs["length"] == 32 and p.inputs["minUpper"] >= 1 and p.inputs["minNumeric"] >= 1
    assert dev_run.one(DIRECTORY).inputs["password"] == {
        "<secret>": passwords["hp-dev-directory-admin"].outputs["result"]
    }
    for name, password in (
        ("hp-dev-directory-admin", "hp-dev-directory-admin"),
        ("hp-dev-ldap-bind", "hp-dev-ldap-bind"),
    ):
        assert dev_run.named(name, VERSION).inputs["secretString"] == {
            "<secret>": passwords[password].outputs["result"]
        }
    contents = dev_run.named("hp-dev-directory-contents").inputs
    assert contents["bind_password"] == {"<secret>": passwords["hp-dev-ldap-bind"].outputs["result"]}


def test_bind_password_version_rotates_only_the_bind_password(dev_config, run_stack, dev_run):
    """bindPasswordVersion is the bind password's keeper: bumping it makes a new password (a replacement the
    preview shows), and the Admin password stays."""
    keepers = {p.name: p.inputs.get("keepers") for p in dev_run.of_type(PASSWORD)}
    assert keepers == {"hp-dev-directory-admin": None, "hp-dev-ldap-bind": {"version": "1"}}
    dev_config[P + "directory"]["bindPasswordVersion"] = 2
    keepers = {p.name: p.inputs.get("keepers") for p in run_stack(dev_config).of_type(PASSWORD)}
    assert keepers == {"hp-dev-directory-admin": None, "hp-dev-ldap-bind": {"version": "2"}}


def test_execution_role_reads_only_the_named_secrets(dev_run):
    """The nodes may read the bind-password and host-key secrets and nothing else; each of those secrets
    refuses every other principal but the deploying role (the provider reads a secret back after writing it;
    the role ARN comes from the session context, path included); the admin password is not among them."""
    arns = {
        name: dev_run.named(name, SECRET).outputs["arn"]
        for name in ("hp-dev-host-keys", "hp-dev-ldap-bind", "hp-dev-directory-admin")
    }
    statements = json.loads(dev_run.named("hp-dev-vpc-and-lifecycle").inputs["policy"])["Statement"]
    reads = [s for s in statements if "secretsmanager" in json.dumps(s["Action"])]
    assert reads == [
        {
            "Sid": "ReadNamedSecrets",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": [arns["hp-dev-host-keys"], arns["hp-dev-ldap-bind"]],
        }
    ]
    policies = {
        json.loads(p.inputs["policy"])["Statement"][0]["Resource"]: json.loads(p.inputs["policy"])
        for p in dev_run.of_type("aws:secretsmanager/secretPolicy:SecretPolicy")
        if p.name.endswith("-nodes-only")
    }
    assert set(policies) == {arns["hp-dev-host-keys"], arns["hp-dev-ldap-bind"]}
    role = dev_run.named("hp-dev-role", "aws:iam/role:Role").outputs["arn"]
    for doc in policies.values():
        (stmt,) = doc["Statement"]
        assert stmt["Effect"] == "Deny" and stmt["Condition"] == {
            "ArnNotEquals": {"aws:PrincipalArn": sorted([role, DEPLOYER_ROLE])}
        }


def test_admin_secret_readable_only_by_the_deployer(dev_run):
    """The Admin password's secret has a resource policy too: it denies GetSecretValue to every principal but
    the deploying role (from the session context, path included); no workload, not even the nodes, may read
    it. Every secret of the stack thus has a resource policy (the secret-has-resource-policy rule)."""
    secret = dev_run.named("hp-dev-directory-admin", SECRET).outputs["arn"]
    policies = [
        p for p in dev_run.of_type("aws:secretsmanager/secretPolicy:SecretPolicy") if p.inputs["secretArn"] == secret
    ]
    assert [p.name for p in policies] == ["hp-dev-directory-admin-deployer-only"]
    (stmt,) = json.loads(policies[0].inputs["policy"])["Statement"]
    assert stmt == {
        "Sid": "OnlyTheDeployerReads",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "secretsmanager:GetSecretValue",
        "Resource": secret,
        "Condition": {"ArnNotEquals": {"aws:PrincipalArn": [DEPLOYER_ROLE]}},
    }
    covered = {p.inputs["secretArn"] for p in dev_run.of_type("aws:secretsmanager/secretPolicy:SecretPolicy")}
    assert {s.outputs["arn"] for s in dev_run.of_type(SECRET)} <= covered


def test_existing_directory_by_id(dev_config, run_stack):
    """mode: existing creates no directory and no admin secret; the domain controllers come from a lookup
    of the directory, or from dnsIps with no lookup."""
    dev_config[P + "directory"].update(mode="existing", directoryId="d-0123456789")
    for key in ("edition", "shortName"):
        del dev_config[P + "directory"][key]
    result = run_stack(dev_config)
    assert result.error is None, result.error
    assert not result.of_type(DIRECTORY)
    assert [r.name for r in result.of_type(SECRET) if "directory-admin" in r.name] == []
    lookups = [a for t, a in result.calls if t == "aws:directoryservice/getDirectory:getDirectory"]
    assert [a["directoryId"] for a in lookups] == ["d-0123456789"]
    targets = sorted(
        a.inputs["targetId"]
        for a in result.of_type("aws:lb/targetGroupAttachment:TargetGroupAttachment")
        if a.name.startswith("hp-dev-ldap-dc-")
    )
    assert targets == ["10.20.0.53", "10.20.64.53"]
    assert result.named("hp-dev-directory-contents").inputs["directory_id"] == "d-0123456789"

    dev_config[P + "directory"]["dnsIps"] = ["10.20.0.7", "10.20.64.7", "10.20.0.8"]
    result = run_stack(dev_config)
    assert not [t for t, _ in result.calls if t == "aws:directoryservice/getDirectory:getDirectory"]
    targets = sorted(
        a.inputs["targetId"]
        for a in result.of_type("aws:lb/targetGroupAttachment:TargetGroupAttachment")
        if a.name.startswith("hp-dev-ldap-dc-")
    )
    assert targets == ["10.20.0.7", "10.20.0.8", "10.20.64.7"]


def test_directory_off_registers_nothing_of_it(dev_config, run_stack):
    dev_config[P + "directory"] = {"enabled": False}
    result = run_stack(dev_config)
    assert result.error is None, result.error
    assert not [r for r in result.registrations if "directory" in r.type.lower() or "ldap" in r.name]
    platform = json.loads(result.named("hp-dev-generated-platform.json").inputs["content"])
    assert platform["directory"] is None
    assert not [r for r in result.of_type(OBJECT) if r.name.endswith("ldaps-ca.pem")]
    assert not result.of_type("aws:ssm/parameter:Parameter") and "directoryConnectionParameter" not in result.outputs


# --- the bind password, in any form, outside Secrets Manager -----------------------------------------------
def obfuscate(password: str) -> str:
    """SSSD's obfuscated_password token (the format of sssd's crypto_obfuscate.c), for the detector's self-test."""
    import os

    key, iv = os.urandom(32), os.urandom(16)
    padder = padding.PKCS7(128).padder()
    data = padder.update(password.encode() + b"\0") + padder.finalize()
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    ct = enc.update(data) + enc.finalize()
    return base64.b64encode(struct.pack("<HH", 0, len(ct)) + key + iv + ct + b"\x00\x01\x02\x03").decode()


def obfuscated_tokens(text: str) -> list[str]:
    """Every SSSD obfuscated_password token in ``text``, decoded to its plaintext."""
    found = []
    for candidate in re.findall(r"[A-Za-z0-9+/]{60,}={0,2}", text):
        try:
            raw = base64.b64decode(candidate + "=" * (-len(candidate) % 4))
        except ValueError:
            continue
        if len(raw) < 56 or not raw.endswith(b"\x00\x01\x02\x03"):
            continue
        method, size = struct.unpack("<HH", raw[:4])
        key, iv, ct = raw[4:36], raw[36:52], raw[52 : 52 + size]
        if method != 0 or len(ct) != size or size % 16:
            continue
        dec = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
        unpadder = padding.PKCS7(128).unpadder()
        plain = unpadder.update(dec.update(ct) + dec.finalize()) + unpadder.finalize()
        found.append(plain.rstrip(b"\0").decode(errors="replace"))
    return found


def forms_of(password: str) -> list[str]:
    return [password, base64.b64encode(password.encode()).decode(), password.encode().hex(), json.dumps(password)[1:-1]]


def test_detector_finds_an_obfuscated_password():
    """The scan below can fail: it decodes a token made the way SSSD makes them."""
    token = obfuscate("Correct-Horse-9!")
    assert obfuscated_tokens(f"ldap_default_authtok = {token}\n") == ["Correct-Horse-9!"]


def test_bind_password_nowhere_but_secrets(dev_run):
    """No bind (or admin) password in any form in the lifecycle bucket's objects (rendered and uploaded),
    the directory connection parameter, the JSON plan, or the stack's outputs; and no SSSD obfuscated_password
    token anywhere in them."""
    passwords = [p.outputs["result"] for p in dev_run.of_type(PASSWORD)]
    assert len(passwords) == 2 and all(len(p) >= 16 for p in passwords)
    texts = {}
    for obj in dev_run.of_type(OBJECT):
        content = obj.inputs.get("content")
        if content is None:
            source = obj.inputs["source"]
            path = Path(source.get("path") if isinstance(source, dict) else source)
            content = (path if path.is_absolute() else ROOT / path).read_text(errors="replace")
        texts[obj.inputs["key"]] = json.dumps(content) if not isinstance(content, str) else content
    assert "lifecycle/generated/platform.json" in texts
    texts["connection parameter"] = dev_run.one("aws:ssm/parameter:Parameter").inputs["insecureValue"]
    assert any(k.endswith("50-directory.sh") for k in texts)
    texts["plan"] = json.dumps(plan_of(dev_run))
    texts["outputs"] = json.dumps({k: v for k, v in dev_run.outputs.items()})
    for where, text in texts.items():
        for password in passwords:
            for form in forms_of(password):
                assert form not in text, f"a password appears in {where}"
        assert obfuscated_tokens(text) == [], f"an obfuscated_password token in {where}"
        assert "obfuscated_password" not in text or where.endswith((".sh", ".py")), where  # node code may name it


def test_ca_for_the_nodes_is_public_only(dev_run):
    """The CA published to nodes (in the connection parameter) is a certificate, never a private key."""
    ca = json.loads(dev_run.one("aws:ssm/parameter:Parameter").inputs["insecureValue"])["ca_cert_pem"]
    assert ca.startswith("-----BEGIN CERTIFICATE-----") and "PRIVATE KEY" not in ca
    ca_cert = dev_run.named("hp-dev-ldaps-ca-v1", "tls:index/selfSignedCert:SelfSignedCert").outputs["certPem"]
    assert ca == ca_cert


@pytest.mark.parametrize("preview", [True])
def test_preview_mode_runs_with_unknown_directory_values(dev_config, run_stack, preview):
    """In preview the directory id, DC IPs and DNs are unknown; the program still registers everything."""
    result = run_stack(dev_config, preview=preview)
    assert result.error is None, result.error
    assert result.one(DIRECTORY) and len([a for a in result.registrations if a.name.startswith("hp-dev-ldap-dc-")]) == 2
