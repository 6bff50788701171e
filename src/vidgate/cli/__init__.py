"""The ``vidgate`` command: validate, generate, status, wait, download, batch.

Exit codes: the table in vidgate.exits (and the README): 0 success, 1 the request or the task
failed, 2 unusable input or usage, 3 gateway unreachable or its reply unusable, 4 nothing to
download or the download failed, 5 local disk or journal, 6 wait timed out, 70 a bug, 130 Ctrl-C.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import fields
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
import typer.core
from rich.console import Console, ConsoleDimensions
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

from vidgate import errors, exits, jsonin
from vidgate.types import Task
from vidgate.validation import validator

app = typer.Typer(
    name="vidgate",
    help="Validate, submit, watch and download video generations on imini and apimart.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish, PowerShell)
    pretty_exceptions_enable=False,
)
UNWRAPPED = 1 << 16  # the width of a pipe or a file: no line is wrapped, none is padded to it


class _Console(Console):
    """A console that wraps only on a terminal: through a pipe or into a file one message stays
    one line (rich would wrap at 80 columns, or at ``COLUMNS``)."""

    @property
    def size(self) -> ConsoleDimensions:
        size = Console.size.fget(self)  # type: ignore[attr-defined]
        if self.is_terminal:
            return size  # type: ignore[no-any-return]
        return ConsoleDimensions(UNWRAPPED, size.height)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        Console.size.fset(self, new_size)  # type: ignore[attr-defined]


out = _Console()
err = _Console(stderr=True)


class GatewayName(StrEnum):
    imini = "imini"
    apimart = "apimart"


GATEWAY_NAMES = tuple(g.value for g in GatewayName)
GatewayOpt = Annotated[GatewayName, typer.Option("--gateway", "-g", help="which gateway")]


class _Command(typer.core.TyperCommand):
    """Usage lines show arguments as TASK_ID, not {TASK_ID} (braces are not to be typed)."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:  # typer vendors click's Context
        return [piece.strip("{}") for piece in super().collect_usage_pieces(ctx)]


TaskIdArg = Annotated[str, typer.Argument(metavar="TASK_ID", help="the id generate printed")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print the result as JSON (for scripts)")]
USAGE, FAILED, INTERRUPTED = exits.USAGE, exits.FAILED, exits.INTERRUPTED


def _version(value: bool) -> None:
    if value:
        from vidgate import __version__

        out.print(f"vidgate {__version__}", markup=False, highlight=False)
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="print the version"),
    ] = False,
) -> None:
    """Validate, submit, watch and download video generations on imini and apimart."""


def _emit(data: Any) -> None:
    """One JSON document on stdout (no colour, no wrapping), for --json."""
    text = json.dumps(data, ensure_ascii=False, default=_json_value)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _json_value(value: Any) -> str:
    """Datetimes as ISO 8601, paths and anything else as text."""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


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


# --fail-on of spec-diff and schema-diff: 0 never fails, else a change at this level or worse
FAIL_LEVELS = {"breaking": 1, "compatible": 2, "note": 3, "never": 0}


def _check_fail_on(fail_on: str) -> None:
    """A usage error, in one line, for a --fail-on value that is not a level."""
    if fail_on not in FAIL_LEVELS:
        err.print(f"[red]--fail-on {_safe(repr(fail_on))}[/]: use one of {', '.join(FAIL_LEVELS)}")
        raise typer.Exit(USAGE)


def _fails(fail_on: str, levels: Iterable[str]) -> bool:
    """Whether changes at ``levels`` fail a run with ``--fail-on fail_on``."""
    limit = FAIL_LEVELS[fail_on]
    return bool(limit) and any(FAIL_LEVELS[level] <= limit for level in levels)


