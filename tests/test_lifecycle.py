"""Node lifecycle scripts (lifecycle/): run the real bash entry point against a scratch root.

Each test copies lifecycle/ into a bundle directory (as HyperPod downloads it from S3), renders a
platform.json next to it, and runs ``bash on_init_complete.sh`` with ``HP_ROOT`` pointing at a fake
host root. ``systemctl`` and ``mount`` are stubs on PATH that log their argv; the ``mount`` stub also
records the mount in ``${HP_ROOT}/proc/mounts`` the way the kernel would.
"""

from __future__ import annotations

import datetime
import fcntl
import hashlib
import json
import os
import shlex
import shutil
import signal
import stat
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hyperpod_platform.node_contract import SCHEMA_VERSION
from tests.directory_stubs import aws_stub, publish_parameter

ROOT = Path(__file__).resolve().parent.parent
LIFECYCLE = ROOT / "hyperpod_platform" / "lifecycle"

DNS = "fs-0123456789abcdef0.fsx.us-east-1.amazonaws.com"
MOUNT_NAME = "abcdefgh"
MOUNT_PATH = "/fsx"
DEVICE = f"{DNS}@tcp:/{MOUNT_NAME}"
UNRELATED_FSTAB = "UUID=1111-2222 /boot/efi vfat umask=0077 0 1"
LOG_DIR = "var/log/hyperpod-platform"

CONTROLLER_IP, LOGIN_IP, GPU_IP, GPU2_IP = "10.1.0.10", "10.1.0.20", "10.1.1.30", "10.1.1.31"
FSX = {"dns_name": DNS, "mount_name": MOUNT_NAME, "mount_path": MOUNT_PATH}
GROUPS = {"controller": "controller", "login": "login", "gpu": "compute"}
RESOURCE_CONFIG = {
    "InstanceGroups": [
        {
            "Name": "controller",
            "Instances": [{"CustomerIpAddress": CONTROLLER_IP, "InstanceId": "i-1", "InstanceName": "controller-1"}],
        },
        {
            "Name": "login",
            "Instances": [{"CustomerIpAddress": LOGIN_IP, "InstanceId": "i-2", "InstanceName": "login-1"}],
        },
        {
            "Name": "gpu",
            "Instances": [
                {"CustomerIpAddress": GPU_IP, "InstanceId": "i-3", "InstanceName": "gpu-1"},
                {"CustomerIpAddress": GPU2_IP, "InstanceId": "i-4", "InstanceName": "gpu-2"},
            ],
        },
    ]
}

# Stubs log "<name> <argv...>" to $STUB_CALLS (outside HP_ROOT, so it never shows in root snapshots).
SYSTEMCTL_STUB = """#!/usr/bin/env bash
printf '%s\\n' "systemctl $*" >>"${STUB_CALLS}"
"""
MOUNT_STUB = """#!/usr/bin/env bash
# mount -t lustre -o OPTS DEVICE MOUNTPOINT: record it as mounted, without the HP_ROOT prefix.
printf '%s\\n' "mount $*" >>"${STUB_CALLS}"
device="${*: -2:1}"
mountpoint="${*: -1}"
printf '%s %s lustre rw 0 0\\n' "${device}" "${mountpoint#"${HP_ROOT}"}" >>"${HP_ROOT}/proc/mounts"
"""
FAILING_MOUNT_STUB = """#!/usr/bin/env bash
printf '%s\\n' "mount $*" >>"${STUB_CALLS}"
echo "mount.lustre: mount ${*: -2:1} at ${*: -1} failed: Input/output error" >&2
exit 32
"""


