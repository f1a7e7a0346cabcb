"""Deploy-time model: the longest dependency path of a plan, weighted by typical creation times per type.

    venv/bin/python -m tools.deploy_model PLAN.json
    venv/bin/python -m tools.deploy_model --stack dev            # builds the plan itself (offline preview)
    venv/bin/python -m tools.deploy_model --config-file FILE

PLAN.json is what `scripts/preview --json` writes. The model is what a first `pulumi up` (everything created,
unlimited parallelism) would take if every resource took its type's typical creation time from DURATIONS.

Scheduling rules, as the Pulumi engine and the Python SDK behave:

- A resource starts when all of its dependencies are created: ``dependencies`` plus every urn in
  ``propertyDependencies``.
- A dependency on a component resource waits for everything under it: all of its descendants, transitively
  (the SDK's ``_expand_dependencies`` does this for local components before it registers, so plans written by
  tools.preview already name only the custom resources; the model expands any component urn it finds anyway).
- A child waits for its parent's URN: a component's URN resolves as soon as it is registered (after its own
  dependencies), a custom parent's only once the parent is created.
- Component resources and reads (``.get()``) take 0 s; unknown custom types take DEFAULT_SECONDS and are
  listed in the report.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIN = 60

DEFAULT_SECONDS = 10
"""Unknown custom types: a small API call plus the provider's read-back (estimate)."""

