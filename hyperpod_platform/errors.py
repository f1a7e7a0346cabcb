"""Errors that name the setting, the bad value (redacted when it may be a secret) and the fix.

The stack-config layer collects many ``Problem``s and raises one ``ConfigError``; a component checks its own
args and raises the same error naming the component and the arg, so a caller who builds components directly
gets the same kind of message as a stack config.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import pulumi

PROJECT = "hyperpod-platform"

MISSING: Any = object()
"""The value of a setting that was not given."""


@dataclass(frozen=True)
class Problem:
    """One invalid config value."""

    path: str
    value: Any
    why: str
    fix: str
    secret: bool = False
    """The value must not be shown (a Pulumi secret, or a key or value that looks like a credential)."""
    prefix: str = PROJECT
    """Config namespace of a bare path; empty for a component's arg (``Fsx.settings...``)."""

    def __str__(self) -> str:
        bare = ":" in self.path.split(".")[0] or not self.prefix
        key = self.path if bare else f"{self.prefix}:{self.path}"
        why, fix = self.why, self.fix
        if self.value is not MISSING and (self.secret or looks_secret(self.path, self.value)):
            # Suggestions derived from the value go too; names of settings (plain words) stay.
            why, fix = _scrub(why, self.value), re.sub(r"'(?![A-Za-z]{1,40}')[^']*'", "'...'", _scrub(fix, self.value))
        return f"{key} = {shown(self.path, self.value, self.secret)}: {why}. Fix: {fix}"


def _scrub(text: str, value: Any) -> str:
    """``text`` without any rendering of a secret ``value`` (as given, lowercased, or JSON-quoted)."""
    for part in value if isinstance(value, list) else [value]:
        for form in {str(part), str(part).lower(), json.dumps(part, default=str)}:
            if len(form) >= 4:
                text = text.replace(form, "<redacted>")
    return text


SECRET_KEY_RE = re.compile(
    r"pass(word|wd|phrase)?|secret|token|credential|private|api.?key|access.?key|auth", re.IGNORECASE
)
SECRET_VALUE_RE = re.compile(r"PRIVATE KEY|^v1:|AKIA[0-9A-Z]{16}|aws_secret_access_key", re.IGNORECASE)


def looks_secret(path: str, value: Any) -> bool:
    """A key named like a credential, or a value that holds one (a private key, an access key id)."""
    last = re.split(r"[.:\[]", path.rstrip("]"))[-1] if path else ""
    if SECRET_KEY_RE.search(last):
        return True
    return bool(SECRET_VALUE_RE.search(json.dumps(value, default=str)))


def shown(path: str, value: Any, secret: bool = False) -> str:
    """How a config value appears in an error: as given, or redacted when it might be a secret."""
    if value is MISSING:
        return "<missing>"
    if secret or looks_secret(path, value):
        size = len(value) if isinstance(value, (str, list, dict)) else None
        return f"<redacted {type(value).__name__}{f' of {size} characters' if isinstance(value, str) else ''}>"
    text = json.dumps(value, default=str)
    return text if len(text) <= 200 else text[:160] + f"... ({len(text)} characters)"


class ConfigError(pulumi.RunError):
    """Raised with every problem of a config (or of a component's args), before any resource is registered."""

    def __init__(self, problems: list[Problem], subject: str = "stack config"):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid {subject} ({len(problems)} problem(s)):\n{lines}")


def arg_error(component: str, arg: str, value: Any, why: str, fix: str) -> ConfigError:
    """A component's own check of one of its args failed."""
    return ConfigError([Problem(f"{component}.{arg}", value, why, fix, prefix="")], subject=f"{component} args")
