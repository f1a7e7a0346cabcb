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
        key = _scrub_path(self.path if bare else f"{self.prefix}:{self.path}")
        why, fix = self.why, self.fix
        if self.value is not MISSING and (self.secret or looks_secret(self.path, self.value)):
            # Suggestions derived from the value go too; names of settings (plain words) stay.
            why, fix = _scrub(why, self.value), re.sub(r"'(?![A-Za-z]{1,40}')[^']*'", "'...'", _scrub(fix, self.value))
        # A credential pasted as a key appears in the path and in "did you mean" fixes: never shown either.
        return f"{key} = {shown(self.path, self.value, self.secret)}: {scrub_text(why)}. Fix: {scrub_text(fix)}"


def credential_problem(text: str) -> str | None:
    """Why a text that is copied onto resources (a tag key or value) may not be a credential, or None."""
    if isinstance(text, str) and value_looks_secret(text):
        return (
            "looks like a credential (a private key, a token, an AWS access key id or secret access key); tags are "
            "copied onto every resource and readable by anyone who may list them"
        )
    return None


CREDENTIAL_FIX = "remove it, and rotate the credential: it may already have been exposed"


def _scrub_path(path: str) -> str:
    """``path`` with every key that is a credential, or a value of secret config, replaced by ``<redacted>``."""
    return scrub_text(path)


def _scrub(text: str, value: Any) -> str:
    """``text`` without any rendering of a secret ``value`` (as given, lowercased, or JSON-quoted)."""
    for part in value if isinstance(value, list) else [value]:
        for form in {str(part), str(part).lower(), json.dumps(part, default=str)}:
            if len(form) >= 4:
                text = text.replace(form, "<redacted>")
    return text


# ---------------------------------------------------------------------------------------- what looks secret
SECRET_KEY_RE = re.compile(
    r"pass(word|wd|phrase)?|secret|token|credential|private|api.?key|access.?key|auth", re.IGNORECASE
)
"""A setting named like a credential (the last part of a path): its value is never shown."""
SECRET_VALUE_RE = re.compile(r"PRIVATE KEY|^v1:|AKIA[0-9A-Z]{16}|aws_secret_access_key", re.IGNORECASE)
"""Values holding these are secret (any case); :data:`SECRET_SHAPES` adds the shapes, and is what messages are
scrubbed of."""

_B64 = r"A-Za-z0-9/+"
SECRET_SHAPES: tuple[re.Pattern, ...] = (
    # a PEM private key (RSA, EC, PKCS#8, encrypted, OpenSSH, PGP), from its BEGIN line to its END line or the end
    re.compile(
        r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----|\Z)"
    ),
    # a mangled or partial PEM header (PEM headers are upper case): the word holding it, matched from the word's
    # start only (`\S*` tried at every position of a long word would be quadratic in its length)
    re.compile(r"(?<!\S)\S*PRIVATE KEY\S*"),
    re.compile(r"b3BlbnNzaC1rZXktdjE[A-Za-z0-9+/=]*"),  # "openssh-key-v1" in base64: an OpenSSH private key's body
    re.compile(r"eyJ[\w-]{4,}\.eyJ[\w-]{4,}\.[\w-]*"),  # a JWT (header.payload.signature)
    re.compile(r"k8s-aws-v1\.[\w.-]*"),  # an EKS bearer token (aws eks get-token)
    re.compile(r"\bbearer\s+[\w.~+/=-]{8,}", re.IGNORECASE),
    re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_\w{20,})"),  # GitHub tokens
    re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),  # an AWS access key id
    re.compile(r"aws_secret_access_key\S*(?:\s*=\s*\S+)?", re.IGNORECASE),  # a credentials file
    re.compile(r"^v1:\S+"),  # a Pulumi-encrypted (`secure:`) value
    re.compile(r"client-(?:key|certificate)-data\S*(?:\s*:\s*\S+)?"),  # a kubeconfig's client credentials
)
"""Text that is a credential, wherever it sits (a value, a mapping key, a path, a message)."""
AWS_SECRET_KEY_RE = re.compile(
    rf"(?<![{_B64}=])(?=[{_B64}]*[A-Z])(?=[{_B64}]*[a-z])(?=[{_B64}]*[0-9/+])[{_B64}]{{40}}(?![{_B64}=])"
)
"""An AWS secret access key: 40 base64 characters. Alone it is only judged as a whole value (a 40-character
path is not one); inside longer text, only next to an access key id."""
_KUBECONFIG_TEXT = (re.compile(r"""\busers["']?\s*:"""), re.compile(r"""\b(?:clusters|contexts|user)["']?\s*:"""))
_TEXT_KEY_RE = re.compile(r"""([A-Za-z][\w-]{1,40})["']?\s*[:=]\s*["']?[^\s"',}]""")
_PASSWORD_WORDS = ("password", "passwd", "passphrase", "pass", "pwd", "pw", "pword", "passw")
_SECRET_WORDS = ("token", "secretkey", "secretaccesskey", "privatekey", "apikey", "clientkeydata", "credentials")
"""Words of a mapping key inside a value that make the value a credential (``bindPassword``, ``token``)."""
_ACCESS_KEY_ID = SECRET_SHAPES[7]


