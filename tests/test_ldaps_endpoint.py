"""LdapsEndpoint, built directly under mocks: an internal NLB in the given subnets, only a TLS 636 listener by
default, TCP 389 targets at the domain controllers, 636 admitted from the cluster only, and a certificate from
the component's own CA (or an ACM certificate with the CA that issued it)."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pytest

from hyperpod_platform import LdapsEndpoint, LdapsEndpointArgs
from hyperpod_platform.ldaps_endpoint import TLS_POLICY
from hyperpod_platform.settings import LdapsSettings
from tools.harness import RunResult, run_program

COMPONENT = "hyperpod-platform:index:LdapsEndpoint"
LB = "aws:lb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
ATTACH = "aws:lb/targetGroupAttachment:TargetGroupAttachment"
SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
ACM = "aws:acm/certificate:Certificate"
CA_CERT = "tls:index/selfSignedCert:SelfSignedCert"
CSR = "tls:index/certRequest:CertRequest"
SIGNED = "tls:index/locallySignedCert:LocallySignedCert"
CONFIG = {"aws:region": "us-east-1", "aws-native:region": "us-east-1"}

NAME = "t"
DOMAIN = "corp.example.com"
VPC_ID = "vpc-0123456789abcdef0"
CONTROLLERS = ["10.20.64.10", "10.20.0.10"]  # not sorted: the component sorts them
CA_PEM = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ2FPaW5Db25maWc=\n-----END CERTIFICATE-----"
CERT_ARN = "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"
TAGS = {"Cluster": NAME}
DEFAULTS = LdapsSettings()


def _run(
    settings: LdapsSettings = DEFAULTS,
    controllers: list[str] = CONTROLLERS,
    count: int = 2,
    preview: bool = False,
) -> RunResult:
    """An LdapsEndpoint in two tiny subnets, admitting a tiny cluster security group, in front of the
    domain controllers of a tiny resource's output; a consumer of its URI; its outputs exported."""

    def program():
        subnets = [aws.ec2.Subnet(f"subnet-{i}", vpc_id=VPC_ID, cidr_block=f"10.20.{i}.0/24") for i in range(2)]
        cluster_sg = aws.ec2.SecurityGroup("cluster", vpc_id=VPC_ID)
        dcs = aws.ssm.Parameter("controllers", type="StringList", insecure_value=",".join(controllers))
        ldaps = LdapsEndpoint(
            NAME,
            LdapsEndpointArgs(
                settings=settings,
                domain_name=DOMAIN,
                vpc_id=VPC_ID,
                subnet_ids=[s.id for s in subnets],
                controller_ips=dcs.insecure_value.apply(lambda v: v.split(",")),
                controller_count=count,
                cluster_security_group_id=cluster_sg.id,
                tags=TAGS,
            ),
        )
        aws.ssm.Parameter("consumer", type="String", insecure_value=ldaps.uri)  # e.g. the directory connection
        pulumi.export("uri", ldaps.uri)
        pulumi.export("host", ldaps.host)
        pulumi.export("ca", ldaps.ca_certificate_pem)

    result = run_program(program, CONFIG, preview=preview)
    assert result.error is None, result.error
    return result


def _mine(result: RunResult, typ: str) -> list:
    component = result.one(COMPONENT)
    return [r for r in result.of_type(typ) if r.parent == component.urn]


def _sg(result: RunResult) -> str:
    (sg,) = _mine(result, SG)
    return sg.outputs["id"]


def _nlb(result: RunResult):
    (nlb,) = _mine(result, LB)
    return nlb


def test_internal_nlb_in_the_given_subnets_behind_its_own_security_group():
    """An internal, cross-zone network load balancer in the given subnets, tagged as the directory's, with the
    component's security group (in the given VPC)."""
    result = _run()
    nlb = _nlb(result).inputs
    assert nlb["internal"] is True and nlb["loadBalancerType"] == "network"
    assert nlb["enableCrossZoneLoadBalancing"] is True
    assert nlb["subnets"] == [result.named(f"subnet-{i}", "aws:ec2/subnet:Subnet").outputs["id"] for i in (0, 1)]
    assert nlb["tags"] == {**TAGS, "hyperpod:lb-role": "directory"}
    assert nlb["securityGroups"] == [_sg(result)]
    (sg,) = _mine(result, SG)
    assert sg.inputs["vpcId"] == VPC_ID


