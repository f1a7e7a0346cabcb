"""Stack settings: the one place that reads and validates Pulumi config.

``load()`` reads the project's config keys (declared in ``Pulumi.yaml``), checks all of them, and returns
frozen, typed settings. Every problem in a config is collected and reported together in one
``ConfigError``, before the program registers any resource. Each problem names the key path, the bad
value, why it is wrong, and how to fix it.
"""

from __future__ import annotations

import difflib
import functools
import ipaddress
import json
import re
from typing import Any, Callable, Optional

import pulumi

from hyperpod_platform.errors import (  # noqa: F401 - re-exported: the config layer's error types
    MISSING as _MISSING,
)
from hyperpod_platform.errors import (
    PROJECT,
    ConfigError,
    Problem,
)
from hyperpod_platform.settings import (  # noqa: F401 - re-exported: what load() returns
    ACCELERATED_RE,
    ROLES,
    AccessPathSettings,
    ClusterSettings,
    DirectorySettings,
    DirectoryUserSettings,
    FsxSettings,
    InstanceGroupSettings,
    LdapsSettings,
    LifecycleSettings,
    LoginSettings,
    NetworkSettings,
    StackSettings,
    VpnSettings,
)

NAME_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$")  # ClusterName, InstanceGroupName, PartitionNames
AZ_RE = re.compile(r"^([a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d)[a-z]$")
VPC_ID_RE = re.compile(r"^vpc-[0-9a-f]{8,17}$")
SUBNET_ID_RE = re.compile(r"^subnet-[0-9a-f]{8,17}$")
RTB_ID_RE = re.compile(r"^rtb-[0-9a-f]{8,17}$")
BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
MOUNT_PATH_RE = re.compile(r"^/(?!/)(?!.*/$)[a-zA-Z0-9._-]+(/[a-zA-Z0-9._-]+)*$")
DEEP_HEALTH_CHECKS = ("InstanceStress", "InstanceConnectivity")
FSX_THROUGHPUTS = (125, 250, 500, 1000)  # PERSISTENT_2, MB/s per TiB
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


@functools.lru_cache(maxsize=1)
def hyperpod_instance_types() -> frozenset[str]:
    """The ``ClusterInstanceType`` enum of the SageMaker API model that ships with botocore.

    Read straight from botocore's bundled model file (newest API version), which is what its loader reads,
    in a quarter of the time of a botocore session; a test checks both agree.
    """
    import gzip
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("botocore")
    base = Path(list(spec.submodule_search_locations)[0]) / "data" / "sagemaker"
    version = sorted(p for p in base.iterdir() if p.is_dir())[-1]
    model = version / "service-2.json.gz"
    raw = gzip.decompress(model.read_bytes()) if model.exists() else (version / "service-2.json").read_bytes()
    return frozenset(json.loads(raw)["shapes"]["ClusterInstanceType"]["enum"])


def _botocore_data(*parts: str) -> Any:
    """A JSON file of botocore's bundled data (``.json`` or ``.json.gz``), read as its loader reads it."""
    import gzip
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("botocore")
    path = Path(list(spec.submodule_search_locations)[0], "data", *parts)
    if path.exists():
        return json.loads(path.read_bytes())
    return json.loads(gzip.decompress(path.with_name(path.name + ".gz").read_bytes()))


@functools.lru_cache(maxsize=1)
def aws_regions() -> frozenset[str]:
    """Every region of every AWS partition (botocore's ``partitions.json``)."""
    data = _botocore_data("partitions.json")
    return frozenset(r for part in data["partitions"] for r in part["regions"] if not r.startswith("aws-"))


@functools.lru_cache(maxsize=1)
def hyperpod_regions() -> tuple[str, ...]:
    """Regions where HyperPod can be deployed: their CloudFormation registry has ``AWS::SageMaker::Cluster``
    (``data/hyperpod_regions.json``, taken from cfn-lint's schemas by ``tools/cfn_schema.py --regions``)."""
    from pathlib import Path

    path = Path(__file__).resolve().parent / "data" / "hyperpod_regions.json"
    return tuple(json.loads(path.read_text())["regions"])


def region_problem(key: str, region: Any) -> Optional[tuple[str, str]]:
    """Why ``region`` cannot host the platform (unknown region, or no HyperPod there), with the fix."""
    offered = hyperpod_regions()
    if not isinstance(region, str):
        return ("must be a region name", f"set {key} to one of: {', '.join(offered)}")
    close = difflib.get_close_matches(region, offered, n=1)
    hint = f"did you mean {close[0]}?" if close else f"HyperPod regions: {', '.join(offered)}"
    if region not in aws_regions():
        return ("is not an AWS region", f"set {key} to a HyperPod region ({hint})")
    if region not in offered:
        return (
            f"SageMaker HyperPod is not offered in {region} (its CloudFormation registry has no "
            "AWS::SageMaker::Cluster)",
            f"use a HyperPod region: {', '.join(offered)}",
        )
    return None


@functools.lru_cache(maxsize=1)
def ec2_instance_types() -> frozenset[str]:
    """The ``InstanceType`` enum of the EC2 API model that ships with botocore (newest API version)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("botocore")
    base = Path(list(spec.submodule_search_locations)[0]) / "data" / "ec2"
    version = sorted(p.name for p in base.iterdir() if p.is_dir())[-1]
    return frozenset(_botocore_data("ec2", version, "service-2.json")["shapes"]["InstanceType"]["enum"])


# Processor facts by instance family (the part between "ml." and the size). The EC2 API model lists types
# but not their processors, so these follow AWS's documented families: Graviton families carry a "g" after
# the generation (m7g, c7gn, r8gd, t4g, x2gd, im4gn) and, like the Grace CPU of the GB200 types and
# a1, are arm64 with one thread per core; AMD families from the 7th generation on (m7a, c7a, r7a, hpc7a,
# m8a, c8a) run one thread per core too ("each vCPU is a physical core").
ARM64_FAMILY_RE = re.compile(r"^(a1|[a-z]+\d+g[a-z]*|[a-z0-9]+-gb\d+)$")
NO_SMT_FAMILY_RE = re.compile(r"^(a1|[a-z]+\d+g[a-z]*|[a-z0-9]+-gb\d+|[a-z]*([7-9]|\d{2,})a[a-z]*)$")


def instance_family(instance_type: str) -> str:
    """``ml.c7g.4xlarge`` and ``c7g.4xlarge`` -> ``c7g``."""
    return instance_type.removeprefix("ml.").split(".")[0]


def ec2_type_check(what: str, *, x86_only: str = "") -> Callable[[str], Optional[tuple[str, str]]]:
    """An EC2 instance type of botocore's list; ``x86_only`` names the x86_64 image it must run."""

    def check(v: str):
        types = ec2_instance_types()
        if v not in types:
            close = difflib.get_close_matches(v, sorted(types), n=1)
            return (
                "is not an EC2 instance type (botocore's EC2 model)",
                f"use {close[0]!r}" if close else f"use a current type for the {what}, e.g. t3.micro",
            )
        if x86_only and ARM64_FAMILY_RE.match(instance_family(v)):
            return (f"is an arm64 (Graviton) type, but the {what} runs {x86_only}", "use an x86_64 type, e.g. t3.micro")
        return None

    return check


KIND_NAMES = {
    int: "an integer",
    bool: "a boolean (true or false)",
    str: "a string",
    list: "a list",
    dict: "a mapping",
    float: "a number",
    type(None): "empty",
}


