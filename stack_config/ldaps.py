"""``directory.ldaps``: the LDAPS endpoint in front of the directory (hyperpod_platform/ldaps_endpoint.py):
the stack's own CA, or a certificate from ACM with the CA that issued it."""

from __future__ import annotations

from typing import Any

from hyperpod_platform.checks import (  # noqa: F401 - the patterns: re-exported
    ACM_ARN_RE,
    DOMAIN_RE,
    PEM_RE,
    acm_arn,
    dns_name,
    pem_certificate,
)
from hyperpod_platform.errors import MISSING as _MISSING
from hyperpod_platform.settings import LdapsSettings

from ._reader import _range, _Reader

# The value checks live in hyperpod_platform.checks (LdapsEndpoint runs them on its own args too).
_dns_name = dns_name
_acm_arn = acm_arn
_pem = pem_certificate


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
