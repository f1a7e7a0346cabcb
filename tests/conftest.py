"""Shared fixtures: the dev stack's config and a runner for the program under Pulumi mocks."""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any, Callable

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools.harness import RunResult, config_from_stack_file, run_program  # noqa: E402

P = "hyperpod-platform:"


@pytest.fixture
def dev_config() -> dict[str, Any]:
    """The shipped dev stack's config (a fresh copy per test, safe to mutate)."""
    return copy.deepcopy(config_from_stack_file(ROOT / "Pulumi.dev.yaml"))


@pytest.fixture
def run_stack() -> Callable[..., RunResult]:
    """Run ``__main__.py`` under mocks with a config; ``preview=True`` mimics ``pulumi preview``."""

    def run(config: dict[str, Any], preview: bool = False) -> RunResult:
        return run_program(ROOT / "__main__.py", config, preview=preview)

    return run


@pytest.fixture
def dev_run(dev_config, run_stack) -> RunResult:
    """The dev stack as `pulumi up` would register it (known values)."""
    result = run_stack(dev_config)
    assert result.error is None, result.error
    return result


@pytest.fixture(scope="module")
def pack():
    """One policy pack process per test module (configured anew for every analysis)."""
    from tests.policy_support import REGION
    from tools.policy_harness import PolicyPackRunner

    with PolicyPackRunner(stack="dev", config=REGION) as runner:
        yield runner
