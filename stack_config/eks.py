"""``eks``: the EKS control plane of an EKS-orchestrated cluster and what runs on it
(hyperpod_platform/eks_control_plane.py, hyperpod_dependencies.py, fsx_volume.py), and the Slurm-only
settings such a stack may not carry."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Optional

from hyperpod_platform.checks import (
    AUTHENTICATION_MODES,
    KUBERNETES_VERSIONS,
    LOG_TYPES,
    MIN_VPC_CNI,
    iam_role_arn,
    kubernetes_version,
    vpc_cni_version,
)
from hyperpod_platform.errors import MISSING as _MISSING
from hyperpod_platform.hyperpod_chart import default_chart_dir, value_key_problems
from hyperpod_platform.settings import EksSettings

from ._reader import _cidr, _enum, _Reader

EKS_KEYS = (
    "kubernetesVersion",
    "authenticationMode",
    "endpointPublicAccess",
    "publicAccessCidrs",
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
            r.fail(
                path, raw, "applies only to an EKS-orchestrated cluster", "remove eks, or set cluster.orchestrator: eks"
            )
        return EksSettings()
    e = r.obj(raw, path, EKS_KEYS)
    public = r.get(e, "endpointPublicAccess", path, bool, False)
    cidrs = _public_access_cidrs(r, e, path, public)
    chart_path = r.get(e, "chartPath", path, str, None)
    return EksSettings(
        kubernetes_version=r.get(e, "kubernetesVersion", path, str, "1.32", kubernetes_version) or "1.32",
        authentication_mode=r.get(e, "authenticationMode", path, str, "API", _enum(*AUTHENTICATION_MODES)) or "API",
        endpoint_public_access=public,
        public_access_cidrs=tuple(cidrs),
        vpc_cni_version=r.get(e, "vpcCniVersion", path, str, EksSettings.vpc_cni_version, vpc_cni_version)
        or EksSettings.vpc_cni_version,
        pod_identity_agent_version=r.get(e, "podIdentityAgentVersion", path, str, None, _addon_version),
        fsx_csi_driver_version=r.get(e, "fsxCsiDriverVersion", path, str, None, _addon_version),
        admin_role_arns=tuple(r.str_list(e, "adminRoleArns", path, [], item=iam_role_arn)),
        log_types=tuple(r.str_list(e, "logTypes", path, list(EksSettings.log_types), item=_enum(*LOG_TYPES))),
        helm_values=_helm_values(r, e, path, chart_path),
        chart_path=chart_path,
        fsx_namespace=r.get(e, "fsxNamespace", path, str, "kubeflow", _namespace) or "kubeflow",
    )


def _public_access_cidrs(r: _Reader, e: dict, path: str, public: bool) -> list[str]:
    """Client ranges of a public endpoint: required with it, never the internet (by their union)."""
    from policies.internet import internet_share, opens_to_internet

    if not public:
        if e.get("publicAccessCidrs"):
            r.fail(
                f"{path}.publicAccessCidrs",
                e["publicAccessCidrs"],
                "applies only to a public endpoint (endpointPublicAccess is false)",
                "remove it, or set endpointPublicAccess: true",
            )
        return []
    if not e.get("publicAccessCidrs"):
        r.fail(
            f"{path}.publicAccessCidrs",
            e.get("publicAccessCidrs", _MISSING),
            "is required with a public endpoint (EKS would otherwise open it to 0.0.0.0/0)",
            "list the client networks that may reach the API server, or set endpointPublicAccess: false",
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


def _helm_values(r: _Reader, e: dict, path: str, chart_path: Optional[str]) -> dict[str, Any]:
    """``helmValues``: a mapping whose every key exists in the fetched chart or its sub-charts."""
    values = r.get(e, "helmValues", path, dict, {})
    if not values:
        return {}
    chart = Path(chart_path) if chart_path else default_chart_dir()
    if not (chart / "Chart.yaml").is_file():
        r.fail(
            f"{path}.chartPath",
            str(chart),
            "holds no HyperPod Helm chart, so helmValues cannot be checked against it",
            "run scripts/fetch-chart (or set eks.chartPath to where it put the chart)",
        )
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
        r.fail(f"{path}.helmValues.{p.path}", _lookup(values, p.path), why, fix)
    return dict(values)


def _lookup(values: dict, dotted: str) -> Any:
    node: Any = values
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


__all__ = ["EKS_KEYS", "KUBERNETES_VERSIONS", "MIN_VPC_CNI", "_parse_eks"]
