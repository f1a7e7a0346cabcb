"""Node lifecycle scripts (lifecycle/): run the real bash entry point against a scratch root.

Each test copies lifecycle/ into a bundle directory (as HyperPod downloads it from S3), renders a
platform.json next to it, and runs ``bash on_init_complete.sh`` with ``HP_ROOT`` pointing at a fake
host root. ``systemctl`` and ``mount`` are stubs on PATH that log their argv; the ``mount`` stub also
records the mount in ``${HP_ROOT}/proc/mounts`` the way the kernel would.
"""
from __future__ import annotations

import datetime
import hashlib
import json
import os
import shlex
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ROOT = Path(__file__).resolve().parent.parent
LIFECYCLE = ROOT / "lifecycle"

DNS = "fs-0123456789abcdef0.fsx.us-east-1.amazonaws.com"
MOUNT_NAME = "abcdefgh"
MOUNT_PATH = "/fsx"
DEVICE = f"{DNS}@tcp:/{MOUNT_NAME}"
UNRELATED_FSTAB = "UUID=1111-2222 /boot/efi vfat umask=0077 0 1"
LOG_DIR = "var/log/hyperpod-platform"

CONTROLLER_IP, LOGIN_IP, GPU_IP, GPU2_IP = "10.1.0.10", "10.1.0.20", "10.1.1.30", "10.1.1.31"
FSX = {"dns_name": DNS, "mount_name": MOUNT_NAME, "mount_path": MOUNT_PATH}
GROUPS = {"controller": "controller", "login": "login", "gpu": "compute"}
RESOURCE_CONFIG = {"InstanceGroups": [
    {"Name": "controller", "Instances": [
        {"CustomerIpAddress": CONTROLLER_IP, "InstanceId": "i-1", "InstanceName": "controller-1"}]},
    {"Name": "login", "Instances": [
        {"CustomerIpAddress": LOGIN_IP, "InstanceId": "i-2", "InstanceName": "login-1"}]},
    {"Name": "gpu", "Instances": [
        {"CustomerIpAddress": GPU_IP, "InstanceId": "i-3", "InstanceName": "gpu-1"},
        {"CustomerIpAddress": GPU2_IP, "InstanceId": "i-4", "InstanceName": "gpu-2"}]},
]}

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
    """A platform.json as __main__.py renders it (``fsx`` is null when FSx is disabled)."""
    return {"cluster_name": "hp-dev", "region": "us-east-1", "fsx": fsx, "groups": GROUPS}


def snapshot(root: Path) -> dict[str, tuple]:
    """Every path under ``root`` -> (kind, mode, uid, gid, sha256 of content for files)."""
    result = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
        kind = "dir" if path.is_dir() else "file" if path.is_file() else "other"
        result[path.relative_to(root).as_posix()] = (kind, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid,
                                                     digest)
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
        base.update(PATH=f"{self.bin_dir}{os.pathsep}{os.environ['PATH']}", HP_ROOT=str(self.root),
                    HP_NODE_IP=ip, STUB_CALLS=str(self.calls_log), **env)
        return subprocess.run(["bash", str(self.bundle / "on_init_complete.sh")], env=base, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, umask=umask, timeout=120,
                              check=False)

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
    assert {p.name for p in scripts} >= {"on_init_complete.sh", "10-logging.sh", "20-fsx-mount.sh",
                                         "30-home-dirs.sh"}
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
        return subprocess.run(["python3", str(LIFECYCLE / "lib/node_info.py"), str(platform_path),
                               str(resource_path), *ips], text=True, capture_output=True, check=False)

    return run


@pytest.mark.parametrize("ips, expected", [
    ([CONTROLLER_IP], "controller controller"),
    ([LOGIN_IP], "login login"),
    ([GPU2_IP], "gpu compute"),
    (["172.17.0.1", GPU_IP], "gpu compute"),  # any of the node's addresses (e.g. a docker bridge first)
])
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
    script = (f'set -euo pipefail; HP_ROOT=""; source {LIFECYCLE}/lib/common.sh; '
              f'if write_if_changed {blocker}/sub/file 0644 <<<x; then echo WROTE; fi; echo AFTER')
    proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True)
    assert proc.returncode != 0
    assert "WROTE" not in proc.stdout and "AFTER" not in proc.stdout
    assert "cannot" in proc.stderr


# --- directory step: packages (the Samba end-to-end test runs on a node that has them) ---------------------

DIRECTORY_PACKAGES = ["sssd", "sssd-ldap", "sssd-tools", "libnss-sss", "libpam-sss", "ldap-utils"]
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
DENYING_AWS_STUB = """#!/usr/bin/env bash
printf '%s\\n' "aws $*" >>"${STUB_CALLS}"
echo "An error occurred (AccessDeniedException) when calling the GetSecretValue operation: denied" >&2
exit 254
"""


