"""The ``vidgate`` command; this package registers every command on one Typer app.

Commands by audience: here, the ones for a user with a task (validate, generate, status, wait,
download) and for trying vidgate out (mock, demo); ``vidgate.cli.batch``: batch runs;
``vidgate.cli.specs``: the maintainer tools on spec files (docs-diff, spec-diff, scaffold,
schema-diff). What they share is ``vidgate.cli._common``; they use only the library's public API.

Exit codes: the table in vidgate.exits (and docs/cli.md): 0 success, 1 the request or the task
failed, 2 unusable input or usage, 3 gateway unreachable or its reply unusable, 4 nothing to
download or the download failed, 5 local disk or journal, 6 wait timed out, 70 a bug, 130 Ctrl-C.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path
from typing import Annotated, Any

from vidgate import exits
from vidgate.extras import MissingExtraError, require

try:  # without typer or rich: one line naming the pip command, not "No module named 'typer'"
    require("cli", "the vidgate command")
except MissingExtraError as missing:
    # `python -m vidgate.cli` imports this package before its __main__ (sys.argv[0] is "-m"
    # until then): a command, so the line and exit 2 as the console script; an import raises
    if sys.argv[:1] == ["-m"]:
        sys.stderr.write(f"{missing}\n")
        raise SystemExit(exits.USAGE) from None
    raise

import typer
from rich.progress import BarColumn, DownloadColumn, TextColumn, TimeElapsedColumn

from vidgate import errors, jsonin
from vidgate.batch import BatchInvalidError, check_writable
from vidgate.cli._common import (
    FAILED,
    GATEWAY_NAMES,
    USAGE,
    Bar,
    Command,
    GatewayName,
    GatewayOpt,
    Interrupted,
    JsonOpt,
    TaskIdArg,
    app,
    emit,
    err,
    fail,
    flag,
    gateway_name,
    need,
    on_ctrl_c,
    out,
    printable,
    reset_json_mode,
    safe,
)
from vidgate.types import Task
from vidgate.validation import validator

__all__ = ["app", "main"]


MAX_LINE = 500  # about how long the one line of a broken-rules failure gets (then "and N more")


def _task_json(task: Task) -> dict[str, Any]:
    data = {f.name: getattr(task, f.name) for f in fields(task) if f.name != "raw"}
    data["status"] = task.status.value
    exchange = task.response
    data["response"] = exchange and {
        "status": exchange.status,
        "request_id": exchange.request_id,
        "idempotency_replayed": exchange.idempotency_replayed,
    }
    data["videos"] = [
        {f.name: getattr(v, f.name) for f in fields(v) if f.name != "raw"} for v in task.videos
    ]
    return data


@contextlib.contextmanager
def _other_gateway_hint(gateway: str, task_id: str) -> Iterator[None]:
    """A 404 for a task id may just mean the id belongs to the other gateway: say so."""
    try:
        yield
    except errors.NotFoundError as exc:  # one line: the error, then the hint
        other = next(g for g in GATEWAY_NAMES if g != gateway)
        hint = f"task {task_id} is not known to {gateway}: if {other} created it"
        fail(f"{exc}; {hint}, pass --gateway {other}", exits.code_for(exc), exc)


def _read_body(source: str, *, obj: bool = False) -> Any:
    """The JSON value in a file or stdin; with ``obj``, it must be a JSON object."""
    name = "standard input" if source == "-" else source  # as a user reads it
    try:
        data = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except OSError as exc:
        raise errors.InputError(f"cannot read {name}: {exc.strerror or exc}") from None
    try:
        body = jsonin.parse(data)
    except jsonin.BadJSON as exc:
        raise errors.InputError(f"{name} is not JSON: {exc}") from None
    if obj and not isinstance(body, dict):
        kind = "null" if body is None else type(body).__name__
        raise errors.InputError(f"{name}: the request body must be a JSON object, not {kind}")
    return body


def _client(gateway: str, base_url: str | None) -> Any:
    from vidgate.client import client_for

    cls = client_for(gateway)
    return cls(base_url=base_url)


def _fields(pairs: list[str]) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise errors.InputError(f"--set {pair!r}: expected KEY=VALUE (VALUE is JSON or text)")
        try:
            body[key] = jsonin.parse(value)
        except jsonin.BadJSON:
            body[key] = value
    return body


def _extra_body(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        extra = jsonin.parse(text)
    except jsonin.BadJSON as exc:  # NaN and Infinity too: unusable input, as in the body
        raise errors.InputError(f"--extra-body is not JSON: {exc}") from None
    if not isinstance(extra, dict):
        raise errors.InputError("--extra-body: expected a JSON object, e.g. '{\"seed\": 7}'")
    return extra


def _check_timeout(timeout: float | None) -> None:
    """--timeout is a number of seconds, zero or more: a negative one or NaN is a bad option."""
    if timeout is not None and not timeout >= 0:
        raise errors.InputError(f"--timeout {timeout}: give a number of seconds, 0 or more")


@app.command(cls=Command)
def validate(
    source: Annotated[str, typer.Argument(metavar="SOURCE", help="JSON body file, or - for stdin")],
    gateway: GatewayOpt = GatewayName.imini,
    as_json: JsonOpt = False,
) -> None:
    """Check a request body against the gateway's documented rules; nothing is sent."""
    result = validator(gateway_name(gateway)).check(_read_body(source, obj=True))
    if as_json:
        errs, warns = (
            [{k: v.as_dict()[k] for k in ("path", "rule", "message", "code")} for v in found]
            for found in (result.violations, result.warnings)
        )
        report = {"valid": result.valid, "mode": result.mode, "errors": errs, "warnings": warns}
        out.print_json(json.dumps(report))
        raise typer.Exit(0 if result.valid else FAILED)
    for w in result.warnings:
        out.print(f"  [yellow]warning[/] {safe(w.message)} [dim]\\[{safe(w.rule)}][/]")
    if result.valid:
        out.print(
            f"[green]valid[/] {safe(result.model)} request, mode [bold]{safe(result.mode)}[/]"
        )
    else:
        what, count = safe(result.model or "request"), len(result.violations)
        out.print(f"[red]invalid[/] {what} ({count} problem(s)):")
        for v in result.violations:
            code = f" → gateway code {v.code}" if v.code else ""
            out.print(f"  • {safe(v.message)} [dim]\\[{safe(v.rule)}]{safe(code)}[/]")
    raise typer.Exit(0 if result.valid else FAILED)