def write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def platform(fsx: dict | None = FSX) -> dict:
    """A platform.json as the stack renders it (``NodeContract.to_dict``: every key there, ``fsx`` null when FSx
    is disabled, ``login`` and ``directory`` null here)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "cluster_name": "hp-dev",
        "region": "us-east-1",
        "fsx": fsx,
        "groups": GROUPS,
        "login": None,
        "directory": None,
    }


def snapshot(root: Path) -> dict[str, tuple]:
    """Every path under ``root`` -> (kind, mode, uid, gid, sha256 of content for files)."""
    result = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
        kind = "dir" if path.is_dir() else "file" if path.is_file() else "other"
        result[path.relative_to(root).as_posix()] = (kind, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, digest)
    return result


@dataclass
class Node:
    """A stubbed node: a lifecycle bundle, a fake host root and stub commands."""

    bundle: Path
    root: Path
    bin_dir: Path
    calls_log: Path

    @property
    def fstab(self) -> Path:
        return self.root / "etc" / "fstab"

    def set_platform(self, data: dict) -> None:
        write_json(self.bundle / "generated" / "platform.json", data)

    def stub(self, name: str, body: str) -> None:
        path = self.bin_dir / name
        path.write_text(body, encoding="utf-8")
        path.chmod(0o755)

    def run(self, ip: str = GPU_IP, umask: int = 0o022, **env: str) -> subprocess.CompletedProcess:
        """Run the entry point as HyperPod would (``bash on_init_complete.sh``); stderr merged into stdout."""
        base = {k: v for k, v in os.environ.items() if not k.startswith("HP_")}
        base.update(
            PATH=f"{self.bin_dir}{os.pathsep}{os.environ['PATH']}",
            HP_ROOT=str(self.root),
            HP_NODE_IP=ip,
            STUB_CALLS=str(self.calls_log),
        )
        base.update(env)  # may replace PATH
        return subprocess.run(
            ["bash", str(self.bundle / "on_init_complete.sh")],
            env=base,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            umask=umask,
            timeout=120,
            check=False,
        )

    def calls(self) -> list[list[str]]:
        """Stub invocations so far, each as [command, arg, ...]."""
        if not self.calls_log.exists():
            return []
        return [shlex.split(line) for line in self.calls_log.read_text(encoding="utf-8").splitlines()]

    def mounts(self) -> list[list[str]]:
        return [c for c in self.calls() if c[0] == "mount"]

    def fstab_entries_for(self, mount_point: str) -> list[list[str]]:
        """Non-comment fstab lines whose mount point (second field) is ``mount_point``."""
        lines = self.fstab.read_text(encoding="utf-8").splitlines()
        fields = [line.split() for line in lines if line.strip() and not line.lstrip().startswith("#")]
        return [f for f in fields if len(f) > 1 and f[1] == mount_point]


@pytest.fixture
def node(tmp_path: Path) -> Node:
    """A fresh compute node with FSx enabled, working stubs and an fstab holding one unrelated line."""
    return new_node(tmp_path)


def new_node(tmp_path: Path) -> Node:
    """What the ``node`` fixture gives (for other test modules)."""
    bundle = tmp_path / "bundle"
    shutil.copytree(LIFECYCLE, bundle, ignore=shutil.ignore_patterns("__pycache__", "generated"))
    root = tmp_path / "root"
    write_json(root / "opt/ml/config/resource_config.json", RESOURCE_CONFIG)
    (root / "etc").mkdir(parents=True)
    (root / "etc/fstab").write_text(UNRELATED_FSTAB + "\n", encoding="utf-8")
    (root / "proc").mkdir()
    (root / "proc/mounts").write_text("", encoding="utf-8")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    n = Node(bundle=bundle, root=root, bin_dir=bin_dir, calls_log=tmp_path / "calls.log")
    n.set_platform(platform())
    n.stub("systemctl", SYSTEMCTL_STUB)
    n.stub("mount", MOUNT_STUB)
    return n


def assert_ok(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, f"exit {result.returncode}; output:\n{result.stdout}"


# --- static checks ---------------------------------------------------------------------------------


def shell_scripts() -> list[Path]:
    return sorted(LIFECYCLE.rglob("*.sh"))


def bash_shebang_scripts() -> list[Path]:
    """Every file under lifecycle/ that starts with a bash shebang (the sourced common.sh has none)."""
    found = []
    for path in sorted(p for p in LIFECYCLE.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        first = path.read_bytes().split(b"\n", 1)[0]
        if first.startswith(b"#!") and first.split(b"/")[-1].split()[-1] == b"bash":
            found.append(path)
    return found


def test_shellcheck_is_clean():
    """shellcheck (with the repo's .shellcheckrc) reports nothing on any lifecycle script."""
    scripts = [str(p.relative_to(ROOT)) for p in shell_scripts()]
    assert len(scripts) >= 5, scripts
    result = subprocess.run(["shellcheck", *scripts], cwd=ROOT, text=True, capture_output=True, check=False)
    assert result.returncode == 0, f"shellcheck failed:\n{result.stdout}{result.stderr}"


def test_bash_scripts_start_with_strict_mode():
    """Every executable bash script's first command is ``set -euo pipefail``."""
    scripts = bash_shebang_scripts()
    assert {p.name for p in scripts} >= {"on_init_complete.sh", "10-logging.sh", "20-fsx-mount.sh", "30-home-dirs.sh"}
    for path in scripts:
        lines = path.read_text(encoding="utf-8").splitlines()[1:]
        first_command = next(line.strip() for line in lines if line.strip() and not line.startswith("#"))
        assert first_command == "set -euo pipefail", f"{path.relative_to(ROOT)} starts with {first_command!r}"


# --- full runs -------------------------------------------------------------------------------------


def test_compute_node_first_run_then_idempotent_rerun(node: Node):
    """First run mounts FSx once, writes fstab/logrotate/home root; a second run changes nothing."""
    first = node.run()
    assert_ok(first)
    assert "node in group gpu (compute)" in first.stdout
    assert "all steps done" in first.stdout

    mounts = node.mounts()
    assert len(mounts) == 1, node.calls()
    assert mounts[0][1:3] == ["-t", "lustre"]
    assert mounts[0][-2:] == [DEVICE, f"{node.root}{MOUNT_PATH}"]
    assert ["systemctl", "daemon-reload"] in node.calls()

    entries = node.fstab_entries_for(MOUNT_PATH)
    assert len(entries) == 1, node.fstab.read_text()
    device, _, fstype, options, *_ = entries[0]
    assert (device, fstype) == (DEVICE, "lustre")
    assert "_netdev" in options.split(",")
    assert UNRELATED_FSTAB in node.fstab.read_text().splitlines()

    home = node.root / MOUNT_PATH.lstrip("/") / "home"
    assert home.is_dir()
    assert stat.S_IMODE(home.stat().st_mode) == 0o755
    assert (home.stat().st_uid, home.stat().st_gid) == (0, 0)
    logrotate = node.root / "etc/logrotate.d/hyperpod-platform"
    assert "/var/log/hyperpod-platform/*.log {" in logrotate.read_text()
    assert stat.S_IMODE(logrotate.stat().st_mode) == 0o644
    assert "all steps done" in (node.root / LOG_DIR / "lifecycle.log").read_text()

    before = snapshot(node.root)
    calls_before = node.calls()
    second = node.run()
    assert_ok(second)
    after = snapshot(node.root)

    # The lifecycle log under var/log/hyperpod-platform/ is appended to on every run by design; every
    # other file and directory under the root must be byte-for-byte and mode-for-mode unchanged.
    def without_logs(snap):
        return {path: v for path, v in snap.items() if not path.startswith(LOG_DIR + "/")}

    assert without_logs(after) == without_logs(before)
    assert node.calls() == calls_before, "second run called mount/systemctl"
    assert "already mounted" in second.stdout
    assert "log rotation already configured" in second.stdout
    assert "home root /fsx/home ready" in second.stdout


def test_fsx_disabled_touches_no_mounts(node: Node):
    """With ``fsx: null`` nothing is mounted, fstab is untouched and there is no shared home root."""
    node.set_platform(platform(fsx=None))
    fstab_before = node.fstab.read_bytes()
    result = node.run()
    assert_ok(result)
    assert "no FSx file system" in result.stdout
    assert node.calls() == []
    assert node.fstab.read_bytes() == fstab_before
    assert not (node.root / MOUNT_PATH.lstrip("/")).exists()
    assert (node.root / "etc/logrotate.d/hyperpod-platform").is_file()


def test_stale_fstab_line_is_replaced_not_duplicated(node: Node):
    """An old entry for the mount point (replaced file system) is swapped out; look-alikes stay."""
    stale = "fs-0fedcba9876543210.fsx.us-east-1.amazonaws.com@tcp:/oldmount /fsx lustre defaults,_netdev 0 0"
    lookalike = "/dev/nvme1n1 /fsx-scratch xfs defaults,nofail 0 2"
    comment = "# /fsx used to be NFS"
    node.fstab.write_text("\n".join([UNRELATED_FSTAB, comment, stale, lookalike]) + "\n", encoding="utf-8")
    assert_ok(node.run())
    entries = node.fstab_entries_for(MOUNT_PATH)
    assert [e[0] for e in entries] == [DEVICE], node.fstab.read_text()
    lines = node.fstab.read_text().splitlines()
    assert stale not in lines
    for kept in (UNRELATED_FSTAB, comment, lookalike):
        assert kept in lines


def test_mount_point_with_regex_characters_is_matched_literally(node: Node):
    """A mount path like /mnt/fsx.1 (allowed by the stack config) is not confused with /mnt/fsx-1,
    neither in fstab (that line is kept) nor in /proc/mounts (ours is still mounted)."""
    node.set_platform(platform(fsx={**FSX, "mount_path": "/mnt/fsx.1"}))
    lookalike = "other-fs@tcp:/zzz /mnt/fsx-1 lustre defaults,_netdev 0 0"
    node.fstab.write_text(f"{UNRELATED_FSTAB}\n{lookalike}\n", encoding="utf-8")
    (node.root / "proc/mounts").write_text("other-fs@tcp:/zzz /mnt/fsx-1 lustre rw 0 0\n", encoding="utf-8")
    assert_ok(node.run())
    assert lookalike in node.fstab.read_text().splitlines()
    assert [e[0] for e in node.fstab_entries_for("/mnt/fsx.1")] == [DEVICE]
    assert [m[-1] for m in node.mounts()] == [f"{node.root}/mnt/fsx.1"]


def test_fstab_keeps_its_mode_under_a_strict_umask(node: Node):
    """Rewriting fstab keeps it world-readable (0644) even when the run's umask is 077."""
    node.fstab.chmod(0o644)
    assert_ok(node.run(umask=0o077))
    assert stat.S_IMODE(node.fstab.stat().st_mode) == 0o644
    assert not list(node.fstab.parent.glob("fstab.*")), "temporary fstab left behind"


# --- failure paths ---------------------------------------------------------------------------------


def test_unknown_node_ip_fails_naming_the_address(node: Node):
    """A node whose address is not in resource_config.json stops before any step, saying why."""
    result = node.run(ip="10.9.9.9")
    assert result.returncode != 0
    assert "cannot tell this node's instance group" in result.stdout
    assert "10.9.9.9" in result.stdout
    assert node.calls() == []
    assert not (node.root / "etc/logrotate.d/hyperpod-platform").exists()
    assert "10.9.9.9" in (node.root / LOG_DIR / "lifecycle.log").read_text()  # the log file says it too


def test_mount_failure_stops_the_run(node: Node):
    """A mount that keeps failing is retried, then the run fails naming the step; later steps don't run."""
    node.stub("mount", FAILING_MOUNT_STUB)
    result = node.run(HP_RETRY_DELAY="0")
    assert result.returncode != 0
    assert "FAILED: step 20-fsx-mount" in result.stdout
    assert "could not mount" in result.stdout
    assert len(node.mounts()) == 5
    assert not (node.root / MOUNT_PATH.lstrip("/") / "home").exists()
    assert "30-home-dirs" not in result.stdout
    assert "FAILED: step 20-fsx-mount" in (node.root / LOG_DIR / "lifecycle.log").read_text()


@pytest.mark.parametrize("missing", ["bundle:generated/platform.json", "root:opt/ml/config/resource_config.json"])
def test_missing_input_file_fails_naming_it(node: Node, missing: str):
    """Without platform.json (or HyperPod's resource config) the run fails and names the file."""
    where, rel = missing.split(":")
    (getattr(node, where) / rel).unlink()
    result = node.run()
    assert result.returncode != 0
    assert f"cannot read {getattr(node, where) / rel}" in result.stdout
    assert node.calls() == []


# --- node_info.py ----------------------------------------------------------------------------------


@pytest.fixture
def node_info(tmp_path: Path):
    """Run lib/node_info.py with a platform.json and resource config; returns the CompletedProcess."""
    platform_path = tmp_path / "platform.json"
    resource_path = tmp_path / "resource_config.json"
    write_json(platform_path, platform())
    write_json(resource_path, RESOURCE_CONFIG)

    def run(*ips: str, resource: dict | None = None) -> subprocess.CompletedProcess:
        if resource is not None:
            write_json(resource_path, resource)
        return subprocess.run(
            ["python3", str(LIFECYCLE / "lib/node_info.py"), str(platform_path), str(resource_path), *ips],
            text=True,
            capture_output=True,
            check=False,
        )

    return run


@pytest.mark.parametrize(
    "ips, expected",
    [
        ([CONTROLLER_IP], "controller controller"),
        ([LOGIN_IP], "login login"),
        ([GPU2_IP], "gpu compute"),
        (["172.17.0.1", GPU_IP], "gpu compute"),  # any of the node's addresses (e.g. a docker bridge first)
    ],
)
def test_node_info_prints_group_and_role(node_info, ips, expected):
    """The node's instance group is found by any of its addresses and mapped to its platform role."""
    result = node_info(*ips)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


def test_node_info_group_unknown_to_platform(node_info):
    """A group HyperPod knows but platform.json does not is an error naming the group and the known ones."""
    resource = {"InstanceGroups": [{"Name": "spare", "Instances": [{"CustomerIpAddress": "10.1.2.40"}]}]}
    result = node_info("10.1.2.40", resource=resource)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "'spare'" in result.stderr
    assert "['controller', 'gpu', 'login']" in result.stderr


def test_node_info_address_not_found(node_info):
    """No instance with the node's addresses: exit 1 and the addresses are named."""
    result = node_info("10.9.9.9", "10.9.9.10")
    assert result.returncode == 1
    assert result.stdout == ""
    assert "10.9.9.9" in result.stderr and "10.9.9.10" in result.stderr


def test_write_if_changed_fails_loudly_inside_if(tmp_path):
    """A failed install inside `if write_if_changed ...` stops the step with a message instead of being
    reported as written (bash ignores `set -e` inside functions called from `if`)."""
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a directory is needed")
    script = (
        f'set -euo pipefail; HP_ROOT=""; source {LIFECYCLE}/lib/common.sh; '
        f"if write_if_changed {blocker}/sub/file 0644 <<<x; then echo WROTE; fi; echo AFTER"
    )
    proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True)
    assert proc.returncode != 0
    assert "WROTE" not in proc.stdout and "AFTER" not in proc.stdout
    assert "cannot" in proc.stderr