# type -> (seconds, source / rationale). "estimate" marks figures that are not from AWS documentation.
DURATIONS: dict[str, tuple[float, str]] = {
    # The long poles.
    "aws:directoryservice/directory:Directory": (
        30 * MIN,
        "estimate: Managed Microsoft AD Creating -> Active; alchemy.run DirectoryService docs: "
        "'Microsoft AD 20-40 minutes'; 30 min typical",
    ),
    "aws-native:sagemaker:Cluster": (
        20 * MIN,
        "estimate: HyperPod CreateCluster until InService incl. lifecycle scripts on every node; "
        "alchemy.run SageMaker Cluster docs: 'takes 10-25 minutes'",
    ),
    "aws:fsx/lustreFileSystem:LustreFileSystem": (
        12 * MIN,
        "estimate: FSx for Lustre CREATING -> AVAILABLE, typically 10-15 min for a 1.2 TiB "
        "PERSISTENT_2 file system (the Terraform provider's create timeout is 30 min)",
    ),
    "pulumi-python:dynamic:Resource": (
        3 * MIN,
        "estimate: the only dynamic resource here is DirectoryContents: EnableDirectoryDataAccess "
        "(polled every 10 s) then Directory Service Data calls for users, groups, memberships",
    ),
    "aws:ec2clientvpn/networkAssociation:NetworkAssociation": (
        5 * MIN,
        "estimate: the provider waits until the subnet association is 'associated'; several minutes",
    ),
    "aws:lb/loadBalancer:LoadBalancer": (
        3 * MIN,
        "estimate: NLB provisioning -> active, typically 2-3 min; the provider waits for active",
    ),
    "aws:ec2/natGateway:NatGateway": (
        2 * MIN,
        "estimate: NAT gateway pending -> available, typically 1-2 min; the provider waits",
    ),
    "aws:ec2/instance:Instance": (
        1 * MIN,
        "estimate: RunInstances -> running (the provider waits for running), ~30-60 s",
    ),
    "aws:ec2clientvpn/endpoint:Endpoint": (
        30,
        "estimate: CreateClientVpnEndpoint returns at pending-associate; associations do the waiting",
    ),
    "aws:ec2clientvpn/authorizationRule:AuthorizationRule": (
        30,
        "estimate: the provider waits for the rule to become active",
    ),
    # Networking.
    "aws:ec2/vpc:Vpc": (5, "estimate: CreateVpc is near-instant; the provider waits for available"),
    "aws:ec2/subnet:Subnet": (5, "estimate: CreateSubnet, available within seconds"),
    "aws:ec2/internetGateway:InternetGateway": (5, "estimate: create + attach, seconds"),
    "aws:ec2/eip:Eip": (3, "estimate: AllocateAddress is synchronous"),
    "aws:ec2/routeTable:RouteTable": (3, "estimate: synchronous API call"),
    "aws:ec2/route:Route": (3, "estimate: synchronous API call; the provider waits for the route to appear"),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": (3, "estimate: synchronous API call"),
    "aws:ec2/vpcEndpoint:VpcEndpoint": (
        10,
        "estimate: a Gateway endpoint (S3, the only kind here) is available in seconds; an Interface "
        "endpoint would take ~2 min",
    ),
    "aws:ec2/flowLog:FlowLog": (5, "estimate: synchronous API call"),
    "aws:ec2/securityGroup:SecurityGroup": (5, "estimate: create + default egress revoke, seconds"),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": (3, "estimate: synchronous API call"),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": (3, "estimate: synchronous API call"),
    "aws:lb/targetGroup:TargetGroup": (5, "estimate: synchronous API call"),
    "aws:lb/listener:Listener": (5, "estimate: synchronous API call"),
    "aws:lb/targetGroupAttachment:TargetGroupAttachment": (
        5,
        "estimate: RegisterTargets is synchronous; the provider does not wait for healthy targets",
    ),
    # Identity, certificates, secrets, logs.
    "aws:iam/role:Role": (10, "estimate: CreateRole plus the provider's retries for IAM eventual consistency"),
    "aws:iam/policy:Policy": (5, "estimate: synchronous API call"),
    "aws:iam/rolePolicy:RolePolicy": (5, "estimate: synchronous API call"),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": (5, "estimate: synchronous API call"),
    "aws:acm/certificate:Certificate": (
        5,
        "estimate: ImportCertificate is synchronous (imported certificates need no validation)",
    ),
    "aws:secretsmanager/secret:Secret": (3, "estimate: synchronous API call"),
    "aws:secretsmanager/secretVersion:SecretVersion": (3, "estimate: synchronous API call"),
    "aws:secretsmanager/secretPolicy:SecretPolicy": (3, "estimate: synchronous API call"),
    "aws:ssm/parameter:Parameter": (2, "estimate: synchronous API call"),
    "aws:cloudwatch/logGroup:LogGroup": (2, "estimate: synchronous API call"),
    "aws:cloudwatch/logStream:LogStream": (2, "estimate: synchronous API call"),
    # S3.
    "aws:s3/bucket:Bucket": (5, "estimate: CreateBucket plus the provider's read-back"),
    "aws:s3/bucketObjectv2:BucketObjectv2": (2, "estimate: one small PutObject"),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": (3, "estimate: synchronous API call"),
    "aws:s3/bucketPolicy:BucketPolicy": (3, "estimate: synchronous API call"),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": (3, "estimate: synchronous API call"),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (
        3,
        "estimate: synchronous API call",
    ),
    "aws:s3/bucketVersioning:BucketVersioning": (3, "estimate: synchronous API call"),
    # Local providers: no cloud call.
    "tls:index/privateKey:PrivateKey": (1, "estimate: key generated locally by the tls provider"),
    "tls:index/selfSignedCert:SelfSignedCert": (1, "estimate: signed locally by the tls provider"),
    "tls:index/certRequest:CertRequest": (1, "estimate: built locally by the tls provider"),
    "tls:index/locallySignedCert:LocallySignedCert": (1, "estimate: signed locally by the tls provider"),
    "random:index/randomPassword:RandomPassword": (1, "estimate: generated locally by the random provider"),
}


@dataclass
class Step:
    urn: str
    type: str
    name: str
    seconds: float
    start: float
    finish: float
    unknown: bool = False
    parent_type: str | None = None

    @property
    def short_type(self) -> str:
        """The class name; a dynamic resource is named after the component that holds it."""
        if self.type == "pulumi-python:dynamic:Resource" and self.parent_type:
            return f"{self.parent_type.split(':')[-1]} (dynamic)"
        return self.type.split(":")[-1]


