"""Run a Pulumi program under mocks and record what it registers.

Shared by ``scripts/preview`` and the tests (``tests/conftest.py``), so both see the program the same way:
every registration with its type, name, parent, dependencies, property dependencies and inputs, as the
engine would receive them over the resource monitor protocol.
"""

from __future__ import annotations

import copy
import fnmatch
import hashlib
import ipaddress
import json
import re
import runpy
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import pulumi
from google.protobuf import json_format
from pulumi.runtime import mocks as pmocks
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # the engine's sentinel for an unknown value
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
SIG_KEY = "4dabf18193072939515e22adb298388d"
RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
ACCOUNT = "123456789012"
DEPLOYER_SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/platform-deployer/ci"  # who runs `pulumi up`
DEPLOYER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/ci/platform-deployer"
PROJECT = "hyperpod-platform"


@dataclass
class Registration:
    """One resource as the engine saw it."""

    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    read: bool
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    inputs: dict[str, Any]
    id: str = ""
    outputs: dict[str, Any] = field(default_factory=dict)
    protect: bool = False
    retain_on_delete: bool = False
    provider: str = ""
    """The provider reference the resource was registered with (``urn::id``); empty: the default provider."""
    remote: bool = False
    """A remote (multi-language) component: its plugin builds its children at deploy time; none under mocks."""


def _plain(value: Any) -> Any:
    """Turn engine-encoded values into plain JSON, with secrets and unknowns made visible."""
    if isinstance(value, dict):
        if value.get(SIG_KEY) == SECRET_SIG:
            return {"<secret>": _plain(value.get("value"))}
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if value == UNKNOWN:
        return "<unknown>"
    return value


def redact(value: Any, key: str = "") -> Any:
    """Replace every secret value with a marker: Pulumi secrets, and plain values that look like credentials by
    their shape (a private key, a token, a kubeconfig, an AWS secret key: ``hyperpod_platform.errors``) or sit
    under a key naming a password; a mapping key that is a credential is replaced too."""
    from hyperpod_platform.errors import password_like, value_looks_secret

    if isinstance(value, dict):
        if "<secret>" in value and len(value) == 1:
            return "<secret>"
        if "users" in value and ("clusters" in value or "contexts" in value):
            return "<secret>"  # a kubeconfig
        out = {}
        for i, (k, v) in enumerate(value.items()):
            shown_key = f"<secret key {i}>" if value_looks_secret(str(k), keys_in_text=False) else k
            out[shown_key] = redact(v, str(k))
        return out
    if isinstance(value, list):
        return [redact(v, key) for v in value]
    if isinstance(value, str) and (
        value_looks_secret(value, keys_in_text=False) or key and password_like(key) and value
    ):
        return "<secret>"
    return value


def _struct(msg) -> dict:
    return _plain(json_format.MessageToDict(msg, preserving_proto_field_name=True)) if msg else {}


def _short_id(prefix: str, name: str) -> str:
    return f"{prefix}-{hashlib.sha1(name.encode()).hexdigest()[:17]}"


EXISTING_VPC = "vpc-0123456789abcdef0"
"""The existing VPC of the mocks: every subnet id the mocks know (not containing "dead") lives in it."""
PUBLIC_SUBNET = "subnet-0b0b0b0b0b0b0b0b1"
"""An existing subnet explicitly associated with the VPC's public route table (0.0.0.0/0 and ::/0 to the IGW)."""
APPLIANCE_SUBNET = "subnet-0e0e0e0e0e0e0e0e0"
"""An existing subnet whose route table sends 0.0.0.0/0 to a firewall appliance's network interface."""


def existing_network() -> dict[str, Any]:
    """The existing VPC's route tables as EC2 describes them; a fresh copy (tests may edit it and set
    ``AwsMocks.existing_network``). ``subnets`` are the explicit associations; every other subnet of the VPC
    uses the table with ``main: True``."""
    return {
        "vpcs": {EXISTING_VPC: {"cidrBlock": "10.0.0.0/16", "mainRouteTableId": "rtb-0fedcba9876543210"}},
        "routeTables": {
            "rtb-0fedcba9876543210": {
                "vpcId": EXISTING_VPC,
                "main": True,
                "subnets": [],
                "routes": [{"cidrBlock": "0.0.0.0/0", "natGatewayId": "nat-0fedcba9876543210"}],
            },
            "rtb-0123456789abcdef0": {
                "vpcId": EXISTING_VPC,
                "main": False,
                "subnets": ["subnet-0123456789abcdef0"],
                "routes": [{"cidrBlock": "0.0.0.0/0", "natGatewayId": "nat-0123456789abcdef0"}],
            },
            "rtb-0b0b0b0b0b0b0b0b0": {
                "vpcId": EXISTING_VPC,
                "main": False,
                "subnets": [PUBLIC_SUBNET],
                "routes": [
                    {"cidrBlock": "0.0.0.0/0", "gatewayId": "igw-0123456789abcdef0"},
                    {"ipv6CidrBlock": "::/0", "gatewayId": "igw-0123456789abcdef0"},
                ],
            },
            "rtb-0e0e0e0e0e0e0e0e0": {
                "vpcId": EXISTING_VPC,
                "main": False,
                "subnets": [APPLIANCE_SUBNET],
                "routes": [
                    {"cidrBlock": "0.0.0.0/0", "networkInterfaceId": "eni-0e0e0e0e0e0e0e0e0"},
                    {"cidrBlock": "172.16.0.0/12", "transitGatewayId": "tgw-0123456789abcdef0"},
                ],
            },
        },
    }


# Every attribute of a route, as the provider reports it (unset: "").
_ROUTE_KEYS = (
    "carrierGatewayId",
    "cidrBlock",
    "coreNetworkArn",
    "destinationPrefixListId",
    "egressOnlyGatewayId",
    "gatewayId",
    "ipv6CidrBlock",
    "localGatewayId",
    "natGatewayId",
    "networkInterfaceId",
    "odbNetworkArn",
    "transitGatewayId",
    "vpcEndpointId",
    "vpcPeeringConnectionId",
)


def _assoc_id(subnet_id: str, rtb_id: str) -> str:
    return _short_id("rtbassoc", f"{subnet_id}/{rtb_id}")


AWS_SERVICE_ACCOUNT = "999999999999"
"""Stands for the AWS-owned accounts that own what services put in a VPC (a HyperPod node's instance, an
endpoint's ENI): never this stack's account."""
HYPERPOD_DESCRIPTION = "SageMaker HyperPod cluster {cluster} instance group {group} node {instance}"
"""How the model describes a HyperPod node's ENI in the customer VPC: AWS documents only that the description
contains the instance group's name (the AWS ML blog on login node load balancing: "Description : (Contains)
<instance group name>"); the words around it are the model's."""
NODE_INTERFACE_TYPES = ("interface", "efa")

# Filters of DescribeNetworkInterfaces the model answers, as EC2 names them, and the ENI's values for each.
_ENI_FILTERS: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    "vpc-id": lambda e: [e["VpcId"]],
    "subnet-id": lambda e: [e["SubnetId"]],
    "availability-zone": lambda e: [e["AvailabilityZone"]],
    "description": lambda e: [e["Description"]],
    "interface-type": lambda e: [e["InterfaceType"]],
    "requester-managed": lambda e: [str(e["RequesterManaged"]).lower()],
    "requester-id": lambda e: [e.get("RequesterId", "")],
    "group-id": lambda e: [g["GroupId"] for g in e["Groups"]],
    "network-interface-id": lambda e: [e["NetworkInterfaceId"]],
    "owner-id": lambda e: [e["OwnerId"]],
    "status": lambda e: [e["Status"]],
    "private-ip-address": lambda e: [a["PrivateIpAddress"] for a in e["PrivateIpAddresses"]],
    "addresses.private-ip-address": lambda e: [a["PrivateIpAddress"] for a in e["PrivateIpAddresses"]],
    "attachment.instance-id": lambda e: [e.get("Attachment", {}).get("InstanceId", "")],
    "attachment.instance-owner-id": lambda e: [e.get("Attachment", {}).get("InstanceOwnerId", "")],
}


def _matches(have: list[str], wanted: list[str]) -> bool:
    """EC2 filter semantics for one filter: any of the values, ``*`` and ``?`` as wildcards."""
    return any(fnmatch.fnmatchcase(h, str(w)) for h in have for w in wanted)


