"""``lifecycle``: the bucket of the nodes' lifecycle scripts (hyperpod_platform/lifecycle_bucket.py)."""

from __future__ import annotations

from typing import Any

from hyperpod_platform.checks import BUCKET_RE, bucket_name  # noqa: F401 - BUCKET_RE: re-exported
from hyperpod_platform.settings import LifecycleSettings

from ._reader import _Reader

_bucket_name = bucket_name  # the check lives in hyperpod_platform.checks (LifecycleBucket runs it too)


def _parse_lifecycle(r: _Reader, raw: Any) -> LifecycleSettings:
    lc = r.obj(raw, "lifecycle", ("bucketName",))
    return LifecycleSettings(bucket_name=r.get(lc, "bucketName", "lifecycle", str, None, _bucket_name))
