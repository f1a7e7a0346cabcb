"""Typed, frozen settings the components take: what the stack-config layer produces from
``Pulumi.<stack>.yaml``, and what another program can build by hand.
"""

import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

from .errors import PROJECT

ACCELERATED_RE = re.compile(r"^ml\.(p\d|g\d|gr\d|trn\d|inf\d)")
"""HyperPod instance types with GPUs or AWS accelerators."""
ROLES = ("controller", "login", "compute")
"""Slurm node roles of an instance group."""
ORCHESTRATORS = ("slurm", "eks")
"""What runs the cluster's jobs: Slurm on the nodes, or an EKS cluster the nodes join."""
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
"""Kubernetes taint effects HyperPod accepts on an instance group."""


@dataclass(frozen=True)
class NetworkSettings:
    """Where the platform lives: a VPC this stack creates, or an existing one."""

    mode: str
    """``create`` a VPC, or use an ``existing`` one."""
    availability_zones: Sequence[str] = ()
    """AZ names of the private (and public) subnets, one subnet each; at least two."""
    vpc_cidr: str = ""
    """CIDR of the VPC to create."""
    private_subnet_cidrs: Sequence[str] = ()
    """One private subnet CIDR per AZ, in AZ order."""
    public_subnet_cidrs: Sequence[str] = ()
    """One public subnet CIDR per AZ (they hold only NAT gateways)."""
    nat_gateways: str = "perAz"
    """``single`` NAT gateway (cheaper) or one ``perAz`` (survives an AZ outage)."""
    flow_logs: bool = False
    """Send VPC flow logs to CloudWatch Logs."""
    flow_logs_retention_days: int = 30
    """Retention of the flow log group."""
    vpc_id: str = ""
    """Existing mode: the VPC id."""
    private_subnet_ids: Sequence[str] = ()
    """Existing mode: private subnet ids, at least two in distinct AZs (the first hosts FSx)."""
    route_table_ids: Sequence[str] = ()
    """Existing mode: route tables to attach the S3 gateway endpoint to (none: no endpoint)."""


@dataclass(frozen=True)
class FsxSettings:
    """FSx for Lustre shared file system."""

    enabled: bool = True
    """Create the file system and mount it on every node."""
    storage_capacity_gib: int = 1200
    """1200, 2400, then steps of 2400 GiB (PERSISTENT_2)."""
    throughput_per_tib: int = 250
    """PERSISTENT_2 throughput tier: 125, 250, 500 or 1000 MB/s per TiB."""
    mount_path: str = "/fsx"
    """Where nodes mount it."""
    protect: bool = True
    """Protect the file system from ``pulumi destroy`` and replacement."""


@dataclass(frozen=True)
class KubernetesTaintSettings:
    """A Kubernetes taint on an EKS instance group's nodes."""

    key: str
    """Taint key (a qualified name, e.g. ``nvidia.com/gpu``)."""
    effect: str
    """``NoSchedule``, ``PreferNoSchedule`` or ``NoExecute``."""
    value: Optional[str] = None
    """Taint value (optional)."""


@dataclass(frozen=True)
class InstanceGroupSettings:
    """One HyperPod instance group."""

    name: str
    """Instance group name (AWS pattern, no underscores)."""
    role: str
    """Slurm node type: ``controller``, ``login`` or ``compute``."""
    instance_type: str
    """An ``ml.*`` type from the SageMaker ClusterInstanceType list."""
    count: int
    """Number of instances."""
    partition: Optional[str] = None
    """Slurm partition of a compute group."""
    threads_per_core: Optional[int] = None
    """1 (hyper-threading off) or 2."""
    ebs_volume_gib: Optional[int] = None
    """Extra EBS volume per instance, mounted at /opt/sagemaker (1-16384 GiB)."""
    deep_health_checks: Sequence[str] = ()
    """InstanceStress and/or InstanceConnectivity, for accelerated compute groups."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """EKS: Kubernetes labels HyperPod puts on the group's nodes."""
    taints: Sequence[KubernetesTaintSettings] = ()
    """EKS: Kubernetes taints HyperPod puts on the group's nodes."""

    @property
    def accelerated(self) -> bool:
        return bool(ACCELERATED_RE.match(self.instance_type))


