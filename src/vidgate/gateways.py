"""What differs between the gateways: one table entry per gateway (``_TABLE``), the rest read
from its spec: endpoints, reply shapes, error bodies, status vocabulary, idempotency, polling.

Nothing outside this module compares a gateway's name (tests/test_gateways_table.py checks): code
asks the entry for the fact it branches on. A new gateway needs its spec and one entry here.

Requests are built by the generated transport (``vidgate_imini`` / ``vidgate_apimart``
``_get_kwargs``), so paths and methods come from the specs; the body sent is exactly the validated
dict. Replies are read defensively: anything vidgate needs and cannot find raises
MalformedResponseError, anything else unknown is kept.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import Any

from vidgate import spec
from vidgate.errors import MalformedResponseError
from vidgate.types import (
    Status,
    SubmittedTask,
    Task,
    VideoOutput,
    body_request_id,
    parse_time,
    replayed_header,
    status_of,
    task_error,
    typed_reply,
)

__all__ = ["Gateway", "Polling", "gateway"]

Json = dict[str, Any]


@dataclass(frozen=True)
class Polling:
    """The spec's x-vidgate-polling for the task query."""

    interval_s: float
    max_interval_s: float
    max_wait_s: float
    backoff_factor: float
    jitter: float
    after_429_s: float  # the shortest wait after a 429 that names none


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _estimate(data: Mapping[str, Any]) -> int | None:
    """apimart's estimated_time: top-level, else in task_info (as some model pages show)."""
    top = _int(data.get("estimated_time"))
    info = data.get("task_info")
    return (
        top
        if top is not None or not isinstance(info, Mapping)
        else _int(info.get("estimated_time"))
    )


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _amount(value: Any) -> float | None:
    """A cost as a number, whether the reply gives 0.12 or "0.12" (None for anything else)."""
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    found = _num(value)
    return found if found is not None and math.isfinite(found) else None


def _whole(value: Any) -> int | None:
    """A whole number from a number the spec allows to be fractional (e.g. progress 42.5 -> 42)."""
    number = _num(value)
    return int(number) if number is not None and math.isfinite(number) else None


