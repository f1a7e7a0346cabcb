"""What the behaviour checks prove for each shipped stack: flows open, calls authorized, pods placed, orders.

    venv/bin/python -m tools.behaviour [--stack NAME ...] [--verbose]

Runs the program under mocks with every value resolved (as at `up`), builds the stack's graph as the policy
pack sees it, and runs each behaviour check of the pack (``policies/rules/behaviour_*.py``, the same
``evaluate`` the pack's stack policies call). Prints, per stack and check, how many behaviours were proved,
the problems and what could not be judged; ``--verbose`` lists each proved behaviour. Exits 1 when a check
found a problem. The README's "Behaviour checks" table quotes its output.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STACKS = ("dev", "prod", "eks-dev")


def checks() -> list:
    """The behaviour check modules of the pack, in name order."""
    import policies.rules as rules

    names = sorted(m.name for m in pkgutil.iter_modules(rules.__path__) if m.name.startswith("behaviour_"))
    return [importlib.import_module(f"policies.rules.{n}") for n in names]


def evaluate_stack(stack: str, config_file: Path | None = None) -> dict[str, object]:
    """Check name -> :class:`~policies.rules._behaviour.Findings` for one stack's plan (values resolved)."""
    from policies.rules._behaviour import graph_of
    from tools.harness import config_from_stack_file, run_program

    config = config_from_stack_file(config_file or ROOT / f"Pulumi.{stack}.yaml")
    result = run_program(ROOT / "__main__.py", config, preview=False, stack=stack)
    if result.error is not None:
        raise RuntimeError(f"stack {stack}: the program failed: {result.error}")
    outputs = dict(result.outputs)
    graph = graph_of(result.registrations, stack_outputs=outputs)
    return {m.NAME: m.evaluate(graph, {}) for m in checks()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="tools.behaviour", description=__doc__.split("\n\n")[0])
    p.add_argument("--stack", action="append", help=f"stack(s) to check (default: {', '.join(STACKS)})")
    p.add_argument("--verbose", action="store_true", help="list every proved behaviour")
    args = p.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    code = 0
    for stack in args.stack or STACKS:
        print(f"stack {stack}:")
        for name, found in evaluate_stack(stack).items():
            print(
                f"  {name}: {len(found.proved)} {found.kind} proved, {len(found.problems)} problem(s), "
                f"{len(found.unknown)} not judged"
            )
            for line in found.proved if args.verbose else []:
                print(f"      + {line}")
            for prob in found.problems:
                where = prob.node.label if prob.node is not None else "stack"
                print(f"      ! {where}: {prob.message}")
                code = 1
            for line in found.unknown:
                print(f"      ? {line}")
    return code


if __name__ == "__main__":
    sys.exit(main())
