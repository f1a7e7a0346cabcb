"""DirectoryConnection: the SSM parameter that tells nodes how to reach the directory, published only once the
directory, its contents and the LDAPS endpoint exist; and the plan-time directory section of platform.json."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pytest

from hyperpod_platform import DirectoryConnection, DirectoryConnectionArgs
from hyperpod_platform.directory_connection import connection_value, node_settings, parameter_name, tier_for
from hyperpod_platform.settings import DirectorySettings
from tools import harness

PARAMETER = "aws:ssm/parameter:Parameter"
CA = "-----BEGIN CERTIFICATE-----\nMIIBcomponentTestCA\n-----END CERTIFICATE-----\n"
DNS = {
    "ClusterAdmin": "CN=ClusterAdmin,OU=Users,DC=corp",
    "ClusterDev": "CN=ClusterDev,OU=Users,DC=corp",
    "Finance": "CN=Finance,OU=Users,DC=corp",
}
PASSWORD = "Bind-Password-Not-Here-9!"
NAME = "hp"
PARAMETER_NAME = parameter_name(NAME)
TAGS = {"Cluster": NAME}
GROUPS = ("ClusterAdmin", "ClusterDev")
CONFIG = {"aws:region": "us-east-1", "aws-native:region": "us-east-1"}


def _program(ca: str = CA, groups: tuple[str, ...] = GROUPS):
    def program():
        secret = aws.secretsmanager.Secret("bind")
        aws.secretsmanager.SecretVersion("bind", secret_id=secret.id, secret_string=pulumi.Output.secret(PASSWORD))
        contents = pulumi.ComponentResource("test:index:Contents", "contents")
        dns = pulumi.CustomResource(
            "test:index:Dns",
            "contents-dns",
            {"bind_dn": "CN=ReadOnly,OU=Users,DC=corp", "group_dns": DNS},
            opts=pulumi.ResourceOptions(parent=contents),
        )
        listener = aws.lb.Listener(
            "ldaps",
            load_balancer_arn="arn:aws:elasticloadbalancing:us-east-1:1:lb/x",
            port=636,
            protocol="TLS",
            default_actions=[],
        )
        conn = DirectoryConnection(
            NAME,
            DirectoryConnectionArgs(
                parameter_name=PARAMETER_NAME,
                ldaps_uri=listener.arn.apply(lambda _: "ldaps://ldaps.corp"),  # resolves once the listener exists
                bind_dn=dns.bind_dn,
                bind_secret_arn=secret.arn,
                group_dns=dns.group_dns,
                groups=groups,
                ca_certificate_pem=ca,
                tags=TAGS,
            ),
        )
        pulumi.export("name", conn.parameter_name)

    return program


def test_publishes_the_connection_once_its_inputs_exist():
    """One String parameter named as given, tagged, whose JSON value has exactly the agreed keys, the DNs of
    the named groups only, and the bind secret's ARN but not its value; it depends on the resources its inputs
    come from (the contents' child, the listener) and on the bind secret."""
    result = harness.run_program(_program(), CONFIG, preview=False)
    assert result.error is None, result.error
    component = result.one("hyperpod-platform:index:DirectoryConnection")
    param = result.one(PARAMETER)
    assert param.name == f"{NAME}-directory-connection" and param.parent == component.urn
    i = param.inputs
    assert (i["name"], i["type"], i["tier"], i["tags"]) == (PARAMETER_NAME, "String", "Standard", TAGS)
    assert "value" not in i and isinstance(i["insecureValue"], str)  # plain: nothing in it is a secret
    value = json.loads(i["insecureValue"])
    secret_arn = result.named("bind", "aws:secretsmanager/secret:Secret").outputs["arn"]
    assert value == {
        "schema": 1,
        "ldaps_uri": "ldaps://ldaps.corp",
        "bind_dn": "CN=ReadOnly,OU=Users,DC=corp",
        "bind_secret_id": secret_arn,
        "group_dns": {g: DNS[g] for g in GROUPS},
        "ca_cert_pem": CA,
    }
    assert PASSWORD not in i["insecureValue"] and "PRIVATE KEY" not in i["insecureValue"]
    deps = set(param.dependencies)
    for name in ("contents-dns", "ldaps", "bind"):
        assert result.named(name, None if name != "bind" else "aws:secretsmanager/secret:Secret").urn in deps, name
    assert result.outputs["name"] == PARAMETER_NAME


def test_preview_with_unknown_values_registers_the_parameter():
    result = harness.run_program(_program(), CONFIG, preview=True)
    assert result.error is None, result.error
    assert result.one(PARAMETER).inputs["name"] == PARAMETER_NAME


def test_tier_fits_the_value():
    """Standard up to 4 KB, Advanced up to 8 KB, and a value no tier holds is an error naming the size."""
    assert tier_for("x" * 4096) == "Standard" and tier_for("x" * 4097) == "Advanced"
    assert tier_for("é" * 2049) == "Advanced"  # bytes, not characters
    with pytest.raises(ValueError, match="8193 bytes"):
        tier_for("x" * 8193)
    big_ca = CA * 60  # a long chain given in config
    result = harness.run_program(_program(ca=big_ca), CONFIG, preview=False)
    assert result.error is None, result.error
    assert result.one(PARAMETER).inputs["tier"] == "Advanced"


def test_a_group_without_a_dn_fails():
    """A group the nodes admit but the contents have no DN for stops the deployment (not an empty filter)."""
    with pytest.raises(ValueError, match="no DN for Nobody"):
        connection_value("ldaps://h", "CN=b", "arn:s", DNS, CA, groups=("ClusterAdmin", "Nobody"))


def test_node_settings_are_plan_time_only():
    """The platform.json section from settings alone: per-role allow lists (a role not configured gets
    allowedGroups), no URI, DN, secret or CA."""
    s = DirectorySettings(
        enabled=True, domain_name="corp.example.com", allowed_groups_by_role={"controller": ("ClusterAdmin",)}
    )
    assert node_settings(s, PARAMETER_NAME, "/fsx/home/%u").to_dict() == {
        "domain": "corp.example.com",
        "search_base": "DC=corp,DC=example,DC=com",
        "bind_user": "ReadOnly",
        "connection_parameter": PARAMETER_NAME,
        "allowed_groups_by_role": {
            "controller": ["ClusterAdmin"],
            "login": ["ClusterAdmin", "ClusterDev"],
            "compute": ["ClusterAdmin", "ClusterDev"],
        },
        "sudo_groups": ["ClusterAdmin"],
        "local_groups": ["ubuntu"],
        "default_shell": "/bin/bash",
        "home_dir": "/fsx/home/%u",
    }


def test_parameter_name_is_known_at_plan_time_and_per_cluster():
    """The name nodes and the execution role use: under the project's prefix, one per cluster."""
    assert parameter_name(NAME) == f"/hyperpod-platform/{NAME}/directory"
    assert parameter_name("other") != parameter_name(NAME)


def test_a_group_without_a_dn_stops_the_deployment():
    """Through the component: a group the nodes admit that the contents report no DN for fails the run, naming
    the group (no parameter with a partial filter is published)."""
    result = harness.run_program(_program(groups=("ClusterAdmin", "Nobody")), CONFIG, preview=False)
    assert result.error is not None and "no DN for Nobody" in str(result.error)
    assert not result.of_type(PARAMETER)
