"""Client VPN: mutual-TLS remote access to the VPC, with the PKI made by pulumi-tls and imported into ACM."""

import ipaddress
from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi
import pulumi_aws as aws
import pulumi_tls as tls

from . import checks
from ._args import ArgCheck, component_type, renamed, take
from .settings import VpnSettings

VALIDITY_HOURS = 24 * 365  # a year; rotate by bumping vpn.pkiVersion
RSA = {"algorithm": "RSA", "rsa_bits": 2048}  # Client VPN accepts RSA 1024/2048 certificates only


@dataclass
class ClientVpnArgs:
    """Inputs of :class:`ClientVpn`."""

    settings: VpnSettings
    """Validated VPN settings."""
    vpc_id: pulumi.Input[str]
    """The cluster VPC."""
    vpc_cidr: str
    """VPC CIDR: the authorized destination, and where the VPC resolver lives (base + 2)."""
    subnet_ids: Sequence[pulumi.Input[str]]
    """Private subnets the endpoint is associated with."""
    tags: dict[str, str]
    """Tags for every resource."""
    api_security_group_ids: Sequence[pulumi.Input[str]] = ()
    """Security groups of API servers the VPN's clients use on TCP 443 (the EKS control plane's group): each
    admits the VPN endpoint's group on 443 only. Client VPN traffic arrives with that group and the addresses
    of its network interfaces in the associated subnets, so a rule for the client range would not match."""


def ovpn_profile(endpoint_dns: str, server_cn: str, ca: str, cert: str, key: str, port: int) -> str:
    """An OpenVPN client profile for the endpoint, with the client's certificate and key inline."""
    host = endpoint_dns.removeprefix("*.")
    return (
        f"client\ndev tun\nproto udp\nremote {host} {port}\nremote-random-hostname\nresolv-retry infinite\n"
        f"nobind\nremote-cert-tls server\nverify-x509-name {server_cn} name\ncipher AES-256-GCM\n"
        f"reneg-sec 0\nverb 3\n<ca>\n{ca.strip()}\n</ca>\n<cert>\n{cert.strip()}\n</cert>\n"
        f"<key>\n{key.strip()}\n</key>\n"
    )


