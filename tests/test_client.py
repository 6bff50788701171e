"""The clients against respx-mocked gateways, sync and async alike (the ``flavour`` fixture)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from conftest import API_KEY, FakeTime, call

import vidgate
from vidgate import Status, errors

pytestmark = pytest.mark.anyio

KLING = {"model": "kling/kling-v3", "prompt": "an orange cat"}
APIMART_BODY = {"model": "happyhorse-1.0", "prompt": "waves at sunset"}
SUBMITTED = {
    "task_id": "task_1",
    "model": "kling/kling-v3",
    "created_at": "2026-04-11T07:17:39.146Z",
    "request_id": "req-1",
}
APIMART_SUBMITTED = {"code": 200, "data": [{"status": "submitted", "task_id": "task_A"}]}
CDN = "https://cdn.example.com/file/task_1.mp4"


def imini_task(status: str, **extra: Any) -> dict[str, Any]:
    return {"task_id": "task_1", "status": status, "model": "kling/kling-v3", **extra}


def apimart_task(status: str, **extra: Any) -> dict[str, Any]:
    return {"code": 200, "data": {"id": "task_A", "status": status, "created": 1763700000, **extra}}


def err(code: str, status: int) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": f"{code} happened",
            "status": status,
            "request_id": "req-err",
        }
    }


# ---------------------------------------------------------------------------- submit
async def test_generate_validates_submits_and_reports_mode(
    make_client: Any, imini_api: respx.MockRouter
) -> None:
    route = imini_api.post("/v1/videos/generate").respond(200, json=SUBMITTED)
    client = make_client()
    submitted = await call(client.generate(KLING))
    assert submitted.id == "task_1"
    assert submitted.mode == "text"
    assert submitted.request_id == "req-1"
    assert submitted.created_at.year == 2026
    sent = route.calls.last.request
    assert json.loads(sent.content) == KLING
    assert sent.headers["authorization"] == f"Bearer {API_KEY}"


async def test_generate_accepts_fields_models_and_neutral_requests(
    make_client: Any, apimart_api: respx.MockRouter
) -> None:
    from vidgate_models.apimart import HappyHorseRequest

    route = apimart_api.post("/v1/videos/generations").respond(200, json=APIMART_SUBMITTED)
    client = make_client("apimart")
    await call(client.generate(model="happyhorse-1.0", prompt="p", duration=4))
    await call(client.generate(HappyHorseRequest(model="happyhorse-1.0", prompt="p", duration=4)))
    await call(client.generate(vidgate.HappyHorse(prompt="p", duration=4)))
    bodies = [json.loads(c.request.content) for c in route.calls]
    assert bodies == [{"model": "happyhorse-1.0", "prompt": "p", "duration": 4}] * 3


async def test_invalid_body_is_never_sent(make_client: Any, imini_api: respx.MockRouter) -> None:
    """No route is mocked and assert_all_mocked is on: any request would fail the test."""
    client = make_client()
    with pytest.raises(errors.RequestValidationError) as info:
        await call(client.generate(model="kling/kling-v3", prompt="p", duration=99))
    assert info.value.violations[0].path == "/duration"
    assert not imini_api.calls


STATUS_ERRORS = [
    (400, "INVALID_PARAMETER", errors.BadRequestError),
    (401, "UNAUTHORIZED", errors.AuthenticationError),
    (402, "INSUFFICIENT_CREDITS", errors.PaymentRequiredError),
    (403, "FORBIDDEN", errors.PermissionDeniedError),
    (404, "TASK_NOT_FOUND", errors.NotFoundError),
    (418, "TEAPOT", errors.UnexpectedStatusError),
]


@pytest.mark.parametrize(("status", "code", "cls"), STATUS_ERRORS)
async def test_error_statuses_raise_typed_errors(
    make_client: Any,
    imini_api: respx.MockRouter,
    status: int,
    code: str,
    cls: type[errors.APIError],
) -> None:
    imini_api.post("/v1/videos/generate").respond(status, json=err(code, status))
    imini_api.get("/v1/videos/tasks/task_1").respond(status, json=err(code, status))
    client = make_client()
    actions: list[Callable[[], Any]] = [
        lambda: client.generate(KLING),
        lambda: client.get("task_1"),
    ]
    for action in actions:
        with pytest.raises(cls) as info:
            await call(action())
        assert (info.value.status, info.value.code, info.value.request_id) == (
            status,
            code,
            "req-err",
        )
        assert not info.value.may_have_been_submitted
        assert f"HTTP {status} {code}" in str(info.value)


async def test_apimart_bad_request_carries_the_documented_code(
    make_client: Any, apimart_api: respx.MockRouter
) -> None:
    body = {
        "error": {
            "code": "mixed_media_not_allowed",
            "message": "no",
            "type": "invalid_request_error",
        }
    }
    apimart_api.post("/v1/videos/generations").respond(400, json=body)
    with pytest.raises(errors.BadRequestError) as info:
        await call(make_client("apimart").generate(APIMART_BODY))
    assert info.value.code == "mixed_media_not_allowed"


async def test_submit_is_not_resent_after_a_5xx(
    make_client: Any, imini_api: respx.MockRouter
) -> None:
    route = imini_api.post("/v1/videos/generate").respond(502, json=err("UPSTREAM", 502))
    with pytest.raises(errors.InternalServerError) as info:
        await call(make_client().generate(KLING))
    assert route.call_count == 1
    assert info.value.may_have_been_submitted
    assert "may have been created" in str(info.value)


async def test_submit_is_not_resent_after_a_read_timeout(
    make_client: Any, imini_api: respx.MockRouter
) -> None:
    route = imini_api.post("/v1/videos/generate").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(errors.APITimeoutError) as info:
        await call(make_client().generate(KLING))
    assert route.call_count == 1
    assert info.value.may_have_been_submitted


@pytest.mark.parametrize("failure", [httpx.ConnectError("refused"), httpx.ConnectTimeout("dns")])
async def test_submit_is_resent_when_it_never_left(
    make_client: Any, imini_api: respx.MockRouter, fake_time: FakeTime, failure: Exception
) -> None:
    route = imini_api.post("/v1/videos/generate").mock(
        side_effect=[failure, httpx.Response(200, json=SUBMITTED)]
    )
    assert (await call(make_client().generate(KLING))).id == "task_1"
    assert route.call_count == 2
    assert len(fake_time.sleeps) == 1


async def test_submit_is_resent_after_429_honouring_retry_after(
    make_client: Any, imini_api: respx.MockRouter, fake_time: FakeTime
) -> None:
    route = imini_api.post("/v1/videos/generate").mock(
        side_effect=[
            httpx.Response(429, json=err("RATE_LIMITED", 429), headers={"Retry-After": "7"}),
            httpx.Response(200, json=SUBMITTED),
        ]
    )
    await call(make_client().generate(KLING))
    assert route.call_count == 2
    assert fake_time.sleeps[0] >= 7


async def test_idempotency_key_makes_an_ambiguous_submit_safe_to_resend(
    make_client: Any, apimart_api: respx.MockRouter
) -> None:
    route = apimart_api.post("/v1/videos/generations").mock(
        side_effect=[
            httpx.Response(500, json={"error": {"message": "oops"}}),
            httpx.ReadError("dropped"),
            httpx.Response(200, json=APIMART_SUBMITTED),
        ]
    )
    client = make_client("apimart")
    assert (
        await call(client.generate(APIMART_BODY, idempotency_key="batch-7-job-1"))
    ).id == "task_A"
    assert [c.request.headers["idempotency-key"] for c in route.calls] == ["batch-7-job-1"] * 3


async def test_retries_are_bounded(make_client: Any, imini_api: respx.MockRouter) -> None:
    route = imini_api.get("/v1/videos/tasks/task_1").respond(500, json=err("INTERNAL", 500))
    with pytest.raises(errors.InternalServerError):
        await call(make_client(max_retries=2).get("task_1"))
    assert route.call_count == 3


@pytest.mark.parametrize(
    "reply",
    [
        httpx.Response(200, text="<html>gateway hiccup</html>"),
        httpx.Response(200, json={"model": "kling/kling-v3"}),
        httpx.Response(200, json=[1, 2]),
    ],
)
async def test_malformed_submit_replies_raise_a_typed_error(
    make_client: Any, imini_api: respx.MockRouter, reply: httpx.Response
) -> None:
    imini_api.post("/v1/videos/generate").mock(return_value=reply)
    with pytest.raises(errors.MalformedResponseError):
        await call(make_client().generate(KLING))


# ---------------------------------------------------------------------------- task query
async def test_get_retries_5xx_and_connection_errors(
    make_client: Any, imini_api: respx.MockRouter, fake_time: FakeTime
) -> None:
    route = imini_api.get("/v1/videos/tasks/task_1").mock(
        side_effect=[
            httpx.Response(500, json=err("INTERNAL", 500)),
            httpx.ReadError("dropped"),
            httpx.Response(502, text="bad gateway"),
            httpx.Response(200, json=imini_task("processing")),
        ]
    )
    task = await call(make_client().get("task_1"))
    assert task.status is Status.RUNNING
    assert route.call_count == 4
    assert len(fake_time.sleeps) == 3


async def test_unknown_status_and_fields_are_kept(
    make_client: Any, apimart_api: respx.MockRouter
) -> None:
    apimart_api.get("/v1/tasks/task_A").respond(
        200, json=apimart_task("submitted", progress=3, brand_new={"x": 1})
    )
    task = await call(make_client("apimart").get("task_A"))
    assert (task.status, task.raw_status, task.done) == (Status.UNKNOWN, "submitted", False)
    assert task.raw["data"]["brand_new"] == {"x": 1}
    assert task.typed().data.model_extra == {"brand_new": {"x": 1}}


async def test_apimart_task_fields_are_parsed(
    make_client: Any, apimart_api: respx.MockRouter
) -> None:
    apimart_api.get("/v1/tasks/task_A", params={"language": "ja"}).respond(
        200,
        json=apimart_task(
            "completed",
            progress=100,
            completed=1763700240,
            estimated_time=300,
            result={
                "videos": [{"url": ["https://cdn.example.com/a.mp4"], "expires_at": 1763786640}]
            },
        ),
    )
    task = await call(make_client("apimart", language="ja").get("task_A"))
    assert task.succeeded
    assert task.progress == 100
    assert task.estimated_seconds == 300
    assert task.videos[0].url == "https://cdn.example.com/a.mp4"
    assert task.videos[0].expires_at.timestamp() == 1763786640
    assert (task.completed_at - task.created_at).total_seconds() == 240


# ---------------------------------------------------------------------------- waiting
async def test_wait_polls_with_growing_backoff_and_reports_progress(
    make_client: Any, imini_api: respx.MockRouter, fake_time: FakeTime
) -> None:
    states = ["queued"] * 3 + ["processing"] * 6 + ["succeeded"]
    imini_api.get("/v1/videos/tasks/task_1").mock(
        side_effect=[
            httpx.Response(
                200, json=imini_task(s, videos=[{"url": CDN}] if s == "succeeded" else None)
            )
            for s in states
        ]
    )
    seen: list[str] = []
    task = await call(make_client().wait("task_1", on_progress=lambda t: seen.append(t.raw_status)))
    assert task.succeeded
    assert seen == ["queued", "processing", "succeeded"]  # changes only
    polling = vidgate.gateways.gateway("imini").polling
    sleeps = fake_time.sleeps
    assert len(sleeps) == len(states) - 1
    assert sleeps[0] == pytest.approx(polling.interval_s, rel=polling.jitter)
    assert max(sleeps) <= polling.max_interval_s * (1 + polling.jitter)
    assert sleeps[-1] > sleeps[0]


async def test_wait_raises_with_the_gateway_error_on_failure(
    make_client: Any, imini_api: respx.MockRouter
) -> None:
    failure = {"code": "INVALID_PROMPT", "message": "refused by review", "status": 400}
    imini_api.get("/v1/videos/tasks/task_1").respond(200, json=imini_task("failed", error=failure))
    with pytest.raises(errors.TaskFailedError) as info:
        await call(make_client().wait("task_1"))
    assert info.value.task_id == "task_1"
    assert info.value.code == "INVALID_PROMPT"
    assert info.value.task.error == failure


async def test_cancelled_apimart_task_is_a_failure(
    make_client: Any, apimart_api: respx.MockRouter
) -> None:
    apimart_api.get("/v1/tasks/task_A").respond(200, json=apimart_task("cancelled"))
    with pytest.raises(errors.TaskFailedError, match="cancelled"):
        await call(make_client("apimart").wait("task_A"))


async def test_wait_deadline(
    make_client: Any, imini_api: respx.MockRouter, fake_time: FakeTime
) -> None:
    imini_api.get("/v1/videos/tasks/task_1").respond(200, json=imini_task("processing"))
    with pytest.raises(errors.WaitTimeoutError) as info:
        await call(make_client().wait("task_1", timeout=100))
    assert info.value.task_id == "task_1"
    assert fake_time.now == pytest.approx(100)
    assert info.value.last is not None
    assert info.value.last.raw_status == "processing"


async def test_ctrl_c_stops_the_wait_not_the_task(
    make_client: Any, imini_api: respx.MockRouter, flavour: str
) -> None:
    imini_api.get("/v1/videos/tasks/task_1").respond(200, json=imini_task("processing"))

    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    async def ainterrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    client = make_client(sleep=interrupt if flavour == "sync" else ainterrupt)
    with pytest.raises(errors.WaitInterrupted) as info:
        await call(client.wait("task_1"))
    assert info.value.task_id == "task_1"
    assert isinstance(info.value, KeyboardInterrupt)


@pytest.mark.usefixtures("vidgate_env")  # the default base URL, whatever the shell exports
async def test_cancelling_an_async_wait_keeps_the_task_id(monkeypatch: pytest.MonkeyPatch) -> None:
    with respx.mock(base_url="https://openapi.imini.ai/imini/router") as api:
        api.get("/v1/videos/tasks/task_1").respond(200, json=imini_task("processing"))
        client = vidgate.AsyncImini(API_KEY)
        waiter = asyncio.ensure_future(client.wait("task_1"))
        await asyncio.sleep(0.05)
        waiter.cancel()
        with pytest.raises(vidgate.WaitCancelled) as info:
            await waiter
        assert info.value.task_id == "task_1"
        await client.aclose()


# ---------------------------------------------------------------------------- downloads
async def test_download_streams_to_a_file_without_the_api_key(
    make_client: Any, imini_api: respx.MockRouter, tmp_path: Path
) -> None:
    payload = b"\x00\x00\x00\x18ftypmp42" + bytes(5000)
    cdn = imini_api.get(CDN).respond(
        200, content=payload, headers={"content-length": str(len(payload))}
    )
    task = vidgate.Task(
        "task_1", "imini", Status.SUCCEEDED, "succeeded", videos=(vidgate.VideoOutput(url=CDN),)
    )
    progress: list[tuple[int, int | None]] = []
    client = make_client()
    path = await call(
        client.download(task, tmp_path, on_progress=lambda d, t: progress.append((d, t)))
    )
    assert path == tmp_path / "task_1.mp4"
    assert path.read_bytes() == payload
    assert progress[-1] == (len(payload), len(payload))
    assert "authorization" not in cdn.calls.last.request.headers
    with pytest.raises(errors.OutputExistsError):
        await call(client.download(task, tmp_path))
    imini_api.get(CDN).respond(200, content=b"new")
    assert (await call(client.download(task, tmp_path, overwrite=True))).read_bytes() == b"new"


async def test_expired_urls_are_refused_clearly(
    make_client: Any, imini_api: respx.MockRouter, tmp_path: Path
) -> None:
    import datetime as dt

    past = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    task = vidgate.Task(
        "task_1",
        "apimart",
        Status.SUCCEEDED,
        "completed",
        videos=(vidgate.VideoOutput(url=CDN, expires_at=past),),
    )
    with pytest.raises(errors.URLExpiredError, match="expired at 2020-01-01"):
        await call(make_client().download(task, tmp_path))
    imini_api.get(CDN).respond(403, text="AccessDenied")
    fresh = vidgate.Task(
        "task_1", "imini", Status.SUCCEEDED, "succeeded", videos=(vidgate.VideoOutput(url=CDN),)
    )
    with pytest.raises(errors.URLExpiredError, match="HTTP 403"):
        await call(make_client().download(fresh, tmp_path))
    assert not list(tmp_path.iterdir())


async def test_download_of_an_unfinished_task_is_refused(make_client: Any, tmp_path: Path) -> None:
    task = vidgate.Task("task_1", "imini", Status.RUNNING, "processing")
    with pytest.raises(errors.DownloadError, match="processing"):
        await call(make_client().download(task, tmp_path))


# ---------------------------------------------------------------------------- config, secrets
def test_key_and_base_url_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APIMART_API_KEY", API_KEY)
    monkeypatch.setenv("APIMART_BASE_URL", "http://127.0.0.1:4010/")
    assert vidgate.Apimart().base_url == "http://127.0.0.1:4010"
    monkeypatch.delenv("APIMART_API_KEY")
    with pytest.raises(errors.ConfigurationError, match="APIMART_API_KEY"):
        vidgate.Apimart()


async def test_the_key_never_shows(
    make_client: Any,
    imini_api: respx.MockRouter,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VIDGATE_LOG", "debug")
    echo = {"error": {"code": "UNAUTHORIZED", "message": f"bad key {API_KEY}"}}
    imini_api.post("/v1/videos/generate").respond(401, json=echo)
    client = make_client()
    caplog.set_level(logging.DEBUG, logger="vidgate")
    with pytest.raises(errors.AuthenticationError) as info:
        await call(client.generate(KLING))
    assert "Bearer ***" in caplog.text
    texts = [repr(client), str(info.value), repr(info.value), caplog.text]
    assert all(API_KEY not in t for t in texts)


def _imini_examples() -> dict[str, Any]:
    from vidgate import spec

    _, op = spec.submit_operation(spec.document("imini"))
    return dict(op["requestBody"]["content"]["application/json"]["examples"])


@pytest.mark.parametrize("example", list(_imini_examples()))  # every model's, from the spec
async def test_every_model_submits_its_spec_example(
    make_client: Any, imini_api: respx.MockRouter, example: str
) -> None:
    body = _imini_examples()[example]["value"]
    route = imini_api.post("/v1/videos/generate").respond(200, json=SUBMITTED)
    await call(make_client().generate(body))
    assert json.loads(route.calls.last.request.content) == body
    assert route.calls.last.request.headers["content-type"] == "application/json"


async def test_extra_body_is_merged_after_validation(
    make_client: Any, imini_api: respx.MockRouter
) -> None:
    route = imini_api.post("/v1/videos/generate").respond(200, json=SUBMITTED)
    imini_api.get("/v1/videos/tasks/task_1").respond(200, json=imini_task("succeeded"))
    client = make_client()
    extra = {"new_field": 1}  # a key the spec lists is refused: tests/test_extra_body.py
    with pytest.raises(errors.RequestValidationError):  # the body itself is still validated
        await call(client.generate({"model": "kling/kling-v3"}, extra_body=extra))
    assert route.call_count == 0
    await call(client.generate(KLING, extra_body=extra))
    await call(client.generate_and_wait(KLING, extra_body=extra))
    for sent in route.calls:
        assert json.loads(sent.request.content) == {**KLING, **extra}
