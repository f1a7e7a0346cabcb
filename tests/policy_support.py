"""What the policy tests share: the region config, the pack's judgement of a program under mocks, and ids for
parametrized programs. The `pack` fixture (one pack process per test module) is in conftest.py."""

from tools.harness import run_program

REGION = {"aws:region": "us-east-1"}


def program_id(value):
    """A parametrize id: a program's function name, else the value."""
    return getattr(value, "__name__", None) or str(value)


def judge(pack, program, *, preview=False, policy_config=None, config=REGION):
    """Run ``program`` under mocks (as a preview or an update) and return the pack's report on its resources."""
    result = run_program(program, config, preview=preview)
    assert result.error is None, result.error
    return pack.analyze(result.registrations, outputs=result.outputs, config=config, policy_config=policy_config)
