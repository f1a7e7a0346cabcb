"""The directory connection: what a node needs to reach the directory, published in SSM Parameter Store only
once the directory, its contents and the LDAPS endpoint exist.

The cluster does not wait for the directory (Managed AD takes about half an hour). Its nodes get only
plan-time directory settings in ``platform.json`` (:func:`node_settings`), among them the name of this
parameter; the identity step reads the parameter at boot and, while it does not exist yet, defers and
retries on a timer. The value is JSON (``schema`` 1): the LDAPS URI, the bind DN, the bind secret's ARN (never
the password), the DNs of the groups the nodes admit, and the public certificate of the CA the nodes pin.
"""

import json
from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws

from . import checks
from ._args import ArgCheck, component_type, renamed, take
from .node_contract import DirectoryNode
from .settings import ROLES, DirectorySettings

SCHEMA = 1
"""Version of the parameter value's layout (the node script checks it)."""
PARAMETER_PREFIX = "/hyperpod-platform"
STANDARD_MAX_BYTES = 4096  # SSM Parameter Store: Standard tier values up to 4 KB,
ADVANCED_MAX_BYTES = 8192  # Advanced up to 8 KB


def parameter_name(cluster_name: str) -> str:
    """The connection parameter's name, known at plan time (nodes and the execution role use it)."""
    return f"{PARAMETER_PREFIX}/{cluster_name}/directory"


def node_settings(settings: DirectorySettings, connection_parameter: str, home_dir: str) -> DirectoryNode:
    """The ``directory`` section of ``platform.json`` (:class:`~hyperpod_platform.node_contract.NodeContract`):
    plan-time values only, so the lifecycle bundle (and so the cluster) never waits for the directory."""
    return DirectoryNode(
        domain=settings.domain_name,
        search_base=settings.search_base,
        bind_user=settings.bind_user,
        connection_parameter=connection_parameter,
        allowed_groups_by_role={role: tuple(settings.allowed_on(role)) for role in ROLES},
        sudo_groups=tuple(settings.sudo_groups),
        local_groups=tuple(settings.local_groups),
        default_shell=settings.default_shell,
        home_dir=home_dir,
    )


def connection_value(
    ldaps_uri: str,
    bind_dn: str,
    bind_secret_arn: str,
    group_dns: Mapping[str, str],
    ca_certificate_pem: str,
    *,
    groups: Sequence[str],
) -> str:
    """The parameter's JSON value; ``group_dns`` narrowed to ``groups``, each of which must have a DN."""
    missing = [g for g in groups if g not in (group_dns or {})]
    if missing:
        raise ValueError(f"the directory contents report no DN for {', '.join(missing)}")
    return json.dumps(
        {
            "schema": SCHEMA,
            "ldaps_uri": ldaps_uri,
            "bind_dn": bind_dn,
            "bind_secret_id": bind_secret_arn,
            "group_dns": {g: group_dns[g] for g in groups},
            "ca_cert_pem": ca_certificate_pem,
        },
        sort_keys=True,
    )


def tier_for(value: str) -> str:
    """The cheapest parameter tier that holds ``value``."""
    size = len(value.encode())
    if size <= STANDARD_MAX_BYTES:
        return "Standard"
    if size <= ADVANCED_MAX_BYTES:
        return "Advanced"
    raise ValueError(
        f"the directory connection is {size} bytes, more than an SSM parameter holds "
        f"({ADVANCED_MAX_BYTES}); is the CA certificate a long chain?"
    )


@dataclass
class DirectoryConnectionArgs:
    """Inputs of :class:`DirectoryConnection`."""

    parameter_name: str
    """Name of the SSM parameter (:func:`parameter_name`)."""
    ldaps_uri: pulumi.Input[str]
    """``ldaps://<host>`` of the LDAPS endpoint."""
    bind_dn: pulumi.Input[str]
    """DN of the read-only bind user."""
    bind_secret_arn: pulumi.Input[str]
    """ARN of the secret holding the bind password (the nodes read the secret; the password is not here)."""
    group_dns: pulumi.Input[Mapping[str, str]]
    """Group name -> DN, as the directory contents report them."""
    groups: Sequence[str]
    """The groups whose DNs the nodes need (those allowed on some node); each must be in ``group_dns``."""
    ca_certificate_pem: pulumi.Input[str]
    """Public certificate of the CA the nodes pin for LDAPS (never a private key)."""
    tags: dict[str, str]
    """Tags for the parameter."""


class DirectoryConnection(pulumi.ComponentResource):
    """An SSM parameter (String, not secret) telling nodes how to reach the directory."""

    parameter: aws.ssm.Parameter
    """The parameter."""
    parameter_name: str
    """Its name (known at plan time)."""

    def __init__(self, name: str, args: DirectoryConnectionArgs, opts: Optional[pulumi.ResourceOptions] = None):
        args, check = take("DirectoryConnection", DirectoryConnectionArgs, args)
        _check_args(args, check)
        check.raise_if_any()
        super().__init__(component_type("DirectoryConnection"), name, None, renamed(opts, "DirectoryConnection"))
        groups = list(args.groups)
        value = pulumi.Output.all(
            args.ldaps_uri, args.bind_dn, args.bind_secret_arn, args.group_dns, args.ca_certificate_pem
        ).apply(lambda v: connection_value(*v, groups=groups))
        self.parameter_name = args.parameter_name
        self.parameter = aws.ssm.Parameter(
            f"{name}-directory-connection",
            name=args.parameter_name,
            type="String",
            insecure_value=value,
            tier=value.apply(tier_for),
            tags=args.tags,
            description="How the cluster nodes reach the directory (LDAPS URI, bind DN and secret, group DNs, CA)",
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"name": self.parameter_name, "arn": self.parameter.arn})


def _check_args(args: DirectoryConnectionArgs, check: ArgCheck) -> None:
    """A parameter name SSM accepts; one or more groups for the nodes to admit, each with a DN when the DNs are
    known (otherwise the value says so once they resolve); and, when given as plain values, an ldaps:// URI,
    the bind secret's ARN and a CA certificate that is a certificate (never a key); tags AWS accepts."""
    check.check("parameter_name", args.parameter_name, checks.parameter_name)
    groups = list(args.groups)
    why = "the nodes would admit no directory group"
    if check.at_least("groups", groups, 1, why, "give the groups allowed on some node"):
        check.each("groups", groups, checks.ad_group, same=str.lower)
    if isinstance(args.group_dns, Mapping):
        for i, g in enumerate(groups):
            if g not in args.group_dns:
                why = "has no DN in group_dns"
                check.fail(f"groups[{i}]", g, why, "add its DN to group_dns, or remove it from groups")
    check.check("ldaps_uri", args.ldaps_uri, checks.ldaps_uri)
    example = "arn:aws:secretsmanager:us-east-1:123456789012:secret:hp-ldap-bind-AbCdEf"
    secret = checks.arn_of("secretsmanager", "secret:", "a Secrets Manager secret", example)
    check.check("bind_secret_arn", args.bind_secret_arn, secret)
    check.check("ca_certificate_pem", args.ca_certificate_pem, checks.pem_certificate)
    check.tags(args.tags, own=())
