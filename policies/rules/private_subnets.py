"""private-subnets: what holds data or serves users internally sits in private subnets.

Judged from the dependency graph, because subnet and route table IDs are unknown at preview: a placed
resource's property dependencies lead to its subnets, route table associations (property dependencies on
the subnet and the route table) lead to route tables, and routes (property dependency of ``gatewayId``) lead
to internet gateways. Known IDs (``.get()`` reads, later updates) are matched to resources of the stack too.

Existing subnets (``.get()`` reads) are judged from read state, as AWS reports it: a read association
(``subnetId`` -> ``routeTableId``, e.g. ``RouteTableAssociation.get(..., "subnet-.../rtb-...")``) leads to
the read route table and its ``routes``. A read subnet with no association in the stack uses the main route
table of its VPC: the VPC read by the ``vpcId`` of the subnet's state names it (``mainRouteTableId``), and
that table must be read too. (That the subnet has no explicit association is the program's lookup, e.g.
``getRouteTable`` by subnet; an association the program did not read is not seen.)

A VPC's main route table is also reached by its IDs (``mainRouteTableId``, ``defaultRouteTableId``): an
``aws.ec2.DefaultRouteTable`` (by dependency or ID) and routes naming it count for every subnet of the VPC
without an explicit association. A route whose ``routeTableId`` is a literal naming no table of the stack is
linked by that ID to a VPC's main table or to an association naming the same ID; while a table it could
belong to has an ID not known yet (preview), it is a "cannot judge" note, never dropped.

A route to an internet gateway makes a subnet public. A default route (``0.0.0.0/0``, ``::/0``) to a network
interface or a VPC endpoint (a firewall or NAT appliance, a Gateway Load Balancer endpoint) cannot be judged:
the appliance may forward to an internet gateway. Such subnets, and subnet IDs the stack does not read, are
unverifiable unless listed in ``trustedSubnetIds``.

Only the resource types in :data:`PLACEMENTS` are judged, so a bastion or a NAT gateway may sit in a public
subnet.

EKS clusters are judged in every shape (``_eks``): the subnets of ``aws:eks/cluster:Cluster`` and aws-native
clusters, and the pulumi-eks component's subnet inputs (``subnetIds``, ``privateSubnetIds``,
``publicSubnetIds``, ``nodeSubnetIds``) while no ``aws:eks/cluster:Cluster`` descends from it (under mocks
and offline; a real preview shows that child, which is judged instead). A component given neither a VPC nor
subnets uses the default VPC's subnets, which are public. HyperPod clusters are judged whatever their
orchestrator, restricted instance groups' overrides included.
"""

from __future__ import annotations

from typing import Any, Optional

from pulumi_policy import ReportViolation

from ._declare import Config, declare, option
from ._eks import AWS_CLUSTER, COMPONENT, NATIVE_CLUSTER, has_cluster_child
from ._lib import UNKNOWN, Graph, Node, Verdicts, as_list, collect

NAME = "private-subnets"

