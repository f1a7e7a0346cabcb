"""The node DaemonSets of the pinned HyperPod chart, as data, from a real helm render.

The ``behaviour-kubernetes`` policy checks that every DaemonSet the chart installs tolerates the taints of the
instance groups it must run on. What it needs to know of each DaemonSet (its fixed tolerations, the values path
of its extra ones and their default, the instance types its node affinity selects, its nodeSelector) is taken
here from ``helm template`` of the chart with the platform's values, and written to
``policies/data/kubernetes_daemonsets.json`` with its source (the chart commit, and for the two remote
sub-charts their repository, path and commit):

    python -m tools.daemonset_facts --subchart aws-efa-k8s-device-plugin=DIR --subchart nvidia-device-plugin=DIR

``DIR`` is the sub-chart at the version the chart pins, at the commits in :data:`REMOTE_SOURCES`::

    git -C eks-charts archive de5fdc1dae279f99c00e9fcac24b9a894dbc052f stable/aws-efa-k8s-device-plugin | tar -x -C sub
    git -C k8s-device-plugin archive v0.16.1 deployments/helm/nvidia-device-plugin | tar -x -C sub

(clones of aws/eks-charts and NVIDIA/k8s-device-plugin). Without them, the remote sub-charts are left out of
the render (as in the tests, which are offline) and only the local sub-charts' DaemonSets are found.

How each fact is found, by rendering three times:

- with every sub-chart's ``tolerations`` emptied: the tolerations left are the template's fixed ones;
- with a probe toleration ``probe.hyperpod-platform/<key>`` at each ``<key>.tolerations``: a DaemonSet that
  carries the probe of ``<key>`` takes its extra tolerations from that values path;
- with the platform's values as they are (:func:`hyperpod_platform.hyperpod_chart.platform_values`): the
  default extra tolerations (what the chart's values give when the stack sets none), the affinity, the
  nodeSelector.
"""

from __future__ import annotations

import argparse
import copy
import json
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

import yaml

from hyperpod_platform import hyperpod_chart
from tools import helm

ROOT = Path(__file__).resolve().parent.parent
DATA_FILE = ROOT / "policies" / "data" / "kubernetes_daemonsets.json"
RELEASE, NAMESPACE = "hyperpod-dependencies", "kube-system"  # as HyperPodDependencies installs the chart
PROBE = "probe.hyperpod-platform"
INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"

REMOTE_SOURCES: Mapping[str, Mapping[str, str]] = {
    "aws-efa-k8s-device-plugin": {
        "repository": "https://github.com/aws/eks-charts",
        "path": "stable/aws-efa-k8s-device-plugin",
        "commit": "de5fdc1dae279f99c00e9fcac24b9a894dbc052f",
        "version": "v0.5.20",
    },
    "nvidia-device-plugin": {
        "repository": "https://github.com/NVIDIA/k8s-device-plugin",
        "path": "deployments/helm/nvidia-device-plugin",
        "commit": "cb6e45ec357705e6458f753eb04a4bde31ec18cf",
        "version": "0.16.1",
    },
}
"""Where the chart's remote sub-charts come from, at the versions its ``Chart.yaml`` pins."""