# --- directory step (the Samba end-to-end test runs it for real on a node that has the packages) -----------

DIRECTORY_PACKAGES = ["sssd", "sssd-ldap", "sssd-tools", "libnss-sss", "libpam-sss", "ldap-utils"]
REGION = "us-east-1"
PARAMETER = "/hyperpod-platform/hp-dev/directory"
SECRET_ID = "arn:aws:secretsmanager:us-east-1:123456789012:secret:bind-AbCdEf"
BIND_PASSWORD = "Old-Bind-Password-1"
USERS_OU = "OU=Users,OU=CORP,DC=corp,DC=example,DC=com"
DIRECTORY = {
    "domain": "corp.example.com",
    "search_base": "DC=corp,DC=example,DC=com",
    "bind_user": "ReadOnly",
    "connection_parameter": PARAMETER,
    "allowed_groups_by_role": {
        "controller": ["ClusterAdmin"],
        "login": ["ClusterAdmin", "ClusterDev"],
        "compute": ["ClusterAdmin", "ClusterDev"],
    },
    "sudo_groups": ["ClusterAdmin"],
    "local_groups": ["ubuntu"],
    "default_shell": "/bin/bash",
    "home_dir": "/home/%u",
}
# dpkg-query answers from $PKG_STATE (one installed package per line); apt-get fails its first
# $APT_FAILURES installs, then installs (appends to $PKG_STATE); remove drops the package.
DPKG_QUERY_STUB = """#!/usr/bin/env bash
package="${*: -1}"
if grep -qx "${package}" "${PKG_STATE}"; then printf 'install ok installed'; else exit 1; fi
"""
APT_GET_STUB = """#!/usr/bin/env bash
printf '%s\\n' "apt-get $*" >>"${STUB_CALLS}"
[[ "$*" == *update* ]] && exit 0
if [[ "$*" == *" install "* ]]; then
  count=$(( $(cat "${APT_COUNT}" 2>/dev/null || echo 0) + 1 ))
  echo "${count}" >"${APT_COUNT}"
  if (( count <= APT_FAILURES )); then
    echo "E: Could not get lock /var/lib/dpkg/lock-frontend (attempt ${count})" >&2
    exit 100
  fi
  after=0
  for arg in "$@"; do
    if ((after)); then [[ "${arg}" == -* ]] || echo "${arg}" >>"${PKG_STATE}"; fi
    [[ "${arg}" == install ]] && after=1
  done
  exit 0
fi
if [[ "$*" == *" remove "* ]]; then
  grep -vx "${*: -1}" "${PKG_STATE}" >"${PKG_STATE}.new" || true
  mv "${PKG_STATE}.new" "${PKG_STATE}"
fi
"""
# ldapsearch: $LDAP_FAILURES first calls fail with $LDAP_ERROR (default: the server does not answer), then
# every bind works and a base search on a group DN names the group (its CN) as AD would.
LDAPSEARCH_STUB = """#!/usr/bin/env bash
printf '%s\\n' "ldapsearch $*" >>"${STUB_CALLS}"
count=$(( $(cat "${LDAP_COUNT}" 2>/dev/null || echo 0) + 1 ))
echo "${count}" >"${LDAP_COUNT}"
if (( count <= ${LDAP_FAILURES:-0} )); then
  error="ldap_sasl_bind(SIMPLE): Can't contact LDAP server (-1)"
  printf '%b\\n' "${LDAP_ERROR:-${error}}" >&2
  exit "${LDAP_STATUS:-255}"
fi
base=""
while (($#)); do [[ "$1" == -b ]] && base="$2"; shift; done
if [[ "${base}" == CN=Cluster* && -n "${LDAP_GROUP_STATUS:-}" ]]; then  # the group look-ups fail with this
  printf '%b\\n' "${LDAP_GROUP_ERROR}" >&2
  exit "${LDAP_GROUP_STATUS}"
fi
if [[ "${base}" == CN=Cluster* ]]; then cn="${base#CN=}"; printf 'dn: %s\\nsAMAccountName: %s\\n' "${base}" "${cn%%,*}"; fi
exit 0
"""
# sssctl as SSSD >= 2.3 has it: config-check knows --config; accepts every file.
SSSCTL_STUB = """#!/usr/bin/env bash
printf '%s\\n' "sssctl $*" >>"${STUB_CALLS}"
[[ "$*" == *--help* ]] && echo "  -c, --config=STRING"
exit 0
"""
FAILING_PAM_AUTH_UPDATE_STUB = """#!/usr/bin/env bash
printf '%s\\n' "pam-auth-update $*" >>"${STUB_CALLS}"
echo "pam-auth-update: local modifications to /etc/pam.d/common-*, not updating." >&2
exit 1
"""


