"""A seeded, type-aware config fuzzer: mutations of the four shipped stack files.

A mutation starts from one of :data:`STACK_FILES`, read as the preview reads it, and applies one to three
edits at random places of its tree (a top-level config key, a section, a nested key, a list entry). Each edit
has a *kind* (``retype``, ``number.nonfinite``, ``secret.pem`` ...; :data:`KINDS`), so a failure names the class of
mistake it belongs to, and :data:`KNOWN_OPEN` can leave out a class someone is still fixing, with the reason.

Secrets are injected as markers that must never be printed: ``HPSECRET-<n>`` under password-, token- and
key-like names, PEM private-key blocks whose body starts with such a marker, and AWS access key ids
(``AKIA`` + 16 characters), as values anywhere and as key names (a private key pasted as a tag key).

The edits draw their choices through a :class:`Chooser`: :func:`mutants` (a hypothesis strategy, which shrinks
to the smallest failing edit) and ``tools/fuzz_config.py`` (``random.Random(seed)``, one mutation per seed) share
the same code.

:func:`validate` runs a mutant through the config layer as the program reads it: the stack file reader
(``tools.harness.config_from_stack_file``), the Pulumi config as ``run_program`` sets it, ``stack_config``'s reader
and ``stack_config.parse``. :func:`preview` runs it through ``tools.preview.main`` in process.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math
import random
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import yaml
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
STACK_FILES = (
    ROOT / "Pulumi.dev.yaml",
    ROOT / "Pulumi.prod.yaml",
    ROOT / "Pulumi.eks-dev.yaml",
    ROOT / "tests" / "configs" / "existing-vpc.yaml",
)
PROJECT = "hyperpod-platform"

# Every kind of edit, with what it does.
KINDS: dict[str, str] = {
    "retype": "a value of another type: string, number, list, mapping, null or bool",
    "number.extreme": "0, negative, huge (beyond 64 bits) or a float where an int goes",
    "number.nonfinite": ".inf, -.inf or .nan",
    "string.empty": "the empty string",
    "string.huge": "a string of 5,000 to 20,000 characters",
    "string.unicode": "non-ASCII letters, emoji, right-to-left marks, Unicode whitespace and zero-width characters",
    "string.control": "control characters: NUL, escape sequences, newlines, tabs, DEL",
    "string.path": "wildcards and path tricks: *, ?, .., /, ../../etc",
    "list.duplicate": "a list entry given twice",
    "key.remove": "a key left out",
    "key.add": "an unknown key added, with a value of any type",
    "key.misspell": "a key misspelt (a letter dropped, doubled or swapped, or its case changed)",
    "key.move_up": "a key moved one level up (out of its section)",
    "key.move_down": "a key moved one level down (into a sibling mapping or a new one)",
    "secret.marker": "a marker string under a password-, token- or key-like name",
    "secret.pem": "a PEM private-key block as a value",
    "secret.akia": "an AWS access key id as a value",
    "secret.as_key": "a PEM block, an access key id or a marker used as a key name",
}

# Kinds left out of the property tests while someone fixes them: kind -> the reason (empty: none left out). Every
# kind is still run by `python -m tools.fuzz_config`, which reports the failures of these too.
KNOWN_OPEN: dict[str, str] = {}


def secret_name(key: str) -> bool:
    """Whether ``key`` (its last part) is one of :data:`SECRET_NAMES`, the names a marker may sit under."""
    return key.rpartition(":")[2].rpartition(".")[2] in SECRET_NAMES


SECRET_NAMES = (
    "password",
    "adminPassword",
    "bindPassword",
    "adminPasword",
    "adminPwd",
    "passwd",
    "token",
    "apiToken",
    "authToken",
    "secret",
    "clientSecret",
    "secretAccessKey",
    "aws_secret_access_key",
    "privateKey",
    "apiKey",
    "key",
)
PEM_KINDS = ("RSA PRIVATE KEY", "OPENSSH PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY")
UNICODE_STRINGS = (
    "ünïcødé",
    "名前",
    "クラスター",
    "\u202eevil",  # right-to-left override
    "a\u200bb",  # zero-width space
    "a\u00a0b",  # no-break space
    "alice\u2003laptop",  # em space
    "\U0001f680",
    "Ω≈ç√",
    "\ufeffbom",
)
CONTROL_STRINGS = ("\x00", "a\x00b", "\x1b[31mred\x1b[0m", "line\nbreak", "tab\tbed", "\r\n", "\x7f", "\x07bell")
PATH_STRINGS = ("*", "?", "..", "/", "../../etc", "a/*", "/*", "../", "./", "**", "a/../b", "//", "*/*", "~")
EXTREME_NUMBERS = (0, -1, -(2**31), 2**31, 2**63, 2**64 + 1, 10**30, 1.5, 0.5, -0.0, 1e300, 3.0)
NONFINITE = (math.inf, -math.inf, math.nan)


class Chooser:
    """The choices an edit makes: ``choice`` among a non-empty sequence, ``integer`` in [lo, hi]."""

    def choice(self, options: Sequence[Any]) -> Any:
        raise NotImplementedError

    def integer(self, lo: int, hi: int) -> int:
        raise NotImplementedError


class RandomChooser(Chooser):
    def __init__(self, seed: int):
        self.rng = random.Random(seed)

    def choice(self, options: Sequence[Any]) -> Any:
        return options[self.rng.randrange(len(options))]

    def integer(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)


class DrawChooser(Chooser):
    """Choices drawn by hypothesis (a failure shrinks towards the first option and the smallest integer)."""

    def __init__(self, draw: Callable[[Any], Any]):
        self.draw = draw

    def choice(self, options: Sequence[Any]) -> Any:
        return self.draw(st.sampled_from(list(options)))

    def integer(self, lo: int, hi: int) -> int:
        return self.draw(st.integers(lo, hi))


@dataclass
class Mutant:
    """A mutated stack config: ``config`` as ``config_from_stack_file`` returns it (``ns:key`` -> value)."""

    base: str
    config: dict[str, Any]
    steps: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    markers: set[str] = field(default_factory=set)

    def describe(self) -> str:
        return f"{self.base}: " + "; ".join(self.steps)

    def yaml_text(self) -> str:
        return yaml.safe_dump({"config": self.config}, allow_unicode=True, sort_keys=False, width=1_000_000)

    def leaks(self, *texts: str) -> list[str]:
        """The injected markers that appear in any of ``texts``."""
        return sorted(m for m in self.markers if any(m in t for t in texts))


_BASES: dict[str, dict[str, Any]] = {}


def base_configs() -> dict[str, dict[str, Any]]:
    """The shipped stack files, each as ``config_from_stack_file`` reads it (read once)."""
    if not _BASES:
        from tools.harness import config_from_stack_file

        for path in STACK_FILES:
            _BASES[str(path.relative_to(ROOT))] = config_from_stack_file(path)
    return _BASES


# --- the tree: paths into the config -------------------------------------------------------------------------


Path_ = tuple  # a path: the keys and indexes from the config's top


def _paths(tree: Any, prefix: Path_ = ()) -> list[Path_]:
    """Every path into ``tree`` (not the root itself), depth first."""
    out = []
    if isinstance(tree, dict):
        for k, v in tree.items():
            out.append(prefix + (k,))
            out += _paths(v, prefix + (k,))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            out.append(prefix + (i,))
            out += _paths(v, prefix + (i,))
    return out


def _containers(tree: Any, prefix: Path_ = ()) -> list[Path_]:
    """Every path to a mapping in ``tree``, the root included."""
    out = [prefix] if isinstance(tree, dict) else []
    if isinstance(tree, dict):
        for k, v in tree.items():
            out += _containers(v, prefix + (k,))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            out += _containers(v, prefix + (i,))
    return out


def _get(tree: Any, path: Path_) -> Any:
    for p in path:
        tree = tree[p]
    return tree


def _set(tree: Any, path: Path_, value: Any) -> None:
    _get(tree, path[:-1])[path[-1]] = value


def _show(path: Path_) -> str:
    return ".".join(str(p) for p in path) or "<top>"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# --- values ---------------------------------------------------------------------------------------------------


class _Markers:
    def __init__(self, c: Chooser, mutant: Mutant):
        self.c, self.mutant = c, mutant

    def marker(self) -> str:
        m = f"HPSECRET-{self.c.integer(0, 99_999)}"
        self.mutant.markers.add(m)
        return m

    def pem(self) -> str:
        kind = self.c.choice(PEM_KINDS)
        m = self.marker()
        body = f"{m}MIIEowIBAAKCAQEA{m}b3BlbnNzaC1rZXktdjE"
        return f"-----BEGIN {kind}-----\n{body}\n-----END {kind}-----\n"

    def akia(self) -> str:
        n = self.c.integer(0, 99_999_999)
        key = f"AKIAHPSECRET{n:08d}"  # AKIA + 16 upper-case letters and digits
        self.mutant.markers.add(key)
        return key


def _scalar(c: Chooser) -> Any:
    return c.choice(("text", "", 0, 1, -7, 2.5, True, False, None, "true", "1", "null"))


def _any_value(c: Chooser) -> Any:
    kind = c.choice(("scalar", "list", "mapping"))
    if kind == "scalar":
        return _scalar(c)
    if kind == "list":
        return [_scalar(c) for _ in range(c.integer(0, 3))]
    return {c.choice(("a", "name", "enabled", "x-y")): _scalar(c) for _ in range(c.integer(0, 2))}


def _retyped(c: Chooser, old: Any) -> Any:
    """A value whose type differs from ``old``'s."""
    candidates = [
        ("string", lambda: c.choice(("text", "", "10", "true", "null", "[1, 2]", "{a: 1}")) if old != "" else "x"),
        ("int", lambda: c.choice((0, 1, 42, -3))),
        ("float", lambda: c.choice((0.5, 1.0, -2.25))),
        ("list", lambda: c.choice(([], [old], [1, "two"], [None]))),
        ("mapping", lambda: c.choice(({}, {"value": old}, {"a": 1}))),
        ("null", lambda: None),
        ("bool", lambda: c.choice((True, False))),
    ]
    kind_of = {str: "string", int: "int", float: "float", list: "list", dict: "mapping", type(None): "null"}
    own = "bool" if isinstance(old, bool) else kind_of.get(type(old), "")
    if own in ("int", "float"):
        own_set = {"int", "float"}
    else:
        own_set = {own}
    name, make = c.choice([x for x in candidates if x[0] not in own_set])
    return make()


