"""What every platform has, whatever orchestrates it: the network, shared storage and the Client VPN."""

from dataclasses import dataclass, field
from typing import Any, Optional

import pulumi

import hyperpod_platform as hp
from hyperpod_platform.errors import holds_any, secret_config_strings
from hyperpod_platform.lifecycle_bucket import PREFIX
from hyperpod_platform.settings import StackSettings


@dataclass
class Base:
    """The shared components and the values the orchestrators' wiring takes from them."""

    network: hp.Network
    storage: Optional[hp.Fsx]
    vpn: Optional[hp.ClientVpn]
    vpc: pulumi.Output[str]
    sg: pulumi.Output[str]
    subnets: list[pulumi.Output[str]]
    parts: dict[str, Any] = field(default_factory=dict)
    """The components the orchestrator's wiring built, by role (for programs that extend the stack)."""


def hide_secret_config() -> frozenset[str]:
    """Mark as a Pulumi secret every resource input of this stack that holds a value of a config key set with
    ``--secret`` (recorded by ``stack_config.load``: ``hyperpod_platform.errors.set_secret_config``).

    The settings stay plain values (they are validated, compared and shape the resource graph); the secrecy is
    applied where they become inputs, by one stack transformation, whichever component built the input: an
    input equal to such a value, or text containing one (a JSON policy with an external id), is wrapped in
    ``pulumi.Output.secret``; inside a mapping or list only the items holding one are. Outputs are judged once
    known; a component's registered outputs are judged the same way. Names of resources cannot be secrets: a
    secret value that names a resource shows in its name. Returns the recorded values (none: nothing is
    registered, the plan is as without secret config)."""
    secrets = secret_config_strings()
    if secrets:

        def transformation(args: pulumi.ResourceTransformationArgs) -> Optional[pulumi.ResourceTransformationResult]:
            if isinstance(args.resource, pulumi.ComponentResource):  # its outputs, in the state, too
                own = args.resource.register_outputs
                args.resource.register_outputs = lambda outputs: own(_hidden(outputs, secrets))
            props = {k: _hidden(v, secrets) for k, v in args.props.items()}
            if all(props[k] is v for k, v in args.props.items()):
                return None
            return pulumi.ResourceTransformationResult(props, args.opts)

        pulumi.runtime.register_stack_transformation(transformation)
    return secrets


def secret_exports(exports: dict) -> dict:
    """The stack's exports, each holding a value of secret config made a secret (see :func:`hide_secret_config`)."""
    secrets = secret_config_strings()
    return {k: _hidden(v, secrets) for k, v in exports.items()} if secrets else exports


def _hidden(value: Any, secrets: frozenset[str]) -> Any:
    """``value`` with every part that holds one of ``secrets`` wrapped in ``pulumi.Output.secret``; the same
    object when no known part does (an output is judged when it resolves)."""
    if isinstance(value, pulumi.Output):
        return value.apply(lambda v: pulumi.Output.secret(v) if holds_any(v, secrets) else v)
    if isinstance(value, (str, bytes)):
        return pulumi.Output.secret(value) if holds_any(value, secrets) else value
    if isinstance(value, dict):
        items = {k: _hidden(v, secrets) for k, v in value.items()}
        if any(holds_any(k, secrets) for k in value):  # a mapping key cannot be a secret: the whole mapping is
            return pulumi.Output.secret(value)
        return items if any(items[k] is not v for k, v in value.items()) else value
    if isinstance(value, (list, tuple)):
        items = [_hidden(v, secrets) for v in value]
        return type(value)(items) if any(a is not b for a, b in zip(items, value, strict=True)) else value
    if _is_input_type(value):  # an args class: rebuilt from its fields, as pulumi.Output.from_input does
        fields = {k: _hidden(v, secrets) for k, v in vars(value).items()}
        return type(value)(**fields) if any(fields[k] is not v for k, v in vars(value).items()) else value
    return value


def _is_input_type(value: Any) -> bool:
    from pulumi import _types

    return _types.is_input_type(type(value))