class _Reader:
    """Reads values from nested config, recording problems instead of stopping at the first."""

    def __init__(self):
        self.problems: list[Problem] = []

    def fail(self, path: str, value: Any, why: str, fix: str) -> None:
        self.problems.append(Problem(path, value, why, fix))

    def obj(self, raw: Any, path: str, known: tuple[str, ...]) -> dict:
        if raw is _MISSING or raw is None:
            return {}
        if not isinstance(raw, dict):
            self.fail(path, raw, "must be a mapping", f"give {path} as a YAML mapping of {', '.join(known)}")
            return {}
        for key in raw:
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(known)}"
                self.fail(f"{path}.{key}", raw[key], "is not a known setting", f"remove it ({hint})")
        return raw

    def get(
        self,
        raw: dict,
        key: str,
        path: str,
        kind: type | tuple,
        default: Any = _MISSING,
        check: Optional[Callable[[Any], Optional[tuple[str, str]]]] = None,
    ) -> Any:
        value = raw.get(key, _MISSING)
        full = f"{path}.{key}" if path else key
        if value is _MISSING or value is None:
            if default is _MISSING:
                self.fail(full, _MISSING, "is required", f"set {PROJECT}:{full} in Pulumi.<stack>.yaml")
            return None if default is _MISSING else default
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if bool not in kinds and isinstance(value, bool) or not isinstance(value, kinds):
            names = " or ".join(KIND_NAMES.get(k, k.__name__) for k in kinds)
            hint = f"give {full} as {names}"
            if isinstance(value, str) and int in kinds and re.fullmatch(r"-?\d+", value.strip()):
                hint = f"write {value.strip()} without quotes"
            elif (
                isinstance(value, str)
                and bool in kinds
                and value.lower() in ("yes", "no", "true", "false", "on", "off")
            ):
                hint = f"write {'true' if value.lower() in ('yes', 'true', 'on') else 'false'} without quotes"
            self.fail(full, value, f"must be {names}, not {KIND_NAMES.get(type(value), type(value).__name__)}", hint)
            return None if default is _MISSING else default
        if check is not None:
            bad = check(value)
            if bad:
                self.fail(full, value, *bad)
                return None if default is _MISSING else default
        return value

    def str_list(
        self,
        raw: dict,
        key: str,
        path: str,
        default: Any = _MISSING,
        item: Optional[Callable[[str], Optional[tuple[str, str]]]] = None,
        same: Callable[[str], Any] = lambda v: v,
    ) -> list[str]:
        """A list of strings, each checked by ``item``; an entry given twice (by ``same``) is a problem."""
        values = self.get(raw, key, path, list, default)
        if values is None:
            return []
        out: list[str] = []
        seen: dict[Any, int] = {}
        for i, v in enumerate(values):
            p = f"{path}.{key}[{i}]"
            if not isinstance(v, str):
                self.fail(p, v, f"must be a string, not {KIND_NAMES.get(type(v), type(v).__name__)}", f"quote {p}")
                continue
            if same(v) in seen:
                self.fail(p, v, f"repeats {path}.{key}[{seen[same(v)]}]", "list each entry once")
                continue
            seen[same(v)] = i
            bad = item(v) if item else None
            if bad:
                self.fail(p, v, *bad)
                continue
            out.append(v)
        return out


def _enum(*allowed: Any) -> Callable[[Any], Optional[tuple[str, str]]]:
    def check(v):
        if v not in allowed:
            return (f"must be one of {', '.join(map(str, allowed))}", f"use one of {', '.join(map(str, allowed))}")
        return None

    return check


def _name(what: str) -> Callable[[str], Optional[tuple[str, str]]]:
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


def _range(lo: int, hi: int) -> Callable[[int], Optional[tuple[str, str]]]:
    def check(v):
        if not lo <= v <= hi:
            return (f"must be between {lo} and {hi}", f"use a value from {lo} to {hi}")
        return None

    return check


def _network(v: str) -> Optional[ipaddress.IPv4Network]:
    try:
        return ipaddress.IPv4Network(v, strict=True)
    except ValueError:
        return None


def _cidr(v: str):
    try:
        ipaddress.IPv4Network(v, strict=True)
    except ValueError as exc:
        return (f"is not a valid IPv4 CIDR ({exc})", "give a network address with a prefix, e.g. 10.0.0.0/24")
    return None


def _bucket_name(v: str):
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


# --------------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------------
TOP_KEYS = ("clusterName", "tags", "network", "fsx", "cluster", "lifecycle", "login", "vpn", "access", "directory")


TAG_LIMIT = 50  # tags per resource, for every service the stack tags
STACK_TAGS = ("Project", "Cluster", "Name")  # set by the stack (Name on some resources)
TAG_PUNCTUATION = set("_.:/=+-@")


def _tag_text_problem(text: str) -> Optional[str]:
    """AWS tag keys and values: Unicode letters, digits, spaces and ``_ . : / = + - @``."""
    import unicodedata

    bad = sorted({c for c in text if c not in TAG_PUNCTUATION and unicodedata.category(c)[0] not in "LNZ"})
    return f"holds {', '.join(repr(c) for c in bad)}" if bad else None


def _tags(r: _Reader, raw: Any, path: str) -> tuple[tuple[str, str], ...]:
    """Extra tags for every resource: AWS's tag rules, and room for the stack's own tags."""
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        r.fail(path, raw, "must be a mapping of tag keys to values", f"give {path} as key: value pairs")
        return ()
    allowed = "letters, digits, spaces and _ . : / = + - @"
    out = []
    for k, v in raw.items():
        key, p = str(k), f"{path}.{k}"
        if not 1 <= len(key) <= 128 or key.lower().startswith("aws:") or _tag_text_problem(key):
            why = (
                _tag_text_problem(key)
                and f"the key {_tag_text_problem(key)}; tag keys may hold only {allowed}"
                or (
                    "keys starting with 'aws:' are reserved for AWS"
                    if key.lower().startswith("aws:")
                    else "tag keys must be 1-128 characters"
                )
            )
            r.fail(p, v, why, "rename the tag key")
        elif not isinstance(v, str):
            r.fail(
                p, v, f"must be a string, not {KIND_NAMES.get(type(v), type(v).__name__)}", f'quote it: {key}: "{v}"'
            )
        elif len(v) > 256 or _tag_text_problem(v):
            r.fail(
                p,
                v,
                f"the value {_tag_text_problem(v) or 'is longer than 256 characters'}; tag values hold at "
                f"most 256 of {allowed}",
                "shorten or change the value",
            )
        else:
            out.append((key, v))
    total = len(set(map(str, raw)) | set(STACK_TAGS))
    if total > TAG_LIMIT:
        r.fail(
            path,
            f"{len(raw)} tags",
            f"with the stack's own tags ({', '.join(STACK_TAGS)}) that makes {total}, "
            f"over AWS's {TAG_LIMIT} tags per resource",
            f"keep at most {TAG_LIMIT - len(STACK_TAGS)} extra tags",
        )
    return tuple(out)


