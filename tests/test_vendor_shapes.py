"""The gateways as their vendors' own clients see them, played through respx.

Every reply here is written from the vendor's client or skill, not from our specs:
apimart's ``apimart-ai/apimart-skills`` (``scripts/apimart-media.mjs``: the submit reply's
``data`` read as an object with ``id``, ``Idempotency-Replayed``, ``Retry-After`` as seconds or an
HTTP-date, 408 retryable; ``references/api-contract.md``), the integer-coded error envelopes of a
copy of apimart's happyhorse page, and imini's ``imini-ai/imini-api-integration-skill``
(``references/errors.md``: the error envelope; ``workflow.md``: at least 5 s after a 429). Each
shape runs against the sync and the async client, and through a batch (``run_batch``, what
``vidgate batch`` runs, and the command itself).
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from conftest import API_KEY, BASE_URLS, FakeTime, call

from vidgate import Status, errors, spec
from vidgate.batch import BatchOptions, run_batch
from vidgate.cli import main

pytestmark = pytest.mark.anyio

SUBMIT, TASK = "/v1/videos/generations", "/v1/tasks/task_V"
BODY = {"model": "happyhorse-1.0", "prompt": "waves at sunset"}
KEY = "job-0001"
VERSION = "2026-07-27"  # apimart-media.mjs: const RESPONSE_VERSION
CDN = "https://upload.apimart.ai/f/video/task_V.mp4"

# apimart-media.mjs reads envelope.data as an object: data.id, data.status, data.object
OBJECT_REPLY = {
    "code": 200,
    "data": {"id": "task_V", "object": "generation.task", "status": "pending"},
    "request_id": "req_V",
}
# ... and the pages' array shape, which other public apimart clients read as data[0].task_id
ARRAY_REPLY = {"code": 200, "data": [{"status": "submitted", "task_id": "task_V"}]}
# the shape of apimart-media.mjs's extractApiError input: {error: {message, type, code, param}}
APIMART_ERRORS = {  # status -> the type a copy of the happyhorse page gives it, integer codes
    400: "invalid_request_error",
    401: "authentication_error",
    402: "payment_required",
    429: "rate_limit_error",
    500: "server_error",
}


def apimart_error(status: int) -> dict[str, Any]:
    return {"error": {"code": status, "message": "refused", "type": APIMART_ERRORS[status]}}


def imini_error(code: str, status: int) -> dict[str, Any]:  # references/errors.md
    return {
        "error": {"code": code, "message": f"{code}", "status": status, "request_id": "req_abc123"}
    }


def completed(result: Any) -> dict[str, Any]:
    return {
        "code": 200,
        "data": {"id": "task_V", "status": "completed", "progress": 100, "result": result},
    }


VIDEOS = {"videos": [{"url": [CDN], "expires_at": int(time.time()) + 72 * 3600}]}


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(
        base_url=BASE_URLS["apimart"], assert_all_called=True, assert_all_mocked=True
    ) as router:
        yield router


# ---------------------------------------------------------------------------- reply versions
@pytest.mark.parametrize("reply", [OBJECT_REPLY, ARRAY_REPLY], ids=["object", "array"])
async def test_both_submit_reply_shapes_give_the_task_id(
    make_client: Any, api: respx.MockRouter, reply: dict[str, Any]
) -> None:
    api.post(SUBMIT).respond(200, json=reply, headers={"X-APIMart-Response-Version": VERSION})
    submitted = await call(make_client("apimart").generate(BODY, idempotency_key=KEY))
    assert (submitted.id, submitted.replayed) == ("task_V", False)
    assert submitted.typed().data  # the generated model takes either shape


async def test_a_key_goes_with_the_response_version_and_no_key_with_neither(
    make_client: Any, api: respx.MockRouter
) -> None:
    route = api.post(SUBMIT).mock(
        side_effect=[httpx.Response(200, json=OBJECT_REPLY), httpx.Response(200, json=ARRAY_REPLY)]
    )
    client = make_client("apimart")
    await call(client.generate(BODY, idempotency_key=KEY))
    await call(client.generate(BODY))
    keyed, bare = (c.request.headers for c in route.calls)
    header, default = "X-APIMart-Response-Version", spec.document("apimart")
    sent = next(p for p in spec.submit_operation(default)[1]["parameters"] if p["name"] == header)
    assert (keyed["idempotency-key"], keyed[header]) == (KEY, sent["schema"]["default"])
    assert "idempotency-key" not in bare
    assert header.lower() not in bare


async def test_the_response_version_is_configurable(
    make_client: Any, api: respx.MockRouter
) -> None:
    route = api.post(SUBMIT).mock(
        side_effect=[httpx.Response(200, json=ARRAY_REPLY), httpx.Response(200, json=OBJECT_REPLY)]
    )
    await call(make_client("apimart", response_version=False).generate(BODY, idempotency_key=KEY))
    await call(
        make_client("apimart", response_version="2027-01-01").generate(BODY, idempotency_key=KEY)
    )
    off, other = (c.request.headers for c in route.calls)
    assert "x-apimart-response-version" not in off
    assert off["idempotency-key"] == KEY
    assert other["x-apimart-response-version"] == "2027-01-01"
    with pytest.raises(errors.ConfigurationError, match="response_version"):
        make_client("apimart", response_version="")


async def test_a_replay_is_visible_on_the_submitted_task(
    make_client: Any, api: respx.MockRouter
) -> None:
    api.post(SUBMIT).respond(200, json=OBJECT_REPLY, headers={"Idempotency-Replayed": "true"})
    submitted = await call(make_client("apimart").generate(BODY, idempotency_key=KEY))
    assert (submitted.id, submitted.replayed) == ("task_V", True)
    assert submitted.request_id == OBJECT_REPLY["request_id"]  # the envelope's, in this shape


async def test_202_in_progress_waits_retry_after_and_asks_again_with_the_same_key(
    make_client: Any, api: respx.MockRouter, fake_time: FakeTime
) -> None:
    route = api.post(SUBMIT).mock(
        side_effect=[
            httpx.Response(202, json={}, headers={"Retry-After": "9"}),
            httpx.Response(200, json=OBJECT_REPLY, headers={"Idempotency-Replayed": "true"}),
        ]
    )
    submitted = await call(make_client("apimart").generate(BODY, idempotency_key=KEY))
    assert (submitted.id, submitted.replayed) == ("task_V", True)
    assert fake_time.sleeps
    assert fake_time.sleeps[0] >= 9
    sent = [(c.request.headers["idempotency-key"], c.request.content) for c in route.calls]
    assert len(sent) == 2
    assert sent[0] == sent[1]


async def test_202_until_the_retries_run_out_says_the_task_may_exist(
    make_client: Any, api: respx.MockRouter
) -> None:
    api.post(SUBMIT).respond(202, json={}, headers={"Retry-After": "1"})
    with pytest.raises(errors.APIError) as caught:
        await call(make_client("apimart", max_retries=2).generate(BODY, idempotency_key=KEY))
    assert caught.value.status == 202
    assert caught.value.may_have_been_submitted


# ---------------------------------------------------------------------------- retries
async def test_retry_after_as_an_http_date_is_honoured(
    make_client: Any, api: respx.MockRouter, fake_time: FakeTime
) -> None:
    date = email.utils.formatdate(time.time() + 40, usegmt=True)
    api.get(TASK).mock(
        side_effect=[
            httpx.Response(429, json=apimart_error(429), headers={"Retry-After": date}),
            httpx.Response(200, json=completed(VIDEOS)),
        ]
    )
    task = await call(make_client("apimart").get("task_V"))
    assert task.succeeded
    assert 38 <= fake_time.sleeps[0] <= 41


async def test_a_retry_after_beyond_the_wait_budget_is_raised_not_slept(
    make_client: Any, api: respx.MockRouter, fake_time: FakeTime
) -> None:
    budget = spec.document("apimart")["paths"]["/v1/tasks/{task_id}"]["get"]["x-vidgate-polling"][
        "max_wait_s"
    ]
    date = email.utils.formatdate(time.time() + budget + 3600, usegmt=True)
    api.get(TASK).respond(429, json=apimart_error(429), headers={"Retry-After": date})
    with pytest.raises(errors.RateLimitError) as caught:
        await call(make_client("apimart").get("task_V"))
    assert caught.value.retry_after is not None
    assert caught.value.retry_after > budget
    assert fake_time.sleeps == []


async def test_408_is_retried_for_polls_and_keyed_submits_only(
    make_client: Any, api: respx.MockRouter
) -> None:
    timeout = httpx.Response(408, json=apimart_error(400))
    api.get(TASK).mock(side_effect=[timeout, httpx.Response(200, json=completed(VIDEOS))])
    submit = api.post(SUBMIT).mock(
        side_effect=[timeout, httpx.Response(200, json=OBJECT_REPLY), timeout]
    )
    client = make_client("apimart")
    assert (await call(client.get("task_V"))).succeeded
    assert (await call(client.generate(BODY, idempotency_key=KEY))).id == "task_V"
    with pytest.raises(errors.APIError) as caught:
        await call(client.generate(BODY))
    assert caught.value.status == 408
    assert not caught.value.may_have_been_submitted
    assert submit.call_count == 3


async def test_a_408_on_a_result_file_is_retried(
    make_client: Any, api: respx.MockRouter, tmp_path: Path
) -> None:
    api.get(TASK).respond(200, json=completed(VIDEOS))
    api.get(CDN).mock(side_effect=[httpx.Response(408), httpx.Response(200, content=b"mp4")])
    client = make_client("apimart")
    task = await call(client.get("task_V"))
    path = await call(client.download(task, tmp_path / "v.mp4"))
    assert path.read_bytes() == b"mp4"


async def test_imini_waits_at_least_the_skills_floor_after_a_bare_429(
    make_client: Any, fake_time: FakeTime
) -> None:
    floor = spec.document("imini")["paths"]["/v1/videos/tasks/{task_id}"]["get"][
        "x-vidgate-polling"
    ]["after_429_s"]
    bare = httpx.Response(429, json=imini_error("RATE_LIMITED", 429))  # no Retry-After
    done = {"task_id": "task_1", "status": "succeeded", "videos": [{"url": CDN}]}
    with respx.mock(base_url=BASE_URLS["imini"], assert_all_called=True) as router:
        router.get("/v1/videos/tasks/task_1").mock(
            side_effect=[bare, bare, httpx.Response(200, json=done)]
        )
        router.post("/v1/videos/generate").mock(
            side_effect=[
                bare,
                httpx.Response(200, json={"task_id": "task_1", "model": "kling/kling-v3"}),
            ]
        )
        client = make_client("imini")
        assert (await call(client.get("task_1"))).succeeded
        await call(client.generate({"model": "kling/kling-v3", "prompt": "a cat"}))
    assert len(fake_time.sleeps) == 3
    assert min(fake_time.sleeps) >= floor


# ---------------------------------------------------------------------------- reply readings
@pytest.mark.parametrize("status", sorted(APIMART_ERRORS))
async def test_integer_coded_error_envelopes_are_typed_errors(
    make_client: Any, api: respx.MockRouter, status: int
) -> None:
    api.get(TASK).respond(status, json=apimart_error(status))
    with pytest.raises(errors.APIError) as caught:
        await call(make_client("apimart", max_retries=0).get("task_V"))
    exc = caught.value
    assert isinstance(exc, errors.error_for_status(status))
    assert (exc.status, exc.code) == (status, status)
    body = exc.body
    assert isinstance(body, dict)
    assert isinstance(body["error"], dict)
    assert body["error"]["type"] == APIMART_ERRORS[status]


@pytest.mark.parametrize("result", [None, {"videos": []}], ids=["null", "no-videos"])
async def test_completed_without_a_result_is_not_a_success_and_the_wait_goes_on(
    make_client: Any, api: respx.MockRouter, result: Any
) -> None:
    api.get(TASK).mock(
        side_effect=[
            httpx.Response(200, json=completed(result)),
            httpx.Response(200, json=completed(VIDEOS)),
        ]
    )
    client = make_client("apimart")
    early = await call(client.get("task_V"))
    assert (early.status, early.raw_status, early.done) == (Status.UNKNOWN, "completed", False)
    task = await call(client.wait("task_V"))
    assert task.succeeded
    assert task.videos[0].url == CDN


# ---------------------------------------------------------------------------- batch
async def _fast(seconds: float) -> None:
    await _real_sleep(0)


_real_sleep = asyncio.sleep


def _vendor_replies(router: respx.MockRouter) -> respx.Route:
    """A submit answered 202 first, then in the object shape; a poll that first says completed
    with a null result; the video on its CDN."""
    submit = router.post(SUBMIT).mock(
        side_effect=[
            httpx.Response(202, json={}, headers={"Retry-After": "1"}),
            httpx.Response(200, json=OBJECT_REPLY, headers={"Idempotency-Replayed": "true"}),
        ]
    )
    router.get(TASK).mock(
        side_effect=[
            httpx.Response(200, json=completed(None)),
            httpx.Response(200, json=completed(VIDEOS)),
        ]
    )
    router.get(CDN).respond(
        200, content=b"\x00\x00\x00\x18ftypmp42", headers={"Content-Length": "12"}
    )
    return submit


def _jobs(tmp_path: Path) -> Path:
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(json.dumps(BODY) + "\n")
    return jobs


@pytest.mark.usefixtures("vidgate_env")  # the CLI page's exported variables cleared
def test_a_batch_ends_done_on_the_vendor_shapes(tmp_path: Path) -> None:
    from vidgate.aio import AsyncApimart

    with respx.mock(
        base_url=BASE_URLS["apimart"], assert_all_called=True, assert_all_mocked=True
    ) as router:
        submit = _vendor_replies(router)

        async def go() -> dict[str, int]:
            client = AsyncApimart(api_key=API_KEY, sleep=_fast, seed=0)
            try:
                options = BatchOptions("apimart", tmp_path / "out", rate=0, client=client)
                return await run_batch(_jobs(tmp_path), options)
            finally:
                await client.aclose()

        counts = asyncio.run(go())
    assert counts == {"downloaded": 1}  # not unknown: the object-shaped reply was read
    keys = {c.request.headers["idempotency-key"] for c in submit.calls}
    assert len(keys) == 1
    assert submit.call_count == 2


def test_vidgate_batch_ends_done_on_the_vendor_shapes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("APIMART_API_KEY", API_KEY)
    monkeypatch.delenv("APIMART_BASE_URL", raising=False)
    monkeypatch.setattr(asyncio, "sleep", _fast)  # the command's own waits, made instant
    with respx.mock(base_url=BASE_URLS["apimart"], assert_all_called=True) as router:
        _vendor_replies(router)
        with pytest.raises(SystemExit) as done:
            main(["batch", str(_jobs(tmp_path)), "-g", "apimart", "--out", str(tmp_path / "o")])
    out, err = capsys.readouterr()
    assert done.value.code in (0, None), err
    assert "downloaded=1" in out + err
    assert "unknown=" not in out + err
    assert (tmp_path / "o").is_dir()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("7", 7.0),
        ("-3", 0.0),
        ("Thu, 03 Dec 2026 12:00:40 GMT", 40.0),
        ("Thu, 03 Dec 2026 11:59:00 GMT", 0.0),  # in the past: at once
        ("soon", None),
        ("inf", None),
        ("nan", None),
        ("", None),
    ],
)
def test_retry_after_reads_seconds_and_http_dates(value: str, expected: float | None) -> None:
    from vidgate._core import _retry_after

    noon = email.utils.parsedate_to_datetime("Thu, 03 Dec 2026 12:00:00 GMT").timestamp()
    reply = httpx.Response(429, headers={"Retry-After": value})
    assert _retry_after(reply, lambda: noon) == expected
