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
from functools import cache
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
        self.state, self.keys, self.server = state, keys, server

    # ------------------------------------------------------------------------ plumbing
    def error(self, status: int, code: str, message: str, **headers: str) -> JSONResponse:
        if self.name == "imini":
            body: dict[str, Any] = {
                "error": {
                    "code": code,
                    "message": message,
                    "status": status,
                    "request_id": _request_id(),
                }
            }
        else:  # the type per status, and an integer code where no string code is documented
            types = _apimart_error_types()
            kind = types.get(str(status), types["400" if status < 500 else "500"])
            number: str | int = code if code else status
            body = {"error": {"code": number, "message": message, "type": kind, "param": None}}
        return JSONResponse(body, status_code=status, headers=headers or None)

    async def guarded(self, route: str, request: Request, handler: Handler) -> Response:
        """Faults, then authentication, then the handler; drop-after faults run it first.

        An apimart submit whose Idempotency-Key is still being handled gets 202 + Retry-After."""
        keyed = route == "submit" and self.name == "apimart" and self._authorized(request)
        key = request.headers.get("idempotency-key") if keyed else None  # (a stranger's: no 202)
        if key is not None and not self.state.begin(self.name, key):
            self.state.requests.append((self.state.clock(), route))
            return JSONResponse(
                {"code": 202, "message": "a request with this Idempotency-Key is in progress"},
                status_code=202,
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
            code = "UNAUTHORIZED" if self.name == "imini" else ""
            return self.error(401, code, "API key missing or invalid")
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
            code = "RATE_LIMITED" if self.name == "imini" else ""
            wait = {
                "429": {"Retry-After": f"{fault.retry_after:g}"},
                "429-bare": {},
                "429-date": {"Retry-After": _http_date(self.state.clock() + fault.retry_after)},
            }[fault.kind]
            return self.error(429, code, "rate limit exceeded", **wait)
        if fault.kind in ("408", "500", "502"):
            names = {"408": "REQUEST_TIMEOUT", "500": "INTERNAL_ERROR", "502": "UPSTREAM_ERROR"}
            return self.error(
                int(fault.kind), names[fault.kind] if self.name == "imini" else "", "injected fault"
            )
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
        code = "INVALID_PARAMETER" if self.name == "imini" else ""
        return self.error(400, code, "; ".join(p.message for p in problems))

    async def submit(self, request: Request) -> Response:
        bad = self.bad_parameters(gateway(self.name).submit_operation_id, request)
        if bad is not None:
            return bad
        body_spec = spec.submit_operation(spec.document(self.name))[1]["requestBody"]
        sent_as = request.headers.get("content-type", "").split(";")[0].strip().lower()
        code = "INVALID_PARAMETER" if self.name == "imini" else ""
        if sent_as not in body_spec["content"]:  # the answer is a guess: see the spec
            status = body_spec["x-vidgate-other-media-types"]["status"]
            return self.error(status, code, f"send the body as {', '.join(body_spec['content'])}")
        try:
            body = jsonin.parse(await request.body())  # deep, huge or odd JSON: a 400
        except ValueError:
            return self.error(400, code, "the body is not JSON")
        result = validator(self.name).check(body)
        if not result.valid:
            first = result.violations[0]
            fallback = "INVALID_PARAMETER" if self.name == "imini" else ""
            return self.error(
                400, first.code or fallback, "; ".join(v.message for v in result.violations)
            )
        if rejected(body.get("prompt")):
            code = "INVALID_PROMPT" if self.name == "imini" else ""
            return self.error(400, code, "the prompt was refused by content review")
        key = request.headers.get("idempotency-key") if self.name == "apimart" else None
        cap = self.state.max_in_flight
        known = key is not None and (self.name, key) in self.state.idempotent
        if cap is not None and not known and self.state.in_flight() >= cap:
            code = "RATE_LIMITED" if self.name == "imini" else ""
            return self.error(429, code, f"at most {cap} tasks in flight", **{"Retry-After": "1"})
        assert result.model is not None
        assert result.mode is not None
        asked = request.headers.get(_VERSION_HEADER) if key is not None else None
        version = asked if asked == _known_version() else None  # else the pages' shape
        task, new = self.state.new_task(self.name, result.model, result.mode, body, key, version)
        if self.name == "imini":
            return JSONResponse(
                {
                    "task_id": task.id,
                    "model": task.model,
                    "created_at": _iso(task.created),
                    "request_id": task.request_id,
                }
            )
        headers = {"Idempotency-Replayed": "false" if new else "true"} if key else {}
        if version is None:  # the pages' shape
            return JSONResponse(
                {"code": 200, "data": [{"status": "submitted", "task_id": task.id}]},
                headers=headers,
            )
        data = {"id": task.id, "object": "generation.task", "status": "pending"}
        headers[_VERSION_HEADER] = version
        return JSONResponse({"code": 200, "data": data}, headers=headers)

    async def task(self, request: Request) -> Response:
        bad = self.bad_parameters(gateway(self.name).task_operation_id, request)
        if bad is not None:
            return bad
        task = self.state.tasks.get(request.path_params["task_id"])
        if task is None or task.gateway != self.name:
            code = "TASK_NOT_FOUND" if self.name == "imini" else ""
            return self.error(404, code, "task not found or expired")
        phase, progress = self.state.phase(task)
        files = str(request.url_for(f"{self.name}-file", task_id=task.id, name="video.mp4"))
        files = files.rsplit("/", 1)[0]
        if self.name == "imini":
            return JSONResponse(self._imini_task(task, phase, files))
        return JSONResponse({"code": 200, "data": self._apimart_task(task, phase, progress, files)})

    def status(self, task: MockTask, phase: str) -> str:
        """The gateway's own status name, from the spec's status map (imini has no cancelled)."""
        ours = PHASES.get(phase, Status(task.outcome))
        return raw_status(self.name, ours) or raw_status(self.name, Status.FAILED) or "failed"

    def _imini_task(self, task: MockTask, phase: str, files: str) -> dict[str, Any]:
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
        return {
            "task_id": task.id,
            "status": status,
            "model": task.model,
            "created_at": _iso(task.created),
            "completed_at": _iso(self.state.completed_at(task)) if done else None,
            "videos": [video] if done and task.outcome == "succeeded" else None,
            "error": {
                "code": task.error_code or "INVALID_PROMPT",
                "message": "the output was refused by content review",
                "status": 400,
                "request_id": task.request_id,
            }
            if failed
            else None,
            "request_id": task.request_id,
        }

    def _apimart_task(
        self, task: MockTask, phase: str, progress: int, files: str
    ) -> dict[str, Any]:
        timing = self.state.timing
        data: dict[str, Any] = {
            "id": task.id,
            "status": self.status(task, phase),
            "progress": progress,
            "created": int(task.created),
            "estimated_time": max(1, round(timing.queue_s + timing.run_s)),
        }
        if phase == "done":
            completed = self.state.completed_at(task)
            data["completed"] = int(completed)
            data["actual_time"] = round(completed - task.created)
            if task.outcome == "succeeded":
                data["result"] = {
                    "videos": [
                        {
                            "url": [f"{files}/video.mp4"],
                            "expires_at": int(completed) + _url_lifetime(task),
                        }
                    ]
                }
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
        expires = self.state.completed_at(task) + _url_lifetime(task)
        if self.name == "apimart" and self.state.clock() >= expires:
            return Response(
                b"AccessDenied: Request has expired", status_code=403, media_type="text/plain"
            )
        content_type, make = FILES[name]
        return Response(make(), media_type=content_type)

    def routes(self) -> list[Route]:
        def wrap(route: str, handler: Handler) -> Handler:
            async def endpoint(request: Request) -> Response:
                return await self.guarded(route, request, handler)

            return endpoint

        submit, task = {
            "imini": ("/v1/videos/generate", "/v1/videos/tasks/{task_id}"),
            "apimart": ("/v1/videos/generations", "/v1/tasks/{task_id}"),
        }[self.name]
        return [
            Route(submit, wrap("submit", self.submit), methods=["POST"]),
            Route(task, wrap("task", self.task), methods=["GET"]),
            Route(
                "/files/{task_id}/{name}",
                wrap("file", self.file),
                methods=["GET"],
                name=f"{self.name}-file",
            ),
        ]


_VERSION_HEADER = "X-APIMart-Response-Version"


@cache
def _apimart_error_types() -> dict[str, str]:
    detail = spec.document("apimart")["components"]["schemas"]["ErrorDetail"]
    return dict(detail["properties"]["type"]["x-vidgate-by-status"])


@cache
def _known_version() -> str:
    """The reply version the mock speaks besides the pages' shape: the spec's default."""
    submit = spec.submit_operation(spec.document("apimart"))[1]
    header = next(p for p in submit["parameters"] if p["name"] == _VERSION_HEADER)
    return str(header["schema"]["default"])


def _url_lifetime(task: MockTask) -> int:
    """Seconds a result URL lives: the spec's reading for the reply version of the submit."""
    lifetime = spec.document("apimart")["components"]["schemas"]["VideoResult"]
    reading = lifetime["x-vidgate-url-lifetime"]
    return int(reading["seconds"] if task.version else reading["legacy_seconds"])


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
            for name in ("imini", "apimart")
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
