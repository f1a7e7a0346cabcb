"""Offline preview: run the program under mocks in preview mode, check it, and show what it would create.

    scripts/preview [--stack NAME | --config-file FILE] [--json OUT] [--mermaid OUT]
                    [--mermaid-components OUT] [--policy-config FILE] [--no-policy] [--program FILE] [--quiet]

After the CloudFormation schema check, the CrossGuard pack in policies/ judges the plan through the engine's
analyzer protocol (tools/policy_harness.py): Analyze per resource, AnalyzeStack with the dependency graph. It
judges two plans: the preview's (computed ids, ARNs and documents built from them are unknown) and the same
program run again with every value resolved by the mocks, as the engine judges it during `up`. That second run
happens in a forked child (:class:`ResolvedPass`) while the preview goes on; the pack analyses both plans over
one connection. Reported: the union of the violations (a violation only the resolved pass found is marked
"(with values resolved as at `up`)"), and "cannot judge" notes only for what is unknown in both passes.

Exit codes: 0 clean, 1 a mandatory policy violation, 2 invalid config (every problem listed; also an
invalid policy config), 3 CloudFormation schema violations, 4 the program (or the policy pack, or the
preview itself) failed for another reason: "error: ... failed: <type>: <message> (at <file>:<line> ...)".
Stopped by a signal: 130 for SIGINT (Ctrl-C, "interrupted"), 143 for SIGTERM, 129 for SIGHUP (128 + the
signal number, as a shell reports it); the policy pack and the resolved pass's child are stopped first.
A resolved pass that sends nothing for HP_PREVIEW_RESOLVED_IDLE_SECONDS (default 120) while the preview waits
for it is killed: exit 4, "the resolved pass made no progress for N s; killed it" (a safety net, not a limit).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import concurrent.futures
import dataclasses
import json
import os
import select
import signal
import sys
import threading
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXIT_OK, EXIT_POLICY, EXIT_CONFIG, EXIT_SCHEMA, EXIT_PROGRAM = 0, 1, 2, 3, 4
EXIT_INTERRUPTED = 128 + signal.SIGINT
STOP_SIGNALS = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated", signal.SIGHUP: "hung up"}
RESOLVED_MARK = "(with values resolved as at `up`)"
RESOLVED_IDLE_ENV = "HP_PREVIEW_RESOLVED_IDLE_SECONDS"
RESOLVED_IDLE_DEFAULT = 120.0  # seconds without a byte from the resolved pass while the preview waits for it


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="scripts/preview", description=__doc__.split("\n\n")[0])
    src = p.add_mutually_exclusive_group()
    src.add_argument("--stack", default=None, help="stack name: reads Pulumi.<stack>.yaml (default dev)")
    src.add_argument("--config-file", type=Path, help="any file in the Pulumi.<stack>.yaml format")
    p.add_argument("--json", type=Path, help="write the plan (resources, dependencies, inputs) here")
    p.add_argument("--mermaid", type=Path, help="write a resource-level diagram (Mermaid) here")
    p.add_argument(
        "--mermaid-components",
        type=Path,
        metavar="OUT",
        help="write the component-level architecture diagram (Mermaid, as in the README) here",
    )
    p.add_argument("--quiet", action="store_true", help="print only the summary and problems")
    p.add_argument(
        "--policy-config",
        type=Path,
        metavar="FILE",
        help="policy pack config, as for `pulumi preview --policy-pack-config` (e.g. policies/config/prod.json)",
    )
    p.add_argument("--no-policy", action="store_true", help="skip the policy pack")
    p.add_argument(
        "--program",
        type=Path,
        metavar="FILE",
        default=None,
        help="the Pulumi program to run (default: the project's __main__.py)",
    )
    return p.parse_args(argv)


def short_type(typ: str) -> str:
    return typ.split(":")[-1]


def plan_of(result) -> list[dict]:
    """The plan: every registration, sorted by URN (registration order follows the event loop and varies from run
    to run), with its dependencies (an unordered set by nature) sorted, so one stack gives one plan."""
    from tools.harness import redact

    return [
        {
            "urn": r.urn,
            "type": r.type,
            "name": r.name,
            "parent": r.parent or None,
            "custom": r.custom,
            "remote": r.remote,
            "read": r.read,
            "protect": r.protect,
            "dependencies": sorted(set(r.dependencies)),
            "propertyDependencies": {k: sorted(set(v)) for k, v in sorted(r.property_dependencies.items())},
            "inputs": redact(r.inputs),
        }
        for r in sorted(result.registrations, key=lambda r: r.urn)
    ]


def plan_json(stack: str, plan: list[dict], outputs: dict) -> str:
    """The ``--json`` text: the plan of :func:`plan_of` and the outputs, every mapping's keys sorted, so two runs of
    the same stack write the same bytes."""
    return json.dumps({"stack": stack, "resources": plan, "outputs": outputs}, indent=2, sort_keys=True) + "\n"


def mermaid_of(plan: list[dict]) -> str:
    """A diagram: one box per component, its resources inside, edges for property dependencies."""
    plan = sorted(plan, key=lambda r: r["urn"])  # registration order is async; keep the diagram stable
    ids = {res["urn"]: f"r{i}" for i, res in enumerate(plan)}
    children = collections.defaultdict(list)
    for res in plan:
        children[res["parent"]].append(res)
    lines = ["flowchart LR"]

    def emit(res: dict, indent: str) -> None:
        nid = ids[res["urn"]]
        label = f"{short_type(res['type'])}<br/>{res['name']}"
        if res["custom"]:
            shape = f'{nid}[("{label}")]' if res["read"] else f'{nid}["{label}"]'
            lines.append(f"{indent}{shape}")
        else:
            lines.append(f'{indent}subgraph {nid}["{label}"]')
            for child in children[res["urn"]]:
                emit(child, indent + "  ")
            lines.append(f"{indent}end")

    top = [r for r in plan if not r["parent"] or r["parent"] not in ids]
    for res in top:
        emit(res, "  ")
    edges = set()
    for res in plan:
        if not res["custom"]:
            continue
        for deps in res["propertyDependencies"].values():
            for dep in deps:
                if dep in ids and dep != res["urn"]:
                    edges.add((ids[dep], ids[res["urn"]]))
    lines += [f"  {a} --> {b}" for a, b in sorted(edges)]
    return "\n".join(lines) + "\n"


COMPONENT_PREFIX = "hyperpod-platform:index:"


def component_roles() -> dict[str, str]:
    """``{short type: first line of the class docstring}`` for every loaded ``pulumi.ComponentResource`` class
    (call after the program ran: its classes are loaded). A component's type is ``hyperpod-platform:index:<Class>``."""
    import re

    import pulumi

    roles: dict[str, str] = {}
    pending = list(pulumi.ComponentResource.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        doc = (cls.__dict__.get("__doc__") or "").strip()
        if doc:
            line = " ".join(doc.split("\n\n", 1)[0].split())  # the first paragraph, on one line
            line = re.sub(r":\w+:`~?([^`]+)`", r"\1", line).replace("`", "")  # :class:`X`, ``x`` -> X, x
            roles.setdefault(cls.__name__, line)
    return roles


def mermaid_components_of(plan: list[dict], roles: dict[str, str] | None = None) -> str:
    """The architecture diagram: one node per component (type ``hyperpod-platform:index:*``), labelled with its type,
    its role (``roles``: short type -> one line), not its resource count (which would make every added resource
    a diagram change); an edge ``A --> B`` when a resource
    inside B has a property dependency on a resource inside A (``A -.-> B`` when B only waits for A: an
    explicit ``dependsOn``). Resource edges are collapsed to component edges, a resource belongs to its nearest
    component ancestor, no self-loops; nodes and edges are sorted, so the text depends only on the plan."""
    roles = roles or {}
    by_urn = {r["urn"]: r for r in plan}
    components = sorted(
        (r for r in plan if not r["custom"] and r["type"].startswith(COMPONENT_PREFIX)),
        key=lambda r: (short_type(r["type"]), r["name"], r["urn"]),
    )
    counts = collections.Counter(short_type(r["type"]) for r in components)
    seen: collections.Counter = collections.Counter()
    ids: dict[str, str] = {}  # node ids: the short type, numbered when a type has several instances
    for r in components:
        typ = short_type(r["type"])
        ids[r["urn"]] = typ if counts[typ] == 1 else f"{typ}{seen[typ]}"
        seen[typ] += 1

    def owner(urn: str | None) -> str | None:
        while urn in by_urn:
            if urn in ids:
                return urn
            urn = by_urn[urn]["parent"]
        return None

    data, order = set(), set()
    for res in plan:
        mine = owner(res["urn"])
        if mine is None:
            continue
        prop = {dep for deps in res["propertyDependencies"].values() for dep in deps}
        for dep in set(res["dependencies"]) | prop:
            theirs = owner(dep)
            if theirs is not None and theirs != mine:
                (data if dep in prop else order).add((ids[theirs], ids[mine]))

    def text(value: str) -> str:
        return value.replace("#", "#35;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")

    lines = ["flowchart LR"]
    for r in components:
        typ = short_type(r["type"])
        label = f"<b>{text(typ)}</b>" + (f" {text(r['name'])}" if counts[typ] > 1 else "")
        if roles.get(typ):
            label += f"<br/>{text(roles[typ])}"
        lines.append(f'  {ids[r["urn"]]}["{label}"]')
    lines += [f"  {a} --> {b}" for a, b in sorted(data)]
    lines += [f"  {a} -.-> {b}" for a, b in sorted(order - data)]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- the resolved pass
class ResolvedPassError(Exception):
    """The program failed in the resolved pass (the child reports it as text)."""


class ResolvedPassStalled(ResolvedPassError):
    """The resolved pass sent nothing for the idle limit while the preview waited for it; the child was killed."""


def resolved_idle_seconds() -> float:
    """The idle limit of the resolved pass: ``HP_PREVIEW_RESOLVED_IDLE_SECONDS`` if set, else 120 s."""
    text = os.environ.get(RESOLVED_IDLE_ENV, "").strip()
    if not text:
        return RESOLVED_IDLE_DEFAULT
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise ValueError(f"{RESOLVED_IDLE_ENV} must be a positive number of seconds, not {text!r}")
    return value


def _quiesce_event_loop_threads() -> None:
    """Join the idle worker threads of the preview run's event loop (its default executor), so that the fork
    happens with no other thread alive, none holding a lock the child would inherit held. The loop gets a fresh
    executor, which starts threads only when used. A worker still busy after 2 s is left (the fork goes on;
    the resolved pass's idle guard covers a child that freezes)."""
    try:
        loop = asyncio.get_event_loop()
    except RuntimeError:  # no loop in this thread: no executor threads of ours
        return
    executor = getattr(loop, "_default_executor", None)
    if executor is None or loop.is_running() or loop.is_closed():
        return
    loop.set_default_executor(concurrent.futures.ThreadPoolExecutor(thread_name_prefix="asyncio"))
    executor.shutdown(wait=False, cancel_futures=True)
    deadline = time.monotonic() + 2.0
    for thread in list(getattr(executor, "_threads", ())):
        thread.join(max(deadline - time.monotonic(), 0))


class ResolvedPass:
    """The program run again with every value resolved (``run_program(..., preview=False)``, as during `up`), in
    a child forked once the preview's own run has loaded every module: it costs no import time and runs on
    another core while the preview goes on. The child sends its registrations back as JSON over a pipe.

    The child never outlives the preview, however the preview ends: it runs in its own session (a Ctrl-C at
    the terminal reaches only the preview, which kills it), with the default action for stop signals, and it
    ends itself by two guards, as the policy pack does: the kernel's parent-death signal (Linux; armed when the
    fork happens on the main thread) and a pipe whose write end only the preview holds, watched by a thread
    that exits the child at EOF. :meth:`kill` is safe in a signal handler (plain system calls).

    Forking a process with threads copies only the forking thread; a lock another thread held stays held in
    the child. So the fork happens when no other thread is at work: after the preview's run, whose event-loop
    workers are joined first (:func:`_quiesce_event_loop_threads`), and before the preview's first call to
    the policy pack (the runner connects its gRPC channel, and gRPC starts its threads, only on that first
    call, in ``runner.analyze`` after :meth:`start`). Should the child freeze all the same, or the program
    hang in it, :meth:`registrations` does not wait forever: after ``idle`` seconds (default
    ``HP_PREVIEW_RESOLVED_IDLE_SECONDS``, else 120) without a byte from the child while the preview waits
    for it, it kills and reaps the child and raises :class:`ResolvedPassStalled`. That is a safety net
    against a hang, not a time limit: a pass that keeps sending may take as long as it needs."""

    def __init__(self, program: Path, config: dict, stack: str, runner=None, idle: float | None = None):
        self.program, self.config, self.stack, self.runner = program, config, stack, runner
        self.idle = resolved_idle_seconds() if idle is None else idle
        self.pid: int | None = None  # the child's pid (and process group) until it is reaped
        self._results: int | None = None  # read end of the results pipe
        self.outputs: dict = {}  # the stack's outputs, once registrations() has ended
        self.error: ResolvedPassError | None = None
        self._watch: int | None = None  # write end of the pipe the child watches

    def start(self) -> "ResolvedPass":
        _quiesce_event_loop_threads()
        results_r, results_w = os.pipe()
        try:  # room for the whole plan: the child need not wait for the preview to read (Linux: F_SETPIPE_SZ)
            import fcntl

            fcntl.fcntl(results_w, getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
        except OSError:  # a lower limit (fs.pipe-max-size) or no such call: the child waits now and then
            pass
        watch_r, watch_w = os.pipe()
        parent = os.getpid()
        deathsig = sys.platform.startswith("linux") and threading.current_thread() is threading.main_thread()
        # Stop signals wait (blocked on this thread) until the child has its own handlers and session and the
        # preview knows the child's pid; a signal handled meanwhile on another thread leaves an unknown child,
        # which its guards end with the preview.
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, set(STOP_SIGNALS))
        try:
            pid = os.fork()
            if pid == 0:  # the child: never returns
                code = 70
                try:
                    os.close(results_r)
                    os.close(watch_w)
                    code = self._child(parent, deathsig, blocked, watch_r, results_w)
                finally:
                    os._exit(code)
            self.pid = pid
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        os.close(results_w)
        os.close(watch_r)
        self._results, self._watch = results_r, watch_w
        if pidfile := os.environ.get("HP_PREVIEW_CHILD_PIDFILE"):  # for tests that watch the child's lifetime
            Path(pidfile).write_text(f"{pid}\n")
        return self

    def _child(self, parent: int, deathsig: bool, blocked, watch: int, results: int) -> int:
        for signo in STOP_SIGNALS:
            signal.signal(signo, signal.SIG_DFL)
        os.setsid()
        if deathsig:
            try:
                import ctypes

                ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
            except (OSError, AttributeError):  # no prctl: the watched pipe still ends the child
                pass
        if os.getppid() != parent:  # the preview ended before prctl took effect
            return 1

        def watch_parent() -> None:
            try:
                while os.read(watch, 4096):
                    pass
            except OSError:
                pass
            os._exit(1)

        threading.Thread(target=watch_parent, name="parent-watch", daemon=True).start()
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):  # whatever the program prints, the preview already showed once
            os.dup2(devnull, fd)
        proc = getattr(self.runner, "proc", None)
        for pipe in (getattr(proc, "stdin", None), getattr(proc, "stdout", None)):
            if pipe is not None:  # only the preview may hold the pack's stdin: the pack ends at its EOF
                os.dup2(devnull, pipe.fileno())
        lock = threading.Lock()  # registrations are recorded on the SDK's threads

        def send(message: dict) -> None:
            data = json.dumps(message, default=str).encode() + b"\n"
            with lock:
                view = memoryview(data)
                while view:
                    view = view[os.write(results, view) :]

        try:
            from tools.harness import run_program

            # The inherited event loop's executor threads do not exist in this process: a new loop makes its own.
            asyncio.set_event_loop(asyncio.new_event_loop())
            result = run_program(
                self.program,
                self.config,
                preview=False,
                stack=self.stack,
                on_record=lambda reg: send({"registration": dataclasses.asdict(reg)}),
            )
            if result.error is not None:
                send({"error": describe(result.error)})
            else:
                send({"outputs": result.outputs})
        except BaseException as exc:  # noqa: BLE001 - reported to the preview, which exits 4
            send({"error": f"the resolved pass failed: {describe(exc)}"})
        return 0

    def registrations(self):
        """The child's registrations as it records them (a stream to analyse while the program still runs);
        once it ends, :attr:`outputs` holds the stack's outputs, or :attr:`error` a :class:`ResolvedPassError`.

        Raises :class:`ResolvedPassStalled`, the child killed and reaped, when the child sends nothing for
        :attr:`idle` seconds while this waits for it (the time the consumer spends between two registrations
        does not count)."""
        from tools.harness import Registration

        buffer, done = b"", False
        poller = select.poll()
        poller.register(self._results, select.POLLIN)
        while True:
            deadline = time.monotonic() + self.idle  # from the last data, or from when the consumer came back
            while not poller.poll(max(deadline - time.monotonic(), 0) * 1000):  # EINTR: retried (PEP 475)
                if time.monotonic() >= deadline:
                    self.kill()
                    if done:  # the result is in; the child only failed to exit
                        return
                    raise self._stalled()
            chunk = os.read(self._results, 1 << 16)
            if not chunk:
                break
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                message = json.loads(line)
                if "registration" in message:
                    yield Registration(**message["registration"])
                else:
                    done = True
                    self.outputs = message.get("outputs", {})
                    if "error" in message:
                        self.error = ResolvedPassError(message["error"])
        status = self._reap(self.idle)
        if status is None:  # the pipe closed, the child still runs: it will not send its result now
            self.kill()
            if done:
                return
            raise self._stalled()
        if not done:
            what = f"signal {-status}" if status < 0 else f"status {status}"
            self.error = ResolvedPassError(f"the child ended ({what}) without a result")

    def _stalled(self) -> ResolvedPassStalled:
        return ResolvedPassStalled(
            f"the resolved pass made no progress for {self.idle:g} s; killed it (the program run again with"
            f" values resolved as at `up`; {RESOLVED_IDLE_ENV} sets the limit)"
        )

    def _reap(self, timeout: float | None = None) -> int | None:
        """Wait for the child to end; its exit code (``-signal`` if killed), or None if it still runs after
        ``timeout`` seconds (None: wait as long as it takes, after SIGKILL)."""
        pid = self.pid
        if pid is None:
            return 0
        deadline = None if timeout is None else time.monotonic() + timeout
        pause = 0.001
        try:
            while True:
                ended, status = os.waitpid(pid, 0 if deadline is None else os.WNOHANG)
                if ended:
                    self.pid = None
                    return os.waitstatus_to_exitcode(status)
                if time.monotonic() >= deadline:
                    return None
                time.sleep(min(pause, max(deadline - time.monotonic(), 0)))
                pause = min(pause * 2, 0.05)
        except ChildProcessError:
            self.pid = None
            return 0

    def kill(self) -> bool:
        """End the child now and reap it (signal-handler safe). Returns whether a child was running."""
        pid = self.pid
        if pid is None:
            return False
        for send in (os.killpg, os.kill):  # its process group, and itself (before its setsid() took effect)
            try:
                send(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self._reap()
        return True

    def close(self) -> None:
        self.kill()
        for fd in (self._results, self._watch):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._results = self._watch = None


# ---------------------------------------------------------------- failures and signals
def describe(exc: BaseException) -> str:
    """``Type: message (at file:line in function)``: where it was raised, and, when that is outside the project
    (a library), the innermost project frame that led there."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    frames = traceback.extract_tb(exc.__traceback__)

    libraries = tuple({str(Path(p).resolve()) + os.sep for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)})

    def place(frame) -> tuple[str, bool]:
        """(file:line in function, whether it is the project's or the program's code rather than a library's)"""
        name = frame.filename
        if name.startswith("<"):  # <frozen runpy>, <string>
            return f"{name}:{frame.lineno} in {frame.name}", False
        path = Path(name).resolve()
        try:
            shown = str(path.relative_to(ROOT))
        except ValueError:
            shown = str(path)
        ours = not str(path).startswith(libraries) and "site-packages" not in path.parts
        return f"{shown}:{frame.lineno} in {frame.name}", ours

    if not frames:
        return text
    where, ours = place(frames[-1])
    if not ours:
        mine = [place(f)[0] for f in frames if place(f)[1]]
        if mine:
            where += f", from {mine[-1]}"
    return f"{text} (at {where})"


_runner = None  # the policy pack a stop signal must end
_child: ResolvedPass | None = None  # the resolved pass's child a stop signal must end
_stopping = False


def _on_stop_signal(signo: int, _frame) -> None:
    """SIGINT, SIGTERM, SIGHUP: stop the pack, say so, exit 128 + signo, at once.

    Exiting from the handler (os._exit, after flushing) rather than raising is deliberate: an exception raised
    here lands wherever the main thread happens to be, e.g. inside the mocks' event loop, where asyncio keeps
    it in a task or run_program reports it as a program failure, while the loop waits on gRPC and executor
    threads that may never finish. Nothing the preview would still do is worth waiting for."""
    global _stopping
    code = 128 + signo
    if _stopping:  # a second signal while stopping: go now (the pack's own guards end it)
        os._exit(code)
    _stopping = True
    stopped = False
    child = _child
    if child is not None:
        try:
            child.kill()
        except BaseException:  # noqa: BLE001 - exit regardless; the child's guards remain
            pass
    runner = _runner
    if runner is not None:
        try:
            stopped = runner.kill()
        except BaseException:  # noqa: BLE001 - exit regardless; the pack's guards remain
            pass
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # noqa: BLE001 - e.g. the handler interrupted a write to the same stream
            pass
    what = STOP_SIGNALS.get(signo, "stopped")
    msg = (
        f"\n{what} ({signal.Signals(signo).name}): stopped the preview"
        f"{' and the policy pack' if stopped else ''}; exit {code}.\n"
    )
    try:
        os.write(2, msg.encode())
    except OSError:  # SIGHUP: the terminal may be gone
        pass
    os._exit(code)


def main(argv: list[str] | None = None, *, handle_signals: bool = False) -> int:
    """The preview; returns the exit code. Any unexpected exception is reported on stderr with its cause and
    returns 4. ``handle_signals`` (the command line): SIGINT, SIGTERM and SIGHUP stop the pack and exit the
    process at once with 128 + the signal number. Without it (in-process callers), Ctrl-C's KeyboardInterrupt
    still stops the pack and returns 130."""
    global _runner, _stopping
    previous = {}
    if handle_signals:
        _stopping = False
        for signo in STOP_SIGNALS:
            previous[signo] = signal.signal(signo, _on_stop_signal)
    try:
        return _main(argv)
    except KeyboardInterrupt:
        print(f"\ninterrupted (SIGINT): stopped the preview; exit {EXIT_INTERRUPTED}.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except SystemExit:  # argparse: usage errors (2), --help (0)
        raise
    except BaseException as exc:  # noqa: BLE001 - a crash is exit 4 with its cause, never 1 ("policy violation")
        print(f"error: the preview failed: {describe(exc)}", file=sys.stderr)
        return EXIT_PROGRAM
    finally:
        _runner = _child = None
        for signo, handler in previous.items():
            signal.signal(signo, handler)


def _main(argv: list[str] | None) -> int:
    global _runner, _child
    args = parse_args(sys.argv[1:] if argv is None else argv)
    started = time.perf_counter()
    sys.path.insert(0, str(ROOT))
    from tools.harness import StackFileError, config_from_stack_file
    from tools.policy_harness import PolicyConfigError, PolicyPackRunner, load_policy_config

    config_file = args.config_file or ROOT / f"Pulumi.{args.stack or 'dev'}.yaml"
    if not config_file.exists():
        print(f"error: {config_file} does not exist", file=sys.stderr)
        return EXIT_CONFIG
    stack = args.stack or (config_file.stem.split(".", 1)[1] if config_file.stem.startswith("Pulumi.") else "preview")
    try:
        config = config_from_stack_file(config_file)
    except StackFileError as exc:  # every problem, each "<file>: line N: key K: why. Fix: how"
        print(f"error: cannot read {config_file}:\n{exc}", file=sys.stderr)
        return EXIT_CONFIG
    except Exception as exc:  # noqa: BLE001 - an unreadable file is a config problem
        print(f"error: cannot read {config_file}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        policy_config = None if args.no_policy else load_policy_config(args.policy_config)
    except PolicyConfigError as exc:
        print(f"error: policy config: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    program = args.program.resolve() if args.program else ROOT / "__main__.py"
    if not program.exists():
        print(f"error: {program} does not exist", file=sys.stderr)
        return EXIT_PROGRAM
    # The pack boots in its own process while the program runs.
    runner = None if args.no_policy else PolicyPackRunner(stack=stack, preview=True, config=config)
    # The resolved pass only feeds the policies: none without the pack.
    resolved = None if runner is None else ResolvedPass(program, config, stack, runner)
    try:
        _runner, _child = runner, resolved  # before start(): a stop signal from here on ends them
        if runner is not None:
            runner.start()
        return _preview(args, config_file, stack, config, program, runner, resolved, policy_config, started)
    finally:
        if resolved is not None:
            resolved.close()
        if runner is not None:
            runner.close()
        _runner = _child = None


def _preview(
    args,
    config_file: Path,
    stack: str,
    config: dict,
    program: Path,
    runner,
    resolved: ResolvedPass | None,
    policy_config,
    started: float,
) -> int:
    from hyperpod_platform.settings import EksSettings
    from stack_config import ConfigError
    from tools import cfn_schema, k8s_schema
    from tools.harness import run_program
    from tools.policy_harness import PolicyConfigError, PolicyPackError, merge_passes

    result = run_program(program, config, preview=True, stack=stack)
    if isinstance(result.error, KeyboardInterrupt):  # Ctrl-C without our handler: not a program failure
        raise result.error
    if isinstance(result.error, ConfigError):
        print(f"{config_file.name}: {result.error}", file=sys.stderr)
        return EXIT_CONFIG
    if result.error is not None:
        print(f"error: the program failed: {describe(result.error)}", file=sys.stderr)
        return EXIT_PROGRAM
    if resolved is not None:  # every module is loaded now: the child runs the program again, on another core
        resolved.start()

    plan = plan_of(result)
    if not args.quiet:
        by_urn = {r["urn"]: r for r in plan}

        def show(res: dict, depth: int) -> None:
            flag = " (read)" if res["read"] else ""
            flag += " [protected]" if res["protect"] else ""
            flag += " [remote component: its plugin builds its children at deploy time; its inputs:]" * res["remote"]
            print(f"{'  ' * depth}+ {res['type']}  {res['name']}{flag}")
            if res["remote"]:  # all the offline checks can see of it: what the guardrails and tests judge
                for key, value in sorted(res["inputs"].items()):
                    text = json.dumps(value, default=str)
                    print(f"{'  ' * (depth + 2)}{key}: {text if len(text) <= 100 else text[:97] + '...'}")
            for child in (r for r in plan if r["parent"] == res["urn"]):
                show(child, depth + 1)

        print(f"Preview of stack '{stack}' ({config_file.name}), offline under mocks:")
        for res in plan:
            if not res["parent"] or res["parent"] not in by_urn:
                show(res, 1)
    counts = collections.Counter(r["type"] for r in plan)
    print("\nResources by type:")
    for typ, n in sorted(counts.items()):
        print(f"  {n:4d}  {typ}")
    print(f"  {len(plan):4d}  total")

    schema_errors = []
    region = str(config.get("aws:region", "us-east-1"))
    for res in result.registrations:
        if res.custom and cfn_schema.validated(res.type):  # aws-native, and Cloud Control's desired state
            for msg in cfn_schema.validate(res.type, res.inputs, region):
                schema_errors.append(f"{res.name}: {msg}")
    if args.json:
        args.json.write_text(plan_json(stack, plan, _redacted_outputs(result.outputs)))
    if args.mermaid:
        args.mermaid.write_text(mermaid_of(plan))
    if args.mermaid_components:
        args.mermaid_components.write_text(mermaid_components_of(plan, component_roles()))
    k8s_version = next(
        (
            str(r.inputs["version"])
            for r in result.registrations
            if r.type == "eks:index:Cluster" and r.inputs.get("version")
        ),
        EksSettings().kubernetes_version,
    )
    k8s_manifests = [(r.name, r.type, r.inputs) for r in result.registrations if k8s_schema.manifest_of(r.type, {})]
    schema_errors += k8s_schema.validate(k8s_manifests, k8s_version)
    if schema_errors:
        print("\nSchema violations (CloudFormation, Kubernetes):", file=sys.stderr)
        for msg in schema_errors:
            print(f"  - {msg}", file=sys.stderr)
        return EXIT_SCHEMA
    native = sum(1 for r in plan if r["custom"] and r["type"].startswith("aws-native:"))
    print(f"\nSchema check: {native} aws-native resource(s) valid against the CloudFormation schemas.")
    if k8s_manifests:
        print(f"Kubernetes check: {len(k8s_manifests)} manifest(s) valid against the Kubernetes {k8s_version} schemas.")

    code = EXIT_OK
    if runner is not None:
        try:
            report = runner.analyze(
                result.registrations, outputs=result.outputs, config=config, policy_config=policy_config
            )
            if resolved is not None:
                # Each registration of the child is analysed as it arrives; requests identical to the preview's
                # (nothing in them was unknown) get the preview's answers.
                second = runner.analyze(
                    resolved.registrations(),
                    outputs=lambda: resolved.outputs,
                    config=config,
                    policy_config=policy_config,
                    dry_run=False,
                    reuse=True,
                )
                if resolved.error is not None:
                    print(
                        f"error: the program failed with values resolved as at `up`: {resolved.error}", file=sys.stderr
                    )
                    return EXIT_PROGRAM
                report = merge_passes(report, second)
        except ResolvedPassStalled as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_PROGRAM
        except PolicyConfigError as exc:
            print(f"error: policy config: {exc}", file=sys.stderr)
            return EXIT_CONFIG
        except PolicyPackError as exc:
            print(f"error: the policy pack failed: {exc}", file=sys.stderr)
            return EXIT_PROGRAM
        code = report_policies(report, quiet=args.quiet)
    print(f"Done in {time.perf_counter() - started:.2f} s.")
    return code


def report_policies(report, *, quiet: bool = False, out=None, err=None) -> int:
    """Print a policy report: every violation with rule, resource, enforcement level and message; one only
    the resolved pass found (``resolved_only``, see :func:`tools.policy_harness.merge_passes`) is marked.

    Returns 1 when a mandatory violation was found, else 0. Notes for values that stayed unknown (the
    engine's "can't run policy ... during preview") are listed unless ``quiet``, counted always."""
    out = out or sys.stdout
    err = err or sys.stderr
    violations = [d for d in report.violations if d.level != "disabled"]
    mandatory = [d for d in violations if d.mandatory]
    advisory = [d for d in violations if not d.mandatory]
    levels = collections.Counter(p["level"] for p in report.policies.values())
    print(
        f"\nPolicies: pack {report.pack}, {len(report.policies)} policies "
        f"({', '.join(f'{n} {lvl}' for lvl, n in sorted(levels.items()))}), {report.seconds:.2f} s"
        + (" (the preview's plan and the plan with values resolved as at `up`)." if report.passes > 1 else "."),
        file=out,
    )

    def line(d) -> str:
        where = f"{d.name} ({d.type})" if d.urn else "stack"
        return f"  [{d.level}] {d.policy}: {where}: {d.message}" + (f" {RESOLVED_MARK}" if d.resolved_only else "")

    if mandatory:
        print("\nMandatory policy violations:", file=err)
        for d in mandatory:
            print(line(d), file=err)
        for name in dict.fromkeys(d.policy for d in mandatory):
            steps = report.policies.get(name, {}).get("remediation")
            if steps:
                print(f"  remediation ({name}): {steps}", file=err)
    if advisory:
        print("\nAdvisory policy violations:", file=out)
        for d in advisory:
            print(line(d), file=out)
    notes = report.notes
    if notes:
        when = "at preview, nor with values resolved as at `up`" if report.passes > 1 else "at preview"
        print(f"\n{len(notes)} policy check(s) could not judge a value unknown {when} (advisory):", file=out)
        if not quiet:
            for d in notes:
                where = f"{d.name} ({d.type})" if d.urn else "stack"
                text = d.message.split(" during preview: ", 1)[-1]
                print(f"  [{d.level}] {d.policy}: {where}: {text}", file=out)
    late = sum(1 for d in violations if d.resolved_only)
    print(
        f"\nPolicy check: {len(mandatory)} mandatory, {len(advisory)} advisory violation(s)."
        + (f" {late} of them only {RESOLVED_MARK[1:-1]}." if late else ""),
        file=out,
    )
    return EXIT_POLICY if mandatory else EXIT_OK


def _redacted_outputs(outputs: dict) -> dict:
    from tools.harness import redact

    return redact(outputs)


if __name__ == "__main__":
    sys.exit(main(handle_signals=True))