ADDON_DAEMONSETS: Sequence[Mapping[str, Any]] = [
    {
        "addon": "vpc-cni",
        "name": "aws-node",
        "namespace": "kube-system",
        "tolerationsValues": "tolerations",
        "defaultTolerations": [{"operator": "Exists"}],
        "source": "aws/amazon-vpc-cni-k8s@847372a017457306cf7d14c65094c1cdc70f8971 (v1.19.2) "
        "charts/aws-vpc-cni/values.yaml (tolerations), templates/daemonset.yaml",
    },
    {
        "addon": "eks-pod-identity-agent",
        "name": "eks-pod-identity-agent",
        "namespace": "kube-system",
        "tolerationsValues": "tolerations",
        "defaultTolerations": [{"operator": "Exists"}],
        "source": "aws/eks-pod-identity-agent@d4dc0f3fedd795b26ac88755238867a2110c7460 "
        "charts/eks-pod-identity-agent/values.yaml (tolerations), templates/daemonset.yaml",
    },
    {
        "addon": "aws-fsx-csi-driver",
        "name": "fsx-csi-node",
        "namespace": "kube-system",
        "tolerateAllValues": "node.tolerateAllTaints",
        "tolerateAllDefault": True,
        "tolerationsValues": "node.tolerations",
        "defaultTolerations": [{"operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}],
        "fixedTolerations": [{"key": "fsx.csi.aws.com/agent-not-ready", "operator": "Exists"}],
        "source": "kubernetes-sigs/aws-fsx-csi-driver@5b227125add708cd0b87c76abe1a4c074e71dfc5 "
        "charts/aws-fsx-csi-driver/values.yaml (node.tolerateAllTaints: true, node.tolerations), "
        "templates/node-daemonset.yaml",
    },
]
"""The node DaemonSets of the EKS add-ons the platform installs, read from each add-on's own chart at the commit
named (not rendered here): the tolerations at their values path, which the add-on's ``configurationValues``
JSON overrides. An add-on's DaemonSet must run on every instance group."""


def _localise(chart_dir: Path) -> None:
    """Make the archives a sub-chart ships in its ``charts/`` (the NVIDIA chart's node-feature-discovery)
    local directories its ``Chart.yaml`` names by ``file://``, so that helm still applies their conditions
    (tools.helm drops a dependency whose archive it cannot match by file name, and helm then loads the archive
    unconditionally)."""
    chart_file = chart_dir / "Chart.yaml"
    chart = yaml.safe_load(chart_file.read_text()) or {}
    for archive in sorted((chart_dir / "charts").glob("*.tgz")):
        with tempfile.TemporaryDirectory() as tmp, tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
            (root,) = [p for p in Path(tmp).iterdir() if (p / "Chart.yaml").is_file()]
            inner = yaml.safe_load((root / "Chart.yaml").read_text())["name"]
            for entry in chart.get("dependencies") or ():
                if entry["name"] == inner:
                    shutil.copytree(root, chart_dir / "charts" / inner)
                    entry["repository"] = f"file://charts/{inner}"
                    archive.unlink()
    chart_file.write_text(yaml.safe_dump(chart, sort_keys=False))


def _with_subcharts(chart_dir: Path, subcharts: Mapping[str, Path], work: Path) -> Path:
    """A copy of the chart holding ``subcharts`` (name -> directory) as local sub-charts."""
    copy_dir = work / "chart"
    shutil.copytree(chart_dir, copy_dir, symlinks=True)
    chart_file = copy_dir / "Chart.yaml"
    chart = yaml.safe_load(chart_file.read_text())
    for entry in chart.get("dependencies") or ():
        if entry["name"] in subcharts:
            target = copy_dir / "charts" / entry["name"]
            shutil.copytree(subcharts[entry["name"]], target, symlinks=True)
            _localise(target)
            entry["repository"] = f"file://charts/{entry['name']}"
    chart_file.write_text(yaml.safe_dump(chart, sort_keys=False))
    return copy_dir


def _daemonsets(rendered: helm.Rendered) -> dict[tuple[str, str], tuple[dict, str]]:
    found = {}
    for document, source in zip(rendered.documents, rendered.sources, strict=True):
        if document.get("kind") == "DaemonSet":
            meta = document["metadata"]
            found[(meta.get("namespace") or NAMESPACE, meta["name"])] = (document, source)
    return found


def _pod_spec(document: dict) -> dict:
    return document["spec"]["template"]["spec"]


def _instance_types(spec: dict) -> Optional[list[str]]:
    """The instance types the pod's required node affinity admits (None: no such restriction). Terms are ORed;
    a term restricting the instance type admits those types, a term without it admits every type."""
    terms = (
        (spec.get("affinity") or {})
        .get("nodeAffinity", {})
        .get("requiredDuringSchedulingIgnoredDuringExecution", {})
        .get("nodeSelectorTerms")
    )
    selector = (spec.get("nodeSelector") or {}).get(INSTANCE_TYPE_LABEL)
    types: Optional[set[str]] = None if selector is None else {selector}
    if terms:
        admitted: set[str] = set()
        for term in terms:
            exprs = [e for e in term.get("matchExpressions") or () if e.get("key") == INSTANCE_TYPE_LABEL]
            if not exprs:
                return sorted(types) if types is not None else None
            for e in exprs:
                if e.get("operator") == "In":
                    admitted |= set(e.get("values") or ())
        types = admitted if types is None else types & admitted
    return sorted(types) if types is not None else None


def _subchart_of(source: str) -> Optional[str]:
    """``hyperpod-helm-chart/charts/<key>/templates/...`` -> ``<key>``."""
    parts = source.split("/")
    return parts[2] if len(parts) > 3 and parts[1] == "charts" else None


def collect(chart_dir: Path, subcharts: Mapping[str, Path], values: Optional[Mapping[str, Any]] = None) -> dict:
    """The facts of every DaemonSet the chart renders with ``values`` (default: the platform's)."""
    values = dict(values if values is not None else hyperpod_chart.platform_values())
    with tempfile.TemporaryDirectory(prefix="daemonset-facts-") as tmp:
        chart = _with_subcharts(chart_dir, subcharts, Path(tmp))
        keys = [d.key for d in hyperpod_chart.chart_dependencies(chart)]
        emptied = hyperpod_chart.merge_values(values, {k: {"tolerations": []} for k in keys})
        probed = hyperpod_chart.merge_values(
            values, {k: {"tolerations": [{"key": f"{PROBE}/{k}", "operator": "Exists"}]} for k in keys}
        )
        plain = helm.render(chart, values, release_name=RELEASE, namespace=NAMESPACE)
        fixed = _daemonsets(helm.render(chart, emptied, release_name=RELEASE, namespace=NAMESPACE))
        probes = _daemonsets(helm.render(chart, probed, release_name=RELEASE, namespace=NAMESPACE))
        deps = {d.key: d for d in hyperpod_chart.chart_dependencies(chart)}
    facts = []
    for (namespace, name), (document, source) in sorted(_daemonsets(plain).items()):
        spec = _pod_spec(document)
        own = _pod_spec(fixed[(namespace, name)][0]).get("tolerations") or []
        probe_keys = [
            t["key"][len(PROBE) + 1 :]
            for t in _pod_spec(probes[(namespace, name)][0]).get("tolerations") or []
            if str(t.get("key", "")).startswith(PROBE + "/")
        ]
        values_path = f"{probe_keys[0]}.tolerations" if probe_keys else None
        all_tolerations = spec.get("tolerations") or []
        subchart = _subchart_of(source)
        dep = deps.get(subchart or "")
        facts.append(
            {
                "name": name,
                "namespace": namespace,
                "subchart": subchart,
                "template": source,
                "enabledBy": dep.condition.split(",")[0].strip() if dep and dep.condition else None,
                "fixedTolerations": own,
                "tolerationsValues": values_path,
                "defaultTolerations": [t for t in all_tolerations if t not in own] if values_path else [],
                "nodeSelector": spec.get("nodeSelector") or {},
                "instanceTypes": _instance_types(spec),
            }
        )
    return {
        "source": {
            "chart": hyperpod_chart.CHART_REPO,
            "path": hyperpod_chart.CHART_SUBDIR,
            "commit": hyperpod_chart.CHART_COMMIT,
            "helm": helm.HELM_VERSION,
            "values": "hyperpod_platform.hyperpod_chart.platform_values() (no region, no taints)",
            "subcharts": {k: dict(v) for k, v in REMOTE_SOURCES.items() if k in subcharts},
            "tool": "python -m tools.daemonset_facts",
        },
        "mustRunOn": (
            "every instance group whose instance type the DaemonSet's required node affinity or nodeSelector "
            "admits (instanceTypes; null: every group) and whose Kubernetes labels carry the rest of its "
            "nodeSelector, when its sub-chart is enabled (enabledBy is not false in the release's values)"
        ),
        "daemonsets": facts,
        "addons": [dict(a) for a in ADDON_DAEMONSETS],
    }


def local_facts(data: Mapping[str, Any]) -> list[dict]:
    """The DaemonSets of ``data`` that come from the chart's local sub-charts (an offline render finds them)."""
    remote = set(data["source"].get("subcharts") or {})
    return [copy.deepcopy(d) for d in data["daemonsets"] if d["subchart"] not in remote]


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chart", default=None, help="chart directory (default: the fetched one)")
    parser.add_argument("--subchart", action="append", default=[], help="NAME=DIR of a remote sub-chart")
    parser.add_argument("--out", default=str(DATA_FILE))
    args = parser.parse_args(argv)
    chart = Path(args.chart) if args.chart else hyperpod_chart.default_chart_dir(ROOT)
    subcharts = {}
    for item in args.subchart:
        key, _, directory = item.partition("=")
        if key not in REMOTE_SOURCES or not (Path(directory) / "Chart.yaml").is_file():
            print(f"daemonset_facts: {item}: give NAME=DIR, NAME one of {sorted(REMOTE_SOURCES)}", file=sys.stderr)
            return 2
        subcharts[key] = Path(directory)
    data = collect(chart, subcharts)
    Path(args.out).write_text(json.dumps(data, indent=2) + "\n")
    print(f"daemonset_facts: {len(data['daemonsets'])} DaemonSets -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
