"""What the sync and async clients share: configuration, request plans, reply handling.

The retry and wait logic is written once, as generators ("plans") that say what to do next —
send the request, or sleep so many seconds — and are told what happened. The sync and async
clients only carry those plans out, with their own I/O.
"""

from __future__ import annotations

import importlib
import logging
import os
import random
import ssl
import time
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import httpx
from pydantic import BaseModel

from vidgate import errors
from vidgate.gateways import Gateway, gateway
from vidgate.types import Task
from vidgate.validation import validator

logger = logging.getLogger("vidgate")

SEND = object()  # plan step: send (again)
# httpx errors that prove the request never reached the server
NEVER_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
)
RetryPlan = Generator[object, "httpx.Response | Exception | None", httpx.Response]
WaitPlan = Generator[float, Task, Task]
ProgressCallback = Callable[[Task], None]


def configure_logging() -> None:
    """VIDGATE_LOG=debug|info|warning turns on vidgate's log on stderr (keys redacted)."""
    level = os.environ.get("VIDGATE_LOG", "").upper()
    if level and not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s vidgate %(levelname)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(getattr(logging, level, logging.INFO))


@cache
def ssl_context() -> ssl.SSLContext:
    """One TLS context for every client (building one costs tens of milliseconds)."""
    return httpx.create_ssl_context()


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k: ("Bearer ***" if k.lower() == "authorization" else v) for k, v in headers.items()}


