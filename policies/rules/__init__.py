"""The rules of the pack, one module per rule; each module defines ``POLICY``.

``RULES`` is the order in which the pack lists them (``pulumi policy`` output, the README table).
"""

from . import (
    access_points_vpc_only,
    bucket_protection,
    bucket_wildcard_delegation,
    cross_account_trust,
    eks_authentication_mode,
    eks_endpoint_access,
    hyperpod_resilience,
    iam_least_privilege,
    iam_oidc_trust,
    iam_parliament_findings,
    internal_load_balancers,
    nlb_ssh_only_security_groups,
    no_plaintext_ldap,
    no_world_ssh,
    private_subnets,
    quotas_fit_capacity,
    secret_has_resource_policy,
    secret_policy_not_public,
    stateful_protection,
    team_access_namespace_scoped,
)

RULES = [
    private_subnets,
    nlb_ssh_only_security_groups,
    internal_load_balancers,
    no_plaintext_ldap,
    bucket_protection,
    stateful_protection,
    hyperpod_resilience,
    eks_endpoint_access,
    eks_authentication_mode,
    no_world_ssh,
    iam_least_privilege,
    iam_parliament_findings,
    iam_oidc_trust,
    secret_policy_not_public,
    secret_has_resource_policy,
    team_access_namespace_scoped,
    cross_account_trust,
    access_points_vpc_only,
    bucket_wildcard_delegation,
    quotas_fit_capacity,
]
