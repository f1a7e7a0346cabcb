"""behaviour-authorization: every call the platform's runtime makes is allowed by IAM as AWS evaluates it.

For each call a component's runtime makes (HyperPod and the VPC CNI with the execution role, image pulls, the
lifecycle scripts, the login nodes keeping their own NLB target, EKS Pod Identity, team pods in the data
account), the effective decision of

- the caller's identity policies (the inline and customer-managed policies of the stack; AWS-managed ones
  are not counted: their text is not in the plan, so every call must be allowed by the stack's own grants),
- the S3 gateway endpoint's policy, for S3 calls from the VPC (it must allow the call on every resource),
- the resource's policy where the stack has one (bucket policy, access point policy, secret policy, a role's
  trust),

evaluated as IAM does: an explicit Deny anywhere denies; the endpoint must allow; in the resource's account
the identity or the resource policy allows, across accounts both must. An action that names several resource
types (``ec2:AttachNetworkInterface``: instance and network interface) is allowed only if each is. A condition
is evaluated with the keys that exist for that action and resource type only (parliament's
``iam_definition.json``, the IAM service reference as data): a key the resource type does not define is absent
from the request, so ``ArnEquals ec2:Vpc`` is false for ``instance/*``. Operators: String*, Arn*, Bool, Null,
with ``IfExists`` and ``ForAnyValue:``/``ForAllValues:``; Action/NotAction, Resource/NotResource and
Principal/NotPrincipal with IAM's wildcards.

Each call is proved (``"<caller>: <action> on <resource>"``) or reported on the policy's resource with why it
is denied and the fix; a value not known yet (preview) is "cannot judge".
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Optional

from ._behaviour import Findings, declare_behaviour
from ._declare import Config
from ._iam import documents, is_allow, is_deny, strings, wildcard_match
from ._lib import UNKNOWN, Graph, Node, as_list, collect, has_unknown, parse_document, statements

NAME = "behaviour-authorization"
DESCRIPTION = (
    "Every call the platform's runtime makes (HyperPod and the VPC CNI with the execution role, image pulls, "
    "the lifecycle scripts, EKS Pod Identity, team pods reading their data) is allowed by the identity policy, "
    "the S3 endpoint policy and the resource policy together, with the condition keys each resource type has."
)
REMEDIATION = (
    "Read the call and the reason: allow an action that names several resource types in one statement per "
    "resource type, with only condition keys that resource type defines (parliament's iam_definition.json); "
    "let the S3 endpoint policy allow AWS-owned buckets read with requests AWS signs (ECR layers); grant what "
    "the call needs on the resource the runtime uses; narrow a Deny that catches the platform's own caller."
)

ROLE_TYPES = ("aws:iam/role:Role", "aws-native:iam:Role")
ROLE_POLICY_TYPES = ("aws:iam/rolePolicy:RolePolicy", "aws-native:iam:RolePolicy")
ATTACHMENT_TYPES = ("aws:iam/rolePolicyAttachment:RolePolicyAttachment",)
POLICY_TYPES = ("aws:iam/policy:Policy", "aws-native:iam:ManagedPolicy")
CLUSTER_TYPES = ("aws-native:sagemaker:Cluster",)
SUBNET_TYPES = ("aws:ec2/subnet:Subnet",)
SG_TYPES = ("aws:ec2/securityGroup:SecurityGroup",)
VPC_TYPES = ("aws:ec2/vpc:Vpc",)
ENDPOINT_TYPES = ("aws:ec2/vpcEndpoint:VpcEndpoint",)
BUCKET_TYPES = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
BUCKET_POLICY_TYPES = ("aws:s3/bucketPolicy:BucketPolicy",)
OBJECT_TYPES = ("aws:s3/bucketObjectv2:BucketObjectv2", "aws:s3/bucketObject:BucketObject")
SECRET_POLICY_TYPES = ("aws:secretsmanager/secretPolicy:SecretPolicy",)
PARAMETER_TYPES = ("aws:ssm/parameter:Parameter",)
ACCESS_POINT_TYPES = ("aws:s3/accessPoint:AccessPoint",)
ACCESS_POINT_POLICY_TYPES = ("aws:s3control/accessPointPolicy:AccessPointPolicy",)
POD_IDENTITY_TYPES = ("aws:eks/podIdentityAssociation:PodIdentityAssociation",)
TARGET_GROUP_TYPES = ("aws:lb/targetGroup:TargetGroup", "aws:alb/targetGroup:TargetGroup")

AWS_OWNED = "<an AWS-owned account>"
"""The account of a principal or resource AWS owns (ECR's layer-URL signer, the agents' registries)."""
SECRET_ARN = re.compile(r"^arn:[a-z-]+:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$")


# ---------------------------------------------------------------- the IAM service reference as data
@lru_cache(maxsize=1)
def iam_keys() -> dict[str, dict[str, dict[str, tuple[str, ...]]]]:
    """service prefix -> action -> resource type ('' for the action's own keys) -> condition keys, all in lower
    case, from parliament's ``iam_definition.json`` (loaded once, with parliament; the advisory parliament rule
    loads the same module)."""
    import parliament

    out: dict[str, dict[str, dict[str, set[str]]]] = {}
    for service in parliament.iam_definition:
        actions = out.setdefault(service["prefix"].lower(), {})
        for privilege in service["privileges"]:
            types = actions.setdefault(privilege["privilege"].lower(), {})
            for rt in privilege["resource_types"]:
                keys = types.setdefault(rt["resource_type"].rstrip("*").lower(), set())
                keys.update(k.lower() for k in rt["condition_keys"])
    return {s: {a: {t: tuple(sorted(k)) for t, k in ts.items()} for a, ts in acts.items()} for s, acts in out.items()}


# Load the IAM data in the background while the pack waits for its first request (AnalyzeStack comes last).
threading.Thread(target=iam_keys, name="iam-keys-warm-up", daemon=True).start()

_TAGGED = ("aws:requesttag/", "aws:resourcetag/", "aws:tagkeys")


def _key_matches(pattern: str, key: str) -> bool:
    """A key of the data (``aws:requesttag/${tagkey}``, ``s3:existingobjecttag/<key>``) covers ``key``."""
    m = re.search(r"\$\{[^}]*\}|<[^>]*>", pattern)
    return key.startswith(pattern[: m.start()]) if m else key == pattern


def key_applies(action: str, resource_type: str, key: str) -> Optional[bool]:
    """Whether condition ``key`` exists in a request for ``action`` on ``resource_type`` (global ``aws:`` keys
    always; the tag keys and service keys where the IAM data lists them); None for an action the data lacks."""
    key = key.lower()
    if key.startswith("aws:") and not key.startswith(_TAGGED):
        return True
    service, _, act = action.lower().partition(":")
    types = iam_keys().get(service, {}).get(act)
    if types is None:
        return None
    keys = types.get(resource_type.lower(), ()) + types.get("", ())
    return any(_key_matches(k, key) for k in keys)


def resource_types(action: str) -> Optional[list[str]]:
    """The resource types ``action`` takes (as the data names them); None for an action the data lacks."""
    service, _, act = action.lower().partition(":")
    types = iam_keys().get(service, {}).get(act)
    return None if types is None else [t for t in types if t]


# ---------------------------------------------------------------- a call and its evaluation
@dataclass
class Principal:
    label: str
    arn: Optional[str] = None  # an IAM role (its sessions are matched by the role's ARN, as aws:PrincipalArn)
    account: Optional[str] = None
    service: Optional[str] = None  # a service principal (pods.eks.amazonaws.com)


@dataclass
class Doc:
    label: str
    node: Optional[Node]
    doc: Any  # a parsed document, or UNKNOWN
    kind: str  # "identity", "resource", "endpoint", "trust"


@dataclass
class Target:
    """One resource a call names: its type (as in the IAM data), ARN, account, and its resource policies."""

    type: str
    arn: Any
    account: Optional[str]
    policies: list[Doc] = field(default_factory=list)
    granted_by_owner: Optional[str] = None  # a resource policy the stack cannot see that allows the call
    grant: Optional[str] = None  # what a grant names (default: the ARN's parent with /*)


@dataclass
class Call:
    caller: str
    action: str
    targets: list[Target]
    principal: Principal
    context: dict[str, Any]  # condition key (lower case) -> value(s) the request carries
    identity: Optional[list[Doc]]  # None: not the stack's principal (its policies are its owner's)
    endpoint: Optional[Doc] = None
    unseen: list[str] = field(default_factory=list)  # managed policies whose text is not in the plan
    report_on: Optional[Node] = None
    what: Optional[str] = None  # how the call is named in its proof (default: the first target's ARN)


def _values(v: Any) -> list[str]:
    return [str(x).lower() if isinstance(x, bool) else str(x) for x in as_list(v)]


def _substitute(value: str, ctx: dict[str, Any]) -> str:
    def var(m: re.Match) -> str:
        got = ctx.get(m.group(1).lower())
        return _values(got)[0] if got is not None and _values(got) else m.group(0)

    return re.sub(r"\$\{([^}*?$]+)\}", var, value)


def _match_one(base: str, pattern: str, value: str) -> bool:
    if base in ("StringEquals", "ArnEquals", "ArnLike", "StringLike"):
        return wildcard_match(pattern, value) if base != "StringEquals" else pattern == value
    if base == "StringEqualsIgnoreCase":
        return pattern.lower() == value.lower()
    if base == "Bool":
        return pattern.lower() == value.lower()
    raise KeyError(base)


NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}


def _condition(op: str, key: str, wanted: list[str], present: Optional[list[str]]) -> Optional[bool]:
    """One condition against the request's values of ``key`` (None: absent); None for an operator not modelled."""
    qualifier, _, base = op.rpartition(":")
    if_exists = base.endswith("IfExists")
    base = base[: -len("IfExists")] if if_exists else base
    if base == "Null":
        absent = present is None
        return all((w.lower() == "true") == absent for w in wanted)
    negated = base in NEGATED
    positive = NEGATED.get(base, base)
    if positive not in ("StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike", "Bool"):
        return None
    if present is None:  # absent: true for ...IfExists and ForAllValues, false for ForAnyValue, true if negated
        if if_exists or qualifier == "ForAllValues":
            return True
        return negated and qualifier != "ForAnyValue"
    if qualifier == "ForAllValues":
        hit = all(any(_match_one(positive, w, v) for w in wanted) for v in present)
    else:
        hit = any(_match_one(positive, w, v) for w in wanted for v in present)
    return not hit if negated else hit


