"""Redaction by shape as well as by key: a credential (private key, token, kubeconfig, AWS secret key, password)
is never printed, wherever it sits in a config: a value, a mapping key (and so the path of a problem), a nested
section, a misspelt section or namespace, a "did you mean" fix; nor in the `--json` plan."""

from __future__ import annotations

import copy
import json

import pytest

import stack_config
from stack_config import ConfigError
from tests.conftest import ROOT, P
from tools.harness import config_from_stack_file, redact

MARK = "Zq7Mark3r"
ACCESS_KEY_ID = "AKIAZQ7MARK3R0000000"
SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYZq7Mark3rE"  # 40 characters

KINDS = {
    "pem": f"-----BEGIN RSA PRIVATE KEY-----\nMIIEow{MARK}AKCAQEA\n-----END RSA PRIVATE KEY-----",
    "pkcs8": f"-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIF{MARK}\n-----END ENCRYPTED PRIVATE KEY-----",
    "openssh": f"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAA{MARK}\n-----END OPENSSH PRIVATE KEY-----",
    "openssh-body-only": f"b3BlbnNzaC1rZXktdjEAAAAABG5vbmU{MARK}",
    "jwt": f"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ{MARK}In0.c2lnbmF0dXJl",
    "eks-token": f"k8s-aws-v1.aHR0cHM6Ly9zdHMu{MARK}",
    "bearer": f"Bearer abc{MARK}def",
    "github": f"ghp_{MARK}0123456789abcdefghij",
    "aws-key-pair": f"{ACCESS_KEY_ID} {SECRET_ACCESS_KEY}",
    "kubeconfig-text": (
        "apiVersion: v1\nclusters:\n- cluster: {server: 'https://x'}\n  name: c\n"
        f"users:\n- name: u\n  user:\n    token: {MARK}\n"
    ),
}


def _load(config: dict) -> str:
    """The message of the ConfigError ``config`` raises (read as the engine passes config)."""
    from pulumi.runtime import config as runtime_config

    flat = {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}
    runtime_config.set_all_config(flat, secret_keys=[])
    try:
        with pytest.raises(ConfigError) as err:
            stack_config.load()
    finally:
        runtime_config.set_all_config({}, secret_keys=[])
    return str(err.value)


def _value_of_unknown_key(cfg, s):
    cfg[P + "lifecycle"] = {**cfg.get(P + "lifecycle", {}), "note": s}
    return "hyperpod-platform:lifecycle.note"


def _tag_key(cfg, s):
    cfg[P + "tags"] = {**cfg[P + "tags"], s: "x"}
    return "hyperpod-platform:tags."


def _tag_value(cfg, s):
    cfg[P + "tags"] = {**cfg[P + "tags"], "Note": s}
    return "hyperpod-platform:tags.Note"


def _nested_section_key(cfg, s):
    cfg[P + "fsx"] = {**cfg[P + "fsx"], s: 1}
    return "hyperpod-platform:fsx."


def _misspelt_namespace_value(cfg, s):
    cfg["hyperpod-platfrom:directory"] = {"enabled": True, "notes": {"text": s}}
    return "hyperpod-platfrom:directory"


def _misspelt_namespace_key(cfg, s):  # the key appears in the path and in the "rename it to" fix
    cfg["hyperpod-platfrom:" + s] = "x"
    return "hyperpod-platfrom:"


def _in_a_list(cfg, s):
    cfg[P + "directory"]["users"][0]["sshPublicKeys"] = [s]
    return "hyperpod-platform:directory.users[0].sshPublicKeys[0]"


PLACES = [
    _value_of_unknown_key,
    _tag_key,
    _tag_value,
    _nested_section_key,
    _misspelt_namespace_value,
    _misspelt_namespace_key,
    _in_a_list,
]


@pytest.mark.parametrize("place", PLACES, ids=lambda f: f.__name__.strip("_"))
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_credential_is_never_printed_wherever_it_sits(dev_config, kind, place):
    where = place(dev_config, KINDS[kind])
    text = _load(dev_config)
    assert where in text  # the problem is reported, at its place
    for part in (MARK, MARK.lower(), SECRET_ACCESS_KEY[:20]):
        assert part not in text


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("directory.adminPasword", "Hunter2-" + MARK),
        ("directory.adminPwd", "Hunter2-" + MARK),
        ("directory.bindPass", "Hunter2-" + MARK),
        ("directory.adminPassw0rd", "Hunter2-" + MARK),
        ("directroy", {"enabled": True, "bindPassword": "Hunter2-" + MARK}),  # a misspelt section
        ("eks", {"kubeconfig": {"apiVersion": "v1", "users": [{"name": "u", "user": {"token": MARK}}]}}),
    ],
    ids=["adminPasword", "adminPwd", "bindPass", "adminPassw0rd", "misspelt-section", "kubeconfig-under-eks"],
)
def test_passwords_under_misspelt_keys_and_kubeconfigs_are_never_printed(dev_config, path, value):
    top, _, rest = path.partition(".")
    if rest:
        dev_config[P + top] = {**dev_config[P + top], rest: value}
    else:
        dev_config[P + top] = value
    text = _load(dev_config)
    assert f"hyperpod-platform:{path}" in text and "<redacted" in text
    assert MARK not in text and "Hunter2" not in text


