"""Waiting for something to become ready, without turning run time into an assertion.

``wait_for`` polls a predicate until it returns something truthy. Its ``limit`` is a hang guard, not a
performance check: it is generous on purpose, and when it runs out the error says what never became ready
(and, through ``detail``, what was last seen), never how long it took.
"""

from __future__ import annotations

import time
from typing import Callable, TypeVar

T = TypeVar("T")

HANG_GUARD_SECONDS = 300.0


def wait_for(
    predicate: Callable[[], T],
    what: str,
    limit: float = HANG_GUARD_SECONDS,
    interval: float = 0.1,
    detail: Callable[[], str] | None = None,
) -> T:
    """Call ``predicate`` until it returns a truthy value, and return that value.

    An exception from ``predicate`` propagates at once (use it for "this will never happen": a daemon that
    exited). After ``limit`` seconds: ``TimeoutError`` naming ``what`` (plus ``detail()`` when given).
    """
    give_up = time.monotonic() + limit
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= give_up:
            message = f"{what} never became ready (hang guard: gave up after {limit:g} s)"
            if detail is not None:
                message += f": {detail()}"
            raise TimeoutError(message)
        time.sleep(interval)
