"""Run a Pulumi program under mocks and record what it registers.

Shared by ``scripts/preview`` and the tests (``tests/conftest.py``), so both see the program the same way:
every registration with its type, name, parent, dependencies, property dependencies and inputs, as the
engine would receive them over the resource monitor protocol.
"""
from __future__ import annotations

import hashlib
import json
import runpy
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import pulumi
from google.protobuf import json_format
from pulumi.runtime import mocks as pmocks
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # the engine's sentinel for an unknown value
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
SIG_KEY = "4dabf18193072939515e22adb298388d"
ACCOUNT = "123456789012"
DEPLOYER_SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/platform-deployer/ci"  # who runs `pulumi up`
DEPLOYER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/ci/platform-deployer"
PROJECT = "hyperpod-platform"


@dataclass
class Registration:
    """One resource as the engine saw it."""

    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    read: bool
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    inputs: dict[str, Any]
    id: str = ""
    outputs: dict[str, Any] = field(default_factory=dict)
    protect: bool = False
    retain_on_delete: bool = False


def _plain(value: Any) -> Any:
    """Turn engine-encoded values into plain JSON, with secrets and unknowns made visible."""
    if isinstance(value, dict):
        if value.get(SIG_KEY) == SECRET_SIG:
            return {"<secret>": _plain(value.get("value"))}
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if value == UNKNOWN:
        return "<unknown>"
    return value


