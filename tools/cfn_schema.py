"""Validate aws-native resource inputs, and the desired state of Cloud Control resources, against the
CloudFormation schemas that ship with cfn-lint.

aws-native inputs are the CloudFormation properties in camelCase, with numbers as floats after the
engine's encoding. We map them back to the schema's PascalCase names (guided by the schema itself, since
e.g. ``volumeSizeInGb`` is ``VolumeSizeInGB``), restore integers, then run a Draft 7 validator. A Cloud
Control resource (``aws.cloudcontrol.Resource``) carries the properties of any CloudFormation type as a JSON
``desiredState``, already named as the schema names them: that is validated against its ``typeName``'s schema.

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
CLOUDCONTROL = "aws:cloudcontrol/resource:Resource"
"""Pulumi type of a Cloud Control resource: any CloudFormation type, its properties as a JSON desired state."""


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


def validated(pulumi_type: str) -> bool:
    """Whether :func:`validate` judges resources of ``pulumi_type``: aws-native resources and Cloud Control
    resources (``aws.cloudcontrol.Resource``), whose desired state is a CloudFormation type's properties."""
    return pulumi_type.startswith("aws-native:") or pulumi_type == CLOUDCONTROL


def validate(pulumi_type: str, inputs: dict, region: str = "us-east-1") -> Iterator[str]:
    """Yield one message per schema violation of ``inputs``; values unknown at preview are not judged.

    A Cloud Control resource (:data:`CLOUDCONTROL`) is judged by its ``desiredState`` (a JSON string of the
    properties, already as the schema names them) against the schema of its ``typeName``; an unknown desired
    state or type name is not judged."""
    if pulumi_type == CLOUDCONTROL:
        yield from _validate_cloudcontrol(inputs, region)
        return
    type_name = cfn_type(pulumi_type)
    schema = load_schema(type_name, region)
    hidden: set[str] = set()  # a secret is judged as its value (as the provider gets it), never printed
    props = to_cfn(_secrets_opened(inputs, hidden), {"properties": schema.get("properties", {})}, schema)
    for msg in _violations(type_name, schema, props):
        for text in sorted(hidden, key=len, reverse=True):
            msg = msg.replace(text, "<secret>")
        yield msg


def _secrets_opened(value: Any, hidden: set[str], secret: bool = False) -> Any:
    """``value`` with every harness secret marker replaced by its value; the texts under one go to ``hidden``
    (quoted, as a violation message shows them)."""
    if isinstance(value, dict) and set(value) == {"<secret>"}:
        return _secrets_opened(value["<secret>"], hidden, True)
    if isinstance(value, dict):
        return {k: _secrets_opened(v, hidden, secret) for k, v in value.items()}
    if isinstance(value, list):
        return [_secrets_opened(v, hidden, secret) for v in value]
    if secret:
        hidden.add(repr(value))
    return value


def _unsecret(value: Any) -> Any:
    """The value under a harness secret marker (``{"<secret>": value}``)."""
    return value["<secret>"] if isinstance(value, dict) and set(value) == {"<secret>"} else value


def _validate_cloudcontrol(inputs: dict, region: str) -> Iterator[str]:
    type_name, state = _unsecret(inputs.get("typeName")), _unsecret(inputs.get("desiredState"))
    if not isinstance(type_name, str) or type_name == UNKNOWN or not isinstance(state, str) or state == UNKNOWN:
        return  # unknown at preview: judged when it is known
    from cfnlint.schema._exceptions import ResourceNotFoundError

    try:
        schema = load_schema(type_name, region)
    except ResourceNotFoundError:  # a type the region's registry lacks (or a misspelt one)
        yield f"{type_name} (typeName): no CloudFormation schema for this type in {region}"
        return
    try:
        props = json.loads(state)
    except ValueError as exc:
        yield f"{type_name} (desiredState): is not JSON ({exc})"
        return
    read_only = {p.rsplit("/", 1)[-1] for p in schema.get("readOnlyProperties", []) if p.count("/") == 2}
    if isinstance(props, dict):
        for key in sorted(read_only & set(props)):
            yield f"{type_name} {key}: read-only properties are not allowed (never sent to the handler; cfn-lint E3040)"
    yield from _violations(type_name, schema, props)


def _violations(type_name: str, schema: dict, props: Any) -> Iterator[str]:
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
