"""The shipped dev stack's identity and access wiring, through the whole program (``__main__.py``) under mocks:
how the stack config reaches the directory, the LDAPS endpoint, the directory contents and connection, the
admin host, the Client VPN and the access paths, and what those components hand to each other (subnets,
security groups, secrets, the connection parameter, dependencies). Each component's own behaviour is in its
unit tests (tests/test_<component>.py); resources are found by type and parent component, not by name."""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import re
import struct
from pathlib import Path

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from pulumi.runtime import mocks as pmocks

from hyperpod_platform.lifecycle_bucket import PLATFORM_FILE, PREFIX
from hyperpod_platform.settings import DirectorySettings
from stack_config import ConfigError
from tests.conftest import ROOT, P
from tools.harness import DEPLOYER_ROLE, AwsMocks, Registration, RunResult
from tools.preview import plan_of

DIRECTORY = "aws:directoryservice/directory:Directory"
SECRET = "aws:secretsmanager/secret:Secret"
VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
SECRET_POLICY = "aws:secretsmanager/secretPolicy:SecretPolicy"
PASSWORD = "random:index/randomPassword:RandomPassword"
OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"
PARAMETER = "aws:ssm/parameter:Parameter"
SUBNET = "aws:ec2/subnet:Subnet"
SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
LB = "aws:lb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"
ATTACH = "aws:lb/targetGroupAttachment:TargetGroupAttachment"
INSTANCE = "aws:ec2/instance:Instance"
CLUSTER = "aws-native:sagemaker:Cluster"
LOOKUP = "aws:directoryservice/getDirectory:getDirectory"
CA_PEM = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ2FPaW5Db25maWc=\n-----END CERTIFICATE-----\n"
DEFAULTS = DirectorySettings()
"""What the directory settings are when the config does not say."""
CERT_ARN = "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"


# --- finding things in the plan -------------------------------------------------------------------------------
def _component(run: RunResult, cls: str) -> Registration:
    return run.one(f"hyperpod-platform:index:{cls}")


def _of(run: RunResult, cls: str, typ: str) -> list[Registration]:
    """Resources of ``typ`` that the ``cls`` component registered."""
    component = _component(run, cls)
    return [r for r in run.of_type(typ) if r.parent == component.urn]


def _only(run: RunResult, cls: str, typ: str) -> Registration:
    found = _of(run, cls, typ)
    assert len(found) == 1, f"expected one {typ} in {cls}, found {[r.name for r in found]}"
    return found[0]


def _by_output(run: RunResult, typ: str, key: str, value) -> Registration:
    (found,) = [r for r in run.of_type(typ) if r.outputs.get(key) == value]
    return found


def _bind_secret(run: RunResult) -> Registration:
    return _by_output(run, SECRET, "arn", run.outputs["ldapBindSecretArn"])


def _bind_version(run: RunResult) -> Registration:
    secret = _bind_secret(run).outputs["id"]
    (version,) = [v for v in _of(run, "Directory", VERSION) if v.inputs["secretId"] == secret]
    return version


def _contents(run: RunResult) -> Registration:
    (contents,) = [r for r in run.registrations if r.parent == _component(run, "DirectoryContents").urn]
    return contents


def _connection(run: RunResult) -> dict:
    return json.loads(_only(run, "DirectoryConnection", PARAMETER).inputs["insecureValue"])


def _platform(run: RunResult) -> str:
    (obj,) = [o for o in run.of_type(OBJECT) if o.inputs["key"] == f"{PREFIX}/{PLATFORM_FILE}"]
    return obj.inputs["content"]


def _ldaps_ca(run: RunResult) -> str:
    return _only(run, "LdapsEndpoint", "tls:index/selfSignedCert:SelfSignedCert").outputs["certPem"]


def _ldaps_targets(run: RunResult) -> list[str]:
    return sorted(a.inputs["targetId"] for a in _of(run, "LdapsEndpoint", ATTACH))


def _mock_answer(token: str, args: dict) -> dict:
    """What the mocks answer for an invoke (the account's resources as AWS describes them)."""
    return AwsMocks("us-east-1", preview=False).call(pmocks.MockCallArgs(token=token, args=args, provider=""))


def _role_policy(run: RunResult) -> dict:
    return json.loads(_only(run, "ExecutionRole", "aws:iam/rolePolicy:RolePolicy").inputs["policy"])