class AccountModel:
    """One model of the account's VPCs, from which every lookup of the mocks answers.

    It holds the existing network (:func:`existing_network`, plus the VPC, subnets and route tables the user's
    config names when the model does not know them), what the program registers (VPCs with their main route
    table, subnets, route tables, routes and associations), and what AWS adds by itself: the network
    interfaces of load balancers (one per subnet, ``ELB net/<name>/<id>``), interface endpoints (one per subnet,
    ``VPC Endpoint Interface vpce-...``), NAT gateways, Client VPN associations, directories, FSx, instances, and
    one per HyperPod node, ``instanceCount`` per instance group (see :data:`HYPERPOD_DESCRIPTION`). ENIs are kept
    in botocore's ``NetworkInterface`` shape and handed to the program with pulumi-aws's field names.

    Addresses: a HyperPod node's ENI gets the next address from the bottom of its subnet (from .32, in the
    cluster's order of groups and nodes), anything else the next from the top, so node addresses do not
    depend on the order in which the program's other resources register; a directory's ENIs hold its DNS
    addresses and an instance's its private IP, as the mocks compute them.
    """

    def __init__(self, region: str, network: dict[str, Any], config: Optional[dict[str, Any]] = None):
        self.region = region
        self.network = network
        self.network.setdefault("subnets", {})
        self.enis: dict[str, dict[str, Any]] = {}
        self._next: dict[tuple[str, bool], int] = {}
        self._lock = threading.Lock()
        self._adopt_config(config or {})

    # ---------------------------------------------------------------- what the user's config names
    def _adopt_config(self, config: dict[str, Any]) -> None:
        """An existing VPC of the config that the model does not know: it exists, with its private subnets (one
        AZ each, /24s of its CIDR), its route tables, and a main route table with a NAT default route."""
        net = config.get(f"{PROJECT}:network")
        if isinstance(net, str):
            try:
                net = json.loads(net)
            except ValueError:
                return
        if not isinstance(net, dict) or net.get("mode") != "existing" or not isinstance(net.get("vpcId"), str):
            return
        vpc = net["vpcId"]
        if vpc in self.network["vpcs"] or not re.match(r"^vpc-[0-9a-f]+$", vpc):
            return
        cidr = net.get("vpcCidr") if isinstance(net.get("vpcCidr"), str) else "10.0.0.0/16"
        try:
            blocks = ipaddress.ip_network(cidr, strict=False).subnets(new_prefix=24)
        except ValueError:
            return
        main = _short_id("rtb", vpc + "/main")
        nat = _short_id("nat", vpc + "/nat")
        self.network["vpcs"][vpc] = {"cidrBlock": cidr, "mainRouteTableId": main}
        self.network["routeTables"][main] = {
            "vpcId": vpc,
            "main": True,
            "subnets": [],
            "routes": [{"cidrBlock": "0.0.0.0/0", "natGatewayId": nat}],
        }
        for rtb in net.get("routeTableIds") or []:
            if isinstance(rtb, str) and rtb not in self.network["routeTables"]:
                self.network["routeTables"][rtb] = {
                    "vpcId": vpc,
                    "main": False,
                    "subnets": [],
                    "routes": [{"cidrBlock": "0.0.0.0/0", "natGatewayId": nat}],
                }
        # Subnets the existing network already places (its route tables' associations) stay in their own VPC:
        # naming them under another VPC is the user's mistake the config check must find.
        placed = {sid for t in self.network["routeTables"].values() for sid in t.get("subnets") or []}
        for i, sid in enumerate(s for s in net.get("privateSubnetIds") or [] if isinstance(s, str)):
            if sid not in self.network["subnets"] and sid not in placed and "dead" not in sid:
                self.network["subnets"][sid] = {
                    "vpcId": vpc,
                    "availabilityZone": f"{self.region}{'abcdef'[i % 6]}",
                    "cidrBlock": str(next(blocks)),
                    "mapPublicIpOnLaunch": False,
                }

    # ---------------------------------------------------------------- what the program registers
    def record(self, typ: str, rid: str, name: str, inputs: dict[str, Any], out: dict[str, Any]) -> None:
        """A resource the program created (``rid`` and ``out``: what the mocks computed for it)."""
        with self._lock:
            self._record(typ, rid, name, inputs, out)

    def _record(self, typ: str, rid: str, name: str, inputs: dict[str, Any], out: dict[str, Any]) -> None:
        tables = self.network["routeTables"]
        if typ == "aws:ec2/vpc:Vpc":
            main = out.get("mainRouteTableId") or _short_id("rtb", rid + "/main")
            self.network["vpcs"][rid] = {"cidrBlock": inputs.get("cidrBlock", ""), "mainRouteTableId": main}
            tables[main] = {"vpcId": rid, "main": True, "subnets": [], "routes": []}
        elif typ == "aws:ec2/subnet:Subnet":
            self.network["subnets"][rid] = {
                "vpcId": inputs.get("vpcId", ""),
                "availabilityZone": inputs.get("availabilityZone", ""),
                "cidrBlock": inputs.get("cidrBlock", ""),
                "mapPublicIpOnLaunch": bool(inputs.get("mapPublicIpOnLaunch", False)),
            }
        elif typ == "aws:ec2/routeTable:RouteTable":
            routes = [{k: v for k, v in r.items() if v} for r in inputs.get("routes") or [] if isinstance(r, dict)]
            tables[rid] = {"vpcId": inputs.get("vpcId", ""), "main": False, "subnets": [], "routes": routes}
        elif typ == "aws:ec2/defaultRouteTable:DefaultRouteTable" and rid in tables:
            routes = [{k: v for k, v in r.items() if v} for r in inputs.get("routes") or [] if isinstance(r, dict)]
            tables[rid]["routes"] = routes
        elif typ == "aws:ec2/route:Route" and inputs.get("routeTableId") in tables:
            route = {k: v for k, v in inputs.items() if k in _ROUTE_KEYS or k == "destinationCidrBlock"}
            if "destinationCidrBlock" in route:
                route["cidrBlock"] = route.pop("destinationCidrBlock")
            tables[inputs["routeTableId"]]["routes"].append(route)
        elif typ == "aws:ec2/routeTableAssociation:RouteTableAssociation" and inputs.get("routeTableId") in tables:
            if inputs.get("subnetId"):
                tables[inputs["routeTableId"]]["subnets"].append(inputs["subnetId"])
        elif typ == "aws:lb/loadBalancer:LoadBalancer":
            kind = {"network": "net", "gateway": "gwy"}.get(inputs.get("loadBalancerType", "application"), "app")
            subnets = list(inputs.get("subnets") or []) + [
                m.get("subnetId") for m in inputs.get("subnetMappings") or [] if isinstance(m, dict)
            ]
            for sid in subnets:
                self._eni(
                    f"{rid}/{sid}",
                    sid,
                    f"ELB {kind}/{out.get('name') or name}/{rid.rsplit('/', 1)[-1]}",
                    {"net": "network_load_balancer", "gwy": "gateway_load_balancer"}.get(kind, "interface"),
                    inputs.get("securityGroups") or [],
                    requester="amazon-elb",
                    attached_to=("amazon-elb", "amazon-elb", 1),
                )
        elif typ == "aws:ec2/vpcEndpoint:VpcEndpoint" and inputs.get("vpcEndpointType") in (
            "Interface",
            "GatewayLoadBalancer",
        ):
            for sid in inputs.get("subnetIds") or []:
                self._eni(
                    f"{rid}/{sid}",
                    sid,
                    f"VPC Endpoint Interface {rid}",
                    "vpc_endpoint" if inputs["vpcEndpointType"] == "Interface" else "gateway_load_balancer_endpoint",
                    inputs.get("securityGroupIds") or [],
                    requester=AWS_SERVICE_ACCOUNT,
                )
        elif typ == "aws:ec2/natGateway:NatGateway" and inputs.get("subnetId"):
            self._eni(
                rid,
                inputs["subnetId"],
                f"Interface for NAT Gateway {rid}",
                "natGateway",  # botocore's NetworkInterfaceType value for a NAT gateway's ENI
                [],
                requester=AWS_SERVICE_ACCOUNT,
            )
        elif typ == "aws:ec2clientvpn/networkAssociation:NetworkAssociation" and inputs.get("subnetId"):
            endpoint = inputs.get("clientVpnEndpointId", "")
            self._eni(
                rid,
                inputs["subnetId"],
                f"ClientVPN Endpoint resource {endpoint}",
                "interface",
                [],
                requester=AWS_SERVICE_ACCOUNT,
            )
        elif typ == "aws:directoryservice/directory:Directory":
            vpc = inputs.get("vpcSettings") or inputs.get("connectSettings") or {}
            groups = [out["securityGroupId"]] if out.get("securityGroupId") else []
            dns = list(out.get("dnsIpAddresses") or [])
            for sid in vpc.get("subnetIds") or []:
                # a domain controller's ENI holds the DNS address the directory reports in that subnet
                self._eni(
                    f"{rid}/{sid}",
                    sid,
                    f"AWS created network interface for directory {rid}",
                    "interface",
                    groups,
                    requester=AWS_SERVICE_ACCOUNT,
                    ip=next((a for a in dns if self._in_subnet(a, sid)), None),
                )
        elif typ == "aws:fsx/lustreFileSystem:LustreFileSystem":
            subnets = inputs.get("subnetIds") or []
            for sid in [subnets] if isinstance(subnets, str) else subnets:
                self._eni(
                    f"{rid}/{sid}",
                    sid,
                    f"ENI for Lustre file system {rid}",
                    "interface",
                    inputs.get("securityGroupIds") or [],
                    requester=AWS_SERVICE_ACCOUNT,
                )
        elif typ == "aws:ec2/instance:Instance" and inputs.get("subnetId"):
            sid = inputs["subnetId"]
            self._eni(
                rid,
                sid,
                "",
                "interface",
                inputs.get("vpcSecurityGroupIds") or [],
                attached_to=(rid, ACCOUNT, 0),
                managed=False,
                ip=out.get("privateIp") if self._in_subnet(out.get("privateIp"), sid) else None,
            )
        elif typ == "aws-native:sagemaker:Cluster":
            self._hyperpod_nodes(rid, inputs)

    def _hyperpod_nodes(self, arn: str, inputs: dict[str, Any]) -> None:
        cluster = arn.rsplit("/", 1)[-1]
        vpc = inputs.get("vpcConfig") or {}
        for group in inputs.get("instanceGroups") or []:
            own = group.get("overrideVpcConfig") or vpc
            subnets, groups = own.get("subnets") or [], own.get("securityGroupIds") or []
            name = group.get("instanceGroupName", "")
            for k in range(int(group.get("instanceCount") or 0)):
                if not subnets:
                    break
                instance = _short_id("i", f"{arn}/{name}/{k}")
                self._eni(
                    f"{arn}/{name}/{k}",
                    subnets[k % len(subnets)],
                    HYPERPOD_DESCRIPTION.format(cluster=cluster, group=name, instance=instance),
                    "interface",
                    groups,
                    requester=AWS_SERVICE_ACCOUNT,
                    attached_to=(instance, AWS_SERVICE_ACCOUNT, 0),
                    node=True,
                )

    def _in_subnet(self, ip: Any, sid: Any) -> bool:
        subnet = self.subnet(sid) if isinstance(sid, str) else None
        try:
            return bool(subnet) and ipaddress.ip_address(ip) in ipaddress.ip_network(subnet["cidrBlock"], strict=False)
        except ValueError:
            return False

    def _address(self, subnet: dict[str, Any], sid: str, node: bool, taken: set) -> str:
        """The next free address of the subnet: nodes from .32 up (below: the mocks' fixed addresses, e.g. a
        directory's DNS at .10), everything else from the top down. AWS keeps the first four and the last."""
        try:
            block = ipaddress.ip_network(subnet.get("cidrBlock", ""), strict=False)
        except ValueError:
            return ""
        while True:
            n = self._next.get((sid, node), 0)
            self._next[(sid, node)] = n + 1
            offset = 32 + n if node else block.num_addresses - 2 - n
            if not 4 <= offset < block.num_addresses - 1:
                return ""
            ip = str(block.network_address + offset)
            if ip not in taken:
                return ip

    def _eni(
        self,
        key: str,
        sid: str,
        description: str,
        interface_type: str,
        groups: list,
        *,
        requester: str = "",
        attached_to: Optional[tuple[str, str, int]] = None,
        managed: bool = True,
        node: bool = False,
        ip: Optional[str] = None,
    ) -> None:
        if not isinstance(sid, str) or sid == UNKNOWN:
            return
        subnet = self.subnet(sid)
        if subnet is None:
            return
        eni_id = _short_id("eni", key)
        taken = {e["PrivateIpAddress"] for e in self.enis.values()}
        if ip is None or ip in taken:
            ip = self._address(subnet, sid, node, taken)
        eni: dict[str, Any] = {
            "NetworkInterfaceId": eni_id,
            "Description": description,
            "InterfaceType": interface_type,
            "RequesterManaged": managed,
            "RequesterId": requester,
            "OwnerId": ACCOUNT,
            "VpcId": subnet["vpcId"],
            "SubnetId": sid,
            "AvailabilityZone": subnet["availabilityZone"],
            "Groups": [{"GroupId": g, "GroupName": g} for g in groups if isinstance(g, str)],
            "MacAddress": ":".join(["02"] + [eni_id[4 + 2 * i : 6 + 2 * i] for i in range(5)]),
            "PrivateIpAddress": ip,
            "PrivateDnsName": f"ip-{ip.replace('.', '-')}.ec2.internal" if ip else "",
            "PrivateIpAddresses": [{"Primary": True, "PrivateIpAddress": ip}] if ip else [],
            "Ipv6Addresses": [],
            "SourceDestCheck": True,
            "Status": "in-use",
            "TagSet": [],
        }
        if attached_to is not None:
            instance, owner, index = attached_to
            eni["Attachment"] = {
                "AttachmentId": _short_id("eni-attach", key),
                "DeviceIndex": index,
                "NetworkCardIndex": 0,
                "InstanceId": instance if instance.startswith("i-") else "",
                "InstanceOwnerId": owner,
                "Status": "attached",
                "DeleteOnTermination": True,
            }
        self.enis[eni_id] = eni

    # ---------------------------------------------------------------- what the lookups answer
    def subnet(self, sid: str) -> Optional[dict[str, Any]]:
        """A subnet the model knows (created, or named by the config), or one of EXISTING_VPC: AZ "a" for an even
        last hex digit, "b" for odd; ids with "dead" in them do not exist."""
        if not isinstance(sid, str) or "dead" in sid:
            return None
        if sid in self.network["subnets"]:
            return self.network["subnets"][sid]
        try:
            n = int(sid[-1], 16)
        except (ValueError, IndexError):
            return None
        return {
            "vpcId": EXISTING_VPC,
            "availabilityZone": f"{self.region}{'ab'[n % 2]}",
            "cidrBlock": f"10.0.{n}.0/24",
            "mapPublicIpOnLaunch": False,
        }

    def find_enis(self, filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """DescribeNetworkInterfaces with ``filters`` (an unknown filter name is an error, not a match)."""
        wanted = [(f["name"], [str(v) for v in f["values"]]) for f in filters or []]
        for name, _ in wanted:
            if name not in _ENI_FILTERS and not name.startswith("tag:"):
                raise Exception(f"mock getNetworkInterfaces: unsupported filter {name!r}")

        def have(eni: dict[str, Any], name: str) -> list[str]:
            if name.startswith("tag:"):
                return [t["Value"] for t in eni["TagSet"] if t["Key"] == name[4:]]
            return _ENI_FILTERS[name](eni)

        with self._lock:
            enis = list(self.enis.values())
        return [e for e in enis if all(_matches(have(e, n), v) for n, v in wanted)]

    def eni_for_pulumi(self, eni: dict[str, Any]) -> dict[str, Any]:
        """An ENI as pulumi-aws's getNetworkInterface returns it (its output names for botocore's fields)."""
        attached = eni.get("Attachment")
        return {
            "id": eni["NetworkInterfaceId"],
            "arn": f"arn:aws:ec2:{self.region}:{ACCOUNT}:network-interface/{eni['NetworkInterfaceId']}",
            "associations": [],
            "attachments": [
                {
                    "attachmentId": attached["AttachmentId"],
                    "deviceIndex": attached["DeviceIndex"],
                    "instanceId": attached["InstanceId"],
                    "instanceOwnerId": attached["InstanceOwnerId"],
                    "networkCardIndex": attached["NetworkCardIndex"],
                }
            ]
            if attached
            else [],
            "availabilityZone": eni["AvailabilityZone"],
            "description": eni["Description"],
            "enaSrdSpecifications": [],
            "interfaceType": eni["InterfaceType"],
            "ipv6Addresses": [],
            "macAddress": eni["MacAddress"],
            "outpostArn": "",
            "ownerId": eni["OwnerId"],
            "privateDnsName": eni["PrivateDnsName"],
            "privateIp": eni["PrivateIpAddress"],
            "privateIps": [a["PrivateIpAddress"] for a in eni["PrivateIpAddresses"]],
            "region": self.region,
            "requesterId": eni["RequesterId"],
            "securityGroups": [g["GroupId"] for g in eni["Groups"]],
            "subnetId": eni["SubnetId"],
            "tags": {t["Key"]: t["Value"] for t in eni["TagSet"]},
            "vpcId": eni["VpcId"],
        }


class AwsMocks(pmocks.Mocks):
    """Fake AWS: echoes inputs and adds the computed attributes the program reads.

    In preview mode computed attributes are unknown, exactly as in a first ``pulumi preview``.
    """

    existing_network: Optional[dict[str, Any]] = None
    """Route tables of the existing VPC (see :func:`existing_network`); None: the default data."""

    def __init__(self, region: str, preview: bool, config: Optional[dict[str, Any]] = None):
        self.region = region
        self.preview = preview
        self.calls: list[pmocks.MockCallArgs] = []
        self.network = copy.deepcopy(self.existing_network if self.existing_network is not None else existing_network())
        self.model = AccountModel(region, self.network, config)
        """The one model of the account every lookup answers from (``self.network`` is its existing part)."""

    # ---------------------------------------------------------------- existing buckets' policies (team_data)
    bucket_policies: dict[str, Optional[str]] = {}
    """Existing (data-account) buckets' current policies, by bucket name: the JSON S3 holds; a bucket not named
    here, or None, has no policy. Tests set it (monkeypatch) to model the data account."""

    def _bucket_policy(self, bucket: str) -> str:
        """``policy`` of a Bucket.get() read as the provider returns it: GetBucketPolicy's document, or "" when
        the bucket has none (NoSuchBucketPolicy is not an error for the read, only for the getBucketPolicy
        data source)."""
        return self.bucket_policies.get(bucket) or ""

    # ---------------------------------------------------------------- the existing VPC
    def _subnet(self, sid: str) -> Optional[dict[str, Any]]:
        """A subnet as getSubnet / Subnet.get() return it, from the model (:meth:`AccountModel.subnet`)."""
        subnet = self.model.subnet(sid)
        if subnet is None:
            return None
        return {
            "id": sid,
            "vpcId": subnet["vpcId"],
            "availabilityZone": subnet["availabilityZone"],
            "availabilityZoneId": f"use1-az{ord(subnet['availabilityZone'][-1:] or 'a') - 96}",
            "cidrBlock": subnet["cidrBlock"],
            "mapPublicIpOnLaunch": subnet["mapPublicIpOnLaunch"],
            "assignIpv6AddressOnCreation": False,
            "defaultForAz": False,
            "state": "available",
            "arn": self._arn("ec2", f"subnet/{sid}"),
            "ownerId": ACCOUNT,
            "tags": {},
            "tagsAll": {},
        }

    def _routes(self, table: dict[str, Any]) -> list[dict[str, str]]:
        return [{k: r.get(k, "") for k in _ROUTE_KEYS} for r in table["routes"]]

    def _route_table_state(self, rtb_id: str, table: dict[str, Any]) -> dict[str, Any]:
        """A route table read with RouteTable.get(): its routes, no associations (the resource has none)."""
        return {
            "id": rtb_id,
            "arn": self._arn("ec2", f"route-table/{rtb_id}"),
            "ownerId": ACCOUNT,
            "vpcId": table["vpcId"],
            "routes": self._routes(table),
            "propagatingVgws": [],
            "region": self.region,
            "tags": {},
            "tagsAll": {},
        }

    def _read(self, typ: str, rid: str, inputs: dict) -> Optional[dict[str, Any]]:
        """State of a .get() read of the existing network, as the provider returns it; None: not modelled."""
        tables = self.network["routeTables"]
        if typ == "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock":  # an existing (data) bucket's
            flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
            return {"id": rid, "bucket": rid, **{f: True for f in flags}}
        if typ == "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration":
            sse = {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}, "bucketKeyEnabled": True}
            return {"id": rid, "bucket": rid, "rules": [sse]}
        if typ == "aws:s3/bucket:Bucket":
            state = {"id": rid, "bucket": rid, "arn": f"arn:aws:s3:::{rid}", "region": self.region}
            return {**state, "policy": self._bucket_policy(rid)}
        if typ == "aws:ec2/vpc:Vpc" and rid in self.network["vpcs"]:
            vpc = self.network["vpcs"][rid]
            return {
                "id": rid,
                "arn": self._arn("ec2", f"vpc/{rid}"),
                "cidrBlock": vpc["cidrBlock"],
                "mainRouteTableId": vpc["mainRouteTableId"],
                "defaultRouteTableId": vpc["mainRouteTableId"],
                "defaultSecurityGroupId": _short_id("sg", rid + "/default"),
                "defaultNetworkAclId": _short_id("acl", rid + "/default"),
                "enableDnsHostnames": True,
                "enableDnsSupport": True,
                "instanceTenancy": "default",
                "ownerId": ACCOUNT,
                "tags": {},
                "tagsAll": {},
            }
        if typ == "aws:ec2/subnet:Subnet":
            subnet = self._subnet(rid)
            if subnet is None:
                raise Exception(f"reading EC2 Subnet ({rid}): couldn't find resource")
            return {**subnet, **inputs, "id": rid}  # state passed to .get() wins: test programs set it
        if typ == "aws:ec2/routeTable:RouteTable":
            if rid not in tables:
                raise Exception(f"reading Route Table ({rid}): couldn't find resource")
            return self._route_table_state(rid, tables[rid])
        if typ == "aws:ec2/routeTableAssociation:RouteTableAssociation":
            # .get() runs the provider's importer: "<subnet id>/<route table id>", explicit associations only.
            target, _, rtb_id = rid.partition("/")
            if rtb_id not in tables:
                raise Exception(f"reading Route Table ({rtb_id}): couldn't find resource")
            if target not in tables[rtb_id]["subnets"]:
                raise Exception(f"No association found between route table ID {rtb_id} and target ID {target}")
            return {
                "id": _assoc_id(target, rtb_id),
                "subnetId": target,
                "routeTableId": rtb_id,
                "gatewayId": "",
                "region": self.region,
            }
        return None

    def _get_route_table(self, a: dict[str, Any]):
        """aws:ec2/getRouteTable: DescribeRouteTables with the given filters; exactly one table, or a failure."""
        filters = {f["name"]: [str(v) for v in f["values"]] for f in a.get("filters") or []}
        for key, name in (
            ("routeTableId", "route-table-id"),
            ("vpcId", "vpc-id"),
            ("subnetId", "association.subnet-id"),
        ):
            if a.get(key):
                filters.setdefault(name, []).append(a[key])
        unsupported = set(filters) - {"route-table-id", "vpc-id", "association.subnet-id", "association.main"}
        if unsupported:
            raise Exception(f"mock getRouteTable: unsupported filters {sorted(unsupported)}")

        def matches(rtb_id: str, t: dict[str, Any]) -> bool:
            has = {
                "route-table-id": [rtb_id],
                "vpc-id": [t["vpcId"]],
                "association.subnet-id": t["subnets"],
                "association.main": (["true"] if t["main"] else []) + (["false"] if t["subnets"] else []),
            }
            return all(set(values) & set(has[name]) for name, values in filters.items())

        found = [(rid, t) for rid, t in self.network["routeTables"].items() if matches(rid, t)]
        if len(found) != 1:
            reason = (
                "no matching EC2 Route Table found"
                if not found
                else "multiple EC2 Route Tables matched; use additional constraints to reduce matches to a "
                "single EC2 Route Table"
            )
            return {}, [("", reason)]
        rtb_id, t = found[0]
        associations = (
            [
                {
                    "main": True,
                    "routeTableAssociationId": _assoc_id("main", rtb_id),
                    "routeTableId": rtb_id,
                    "subnetId": "",
                    "gatewayId": "",
                }
            ]
            if t["main"]
            else []
        )
        associations += [
            {
                "main": False,
                "routeTableAssociationId": _assoc_id(s, rtb_id),
                "routeTableId": rtb_id,
                "subnetId": s,
                "gatewayId": "",
            }
            for s in t["subnets"]
        ]
        return {
            "id": rtb_id,
            "routeTableId": rtb_id,
            "arn": self._arn("ec2", f"route-table/{rtb_id}"),
            "ownerId": ACCOUNT,
            "vpcId": t["vpcId"],
            "subnetId": a.get("subnetId") or "",
            "gatewayId": a.get("gatewayId") or "",
            "region": self.region,
            "tags": {},
            "filters": a.get("filters"),
            "associations": associations,
            "routes": [{**r, "instanceId": ""} for r in self._routes(t)],
        }

    def _find_subnets(self, filters: list[dict[str, Any]]) -> list[str]:
        """DescribeSubnets over the subnets the model knows (created, or named by the config)."""
        names = {"vpc-id": "vpcId", "availability-zone": "availabilityZone", "cidr-block": "cidrBlock"}
        unsupported = {f["name"] for f in filters} - set(names) - {"subnet-id"}
        if unsupported:
            raise Exception(f"mock getSubnets: unsupported filters {sorted(unsupported)}")
        return sorted(
            sid
            for sid, sub in self.network["subnets"].items()
            if all(
                _matches([sid] if f["name"] == "subnet-id" else [str(sub[names[f["name"]]])], f["values"])
                for f in filters
            )
        )

    def _get_vpc(self, a: dict[str, Any]):
        """aws:ec2/getVpc by id (or ``vpc-id`` filter): a VPC of the model."""
        ids = [a["id"]] if a.get("id") else []
        ids += [v for f in a.get("filters") or [] if f["name"] == "vpc-id" for v in f["values"]]
        found = [v for v in self.network["vpcs"] if not ids or v in ids]
        if len(found) != 1:
            return {}, [("", "no matching EC2 VPC found" if not found else "multiple EC2 VPCs matched")]
        vid, vpc = found[0], self.network["vpcs"][found[0]]
        return {
            "id": vid,
            "arn": self._arn("ec2", f"vpc/{vid}"),
            "cidrBlock": vpc["cidrBlock"],
            "cidrBlockAssociations": [
                {
                    "associationId": _short_id("vpc-cidr-assoc", vid),
                    "cidrBlock": vpc["cidrBlock"],
                    "state": "associated",
                }
            ],
            "default": False,
            "dhcpOptionsId": _short_id("dopt", vid),
            "enableDnsHostnames": True,
            "enableDnsSupport": True,
            "enableNetworkAddressUsageMetrics": False,
            "instanceTenancy": "default",
            "ipv6AssociationId": "",
            "ipv6CidrBlock": "",
            "mainRouteTableId": vpc["mainRouteTableId"],
            "ownerId": ACCOUNT,
            "region": self.region,
            "state": "available",
            "tags": {},
        }

    def _arn(self, service: str, resource: str, region: bool = True) -> str:
        return f"arn:aws:{service}:{self.region if region else ''}:{ACCOUNT}:{resource}"

    def computed(self, typ: str, name: str, inputs: dict) -> tuple[str, dict]:
        r = self.region
        out: dict[str, Any] = {}
        if typ == "aws:ec2/vpc:Vpc":
            rid = _short_id("vpc", name)
            # AWS creates the VPC's main route table (its default one), default security group and network ACL
            out = {
                "arn": self._arn("ec2", f"vpc/{rid}"),
                "mainRouteTableId": _short_id("rtb", name + "m"),
                "defaultRouteTableId": _short_id("rtb", name + "m"),
                "defaultSecurityGroupId": _short_id("sg", rid + "/default"),
                "defaultNetworkAclId": _short_id("acl", rid + "/default"),
            }
        elif typ == "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup":
            rid = _short_id("sg", f"{inputs.get('vpcId')}/default")  # adopts the VPC's default group
            out = {"arn": self._arn("ec2", f"security-group/{rid}")}
        elif typ == "aws:ec2/defaultRouteTable:DefaultRouteTable":
            rid = str(inputs.get("defaultRouteTableId") or _short_id("rtb", name))  # adopts the VPC's table
        elif typ in ("aws:ec2/managedPrefixList:ManagedPrefixList", "aws-native:ec2:PrefixList"):
            rid = _short_id("pl", name)
            out = {"arn": self._arn("ec2", f"prefix-list/{rid}")}
            if typ.startswith("aws-native"):
                out["prefixListId"] = rid
        elif typ == "aws:ec2/subnet:Subnet":
            rid = _short_id("subnet", name)
            out = {"arn": self._arn("ec2", f"subnet/{rid}")}
        elif typ == "aws:ec2/securityGroup:SecurityGroup":
            rid = _short_id("sg", name)
            out = {"arn": self._arn("ec2", f"security-group/{rid}")}
        elif typ == "aws:ec2/routeTable:RouteTable":
            rid = _short_id("rtb", name)
        elif typ == "aws:ec2/internetGateway:InternetGateway":
            rid = _short_id("igw", name)
        elif typ == "aws:ec2/natGateway:NatGateway":
            rid = _short_id("nat", name)
        elif typ == "aws:ec2/eip:Eip":
            rid = _short_id("eipalloc", name)
            out = {"allocationId": rid, "publicIp": "203.0.113.10"}
        elif typ == "aws:ec2/vpcEndpoint:VpcEndpoint":
            rid = _short_id("vpce", name)
        elif typ == "aws:fsx/lustreFileSystem:LustreFileSystem":
            rid = _short_id("fs", name)
            out = {
                "dnsName": f"{rid}.fsx.{r}.amazonaws.com",
                "mountName": "abcdefgh",
                "arn": self._arn("fsx", f"file-system/{rid}"),
            }
        elif typ == "aws:s3/bucket:Bucket":
            bucket = inputs.get("bucket") or (inputs.get("bucketPrefix", "bucket-") + "20261122abcdef")
            rid = bucket
            out = {"bucket": bucket, "arn": f"arn:aws:s3:::{bucket}"}
        elif typ == "aws:iam/role:Role":
            role = inputs.get("name") or name + "-1a2b3c"
            rid = role
            out = {"arn": f"arn:aws:iam::{ACCOUNT}:role/{role}", "name": role, "uniqueId": "AROAEXAMPLE"}
        elif typ == "aws:cloudwatch/logGroup:LogGroup":
            rid = inputs.get("name") or name
            out = {"arn": self._arn("logs", f"log-group:{rid}")}
        elif typ == "aws:lb/loadBalancer:LoadBalancer":
            rid = self._arn("elasticloadbalancing", f"loadbalancer/net/{name}/0123456789abcdef")
            out = {"arn": rid, "dnsName": f"{name}-0123456789abcdef.elb.{r}.amazonaws.com"}
        elif typ == "aws:lb/targetGroup:TargetGroup":
            rid = self._arn("elasticloadbalancing", f"targetgroup/{name}/0123456789abcdef")
            out = {"arn": rid}
        elif typ == "aws:secretsmanager/secret:Secret":
            rid = self._arn("secretsmanager", f"secret:{name}-AbCdEf")
            out = {"arn": rid}
        elif typ == "tls:index/privateKey:PrivateKey":
            rid = _short_id("key", name)
            kind = inputs.get("algorithm", "ED25519").lower()
            out = {
                "privateKeyOpenssh": f"-----BEGIN OPENSSH PRIVATE KEY-----\nMOCK{rid}\n"
                f"-----END OPENSSH PRIVATE KEY-----\n",
                "publicKeyOpenssh": f"ssh-{kind} AAAAMOCK{rid}\n",
                "privateKeyPem": f"-----BEGIN PRIVATE KEY-----\nMOCK{rid}\n-----END PRIVATE KEY-----\n",
            }
        elif typ in ("tls:index/selfSignedCert:SelfSignedCert", "tls:index/locallySignedCert:LocallySignedCert"):
            rid = _short_id("cert", name)
            out = {"certPem": f"-----BEGIN CERTIFICATE-----\nMOCK{rid}\n-----END CERTIFICATE-----\n"}
        elif typ == "tls:index/certRequest:CertRequest":
            rid = _short_id("csr", name)
            out = {
                "certRequestPem": f"-----BEGIN CERTIFICATE REQUEST-----\nMOCK{rid}\n-----END CERTIFICATE REQUEST-----\n"
            }
        elif typ == "aws:ec2/instance:Instance":
            rid = _short_id("i", name)
            out = {"publicIp": "203.0.113.20", "privateIp": "10.20.192.10"}
        elif typ == "aws:ec2clientvpn/endpoint:Endpoint":
            rid = _short_id("cvpn-endpoint", name)
            out = {"dnsName": f"*.{rid}.prod.clientvpn.{r}.amazonaws.com"}
        elif typ == "aws:directoryservice/directory:Directory":
            rid = "d-" + hashlib.sha1(name.encode()).hexdigest()[:10]
            out = {
                "dnsIpAddresses": ["10.20.64.10", "10.20.0.10"],
                "securityGroupId": _short_id("sg", name + "dc"),
                "accessUrl": f"{rid}.awsapps.com",
            }
        elif typ == "aws:acm/certificate:Certificate":
            rid = self._arn(
                "acm", f"certificate/{hashlib.sha1(name.encode()).hexdigest()[:8]}-0000-4000-8000-000000000000"
            )
            out = {"arn": rid}
        elif typ == "random:index/randomPassword:RandomPassword":
            rid = "none"
            out = {"result": "Mock-" + hashlib.sha256(name.encode()).hexdigest()[:24] + "-Aa1!"}
        elif typ == "pulumi-python:dynamic:Resource" and "groups" in inputs and "bind_user" in inputs:
            rid = f"{inputs.get('directory_id')}/contents"
            base = "OU=Users,OU=MOCK,DC=mock,DC=example"
            out = {
                "bind_dn": f"CN={inputs['bind_user']},{base}",
                "group_dns": {g: f"CN={g},{base}" for g in inputs.get("groups") or []},
            }
        elif typ == "eks:index:Cluster":  # the remote component's outputs a program reads
            rid = ""
            cluster = inputs.get("name") or name
            out = {"kubeconfigJson": _kubeconfig(cluster, r), "clusterSecurityGroupId": "sg-0eks0cluster0000"}
        elif typ == "aws:eks/podIdentityAssociation:PodIdentityAssociation":
            rid = _short_id("a", name)  # EKS's association id; externalId goes in a target role's trust
            out = {"associationId": rid, "externalId": hashlib.sha1(f"{name}/external".encode()).hexdigest()[:36]}
        elif typ == "aws-native:sagemaker:Cluster":
            rid = self._arn("sagemaker", "cluster/abcdef123456")
            out = {"clusterArn": rid, "clusterStatus": "InService"}
        else:
            rid = _short_id(typ.split(":")[-1].lower()[:8], name)
        out.setdefault("arn", self._arn(typ.split(":")[1].split("/")[0], f"{name}"))
        out.setdefault("name", inputs.get("name") or name)
        out["id"] = rid
        return rid, out

    def new_resource(self, args: pmocks.MockResourceArgs):
        if args.resource_id:
            state = self._read(args.typ, args.resource_id, args.inputs)
            if state is not None:
                return state["id"], state
        rid, computed = self.computed(args.typ, args.name, args.inputs)
        if args.resource_id:  # a .get() read: the state comes from the provider
            rid = args.resource_id
            computed["id"] = rid
        # A remote component's outputs are its own (pulumi-eks does not echo its inputs); echoing them would
        # hand back resource references, whose rehydration outlives the run that started it.
        echoed = {} if args.typ in REMOTE_OUTPUTS_ONLY else args.inputs
        if not self.preview and not args.resource_id:  # in a first preview nothing exists yet
            self.model.record(args.typ, rid, args.name, args.inputs, computed)
        if self.preview and not args.resource_id:
            computed = {k: UNKNOWN for k in computed}
            return "", {**echoed, **computed}
        return rid, {**echoed, **computed}

    def call(self, args: pmocks.MockCallArgs):
        self.calls.append(args)
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT, "arn": DEPLOYER_SESSION, "userId": "AROAEXAMPLE:ci"}
        if args.token == "aws:iam/getSessionContext:getSessionContext":
            # An assumed-role session's issuer is the role, whose ARN keeps the path the session ARN drops.
            issuer = DEPLOYER_ROLE if args.args["arn"] == DEPLOYER_SESSION else args.args["arn"]
            return {
                "arn": args.args["arn"],
                "issuerArn": issuer,
                "issuerName": issuer.rsplit("/", 1)[-1],
                "id": args.args["arn"],
            }
        if args.token == "aws:index/getRegion:getRegion":
            return {"name": self.region, "region": self.region, "id": self.region}
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com"}
        if args.token == "aws:directoryservice/getDirectory:getDirectory":
            return {
                "id": args.args["directoryId"],
                "directoryId": args.args["directoryId"],
                "name": "corp.example.com",
                "dnsIpAddresses": ["10.20.0.53", "10.20.64.53"],
                "securityGroupId": "sg-0directory00000001",
            }
        if args.token == "aws:ec2/getSubnet:getSubnet":
            # An existing VPC's subnets (see _subnet); ids with "dead" in them do not exist.
            sid = args.args["id"]
            subnet = self._subnet(sid)
            if subnet is None:  # a failed read, as the provider reports it
                return {}, [("id", f"InvalidSubnetID.NotFound: The subnet ID '{sid}' does not exist")]
            return subnet
        if args.token == "aws:ec2/getRouteTable:getRouteTable":
            return self._get_route_table(args.args)
        if args.token == "aws:ssm/getParameter:getParameter":
            return {
                "name": args.args["name"],
                "value": "ami-0123456789abcdef0",
                "type": "String",
                "id": args.args["name"],
            }
        if args.token == "aws:ec2/getNetworkInterfaces:getNetworkInterfaces":
            found = self.model.find_enis(args.args.get("filters") or [])
            # EC2 answers in no particular order: reversed, so that code relying on the order is caught.
            return {
                "id": self.region,
                "ids": sorted((e["NetworkInterfaceId"] for e in found), reverse=True),
                "filters": args.args.get("filters"),
                "region": self.region,
                "tags": {},
            }
        if args.token == "aws:ec2/getNetworkInterface:getNetworkInterface":
            filters = list(args.args.get("filters") or [])
            if args.args.get("id"):
                filters.append({"name": "network-interface-id", "values": [args.args["id"]]})
            found = self.model.find_enis(filters)
            if len(found) != 1:
                return {}, [("", "no matching EC2 Network Interface found" if not found else "multiple matched")]
            return {**self.model.eni_for_pulumi(found[0]), "filters": args.args.get("filters")}
        if args.token == "aws:ec2/getSubnets:getSubnets":
            return {"id": self.region, "ids": self._find_subnets(args.args.get("filters") or []), "region": self.region}
        if args.token == "aws:ec2/getVpc:getVpc":
            return self._get_vpc(args.args)
        if args.token == "aws:ec2/getRouteTables:getRouteTables":
            filters = list(args.args.get("filters") or [])
            if args.args.get("vpcId"):
                filters.append({"name": "vpc-id", "values": [args.args["vpcId"]]})
            tables = self.network["routeTables"]
            ids = [
                rid
                for rid, t in tables.items()
                if all(
                    _matches(
                        {
                            "vpc-id": [t["vpcId"]],
                            "route-table-id": [rid],
                            "association.subnet-id": t["subnets"],
                            "association.main": ["true" if t["main"] else "false"],
                        }.get(f["name"], [""]),
                        f["values"],
                    )
                    for f in filters
                )
            ]
            return {"id": self.region, "ids": sorted(ids), "region": self.region}
        return {}


