"""scripts/preview as a process: a crash exits 4 with its cause (never 1, "policy violation"), and however the
preview ends (SIGINT, SIGTERM, SIGHUP, SIGKILL) the policy pack process ends with it.

The pack's pid comes from HP_PREVIEW_PACK_PIDFILE (written by PolicyPackRunner.start()); liveness from
/proc/<pid>/stat, with the start time recorded so a reused pid is not mistaken for the pack, and a zombie (dead,
waiting to be reaped by whoever adopted it) counts as gone. HANG_GUARD is only a safety net against hangs:
nothing here asserts how long anything takes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.waiting import wait_for
from tools import cfn_schema, policy_harness, preview

HANG_GUARD = 120  # seconds
PREVIEW = str(ROOT / "scripts" / "preview")


# ---------------------------------------------------------------- helpers
def _start(tmp_path: Path, *args: str, cmd: list[str] | None = None, env: dict | None = None):
    """Start the preview (``cmd`` instead of scripts/preview if given); returns (process, pack pidfile)."""
    pidfile = tmp_path / "pack.pid"
    proc = subprocess.Popen(
        cmd or [PREVIEW, *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "HP_PREVIEW_PACK_PIDFILE": str(pidfile), **(env or {})},
    )
    return proc, pidfile


def _finish(proc: subprocess.Popen) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=HANG_GUARD)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"the preview hung:\n{out}\n{err}")
    return proc.returncode, out, err


def _until(predicate, what: str, proc: subprocess.Popen | None = None):
    """Poll ``predicate`` until it is truthy; fail if the process ends first or the hang guard runs out."""

    def check():
        value = predicate()
        if not value and proc is not None and proc.poll() is not None:
            code, out, err = _finish(proc)
            pytest.fail(f"the preview exited {code} before {what}:\n{out}\n{err}")
        return value

    return wait_for(check, what, limit=HANG_GUARD, interval=0.01)


def _stat(pid: int) -> tuple[str, int, str] | None:
    """(state, parent pid, start time) of a process, or None if there is no such process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text.rsplit(")", 1)[1].split()
    return fields[0], int(fields[1]), fields[19]


class Pack:
    """The pack process named in the pidfile, identified by pid and start time."""

    def __init__(self, pidfile: Path, proc: subprocess.Popen | None = None):
        text = _until(
            lambda: pidfile.exists() and pidfile.read_text().endswith("\n") and pidfile.read_text(),
            "the policy pack to start",
            proc,
        )
        self.pid = int(text)
        stat = _stat(self.pid)
        assert stat is not None and stat[0] not in "ZX", f"the pack {self.pid} is not running: {stat}"
        self.ppid, self.started = stat[1], stat[2]

    def gone(self) -> bool:
        stat = _stat(self.pid)
        return stat is None or stat[2] != self.started or stat[0] in "ZX"

    def assert_gone(self) -> None:
        _until(self.gone, f"the policy pack {self.pid} to end")


def _pack_gone_if_started(pidfile: Path) -> None:
    if pidfile.exists() and pidfile.read_text().strip():
        pid = int(pidfile.read_text())
        _until(lambda: _stat(pid) is None or _stat(pid)[0] in "ZX", f"the policy pack {pid} to end")


def _signal_caught(pid: int, signo: int) -> bool:
    """Whether ``pid`` runs tools.preview and has a handler for ``signo`` (SigCgt in /proc/<pid>/status)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    caught = int(next(ln.split()[1] for ln in status.splitlines() if ln.startswith("SigCgt:")), 16)
    return b"tools.preview" in cmdline and bool(caught & (1 << (signo - 1)))


STOP_MESSAGES = {
    signal.SIGINT: "interrupted (SIGINT)",
    signal.SIGTERM: "terminated (SIGTERM)",
    signal.SIGHUP: "hung up (SIGHUP)",
}

HANGING_PROGRAM = """\
import asyncio, os
import pulumi
import pulumi_aws as aws

