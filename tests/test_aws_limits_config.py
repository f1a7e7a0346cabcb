"""Values AWS (or OpenSSH) would refuse are refused by the config, each as one problem naming the key: numbers
that are not finite anywhere, more Kubernetes labels or taints than SageMaker takes, empty label values and keys
or values outside SageMaker's patterns, over-long or control-laden email addresses and names, EC2 key pair names
that are not printable ASCII, SSH public keys with characters OpenSSH does not read. The limits are SageMaker's,
the Directory Service Data API's and EC2's as botocore's models state them (tests compare)."""

from __future__ import annotations

import copy
import gzip
import json
import math
import re
import unicodedata
from pathlib import Path
from typing import Any, Callable

import botocore
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import stack_config
from hyperpod_platform.checks import ssh_key_characters
from stack_config import ConfigError
from stack_config.access import KEY_NAME_MAX
from stack_config.cluster import MAX_LABELS, MAX_TAINTS, _label_key, _label_value
from stack_config.directory_users import EMAIL_MAX
from tests.conftest import ROOT, P
from tools.harness import config_from_stack_file, run_program

STACKS = {name: config_from_stack_file(ROOT / f"Pulumi.{name}.yaml") for name in ("dev", "eks-dev")}
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHcNtHPqFcSXq+7fcpbVaM6SJE6eCAB7dKPkM8XHs7lN alice@laptop"


def _raw(stack: str) -> dict[str, Any]:
    return {k.split(":", 1)[1]: v for k, v in copy.deepcopy(STACKS[stack]).items() if k.startswith(P)}


def _problems(stack: str, change: Callable[[dict], Any]) -> list:
    raw = _raw(stack)
    change(raw)
    try:
        stack_config.parse(raw, "us-east-1")
    except ConfigError as err:
        return err.problems
    return []


def _one(stack: str, change: Callable[[dict], Any], path: str, words: str) -> None:
    """The change is exactly one problem, at ``path``, whose reason has ``words``."""
    problems = _problems(stack, change)
    assert [p.path for p in problems] == [path], [str(p) for p in problems]
    assert words in problems[0].why, str(problems[0])


def _model(service: str) -> dict:
    """botocore's newest service model of ``service``."""
    root = Path(botocore.__file__).parent / "data" / service
    path = sorted(root.glob("*/service-2.json*"))[-1]
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as f:
        return json.load(f)["shapes"]


# ------------------------------------------------------------------------------------------ non-finite numbers
def _numbers(value: Any, path: str = "") -> list[str]:
    """The path (as stack_config names it) of every number in a config value."""
    if isinstance(value, bool):
        return []
    if isinstance(value, (int, float)):
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _numbers(v, f"{path}.{k}" if path else k)]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _numbers(v, f"{path}[{i}]")]
    return []


def _set_at(raw: dict, path: str, value: Any) -> None:
    parts = re.findall(r"[^.\[\]]+|\[\d+\]", path)
    node: Any = raw
    for part in parts[:-1]:
        node = node[int(part[1:-1])] if part.startswith("[") else node[part]
    last = parts[-1]
    if last.startswith("["):
        node[int(last[1:-1])] = value
    else:
        node[last] = value


NUMBERS = [(stack, p) for stack in STACKS for p in _numbers(_raw(stack))] + [
    ("eks-dev", "eks.helmValues.replicaCount"),  # inside helm values (a key of the chart), at any depth
    ("eks-dev", "eks.helmValues.mlflow.resources.cpu"),
]