def _refs_as_ids(request):
    """``request`` with every resource reference in its inputs replaced by the resource's id (or URN) for the
    mocks. The SDK's MockMonitor would rebuild a referenced resource on its own thread, whose event loop is not
    the program's: the rebuilt resource's registration then fails or hangs the run. The recorded inputs keep
    the reference as the engine saw it."""
    from google.protobuf import struct_pb2

    def plain(value: struct_pb2.Value) -> None:
        kind = value.WhichOneof("kind")
        if kind == "struct_value":
            fields = value.struct_value.fields
            if SIG_KEY in fields and fields[SIG_KEY].string_value == RESOURCE_SIG:
                ref = fields.get("id") if "id" in fields and fields["id"].string_value else fields.get("urn")
                value.string_value = ref.string_value if ref is not None else ""
                return
            for v in fields.values():
                plain(v)
        elif kind == "list_value":
            for v in value.list_value.values:
                plain(v)

    copy = type(request)()
    copy.CopyFrom(request)
    for v in copy.object.fields.values():
        plain(v)
    return copy


class RecordingMonitor(pmocks.MockMonitor):
    """A MockMonitor that keeps each registration as the engine would see it."""

    def __init__(self, mocks: pmocks.Mocks, on_record: Optional[Callable[[Registration], None]] = None):
        super().__init__(mocks)
        self.registrations: list[Registration] = []
        self.by_urn: dict[str, Registration] = {}
        self.on_record = on_record  # called with each registration as it is recorded (from the SDK's threads)

    def _record(self, reg: Registration):
        self.registrations.append(reg)
        self.by_urn[reg.urn] = reg
        if self.on_record is not None:
            self.on_record(reg)

    def RegisterResource(self, request):
        resp = super().RegisterResource(_refs_as_ids(request))
        if request.type == "pulumi:pulumi:Stack":
            return resp
        self._record(
            Registration(
                urn=resp.urn,
                type=request.type,
                name=request.name,
                parent=request.parent,
                custom=bool(request.custom),
                read=False,
                dependencies=list(request.dependencies),
                property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items()},
                inputs=_struct(request.object),
                id=resp.id,
                outputs=_struct(resp.object),
                protect=bool(request.protect),
                retain_on_delete=bool(request.retainOnDelete),
                provider=request.provider,
                remote=bool(request.remote),
            )
        )
        return resp

    def ReadResource(self, request):
        resp = super().ReadResource(request)
        self._record(
            Registration(
                urn=resp.urn,
                type=request.type,
                name=request.name,
                parent=request.parent,
                custom=True,
                read=True,
                dependencies=list(request.dependencies),
                property_dependencies={},
                inputs=_struct(request.properties),
                id=request.id,
                outputs=_struct(resp.properties),
                provider=request.provider,
            )
        )
        return resp


