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


def _ed25519_keys(n: int) -> list[str]:
    """``n`` distinct, well-formed OpenSSH ed25519 public key lines."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    return [
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
        + f" key{i}"
        for i in range(n)
    ]


def _rsa_key(bits: int) -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    return (
        rsa.generate_private_key(public_exponent=65537, key_size=bits)
        .public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )


def _groups(mutate_groups):
    def mutate(cfg):
        mutate_groups(cfg[P + "cluster"]["instanceGroups"])

    return mutate


BAD_CONFIGS = [
    # (id, mutation, key path named in the message, words of the reason)
    (
        "group-underscore",
        _set("cluster.instanceGroups.2.name", "worker_group"),
        "cluster.instanceGroups[2].name",
        "no underscores",
    ),
    ("cluster-name-pattern", lambda c: c.__setitem__(P + "clusterName", "hp_dev!"), "clusterName", "pattern"),
    ("cluster-name-long", lambda c: c.__setitem__(P + "clusterName", "a" * 64), "clusterName", "1-63"),
    ("cluster-name-missing", lambda c: c.pop(P + "clusterName"), "clusterName", "is required"),
    ("region-missing", lambda c: c.pop("aws:region"), "aws:region", "region is not set"),
    ("one-az", _set("network.availabilityZones", ["us-east-1a"]), "network.availabilityZones", "at least 2 AZs"),
    (
        "az-other-region",
        _set("network.availabilityZones", ["us-east-1a", "us-west-2b"]),
        "network.availabilityZones[1]",
        "not in the stack's region",
    ),
    (
        "az-duplicate",
        _set("network.availabilityZones", ["us-east-1a", "us-east-1a"]),
        "network.availabilityZones[1]",
        "repeats network.availabilityZones[0]",
    ),
    ("vpc-cidr-invalid", _set("network.vpcCidr", "10.20.0.0/33"), "network.vpcCidr", "not a valid IPv4 CIDR"),
    ("vpc-cidr-host-bits", _set("network.vpcCidr", "10.20.0.1/16"), "network.vpcCidr", "not a valid IPv4 CIDR"),
    ("vpc-cidr-too-big", _set("network.vpcCidr", "10.0.0.0/8"), "network.vpcCidr", "/16 and /28"),
    (
        "subnet-outside-vpc",
        _set("network.privateSubnetCidrs", ["10.20.0.0/18", "10.99.0.0/18"]),
        "network.privateSubnetCidrs[1]",
        "not inside the VPC CIDR",
    ),
    (
        "subnets-overlap",
        _set("network.publicSubnetCidrs", ["10.20.0.0/24", "10.20.193.0/24"]),
        "network.publicSubnetCidrs[0]",
        "overlaps network.privateSubnetCidrs[0]",
    ),
    (
        "subnet-count",
        _set("network.privateSubnetCidrs", ["10.20.0.0/18"]),
        "network.privateSubnetCidrs",
        "one CIDR per AZ",
    ),
    ("nat-mode", _set("network.natGateways", "two"), "network.natGateways", "must be one of single, perAz"),
    (
        "existing-key-in-create",
        _set("network.vpcId", "vpc-0123456789abcdef0"),
        "network.vpcId",
        "only when network.mode is 'existing'",
    ),
    (
        "flow-log-retention",
        _set("network.flowLogsRetentionDays", 31),
        "network.flowLogsRetentionDays",
        "must be one of",
    ),
    (
        "instance-type-not-ml",
        _set("cluster.instanceGroups.2.instanceType", "g5.12xlarge"),
        "cluster.instanceGroups[2].instanceType",
        "not a HyperPod instance type",
    ),
    (
        "instance-type-unknown",
        _set("cluster.instanceGroups.0.instanceType", "ml.m5.3xlarge"),
        "cluster.instanceGroups[0].instanceType",
        "not a HyperPod instance type",
    ),
    (
        "count-negative",
        _set("cluster.instanceGroups.2.count", -1),
        "cluster.instanceGroups[2].count",
        "between 0 and 6758",
    ),
    (
        "count-not-int",
        _set("cluster.instanceGroups.2.count", "two"),
        "cluster.instanceGroups[2].count",
        "must be an integer, not a string",
    ),
    (
        "login-zero",
        _set("cluster.instanceGroups.1.count", 0),
        "cluster.instanceGroups[1].count",
        "at least one instance",
    ),
    (
        "threads-per-core",
        _set("cluster.instanceGroups.0.threadsPerCore", 4),
        "cluster.instanceGroups[0].threadsPerCore",
        "must be one of 1, 2",
    ),
    (
        "two-controllers",
        _set("cluster.instanceGroups.1.role", "controller"),
        "cluster.instanceGroups",
        "exactly one controller group, found 2",
    ),
    (
        "no-controller",
        _set("cluster.instanceGroups.0.role", "compute"),
        "cluster.instanceGroups",
        "exactly one controller group, found 0",
    ),
    (
        "compute-no-partition",
        _set("cluster.instanceGroups.2.partition", _DELETE),
        "cluster.instanceGroups[2].partition",
        "needs a Slurm partition",
    ),
    (
        "partition-on-login",
        _set("cluster.instanceGroups.1.partition", "login"),
        "cluster.instanceGroups[1].partition",
        "only compute groups have a partition",
    ),
    (
        "partition-pattern",
        _set("cluster.instanceGroups.2.partition", "gpu_a"),
        "cluster.instanceGroups[2].partition",
        "partition names must be",
    ),
    (
        "duplicate-group-names",
        _set("cluster.instanceGroups.1.name", "controller"),
        "cluster.instanceGroups",
        "share this name",
    ),
    (
        "dhc-on-cpu",
        _groups(lambda g: g[0].update(role="compute", partition="cpu", deepHealthChecks=["InstanceStress"])),
        "cluster.instanceGroups[0].deepHealthChecks",
        "only to accelerated",
    ),
    (
        "dhc-unknown",
        _set("cluster.instanceGroups.2.deepHealthChecks", ["InstanceStress", "Burn"]),
        "cluster.instanceGroups[2].deepHealthChecks[1]",
        "must be one of InstanceStress, InstanceConnectivity",
    ),
    (
        "dhc-on-login",
        _set("cluster.instanceGroups.1.deepHealthChecks", ["InstanceStress"]),
        "cluster.instanceGroups[1].deepHealthChecks",
        "run on compute groups",
    ),
    (
        "ebs-too-big",
        _set("cluster.instanceGroups.2.ebsVolumeGiB", 20000),
        "cluster.instanceGroups[2].ebsVolumeGiB",
        "between 1 and 16384",
    ),
    ("node-recovery", _set("cluster.nodeRecovery", "Sometimes"), "cluster.nodeRecovery", "Automatic, None"),
    ("fsx-size", _set("fsx.storageCapacityGiB", 3000), "fsx.storageCapacityGiB", "multiple of 2400"),
    ("fsx-throughput", _set("fsx.throughputPerTiB", 200), "fsx.throughputPerTiB", "125, 250, 500, 1000"),
    ("fsx-mount-path", _set("fsx.mountPath", "fsx"), "fsx.mountPath", "absolute path"),
    ("bucket-uppercase", _set("lifecycle.bucketName", "Sagemaker-HP"), "lifecycle.bucketName", "lowercase"),
    ("bucket-dots", _set("lifecycle.bucketName", "sagemaker.hp.dev"), "lifecycle.bucketName", "break TLS"),
    ("bucket-short", _set("lifecycle.bucketName", "ab"), "lifecycle.bucketName", "3-63"),
    ("bucket-reserved", _set("lifecycle.bucketName", "sagemaker-hp-s3alias"), "lifecycle.bucketName", "reserves"),
    ("unknown-key-typo", _set("cluster.instanceGroup", []), "cluster.instanceGroup", "did you mean 'instanceGroups'"),
    ("unknown-top-key", lambda c: c.__setitem__(P + "clustername", "x"), "clustername", "not a known setting"),
    (
        "existing-one-subnet",
        lambda c: c.__setitem__(
            P + "network",
            {"mode": "existing", "vpcId": "vpc-0123456789abcdef0", "privateSubnetIds": ["subnet-0123456789abcdef0"]},
        ),
        "network.privateSubnetIds",
        "at least 2 private subnets",
    ),
    (
        "existing-bad-vpc-id",
        lambda c: c.__setitem__(
            P + "network",
            {
                "mode": "existing",
                "vpcId": "vpc-xyz",
                "privateSubnetIds": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
            },
        ),
        "network.vpcId",
        "is not a VPC id",
    ),
    (
        "existing-same-az",
        lambda c: (
            c.update(
                {
                    P + "network": {
                        "mode": "existing",
                        "vpcId": "vpc-0123456789abcdef0",
                        "privateSubnetIds": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef2"],
                    }
                }
            ),
            c.pop(P + "vpn"),
            c.pop(P + "access"),
        ),
        "network.privateSubnetIds[1]",
        "like subnet-0123456789abcdef0",
    ),
    (
        "existing-other-vpc",
        lambda c: (
            c.update(
                {
                    P + "network": {
                        "mode": "existing",
                        "vpcId": "vpc-0fedcba987654321f",
                        "privateSubnetIds": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
                    }
                }
            ),
            c.pop(P + "vpn"),
            c.pop(P + "access"),
        ),
        "network.privateSubnetIds[0]",
        "not in network.vpcId vpc-0fedcba987654321f",
    ),
    (
        "existing-missing-subnet",
        lambda c: (
            c.update(
                {
                    P + "network": {
                        "mode": "existing",
                        "vpcId": "vpc-0123456789abcdef0",
                        "privateSubnetIds": ["subnet-0123456789abcdef0", "subnet-0123456789deadef1"],
                    }
                }
            ),
            c.pop(P + "vpn"),
            c.pop(P + "access"),
        ),
        "network.privateSubnetIds[1]",
        "cannot be read (InvalidSubnetID.NotFound",
    ),
    ("login-target-count", _set("login.targetIps", ["10.20.0.5"]), "login.targetIps", "has 2 node(s)"),
    (
        "login-target-outside",
        _set("login.targetIps", ["10.20.0.5", "172.16.0.1"]),
        "login.targetIps[1]",
        "not in any private subnet",
    ),
    (
        "login-without-group",
        lambda c: (c[P + "cluster"]["instanceGroups"].pop(1), c[P + "login"].update(enabled=True)),
        "login.enabled",
        "no login group",
    ),
    ("login-key-version", _set("login.hostKeyVersion", 0), "login.hostKeyVersion", "between 1 and 10000"),
    ("tags-aws-prefix", lambda c: c.__setitem__(P + "tags", {"aws:owner": "me"}), "tags.aws:owner", "aws:"),
    # directory
    ("dir-mode", _set("directory.mode", "imported"), "directory.mode", "create, existing"),
    ("dir-bind-user", _set("directory.bindUser", "read only"), "directory.bindUser", "sAMAccountName"),
    ("dir-shell", _set("directory.defaultShell", "bash"), "directory.defaultShell", "absolute path"),
    ("dir-ldaps-dns", _set("directory.ldaps", {"dnsName": "ldaps_corp"}), "directory.ldaps.dnsName", "not a DNS name"),
    (
        "dir-ca-not-pem",
        _set(
            "directory.ldaps",
            {
                "certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012",
                "dnsName": "ldaps.corp.example.com",
                "caCertificate": "-----BEGIN PRIVATE KEY-----\nabc\n",
            },
        ),
        "directory.ldaps.caCertificate",
        "not a PEM certificate",
    ),
    ("dir-ca-version", _set("directory.ldaps", {"caVersion": 0}), "directory.ldaps.caVersion", "between 1 and 10000"),
    (
        "dir-admin-type",
        _set("directory.adminInstanceType", "large"),
        "directory.adminInstanceType",
        "not an EC2 instance type",
    ),
    ("dir-domain", _set("directory.domainName", "corp"), "directory.domainName", "fully qualified"),
    ("dir-domain-missing", _set("directory.domainName", _DELETE), "directory.domainName", "is required"),
    ("dir-edition", _set("directory.edition", "Large"), "directory.edition", "Standard, Enterprise"),
    ("dir-netbios-long", _set("directory.shortName", "A" * 16), "directory.shortName", "1-15"),
    ("dir-existing-no-id", _set("directory.mode", "existing"), "directory.directoryId", "is required"),
    (
        "dir-bad-id",
        lambda c: c[P + "directory"].update(mode="existing", directoryId="d-123", edition=None, shortName=None),
        "directory.directoryId",
        "not a directory id",
    ),
    (
        "dir-id-in-create",
        _set("directory.directoryId", "d-0123456789"),
        "directory.directoryId",
        "only when directory.mode is 'existing'",
    ),
    (
        "dir-bad-dns-ip",
        lambda c: c[P + "directory"].update(
            mode="existing", directoryId="d-0123456789", dnsIps=["10.0.0.300"], edition=None, shortName=None
        ),
        "directory.dnsIps[0]",
        "not an IPv4 address",
    ),
    ("dir-group-space", _set("directory.groups", ["Cluster Admin", "ClusterDev"]), "directory.groups[0]", "no spaces"),
    (
        "dir-sudo-unknown",
        _set("directory.sudoGroups", ["Admins"]),
        "directory.sudoGroups[0]",
        "not one of directory.groups",
    ),
    (
        "dir-sudo-not-allowed",
        lambda c: c[P + "directory"].update(allowedGroups=["ClusterDev"], sudoGroups=["ClusterAdmin"]),
        "directory.sudoGroups[0]",
        "may not log in",
    ),
    ("dir-no-allowed", _set("directory.allowedGroups", []), "directory.allowedGroups", "no directory group"),
    (
        "dir-local-group",
        _set("directory.localGroups", ["Ubuntu Admins"]),
        "directory.localGroups[0]",
        "not a Linux group name",
    ),
    ("dir-user-name", _set("directory.users.0.name", "alice smith"), "directory.users[0].name", "sAMAccountName"),
    ("dir-user-reserved", _set("directory.users.0.name", "Administrator"), "directory.users[0].name", "reserved"),
    ("dir-user-dup", _set("directory.users.1.name", "Alice"), "directory.users", "two users share"),
    ("dir-user-is-bind", _set("directory.users.1.name", "ReadOnly"), "directory.users", "is the bind user"),
    (
        "dir-user-group",
        _set("directory.users.0.groups", ["Admins"]),
        "directory.users[0].groups[0]",
        "not one of directory.groups",
    ),
    (
        "dir-ssh-key-type",
        _set("directory.users.0.sshPublicKeys", ["ssh-dss AAAAB3NzaC1kc3MAAACBAP"]),
        "directory.users[0].sshPublicKeys[0]",
        "not an OpenSSH public key",
    ),
    (
        "dir-ssh-key-body",
        _set("directory.users.0.sshPublicKeys", ["ssh-ed25519 AAAAB3NzaC1yc2EAAAADAQABAAABAQ=="]),
        "directory.users[0].sshPublicKeys[0]",
        "says ssh-ed25519 but its key data is ssh-rsa",
    ),
    (
        "dir-ssh-key-private",
        _set("directory.users.0.sshPublicKeys", ["-----BEGIN OPENSSH PRIVATE KEY-----"]),
        "directory.users[0].sshPublicKeys[0]",
        "is a private key",
    ),
    (
        "dir-ssh-too-many",
        lambda c: _set("directory.users.0.sshPublicKeys", _ed25519_keys(26))(c),
        "directory.users[0].sshPublicKeys",
        "at most 25 values",
    ),
    (
        "dir-ssh-dup",
        _set(
            "directory.users.0.sshPublicKeys",
            [
                "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHcNtHPqFcSXq+7fcpbVaM6SJE6eCAB7dKPkM8XHs7lN a",
                "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHcNtHPqFcSXq+7fcpbVaM6SJE6eCAB7dKPkM8XHs7lN same key, other comment",
            ],
        ),
        "directory.users[0].sshPublicKeys[1]",
        "repeats directory.users[0].sshPublicKeys[0]",
    ),
    (
        "dir-bind-version",
        _set("directory.bindPasswordVersion", 0),
        "directory.bindPasswordVersion",
        "between 1 and 10000",
    ),
    ("dir-user-email", _set("directory.users.0.email", "alice"), "directory.users[0].email", "not an email"),
    (
        "dir-user-unknown-key",
        _set("directory.users.0.sshKeys", []),
        "directory.users[0].sshKeys",
        "did you mean 'sshPublicKeys'",
    ),
    (
        "dir-cert-without-ca",
        _set(
            "directory.ldaps",
            {
                "certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012",
                "dnsName": "ldaps.corp.example.com",
            },
        ),
        "directory.ldaps.caCertificate",
        "pin the CA",
    ),
    (
        "dir-cert-other-region",
        _set(
            "directory.ldaps",
            {"certificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"},
        ),
        "directory.ldaps.certificateArn",
        "not in the stack's region",
    ),
    (
        "dir-ldaps-plaintext-type",
        _set("directory.ldaps", {"plaintextListener": "yes"}),
        "directory.ldaps.plaintextListener",
        "must be a bool",
    ),
    (
        "dir-admin-existing",
        lambda c: c[P + "directory"].update(
            mode="existing", directoryId="d-0123456789", adminInstance=True, edition=None, shortName=None
        ),
        "directory.adminInstance",
        "joins a directory this stack creates",
    ),
    # Classes of mistakes that used to get through (issue 9), one case or more each.
    (
        "region-unknown",
        lambda c: c.update({"aws:region": "us-east-7", "aws-native:region": "us-east-7"}),
        "aws:region",
        "is not an AWS region",
    ),
    (
        "region-without-hyperpod",
        lambda c: c.update({"aws:region": "af-south-1", "aws-native:region": "af-south-1"}),
        "aws:region",
        "HyperPod is not offered in af-south-1",
    ),
    (
        "native-region-differs",
        lambda c: c.__setitem__("aws-native:region", "us-west-2"),
        "aws-native:region",
        "differs from aws:region",
    ),
    ("native-region-missing", lambda c: c.pop("aws-native:region"), "aws-native:region", "reads its own region"),
    (
        "cluster-name-too-long-for-lb",
        lambda c: c.__setitem__(P + "clusterName", "hp-research-dev-01"[:17] + "xy"),
        "clusterName",
        "32-character limit",
    ),
    (
        "cluster-name-sg-prefix",
        lambda c: c.__setitem__(P + "clusterName", "sg-dev"),
        "clusterName",
        "security group names",
    ),
    (
        "cluster-name-internal-prefix",
        lambda c: c.__setitem__(P + "clusterName", "internal-hp"),
        "clusterName",
        "load balancer names",
    ),
    ("tags-too-many", _set("tags", {f"Team{i}": "x" for i in range(48)}), "tags", "over AWS's 50 tags per resource"),
    ("tag-key-characters", _set("tags", {"Cost#Center": "42"}), "tags.Cost#Center", "holds '#'"),
    ("tag-value-characters", _set("tags", {"Owner": "team<ops>"}), "tags.Owner", "holds '<', '>'"),
    ("tag-value-number", _set("tags", {"CostCenter": 1234}), "tags.CostCenter", "must be a string, not an integer"),
    ("tag-aws-prefix", _set("tags", {"aws:team": "x"}), "tags.aws:team", "reserved for AWS"),
    (
        "threads-on-graviton",
        lambda c: c[P + "cluster"]["instanceGroups"][0].update(instanceType="ml.m7g.4xlarge", threadsPerCore=2),
        "cluster.instanceGroups[0].threadsPerCore",
        "has one thread per core",
    ),
    (
        "connectivity-check-one-node",
        _set("cluster.instanceGroups.2.count", 1),
        "cluster.instanceGroups[2].deepHealthChecks",
        "needs at least 2",
    ),
    (
        "bastion-type-unknown",
        _set("access.bastionInstanceType", "t3.mirco"),
        "access.bastionInstanceType",
        "not an EC2 instance type",
    ),
    ("bastion-type-arm", _set("access.bastionInstanceType", "t4g.micro"), "access.bastionInstanceType", "arm64"),
    (
        "admin-type-unknown",
        _set("directory.adminInstanceType", "t3.mediun"),
        "directory.adminInstanceType",
        "use 't3.medium'",
    ),
    (
        "dir-ssh-key-truncated",
        _set(
            "directory.users.0.sshPublicKeys",
            ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHcNtHPqFcSXq+7fcpbVaM6SJE6eCAB7 alice"],
        ),
        "directory.users[0].sshPublicKeys[0]",
        "not a whole ssh-ed25519 key",
    ),
    (
        "dir-ssh-key-no-key-bytes",
        _set("directory.users.0.sshPublicKeys", ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5"]),
        "directory.users[0].sshPublicKeys[0]",
        "not a whole ssh-ed25519 key",
    ),
    (
        "dir-ssh-key-weak-rsa",
        lambda c: _set("directory.users.0.sshPublicKeys", [_rsa_key(1024)])(c),
        "directory.users[0].sshPublicKeys[0]",
        "1024-bit RSA key",
    ),
    (
        "namespace-typo",
        lambda c: c.__setitem__("hyperpod-platfrom:fsx", {"mountPath": "/data"}),
        "hyperpod-platfrom:fsx",
        "rename it to hyperpod-platform:fsx",
    ),
    ("aws-key-typo", lambda c: c.__setitem__("aws:profle", "prod"), "aws:profle", "did you mean aws:profile"),
    (
        "login-target-ip-twice",
        _set("login.targetIps", ["10.20.0.10", "10.20.0.10"]),
        "login.targetIps[1]",
        "repeats login.targetIps[0]",
    ),
    (
        "login-cidr-twice",
        _set("login.allowedCidrs", ["192.168.100.0/24", "192.168.100.0/24"]),
        "login.allowedCidrs[1]",
        "repeats",
    ),
    ("vpn-client-twice", _set("vpn.clients", ["alice", "alice"]), "vpn.clients[1]", "repeats vpn.clients[0]"),
    (
        "dir-group-twice-any-case",
        _set("directory.groups", ["ClusterAdmin", "ClusterDev", "clusteradmin"]),
        "directory.groups[2]",
        "repeats directory.groups[0]",
    ),
    ("fsx-mount-system-dir", _set("fsx.mountPath", "/etc"), "fsx.mountPath", "system directory /etc"),
    ("fsx-mount-dotdot", _set("fsx.mountPath", "/fsx/../etc"), "fsx.mountPath", "normalized absolute path"),
    ("fsx-mount-above-system-dir", _set("fsx.mountPath", "/opt"), "fsx.mountPath", "system directory /opt/aws"),
    ("fsx-mount-homes", _set("fsx.mountPath", "/home/shared"), "fsx.mountPath", "system directory /home"),
    ("fsx-mount-relative", _set("fsx.mountPath", "fsx"), "fsx.mountPath", "use '/fsx'"),
    ("empty-instance-group-entry", _groups(lambda g: g.append(None)), "cluster.instanceGroups[3]", "empty list entry"),
    ("empty-user-entry", lambda c: c[P + "directory"]["users"].append(None), "directory.users[2]", "empty list entry"),
    (
        "dir-by-role-empty-role",
        _set("directory.allowedGroupsByRole", {"login": None}),
        "directory.allowedGroupsByRole.login",
        "no directory group could log in to login nodes",
    ),
    ("login-cidrs-world", _set("login.allowedCidrs", ["0.0.0.0/0"]), "login.allowedCidrs", "open SSH to the world"),
    (
        "login-cidrs-world-in-halves",
        _set("login.allowedCidrs", ["0.0.0.0/1", "128.0.0.0/1"]),
        "login.allowedCidrs",
        "admit 100% of the public internet",
    ),
    (
        "bastion-cidrs-world-in-pieces",
        _set("access.bastionAllowedCidrs", ["0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/2", "192.0.0.0/3"]),
        "access.bastionAllowedCidrs",
        "open SSH to the world",
    ),
    (
        "dir-by-role-unknown-role",
        _set("directory.allowedGroupsByRole", {"controler": ["ClusterAdmin"]}),
        "directory.allowedGroupsByRole.controler",
        "not a node role",
    ),
    (
        "dir-by-role-not-allowed",
        _set("directory.allowedGroupsByRole", {"login": ["Nobody"]}),
        "directory.allowedGroupsByRole.login[0]",
        "not one of directory.allowedGroups",
    ),
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


def test_a_wrong_region_is_one_problem_not_one_per_az(dev_config, run_stack):
    """A region that does not exist is reported once, first, not again through every AZ name of the stack."""
    dev_config.update({"aws:region": "us-east-7", "aws-native:region": "us-east-7"})
    result = run_stack(dev_config, preview=True)
    assert isinstance(result.error, ConfigError)
    assert [p.path for p in result.error.problems] == ["aws:region"]
    assert "did you mean us-east-2?" in str(result.error)


def test_one_az_is_one_problem_not_three(dev_config, run_stack):
    """Too few AZs is one mistake: the per-AZ subnet lists are not also reported as the wrong length."""
    _set("network.availabilityZones", ["us-east-1a"])(dev_config)
    result = run_stack(dev_config, preview=True)
    assert [p.path for p in result.error.problems] == ["network.availabilityZones"]


def test_quoted_number_gets_the_exact_fix(dev_config, run_stack):
    """A number given as a string says so in plain words, and the fix is the value without quotes."""
    _set("cluster.instanceGroups.2.count", "2")(dev_config)
    text = str(run_stack(dev_config, preview=True).error)
    assert "must be an integer, not a string" in text and "write 2 without quotes" in text
    assert "a int" not in text


@pytest.mark.parametrize("typo,family", [("ml.g5.12xl", "g5"), ("ml.p9.48xlarge", "p5"), ("g6e.12xlarge", "g6e")])
def test_instance_type_suggestion_stays_in_family_and_kind(dev_config, run_stack, typo, family):
    """A mistyped GPU type is answered with a GPU type of the same family (or at least an accelerated one),
    never a CPU type."""
    _set("cluster.instanceGroups.2.instanceType", typo)(dev_config)
    problems = run_stack(dev_config, preview=True).error.problems
    (problem,) = [p for p in problems if p.path == "cluster.instanceGroups[2].instanceType"]
    suggested = problem.fix.split("'")[1]
    assert stack_config.instance_family(suggested) == family
    assert stack_config.ACCELERATED_RE.match(suggested)


SECRET = "Zq8!rT-s3cr3t-Value-991"


@pytest.mark.parametrize(
    "mutate",
    [
        _set("directory.adminPassword", SECRET),  # a password under a key the program does not know
        _set("directory.users.0.sshPublicKeys", [f"-----BEGIN OPENSSH PRIVATE KEY-----\n{SECRET}\n-----END"]),
        lambda c: c.__setitem__("hyperpod-platfrom:token", SECRET),  # and under a misspelt namespace
    ],
    ids=["unknown-key-password", "private-key-as-public", "unknown-namespace-token"],
)
def test_errors_never_echo_a_secret(dev_config, run_stack, mutate):
    """Values that look like credentials are shown redacted, with their kind and size only."""
    mutate(dev_config)
    error = run_stack(dev_config, preview=True).error
    assert isinstance(error, ConfigError)
    assert "<redacted str" in str(error)
    assert SECRET not in str(error) and "s3cr3t" not in str(error).lower()


def test_values_of_secret_config_keys_are_redacted(dev_config):
    """A key set with `pulumi config set --secret` never shows its value, whatever the key is called."""
    from pulumi.runtime import config as runtime_config

    _set("lifecycle.bucketName", "Not_A_Bucket_" + SECRET)(dev_config)
    flat = {k: v if isinstance(v, str) else __import__("json").dumps(v) for k, v in dev_config.items()}
    runtime_config.set_all_config(flat, secret_keys=[P + "lifecycle"])
    try:
        with pytest.raises(ConfigError) as err:
            stack_config.load()
    finally:
        runtime_config.set_all_config({}, secret_keys=[])
    text = str(err.value)
    assert "lifecycle.bucketName" in text and "<redacted str of" in text
    assert SECRET not in text and SECRET.lower() not in text and "s3cr3t" not in text.lower()


def test_accepted_cluster_name_fits_every_load_balancer_and_target_group(dev_config, run_stack):
    """The longest clusterName the config accepts gives load balancer and target group names (plus Pulumi's
    random suffix) within AWS's 32 characters, for every one the dev stack creates."""
    longest = "hp-" + "x" * 30
    while True:  # the longest name the config accepts
        dev_config[P + "clusterName"] = longest
        result = run_stack(dev_config, preview=True)
        if result.error is None:
            break
        assert [p.path for p in result.error.problems] == ["clusterName"], result.error
        longest = longest[:-1]
    balancers = [
        r
        for r in result.registrations
        if r.type in ("aws:lb/loadBalancer:LoadBalancer", "aws:lb/targetGroup:TargetGroup")
    ]
    assert len(balancers) == 4
    for r in balancers:
        physical = r.inputs.get("name") or f"{r.name}-{'f' * (stack_config.AUTONAME_SUFFIX - 1)}"
        assert len(physical) <= 32 and not physical.startswith("internal-"), physical
    assert max(len(r.name) for r in balancers) + stack_config.AUTONAME_SUFFIX == 32  # the limit is tight