@settings(max_examples=40, derandomize=True, deadline=None)
@given(st.sampled_from(NUMBERS), st.sampled_from([math.inf, -math.inf, math.nan]))
def test_a_non_finite_number_anywhere_is_one_problem_naming_its_key(where, number):
    """Every number of the shipped stacks (and values inside eks.helmValues), set to inf, -inf or nan (as JSON
    config's Infinity/NaN arrive), is one problem at that key: "is not a finite number". Whatever else follows is
    what any bad value there brings (a group with a bad count is dropped, so a team quota naming its type is
    judged against the groups left), never a crash or a problem elsewhere of its own."""
    stack, path = where

    def change(value):
        def apply(raw):
            if path.startswith("eks.helmValues.mlflow.resources"):
                raw["eks"]["helmValues"]["mlflow"].update({"resources": {}})
            _set_at(raw, path, value)

        return apply

    problems = _problems(stack, change(number))
    mine = [p for p in problems if p.path == path]
    assert len(mine) == 1 and mine[0].why == "is not a finite number", [str(p) for p in problems]
    assert "Infinity" not in mine[0].fix and "NaN" not in mine[0].fix
    as_text = {p.path for p in _problems(stack, change("not a number"))}
    assert {p.path for p in problems if p is not mine[0]} <= as_text, [str(p) for p in problems]


@pytest.mark.parametrize("key, value", [("vCpu", math.inf), ("memoryGiB", math.nan)])
def test_a_non_finite_team_quota_stops_the_program_with_a_config_error_not_a_crash(key, value):
    """The issue's case end to end: under the mocks the program ends with a ConfigError naming the key, before any
    resource (scripts/preview: exit 2, not 4)."""
    config = copy.deepcopy(STACKS["eks-dev"])
    vision = next(t for t in config[P + "teams"] if t["name"] == "vision")
    vision["quota"][1] = {"instanceType": "ml.m5.2xlarge", key: value}
    result = run_program(ROOT / "__main__.py", config, preview=True, stack="eks-dev")
    assert isinstance(result.error, ConfigError) and not result.registrations, result.error
    (problem,) = result.error.problems
    assert problem.path == f"teams[1].quota[1].{key}" and problem.why == "is not a finite number"


def _strings(value: Any, path: str = "") -> list[str]:
    """The path of every string in a config value."""
    if isinstance(value, str):
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _strings(v, f"{path}.{k}" if path else k)]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _strings(v, f"{path}[{i}]")]
    return []


def _get_at(raw: dict, path: str) -> Any:
    node: Any = raw
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        node = node[int(part[1:-1])] if part.startswith("[") else node[part]
    return node


STRINGS = [(stack, p) for stack in STACKS for p in _strings(_raw(stack))]


@settings(max_examples=60, derandomize=True, deadline=None)
@given(st.sampled_from(STRINGS), st.sampled_from(["\n", "\r\n", "\t", "\x00", "\u200b", "\u200e", "\x1b[0m"]))
def test_a_one_line_value_with_a_control_character_is_one_problem_naming_its_key(where, stray):
    """Every string of the shipped stacks with a trailing line break (a YAML '|' block adds one), a tab, a NUL, a
    zero-width space or a direction mark is refused at that key: the checks' patterns end in '$', which lets a
    final line break through, and AWS would refuse the name at deploy. Whatever else follows is what any bad
    value there brings (a number instead of the string gives the same), never a problem of its own."""
    stack, path = where
    problems = _problems(stack, lambda raw: _set_at(raw, path, _get_at(raw, path) + stray))
    as_number = [p.path for p in _problems(stack, lambda raw: _set_at(raw, path, 12345))]
    paths = [p.path for p in problems]
    assert 1 <= paths.count(path) <= max(1, as_number.count(path)), [str(p) for p in problems]
    assert all(paths.count(x) <= as_number.count(x) for x in paths if x != path), [str(p) for p in problems]


# ------------------------------------------------------------------------------ Kubernetes labels and taints
def _group(raw: dict, i: int = 0) -> dict:
    return raw["cluster"]["instanceGroups"][i]


def test_label_and_taint_limits_are_sagemakers():
    """The limits are the SageMaker API's (botocore's model; the CloudFormation schema gives none for labels)."""
    shapes = _model("sagemaker")
    assert shapes["ClusterKubernetesLabels"]["max"] == MAX_LABELS == 50
    assert shapes["ClusterKubernetesTaints"]["max"] == MAX_TAINTS == 50
    assert shapes["ClusterKubernetesLabelValue"]["min"] == 1 and _label_value("") is not None
    assert shapes["ClusterKubernetesTaintValue"]["min"] == 1