@dataclass
class Outcome:
    allow: list[str] = field(default_factory=list)
    deny: list[str] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)  # why a statement that names the call does not apply
    unjudged: list[str] = field(default_factory=list)


def _principal_in(value: Any, p: Principal) -> bool:
    if value == "*":
        return True
    if not isinstance(value, dict):
        return False
    for v in strings(value.get("AWS")):
        if v == "*" or (p.arn and v == p.arn) or (p.account and (v == p.account or v.endswith(f"::{p.account}:root"))):
            return True
    return bool(p.service) and p.service in strings(value.get("Service"))


def _statement_names(st: dict, kind: str, action: str, arn: str, p: Principal) -> bool:
    if "NotAction" in st:
        if any(wildcard_match(a, action, ignore_case=True) for a in strings(st["NotAction"])):
            return False
    elif not any(wildcard_match(a, action, ignore_case=True) for a in strings(st.get("Action"))):
        return False
    if "NotResource" in st:
        if any(wildcard_match(r, arn) for r in strings(st["NotResource"])):
            return False
    elif "Resource" in st or kind != "trust":
        if not any(wildcard_match(r, arn) for r in strings(st.get("Resource"))):
            return False
    if kind == "identity":
        return True
    if "NotPrincipal" in st:
        return not _principal_in(st["NotPrincipal"], p)
    return "Principal" not in st or _principal_in(st["Principal"], p)