@dataclass
class Model:
    total: float
    path: list[Step]
    steps: dict[str, Step]
    unknown_types: dict[str, list[str]] = field(default_factory=dict)

    def contributors(self, n: int = 5) -> list[Step]:
        return sorted((s for s in self.path if s.seconds > 0), key=lambda s: -s.seconds)[:n]


class PlanCycleError(ValueError):
    pass


def duration(res: dict, table: dict | None = None, default: float = DEFAULT_SECONDS) -> tuple[float, bool]:
    """(seconds, unknown) for one plan resource."""
    table = DURATIONS if table is None else table
    if not res.get("custom", True) or res.get("read"):
        return 0.0, False
    if res["type"] in table:
        entry = table[res["type"]]
        return float(entry[0] if isinstance(entry, tuple) else entry), False
    return float(default), True


def model(resources: list[dict], table: dict | None = None, default: float = DEFAULT_SECONDS) -> Model:
    """Earliest start/finish of every resource and the critical (longest) path."""
    by_urn = {r["urn"]: r for r in resources}
    children: dict[str, list[str]] = {}
    for r in resources:
        if r.get("parent") in by_urn:
            children.setdefault(r["parent"], []).append(r["urn"])

    def ancestors(urn: str) -> set[str]:
        out, cur = set(), by_urn[urn].get("parent")
        while cur in by_urn and cur not in out:
            out.add(cur)
            cur = by_urn[cur].get("parent")
        return out

    def descendants(urn: str) -> list[str]:
        out, todo, seen = [], list(children.get(urn, [])), set()
        while todo:
            u = todo.pop()
            if u in seen:
                continue
            seen.add(u)
            out.append(u)
            todo.extend(children.get(u, []))
        return out

    preds: dict[str, set[str]] = {}
    for r in resources:
        urn = r["urn"]
        direct = set(r.get("dependencies") or [])
        for urns in (r.get("propertyDependencies") or {}).values():
            direct.update(urns or [])
        exclude = {urn} | ancestors(urn)
        waits: set[str] = set()
        for dep in direct:
            if dep not in by_urn:
                continue  # e.g. the Stack, or a provider: not in the plan, nothing to wait for
            if by_urn[dep].get("custom", True):
                waits.add(dep)
            else:  # a component: wait for everything under it
                waits.add(dep)
                waits.update(d for d in descendants(dep) if d not in exclude and urn not in ancestors(d))
        if r.get("parent") in by_urn:
            waits.add(r["parent"])  # its URN: a component's at registration, a custom parent's once created
        waits.discard(urn)
        preds[urn] = waits

    steps: dict[str, Step] = {}
    best_pred: dict[str, str | None] = {}
    state: dict[str, int] = {}  # 1 visiting, 2 done
    unknown: dict[str, list[str]] = {}

    def visit(root: str) -> None:
        stack = [(root, iter(sorted(preds[root])))]
        state[root] = 1
        while stack:
            urn, it = stack[-1]
            nxt = next(it, None)
            if nxt is not None:
                if state.get(nxt) == 1:
                    raise PlanCycleError(f"dependency cycle through {by_urn[nxt]['name']} ({by_urn[nxt]['type']})")
                if state.get(nxt) != 2:
                    state[nxt] = 1
                    stack.append((nxt, iter(sorted(preds[nxt]))))
                continue
            stack.pop()
            r = by_urn[urn]
            start, via = 0.0, None
            for p in sorted(preds[urn]):
                # A component's own step ends at registration (0 s); its children are separate preds above.
                t = steps[p].finish
                if t > start or (via is None and t == start and t > 0):
                    start, via = t, p
            secs, unk = duration(r, table, default)
            if unk:
                unknown.setdefault(r["type"], []).append(r["name"])
            parent = by_urn.get(r.get("parent"))
            steps[urn] = Step(
                urn, r["type"], r["name"], secs, start, start + secs, unk, parent["type"] if parent else None
            )
            best_pred[urn] = via
            state[urn] = 2

    for r in resources:
        if state.get(r["urn"]) != 2:
            visit(r["urn"])

    if not steps:
        return Model(0.0, [], {}, {})
    end = max(steps.values(), key=lambda s: (s.finish, s.seconds)).urn
    path: list[Step] = []
    cur: str | None = end
    while cur is not None:
        path.append(steps[cur])
        cur = best_pred[cur]
    path.reverse()
    return Model(steps[end].finish, path, steps, unknown)