SUBNET_TYPES = {"aws:ec2/subnet:Subnet", "aws-native:ec2:Subnet"}
VPC_TYPES = {"aws:ec2/vpc:Vpc", "aws-native:ec2:VPC"}
ROUTE_TABLE_TYPES = {
    "aws:ec2/routeTable:RouteTable",
    "aws:ec2/defaultRouteTable:DefaultRouteTable",
    "aws-native:ec2:RouteTable",
}
INTERNET_GATEWAY_TYPES = {"aws:ec2/internetGateway:InternetGateway", "aws-native:ec2:InternetGateway"}
# association type -> (subnet property, route table property)
ASSOCIATION_TYPES = {
    "aws:ec2/routeTableAssociation:RouteTableAssociation": ("subnetId", "routeTableId"),
    "aws-native:ec2:SubnetRouteTableAssociation": ("subnetId", "routeTableId"),
}
MAIN_ASSOCIATION_TYPE = "aws:ec2/mainRouteTableAssociation:MainRouteTableAssociation"
# route type -> (route table property, gateway property)
ROUTE_TYPES = {
    "aws:ec2/route:Route": ("routeTableId", "gatewayId"),
    "aws-native:ec2:Route": ("routeTableId", "gatewayId"),
}
# next hops that are appliances: (property of a route, what it is)
APPLIANCE_TARGETS = (("networkInterfaceId", "network interface"), ("vpcEndpointId", "VPC endpoint"))
DEFAULT_ROUTES = {"0.0.0.0/0", "::/0"}
ROUTE_TABLE_ID_KEYS = ("id", "defaultRouteTableId")  # a DefaultRouteTable is known by the table it adopts
MAIN_TABLE_KEYS = ("mainRouteTableId", "defaultRouteTableId")
# load balancers: placed (judged) only when internal; type -> (property, value meaning internal)
LB_SCHEMES = {
    "aws:lb/loadBalancer:LoadBalancer": ("internal", True),
    "aws:alb/loadBalancer:LoadBalancer": ("internal", True),
    "aws:elb/loadBalancer:LoadBalancer": ("internal", True),
    "aws-native:elasticloadbalancingv2:LoadBalancer": ("scheme", "internal"),
    "aws-native:elasticloadbalancing:LoadBalancer": ("scheme", "internal"),
}
_SUBNET_IDS = ("subnetIds", ["subnetIds"], "subnetIds")
# the pulumi-eks component's subnet inputs: the control plane's (subnetIds, or the private and public lists) and
# its default node group's (nodeSubnetIds); without a vpcId nor any of the first three it uses the default VPC's
COMPONENT_SUBNET_KEYS = ("subnetIds", "privateSubnetIds", "publicSubnetIds", "nodeSubnetIds")
COMPONENT_PLACEMENT_KEYS = ("subnetIds", "privateSubnetIds", "publicSubnetIds")
_PREFERRED = ("preferredSubnetId", ["preferredSubnetId"], "preferredSubnetId")
_LB_SUBNETS = [
    ("subnets", ["subnets"], "subnets"),
    ("subnetMappings", ["subnetMappings", "*", "subnetId"], "subnetMappings[].subnetId"),
]

# type -> [(top-level property whose dependencies hold the subnets, path of the subnet IDs, label)]
PLACEMENTS: dict[str, list[tuple[str, list[str], str]]] = {
    "aws-native:sagemaker:Cluster": [
        ("vpcConfig", ["vpcConfig", "subnets"], "vpcConfig.subnets"),
        (
            "instanceGroups",
            ["instanceGroups", "*", "overrideVpcConfig", "subnets"],
            "instanceGroups[].overrideVpcConfig.subnets",
        ),
        (
            "restrictedInstanceGroups",
            ["restrictedInstanceGroups", "*", "overrideVpcConfig", "subnets"],
            "restrictedInstanceGroups[].overrideVpcConfig.subnets",
        ),
    ],
    # EKS clusters of every shape (rules/_eks.py), and their managed node groups
    AWS_CLUSTER: [("vpcConfig", ["vpcConfig", "subnetIds"], "vpcConfig.subnetIds")],
    NATIVE_CLUSTER: [("resourcesVpcConfig", ["resourcesVpcConfig", "subnetIds"], "resourcesVpcConfig.subnetIds")],
    COMPONENT: [(key, [key], key) for key in COMPONENT_SUBNET_KEYS],
    "aws:eks/nodeGroup:NodeGroup": [_SUBNET_IDS],
    "aws-native:eks:Nodegroup": [("subnets", ["subnets"], "subnets")],
    # FSx of every kind, and File Cache
    "aws:fsx/lustreFileSystem:LustreFileSystem": [_SUBNET_IDS],
    "aws:fsx/openZfsFileSystem:OpenZfsFileSystem": [_SUBNET_IDS, _PREFERRED],
    "aws:fsx/ontapFileSystem:OntapFileSystem": [_SUBNET_IDS, _PREFERRED],
    "aws:fsx/windowsFileSystem:WindowsFileSystem": [_SUBNET_IDS, _PREFERRED],
    "aws:fsx/fileCache:FileCache": [_SUBNET_IDS],
    "aws-native:fsx:FileSystem": [_SUBNET_IDS],
    "aws-native:fsx:FileCache": [_SUBNET_IDS],
    "aws:directoryservice/directory:Directory": [
        ("vpcSettings", ["vpcSettings", "subnetIds"], "vpcSettings.subnetIds"),
        ("connectSettings", ["connectSettings", "subnetIds"], "connectSettings.subnetIds"),
    ],
    "aws:ec2clientvpn/networkAssociation:NetworkAssociation": [("subnetId", ["subnetId"], "subnetId")],
    # internal load balancers of every kind
    "aws:lb/loadBalancer:LoadBalancer": _LB_SUBNETS,
    "aws:alb/loadBalancer:LoadBalancer": _LB_SUBNETS,
    "aws-native:elasticloadbalancingv2:LoadBalancer": _LB_SUBNETS,
    "aws:elb/loadBalancer:LoadBalancer": [("subnets", ["subnets"], "subnets")],
    "aws-native:elasticloadbalancing:LoadBalancer": [("subnets", ["subnets"], "subnets")],
}