def evaluate_doc(doc: Doc, call: Call, target: Target) -> Outcome:
    """Which statements of ``doc`` allow or deny ``call`` on ``target``, and why the others that name it do not."""
    out = Outcome()
    arn = str(target.arn)
    for i, st in enumerate(statements(doc.doc)):
        sid = st.get("Sid") or f"#{i}"
        if not _statement_names(st, doc.kind, call.action, arn, call.principal):
            continue
        failed = None
        cond = st.get("Condition") if isinstance(st.get("Condition"), dict) else {}
        for op, block in cond.items():
            for key, wanted in (block or {}).items() if isinstance(block, dict) else []:
                k = str(key).lower()
                applies = key_applies(call.action, target.type, k)
                present = _values(call.context[k]) if applies and call.context.get(k) is not None else None
                want = [_substitute(w, call.context) for w in _values(wanted)]
                ok = _condition(str(op), k, want, present) if applies is not None else None
                if ok is None:
                    why = (
                        f"operator {op} is not modelled"
                        if applies is not None
                        else f"{call.action} is not in the IAM data"
                    )
                    out.unjudged.append(f"statement {sid} of {doc.label}: {why}")
                    failed = ""
                elif not ok:
                    if applies is False:
                        failed = (
                            f"statement {sid} of {doc.label} requires {op} {key}, but {key} is not a condition key "
                            f"of {call.action} on resource type {target.type} (IAM reference), so it is absent and "
                            "the condition is false"
                        )
                    elif present is None:
                        failed = (
                            f"statement {sid} of {doc.label} requires {op} {key} {want}; the request carries no {key}"
                        )
                    else:
                        failed = (
                            f"statement {sid} of {doc.label} requires {op} {key} {want}; the request carries {present}"
                        )
                if failed is not None:
                    break
            if failed is not None:
                break
        if failed is None:
            (out.deny if is_deny(st) else out.allow if is_allow(st) else out.misses).append(f"{sid} of {doc.label}")
        elif failed and is_allow(st):
            out.misses.append(failed)
    return out


@dataclass
class Verdict:
    allowed: bool
    why: str = ""
    fix: str = ""
    node: Optional[Node] = None
    unknown: Optional[str] = None


def _docs_unknown(docs: list[Doc]) -> Optional[str]:
    for d in docs:
        if d.doc is UNKNOWN or has_unknown(d.doc):
            return f"{d.label} is not known yet"
    return None


def judge(call: Call) -> Verdict:
    """The effective decision on ``call``: every target must be allowed."""
    identity = call.identity or []
    docs = identity + ([call.endpoint] if call.endpoint else []) + [d for t in call.targets for d in t.policies]
    unknown = _docs_unknown(docs)
    if unknown is None and has_unknown([t.arn for t in call.targets] + [call.principal.arn, call.principal.account]):
        unknown = "a resource or principal ARN is not known yet"
    if unknown is None and has_unknown(list(call.context.values())):
        unknown = "a value the request carries is not known yet"
    if unknown:
        return Verdict(False, unknown=unknown)
    role_node = identity[0].node if identity else call.report_on
    for t in call.targets:
        where = f"{call.action} on {t.arn} ({t.type or 'no resource type'})"
        by_identity = [(d, evaluate_doc(d, call, t)) for d in identity]
        by_resource = [(d, evaluate_doc(d, call, t)) for d in t.policies]
        at_endpoint = evaluate_doc(call.endpoint, call, t) if call.endpoint is not None else None
        results = by_identity + by_resource + ([(call.endpoint, at_endpoint)] if at_endpoint else [])
        for _d, r in results:
            if r.unjudged:
                return Verdict(False, unknown="; ".join(r.unjudged))
        for d, r in results:
            if r.deny:
                return Verdict(
                    False,
                    f"{where}: explicitly denied by statement {r.deny[0]}",
                    f"narrow that Deny so that it does not catch {call.principal.label}",
                    d.node,
                )
        if at_endpoint is not None:
            if not at_endpoint.allow:
                reason = "; ".join(at_endpoint.misses) or "no statement allows it"
                return Verdict(
                    False,
                    f"{where}: the S3 gateway endpoint's policy ({call.endpoint.label}) does not allow it ({reason})",
                    f"allow {call.action} on {_pattern_of(t.arn)} in the endpoint policy"
                    + (
                        " with no aws:PrincipalAccount condition: AWS signs these requests"
                        if call.identity is None
                        else ""
                    ),
                    call.endpoint.node,
                )
        id_ok = call.identity is None or any(r.allow for _, r in by_identity)
        res_ok = t.granted_by_owner is not None or any(r.allow for _, r in by_resource)
        same_account = t.account is not None and t.account == call.principal.account
        trust = any(d.kind == "trust" for d in t.policies)
        if trust:
            ok = res_ok and (id_ok or call.principal.service is not None)
        elif same_account:
            ok = id_ok or res_ok
        else:
            ok = id_ok and res_ok
        if ok:
            continue
        misses = [m for _, r in by_identity + by_resource for m in r.misses]
        unseen = f" (AWS-managed policies attached, not counted: {', '.join(call.unseen)})" if call.unseen else ""
        if trust and not res_ok:
            d = next(d for d in t.policies if d.kind == "trust")
            return Verdict(
                False,
                f"{where}: the trust ({d.label}) does not let {call.principal.label} assume it"
                + (f" ({'; '.join(misses)})" if misses else ""),
                _trust_fix(call, t, misses),
                d.node,
            )
        if not id_ok:
            near = next((d for d, r in by_identity if r.misses), None)  # the policy whose statement came closest
            return Verdict(
                False,
                f"{where}: no identity policy of {call.principal.label} allows it"
                + (f" ({'; '.join(misses)})" if misses else "")
                + unseen,
                _identity_fix(call, t, misses),
                near.node if near is not None else role_node,
            )
        d = t.policies[0] if t.policies else None
        return Verdict(
            False,
            f"{where}: "
            + (
                f"the resource policy {d.label} does not allow {call.principal.label}"
                if d
                else "no resource policy allows it"
            )
            + f" across accounts ({call.principal.account} -> {t.account})"
            + (f" ({'; '.join(misses)})" if misses else ""),
            "allow the caller in the resource policy (a cross-account call needs both sides)",
            d.node if d else role_node,
        )
    return Verdict(True)


def _pattern_of(arn: Any) -> str:
    """``arn:aws:s3:::bucket/key`` -> ``arn:aws:s3:::bucket/*`` (what a policy names)."""
    s = str(arn)
    return s.rsplit("/", 1)[0] + "/*" if "/" in s else s


