"""LDAPS endpoint of the directory: an internal NLB that terminates TLS on 636 and forwards to the domain
controllers on 389.

The certificate is issued by a CA that pulumi-tls makes (its public certificate is pinned on the nodes), for
the NLB's DNS name or ``directory.ldaps.dnsName``, and imported into ACM; or it is an ACM certificate from
config together with the CA that issued it. There is no plaintext 389 listener unless config asks for one.
"""

from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi
import pulumi_aws as aws
import pulumi_tls as tls

from . import checks
from ._args import ArgCheck, after, component_type, renamed, take
from .errors import MISSING
from .settings import LdapsSettings

TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"  # TLS 1.3 and 1.2 with forward secrecy only
LDAPS_PORT, LDAP_PORT = 636, 389
CA_HOURS = 10 * 365 * 24
SERVER_HOURS = 2 * 365 * 24
RENEW_HOURS = 30 * 24  # `pulumi up` re-issues the server certificate in its last 30 days


@dataclass
class LdapsEndpointArgs:
    """Inputs of :class:`LdapsEndpoint`."""

    settings: LdapsSettings
    """Validated LDAPS settings."""
    domain_name: str
    """The directory's domain (for certificate subjects)."""
    vpc_id: pulumi.Input[str]
    """VPC of the directory."""
    subnet_ids: Sequence[pulumi.Input[str]]
    """Private subnets of the NLB (the directory's, two AZs)."""
    controller_ips: pulumi.Input[Sequence[str]]
    """Domain controllers' IPs."""
    controller_count: int
    """How many of ``controller_ips`` to register (known at plan time)."""
    cluster_security_group_id: pulumi.Input[str]
    """The cluster's security group: the only source admitted to the NLB."""
    tags: dict[str, str]
    """Tags for every resource."""


class LdapsEndpoint(pulumi.ComponentResource):
    """Internal NLB, TLS 636 -> TCP 389, with a pinned CA."""

    host: pulumi.Output[str]
    """Name the nodes connect to (``directory.ldaps.dnsName`` or the NLB's DNS name)."""
    uri: pulumi.Output[str]
    """``ldaps://<host>`` for SSSD."""
    ca_certificate_pem: pulumi.Output[str]
    """Public certificate of the CA the nodes pin (never a private key)."""
    load_balancer: aws.lb.LoadBalancer
    """The NLB."""
    security_group: aws.ec2.SecurityGroup
    """The NLB's security group."""

    def __init__(self, name: str, args: LdapsEndpointArgs, opts: Optional[pulumi.ResourceOptions] = None):
        args, check = take("LdapsEndpoint", LdapsEndpointArgs, args)
        _check_args(args, check)
        check.raise_if_any()
        super().__init__(component_type("LdapsEndpoint"), name, None, renamed(opts, "LdapsEndpoint"))
        s = args.settings
        child = pulumi.ResourceOptions(parent=self)
        tags = args.tags

        # --- security group: 636 from the cluster only; out to the domain controllers on 389 --------------
        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-ldaps-nlb-sg",
            vpc_id=args.vpc_id,
            description="Directory NLB: LDAPS from the cluster only",
            tags={**tags, "Name": f"{name}-ldaps-nlb"},
            opts=child,
        )
        ports = [LDAPS_PORT] + ([LDAP_PORT] if s.plaintext_listener else [])
        for port in ports:
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-ldaps-nlb-in-{port}",
                security_group_id=self.security_group.id,
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                referenced_security_group_id=args.cluster_security_group_id,
                description=f"{'LDAPS' if port == LDAPS_PORT else 'plaintext LDAP'} from the cluster nodes",
                opts=child,
            )
        ips = pulumi.Output.from_input(args.controller_ips).apply(lambda v: sorted(v or []))
        targets = [ips.apply(lambda v, i=i: v[i]) for i in range(args.controller_count)]
        for i, ip in enumerate(targets):
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-ldaps-nlb-to-dc-{i}",
                security_group_id=self.security_group.id,
                ip_protocol="tcp",
                from_port=LDAP_PORT,
                to_port=LDAP_PORT,
                cidr_ipv4=ip.apply(lambda a: f"{a}/32"),
                description="LDAP to a domain controller (and health checks)",
                opts=child,
            )

        # --- load balancer and targets -----------------------------------------------------------------
        self.load_balancer = nlb = aws.lb.LoadBalancer(
            f"{name}-ldaps",
            load_balancer_type="network",
            internal=True,
            subnets=list(args.subnet_ids),
            security_groups=[self.security_group.id],
            enable_cross_zone_load_balancing=True,
            tags={**tags, "hyperpod:lb-role": "directory"},
            opts=child,
        )
        target_group = aws.lb.TargetGroup(
            f"{name}-ldap",
            port=LDAP_PORT,
            protocol="TCP",
            target_type="ip",
            vpc_id=args.vpc_id,
            health_check={
                "protocol": "TCP",
                "port": "traffic-port",
                "healthy_threshold": 3,
                "unhealthy_threshold": 3,
                "interval": 10,
            },
            tags=tags,
            opts=child,
        )
        ready: list[pulumi.Resource] = [
            aws.lb.TargetGroupAttachment(
                f"{name}-ldap-dc-{i}", target_group_arn=target_group.arn, target_id=ip, port=LDAP_PORT, opts=child
            )
            for i, ip in enumerate(targets)
        ]

        # --- certificate -------------------------------------------------------------------------------
        self.host = pulumi.Output.from_input(s.dns_name) if s.dns_name else nlb.dns_name
        if s.certificate_arn:
            certificate_arn: pulumi.Input[str] = s.certificate_arn
            self.ca_certificate_pem = pulumi.Output.from_input(s.ca_certificate.strip() + "\n")
        else:
            v = s.ca_version
            ca_key = tls.PrivateKey(f"{name}-ldaps-ca-v{v}", algorithm="RSA", rsa_bits=2048, opts=child)
            ca = tls.SelfSignedCert(
                f"{name}-ldaps-ca-v{v}",
                private_key_pem=ca_key.private_key_pem,
                is_ca_certificate=True,
                validity_period_hours=CA_HOURS,
                allowed_uses=["cert_signing", "crl_signing"],
                subject={"common_name": f"{name} LDAPS CA", "organization": args.domain_name},
                opts=child,
            )
            server_key = tls.PrivateKey(f"{name}-ldaps-server-v{v}", algorithm="RSA", rsa_bits=2048, opts=child)
            # The host goes in the SAN, which is what TLS clients check; the CN stays short because an NLB's
            # DNS name can exceed the 64 characters X.509 allows a common name.
            request = tls.CertRequest(
                f"{name}-ldaps-server-v{v}",
                private_key_pem=server_key.private_key_pem,
                dns_names=[self.host],
                subject={"common_name": f"{name} LDAPS"[:64], "organization": args.domain_name},
                opts=child,
            )
            server = tls.LocallySignedCert(
                f"{name}-ldaps-server-v{v}",
                cert_request_pem=request.cert_request_pem,
                ca_private_key_pem=ca_key.private_key_pem,
                ca_cert_pem=ca.cert_pem,
                validity_period_hours=SERVER_HOURS,
                early_renewal_hours=RENEW_HOURS,
                allowed_uses=["digital_signature", "key_encipherment", "server_auth"],
                opts=child,
            )
            imported = aws.acm.Certificate(
                f"{name}-ldaps",
                private_key=server_key.private_key_pem,
                certificate_body=server.cert_pem,
                certificate_chain=ca.cert_pem,
                tags={**tags, "Name": f"{name}-ldaps"},
                opts=child,
            )
            certificate_arn = imported.arn
            self.ca_certificate_pem = ca.cert_pem

        # --- listeners ---------------------------------------------------------------------------------
        ready.append(
            aws.lb.Listener(
                f"{name}-ldaps",
                load_balancer_arn=nlb.arn,
                port=LDAPS_PORT,
                protocol="TLS",
                certificate_arn=certificate_arn,
                ssl_policy=TLS_POLICY,
                default_actions=[{"type": "forward", "target_group_arn": target_group.arn}],
                opts=child,
            )
        )
        if s.plaintext_listener:
            aws.lb.Listener(
                f"{name}-ldap-plaintext",
                load_balancer_arn=nlb.arn,
                port=LDAP_PORT,
                protocol="TCP",
                default_actions=[{"type": "forward", "target_group_arn": target_group.arn}],
                opts=child,
            )

        # The URI resolves once the listener and targets exist: whoever takes it waits for a working endpoint.
        self.uri = after(self.host.apply(lambda h: f"ldaps://{h}"), ready)
        self.register_outputs({"uri": self.uri, "ca_certificate_pem": self.ca_certificate_pem})


