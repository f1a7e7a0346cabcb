"""The README's config reference: generated from Pulumi.yaml's declarations, fresh, and complete."""

from __future__ import annotations

import pytest
import yaml

import stack_config
from tests.conftest import ROOT
from tools import config_reference

# What Pulumi's project schema allows in a config declaration (sdk/go/common/workspace/project.json,
# $defs.configTypeDeclaration: additionalProperties false; description a string).
DECLARATION_KEYS = {"type", "items", "description", "secret", "default", "value"}


def test_readme_config_reference_is_the_generated_one():
    """The block between the markers in README.md is exactly what tools/config_reference.py renders."""
    readme = (ROOT / "README.md").read_text()
    expected = config_reference.render(config_reference.load_rows())
    assert config_reference.current_block(readme) == expected, (
        "README config reference is stale: run python -m tools.config_reference"
    )
    assert config_reference.main(["--check"]) == 0
    assert readme.count(config_reference.START) == 1 and readme.count(config_reference.END) == 1


def test_every_key_the_config_module_reads_is_documented_and_nothing_else():
    """The rows cover exactly stack_config.TOP_KEYS, each key with at least one row, and no field twice."""
    rows = config_reference.load_rows()
    declared = list(yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"])
    assert list(dict.fromkeys(row.key for row in rows)) == declared  # every declaration has rows, in order
    assert set(row.key for row in rows) == set(stack_config.TOP_KEYS)
    fields = [field for row in rows for field in row.fields]
    assert len(fields) == len(set(fields)), "a field documented twice"
    assert {f.split(".")[0].split("[")[0] for f in fields} == set(stack_config.TOP_KEYS)
    assert len(rows) >= 47  # the hand-written table had 47 rows; none may be lost


def test_pulumi_yaml_declarations_stay_valid_project_config():
    """Each declaration uses only what Pulumi's project schema allows; descriptions are strings; no defaults or
    types were added to the structured keys (the program's own validation holds the defaults)."""
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    for key, declaration in project["config"].items():
        assert isinstance(declaration, dict) and set(declaration) <= DECLARATION_KEYS, key
        assert isinstance(declaration["description"], str), key
        assert "default" not in declaration and "value" not in declaration, key
    assert project["config"]["clusterName"]["type"] == "string"
    assert all("type" not in d for k, d in project["config"].items() if k != "clusterName")


def test_rows_keep_defaults_and_meanings():
    """Spot checks that the rows carry what the hand-written table had: defaults and meanings."""
    cells = {row.cells[0]: row.cells[1:] for row in config_reference.load_rows()}
    assert cells["`fsx.storageCapacityGiB`"] == ("`1200`", "1200, 2400, then steps of 2400")
    assert cells["`network.natGateways`"][0] == "`perAz`"
    assert cells["`directory.bindUser`"] == (
        "`ReadOnly`",
        "read-only user SSSD binds as; password generated into Secrets Manager",
    )
    assert cells["`clusterName`"][0] == "required"


@pytest.mark.parametrize(
    ("description", "message"),
    [
        ("Only a summary.", "needs a table"),
        ("Summary.\n\n| field | default | meaning |\n|---|---|---|\n| `fsx.x` | 1 | y |", "header"),
        ("Summary.\n\n| key | default | meaning |\n| `fsx.x` | 1 | y |\n| `fsx.z` | 1 | y |", "separator"),
        ("Summary.\n\n| key | default | meaning |\n|---|---|---|\n| `fsx.x` | 1 |", "3 non-empty cells"),
        ("Summary.\n\n| key | default | meaning |\n|---|---|---|\n| `vpn.x` | 1 | y |", "not under `fsx`"),
        ("Summary.\n\n| key | default | meaning |\n|---|---|---|\n| fsx.x | 1 | y |", "in backticks"),
        ("| key | default | meaning |\n|---|---|---|\n| `fsx.x` | 1 | y |", "one-line summary"),
    ],
)
def test_a_malformed_description_is_refused(description, message):
    with pytest.raises(config_reference.ReferenceError, match=message):
        config_reference.rows_of("fsx", description)


def test_stale_block_fails_the_check_and_is_rewritten(tmp_path):
    """--check exits 1 on a stale copy; without it, only the block is rewritten, the prose around it kept."""
    readme = tmp_path / "README.md"
    readme.write_text(
        f"# t\n\nprose before\n\n{config_reference.START}\n| old |\n{config_reference.END}\n\nprose after\n"
    )
    assert config_reference.main(["--check", "--readme", str(readme)]) == 1
    assert config_reference.main(["--readme", str(readme)]) == 0
    text = readme.read_text()
    assert text.startswith("# t\n\nprose before\n\n") and text.endswith("\n\nprose after\n")
    assert config_reference.main(["--check", "--readme", str(readme)]) == 0
    assert "| `network.mode` | `create` |" in text