@app.command(cls=Command)
def generate(
    source: Annotated[
        str | None, typer.Argument(metavar="SOURCE", help="JSON body file, or - for stdin")
    ] = None,
    gateway: GatewayOpt = GatewayName.imini,
    model: Annotated[str | None, typer.Option(help="model id, e.g. kling/kling-v3")] = None,
    prompt: Annotated[str | None, typer.Option(help="the prompt")] = None,
    set_: Annotated[list[str], typer.Option("--set", help="KEY=VALUE body field")] = [],  # noqa: B006
    wait: Annotated[bool, typer.Option("--wait", help="wait for the task to finish")] = False,
    download: Annotated[Path | None, typer.Option(help="folder for the result files")] = None,
    base_url: Annotated[str | None, typer.Option(help="gateway base URL")] = None,
    timeout: Annotated[float | None, typer.Option(help="seconds to wait at most")] = None,
    extra_body: Annotated[
        str | None,
        typer.Option(help="JSON object of keys the spec does not list, added after validation"),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Validate and submit a task; with --wait show its progress, with --download save it."""
    body = _read_body(source, obj=True) if source else {}
    body.update({k: v for k, v in (("model", model), ("prompt", prompt)) if v is not None})
    body.update(_fields(set_))
    found = jsonin.problems(body)
    if found:  # e.g. a lone surrogate from undecodable command-line bytes
        path, problem = found[0]
        raise errors.InputError(f"the request body is not JSON: {problem} at {path or 'the top'}")
    extra = _extra_body(extra_body)
    _check_timeout(timeout)
    if download:
        _check_folder(download, "download")
    with _client(gateway_name(gateway), base_url) as client:
        submitted = client.generate(body, extra_body=extra)
        result: dict[str, Any] = {"id": submitted.id, "mode": submitted.mode, "task": None}
        if not as_json:
            out.print(f"submitted task [bold]{safe(submitted.id)}[/] (mode {safe(submitted.mode)})")
        if wait or download:
            task = _watch(client, submitted.id, timeout, as_json)
            result["task"] = _task_json(task)
            if download:
                result["files"] = _save(client, task, download, quiet=as_json)
    if as_json:
        emit(result)


@app.command(cls=Command)
def status(
    task_id: TaskIdArg,
    gateway: GatewayOpt = GatewayName.imini,
    base_url: Annotated[str | None, typer.Option(help="gateway base URL")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a task once."""
    with _client(gateway_name(gateway), base_url) as client, _other_gateway_hint(gateway, task_id):
        task = client.get(task_id)
    if as_json:
        emit(_task_json(task))
    else:
        _show(task)


@app.command("wait", cls=Command)
def wait_cmd(
    task_id: TaskIdArg,
    gateway: GatewayOpt = GatewayName.imini,
    base_url: Annotated[str | None, typer.Option(help="gateway base URL")] = None,
    timeout: Annotated[float | None, typer.Option(help="seconds to wait at most")] = None,
    download: Annotated[Path | None, typer.Option(help="folder for the result files")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Wait for a task with a live progress bar."""
    _check_timeout(timeout)
    if download:
        _check_folder(download, "download")
    with _client(gateway_name(gateway), base_url) as client, _other_gateway_hint(gateway, task_id):
        task = _watch(client, task_id, timeout, as_json)
        files = _save(client, task, download, quiet=as_json) if download else []
    if as_json:
        emit({"task": _task_json(task), "files": files})


@app.command("download", cls=Command)
def download_cmd(
    task_id: TaskIdArg,
    gateway: GatewayOpt = GatewayName.imini,
    out_dir: Annotated[Path, typer.Option("--out", help="folder for the result files")] = Path(),
    overwrite: Annotated[bool, typer.Option(help="replace existing files")] = False,
    base_url: Annotated[str | None, typer.Option(help="gateway base URL")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Download a finished task's video (and cover / last frame where there are some)."""
    _check_folder(out_dir, "out")
    with _client(gateway_name(gateway), base_url) as client, _other_gateway_hint(gateway, task_id):
        files = _save(client, client.get(task_id), out_dir, overwrite, as_json)
    if as_json:
        emit({"files": files})


@app.command(cls=Command)
def mock(
    port: Annotated[int, typer.Option(help="port to listen on")] = 4010,
    host: Annotated[str, typer.Option(help="address to bind (localhost by default)")] = "127.0.0.1",
    key: Annotated[list[str], typer.Option("--key", help="accepted API key(s)")] = ["sk-mock"],  # noqa: B006
    queue: Annotated[float, typer.Option(help="seconds a task stays queued")] = 1.0,
    run: Annotated[float, typer.Option(help="seconds a task spends processing")] = 5.0,
    as_json: Annotated[
        bool, typer.Option("--json", help="print the base URLs as one JSON line, then serve")
    ] = False,
) -> None:
    """Run the mock gateway as a server (both gateways, stateful tasks, real media)."""
    need("mock", "mock")
    from vidgate.mock import Timing, listen, serve

    try:  # bound before anything is printed: a busy port is one line, not a banner and a crash
        sock = listen(host, port)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}", USAGE)
    base = f"http://{host}:{sock.getsockname()[1]}"
    from vidgate.gateways import gateway as entry

    urls = {entry(name).env_url: f"{base}/{name}" for name in GATEWAY_NAMES}
    if as_json:
        emit({**urls, "api_keys": key})
    else:
        err.print(
            f"mock gateway on {base}: {' '.join(f'{k}={v}' for k, v in urls.items())} "
            f"(API key {', '.join(key)})",
            markup=False,
        )
    serve(host, port, timing=Timing(queue, run), keys=key, log_level="warning", sock=sock)


@app.command("demo", cls=Command)
def demo_cmd(
    out_dir: Annotated[Path, typer.Option("--out", help="folder for the files")] = Path(
        "demo-output"
    ),
    queue: Annotated[float, typer.Option(help="seconds a task stays queued")] = 1.0,
    run: Annotated[float, typer.Option(help="seconds a task spends processing")] = 4.0,
    as_json: JsonOpt = False,
) -> None:
    """Every model of both gateways, end to end, on the embedded mock gateway."""
    import asyncio

    need("mock", "demo")
    from vidgate.cli import demo as demo_module
    from vidgate.mock import Timing

    jobs = asyncio.run(demo_module.run(out_dir, Timing(queue, run), err if as_json else out))
    if as_json:
        keys = ("gateway", "example", "mode", "files")
        emit([{k: getattr(j, k) for k in keys} for j in jobs])


def _show(task: Task) -> None:
    progress = f", {task.progress}%" if task.progress is not None else ""
    out.print(
        f"task {safe(task.id)}: [bold]{task.status.value}[/] ({safe(task.raw_status)}{progress})"
    )
    for i, video in enumerate(task.videos):
        expires = f" (expires {video.expires_at:%Y-%m-%d %H:%M} UTC)" if video.expires_at else ""
        out.print(f"  video #{i}: {safe(video.url)}{expires}")
    if task.error:
        out.print(f"  error: {safe(json.dumps(task.error, ensure_ascii=True))}")


def _watch(client: Any, task_id: str, timeout: float | None, quiet: bool = False) -> Task:
    columns = (  # the task id and its status come from outside: text, never markup
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        TextColumn("{task.fields[state]}", markup=False),
        TimeElapsedColumn(),
    )
    with Bar(*columns) as bar:
        row = bar.add_task(printable(task_id), total=100, state="submitted")

        def on_progress(task: Task) -> None:
            done = 100 if task.succeeded else task.progress
            bar.update(row, completed=done or 0, state=printable(task.raw_status))

        with on_ctrl_c(f"stopped waiting; the task goes on: vidgate wait {task_id}"):
            task: Task = client.wait(task_id, timeout=timeout, on_progress=on_progress)
    if not quiet:
        _show(task)
    return task


def _check_folder(folder: Path, setting: str) -> None:
    """The folder for the result files, created and writable before any request."""
    if folder.exists() and not folder.is_dir():
        raise errors.InputError(f"{folder} is a file; give a folder for the result files")
    check_writable(folder, setting)


def _save(
    client: Any, task: Task, folder: Path, overwrite: bool = False, quiet: bool = False
) -> list[str]:
    """Download every file of the task (into a folder _check_folder passed); their paths."""
    if not task.succeeded:
        raise errors.DownloadError(f"task {task.id} is {task.raw_status}; nothing to download yet")
    if not task.videos:
        raise errors.DownloadError(f"task {task.id} {task.raw_status} without any result file")
    with on_ctrl_c(f"download stopped; run it again: vidgate download {task.id}"):
        return _save_all(client, task, folder, overwrite, quiet)


def _save_all(client: Any, task: Task, folder: Path, overwrite: bool, quiet: bool) -> list[str]:
    columns = (TextColumn("{task.description}", markup=False), BarColumn(), DownloadColumn())
    saved: list[str] = []
    for index, video in enumerate(task.videos):
        kinds = [
            ("video", video.url),
            ("cover", video.cover_url),
            ("last_frame", video.last_frame_url),
        ]
        for what, url in kinds:
            if not url:
                continue
            with Bar(*columns) as bar:  # a failure (the file exists...) is its line alone
                row = bar.add_task(what, total=None)
                path = client.download(
                    task,
                    folder,
                    what=what,
                    index=index,
                    overwrite=overwrite,
                    on_progress=lambda done, total, row=row: bar.update(
                        row, completed=done, total=total
                    ),
                )
            saved.append(str(path))
            if not quiet:
                out.print(f"saved {what} → {safe(path)}")
    return saved


def _fitted(items: list[str], used: int, everything: str, room: int = MAX_LINE) -> str:
    """``items`` joined by ``; ``, as many as fit in about ``room`` characters after ``used``
    ones, then how many more there are and where to see ``everything``."""
    shown: list[str] = []
    for item in items:
        if shown and used + sum(len(s) + 2 for s in shown) + len(item) > room:
            break
        shown.append(item[:room])
    more = len(items) - len(shown)
    tail = f"; and {more} more ({everything})" if more else ""
    return "; ".join(shown) + tail


def _broken_rules(exc: errors.RequestValidationError, room: int = MAX_LINE) -> str:
    """The broken rules on one line: the error's first line, then each rule broken, as many as
    fit in about ``room`` characters, then how many more there are."""
    head = str(exc).split("\n", 1)[0]
    items = [
        f"{v.message} [{v.rule}" + (f", gateway code {v.code}" if v.code else "") + "]"
        for v in exc.violations
    ]
    return f"{head}: {_fitted(items, len(head), 'vidgate validate lists them all', room)}"


def _invalid_lines(exc: BatchInvalidError, room: int = MAX_LINE) -> str:
    """A batch's invalid lines on one line: how many, that nothing was sent and how to go on,
    then the first lines with their problem, as many as fit (the JSON failure has them all)."""
    head = exc.worded(flag, lines="")
    items = [f"line {n}: {message}" for n, message in exc.problems]
    return exc.worded(flag, lines=" " + _fitted(items, len(head), "--json lists them all", room))


def main(argv: list[str] | None = None) -> None:
    """Entry point: every outcome is an exit code of the table in vidgate.exits (docs/cli.md: "Exit
    codes") and, for a failure, one message on stderr; never a traceback unless VIDGATE_DEBUG."""
    reset_json_mode()
    try:
        code = app(args=argv, standalone_mode=False)
    except Interrupted as exc:
        fail(f"interrupted: {exc.hint}", exits.INTERRUPTED)
    except typer.Abort:  # Ctrl-C or end of input at a prompt
        fail("interrupted", exits.INTERRUPTED)
    except typer.TyperException as exc:  # usage errors (missing argument, bad option, ...)
        show = getattr(exc, "show", None)
        if show:
            show()
        sys.exit(exits.USAGE)
    except BatchInvalidError as exc:
        code = exits.USAGE if exc.unreadable else exits.FAILED
        fail(_invalid_lines(exc), code, exc)
    except errors.RequestValidationError as exc:  # `vidgate validate` is the multi-line report
        fail(_broken_rules(exc), exits.code_for(exc), exc)
    except errors.VidgateError as exc:  # the settings it names, as our flags
        fail(exc.worded(flag), exits.code_for(exc), exc)
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        fail(f"cannot use{where}: {exc.strerror or exc}", exits.LOCAL, exc)
    except RecursionError as exc:
        fail("input nested too deeply", exits.USAGE, exc)
    except Exception as exc:
        fail(
            f"internal error ({type(exc).__name__}: {exc}); set VIDGATE_DEBUG=1 for the "
            "traceback and report it",
            exits.INTERNAL,
            exc,
        )
    sys.exit(code if isinstance(code, int) else 0)


# the other audiences' commands, registered after these (the order of `vidgate --help`)
from vidgate.cli import batch as _batch_commands  # noqa: E402, F401
from vidgate.cli import specs as _spec_commands  # noqa: E402, F401
