"""ClientVpn, built directly under mocks: mutual TLS from a pulumi-tls PKI imported into ACM, the endpoint's
settings, its subnets and authorization, and the clients' .ovpn profiles (a secret)."""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import os
import subprocess
import sys

import pulumi
import pulumi_aws as aws

from hyperpod_platform import ClientVpn, ClientVpnArgs
from hyperpod_platform.settings import VpnSettings
from tests.conftest import ROOT
from tools.harness import RunResult, run_program

COMPONENT = "hyperpod-platform:index:ClientVpn"
ENDPOINT = "aws:ec2clientvpn/endpoint:Endpoint"
ACM = "aws:acm/certificate:Certificate"
KEY = "tls:index/privateKey:PrivateKey"
CA_CERT = "tls:index/selfSignedCert:SelfSignedCert"
SIGNED = "tls:index/locallySignedCert:LocallySignedCert"
ASSOCIATION = "aws:ec2clientvpn/networkAssociation:NetworkAssociation"
RULE = "aws:ec2clientvpn/authorizationRule:AuthorizationRule"
SUBNET = "aws:ec2/subnet:Subnet"
CONFIG = {"aws:region": "us-east-1", "aws-native:region": "us-east-1"}

NAME = "t"
VPC_ID = "vpc-0123456789abcdef0"
VPC_CIDR = "10.20.0.0/16"
SETTINGS = VpnSettings(enabled=True, client_cidr="10.255.0.0/22", clients=("alice", "bob"))
TAGS = {"Cluster": NAME}


def _run(settings: VpnSettings = SETTINGS, preview: bool = False, subnets: int = 2) -> RunResult:
    """A ClientVpn in ``subnets`` tiny subnets; its profiles and endpoint id exported."""

    def program():
        made = [aws.ec2.Subnet(f"subnet-{i}", vpc_id=VPC_ID, cidr_block=f"10.20.{i}.0/24") for i in range(subnets)]
        vpn = ClientVpn(
            NAME,
            ClientVpnArgs(
                settings=settings, vpc_id=VPC_ID, vpc_cidr=VPC_CIDR, subnet_ids=[s.id for s in made], tags=TAGS
            ),
        )
        pulumi.export("profiles", vpn.profiles)
        pulumi.export("endpointId", vpn.endpoint.id)

    result = run_program(program, CONFIG, preview=preview)
    assert result.error is None, result.error
    return result


def _mine(result: RunResult, typ: str) -> list:
    """Resources of ``typ`` that the component registered."""
    component = result.one(COMPONENT)
    return [r for r in result.of_type(typ) if r.parent == component.urn]


def _one(result: RunResult, typ: str, name: str):
    (found,) = [r for r in _mine(result, typ) if r.name == name]
    return found


def test_endpoint_uses_mutual_tls_split_tunnel_the_vpc_resolver_and_connection_logs():
    """Mutual TLS with the component's server certificate (also the client root), the given client range,
    split tunnel, the VPC resolver (base + 2) as DNS, UDP 443, connection logs in the component's log group and
    stream, and the component's security group."""
    result = _run()
    (endpoint,) = _mine(result, ENDPOINT)
    ep = endpoint.inputs
    server = _one(result, ACM, f"{NAME}-vpn-server").outputs["arn"]
    assert ep["serverCertificateArn"] == server
    assert ep["authenticationOptions"] == [{"type": "certificate-authentication", "rootCertificateChainArn": server}]
    assert ep["clientCidrBlock"] == SETTINGS.client_cidr and ep["splitTunnel"] is True
    assert ep["dnsServers"] == [str(ipaddress.IPv4Network(VPC_CIDR).network_address + 2)]
    assert (ep["vpcId"], ep["transportProtocol"], ep["vpnPort"]) == (VPC_ID, "udp", 443)
    (group,) = _mine(result, "aws:cloudwatch/logGroup:LogGroup")
    (stream,) = _mine(result, "aws:cloudwatch/logStream:LogStream")
    assert ep["connectionLogOptions"] == {
        "enabled": True,
        "cloudwatchLogGroup": group.outputs["name"],
        "cloudwatchLogStream": stream.outputs["name"],
    }
    assert stream.inputs["logGroupName"] == group.outputs["name"]
    assert group.inputs["retentionInDays"] == SETTINGS.log_retention_days
    (sg,) = _mine(result, "aws:ec2/securityGroup:SecurityGroup")
    assert ep["securityGroupIds"] == [sg.outputs["id"]]
    assert ep["tags"] == {**TAGS, "Name": f"{NAME}-vpn"}
    assert result.outputs["endpointId"] == endpoint.outputs["id"]


