"""Run the CrossGuard policy pack the way the Pulumi engine does, on what a program registered under mocks.

The engine (``pulumi preview --policy-pack policies``) starts the pack as a plugin: the Python language host
runs ``python <pack dir> <engine address>`` in the pack's virtualenv with ``PULUMI_PROJECT``,
``PULUMI_STACK``, ``PULUMI_DRY_RUN`` and ``PULUMI_CONFIG`` set. ``PolicyPack(...)`` starts a gRPC analyzer
server, prints its port as the first line of stdout and serves until it is killed. The engine then calls,
over ``pulumirpc.Analyzer``:

- ``GetAnalyzerInfo``: the pack's policies, default enforcement levels and config schemas;
- ``Configure``: the effective config of every policy (level and properties, schema defaults applied);
- ``ConfigureStack``: stack name, project, dry-run flag, config and tags;
- ``Analyze`` for every resource registration, component resources included, with its inputs and, for a
  custom resource, its provider: the explicit provider it was registered with (``provider=`` or a parent's
  ``providers=``; type, URN, name and that provider's inputs, e.g. ``assumeRoles``, ``allowedAccountIds``,
  ``region``), else the default provider of its package (the stack's ``<package>:*`` config), which the
  engine registers only for packages some resource uses without an explicit provider;
- ``AnalyzeStack`` once, with every resource of the stack: its outputs (state), parent, dependencies,
  property dependencies and the same provider.

:class:`PolicyPackRunner` does exactly that over a real channel, so rules receive what the engine sends:
read-only proxies, floats for numbers, the engine's unknown sentinel and secret envelopes. Values come from
:class:`tools.harness.Registration` (the harness shows unknowns as ``"<unknown>"`` and secrets as
``{"<secret>": v}``; both are turned back into the wire encoding here).

Start the runner before running the program (``start()`` returns at once) and the server boots in parallel.
The pack never outlives the process that started it, however that process ends (see :data:`_BOOTSTRAP`).
"""

from __future__ import annotations

import collections
import itertools
import json
import os
import re
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

ROOT = Path(__file__).resolve().parent.parent
PACK_DIR = ROOT / "policies"
PROD_CONFIG = PACK_DIR / "config" / "prod.json"

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # the engine's sentinel for an unknown value
SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
OUTPUT_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4"
LEVELS = ("advisory", "mandatory", "remediate", "disabled")
CANT_RUN = "can't run policy"


class PolicyConfigError(Exception):
    """The policy config file is unreadable or does not match the pack (exit 2 in scripts/preview)."""


class PolicyPackError(Exception):
    """The pack failed to start or a policy raised (a bug in a rule, never a violation)."""


@dataclass
class Diagnostic:
    """One policy diagnostic as the engine would report it."""

    policy: str
    level: str  # advisory | mandatory | remediate | disabled
    message: str  # the violation text, without the policy description the SDK prefixes
    urn: str  # the resource's URN, or "" for the stack as a whole
    description: str = ""
    severity: str = ""
    pack: str = ""
    resolved_only: bool = False  # in a merged report: found only with values resolved as at `up`

    @property
    def name(self) -> str:
        return self.urn.rsplit("::", 1)[-1] if self.urn else ""

    @property
    def type(self) -> str:
        return self.urn.split("::")[-2].split("$")[-1] if self.urn else ""

    @property
    def mandatory(self) -> bool:
        return self.level == "mandatory"

    @property
    def cannot_judge(self) -> bool:
        """The engine's note for a value unknown at preview (always advisory)."""
        return self.message.startswith(CANT_RUN)

    def __str__(self) -> str:
        where = f"{self.name} ({self.type})" if self.urn else "stack"
        return f"[{self.level}] {self.policy}: {where}: {self.message}"


