"""The HyperPod Helm chart (aws/sagemaker-hyperpod-cli ``helm_chart/HyperPodHelmChart`` at a pinned commit),
installed on the EKS cluster with pulumi-kubernetes ``helm.v3.Release``: training operators, health monitoring
agent, deep health check and job auto-restart RBAC, device plugins.

The chart is published only as a git directory: ``scripts/fetch-chart`` puts the pinned copy where
``chart_path`` points. The release is not awaited: its workloads run on HyperPod's nodes, which join only
after the HyperPod cluster exists, and the HyperPod cluster waits for this release.
"""

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

import pulumi
import pulumi_kubernetes as k8s

from ._args import ArgCheck, after, component_type, take

NAMESPACE = "kube-system"
"""Where the release lives, as the HyperPod docs install it (its components use their own namespaces)."""
RELEASE_NAME = "hyperpod-dependencies"
"""Helm release name, as the HyperPod docs name it."""


@dataclass
class HyperPodDependenciesArgs:
    """Inputs of :class:`HyperPodDependencies`."""

    chart_path: str
    """Directory of the fetched chart (``HyperPodHelmChart``, with its ``Chart.yaml``)."""
    provider: k8s.Provider
    """The EKS cluster's Kubernetes provider (:attr:`EksControlPlane.provider`), used explicitly."""
    values: Mapping[str, Any] = field(default_factory=dict)
    """Chart values: the platform's defaults merged with ``eks.helmValues`` (keys checked against the chart)."""
    version_label: Optional[str] = None
    """The chart's pinned commit, recorded as the release's description."""


class HyperPodDependencies(pulumi.ComponentResource):
    """The HyperPod Helm chart as one Helm release in ``kube-system``, not awaited."""

    release: k8s.helm.v3.Release
    """The Helm release."""
    status: pulumi.Output[str]
    """Release name; it resolves once the release is installed (the HyperPod cluster waits for it)."""

    def __init__(self, name: str, args: HyperPodDependenciesArgs, opts: Optional[pulumi.ResourceOptions] = None):
        args, check = take("HyperPodDependencies", HyperPodDependenciesArgs, args)
        _check_args(args, check)
        check.raise_if_any()
        super().__init__(component_type("HyperPodDependencies"), name, None, opts)
        self.release = k8s.helm.v3.Release(
            f"{name}-hyperpod-deps",
            name=RELEASE_NAME,
            chart=args.chart_path,
            namespace=NAMESPACE,
            values=dict(args.values),
            skip_await=True,  # the workloads' nodes come with the HyperPod cluster, which waits for this
            dependency_update=True,  # the chart's remote sub-charts (cert-manager, device plugins) at deploy
            description=f"HyperPod Helm chart {args.version_label}" if args.version_label else None,
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider),
        )
        self.status = after(RELEASE_NAME, [self.release])
        self.register_outputs({"status": self.status})


def _check_args(args: HyperPodDependenciesArgs, check: ArgCheck) -> None:
    from pathlib import Path

    chart = Path(args.chart_path)
    if not (chart / "Chart.yaml").is_file():
        check.fail(
            "chart_path",
            args.chart_path,
            "holds no Chart.yaml: the HyperPod Helm chart has not been fetched there",
            "run scripts/fetch-chart, or point chart_path at a HyperPodHelmChart directory",
        )
