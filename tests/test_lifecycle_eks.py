"""EKS node lifecycle script (lifecycle_eks/): run the real ``bash on_create.sh`` against a scratch root.

Each test copies lifecycle_eks/ into a bundle directory (as HyperPod downloads it from S3) and runs the entry
point with ``HP_ROOT`` pointing at a fake host root as the EKS AMI leaves it: containerd's config template
/etc/eks/containerd/containerd-config.toml, containerd's unit, /var/lib/containerd, /var/lib/kubelet, and a
/proc/mounts with or without the extra EBS volume at /opt/sagemaker. ``systemctl`` (and, where a test needs it,
``sleep`` or ``mv``) are stubs first on PATH that log their argv outside the root.

What the step must do is what AWS's sample OnCreate does (aws/sagemaker-hyperpod-cluster-setup,
eks/cloudformation/resources/lifecycle-script/base-config/on_create.sh): set
``root = "/opt/sagemaker/containerd/data-root"`` in that config file, and nothing else.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from hyperpod_platform.hyperpod_cluster import EKS_ENTRYPOINT
from hyperpod_platform.lifecycle_bucket import LIFECYCLE_EKS_DIR

ROOT = Path(__file__).resolve().parent.parent
LIFECYCLE_EKS = ROOT / "hyperpod_platform" / "lifecycle_eks"

VOLUME_MOUNT = "/dev/nvme1n1 /opt/sagemaker ext4 rw,relatime 0 0"
ROOT_MOUNT = "/dev/nvme0n1p1 / xfs rw,noatime 0 0"
LOG = "var/log/provision/provisioning.log"
CONFIG = "etc/eks/containerd/containerd-config.toml"
DATA_ROOT = "opt/sagemaker/containerd/data-root"
ROOT_LINE = 'root = "/opt/sagemaker/containerd/data-root"'
UNIT = "usr/lib/systemd/system/containerd.service"
# The EKS AL2 AMI's containerd config template, in its shape: top-level keys, then tables (bootstrap.sh fills
# in SANDBOX_IMAGE and copies it to /etc/containerd/config.toml when the node joins).
AMI_CONFIG = """version = 2
root = "/var/lib/containerd"
state = "/run/containerd"
# Users can use the following import directory to add additional
# configuration to containerd.
imports = ["/etc/containerd/config.d/*.toml"]

[grpc]
address = "/run/containerd/containerd.sock"

[plugins."io.containerd.grpc.v1.cri"]
sandbox_image = "SANDBOX_IMAGE"

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
SystemdCgroup = true
"""
AMI_UNIT = """[Unit]
Description=containerd container runtime
After=network.target local-fs.target

[Service]
ExecStartPre=-/sbin/modprobe overlay
ExecStart=/usr/bin/containerd
Restart=always
"""

# systemctl: logs its argv (the step must never call it). Otherwise it answers as systemd would on this node:
# nothing runs yet (HyperPod starts containerd and kubelet when it joins the node), and `show -p ExecStart`
# prints the unit's ExecStart as systemd formats it.
SYSTEMCTL_STUB = f"""#!/usr/bin/env bash
printf '%s\\n' "systemctl $*" >>"${{STUB_CALLS}}"
case "$1" in
  is-active) exit 3 ;;
  show)
    cmd="$(sed -n 's/^ExecStart=//p' "${{HP_ROOT}}/{UNIT}")"
    printf '{{ path=%s ; argv[]=%s ; ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }}\\n' "${{cmd%% *}}" "$cmd"
    ;;
