"""Helpers shared by the rules.

What the engine hands a policy is not plain Python: ``props`` are read-only ``Mapping``/``Sequence`` proxies
(``isinstance(props, dict)`` is False), numbers are floats, and in preview a value that is not known yet
raises ``UnknownValueError`` when it is read (``props[k]``, ``k in props``, ``props.get(k)`` and iteration
over items all read). :func:`plain` copies such a tree through the public Mapping/Sequence interface into
dicts and lists, with :data:`UNKNOWN` where a value is not known, so rules can inspect everything they can
know and treat the rest as "cannot judge" instead of crashing.

"Cannot judge" is reported the way the engine reports an unknown value itself: an ``UnknownValueError``
raised by the policy becomes an ADVISORY diagnostic ("can't run policy ... during preview: ..."), whatever
the policy's enforcement level. :class:`Verdicts` collects those notes and raises once, after the definite
violations have been reported.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError

try:  # rules imported as a package of the repository (policies.rules)
    from ..internet import internet_share, opens_to_internet
except ImportError:  # the pack as the engine runs it: policies/ is on sys.path, rules/ is a top-level package
    from internet import internet_share, opens_to_internet


class _Unknown:
    """A value the engine could not know yet (preview)."""

    _instance: Optional["_Unknown"] = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<unknown>"

    def __bool__(self) -> bool:  # never mistaken for a real truthy value
        return False


UNKNOWN = _Unknown()


def plain(value: Any) -> Any:
    """A plain copy of an engine value: dicts, lists, scalars and :data:`UNKNOWN`."""
    if isinstance(value, (str, bytes)):
        return value
    if isinstance(value, Mapping):
        out = {}
        for key in value:  # iterating keys never reads a value
            try:
                out[key] = plain(value[key])
            except UnknownValueError:
                out[key] = UNKNOWN
        return out
    if isinstance(value, Sequence):
        items = []
        for i in range(len(value)):
            try:
                items.append(plain(value[i]))
            except UnknownValueError:
                items.append(UNKNOWN)
        return items
    return value


def is_unknown(value: Any) -> bool:
    return value is UNKNOWN


def has_unknown(value: Any) -> bool:
    """True when ``value`` or anything inside it is unknown."""
    if value is UNKNOWN:
        return True
    if isinstance(value, dict):
        return any(has_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(has_unknown(v) for v in value)
    return False


def get(value: Any, *path: Any, default: Any = None) -> Any:
    """Walk ``path`` (keys and list indexes) through plain data; :data:`UNKNOWN` if a step is unknown."""
    for step in path:
        if value is UNKNOWN:
            return UNKNOWN
        if isinstance(value, dict) and step in value:
            value = value[step]
        elif isinstance(value, list) and isinstance(step, int) and -len(value) <= step < len(value):
            value = value[step]
        else:
            return default
    return value


def collect(value: Any, path: Sequence[str]) -> list[Any]:
    """Every leaf at ``path``; ``"*"`` spans a list, a single value stands for a one-item list."""
    if value is UNKNOWN:
        return [UNKNOWN]
    if not path:
        if isinstance(value, list):
            return list(value)
        return [] if value is None or value == "" else [value]
    head, rest = path[0], path[1:]
    if head == "*":
        if not isinstance(value, list):
            return collect(value, rest) if value is not None else []
        return [leaf for item in value for leaf in collect(item, rest)]
    if isinstance(value, dict) and head in value:
        return collect(value[head], rest)
    return []


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def config_of(args: Any, defaults: dict[str, Any]) -> dict[str, Any]:
    """The policy's config over its code defaults (the engine applies schema defaults; the SDK does not)."""
    cfg = dict(defaults)
    cfg.update(dict(args.get_config() or {}))
    return cfg


def number(value: Any) -> Optional[float]:
    """A port or count as float (the engine sends floats; programs sometimes send strings)."""
    if value is None or value is UNKNOWN or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


class Verdicts:
    """Collects what a rule could not judge; :meth:`finish` reports it as the engine's advisory note."""

    def __init__(self) -> None:
        self.unknown: list[str] = []

    def cannot_judge(self, message: str) -> None:
        if message not in self.unknown:
            self.unknown.append(message)

    def finish(self) -> None:
        if self.unknown:
            err = UnknownValueError(UNKNOWN_STRING_VALUE, [])
            err.message = "cannot judge: " + "; ".join(self.unknown)
            raise err


def label(name: str, typ: str) -> str:
    return f"{name} ({typ.split(':')[-1]})"


# ---------------------------------------------------------------- a resource's provider and account
ACCOUNT_ID = re.compile(r"^\d{12}$")