def test_more_labels_than_sagemaker_takes_is_one_problem_and_its_limit_is_accepted():
    _one(
        "eks-dev",
        lambda raw: _group(raw)["labels"].update({f"l{i}": "x" for i in range(MAX_LABELS)}),
        "cluster.instanceGroups[0].labels",
        f"at most {MAX_LABELS} Kubernetes labels",
    )
    assert _problems("eks-dev", lambda raw: _group(raw)["labels"].update({f"l{i}": "x" for i in range(49)})) == []


def test_more_taints_than_sagemaker_takes_is_one_problem():
    taints = [{"key": f"t{i}", "effect": "NoSchedule"} for i in range(MAX_TAINTS + 1)]
    _one(
        "eks-dev",
        lambda raw: _group(raw, 1).update(taints=taints),
        "cluster.instanceGroups[1].taints",
        f"at most {MAX_TAINTS} Kubernetes taints",
    )


def test_an_empty_label_or_taint_value_is_one_problem():
    _one("eks-dev", lambda raw: _group(raw)["labels"].update(workload=""), "cluster.instanceGroups[0].labels.workload",
         "is empty")  # fmt: skip
    _one(
        "eks-dev",
        lambda raw: _group(raw, 1)["taints"][0].update(value=""),
        "cluster.instanceGroups[1].taints[0].value",
        "is empty",
    )


_SAGEMAKER = _model("sagemaker")


def _fits(shape: str, v: str) -> bool:
    s = _SAGEMAKER[shape]
    return s["min"] <= len(v) <= s["max"] and re.fullmatch(s["pattern"], v) is not None


LABEL_TEXT = st.text(st.sampled_from("aZ09-_./é: \n"), max_size=70) | st.sampled_from(["", "a" * 64, "a/" + "b" * 63])


@settings(max_examples=300, derandomize=True)
@given(LABEL_TEXT)
def test_a_label_value_the_config_accepts_is_one_sagemaker_accepts(v):
    if _label_value(v) is None:
        assert _fits("ClusterKubernetesLabelValue", v), v


@settings(max_examples=300, derandomize=True)
@given(LABEL_TEXT | st.builds(lambda p, n: f"{p}/{n}", st.sampled_from(["a" * 253, "a" * 254, "x.y"]), LABEL_TEXT))
def test_a_label_key_the_config_accepts_is_one_sagemaker_accepts(v):
    if _label_key(v) is None:
        assert _fits("ClusterKubernetesLabelKey", v), v


# ----------------------------------------------------------------------------------------- directory users
def _alice(raw: dict) -> dict:
    return raw["directory"]["users"][0]


def test_email_limits_are_rfc_5321s_within_the_data_api():
    assert _model("ds-data")["EmailAddress"]["max"] >= EMAIL_MAX == 254


@pytest.mark.parametrize(
    "address, words",
    [
        ("a" * 10_000 + "@example.com", "at most 254"),
        ("a" * 65 + "@example.com", "local part of 65"),
        ("alice@" + "d" * 64 + ".com", "longer than 63"),
        ("alice\x00@example.com", "U+0000"),
        ("alice@example.com\n", "U+000A"),
    ],
    ids=["10k characters", "long local part", "long domain label", "NUL", "line break"],
)
def test_an_email_aws_or_rfc_5321_would_refuse_is_one_problem(address, words):
    _one("dev", lambda raw: _alice(raw).update(email=address), "directory.users[0].email", words)


def test_an_email_of_254_characters_is_accepted():
    address = "a" * 64 + "@" + ".".join(["d" * 63, "d" * 63, "d" * 57]) + ".com"
    assert len(address) == 254
    assert _problems("dev", lambda raw: _alice(raw).update(email=address)) == []


