"""The mock gateway behaves as the docs say the real ones do, and does what tests ask of it."""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx
import pytest
import test_rules as rules

import vidgate
from vidgate import errors, spec
from vidgate.mock import DEFAULT_KEY, MockGateway, Timing, media

AUTH = {"Authorization": f"Bearer {DEFAULT_KEY}"}
SUBMIT = {"imini": "/v1/videos/generate", "apimart": "/v1/videos/generations"}
TASK = {"imini": "/v1/videos/tasks/{}", "apimart": "/v1/tasks/{}"}


class Clock:
    def __init__(self) -> None:
        self.now = 1_763_700_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def mock(clock: Clock) -> Any:
    with MockGateway(timing=Timing(queue_s=2, run_s=10), clock=clock) as gateway:
        yield gateway


@pytest.fixture
def http(mock: MockGateway) -> Any:
    with httpx.Client(base_url="http://mock", transport=mock.transport()) as client:
        yield client


def _task_id(gateway: str, reply: httpx.Response) -> str:
    data = reply.json()
    return str(data["task_id"] if gateway == "imini" else data["data"][0]["task_id"])


def test_imini_lifecycle_follows_the_clock(
    mock: MockGateway, http: httpx.Client, clock: Clock
) -> None:
    body = {
        "model": "doubao/seedance-2.0",
        "prompt": "p",
        "extra_params": {"return_last_frame": True},
    }
    reply = http.post("/imini" + SUBMIT["imini"], json=body, headers=AUTH)
    assert reply.status_code == 200
    assert set(reply.json()) == {"task_id", "model", "created_at", "request_id"}
    url = "/imini" + TASK["imini"].format(_task_id("imini", reply))
    seen = []
    for _ in range(8):
        data = http.get(url, headers=AUTH).json()
        seen.append(data["status"])
        clock.now += 2
    assert seen == ["queued"] + ["processing"] * 5 + ["succeeded"] * 2
    assert data["completed_at"] is not None
    (video,) = data["videos"]
    assert {"url", "width", "height", "duration", "cover_url", "last_frame_url"} <= set(video)
    files = [http.get(video[k]) for k in ("url", "cover_url", "last_frame_url")]
    assert [f.content for f in files] == [media.video(), media.cover(), media.last_frame()]
    assert files[0].content[4:8] == b"ftyp"
    assert files[0].headers["content-type"] == "video/mp4"


def test_apimart_lifecycle_progress_and_expiry(mock: MockGateway, clock: Clock) -> None:
    client = mock.client(
        "apimart", clock=clock, sleep=lambda s: setattr(clock, "now", clock.now + s)
    )
    submitted = client.generate(model="happyhorse-1.0", prompt="waves")
    seen: list[tuple[str, int | None]] = []
    task = client.wait(submitted.id, on_progress=lambda t: seen.append((t.raw_status, t.progress)))
    statuses = [s for s, _ in seen]
    assert statuses[0] == "pending"
    assert statuses[-1] == "completed"
    assert "processing" in statuses
    progress = [p or 0 for _, p in seen]
    assert progress == sorted(progress)
    assert task.estimated_seconds == 12
    assert task.completed_at is not None
    assert task.created_at is not None
    assert (task.completed_at - task.created_at).total_seconds() == 12
    assert task.videos[0].expires_at is not None
    clock.now = task.videos[0].expires_at.timestamp() + 1
    with pytest.raises(errors.URLExpiredError):
        client.download(task, "/tmp/vidgate-never-written.mp4")


@pytest.mark.parametrize("gateway", spec.GATEWAYS)
def test_authentication(http: httpx.Client, gateway: spec.Gateway) -> None:
    body = rules.BASES[(gateway, rules.KL if gateway == "imini" else rules.AH)]["text"]
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": DEFAULT_KEY}):
        reply = http.post(f"/{gateway}{SUBMIT[gateway]}", json=body, headers=headers)
        assert reply.status_code == 401
        assert "error" in reply.json()
    reply = http.get(f"/{gateway}" + TASK[gateway].format("task_nope"), headers=AUTH)
    assert reply.status_code == 404


