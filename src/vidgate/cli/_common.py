"""What every command module of the CLI shares: the Typer app, the two consoles, the options
used by several commands, and one-line failures. Command modules import this module, never the
``vidgate.cli`` package (which imports them to register their commands)."""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
import sys
from collections.abc import Iterator
from enum import StrEnum
from typing import Annotated, Any, NoReturn

import typer
import typer.core
from rich.console import Console, ConsoleDimensions
from rich.progress import Progress, ProgressColumn

from vidgate import errors, exits

__all__ = [
    "FAILED",
    "GATEWAY_NAMES",
    "INTERRUPTED",
    "SPELLING",
    "UNWRAPPED",
    "USAGE",
    "Bar",
    "Command",
    "GatewayName",
    "GatewayOpt",
    "Group",
    "Interrupted",
    "JsonOpt",
    "TaskIdArg",
    "app",
    "emit",
    "err",
    "fail",
    "failure_json",
    "first_sentence",
    "flag",
    "gateway_name",
    "json_mode",
    "need",
    "on_ctrl_c",
    "out",
    "printable",
    "reset_json_mode",
    "safe",
]

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


class Bar(Progress):
    """A progress display (on stderr unless told) that keeps its last frame only for a command
    that goes on.

    It is cleared when it stops (on a terminal; into a pipe or a file nothing of it is printed,
    not even an empty line), then, unless an exception ends the block, its last frame is printed
    again: a failure's message is the line the user sees, never after a stale bar."""

    def __init__(self, *columns: str | ProgressColumn, console: Console | None = None) -> None:
        super().__init__(*columns, console=console or err, transient=True)

    def stop(self) -> None:
        """Stop the display without the empty line rich prints after it into a pipe or file."""
        if not self.disable:
            self.live.stop()

    def __exit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        super().__exit__(exc_type, exc_val, exc_tb)
        if exc_type is None:
            self.keep()

    def keep(self) -> None:
        """Print the last frame (the display is stopped), if it has rows."""
        if self.tasks:
            self.console.print(self.make_tasks_table(self.tasks))


class GatewayName(StrEnum):
    imini = "imini"
    apimart = "apimart"


GATEWAY_NAMES = tuple(g.value for g in GatewayName)
GatewayOpt = Annotated[GatewayName, typer.Option("--gateway", "-g", help="which gateway")]


# what an option's value is, by its type's name (typer's own placeholders are Python types:
# <str>, <float>, and <boolean> for a flag, which takes no value)
METAVARS = {"str": "TEXT", "text": "TEXT", "path": "PATH", "int": "N", "integer": "N"}
METAVARS.update(float="NUMBER")


def first_sentence(text: str) -> str:
    """A command's help up to its first full stop (the line `vidgate --help` lists)."""
    paragraph = " ".join(text.split("\n\n", 1)[0].split())
    return re.split(r"(?<=[.])\s+(?=[A-Z])", paragraph, maxsplit=1)[0]


def _type_name(param: Any) -> str | None:
    """The name of a parameter's value type: click's ParamType name (typer before 0.28), else
    typer's own descriptor (``bare_type()``, typer 0.28 on: ``str``, ``Path``, ``list[str]``)."""
    click_type = getattr(param, "type", None)
    if click_type is not None:
        return str(click_type.name)
    bare = getattr(param, "bare_type", None)
    if not callable(bare):
        return None
    name = str(bare()).lower()
    return name[5:-1] if name.startswith("list[") else name


def _plain_metavar(param: Any) -> Any:
    """A flag shows no placeholder, an option with a value TEXT, PATH, N or NUMBER (choices
    stay listed), an argument's value kind the same words. Set once per parameter; a typer
    whose parameters look otherwise keeps its own placeholders (help text only: never an
    error)."""
    kind = METAVARS.get(_type_name(param) or "")
    if isinstance(param, typer.core.TyperOption):
        if getattr(param, "is_flag", False) or getattr(param, "count", False):
            param.metavar = ""
        elif param.metavar is None and kind:
            param.metavar = kind
    elif kind and hasattr(param, "type"):
        if param.type.get_metavar(param=param, ctx=None) is None:
            param.type = copy.copy(param.type)  # (a type may be shared by many parameters)
            param.type.get_metavar = lambda param, ctx: kind
    elif kind and hasattr(param, "display_type"):  # typer 0.28 on: <str> beside the name
        param.display_type = param.display_type_rich = lambda ctx: kind
    return param


class Command(typer.core.TyperCommand):
    """Usage lines show arguments as TASK_ID, not {TASK_ID} (braces are not to be typed);
    options show TEXT, PATH, N or NUMBER, flags nothing; `vidgate --help` lists the command with
    the first sentence of its help."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.short_help is None and self.help:
            self.short_help = first_sentence(self.help)

    def collect_usage_pieces(self, ctx: Any) -> list[str]:  # typer vendors click's Context
        return [piece.strip("{}") for piece in super().collect_usage_pieces(ctx)]

    def get_params(self, ctx: Any) -> list[Any]:
        return [_plain_metavar(param) for param in super().get_params(ctx)]


class Group(typer.core.TyperGroup):
    """The root command: its flags (--version, --help, completion) show no placeholder."""

    def get_params(self, ctx: Any) -> list[Any]:
        return [_plain_metavar(param) for param in super().get_params(ctx)]


app = typer.Typer(
    cls=Group,
    name="vidgate",
    help="Validate, submit, watch and download video generations on imini and apimart.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish, PowerShell)
    pretty_exceptions_enable=False,
)


TaskIdArg = Annotated[str, typer.Argument(metavar="TASK_ID", help="the id generate printed")]


class _JsonMode:
    """Whether this run was given --json (a failure is then a JSON document on stdout too), and
    whether a document was printed already (a run prints one, never two)."""

    on = False
    emitted = False


def json_mode(value: bool) -> bool:
    """The --json option's callback: from here on a failure prints its JSON document."""
    if value:
        _JsonMode.on = True
    return value


