"""Print '<instance group> <role>' for this node, from HyperPod's resource config and platform.json.

Usage: node_info.py PLATFORM_JSON RESOURCE_CONFIG_JSON IP [IP ...]
"""

import json
import sys

import platform_json


def main(argv: list[str]) -> int:
    platform_path, resource_path, *ips = argv
    try:
        groups = platform_json.load(platform_path)["groups"]
    except platform_json.Broken as e:
        print(e, file=sys.stderr)
        return 1
    resource = json.load(open(resource_path, encoding="utf-8"))
    for group in resource.get("InstanceGroups", []):
        for instance in group.get("Instances", []):
            if instance.get("CustomerIpAddress") in ips:
                name = group.get("Name")
                if name not in groups:
                    print(
                        f"instance group {name!r} is not in {platform_path} (known: {sorted(groups)})", file=sys.stderr
                    )
                    return 1
                print(name, groups[name])
                return 0
    print(f"no instance in {resource_path} has any of the addresses {ips}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
