"""What the policy tests share: the region config, the pack's judgement of a program under mocks, and ids for
parametrized programs. The `pack` fixture (one pack process per test module) is in conftest.py."""

from tools.harness import run_program

REGION = {"aws:region": "us-east-1"}


def program_id(value):
    """A parametrize id: a program's function name, else the value."""
    return getattr(value, "__name__", None) or str(value)


BEHAVIOUR = ("behaviour-readiness", "behaviour-authorization", "behaviour-reachability", "behaviour-kubernetes")
"""The behaviour checks: they judge whether a whole platform works on AWS (tests/test_behaviour_*.py); the
guardrails' small programs are fragments of one, so :func:`guardrails_only` leaves them out."""


def guardrails_only(policy_config=None) -> dict:
    """``policy_config`` with the behaviour checks disabled: a guardrail's compliant program must pass every
    guardrail, but it is a fragment (a cluster without a NAT, a role without a cluster), not a platform."""
    return {**(policy_config or {}), **{name: "disabled" for name in BEHAVIOUR}}


def judge(pack, program, *, preview=False, policy_config=None, config=REGION):
    """Run ``program`` under mocks (as a preview or an update) and return the pack's report on its resources."""
    result = run_program(program, config, preview=preview)
    assert result.error is None, result.error
    return pack.analyze(result.registrations, outputs=result.outputs, config=config, policy_config=policy_config)