REMOTE_OUTPUTS_ONLY = {"eks:index:Cluster"}
"""Remote components whose mocked outputs are only what the harness computes for them."""


def _kubeconfig(cluster: str, region: str) -> str:
    """A kubeconfig (JSON) as pulumi-eks outputs it: token from ``aws eks get-token``, no key material."""
    user = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "aws",
            "args": ["eks", "get-token", "--cluster-name", cluster, "--region", region],
        }
    }
    server = f"https://{cluster}.gr7.{region}.eks.amazonaws.com"
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": cluster, "cluster": {"server": server, "certificate-authority-data": "TU9DSw=="}}],
            "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": cluster}}],
            "current-context": cluster,
            "users": [{"name": cluster, "user": user}],
        }
    )


@dataclass
class RunResult:
    """What a program run under mocks produced."""

    registrations: list[Registration]
    outputs: dict[str, Any]
    error: Optional[BaseException]
    calls: list = field(default_factory=list)
    """Invokes the program made (token and args), in order."""

    def of_type(self, typ: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == typ]

    def one(self, typ: str) -> Registration:
        found = self.of_type(typ)
        assert len(found) == 1, f"expected one {typ}, found {[r.name for r in found]}"
        return found[0]

    def named(self, name: str, typ: Optional[str] = None) -> Registration:
        """The one resource called ``name`` (of type ``typ``); ambiguity is an error, not a coin toss."""
        found = [r for r in self.registrations if r.name == name and (typ is None or r.type == typ)]
        assert len(found) == 1, f"expected one resource named {name!r}, found {[r.type for r in found]}"
        return found[0]


