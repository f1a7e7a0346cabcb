"""Teams sharing an EKS-orchestrated cluster: task governance (the cluster policy, a quota per team), access
from each team's account (with the RBAC its jobs need), the shared file system in each team namespace, and each
team's data in its data account.

SageMaker creates a team's namespace ``hyperpod-ns-<team>`` with its ComputeQuota: what lives in the namespace
(the team's Role, its claim on the FSx volume) takes the namespace as a value carrying the quota
(:func:`hyperpod_platform._args.after`)."""

from dataclasses import replace
from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s

import hyperpod_platform as hp
from hyperpod_platform._args import after
from hyperpod_platform.settings import StackSettings
from hyperpod_platform.team_data import data_account_provider


def governance(
    s: StackSettings,
    eks_cluster_name: pulumi.Input[str],
    cluster_arn: pulumi.Input[str],
    vpc_id,
    *,
    provider: k8s.Provider,
    volume: Optional[hp.FsxVolumeArgs] = None,
) -> dict:
    """Wire the teams; returns their exports (role ARNs, AWS profiles and kubeconfig lines per team).

    ``provider`` is the EKS cluster's Kubernetes provider; ``volume``, when the stack has FSx, the args of its
    FsxVolume, whose claims are made here in ``volume.namespace`` and in every team namespace."""
    name, tags = s.cluster.name, s.tag_dict
    gov = hp.TaskGovernance(
        name,
        hp.TaskGovernanceArgs(
            cluster_name=name,
            eks_cluster_name=eks_cluster_name,
            hyperpod_cluster_arn=cluster_arn,
            settings=s.governance,
            teams=s.teams,
            tags=tags,
        ),
    )
    # One provider per data account and one bucket policy per data bucket, shared by the teams using them.
    data_accounts = sorted({t.data.account for t in s.teams if t.data})
    providers = {a: data_account_provider(f"{name}-account-{a}", s.accounts[a], s.region) for a in data_accounts}
    delegated: dict[tuple[str, str], dict[str, Any]] = {}
    roles, profiles, commands = {}, {}, {}
    namespaces = {t.name: after(t.namespace, [gov.quotas[t.name]]) for t in s.teams}  # exists after its quota
    if volume is not None:
        hp.FsxVolume(name, replace(volume, team_namespaces=namespaces))
    for team in s.teams:
        access = hp.TeamAccess(
            f"{name}-{team.name}",
            hp.TeamAccessArgs(
                team=team,
                team_account_id=s.accounts[team.account].account_id,
                eks_cluster_name=eks_cluster_name,
                region=s.region,
                tags=tags,
                provider=provider,
                namespace=namespaces[team.name],
                organization_id=s.governance.organization_id,
            ),
        )
        roles[team.name], commands[team.name] = access.role_arn, access.kubeconfig_command
        profiles[team.name] = access.aws_profile
        if team.data:
            data = hp.TeamData(
                f"{name}-{team.name}",
                hp.TeamDataArgs(
                    team=team,
                    data_account=s.accounts[team.data.account],
                    eks_cluster_name=eks_cluster_name,
                    vpc_id=vpc_id,
                    region=s.region,
                    tags=tags,
                    data_provider=providers[team.data.account],
                ),
            )
            entry = delegated.setdefault(
                (team.data.account, team.data.bucket), {"name": data.bucket_name, "created": False, "points": []}
            )
            entry["created"] = entry["created"] or team.data.create_bucket
            entry["points"].append(data.access_point_arn)
    # One delegating policy per bucket, to exactly the teams' access points; a bucket the stack does not own
    # keeps the statements it did not write, and keeps its policy when the stack is destroyed.
    for (account, bucket), entry in delegated.items():
        hp.BucketDelegation(
            f"{name}-{account}-{bucket}",
            hp.BucketDelegationArgs(
                bucket=entry["name"],
                data_account=s.accounts[account],
                region=s.region,
                data_provider=providers[account],
                created=entry["created"],
                access_point_arns=entry["points"],
            ),
        )
    return {
        "teamAccessRoleArns": roles or None,
        "teamAwsProfiles": profiles or None,  # ~/.aws/config sections: role_arn, external_id, source_profile
        "teamKubeconfigCommands": commands or None,  # update-kubeconfig --profile: no get-token --role-arn
    }
