"""The package other languages use: the schema Pulumi's analyzer derives from the components, the schema the
plugin serves, the hosted construct path under mocks, the plugin files, and the README's YAML example.

Expectations come from the components and their args dataclasses, never from a stored schema dump.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib.metadata
import inspect
import json
import re
import subprocess
import sys
import typing
from typing import Any

import grpc
import pulumi
import pytest
import yaml
from google.protobuf import struct_pb2
from pulumi.errors import InputPropertyError
from pulumi.provider.experimental import analyzer as pa
from pulumi.provider.experimental.analyzer import Analyzer
from pulumi.provider.experimental.schema import generate_schema
from pulumi.provider.server import ComponentInitError, ProviderServicer
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc
from pulumi.runtime.sync_await import _sync_await

import hyperpod_platform
from hyperpod_platform import ConfigError, Fsx
from hyperpod_platform.provider import COMPONENTS, PACKAGE_NAME, hosted_provider, package_version
from hyperpod_platform.settings import FsxSettings
from tests.conftest import ROOT
from tools.harness import RunResult, run_program

PLUGIN = ROOT / "provider"
README_SECTION = "## Use the components from your own program"
EXPR = re.compile(r"\$\{(\w+)((?:\.\w+|\[\d+\])+)\}")
"""A Pulumi YAML reference to another resource: ``${name.property[0].id}``."""


def camel(name: str) -> str:
    """The schema name of a Python field."""
    first, *rest = name.split("_")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


def token(component: type) -> str:
    return f"{PACKAGE_NAME}:index:{component.__name__}"


def type_token(cls: type) -> str:
    return f"{PACKAGE_NAME}:index:{cls.__name__}"


def args_type(component: type) -> type:
    return inspect.get_annotations(component.__init__)["args"]


def is_input(hint: Any) -> bool:
    """``pulumi.Input[X]`` or ``Optional[pulumi.Input[X]]``: a value that may come from another resource."""
    return pa.is_input(hint) or pa.is_output(hint)


def core(hint: Any) -> Any:
    """``hint`` without ``pulumi.Input`` and ``Optional``."""
    while True:
        if pa.is_input(hint):
            hint = pa.unwrap_input(hint)
        elif pa.is_output(hint):
            hint = pa.unwrap_output(hint)
        elif pa.is_optional(hint):
            hint = pa.unwrap_optional(hint)
        else:
            return hint


def nested_dataclasses(hint: Any) -> list[type]:
    """The settings dataclasses a field holds (itself, or in a sequence or mapping)."""
    hint = core(hint)
    if dataclasses.is_dataclass(hint):
        return [hint]
    return [d for arg in typing.get_args(hint) for d in nested_dataclasses(arg)]


def has_default(f: dataclasses.Field) -> bool:
    return f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING


def reachable_dataclasses(component: type) -> list[type]:
    """The args dataclass of ``component`` and every settings dataclass under it, each once."""
    found: list[type] = []
    todo = [args_type(component)]
    while todo:
        cls = todo.pop(0)
        if cls in found:
            continue
        found.append(cls)
        todo += [d for f in dataclasses.fields(cls) for d in nested_dataclasses(f.type)]
    return found


def properties_of(schema: dict, component: type, cls: type) -> dict:
    """The schema properties of ``cls``: the component's input properties, or a type's properties."""
    if cls is args_type(component):
        return schema["resources"][token(component)]["inputProperties"]
    return schema["types"][type_token(cls)]["properties"]


def without_required(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: without_required(v) for k, v in schema.items() if k not in ("required", "requiredInputs")}
    if isinstance(schema, list):
        return [without_required(v) for v in schema]
    return schema


# ---------------------------------------------------------------- schemas


@pytest.fixture(scope="module")
def provider():
    """The provider the plugin serves (``hyperpod_platform.provider.main``)."""
    return hosted_provider()


@pytest.fixture(scope="module")
def served(provider) -> dict:
    """The schema as the provider answers the engine's GetSchema (what `pulumi package add` reads)."""
    servicer = ProviderServicer(provider, [], "")
    response = _sync_await(servicer.GetSchema(provider_pb2.GetSchemaRequest(version=0), None))
    return json.loads(response.schema)


@pytest.fixture(scope="module")
def analyzed() -> dict:
    """The schema Pulumi's analyzer derives offline from the components, as Pulumi's own provider would serve
    it (no corrections)."""
    result = Analyzer(PACKAGE_NAME).analyze(COMPONENTS)
    dependencies = sorted(result["dependencies"], key=lambda d: f"{d.name}{d.version}")
    spec = generate_schema(
        PACKAGE_NAME,
        package_version(),
        None,
        result["component_definitions"],
        result["type_definitions"],
        dependencies,
    )
    return json.loads(json.dumps(spec.to_json()))


