# generated from src/vidgate/aio.py by scripts/unasync.py; do not edit (make generate)
"""Synchronous clients: ``Imini`` and ``Apimart``.

from vidgate import Imini
with Imini() as client:                       # IMINI_API_KEY, IMINI_BASE_URL
    task = client.generate_and_wait(model="kling/kling-v3", prompt="an orange cat")
    client.download(task, "out/")
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator, Mapping
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self

import httpx
from vidgate_typed import apimart as _apimart
from vidgate_typed import imini as _imini

from vidgate import _core, _files, _twin
from vidgate._options import Configurable
from vidgate.errors import (
    APITimeoutError,
    DownloadError,
    MalformedResponseError,
    TaskFailedError,
    WaitInterrupted,
)
from vidgate.types import SubmittedTask, Task

if TYPE_CHECKING:
    from vidgate.validation import Result

__all__ = [
    "Apimart",
    "Imini",
    "SyncClient",
    "client_for",
]


ByteProgress = Callable[[int, int | None], None]


class SyncClient(Configurable):
    """A blocking client for one gateway (use ``Imini`` or ``Apimart``).

    Every request method takes ``extra_headers``, ``extra_query`` and ``max_retries``, and a
    per-exchange ``timeout`` (``request_timeout`` in the wait family, where ``timeout`` is the
    wait's budget); ``with_options(...)`` returns a configured copy (see vidgate._options).
    A header name or value that cannot be sent (not an RFC 9110 token; a line break, control or
    non-ASCII character) raises ConfigurationError naming the header, never showing its value;
    so does a call on a closed client or a closed ``http_client``. Nothing is sent in either
    case."""

    gateway_name: ClassVar[str]
    """The gateway the class talks to, by the name ``client_for`` and the specs use (set by
    each subclass)."""

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 3,
        transport: httpx.BaseTransport | None = None,
        http_client: httpx.Client | None = None,
        language: str | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
        seed: int | None = None,
        max_response_bytes: int | None = None,
        max_download_bytes: int | None = None,
        download_timeout: float | None = None,
        response_version: str | bool = True,
    ) -> None:
        """``timeout`` bounds each API exchange as a whole (connect, send, headers and body);
        ``max_response_bytes`` an API reply, ``max_download_bytes`` and ``download_timeout``
        one result file (defaults in vidgate._core). ``response_version`` is the reply contract
        asked for with every idempotency key on apimart (``X-APIMart-Response-Version``): True,
        the spec's default, as apimart's own client sends it; a string, that version; False,
        none (the pages' reply shape).

        ``http_client``: your own ``httpx.Client`` (proxies, limits, mTLS, instrumentation)
        for the API and the result files. vidgate still sends absolute URLs and the key per
        request, sets each exchange's timeout, caps replies and downloads and redacts; the client
        stays yours: ``close()`` leaves it open."""
        self._cfg = _core.Config.build(
            self.gateway_name,
            api_key,
            base_url,
            timeout,
            max_retries,
            language,
            clock,
            seed,
            response_version,
            max_response_bytes=max_response_bytes,
            max_download_bytes=max_download_bytes,
            download_timeout=download_timeout,
        )
        self._sleep = sleep or time.sleep

        def on_request(request: httpx.Request) -> None:
            self._cfg.log_request(request)

        def on_response(response: httpx.Response) -> None:
            self._cfg.log_response(response)

        if self._cfg.own_http_client(http_client, httpx.Client, transport):
            assert http_client is not None
            self._external = True
            self._api = self._files = http_client
            return
        hooks = {"request": [on_request], "response": [on_response]}
        self._api = self._cfg.api_client(transport, hooks).get_httpx_client()
        self._files = httpx.Client(**self._cfg.files_args(transport))

    def __repr__(self) -> str:
        """The class and base URL; the API key shows as ``'***'``."""
        return f"{type(self).__name__}(base_url={self._cfg.base_url!r}, api_key='***')"

    def __enter__(self) -> Self:
        """The client itself; leaving the ``with`` block calls ``close``."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Call ``close``."""
        self.close()

    def close(self) -> None:
        """Close the connections vidgate opened (a caller's http_client stays open)."""
        if not self._external:
            self._api.close()
            self._files.close()

    @property
    def base_url(self) -> str:
        """The base URL the API requests go to: ``base_url=``, else the gateway's base-URL
        environment variable, else the spec's default."""
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
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        **fields: Any,
    ) -> SubmittedTask:
        """Validate, then submit one task. ``body`` is a dict or a generated model; or use fields.

        Raises RequestValidationError or ConfigurationError (nothing sent), an APIError
        subclass, or APIConnectionError; ``may_have_been_submitted`` says whether a task could
        exist anyway. ``extra_body`` is merged into the body after validation and sent
        unchecked: the escape hatch for a parameter the gateway accepts before the spec lists it.
        ``idempotency_key`` only where the spec has an idempotency header (apimart): on imini it
        is a ConfigurationError, since the gateway would make a task per call.
        """
        call = self._per_call(extra_headers, extra_query, timeout, max_retries)
        body = body if body is not None else fields
        return call._generate(body, idempotency_key, extra_body)

    def _generate(
        self, body: Any, idempotency_key: str | None, extra_body: Mapping[str, Any] | None
    ) -> SubmittedTask:
        request, mode = self._cfg.submit_request(body, idempotency_key, extra_body)
        idempotent = self._cfg.idempotent(idempotency_key)
        attempt = 0
        while True:
            plan = self._cfg.retry_plan(submit=True, idempotent=idempotent)
            response = self._carry_out(plan, request)
            try:
                data, raw = self._cfg.json_of(response)
                submitted = self._cfg.gateway.parse_submit(
                    data, response.status_code, mode, response.headers
                )
                self._cfg.note_submit(submitted.id, request["json"])
                return _core.with_response(submitted, response, raw)
            except MalformedResponseError as exc:
                if not idempotent:  # the task may exist: never sent again without a key
                    raise
                attempt += 1  # the key makes asking again safe
                self._sleep(self._cfg.after_malformed(exc, attempt))

    def get(
        self,
        task_id: str,
        *,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> Task:
        """The task as it is now (retried on 429, 5xx and connection failures)."""
        call = self._per_call(extra_headers, extra_query, timeout, max_retries)
        return call._get(task_id, None)

    def _get(self, task_id: str, end: float | None) -> Task:
        request = self._cfg.gateway.task_request(task_id, self._cfg.language)
        plan = self._cfg.retry_plan(submit=False, idempotent=True)
        response = self._carry_out(plan, request, end)
        data, raw = self._cfg.json_of(response)
        task = self._cfg.gateway.parse_task(data, response.status_code)
        return _core.with_response(task, response, raw)

    def wait(
        self,
        task_id: str | SubmittedTask,
        *,
        timeout: float | None = None,
        on_progress: _core.ProgressCallback | None = None,
        poll_now: bool = True,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
        request_timeout: float | None = None,
        max_retries: int | None = None,
    ) -> Task:
        """Poll until the task ends; returns it if it succeeded, else raises TaskFailedError.

        Polls are placed around the predicted finish (progress, the gateway's estimate, run times
        of earlier tasks of the same kind: see vidgate.schedule), else back off from the spec's
        interval to its cap with jitter; never two closer than the interval. ``timeout``
        (default: the spec's budget) raises WaitTimeoutError. Ctrl-C raises WaitInterrupted,
        which carries the task id: the task itself goes on.
        """
        call = self._per_call(extra_headers, extra_query, request_timeout, max_retries)
        return call._wait(task_id, timeout, on_progress, poll_now)

    def _wait(
        self,
        task_id: str | SubmittedTask,
        timeout: float | None,
        on_progress: _core.ProgressCallback | None,
        poll_now: bool,
    ) -> Task:
        polls = _core.Polls(self._cfg, task_id, timeout, on_progress, poll_now)
        while not polls.finished:
            self._poll(polls)
        assert polls.last is not None  # finished: the plan ended on the succeeded task
        return polls.last

    def watch(
        self,
        task_id: str | SubmittedTask,
        *,
        timeout: float | None = None,
        poll_now: bool = True,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
        request_timeout: float | None = None,
        max_retries: int | None = None,
    ) -> Iterator[Task]:
        """Each new state of the task (status or progress changed), polled on `wait`'s
        schedule; the last one is terminal. A failed or cancelled task is yielded, not raised
        (look at ``task.succeeded``); the deadline raises WaitTimeoutError as in wait.
        Use as ``for task in client.watch(task_id): ...``."""
        call = self._per_call(extra_headers, extra_query, request_timeout, max_retries)
        seen: Task | None = None
        try:
            with closing(call._polls(task_id, timeout, None, poll_now)) as polls:
                for task in polls:
                    if _core.new_state(seen, task):
                        seen = task
                        yield task
        except TaskFailedError as failed:
            if _core.new_state(seen, failed.task):
                yield failed.task

    def _polls(
        self,
        task_id: str | SubmittedTask,
        timeout: float | None,
        on_progress: _core.ProgressCallback | None,
        poll_now: bool,
    ) -> Generator[Task]:
        """Every poll's task, on the wait plan's schedule, ending with the succeeded task;
        raises TaskFailedError, WaitTimeoutError or WaitInterrupted as wait does."""
        polls = _core.Polls(self._cfg, task_id, timeout, on_progress, poll_now)
        while not polls.finished:
            if self._poll(polls):
                assert polls.last is not None
                yield polls.last

    def _poll(self, polls: _core.Polls) -> bool:
        """One poll on the wait plan's schedule; False after an unusable reply (one bad poll
        does not end a wait: it is asked again after a delay). A Ctrl-C (or a cancel) here
        stops the wait with the wait's own error, which carries the task id."""
        try:
            delay = polls.next_delay()
            if delay:
                self._sleep(delay)
            try:
                task = self._get(polls.task_id, polls.end)
            except MalformedResponseError as exc:
                polls.unusable(exc)
                return False
            except APITimeoutError:
                late = polls.timed_out()
                if late is None:
                    raise
                raise late from None
            polls.seen(task)
            return True
        except KeyboardInterrupt as exc:
            raise WaitInterrupted(polls.task_id) from exc

    def generate_and_wait(
        self,
        body: Any = None,
        /,
        *,
        timeout: float | None = None,
        on_progress: _core.ProgressCallback | None = None,
        idempotency_key: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
        request_timeout: float | None = None,
        max_retries: int | None = None,
        **fields: Any,
    ) -> Task:
        """generate, then wait (``timeout`` is the wait's budget, see `wait`)."""
        call = self._per_call(extra_headers, extra_query, request_timeout, max_retries)
        body = body if body is not None else fields
        # only the id is kept while waiting (not the submit reply): less held per task in flight
        task_id = (call._generate(body, idempotency_key, extra_body)).id
        return call._wait(task_id, timeout, on_progress, False)

    def download(
        self,
        task: Task | str,
        dest: str | Path = ".",
        *,
        what: _core.FileKind = "video",
        index: int = 0,
        overwrite: bool = False,
        on_progress: ByteProgress | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> Path:
        """Stream a result file (``video``, ``cover`` or ``last_frame``) to ``dest``.

        ``dest`` is a file, or a folder where the file is named after the task. Refuses to
        overwrite unless asked; raises URLExpiredError once the gateway's URL has expired.
        ``extra_headers`` and ``extra_query`` go to the gateway's API (the task query when
        ``task`` is an id), never to the file's signed URL.
        """
        call = self._per_call(extra_headers, extra_query, timeout, max_retries)
        return call._download(task, dest, what, index, overwrite, on_progress)

    def _download(
        self,
        task: Task | str,
        dest: str | Path,
        what: _core.FileKind,
        index: int,
        overwrite: bool,
        on_progress: ByteProgress | None,
    ) -> Path:
        task = self._get(task, None) if isinstance(task, str) else task
        url, expires_at = _core.download_source(task, what, index)
        path: Path = _files.download_target(task, url, dest, what, index, overwrite)
        end = time.monotonic() + self._cfg.download_timeout

        def gave_up() -> DownloadError:
            return DownloadError(
                f"downloading the {what} of task {task.id}: gave up after "
                f"{self._cfg.download_timeout:g} s (download_timeout)"
            )

        attempt = 0
        while True:
            attempt += 1
            _core.refuse_closed(self._files, self._cfg.gateway.name)
            try:
                with _twin.deadline(end, gave_up):
                    timeout = self._cfg.exchange_timeout(end)
                    with self._files.stream(
                        "GET", url, timeout=timeout, follow_redirects=True
                    ) as response:
                        if response.status_code == 200:
                            self._save(
                                response,
                                _files.FileSink(self._cfg, path, task, what, response, end),
                                overwrite,
                                on_progress,
                            )
                            return path
                        delay = _core.download_retry(
                            self._cfg, attempt, task, what, expires_at, response=response
                        )
            except httpx.TransportError as exc:
                delay = _core.download_retry(self._cfg, attempt, task, what, expires_at, exc=exc)
            except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
                raise DownloadError(
                    f"downloading the {what} of task {task.id}: {type(exc).__name__}: {exc}"
                ) from exc
            if _core.past(end, delay):
                raise gave_up()
            self._sleep(delay)

    # ------------------------------------------------------------------------ plumbing
    @staticmethod
    def _save(
        response: httpx.Response,
        sink: _files.FileSink,
        overwrite: bool,
        on_progress: ByteProgress | None,
    ) -> None:
        try:
            for chunk in response.iter_bytes():
                sink.write(chunk, response.num_bytes_downloaded)
                if on_progress:
                    on_progress(sink.done, sink.expected)
            sink.finish(response.num_bytes_downloaded, overwrite)
        except BaseException:
            sink.discard()
            raise

    def _exchange(self, request: dict[str, Any], deadline: float) -> httpx.Response | Exception:
        """One request and its whole reply, within ``deadline`` and the reply size cap."""
        _core.refuse_closed(self._api, self._cfg.gateway.name)
        status = None
        try:
            with _twin.deadline(deadline, _reply_too_late):
                timeout = self._cfg.exchange_timeout(deadline)
                # what httpx's stream() does, without its context manager's generator
                sent = self._api.build_request(**self._with_extras(request), timeout=timeout)
                response = self._api.send(sent, stream=True)
                try:
                    status = response.status_code
                    reader = self._cfg.reply_reader(response, deadline)
                    for chunk in response.iter_bytes():
                        reader.add(chunk)
                    return reader.result()
                finally:
                    response.close()
        except httpx.TransportError as exc:  # a timeout, the deadline's too
            return exc
        except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
            raise _core.unusable(exc, self._cfg.gateway.name, status) from exc

    def _carry_out(
        self, plan: _core.RetryPlan, request: dict[str, Any], end: float | None = None
    ) -> httpx.Response:
        step = next(plan)
        try:
            while True:
                if step is _core.SEND:
                    outcome = self._exchange(request, self._cfg.deadline(end))
                else:
                    assert isinstance(step, float)
                    if _core.past(end, step):
                        raise APITimeoutError(
                            f"{self._cfg.gateway.name}: the deadline passed before a retry"
                        )
                    self._sleep(step)
                    outcome = None
                step = plan.send(outcome)
        except StopIteration as done:
            response: httpx.Response = done.value
            return response


def _reply_too_late() -> httpx.ReadTimeout:
    return httpx.ReadTimeout("no complete reply before the exchange's deadline")


class Imini(_imini.SyncMethods, SyncClient):  # type: ignore[misc]  # typed per model
    """The imini router (``IMINI_API_KEY``, ``IMINI_BASE_URL``)."""

    gateway_name = "imini"
    """This gateway's name in ``client_for`` and the specs."""


class Apimart(_apimart.SyncMethods, SyncClient):  # type: ignore[misc]  # typed per model
    """apimart (``APIMART_API_KEY``, ``APIMART_BASE_URL``)."""

    gateway_name = "apimart"
    """This gateway's name in ``client_for`` and the specs."""


def client_for(gateway: str) -> type[SyncClient]:
    """The client class of a gateway, by name: ``client_for("imini")`` is ``Imini``."""
    for cls in SyncClient.__subclasses__():
        if cls.gateway_name == gateway:
            return cls
    raise LookupError(f"no client for gateway {gateway!r}")
