"""The shipped dev stack (``__main__.py`` with ``Pulumi.dev.yaml``) under mocks: how its config reaches the
components and how the components are wired to each other.

What each component does on its own is in its unit tests (tests/test_network.py, test_storage.py,
test_lifecycle_bucket.py, test_execution_role.py, test_hyperpod_cluster.py, test_login_access.py,
test_login_targets.py). Resources are found by type and by the component that owns them; names come from the
config, not from literals.
"""

from __future__ import annotations

import hashlib
import json

from hyperpod_platform.execution_role import parameter_arn
from hyperpod_platform.lifecycle_bucket import LIFECYCLE_DIR, PLATFORM_FILE, PREFIX, lifecycle_files
from stack_config import ConfigError
from tests.conftest import P
from tools.harness import ACCOUNT, DEPLOYER_ROLE, RunResult
from tools.preview import plan_of

SUBNET = "aws:ec2/subnet:Subnet"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
LUSTRE = "aws:fsx/lustreFileSystem:LustreFileSystem"
BUCKET = "aws:s3/bucket:Bucket"
OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"
ROLE = "aws:iam/role:Role"
INLINE = "aws:iam/rolePolicy:RolePolicy"
CLUSTER = "aws-native:sagemaker:Cluster"
LB = "aws:lb/loadBalancer:LoadBalancer"
ATTACH = "aws:lb/targetGroupAttachment:TargetGroupAttachment"
SECRET = "aws:secretsmanager/secret:Secret"
KEY = "tls:index/privateKey:PrivateKey"
GET_ROUTE_TABLE = "aws:ec2/getRouteTable:getRouteTable"


# ---------------------------------------------------------------- finding things in the plan
def component(result: RunResult, cls: str):
    """The stack's one component of class ``cls``."""
    return result.one(f"hyperpod-platform:index:{cls}")


def children(result: RunResult, cls: str, typ: str) -> list:
    """Resources of type ``typ`` that the stack's ``cls`` component owns."""
    urn = component(result, cls).urn
    return [r for r in result.of_type(typ) if r.parent == urn]


def child(result: RunResult, cls: str, typ: str):
    found = children(result, cls, typ)
    assert len(found) == 1, f"{cls} has {[r.name for r in found]} of type {typ}"
    return found[0]


def private_subnets(result: RunResult, config) -> list:
    """The Network's private subnets in the order of the configured AZs (the first is the primary)."""
    subnets = {
        s.inputs["availabilityZone"]: s
        for s in children(result, "Network", SUBNET)
        if s.inputs["tags"]["Tier"] == "private"
    }
    return [subnets[az] for az in config[P + "network"]["availabilityZones"]]


def cluster_sg(result: RunResult):
    return child(result, "Network", SECURITY_GROUP)


def inline_policy(result: RunResult) -> dict:
    return json.loads(child(result, "ExecutionRole", INLINE).inputs["policy"])


def platform_file(result: RunResult) -> str:
    (obj,) = [o for o in children(result, "LifecycleBucket", OBJECT) if o.inputs["key"] == f"{PREFIX}/{PLATFORM_FILE}"]
    return obj.inputs["content"]


def login_group(config) -> dict:
    (group,) = [g for g in config[P + "cluster"]["instanceGroups"] if g["role"] == "login"]
    return group


def ok(result: RunResult) -> RunResult:
    assert result.error is None, result.error
    return result