esac
"""
# sleep: HyperPod mounts the volume while the script waits (no real waiting).
MOUNTING_SLEEP_STUB = f"""#!/usr/bin/env bash
printf '%s\\n' "sleep $*" >>"${{STUB_CALLS}}"
printf '%s\\n' "{VOLUME_MOUNT}" >>"${{HP_ROOT}}/proc/mounts"
"""
FAILING_MV_STUB = """#!/usr/bin/env bash
printf '%s\\n' "mv $*" >>"${STUB_CALLS}"
echo "mv: cannot move '${*: -2:1}': Read-only file system" >&2
exit 1
"""


def snapshot(root: Path) -> dict[str, tuple]:
    """Every path under ``root`` -> (kind, mode, uid, gid, sha256 of a file's content or a link's target)."""
    result = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        if path.is_symlink():
            kind, content = "link", os.readlink(path)
        elif path.is_dir():
            kind, content = "dir", None
        else:
            kind, content = "file", hashlib.sha256(path.read_bytes()).hexdigest()
        result[path.relative_to(root).as_posix()] = (kind, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, content)
    return result


def without_log(snap: dict[str, tuple]) -> dict[str, tuple]:
    """The provisioning log (and its directories) is written on every run by design."""
    return {path: v for path, v in snap.items() if path not in (LOG, "var/log/provision", "var/log")}


def changed(before: dict[str, tuple], after: dict[str, tuple]) -> set[str]:
    """Paths added, removed or changed between two snapshots, the log left out."""
    before, after = without_log(before), without_log(after)
    return {path for path in before.keys() | after.keys() if before.get(path) != after.get(path)}


@dataclass
class EksNode:
    """A stubbed EKS node: the lifecycle bundle, a fake host root and stub commands."""

    bundle: Path
    root: Path
    bin_dir: Path
    calls_log: Path

    def stub(self, name: str, body: str) -> None:
        path = self.bin_dir / name
        path.write_text(body, encoding="utf-8")
        path.chmod(0o755)

    def attach_volume(self) -> None:
        with (self.root / "proc/mounts").open("a", encoding="utf-8") as mounts:
            mounts.write(VOLUME_MOUNT + "\n")

    def config(self) -> str:
        return (self.root / CONFIG).read_text(encoding="utf-8")

    def run(self, **env: str) -> subprocess.CompletedProcess:
        """Run the entry point as HyperPod does (``bash on_create.sh``); stderr merged into stdout."""
        base = {k: v for k, v in os.environ.items() if not k.startswith(("HP_", "STUB_"))}
        base.update(
            PATH=f"{self.bin_dir}{os.pathsep}{os.environ['PATH']}",
            HP_ROOT=str(self.root),
            HP_VOLUME_WAIT_SECONDS="0",
            HP_FAILURE_LOG_GRACE_SECONDS="0",
            STUB_CALLS=str(self.calls_log),
        )
        base.update(env)
        return subprocess.run(
            ["bash", str(self.bundle / EKS_ENTRYPOINT)],
            env=base,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            check=False,
        )

    def calls(self) -> list[list[str]]:
        if not self.calls_log.exists():
            return []
        return [shlex.split(line) for line in self.calls_log.read_text(encoding="utf-8").splitlines()]

    def log(self) -> str:
        return (self.root / LOG).read_text(encoding="utf-8")


@pytest.fixture
def node(tmp_path: Path) -> EksNode:
    """A fresh node as the AMI leaves it: containerd's config template and unit, containerd's root with a
    preloaded image store, a kubelet directory, an empty /opt/sagemaker mount point, nothing mounted there."""
    bundle = tmp_path / "bundle"
    shutil.copytree(LIFECYCLE_EKS, bundle, ignore=shutil.ignore_patterns("__pycache__"))
    root = tmp_path / "root"
    (root / CONFIG).parent.mkdir(parents=True)
    (root / CONFIG).write_text(AMI_CONFIG, encoding="utf-8")
    (root / CONFIG).chmod(0o644)
    (root / UNIT).parent.mkdir(parents=True)
    (root / UNIT).write_text(AMI_UNIT, encoding="utf-8")
    containerd = root / "var/lib/containerd"
    (containerd / "io.containerd.metadata.v1.bolt").mkdir(parents=True)
    (containerd / "io.containerd.metadata.v1.bolt/meta.db").write_bytes(b"preloaded pause image\x00")
    containerd.chmod(0o711)
    kubelet = root / "var/lib/kubelet"
    kubelet.mkdir()
    (kubelet / "kubeconfig").write_text("apiVersion: v1\n", encoding="utf-8")
    (kubelet / "kubeconfig").chmod(0o600)
    (root / "opt/sagemaker").mkdir(parents=True)
    (root / "proc").mkdir()
    (root / "proc/mounts").write_text(ROOT_MOUNT + "\n", encoding="utf-8")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    n = EksNode(bundle=bundle, root=root, bin_dir=bin_dir, calls_log=tmp_path / "calls.log")
    n.stub("systemctl", SYSTEMCTL_STUB)
    return n


def assert_ok(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, f"exit {result.returncode}; output:\n{result.stdout}"


def assert_nothing_else_touched(node: EksNode, before: dict[str, tuple]) -> None:
    """containerd's unit and kubelet's directory are as the AMI left them, no systemd drop-in exists, and
    systemctl was never called."""
    after = snapshot(node.root)
    assert after[UNIT] == before[UNIT]
    assert "ExecStart=/usr/bin/containerd\n" in (node.root / UNIT).read_text(encoding="utf-8")
    assert not [p for p in after if p.startswith("etc/systemd/")], "a systemd unit or drop-in was written"
    kubelet = node.root / "var/lib/kubelet"
    assert kubelet.is_dir() and not kubelet.is_symlink()
    assert {p: v for p, v in after.items() if p.startswith("var/lib/")} == {
        p: v for p, v in before.items() if p.startswith("var/lib/")
    }
    assert not (node.root / "opt/sagemaker/kubelet").exists()
    assert [c for c in node.calls() if c[0] == "systemctl"] == []


# --- static checks ---------------------------------------------------------------------------------


def eks_scripts() -> list[Path]:
    return sorted(LIFECYCLE_EKS.rglob("*.sh"))


def test_shellcheck_is_clean():
    """shellcheck (with the repo's .shellcheckrc) reports nothing on any EKS lifecycle script."""
    scripts = [str(p.relative_to(ROOT)) for p in eks_scripts()]
    assert len(scripts) >= 3, scripts
    result = subprocess.run(["shellcheck", *scripts], cwd=ROOT, text=True, capture_output=True, check=False)
    assert result.returncode == 0, f"shellcheck failed:\n{result.stdout}{result.stderr}"


def test_scripts_are_executable_and_start_with_strict_mode():
    """The entry point and every step are executable bash scripts whose first command is
    ``set -euo pipefail``; the sourced library is neither."""
    runnable = [LIFECYCLE_EKS / EKS_ENTRYPOINT, *sorted((LIFECYCLE_EKS / "steps").glob("*.sh"))]
    assert len(runnable) >= 2
    for path in runnable:
        lines = path.read_text(encoding="utf-8").splitlines()
        assert lines[0] == "#!/usr/bin/env bash", path
        first_command = next(line.strip() for line in lines[1:] if line.strip() and not line.startswith("#"))
        assert first_command == "set -euo pipefail", f"{path.relative_to(ROOT)} starts with {first_command!r}"
        assert os.access(path, os.X_OK), f"{path.relative_to(ROOT)} is not executable"


def test_bundle_constant_holds_the_eks_entrypoint():
    """LifecycleBucket's LIFECYCLE_EKS_DIR is this directory, and it holds the script HyperPodCluster names as
    OnCreate for an EKS-orchestrated cluster."""
    assert LIFECYCLE_EKS_DIR == LIFECYCLE_EKS
    assert (LIFECYCLE_EKS_DIR / EKS_ENTRYPOINT).is_file()


# --- runs ------------------------------------------------------------------------------------------


def test_with_the_volume_containerds_root_is_set_in_its_config_and_a_second_run_changes_nothing(node: EksNode):
    """The first run replaces the config's root line with the data root on the volume (every other line, the
    mode and owner kept) and creates that directory; nothing else on the node changes. The second run changes
    nothing."""
    node.attach_volume()
    before = snapshot(node.root)
    first = node.run()
    assert_ok(first)
    assert node.config() == AMI_CONFIG.replace('root = "/var/lib/containerd"', ROOT_LINE)
    config = (node.root / CONFIG).stat()
    assert (stat.S_IMODE(config.st_mode), config.st_uid, config.st_gid) == (0o644, 0, 0)
    data_root = node.root / DATA_ROOT
    assert data_root.is_dir() and stat.S_IMODE(data_root.stat().st_mode) == 0o711
    assert changed(before, snapshot(node.root)) == {CONFIG, "opt/sagemaker/containerd", DATA_ROOT}
    assert_nothing_else_touched(node, before)
    log = node.log()
    assert "[start] on_create.sh" in log and "all steps done" in log
    assert f"containerd keeps its data in /{DATA_ROOT} (/{CONFIG}: {ROOT_LINE})" in log
    assert "[start] on_create.sh" in first.stdout, "the log also goes to stdout"

    after_first = snapshot(node.root)
    second = node.run()
    assert_ok(second)
    assert changed(after_first, snapshot(node.root)) == set()
    assert f"containerd already keeps its data in /{DATA_ROOT}" in second.stdout
    assert node.log().count("all steps done") == 2


def test_containerds_unit_and_kubelets_directory_are_left_as_the_ami_made_them(node: EksNode):
    """With the volume, even while containerd and kubelet could be stopped and started: no drop-in replaces
    containerd's ExecStart, /var/lib/kubelet stays a directory (no link to the volume), nothing is copied from
    /var/lib, and systemctl is not called."""
    node.attach_volume()
    before = snapshot(node.root)
    assert_ok(node.run())
    assert_nothing_else_touched(node, before)


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        # a commented root line becomes the root line, as in the sample's edit
        ('version = 2\n# root = "/var/lib/containerd"\n\n[grpc]\n', f"version = 2\n{ROOT_LINE}\n\n[grpc]\n"),
        # a commented and an active one: one root line (TOML refuses a key given twice)
        (
            '#root = "/data"\nroot = "/var/lib/containerd"\nstate = "/run/containerd"\n',
            f'{ROOT_LINE}\nstate = "/run/containerd"\n',
        ),
        # no root line: one among the top-level keys, before the first table
        (
            'version = 2\n\n[grpc]\naddress = "/run/x.sock"\n',
            f'version = 2\n\n{ROOT_LINE}\n[grpc]\naddress = "/run/x.sock"\n',
        ),
        # a root key of a table is the table's, not containerd's
        (
            'version = 2\n[plugins.example]\n  root = "/x"\n',
            f'version = 2\n{ROOT_LINE}\n[plugins.example]\n  root = "/x"\n',
        ),
        # no table at all: at the end
        ("version = 2\n", f"version = 2\n{ROOT_LINE}\n"),
    ],
    ids=["commented", "commented-and-active", "none", "table-root", "no-table"],
)
def test_the_root_line_is_set_once_among_the_top_level_keys(node: EksNode, config: str, expected: str):
    node.attach_volume()
    (node.root / CONFIG).write_text(config, encoding="utf-8")
    assert_ok(node.run())
    assert node.config() == expected
    once = snapshot(node.root)
    assert_ok(node.run())
    assert changed(once, snapshot(node.root)) == set()


