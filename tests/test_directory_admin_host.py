"""DirectoryAdminHost, built directly under mocks: a private Windows instance (IMDSv2, encrypted, no inbound
rule) with the AD tools, joined to the directory through SSM, with a role for SSM and the domain join only."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
from pulumi.runtime import mocks as pmocks

from hyperpod_platform import DirectoryAdminHost, DirectoryAdminHostArgs
from hyperpod_platform.directory_admin_host import WINDOWS_AMI_PARAMETER
from tools.harness import AwsMocks, RunResult, run_program

COMPONENT = "hyperpod-platform:index:DirectoryAdminHost"
INSTANCE = "aws:ec2/instance:Instance"
ROLE = "aws:iam/role:Role"
PROFILE = "aws:iam/instanceProfile:InstanceProfile"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
ASSOCIATION = "aws:ssm/association:Association"
CONFIG = {"aws:region": "us-east-1", "aws-native:region": "us-east-1"}

NAME = "t"
DOMAIN = "corp.example.com"
VPC_ID = "vpc-0123456789abcdef0"
TAGS = {"Cluster": NAME}


def _run(preview: bool = False) -> RunResult:
    """The admin host in a tiny private subnet, joining a tiny directory (its id and DNS IPs are outputs)."""

    def program():
        subnet = aws.ec2.Subnet("private", vpc_id=VPC_ID, cidr_block="10.20.0.0/24")
        directory = aws.directoryservice.Directory("directory", name=DOMAIN, password="x", type="MicrosoftAD")
        host = DirectoryAdminHost(
            NAME,
            DirectoryAdminHostArgs(
                directory_id=directory.id,
                domain_name=DOMAIN,
                dns_ips=directory.dns_ip_addresses,
                vpc_id=VPC_ID,
                subnet_id=subnet.id,
                instance_type="t3.medium",
                tags=TAGS,
            ),
        )
        pulumi.export("instanceId", host.instance.id)

    result = run_program(program, CONFIG, preview=preview)
    assert result.error is None, result.error
    return result


def _mine(result: RunResult, typ: str) -> list:
    component = result.one(COMPONENT)
    return [r for r in result.of_type(typ) if r.parent == component.urn]


def test_instance_is_private_imdsv2_encrypted_windows_with_the_ad_tools():
    """The instance sits in the given subnet with no public IP, IMDSv2 only, an encrypted gp3 root disk, the
    latest Windows Server image from SSM, the given type and the component's instance profile and security
    group; its user data installs the AD tools."""
    result = _run()
    (instance,) = _mine(result, INSTANCE)
    i = instance.inputs
    assert i["subnetId"] == result.named("private", "aws:ec2/subnet:Subnet").outputs["id"]
    assert i["associatePublicIpAddress"] is False and i["metadataOptions"]["httpTokens"] == "required"
    assert i["rootBlockDevice"]["encrypted"] is True and i["rootBlockDevice"]["volumeType"] == "gp3"
    ami_lookups = [a for t, a in result.calls if t == "aws:ssm/getParameter:getParameter"]
    assert [a["name"] for a in ami_lookups] == [WINDOWS_AMI_PARAMETER]
    found = AwsMocks(CONFIG["aws:region"], preview=False).call(
        pmocks.MockCallArgs(
            token="aws:ssm/getParameter:getParameter", args={"name": WINDOWS_AMI_PARAMETER}, provider=""
        )
    )
    assert i["ami"] == found["value"]  # the image the parameter names
    assert i["instanceType"] == "t3.medium"
    (profile,) = _mine(result, PROFILE)
    (sg,) = _mine(result, SG)
    assert i["iamInstanceProfile"] == profile.outputs["name"] and i["vpcSecurityGroupIds"] == [sg.outputs["id"]]
    assert "Install-WindowsFeature" in i["userData"] and "RSAT-AD-PowerShell" in i["userData"]
    assert i["tags"] == {**TAGS, "Name": f"{NAME}-ad-admin"}
    assert result.outputs["instanceId"] == instance.outputs["id"]


def test_security_group_has_no_inbound_rule():
    """Reached through SSM only: the group admits nothing, and may go out (SSM, Windows Update, the directory)."""
    result = _run()
    (sg,) = _mine(result, SG)
    assert sg.inputs["vpcId"] == VPC_ID
    assert not [r for r in result.of_type(INGRESS) if r.inputs["securityGroupId"] == sg.outputs["id"]]
    (egress,) = _mine(result, EGRESS)
    assert egress.inputs["securityGroupId"] == sg.outputs["id"] and egress.inputs["ipProtocol"] == "-1"


def test_joins_the_directory_through_ssm():
    """An SSM association runs AWS-JoinDirectoryServiceDomain on the instance with the directory's id, domain
    name and domain controllers (sorted, comma-separated)."""
    result = _run()
    directory = result.named("directory", "aws:directoryservice/directory:Directory").outputs
    (join,) = _mine(result, ASSOCIATION)
    j = join.inputs
    assert j["name"] == "AWS-JoinDirectoryServiceDomain"
    assert j["targets"] == [{"key": "InstanceIds", "values": [result.one(INSTANCE).outputs["id"]]}]
    assert j["parameters"] == {
        "directoryId": directory["id"],
        "directoryName": DOMAIN,
        "dnsIpAddresses": ",".join(sorted(directory["dnsIpAddresses"])),
    }


def test_role_has_ssm_and_directory_join_only_and_trusts_ec2():
    """The instance role carries only the SSM core and directory-join managed policies, and trusts EC2; the
    instance profile holds it."""
    result = _run()
    (role,) = _mine(result, ROLE)
    attached = sorted(r.inputs["policyArn"] for r in _mine(result, ATTACHMENT))
    assert attached == [
        "arn:aws:iam::aws:policy/AmazonSSMDirectoryServiceAccess",
        "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
    ]
    assert all(r.inputs["role"] == role.outputs["name"] for r in _mine(result, ATTACHMENT))
    (stmt,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert stmt == {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    assert not result.of_type("aws:iam/rolePolicy:RolePolicy")
    (profile,) = _mine(result, PROFILE)
    assert profile.inputs["role"] == role.outputs["name"]


def test_preview_registers_the_host_with_an_unknown_directory():
    """In a first preview the directory's id and DNS IPs are unknown; the host and its join are registered."""
    result = _run(preview=True)
    assert len(_mine(result, INSTANCE)) == 1 and len(_mine(result, ASSOCIATION)) == 1
