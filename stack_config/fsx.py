"""``fsx``: the shared FSx for Lustre file system (hyperpod_platform/storage.py)."""

from __future__ import annotations

import re
from typing import Any, Optional

from hyperpod_platform.settings import FsxSettings

from ._reader import _enum, _Reader

MOUNT_PATH_RE = re.compile(r"^/(?!/)(?!.*/$)[a-zA-Z0-9._-]+(/[a-zA-Z0-9._-]+)*$")
FSX_THROUGHPUTS = (125, 250, 500, 1000)  # PERSISTENT_2, MB/s per TiB

# Directories a shared file system must not be mounted on, under or above (it would hide or replace them);
# hyperpod_platform/lifecycle/steps/20-fsx-mount.sh keeps the same list (a test compares them).
SYSTEM_DIRS = (
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/home",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/opt/aws",
    "/opt/ml",
    "/opt/sagemaker",
    "/proc",
    "/root",
    "/run",
    "/sbin",
    "/sys",
    "/tmp",
    "/usr",
    "/var",
)


def _fsx_capacity(v: int):
    if v in (1200, 2400) or (v > 2400 and v % 2400 == 0 and v <= 2_073_600):
        return None
    up = 1200 if v < 1200 else (2400 if v <= 2400 else -(-v // 2400) * 2400)
    return ("PERSISTENT_2 FSx for Lustre holds 1200 GiB, 2400 GiB, or a multiple of 2400 GiB", f"use {up}")


def _mount_path(v: str) -> Optional[tuple[str, str]]:
    """A normalized absolute path that neither is, holds, nor lies inside a system directory."""
    import posixpath

    if not MOUNT_PATH_RE.match(v) or any(part in (".", "..") for part in v.split("/")):
        normal = posixpath.normpath("/" + v.strip()).replace("//", "/")
        return (
            "must be a normalized absolute path (no '.', '..', '//' or trailing '/'; letters, digits, '.', "
            "'_' and '-')",
            f"use '{normal}'" if MOUNT_PATH_RE.match(normal) else "use /fsx",
        )
    clash = next((d for d in SYSTEM_DIRS if v == d or v.startswith(d + "/") or d.startswith(v + "/")), None)
    if clash:
        return (f"would hide or replace the system directory {clash}", "mount it elsewhere, e.g. /fsx or /mnt/fsx")
    return None


def _parse_fsx(r: _Reader, raw: Any) -> FsxSettings:
    path = "fsx"
    f = r.obj(raw, path, ("enabled", "storageCapacityGiB", "throughputPerTiB", "mountPath", "protect"))
    return FsxSettings(
        enabled=r.get(f, "enabled", path, bool, True),
        storage_capacity_gib=r.get(f, "storageCapacityGiB", path, int, 1200, _fsx_capacity) or 1200,
        throughput_per_tib=r.get(f, "throughputPerTiB", path, int, 250, _enum(*FSX_THROUGHPUTS)) or 250,
        mount_path=r.get(f, "mountPath", path, str, "/fsx", _mount_path) or "/fsx",
        protect=r.get(f, "protect", path, bool, True),
    )
