"""Programs for private-subnets: placements in private, public and unverifiable subnets."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from .common import cluster, group, network, unknown_in_preview

# ---------------------------------------------------------------- compliant


def cluster_in_private_subnet():
    """The HyperPod cluster and FSx in subnets routed through a NAT gateway."""
    net = network()
    cluster([net.private.id, net.private_b.id])
    aws.fsx.LustreFileSystem(
        "fsx",
        storage_capacity=1200,
        subnet_ids=net.private.id,
        deployment_type="PERSISTENT_2",
        per_unit_storage_throughput=250,
        opts=pulumi.ResourceOptions(protect=True),
    )


def fsx_on_main_route_table():
    """A subnet with no association uses the VPC's main route table, which has only the local route."""
    vpc = aws.ec2.Vpc("vpc", cidr_block="10.1.0.0/16")
    subnet = aws.ec2.Subnet("isolated", vpc_id=vpc.id, cidr_block="10.1.0.0/24")
    aws.fsx.LustreFileSystem(
        "fsx",
        storage_capacity=1200,
        subnet_ids=subnet.id,
        deployment_type="SCRATCH_2",
        opts=pulumi.ResourceOptions(protect=True),
    )


def public_things_not_judged():
    """A bastion and a NAT gateway in the public subnet are not placements the rule judges (nor is an
    internet-facing load balancer, which internal-load-balancers reports: see the tests)."""
    net = network(public_ips_on_public=True)
    aws.ec2.Instance("bastion", ami="ami-0123456789abcdef0", instance_type="t3.micro", subnet_id=net.public.id)
    cluster([net.private.id])


def read_subnet_with_association():
    """An existing subnet (read with .get()) whose route table association is managed here, with no IGW route."""
    vpc = aws.ec2.Vpc("vpc", cidr_block="10.2.0.0/16")
    rt = aws.ec2.RouteTable("isolated-rt", vpc_id=vpc.id)
    existing = aws.ec2.Subnet.get(
        "existing", "subnet-0aaaaaaaaaaaaaaaa", map_public_ip_on_launch=False, vpc_id="vpc-0existing"
    )
    aws.ec2.RouteTableAssociation("existing", subnet_id=existing.id, route_table_id=rt.id)
    cluster([existing.id])


# ---------------------------------------------------------------- violating


def cluster_in_public_subnet():
    """The cluster in a subnet whose route table sends 0.0.0.0/0 to the internet gateway."""
    net = network()
    cluster([net.public.id])


def group_override_in_public_subnet():
    """The cluster is private, but one instance group overrides its VPC config with the public subnet."""
    net = network()
    cluster(
        [net.private.id],
        groups=[
            group("controller", "ml.m5.xlarge"),
            group(
                "gpu",
                "ml.g5.12xlarge",
                ["InstanceStress", "InstanceConnectivity"],
                override_subnets=[net.public.id],
                security_group_ids=["sg-0123456789abcdef0"],
            ),
        ],
    )


def fsx_in_subnet_with_public_ips():
    """No internet gateway route, but the subnet gives instances public IPs."""
    vpc = aws.ec2.Vpc("vpc", cidr_block="10.1.0.0/16")
    subnet = aws.ec2.Subnet("auto-public", vpc_id=vpc.id, cidr_block="10.1.0.0/24", map_public_ip_on_launch=True)
    aws.fsx.LustreFileSystem("fsx", storage_capacity=1200, subnet_ids=subnet.id, deployment_type="SCRATCH_2")


def main_route_table_to_igw():
    """A subnet without association, on a main route table that routes to the internet gateway."""
    vpc = aws.ec2.Vpc("vpc", cidr_block="10.1.0.0/16")
    igw = aws.ec2.InternetGateway("igw", vpc_id=vpc.id)
    aws.ec2.Route(
        "main-default", route_table_id=vpc.main_route_table_id, destination_cidr_block="0.0.0.0/0", gateway_id=igw.id
    )
    subnet = aws.ec2.Subnet("unassociated", vpc_id=vpc.id, cidr_block="10.1.0.0/24")
    aws.fsx.LustreFileSystem("fsx", storage_capacity=1200, subnet_ids=subnet.id, deployment_type="SCRATCH_2")


