"""Validate aws-native resource inputs against the CloudFormation schemas that ship with cfn-lint.

aws-native inputs are the CloudFormation properties in camelCase, with numbers as floats after the
engine's encoding. We map them back to the schema's PascalCase names (guided by the schema itself, since
e.g. ``volumeSizeInGb`` is ``VolumeSizeInGB``), restore integers, then run a Draft 7 validator.

The schema files are read straight from cfn-lint's bundled data through its provider index, the same
lookup ``PROVIDER_SCHEMA_MANAGER.get_resource_schema`` does, without importing cfn-lint (about 1 s); a test
checks that both give the same schema, and the manager is the fallback.
"""

from __future__ import annotations

import functools
import importlib.util
import json
from pathlib import Path
from typing import Any, Iterator

UNKNOWN = "<unknown>"


@functools.lru_cache(maxsize=None)
def load_schema(type_name: str, region: str = "us-east-1") -> dict:
    """The CloudFormation resource schema of ``type_name`` (e.g. ``AWS::SageMaker::Cluster``)."""
    spec = importlib.util.find_spec("cfnlint")
    if spec and spec.submodule_search_locations:
        data = Path(list(spec.submodule_search_locations)[0]) / "data" / "schemas"
        index_file = data / "providers" / f"{region}.json"
        if index_file.exists():
            schema_hash = json.loads(index_file.read_text()).get(type_name)
            schema_file = data / "resources" / f"{schema_hash}.json"
            if schema_hash and schema_file.exists():
                return json.loads(schema_file.read_text())
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER  # slower, but follows any layout change

    return PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, type_name).schema


def cfn_type(pulumi_type: str) -> str:
    """``aws-native:sagemaker:Cluster`` -> ``AWS::SageMaker::Cluster`` (from the resource's schema name)."""
    _, module, resource = pulumi_type.split(":")
    index = _provider_index()
    wanted = f"AWS::{module}::{resource}".lower()
    for name in index:
        if name.lower() == wanted:
            return name
    raise KeyError(f"no CloudFormation type for {pulumi_type}")


@functools.lru_cache(maxsize=1)
def _provider_index() -> tuple[str, ...]:
    spec = importlib.util.find_spec("cfnlint")
    data = Path(list(spec.submodule_search_locations)[0]) / "data" / "schemas" / "providers" / "us-east-1.json"
    return tuple(json.loads(data.read_text()))


def _resolve(node: dict, root: dict) -> dict:
    while "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), ref
        target: Any = root
        for part in ref[2:].split("/"):
            target = target[part]
        node = {**{k: v for k, v in node.items() if k != "$ref"}, **target}
    return node


def to_cfn(value: Any, node: dict, root: dict) -> Any:
    """Rename camelCase keys to the schema's names and restore integers, following the schema."""
    node = _resolve(node, root)
    if isinstance(value, dict):
        props: dict[str, Any] = dict(node.get("properties", {}))
        for branch in node.get("oneOf", []) + node.get("anyOf", []) + node.get("allOf", []):
            props.update(_resolve(branch, root).get("properties", {}))
        by_lower = {k.lower(): k for k in props}
        out = {}
        for key, v in value.items():
            name = by_lower.get(key.lower(), key[:1].upper() + key[1:] if props else key)
            out[name] = to_cfn(v, props.get(name, {}), root)
        return out
    if isinstance(value, list):
        return [to_cfn(v, node.get("items", {}), root) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _has_unknown(instance: Any) -> bool:
    if instance == UNKNOWN:
        return True
    if isinstance(instance, dict):
        return any(_has_unknown(v) for v in instance.values())
    if isinstance(instance, list):
        return any(_has_unknown(v) for v in instance)
    return False


@functools.lru_cache(maxsize=1)
def _validator_class():
    """Draft 7 with ECMA-262 patterns: the schemas use ``\\p{L}``-style classes that ``re`` rejects, so
    patterns run on the ``regex`` package (a cfn-lint dependency), as CloudFormation itself would."""
    import jsonschema
    import regex
    from jsonschema.exceptions import ValidationError

    def pattern(validator, patrn, instance, schema):
        if validator.is_type(instance, "string") and not regex.search(patrn, instance):
            yield ValidationError(f"{instance!r} does not match {patrn!r}")

    return jsonschema.validators.extend(jsonschema.Draft7Validator, {"pattern": pattern})


def validate(pulumi_type: str, inputs: dict, region: str = "us-east-1") -> Iterator[str]:
    """Yield one message per schema violation of ``inputs``; values unknown at preview are not judged."""
    type_name = cfn_type(pulumi_type)
    schema = load_schema(type_name, region)
    props = to_cfn(inputs, {"properties": schema.get("properties", {})}, schema)
    validator = _validator_class()(schema)
    for err in sorted(validator.iter_errors(props), key=lambda e: list(e.absolute_path)):
        if _has_unknown(err.instance):
            continue
        path = "/".join(str(p) for p in err.absolute_path) or "(resource)"
        yield f"{type_name} {path}: {err.message}"


def hyperpod_regions() -> list[str]:
    """Regions whose CloudFormation registry (as cfn-lint ships it) has ``AWS::SageMaker::Cluster``: where
    HyperPod can be deployed. ``data/hyperpod_regions.json`` keeps this list for the program, which must not
    need cfn-lint; a test checks the two agree (regenerate with ``python -m tools.cfn_schema --regions``)."""
    from cfnlint.helpers import REGIONS
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER
    from cfnlint.schema._exceptions import ResourceNotFoundError

    found = []
    for region in REGIONS:
        try:
            PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, "AWS::SageMaker::Cluster")
        except ResourceNotFoundError:
            continue
        found.append(region)
    return sorted(found)


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["--regions"]:
        out = Path(__file__).resolve().parent.parent / "data" / "hyperpod_regions.json"
        out.write_text(
            json.dumps(
                {
                    "source": "regions whose CloudFormation registry has AWS::SageMaker::Cluster "
                    "(cfn-lint's schemas; tools/cfn_schema.py --regions)",
                    "regions": hyperpod_regions(),
                },
                indent=2,
            )
            + "\n"
        )
        print(f"wrote {out}")
