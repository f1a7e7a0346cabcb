"""The config fuzzer as a benchmark: many seeded mutations of the shipped stack files.

    venv/bin/python -m tools.fuzz_config --seeds 3000 [--first 0] [--hang-seconds 30] [--no-preview]

Mutation ``i`` is ``tests/config_fuzz.py``'s mutation drawn with ``random.Random(first + i)`` (every kind of edit,
:data:`tests.config_fuzz.KNOWN_OPEN` included). Each runs through the config layer in process
(:func:`tests.config_fuzz.validate`); the accepted ones and the crashing ones then run through the offline
preview in process (``scripts/preview --config-file F --quiet --no-policy``). Printed: mutations, accepted,
config errors, crashes (a crash in validation, or exit 4 from the preview) by class, each with one example,
leaks (an injected marker printed), and hangs: a preview that takes longer than ``--hang-seconds``. Examples
are shown with every injected marker replaced by ``<marker>``. A mutation the config layer accepts but a component
then refuses (preview exit 2) is a failure too: that check belongs in the config layer, where it names the
config key and is reported with every other problem.
"""

from __future__ import annotations

import argparse
import re
import signal
import sys
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Report:
    mutations: int = 0
    accepted: int = 0
    config_errors: int = 0
    crashes: int = 0  # in validation
    preview_crashes: int = 0  # exit 4
    previews: int = 0
    preview_codes: Counter = field(default_factory=Counter)
    crash_classes: Counter = field(default_factory=Counter)
    crash_examples: dict = field(default_factory=dict)
    leak_classes: Counter = field(default_factory=Counter)
    leak_examples: dict = field(default_factory=dict)
    hangs: list = field(default_factory=list)
    refused: int = 0  # accepted by the config layer, then exit 2 from a component's own checks
    refused_examples: dict = field(default_factory=dict)
    slowest: tuple = (0.0, "")
    seconds: float = 0.0


class _Hang(BaseException):
    pass


def _redacted(text: str, markers) -> str:
    for m in sorted(markers, key=len, reverse=True):
        text = text.replace(m, "<marker>")
    text = re.sub(r"HPSECRET-\d+", "<marker>", text)
    return re.sub(r"AKIAHPSECRET\d{8}", "<marker>", text)


def _where(exc: BaseException) -> str:
    """The innermost frame of the project (not of a library) that raised ``exc``: ``file:line``."""
    frames = traceback.extract_tb(exc.__traceback__)
    mine = [f for f in frames if str(ROOT) in f.filename and "/venv/" not in f.filename] or frames
    if not mine:
        return "?"
    f = mine[-1]
    return f"{Path(f.filename).resolve().relative_to(ROOT) if str(ROOT) in f.filename else f.filename}:{f.lineno}"


_WHERE_RE = re.compile(r"\(at ([^ ]+:\d+)[^)]*\)")
_COMPONENT_ARG_RE = re.compile(r"- ([A-Z][A-Za-z]+\.[a-z_]\w*)")