def _trust_fix(call: Call, t: Target, misses: list[str]) -> str:
    if any("is not a condition key" in m for m in misses):
        return (
            f"allow {call.action} for {call.principal.label} in a trust statement of its own, without the condition "
            f"keys {call.action} does not have (e.g. sts:TagSession next to an sts:ExternalId-conditioned "
            "sts:AssumeRole, as the EKS User Guide's Pod Identity target-role trust does)"
        )
    return "trust the caller with conditions on keys its request carries"


def _identity_fix(call: Call, t: Target, misses: list[str]) -> str:
    if any("is not a condition key" in m for m in misses):
        keys = sorted(
            set(
                iam_keys()
                .get(call.action.split(":")[0].lower(), {})
                .get(call.action.split(":")[1].lower(), {})
                .get(t.type.lower(), ())
            )
        )
        return (
            f"allow {call.action} on {_pattern_of(t.arn)} in a statement of its own for resource type {t.type}, with "
            f"no condition key that type lacks (its keys for this action: {', '.join(keys) or 'none'}); the other "
            "resource types of the request keep their own conditions"
        )
    return (
        f"grant {call.action} on {t.grant or _pattern_of(t.arn)} to {call.principal.label}, with conditions the "
        "request meets"
    )


# ---------------------------------------------------------------- the stack's calls
def _doc(label: str, node: Optional[Node], raw: Any, kind: str) -> Optional[Doc]:
    doc, error = parse_document(raw)
    if error or doc is None:
        return None
    return Doc(label, node, doc, kind)


def _arn_parts(arn: Any) -> Optional[tuple[str, str, str]]:
    """(partition, region, account) of an ARN with all three."""
    if not isinstance(arn, str):
        return None
    parts = arn.split(":", 5)
    return (parts[1], parts[3], parts[4]) if len(parts) == 6 and parts[3] and parts[4] else None


class Stack:
    """What the calls are built from: the stack's graph, read once."""

    def __init__(self, graph: Graph):
        self.g = graph

    def role(self, node: Node, key: str, arn: Any) -> Optional[Node]:
        roles, _ = self.g.resolve(node, key, [arn], ROLE_TYPES, ("arn",))
        if len(roles) > 1 and isinstance(arn, str):
            roles = [r for r in roles if r.props.get("arn") == arn] or roles
        if not roles and isinstance(arn, str) and ":role/" in arn:
            hit = self.g.by_value(arn.rsplit("/", 1)[-1], ROLE_TYPES, ("name",))
            roles = [hit] if hit else []
        return roles[0] if roles else None

    def identity(self, role: Node) -> tuple[list[Doc], list[str]]:
        """The role's identity documents in the stack, and the AWS-managed policies it has (not counted)."""
        docs: list[Doc] = []
        for where, kind, raw in documents(role.type, role.props):
            if kind == "identity":
                d = _doc(f"{role.name} {where}", role, raw, "identity")
                docs += [d] if d else []
        for rp in self.g.of_type(*ROLE_POLICY_TYPES):
            key = "role" if "role" in rp.props else "roleName"
            if self.g.refers(rp, key, role, ("id", "name", "roleName")):
                for where, _, raw in documents(rp.type, rp.props):
                    d = _doc(f"{rp.name} ({where})", rp, raw, "identity")
                    docs += [d] if d else []
        unseen: list[str] = []
        for att in self.g.of_type(*ATTACHMENT_TYPES):
            if not self.g.refers(att, "role", role, ("id", "name")):
                continue
            arn = att.props.get("policyArn")
            pol = self.g.by_value(arn, POLICY_TYPES, ("arn",)) or next(
                iter(att.deps_of("policyArn", POLICY_TYPES)), None
            )
            if pol is not None:
                for where, _, raw in documents(pol.type, pol.props):
                    d = _doc(f"{pol.name} ({where})", pol, raw, "identity")
                    docs += [d] if d else []
            elif isinstance(arn, str):
                unseen.append(arn.rsplit("/", 1)[-1])
        return docs, unseen

    def trust(self, role: Node) -> Optional[Doc]:
        for _where, kind, raw in documents(role.type, role.props):
            if kind == "trust":
                return _doc(f"the trust of {role.name}", role, raw, "trust") or Doc(role.name, role, None, "trust")
        return None

    def endpoint(self, vpc: Node) -> Optional[Doc]:
        for ep in self.g.of_type(*ENDPOINT_TYPES):
            service = str(ep.props.get("serviceName") or "")
            if str(ep.props.get("vpcEndpointType") or "").lower() != "gateway" or not service.endswith(".s3"):
                continue
            if not self.g.refers(ep, "vpcId", vpc):
                continue
            raw = ep.props.get("policy")
            if raw is None or raw == "":  # no policy: the endpoint's default full access
                raw = {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]}
            doc, _ = parse_document(raw)
            return Doc(f"endpoint {ep.name}", ep, doc, "endpoint")
        return None

    def bucket_policies(self, bucket: str) -> list[Doc]:
        """The policy of ``bucket``: the one the stack writes (a bucket has one policy, which it replaces),
        else one the stack reads."""
        nodes = [
            bp
            for bp in self.g.of_type(*BUCKET_POLICY_TYPES)
            if bp.props.get("bucket") == bucket
            or any(d.props.get("bucket") == bucket for d in bp.deps.get("bucket", []))
        ]
        out = []
        for bp in [bp for bp in nodes if not bp.read] or nodes:
            d = _doc(f"bucket policy {bp.name}", bp, bp.props.get("policy"), "resource")
            out += [d] if d else []
        return out


def _context(principal: Principal, **keys: Any) -> dict[str, Any]:
    ctx: dict[str, Any] = {"aws:securetransport": "true"}
    if principal.arn:
        ctx["aws:principalarn"] = principal.arn
    if principal.account:
        ctx["aws:principalaccount"] = principal.account
    if principal.service:
        ctx["aws:principalservicename"] = principal.service
    ctx.update({k.lower(): v for k, v in keys.items() if v is not None})
    return ctx