def test_the_provider_hosts_exactly_the_public_components():
    """COMPONENTS is every ComponentResource class in ``hyperpod_platform.__all__``, in that order, and each
    registers itself as ``hyperpod-platform:index:<its class name>``, the token the provider constructs."""
    public = [getattr(hyperpod_platform, n) for n in hyperpod_platform.__all__]
    expected = [c for c in public if inspect.isclass(c) and issubclass(c, pulumi.ComponentResource)]
    assert COMPONENTS == expected
    assert len(COMPONENTS) >= 14
    for component in COMPONENTS:
        assert f'component_type("{component.__name__}")' in inspect.getsource(component.__init__), component


def test_the_served_schema_names_the_package_its_version_and_every_component(served):
    """Name, version (the installed package's), and one component resource per public component, described by
    the class docstring."""
    assert served["name"] == PACKAGE_NAME == "hyperpod-platform"
    assert served["version"] == package_version() == importlib.metadata.version("hyperpod-platform")
    assert set(served["resources"]) == {token(c) for c in COMPONENTS}
    for component in COMPONENTS:
        resource = served["resources"][token(component)]
        assert resource["isComponent"] is True
        assert resource["description"] == component.__doc__.strip() != "", component


def test_the_served_schema_is_the_analyzers_with_defaulted_fields_optional(served, analyzed):
    """Apart from what is required, the served schema is exactly the analyzer's; required are the fields with
    neither a default nor None allowed (the analyzer alone requires every field that is not Optional)."""
    assert without_required(served) == without_required(analyzed)
    for component in COMPONENTS:
        for cls in reachable_dataclasses(component):
            required = sorted(
                camel(f.name)
                for f in dataclasses.fields(cls)
                if not has_default(f) and type(None) not in typing.get_args(f.type)
            )
            if cls is args_type(component):
                assert served["resources"][token(component)]["requiredInputs"] == required, cls
            else:
                assert served["types"][type_token(cls)].get("required", []) == required, cls
    fsx = analyzed["types"][type_token(FsxSettings)]["required"]
    assert "mountPath" in fsx  # why the correction exists: the analyzer requires a field that has a default


@pytest.mark.parametrize("component", COMPONENTS, ids=lambda c: c.__name__)
def test_every_arg_is_an_input_property_with_a_description(component, served, analyzed):
    """Every field of the args dataclass, and of every settings dataclass under it, is a property of the
    component or of its settings type, with a non-empty description; nothing else is. Each settings type is
    described by its own docstring."""
    for schema in (analyzed, served):
        for cls in reachable_dataclasses(component):
            props = properties_of(schema, component, cls)
            assert set(props) == {camel(f.name) for f in dataclasses.fields(cls)}, cls
            for f in dataclasses.fields(cls):
                assert props[camel(f.name)].get("description", "").strip(), f"{cls.__name__}.{f.name}"
            if cls is not args_type(component):
                description = schema["types"][type_token(cls)].get("description", "")
                assert description.strip() and not description.startswith(f"{cls.__name__}("), cls


@pytest.mark.parametrize("component", COMPONENTS, ids=lambda c: c.__name__)
def test_every_declared_output_is_a_property_with_a_description(component, served):
    """The class-level annotations of the component are its output properties, each described."""
    declared = {camel(k) for k in inspect.get_annotations(component) if not k.startswith("_")}
    props = served["resources"][token(component)]["properties"]
    assert set(props) == declared
    for name in declared:
        assert props[name].get("description", "").strip(), f"{component.__name__}.{name}"


def from_resources(hint: Any) -> bool:
    """A value that may come from another resource: an input, a resource, an asset or an archive."""
    inner = core(hint)
    return is_input(hint) or pa.is_resource(inner) or pa.is_asset(inner) or pa.is_archive(inner)


def _check_plain(prop: dict, hint: Any, where: str) -> None:
    assert bool(prop.get("plain")) == (not from_resources(hint)), where
    args = typing.get_args(core(hint))
    if "items" in prop:
        _check_plain(prop["items"], args[0], f"{where}[]")
    if "additionalProperties" in prop:
        _check_plain(prop["additionalProperties"], args[1], f"{where}{{}}")


@pytest.mark.parametrize("component", COMPONENTS, ids=lambda c: c.__name__)
def test_settings_are_plain_and_values_from_other_resources_are_not(component, served):
    """A property (and each item of a list or map) is plain exactly when its field is neither a ``pulumi.Input``
    nor a resource: settings shape the resource graph and must be known; ids and ARNs may be outputs of other
    resources."""
    for cls in reachable_dataclasses(component):
        props = properties_of(served, component, cls)
        for f in dataclasses.fields(cls):
            _check_plain(props[camel(f.name)], f.type, f"{cls.__name__}.{f.name}")


