"""The one place a rule becomes a CrossGuard policy.

A rule module writes its name, description, remediation, config options (:func:`option`, each with its
default), default enforcement level, severity and a check; :func:`declare` builds the
``ResourceValidationPolicy`` or ``StackValidationPolicy`` with the config schema, and the validate function the
engine calls. That function reads the config over the code defaults (:func:`~._lib.config_of`: the engine
applies schema defaults, the SDK does not), hands the check plain data (:func:`~._lib.plain` props, or the
stack's :class:`~._lib.Graph`) and a :class:`~._lib.Verdicts`, and reports what the check could not judge
after its violations.
"""

from __future__ import annotations

from typing import Any, Callable, Collection, Literal, Mapping, Optional, Union

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from ._lib import Graph, Verdicts, config_of, plain

Props = dict[str, Any]  # a resource's properties as plain data
Config = dict[str, Any]  # the policy's config over its defaults
Level = Literal["advisory", "mandatory", "remediate", "disabled"]
Grade = Literal["low", "medium", "high", "critical"]
# check(args, props, config, verdicts, report_violation)
ResourceCheck = Callable[[ResourceValidationArgs, Props, Config, Verdicts, ReportViolation], None]
# check(the stack's graph, config, verdicts, report_violation)
StackCheck = Callable[[Graph, Config, Verdicts, ReportViolation], None]

_JSON_TYPES = ((bool, "boolean"), (int, "integer"), (str, "string"), (list, "array"))


def option(
    default: Any,
    description: Optional[str] = None,
    *,
    items: str = "string",
    enum: Optional[list[Any]] = None,
) -> dict[str, Any]:
    """The config schema of one option; its JSON type follows ``default`` (bool, int, str or list).

    ``items`` is the type of an array's items; ``enum`` the values allowed (of each item, for an array)."""
    kind = next(name for typ, name in _JSON_TYPES if isinstance(default, typ))
    schema: dict[str, Any] = {"type": kind}
    allowed = {"enum": enum} if enum is not None else {}
    if kind == "array":
        schema["items"] = {"type": items, **allowed}
    else:
        schema.update(allowed)
    schema["default"] = default
    if description is not None:
        schema["description"] = description
    return schema


def defaults(config: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """The default of every option of ``config``."""
    return {key: schema["default"] for key, schema in config.items()}


def declare(
    name: str,
    description: str,
    remediation: str,
    config: Mapping[str, dict[str, Any]],
    *,
    level: Level,
    severity: Grade,
    resource: Optional[ResourceCheck] = None,
    types: Optional[Collection[str]] = None,
    stack: Optional[StackCheck] = None,
) -> Union[ResourceValidationPolicy, StackValidationPolicy]:
    """A resource policy (``resource``, run on resources of ``types``, or on all when None) or a stack policy
    (``stack``), with ``config`` (name -> :func:`option`) as its schema and defaults, enforced at ``level``
    unless the policy config says otherwise."""
    if (resource is None) == (stack is None):
        raise TypeError(f"{name}: declare a resource check or a stack check")
    defaults_ = defaults(config)

    def validate_resource(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if types is not None and args.resource_type not in types:
            return
        verdicts = Verdicts()
        resource(args, plain(args.props) or {}, config_of(args, defaults_), verdicts, report_violation)
        verdicts.finish()

    def validate_stack(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        verdicts = Verdicts()
        stack(Graph(args.resources), config_of(args, defaults_), verdicts, report_violation)
        verdicts.finish()

    common = dict(
        name=name,
        description=description,
        enforcement_level=EnforcementLevel(level),
        severity=Severity(severity),
        remediation_steps=remediation,
        config_schema=PolicyConfigSchema(properties=dict(config)),
    )
    if resource is not None:
        return ResourceValidationPolicy(validate=validate_resource, **common)
    return StackValidationPolicy(validate=validate_stack, **common)
