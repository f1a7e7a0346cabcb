"""``tags``: extra tags for every resource, by AWS's tag rules, with room for the stack's own tags."""

from __future__ import annotations

from typing import Any

from hyperpod_platform.checks import (  # noqa: F401 - TAG_PUNCTUATION: re-exported
    TAG_LIMIT,
    TAG_PUNCTUATION,
    tag_key_problem,
    tag_text_problem,
    tag_value_problem,
)
from hyperpod_platform.errors import CREDENTIAL_FIX, Problem, credential_problem

from ._reader import _kind_name, _Reader

STACK_TAGS = ("Project", "Cluster", "Name")  # set by the stack (Name on some resources)

# AWS's tag rules live in hyperpod_platform.checks (every component checks its own tags with them too).
_tag_text_problem = tag_text_problem
_tag_key_problem = tag_key_problem


def _tags(r: _Reader, raw: Any, path: str) -> tuple[tuple[str, str], ...]:
    """Extra tags for every resource: AWS's tag rules, and room for the stack's own tags."""
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        r.fail(path, raw, "must be a mapping of tag keys to values", f"give {path} as key: value pairs")
        return ()
    out = []
    for k, v in raw.items():
        key, p = str(k), f"{path}.{k}"
        if credential_problem(key) or isinstance(v, str) and credential_problem(v):
            # named by its key (redacted too when the key is the credential), never shown
            r.problems.append(Problem(p, v, credential_problem(key) or credential_problem(v), CREDENTIAL_FIX, True))
        elif _tag_key_problem(key):
            r.fail(p, v, _tag_key_problem(key), "rename the tag key")
        elif not isinstance(v, str):
            r.fail(p, v, f"must be a string, not {_kind_name(v)}", f'quote it: {key}: "{v}"')
        elif tag_value_problem(v):
            r.fail(p, v, tag_value_problem(v), "shorten or change the value")
        else:
            out.append((key, v))
    total = len(set(map(str, raw)) | set(STACK_TAGS))
    if total > TAG_LIMIT:
        r.fail(
            path,
            f"{len(raw)} tags",
            f"with the stack's own tags ({', '.join(STACK_TAGS)}) that makes {total}, "
            f"over AWS's {TAG_LIMIT} tags per resource",
            f"keep at most {TAG_LIMIT - len(STACK_TAGS)} extra tags",
        )
    return tuple(out)