def test_spot_checks_of_plain_and_output_taking_properties(served):
    storage = served["resources"][token(Fsx)]["inputProperties"]
    assert storage["settings"]["plain"] is True
    assert storage["settings"]["$ref"] == f"#/types/{type_token(FsxSettings)}"
    assert storage["tags"]["plain"] is True
    assert "plain" not in storage["subnetId"] and "plain" not in storage["securityGroupId"]
    cluster = served["resources"][f"{PACKAGE_NAME}:index:HyperPodCluster"]["inputProperties"]
    assert "plain" not in cluster["executionRoleArn"] and "plain" not in cluster["subnetIds"]["items"]
    role = served["resources"][f"{PACKAGE_NAME}:index:ExecutionRole"]["inputProperties"]
    assert "plain" not in role["bucketArn"] and "plain" not in role["vpcArn"]


# ---------------------------------------------------------------- the hosted construct path


def wire(inputs: dict) -> dict:
    """``inputs`` as the provider receives them in Construct: a protobuf Struct from the engine (every number a
    float), deserialized by the provider server's own code."""
    struct = struct_pb2.Struct()
    struct.update(inputs)
    return _sync_await(ProviderServicer._construct_inputs(struct, {}))


def construct(provider, component: type, name: str, inputs: dict) -> RunResult:
    """``provider.construct`` (what the provider server's Construct calls) under the repository's mocks, with
    schema-named inputs off the wire. The gRPC Construct itself needs the engine's resource monitor; the
    inputs and the call are the server's."""
    mapped = wire(inputs)

    def program():
        result = provider.construct(name, token(component), mapped, pulumi.ResourceOptions())
        pulumi.export("state", result.state)

    return run_program(program, {"aws:region": "us-east-1"}, preview=False)


STORAGE_INPUTS = {
    "settings": {"storageCapacityGib": 4800, "throughputPerTib": 500, "protect": False},
    "subnetId": "subnet-0123456789abcdef0",
    "securityGroupId": "sg-0123456789abcdef0",
    "tags": {"Project": "ml-platform"},
}


def test_shared_storage_constructs_from_schema_named_inputs(provider):
    """camelCase inputs with a nested settings mapping reach Fsx as its args: the file system gets
    the size and throughput of the settings (integers, though the wire carries floats), the subnet, the
    security group and the tags; the state carries the declared outputs."""
    mapped = provider.map_inputs(wire(STORAGE_INPUTS), provider._component_defs["Fsx"])
    assert type(mapped["settings"]["storage_capacity_gib"]) is int  # the component refuses a float

    result = construct(provider, Fsx, "fsx", STORAGE_INPUTS)
    assert result.error is None, result.error
    component = result.one(token(Fsx))
    fs = result.one("aws:fsx/lustreFileSystem:LustreFileSystem")
    assert fs.parent == component.urn
    settings = STORAGE_INPUTS["settings"]
    assert fs.inputs["storageCapacity"] == settings["storageCapacityGib"]
    assert fs.inputs["perUnitStorageThroughput"] == settings["throughputPerTib"]
    assert fs.protect is settings["protect"]
    assert fs.inputs["subnetIds"] == STORAGE_INPUTS["subnetId"]
    assert fs.inputs["securityGroupIds"] == [STORAGE_INPUTS["securityGroupId"]]
    assert fs.inputs["tags"] == {**STORAGE_INPUTS["tags"], "Name": "fsx-lustre"}
    state = result.outputs["state"]
    assert set(state) == {camel(k) for k in inspect.get_annotations(Fsx)}
    assert state["dnsName"] == fs.outputs["dnsName"] and state["mountName"] == fs.outputs["mountName"]


def test_settings_left_out_take_the_dataclass_defaults(provider):
    """Only the size given: the throughput and the delete protection are FsxSettings' defaults."""
    inputs = {**STORAGE_INPUTS, "settings": {"storageCapacityGib": 2400}}
    result = construct(provider, Fsx, "fsx", inputs)
    assert result.error is None, result.error
    fs = result.one("aws:fsx/lustreFileSystem:LustreFileSystem")
    assert fs.inputs["storageCapacity"] == 2400
    assert fs.inputs["perUnitStorageThroughput"] == FsxSettings().throughput_per_tib
    assert fs.protect is FsxSettings().protect