def test_security_group_lets_clients_reach_the_vpc_only():
    """The endpoint's group has no inbound rule and one outbound rule: everything, to the VPC CIDR only."""
    result = _run()
    (sg,) = _mine(result, "aws:ec2/securityGroup:SecurityGroup")
    assert sg.inputs["vpcId"] == VPC_ID
    rules = [
        r.inputs
        for typ in (
            "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        )
        for r in result.of_type(typ)
        if r.inputs["securityGroupId"] == sg.outputs["id"]
    ]
    assert [(r["ipProtocol"], r["cidrIpv4"]) for r in rules] == [("-1", VPC_CIDR)]
    assert not result.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")


def test_endpoint_is_associated_with_every_given_subnet_and_authorized_for_the_vpc_only():
    """One association per given subnet; one authorization rule, for the VPC CIDR."""
    result = _run(subnets=3)
    endpoint = result.one(ENDPOINT).outputs["id"]
    associations = _mine(result, ASSOCIATION)
    given = {s.outputs["id"] for s in result.of_type(SUBNET)}
    assert len(given) == 3 and sorted(a.inputs["subnetId"] for a in associations) == sorted(given)
    assert all(a.inputs["clientVpnEndpointId"] == endpoint for a in associations)
    (rule,) = _mine(result, RULE)
    assert (rule.inputs["targetNetworkCidr"], rule.inputs["clientVpnEndpointId"]) == (VPC_CIDR, endpoint)
    assert rule.inputs["authorizeAllGroups"] is True


def test_pki_in_acm_and_private_keys_only_as_secrets():
    """A CA, a server certificate and one client certificate per client, each imported into ACM with the CA
    as chain; every private key reaches ACM only as a secret; RSA 2048 throughout; server and client uses."""
    result = _run()
    v = f"v{SETTINGS.pki_version}"
    ca = _one(result, CA_CERT, f"{NAME}-vpn-ca-{v}")
    assert ca.inputs["isCaCertificate"] is True
    certs = {c.name: c for c in _mine(result, ACM)}
    assert set(certs) == {f"{NAME}-vpn-server", *(f"{NAME}-vpn-client-{c}" for c in SETTINGS.clients)}
    for cert in certs.values():
        assert cert.inputs["certificateChain"] == ca.outputs["certPem"]
        assert set(cert.inputs["privateKey"]) == {"<secret>"}
        assert cert.inputs["tags"] == TAGS
    keys = _mine(result, KEY)
    assert len(keys) == 2 + len(SETTINGS.clients)
    assert all((k.inputs["algorithm"], k.inputs["rsaBits"]) == ("RSA", 2048) for k in keys)
    uses = {c.name: c.inputs["allowedUses"] for c in _mine(result, SIGNED)}
    assert "server_auth" in uses[f"{NAME}-vpn-server-{v}"] and "client_auth" not in uses[f"{NAME}-vpn-server-{v}"]
    for client in SETTINGS.clients:
        assert "client_auth" in uses[f"{NAME}-vpn-client-{client}-{v}"]
        assert "server_auth" not in uses[f"{NAME}-vpn-client-{client}-{v}"]


def test_profiles_are_a_secret_that_matches_the_endpoint_and_the_pki():
    """The profiles are one secret output, one profile per client, each with the endpoint's host (wildcard
    dropped) and port, server verification by the server certificate's name, and the CA, the client's
    certificate and the client's key inline."""
    result = _run()
    profiles = result.outputs["profiles"]
    assert set(profiles) == {"<secret>"}
    assert set(profiles["<secret>"]) == set(SETTINGS.clients)
    host = result.one(ENDPOINT).outputs["dnsName"].removeprefix("*.")
    v = f"v{SETTINGS.pki_version}"
    ca = _one(result, CA_CERT, f"{NAME}-vpn-ca-{v}").outputs["certPem"].strip()
    for client in SETTINGS.clients:
        profile = profiles["<secret>"][client]
        assert f"remote {host} {SETTINGS.port}\n" in profile
        assert "remote-cert-tls server\n" in profile and f"verify-x509-name server.{NAME}.vpn name\n" in profile
        cert = _one(result, SIGNED, f"{NAME}-vpn-client-{client}-{v}").outputs["certPem"].strip()
        key = _one(result, KEY, f"{NAME}-vpn-client-{client}-{v}").outputs["privateKeyPem"].strip()
        assert f"<ca>\n{ca}\n</ca>" in profile and f"<cert>\n{cert}\n</cert>" in profile
        assert f"<key>\n{key}\n</key>" in profile
    alice, bob = (profiles["<secret>"][c] for c in ("alice", "bob"))
    assert alice != bob


def test_server_certificate_is_issued_for_the_name_the_profiles_verify():
    """The server certificate's request names ``server.<name>.vpn``, the name each profile verifies."""
    result = _run()
    (csr,) = [r for r in _mine(result, "tls:index/certRequest:CertRequest") if r.name.startswith(f"{NAME}-vpn-server-")]
    assert csr.inputs["subject"]["commonName"] == f"server.{NAME}.vpn"
    assert csr.inputs["dnsNames"] == [f"server.{NAME}.vpn"]


def test_port_split_tunnel_and_log_retention_follow_the_settings():
    """A full tunnel on UDP 1194 with a shorter log retention: the endpoint and the profiles say so."""
    settings = dataclasses.replace(SETTINGS, split_tunnel=False, port=1194, log_retention_days=7)
    result = _run(settings)
    ep = result.one(ENDPOINT).inputs
    assert (ep["splitTunnel"], ep["vpnPort"]) == (False, 1194)
    assert result.one("aws:cloudwatch/logGroup:LogGroup").inputs["retentionInDays"] == 7
    host = result.one(ENDPOINT).outputs["dnsName"].removeprefix("*.")
    assert all(f"remote {host} 1194\n" in p for p in result.outputs["profiles"]["<secret>"].values())


def test_pki_version_reissues_the_ca_and_every_certificate():
    """A new pkiVersion names every key, request and certificate anew (a replacement), none of the old."""
    result = _run(dataclasses.replace(SETTINGS, pki_version=2))
    names = {r.name for r in result.registrations if r.type.startswith("tls:")}
    assert names and all(n.endswith("-v2") for n in names)
    assert f"{NAME}-vpn-ca-v2" in names and f"{NAME}-vpn-ca-v1" not in names


def test_no_clients_means_no_client_certificates_and_no_profiles():
    result = _run(dataclasses.replace(SETTINGS, clients=()))
    assert [c.name for c in _mine(result, ACM)] == [f"{NAME}-vpn-server"]
    assert result.outputs["profiles"] == {"<secret>": {}}


def test_preview_registers_the_endpoint_with_unknown_profiles():
    """In a first preview the endpoint's name and the certificates are unknown: everything is still
    registered, and the profiles are unknown rather than wrong."""
    result = _run(preview=True)
    assert len(_mine(result, ASSOCIATION)) == 2 and len(_mine(result, ACM)) == 1 + len(SETTINGS.clients)
    assert result.outputs["profiles"] == "<unknown>"


def test_profile_writer_makes_a_private_file(tmp_path):
    """tools.vpn_profile writes the named profile from the profiles (as `pulumi stack output --json` gives
    them) with mode 0600, and refuses an unknown name."""
    profiles = _run().outputs["profiles"]["<secret>"]
    data = json.dumps(profiles)
    out = tmp_path / "alice.ovpn"

    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "tools.vpn_profile", *args], input=data, text=True, capture_output=True, cwd=ROOT
        )

    proc = run("alice", str(out))
    assert proc.returncode == 0, proc.stderr
    assert out.read_text() == profiles["alice"]
    assert oct(os.stat(out).st_mode & 0o777) == "0o600"
    bad = run("mallory", str(tmp_path / "m.ovpn"))
    assert bad.returncode == 1 and "no VPN client 'mallory'" in bad.stderr
    assert not (tmp_path / "m.ovpn").exists()