def test_a_config_already_on_the_volume_is_left_as_it_is(node: EksNode):
    """An AMI (or a rerun) whose config already names the data root: no write, only the directory made."""
    node.attach_volume()
    (node.root / CONFIG).write_text(AMI_CONFIG.replace('root = "/var/lib/containerd"', ROOT_LINE), encoding="utf-8")
    before = snapshot(node.root)
    result = node.run()
    assert_ok(result)
    assert changed(before, snapshot(node.root)) == {"opt/sagemaker/containerd", DATA_ROOT}
    assert f"containerd already keeps its data in /{DATA_ROOT}" in result.stdout


def test_without_the_volume_nothing_changes(node: EksNode):
    """A group without the extra EBS volume: the config, the unit and kubelet stay; only the log grows."""
    before = snapshot(node.root)
    result = node.run()
    assert_ok(result)
    assert "nothing mounted at /opt/sagemaker after 0 s" in result.stdout
    assert without_log(snapshot(node.root)) == before
    assert node.calls() == []
    assert "all steps done" in node.log()


def test_volume_below_another_mount_point_is_not_the_volume(node: EksNode):
    """Only a mount exactly at /opt/sagemaker counts (not, say, /opt/sagemaker-old)."""
    with (node.root / "proc/mounts").open("a", encoding="utf-8") as mounts:
        mounts.write("/dev/nvme2n1 /opt/sagemaker-old ext4 rw 0 0\n")
    before = snapshot(node.root)
    assert_ok(node.run())
    assert without_log(snapshot(node.root)) == before
    assert node.calls() == []


