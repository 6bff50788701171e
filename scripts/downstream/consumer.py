"""A downstream module typed against the installed vidgate wheel (mypy --strict must pass).

It uses what a team integrating vidgate uses: both clients, sync and async, the typed errors, the
task types, validation, and the generated pydantic and attrs models; and the typed surface:
per-model keyword calls and TypedDict bodies (vidgate_typed), per-call options, with_options,
http_client=, raw responses, watch(), cost, typed task errors and the JSON alias.
"""

from __future__ import annotations

from pathlib import Path

import httpx
from vidgate_imini.models import KlingV3Request as KlingTransportModel
from vidgate_models.apimart import HappyHorseRequest as ApimartHappyHorse
from vidgate_models.imini import KlingV3Request
from vidgate_specs.imini import SPEC
from vidgate_typed.apimart import HappyHorseRequestParam
from vidgate_typed.imini import KlingV3RequestParam, ModelName

import vidgate
from vidgate import (
    JSON,
    APIError,
    AsyncApimart,
    AsyncImini,
    Imini,
    RateLimitError,
    RawResponse,
    RequestValidationError,
    Result,
    Status,
    SubmittedTask,
    Task,
    TaskError,
    TaskFailedError,
    VideoOutput,
)

__all__ = [
    "check",
    "describe",
    "kling_body",
    "render",
    "render_async",
    "spec_title",
    "typed_async",
    "typed_sync",
]


def kling_body(prompt: str, seconds: int) -> KlingV3Request:
    """A request built with the generated pydantic model (field types checked by mypy)."""
    return KlingV3Request(model="kling/kling-v3", prompt=prompt, duration=seconds)


def transport_body(prompt: str) -> dict[str, object]:
    """The same body through the generated attrs transport model."""
    return KlingTransportModel.from_dict({"model": "kling/kling-v3", "prompt": prompt}).to_dict()


def apimart_body(prompt: str) -> ApimartHappyHorse:
    return ApimartHappyHorse(model="happyhorse-1.0", prompt=prompt)


def check(client: Imini, prompt: str, seconds: int) -> list[str]:
    """Every broken rule as 'path: message [rule]'; empty when the body is valid."""
    result: Result = client.validate(model="kling/kling-v3", prompt=prompt, duration=seconds)
    return [f"{v.path}: {v.message} [{v.rule}]" for v in result.violations]


def describe(task: Task) -> str:
    videos: tuple[VideoOutput, ...] = task.videos
    state: Status = task.status
    first = videos[0].url if videos else "no video"
    return f"{task.id} {state.value} ({task.raw_status}, {task.progress or 0}%): {first}"


def render(client: Imini, prompt: str, out: Path) -> Path | None:
    """Submit, wait and download; None when the gateway or the task says no."""
    try:
        submitted: SubmittedTask = client.generate(
            kling_body(prompt, 5).model_dump(exclude_unset=True)
        )
        task = client.wait(submitted, timeout=60)
    except RequestValidationError as exc:
        print(", ".join(v.rule for v in exc.violations))
        return None
    except RateLimitError as exc:
        print(f"slow down: retry after {exc.retry_after}")
        return None
    except TaskFailedError as exc:
        print(f"task {exc.task_id} failed: {exc.code}")
        return None
    except APIError as exc:
        print(f"{exc.status} {exc.code} {exc.request_id}")
        return None
    path: Path = client.download(task, out)
    return path


async def render_async(client: AsyncApimart, prompt: str) -> str:
    task = await client.generate_and_wait(apimart_body(prompt).model_dump(exclude_unset=True))
    return describe(task)


def spec_title() -> str:
    info = SPEC["info"]
    return f"{info['title']} (vidgate {vidgate.__version__})"


# ---------------------------------------------------------------------------- the typed surface
def reason(error: TaskError | None) -> str:
    if error is None:
        return "no reason given"
    code: str | int | None = error.get("code")
    return f"{code}: {error.get('message', '')}"


def request_id(response: RawResponse | None) -> str:
    if response is None:
        return "-"
    replayed = response.idempotency_replayed
    return f"{response.status} {response.request_id} replayed={replayed}"


def envelope_code(raw: JSON) -> int | None:
    """The JSON alias makes a caller narrow before indexing."""
    if isinstance(raw, dict):
        code = raw.get("code")
        return code if isinstance(code, int) else None
    return None


def typed_sync(client: Imini, out: Path) -> list[str]:
    """Per-model keywords, a TypedDict body, options, raw responses, watch and download."""
    known: tuple[ModelName, ...] = ("kling/kling-v3", "doubao/seedance-2.0")
    ok = bool(client.validate(model="kling/kling-v3", prompt="a cat", aspect_ratio="1:1"))
    body: KlingV3RequestParam = {
        "model": "kling/kling-v3",
        "prompt": "a cat",
        "reference_images": [{"url": "https://example.com/cat.png", "reference_type": "asset"}],
    }
    quick = client.with_options(timeout=30.0, max_retries=1, extra_headers={"X-Team": "video"})
    submitted: SubmittedTask = quick.generate(
        model="kling/kling-v3",
        prompt="a cat",
        duration=5,
        extra_query={"trace": "1"},
        timeout=20.0,
    )
    lines = [f"valid={ok} of {len(known)}", request_id(submitted.response)]
    states = [f"{t.raw_status}:{t.progress}" for t in quick.watch(submitted, request_timeout=10.0)]
    lines.append(" -> ".join(states))
    try:
        task: Task = quick.generate_and_wait(body, timeout=120.0, max_retries=2)
    except TaskFailedError as exc:
        failed: Task = exc.task
        return [*lines, f"{failed.id} failed: {reason(failed.error)}"]
    path: Path = quick.download(task, out, what="video", overwrite=True, max_retries=1)
    return [*lines, request_id(task.response), str(task.cost), path.name]


async def typed_async(
    http: httpx.AsyncClient, imini: AsyncImini, api_key: str, base_url: str
) -> list[str]:
    """An async client on the caller's own httpx.AsyncClient, apimart's cost, async watch."""

    async def no_sleep(seconds: float) -> None:
        return None

    apimart = AsyncApimart(api_key, base_url=base_url, http_client=http, sleep=no_sleep)
    async with apimart:
        body: HappyHorseRequestParam = {"model": "happyhorse-1.0", "prompt": "waves"}
        task = await apimart.generate_and_wait(body, request_timeout=15.0)
        first = await apimart.generate(
            model="happyhorse-1.0", prompt="snow", size="9:16", idempotency_key="consumer-key-1"
        )
        seen = [t.status.value async for t in apimart.watch(first.id, extra_headers={"X": "1"})]
    started = await imini.generate(model="doubao/seedance-2.0", prompt="rain", resolution="480P")
    async for state in imini.watch(started):
        seen.append(state.raw_status)
    credits: float | None = task.credits_cost
    return [str(task.cost), str(credits), str(envelope_code(task.raw)), *seen]
