"""``tags``: extra tags for every resource, by AWS's tag rules, with room for the stack's own tags."""

from __future__ import annotations

from typing import Any, Optional

from ._reader import _kind_name, _Reader

TAG_LIMIT = 50  # tags per resource, for every service the stack tags
STACK_TAGS = ("Project", "Cluster", "Name")  # set by the stack (Name on some resources)
TAG_PUNCTUATION = set("_.:/=+-@")
_ALLOWED = "letters, digits, spaces and _ . : / = + - @"


def _tag_text_problem(text: str) -> Optional[str]:
    """AWS tag keys and values: Unicode letters, digits, spaces and ``_ . : / = + - @``."""
    import unicodedata

    bad = sorted({c for c in text if c not in TAG_PUNCTUATION and unicodedata.category(c)[0] not in "LNZ"})
    return f"holds {', '.join(repr(c) for c in bad)}" if bad else None


def _tag_key_problem(key: str) -> Optional[str]:
    """Why ``key`` cannot be a tag key (bad characters, the reserved ``aws:`` prefix, length), or None."""
    if not 1 <= len(key) <= 128 or key.lower().startswith("aws:") or _tag_text_problem(key):
        return (
            _tag_text_problem(key)
            and f"the key {_tag_text_problem(key)}; tag keys may hold only {_ALLOWED}"
            or (
                "keys starting with 'aws:' are reserved for AWS"
                if key.lower().startswith("aws:")
                else "tag keys must be 1-128 characters"
            )
        )
    return None


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
        if _tag_key_problem(key):
            r.fail(p, v, _tag_key_problem(key), "rename the tag key")
        elif not isinstance(v, str):
            r.fail(p, v, f"must be a string, not {_kind_name(v)}", f'quote it: {key}: "{v}"')
        elif len(v) > 256 or _tag_text_problem(v):
            r.fail(
                p,
                v,
                f"the value {_tag_text_problem(v) or 'is longer than 256 characters'}; tag values hold at "
                f"most 256 of {_ALLOWED}",
                "shorten or change the value",
            )
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
