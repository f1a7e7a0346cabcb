"""The offline preview turns config mistakes into exit 2 with the key and the fix, before any resource."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT


def _preview(tmp_path: Path, mutate) -> subprocess.CompletedProcess:
    stack = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    mutate(stack["config"])
    path = tmp_path / "Pulumi.case.yaml"
    path.write_text(yaml.safe_dump(stack))
    return subprocess.run(
        [sys.executable, "-m", "tools.preview", "--config-file", str(path), "--quiet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_region_that_does_not_exist_exits_2_naming_aws_region(tmp_path):
    """A region that does not exist is a config error (exit 2) naming aws:region, not a crash."""
    run = _preview(tmp_path, lambda c: c.update({"aws:region": "us-east-7", "aws-native:region": "us-east-7"}))
    assert run.returncode == 2, run.stderr
    assert 'aws:region = "us-east-7": is not an AWS region' in run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize("name", ["hp-research-platform-dev-eu-01", "x" * 30])
def test_thirty_character_cluster_name_exits_2_naming_the_limit(tmp_path, name):
    """A 30-character clusterName cannot fit the load balancer names: exit 2 naming clusterName and the limit."""
    run = _preview(tmp_path, lambda c: c.__setitem__("hyperpod-platform:clusterName", name))
    assert run.returncode == 2, run.stderr
    assert f'hyperpod-platform:clusterName = "{name}": is 30 characters' in run.stderr
    assert "32-character limit" in run.stderr and "use at most 18 characters" in run.stderr


@pytest.mark.parametrize("key", ["login", "access"])
def test_internet_in_two_halves_exits_2_for_ssh_sources(tmp_path, key):
    """The whole internet as 0.0.0.0/1 + 128.0.0.0/1 is refused for the login and the bastion ranges."""
    field = {"login": "allowedCidrs", "access": "bastionAllowedCidrs"}[key]
    halves = ["0.0.0.0/1", "128.0.0.0/1"]
    run = _preview(tmp_path, lambda c: c[f"hyperpod-platform:{key}"].__setitem__(field, halves))
    assert run.returncode == 2, run.stderr
    assert f"hyperpod-platform:{key}.{field} = " in run.stderr and "open SSH to the world" in run.stderr


def _preview_text(tmp_path: Path, text: str) -> subprocess.CompletedProcess:
    path = tmp_path / "Pulumi.case.yaml"
    path.write_text(text)
    return subprocess.run(
        [sys.executable, "-m", "tools.preview", "--config-file", str(path), "--quiet", "--no-policy"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_stack_file_scalars_read_as_the_pulumi_cli_reads_them(tmp_path):
    """A date-like or yes/no value is a string, as the Pulumi CLI (YAML 1.2) reads it, not a crash (exit 4)."""
    dev = (ROOT / "Pulumi.dev.yaml").read_text()
    run = _preview_text(tmp_path, dev.replace("clusterName: hp-dev", "clusterName: 2024-01-01"))
    assert run.returncode == 0, run.stderr
    run = _preview_text(tmp_path, dev.replace("Environment: dev", "Environment: yes"))
    assert run.returncode == 0, run.stderr


def test_secure_values_are_never_shown(tmp_path):
    """A `secure:` value (not decryptable offline) is treated as a secret: problems about it are redacted."""
    cipher = "v1:QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo="
    text = (ROOT / "Pulumi.dev.yaml").read_text() + f"  hyperpod-platform:lifecycle:\n    secure: {cipher}\n"
    run = _preview_text(tmp_path, text)
    assert run.returncode == 2, run.stderr
    assert "hyperpod-platform:lifecycle." in run.stderr and "<redacted" in run.stderr
    assert cipher not in run.stderr and cipher[3:] not in run.stderr
