"""Value checks: the one home of the rules a single value must meet, shared by the components and the stack
config.

A check takes one value and returns ``None`` when it is fine, or ``(why, fix)``: why the value is wrong and how
to fix it, worded for both callers. A component runs them on its own args before it registers anything
(:class:`hyperpod_platform._args.ArgCheck`, reported as ``Fsx.settings.mount_path = "/etc": why.
Fix: fix``); the stack-config layer (``stack_config``) runs the same checks on the values of
``Pulumi.<stack>.yaml`` (``hyperpod-platform:fsx.mountPath = "/etc": why. Fix: fix``). Factories
(:func:`one_of`, :func:`between`, :func:`aws_name`, ...) return a check for their parameters.

Everything here is pure: no AWS look-ups, no config-reader state, nothing of the stack program. What needs
AWS's data or the stack's context (the region's instance types and AZs, existing subnets, the union of client
ranges the guardrails judge) stays in the config layer, which also reports every problem of a config at once.
"""

import ipaddress
import re
from typing import Any, Callable, Optional, Sequence

Check = Callable[[Any], Optional[tuple[str, str]]]
"""A value -> (why, fix), or None when it is fine."""


# --------------------------------------------------------------------------------------------------- generic
NAME_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$")
"""HyperPod's ClusterName, InstanceGroupName and PartitionNames pattern. :func:`aws_name` reads it when it
checks, so replacing it here loosens or tightens both the components and the config."""


def one_of(*allowed: Any) -> Check:
    """The value is one of ``allowed``."""

    def check(v):
        if v not in allowed:
            return (f"must be one of {', '.join(map(str, allowed))}", f"use one of {', '.join(map(str, allowed))}")
        return None

    return check


def between(lo: int, hi: int) -> Check:
    """A number from ``lo`` to ``hi``."""

    def check(v):
        if not lo <= v <= hi:
            return (f"must be between {lo} and {hi}", f"use a value from {lo} to {hi}")
        return None

    return check


def aws_name(what: str) -> Check:
    """A HyperPod name (:data:`NAME_RE`, 1-63 characters); ``what`` names the kind, e.g. "cluster names"."""

    def check(v: str):
        if not 1 <= len(v) <= 63 or not NAME_RE.match(v):
            suggestion = re.sub(r"[^a-zA-Z0-9-]+", "-", v).strip("-")[:63] or "a-name"
            return (
                f"{what} must be 1-63 letters, digits and hyphens, starting and ending with a letter "
                f"or digit (pattern {NAME_RE.pattern}; no underscores)",
                f"use '{suggestion}'",
            )
        return None

    return check


def ipv4_network(v: str) -> Optional[ipaddress.IPv4Network]:
    """``v`` as a network when it is a valid IPv4 CIDR (no host bits), else None."""
    try:
        return ipaddress.IPv4Network(v, strict=True)
    except ValueError:
        return None


def ipv4_cidr(v: str) -> Optional[tuple[str, str]]:
    """A valid IPv4 CIDR: a network address with a prefix."""
    try:
        ipaddress.IPv4Network(v, strict=True)
    except ValueError as exc:
        return (f"is not a valid IPv4 CIDR ({exc})", "give a network address with a prefix, e.g. 10.0.0.0/24")
    return None


def ipv4_address(fix: str) -> Check:
    """An IPv4 address; ``fix`` says which addresses to give."""

    def check(v: str):
        try:
            ipaddress.IPv4Address(v)
        except ValueError:
            return ("is not an IPv4 address", fix)
        return None

    return check


# --------------------------------------------------------------------------------------------------- network
REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
AZ_RE = re.compile(r"^([a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d)[a-z]$")
"""An AZ name; group 1 is its region."""
VPC_ID_RE = re.compile(r"^vpc-[0-9a-f]{8,17}$")
SUBNET_ID_RE = re.compile(r"^subnet-[0-9a-f]{8,17}$")
RTB_ID_RE = re.compile(r"^rtb-[0-9a-f]{8,17}$")
NAT_GATEWAYS = ("single", "perAz")
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
"""The retention periods CloudWatch Logs accepts."""


def region_name(v: str) -> Optional[tuple[str, str]]:
    """Shaped like an AWS region name (which regions exist and host HyperPod is the config's look-up)."""
    return None if REGION_RE.match(v) else ("is not an AWS region name", "use a region name like us-east-1")


def availability_zone(v: str) -> Optional[tuple[str, str]]:
    return None if AZ_RE.match(v) else ("is not an availability zone name", "use names like us-east-1a")


def vpc_id(v: str) -> Optional[tuple[str, str]]:
    return None if VPC_ID_RE.match(v) else ("is not a VPC id", "give the id of the VPC, like vpc-0123456789abcdef0")


def subnet_id(v: str) -> Optional[tuple[str, str]]:
    return None if SUBNET_ID_RE.match(v) else ("is not a subnet id", "give subnet ids like subnet-0123456789abcdef0")


