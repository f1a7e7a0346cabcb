"""Hostile and careless config (issue 22): mutations of the shipped stack files never crash the config layer or
the preview, and never make it print an injected secret.

The mutations are ``tests/config_fuzz.py``'s (type changes, extreme numbers, strange strings, path tricks,
duplicate entries, removed, added, misspelt and moved keys, secrets nested anywhere); seeded and bounded, so
the same examples run every time. ``python -m tools.fuzz_config --seeds N`` runs many more.
"""

from __future__ import annotations

import copy

import pytest
from hypothesis import HealthCheck, given, settings

from tests import config_fuzz as cf

FAST = settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
PREVIEW = settings(FAST, max_examples=30)


@FAST
@given(cf.mutants())
def test_validating_a_mutated_stack_config_accepts_it_or_names_its_problems_without_a_secret(mutant):
    outcome = cf.validate(mutant)
    assert outcome.status != "crash", f"{mutant.describe()}\ncrashed: {outcome.message}"
    assert not mutant.leaks(outcome.message), f"{mutant.describe()}\nprinted a secret: {outcome.message}"
    if outcome.status == "config_error":
        assert outcome.message.strip(), f"{mutant.describe()}\nrefused without naming a problem"


@PREVIEW
@given(cf.mutants(max_edits=2))
def test_preview_of_a_mutated_stack_config_never_exits_4_nor_prints_a_secret(mutant):
    result = cf.preview(mutant)
    assert result.code != 4, f"{mutant.describe()}\nexit 4:\n{result.stderr[-2000:]}"
    assert result.code in (0, 1, 2, 3), f"{mutant.describe()}\nexit {result.code}"
    assert not mutant.leaks(result.stdout, result.stderr), f"{mutant.describe()}\nprinted a secret"


@PREVIEW
@given(cf.mutants(max_edits=1))
def test_preview_and_validation_agree_on_whether_a_mutated_config_is_valid(mutant):
    """What validation refuses the preview refuses with exit 2; what validation accepts it does not refuse
    because of the config layer's own checks (only the AWS look-ups of existing subnets may still refuse it)."""
    outcome = cf.validate(mutant)
    result = cf.preview(mutant)
    if outcome.status == "config_error":
        assert result.code == 2, f"{mutant.describe()}\nvalidation refused it, the preview exited {result.code}"
    if outcome.status == "accepted":  # a component's own check is a backstop: the config layer names the key
        refusal = cf.COMPONENT_REFUSAL_RE.search(result.stderr)
        assert not refusal, (
            f"{mutant.describe()}\naccepted, then refused by {refusal.group(1)}:\n{result.stderr[-1500:]}"
        )


@pytest.mark.parametrize("kind", sorted(cf.KINDS))
def test_each_kind_of_edit_changes_some_stack_file(kind):
    changed = 0
    for seed in range(40):
        mutant = cf.mutate(cf.RandomChooser(seed), kinds=[kind], max_edits=1)
        if mutant.kinds:
            assert mutant.config != cf.base_configs()[mutant.base], mutant.describe()
            changed += 1
    assert changed >= 20, f"{kind}: applied in only {changed} of 40 seeds"


@pytest.mark.parametrize("kind", ["secret.marker", "secret.pem", "secret.akia", "secret.as_key"])
def test_secret_edits_record_the_marker_they_put_in_the_config(kind):
    for seed in range(20):
        mutant = cf.mutate(cf.RandomChooser(seed), kinds=[kind], max_edits=1)
        assert mutant.markers, mutant.describe()
        text = mutant.yaml_text()
        assert all(m in text for m in mutant.markers), mutant.describe()


def test_a_printed_marker_counts_as_a_leak_and_an_absent_one_does_not():
    mutant = cf.mutate(cf.RandomChooser(3), kinds=["secret.akia"], max_edits=1)
    (marker,) = mutant.markers
    assert mutant.leaks(f"bad value {marker}") == [marker]
    assert mutant.leaks("bad value <redacted>", "") == []


def test_the_same_seed_gives_the_same_mutation_and_the_base_files_stay_as_read():
    bases = copy.deepcopy(cf.base_configs())
    first = cf.mutate(cf.RandomChooser(11))
    again = cf.mutate(cf.RandomChooser(11))
    assert (first.config, first.steps) == (again.config, again.steps)
    assert cf.base_configs() == bases


def test_known_open_names_only_kinds_of_edit_each_with_its_reason():
    assert set(cf.KNOWN_OPEN) <= set(cf.KINDS)
    assert all(reason.strip() for reason in cf.KNOWN_OPEN.values())
    assert set(cf.open_kinds()) == set(cf.KINDS) - set(cf.KNOWN_OPEN)


def test_the_fuzz_tool_counts_every_mutation_once():
    from tools import fuzz_config

    report = fuzz_config.run(range(4), preview_accepted=False)
    assert report.mutations == 4
    assert report.accepted + report.config_errors + report.crashes == 4