def _misspelt(c: Chooser, key: str) -> str:
    how = c.choice(("drop", "double", "swap", "case", "suffix"))
    if len(key) < 2 and how in ("drop", "swap"):
        how = "double"
    i = c.integer(0, len(key) - 1)
    if how == "drop":
        new = key[:i] + key[i + 1 :]
    elif how == "double":
        new = key[:i] + key[i] + key[i:]
    elif how == "swap":
        i = min(i, len(key) - 2)
        new = key[:i] + key[i + 1] + key[i] + key[i + 2 :]
    elif how == "case":
        new = key.swapcase() if key.swapcase() != key else key + "X"
    else:
        new = key + "s"
    return new if new != key else key + "_"


# --- edits ----------------------------------------------------------------------------------------------------


def _edit(c: Chooser, mutant: Mutant, kind: str) -> Optional[str]:
    """Apply one edit of ``kind`` to ``mutant.config``; returns its description, or None when it does not apply."""
    tree = mutant.config
    paths = _paths(tree)
    markers = _Markers(c, mutant)
    if (
        kind in ("retype", "number.extreme", "number.nonfinite")
        or kind.startswith("string.")
        or kind
        in (
            "secret.pem",
            "secret.akia",
        )
    ):
        path = c.choice(paths)
        old = _get(tree, path)
        if kind == "retype":
            new = _retyped(c, old)
        elif kind == "number.extreme":
            new = c.choice(EXTREME_NUMBERS)
        elif kind == "number.nonfinite":
            new = c.choice(NONFINITE)
        elif kind == "string.empty":
            new = ""
        elif kind == "string.huge":
            new = c.choice(("a", "x-", "\u00e9", "*")) * c.integer(5_000, 20_000)
        elif kind == "string.unicode":
            new = c.choice(UNICODE_STRINGS)
            if isinstance(old, str) and c.integer(0, 1):
                new = old + new
        elif kind == "string.control":
            new = c.choice(CONTROL_STRINGS)
            if isinstance(old, str) and c.integer(0, 1):
                new = old + new
        elif kind == "string.path":
            new = c.choice(PATH_STRINGS)
            if isinstance(old, str) and c.integer(0, 1):
                new = old + "/" + new
        elif kind == "secret.pem":
            new = markers.pem()
        else:
            new = markers.akia()
        if isinstance(old, list) and kind != "retype" and old and c.integer(0, 1):
            path = path + (c.integer(0, len(old) - 1),)  # into the list: a bad entry rather than a bad list
            old = _get(tree, path)
        _set(tree, path, new)
        return f"{_show(path)}: {_short(old)} -> {_short(new)}"
    if kind == "list.duplicate":
        lists = [p for p in paths if isinstance(_get(tree, p), list) and _get(tree, p)]
        if not lists:
            return None
        path = c.choice(lists)
        value = _get(tree, path)
        i = c.integer(0, len(value) - 1)
        value.insert(c.integer(0, len(value)), copy.deepcopy(value[i]))
        return f"{_show(path)}: entry {i} ({_short(value[i])}) given twice"
    keyed = [p for p in paths if isinstance(p[-1], str)]
    if kind == "key.remove":
        path = c.choice(keyed)
        del _get(tree, path[:-1])[path[-1]]
        return f"{_show(path)} removed"
    if kind in ("key.add", "secret.marker", "secret.as_key"):
        where = c.choice(_containers(tree))
        target = _get(tree, where)
        if kind == "key.add":
            key = c.choice(("extra", "enable", "name", "aws:profile", f"{PROJECT}:unknown", "x" * 300, "*", "../k"))
            if not where and ":" not in key:
                key = f"{PROJECT}:{key}"
            value = _any_value(c)
        elif kind == "secret.marker":
            key = c.choice(SECRET_NAMES)
            if not where:
                key = c.choice((f"{PROJECT}:{key}", f"{PROJECT}:directory", f"{PROJECT}:eks", f"{PROJECT}:dirctory"))
            secret = markers.marker()
            # a marker is a secret only by the name it sits under: under a name that is not credential-like (a
            # section such as `eks`) it goes one level down, under a credential-like name or in a kubeconfig
            shapes = ("plain", "nested", "list", "kubeconfig") if secret_name(key) else ("nested", "kubeconfig")
            shape = c.choice(shapes)
            if shape == "plain":
                value = secret
            elif shape == "nested":
                value = {c.choice(SECRET_NAMES): secret}
            elif shape == "list":
                value = ["first", secret]
            else:
                value = {"users": [{"name": "admin", "user": {"token": secret}}], "clusters": [{"name": "c"}]}
        else:
            key = c.choice((markers.pem, markers.akia))()  # a secret by its shape (a bare marker is not one)
            if not where:
                key = f"{PROJECT}:tags.{key}" if c.integer(0, 1) else f"{PROJECT}:{key}"
            value = c.choice(("value", 1, {"a": 1}))
        if not isinstance(target, dict):
            return None
        target[key] = value
        return f"{_show(where + (key,))} added: {_short(value)}"
    if kind == "key.misspell":
        path = c.choice(keyed)
        parent = _get(tree, path[:-1])
        key = path[-1]
        if path[:-1] == () and ":" in key:  # a top-level key: misspell the namespace or the key
            ns, _, rest = key.partition(":")
            new = f"{_misspelt(c, ns)}:{rest}" if c.integer(0, 1) else f"{ns}:{_misspelt(c, rest)}"
        else:
            new = _misspelt(c, key)
        items = [(new if k == key else k, v) for k, v in parent.items()]
        parent.clear()
        parent.update(items)
        return f"{_show(path)} misspelt as {new!r}"
    if kind == "key.move_up":
        deep = [p for p in keyed if len(p) >= 2 and isinstance(_get(tree, p[:-2]), dict)]
        if not deep:
            return None
        path = c.choice(deep)
        value = _get(tree, path[:-1]).pop(path[-1])
        grand = _get(tree, path[:-2])
        key = path[-1] if path[:-2] != () else f"{PROJECT}:{path[-1]}"
        grand[key] = value
        return f"{_show(path)} moved up to {_show(path[:-2] + (key,))}"
    if kind == "key.move_down":
        path = c.choice(keyed)
        parent = _get(tree, path[:-1])
        value = parent.pop(path[-1])
        siblings = [k for k, v in parent.items() if isinstance(v, dict)]
        key = path[-1].partition(":")[2] if path[:-1] == () and ":" in path[-1] else path[-1]
        if siblings and c.integer(0, 2):
            into = c.choice(siblings)
            parent[into][key] = value
        else:
            into = c.choice(("settings", "config", "spec"))
            if path[:-1] == ():
                into = f"{PROJECT}:{into}"
            parent[into] = {key: value}
        return f"{_show(path)} moved down into {_show(path[:-1] + (into, key))}"
    raise ValueError(f"unknown kind {kind!r}")


