"""examples/minimal: a program of its own that uses the installed package, not this repository.

How the repository is kept out: the package is installed with ``pip install --no-deps --target T <repo>``
and the example runs in a fresh interpreter (this venv's Python, for the Pulumi SDKs in its site-packages)
with ``PYTHONPATH=T``, cwd a temporary directory, and no repository path on ``sys.path``. The venv also
holds the repository as an editable install (``requirements.txt``: ``-e .``), whose import hook would serve
``hyperpod_platform`` from the checkout: the runner removes that hook first. The one file it takes from the
repository is the mock harness, ``tools/harness.py``, loaded by file path (it imports only the Pulumi SDK and
protobuf), not as the ``tools`` package. After the run the runner lists every loaded module whose file is
inside the repository (outside the venv, which lives in the checkout): only the harness may be there, and ``hyperpod_platform`` must come from T.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from hyperpod_platform.lifecycle_bucket import LIFECYCLE_DIR
from hyperpod_platform.node_contract import NodeContract
from tests.conftest import ROOT

EXAMPLE = ROOT / "examples" / "minimal"
BUCKET_OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"
COMPONENTS = {
    "hyperpod-platform:index:Network",
    "hyperpod-platform:index:Fsx",
    "hyperpod-platform:index:LifecycleBucket",
    "hyperpod-platform:index:ExecutionRole",
    "hyperpod-platform:index:HyperPodCluster",
}
CONFIG = {"aws:region": "us-east-1", "aws-native:region": "us-east-1"}

RUNNER = """\
import importlib.util, json, sys
from pathlib import Path

repo, target, program, preview = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), sys.argv[4] == "preview"
# The venv's editable install of the repository: an import hook that would find hyperpod_platform in the checkout.
sys.meta_path[:] = [f for f in sys.meta_path if not type(f).__module__.startswith("__editable__")]
assert not any(Path(p or ".").resolve() == repo for p in sys.path), sys.path
for name in ("stack_config", "tools", "policies"):
    assert importlib.util.find_spec(name) is None, f"{name} is importable"

spec = importlib.util.spec_from_file_location("harness", repo / "tools" / "harness.py")
harness = importlib.util.module_from_spec(spec)
sys.modules["harness"] = harness  # dataclasses resolve the module by name
spec.loader.exec_module(harness)

result = harness.run_program(program, json.loads(sys.argv[5]), preview=preview, project="hyperpod-minimal")
import hyperpod_platform

venv = Path(sys.prefix).resolve()  # this venv lives inside the checkout: its site-packages are not the repository
files = {n: Path(m.__file__).resolve() for n, m in list(sys.modules.items()) if getattr(m, "__file__", None)}
from_repo = sorted(n for n, f in files.items() if f.is_relative_to(repo) and not f.is_relative_to(venv))
print(json.dumps({
    "error": repr(result.error) if result.error else None,
    "package_file": hyperpod_platform.__file__,
    "from_repo": from_repo,
    "registrations": [{"type": r.type, "name": r.name, "inputs": r.inputs} for r in result.registrations],
    "outputs": harness.redact(result.outputs),
}, default=str))
"""


def site_scripts(site: Path) -> list[Path]:
    """The node scripts as installed into T (package data), relative paths as under the package."""
    root = site / "hyperpod_platform" / "lifecycle"
    files = [p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    assert files, f"no node scripts installed under {root}"
    return [LIFECYCLE_DIR / p.relative_to(root) for p in files]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The package installed on its own, as a consumer's pip would."""
    target = tmp_path_factory.mktemp("site")
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(ROOT)],
        capture_output=True,
        text=True,
    )
    assert pip.returncode == 0, pip.stderr
    return target


def run_example(site: Path, tmp_path: Path, preview: bool) -> dict:
    runner = tmp_path / "run_example.py"
    runner.write_text(RUNNER)
    args = [str(ROOT), str(site), str(EXAMPLE / "__main__.py"), "preview" if preview else "up", json.dumps(CONFIG)]
    run = subprocess.run(
        [sys.executable, str(runner), *args],
        cwd=tmp_path,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("preview", [False, True], ids=["up", "preview"])
def test_minimal_example_runs_on_the_installed_package(site, tmp_path, preview):
    """The example registers the five components and a Slurm cluster with a controller and a compute group,
    uploads the package's node scripts (installed in T) with a typed platform.json, with hyperpod_platform from
    T and nothing of the repository but the harness loaded."""
    out = run_example(site, tmp_path, preview)
    assert out["error"] is None, out["error"]
    assert out["package_file"].startswith(str(site)), out["package_file"]
    assert out["from_repo"] == ["harness"], out["from_repo"]

    types = {r["type"] for r in out["registrations"]}
    assert COMPONENTS <= types, COMPONENTS - types
    clusters = [r for r in out["registrations"] if r["type"] == "aws-native:sagemaker:Cluster"]
    assert len(clusters) == 1
    groups = {g["instanceGroupName"]: g for g in clusters[0]["inputs"]["instanceGroups"]}
    assert set(groups) == {"controller", "cpu"}
    assert groups["controller"]["slurmConfig"]["nodeType"] == "Controller"
    assert groups["cpu"]["slurmConfig"] == {"nodeType": "Compute", "partitionNames": ["cpu"]}
    assert {g["lifeCycleConfig"]["onInitComplete"] for g in groups.values()} == {"on_init_complete.sh"}

    objects = {r["inputs"].get("key"): r["inputs"] for r in out["registrations"] if r["type"] == BUCKET_OBJECT}
    shipped = {f"lifecycle/{p.relative_to(LIFECYCLE_DIR).as_posix()}" for p in site_scripts(site)}
    assert set(objects) == shipped | {"lifecycle/generated/platform.json"}  # the package's scripts, from T
    if not preview:  # the typed node contract, with the file system and no login or directory section
        contract = NodeContract.from_json(objects["lifecycle/generated/platform.json"]["content"])
        assert contract.fsx is not None and contract.fsx.mount_path == "/fsx" and contract.fsx.dns_name
        assert contract.login is None and contract.directory is None
        assert dict(contract.groups) == {"controller": "controller", "cpu": "compute"}
    assert set(out["outputs"]) == {"clusterName", "clusterArn", "vpcId", "fsxDnsName", "fsxMountName", "lifecycleS3Uri"}
    if not preview:
        assert out["outputs"]["clusterName"] == "hp-minimal"
        assert out["outputs"]["lifecycleS3Uri"].endswith("/lifecycle")


def test_minimal_example_imports_only_the_package_and_the_pulumi_sdks():
    """Every import of the example is hyperpod_platform, a Pulumi SDK or the standard library; none names a
    top-level module or package of this repository."""
    repo_names = {p.stem for p in ROOT.glob("*.py")} | {p.name for p in ROOT.iterdir() if p.is_dir()}
    repo_names -= {"hyperpod_platform"}
    tree = ast.parse((EXAMPLE / "__main__.py").read_text())
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"relative import from {node.module}"
            roots.add(node.module.split(".")[0])
    assert "hyperpod_platform" in roots
    assert not roots & repo_names, roots & repo_names
    others = {r for r in roots if r != "hyperpod_platform" and r not in sys.stdlib_module_names}
    assert all(r == "pulumi" or r.startswith("pulumi_") for r in others), others