def _cluster_calls(stack: Stack, cluster: Node, found: Findings) -> list[Call]:
    g = stack.g
    props = cluster.props
    role_arns = list(dict.fromkeys(v for v in collect(props.get("instanceGroups"), ["*", "executionRole"])))
    roles = [(arn, role) for arn in role_arns if (role := stack.role(cluster, "instanceGroups", arn)) is not None]
    eks_arn = collect(props.get("orchestrator"), ["eks", "clusterArn"])
    eks_arn = eks_arn[0] if eks_arn else None
    pods = g.of_type(*POD_IDENTITY_TYPES) if eks_arn is not None else []
    if not roles and not pods:
        return []  # no role of the stack runs on this cluster: its permissions are its owner's to judge
    subnet_values = collect(props.get("vpcConfig"), ["subnets"])
    subnets, _ = g.resolve(cluster, "vpcConfig", subnet_values, SUBNET_TYPES)
    sg_values = collect(props.get("vpcConfig"), ["securityGroupIds"])
    sgs, _ = g.resolve(cluster, "vpcConfig", sg_values, SG_TYPES)
    vpcs: list[Node] = []
    for s in subnets:
        found_vpcs, _ = g.resolve(s, "vpcId", as_list(s.props.get("vpcId")), VPC_TYPES)
        vpcs += [v for v in found_vpcs if v not in vpcs]
    if not vpcs:
        found.cannot_judge(f"the VPC of cluster {cluster.name} is not known (no subnet of the stack)")
        return []
    vpc = vpcs[0]
    parts = _arn_parts(vpc.props.get("arn"))
    if parts is None:
        found.cannot_judge(f"the ARN of VPC {vpc.name} (cluster {cluster.name}) is not known yet")
        return []
    partition, region, account = parts
    vpc_arn = vpc.props["arn"]
    endpoint = stack.endpoint(vpc)
    vpc_keys = {"aws:SourceVpc": vpc.props.get("id")}
    if endpoint is not None and endpoint.node is not None:
        vpc_keys["aws:SourceVpce"] = endpoint.node.props.get("id")
    calls: list[Call] = []
    for role_arn, role in roles:
        identity, unseen = stack.identity(role)
        who = Principal(f"execution role {role.name}", role_arn, account)
        base = dict(principal=who, identity=identity, unseen=unseen, report_on=role)

        def ec2(
            caller: str, action: str, targets: list[Target], what: Optional[str] = None, who=who, base=base
        ) -> Call:
            ctx = _context(who, **{"ec2:Vpc": vpc_arn, "ec2:Region": region})
            return Call(caller, action, targets, context=ctx, what=what, **base)

        eni = f"arn:{partition}:ec2:{region}:{account}:network-interface/eni-0example"
        new_eni = f"arn:{partition}:ec2:{region}:{account}:network-interface/*"
        instance = f"arn:{partition}:ec2:{region}:{account}:instance/i-0example"
        on_eni = [Target("network-interface", eni, account)]
        both = [Target("instance", instance, account), Target("network-interface", eni, account)]
        creates = [Target("network-interface", new_eni, account)]
        creates += [Target("subnet", s.props.get("arn", UNKNOWN), account) for s in subnets]
        creates += [Target("security-group", s.props.get("arn", UNKNOWN), account) for s in sgs]
        hyperpod = f"HyperPod (cluster {cluster.name}, {role.name})"
        calls.append(ec2(hyperpod, "ec2:CreateNetworkInterface", creates))
        calls.append(
            Call(
                hyperpod,
                "ec2:CreateTags",
                [Target("network-interface", new_eni, account)],
                context=_context(who, **{"ec2:CreateAction": "CreateNetworkInterface", "ec2:Region": region}),
                what=f"{new_eni} (tags at creation)",
                **base,
            )
        )
        for action in (
            "ec2:CreateNetworkInterfacePermission",
            "ec2:DeleteNetworkInterface",
            "ec2:AssignPrivateIpAddresses",
            "ec2:UnassignPrivateIpAddresses",
        ):
            calls.append(ec2(hyperpod, action, on_eni))
        calls.append(ec2(hyperpod, "ec2:DetachNetworkInterface", both))
        for action in (
            "ec2:DescribeNetworkInterfaces",
            "ec2:DescribeVpcs",
            "ec2:DescribeSubnets",
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeDhcpOptions",
        ):
            calls.append(ec2(hyperpod, action, [Target("", "*", account)]))
        calls += _lifecycle_calls(stack, cluster, who, base, partition, region, account, endpoint, vpc_keys)
        calls += _login_target_calls(stack, cluster, role_arn, who, base, region, account)
        if isinstance(eks_arn, str) or eks_arn is UNKNOWN:
            cni = f"VPC CNI (EKS nodes of {cluster.name}, {role.name})"
            calls.append(ec2(cni, "ec2:CreateNetworkInterface", creates))
            calls.append(
                Call(
                    cni,
                    "ec2:CreateTags",
                    [Target("network-interface", new_eni, account)],
                    context=_context(who, **{"ec2:CreateAction": "CreateNetworkInterface", "ec2:Region": region}),
                    what=f"{new_eni} (tags at creation)",
                    **base,
                )
            )
            calls.append(ec2(cni, "ec2:CreateTags", on_eni, what=f"{eni} (TagENI, an existing ENI)"))
            calls.append(ec2(cni, "ec2:AttachNetworkInterface", both))
            calls.append(ec2(cni, "ec2:DetachNetworkInterface", both))
            calls.append(ec2(cni, "ec2:ModifyNetworkInterfaceAttribute", both))
            for action in (
                "ec2:AssignPrivateIpAddresses",
                "ec2:UnassignPrivateIpAddresses",
                "ec2:DeleteNetworkInterface",
            ):
                calls.append(ec2(cni, action, on_eni))
            for action in (
                "ec2:DescribeInstances",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeTags",
                "ec2:DescribeInstanceTypes",
                "ec2:DescribeSubnets",
            ):
                calls.append(ec2(cni, action, [Target("", "*", account)]))
            puller = f"image pulls (EKS nodes of {cluster.name}, {role.name})"
            repo = f"arn:{partition}:ecr:{region}:{AWS_OWNED}:repository/hyperpod-agents"
            owner = "the registry's owner (AWS)"
            calls.append(
                Call(puller, "ecr:GetAuthorizationToken", [Target("", "*", account)], context=_context(who), **base)
            )
            for action in ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"):
                calls.append(
                    Call(
                        puller,
                        action,
                        [Target("repository", repo, AWS_OWNED, granted_by_owner=owner)],
                        context=_context(who),
                        **base,
                    )
                )
            layer = f"arn:{partition}:s3:::prod-{region}-starport-layer-bucket/layer"
            signer = Principal("ECR's signed layer URL (an AWS principal)", None, AWS_OWNED)
            calls.append(
                Call(
                    puller,
                    "s3:GetObject",
                    [Target("object", layer, AWS_OWNED, granted_by_owner="AWS")],
                    principal=signer,
                    context=_context(signer, **vpc_keys),
                    identity=None,
                    endpoint=endpoint,
                    report_on=endpoint.node if endpoint else None,
                )
            )
            agent = f"EKS Pod Identity agent (nodes of {cluster.name}, {role.name})"
            calls.append(
                Call(
                    agent,
                    "eks-auth:AssumeRoleForPodIdentity",
                    [Target("cluster", eks_arn, account)],
                    context=_context(who),
                    **base,
                )
            )
        trust = stack.trust(role)
        sagemaker = Principal("SageMaker (sagemaker.amazonaws.com)", service="sagemaker.amazonaws.com")
        calls.append(
            Call(
                f"SageMaker (cluster {cluster.name})",
                "sts:AssumeRole",
                [Target("role", role_arn, account, [trust] if trust else [])],
                principal=sagemaker,
                # what SageMaker is documented to send: nothing but its service principal
                context={"aws:principalservicename": "sagemaker.amazonaws.com"},
                identity=None,
                report_on=role,
            )
        )
    if isinstance(eks_arn, str):
        calls += _pod_calls(stack, eks_arn, partition, region, account, endpoint, vpc, vpc_keys, found)
    return calls


