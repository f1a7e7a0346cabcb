"""AccessPaths under mocks: SSH over SSM limited to the cluster, and the bastion."""

from __future__ import annotations

import json

import parliament

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


def test_ssm_ssh_config_snippet(dev_run):
    """The snippet proxies through SSM with the SSH document to the cluster's node targets."""
    snippet = dev_run.outputs["ssmSshConfig"]
    assert "Host hp-dev-node-*\n" in snippet
    assert "--document-name AWS-StartSSHSession --parameters portNumber=%p" in snippet
    assert "--target sagemaker-cluster:abcdef123456_" in snippet


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
    assert "access.bastionAllowedCidrs[0]" in str(result.error)
    dev_config[P + "access"].pop("bastionAllowedCidrs")
    assert "a bastion needs the client ranges" in str(run_stack(dev_config).error)