def _need(extra: str, command: str) -> None:
    """An extra the command needs, or one line saying how to install it."""
    from vidgate._extras import MissingExtraError, require

    try:
        require(extra, f"vidgate {command}")
    except MissingExtraError as exc:
        err.print(str(exc), style="red", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(USAGE) from None


@contextlib.contextmanager
def _other_gateway_hint(gateway: str, task_id: str) -> Iterator[None]:
    """A 404 for a task id may just mean the id belongs to the other gateway: say so."""
    try:
        yield
    except errors.NotFoundError as exc:  # one line: the error, then the hint
        other = next(g for g in GATEWAY_NAMES if g != gateway)
        exc.args = (
            f"{exc}; task {task_id} is not known to {gateway}: if {other} created it, "
            f"pass --gateway {other}",
        )
        raise


def _gateway(name: str) -> Any:
    if name not in GATEWAY_NAMES:
        err.print(f"[red]unknown gateway {_safe(repr(name))}[/]: use {' or '.join(GATEWAY_NAMES)}")
        raise typer.Exit(USAGE)
    return str(name)


def _read_body(source: str, *, obj: bool = False) -> Any:
    """The JSON value in a file or stdin; with ``obj``, it must be a JSON object."""
    try:
        data = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except OSError as exc:
        raise errors.InputError(f"cannot read {source}: {exc.strerror or exc}") from None
    try:
        body = jsonin.parse(data)
    except jsonin.BadJSON as exc:
        raise errors.InputError(f"{source} is not JSON: {exc}") from None
    if obj and not isinstance(body, dict):
        kind = "null" if body is None else type(body).__name__
        raise errors.InputError(f"{source}: the request body must be a JSON object, not {kind}")
    return body


def _client(gateway: str, base_url: str | None) -> Any:
    from vidgate.gateways import gateway as entry

    cls = entry(gateway).client_class()
    return cls(base_url=base_url)


def _fields(pairs: list[str]) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            err.print(
                f"[red]--set {_safe(repr(pair))}[/]: expected KEY=VALUE (VALUE is JSON or text)"
            )
            raise typer.Exit(USAGE)
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
        err.print("[red]--extra-body[/]: expected a JSON object, e.g. '{\"seed\": 7}'")
        raise typer.Exit(USAGE)
    return extra


def _check_timeout(timeout: float | None) -> None:
    """--timeout is a number of seconds, zero or more: a negative one or NaN is a bad option."""
    if timeout is not None and not timeout >= 0:
        raise errors.InputError(f"--timeout {timeout}: give a number of seconds, 0 or more")


@app.command(cls=_Command)
def validate(
    source: Annotated[str, typer.Argument(metavar="SOURCE", help="JSON body file, or - for stdin")],
    gateway: GatewayOpt = GatewayName.imini,
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
) -> None:
    """Check a request body against the gateway's documented rules; nothing is sent."""
    result = validator(_gateway(gateway)).check(_read_body(source, obj=True))
    if as_json:
        errs, warns = (
            [{k: v.as_dict()[k] for k in ("path", "rule", "message", "code")} for v in found]
            for found in (result.violations, result.warnings)
        )
        report = {"valid": result.valid, "mode": result.mode, "errors": errs, "warnings": warns}
        out.print_json(json.dumps(report))
        raise typer.Exit(0 if result.valid else FAILED)
    for w in result.warnings:
        out.print(f"  [yellow]warning[/] {_safe(w.message)} [dim]\\[{_safe(w.rule)}][/]")
    if result.valid:
        out.print(
            f"[green]valid[/] {_safe(result.model)} request, mode [bold]{_safe(result.mode)}[/]"
        )
    else:
        what, count = _safe(result.model or "request"), len(result.violations)
        out.print(f"[red]invalid[/] {what} ({count} problem(s)):")
        for v in result.violations:
            code = f" → gateway code {v.code}" if v.code else ""
            out.print(f"  • {_safe(v.message)} [dim]\\[{_safe(v.rule)}]{_safe(code)}[/]")
    raise typer.Exit(0 if result.valid else FAILED)


@app.command()
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
    with _client(_gateway(gateway), base_url) as client:
        submitted = client.generate(body, extra_body=extra)
        result: dict[str, Any] = {"id": submitted.id, "mode": submitted.mode, "task": None}
        if not as_json:
            out.print(
                f"submitted task [bold]{_safe(submitted.id)}[/] (mode {_safe(submitted.mode)})"
            )
        if wait or download:
            task = _watch(client, submitted.id, timeout, as_json)
            result["task"] = _task_json(task)
            if download:
                result["files"] = _save(client, task, download, quiet=as_json)
    if as_json:
        _emit(result)


@app.command(cls=_Command)
def status(
    task_id: TaskIdArg,
    gateway: GatewayOpt = GatewayName.imini,
    base_url: Annotated[str | None, typer.Option(help="gateway base URL")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a task once."""
    with _client(_gateway(gateway), base_url) as client, _other_gateway_hint(gateway, task_id):
        task = client.get(task_id)
    if as_json:
        _emit(_task_json(task))
    else:
        _show(task)


@app.command("wait", cls=_Command)
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
    with _client(_gateway(gateway), base_url) as client, _other_gateway_hint(gateway, task_id):
        task = _watch(client, task_id, timeout, as_json)
        files = _save(client, task, download, quiet=as_json) if download else []
    if as_json:
        _emit({"task": _task_json(task), "files": files})


@app.command("download", cls=_Command)
def download_cmd(
    task_id: TaskIdArg,
    gateway: GatewayOpt = GatewayName.imini,
    out_dir: Annotated[Path, typer.Option("--out", help="folder for the result files")] = Path(),
    overwrite: Annotated[bool, typer.Option(help="replace existing files")] = False,
    base_url: Annotated[str | None, typer.Option(help="gateway base URL")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Download a finished task's video (and cover / last frame where there are some)."""
    with _client(_gateway(gateway), base_url) as client, _other_gateway_hint(gateway, task_id):
        files = _save(client, client.get(task_id), out_dir, overwrite, as_json)
    if as_json:
        _emit({"files": files})


@app.command()
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
    _need("mock", "mock")
    from vidgate.mock import Timing, listen, serve

    try:  # bound before anything is printed: a busy port is one line, not a banner and a crash
        sock = listen(host, port)
    except OSError as exc:
        err.print(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            style="red",
            soft_wrap=True,
            markup=False,
        )
        raise typer.Exit(USAGE) from None
    base = f"http://{host}:{sock.getsockname()[1]}"
    from vidgate.gateways import gateway as entry

    urls = {entry(name).env_url: f"{base}/{name}" for name in GATEWAY_NAMES}
    if as_json:
        _emit({**urls, "api_keys": key})
    else:
        err.print(
            f"mock gateway on {base}: {' '.join(f'{k}={v}' for k, v in urls.items())} "
            f"(API key {', '.join(key)})",
            markup=False,
        )
    serve(host, port, timing=Timing(queue, run), keys=key, log_level="warning", sock=sock)


@app.command("demo")
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

    _need("mock", "demo")
    from vidgate.cli import demo as demo_module
    from vidgate.mock import Timing

    jobs = asyncio.run(demo_module.run(out_dir, Timing(queue, run), err if as_json else out))
    if as_json:
        keys = ("gateway", "example", "mode", "files")
        _emit([{k: getattr(j, k) for k in keys} for j in jobs])


@app.command("docs-diff", cls=_Command)
def docs_diff_cmd(
    page: Annotated[
        Path,
        typer.Argument(
            metavar="PAGE",
            help="a documentation page: text saved from the browser, MDX source or a field table",
        ),
    ],
    spec_file: Annotated[
        Path, typer.Option("--spec", help="the spec file to compare with (any path)")
    ],
    model: Annotated[
        str | None, typer.Option(help="model id (default: the page's example)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
    apply: Annotated[
        bool, typer.Option("--apply", help="write the mechanical differences into the spec file")
    ] = False,
) -> None:
    """List every difference between a documentation page and a spec file (exit 1 if any is
    unexplained; with --apply, exit 1 if any is left for a human)."""
    _need("tools", "docs-diff")
    from vidgate.spectools import docs_diff, specfile

    try:
        text = page.read_text(encoding="utf-8")
        source = specfile.load(spec_file)
        model = model or docs_diff.page_model(text, page)
        if apply:
            done = docs_diff.apply_page(text, source, model)
            if done.written:
                docs_diff.refuse_invalid(source)  # re-lint: an invalid result is not written
                source.save()
        diffs = docs_diff.diff_page(text, None, model, source)
    except (OSError, UnicodeDecodeError) as exc:
        err.print(
            f"[red]cannot read {_safe(page)}[/]: {_safe(getattr(exc, 'strerror', None) or exc)}"
        )
        raise typer.Exit(USAGE) from None
    except ValueError as exc:  # SpecUnreadable, a page that is not a reference page
        err.print(f"[red]{_safe(exc)}[/]", highlight=False, soft_wrap=True)
        raise typer.Exit(USAGE) from None
    unexplained = [d for d in diffs if not d.explained]
    if as_json:
        result = docs_diff.report(diffs)
        if apply:
            result["written"] = done.written
        out.print_json(json.dumps(result, ensure_ascii=False))
    elif apply:
        for line in done.written:
            out.print(f"[green]{'wrote':>9}[/] {_safe(line)}", highlight=False, soft_wrap=True)
        for d in unexplained:
            label = "CONFLICT" if d.conflict else "BY HAND"
            out.print(f"[red]{label:>9}[/] {_safe(d)}", highlight=False, soft_wrap=True)
        out.print(
            f"{len(done.written)} written to {_safe(spec_file)}, {len(unexplained)} left by hand"
        )
    else:
        for d in diffs:
            colour = "green" if d.explained else "red"
            label = "explained" if d.explained else ("CONFLICT" if d.conflict else "DIFF")
            out.print(f"[{colour}]{label:>9}[/] {_safe(d)}", highlight=False, soft_wrap=True)
        out.print(f"{len(unexplained)} unexplained, {len(diffs) - len(unexplained)} explained")
    raise typer.Exit(FAILED if unexplained else 0)


@app.command("spec-diff")
def spec_diff_cmd(
    files: Annotated[list[Path], typer.Argument(help="OLD NEW, or with --from the spec files")],
    from_rev: Annotated[
        str | None, typer.Option("--from", help="compare each file with its text at GIT_REV")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
    fail_on: Annotated[
        str, typer.Option("--fail-on", help="exit 1 on: breaking, compatible, note or never")
    ] = "never",
) -> None:
    """Every contract change between two versions of a spec: breaking or compatible, with rule
    ids, modes and error codes, and the suggested semver bump."""
    _need("tools", "spec-diff")
    from vidgate.spectools import spec_diff

    _check_fail_on(fail_on)
    try:
        pairs = spec_diff.compare_files(files, from_rev)
    except ValueError as exc:  # SpecUnreadable, wrong number of files
        err.print(f"[red]{_safe(exc)}[/]", highlight=False, soft_wrap=True)
        raise typer.Exit(USAGE) from None
    if as_json:
        found = [{"spec": label, **report.as_json()} for label, report in pairs]
        result = {"bump": spec_diff.overall_bump(pairs), "specs": found}
        out.print_json(json.dumps(result, ensure_ascii=False, default=str))
    else:
        for line in spec_diff.render(pairs):
            out.print(line, highlight=False, soft_wrap=True, markup=False)
    failed = _fails(fail_on, (c.level for _, r in pairs for c in r.changes))
    raise typer.Exit(FAILED if failed else 0)


def _printable(text: Any) -> str:
    """A string from outside as plain text: redacted, control characters shown escaped."""
    from vidgate.redact import redact

    return "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape", "backslashreplace").decode()
        for ch in redact(str(text))
    )


def _safe(text: Any) -> str:
    """A server-supplied string inside console markup: printable, with its own brackets escaped
    (``task[/]1`` is shown as written, never read as a closing tag)."""
    from rich.markup import escape

    return escape(_printable(text))


def _show(task: Task) -> None:
    progress = f", {task.progress}%" if task.progress is not None else ""
    out.print(
        f"task {_safe(task.id)}: [bold]{task.status.value}[/] ({_safe(task.raw_status)}{progress})"
    )
    for i, video in enumerate(task.videos):
        expires = f" (expires {video.expires_at:%Y-%m-%d %H:%M} UTC)" if video.expires_at else ""
        out.print(f"  video #{i}: {_safe(video.url)}{expires}")
    if task.error:
        out.print(f"  error: {_safe(json.dumps(task.error, ensure_ascii=True))}")


def _watch(client: Any, task_id: str, timeout: float | None, quiet: bool = False) -> Task:
    columns = (  # the task id and its status come from outside: text, never markup
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        TextColumn("{task.fields[state]}", markup=False),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=False) as bar:
        row = bar.add_task(_printable(task_id), total=100, state="submitted")

        def on_progress(task: Task) -> None:
            done = 100 if task.succeeded else task.progress
            bar.update(row, completed=done or 0, state=_printable(task.raw_status))

        with _on_ctrl_c(f"stopped waiting; the task goes on: vidgate wait {task_id}"):
            task: Task = client.wait(task_id, timeout=timeout, on_progress=on_progress)
    if not quiet:
        _show(task)
    return task


def _save(
    client: Any, task: Task, folder: Path, overwrite: bool = False, quiet: bool = False
) -> list[str]:
    """Download every file of the task; returns their paths."""
    if folder.exists() and not folder.is_dir():
        raise errors.InputError(f"{folder} is a file; give a folder for the result files")
    if not task.succeeded:
        raise errors.DownloadError(f"task {task.id} is {task.raw_status}; nothing to download yet")
    if not task.videos:
        raise errors.DownloadError(f"task {task.id} {task.raw_status} without any result file")
    with _on_ctrl_c(f"download stopped; run it again: vidgate download {task.id}"):
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
            with Progress(*columns, console=err) as bar:
                row = bar.add_task(what, total=None)
                try:
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
                except errors.OutputExistsError as exc:
                    bar.remove_task(row)
                    exc.args = (str(exc).replace("overwrite=True", "--overwrite"),)  # our flag
                    raise
            saved.append(str(path))
            if not quiet:
                out.print(f"saved {what} → {_safe(path)}")
    return saved


class _Interrupted(Exception):
    """Ctrl-C inside a command, carried past Typer (which would turn it into a bare exit 130)."""

    def __init__(self, hint: str) -> None:
        self.hint = hint
        super().__init__(hint)


@contextlib.contextmanager
def _on_ctrl_c(hint: str) -> Iterator[None]:
    """Ctrl-C in this block ends the command with ``hint`` (how to resume) and exit 130."""
    try:
        yield
    except errors.WaitInterrupted as exc:
        raise _Interrupted(f"{exc}; resume with: vidgate wait {exc.task_id}") from exc
    except KeyboardInterrupt as exc:
        raise _Interrupted(hint) from exc


def _fail(
    message: str, code: int, exc: BaseException | None = None, block: bool = False
) -> NoReturn:
    """One line on stderr, redacted, control characters escaped (a newline from a server stays
    ``\\n``); ``block`` keeps the lines of our own list of invalid fields or lines. The traceback
    only with VIDGATE_DEBUG."""
    from rich.text import Text

    if exc is not None and os.environ.get("VIDGATE_DEBUG", "") not in ("", "0"):
        import traceback

        trace = "".join(traceback.format_exception(exc)).rstrip("\n").split("\n")
        err.print(Text("\n".join(map(_printable, trace)), style="dim"))
    style = "yellow" if code == exits.INTERRUPTED else "red"
    lines = message.split("\n") if block else [message]
    err.print(Text("\n".join(map(_printable, lines)), style=style), soft_wrap=True)
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    """Entry point: every outcome is an exit code of the table in vidgate.exits (README: "Exit
    codes") and, for a failure, one message on stderr; never a traceback unless VIDGATE_DEBUG."""
    from vidgate.batch import BatchInvalidError

    try:
        code = app(args=argv, standalone_mode=False)
    except _Interrupted as exc:
        _fail(f"interrupted: {exc.hint}", exits.INTERRUPTED)
    except typer.Abort:  # Ctrl-C or end of input at a prompt
        _fail("interrupted", exits.INTERRUPTED)
    except typer.TyperException as exc:  # usage errors (missing argument, bad option, ...)
        show = getattr(exc, "show", None)
        if show:
            show()
        sys.exit(exits.USAGE)
    except BatchInvalidError as exc:
        _fail(str(exc), exits.USAGE if exc.unreadable else exits.FAILED, exc, block=True)
    except errors.VidgateError as exc:
        block = isinstance(exc, errors.RequestValidationError)
        _fail(str(exc), exits.code_for(exc), exc, block)
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        _fail(f"cannot use{where}: {exc.strerror or exc}", exits.LOCAL, exc)
    except RecursionError as exc:
        _fail("input nested too deeply", exits.USAGE, exc)
    except Exception as exc:
        _fail(
            f"internal error ({type(exc).__name__}: {exc}); set VIDGATE_DEBUG=1 for the "
            "traceback and report it",
            exits.INTERNAL,
            exc,
        )
    sys.exit(code if isinstance(code, int) else 0)


# registers `vidgate batch`, and `vidgate scaffold` and `schema-diff`, on this app
from vidgate.cli import batch as cli_batch  # noqa: E402, F401
from vidgate.cli import specs as cli_specs  # noqa: E402, F401

if __name__ == "__main__":  # python -m vidgate.cli: the imported module's app has every command
    from vidgate.cli import main as _main

    _main()