def _lifecycle_calls(stack, cluster, who, base, partition, region, account, endpoint, vpc_keys) -> list[Call]:
    g = stack.g
    calls: list[Call] = []
    caller = f"lifecycle scripts (cluster {cluster.name}, {who.label})"
    uris = set()
    for group in as_list(cluster.props.get("instanceGroups")):
        lc = group.get("lifeCycleConfig") if isinstance(group, dict) else None
        if isinstance(lc, dict):
            script = lc.get("onCreate") or lc.get("onInitComplete")
            uris.add((lc.get("sourceS3Uri"), script))
    for uri, script in sorted(uris, key=str):
        if not isinstance(uri, str) or not uri.startswith("s3://"):
            continue
        bucket, _, prefix = uri[len("s3://") :].partition("/")
        prefix = prefix.strip("/")
        bucket_arn = f"arn:{partition}:s3:::{bucket}"
        policies = stack.bucket_policies(bucket)
        key = f"{prefix}/{script}" if prefix else str(script)
        ctx = _context(who, **vpc_keys)
        calls.append(
            Call(
                caller,
                "s3:GetObject",
                [Target("object", f"{bucket_arn}/{key}", account, policies)],
                context=ctx,
                endpoint=endpoint,
                **base,
            )
        )
        calls.append(
            Call(
                caller,
                "s3:ListBucket",
                [Target("bucket", bucket_arn, account, policies)],
                context={**ctx, "s3:prefix": f"{prefix}/" if prefix else ""},
                endpoint=endpoint,
                what=f"{bucket_arn} (prefix {prefix}/)",
                **base,
            )
        )
        for obj in g.of_type(*OBJECT_TYPES):
            if obj.props.get("bucket") != bucket or not str(obj.props.get("key", "")).endswith("platform.json"):
                continue
            content = obj.props.get("content")
            if content is UNKNOWN:
                calls.append(
                    Call(
                        caller,
                        "secretsmanager:GetSecretValue",
                        [Target("Secret", UNKNOWN, account)],
                        context=ctx,
                        **base,
                    )
                )
                continue
            try:
                data = json.loads(content) if isinstance(content, str) else {}
            except ValueError:
                data = {}
            secrets, params = set(), set()
            _named(data, secrets, params)
            for p in g.of_type(*PARAMETER_TYPES):
                if p.props.get("name") in params:
                    try:
                        _named(json.loads(p.props.get("value") or "{}"), secrets, params)
                    except (TypeError, ValueError):
                        pass
            for name in sorted(params):
                arn = f"arn:{partition}:ssm:{region}:{account}:parameter/{name.lstrip('/')}"
                calls.append(Call(caller, "ssm:GetParameter", [Target("parameter", arn, account)], context=ctx, **base))
            for arn in sorted(secrets):
                pols = []
                for sp in g.of_type(*SECRET_POLICY_TYPES):
                    if sp.props.get("secretArn") == arn:
                        d = _doc(f"secret policy {sp.name}", sp, sp.props.get("policy"), "resource")
                        pols += [d] if d else []
                calls.append(
                    Call(
                        caller,
                        "secretsmanager:GetSecretValue",
                        [Target("Secret", arn, account, pols)],
                        context=ctx,
                        **base,
                    )
                )
    return calls


def _platform_json(g: Graph, cluster: Node) -> list[Any]:
    """The platform.json documents in the cluster's lifecycle buckets (parsed; UNKNOWN when not known yet)."""
    buckets = set()
    for group in as_list(cluster.props.get("instanceGroups")):
        lc = group.get("lifeCycleConfig") if isinstance(group, dict) else None
        uri = lc.get("sourceS3Uri") if isinstance(lc, dict) else None
        if isinstance(uri, str) and uri.startswith("s3://"):
            buckets.add(uri[len("s3://") :].partition("/")[0])
    out: list[Any] = []
    for obj in g.of_type(*OBJECT_TYPES):
        if obj.props.get("bucket") not in buckets or not str(obj.props.get("key", "")).endswith("platform.json"):
            continue
        content = obj.props.get("content")
        if content is UNKNOWN:
            out.append(UNKNOWN)
            continue
        try:
            out.append(json.loads(content) if isinstance(content, str) else {})
        except ValueError:
            out.append({})
    return out