def run(
    seeds,
    *,
    preview_accepted: bool = True,
    hang_seconds: float = 30.0,
    abort_seconds: float = 300.0,
    progress: bool = False,
) -> Report:
    from tests import config_fuzz as cf

    report = Report()
    started = time.perf_counter()

    stopped = [False]

    def on_alarm(signo, frame):
        stopped[0] = True  # the preview reports what it was stopped by as a failure (exit 4): told apart here
        raise _Hang()

    def bounded(step, mutant):
        """``step(mutant)``, or None when it runs longer than ``abort_seconds`` (a hang)."""
        stopped[0] = False
        signal.alarm(int(abort_seconds))
        try:
            return step(mutant)
        except _Hang:
            return None
        finally:
            signal.alarm(0)

    previous = signal.signal(signal.SIGALRM, on_alarm)
    try:
        for seed in seeds:
            mutant = cf.mutate(cf.RandomChooser(seed))
            report.mutations += 1
            if progress and report.mutations % 250 == 0:
                print(f"... {report.mutations} mutations, {time.perf_counter() - started:.0f} s", file=sys.stderr)
            outcome = bounded(cf.validate, mutant)
            if outcome is None:
                report.hangs.append((seed, f"validation stopped after {abort_seconds:.0f} s", mutant.describe(),
                                     mutant.markers))  # fmt: skip
                continue
            kinds = "+".join(sorted(set(mutant.kinds))) or "none"
            example = f"seed {seed}: {mutant.describe()}"
            if outcome.status == "accepted":
                report.accepted += 1
            elif outcome.status == "config_error":
                report.config_errors += 1
            else:
                report.crashes += 1
                cls = f"validate: {type(outcome.error).__name__} at {_where(outcome.error)}"
                report.crash_classes[cls] += 1
                report.crash_examples.setdefault(cls, (example, outcome.message, mutant.markers))
            if mutant.leaks(outcome.message):
                cls = f"validate: {kinds}"
                report.leak_classes[cls] += 1
                report.leak_examples.setdefault(cls, (example, outcome.message, mutant.markers))
            if not preview_accepted or outcome.status == "config_error":
                continue
            report.previews += 1
            t0 = time.perf_counter()
            result = bounded(cf.preview, mutant)
            if stopped[0] or result is None:
                report.hangs.append((seed, f"stopped after {abort_seconds:.0f} s", mutant.describe(), mutant.markers))
                continue
            seconds = time.perf_counter() - t0
            report.preview_codes[result.code] += 1
            if seconds > report.slowest[0]:
                report.slowest = (seconds, example)
            if seconds > hang_seconds:
                report.hangs.append((seed, f"{seconds:.1f} s", mutant.describe(), mutant.markers))
            refusal = cf.COMPONENT_REFUSAL_RE.search(result.stderr) if result.code == 2 else None
            if refusal and outcome.status == "accepted":
                lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
                arg = _COMPONENT_ARG_RE.search(result.stderr, refusal.end())
                cls = arg.group(1) if arg else refusal.group(1)
                report.refused += 1
                report.refused_examples.setdefault(cls, (example, "\n".join(lines[-6:]), mutant.markers))
            if result.code == 4:
                lines = [ln for ln in result.stderr.splitlines() if ln.startswith("error:")] or [result.stderr[-300:]]
                at = _WHERE_RE.search(lines[-1])
                cls = f"preview exit 4: {lines[-1].split(':', 3)[2].strip() if lines[-1].count(':') >= 2 else ''}"
                cls = f"preview exit 4 at {at.group(1)}" if at else cls[:120]
                report.preview_crashes += outcome.status != "crash"  # a validation crash is counted once
                report.crash_classes[cls] += 1
                report.crash_examples.setdefault(cls, (example, "\n".join(lines), mutant.markers))
            if mutant.leaks(result.stdout, result.stderr):
                cls = f"preview: {kinds}"
                report.leak_classes[cls] += 1
                report.leak_examples.setdefault(cls, (example, result.stderr[-1000:], mutant.markers))
    finally:
        if previous is not None:
            signal.signal(signal.SIGALRM, previous)
        report.seconds = time.perf_counter() - started
    return report


def render(report: Report, out=sys.stdout) -> None:
    p = lambda *a: print(*a, file=out)  # noqa: E731
    p(f"mutations: {report.mutations}")
    p(f"accepted: {report.accepted}")
    p(f"config errors: {report.config_errors}")
    p(f"crashes: {report.crashes + report.preview_crashes} ({report.crashes} in validation, "
      f"{report.preview_crashes} preview exit 4)")  # fmt: skip
    for cls, n in report.crash_classes.most_common():
        example, message, markers = report.crash_examples[cls]
        p(f"  {n} x {cls}")
        p(f"      e.g. {_redacted(example, markers)[:400]}")
        p(f"      -> {_redacted(message, markers)[-400:]}")
    p(f"refused by a component after the config layer accepted: {report.refused}")
    for cls, (example, message, markers) in report.refused_examples.items():
        p(f"  {cls}")
        p(f"      e.g. {_redacted(example, markers)[:400]}")
        p(f"      -> {_redacted(message, markers)[-400:]}")
    p(f"leaks: {sum(report.leak_classes.values())}")
    for cls, n in report.leak_classes.most_common():
        example, message, markers = report.leak_examples[cls]
        p(f"  {n} x {cls}")
        p(f"      e.g. {_redacted(example, markers)[:400]}")
        p(f"      -> {_redacted(message, markers)[:400]}")
    p(f"hangs: {len(report.hangs)}")
    for seed, how, what, markers in report.hangs[:10]:
        p(f"  seed {seed} ({how}): {_redacted(what, markers)[:300]}")
    codes = ", ".join(f"{code}: {n}" for code, n in sorted(report.preview_codes.items()))
    p(f"previews: {report.previews} (exit codes {codes or '-'})")
    if report.slowest[1]:
        p(f"slowest preview: {report.slowest[0]:.1f} s")
    p(f"time: {report.seconds:.0f} s")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.fuzz_config", description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=3000, help="how many mutations (default 3000)")
    ap.add_argument("--first", type=int, default=0, help="the first seed (default 0)")
    ap.add_argument("--hang-seconds", type=float, default=30.0, help="a preview longer than this is a hang")
    ap.add_argument("--no-preview", action="store_true", help="validation only")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    report = run(
        range(args.first, args.first + args.seeds),
        preview_accepted=not args.no_preview,
        hang_seconds=args.hang_seconds,
        abort_seconds=max(args.hang_seconds * 10, 60),
        progress=True,
    )
    render(report)
    failed = report.crashes or report.preview_crashes or report.hangs or report.leak_classes or report.refused
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