STACK_FILE_MAX_BYTES = 4 * 1024 * 1024
"""A stack file larger than this is refused before it is parsed (the shipped ones are a few KiB)."""
STACK_FILE_MAX_DEPTH = 64
"""Nesting of mappings and lists deeper than this is refused from the parser's events, before anything is composed."""
STACK_FILE_MAX_ALIASES = 1000
"""Alias uses (``*name``) in one stack file."""
STACK_FILE_MAX_NODES = 200_000
"""Values in the document with every alias expanded (an alias bomb is refused before anything expands it)."""
CORE_TAGS = frozenset(f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "map", "seq", "merge"))
"""The tags of YAML 1.2's core schema (Go yaml.v3, which the Pulumi CLI reads stack files with), plus merge keys."""
_YAML_TAG_NAMES = {"tag:yaml.org,2002:": "!!"}


class StackFileError(ValueError):
    """A stack file that cannot be read as the Pulumi CLI reads it, or that exceeds the reader's limits. Its text
    is ``<file>: line N: <what>. Fix: <how>``, one line per problem; values are never shown, only keys and lines."""

    def __init__(self, name: str, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(f"{name}: {p}" for p in problems))


def _tag_name(tag: str) -> str:
    for long, short in _YAML_TAG_NAMES.items():
        if tag.startswith(long):
            return short + tag[len(long) :]
    return tag


