"""Synchronous clients: ``Imini`` and ``Apimart``.

from vidgate import Imini
with Imini() as client:                       # IMINI_API_KEY, IMINI_BASE_URL
    task = client.generate_and_wait(model="kling/kling-v3", prompt="an orange cat")
    client.download(task, "out/")
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self

import httpx

from vidgate import _core
from vidgate.types import SubmittedTask, Task

if TYPE_CHECKING:
    from vidgate.validation import Result

__all__ = ["Apimart", "Imini", "SyncClient"]

ByteProgress = Callable[[int, int | None], None]


class SyncClient:
    """A blocking client for one gateway (use ``Imini`` or ``Apimart``)."""

    gateway_name: ClassVar[str]

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 3,
        transport: httpx.BaseTransport | None = None,
        language: str | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
        seed: int | None = None,
    ) -> None:
        self._cfg = _core.Config.build(
            self.gateway_name, api_key, base_url, timeout, max_retries, language, clock, seed
        )
        self._sleep = sleep or time.sleep
        hooks = {"request": [self._cfg.log_request], "response": [self._cfg.log_response]}
        self._api = self._cfg.api_client(transport, hooks).get_httpx_client()
        self._files = httpx.Client(**self._cfg.files_args(transport))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self._cfg.base_url!r}, api_key='***')"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._api.close()
        self._files.close()

    @property
    def base_url(self) -> str:
        return self._cfg.base_url

    # ------------------------------------------------------------------------ API
    def validate(self, body: Any = None, /, **fields: Any) -> Result:
        """Check a body against the spec without sending anything."""
        from vidgate.validation import validator

        return validator(self._cfg.gateway.name).check(body if body is not None else fields)

    def generate(
        self,
        body: Any = None,
        /,
        *,
        idempotency_key: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
        **fields: Any,
    ) -> SubmittedTask:
        """Validate, then submit one task. ``body`` is a dict or a generated model; or use fields.

        Raises RequestValidationError (nothing sent), an APIError subclass, or
        APIConnectionError; ``may_have_been_submitted`` says whether a task could exist anyway.
        ``extra_body`` is merged into the body after validation and sent unchecked: the escape
        hatch for a parameter the gateway accepts before the spec lists it.
        """
        request, mode = self._cfg.submit_request(
            body if body is not None else fields, idempotency_key, extra_body
        )
        plan = self._cfg.retry_plan(submit=True, idempotent=self._cfg.idempotent(idempotency_key))
        response = self._carry_out(plan, request)
        submitted = self._cfg.gateway.parse_submit(
            self._cfg.json_of(response), response.status_code, mode
        )
        self._cfg.note_submit(submitted.id, request["json"])
        return submitted

    def get(self, task_id: str) -> Task:
        """The task as it is now (retried on 429, 5xx and connection failures)."""
        request = self._cfg.gateway.task_request(task_id, self._cfg.language)
        response = self._carry_out(self._cfg.retry_plan(submit=False, idempotent=True), request)
        return self._cfg.gateway.parse_task(self._cfg.json_of(response), response.status_code)

    def wait(
        self,
        task_id: str | SubmittedTask,
        *,
        timeout: float | None = None,
        on_progress: _core.ProgressCallback | None = None,
        poll_now: bool = True,
    ) -> Task:
        """Poll until the task ends; returns it if it succeeded, else raises TaskFailedError.

        Polls are placed around the predicted finish (progress, the gateway's estimate, run times
        of earlier tasks of the same kind: see vidgate.schedule), else back off from the spec's
        interval to its cap with jitter; never two closer than the interval. ``timeout``
        (default: the spec's budget) raises WaitTimeoutError. Ctrl-C raises WaitInterrupted,
        which carries the task id: the task itself goes on.
        """
        task_id = task_id.id if isinstance(task_id, SubmittedTask) else task_id
        plan = self._cfg.wait_plan(task_id, timeout, on_progress, poll_now)
        try:
            delay = next(plan)
            while True:
                if delay:
                    self._sleep(delay)
                delay = plan.send(self.get(task_id))
        except StopIteration as done:
            result: Task = done.value
            return result
        except KeyboardInterrupt as exc:
            from vidgate.errors import WaitInterrupted

            raise WaitInterrupted(task_id) from exc

    def generate_and_wait(
        self,
        body: Any = None,
        /,
        *,
        timeout: float | None = None,
        on_progress: _core.ProgressCallback | None = None,
        idempotency_key: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
        **fields: Any,
    ) -> Task:
        submitted = self.generate(
            body, idempotency_key=idempotency_key, extra_body=extra_body, **fields
        )
        return self.wait(submitted.id, timeout=timeout, on_progress=on_progress, poll_now=False)

    def download(
        self,
        task: Task | str,
        dest: str | Path = ".",
        *,
        what: str = "video",
        index: int = 0,
        overwrite: bool = False,
        on_progress: ByteProgress | None = None,
    ) -> Path:
        """Stream a result file (``video``, ``cover`` or ``last_frame``) to ``dest``.

        ``dest`` is a file, or a folder where the file is named after the task. Refuses to
        overwrite unless asked; raises URLExpiredError once the gateway's URL has expired.
        """
        task = self.get(task) if isinstance(task, str) else task
        url, expires_at = _core.download_source(task, what, index)
        path: Path = _core.download_target(task, url, dest, what, index, overwrite)
        part = path.with_name(path.name + ".part")
        attempt = 0
        while True:
            attempt += 1
            try:
                with self._files.stream("GET", url) as response:
                    if response.status_code == 200:
                        self._save(response, part, on_progress)
                        break
                    delay = _core.download_retry(
                        self._cfg, attempt, task, what, expires_at, response=response
                    )
            except httpx.TransportError as exc:
                delay = _core.download_retry(self._cfg, attempt, task, what, expires_at, exc=exc)
            self._sleep(delay)
        part.replace(path)
        return path

    # ------------------------------------------------------------------------ plumbing
    @staticmethod
    def _save(response: httpx.Response, part: Path, on_progress: ByteProgress | None) -> None:
        total, done = _core.content_length(response), 0
        with part.open("wb") as out:
            for chunk in response.iter_bytes():
                out.write(chunk)
                done += len(chunk)
                if on_progress:
                    on_progress(done, total)

    def _carry_out(self, plan: _core.RetryPlan, request: dict[str, Any]) -> httpx.Response:
        step = next(plan)
        try:
            while True:
                if step is _core.SEND:
                    outcome: httpx.Response | Exception | None
                    try:
                        outcome = self._api.request(**request)
                    except httpx.TransportError as exc:
                        outcome = exc
                else:
                    assert isinstance(step, float)
                    self._sleep(step)
                    outcome = None
                step = plan.send(outcome)
        except StopIteration as done:
            response: httpx.Response = done.value
            return response


class Imini(SyncClient):
    """The imini router (``IMINI_API_KEY``, ``IMINI_BASE_URL``)."""

    gateway_name = "imini"


class Apimart(SyncClient):
    """apimart (``APIMART_API_KEY``, ``APIMART_BASE_URL``)."""

    gateway_name = "apimart"
