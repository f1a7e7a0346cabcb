"""LoginAccess, built on its own under mocks: an internal NLB on 22, SSH-only security groups, one host
identity kept in Secrets Manager. The targets are LoginTargets' (tests/test_login_targets.py); how the shipped
stack wires login access to the role, the cluster and platform.json is in tests/test_stack_dev.py."""

from __future__ import annotations

import dataclasses
import json

import pulumi

from hyperpod_platform import LoginAccess, LoginAccessArgs
from hyperpod_platform.settings import LoginSettings
from tools.harness import run_program
from tools.preview import plan_of

CONFIG = {"aws:region": "us-east-1", "aws-native:region": "us-east-1"}
NAME = "t"
LOGIN_GROUP = "entry"
VPC = "vpc-0123456789abcdef0"
VPC_CIDR = "10.0.0.0/16"
SUBNETS = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
CLUSTER_SG = "sg-0c0c0c0c0c0c0c0c0"
VPN_CIDR = "10.255.0.0/22"
SETTINGS = LoginSettings(allowed_cidrs=("192.168.100.0/24",))
LB = "aws:lb/loadBalancer:LoadBalancer"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
KEY = "tls:index/privateKey:PrivateKey"
SECRET = "aws:secretsmanager/secret:Secret"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"


def run_login(settings: LoginSettings = SETTINGS, *, preview: bool = False, client_cidrs=(VPN_CIDR,)):
    def program():
        login = LoginAccess(
            NAME,
            LoginAccessArgs(
                settings=settings,
                login_group=LOGIN_GROUP,
                vpc_id=VPC,
                vpc_cidr=VPC_CIDR,
                subnet_ids=SUBNETS,
                cluster_security_group_id=CLUSTER_SG,
                tags={"Project": "unit"},
                client_cidrs=list(client_cidrs),
            ),
        )
        pulumi.export("host_name", login.host_name)
        pulumi.export("known_hosts", login.known_hosts)
        pulumi.export("host_keys_secret_arn", login.host_keys_secret.arn)
        pulumi.export("security_group_id", login.security_group.id)
        pulumi.export("target_group_arn", login.target_group.arn)

    result = run_program(program, CONFIG, preview=preview)
    assert result.error is None, result.error
    return result


def nlb_sg_id(result) -> str:
    (sg,) = result.of_type(SECURITY_GROUP)
    return sg.outputs["id"]


def test_nlb_is_internal_across_the_given_subnets_behind_its_own_security_group():
    """An internal network load balancer in every given private subnet, cross-zone on, with the component's
    own security group (in the given VPC)."""
    result = run_login()
    nlb = result.one(LB).inputs
    assert nlb["loadBalancerType"] == "network" and nlb["internal"] is True
    assert nlb["enableCrossZoneLoadBalancing"] is True
    assert nlb["subnets"] == SUBNETS
    (sg,) = result.of_type(SECURITY_GROUP)
    assert nlb["securityGroups"] == [sg.outputs["id"]] and sg.inputs["vpcId"] == VPC
    assert result.outputs["security_group_id"] == sg.outputs["id"]


def test_listener_forwards_tcp_22_to_an_ip_target_group_with_tcp_health_checks():
    """TCP 22 listener forwarding to an IP target group on 22 in the VPC, with a TCP health check on the
    traffic port."""
    result = run_login()
    tg = result.one(TARGET_GROUP)
    assert (tg.inputs["port"], tg.inputs["protocol"], tg.inputs["targetType"]) == (22, "TCP", "ip")
    assert tg.inputs["vpcId"] == VPC
    assert tg.inputs["healthCheck"]["protocol"] == "TCP" and tg.inputs["healthCheck"]["port"] == "traffic-port"
    listener = result.one("aws:lb/listener:Listener").inputs
    assert (listener["port"], listener["protocol"]) == (22, "TCP")
    assert listener["defaultActions"] == [{"type": "forward", "targetGroupArn": tg.outputs["arn"]}]
    assert listener["loadBalancerArn"] == result.one(LB).outputs["arn"]
    assert result.outputs["target_group_arn"] == tg.outputs["arn"]


def test_source_ip_stickiness_is_on_unless_settings_turn_it_off():
    assert run_login().one(TARGET_GROUP).inputs["stickiness"] == {"type": "source_ip", "enabled": True}
    off = run_login(dataclasses.replace(SETTINGS, stickiness=False))
    assert off.one(TARGET_GROUP).inputs["stickiness"] == {"type": "source_ip", "enabled": False}


def test_nlb_admits_ssh_only_from_the_vpc_the_client_ranges_and_the_allowed_cidrs():
    """TCP 22 only, from the VPC, the extra client ranges (e.g. the VPN's) and the configured ranges."""
    result = run_login()
    sg = nlb_sg_id(result)
    nlb_in = [r.inputs for r in result.of_type(INGRESS) if r.inputs["securityGroupId"] == sg]
    assert {(r["ipProtocol"], r["fromPort"], r["toPort"]) for r in nlb_in} == {("tcp", 22, 22)}
    assert sorted(r["cidrIpv4"] for r in nlb_in) == sorted([VPC_CIDR, VPN_CIDR, *SETTINGS.allowed_cidrs])
    without_vpn = run_login(client_cidrs=())
    sg = nlb_sg_id(without_vpn)
    assert sorted(r.inputs["cidrIpv4"] for r in without_vpn.of_type(INGRESS) if r.inputs["securityGroupId"] == sg) == (
        sorted([VPC_CIDR, *SETTINGS.allowed_cidrs])
    )


