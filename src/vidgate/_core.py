"""What the sync and async clients share: configuration, request plans, reply handling.

The retry and wait logic is written once, as generators ("plans") that say what to do next —
send the request, or sleep so many seconds — and are told what happened. The sync and async
clients only carry those plans out, with their own I/O.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import functools
import logging
import math
import os
import random
import ssl
import sys
import threading
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal, TypeVar, get_args

import httpx

from vidgate import errors, jsonin
from vidgate._files import content_length
from vidgate.gateways import Gateway, gateway
from vidgate.redact import check_key, mentions_secret, redact, redact_data, register_secret
from vidgate.types import RawResponse, SubmittedTask, Task, body_request_id, compact_headers

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
# Bounds (ours, not the gateways'): a JSON reply of either gateway is a few KB; a result video of
# the documented lengths and resolutions is tens of MB. All three are client arguments.
MAX_RESPONSE_BYTES = 4 * 1024 * 1024  # a JSON reply, counted after decompression
MAX_DOWNLOAD_BYTES = 2 * 1024**3  # a result file, counted after decompression
DOWNLOAD_TIMEOUT_S = 1800.0  # one result file, start to end
BOUND_ENV = {
    "max_response_bytes": "VIDGATE_MAX_RESPONSE_BYTES",
    "max_download_bytes": "VIDGATE_MAX_DOWNLOAD_BYTES",
    "download_timeout": "VIDGATE_DOWNLOAD_TIMEOUT",
}
WaitPlan = Generator[float, Task, Task]
ProgressCallback = Callable[[Task], None]
MAX_SUBMITS = 100_000  # submits remembered for their wait (a few MB at most)
READINGS_KEPT = 20  # task replies the schedule looks at (the latest)


class _Redacting(logging.Filter):
    """Every vidgate log record passes the redaction step, whichever handler shows it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage()), None
        return True


logger.addFilter(_Redacting())


def configure_logging() -> None:
    """VIDGATE_LOG=debug|info|warning turns on vidgate's log on stderr (keys redacted)."""
    level = os.environ.get("VIDGATE_LOG", "").upper()
    if level and not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s vidgate %(levelname)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(getattr(logging, level, logging.INFO))


def check_base_url(url: str, what: str) -> str:
    """An http(s) URL with a host, or ConfigurationError at once (never retried)."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise errors.ConfigurationError(f"{what} {url!r} is not a URL ({exc})") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise errors.ConfigurationError(
            f"{what} {url!r}: use an http:// or https:// URL with a host"
        )
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise errors.ConfigurationError(f"{what} {url!r}: port {parsed.port} is not 1-65535")
    return url


@cache
def ssl_context() -> ssl.SSLContext:
    """One TLS context for every client (building one costs tens of milliseconds)."""
    return httpx.create_ssl_context()


class LazyTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """httpx's default transport (TLS context shared), built on the first request: building it
    loads httpcore and the certificates, which a client that is never used should not pay for
    at import (see the import-time bench row)."""

    def __init__(self) -> None:
        self._sync: httpx.HTTPTransport | None = None
        self._async: httpx.AsyncHTTPTransport | None = None
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self._sync is None:
            with self._lock:
                if self._sync is None:
                    self._sync = httpx.HTTPTransport(verify=ssl_context())
        return self._sync.handle_request(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._async is None:
            self._async = httpx.AsyncHTTPTransport(verify=ssl_context())
        return await self._async.handle_async_request(request)

    def close(self) -> None:
        if self._sync is not None:
            self._sync.close()

    async def aclose(self) -> None:
        if self._async is not None:
            await self._async.aclose()


class NoCookies(httpx.Cookies):
    """The API connection's cookie store, which keeps nothing: the gateways authenticate by key,
    so a reply's Set-Cookie is neither stored nor sent back. (Reading it was also a fifth of
    the CPU time of an exchange.) Result downloads keep httpx's cookies: CDNs may use them."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None

    def set_cookie_header(self, request: httpx.Request) -> None:
        return None

    def set(self, name: str, value: str, domain: str = "", path: str = "/") -> None:
        return None


class _Cookieless:
    """An httpx client whose cookie store is a NoCookies (whatever ``cookies=`` is given)."""

    @property
    def cookies(self) -> httpx.Cookies:
        found: NoCookies | None = self.__dict__.get("_no_cookies")
        if found is None:
            found = self.__dict__["_no_cookies"] = NoCookies()
        return found

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        return None


