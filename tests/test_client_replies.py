"""An API reply is read once, within the size cap, and handed on as the same httpx.Response:
a compressed reply is counted and parsed decoded, and the headers that described its encoding
on the wire (Content-Encoding, Content-Length) are not among the task's response headers."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx
from conftest import call

from vidgate import errors, spec

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


# ---------------------------------------------------------------------------- what a task keeps
def _kept(task: Any) -> Any:
    """The ``raw`` slot as stored, before any read parses it."""
    return type(task).raw.slot.__get__(task, type(task))


async def test_a_task_keeps_its_reply_as_bytes_until_raw_is_read(
    make_client: Any, imini_api: respx.MockRouter
) -> None:
    reply = {"task_id": "task_1", "status": "succeeded", "videos": [{"url": "https://c/v.mp4"}]}
    imini_api.get("/v1/videos/tasks/task_1").respond(200, json=reply)
    task = await call(make_client().get("task_1"))
    assert type(_kept(task)) is bytes  # a few hundred bytes, not the parsed value
    assert task.videos[0].url == "https://c/v.mp4"  # what the task says needs no second parse
    first = task.raw
    assert first == reply
    assert task.raw is first  # parsed once, then kept
    assert _kept(task) is first


async def test_a_kept_reply_copies_pickles_and_replaces_as_the_parsed_reply(
    make_client: Any, imini_api: respx.MockRouter
) -> None:
    import copy
    import dataclasses
    import pickle

    reply = {"task_id": "task_1", "status": "running", "progress": 40, "extra": {"a": [1, 2]}}
    imini_api.get("/v1/videos/tasks/task_1").respond(200, json=reply)
    client = make_client()
    round_trips: list[Callable[[Any], Any]] = [
        lambda t: pickle.loads(pickle.dumps(t)),
        copy.copy,
        copy.deepcopy,
        lambda t: dataclasses.replace(t, progress=41),
    ]
    for round_trip in round_trips:
        task = await call(client.get("task_1"))
        assert type(_kept(task)) is bytes
        other = round_trip(task)
        assert other.raw == reply
    submitted_reply = {"task_id": "task_2", "model": "kling/kling-v3"}
    imini_api.post("/v1/videos/generate").respond(200, json=submitted_reply)
    submitted = await call(client.generate(model="kling/kling-v3", prompt="a cat", duration=5))
    assert type(_kept(submitted)) is bytes
    assert pickle.loads(pickle.dumps(submitted)).raw == submitted_reply


async def test_a_reply_with_many_brackets_or_a_secret_is_kept_parsed(
    make_client: Any, imini_api: respx.MockRouter
) -> None:
    from conftest import API_KEY

    from vidgate import jsonin

    # past the bound: a second parse could fail where the first did not
    many: list[list[int]] = [[] for _ in range(jsonin.MAX_DEPTH)]
    imini_api.get("/v1/videos/tasks/task_1").respond(
        200, json={"task_id": "task_1", "status": "running", "extra": many}
    )
    imini_api.get("/v1/videos/tasks/task_2").respond(
        200, json={"task_id": "task_2", "status": "running", "echo": f"key {API_KEY}"}
    )
    client = make_client()
    deep, secret = [await call(client.get(t)) for t in ("task_1", "task_2")]
    assert type(_kept(deep)) is dict
    assert deep.raw["extra"] == many
    assert type(_kept(secret)) is dict  # redacted when read, never the bytes holding the key
    assert API_KEY not in json.dumps(secret.raw)
    assert API_KEY not in repr(secret)


async def test_kept_response_headers_read_as_httpx_headers(
    make_client: Any, imini_api: respx.MockRouter
) -> None:
    from conftest import API_KEY

    headers = [
        (b"Content-Type", b"application/json"),
        (b"Content-Length", b"52"),
        (b"X-Request-Id", b"req-1"),
        (b"X-Note", b"one"),
        (b"x-note", b"two"),
        (b"X-Echo", f"Bearer {API_KEY}".encode()),
        (b"X-Latin", "caf\xe9".encode("latin-1")),
    ]
    body = json.dumps({"task_id": "task_1", "status": "running"}).encode()
    imini_api.get("/v1/videos/tasks/task_1").respond(200, content=body, headers=headers)
    task = await call(make_client().get("task_1"))
    kept = task.response.headers
    assert kept["x-request-id"] == kept["X-REQUEST-ID"] == task.response.request_id == "req-1"
    assert kept.get_list("x-note") == ["one", "two"]
    assert "content-length" not in kept
    assert API_KEY not in kept["x-echo"]
    assert kept["x-latin"] == httpx.Headers(headers)["x-latin"]  # httpx's own reading
    assert kept["content-type"] == "application/json"


def test_the_shared_header_table_stays_bounded() -> None:
    from vidgate import types

    for n in range(types._SHARED_MAX * 3):
        types.compact_headers([(f"x-unique-{n}".encode(), b"v")])
    assert len(types._SHARED) <= types._SHARED_MAX
    one, other = (types.compact_headers([(b"content-type", b"application/json")]) for _ in "ab")
    assert one == other


async def test_a_task_names_the_request_id_its_reply_gives_without_the_header(
    make_client: Any, imini_api: respx.MockRouter, apimart_api: respx.MockRouter
) -> None:
    imini_api.get("/v1/videos/tasks/task_1").respond(
        200, json={"task_id": "task_1", "status": "processing", "request_id": "req-body"}
    )
    apimart_api.get("/v1/tasks/task_2").respond(
        200, json={"code": 200, "data": {"id": "task_2", "status": "processing"}}
    )
    imini = await call(make_client().get("task_1"))
    assert imini.response.request_id == "req-body"
    apimart = await call(make_client("apimart").get("task_2"))
    assert apimart.response.request_id is None
    imini_api.get("/v1/videos/tasks/task_3").respond(
        200,
        json={"task_id": "task_3", "status": "processing", "request_id": "req-body"},
        headers={"X-Request-Id": "req-header"},
    )
    assert (await call(make_client().get("task_3"))).response.request_id == "req-header"
    apimart_api.get("/v1/tasks/task_4").respond(
        200,
        json={"code": 200, "data": {"id": "task_4", "status": "processing", "request_id": "r4"}},
    )
    assert (await call(make_client("apimart").get("task_4"))).response.request_id == "r4"


# ---------------------------------------------------------------------------- Idempotency-Replayed
def _replayed_words() -> list[str]:
    """The values the spec gives the Idempotency-Replayed header."""
    header = spec.document("apimart")["components"]["headers"]["IdempotencyReplayed"]
    return [str(word) for word in header["schema"]["enum"]]


# the header's value -> what SubmittedTask.replayed and RawResponse.idempotency_replayed say:
# the spec's words, read as HTTP field values are (surrounding whitespace is not part of the
# value) and without regard to case; anything else is not a replay the gateway declared
REPLAYED = {
    **{word: word == "true" for word in _replayed_words()},
    "True ": True,
    " TRUE": True,
    "\ttrue\t": True,
    "False": False,
    "1": False,
    "yes": False,
    "0": False,
    "": False,
    "truthy": False,
}


@pytest.mark.parametrize("value", list(REPLAYED), ids=repr)
async def test_the_replayed_header_reads_the_same_on_the_task_and_the_exchange(
    make_client: Any, apimart_api: respx.MockRouter, value: str
) -> None:
    assert set(_replayed_words()) == {"true", "false"}  # the words this table is about
    reply = {"code": 200, "data": [{"status": "submitted", "task_id": "task_1"}]}
    headers = {"Idempotency-Replayed": value}
    apimart_api.post("/v1/videos/generations").respond(200, json=reply, headers=headers)
    body = {"model": "happyhorse-1.0", "prompt": "waves"}
    submitted = await call(make_client("apimart").generate(body, idempotency_key="job-1"))
    assert submitted.response is not None
    assert submitted.replayed is submitted.response.idempotency_replayed is REPLAYED[value]


async def test_without_the_replayed_header_the_task_is_not_a_replay(
    make_client: Any, apimart_api: respx.MockRouter
) -> None:
    reply = {"code": 200, "data": [{"status": "submitted", "task_id": "task_1"}]}
    apimart_api.post("/v1/videos/generations").respond(200, json=reply)
    body = {"model": "happyhorse-1.0", "prompt": "waves"}
    submitted = await call(make_client("apimart").generate(body, idempotency_key="job-1"))
    assert submitted.response is not None
    assert (submitted.replayed, submitted.response.idempotency_replayed) == (False, None)