def _parse_network(r: _Reader, raw: Any, region: str) -> NetworkSettings:
    path = "network"
    n = r.obj(
        raw,
        path,
        (
            "mode",
            "availabilityZones",
            "vpcCidr",
            "privateSubnetCidrs",
            "publicSubnetCidrs",
            "natGateways",
            "flowLogs",
            "flowLogsRetentionDays",
            "vpcId",
            "privateSubnetIds",
            "routeTableIds",
        ),
    )
    mode = r.get(n, "mode", path, str, "create", _enum("create", "existing"))
    flow_logs = r.get(n, "flowLogs", path, bool, False)
    retention = r.get(n, "flowLogsRetentionDays", path, int, 30, _enum(*LOG_RETENTION_DAYS))
    if mode == "existing":
        for key in ("vpcCidr", "privateSubnetCidrs", "publicSubnetCidrs", "availabilityZones", "natGateways"):
            if key in n:
                r.fail(
                    f"{path}.{key}",
                    n[key],
                    "applies only when network.mode is 'create'",
                    f"remove {path}.{key}, or set network.mode: create",
                )
        vpc_id = r.get(
            n,
            "vpcId",
            path,
            str,
            check=lambda v: (
                None
                if VPC_ID_RE.match(v)
                else ("is not a VPC id", "give the id of the VPC, like vpc-0123456789abcdef0")
            ),
        )
        subnets = r.str_list(
            n,
            "privateSubnetIds",
            path,
            item=lambda v: (
                None
                if SUBNET_ID_RE.match(v)
                else ("is not a subnet id", "give subnet ids like subnet-0123456789abcdef0")
            ),
        )
        if "privateSubnetIds" in n and len(subnets) < 2:
            r.fail(
                f"{path}.privateSubnetIds",
                n.get("privateSubnetIds"),
                "needs at least 2 private subnets in distinct AZs",
                "list two or more private subnets of the VPC, in different AZs",
            )
        rtbs = r.str_list(
            n,
            "routeTableIds",
            path,
            [],
            item=lambda v: (
                None if RTB_ID_RE.match(v) else ("is not a route table id", "give ids like rtb-0123456789abcdef0")
            ),
        )
        return NetworkSettings(
            mode="existing",
            vpc_id=vpc_id or "",
            private_subnet_ids=tuple(subnets),
            route_table_ids=tuple(rtbs),
            flow_logs=bool(flow_logs),
            flow_logs_retention_days=retention or 30,
        )

    for key in ("vpcId", "privateSubnetIds", "routeTableIds"):
        if key in n:
            r.fail(
                f"{path}.{key}",
                n[key],
                "applies only when network.mode is 'existing'",
                f"remove {path}.{key}, or set network.mode: existing",
            )
    azs = r.str_list(
        n,
        "availabilityZones",
        path,
        item=lambda v: None if AZ_RE.match(v) else ("is not an availability zone name", "use names like us-east-1a"),
    )
    if "availabilityZones" in n and isinstance(n["availabilityZones"], list):
        if len(n["availabilityZones"]) < 2:
            r.fail(
                f"{path}.availabilityZones",
                n["availabilityZones"],
                "needs at least 2 AZs (Managed AD, the login NLB and resilience need two)",
                "list two or more AZs of the region",
            )
        for i, az in enumerate(azs):
            m = AZ_RE.match(az)
            if m and region and m.group(1) != region:
                r.fail(
                    f"{path}.availabilityZones[{i}]",
                    az,
                    f"is not in the stack's region {region} (aws:region)",
                    f"use an AZ of {region}, like {region}a",
                )
    before = len(r.problems)
    vpc_cidr = r.get(n, "vpcCidr", path, str, "10.0.0.0/16", _cidr)
    vpc_net = _network(vpc_cidr) if vpc_cidr and len(r.problems) == before else None  # no containment checks
    if vpc_net is not None and not 16 <= vpc_net.prefixlen <= 28:
        r.fail(f"{path}.vpcCidr", vpc_cidr, "VPC CIDRs must be between /16 and /28", "use a /16 to /28 block")
        vpc_net = None
    private = r.str_list(n, "privateSubnetCidrs", path, item=_cidr)
    public = r.str_list(n, "publicSubnetCidrs", path, item=_cidr)
    seen: list[tuple[str, ipaddress.IPv4Network]] = []
    for key, cidrs in (("privateSubnetCidrs", private), ("publicSubnetCidrs", public)):
        raw_list = n.get(key)
        az_list = n.get("availabilityZones")
        if (
            isinstance(raw_list, list)
            and isinstance(az_list, list)
            and len(az_list) >= 2
            and len(raw_list) != len(az_list)
        ):
            r.fail(
                f"{path}.{key}",
                raw_list,
                f"needs one CIDR per AZ ({len(az_list)} AZs listed)",
                f"give exactly {len(az_list)} CIDRs, in the order of network.availabilityZones",
            )
        for i, c in enumerate(cidrs):
            net = _network(c)
            p = f"{path}.{key}[{i}]"
            if net is None:
                continue
            if vpc_net is not None and not net.subnet_of(vpc_net):
                r.fail(p, c, f"is not inside the VPC CIDR {vpc_cidr}", f"pick a block inside {vpc_cidr}")
            if net.prefixlen > 28:
                r.fail(p, c, "subnets must be /28 or larger", "use a prefix of /28 or shorter")
            for other_path, other in seen:
                if net.overlaps(other):
                    r.fail(p, c, f"overlaps {other_path} ({other})", "give each subnet its own block")
            seen.append((p, net))
    nat = r.get(n, "natGateways", path, str, "perAz", _enum("single", "perAz"))
    return NetworkSettings(
        mode="create",
        availability_zones=tuple(azs),
        vpc_cidr=vpc_cidr or "",
        private_subnet_cidrs=tuple(private),
        public_subnet_cidrs=tuple(public),
        nat_gateways=nat or "perAz",
        flow_logs=bool(flow_logs),
        flow_logs_retention_days=retention or 30,
    )