# --- the directory from config ---------------------------------------------------------------------------------
def test_directory_create_mode_puts_managed_ad_in_the_first_two_private_subnets(dev_config, dev_run):
    """The dev stack creates the directory its config names, in the network's VPC and its first two private
    subnets, which are in different AZs and not public."""
    cfg = dev_config[P + "directory"]
    d = _only(dev_run, "Directory", DIRECTORY).inputs
    assert (d["name"], d["shortName"], d["edition"]) == (cfg["domainName"], cfg["shortName"], cfg["edition"])
    assert d["vpcSettings"]["vpcId"] == dev_run.outputs["vpcId"]
    assert d["vpcSettings"]["subnetIds"] == dev_run.outputs["privateSubnetIds"][:2]
    chosen = [_by_output(dev_run, SUBNET, "id", i) for i in d["vpcSettings"]["subnetIds"]]
    assert all(s.parent == _component(dev_run, "Network").urn for s in chosen)
    assert len({s.inputs["availabilityZone"] for s in chosen}) == 2
    assert all(s.inputs.get("mapPublicIpOnLaunch") in (None, False) for s in chosen)
    assert dev_run.outputs["directoryId"] == _only(dev_run, "Directory", DIRECTORY).outputs["id"]


def test_directory_edition_comes_from_config(dev_config, run_stack):
    dev_config[P + "directory"]["edition"] = "Enterprise"
    assert _only(run_stack(dev_config), "Directory", DIRECTORY).inputs["edition"] == "Enterprise"


def test_existing_directory_from_config_feeds_the_endpoint_and_the_contents(dev_config, run_stack):
    """directory.mode: existing creates no directory and no Admin secret; the LDAPS endpoint targets the
    domain controllers of one lookup of the configured id, and the contents work in that directory; with
    dnsIps there is no lookup and the endpoint targets the configured IPs."""
    dev_config[P + "directory"].update(mode="existing", directoryId="d-0123456789")
    for key in ("edition", "shortName"):
        del dev_config[P + "directory"][key]
    result = run_stack(dev_config)
    assert result.error is None, result.error
    assert not result.of_type(DIRECTORY) and "directoryAdminSecretArn" not in result.outputs
    assert [s.outputs["arn"] for s in _of(result, "Directory", SECRET)] == [result.outputs["ldapBindSecretArn"]]
    lookups = [a for t, a in result.calls if t == LOOKUP]
    assert [a["directoryId"] for a in lookups] == ["d-0123456789"]
    found = _mock_answer(LOOKUP, {"directoryId": "d-0123456789"})
    assert _ldaps_targets(result) == sorted(found["dnsIpAddresses"])
    assert _contents(result).inputs["directory_id"] == "d-0123456789"
    assert result.outputs["directoryId"] == "d-0123456789"

    dev_config[P + "directory"]["dnsIps"] = ["10.20.0.7", "10.20.64.7", "10.20.0.8"]
    result = run_stack(dev_config)
    assert not [t for t, _ in result.calls if t == LOOKUP]
    assert _ldaps_targets(result) == sorted(dev_config[P + "directory"]["dnsIps"])


def test_directory_admin_secret_and_contents_are_protected_unless_config_says_not(dev_config, run_stack, dev_run):
    """directory.protect (on by default) reaches the directory, its Admin secret and the contents; protect:
    false lifts it from each."""
    admin = _by_output(dev_run, SECRET, "arn", dev_run.outputs["directoryAdminSecretArn"])
    kept = [_only(dev_run, "Directory", DIRECTORY), admin, _contents(dev_run)]
    assert all(r.protect for r in kept), [r.name for r in kept if not r.protect]
    dev_config[P + "directory"]["protect"] = False
    result = run_stack(dev_config)
    admin = _by_output(result, SECRET, "arn", result.outputs["directoryAdminSecretArn"])
    assert not [r.name for r in (_only(result, "Directory", DIRECTORY), admin, _contents(result)) if r.protect]


def test_bind_password_reaches_the_contents_only_as_a_secret(dev_run):
    """The contents set the bind user's password from the Directory's generated one, as a secret."""
    passwords = _of(dev_run, "Directory", PASSWORD)
    assert len(passwords) == 2
    bind = _bind_version(dev_run).inputs["secretString"]
    assert set(bind) == {"<secret>"} and bind["<secret>"] in {p.outputs["result"] for p in passwords}
    assert _contents(dev_run).inputs["bind_password"] == bind