def new_ca_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test LDAPS CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    ca = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return ca.public_bytes(serialization.Encoding.PEM).decode()


def connection(**changes) -> dict:
    value = {
        "schema": 1,
        "ldaps_uri": "ldaps://ldaps.corp.example.com",
        "bind_dn": f"CN=ReadOnly,{USERS_OU}",
        "bind_secret_id": SECRET_ID,
        "group_dns": {"ClusterAdmin": f"CN=ClusterAdmin,{USERS_OU}", "ClusterDev": f"CN=ClusterDev,{USERS_OU}"},
        "ca_cert_pem": new_ca_pem(),
    }
    value.update(changes)
    return {k: v for k, v in value.items() if v is not None}


@pytest.fixture
def directory_node(node: Node, tmp_path: Path) -> Node:
    """A compute node of a stack with a directory, missing the SSSD packages, with ec2-instance-connect; the
    directory's parameter and bind secret exist; its LDAPS endpoint answers unless a test says otherwise."""
    node.set_platform({**platform(fsx=None), "directory": DIRECTORY})
    (node.root / "bin").mkdir()
    shutil.copy2("/bin/bash", node.root / "bin" / "bash")
    (tmp_path / "packages").write_text("ec2-instance-connect\n", encoding="utf-8")
    (tmp_path / "secret").write_text(BIND_PASSWORD, encoding="utf-8")
    (tmp_path / "flaky").mkdir()
    publish_parameter(tmp_path / "parameter", connection())
    node.stub("dpkg-query", DPKG_QUERY_STUB)
    node.stub("apt-get", APT_GET_STUB)
    node.stub("aws", aws_stub(REGION, PARAMETER, SECRET_ID))
    node.stub("ldapsearch", LDAPSEARCH_STUB)
    return node


def _run_directory_step(
    node: Node, tmp_path: Path, failures: int = 0, ip: str = GPU_IP, **env: str
) -> subprocess.CompletedProcess:
    return node.run(
        ip=ip,
        **{
            "PKG_STATE": str(tmp_path / "packages"),
            "APT_COUNT": str(tmp_path / "apt-count"),
            "APT_FAILURES": str(failures),
            "HP_RETRY_DELAY": "0",
            "HP_DIRECTORY_RETRY_DELAY": "0",
            "AWS_STUB_PARAMETER": str(tmp_path / "parameter"),
            "AWS_STUB_SECRET": str(tmp_path / "secret"),
            "AWS_STUB_FLAKY_DIR": str(tmp_path / "flaky"),
            "LDAP_COUNT": str(tmp_path / "ldap-count"),
            **env,
        },
    )


def _identity_files(root: Path) -> dict:
    """The root's files other than the lifecycle's own log, its log rotation (step 10), the run lock, the timer
    units and their stable copy."""
    own = ("var/log", "etc/logrotate.d", "run", "opt", "etc/systemd")
    return {k: v for k, v in snapshot(root).items() if not k.startswith(own) and k != "var"}


def test_directory_step_installs_packages_with_retries(directory_node: Node, tmp_path: Path):
    """Missing SSSD packages are installed after two failed attempts (package lists refreshed each time), after
    the parameter and the bind secret are read. Here LDAPS never answers: the step retries the bind, then
    defers (exit 0) and ec2-instance-connect stays."""
    result = _run_directory_step(directory_node, tmp_path, failures=2, LDAP_FAILURES="99")
    assert_ok(result)
    apt = [c for c in directory_node.calls() if c[0] == "apt-get"]
    lock = ["-o", "DPkg::Lock::Timeout=600"]  # waits for unattended-upgrades instead of failing at once
    install = ["apt-get", *lock, "-y", "-qq", "install", "--no-install-recommends", *DIRECTORY_PACKAGES]
    assert apt == [["apt-get", *lock, "update", "-qq"], install] * 3
    assert "failed (attempt 1/3)" in result.stdout and "failed (attempt 2/3)" in result.stdout
    assert "Could not get lock" in result.stdout
    assert sorted((tmp_path / "packages").read_text().split()) == sorted(["ec2-instance-connect", *DIRECTORY_PACKAGES])
    assert [c[:3] for c in directory_node.calls() if c[0] == "aws"] == [
        ["aws", "ssm", "get-parameter"],
        ["aws", "secretsmanager", "get-secret-value"],
    ]
    assert len([c for c in directory_node.calls() if c[0] == "ldapsearch"]) == 5
    for attempt in range(1, 5):
        assert f"binding to ldaps://ldaps.corp.example.com failed (attempt {attempt}/5; again in 0 s)" in result.stdout
    assert "Can't contact LDAP server" in result.stdout
    assert (
        "deferred: the directory at ldaps://ldaps.corp.example.com does not answer over LDAPS with a certificate "
        "from the parameter's CA (ldap_sasl_bind(SIMPLE): Can't contact LDAP server (-1)" in result.stdout
    )
    assert "removed ec2-instance-connect" not in result.stdout
    assert not (directory_node.root / "etc" / "sssd").exists()