aws.s3.Bucket("b")
never = asyncio.get_event_loop().create_future()  # the engine never answers


async def wait():
    await never
    return "x"


pulumi.export("never", pulumi.Output.from_input(wait()))
open(os.environ["HP_TEST_MARKER"], "w").write("program running\\n")
"""

# The preview, held in the policy phase once the pack serves (it answered GetAnalyzerInfo): HP_TEST_PACK=stopped
# stops the pack (SIGSTOP), so the next RPC blocks inside gRPC; HP_TEST_PACK=serving keeps the preview waiting.
PREVIEW_IN_POLICY_PHASE = """\
import os, signal, sys, time
from pathlib import Path

sys.path.insert(0, {root!r})
from tools import policy_harness, preview

analyze = policy_harness.PolicyPackRunner.analyze


def held_analyze(self, *args, **kwargs):
    self.info()
    if os.environ["HP_TEST_PACK"] == "stopped":
        os.kill(self.pid, signal.SIGSTOP)
    Path(os.environ["HP_TEST_MARKER"]).write_text("policy phase\\n")
    if os.environ["HP_TEST_PACK"] == "serving":
        time.sleep({guard})
    return analyze(self, *args, **kwargs)


policy_harness.PolicyPackRunner.analyze = held_analyze
sys.exit(preview.main(sys.argv[1:], handle_signals=True))
"""


def _start_in_policy_phase(tmp_path: Path, pack: str):
    """The dev preview held in the policy phase (see PREVIEW_IN_POLICY_PHASE); returns (process, Pack)."""
    marker = tmp_path / "marker"
    script = PREVIEW_IN_POLICY_PHASE.format(root=str(ROOT), guard=HANG_GUARD)
    proc, pidfile = _start(
        tmp_path,
        cmd=[sys.executable, "-c", script, "--stack", "dev", "--quiet"],
        env={"HP_TEST_MARKER": str(marker), "HP_TEST_PACK": pack},
    )
    running = Pack(pidfile, proc)
    _until(marker.exists, "the policy phase", proc)
    return proc, running


# ---------------------------------------------------------------- crashes exit 4 with their cause
def test_program_that_raises_exits_4_naming_type_message_and_place(tmp_path):
    """A program that raises: exit 4, the exception's type and message and the file and line that raised."""
    program = tmp_path / "boom.py"
    program.write_text("def helper():\n    raise RuntimeError('kaboom in the program')\n\n\nhelper()\n")
    proc, pidfile = _start(tmp_path, "--stack", "dev", "--quiet", "--program", str(program))
    code, out, err = _finish(proc)
    assert code == 4, out + err
    assert f"error: the program failed: RuntimeError: kaboom in the program (at {program}:2 in helper)" in err
    assert "Traceback" not in err
    _pack_gone_if_started(pidfile)


def test_crash_in_the_schema_check_exits_4_not_1(tmp_path, monkeypatch, capsys):
    """An exception outside the program run (here: the schema check) is reported with its cause, exit 4; the
    pack started for the run is gone afterwards."""

    def validate(*_args):
        raise LookupError("no schema for region xx-nowhere-1")

    monkeypatch.setattr(cfn_schema, "validate", validate)
    monkeypatch.setenv("HP_PREVIEW_PACK_PIDFILE", str(tmp_path / "pack.pid"))
    assert preview.main(["--stack", "dev", "--quiet"]) == 4
    err = capsys.readouterr().err
    line = validate.__code__.co_firstlineno + 1
    assert (
        f"error: the preview failed: LookupError: no schema for region xx-nowhere-1 "
        f"(at tests/test_preview_process.py:{line} in validate)"
    ) in err
    _pack_gone_if_started(tmp_path / "pack.pid")