@dataclass(frozen=True)
class ClusterSettings:
    """The HyperPod cluster."""

    name: str
    """Cluster name (AWS pattern)."""
    instance_groups: Sequence[InstanceGroupSettings]
    """Controller, optional login and compute groups."""
    node_recovery: str = "Automatic"
    """``Automatic`` replaces faulty nodes; ``None`` leaves them."""
    slurm_config_strategy: str = "Managed"
    """How HyperPod manages slurm.conf: Managed, Overwrite or Merge."""
    subnet_placement: str = "primary"
    """``primary``: nodes in the first private subnet, next to FSx; ``all``: every private subnet."""
    orchestrator: str = "slurm"
    """``slurm``, or ``eks``: the nodes join the stack's EKS cluster (:class:`EksSettings`)."""

    @property
    def login_group(self) -> Optional[InstanceGroupSettings]:
        return next((g for g in self.instance_groups if g.role == "login"), None)


@dataclass(frozen=True)
class LoginSettings:
    """SSH access to the login group through an internal NLB."""

    enabled: bool = True
    """Create the login NLB (only when the cluster has a login group)."""
    allowed_cidrs: Sequence[str] = ()
    """Client ranges besides the VPC (and the VPN) that may reach TCP 22; never 0.0.0.0/0."""
    stickiness: bool = True
    """Source-IP stickiness, so a user's reconnects land on the same login node."""
    target_ips: Sequence[str] = ()
    """Login node IPs; default: looked up from the login group's ENIs after the cluster exists."""
    host_key_version: int = 1
    """Bump to rotate the shared SSH host keys."""


@dataclass(frozen=True)
class VpnSettings:
    """AWS Client VPN with mutual TLS."""

    enabled: bool = False
    """Create the Client VPN endpoint."""
    client_cidr: str = ""
    """Addresses given to VPN clients: /12 to /22, not overlapping the VPC."""
    clients: Sequence[str] = ()
    """One client certificate and .ovpn profile per name."""
    split_tunnel: bool = True
    """Only VPC traffic goes through the VPN."""
    port: int = 443
    """UDP port of the endpoint (443 or 1194)."""
    log_retention_days: int = 90
    """Retention of the connection log group."""
    pki_version: int = 1
    """Bump to re-issue the CA and every certificate."""


@dataclass(frozen=True)
class AccessSettings:
    """Ways in besides the VPN: SSH over SSM, and a bastion host."""

    ssm: bool = True
    """Create the IAM policy for users (SSH over SSM to the cluster only) and its ssh_config snippet."""
    bastion: bool = False
    """Create a bastion in a public subnet (the one legitimate public-subnet instance)."""
    bastion_allowed_cidrs: Sequence[str] = ()
    """Client ranges that may SSH to the bastion; required with the bastion, never 0.0.0.0/0."""
    bastion_instance_type: str = "t3.micro"
    """EC2 type of the bastion."""
    bastion_key_name: Optional[str] = None
    """EC2 key pair for the bastion."""


@dataclass(frozen=True)
class DirectoryUserSettings:
    """A directory user kept by the stack (Directory Service Data API)."""

    name: str
    """sAMAccountName: 1-20 letters, digits, dots, hyphens or underscores (the login name on the nodes)."""
    groups: Sequence[str] = ()
    """Directory groups the user belongs to (of ``directory.groups``)."""
    ssh_public_keys: Sequence[str] = ()
    """OpenSSH public keys, stored in ``altSecurityIdentities`` and served to sshd by SSSD."""
    email: Optional[str] = None
    """Email address (``mail``)."""
    given_name: Optional[str] = None
    """First name (``givenName``)."""
    surname: Optional[str] = None
    """Last name (``sn``)."""


