"""The pytest plugin's fixtures are hermetic (IMINI_*/APIMART_* from the shell do not leak in,
unless a test asks), and the async ones belong to no async plugin."""

from __future__ import annotations

import os
from collections.abc import Coroutine
from importlib.util import find_spec
from typing import Any

import pytest

from vidgate import testing
from vidgate.aio import AsyncImini
from vidgate.mock import MockGateway

SHELL = {
    "IMINI_API_KEY": "sk-from-the-shell",
    "IMINI_BASE_URL": "http://127.0.0.1:9/imini",
    "APIMART_BASE_URL": "http://127.0.0.1:9/apimart",
    "IMINI_SOMETHING_NEW": "x",
}


@pytest.fixture
def exported(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a user's shell exports (set before the plugin's fixtures run)."""
    for name, value in SHELL.items():
        monkeypatch.setenv(name, value)


def test_the_fixtures_hide_the_shell(exported: None, vidgate_env: None) -> None:
    assert not [name for name in os.environ if name.startswith(("IMINI_", "APIMART_"))]


@pytest.mark.vidgate_keep_env
def test_a_test_can_keep_the_shell(exported: None, vidgate_env: None) -> None:
    assert os.environ["IMINI_BASE_URL"] == SHELL["IMINI_BASE_URL"]


def test_the_respx_fixture_hides_the_shell(exported: None, vidgate_respx: object) -> None:
    assert "IMINI_BASE_URL" not in os.environ


def test_the_async_client_fixture_is_plain_and_closes_the_client(
    exported: None, vidgate_mock: MockGateway, async_imini_client: AsyncImini
) -> None:
    # usable from a sync test too: it needs no event loop of any plugin
    assert isinstance(async_imini_client, AsyncImini)
    assert "IMINI_BASE_URL" not in os.environ


def test_finish_runs_a_coroutine_that_never_suspends() -> None:
    seen: list[str] = []

    async def quick() -> None:
        seen.append("done")

    testing._finish(quick())
    assert seen == ["done"]

    class Suspends:
        def __await__(self) -> Any:
            yield None

    async def slow() -> None:
        await Suspends()

    coroutine: Coroutine[Any, Any, None] = slow()
    with pytest.raises(RuntimeError, match="suspended"):
        testing._finish(coroutine)


def test_a_fixture_without_its_extra_fails_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        "vidgate.extras.find_spec", lambda name: None if name == "respx" else find_spec(name)
    )
    with pytest.raises(pytest.fail.Exception) as failed:
        testing._require("testing", "vidgate_respx")
    assert str(failed.value) == (
        "the vidgate_respx fixture needs the 'testing' extra (respx not installed): "
        "pip install 'vidgate[testing]'"
    )
    assert failed.value.pytrace is False