# ---------------------------------------------------------------- network
def test_cluster_security_group_admits_ssh_only_from_the_login_nlb_and_the_bastion(dev_run):
    """Besides its own rules (EFA, Lustre), the cluster group admits SSH from the login NLB's group and the
    bastion's group; nothing else of the stack adds rules to it."""
    sg_id = cluster_sg(dev_run).outputs["id"]
    nlb_sg = child(dev_run, "LoginAccess", SECURITY_GROUP).outputs["id"]
    bastion_sg = child(dev_run, "Access", SECURITY_GROUP).outputs["id"]
    got_in = {
        (
            r.inputs["ipProtocol"],
            r.inputs.get("fromPort"),
            r.inputs.get("toPort"),
            r.inputs.get("referencedSecurityGroupId"),
            r.inputs.get("cidrIpv4"),
        )
        for r in dev_run.of_type(INGRESS)
        if r.inputs["securityGroupId"] == sg_id
    }
    assert got_in == {
        ("-1", None, None, sg_id, None),
        ("tcp", 988, 988, sg_id, None),
        ("tcp", 1018, 1023, sg_id, None),
        ("tcp", 22, 22, nlb_sg, None),  # SSH only from the login NLB ...
        ("tcp", 22, 22, bastion_sg, None),  # ... and the bastion
    }
    got_out = {
        (r.inputs["ipProtocol"], r.inputs.get("referencedSecurityGroupId"), r.inputs.get("cidrIpv4"))
        for r in dev_run.of_type(EGRESS)
        if r.inputs["securityGroupId"] == sg_id
    }
    assert got_out == {("-1", sg_id, None), ("-1", None, "0.0.0.0/0")}


def test_nat_gateways_setting_reaches_the_network(dev_config, run_stack):
    """`single` in the dev config makes one NAT gateway; `perAz` one per configured AZ."""
    assert dev_config[P + "network"]["natGateways"] == "single"
    assert len(ok(run_stack(dev_config)).of_type("aws:ec2/natGateway:NatGateway")) == 1
    dev_config[P + "network"]["natGateways"] = "perAz"
    nats = ok(run_stack(dev_config)).of_type("aws:ec2/natGateway:NatGateway")
    assert len(nats) == len(dev_config[P + "network"]["availabilityZones"])


def test_flow_logs_setting_reaches_the_network(dev_config, run_stack, dev_run):
    """Flow logs on in the dev config, with its retention; off means none."""
    assert dev_run.one("aws:ec2/flowLog:FlowLog").inputs["trafficType"] == "ALL"
    group = child(dev_run, "Network", "aws:cloudwatch/logGroup:LogGroup")
    assert group.inputs["retentionInDays"] == dev_config[P + "network"]["flowLogsRetentionDays"]
    flow_role = child(dev_run, "Network", ROLE)
    assert json.loads(flow_role.inputs["assumeRolePolicy"])["Statement"][0]["Principal"] == {
        "Service": "vpc-flow-logs.amazonaws.com"
    }
    dev_config[P + "network"]["flowLogs"] = False
    assert ok(run_stack(dev_config)).of_type("aws:ec2/flowLog:FlowLog") == []


EXISTING_NETWORK = {
    "mode": "existing",
    "vpcId": "vpc-0123456789abcdef0",
    "privateSubnetIds": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
    "routeTableIds": ["rtb-0123456789abcdef0"],
}


def existing(config) -> dict:
    config[P + "network"] = dict(EXISTING_NETWORK)
    config.pop(P + "vpn")  # the VPN and the bastion need a VPC this stack creates
    config.pop(P + "access")
    return config


def test_existing_vpc_stack_reads_the_network_and_places_the_cluster_in_its_first_subnet(dev_config, run_stack):
    """With an existing VPC the stack creates no VPC, subnet or NAT gateway; it reads them, puts the cluster
    security group in that VPC, the S3 endpoint on the configured route tables, and the cluster and FSx in
    the first configured subnet. The config layer and the network share one set of route table lookups."""
    result = ok(run_stack(existing(dev_config)))
    reads = {(r.type, r.id) for r in result.registrations if r.read}
    assert ("aws:ec2/vpc:Vpc", EXISTING_NETWORK["vpcId"]) in reads
    assert {(SUBNET, s) for s in EXISTING_NETWORK["privateSubnetIds"]} <= reads
    assert not [
        r
        for r in result.registrations
        if not r.read and r.type in ("aws:ec2/vpc:Vpc", SUBNET, "aws:ec2/natGateway:NatGateway")
    ]
    assert cluster_sg(result).inputs["vpcId"] == EXISTING_NETWORK["vpcId"]
    endpoint = child(result, "Network", "aws:ec2/vpcEndpoint:VpcEndpoint")
    assert endpoint.inputs["routeTableIds"] == EXISTING_NETWORK["routeTableIds"]
    first = EXISTING_NETWORK["privateSubnetIds"][0]
    assert result.one(CLUSTER).inputs["vpcConfig"]["subnets"] == [first]
    assert result.one(LUSTRE).inputs["subnetIds"] == first
    assert len([t for t, _ in result.calls if t == GET_ROUTE_TABLE]) == 3  # two by subnet, one main, once


