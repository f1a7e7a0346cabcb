"""The shipped program plus one more ingress rule on the login load balancer's security group.

For ``scripts/preview --program tests/policy_programs/login_nlb_stack.py``. ``LOGIN_INGRESS`` (environment)
chooses the rule: ``http`` admits TCP 80 from the office network, ``world`` admits TCP 22 from 0.0.0.0/0,
``none`` adds nothing. The rule goes on the login NLB's group of the stack (``LoginAccess``); if the program
has none, a minimal internal login NLB in the private subnets stands in for it.
"""

import os
import sys
from pathlib import Path

import pulumi_aws as aws

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
import stack_config  # noqa: E402 - the program's own layers, from the repository
from wiring import slurm  # noqa: E402
from wiring.common import base  # noqa: E402

settings = stack_config.load()
shared = base(settings)
slurm.platform(settings, shared)  # the shipped Slurm program's components (its exports are not needed here)
net = shared.network
group = getattr(shared.parts.get("login"), "security_group", None)
if group is None:
    group = aws.ec2.SecurityGroup("acceptance-login-sg", vpc_id=net.vpc_id, description="login NLB")
    aws.vpc.SecurityGroupIngressRule(
        "acceptance-login-ssh",
        security_group_id=group.id,
        ip_protocol="tcp",
        from_port=22,
        to_port=22,
        cidr_ipv4="192.168.100.0/24",
    )
    aws.lb.LoadBalancer(
        "acceptance-login",
        load_balancer_type="network",
        internal=True,
        subnets=[s.id for s in net.private_subnets],
        security_groups=[group.id],
    )

variant = os.environ.get("LOGIN_INGRESS", "http")
if variant == "http":
    aws.vpc.SecurityGroupIngressRule(
        "acceptance-login-http",
        security_group_id=group.id,
        ip_protocol="tcp",
        from_port=80,
        to_port=80,
        cidr_ipv4="192.168.100.0/24",
    )
elif variant == "world":
    aws.vpc.SecurityGroupIngressRule(
        "acceptance-login-world",
        security_group_id=group.id,
        ip_protocol="tcp",
        from_port=22,
        to_port=22,
        cidr_ipv4="0.0.0.0/0",
    )
