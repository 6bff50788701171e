"""What the clients return: submitted tasks, tasks, result videos, one status vocabulary.

Gateway replies are parsed by the generated pydantic models (unknown fields kept) and turned into
these small frozen dataclasses; the reply stays available as ``.raw`` (kept as its bytes, parsed
when first read). Each gateway's
statuses map onto ``Status`` through the spec's ``x-vidgate-status-map``; a status the spec
does not know becomes ``Status.UNKNOWN`` (not terminal) and keeps its raw value.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, TypeAlias, TypedDict, cast

from vidgate import jsonin, spec

if TYPE_CHECKING:
    from vidgate_models import apimart as _apimart_models
    from vidgate_models import imini as _imini_models

__all__ = [
    "JSON",
    "RawResponse",
    "Status",
    "SubmittedTask",
    "Task",
    "TaskError",
    "VideoOutput",
    "raw_status",
    "status_of",
]

JSON: TypeAlias = "str | int | float | bool | list[JSON] | dict[str, JSON] | None"
"""A JSON value as parsed (what ``.raw`` holds: narrow it with isinstance before use)."""


class TaskError(TypedDict, total=False):
    """A failed task's reason as the gateway gave it; keys beyond these stay in the dict."""

    code: str | int
    """The gateway's error code, a string or a number as it sent it."""
    message: str
    """The gateway's reason, as it wrote it (text from the server: treat as untrusted)."""
    type: str
    """The gateway's category of the error, where it sends one."""


def task_error(value: object) -> TaskError | None:
    """The reply's error object with ``code``/``message``/``type`` kept only when well typed."""
    if not isinstance(value, Mapping):
        return None
    error = {str(k): v for k, v in value.items()}
    code = error.get("code")
    if isinstance(code, bool) or not isinstance(code, str | int):
        error.pop("code", None)
    for key in ("message", "type"):
        if not isinstance(error.get(key), str):
            error.pop(key, None)
    return cast(TaskError, error)


def typed_reply(gateway: spec.Gateway, schema: str, data: Any) -> Any:
    """``data`` parsed by the gateway's generated pydantic model ``schema`` (unknown fields kept;
    raises pydantic's ValidationError if it does not fit)."""
    import importlib

    models = importlib.import_module(f"vidgate_models.{gateway}")
    return getattr(models, schema).model_validate(data)


class Status(enum.StrEnum):
    """One status vocabulary for both gateways."""

    QUEUED = "queued"
    """Accepted, waiting to start."""
    RUNNING = "running"
    """Being generated."""
    SUCCEEDED = "succeeded"
    """Finished; the videos can be read and downloaded."""
    FAILED = "failed"
    """Ended without a video; ``Task.error`` holds the gateway's reason."""
    CANCELLED = "cancelled"
    """Ended cancelled before finishing (on a gateway that has such a status)."""
    UNKNOWN = "unknown"
    """A status string the gateway's spec does not list, or a reply its spec says to read as
    unknown; not terminal: a wait keeps polling."""

    @property
    def terminal(self) -> bool:
        """Whether a task in this status has ended: succeeded, failed or cancelled."""
        return self in (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)


@cache
def _status_map(gateway: spec.Gateway) -> dict[str, Status]:
    schema = spec.document(gateway)["components"]["schemas"]["TaskStatus"]
    return {raw: Status(ours) for raw, ours in schema["x-vidgate-status-map"].items()}


def status_of(gateway: spec.Gateway, raw: str) -> Status:
    """Our Status for a status string of ``gateway``, through its spec's status map;
    ``Status.UNKNOWN`` for a string the spec does not list."""
    return _status_map(gateway).get(raw, Status.UNKNOWN)


def raw_status(gateway: spec.Gateway, status: Status) -> str | None:
    """The gateway's own name for a status (None if the gateway has no such status)."""
    return next((raw for raw, ours in _status_map(gateway).items() if ours is status), None)