def _check_args(args: LdapsEndpointArgs, check: ArgCheck) -> None:
    """The domain and host names for the certificate; a certificate from ACM only with the CA that issued it
    (the nodes pin it) and the host name it was issued for, a CA only with it; one or more domain controllers,
    no more than the IPs given; a subnet for the NLB; tags AWS accepts."""
    s = args.settings
    check.check("domain_name", args.domain_name, checks.domain_name)
    check.check("settings.dns_name", s.dns_name, checks.dns_name)
    check.check("settings.certificate_arn", s.certificate_arn, checks.acm_arn)
    check.check("settings.ca_certificate", s.ca_certificate, checks.pem_certificate)
    arn = s.certificate_arn if s.certificate_arn and not checks.acm_arn(s.certificate_arn) else None
    pem = s.ca_certificate if s.ca_certificate and not checks.pem_certificate(s.ca_certificate) else None
    if arn and not s.ca_certificate:
        check.fail(
            "settings.ca_certificate",
            MISSING,
            "nodes pin the CA that issued settings.certificate_arn, and cannot fetch it safely",
            "give that CA's PEM certificate as settings.ca_certificate",
        )
    if pem and not s.certificate_arn:
        why = "applies only with settings.certificate_arn (the component issues its own CA otherwise)"
        check.fail("settings.ca_certificate", "<PEM>", why, "remove it, or set settings.certificate_arn")
    if arn and not s.dns_name:
        check.fail(
            "settings.dns_name",
            MISSING,
            "a certificate from ACM names a host the component cannot guess",
            "set it to the name in that certificate (and point that name at the LDAPS NLB)",
        )
    check.check("settings.ca_version", s.ca_version, checks.between(1, 10_000))
    if args.controller_count < 1:
        why = "the NLB needs a domain controller to forward to"
        check.fail("controller_count", args.controller_count, why, "give the number of domain controllers, 1 or more")
    ips = args.controller_ips
    if isinstance(ips, (list, tuple)):
        check.each("controller_ips", ips, checks.ipv4_address("give the domain controllers' IPs"), same=str)
        if len(ips) < args.controller_count:
            why = f"{len(ips)} IP(s) given, but controller_count is {args.controller_count}"
            check.fail("controller_ips", list(ips), why, "give an IP per domain controller, or lower controller_count")
    check.at_least("subnet_ids", args.subnet_ids, 1, "the NLB needs a subnet", "give the directory's private subnets")
    check.tags(args.tags)
