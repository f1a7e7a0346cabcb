"""DirectoryAdminHost under mocks: optional, private, IMDSv2, encrypted, no inbound, joined through SSM."""

from __future__ import annotations

from tests.conftest import P

DIRECTORY = "aws:directoryservice/directory:Directory"


def test_admin_instance_only_by_config(dev_config, run_stack, dev_run):
    """No admin instance by default; with adminInstance it is a private, IMDSv2, encrypted Windows instance
    with no inbound rule, joined to the directory through SSM."""
    assert not [r for r in dev_run.of_type("aws:ec2/instance:Instance") if "ad-admin" in r.name]
    dev_config[P + "directory"]["adminInstance"] = True
    result = run_stack(dev_config)
    inst = result.named("hp-dev-ad-admin", "aws:ec2/instance:Instance").inputs
    assert inst["subnetId"] == result.named("hp-dev-private-0").outputs["id"]
    assert inst["associatePublicIpAddress"] is False and inst["metadataOptions"]["httpTokens"] == "required"
    assert inst["rootBlockDevice"]["encrypted"] is True and inst["ami"] == "ami-0123456789abcdef0"
    sg = result.named("hp-dev-ad-admin-sg").outputs["id"]
    assert not [
        r
        for r in result.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r.inputs["securityGroupId"] == sg
    ]
    join = result.named("hp-dev-ad-admin-join").inputs
    assert join["name"] == "AWS-JoinDirectoryServiceDomain"
    assert join["parameters"]["directoryId"] == result.one(DIRECTORY).outputs["id"]
    assert join["parameters"]["dnsIpAddresses"] == "10.20.0.10,10.20.64.10"


def test_admin_instance_role_has_ssm_and_directory_join_only(dev_config, run_stack):
    """The instance role carries only the SSM core and directory-join managed policies, and trusts EC2."""
    dev_config[P + "directory"]["adminInstance"] = True
    result = run_stack(dev_config)
    attached = sorted(
        r.inputs["policyArn"]
        for r in result.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if r.name.startswith("hp-dev-ad-admin-")
    )
    assert attached == [
        "arn:aws:iam::aws:policy/AmazonSSMDirectoryServiceAccess",
        "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
    ]
    trust = result.named("hp-dev-ad-admin", "aws:iam/role:Role").inputs["assumeRolePolicy"]
    assert '"ec2.amazonaws.com"' in trust
