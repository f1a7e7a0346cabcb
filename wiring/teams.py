"""Teams sharing an EKS-orchestrated cluster: task governance (the cluster policy, a quota per team), access
from each team's account, and each team's data in its data account."""

import pulumi

import hyperpod_platform as hp
from hyperpod_platform.settings import StackSettings
from hyperpod_platform.team_data import data_account_provider


def governance(s: StackSettings, eks_cluster_name: pulumi.Input[str], cluster_arn: pulumi.Input[str], vpc_id) -> dict:
    """Wire the teams; returns their exports (role ARNs and kubeconfig lines per team)."""
    name, tags = s.cluster.name, s.tag_dict
    hp.TaskGovernance(
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
    delegated: dict[tuple[str, str], pulumi.Input[str]] = {}
    roles, commands = {}, {}
    for team in s.teams:
        access = hp.TeamAccess(
            f"{name}-{team.name}",
            hp.TeamAccessArgs(
                team=team,
                team_account_id=s.accounts[team.account].account_id,
                eks_cluster_name=eks_cluster_name,
                region=s.region,
                tags=tags,
                organization_id=s.governance.organization_id,
            ),
        )
        roles[team.name], commands[team.name] = access.role_arn, access.kubeconfig_command
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
            delegated.setdefault((team.data.account, team.data.bucket), data.bucket_name)
    for (account, bucket), bucket_name in delegated.items():
        hp.BucketDelegation(
            f"{name}-{account}-{bucket}",
            hp.BucketDelegationArgs(
                bucket=bucket_name,
                data_account=s.accounts[account],
                region=s.region,
                data_provider=providers[account],
            ),
        )
    return {"teamAccessRoleArns": roles or None, "teamKubeconfigCommands": commands or None}