class RawResponse:
    """The HTTP exchange a SubmittedTask or Task was read from (the last one, after retries).

    ``headers`` is case-insensitive (httpx.Headers) with any value that mentions a secret
    redacted, and without the headers that described the body on the wire (Content-Encoding,
    Content-Length, Transfer-Encoding: the body was read and decoded); it and ``request_id`` are
    worked out on first use (the common path never pays). The clients keep the headers as the
    raw byte pairs (``compact_headers``), header names shared between replies."""

    __slots__ = ("_body_request_id", "_headers", "_redacted", "status")

    def __init__(
        self,
        status: int,
        headers: Mapping[str, str] | tuple[bytes, ...],
        body_request_id: str | bytes | None = None,
    ) -> None:
        self.status = status
        """The HTTP status code of the reply."""
        self._headers = headers
        self._body_request_id = body_request_id
        self._redacted: Mapping[str, str] | None = None

    def __repr__(self) -> str:
        """The status and request id only: the headers are left out."""
        return f"RawResponse(status={self.status}, request_id={self.request_id!r})"

    @property
    def headers(self) -> Mapping[str, str]:
        """The reply's headers: case-insensitive, values that mention a secret redacted, and
        without Content-Encoding, Content-Length and Transfer-Encoding."""
        if self._redacted is None:
            kept = self._headers
            if isinstance(kept, tuple):
                import httpx

                pairs = list(zip(kept[::2], kept[1::2], strict=True))
                self._redacted = _redact_headers(httpx.Headers(pairs))
            else:
                self._redacted = _redact_headers(_without_wire(kept))
        return self._redacted

    @property
    def request_id(self) -> str | None:
        """``X-Request-Id``, else the request id the reply's body gave (``body_request_id``)."""
        kept = self._body_request_id
        if isinstance(kept, bytes):  # the body as the task keeps it: read when asked
            kept = self._body_request_id = body_request_id(jsonin.parse(kept, strict=False))
        return self.headers.get("x-request-id") or kept

    @property
    def idempotency_replayed(self) -> bool | None:
        """The ``Idempotency-Replayed`` header: True when the gateway answered a repeated
        idempotency key with the first reply, None when the header is absent."""
        return replayed_header(self.headers)


def replayed_header(headers: Mapping[str, str] | None) -> bool | None:
    """The ``Idempotency-Replayed`` header read (the one reading ``SubmittedTask.replayed`` and
    ``RawResponse.idempotency_replayed`` share): None when absent, else True only for the spec's
    ``true`` (any case; whitespace around a field value is not part of it, RFC 9110 5.5). Any
    other value, the spec's ``false`` or a word it does not name, is not a declared replay."""
    value = None if headers is None else headers.get("idempotency-replayed")
    return None if value is None else value.strip(" \t").lower() == "true"


def body_request_id(data: Any) -> str | None:
    """The request id a reply's body gives: ``request_id`` at its top (imini), else in an object
    right under it (an envelope such as apimart's ``data``, or an ``error``)."""
    if not isinstance(data, Mapping):
        return None
    found = data.get("request_id")
    if isinstance(found, str):
        return found
    for value in data.values():
        inner = value.get("request_id") if isinstance(value, Mapping) else None
        if isinstance(inner, str):
            return inner
    return None


_WIRE_HEADERS = frozenset(("content-encoding", "content-length", "transfer-encoding"))
_WIRE_NAMES = frozenset(name.encode() for name in _WIRE_HEADERS)
# header names, and values of the headers below, as one bytes object each for every reply kept;
# bounded, so that a server sending new names each time cannot grow it past this
_SHARED: dict[bytes, bytes] = {}
_SHARED_MAX = 256
_SHARED_VALUES = frozenset((b"content-type", b"idempotency-replayed"))