def test_bind_password_version_comes_from_config(dev_config, run_stack):
    """directory.bindPasswordVersion keeps the bind password (one password only has a keeper)."""
    dev_config[P + "directory"]["bindPasswordVersion"] = 2
    keepers = [p.inputs.get("keepers") for p in _of(run_stack(dev_config), "Directory", PASSWORD)]
    assert sorted(keepers, key=str) == sorted([None, {"version": "2"}], key=str)


def test_bind_secret_is_readable_by_the_nodes_only_and_the_admin_secret_not_at_all(dev_run):
    """The Directory's bind secret is one the execution role may read, and its policy (the ExecutionRole's)
    refuses every principal but the execution role and the deploying role (path included); the Admin password
    is nowhere in the role's policy. (That the role reads exactly the bind and host-key secrets, and the
    host-key secret's own policy, are in tests/test_stack_dev.py.)"""
    bind = dev_run.outputs["ldapBindSecretArn"]
    assert bind in {s.outputs["arn"] for s in _of(dev_run, "Directory", SECRET)}
    (reads,) = [s for s in _role_policy(dev_run)["Statement"] if s["Sid"] == "ReadNamedSecrets"]
    assert bind in reads["Resource"]
    assert dev_run.outputs["directoryAdminSecretArn"] not in json.dumps(_role_policy(dev_run))
    (policy,) = [p for p in _of(dev_run, "ExecutionRole", SECRET_POLICY) if p.inputs["secretArn"] == bind]
    role = _only(dev_run, "ExecutionRole", "aws:iam/role:Role").outputs["arn"]
    (stmt,) = json.loads(policy.inputs["policy"])["Statement"]
    assert (stmt["Effect"], stmt["Action"], stmt["Resource"]) == ("Deny", "secretsmanager:GetSecretValue", bind)
    assert stmt["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": sorted([role, DEPLOYER_ROLE])}}


def test_every_secret_has_a_policy_and_the_admin_secret_only_the_deployers(dev_run):
    """The Admin password's secret has the Directory's deployer-only policy, nobody else's; every secret of the
    stack has a resource policy (the secret-has-resource-policy rule)."""
    admin = dev_run.outputs["directoryAdminSecretArn"]
    on_admin = [p for p in dev_run.of_type(SECRET_POLICY) if p.inputs["secretArn"] == admin]
    assert [p.parent for p in on_admin] == [_component(dev_run, "Directory").urn]
    (stmt,) = json.loads(on_admin[0].inputs["policy"])["Statement"]
    assert stmt["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": [DEPLOYER_ROLE]}}
    covered = {p.inputs["secretArn"] for p in dev_run.of_type(SECRET_POLICY)}
    assert {s.outputs["arn"] for s in dev_run.of_type(SECRET)} <= covered


def test_directory_off_registers_nothing_of_it(dev_config, run_stack):
    """directory.enabled: false: no directory component, resource, parameter, LDAPS CA object or export, and
    platform.json's directory section is null."""
    dev_config[P + "directory"] = {"enabled": False}
    result = run_stack(dev_config)
    assert result.error is None, result.error
    assert not [r for r in result.registrations if "directory" in r.type.lower() or "ldap" in r.type.lower()]
    assert not [r.name for r in result.registrations if "ldap" in r.name]
    assert json.loads(_platform(result))["directory"] is None
    assert not [r for r in result.of_type(OBJECT) if r.inputs["key"].endswith(".pem")]
    assert not result.of_type(PARAMETER)
    assert not {"directoryId", "ldapsUri", "ldapBindSecretArn", "directoryConnectionParameter"} & set(result.outputs)