@dataclass(frozen=True)
class Gateway:
    """One gateway's entry: what its spec does not say, typed here once; the rest read from it."""

    name: spec.Gateway
    env_key: str
    env_url: str
    submit_module: str  # generated endpoint module of the submit operation
    task_module: str  # generated endpoint module of the task query
    # where a task reply holds what vidgate reads (the spec lists the fields, not their meaning)
    created_field: str  # when the task was made
    completed_field: str  # when it ended
    videos_at: tuple[str, ...]  # the path to the result videos inside the task
    # the mock gateway's choices where the pages show no example
    mock_task_id: str  # format of a task id the mock makes ({number})
    # codes per HTTP status beyond the spec's examples (compare=False: the entry stays hashable)
    mock_error_codes: Mapping[int, str] = field(compare=False)
    mock_refusal_code: str | None  # the code of a prompt refused by content review

    # ------------------------------------------------------------------------ from the spec
    @property
    def doc(self) -> Json:
        return spec.document(self.name)

    @property
    def submit_operation_id(self) -> str:
        return self.submit_module.rsplit(".", 1)[1]

    @property
    def task_operation_id(self) -> str:
        return self.task_module.rsplit(".", 1)[1]

    @property
    def default_base_url(self) -> str:
        return str(self.doc["servers"][0]["url"])

    @cached_property
    def polling(self) -> Polling:
        op = spec.operation(self.doc, self.task_operation_id)
        p = op["x-vidgate-polling"]
        return Polling(
            p["interval_s"],
            p["max_interval_s"],
            p["max_wait_s"],
            p["backoff_factor"],
            p["jitter"],
            float(p["after_429_s"]),
        )

    @cached_property
    def idempotency_header(self) -> str | None:
        """The submit's idempotency header, if the spec has one."""
        op = spec.operation(self.doc, self.submit_operation_id)
        for param in op.get("parameters", []):
            if param["in"] == "header" and param["name"].lower() == "idempotency-key":
                return str(param["name"])
        return None

    @cached_property
    def response_version(self) -> tuple[str, str] | None:
        """(header, the spec's default) of the submit's reply-version header, if it has one."""
        op = spec.operation(self.doc, self.submit_operation_id)
        for param in op.get("parameters", []):
            if param["in"] == "header" and param["name"].lower().endswith("-response-version"):
                return str(param["name"]), str(param["schema"]["default"])
        return None

    @cached_property
    def in_progress_statuses(self) -> frozenset[int]:
        """Submit statuses that mean "the request with this key is still being processed"."""
        op = spec.operation(self.doc, self.submit_operation_id)
        return frozenset(
            int(code)
            for code, reply in op["responses"].items()
            if isinstance(reply, Mapping) and reply.get("x-vidgate-in-progress")
        )

    @cached_property
    def submit_path(self) -> str:
        return _path(self.doc, self.submit_operation_id)

    @cached_property
    def task_path(self) -> str:
        return _path(self.doc, self.task_operation_id)

    @cached_property
    def submit_reply_schema(self) -> str:
        """The schema of a submit's 200 reply (the generated model ``SubmittedTask.typed`` uses)."""
        return spec.reply_schemas(self.name)[0]

    @cached_property
    def task_reply_schema(self) -> str:
        """The schema of a task query's 200 reply (the generated model ``Task.typed`` uses)."""
        return spec.reply_schemas(self.name)[1]

    @cached_property
    def _task_location(self) -> tuple[str | None, str]:
        """(envelope, task schema): the reply is the task (it requires ``status``), or holds it
        under the one property that refers to a schema that does."""
        schemas = self.doc["components"]["schemas"]
        reply = schemas[self.task_reply_schema]
        if "status" in reply.get("required", []):
            return None, self.task_reply_schema
        for key, prop in reply.get("properties", {}).items():
            name = str(prop.get("$ref", "")).rsplit("/", 1)[-1]
            if "status" in schemas.get(name, {}).get("required", []):
                return str(key), name
        raise LookupError(f"{self.name}: no task in {self.task_reply_schema}")

    @cached_property
    def envelope(self) -> str | None:
        """The key replies carry the task (and a submit its tasks) under; None: the reply is it."""
        return self._task_location[0]

    @cached_property
    def task_schema(self) -> str:
        return self._task_location[1]

    @cached_property
    def task_id_field(self) -> str:
        """The task's id: the field its schema requires besides ``status``."""
        required = self.doc["components"]["schemas"][self.task_schema]["required"]
        (found,) = (name for name in required if name != "status")
        return str(found)

    @cached_property
    def task_fields(self) -> frozenset[str]:
        """The fields the spec lists for a task (a field it does not list is not read)."""
        return frozenset(self.doc["components"]["schemas"][self.task_schema].get("properties", {}))

    @cached_property
    def task_query(self) -> frozenset[str]:
        """The task query's query parameters (apimart's ``language``)."""
        op = spec.operation(self.doc, self.task_operation_id)
        return frozenset(p["name"] for p in op.get("parameters", []) if p["in"] == "query")

    @cached_property
    def error_fields(self) -> tuple[str, ...]:
        """The fields of an error body's ``error`` object, in the spec's order."""
        detail = spec.deref(self.doc, self.doc["components"]["schemas"]["ErrorResponse"])
        inner = spec.deref(self.doc, detail["properties"]["error"])
        return tuple(inner.get("properties", {}))

    @cached_property
    def error_types(self) -> Mapping[str, str]:
        """The error ``type`` per HTTP status (``x-vidgate-by-status``), where the spec has one."""
        detail = spec.deref(self.doc, self.doc["components"]["schemas"]["ErrorResponse"])
        kind = spec.deref(self.doc, detail["properties"]["error"]).get("properties", {}).get("type")
        return dict(kind.get("x-vidgate-by-status", {})) if isinstance(kind, Mapping) else {}

    @cached_property
    def error_codes(self) -> Mapping[int, str]:
        """The error code per HTTP status: the spec's one example of that status, else the
        table's ``mock_error_codes`` (the mock answers with these)."""
        codes: dict[int, str] = dict(self.mock_error_codes)
        for item in self.doc["paths"].values():
            for op in item.values():
                for status, reply in (
                    op.get("responses", {}).items() if isinstance(op, dict) else ()
                ):
                    example = spec.deref(self.doc, reply).get("content", {})
                    example = example.get("application/json", {}).get("example", {})
                    code = (
                        example.get("error", {}).get("code") if isinstance(example, dict) else None
                    )
                    if isinstance(code, str) and status.isdigit():
                        codes[int(status)] = code
        return codes

    @cached_property
    def url_lifetime(self) -> Mapping[str, Any] | None:
        """The spec's ``x-vidgate-url-lifetime`` of a result video (None: URLs do not expire)."""
        video = self.doc["components"]["schemas"].get("VideoResult", {})
        found = video.get("x-vidgate-url-lifetime")
        return dict(found) if isinstance(found, Mapping) else None

    @property
    def words(self) -> dict[str, str]:
        """The spec's property names and string enum values (``spec.words``)."""
        return spec.words(self.name)

    # ------------------------------------------------------------------------ requests
    def submit_request(
        self,
        body: Json,
        idempotency_key: str | None = None,
        response_version: str | None = None,
    ) -> Json:
        """httpx.request() arguments for a submit: method, URL and headers as the generated
        transport builds them for this model (built once), carrying exactly the validated body.
        With a key, ``response_version`` (where the spec has that header) goes with it."""
        template = _submit_template(self.name, body["model"])
        headers = dict(template["headers"])
        if self.response_version:  # the generated transport sends the default always: not us
            headers.pop(self.response_version[0], None)
        if idempotency_key is not None and self.idempotency_header:
            headers[self.idempotency_header] = idempotency_key
            if response_version and self.response_version:
                headers[self.response_version[0]] = response_version
        return {**template, "headers": headers, "json": body}

    @cached_property
    def _task_kwargs(self) -> Any:
        """The generated transport's request builder for the task query (looked up once)."""
        return importlib.import_module(self.task_module)._get_kwargs

    def task_request(self, task_id: str, language: str | None = None) -> Json:
        extra: dict[str, Any] = {}
        if language is not None and "language" in self.task_query:
            extra["language"] = language
        kwargs: Json = self._task_kwargs(task_id=task_id, **extra)
        return kwargs

    # ------------------------------------------------------------------------ replies
    def parse_submit(
        self,
        data: Any,
        status: int,
        mode: str | None,
        headers: Mapping[str, str] | None = None,
    ) -> SubmittedTask:
        """The submitted task from a submit reply: the reply itself (imini), or under the envelope
        (apimart's ``data``) as an array (``data[0].task_id``) or as an object (``data.id``, the
        newer reply version)."""
        raw, envelope = data, data if isinstance(data, Mapping) else {}
        task_id = _str(data.get("task_id")) if isinstance(data, Mapping) else None
        if self.envelope is not None:
            items = envelope.get(self.envelope)
            if isinstance(items, list):
                data = items[0] if items else None
                task_id = _str(data.get("task_id")) if isinstance(data, Mapping) else None
            else:  # the object shape
                data = items
                task_id = _str(data.get("id")) if isinstance(data, Mapping) else None
        if not task_id or not isinstance(data, Mapping):
            raise MalformedResponseError(
                "submit reply has no task id", status=status, excerpt=str(raw)
            )
        return SubmittedTask(
            id=task_id,
            gateway=self.name,
            model=_str(data.get("model")),
            created_at=parse_time(data.get("created_at", data.get("created"))),
            request_id=_str(data.get("request_id")) or body_request_id(raw),
            mode=mode,
            replayed=bool(replayed_header(headers)),
            raw=raw,
        )

    def parse_task(self, data: Any, status: int) -> Task:
        raw = data
        if self.envelope is not None:
            data = data.get(self.envelope) if isinstance(data, Mapping) else None
        if not isinstance(data, Mapping):
            raise MalformedResponseError(
                "task reply is not an object", status=status, excerpt=str(raw)
            )
        task_id = _str(data.get(self.task_id_field))
        raw_status = self._word(data.get("status"))
        if not task_id or raw_status is None:
            raise MalformedResponseError(
                "task reply has no id or status", status=status, excerpt=str(raw)
            )
        error = data.get("error")
        videos = self._videos(data)
        state = status_of(self.name, raw_status)
        if state is Status.SUCCEEDED and not videos and self.empty_success == "unknown":
            state = Status.UNKNOWN  # see the spec's x-vidgate-succeeded-without-videos
        return Task(
            id=task_id,
            gateway=self.name,
            status=state,
            raw_status=raw_status,
            model=self._word(data.get("model")),
            progress=_whole(data.get("progress")),
            created_at=parse_time(data.get(self.created_field)),
            completed_at=parse_time(data.get(self.completed_field)),
            estimated_seconds=_estimate(data),
            videos=videos,
            error=task_error(error),
            cost=_amount(data.get("cost")) if "cost" in self.task_fields else None,
            credits_cost=(
                _amount(data.get("credits_cost")) if "credits_cost" in self.task_fields else None
            ),
            raw=raw,
        )

    def _word(self, value: Any) -> str | None:
        """A string of a reply, as the one str object of ``words`` where the spec names it."""
        return self.words.get(value, value) if isinstance(value, str) else None

    @cached_property
    def empty_success(self) -> str | None:
        """How a succeeded status with no video is read (the spec's reading; None: as given)."""
        status = self.doc["components"]["schemas"]["TaskStatus"]
        reading = status.get("x-vidgate-succeeded-without-videos", {}).get("reading")
        return str(reading) if reading else None

    def _videos(self, data: Mapping[str, Any]) -> tuple[VideoOutput, ...]:
        items: Any = data
        for key in self.videos_at:
            items = items.get(key) if isinstance(items, Mapping) else None
        out = []
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, Mapping):
                continue
            url = item.get("url")
            if isinstance(url, list):  # apimart: usually a one-element list
                url = next((u for u in url if isinstance(u, str)), None)
            if not isinstance(url, str):
                continue
            out.append(
                VideoOutput(
                    url=url,
                    cover_url=_str(item.get("cover_url")),
                    last_frame_url=_str(item.get("last_frame_url")),
                    width=_int(item.get("width")),
                    height=_int(item.get("height")),
                    duration=_num(item.get("duration")),
                    expires_at=parse_time(item.get("expires_at")),
                )
            )
        return tuple(out)

    def parse_error(self, data: Any) -> tuple[str | int | None, str | None, str | None]:
        """(code, message, request id) from an error body, whatever its shape."""
        err = data.get("error") if isinstance(data, Mapping) else None
        if not isinstance(err, Mapping):
            err = data if isinstance(data, Mapping) else {}
        code = err.get("code")
        code = code if isinstance(code, str | int) and not isinstance(code, bool) else None
        return code, _str(err.get("message")), _str(err.get("request_id"))

    def typed(self, schema: str, data: Any) -> Any:
        """A reply parsed by the generated pydantic model (raises pydantic's ValidationError)."""
        return typed_reply(self.name, schema, data)


