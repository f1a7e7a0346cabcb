"""Config outside the project's keys: namespaces this program reads, the AWS providers' own keys, and the
aws-native provider's region."""

from __future__ import annotations

import difflib
import json
import re
from typing import Any, Callable, Optional

from hyperpod_platform.errors import MISSING as _MISSING
from hyperpod_platform.errors import PROJECT, Problem


def _provider_keys(module: str) -> frozenset[str]:
    import importlib

    names = dir(importlib.import_module(module).vars._ExportableConfig)
    return frozenset(re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), n) for n in names if not n.startswith("_"))


# Config namespaces this program reads, with their keys where they can be listed (None: any key).
KNOWN_NAMESPACES: dict[str, Optional[Callable[[], frozenset[str]]]] = {
    PROJECT: None,
    "aws": lambda: _provider_keys("pulumi_aws.config"),
    "aws-native": lambda: _provider_keys("pulumi_aws_native.config"),
    "pulumi": None,
    "tls": None,
    "random": None,
    "kubernetes": None,
    "eks": None,
}


def namespace_problems(config: dict[str, Any]) -> list[Problem]:
    """Keys of unknown namespaces (``hyperpod-platfrom:fsx``), and unknown keys of the AWS providers."""
    known = KNOWN_NAMESPACES
    problems = []
    for full, value in config.items():
        namespace, _, key = full.partition(":")
        try:
            value = json.loads(value) if isinstance(value, str) and value[:1] in "{[" else value
        except ValueError:
            pass
        if namespace not in known:
            close = difflib.get_close_matches(namespace, known, n=1, cutoff=0.6)
            fix = (
                f"rename it to {close[0]}:{key}"
                if close
                else f"remove it (namespaces this program reads: {', '.join(known)})"
            )
            problems.append(
                Problem(
                    full,
                    value,
                    f"'{namespace}' is not a config namespace of this program, so the value would be ignored",
                    fix,
                    True,  # a value the program does not read is never shown (see _Reader.obj)
                )
            )
        elif known[namespace] is not None and key not in known[namespace]():
            close = difflib.get_close_matches(key, sorted(known[namespace]()), n=1)
            fix = (
                f"did you mean {namespace}:{close[0]}?" if close else f"remove it ({namespace} provider settings only)"
            )
            problems.append(Problem(full, value, f"is not a setting of the {namespace} provider", fix, True))
    return problems


def native_region_problems(region: Optional[str], native_region: Optional[str]) -> list[Problem]:
    """The aws-native provider (the HyperPod cluster) reads its own region: it must be the stack's region."""
    import os

    if not region:
        return []
    if native_region is None:
        env = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        if env == region:
            return []
        return [
            Problem(
                "aws-native:region",
                _MISSING,
                "the aws-native provider, which creates the HyperPod cluster, reads its own region key",
                f"run `pulumi config set aws-native:region {region}`",
            )
        ]
    if native_region != region:
        return [
            Problem(
                "aws-native:region",
                native_region,
                f"differs from aws:region {region}: the cluster would be created in another region than its network",
                f"set aws-native:region to {region}",
            )
        ]
    return []


def _with_secrecy(problem: Problem, secret_keys: set[str]) -> Problem:
    """Mark a problem secret when its value comes from a config key set with ``--secret``."""
    import dataclasses

    top = re.split(r"[.\[]", problem.path)[0]
    full = top if ":" in top else f"{PROJECT}:{top}"
    return dataclasses.replace(problem, secret=True) if full in secret_keys else problem
