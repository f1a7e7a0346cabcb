"""The directory: AWS Managed Microsoft AD in two private subnets of distinct AZs, or an existing one by id.

Created mode generates the directory's Admin password with pulumi-random and keeps it in Secrets Manager
(it is a secret everywhere in Pulumi state too). The directory and that secret are protected from
``pulumi destroy`` and replacement (``directory.protect``).
"""

import json
from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from . import checks
from ._args import ArgCheck, after, component_type, renamed, take
from .errors import MISSING
from .settings import DirectorySettings

# AD password rules: at least three of upper, lower, digit, special. The special characters are limited to
# ones that need no quoting in JSON, INI files or shells.
PASSWORD_SPECIALS = "-_.+=^!*"


def directory_password(name: str, opts: pulumi.ResourceOptions, version: Optional[int] = None) -> random.RandomPassword:
    """A 32-character password that meets the AD complexity rules; a new ``version`` makes a new one. (The
    Admin password has none: a new one would replace the directory.)"""
    return random.RandomPassword(
        name,
        length=32,
        special=True,
        override_special=PASSWORD_SPECIALS,
        min_upper=2,
        min_lower=2,
        min_numeric=2,
        min_special=2,
        keepers={"version": str(version)} if version else None,
        opts=opts,
    )


def admin_secret_policy(name: str, secret_arn: pulumi.Input[str], opts: pulumi.ResourceOptions):
    """The Admin password's resource policy: no principal but the role deploying the stack may read it.

    Nothing in the stack reads the Admin password back (the directory gets it from pulumi-random), so, unlike
    the bind and host-key secrets (hyperpod_platform/execution_role.py), no workload is exempt: only the deploying
    role, because the AWS provider reads a secret back after writing it and on refresh. aws:PrincipalArn of an
    assumed role is the role's ARN with its path, which the session context gives."""
    invoke = pulumi.InvokeOutputOptions(parent=opts.parent)
    caller = aws.get_caller_identity_output(opts=invoke)
    deployer = aws.iam.get_session_context_output(arn=caller.arn, opts=invoke).issuer_arn
    return aws.secretsmanager.SecretPolicy(
        name,
        secret_arn=secret_arn,
        opts=opts,
        policy=pulumi.Output.all(secret_arn, deployer).apply(
            lambda v: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "OnlyTheDeployerReads",
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "secretsmanager:GetSecretValue",
                            "Resource": v[0],
                            "Condition": {"ArnNotEquals": {"aws:PrincipalArn": [v[1]]}},
                        }
                    ],
                }
            )
        ),
    )


@dataclass
class DirectoryArgs:
    """Inputs of :class:`Directory`."""

    settings: DirectorySettings
    """Validated directory settings."""
    vpc_id: pulumi.Input[str]
    """VPC of the directory."""
    subnet_ids: Sequence[pulumi.Input[str]]
    """Private subnets, the first two in distinct AZs (Managed AD puts one domain controller in each)."""
    tags: dict[str, str]
    """Tags for every resource."""


