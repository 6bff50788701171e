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
