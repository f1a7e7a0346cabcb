"""EKS node lifecycle script (lifecycle_eks/): run the real ``bash on_create.sh`` against a scratch root.

Each test copies lifecycle_eks/ into a bundle directory (as HyperPod downloads it from S3) and runs the entry
point with ``HP_ROOT`` pointing at a fake host root that has /var/lib/containerd, /var/lib/kubelet and a
/proc/mounts with or without the extra EBS volume at /opt/sagemaker. ``systemctl`` (and, where a test needs
it, ``sleep`` or ``cp``) are stubs first on PATH that log their argv outside the root.
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
DROP_IN = "etc/systemd/system/containerd.service.d/90-hyperpod-platform-data-root.conf"
DATA_ROOT = "opt/sagemaker/containerd/data-root"
KUBELET_DIR = "opt/sagemaker/kubelet"
PLAIN_EXEC_START = (
    "{ path=/usr/bin/containerd ; argv[]=/usr/bin/containerd ; ignore_errors=no ; start_time=[n/a] ; "
    "stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }"
)

# systemctl: logs its argv; `is-active UNIT` succeeds for the units in $STUB_ACTIVE; `show` prints
# $STUB_EXEC_START as `systemctl show -p ExecStart --value` does; the verbs in $STUB_FAIL fail.
SYSTEMCTL_STUB = """#!/usr/bin/env bash
printf '%s\\n' "systemctl $*" >>"${STUB_CALLS}"
if [[ " ${STUB_FAIL:-} " == *" $1 "* ]]; then
  echo "Failed to $1 ${*: -1}: Unit failed (stub)." >&2
  exit 1
fi
case "$1" in
  is-active) [[ " ${STUB_ACTIVE:-} " == *" ${*: -1} "* ]] ;;
  show) printf '%s\\n' "${STUB_EXEC_START}" ;;
