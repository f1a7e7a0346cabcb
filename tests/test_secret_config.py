"""Secret config stays secret end to end: a key set with `pulumi config set --secret` reaches the program as
the engine passes it at `up` (plain values, and the list of secret keys); every resource input and stack output
holding one of its values is a Pulumi secret, and no message or `scripts/preview` output shows it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
import yaml

from hyperpod_platform._args import ArgCheck
from hyperpod_platform.errors import set_secret_config
from tests.conftest import ROOT, P
from tools.harness import config_from_stack_file, run_program

ORG = "o-zq7mark3rorg1"
TEAM_EXTERNAL = "mark3r-team-external-id"
ACCOUNT_EXTERNAL = "mark3r-account-external-id"
TAG = "mark3r-tag-value"
MARKERS = (ORG, TEAM_EXTERNAL, ACCOUNT_EXTERNAL, TAG)


def _eks(cfg: dict[str, Any]) -> list[str]:
    cfg[P + "governance"]["organizationId"] = ORG
    cfg[P + "teams"][0]["externalId"] = TEAM_EXTERNAL
    cfg[P + "accounts"]["data"]["externalId"] = ACCOUNT_EXTERNAL
    cfg[P + "tags"]["CostCenter"] = TAG
    return [P + k for k in ("governance", "teams", "accounts", "tags")]


def _slurm(cfg: dict[str, Any]) -> list[str]:
    cfg[P + "tags"]["CostCenter"] = TAG
    return [P + "tags"]


STACKS = {"eks-dev": _eks, "dev": _slurm}


def _injected(stack: str) -> tuple[dict[str, Any], list[str]]:
    cfg = config_from_stack_file(ROOT / f"Pulumi.{stack}.yaml")
    return cfg, STACKS[stack](cfg)


def _plain_markers(value: Any, where: str = "") -> list[str]:
    """Where a marker sits outside a secret envelope (``{"<secret>": v}``, the harness's view of the wire's
    secret signature)."""
    if isinstance(value, dict):
        if set(value) == {"<secret>"}:
            return []
        return [hit for k, v in value.items() for hit in _plain_markers(k, where) + _plain_markers(v, f"{where}.{k}")]
    if isinstance(value, list):
        return [hit for i, v in enumerate(value) for hit in _plain_markers(v, f"{where}[{i}]")]
    if isinstance(value, str):
        return [f"{where}: {m}" for m in MARKERS if m in value]
    return []


def _secret_markers(value: Any) -> set[str]:
    """The markers inside secret envelopes."""
    if isinstance(value, dict):
        if set(value) == {"<secret>"}:
            text = json.dumps(value["<secret>"], default=str)
            return {m for m in MARKERS if m in text}
        return set().union(*(_secret_markers(v) for v in value.values()), set())
    if isinstance(value, list):
        return set().union(*(_secret_markers(v) for v in value), set())
    return set()


@pytest.fixture(autouse=True)
def _forget_secret_config():
    yield
    set_secret_config(())


@pytest.mark.parametrize("preview", [False, True], ids=["up", "preview"])
@pytest.mark.parametrize("stack", sorted(STACKS))
def test_secret_config_values_reach_inputs_and_outputs_only_as_secrets(stack, preview):
    cfg, secret_keys = _injected(stack)
    result = run_program(ROOT / "__main__.py", cfg, preview=preview, stack=stack, secret_keys=secret_keys)
    assert result.error is None, result.error
    leaks = [f"{r.type} {r.name} {hit}" for r in result.registrations for hit in _plain_markers(r.inputs)]
    leaks += [f"output {hit}" for hit in _plain_markers(result.outputs)]
    assert leaks == []
    # the values did reach the plan (as secrets): the check above judged something
    hidden = set().union(*(_secret_markers(r.inputs) for r in result.registrations), _secret_markers(result.outputs))
    assert TAG in hidden
    if stack == "eks-dev" and not preview:
        assert {ORG, TEAM_EXTERNAL, ACCOUNT_EXTERNAL} <= hidden


def test_component_outputs_hold_secret_config_values_only_as_secrets(monkeypatch):
    """What components register as their outputs (kept in the state at `up`) follows the same rule."""
    import pulumi.runtime.mocks as pmocks

    from tools.harness import _struct

    registered: list[dict] = []
    monkeypatch.setattr(
        pmocks.MockMonitor, "RegisterResourceOutputs", lambda self, req: registered.append(_struct(req.outputs))
    )
    cfg, secret_keys = _injected("eks-dev")
    result = run_program(ROOT / "__main__.py", cfg, preview=False, stack="eks-dev", secret_keys=secret_keys)
    assert result.error is None, result.error
    assert [hit for outputs in registered for hit in _plain_markers(outputs)] == []
    assert TEAM_EXTERNAL in set().union(*map(_secret_markers, registered))


def test_without_secret_keys_the_same_values_stay_plain():
    """The secrecy follows the keys the engine lists, not the values: listed nowhere, the tag is plain."""
    cfg, _ = _injected("dev")
    result = run_program(ROOT / "__main__.py", cfg, preview=False, stack="dev")
    assert result.error is None, result.error
    assert any(_plain_markers(r.inputs) for r in result.registrations)


@pytest.mark.parametrize("stack", sorted(STACKS))
def test_scripts_preview_never_prints_secret_config(stack, tmp_path):
    """`scripts/preview` (policy pack on: both passes, as at `up`) given secret config as the engine passes it:
    exit 0 as without secrets, and no marker on stdout, stderr or in the `--json` plan."""
    cfg, secret_keys = _injected(stack)
    path, plan = tmp_path / f"Pulumi.{stack}.yaml", tmp_path / "plan.json"
    path.write_text(yaml.safe_dump({"config": cfg}))
    env = {**os.environ, "PULUMI_CONFIG_SECRET_KEYS": json.dumps(secret_keys)}
    run = subprocess.run(
        [sys.executable, "-m", "tools.preview", "--config-file", str(path), "--json", str(plan)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    text = plan.read_text()
    for marker in MARKERS:
        assert marker not in run.stdout and marker not in run.stderr and marker not in text


def test_a_config_error_about_a_secret_key_never_shows_its_values(dev_config):
    """A problem elsewhere that quotes a secret value (a team name repeated across keys) is redacted too."""
    cfg, secret_keys = _injected("dev")
    cfg[P + "tags"]["Bad*Key"] = TAG  # a bad tag key under the secret key: path and value
    cfg[P + "clusterName"] = "Bad_Name_" + TAG  # another key whose value holds the secret tag value
    result = run_program(ROOT / "__main__.py", cfg, preview=True, secret_keys=secret_keys)
    text = str(result.error)
    assert "tags.Bad*Key" in text and "clusterName" in text
    assert TAG not in text


def test_component_arg_errors_redact_values_that_came_from_secret_config():
    set_secret_config({"externalId": TEAM_EXTERNAL})
    check = ArgCheck("TeamAccess")
    check.fail("team.external_id", TEAM_EXTERNAL, f"external id {TEAM_EXTERNAL} is refused", f"not '{TEAM_EXTERNAL}'")
    check.fail("role_name", f"role-{TEAM_EXTERNAL}", "is too long", "shorten it")
    with pytest.raises(Exception) as err:
        check.raise_if_any()
    text = str(err.value)
    assert "TeamAccess.team.external_id = <redacted" in text and "TeamAccess.role_name = <redacted" in text
    assert TEAM_EXTERNAL not in text


def test_component_arg_errors_show_values_of_plain_config():
    """Redaction follows the secret config: the same value, not from a secret key, is shown."""
    set_secret_config(())
    check = ArgCheck("TeamAccess")
    check.fail("role_name", f"role-{TEAM_EXTERNAL}", "is too long", "shorten it")
    assert f'"role-{TEAM_EXTERNAL}"' in str(check.problems[0])
