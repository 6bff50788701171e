"""pytest fixtures for code that uses vidgate (a pytest plugin, loaded automatically).

    def test_my_pipeline(imini_client, vidgate_mock):
        task = imini_client.generate_and_wait(model="kling/kling-v3", prompt="a cat")
        assert task.succeeded
        assert len(vidgate_mock.ledger) == 1

- ``vidgate_mock``: a MockGateway (both gateways, in-process); tasks finish at the first poll.
- ``imini_client`` / ``apimart_client``: sync clients pointed at it; they never really sleep.
- ``async_imini_client`` / ``async_apimart_client``: the async clients, likewise.
- ``vidgate_respx``: a strict respx router for both gateways' real base URLs, preloaded with
  spec-conformant replies (submit accepted, task succeeded with a video) you can override.
Needs the ``mock`` extra (``pip install vidgate[mock]``) for the mock fixtures.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import respx

    from vidgate.mock import MockGateway


@pytest.fixture
def vidgate_mock() -> Iterator[MockGateway]:
    from vidgate.mock import MockGateway

    with MockGateway() as mock:
        yield mock


def _no_sleep(seconds: float) -> None:
    return None


async def _no_async_sleep(seconds: float) -> None:
    return None


@pytest.fixture
def imini_client(vidgate_mock: MockGateway) -> Iterator[Any]:
    client = vidgate_mock.client("imini", sleep=_no_sleep)
    yield client
    client.close()


@pytest.fixture
def apimart_client(vidgate_mock: MockGateway) -> Iterator[Any]:
    client = vidgate_mock.client("apimart", sleep=_no_sleep)
    yield client
    client.close()


@pytest.fixture
async def async_imini_client(vidgate_mock: MockGateway) -> AsyncIterator[Any]:
    client = vidgate_mock.async_client("imini", sleep=_no_async_sleep)
    yield client
    await client.aclose()


@pytest.fixture
async def async_apimart_client(vidgate_mock: MockGateway) -> AsyncIterator[Any]:
    client = vidgate_mock.async_client("apimart", sleep=_no_async_sleep)
    yield client
    await client.aclose()


@pytest.fixture
def vidgate_respx() -> Iterator[respx.MockRouter]:
    """Strict respx routes (named ``<gateway>-submit``, ``<gateway>-task``) with replies
    taken from the specs' own examples; replace one with ``router.routes["imini-task"]``."""
    import respx

    from vidgate.replies import example_replies

    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        for gateway, base, submit, task, submit_reply, task_reply in example_replies():
            router.post(f"{base}{submit}", name=f"{gateway}-submit").respond(200, json=submit_reply)
            router.get(url__regex=rf"^{base}{task}$", name=f"{gateway}-task").respond(
                200, json=task_reply
            )
        yield router