@pytest.mark.parametrize(
    ("key", "valid", "invalid"),
    [pytest.param(k, v, i, id=f"{k[0]}|{k[1]}") for k, (v, i) in rules.RULES.items()],
)
def test_every_cross_field_rule_is_enforced_with_its_code(
    mock: MockGateway, http: httpx.Client, key: tuple[str, str], valid: Any, invalid: Any
) -> None:
    model = key[0]
    gateway = rules.GATEWAY_OF[model]
    assert http.post(f"/{gateway}{SUBMIT[gateway]}", json=valid, headers=AUTH).status_code == 200
    reply = http.post(f"/{gateway}{SUBMIT[gateway]}", json=invalid, headers=AUTH)
    assert reply.status_code == 400
    expected = next(v.code for v in vidgate.validator(gateway).check(invalid).violations)
    if expected:
        assert reply.json()["error"]["code"] == expected
    assert len(mock.ledger) == 1


def test_scripted_outcomes(mock: MockGateway, clock: Clock) -> None:
    imini = mock.client("imini", sleep=lambda s: setattr(clock, "now", clock.now + s), clock=clock)
    with pytest.raises(errors.TaskFailedError) as failed:
        imini.generate_and_wait(model="kling/kling-v3", prompt="x [mock:fail=SAFETY_BLOCK]")
    assert failed.value.code == "SAFETY_BLOCK"
    with pytest.raises(errors.BadRequestError) as refused:
        imini.generate(model="kling/kling-v3", prompt="x [mock:reject]")
    assert refused.value.code == "INVALID_PROMPT"
    apimart = mock.client(
        "apimart", sleep=lambda s: setattr(clock, "now", clock.now + s), clock=clock
    )
    with pytest.raises(errors.TaskFailedError, match="cancelled"):
        apimart.generate_and_wait(model="happyhorse-1.0", prompt="x [mock:cancel]")


def test_faults_and_the_ledger(mock: MockGateway) -> None:
    client = mock.client("apimart", sleep=lambda s: None, max_retries=3)
    body = {"model": "happyhorse-1.0", "prompt": "p"}
    mock.faults.script("submit", "drop-before")
    assert client.generate(body).id  # drop-before is retried: it never reached the gateway
    assert len(mock.ledger) == 1
    mock.faults.script("submit", "drop-after")
    with pytest.raises(errors.APIConnectionError) as lost:
        client.generate(body)
    assert lost.value.may_have_been_submitted
    assert len(mock.ledger) == 2  # the gateway did take it: the client must not resend
    mock.faults.script("submit", "drop-after", "502")
    assert client.generate(body, idempotency_key="job-42").id
    assert mock.ledger.keys()[-1] == "job-42"
    assert len(mock.ledger) == 3  # the retry with the same key found the same task
    mock.faults.script("task", "429", "500", "502", "malformed")
    task_id = mock.ledger.entries[-1].task_id
    with pytest.raises(errors.MalformedResponseError):
        client.get(task_id)
    assert mock.faults.injected == {
        "drop-before": 1,
        "drop-after": 2,
        "502": 2,
        "429": 1,
        "500": 1,
        "malformed": 1,
    }


def test_rate_limit_fault_sends_retry_after(mock: MockGateway, http: httpx.Client) -> None:
    from vidgate.mock import Fault

    mock.faults.script("task", Fault("429", retry_after=7))
    reply = http.get("/imini" + TASK["imini"].format("x"), headers=AUTH)
    assert reply.status_code == 429
    assert reply.headers["retry-after"] == "7"
    assert reply.json()["error"]["code"] == "RATE_LIMITED"


def test_fault_chances_are_seeded(clock: Clock) -> None:
    def run() -> dict[str, int]:
        with MockGateway(clock=clock, seed=3) as mock:
            mock.faults.chance("task", 0.3, "500")
            mock.faults.chance("task", 0.2, "429")
            for _ in range(200):
                mock.faults.next("task")
            return mock.faults.injected

    first = run()
    assert first == run()
    assert 40 <= first["500"] <= 80
    assert 20 <= first["429"] <= 60


def test_every_spec_example_is_accepted(mock: MockGateway, http: httpx.Client) -> None:
    for gateway in spec.GATEWAYS:
        doc = spec.document(gateway)
        _, op = spec.submit_operation(doc)
        for example in op["requestBody"]["content"]["application/json"]["examples"].values():
            body = copy.deepcopy(example["value"])
            reply = http.post(
                f"/{gateway}{SUBMIT[gateway]}",
                content=json.dumps(body),
                headers={**AUTH, "Content-Type": "application/json"},
            )
            assert reply.status_code == 200, reply.text