def test_bind_password_in_a_misspelt_namespace_is_never_printed(dev_config):
    dev_config["hyperpod-platfrom:directory"] = {"enabled": True, "bindPassword": "Hunter2-" + MARK}
    text = _load(dev_config)
    assert (
        "hyperpod-platfrom:directory = <redacted dict>" in text and "rename it to hyperpod-platform:directory" in text
    )
    assert MARK not in text


@pytest.mark.parametrize(
    ("value", "kind"),
    [(ACCESS_KEY_ID, "an access key id"), (SECRET_ACCESS_KEY, "a secret access key"), (KINDS["jwt"], "a token")],
)
def test_a_credential_as_a_tag_value_is_refused_named_by_its_key(dev_config, value, kind):
    dev_config[P + "tags"] = {**dev_config[P + "tags"], "CiKey": value}
    text = _load(dev_config)
    (line,) = [ln for ln in text.splitlines() if "tags.CiKey" in ln]
    assert "looks like a credential" in line and "rotate" in line
    assert value not in text and value[4:24] not in text


def test_a_credential_as_a_tag_value_is_refused_by_components_too():
    from hyperpod_platform._args import ArgCheck

    check = ArgCheck("Fsx")
    check.tags({"CiKey": ACCESS_KEY_ID, "Team": "ml"})
    (problem,) = check.problems
    assert problem.path == "Fsx.tags.CiKey" and "credential" in problem.why
    assert ACCESS_KEY_ID not in str(problem)


def test_ordinary_values_are_shown(dev_config):
    """Shapes are narrow: a commit id (40 hex), a path of 40 characters are shown."""
    dev_config[P + "fsx"] = {**dev_config.get(P + "fsx", {}), "mountPath": "datasets/Images2024/train/shard/part-001"}
    dev_config[P + "directory"] = {
        **dev_config[P + "directory"],
        "domainName": "0123456789abcdef0123456789abcdef01234567",
    }
    text = _load(dev_config)
    for shown in ('"0123456789abcdef0123456789abcdef01234567"', '"datasets/Images2024/train/shard/part-001"'):
        assert shown in text


def test_the_value_of_a_key_the_program_does_not_read_is_never_shown(dev_config):
    """A misspelt or stray key is where a secret lands unmarked (``adminPasword``, a bare ``key``): its name and
    the fix are shown, its value never."""
    dev_config[P + "lifecycle"] = {"bucketName": "hp-dev-lifecycle", "key": "plain-looking-value-1"}
    dev_config[P + "clustername"] = "another-plain-value-2"
    dev_config["hyperpod-platfrom:fsx"] = "third-plain-value-3"
    dev_config[P + "eks"] = {"key": "eks-section-value-4"}  # a section for the other orchestrator
    dev_config[P + "governance"] = {"key": "governance-value-5"}
    text = _load(dev_config)
    for key in ("lifecycle.key", "clustername", "hyperpod-platfrom:fsx", "platform:eks ", "platform:governance "):
        assert key in text
    for value in ("plain-looking-value-1", "another-plain-value-2", "third-plain-value-3", "value-4", "value-5"):
        assert value not in text


def test_a_helm_value_the_chart_does_not_read_is_named_without_its_value():
    config = copy.deepcopy(config_from_stack_file(ROOT / "Pulumi.eks-dev.yaml"))
    config[P + "eks"]["helmValues"] = {"key": "helm-value-6", "mlflow": {"enabled": False}}
    text = _load(config)
    assert "eks.helmValues.key" in text and "helm-value-6" not in text


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_the_json_plan_never_shows_a_credential_in_plain_inputs(kind):
    """The plan (`--json`) redacts by shape too: a credential in a plain input, or as a mapping key."""
    inputs = {"tags": {"Note": KINDS[kind], KINDS[kind]: "x"}, "userData": [KINDS[kind]], "name": "hp-dev"}
    out = json.dumps(redact(inputs))
    assert MARK not in out and MARK.lower() not in out and SECRET_ACCESS_KEY[:20] not in out
    assert '"name": "hp-dev"' in out


def test_the_json_plan_redacts_passwords_and_kubeconfigs_by_key():
    inputs = {
        "adminPasword": "Hunter2",
        "config": {"apiVersion": "v1", "clusters": [], "users": [{"user": {"token": MARK}}]},
        "authenticationMode": "API",
        "chartCommit": "0123456789abcdef0123456789abcdef01234567",
    }
    out = redact(inputs)
    assert out["adminPasword"] == "<secret>" and out["config"] == "<secret>"
    assert out["authenticationMode"] == "API" and out["chartCommit"] == inputs["chartCommit"]