def mutate(c: Chooser, kinds: Sequence[str] = tuple(KINDS), max_edits: int = 3) -> Mutant:
    """A mutant of one of the stack files, with one to ``max_edits`` edits of ``kinds``."""
    bases = base_configs()
    base = c.choice(sorted(bases))
    mutant = Mutant(base, copy.deepcopy(bases[base]))
    for _ in range(c.integer(1, max_edits)):
        kind = c.choice(list(kinds))
        step = _edit(c, mutant, kind)
        if step is not None:
            mutant.steps.append(f"[{kind}] {step}")
            mutant.kinds.append(kind)
    if not mutant.steps:
        mutant.steps.append("(no edit applied)")
    return mutant


def open_kinds() -> tuple[str, ...]:
    """The kinds the property tests run: every kind but those in :data:`KNOWN_OPEN`."""
    return tuple(k for k in KINDS if k not in KNOWN_OPEN)


@st.composite
def mutants(draw, kinds: Optional[Sequence[str]] = None, max_edits: int = 3) -> Mutant:
    return mutate(DrawChooser(draw), kinds or open_kinds(), max_edits)


# --- running a mutant -----------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """``accepted``, ``config_error`` (ConfigError or StackFileError) or ``crash`` (anything else raised)."""

    status: str
    message: str = ""
    error: Optional[BaseException] = None


