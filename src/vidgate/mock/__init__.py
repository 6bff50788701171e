"""vidgate's mock gateway: both gateways' documented endpoints, stateful tasks and real media.

It answers with the gateways' own errors, and with faults on demand.

    from vidgate.mock import MockGateway, Timing

    with MockGateway(timing=Timing(queue_s=1, run_s=3)) as mock:
        client = mock.client("imini")                  # an Imini pointed at the mock
        task = client.generate_and_wait(model="kling/kling-v3", prompt="an orange cat")
        mock.faults.script("submit", "429", "drop-after")
        assert len(mock.ledger) == 1

Three ways to run it: in-process (``client()`` / ``transport()``), as a server
(``vidgate mock --port 4010``), and as pytest fixtures (``vidgate.testing``).
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Literal, overload

from vidgate.extras import require

require("mock", "the mock gateway (vidgate.mock)")  # one line naming the extra, not a traceback

from vidgate.mock.app import DEFAULT_KEY, Dropped, create_app, gateway_app  # noqa: E402
from vidgate.mock.state import Fault, Faults, Ledger, State, Timing  # noqa: E402
from vidgate.mock.transport import AsyncMockTransport, SyncMockTransport  # noqa: E402

__all__ = [
    "DEFAULT_KEY",
    "Dropped",
    "Fault",
    "Faults",
    "Ledger",
    "MockGateway",
    "State",
    "Timing",
    "create_app",
    "gateway_app",
    "listen",
    "serve",
]

if TYPE_CHECKING:
    from vidgate.aio import AsyncApimart, AsyncClient, AsyncImini
    from vidgate.client import Apimart, Imini, SyncClient

BASE = "http://mock.vidgate.invalid"


class MockGateway:
    """One in-process mock of both gateways (shared clock, tasks, ledger and faults).

    Args:
        timing: How long a task stays queued, then processing; the default finishes it at the
            first poll.
        clock: The time source in seconds (``time.time`` by default); a test can pass its own
            to move the tasks on without waiting.
        keys: The API keys the mock accepts; any other gets a 401.
        seed: Seeds the random faults set with ``faults.chance``, so a run can be repeated.
    """

    def __init__(
        self,
        *,
        timing: Timing | None = None,
        clock: Callable[[], float] | None = None,
        keys: Iterable[str] = (DEFAULT_KEY,),
        seed: int = 0,
    ) -> None:
        self.state = State(timing, clock, seed)
        """The mock's memory: tasks, ledger, faults, clock (shared by both gateways)."""
        self.keys = frozenset(keys)
        """The API keys it accepts."""
        self.app = create_app(self.state, self.keys)
        """The ASGI app serving both gateways (under ``/imini`` and ``/apimart``)."""
        self._sync: list[SyncMockTransport] = []

    @property
    def ledger(self) -> Ledger:
        """Every submission the mock accepted, in order (what a test counts and inspects)."""
        return self.state.ledger

    @property
    def faults(self) -> Faults:
        """Where a test scripts failures per route: ``script`` a sequence, or set a ``chance``."""
        return self.state.faults

    @property
    def api_key(self) -> str:
        """An API key the mock accepts (the first of ``keys`` in sorted order)."""
        return sorted(self.keys)[0]

    def base_url(self, gateway: str) -> str:
        """The base URL of ``gateway`` ("imini" or "apimart") on this mock's transports."""
        return f"{BASE}/{gateway}"

    def transport(self) -> SyncMockTransport:
        """A new httpx transport for a sync client; ``close`` closes it."""
        transport = SyncMockTransport(self.app)
        self._sync.append(transport)
        return transport

    def async_transport(self) -> AsyncMockTransport:
        """A new httpx transport for an async client."""
        return AsyncMockTransport(self.app)

    @overload
    def client(self, gateway: Literal["imini"] = ..., **kwargs: Any) -> Imini: ...
    @overload
    def client(self, gateway: Literal["apimart"], **kwargs: Any) -> Apimart: ...
    @overload
    def client(self, gateway: str, **kwargs: Any) -> SyncClient: ...
    def client(self, gateway: str = "imini", **kwargs: Any) -> SyncClient:
        """A sync client (Imini or Apimart) pointed at this mock."""
        from vidgate.client import client_for

        cls = client_for(gateway)
        kwargs.setdefault("api_key", self.api_key)
        return cls(base_url=self.base_url(gateway), transport=self.transport(), **kwargs)

    @overload
    def async_client(self, gateway: Literal["imini"] = ..., **kwargs: Any) -> AsyncImini: ...
    @overload
    def async_client(self, gateway: Literal["apimart"], **kwargs: Any) -> AsyncApimart: ...
    @overload
    def async_client(self, gateway: str, **kwargs: Any) -> AsyncClient: ...
    def async_client(self, gateway: str = "imini", **kwargs: Any) -> AsyncClient:
        """An async client (AsyncImini or AsyncApimart) pointed at this mock."""
        from vidgate.aio import client_for

        cls = client_for(gateway)
        kwargs.setdefault("api_key", self.api_key)
        return cls(base_url=self.base_url(gateway), transport=self.async_transport(), **kwargs)

    def close(self) -> None:
        """Close the sync transports this mock handed out (the clients' own ``close`` need not
        be called first)."""
        for transport in self._sync:
            transport.close()
        self._sync.clear()

    def __enter__(self) -> MockGateway:
        """The mock itself; leaving the ``with`` block calls ``close``."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Call ``close``."""
        self.close()


def listen(host: str = "127.0.0.1", port: int = 4010) -> socket.socket:
    """A listening socket (port 0: any free port); OSError when the port is taken."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def serve(
    host: str = "127.0.0.1",
    port: int = 4010,
    *,
    timing: Timing | None = None,
    keys: Iterable[str] = (DEFAULT_KEY,),
    log_level: str = "info",
    sock: socket.socket | None = None,
) -> None:
    """Run the mock as an HTTP server until interrupted (localhost only unless told otherwise).
    Pass ``sock`` (from ``listen``) to serve on a socket bound beforehand."""
    import uvicorn

    app = create_app(State(timing), frozenset(keys), server=True)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level=log_level))
    server.run(sockets=[sock if sock is not None else listen(host, port)])
