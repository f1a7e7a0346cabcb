"""How a component takes its args: checked as a whole before it registers anything.

A component's args are a dataclass of ``pulumi.Input`` fields (values that may come from other resources) and
plain fields (settings that shape the resource graph: counts, switches, names). A caller passes an instance, or
a mapping of the same fields: that is what a program in another language hands the component through the
component provider (``hyperpod_platform.provider``), and what a Python caller may prefer to write.

:func:`take` turns either into the dataclass and checks the type of every plain field; the component then adds
its own checks to the same :class:`ArgCheck`, which raises one :class:`ConfigError` naming the component, each
bad arg and its fix.
"""

import dataclasses
import os
import typing
from typing import Any, Callable, Optional, Sequence, TypeVar

import pulumi

from .checks import TAG_LIMIT, Check, tag_key_problem, tag_value_problem
from .errors import CREDENTIAL_FIX, MISSING, PROJECT, ConfigError, Problem, credential_problem

T = TypeVar("T")

PLAIN_NAMES = {str: "a string", int: "an integer", bool: "a boolean", float: "a number"}


class ArgCheck:
    """Collects the problems of one component's args."""

    def __init__(self, component: str):
        self.component = component
        self.problems: list[Problem] = []

    def fail(self, arg: str, value: Any, why: str, fix: str) -> None:
        self.problems.append(Problem(f"{self.component}.{arg}", value, why, fix, prefix=""))

    def check(self, arg: str, value: Any, check: Check) -> None:
        """Run ``check`` on a known value (an unknown output is the caller's to check)."""
        if value is None or isinstance(value, pulumi.Output):
            return
        found = check(value)
        if found:
            self.fail(arg, value, *found)

    def each(
        self, arg: str, values: Sequence[Any], check: Optional[Check] = None, same: Optional[Callable] = None
    ) -> None:
        """Run ``check`` on every known item; with ``same`` (the identity of an item, e.g. ``str.lower``), an item
        given twice is reported once, as a repeat, and not checked again."""
        seen: dict[Any, int] = {}
        for i, v in enumerate(values):
            if same is not None and isinstance(v, (str, int)):
                if same(v) in seen:
                    self.fail(f"{arg}[{i}]", v, f"repeats {arg}[{seen[same(v)]}]", "list each entry once")
                    continue
                seen[same(v)] = i
            if check is not None:
                self.check(f"{arg}[{i}]", v, check)

    def at_least(self, arg: str, values: Sequence[Any], least: int, why: str, fix: str) -> bool:
        """``values`` has ``least`` items or more; reports ``why`` and ``fix`` otherwise."""
        if len(values) < least:
            self.fail(arg, list(values) if all(isinstance(v, (str, int)) for v in values) else len(values), why, fix)
            return False
        return True

    def tags(self, tags: dict, arg: str = "tags", own: Sequence[str] = ("Name",)) -> None:
        """AWS's tag rules for every tag, and room for the tags the component adds itself (``own``)."""
        for key, value in tags.items():
            bad = tag_key_problem(str(key))
            leaked = credential_problem(str(key)) or isinstance(value, str) and credential_problem(value)
            if leaked:
                self.problems.append(Problem(f"{self.component}.{arg}.{key}", value, leaked, CREDENTIAL_FIX, True, ""))
            elif bad:
                self.fail(f"{arg}.{key}", value, bad, "rename the tag key")
            elif isinstance(value, str) and tag_value_problem(value):
                self.fail(f"{arg}.{key}", value, tag_value_problem(value), "shorten or change the value")
        total = len(set(map(str, tags)) | set(own))
        if total > TAG_LIMIT:
            self.fail(
                arg,
                f"{len(tags)} tags",
                f"with the component's own tags ({', '.join(own)}) that makes {total}, over AWS's {TAG_LIMIT} "
                "tags per resource",
                f"give at most {TAG_LIMIT - len(set(own))} tags",
            )

    def raise_if_any(self) -> None:
        if self.problems:
            raise ConfigError(self.problems, subject=f"{self.component} args")


def take(component: str, cls: type[T], args: Any) -> tuple[T, ArgCheck]:
    """``args`` as a ``cls`` (from an instance or a mapping of its fields); raises when a field is missing,
    unknown or of the wrong type. The caller adds its own checks to the returned :class:`ArgCheck` and calls
    :meth:`ArgCheck.raise_if_any` before registering children.
    """
    check = ArgCheck(component)
    built = _build(cls, args, "", check)
    check.raise_if_any()  # a value of the wrong type or shape: the component's own checks could not judge it
    return built, check