def test_failed_route_table_lookup_stops_the_stack_as_a_config_error_before_any_resource(
    dev_config, run_stack, monkeypatch
):
    """The program reports a failed lookup as a ConfigError (scripts/preview: exit 2), before any resource."""
    from tools import harness

    data = harness.existing_network()
    data["routeTables"].pop(data["vpcs"][EXISTING_NETWORK["vpcId"]]["mainRouteTableId"])
    monkeypatch.setattr(harness.AwsMocks, "existing_network", data)
    result = run_stack(existing(dev_config))
    assert isinstance(result.error, ConfigError), result.error
    assert [(p.path, p.value) for p in result.error.problems] == [("network.vpcId", EXISTING_NETWORK["vpcId"])]
    assert result.registrations == []


# ---------------------------------------------------------------- shared storage
def test_fsx_sits_in_the_primary_private_subnet_with_the_cluster_security_group(dev_config, dev_run):
    fs = dev_run.one(LUSTRE)
    assert fs.parent == component(dev_run, "Fsx").urn
    assert fs.inputs["subnetIds"] == private_subnets(dev_run, dev_config)[0].outputs["id"]
    assert fs.inputs["securityGroupIds"] == [cluster_sg(dev_run).outputs["id"]]


def test_fsx_is_protected_unless_the_stack_config_turns_protection_off(dev_config, run_stack, dev_run):
    assert "protect" not in dev_config[P + "fsx"]
    assert dev_run.one(LUSTRE).protect is True
    dev_config[P + "fsx"]["protect"] = False
    assert ok(run_stack(dev_config)).one(LUSTRE).protect is False


def test_fsx_size_and_throughput_come_from_the_config(dev_config, run_stack, dev_run):
    fsx = dev_config[P + "fsx"]
    fs = dev_run.one(LUSTRE).inputs
    assert (fs["storageCapacity"], fs["perUnitStorageThroughput"]) == (
        fsx["storageCapacityGiB"],
        fsx["throughputPerTiB"],
    )
    fsx.update(storageCapacityGiB=4800, throughputPerTiB=1000)
    fs = ok(run_stack(dev_config)).one(LUSTRE).inputs
    assert (fs["storageCapacity"], fs["perUnitStorageThroughput"]) == (4800, 1000)


def test_fsx_disabled_means_no_file_system_and_platform_json_says_null(dev_config, run_stack):
    dev_config[P + "fsx"] = {"enabled": False}
    result = ok(run_stack(dev_config))
    assert result.of_type(LUSTRE) == []
    assert result.of_type("hyperpod-platform:index:Fsx") == []
    assert json.loads(platform_file(result))["fsx"] is None
    assert "fsxDnsName" not in result.outputs


# ---------------------------------------------------------------- lifecycle bucket
def test_bucket_name_follows_the_cluster_name_unless_the_config_fixes_it(dev_config, run_stack, dev_run):
    """By default a generated sagemaker-<cluster>- name (the managed policy's rule); a configured name as is."""
    bucket = child(dev_run, "LifecycleBucket", BUCKET).inputs
    assert bucket["bucketPrefix"] == f"sagemaker-{dev_config[P + 'clusterName']}-"
    dev_config[P + "lifecycle"] = {"bucketName": "acme-hyperpod-scripts"}
    assert ok(run_stack(dev_config)).one(BUCKET).inputs["bucket"] == "acme-hyperpod-scripts"


def test_platform_json_names_the_file_system_and_each_groups_role(dev_config, dev_run):
    """platform.json is rendered at deploy time from the stack: the FSx endpoint with the configured mount
    path, and each configured group's role."""
    content = json.loads(platform_file(dev_run))
    fs = dev_run.one(LUSTRE).outputs
    assert content["fsx"] == {
        "dns_name": fs["dnsName"],
        "mount_name": fs["mountName"],
        "mount_path": dev_config[P + "fsx"]["mountPath"],
    }
    assert content["groups"] == {g["name"]: g["role"] for g in dev_config[P + "cluster"]["instanceGroups"]}


