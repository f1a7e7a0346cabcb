"""The README's config reference table, generated from the config declarations in ``Pulumi.yaml``.

    python -m tools.config_reference           # rewrite the table in README.md
    python -m tools.config_reference --check   # exit 1 when README.md's table is not the generated one

``Pulumi.yaml`` is the one source of the rows. Each key under ``config:`` has a ``description`` (a string, as
Pulumi's project schema requires) made of a one-line summary, a blank line, and a Markdown table with the
columns ``key | default | meaning``: one row per field, the first cell naming the field's full path (e.g.
``network.mode``). The README's table is every such row, in the order of the declarations, between
:data:`START` and :data:`END`; the prose around it stays hand-written.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
PROJECT_FILE = ROOT / "Pulumi.yaml"
README = ROOT / "README.md"
START = "<!-- config-reference:start: generated from Pulumi.yaml by `python -m tools.config_reference` -->"
END = "<!-- config-reference:end -->"
HEADER = ("key", "default", "meaning")
CELL_SPLIT = re.compile(r"(?<!\\)\|")  # a cell may hold an escaped pipe (\|)
FIELD = re.compile(r"`([A-Za-z][A-Za-z0-9]*)((?:\.[A-Za-z][A-Za-z0-9]*|\[\])*)`")


class ReferenceError(Exception):
    """A config description that does not hold a well-formed table."""


@dataclasses.dataclass(frozen=True)
class Row:
    key: str  # the top-level config key the row belongs to
    cells: tuple[str, str, str]  # key (one or more `path`s), default, meaning: Markdown

    @property
    def fields(self) -> list[str]:
        """The field paths the row documents, e.g. ``["network.flowLogs", "network.flowLogsRetentionDays"]``."""
        return [top + rest for top, rest in FIELD.findall(self.cells[0])]

    def markdown(self) -> str:
        return "| " + " | ".join(self.cells) + " |"


def _cells(line: str, where: str) -> tuple[str, ...]:
    text = line.strip()
    if not (text.startswith("|") and text.endswith("|")):
        raise ReferenceError(f"{where}: a table line must start and end with '|': {line!r}")
    return tuple(cell.strip() for cell in CELL_SPLIT.split(text[1:-1]))


def rows_of(key: str, description: str) -> list[Row]:
    """The rows of one declaration's description: summary, blank line, ``| key | default | meaning |`` table."""
    where = f"Pulumi.yaml config.{key}.description"
    summary, _, rest = description.partition("\n\n")
    if not summary.strip() or summary.lstrip().startswith("|"):
        raise ReferenceError(f"{where}: begin with a one-line summary, then a blank line and the table")
    lines = rest.strip().splitlines()
    if len(lines) < 3:
        raise ReferenceError(f"{where}: needs a table with a header, a separator and at least one row")
    if _cells(lines[0], where) != HEADER:
        raise ReferenceError(f"{where}: the table's header must be | {' | '.join(HEADER)} |")
    if not all(re.fullmatch(r":?-+:?", cell) for cell in _cells(lines[1], where)):
        raise ReferenceError(f"{where}: the second table line must be the separator |---|---|---|")
    rows = []
    for line in lines[2:]:
        cells = _cells(line, where)
        if len(cells) != len(HEADER) or not all(cells):
            raise ReferenceError(f"{where}: a row needs {len(HEADER)} non-empty cells: {line!r}")
        row = Row(key, cells)  # type: ignore[arg-type]
        if not row.fields:
            raise ReferenceError(f"{where}: a row's first cell names its field(s) in backticks: {line!r}")
        for field in row.fields:
            if field != key and not field.startswith((f"{key}.", f"{key}[")):
                raise ReferenceError(f"{where}: row for `{field}`, which is not under `{key}`")
        rows.append(row)
    return rows


def load_rows(project_file: Path = PROJECT_FILE) -> list[Row]:
    """Every row of every config declaration, in the order of ``Pulumi.yaml``."""
    project = yaml.safe_load(project_file.read_text())
    rows = []
    for key, declaration in (project.get("config") or {}).items():
        description = declaration.get("description") if isinstance(declaration, dict) else None
        if not isinstance(description, str):
            raise ReferenceError(f"Pulumi.yaml config.{key}: no description")
        rows += rows_of(key, description)
    return rows


def render(rows: list[Row]) -> str:
    """The generated block, markers included, ending with a newline."""
    table = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)] + [row.markdown() for row in rows]
    return "\n".join([START, *table, END]) + "\n"


def replace_block(readme: str, block: str) -> str:
    """``readme`` with the text from the start marker's line to the end marker's line replaced by ``block``."""
    start = readme.find(START)
    end = readme.find(END, max(start, 0))
    if start < 0 or end < 0:
        raise ReferenceError(f"README.md has no block between {START!r} and {END!r}")
    end = readme.find("\n", end)
    end = len(readme) if end < 0 else end + 1
    return readme[:start] + block + readme[end:]


def current_block(readme: str) -> str:
    """The block as it stands in ``readme`` (markers included)."""
    start = readme.find(START)
    end = readme.find(END, max(start, 0))
    if start < 0 or end < 0:
        raise ReferenceError(f"README.md has no block between {START!r} and {END!r}")
    return readme[start : end + len(END)] + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.config_reference", description=__doc__.split("\n\n")[0])
    p.add_argument("--check", action="store_true", help="exit 1 when README.md's table is not the generated one")
    p.add_argument("--project", type=Path, default=PROJECT_FILE, help="the project file (default: Pulumi.yaml)")
    p.add_argument("--readme", type=Path, default=README, help="the file holding the block (default: README.md)")
    args = p.parse_args(argv)
    try:
        block = render(load_rows(args.project))
        readme = args.readme.read_text()
        if args.check:
            if current_block(readme) != block:
                print(
                    f"{args.readme.name}: the config reference is stale: run python -m tools.config_reference",
                    file=sys.stderr,
                )
                return 1
            return 0
        updated = replace_block(readme, block)
        if updated != readme:
            args.readme.write_text(updated)
            print(f"{args.readme.name}: config reference updated")
        return 0
    except ReferenceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