def base(s: StackSettings) -> Base:
    name, tags = s.cluster.name, s.tag_dict
    hide_secret_config()  # before the first resource: every input holding a secret value stays one
    network = hp.Network(
        name,
        hp.NetworkArgs(
            settings=s.network,
            tags=tags,
            region=s.region,
            # data accounts whose roles the teams' pods assume read through the S3 gateway endpoint
            endpoint_accounts=sorted({s.accounts[t.data.account].account_id for t in s.teams if t.data}),
        ),
    )
    # The cluster security group's id once all its rules exist: whatever takes it (FSx, which checks the Lustre
    # ports at create; the cluster; the NLBs' rules) waits for them.
    vpc, sg, subnets = network.vpc_id, network.cluster_security_group_id, [n.id for n in network.private_subnets]
    storage = vpn = None
    if s.fsx.enabled:
        storage = hp.Fsx(name, hp.FsxArgs(settings=s.fsx, subnet_id=subnets[0], security_group_id=sg, tags=tags))
    if s.vpn.enabled:
        # On an EKS stack the control plane shares the cluster security group: it admits the VPN on 443.
        api = [network.cluster_security_group.id] if s.cluster.orchestrator == "eks" else []
        vpn = hp.ClientVpn(
            name,
            hp.ClientVpnArgs(
                settings=s.vpn,
                vpc_id=vpc,
                vpc_cidr=s.network.vpc_cidr,
                subnet_ids=subnets,
                tags=tags,
                api_security_group_ids=api,
            ),
        )
    return Base(network, storage, vpn, vpc, sg, subnets)


def common_exports(s: StackSettings, b: Base) -> dict:
    """Exports every platform has."""
    return {
        "clusterName": s.cluster.name,
        "vpcId": b.vpc,
        "privateSubnetIds": b.subnets,
        "clusterSecurityGroupId": b.sg,
        "fsxDnsName": b.storage and b.storage.dns_name,
        "fsxMountName": b.storage and b.storage.mount_name,
        "vpnEndpointId": b.vpn and b.vpn.endpoint.id,
        "vpnProfiles": b.vpn and b.vpn.profiles,  # a secret: `scripts/vpn-profile NAME` writes one to a file
    }


@dataclass
class Nodes:
    """The HyperPod cluster with its lifecycle scripts, its nodes' role, and the ways in."""

    lifecycle: hp.LifecycleBucket
    role: hp.ExecutionRole
    cluster: hp.HyperPodCluster
    access: hp.Access


def nodes(
    s: StackSettings,
    b: Base,
    bucket: hp.LifecycleBucketArgs,
    role_extra: dict[str, Any],
    eks_cluster_arn: Optional[pulumi.Input[str]] = None,
) -> Nodes:
    """The parts every orchestrator wires the same way: the lifecycle bucket (``bucket``: the scripts and rendered
    files), the execution role (``role_extra``: what the orchestrator adds to it), the cluster in the node
    subnets, and the ways in (SSM, bastion)."""
    name, tags, network = s.cluster.name, s.tag_dict, b.network
    lifecycle = hp.LifecycleBucket(name, bucket)
    node_subnets = network.private_subnets if s.cluster.subnet_placement == "all" else network.private_subnets[:1]
    role = hp.ExecutionRole(
        name,
        hp.ExecutionRoleArgs(
            vpc_arn=network.vpc_arn,
            subnet_arns=[n.arn for n in node_subnets],
            bucket_arn=lifecycle.bucket.arn,
            security_group_arns=[network.cluster_security_group.arn],
            lifecycle_prefix=PREFIX,
            tags=tags,
            **role_extra,
        ),
    )
    cluster = hp.HyperPodCluster(
        name,
        hp.HyperPodClusterArgs(
            settings=s.cluster,
            execution_role_arn=role.arn,
            subnet_ids=[n.id for n in node_subnets],
            security_group_ids=[b.sg],
            source_s3_uri=lifecycle.source_s3_uri,
            tags=tags,
            eks_cluster_arn=eks_cluster_arn,
        ),
    )
    access = hp.Access(
        name,
        hp.AccessArgs(
            settings=s.access,
            cluster_name=name,
            cluster_arn=cluster.arn,
            vpc_id=b.vpc,
            cluster_security_group_id=b.sg,
            tags=tags,
            public_subnet_id=network.public_subnets[0].id if network.public_subnets else None,
        ),
    )
    b.parts.update(lifecycle=lifecycle, role=role, cluster=cluster, access=access)
    return Nodes(lifecycle, role, cluster, access)


def node_exports(n: Nodes) -> dict:
    """Exports of the cluster, its scripts, its role and the ways in."""
    return {
        "clusterArn": n.cluster.arn,
        "lifecycleS3Uri": n.lifecycle.source_s3_uri,
        "executionRoleArn": n.role.arn,
        "ssmUserPolicyArn": n.access.ssm_policy_arn,
        "ssmSshConfig": n.access.ssm_ssh_config,
        "bastionSshConfig": n.access.bastion_ssh_config,
    }