@dataclass(frozen=True)
class LdapsSettings:
    """The LDAPS endpoint in front of the domain controllers."""

    dns_name: Optional[str] = None
    """Name in the LDAPS certificate and the nodes' ``ldap_uri``; default: the NLB's DNS name."""
    certificate_arn: Optional[str] = None
    """Use this ACM certificate instead of one issued by the stack's own CA (needs ``caCertificate``)."""
    ca_certificate: Optional[str] = None
    """PEM of the CA that issued ``certificateArn``; pinned on the nodes."""
    plaintext_listener: bool = False
    """Also listen on TCP 389 (plaintext LDAP). Off by default; the no-plaintext-ldap guardrail flags it."""
    ca_version: int = 1
    """Bump to re-issue the stack's CA and LDAPS certificate."""


@dataclass(frozen=True)
class DirectorySettings:
    """Central identity: AWS Managed Microsoft AD over LDAPS, its contents, and SSSD on every node."""

    enabled: bool = False
    """Set up the directory, the LDAPS endpoint, the contents and SSSD on the nodes."""
    mode: str = "create"
    """``create`` an AWS Managed Microsoft AD, or use an ``existing`` one by id."""
    domain_name: str = ""
    """Fully qualified domain name, e.g. ``corp.example.com``."""
    short_name: Optional[str] = None
    """NetBIOS name (default: the first label of the domain, upper-cased)."""
    edition: str = "Standard"
    """``Standard`` or ``Enterprise``."""
    directory_id: Optional[str] = None
    """Existing mode: the directory id (``d-`` and 10 hex digits)."""
    dns_ips: Sequence[str] = ()
    """Existing mode: the domain controllers' IPs (default: read from the directory)."""
    protect: bool = True
    """Protect the directory and its contents from ``pulumi destroy`` and replacement."""
    bind_user: str = "ReadOnly"
    """The read-only user SSSD binds as; its password is generated and kept in Secrets Manager."""
    bind_password_version: int = 1
    """Bump to generate a new bind password (set in the directory and the secret; nodes re-run the step)."""
    groups: Sequence[str] = ("ClusterAdmin", "ClusterDev")
    """Directory groups the stack keeps; members of ``allowedGroups`` may log in."""
    allowed_groups: Sequence[str] = ("ClusterAdmin", "ClusterDev")
    """Groups allowed on the nodes (SSSD access filter and sshd AllowGroups)."""
    allowed_groups_by_role: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """Per node role (controller, login, compute): the allowed groups on nodes of that role; a role not
    listed in ``allowedGroupsByRole`` gets all of ``allowedGroups``."""
    sudo_groups: Sequence[str] = ("ClusterAdmin",)
    """Groups with passwordless sudo on the nodes (ClusterDev has none by default)."""
    local_groups: Sequence[str] = ("ubuntu",)
    """Local groups that keep SSH access besides the directory groups (the HyperPod default admin user)."""
    users: Sequence[DirectoryUserSettings] = ()
    """Users the stack keeps in the directory."""
    default_shell: str = "/bin/bash"
    """Login shell of directory users."""
    ldaps: LdapsSettings = field(default_factory=LdapsSettings)
    """The LDAPS endpoint."""
    admin_instance: bool = False
    """Launch a domain-joined Windows admin instance (for what the Data API cannot do)."""
    admin_instance_type: str = "t3.medium"
    """EC2 type of the admin instance."""

    def allowed_on(self, role: str) -> Sequence[str]:
        """The groups allowed on nodes of ``role``."""
        return tuple(self.allowed_groups_by_role.get(role, self.allowed_groups))

    @property
    def netbios_name(self) -> str:
        return self.short_name or self.domain_name.split(".")[0].upper()[:15]

    @property
    def search_base(self) -> str:
        return ",".join(f"DC={part}" for part in self.domain_name.split("."))