@dataclass
class Provider:
    """The provider a resource is created with, as the engine hands it to a policy: an explicit provider
    (``pulumi:providers:aws`` named by the program, with its inputs) or the package's default provider (named
    ``default`` or ``default_<version>``, with the stack's ``<package>:*`` config as inputs)."""

    type: str
    urn: str
    name: str
    props: dict[str, Any]  # plain, JSON-encoded inputs decoded (the SDK encodes a provider's nested inputs)

    @property
    def default(self) -> bool:
        return self.name == "default" or self.name.startswith("default_")

    @property
    def label(self) -> str:
        """``provider acct-c-data`` or ``the default aws provider``."""
        return f"the default {self.type.split(':')[-1]} provider" if self.default else f"provider {self.name}"

    @property
    def account(self) -> Any:
        """The AWS account this provider creates resources in: the account of the role it assumes (the last
        of ``assumeRoles``, pulumi-aws; ``assumeRole``, aws-native), else its one ``allowedAccountIds`` entry;
        None when it names none (the account of the credentials: for a default provider, the stack's);
        :data:`UNKNOWN` when that is not known yet."""
        roles = self.props.get("assumeRoles")
        if roles is UNKNOWN:
            return UNKNOWN
        chain = [r for r in (roles if isinstance(roles, list) else [roles]) if r is not None]
        single = self.props.get("assumeRole")
        if single is UNKNOWN:
            return UNKNOWN
        if single is not None:
            chain.append(single)
        if chain:
            last = chain[-1]
            arn = last.get("roleArn", UNKNOWN) if isinstance(last, dict) else last
            if arn is UNKNOWN:
                return UNKNOWN
            account = arn_account(arn)
            if account:
                return account
        allowed = self.props.get("allowedAccountIds")
        if allowed is UNKNOWN or (isinstance(allowed, list) and UNKNOWN in allowed):
            return UNKNOWN
        if isinstance(allowed, list) and len(allowed) == 1 and ACCOUNT_ID.match(str(allowed[0])):
            return str(allowed[0])
        return None