def test_stack_uploads_the_packaged_node_scripts_and_its_platform_file(dev_run):
    """The stack gives no source directory: the package's node scripts, each with its hash, plus platform.json."""
    objects = {o.inputs["key"]: o for o in children(dev_run, "LifecycleBucket", OBJECT)}
    files = lifecycle_files(LIFECYCLE_DIR)
    assert set(objects) == set(files) | {f"{PREFIX}/{PLATFORM_FILE}"}
    for key, path in files.items():
        assert objects[key].inputs["sourceHash"] == hashlib.sha256(path.read_bytes()).hexdigest(), key


# ---------------------------------------------------------------- execution role
def test_role_creates_enis_only_in_the_node_subnets_with_the_cluster_group_in_the_stack_vpc(
    dev_config, run_stack, dev_run
):
    """ENIs are created only in the cluster's node subnets (the primary one by default, every private subnet
    with subnetPlacement: all) with its security group, and managed only in the stack's VPC."""
    stmts = {s["Sid"]: s for s in inline_policy(dev_run)["Statement"]}
    primary, other = private_subnets(dev_run, dev_config)
    create = stmts["CreateEniInClusterSubnets"]["Resource"]
    assert primary.outputs["arn"] in create and cluster_sg(dev_run).outputs["arn"] in create
    assert other.outputs["arn"] not in create
    vpc = child(dev_run, "Network", "aws:ec2/vpc:Vpc").outputs["arn"]
    assert stmts["ManageEnisInClusterVpc"]["Condition"] == {"ArnEquals": {"ec2:Vpc": vpc}}

    dev_config[P + "cluster"]["subnetPlacement"] = "all"
    result = ok(run_stack(dev_config))
    create = {s["Sid"]: s for s in inline_policy(result)["Statement"]}["CreateEniInClusterSubnets"]["Resource"]
    assert all(s.outputs["arn"] in create for s in private_subnets(result, dev_config))


def test_role_reads_only_the_stacks_lifecycle_bucket_prefix(dev_run):
    bucket = child(dev_run, "LifecycleBucket", BUCKET).outputs["arn"]
    s3 = [s for s in inline_policy(dev_run)["Statement"] if str(s["Action"]).startswith("s3:")]
    assert {(s["Action"], json.dumps(s["Resource"])) for s in s3} == {
        ("s3:GetObject", json.dumps(f"{bucket}/{PREFIX}/*")),
        ("s3:ListBucket", json.dumps(bucket)),
    }


def test_role_reads_exactly_the_directory_connection_parameter_without_waiting_for_it(dev_config, run_stack, dev_run):
    """ssm:GetParameter on the one connection parameter's ARN, built from its name, the account and the
    region (invokes), so the policy, and the cluster waiting for it, do not depend on the parameter; with the
    directory off there is no SSM grant at all."""
    param = child(dev_run, "DirectoryConnection", "aws:ssm/parameter:Parameter")
    name = param.inputs["name"]
    assert dev_config[P + "clusterName"] in name and dev_run.outputs["directoryConnectionParameter"] == name
    ssm = [s for s in inline_policy(dev_run)["Statement"] if "ssm:" in json.dumps(s["Action"])]
    assert ssm == [
        {
            "Sid": "ReadNamedParameters",
            "Effect": "Allow",
            "Action": "ssm:GetParameter",
            "Resource": [parameter_arn("aws", dev_config["aws:region"], ACCOUNT, name)],
        }
    ]
    inline = child(dev_run, "ExecutionRole", INLINE)
    assert param.urn not in inline.dependencies and param.urn not in sum(inline.property_dependencies.values(), [])
    assert param.urn not in dev_run.one(CLUSTER).dependencies
    dev_config[P + "directory"] = {"enabled": False}
    result = ok(run_stack(dev_config))
    assert "ssm:" not in child(result, "ExecutionRole", INLINE).inputs["policy"]