# --- the bind password, in any form, outside Secrets Manager ------------------------------------------------
def obfuscate(password: str) -> str:
    """SSSD's obfuscated_password token (the format of sssd's crypto_obfuscate.c), for the detector's self-test."""
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
    """No bind (or Admin) password in any form in the lifecycle bucket's objects (rendered and uploaded), the
    directory connection parameter, the JSON plan, or the stack's outputs; and no SSSD obfuscated_password
    token anywhere in them."""
    passwords = [p.outputs["result"] for p in _of(dev_run, "Directory", PASSWORD)]
    assert len(passwords) == 2 and all(len(p) >= 16 for p in passwords)
    texts = {}
    for obj in dev_run.of_type(OBJECT):
        content = obj.inputs.get("content")
        if content is None:
            source = obj.inputs["source"]
            path = Path(source.get("path") if isinstance(source, dict) else source)
            content = (path if path.is_absolute() else ROOT / path).read_text(errors="replace")
        texts[obj.inputs["key"]] = json.dumps(content) if not isinstance(content, str) else content
    assert f"{PREFIX}/{PLATFORM_FILE}" in texts
    texts["connection parameter"] = _only(dev_run, "DirectoryConnection", PARAMETER).inputs["insecureValue"]
    assert any(k.endswith("50-directory.sh") for k in texts)
    texts["plan"] = json.dumps(plan_of(dev_run))
    texts["outputs"] = json.dumps(dict(dev_run.outputs))
    for where, text in texts.items():
        for password in passwords:
            for form in forms_of(password):
                assert form not in text, f"a password appears in {where}"
        assert obfuscated_tokens(text) == [], f"an obfuscated_password token in {where}"
        assert "obfuscated_password" not in text or where.endswith((".sh", ".py")), where  # node code may name it


def test_preview_of_the_dev_stack_registers_the_directory_with_unknown_values(dev_config, run_stack):
    """In preview the directory id, DC IPs and DNs are unknown; the program still registers the directory and
    one LDAPS target per domain controller."""
    result = run_stack(dev_config, preview=True)
    assert result.error is None, result.error
    assert len(_of(result, "Directory", DIRECTORY)) == 1 and len(_of(result, "LdapsEndpoint", ATTACH)) == 2
    assert result.outputs["directoryId"] == "<unknown>"


# --- the LDAPS endpoint and the connection ---------------------------------------------------------------------
def test_ldaps_endpoint_in_the_directory_subnets_admits_the_cluster_and_targets_the_controllers(dev_run):
    """The LDAPS NLB sits in the directory's subnets, admits 636 from the cluster security group only, and
    targets (and may reach on 389) the created directory's domain controllers; its URI is exported."""
    nlb = _only(dev_run, "LdapsEndpoint", LB)
    assert nlb.inputs["subnets"] == _only(dev_run, "Directory", DIRECTORY).inputs["vpcSettings"]["subnetIds"]
    sg = _only(dev_run, "LdapsEndpoint", SG).outputs["id"]
    ingress = [r.inputs for r in dev_run.of_type(INGRESS) if r.inputs["securityGroupId"] == sg]
    assert [(r["fromPort"], r.get("referencedSecurityGroupId")) for r in ingress] == [
        (636, dev_run.outputs["clusterSecurityGroupId"])
    ]
    dcs = sorted(_only(dev_run, "Directory", DIRECTORY).outputs["dnsIpAddresses"])
    assert _ldaps_targets(dev_run) == dcs
    egress = sorted(r.inputs["cidrIpv4"] for r in _of(dev_run, "LdapsEndpoint", EGRESS))
    assert egress == [f"{ip}/32" for ip in dcs]
    assert dev_run.outputs["ldapsUri"] == f"ldaps://{nlb.outputs['dnsName']}"


def test_ldaps_settings_from_config_reach_the_endpoint(dev_config, run_stack):
    """directory.ldaps: dnsName names the certificate and the exported URI, plaintextListener adds the 389
    listener, caVersion re-issues the CA."""
    host = f"ldaps.{dev_config[P + 'directory']['domainName']}"
    dev_config[P + "directory"]["ldaps"] = {
        "dnsName": host,
        "plaintextListener": True,
        "caVersion": 2,
    }
    run = run_stack(dev_config)
    assert run.error is None, run.error
    assert _only(run, "LdapsEndpoint", "tls:index/certRequest:CertRequest").inputs["dnsNames"] == [host]
    assert run.outputs["ldapsUri"] == f"ldaps://{host}"
    assert sorted(r.inputs["port"] for r in _of(run, "LdapsEndpoint", LISTENER)) == [389, 636]
    ca = _only(run, "LdapsEndpoint", "tls:index/selfSignedCert:SelfSignedCert")
    assert ca.name.endswith("-v2")


