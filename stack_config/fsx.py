"""``fsx``: the shared FSx for Lustre file system (hyperpod_platform/fsx.py)."""

from __future__ import annotations

from typing import Any

from hyperpod_platform.checks import (  # noqa: F401 - MOUNT_PATH_RE, SYSTEM_DIRS: re-exported
    FSX_THROUGHPUTS,
    MOUNT_PATH_RE,
    SYSTEM_DIRS,
    fsx_capacity,
    mount_path,
)
from hyperpod_platform.settings import FsxSettings

from ._reader import _enum, _Reader

# The value checks live in hyperpod_platform.checks (Fsx runs them on its own args too).
_fsx_capacity = fsx_capacity
_mount_path = mount_path


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
