"""Small Pulumi programs for the policy pack's tests: each is a function that registers resources.

They use pulumi-aws and aws-native directly and run under mocks (tools.harness.run_program); the tests hand
what they register to the pack through the analyzer protocol (tools.policy_harness). ``COMPLIANT`` and
``VIOLATING`` map each rule to its programs; the two ``*_stack.py`` files are whole stacks for
``scripts/preview --program``.
"""

from __future__ import annotations

from . import buckets, hyperpod, iam, load_balancers, security_groups, stateful, subnets

VIOLATING = {
    "private-subnets": [
        subnets.cluster_in_public_subnet,
        subnets.group_override_in_public_subnet,
        subnets.fsx_in_subnet_with_public_ips,
        subnets.main_route_table_to_igw,
        subnets.inline_route_to_igw,
        subnets.internal_lb_in_public_subnet,
        subnets.client_vpn_in_public_subnet,
        subnets.directory_in_public_subnet,
        subnets.eks_in_public_subnet,
        subnets.read_subnet_with_public_ips,
        subnets.read_subnet_routes_unseen,
        subnets.literal_subnet_id,
        subnets.read_subnet_association_to_igw,
        subnets.read_subnet_main_table_unread,
        subnets.read_subnet_default_route_to_appliance,
    ],
    "nlb-ssh-only-security-groups": [
        load_balancers.login_nlb_admits_http,
        load_balancers.login_nlb_world_ssh,
        load_balancers.directory_nlb_from_outside_vpc,
        load_balancers.directory_nlb_plain_ldap,
        load_balancers.unclassified_nlb,
        load_balancers.tagged_login_nlb_admits_http,
        load_balancers.login_nlb_without_sg,
    ],
    "internal-load-balancers": [load_balancers.internet_facing_nlb],
    "no-plaintext-ldap": [
        load_balancers.ldap_listener_389,
        load_balancers.tls_listener_old_policy,
        load_balancers.tls_listener_without_policy,
    ],
    "bucket-protection": [buckets.bare_bucket, buckets.partial_public_access_block, buckets.policy_without_tls_deny],
    "stateful-protection": [stateful.unprotected_directory, stateful.unprotected_fsx],
    "hyperpod-resilience": [
        hyperpod.node_recovery_none,
        hyperpod.gpu_group_without_checks,
        hyperpod.trainium_group_with_one_check,
    ],
    "no-world-ssh": [
        security_groups.inline_world_ssh,
        security_groups.rule_all_protocols_from_ipv6_world,
        security_groups.vpc_rule_port_range_from_world,
    ],
    "iam-least-privilege": [
        iam.trust_anyone,
        iam.trust_account_root_unconditioned,
        iam.action_star,
        iam.administrator_access,
        iam.malformed_policy,
        iam.native_role_trusts_anyone,
    ],
    "iam-parliament-findings": [iam.unknown_action],
}

COMPLIANT = {
    "private-subnets": [
        subnets.cluster_in_private_subnet,
        subnets.fsx_on_main_route_table,
        subnets.public_things_not_judged,
        subnets.read_subnet_with_association,
        subnets.read_subnet_with_read_association,
        subnets.read_subnet_on_read_main_table,
    ],
    "nlb-ssh-only-security-groups": [
        load_balancers.login_nlb_ssh_only,
        load_balancers.directory_nlb_ldaps_from_vpc,
        load_balancers.internet_facing_alb,
    ],
    "internal-load-balancers": [load_balancers.login_nlb_ssh_only, load_balancers.internet_facing_alb],
    "no-plaintext-ldap": [load_balancers.directory_nlb_ldaps_from_vpc, load_balancers.tls_listener_current_policy],
    "bucket-protection": [buckets.protected_bucket],
    "stateful-protection": [stateful.protected_directory_and_fsx],
    "hyperpod-resilience": [hyperpod.resilient_cluster],
    "no-world-ssh": [security_groups.restricted_ssh, security_groups.world_https_and_egress],
    "iam-least-privilege": [iam.service_role, iam.trust_account_root_with_condition],
    "iam-parliament-findings": [iam.service_role],
}