def redact(value: Any) -> Any:
    """Replace every secret value with a marker."""
    if isinstance(value, dict):
        if "<secret>" in value and len(value) == 1:
            return "<secret>"
        return {k: redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def _struct(msg) -> dict:
    return _plain(json_format.MessageToDict(msg, preserving_proto_field_name=True)) if msg else {}


def _short_id(prefix: str, name: str) -> str:
    return f"{prefix}-{hashlib.sha1(name.encode()).hexdigest()[:17]}"


class AwsMocks(pmocks.Mocks):
    """Fake AWS: echoes inputs and adds the computed attributes the program reads.

    In preview mode computed attributes are unknown, exactly as in a first ``pulumi preview``.
    """

    def __init__(self, region: str, preview: bool, login_nodes: int = 2):
        self.region = region
        self.preview = preview
        self.login_nodes = login_nodes
        self.calls: list[pmocks.MockCallArgs] = []

    def _arn(self, service: str, resource: str, region: bool = True) -> str:
        return f"arn:aws:{service}:{self.region if region else ''}:{ACCOUNT}:{resource}"

    def computed(self, typ: str, name: str, inputs: dict) -> tuple[str, dict]:
        r = self.region
        out: dict[str, Any] = {}
        if typ == "aws:ec2/vpc:Vpc":
            rid = _short_id("vpc", name)
            out = {"arn": self._arn("ec2", f"vpc/{rid}"), "mainRouteTableId": _short_id("rtb", name + "m")}
        elif typ == "aws:ec2/subnet:Subnet":
            rid = _short_id("subnet", name)
            out = {"arn": self._arn("ec2", f"subnet/{rid}")}
        elif typ == "aws:ec2/securityGroup:SecurityGroup":
            rid = _short_id("sg", name)
            out = {"arn": self._arn("ec2", f"security-group/{rid}")}
        elif typ == "aws:ec2/routeTable:RouteTable":
            rid = _short_id("rtb", name)
        elif typ == "aws:ec2/internetGateway:InternetGateway":
            rid = _short_id("igw", name)
        elif typ == "aws:ec2/natGateway:NatGateway":
            rid = _short_id("nat", name)
        elif typ == "aws:ec2/eip:Eip":
            rid = _short_id("eipalloc", name)
            out = {"allocationId": rid, "publicIp": "203.0.113.10"}
        elif typ == "aws:ec2/vpcEndpoint:VpcEndpoint":
            rid = _short_id("vpce", name)
        elif typ == "aws:fsx/lustreFileSystem:LustreFileSystem":
            rid = _short_id("fs", name)
            out = {"dnsName": f"{rid}.fsx.{r}.amazonaws.com", "mountName": "abcdefgh",
                   "arn": self._arn("fsx", f"file-system/{rid}")}
        elif typ == "aws:s3/bucket:Bucket":
            bucket = inputs.get("bucket") or (inputs.get("bucketPrefix", "bucket-") + "20261122abcdef")
            rid = bucket
            out = {"bucket": bucket, "arn": f"arn:aws:s3:::{bucket}"}
        elif typ == "aws:iam/role:Role":
            role = inputs.get("name") or name + "-1a2b3c"
            rid = role
            out = {"arn": f"arn:aws:iam::{ACCOUNT}:role/{role}", "name": role, "uniqueId": "AROAEXAMPLE"}
        elif typ == "aws:cloudwatch/logGroup:LogGroup":
            rid = inputs.get("name") or name
            out = {"arn": self._arn("logs", f"log-group:{rid}")}
        elif typ == "aws:lb/loadBalancer:LoadBalancer":
            rid = self._arn("elasticloadbalancing", f"loadbalancer/net/{name}/0123456789abcdef")
            out = {"arn": rid, "dnsName": f"{name}-0123456789abcdef.elb.{r}.amazonaws.com"}
        elif typ == "aws:lb/targetGroup:TargetGroup":
            rid = self._arn("elasticloadbalancing", f"targetgroup/{name}/0123456789abcdef")
            out = {"arn": rid}
        elif typ == "aws:secretsmanager/secret:Secret":
            rid = self._arn("secretsmanager", f"secret:{name}-AbCdEf")
            out = {"arn": rid}
        elif typ == "tls:index/privateKey:PrivateKey":
            rid = _short_id("key", name)
            kind = inputs.get("algorithm", "ED25519").lower()
            out = {"privateKeyOpenssh": f"-----BEGIN OPENSSH PRIVATE KEY-----\nMOCK{rid}\n"
                                        f"-----END OPENSSH PRIVATE KEY-----\n",
                   "publicKeyOpenssh": f"ssh-{kind} AAAAMOCK{rid}\n",
                   "privateKeyPem": f"-----BEGIN PRIVATE KEY-----\nMOCK{rid}\n-----END PRIVATE KEY-----\n"}
        elif typ in ("tls:index/selfSignedCert:SelfSignedCert", "tls:index/locallySignedCert:LocallySignedCert"):
            rid = _short_id("cert", name)
            out = {"certPem": f"-----BEGIN CERTIFICATE-----\nMOCK{rid}\n-----END CERTIFICATE-----\n"}
        elif typ == "tls:index/certRequest:CertRequest":
            rid = _short_id("csr", name)
            out = {"certRequestPem": f"-----BEGIN CERTIFICATE REQUEST-----\nMOCK{rid}\n-----END CERTIFICATE REQUEST-----\n"}
        elif typ == "aws:ec2/instance:Instance":
            rid = _short_id("i", name)
            out = {"publicIp": "203.0.113.20", "privateIp": "10.20.192.10"}
        elif typ == "aws:ec2clientvpn/endpoint:Endpoint":
            rid = _short_id("cvpn-endpoint", name)
            out = {"dnsName": f"*.{rid}.prod.clientvpn.{r}.amazonaws.com"}
        elif typ == "aws:directoryservice/directory:Directory":
            rid = "d-" + hashlib.sha1(name.encode()).hexdigest()[:10]
            out = {"dnsIpAddresses": ["10.20.64.10", "10.20.0.10"], "securityGroupId": _short_id("sg", name + "dc"),
                   "accessUrl": f"{rid}.awsapps.com"}
        elif typ == "aws:acm/certificate:Certificate":
            rid = self._arn("acm", f"certificate/{hashlib.sha1(name.encode()).hexdigest()[:8]}-0000-4000-8000-000000000000")
            out = {"arn": rid}
        elif typ == "random:index/randomPassword:RandomPassword":
            rid = "none"
            out = {"result": "Mock-" + hashlib.sha256(name.encode()).hexdigest()[:24] + "-Aa1!"}
        elif typ == "pulumi-python:dynamic:Resource" and "groups" in inputs and "bind_user" in inputs:
            rid = f"{inputs.get('directory_id')}/contents"
            base = "OU=Users,OU=MOCK,DC=mock,DC=example"
            out = {"bind_dn": f"CN={inputs['bind_user']},{base}",
                   "group_dns": {g: f"CN={g},{base}" for g in inputs.get("groups") or []}}
        elif typ == "aws-native:sagemaker:Cluster":
            rid = self._arn("sagemaker", "cluster/abcdef123456")
            out = {"clusterArn": rid, "clusterStatus": "InService"}
        else:
            rid = _short_id(typ.split(":")[-1].lower()[:8], name)
        out.setdefault("arn", self._arn(typ.split(":")[1].split("/")[0], f"{name}"))
        out.setdefault("name", inputs.get("name") or name)
        out["id"] = rid
        return rid, out

    def new_resource(self, args: pmocks.MockResourceArgs):
        rid, computed = self.computed(args.typ, args.name, args.inputs)
        if args.resource_id:  # a .get() read: the state comes from the provider
            rid = args.resource_id
            computed["id"] = rid
        if self.preview and not args.resource_id:
            computed = {k: UNKNOWN for k in computed}
            return "", {**args.inputs, **computed}
        return rid, {**args.inputs, **computed}

    def call(self, args: pmocks.MockCallArgs):
        self.calls.append(args)
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT, "arn": DEPLOYER_SESSION, "userId": "AROAEXAMPLE:ci"}
        if args.token == "aws:iam/getSessionContext:getSessionContext":
            # An assumed-role session's issuer is the role, whose ARN keeps the path the session ARN drops.
            issuer = DEPLOYER_ROLE if args.args["arn"] == DEPLOYER_SESSION else args.args["arn"]
            return {"arn": args.args["arn"], "issuerArn": issuer, "issuerName": issuer.rsplit("/", 1)[-1],
                    "id": args.args["arn"]}
        if args.token == "aws:index/getRegion:getRegion":
            return {"name": self.region, "region": self.region, "id": self.region}
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com"}
        if args.token == "aws:directoryservice/getDirectory:getDirectory":
            return {"id": args.args["directoryId"], "directoryId": args.args["directoryId"], "name": "corp.example.com",
                    "dnsIpAddresses": ["10.20.0.53", "10.20.64.53"], "securityGroupId": "sg-0directory00000001"}
        if args.token == "aws:ec2/getSubnet:getSubnet":
            # An existing VPC's subnets: in vpc-0123456789abcdef0, AZ "a" for an even last digit, "b" for odd;
            # ids with "dead" in them do not exist.
            sid = args.args["id"]
            if "dead" in sid:  # a failed read, as the provider reports it
                return {}, [("id", f"InvalidSubnetID.NotFound: The subnet ID '{sid}' does not exist")]
            az = f"{self.region}{'a' if int(sid[-1], 16) % 2 == 0 else 'b'}"
            return {"id": sid, "vpcId": "vpc-0123456789abcdef0", "availabilityZone": az,
                    "cidrBlock": f"10.0.{int(sid[-1], 16)}.0/24", "mapPublicIpOnLaunch": False}
        if args.token == "aws:ssm/getParameter:getParameter":
            return {"name": args.args["name"], "value": "ami-0123456789abcdef0", "type": "String", "id": args.args["name"]}
        if args.token == "aws:ec2/getNetworkInterfaces:getNetworkInterfaces":
            # The login group's ENIs: one per node in LOGIN_NODES, in a scrambled order.
            return {"ids": [f"eni-{i:017x}" for i in reversed(range(self.login_nodes))], "filters": args.args.get("filters")}
        if args.token == "aws:ec2/getNetworkInterface:getNetworkInterface":
            n = int(args.args["id"].split("-")[1], 16)
            return {"id": args.args["id"], "privateIp": f"10.20.{n}.{10 + n}"}
        return {}


