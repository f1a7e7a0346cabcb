"""ClientVpn under mocks: mutual TLS from a pulumi-tls PKI imported into ACM, endpoint settings, profiles."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from stack_config import ConfigError
from tests.conftest import ROOT, P

ENDPOINT = "aws:ec2clientvpn/endpoint:Endpoint"


def test_endpoint_settings(dev_run):
    """Mutual TLS with our server certificate, the configured client range, split tunnel, the VPC resolver
    as DNS, connection logs in CloudWatch, and the VPN security group."""
    ep = dev_run.one(ENDPOINT).inputs
    server = dev_run.named("hp-dev-vpn-server", "aws:acm/certificate:Certificate").outputs["arn"]
    assert ep["serverCertificateArn"] == server
    assert ep["authenticationOptions"] == [{"type": "certificate-authentication", "rootCertificateChainArn": server}]
    assert ep["clientCidrBlock"] == "10.255.0.0/22" and ep["splitTunnel"] is True
    assert ep["dnsServers"] == ["10.20.0.2"]
    logs = ep["connectionLogOptions"]
    assert logs["enabled"] is True
    assert logs["cloudwatchLogGroup"] == dev_run.named("hp-dev-vpn", "aws:cloudwatch/logGroup:LogGroup").outputs["name"]
    assert ep["securityGroupIds"] == [dev_run.named("hp-dev-vpn-sg").outputs["id"]]


def test_associations_and_authorization(dev_run):
    """Associated with every private subnet; authorized for the VPC CIDR only."""
    ep = dev_run.one(ENDPOINT).outputs["id"]
    assoc = dev_run.of_type("aws:ec2clientvpn/networkAssociation:NetworkAssociation")
    private = {dev_run.named(f"hp-dev-private-{i}", "aws:ec2/subnet:Subnet").outputs["id"] for i in (0, 1)}
    assert {a.inputs["subnetId"] for a in assoc} == private
    assert all(a.inputs["clientVpnEndpointId"] == ep for a in assoc)
    (rule,) = dev_run.of_type("aws:ec2clientvpn/authorizationRule:AuthorizationRule")
    assert rule.inputs["targetNetworkCidr"] == "10.20.0.0/16" and rule.inputs["clientVpnEndpointId"] == ep


def test_pki_in_acm_and_keys_only_as_secrets(dev_run):
    """A CA, a server certificate and one client certificate per configured name, each imported into ACM
    with the CA as chain; every private key reaches ACM only as a secret; RSA 2048 throughout."""
    ca = dev_run.named("hp-dev-vpn-ca-v1", "tls:index/selfSignedCert:SelfSignedCert")
    assert ca.inputs["isCaCertificate"] is True
    certs = {c.name: c for c in dev_run.of_type("aws:acm/certificate:Certificate") if "-vpn-" in c.name}
    assert set(certs) == {"hp-dev-vpn-server", "hp-dev-vpn-client-alice", "hp-dev-vpn-client-bob"}
    for cert in certs.values():
        assert cert.inputs["certificateChain"] == ca.outputs["certPem"]
        assert set(cert.inputs["privateKey"]) == {"<secret>"}
    keys = [k for k in dev_run.of_type("tls:index/privateKey:PrivateKey") if "-vpn-" in k.name]
    assert len(keys) == 4 and all((k.inputs["algorithm"], k.inputs["rsaBits"]) == ("RSA", 2048) for k in keys)
    uses = {c.name: c.inputs["allowedUses"] for c in dev_run.of_type("tls:index/locallySignedCert:LocallySignedCert")}
    assert "server_auth" in uses["hp-dev-vpn-server-v1"] and "client_auth" in uses["hp-dev-vpn-client-alice-v1"]


def test_ovpn_profiles_match_the_endpoint(dev_run):
    """Each client's profile is a secret output with ca, cert, key, remote and server verification that
    match the endpoint and the PKI."""
    profiles = dev_run.outputs["vpnProfiles"]
    assert set(profiles) == {"<secret>"}
    alice = profiles["<secret>"]["alice"]
    host = dev_run.one(ENDPOINT).outputs["dnsName"].removeprefix("*.")
    assert f"remote {host} 443\n" in alice
    assert "remote-cert-tls server\n" in alice and "verify-x509-name server.hp-dev.vpn name\n" in alice
    ca = dev_run.named("hp-dev-vpn-ca-v1", "tls:index/selfSignedCert:SelfSignedCert").outputs["certPem"].strip()
    cert = dev_run.named("hp-dev-vpn-client-alice-v1", "tls:index/locallySignedCert:LocallySignedCert").outputs[
        "certPem"
    ]
    key = dev_run.named("hp-dev-vpn-client-alice-v1", "tls:index/privateKey:PrivateKey").outputs["privateKeyPem"]
    assert f"<ca>\n{ca}\n</ca>" in alice and f"<cert>\n{cert.strip()}\n</cert>" in alice
    assert f"<key>\n{key.strip()}\n</key>" in alice
    assert set(profiles["<secret>"]) == {"alice", "bob"}


def test_profile_writer_makes_a_private_file(dev_run, tmp_path):
    """tools.vpn_profile writes the named profile with mode 0600 and refuses an unknown name."""
    data = json.dumps(dev_run.outputs["vpnProfiles"]["<secret>"])
    out = tmp_path / "alice.ovpn"

    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "tools.vpn_profile", *args], input=data, text=True, capture_output=True, cwd=ROOT
        )

    proc = run("alice", str(out))
    assert proc.returncode == 0, proc.stderr
    assert out.read_text() == dev_run.outputs["vpnProfiles"]["<secret>"]["alice"]
    assert oct(os.stat(out).st_mode & 0o777) == "0o600"
    bad = run("mallory", str(tmp_path / "m.ovpn"))
    assert bad.returncode == 1 and "no VPN client 'mallory'" in bad.stderr


def test_client_cidr_must_not_overlap_the_vpc(dev_config, run_stack):
    """A client range inside the VPC is refused before any resource, naming the key."""
    dev_config[P + "vpn"]["clientCidr"] = "10.20.4.0/22"
    result = run_stack(dev_config)
    assert isinstance(result.error, ConfigError) and result.registrations == []
    assert "vpn.clientCidr" in str(result.error) and "overlaps the VPC CIDR" in str(result.error)


def test_login_nlb_admits_vpn_clients(dev_run):
    """The login NLB's SSH rule set includes the VPN client range."""
    nlb_sg = dev_run.named("hp-dev-nlb-sg").outputs["id"]
    cidrs = {
        r.inputs["cidrIpv4"]
        for r in dev_run.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r.inputs["securityGroupId"] == nlb_sg
    }
    assert "10.255.0.0/22" in cidrs
