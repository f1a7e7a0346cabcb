"""HyperPodCluster under mocks: instance groups from config, recovery, VPC placement, lifecycle wiring."""

from __future__ import annotations

from tests.conftest import P


def test_instance_groups_follow_config(dev_run, dev_config):
    """Every configured group becomes one instance group with its Slurm node type, partition, storage,
    threads per core and deep health checks."""
    groups = {g["instanceGroupName"]: g for g in dev_run.one("aws-native:sagemaker:Cluster").inputs["instanceGroups"]}
    wanted = dev_config[P + "cluster"]["instanceGroups"]
    assert list(groups) == [g["name"] for g in wanted]
    ctl, login, gpu = (groups[g["name"]] for g in wanted)
    assert ctl["slurmConfig"] == {"nodeType": "Controller"} and ctl["threadsPerCore"] == 2
    assert login["slurmConfig"] == {"nodeType": "Login"} and login["instanceCount"] == 2
    assert gpu["slurmConfig"] == {"nodeType": "Compute", "partitionNames": ["gpu"]}
    assert gpu["instanceType"] == "ml.g5.12xlarge" and gpu["instanceCount"] == 2
    assert gpu["onStartDeepHealthChecks"] == ["InstanceStress", "InstanceConnectivity"]
    assert gpu["instanceStorageConfigs"] == [{"ebsVolumeConfig": {"volumeSizeInGb": 500}}]
    assert "onStartDeepHealthChecks" not in ctl


def test_orchestrator_recovery_and_tags(dev_run):
    """Slurm orchestrator (Managed strategy), NodeRecovery Automatic, stack tags on the cluster."""
    inputs = dev_run.one("aws-native:sagemaker:Cluster").inputs
    assert inputs["clusterName"] == "hp-dev"
    assert inputs["orchestrator"] == {"slurm": {"slurmConfigStrategy": "Managed"}}
    assert inputs["nodeRecovery"] == "Automatic"
    assert {"key": "Environment", "value": "dev"} in inputs["tags"]


def test_vpc_config_private_subnet_and_cluster_sg(dev_config, run_stack, dev_run):
    """Nodes sit in the primary private subnet (next to FSx) with the cluster SG; `all` spreads them."""
    vpc = dev_run.one("aws-native:sagemaker:Cluster").inputs["vpcConfig"]
    assert vpc["subnets"] == [dev_run.named("hp-dev-private-0").outputs["id"]]
    assert vpc["securityGroupIds"] == [dev_run.named("hp-dev-cluster-sg").outputs["id"]]
    dev_config[P + "cluster"]["subnetPlacement"] = "all"
    result = run_stack(dev_config)
    assert result.one("aws-native:sagemaker:Cluster").inputs["vpcConfig"]["subnets"] == [
        result.named(f"hp-dev-private-{i}").outputs["id"] for i in (0, 1)
    ]


def test_lifecycle_mode_and_ordering(dev_run):
    """Extended mode (OnInitComplete) from the lifecycle bucket, and the cluster waits for every uploaded
    script and for the role's policies (nodes run the scripts with that role as they boot)."""
    cluster = dev_run.one("aws-native:sagemaker:Cluster")
    uri = f"s3://{dev_run.one('aws:s3/bucket:Bucket').outputs['id']}/lifecycle"
    role_arn = next(r for r in dev_run.of_type("aws:iam/role:Role") if r.name == "hp-dev-role").outputs["arn"]
    for g in cluster.inputs["instanceGroups"]:
        assert g["lifeCycleConfig"] == {"sourceS3Uri": uri, "onInitComplete": "on_init_complete.sh"}
        assert "onCreate" not in g["lifeCycleConfig"]
        assert g["executionRole"] == role_arn
    needed = {o.urn for o in dev_run.of_type("aws:s3/bucketObjectv2:BucketObjectv2")}
    needed |= {dev_run.named("hp-dev-managed").urn, dev_run.named("hp-dev-vpc-and-lifecycle").urn}
    assert needed <= set(cluster.dependencies)


def test_node_recovery_none_by_config(dev_config, run_stack):
    """NodeRecovery can be switched off explicitly."""
    dev_config[P + "cluster"]["nodeRecovery"] = "None"
    assert run_stack(dev_config).one("aws-native:sagemaker:Cluster").inputs["nodeRecovery"] == "None"
