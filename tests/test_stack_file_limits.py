"""Stack files are read with limits and as the Pulumi CLI reads them (Go yaml.v3, YAML 1.2 core): an oversized
file, an alias bomb, a recursive alias, deep nesting, tags Pulumi config does not take, non-string keys, keys
given twice at any level and non-finite numbers are each refused with the file, the line and the key, and
`scripts/preview` exits 2 for them, never 4."""

from __future__ import annotations

import re
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ROOT
from tools.harness import (
    STACK_FILE_MAX_ALIASES,
    STACK_FILE_MAX_BYTES,
    STACK_FILE_MAX_DEPTH,
    STACK_FILE_MAX_NODES,
    StackFileError,
    config_from_stack_file,
)

DEV = (ROOT / "Pulumi.dev.yaml").read_text()


def _read(tmp_path, text: str, name: str = "Pulumi.t.yaml") -> dict:
    path = tmp_path / name
    path.write_text(text)
    return config_from_stack_file(path)


def _refusal(tmp_path, text: str, name: str = "Pulumi.t.yaml") -> list[str]:
    """The problems of a stack file the reader refuses, one line each."""
    with pytest.raises(StackFileError) as err:
        _read(tmp_path, text, name)
    lines = str(err.value).splitlines()
    assert lines and all(ln.startswith(f"{name}: ") for ln in lines), lines
    assert all(". Fix: " in ln for ln in lines), lines
    return lines


def _bomb(levels: int, width: int = 10) -> str:
    """A billion-laughs document: each level lists the one before ``width`` times (under 3 KB of text)."""
    lines = ["config:", f"  hp:l0: &l0 [{', '.join(['lol'] * width)}]"]
    for i in range(1, levels):
        lines.append(f"  hp:l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]")
    lines.append(f"  hyperpod-platform:tags: *l{levels - 1}")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_before_anything_expands_it(tmp_path):
    """10^12 values from 1.4 KB: measured on the composed graph (each alias counts its target once, memoised),
    so the reader answers instead of expanding; the message says what it counted and the fix."""
    text = _bomb(12)
    assert len(text) < 3000
    (line,) = _refusal(tmp_path, text)
    assert "with it the file expands to more than" in line and "write the values out" in line
    assert re.search(
        r"line \d+: the alias \*l\d+ stands for \d+ values, and with it the file expands to more than", line
    ), line