@pytest.mark.parametrize(
    ("settings", "paths", "why"),
    [
        ({"mountPath": 5, "enabled": "yes"}, {"settings.mount_path", "settings.enabled"}, "must be a"),
        ({"storageCapacityGib": 1200.5}, {"settings.storage_capacity_gib"}, "must be an integer"),
    ],
)
def test_a_wrongly_typed_setting_fails_with_the_components_config_error(provider, settings, paths, why):
    """A value the schema's mapping passes on but of the wrong type fails with Fsx's ConfigError,
    naming each setting, before anything is registered."""
    result = construct(provider, Fsx, "fsx", {**STORAGE_INPUTS, "settings": settings})
    assert isinstance(result.error, ComponentInitError)
    error = result.error.inner
    assert isinstance(error, ConfigError)
    assert {p.path for p in error.problems} == {f"Fsx.{p}" for p in paths}
    assert all(why in p.why for p in error.problems)
    assert "invalid Fsx args" in str(error)
    assert result.registrations == []


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({**STORAGE_INPUTS, "settings": {"storageCapacityGib": "big"}}, "integer property settings.storageCapacityGib"),
        ({k: v for k, v in STORAGE_INPUTS.items() if k != "subnetId"}, "Missing required input 'subnetId'"),
    ],
)
def test_input_the_schema_refuses_fails_in_the_provider_before_the_component(provider, inputs, message):
    """A non-number for an integer and a missing required input are refused by the provider's mapping (an
    InputPropertyError the engine reports against the property), before anything is registered."""
    result = construct(provider, Fsx, "fsx", inputs)
    assert isinstance(result.error, InputPropertyError)
    assert message in result.error.reason
    assert result.registrations == []


# ---------------------------------------------------------------- the plugin


def test_plugin_manifest_is_a_python_source_plugin():
    """PulumiPlugin.yaml says runtime python and nothing else (Python plugins support only the pip toolchain
    with a virtualenv named venv, the default)."""
    manifest = yaml.safe_load((PLUGIN / "PulumiPlugin.yaml").read_text())
    assert manifest == {"runtime": "python"}


def test_plugin_entry_point_calls_the_package_main():
    """__main__.py imports main from hyperpod_platform.provider and calls it under ``__name__ == "__main__"``."""
    tree = ast.parse((PLUGIN / "__main__.py").read_text())
    imports = [n for n in tree.body if isinstance(n, ast.ImportFrom)]
    assert [(n.module, [a.name for a in n.names]) for n in imports] == [("hyperpod_platform.provider", ["main"])]
    guard = [n for n in tree.body if isinstance(n, ast.If)]
    assert len(guard) == 1 and ast.unparse(guard[0].test) == "__name__ == '__main__'"
    assert [ast.unparse(s) for s in guard[0].body] == ["main()"]


def test_plugin_requirements_install_this_repositorys_package():
    """requirements.txt installs the repository root (pip runs in provider/, so ``..``), whose pyproject is
    the hyperpod-platform package."""
    lines = [ln.strip() for ln in (PLUGIN / "requirements.txt").read_text().splitlines()]
    assert [ln for ln in lines if ln and not ln.startswith("#")] == ["-e .."]
    assert (PLUGIN / "..").resolve() == ROOT
    assert 'name = "hyperpod-platform"' in (ROOT / "pyproject.toml").read_text()


