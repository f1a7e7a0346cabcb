"""LdapsEndpoint under mocks: internal NLB in the directory's subnets, only a TLS 636 listener by default,
TCP 389 targets at the domain controllers, 636 only from the cluster, a certificate from the stack's CA."""

from __future__ import annotations

import json

from tests.conftest import P

LB = "aws:lb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"
ATTACH = "aws:lb/targetGroupAttachment:TargetGroupAttachment"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
CA_PEM = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ2FPaW5Db25maWc=\n-----END CERTIFICATE-----\n"
CERT_ARN = "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"


def _listeners(run, nlb):
    return [r.inputs for r in run.of_type(LISTENER) if r.inputs["loadBalancerArn"] == nlb.outputs["arn"]]


def test_internal_nlb_in_the_directory_subnets(dev_run):
    nlb = dev_run.named("hp-dev-ldaps", LB)
    assert nlb.inputs["internal"] is True and nlb.inputs["loadBalancerType"] == "network"
    assert (
        nlb.inputs["subnets"]
        == dev_run.one("aws:directoryservice/directory:Directory").inputs["vpcSettings"]["subnetIds"]
    )
    assert nlb.inputs["tags"]["hyperpod:lb-role"] == "directory"
    assert nlb.inputs["securityGroups"] == [dev_run.named("hp-dev-ldaps-nlb-sg").outputs["id"]]


def test_only_a_tls_636_listener_by_default(dev_run):
    """One listener: TLS on 636 with a current TLS policy and the imported certificate, forwarding to the
    TCP 389 target group of the two domain controllers."""
    nlb = dev_run.named("hp-dev-ldaps", LB)
    (listener,) = _listeners(dev_run, nlb)
    assert (listener["port"], listener["protocol"], listener["sslPolicy"]) == (
        636,
        "TLS",
        "ELBSecurityPolicy-TLS13-1-2-2021-06",
    )
    assert listener["certificateArn"] == dev_run.named("hp-dev-ldaps", "aws:acm/certificate:Certificate").outputs["arn"]
    tg = dev_run.named("hp-dev-ldap", "aws:lb/targetGroup:TargetGroup")
    assert (tg.inputs["port"], tg.inputs["protocol"], tg.inputs["targetType"]) == (389, "TCP", "ip")
    assert listener["defaultActions"] == [{"type": "forward", "targetGroupArn": tg.outputs["arn"]}]
    dcs = sorted(dev_run.one("aws:directoryservice/directory:Directory").outputs["dnsIpAddresses"])
    attachments = sorted(
        (a for a in dev_run.of_type(ATTACH) if a.name.startswith("hp-dev-ldap-dc-")), key=lambda a: a.name
    )
    assert [(a.inputs["targetId"], a.inputs["port"], a.inputs["targetGroupArn"]) for a in attachments] == [
        (ip, 389, tg.outputs["arn"]) for ip in dcs
    ]


def test_plaintext_listener_only_when_asked(dev_config, run_stack):
    dev_config[P + "directory"]["ldaps"] = {"plaintextListener": True}
    run = run_stack(dev_config)
    nlb = run.named("hp-dev-ldaps", LB)
    assert sorted((r["port"], r["protocol"]) for r in _listeners(run, nlb)) == [(389, "TCP"), (636, "TLS")]
    sg = run.named("hp-dev-ldaps-nlb-sg").outputs["id"]
    assert sorted(r.inputs["fromPort"] for r in run.of_type(INGRESS) if r.inputs["securityGroupId"] == sg) == [389, 636]


def test_security_group_admits_636_from_the_cluster_only(dev_run):
    """Ingress: TCP 636 from the cluster security group, nothing else; egress: TCP 389 to each domain
    controller's /32 only."""
    sg = dev_run.named("hp-dev-ldaps-nlb-sg").outputs["id"]
    cluster = dev_run.named("hp-dev-cluster-sg").outputs["id"]
    ingress = [r.inputs for r in dev_run.of_type(INGRESS) if r.inputs["securityGroupId"] == sg]
    assert [
        (r["ipProtocol"], r["fromPort"], r["toPort"], r.get("referencedSecurityGroupId"), r.get("cidrIpv4"))
        for r in ingress
    ] == [("tcp", 636, 636, cluster, None)]
    egress = [r.inputs for r in dev_run.of_type(EGRESS) if r.inputs["securityGroupId"] == sg]
    dcs = sorted(dev_run.one("aws:directoryservice/directory:Directory").outputs["dnsIpAddresses"])
    assert sorted((r["ipProtocol"], r["fromPort"], r["toPort"], r["cidrIpv4"]) for r in egress) == [
        ("tcp", 389, 389, f"{ip}/32") for ip in dcs
    ]


