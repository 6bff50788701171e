"""The hostile loopback server of ``make hostile``: every reply scripted to misbehave.

Each scenario gets its own path prefix (``/s<N>``), so scenarios run side by side on one server.
Routes under a prefix: ``POST …`` a submit, ``GET …/file/…`` a result file, ``GET …/loop`` a
redirect to itself, any other ``GET`` a task poll. A scenario's responders write raw bytes to
the socket (slow drip, silence, endless chunks, gzip bombs, lying Content-Length, key echoes).
"""

from __future__ import annotations

import contextlib
import json
import os
import socketserver
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

from vidgate.types import Status, raw_status

KEY = "sk-hostile/" + os.urandom(6).hex() + "+key"  # a / and a + so escaped forms differ
KEY_FORMS = sorted(
    {
        KEY,
        json.dumps(KEY)[1:-1].replace("/", "\\/"),
        quote(KEY, safe=""),
        quote_plus(KEY, safe=""),
        KEY.removeprefix("sk-"),
    }
)
SUCCEEDED = str(raw_status("imini", Status.SUCCEEDED))
RUNNING = str(raw_status("imini", Status.RUNNING))
VIDEO = b"\x00\x00\x00\x18ftypmp42" + os.urandom(4096)
LIFETIME_S = 90.0  # no scripted reply lasts longer than this
Responder = Callable[["Handler"], None]


# ---------------------------------------------------------------------------- the server
class Handler(socketserver.StreamRequestHandler):
    server: Server

    def handle(self) -> None:
        line = self.rfile.readline(65536).decode("latin-1")
        if not line.strip():
            return
        self.method, path = line.split(" ")[:2]
        prefix, _, rest = path.lstrip("/").partition("/")
        self.slot = self.server.slots.get(prefix) or Slot(Scenario("unknown", [], set()), "")
        self.prefix, self.path = prefix, "/" + rest
        length = 0
        while (header := self.rfile.readline(65536)) not in (b"\r\n", b"\n", b""):
            name, _, value = header.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip() or 0)
        self.body = self.rfile.read(length) if length else b""
        scenario = self.slot.scenario
        if self.path.startswith("/loop"):
            responder: Responder = redirect_to("/loop")
        elif self.path.startswith("/file/"):
            responder = scenario.file or send(200, VIDEO, "video/mp4")
        elif self.method == "POST":
            responder = scenario.submit or ok_submit
        else:
            responder = scenario.task or task_reply()
        with contextlib.suppress(OSError):
            responder(self)

    def write(self, data: bytes) -> None:
        self.wfile.write(data)
        self.wfile.flush()

    def head(self, status: int, headers: dict[str, str]) -> None:
        lines = [f"HTTP/1.1 {status} X"] + [f"{k}: {v}" for k, v in headers.items()]
        self.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    @property
    def base(self) -> str:
        return f"{self.server.base}/{self.prefix}"

    def alive(self, start: float) -> bool:
        return not self.server.stopping and time.monotonic() - start < LIFETIME_S


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server_address[1]}"
        self.slots: dict[str, Slot] = {}
        self.stopping = False
        self._lock = threading.Lock()

    def add(self, scenario: Scenario, work: Path) -> tuple[str, Slot]:
        """A prefix for one run of ``scenario``; its base URL is ``base + "/" + prefix``."""
        with self._lock:
            prefix = f"s{len(self.slots)}"
            self.slots[prefix] = slot = Slot(scenario, str(work))
        return prefix, slot

    def __enter__(self) -> Server:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping = True
        self.shutdown()
        self.server_close()


def send(status: int, body: bytes, kind: str = "application/json", **extra: str) -> Responder:
    def respond(h: Handler) -> None:
        h.head(status, {"Content-Type": kind, "Content-Length": str(len(body)), **extra})
        h.write(body)

    return respond


def send_json(value: Any, status: int = 200) -> Responder:
    return send(status, json.dumps(value).encode())


def ok_submit(h: Handler) -> None:
    send_json({"task_id": f"t{h.slot.count()}", "status": "queued"})(h)


def task_reply(
    task_id: str = "t1", status: str = SUCCEEDED, url: str | None = "/file/v.mp4", **more: Any
) -> Responder:
    def respond(h: Handler) -> None:
        videos = [] if url is None else [{"url": h.base + url if url.startswith("/") else url}]
        own = task_id.replace("{work}", h.slot.work)  # ids may name the scenario's folder
        send_json({"task_id": own, "status": status, "videos": videos, **more})(h)

    return respond


def drip(first: bytes = b'{"task_id": "t1", ', every: float = 0.2) -> Responder:
    def respond(h: Handler) -> None:
        h.head(200, {"Content-Type": "application/json", "Content-Length": "100000"})
        h.write(first)
        start = time.monotonic()
        while h.alive(start):
            h.write(b" ")
            time.sleep(every)

    return respond


def silence(h: Handler) -> None:
    start = time.monotonic()
    while h.alive(start):
        time.sleep(0.1)


def endless(start_with: bytes, kind: str = "application/json") -> Responder:
    def respond(h: Handler) -> None:
        h.head(200, {"Content-Type": kind, "Transfer-Encoding": "chunked"})
        chunk = b"x" * 65536
        if start_with:  # (an empty chunk would end the body)
            h.write(f"{len(start_with):x}\r\n".encode() + start_with + b"\r\n")
        start = time.monotonic()
        while h.alive(start):
            h.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")

    return respond


def bomb(size: int, kind: str = "application/json") -> Responder:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip framing
    block = b"0" * (1 << 20)
    body = b"".join(packer.compress(block) for _ in range(size >> 20)) + packer.flush()
    return send(200, body, kind, **{"Content-Encoding": "gzip"})


def redirect_to(where: str) -> Responder:
    def respond(h: Handler) -> None:
        h.head(302, {"Location": h.base + where, "Content-Length": "0"})

    return respond


def lying_length(declared: int, sent: int) -> Responder:
    def respond(h: Handler) -> None:
        h.head(200, {"Content-Type": "video/mp4", "Content-Length": str(declared)})
        h.write(VIDEO[:sent] if sent <= len(VIDEO) else VIDEO + b"\0" * (sent - len(VIDEO)))

    return respond


def echo_key(status: int, as_json: bool) -> Responder:
    text = "; ".join(f"Authorization: Bearer {form}" for form in KEY_FORMS)
    body = json.dumps({"error": {"code": "x", "message": text}}) if as_json else text
    return send(status, body.encode(), "application/json" if as_json else "text/plain")


# ---------------------------------------------------------------------------- scenarios
@dataclass
class Scenario:
    name: str
    args: list[str]  # {base} {out} {work} are filled in
    codes: set[int]
    task: Responder | None = None
    submit: Responder | None = None
    file: Responder | None = None
    env: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)  # inputs written into the work folder
    bound: float = 25.0  # seconds; a run taking longer is a hang
    fast: bool = True  # part of the default test suite (in-process)
    check: Callable[[Path, Slot], list[str]] | None = None  # more problems ("lost: …" counts)
    fsize: int | None = None  # RLIMIT_FSIZE: a disk that fills up (subprocess runs only)


@dataclass
class Slot:
    """One run of a scenario on the server: its folder, and the submits it received."""

    scenario: Scenario
    work: str
    submits: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self) -> int:
        """One more submit received; its number."""
        with self.lock:
            self.submits += 1
            return self.submits
