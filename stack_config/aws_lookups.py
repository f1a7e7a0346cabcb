"""Facts from AWS's own data, and look-ups in AWS before any resource exists.

botocore's bundled data gives regions, HyperPod instance types (the SageMaker model) and EC2 instance types;
``data/hyperpod_regions.json`` gives the regions whose CloudFormation registry has the cluster; processor
facts by instance family follow AWS's documented family names. With an existing VPC, the private subnets are
read from AWS (``getSubnet``)."""

from __future__ import annotations

import difflib
import functools
import json
import re
from pathlib import Path
from typing import Any, Callable, Optional

from hyperpod_platform.checks import (  # noqa: F401 - processor facts by family: re-exported
    ARM64_FAMILY_RE,
    NO_SMT_FAMILY_RE,
    instance_family,
)
from hyperpod_platform.errors import Problem
from hyperpod_platform.settings import NetworkSettings

# The repository's data/ (this package sits at the repository root).
DATA_DIR = Path(__file__).resolve().parent.parent / "data"


@functools.lru_cache(maxsize=1)
def hyperpod_instance_types() -> frozenset[str]:
    """The ``ClusterInstanceType`` enum of the SageMaker API model that ships with botocore (newest API version),
    read straight from the bundled file, which is what its loader reads, in a quarter of the time of a botocore
    session; a test checks both agree."""
    return frozenset(
        _botocore_data("sagemaker", _newest("sagemaker"), "service-2.json")["shapes"]["ClusterInstanceType"]["enum"]
    )


def _newest(service: str) -> str:
    """The newest API version of ``service`` among botocore's bundled models."""
    import importlib.util

    spec = importlib.util.find_spec("botocore")
    base = Path(list(spec.submodule_search_locations)[0]) / "data" / service
    return sorted(p.name for p in base.iterdir() if p.is_dir())[-1]


def _botocore_data(*parts: str) -> Any:
    """A JSON file of botocore's bundled data (``.json`` or ``.json.gz``), read as its loader reads it."""
    import gzip
    import importlib.util

    spec = importlib.util.find_spec("botocore")
    path = Path(list(spec.submodule_search_locations)[0], "data", *parts)
    if path.exists():
        return json.loads(path.read_bytes())
    return json.loads(gzip.decompress(path.with_name(path.name + ".gz").read_bytes()))


@functools.lru_cache(maxsize=1)
def aws_regions() -> frozenset[str]:
    """Every region of every AWS partition (botocore's ``partitions.json``)."""
    data = _botocore_data("partitions.json")
    return frozenset(r for part in data["partitions"] for r in part["regions"] if not r.startswith("aws-"))


@functools.lru_cache(maxsize=1)
def hyperpod_regions() -> tuple[str, ...]:
    """Regions where HyperPod can be deployed: their CloudFormation registry has ``AWS::SageMaker::Cluster``
    (``data/hyperpod_regions.json``, taken from cfn-lint's schemas by ``tools/cfn_schema.py --regions``)."""
    return tuple(json.loads((DATA_DIR / "hyperpod_regions.json").read_text())["regions"])


def region_problem(key: str, region: Any) -> Optional[tuple[str, str]]:
    """Why ``region`` cannot host the platform (unknown region, or no HyperPod there), with the fix."""
    offered = hyperpod_regions()
    if not isinstance(region, str):
        return ("must be a region name", f"set {key} to one of: {', '.join(offered)}")
    close = difflib.get_close_matches(region, offered, n=1)
    hint = f"did you mean {close[0]}?" if close else f"HyperPod regions: {', '.join(offered)}"
    if region not in aws_regions():
        return ("is not an AWS region", f"set {key} to a HyperPod region ({hint})")
    if region not in offered:
        return (
            f"SageMaker HyperPod is not offered in {region} (its CloudFormation registry has no "
            "AWS::SageMaker::Cluster)",
            f"use a HyperPod region: {', '.join(offered)}",
        )
    return None


@functools.lru_cache(maxsize=1)
def ec2_instance_types() -> frozenset[str]:
    """The ``InstanceType`` enum of the EC2 API model that ships with botocore (newest API version)."""
    return frozenset(_botocore_data("ec2", _newest("ec2"), "service-2.json")["shapes"]["InstanceType"]["enum"])


def ec2_type_check(what: str, *, x86_only: str = "") -> Callable[[str], Optional[tuple[str, str]]]:
    """An EC2 instance type of botocore's list; ``x86_only`` names the x86_64 image it must run."""

    def check(v: str):
        types = ec2_instance_types()
        if v not in types:
            close = difflib.get_close_matches(v, sorted(types), n=1)
            return (
                "is not an EC2 instance type (botocore's EC2 model)",
                f"use {close[0]!r}" if close else f"use a current type for the {what}, e.g. t3.micro",
            )
        if x86_only and ARM64_FAMILY_RE.match(instance_family(v)):
            return (f"is an arm64 (Graviton) type, but the {what} runs {x86_only}", "use an x86_64 type, e.g. t3.micro")
        return None

    return check


def existing_subnet_problems(network: NetworkSettings) -> list[Problem]:
    """Existing VPC: each private subnet exists, is in ``vpcId``, and has an AZ of its own (Managed AD and the
    load balancers take one subnet per AZ). Read from AWS, before any resource is registered."""
    if network.mode != "existing" or not network.private_subnet_ids:
        return []
    import pulumi_aws as aws

    path = "network.privateSubnetIds"
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for i, subnet_id in enumerate(network.private_subnet_ids):
        try:
            subnet = aws.ec2.get_subnet(id=subnet_id)
        except Exception as exc:  # noqa: BLE001 - the lookup's own error says why (not found, no access)
            reason = re.sub(r"^invoke of \S+ failed: ", "", str(exc).splitlines()[0])
            problems.append(
                Problem(
                    f"{path}[{i}]",
                    subnet_id,
                    f"cannot be read ({reason})",
                    "give a subnet of network.vpcId that these credentials can describe",
                )
            )
            continue
        problems += _subnet_placement_problems(f"{path}[{i}]", subnet_id, subnet, network.vpc_id, seen)
    return problems


def _subnet_placement_problems(path: str, subnet_id: str, subnet: Any, vpc_id: str, seen: dict) -> list[Problem]:
    """A looked-up subnet is in ``vpc_id`` and in an AZ of no subnet ``seen`` before (AZ -> subnet id)."""
    problems: list[Problem] = []
    if subnet.vpc_id != vpc_id:
        problems.append(
            Problem(
                path,
                subnet_id,
                f"is in {subnet.vpc_id}, not in network.vpcId {vpc_id}",
                "give private subnets of network.vpcId",
            )
        )
    az = subnet.availability_zone
    if az in seen:
        problems.append(
            Problem(
                path,
                subnet_id,
                f"is in {az}, like {seen[az]}; the directory and the load balancers need each subnet in its own AZ",
                "list one private subnet per AZ, two AZs or more",
            )
        )
    else:
        seen[az] = subnet_id
    return problems