class RecordingMonitor(pmocks.MockMonitor):
    """A MockMonitor that keeps each registration as the engine would see it."""

    def __init__(self, mocks: pmocks.Mocks):
        super().__init__(mocks)
        self.registrations: list[Registration] = []
        self.by_urn: dict[str, Registration] = {}

    def _record(self, reg: Registration):
        self.registrations.append(reg)
        self.by_urn[reg.urn] = reg

    def RegisterResource(self, request):
        resp = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return resp
        self._record(Registration(
            urn=resp.urn, type=request.type, name=request.name, parent=request.parent,
            custom=bool(request.custom), read=False, dependencies=list(request.dependencies),
            property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items()},
            inputs=_struct(request.object), id=resp.id, outputs=_struct(resp.object),
            protect=bool(request.protect), retain_on_delete=bool(request.retainOnDelete),
        ))
        return resp

    def ReadResource(self, request):
        resp = super().ReadResource(request)
        self._record(Registration(
            urn=resp.urn, type=request.type, name=request.name, parent=request.parent, custom=True,
            read=True, dependencies=list(request.dependencies), property_dependencies={},
            inputs=_struct(request.properties), id=request.id, outputs=_struct(resp.properties),
        ))
        return resp


@dataclass
class RunResult:
    """What a program run under mocks produced."""

    registrations: list[Registration]
    outputs: dict[str, Any]
    error: Optional[BaseException]
    calls: list = field(default_factory=list)
    """Invokes the program made (token and args), in order."""

    def of_type(self, typ: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == typ]

    def one(self, typ: str) -> Registration:
        found = self.of_type(typ)
        assert len(found) == 1, f"expected one {typ}, found {[r.name for r in found]}"
        return found[0]

    def named(self, name: str, typ: Optional[str] = None) -> Registration:
        """The one resource called ``name`` (of type ``typ``); ambiguity is an error, not a coin toss."""
        found = [r for r in self.registrations if r.name == name and (typ is None or r.type == typ)]
        assert len(found) == 1, f"expected one resource named {name!r}, found {[r.type for r in found]}"
        return found[0]


