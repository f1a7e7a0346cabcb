"""LoginAccess and LoginTargets under mocks: internal NLB on 22, targets from the login ENIs, SSH-only
security groups, one host identity kept in Secrets Manager."""

from __future__ import annotations

import json

from stack_config import ConfigError
from tests.conftest import P
from tools.harness import DEPLOYER_ROLE
from tools.preview import plan_of

LB = "aws:lb/loadBalancer:LoadBalancer"
ATTACH = "aws:lb/targetGroupAttachment:TargetGroupAttachment"


def _login_targets(run):
    """The login NLB's target attachments (the directory NLB has its own)."""
    return [a for a in run.of_type(ATTACH) if a.name.startswith("hp-dev-login-")]


def test_nlb_is_internal_across_private_subnets(dev_run):
    """An internal network load balancer in every private subnet (two AZs), cross-zone on."""
    nlb = dev_run.named("hp-dev-login", LB).inputs
    assert nlb["loadBalancerType"] == "network" and nlb["internal"] is True
    assert nlb["enableCrossZoneLoadBalancing"] is True
    assert sorted(nlb["subnets"]) == sorted(
        dev_run.named(f"hp-dev-private-{i}", "aws:ec2/subnet:Subnet").outputs["id"] for i in (0, 1)
    )
    assert nlb["securityGroups"] == [dev_run.named("hp-dev-nlb-sg").outputs["id"]]


def test_listener_target_group_health_check_stickiness(dev_config, run_stack, dev_run):
    """TCP 22 listener forwarding to an IP target group on 22 with a TCP health check and source-IP
    stickiness (on by default, off by config)."""
    tg = dev_run.named("hp-dev-login", "aws:lb/targetGroup:TargetGroup")
    assert (tg.inputs["port"], tg.inputs["protocol"], tg.inputs["targetType"]) == (22, "TCP", "ip")
    assert tg.inputs["healthCheck"]["protocol"] == "TCP"
    assert tg.inputs["stickiness"] == {"type": "source_ip", "enabled": True}
    listener = dev_run.named("hp-dev-login-ssh", "aws:lb/listener:Listener").inputs
    assert (listener["port"], listener["protocol"]) == (22, "TCP")
    assert listener["defaultActions"] == [{"type": "forward", "targetGroupArn": tg.outputs["arn"]}]
    assert listener["loadBalancerArn"] == dev_run.named("hp-dev-login", LB).outputs["arn"]
    dev_config[P + "login"]["stickiness"] = False
    assert (
        run_stack(dev_config).named("hp-dev-login", "aws:lb/targetGroup:TargetGroup").inputs["stickiness"]["enabled"]
        is False
    )


def test_targets_come_from_login_enis_after_the_cluster(dev_run):
    """One attachment per login node, IPs from the login group's ENIs in the VPC (sorted), and the lookup
    is ordered after the cluster so new nodes are found."""
    lookups = [args for token, args in dev_run.calls if token == "aws:ec2/getNetworkInterfaces:getNetworkInterfaces"]
    assert len(lookups) == 1
    filters = {f["name"]: f["values"] for f in lookups[0]["filters"]}
    assert filters == {"vpc-id": [dev_run.one("aws:ec2/vpc:Vpc").outputs["id"]], "description": ["*login*"]}
    attachments = sorted(_login_targets(dev_run), key=lambda r: r.name)
    assert [a.inputs["targetId"] for a in attachments] == ["10.20.0.10", "10.20.1.11"]
    assert all(a.inputs["port"] == 22 for a in attachments)
    cluster = dev_run.one("aws-native:sagemaker:Cluster").urn
    assert all(cluster in a.dependencies for a in attachments)


def test_fixed_target_ips_skip_the_lookup(dev_config, run_stack):
    """Configured IPs are used as given, with no ENI lookup."""
    dev_config[P + "login"]["targetIps"] = ["10.20.0.5", "10.20.64.5"]
    result = run_stack(dev_config)
    assert sorted(a.inputs["targetId"] for a in _login_targets(result)) == ["10.20.0.5", "10.20.64.5"]
    assert not [t for t, _ in result.calls if t.startswith("aws:ec2/getNetworkInterface")]


def test_replaced_login_node_changes_its_target(dev_config, run_stack):
    """When a login node's ENI has a new IP, the same attachment gets the new target (a replacement the
    preview shows), and the other node's target is unchanged."""
    before = {a.name: a.inputs["targetId"] for a in _login_targets(run_stack(dev_config))}
    dev_config[P + "login"]["targetIps"] = [before["hp-dev-login-0"], "10.20.7.99"]
    after = {a.name: a.inputs["targetId"] for a in _login_targets(run_stack(dev_config))}
    assert after["hp-dev-login-0"] == before["hp-dev-login-0"] and after["hp-dev-login-1"] == "10.20.7.99"