def compact_headers(pairs: list[tuple[bytes, bytes]]) -> tuple[bytes, ...]:
    """Raw header pairs (``httpx.Headers.raw``) as one flat tuple (name, value, name, value …),
    without the headers that described the body on the wire; names (and the values of a few
    headers that repeat) shared through a bounded table."""
    shared, out = _SHARED, []
    for name, value in pairs:
        lower = name.lower()
        if lower in _WIRE_NAMES:
            continue
        out.append(shared.get(name) or _share(name))
        out.append(shared.get(value) or _share(value) if lower in _SHARED_VALUES else value)
    return tuple(out)


def _without_wire(headers: Mapping[str, str]) -> Mapping[str, str]:
    """The headers without those that described the body on the wire (a copy if any goes)."""
    found = [name for name in headers if name.lower() in _WIRE_HEADERS]
    if not found:
        return headers
    import httpx

    if isinstance(headers, httpx.Headers):
        kept = headers.copy()
        for name in found:
            kept.pop(name, None)
        return kept
    return {k: v for k, v in headers.items() if k.lower() not in _WIRE_HEADERS}


def _share(word: bytes) -> bytes:
    if len(_SHARED) >= _SHARED_MAX or len(word) > 64:
        return word
    return _SHARED.setdefault(word, word)


def _redact_headers(headers: Mapping[str, str]) -> Mapping[str, str]:
    """The headers, values that mention a registered secret or a bearer token redacted (the same
    case-insensitive mapping type when nothing needs hiding)."""
    from vidgate.redact import mentions_secret, redact

    joined = "\n".join(headers.values()).encode("utf-8", "replace")
    if not mentions_secret(joined):
        return headers
    import httpx

    if isinstance(headers, httpx.Headers):  # re-encoded as read (a latin-1 value stays one)
        pairs = [(k, redact(v)) for k, v in headers.multi_items()]
        return httpx.Headers(pairs, encoding=headers.encoding)
    return httpx.Headers([(k, redact(v)) for k, v in headers.items()], encoding="utf-8")


@dataclass(frozen=True, slots=True)
class SubmittedTask:
    """An accepted submit: the task id to wait on."""

    id: str
    """The task id to wait on."""
    gateway: spec.Gateway
    """The gateway that accepted the task."""
    model: str | None = None
    """The model the gateway reports, where it does."""
    created_at: dt.datetime | None = None
    """When the gateway made the task (UTC), where it says."""
    request_id: str | None = None
    """The gateway's id of the submit request, for its support."""
    mode: str | None = None
    """The mode the request was validated as (from the spec's routing rules), where known."""
    replayed: bool = False  # the gateway replayed an earlier submit with the same key
    """The gateway replayed an earlier submit with the same idempotency key."""
    raw: JSON = field(default=None, repr=False, compare=False)  # the reply as received
    """The reply as received (JSON)."""
    response: RawResponse | None = field(default=None, repr=False, compare=False)
    """Status, headers and request id of the exchange."""

    def typed(self) -> _imini_models.SubmitResponse | _apimart_models.SubmitEnvelope:
        """The reply parsed by the generated pydantic model (``SubmitResponse`` for imini,
        ``SubmitEnvelope`` for apimart); raises pydantic.ValidationError if it does not fit."""
        model: _imini_models.SubmitResponse | _apimart_models.SubmitEnvelope
        model = typed_reply(self.gateway, spec.reply_schemas(self.gateway)[0], self.raw)
        return model


@dataclass(frozen=True, slots=True)
class VideoOutput:
    """One result video (and its cover / last frame, where the gateway gives them)."""

    url: str
    """Where the video file is (a gateway or CDN URL, valid until `expires_at`)."""
    cover_url: str | None = None
    """The cover image, where the gateway gives one."""
    last_frame_url: str | None = None
    """The last frame as an image, where asked for and given."""
    width: int | None = None
    """Width in pixels, where the gateway says."""
    height: int | None = None
    """Height in pixels, where the gateway says."""
    duration: float | None = None
    """Length in seconds, where the gateway says."""
    expires_at: dt.datetime | None = None
    """When the file URLs stop working (UTC), where known."""

    def expired(self, now: dt.datetime | None = None) -> bool:
        """Whether the file URLs have stopped working (False when the expiry is not known)."""
        if self.expires_at is None:
            return False
        return (now or dt.datetime.now(dt.UTC)) >= self.expires_at


