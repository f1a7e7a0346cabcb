"""One host identity for the login nodes, for real: two sshd "login nodes", the project's lifecycle, ssh.

Design. Every node is its own mount namespace (a holder process from ``unshare --mount``) with an
overlayfs over /etc and scratch directories bound over /run, /var/log, /home and /root; all nodes and
the client share one private network namespace (``unshare --net``, only ``lo``, up). Inside a node the
lifecycle runs exactly as on a HyperPod node: ``bash on_init_complete.sh`` with no ``HP_ROOT``, so the
step writes the real /etc/ssh that the node's real ``/usr/sbin/sshd`` (Debian's stock sshd_config, which
Includes sshd_config.d/*.conf) reads. Only the port and a test user are added, as a node snippet and
/etc/passwd lines in the overlay. Stubs on PATH: ``aws`` serves the secret (the SecretString for the
expected id only), ``systemctl`` logs its argv and, for ``restart ssh``, sends SIGHUP to the node's sshd
(PID from the node's own /run/sshd.pid), which makes sshd re-exec and reload config and host keys.

The "Pulumi" host keys are generated as pulumi-tls does (OpenSSH private key format, ``ssh-ed25519`` /
``ecdsa-sha2-nistp256`` public keys without comment), and the client trusts only the ``known_hosts``
lines the stack exports for the load balancer's name, through ``HostKeyAlias``.

Nothing on the host changes: every write is in an overlay upper dir or a scratch dir under tmp_path;
daemons are stopped by PID and the holders killed at the end.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parent.parent
LIFECYCLE = ROOT / "hyperpod_platform" / "lifecycle"
STEP = "40-login-host-keys"

REGION = "us-east-1"
SECRET_ID = "arn:aws:secretsmanager:us-east-1:123456789012:secret:hp-dev-host-keys-AbCdEf"
HOST_NAME = "hp-dev-login-0123456789abcdef.elb.us-east-1.amazonaws.com"
USER, UID = "alice", 2001
LOGIN_IPS = {"login-1": "10.1.0.20", "login-2": "10.1.0.21"}
GPU_IP = "10.1.1.30"
RESOURCE_CONFIG = {
    "InstanceGroups": [
        {"Name": "controller", "Instances": [{"CustomerIpAddress": "10.1.0.10", "InstanceId": "i-1"}]},
        {
            "Name": "login",
            "Instances": [{"CustomerIpAddress": ip, "InstanceId": f"i-{name}"} for name, ip in LOGIN_IPS.items()],
        },
        {"Name": "gpu", "Instances": [{"CustomerIpAddress": GPU_IP, "InstanceId": "i-3"}]},
    ]
}
GROUPS = {"controller": "controller", "login": "login", "gpu": "compute"}


def aws_secret_stub(region: str, secret_id: str) -> str:
    """An ``aws`` stub: the secret store, printing the SecretString (file ``$AWS_STUB_SECRET``) for
    ``secret_id`` only, as the AWS CLI does with ``--output text``; ``$AWS_STUB_FAIL`` makes it refuse."""
    return f"""#!/usr/bin/env bash
printf '%s\\n' "aws $*" >>"${{STUB_CALLS}}"
if [[ -n "${{AWS_STUB_FAIL:-}}" ]]; then
  echo "An error occurred (${{AWS_STUB_FAIL}}) when calling the GetSecretValue operation: denied by the test" >&2
  exit 254
fi
expected="secretsmanager get-secret-value --region {region} --secret-id {secret_id} --query SecretString --output text"
if [[ "$*" != "${{expected}}" ]]; then
  echo "An error occurred (ResourceNotFoundException) when calling the GetSecretValue operation: not $*" >&2
  exit 254
fi
cat "${{AWS_STUB_SECRET}}"
echo
"""


AWS_STUB = aws_secret_stub(REGION, SECRET_ID)
# There is no systemd in the namespace: "restart ssh" is SIGHUP to this node's sshd (it re-execs itself,
# rereading sshd_config and the host keys), found by the PidFile in the node's own /run.
SYSTEMCTL_STUB = """#!/usr/bin/env bash
printf '%s\\n' "systemctl $*" >>"${STUB_CALLS}"
if [[ "$*" == "restart ssh" ]]; then
  kill -HUP "$(cat /run/sshd.pid)"
