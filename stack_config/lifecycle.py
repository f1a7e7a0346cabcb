"""``lifecycle``: the bucket of the nodes' lifecycle scripts (hyperpod_platform/lifecycle_bucket.py)."""

from __future__ import annotations

import re
from typing import Any

from hyperpod_platform.settings import LifecycleSettings

from ._reader import _Reader

BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def _bucket_name(v: str):
    why = None
    if not 3 <= len(v) <= 63:
        why = "must be 3-63 characters long"
    elif not BUCKET_RE.match(v):
        why = "may hold only lowercase letters, digits, dots and hyphens, and must start and end with a letter or digit"
    elif ".." in v or ".-" in v or "-." in v:
        why = "must not have two adjacent periods or a period next to a hyphen"
    elif re.match(r"^\d+\.\d+\.\d+\.\d+$", v):
        why = "must not be formatted as an IP address"
    elif v.startswith(("xn--", "sthree-", "amzn-s3-demo-")) or v.endswith(
        ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
    ):
        why = "uses a prefix or suffix that S3 reserves"
    elif "." in v:
        why = "has dots, which break TLS (virtual-hosted style) access"
    if why:
        fixed = re.sub(r"[^a-z0-9-]+", "-", v.lower()).strip("-")[:63]
        return (why, f"use a name such as 'sagemaker-{fixed.removeprefix('sagemaker-')}'"[:90])
    return None


def _parse_lifecycle(r: _Reader, raw: Any) -> LifecycleSettings:
    lc = r.obj(raw, "lifecycle", ("bucketName",))
    return LifecycleSettings(bucket_name=r.get(lc, "bucketName", "lifecycle", str, None, _bucket_name))
