"""What the async client and its generated sync twin do differently in kind, in both forms.

``client.py`` is generated from ``aio.py`` by scripts/unasync.py, which swaps names by a table
(``async_deadline`` becomes ``deadline``); what a swap of names cannot say is written here twice.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from types import TracebackType

__all__ = ["async_deadline", "deadline"]

_NOTHING: contextlib.nullcontext[None] = contextlib.nullcontext()


class async_deadline:  # lower case: used like asyncio.timeout, which it wraps
    """Cancel the awaits inside once ``end`` (``time.monotonic()``) passes; a TimeoutError from
    inside, the deadline's or another, becomes ``timed_out()``."""

    __slots__ = ("_scope", "_timed_out")

    def __init__(self, end: float, timed_out: Callable[[], Exception]) -> None:
        import asyncio  # here, so that the sync client does not load asyncio

        self._scope = asyncio.timeout(max(0.0, end - time.monotonic()))
        self._timed_out = timed_out

    async def __aenter__(self) -> None:
        await self._scope.__aenter__()

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            await self._scope.__aexit__(kind, exc, tb)
        except TimeoutError:
            raise self._timed_out() from None
        if isinstance(exc, TimeoutError):
            raise self._timed_out() from None


def deadline(end: float, timed_out: Callable[[], Exception]) -> contextlib.nullcontext[None]:
    """Nothing: a blocking read cannot be cancelled from outside, so a sync exchange is bounded
    by its socket timeouts (``exchange_timeout``) and the deadline checks between chunks."""
    return _NOTHING
