"""The shipped dev stack wires login self-registration (wiring/slurm.py): platform.json tells the login nodes
their target group, the nodes' execution role may keep exactly that target group, and the cluster waits for
none of it but the target group itself. The node side runs for real in tests/test_login_target_step.py."""

from __future__ import annotations

import json

from tests.test_stack_dev import CLUSTER, child, children, platform_file

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
LB = "aws:lb/loadBalancer:LoadBalancer"


def closure(result, urn: str) -> set[str]:
    """Every URN ``urn`` waits for (dependencies and property dependencies, transitively)."""
    by_urn = {r.urn: r for r in result.registrations}
    seen: set[str] = set()
    todo = [urn]
    while todo:
        r = by_urn.get(todo.pop())
        if r is None:
            continue
        for dep in [*r.dependencies, *(u for deps in r.property_dependencies.values() for u in deps)]:
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return seen


def test_platform_json_names_the_login_target_group_its_port_and_the_vpc(dev_run):
    target_group = child(dev_run, "LoginAccess", TARGET_GROUP).outputs["arn"]
    assert json.loads(platform_file(dev_run))["login_targets"] == {
        "target_group_arn": target_group,
        "port": 22,
        "vpc_id": dev_run.outputs["vpcId"],
    }


def test_the_execution_role_may_register_in_the_login_target_group_only(dev_run):
    """The LoginTargets component puts its own inline policy on the execution role (not the role's policy,
    which another component owns): register/deregister on the login target group's ARN, nothing else."""
    (policy,) = children(dev_run, "LoginTargets", ROLE_POLICY)
    assert policy.inputs["role"] == child(dev_run, "ExecutionRole", ROLE).outputs["name"]
    document = policy.inputs["policy"]
    document = json.loads(document) if isinstance(document, str) else document
    writes = [s for s in document["Statement"] if any(not a.split(":")[1].startswith("Describe") for a in s["Action"])]
    assert [s["Resource"] for s in writes] == [child(dev_run, "LoginAccess", TARGET_GROUP).outputs["arn"]]


def test_the_cluster_waits_for_the_target_group_and_not_for_the_nodes_policy_or_the_targets(dev_run):
    """The bundle names the target group, so the cluster waits for it (it needs only the VPC); the nodes'
    policy and Pulumi's attachments come after the cluster, and a node that boots before its policy exists
    defers and its timer retries (tests/test_login_target_step.py)."""
    cluster = dev_run.one(CLUSTER)
    waits = closure(dev_run, cluster.urn)
    target_group = child(dev_run, "LoginAccess", TARGET_GROUP)
    assert target_group.urn in waits
    assert not {r.urn for r in children(dev_run, "LoginTargets", ROLE_POLICY)} & waits
    assert not {r.urn for r in dev_run.registrations if r.type.startswith("aws:lb/targetGroupAttachment")} & waits
    assert child(dev_run, "LoginAccess", LB).urn not in closure(dev_run, target_group.urn)  # not the NLB's path