def _key_text(key: str) -> str:
    """A key as it may appear in a message: never a credential pasted as a key, never a page of text."""
    from hyperpod_platform.errors import looks_secret

    if looks_secret("", key) or len(key) > 128 or any(not c.isprintable() for c in key):
        return f"<a key of {len(key)} characters, not shown>"
    return key


def _stack_yaml_loader():
    """A YAML loader that reads scalars as the Pulumi CLI does (YAML 1.2 core, Go yaml.v3): only true/false
    are booleans (``yes``, ``on`` stay strings), dates, ``=`` and sexagesimal numbers (``1:20``) stay strings.
    libyaml's parser and composer when PyYAML has them (a few MiB in a second), else PyYAML's own.

    Read a stack file with :func:`config_from_stack_file`, which scans the events for the limits first
    (:func:`_scan_stack_events`): composing an alias bomb is cheap, but anything that expands it is not."""
    import yaml

    if yaml.__with_libyaml__:

        class Loader(yaml.cyaml.CParser, yaml.constructor.SafeConstructor, yaml.resolver.Resolver):
            def __init__(self, stream):
                yaml.cyaml.CParser.__init__(self, stream)
                yaml.constructor.SafeConstructor.__init__(self)
                yaml.resolver.Resolver.__init__(self)

    else:  # pragma: no cover - PyYAML without libyaml

        class Loader(yaml.SafeLoader):  # type: ignore[no-redef]
            pass

    dropped = ("bool", "timestamp", "value", "int", "float")
    Loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag.rsplit(":", 1)[1] not in dropped]
        for first, resolvers in yaml.resolver.Resolver.yaml_implicit_resolvers.items()
    }
    Loader.add_implicit_resolver(
        "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
    )
    Loader.add_implicit_resolver(  # no sexagesimal 1:20 (YAML 1.1 only)
        "tag:yaml.org,2002:int",
        re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"),
        list("-+0123456789"),
    )
    Loader.add_implicit_resolver(  # YAML 1.2 floats (1e3 too), .inf and .nan (refused later, by name)
        "tag:yaml.org,2002:float",
        re.compile(
            r"^(?:[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?|[-+]?\.[0-9_]+(?:[eE][-+]?[0-9]+)?"
            r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
        ),
        list("-+0123456789."),
    )
    return Loader