def _words(key: str) -> list[str]:
    """``adminPasword`` -> admin, pasword; ``client-key-data`` -> client, key, data."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", key)
    return [w.lower() for w in re.split(r"[^A-Za-z0-9]+", spaced) if w]


def password_like(key: str) -> bool:
    """A key naming a password, also misspelt or abbreviated: ``adminPasword``, ``adminPwd``, ``bindPass``."""
    import difflib

    for word in _words(key):
        if word in _PASSWORD_WORDS or word.startswith("pass") and len(word) > 4 and word[4] in "wp":
            return True
        if len(word) >= 5 and difflib.SequenceMatcher(None, word, "password").ratio() >= 0.8:
            return True
    return False


def secret_key_name(key: str) -> bool:
    """A mapping key inside a value that names a credential (a password, a token, a private or secret key)."""
    joined = "".join(_words(key))
    return password_like(key) or any(w in joined for w in _SECRET_WORDS)


def secret_text(text: str, keys_in_text: bool = True) -> bool:
    """``text`` holds a credential by its shape (private key, token, access key, kubeconfig...); with
    ``keys_in_text``, also YAML or JSON text giving a key named like one (``bindPassword: x``): a config value
    is judged so, not a script in a plan (``TOKEN=$(curl ...)``)."""
    if SECRET_VALUE_RE.search(text) or any(shape.search(text) for shape in SECRET_SHAPES):
        return True
    if AWS_SECRET_KEY_RE.fullmatch(text.strip()):
        return True
    if keys_in_text and any(secret_key_name(m.group(1)) for m in _TEXT_KEY_RE.finditer(text)):
        return True  # YAML or JSON text with a password or token in it
    return all(k.search(text) for k in _KUBECONFIG_TEXT)


def value_looks_secret(value: Any, keys_in_text: bool = True) -> bool:
    """A value holding a credential anywhere: a text of a secret shape, a mapping key of one or named like one
    (``bindPassword``), a kubeconfig mapping (``users``), or a 40-character key next to an access key id."""
    texts: list[str] = []

    def walk(v: Any, depth: int = 0) -> bool:
        if depth > 50:
            return True  # deeper than any config: not shown
        if isinstance(v, str):
            texts.append(v)
            return secret_text(v, keys_in_text)
        if isinstance(v, dict):
            if "users" in v and ("clusters" in v or "contexts" in v or isinstance(v.get("users"), list)):
                return True  # a kubeconfig
            for k, item in v.items():
                key = str(k)
                texts.append(key)
                if secret_text(key, keys_in_text) or secret_key_name(key) and item not in (None, "", {}, []):
                    return True
                if walk(item, depth + 1):
                    return True
            return False
        if isinstance(v, (list, tuple, set, frozenset)):
            return any(walk(item, depth + 1) for item in v)
        return False

    if walk(value):
        return True
    joined = " ".join(texts)  # an access key id and its secret in two places of one value
    return bool(_ACCESS_KEY_ID.search(joined) and AWS_SECRET_KEY_RE.search(joined))


def looks_secret(path: str, value: Any) -> bool:
    """A key named like a credential, or a value that holds one (see :func:`value_looks_secret`)."""
    last = re.split(r"[.:\[]", path.rstrip("]"))[-1] if path else ""
    if SECRET_KEY_RE.search(last) or password_like(last):
        return True
    return value_looks_secret(value) or came_from_secret(value)


def scrub_text(text: str) -> str:
    """``text`` with every credential-shaped part, and every value of secret config, replaced by ``<redacted>``."""
    if _ACCESS_KEY_ID.search(text) or AWS_SECRET_KEY_RE.fullmatch(text.strip()):
        text = AWS_SECRET_KEY_RE.sub("<redacted>", text)
    for shape in SECRET_SHAPES:
        text = shape.sub("<redacted>", text)
    found = [k.search(text) for k in _KUBECONFIG_TEXT]
    if all(found):  # a kubeconfig: from its first section on (what comes before names where it sits)
        text = text[: min(m.start() for m in found if m)] + "<redacted>"
    for secret in sorted(_SECRET_STRINGS, key=len, reverse=True):
        if len(secret) >= EMBED_MIN:
            text = text.replace(secret, "<redacted>")
        else:  # a short value only as a whole word: "dev" must not eat "device"
            text = re.sub(rf"(?<![\w-]){re.escape(secret)}(?![\w-])", "<redacted>", text)
    return text


# --------------------------------------------------------------------------- values of secret config keys
EMBED_MIN = 6
"""A value of secret config this long or longer counts inside other text too (``ext-<id>``, a JSON policy);
a shorter one only as a whole value (or a whole word in a message): ``dev`` would match half of any plan."""
_SECRET_STRINGS: frozenset[str] = frozenset()


def set_secret_config(values: Any) -> frozenset[str]:
    """Record the values of the config keys set with ``--secret`` (their text leaves; mapping keys are names and
    stay visible, as names of resources do). Errors then redact anything that holds one, and the stack's
    wiring marks every resource input and output holding one as a Pulumi secret. Returns the recorded texts."""
    global _SECRET_STRINGS
    found: set[str] = set()

    def walk(v: Any) -> None:
        if isinstance(v, str):
            if v.strip():
                found.add(v)
        elif isinstance(v, dict):
            for item in v.values():
                walk(item)
        elif isinstance(v, (list, tuple)):
            for item in v:
                walk(item)

    walk(values)
    _SECRET_STRINGS = frozenset(found)
    return _SECRET_STRINGS


def secret_config_strings() -> frozenset[str]:
    """The texts recorded by :func:`set_secret_config`."""
    return _SECRET_STRINGS


def holds_any(value: Any, secrets: frozenset[str] | set[str]) -> bool:
    """``value`` (text, mapping keys and values, lists, an args object's fields) holds one of ``secrets``: equal
    to one, or containing one of at least :data:`EMBED_MIN` characters."""
    if not secrets:
        return False
    long = [s for s in secrets if len(s) >= EMBED_MIN]
    seen: set[int] = set()

    def walk(v: Any, depth: int) -> bool:
        if depth > 64:
            return False
        if isinstance(v, str):
            return v in secrets or any(s in v for s in long)
        if isinstance(v, bytes):
            return walk(v.decode("utf-8", "replace"), depth)
        if isinstance(v, (int, float, bool)) or v is None or id(v) in seen:
            return False
        seen.add(id(v))
        if isinstance(v, dict):
            return any(walk(k, depth + 1) or walk(item, depth + 1) for k, item in v.items())
        if isinstance(v, (list, tuple, set, frozenset)):
            return any(walk(item, depth + 1) for item in v)
        if hasattr(v, "__dataclass_fields__"):
            return any(walk(getattr(v, f), depth + 1) for f in v.__dataclass_fields__)
        return False

    return walk(value, 0)


def came_from_secret(value: Any) -> bool:
    """``value`` holds a value of a config key set with ``--secret`` (:func:`set_secret_config`)."""
    return holds_any(value, _SECRET_STRINGS)


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