def _fsx_capacity(v: int):
    if v in (1200, 2400) or (v > 2400 and v % 2400 == 0 and v <= 2_073_600):
        return None
    up = 1200 if v < 1200 else (2400 if v <= 2400 else -(-v // 2400) * 2400)
    return ("PERSISTENT_2 FSx for Lustre holds 1200 GiB, 2400 GiB, or a multiple of 2400 GiB", f"use {up}")


# Directories a shared file system must not be mounted on, under or above (it would hide or replace them);
# lifecycle/steps/20-fsx-mount.sh keeps the same list (a test compares them).
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


def _mount_path(v: str) -> Optional[tuple[str, str]]:
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


def _parse_fsx(r: _Reader, raw: Any) -> FsxSettings:
    path = "fsx"
    f = r.obj(raw, path, ("enabled", "storageCapacityGiB", "throughputPerTiB", "mountPath", "protect"))
    return FsxSettings(
        enabled=r.get(f, "enabled", path, bool, True),
        storage_capacity_gib=r.get(f, "storageCapacityGiB", path, int, 1200, _fsx_capacity) or 1200,
        throughput_per_tib=r.get(f, "throughputPerTiB", path, int, 250, _enum(*FSX_THROUGHPUTS)) or 250,
        mount_path=r.get(
            f,
            "mountPath",
            path,
            str,
            "/fsx",
            _mount_path,
        )
        or "/fsx",
        protect=r.get(f, "protect", path, bool, True),
    )


def _type_suggestion(v: str, types: frozenset[str]) -> str:
    """The nearest HyperPod type of the same family, else of the same kind (accelerated or not)."""
    wanted = v if v.startswith("ml.") else f"ml.{v}"
    family = instance_family(wanted)
    same_family = sorted(t for t in types if instance_family(t) == family)
    same_kind = sorted(t for t in types if bool(ACCELERATED_RE.match(t)) == bool(ACCELERATED_RE.match(wanted)))
    for pool in (same_family, same_kind):
        close = difflib.get_close_matches(wanted, pool, n=1, cutoff=0.5)
        if close:
            return f"use {close[0]!r}"
    if same_family:
        return f"use one of {', '.join(same_family)}"
    return "use an ml.* type such as 'ml.g5.8xlarge' (GPU) or 'ml.m5.2xlarge' (CPU)"


def _parse_group(r: _Reader, raw: Any, path: str) -> Optional[InstanceGroupSettings]:
    g = r.obj(
        raw,
        path,
        ("name", "role", "instanceType", "count", "partition", "threadsPerCore", "ebsVolumeGiB", "deepHealthChecks"),
    )
    if not isinstance(raw, dict):
        return None
    types = hyperpod_instance_types()

    def itype(v: str):
        if v in types:
            return None
        return ("is not a HyperPod instance type (the SageMaker ClusterInstanceType list)", _type_suggestion(v, types))

    name = r.get(g, "name", path, str, check=_name("instance group names"))
    role = r.get(g, "role", path, str, check=_enum(*ROLES))
    instance_type = r.get(g, "instanceType", path, str, check=itype)
    count = r.get(g, "count", path, int, check=_range(0, 6758))
    if role in ("controller", "login") and count is not None and count < 1:
        r.fail(f"{path}.count", count, f"a {role} group needs at least one instance", "set count to 1 or more")
    partition = r.get(g, "partition", path, str, None, _name("partition names"))
    if partition and role != "compute":
        r.fail(
            f"{path}.partition",
            partition,
            f"only compute groups have a partition (this is a {role} group)",
            f"remove {path}.partition",
        )
    tpc = r.get(g, "threadsPerCore", path, int, None, _enum(1, 2))
    if tpc == 2 and instance_type and NO_SMT_FAMILY_RE.match(instance_family(instance_type)):
        r.fail(
            f"{path}.threadsPerCore",
            tpc,
            f"{instance_type} has one thread per core (no simultaneous "
            "multithreading on Graviton, Grace and 7th-generation-or-later AMD processors)",
            f"remove {path}.threadsPerCore, or set it to 1",
        )
    ebs = r.get(g, "ebsVolumeGiB", path, int, None, _range(1, 16384))
    checks = r.str_list(
        g,
        "deepHealthChecks",
        path,
        [],
        item=lambda v: (
            None
            if v in DEEP_HEALTH_CHECKS
            else (f"must be one of {', '.join(DEEP_HEALTH_CHECKS)}", f"use {' or '.join(DEEP_HEALTH_CHECKS)}")
        ),
    )
    if checks and role != "compute":
        r.fail(
            f"{path}.deepHealthChecks",
            checks,
            f"deep health checks run on compute groups, not on a {role} group",
            f"remove {path}.deepHealthChecks",
        )
    elif checks and instance_type and not ACCELERATED_RE.match(instance_type):
        r.fail(
            f"{path}.deepHealthChecks",
            checks,
            f"deep health checks apply only to accelerated (GPU/Trainium) instance types, not {instance_type}",
            f"remove {path}.deepHealthChecks or use a GPU/Trainium type",
        )
    elif "InstanceConnectivity" in checks and count is not None and count < 2:
        r.fail(
            f"{path}.deepHealthChecks",
            checks,
            f"InstanceConnectivity tests the network between instances of "
            f"the group, which needs at least 2 (count is {count})",
            "keep only InstanceStress, or set count to 2 or more",
        )
    if None in (name, role, instance_type, count):
        return None
    return InstanceGroupSettings(
        name=name,
        role=role,
        instance_type=instance_type,
        count=count,
        partition=partition,
        threads_per_core=tpc,
        ebs_volume_gib=ebs,
        deep_health_checks=tuple(checks),
    )


def _parse_cluster(r: _Reader, raw: Any, name: Optional[str]) -> ClusterSettings:
    path = "cluster"
    c = r.obj(raw, path, ("instanceGroups", "nodeRecovery", "slurmConfigStrategy", "subnetPlacement"))
    groups_raw = r.get(c, "instanceGroups", path, list)
    groups: list[InstanceGroupSettings] = []
    if groups_raw is not None:
        if not 1 <= len(groups_raw) <= 100:
            r.fail(
                f"{path}.instanceGroups",
                len(groups_raw),
                "a cluster has 1 to 100 instance groups",
                "list between 1 and 100 groups",
            )
        for i, g in enumerate(groups_raw):
            parsed = _parse_group(r, g, f"{path}.instanceGroups[{i}]")
            if parsed:
                groups.append(parsed)
        names = [g.name for g in groups]
        for dup in sorted({n for n in names if names.count(n) > 1}):
            r.fail(f"{path}.instanceGroups", dup, "two instance groups share this name", "give each group its own name")
        roles = [g.role for g in groups]
        if len(groups) == len(groups_raw):
            if roles.count("controller") != 1:
                r.fail(
                    f"{path}.instanceGroups",
                    [g.name for g in groups if g.role == "controller"],
                    f"a Slurm cluster needs exactly one controller group, found {roles.count('controller')}",
                    "mark exactly one group with role: controller",
                )
            if roles.count("login") > 1:
                r.fail(
                    f"{path}.instanceGroups",
                    [g.name for g in groups if g.role == "login"],
                    "HyperPod Slurm supports at most one login group",
                    "merge the login groups into one",
                )
            if "compute" not in roles:
                r.fail(
                    f"{path}.instanceGroups",
                    names,
                    "there is no compute group",
                    "add a group with role: compute and a partition",
                )
        for g in groups:
            if g.role == "compute" and not g.partition:
                r.fail(
                    f"{path}.instanceGroups[{groups.index(g)}].partition",
                    _MISSING,
                    "a compute group needs a Slurm partition",
                    f"set partition, e.g. '{g.name}'",
                )
    nr = r.get(c, "nodeRecovery", path, str, "Automatic", _enum("Automatic", "None"))
    strategy = r.get(c, "slurmConfigStrategy", path, str, "Managed", _enum("Managed", "Overwrite", "Merge"))
    placement = r.get(c, "subnetPlacement", path, str, "primary", _enum("primary", "all"))
    return ClusterSettings(
        name=name or "",
        instance_groups=tuple(groups),
        node_recovery=nr or "Automatic",
        slurm_config_strategy=strategy or "Managed",
        subnet_placement=placement or "primary",
    )


def _parse_login(r: _Reader, raw: Any, network: NetworkSettings, cluster: ClusterSettings) -> LoginSettings:
    path = "login"
    lg = r.obj(raw, path, ("enabled", "allowedCidrs", "stickiness", "targetIps", "hostKeyVersion"))
    enabled = r.get(lg, "enabled", path, bool, True)

    cidrs = _ssh_sources(r, lg, "allowedCidrs", path)

    def ip(v: str):
        try:
            addr = ipaddress.IPv4Address(v)
        except ValueError:
            return ("is not an IPv4 address", "give the login nodes' private IPs, or omit targetIps")
        nets = [ipaddress.IPv4Network(c) for c in network.private_subnet_cidrs if _network(c)]
        if nets and not any(addr in n for n in nets):
            return ("is not in any private subnet", "give the login nodes' private IPs")
        return None

    target_ips = r.str_list(lg, "targetIps", path, [], item=ip)
    login = cluster.login_group
    if target_ips and login and len(target_ips) != login.count:
        r.fail(
            f"{path}.targetIps",
            target_ips,
            f"the login group has {login.count} node(s)",
            f"list {login.count} IPs, or omit targetIps to look them up",
        )
    if "enabled" in lg and enabled and cluster.instance_groups and not login:
        r.fail(
            f"{path}.enabled",
            True,
            "there is no login group to put behind the NLB",
            "add a group with role: login, or set login.enabled: false",
        )
    version = r.get(lg, "hostKeyVersion", path, int, 1, _range(1, 10_000))
    return LoginSettings(
        enabled=bool(enabled) and login is not None,
        allowed_cidrs=tuple(cidrs),
        stickiness=r.get(lg, "stickiness", path, bool, True),
        target_ips=tuple(target_ips),
        host_key_version=version or 1,
    )


def _parse_vpn(r: _Reader, raw: Any, network: NetworkSettings) -> VpnSettings:
    path = "vpn"
    v = r.obj(raw, path, ("enabled", "clientCidr", "clients", "splitTunnel", "port", "logRetentionDays", "pkiVersion"))
    enabled = r.get(v, "enabled", path, bool, False)
    if not enabled:
        return VpnSettings()

    def client_cidr(c: str):
        bad = _cidr(c)
        if bad:
            return bad
        net = ipaddress.IPv4Network(c)
        if not 12 <= net.prefixlen <= 22:
            return ("Client VPN client ranges must be /12 to /22", "use a /22, e.g. 10.255.0.0/22")
        vpc = _network(network.vpc_cidr) if network.vpc_cidr else None
        if vpc is not None and net.overlaps(vpc):
            return (f"overlaps the VPC CIDR {network.vpc_cidr}", "pick a range outside the VPC, e.g. 10.255.0.0/22")
        return None

    cidr = r.get(v, "clientCidr", path, str, check=client_cidr)
    clients = r.str_list(
        v,
        "clients",
        path,
        [],
        item=lambda c: (
            None
            if re.match(r"^[a-z0-9][a-z0-9-]{0,31}$", c)
            else ("client names must be 1-32 lowercase letters, digits or hyphens", "use a short name like 'alice'")
        ),
    )
    if network.mode == "existing":
        r.fail(
            f"{path}.enabled",
            True,
            "the VPN needs the VPC CIDR, known only for a VPC this stack creates",
            "set vpn.enabled: false, or use network.mode: create",
        )
    return VpnSettings(
        enabled=True,
        client_cidr=cidr or "",
        clients=tuple(clients),
        split_tunnel=r.get(v, "splitTunnel", path, bool, True),
        port=r.get(v, "port", path, int, 443, _enum(443, 1194)) or 443,
        log_retention_days=r.get(v, "logRetentionDays", path, int, 90, _enum(*LOG_RETENTION_DAYS)) or 90,
        pki_version=r.get(v, "pkiVersion", path, int, 1, _range(1, 10_000)) or 1,
    )


def _ssh_sources(r: _Reader, raw: dict, key: str, path: str) -> list[str]:
    """Client ranges allowed to SSH: valid CIDRs whose union is not the internet (the pack's own test,
    ``policies/internet.py``, so the whole internet written as pieces is refused here as it is there)."""
    from policies.internet import internet_share, opens_to_internet

    cidrs = r.str_list(raw, key, path, [], item=_cidr)
    if opens_to_internet(cidrs):
        r.fail(
            f"{path}.{key}",
            cidrs,
            f"together these ranges admit {internet_share(cidrs):.0%} of the public "
            "internet, which would open SSH to the world",
            "list only the client networks that need SSH",
        )
        return []
    return cidrs


def _parse_access(r: _Reader, raw: Any, network: NetworkSettings) -> AccessPathSettings:
    path = "access"
    a = r.obj(raw, path, ("ssm", "bastion", "bastionAllowedCidrs", "bastionInstanceType", "bastionKeyName"))
    bastion = r.get(a, "bastion", path, bool, False)
    cidrs = _ssh_sources(r, a, "bastionAllowedCidrs", path)
    if bastion and not a.get("bastionAllowedCidrs"):
        r.fail(
            f"{path}.bastionAllowedCidrs",
            _MISSING,
            "a bastion needs the client ranges allowed to reach it",
            "list your office or VPN egress ranges",
        )
    if bastion and network.mode == "existing":
        r.fail(
            f"{path}.bastion",
            True,
            "the bastion goes in a public subnet this stack creates",
            "set access.bastion: false, or use network.mode: create",
        )
    itype = r.get(
        a,
        "bastionInstanceType",
        path,
        str,
        "t3.micro",
        ec2_type_check("bastion", x86_only="the Amazon Linux 2023 x86_64 image"),
    )
    return AccessPathSettings(
        ssm=r.get(a, "ssm", path, bool, True),
        bastion=bool(bastion),
        bastion_allowed_cidrs=tuple(cidrs),
        bastion_instance_type=itype or "t3.micro",
        bastion_key_name=r.get(a, "bastionKeyName", path, str, None),
    )


DOMAIN_RE = re.compile(r"^(?=.{1,255}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,63}$")
NETBIOS_RE = re.compile(r'^[^\\/:*?"<>|.\s]{1,15}$')
DIRECTORY_ID_RE = re.compile(r"^d-[0-9a-f]{10}$")
SAM_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,18}[A-Za-z0-9_-]$|^[A-Za-z0-9]$")
AD_GROUP_RE = re.compile(r"^[A-Za-z][A-Za-z0-9._-]{0,63}$")
LINUX_GROUP_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
ACM_ARN_RE = re.compile(r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]{36}$")
SSH_KEY_TYPES = (
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
)
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _ssh_key(v: str):
    """An OpenSSH public key line, parsed (cryptography's OpenSSH reader): the key data must be a whole key of
    the type the line names, and RSA keys at least 2048 bits."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import load_ssh_public_key

    fix = "paste the whole line of the user's id_*.pub file, e.g. 'ssh-ed25519 AAAAC3Nza... alice@laptop'"
    if "PRIVATE KEY" in v:
        return (
            "is a private key; it must never be in config (rotate it if it was shared)",
            "give the public key: the one line of the matching .pub file",
        )
    parts = v.strip().split()
    if len(parts) < 2 or parts[0] not in SSH_KEY_TYPES:
        return (f"is not an OpenSSH public key line (types: {', '.join(SSH_KEY_TYPES)})", fix)
    if len(v) > 1024:
        return ("is longer than 1024 characters", "use an ed25519 or ecdsa key")
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


def _parse_directory(r: _Reader, raw: Any, region: str) -> DirectorySettings:
    path = "directory"
    d = r.obj(
        raw,
        path,
        (
            "enabled",
            "mode",
            "domainName",
            "shortName",
            "edition",
            "directoryId",
            "dnsIps",
            "protect",
            "bindUser",
            "bindPasswordVersion",
            "groups",
            "allowedGroups",
            "allowedGroupsByRole",
            "sudoGroups",
            "localGroups",
            "users",
            "defaultShell",
            "ldaps",
            "adminInstance",
            "adminInstanceType",
        ),
    )
    if not r.get(d, "enabled", path, bool, False):
        return DirectorySettings()
    mode = r.get(d, "mode", path, str, "create", _enum("create", "existing")) or "create"
    domain = r.get(
        d,
        "domainName",
        path,
        str,
        check=lambda v: (
            None if DOMAIN_RE.match(v) else ("is not a fully qualified domain name", "use a name like corp.example.com")
        ),
    )
    short = r.get(
        d,
        "shortName",
        path,
        str,
        None,
        lambda v: (
            None
            if NETBIOS_RE.match(v)
            else ('NetBIOS names are 1-15 characters without dots, spaces or \\\\/:*?"<>|', "use e.g. CORP")
        ),
    )
    edition = r.get(d, "edition", path, str, "Standard", _enum("Standard", "Enterprise")) or "Standard"
    directory_id = r.get(
        d,
        "directoryId",
        path,
        str,
        None,
        lambda v: (
            None
            if DIRECTORY_ID_RE.match(v)
            else ("is not a directory id", "give the id shown by `aws ds describe-directories`, like d-1234567890")
        ),
    )

    def ipv4(v: str):
        try:
            ipaddress.IPv4Address(v)
        except ValueError:
            return ("is not an IPv4 address", "give the domain controllers' IPs, or omit dnsIps")
        return None

    dns_ips = r.str_list(d, "dnsIps", path, [], item=ipv4)
    if mode == "existing":
        if "directoryId" not in d:
            r.fail(
                f"{path}.directoryId",
                _MISSING,
                "is required when directory.mode is 'existing'",
                "set directory.directoryId to the existing directory's id",
            )
        for key in ("edition", "shortName"):
            if key in d:
                r.fail(f"{path}.{key}", d[key], "applies only when directory.mode is 'create'", f"remove {path}.{key}")
        if d.get("adminInstance"):
            r.fail(
                f"{path}.adminInstance",
                True,
                "the admin instance joins a directory this stack creates",
                "set directory.adminInstance: false, or use directory.mode: create",
            )
    else:
        for key in ("directoryId", "dnsIps"):
            if key in d:
                r.fail(
                    f"{path}.{key}",
                    d[key],
                    "applies only when directory.mode is 'existing'",
                    f"remove {path}.{key}, or set directory.mode: existing",
                )

    def sam(what: str):
        def check(v: str):
            if not SAM_RE.match(v):
                return (
                    f"{what} must be 1-20 letters, digits, dots, hyphens or underscores, not starting with a "
                    "dot or hyphen and not ending with a dot (sAMAccountName)",
                    f"use e.g. '{what.split()[0]}1'",
                )
            if v.lower() in ("admin", "administrator", "root", "nobody", "krbtgt", "guest"):
                return (f"{v} is a reserved account name", "pick another name")
            return None

        return check

    def ad_group(v: str):
        return (
            None
            if AD_GROUP_RE.match(v)
            else (
                "group names must be 1-64 letters, digits, dots, hyphens or underscores, starting with a letter "
                "(no spaces: they end up in sshd AllowGroups and sudoers)",
                f"use '{re.sub(r'[^A-Za-z0-9._-]', '', v) or 'ClusterUsers'}'",
            )
        )

    bind_user = r.get(d, "bindUser", path, str, "ReadOnly", sam("bind user names")) or "ReadOnly"
    groups = r.str_list(d, "groups", path, ["ClusterAdmin", "ClusterDev"], item=ad_group, same=str.lower)
    allowed = r.str_list(d, "allowedGroups", path, ["ClusterAdmin", "ClusterDev"], item=ad_group, same=str.lower)
    sudo = r.str_list(d, "sudoGroups", path, ["ClusterAdmin"], item=ad_group, same=str.lower)
    local = r.str_list(
        d,
        "localGroups",
        path,
        ["ubuntu"],
        item=lambda v: (
            None
            if LINUX_GROUP_RE.match(v)
            else ("is not a Linux group name", "use lowercase letters, digits, '-' or '_', e.g. ubuntu")
        ),
    )
    for key, values in (("allowedGroups", allowed), ("sudoGroups", sudo)):
        for i, g in enumerate(values):
            if g not in groups:
                r.fail(
                    f"{path}.{key}[{i}]",
                    g,
                    "is not one of directory.groups (the groups the stack keeps)",
                    f"add {g} to directory.groups, or use one of: {', '.join(groups)}",
                )
    if not allowed:
        r.fail(f"{path}.allowedGroups", [], "no directory group could log in", "list at least one group")
    # A bad allowedGroups entry is reported once: checks against that list are skipped until it is fixed.
    written = d.get("allowedGroups")
    judged = (not isinstance(written, list) or len(written) == len(allowed)) and set(allowed) <= set(groups)
    by_role = _allowed_by_role(r, d.get("allowedGroupsByRole"), f"{path}.allowedGroupsByRole", allowed, judged)
    for i, g in enumerate(sudo if judged else []):
        if g not in allowed:
            r.fail(
                f"{path}.sudoGroups[{i}]",
                g,
                "has sudo but may not log in (not in directory.allowedGroups)",
                f"add {g} to directory.allowedGroups, or remove it from sudoGroups",
            )

    users: list[DirectoryUserSettings] = []
    users_raw = r.get(d, "users", path, list, [])
    for i, u_raw in enumerate(users_raw or []):
        upath = f"{path}.users[{i}]"
        u = r.obj(u_raw, upath, ("name", "groups", "sshPublicKeys", "email", "givenName", "surname"))
        if not isinstance(u_raw, dict):
            continue
        uname = r.get(u, "name", upath, str, check=sam("user names"))
        ugroups = r.str_list(
            u,
            "groups",
            upath,
            [],
            item=lambda v: (
                None
                if v in groups
                else (
                    "is not one of directory.groups",
                    f"use one of: {', '.join(groups)}, or add it to directory.groups",
                )
            ),
        )
        keys = r.str_list(u, "sshPublicKeys", upath, [], item=_ssh_key, same=lambda k: tuple(k.split()[:2]))
        if len(keys) > 25:
            r.fail(
                f"{upath}.sshPublicKeys",
                len(keys),
                "the Directory Service Data API keeps at most 25 values of an attribute (altSecurityIdentities)",
                "list at most 25 keys",
            )
        email = r.get(
            u,
            "email",
            upath,
            str,
            None,
            lambda v: None if EMAIL_RE.match(v) else ("is not an email address", "use name@example.com"),
        )
        given = r.get(
            u,
            "givenName",
            upath,
            str,
            None,
            lambda v: None if 0 < len(v) <= 64 else ("must be 1-64 characters", "shorten it"),
        )
        surname = r.get(
            u,
            "surname",
            upath,
            str,
            None,
            lambda v: None if 0 < len(v) <= 64 else ("must be 1-64 characters", "shorten it"),
        )
        if uname:
            users.append(
                DirectoryUserSettings(
                    name=uname,
                    groups=tuple(ugroups),
                    ssh_public_keys=tuple(keys),
                    email=email,
                    given_name=given,
                    surname=surname,
                )
            )
    names = [u.name.lower() for u in users]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        r.fail(
            f"{path}.users",
            dup,
            "two users share this name (names are case-insensitive)",
            "give each user its own name",
        )
    if bind_user.lower() in names:
        r.fail(
            f"{path}.users",
            bind_user,
            "is the bind user, which the stack manages itself",
            "remove it from directory.users, or set another directory.bindUser",
        )
    clash = {g.lower() for g in groups} & set(names + [bind_user.lower()])
    if clash:
        r.fail(
            f"{path}.groups",
            sorted(clash),
            "share a name with a user (AD names are unique across both)",
            "rename the group or the user",
        )

    shell = (
        r.get(
            d,
            "defaultShell",
            path,
            str,
            "/bin/bash",
            lambda v: None if re.match(r"^/[A-Za-z0-9/._-]+$", v) else ("is not an absolute path", "use /bin/bash"),
        )
        or "/bin/bash"
    )

    lpath = f"{path}.ldaps"
    lraw = r.obj(
        d.get("ldaps", _MISSING),
        lpath,
        ("dnsName", "certificateArn", "caCertificate", "plaintextListener", "caVersion"),
    )
    dns_name = r.get(
        lraw,
        "dnsName",
        lpath,
        str,
        None,
        lambda v: (
            None
            if DOMAIN_RE.match(v)
            else ("is not a DNS name", "use a name like ldaps.corp.example.com, or omit it to use the NLB's name")
        ),
    )
    cert_arn = r.get(
        lraw,
        "certificateArn",
        lpath,
        str,
        None,
        lambda v: (
            None
            if ACM_ARN_RE.match(v)
            else ("is not an ACM certificate ARN", "use arn:aws:acm:<region>:<account>:certificate/<id>")
        ),
    )
    if cert_arn and region and cert_arn.split(":")[3] != region:
        r.fail(
            f"{lpath}.certificateArn",
            cert_arn,
            f"is not in the stack's region {region}",
            "import the certificate into ACM in the stack's region",
        )
    ca_pem = r.get(
        lraw,
        "caCertificate",
        lpath,
        str,
        None,
        lambda v: (
            None
            if re.fullmatch(r"\s*(-----BEGIN CERTIFICATE-----\s+[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----\s*)+", v)
            else (
                "is not a PEM certificate",
                "paste the CA certificate, -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----",
            )
        ),
    )
    if cert_arn and not lraw.get("caCertificate"):
        r.fail(
            f"{lpath}.caCertificate",
            _MISSING,
            "nodes pin the CA that issued directory.ldaps.certificateArn, and cannot fetch it safely",
            "paste that CA's PEM certificate into directory.ldaps.caCertificate",
        )
    if ca_pem and not cert_arn:
        r.fail(
            f"{lpath}.caCertificate",
            "<PEM>",
            "applies only with directory.ldaps.certificateArn (the stack issues its own CA otherwise)",
            f"remove {lpath}.caCertificate, or set certificateArn",
        )
    if cert_arn and not dns_name:
        r.fail(
            f"{lpath}.dnsName",
            _MISSING,
            "a certificate from config names a host the stack cannot guess",
            "set directory.ldaps.dnsName to the name in that certificate (and point it at the LDAPS NLB)",
        )
    ldaps = LdapsSettings(
        dns_name=dns_name,
        certificate_arn=cert_arn,
        ca_certificate=ca_pem,
        plaintext_listener=r.get(lraw, "plaintextListener", lpath, bool, False),
        ca_version=r.get(lraw, "caVersion", lpath, int, 1, _range(1, 10_000)) or 1,
    )
    itype = r.get(
        d,
        "adminInstanceType",
        path,
        str,
        "t3.medium",
        ec2_type_check("admin instance", x86_only="Windows Server (x86_64 only)"),
    )
    return DirectorySettings(
        enabled=True,
        mode=mode,
        domain_name=domain or "",
        short_name=short,
        edition=edition,
        directory_id=directory_id,
        dns_ips=tuple(dns_ips),
        protect=r.get(d, "protect", path, bool, True),
        bind_user=bind_user,
        bind_password_version=r.get(d, "bindPasswordVersion", path, int, 1, _range(1, 10_000)) or 1,
        groups=tuple(groups),
        allowed_groups=tuple(allowed),
        allowed_groups_by_role=by_role,
        sudo_groups=tuple(sudo),
        local_groups=tuple(local),
        users=tuple(users),
        default_shell=shell,
        ldaps=ldaps,
        admin_instance=bool(r.get(d, "adminInstance", path, bool, False)),
        admin_instance_type=itype or "t3.medium",
    )


def _allowed_by_role(
    r: _Reader, raw: Any, path: str, allowed: list[str], judged: bool = True
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``allowedGroupsByRole``: role -> a subset of ``allowedGroups``; every role is filled in."""
    if raw is None:
        return tuple((role, tuple(allowed)) for role in ROLES)
    if not isinstance(raw, dict):
        r.fail(path, raw, "must be a mapping of node role to groups", "give e.g. {controller: [ClusterAdmin]}")
        return tuple((role, tuple(allowed)) for role in ROLES)
    out = []
    for role in raw:
        if role not in ROLES:
            r.fail(f"{path}.{role}", raw[role], "is not a node role", f"use one of: {', '.join(ROLES)}")
    for role in ROLES:
        if role not in raw:
            out.append((role, tuple(allowed)))
            continue
        values = r.str_list(
            raw,
            role,
            path,
            same=str.lower,
            item=lambda v: (
                None
                if v in allowed or not judged
                else (
                    "is not one of directory.allowedGroups",
                    f"use one of: {', '.join(allowed)}, or add it to allowedGroups",
                )
            ),
        )
        if role in raw and isinstance(raw[role], list) and not raw[role]:
            r.fail(
                f"{path}.{role}",
                [],
                f"no directory group could log in to {role} nodes",
                "list at least one group (local groups keep access regardless)",
            )
        out.append((role, tuple(dict.fromkeys(values))))
    return tuple(out)


# Names the stack derives from clusterName. Pulumi auto-names resources "<logical name>-<7 hex>" (8 more
# characters); load balancers and target groups take at most 32 (tests check every one in the plan).
AUTONAME_SUFFIX = 8
LB_NAME_LIMIT = 32
LOGIN_LB_SUFFIXES = ("-login",)  # hyperpod_platform/login_access.py: load balancer and target group
LDAPS_LB_SUFFIXES = ("-ldaps", "-ldap")  # hyperpod_platform/ldaps_endpoint.py
RESERVED_PREFIXES = {"sg-": "security group names", "internal-": "load balancer names"}


def _cluster_name(v: str) -> Optional[tuple[str, str]]:
    """HyperPod's ClusterName pattern, and whatever the names derived from it need."""
    bad = _name("cluster names")(v)
    if bad:
        return bad
    for prefix, what in RESERVED_PREFIXES.items():
        if v.lower().startswith(prefix):
            return (
                f"starts with '{prefix}', which AWS refuses at the start of {what} (derived from clusterName)",
                f"use e.g. 'hp-{v[len(prefix) :]}'",
            )
    return None


def _derived_name_lengths(r: _Reader, name: Optional[str], login: LoginSettings, directory: DirectorySettings):
    """The load balancers and target groups this config creates must fit AWS's 32 characters."""
    suffixes = (LOGIN_LB_SUFFIXES if login.enabled else ()) + (LDAPS_LB_SUFFIXES if directory.enabled else ())
    if not name or not suffixes:
        return
    longest = max(suffixes, key=len)
    limit = LB_NAME_LIMIT - AUTONAME_SUFFIX - len(longest)
    if len(name) > limit:
        r.fail(
            "clusterName",
            name,
            f"is {len(name)} characters, but it begins the name of the load balancer "
            f"'{name}{longest}', which with Pulumi's {AUTONAME_SUFFIX}-character random suffix must fit AWS's "
            f"{LB_NAME_LIMIT}-character limit for load balancer and target group names",
            f"use at most {limit} characters, e.g. '{name[:limit].rstrip('-')}'",
        )


def parse(raw: dict[str, Any], region: Optional[str]) -> StackSettings:
    """Validate ``raw`` (key -> value, without the project prefix) and return the settings."""
    r = _Reader()
    if not region:
        r.problems.append(
            Problem("aws:region", _MISSING, "the AWS region is not set", "run `pulumi config set aws:region us-east-1`")
        )
    elif region_problem("aws:region", region):
        r.problems.append(Problem("aws:region", region, *region_problem("aws:region", region)))
        region = None  # checks that depend on the region (AZ names, ARNs) would only repeat this problem
    r.obj(raw, "", TOP_KEYS)
    # Unknown top-level keys come back as ".key"; strip the leading dot.
    r.problems = [Problem(p.path.lstrip("."), p.value, p.why, p.fix) for p in r.problems]
    name = r.get(raw, "clusterName", "", str, check=_cluster_name)
    network = _parse_network(r, raw.get("network", _MISSING), region or "")
    fsx = _parse_fsx(r, raw.get("fsx", _MISSING))
    cluster = _parse_cluster(r, raw.get("cluster", _MISSING), name)
    lc = r.obj(raw.get("lifecycle", _MISSING), "lifecycle", ("bucketName",))
    lifecycle = LifecycleSettings(bucket_name=r.get(lc, "bucketName", "lifecycle", str, None, _bucket_name))
    login = _parse_login(r, raw.get("login", _MISSING), network, cluster)
    vpn = _parse_vpn(r, raw.get("vpn", _MISSING), network)
    access = _parse_access(r, raw.get("access", _MISSING), network)
    directory = _parse_directory(r, raw.get("directory", _MISSING), region or "")
    tags = _tags(r, raw.get("tags"), "tags")
    _derived_name_lengths(r, name, login, directory)
    if r.problems:
        raise ConfigError(r.problems)
    return StackSettings(
        region=region or "",
        network=network,
        fsx=fsx,
        cluster=cluster,
        lifecycle=lifecycle,
        login=login,
        vpn=vpn,
        access=access,
        directory=directory,
        tags=tags,
    )


def load() -> StackSettings:
    """Read this project's keys from the Pulumi config and validate them."""
    from pulumi.runtime import config as runtime_config

    cfg = pulumi.Config(PROJECT)
    raw: dict[str, Any] = {}
    problems = []
    for key in TOP_KEYS:
        try:
            value = cfg.get_object(key) if key not in ("clusterName",) else cfg.get(key)
        except Exception:  # noqa: BLE001 - not JSON: report it like any other bad value
            value = cfg.get(key)
            problems.append(Problem(key, value, "is not valid structured config", f"give {key} as a YAML mapping"))
        if value is not None:
            raw[key] = value
    every_key = sorted(set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env()))
    for full in every_key:  # keys under the project namespace that the program does not know are typos
        key = full.split(":", 1)[1] if full.startswith(f"{PROJECT}:") else None
        if key and key not in TOP_KEYS:
            raw[key] = runtime_config.get_config(full)
    problems += namespace_problems({k: runtime_config.get_config(k) for k in every_key})
    region = pulumi.Config("aws").get("region")
    try:
        settings = parse(raw, region)
    except ConfigError as err:
        problems += err.problems
        settings = None
    if settings is not None:
        problems += native_region_problems(region, pulumi.Config("aws-native").get("region"))
        problems += existing_subnet_problems(settings.network)
        if not problems and settings.network.mode == "existing":
            from hyperpod_platform.network import route_table_problems  # reads AWS: only for a config valid so far

            problems += route_table_problems(settings.network)
    if problems:
        secret = {k for k in every_key if runtime_config.is_config_secret(k)}
        raise ConfigError([_with_secrecy(p, secret) for p in problems])
    return settings