fi
"""


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    kw.setdefault("check", True)
    if "stdout" not in kw:
        kw["capture_output"] = True
    return subprocess.run(cmd, text=True, timeout=60, **kw)


@dataclass
class HostKeys:
    """Host keys as pulumi-tls makes them, and the secret and known_hosts the stack builds from them."""

    private: dict[str, str] = field(default_factory=dict)
    public: dict[str, str] = field(default_factory=dict)

    @classmethod
    def generate(cls) -> "HostKeys":
        keys = cls()
        for kind, key in (
            ("ed25519", ed25519.Ed25519PrivateKey.generate()),
            ("ecdsa", ec.generate_private_key(ec.SECP256R1())),
        ):
            keys.private[kind] = key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
            ).decode()
            keys.public[kind] = (
                key.public_key()
                .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
                .decode()
            )
        return keys

    def secret_string(self) -> str:
        """The SecretString: private keys as given, public keys without trailing newline or comment."""
        data = {}
        for kind in self.private:
            data[f"ssh_host_{kind}_key"] = self.private[kind]
            data[f"ssh_host_{kind}_key.pub"] = self.public[kind]
        return json.dumps(data)

    def known_hosts(self) -> str:
        """The stack's ``loginKnownHosts`` output: one line per host key for the load balancer's name."""
        return "".join(f"{HOST_NAME} {pub.strip()}\n" for pub in self.public.values())

    def secret_lines(self) -> list[str]:
        """Every base64 line of the private keys: none of them may show up in any output."""
        return [line for pem in self.private.values() for line in pem.splitlines() if not line.startswith("-----")]


class Namespace:
    """A holder process owning a private mount namespace (and, for the first one, the network namespace)."""

    def __init__(self, scratch: Path, net_of: "Namespace | None" = None):
        self.scratch = scratch
        scratch.mkdir(parents=True)
        if net_of is None:
            cmd = ["unshare", "--mount", "--net", "--propagation", "private", "sleep", "infinity"]
        else:
            cmd = [
                "nsenter",
                "-t",
                str(net_of.pid),
                "-n",
                "unshare",
                "--mount",
                "--propagation",
                "private",
                "sleep",
                "infinity",
            ]
        self.holder = subprocess.Popen(cmd)
        self.pid = self.holder.pid
        own = os.readlink("/proc/self/ns/mnt")

        def started() -> bool:
            if self.holder.poll() is not None:
                raise RuntimeError(f"the namespace holder exited with {self.holder.returncode}")
            return os.readlink(f"/proc/{self.pid}/ns/mnt") != own

        wait_for(started, "the namespace holder's mount namespace", interval=0.01)
        if net_of is None:
            self.run(["ip", "link", "set", "lo", "up"])
        upper, work = scratch / "etc-upper", scratch / "etc-work"
        upper.mkdir()
        work.mkdir()
        self.run(["mount", "-t", "overlay", "overlay", "-o", f"lowerdir=/etc,upperdir={upper},workdir={work}", "/etc"])
        self.etc_upper = upper
        for target in ("/run", "/var/log", "/home", "/root"):
            source = scratch / target.strip("/").replace("/", "-")
            source.mkdir()
            self.run(["mount", "--bind", str(source), target])
        self.path("/run/sshd").mkdir(mode=0o755)

    def run(self, cmd: list[str], **kw) -> subprocess.CompletedProcess:
        return run(["nsenter", "-t", str(self.pid), "-m", "-n", *cmd], **kw)

    def popen(self, cmd: list[str], **kw) -> subprocess.Popen:
        # nsenter execs the command (no PID namespace, no fork): the Popen PID is the daemon's.
        return subprocess.Popen(["nsenter", "-t", str(self.pid), "-m", "-n", *cmd], **kw)

    def path(self, path: str) -> Path:
        """A path as this namespace sees it, reachable from the host through the holder's root."""
        return Path(f"/proc/{self.pid}/root") / path.lstrip("/")

    def close(self) -> None:
        self.holder.kill()
        self.holder.wait(timeout=10)


_NODE_KEYS: dict[str, Path] = {}