@dataclass(frozen=True)
class EksSettings:
    """The EKS control plane an EKS-orchestrated HyperPod cluster joins, and what runs on it."""

    kubernetes_version: str = "1.32"
    """Kubernetes version of the control plane, one HyperPod supports."""
    authentication_mode: str = "API"
    """``API`` or ``API_AND_CONFIG_MAP`` (HyperPod registers its roles as access entries)."""
    endpoint_public_access: bool = False
    """Also expose the API server publicly (private access is always on)."""
    public_access_cidrs: Sequence[str] = ()
    """Client ranges of the public endpoint; required when it is on, never the whole internet."""
    deploy_from: Optional[str] = None
    """Where ``pulumi up`` runs, so where the Kubernetes resources are created from: ``public`` (the public
    endpoint, limited to ``public_access_cidrs``: the deploy runner's static egress ranges), ``vpn`` (an operator
    on the stack's Client VPN, whose group the control plane admits on 443) or ``private`` (a runner inside the
    VPC or a network connected to it, ``private_access_cidrs``). Recorded as the cluster's ``DeployFrom`` tag,
    which the reachability check proves; None: not stated (nothing is opened for it)."""
    private_access_cidrs: Sequence[str] = ()
    """Ranges inside the VPC or connected to it (a deploy runner, an operators' network) that the control
    plane's security group admits on TCP 443 only; never the internet."""
    vpc_cni_version: str = "v1.19.2-eksbuild.1"
    """Amazon VPC CNI add-on version (HyperPod needs v1.18.3 or later)."""
    pod_identity_agent_version: Optional[str] = None
    """EKS Pod Identity agent add-on version; default: the version EKS recommends for the cluster."""
    fsx_csi_driver_version: Optional[str] = None
    """FSx for Lustre CSI driver add-on version; default: the version EKS recommends for the cluster."""
    admin_role_arns: Sequence[str] = ()
    """IAM roles given cluster admin through access entries."""
    log_types: Sequence[str] = ("api", "audit", "authenticator")
    """Control-plane log types sent to CloudWatch Logs."""
    helm_values: Mapping[str, Any] = field(default_factory=dict)
    """Values merged over the platform's defaults for the HyperPod Helm chart (keys must exist in the chart)."""
    chart_path: Optional[str] = None
    """Where the fetched HyperPod Helm chart is (``scripts/fetch-chart``); default the project's ``charts/``."""
    fsx_namespace: str = "kubeflow"
    """Namespace of the FSx PersistentVolumeClaim jobs mount."""


@dataclass(frozen=True)
class AccountSettings:
    """An AWS account the platform spans, and how Pulumi reaches it."""

    alias: str
    """Name the config refers to it by (``cluster`` for the cluster's own account)."""
    account_id: str
    """12-digit account id."""
    role_arn: Optional[str] = None
    """Role Pulumi assumes there (not for the cluster account, which the stack's own credentials reach)."""
    external_id: Optional[str] = None
    """External id the role's trust requires, if any."""


@dataclass(frozen=True)
class QuotaResourceSettings:
    """One resource of a team's quota: ``count`` instances of ``instance_type``, or accelerators / vCPU /
    memory of that type."""

    instance_type: str
    """An ``ml.*`` type the cluster has an instance group of."""
    count: Optional[int] = None
    """Whole instances."""
    accelerators: Optional[int] = None
    """Accelerators (GPUs, Trainium chips) instead of whole instances."""
    vcpu: Optional[float] = None
    """vCPUs instead of whole instances."""
    memory_gib: Optional[float] = None
    """Memory in GiB instead of whole instances."""


@dataclass(frozen=True)
class TeamDataSettings:
    """A team's training data in a data account, reached from its pods through an S3 access point."""

    account: str
    """Alias of the data account (``accounts``)."""
    bucket: str
    """The data bucket (in the data account)."""
    prefix: str
    """The team's prefix in it; the access point reaches nothing else."""
    create_bucket: bool = False
    """Create the bucket (else it is the data account's, read with ``.get()``)."""
    service_account: str = "data-access"
    """Service account in the team namespace whose pods get the data access."""