def _with_secrecy(problem: Problem, secret_keys: set[str]) -> Problem:
    """Mark a problem secret when its value comes from a config key set with ``--secret``."""
    import dataclasses

    top = re.split(r"[.\[]", problem.path)[0]
    full = top if ":" in top else f"{PROJECT}:{top}"
    return dataclasses.replace(problem, secret=True) if full in secret_keys else problem


# Config namespaces this program reads, with their keys where they can be listed (None: any key).
def _provider_keys(module: str) -> frozenset[str]:
    import importlib

    names = dir(importlib.import_module(module).vars._ExportableConfig)
    return frozenset(re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), n) for n in names if not n.startswith("_"))


def namespace_problems(config: dict[str, Any]) -> list[Problem]:
    """Keys of unknown namespaces (``hyperpod-platfrom:fsx``), and unknown keys of the AWS providers."""
    known: dict[str, Optional[Callable[[], frozenset[str]]]] = {
        PROJECT: None,
        "aws": lambda: _provider_keys("pulumi_aws.config"),
        "aws-native": lambda: _provider_keys("pulumi_aws_native.config"),
        "pulumi": None,
        "tls": None,
        "random": None,
        "kubernetes": None,
        "eks": None,
    }
    problems = []
    for full, value in config.items():
        namespace, _, key = full.partition(":")
        try:
            value = json.loads(value) if isinstance(value, str) and value[:1] in "{[" else value
        except ValueError:
            pass
        if namespace not in known:
            close = difflib.get_close_matches(namespace, known, n=1, cutoff=0.6)
            fix = (
                f"rename it to {close[0]}:{key}"
                if close
                else f"remove it (namespaces this program reads: {', '.join(known)})"
            )
            problems.append(
                Problem(
                    full,
                    value,
                    f"'{namespace}' is not a config namespace of this program, so the value would be ignored",
                    fix,
                )
            )
        elif known[namespace] is not None and key not in known[namespace]():
            close = difflib.get_close_matches(key, sorted(known[namespace]()), n=1)
            fix = (
                f"did you mean {namespace}:{close[0]}?" if close else f"remove it ({namespace} provider settings only)"
            )
            problems.append(Problem(full, value, f"is not a setting of the {namespace} provider", fix))
    return problems