def node_keys(name: str) -> Path:
    """Per-node host keys as ``ssh-keygen -A`` makes them on first boot, made once per node name per run
    (RSA generation dominates the run time; 2048 bits is plenty for a key that must stop being offered)."""
    if name not in _NODE_KEYS:
        keys = Path(tempfile.mkdtemp(prefix=f"hostkeys-{name}-"))
        for kind, extra in (("rsa", ["-b", "2048"]), ("ecdsa", []), ("ed25519", [])):
            run(
                [
                    "ssh-keygen",
                    "-q",
                    "-t",
                    kind,
                    *extra,
                    "-N",
                    "",
                    "-C",
                    f"root@{name}",
                    "-f",
                    str(keys / f"ssh_host_{kind}_key"),
                ]
            )
        _NODE_KEYS[name] = keys
    return _NODE_KEYS[name]


@pytest.fixture(scope="module", autouse=True)
def _drop_node_keys():
    yield
    for keys in _NODE_KEYS.values():
        shutil.rmtree(keys, ignore_errors=True)
    _NODE_KEYS.clear()


class LoginNode:
    """A login node: its namespace, the lifecycle bundle, stubs, and optionally a running sshd."""

    def __init__(self, name: str, tmp: Path, net_of: Namespace | None, port: int):
        self.name, self.port = name, port
        self.ns = Namespace(tmp / name, net_of)
        self.tmp = tmp / name
        self.sshd: subprocess.Popen | None = None
        # A fresh node: its own, per-node host keys (rsa, ecdsa, ed25519), as first boot makes them.
        etc_ssh = self.ns.path("/etc/ssh")
        for old in etc_ssh.glob("ssh_host_*"):
            old.unlink()
        for key in node_keys(name).iterdir():
            shutil.copy2(key, etc_ssh / key.name)
        (self.ns.path("/etc/ssh/sshd_config.d") / "90-test-node.conf").write_text(
            f"# test only: this node's address\nPort {port}\nListenAddress 127.0.0.1\n", encoding="utf-8"
        )
        for path, line in (
            ("/etc/passwd", f"{USER}:x:{UID}:{UID}::/home/{USER}:/bin/sh"),
            ("/etc/shadow", f"{USER}:*:19000:0:99999:7:::"),
            ("/etc/group", f"{USER}:x:{UID}:"),
        ):
            with self.ns.path(path).open("a", encoding="utf-8") as f:
                f.write(line + "\n")
        ssh = self.ns.path(f"/home/{USER}/.ssh")
        ssh.mkdir(parents=True, mode=0o700)
        self.bin = self.tmp / "bin"
        self.bin.mkdir()
        for stub_name, body in (("aws", AWS_STUB), ("systemctl", SYSTEMCTL_STUB)):
            (self.bin / stub_name).write_text(body, encoding="utf-8")
            (self.bin / stub_name).chmod(0o755)
        self.calls_log = self.tmp / "calls.log"
        self.scratch_tmp = self.tmp / "tmpdir"
        self.scratch_tmp.mkdir()

    def authorize(self, public_key: str) -> None:
        ssh = self.ns.path(f"/home/{USER}/.ssh")
        (ssh / "authorized_keys").write_text(public_key, encoding="utf-8")
        (ssh / "authorized_keys").chmod(0o600)
        for p in (ssh.parent, ssh, ssh / "authorized_keys"):
            os.chown(p, UID, UID)

    def start_sshd(self) -> None:
        self.sshd_log = (self.tmp / "sshd.log").open("w")
        self.sshd = self.ns.popen(["/usr/sbin/sshd", "-D", "-e"], stdout=self.sshd_log, stderr=subprocess.STDOUT)

    def stop_sshd(self) -> None:
        if self.sshd and self.sshd.poll() is None:
            self.sshd.terminate()
            self.sshd.wait(timeout=10)
            self.sshd_log.close()

    def lifecycle(self, bundle: Path, ip: str, **env: str) -> subprocess.CompletedProcess:
        """``bash on_init_complete.sh`` inside the node, as HyperPod runs it (no HP_ROOT); output merged."""
        base = {k: v for k, v in os.environ.items() if not k.startswith(("HP_", "AWS_"))}
        base.update(
            PATH=f"{self.bin}{os.pathsep}{os.environ['PATH']}",
            HP_NODE_IP=ip,
            STUB_CALLS=str(self.calls_log),
            HP_RESOURCE_CONFIG=str(bundle.parent / "resource_config.json"),
            AWS_STUB_SECRET=str(bundle.parent / "secret.json"),
            TMPDIR=str(self.scratch_tmp),
            **env,
        )
        return self.ns.run(
            ["bash", str(bundle / "on_init_complete.sh")],
            env=base,
            check=False,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )

    def calls(self) -> list[str]:
        return self.calls_log.read_text(encoding="utf-8").splitlines() if self.calls_log.exists() else []

    def ssh_snapshot(self) -> dict[str, tuple]:
        """/etc/ssh as the node sees it: path -> (mode, uid, gid, sha256)."""
        etc_ssh = self.ns.path("/etc/ssh")
        return {
            p.relative_to(etc_ssh).as_posix(): (
                stat.S_IMODE(p.lstat().st_mode),
                p.lstat().st_uid,
                p.lstat().st_gid,
                hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else None,
            )
            for p in sorted(etc_ssh.rglob("*"))
        }

    def etc_changes(self) -> dict[str, tuple]:
        """Everything written to /etc so far (the overlay's upper dir): path -> (mode, uid, sha256)."""
        up = self.ns.etc_upper
        return {
            p.relative_to(up).as_posix(): (
                stat.S_IMODE(p.lstat().st_mode),
                p.lstat().st_uid,
                hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else None,
            )
            for p in sorted(up.rglob("*"))
        }


