"""scripts/preview judges values: the pack runs on the preview's plan and on the plan with every value resolved
(the program run again with preview=False, as the engine judges it during `up`), and the report is the union.

Programs here are small files passed with --program. The resolved pass runs in a forked child; like the pack,
it never outlives the preview (checked as in tests/test_preview_process.py, whose helpers are reused).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

from tests.conftest import ROOT
from tests.test_preview_process import STOP_MESSAGES, Pack, _finish, _start, _stat, _until
from tools import cfn_schema, preview
from tools.policy_harness import CANT_RUN, Diagnostic, PolicyReport, merge_passes

MARK = preview.RESOLVED_MARK
HEADER = (
    "# A SageMaker service role (trust conditioned on this account's clusters), as in tests/policy_programs/iam.py\n"
)
PROGRAM_HEAD = """\
import json

import pulumi
import pulumi_aws as aws

ACCOUNT = "123456789012"


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


role = aws.iam.Role(
    "app",
    assume_role_policy=doc(
        {
            "Effect": "Allow",
            "Principal": {"Service": "sagemaker.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": ACCOUNT},
                "ArnLike": {"aws:SourceArn": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:cluster/*"},
            },
        }
    ),
)
EVERYTHING = {"Effect": "Allow", "Action": "*", "Resource": "*"}
"""

# The document is built from the role's ARN: unknown at preview, known once the role exists.
FROM_ARN = """\
aws.iam.RolePolicy(
    "everything",
    role=role.id,
    policy=role.arn.apply(lambda arn: doc({"Effect": "Allow", "Action": "iam:PassRole", "Resource": arn}, EVERYTHING)),
)
"""

# A literal document: both passes see (and report) the same violation.
LITERAL = """\
aws.iam.RolePolicy("everything", role=role.id, policy=doc(EVERYTHING))
"""

# A document no pass can know: an output that is unknown whatever the mode.
UNKNOWABLE = """\
async def value(v):
    return v


aws.iam.RolePolicy("unknowable", role=role.id, policy=pulumi.Output(set(), value(None), value(False)))
"""


def _program(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "program.py"
    path.write_text(HEADER + PROGRAM_HEAD + "\n" + body)
    return path


def _preview(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(ROOT / "scripts" / "preview"), *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def _policy_lines(text: str, name: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.startswith("  [") and f" {name} (" in ln]


def _cannot_judge(out: str) -> list[str]:
    """The entries of the "could not judge" list of a preview's stdout (empty if there is none)."""
    lines = out.splitlines()
    start = next((i for i, ln in enumerate(lines) if "policy check(s) could not judge" in ln), None)
    if start is None:
        return []
    entries = []
    for ln in lines[start + 1 :]:
        if not ln.startswith("  ["):
            break
        entries.append(ln)
    return entries


# ---------------------------------------------------------------- what only the resolved pass can judge
def test_violation_in_a_document_built_from_an_arn_is_caught_by_the_resolved_pass(tmp_path):
    """An inline policy granting "*" on "*", built with .apply from the role's ARN: at preview the pack cannot
    judge it; with values resolved it is a mandatory violation, marked as found with values resolved, and the
    preview exits 1. Its preview note is not listed (it was judged)."""
    proc = _preview("--stack", "dev", "--program", str(_program(tmp_path, FROM_ARN)))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = [ln for ln in _policy_lines(proc.stderr, "everything") if "[mandatory] iam-least-privilege:" in ln]
    assert len(lines) == 1, proc.stderr
    assert "(aws:iam/rolePolicy:RolePolicy)" in lines[0] and lines[0].endswith(MARK), lines[0]
    # the preview pass alone would have passed: every mandatory violation is marked as the resolved pass's
    mandatory = [ln for ln in proc.stderr.splitlines() if ln.startswith("  [mandatory]")]
    assert mandatory and all(ln.endswith(MARK) for ln in mandatory), proc.stderr
    assert not any("everything" in ln for ln in _cannot_judge(proc.stdout)), proc.stdout
    assert "only with values resolved as at `up`" in proc.stdout


def test_dev_stack_cannot_judge_list_has_no_iam_bucket_policy_or_security_group(tmp_path):
    """Acceptance: `scripts/preview --stack dev` lists no IAM document, bucket policy or security group among
    what it could not judge (all of them are judged once values are resolved)."""
    proc = _preview("--stack", "dev")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "the plan with values resolved as at `up`" in proc.stdout
    for entry in _cannot_judge(proc.stdout):
        assert " iam-" not in entry and "aws:iam/" not in entry, entry
        assert "bucket-protection" not in entry and "aws:s3/" not in entry and "bucket policy" not in entry, entry
        assert "securityGroup" not in entry and "security group" not in entry, entry
        assert "no-world-ssh" not in entry and "nlb-ssh-only-security-groups" not in entry, entry


def test_a_violation_both_passes_find_is_reported_once(tmp_path):
    """A literal "*" on "*" document: both passes report it; the union lists it once, unmarked."""
    proc = _preview("--stack", "dev", "--quiet", "--program", str(_program(tmp_path, LITERAL)))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = [ln for ln in _policy_lines(proc.stderr, "everything") if "[mandatory] iam-least-privilege:" in ln]
    assert len(lines) == 1 and not lines[0].endswith(MARK), proc.stderr


def test_cannot_judge_remains_for_what_is_unknown_in_both_passes(tmp_path):
    """A document unknown even with values resolved: still listed as "cannot judge", and it is the only
    entry for that resource (once, not once per pass)."""
    proc = _preview("--stack", "dev", "--program", str(_program(tmp_path, UNKNOWABLE)))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "nor with values resolved as at `up`" in proc.stdout
    entries = [e for e in _cannot_judge(proc.stdout) if "iam-least-privilege: unknowable " in e]
    assert len(entries) == 1 and "policy is not known yet" in entries[0], proc.stdout


# ---------------------------------------------------------------- the union, in-process
def _d(policy: str, message: str, urn: str = "urn:pulumi:dev::p::aws:iam/rolePolicy:RolePolicy::x", level="mandatory"):
    if message.startswith("cannot judge"):
        message, level = f"{CANT_RUN} '{policy}' from policy pack 'p@v0.0.1' during preview: {message}", "advisory"
    return Diagnostic(policy=policy, level=level, message=message, urn=urn)


def _report(*diagnostics: Diagnostic) -> PolicyReport:
    return PolicyReport(list(diagnostics), {"a": {"level": "mandatory"}, "b": {"level": "mandatory"}}, "p", 0.1)


def test_merge_counts_a_shared_violation_once_and_marks_what_only_the_resolved_pass_found():
    both, late = _d("a", "grants * on *"), _d("b", "trusts anyone")
    merged = merge_passes(_report(both), _report(_d("a", "grants * on *"), late))
    assert [(d.policy, d.resolved_only) for d in merged.violations] == [("a", False), ("b", True)]
    assert merged.passes == 2 and merged.seconds == 0.2


def test_merge_takes_a_preview_message_with_unknowns_and_its_resolved_wording_as_one_violation():
    """At preview a rule words the violation with ``<unknown>`` where a value is not known; the resolved pass
    words the same violation with the value. One violation, shown with the value, found at preview too."""
    preview_pass = _report(
        _d("a", "admits TCP 389 from sg <unknown> (in-389)"), _d("a", "admits TCP 22 from <unknown>")
    )
    resolved_pass = _report(_d("a", "admits TCP 389 from sg sg-0123 (in-389)"), _d("a", "admits TCP 80 from sg-0123"))
    merged = merge_passes(preview_pass, resolved_pass)
    assert [(d.message, d.resolved_only) for d in merged.violations] == [
        ("admits TCP 389 from sg sg-0123 (in-389)", False),
        ("admits TCP 22 from <unknown>", False),
        ("admits TCP 80 from sg-0123", True),
    ]


def test_merge_keeps_a_note_only_when_both_passes_could_not_judge():
    other = "urn:pulumi:dev::p::aws:iam/role:Role::y"
    preview_notes = [_d("a", "cannot judge: policy is not known yet"), _d("a", "cannot judge: x", urn=other)]
    resolved = [_d("a", "cannot judge: policy is not known yet"), _d("b", "cannot judge: y")]
    merged = merge_passes(_report(*preview_notes), _report(*resolved))
    assert [(d.policy, d.urn) for d in merged.notes] == [("a", preview_notes[0].urn)]
    assert merged.violations == []


def test_a_stream_of_registrations_is_judged_as_the_list(tmp_path):
    """The resolved pass is analysed as the child streams it: the pack says the same of a stream (providers,
    stack and outputs found as it goes) as of the list, and a repeated request is answered from the first."""
    from tools.harness import config_from_stack_file, run_program
    from tools.policy_harness import PolicyPackRunner

    config = config_from_stack_file(ROOT / "Pulumi.dev.yaml")
    result = run_program(_program(tmp_path, FROM_ARN), config, preview=False)
    assert result.error is None
    with PolicyPackRunner(config=config) as runner:
        listed = runner.analyze(result.registrations, outputs=result.outputs, dry_run=False)
        streamed = runner.analyze(iter(result.registrations), outputs=lambda: result.outputs, dry_run=False)
        assert runner.reused == 0
        again = runner.analyze(iter(result.registrations), outputs=lambda: result.outputs, reuse=True)
        assert runner.reused == len(result.registrations)
    assert listed.violations and [str(d) for d in streamed.diagnostics] == [str(d) for d in listed.diagnostics]
    assert [str(d) for d in again.diagnostics] == [str(d) for d in listed.diagnostics]


# ---------------------------------------------------------------- the child never outlives the preview
# The resolved pass (not the preview's) waits forever, once it told the test it runs.
HANGS_WHEN_RESOLVED = """\
import asyncio, os
import pulumi
import pulumi_aws as aws

aws.s3.Bucket("b")
if not pulumi.runtime.is_dry_run():
    never = asyncio.get_event_loop().create_future()

    async def wait():
        await never
        return "x"

    pulumi.export("never", pulumi.Output.from_input(wait()))
    open(os.environ["HP_TEST_MARKER"], "w").write("resolved pass running\\n")
"""


def _start_with_hanging_child(tmp_path: Path):
    """The preview with a resolved pass that never ends; returns (process, Pack, child)."""
    program, marker = tmp_path / "hang.py", tmp_path / "marker"
    program.write_text(HANGS_WHEN_RESOLVED)
    env = {"HP_TEST_MARKER": str(marker), "HP_PREVIEW_CHILD_PIDFILE": str(tmp_path / "child.pid")}
    proc, pidfile = _start(tmp_path, "--stack", "dev", "--quiet", "--program", str(program), env=env)
    pack = Pack(pidfile, proc)
    child = Pack(tmp_path / "child.pid", proc)
    assert child.ppid == proc.pid
    _until(marker.exists, "the resolved pass to run", proc)
    return proc, pack, child


def test_stop_signal_ends_the_resolved_pass_child(tmp_path):
    """SIGTERM while the resolved pass runs: exit 143 with the message; the child and the pack are gone."""
    proc, pack, child = _start_with_hanging_child(tmp_path)
    proc.send_signal(signal.SIGTERM)
    code, out, err = _finish(proc)
    assert code == 128 + signal.SIGTERM, out + err
    assert f"{STOP_MESSAGES[signal.SIGTERM]}: stopped the preview and the policy pack" in err
    child.assert_gone()
    pack.assert_gone()


def test_sigkill_of_the_preview_ends_the_resolved_pass_child(tmp_path):
    """SIGKILL: nothing in the preview runs; the child ends by itself (parent-death signal, watched pipe)."""
    proc, pack, child = _start_with_hanging_child(tmp_path)
    proc.send_signal(signal.SIGKILL)
    assert _finish(proc)[0] == -signal.SIGKILL
    child.assert_gone()
    pack.assert_gone()


def test_sigint_to_the_process_group_reaches_only_the_preview(tmp_path):
    """Ctrl-C at a terminal signals the foreground process group: the child (in its own session) is not in
    it; the preview stops it and exits 130 with one message."""
    program = tmp_path / "hang.py"
    program.write_text(HANGS_WHEN_RESOLVED)
    marker = tmp_path / "marker"
    env = {"HP_TEST_MARKER": str(marker), "HP_PREVIEW_CHILD_PIDFILE": str(tmp_path / "child.pid")}
    cmd = [str(ROOT / "scripts" / "preview"), "--stack", "dev", "--quiet", "--program", str(program)]
    proc, _ = _start(tmp_path, cmd=["setsid", "--wait", *cmd], env=env)
    child = Pack(tmp_path / "child.pid", proc)
    _until(marker.exists, "the resolved pass to run", proc)
    assert _stat(child.pid)[0] not in "ZX"
    os.killpg(proc.pid, signal.SIGINT)  # setsid made the preview lead its own group
    code, out, err = _finish(proc)
    assert code == 130, out + err
    assert err.count("interrupted (SIGINT)") == 1, err
    child.assert_gone()


def test_a_crash_after_the_fork_reaps_the_child(tmp_path, monkeypatch, capsys):
    """In process: an exception after the child was forked (here: the schema check) exits 4, and the child is
    killed and reaped, not left running or as a zombie."""

    def validate(*_args):
        raise LookupError("no schema")

    monkeypatch.setattr(cfn_schema, "validate", validate)
    monkeypatch.setenv("HP_PREVIEW_CHILD_PIDFILE", str(tmp_path / "child.pid"))
    assert preview.main(["--stack", "dev", "--quiet"]) == 4
    assert "LookupError: no schema" in capsys.readouterr().err
    assert _stat(int((tmp_path / "child.pid").read_text())) is None


PROGRAM_FAILS_WHEN_RESOLVED = textwrap.dedent("""\
    import pulumi
    import pulumi_aws as aws

    bucket = aws.s3.Bucket("b")
    pulumi.export("n", bucket.arn.apply(lambda arn: int(arn)))
    """)


def test_program_failing_only_with_resolved_values_exits_4(tmp_path):
    """A program that fails only once values are known (as `up` would): exit 4 naming the resolved pass and
    the cause, not a policy verdict."""
    program = tmp_path / "fails.py"
    program.write_text(PROGRAM_FAILS_WHEN_RESOLVED)
    proc = _preview("--stack", "dev", "--quiet", "--program", str(program))
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "error: the program failed with values resolved as at `up`: ValueError: invalid literal" in proc.stderr
    assert "fails.py:5" in proc.stderr


# ---------------------------------------------------------------- the resolved pass's hang guard
# Resources registered one by one, half a second apart, only in the resolved pass: it takes longer than the
# idle limit the test sets, but sends something well within it each time.
SLOW_WHEN_RESOLVED = """\
import asyncio
import pulumi
import pulumi_aws as aws

aws.s3.Bucket("b")
if not pulumi.runtime.is_dry_run():

    async def slowly():
        for i in range(8):
            await asyncio.sleep(0.5)
            aws.s3.Bucket(f"slow{i}")
        return "done"

    pulumi.export("slow", pulumi.Output.from_input(asyncio.ensure_future(slowly())))
"""


def test_a_resolved_pass_that_makes_no_progress_is_killed_and_exits_4(tmp_path):
    """A resolved pass that waits forever (a never-resolving output, only when not a dry run) with
    HP_PREVIEW_RESOLVED_IDLE_SECONDS=2: the preview kills it and exits 4 saying so, with no signal sent; the
    child is reaped (no process, not even a zombie) and the pack is gone."""
    program, marker = tmp_path / "hang.py", tmp_path / "marker"
    program.write_text(HANGS_WHEN_RESOLVED)
    env = {
        "HP_TEST_MARKER": str(marker),
        "HP_PREVIEW_CHILD_PIDFILE": str(tmp_path / "child.pid"),
        preview.RESOLVED_IDLE_ENV: "2",
    }
    proc, pidfile = _start(tmp_path, "--stack", "dev", "--quiet", "--program", str(program), env=env)
    pack = Pack(pidfile, proc)
    child = Pack(tmp_path / "child.pid", proc)
    code, out, err = _finish(proc)
    assert code == 4, out + err
    assert marker.exists(), "the resolved pass never reached the hang"
    assert "error: the resolved pass made no progress for 2 s; killed it" in err
    assert "Traceback" not in err and "Policy check:" not in out
    assert _stat(child.pid) is None, f"the child {child.pid} is still there: {_stat(child.pid)}"
    pack.assert_gone()


def test_the_idle_limit_is_not_a_time_limit(tmp_path):
    """A resolved pass that takes twice the idle limit (HP_PREVIEW_RESOLVED_IDLE_SECONDS=2), sending a
    registration every half second, is not stopped: the limit counts from the last data received."""
    program = tmp_path / "slow.py"
    program.write_text(SLOW_WHEN_RESOLVED)
    proc = subprocess.run(
        [str(ROOT / "scripts" / "preview"), "--stack", "dev", "--quiet", "--program", str(program)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, preview.RESOLVED_IDLE_ENV: "2"},
    )
    # Bare buckets: a mandatory violation each, so every one the resolved pass sent was judged, the last too.
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "no progress" not in proc.stderr
    assert [ln for ln in _policy_lines(proc.stderr, "slow7") if ln.endswith(MARK)], proc.stderr


def test_the_idle_limit_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv(preview.RESOLVED_IDLE_ENV, raising=False)
    assert preview.resolved_idle_seconds() == 120
    monkeypatch.setenv(preview.RESOLVED_IDLE_ENV, "0.5")
    assert preview.resolved_idle_seconds() == 0.5
    for bad in ("0", "-1", "soon", "inf", "nan"):
        monkeypatch.setenv(preview.RESOLVED_IDLE_ENV, bad)
        try:
            preview.resolved_idle_seconds()
        except ValueError as exc:
            assert preview.RESOLVED_IDLE_ENV in str(exc)
        else:
            raise AssertionError(f"{bad!r} was accepted")


def test_the_fork_happens_with_no_other_thread_alive(tmp_path, monkeypatch):
    """In process: when the resolved pass forks, the preview run's event-loop workers have been joined and the
    policy pack's gRPC channel is not connected yet (its threads start on the first call, after the fork)."""
    from tools.policy_harness import PolicyPackRunner

    seen = []
    fork = os.fork

    def watched_fork():
        seen.append((sorted(os.listdir("/proc/self/task")), [t.name for t in threading.enumerate()]))
        return fork()

    connect = PolicyPackRunner._connect
    calls_before_fork = []

    def watched_connect(self):
        calls_before_fork.append(not seen)
        return connect(self)

    monkeypatch.setattr(os, "fork", watched_fork)
    monkeypatch.setattr(PolicyPackRunner, "_connect", watched_connect)
    assert preview.main(["--stack", "dev", "--quiet"]) == 0
    assert len(seen) == 1
    tasks, threads = seen[0]
    assert threads == ["MainThread"], threads
    if sys.platform.startswith("linux"):
        assert tasks == [str(os.getpid())], tasks
    assert calls_before_fork and not any(calls_before_fork)