def route_table_id(v: str) -> Optional[tuple[str, str]]:
    return None if RTB_ID_RE.match(v) else ("is not a route table id", "give ids like rtb-0123456789abcdef0")


def vpc_cidr(v: str) -> Optional[tuple[str, str]]:
    """A VPC's block: a valid IPv4 CIDR from /16 to /28."""
    bad = ipv4_cidr(v)
    if bad:
        return bad
    if not 16 <= ipaddress.IPv4Network(v).prefixlen <= 28:
        return ("VPC CIDRs must be between /16 and /28", "use a /16 to /28 block")
    return None


def subnet_blocks(
    vpc: Optional[ipaddress.IPv4Network], blocks: Sequence[tuple[str, str]]
) -> list[tuple[str, str, str, str]]:
    """Problems of the subnet blocks ``(label, cidr)`` of one VPC, as ``(label, cidr, why, fix)``: each block
    is inside ``vpc`` (when known), /28 or larger, and overlaps no block before it. Blocks that are not valid
    CIDRs are skipped (:func:`ipv4_cidr` reports them)."""
    problems = []
    seen: list[tuple[str, ipaddress.IPv4Network]] = []
    for label, cidr in blocks:
        net = ipv4_network(cidr)
        if net is None:
            continue
        if vpc is not None and not net.subnet_of(vpc):
            problems.append((label, cidr, f"is not inside the VPC CIDR {vpc}", f"pick a block inside {vpc}"))
        if net.prefixlen > 28:
            problems.append((label, cidr, "subnets must be /28 or larger", "use a prefix of /28 or shorter"))
        for other_label, other in seen:
            if net.overlaps(other):
                problems.append((label, cidr, f"overlaps {other_label} ({other})", "give each subnet its own block"))
        seen.append((label, net))
    return problems


# --------------------------------------------------------------------------------------------------- storage
MOUNT_PATH_RE = re.compile(r"^/(?!/)(?!.*/$)[a-zA-Z0-9._-]+(/[a-zA-Z0-9._-]+)*$")
FSX_THROUGHPUTS = (125, 250, 500, 1000)
"""PERSISTENT_2 throughput tiers, MB/s per TiB."""

SYSTEM_DIRS = (
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/home",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/opt/aws",
    "/opt/ml",
    "/opt/sagemaker",
    "/proc",
    "/root",
    "/run",
    "/sbin",
    "/sys",
    "/tmp",
    "/usr",
    "/var",
)
"""Directories a shared file system must not be mounted on, under or above (it would hide or replace them);
hyperpod_platform/lifecycle/steps/20-fsx-mount.sh keeps the same list (a test compares them)."""