def _decoded(value: Any) -> Any:
    """A provider input the SDK sent JSON-encoded (lists and objects), decoded; other values as they are."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def provider_of(resource: Any) -> Optional[Provider]:
    """The provider of a resource handed to a policy (``ResourceValidationArgs``, a stack policy's
    ``PolicyResource``, or a :class:`Node`); None for a component or a provider resource."""
    raw = resource.raw if isinstance(resource, Node) else resource
    p = getattr(raw, "provider", None)
    if p is None:
        return None
    props = {k: _decoded(v) for k, v in (plain(p.props) or {}).items()}
    return Provider(p.resource_type, p.urn, p.name, props)


def account_of(resource: Any) -> Any:
    """The AWS account ``resource`` will be created in, from its provider (:attr:`Provider.account`): an
    account ID, None for the stack's own account (the default provider, or a provider that names no account),
    or :data:`UNKNOWN`."""
    provider = provider_of(resource)
    return provider.account if provider is not None else None


def arn_account(arn: Any) -> Optional[str]:
    """The account field of an ARN (``arn:aws:iam::111122223333:role/x`` -> ``111122223333``); None if it
    has no literal one."""
    if not isinstance(arn, str):
        return None
    parts = arn.split(":", 5)
    if len(parts) == 6 and parts[0] == "arn" and ACCOUNT_ID.match(parts[4]):
        return parts[4]
    return None


# ---------------------------------------------------------------- the stack's dependency graph
@dataclass
class Node:
    """A resource of the stack with plain properties."""

    urn: str
    type: str
    name: str
    props: dict[str, Any]
    deps: dict[str, list["Node"]]
    dependencies: list["Node"]
    read: bool
    raw: Any = field(repr=False, default=None)

    @property
    def id(self) -> Optional[str]:
        rid = self.props.get("id")
        return rid if isinstance(rid, str) and rid else None

    @property
    def label(self) -> str:
        return label(self.name, self.type)

    def deps_of(self, key: str, types: Iterable[str]) -> list["Node"]:
        types = set(types)
        return [d for d in self.deps.get(key, []) if d.type in types]

    @property
    def provider(self) -> Optional[Provider]:
        """The provider this resource is created with (see :func:`provider_of`)."""
        return provider_of(self)

    @property
    def account(self) -> Any:
        """The account this resource is created in, from its provider (see :func:`account_of`)."""
        return account_of(self)


class Graph:
    """The resources handed to a stack policy, with property dependencies resolved to :class:`Node`s."""

    def __init__(self, resources: Sequence[Any]):
        self.nodes: list[Node] = []
        by_urn: dict[str, Node] = {}
        for r in resources:
            node = Node(
                urn=r.urn,
                type=r.resource_type,
                name=r.name,
                props=plain(r.props) or {},
                deps={},
                dependencies=[],
                read=not r.property_dependencies,
                raw=r,
            )
            self.nodes.append(node)
            by_urn[r.urn] = node
        for r in resources:
            node = by_urn[r.urn]
            node.deps = {k: [by_urn[d.urn] for d in v if d.urn in by_urn] for k, v in r.property_dependencies.items()}
            node.dependencies = [by_urn[d.urn] for d in r.dependencies if d.urn in by_urn]
        self.by_urn = by_urn
        self.by_type: dict[str, list[Node]] = {}
        for node in self.nodes:
            self.by_type.setdefault(node.type, []).append(node)
        self._indexes: dict[tuple[frozenset[str], tuple[str, ...]], dict[str, Node]] = {}

    def of_type(self, *types: str) -> list[Node]:
        if len(types) == 1:
            return list(self.by_type.get(types[0], []))
        wanted = set(types)
        return [n for n in self.nodes if n.type in wanted]

    def index(self, types: Iterable[str], keys: Sequence[str] = ("id",)) -> dict[str, Node]:
        """Known values of ``keys`` of the resources of ``types`` -> the first such resource (built once)."""
        wanted = frozenset(types)
        cache_key = (wanted, tuple(keys))
        idx = self._indexes.get(cache_key)
        if idx is None:
            idx = {}
            for n in self.nodes:
                if n.type in wanted:
                    for k in keys:
                        v = n.props.get(k)
                        if isinstance(v, str) and v:
                            idx.setdefault(v, n)
            self._indexes[cache_key] = idx
        return idx

    def by_value(self, value: Any, types: Iterable[str], keys: Sequence[str] = ("id",)) -> Optional[Node]:
        """The resource of ``types`` whose known ``id`` (or another key) equals ``value``."""
        if not isinstance(value, str) or not value:
            return None
        return self.index(types, keys).get(value)

    @staticmethod
    def refers(node: Node, key: str, target: Node, keys: Sequence[str] = ("id",)) -> bool:
        """Whether ``node``'s property ``key`` refers to ``target``: property dependency or equal known value."""
        if any(d is target for d in node.deps.get(key, [])):
            return True
        known = {target.props.get(k) for k in keys} - {None, UNKNOWN, ""}
        return any(isinstance(v, str) and v in known for v in collect(node.props.get(key), []))

    def referrers(self, types: Iterable[str], key: str, target: Node, keys: Sequence[str] = ("id",)) -> list[Node]:
        """Resources of ``types`` whose ``key`` refers to ``target``."""
        wanted = set(types)
        return [n for n in self.nodes if n.type in wanted and self.refers(n, key, target, keys)]

    def resolve(
        self, node: Node, key: str, values: list[Any], types: Iterable[str], keys: Sequence[str] = ("id",)
    ) -> tuple[list[Node], list[str]]:
        """The resources of ``types`` that ``values`` (read from ``node``'s property ``key``) name.

        Property dependencies of ``key`` come first (IDs are unknown at preview), then known values are
        matched to resources of the stack. Returns the resources and what could not be resolved: known values
        that name nothing in the stack, and unknown values when no dependency explains them."""
        types = set(types)
        found = {d.urn: d for d in node.deps_of(key, types)}
        unresolved: list[str] = []
        unknown = 0
        for v in values:
            if v is UNKNOWN:
                unknown += 1
                continue
            hit = self.by_value(v, types, keys)
            if hit is not None:
                found.setdefault(hit.urn, hit)
            elif isinstance(v, str) and v:
                unresolved.append(v)
        if unknown and not found:
            others = sorted({d.type for d in node.deps.get(key, [])})
            unresolved.append("an unknown value" + (f" (from {', '.join(others)})" if others else ""))
        return list(found.values()), unresolved


# ---------------------------------------------------------------- security group ingress
SECURITY_GROUP_TYPES = {"aws:ec2/securityGroup:SecurityGroup", "aws-native:ec2:SecurityGroup"}
RULE_TYPES = {
    # type -> (property naming the group it belongs to)
    "aws:ec2/securityGroupRule:SecurityGroupRule": "securityGroupId",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "securityGroupId",
    "aws-native:ec2:SecurityGroupIngress": "groupId",
}