def inline_route_to_igw():
    """A route table with an inline route to the internet gateway."""
    vpc = aws.ec2.Vpc("vpc", cidr_block="10.1.0.0/16")
    igw = aws.ec2.InternetGateway("igw", vpc_id=vpc.id)
    rt = aws.ec2.RouteTable(
        "inline-rt", vpc_id=vpc.id, routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)]
    )
    subnet = aws.ec2.Subnet("inline", vpc_id=vpc.id, cidr_block="10.1.0.0/24")
    aws.ec2.RouteTableAssociation("inline", subnet_id=subnet.id, route_table_id=rt.id)
    cluster([subnet.id])


def internal_lb_in_public_subnet():
    """An internal load balancer placed in the public subnet."""
    net = network()
    aws.lb.LoadBalancer(
        "internal-nlb",
        load_balancer_type="network",
        internal=True,
        subnet_mappings=[aws.lb.LoadBalancerSubnetMappingArgs(subnet_id=net.public.id)],
    )


def client_vpn_in_public_subnet():
    net = network()
    aws.ec2clientvpn.NetworkAssociation(
        "vpn", client_vpn_endpoint_id="cvpn-endpoint-0123456789abcdef0", subnet_id=net.public.id
    )


def directory_in_public_subnet():
    net = network()
    aws.directoryservice.Directory(
        "directory",
        name="corp.example.com",
        password="Sup3rS3cret!",
        edition="Standard",
        type="MicrosoftAD",
        vpc_settings=aws.directoryservice.DirectoryVpcSettingsArgs(
            vpc_id=net.vpc.id, subnet_ids=[net.private.id, net.public.id]
        ),
    )


def eks_in_public_subnet():
    net = network()
    aws.eks.Cluster(
        "eks",
        role_arn="arn:aws:iam::123456789012:role/eks",
        vpc_config=aws.eks.ClusterVpcConfigArgs(subnet_ids=[net.public.id, net.private.id]),
    )


def read_subnet_with_public_ips():
    """An existing subnet whose read state says it hands out public IPs."""
    existing = aws.ec2.Subnet.get(
        "existing", "subnet-0bbbbbbbbbbbbbbbb", map_public_ip_on_launch=True, vpc_id="vpc-0existing"
    )
    cluster([existing.id])


def read_subnet_routes_unseen():
    """An existing subnet without a route table association in this stack: its routes cannot be seen."""
    existing = aws.ec2.Subnet.get(
        "existing", "subnet-0ccccccccccccccccc", map_public_ip_on_launch=False, vpc_id="vpc-0existing"
    )
    cluster([existing.id])


def literal_subnet_id():
    """A subnet ID from outside the stack (config, another stack): cannot be verified."""
    cluster(["subnet-0ddddddddddddddddd"])


# ---------------------------------------------------------------- unknown at preview


def public_ip_flag_unknown_at_preview():
    """mapPublicIpOnLaunch comes from another resource's output: unknown at preview, false at deploy."""
    vpc = aws.ec2.Vpc("vpc", cidr_block="10.1.0.0/16")
    subnet = aws.ec2.Subnet(
        "late", vpc_id=vpc.id, cidr_block="10.1.0.0/24", map_public_ip_on_launch=unknown_in_preview(vpc, False)
    )
    cluster([subnet.id])


# ---------------------------------------------------------------- existing subnets judged from read state
# Ids of the harness's existing VPC (tools.harness.existing_network): subnet ...f0 has an explicit association
# with a table routed through a NAT gateway; others (e.g. ...f1) use the VPC's main table (NAT too);
# PUBLIC_SUBNET's table routes to an internet gateway, APPLIANCE_SUBNET's default route goes to an ENI.
EXISTING_VPC = "vpc-0123456789abcdef0"
MAIN_TABLE = "rtb-0fedcba9876543210"
NAT_TABLE = "rtb-0123456789abcdef0"
IGW_TABLE = "rtb-0b0b0b0b0b0b0b0b0"
APPLIANCE_TABLE = "rtb-0e0e0e0e0e0e0e0e0"
PUBLIC_SUBNET = "subnet-0b0b0b0b0b0b0b0b1"
APPLIANCE_SUBNET = "subnet-0e0e0e0e0e0e0e0e0"