def _login_target_calls(stack, cluster, role_arn, who, base, region, account) -> list[Call]:
    """Lifecycle step 45-login-target.sh on the login nodes run by ``role_arn``: with platform.json's
    ``login`` and ``login_targets`` on, each node reads the targets of the login target group
    (DescribeTargetHealth), registers its own IP (RegisterTargets), looks up which IPs ENIs in the VPC still
    hold (DescribeNetworkInterfaces) and deregisters the others (DeregisterTargets)."""
    g = stack.g
    caller = f"login nodes (cluster {cluster.name}, {who.label})"
    calls: list[Call] = []
    for data in _platform_json(g, cluster):
        if data is UNKNOWN:
            calls.append(
                Call(
                    caller,
                    "elasticloadbalancing:RegisterTargets",
                    [Target("targetgroup", UNKNOWN, account)],
                    context=_context(who),
                    **base,
                )
            )
            continue
        targets = data.get("login_targets") if isinstance(data, dict) else None
        groups = data.get("groups") if isinstance(data, dict) else None
        if not isinstance(targets, dict) or not data.get("login") or not isinstance(groups, dict):
            continue
        logins = {name for name, role in groups.items() if role == "login"}
        runs = [
            gr
            for gr in as_list(cluster.props.get("instanceGroups"))
            if isinstance(gr, dict) and gr.get("instanceGroupName") in logins and gr.get("executionRole") == role_arn
        ]
        if not runs:
            continue
        tg_arn = targets.get("target_group_arn")
        parts = _arn_parts(tg_arn)
        tg_account = parts[2] if parts else None
        tags: dict[str, Any] = {}
        tg = g.by_value(tg_arn, TARGET_GROUP_TYPES, ("arn",)) if isinstance(tg_arn, str) else None
        if tg is not None:
            raw = tg.props.get("tagsAll") or tg.props.get("tags") or {}
            if raw is UNKNOWN:  # the tags a condition may test are not known yet: cannot judge
                tags = {"aws:ResourceTag/*": UNKNOWN}
            elif isinstance(raw, dict):
                tags = {f"aws:ResourceTag/{k}": v for k, v in raw.items()}
                tags.update({f"elasticloadbalancing:ResourceTag/{k}": v for k, v in raw.items()})
        ctx = _context(who, **{"aws:RequestedRegion": region})
        on_group = Target("targetgroup", tg_arn, tg_account, grant=str(tg_arn))
        for action in ("elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"):
            calls.append(
                Call(caller, action, [on_group], context={**ctx, **{k.lower(): v for k, v in tags.items()}}, **base)
            )
        calls.append(
            Call(
                caller,
                "elasticloadbalancing:DescribeTargetHealth",
                [Target("", "*", account)],
                context=ctx,
                what=f"* (the targets of {tg_arn})",
                **base,
            )
        )
        calls.append(
            Call(
                caller,
                "ec2:DescribeNetworkInterfaces",
                [Target("", "*", account)],
                context={**ctx, "ec2:region": region},
                what=f"* (the ENIs of {targets.get('vpc_id')} holding the targets' IPs)",
                **base,
            )
        )
    return calls


def _named(data: Any, secrets: set, params: set) -> None:
    """Secret ARNs and parameter names a node reads, from platform.json or a parameter's JSON value."""
    if isinstance(data, dict):
        for k, v in data.items():
            if isinstance(v, str) and SECRET_ARN.match(v):
                secrets.add(v)
            elif isinstance(v, str) and k.endswith("parameter") and v.startswith("/"):
                params.add(v)
            else:
                _named(v, secrets, params)
    elif isinstance(data, list):
        for v in data:
            _named(v, secrets, params)


def _pod_calls(stack, eks_arn, partition, region, account, endpoint, vpc, vpc_keys, found) -> list[Call]:
    g = stack.g
    calls: list[Call] = []
    eks_name = eks_arn.rsplit("/", 1)[-1]
    for assoc in g.of_type(*POD_IDENTITY_TYPES):
        p = assoc.props
        if p.get("clusterName") not in (eks_name, UNKNOWN):
            continue
        ns, sa = p.get("namespace"), p.get("serviceAccount")
        pods = f"team pods ({ns}/{sa})"
        tags = {}
        if p.get("disableSessionTags") is not True:
            tags = {
                "aws:RequestTag/eks-cluster-arn": eks_arn,
                "aws:RequestTag/eks-cluster-name": p.get("clusterName"),
                "aws:RequestTag/kubernetes-namespace": ns,
                "aws:RequestTag/kubernetes-service-account": sa,
            }
        role_arn = p.get("roleArn")
        data_role = stack.role(assoc, "roleArn", role_arn)
        if data_role is None:  # a role the stack does not manage: its trust and grants are its owner's
            continue
        eks = Principal("EKS Pod Identity (pods.eks.amazonaws.com)", service="pods.eks.amazonaws.com")
        trust = stack.trust(data_role)
        for action in ("sts:AssumeRole", "sts:TagSession"):
            calls.append(
                Call(
                    pods,
                    action,
                    [Target("role", role_arn, account, [trust] if trust else [])],
                    principal=eks,
                    context=_context(eks, **tags),
                    identity=None,
                    report_on=data_role,
                )
            )
        target_arn = p.get("targetRoleArn")
        if not target_arn:
            continue
        target_account = target_arn.split(":")[4] if isinstance(target_arn, str) else UNKNOWN
        target_role = stack.role(assoc, "targetRoleArn", target_arn)
        if target_role is None:  # a target role the stack does not manage (another stack's): not judged here
            continue
        identity, unseen = stack.identity(data_role)
        chain = Principal(f"data-access role {data_role.name}", role_arn, account)
        target_trust = stack.trust(target_role)
        for action in ("sts:AssumeRole", "sts:TagSession"):
            calls.append(
                Call(
                    pods,
                    action,
                    [Target("role", target_arn, target_account, [target_trust] if target_trust else [])],
                    principal=chain,
                    context=_context(chain, **tags, **{"sts:ExternalId": p.get("externalId")}),
                    identity=identity,
                    unseen=unseen,
                    report_on=data_role,
                )
            )
        calls += _team_data_calls(
            stack, pods, target_role, target_arn, target_account, partition, endpoint, vpc, vpc_keys, found
        )
    return calls