@pytest.fixture
def directory_node(node: Node, tmp_path: Path) -> Node:
    """A compute node of a stack with a directory, missing the SSSD packages, with ec2-instance-connect."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test LDAPS CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    ca = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
          .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(key, hashes.SHA256()))
    (node.bundle / "generated").mkdir(exist_ok=True)
    (node.bundle / "generated" / "ldaps-ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    base = "OU=Users,OU=CORP,DC=corp,DC=example,DC=com"
    node.set_platform({**platform(fsx=None), "directory": {
        "domain": "corp.example.com", "ldaps_uri": "ldaps://ldaps.corp.example.com", "search_base": "DC=corp,DC=example,DC=com",
        "bind_dn": f"CN=ReadOnly,{base}", "bind_secret_id": "arn:aws:secretsmanager:us-east-1:123456789012:secret:bind-AbCdEf",
        "ca_cert": "generated/ldaps-ca.pem", "allowed_groups": {"ClusterAdmin": f"CN=ClusterAdmin,{base}"},
        "sudo_groups": ["ClusterAdmin"], "local_groups": ["ubuntu"], "home_dir": "/home/%u",
        "default_shell": "/bin/bash"}})
    (node.root / "bin").mkdir()
    shutil.copy2("/bin/bash", node.root / "bin" / "bash")
    (tmp_path / "packages").write_text("ec2-instance-connect\n", encoding="utf-8")
    node.stub("dpkg-query", DPKG_QUERY_STUB)
    node.stub("apt-get", APT_GET_STUB)
    node.stub("aws", DENYING_AWS_STUB)
    return node


def _run_directory_step(node: Node, tmp_path: Path, failures: int) -> subprocess.CompletedProcess:
    return node.run(PKG_STATE=str(tmp_path / "packages"), APT_COUNT=str(tmp_path / "apt-count"),
                    APT_FAILURES=str(failures), HP_RETRY_DELAY="0")


def test_directory_step_installs_packages_with_retries(directory_node: Node, tmp_path: Path):
    """Missing SSSD packages are installed after two failed attempts (package lists refreshed each time),
    ec2-instance-connect is removed, and only then is the bind secret read; here it is denied, so the step
    fails naming the secret and the AWS error, and writes no SSSD file."""
    result = _run_directory_step(directory_node, tmp_path, failures=2)
    assert result.returncode != 0, result.stdout
    apt = [c for c in directory_node.calls() if c[0] == "apt-get"]
    lock = ["-o", "DPkg::Lock::Timeout=600"]  # waits for unattended-upgrades instead of failing at once
    install = ["apt-get", *lock, "-y", "-qq", "install", "--no-install-recommends", *DIRECTORY_PACKAGES]
    assert apt == [["apt-get", *lock, "update", "-qq"], install] * 3 + [
        ["apt-get", *lock, "-y", "-qq", "remove", "ec2-instance-connect"]]
    assert "failed (attempt 1/3)" in result.stdout and "failed (attempt 2/3)" in result.stdout
    assert "Could not get lock" in result.stdout
    assert "removed ec2-instance-connect" in result.stdout
    # its systemd drop-in for ssh goes with it only after a daemon-reload
    assert [c for c in directory_node.calls() if c[0] == "systemctl"] == [["systemctl", "daemon-reload"]]
    assert sorted((tmp_path / "packages").read_text().split()) == sorted(DIRECTORY_PACKAGES)
    assert [c[:3] for c in directory_node.calls() if c[0] == "aws"] == [["aws", "secretsmanager", "get-secret-value"]]
    assert "cannot read the directory bind password arn:aws:secretsmanager:us-east-1:123456789012:secret:bind-AbCdEf" \
        in result.stdout and "AccessDeniedException" in result.stdout
    assert "FAILED: step 50-directory" in result.stdout
    assert not (directory_node.root / "etc" / "sssd").exists()


def test_directory_step_gives_up_after_three_failed_installs(directory_node: Node, tmp_path: Path):
    """Three failed installs: the step fails saying so, and never asks for the bind password."""
    result = _run_directory_step(directory_node, tmp_path, failures=3)
    assert result.returncode != 0
    assert f"could not install {' '.join(DIRECTORY_PACKAGES)} after 3 attempts" in result.stdout
    assert [c for c in directory_node.calls() if c[0] == "aws"] == []
    assert "ec2-instance-connect" in (tmp_path / "packages").read_text()


PASSWORD_AWS_STUB = """#!/usr/bin/env bash
printf '%s\\n' "aws $*" >>"${STUB_CALLS}"
echo 'Old-Bind-Password-1'
"""
# ldapsearch as it fails against AD when the bind user's password has expired (sub-code 532).
EXPIRED_LDAPSEARCH_STUB = """#!/usr/bin/env bash
printf '%s\\n' "ldapsearch $*" >>"${STUB_CALLS}"
echo "ldap_bind: Invalid credentials (49)" >&2
echo "	additional info: 80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 532, v4563" >&2
exit 49
"""


def test_directory_step_says_when_the_bind_password_expired(directory_node: Node, tmp_path: Path):
    """An expired bind password (AD's data 532) is named as such, with how to rotate it, and nothing is
    written; the password itself never shows."""
    (tmp_path / "packages").write_text("\n".join(DIRECTORY_PACKAGES) + "\n", encoding="utf-8")
    directory_node.stub("aws", PASSWORD_AWS_STUB)
    directory_node.stub("ldapsearch", EXPIRED_LDAPSEARCH_STUB)
    result = _run_directory_step(directory_node, tmp_path, failures=0)
    assert result.returncode != 0
    assert "cannot bind to ldaps://ldaps.corp.example.com as CN=ReadOnly" in result.stdout
    assert "Invalid credentials (49)" in result.stdout
    assert "password has expired or must be changed" in result.stdout and "directory.bindPasswordVersion" in result.stdout
    assert "Old-Bind-Password-1" not in result.stdout
    assert not [c for c in directory_node.calls() if c[0] in ("apt-get", "systemctl")]
    ldap = [c for c in directory_node.calls() if c[0] == "ldapsearch"]
    assert len(ldap) == 1 and "-y" in ldap[0] and "Old-Bind-Password-1" not in " ".join(ldap[0])
    assert not (directory_node.root / "etc" / "sssd").exists()