class Directory(pulumi.ComponentResource):
    """AWS Managed Microsoft AD (or an existing directory) and its admin credential."""

    directory_id: pulumi.Output[str]
    """Directory id (``d-...``)."""
    dns_ips: pulumi.Output[list[str]]
    """Domain controllers' IPs (the LDAPS endpoint's targets)."""
    controller_count: int
    """How many domain controller IPs there are (known at plan time)."""
    security_group_id: Optional[pulumi.Output[str]]
    """The security group AWS made for the domain controllers (created or looked-up directory)."""
    admin_secret: Optional[aws.secretsmanager.Secret]
    """Secret holding the directory's Admin password (created mode only)."""
    directory: Optional[aws.directoryservice.Directory]
    """The Managed AD resource (created mode only)."""
    bind_password: pulumi.Output[str]
    """Generated password of the read-only bind user (a Pulumi secret)."""
    bind_secret: aws.secretsmanager.Secret
    """Secret holding ``bind_password``; only the cluster's execution role may read it."""
    bind_secret_arn: pulumi.Output[str]
    """ARN of ``bind_secret``, resolved once the secret holds the password: nodes that take it find a value."""

    def __init__(self, name: str, args: DirectoryArgs, opts: Optional[pulumi.ResourceOptions] = None):
        args, check = take("Directory", DirectoryArgs, args)
        _check_args(args, check)
        check.raise_if_any()
        super().__init__(component_type("Directory"), name, None, renamed(opts, "Directory"))
        s = args.settings
        child = pulumi.ResourceOptions(parent=self)
        kept = pulumi.ResourceOptions(parent=self, protect=s.protect)
        self.admin_secret = None
        self.directory = None
        if s.mode == "create":
            password = directory_password(f"{name}-directory-admin", child)
            self.admin_secret = aws.secretsmanager.Secret(
                f"{name}-directory-admin",
                description=f"Admin password of the {s.domain_name} directory",
                recovery_window_in_days=30,
                tags=args.tags,
                opts=kept,
            )
            aws.secretsmanager.SecretVersion(
                f"{name}-directory-admin", secret_id=self.admin_secret.id, secret_string=password.result, opts=child
            )
            admin_secret_policy(f"{name}-directory-admin-deployer-only", self.admin_secret.arn, child)
            self.directory = aws.directoryservice.Directory(
                f"{name}-directory",
                name=s.domain_name,
                short_name=s.netbios_name,
                type="MicrosoftAD",
                edition=s.edition,
                password=password.result,
                enable_directory_data_access=True,
                description=f"HyperPod {name} users and groups",
                vpc_settings={"vpc_id": args.vpc_id, "subnet_ids": list(args.subnet_ids[:2])},
                tags=args.tags,
                opts=kept,
            )
            self.directory_id = self.directory.id
            self.dns_ips = self.directory.dns_ip_addresses
            self.security_group_id = self.directory.security_group_id
            self.controller_count = 2  # Managed AD starts with one domain controller per subnet
        elif s.dns_ips:
            self.directory_id = pulumi.Output.from_input(s.directory_id)
            self.dns_ips = pulumi.Output.from_input(list(s.dns_ips))
            self.security_group_id = None
            self.controller_count = len(s.dns_ips)
        else:
            found = aws.directoryservice.get_directory_output(
                directory_id=s.directory_id, opts=pulumi.InvokeOutputOptions(parent=self)
            )
            self.directory_id = found.id
            self.dns_ips = found.dns_ip_addresses
            self.security_group_id = found.security_group_id
            self.controller_count = 2

        # The read-only bind user's password: generated, kept in Secrets Manager, fetched by nodes at boot.
        bind = directory_password(f"{name}-ldap-bind", child, s.bind_password_version)
        self.bind_password = pulumi.Output.secret(bind.result)  # explicit: never shown, whatever the engine marks
        self.bind_secret = aws.secretsmanager.Secret(
            f"{name}-ldap-bind",
            description=f"Password of {s.bind_user}, the read-only LDAP bind user of "
            f"{s.domain_name} (read by the cluster nodes' SSSD)",
            recovery_window_in_days=7,
            tags=args.tags,
            opts=child,
        )
        version = aws.secretsmanager.SecretVersion(
            f"{name}-ldap-bind", secret_id=self.bind_secret.id, secret_string=bind.result, opts=child
        )
        self.bind_secret_arn = after(self.bind_secret.arn, [version])
        self.register_outputs(
            {"directory_id": self.directory_id, "dns_ips": self.dns_ips, "bind_secret_arn": self.bind_secret_arn}
        )


def _check_args(args: DirectoryArgs, check: ArgCheck) -> None:
    """A directory to create (domain and NetBIOS names, edition, two subnets for the domain controllers) or an
    existing one by id (with its domain controllers' IPs if given), only the settings of the mode given; the
    bind user's name and password version; tags AWS accepts."""
    s = args.settings
    check.check("settings.mode", s.mode, checks.one_of(*checks.DIRECTORY_MODES))
    check.check("settings.domain_name", s.domain_name, checks.domain_name)
    check.check("settings.bind_user", s.bind_user, checks.account_name("bind user names"))
    check.check("settings.bind_password_version", s.bind_password_version, checks.between(1, 10_000))
    if s.mode == "create":
        check.check("settings.short_name", s.short_name, checks.netbios_name)
        check.check("settings.edition", s.edition, checks.one_of(*checks.EDITIONS))
        for key in ("directory_id", "dns_ips"):
            if getattr(s, key):
                why = "applies only when settings.mode is 'existing'"
                check.fail(f"settings.{key}", getattr(s, key), why, "remove it, or set settings.mode to 'existing'")
        check.at_least(
            "subnet_ids",
            args.subnet_ids,
            2,
            "Managed AD puts a domain controller in each of two subnets, in distinct AZs",
            "give two private subnets in different AZs",
        )
    elif s.mode == "existing":
        if s.directory_id is None:
            why = "is required when settings.mode is 'existing'"
            check.fail("settings.directory_id", MISSING, why, "give the existing directory's id, like d-1234567890")
        check.check("settings.directory_id", s.directory_id, checks.directory_id)
        ips = checks.ipv4_address("give the domain controllers' IPs, or leave dns_ips empty")
        check.each("settings.dns_ips", s.dns_ips, ips, same=str)
        if s.short_name is not None:
            why = "applies only when settings.mode is 'create'"
            check.fail("settings.short_name", s.short_name, why, "remove it, or set settings.mode to 'create'")
    check.tags(args.tags, own=())