@dataclass
class Config:
    """Everything a client is made of, validated once."""

    gateway: Gateway
    api_key: str = field(repr=False)
    base_url: str
    timeout: float
    max_retries: int
    language: str | None
    clock: Callable[[], float]
    rng: random.Random

    @classmethod
    def build(
        cls,
        name: str,
        api_key: str | None,
        base_url: str | None,
        timeout: float,
        max_retries: int,
        language: str | None = None,
        clock: Callable[[], float] | None = None,
        seed: int | None = None,
    ) -> Config:
        gw = gateway(name)
        key = api_key if api_key is not None else os.environ.get(gw.env_key)
        if not key:
            raise errors.ConfigurationError(
                f"no API key for {gw.name}: pass api_key= or set {gw.env_key}"
            )
        url = base_url or os.environ.get(gw.env_url) or gw.default_base_url
        configure_logging()
        config = cls(
            gw,
            key,
            url.rstrip("/"),
            timeout,
            max_retries,
            language,
            clock or time.monotonic,
            random.Random(seed),
        )
        if language is not None:
            config.check_parameters(gw.task_operation_id, query={"language": language})
        return config

    def api_client(self, transport: Any, hooks: dict[str, Any]) -> Any:
        """The generated transport's AuthenticatedClient for this configuration."""
        module = importlib.import_module(f"vidgate_{self.gateway.name}")
        args: dict[str, Any] = {"event_hooks": hooks}
        if transport is not None:
            args["transport"] = transport
        return module.AuthenticatedClient(
            base_url=self.base_url,
            token=self.api_key,
            timeout=httpx.Timeout(self.timeout),
            verify_ssl=ssl_context(),
            httpx_args=args,
        )

    def files_args(self, transport: Any) -> dict[str, Any]:
        """httpx client arguments for result files: they live on CDNs, so no API key."""
        return {
            "transport": transport,
            "timeout": httpx.Timeout(self.timeout),
            "follow_redirects": True,
            "verify": ssl_context(),
        }

    def scrub(self, text: str) -> str:
        return text.replace(self.api_key, "***") if self.api_key else text

    # ------------------------------------------------------------------------ requests
    def submit_request(
        self, body: Any, idempotency_key: str | None, extra_body: Mapping[str, Any] | None = None
    ) -> tuple[dict[str, Any], str]:
        """Validate (raising RequestValidationError), then the request and the body's mode;
        ``extra_body`` is merged in after validation, unchecked (as openai-python does)."""
        from vidgate.neutral import HappyHorse

        if isinstance(body, HappyHorse):
            body = body.to_body(self.gateway.name)
        elif isinstance(body, BaseModel):
            body = body.model_dump(mode="json", exclude_unset=True, by_alias=True)
        mode = validator(self.gateway.name).validate(body)
        if idempotency_key is not None:
            self.check_parameters(
                self.gateway.submit_operation_id, {"Idempotency-Key": idempotency_key}
            )
        sent = {**body, **(extra_body or {})}
        return self.gateway.submit_request(sent, idempotency_key), mode

    def check_parameters(
        self,
        operation_id: str,
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
    ) -> None:
        """Refuse parameters the spec forbids (a malformed idempotency key, an unknown language)."""
        problems = validator(self.gateway.name).check_parameters(
            operation_id, {"header": headers or {}, "query": query or {}, "path": {}}
        )
        problems = tuple(p for p in problems if p.rule != "required")  # the client fills those
        if problems:
            raise errors.RequestValidationError(self.gateway.name, None, None, problems)

    def idempotent(self, idempotency_key: str | None) -> bool:
        return idempotency_key is not None and self.gateway.idempotency_header is not None

    # ------------------------------------------------------------------------ plans
    def retry_plan(self, *, submit: bool, idempotent: bool) -> RetryPlan:
        """Send, and resend after 429 / 5xx / connection failures, never double-charging.

        A submit is resent only if it provably never reached the server, after a 429 (refused
        before any work), or when it carries an idempotency key.
        """
        attempt = 0
        while True:
            outcome = yield SEND
            retry_after = None
            if isinstance(outcome, httpx.Response):
                code = outcome.status_code
                if code < 400:
                    return outcome
                retryable = code == 429 or (code >= 500 and (not submit or idempotent))
                if not retryable or attempt >= self.max_retries:
                    raise self.api_error(outcome, submit=submit and code >= 500 and not idempotent)
                retry_after = _retry_after(outcome)
            elif isinstance(outcome, Exception):
                never_sent = isinstance(outcome, NEVER_SENT)
                if (submit and not never_sent and not idempotent) or attempt >= self.max_retries:
                    raise self.transport_error(outcome, maybe_sent=submit and not never_sent)
            attempt += 1
            delay = self.backoff(attempt, retry_after)
            logger.info("retry %d in %.1f s after %s", attempt, delay, _describe(outcome))
            yield delay

    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        p = self.gateway.polling
        delay = min(p.max_interval_s, p.interval_s * p.backoff_factor ** (attempt - 1))
        delay *= 1 + self.rng.uniform(-p.jitter, p.jitter)
        return max(delay, retry_after or 0.0)

    def poll_delays(self) -> Iterator[float]:
        """Poll intervals: the documented interval, growing to the cap, with jitter."""
        attempt = 1
        while True:
            yield self.backoff(attempt)
            attempt += 1

    def wait_plan(
        self,
        task_id: str,
        timeout: float | None,
        on_progress: ProgressCallback | None,
        poll_now: bool = True,
    ) -> WaitPlan:
        """Poll until the task ends or the deadline passes; yields sleeps, receives tasks.

        ``poll_now=False`` (right after a submit) skips the first, immediate poll.
        """
        budget = self.gateway.polling.max_wait_s if timeout is None else timeout
        start = self.clock()
        delays = self.poll_delays()
        last: Task | None = None
        task = yield 0.0 if poll_now else next(delays)
        while True:
            if on_progress and (
                last is None or (task.raw_status, task.progress) != (last.raw_status, last.progress)
            ):
                on_progress(task)
            last = task
            if task.done:
                if not task.succeeded:
                    raise errors.TaskFailedError(task)
                return task
            remaining = budget - (self.clock() - start)
            if remaining <= 0:
                raise errors.WaitTimeoutError(task_id, self.clock() - start, task)
            task = yield min(next(delays), remaining)

    # ------------------------------------------------------------------------ replies
    def api_error(self, response: httpx.Response, *, submit: bool = False) -> errors.APIError:
        data = _json(response)
        code, message, request_id = self.gateway.parse_error(data)
        text = self.scrub(message or response.text[:200] or response.reason_phrase)
        cls = errors.error_for_status(response.status_code)
        kwargs: dict[str, Any] = {
            "status": response.status_code,
            "code": code,
            "request_id": request_id or response.headers.get("x-request-id"),
            "body": data,
            "may_have_been_submitted": submit,
        }
        if cls is errors.RateLimitError:
            kwargs["retry_after"] = _retry_after(response)
        return cls(text, **kwargs)

    def transport_error(self, exc: Exception, *, maybe_sent: bool) -> errors.APIConnectionError:
        cls = (
            errors.APITimeoutError
            if isinstance(exc, httpx.TimeoutException)
            else (errors.APIConnectionError)
        )
        text = self.scrub(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
        return cls(f"{self.gateway.name}: {text}", may_have_been_submitted=maybe_sent)

    def json_of(self, response: httpx.Response) -> Any:
        data = _json(response)
        if data is None:
            raise errors.MalformedResponseError(
                "reply is not JSON", status=response.status_code, excerpt=response.text
            )
        return data

    def log_request(self, request: httpx.Request) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("%s %s %s", request.method, request.url, redact_headers(request.headers))

    def log_response(self, response: httpx.Response) -> None:
        logger.debug(
            "%s %s -> %d", response.request.method, response.request.url, response.status_code
        )


# ---------------------------------------------------------------------------- downloads
KINDS = ("video", "cover", "last_frame")


def download_source(task: Task, what: str, index: int) -> tuple[str, Any]:
    """The URL of one result file of a succeeded task, and when it expires."""
    if what not in KINDS:
        raise ValueError(f"what must be one of {', '.join(KINDS)}, not {what!r}")
    if not task.succeeded:
        raise errors.DownloadError(f"task {task.id} is {task.raw_status}; nothing to download yet")
    if index >= len(task.videos):
        raise errors.DownloadError(f"task {task.id} has {len(task.videos)} video(s), no #{index}")
    video = task.videos[index]
    url = {"video": video.url, "cover": video.cover_url, "last_frame": video.last_frame_url}[what]
    if not url:
        raise errors.DownloadError(
            f"task {task.id} has no {what.replace('_', ' ')} for video #{index}"
        )
    if video.expired():
        raise errors.URLExpiredError(
            f"the {what} URL of task {task.id} expired at {video.expires_at:%Y-%m-%d %H:%M} UTC; "
            "the gateway keeps results only for a limited time"
        )
    return url, video.expires_at


def download_target(task: Task, url: str, dest: Any, what: str, index: int, overwrite: bool) -> Any:
    """The file to write: ``dest`` itself, or a file named after the task inside it.

    ``dest`` is a folder if it is one, or if it does not exist and has no file suffix.
    """
    from pathlib import Path, PurePosixPath

    path = Path(dest)
    if path.is_dir() or (not path.exists() and not path.suffix):
        suffix = PurePosixPath(httpx.URL(url).path).suffix or {"video": ".mp4"}.get(what, ".bin")
        tag = "" if what == "video" else f"-{what.replace('_', '-')}"
        number = f"-{index}" if index else ""
        path = path / f"{task.id}{number}{tag}{suffix}"
    if path.exists() and not overwrite:
        raise errors.OutputExistsError(f"{path} exists; pass overwrite=True to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def download_retry(
    cfg: Config,
    attempt: int,
    task: Task,
    what: str,
    expires_at: Any,
    response: httpx.Response | None = None,
    exc: Exception | None = None,
) -> float:
    """Seconds to wait before fetching a result file again, or raise why not.

    A file download is a safe GET: connection errors, 429 and 5xx are retried with the usual
    backoff, up to max_retries; anything else fails at once.
    """
    status = response.status_code if response is not None else None
    retryable = exc is not None or status == 429 or (status is not None and status >= 500)
    if not retryable or attempt > cfg.max_retries:
        if exc is not None:
            raise errors.DownloadError(
                f"downloading the {what} of task {task.id}: {type(exc).__name__}: {exc}"
            ) from exc
        assert response is not None
        raise download_failed(task, what, response, expires_at)
    return cfg.backoff(attempt, _retry_after(response) if response is not None else None)


def download_failed(task: Task, what: str, response: httpx.Response, expires_at: Any) -> Exception:
    if response.status_code in (401, 403, 404, 410) and expires_at is None:
        return errors.URLExpiredError(
            f"the {what} URL of task {task.id} was refused (HTTP {response.status_code}); "
            "it has most likely expired"
        )
    return errors.DownloadError(
        f"downloading the {what} of task {task.id}: HTTP {response.status_code}"
    )


def content_length(response: httpx.Response) -> int | None:
    value = response.headers.get("content-length")
    return int(value) if value and value.isdigit() else None


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _describe(outcome: object) -> str:
    if isinstance(outcome, httpx.Response):
        return f"HTTP {outcome.status_code}"
    return type(outcome).__name__