CONFIG = {
    "unverifiable": option(
        "violation",
        "How to report a placement whose subnets this stack cannot judge (existing subnets whose route table is "
        "not read here, IDs of other stacks, default routes to an appliance): as a violation at this policy's "
        "enforcement level, or as an advisory note.",
        enum=["violation", "advisory"],
    ),
    "trustedSubnetIds": option(
        [],
        "IDs of subnets reviewed as private that the rule cannot judge: not read in this stack, or routed by "
        "default through an appliance (network interface, VPC endpoint).",
    ),
}

DESCRIPTION = (
    "HyperPod clusters, Slurm or EKS orchestrated (and per-group overrides), EKS clusters of every shape "
    "(pulumi-eks component inputs, pulumi-aws, aws-native) and managed node groups, FSx file systems of every "
    "kind (Lustre, OpenZFS, ONTAP, Windows) and File Caches, directories, internal load balancers of every "
    "kind and Client VPN associations are placed only in private subnets: "
    "mapPublicIpOnLaunch is not true and no associated route table routes to an internet gateway."
)

REMEDIATION = (
    "Pass the private subnets (routed through a NAT gateway, never an internet gateway) to the resource, "
    "or remove the internet gateway route from the subnet's route table and set "
    "mapPublicIpOnLaunch=false. Read an existing subnet's route table in the stack (its association, or "
    "the VPC and its main route table), as the Network component does. A subnet the rule still cannot "
    "judge (not read here, or a default route to a firewall/NAT appliance) can be vouched for after "
    'review in the policy config: trustedSubnetIds: ["subnet-..."].'
)


