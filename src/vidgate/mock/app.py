"""The mock gateway as an ASGI app: both gateways' documented endpoints at their real paths.

Mounted at ``/imini`` and ``/apimart`` (``create_app``), or one gateway alone at the root
(``gateway_app``, what the contract tests point schemathesis at). Request bodies are checked by
``vidgate.validation`` (the client's own, spec-derived validation): the mock and the client cannot
disagree about a rule. Replies and errors take each gateway's documented shape.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route

from vidgate import jsonin, spec
from vidgate.gateways import gateway
from vidgate.mock import media
from vidgate.mock.state import Fault, MockTask, State, rejected
from vidgate.types import Status, raw_status
from vidgate.validation import validator

__all__ = ["DEFAULT_KEY", "Dropped", "create_app", "gateway_app"]

DEFAULT_KEY = "sk-mock"
"""The API key the mock accepts unless it is given ``keys``."""
FILES = {  # name -> (content type, bytes)
    "video.mp4": ("video/mp4", media.video),
    "cover.jpg": ("image/jpeg", media.cover),
    "last_frame.png": ("image/png", media.last_frame),
}
PHASES = {"queued": Status.QUEUED, "processing": Status.RUNNING}


class Dropped(Exception):
    """A fault that drops the connection; ``processed`` says whether the request took effect."""

    def __init__(self, processed: bool) -> None:
        self.processed = processed
        """True when the request was carried out before the connection dropped
        (``drop-after``), False when it never was (``drop-before``)."""
        super().__init__("connection dropped" + (" after processing" if processed else ""))


Handler = Callable[[Request], Awaitable[Response]]


class _Abort(Response):
    """Over a real socket: promise a body, send less, stop; the client sees the connection drop."""

    def __init__(self) -> None:
        super().__init__()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"64")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"task', "more_body": False})


class Gateway:
    """The routes of one gateway over a shared State."""

    def __init__(self, name: str, state: State, keys: frozenset[str], server: bool = False) -> None:
        if name not in spec.GATEWAYS:
            raise ValueError(f"unknown gateway {name!r}")
        self.name: spec.Gateway = name
        self.gw = gateway(name)  # the gateway's table entry: every fact the mock branches on
        self.state, self.keys, self.server = state, keys, server

    # ------------------------------------------------------------------------ plumbing
    def error(
        self, status: int, message: str, code: str | None = None, **headers: str
    ) -> JSONResponse:
        """The gateway's error body: the fields its spec lists for ``error``. The code is the one
        given, else the gateway's code for the status, else the status itself (a gateway that
        documents no string code); the type, where the spec has one, is the status's."""
        kinds = self.gw.error_types
        values: dict[str, Any] = {
            "code": code or self.gw.error_codes.get(status) or status,
            "message": message,
            "status": status,
            "request_id": _request_id(),
            "type": kinds.get(str(status)) or kinds.get("400" if status < 500 else "500"),
            "param": None,
        }
        body = {"error": {k: values[k] for k in self.gw.error_fields if k in values}}
        return JSONResponse(body, status_code=status, headers=headers or None)

    async def guarded(self, route: str, request: Request, handler: Handler) -> Response:
        """Faults, then authentication, then the handler; drop-after faults run it first.

        A submit whose idempotency key is still being handled gets the spec's in-progress status
        (apimart's 202) + Retry-After."""
        header = self.gw.idempotency_header
        keyed = route == "submit" and header is not None and self._authorized(request)
        key = request.headers.get(header) if header and keyed else None  # (a stranger's: no 202)
        if key is not None and not self.state.begin(self.name, key):
            self.state.requests.append((self.state.clock(), route))
            busy = min(self.gw.in_progress_statuses)
            return JSONResponse(
                {"code": busy, "message": f"a request with this {header} is in progress"},
                status_code=busy,
                headers={"Retry-After": "1"},
            )
        try:
            return await self._guarded(route, request, handler)
        except Dropped:
            if self.server:
                return _Abort()
            raise  # in-process: the transport turns it into the matching httpx error
        finally:
            if key is not None:
                self.state.end(self.name, key)

    async def _guarded(self, route: str, request: Request, handler: Handler) -> Response:
        self.state.requests.append((self.state.clock(), route))
        fault = self.state.faults.next(route)
        if fault is not None:
            early = await self._fault_before(fault)
            if early is not None:
                return early
        if route != "file" and not self._authorized(request):
            return self.error(401, "API key missing or invalid")
        response = await handler(request)
        if fault is not None and fault.kind == "drop-after":
            raise Dropped(processed=True)
        if fault is not None and fault.kind == "malformed":
            return Response(b'{"task_id": ', status_code=200, media_type="application/json")
        if fault is not None and fault.kind == "drip":
            return _drip(response, fault.delay_s)
        return response

    async def _fault_before(self, fault: Fault) -> Response | None:
        if fault.kind == "drop-before":
            raise Dropped(processed=False)
        if fault.kind == "slow":
            await asyncio.sleep(fault.delay_s)
            return None
        if fault.kind.startswith("429"):
            wait = {
                "429": {"Retry-After": f"{fault.retry_after:g}"},
                "429-bare": {},
                "429-date": {"Retry-After": _http_date(self.state.clock() + fault.retry_after)},
            }[fault.kind]
            return self.error(429, "rate limit exceeded", **wait)
        if fault.kind in ("408", "500", "502"):
            return self.error(int(fault.kind), "injected fault")
        return None

    def _authorized(self, request: Request) -> bool:
        values = request.headers.getlist("authorization")
        if len(values) != 1:  # none, or an ambiguous pair: refuse
            return False
        scheme, _, token = values[0].partition(" ")
        return scheme.lower() == "bearer" and token in self.keys

    # ------------------------------------------------------------------------ endpoints
    def bad_parameters(self, operation_id: str, request: Request) -> Response | None:
        problems = validator(self.name).check_parameters(
            operation_id,
            {
                "header": dict(request.headers),
                "query": dict(request.query_params),
                "path": {k: str(v) for k, v in request.path_params.items()},
            },
        )
        if not problems:
            return None
        return self.error(400, "; ".join(p.message for p in problems))

    async def submit(self, request: Request) -> Response:
        bad = self.bad_parameters(self.gw.submit_operation_id, request)
        if bad is not None:
            return bad
        body_spec = spec.submit_operation(spec.document(self.name))[1]["requestBody"]
        sent_as = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if sent_as not in body_spec["content"]:  # the answer is a guess: see the spec
            status = body_spec["x-vidgate-other-media-types"]["status"]
            return self.error(status, f"send the body as {', '.join(body_spec['content'])}")
        try:
            body = jsonin.parse(await request.body())  # deep, huge or odd JSON: a 400
        except ValueError:
            return self.error(400, "the body is not JSON")
        result = validator(self.name).check(body)
        if not result.valid:
            first = result.violations[0]
            return self.error(400, "; ".join(v.message for v in result.violations), first.code)
        if rejected(body.get("prompt")):
            message = "the prompt was refused by content review"
            return self.error(400, message, self.gw.mock_refusal_code)
        header = self.gw.idempotency_header
        key = request.headers.get(header) if header is not None else None
        cap = self.state.max_in_flight
        known = key is not None and (self.name, key) in self.state.idempotent
        if cap is not None and not known and self.state.in_flight() >= cap:
            return self.error(429, f"at most {cap} tasks in flight", **{"Retry-After": "1"})
        assert result.model is not None
        assert result.mode is not None
        versioned = self.gw.response_version  # (header, the version the mock speaks) or None
        asked = request.headers.get(versioned[0]) if versioned and key is not None else None
        version = asked if versioned and asked == versioned[1] else None  # else the pages' shape
        body = jsonin.share(body, self.gw.words)  # kept with the task: the spec's words shared
        task, new = self.state.new_task(self.name, result.model, result.mode, body, key, version)
        envelope = self.gw.envelope
        if envelope is None:  # the reply is the submitted task
            return JSONResponse(
                {
                    self.gw.task_id_field: task.id,
                    "model": task.model,
                    self.gw.created_field: _iso(task.created),
                    "request_id": task.request_id,
                }
            )
        headers = {"Idempotency-Replayed": "false" if new else "true"} if key else {}
        if versioned is None or version is None:  # the pages' shape
            return JSONResponse(
                {"code": 200, envelope: [{"status": "submitted", "task_id": task.id}]},
                headers=headers,
            )
        data = {"id": task.id, "object": "generation.task", "status": "pending"}
        headers[versioned[0]] = version
        return JSONResponse({"code": 200, envelope: data}, headers=headers)

    async def task(self, request: Request) -> Response:
        bad = self.bad_parameters(self.gw.task_operation_id, request)
        if bad is not None:
            return bad
        task = self.state.tasks.get(request.path_params["task_id"])
        if task is None or task.gateway != self.name:
            return self.error(404, "task not found or expired")
        phase, progress = self.state.phase(task)
        files = str(request.url_for(f"{self.name}-file", task_id=task.id, name="video.mp4"))
        files = files.rsplit("/", 1)[0]
        envelope = self.gw.envelope
        if envelope is None:  # the reply is the task
            return JSONResponse(self._bare_task(task, phase, files))
        data = self._enveloped_task(task, phase, progress, files)
        return JSONResponse({"code": 200, envelope: data})

    def status(self, task: MockTask, phase: str) -> str:
        """The gateway's own status name, from the spec's status map (imini has no cancelled)."""
        ours = PHASES.get(phase, Status(task.outcome))
        return raw_status(self.name, ours) or raw_status(self.name, Status.FAILED) or "failed"

    def _bare_task(self, task: MockTask, phase: str, files: str) -> dict[str, Any]:
        """A task in the shape of a gateway whose reply is the task (imini's)."""
        done = phase == "done"
        status = self.status(task, phase)
        video: dict[str, Any] = {
            "url": f"{files}/video.mp4",
            "width": media.WIDTH,
            "height": media.HEIGHT,
            "duration": media.SECONDS,
            "cover_url": f"{files}/cover.jpg",
        }
        if task.body.get("extra_params", {}).get("return_last_frame"):
            video["last_frame_url"] = f"{files}/last_frame.png"
        failed = done and task.outcome != "succeeded"
        reply: dict[str, Any] = {
            self.gw.task_id_field: task.id,
            "status": status,
            "model": task.model,
            self.gw.created_field: _iso(task.created),
            self.gw.completed_field: _iso(self.state.completed_at(task)) if done else None,
        }
        _put(reply, self.gw.videos_at, [video] if done and task.outcome == "succeeded" else None)
        return reply | {
            "error": {
                "code": task.error_code or self.gw.mock_refusal_code,
                "message": "the output was refused by content review",
                "status": 400,
                "request_id": task.request_id,
            }
            if failed
            else None,
            "request_id": task.request_id,
        }

    def _enveloped_task(
        self, task: MockTask, phase: str, progress: int, files: str
    ) -> dict[str, Any]:
        """A task in the shape of a gateway whose reply holds it in an envelope (apimart's)."""
        timing = self.state.timing
        data: dict[str, Any] = {
            self.gw.task_id_field: task.id,
            "status": self.status(task, phase),
            "progress": progress,
            self.gw.created_field: int(task.created),
            "estimated_time": max(1, round(timing.queue_s + timing.run_s)),
        }
        if phase == "done":
            completed = self.state.completed_at(task)
            data[self.gw.completed_field] = int(completed)
            data["actual_time"] = round(completed - task.created)
            if task.outcome == "succeeded":
                video: dict[str, Any] = {"url": [f"{files}/video.mp4"]}
                if self.gw.url_lifetime is not None:
                    video["expires_at"] = int(completed) + self._url_lifetime(task)
                _put(data, self.gw.videos_at, [video])
            elif task.outcome == "failed":
                data["error"] = {
                    "code": task.error_code or "content_rejected",
                    "message": "content rejected",
                    "type": "content_policy",
                }
        return data

    async def file(self, request: Request) -> Response:
        task = self.state.tasks.get(request.path_params["task_id"])
        name = request.path_params["name"]
        phase = self.state.phase(task)[0] if task else None
        if task is None or name not in FILES or phase != "done" or task.outcome != "succeeded":
            return Response(b"NoSuchKey", status_code=404, media_type="text/plain")
        expires = self.state.completed_at(task) + self._url_lifetime(task)
        if self.gw.url_lifetime is not None and self.state.clock() >= expires:
            return Response(
                b"AccessDenied: Request has expired", status_code=403, media_type="text/plain"
            )
        content_type, make = FILES[name]
        return Response(make(), media_type=content_type)

    def _url_lifetime(self, task: MockTask) -> int:
        """Seconds a result URL lives: the spec's reading for the reply version of the submit
        (0 where the spec gives none: the URL is not checked)."""
        reading = self.gw.url_lifetime
        if reading is None:
            return 0
        return int(reading["seconds"] if task.version else reading["legacy_seconds"])

    def routes(self) -> list[Route]:
        def wrap(route: str, handler: Handler) -> Handler:
            async def endpoint(request: Request) -> Response:
                return await self.guarded(route, request, handler)

            return endpoint

        return [
            Route(self.gw.submit_path, wrap("submit", self.submit), methods=["POST"]),
            Route(self.gw.task_path, wrap("task", self.task), methods=["GET"]),
            Route(
                "/files/{task_id}/{name}",
                wrap("file", self.file),
                methods=["GET"],
                name=f"{self.name}-file",
            ),
        ]


