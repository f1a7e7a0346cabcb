"""The GitHub workflows users get: schema-valid, and doing what the README promises."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def _load(name: str) -> dict:
    return yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text())


def _steps(job: dict) -> list[dict]:
    return job.get("steps", [])


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.name for p in WORKFLOWS])
def test_workflow_matches_github_schema(path: Path):
    """check-jsonschema's vendored GitHub workflow schema accepts each workflow."""
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "check-jsonschema"),
            "--builtin-schema",
            "vendor.github-workflows",
            str(path),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_pull_request_preview_with_policy_pack_and_oidc():
    """PRs run a real preview through pulumi/actions with the pack enforced, commented, via an OIDC role."""
    wf = _load("preview.yml")
    assert "pull_request" in wf[True]  # YAML reads the bare key `on` as True
    job = wf["jobs"]["preview"]
    assert job["permissions"]["id-token"] == "write" and job["permissions"]["pull-requests"] == "write"
    aws = next(s for s in _steps(job) if s.get("uses", "").startswith("aws-actions/configure-aws-credentials"))
    assert "role-to-assume" in aws["with"]
    pulumi = next(s for s in _steps(job) if s.get("uses", "").startswith("pulumi/actions"))
    assert pulumi["with"]["command"] == "preview" and pulumi["with"]["comment-on-pr"] is True
    assert pulumi["with"]["policyPacks"] == "policies"
    assert pulumi["with"]["policyPackConfigs"] == "policies/config/prod.json"


def test_offline_job_needs_no_credentials():
    """The offline job runs scripts/test and scripts/preview with no secrets, roles or tokens, so fork PRs
    are checked too."""
    job = _load("preview.yml")["jobs"]["offline"]
    text = yaml.safe_dump(job)
    assert "secrets." not in text and "configure-aws-credentials" not in text and "id-token" not in text
    runs = " ".join(s.get("run", "") for s in _steps(job))
    assert "scripts/test" in runs and "scripts/preview --stack dev --policy-config policies/config/prod.json" in runs


def test_push_to_main_updates_each_environment_with_approval_for_prod():
    """Pushes to main run `up` per stack in a GitHub environment (prod after dev), pack enforced. Prod is
    gated by its environment's approval only: no repository variable or condition switches it off."""
    wf = _load("up.yml")
    assert wf[True]["push"]["branches"] == ["main"]
    assert wf["jobs"]["up-dev"]["needs"] == "offline"
    assert wf["jobs"]["up-dev"]["with"] == {"stack": "dev", "environment": "dev"}
    prod = wf["jobs"]["up-prod"]
    assert prod["needs"] == "up-dev"
    assert prod["with"] == {"stack": "prod", "environment": "prod"}
    assert "if" not in prod and "if" not in wf["jobs"]["up-dev"]
    assert "vars.DEPLOY_PROD" not in (ROOT / ".github" / "workflows" / "up.yml").read_text()
    assert (ROOT / "Pulumi.prod.yaml").is_file()
    stack = _load("up-stack.yml")["jobs"]["up"]
    assert stack["environment"] == "${{ inputs.environment }}"
    pulumi = next(s for s in _steps(stack) if s.get("uses", "").startswith("pulumi/actions"))
    assert pulumi["with"]["command"] == "up" and pulumi["with"]["policyPacks"] == "policies"


def test_push_to_main_previews_both_stacks_offline_before_any_up():
    """The offline job (no credentials) runs the tests and previews dev and prod with every guardrail
    mandatory; both `up` jobs wait for it."""
    wf = _load("up.yml")
    job = wf["jobs"]["offline"]
    text = yaml.safe_dump(job)
    assert "secrets." not in text and "configure-aws-credentials" not in text and "id-token" not in text
    runs = [s.get("run", "") for s in _steps(job)]
    assert any("scripts/test" in r for r in runs)
    for stack in ("dev", "prod"):
        assert f"scripts/preview --stack {stack} --policy-config policies/config/prod.json" in runs


def test_pull_requests_check_every_shipped_stack():
    """A change that breaks prod fails on the pull request, not after the merge: the offline job previews
    every Pulumi.<stack>.yaml under prod.json, and the real preview runs for each stack."""
    stacks = sorted(p.name.split(".")[1] for p in ROOT.glob("Pulumi.*.yaml"))
    wf = _load("preview.yml")
    runs = " ".join(s.get("run", "") for s in _steps(wf["jobs"]["offline"]))
    for stack in stacks:
        assert f"scripts/preview --stack {stack} --policy-config policies/config/prod.json" in runs
    assert sorted(m["stack"] for m in wf["jobs"]["preview"]["strategy"]["matrix"]["include"]) == stacks


GITHUB_HOSTED = re.compile(r"^(ubuntu|windows|macos)-")
"""Labels of GitHub's standard hosted runners: no fixed egress address and no route into a VPC."""


def _stack_config(stack: str) -> dict:
    return yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]


def _runners_of(stack: str) -> dict[str, str]:
    """Where each workflow runs `pulumi` against ``stack``: job -> runner label."""
    found = {}
    for job_name, job in _load("up.yml")["jobs"].items():
        if job.get("uses", "").endswith("up-stack.yml") and job["with"]["stack"] == stack:
            default = _load("up-stack.yml")[True]["workflow_call"]["inputs"]["runner"]["default"]
            found[f"up.yml {job_name}"] = job["with"].get("runner", default)
    for entry in _load("preview.yml")["jobs"]["preview"]["strategy"]["matrix"]["include"]:
        if entry["stack"] == stack:
            found["preview.yml preview"] = entry["runner"]
    return found


EKS_STACKS = sorted(
    p.name.split(".")[1]
    for p in ROOT.glob("Pulumi.*.yaml")
    if (yaml.safe_load(p.read_text())["config"].get("hyperpod-platform:cluster") or {}).get("orchestrator") == "eks"
)


@pytest.mark.parametrize("stack", EKS_STACKS)
def test_eks_stacks_run_pulumi_where_their_config_opens_the_api_server(stack):
    """An EKS stack's `pulumi up` and preview reach the API server: with eks.deployFrom public (the default) they
    run on a runner with static egress ranges (named in the stack file and listed in eks.publicAccessCidrs),
    never on a GitHub-hosted label; with vpn no workflow deploys it (an operator on the VPN does); with private
    they run on a self-hosted runner."""
    eks = _stack_config(stack).get("hyperpod-platform:eks") or {}
    mode = eks.get("deployFrom", "public")
    runners = _runners_of(stack)
    stack_file = (ROOT / f"Pulumi.{stack}.yaml").read_text()
    if mode == "vpn":
        assert not [j for j in runners if j.startswith("up.yml")], runners
        return
    assert any(j.startswith("up.yml") for j in runners), runners  # it is deployed by the workflow
    for job, runner in runners.items():
        assert runner and not GITHUB_HOSTED.match(runner), (job, runner)
        if mode == "public":
            assert eks.get("publicAccessCidrs") and runner in stack_file, (job, runner)
        else:
            assert mode == "private" and eks.get("privateAccessCidrs"), mode


def test_up_stack_runs_on_the_runner_its_caller_names():
    """up-stack.yml takes the runner as an input (GitHub-hosted by default, for Slurm stacks) and runs on it."""
    wf = _load("up-stack.yml")
    assert wf["jobs"]["up"]["runs-on"] == "${{ inputs.runner }}"
    assert wf[True]["workflow_call"]["inputs"]["runner"]["default"] == "ubuntu-latest"
    assert "eks.publicAccessCidrs" in (ROOT / ".github" / "workflows" / "up-stack.yml").read_text()