def test_nodes_read_the_host_key_and_bind_secrets_which_refuse_everyone_else(dev_run):
    """The role may read exactly the login host keys and the LDAP bind secret; the host key secret's policy
    denies GetSecretValue to any principal but the execution role and the role that deploys the stack."""
    host_keys = child(dev_run, "LoginAccess", SECRET).outputs["arn"]
    bind = dev_run.outputs["ldapBindSecretArn"]
    assert bind in {s.outputs["arn"] for s in children(dev_run, "Directory", SECRET)}
    reads = [s for s in inline_policy(dev_run)["Statement"] if "secretsmanager" in json.dumps(s["Action"])]
    assert reads == [
        {
            "Sid": "ReadNamedSecrets",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": [host_keys, bind],
        }
    ]
    role = child(dev_run, "ExecutionRole", ROLE).outputs["arn"]
    policies = {
        p.inputs["secretArn"]: p
        for p in children(dev_run, "ExecutionRole", "aws:secretsmanager/secretPolicy:SecretPolicy")
    }
    assert set(policies) == {host_keys, bind}
    (stmt,) = json.loads(policies[host_keys].inputs["policy"])["Statement"]
    assert (stmt["Effect"], stmt["Action"], stmt["Resource"]) == ("Deny", "secretsmanager:GetSecretValue", host_keys)
    assert stmt["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": sorted([role, DEPLOYER_ROLE])}}


# ---------------------------------------------------------------- cluster
def test_instance_groups_follow_the_stack_config(dev_config, dev_run):
    """Every configured group becomes one instance group, in order, with its type, count, Slurm node type,
    partition, threads per core, storage and deep health checks."""
    groups = dev_run.one(CLUSTER).inputs["instanceGroups"]
    wanted = dev_config[P + "cluster"]["instanceGroups"]
    assert [g["instanceGroupName"] for g in groups] == [w["name"] for w in wanted]
    for got, want in zip(groups, wanted, strict=True):
        assert (got["instanceType"], got["instanceCount"]) == (want["instanceType"], want["count"])
        assert got["slurmConfig"]["nodeType"].lower() == want["role"]
        assert got["slurmConfig"].get("partitionNames") == ([want["partition"]] if "partition" in want else None)
        assert got.get("threadsPerCore") == want.get("threadsPerCore")
        assert got["instanceStorageConfigs"] == [{"ebsVolumeConfig": {"volumeSizeInGb": want["ebsVolumeGiB"]}}]
        assert got.get("onStartDeepHealthChecks") == want.get("deepHealthChecks")


def test_cluster_name_tags_strategy_and_recovery_come_from_the_config(dev_config, run_stack, dev_run):
    inputs = dev_run.one(CLUSTER).inputs
    cluster = dev_config[P + "cluster"]
    assert inputs["clusterName"] == dev_config[P + "clusterName"]
    assert inputs["orchestrator"] == {"slurm": {"slurmConfigStrategy": cluster["slurmConfigStrategy"]}}
    assert inputs["nodeRecovery"] == cluster["nodeRecovery"]
    for key, value in dev_config[P + "tags"].items():
        assert {"key": key, "value": value} in inputs["tags"]
    assert {"key": "Cluster", "value": dev_config[P + "clusterName"]} in inputs["tags"]
    dev_config[P + "cluster"]["nodeRecovery"] = "None"
    assert ok(run_stack(dev_config)).one(CLUSTER).inputs["nodeRecovery"] == "None"


def test_nodes_sit_in_the_primary_subnet_next_to_fsx_unless_placement_is_all(dev_config, run_stack, dev_run):
    """Nodes sit in the primary private subnet (next to FSx) with the cluster SG; `all` spreads them."""
    vpc = dev_run.one(CLUSTER).inputs["vpcConfig"]
    assert vpc["subnets"] == [private_subnets(dev_run, dev_config)[0].outputs["id"]]
    assert vpc["subnets"] == [dev_run.one(LUSTRE).inputs["subnetIds"]]
    assert vpc["securityGroupIds"] == [cluster_sg(dev_run).outputs["id"]]
    dev_config[P + "cluster"]["subnetPlacement"] = "all"
    result = ok(run_stack(dev_config))
    assert result.one(CLUSTER).inputs["vpcConfig"]["subnets"] == [
        s.outputs["id"] for s in private_subnets(result, dev_config)
    ]