class _Subnets:
    """Judges subnets from the graph: 'private', 'public' (with reasons) or 'unverifiable' (with reasons)."""

    def __init__(self, graph: Graph, trusted: set[str]):
        self.g = graph
        self.trusted = trusted
        self.cache: dict[str, tuple[str, list[str]]] = {}
        # routes and associations by what they name, built once (no scan of the plan per subnet or table)
        self.associations: list[Node] = [a for t in ASSOCIATION_TYPES for a in graph.of_type(t)]
        self.routes: list[Node] = [r for t in ROUTE_TYPES for r in graph.of_type(t)]
        # routes whose routeTableId is a literal naming no route table of the stack, by that literal
        self.orphans: dict[str, list[Node]] = {}
        for route in self.routes:
            key = ROUTE_TYPES[route.type][0]
            value = route.props.get(key)
            if route.deps.get(key) or not isinstance(value, str) or not value:
                continue
            if graph.by_value(value, ROUTE_TABLE_TYPES, ROUTE_TABLE_ID_KEYS) is None:
                self.orphans.setdefault(value, []).append(route)

    def _orphan_routes(self, table_id: Any, label: str) -> list[tuple[str, str]]:
        """Verdicts of the routes that name ``table_id`` literally (a table whose ID is known), or, when the
        ID is not known yet, a note for every literal route that may belong to it and would matter."""
        if isinstance(table_id, str) and table_id:
            return [self._judge_route(r) for r in self.orphans.get(table_id, [])]
        if table_id is not UNKNOWN:
            return []
        out = []
        for literal, routes in self.orphans.items():
            for route in routes:
                verdict, _ = self._judge_route(route)
                if verdict in ("igw", "unverifiable"):
                    out.append(
                        (
                            "unknown",
                            f"route {route.name} names route table {literal}, which is not a route table of this "
                            f"stack; whether it is {label} cannot be known yet (its ID is not known)",
                        )
                    )
        return out

    def judge(self, subnet: Node) -> tuple[str, list[str]]:
        if subnet.urn not in self.cache:
            self.cache[subnet.urn] = self._judge(subnet)
        return self.cache[subnet.urn]

    def _judge(self, subnet: Node) -> tuple[str, list[str]]:
        if subnet.id and subnet.id in self.trusted:
            return "private", []
        public, unknown, unverifiable = [], [], []
        name = _subnet_label(subnet)
        flag = subnet.props.get("mapPublicIpOnLaunch")
        if flag is True:
            public.append(f"subnet {name} has mapPublicIpOnLaunch=true")
        elif flag is UNKNOWN:
            unknown.append(f"mapPublicIpOnLaunch of subnet {name} is not known yet")
        tables, problems = self._route_tables(subnet)
        unverifiable += problems
        for table_label, routes in tables:
            for verdict, text in routes:
                if verdict == "igw":
                    public.append(f"subnet {name} uses {table_label}, which {text}")
                elif verdict == "unknown":
                    unknown.append(f"{table_label} of subnet {name}: {text}")
                elif verdict == "unverifiable":
                    unverifiable.append(f"{table_label} of subnet {name}: {text}")
        if public:
            return "public", public
        if unverifiable:
            return "unverifiable", unverifiable
        if unknown:
            return "unknown", unknown
        return "private", []

    # route tables of a subnet: [(label, [(verdict, text)])], problems
    def _route_tables(self, subnet: Node) -> tuple[list[tuple[str, list[tuple[str, str]]]], list[str]]:
        g = self.g
        associations = [a for a in self.associations if g.refers(a, ASSOCIATION_TYPES[a.type][0], subnet)]
        tables: list[tuple[str, list[tuple[str, str]]]] = []
        problems: list[str] = []
        if associations:
            for assoc in associations:
                rt_key = ASSOCIATION_TYPES[assoc.type][1]
                value = assoc.props.get(rt_key)
                found, unresolved = g.resolve(assoc, rt_key, as_list(value), ROUTE_TABLE_TYPES)
                for rt in found:
                    tables.append((f"route table {rt.name}", self._routes_of_table(rt)))
                vpcs = assoc.deps_of(rt_key, VPC_TYPES)  # vpc.main_route_table_id / default_route_table_id
                for vpc in vpcs:
                    tables.append(self._main_table(vpc))
                for u in unresolved if not found and not vpcs else []:  # routes naming the same literal table
                    if self.orphans.get(u):
                        tables.append((f"route table {u}", self._orphan_routes(u, "")))
                if not found and not vpcs:
                    problems += [
                        f"route table {u} of association {assoc.name} is not a route table of this stack"
                        for u in unresolved
                    ] or [f"association {assoc.name} names no route table"]
            return tables, problems
        if subnet.read:
            main, why = self._read_main_table(subnet, subnet.props.get("vpcId"))
            if main is not None:
                return [main], []
            return [], [
                f"existing subnet {subnet.name} ({subnet.id or 'id unknown'}) has no route table "
                f"association in this stack and {why}, so its route table cannot be seen"
            ]
        vpcs, unresolved = g.resolve(subnet, "vpcId", as_list(subnet.props.get("vpcId")), VPC_TYPES)
        if not vpcs:
            return [], [
                f"subnet {subnet.name} has no route table association and its VPC "
                f"({', '.join(unresolved) or 'unknown'}) is not in this stack"
            ]
        for vpc in vpcs:
            if vpc.read:
                main, _ = self._read_main_table(subnet, vpc)
                if main is not None:
                    tables.append(main)
                    continue
                problems.append(
                    f"subnet {subnet.name} has no route table association: it uses the main route "
                    f"table of existing VPC {vpc.name}, which this stack cannot see"
                )
            else:
                tables.append(self._main_table(vpc))
        return tables, problems

    def _read_main_table(self, subnet: Node, vpc: Any) -> tuple[Optional[tuple[str, list[tuple[str, str]]]], str]:
        """An existing VPC's main route table: its read VPC (a node, or the subnet's ``vpcId``) names it
        (``mainRouteTableId``), and the table is read, or managed here as a DefaultRouteTable. Returns
        (label, routes) or None with what is missing. Without the table, routes naming its ID literally still
        count when one of them makes the subnet public."""
        g = self.g
        if not isinstance(vpc, Node):
            vpc_id = vpc
            vpc = g.by_value(vpc_id, VPC_TYPES)
            if vpc is None or not vpc.read:
                shown = vpc_id if isinstance(vpc_id, str) and vpc_id else "unknown"
                return None, f"its VPC ({shown}) is not read here"
        main_id = vpc.props.get("mainRouteTableId")
        table = g.by_value(main_id, ROUTE_TABLE_TYPES, ROUTE_TABLE_ID_KEYS)
        label = f"main route table of VPC {vpc.id or vpc.name}"
        if table is None or not (table.read or table.type == "aws:ec2/defaultRouteTable:DefaultRouteTable"):
            literal = [r for r in self._orphan_routes(main_id, label) if r[0] == "igw"]
            if literal:
                return (f"the {label} ({main_id})", literal), ""
            shown = main_id if isinstance(main_id, str) and main_id else "unknown"
            return None, f"the {label} ({shown}) is not read here"
        return (f"route table {table.name} ({label})", self._routes_of_table(table)), ""

    def _main_table(self, vpc: Node) -> tuple[str, list[tuple[str, str]]]:
        """The main route table of a VPC created in this stack: routes added to it (by dependency on the VPC's
        main/default table ID, or by that ID), its DefaultRouteTable, or the table made main."""
        g = self.g
        label = f"the main route table of VPC {vpc.name}"
        routes: list[tuple[str, str]] = []
        for route in self.routes:
            if any(d is vpc for d in route.deps.get(ROUTE_TYPES[route.type][0], [])):
                routes.append(self._judge_route(route))
        seen: list[Node] = []
        for table in g.of_type("aws:ec2/defaultRouteTable:DefaultRouteTable"):
            if any(d is vpc for d in table.deps.get("defaultRouteTableId", [])):
                seen.append(table)
        ids = [vpc.props.get(k) for k in MAIN_TABLE_KEYS]
        for main_id in dict.fromkeys(i for i in ids if isinstance(i, str) and i):
            table = g.by_value(main_id, ROUTE_TABLE_TYPES, ROUTE_TABLE_ID_KEYS)
            if table is not None and not any(t is table for t in seen):
                seen.append(table)
            routes += self._orphan_routes(main_id, label)
        if any(i is UNKNOWN for i in ids):
            routes += self._orphan_routes(UNKNOWN, label)
        for table in seen:
            routes += self._routes_of_table(table)
        for main in g.of_type(MAIN_ASSOCIATION_TYPE):
            if any(d is vpc for d in main.deps.get("vpcId", [])):
                found, _ = g.resolve(main, "routeTableId", as_list(main.props.get("routeTableId")), ROUTE_TABLE_TYPES)
                for rt in found:
                    routes += self._routes_of_table(rt)
        return f"the main route table of VPC {vpc.name}", routes

    def _routes_of_table(self, table: Node) -> list[tuple[str, str]]:
        g = self.g
        out: list[tuple[str, str]] = []
        for route in self.routes:
            if g.refers(route, ROUTE_TYPES[route.type][0], table, ROUTE_TABLE_ID_KEYS):
                out.append(self._judge_route(route))
        if table.id is None and not table.read:  # routes naming a table by a literal ID may be this one
            out += self._orphan_routes(UNKNOWN, f"route table {table.name}")
        inline = table.props.get("routes")
        if inline is UNKNOWN:
            if table.deps_of("routes", INTERNET_GATEWAY_TYPES):
                out.append(
                    (
                        "igw",
                        f"has an inline route to internet gateway "
                        f"{table.deps_of('routes', INTERNET_GATEWAY_TYPES)[0].name}",
                    )
                )
            elif table.deps.get("routes"):
                out.append(("unknown", "its inline routes are not known yet"))
        for i, r in enumerate(inline if isinstance(inline, list) else []):
            gw = r.get("gatewayId") if isinstance(r, dict) else UNKNOWN
            dest = (
                (r.get("cidrBlock") or r.get("ipv6CidrBlock") or r.get("destinationPrefixListId"))
                if isinstance(r, dict)
                else None
            )
            igws = table.deps_of("routes", INTERNET_GATEWAY_TYPES)
            if isinstance(gw, str) and gw.startswith("igw-"):
                out.append(("igw", f"routes {dest or 'traffic'} to internet gateway {gw}"))
            elif (appliance := _appliance(r, dest, bool(table.deps.get("routes")))) is not None:
                out.append(
                    (
                        "unverifiable",
                        f"routes {dest} to {appliance}, an appliance whose path onward "
                        "(possibly to an internet gateway) this rule cannot see",
                    )
                )
            elif gw is UNKNOWN and igws:
                out.append(("igw", f"routes {dest or 'traffic'} to internet gateway {igws[0].name} (inline route {i})"))
            elif gw is UNKNOWN and not table.deps.get("routes"):
                out.append(("unknown", f"the gateway of inline route {i} is not known yet"))
        return out

    def _judge_route(self, route: Node) -> tuple[str, str]:
        gw_key = ROUTE_TYPES[route.type][1]
        gw = route.props.get(gw_key)
        dest = (
            route.props.get("destinationCidrBlock")
            or route.props.get("destinationIpv6CidrBlock")
            or route.props.get("destinationPrefixListId")
            or "traffic"
        )
        dest = "traffic" if dest is UNKNOWN else dest
        igws = route.deps_of(gw_key, INTERNET_GATEWAY_TYPES)
        if igws:
            return "igw", f"routes {dest} to internet gateway {igws[0].name} (route {route.name})"
        if isinstance(gw, str) and gw.startswith("igw-"):
            hit = self.g.by_value(gw, INTERNET_GATEWAY_TYPES)
            return "igw", f"routes {dest} to internet gateway {hit.name if hit else gw} (route {route.name})"
        default = route.props.get("destinationCidrBlock") or route.props.get("destinationIpv6CidrBlock")
        appliance = _appliance(route.props, default, route.deps)
        if appliance is not None:
            return "unverifiable", (
                f"routes {dest} to {appliance} (route {route.name}), an appliance whose path "
                "onward (possibly to an internet gateway) this rule cannot see"
            )
        if gw is UNKNOWN and not route.deps.get(gw_key):
            return "unknown", f"the gateway of route {route.name} is not known yet"
        return "ok", ""