@dataclass
class Ingress:
    """One ingress permission, whatever resource declared it."""

    protocol: Any  # "tcp", "udp", "icmp", "all", another string, or UNKNOWN
    from_port: Any  # float, None or UNKNOWN
    to_port: Any
    sources: list[tuple[str, Any]]  # (kind, value): cidr4, cidr6, sg, self, prefix-list
    where: str  # e.g. "ingress[0]" or the rule resource's name
    dep_keys: dict[str, str] = field(default_factory=dict)  # source kind -> property whose dependencies explain it
    origin: Optional[Node] = field(default=None, repr=False)  # the resource that declares it (SecurityGroups)

    def describe(self) -> str:
        proto = "all protocols" if self.protocol == "all" else str(self.protocol).upper()
        if self.protocol in ("all",) or self.from_port is None:
            ports = ""
        elif self.from_port == self.to_port:
            ports = f" {_p(self.from_port)}"
        else:
            ports = f" {_p(self.from_port)}-{_p(self.to_port)}"
        srcs = ", ".join(f"{v}" if k.startswith("cidr") else f"{k} {v}" for k, v in self.sources) or "no source"
        return f"{proto}{ports} from {srcs} ({self.where})"

    def covers_port(self, port: float) -> Any:
        """True/False, or UNKNOWN when protocol or ports are unknown."""
        if self.protocol is UNKNOWN:
            return UNKNOWN
        if self.protocol == "all":
            return True
        if self.protocol != "tcp":
            return False
        if self.from_port is UNKNOWN or self.to_port is UNKNOWN:
            return UNKNOWN
        lo = self.from_port if self.from_port is not None else 0.0
        hi = self.to_port if self.to_port is not None else 65535.0
        if lo < 0 or hi < 0:  # -1 with tcp means all ports in some APIs
            return True
        return lo <= port <= hi

    def only_tcp_port(self, port: float) -> Any:
        """True when this permission admits exactly TCP ``port`` and nothing else."""
        if self.protocol is UNKNOWN or self.from_port is UNKNOWN or self.to_port is UNKNOWN:
            return UNKNOWN
        return self.protocol == "tcp" and self.from_port == port and self.to_port == port


def _p(port: Any) -> str:
    return str(int(port)) if isinstance(port, float) and port.is_integer() else str(port)


_PROTOCOLS = {
    "-1": "all",
    "all": "all",
    "6": "tcp",
    "tcp": "tcp",
    "17": "udp",
    "udp": "udp",
    "1": "icmp",
    "icmp": "icmp",
    "58": "icmpv6",
    "icmpv6": "icmpv6",
}


def protocol_of(value: Any) -> Any:
    if value is UNKNOWN:
        return UNKNOWN
    if isinstance(value, float) and value.is_integer():
        value = str(int(value))
    text = str(value).strip().lower()
    return _PROTOCOLS.get(text, text)


def _port(value: Any) -> Any:
    if value is UNKNOWN:
        return UNKNOWN
    return number(value)


def _sources(pairs: Iterable[tuple[str, Any]]) -> list[tuple[str, Any]]:
    out = []
    for kind, value in pairs:
        for v in value if isinstance(value, list) else [value]:
            if v is None or v == "" or v is False:
                continue
            out.append((kind, v))
    return out