def _team_data_calls(stack, pods, target_role, target_arn, target_account, partition, endpoint, vpc, vpc_keys, found):
    g = stack.g
    identity, unseen = stack.identity(target_role)
    who = Principal(f"target role {target_role.name}", target_arn, target_account)
    calls: list[Call] = []
    for ap_policy in g.of_type(*ACCESS_POINT_POLICY_TYPES):
        doc = _doc(f"access point policy {ap_policy.name}", ap_policy, ap_policy.props.get("policy"), "resource")
        if doc is None or doc.doc is UNKNOWN or target_arn not in json.dumps(doc.doc):
            continue
        aps = ap_policy.deps_of("accessPointArn", ACCESS_POINT_TYPES) or [
            a for a in g.of_type(*ACCESS_POINT_TYPES) if a.props.get("arn") == ap_policy.props.get("accessPointArn")
        ]
        if not aps:  # the policy of an access point the stack does not make
            continue
        ap = aps[0]
        region = str(vpc.props.get("arn", "")).split(":")[3] if isinstance(vpc.props.get("arn"), str) else UNKNOWN
        ap_arn = f"arn:{partition}:s3:{region}:{ap.props.get('accountId')}:accesspoint/{ap.props.get('name')}"
        bucket = ap.props.get("bucket")
        prefix = _team_prefix(identity, ap_arn)
        if prefix is None:
            found.cannot_judge(f"{pods}: the prefix {target_role.name} reads through {ap_arn} is not known")
            continue
        origin = collect(ap.props.get("vpcConfiguration"), ["vpcId"])
        if origin and origin[0] is not UNKNOWN and origin[0] != vpc.props.get("id"):
            found.fail(
                ap,
                f"{pods}: s3:GetObject through access point {ap_arn} is denied: it accepts requests only "
                f"from VPC {origin[0]}, and the pods run in {vpc.props.get('id')}. Fix: set the access "
                "point's vpcConfiguration to the cluster VPC",
            )
            continue
        policies = stack.bucket_policies(bucket) if isinstance(bucket, str) else []
        ctx = _context(
            who,
            **vpc_keys,
            **{
                "s3:DataAccessPointAccount": ap.props.get("accountId"),
                "s3:DataAccessPointArn": ap_arn,
                "s3:AccessPointNetworkOrigin": "VPC",
            },
        )
        key = f"{prefix}/example"
        calls.append(
            Call(
                pods,
                "s3:GetObject",
                [
                    Target("object", f"{ap_arn}/object/{key}", target_account, [doc]),
                    Target("object", f"arn:{partition}:s3:::{bucket}/{key}", target_account, policies),
                ],
                principal=who,
                context=ctx,
                identity=identity,
                unseen=unseen,
                endpoint=endpoint,
                report_on=target_role,
                what=f"{ap_arn}/object/{prefix}/*",
            )
        )
        calls.append(
            Call(
                pods,
                "s3:ListBucket",
                [
                    Target("bucket", ap_arn, target_account, [doc]),
                    Target("bucket", f"arn:{partition}:s3:::{bucket}", target_account, policies),
                ],
                principal=who,
                context={**ctx, "s3:prefix": f"{prefix}/"},
                identity=identity,
                unseen=unseen,
                endpoint=endpoint,
                report_on=target_role,
                what=f"{ap_arn} (prefix {prefix}/)",
            )
        )
    return calls


def _team_prefix(identity: list[Doc], ap_arn: str) -> Optional[str]:
    """The key prefix a team's role is granted objects of through its access point."""
    head = f"{ap_arn}/object/"
    for d in identity:
        for st in statements(d.doc):
            for r in strings(st.get("Resource")):
                if r.startswith(head) and r.endswith("/*"):
                    return r[len(head) : -2]
    return None


# ---------------------------------------------------------------- the check
def evaluate(graph: Graph, cfg: Config) -> Findings:
    found = Findings("calls")
    stack = Stack(graph)
    for cluster in graph.of_type(*CLUSTER_TYPES):
        for call in _cluster_calls(stack, cluster, found):
            what = call.what or str(call.targets[0].arn)
            line = f"{call.caller}: {call.action} on {what}"
            verdict = judge(call)
            if verdict.unknown:
                found.cannot_judge(f"{line}: {verdict.unknown}")
            elif verdict.allowed:
                found.prove(line)
            else:
                found.fail(verdict.node or call.report_on, f"{call.caller}: {verdict.why}. Fix: {verdict.fix}")
    return found


POLICY = declare_behaviour(NAME, DESCRIPTION, REMEDIATION, evaluate)


@lru_cache(maxsize=1)
def _arn_templates() -> dict[str, list[tuple[str, re.Pattern[str]]]]:
    """service prefix -> [(resource type, regex of its ARN)], from the IAM data."""
    import parliament

    out: dict[str, list[tuple[str, re.Pattern[str]]]] = {}
    for service in parliament.iam_definition:
        for res in service["resources"]:
            parts = re.split(r"\$\{[^}]*\}", res["arn"])
            body = (
                "[^:]*".join(re.escape(p) for p in parts[:-1]) + (".*" if len(parts) > 1 else "") + re.escape(parts[-1])
            )
            out.setdefault(service["prefix"].lower(), []).append((res["resource"].lower(), re.compile(body)))
    return out


def resource_types_of(action: str, resource: str) -> list[str]:
    """The resource types of ``action`` that a statement's ``Resource`` pattern covers (``*``: all of them, or
    ``""`` for an action without any; a wildcard in an ARN stands for any text there)."""
    types = resource_types(action) or []
    if resource == "*":
        return types or [""]  # "": an action that takes no resource type (Describe*), judged on its own keys
    concrete = resource.replace("*", "x").replace("?", "x")
    service = action.split(":", 1)[0].lower()
    matched = {t for t, rx in _arn_templates().get(service, []) if rx.fullmatch(concrete)}
    return [t for t in types if t in matched]