class Cluster:
    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.keys = HostKeys.generate()
        self.bundle = tmp / "bundle"
        shutil.copytree(LIFECYCLE, self.bundle, ignore=shutil.ignore_patterns("__pycache__", "generated"))
        self.set_platform(login={"host_keys_secret_id": SECRET_ID, "host_name": HOST_NAME})
        (tmp / "resource_config.json").write_text(json.dumps(RESOURCE_CONFIG), encoding="utf-8")
        (tmp / "secret.json").write_text(self.keys.secret_string(), encoding="utf-8")
        self.nodes: list[LoginNode] = []
        self.client: Namespace | None = None
        # The user's side: a key of their own and only the exported known_hosts lines.
        self.user_key = tmp / "id_ed25519"
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", USER, "-f", str(self.user_key)])
        self.known_hosts = tmp / "known_hosts"
        self.known_hosts.write_text(self.keys.known_hosts(), encoding="utf-8")

    def set_platform(self, login: dict | None) -> None:
        platform = {
            "schema_version": 1,
            "cluster_name": "hp-dev",
            "region": REGION,
            "fsx": None,
            "groups": GROUPS,
            "login": login,
            "directory": None,
        }
        (self.bundle / "generated").mkdir(exist_ok=True)
        (self.bundle / "generated" / "platform.json").write_text(json.dumps(platform), encoding="utf-8")

    def add_node(self, name: str, port: int, sshd: bool) -> LoginNode:
        node = LoginNode(name, self.tmp, self.nodes[0].ns if self.nodes else None, port)
        self.nodes.append(node)
        if self.client is None:
            self.client = Namespace(self.tmp / "client", net_of=node.ns)
        if sshd:
            node.authorize(Path(f"{self.user_key}.pub").read_text(encoding="utf-8"))
            node.start_sshd()
            self.wait_for_host_key(node, None)
        return node

    def keyscan(self, node: LoginNode, kind: str) -> str:
        out = self.client.run(["ssh-keyscan", "-T", "2", "-t", kind, "-p", str(node.port), "127.0.0.1"], check=False)
        return " ".join(out.stdout.split()[1:3])

    def wait_for_host_key(self, node: LoginNode, expected: str | None) -> None:
        """Until the node's sshd answers (with ``expected`` as its ed25519 key, when given)."""
        seen: list[str] = []

        def serves() -> bool:
            got = self.keyscan(node, "ed25519")
            seen.append(got)
            assert node.sshd.poll() is None, f"sshd on {node.name} exited:\n{(node.tmp / 'sshd.log').read_text()}"
            return bool(got) and (expected is None or got == expected)

        wait_for(
            serves,
            f"sshd on {node.name} serving {expected or 'any key'}",
            interval=0.05,
            detail=lambda: f"last served {seen[-1]!r}" if seen else "never answered",
        )

    def ssh(self, node: LoginNode) -> subprocess.CompletedProcess:
        """``ssh`` as a user with only the exported known_hosts line, via the load balancer's name."""
        return self.client.run(
            [
                "ssh",
                "-F",
                "/dev/null",
                "-o",
                f"HostKeyAlias={HOST_NAME}",
                "-o",
                "StrictHostKeyChecking=yes",
                "-o",
                f"UserKnownHostsFile={self.known_hosts}",
                "-o",
                "GlobalKnownHostsFile=/dev/null",
                "-o",
                "BatchMode=yes",
                "-o",
                "IdentitiesOnly=yes",
                "-i",
                str(self.user_key),
                "-p",
                str(node.port),
                f"{USER}@127.0.0.1",
                "echo connected-as-$(id -un)",
            ],
            check=False,
        )

    def close(self) -> None:
        for node in self.nodes:
            node.stop_sshd()
        for ns in [*(n.ns for n in self.nodes), *([self.client] if self.client else [])]:
            ns.close()


needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or not all(shutil.which(c) for c in ("unshare", "nsenter", "sshd", "ssh", "ssh-keyscan")),
    reason="needs root, util-linux and openssh-server/openssh-client (scripts/test installs them as root)",
)
pytestmark = needs_root


@pytest.fixture
def cluster(tmp_path: Path):
    c = Cluster(tmp_path)
    try:
        yield c
    finally:
        c.close()


def assert_no_secret(keys: HostKeys, *texts: str) -> None:
    for text in texts:
        leaked = [line for line in keys.secret_lines() if line in text]
        assert not leaked, "private key material in output"


def test_login_nodes_share_the_stack_host_identity(cluster: Cluster):
    """Before: the users' known_hosts line refuses both nodes. The lifecycle installs the shared keys and
    restarts sshd once; after it both nodes connect cleanly; a second run changes nothing."""
    nodes = [cluster.add_node("login-1", 2201, sshd=True), cluster.add_node("login-2", 2202, sshd=True)]
    pub = {kind: " ".join(p.split()[:2]) for kind, p in cluster.keys.public.items()}
    assert cluster.keyscan(nodes[0], "ed25519") != cluster.keyscan(nodes[1], "ed25519"), "nodes start alike"

    for node in nodes:
        before = cluster.ssh(node)
        assert before.returncode == 255, before
        assert "REMOTE HOST IDENTIFICATION HAS CHANGED" in before.stderr, before.stderr
        assert "Host key verification failed" in before.stderr, before.stderr

    outputs = {}
    for node in nodes:
        result = node.lifecycle(cluster.bundle, LOGIN_IPS[node.name])
        assert result.returncode == 0, result.stdout
        assert "node in group login (login)" in result.stdout
        assert "shared host keys installed; sshd restarted" in result.stdout
        assert node.calls() == [
            f"aws secretsmanager get-secret-value --region {REGION} --secret-id {SECRET_ID} "
            "--query SecretString --output text",
            "systemctl restart ssh",
        ]
        outputs[node.name] = result.stdout
        cluster.wait_for_host_key(node, pub["ed25519"])

    for node in nodes:
        after = cluster.ssh(node)
        assert after.returncode == 0, after
        assert after.stdout == f"connected-as-{USER}\n"
        assert after.stderr == "", after.stderr  # no warning of any kind
        assert cluster.keyscan(node, "ecdsa") == pub["ecdsa"]
        assert cluster.keyscan(node, "rsa") == "", "the per-node RSA key is still offered"
        for kind in pub:
            key = node.ns.path(f"/etc/ssh/ssh_host_{kind}_key")
            assert (stat.S_IMODE(key.stat().st_mode), key.stat().st_uid, key.stat().st_gid) == (0o600, 0, 0)
            assert key.read_text() == cluster.keys.private[kind].strip() + "\n"
            pub_file = node.ns.path(f"/etc/ssh/ssh_host_{kind}_key.pub")
            assert stat.S_IMODE(pub_file.stat().st_mode) == 0o644
        conf = node.ns.path("/etc/ssh/sshd_config.d/10-hyperpod-host-keys.conf").read_text()
        assert [line for line in conf.splitlines() if not line.startswith("#")] == [
            "HostKey /etc/ssh/ssh_host_ed25519_key",
            "HostKey /etc/ssh/ssh_host_ecdsa_key",
        ]

    # Second run: same files (content, mode, owner), no restart, and it says so.
    for node in nodes:
        etc_before, ssh_before, calls_before = node.etc_changes(), node.ssh_snapshot(), node.calls()
        again = node.lifecycle(cluster.bundle, LOGIN_IPS[node.name])
        assert again.returncode == 0, again.stdout
        assert "shared host keys already installed" in again.stdout
        assert "wrote " not in again.stdout
        assert node.etc_changes() == etc_before
        assert node.ssh_snapshot() == ssh_before
        assert [c for c in node.calls()[len(calls_before) :] if c.startswith("systemctl")] == []
        log_file = node.ns.path("/var/log/hyperpod-platform/lifecycle.log").read_text()
        assert_no_secret(cluster.keys, outputs[node.name], again.stdout, log_file, (node.tmp / "sshd.log").read_text())
        assert list(node.scratch_tmp.iterdir()) == [], "temporary files left behind"
        assert cluster.ssh(node).returncode == 0