def _build(hint: Any, value: Any, path: str, check: ArgCheck) -> Any:
    """``value`` converted to ``hint`` (dataclasses from mappings, sequences to tuples); problems recorded."""
    if _is_input(hint):  # an output, an awaitable or a plain value: judged where it is known
        return value
    origin = typing.get_origin(hint)
    if origin is typing.Union:  # Optional[X]
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        return None if value is None else _build(inner[0], value, path, check)
    if dataclasses.is_dataclass(hint):
        return _dataclass(hint, value, path, check)
    if origin in (list, tuple, typing.Sequence, _abc_sequence()):
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
            check.fail(path, value, "must be a list", f"give {path or 'it'} as a list")
            return MISSING
        (item,) = typing.get_args(hint)[:1] or (Any,)
        return tuple(_build(item, v, f"{path}[{i}]", check) for i, v in enumerate(value))
    if origin in (dict, typing.Mapping, _abc_mapping()):
        if not isinstance(value, dict):
            check.fail(path, value, "must be a mapping", f"give {path or 'it'} as a mapping")
            return MISSING
        val_hint = typing.get_args(hint)[1]
        return {k: _build(val_hint, v, f"{path}.{k}", check) for k, v in value.items()}
    if hint is str and isinstance(value, os.PathLike):  # a pathlib.Path where the schema says string
        return os.fspath(value)
    if hint in PLAIN_NAMES:
        if isinstance(value, bool) != (hint is bool) or not isinstance(value, hint):
            if not (hint is float and isinstance(value, int) and not isinstance(value, bool)):
                check.fail(path, value, f"must be {PLAIN_NAMES[hint]}", f"give {path} as {PLAIN_NAMES[hint]}")
        return value
    return value  # Any, resources, assets: taken as given


def _dataclass(cls: type, value: Any, path: str, check: ArgCheck) -> Any:
    if isinstance(value, cls):
        raw = {f.name: getattr(value, f.name) for f in dataclasses.fields(cls)}
    elif isinstance(value, dict):
        raw = value
    else:
        check.fail(path or "args", value, f"must be a {cls.__name__} or a mapping of its fields", "pass one")
        return MISSING
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    for key in raw:
        if key not in fields:
            check.fail(_join(path, key), raw[key], "is not an arg", f"remove it (args: {', '.join(fields)})")
    kwargs, complete = {}, True
    for fname, f in fields.items():
        if fname in raw:
            kwargs[fname] = _build(f.type, raw[fname], _join(path, fname), check)
            complete = complete and kwargs[fname] is not MISSING
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            check.fail(_join(path, fname), MISSING, "is required", f"give {_join(path, fname)}")
            complete = False
    if not complete:
        return MISSING
    return cls(**kwargs)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _is_input(hint: Any) -> bool:
    """``pulumi.Input[X]`` (a Union of X, Awaitable[X] and Output[X]) or ``pulumi.Output[X]``."""
    if typing.get_origin(hint) is pulumi.Output or hint is pulumi.Output:
        return True
    if typing.get_origin(hint) is typing.Union:  # pulumi.Input names Output as a forward reference
        return any(
            typing.get_origin(a) is pulumi.Output
            or (isinstance(a, typing.ForwardRef) and a.__forward_arg__.startswith("Output["))
            for a in typing.get_args(hint)
        )
    return False


def _abc_sequence():
    import collections.abc

    return collections.abc.Sequence


def _abc_mapping():
    import collections.abc

    return collections.abc.Mapping


def after(value: pulumi.Input[T], resources: Sequence[pulumi.Resource]) -> pulumi.Output[T]:
    """``value``, carrying a dependency on ``resources``: whatever takes it waits until they exist.

    An output carries its dependencies across component and language boundaries, where a list of resources
    cannot travel; the value itself is unchanged (and stays known in a preview)."""
    return pulumi.Output.all(value, *[r.urn for r in resources]).apply(lambda v: v[0])


def component_type(component: str) -> str:
    """The type token of a component: ``hyperpod-platform:index:<Class>``, as the package schema names it (the
    component provider hosts only the ``index`` module of the package it is named for)."""
    return f"{PROJECT}:index:{component}"


def renamed(opts: Optional[pulumi.ResourceOptions], component: str) -> pulumi.ResourceOptions:
    """``opts`` with an alias to the component's type before it was published (``hyperpod:platform:<Class>``):
    stacks deployed with that type keep every resource (children follow their parent's alias)."""
    alias = pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=f"hyperpod:platform:{component}")])
    return pulumi.ResourceOptions.merge(opts, alias)
