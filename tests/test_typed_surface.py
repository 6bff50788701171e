"""The typed surface: generated TypedDicts and overloads (checked by mypy), per-call options,
with_options, and what the issue-21 additions put on tasks and errors."""

from __future__ import annotations

import functools
import importlib
import json
import sys
import typing
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from conftest import API_KEY, call

import vidgate
from vidgate import Status, errors, spec

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "scripts" / "downstream"
sys.path.insert(0, str(ROOT / "scripts"))
import downstream  # noqa: E402

KLING = {"model": "kling/kling-v3", "prompt": "an orange cat"}
SUBMITTED = {"task_id": "task_1", "model": "kling/kling-v3", "request_id": "req-1"}


# ---------------------------------------------------------------------------- generated types
def _literal_values(annotation: Any) -> set[Any]:
    """The values of a Literal, through Required/NotRequired."""
    while typing.get_origin(annotation) in (typing.Required, typing.NotRequired):
        (annotation,) = typing.get_args(annotation)
    assert typing.get_origin(annotation) is typing.Literal, annotation
    return set(typing.get_args(annotation))


@pytest.mark.parametrize("gateway", spec.GATEWAYS)
def test_typed_dicts_follow_the_spec(gateway: spec.Gateway) -> None:
    """Every model of the spec has a TypedDict whose required and optional keys and enums are
    the schema's; ModelName lists exactly the spec's model ids."""
    module = importlib.import_module(f"vidgate_typed.{gateway}")
    doc = spec.document(gateway)
    names = spec.request_schema_names(doc)
    assert set(typing.get_args(module.ModelName)) == set(names)
    for model, schema_name in names.items():
        schema = doc["components"]["schemas"][schema_name]
        typed = getattr(module, f"{schema_name}Param")
        hints = typing.get_type_hints(typed, include_extras=True)
        required = set(schema.get("required", []))
        assert typed.__required_keys__ == required, schema_name
        assert typed.__optional_keys__ == set(schema["properties"]) - required, schema_name
        assert _literal_values(hints["model"]) == {model}
        for field, prop in schema["properties"].items():
            if "enum" in prop:
                assert _literal_values(hints[field]) == set(prop["enum"]), (schema_name, field)


def test_the_clients_carry_the_generated_signatures() -> None:
    """The gateway classes take the generated mixins (type checkers read their overloads)."""
    import vidgate_typed.apimart as typed_apimart
    import vidgate_typed.imini as typed_imini

    import vidgate

    assert issubclass(vidgate.Imini, typed_imini.SyncMethods)
    assert issubclass(vidgate.AsyncImini, typed_imini.AsyncMethods)
    assert issubclass(vidgate.Apimart, typed_apimart.SyncMethods)
    assert issubclass(vidgate.AsyncApimart, typed_apimart.AsyncMethods)
    # the mixins add nothing at run time: the client's own methods run
    assert "generate" not in vars(typed_imini.SyncMethods)
    assert "generate_and_wait" not in vars(typed_apimart.AsyncMethods)


def _mypy(*files: Path, cache: Path) -> str:
    from mypy import api

    config = SAMPLE / "pyproject.toml"  # the downstream project's settings (strict)
    args = ["--config-file", str(config), "--cache-dir", str(cache), *map(str, files)]
    out, err, _ = api.run(args)
    return out + err