def _put(data: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    """Set ``value`` at ``path`` inside ``data`` (the objects on the way made as needed)."""
    for key in path[:-1]:
        data = data.setdefault(key, {})
    data[path[-1]] = value


def _http_date(seconds: float) -> str:
    return email.utils.formatdate(seconds, usegmt=True)


def _iso(seconds: float) -> str:
    stamp = dt.datetime.fromtimestamp(seconds, dt.UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def _request_id() -> str:
    import uuid

    return str(uuid.uuid4())


def gateway_app(
    name: str, state: State, keys: frozenset[str] = frozenset({DEFAULT_KEY}), server: bool = False
) -> Starlette:
    """One gateway at the root of its own app (paths exactly as in its spec)."""
    return Starlette(routes=Gateway(name, state, keys, server).routes())


def create_app(
    state: State, keys: frozenset[str] = frozenset({DEFAULT_KEY}), server: bool = False
) -> Starlette:
    """Both gateways: imini under /imini, apimart under /apimart."""
    return Starlette(
        routes=[
            Mount(f"/{name}", routes=Gateway(name, state, keys, server).routes())
            for name in spec.GATEWAYS
        ]
    )


def _drip(response: Response, seconds: float, pieces: int = 10) -> Response:
    """The same reply, its body sent in ``pieces`` over ``seconds`` (a slow-drip server)."""
    body = bytes(response.body)
    step = max(1, -(-len(body) // pieces))

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), step):
            await asyncio.sleep(seconds / pieces)
            yield body[start : start + step]

    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    return StreamingResponse(chunks(), status_code=response.status_code, headers=headers)