@dataclass(frozen=True)
class TeamSettings:
    """A team sharing the EKS-orchestrated cluster: its quota, namespace and access from its own account."""

    name: str
    """Team name (``[a-z0-9]([-a-z0-9]*[a-z0-9])?``); its namespace is ``hyperpod-ns-<name>``."""
    quota: Sequence[QuotaResourceSettings]
    """The team's guaranteed compute (1-15 resources)."""
    account: str
    """Alias of the team's account (``accounts``), where its people are."""
    principal_arn: str
    """The role in the team account that may use the cluster (assumes the team's cluster-access role)."""
    sharing_strategy: str = "LendAndBorrow"
    """``Lend``, ``DontLend`` or ``LendAndBorrow`` idle compute."""
    borrow_limit: Optional[int] = None
    """Percent of idle compute the team may borrow (``LendAndBorrow`` only)."""
    fair_share_weight: int = 0
    """0-100: the team's share when idle compute is divided."""
    preempt_team_tasks: str = "LowerPriority"
    """``LowerPriority``: the team's tasks may preempt its own lower-priority tasks; or ``Never``."""
    external_id: Optional[str] = None
    """External id the team's principal must pass (else the trust requires the cluster's organization)."""
    data: Optional[TeamDataSettings] = None
    """The team's training data, if any."""

    @property
    def namespace(self) -> str:
        return f"hyperpod-ns-{self.name}"


@dataclass(frozen=True)
class PriorityClassSettings:
    """A task priority class of the cluster policy."""

    name: str
    """Name jobs use in ``kueue.x-k8s.io/priority-class``."""
    weight: int
    """0-100; higher runs first."""


@dataclass(frozen=True)
class GovernanceSettings:
    """Task governance on the EKS-orchestrated cluster: the cluster policy and the add-on."""

    priority_classes: Sequence[PriorityClassSettings] = ()
    """Up to 10 priority classes."""
    fair_share: str = "Enabled"
    """``Enabled``: idle compute is divided by fair-share weight; ``Disabled``: first come, first served."""
    idle_resource_sharing: str = "Enabled"
    """``Enabled``: teams lend and borrow idle compute as their strategies allow."""
    addon_version: Optional[str] = None
    """Version of the ``amazon-sagemaker-hyperpod-taskgovernance`` add-on; default EKS's."""
    organization_id: Optional[str] = None
    """AWS Organizations id (``o-...``) team trusts require when a team has no external id."""


@dataclass(frozen=True)
class LifecycleSettings:
    """The lifecycle-script bucket."""

    bucket_name: Optional[str] = None
    """Fixed bucket name; default: a generated ``sagemaker-<cluster>-...`` name."""


@dataclass(frozen=True)
class StackSettings:
    """Everything the program needs, validated."""

    region: str
    network: NetworkSettings
    fsx: FsxSettings
    cluster: ClusterSettings
    lifecycle: LifecycleSettings
    login: LoginSettings = field(default_factory=LoginSettings)
    vpn: VpnSettings = field(default_factory=VpnSettings)
    access: AccessSettings = field(default_factory=AccessSettings)
    directory: DirectorySettings = field(default_factory=DirectorySettings)
    eks: EksSettings = field(default_factory=EksSettings)
    accounts: Mapping[str, AccountSettings] = field(default_factory=dict)
    teams: Sequence[TeamSettings] = ()
    governance: GovernanceSettings = field(default_factory=GovernanceSettings)
    tags: tuple[tuple[str, str], ...] = field(default=())

    @property
    def tag_dict(self) -> dict[str, str]:
        return {"Project": PROJECT, "Cluster": self.cluster.name, **dict(self.tags)}
