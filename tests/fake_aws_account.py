"""A fake ``aws`` CLI that keeps an account's state in a JSON file: ELBv2 target groups and the VPC's network
interfaces. It answers the calls of ``lifecycle/steps/45-login-target.sh`` as the real CLI does with
``--output json`` (response shapes of botocore's ``DescribeTargetHealth`` and ``DescribeNetworkInterfaces``),
changes the state for ``register-targets`` / ``deregister-targets``, and refuses anything else (exit 252, as
the CLI does for a usage error).

State (``$FAKE_AWS_STATE``)::

    {"target_groups": {arn: [{"Id": ip, "Port": 22}]}, "network_interfaces": [botocore NetworkInterface],
     "fail": {"<service> <operation>": "ErrorCode"}}

Every call is appended to ``$STUB_CALLS`` as ``aws <argv>``.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

SCRIPT = """#!{python}
import sys
sys.path.insert(0, {here!r})
import fake_aws_account
sys.exit(fake_aws_account.main(sys.argv[1:]))
"""


def install(bin_dir: Path) -> Path:
    """Put the fake ``aws`` on ``bin_dir``."""
    path = bin_dir / "aws"
    path.write_text(SCRIPT.format(python=sys.executable, here=str(Path(__file__).resolve().parent)))
    path.chmod(0o755)
    return path


def _options(args: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    key = None
    for a in args:
        if a.startswith("--"):
            key = a[2:]
            out.setdefault(key, [])
        elif key is not None:
            out[key].append(a)
    return out


def _shorthand(text: str) -> dict[str, list[str]]:
    """``Name=x,Values=a,b`` / ``Id=1.2.3.4,Port=22``: the CLI's shorthand (a value list runs to the next key)."""
    out: dict[str, list[str]] = {}
    key = None
    for part in text.split(","):
        if "=" in part and part.split("=", 1)[0] in ("Name", "Values", "Id", "Port", "AvailabilityZone"):
            key, value = part.split("=", 1)
            out[key] = [value]
        elif key is not None:
            out[key].append(part)
    return out


def _error(code: str, operation: str, message: str = "") -> int:
    print(f"\nAn error occurred ({code}) when calling the {operation} operation: {message}", file=sys.stderr)
    return 254


def main(argv: list[str]) -> int:
    import os

    with open(os.environ["STUB_CALLS"], "a", encoding="utf-8") as log:
        log.write(shlex.join(["aws", *argv]) + "\n")
    state_path = Path(os.environ["FAKE_AWS_STATE"])
    state = json.loads(state_path.read_text())
    if len(argv) < 2:
        return 252
    service, operation, opts = argv[0], argv[1], _options(argv[2:])
    if opts.get("output") != ["json"] or not opts.get("region"):
        print("fake aws: give --region and --output json", file=sys.stderr)
        return 252
    failure = state.get("fail", {}).get(f"{service} {operation}")
    if failure:
        return _error(failure, operation, "refused by the test")
    enis = state.get("network_interfaces", [])
    groups = state.setdefault("target_groups", {})
    result: dict
    if service == "elbv2" and operation in ("describe-target-health", "register-targets", "deregister-targets"):
        (arn,) = opts["target-group-arn"]
        if arn not in groups:
            return _error("TargetGroupNotFound", operation, f"Target groups '{arn}' not found")
        targets = groups[arn]
        if operation == "describe-target-health":
            live = {a["PrivateIpAddress"] for e in enis for a in e.get("PrivateIpAddresses", [])}
            result = {
                "TargetHealthDescriptions": [
                    {
                        "Target": {"Id": t["Id"], "Port": t["Port"]},
                        "HealthCheckPort": str(t["Port"]),
                        "TargetHealth": {"State": "healthy"}
                        if t["Id"] in live
                        else {"State": "unhealthy", "Reason": "Target.Timeout"},
                    }
                    for t in targets
                ]
            }
        else:
            for spec in opts["targets"]:
                fields = _shorthand(spec)
                target = {"Id": fields["Id"][0], "Port": int(fields["Port"][0])}
                if operation == "register-targets" and target not in targets:
                    targets.append(target)
                if operation == "deregister-targets" and target in targets:
                    targets.remove(target)
            state_path.write_text(json.dumps(state, indent=2, sort_keys=True))
            result = {}
    elif (service, operation) == ("ec2", "describe-network-interfaces"):
        filters = {f["Name"][0]: set(f["Values"]) for f in map(_shorthand, opts.get("filters", []))}
        keys = {
            "vpc-id": lambda e: {e["VpcId"]},
            "addresses.private-ip-address": lambda e: {a["PrivateIpAddress"] for a in e["PrivateIpAddresses"]},
        }
        if set(filters) - set(keys):
            print(f"fake aws: unsupported filters {sorted(set(filters) - set(keys))}", file=sys.stderr)
            return 252
        result = {"NetworkInterfaces": [e for e in enis if all(keys[k](e) & v for k, v in filters.items())]}
    else:
        print(f"fake aws: {service} {operation} is not modelled", file=sys.stderr)
        return 252
    print(json.dumps(result, indent=4))
    return 0


def eni(eni_id: str, ip: str, vpc: str, subnet: str, description: str, interface_type: str = "interface") -> dict:
    """A NetworkInterface as DescribeNetworkInterfaces returns it (botocore's shape, the fields that matter)."""
    managed = interface_type != "interface" or description.startswith("ELB ")
    return {
        "NetworkInterfaceId": eni_id,
        "InterfaceType": interface_type,
        "Description": description,
        "RequesterManaged": managed,
        "VpcId": vpc,
        "SubnetId": subnet,
        "Status": "in-use",
        "PrivateIpAddress": ip,
        "PrivateIpAddresses": [{"Primary": True, "PrivateIpAddress": ip}],
        "TagSet": [],
    }