def ingress_of(typ: str, props: dict[str, Any], name: str) -> list[Ingress]:
    """The ingress permissions a security group or rule resource declares (its own, not other resources')."""
    rules: list[Ingress] = []
    if typ in ("aws:ec2/securityGroup:SecurityGroup", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"):
        entries = props.get("ingress")
        if entries is UNKNOWN:
            return [Ingress(UNKNOWN, UNKNOWN, UNKNOWN, [("cidr4", UNKNOWN)], f"{name}.ingress")]
        for i, e in enumerate(entries or []):
            if e is UNKNOWN or not isinstance(e, dict):
                rules.append(Ingress(UNKNOWN, UNKNOWN, UNKNOWN, [("cidr4", UNKNOWN)], f"{name}.ingress[{i}]"))
                continue
            rules.append(_rule(e, f"{name}.ingress[{i}]", "inline", _INLINE_KEYS["ingress"]))
    elif typ == "aws-native:ec2:SecurityGroup":
        entries = props.get("securityGroupIngress")
        if entries is UNKNOWN:
            return [Ingress(UNKNOWN, UNKNOWN, UNKNOWN, [("cidr4", UNKNOWN)], f"{name}.securityGroupIngress")]
        for i, e in enumerate(entries or []):
            if not isinstance(e, dict):
                rules.append(
                    Ingress(UNKNOWN, UNKNOWN, UNKNOWN, [("cidr4", UNKNOWN)], f"{name}.securityGroupIngress[{i}]")
                )
                continue
            rules.append(_rule(e, f"{name}.securityGroupIngress[{i}]", "native", _INLINE_KEYS["securityGroupIngress"]))
    elif typ == "aws:ec2/securityGroupRule:SecurityGroupRule":
        kind = props.get("type")
        if kind == "egress":
            return []
        rule = _rule(props, name, "rule")
        if kind is UNKNOWN:  # cannot tell ingress from egress: judge it as ingress, unknowingly
            rule.protocol = UNKNOWN
        rules.append(rule)
    elif typ == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
        rules.append(_rule(props, name, "vpc"))
    elif typ == "aws-native:ec2:SecurityGroupIngress":
        rules.append(_rule(props, name, "native"))
    return rules


def _self(value: Any) -> Any:
    return "the group itself" if value is True else UNKNOWN if value is UNKNOWN else None


_INLINE_KEYS = {
    key: {kind: key for kind in ("cidr4", "cidr6", "sg", "prefix-list")} for key in ("ingress", "securityGroupIngress")
}


# The four shapes of an ingress rule: the protocol's key, each source kind's key, and whether ``self`` exists.
_SHAPES: dict[str, tuple[str, dict[str, str], bool]] = {
    "inline": (  # pulumi-aws SecurityGroup.ingress[]
        "protocol",
        {"cidr4": "cidrBlocks", "cidr6": "ipv6CidrBlocks", "sg": "securityGroups", "prefix-list": "prefixListIds"},
        True,
    ),
    "rule": (  # pulumi-aws SecurityGroupRule
        "protocol",
        {
            "cidr4": "cidrBlocks",
            "cidr6": "ipv6CidrBlocks",
            "sg": "sourceSecurityGroupId",
            "prefix-list": "prefixListIds",
        },
        True,
    ),
    "vpc": (  # pulumi-aws vpc.SecurityGroupIngressRule
        "ipProtocol",
        {"cidr4": "cidrIpv4", "cidr6": "cidrIpv6", "sg": "referencedSecurityGroupId", "prefix-list": "prefixListId"},
        False,
    ),
    "native": (  # aws-native SecurityGroupIngress and SecurityGroup.securityGroupIngress[]
        "ipProtocol",
        {"cidr4": "cidrIp", "cidr6": "cidrIpv6", "sg": "sourceSecurityGroupId", "prefix-list": "sourcePrefixListId"},
        False,
    ),
}


def _rule(e: dict[str, Any], where: str, shape: str, dep_keys: Optional[dict[str, str]] = None) -> Ingress:
    """One ingress rule of ``shape``; ``dep_keys`` says which input carries each source kind (default: the
    rule's own keys)."""
    protocol, keys, has_self = _SHAPES[shape]
    pairs = [(kind, e.get(key)) for kind, key in keys.items()]
    if has_self:
        pairs.append(("self", _self(e.get("self"))))
    return Ingress(
        protocol_of(e.get(protocol)),
        _port(e.get("fromPort")),
        _port(e.get("toPort")),
        _sources(pairs),
        where,
        dict(keys) if dep_keys is None else dep_keys,
    )


def is_world(cidr: Any) -> Any:
    """True for a CIDR covering the whole address space (0.0.0.0/0, ::/0); UNKNOWN if unknown."""
    if cidr is UNKNOWN:
        return UNKNOWN
    try:
        return ipaddress.ip_network(str(cidr).strip(), strict=False).prefixlen == 0
    except ValueError:
        return False


def within(cidr: Any, containers: Iterable[str]) -> Any:
    """True when ``cidr`` lies inside one of ``containers``; UNKNOWN if unknown."""
    if cidr is UNKNOWN:
        return UNKNOWN
    try:
        net = ipaddress.ip_network(str(cidr).strip(), strict=False)
    except ValueError:
        return False
    for c in containers:
        try:
            outer = ipaddress.ip_network(str(c).strip(), strict=False)
        except ValueError:
            continue
        if net.version == outer.version and net.subnet_of(outer):
            return True
    return False


# ---------------------------------------------------------------- security groups and prefix lists of the stack
DEFAULT_SECURITY_GROUP_TYPES = {"aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"}
VPC_TYPES = {"aws:ec2/vpc:Vpc", "aws-native:ec2:VPC"}
VPC_DEFAULT_SG_KEYS = ("defaultSecurityGroupId", "defaultSecurityGroup")  # pulumi-aws, aws-native
GROUP_ID_KEYS = ("id", "groupId")
PREFIX_LIST_TYPES = {"aws:ec2/managedPrefixList:ManagedPrefixList", "aws-native:ec2:PrefixList"}
PREFIX_LIST_ID_KEYS = ("id", "prefixListId")
PREFIX_LIST_ENTRY_TYPE = "aws:ec2/managedPrefixListEntry:ManagedPrefixListEntry"


@dataclass
class Group:
    """A security group and every ingress permission that lands on it, from whichever resource."""

    key: Any  # a resource URN, ("default", vpc URN), ("id", "sg-...") or ("node", rule URN)
    label: str
    node: Optional[Node] = None  # the resource that is the group (SecurityGroup, DefaultSecurityGroup)
    vpcs: list[Node] = field(default_factory=list)
    rules: list[Ingress] = field(default_factory=list)


@dataclass
class Exposure:
    """What a set of permissions admits on one port, as CIDRs: for sure, perhaps, and what is not known."""

    definite: list[str] = field(default_factory=list)
    contributors: list[Ingress] = field(default_factory=list)
    possible: list[str] = field(default_factory=list)
    unsure: list[str] = field(default_factory=list)  # why ``possible`` is only possible
    notes: list[str] = field(default_factory=list)  # what cannot be known at all (unknown values, unseen lists)

    @property
    def opens(self) -> bool:
        return opens_to_internet(self.definite)

    def undecided(self) -> list[str]:
        """Why the permissions cannot be judged, when they do not definitely open the port to the internet."""
        if self.opens:
            return []
        out = list(self.notes)
        if opens_to_internet(self.definite + self.possible):
            out += self.unsure
        return list(dict.fromkeys(out))

    def share(self) -> str:
        return f"{internet_share(self.definite):.0%}"


class SecurityGroups:
    """The security groups of a stack with all their ingress, and the prefix lists sources name.

    A permission belongs to a group whether it is inline (``SecurityGroup.ingress``, ``DefaultSecurityGroup``)
    or a rule resource naming the group by property dependency or known ID; rules that name the same ID of a
    group outside the stack are one group too. A VPC's default security group is one group whether it is
    managed by ``aws.ec2.DefaultSecurityGroup`` or named by ``vpc.default_security_group_id``. Built once per
    stack with dict lookups (no per-resource scan of the plan)."""

    def __init__(self, graph: Graph):
        self.g = graph
        self.groups: dict[Any, Group] = {}
        self._ids: dict[str, Any] = {}
        for vpc in graph.of_type(*VPC_TYPES):
            for k in VPC_DEFAULT_SG_KEYS:
                v = vpc.props.get(k)
                if isinstance(v, str) and v:
                    self._ids.setdefault(v, ("default", vpc.urn))
        for sg in graph.of_type(*SECURITY_GROUP_TYPES):
            group = self._group(sg.urn, f"security group {sg.name}", sg)
            group.vpcs = graph.resolve(sg, "vpcId", as_list(sg.props.get("vpcId")), VPC_TYPES)[0]
            for k in GROUP_ID_KEYS:
                v = sg.props.get(k)
                if isinstance(v, str) and v:
                    self._ids.setdefault(v, sg.urn)
            self._add(group, sg)
        for dsg in graph.of_type(*DEFAULT_SECURITY_GROUP_TYPES):
            key = self._default_key(dsg)
            group = self.groups.get(key) or self._group(key, f"default security group {dsg.name}", dsg)
            group.node = dsg
            if isinstance(dsg.id, str):
                self._ids.setdefault(dsg.id, key)
            self._add(group, dsg)
        for typ, prop in RULE_TYPES.items():
            for rule in graph.of_type(typ):
                keys, _ = self.targets(rule, prop)
                if not keys:
                    keys = [("node", rule.urn)]
                for key in keys:
                    self._add(self.groups.get(key) or self._group(key, self._label(key, rule)), rule)
        for key, group in self.groups.items():
            self._aws_default_rule(key, group)
        self.prefix_lists = PrefixLists(graph)

    def _aws_default_rule(self, key: Any, group: Group) -> None:
        """A default group of a VPC created here that no DefaultSecurityGroup manages keeps AWS's rule."""
        if isinstance(key, tuple) and key[0] == "default" and group.node is None and not group.vpcs[0].read:
            group.rules.append(Ingress("all", None, None, [("self", "the group itself")], "AWS's default rule"))

    def group(self, key: Any) -> Optional[Group]:
        """The group of ``key`` (from :meth:`targets`); None when its rules cannot be seen: a group outside
        the stack, or the default group of an existing VPC that the stack does not manage."""
        group = self.groups.get(key)
        if isinstance(key, tuple) and key[0] == "id":
            return None
        if group is None and isinstance(key, tuple) and key[0] == "default":
            group = self._group(key, "")
            self._aws_default_rule(key, group)
        if group is not None and group.node is None and group.vpcs and group.vpcs[0].read:
            return None
        return group

    def _group(self, key: Any, label: str, node: Optional[Node] = None) -> Group:
        group = Group(key, label, node)
        if isinstance(key, tuple) and key[0] == "default":
            vpc = self.g.by_urn[key[1]]
            group.vpcs = [vpc]
            group.label = f"the default security group of VPC {vpc.name}"
        self.groups[key] = group
        return group

    def _label(self, key: Any, rule: Node) -> str:
        if isinstance(key, tuple) and key[0] == "id":
            return f"security group {key[1]}"
        if isinstance(key, tuple) and key[0] == "node":
            return f"the security group of {rule.name} (not known yet)"
        return str(key)

    def _add(self, group: Group, node: Node) -> None:
        for rule in ingress_of(node.type, node.props, node.name):
            rule.origin = node
            group.rules.append(rule)

    def _default_key(self, dsg: Node) -> Any:
        vpcs, unresolved = self.g.resolve(dsg, "vpcId", as_list(dsg.props.get("vpcId")), VPC_TYPES)
        if vpcs:
            return ("default", vpcs[0].urn)
        return ("id", f"default of {unresolved[0]}") if unresolved else dsg.urn

    def targets(self, node: Node, prop: str) -> tuple[list[Any], list[str]]:
        """The groups ``node``'s property ``prop`` names: (group keys, what could not be resolved).

        Property dependencies first (a group, a default group, a VPC's default group), then known IDs; a
        known ID of no group of the stack is a group of its own (``("id", value)``) and also unresolved."""
        keys: list[Any] = []
        for d in node.deps.get(prop, []):
            if d.type in SECURITY_GROUP_TYPES:
                keys.append(d.urn)
            elif d.type in DEFAULT_SECURITY_GROUP_TYPES:
                keys.append(self._default_key(d))
            elif d.type in VPC_TYPES:
                keys.append(("default", d.urn))
        from_deps = bool(keys)
        unresolved: list[str] = []
        unknown = False
        for v in collect(node.props.get(prop), []):
            if v is UNKNOWN:
                unknown = True
            elif isinstance(v, str) and v:
                hit = self._ids.get(v)
                if hit is not None:
                    keys.append(hit)
                elif not from_deps:
                    keys.append(("id", v))
                    unresolved.append(v)
        if unknown and not from_deps:
            others = sorted({d.type for d in node.deps.get(prop, [])})
            unresolved.append("an unknown value" + (f" (from {', '.join(others)})" if others else ""))
        return list(dict.fromkeys(keys)), unresolved

    def source_groups(self, rule: Ingress, value: Any) -> Optional[list[Any]]:
        """The groups a security-group source of ``rule`` names, or None when that cannot be known."""
        if value is UNKNOWN:
            key = rule.dep_keys.get("sg")
            keys = []
            for d in rule.origin.deps.get(key, []) if rule.origin is not None and key else []:
                if d.type in SECURITY_GROUP_TYPES:
                    keys.append(d.urn)
                elif d.type in DEFAULT_SECURITY_GROUP_TYPES:
                    keys.append(self._default_key(d))
                elif d.type in VPC_TYPES:
                    keys.append(("default", d.urn))
            return keys or None
        if isinstance(value, str):
            return [self._ids.get(value, ("id", value))]
        return None

    def exposure(self, rules: Iterable[Ingress], port: float) -> Exposure:
        """The CIDRs (prefix lists expanded) that ``rules`` admit on TCP ``port``."""
        ex = Exposure()
        for rule in rules:
            covers = rule.covers_port(port)
            if covers is False:
                continue
            sure = covers is True
            relevant = False
            for kind, value in rule.sources:
                if kind in ("cidr4", "cidr6"):
                    relevant = True
                    if value is UNKNOWN:
                        ex.notes.append(f"a source CIDR of {rule.where} is not known yet")
                        continue
                    cidrs = [str(value)]
                elif kind == "prefix-list":
                    relevant = True
                    candidates = self.prefix_lists.candidates(rule, value)
                    if len(candidates) != 1:  # several lists the unknown ID may be: any of them, perhaps
                        for c in candidates:
                            ex.possible += c.known
                        ex.unsure.append(
                            f"which of prefix lists {', '.join(c.label for c in candidates)} {rule.where} names "
                            "is not known yet"
                        )
                        continue
                    (pl,) = candidates
                    ex.notes += pl.problems
                    cidrs = pl.known
                else:
                    continue
                if sure:
                    ex.definite += cidrs
                    if internet_share(cidrs) > 0 and not any(c is rule for c in ex.contributors):
                        ex.contributors.append(rule)
                else:
                    ex.possible += cidrs
            if relevant and not sure:
                ex.unsure.append(f"the protocol or ports of {rule.where} are not known yet")
        ex.contributors.sort(key=lambda r: r.where)
        return ex


@dataclass
class PrefixList:
    label: str
    known: list[str]  # the CIDRs of its entries that are known
    problems: list[str]  # why its entries are not all known


class PrefixLists:
    """Managed prefix lists of the stack (``aws.ec2.ManagedPrefixList`` entries, ``ManagedPrefixListEntry``
    resources, aws-native ``ec2.PrefixList``): what a prefix-list source of a permission stands for."""

    def __init__(self, graph: Graph):
        self.g = graph
        self.entries: dict[str, list[Any]] = {}  # list URN or ("id") -> CIDRs (UNKNOWN when not known)
        for pl in graph.of_type(*PREFIX_LIST_TYPES):
            entries = pl.props.get("entries")
            cidrs = self.entries.setdefault(pl.urn, [])
            if entries is UNKNOWN:
                cidrs.append(UNKNOWN)
            for e in entries if isinstance(entries, list) else []:
                cidrs.append(e.get("cidr", UNKNOWN) if isinstance(e, dict) else UNKNOWN)
        self.outside: dict[str, list[Any]] = {}  # entries added to lists that are not in the stack, by list ID
        for entry in graph.of_type(PREFIX_LIST_ENTRY_TYPE):
            value = entry.props.get("prefixListId")
            lists, unresolved = graph.resolve(
                entry, "prefixListId", as_list(value), PREFIX_LIST_TYPES, PREFIX_LIST_ID_KEYS
            )
            for pl in lists:
                self.entries[pl.urn].append(entry.props.get("cidr", UNKNOWN))
            if not lists and isinstance(value, str) and value:
                self.outside.setdefault(value, []).append(entry.props.get("cidr", UNKNOWN))

    def _of(self, pl: Node) -> PrefixList:
        cidrs = self.entries.get(pl.urn, [])
        known = [str(c) for c in cidrs if c is not UNKNOWN and c]
        problems = [f"the entries of prefix list {pl.name} are not known yet"] if UNKNOWN in cidrs else []
        return PrefixList(f"{pl.name}", known, problems)

    def candidates(self, rule: Ingress, value: Any) -> list[PrefixList]:
        """The prefix lists a prefix-list source of ``rule`` may stand for (one when it is certain)."""
        if isinstance(value, str) and value:
            pl = self.g.by_value(value, PREFIX_LIST_TYPES, PREFIX_LIST_ID_KEYS)
            if pl is not None:
                return [self._of(pl)]
            cidrs = self.outside.get(value, [])
            return [
                PrefixList(
                    value,
                    [str(c) for c in cidrs if c is not UNKNOWN and c],
                    [
                        f"prefix list {value} ({rule.where}) is not a prefix list of this stack (AWS-managed or "
                        "another stack's): its entries cannot be seen"
                    ],
                )
            ]
        key = rule.dep_keys.get("prefix-list")
        deps = rule.origin.deps_of(key, PREFIX_LIST_TYPES) if rule.origin is not None and key else []
        if deps:
            return [self._of(pl) for pl in deps]
        return [PrefixList("?", [], [f"a prefix list of {rule.where} is not known yet"])]


# ---------------------------------------------------------------- IAM documents
def parse_document(value: Any) -> tuple[Any, Optional[str]]:
    """A policy document from a JSON string (pulumi-aws) or an object (aws-native): (doc, error)."""
    if value is UNKNOWN or has_unknown(value):
        return UNKNOWN, None
    if value is None or value == "":
        return None, None
    if isinstance(value, dict):
        return value, None
    if isinstance(value, str):
        try:
            return json.loads(value), None
        except ValueError as exc:
            return None, f"not valid JSON ({exc})"
    return None, f"unexpected {type(value).__name__}"


def statements(doc: Any) -> list[dict[str, Any]]:
    if not isinstance(doc, dict):
        return []
    st = doc.get("Statement")
    if isinstance(st, dict):
        return [st]
    return [s for s in st if isinstance(s, dict)] if isinstance(st, list) else []


def matches_any(text: str, patterns: Iterable[str]) -> bool:
    return any(re.search(p, text) for p in patterns if p)