def native_region_problems(region: Optional[str], native_region: Optional[str]) -> list[Problem]:
    """The aws-native provider (the HyperPod cluster) reads its own region: it must be the stack's region."""
    import os

    if not region:
        return []
    if native_region is None:
        env = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        if env == region:
            return []
        return [
            Problem(
                "aws-native:region",
                _MISSING,
                "the aws-native provider, which creates the HyperPod cluster, reads its own region key",
                f"run `pulumi config set aws-native:region {region}`",
            )
        ]
    if native_region != region:
        return [
            Problem(
                "aws-native:region",
                native_region,
                f"differs from aws:region {region}: the cluster would be created in another region than its network",
                f"set aws-native:region to {region}",
            )
        ]
    return []


def existing_subnet_problems(network: NetworkSettings) -> list[Problem]:
    """Existing VPC: each private subnet exists, is in ``vpcId``, and has an AZ of its own (Managed AD and the
    load balancers take one subnet per AZ). Read from AWS, before any resource is registered."""
    if network.mode != "existing" or not network.private_subnet_ids:
        return []
    import pulumi_aws as aws

    path = "network.privateSubnetIds"
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for i, subnet_id in enumerate(network.private_subnet_ids):
        try:
            subnet = aws.ec2.get_subnet(id=subnet_id)
        except Exception as exc:  # noqa: BLE001 - the lookup's own error says why (not found, no access)
            reason = re.sub(r"^invoke of \S+ failed: ", "", str(exc).splitlines()[0])
            problems.append(
                Problem(
                    f"{path}[{i}]",
                    subnet_id,
                    f"cannot be read ({reason})",
                    "give a subnet of network.vpcId that these credentials can describe",
                )
            )
            continue
        if subnet.vpc_id != network.vpc_id:
            problems.append(
                Problem(
                    f"{path}[{i}]",
                    subnet_id,
                    f"is in {subnet.vpc_id}, not in network.vpcId {network.vpc_id}",
                    "give private subnets of network.vpcId",
                )
            )
        az = subnet.availability_zone
        if az in seen:
            problems.append(
                Problem(
                    f"{path}[{i}]",
                    subnet_id,
                    f"is in {az}, like {seen[az]}; the directory and the load balancers need each subnet in its own AZ",
                    "list one private subnet per AZ, two AZs or more",
                )
            )
        else:
            seen[az] = subnet_id
    return problems
