"""The component provider: the public components, served to Pulumi programs in other languages.

``provider/`` at the repository root is a source-based component plugin (``PulumiPlugin.yaml``, runtime
python); its ``__main__.py`` calls :func:`main`. ``pulumi package add`` runs it, reads the package schema it
serves and generates an SDK in the program's language; ``pulumi up`` then asks it to construct each component.
The schema is derived from the components' type annotations and docstrings by Pulumi's analyzer
(``pulumi.provider.experimental``): one resource ``hyperpod-platform:index:<Class>`` per component, one type
per settings dataclass, a description for each from its docstring.

:class:`HyperPodComponentProvider` is Pulumi's ``ComponentProvider`` with two corrections, both derived from
the args dataclasses:

- a field with a default is optional in the schema (the analyzer makes only ``Optional[...]`` fields optional,
  so a program in another language would have to give every field of every settings type); an omitted field
  takes the dataclass default, as in Python;
- an integer field reaches the component as an ``int``: the wire carries numbers as floats, and pulumi
  3.272's input mapping converts them but then stores the float again (``ComponentProvider.map_input_properties``).
"""

import dataclasses
import importlib.metadata
import inspect
import json
import sys
from typing import Any, Optional

import pulumi
import pulumi.provider
from pulumi.provider.experimental.analyzer import PropertyDefinition, PropertyType
from pulumi.provider.experimental.component import ComponentProvider
from pulumi.provider.experimental.schema import generate_schema

import hyperpod_platform

from .errors import PROJECT

PACKAGE_NAME = PROJECT
"""The package name: the first part of every component's type token, and the name of the generated SDKs."""

COMPONENTS: list[type[pulumi.ComponentResource]] = [
    obj
    for obj in (getattr(hyperpod_platform, name) for name in hyperpod_platform.__all__)
    if inspect.isclass(obj) and issubclass(obj, pulumi.ComponentResource)
]
"""The hosted components: every public component of the package (``hyperpod_platform.__all__``)."""


def package_version() -> str:
    """The installed package's version (the schema's version); ``0.0.0`` when it is not installed."""
    try:
        return importlib.metadata.version(PACKAGE_NAME)
    except importlib.metadata.PackageNotFoundError:
        return "0.0.0"


class HyperPodComponentProvider(ComponentProvider):
    """Pulumi's ``ComponentProvider`` for :data:`COMPONENTS`: defaulted fields optional, integers as ints."""

    def __init__(
        self,
        components: list[type[pulumi.ComponentResource]],
        name: str,
        namespace: Optional[str] = None,
        version: str = "0.0.0",
    ) -> None:
        super().__init__(components, name, namespace, version)
        for component in components:
            definition = self._component_defs[component.__name__]
            args_type = inspect.get_annotations(component.__init__)["args"]
            _defaults_are_optional(args_type, definition.inputs, definition.inputs_mapping)
        for type_def in self._type_defs.values():
            _defaults_are_optional(type_def.python_type, type_def.properties, type_def.properties_mapping)
        schema = generate_schema(name, version, namespace, self._component_defs, self._type_defs, self._dependencies)
        self.schema = json.dumps(schema.to_json())

    def map_input_properties(
        self,
        inputs: Any,
        properties: dict[str, PropertyDefinition],
        mapping: dict[str, str],
        component_name: str,
        property_path: str,
    ) -> Any:
        mapped = super().map_input_properties(inputs, properties, mapping, component_name, property_path)
        for schema_name, prop in properties.items():
            py_name = mapping[schema_name]
            if py_name in mapped:
                mapped[py_name] = _integers(prop, mapped[py_name])
        return mapped


def _defaults_are_optional(cls: Any, properties: dict[str, PropertyDefinition], mapping: dict[str, str]) -> None:
    """Mark the properties of ``cls``'s fields that have a default optional (``cls``: a dataclass)."""
    if not dataclasses.is_dataclass(cls):
        return
    defaulted = {
        f.name
        for f in dataclasses.fields(cls)
        if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
    }
    for schema_name, prop in properties.items():
        if mapping[schema_name] in defaulted:
            prop.optional = True


def _integers(prop: PropertyDefinition, value: Any) -> Any:
    """``value`` with each whole number where the schema says integer as an ``int`` (another float is left
    for the component to refuse). Nested types are mapped, and so converted, by their own call."""
    if prop.type == PropertyType.INTEGER and isinstance(value, float) and value.is_integer():
        return int(value)
    if prop.items is not None and isinstance(value, list):
        return [_integers(prop.items, v) for v in value]
    if prop.additional_properties is not None and isinstance(value, dict):
        return {k: _integers(prop.additional_properties, v) for k, v in value.items()}
    return value


def hosted_provider() -> HyperPodComponentProvider:
    """The provider :func:`main` serves."""
    return HyperPodComponentProvider(COMPONENTS, PACKAGE_NAME, version=package_version())


def main() -> None:
    """Serve :func:`hosted_provider` to the Pulumi engine (the plugin's entry point).

    This is what ``pulumi.provider.experimental.component_provider_host(COMPONENTS, name=PACKAGE_NAME,
    version=...)`` does, with :class:`HyperPodComponentProvider` in place of ``ComponentProvider`` (the host
    takes no provider class)."""
    pulumi.provider.main(hosted_provider(), sys.argv[1:])
