"""What a component refuses, the config layer refuses first, naming the config key (issue 22, class 7).

A component checks its own args (it can be built without ``stack_config``), but for a stack those checks are a
backstop: a value they refuse must already be refused by the config layer, which names the config key and
reports every problem at once, before any resource. Each case is a value an audit of the components' checks
found the config layer let through (the component then named ``Component.arg`` and stopped the preview at the
first); the property test in ``tests/test_config_fuzz.py`` looks for more of them.
"""

from __future__ import annotations

import copy
from typing import Callable

import pytest

from tests import config_fuzz as cf
from tests.conftest import P


def _chart_missing(c: dict) -> None:
    c[P + "eks"]["chartPath"] = "/nonexistent/chart"
    c[P + "eks"].pop("helmValues", None)  # the chart is installed with or without values


def _set(section: str, *path, value) -> Callable[[dict], None]:
    def edit(c: dict) -> None:
        node = c[P + section]
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value

    return edit


def _existing_directory_without_id(c: dict) -> None:
    d = c[P + "directory"]
    for key in ("edition", "shortName", "adminInstance"):
        d.pop(key, None)
    d.update({"mode": "existing", "directoryId": None, "dnsIps": ["10.0.1.10", "10.0.2.10"]})


CASES = {
    "chart-not-fetched": ("Pulumi.eks-dev.yaml", _chart_missing, "eks.chartPath", "no Chart.yaml"),
    "addon-version": (
        "Pulumi.eks-dev.yaml",
        _set("governance", "addonVersion", value="latest"),
        "governance.addonVersion",
        "not an EKS add-on version",
    ),
    "service-account": (
        "Pulumi.eks-dev.yaml",
        _set("teams", 0, "data", "serviceAccount", value="Data_Access"),
        "teams[0].data.serviceAccount",
        "service account name",
    ),
    "directory-id-null": (
        "Pulumi.dev.yaml",
        _existing_directory_without_id,
        "directory.directoryId",
        "is required when directory.mode is 'existing'",
    ),
    "cluster-name-like-an-access-key-id": (
        "Pulumi.eks-dev.yaml",
        lambda c: c.__setitem__(P + "clusterName", "akiaabcdefghijklmnop"),
        "clusterName",
        "looks like a credential",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_value_a_component_refuses_is_refused_by_the_config_layer_naming_its_key(case):
    base, edit, key, why = CASES[case]
    config = copy.deepcopy(cf.base_configs()[base])
    if "teams" in key and not config.get(P + "teams", [{}])[0].get("data"):
        pytest.fail(f"{base} has no team with data: the case needs one")
    edit(config)
    mutant = cf.Mutant(base=base, config=config, steps=[case])
    outcome = cf.validate(mutant)
    assert outcome.status == "config_error", f"{case}: the config layer {outcome.status} it"
    assert f"{P}{key} =" in outcome.message and why in outcome.message, outcome.message
    result = cf.preview(mutant)
    assert result.code == 2, result.stderr[-1500:]
    assert f"{P}{key} =" in result.stderr
    assert not cf.COMPONENT_REFUSAL_RE.search(result.stderr), result.stderr[-1500:]


def test_the_cases_start_from_stack_files_that_preview_cleanly():
    for base in {b for b, *_ in CASES.values()}:
        result = cf.preview(cf.Mutant(base=base, config=copy.deepcopy(cf.base_configs()[base])))
        assert result.code == 0, f"{base}: {result.stderr[-800:]}"
