"""stack_config: every bad value is reported with key, value, reason and fix, all at once, before any
resource is registered."""
from __future__ import annotations

import pytest

import stack_config
from stack_config import ConfigError
from tests.conftest import P


def _set(path: str, value):
    """A mutation that sets a dotted path (``cluster.instanceGroups.1.name``) in a stack config."""
    def mutate(cfg):
        top, *rest = path.split(".")
        if not rest:
            cfg[P + top] = value
            return
        node = cfg.setdefault(P + top, {})
        for part in rest[:-1]:
            node = node[int(part)] if isinstance(node, list) else node[part]
        last = rest[-1]
        if isinstance(node, list):
            node[int(last)] = value
        elif value is _DELETE:
            node.pop(last, None)
        else:
            node[last] = value
    return mutate


_DELETE = object()


def _groups(mutate_groups):
    def mutate(cfg):
        mutate_groups(cfg[P + "cluster"]["instanceGroups"])
    return mutate


BAD_CONFIGS = [
    # (id, mutation, key path named in the message, words of the reason)
    ("group-underscore", _set("cluster.instanceGroups.2.name", "worker_group"),
     "cluster.instanceGroups[2].name", "no underscores"),
    ("cluster-name-pattern", lambda c: c.__setitem__(P + "clusterName", "hp_dev!"), "clusterName", "pattern"),
    ("cluster-name-long", lambda c: c.__setitem__(P + "clusterName", "a" * 64), "clusterName", "1-63"),
    ("cluster-name-missing", lambda c: c.pop(P + "clusterName"), "clusterName", "is required"),
    ("region-missing", lambda c: c.pop("aws:region"), "aws:region", "region is not set"),
    ("one-az", _set("network.availabilityZones", ["us-east-1a"]), "network.availabilityZones", "at least 2 AZs"),
    ("az-other-region", _set("network.availabilityZones", ["us-east-1a", "us-west-2b"]),
     "network.availabilityZones[1]", "not in the stack's region"),
    ("az-duplicate", _set("network.availabilityZones", ["us-east-1a", "us-east-1a"]),
     "network.availabilityZones", "twice"),
    ("vpc-cidr-invalid", _set("network.vpcCidr", "10.20.0.0/33"), "network.vpcCidr", "not a valid IPv4 CIDR"),
    ("vpc-cidr-host-bits", _set("network.vpcCidr", "10.20.0.1/16"), "network.vpcCidr", "not a valid IPv4 CIDR"),
    ("vpc-cidr-too-big", _set("network.vpcCidr", "10.0.0.0/8"), "network.vpcCidr", "/16 and /28"),
    ("subnet-outside-vpc", _set("network.privateSubnetCidrs", ["10.20.0.0/18", "10.99.0.0/18"]),
     "network.privateSubnetCidrs[1]", "not inside the VPC CIDR"),
    ("subnets-overlap", _set("network.publicSubnetCidrs", ["10.20.0.0/24", "10.20.193.0/24"]),
     "network.publicSubnetCidrs[0]", "overlaps network.privateSubnetCidrs[0]"),
    ("subnet-count", _set("network.privateSubnetCidrs", ["10.20.0.0/18"]), "network.privateSubnetCidrs",
     "one CIDR per AZ"),
    ("nat-mode", _set("network.natGateways", "two"), "network.natGateways", "must be one of single, perAz"),
    ("existing-key-in-create", _set("network.vpcId", "vpc-0123456789abcdef0"), "network.vpcId",
     "only when network.mode is 'existing'"),
    ("flow-log-retention", _set("network.flowLogsRetentionDays", 31), "network.flowLogsRetentionDays",
     "must be one of"),
    ("instance-type-not-ml", _set("cluster.instanceGroups.2.instanceType", "g5.12xlarge"),
     "cluster.instanceGroups[2].instanceType", "not a HyperPod instance type"),
    ("instance-type-unknown", _set("cluster.instanceGroups.0.instanceType", "ml.m5.3xlarge"),
     "cluster.instanceGroups[0].instanceType", "not a HyperPod instance type"),
    ("count-negative", _set("cluster.instanceGroups.2.count", -1), "cluster.instanceGroups[2].count",
     "between 0 and 6758"),
    ("count-not-int", _set("cluster.instanceGroups.2.count", "two"), "cluster.instanceGroups[2].count",
     "must be a int"),
    ("login-zero", _set("cluster.instanceGroups.1.count", 0), "cluster.instanceGroups[1].count",
     "at least one instance"),
    ("threads-per-core", _set("cluster.instanceGroups.0.threadsPerCore", 4),
     "cluster.instanceGroups[0].threadsPerCore", "must be one of 1, 2"),
    ("two-controllers", _set("cluster.instanceGroups.1.role", "controller"), "cluster.instanceGroups",
     "exactly one controller group, found 2"),
    ("no-controller", _set("cluster.instanceGroups.0.role", "compute"), "cluster.instanceGroups",
     "exactly one controller group, found 0"),
    ("compute-no-partition", _set("cluster.instanceGroups.2.partition", _DELETE),
     "cluster.instanceGroups[2].partition", "needs a Slurm partition"),
    ("partition-on-login", _set("cluster.instanceGroups.1.partition", "login"),
     "cluster.instanceGroups[1].partition", "only compute groups have a partition"),
    ("partition-pattern", _set("cluster.instanceGroups.2.partition", "gpu_a"),
     "cluster.instanceGroups[2].partition", "partition names must be"),
    ("duplicate-group-names", _set("cluster.instanceGroups.1.name", "controller"), "cluster.instanceGroups",
     "share this name"),
    ("dhc-on-cpu", _groups(lambda g: g[0].update(role="compute", partition="cpu", deepHealthChecks=["InstanceStress"])),
     "cluster.instanceGroups[0].deepHealthChecks", "only to accelerated"),
    ("dhc-unknown", _set("cluster.instanceGroups.2.deepHealthChecks", ["InstanceStress", "Burn"]),
     "cluster.instanceGroups[2].deepHealthChecks[1]", "must be one of InstanceStress, InstanceConnectivity"),
    ("dhc-on-login", _set("cluster.instanceGroups.1.deepHealthChecks", ["InstanceStress"]),
     "cluster.instanceGroups[1].deepHealthChecks", "run on compute groups"),
    ("ebs-too-big", _set("cluster.instanceGroups.2.ebsVolumeGiB", 20000), "cluster.instanceGroups[2].ebsVolumeGiB",
     "between 1 and 16384"),
    ("node-recovery", _set("cluster.nodeRecovery", "Sometimes"), "cluster.nodeRecovery", "Automatic, None"),
    ("fsx-size", _set("fsx.storageCapacityGiB", 3000), "fsx.storageCapacityGiB", "multiple of 2400"),
    ("fsx-throughput", _set("fsx.throughputPerTiB", 200), "fsx.throughputPerTiB", "125, 250, 500, 1000"),
    ("fsx-mount-path", _set("fsx.mountPath", "fsx"), "fsx.mountPath", "absolute path"),
    ("bucket-uppercase", _set("lifecycle.bucketName", "Sagemaker-HP"), "lifecycle.bucketName", "lowercase"),
    ("bucket-dots", _set("lifecycle.bucketName", "sagemaker.hp.dev"), "lifecycle.bucketName", "break TLS"),
    ("bucket-short", _set("lifecycle.bucketName", "ab"), "lifecycle.bucketName", "3-63"),
    ("bucket-reserved", _set("lifecycle.bucketName", "sagemaker-hp-s3alias"), "lifecycle.bucketName",
     "reserves"),
    ("unknown-key-typo", _set("cluster.instanceGroup", []), "cluster.instanceGroup",
     "did you mean 'instanceGroups'"),
    ("unknown-top-key", lambda c: c.__setitem__(P + "clustername", "x"), "clustername", "not a known setting"),
    ("existing-one-subnet", lambda c: c.__setitem__(P + "network", {
        "mode": "existing", "vpcId": "vpc-0123456789abcdef0", "privateSubnetIds": ["subnet-0123456789abcdef0"]}),
     "network.privateSubnetIds", "at least 2 private subnets"),
    ("existing-bad-vpc-id", lambda c: c.__setitem__(P + "network", {
        "mode": "existing", "vpcId": "vpc-xyz", "privateSubnetIds": ["subnet-0123456789abcdef0",
                                                                     "subnet-0123456789abcdef1"]}),
     "network.vpcId", "is not a VPC id"),
    ("existing-same-az", lambda c: (c.update({P + "network": {
        "mode": "existing", "vpcId": "vpc-0123456789abcdef0",
        "privateSubnetIds": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef2"]}}), c.pop(P + "vpn"),
        c.pop(P + "access")), "network.privateSubnetIds[1]", "like subnet-0123456789abcdef0"),
    ("existing-other-vpc", lambda c: (c.update({P + "network": {
        "mode": "existing", "vpcId": "vpc-0fedcba987654321f",
        "privateSubnetIds": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]}}), c.pop(P + "vpn"),
        c.pop(P + "access")), "network.privateSubnetIds[0]", "not in network.vpcId vpc-0fedcba987654321f"),
    ("existing-missing-subnet", lambda c: (c.update({P + "network": {
        "mode": "existing", "vpcId": "vpc-0123456789abcdef0",
        "privateSubnetIds": ["subnet-0123456789abcdef0", "subnet-0123456789deadef1"]}}), c.pop(P + "vpn"),
        c.pop(P + "access")), "network.privateSubnetIds[1]", "cannot be read (InvalidSubnetID.NotFound"),
    ("login-target-count", _set("login.targetIps", ["10.20.0.5"]), "login.targetIps", "has 2 node(s)"),
    ("login-target-outside", _set("login.targetIps", ["10.20.0.5", "172.16.0.1"]), "login.targetIps[1]",
     "not in any private subnet"),
    ("login-without-group", lambda c: (c[P + "cluster"]["instanceGroups"].pop(1), c[P + "login"].update(enabled=True)),
     "login.enabled", "no login group"),
    ("login-key-version", _set("login.hostKeyVersion", 0), "login.hostKeyVersion", "between 1 and 10000"),
    ("tags-aws-prefix", lambda c: c.__setitem__(P + "tags", {"aws:owner": "me"}), "tags.aws:owner", "aws:"),
    # directory
    ("dir-mode", _set("directory.mode", "imported"), "directory.mode", "create, existing"),
    ("dir-bind-user", _set("directory.bindUser", "read only"), "directory.bindUser", "sAMAccountName"),
    ("dir-shell", _set("directory.defaultShell", "bash"), "directory.defaultShell", "absolute path"),
    ("dir-ldaps-dns", _set("directory.ldaps", {"dnsName": "ldaps_corp"}), "directory.ldaps.dnsName", "not a DNS name"),
    ("dir-ca-not-pem", _set("directory.ldaps", {"certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/"
                                                "12345678-1234-1234-1234-123456789012", "dnsName": "ldaps.corp.example.com",
                                                "caCertificate": "-----BEGIN PRIVATE KEY-----\nabc\n"}),
     "directory.ldaps.caCertificate", "not a PEM certificate"),
    ("dir-ca-version", _set("directory.ldaps", {"caVersion": 0}), "directory.ldaps.caVersion", "between 1 and 10000"),
    ("dir-admin-type", _set("directory.adminInstanceType", "large"), "directory.adminInstanceType",
     "not an EC2 instance type"),
    ("dir-domain", _set("directory.domainName", "corp"), "directory.domainName", "fully qualified"),
    ("dir-domain-missing", _set("directory.domainName", _DELETE), "directory.domainName", "is required"),
    ("dir-edition", _set("directory.edition", "Large"), "directory.edition", "Standard, Enterprise"),
    ("dir-netbios-long", _set("directory.shortName", "A" * 16), "directory.shortName", "1-15"),
    ("dir-existing-no-id", _set("directory.mode", "existing"), "directory.directoryId", "is required"),
    ("dir-bad-id", lambda c: c[P + "directory"].update(mode="existing", directoryId="d-123",
                                                          edition=None, shortName=None),
     "directory.directoryId", "not a directory id"),
    ("dir-id-in-create", _set("directory.directoryId", "d-0123456789"), "directory.directoryId",
     "only when directory.mode is 'existing'"),
    ("dir-bad-dns-ip", lambda c: c[P + "directory"].update(mode="existing", directoryId="d-0123456789",
                                                              dnsIps=["10.0.0.300"], edition=None, shortName=None),
     "directory.dnsIps[0]", "not an IPv4 address"),
    ("dir-group-space", _set("directory.groups", ["Cluster Admin", "ClusterDev"]), "directory.groups[0]",
     "no spaces"),
    ("dir-sudo-unknown", _set("directory.sudoGroups", ["Admins"]), "directory.sudoGroups[0]",
     "not one of directory.groups"),
    ("dir-sudo-not-allowed", lambda c: c[P + "directory"].update(allowedGroups=["ClusterDev"],
                                                                    sudoGroups=["ClusterAdmin"]),
     "directory.sudoGroups[0]", "may not log in"),
    ("dir-no-allowed", _set("directory.allowedGroups", []), "directory.allowedGroups", "no directory group"),
    ("dir-local-group", _set("directory.localGroups", ["Ubuntu Admins"]), "directory.localGroups[0]",
     "not a Linux group name"),
    ("dir-user-name", _set("directory.users.0.name", "alice smith"), "directory.users[0].name", "sAMAccountName"),
    ("dir-user-reserved", _set("directory.users.0.name", "Administrator"), "directory.users[0].name", "reserved"),
    ("dir-user-dup", _set("directory.users.1.name", "Alice"), "directory.users", "two users share"),
    ("dir-user-is-bind", _set("directory.users.1.name", "ReadOnly"), "directory.users", "is the bind user"),
    ("dir-user-group", _set("directory.users.0.groups", ["Admins"]), "directory.users[0].groups[0]",
     "not one of directory.groups"),
    ("dir-ssh-key-type", _set("directory.users.0.sshPublicKeys", ["ssh-dss AAAAB3NzaC1kc3MAAACBAP"]),
     "directory.users[0].sshPublicKeys[0]", "not an OpenSSH public key"),
    ("dir-ssh-key-body", _set("directory.users.0.sshPublicKeys", ["ssh-ed25519 AAAAB3NzaC1yc2EAAAADAQABAAABAQ=="]),
     "directory.users[0].sshPublicKeys[0]", "says ssh-ed25519 but its key data is ssh-rsa"),
    ("dir-ssh-key-private", _set("directory.users.0.sshPublicKeys", ["-----BEGIN OPENSSH PRIVATE KEY-----"]),
     "directory.users[0].sshPublicKeys[0]", "not an OpenSSH public key"),
    ("dir-ssh-too-many", _set("directory.users.0.sshPublicKeys", [
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHcNtHPqFcSXq+7fcpbVaM6SJE6eCAB7dKPkM8XHs7lN key%d" % i for i in range(26)]),
     "directory.users[0].sshPublicKeys", "at most 25 values"),
    ("dir-ssh-dup", _set("directory.users.0.sshPublicKeys", [
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHcNtHPqFcSXq+7fcpbVaM6SJE6eCAB7dKPkM8XHs7lN a"] * 2),
     "directory.users[0].sshPublicKeys", "lists a key twice"),
    ("dir-bind-version", _set("directory.bindPasswordVersion", 0), "directory.bindPasswordVersion", "between 1 and 10000"),
    ("dir-user-email", _set("directory.users.0.email", "alice"), "directory.users[0].email", "not an email"),
    ("dir-user-unknown-key", _set("directory.users.0.sshKeys", []), "directory.users[0].sshKeys",
     "did you mean 'sshPublicKeys'"),
    ("dir-cert-without-ca", _set("directory.ldaps", {"certificateArn": "arn:aws:acm:us-east-1:123456789012:"
                                                     "certificate/12345678-1234-1234-1234-123456789012",
                                                     "dnsName": "ldaps.corp.example.com"}),
     "directory.ldaps.caCertificate", "pin the CA"),
    ("dir-cert-other-region", _set("directory.ldaps", {"certificateArn": "arn:aws:acm:eu-west-1:123456789012:"
                                                       "certificate/12345678-1234-1234-1234-123456789012"}),
     "directory.ldaps.certificateArn", "not in the stack's region"),
    ("dir-ldaps-plaintext-type", _set("directory.ldaps", {"plaintextListener": "yes"}),
     "directory.ldaps.plaintextListener", "must be a bool"),
    ("dir-admin-existing", lambda c: c[P + "directory"].update(mode="existing", directoryId="d-0123456789",
                                                                  adminInstance=True, edition=None, shortName=None),
     "directory.adminInstance", "joins a directory this stack creates"),
]


@pytest.mark.parametrize("mutate,key,reason", [c[1:] for c in BAD_CONFIGS], ids=[c[0] for c in BAD_CONFIGS])
def test_bad_config_names_key_and_registers_nothing(dev_config, run_stack, mutate, key, reason):
    """Each bad value fails the run with a message naming the key, the reason and a fix, and nothing is
    registered: the config is checked before the first resource."""
    mutate(dev_config)
    result = run_stack(dev_config, preview=True)
    assert isinstance(result.error, ConfigError), result.error
    messages = [str(p) for p in result.error.problems]
    full_key = key if ":" in key.split(".")[0] else P + key
    hits = [m for m in messages if m.startswith(f"{full_key} =") and reason in m]
    assert hits, f"no problem names {key!r} with {reason!r}: {messages}"
    assert all("Fix: " in m for m in messages)
    assert result.registrations == []


def test_all_problems_reported_together(dev_config, run_stack):
    """Three different mistakes come back in one error, not one per run."""
    _set("cluster.instanceGroups.2.name", "worker_group")(dev_config)
    _set("fsx.throughputPerTiB", 300)(dev_config)
    _set("network.availabilityZones", ["us-east-1a"])(dev_config)
    result = run_stack(dev_config)
    assert isinstance(result.error, ConfigError)
    paths = {p.path for p in result.error.problems}
    assert {"cluster.instanceGroups[2].name", "fsx.throughputPerTiB", "network.availabilityZones"} <= paths
    assert result.registrations == []


def test_bad_value_message_shows_value_and_fix(dev_config):
    """The message carries the bad value itself and a concrete fix."""
    raw = {k.removeprefix(P): v for k, v in dev_config.items() if k.startswith(P)}
    raw["cluster"]["instanceGroups"][2]["name"] = "worker_group"
    with pytest.raises(ConfigError) as err:
        stack_config.parse(raw, "us-east-1")
    text = str(err.value)
    assert '"worker_group"' in text and "use 'worker-group'" in text


def test_dev_config_parses_to_typed_frozen_settings(dev_config):
    """The shipped dev stack is valid and becomes frozen, typed settings."""
    raw = {k.removeprefix(P): v for k, v in dev_config.items() if k.startswith(P)}
    s = stack_config.parse(raw, "us-east-1")
    assert [g.role for g in s.cluster.instance_groups] == ["controller", "login", "compute"]
    assert s.cluster.login_group.count == 2
    assert s.cluster.instance_groups[2].accelerated and not s.cluster.instance_groups[0].accelerated
    assert s.network.availability_zones == ("us-east-1a", "us-east-1b")
    with pytest.raises(AttributeError):
        s.cluster.name = "other"  # frozen


def test_instance_types_come_from_the_sagemaker_model():
    """Instance types are the SageMaker API's ClusterInstanceType enum, not a hand-kept list."""
    types = stack_config.hyperpod_instance_types()
    assert "ml.p5.48xlarge" in types and "ml.g5.12xlarge" in types
    assert all(t.startswith("ml.") for t in types)
    assert "ml.m5.3xlarge" not in types
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker")
    assert types == frozenset(model.shape_for("ClusterInstanceType").enum)  # same data as botocore's loader


def test_pulumi_yaml_declares_every_key_with_a_description():
    """Pulumi.yaml declares exactly the keys the config module reads, each with a description."""
    import yaml

    from tests.conftest import ROOT

    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["name"] == "hyperpod-platform"
    assert project["runtime"]["name"] == "python" and project["runtime"]["options"]["virtualenv"] == "venv"
    declared = project["config"]
    assert set(declared) == set(stack_config.TOP_KEYS)
    assert all(entry.get("description") for entry in declared.values())