def test_certificate_from_the_stack_ca_for_the_nlb_name(dev_config, run_stack, dev_run):
    """pulumi-tls CA -> server certificate for the NLB's DNS name (or ldaps.dnsName), imported into ACM
    with the CA as chain; the private key reaches ACM only as a secret."""
    nlb = dev_run.named("hp-dev-ldaps", LB).outputs["dnsName"]
    csr = dev_run.named("hp-dev-ldaps-server-v1", "tls:index/certRequest:CertRequest").inputs
    assert csr["dnsNames"] == [nlb] and csr["subject"]["commonName"] == "hp-dev LDAPS"
    # Not the host: a real NLB name (name-<random>-<16 hex>.elb.<region>.amazonaws.com) can pass X.509's 64.
    ca = dev_run.named("hp-dev-ldaps-ca-v1", "tls:index/selfSignedCert:SelfSignedCert")
    assert ca.inputs["isCaCertificate"] is True
    acm = dev_run.named("hp-dev-ldaps", "aws:acm/certificate:Certificate").inputs
    assert acm["certificateChain"] == ca.outputs["certPem"]
    assert set(acm["privateKey"]) == {"<secret>"}
    server = dev_run.named("hp-dev-ldaps-server-v1", "tls:index/locallySignedCert:LocallySignedCert").inputs
    assert "server_auth" in server["allowedUses"] and server["earlyRenewalHours"] > 0
    assert dev_run.outputs["ldapsUri"] == f"ldaps://{nlb}"

    dev_config[P + "directory"]["ldaps"] = {"dnsName": "ldaps.corp.hp-dev.example.com"}
    run = run_stack(dev_config)
    assert run.named("hp-dev-ldaps-server-v1", "tls:index/certRequest:CertRequest").inputs["dnsNames"] == [
        "ldaps.corp.hp-dev.example.com"
    ]
    assert run.outputs["ldapsUri"] == "ldaps://ldaps.corp.hp-dev.example.com"


def test_certificate_from_config(dev_config, run_stack):
    """certificateArn + caCertificate: no CA of ours, the listener uses the ARN, nodes pin the given CA."""
    dev_config[P + "directory"]["ldaps"] = {
        "certificateArn": CERT_ARN,
        "caCertificate": CA_PEM,
        "dnsName": "ldaps.corp.example.com",
    }
    run = run_stack(dev_config)
    assert run.error is None, run.error
    assert not [r for r in run.registrations if r.type.startswith("tls:") and "ldaps" in r.name]
    (listener,) = _listeners(run, run.named("hp-dev-ldaps", LB))
    assert listener["certificateArn"] == CERT_ARN
    connection = json.loads(run.one("aws:ssm/parameter:Parameter").inputs["insecureValue"])
    assert connection["ca_cert_pem"] == CA_PEM


def test_ca_version_reissues(dev_config, run_stack):
    dev_config[P + "directory"]["ldaps"] = {"caVersion": 2}
    names = {r.name for r in run_stack(dev_config).registrations if r.type.startswith("tls:")}
    assert "hp-dev-ldaps-ca-v2" in names and "hp-dev-ldaps-ca-v1" not in names


def test_nodes_find_the_endpoint_through_the_connection_parameter(dev_run):
    """The LDAPS URI and the pinned CA reach the nodes in the directory connection parameter, not in
    platform.json or the lifecycle bundle."""
    connection = json.loads(dev_run.one("aws:ssm/parameter:Parameter").inputs["insecureValue"])
    ca = dev_run.named("hp-dev-ldaps-ca-v1", "tls:index/selfSignedCert:SelfSignedCert").outputs["certPem"]
    assert (connection["ldaps_uri"], connection["ca_cert_pem"]) == (dev_run.outputs["ldapsUri"], ca)
    platform = dev_run.named("hp-dev-generated-platform.json").inputs["content"]
    assert "ldaps://" not in platform and "CERTIFICATE" not in platform
    assert not [o for o in dev_run.of_type("aws:s3/bucketObjectv2:BucketObjectv2") if o.name.endswith(".pem")]


def test_connection_waits_for_the_endpoint_and_the_cluster_does_not(dev_run):
    """The connection parameter waits for the LDAPS listener and its targets; the cluster waits for neither
    (nodes defer the identity step until the parameter exists), only for the bind secret's value: through the
    execution role's ARN, which resolves once the role's policy (naming the filled secret) is attached."""
    endpoint = [
        dev_run.named("hp-dev-ldaps", LISTENER),
        *[a for a in dev_run.of_type(ATTACH) if a.name.startswith("hp-dev-ldap-dc-")],
    ]
    assert len(endpoint) == 3
    assert all(r.urn in dev_run.one("aws:ssm/parameter:Parameter").dependencies for r in endpoint)
    deps = set(dev_run.one("aws-native:sagemaker:Cluster").dependencies)
    assert not [r.name for r in endpoint if r.urn in deps]
    policy = dev_run.named("hp-dev-vpc-and-lifecycle", "aws:iam/rolePolicy:RolePolicy")
    version = dev_run.named("hp-dev-ldap-bind", "aws:secretsmanager/secretVersion:SecretVersion")
    assert policy.urn in deps and version.urn in policy.dependencies
