"""An API reply is read once, within the size cap, and handed on as the same httpx.Response:
a compressed reply is counted and parsed decoded, and the headers that described its encoding
on the wire (Content-Encoding, Content-Length) are not among the task's response headers."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest
import respx
from conftest import call

from vidgate import errors

pytestmark = pytest.mark.anyio


def _gzipped(data: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body = gzip.compress(json.dumps(data).encode())
    headers = {
        "content-encoding": "gzip",
        "content-length": str(len(body)),
        "content-type": "application/json",
        "x-request-id": "req-9",
    }
    return body, headers


async def test_a_gzipped_task_reply_is_read_decoded_without_its_wire_headers(
    make_client: Any, imini_api: respx.MockRouter
) -> None:
    body, headers = _gzipped({"task_id": "task_1", "status": "processing", "progress": 40})
    imini_api.get("/v1/videos/tasks/task_1").respond(200, content=body, headers=headers)
    task = await call(make_client().get("task_1"))
    assert (task.id, task.progress) == ("task_1", 40)
    assert task.response is not None
    assert task.response.status == 200
    assert task.response.request_id == "req-9"
    assert task.response.headers["content-type"] == "application/json"
    assert "content-encoding" not in task.response.headers
    assert "content-length" not in task.response.headers


async def test_a_gzipped_reply_counts_against_the_cap_decoded(
    make_client: Any, imini_api: respx.MockRouter
) -> None:
    padding = "x" * 4000  # compresses to a few dozen bytes, over the cap once decoded
    body, headers = _gzipped({"task_id": "task_1", "status": "processing", "note": padding})
    assert len(body) < 1000
    imini_api.get("/v1/videos/tasks/task_1").respond(200, content=body, headers=headers)
    client = make_client(max_response_bytes=1000, max_retries=0)
    with pytest.raises(errors.MalformedResponseError, match="max_response_bytes"):
        await call(client.get("task_1"))


async def test_kept_tasks_share_the_specs_words_and_keep_the_reply_as_it_came(
    make_client: Any, imini_api: respx.MockRouter
) -> None:
    reply = {
        "task_id": "task_1",
        "status": "succeeded",
        "videos": [{"url": "https://cdn.example/v.mp4", "width": 160}],
        "not_in_the_spec": ["succeeded", 1, None],
    }
    imini_api.get("/v1/videos/tasks/task_1").respond(200, json=reply)
    client = make_client()
    first, second = [await call(client.get("task_1")) for _ in range(2)]
    assert first.raw == second.raw == reply
    (a,), (b,) = first.raw["videos"], second.raw["videos"]
    # one str object for a key or enum value the spec names, in every task kept
    for one, other in [(first.raw, second.raw), (a, b)]:
        named = [key for key in one if key != "not_in_the_spec"]
        assert named
        assert all(x is y for x, y in zip(named, other, strict=False))
    assert first.raw["status"] is second.raw["status"]


async def test_a_reply_nested_deeper_than_any_spec_reply_is_read(
    make_client: Any, imini_api: respx.MockRouter
) -> None:
    deep: dict[str, Any] = {}
    inner = deep
    for _ in range(500):
        inner["a"] = {}
        inner = inner["a"]
    imini_api.get("/v1/videos/tasks/task_1").respond(
        200, json={"task_id": "task_1", "status": "running", "extra": deep}
    )
    task = await call(make_client().get("task_1"))
    assert task.raw["extra"] == deep