def test_api_security_groups_admit_the_vpn_group_on_443_only():
    """The EKS control plane's group admits the VPN endpoint's group (what Client VPN traffic carries), on TCP
    443 only; without api groups the VPN adds no ingress anywhere."""

    def program():
        made = [aws.ec2.Subnet(f"subnet-{i}", vpc_id=VPC_ID, cidr_block=f"10.20.{i}.0/24") for i in range(2)]
        api = aws.ec2.SecurityGroup("api", vpc_id=VPC_ID)
        ClientVpn(
            NAME,
            ClientVpnArgs(
                settings=SETTINGS,
                vpc_id=VPC_ID,
                vpc_cidr=VPC_CIDR,
                subnet_ids=[s.id for s in made],
                tags=TAGS,
                api_security_group_ids=[api.id],
            ),
        )

    result = run_program(program, CONFIG, preview=False)
    assert result.error is None, result.error
    groups = {r.name: r.outputs["id"] for r in result.of_type("aws:ec2/securityGroup:SecurityGroup")}
    (rule,) = result.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert rule.inputs["securityGroupId"] == groups["api"]
    assert rule.inputs["referencedSecurityGroupId"] == groups[f"{NAME}-vpn-sg"]
    assert (rule.inputs["ipProtocol"], rule.inputs["fromPort"], rule.inputs["toPort"]) == ("tcp", 443, 443)
    assert not _run().of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
