"""Kubernetes manifests of a plan validated offline against the Kubernetes OpenAPI schemas that
kubernetes-validate ships, for the cluster's Kubernetes version, in strict mode (a misspelt field is an error).

A pulumi-kubernetes resource's inputs are its manifest without ``apiVersion``/``kind`` (the type token names
them): ``kubernetes:core/v1:PersistentVolume`` is ``v1``/``PersistentVolume``. Helm releases are not manifests
(their values are checked against the chart; the chart's render is validated in the tests). Unknown values
(a preview) are not judged.
"""

from typing import Any, Iterable

UNKNOWN = "<unknown>"
NOT_MANIFESTS = ("kubernetes:helm.sh/", "kubernetes:yaml", "pulumi:providers:")


def manifest_of(typ: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
    """The manifest a ``kubernetes:<group>/<version>:<Kind>`` resource applies, or None for other types."""
    if not typ.startswith("kubernetes:") or typ.startswith(NOT_MANIFESTS):
        return None
    group_version, kind = typ.split(":", 2)[1:]
    group, version = group_version.rsplit("/", 1)
    api_version = version if group == "core" else f"{group}/{version}"
    body = {k: v for k, v in inputs.items() if k not in ("apiVersion", "kind")}
    return {"apiVersion": api_version, "kind": kind, **body}


def _has_unknown(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_has_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_unknown(v) for v in value)
    return value == UNKNOWN


def _without_secrets(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"<secret>"}:
            return _without_secrets(value["<secret>"])
        return {k: _without_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_secrets(v) for v in value]
    return value


def validate(resources: Iterable[tuple[str, str, dict]], kubernetes_version: str) -> list[str]:
    """Problems of every manifest in ``resources`` ((name, type, inputs)); unknown-bearing ones are skipped."""
    import kubernetes_validate

    problems = []
    for name, typ, inputs in resources:
        manifest = manifest_of(typ, _without_secrets(inputs))
        if manifest is None or _has_unknown(manifest):
            continue
        try:
            kubernetes_validate.validate(manifest, kubernetes_version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            where = "/".join(str(p) for p in exc.path) or "(root)"
            problems.append(f"{name} ({manifest['kind']}): {where}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            problems.append(f"{name} ({manifest['kind']}): no schema for {kubernetes_version}: {exc}")
    return problems