def test_waits_for_the_volume_to_be_mounted(node: EksNode):
    """The volume may be mounted after OnCreate starts: the step polls until the wait runs out."""
    node.stub("sleep", MOUNTING_SLEEP_STUB)
    before = snapshot(node.root)
    result = node.run(HP_VOLUME_WAIT_SECONDS="60")
    assert_ok(result)
    assert "waiting for /opt/sagemaker to be mounted (0 of 60 s)" in result.stdout
    assert [c for c in node.calls() if c[0] == "sleep"] == [["sleep", "5"]]
    assert ROOT_LINE in node.config().splitlines()
    assert_nothing_else_touched(node, before)


def test_an_ami_without_the_config_template_keeps_its_defaults(node: EksNode):
    """No /etc/eks/containerd/containerd-config.toml (an AMI that does not use it): logged, nothing changes,
    the node is not failed (as in the sample)."""
    node.attach_volume()
    (node.root / CONFIG).unlink()
    before = snapshot(node.root)
    result = node.run()
    assert_ok(result)
    assert f"WARNING: /{CONFIG} not found" in result.stdout
    assert without_log(snapshot(node.root)) == without_log(before)
    assert "all steps done" in node.log()


def test_a_failing_write_is_logged_fails_the_run_and_leaves_the_config(node: EksNode):
    """The new config cannot be put in place (here a read-only file system): the run fails naming the file,
    on stdout (HyperPod's log) and in the provisioning log, and the config is as it was."""
    node.attach_volume()
    node.stub("mv", FAILING_MV_STUB)
    result = node.run()
    assert result.returncode != 0, result.stdout
    message = f"ERROR: cannot install /{CONFIG}"
    assert message in result.stdout and message in node.log()
    assert "FAILED: step 10-data-volume" in result.stdout and "FAILED: step 10-data-volume" in node.log()
    assert "all steps done" not in node.log()
    assert node.config() == AMI_CONFIG
    assert [p.name for p in (node.root / CONFIG).parent.iterdir()] == ["containerd-config.toml"]


# --- packaging -------------------------------------------------------------------------------------


def test_wheel_installs_the_eks_scripts(tmp_path: Path):
    """`pip install --no-deps --target T <repo>` puts every file of lifecycle_eks/ in T, the runnable ones
    executable, so LifecycleBucket can upload them from an installed package."""
    target = tmp_path / "site"
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert pip.returncode == 0, pip.stderr
    installed = target / "hyperpod_platform" / "lifecycle_eks"
    expected = sorted(
        p.relative_to(LIFECYCLE_EKS).as_posix()
        for p in LIFECYCLE_EKS.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )
    assert sorted(p.relative_to(installed).as_posix() for p in installed.rglob("*") if p.is_file()) == expected
    for rel in expected:
        assert (installed / rel).read_bytes() == (LIFECYCLE_EKS / rel).read_bytes(), rel
    assert os.access(installed / EKS_ENTRYPOINT, os.X_OK), "on_create.sh lost its executable bit"
    assert all(os.access(p, os.X_OK) for p in (installed / "steps").glob("*.sh"))
