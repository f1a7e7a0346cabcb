"""Helpers of steps/45-login-target.sh: read what HyperPod and the AWS CLI answer, one value a line.

Usage (each failure exits 1 with one line on stderr):
  login_target.py self-ip RESOURCE_CONFIG_JSON IP [IP ...]  this node's address in the VPC (CustomerIpAddress)
  login_target.py targets DESCRIBE_TARGET_HEALTH_JSON       "<id> <port> <state>" per target
  login_target.py held DESCRIBE_NETWORK_INTERFACES_JSON     every private IP a node's ENI holds, one a line
                                                            (InterfaceType interface or efa: not a load
                                                            balancer's, an endpoint's, a NAT gateway's ...)
"""

import json
import re
import sys

NODE_INTERFACE_TYPES = ("interface", "efa")
WORD = re.compile(r"^[A-Za-z0-9.:_-]+$")


def _load(path: str):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise SystemExit(f"cannot read {path}: {e}") from None


def self_ip(resource_config: str, ips: list[str]) -> str:
    for group in _load(resource_config).get("InstanceGroups", []):
        for instance in group.get("Instances", []):
            if instance.get("CustomerIpAddress") in ips:
                return instance["CustomerIpAddress"]
    raise SystemExit(f"no instance in {resource_config} has any of the addresses {ips}")


def targets(path: str) -> list[str]:
    out = []
    for d in _load(path).get("TargetHealthDescriptions", []):
        target, state = d.get("Target") or {}, (d.get("TargetHealth") or {}).get("State", "unknown")
        fields = (str(target.get("Id", "")), str(target.get("Port", "")), str(state))
        if not all(WORD.match(f) for f in fields):
            raise SystemExit(f"a target of the target group is not an id, port and state: {d!r}")
        out.append(" ".join(fields))
    return out


def held(path: str) -> list[str]:
    return sorted(
        {
            a["PrivateIpAddress"]
            for eni in _load(path).get("NetworkInterfaces", [])
            if eni.get("InterfaceType", "interface") in NODE_INTERFACE_TYPES
            for a in eni.get("PrivateIpAddresses") or []
            if a.get("PrivateIpAddress")
        }
    )


def main(argv: list[str]) -> int:
    mode, *rest = argv
    if mode == "self-ip":
        print(self_ip(rest[0], rest[1:]))
    elif mode in ("targets", "held"):
        for line in (targets if mode == "targets" else held)(rest[0]):
            print(line)
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