@pytest.mark.parametrize(
    "failure, message",
    [
        ({"AWS_STUB_FAIL": "AccessDeniedException"}, "AccessDeniedException"),
        (
            {"secret": {"ssh_host_ed25519_key": "x", "ssh_host_ed25519_key.pub": "y"}},
            "no ssh_host_ecdsa_key in the secret",
        ),
        ({"secret": "not json"}, "SecretString is not JSON"),
        ({"mismatch": True}, "ssh_host_ed25519_key is not a key matching ssh_host_ed25519_key.pub"),
    ],
    ids=["fetch-denied", "key-missing", "not-json", "mismatched-pair"],
)
def test_unreadable_secret_fails_loudly_and_keeps_the_keys(cluster: Cluster, failure: dict, message: str):
    """A secret that cannot be fetched or is not a full set of key pairs: the step (and the run) fail
    naming the secret, nothing under /etc/ssh changes, sshd is not restarted."""
    node = cluster.add_node("login-1", 2201, sshd=False)
    env = {k: v for k, v in failure.items() if k.startswith("AWS_")}
    if "secret" in failure:
        body = failure["secret"]
        (cluster.tmp / "secret.json").write_text(body if isinstance(body, str) else json.dumps(body))
    if failure.get("mismatch"):
        other = HostKeys.generate()
        secret = json.loads(cluster.keys.secret_string())
        secret["ssh_host_ed25519_key.pub"] = other.public["ed25519"]
        (cluster.tmp / "secret.json").write_text(json.dumps(secret))
    before = node.ssh_snapshot()
    result = node.lifecycle(cluster.bundle, LOGIN_IPS["login-1"], **env)
    assert result.returncode != 0, result.stdout
    assert f"cannot read host keys secret {SECRET_ID}: " in result.stdout
    assert message in result.stdout
    assert f"FAILED: step {STEP}" in result.stdout
    assert node.ssh_snapshot() == before
    assert [c for c in node.calls() if c.startswith("systemctl")] == []
    assert_no_secret(cluster.keys, result.stdout)
    assert list(node.scratch_tmp.iterdir()) == [], "temporary files left behind"


def test_sshd_not_including_the_snippet_dir_is_refused_and_rolled_back(cluster: Cluster):
    """If the main sshd_config does not Include sshd_config.d, sshd would go on offering the node's own
    keys: the step restores every file it wrote, does not restart sshd, and says what is wrong."""
    node = cluster.add_node("login-1", 2201, sshd=False)
    node.ns.run(["sed", "-i", "/^Include /d", "/etc/ssh/sshd_config"])
    before = node.ssh_snapshot()
    result = node.lifecycle(cluster.bundle, LOGIN_IPS["login-1"])
    assert result.returncode != 0, result.stdout
    assert "wrote /etc/ssh/ssh_host_ed25519_key" in result.stdout  # it did try
    assert "must Include /etc/ssh/sshd_config.d/*.conf" in result.stdout
    assert "previous files restored" in result.stdout
    assert node.ssh_snapshot() == before
    assert [c for c in node.calls() if c.startswith("systemctl")] == []
    assert_no_secret(cluster.keys, result.stdout)
    assert list(node.scratch_tmp.iterdir()) == [], "temporary files left behind"


@pytest.mark.parametrize("case", ["compute-node", "no-login-group"])
def test_step_leaves_other_nodes_and_stacks_alone(cluster: Cluster, case: str):
    """On a compute node, or in a stack without a login group, the step reads no secret and changes nothing."""
    node = cluster.add_node("login-1", 2201, sshd=False)
    ip = GPU_IP if case == "compute-node" else LOGIN_IPS["login-1"]
    if case == "no-login-group":
        cluster.set_platform(login=None)
    before = node.ssh_snapshot()
    result = node.lifecycle(cluster.bundle, ip)
    assert result.returncode == 0, result.stdout
    assert ("not a login node (compute)" if case == "compute-node" else "no login group in this stack") in result.stdout
    assert node.ssh_snapshot() == before
    assert node.calls() == []
