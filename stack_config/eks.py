"""``eks``: the EKS control plane of an EKS-orchestrated cluster and what runs on it
(hyperpod_platform/eks_control_plane.py, hyperpod_dependencies.py, fsx_volume.py), and the Slurm-only
settings such a stack may not carry."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Optional

from hyperpod_platform.checks import (
    AUTHENTICATION_MODES,
    DEPLOY_FROM,
    KUBERNETES_VERSIONS,
    LOG_TYPES,
    MIN_VPC_CNI,
    api_access_cidr,
    iam_role_arn,
    kubernetes_version,
    vpc_cni_version,
)
from hyperpod_platform.errors import MISSING as _MISSING
from hyperpod_platform.errors import Problem
from hyperpod_platform.hyperpod_chart import default_chart_dir, value_key_problems
from hyperpod_platform.settings import EksSettings, VpnSettings

from ._reader import _cidr, _enum, _Reader, non_finite

EKS_KEYS = (
    "kubernetesVersion",
    "authenticationMode",
    "deployFrom",
    "endpointPublicAccess",
    "publicAccessCidrs",
    "privateAccessCidrs",
    "vpcCniVersion",
    "podIdentityAgentVersion",
    "fsxCsiDriverVersion",
    "adminRoleArns",
    "logTypes",
    "helmValues",
    "chartPath",
    "fsxNamespace",
)
ADDON_VERSION_RE = re.compile(r"^v\d+\.\d+\.\d+-eksbuild\.\d+$")
NAMESPACE_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def _addon_version(v: str):
    if ADDON_VERSION_RE.match(v):
        return None
    return ("is not an EKS add-on version", "give it as vX.Y.Z-eksbuild.N, or omit it for EKS's default")


def _namespace(v: str):
    if len(v) <= 63 and NAMESPACE_RE.match(v):
        return None
    return ("is not a Kubernetes namespace name", "use lowercase letters, digits and '-', e.g. kubeflow")


def _parse_eks(r: _Reader, raw: Any, orchestrator: Optional[str]) -> EksSettings:
    path = "eks"
    if orchestrator == "slurm":
        if raw is not _MISSING and raw is not None:
            r.unread(
                path, raw, "applies only to an EKS-orchestrated cluster", "remove eks, or set cluster.orchestrator: eks"
            )
        return EksSettings()
    e = r.obj(raw, path, EKS_KEYS)
    deploy_from = r.get(e, "deployFrom", path, str, DEFAULT_DEPLOY_FROM, _enum(*DEPLOY_FROM)) or DEFAULT_DEPLOY_FROM
    public = _endpoint_public_access(r, e, path, deploy_from)
    cidrs = _public_access_cidrs(r, e, path, public) if public is not None else []
    private_cidrs = _private_access_cidrs(r, e, path, deploy_from)
    chart_path = r.get(e, "chartPath", path, str, None)
    chart_found = _chart_found(r, path, chart_path)
    return EksSettings(
        kubernetes_version=r.get(e, "kubernetesVersion", path, str, "1.32", kubernetes_version) or "1.32",
        authentication_mode=r.get(e, "authenticationMode", path, str, "API", _enum(*AUTHENTICATION_MODES)) or "API",
        endpoint_public_access=bool(public),
        public_access_cidrs=tuple(cidrs),
        deploy_from=deploy_from,
        private_access_cidrs=tuple(private_cidrs),
        vpc_cni_version=r.get(e, "vpcCniVersion", path, str, EksSettings.vpc_cni_version, vpc_cni_version)
        or EksSettings.vpc_cni_version,
        pod_identity_agent_version=r.get(e, "podIdentityAgentVersion", path, str, None, _addon_version),
        fsx_csi_driver_version=r.get(e, "fsxCsiDriverVersion", path, str, None, _addon_version),
        admin_role_arns=tuple(r.str_list(e, "adminRoleArns", path, [], item=iam_role_arn)),
        log_types=tuple(r.str_list(e, "logTypes", path, list(EksSettings.log_types), item=_enum(*LOG_TYPES))),
        helm_values=_helm_values(r, e, path, chart_path, chart_found),
        chart_path=chart_path,
        fsx_namespace=r.get(e, "fsxNamespace", path, str, "kubeflow", _namespace) or "kubeflow",
    )


DEFAULT_DEPLOY_FROM = "public"
"""Where `pulumi up` of an EKS stack runs unless ``eks.deployFrom`` says otherwise: the deploy workflow's runner
with static egress ranges (``.github/workflows/up-stack.yml``), through the public endpoint limited to them. The
only place that works on the first `pulumi up` (the VPN does not exist yet; a connected network must)."""


def _endpoint_public_access(r: _Reader, e: dict, path: str, deploy_from: str) -> Optional[bool]:
    """The public endpoint: on when `pulumi up` runs from outside (``deployFrom: public``), else off unless
    asked for (operators elsewhere); off with ``deployFrom: public`` leaves the deployer no way in (a problem,
    and None: its ranges are not judged again)."""
    public = r.get(e, "endpointPublicAccess", path, bool, deploy_from == "public")
    if deploy_from == "public" and public is False:
        r.fail(
            f"{path}.endpointPublicAccess",
            False,
            "leaves `pulumi up` no way to the API server: eks.deployFrom is 'public' (a runner outside the VPC), "
            "and a private-only endpoint answers only inside the VPC",
            "remove endpointPublicAccess (the runner's ranges go in publicAccessCidrs), or set eks.deployFrom to "
            "'vpn' or 'private'",
        )
        return None
    return bool(public)


def _private_access_cidrs(r: _Reader, e: dict, path: str, deploy_from: str) -> list[str]:
    """Ranges admitted to the private endpoint on 443: required with ``deployFrom: private``, never the
    internet (by their union)."""
    from policies.internet import internet_share, opens_to_internet

    key = f"{path}.privateAccessCidrs"
    if deploy_from == "private" and not e.get("privateAccessCidrs"):
        r.fail(
            key,
            e.get("privateAccessCidrs", _MISSING),
            "is required with eks.deployFrom 'private': `pulumi up` runs inside the VPC or a network connected to "
            "it, and the API server admits only the ranges listed here on 443",
            "list the runner's network (e.g. its subnet of the VPC), or set eks.deployFrom to 'public' or 'vpn'",
        )
        return []
    cidrs = r.str_list(e, "privateAccessCidrs", path, [], item=api_access_cidr)
    if cidrs and opens_to_internet(cidrs):
        r.fail(
            key,
            cidrs,
            f"together these ranges admit {internet_share(cidrs):.0%} of the public internet to the API server",
            "list only the networks inside the VPC or connected to it that `pulumi up` and operators use",
        )
        return []
    return cidrs


def deploy_path_problems(orchestrator: str, eks: EksSettings, vpn: VpnSettings) -> list[Problem]:
    """What ``eks.deployFrom`` needs from the other sections: ``vpn`` needs the stack's Client VPN (checked by
    ``stack_config.parse`` with the other problems, before any resource)."""
    if orchestrator != "eks" or eks.deploy_from != "vpn" or vpn.enabled:
        return []
    return [
        Problem(
            "eks.deployFrom",
            "vpn",
            "`pulumi up` would run on the Client VPN, and vpn.enabled is false: nothing reaches the private endpoint",
            "set vpn.enabled: true (with vpn.clientCidr and vpn.clients), or set eks.deployFrom to 'public' with "
            "eks.publicAccessCidrs, or 'private' with eks.privateAccessCidrs",
        )
    ]


def _public_access_cidrs(r: _Reader, e: dict, path: str, public: bool) -> list[str]:
    """Client ranges of a public endpoint: required with it, never the internet (by their union)."""
    from policies.internet import internet_share, opens_to_internet

    if not public:
        if e.get("publicAccessCidrs"):
            r.unread(
                f"{path}.publicAccessCidrs",
                e["publicAccessCidrs"],
                "applies only to a public endpoint (endpointPublicAccess is false)",
                "remove it (ranges inside the VPC or connected to it go in privateAccessCidrs), or set "
                "endpointPublicAccess: true",
            )
        return []
    if not e.get("publicAccessCidrs"):
        r.fail(
            f"{path}.publicAccessCidrs",
            e.get("publicAccessCidrs", _MISSING),
            "is required with a public endpoint (EKS would otherwise open it to 0.0.0.0/0); eks.deployFrom "
            "'public' (the default) runs `pulumi up` from these ranges",
            "list the static egress ranges of the deploy runner (and operators), or set eks.deployFrom to 'vpn' "
            "or 'private'",
        )
        return []
    cidrs = r.str_list(e, "publicAccessCidrs", path, [], item=_cidr)
    if opens_to_internet(cidrs):
        r.fail(
            f"{path}.publicAccessCidrs",
            cidrs,
            f"together these ranges admit {internet_share(cidrs):.0%} of the public internet: the API server would "
            "be open to the world",
            "list only the client networks that need the API server, or use the private endpoint (VPN)",
        )
        return []
    return cidrs


def _chart_found(r: _Reader, path: str, chart_path: Optional[str]) -> bool:
    """The HyperPod chart is installed from ``chartPath`` (or where ``scripts/fetch-chart`` puts it), with or
    without ``helmValues``: it must be there before anything is registered."""
    chart = Path(chart_path) if chart_path else default_chart_dir()
    if (chart / "Chart.yaml").is_file():
        return True
    r.fail(
        f"{path}.chartPath",
        str(chart),
        "holds no HyperPod Helm chart (no Chart.yaml): the stack installs it, and checks helmValues against it",
        "run scripts/fetch-chart (or set eks.chartPath to where it put the chart)",
    )
    return False


def _helm_values(r: _Reader, e: dict, path: str, chart_path: Optional[str], chart_found: bool) -> dict[str, Any]:
    """``helmValues``: a mapping whose every key exists in the fetched chart or its sub-charts."""
    values = r.get(e, "helmValues", path, dict, {})
    if not values:
        return {}
    bad = non_finite(values)
    if bad is not None:  # the values reach the chart whole: .inf / .nan would fail in Helm's YAML, or later
        at = f"{path}.helmValues{bad[0]}"
        r.fail(at, bad[1], "is not a finite number", f"give {at} as a finite number")
        return {}
    chart = Path(chart_path) if chart_path else default_chart_dir()
    if not chart_found:  # reported once, by _chart_found
        return dict(values)
    for p in value_key_problems(chart, values):
        fix = (
            f"rename it to {p.suggestion}"
            if p.suggestion
            else "use a key of the chart's values.yaml or of the sub-chart it names (scripts/fetch-chart fetched them)"
        )
        if p.kind == "not-a-map":
            fix = f"give {p.path} as a mapping of the chart's settings under it"
        why = p.message.split("; did you mean")[0].rstrip(".")  # the suggestion goes in the fix
        r.unread(f"{path}.helmValues.{p.path}", _lookup(values, p.path), why, fix)  # the chart does not read it
    return dict(values)


def _lookup(values: dict, dotted: str) -> Any:
    node: Any = values
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


__all__ = ["EKS_KEYS", "KUBERNETES_VERSIONS", "MIN_VPC_CNI", "_parse_eks", "deploy_path_problems"]