def test_certificate_from_config_is_the_ca_the_nodes_pin(dev_config, run_stack):
    """certificateArn + caCertificate: the endpoint makes no PKI of its own, its listener uses the ARN, and the
    connection parameter hands the nodes the configured CA and URI."""
    dev_config[P + "directory"]["ldaps"] = {
        "certificateArn": CERT_ARN,
        "caCertificate": CA_PEM,
        "dnsName": "ldaps.corp.example.com",
    }
    run = run_stack(dev_config)
    assert run.error is None, run.error
    ldaps = _component(run, "LdapsEndpoint").urn
    assert not [r for r in run.registrations if r.type.startswith("tls:") and r.parent == ldaps]
    (listener,) = _of(run, "LdapsEndpoint", LISTENER)
    assert listener.inputs["certificateArn"] == CERT_ARN
    connection = _connection(run)
    assert (connection["ca_cert_pem"], connection["ldaps_uri"]) == (CA_PEM, "ldaps://ldaps.corp.example.com")


def test_nodes_pin_the_ldaps_ca_public_certificate(dev_run):
    """The CA published to nodes (in the connection parameter) is the LDAPS endpoint's CA certificate, never a
    private key."""
    ca = _connection(dev_run)["ca_cert_pem"]
    assert ca.startswith("-----BEGIN CERTIFICATE-----") and "PRIVATE KEY" not in ca
    assert ca == _ldaps_ca(dev_run)


def test_nodes_find_the_endpoint_through_the_connection_parameter_not_platform_json(dev_run):
    """The LDAPS URI and the pinned CA reach the nodes in the directory connection parameter; platform.json and
    the lifecycle bundle hold no LDAPS data (no URI, certificate or .pem object)."""
    connection = _connection(dev_run)
    assert (connection["ldaps_uri"], connection["ca_cert_pem"]) == (dev_run.outputs["ldapsUri"], _ldaps_ca(dev_run))
    platform = _platform(dev_run)
    assert "ldaps://" not in platform and "CERTIFICATE" not in platform
    assert not [o for o in dev_run.of_type(OBJECT) if o.inputs["key"].endswith(".pem")]


def test_connection_waits_for_the_endpoint_and_the_cluster_does_not(dev_run):
    """The connection parameter waits for the LDAPS listener and its targets; the cluster waits for neither
    (nodes defer the identity step until the parameter exists), nor for the parameter, only for the bind
    secret's value: through the execution role's ARN, which resolves once the role's policy (naming the filled
    secret) is attached."""
    endpoint = [*_of(dev_run, "LdapsEndpoint", LISTENER), *_of(dev_run, "LdapsEndpoint", ATTACH)]
    assert len(endpoint) == 3
    param = _only(dev_run, "DirectoryConnection", PARAMETER)
    assert all(r.urn in param.dependencies for r in endpoint)
    deps = set(_only(dev_run, "HyperPodCluster", CLUSTER).dependencies)
    assert not [r.name for r in [*endpoint, param, _contents(dev_run)] if r.urn in deps]
    assert not [r.name for r in _of(dev_run, "Directory", DIRECTORY) if r.urn in deps]
    policy = _only(dev_run, "ExecutionRole", "aws:iam/rolePolicy:RolePolicy")
    assert policy.urn in deps and _bind_version(dev_run).urn in policy.dependencies


def test_dev_platform_json_directory_section_is_plan_time_only(dev_config, dev_run):
    """platform.json's directory section holds exactly the agreed plan-time keys, from the dev config
    (controller: ClusterAdmin only, as Pulumi.dev.yaml says), none of the connection's values."""
    cfg = dev_config[P + "directory"]
    domain = cfg["domainName"]
    section = json.loads(_platform(dev_run))["directory"]
    assert "allowedGroups" not in cfg and "login" not in cfg["allowedGroupsByRole"]  # so login gets the default
    assert section == {
        "domain": domain,
        "search_base": ",".join(f"DC={part}" for part in domain.split(".")),
        "bind_user": DEFAULTS.bind_user,
        "connection_parameter": dev_run.outputs["directoryConnectionParameter"],
        "allowed_groups_by_role": {
            "controller": cfg["allowedGroupsByRole"]["controller"],
            "login": list(DEFAULTS.allowed_groups),
            "compute": list(DEFAULTS.allowed_groups),
        },
        "sudo_groups": cfg["sudoGroups"],
        "local_groups": list(DEFAULTS.local_groups),
        "default_shell": DEFAULTS.default_shell,
        "home_dir": f"{dev_config[P + 'fsx']['mountPath']}/home/%u",
    }
    for old in ("ldaps_uri", "bind_dn", "bind_secret_id", "ca_cert", "allowed_groups"):
        assert old not in section