def fmt(seconds: float) -> str:
    if seconds >= MIN:
        m, s = divmod(round(seconds), MIN)
        return f"{m} min" if s == 0 else f"{m} min {s} s"
    return f"{seconds:g} s"


def one_line(m: Model, label: str = "dev", min_seconds: float = 30) -> str:
    """`deploy model (dev, first up): 52 min on the longest path: Directory 30 min -> ...`"""
    shown = [s for s in m.path if s.seconds >= min_seconds]
    rest = [s for s in m.path if 0 < s.seconds < min_seconds]
    hops = " -> ".join(f"{s.short_type} {fmt(s.seconds)}" for s in shown)
    tail = f" (+{len(rest)} short step(s), {fmt(sum(s.seconds for s in rest))})" if rest else ""
    unk = (
        f"; {sum(len(v) for v in m.unknown_types.values())} resource(s) of unknown type at {fmt(DEFAULT_SECONDS)}"
        if m.unknown_types
        else ""
    )
    return f"deploy model ({label}, first up): {fmt(m.total)} on the longest path: {hops}{tail}{unk}"


def report(m: Model, label: str, out=None) -> None:
    out = out or sys.stdout
    print(
        f"Modelled first deploy ({label}): {fmt(m.total)} ({m.total:g} s) on the longest dependency path, "
        f"{len(m.steps)} resources.",
        file=out,
    )
    print("\nCritical path:", file=out)
    for s in m.path:
        flag = "  [unknown type: default]" if s.unknown else ""
        print(f"  {fmt(s.start):>12} +{fmt(s.seconds):>9}  {s.short_type} {s.name}  ({s.type}){flag}", file=out)
    print("\nTop contributors on the critical path:", file=out)
    for s in m.contributors():
        print(
            f"  {fmt(s.seconds):>9}  {100 * s.seconds / m.total if m.total else 0:5.1f}%  {s.short_type} {s.name}",
            file=out,
        )
    if m.unknown_types:
        print(f"\nUnknown types (modelled at the default {fmt(DEFAULT_SECONDS)}; add them to DURATIONS):", file=out)
        for typ, names in sorted(m.unknown_types.items()):
            print(f"  {typ}: {', '.join(sorted(names))}", file=out)
    else:
        print("\nUnknown types: none.", file=out)
    print(f"\n{one_line(m, label)}", file=out)


def build_plan(stack: str | None, config_file: Path | None, out: Path) -> int:
    """Run the offline preview (no policy pack) and write its plan to ``out``; returns its exit code."""
    sys.path.insert(0, str(ROOT))
    from tools import preview

    argv = ["--quiet", "--no-policy", "--json", str(out)]
    argv += ["--config-file", str(config_file)] if config_file else ["--stack", stack or "dev"]
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = preview.main(argv)
    if code != 0:
        sys.stderr.write(buf.getvalue())
    return code


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="tools.deploy_model", description=__doc__.split("\n\n")[0])
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("plan", nargs="?", type=Path, help="a plan written by `scripts/preview --json`")
    src.add_argument("--stack", help="build the plan of Pulumi.<stack>.yaml first")
    src.add_argument("--config-file", type=Path, help="build the plan of this stack config file first")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = args.plan
        if path is None:
            path = Path(tmp) / "plan.json"
            code = build_plan(args.stack, args.config_file, path)
            if code != 0:
                print(f"error: the preview failed (exit {code})", file=sys.stderr)
                return code
        data = json.loads(path.read_text())
    try:
        m = model(data["resources"])
    except PlanCycleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    report(m, data.get("stack") or path.stem)
    return 0


if __name__ == "__main__":
    sys.exit(main())