def test_the_plugin_serves_the_schema_over_grpc(served, tmp_path):
    """Run as the Python language host runs it (``python <plugin dir> <engine address>``), the plugin prints
    its port and answers GetSchema with the provider's schema."""
    plugin = subprocess.Popen(
        [sys.executable, str(PLUGIN), "127.0.0.1:1"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        port = plugin.stdout.readline().strip()
        assert port.isdigit(), plugin.stderr.read() if plugin.poll() is not None else port
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = provider_pb2_grpc.ResourceProviderStub(channel)
            response = stub.GetSchema(provider_pb2.GetSchemaRequest(version=0))
        assert json.loads(response.schema) == served
    finally:
        plugin.terminate()
        plugin.communicate()


# ---------------------------------------------------------------- the README's example


def readme_program() -> dict:
    """The Pulumi YAML program in the README's section on using the components."""
    text = (ROOT / "README.md").read_text()
    section = text.split(README_SECTION, 1)[1].split("\n## ", 1)[0]
    programs = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", section, re.S)]
    programs = [p for p in programs if isinstance(p, dict) and p.get("runtime") == "yaml"]
    assert len(programs) == 1
    return programs[0]


def _check_value(schema: dict, value: Any, prop: dict, where: str, refs: list) -> None:
    if isinstance(value, str) and EXPR.fullmatch(value):
        assert not prop.get("plain"), f"{where} is plain: it cannot take {value}"
        refs.append((where, value))
        return
    if "$ref" in prop:
        t = schema["types"][prop["$ref"].removeprefix("#/types/")]
        _check_object(schema, value, t["properties"], t.get("required", []), where, refs)
        return
    kind = prop["type"]
    if kind == "array":
        assert isinstance(value, list), where
        for i, v in enumerate(value):
            _check_value(schema, v, prop["items"], f"{where}[{i}]", refs)
    elif kind == "object":
        assert isinstance(value, dict), where
        for k, v in value.items():
            _check_value(schema, v, prop["additionalProperties"], f"{where}.{k}", refs)
    else:
        expected = {"string": str, "integer": int, "boolean": bool, "number": (int, float)}[kind]
        assert isinstance(value, expected) and (kind == "boolean" or not isinstance(value, bool)), where


def _check_object(schema: dict, value: Any, props: dict, required: list, where: str, refs: list) -> None:
    assert isinstance(value, dict), where
    assert not set(value) - set(props), f"{where}: not in the schema: {sorted(set(value) - set(props))}"
    assert not set(required) - set(value), f"{where}: required: {sorted(set(required) - set(value))}"
    for key, v in value.items():
        _check_value(schema, v, props[key], f"{where}.{key}", refs)


def test_readme_yaml_example_uses_the_schemas_names(served):
    """Each resource of the README's YAML program is a component of the schema; every property it sets exists
    (recursively, in the settings types), with a value of the schema's type, and every required one is set;
    a reference to another resource goes only where an output may, and names an output of that component."""
    program = readme_program()
    resources = program["resources"]
    refs: list = []
    for name, resource in resources.items():
        assert resource["type"] in served["resources"], name
        definition = served["resources"][resource["type"]]
        _check_object(
            served, resource["properties"], definition["inputProperties"], definition["requiredInputs"], name, refs
        )
    for key, value in program["outputs"].items():
        assert EXPR.fullmatch(value), key
        refs.append((f"outputs.{key}", value))
    assert refs
    for where, value in refs:
        target, path = EXPR.fullmatch(value).groups()
        assert target in resources, where
        first = re.match(r"\.(\w+)", path).group(1)
        assert first in served["resources"][resources[target]["type"]]["properties"], where


def _follow(state: dict, path: str) -> Any:
    """``path`` (``.privateSubnets[0].id``) from a construct result's state: keys of the state, then items
    and resource attributes."""
    value: Any = state
    for key, index in re.findall(r"\.(\w+)|\[(\d+)\]", path):
        if index:
            value = value[int(index)]
        elif isinstance(value, dict):
            value = value[key]
        else:
            value = getattr(value, re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower())
    return value


def test_readme_yaml_example_constructs_through_the_provider(provider):
    """The README's resources, constructed in order through the provider with their properties off the wire and
    each ``${...}`` the output it names: the network and the file system in its first private subnet, with the
    README's size; every output of the program resolves."""
    program = readme_program()
    resources = program["resources"]
    mapped = {name: wire(r["properties"]) for name, r in resources.items()}

    def resolve(value: Any, states: dict) -> Any:
        if isinstance(value, str) and EXPR.fullmatch(value):
            target, path = EXPR.fullmatch(value).groups()
            return _follow(states[target], path)
        if isinstance(value, dict):
            return {k: resolve(v, states) for k, v in value.items()}
        if isinstance(value, list):
            return [resolve(v, states) for v in value]
        return value

    def run():
        states: dict = {}
        for name, resource in resources.items():
            inputs = resolve(mapped[name], states)
            states[name] = provider.construct(name, resource["type"], inputs, pulumi.ResourceOptions()).state
        for key, value in program["outputs"].items():
            pulumi.export(key, resolve(value, states))

    result = run_program(run, {"aws:region": "us-east-1"}, preview=False)
    assert result.error is None, result.error
    for name, resource in resources.items():
        assert result.named(name).type == resource["type"]
    network = resources["network"]["properties"]
    assert result.one("aws:ec2/vpc:Vpc").inputs["cidrBlock"] == network["settings"]["vpcCidr"]
    fs = result.one("aws:fsx/lustreFileSystem:LustreFileSystem")
    assert fs.inputs["subnetIds"] == result.named("network-private-0", "aws:ec2/subnet:Subnet").outputs["id"]
    assert fs.inputs["storageCapacity"] == resources["storage"]["properties"]["settings"]["storageCapacityGib"]
    assert set(result.outputs) == set(program["outputs"])
    assert all(isinstance(v, str) and v for v in result.outputs.values()), result.outputs