class ClientVpn(pulumi.ComponentResource):
    """A Client VPN endpoint with mutual TLS, split tunnel, and connection logs."""

    endpoint: aws.ec2clientvpn.Endpoint
    """The endpoint."""
    profiles: pulumi.Output[dict[str, str]]
    """Client name -> .ovpn profile (a secret: it holds the client's private key)."""

    def __init__(self, name: str, args: ClientVpnArgs, opts: Optional[pulumi.ResourceOptions] = None):
        args, check = take("ClientVpn", ClientVpnArgs, args)
        _check_args(args, check)
        check.raise_if_any()
        super().__init__(component_type("ClientVpn"), name, None, renamed(opts, "ClientVpn"))
        s = args.settings
        child = pulumi.ResourceOptions(parent=self)
        v = f"v{s.pki_version}"
        server_cn = f"server.{name}.vpn"

        ca_key = tls.PrivateKey(f"{name}-vpn-ca-{v}", **RSA, opts=child)
        ca = tls.SelfSignedCert(
            f"{name}-vpn-ca-{v}",
            private_key_pem=ca_key.private_key_pem,
            is_ca_certificate=True,
            subject={"common_name": f"{name} VPN CA"},
            validity_period_hours=VALIDITY_HOURS,
            allowed_uses=["cert_signing", "crl_signing"],
            opts=child,
        )

        def issue(label: str, cn: str, uses: list[str]) -> tuple[tls.PrivateKey, tls.LocallySignedCert]:
            key = tls.PrivateKey(f"{name}-vpn-{label}-{v}", **RSA, opts=child)
            csr = tls.CertRequest(
                f"{name}-vpn-{label}-{v}",
                private_key_pem=key.private_key_pem,
                subject={"common_name": cn},
                dns_names=[cn],
                opts=child,
            )
            cert = tls.LocallySignedCert(
                f"{name}-vpn-{label}-{v}",
                cert_request_pem=csr.cert_request_pem,
                ca_cert_pem=ca.cert_pem,
                ca_private_key_pem=ca_key.private_key_pem,
                validity_period_hours=VALIDITY_HOURS,
                allowed_uses=["digital_signature", "key_encipherment", *uses],
                opts=child,
            )
            return key, cert

        server_key, server_cert = issue("server", server_cn, ["server_auth"])
        server_acm = aws.acm.Certificate(
            f"{name}-vpn-server",
            private_key=server_key.private_key_pem,
            certificate_body=server_cert.cert_pem,
            certificate_chain=ca.cert_pem,
            tags=args.tags,
            opts=child,
        )
        clients = {}
        for client in s.clients:
            key, cert = issue(f"client-{client}", f"{client}.{name}.vpn", ["client_auth"])
            aws.acm.Certificate(
                f"{name}-vpn-client-{client}",
                private_key=key.private_key_pem,
                certificate_body=cert.cert_pem,
                certificate_chain=ca.cert_pem,
                tags=args.tags,
                opts=child,
            )
            clients[client] = (key, cert)

        logs = aws.cloudwatch.LogGroup(
            f"{name}-vpn", retention_in_days=s.log_retention_days, tags=args.tags, opts=child
        )
        stream = aws.cloudwatch.LogStream(f"{name}-vpn", log_group_name=logs.name, opts=child)
        sg = aws.ec2.SecurityGroup(
            f"{name}-vpn-sg",
            vpc_id=args.vpc_id,
            description="Client VPN: into the VPC only",
            tags={**args.tags, "Name": f"{name}-vpn"},
            opts=child,
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-vpn-to-vpc",
            security_group_id=sg.id,
            ip_protocol="-1",
            cidr_ipv4=args.vpc_cidr,
            description="VPN clients reach the VPC only",
            opts=child,
        )
        for i, api_sg in enumerate(args.api_security_group_ids):
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-vpn-api-{i}",
                security_group_id=api_sg,
                ip_protocol="tcp",
                from_port=443,
                to_port=443,
                referenced_security_group_id=sg.id,
                description="Kubernetes API from the Client VPN",
                opts=child,
            )
        resolver = str(ipaddress.IPv4Network(args.vpc_cidr).network_address + 2)
        # Both ends come from our CA: the server certificate's chain is the client root (mutual TLS).
        self.endpoint = aws.ec2clientvpn.Endpoint(
            f"{name}-vpn",
            description=f"{name} HyperPod access",
            vpc_id=args.vpc_id,
            server_certificate_arn=server_acm.arn,
            client_cidr_block=s.client_cidr,
            split_tunnel=s.split_tunnel,
            dns_servers=[resolver],
            security_group_ids=[sg.id],
            transport_protocol="udp",
            vpn_port=s.port,
            session_timeout_hours=12,
            authentication_options=[
                {"type": "certificate-authentication", "root_certificate_chain_arn": server_acm.arn}
            ],
            connection_log_options={
                "enabled": True,
                "cloudwatch_log_group": logs.name,
                "cloudwatch_log_stream": stream.name,
            },
            tags={**args.tags, "Name": f"{name}-vpn"},
            opts=child,
        )
        for i, subnet in enumerate(args.subnet_ids):
            aws.ec2clientvpn.NetworkAssociation(
                f"{name}-vpn-{i}", client_vpn_endpoint_id=self.endpoint.id, subnet_id=subnet, opts=child
            )
        aws.ec2clientvpn.AuthorizationRule(
            f"{name}-vpn-vpc",
            client_vpn_endpoint_id=self.endpoint.id,
            target_network_cidr=args.vpc_cidr,
            authorize_all_groups=True,
            description="the cluster VPC",
            opts=child,
        )

        self.profiles = pulumi.Output.secret(
            pulumi.Output.all(
                self.endpoint.dns_name,
                ca.cert_pem,
                *[x for key, cert in clients.values() for x in (cert.cert_pem, key.private_key_pem)],
            ).apply(
                lambda vals: {
                    client: ovpn_profile(vals[0], server_cn, vals[1], vals[2 + 2 * i], vals[3 + 2 * i], s.port)
                    for i, client in enumerate(clients)
                }
            )
        )
        self.register_outputs({"endpoint_id": self.endpoint.id, "profiles": self.profiles})


def _check_args(args: ClientVpnArgs, check: ArgCheck) -> None:
    """An endpoint Client VPN accepts: the VPC's block, a client range of /12 to /22 outside it, a port and log
    retention it offers, client names that make distinct certificates, a subnet to associate, tags AWS accepts."""
    s = args.settings
    check.check("vpc_cidr", args.vpc_cidr, checks.vpc_cidr)
    check.check("settings.client_cidr", s.client_cidr, checks.vpn_client_cidr(args.vpc_cidr))
    check.each("settings.clients", s.clients, checks.vpn_client_name, same=str)
    check.check("settings.port", s.port, checks.one_of(*checks.VPN_PORTS))
    check.check("settings.log_retention_days", s.log_retention_days, checks.one_of(*checks.LOG_RETENTION_DAYS))
    check.check("settings.pki_version", s.pki_version, checks.between(1, 10_000))
    why = "the endpoint needs a subnet to associate with"
    check.at_least("subnet_ids", args.subnet_ids, 1, why, "give the VPC's private subnets")
    check.tags(args.tags)
