"""Reusable Pulumi components of a multi-user Amazon SageMaker HyperPod platform, one per module.

Each component takes an ``...Args`` dataclass; settings types (``hyperpod_platform.settings``) and errors
(``hyperpod_platform.errors``) are part of the public interface. Nothing here reads stack config.
"""

from .access import Access, AccessArgs
from .client_vpn import ClientVpn, ClientVpnArgs
from .directory import Directory, DirectoryArgs
from .directory_admin_host import DirectoryAdminHost, DirectoryAdminHostArgs
from .directory_connection import DirectoryConnection, DirectoryConnectionArgs
from .directory_contents import DirectoryContents, DirectoryContentsArgs
from .eks_control_plane import EksControlPlane, EksControlPlaneArgs
from .eks_node_addons import EksNodeAddons, EksNodeAddonsArgs
from .errors import ConfigError, Problem
from .execution_role import ExecutionRole, ExecutionRoleArgs
from .fsx import Fsx, FsxArgs
from .fsx_volume import FsxVolume, FsxVolumeArgs
from .hyperpod_cluster import HyperPodCluster, HyperPodClusterArgs
from .hyperpod_dependencies import HyperPodDependencies, HyperPodDependenciesArgs
from .ldaps_endpoint import LdapsEndpoint, LdapsEndpointArgs
from .lifecycle_bucket import LifecycleBucket, LifecycleBucketArgs
from .login_access import LoginAccess, LoginAccessArgs
from .login_targets import LoginTargets, LoginTargetsArgs
from .network import Network, NetworkArgs
from .task_governance import TaskGovernance, TaskGovernanceArgs
from .team_access import TeamAccess, TeamAccessArgs
from .team_data import BucketDelegation, BucketDelegationArgs, TeamData, TeamDataArgs

__all__ = [
    "Access",
    "AccessArgs",
    "BucketDelegation",
    "BucketDelegationArgs",
    "ClientVpn",
    "ClientVpnArgs",
    "ConfigError",
    "Directory",
    "DirectoryAdminHost",
    "DirectoryAdminHostArgs",
    "DirectoryArgs",
    "DirectoryConnection",
    "DirectoryConnectionArgs",
    "DirectoryContents",
    "DirectoryContentsArgs",
    "EksControlPlane",
    "EksControlPlaneArgs",
    "EksNodeAddons",
    "EksNodeAddonsArgs",
    "ExecutionRole",
    "ExecutionRoleArgs",
    "FsxVolume",
    "FsxVolumeArgs",
    "HyperPodCluster",
    "HyperPodClusterArgs",
    "HyperPodDependencies",
    "HyperPodDependenciesArgs",
    "LdapsEndpoint",
    "LdapsEndpointArgs",
    "LifecycleBucket",
    "LifecycleBucketArgs",
    "LoginAccess",
    "LoginAccessArgs",
    "LoginTargets",
    "LoginTargetsArgs",
    "Network",
    "NetworkArgs",
    "Problem",
    "Fsx",
    "FsxArgs",
    "TaskGovernance",
    "TaskGovernanceArgs",
    "TeamAccess",
    "TeamAccessArgs",
    "TeamData",
    "TeamDataArgs",
]
