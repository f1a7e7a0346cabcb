"""What the HyperPod chart tests share: the fetched chart, the Kubernetes versions, CRD schemas made strict."""

from __future__ import annotations

import copy
import functools
import json
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml
from referencing import Registry, Resource

from hyperpod_platform import hyperpod_chart
from tests.conftest import ROOT

KUBERNETES_VERSIONS = ("1.31", "1.32", "1.33")
"""Versions the render and the job examples are validated for. The platform's allow-list of EKS versions is
being defined with the EKS settings; when it exists as a constant, import it here instead."""

SHARED_CHART = ROOT.parent / "shared" / "charts" / "sagemaker-hyperpod-cli-011ca92"
"""The read-only copy of the pinned commit's helm_chart/ that tests and CI use instead of cloning."""

DEFINITIONS_ID = "https://kubernetes.io/api/_definitions.json"
OBJECT_META = f"{DEFINITIONS_ID}#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"


@functools.lru_cache(maxsize=None)
def chart_dir() -> Path:
    """The fetched chart (scripts/test fetches it; fetched here from ../shared when it is missing or stale)."""
    chart = hyperpod_chart.default_chart_dir(ROOT)
    if hyperpod_chart.chart_dir_problems(chart) and SHARED_CHART.is_dir():
        subprocess.run([str(ROOT / "scripts" / "fetch-chart"), "--from", str(SHARED_CHART)], check=True)
    problems = hyperpod_chart.chart_dir_problems(chart)
    assert not problems, problems
    return chart


def custom_resource_definitions(chart: Path) -> dict[str, dict[str, Any]]:
    """Every CRD in the chart's ``crds/`` directories (Helm installs them untemplated), by kind."""
    found = {}
    for file in sorted(chart.rglob("crds/*.yaml")):
        for document in yaml.load_all(file.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
            if document and document.get("kind") == "CustomResourceDefinition":
                found[document["spec"]["names"]["kind"]] = document
    return found


def _strict(node: Any) -> Any:
    """The API server with strict field validation rejects unknown fields where a structural schema lists
    ``properties`` (and does not preserve unknown fields): say so with ``additionalProperties: false``."""
    if isinstance(node, dict):
        node = {key: _strict(value) for key, value in node.items()}
        if (
            node.get("type") == "object"
            and "properties" in node
            and "additionalProperties" not in node
            and not node.get("x-kubernetes-preserve-unknown-fields")
        ):
            node["additionalProperties"] = False
        return node
    if isinstance(node, list):
        return [_strict(item) for item in node]
    return node


@functools.lru_cache(maxsize=None)
def _definitions(kube_version: str) -> Resource:
    """kubernetes-validate's strict definitions for ``kube_version`` (ObjectMeta and friends)."""
    base = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema" / f"v{kube_version}.0-local-strict"
    return Resource.from_contents(json.loads((base / "_definitions.json").read_text()))


def crd_validator(crd: dict[str, Any], version: str, kube_version: str) -> jsonschema.Validator:
    """A validator for custom resources of ``crd``'s ``version``: its openAPIV3Schema made strict, with the
    root ``metadata`` (``type: object`` in the CRD) checked as Kubernetes' strict ObjectMeta."""
    served = [v for v in crd["spec"]["versions"] if v["name"] == version and v.get("served")]
    assert served, f"{crd['metadata']['name']} serves no version {version}"
    schema = _strict(copy.deepcopy(served[0]["schema"]["openAPIV3Schema"]))
    schema["properties"]["metadata"] = {"$ref": OBJECT_META}
    schema["properties"]["apiVersion"]["enum"] = [f"{crd['spec']['group']}/{version}"]
    schema["properties"]["kind"]["enum"] = [crd["spec"]["names"]["kind"]]
    schema["required"] = sorted({*schema.get("required", ()), "apiVersion", "kind", "metadata"})
    registry = Registry().with_resource(DEFINITIONS_ID, _definitions(kube_version))
    return jsonschema.Draft202012Validator(schema, registry=registry)


def errors(validator: jsonschema.Validator, document: dict[str, Any]) -> list[str]:
    """Every schema error of ``document``, as ``path: message``."""
    return [
        f"{'.'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}"
        for error in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    ]