def test_only_a_tls_636_listener_by_default():
    """One listener: TLS on 636 with a current TLS policy and the imported certificate, forwarding to a TCP 389
    IP target group (TCP health checks) of the domain controllers, sorted."""
    result = _run()
    (listener,) = _mine(result, LISTENER)
    li = listener.inputs
    assert li["loadBalancerArn"] == _nlb(result).outputs["arn"]
    assert (li["port"], li["protocol"], li["sslPolicy"]) == (636, "TLS", TLS_POLICY)
    (acm,) = _mine(result, ACM)
    assert li["certificateArn"] == acm.outputs["arn"]
    (tg,) = _mine(result, TARGET_GROUP)
    assert (tg.inputs["port"], tg.inputs["protocol"], tg.inputs["targetType"]) == (389, "TCP", "ip")
    assert tg.inputs["vpcId"] == VPC_ID and tg.inputs["healthCheck"]["protocol"] == "TCP"
    assert li["defaultActions"] == [{"type": "forward", "targetGroupArn": tg.outputs["arn"]}]
    attachments = sorted(_mine(result, ATTACH), key=lambda a: a.name)
    assert [(a.inputs["targetId"], a.inputs["port"], a.inputs["targetGroupArn"]) for a in attachments] == [
        (ip, 389, tg.outputs["arn"]) for ip in sorted(CONTROLLERS)
    ]


def test_security_group_admits_636_from_the_cluster_only_and_reaches_each_controller_on_389():
    """Ingress: TCP 636 from the cluster security group, nothing else; egress: TCP 389 to each domain
    controller's /32 only."""
    result = _run()
    sg, cluster = _sg(result), result.named("cluster", SG).outputs["id"]
    ingress = [r.inputs for r in result.of_type(INGRESS) if r.inputs["securityGroupId"] == sg]
    assert [
        (r["ipProtocol"], r["fromPort"], r["toPort"], r.get("referencedSecurityGroupId"), r.get("cidrIpv4"))
        for r in ingress
    ] == [("tcp", 636, 636, cluster, None)]
    egress = [r.inputs for r in result.of_type(EGRESS) if r.inputs["securityGroupId"] == sg]
    assert sorted((r["ipProtocol"], r["fromPort"], r["toPort"], r["cidrIpv4"]) for r in egress) == [
        ("tcp", 389, 389, f"{ip}/32") for ip in sorted(CONTROLLERS)
    ]


def test_plaintext_listener_only_when_asked():
    """plaintextListener adds a TCP 389 listener to the same targets and admits 389 from the cluster."""
    result = _run(LdapsSettings(plaintext_listener=True))
    (tg,) = _mine(result, TARGET_GROUP)
    listeners = _mine(result, LISTENER)
    assert sorted((r.inputs["port"], r.inputs["protocol"]) for r in listeners) == [(389, "TCP"), (636, "TLS")]
    assert all(
        r.inputs["defaultActions"] == [{"type": "forward", "targetGroupArn": tg.outputs["arn"]}] for r in listeners
    )
    sg = _sg(result)
    assert sorted(r.inputs["fromPort"] for r in result.of_type(INGRESS) if r.inputs["securityGroupId"] == sg) == [
        389,
        636,
    ]


def test_certificate_from_the_own_ca_for_the_nlb_name():
    """The component's pulumi-tls CA issues a server certificate for the NLB's DNS name (in the SAN; the CN
    stays short), imported into ACM with the CA as chain; the private key reaches ACM only as a secret; the
    nodes get the CA's public certificate and the URI of the NLB's name."""
    result = _run()
    nlb = _nlb(result).outputs["dnsName"]
    (csr,) = _mine(result, CSR)
    assert csr.inputs["dnsNames"] == [nlb] and csr.inputs["subject"] == {
        "commonName": f"{NAME} LDAPS",
        "organization": DOMAIN,
    }
    (ca,) = _mine(result, CA_CERT)
    assert ca.inputs["isCaCertificate"] is True and ca.inputs["subject"]["organization"] == DOMAIN
    (acm,) = _mine(result, ACM)
    assert acm.inputs["certificateChain"] == ca.outputs["certPem"]
    assert set(acm.inputs["privateKey"]) == {"<secret>"}
    (server,) = _mine(result, SIGNED)
    assert "server_auth" in server.inputs["allowedUses"] and server.inputs["earlyRenewalHours"] > 0
    assert server.inputs["caCertPem"] == ca.outputs["certPem"]
    assert (result.outputs["host"], result.outputs["uri"]) == (nlb, f"ldaps://{nlb}")
    assert result.outputs["ca"] == ca.outputs["certPem"]
    assert result.outputs["ca"].startswith("-----BEGIN CERTIFICATE-----") and "PRIVATE KEY" not in result.outputs["ca"]