def test_dev_connection_parameter_carries_the_directorys_values(dev_config, dev_run):
    """The parameter carries the LDAPS URI, the contents' bind DN and allowed groups' DNs, the bind secret's
    ARN and the LDAPS CA's public certificate; it waits for the contents, the LDAPS listener and targets and
    the bind secret's value; its name is exported."""
    param = _only(dev_run, "DirectoryConnection", PARAMETER)
    assert param.inputs["name"] == dev_run.outputs["directoryConnectionParameter"]
    contents = _contents(dev_run)
    allowed = dev_config[P + "directory"].get("allowedGroups", DEFAULTS.allowed_groups)
    assert _connection(dev_run) == {
        "schema": 1,
        "ldaps_uri": dev_run.outputs["ldapsUri"],
        "bind_dn": contents.outputs["bind_dn"],
        "bind_secret_id": dev_run.outputs["ldapBindSecretArn"],
        "group_dns": {g: contents.outputs["group_dns"][g] for g in allowed},
        "ca_cert_pem": _ldaps_ca(dev_run),
    }
    assert dev_run.outputs["ldapBindSecretArn"] == _bind_secret(dev_run).outputs["arn"]
    wanted = [
        contents,
        *_of(dev_run, "LdapsEndpoint", LISTENER),
        _bind_version(dev_run),
        *_of(dev_run, "LdapsEndpoint", ATTACH),
    ]
    assert len(wanted) == 5 and all(r.urn in param.dependencies for r in wanted)


# --- the admin host -------------------------------------------------------------------------------------------
def test_admin_instance_only_by_config(dev_config, run_stack, dev_run):
    """No admin host by default; with adminInstance it sits in the first private subnet and joins the created
    directory with its domain controllers."""
    assert not [r for r in dev_run.registrations if r.type == "hyperpod-platform:index:DirectoryAdminHost"]
    dev_config[P + "directory"]["adminInstance"] = True
    result = run_stack(dev_config)
    assert result.error is None, result.error
    instance = _only(result, "DirectoryAdminHost", INSTANCE).inputs
    assert instance["subnetId"] == result.outputs["privateSubnetIds"][0]
    assert instance["instanceType"] == "t3.medium"
    directory = _only(result, "Directory", DIRECTORY).outputs
    join = _only(result, "DirectoryAdminHost", "aws:ssm/association:Association").inputs["parameters"]
    assert (join["directoryId"], join["directoryName"]) == (directory["id"], dev_config[P + "directory"]["domainName"])
    assert join["dnsIpAddresses"] == ",".join(sorted(directory["dnsIpAddresses"]))


# --- the Client VPN ---------------------------------------------------------------------------------------------
def test_vpn_serves_every_private_subnet_and_the_vpc(dev_config, dev_run):
    """The endpoint gives clients the configured range, resolves through the VPC's resolver, is associated with
    every private subnet of the network and authorized for the VPC CIDR."""
    vpc_cidr = dev_config[P + "network"]["vpcCidr"]
    endpoint = _only(dev_run, "ClientVpn", "aws:ec2clientvpn/endpoint:Endpoint")
    assert endpoint.inputs["clientCidrBlock"] == dev_config[P + "vpn"]["clientCidr"]
    assert endpoint.inputs["dnsServers"] == [str(ipaddress.IPv4Network(vpc_cidr).network_address + 2)]
    assert endpoint.inputs["vpcId"] == dev_run.outputs["vpcId"]
    associations = _of(dev_run, "ClientVpn", "aws:ec2clientvpn/networkAssociation:NetworkAssociation")
    assert sorted(a.inputs["subnetId"] for a in associations) == sorted(dev_run.outputs["privateSubnetIds"])
    (rule,) = _of(dev_run, "ClientVpn", "aws:ec2clientvpn/authorizationRule:AuthorizationRule")
    assert rule.inputs["targetNetworkCidr"] == vpc_cidr
    assert dev_run.outputs["vpnEndpointId"] == endpoint.outputs["id"]