def test_more_values_or_alias_uses_than_the_limits_are_refused_naming_the_line(tmp_path):
    """Under the size limit, but more values than any stack file holds (composing them would take seconds), or
    more alias uses than the limit even of a one-value anchor."""
    rows = [f"    k{i}: [a, b, c, d, e, f, g, h, i, j]" for i in range(STACK_FILE_MAX_NODES // 10)]
    (line,) = _refusal(tmp_path, "config:\n  hyperpod-platform:tags:\n" + "\n".join(rows) + "\n")
    assert re.match(rf"Pulumi\.t\.yaml: line \d+: holds more than {STACK_FILE_MAX_NODES} values\.", line), line
    uses = "\n".join("    - *v" for _ in range(STACK_FILE_MAX_ALIASES + 1))
    (line,) = _refusal(tmp_path, f"config:\n  a:v: &v x\n  a:w:\n{uses}\n")
    assert f"line {STACK_FILE_MAX_ALIASES + 4}: uses aliases more than the {STACK_FILE_MAX_ALIASES} times" in line


def test_a_recursive_alias_is_refused_naming_its_line(tmp_path):
    (line,) = _refusal(tmp_path, "config:\n  hyperpod-platform:tags: &loop\n    k: [*loop]\n")
    assert "line 3:" in line and "recursive alias" in line and "*loop" in line


def test_nesting_deeper_than_the_limit_is_refused_before_composing(tmp_path):
    """Deep enough that composing (recursive, in PyYAML and libyaml alike) would near Python's recursion limit:
    refused from the parser's events first, with its line; a depth within the limit is read."""
    depth = 900
    text = "config:\n  hyperpod-platform:tags: " + "[" * depth + "]" * depth + "\n"
    (line,) = _refusal(tmp_path, text)
    assert f"more than {STACK_FILE_MAX_DEPTH} levels deep" in line and "line 2:" in line
    inside = STACK_FILE_MAX_DEPTH - 3  # the document, config and the key's mapping take three levels
    value = _read(tmp_path, "config:\n  a:b: " + "[" * inside + "1" + "]" * inside + "\n")["a:b"]
    for _ in range(inside - 1):
        value = value[0]
    assert value == [1]


def test_a_file_over_the_size_limit_is_refused_without_parsing_it(tmp_path):
    text = DEV + "#" * (STACK_FILE_MAX_BYTES + 1 - len(DEV.encode())) + "\n"
    (line,) = _refusal(tmp_path, text)
    assert "larger than" in line and "MiB" in line


@pytest.mark.parametrize(
    "value, tag",
    [
        ("!!binary aGVsbG8=", "!!binary"),
        ("!!set {a, b}", "!!set"),
        ("!!omap [a: 1, b: 2]", "!!omap"),
        ("!!timestamp 2024-01-01", "!!timestamp"),
        ("!!python/name:os.system", "!!python/name:os.system"),
        ("!vault secret-ref", "!vault"),
    ],
)
def test_a_yaml_tag_pulumi_config_does_not_take_is_refused_naming_key_and_line(tmp_path, value, tag):
    text = DEV.replace("    bastionKeyName: platform-admins", f"    bastionKeyName: {value}")
    line_no = text.splitlines().index(f"    bastionKeyName: {value}") + 1
    (line,) = _refusal(tmp_path, text, "Pulumi.dev.yaml")
    assert f"line {line_no}: key hyperpod-platform:access.bastionKeyName: has the YAML tag {tag}," in line


@pytest.mark.parametrize("key", ["1", "true", "null", "[a, b]", "{a: 1}", "1.5"])
def test_a_key_that_is_not_a_string_is_refused_naming_its_line(tmp_path, key):
    text = f"config:\n  hyperpod-platform:tags:\n    Team: ml\n    ? {key}\n    : x\n"
    (line,) = _refusal(tmp_path, text)
    assert line.startswith("Pulumi.t.yaml: line 4: key hyperpod-platform:tags: has a key that is"), line
    assert "not a string" in line and "quote the key" in line


@pytest.mark.parametrize("number", [".inf", "-.inf", "+.Inf", ".nan", ".NaN", "1e400", "-2e999"])
def test_a_non_finite_number_is_refused_naming_key_and_line(tmp_path, number):
    """.inf, .nan and numbers too large for a double (read as infinity) are not config values."""
    text = DEV.replace("    storageCapacityGiB: 1200", f"    storageCapacityGiB: {number}")
    assert text != DEV
    line_no = text.splitlines().index(f"    storageCapacityGiB: {number}") + 1
    (line,) = _refusal(tmp_path, text, "Pulumi.dev.yaml")
    assert f"line {line_no}: key hyperpod-platform:fsx.storageCapacityGiB: is {number}, which is not a finite" in line


def test_scalars_and_aliases_are_read_as_the_cli_reads_them(tmp_path):
    """YAML 1.2 core: yes/on, sexagesimal 1:20, '=' and dates are strings; 1e3 is a number. A modest use of
    aliases and merge keys (valid YAML the CLI takes) is read, each alias a copy."""
    aliases = "config:\n  a:b: &cidrs [10.0.0.0/24]\n  a:c: *cidrs\n  a:d: &m {x: 1}\n  a:e:\n    <<: *m\n    y: 2\n"
    assert _read(tmp_path, aliases) == {
        "a:b": ["10.0.0.0/24"],
        "a:c": ["10.0.0.0/24"],
        "a:d": {"x": 1},
        "a:e": {"x": 1, "y": 2},
    }
    text = 'config:\n  a:b: ".inf"\n  a:c: yes\n  a:d: 1:20\n  a:e: =\n  a:f: 2024-01-01\n  a:g: 1e3\n  a:h: 0x1F\n'
    assert _read(tmp_path, text) == {
        "a:b": ".inf",
        "a:c": "yes",
        "a:d": "1:20",
        "a:e": "=",
        "a:f": "2024-01-01",
        "a:g": 1000.0,
        "a:h": 31,
    }


def test_a_config_key_given_twice_is_refused_naming_both_lines(tmp_path):
    """A later `hyperpod-platform:vpn: null` would silently remove the VPN."""
    text = DEV + "  hyperpod-platform:vpn: null\n"
    first = DEV.splitlines().index("  hyperpod-platform:vpn:") + 1
    (line,) = _refusal(tmp_path, text, "Pulumi.dev.yaml")
    assert line == (
        f"Pulumi.dev.yaml: line {len(text.splitlines())}: key hyperpod-platform:vpn is given twice (first on line "
        f"{first}); the later one would silently replace the first. Fix: keep one of them"
    )


def _key_lines(text: str) -> list[tuple[int, str]]:
    """(index, line) of every line of ``text`` that starts a mapping key (at any level, list items included)."""
    return [(i, ln) for i, ln in enumerate(text.splitlines()) if re.match(r"^\s*(- )?[\w:.-]+:( |$)", ln)]


@settings(max_examples=40, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(_key_lines(DEV)))
def test_any_key_of_the_dev_stack_given_twice_is_refused_naming_both_lines(tmp_path, picked):
    """At every level (config keys, nested mappings, mappings in lists): the key's line written again right after
    its value is one problem naming the key, its line and the first line."""
    index, line = picked
    lines = DEV.splitlines()
    indent = len(re.match(r"^[ -]*", line).group())  # where the key starts, after any "- " of a list item
    end = index + 1  # past the key's value: the lines indented deeper than the key
    while end < len(lines) and (not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip()) > indent):
        end += 1
    key_only = " " * indent + line.strip()[2:] if line.strip().startswith("- ") else line
    if key_only.rstrip().endswith(":"):  # a section: repeat it empty
        key_only = key_only.rstrip() + " {}"
    text = "\n".join(lines[:end] + [key_only] + lines[end:]) + "\n"
    problems = _refusal(tmp_path, text, "Pulumi.dev.yaml")
    (dup,) = [p for p in problems if "given twice" in p]
    assert dup.startswith(f"Pulumi.dev.yaml: line {end + 1}: key ") and f"(first on line {index + 1})" in dup
    key = re.match(r"^\s*(- )?([\w:.-]+):", line).group(2)
    assert re.search(rf"key (\S+\.)?{re.escape(key)} is given twice", dup), dup


def test_a_key_that_looks_like_a_credential_is_not_echoed(tmp_path):
    """Keys are named in the messages, but not a pasted access key used as one."""
    secret = "AKIA" + "Q" * 16
    text = f"config:\n  hyperpod-platform:tags:\n    {secret}: a\n    {secret}: b\n"
    (line,) = _refusal(tmp_path, text)
    assert secret not in line and "given twice" in line and "not shown" in line


@pytest.mark.parametrize(
    "text, words",
    [
        (DEV + "  hyperpod-platform:vpn: null\n", "key hyperpod-platform:vpn is given twice"),
        (_bomb(12), "with it the file expands to more than"),
        ("config:\n  hyperpod-platform:tags: &t\n    k: [*t]\n", "recursive alias"),
        (DEV.replace("    bastionKeyName: platform-admins", "    bastionKeyName: !!binary aGk="), "!!binary"),
        (
            DEV.replace("    storageCapacityGiB: 1200", "    storageCapacityGiB: .nan"),
            "fsx.storageCapacityGiB: is .nan",
        ),
    ],
    ids=["duplicate key", "alias bomb", "recursive alias", "binary tag", "nan"],
)
def test_preview_exits_2_for_a_stack_file_it_refuses_naming_file_line_and_fix(tmp_path, text, words):
    path = tmp_path / "Pulumi.fuzz.yaml"
    path.write_text(text)
    proc = subprocess.run(
        [str(ROOT / "scripts" / "preview"), "--config-file", str(path), "--no-policy"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2, proc.stderr
    (line,) = [ln for ln in proc.stderr.splitlines() if words in ln]
    assert re.match(r"^Pulumi\.fuzz\.yaml: line \d+: .*\. Fix: ", line), line
    assert "Traceback" not in proc.stderr
