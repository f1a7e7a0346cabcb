"""Time `scripts/preview --stack dev` against the bare import of the SDK modules the program uses.

    venv/bin/python -m tools.bench [--runs N]

Both are measured in the same run, alternating, as whole processes; the medians are printed.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The SDK modules the program touches; attribute access forces pulumi's lazily loaded submodules.
IMPORTS = ("import pulumi, pulumi_aws as aws, pulumi_aws_native as native; "
           "aws.ec2.Vpc; aws.vpc.SecurityGroupIngressRule; aws.s3.Bucket; aws.iam.Role; "
           "aws.fsx.LustreFileSystem; aws.cloudwatch.LogGroup; native.sagemaker.Cluster")


def _time(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    python = str(ROOT / "venv" / "bin" / "python")
    imports, previews = [], []
    _time([python, "-c", IMPORTS])  # warm the file cache once
    for _ in range(args.runs):
        imports.append(_time([python, "-c", IMPORTS]))
        previews.append(_time([str(ROOT / "scripts" / "preview"), "--stack", "dev", "--quiet"]))
    imp, prev = statistics.median(imports), statistics.median(previews)
    print(f"bare SDK import: median {imp:.2f} s (min {min(imports):.2f}, max {max(imports):.2f})")
    print(f"scripts/preview --stack dev: median {prev:.2f} s (min {min(previews):.2f}, max {max(previews):.2f})")
    print(f"ratio: {prev / imp:.2f}x (target <= 1.5x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