@dataclass
class PolicyReport:
    """What one analysis produced."""

    diagnostics: list[Diagnostic]
    policies: dict[str, dict[str, Any]]  # name -> {"level", "type", "severity", "description", "remediation"}
    pack: str
    seconds: float = 0.0
    not_applicable: list[tuple[str, str]] = field(default_factory=list)
    passes: int = 1  # 2: merged from a preview pass and a resolved pass (merge_passes)

    @property
    def violations(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if not d.cannot_judge]

    @property
    def mandatory(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.mandatory]

    @property
    def notes(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.cannot_judge]

    def by_policy(self, name: str) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.policy == name]


def merge_passes(preview: PolicyReport, resolved: PolicyReport) -> PolicyReport:
    """One report of the two passes over a program: at preview (computed values unknown) and with every value
    resolved, as the engine judges it during `up`.

    Violations: the union, each counted once (same policy, resource URN and message); one that only the
    resolved pass found is marked ``resolved_only``. A preview violation whose message shows a value as
    ``<unknown>`` and a resolved one of the same policy and resource that reads the same with that value known
    are one violation, shown as the resolved pass words it. "Cannot judge" notes: only for what stays unknown
    in both passes, i.e. a policy and resource (or the stack) with a note in each; the resolved pass's note is
    kept, as it names what is still unknown once values are known."""
    seen: set[tuple[str, str, str]] = set()
    diagnostics: list[Diagnostic] = []
    patterns: dict[int, re.Pattern] = {}  # index in diagnostics -> a preview message with unknowns, as a pattern
    for d in preview.violations:
        if (d.policy, d.urn, d.message) not in seen:
            seen.add((d.policy, d.urn, d.message))
            if "<unknown>" in d.message:
                patterns[len(diagnostics)] = re.compile(
                    ".+?".join(re.escape(part) for part in d.message.split("<unknown>")), re.DOTALL
                )
            diagnostics.append(d)
    for d in resolved.violations:
        if (d.policy, d.urn, d.message) in seen:
            continue
        seen.add((d.policy, d.urn, d.message))
        same = next(
            (
                i
                for i, pattern in patterns.items()
                if diagnostics[i].policy == d.policy and diagnostics[i].urn == d.urn and pattern.fullmatch(d.message)
            ),
            None,
        )
        if same is not None:
            del patterns[same]
            diagnostics[same] = d
        else:
            diagnostics.append(replace(d, resolved_only=True))
    unknown_at_preview = {(d.policy, d.urn) for d in preview.notes}
    for d in resolved.notes:
        if (d.policy, d.urn) in unknown_at_preview and (d.policy, d.urn, d.message) not in seen:
            seen.add((d.policy, d.urn, d.message))
            diagnostics.append(d)
    return PolicyReport(
        diagnostics,
        preview.policies,
        preview.pack,
        preview.seconds + resolved.seconds,
        list(dict.fromkeys(preview.not_applicable + resolved.not_applicable)),
        passes=2,
    )


# ---------------------------------------------------------------- config
def load_policy_config(path: Optional[Path]) -> dict[str, Any]:
    """Read a policy config file in the CLI's format (``--policy-pack-config``)."""
    if path is None:
        return {}
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError as exc:
        raise PolicyConfigError(f"{path} does not exist") from exc
    except ValueError as exc:
        raise PolicyConfigError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise PolicyConfigError(f"{path}: the policy config must be a JSON object of policy name -> config")
    return data


