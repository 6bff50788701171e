"""httpx transports that carry requests to the mock app in-process, sync and async.

A dropped-connection fault surfaces as the httpx error a real one would give: ``ConnectError``
when the request never took effect, ``ReadError`` when it did and only the reply was lost.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

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
    """Runs the app on an event loop in a daemon thread, so a forgotten close() never keeps the
    interpreter from exiting."""

    def __init__(self, app: Any) -> None:
        self._async = AsyncMockTransport(app)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(
                    target=self._loop.run_forever, name="vidgate-mock", daemon=True
                )
                self._thread.start()
            return self._loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        content = request.read()

        async def send() -> tuple[int, list[tuple[str, str]], bytes]:
            copy = httpx.Request(
                request.method, request.url, headers=request.headers, content=content
            )
            response = await self._async.handle_async_request(copy)
            body = await response.aread()
            return response.status_code, response.headers.multi_items(), body

        future = asyncio.run_coroutine_threadsafe(send(), self._ensure_loop())
        status, headers, body = future.result()
        # a stream, as from a socket: the client reads it chunk by chunk and counts raw bytes
        return httpx.Response(
            status, headers=headers, stream=httpx.ByteStream(body), request=request
        )

    def close(self) -> None:
        with self._lock:
            loop, thread, self._loop, self._thread = self._loop, self._thread, None, None
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=5)
            loop.close()
