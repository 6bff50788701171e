"""A downstream module typed against the installed vidgate wheel (mypy --strict must pass).

It uses what a team integrating vidgate uses: both clients, sync and async, the typed errors, the
task types, validation, and the generated pydantic and attrs models.
"""

from __future__ import annotations

from pathlib import Path

from vidgate_imini.models import KlingV3Request as KlingTransportModel
from vidgate_models.apimart import HappyHorseRequest as ApimartHappyHorse
from vidgate_models.imini import KlingV3Request
from vidgate_specs.imini import SPEC

import vidgate
from vidgate import (
    APIError,
    AsyncApimart,
    Imini,
    RateLimitError,
    RequestValidationError,
    Result,
    Status,
    SubmittedTask,
    Task,
    TaskFailedError,
    VideoOutput,
)

__all__ = ["check", "describe", "kling_body", "render", "render_async", "spec_title"]


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