@pytest.mark.parametrize("gateway", spec.GATEWAYS)
def test_a_body_not_sent_as_json_is_refused(gateway: spec.Gateway, http: httpx.Client) -> None:
    doc = spec.document(gateway)
    body_spec = spec.submit_operation(doc)[1]["requestBody"]
    answer = body_spec["x-vidgate-other-media-types"]
    assert answer["x-vidgate-source"] == "gap"
    model = next(iter(spec.request_schema_names(doc)))
    text = json.dumps({"model": model, "prompt": "a cat"})
    url = f"/{gateway}{SUBMIT[gateway]}"
    sent_as: list[dict[str, Any]] = [
        {"content": text, "headers": {**AUTH, "Content-Type": "text/plain"}},
        {"data": {"model": model, "prompt": "a cat"}, "headers": AUTH},
    ]
    for kwargs in sent_as:
        reply = http.post(url, **kwargs)
        assert reply.status_code == answer["status"], reply.text
        assert "application/json" in reply.json()["error"]["message"]
    ok = http.post(
        url, content=text, headers={**AUTH, "Content-Type": "application/json; charset=utf-8"}
    )
    assert ok.status_code == 200, ok.text


@pytest.mark.parametrize(
    ("gateway", "model"), [("imini", "kling/kling-v3"), ("apimart", "happyhorse-1.0")]
)
def test_result_files_download_through_the_in_process_transports(
    gateway: spec.Gateway, model: str, tmp_path: Any
) -> None:
    """The sync transport hands the body over as a stream, so the client's Content-Length check
    counts every byte (a pre-read body once made every sync download 'end after 0 bytes')."""
    import asyncio

    body = {"model": model, "prompt": "a cat"}
    with MockGateway(timing=Timing(queue_s=0, run_s=0)) as gateway_mock:
        with gateway_mock.client(gateway, sleep=lambda s: None) as client:
            task = client.generate_and_wait(body)
            path = client.download(task, tmp_path / "sync")
        assert path.read_bytes() == media.video()

        async def fetch() -> Any:
            async with gateway_mock.async_client(gateway) as aclient:
                done = await aclient.generate_and_wait(body)
                return await aclient.download(done, tmp_path / "async")

        assert asyncio.run(fetch()).read_bytes() == media.video()


def test_a_transport_that_read_the_body_already_still_downloads(tmp_path: Any) -> None:
    """httpx.MockTransport hands over bodies already read (no raw bytes are counted)."""
    from vidgate.types import Status, Task, VideoOutput

    content = b"\0" * 1000
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=content))
    video = VideoOutput(url="https://cdn.example/v.mp4")
    task = Task("t1", "imini", Status.SUCCEEDED, "completed", videos=(video,))
    with vidgate.Imini(api_key="sk-test", transport=transport) as client:
        assert client.download(task, tmp_path).read_bytes() == content


# ---------------------------------------------------------------------------- reply versions
def _version() -> tuple[str, str]:
    submit = spec.submit_operation(spec.document("apimart"))[1]
    header = next(p for p in submit["parameters"] if p["name"].endswith("Response-Version"))
    return header["name"], header["schema"]["default"]


def test_apimart_answers_in_the_version_asked_for_and_marks_replays(
    mock: MockGateway, http: httpx.Client
) -> None:
    header, version = _version()
    body = {"model": "happyhorse-1.0", "prompt": "p"}
    url = "/apimart" + SUBMIT["apimart"]
    legacy = http.post(url, json=body, headers=AUTH)
    assert isinstance(legacy.json()["data"], list)
    assert "idempotency-replayed" not in legacy.headers
    keyed = {**AUTH, "Idempotency-Key": "k-1", header: version}
    first, again = (http.post(url, json=body, headers=keyed) for _ in range(2))
    assert first.json()["data"]["id"] == again.json()["data"]["id"]
    assert first.json()["data"]["object"] == "generation.task"
    assert (first.headers[header], first.headers["idempotency-replayed"]) == (version, "false")
    assert again.headers["idempotency-replayed"] == "true"
    unknown = http.post(url, json=body, headers={**keyed, "Idempotency-Key": "k-2", header: "x"})
    assert isinstance(unknown.json()["data"], list)  # a version it does not speak: the pages'
    assert len(mock.ledger) == 3


