"""behaviour-reachability: every network flow the platform needs is open, and the internet reaches nothing.

A model of the VPC built from the plan: subnets and their route tables (explicit associations, else none: the
VPC's main table holds only the local route), routes to NAT gateways, internet gateways and other networks, S3
gateway endpoints with their route tables and policies, interface endpoints, security groups with every rule
kind (inline, ``SecurityGroupRule``, ``vpc.SecurityGroupIngressRule``/``EgressRule``, aws-native), network load
balancers with their subnets, groups, listeners and target groups, the Client VPN endpoint with its groups,
associated subnets and authorization rules, the EKS control plane from the pulumi-eks ``eks:index:Cluster``
inputs (``endpointPrivateAccess``, ``endpointPublicAccess``, ``publicAccessCidrs``, ``clusterSecurityGroup``,
its ``DeployFrom`` tag) and the HyperPod cluster's nodes (``vpcConfig``).

A flow ``A -> B tcp/P`` is open when a group of A lets it out (egress to B's group, itself, or a range holding
B's addresses), a group of B lets it in (from A's group, itself, or a range holding all of A's addresses) and a
route joins them (the VPC's local route; a NAT gateway with an internet gateway; a gateway endpoint on A's route
table, whose policy allows the request). What AWS does by itself counts as AWS does it: Client VPN traffic
arrives with the endpoint's security group and the addresses of its associated subnets, not the client range;
pulumi-aws removes the default allow-all egress of a group it creates. Each open flow is proved by name; a
closed one is a problem naming the flow, the resource and the fix; an unknown value is "cannot judge".

Flows: the deployer (where ``pulumi up`` runs: the cluster's ``DeployFrom`` tag, else any path) -> EKS API 443;
VPN client -> EKS API 443 and -> login NLB 22; nodes -> EKS API 443, FSx 988 and 1018-1023, LDAPS NLB 636, the
lifecycle bucket and ECR image layers (S3) and the ECR API; login NLB -> login nodes 22; LDAPS NLB -> domain
controllers (its target group's port). Flows whose ends are not in the stack are skipped. Closed: the internet
-> any security group, the EKS API and any load balancer.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from typing import Any, Optional

from ._behaviour import Findings, declare_behaviour
from ._declare import Config
from ._lib import (
    SECURITY_GROUP_TYPES,
    UNKNOWN,
    Graph,
    Ingress,
    Node,
    SecurityGroups,
    _rule,
    as_list,
    collect,
    internet_share,
    opens_to_internet,
    parse_document,
    statements,
    within,
)

NAME = "behaviour-reachability"
KIND = "flows"

EKS_TYPE = "eks:index:Cluster"
HYPERPOD_TYPE = "aws-native:sagemaker:Cluster"
SUBNET_TYPES = {"aws:ec2/subnet:Subnet"}
VPC_TYPE = "aws:ec2/vpc:Vpc"
RTB_TYPE = "aws:ec2/routeTable:RouteTable"
RTA_TYPE = "aws:ec2/routeTableAssociation:RouteTableAssociation"
ROUTE_TYPE = "aws:ec2/route:Route"
NAT_TYPE = "aws:ec2/natGateway:NatGateway"
IGW_TYPE = "aws:ec2/internetGateway:InternetGateway"
ENDPOINT_TYPE = "aws:ec2/vpcEndpoint:VpcEndpoint"
LB_TYPES = {"aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer"}
LISTENER_TYPES = {"aws:lb/listener:Listener", "aws:alb/listener:Listener"}
TG_TYPES = {"aws:lb/targetGroup:TargetGroup", "aws:alb/targetGroup:TargetGroup"}
ATTACHMENT_TYPES = {"aws:lb/targetGroupAttachment:TargetGroupAttachment"}
VPN_TYPE = "aws:ec2clientvpn/endpoint:Endpoint"
VPN_ASSOC_TYPE = "aws:ec2clientvpn/networkAssociation:NetworkAssociation"
VPN_AUTH_TYPE = "aws:ec2clientvpn/authorizationRule:AuthorizationRule"
FSX_TYPE = "aws:fsx/lustreFileSystem:LustreFileSystem"
BUCKET_TYPES = {"aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"}
EGRESS_TYPES = {
    # type -> (shape of _lib._rule, property naming the group)
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": ("vpc", "securityGroupId"),
    "aws:ec2/securityGroupRule:SecurityGroupRule": ("rule", "securityGroupId"),
    "aws-native:ec2:SecurityGroupEgress": ("native-egress", "groupId"),
}
WORLD = "0.0.0.0/0"

DESCRIPTION = (
    "Every network flow the platform needs is open in the plan's VPC model (security groups both ways, routes, "
    "gateway endpoint policies, load balancer listeners, Client VPN authorization), and the internet reaches no "
    "security group, load balancer or EKS API beyond listed ranges."
)
REMEDIATION = (
    "Open the flow the message names where it names it: the destination's security group ingress (from the "
    "source's group, or a range holding its addresses; Client VPN traffic carries the endpoint's group), the "
    "source's egress, the route table of the source's subnet, or the endpoint policy. For the EKS API, set "
    "eks.deployFrom (public with eks.publicAccessCidrs, vpn with vpn.enabled, private with eks.privateAccessCidrs)."
)


@dataclass
class Party:
    """One end of a flow: its security groups, its addresses and subnets, the resource it is."""

    label: str
    node: Optional[Node]
    groups: list[Any] = field(default_factory=list)
    cidrs: list[Any] = field(default_factory=list)
    subnets: list[Node] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


class Verdict:
    OPEN, CLOSED, UNSURE = "open", "closed", "unknown"


class Model:
    """The VPC of the plan, for flows."""

    def __init__(self, graph: Graph):
        self.g = graph
        self.sgs = SecurityGroups(graph)
        self.egress: dict[Any, list[Ingress]] = {}
        for sg in graph.of_type(*SECURITY_GROUP_TYPES):
            entries = sg.props.get("egress")
            for i, e in enumerate(entries if isinstance(entries, list) else []):
                if isinstance(e, dict):
                    self._add_egress(sg.urn, _rule(e, f"{sg.name}.egress[{i}]", "inline"), sg)
        for typ, (shape, prop) in EGRESS_TYPES.items():
            for rule in graph.of_type(typ):
                if typ.endswith("SecurityGroupRule") and rule.props.get("type") != "egress":
                    continue
                parsed = _egress_rule(rule, shape)
                keys, _ = self.sgs.targets(rule, prop)
                for key in keys or [("node", rule.urn)]:
                    self._add_egress(key, parsed, rule)
        self.vpc_cidrs = [v.props.get("cidrBlock") for v in graph.of_type(VPC_TYPE)]
        self.vpc_cidrs = [c for c in self.vpc_cidrs if isinstance(c, str)]

    def _add_egress(self, key: Any, rule: Ingress, origin: Node) -> None:
        rule.origin = origin
        self.egress.setdefault(key, []).append(rule)

    # ------------------------------------------------------------------ parties
    def groups_of(self, node: Node, prop: str, values: list[Any]) -> tuple[list[Any], list[str]]:
        """The security groups ``values`` (read from ``node``'s ``prop``) name: by dependency or known id."""
        keys = [d.urn for d in node.deps_of(prop, SECURITY_GROUP_TYPES)]
        unknown = []
        for v in values:
            if isinstance(v, dict):  # a resource reference (pulumi-eks clusterSecurityGroup)
                urn, rid = v.get("urn"), v.get("id")
                if isinstance(urn, str) and urn in self.sgs.groups:
                    keys.append(urn)
                    continue
                v = rid
            if isinstance(v, str) and v:
                hit = self.sgs._ids.get(v)
                if hit is not None:
                    keys.append(hit)
                elif not keys:
                    unknown.append(f"security group {v} of {node.label} is not in the stack")
            elif v is UNKNOWN and not keys:
                unknown.append(f"a security group of {node.label} is not known yet")
        return list(dict.fromkeys(keys)), unknown

    def subnets_of(self, node: Node, prop: str, values: list[Any]) -> tuple[list[Node], list[str]]:
        found, unresolved = self.g.resolve(node, prop, values, SUBNET_TYPES)
        return found, [f"subnet {u} of {node.label} is not in the stack" for u in unresolved]

    def party(self, label: str, node: Node, sg_prop: str, sg_values, subnet_prop: str, subnet_values) -> Party:
        groups, unknown = self.groups_of(node, sg_prop, as_list(sg_values))
        subnets, unknown2 = self.subnets_of(node, subnet_prop, as_list(subnet_values))
        cidrs = [s.props.get("cidrBlock", UNKNOWN) for s in subnets]
        return Party(label, node, groups, cidrs, subnets, unknown + unknown2)

    def group_label(self, key: Any) -> str:
        group = self.sgs.groups.get(key)
        return group.label if group else str(key)

    # ------------------------------------------------------------------ security groups
    def _matches(self, rule: Ingress, here: Any, other: Party, cidr: Any = None) -> Any:
        """Whether ``rule`` (on group ``here``) names ``other``: its group, itself, or (with ``cidr``) a range
        holding that address of it. True / False / UNKNOWN."""
        result: Any = False
        for kind, value in rule.sources:
            if kind == "self" and cidr is None:
                if here in other.groups:
                    return True
            elif kind == "sg" and cidr is None:
                keys = self.sgs.source_groups(rule, value)
                if keys is None:
                    result = UNKNOWN
                elif any(k in other.groups for k in keys):
                    return True
            elif kind == "cidr4" and cidr is not None:
                if value is UNKNOWN or cidr is UNKNOWN:
                    result = UNKNOWN
                elif within(cidr, [value]) is True:
                    return True
        return result

    def _admits(self, rules_by_group: dict[Any, list[Ingress]], groups: list[Any], other: Party, port: int, cidr):
        best: Any = False
        for key in groups:
            for rule in rules_by_group.get(key, []):
                covers = rule.covers_port(port)
                if covers is False:
                    continue
                hit = self._matches(rule, key, other, cidr)
                if covers is True and hit is True:
                    return True
                if covers is UNKNOWN or hit is UNKNOWN:
                    best = UNKNOWN
        return best

    def _side(self, rules_by_group: dict[Any, list[Ingress]], groups: list[Any], other: Party, ports) -> Any:
        """Every port is let through for ``other``: by its group, or each of its addresses by a range."""
        verdict: Any = True
        for port in ports:
            best = self._admits(rules_by_group, groups, other, port, None) if other.groups else False
            if best is not True and other.cidrs:
                each = [self._admits(rules_by_group, groups, other, port, c) for c in other.cidrs]
                ranges = False if False in each else UNKNOWN if UNKNOWN in each else True
                best = True if ranges is True else UNKNOWN if UNKNOWN in (best, ranges) else False
            if best is False:
                return False
            if best is UNKNOWN:
                verdict = UNKNOWN
        return verdict

    def ingress_rules(self) -> dict[Any, list[Ingress]]:
        return {k: g.rules for k, g in self.sgs.groups.items()}

    def sg_flow(self, src: Party, dst: Party, ports: list[int], what: str) -> tuple[str, str]:
        """Security groups of ``src`` let ``ports`` out to ``dst``, and those of ``dst`` let them in."""
        if src.unknown or dst.unknown:
            return Verdict.UNSURE, "; ".join(src.unknown + dst.unknown)
        if not dst.groups:
            return Verdict.CLOSED, f"{dst.label} has no security group the plan shows"
        if src.groups:
            out = self._side(self.egress, src.groups, dst, ports)
            if out is False:
                groups = ", ".join(self.group_label(k) for k in src.groups)
                return Verdict.CLOSED, (
                    f"no egress rule of {groups} ({src.label}) lets {_ports(ports)} out to {dst.label}; add one "
                    f"to {dst.label}'s security group or its addresses"
                )
            if out is UNKNOWN:
                return Verdict.UNSURE, f"the egress of {src.label} for {what} is not known yet"
        inn = self._side(self.ingress_rules(), dst.groups, src, ports)
        if inn is False:
            groups = ", ".join(self.group_label(k) for k in dst.groups)
            via = (
                f"its security group {', '.join(self.group_label(k) for k in src.groups)}"
                if src.groups
                else (f"the ranges {src.cidrs}")
            )
            return Verdict.CLOSED, (
                f"no ingress rule of {groups} ({dst.label}) admits {_ports(ports)} from {src.label}; admit "
                f"{via} on {_ports(ports)}"
            )
        if inn is UNKNOWN:
            return Verdict.UNSURE, f"the ingress of {dst.label} for {what} is not known yet"
        return Verdict.OPEN, ""

    # ------------------------------------------------------------------ routes
    def route_table(self, subnet: Node) -> Optional[Node]:
        """The subnet's explicit association's table, else its VPC's main table when the plan holds it (an
        existing VPC's, read); None: the main table of a created VPC, which has only the local route."""
        for rta in self.g.referrers([RTA_TYPE], "subnetId", subnet):
            tables, _ = self.g.resolve(rta, "routeTableId", as_list(rta.props.get("routeTableId")), [RTB_TYPE])
            if tables:
                return tables[0]
        vpcs, _ = self.g.resolve(subnet, "vpcId", as_list(subnet.props.get("vpcId")), [VPC_TYPE])
        for vpc in vpcs:
            main = self.g.by_value(vpc.props.get("mainRouteTableId"), [RTB_TYPE])
            if main is not None:
                return main
        return None

    def routes(self, table: Node) -> list[dict[str, Any]]:
        out = []
        for r in self.g.referrers([ROUTE_TYPE], "routeTableId", table):
            out.append({**r.props, "_node": r})
        for key in ("routes", "route"):
            for r in as_list(table.props.get(key)):
                if isinstance(r, dict):
                    out.append(r)
        return out

    def default_route_via_nat(self, subnet: Node) -> tuple[str, str]:
        """The subnet's default route goes to a NAT gateway whose subnet routes to an internet gateway."""
        table = self.route_table(subnet)
        if table is None:
            return Verdict.CLOSED, f"subnet {subnet.name} has no route table of its own (the main table has no NAT)"
        for r in self.routes(table):
            if r.get("destinationCidrBlock", r.get("cidrBlock")) != WORLD:
                continue
            node = r.get("_node")
            nats = self.g.resolve(node, "natGatewayId", as_list(r.get("natGatewayId")), [NAT_TYPE])[0] if node else []
            for nat in nats:
                nat_subnets, _ = self.subnets_of(nat, "subnetId", as_list(nat.props.get("subnetId")))
                for ns in nat_subnets:
                    public = self.route_table(ns)
                    for pr in self.routes(public) if public else []:
                        pn = pr.get("_node")
                        igw = self.g.resolve(pn, "gatewayId", as_list(pr.get("gatewayId")), [IGW_TYPE])[0] if pn else []
                        if pr.get("destinationCidrBlock") == WORLD and igw:
                            return Verdict.OPEN, f"NAT gateway {nat.name}"
            if isinstance(r.get("natGatewayId"), str) and r["natGatewayId"].startswith("nat-"):
                return Verdict.OPEN, f"NAT gateway {r['natGatewayId']}"
        return Verdict.CLOSED, f"route table {table.name} of subnet {subnet.name} has no default route to a NAT gateway"

    def gateway_endpoints(self, subnet: Node, service: str) -> list[Node]:
        table = self.route_table(subnet)
        if table is None:
            return []
        out = []
        for ep in self.g.of_type(ENDPOINT_TYPE):
            if ep.props.get("vpcEndpointType") != "Gateway" or not str(ep.props.get("serviceName", "")).endswith(
                f".{service}"
            ):
                continue
            if self.g.refers(ep, "routeTableIds", table):
                out.append(ep)
        return out

    def route_back(self, dst: Party, src_cidrs: list[str]) -> tuple[str, str]:
        """Traffic from ranges outside the VPC: each subnet of ``dst`` routes them to a network (not NAT/IGW)."""
        for cidr in src_cidrs:
            if within(cidr, self.vpc_cidrs) is True:
                continue
            for subnet in dst.subnets:
                table = self.route_table(subnet)
                ok = False
                for r in self.routes(table) if table else []:
                    dest = r.get("destinationCidrBlock", r.get("cidrBlock"))
                    target = [r.get(k) for k in ("transitGatewayId", "vpcPeeringConnectionId", "gatewayId")]
                    if isinstance(dest, str) and within(cidr, [dest]) is True and dest != WORLD and any(target):
                        ok = ok or not str(r.get("gatewayId") or "").startswith("igw-")
                if not ok:
                    return Verdict.CLOSED, (
                        f"{cidr} is outside the VPC and subnet {subnet.name} ({dst.label}) has no route to it (a "
                        "transit gateway, peering or VPN route); add one, or run `pulumi up` from inside the VPC"
                    )
        return Verdict.OPEN, ""


def _egress_rule(rule: Node, shape: str) -> Ingress:
    if shape == "native-egress":
        e = {
            "ipProtocol": rule.props.get("ipProtocol"),
            "fromPort": rule.props.get("fromPort"),
            "toPort": rule.props.get("toPort"),
            "cidrIp": rule.props.get("cidrIp"),
            "sourceSecurityGroupId": rule.props.get("destinationSecurityGroupId"),
        }
        parsed = _rule(e, rule.name, "native", {"sg": "destinationSecurityGroupId", "cidr4": "cidrIp"})
        return parsed
    return _rule(rule.props, rule.name, shape)


def _ports(ports: list[int]) -> str:
    if len(ports) == 1:
        return f"tcp/{ports[0]}"
    return f"tcp/{ports[0]}-{ports[-1]}"


# ------------------------------------------------------------------------------------------------ flows
def _known(value: Any) -> Any:
    """A plan recorded by the harness writes an unknown value as ``"<unknown>"``: the pack's :data:`UNKNOWN`."""
    if value == "<unknown>":
        return UNKNOWN
    if isinstance(value, dict):
        return {k: _known(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_known(v) for v in value]
    return value


class Flows:
    def __init__(self, graph: Graph):
        for node in graph.nodes:
            node.props = _known(node.props)
        self.g = graph
        self.m = Model(graph)
        self.found = Findings(KIND)

    def judge(self, name: str, node: Optional[Node], verdict: tuple[str, str]) -> bool:
        status, why = verdict
        if status == Verdict.OPEN:
            self.found.prove(name)
            return True
        if status == Verdict.UNSURE:
            self.found.cannot_judge(f"{name}: {why}")
        else:
            where = f"{node.label}: " if node is not None else ""
            self.found.fail(node, f"{where}flow {name} is closed: {why}")
        return False

    def flow(self, name: str, src: Party, dst: Party, ports: list[int], report_on: Optional[Node]) -> bool:
        verdict = self.m.sg_flow(src, dst, ports, name)
        if verdict[0] == Verdict.OPEN and src.cidrs and dst.cidrs:
            verdict = self.m.route_back(dst, [c for c in src.cidrs if isinstance(c, str)])
        return self.judge(name, report_on or dst.node, verdict)

    # ------------------------------------------------------------------ the parties of the plan
    def nodes(self) -> list[Party]:
        out = []
        for hp in self.g.of_type(HYPERPOD_TYPE):
            vpc = hp.props.get("vpcConfig")
            out.append(
                self.m.party(
                    f"the nodes of {hp.name}",
                    hp,
                    "vpcConfig",
                    collect(vpc, ["securityGroupIds"]),
                    "vpcConfig",
                    collect(vpc, ["subnets"]),
                )
            )
        return out

    def vpns(self) -> list[tuple[Node, Party]]:
        out = []
        for ep in self.g.of_type(VPN_TYPE):
            assocs = self.g.referrers([VPN_ASSOC_TYPE], "clientVpnEndpointId", ep)
            subnets: list[Node] = []
            unknown: list[str] = []
            for a in assocs:
                found, bad = self.m.subnets_of(a, "subnetId", as_list(a.props.get("subnetId")))
                subnets += found
                unknown += bad
            groups, bad = self.m.groups_of(ep, "securityGroupIds", as_list(ep.props.get("securityGroupIds")))
            party = Party(
                "a VPN client",
                ep,
                groups,
                [s.props.get("cidrBlock", UNKNOWN) for s in subnets],  # Client VPN sends from its ENIs
                subnets,
                unknown + bad,
            )
            if not subnets:
                party.unknown.append(f"{ep.label} has no associated subnet")
            out.append((ep, party))
        return out

    def vpn_authorized(self, ep: Node, dst: Party, name: str) -> bool:
        rules = self.g.referrers([VPN_AUTH_TYPE], "clientVpnEndpointId", ep)
        cidrs = [c for c in dst.cidrs if isinstance(c, str)]
        for r in rules:
            target = r.props.get("targetNetworkCidr")
            if target is UNKNOWN:
                self.found.cannot_judge(f"{name}: the authorization rule {r.name} is not known yet")
                return False
            everyone = r.props.get("authorizeAllGroups") is True or bool(r.props.get("accessGroupId"))
            if cidrs and all(within(c, [target]) is True for c in cidrs) and everyone:
                return True
        self.found.fail(
            ep,
            f"{ep.label}: flow {name} is closed: no authorization rule of the Client VPN endpoint covers {cidrs} "
            "for all its clients; add one for the VPC CIDR",
        )
        return False

    def load_balancers(self) -> list[tuple[Node, Party, dict[int, Node]]]:
        out = []
        for lb in self.g.of_type(*LB_TYPES):
            party = self.m.party(
                f"load balancer {lb.name}",
                lb,
                "securityGroups",
                lb.props.get("securityGroups"),
                "subnets",
                lb.props.get("subnets"),
            )
            listeners = {}
            for ln in self.g.referrers(LISTENER_TYPES, "loadBalancerArn", lb, ("arn", "id")):
                port = ln.props.get("port")
                if isinstance(port, (int, float)):
                    listeners[int(port)] = ln
            out.append((lb, party, listeners))
        return out

    def targets(self, listener: Node) -> tuple[Optional[Node], list[Any]]:
        tg_values = collect(listener.props.get("defaultActions"), ["*", "targetGroupArn"])
        tgs, _ = self.g.resolve(listener, "defaultActions", tg_values, TG_TYPES, ("arn", "id"))
        if not tgs:
            return None, []
        tg = tgs[0]
        ips = [
            a.props.get("targetId", UNKNOWN)
            for a in self.g.referrers(ATTACHMENT_TYPES, "targetGroupArn", tg, ("arn", "id"))
        ]
        return tg, ips

    def _from_directory(self, tg: Node) -> bool:
        attachments = self.g.referrers(ATTACHMENT_TYPES, "targetGroupArn", tg, ("arn", "id"))
        return bool(attachments) and all(
            any(d.type == "aws:directoryservice/directory:Directory" for d in a.deps.get("targetId", []))
            for a in attachments
        )

    def eks(self) -> list[tuple[Node, Party]]:
        out = []
        for c in self.g.of_type(EKS_TYPE):
            subnet_values = as_list(c.props.get("privateSubnetIds")) + as_list(c.props.get("subnetIds"))
            prop = "privateSubnetIds" if c.props.get("privateSubnetIds") is not None else "subnetIds"
            party = self.m.party(
                f"the EKS API of {c.name}",
                c,
                "clusterSecurityGroup",
                [c.props.get("clusterSecurityGroup")],
                prop,
                subnet_values,
            )
            out.append((c, party))
        return out

    # ------------------------------------------------------------------ evaluation
    def run(self) -> Findings:
        nodes = self.nodes()
        vpns = self.vpns()
        lbs = self.load_balancers()
        login = [(lb, p, ls[22]) for lb, p, ls in lbs if 22 in ls]
        ldaps = [(lb, p, ls[636]) for lb, p, ls in lbs if 636 in ls]
        for cluster, api in self.eks():
            self._eks(cluster, api, nodes, vpns)
        for ep, vpn in vpns:
            for lb, nlb, _ in login:
                name = f"vpn client -> login NLB {lb.name} tcp/22"
                if self.vpn_authorized(ep, nlb, name):
                    self.flow(name, vpn, nlb, [22], lb)
        for lb, nlb, listener in login:
            tg, ips = self.targets(listener)
            port = int(tg.props.get("port", 22)) if tg is not None and isinstance(tg.props.get("port"), float) else 22
            for n in nodes:
                login_nodes = Party(
                    f"the login nodes behind {lb.name}",
                    n.node,
                    n.groups,
                    [f"{ip}/32" if isinstance(ip, str) else UNKNOWN for ip in ips] or n.cidrs,
                    n.subnets,
                    list(n.unknown),
                )
                self.flow(f"login NLB {lb.name} -> login nodes tcp/{port}", nlb, login_nodes, [port], lb)
        for lb, nlb, listener in ldaps:
            for n in nodes:
                self.flow(f"nodes -> LDAPS NLB {lb.name} tcp/636", n, nlb, [636], lb)
            tg, ips = self.targets(listener)
            if tg is not None:
                port = int(tg.props.get("port")) if isinstance(tg.props.get("port"), float) else 389
                dcs = [f"{ip}/32" if isinstance(ip, str) else UNKNOWN for ip in ips]
                name = f"LDAPS NLB {lb.name} -> domain controllers tcp/{port}"
                if not dcs:
                    self.found.fail(tg, f"{tg.label}: flow {name} is closed: the target group has no target")
                elif UNKNOWN in dcs:
                    self.found.cannot_judge(f"{name}: a domain controller address is not known yet")
                else:
                    # The directory's own group is AWS's (it admits the directory ports from the VPC): the
                    # plan decides the NLB's egress and the route.
                    out = self.m._side(
                        self.m.egress, nlb.groups, Party("the domain controllers", None, [], dcs), [port]
                    )
                    # A directory's DNS addresses are its domain controllers' ENIs, which AWS places in the
                    # directory's subnets of the VPC; literal addresses must lie in the VPC (its local route).
                    inside = self._from_directory(tg) or all(within(c, self.m.vpc_cidrs) is True for c in dcs)
                    if out is True and inside:
                        self.found.prove(name)
                    elif out is UNKNOWN:
                        self.found.cannot_judge(f"{name}: the egress of {lb.name} is not known yet")
                    else:
                        why = (
                            "no egress rule of its security group lets it out"
                            if out is False
                            else ("a domain controller lies outside the VPC")
                        )
                        self.found.fail(lb, f"{lb.label}: flow {name} is closed: {why}; admit {dcs} on tcp/{port}")
        for fs in self.g.of_type(FSX_TYPE):
            lustre = self.m.party(
                f"FSx for Lustre {fs.name}",
                fs,
                "securityGroupIds",
                fs.props.get("securityGroupIds"),
                "subnetIds",
                fs.props.get("subnetIds"),
            )
            for n in nodes:
                self.flow(f"nodes -> FSx {fs.name} tcp/988", n, lustre, [988], fs)
                self.flow(f"nodes -> FSx {fs.name} tcp/1018-1023", n, lustre, list(range(1018, 1024)), fs)
        for n in nodes:
            self._s3(n)
            self._ecr_api(n)
        self._internet(lbs)
        return self.found

    def _eks(self, cluster: Node, api: Party, nodes: list[Party], vpns: list[tuple[Node, Party]]) -> None:
        props = cluster.props
        private, public = props.get("endpointPrivateAccess"), props.get("endpointPublicAccess")
        cidrs = props.get("publicAccessCidrs")
        tags = props.get("tags") if isinstance(props.get("tags"), dict) else {}
        mode = tags.get("DeployFrom")
        if private is UNKNOWN or public is UNKNOWN:
            self.found.cannot_judge(f"the endpoint access of {cluster.label} is not known yet")
            return
        public = public is not False  # pulumi-eks's default is a public endpoint
        internal: dict[str, bool] = {}
        if private is not True:
            for n in nodes:
                self.found.fail(
                    cluster,
                    f"{cluster.label}: flow {n.label} -> eks api tcp/443 is closed: the private endpoint is off, so "
                    "nodes and pods leave the VPC for the API; set endpoint_private_access=True",
                )
        elif not props.get("clusterSecurityGroup"):
            # pulumi-eks builds the control plane's group at deploy time (ingress from its own node groups only):
            # its rules are not in the plan, so only the paths that need no rule of it are judged below.
            for party in [*nodes, *(v for _, v in vpns)]:
                self.found.cannot_judge(
                    f"{party.label} -> eks api {cluster.name} tcp/443: the control plane's security group is built by "
                    "pulumi-eks at deploy time (give cluster_security_group to judge it)"
                )
        else:
            for n in nodes:
                self.flow(f"nodes -> eks api {cluster.name} tcp/443", n, api, [443], cluster)
            for ep, vpn in vpns:
                name = f"vpn client -> eks api {cluster.name} tcp/443"
                if self.vpn_authorized(ep, api, name):
                    internal["vpn"] = self.flow(name, vpn, api, [443], cluster)
        # The internet: the public endpoint only from listed ranges that are not the internet.
        listed = [c for c in as_list(cidrs) if isinstance(c, str)]
        if public:
            if cidrs is UNKNOWN or UNKNOWN in as_list(cidrs):
                self.found.cannot_judge(f"the public access ranges of {cluster.label} are not known yet")
            elif not listed or opens_to_internet(listed):
                share = 1.0 if not listed else internet_share(listed)
                self.found.fail(
                    cluster,
                    f"{cluster.label}: flow internet -> eks api {cluster.name} tcp/443 is open ({share:.0%} of the "
                    "internet: no publicAccessCidrs means 0.0.0.0/0); list the deploy runner's ranges in "
                    "eks.publicAccessCidrs",
                )
                return
            else:
                self.found.prove(f"internet -> eks api {cluster.name} tcp/443 closed (public endpoint: {listed})")
        else:
            self.found.prove(f"internet -> eks api {cluster.name} tcp/443 closed (no public endpoint)")
        # The deployer: where `pulumi up` runs (the DeployFrom tag), else any path.
        private_cidrs = self._api_cidrs(api) if private is True else []
        routed = self.m.route_back(api, private_cidrs) if private_cidrs else (Verdict.CLOSED, "")
        paths = {
            "public": bool(public and listed),
            "vpn": internal.get("vpn", False),
            "private": routed[0] == Verdict.OPEN,
        }
        name = f"deployer ({mode or 'any'}) -> eks api {cluster.name} tcp/443"
        if mode in paths:
            if mode == "private" and private_cidrs and routed[0] != Verdict.OPEN:
                self.judge(name, cluster, routed)
                return
            if paths[mode]:
                self.found.prove(name)
                return
            hint = {
                "public": "the public endpoint is off or lists no range: set eks.publicAccessCidrs to the runner's "
                "static egress ranges",
                "vpn": "the Client VPN's security group is not admitted on 443 by the control plane's group (or there"
                " is no VPN): enable vpn, whose group the control plane then admits",
                "private": "the control plane's security group admits no range outside itself on 443: set "
                "eks.privateAccessCidrs to the runner's network",
            }[mode]
        elif any(paths.values()):
            self.found.prove(name)
            return
        else:
            hint = (
                "the endpoint is private only and the control plane's security group admits 443 from nothing "
                "outside the cluster: `pulumi up` cannot create the Kubernetes resources. Set eks.deployFrom "
                "(public with eks.publicAccessCidrs, vpn with vpn.enabled, or private with eks.privateAccessCidrs)"
            )
        self.found.fail(cluster, f"{cluster.label}: flow {name} is closed: {hint}")

    def _api_cidrs(self, api: Party) -> list[str]:
        """Ranges outside the cluster's own subnets that the control plane's groups admit on 443."""
        out = []
        for key in api.groups:
            for rule in self.m.sgs.groups.get(key).rules if self.m.sgs.groups.get(key) else []:
                if rule.covers_port(443) is not True:
                    continue
                for kind, value in rule.sources:
                    if kind == "cidr4" and isinstance(value, str) and value not in api.cidrs:
                        out.append(value)
        return out

    def _s3(self, n: Party) -> None:
        buckets = self._lifecycle_buckets(n.node)
        accounts = self._node_accounts(n.node)
        for subnet in n.subnets:
            eps = self.m.gateway_endpoints(subnet, "s3")
            region = None
            for ep in eps:
                m = re.match(r"com\.amazonaws\.([a-z0-9-]+)\.s3$", str(ep.props.get("serviceName", "")))
                region = m.group(1) if m else None
            via_nat = self.m.default_route_via_nat(subnet)
            targets = [(f"lifecycle bucket {b}", f"arn:aws:s3:::{b}/*", False) for b in buckets]
            if region:
                layer = f"prod-{region}-starport-layer-bucket"
                targets.append((f"ECR image layers ({layer})", f"arn:aws:s3:::{layer}/*", True))
            for what, arn, aws_signed in targets:
                name = f"nodes -> S3 {what}"
                if not eps:
                    self.judge(name, n.node, via_nat)
                    continue
                ep = eps[0]
                decision = _endpoint_allows(ep.props.get("policy"), "s3:GetObject", arn, accounts, aws_signed)
                if decision is True:
                    self.found.prove(f"{name} (gateway endpoint {ep.name})")
                elif decision is UNKNOWN:
                    self.found.cannot_judge(f"{name}: the policy of {ep.label} is not known yet")
                else:
                    who = (
                        "requests ECR signs (no principal of the stack's accounts)"
                        if aws_signed
                        else (f"principals of {accounts}")
                    )
                    self.found.fail(
                        ep,
                        f"{ep.label}: flow {name} is closed: the endpoint's policy does not allow s3:GetObject on "
                        f"{arn} for {who}; allow it (without a principal-account condition for AWS-owned buckets)",
                    )
            break  # the route tables of the other node subnets are judged alike by the route check

    def _lifecycle_buckets(self, hp: Optional[Node]) -> list[str]:
        out = []
        for uri in collect(hp.props.get("instanceGroups") if hp else None, ["*", "lifeCycleConfig", "sourceS3Uri"]):
            if uri is UNKNOWN:
                self.found.cannot_judge(
                    f"nodes -> S3 lifecycle bucket: the lifecycle URI of {hp.label} is not known yet"
                )
            m = re.match(r"^s3://([^/]+)", uri) if isinstance(uri, str) else None
            if m:
                out.append(m.group(1))
        return list(dict.fromkeys(out))

    def _node_accounts(self, hp: Optional[Node]) -> list[str]:
        out = []
        for arn in collect(hp.props.get("instanceGroups") if hp else None, ["*", "executionRole"]):
            parts = arn.split(":") if isinstance(arn, str) else []
            if len(parts) > 4 and parts[4]:
                out.append(parts[4])
        return list(dict.fromkeys(out))

    def _ecr_api(self, n: Party) -> None:
        name = "nodes -> ECR API tcp/443"
        for ep in self.g.of_type(ENDPOINT_TYPE):
            if ep.props.get("vpcEndpointType") == "Interface" and str(ep.props.get("serviceName", "")).endswith(
                ".ecr.api"
            ):
                iface = self.m.party(
                    f"interface endpoint {ep.name}",
                    ep,
                    "securityGroupIds",
                    ep.props.get("securityGroupIds"),
                    "subnetIds",
                    ep.props.get("subnetIds"),
                )
                if ep.props.get("privateDnsEnabled") is True:
                    self.flow(f"{name} (interface endpoint {ep.name})", n, iface, [443], ep)
                    return
        if not n.subnets:
            self.found.cannot_judge(f"{name}: the node subnets are not known")
            return
        internet = Party("the internet (ECR's public endpoint)", None, [], [WORLD])
        out = self.m._side(self.m.egress, n.groups, internet, [443])
        if out is not True:
            if out is UNKNOWN:
                self.found.cannot_judge(f"{name}: the egress of {n.label} is not known yet")
            else:
                self.found.fail(
                    n.node,
                    f"{n.node.label}: flow {name} is closed: the nodes' security group lets no tcp/443 out "
                    "to the internet; add that egress or an ecr.api interface endpoint",
                )
            return
        verdict = self.m.default_route_via_nat(n.subnets[0])
        if verdict[0] == Verdict.OPEN:
            self.found.prove(f"{name} ({verdict[1]})")
        else:
            self.judge(name, n.node, (verdict[0], verdict[1] + "; add a NAT route or an ecr.api interface endpoint"))

    def _internet(self, lbs) -> None:
        for group in self.m.sgs.groups.values():
            if group.node is None:
                continue
            cidrs, unknown = [], False
            for rule in group.rules:
                for kind, value in rule.sources:
                    if kind in ("cidr4", "cidr6"):
                        if value is UNKNOWN:
                            unknown = True
                        else:
                            cidrs.append(str(value))
            if opens_to_internet(cidrs):
                self.found.fail(
                    group.node,
                    f"{group.node.label}: flow internet -> {group.label} is open: its ingress ranges {cidrs} admit "
                    f"{internet_share(cidrs):.0%} of the internet; admit only the client networks",
                )
            elif unknown:
                self.found.cannot_judge(f"internet -> {group.label}: a source range is not known yet")
            else:
                self.found.prove(f"internet -> {group.label} closed")
        for lb, _, _ in lbs:
            internal = lb.props.get("internal")
            if internal is True:
                self.found.prove(f"internet -> load balancer {lb.name} closed (internal)")
            elif internal is UNKNOWN:
                self.found.cannot_judge(f"internet -> load balancer {lb.name}: its scheme is not known yet")
            else:
                self.found.fail(
                    lb,
                    f"{lb.label}: flow internet -> load balancer {lb.name} is open: it is internet-facing; set "
                    "internal=True",
                )


def _like(text: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(text.lower(), str(pattern).lower())


def _endpoint_allows(policy: Any, action: str, arn: str, accounts: list[str], aws_signed: bool) -> Any:
    """An endpoint policy's decision for ``action`` on ``arn`` by a principal of ``accounts`` (or, with
    ``aws_signed``, a request AWS signs, whose principal is none of them). No policy: AWS's full access."""
    if policy is None or policy == "":
        return True
    doc, error = parse_document(policy)
    if doc is UNKNOWN:
        return UNKNOWN
    if error or not isinstance(doc, dict):
        return False
    allowed: Any = False
    for st in statements(doc):
        actions = as_list(st.get("Action"))
        resources = as_list(st.get("Resource"))
        if "NotAction" in st or "NotResource" in st or "NotPrincipal" in st:
            return UNKNOWN
        if not any(_like(action, a) for a in actions) or not any(_like(arn, r) for r in resources):
            continue
        principal = st.get("Principal")
        if principal not in ("*", {"AWS": "*"}):
            if aws_signed:
                continue
        met = _conditions_met(st.get("Condition"), accounts, aws_signed)
        if st.get("Effect") == "Deny" and met is not False:
            return False if met is True else UNKNOWN
        if st.get("Effect") == "Allow":
            if met is True:
                allowed = True
            elif met is UNKNOWN and allowed is False:
                allowed = UNKNOWN
    return allowed


def _conditions_met(condition: Any, accounts: list[str], aws_signed: bool) -> Any:
    if not condition:
        return True
    if not isinstance(condition, dict):
        return UNKNOWN
    for op, keys in condition.items():
        if not isinstance(keys, dict):
            return UNKNOWN
        for key, values in keys.items():
            if key.lower() == "aws:principalaccount" and op in ("StringEquals", "StringLike"):
                if aws_signed:
                    return False
                if not accounts or not all(any(_like(a, str(v)) for v in as_list(values)) for a in accounts):
                    return False
            elif key.lower() in ("aws:principalorgid", "aws:principalorgpaths", "aws:principalarn"):
                if aws_signed:
                    return False
                return UNKNOWN
            else:
                return UNKNOWN
    return True


def evaluate(graph: Graph, cfg: Config) -> Findings:
    """Every flow of the platform in ``graph``: proved, a problem, or "cannot judge"."""
    return Flows(graph).run()


POLICY = declare_behaviour(NAME, DESCRIPTION, REMEDIATION, evaluate)

__all__ = ["POLICY", "evaluate"]