def fsx_capacity(v: int) -> Optional[tuple[str, str]]:
    """PERSISTENT_2 storage: 1200 GiB, 2400 GiB, or a multiple of 2400 GiB."""
    if v in (1200, 2400) or (v > 2400 and v % 2400 == 0 and v <= 2_073_600):
        return None
    up = 1200 if v < 1200 else (2400 if v <= 2400 else -(-v // 2400) * 2400)
    return ("PERSISTENT_2 FSx for Lustre holds 1200 GiB, 2400 GiB, or a multiple of 2400 GiB", f"use {up}")


def mount_path(v: str) -> Optional[tuple[str, str]]:
    """A normalized absolute path that neither is, holds, nor lies inside a system directory."""
    import posixpath

    if not MOUNT_PATH_RE.match(v) or any(part in (".", "..") for part in v.split("/")):
        normal = posixpath.normpath("/" + v.strip()).replace("//", "/")
        return (
            "must be a normalized absolute path (no '.', '..', '//' or trailing '/'; letters, digits, '.', "
            "'_' and '-')",
            f"use '{normal}'" if MOUNT_PATH_RE.match(normal) else "use /fsx",
        )
    clash = next((d for d in SYSTEM_DIRS if v == d or v.startswith(d + "/") or d.startswith(v + "/")), None)
    if clash:
        return (f"would hide or replace the system directory {clash}", "mount it elsewhere, e.g. /fsx or /mnt/fsx")
    return None


# --------------------------------------------------------------------------------------------------- cluster
RESERVED_PREFIXES = {"sg-": "security group names", "internal-": "load balancer names"}
"""Prefixes AWS refuses at the start of names derived from the cluster name."""
DEEP_HEALTH_CHECKS = ("InstanceStress", "InstanceConnectivity")
NODE_RECOVERY = ("Automatic", "None")
SLURM_CONFIG_STRATEGIES = ("Managed", "Overwrite", "Merge")
SUBNET_PLACEMENTS = ("primary", "all")
MAX_GROUP_INSTANCES = 6758
HYPERPOD_TYPE_RE = re.compile(r"^ml\.[a-z0-9-]+\.[a-z0-9-]+$")

# Processor facts by instance family (the part between "ml." and the size). The EC2 API model lists types
# but not their processors, so these follow AWS's documented families: Graviton families carry a "g" after
# the generation (m7g, c7gn, r8gd, t4g, x2gd, im4gn) and, like the Grace CPU of the GB200 types and
# a1, are arm64 with one thread per core; AMD families from the 7th generation on (m7a, c7a, r7a, hpc7a,
# m8a, c8a) run one thread per core too ("each vCPU is a physical core").
ARM64_FAMILY_RE = re.compile(r"^(a1|[a-z]+\d+g[a-z]*|[a-z0-9]+-gb\d+)$")
NO_SMT_FAMILY_RE = re.compile(r"^(a1|[a-z]+\d+g[a-z]*|[a-z0-9]+-gb\d+|[a-z]*([7-9]|\d{2,})a[a-z]*)$")
EC2_TYPE_RE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9-]+$")


def instance_family(instance_type: str) -> str:
    """``ml.c7g.4xlarge`` and ``c7g.4xlarge`` -> ``c7g``."""
    return instance_type.removeprefix("ml.").split(".")[0]


def cluster_name(v: str) -> Optional[tuple[str, str]]:
    """HyperPod's ClusterName pattern, and whatever the names derived from it need."""
    bad = aws_name("cluster names")(v)
    if bad:
        return bad
    for prefix, what in RESERVED_PREFIXES.items():
        if v.lower().startswith(prefix):
            return (
                f"starts with '{prefix}', which AWS refuses at the start of {what} (derived from clusterName)",
                f"use e.g. 'hp-{v[len(prefix) :]}'",
            )
    return None


def hyperpod_type_shape(v: str) -> Optional[tuple[str, str]]:
    """Shaped like a HyperPod instance type, ``ml.<family>.<size>`` (the config checks the SageMaker list)."""
    if HYPERPOD_TYPE_RE.match(v):
        return None
    return (
        "is not a HyperPod instance type (ml.<family>.<size>)",
        "use an ml.* type such as 'ml.g5.8xlarge' (GPU) or 'ml.m5.2xlarge' (CPU)",
    )


def x86_ec2_type(what: str, image: str) -> Check:
    """Shaped like an EC2 instance type, and not an arm64 one: the ``what`` runs ``image`` (x86_64 only)."""

    def check(v: str):
        if not EC2_TYPE_RE.match(v) or v.startswith("ml."):
            return ("is not an EC2 instance type", f"use a current type for the {what}, e.g. t3.micro")
        if ARM64_FAMILY_RE.match(instance_family(v)):
            return (f"is an arm64 (Graviton) type, but the {what} runs {image}", "use an x86_64 type, e.g. t3.micro")
        return None

    return check


# ----------------------------------------------------------------------------------------- lifecycle bucket
BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def bucket_name(v: str) -> Optional[tuple[str, str]]:
    """An S3 bucket name that also works with TLS (no dots)."""
    why = None
    if not 3 <= len(v) <= 63:
        why = "must be 3-63 characters long"
    elif not BUCKET_RE.match(v):
        why = "may hold only lowercase letters, digits, dots and hyphens, and must start and end with a letter or digit"
    elif ".." in v or ".-" in v or "-." in v:
        why = "must not have two adjacent periods or a period next to a hyphen"
    elif re.match(r"^\d+\.\d+\.\d+\.\d+$", v):
        why = "must not be formatted as an IP address"
    elif v.startswith(("xn--", "sthree-", "amzn-s3-demo-")) or v.endswith(
        ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
    ):
        why = "uses a prefix or suffix that S3 reserves"
    elif "." in v:
        why = "has dots, which break TLS (virtual-hosted style) access"
    if why:
        fixed = re.sub(r"[^a-z0-9-]+", "-", v.lower()).strip("-")[:63]
        return (why, f"use a name such as 'sagemaker-{fixed.removeprefix('sagemaker-')}'"[:90])
    return None


# --------------------------------------------------------------------------------------------- access paths
def ssh_source_cidr(v: str) -> Optional[tuple[str, str]]:
    """A client range allowed to SSH: a valid IPv4 CIDR, and not the whole internet (/0). The config and the
    guardrails also judge a list by its union (``policies/internet.py``), which needs the list as a whole."""
    bad = ipv4_cidr(v)
    if bad:
        return bad
    if ipaddress.IPv4Network(v).prefixlen == 0:
        return (
            "admits the whole internet, which would open SSH to the world",
            "list only the client networks that need SSH",
        )
    return None


# ------------------------------------------------------------------------------------------------------ VPN
VPN_CLIENT_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
VPN_PORTS = (443, 1194)


def vpn_client_name(v: str) -> Optional[tuple[str, str]]:
    if VPN_CLIENT_RE.match(v):
        return None
    return ("client names must be 1-32 lowercase letters, digits or hyphens", "use a short name like 'alice'")


def vpn_client_cidr(vpc: str) -> Check:
    """The VPN clients' range: a /12 to /22 outside the VPC CIDR ``vpc`` (when that is a valid CIDR)."""

    def check(c: str):
        bad = ipv4_cidr(c)
        if bad:
            return bad
        net = ipaddress.IPv4Network(c)
        if not 12 <= net.prefixlen <= 22:
            return ("Client VPN client ranges must be /12 to /22", "use a /22, e.g. 10.255.0.0/22")
        vpc_net = ipv4_network(vpc) if vpc else None
        if vpc_net is not None and net.overlaps(vpc_net):
            return (f"overlaps the VPC CIDR {vpc}", "pick a range outside the VPC, e.g. 10.255.0.0/22")
        return None

    return check


# ------------------------------------------------------------------------------------------------ directory
DOMAIN_RE = re.compile(r"^(?=.{1,255}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,63}$")
NETBIOS_RE = re.compile(r'^[^\\/:*?"<>|.\s]{1,15}$')
DIRECTORY_ID_RE = re.compile(r"^d-[0-9a-f]{10}$")
AD_GROUP_RE = re.compile(r"^[A-Za-z][A-Za-z0-9._-]{0,63}$")
SAM_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,18}[A-Za-z0-9_-]$|^[A-Za-z0-9]$")
RESERVED_ACCOUNTS = ("admin", "administrator", "root", "nobody", "krbtgt", "guest")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SSH_KEY_TYPES = (
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
)
MAX_SSH_KEYS = 25
"""The Directory Service Data API keeps at most 25 values of an attribute (altSecurityIdentities)."""
DIRECTORY_MODES = ("create", "existing")
EDITIONS = ("Standard", "Enterprise")