def test_directory_step_gives_up_after_three_failed_installs(directory_node: Node, tmp_path: Path):
    """Three failed installs: the step fails saying so, and never binds; ec2-instance-connect stays."""
    result = _run_directory_step(directory_node, tmp_path, failures=3)
    assert result.returncode != 0
    assert f"could not install {' '.join(DIRECTORY_PACKAGES)} after 3 attempts" in result.stdout
    assert [c for c in directory_node.calls() if c[0] == "ldapsearch"] == []
    assert "ec2-instance-connect" in (tmp_path / "packages").read_text()


# ldapsearch as it fails against AD when the bind user's password has expired (sub-code 532).
EXPIRED = (
    "ldap_bind: Invalid credentials (49)\n\tadditional info: 80090308: LdapErr: DSID-0C09044E, comment: "
    "AcceptSecurityContext error, data 532, v4563"
)


def test_directory_step_defers_when_the_bind_password_expired(directory_node: Node, tmp_path: Path):
    """An expired bind password (AD's data 532) is named as such, with how to rotate it; the bind is not
    retried (wrong binds lock accounts out); the step defers: exit 0, nothing written, ec2-instance-connect
    kept; the password never shows."""
    (tmp_path / "packages").write_text("\n".join(["ec2-instance-connect", *DIRECTORY_PACKAGES]) + "\n")
    result = _run_directory_step(directory_node, tmp_path, LDAP_FAILURES="99", LDAP_ERROR=EXPIRED, LDAP_STATUS="49")
    assert_ok(result)
    assert "ERROR: cannot bind to ldaps://ldaps.corp.example.com as CN=ReadOnly" in result.stdout
    assert "Invalid credentials (49)" in result.stdout
    assert (
        "password has expired or must be changed" in result.stdout and "directory.bindPasswordVersion" in result.stdout
    )
    assert (
        f"deferred: the directory at ldaps://ldaps.corp.example.com refuses the bind password ({SECRET_ID})"
        in result.stdout
    )
    assert BIND_PASSWORD not in result.stdout
    assert not [c for c in directory_node.calls() if c[0] == "apt-get"]
    ldap = [c for c in directory_node.calls() if c[0] == "ldapsearch"]
    assert len(ldap) == 1 and "-y" in ldap[0] and BIND_PASSWORD not in " ".join(ldap[0])
    assert not (directory_node.root / "etc" / "sssd").exists()
    assert "ec2-instance-connect" in (tmp_path / "packages").read_text()


def test_directory_not_ready_defers_and_installs_the_timer(directory_node: Node, tmp_path: Path):
    """No parameter yet: the step says deferred, exits 0, installs nothing and removes nothing; it installs the
    timer (units, stable copy of what the step needs, the node's role in the unit) once; a second run changes
    nothing at all."""
    publish_parameter(tmp_path / "parameter", None)
    before = _identity_files(directory_node.root)
    result = _run_directory_step(directory_node, tmp_path)
    assert_ok(result)
    assert f"deferred: the directory is not ready: parameter {PARAMETER} does not exist yet" in result.stdout
    assert "all steps done" in result.stdout
    assert _identity_files(directory_node.root) == before
    assert (tmp_path / "packages").read_text() == "ec2-instance-connect\n"
    assert [c for c in directory_node.calls() if c[0] in ("apt-get", "ldapsearch")] == []
    assert [c[:3] for c in directory_node.calls() if c[0] == "aws"] == [["aws", "ssm", "get-parameter"]]  # no retry
    assert [c for c in directory_node.calls() if c[0] == "systemctl"] == [
        ["systemctl", "daemon-reload"],
        ["systemctl", "enable", "--now", "hyperpod-directory.timer"],
    ]
    service = (directory_node.root / "etc/systemd/system/hyperpod-directory.service").read_text().splitlines()
    stable = "/opt/hyperpod-platform/lifecycle"
    for line in (
        f"Environment=HP_LIFECYCLE_DIR={stable}",
        f"Environment=HP_PLATFORM_JSON={stable}/generated/platform.json",
        "Environment=HP_NODE_ROLE=compute",
        "Environment=HP_NODE_GROUP=gpu",
        "Type=oneshot",
        f"ExecStart=/bin/bash {stable}/steps/50-directory.sh",
    ):
        assert line in service, service
    timer = (directory_node.root / "etc/systemd/system/hyperpod-directory.timer").read_text().splitlines()
    assert "OnUnitInactiveSec=5min" in timer and "WantedBy=timers.target" in timer
    # Enabled after boot, an elapsed OnBootSec would fire at once, a second run beside this one.
    assert "OnActiveSec=5min" in timer and not [line for line in timer if line.startswith("OnBootSec")]
    assert "TimeoutStartSec=1800" in service and "TimeoutStopSec=600" in service
    copy = directory_node.root / stable.lstrip("/")
    for rel in ("steps/50-directory.sh", "lib/common.sh", "lib/directory.sh", "lib/directory.py"):
        assert (copy / rel).read_bytes() == (LIFECYCLE / rel).read_bytes(), rel
    assert json.loads((copy / "generated/platform.json").read_text())["directory"] == DIRECTORY

    everything, calls = snapshot(directory_node.root), directory_node.calls()
    again = _run_directory_step(directory_node, tmp_path)
    assert_ok(again)
    assert "deferred" in again.stdout and "wrote" not in again.stdout
    without_log = lambda snap: {k: v for k, v in snap.items() if not k.startswith(LOG_DIR + "/")}  # noqa: E731
    assert without_log(snapshot(directory_node.root)) == without_log(everything)
    assert [c for c in directory_node.calls()[len(calls) :] if c[0] != "aws"] == []


def test_directory_step_survives_one_transient_error_of_each_call(directory_node: Node, tmp_path: Path):
    """A throttled parameter read, a dropped connection to Secrets Manager and an LDAPS server that does not
    answer the first bind: each is retried with backoff and the step goes on (here up to its first check of
    the rendered files, which a stub sssctl then stops, so that nothing is installed on the host)."""
    (tmp_path / "packages").write_text("\n".join(["ec2-instance-connect", *DIRECTORY_PACKAGES]) + "\n")
    directory_node.stub(
        "sssctl",
        SSSCTL_STUB.replace("exit 0\n", '[[ "$*" == *--help* ]] || { echo "rejected by the test" >&2; exit 1; }\n'),
    )
    result = _run_directory_step(
        directory_node, tmp_path, LDAP_FAILURES="1", AWS_STUB_FLAKY="ssm secretsmanager", HP_DIRECTORY_RETRY_DELAY="1"
    )
    assert (
        f"reading the directory parameter {PARAMETER} failed (attempt 1/5; again in 1 s): "
        "An error occurred (ThrottlingException)" in result.stdout
    )
    assert f"reading the bind password {SECRET_ID} failed (attempt 1/5; again in 2 s)" not in result.stdout
    assert (
        f"reading the bind password {SECRET_ID} failed (attempt 1/5; again in 1 s): Could not connect" in result.stdout
    )
    assert (
        "binding to ldaps://ldaps.corp.example.com failed (attempt 1/5; again in 1 s): "
        "ldap_sasl_bind(SIMPLE): Can't contact LDAP server (-1)" in result.stdout
    )
    assert "bound to ldaps://ldaps.corp.example.com as CN=ReadOnly" in result.stdout
    assert "sssctl rejects the rendered sssd.conf: rejected by the test" in result.stdout
    assert [c[:3] for c in directory_node.calls() if c[0] == "aws"] == [["aws", "ssm", "get-parameter"]] * 2 + [
        ["aws", "secretsmanager", "get-secret-value"]
    ] * 2
    assert not (directory_node.root / "etc" / "sssd").exists()