class _AnyBody:
    """Stands in for the generated attrs body: ``_get_kwargs`` only calls ``to_dict()``."""

    def to_dict(self) -> Json:
        return {}


@cache
def _submit_template(name: str, model: str) -> Json:
    """Method, URL and headers of a submit, from the generated transport (once per model)."""
    module = importlib.import_module(gateway(name).submit_module)
    kwargs: Json = module._get_kwargs(body=_AnyBody())
    kwargs.pop("json")
    return kwargs


def _path(doc: Json, operation_id: str) -> str:
    for path, item in doc["paths"].items():
        if any(
            isinstance(op, dict) and op.get("operationId") == operation_id for op in item.values()
        ):
            return str(path)
    raise LookupError(operation_id)


_TABLE = (
    Gateway(
        name="imini",
        env_key="IMINI_API_KEY",
        env_url="IMINI_BASE_URL",
        submit_module="vidgate_imini.api.videos.generate_video",
        task_module="vidgate_imini.api.videos.get_video_task",
        created_field="created_at",
        completed_field="completed_at",
        videos_at=("videos",),
        mock_task_id="task_{number}",
        mock_error_codes={408: "REQUEST_TIMEOUT", 500: "INTERNAL_ERROR", 502: "UPSTREAM_ERROR"},
        mock_refusal_code="INVALID_PROMPT",
    ),
    Gateway(
        name="apimart",
        env_key="APIMART_API_KEY",
        env_url="APIMART_BASE_URL",
        submit_module="vidgate_apimart.api.videos.create_video_generation",
        task_module="vidgate_apimart.api.tasks.get_task",
        created_field="created",
        completed_field="completed",
        videos_at=("result", "videos"),
        mock_task_id="task_01MOCK{number:019d}",
        mock_error_codes={},  # no string code documented: the mock answers the status as code
        mock_refusal_code=None,
    ),
)
_GATEWAYS = {entry.name: entry for entry in _TABLE}


@cache
def gateway(name: str) -> Gateway:
    if name not in _GATEWAYS:
        raise ValueError(f"unknown gateway {name!r}; expected one of {', '.join(_GATEWAYS)}")
    return _GATEWAYS[name]
