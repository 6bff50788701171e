"""The demo (`make demo` of the README), the pytest plugin as a downstream user sees it, and the
mock as a real server on a loopback socket."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from rich.console import Console

from vidgate import spec
from vidgate.cli import demo
from vidgate.mock import DEFAULT_KEY, State, Timing, create_app, media


def test_demo_runs_every_model_of_both_gateways(tmp_path: Path) -> None:
    with (tmp_path / "log.txt").open("w") as log:
        console = Console(file=log, width=120)
        jobs = asyncio.run(demo.run(tmp_path / "out", Timing(queue_s=0.1, run_s=0.3), console))
    models = {(j.gateway, j.body["model"]) for j in jobs}
    expected = {(g, m) for g in spec.GATEWAYS for m in spec.request_schema_names(spec.document(g))}
    assert models == expected
    for job in jobs:
        assert job.mode
        video = next(f for f in job.files if f.suffix == ".mp4")
        assert video.read_bytes() == media.video()
    assert "file(s) in" in (tmp_path / "log.txt").read_text()


def test_plugin_fixtures(imini_client: Any, apimart_client: Any, vidgate_mock: Any) -> None:
    task = imini_client.generate_and_wait(model="kling/kling-v3", prompt="an orange cat")
    assert task.succeeded
    other = apimart_client.generate_and_wait(model="happyhorse-1.0", prompt="waves")
    assert other.videos[0].url.endswith(".mp4")
    assert len(vidgate_mock.ledger) == 2


@pytest.mark.anyio
async def test_plugin_async_fixture(async_imini_client: Any) -> None:
    task = await async_imini_client.generate_and_wait(model="kling/kling-v3", prompt="p")
    assert task.succeeded


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_plugin_respx_router(
    vidgate_respx: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    import vidgate

    monkeypatch.setenv("IMINI_API_KEY", "sk-test")
    client = vidgate.Imini(sleep=lambda s: None)
    task = client.generate_and_wait(model="kling/kling-v3", prompt="p")
    assert task.succeeded  # the spec's own 'succeeded' example
    assert vidgate_respx.routes["imini-submit"].called


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.contract
def test_server_mode_drops_connections_for_real() -> None:
    import uvicorn

    state = State(Timing())
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(state, frozenset({DEFAULT_KEY}), server=True),
            host="127.0.0.1",
            port=port,
            log_level="error",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        base = f"http://127.0.0.1:{port}/imini"
        auth = {"Authorization": f"Bearer {DEFAULT_KEY}"}
        body = {"model": "kling/kling-v3", "prompt": "p"}
        with httpx.Client(base_url=base, headers=auth) as http:
            assert http.post("/v1/videos/generate", json=body).status_code == 200
            state.faults.script("submit", "drop-after")
            with pytest.raises(httpx.RemoteProtocolError):
                http.post("/v1/videos/generate", json=body)
        assert len(state.ledger) == 2
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_readme_plugin_example(imini_client: Any, vidgate_mock: Any) -> None:
    vidgate_mock.faults.script("task", "429", "502")  # the client retries both polls
    task = imini_client.generate_and_wait(model="kling/kling-v3", prompt="a cat")
    assert task.succeeded
    assert len(vidgate_mock.ledger) == 1
    assert vidgate_mock.faults.injected == {"429": 1, "502": 1}