def write_stack_file(mutant: Mutant, directory: Path) -> Path:
    path = Path(directory) / "Pulumi.fuzz.yaml"
    path.write_text(mutant.yaml_text(), encoding="utf-8")
    return path


def validate(mutant: Mutant) -> Outcome:
    """The config layer on ``mutant``, as the program reads it: the stack file reader, the Pulumi config as
    ``tools.harness.run_program`` sets it (JSON text for structured values), ``stack_config``'s config reader
    and namespace checks, then ``stack_config.parse`` and the aws-native region check. No resources, no mocks: what needs AWS (existing subnets,
    route tables) is left to the preview."""
    import pulumi

    import stack_config
    from hyperpod_platform.errors import set_secret_config
    from tools.harness import StackFileError, config_from_stack_file

    with tempfile.TemporaryDirectory() as tmp:
        try:
            config = config_from_stack_file(write_stack_file(mutant, Path(tmp)))
        except StackFileError as exc:
            return Outcome("config_error", str(exc), exc)
        except Exception as exc:  # noqa: BLE001 - reported as a crash
            return Outcome("crash", f"{type(exc).__name__}: {exc}", exc)
    try:
        pulumi.runtime.set_all_config(
            {k: v if isinstance(v, str) else json.dumps(v, default=str) for k, v in config.items()}, secret_keys=[]
        )
        set_secret_config([])
        raw, problems = stack_config._read_config(sorted(config))
        problems += stack_config.namespace_problems(dict(config))
        region = pulumi.Config("aws").get("region")
        try:
            stack_config.parse(raw, region)
        except stack_config.ConfigError as err:
            problems += err.problems
        if not problems:
            problems += stack_config.native_region_problems(region, pulumi.Config("aws-native").get("region"))
        if problems:
            return Outcome("config_error", str(stack_config.ConfigError(problems)))
        return Outcome("accepted")
    except stack_config.ConfigError as exc:
        return Outcome("config_error", str(exc), exc)
    except Exception as exc:  # noqa: BLE001 - reported as a crash
        return Outcome("crash", f"{type(exc).__name__}: {exc}", exc)
    finally:
        pulumi.runtime.set_all_config({})


COMPONENT_REFUSAL_RE = re.compile(r"invalid (\w+) args \(")
"""How a component's own checks refuse its args (:class:`hyperpod_platform._args.ArgCheck`)."""


@dataclass
class PreviewOutcome:
    code: int
    stdout: str
    stderr: str
    seconds: float


def preview(mutant: Mutant, *extra: str) -> PreviewOutcome:
    """``tools.preview.main`` in process on ``mutant``'s stack file (``--quiet --no-policy`` unless ``extra``
    says otherwise), with its stdout and stderr."""
    from tools import preview as preview_tool

    out, err = io.StringIO(), io.StringIO()
    args = list(extra) or ["--quiet", "--no-policy"]
    with tempfile.TemporaryDirectory() as tmp:
        path = write_stack_file(mutant, Path(tmp))
        started = time.perf_counter()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = preview_tool.main(["--config-file", str(path), *args])
        seconds = time.perf_counter() - started
    return PreviewOutcome(code, out.getvalue(), err.getvalue(), seconds)
