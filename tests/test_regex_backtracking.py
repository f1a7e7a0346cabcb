"""No regular expression in the product backtracks exponentially on hostile config (issue 22).

The config fuzzer hung on a long ``x-x-x-...`` team name: ``^[a-z0-9]([-a-z0-9]*[a-z0-9]){0,39}?$`` (the
CloudFormation schema's pattern) can split such a string in exponentially many ways before it fails. The class:
a repeated group whose body holds a repeat that can also match what follows it in the body (or, for the body's
last element, the body's own start). These tests find every regex literal in the product's source (calls of
``re.compile``, ``re.match``, ``re.sub``, ...) and refuse any of that shape.
"""

import ast
import re
import re._constants as C
import re._parser as P
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("hyperpod_platform", "stack_config", "policies", "wiring", "tools", "provider", "__main__.py")
RE_FUNCTIONS = {"compile", "match", "fullmatch", "search", "sub", "subn", "split", "findall", "finditer"}
ALPHABET = [chr(c) for c in range(0, 0x180)]
CATEGORY = {
    C.CATEGORY_DIGIT: re.compile(r"\d"),
    C.CATEGORY_NOT_DIGIT: re.compile(r"\D"),
    C.CATEGORY_SPACE: re.compile(r"\s"),
    C.CATEGORY_NOT_SPACE: re.compile(r"\S"),
    C.CATEGORY_WORD: re.compile(r"\w"),
    C.CATEGORY_NOT_WORD: re.compile(r"\W"),
}


def _class(items) -> frozenset:
    negate = False
    out: set[str] = set()
    for op, av in items:
        if op is C.NEGATE:
            negate = True
        elif op is C.LITERAL:
            out.add(chr(av))
        elif op is C.RANGE:
            out.update(c for c in ALPHABET if av[0] <= ord(c) <= av[1])
        elif op is C.CATEGORY:
            out.update(c for c in ALPHABET if CATEGORY[av].match(c))
    return frozenset(set(ALPHABET) - out if negate else out)


def chars(seq) -> frozenset:
    """Every character ``seq`` (a parsed sequence) can consume."""
    out: set[str] = set()
    for op, av in seq:
        if op is C.LITERAL:
            out.add(chr(av))
        elif op is C.NOT_LITERAL:
            out.update(c for c in ALPHABET if ord(c) != av)
        elif op is C.ANY:
            out.update(ALPHABET)
        elif op is C.IN:
            out |= _class(av)
        elif op is C.SUBPATTERN:
            out |= chars(av[-1])
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
            out |= chars(av[2])
        elif op is C.BRANCH:
            for b in av[1]:
                out |= chars(b)
        elif op is C.ATOMIC_GROUP:
            out |= chars(av)
    return frozenset(out)


def first(seq) -> frozenset:
    """The characters ``seq`` can start with (an optional or zero-width start also lets the next one start)."""
    out: set[str] = set()
    for op, av in seq:
        if op in (C.AT, C.ASSERT, C.ASSERT_NOT):
            continue
        if op is C.SUBPATTERN:
            out |= first(av[-1])
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
            out |= first(av[2])
            if av[0] == 0:
                continue
        elif op is C.BRANCH:
            for b in av[1]:
                out |= first(b)
        else:
            out |= chars([(op, av)])
        return frozenset(out)
    return frozenset(out)


def ambiguous_repeats(seq, found: list) -> list:
    """Repeated groups (``max > 1``) whose body can split one string in more than one way."""
    for op, av in seq:
        if op in (C.MAX_REPEAT, C.MIN_REPEAT):
            lo, hi, body = av
            body = list(body)
            if len(body) == 1 and body[0][0] is C.SUBPATTERN:
                body = list(body[0][1][-1])
            if hi > 1:
                for i, (iop, iav) in enumerate(body):
                    if iop in (C.MAX_REPEAT, C.MIN_REPEAT) and iav[1] > 1:
                        rest = body[i + 1 :] + body  # the body's last element is followed by its own start
                        overlap = chars(iav[2]) & first(rest)
                        if overlap:
                            found.append(sorted(overlap)[:5])
            ambiguous_repeats(body, found)
        elif op is C.SUBPATTERN:
            ambiguous_repeats(av[-1], found)
        elif op is C.BRANCH:
            for b in av[1]:
                ambiguous_repeats(b, found)
        elif op in (C.ASSERT, C.ASSERT_NOT):
            ambiguous_repeats(av[1], found)
    return found


def exponential(pattern: str) -> list:
    return ambiguous_repeats(P.parse(pattern), [])


def product_patterns() -> list[tuple[str, int, str]]:
    """Every literal pattern handed to the ``re`` module in the product's source: (file, line, pattern)."""
    out = []
    for source in SOURCES:
        path = ROOT / source
        for file in [path] if path.is_file() else sorted(path.rglob("*.py")):
            tree = ast.parse(file.read_text())
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr in RE_FUNCTIONS
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "re"
                    and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)
                ):
                    out.append((str(file.relative_to(ROOT)), node.lineno, node.args[0].value))
    return out


def test_the_checker_flags_the_schema_team_name_pattern_that_hung_the_fuzzer_and_nested_plus():
    assert exponential(r"^[a-z0-9]([-a-z0-9]*[a-z0-9]){0,39}?$")
    assert exponential(r"^(a+)+$")
    assert exponential(r"^(\w+\s?)*$")
    assert exponential(r"^(x|[a-z]+-)*$") == []  # alternation ambiguity is outside this class
    assert exponential(r"^([a-z]+-?)*$")  # an optional separator lets the repeat split a run of letters


def test_the_checker_passes_repeats_split_by_a_separator_they_cannot_match():
    assert exponential(r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$") == []
    assert exponential(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$") == []
    assert exponential(r"^/(?!/)[a-zA-Z0-9._-]+(/[a-zA-Z0-9._-]+)*$") == []
    assert exponential(r"^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,63}$") == []


def test_the_scan_finds_the_product_patterns():
    found = product_patterns()
    assert len(found) > 40
    assert any(p == r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" for _, _, p in found)


@pytest.mark.parametrize("where,line,pattern", product_patterns(), ids=lambda v: str(v)[:40])
def test_no_product_regex_can_backtrack_exponentially(where, line, pattern):
    assert exponential(pattern) == [], f"{where}:{line} {pattern!r} has a repeat that can split a string many ways"