def _read_associated(subnet_id: str, table_id: str):
    """An existing subnet, its explicit association and its route table, all read (as hyperpod_platform/network.py)."""
    subnet = aws.ec2.Subnet.get("existing", subnet_id)
    aws.ec2.RouteTableAssociation.get("existing", f"{subnet_id}/{table_id}")
    aws.ec2.RouteTable.get("existing-rt", table_id)
    return subnet


def read_subnet_with_read_association():
    """An existing subnet whose explicit association and route table (NAT only) are read."""
    cluster([_read_associated("subnet-0123456789abcdef0", NAT_TABLE).id])


def read_subnet_on_read_main_table():
    """An existing subnet without an explicit association: the VPC and its main table (NAT only) are read."""
    aws.ec2.Vpc.get("existing", EXISTING_VPC)
    subnet = aws.ec2.Subnet.get("existing", "subnet-0123456789abcdef1")
    aws.ec2.RouteTable.get("existing-main", MAIN_TABLE)
    cluster([subnet.id])


def read_subnet_association_to_igw():
    """An existing subnet whose read route table routes 0.0.0.0/0 and ::/0 to an internet gateway."""
    cluster([_read_associated(PUBLIC_SUBNET, IGW_TABLE).id])


def read_subnet_main_table_unread():
    """The VPC is read, but not its main route table: the subnet's routes cannot be seen."""
    aws.ec2.Vpc.get("existing", EXISTING_VPC)
    subnet = aws.ec2.Subnet.get("existing", "subnet-0123456789abcdef1")
    cluster([subnet.id])


def read_subnet_default_route_to_appliance():
    """An existing subnet whose read route table sends 0.0.0.0/0 to a network interface (a firewall appliance)."""
    cluster([_read_associated(APPLIANCE_SUBNET, APPLIANCE_TABLE).id])


# ---------------------------------------------------------------- FSx of every kind
def _fsx_of_every_kind(subnet, other, protect: bool = True) -> None:
    """OpenZFS, ONTAP and Windows file systems (multi-AZ ones preferring ``subnet``) and a File Cache."""
    opts = pulumi.ResourceOptions(protect=protect)
    aws.fsx.OpenZfsFileSystem(
        "zfs",
        storage_capacity=64,
        subnet_ids=[subnet],
        deployment_type="SINGLE_AZ_1",
        throughput_capacity=64,
        opts=opts,
    )
    aws.fsx.OntapFileSystem(
        "ontap",
        storage_capacity=1024,
        subnet_ids=[subnet, other],
        preferred_subnet_id=subnet,
        deployment_type="MULTI_AZ_1",
        throughput_capacity=128,
        opts=opts,
    )
    aws.fsx.WindowsFileSystem(
        "windows",
        storage_capacity=32,
        subnet_ids=[other, subnet],
        preferred_subnet_id=other,
        deployment_type="MULTI_AZ_1",
        throughput_capacity=32,
        active_directory_id="d-0123456789",
        opts=opts,
    )


def fsx_of_every_kind_in_private_subnets():
    net = network()
    _fsx_of_every_kind(net.private.id, net.private_b.id)


def fsx_of_every_kind_in_a_public_subnet():
    """Each file system names the public subnet (ONTAP as its preferred subnet, Windows as its standby)."""
    net = network()
    _fsx_of_every_kind(net.public.id, net.private.id)


def openzfs_in_public_subnet():
    net = network()
    aws.fsx.OpenZfsFileSystem(
        "zfs",
        storage_capacity=64,
        subnet_ids=[net.public.id],
        deployment_type="SINGLE_AZ_1",
        throughput_capacity=64,
        opts=pulumi.ResourceOptions(protect=True),
    )