@pytest.mark.parametrize("key", ["givenName", "surname"])
def test_a_name_with_a_control_character_is_one_problem(key):
    _one("dev", lambda raw: _alice(raw).update({key: "Al\x1bice"}), f"directory.users[0].{key}", "U+001B")


# SSH keys: every character OpenSSH does not read in a key line, anywhere in it
BAD_CHARACTERS = [chr(c) for c in range(0x20) if chr(c) not in "\t"] + [
    "\x7f",
    "\x85",
    "\u00a0",
    "\u1680",
    "\u2002",
    "\u2007",
    "\u200b",
    "\u200e",
    "\u2028",
    "\u2029",
    "\u202f",
    "\u3000",
    "\ufeff",
]


@settings(max_examples=80, derandomize=True, deadline=None)
@given(st.sampled_from(BAD_CHARACTERS), st.integers(0, len(KEY)))
def test_an_ssh_key_with_a_character_openssh_does_not_read_is_one_problem(c, at):
    """Inserted anywhere, or replacing the space between type and key data (Python's split() takes a no-break
    space for a separator, sshd does not): one problem at that key, naming the character."""
    line = KEY[:at] + c + KEY[at:]
    if at == len("ssh-ed25519"):
        line = KEY[:at] + c + KEY[at + 1 :]
    _one(
        "dev",
        lambda raw: _alice(raw).update(sshPublicKeys=[line]),
        "directory.users[0].sshPublicKeys[0]",
        f"U+{ord(c):04X}",
    )
    assert unicodedata.category(c)[0] in "CZ"


def test_an_ssh_key_comment_in_unicode_letters_is_read_as_openssh_reads_it():
    assert ssh_key_characters(KEY.replace("alice@laptop", "Zoë Łukasz")) is None
    assert _problems("dev", lambda raw: _alice(raw).update(sshPublicKeys=[KEY + " Zoë"])) == []
    assert ssh_key_characters(KEY.replace("AAAAC3", "AAAAÇ3")) is not None  # the key data is ASCII


# ------------------------------------------------------------------------------------------------- bastion
def test_key_pair_name_limit_is_ec2s():
    doc = _model("ec2")["CreateKeyPairRequest"]["members"]["KeyName"]["documentation"]
    assert f"Up to {KEY_NAME_MAX} ASCII characters" in doc


@pytest.mark.parametrize(
    "name, words",
    [
        ("ops\x07bastion", "U+0007"),
        ("ops\nbastion", "U+000A"),
        ("opsé", "U+00E9"),
        (" ops", "starts or ends with a space"),
        ("k" * (KEY_NAME_MAX + 1), f"1-{KEY_NAME_MAX}"),
        ("", f"1-{KEY_NAME_MAX}"),
    ],
    ids=["bell", "line break", "non-ASCII", "leading space", "too long", "empty"],
)
def test_a_bastion_key_name_ec2_would_refuse_is_one_problem(name, words):
    _one("dev", lambda raw: raw["access"].update(bastionKeyName=name), "access.bastionKeyName", words)


def test_a_bastion_key_name_of_255_printable_characters_is_accepted():
    name = ("ops bastion-key_(2024)" * 12)[:KEY_NAME_MAX]
    assert _problems("dev", lambda raw: raw["access"].update(bastionKeyName=name)) == []


def test_the_directory_contents_component_refuses_an_ssh_key_openssh_would_not_read():
    """A program building DirectoryContents itself gets the same rule: a no-break space between type and key data
    is one problem naming the arg."""
    import dataclasses

    from hyperpod_platform.settings import DirectoryUserSettings
    from tests.test_component_args import VALID, _refused

    user = DirectoryUserSettings(
        name="alice", groups=("ClusterAdmin",), ssh_public_keys=(KEY.replace(" ", "\u00a0", 1),)
    )
    err = _refused("DirectoryContents", dataclasses.replace(VALID["DirectoryContents"][0], users=(user,)))
    (problem,) = err.problems
    assert problem.path == "DirectoryContents.users[0].ssh_public_keys[0]" and "U+00A0" in problem.why
