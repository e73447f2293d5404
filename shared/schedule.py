"""Periodic tasks of a service (consent expiry, retention): one loop for all of them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

log = structlog.get_logger()


async def every(seconds: float, run: Callable[[], Awaitable[object]], *, name: str, first_after: float = 0.0) -> None:
    """Run ``run`` every ``seconds`` until cancelled, the first time after ``first_after``. A
    failed run is logged (``<name>.failed``) and the next one comes on time: a daily task must
    not die of one bad day."""
    await asyncio.sleep(first_after)
    while True:
        try:
            await run()
        except Exception:
            log.exception(f"{name}.failed")
        await asyncio.sleep(seconds)
