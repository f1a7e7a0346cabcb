"""Access, built directly under mocks: SSH over SSM limited to the cluster (an IAM policy and an ssh_config
snippet run as ssh runs it), and the bastion (public subnet, SSH from listed ranges, on to the cluster only)."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess

import parliament
import pulumi
import pulumi_aws as aws
import pytest

from hyperpod_platform import Access, AccessArgs
from hyperpod_platform.access import SHELL_DOCUMENT, SSH_DOCUMENT
from hyperpod_platform.settings import AccessSettings
from tools.harness import RunResult, run_program

COMPONENT = "hyperpod-platform:index:Access"
POLICY = "aws:iam/policy:Policy"
INSTANCE = "aws:ec2/instance:Instance"
SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
CONFIG = {"aws:region": "us-east-1", "aws-native:region": "us-east-1"}

NAME = "t"
CLUSTER = "c1"
CLUSTER_ARN = "arn:aws:sagemaker:us-east-1:123456789012:cluster/abcdef123456"
VPC_ID = "vpc-0123456789abcdef0"
BOTH = AccessSettings(
    ssm=True, bastion=True, bastion_allowed_cidrs=("198.51.100.0/24",), bastion_key_name="platform-admins"
)
TAGS = {"Cluster": CLUSTER}


def _run(settings: AccessSettings = BOTH, preview: bool = False) -> RunResult:
    """Access next to a tiny public subnet and cluster security group; its snippets exported."""

    def program():
        public = aws.ec2.Subnet("public", vpc_id=VPC_ID, cidr_block="10.20.192.0/24")
        cluster_sg = aws.ec2.SecurityGroup("cluster", vpc_id=VPC_ID)
        paths = Access(
            NAME,
            AccessArgs(
                settings=settings,
                cluster_name=CLUSTER,
                cluster_arn=CLUSTER_ARN,
                vpc_id=VPC_ID,
                public_subnet_id=public.id,
                cluster_security_group_id=cluster_sg.id,
                tags=TAGS,
            ),
        )
        pulumi.export("ssm", paths.ssm_ssh_config)
        pulumi.export("bastion", paths.bastion_ssh_config)
        pulumi.export("ssmPolicyArn", paths.ssm_policy_arn)  # declared: None when SSM access is off

    result = run_program(program, CONFIG, preview=preview)
    assert result.error is None, result.error
    return result


def _mine(result: RunResult, typ: str) -> list:
    component = result.one(COMPONENT)
    return [r for r in result.of_type(typ) if r.parent == component.urn]


def _policy(result: RunResult) -> dict:
    (policy,) = _mine(result, POLICY)
    return json.loads(policy.inputs["policy"])


def _cluster_sg(result: RunResult) -> str:
    return result.named("cluster", SG).outputs["id"]


def _bastion_sg(result: RunResult) -> str:
    (sg,) = _mine(result, SG)
    return sg.outputs["id"]


def test_ssm_policy_allows_ssh_sessions_to_the_cluster_only():
    """StartSession only with AWS-StartSSHSession on this cluster; the default shell document is denied; no
    statement is on "*"; parliament finds nothing."""
    result = _run()
    policy = _policy(result)
    stmts = {s["Sid"]: s for s in policy["Statement"]}
    allow = stmts["SshToClusterNodes"]
    assert allow["Resource"] == [CLUSTER_ARN, f"arn:aws:ssm:us-east-1::document/{SSH_DOCUMENT}"]
    deny = stmts["DenyDefaultShell"]
    assert deny["Effect"] == "Deny" and deny["Resource"].endswith(f":document/{SHELL_DOCUMENT}")
    assert all("*" != s["Resource"] for s in stmts.values())
    findings = parliament.analyze_policy_string(json.dumps(policy)).findings
    assert [(f.issue, f.detail) for f in findings] == []


def test_ssm_policy_lets_users_end_only_their_own_sessions_and_find_the_cluster_nodes():
    """Terminate and resume only the caller's own sessions; describe and list the nodes of this cluster only."""
    stmts = {s["Sid"]: s for s in _policy(_run())["Statement"]}
    own = stmts["OwnSessionsOnly"]
    assert own["Resource"] == "arn:aws:ssm:us-east-1:123456789012:session/${aws:userid}-*"
    assert sorted(own["Action"]) == ["ssm:ResumeSession", "ssm:TerminateSession"]
    assert stmts["FindNodes"]["Resource"] == CLUSTER_ARN
    assert set(stmts) == {"SshToClusterNodes", "DenyDefaultShell", "OwnSessionsOnly", "FindNodes"}


def test_ssm_policy_is_tagged_and_its_arn_is_published():
    result = _run()
    (policy,) = _mine(result, POLICY)
    assert policy.inputs["tags"] == TAGS
    assert result.outputs["ssmPolicyArn"] == policy.outputs["arn"]


def _proxy(snippet: str, host: str, tmp_path):
    """Run the snippet's ProxyCommand as ssh does (tokens pasted in, then ``sh -c "exec ..."``), with a stub
    ``aws`` that records its arguments."""
    command = next(ln for ln in snippet.splitlines() if ln.strip().startswith("ProxyCommand"))
    command = command.strip().removeprefix("ProxyCommand ").replace("%h", host).replace("%p", "22")
    stub = tmp_path / "aws"
    stub.write_text('#!/bin/sh\nprintf "%s\\n" "$@" > "$AWS_ARGS"\n')
    stub.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}", "AWS_ARGS": str(tmp_path / "args")}
    run = subprocess.run(["sh", "-c", f"exec {command}"], env=env, cwd=tmp_path, capture_output=True, text=True)
    args = (tmp_path / "args").read_text().splitlines() if (tmp_path / "args").exists() else None
    return run, args