def reset_json_mode() -> None:
    """A new run of the command (tests run several in one process)."""
    _JsonMode.on = _JsonMode.emitted = False


JsonOpt = Annotated[
    bool,
    typer.Option("--json", help="print the result as JSON (for scripts)", callback=json_mode),
]
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


def emit(data: Any) -> None:
    """One JSON document on stdout (no colour, no wrapping), for --json."""
    text = json.dumps(data, ensure_ascii=False, default=_json_value)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
    _JsonMode.emitted = True


def failure_json(message: str, code: int, exc: BaseException | None = None) -> dict[str, Any]:
    """The JSON document of a failed command (docs/cli.md, "Failures as JSON"): ``ok`` false and
    the ``error``: its type (the exception class, or null), the one-line message, the exit
    code, and what the error carries for a script (the broken rules, the gateway's status, code
    and request id, the task id, a batch's invalid lines)."""
    from vidgate.batch import BatchInvalidError
    from vidgate.redact import redact_data

    error: dict[str, Any] = {
        "type": type(exc).__name__ if exc is not None else None,
        "message": printable(message),
        "exit_code": code,
    }
    if isinstance(exc, errors.RequestValidationError):
        error["violations"] = [v.as_dict() for v in exc.violations]
    if isinstance(exc, errors.APIError):
        error.update(status=exc.status, code=exc.code, request_id=exc.request_id)
    if isinstance(exc, BatchInvalidError):
        error["problems"] = [{"line": n, "message": text} for n, text in exc.problems]
    task_id = getattr(exc, "task_id", None)
    if isinstance(task_id, str):
        error["task_id"] = task_id
    return {"ok": False, "error": redact_data(error)}


def _json_value(value: Any) -> str:
    """Datetimes as ISO 8601, paths and anything else as text."""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def need(extra: str, command: str) -> None:
    """An extra the command needs, or one line saying how to install it."""
    from vidgate.extras import MissingExtraError, require

    try:
        require(extra, f"vidgate {command}")
    except MissingExtraError as exc:
        fail(str(exc), USAGE)


def gateway_name(name: str) -> Any:
    if name not in GATEWAY_NAMES:
        err.print(f"[red]unknown gateway {safe(repr(name))}[/]: use {' or '.join(GATEWAY_NAMES)}")
        raise typer.Exit(USAGE)
    return str(name)


def printable(text: Any) -> str:
    """A string from outside as plain text: redacted, control characters shown escaped."""
    from vidgate.redact import redact

    return "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape", "backslashreplace").decode()
        for ch in redact(str(text))
    )


def safe(text: Any) -> str:
    """A server-supplied string inside console markup: printable, with its own brackets escaped
    (``task[/]1`` is shown as written, never read as a closing tag)."""
    from rich.markup import escape

    return escape(printable(text))


class Interrupted(Exception):
    """Ctrl-C inside a command, carried past Typer (which would turn it into a bare exit 130)."""

    def __init__(self, hint: str) -> None:
        self.hint = hint
        super().__init__(hint)


@contextlib.contextmanager
def on_ctrl_c(hint: str) -> Iterator[None]:
    """Ctrl-C in this block ends the command with ``hint`` (how to resume) and exit 130."""
    try:
        yield
    except errors.WaitInterrupted as exc:
        raise Interrupted(f"{exc}; resume with: vidgate wait {exc.task_id}") from exc
    except KeyboardInterrupt as exc:
        raise Interrupted(hint) from exc


def fail(message: str, code: int, exc: BaseException | None = None) -> NoReturn:
    """One line on stderr, redacted, control characters escaped (a newline from a server stays
    ``\\n``). The traceback only with VIDGATE_DEBUG."""
    from rich.text import Text

    if exc is not None and os.environ.get("VIDGATE_DEBUG", "") not in ("", "0"):
        import traceback

        trace = "".join(traceback.format_exception(exc)).rstrip("\n").split("\n")
        err.print(Text("\n".join(map(printable, trace)), style="dim"))
    style = "yellow" if code == exits.INTERRUPTED else "red"
    err.print(Text(printable(message), style=style), soft_wrap=True)
    if _JsonMode.on and not _JsonMode.emitted:
        emit(failure_json(message, code, exc))
    sys.exit(code)


# a setting a library error names -> how the CLI says it, where ``flag``'s rule does not fit
# (command modules add theirs); the key has no option (a key on the command line would show in
# the process list): its variable is the one way, "no API key for imini: set IMINI_API_KEY"
SPELLING: dict[str, str] = {errors.GIVE_KEY: "set"}


def flag(setting: str) -> str:
    """The CLI's spelling of a setting a library error names: ``overwrite=True`` is
    ``--overwrite``, ``gateway_rps`` is ``--gateway-rps``, ``model=`` is ``--model`` (see
    VidgateError.worded)."""
    if setting in SPELLING:
        return SPELLING[setting]
    return "--" + setting.removesuffix("=True").removesuffix("=").replace("_", "-")