def domain_name(v: str) -> Optional[tuple[str, str]]:
    """The directory's fully qualified domain name."""
    if DOMAIN_RE.match(v):
        return None
    return ("is not a fully qualified domain name", "use a name like corp.example.com")


def netbios_name(v: str) -> Optional[tuple[str, str]]:
    if NETBIOS_RE.match(v):
        return None
    return ('NetBIOS names are 1-15 characters without dots, spaces or \\\\/:*?"<>|', "use e.g. CORP")


def directory_id(v: str) -> Optional[tuple[str, str]]:
    if DIRECTORY_ID_RE.match(v):
        return None
    return ("is not a directory id", "give the id shown by `aws ds describe-directories`, like d-1234567890")


def ad_group(v: str) -> Optional[tuple[str, str]]:
    """A directory group name that is safe in sshd AllowGroups and sudoers."""
    if AD_GROUP_RE.match(v):
        return None
    return (
        "group names must be 1-64 letters, digits, dots, hyphens or underscores, starting with a letter "
        "(no spaces: they end up in sshd AllowGroups and sudoers)",
        f"use '{re.sub(r'[^A-Za-z0-9._-]', '', v) or 'ClusterUsers'}'",
    )


def account_name(what: str) -> Check:
    """An account name (sAMAccountName) that is not reserved; ``what`` names the kind, e.g. "user names"."""

    def check(v: str):
        if not SAM_RE.match(v):
            return (
                f"{what} must be 1-20 letters, digits, dots, hyphens or underscores, not starting with a "
                "dot or hyphen and not ending with a dot (sAMAccountName)",
                f"use e.g. '{what.split()[0]}1'",
            )
        if v.lower() in RESERVED_ACCOUNTS:
            return (f"{v} is a reserved account name", "pick another name")
        return None

    return check


def email(v: str) -> Optional[tuple[str, str]]:
    return None if EMAIL_RE.match(v) else ("is not an email address", "use name@example.com")


def name_part(v: str) -> Optional[tuple[str, str]]:
    """A given name or surname: 1-64 characters."""
    return None if 0 < len(v) <= 64 else ("must be 1-64 characters", "shorten it")


SSH_KEY_FIX = "paste the whole line of the user's id_*.pub file, e.g. 'ssh-ed25519 AAAAC3Nza... alice@laptop'"


def ssh_key_line(v: str) -> Optional[tuple[str, str]]:
    """Shaped like an OpenSSH public key line (a known type, then the key data), never a private key, at most
    1024 characters. :func:`ssh_public_key` also reads the key data."""
    if "PRIVATE KEY" in v:
        return (
            "is a private key; it must never be in config (rotate it if it was shared)",
            "give the public key: the one line of the matching .pub file",
        )
    parts = v.strip().split()
    if len(parts) < 2 or parts[0] not in SSH_KEY_TYPES:
        return (f"is not an OpenSSH public key line (types: {', '.join(SSH_KEY_TYPES)})", SSH_KEY_FIX)
    if len(v) > 1024:
        return ("is longer than 1024 characters", "use an ed25519 or ecdsa key")
    return None


