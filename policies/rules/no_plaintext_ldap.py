"""no-plaintext-ldap: LDAP travels over TLS; plaintext LDAP is reachable only on the LDAPS NLB -> DC path.

Directory traffic goes over LDAPS (636), never plaintext LDAP (389) or the plaintext global catalog (3268;
3269 is the global catalog over TLS). A stack policy, judging:

- Listeners of every kind of load balancer: ``aws.lb.Listener``, ``aws.alb.Listener``, aws-native
  ``elasticloadbalancingv2.Listener`` and the listeners of classic ``aws.elb.LoadBalancer`` and aws-native
  ``elasticloadbalancing.LoadBalancer``. A listener on a plaintext port that does not terminate TLS
  (TCP, UDP, TCP_UDP, HTTP, or no protocol) is a violation. A TLS or HTTPS listener of an ALB/NLB must name
  an SSL policy from the allowed list (TLS 1.2+ with forward secrecy; TLS 1.0/1.1 policies are not allowed).
- Security groups, with all their ingress (inline, rule resources, default groups; see no-world-ssh): a
  permission admitting TCP 389 or 3268 (a range covering it, or all traffic) is allowed only from the security
  group of a directory load balancer (the LDAPS NLB forwarding to the domain controllers; its role as
  nlb-ssh-only-security-groups reads it, with that rule's default tag and name patterns) or from the group
  itself (members of one group, e.g. the cluster's all-traffic EFA rule). Any CIDR, prefix list or other
  group is a violation.

The NLB's own plaintext leg to the domain controllers (a TCP 389 target group, egress to the DCs on 389) is
that path and is not judged.
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import ReportViolation

from ._declare import Config, declare, option
from ._lib import UNKNOWN, Graph, Node, SecurityGroups, Verdicts, number
from .nlb_ssh_only_security_groups import DEFAULTS as NLB_DEFAULTS
from .nlb_ssh_only_security_groups import LB_TYPES, role_of

NAME = "no-plaintext-ldap"
V2_LISTENERS = {"aws:lb/listener:Listener", "aws:alb/listener:Listener", "aws-native:elasticloadbalancingv2:Listener"}
# classic load balancers: type -> (listener port key, listener protocol key)
CLASSIC = {
    "aws:elb/loadBalancer:LoadBalancer": ("lbPort", "lbProtocol"),
    "aws-native:elasticloadbalancing:LoadBalancer": ("loadBalancerPort", "protocol"),
}
TLS_PROTOCOLS = {"TLS", "HTTPS", "SSL"}
CONFIG = {
    "plaintextPorts": option(
        [389, 3268],
        "Ports that carry plaintext LDAP (389) and the plaintext global catalog (3268).",
        items="integer",
    ),
    "allowedSslPolicies": option(
        [
            "ELBSecurityPolicy-TLS13-1-2-2021-06",
            "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
            "ELBSecurityPolicy-TLS13-1-3-2021-06",
            "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
            "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04",
            "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
        ],
        "SSL policies a TLS/HTTPS listener may use.",
    ),
}

DESCRIPTION = (
    "No plaintext LDAP: no load balancer listener of any kind serves LDAP (389) or the global catalog (3268) "
    "without TLS, no security group admits 389/3268 except from the directory load balancer's group (the "
    "LDAPS NLB to domain controller path), and TLS listeners use a current TLS policy (TLS 1.2 or later)."
)
REMEDIATION = (
    "Serve the directory over LDAPS: a TLS listener on 636 (global catalog: 3269) with ssl_policy "
    "'ELBSecurityPolicy-TLS13-1-2-2021-06' (or a TCP passthrough listener on 636), and remove 389/3268 "
    "listeners. Set ssl_policy explicitly on every TLS/HTTPS listener. Admit 389/3268 on a domain "
    "controller's group only from the directory NLB's security group."
)


def _listener(where: str, port: Any, protocol: Any, plaintext: set[float], verdicts: Verdicts, what: str) -> list[str]:
    """Violations of one listener on its port and protocol."""
    if port is UNKNOWN:
        verdicts.cannot_judge(f"the port of {where} is not known yet")
        return []
    p = number(port)
    if p not in plaintext:
        return []
    if protocol is UNKNOWN:
        verdicts.cannot_judge(f"the protocol of {where} (port {int(p)}) is not known yet")
        return []
    proto = str(protocol or "").upper()
    if proto in TLS_PROTOCOLS:
        return []
    return [f"{what}listens on port {int(p)} (plaintext LDAP) over {proto or 'no protocol'}, no TLS; use LDAPS on 636"]


def _tls_policy(props: dict[str, Any], cfg: dict[str, Any], verdicts: Verdicts, where: str) -> list[str]:
    protocol, policy = props.get("protocol"), props.get("sslPolicy")
    if protocol is UNKNOWN:
        verdicts.cannot_judge(f"the protocol of {where} is not known yet")
        return []
    if not (isinstance(protocol, str) and protocol.upper() in ("TLS", "HTTPS")):
        return []
    allowed = [str(p) for p in cfg.get("allowedSslPolicies") or []]
    if policy is UNKNOWN:
        verdicts.cannot_judge(f"the SSL policy of {where} is not known yet")
        return []
    if not policy:
        return [f"is a {protocol.upper()} listener without an explicit ssl_policy; set one of: {', '.join(allowed)}"]
    if policy not in allowed:
        return [f"uses SSL policy {policy}, which is not current; use one of: {', '.join(allowed)}"]
    return []


def _directory_groups(graph: Graph, groups: SecurityGroups) -> set[Any]:
    out: set[Any] = set()
    for lb in graph.of_type(*LB_TYPES):
        if role_of(lb, NLB_DEFAULTS) == "directory":
            out.update(groups.targets(lb, "securityGroups")[0])
    return out


def _validate(graph: Graph, cfg: Config, verdicts: Verdicts, report_violation: ReportViolation) -> None:
    plaintext = {float(p) for p in cfg.get("plaintextPorts") or []}

    def report(node: Node, problems: list[str]) -> None:
        if problems:
            report_violation("; ".join(dict.fromkeys(problems)), node.urn)

    for node in graph.nodes:
        if node.type in V2_LISTENERS:
            p = node.props
            problems = _listener(node.label, p.get("port"), p.get("protocol"), plaintext, verdicts, "")
            report(node, problems + _tls_policy(p, cfg, verdicts, node.label))
        elif node.type in CLASSIC:
            port_key, proto_key = CLASSIC[node.type]
            listeners = node.props.get("listeners")
            if listeners is UNKNOWN:
                verdicts.cannot_judge(f"the listeners of {node.label} are not known yet")
                continue
            problems = []
            for i, li in enumerate(listeners if isinstance(listeners, list) else []):
                where = f"{node.label} listener {i}"
                if not isinstance(li, dict):
                    verdicts.cannot_judge(f"{where} is not known yet")
                    continue
                problems += _listener(where, li.get(port_key), li.get(proto_key), plaintext, verdicts, f"listener {i} ")
            report(node, problems)

    groups = SecurityGroups(graph)
    allowed = _directory_groups(graph, groups)
    for key, group in groups.groups.items():
        for port in sorted(plaintext):
            bad: list[tuple[Node, str]] = []
            for rule in group.rules:
                covers = rule.covers_port(port)
                if covers is False:
                    continue
                others = []
                for kind, value in rule.sources:
                    if kind == "self":
                        continue
                    if kind == "sg":
                        sources = groups.source_groups(rule, value)
                        if sources is None:
                            verdicts.cannot_judge(f"the source group of {rule.where} is not known yet")
                            continue
                        if all(s == key or s in allowed for s in sources):
                            continue
                    others.append((kind, value))
                if not others:
                    continue
                if covers is UNKNOWN:
                    verdicts.cannot_judge(
                        f"whether {rule.where} admits TCP {int(port)}: its protocol or ports are not known yet"
                    )
                    continue
                srcs = ", ".join(str(v) if k.startswith("cidr") else f"{k} {v}" for k, v in others)
                bad.append(
                    (
                        rule.origin,
                        f"{group.label} admits {rule.describe()}: plaintext LDAP (TCP {int(port)}) from {srcs}; "
                        "only the directory load balancer's group may reach 389/3268",
                    )
                )
            for origin, text in bad:
                target = origin or group.node
                if target is not None:
                    report_violation(text, target.urn)
                else:
                    report_violation(text)


POLICY = declare(NAME, DESCRIPTION, REMEDIATION, CONFIG, level="mandatory", severity="high", stack=_validate)