def _appliance(route: Any, dest: Any, deps: Any) -> Optional[str]:
    """The appliance a default route leads to ("network interface eni-..."), or None.

    ``deps``: the route's property dependencies (a dict by property) or, for an inline route, whether the
    table's routes depend on anything; an unknown target that comes from a resource is still an appliance."""
    if not isinstance(route, dict) or dest not in DEFAULT_ROUTES:
        return None
    for key, kind in APPLIANCE_TARGETS:
        value = route.get(key)
        if isinstance(value, str) and value:
            return f"{kind} {value}"
        if value is UNKNOWN and (deps.get(key) if isinstance(deps, dict) else deps):
            return f"a {kind}"
    return None


def _subnet_label(subnet: Node) -> str:
    """A subnet's name, with its ID when it was read (an existing subnet is known by its ID)."""
    return f"{subnet.name} ({subnet.id})" if subnet.read and subnet.id and subnet.id not in subnet.name else subnet.name


def _validate(graph: Graph, cfg: Config, verdicts: Verdicts, report_violation: ReportViolation) -> None:
    subnets = _Subnets(graph, {str(s) for s in cfg.get("trustedSubnetIds") or []})
    strict = cfg.get("unverifiable") != "advisory"

    for res in graph.nodes:
        specs = PLACEMENTS.get(res.type)
        if not specs:
            continue
        if res.type in LB_SCHEMES:
            prop, internal_value = LB_SCHEMES[res.type]
            internal = res.props.get(prop)
            if internal is UNKNOWN:
                verdicts.cannot_judge(f"{res.label}: whether it is internal is not known yet")
                continue
            if internal != internal_value:
                continue  # internet-facing load balancers belong in public subnets (see internal-load-balancers)
        public: list[str] = []
        unverifiable: list[str] = []
        if res.type == COMPONENT:
            if has_cluster_child(graph, res):
                continue  # a real preview: the plugin's aws:eks/cluster:Cluster child is judged instead
            no_vpc = not collect(res.props, ["vpcId"])
            if no_vpc and not any(collect(res.props, [k]) for k in COMPONENT_PLACEMENT_KEYS):
                public.append(
                    "no VPC nor subnets given (vpcId; subnetIds, privateSubnetIds, publicSubnetIds): pulumi-eks "
                    "then places the control plane in the default VPC's subnets, which are public (a route to "
                    "its internet gateway, public IPs on launch); pass vpcId and private subnets as "
                    "privateSubnetIds"
                )
        for dep_key, path, what in specs:
            values = collect(res.props, path)
            if not values:
                continue
            found, unresolved = graph.resolve(res, dep_key, values, SUBNET_TYPES)
            for u in unresolved:
                if u in subnets.trusted:
                    continue
                unverifiable.append(f"{what}: {u} is not a subnet of this stack")
            for subnet in found:
                verdict, reasons = subnets.judge(subnet)
                if verdict == "public":
                    public += [f"{what}: {r}" for r in reasons]
                elif verdict == "unverifiable":
                    unverifiable += [f"{what}: {r}" for r in reasons]
                elif verdict == "unknown":
                    for r in reasons:
                        verdicts.cannot_judge(f"{res.label}: {r}")
        if public:
            report_violation("placed in a public subnet: " + "; ".join(_unique(public)), res.urn)
        if unverifiable:
            text = "cannot verify that its subnets are private: " + "; ".join(_unique(unverifiable))
            if strict:
                report_violation(text, res.urn)
            else:
                verdicts.cannot_judge(f"{res.label}: {text}")


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


POLICY = declare(NAME, DESCRIPTION, REMEDIATION, CONFIG, level="mandatory", severity="high", stack=_validate)