def test_crash_in_the_policy_harness_exits_4(tmp_path, monkeypatch, capsys):
    """An unexpected exception in the policy harness (not a PolicyPackError): exit 4 with its cause."""

    def analyze(self, *_args, **_kwargs):
        raise OSError("the analyzer socket vanished")

    monkeypatch.setattr(policy_harness.PolicyPackRunner, "analyze", analyze)
    monkeypatch.setenv("HP_PREVIEW_PACK_PIDFILE", str(tmp_path / "pack.pid"))
    assert preview.main(["--stack", "dev", "--quiet"]) == 4
    err = capsys.readouterr().err
    assert "error: the preview failed: OSError: the analyzer socket vanished (at tests/test_preview_process.py:" in err
    _pack_gone_if_started(tmp_path / "pack.pid")


def test_unwritable_json_path_exits_4(tmp_path):
    """--json into a directory that does not exist: exit 4 naming the error and where the preview wrote it."""
    target = tmp_path / "no-such-dir" / "plan.json"
    proc, pidfile = _start(tmp_path, "--stack", "dev", "--quiet", "--json", str(target))
    code, out, err = _finish(proc)
    assert code == 4, out + err
    assert f"error: the preview failed: FileNotFoundError: [Errno 2] No such file or directory: '{target}'" in err
    assert "from tools/preview.py:" in err and "in _preview)" in err
    assert "Traceback" not in err
    _pack_gone_if_started(pidfile)


def test_keyboard_interrupt_in_the_program_run_is_not_a_program_failure(tmp_path, capsys):
    """In process (no signal handlers), a KeyboardInterrupt that run_program caught is Ctrl-C: 130, not 4."""
    program = tmp_path / "ctrl_c.py"
    program.write_text("raise KeyboardInterrupt\n")
    assert preview.main(["--stack", "dev", "--quiet", "--program", str(program)]) == 130
    err = capsys.readouterr().err
    assert "interrupted (SIGINT)" in err and "failed" not in err


# ---------------------------------------------------------------- signals: the pack never outlives the preview
@pytest.mark.parametrize("signo", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT], ids=lambda s: s.name)
def test_stop_signal_stops_the_pack_and_exits_128_plus_signo(tmp_path, signo):
    """SIGTERM, SIGHUP, SIGINT to `scripts/preview --stack dev` while the pack runs: the preview says so, exits
    128 + signo, and the pack (its child) is gone."""
    proc, pidfile = _start(tmp_path, "--stack", "dev", "--quiet")
    pack = Pack(pidfile, proc)
    assert pack.ppid == proc.pid  # scripts/preview exec'd the preview, whose child is the pack
    proc.send_signal(signo)
    code, out, err = _finish(proc)
    assert code == 128 + signo, out + err
    assert f"{STOP_MESSAGES[signo]}: stopped the preview and the policy pack; exit {128 + signo}." in err
    assert "failed" not in err and "Traceback" not in err
    pack.assert_gone()


@pytest.mark.parametrize("moment", ["pack started", "pack serving", "pack stopped"])
def test_sigkill_of_the_preview_ends_the_pack(tmp_path, moment):
    """SIGKILL: nothing in the preview runs, the pack ends by itself (parent-death signal, stdin at EOF): just
    after it started (`scripts/preview --stack dev`), once it serves the policy phase, and even when stopped."""
    if moment == "pack started":
        proc, pidfile = _start(tmp_path, "--stack", "dev", "--quiet")
        pack = Pack(pidfile, proc)
    else:
        proc, pack = _start_in_policy_phase(tmp_path, moment.split()[1])
    proc.send_signal(signal.SIGKILL)
    code, _, _ = _finish(proc)
    assert code == -signal.SIGKILL
    pack.assert_gone()