def test_ssm_ssh_config_proxies_to_the_node_target_with_the_ssh_document(tmp_path):
    """The snippet matches ``<cluster>-node-*`` and proxies through SSM with the SSH document to the node's
    target (cluster id and node name), run as ssh runs it."""
    snippet = _run().outputs["ssm"]
    assert f"Host {CLUSTER}-node-*\n" in snippet
    node = "gpu-i-0123456789abcdef0"
    run, args = _proxy(snippet, f"{CLUSTER}-node-{node}", tmp_path)
    assert run.returncode == 0, run.stderr
    assert args == [
        "ssm",
        "start-session",
        "--document-name",
        SSH_DOCUMENT,
        "--parameters",
        "portNumber=22",
        "--target",
        f"sagemaker-cluster:{CLUSTER_ARN.rsplit('/', 1)[1]}_{node}",
    ]


@pytest.mark.parametrize("suffix", ["x$(touch pwned)", "x;touch pwned", "`touch pwned`"])
def test_ssm_ssh_config_never_runs_the_host_name(tmp_path, suffix):
    """A host name with shell syntax is refused by the proxy script, never executed, and aws is not called."""
    run, args = _proxy(_run().outputs["ssm"], f"{CLUSTER}-node-{suffix}", tmp_path)
    assert run.returncode == 2 and "not an SSM node name" in run.stderr
    assert args is None and not (tmp_path / "pwned").exists()


def test_bastion_in_the_public_subnet_with_ssh_from_listed_cidrs():
    """The bastion sits in the given public subnet with a public IP, admits SSH only from the listed ranges,
    reaches the cluster on 22 only, and the cluster admits 22 from the bastion's group; IMDSv2, an encrypted
    disk, the settings' type and key pair; the snippet jumps through its public IP."""
    result = _run()
    (bastion,) = _mine(result, INSTANCE)
    i = bastion.inputs
    assert i["subnetId"] == result.named("public", "aws:ec2/subnet:Subnet").outputs["id"]
    assert i["associatePublicIpAddress"] is True
    assert i["metadataOptions"]["httpTokens"] == "required" and i["rootBlockDevice"]["encrypted"] is True
    assert (i["instanceType"], i["keyName"]) == (BOTH.bastion_instance_type, BOTH.bastion_key_name)
    sg, cluster_sg = _bastion_sg(result), _cluster_sg(result)
    assert i["vpcSecurityGroupIds"] == [sg]
    ingress = _mine(result, INGRESS)
    mine = [r.inputs for r in ingress if r.inputs["securityGroupId"] == sg]
    assert [(r["fromPort"], r["toPort"], r["cidrIpv4"]) for r in mine] == [(22, 22, "198.51.100.0/24")]
    into_cluster = [r.inputs for r in ingress if r.inputs["securityGroupId"] == cluster_sg]
    assert [(r["fromPort"], r["toPort"], r["referencedSecurityGroupId"]) for r in into_cluster] == [(22, 22, sg)]
    (egress,) = _mine(result, EGRESS)
    assert (egress.inputs["securityGroupId"], egress.inputs["referencedSecurityGroupId"]) == (sg, cluster_sg)
    assert (egress.inputs["fromPort"], egress.inputs["toPort"], egress.inputs["ipProtocol"]) == (22, 22, "tcp")
    snippet = result.outputs["bastion"]
    assert f"HostName {bastion.outputs['publicIp']}" in snippet
    assert f"Host {CLUSTER}-bastion\n" in snippet and f"ssh -J {CLUSTER}-bastion" in snippet


def test_bastion_admits_each_listed_range():
    settings = dataclasses.replace(BOTH, bastion_allowed_cidrs=("198.51.100.0/24", "203.0.113.7/32"))
    result = _run(settings)
    sg = _bastion_sg(result)
    cidrs = [r.inputs["cidrIpv4"] for r in _mine(result, INGRESS) if r.inputs["securityGroupId"] == sg]
    assert sorted(cidrs) == ["198.51.100.0/24", "203.0.113.7/32"]


def test_paths_switch_off():
    """ssm: false and bastion: false create nothing and publish no snippets."""
    result = _run(AccessSettings(ssm=False, bastion=False))
    component = result.one(COMPONENT)
    assert not [r for r in result.registrations if r.parent == component.urn]
    assert (result.outputs["ssm"], result.outputs["bastion"], result.outputs["ssmPolicyArn"]) == (None, None, None)


def test_ssm_alone_creates_no_bastion():
    result = _run(AccessSettings(ssm=True, bastion=False))
    assert len(_mine(result, POLICY)) == 1 and result.outputs["ssm"]
    assert not _mine(result, INSTANCE) and not _mine(result, SG) and not _mine(result, INGRESS)
    assert result.outputs["bastion"] is None


def test_bastion_alone_creates_no_ssm_policy():
    result = _run(dataclasses.replace(BOTH, ssm=False))
    assert len(_mine(result, INSTANCE)) == 1 and result.outputs["bastion"]
    assert not _mine(result, POLICY) and result.outputs["ssm"] is None


def test_preview_registers_both_paths_with_unknown_addresses():
    """In a first preview the bastion's IP is unknown: its snippet is unknown, the SSM snippet (from the
    cluster ARN given) is not."""
    result = _run(preview=True)
    assert len(_mine(result, INSTANCE)) == 1 and len(_mine(result, POLICY)) == 1
    assert result.outputs["bastion"] == "<unknown>"
    assert f"Host {CLUSTER}-node-*\n" in result.outputs["ssm"]
