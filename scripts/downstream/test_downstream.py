"""A downstream test file: every fixture of vidgate's pytest plugin, sync and async, under anyio
and pytest-asyncio; run from the installed wheel with IMINI_*/APIMART_* exported."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import consumer
import httpx
import pytest
import respx

import vidgate
from vidgate import Apimart, AsyncApimart, AsyncImini, Imini, TaskFailedError
from vidgate.mock import MockGateway


def test_vidgate_comes_from_the_installed_wheel() -> None:
    assert Path(vidgate.__file__).is_relative_to(sys.prefix)
    assert not any(Path(p, "src", "vidgate").is_dir() for p in sys.path if p)


def test_sync_clients(
    imini_client: Imini, apimart_client: Apimart, vidgate_mock: MockGateway, tmp_path: Path
) -> None:
    saved = consumer.render(imini_client, "an orange cat", tmp_path)
    assert saved is not None
    assert saved.stat().st_size > 0
    task = apimart_client.generate_and_wait(model="happyhorse-1.0", prompt="waves")
    assert consumer.describe(task).startswith(task.id)
    assert len(vidgate_mock.ledger) == 2
    assert consumer.check(imini_client, "a cat", 99)


def test_scripted_failure(imini_client: Imini) -> None:
    with pytest.raises(TaskFailedError):
        imini_client.generate_and_wait(model="kling/kling-v3", prompt="x [mock:fail]")


@pytest.mark.anyio
async def test_async_under_anyio(
    async_imini_client: AsyncImini, async_apimart_client: AsyncApimart
) -> None:
    task = await async_imini_client.generate_and_wait(model="kling/kling-v3", prompt="p")
    assert task.succeeded
    assert "succeeded" in await consumer.render_async(async_apimart_client, "waves")


@pytest.mark.asyncio
async def test_async_under_pytest_asyncio(
    async_imini_client: AsyncImini, async_apimart_client: AsyncApimart
) -> None:
    task = await async_imini_client.generate_and_wait(model="kling/kling-v3", prompt="p")
    assert task.succeeded
    assert "succeeded" in await consumer.render_async(async_apimart_client, "waves")


def test_respx_routes_ignore_the_shell(vidgate_respx: respx.MockRouter) -> None:
    assert "IMINI_BASE_URL" not in os.environ  # exported by the check, hidden by the fixture
    task = Imini(api_key="sk-test", sleep=lambda s: None).generate_and_wait(
        model="kling/kling-v3", prompt="p"
    )
    assert task.succeeded
    assert vidgate_respx.routes["imini-submit"].called


@pytest.mark.vidgate_keep_env
def test_keep_env_marker(vidgate_env: None) -> None:
    assert os.environ["IMINI_BASE_URL"].startswith("http://127.0.0.1")


def test_generated_models() -> None:
    assert consumer.kling_body("a cat", 5).model_dump(exclude_unset=True)["duration"] == 5
    assert consumer.transport_body("a cat") == {"model": "kling/kling-v3", "prompt": "a cat"}
    assert "imini" in consumer.spec_title().lower()


def test_typed_surface_sync(imini_client: Imini, tmp_path: Path) -> None:
    lines = consumer.typed_sync(imini_client, tmp_path)
    assert lines[0] == "valid=True of 2"
    assert lines[1].startswith("200 ")  # the submit's status and request id
    assert lines[2].split(" -> ")[-1].startswith("succeeded")  # watch ends terminal
    assert (tmp_path / lines[-1]).stat().st_size > 0


@pytest.mark.anyio
async def test_typed_surface_async(
    async_imini_client: AsyncImini, vidgate_mock: MockGateway
) -> None:
    async with httpx.AsyncClient(transport=vidgate_mock.async_transport()) as http:
        lines = await consumer.typed_async(
            http, async_imini_client, vidgate_mock.api_key, vidgate_mock.base_url("apimart")
        )
        assert not http.is_closed  # the caller's client stays the caller's
    assert lines[2] == "200"  # the envelope's code, read through the JSON alias
    assert lines[-2:] == ["succeeded", "succeeded"]  # both watches end terminal