def test_nlb_sends_only_ssh_to_the_cluster_which_admits_ssh_from_the_nlb():
    """The NLB's only egress is TCP 22 to the cluster security group; the cluster group gets one rule: 22 from
    the NLB's group."""
    result = run_login()
    sg = nlb_sg_id(result)
    egress = [r.inputs for r in result.of_type(EGRESS)]
    assert [
        (r["securityGroupId"], r["ipProtocol"], r["fromPort"], r["toPort"], r["referencedSecurityGroupId"])
        for r in egress
    ] == [(sg, "tcp", 22, 22, CLUSTER_SG)]
    assert "cidrIpv4" not in egress[0]
    to_cluster = [r.inputs for r in result.of_type(INGRESS) if r.inputs["securityGroupId"] == CLUSTER_SG]
    assert [(r["ipProtocol"], r["fromPort"], r["toPort"], r["referencedSecurityGroupId"]) for r in to_cluster] == [
        ("tcp", 22, 22, sg)
    ]


def test_host_keys_are_ed25519_and_ecdsa_p256():
    keys = {k.name: k.inputs for k in run_login().of_type(KEY)}
    assert keys == {
        f"{NAME}-host-ed25519-v1": {**keys[f"{NAME}-host-ed25519-v1"], "algorithm": "ED25519"},
        f"{NAME}-host-ecdsa-v1": {**keys[f"{NAME}-host-ecdsa-v1"], "algorithm": "ECDSA", "ecdsaCurve": "P256"},
    }


def test_private_host_keys_exist_only_inside_a_secret_value():
    """The secret version holds both key pairs as a secret; neither private key appears anywhere else in the
    plan or in the outputs, which carry public keys only."""
    result = run_login()
    secret = result.one(SECRET)
    version = result.one(SECRET_VERSION)
    assert version.inputs["secretId"] == secret.outputs["id"]
    assert set(version.inputs["secretString"]) == {"<secret>"}
    material = json.loads(version.inputs["secretString"]["<secret>"])
    assert set(material) == {
        "ssh_host_ed25519_key",
        "ssh_host_ed25519_key.pub",
        "ssh_host_ecdsa_key",
        "ssh_host_ecdsa_key.pub",
    }
    assert all(value.endswith("\n") and not value.endswith("\n\n") for value in material.values())
    keys = {k.name.split("-host-")[1].split("-v")[0]: k.outputs for k in result.of_type(KEY)}
    for kind, out in keys.items():
        assert material[f"ssh_host_{kind}_key"] == out["privateKeyOpenssh"].strip() + "\n"
        assert material[f"ssh_host_{kind}_key.pub"] == out["publicKeyOpenssh"].strip() + "\n"
    plan = json.dumps(plan_of(result)) + json.dumps(result.outputs)
    for key in ("ssh_host_ed25519_key", "ssh_host_ecdsa_key"):
        assert material[key].strip() not in plan


def test_host_key_secret_is_recoverable_for_a_week_and_names_the_login_group():
    result = run_login()
    secret = result.one(SECRET)
    assert secret.inputs["recoveryWindowInDays"] == 7
    assert LOGIN_GROUP in secret.inputs["description"]
    assert result.outputs["host_keys_secret_arn"] == secret.outputs["arn"]


def test_known_hosts_has_one_line_per_host_key_for_the_nlb_name():
    """host_name is the NLB's DNS name; known_hosts one line per host key for that name."""
    result = run_login()
    host = result.one(LB).outputs["dnsName"]
    assert result.outputs["host_name"] == host
    public = [k.outputs["publicKeyOpenssh"].strip() for k in result.of_type(KEY)]
    assert len(public) == 2
    assert sorted(result.outputs["known_hosts"].splitlines()) == sorted(f"{host} {pub}" for pub in public)
    assert result.outputs["known_hosts"].endswith("\n")


def test_bumping_host_key_version_makes_new_keys():
    """A new host_key_version makes new key resources (new keys), replacing the old ones."""
    old = {k.name for k in run_login().of_type(KEY)}
    new = {k.name for k in run_login(dataclasses.replace(SETTINGS, host_key_version=2)).of_type(KEY)}
    assert old == {f"{NAME}-host-ed25519-v1", f"{NAME}-host-ecdsa-v1"}
    assert new == {f"{NAME}-host-ed25519-v2", f"{NAME}-host-ecdsa-v2"}


def test_every_resource_is_a_child_named_after_the_component_and_the_plan_is_known_at_preview():
    result = run_login()
    (component,) = result.of_type("hyperpod-platform:index:LoginAccess")
    children = [r for r in result.registrations if r is not component]
    assert children and all(r.parent == component.urn and r.name.startswith(f"{NAME}-") for r in children)
    preview = run_login(preview=True)
    assert sorted((r.type, r.name) for r in preview.registrations) == sorted(
        (r.type, r.name) for r in result.registrations
    )