def effective_config(raw: dict[str, Any], info) -> dict[str, tuple[str, dict[str, Any]]]:
    """The (level, properties) of every policy, as the engine computes it before ``Configure``.

    A policy's entry is a level string or an object with ``enforcementLevel`` and properties; ``all`` sets the
    level of every policy. Schema defaults are applied and properties are validated against the schema;
    names that are not policies of the pack are errors (they would be silent typos)."""
    from google.protobuf import json_format
    from pulumi.runtime.proto import analyzer_pb2

    names = {p.name for p in info.policies}
    unknown = sorted(set(raw) - names - {"all"})
    if unknown:
        raise PolicyConfigError(
            f"policy config names unknown policies: {', '.join(unknown)} (the pack has: {', '.join(sorted(names))})"
        )

    def split(name: str, entry: Any) -> tuple[Optional[str], dict[str, Any]]:
        if isinstance(entry, str):
            level, props = entry, {}
        elif isinstance(entry, dict):
            props = dict(entry)
            level = props.pop("enforcementLevel", None)
        else:
            raise PolicyConfigError(f"{name}: expected an enforcement level or an object, got {entry!r}")
        if level is not None and level not in LEVELS:
            raise PolicyConfigError(f"{name}: enforcement level {level!r} is not one of {', '.join(LEVELS)}")
        return level, props

    all_level, _ = split("all", raw["all"]) if "all" in raw else (None, {})
    result: dict[str, tuple[str, dict[str, Any]]] = {}
    for policy in info.policies:
        default = analyzer_pb2.EnforcementLevel.Name(policy.enforcementLevel).lower()
        level, props = split(policy.name, raw.get(policy.name, {}))
        schema = json_format.MessageToDict(policy.configSchema) if policy.HasField("configSchema") else {}
        properties = schema.get("properties") or {}
        merged = {k: v["default"] for k, v in properties.items() if isinstance(v, dict) and "default" in v}
        merged.update(props)
        if merged or properties:
            _validate_properties(
                policy.name,
                merged,
                {
                    "type": "object",
                    "properties": properties,
                    "required": schema.get("required") or [],
                    "additionalProperties": False,
                },
            )
        result[policy.name] = (level or all_level or default, merged)
    return result


def _validate_properties(name: str, props: dict[str, Any], schema: dict[str, Any]) -> None:
    try:
        import jsonschema
    except ImportError:  # the engine validates; without jsonschema only unknown keys are caught
        extra = set(props) - set(schema["properties"])
        if extra:
            raise PolicyConfigError(f"{name}: unknown config properties {', '.join(sorted(extra))}") from None
        return
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(props), key=lambda e: list(e.path))
    if errors:
        raise PolicyConfigError(
            "; ".join(f"{name}: {'.'.join(map(str, e.path)) or 'config'}: {e.message}" for e in errors)
        )