# ---------------------------------------------------------------- default route tables, routes by literal table ID
def default_route_table_to_igw():
    """aws.ec2.DefaultRouteTable adopts the VPC's main table and routes 0.0.0.0/0 to the internet gateway; a
    subnet with no explicit association uses it."""
    vpc = aws.ec2.Vpc("vpc", cidr_block="10.1.0.0/16")
    igw = aws.ec2.InternetGateway("igw", vpc_id=vpc.id)
    aws.ec2.DefaultRouteTable(
        "default",
        default_route_table_id=vpc.default_route_table_id,
        routes=[aws.ec2.DefaultRouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)],
    )
    subnet = aws.ec2.Subnet("unassociated", vpc_id=vpc.id, cidr_block="10.1.0.0/24")
    cluster([subnet.id])


def default_route_table_private():
    """The same with a DefaultRouteTable holding no route: the subnet is private."""
    vpc = aws.ec2.Vpc("vpc", cidr_block="10.1.0.0/16")
    aws.ec2.InternetGateway("igw", vpc_id=vpc.id)
    aws.ec2.DefaultRouteTable("default", default_route_table_id=vpc.default_route_table_id, routes=[])
    subnet = aws.ec2.Subnet("unassociated", vpc_id=vpc.id, cidr_block="10.1.0.0/24")
    cluster([subnet.id])


def route_by_literal_id_on_existing_main_table():
    """A subnet created in an existing VPC (read) without association uses the VPC's main table; a route names
    that table by its literal ID and sends 0.0.0.0/0 to an internet gateway."""
    existing = aws.ec2.Vpc.get("existing", EXISTING_VPC)
    subnet = aws.ec2.Subnet("new", vpc_id=existing.id, cidr_block="10.0.9.0/24")
    aws.ec2.Route(
        "literal-default",
        route_table_id=MAIN_TABLE,
        destination_cidr_block="0.0.0.0/0",
        gateway_id="igw-0123456789abcdef0",
    )
    cluster([subnet.id])


def route_by_literal_id_on_associated_table():
    """A subnet associated with a route table of another stack (literal ID); a route of this stack names the same
    table and sends 0.0.0.0/0 to an internet gateway: public, not only unverifiable."""
    vpc = aws.ec2.Vpc("vpc", cidr_block="10.1.0.0/16")
    subnet = aws.ec2.Subnet("shared", vpc_id=vpc.id, cidr_block="10.1.0.0/24")
    aws.ec2.RouteTableAssociation("shared", subnet_id=subnet.id, route_table_id="rtb-0a0a0a0a0a0a0a0a0")
    igw = aws.ec2.InternetGateway("igw", vpc_id=vpc.id)
    aws.ec2.Route(
        "literal-default", route_table_id="rtb-0a0a0a0a0a0a0a0a0", destination_cidr_block="0.0.0.0/0", gateway_id=igw.id
    )
    cluster([subnet.id])


def route_by_literal_id_on_unknown_table():
    """A route to the internet gateway names a literal route table that is no table of this stack; the subnet's
    main table has an ID that is not known at preview (cannot judge then), and turns out to be another."""
    vpc = aws.ec2.Vpc("vpc", cidr_block="10.1.0.0/16")
    igw = aws.ec2.InternetGateway("igw", vpc_id=vpc.id)
    aws.ec2.Route(
        "literal-default", route_table_id="rtb-0c0c0c0c0c0c0c0c0", destination_cidr_block="0.0.0.0/0", gateway_id=igw.id
    )
    subnet = aws.ec2.Subnet("unassociated", vpc_id=vpc.id, cidr_block="10.1.0.0/24")
    cluster([subnet.id])


def default_route_table_of_existing_vpc():
    """A DefaultRouteTable adopts an existing VPC's main table by its literal ID and routes to an internet
    gateway; a subnet created in that VPC without association uses it."""
    existing = aws.ec2.Vpc.get("existing", EXISTING_VPC)
    aws.ec2.DefaultRouteTable(
        "default",
        default_route_table_id=MAIN_TABLE,
        routes=[aws.ec2.DefaultRouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id="igw-0123456789abcdef0")],
    )
    subnet = aws.ec2.Subnet("new", vpc_id=existing.id, cidr_block="10.0.9.0/24")
    cluster([subnet.id])