class StackFileLimit(Exception):
    """Raised while composing: (line, why, fix)."""

    def __init__(self, line: int, why: str, fix: str):
        super().__init__(line, why, fix)
        self.line, self.why, self.fix = line, why, fix


def _scan_stack_events(text: str, loader) -> None:
    """The limits, from the parser's events, before any node is composed: nesting depth, values, alias uses, the
    size with every alias expanded (each anchor's expanded size is summed as its events pass, so a bomb is
    measured without expanding it), and aliases inside the value they name. Raises :class:`StackFileLimit`."""
    import yaml

    depth = values = aliases = expanded = 0
    sizes: dict[str, int] = {}  # anchor -> its value's size with aliases expanded
    open_: list[list] = []  # [anchor, expanded size so far] of each collection being read
    starts, ends = (yaml.SequenceStartEvent, yaml.MappingStartEvent), (yaml.SequenceEndEvent, yaml.MappingEndEvent)

    def add(n: int) -> None:
        if open_:
            open_[-1][1] += n

    for event in yaml.parse(text, Loader=loader):
        line = event.start_mark.line + 1
        if isinstance(event, (yaml.ScalarEvent, *starts)):
            values += 1
            expanded += 1
            if values > STACK_FILE_MAX_NODES:
                raise StackFileLimit(
                    line,
                    f"holds more than {STACK_FILE_MAX_NODES} values",
                    "a stack file holds config only; keep large content in files of their own",
                )
        if isinstance(event, starts):
            depth += 1
            if depth > STACK_FILE_MAX_DEPTH:
                raise StackFileLimit(
                    line,
                    f"nests mappings and lists more than {STACK_FILE_MAX_DEPTH} levels deep",
                    "flatten the config; no setting of this stack is nested that deep",
                )
            open_.append([event.anchor, 1])
        elif isinstance(event, ends):
            depth -= 1
            anchor, n = open_.pop()
            if anchor:
                sizes[anchor] = n
            add(n)
        elif isinstance(event, yaml.ScalarEvent):
            if event.anchor:
                sizes[event.anchor] = 1
            add(1)
        elif isinstance(event, yaml.AliasEvent):
            aliases += 1
            if any(anchor == event.anchor for anchor, _ in open_):
                raise StackFileLimit(
                    line,
                    f"the alias *{event.anchor} refers to a value that contains it (a recursive alias)",
                    f"write the value out instead of *{event.anchor}",
                )
            if aliases > STACK_FILE_MAX_ALIASES:
                raise StackFileLimit(
                    line,
                    f"uses aliases more than the {STACK_FILE_MAX_ALIASES} times this reader accepts",
                    "write the values out; a stack file needs few aliases, if any",
                )
            size = sizes.get(event.anchor, 0)  # an undefined alias: the composer reports it
            expanded += size
            add(size)
            if expanded > STACK_FILE_MAX_NODES:
                raise StackFileLimit(
                    line,
                    f"the alias *{event.anchor} stands for {size} values, and with it the file expands to more "
                    f"than the {STACK_FILE_MAX_NODES} values this reader accepts (an alias bomb?)",
                    "write the values out instead of nesting aliases",
                )


def _check_stack_nodes(root, loader) -> list[str]:
    """Every problem of a composed stack file (within the limits of :func:`_scan_stack_events`), before anything
    is constructed: tags outside YAML 1.2's core schema, keys that are not strings or are given twice, and
    numbers that are not finite. Each is ``line N: key <path>: why. Fix: how``."""
    import math

    import yaml

    problems: list[str] = []
    visited: set[int] = set()

    def where(node, path: str) -> str:
        return f"line {node.start_mark.line + 1}: " + (f"key {_config_path(path)}: " if path else "")

    def walk(node, path: str) -> None:
        if id(node) in visited:
            return
        visited.add(id(node))
        if node.tag not in CORE_TAGS:
            problems.append(
                f"{where(node, path)}has the YAML tag {_tag_name(node.tag)}, which Pulumi config does not take "
                "(only strings, numbers, true/false, null, mappings and lists). "
                "Fix: remove the tag and give the value as a plain string, number, mapping or list"
            )
            return
        if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:float":
            try:
                finite = math.isfinite(loader.construct_yaml_float(node))
            except (ValueError, yaml.YAMLError):
                finite = True  # the constructor reports it
            if not finite:
                problems.append(
                    f"{where(node, path)}is {node.value}, which is not a finite number. "
                    "Fix: give a finite number (or quote it if it is meant as text)"
                )
        elif isinstance(node, yaml.SequenceNode):
            for i, child in enumerate(node.value):
                walk(child, f"{path}[{i}]")
        elif isinstance(node, yaml.MappingNode):
            first: dict[str, int] = {}
            for key, value in node.value:
                if key.tag == "tag:yaml.org,2002:merge":
                    walk(value, path)
                    continue
                if not isinstance(key, yaml.ScalarNode) or key.tag != "tag:yaml.org,2002:str":
                    kind = "a mapping or list" if not isinstance(key, yaml.ScalarNode) else _tag_name(key.tag)
                    problems.append(
                        f"{where(key, path)}has a key that is {kind}, not a string; Pulumi config keys are strings. "
                        f"Fix: quote the key"
                    )
                    continue
                shown = _key_text(key.value)
                sub = f"{path}.{shown}" if path else shown
                line = key.start_mark.line + 1
                if key.value in first:
                    problems.append(
                        f"line {line}: key {_config_path(sub)} is given twice (first on line {first[key.value]}); the "
                        "later one would silently replace the first. Fix: keep one of them"
                    )
                else:
                    first[key.value] = line
                walk(value, sub)

    walk(root, "")
    return problems


