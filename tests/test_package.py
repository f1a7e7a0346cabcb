"""The package installs on its own and imports nothing from the stack program."""

from __future__ import annotations

import ast
import subprocess
import sys

from tests.conftest import ROOT

PROGRAM_MODULES = {"stack_config", "__main__", "tools", "tests"}


def test_package_installs_and_imports_without_the_repository(tmp_path):
    """`pip install --no-deps --target T <repo>` then `import hyperpod_platform` from T, with the repository
    not on sys.path, gives every public component."""
    target = tmp_path / "site"
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(ROOT)],
        capture_output=True,
        text=True,
    )
    assert pip.returncode == 0, pip.stderr
    code = (
        "import sys, hyperpod_platform as h\n"
        f"assert not any(p.rstrip('/') == {str(ROOT)!r} for p in sys.path)\n"
        "assert h.__file__.startswith(sys.argv[1]), h.__file__\n"
        "print(' '.join(sorted(n for n in h.__all__ if not n.endswith('Args'))))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, str(target)],
        cwd=tmp_path,
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert {"Network", "HyperPodCluster", "Directory", "LoginAccess", "ExecutionRole"} <= set(run.stdout.split())


def test_no_package_module_imports_the_stack_program():
    """No module of hyperpod_platform imports the stack-config layer, the program or the offline tools."""
    for path in sorted((ROOT / "hyperpod_platform").glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in PROGRAM_MODULES, f"{path.name} imports {name}"
