"""The shared reader: reads values from nested config and records problems instead of stopping at the first,
plus the small checks every section uses (``_enum``, ``_name``, ``_range``, ``_cidr``: the value checks of
``hyperpod_platform.checks``, which the components run on their own args too)."""

from __future__ import annotations

import difflib
import math
import re
import unicodedata
from typing import Any, Callable, Optional

from hyperpod_platform.checks import (  # noqa: F401 - NAME_RE: re-exported (aws_name reads the checks' own)
    NAME_RE,
    Check,
    aws_name,
    between,
    ipv4_cidr,
    ipv4_network,
    one_of,
)
from hyperpod_platform.errors import MISSING as _MISSING
from hyperpod_platform.errors import PROJECT, Problem

KIND_NAMES = {
    int: "an integer",
    bool: "a boolean (true or false)",
    str: "a string",
    list: "a list",
    dict: "a mapping",
    float: "a number",
    type(None): "empty",
}


def _kind_name(value: Any) -> str:
    return KIND_NAMES.get(type(value), type(value).__name__)


def _kind_hint(value: Any, kinds: tuple, full: str, names: str) -> str:
    """How to write ``value`` as one of ``kinds``: a quoted number or yes/no is named as such."""
    if isinstance(value, str) and int in kinds and re.fullmatch(r"-?\d+", value.strip()):
        return f"write {value.strip()} without quotes"
    if isinstance(value, str) and bool in kinds and value.lower() in ("yes", "no", "true", "false", "on", "off"):
        return f"write {'true' if value.lower() in ('yes', 'true', 'on') else 'false'} without quotes"
    return f"give {full} as {names}"


def non_finite(value: Any, at: str = "") -> Optional[tuple[str, float]]:
    """Where in ``value`` (``""`` itself, ``.key``, ``[i]``) the first infinite or NaN number sits, and that number;
    None when every number is finite. For values taken whole (``eks.helmValues``); :meth:`_Reader.get` refuses a
    non-finite number it reads, and sections read their nested values with it."""
    if isinstance(value, float):
        return None if math.isfinite(value) else (at, value)
    if isinstance(value, dict):
        items: Any = ((f".{k}", v) for k, v in value.items())
    elif isinstance(value, (list, tuple)):
        items = ((f"[{i}]", v) for i, v in enumerate(value))
    else:
        return None
    for sub, v in items:
        found = non_finite(v, at + sub)
        if found is not None:
            return found
    return None


def stray_control(value: str) -> Optional[tuple[str, str]]:
    """A one-line value with a control or format character (a line break a YAML ``|`` block adds, a tab, a NUL, a
    zero-width or direction mark) is refused: the patterns the checks use end in ``$``, which lets a final line
    break through, and AWS refuses such a name at deploy. Multi-line values (a PEM certificate) are left to their
    own check."""
    if "\n" in value.strip("\r\n"):
        return None
    for i, c in enumerate(value):
        if unicodedata.category(c) in ("Cc", "Cf"):
            name = unicodedata.name(c, "a control character")
            return (
                f"holds {name} (U+{ord(c):04X}) at character {i + 1}",
                "give it on one line as plain text (a YAML '|' block adds a line break: use a plain or quoted value)",
            )
    return None


class _Reader:
    """Reads values from nested config, recording problems instead of stopping at the first."""

    def __init__(self):
        self.problems: list[Problem] = []

    def fail(self, path: str, value: Any, why: str, fix: str) -> None:
        self.problems.append(Problem(path, value, why, fix))

    def unread(self, path: str, value: Any, why: str, fix: str) -> None:
        """A setting the program will not read (unknown, misspelt, or not for this orchestrator): its name and the
        fix are shown, its value never. That is where a password under a misspelt key (``adminPasword``), a
        token under a stray ``key`` or a whole section pasted in the wrong place lands, and the fix (remove or
        move it) does not need the value."""
        self.problems.append(Problem(path, value, why, fix, secret=True))

    def obj(self, raw: Any, path: str, known: tuple[str, ...], item: bool = False) -> dict:
        """A mapping of ``known`` keys; unknown keys are problems. A missing or empty section is ``{}``, but an
        empty list ``item`` (a stray ``-``) is a problem: dropping it would lose a group or a user silently."""
        if item and raw is None:
            self.fail(
                path, raw, "is an empty list entry", f"give {path} as a mapping of {', '.join(known)}, or remove it"
            )
            return {}
        if raw is _MISSING or raw is None:
            return {}
        if not isinstance(raw, dict):
            self.fail(path, raw, "must be a mapping", f"give {path} as a YAML mapping of {', '.join(known)}")
            return {}
        for key in raw:
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(known)}"
                self.unread(f"{path}.{key}", raw[key], "is not a known setting", f"remove it ({hint})")
        return raw

    def get(
        self,
        raw: dict,
        key: str,
        path: str,
        kind: type | tuple,
        default: Any = _MISSING,
        check: Optional[Check] = None,
    ) -> Any:
        value = raw.get(key, _MISSING)
        full = f"{path}.{key}" if path else key
        if value is _MISSING or value is None:
            if default is _MISSING:
                self.fail(full, _MISSING, "is required", f"set {PROJECT}:{full} in Pulumi.<stack>.yaml")
            return None if default is _MISSING else default
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, float) and not math.isfinite(value):  # .inf / .nan (YAML), Infinity / NaN (JSON)
            self.fail(full, value, "is not a finite number", f"give {full} as a finite number")
            return None if default is _MISSING else default
        if bool not in kinds and isinstance(value, bool) or not isinstance(value, kinds):
            names = " or ".join(KIND_NAMES.get(k, k.__name__) for k in kinds)
            self.fail(full, value, f"must be {names}, not {_kind_name(value)}", _kind_hint(value, kinds, full, names))
            return None if default is _MISSING else default
        stray = stray_control(value) if isinstance(value, str) else None
        if stray:
            self.fail(full, value, *stray)
            return None if default is _MISSING else default
        if check is not None:
            bad = check(value)
            if bad:
                self.fail(full, value, *bad)
                return None if default is _MISSING else default
        return value

    def str_list(
        self,
        raw: dict,
        key: str,
        path: str,
        default: Any = _MISSING,
        item: Optional[Callable[[str], Optional[tuple[str, str]]]] = None,
        same: Callable[[str], Any] = lambda v: v,
    ) -> list[str]:
        """A list of strings, each checked by ``item``; an entry given twice (by ``same``) is a problem."""
        values = self.get(raw, key, path, list, default)
        if values is None:
            return []
        out: list[str] = []
        seen: dict[Any, int] = {}
        for i, v in enumerate(values):
            p = f"{path}.{key}[{i}]"
            if not isinstance(v, str):
                self.fail(p, v, f"must be a string, not {_kind_name(v)}", f"quote {p}")
                continue
            if same(v) in seen:
                self.fail(p, v, f"repeats {path}.{key}[{seen[same(v)]}]", "list each entry once")
                continue
            seen[same(v)] = i
            bad = stray_control(v) or (item(v) if item else None)
            if bad:
                self.fail(p, v, *bad)
                continue
            out.append(v)
        return out


# The small checks every section uses, from their one home (hyperpod_platform.checks), by their old names.
_enum = one_of
_name = aws_name
_range = between
_network = ipv4_network
_cidr = ipv4_cidr
