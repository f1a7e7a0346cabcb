"""AccessPaths under mocks: SSH over SSM limited to the cluster, and the bastion."""

from __future__ import annotations

import json

import parliament
import pytest

from stack_config import ConfigError
from tests.conftest import P


def _policy(dev_run):
    return json.loads(dev_run.named("hp-dev-ssm-users", "aws:iam/policy:Policy").inputs["policy"])


def test_ssm_allows_ssh_sessions_to_the_cluster_only(dev_run):
    """StartSession only with AWS-StartSSHSession on this cluster; the default shell document is denied."""
    cluster = dev_run.one("aws-native:sagemaker:Cluster").outputs["clusterArn"]
    stmts = {s["Sid"]: s for s in _policy(dev_run)["Statement"]}
    allow = stmts["SshToClusterNodes"]
    assert allow["Resource"] == [cluster, "arn:aws:ssm:us-east-1::document/AWS-StartSSHSession"]
    deny = stmts["DenyDefaultShell"]
    assert deny["Effect"] == "Deny" and deny["Resource"].endswith(":document/SSM-SessionManagerRunShell")
    assert all("*" != s["Resource"] for s in stmts.values())
    findings = parliament.analyze_policy_string(json.dumps(_policy(dev_run))).findings
    assert [(f.issue, f.detail) for f in findings] == []


def _proxy(snippet: str, host: str, tmp_path):
    """Run the snippet's ProxyCommand as ssh does (tokens pasted in, then ``sh -c "exec ..."``), with a stub
    ``aws`` that records its arguments."""
    import os
    import subprocess

    command = next(ln for ln in snippet.splitlines() if ln.strip().startswith("ProxyCommand"))
    command = command.strip().removeprefix("ProxyCommand ").replace("%h", host).replace("%p", "22")
    stub = tmp_path / "aws"
    stub.write_text('#!/bin/sh\nprintf "%s\\n" "$@" > "$AWS_ARGS"\n')
    stub.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}", "AWS_ARGS": str(tmp_path / "args")}
    run = subprocess.run(["sh", "-c", f"exec {command}"], env=env, cwd=tmp_path, capture_output=True, text=True)
    args = (tmp_path / "args").read_text().splitlines() if (tmp_path / "args").exists() else None
    return run, args


def test_ssm_ssh_config_snippet(dev_run, tmp_path):
    """The snippet proxies through SSM with the SSH document to the node's target, run as ssh runs it."""
    snippet = dev_run.outputs["ssmSshConfig"]
    assert "Host hp-dev-node-*\n" in snippet
    run, args = _proxy(snippet, "hp-dev-node-gpu-i-0123456789abcdef0", tmp_path)
    assert run.returncode == 0, run.stderr
    assert args == [
        "ssm",
        "start-session",
        "--document-name",
        "AWS-StartSSHSession",
        "--parameters",
        "portNumber=22",
        "--target",
        "sagemaker-cluster:abcdef123456_gpu-i-0123456789abcdef0",
    ]


@pytest.mark.parametrize(
    "host", ["hp-dev-node-x$(touch pwned)", "hp-dev-node-x;touch pwned", "hp-dev-node-`touch pwned`"]
)
def test_ssm_ssh_config_never_runs_the_host_name(dev_run, tmp_path, host):
    """A host name with shell syntax is refused by the proxy script, never executed, and aws is not called."""
    run, args = _proxy(dev_run.outputs["ssmSshConfig"], host, tmp_path)
    assert run.returncode == 2 and "not an SSM node name" in run.stderr
    assert args is None and not (tmp_path / "pwned").exists()


def test_bastion_in_public_subnet_with_ssh_from_listed_cidrs(dev_run):
    """The bastion sits in a public subnet, admits SSH only from the listed ranges, reaches the cluster on
    22 only, and the cluster admits 22 from the bastion's group; IMDSv2 and an encrypted disk."""
    bastion = dev_run.one("aws:ec2/instance:Instance").inputs
    assert bastion["subnetId"] == dev_run.named("hp-dev-public-0", "aws:ec2/subnet:Subnet").outputs["id"]
    assert bastion["metadataOptions"]["httpTokens"] == "required" and bastion["rootBlockDevice"]["encrypted"]
    sg = dev_run.named("hp-dev-bastion-sg").outputs["id"]
    cluster_sg = dev_run.named("hp-dev-cluster-sg").outputs["id"]
    ingress = dev_run.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    mine = [r.inputs for r in ingress if r.inputs["securityGroupId"] == sg]
    assert [(r["fromPort"], r["toPort"], r["cidrIpv4"]) for r in mine] == [(22, 22, "198.51.100.0/24")]
    assert any(
        r.inputs["securityGroupId"] == cluster_sg
        and r.inputs.get("referencedSecurityGroupId") == sg
        and r.inputs["fromPort"] == 22
        for r in ingress
    )
    assert "HostName 203.0.113.20" in dev_run.outputs["bastionSshConfig"]
    assert "ssh -J hp-dev-bastion" in dev_run.outputs["bastionSshConfig"]


def test_paths_switch_off(dev_config, run_stack):
    """ssm: false and bastion: false create neither."""
    dev_config[P + "access"] = {"ssm": False, "bastion": False}
    result = run_stack(dev_config)
    assert not result.of_type("aws:ec2/instance:Instance") and not result.of_type("aws:iam/policy:Policy")
    assert "ssmSshConfig" not in result.outputs and "bastionSshConfig" not in result.outputs


def test_bastion_needs_ranges_and_refuses_the_world(dev_config, run_stack):
    """A bastion without ranges, or open to 0.0.0.0/0, is a config error before any resource."""
    dev_config[P + "access"]["bastionAllowedCidrs"] = ["0.0.0.0/0"]
    result = run_stack(dev_config)
    assert isinstance(result.error, ConfigError) and result.registrations == []
    assert "access.bastionAllowedCidrs = " in str(result.error) and "open SSH to the world" in str(result.error)
    dev_config[P + "access"].pop("bastionAllowedCidrs")
    assert "a bastion needs the client ranges" in str(run_stack(dev_config).error)