def _config_path(path: str) -> str:
    """A key's path in a stack file as the config key it is (``hyperpod-platform:vpn.enabled``)."""
    return path.removeprefix("config.") if path != "config" else path


def config_from_stack_file(path: Path) -> dict[str, Any]:
    """Read a Pulumi.<stack>.yaml file into a ``project:key -> value`` mapping. A key with no value is left out
    (the program then reports it as not set); ``secure:`` values stay as they are (they cannot be decrypted
    offline) and are marked secret by :func:`run_program`.

    Read with limits and as the Pulumi CLI reads it (:func:`_stack_yaml_loader`): at most
    :data:`STACK_FILE_MAX_BYTES`, :data:`STACK_FILE_MAX_DEPTH` levels, :data:`STACK_FILE_MAX_ALIASES` alias uses
    and :data:`STACK_FILE_MAX_NODES` values with aliases expanded; no recursive aliases, no tags outside YAML 1.2's
    core schema (``!!binary``, ``!!set``, ``!!omap``, custom tags), no non-string keys, no key given twice at any
    level, no ``.inf``/``.nan``. Any of these raises :class:`StackFileError` naming the line and the key, every
    problem at once where the file could be composed."""
    import yaml

    name = path.name
    with open(path, "rb") as f:
        data = f.read(STACK_FILE_MAX_BYTES + 1)
    if len(data) > STACK_FILE_MAX_BYTES:
        raise StackFileError(
            name,
            [f"is larger than {STACK_FILE_MAX_BYTES // (1024 * 1024)} MiB. Fix: a stack file holds config only; "
             "keep large content (charts, scripts) in files of their own"],
        )  # fmt: skip
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StackFileError(name, [f"byte {exc.start}: is not UTF-8 text. Fix: save the file as UTF-8"]) from None
    loader_cls = _stack_yaml_loader()
    loader = None
    try:
        try:
            _scan_stack_events(text, loader_cls)
            loader = loader_cls(text)
            root = loader.get_single_node()
        except StackFileLimit as exc:
            raise StackFileError(name, [f"line {exc.line}: {exc.why}. Fix: {exc.fix}"]) from None
        except RecursionError:
            raise StackFileError(name, ["nests too deeply to read. Fix: flatten the config"]) from None
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            at = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
            what = " ".join(x for x in (exc.context, exc.problem) if x)
            raise StackFileError(name, [f"{at}is not valid YAML ({what}). Fix: correct the YAML syntax"]) from None
        except yaml.YAMLError as exc:
            raise StackFileError(name, [f"is not valid YAML ({exc}). Fix: correct the YAML syntax"]) from None
        if root is None:
            return {}
        problems = _check_stack_nodes(root, loader)
        if problems:
            raise StackFileError(name, problems)
        try:
            doc = loader.construct_document(root)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            at = f"line {mark.line + 1}: " if mark else ""
            raise StackFileError(
                name, [f"{at}cannot be read ({getattr(exc, 'problem', exc)}). Fix: correct it"]
            ) from None
    finally:
        if loader is not None:
            loader.dispose()
    if not isinstance(doc, dict):
        raise StackFileError(name, ["must be a YAML mapping with a 'config' key. Fix: start it with 'config:'"])
    cfg = doc.get("config") or {}
    if not isinstance(cfg, dict):
        raise StackFileError(name, ["key config: must be a mapping of config keys. Fix: indent the keys under config:"])
    return {str(k): v for k, v in cfg.items() if v is not None}


def _is_secure(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"secure"}


def _is_secret_envelope(value: Any, deep: bool = False) -> bool:
    """A deserialized secret (``{SIG_KEY: SECRET_SIG, "value": ...}``), or with ``deep`` a value holding one."""
    if isinstance(value, dict):
        return value.get(SIG_KEY) == SECRET_SIG or deep and any(_is_secret_envelope(v, True) for v in value.values())
    return deep and isinstance(value, list) and any(_is_secret_envelope(v, True) for v in value)


def _unwrapped(value: Any) -> Any:
    if isinstance(value, dict):
        if value.get(SIG_KEY) == SECRET_SIG:
            return _unwrapped(value.get("value"))
        return {k: _unwrapped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrapped(v) for v in value]
    return value


def _engine_secret_keys() -> list[str]:
    """The secret keys the engine lists for the language host (``PULUMI_CONFIG_SECRET_KEYS``), if any."""
    import os

    text = os.environ.get("PULUMI_CONFIG_SECRET_KEYS", "")
    try:
        keys = json.loads(text) if text else []
    except ValueError:
        return []
    return [str(k) for k in keys] if isinstance(keys, list) else []


def run_program(
    program: Callable[[], Any] | Path,
    config: dict[str, Any],
    *,
    preview: bool,
    stack: str = "dev",
    project: str = PROJECT,
    on_record: Optional[Callable[[Registration], None]] = None,
    secret_keys: list[str] | tuple[str, ...] = (),
) -> RunResult:
    """Run ``program`` (a callable, or the path of a ``__main__.py``) under mocks with ``config``; ``on_record``
    sees each registration as it happens.

    Secret config reaches the program as the engine passes it at ``up``: plain values, and the list of the keys
    that are secret. Those are ``secure:`` values (left encrypted offline), ``secret_keys``, and the keys in
    ``PULUMI_CONFIG_SECRET_KEYS`` (a JSON list, the variable the engine sets for the language host), so a
    ``scripts/preview`` run can be given decrypted secret config."""
    region = str(config.get("aws:region", "us-east-1"))
    mocks = AwsMocks(region, preview, config)
    # A provider gets secret inputs as plain values and the engine keeps each output of a secret input secret:
    # the mocks model AWS from plain inputs, and what they echo of a secret input goes back as one.
    model_resource = mocks.new_resource

    def new_resource(args: pmocks.MockResourceArgs):
        secret = {k for k, v in args.inputs.items() if _is_secret_envelope(v, deep=True)}
        if not secret:
            return model_resource(args)
        args.inputs = _unwrapped(args.inputs)
        rid, state = model_resource(args)
        return rid, {k: {SIG_KEY: SECRET_SIG, "value": v} if k in secret else v for k, v in state.items()}

    mocks.new_resource = new_resource
    monitor = RecordingMonitor(mocks, on_record)
    pulumi.runtime.set_all_config(
        {k: v if isinstance(v, str) else json.dumps(v, default=str) for k, v in config.items()},
        secret_keys=sorted(
            {k for k, v in config.items() if _is_secure(v)} | set(secret_keys) | set(_engine_secret_keys())
        ),
    )
    # A fresh root stack per run: otherwise exports of an earlier run in this process would leak in. Likewise
    # the pending RPCs and output tasks of an earlier run (one that failed inside an apply leaves some behind,
    # which would fail this run with that run's error), as pulumi.runtime.mocks.test clears them.
    pulumi.runtime.settings.ROOT.set(None)
    pulumi.runtime.settings.SETTINGS.rpc_manager.clear()
    pulumi.runtime.settings.SETTINGS.outputs.clear()
    pmocks.set_mocks(mocks, project=project, stack=stack, preview=preview, monitor=monitor)
    if isinstance(program, Path):
        path = program

        def program():  # noqa: F811 - the program file, run as the language host would
            sys.path.insert(0, str(path.parent))
            try:
                runpy.run_path(str(path), run_name="__main__")
            finally:
                sys.path.remove(str(path.parent))

    error: Optional[BaseException] = None
    try:
        _sync_await(run_pulumi_func(program))
    except BaseException as exc:  # noqa: BLE001 - reported to the caller
        error = exc
    root = pulumi.runtime.settings.get_root_resource()
    outputs: dict[str, Any] = {}
    if error is None and root is not None and getattr(root, "outputs", None):
        try:
            for key, value in root.outputs.items():
                outputs[key] = _resolve(value)
        except Exception as exc:  # noqa: BLE001 - an output that failed to resolve is a program error
            error = exc
    return RunResult(monitor.registrations, outputs, error, [(c.token, c.args) for c in mocks.calls])


def _resolve(value: Any) -> Any:
    out = pulumi.Output.from_input(value)
    known = _sync_await(out.is_known())
    secret = _sync_await(out.is_secret())
    if not known:
        return "<unknown>"
    result = _sync_await(out.future())
    return {"<secret>": result} if secret else result