esac
"""
# sleep: HyperPod mounts the volume while the script waits (no real waiting).
MOUNTING_SLEEP_STUB = f"""#!/usr/bin/env bash
printf '%s\\n' "sleep $*" >>"${{STUB_CALLS}}"
printf '%s\\n' "{VOLUME_MOUNT}" >>"${{HP_ROOT}}/proc/mounts"
"""
FAILING_CP_STUB = """#!/usr/bin/env bash
printf '%s\\n' "cp $*" >>"${STUB_CALLS}"
echo "cp: error writing '${*: -1}': No space left on device" >&2
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

    def run(self, **env: str) -> subprocess.CompletedProcess:
        """Run the entry point as HyperPod does (``bash on_create.sh``); stderr merged into stdout."""
        base = {k: v for k, v in os.environ.items() if not k.startswith(("HP_", "STUB_"))}
        base.update(
            PATH=f"{self.bin_dir}{os.pathsep}{os.environ['PATH']}",
            HP_ROOT=str(self.root),
            HP_VOLUME_WAIT_SECONDS="0",
            HP_FAILURE_LOG_GRACE_SECONDS="0",
            STUB_CALLS=str(self.calls_log),
            STUB_EXEC_START=PLAIN_EXEC_START,
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

    def systemctl(self) -> list[list[str]]:
        """systemctl invocations so far, without the word ``systemctl``."""
        return [c[1:] for c in self.calls() if c[0] == "systemctl"]

    def log(self) -> str:
        return (self.root / LOG).read_text(encoding="utf-8")


@pytest.fixture
def node(tmp_path: Path) -> EksNode:
    """A fresh node as the AMI leaves it: containerd's root with a preloaded image store, a kubelet directory,
    an empty /opt/sagemaker mount point, nothing mounted there, containerd and kubelet stopped."""
    bundle = tmp_path / "bundle"
    shutil.copytree(LIFECYCLE_EKS, bundle, ignore=shutil.ignore_patterns("__pycache__"))
    root = tmp_path / "root"
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


def assert_on_volume(node: EksNode) -> None:
    """containerd runs with --root on the volume, holding a copy of the AMI's store; kubelet's directory is a
    link to the volume holding what was in /var/lib/kubelet."""
    drop_in = node.root / DROP_IN
    lines = drop_in.read_text(encoding="utf-8").splitlines()
    assert [line for line in lines if line and not line.startswith("#")] == [
        "[Unit]",
        "RequiresMountsFor=/opt/sagemaker",
        "[Service]",
        "ExecStart=",
        "ExecStart=/usr/bin/containerd --root /opt/sagemaker/containerd/data-root",
    ]
    assert stat.S_IMODE(drop_in.stat().st_mode) == 0o644
    assert (drop_in.stat().st_uid, drop_in.stat().st_gid) == (0, 0)

    data_root = node.root / DATA_ROOT
    assert stat.S_IMODE(data_root.stat().st_mode) == 0o711
    assert (data_root / "io.containerd.metadata.v1.bolt/meta.db").read_bytes() == b"preloaded pause image\x00"
    assert not (node.root / (DATA_ROOT + ".partial")).exists()

    link = node.root / "var/lib/kubelet"
    assert link.is_symlink() and os.readlink(link) == "/opt/sagemaker/kubelet"
    kubeconfig = node.root / KUBELET_DIR / "kubeconfig"
    assert kubeconfig.read_text(encoding="utf-8") == "apiVersion: v1\n"
    assert stat.S_IMODE(kubeconfig.stat().st_mode) == 0o600


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


def test_volume_first_run_then_second_run_changes_nothing(node: EksNode):
    """With the volume mounted and the services stopped (HyperPod starts them when it joins the node), the first
    run moves containerd's and kubelet's data and reloads systemd without starting anything; the second run
    changes no file and calls no systemctl."""
    node.attach_volume()
    first = node.run()
    assert_ok(first)
    assert_on_volume(node)
    assert node.systemctl() == [
        ["show", "containerd.service", "--property=ExecStart", "--value"],
        ["is-active", "--quiet", "containerd.service"],
        ["daemon-reload"],
        ["is-active", "--quiet", "kubelet.service"],
    ]
    log = node.log()
    assert "[start] on_create.sh" in log and "all steps done" in log
    assert "copied /var/lib/containerd to /opt/sagemaker/containerd/data-root" in log
    assert "[start] on_create.sh" in first.stdout, "the log also goes to stdout"

    before, calls_before = snapshot(node.root), node.calls()
    second = node.run()
    assert_ok(second)
    assert without_log(snapshot(node.root)) == without_log(before)
    assert node.calls() == calls_before, "the second run called systemctl"
    assert "containerd already keeps its data in /opt/sagemaker/containerd/data-root" in second.stdout
    assert "kubelet already keeps its data in /opt/sagemaker/kubelet" in second.stdout
    assert node.log().count("all steps done") == 2


def test_running_services_are_restarted_once_and_not_on_the_second_run(node: EksNode):
    """A running containerd is stopped before its store is copied and started after the drop-in is loaded; a
    running kubelet likewise around its move. A second run restarts nothing."""
    node.attach_volume()
    active = "containerd.service kubelet.service"
    assert_ok(node.run(STUB_ACTIVE=active))
    assert_on_volume(node)
    calls = node.systemctl()
    assert calls == [
        ["show", "containerd.service", "--property=ExecStart", "--value"],
        ["is-active", "--quiet", "containerd.service"],
        ["stop", "containerd.service"],
        ["daemon-reload"],
        ["start", "containerd.service"],
        ["is-active", "--quiet", "kubelet.service"],
        ["stop", "kubelet.service"],
        ["start", "kubelet.service"],
    ]

    before = snapshot(node.root)
    assert_ok(node.run(STUB_ACTIVE=active))
    assert node.systemctl() == calls, "the second run stopped, started or reloaded something"
    assert without_log(snapshot(node.root)) == without_log(before)


def test_without_the_volume_nothing_changes(node: EksNode):
    """A group without the extra EBS volume: no drop-in, no copy, no link, no systemctl; only the log grows."""
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
    result = node.run(HP_VOLUME_WAIT_SECONDS="60")
    assert_ok(result)
    assert "waiting for /opt/sagemaker to be mounted (0 of 60 s)" in result.stdout
    assert [c for c in node.calls() if c[0] == "sleep"] == [["sleep", "5"]]
    assert_on_volume(node)


def test_data_left_by_an_earlier_root_volume_is_replaced(node: EksNode):
    """After an AMI update the volume keeps the previous root volume's containerd store and kubelet directory;
    they are replaced by copies of this root volume's."""
    node.attach_volume()
    stale_store = node.root / DATA_ROOT / "io.containerd.metadata.v1.bolt"
    stale_store.mkdir(parents=True)
    (stale_store / "meta.db").write_bytes(b"AL2 store")
    (stale_store.parent / "stale-snapshot").write_text("old", encoding="utf-8")
    (node.root / KUBELET_DIR).mkdir(parents=True)
    (node.root / KUBELET_DIR / "old-pod-state").write_text("old", encoding="utf-8")

    result = node.run()
    assert_ok(result)
    assert_on_volume(node)
    assert not (node.root / DATA_ROOT / "stale-snapshot").exists()
    assert not (node.root / KUBELET_DIR / "old-pod-state").exists()
    assert "removing /opt/sagemaker/containerd/data-root: an earlier root volume" in result.stdout
    assert "removing /opt/sagemaker/kubelet: an earlier root volume" in result.stdout


@pytest.mark.parametrize(
    ("active", "fail", "message"),
    [
        ("", "daemon-reload", "systemctl daemon-reload failed after writing /" + DROP_IN),
        ("containerd.service", "stop", "systemctl stop containerd.service failed"),
        ("containerd.service", "start", "systemctl start containerd.service failed"),
        ("", "show", "systemctl show containerd.service failed"),
    ],
)
def test_a_failing_systemctl_is_logged_and_fails_the_run(node: EksNode, active: str, fail: str, message: str):
    """A failing command stops the run with a non-zero status, saying what failed, on stdout (HyperPod's log)
    and in the provisioning log."""
    node.attach_volume()
    result = node.run(STUB_ACTIVE=active, STUB_FAIL=fail)
    assert result.returncode != 0, result.stdout
    assert f"ERROR: {message}" in result.stdout
    assert "FAILED: step 10-data-volume" in result.stdout
    log = node.log()
    assert f"ERROR: {message}" in log
    assert "FAILED: step 10-data-volume" in log
    assert "all steps done" not in log


def test_a_failing_copy_is_logged_and_leaves_no_partial_store(node: EksNode):
    """A copy that fails (a full volume) fails the run naming the copy; no drop-in points containerd at a
    half-copied store."""
    node.attach_volume()
    node.stub("cp", FAILING_CP_STUB)
    result = node.run()
    assert result.returncode != 0, result.stdout
    assert "ERROR: cannot copy /var/lib/containerd to /opt/sagemaker/containerd/data-root.partial" in node.log()
    assert "FAILED: step 10-data-volume" in node.log()
    assert not (node.root / DATA_ROOT).exists()
    assert not (node.root / DROP_IN).exists()


def test_a_containerd_unit_with_arguments_is_left_alone(node: EksNode):
    """The drop-in replaces ExecStart; when the AMI's unit passes arguments (here a config path), replacing it
    would drop them, so the run fails naming the command and changes nothing."""
    node.attach_volume()
    node.attach_volume()  # a duplicate mount line changes nothing
    exec_start = PLAIN_EXEC_START.replace(
        "argv[]=/usr/bin/containerd ;", "argv[]=/usr/bin/containerd --config /etc/eks/containerd.toml ;"
    )
    before = snapshot(node.root)
    result = node.run(STUB_EXEC_START=exec_start)
    assert result.returncode != 0, result.stdout
    assert "containerd.service starts '/usr/bin/containerd --config /etc/eks/containerd.toml'" in result.stdout
    assert without_log(snapshot(node.root)) == before
    assert ["stop", "containerd.service"] not in node.systemctl()


def test_a_kubelet_link_elsewhere_is_refused(node: EksNode):
    """/var/lib/kubelet already a link to somewhere else: not ours to move; the run fails saying where it
    points."""
    node.attach_volume()
    kubelet = node.root / "var/lib/kubelet"
    shutil.rmtree(kubelet)
    kubelet.symlink_to("/data/kubelet")
    result = node.run()
    assert result.returncode != 0, result.stdout
    assert "/var/lib/kubelet is a symbolic link to /data/kubelet, not to /opt/sagemaker/kubelet" in result.stdout
    assert os.readlink(kubelet) == "/data/kubelet"


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