def ssh_public_key(v: str) -> Optional[tuple[str, str]]:
    """An OpenSSH public key line (:func:`ssh_key_line`), parsed (cryptography's OpenSSH reader): the key data
    must be a whole key of the type the line names, and RSA keys at least 2048 bits."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import load_ssh_public_key

    bad = ssh_key_line(v)
    if bad:
        return bad
    fix, parts = SSH_KEY_FIX, v.strip().split()
    try:
        key = load_ssh_public_key(" ".join(parts[:2]).encode())
    except Exception as exc:  # noqa: BLE001 - the reader says what is wrong with the key data
        inner = _ssh_blob_type(parts[1])
        if inner and inner != parts[0]:
            return (f"says {parts[0]} but its key data is {inner}", fix)
        return (f"has key data that is not a whole {parts[0]} key ({exc})", fix)
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < 2048:
        return (f"is a {key.key_size}-bit RSA key; keys under 2048 bits are refused", "use an ed25519 key")
    return None


def ssh_key_identity(v: str) -> tuple[str, ...]:
    """What makes two key lines the same key: the type and the key data (not the comment)."""
    return tuple(v.split()[:2])


def _ssh_blob_type(body: str) -> Optional[str]:
    """The key type named inside an OpenSSH key blob, if the blob can be read that far."""
    import base64
    import binascii
    import struct

    try:
        blob = base64.b64decode(body, validate=True)
        (length,) = struct.unpack(">I", blob[:4])
        return blob[4 : 4 + length].decode()
    except (binascii.Error, struct.error, UnicodeDecodeError, ValueError):
        return None


# -------------------------------------------------------------------------------------------------- LDAPS
ACM_ARN_RE = re.compile(r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]{36}$")
PEM_RE = re.compile(r"\s*(-----BEGIN CERTIFICATE-----\s[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----\s*)+")


def dns_name(v: str) -> Optional[tuple[str, str]]:
    """The LDAPS endpoint's host name."""
    if DOMAIN_RE.match(v):
        return None
    return ("is not a DNS name", "use a name like ldaps.corp.example.com, or omit it to use the NLB's name")


def acm_arn(v: str) -> Optional[tuple[str, str]]:
    if ACM_ARN_RE.match(v):
        return None
    return ("is not an ACM certificate ARN", "use arn:aws:acm:<region>:<account>:certificate/<id>")


def pem_certificate(v: str) -> Optional[tuple[str, str]]:
    """One or more PEM certificates (public: never a key)."""
    if PEM_RE.fullmatch(v):
        return None
    return (
        "is not a PEM certificate",
        "paste the CA certificate, -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----",
    )


# --------------------------------------------------------------------------------- ARNs and other AWS names
ARN_RE = re.compile(
    r"^arn:aws[a-z-]*:(?P<service>[a-z0-9-]+):(?P<region>[a-z0-9-]*):(?P<account>\d{12})?:(?P<resource>.+)$"
)
PARAMETER_NAME_RE = re.compile(r"^/?[a-zA-Z0-9_.\-/]{1,1011}$")


def arn_of(service: str, resource: str, what: str, example: str) -> Check:
    """The ARN of ``what``: an ARN of ``service`` whose resource part starts with ``resource``."""

    def check(v: str):
        m = ARN_RE.match(v)
        if not m or m["service"] != service or not m["resource"].startswith(resource):
            return (f"is not the ARN of {what}", f"give one like {example}")
        return None

    return check


