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

    def of_type(self, *types: str) -> list[Node]:
        wanted = set(types)
        return [n for n in self.nodes if n.type in wanted]

    def by_value(self, value: Any, types: Iterable[str], keys: Sequence[str] = ("id",)) -> Optional[Node]:
        """The resource of ``types`` whose known ``id`` (or another key) equals ``value``."""
        if not isinstance(value, str) or not value:
            return None
        wanted = set(types)
        for n in self.nodes:
            if n.type in wanted and any(n.props.get(k) == value for k in keys):
                return n
        return None

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
    if typ == "aws:ec2/securityGroup:SecurityGroup":
        entries = props.get("ingress")
        if entries is UNKNOWN:
            return [Ingress(UNKNOWN, UNKNOWN, UNKNOWN, [("cidr4", UNKNOWN)], f"{name}.ingress")]
        for i, e in enumerate(entries or []):
            if e is UNKNOWN or not isinstance(e, dict):
                rules.append(Ingress(UNKNOWN, UNKNOWN, UNKNOWN, [("cidr4", UNKNOWN)], f"{name}.ingress[{i}]"))
                continue
            rules.append(
                Ingress(
                    protocol_of(e.get("protocol")),
                    _port(e.get("fromPort")),
                    _port(e.get("toPort")),
                    _sources(
                        [
                            ("cidr4", e.get("cidrBlocks")),
                            ("cidr6", e.get("ipv6CidrBlocks")),
                            ("sg", e.get("securityGroups")),
                            ("prefix-list", e.get("prefixListIds")),
                            ("self", _self(e.get("self"))),
                        ]
                    ),
                    f"{name}.ingress[{i}]",
                )
            )
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
            rules.append(_native_rule(e, f"{name}.securityGroupIngress[{i}]"))
    elif typ == "aws:ec2/securityGroupRule:SecurityGroupRule":
        kind = props.get("type")
        if kind == "egress":
            return []
        rule = Ingress(
            protocol_of(props.get("protocol")),
            _port(props.get("fromPort")),
            _port(props.get("toPort")),
            _sources(
                [
                    ("cidr4", props.get("cidrBlocks")),
                    ("cidr6", props.get("ipv6CidrBlocks")),
                    ("sg", props.get("sourceSecurityGroupId")),
                    ("prefix-list", props.get("prefixListIds")),
                    ("self", _self(props.get("self"))),
                ]
            ),
            name,
        )
        if kind is UNKNOWN:  # cannot tell ingress from egress: judge it as ingress, unknowingly
            rule.protocol = UNKNOWN
        rules.append(rule)
    elif typ == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
        rules.append(
            Ingress(
                protocol_of(props.get("ipProtocol")),
                _port(props.get("fromPort")),
                _port(props.get("toPort")),
                _sources(
                    [
                        ("cidr4", props.get("cidrIpv4")),
                        ("cidr6", props.get("cidrIpv6")),
                        ("sg", props.get("referencedSecurityGroupId")),
                        ("prefix-list", props.get("prefixListId")),
                    ]
                ),
                name,
            )
        )
    elif typ == "aws-native:ec2:SecurityGroupIngress":
        rules.append(_native_rule(props, name))
    return rules


def _self(value: Any) -> Any:
    return "the group itself" if value is True else UNKNOWN if value is UNKNOWN else None


def _native_rule(e: dict[str, Any], where: str) -> Ingress:
    return Ingress(
        protocol_of(e.get("ipProtocol")),
        _port(e.get("fromPort")),
        _port(e.get("toPort")),
        _sources(
            [
                ("cidr4", e.get("cidrIp")),
                ("cidr6", e.get("cidrIpv6")),
                ("sg", e.get("sourceSecurityGroupId")),
                ("prefix-list", e.get("sourcePrefixListId")),
            ]
        ),
        where,
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