def test_security_groups_admit_only_ssh(dev_run):
    """The NLB admits TCP 22 only, from the VPC and the configured client ranges; it sends only 22 to the
    cluster; the cluster admits 22 from the NLB's group."""
    nlb_sg = dev_run.named("hp-dev-nlb-sg").outputs["id"]
    cluster_sg = dev_run.named("hp-dev-cluster-sg").outputs["id"]
    rules = dev_run.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    nlb_in = [r.inputs for r in rules if r.inputs["securityGroupId"] == nlb_sg]
    assert {(r["ipProtocol"], r["fromPort"], r["toPort"]) for r in nlb_in} == {("tcp", 22, 22)}
    assert sorted(r["cidrIpv4"] for r in nlb_in) == ["10.20.0.0/16", "10.255.0.0/22", "192.168.100.0/24"]
    egress = [
        r.inputs
        for r in dev_run.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
        if r.inputs["securityGroupId"] == nlb_sg
    ]
    assert egress == [
        {**egress[0], "ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "referencedSecurityGroupId": cluster_sg}
    ]
    from_nlb = [
        r.inputs
        for r in rules
        if r.inputs["securityGroupId"] == cluster_sg and r.inputs.get("referencedSecurityGroupId") == nlb_sg
    ]
    assert [(r["fromPort"], r["toPort"]) for r in from_nlb] == [(22, 22)]


def test_world_ssh_is_refused_by_config(dev_config, run_stack):
    """0.0.0.0/0 as a client range is a config error, before any resource."""
    dev_config[P + "login"]["allowedCidrs"] = ["0.0.0.0/0"]
    result = run_stack(dev_config)
    assert isinstance(result.error, ConfigError) and result.registrations == []
    assert "login.allowedCidrs = " in str(result.error) and "open SSH to the world" in str(result.error)


def test_host_keys_are_secrets_and_only_the_role_reads_them(dev_run):
    """The private host keys exist only inside a secret value; outputs carry public keys only; the
    execution role may read exactly that secret."""
    version = dev_run.named("hp-dev-host-keys", "aws:secretsmanager/secretVersion:SecretVersion")
    assert set(version.inputs["secretString"]) == {"<secret>"}
    material = json.loads(version.inputs["secretString"]["<secret>"])
    assert set(material) == {
        "ssh_host_ed25519_key",
        "ssh_host_ed25519_key.pub",
        "ssh_host_ecdsa_key",
        "ssh_host_ecdsa_key.pub",
    }
    plan = json.dumps(plan_of(dev_run)) + json.dumps(dev_run.outputs)
    for key in ("ssh_host_ed25519_key", "ssh_host_ecdsa_key"):
        assert material[key].strip() not in plan
    secret = dev_run.named("hp-dev-host-keys", "aws:secretsmanager/secret:Secret").outputs["arn"]
    statements = json.loads(dev_run.named("hp-dev-vpc-and-lifecycle").inputs["policy"])["Statement"]
    reads = [s for s in statements if "secretsmanager" in json.dumps(s["Action"])]
    bind = dev_run.named("hp-dev-ldap-bind", "aws:secretsmanager/secret:Secret").outputs["arn"]
    assert reads == [
        {
            "Sid": "ReadNamedSecrets",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": [secret, bind],
        }
    ]


def test_known_hosts_output_and_host_name(dev_run):
    """Outputs: the NLB DNS name, and one known_hosts line per host key for that name."""
    host = dev_run.named("hp-dev-login", LB).outputs["dnsName"]
    assert dev_run.outputs["loginHost"] == host
    lines = dev_run.outputs["loginKnownHosts"].splitlines()
    keys = {
        k.name: k.outputs["publicKeyOpenssh"].strip()
        for k in dev_run.of_type("tls:index/privateKey:PrivateKey")
        if "-host-" in k.name
    }
    assert sorted(lines) == sorted(f"{host} {pub}" for pub in keys.values())
    platform = json.loads(dev_run.named("hp-dev-generated-platform.json").inputs["content"])
    assert platform["login"] == {
        "host_keys_secret_id": dev_run.named("hp-dev-host-keys", "aws:secretsmanager/secret:Secret").outputs["arn"],
        "host_name": host,
    }


def test_bumping_version_rotates_host_keys(dev_config, run_stack, dev_run):
    """A new hostKeyVersion makes new key resources (new keys), replacing the old ones."""
    old = {k.name for k in dev_run.of_type("tls:index/privateKey:PrivateKey") if "-host-" in k.name}
    dev_config[P + "login"]["hostKeyVersion"] = 2
    new = {k.name for k in run_stack(dev_config).of_type("tls:index/privateKey:PrivateKey") if "-host-" in k.name}
    assert old == {"hp-dev-host-ed25519-v1", "hp-dev-host-ecdsa-v1"}
    assert new == {"hp-dev-host-ed25519-v2", "hp-dev-host-ecdsa-v2"}


def test_no_login_group_no_nlb(dev_config, run_stack):
    """Without a login group there is no NLB, secret or target, and platform.json says login is off."""
    groups = dev_config[P + "cluster"]["instanceGroups"]
    dev_config[P + "cluster"]["instanceGroups"] = [g for g in groups if g["role"] != "login"]
    dev_config.pop(P + "login")
    result = run_stack(dev_config)
    assert result.error is None, result.error
    assert not [r for r in result.of_type(LB) if "login" in r.name]
    assert not [r for r in result.of_type("aws:secretsmanager/secret:Secret") if "host-keys" in r.name]
    assert '"login": null' in result.named("hp-dev-generated-platform.json").inputs["content"]


def test_host_key_secret_refuses_everyone_but_the_execution_role(dev_run):
    """The secret's resource policy denies GetSecretValue to any principal other than the execution role and
    the role that deploys the stack."""
    secret = dev_run.named("hp-dev-host-keys", "aws:secretsmanager/secret:Secret").outputs["arn"]
    role = next(r for r in dev_run.of_type("aws:iam/role:Role") if r.name == "hp-dev-role").outputs["arn"]
    (policy,) = [
        p for p in dev_run.of_type("aws:secretsmanager/secretPolicy:SecretPolicy") if p.inputs["secretArn"] == secret
    ]
    assert policy.inputs["secretArn"] == secret
    (stmt,) = json.loads(policy.inputs["policy"])["Statement"]
    assert (stmt["Effect"], stmt["Action"], stmt["Resource"]) == ("Deny", "secretsmanager:GetSecretValue", secret)
    assert stmt["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": sorted([role, DEPLOYER_ROLE])}}
