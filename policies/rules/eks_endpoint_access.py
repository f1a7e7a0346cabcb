"""eks-endpoint-access: the Kubernetes API server is reached privately, and publicly only from listed ranges.

Judged on every EKS cluster shape (``_eks``): the pulumi-eks component's inputs (``endpointPrivateAccess``,
``endpointPublicAccess``, ``publicAccessCidrs`` at top level), pulumi-aws ``vpcConfig{...}`` and aws-native
``resourcesVpcConfig{...}``. A value the program leaves out is judged as its default: private access false,
public access true, and a public endpoint with no ``publicAccessCidrs`` is open to ``0.0.0.0/0`` (AWS's
default). The message says when a default decided.

- Private access must be on: HyperPod nodes and pods reach the API server inside the VPC.
- Public access must be off, or limited to listed ranges whose union is not the internet (``internet.py``:
  a sixteenth of public IPv4 or IPv6 space or more, so ``0.0.0.0/1`` + ``128.0.0.0/1`` or ``::/0`` count as
  ``0.0.0.0/0``). ``allowedPublicCidrs`` narrows the ranges further; ``publicEndpoint: off`` refuses any
  public endpoint.

A value unknown at preview is a "cannot judge" note.
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs

from ._declare import Config, Props, declare, option
from ._eks import CLUSTER_TYPES, SHAPES, Shape, who, without_inputs
from ._lib import UNKNOWN, Verdicts, internet_share, opens_to_internet

try:  # rules imported as a package of the repository (policies.rules)
    from ..internet import networks
except ImportError:  # the pack as the engine runs it (policies/ on sys.path)
    from internet import networks

NAME = "eks-endpoint-access"
WORLD = "0.0.0.0/0"

CONFIG = {
    "publicEndpoint": option(
        "limited",
        "limited: a public endpoint is allowed when publicAccessCidrs lists ranges whose union is not the "
        "internet; off: endpointPublicAccess must be false.",
        enum=["limited", "off"],
    ),
    "allowedPublicCidrs": option(
        [],
        "When not empty, every publicAccessCidrs entry must lie inside one of these ranges (office, VPN or CI "
        "egress). The internet is refused either way.",
    ),
}

DESCRIPTION = (
    "EKS clusters (pulumi-eks component inputs, pulumi-aws and aws-native clusters) have private endpoint "
    "access on, and public access off or limited to listed CIDRs that are not the internet (never 0.0.0.0/0, "
    "judged on their union)."
)
REMEDIATION = (
    "Set endpointPrivateAccess=true (pulumi-eks endpoint_private_access=True, or vpcConfig / "
    "resourcesVpcConfig endpoint_private_access=True). Set endpointPublicAccess=false, or keep it and list "
    "the administrators' ranges in publicAccessCidrs (never 0.0.0.0/0, ::/0 or halves of them); leaving "
    "publicAccessCidrs out opens the public endpoint to 0.0.0.0/0. The platform's EKS control plane "
    "(hyperpod_platform/eks_control_plane.py) keeps private access on and takes the public endpoint and its "
    "ranges from EksSettings (endpoint_public_access, public_access_cidrs)."
)


def _validate(
    args: ResourceValidationArgs, props: Props, cfg: Config, verdicts: Verdicts, report_violation: ReportViolation
) -> None:
    if without_inputs(args.resource_type, props):
        return
    shape = SHAPES[args.resource_type]
    cluster = who(args.resource_type, args.name)
    vpc = props.get(shape.vpc) if shape.vpc else props
    if vpc is UNKNOWN:
        verdicts.cannot_judge(f"{shape.vpc} of {cluster} is not known yet")
        return
    vpc = vpc if isinstance(vpc, dict) else {}
    _private(shape, cluster, vpc.get("endpointPrivateAccess"), verdicts, report_violation)
    public = vpc.get("endpointPublicAccess")
    if public is UNKNOWN:
        verdicts.cannot_judge(f"{shape.field('endpointPublicAccess')} of {cluster} is not known yet")
        return
    if public is False:
        return
    how = "is true" if public is True else f"is not set, so it is true ({shape.default_note})"
    if cfg.get("publicEndpoint") == "off":
        report_violation(
            f"{cluster}: {shape.field('endpointPublicAccess')} {how}, and the policy config allows no public "
            f"endpoint (publicEndpoint: off); set {shape.arg('endpoint_public_access', 'False')}"
        )
        return
    _public_cidrs(shape, cluster, how, vpc.get("publicAccessCidrs"), cfg, verdicts, report_violation)


def _private(shape: Shape, cluster: str, value: Any, verdicts: Verdicts, report_violation: ReportViolation) -> None:
    field = shape.field("endpointPrivateAccess")
    if value is UNKNOWN:
        verdicts.cannot_judge(f"{field} of {cluster} is not known yet")
    elif value is not True:
        how = "is false" if value is False else f"is not set, so it is false ({shape.default_note})"
        report_violation(
            f"{cluster}: {field} {how}: the API server has no endpoint inside the VPC, so HyperPod nodes and "
            f"pods reach it over the internet; set {shape.arg('endpoint_private_access', 'True')}"
        )


def _public_cidrs(
    shape: Shape,
    cluster: str,
    how: str,
    cidrs: Any,
    cfg: Config,
    verdicts: Verdicts,
    report_violation: ReportViolation,
) -> None:
    field = shape.field("publicAccessCidrs")
    public = shape.field("endpointPublicAccess")
    fix = (
        f"list the administrators' ranges in {shape.arg('public_access_cidrs', '[...]')} or set "
        f"{shape.arg('endpoint_public_access', 'False')}"
    )
    if cidrs is UNKNOWN:
        verdicts.cannot_judge(f"{field} of {cluster} (public endpoint on) is not known yet")
        return
    entries = [c for c in (cidrs if isinstance(cidrs, list) else [cidrs] if cidrs else [])]
    if not entries:
        given = "is empty" if isinstance(cidrs, list) else "is not set"
        report_violation(
            f"{cluster}: {public} {how} and {field} {given}, so AWS opens the public endpoint to {WORLD} (its "
            f"default); {fix}"
        )
        return
    known = [str(c) for c in entries if c is not UNKNOWN]
    bad = [c for c in known if not networks([c])]
    if bad:
        report_violation(f"{cluster}: {field} entries {bad} are not CIDR blocks; {fix}")
    if opens_to_internet(known):
        report_violation(
            f"{cluster}: {public} {how} and {field} {known} admit {internet_share(known):.0%} of the public "
            f"internet (their union is the internet, as {WORLD} is); {fix}"
        )
        return
    allowed = networks(str(c) for c in cfg.get("allowedPublicCidrs") or [])
    if allowed:
        outside = [c for c in known if c not in bad and not _inside(c, allowed)]
        if outside:
            report_violation(
                f"{cluster}: {field} entries {outside} are outside the ranges the policy config allows "
                f"(allowedPublicCidrs {[str(n) for n in allowed]}); {fix}"
            )
    if len(known) < len(entries):
        verdicts.cannot_judge(f"an entry of {field} of {cluster} is not known yet")


def _inside(cidr: str, allowed: list[Any]) -> bool:
    (net,) = networks([cidr])
    return any(net.version == a.version and net.subnet_of(a) for a in allowed)


POLICY = declare(
    NAME,
    DESCRIPTION,
    REMEDIATION,
    CONFIG,
    level="mandatory",
    severity="high",
    resource=_validate,
    types=set(CLUSTER_TYPES),
)