def test_apimart_says_202_while_the_first_request_with_the_key_is_in_progress() -> None:
    import asyncio

    from vidgate.mock import Fault

    header, version = _version()
    with MockGateway() as mock:
        mock.faults.script("submit", Fault("slow", delay_s=0.3))

        async def both() -> list[httpx.Response]:
            async with httpx.AsyncClient(
                base_url="http://mock", transport=mock.async_transport()
            ) as http:
                keyed = {**AUTH, "Idempotency-Key": "k-1", header: version}
                url = "/apimart" + SUBMIT["apimart"]
                body = {"model": "happyhorse-1.0", "prompt": "p"}
                first = asyncio.ensure_future(http.post(url, json=body, headers=keyed))
                await asyncio.sleep(0.1)
                second = await http.post(url, json=body, headers=keyed)
                third = await http.post(url, json=body, headers={**AUTH, "Idempotency-Key": "k-9"})
                return [await first, second, third]

        first, second, third = asyncio.run(both())
        assert first.status_code == 200
        assert third.status_code == 200
        assert second.status_code == 202
        assert int(second.headers["retry-after"]) >= 0
        assert len(mock.ledger) == 2  # the 202 created nothing


def test_two_async_submits_with_one_key_end_on_one_task() -> None:
    import asyncio

    from vidgate.mock import Fault

    with MockGateway() as mock:
        mock.faults.script("submit", Fault("slow", delay_s=0.3))

        async def both() -> tuple[Any, Any]:
            async def pause(seconds: float) -> None:
                await asyncio.sleep(0.2)

            client = mock.async_client("apimart", sleep=pause)
            try:
                body = {"model": "happyhorse-1.0", "prompt": "p"}
                first = asyncio.ensure_future(client.generate(body, idempotency_key="k-1"))
                await asyncio.sleep(0.05)
                second = await client.generate(body, idempotency_key="k-1")
                return await first, second
            finally:
                await client.aclose()

        first, second = asyncio.run(both())
    assert first.id == second.id
    assert (first.replayed, second.replayed) == (False, True)
    assert len(mock.ledger) == 1


# ---------------------------------------------------------------------------- reply readings
def test_apimart_error_envelopes_carry_integer_codes_and_the_types_per_status(
    mock: MockGateway, http: httpx.Client
) -> None:
    detail = spec.document("apimart")["components"]["schemas"]["ErrorDetail"]
    types = detail["properties"]["type"]["x-vidgate-by-status"]
    url = "/apimart" + TASK["apimart"].format("x")
    mock.faults.script("task", "429-bare", "500")
    replies = [http.get(url, headers=AUTH) for _ in range(2)]
    replies.append(http.get(url))  # 401
    replies.append(http.post("/apimart" + SUBMIT["apimart"], json={"model": 1}, headers=AUTH))
    seen = {r.status_code: r.json()["error"] for r in replies}
    assert set(seen) == {400, 401, 429, 500}
    for status, error in seen.items():
        assert (error["code"], error["type"]) == (status, types[str(status)])


def test_rate_limit_faults_without_retry_after_and_with_a_date(
    mock: MockGateway, http: httpx.Client, clock: Clock
) -> None:
    import email.utils

    from vidgate.mock import Fault

    mock.faults.script("task", "429-bare", Fault("429-date", retry_after=30), "408")
    url = "/imini" + TASK["imini"].format("x")
    bare, dated, timeout = (http.get(url, headers=AUTH) for _ in range(3))
    assert bare.status_code == 429
    assert "retry-after" not in bare.headers
    when = email.utils.parsedate_to_datetime(dated.headers["retry-after"])
    assert when.timestamp() == int(clock.now) + 30
    assert timeout.status_code == 408


def test_apimart_result_urls_live_as_long_as_the_version_says(clock: Clock) -> None:
    reading = spec.document("apimart")["components"]["schemas"]["VideoResult"][
        "x-vidgate-url-lifetime"
    ]
    with MockGateway(clock=clock) as mock:
        keyed = mock.client("apimart", clock=clock).generate(
            model="happyhorse-1.0", prompt="p", idempotency_key="k-1"
        )
        bare = mock.client("apimart", clock=clock).generate(model="happyhorse-1.0", prompt="p")
        client = mock.client("apimart", clock=clock)
        ends = [client.get(t.id).videos[0].expires_at for t in (keyed, bare)]
        lives = [end.timestamp() - clock.now for end in ends if end is not None]
    assert lives == [reading["seconds"], reading["legacy_seconds"]]


def test_the_request_log_keeps_the_latest_requests_in_order() -> None:
    from vidgate.mock.state import RequestLog

    log = RequestLog(maxlen=3)
    assert list(log) == []
    for n, route in enumerate(["submit", "task", "file", "task", "submit"]):
        log.append((float(n), route))
    assert len(log) == 3
    assert list(log) == [(2.0, "file"), (3.0, "task"), (4.0, "submit")]
    log.append((5.0, "task"))
    assert [route for _, route in log] == ["task", "submit", "task"]