def test_vpn_profiles_export_is_a_secret_with_one_profile_per_configured_client(dev_config, dev_run):
    profiles = dev_run.outputs["vpnProfiles"]
    assert set(profiles) == {"<secret>"}
    assert sorted(profiles["<secret>"]) == sorted(dev_config[P + "vpn"]["clients"])


def test_vpn_client_cidr_overlapping_the_vpc_is_refused_before_any_resource(dev_config, run_stack):
    """A client range inside the VPC is refused before any resource, naming the key."""
    dev_config[P + "vpn"]["clientCidr"] = "10.20.4.0/22"
    result = run_stack(dev_config)
    assert isinstance(result.error, ConfigError) and result.registrations == []
    assert "vpn.clientCidr" in str(result.error) and "overlaps the VPC CIDR" in str(result.error)


# --- the access paths -------------------------------------------------------------------------------------------
def test_ssm_access_names_the_stacks_cluster(dev_run):
    """The SSM user policy is scoped to the stack's cluster, its ARN is exported, and the ssh_config snippet
    reaches that cluster's nodes by the cluster's name and id."""
    cluster_arn = dev_run.outputs["clusterArn"]
    policy = _only(dev_run, "Access", "aws:iam/policy:Policy")
    stmts = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    assert cluster_arn in stmts["SshToClusterNodes"]["Resource"]
    assert dev_run.outputs["ssmUserPolicyArn"] == policy.outputs["arn"]
    snippet = dev_run.outputs["ssmSshConfig"]
    assert f"Host {dev_run.outputs['clusterName']}-node-*\n" in snippet
    assert f"sagemaker-cluster:{cluster_arn.rsplit('/', 1)[1]}_" in snippet


def test_bastion_in_the_first_public_subnet_reaches_the_cluster(dev_config, dev_run):
    """The bastion sits in the network's first public subnet, admits the configured ranges, and the cluster
    security group admits SSH from it; its snippet is exported."""
    bastion = _only(dev_run, "Access", INSTANCE)
    public = _by_output(dev_run, SUBNET, "id", bastion.inputs["subnetId"])
    assert public.parent == _component(dev_run, "Network").urn
    assert public.inputs["cidrBlock"] == dev_config[P + "network"]["publicSubnetCidrs"][0]
    bastion_sg = _only(dev_run, "Access", SG).outputs["id"]
    ranges = [r.inputs["cidrIpv4"] for r in dev_run.of_type(INGRESS) if r.inputs["securityGroupId"] == bastion_sg]
    assert ranges == dev_config[P + "access"]["bastionAllowedCidrs"]
    assert bastion.inputs["keyName"] == dev_config[P + "access"]["bastionKeyName"]
    cluster_sg = dev_run.outputs["clusterSecurityGroupId"]
    assert [
        r.inputs["fromPort"]
        for r in dev_run.of_type(INGRESS)
        if r.inputs["securityGroupId"] == cluster_sg and r.inputs.get("referencedSecurityGroupId") == bastion_sg
    ] == [22]
    assert f"HostName {bastion.outputs['publicIp']}" in dev_run.outputs["bastionSshConfig"]


def test_access_paths_off_in_config_export_nothing(dev_config, run_stack):
    """access: ssm false and bastion false: no bastion, no SSM policy, no snippets or policy ARN exported."""
    dev_config[P + "access"] = {"ssm": False, "bastion": False}
    result = run_stack(dev_config)
    assert result.error is None, result.error
    assert not _of(result, "Access", INSTANCE) and not result.of_type("aws:iam/policy:Policy")
    assert not {"ssmSshConfig", "bastionSshConfig", "ssmUserPolicyArn"} & set(result.outputs)


def test_bastion_needs_ranges_and_refuses_the_world(dev_config, run_stack):
    """A bastion without ranges, or open to 0.0.0.0/0, is a config error before any resource."""
    dev_config[P + "access"]["bastionAllowedCidrs"] = ["0.0.0.0/0"]
    result = run_stack(dev_config)
    assert isinstance(result.error, ConfigError) and result.registrations == []
    assert "access.bastionAllowedCidrs = " in str(result.error) and "open SSH to the world" in str(result.error)
    dev_config[P + "access"].pop("bastionAllowedCidrs")
    result = run_stack(dev_config)
    assert isinstance(result.error, ConfigError) and result.registrations == []
    assert "a bastion needs the client ranges" in str(result.error)
