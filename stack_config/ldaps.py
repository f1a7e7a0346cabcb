"""``directory.ldaps``: the LDAPS endpoint in front of the directory (hyperpod_platform/ldaps_endpoint.py):
the stack's own CA, or a certificate from ACM with the CA that issued it."""

from __future__ import annotations

import re
from typing import Any

from hyperpod_platform.errors import MISSING as _MISSING
from hyperpod_platform.settings import LdapsSettings

from ._reader import _range, _Reader

DOMAIN_RE = re.compile(r"^(?=.{1,255}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,63}$")
ACM_ARN_RE = re.compile(r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]{36}$")
PEM_RE = re.compile(r"\s*(-----BEGIN CERTIFICATE-----\s+[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----\s*)+")


def _dns_name(v: str):
    if DOMAIN_RE.match(v):
        return None
    return ("is not a DNS name", "use a name like ldaps.corp.example.com, or omit it to use the NLB's name")


def _acm_arn(v: str):
    if ACM_ARN_RE.match(v):
        return None
    return ("is not an ACM certificate ARN", "use arn:aws:acm:<region>:<account>:certificate/<id>")


def _pem(v: str):
    if PEM_RE.fullmatch(v):
        return None
    return (
        "is not a PEM certificate",
        "paste the CA certificate, -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----",
    )


def _parse_ldaps(r: _Reader, raw: Any, lpath: str, region: str) -> LdapsSettings:
    lraw = r.obj(raw, lpath, ("dnsName", "certificateArn", "caCertificate", "plaintextListener", "caVersion"))
    dns_name = r.get(lraw, "dnsName", lpath, str, None, _dns_name)
    cert_arn = r.get(lraw, "certificateArn", lpath, str, None, _acm_arn)
    if cert_arn and region and cert_arn.split(":")[3] != region:
        r.fail(
            f"{lpath}.certificateArn",
            cert_arn,
            f"is not in the stack's region {region}",
            "import the certificate into ACM in the stack's region",
        )
    ca_pem = r.get(lraw, "caCertificate", lpath, str, None, _pem)
    _certificate_pairing(r, lraw, lpath, dns_name, cert_arn, ca_pem)
    return LdapsSettings(
        dns_name=dns_name,
        certificate_arn=cert_arn,
        ca_certificate=ca_pem,
        plaintext_listener=r.get(lraw, "plaintextListener", lpath, bool, False),
        ca_version=r.get(lraw, "caVersion", lpath, int, 1, _range(1, 10_000)) or 1,
    )


def _certificate_pairing(r: _Reader, lraw: dict, lpath: str, dns_name, cert_arn, ca_pem) -> None:
    """A certificate from ACM comes with its CA and the DNS name it was issued for; a CA only with it."""
    if cert_arn and not lraw.get("caCertificate"):
        r.fail(
            f"{lpath}.caCertificate",
            _MISSING,
            "nodes pin the CA that issued directory.ldaps.certificateArn, and cannot fetch it safely",
            "paste that CA's PEM certificate into directory.ldaps.caCertificate",
        )
    if ca_pem and not cert_arn:
        r.fail(
            f"{lpath}.caCertificate",
            "<PEM>",
            "applies only with directory.ldaps.certificateArn (the stack issues its own CA otherwise)",
            f"remove {lpath}.caCertificate, or set certificateArn",
        )
    if cert_arn and not dns_name:
        r.fail(
            f"{lpath}.dnsName",
            _MISSING,
            "a certificate from config names a host the stack cannot guess",
            "set directory.ldaps.dnsName to the name in that certificate (and point it at the LDAPS NLB)",
        )