@dataclass(frozen=True, slots=True)
class Task:
    """A task as the gateway last described it."""

    id: str
    """The task id."""
    gateway: spec.Gateway
    """The gateway that runs the task."""
    status: Status
    """The status in vidgate's vocabulary (an unknown one is `Status.UNKNOWN`)."""
    raw_status: str
    """The gateway's own status text."""
    model: str | None = None
    """The model the gateway reports, where it does."""
    progress: int | None = None
    """Percent done (0-100), where the gateway says."""
    created_at: dt.datetime | None = None
    """When the task was made (UTC)."""
    completed_at: dt.datetime | None = None
    """When the task ended (UTC), once it has."""
    estimated_seconds: int | None = None
    """The gateway's time estimate in seconds (apimart's `estimated_time`), where it gives one."""
    videos: tuple[VideoOutput, ...] = ()
    """The result videos, once the task has succeeded."""
    error: TaskError | None = None
    """Why the task failed, as the gateway says (code, message), once it has."""
    raw: JSON = field(default=None, repr=False, compare=False)  # the reply as received
    """The reply as received (JSON)."""
    # added after raw, so that positional construction keeps its meaning
    response: RawResponse | None = field(default=None, repr=False, compare=False)
    """Status, headers and request id of the exchange."""
    cost: float | None = None  # what the task cost, where the gateway says (apimart: cost)
    """What the task cost, where the gateway says (apimart: `cost`)."""
    credits_cost: float | None = None  # the same in credits (apimart: credits_cost)
    """The same in credits, where the gateway says (apimart: `credits_cost`)."""

    def typed(self) -> _imini_models.VideoTask | _apimart_models.TaskEnvelope:
        """The reply parsed by the generated pydantic model (``VideoTask`` for imini,
        ``TaskEnvelope`` for apimart), unknown fields kept; raises pydantic.ValidationError
        if the reply does not fit the spec."""
        model: _imini_models.VideoTask | _apimart_models.TaskEnvelope
        model = typed_reply(self.gateway, spec.reply_schemas(self.gateway)[1], self.raw)
        return model

    @property
    def done(self) -> bool:
        """Whether the task has ended: succeeded, failed or cancelled (it will not change)."""
        return self.status.terminal

    @property
    def succeeded(self) -> bool:
        """Whether the task ended successfully (its ``videos`` hold the result files)."""
        return self.status is Status.SUCCEEDED


class _ParsedOnRead:
    """The ``raw`` slot of Task and SubmittedTask. A client keeps a reply there as the body's
    bytes (a JSON value is never bytes); the first read parses them, shares the spec's words
    (``jsonin.share``) and keeps the value, so ``raw`` reads, compares, copies and pickles as the
    parsed reply."""

    __slots__ = ("slot",)

    def __init__(self, slot: Any) -> None:
        self.slot = slot

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        value = self.slot.__get__(obj, owner)
        if type(value) is bytes:
            value = jsonin.share(jsonin.parse(value, strict=False), spec.words(obj.gateway))
            self.slot.__set__(obj, value)
        return value

    def __set__(self, obj: object, value: Any) -> None:
        self.slot.__set__(obj, value)

    def __delete__(self, obj: object) -> None:
        self.slot.__delete__(obj)


for _kind in (SubmittedTask, Task):
    _kind.raw = _ParsedOnRead(_kind.__dict__["raw"])  # type: ignore[assignment,misc]


def parse_time(value: Any) -> dt.datetime | None:
    """ISO 8601 strings (imini) or Unix seconds (apimart); None for anything else."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        try:
            return dt.datetime.fromtimestamp(value, dt.UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    return None