def test_cluster_name_may_be_longer_without_load_balancers(dev_config, run_stack):
    """The 32-character limit binds only the load balancers the stack creates."""
    dev_config[P + "clusterName"] = "hp-research-eu-central-1-dev"
    dev_config[P + "directory"] = {"enabled": False}
    dev_config[P + "login"] = {"enabled": False}
    assert run_stack(dev_config, preview=True).error is None


def test_hyperpod_regions_follow_the_cloudformation_registry():
    """The shipped region list is what cfn-lint's schemas say (regenerate: python -m tools.cfn_schema --regions)."""
    from tools.cfn_schema import hyperpod_regions

    assert list(stack_config.hyperpod_regions()) == hyperpod_regions()
    assert "us-east-1" in stack_config.hyperpod_regions() and "af-south-1" not in stack_config.hyperpod_regions()


def test_ec2_instance_types_come_from_the_ec2_model():
    """Bastion and admin instance types are checked against botocore's EC2 model, read as its loader reads it."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("ec2")
    assert stack_config.ec2_instance_types() == frozenset(model.shape_for("InstanceType").enum)


@pytest.mark.parametrize(
    "family,arm,smt",
    [
        ("c7g", True, False),
        ("p6e-gb200", True, False),
        ("m7a", False, False),
        ("c6a", False, True),
        ("g5", False, True),
        ("trn2", False, True),
        ("t4g", True, False),
        ("m5", False, True),
    ],
)
def test_processor_facts_by_family(family, arm, smt):
    """Graviton/Grace families are arm64 without SMT; 7th-generation AMD has no SMT; the rest has both."""
    assert bool(stack_config.ARM64_FAMILY_RE.match(family)) is arm
    assert (not stack_config.NO_SMT_FAMILY_RE.match(family)) is smt


@pytest.mark.parametrize(
    "mutate,path",
    [
        (_set("network.vpcCidr", "10.20.0.0/12"), "network.vpcCidr"),
        (_set("directory.allowedGroups", ["ClusterAdmn", "ClusterDev"]), "directory.allowedGroups[0]"),
    ],
    ids=["bad-vpc-cidr-not-also-every-subnet", "allowed-group-typo-not-also-sudo-and-roles"],
)
def test_one_mistake_is_one_problem(dev_config, run_stack, mutate, path):
    """A bad value is not replaced by a default that then fails the checks that depend on it."""
    mutate(dev_config)
    assert [p.path for p in run_stack(dev_config, preview=True).error.problems] == [path]
