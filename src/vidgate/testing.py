"""pytest fixtures for code that uses vidgate (a pytest plugin, loaded automatically).

    def test_my_pipeline(imini_client, vidgate_mock):
        task = imini_client.generate_and_wait(model="kling/kling-v3", prompt="a cat")
        assert task.succeeded
        assert len(vidgate_mock.ledger) == 1

- ``vidgate_mock``: a MockGateway (both gateways, in-process); tasks finish at the first poll.
- ``imini_client`` / ``apimart_client``: sync clients pointed at it; they never really sleep.
- ``async_imini_client`` / ``async_apimart_client``: the async clients, likewise. They are plain
  (sync) fixtures, so they work in tests run by anyio (``@pytest.mark.anyio``) or by
  pytest-asyncio (``@pytest.mark.asyncio``, strict or auto mode) alike.
- ``vidgate_respx``: a strict respx router for both gateways' real base URLs, preloaded with
  spec-conformant replies (submit accepted, task succeeded with a video) you can override.
- ``vidgate_env``: the environment without ``IMINI_*`` / ``APIMART_*`` variables. Every fixture
  above uses it, so a key or base URL exported in the shell never leaks into a test; mark a test
  ``@pytest.mark.vidgate_keep_env`` to keep them.

Needs the ``testing`` extra (``pip install 'vidgate[testing]'``).
"""

from __future__ import annotations

import os
from collections.abc import Coroutine, Iterator
from typing import TYPE_CHECKING, Any

from vidgate.extras import MissingExtraError, require

try:
    import pytest
except ModuleNotFoundError:  # one line naming the extra, as the other extras' modules say it
    raise MissingExtraError(
        "the pytest fixtures (vidgate.testing)", "testing", ["pytest"]
    ) from None

if TYPE_CHECKING:
    import respx

    from vidgate.aio import AsyncApimart, AsyncImini
    from vidgate.client import Apimart, Imini
    from vidgate.mock import MockGateway

__all__ = [
    "ENV_PREFIXES",
    "apimart_client",
    "async_apimart_client",
    "async_imini_client",
    "imini_client",
    "vidgate_env",
    "vidgate_mock",
    "vidgate_respx",
]

ENV_PREFIXES = ("IMINI_", "APIMART_")
"""The prefixes of the environment variables ``vidgate_env`` removes for a test."""
KEEP_ENV = "vidgate_keep_env"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{KEEP_ENV}: vidgate's fixtures keep IMINI_*/APIMART_* environment variables"
    )


def _require(extra: str, fixture: str) -> None:
    try:
        require(extra, f"the {fixture} fixture")
    except MissingExtraError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture
def vidgate_env(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove IMINI_* / APIMART_* variables for the test (unless marked vidgate_keep_env)."""
    if request.node.get_closest_marker(KEEP_ENV) is None:
        for name in [n for n in os.environ if n.startswith(ENV_PREFIXES)]:
            monkeypatch.delenv(name)


@pytest.fixture
def vidgate_mock(vidgate_env: None) -> Iterator[MockGateway]:
    """A started in-process ``MockGateway`` serving both gateways (tasks finish at the first
    poll), stopped after the test; its ``ledger`` lists what the test's clients sent."""
    _require("mock", "vidgate_mock")
    from vidgate.mock import MockGateway

    with MockGateway() as mock:
        yield mock


def _no_sleep(seconds: float) -> None:
    return None


async def _no_async_sleep(seconds: float) -> None:
    return None


def _finish(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run a coroutine that never suspends (closing a client on the in-process transport, which
    holds no sockets) without an event loop, so the fixture belongs to no async plugin."""
    try:
        coroutine.send(None)
    except StopIteration:
        return
    coroutine.close()
    raise RuntimeError("closing an in-process vidgate client suspended; it should not")


@pytest.fixture
def imini_client(vidgate_mock: MockGateway) -> Iterator[Imini]:
    """A sync ``Imini`` client on ``vidgate_mock``, whose waits and retries never sleep."""
    with vidgate_mock.client("imini", sleep=_no_sleep) as client:
        yield client


@pytest.fixture
def apimart_client(vidgate_mock: MockGateway) -> Iterator[Apimart]:
    """A sync ``Apimart`` client on ``vidgate_mock``, whose waits and retries never sleep."""
    with vidgate_mock.client("apimart", sleep=_no_sleep) as client:
        yield client


@pytest.fixture
def async_imini_client(vidgate_mock: MockGateway) -> Iterator[AsyncImini]:
    """An ``AsyncImini`` client on ``vidgate_mock`` that never sleeps; a plain fixture, so
    tests run by anyio or by pytest-asyncio can both await it."""
    client = vidgate_mock.async_client("imini", sleep=_no_async_sleep)
    yield client
    _finish(client.aclose())


@pytest.fixture
def async_apimart_client(vidgate_mock: MockGateway) -> Iterator[AsyncApimart]:
    """An ``AsyncApimart`` client on ``vidgate_mock`` that never sleeps; a plain fixture, so
    tests run by anyio or by pytest-asyncio can both await it."""
    client = vidgate_mock.async_client("apimart", sleep=_no_async_sleep)
    yield client
    _finish(client.aclose())


@pytest.fixture
def vidgate_respx(vidgate_env: None) -> Iterator[respx.MockRouter]:
    """Strict respx routes (named ``<gateway>-submit``, ``<gateway>-task``) with replies
    taken from the specs' own examples; replace one with ``router.routes["imini-task"]``."""
    _require("testing", "vidgate_respx")
    import respx

    from vidgate.replies import example_replies

    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        for gateway, base, submit, task, submit_reply, task_reply in example_replies():
            router.post(f"{base}{submit}", name=f"{gateway}-submit").respond(200, json=submit_reply)
            router.get(url__regex=rf"^{base}{task}$", name=f"{gateway}-task").respond(
                200, json=task_reply
            )
        yield router