def test_cluster_runs_the_stacks_scripts_as_its_role_and_waits_for_every_object_and_policy(dev_run):
    """Every group takes its scripts from the lifecycle bucket and runs as the execution role; the cluster
    waits for every uploaded script and for the role's policies (nodes run the scripts with that role as they
    boot)."""
    cluster = dev_run.one(CLUSTER)
    uri = f"s3://{child(dev_run, 'LifecycleBucket', BUCKET).outputs['id']}/{PREFIX}"
    role_arn = child(dev_run, "ExecutionRole", ROLE).outputs["arn"]
    for g in cluster.inputs["instanceGroups"]:
        assert g["lifeCycleConfig"]["sourceS3Uri"] == uri
        assert g["executionRole"] == role_arn
    needed = {o.urn for o in children(dev_run, "LifecycleBucket", OBJECT)}
    needed |= {
        child(dev_run, "ExecutionRole", "aws:iam/rolePolicyAttachment:RolePolicyAttachment").urn,
        child(dev_run, "ExecutionRole", INLINE).urn,
    }
    assert needed <= set(cluster.dependencies)
    assert dev_run.outputs["lifecycleS3Uri"] == uri and dev_run.outputs["executionRoleArn"] == role_arn


# ---------------------------------------------------------------- login access and targets
def test_login_nlb_spans_every_private_subnet_and_admits_the_vpc_the_vpn_and_the_configured_ranges(dev_config, dev_run):
    nlb = child(dev_run, "LoginAccess", LB).inputs
    assert sorted(nlb["subnets"]) == sorted(s.outputs["id"] for s in private_subnets(dev_run, dev_config))
    nlb_sg = child(dev_run, "LoginAccess", SECURITY_GROUP)
    assert nlb_sg.inputs["vpcId"] == child(dev_run, "Network", "aws:ec2/vpc:Vpc").outputs["id"]
    cidrs = [
        r.inputs["cidrIpv4"] for r in dev_run.of_type(INGRESS) if r.inputs["securityGroupId"] == nlb_sg.outputs["id"]
    ]
    assert sorted(cidrs) == sorted(
        [
            dev_config[P + "network"]["vpcCidr"],
            dev_config[P + "vpn"]["clientCidr"],
            *dev_config[P + "login"]["allowedCidrs"],
        ]
    )
    egress = [r.inputs for r in dev_run.of_type(EGRESS) if r.inputs["securityGroupId"] == nlb_sg.outputs["id"]]
    assert [r["referencedSecurityGroupId"] for r in egress] == [cluster_sg(dev_run).outputs["id"]]


def test_stickiness_setting_reaches_the_login_target_group(dev_config, run_stack, dev_run):
    tg = "aws:lb/targetGroup:TargetGroup"
    assert child(dev_run, "LoginAccess", tg).inputs["stickiness"]["enabled"] is dev_config[P + "login"]["stickiness"]
    dev_config[P + "login"]["stickiness"] = False
    assert child(ok(run_stack(dev_config)), "LoginAccess", tg).inputs["stickiness"]["enabled"] is False


def test_host_key_version_in_the_config_names_the_keys(dev_config, run_stack, dev_run):
    """A new hostKeyVersion makes new key resources (new keys), replacing the old ones."""
    version = dev_config[P + "login"]["hostKeyVersion"]
    old = {k.name for k in children(dev_run, "LoginAccess", KEY)}
    assert len(old) == 2 and all(n.endswith(f"-v{version}") for n in old)
    dev_config[P + "login"]["hostKeyVersion"] = version + 1
    new = {k.name for k in children(ok(run_stack(dev_config)), "LoginAccess", KEY)}
    assert new == {n.removesuffix(f"-v{version}") + f"-v{version + 1}" for n in old}


def test_world_ssh_in_the_login_ranges_is_a_config_error_before_any_resource(dev_config, run_stack):
    dev_config[P + "login"]["allowedCidrs"] = ["0.0.0.0/0"]
    result = run_stack(dev_config)
    assert isinstance(result.error, ConfigError) and result.registrations == []
    assert "login.allowedCidrs = " in str(result.error) and "open SSH to the world" in str(result.error)


