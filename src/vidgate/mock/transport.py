"""httpx transports that carry requests to the mock app in-process, sync and async.

A dropped-connection fault surfaces as the httpx error a real one would give: ``ConnectError``
when the request never took effect, ``ReadError`` when it did and only the reply was lost.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import anyio.from_thread
import httpx

from vidgate.mock.app import Dropped

__all__ = ["AsyncMockTransport", "SyncMockTransport"]


class AsyncMockTransport(httpx.AsyncBaseTransport):
    def __init__(self, app: Any) -> None:
        self._inner = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._inner.handle_async_request(request)
        except Dropped as drop:
            error = httpx.ReadError if drop.processed else httpx.ConnectError
            raise error(str(drop), request=request) from None


class SyncMockTransport(httpx.BaseTransport):
    """Runs the app on an event loop in a helper thread (an anyio blocking portal)."""

    def __init__(self, app: Any) -> None:
        self._async = AsyncMockTransport(app)
        self._portal_cm: AbstractContextManager[Any] | None = None
        self._portal: Any = None

    def _ensure_portal(self) -> Any:
        if self._portal is None:
            self._portal_cm = anyio.from_thread.start_blocking_portal()
            self._portal = self._portal_cm.__enter__()
        return self._portal

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        content = request.read()

        async def send() -> tuple[int, list[tuple[str, str]], bytes]:
            copy = httpx.Request(
                request.method, request.url, headers=request.headers, content=content
            )
            response = await self._async.handle_async_request(copy)
            body = await response.aread()
            return response.status_code, response.headers.multi_items(), body

        status, headers, body = self._ensure_portal().call(send)
        return httpx.Response(status, headers=headers, content=body, request=request)

    def close(self) -> None:
        if self._portal_cm is not None:
            self._portal_cm.__exit__(None, None, None)
            self._portal_cm = self._portal = None
