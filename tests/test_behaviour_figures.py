"""The behaviour figures the README quotes are what tools/behaviour.py computes now, and the tool's report says
what it proved and fails on a problem."""

from pathlib import Path

from tools import behaviour

ROOT = Path(__file__).resolve().parent.parent


def test_readme_behaviour_figures_are_the_generated_ones():
    readme = (ROOT / "README.md").read_text()
    assert readme.count(behaviour.START) == 1 and readme.count(behaviour.END) == 1
    current = behaviour.START + readme.split(behaviour.START, 1)[1].split(behaviour.END, 1)[0] + behaviour.END
    assert current == behaviour.readme_block(), "README behaviour figures are stale: python -m tools.behaviour --readme"


def test_every_check_of_the_pack_is_a_column_of_the_figures():
    assert {m.NAME for m in behaviour.checks()} == {name for name, _ in behaviour.COLUMNS}


def test_report_counts_what_each_check_proved_and_exits_0_without_problems(capsys):
    assert behaviour.main(["--stack", "eks-dev"]) == 0
    out = capsys.readouterr().out
    assert "behaviour-reachability: " in out and " flows proved" in out
    assert "behaviour-kubernetes: " in out and " pod" in out and " permission" in out
    assert " 0 problem(s)" in out and "problem(s), 0 not judged" in out


def test_a_stack_with_a_problem_makes_the_report_exit_1(monkeypatch, capsys):
    from policies.rules._behaviour import Findings

    def broken(stack, config_file=None):
        found = Findings("flows")
        found.fail(None, "flow x -> y is closed")
        return {"behaviour-reachability": found}

    monkeypatch.setattr(behaviour, "evaluate_stack", broken)
    assert behaviour.main(["--stack", "dev"]) == 1
    assert "! stack: flow x -> y is closed" in capsys.readouterr().out