def test_pack_started_from_a_thread_outlives_the_thread_not_the_process(tmp_path):
    """A runner started from a thread that then ends: the pack keeps serving (no parent-death signal armed for
    that thread), and still ends when the process is SIGKILLed (its stdin pipe reaches EOF)."""
    script = textwrap.dedent(f"""\
        import sys, threading, time
        sys.path.insert(0, {str(ROOT)!r})
        from tools.policy_harness import PolicyPackRunner

        box = {{}}
        thread = threading.Thread(target=lambda: box.setdefault("runner", PolicyPackRunner().start()))
        thread.start()
        thread.join()
        print(len(box["runner"].info().policies), flush=True)
        time.sleep({HANG_GUARD})
        """)
    proc, pidfile = _start(tmp_path, cmd=[sys.executable, "-c", script])
    pack = Pack(pidfile, proc)
    line = _until(lambda: proc.stdout.readline(), "the pack to answer", proc)
    assert int(line) > 0 and not pack.gone()
    proc.send_signal(signal.SIGKILL)
    assert _finish(proc)[0] == -signal.SIGKILL
    pack.assert_gone()


# ---------------------------------------------------------------- Ctrl-C at any moment
def test_sigint_right_after_start(tmp_path):
    """SIGINT the moment the process exists: in scripts/preview's bash part it says "interrupted" and exits
    130; in the interpreter's startup, before tools.preview runs, Python's default ends the process by SIGINT
    (what a shell also shows as 130). Never a hang, never a "failed", and no pack left."""
    proc, pidfile = _start(tmp_path, "--stack", "dev", "--quiet")
    proc.send_signal(signal.SIGINT)
    code, out, err = _finish(proc)
    assert code in (130, -signal.SIGINT), out + err
    if code == 130:
        assert "interrupted (SIGINT)" in err
    assert "failed" not in err
    _pack_gone_if_started(pidfile)


def test_sigint_as_soon_as_the_preview_handles_signals(tmp_path):
    """SIGINT as soon as tools.preview has its handlers (before or while it starts the pack): 130, the message,
    no pack left."""
    proc, pidfile = _start(tmp_path, "--stack", "dev", "--quiet")
    _until(lambda: _signal_caught(proc.pid, signal.SIGTERM), "the preview's signal handlers", proc)
    proc.send_signal(signal.SIGINT)
    code, out, err = _finish(proc)
    assert code == 130, out + err
    assert "interrupted (SIGINT): stopped the preview" in err and "failed" not in err
    _pack_gone_if_started(pidfile)


@pytest.mark.parametrize("signo", [signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)
def test_signal_while_the_program_waits_forever(tmp_path, signo):
    """A program stuck in the mocks' event loop (an output that never resolves): SIGINT/SIGTERM still end the
    preview with 128 + signo and the message, not a hang or "the program failed", and the pack is gone."""
    program, marker = tmp_path / "hang.py", tmp_path / "marker"
    program.write_text(HANGING_PROGRAM)
    proc, pidfile = _start(
        tmp_path, "--stack", "dev", "--quiet", "--program", str(program), env={"HP_TEST_MARKER": str(marker)}
    )
    pack = Pack(pidfile, proc)
    _until(marker.exists, "the program to run", proc)
    proc.send_signal(signo)
    code, out, err = _finish(proc)
    assert code == 128 + signo, out + err
    assert f"{STOP_MESSAGES[signo]}: stopped the preview and the policy pack" in err
    assert "failed" not in err and "Traceback" not in err
    pack.assert_gone()


@pytest.mark.parametrize("signo", [signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)
def test_signal_during_the_policy_phase_with_a_hung_pack(tmp_path, signo):
    """The pack hangs (stopped) while the preview waits on an Analyze call: the signal still ends the preview
    with 128 + signo and the message, and the stopped pack is gone too."""
    proc, pack = _start_in_policy_phase(tmp_path, "stopped")
    _until(lambda: _stat(pack.pid)[0] == "T", "the pack to stop", proc)  # the preview is blocked on it
    proc.send_signal(signo)
    code, out, err = _finish(proc)
    assert code == 128 + signo, out + err
    assert f"{STOP_MESSAGES[signo]}: stopped the preview and the policy pack" in err
    assert "failed" not in err and "Traceback" not in err
    pack.assert_gone()