class ApiHttpClient(_Cookieless, httpx.Client):
    """The httpx client of the API connection (sync): httpx's, without cookies."""


class AsyncApiHttpClient(_Cookieless, httpx.AsyncClient):
    """The httpx client of the API connection (async): httpx's, without cookies."""


@dataclass
class ApiClient:
    """What a client builds its API connection from (sync or async)."""

    args: dict[str, Any]
    transport: Any = None

    def get_httpx_client(self) -> httpx.Client:
        return ApiHttpClient(**self.args, transport=self.transport or LazyTransport())

    def get_async_httpx_client(self) -> httpx.AsyncClient:
        return AsyncApiHttpClient(**self.args, transport=self.transport or LazyTransport())


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
    # task id -> (clock at submit, kind of task), for the wait that follows
    submits: dict[str, tuple[float, Any]] = field(default_factory=dict, repr=False)
    max_response_bytes: int = MAX_RESPONSE_BYTES
    max_download_bytes: int = MAX_DOWNLOAD_BYTES
    download_timeout: float = DOWNLOAD_TIMEOUT_S
    response_version: str | None = None  # sent with every idempotency key (apimart)

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
        response_version: str | bool = True,
        **bounds: Any,
    ) -> Config:
        """``bounds``: max_response_bytes, max_download_bytes, download_timeout (None: default).
        ``response_version``: True sends the spec's reply version with every idempotency key
        (where the gateway has one), False none, a string that version."""
        gw = gateway(name)
        key = api_key if api_key is not None else os.environ.get(gw.env_key)
        if not key:
            raise errors.ConfigurationError.naming(
                "no API key for {gateway}: {0} {env}",
                errors.GIVE_KEY,
                gateway=gw.name,
                env=gw.env_key,
            )
        if not isinstance(key, str) or (problem := check_key(key)):
            source = "api_key" if api_key is not None else gw.env_key
            raise errors.ConfigurationError(f"{source}: {problem or 'the API key must be text'}")
        register_secret(key)
        url = base_url or os.environ.get(gw.env_url) or gw.default_base_url
        check_base_url(url, "base URL" if base_url else gw.env_url)
        for bound, value in list(bounds.items()):
            if bound not in BOUND_ENV:
                raise TypeError(f"unexpected argument {bound!r}")
            source = bound
            if value is None and os.environ.get(BOUND_ENV[bound]):
                source, value = BOUND_ENV[bound], os.environ[BOUND_ENV[bound]]
                try:
                    value = float(value) if bound == "download_timeout" else int(value)
                except ValueError:
                    value = 0
            if value is not None and not value > 0:
                raise errors.ConfigurationError(f"{source} must be a positive number")
            bounds[bound] = value
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
            **{k: v for k, v in bounds.items() if v is not None},
        )
        if language is not None:
            config.check_parameters(gw.task_operation_id, query={"language": language})
        if gw.response_version is not None and response_version is not False:
            header, default = gw.response_version
            version = default if response_version is True else response_version
            try:
                if not isinstance(version, str):
                    raise TypeError
                config.check_parameters(gw.submit_operation_id, {header: version})
            except (TypeError, errors.RequestValidationError):
                raise errors.ConfigurationError(
                    f"response_version {version!r}: use True, False or a version such as {default}"
                ) from None
            config.response_version = version
        return config

    def api_client(self, transport: Any, hooks: dict[str, Any]) -> ApiClient:
        """The API's httpx client maker for this configuration: the key as the spec's bearer
        scheme, httpx's own transport built on the first request."""
        return ApiClient(
            {
                "base_url": self.base_url,
                "headers": {"Authorization": f"Bearer {self.api_key}"},
                "timeout": httpx.Timeout(self.timeout),
                "event_hooks": hooks,
            },
            transport,
        )

    def auth_headers(self) -> dict[str, str]:
        """The key as the spec's bearer scheme."""
        return {"Authorization": f"Bearer {self.api_key}"}

    def own_http_client(self, http_client: object, kind: type, transport: object) -> bool:
        """Whether a caller's http_client is given (and usable), else False: build our own."""
        if http_client is None:
            return False
        if transport is not None:
            raise errors.ConfigurationError("pass transport= or http_client=, not both")
        if not isinstance(http_client, kind):
            raise errors.ConfigurationError(
                f"http_client must be an {kind.__module__}.{kind.__qualname__}, "
                f"not {type(http_client).__name__}"
            )
        return True

    def files_args(self, transport: Any) -> dict[str, Any]:
        """httpx client arguments for result files: they live on CDNs, so no API key."""
        return {
            "transport": transport if transport is not None else LazyTransport(),
            "timeout": httpx.Timeout(self.timeout),
            "follow_redirects": True,
        }

    def scrub(self, text: str) -> str:
        return redact(text)

    @functools.cached_property
    def api_root(self) -> str:
        """The base URL as httpx joins a path to it (ending in one slash): requests carry
        ``api_root + path``, the URL httpx would build from the path, built without its merge."""
        url = httpx.URL(self.base_url)
        path = url.raw_path if url.raw_path.endswith(b"/") else url.raw_path + b"/"
        # str() of a URL whose path is "/" leaves the slash out: a path with one more
        # character, cut off again, keeps it
        return str(url.copy_with(raw_path=path + b"_"))[:-1]

    @functools.cached_property
    def shown_root(self) -> str:
        """The base URL as error messages name it: without user info, query or fragment, and
        with any registered secret redacted."""
        url = httpx.URL(self.api_root)
        return self.scrub(str(url.copy_with(userinfo=b"", query=None, fragment=None)))

    def absolute(self, path: str) -> str:
        return self.api_root + path.lstrip("/")

    # ------------------------------------------------------------------------ exchanges
    def deadline(self, end: float | None = None) -> float:
        """When the next API exchange (connect, send, headers, body) must be over."""
        limit = time.monotonic() + self.timeout
        return limit if end is None else min(limit, end)

    def exchange_timeout(self, deadline: float) -> httpx.Timeout:
        """Socket timeouts for one exchange: none longer than what is left of its deadline."""
        return httpx.Timeout(max(0.001, min(self.timeout, deadline - time.monotonic())))

    def after_malformed(
        self, exc: errors.MalformedResponseError, attempt: int, end: float | None = None
    ) -> float:
        """Seconds before asking again after an unusable reply to a safe request (a poll, an
        idempotent submit), or raise it: after max_retries in a row, or past ``end``."""
        delay = self.backoff(attempt)
        if attempt > self.max_retries or past(end, delay):
            raise exc
        logger.info("retry %d in %.1f s after an unusable reply", attempt, delay)
        return delay

    def reply_reader(self, response: httpx.Response, deadline: float) -> Reader:
        return Reader(response, self.max_response_bytes, deadline)

    # ------------------------------------------------------------------------ requests
    def submit_request(
        self, body: Any, idempotency_key: str | None, extra_body: Mapping[str, Any] | None = None
    ) -> tuple[dict[str, Any], str]:
        """Validate (raising RequestValidationError), then the request and the mode of what is
        sent; ``extra_body`` adds keys the spec does not list (a listed key is refused: rule
        ``extra-body.overrides``), and the merged body must fit the spec's body-size limit.
        An ``idempotency_key`` for a gateway whose spec has no idempotency header is a
        ConfigurationError: sent without it, a second call would make a second task."""
        if idempotency_key is not None and self.gateway.idempotency_header is None:
            raise errors.ConfigurationError(
                f"{self.gateway.name} takes no idempotency key (its submit has no "
                "Idempotency-Key header), so two calls would make two tasks; call generate "
                "without idempotency_key"
            )

        if type(body) is not dict:  # a plain dict (the usual body) is neither of these
            from vidgate.neutral import HappyHorse

            if isinstance(body, HappyHorse):
                body = body.to_body(self.gateway.name)
            elif _is_pydantic_model(body):
                body = body.model_dump(mode="json", exclude_unset=True, by_alias=True)
        self.refuse_non_json(body, body)
        from vidgate.validation import validator  # jsonschema-rs: loaded on first use

        mode = validator(self.gateway.name).validate(body)
        if idempotency_key is not None:
            self.check_parameters(
                self.gateway.submit_operation_id, {"Idempotency-Key": idempotency_key}
            )
        sent = body
        if extra_body:  # keys the spec does not list, which must still be JSON
            self.refuse_non_json(dict(extra_body), body)
            sent, mode = validator(self.gateway.name).with_extra(body, extra_body)
        return self.gateway.submit_request(sent, idempotency_key, self.response_version), mode

    def refuse_non_json(self, value: Any, body: Any) -> None:
        """Raise RequestValidationError for what JSON cannot carry (bytes, sets, non-string keys,
        NaN, lone surrogates, a body that is not an object): nothing could be sent."""
        found = jsonin.problems(value)
        if found:
            model = body.get("model") if isinstance(body, dict) else None
            violations = tuple(
                errors.Violation(path, "json", f"{path or 'body'}: {message}")
                for path, message in found
            )
            raise errors.RequestValidationError(
                self.gateway.name, model if isinstance(model, str) else None, None, violations
            )

    def check_parameters(
        self,
        operation_id: str,
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
    ) -> None:
        """Refuse parameters the spec forbids (a malformed idempotency key, an unknown language)."""
        from vidgate.validation import validator

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
        """Send, and resend after 408 / 429 / 5xx / connection failures, never double-charging.

        A submit is resent only if it provably never reached the server, after a 429 (refused
        before any work), or when it carries an idempotency key (then also after a 408, and
        after the gateway's "still in progress" reply, e.g. apimart's 202: same key, same body).
        Retry-After is read as seconds or an HTTP-date; after a 429 the wait is never below the
        spec's ``after_429_s``. A Retry-After beyond the spec's whole wait budget (``max_wait_s``)
        is not slept through: the error is raised at once, carrying it.
        """
        attempt = 0
        while True:
            outcome = yield SEND
            retry_after, floor = None, 0.0
            if isinstance(outcome, httpx.Response):
                code = outcome.status_code
                waiting = submit and idempotent and code in self.gateway.in_progress_statuses
                if code < 400 and not waiting:
                    return outcome
                safe = not submit or idempotent
                retryable = (
                    waiting or code == 429 or (code == 408 and safe) or (code >= 500 and safe)
                )
                retry_after = _retry_after(outcome)
                too_long = retry_after is not None and retry_after > self.gateway.polling.max_wait_s
                if not retryable or attempt >= self.max_retries or too_long:
                    maybe = submit and (waiting or (code >= 500 and not idempotent))
                    raise self.api_error(outcome, submit=maybe)
                floor = self.gateway.polling.after_429_s if code == 429 else 0.0
            elif isinstance(outcome, Exception):
                never_sent = isinstance(outcome, NEVER_SENT)
                if (submit and not never_sent and not idempotent) or attempt >= self.max_retries:
                    raise self.transport_error(outcome, maybe_sent=submit and not never_sent)
            attempt += 1
            delay = max(self.backoff(attempt, retry_after), float(floor))
            logger.info("retry %d in %.1f s after %s", attempt, delay, _describe(outcome))
            yield delay

    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        """The spec's schedule for the ``attempt``-th retry (never below the documented
        interval), or the server's Retry-After if that is longer."""
        from vidgate.schedule import blind_delay

        policy = self.gateway.polling
        delay = blind_delay(policy, attempt - 1, self.rng.uniform(-1, 1))
        return float(max(delay, policy.interval_s, retry_after or 0.0))

    def note_submit(self, task_id: str, body: Mapping[str, Any]) -> None:
        """Remember when and what was submitted, so the wait knows the task's age and kind."""
        from vidgate.history import kind_of

        if len(self.submits) >= MAX_SUBMITS:  # a submit never waited on is forgotten in time
            self.submits.pop(next(iter(self.submits)))
        self.submits[task_id] = (self.clock(), kind_of(self.gateway.name, body))

    def wait_plan(
        self,
        task_id: str,
        timeout: float | None,
        on_progress: ProgressCallback | None,
        poll_now: bool = True,
    ) -> WaitPlan:
        """Poll until the task ends or the deadline passes; yields sleeps, receives tasks.

        When to poll is :func:`vidgate.schedule.next_delay`'s decision (progress, the gateway's
        estimate, run times of earlier tasks of the same kind, the spec's policy).
        ``poll_now=False`` (right after a submit) skips the first, immediate poll.
        """
        from vidgate import schedule
        from vidgate.history import history, kind_of

        policy = self.gateway.polling
        budget = policy.max_wait_s if timeout is None else timeout
        start = self.clock()
        origin, kind = self.submits.pop(task_id, (None, None))
        here = origin is not None  # submitted by this client: the wait knows its true age
        store = history()
        expected = schedule.Expected.from_samples(store.samples(kind)) if kind else None
        readings: list[schedule.Reading] = []
        step = 0 if poll_now else 1  # sleeps taken
        last: Task | None = None
        first = 0.0 if poll_now else schedule.blind_delay(policy, 0, self.rng.uniform(-1, 1))
        task = yield min(first, max(budget, 0.0))
        running_at: float | None = None  # when the task was last seen running
        while True:
            now = self.clock()
            if on_progress and new_state(last, task):
                on_progress(task)
            last = task
            if origin is None:
                origin = now - _age(task, policy.max_wait_s)
            if task.done:
                if not task.succeeded:
                    raise errors.TaskFailedError(task)
                seen = (now + running_at) / 2 if running_at is not None else now
                store.record(kind, _run_time(task, seen - origin, submitted_here=here))
                return task
            running_at = now
            if kind is None and task.model:  # not submitted here: the model is all we know
                kind = kind_of(self.gateway.name, None, task.model)
                expected = schedule.Expected.from_samples(store.samples(kind))
            readings.append(schedule.Reading(now - origin, task.progress, task.estimated_seconds))
            remaining = budget - (now - start)
            delay = (
                schedule.next_delay(
                    policy,
                    elapsed=now - origin,
                    since_poll=0.0,  # measured from the reply: the request went out before it
                    step=step,
                    readings=readings[-READINGS_KEPT:],
                    expected=expected,
                    remaining=remaining,
                    jitter=self.rng.uniform(-1, 1),
                )
                if remaining > 0
                else None
            )
            if delay is None:
                raise errors.WaitTimeoutError(task_id, now - start, task, deadline=budget)
            step += 1
            task = yield delay

    # ------------------------------------------------------------------------ replies
    def api_error(self, response: httpx.Response, *, submit: bool = False) -> errors.APIError:
        data = _json(response)
        code, message, request_id = self.gateway.parse_error(data)
        text = self.scrub(message or _text(response) or response.reason_phrase)
        cls = errors.error_for_status(response.status_code)
        kwargs: dict[str, Any] = {
            "status": response.status_code,
            "code": code,
            "request_id": request_id or response.headers.get("x-request-id"),
            "body": redact_data(data),
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
        text = f"{self.gateway.name}: {text} ({self.shown_root})"  # a mistyped base URL shows
        return cls(text, may_have_been_submitted=maybe_sent)

    def json_of(self, response: httpx.Response) -> tuple[Any, Any]:
        """The reply parsed, and what the task made from it keeps as ``raw``: the body's bytes
        (parsed again when read, see ``types.Task.raw``: a kept task holds a few hundred bytes,
        not the parsed value), else the value with the spec's words shared; redacted if it
        mentions a secret."""
        body = response.content
        try:
            data = jsonin.parse(body, strict=False)
        except jsonin.BadJSON as exc:
            raise errors.MalformedResponseError(
                f"reply is not usable JSON ({exc})",
                status=response.status_code,
                excerpt=_text(response),
            ) from None
        if mentions_secret(body):
            data = redact_data(data)
        elif jsonin.rereadable(body):
            return data, body
        return data, jsonin.share(data, self.gateway.words)

    def log_request(self, request: httpx.Request) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("%s %s %s", request.method, request.url, redact_headers(request.headers))

    def log_response(self, response: httpx.Response) -> None:
        if logger.isEnabledFor(logging.DEBUG):  # the arguments cost even when not logged
            logger.debug(
                "%s %s -> %d", response.request.method, response.request.url, response.status_code
            )


# ---------------------------------------------------------------------------- downloads
FileKind = Literal["video", "cover", "last_frame"]  # what download() fetches
KINDS: tuple[FileKind, ...] = get_args(FileKind)


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
    try:
        check_base_url(url, f"the {what} URL of task {task.id}")
    except errors.ConfigurationError as exc:
        raise errors.DownloadError(str(exc)) from None
    if video.expired():
        raise errors.URLExpiredError(
            f"the {what} URL of task {task.id} expired at {video.expires_at:%Y-%m-%d %H:%M} UTC; "
            "the gateway keeps results only for a limited time"
        )
    return url, video.expires_at


class Reader:
    """An API reply's body, read chunk by chunk within a size cap (after decompression) and the
    exchange's deadline; then the reply as an ordinary (read) httpx.Response."""

    __slots__ = ("cap", "chunks", "deadline", "response", "size")

    def __init__(self, response: httpx.Response, cap: int, deadline: float) -> None:
        self.response, self.cap, self.deadline = response, cap, deadline
        self.chunks: list[bytes] = []
        self.size = 0
        declared = content_length(response)
        if declared is not None and declared > cap:
            self._too_large(declared)

    def _too_large(self, size: int) -> None:
        raise errors.MalformedResponseError(
            f"reply of {size}+ bytes is over the limit of {self.cap} (max_response_bytes)",
            status=self.response.status_code,
        )

    def add(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.cap:
            self._too_large(self.size)
        if time.monotonic() > self.deadline:
            raise httpx.ReadTimeout("the reply was still arriving when its deadline passed")
        self.chunks.append(chunk)

    def result(self) -> httpx.Response:
        """The reply itself, its body the (decoded) bytes read: stored where httpx's own
        ``read()`` stores them, rather than a second httpx.Response built around them. The
        headers that described the body on the wire (encoding, length) no longer do: the
        ``RawResponse`` built from it leaves them out (when its headers are first read)."""
        response = self.response
        response._content = b"".join(self.chunks)
        return response


def unusable(exc: Exception, gateway_name: str, status: int | None) -> errors.VidgateError:
    """An httpx error that is neither a reply nor a transport failure, typed."""
    if isinstance(exc, httpx.DecodingError):
        return errors.MalformedResponseError(
            f"reply could not be decoded ({exc})", status=status or 0
        )
    if isinstance(exc, httpx.InvalidURL):
        return errors.InputError(f"{gateway_name}: cannot build the request URL ({exc})")
    if isinstance(exc, httpx.TooManyRedirects):
        return errors.MalformedResponseError(f"redirect loop ({exc})", status=status or 0)
    return errors.APIConnectionError(
        f"{gateway_name}: {type(exc).__name__}: {exc}", may_have_been_submitted=True
    )


def refuse_closed(client: httpx.Client | httpx.AsyncClient, gateway_name: str) -> None:
    """A closed HTTP client (the caller's ``http_client=``, or this client after ``close()``)
    cannot send: refused before anything is sent, rather than httpx's bare RuntimeError."""
    if client.is_closed:
        raise errors.ConfigurationError(
            f"{gateway_name}: the HTTP client is closed; nothing was sent (open a new client, "
            "or keep your http_client open while vidgate uses it)"
        )


Parsed = TypeVar("Parsed", SubmittedTask, Task)


class Polls:
    """Where a wait stands between polls (one per wait, shared by ``wait`` and ``watch`` in both
    clients): the plan, the deadline, the last task and the delay before the next poll. Plain
    state rather than a generator, so that a task waited on holds no generator frames. Making
    one does no I/O: the plan's first step (the run-time history) is taken by the first poll."""

    __slots__ = ("_cfg", "_plan", "bad", "delay", "end", "finished", "last", "started", "task_id")

    def __init__(
        self,
        cfg: Config,
        task_id: str | SubmittedTask,
        timeout: float | None,
        on_progress: ProgressCallback | None,
        poll_now: bool,
    ) -> None:
        self.task_id = task_id.id if isinstance(task_id, SubmittedTask) else task_id
        self._cfg = cfg
        self._plan = cfg.wait_plan(self.task_id, timeout, on_progress, poll_now)
        self.end = None if timeout is None else time.monotonic() + timeout  # however slow a poll
        self.started = time.monotonic()
        self.last: Task | None = None
        self.bad = 0  # unusable replies in a row
        self.finished = False
        self.delay: float | None = None  # None: the plan has not started

    def next_delay(self) -> float:
        """Seconds before the next poll (the plan's first step on the first call)."""
        if self.delay is None:
            self.delay = next(self._plan)
        return self.delay

    def seen(self, task: Task) -> None:
        """A poll's task: the plan decides the next delay, or that the wait is over (a failed
        task raises TaskFailedError here)."""
        self.last, self.bad = task, 0
        try:
            self.delay = self._plan.send(task)
        except StopIteration:
            self.finished = True

    def unusable(self, exc: errors.MalformedResponseError) -> None:
        """An unusable reply: asked again after a delay, or ``exc`` raised (see after_malformed)."""
        self.bad += 1
        self.delay = self._cfg.after_malformed(exc, self.bad, self.end)

    def timed_out(self) -> errors.WaitTimeoutError | None:
        """After an exchange's timeout: the WaitTimeoutError to raise if the wait's deadline has
        passed (else None: the exchange's own timeout stands)."""
        if not past(self.end):
            return None
        return errors.WaitTimeoutError(self.task_id, time.monotonic() - self.started, self.last)


def with_response(parsed: Parsed, response: httpx.Response, raw: Any) -> Parsed:
    """``parsed`` carrying the exchange it came from (status, headers, the request id) and the
    ``raw`` that ``Config.json_of`` gave. ``parsed`` was just built from this reply and nobody
    else holds it yet: setting the fields of the frozen dataclass in place saves a copy on every
    request."""
    # the request id the body gives: a submit's was read; a task's is read from the kept bytes
    # only if asked for (RawResponse.request_id), or from the value kept parsed
    body_id: str | bytes | None
    if isinstance(parsed, SubmittedTask):
        body_id = parsed.request_id
    else:
        body_id = raw if type(raw) is bytes else body_request_id(raw)
    object.__setattr__(
        parsed,
        "response",
        RawResponse(response.status_code, compact_headers(response.headers.raw), body_id),
    )
    object.__setattr__(parsed, "raw", raw)
    return parsed


def new_state(seen: Task | None, task: Task) -> bool:
    """Whether ``task`` differs from the state last reported (status or progress), the test
    both on_progress and watch() use."""
    return seen is None or (task.raw_status, task.progress) != (seen.raw_status, seen.progress)


def past(end: float | None, seconds: float = 0.0) -> bool:
    """Whether a real-time deadline has passed (or would, after sleeping ``seconds``)."""
    return end is not None and time.monotonic() + seconds >= end


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

    A file download is a safe GET: connection errors, 408, 429 and 5xx are retried with the
    usual backoff, up to max_retries; anything else fails at once.
    """
    status = response.status_code if response is not None else None
    retryable = exc is not None or status in (408, 429) or (status is not None and status >= 500)
    if not retryable or attempt > cfg.max_retries:
        if exc is not None:
            if isinstance(exc, httpx.TimeoutException):
                raise errors.DownloadError(
                    f"downloading the {what} of task {task.id}: no data for {cfg.timeout:g} s"
                ) from exc
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


def _json(response: httpx.Response) -> Any:
    try:
        return jsonin.parse(response.content, strict=False)
    except jsonin.BadJSON:
        return None


def _text(response: httpx.Response, limit: int = 200) -> str:
    """The start of a reply as text, whatever its bytes and declared charset."""
    return response.content[:limit].decode("utf-8", "replace")


def _retry_after(response: httpx.Response, now: Callable[[], float] = time.time) -> float | None:
    """Retry-After in seconds: delay-seconds, or an HTTP-date counted from ``now`` (RFC 9110
    section 10.2.3); None when absent or unreadable."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # RFC 9110 dates are GMT
            when = when.replace(tzinfo=dt.UTC)
        seconds = when.timestamp() - now()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _is_pydantic_model(value: Any) -> bool:
    """A pydantic model instance (pydantic is not imported for the check: a model exists only
    if its caller imported pydantic already)."""
    pydantic = sys.modules.get("pydantic")
    return pydantic is not None and isinstance(value, pydantic.BaseModel)


def _age(task: Task, longest: float) -> float:
    """Seconds since the gateway created the task, if its timestamp is plausible, else 0."""
    if task.created_at is None:
        return 0.0
    age = time.time() - task.created_at.timestamp()
    return age if 0 <= age <= longest else 0.0


def _run_time(task: Task, waited: float, *, submitted_here: bool) -> float:
    """The task's run time: the gateway's own timestamps, else the wait until halfway between
    the last poll that saw it running and the one that saw it done (only if submitted here,
    when the wait started at the submit); 0 when unknown (not recorded)."""
    if task.created_at is not None and task.completed_at is not None:
        return (task.completed_at - task.created_at).total_seconds()
    return waited if submitted_here else 0.0


def _describe(outcome: object) -> str:
    if isinstance(outcome, httpx.Response):
        return f"HTTP {outcome.status_code}"
    return type(outcome).__name__