def test_ec2_instance_connect_is_reinstalled_when_the_change_is_rolled_back(directory_node: Node, tmp_path: Path):
    """ec2-instance-connect goes only after a good bind; when a later check fails (here pam-auth-update), the
    previous files are put back and ec2-instance-connect is installed again (with a daemon-reload for its
    sshd drop-in)."""
    (tmp_path / "packages").write_text("\n".join(["ec2-instance-connect", *DIRECTORY_PACKAGES]) + "\n")
    directory_node.stub("sssctl", SSSCTL_STUB)
    directory_node.stub("pam-auth-update", FAILING_PAM_AUTH_UPDATE_STUB)
    (directory_node.root / "etc/pam.d").mkdir(parents=True)
    before = _identity_files(directory_node.root)
    result = _run_directory_step(directory_node, tmp_path)
    assert result.returncode != 0, result.stdout
    assert "removed ec2-instance-connect" in result.stdout
    assert (
        "pam-auth-update --enable sss hyperpod-mkhomedir failed: pam-auth-update: local modifications" in result.stdout
    )
    assert "ec2-instance-connect reinstalled" in result.stdout and "previous files restored" in result.stdout
    calls = [c for c in directory_node.calls() if c[0] in ("apt-get", "systemctl", "pam-auth-update", "ldapsearch")]
    binds = [i for i, c in enumerate(calls) if c[0] == "ldapsearch"]
    remove = calls.index(["apt-get", "-o", "DPkg::Lock::Timeout=600", "-y", "-qq", "remove", "ec2-instance-connect"])
    assert binds and max(binds) < remove, calls  # the bind and the group checks come first
    assert calls[remove + 1 :] == [
        ["systemctl", "daemon-reload"],
        ["pam-auth-update", "--enable", "sss", "hyperpod-mkhomedir"],
        ["apt-get", "-o", "DPkg::Lock::Timeout=600", "update", "-qq"],
        [
            "apt-get",
            "-o",
            "DPkg::Lock::Timeout=600",
            "-y",
            "-qq",
            "install",
            "--no-install-recommends",
            "ec2-instance-connect",
        ],
        ["systemctl", "daemon-reload"],
    ]
    assert "ec2-instance-connect" in (tmp_path / "packages").read_text().split()
    files = lambda snap: {k: v for k, v in snap.items() if v[0] == "file"}  # noqa: E731 (parent dirs may stay)
    assert files(_identity_files(directory_node.root)) == files(before)
    assert not (directory_node.root / "var/lib/hyperpod-platform/directory.state").exists()


@pytest.mark.parametrize(
    "where, change, message",
    [
        ("parameter", {"schema": 2}, f"directory parameter {PARAMETER}: schema 2 is not supported by this node"),
        ("parameter", {"ca_cert_pem": None}, f"directory parameter {PARAMETER}.ca_cert_pem is missing"),
        ("parameter", {"ldaps_uri": "ldap://dc.corp.example.com"}, "is not ldaps://HOST[:PORT]"),
        (
            "parameter",
            {"group_dns": {"ClusterAdmin": "CN=ClusterAdmin"}},
            f"directory parameter {PARAMETER} group_dns.ClusterDev is missing",
        ),
        ("platform", {"bind_user": None}, "platform.json directory.bind_user is missing"),
        ("platform", {"connection_parameter": None}, "platform.json directory.connection_parameter is missing"),
        (
            "platform",
            {"allowed_groups_by_role": {"controller": ["ClusterAdmin"]}},
            "platform.json directory.allowed_groups_by_role has no entry for this node's role 'compute' (roles: controller)",
        ),
        (
            "platform",
            {"allowed_groups_by_role": {"compute": []}},
            "platform.json directory.allowed_groups_by_role.compute is empty",
        ),
    ],
)
def test_directory_step_refuses_malformed_settings_naming_the_key(
    directory_node: Node, tmp_path: Path, where: str, change: dict, message: str
):
    """A malformed platform.json or parameter is an error (not a deferral), naming the key; nothing is bound,
    installed or removed."""
    if where == "parameter":
        publish_parameter(tmp_path / "parameter", connection(**change))
    else:
        section = {k: v for k, v in {**DIRECTORY, **change}.items() if v is not None}
        directory_node.set_platform({**platform(fsx=None), "directory": section})
    result = _run_directory_step(directory_node, tmp_path)
    assert result.returncode != 0, result.stdout
    assert message in result.stdout
    assert "FAILED: step 50-directory" in result.stdout and "deferred" not in result.stdout
    assert [c for c in directory_node.calls() if c[0] in ("apt-get", "ldapsearch")] == []
    assert (tmp_path / "packages").read_text() == "ec2-instance-connect\n"


