"""Time the offline preview of the EKS stack with 64 teams against the same stack with 1 team.

    venv/bin/python -m tools.bench_teams [--runs N] [--teams 64]

Both configs are Pulumi.eks-dev.yaml with its teams replaced by N generated ones (each its own account, every
other one with data in the data account, one ml.g5.8xlarge each: the GPU group grows to fit the quotas). Both
previews run the policy pack under policies/config/prod.json, as whole processes, alternating in one run; the
medians and their ratio are printed (the README quotes them; the goal is at most 3x).
"""

from __future__ import annotations

import argparse
import copy
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
P = "hyperpod-platform:"


def config_with_teams(n: int) -> dict:
    """Pulumi.eks-dev.yaml with ``n`` generated teams (and accounts for them)."""
    doc = yaml.safe_load((ROOT / "Pulumi.eks-dev.yaml").read_text())
    cfg = doc["config"]
    accounts = {k: v for k, v in cfg[P + "accounts"].items() if k in ("cluster", "data")}
    teams = []
    for i in range(n):
        account = f"{100000000000 + i:012d}"
        accounts[f"team{i}"] = {"id": account}
        team = {
            "name": f"team-{i}",
            "account": f"team{i}",
            "principalArn": f"arn:aws:iam::{account}:role/DataScientist",
            "externalId": f"hp-team-{i}",
            "quota": [{"instanceType": "ml.g5.8xlarge", "count": 1}],
            "fairShareWeight": 10,
        }
        if i % 2 == 0:
            team["data"] = {"account": "data", "bucket": "hp-eks-dev-training-data", "prefix": f"team-{i}"}
        teams.append(team)
    cfg[P + "accounts"] = accounts
    cfg[P + "teams"] = teams
    for group in cfg[P + "cluster"]["instanceGroups"]:
        if group["instanceType"] == "ml.g5.8xlarge":
            group["count"] = max(group["count"], n)
    return copy.deepcopy(doc)


def _time(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--teams", type=int, default=64)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        files = {}
        for n in (1, args.teams):
            files[n] = Path(tmp) / f"Pulumi.teams-{n}.yaml"
            files[n].write_text(yaml.safe_dump(config_with_teams(n), sort_keys=False))
        preview = [str(ROOT / "scripts" / "preview"), "--quiet", "--policy-config", "policies/config/prod.json"]
        times: dict[int, list[float]] = {n: [] for n in files}
        for _ in range(args.runs):
            for n, path in files.items():
                times[n].append(_time([*preview, "--config-file", str(path)]))
    one, many = (statistics.median(times[n]) for n in (1, args.teams))
    print(f"offline preview (policy pack, prod.json), median of {args.runs} run(s):")
    print(f"  1 team:   {one:6.2f} s")
    print(f"  {args.teams} teams: {many:6.2f} s")
    print(f"  ratio:    {many / one:6.2f}x (goal: at most 3x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