def test_dns_name_setting_names_the_certificate_and_the_uri():
    result = _run(LdapsSettings(dns_name="ldaps.corp.example.com"))
    (csr,) = _mine(result, CSR)
    assert csr.inputs["dnsNames"] == ["ldaps.corp.example.com"]
    assert result.outputs["uri"] == "ldaps://ldaps.corp.example.com"


def test_certificate_from_settings_uses_the_acm_arn_and_pins_the_given_ca():
    """certificateArn + caCertificate: no CA, key or certificate of the component's, the listener uses the
    ARN, and the nodes pin the given CA (one trailing newline)."""
    result = _run(LdapsSettings(certificate_arn=CERT_ARN, ca_certificate=CA_PEM, dns_name="ldaps.corp.example.com"))
    component = result.one(COMPONENT)
    assert not [r.name for r in result.registrations if r.parent == component.urn and r.type.startswith("tls:")]
    assert not _mine(result, ACM)
    (listener,) = _mine(result, LISTENER)
    assert listener.inputs["certificateArn"] == CERT_ARN
    assert result.outputs["ca"] == CA_PEM.strip() + "\n"
    assert result.outputs["uri"] == "ldaps://ldaps.corp.example.com"


def test_ca_version_reissues_the_ca_and_the_server_certificate():
    result = _run(LdapsSettings(ca_version=2))
    names = {r.name for r in _mine(result, CA_CERT) + _mine(result, SIGNED) + _mine(result, CSR)}
    assert names == {f"{NAME}-ldaps-ca-v2", f"{NAME}-ldaps-server-v2"}


def test_uri_resolves_once_the_listener_and_targets_exist():
    """Whatever takes the URI waits for the TLS listener and every target attachment: a working endpoint."""
    result = _run()
    deps = set(result.named("consumer", "aws:ssm/parameter:Parameter").dependencies)
    endpoint = [*_mine(result, LISTENER), *_mine(result, ATTACH)]
    assert len(endpoint) == 3 and all(r.urn in deps for r in endpoint)


def test_controller_count_sets_the_targets():
    """As many targets and egress rules as controller_count says, from the sorted IPs."""
    ips = ["10.20.64.7", "10.20.0.7", "10.20.0.8"]
    result = _run(controllers=ips, count=3)
    assert sorted(a.inputs["targetId"] for a in _mine(result, ATTACH)) == sorted(ips)
    assert len([r for r in result.of_type(EGRESS) if r.inputs["securityGroupId"] == _sg(result)]) == 3


@pytest.mark.parametrize(
    "settings",
    [
        LdapsSettings(),
        LdapsSettings(certificate_arn=CERT_ARN, ca_certificate=CA_PEM, dns_name="ldaps.corp.example.com"),
    ],
)
def test_preview_registers_every_target_with_unknown_controllers(settings):
    """In a first preview the controllers' IPs and the NLB's name are unknown; the component still registers
    one target and one egress rule per controller, and the listener. The URI is unknown unless a dnsName
    names the host."""
    result = _run(settings, preview=True)
    assert len(_mine(result, ATTACH)) == 2 and len(_mine(result, LISTENER)) == 1
    assert len(_mine(result, EGRESS)) == 2
    assert result.outputs["uri"] == (f"ldaps://{settings.dns_name}" if settings.dns_name else "<unknown>")


def test_tags_reach_the_certificate_and_the_target_group():
    result = _run()
    (acm,) = _mine(result, ACM)
    (tg,) = _mine(result, TARGET_GROUP)
    assert acm.inputs["tags"] == {**TAGS, "Name": f"{NAME}-ldaps"} and tg.inputs["tags"] == TAGS