def test_private_host_keys_appear_nowhere_in_the_stacks_plan_or_outputs(dev_run):
    """The login host keys exist only inside the secret value: no other input of the whole stack (platform.json,
    policies, exports) carries a private key."""
    version = child(dev_run, "LoginAccess", "aws:secretsmanager/secretVersion:SecretVersion")
    material = json.loads(version.inputs["secretString"]["<secret>"])
    plan = json.dumps(plan_of(dev_run)) + json.dumps(dev_run.outputs)
    private = [material[k] for k in material if not k.endswith(".pub")]
    assert len(private) == 2
    for key in private:
        assert key.strip() not in plan


def test_login_exports_and_platform_json_name_the_nlb_and_the_host_key_secret(dev_run):
    """Outputs: the NLB DNS name and one known_hosts line per host key for it; platform.json tells the nodes
    the same host name and the secret with the keys."""
    host = child(dev_run, "LoginAccess", LB).outputs["dnsName"]
    assert dev_run.outputs["loginHost"] == host
    keys = [k.outputs["publicKeyOpenssh"].strip() for k in children(dev_run, "LoginAccess", KEY)]
    assert sorted(dev_run.outputs["loginKnownHosts"].splitlines()) == sorted(f"{host} {pub}" for pub in keys)
    assert json.loads(platform_file(dev_run))["login"] == {
        "host_keys_secret_id": child(dev_run, "LoginAccess", SECRET).outputs["arn"],
        "host_name": host,
    }


def test_no_login_group_means_no_login_access_and_platform_json_says_null(dev_config, run_stack, dev_run):
    """Without a login group there is no login NLB, host key secret or target (the directory's NLB and
    secrets stay), and platform.json says login is off."""
    login_nodes = login_group(dev_config)["count"]
    groups = dev_config[P + "cluster"]["instanceGroups"]
    dev_config[P + "cluster"]["instanceGroups"] = [g for g in groups if g["role"] != "login"]
    dev_config.pop(P + "login")
    result = ok(run_stack(dev_config))
    assert result.of_type("hyperpod-platform:index:LoginAccess") == []
    assert result.of_type("hyperpod-platform:index:LoginTargets") == []
    assert len(result.of_type(LB)) == len(dev_run.of_type(LB)) - 1
    assert len(result.of_type(SECRET)) == len(dev_run.of_type(SECRET)) - 1
    assert len(result.of_type(ATTACH)) == len(dev_run.of_type(ATTACH)) - login_nodes
    assert json.loads(platform_file(result))["login"] is None
    assert "loginHost" not in result.outputs and "loginKnownHosts" not in result.outputs


def test_login_targets_look_up_the_login_groups_enis_in_the_stack_vpc_after_the_cluster(dev_config, dev_run):
    """One attachment per configured login node, on the login NLB's target group, from a lookup of the login
    group's ENIs in the stack's VPC that waits for the cluster."""
    lookups = [a for t, a in dev_run.calls if t == "aws:ec2/getNetworkInterfaces:getNetworkInterfaces"]
    assert len(lookups) == 1
    filters = {f["name"]: f["values"] for f in lookups[0]["filters"]}
    assert filters == {
        "vpc-id": [child(dev_run, "Network", "aws:ec2/vpc:Vpc").outputs["id"]],
        "description": [f"*{login_group(dev_config)['name']}*"],
    }
    attachments = children(dev_run, "LoginTargets", ATTACH)
    assert len(attachments) == login_group(dev_config)["count"]
    target_group = child(dev_run, "LoginAccess", "aws:lb/targetGroup:TargetGroup").outputs["arn"]
    cluster = dev_run.one(CLUSTER).urn
    for a in attachments:
        assert a.inputs["targetGroupArn"] == target_group and cluster in a.dependencies


def test_target_ips_in_the_config_reach_the_targets_without_a_lookup(dev_config, run_stack):
    dev_config[P + "login"]["targetIps"] = ["10.20.64.5", "10.20.0.5"]
    result = ok(run_stack(dev_config))
    assert sorted(a.inputs["targetId"] for a in children(result, "LoginTargets", ATTACH)) == ["10.20.0.5", "10.20.64.5"]
    assert not [t for t, _ in result.calls if t.startswith("aws:ec2/getNetworkInterface")]
