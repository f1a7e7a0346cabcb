"""eks-authentication-mode: EKS clusters authenticate with access entries (API or API_AND_CONFIG_MAP).

HyperPod on EKS registers its service and execution roles as EKS access entries, which CONFIG_MAP (the
``aws-auth`` ConfigMap only) does not have. Judged on every EKS cluster shape (``_eks``): the pulumi-eks
component's ``authenticationMode`` input, and ``accessConfig.authenticationMode`` of pulumi-aws and
aws-native clusters. Left out, the mode is EKS's default for clusters created through the API and
CloudFormation, CONFIG_MAP, and the message says so. Unknown at preview: a "cannot judge" note.
"""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs

from ._declare import Config, Props, declare, option
from ._eks import CLUSTER_TYPES, SHAPES, who, without_inputs
from ._lib import UNKNOWN, Verdicts, get

NAME = "eks-authentication-mode"
DEFAULT_MODE = "CONFIG_MAP"
MODES = ["API", "API_AND_CONFIG_MAP", "CONFIG_MAP"]

CONFIG = {
    "allowedModes": option(
        ["API", "API_AND_CONFIG_MAP"],
        "Authentication modes an EKS cluster may use (HyperPod needs access entries: API or API_AND_CONFIG_MAP).",
        enum=MODES,
    ),
}

DESCRIPTION = (
    "EKS clusters (pulumi-eks component inputs, pulumi-aws and aws-native clusters) use authentication mode "
    "API or API_AND_CONFIG_MAP, as HyperPod needs: it registers its roles as access entries. Left out, the "
    "mode is CONFIG_MAP."
)
REMEDIATION = (
    "Set the authentication mode to API (or API_AND_CONFIG_MAP while aws-auth entries remain): pulumi-eks "
    "authentication_mode=eks.AuthenticationMode.API; pulumi-aws or aws-native "
    'access_config=...ClusterAccessConfigArgs(authentication_mode="API"). The platform\'s EKS control plane '
    "takes it from EksSettings.authentication_mode (default API). EKS can move a cluster from CONFIG_MAP to "
    "API_AND_CONFIG_MAP to API in place, never back."
)


def _validate(
    args: ResourceValidationArgs, props: Props, cfg: Config, verdicts: Verdicts, report_violation: ReportViolation
) -> None:
    if without_inputs(args.resource_type, props):
        return
    shape = SHAPES[args.resource_type]
    cluster = who(args.resource_type, args.name)
    field = ".".join(shape.access)
    mode = get(props, *shape.access)
    if mode is UNKNOWN:
        verdicts.cannot_judge(f"{field} of {cluster} is not known yet")
        return
    allowed = [str(m) for m in cfg.get("allowedModes") or []]
    if mode is None or mode == "":
        if DEFAULT_MODE not in allowed:
            report_violation(
                f"{cluster}: {field} is not set, so it is {DEFAULT_MODE} ({shape.default_note}); HyperPod needs "
                f"{' or '.join(allowed)}: set {shape.access_arg}"
            )
    elif str(mode) not in allowed:
        report_violation(
            f"{cluster}: {field} is {mode}; HyperPod needs {' or '.join(allowed)} (it registers its roles as "
            f"access entries): set {shape.access_arg}"
        )


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
