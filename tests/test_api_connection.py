"""The API connection vidgate builds: requests go to the URL httpx would build from the base URL
and the path (vidgate joins them itself), and it keeps no cookies (the gateways authenticate by
key), while a caller's own http_client keeps its own cookie store."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from conftest import API_KEY, call

from vidgate import Imini

pytestmark = pytest.mark.anyio

TASK = {"task_id": "task_1", "status": "processing"}
SUBMIT = {"task_id": "task_1", "status": "queued"}
BODY = {"model": "kling/kling-v3", "prompt": "an orange cat", "duration": 5}


class Recorder:
    """A transport answering every request (a Set-Cookie on each reply) and keeping them."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        data = SUBMIT if request.method == "POST" else TASK
        return httpx.Response(200, json=data, headers={"set-cookie": "session=abc; Path=/"})


@pytest.mark.parametrize(
    "base_url",
    [
        "https://gw.example",
        "https://gw.example/",
        "https://gw.example/api",
        "https://gw.example/api/",
        "http://127.0.0.1:8080/a%20b/c",
        "https://user:secret@gw.example:8443/x",
    ],
)
@pytest.mark.parametrize("own", [False, True], ids=["vidgate's", "caller's http_client"])
def test_requests_go_where_httpx_would_send_them(base_url: str, own: bool) -> None:
    recorder = Recorder()
    transport = httpx.MockTransport(recorder)
    if own:
        http = httpx.Client(transport=transport)
        client = Imini(API_KEY, base_url=base_url, http_client=http)
    else:
        client = Imini(API_KEY, base_url=base_url, transport=transport)
    client.get(client.generate(BODY).id)
    merged = httpx.Client(base_url=base_url)
    expected = [
        merged.build_request("POST", "/v1/videos/generate").url,
        merged.build_request("GET", "/v1/videos/tasks/task_1").url,
    ]
    assert [r.url for r in recorder.requests] == expected
    assert json.loads(recorder.requests[0].content) == BODY


async def test_a_gateway_cookie_is_neither_kept_nor_sent_back(make_client: Any) -> None:
    recorder = Recorder()
    client = make_client(transport=httpx.MockTransport(recorder))
    submitted = await call(client.generate(BODY))
    await call(client.get(submitted.id))
    await call(client.get(submitted.id))
    assert len(recorder.requests) == 3
    assert all("cookie" not in r.headers for r in recorder.requests)
    assert all(r.headers["authorization"] == f"Bearer {API_KEY}" for r in recorder.requests)


def test_a_callers_http_client_keeps_its_own_cookies() -> None:
    recorder = Recorder()
    http = httpx.Client(transport=httpx.MockTransport(recorder))
    client = Imini(API_KEY, base_url="https://gw.example", http_client=http)
    client.get("task_1")
    client.get("task_1")
    assert recorder.requests[1].headers["cookie"] == "session=abc"
    assert http.cookies["session"] == "abc"


@pytest.mark.parametrize("flavour", ["sync", "async"])
async def test_a_connection_failure_names_the_base_url_without_its_user_info(flavour: str) -> None:
    from vidgate import APIConnectionError, AsyncImini

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    base_url = f"http://user:{API_KEY}@127.0.0.1:9/imini?token=abc"
    kind: Any = Imini if flavour == "sync" else AsyncImini
    transport = httpx.MockTransport(refuse)
    client = kind(api_key=API_KEY, base_url=base_url, transport=transport, max_retries=0)
    with pytest.raises(APIConnectionError) as info:
        await call(client.get("task_1"))
    message = str(info.value)
    assert message.startswith("imini: ConnectError: [Errno 111] Connection refused (")
    assert "http://127.0.0.1:9/imini" in message
    assert "user" not in message
    assert API_KEY not in message
    assert "token=abc" not in message