@pytest.fixture(scope="module")
def mypy_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One mypy cache for the two runs below: the second does not check vidgate and its
    dependencies again (each run still checks its own file afresh; under xdist both runs go to
    one worker, conftest.ONE_WORKER, so the cache is never written by two processes)."""
    return tmp_path_factory.mktemp("mypy-cache")


@pytest.mark.slow
def test_mypy_reports_every_deliberate_mistake(mypy_cache: Path) -> None:
    """Each line of scripts/downstream/mistakes.py is an error at the call, no other line is."""
    report = _mypy(SAMPLE / "mistakes.py", cache=mypy_cache)
    assert downstream.mistake_problems((SAMPLE / "mistakes.py").read_text(), report) == []


@pytest.mark.slow
def test_mypy_passes_the_typed_consumer(mypy_cache: Path) -> None:
    report = _mypy(SAMPLE / "consumer.py", cache=mypy_cache)
    assert "Success: no issues found" in report, report


def test_the_mistake_checker_catches_a_missed_and_an_extra_line() -> None:
    source = "a()  # E: call-overload\nb()\nc()  # E: arg-type\n"
    report = (
        "mistakes.py:1: error: No overload  [call-overload]\nmistakes.py:2: error: oops  [misc]\n"
    )
    problems = downstream.mistake_problems(source, report)
    assert problems == [
        "mistakes.py:3: expected [arg-type], mypy said nothing",
        "mistakes.py:2: unexpected ['misc']",
    ]
    assert downstream.mistake_problems("x()\n", "") == ["mistakes.py: no line marked '# E: <code>'"]


# ---------------------------------------------------------------------------- per-call options
async def test_extra_headers_and_query_reach_the_request(
    make_client: Any, imini_api: respx.MockRouter
) -> None:
    route = imini_api.post("/v1/videos/generate").respond(200, json=SUBMITTED)
    client = make_client()
    await call(
        client.generate(
            KLING, extra_headers={"X-Trace": "t-1"}, extra_query={"region": "eu"}, timeout=5.0
        )
    )
    sent = route.calls.last.request
    assert sent.headers["x-trace"] == "t-1"
    assert sent.url.params["region"] == "eu"
    assert sent.headers["authorization"] == f"Bearer {API_KEY}"
    assert json.loads(sent.content) == KLING
    await call(client.generate(KLING))  # per call: the next call has none of it
    assert "x-trace" not in route.calls.last.request.headers
    assert "region" not in route.calls.last.request.url.params


async def test_per_call_max_retries_and_timeout(
    make_client: Any, imini_api: respx.MockRouter
) -> None:
    route = imini_api.get("/v1/videos/tasks/task_1").respond(503)
    client = make_client(max_retries=3)
    with pytest.raises(errors.InternalServerError):
        await call(client.get("task_1", max_retries=0))
    assert route.call_count == 1
    with pytest.raises(errors.InternalServerError):
        await call(client.get("task_1", max_retries=1, timeout=2.5))
    assert route.call_count == 3
    timeouts = route.calls.last.request.extensions["timeout"]
    assert 0 < timeouts["read"] <= 2.5


async def test_with_options_returns_a_configured_copy(
    make_client: Any, imini_api: respx.MockRouter
) -> None:
    route = imini_api.get("/v1/videos/tasks/task_1").respond(503)
    client = make_client(max_retries=2, timeout=30.0)
    quick = client.with_options(max_retries=0, timeout=1.0, extra_headers={"X-Team": "a"})
    assert type(quick) is type(client)
    assert (quick._cfg.max_retries, quick._cfg.timeout) == (0, 1.0)
    assert (client._cfg.max_retries, client._cfg.timeout) == (2, 30.0)
    both = quick.with_options(extra_headers={"X-Run": "b"}, extra_query={"q": "1"})
    with pytest.raises(errors.InternalServerError):
        await call(both.get("task_1"))
    assert route.call_count == 1
    sent = route.calls.last.request
    assert (sent.headers["x-team"], sent.headers["x-run"], sent.url.params["q"]) == ("a", "b", "1")
    with pytest.raises(errors.InternalServerError):
        await call(client.get("task_1"))
    assert route.call_count == 4  # the original still retries twice, without the headers
    assert "x-team" not in route.calls.last.request.headers


@pytest.mark.parametrize(
    "options",
    [
        {"timeout": 0},
        {"timeout": float("nan")},
        {"max_retries": -1},
        {"max_retries": True},
        {"extra_headers": {"X-A": 1}},
    ],
)
def test_unusable_options_are_refused(make_client: Any, options: dict[str, Any]) -> None:
    with pytest.raises(errors.ConfigurationError):
        make_client().with_options(**options)


@pytest.mark.parametrize(
    ("headers", "named"),
    [
        ({"X-Bad": "a\nb"}, "X-Bad"),  # h11 refuses it mid-send: was an APIConnectionError
        ({"X-Bad": "sk-secret\r\nX-Injected: 1"}, "X-Bad"),
        ({"X-Bad": "\u00e9t\u00e9"}, "X-Bad"),  # httpx sends ASCII: was a UnicodeEncodeError
        ({"X-Bad": "nul\x00"}, "X-Bad"),
        ({"X Bad": "v"}, "X Bad"),  # not a token
        ({"X-Bad\n": "v"}, "X-Bad\\n"),
        ({"": "v"}, "''"),
    ],
)
async def test_headers_that_cannot_be_sent_are_refused_before_sending(
    make_client: Any, headers: dict[str, str], named: str
) -> None:
    """A header name or value that cannot go on the wire is a ConfigurationError naming the
    header, never quoting the value (it may be a secret); nothing is sent."""
    client = make_client(transport=httpx.MockTransport(_unused))
    for refuse in (
        functools.partial(client.generate, KLING, extra_headers=headers),
        functools.partial(client.get, "task_1", extra_headers=headers),
        functools.partial(client.with_options, extra_headers=headers),
    ):
        with pytest.raises(errors.ConfigurationError) as caught:
            await call(refuse())
        assert named in str(caught.value)
        for value in headers.values():
            assert len(value) < 2 or value not in str(caught.value)


async def test_headers_with_inner_spaces_tabs_and_symbols_are_sent(
    make_client: Any, imini_api: respx.MockRouter
) -> None:
    route = imini_api.post("/v1/videos/generate").respond(200, json=SUBMITTED)
    headers = {"X-A_b.c~!#$%&'*+^`|": 'a b\tc "q" ;=,/', "X-Empty": ""}
    await call(make_client().generate(KLING, extra_headers=headers))
    sent = route.calls.last.request
    assert sent.headers["x-a_b.c~!#$%&'*+^`|"] == 'a b\tc "q" ;=,/'
    assert sent.headers["x-empty"] == ""


async def test_a_closed_http_client_is_a_configuration_error(
    make_client: Any, flavour: str, tmp_path: Path
) -> None:
    """A caller's http_client closed under vidgate, or vidgate's own client after close(): a
    ConfigurationError saying so, before anything is sent (was httpx's bare RuntimeError)."""
    own = _own_http_client(flavour)
    if isinstance(own, httpx.Client):
        own.close()
    else:
        await own.aclose()
    client = make_client(http_client=own)
    task = vidgate.Task(
        "task_1", "imini", Status.SUCCEEDED, "succeeded", videos=(vidgate.VideoOutput(url=CDN),)
    )
    for refuse in (
        functools.partial(client.generate, KLING),
        functools.partial(client.get, "task_1"),
        functools.partial(client.download, task, tmp_path),
    ):
        with pytest.raises(errors.ConfigurationError, match="HTTP client is closed"):
            await call(refuse())
    ours = make_client(transport=httpx.MockTransport(_unused))
    if flavour == "sync":
        ours.close()
    else:
        await ours.aclose()
    with pytest.raises(errors.ConfigurationError, match="HTTP client is closed"):
        await call(ours.generate(KLING))


async def test_an_idempotency_key_is_refused_where_the_spec_has_no_header(
    make_client: Any,
) -> None:
    """imini's submit has no idempotency header: a key would be dropped and two calls would make
    two tasks, so it is a ConfigurationError before anything is sent (apimart takes one)."""
    assert vidgate.gateways.gateway("imini").idempotency_header is None
    client = make_client(transport=httpx.MockTransport(_unused))
    for refuse in (
        functools.partial(client.generate, KLING, idempotency_key="key-0001-abcdef"),
        functools.partial(client.generate_and_wait, KLING, idempotency_key="key-0001-abcdef"),
    ):
        with pytest.raises(errors.ConfigurationError, match="imini takes no idempotency key"):
            await call(refuse())


async def test_wait_takes_request_options(make_client: Any, imini_api: respx.MockRouter) -> None:
    route = imini_api.get("/v1/videos/tasks/task_1").respond(
        200, json={"task_id": "task_1", "status": "succeeded", "videos": []}
    )
    client = make_client()
    task = await call(client.wait("task_1", extra_headers={"X-W": "1"}, request_timeout=3.0))
    assert task.succeeded
    assert route.calls.last.request.headers["x-w"] == "1"


def test_generated_packages_are_in_the_wheel() -> None:
    assert "vidgate_typed" in downstream.TOP_LEVEL
    text = (ROOT / "pyproject.toml").read_text()
    assert '"generated/vidgate_typed"' in text


# ---------------------------------------------------------------------------- no Any
async def test_task_error_is_typed_and_failed_error_carries_the_task(
    make_client: Any, imini_api: respx.MockRouter
) -> None:
    from vidgate import Task, TaskFailedError

    error = {"code": 4001, "message": "prompt refused", "type": "policy", "detail": {"x": 1}}
    imini_api.get("/v1/videos/tasks/task_1").respond(
        200, json={"task_id": "task_1", "status": "failed", "error": error}
    )
    with pytest.raises(TaskFailedError) as info:
        await call(make_client().wait("task_1"))
    assert isinstance(info.value.task, Task)
    assert info.value.task.error == error  # keys beyond code/message/type kept
    assert (info.value.code, info.value.error_message) == (4001, "prompt refused")


@pytest.mark.parametrize(
    ("reply", "kept"),
    [
        ({"code": True, "message": 5, "type": None}, {}),
        ({"code": "E1", "message": "m"}, {"code": "E1", "message": "m"}),
        ("not an object", None),
    ],
)
def test_task_error_keeps_only_well_typed_fields(reply: Any, kept: Any) -> None:
    from vidgate.types import task_error

    assert task_error(reply) == kept


def test_an_invalid_result_is_falsy() -> None:
    from vidgate.validation import validator

    assert validator("imini").check({"model": "kling/kling-v3", "prompt": "a cat"})
    assert not validator("imini").check({"model": "kling/kling-v3", "duration": "five"})


# ---------------------------------------------------------------------------- raw responses
async def test_the_last_exchange_is_reachable_from_submitted_task_and_task(
    make_client: Any, imini_api: respx.MockRouter
) -> None:
    replay = {"X-Request-Id": "req-hdr", "Idempotency-Replayed": "true", "X-Echo": API_KEY}
    imini_api.post("/v1/videos/generate").respond(200, json=SUBMITTED, headers=replay)
    imini_api.get("/v1/videos/tasks/task_1").respond(
        200, json={"task_id": "task_1", "status": "processing"}, headers={"X-Other": "1"}
    )
    client = make_client()
    submitted = await call(client.generate(KLING))
    assert submitted.response is not None
    assert submitted.response.status == 200
    assert submitted.response.request_id == "req-hdr"
    assert submitted.response.idempotency_replayed is True
    assert submitted.response.headers["x-request-id"] == "req-hdr"  # any case
    assert API_KEY not in submitted.response.headers["X-Echo"]
    assert API_KEY not in repr(submitted)
    task = await call(client.get("task_1"))
    assert task.response is not None
    assert (task.response.status, task.response.idempotency_replayed) == (200, None)
    assert task.response.request_id is None
    assert task.response.headers["x-other"] == "1"


async def test_the_body_request_id_stands_in_for_a_missing_header(
    make_client: Any, imini_api: respx.MockRouter
) -> None:
    imini_api.post("/v1/videos/generate").respond(200, json=SUBMITTED)
    submitted = await call(make_client().generate(KLING))
    assert submitted.response is not None
    assert submitted.response.request_id == "req-1"
    assert submitted.response.idempotency_replayed is None


# ---------------------------------------------------------------------------- http_client=
CDN = "https://cdn.example.com/file/task_1.mp4"


def _own_http_client(flavour: str) -> httpx.Client | httpx.AsyncClient:
    settings: dict[str, Any] = {
        "base_url": "https://elsewhere.example",  # never used: vidgate sends absolute URLs
        "headers": {"X-Team": "video"},
        "timeout": 999.0,
    }
    return httpx.Client(**settings) if flavour == "sync" else httpx.AsyncClient(**settings)


async def test_a_callers_http_client_carries_the_requests_within_vidgates_bounds(
    make_client: Any, flavour: str, imini_api: respx.MockRouter, tmp_path: Path
) -> None:
    own = _own_http_client(flavour)
    submit = imini_api.post("/v1/videos/generate").respond(200, json=SUBMITTED)
    client = make_client(http_client=own, timeout=7.0)
    await call(client.generate(KLING))
    sent = submit.calls.last.request
    assert str(sent.url).startswith(client.base_url)
    assert sent.headers["authorization"] == f"Bearer {API_KEY}"
    assert sent.headers["x-team"] == "video"  # the caller's own defaults still apply
    assert 0 < sent.extensions["timeout"]["read"] <= 7.0
    imini_api.get("/v1/videos/tasks/task_1").respond(200, content=b"x" * 2048)
    capped = make_client(http_client=own, max_response_bytes=1024)
    with pytest.raises(errors.MalformedResponseError, match="max_response_bytes"):
        await call(capped.get("task_1", max_retries=0))
    cdn = imini_api.get(CDN).respond(200, content=b"video")
    task = vidgate.Task(
        "task_1", "imini", Status.SUCCEEDED, "succeeded", videos=(vidgate.VideoOutput(url=CDN),)
    )
    assert (await call(client.download(task, tmp_path))).read_bytes() == b"video"
    assert "authorization" not in cdn.calls.last.request.headers
    if flavour == "sync":
        client.close()
    else:
        await client.aclose()
    assert not own.is_closed  # the caller's to close
    if isinstance(own, httpx.Client):
        own.close()
    else:
        await own.aclose()


def _unused(request: httpx.Request) -> httpx.Response:
    raise AssertionError("nothing is sent")


def test_http_client_is_checked(make_client: Any, flavour: str) -> None:
    other = httpx.AsyncClient() if flavour == "sync" else httpx.Client()
    with pytest.raises(errors.ConfigurationError, match="http_client must be"):
        make_client(http_client=other)
    with pytest.raises(errors.ConfigurationError, match="not both"):
        make_client(http_client=_own_http_client(flavour), transport=httpx.MockTransport(_unused))


# ---------------------------------------------------------------------------- watch()
async def _collect(watched: Any) -> list[Any]:
    if hasattr(watched, "__aiter__"):
        return [task async for task in watched]
    return list(watched)


def _replies(*states: tuple[str, int | None]) -> list[httpx.Response]:
    return [
        httpx.Response(
            200,
            json={
                "task_id": "task_1",
                "status": status,
                **({"progress": progress} if progress is not None else {}),
                **({"videos": [{"url": CDN}]} if status == "succeeded" else {}),
                **({"error": {"code": "E", "message": "no"}} if status == "failed" else {}),
            },
        )
        for status, progress in states
    ]


POLLS = [("queued", None), ("queued", None), ("processing", 10), ("processing", 10)]


async def test_watch_yields_each_new_state_on_the_wait_schedule(
    make_client: Any, imini_api: respx.MockRouter, fake_time: Any
) -> None:
    states = [*POLLS, ("processing", 60), ("succeeded", 100)]
    route = imini_api.get("/v1/videos/tasks/task_1")
    route.mock(side_effect=_replies(*states))
    watched = await _collect(make_client().watch("task_1", extra_headers={"X-W": "1"}))
    assert [(t.raw_status, t.progress) for t in watched] == [
        ("queued", None),
        ("processing", 10),
        ("processing", 60),
        ("succeeded", 100),
    ]
    assert route.calls.last.request.headers["x-w"] == "1"
    watch_sleeps, fake_time.sleeps = fake_time.sleeps, []
    route.mock(side_effect=_replies(*states))
    await call(make_client().wait("task_1"))  # same seed, same replies: the same schedule
    assert watch_sleeps == pytest.approx(fake_time.sleeps)
    assert len(watch_sleeps) == len(states) - 1


async def test_watch_ends_with_a_failed_task_instead_of_raising(
    make_client: Any, imini_api: respx.MockRouter
) -> None:
    imini_api.get("/v1/videos/tasks/task_1").mock(side_effect=_replies(*POLLS, ("failed", None)))
    watched = await _collect(make_client().watch("task_1"))
    assert [t.raw_status for t in watched] == ["queued", "processing", "failed"]
    assert watched[-1].error == {"code": "E", "message": "no"}


async def test_watch_keeps_the_wait_deadline(make_client: Any, imini_api: respx.MockRouter) -> None:
    imini_api.get("/v1/videos/tasks/task_1").respond(
        200, json={"task_id": "task_1", "status": "processing"}
    )
    with pytest.raises(errors.WaitTimeoutError):
        await _collect(make_client().watch("task_1", timeout=30))


# ---------------------------------------------------------------------------- cost
@pytest.mark.parametrize(
    ("reply", "cost", "credits"),
    [
        ({"cost": 0.35, "credits_cost": "120"}, 0.35, 120.0),
        ({"cost": "0.5"}, 0.5, None),
        ({"cost": "free", "credits_cost": True}, None, None),
        ({"cost": "nan", "credits_cost": None}, None, None),
        ({}, None, None),
    ],
)
async def test_apimart_task_cost(
    make_client: Any,
    apimart_api: respx.MockRouter,
    reply: dict[str, Any],
    cost: float | None,
    credits: float | None,
) -> None:
    data = {"id": "task_A", "status": "processing", **reply}
    apimart_api.get("/v1/tasks/task_A").respond(200, json={"code": 200, "data": data})
    task = await call(make_client("apimart").get("task_A"))
    assert (task.cost, task.credits_cost) == (cost, credits)


async def test_imini_says_nothing_of_cost(make_client: Any, imini_api: respx.MockRouter) -> None:
    imini_api.get("/v1/videos/tasks/task_1").respond(
        200, json={"task_id": "task_1", "status": "processing", "cost": 3}
    )
    task = await call(make_client().get("task_1"))
    assert (task.cost, task.credits_cost) == (None, None)


def test_the_pyright_checker_wants_every_marked_line_and_no_other() -> None:
    source = "a()  # E: call-overload\nb()\nc()  # E: arg-type\n"
    report = (
        "  /tmp/p/mistakes.py:1:1 - error: No overloads (reportCallIssue)\n"
        "  /tmp/p/mistakes.py:2:3 - error: oops (reportGeneralTypeIssues)\n"
        "  /tmp/p/consumer.py:3:1 - error: elsewhere (reportCallIssue)\n"
    )
    assert downstream.pyright_problems(source, report) == [
        "mistakes.py:3: pyright said nothing",
        "mistakes.py:2: unexpected pyright error",
    ]


def test_the_sync_and_async_clients_are_twins() -> None:
    """Same public methods with the same parameters (close/aclose aside)."""
    import inspect

    from vidgate.aio import AsyncClient
    from vidgate.client import SyncClient

    def surface(cls: type) -> dict[str, list[str]]:
        return {
            name: list(inspect.signature(member).parameters)
            for name, member in inspect.getmembers(cls, inspect.isfunction)
            if not name.startswith("_") and name not in ("close", "aclose")
        }

    sync, async_ = surface(SyncClient), surface(AsyncClient)
    assert sync == async_
    assert {"generate", "get", "wait", "watch", "download", "with_options"} <= set(sync)


async def test_download_takes_per_call_retries_and_never_sends_extras_to_the_file_url(
    make_client: Any, imini_api: respx.MockRouter, tmp_path: Path
) -> None:
    cdn = imini_api.get(CDN).respond(503)
    task = vidgate.Task(
        "task_1", "imini", Status.SUCCEEDED, "succeeded", videos=(vidgate.VideoOutput(url=CDN),)
    )
    client = make_client(max_retries=3)
    with pytest.raises(errors.DownloadError, match="HTTP 503"):
        await call(client.download(task, tmp_path, max_retries=0, extra_headers={"X-A": "1"}))
    assert cdn.call_count == 1
    assert "x-a" not in cdn.calls.last.request.headers


@pytest.mark.usefixtures("vidgate_env")  # the CLI page's exported variables cleared
def test_cli_status_json_shows_the_exchange_and_cost(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from conftest import BASE_URLS

    from vidgate.cli import main

    monkeypatch.setenv("APIMART_API_KEY", API_KEY)
    data = {"id": "task_A", "status": "processing", "cost": "0.25"}
    with respx.mock(base_url=BASE_URLS["apimart"]) as api:
        api.get("/v1/tasks/task_A").respond(
            200, json={"code": 200, "data": data}, headers={"X-Request-Id": "req-9"}
        )
        with pytest.raises(SystemExit) as done:
            main(["status", "task_A", "--gateway", "apimart", "--json"])
    assert done.value.code in (0, None)
    shown = json.loads(capsys.readouterr().out)
    assert shown["response"] == {"status": 200, "request_id": "req-9", "idempotency_replayed": None}
    assert (shown["cost"], shown["credits_cost"]) == (0.25, None)
