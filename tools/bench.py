"""Time `scripts/preview --stack dev` against the bare import of the SDK modules the program uses.

    venv/bin/python -m tools.bench [--runs N]

Both are measured in the same run, alternating, as whole processes; the medians are printed. Also prints the
deploy-time model (tools/deploy_model.py) of the dev plan: the modelled first `pulumi up`.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def dev_plan() -> list[dict]:
    """The dev plan's resources, from `scripts/preview --stack dev --json`."""
    import json
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        plan = Path(tmp) / "plan.json"
        subprocess.run(
            [str(ROOT / "scripts" / "preview"), "--stack", "dev", "--quiet", "--no-policy", "--json", str(plan)],
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        return json.loads(plan.read_text())["resources"]


def sdk_imports(resources: list[dict] | None = None) -> str:
    """Import every SDK module whose resources the dev plan registers (from the plan itself, so the baseline
    follows the program), touching one class in each to force pulumi's lazily loaded submodules."""
    types = {r["type"] for r in (dev_plan() if resources is None else resources) if r["custom"]}
    packages = {
        "aws": "pulumi_aws",
        "aws-native": "pulumi_aws_native",
        "tls": "pulumi_tls",
        "random": "pulumi_random",
        "pulumi-python": "pulumi",
    }  # pulumi-python:dynamic:Resource
    lines = ["import pulumi, importlib"]
    for typ in sorted(types):
        pkg, module, cls = typ.split(":")
        mod = module.split("/")[0]
        path = packages[pkg] + ("" if mod == "index" else f".{mod}")
        lines.append(f"getattr(importlib.import_module({path!r}), {cls!r})")
    return "; ".join(lines)


def _time(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    python = str(ROOT / "venv" / "bin" / "python")
    resources = dev_plan()
    code = sdk_imports(resources)
    imports, previews = [], []
    _time([python, "-c", code])  # warm the file cache once
    for _ in range(args.runs):
        imports.append(_time([python, "-c", code]))
        previews.append(_time([str(ROOT / "scripts" / "preview"), "--stack", "dev", "--quiet"]))
    imp, prev = statistics.median(imports), statistics.median(previews)
    print(f"bare SDK import: median {imp:.2f} s (min {min(imports):.2f}, max {max(imports):.2f})")
    print(f"scripts/preview --stack dev: median {prev:.2f} s (min {min(previews):.2f}, max {max(previews):.2f})")
    print(
        f"ratio: {prev / imp:.2f}x (target <= 1.7x: two program runs, two policy passes); "
        f"baseline imports {code.count('getattr')} resource classes"
    )
    sys.path.insert(0, str(ROOT))
    from tools import deploy_model

    print(deploy_model.one_line(deploy_model.model(resources), "dev"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