# ---------------------------------------------------------------- values on the wire
def wire(value: Any) -> Any:
    """A harness value back in the engine's encoding (unknown sentinel, secret envelope, no resource refs)."""
    if isinstance(value, dict):
        if len(value) == 1 and "<secret>" in value:
            return {SIG_KEY: SECRET_SIG, "value": wire(value["<secret>"])}
        sig = value.get(SIG_KEY)
        if sig == RESOURCE_SIG:  # the engine downgrades resource references for analyzers
            return value.get("id") or value.get("urn") or UNKNOWN
        if sig == OUTPUT_SIG:
            if "value" not in value:
                return UNKNOWN
            inner = wire(value["value"])
            return {SIG_KEY: SECRET_SIG, "value": inner} if value.get("secret") else inner
        return {k: wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [wire(v) for v in value]
    if value == "<unknown>":
        return UNKNOWN
    return value


def _struct(props: dict[str, Any]):
    from google.protobuf import struct_pb2

    s = struct_pb2.Struct()
    s.update(wire(props))
    return s


# ---------------------------------------------------------------- the runner
# The pack must not outlive the process that started it, even one killed by SIGKILL (no code of ours runs then),
# so the child ends itself, by two independent guards, before it runs the pack as `python <pack dir> <address>`:
#
# 1. prctl(PR_SET_PDEATHSIG, SIGKILL) (Linux): the kernel kills the pack as soon as its parent dies. The
#    "parent" is the *thread* that forked, so it is armed only when start() runs on the main thread (which lives
#    as long as the process); from another thread the pack would die with that thread. A parent that died
#    before prctl took effect is caught by comparing getppid() with the pid it passed.
# 2. stdin is a pipe whose write end only the runner holds (pipe fds are close-on-exec, so no other program
#    inherits it): a daemon thread in the pack reads it and exits the pack on EOF, i.e. when the runner closed
#    it or its process ended, however it ended, whatever thread started the pack, on any POSIX system.
#
# The pack runs in its own session (process group): a Ctrl-C at the terminal (SIGINT to the foreground process
# group) reaches only the runner's process, which decides what happens (scripts/preview stops the pack and
# exits 130) instead of racing a pack that dies of KeyboardInterrupt; and kill() reaches all the pack started.
_BOOTSTRAP = """\
import os, sys
parent, deathsig = int(sys.argv.pop(1)), sys.argv.pop(1) == "1"
if deathsig:
    try:
        import ctypes, signal
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # no prctl: the stdin guard below still ends the pack
        pass
if os.getppid() != parent:  # the parent died before prctl took effect
    os._exit(1)
def _watch_parent():
    try:
        while os.read(0, 4096):
            pass
    except OSError:
        pass
    os._exit(1)
import threading
threading.Thread(target=_watch_parent, name="parent-watch", daemon=True).start()
del sys.argv[0], _watch_parent, threading, parent, deathsig
import runpy
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def pack_python(pack_dir: Path = PACK_DIR) -> str:
    """The interpreter the CLI would use: the pack's virtualenv, else the project's, else this one."""
    venv = "venv"
    try:
        import yaml

        meta = yaml.safe_load((pack_dir / "PulumiPolicy.yaml").read_text()) or {}
        venv = ((meta.get("runtime") or {}).get("options") or {}).get("virtualenv") or venv
    except Exception:  # noqa: BLE001 - fall back to the defaults below
        pass
    for candidate in (pack_dir / venv / "bin" / "python", ROOT / "venv" / "bin" / "python"):
        if candidate.exists():
            return str(candidate)
    return sys.executable


class PolicyPackRunner:
    """The policy pack as a subprocess speaking the analyzer protocol. Use as a context manager."""

    def __init__(
        self,
        pack_dir: Path = PACK_DIR,
        *,
        project: str = "hyperpod-platform",
        stack: str = "dev",
        preview: bool = True,
        config: Optional[dict[str, Any]] = None,
        timeout: float = 60.0,
    ):
        self.pack_dir = Path(pack_dir)
        self.project, self.stack, self.preview = project, stack, preview
        self.config = config or {}
        self.timeout = timeout
        self.proc: Optional[subprocess.Popen] = None
        self.pid: Optional[int] = None  # the pack's pid (and process group) until it is reaped
        self._stderr = None
        self._channel = None
        self._stub = None
        self._info = None
        self._answers: dict[tuple[str, bytes], Any] = {}  # Analyze responses by (configuration, request)
        self.calls: collections.Counter = collections.Counter()  # RPCs made, by method
        self.reused = 0  # Analyze requests answered from an earlier identical request (analyze(reuse=True))

    # lifecycle
    def start(self) -> "PolicyPackRunner":
        """Launch the pack (returns at once; the port is read on first use)."""
        if self.proc is not None:
            return self
        env = dict(os.environ)
        env.update(
            {
                "PULUMI_PROJECT": self.project,
                "PULUMI_STACK": self.stack,
                "PULUMI_ORGANIZATION": "organization",
                "PULUMI_DRY_RUN": "true" if self.preview else "false",
                "PYTHONUNBUFFERED": "1",
                "PULUMI_CONFIG": json.dumps(
                    {k: v if isinstance(v, str) else json.dumps(v) for k, v in self.config.items()}
                ),
            }
        )
        self._stderr = tempfile.TemporaryFile()
        # The language host runs `python <pack dir> <engine address>` in the pack directory; the pack ignores
        # the address, so a placeholder stands in for the engine's. _BOOTSTRAP runs exactly that, after arming
        # the guards that end the pack when this process is gone.
        deathsig = sys.platform.startswith("linux") and threading.current_thread() is threading.main_thread()
        self.proc = subprocess.Popen(
            [
                pack_python(self.pack_dir),
                "-u",
                "-c",
                _BOOTSTRAP,
                str(os.getpid()),
                "1" if deathsig else "0",
                str(self.pack_dir),
                "127.0.0.1:0",
            ],
            cwd=self.pack_dir,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            start_new_session=True,
        )
        self.pid = self.proc.pid
        if pidfile := os.environ.get("HP_PREVIEW_PACK_PIDFILE"):  # for tests that watch the pack's lifetime
            Path(pidfile).write_text(f"{self.pid}\n")
        return self

    def _connect(self):
        if self._stub is not None:
            return self._stub
        import grpc
        from pulumi.runtime.proto import analyzer_pb2_grpc

        self.start()
        assert self.proc is not None and self.proc.stdout is not None
        deadline = time.monotonic() + self.timeout
        line = b""
        while not line.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([self.proc.stdout], [], [], max(remaining, 0))
            if not ready:
                self.close()
                raise PolicyPackError(f"the policy pack printed no port within {self.timeout:.0f} s")
            chunk = os.read(self.proc.stdout.fileno(), 1)
            if not chunk:
                raise PolicyPackError(f"the policy pack exited before serving:\n{self.stderr()}")
            line += chunk
        try:
            port = int(line.strip())
        except ValueError as exc:
            raise PolicyPackError(f"expected the port on the pack's first stdout line, got {line!r}") from exc
        self._channel = grpc.insecure_channel(
            f"127.0.0.1:{port}",
            options=[
                ("grpc.max_receive_message_length", 400 * 1024 * 1024),
                ("grpc.max_send_message_length", 400 * 1024 * 1024),
            ],
        )
        grpc.channel_ready_future(self._channel).result(timeout=max(deadline - time.monotonic(), 1))
        self._stub = analyzer_pb2_grpc.AnalyzerStub(self._channel)
        return self._stub

    def stderr(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")[-4000:]

    def _signal_group(self, sig: int) -> None:
        pid = self.pid
        if pid is None:
            return
        try:
            os.killpg(pid, sig)  # the pack leads its own process group (start_new_session)
        except (ProcessLookupError, PermissionError):
            pass

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        self._stub = None
        if self.proc is not None:
            if self.proc.poll() is None:
                self._signal_group(signal.SIGTERM)
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self._signal_group(signal.SIGKILL)
                    self.proc.wait()
            self._signal_group(signal.SIGKILL)  # anything the pack started
            self.pid = None
            for pipe in (self.proc.stdin, self.proc.stdout):
                if pipe is not None:
                    try:
                        pipe.close()
                    except OSError:
                        pass
            self.proc = None
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def kill(self, grace: float = 2.0) -> bool:
        """Stop the pack now, from a signal handler too: SIGTERM to its process group (and SIGCONT, should it
        be stopped), SIGKILL after ``grace`` seconds, and reap it. Plain system calls only: no Popen method, whose
        lock the interrupted code may hold. Returns whether a pack was running.

        Leaves the runner unusable; close() afterwards is harmless."""
        pid = self.pid
        if pid is None:
            return False
        self._signal_group(signal.SIGTERM)
        self._signal_group(signal.SIGCONT)
        deadline = time.monotonic() + grace
        while True:
            try:
                if os.waitpid(pid, os.WNOHANG)[0]:
                    break
            except ChildProcessError:  # reaped already
                break
            if time.monotonic() >= deadline:
                self._signal_group(signal.SIGKILL)
                try:
                    os.waitpid(pid, 0)
                except ChildProcessError:
                    pass
                break
            time.sleep(0.005)
        self._signal_group(signal.SIGKILL)  # anything the pack started
        self.pid = None
        return True

    def __enter__(self) -> "PolicyPackRunner":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    # protocol
    def _call(self, method: str, request):
        import grpc

        stub = self._connect()
        self.calls[method] += 1
        try:
            return getattr(stub, method)(request, timeout=self.timeout)
        except grpc.RpcError as exc:
            detail = exc.details() if hasattr(exc, "details") else str(exc)
            raise PolicyPackError(f"{method} failed: {detail}\n{self.stderr()}") from exc

    def info(self):
        """``GetAnalyzerInfo``: the pack's name, policies, default levels and config schemas."""
        if self._info is None:
            from google.protobuf import empty_pb2

            self._info = self._call("GetAnalyzerInfo", empty_pb2.Empty())
        return self._info

    def configure(self, raw_config: Optional[dict[str, Any]] = None) -> dict[str, tuple[str, dict[str, Any]]]:
        """``Configure`` with the effective config of every policy; returns it."""
        from pulumi.runtime.proto import analyzer_pb2

        effective = effective_config(raw_config or {}, self.info())
        request = analyzer_pb2.ConfigureAnalyzerRequest()
        for name, (level, props) in effective.items():
            entry = request.policyConfig[name]
            entry.enforcementLevel = analyzer_pb2.EnforcementLevel.Value(level.upper())
            entry.properties.update(props)
        self._call("Configure", request)
        self._effective = effective
        return effective

    def analyze(
        self,
        registrations: Iterable[Any],
        *,
        outputs: Optional[dict[str, Any] | Callable[[], dict[str, Any]]] = None,
        config: Optional[dict[str, Any]] = None,
        policy_config: Optional[dict[str, Any]] = None,
        stack_tags: Optional[dict[str, str]] = None,
        dry_run: Optional[bool] = None,
        reuse: bool = False,
    ) -> PolicyReport:
        """Configure, then ``Analyze`` each registration and ``AnalyzeStack`` the whole stack.

        ``dry_run`` is what ``ConfigureStack`` says (default: the runner's ``preview``; False for a plan whose
        values are resolved, as during `up`). With ``reuse``, an ``Analyze`` request identical to one this
        runner already sent under the same configuration gets that answer again instead of a call: a policy
        sees nothing but the request and the configuration (the SDK keeps only the stack tags of
        ``ConfigureStack``), so the pack would answer the same.

        ``registrations`` may be a stream (any iterable that is not a list or tuple): each is analysed as it
        comes, e.g. while a program still runs; the stack is then named by the first one's parent (a program's
        first registration is a top-level one), and ``outputs`` may be a function called once the stream ends."""
        from pulumi.runtime.proto import analyzer_pb2

        started = time.perf_counter()
        info = self.info()
        effective = self.configure(policy_config)
        config = config if config is not None else self.config
        if isinstance(registrations, (list, tuple)):
            candidates: Iterable[Any] = registrations
        else:
            stream = iter(registrations)
            first = next(stream, None)
            candidates = [first] if first is not None else []
            registrations = itertools.chain(candidates, stream)
        stack_urn = next(
            (r.parent for r in candidates if r.parent and r.parent.split("::")[-2] == "pulumi:pulumi:Stack"),
            f"urn:pulumi:{self.stack}::{self.project}::pulumi:pulumi:Stack::{self.project}-{self.stack}",
        )
        stack, project = stack_urn.split("::")[0].split(":")[-1], stack_urn.split("::")[1]
        setup = json.dumps([effective, config, stack_tags or {}, stack, project], sort_keys=True, default=str)
        self._call(
            "ConfigureStack",
            analyzer_pb2.AnalyzerStackConfigureRequest(
                stack=stack,
                project=project,
                organization="organization",
                dry_run=self.preview if dry_run is None else dry_run,
                config={k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()},
                tags=stack_tags or {},
            ),
        )
        providers: dict = {}  # the default provider of each package, in the order the registrations use them
        explicit: dict[str, Any] = {}  # explicit provider resources registered so far, by URN
        diagnostics: list[Diagnostic] = []
        not_applicable: list[tuple[str, str]] = []

        def collect(response, urn: str) -> None:
            for d in response.diagnostics:
                diagnostics.append(_diagnostic(d, d.urn or urn))
            not_applicable.extend((n.policy_name, n.reason) for n in response.not_applicable)

        # Analyze: every registration with its inputs (a read resource: the state it read)
        stack_request = analyzer_pb2.AnalyzeRequest(
            type="pulumi:pulumi:Stack",
            name=stack_urn.rsplit("::", 1)[-1],
            urn=stack_urn,
            properties=_struct({}),
            options=analyzer_pb2.AnalyzerResourceOptions(),
        )
        collect(self._call("Analyze", stack_request), stack_urn)
        stack_resources = []
        for reg in registrations:
            provider = _provider_of(reg, explicit, providers, config, stack, project)
            if _is_provider(reg.type):
                explicit[reg.urn] = _explicit_provider(reg)
            options = analyzer_pb2.AnalyzerResourceOptions(protect=reg.protect, parent=reg.parent or "")
            inputs = {**reg.inputs, **reg.outputs} if reg.read else reg.inputs
            request = analyzer_pb2.AnalyzeRequest(
                type=reg.type,
                name=reg.name,
                urn=reg.urn,
                properties=_struct(inputs),
                options=options,
                provider=provider,
            )
            key = (setup, request.SerializeToString(deterministic=True))
            if reuse and key in self._answers:
                self.reused += 1
                response = self._answers[key]
            else:
                response = self._answers[key] = self._call("Analyze", request)
            collect(response, reg.urn)
            # AnalyzeStack sees each resource's state: for a custom resource its inputs plus what the provider
            # computed (at preview: unknown), for a read resource what it read, for a component its inputs.
            state = (
                ({**reg.inputs, **reg.outputs} if reg.read else {**reg.outputs, **reg.inputs})
                if reg.custom
                else reg.inputs
            )
            stack_resources.append(
                analyzer_pb2.AnalyzerResource(
                    type=reg.type,
                    name=reg.name,
                    urn=reg.urn,
                    properties=_struct(state),
                    options=options,
                    provider=provider,
                    parent=reg.parent or "",
                    dependencies=reg.dependencies,
                    propertyDependencies={
                        k: analyzer_pb2.AnalyzerPropertyDependencies(urns=v)
                        for k, v in reg.property_dependencies.items()
                    },
                )
            )
        outputs = outputs() if callable(outputs) else outputs
        stack_resources[:0] = [_stack_resource(stack_urn, project, stack, outputs or {})] + [
            analyzer_pb2.AnalyzerResource(type=p.type, name=p.name, urn=p.urn, properties=p.properties, parent="")
            for p in providers.values()
        ]
        collect(self._call("AnalyzeStack", analyzer_pb2.AnalyzeStackRequest(resources=stack_resources)), "")
        policies = {
            p.name: {
                "level": effective[p.name][0],
                "type": "stack" if p.policy_type == analyzer_pb2.POLICY_TYPE_STACK else "resource",
                "severity": analyzer_pb2.PolicySeverity.Name(p.severity).replace("POLICY_SEVERITY_", "").lower(),
                "description": p.description,
                "remediation": p.remediation_steps,
            }
            for p in info.policies
        }
        return PolicyReport(diagnostics, policies, info.name, time.perf_counter() - started, not_applicable)


def _diagnostic(d, urn: str) -> Diagnostic:
    from pulumi.runtime.proto import analyzer_pb2

    message = d.message
    if d.description and message.startswith(d.description):  # the SDK prefixes the description
        message = message[len(d.description) :].lstrip("\n") or d.description
    return Diagnostic(
        policy=d.policyName,
        level=analyzer_pb2.EnforcementLevel.Name(d.enforcementLevel).lower(),
        message=message,
        urn=urn,
        description=d.description,
        severity=analyzer_pb2.PolicySeverity.Name(d.severity).replace("POLICY_SEVERITY_", "").lower(),
        pack=d.policyPackName,
    )


def _package(typ: str) -> str:
    return typ.split(":", 1)[0]


def _is_provider(typ: str) -> bool:
    """A provider resource (``pulumi:providers:<package>``): it has no provider itself."""
    return typ.startswith("pulumi:providers:")


def _provider_package(typ: str) -> str:
    """The package of a resource type, or of a provider type (``pulumi:providers:aws`` -> ``aws``)."""
    return typ.split(":", 2)[2] if _is_provider(typ) else _package(typ)


def _plugin_version(pkg: str) -> str:
    """The installed SDK's version of a package: the plugin version the SDK asks the engine for."""
    try:
        return metadata.version("pulumi-" + pkg) if pkg else ""
    except metadata.PackageNotFoundError:
        return ""


def _provider_of(reg: Any, explicit: dict[str, Any], defaults: dict, config: dict[str, Any], stack: str, project: str):
    """The provider the engine hands the analyzer with ``reg`` (its ``getProviderResource``): none for a
    component or a provider resource; the explicit provider the resource was registered with (its reference is
    ``<provider URN>::<provider ID>``), with that provider's inputs; else the package's default provider, which
    the engine registers on first use (added to ``defaults``)."""
    if not reg.custom or _is_provider(reg.type):
        return None
    ref = getattr(reg, "provider", "") or ""
    if ref:
        urn = ref.rsplit("::", 1)[0]
        found = explicit.get(urn)
        if found is None:  # the engine asserts the same: a provider is registered before what uses it
            raise ValueError(f"{reg.urn} names provider {urn}, which no earlier registration is")
        return found
    pkg = _package(reg.type)
    if pkg not in defaults:
        defaults.update(_default_providers([reg], config, stack, project))
    return defaults.get(pkg)


def _explicit_provider(reg: Any):
    """An explicit provider as the engine describes it to analyzers: its type, URN, name and inputs (the SDK
    sends nested inputs JSON-encoded, e.g. ``assumeRoles``, ``allowedAccountIds``), with the ``version`` the
    engine adds to a provider's inputs (the SDK's own, as for the default provider)."""
    from pulumi.runtime.proto import analyzer_pb2

    props = dict(reg.inputs)
    version = _plugin_version(_provider_package(reg.type))
    if version and "version" not in props:
        props["version"] = version
    return analyzer_pb2.AnalyzerProviderResource(type=reg.type, name=reg.name, urn=reg.urn, properties=_struct(props))


def _default_providers(registrations: list[Any], config: dict[str, Any], stack: str, project: str) -> dict:
    """The default provider of each package the program used, as the engine would register it."""
    from pulumi.runtime.proto import analyzer_pb2

    out = {}
    for reg in registrations:
        pkg = _package(reg.type)
        if not reg.custom or pkg in out or pkg == "pulumi":
            continue
        version = _plugin_version(pkg)
        name = "default" + ("_" + version.replace(".", "_") if version else "")
        props = {k.split(":", 1)[1]: v for k, v in config.items() if k.startswith(pkg + ":")}
        if version:
            props["version"] = version
        out[pkg] = analyzer_pb2.AnalyzerProviderResource(
            type=f"pulumi:providers:{pkg}",
            name=name,
            urn=f"urn:pulumi:{stack}::{project}::pulumi:providers:{pkg}::{name}",
            properties=_struct(props),
        )
    return out


def _stack_resource(urn: str, project: str, stack: str, outputs: dict[str, Any]):
    from pulumi.runtime.proto import analyzer_pb2

    return analyzer_pb2.AnalyzerResource(
        type="pulumi:pulumi:Stack", name=urn.rsplit("::", 1)[-1], urn=urn, properties=_struct(outputs), parent=""
    )


# ---------------------------------------------------------------- one-call helpers
def check(
    result,
    *,
    stack: str = "dev",
    project: str = "hyperpod-platform",
    preview: bool = True,
    config: Optional[dict[str, Any]] = None,
    policy_config: Optional[dict[str, Any] | Path] = None,
    runner: Optional[PolicyPackRunner] = None,
) -> PolicyReport:
    """Analyse a :class:`tools.harness.RunResult` with the pack (starting it unless ``runner`` is given)."""
    if isinstance(policy_config, Path):
        policy_config = load_policy_config(policy_config)
    if runner is not None:
        return runner.analyze(result.registrations, outputs=result.outputs, config=config, policy_config=policy_config)
    with PolicyPackRunner(project=project, stack=stack, preview=preview, config=config) as pack:
        return pack.analyze(result.registrations, outputs=result.outputs, config=config, policy_config=policy_config)