def s3_uri(v: str) -> Optional[tuple[str, str]]:
    if re.match(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$", v):
        return None
    return ("is not an S3 URI", "give s3://<bucket>/<prefix>, e.g. LifecycleBucket.source_s3_uri")


def parameter_name(v: str) -> Optional[tuple[str, str]]:
    """An SSM parameter name (hierarchical, with a leading '/'), not in the reserved aws/ssm namespaces."""
    if not PARAMETER_NAME_RE.match(v) or "//" in v or v.endswith("/"):
        return (
            "is not an SSM parameter name (letters, digits, '_', '.', '-' and '/' between levels)",
            "use a name like /hyperpod-platform/<cluster>/directory",
        )
    if re.match(r"^/?(aws|ssm)", v, re.IGNORECASE):
        return ("starts with aws or ssm, which SSM reserves", "use a name like /hyperpod-platform/<cluster>/directory")
    return None


def ldaps_uri(v: str) -> Optional[tuple[str, str]]:
    if v.startswith("ldaps://") and DOMAIN_RE.match(v.removeprefix("ldaps://").split(":")[0]):
        return None
    return ("is not an ldaps:// URI", "give ldaps://<host>, e.g. LdapsEndpoint.uri")


def object_path(v: str) -> Optional[tuple[str, str]]:
    """A relative object key: letters, digits, '.', '_' and '-' between single '/' (no '.' or '..' parts)."""
    if re.fullmatch(r"[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*", v) and not {".", ".."} & set(v.split("/")):
        return None
    return (
        "is not a relative path (letters, digits, '.', '_' and '-' between single '/'; no '.' or '..')",
        "use e.g. generated/platform.json",
    )


KEY_PREFIX_SEGMENT_RE = re.compile(r"^[A-Za-z0-9!_.'()-]+$")
"""One '/'-separated segment of a key prefix that reaches IAM: S3's safe characters only, so no IAM wildcard
(``*``, ``?``), no policy variable (``${...}``) and nothing a policy would read as more than the literal key."""
KEY_PREFIX_MAX = 512
"""Well inside S3's 1024-byte keys (the prefix is followed by ``/`` and the object's own name)."""


def key_prefix(v: str) -> Optional[tuple[str, str]]:
    """An S3 key prefix that reaches IAM as ``<prefix>/*``: literal '/'-separated segments of S3's safe
    characters, none of them ``.`` or ``..``, no leading, trailing or double '/'. Anything else widens the
    policy beyond the prefix (``*``, ``?``, ``${aws:username}``) or escapes it (``..``), so it never passes."""
    why = key_prefix_problem(v)
    return None if why is None else (f"is not an S3 key prefix ({why})", "use literal segments, e.g. research/images")


def key_prefix_problem(v: str) -> Optional[str]:
    """Why ``v`` is not a literal key prefix (see :func:`key_prefix`), or None."""
    if not isinstance(v, str) or not v:
        return "it is empty"
    if len(v) > KEY_PREFIX_MAX:
        return f"{len(v)} characters, at most {KEY_PREFIX_MAX}"
    if v.startswith("/") or v.endswith("/"):
        return "no leading or trailing '/': policies append '/*' themselves"
    segments = v.split("/")
    if "" in segments:
        return "no empty segment ('//')"
    if any(s in (".", "..") for s in segments):
        return "no '.' or '..' segment: it would name keys outside the prefix"
    bad = sorted({c for c in v if c != "/" and not KEY_PREFIX_SEGMENT_RE.match(c)})
    if bad:
        wild = [c for c in bad if c in "*?$"]
        what = (
            "IAM wildcards or policy variables, which would reach beyond the prefix"
            if wild
            else "only letters, digits and !_.'()- may be in a segment"
        )
        return f"holds {', '.join(repr(c) for c in bad)}: {what}"
    return None


def prefixes_overlap(a: str, b: str) -> bool:
    """Whether one key prefix lies within the other (equal, or ``research`` and ``research/a``): the objects
    of the inner one are then also objects of the outer one."""
    return a == b or a.startswith(b + "/") or b.startswith(a + "/")


# ------------------------------------------------------------------------------------------------------ tags
TAG_LIMIT = 50
"""Tags per resource, for every service the stack tags."""
TAG_PUNCTUATION = set("_.:/=+-@")
_ALLOWED = "letters, digits, spaces and _ . : / = + - @"


def tag_text_problem(text: str) -> Optional[str]:
    """AWS tag keys and values: Unicode letters, digits, spaces and ``_ . : / = + - @``."""
    import unicodedata

    bad = sorted({c for c in text if c not in TAG_PUNCTUATION and unicodedata.category(c)[0] not in "LNZ"})
    return f"holds {', '.join(repr(c) for c in bad)}" if bad else None


def tag_key_problem(key: str) -> Optional[str]:
    """Why ``key`` cannot be a tag key (bad characters, the reserved ``aws:`` prefix, length), or None."""
    if not 1 <= len(key) <= 128 or key.lower().startswith("aws:") or tag_text_problem(key):
        return (
            tag_text_problem(key)
            and f"the key {tag_text_problem(key)}; tag keys may hold only {_ALLOWED}"
            or (
                "keys starting with 'aws:' are reserved for AWS"
                if key.lower().startswith("aws:")
                else "tag keys must be 1-128 characters"
            )
        )
    return None


def tag_value_problem(value: str) -> Optional[str]:
    """Why ``value`` cannot be a tag value (too long, bad characters), or None."""
    if len(value) > 256 or tag_text_problem(value):
        return (
            f"the value {tag_text_problem(value) or 'is longer than 256 characters'}; tag values hold at "
            f"most 256 of {_ALLOWED}"
        )
    return None


# ------------------------------------------------------------------------------------------------------ EKS
KUBERNETES_VERSIONS = ("1.28", "1.29", "1.30", "1.31", "1.32", "1.33")
"""Kubernetes versions of an EKS cluster HyperPod orchestrates with (HyperPod EKS prerequisites: 1.28 to 1.33).
Add a version here once HyperPod and EKS both support it."""
AUTHENTICATION_MODES = ("API", "API_AND_CONFIG_MAP")
"""EKS authentication modes HyperPod accepts: it registers its roles as access entries (not CONFIG_MAP)."""
LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
"""EKS control-plane log types."""
MIN_VPC_CNI = (1, 18, 3)
"""The oldest Amazon VPC CNI HyperPod supports."""
VPC_CNI_RE = re.compile(r"^v(\d+)\.(\d+)\.(\d+)-eksbuild\.\d+$")


def kubernetes_version(v: str) -> Optional[tuple[str, str]]:
    if v in KUBERNETES_VERSIONS:
        return None
    return (
        f"is not a Kubernetes version HyperPod supports (allowed: {', '.join(KUBERNETES_VERSIONS)})",
        f'use one of {", ".join(KUBERNETES_VERSIONS)}, quoted (e.g. "{KUBERNETES_VERSIONS[-2]}")',
    )


def vpc_cni_version(v: str) -> Optional[tuple[str, str]]:
    """An Amazon VPC CNI add-on version, v1.18.3 or later."""
    m = VPC_CNI_RE.match(v)
    if not m:
        return ("is not an EKS add-on version", "give it as vX.Y.Z-eksbuild.N, e.g. v1.19.2-eksbuild.1")
    if tuple(int(x) for x in m.groups()) < MIN_VPC_CNI:
        return ("is older than v1.18.3, the oldest VPC CNI HyperPod supports", "use v1.18.3-eksbuild.1 or later")
    return None


iam_role_arn = arn_of("iam", "role/", "an IAM role", "arn:aws:iam::123456789012:role/PlatformAdmin")


# ---------------------------------------------------------------------------------------------- task governance
TEAM_NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
"""A team name, and a priority class name (``ComputeQuotaTarget.TeamName``, ``PriorityClass.Name`` in the
CloudFormation schemas and the SageMaker API), without their length: :func:`team_name` and
:func:`priority_class_name` check that (the schema's ``{0,39}?`` repeat backtracks exponentially in Python)."""
TEAM_NAMESPACE_PREFIX = "hyperpod-ns-"
"""Task governance keeps each team in the Kubernetes namespace ``hyperpod-ns-<team>``."""
TEAM_QUEUE_SUFFIX = "-clusterqueue"
"""The longest name task governance derives from a team: its Kueue queue ``hyperpod-ns-<team>-clusterqueue``."""
MAX_TEAM_NAME = 63 - len(TEAM_NAMESPACE_PREFIX) - len(TEAM_QUEUE_SUFFIX)
"""Kubernetes names and label values are at most 63 characters, so a team name is at most 38."""
MAX_PRIORITY_CLASS_NAME = 63
"""A priority class is a Kueue WorkloadPriorityClass that jobs name in a label (values: at most 63 characters)."""
MAX_PRIORITY_CLASSES = 10
"""A cluster policy has at most 10 priority classes (SchedulerConfig.PriorityClasses)."""
MAX_QUOTA_RESOURCES = 15
"""A team's quota has at most 15 resources (ComputeQuotaConfig.ComputeQuotaResources)."""
SHARING_STRATEGIES = ("Lend", "DontLend", "LendAndBorrow")
"""How a team shares idle compute (ResourceSharingConfig.Strategy)."""
PREEMPT_TEAM_TASKS = ("LowerPriority", "Never")
"""Whether a team's tasks may preempt its own lower-priority tasks (ComputeQuotaConfig.PreemptTeamTasks)."""
GOVERNANCE_SWITCHES = ("Enabled", "Disabled")
"""Values of SchedulerConfig.FairShare and SchedulerConfig.IdleResourceSharing."""
BORROW_LIMIT = (1, 500)
"""Percent of idle compute a LendAndBorrow team may borrow: 1-500 (the service's documented range; the schema
admits 0-10000)."""
ADDON_VERSION_RE = re.compile(r"^v\d+\.\d+\.\d+-eksbuild\.\d+$")
"""An EKS add-on version, e.g. ``v1.0.0-eksbuild.1``."""
HYPERPOD_CLUSTER_ARN_RE = re.compile(r"^arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{12}:cluster/[a-z0-9]{12}$")
"""The ARN of a HyperPod cluster (ends in its 12-character id, not its name), as ComputeQuota and
ClusterSchedulerConfig take it."""


def team_name(v: str) -> Optional[tuple[str, str]]:
    """A team name: the schema's pattern, and short enough for the Kubernetes names derived from it."""
    if not TEAM_NAME_RE.match(v):
        fixed = re.sub(r"[^a-z0-9-]+", "-", v.lower()).strip("-")[:MAX_TEAM_NAME] or "team-a"
        return (
            "team names are lowercase letters, digits and '-', starting and ending with a letter or digit (they "
            f"become the Kubernetes namespace {TEAM_NAMESPACE_PREFIX}<team>)",
            f"use '{fixed}'",
        )
    if len(v) > MAX_TEAM_NAME:
        return (
            f"is {len(v)} characters: the queue task governance derives, "
            f"'{TEAM_NAMESPACE_PREFIX}{v}{TEAM_QUEUE_SUFFIX}', must fit Kubernetes' 63",
            f"use at most {MAX_TEAM_NAME} characters",
        )
    return None


def priority_class_name(v: str) -> Optional[tuple[str, str]]:
    """A priority class name: the schema's pattern, at most 63 characters (a Kubernetes label value)."""
    if not TEAM_NAME_RE.match(v) or len(v) > MAX_PRIORITY_CLASS_NAME:
        fixed = re.sub(r"[^a-z0-9-]+", "-", v.lower()).strip("-")[:MAX_PRIORITY_CLASS_NAME] or "high"
        return (
            "priority class names are 1-63 lowercase letters, digits and '-', starting and ending with a letter "
            "or digit (jobs name them in the kueue.x-k8s.io/priority-class label)",
            f"use '{fixed}'",
        )
    return None


def positive(v: float) -> Optional[tuple[str, str]]:
    """A number above 0."""
    return None if v > 0 else ("must be more than 0", "give a positive amount")


SERVICE_ACCOUNT_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
"""A Kubernetes service account name (a DNS subdomain, at most 253 characters)."""


def service_account_name(v: str) -> Optional[tuple[str, str]]:
    """A Kubernetes service account name: a DNS subdomain of at most 253 characters."""
    if len(v) > 253 or not SERVICE_ACCOUNT_RE.match(v):
        fixed = re.sub(r"[^a-z0-9.-]+", "-", v.lower()).strip("-.")[:253] or "data-access"
        return (
            "is not a Kubernetes service account name (lowercase letters, digits, '-' and '.', at most 253)",
            f"use e.g. '{fixed}'",
        )
    return None


def addon_version(v: str) -> Optional[tuple[str, str]]:
    if ADDON_VERSION_RE.match(v):
        return None
    return ("is not an EKS add-on version", "give it as vX.Y.Z-eksbuild.N, or leave it unset for EKS's default")


def hyperpod_cluster_arn(v: str) -> Optional[tuple[str, str]]:
    if HYPERPOD_CLUSTER_ARN_RE.match(v):
        return None
    return (
        "is not the ARN of a HyperPod cluster (arn:aws:sagemaker:<region>:<account>:cluster/<12-character id>)",
        "pass the cluster's ARN output (HyperPodCluster.arn), not its name",
    )


def slurm_role_problems(groups: Sequence[tuple[str, str]]) -> list[tuple[list[str], str, str]]:
    """How the instance groups' Slurm roles ((name, role) pairs) break HyperPod's rule of exactly one controller
    group, at most one login group and a compute group: (the groups concerned, why, fix) for each breach."""
    names = lambda role: [n for n, r in groups if r == role]  # noqa: E731
    problems = []
    if len(names("controller")) != 1:
        problems.append(
            (
                names("controller"),
                f"a Slurm cluster needs exactly one controller group, found {len(names('controller'))}",
                "give exactly one group the role controller",
            )
        )
    if len(names("login")) > 1:
        problems.append((names("login"), "HyperPod Slurm supports at most one login group", "merge them into one"))
    if not names("compute"):
        problems.append(([n for n, _ in groups], "there is no compute group", "add a group with the role compute"))
    return problems


# ------------------------------------------------------------------------- EKS: where `pulumi up` runs from
DEPLOY_FROM = ("public", "vpn", "private")
"""Where ``pulumi up`` of an EKS stack runs, so where the Kubernetes resources are created from: ``public`` (the
public endpoint limited to the runner's static egress ranges), ``vpn`` (an operator on the stack's Client VPN),
``private`` (a runner inside the VPC or a network connected to it, admitted on 443 by range)."""


def api_access_cidr(v: str) -> Optional[tuple[str, str]]:
    """A range admitted to the Kubernetes API server (public or private endpoint): a valid IPv4 CIDR, not the
    whole internet. A list is also judged by its union (``policies/internet.py``)."""
    bad = ipv4_cidr(v)
    if bad:
        return bad
    if ipaddress.IPv4Network(v).prefixlen == 0:
        return (
            "opens the API server to the whole internet",
            "list only the networks `pulumi up` and the operators run from",
        )
    return None


# ------------------------------------------------------------------------------ SSH keys: characters OpenSSH reads
def ssh_key_characters(v: str) -> Optional[tuple[str, str]]:
    """An OpenSSH public key line holds only what OpenSSH reads as one: fields separated by ASCII spaces or tabs,
    the key type and data in ASCII, and no control, format or other non-ASCII space characters anywhere (a line
    break, a no-break or zero-width space, a direction mark). Python's ``split()`` takes a no-break space for a
    separator, but sshd does not: such a key would be stored and then refused at every sign-in."""
    import unicodedata

    for i, c in enumerate(v):
        if c in " \t":
            continue
        if unicodedata.category(c)[0] in "CZ":  # Cc Cf Cs Co Cn; Zs Zl Zp other than the ASCII space
            name = unicodedata.name(c, "a control character")
            return (
                f"holds {name} (U+{ord(c):04X}) at character {i + 1}, which OpenSSH does not read in a key line: "
                "the key would be stored and the user refused at sign-in",
                "paste the line of the .pub file as plain text on one line, fields separated by single spaces",
            )
    fields = v.split(None, 2)
    if any(not f.isascii() for f in fields[:2]):
        return (
            "has non-ASCII characters in its key type or key data, which OpenSSH does not read",
            "paste the line of the .pub file as plain text",
        )
    return None