@pytest.mark.parametrize(
    "role, allowed, sudo",
    [
        ("controller", "ClusterAdmin", "ClusterAdmin"),
        ("login", "ClusterAdmin ClusterDev", "ClusterAdmin"),
        ("compute", "ClusterDev", ""),  # ClusterAdmin is a sudo group, but not allowed on this role: no sudo
    ],
)
def test_allowed_and_sudo_groups_follow_the_node_role(tmp_path: Path, role: str, allowed: str, sudo: str):
    """This node's groups are allowed_groups_by_role[role]; sudo groups only when allowed on the role too."""
    section = {
        **DIRECTORY,
        "allowed_groups_by_role": {**DIRECTORY["allowed_groups_by_role"], "compute": ["ClusterDev"]},
    }
    write_json(tmp_path / "platform.json", {**platform(fsx=None), "directory": section})
    result = subprocess.run(
        ["python3", str(LIFECYCLE / "lib/directory.py"), "platform", str(tmp_path / "platform.json"), role],
        text=True,
        capture_output=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    values = dict(line.split("\t", 1) for line in result.stdout.splitlines())
    assert (values["allowed_groups"], values["sudo_groups"]) == (allowed, sudo)


def test_directory_step_defers_when_the_bind_secret_stays_unreadable(directory_node: Node, tmp_path: Path):
    """Secrets Manager refusing every attempt (e.g. the node role's policy not there yet): five attempts with
    backoff, then a loud deferral (exit 0) naming the secret and the AWS error; nothing installed or removed."""
    result = _run_directory_step(directory_node, tmp_path, AWS_STUB_FAIL="AccessDeniedException")
    assert_ok(result)
    assert [c[:3] for c in directory_node.calls() if c[0] == "aws"] == [["aws", "ssm", "get-parameter"]] + [
        ["aws", "secretsmanager", "get-secret-value"]
    ] * 5
    assert (
        f"ERROR: cannot read the directory bind password {SECRET_ID}: An error occurred (AccessDeniedException)"
        in result.stdout
    )
    assert (
        f"deferred: the bind password {SECRET_ID} cannot be read (An error occurred (AccessDeniedException)"
        in result.stdout
    )
    assert [c for c in directory_node.calls() if c[0] in ("apt-get", "ldapsearch")] == []
    assert (tmp_path / "packages").read_text() == "ec2-instance-connect\n"


@pytest.mark.parametrize(
    "mount_path,reason",
    [
        ("/etc", "would hide or replace the system directory /etc"),
        ("/fsx/../etc", "is not a normalized absolute path"),
        ("/opt", "would hide or replace the system directory /opt/aws"),
        ("fsx", "is not a normalized absolute path"),
    ],
)
def test_mount_step_refuses_a_system_mount_path(node: Node, mount_path: str, reason: str):
    """The mount step checks the path it is handed again: nothing is mounted, fstab is untouched."""
    node.set_platform(platform(fsx={**FSX, "mount_path": mount_path}))
    before = node.fstab.read_text() if node.fstab.exists() else None
    result = node.run()
    assert result.returncode != 0
    assert "FAILED: step 20-fsx-mount" in result.stdout and reason in result.stdout
    assert node.mounts() == []
    assert (node.fstab.read_text() if node.fstab.exists() else None) == before


def test_mount_step_and_config_forbid_the_same_directories():
    """The node's list of system directories is the config's (stack_config.SYSTEM_DIRS)."""
    import re

    import stack_config

    script = (LIFECYCLE / "steps" / "20-fsx-mount.sh").read_text()
    listed = re.search(r"system_dirs=\(([^)]*)\)", script).group(1).split()
    assert tuple(listed) == stack_config.SYSTEM_DIRS


# --- directory step: signals, the lock, the stable copy, deferral boundaries ----------------------------------

# pam-auth-update that hangs (as a step killed by systemd's TimeoutStartSec would): it says so, then sleeps.
BLOCKING_PAM_AUTH_UPDATE_STUB = """#!/usr/bin/env bash
printf '%s\\n' "pam-auth-update $*" >>"${STUB_CALLS}"
touch "${BLOCKED}"
sleep 120
"""


def _directory_step_env(node: Node, tmp_path: Path, **env: str) -> dict[str, str]:
    """The environment hyperpod-directory.service gives the step (plus the stubs'), on this stubbed node."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("HP_")}
    base.update(
        PATH=f"{node.bin_dir}{os.pathsep}{os.environ['PATH']}",
        HP_ROOT=str(node.root),
        HP_LIFECYCLE_DIR=str(node.bundle),
        HP_PLATFORM_JSON=str(node.bundle / "generated/platform.json"),
        HP_NODE_ROLE="compute",
        HP_NODE_GROUP="gpu",
        HP_LOG_TAG="50-directory",
        STUB_CALLS=str(node.calls_log),
        PKG_STATE=str(tmp_path / "packages"),
        APT_COUNT=str(tmp_path / "apt-count"),
        APT_FAILURES="0",
        HP_RETRY_DELAY="0",
        HP_DIRECTORY_RETRY_DELAY="0",
        AWS_STUB_PARAMETER=str(tmp_path / "parameter"),
        AWS_STUB_SECRET=str(tmp_path / "secret"),
        AWS_STUB_FLAKY_DIR=str(tmp_path / "flaky"),
        LDAP_COUNT=str(tmp_path / "ldap-count"),
    )
    base.update(env)
    return base


@pytest.mark.parametrize("sig, status", [(signal.SIGTERM, 143), (signal.SIGHUP, 129), (signal.SIGINT, 130)])
def test_directory_step_rolls_back_when_stopped_by_a_signal(
    directory_node: Node, tmp_path: Path, sig: signal.Signals, status: int
):
    """systemd stopping the step mid-install (TimeoutStartSec, systemctl stop, a shutdown: a signal to every
    process of the unit) is a failure like any other: the step exits non-zero, every previous file is put
    back, ec2-instance-connect is installed again and no state file says the directory is applied."""
    (tmp_path / "packages").write_text("\n".join(["ec2-instance-connect", *DIRECTORY_PACKAGES]) + "\n")
    directory_node.stub("sssctl", SSSCTL_STUB)
    directory_node.stub("pam-auth-update", BLOCKING_PAM_AUTH_UPDATE_STUB)
    (directory_node.root / "etc/pam.d").mkdir(parents=True)
    (directory_node.root / "etc/pam.d/common-session").write_text("session required pam_unix.so\n")
    before = _identity_files(directory_node.root)
    blocked, output = tmp_path / "blocked", tmp_path / "output"
    env = _directory_step_env(directory_node, tmp_path, BLOCKED=str(blocked))
    with output.open("w") as out:
        step = subprocess.Popen(
            ["bash", str(directory_node.bundle / "steps/50-directory.sh")],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as the service's cgroup
        )
        try:
            deadline = time.monotonic() + 60
            while not blocked.exists() and step.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            assert blocked.exists(), output.read_text()
            os.killpg(step.pid, sig)
            returncode = step.wait(timeout=60)
        finally:
            if step.poll() is None:
                os.killpg(step.pid, signal.SIGKILL)
                step.wait()
    text = output.read_text()
    assert returncode == status, text
    assert "removed ec2-instance-connect" in text
    assert f"exiting (status {status}) while installing: putting the previous files back" in text
    assert "ec2-instance-connect reinstalled" in text and "previous files restored" in text
    assert "ec2-instance-connect" in (tmp_path / "packages").read_text().split()
    files = lambda snap: {k: v for k, v in snap.items() if v[0] == "file"}  # noqa: E731 (parent dirs may stay)
    assert files(_identity_files(directory_node.root)) == files(before)
    assert not (directory_node.root / "var/lib/hyperpod-platform/directory.state").exists()


def test_directory_step_defers_while_another_run_holds_the_lock(directory_node: Node, tmp_path: Path):
    """A run that cannot get the lock within its wait defers to the run holding it (exit 0, nothing read or
    changed); the default wait is clearly shorter than the service's TimeoutStartSec."""
    lock = directory_node.root / "run/lock/hyperpod-directory.lock"
    lock.parent.mkdir(parents=True)
    before = _identity_files(directory_node.root)
    with lock.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        result = _run_directory_step(directory_node, tmp_path, HP_DIRECTORY_LOCK_WAIT="1")
    assert_ok(result)
    assert "deferred: another run of this step has held" in result.stdout and "for 1 s" in result.stdout
    assert [c for c in directory_node.calls() if c[0] in ("aws", "apt-get", "ldapsearch", "systemctl")] == []
    assert _identity_files(directory_node.root) == before
    values = subprocess.run(
        ["bash", "-c", f'source {LIFECYCLE}/lib/directory.sh; echo "$LOCK_WAIT_SECONDS $SERVICE_TIMEOUT_SECONDS"'],
        text=True,
        capture_output=True,
        check=True,
    ).stdout.split()
    wait, timeout = map(int, values)
    assert wait + 600 <= timeout, (wait, timeout)


def test_stable_copy_is_replaced_by_a_rename(directory_node: Node, tmp_path: Path):
    """The timer's stable copy of the step changes by a rename onto it, never by rewriting or removing the file
    a waiting run of the old script reads: that run keeps reading the old bytes; no temporary file stays."""
    publish_parameter(tmp_path / "parameter", None)
    assert_ok(_run_directory_step(directory_node, tmp_path))
    stable = directory_node.root / "opt/hyperpod-platform/lifecycle/steps/50-directory.sh"
    old = stable.read_bytes()
    step = directory_node.bundle / "steps/50-directory.sh"
    step.write_bytes(step.read_bytes() + b"# a newer bundle\n")
    trace = tmp_path / "trace"
    env = _directory_step_env(directory_node, tmp_path)
    script = f"set -euo pipefail; source {directory_node.bundle}/lib/common.sh; "
    script += f"source {directory_node.bundle}/lib/directory.sh; install_timer"
    with stable.open("rb") as reader:  # a run of the old script, reading it
        result = subprocess.run(
            ["strace", "-f", "-qq", "-o", str(trace), "-e", "trace=%file", "bash", "-c", script],
            env=env,
            text=True,
            capture_output=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert reader.read() == old
    assert stable.read_bytes() == step.read_bytes()
    assert stat.S_IMODE(stable.stat().st_mode) == 0o644
    syscalls = [line for line in trace.read_text().splitlines() if f'"{stable}"' in line]
    assert [line for line in syscalls if "rename" in line], syscalls
    assert not [line for line in syscalls if "unlink" in line or ("open" in line and "O_CREAT" in line)], syscalls
    assert sorted(p.name for p in stable.parent.iterdir()) == ["50-directory.sh"]


def test_sssctl_help_is_read_whole_before_matching(directory_node: Node, tmp_path: Path):
    """A long `sssctl config-check --help` (grep -q stops reading at its first match, sssctl then dies of
    SIGPIPE) still counts as an sssctl that checks a file before it is installed."""
    (tmp_path / "packages").write_text("\n".join(["ec2-instance-connect", *DIRECTORY_PACKAGES]) + "\n")
    long_help = SSSCTL_STUB.replace(
        '[[ "$*" == *--help* ]] && echo "  -c, --config=STRING"',
        '[[ "$*" == *--help* ]] && { echo "  -c, --config=STRING"; for _ in {1..20000}; do echo "help text"; done; }',
    )
    directory_node.stub("sssctl", long_help)
    directory_node.stub("pam-auth-update", FAILING_PAM_AUTH_UPDATE_STUB)
    result = _run_directory_step(directory_node, tmp_path)
    assert "cannot check a file before it is installed" not in result.stdout, result.stdout
    sssctl = [c for c in directory_node.calls() if c[0] == "sssctl" and "--help" not in c]
    assert sssctl and sssctl[0][:3] == ["sssctl", "config-check", "-c"], sssctl


def test_directory_step_fails_without_the_aws_cli(directory_node: Node, tmp_path: Path):
    """No aws CLI on the node is not something a later run fixes: the step fails at once (no retries, no
    deferral), naming the parameter; nothing is installed or removed."""
    # What bash does when the command is not on PATH (exit 127), whatever this machine has installed.
    directory_node.stub("aws", '#!/bin/sh\necho "aws: command not found" >&2\nexit 127\n')
    result = _run_directory_step(directory_node, tmp_path)
    assert result.returncode != 0, result.stdout
    assert f"cannot read the directory parameter {PARAMETER} (aws exit 127)" in result.stdout
    assert "FAILED: step 50-directory" in result.stdout
    assert "deferred" not in result.stdout and "attempt 1/5" not in result.stdout
    assert (tmp_path / "packages").read_text() == "ec2-instance-connect\n"


def test_directory_step_fails_on_an_aws_validation_error(directory_node: Node, tmp_path: Path):
    """An AWS error that a later run would get again (a ValidationException: the request itself is invalid) is a
    failure after one attempt, not a deferral."""
    result = _run_directory_step(directory_node, tmp_path, AWS_STUB_FAIL="ValidationException")
    assert result.returncode != 0, result.stdout
    assert f"cannot read the directory bind password {SECRET_ID} (aws exit 254)" in result.stdout
    assert "ValidationException" in result.stdout and "deferred" not in result.stdout
    assert [c[:3] for c in directory_node.calls() if c[0] == "aws"][1:] == [
        ["aws", "secretsmanager", "get-secret-value"]
    ]
    assert (tmp_path / "packages").read_text() == "ec2-instance-connect\n"


@pytest.mark.parametrize("region", ["us east 1", "us-east-1; true", "US-EAST-1"])
def test_directory_step_refuses_a_malformed_region(directory_node: Node, tmp_path: Path, region: str):
    """A malformed platform.json region is an error naming it, before any AWS call."""
    directory_node.set_platform({**platform(fsx=None), "region": region, "directory": DIRECTORY})
    result = _run_directory_step(directory_node, tmp_path)
    assert result.returncode != 0, result.stdout
    assert f"platform.json region {region!r} is not an AWS region name" in result.stdout
    assert [c for c in directory_node.calls() if c[0] == "aws"] == []


@pytest.mark.parametrize(
    "status, error, deferred",
    [
        (255, "ldap_result: Can't contact LDAP server (-1)", True),
        (51, "ldap_search_ext: Server is busy (51)", True),
        (52, "ldap_search_ext: Server is unavailable (52)", True),
        (32, f"No such object (32)\\n\\tmatched DN: {USERS_OU}", False),
    ],
)
def test_group_lookup_after_the_bind_defers_on_connection_errors(
    directory_node: Node, tmp_path: Path, status: int, error: str, deferred: bool
):
    """Right after a good bind, a group look-up that cannot reach the server is transient: retried, then a
    deferral (exit 0); a definite "no such object" fails naming the group, at once. Either way nothing is
    installed and ec2-instance-connect stays."""
    (tmp_path / "packages").write_text("\n".join(["ec2-instance-connect", *DIRECTORY_PACKAGES]) + "\n")
    result = _run_directory_step(directory_node, tmp_path, LDAP_GROUP_STATUS=str(status), LDAP_GROUP_ERROR=error)
    lookups = [c for c in directory_node.calls() if c[0] == "ldapsearch" and "sAMAccountName" in c]
    if deferred:
        assert_ok(result)
        assert "deferred: the directory at ldaps://ldaps.corp.example.com stopped answering while looking up " in (
            result.stdout
        )
        assert len(lookups) == 5
    else:
        assert result.returncode != 0, result.stdout
        assert (
            f"group_dns.ClusterAdmin: CN=ClusterAdmin,{USERS_OU} not found in the directory: No such object (32)"
            in (result.stdout)
        )
        assert "deferred" not in result.stdout and len(lookups) == 1
    assert "removed ec2-instance-connect" not in result.stdout
    assert not (directory_node.root / "etc" / "sssd").exists()
    assert "ec2-instance-connect" in (tmp_path / "packages").read_text().split()
