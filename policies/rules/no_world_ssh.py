"""no-world-ssh: no security group anywhere admits SSH from the internet.

A stack policy, because what a group admits is the union of everything that lands on it: inline ``ingress``
of ``aws.ec2.SecurityGroup`` and ``aws.ec2.DefaultSecurityGroup`` (aws-native ``securityGroupIngress``),
``aws.ec2.SecurityGroupRule`` of type ingress, ``aws.vpc.SecurityGroupIngressRule`` and aws-native
``SecurityGroupIngress``, whether they name the group by dependency or by ID. A VPC's default security group
is one group whether a ``DefaultSecurityGroup`` manages it or rules name ``vpc.default_security_group_id``.

For each group and port (TCP 22 by default) the sources of every permission admitting it (all protocols, or
a TCP range covering the port) are pooled: CIDRs, and the entries of the managed prefix lists they name
(``ManagedPrefixList`` entries, ``ManagedPrefixListEntry`` resources, aws-native ``PrefixList``). The group
violates the rule when that union is open to the internet as ``policies/internet.py`` defines it (a large
share of the public IPv4 or IPv6 space), so ``0.0.0.0/1`` + ``128.0.0.0/1``, or two rules with a half each,
count as the whole internet. What the rule cannot see (a CIDR or protocol not known yet, a prefix list that is
not in the stack such as an AWS-managed one) is a "cannot judge" note, never a pass.
"""

from __future__ import annotations

from pulumi_policy import ReportViolation

from ._declare import Config, declare, option
from ._lib import Graph, SecurityGroups, Verdicts

NAME = "no-world-ssh"
CONFIG = {"ports": option([22], "TCP ports never open to the internet.", items="integer")}

DESCRIPTION = (
    "No security group admits SSH (TCP 22) from the internet: the union of a group's sources for the port "
    "(CIDRs, managed prefix list entries, inline and separate rules, default security groups included) must "
    "not cover the public internet."
)
REMEDIATION = (
    "Restrict the source to the networks that need SSH (a VPN or corporate CIDR, or a security group), or "
    "reach nodes through SSM Session Manager or the internal login load balancer instead."
)


def _validate(graph: Graph, cfg: Config, verdicts: Verdicts, report_violation: ReportViolation) -> None:
    ports = [float(p) for p in cfg.get("ports") or [22]]
    groups = SecurityGroups(graph)
    for group in groups.groups.values():
        for port in ports:
            ex = groups.exposure(group.rules, port)
            if ex.opens:
                origins = sorted(
                    {r.origin.urn: r.origin for r in ex.contributors if r.origin is not None}.values(),
                    key=lambda n: n.name,
                )
                target = origins[0] if len(origins) == 1 or group.node is None else group.node
                what = "; ".join(r.describe() for r in ex.contributors)
                together = f" (together {ex.share()} of the public address space)" if len(ex.contributors) > 1 else ""
                report_violation(
                    f"{group.label} admits {what}: TCP {int(port)} from the internet{together}",
                    target.urn if target is not None else None,
                )
            for note in ex.undecided():
                verdicts.cannot_judge(f"whether {group.label} admits TCP {int(port)} from the internet: {note}")


POLICY = declare(NAME, DESCRIPTION, REMEDIATION, CONFIG, level="mandatory", severity="critical", stack=_validate)