def config_from_stack_file(path: Path) -> dict[str, Any]:
    """Read a Pulumi.<stack>.yaml file into a ``project:key -> value`` mapping."""
    import yaml

    data = yaml.safe_load(path.read_text()) or {}
    cfg = data.get("config") or {}
    if not isinstance(cfg, dict):
        raise ValueError(f"{path}: 'config' must be a mapping")
    return dict(cfg)


def run_program(program: Callable[[], Any] | Path, config: dict[str, Any], *, preview: bool,
                stack: str = "dev", project: str = PROJECT) -> RunResult:
    """Run ``program`` (a callable, or the path of a ``__main__.py``) under mocks with ``config``."""
    region = str(config.get("aws:region", "us-east-1"))
    mocks = AwsMocks(region, preview)
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_all_config(
        {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}
    )
    # A fresh root stack per run: otherwise exports of an earlier run in this process would leak in.
    pulumi.runtime.settings.ROOT.set(None)
    pmocks.set_mocks(mocks, project=project, stack=stack, preview=preview, monitor=monitor)
    if isinstance(program, Path):
        path = program

        def program():  # noqa: F811 - the program file, run as the language host would
            sys.path.insert(0, str(path.parent))
            try:
                runpy.run_path(str(path), run_name="__main__")
            finally:
                sys.path.remove(str(path.parent))

    error: Optional[BaseException] = None
    try:
        _sync_await(run_pulumi_func(program))
    except BaseException as exc:  # noqa: BLE001 - reported to the caller
        error = exc
    root = pulumi.runtime.settings.get_root_resource()
    outputs: dict[str, Any] = {}
    if error is None and root is not None and getattr(root, "outputs", None):
        try:
            for key, value in root.outputs.items():
                outputs[key] = _resolve(value)
        except Exception as exc:  # noqa: BLE001 - an output that failed to resolve is a program error
            error = exc
    return RunResult(monitor.registrations, outputs, error, [(c.token, c.args) for c in mocks.calls])


def _resolve(value: Any) -> Any:
    out = pulumi.Output.from_input(value)
    known = _sync_await(out.is_known())
    secret = _sync_await(out.is_secret())
    if not known:
        return "<unknown>"
    result = _sync_await(out.future())
    return {"<secret>": result} if secret else result
