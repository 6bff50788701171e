"""What an outside tester found running the vidgate command from a fresh install: each failure
is its one line first on stderr (no progress frame, no blank line before it), named so a user
knows what to fix."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
import respx
import typer
import typer.core
import typer.main
from conftest import API_KEY, BASE_URLS
from rich.progress import TextColumn
from test_cli import run

from vidgate import errors, exits, extras
from vidgate.cli import app
from vidgate.cli._common import Bar
from vidgate.cli._common import err as err_console

pytestmark = pytest.mark.usefixtures("vidgate_env")
CDN = "https://cdn.example.com/v.mp4"
DONE = {"task_id": "task_9", "status": "succeeded", "videos": [{"url": CDN}]}
FAILED_TASK = {"task_id": "task_9", "status": "failed", "error": {"message": "no"}}


@pytest.fixture
def keyed(vidgate_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMINI_API_KEY", API_KEY)
    monkeypatch.setattr("time.sleep", lambda s: None)


@pytest.mark.usefixtures("keyed")
def test_a_download_onto_an_existing_file_fails_with_its_line_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "task_9.mp4").write_bytes(b"old")
    with respx.mock(base_url=BASE_URLS["imini"]) as api:
        api.get("/v1/videos/tasks/task_9").respond(200, json=DONE)
        code, out, err = run(["download", "task_9", "--out", str(tmp_path)], capsys)
    assert (code, out) == (exits.DOWNLOAD, "")
    assert err == f"{tmp_path / 'task_9.mp4'} exists; pass --overwrite to replace it\n"


@pytest.mark.usefixtures("keyed")
def test_a_wait_that_fails_after_its_bar_started_prints_the_failure_alone(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with respx.mock(base_url=BASE_URLS["imini"]) as api:
        api.get("/v1/videos/tasks/task_9").respond(200, json=FAILED_TASK)
        code, out, err = run(["wait", "task_9"], capsys)
    assert (code, out) == (exits.FAILED, "")
    assert err.count("\n") == 1, err
    assert err.startswith("task task_9 failed"), err


@pytest.mark.usefixtures("keyed")
def test_a_wait_that_succeeds_keeps_its_bar_last_frame(capsys: pytest.CaptureFixture[str]) -> None:
    with respx.mock(base_url=BASE_URLS["imini"]) as api:
        api.get("/v1/videos/tasks/task_9").respond(200, json=DONE)
        code, out, err = run(["wait", "task_9"], capsys)
    assert code == 0
    assert "task_9" in err
    assert "━" in err
    assert out.startswith("task task_9: succeeded")


@pytest.mark.usefixtures("keyed")
def test_a_batch_the_gateway_stops_prints_its_line_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(json.dumps({"model": "kling/kling-v3", "prompt": "p"}) + "\n")
    refused = {"error": {"code": "UNAUTHORIZED", "message": "bad key"}}
    with respx.mock(base_url=BASE_URLS["imini"]) as api:
        api.post("/v1/videos/generate").respond(401, json=refused)
        code, out, err = run(["batch", str(jobs), "--out", str(tmp_path / "out")], capsys)
    assert (code, out) == (exits.FAILED, "")
    assert err.count("\n") == 1, err
    assert err.startswith("the batch stopped: "), err


@pytest.mark.usefixtures("keyed")
@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["download", "task_9", "--out"], "--out"),
        (["wait", "task_9", "--download"], "--download"),
        (["generate", "--model", "kling/kling-v3", "--prompt", "p", "--download"], "--download"),
    ],
)
def test_a_folder_that_cannot_be_created_fails_before_any_request(
    args: list[str], flag: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "file").write_text("")
    folder = tmp_path / "file" / "sub"  # under a file: it cannot be created
    with respx.mock(base_url=BASE_URLS["imini"], assert_all_mocked=True):  # nothing is sent
        code, out, err = run([*args, str(folder)], capsys)
    assert (code, out) == (exits.LOCAL, "")
    assert err == f"cannot write to {flag} {folder}: Not a directory\n"


@pytest.mark.usefixtures("keyed")
def test_a_file_given_as_the_folder_fails_before_any_request(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "file").write_text("")
    with respx.mock(base_url=BASE_URLS["imini"], assert_all_mocked=True):  # nothing is sent
        code, out, err = run(["download", "task_9", "--out", str(tmp_path / "file")], capsys)
    assert (code, out) == (exits.USAGE, "")
    assert err == f"{tmp_path / 'file'} is a file; give a folder for the result files\n"


def test_a_gateway_code_that_is_the_http_status_is_shown_once(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APIMART_API_KEY", API_KEY)
    gone = {"error": {"code": 404, "message": "task not found or expired", "type": "x"}}
    with respx.mock(base_url=BASE_URLS["apimart"]) as api:
        api.get("/v1/tasks/task_nope").respond(404, json=gone)
        code, _, err = run(["status", "task_nope", "-g", "apimart"], capsys)
    assert code == exits.FAILED
    assert err.startswith("HTTP 404: task not found or expired; "), err
    error = errors.NotFoundError("gone", status=404, code="TASK_NOT_FOUND")
    assert str(error) == "HTTP 404 TASK_NOT_FOUND: gone"  # a code of its own stays
    assert error.code == "TASK_NOT_FOUND"
    assert errors.NotFoundError("gone", status=404, code=404).code == 404  # kept, for scripts


@pytest.mark.parametrize(
    ("waited", "shown"),
    [(0.5, "0.5 s"), (0.04, "0.0 s"), (9.94, "9.9 s"), (9.96, "10 s"), (61.4, "61 s")],
)
def test_a_wait_timeout_shows_a_short_wait_to_a_tenth(waited: float, shown: str) -> None:
    assert (
        str(errors.WaitTimeoutError("task_9", waited)) == f"task task_9 not finished after {shown}"
    )


@pytest.mark.usefixtures("keyed")
def test_wait_with_a_sub_second_timeout_says_how_long_it_waited(
    capsys: pytest.CaptureFixture[str],
) -> None:
    running = {"task_id": "task_9", "status": "processing", "progress": 10}
    with respx.mock(base_url=BASE_URLS["imini"]) as api:
        api.get("/v1/videos/tasks/task_9").respond(200, json=running)
        code, _, err = run(["wait", "task_9", "--timeout", "0.5"], capsys)
    assert code == exits.TIMEOUT
    early = r"( \(its next poll would come after the 0\.5 s deadline\))?"  # the gateway's pace
    assert re.match(
        rf"task task_9 not finished after 0\.\d s{early}, last status processing\n$", err
    ), err
    error = errors.WaitTimeoutError("task_9", 0.01, deadline=0.5)
    assert str(error) == (
        "task task_9 not finished after 0.0 s (its next poll would come after the 0.5 s deadline)"
    )
    assert str(errors.WaitTimeoutError("task_9", 0.52, deadline=0.5)).endswith("after 0.5 s")


@pytest.mark.usefixtures("keyed")
@pytest.mark.parametrize(
    ("name", "reason"), [("nonexist.jsonl", "No such file or directory"), (".", "Is a directory")]
)
def test_batch_says_why_it_cannot_read_its_jobs_file(
    name: str, reason: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    jobs = tmp_path / name
    code, out, err = run(["batch", str(jobs), "--out", str(tmp_path / "out")], capsys)
    assert (code, out) == (exits.USAGE, "")
    assert err == f"cannot read {jobs}: {reason}\n"


@pytest.mark.parametrize("data", [b"nope\n", b"[1]"])
def test_a_body_from_stdin_is_named_standard_input(
    data: bytes, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))
    code, out, err = run(["validate", "--gateway", "imini", "-"], capsys)
    assert (code, out) == (exits.USAGE, "")
    assert err.startswith(("standard input is not JSON: ", "standard input: the request body")), err


@pytest.mark.parametrize(
    ("line", "key", "code"),
    [
        ('{"model": "kling/kling-v3", "prompt": "p", "duration": 99}', API_KEY, exits.FAILED),
        ("not json", API_KEY, exits.USAGE),
        ('{"model": "kling/kling-v3", "prompt": "p"}', "", exits.USAGE),  # no API key
    ],
)
def test_a_batch_that_stops_before_recording_anything_leaves_no_journal(
    line: str,
    key: str,
    code: int,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if key:
        monkeypatch.setenv("IMINI_API_KEY", key)
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(line + "\n")
    out_dir = tmp_path / "out"
    with respx.mock(base_url=BASE_URLS["imini"], assert_all_mocked=True):  # nothing is sent
        assert run(["batch", str(jobs), "--out", str(out_dir)], capsys)[0] == code
    assert not out_dir.exists()
    out_dir.mkdir()  # an existing folder stays, empty
    with respx.mock(base_url=BASE_URLS["imini"], assert_all_mocked=True):
        assert run(["batch", str(jobs), "--out", str(out_dir)], capsys)[0] == code
    assert list(out_dir.iterdir()) == []


def test_a_batch_loaded_without_a_key_keeps_its_jobs_for_the_run_with_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text('{"model": "kling/kling-v3", "prompt": "p"}\n')
    out_dir = tmp_path / "out"
    assert run(["batch", str(jobs), "--out", str(out_dir), "--load"], capsys)[0] == 0
    code, _, err = run(["batch", str(jobs), "--out", str(out_dir)], capsys)
    assert (code, err) == (exits.USAGE, "no API key for imini: set IMINI_API_KEY\n")
    assert (out_dir / ".vidgate-batch.sqlite").is_file()  # the loaded jobs stay pending
    code, out, _ = run(["batch", "--status", str(out_dir), "--json"], capsys)
    assert json.loads(out)["counts"] == {"pending": 1}


def _commands() -> dict[str, Any]:
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    return dict(group.commands)


def _first_sentence(help_text: str) -> str:
    paragraph = " ".join(help_text.split("\n\n", 1)[0].split())
    return re.split(r"(?<=[.])\s+(?=[A-Z])", paragraph, maxsplit=1)[0]


def _flat(text: str) -> str:
    """Help as one line: box lines and wrapping gone (a wrapped cell reads on in order)."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


@pytest.mark.parametrize("rich", [True, False])
def test_the_command_list_shows_each_command_first_sentence_whole(
    rich: bool, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(typer.core, "HAS_RICH", rich)
    code, out, _ = run(["--help"], capsys)
    assert code == 0
    shown = _flat(out)
    for name, command in _commands().items():
        first = _first_sentence(command.help or "")
        assert first.endswith("."), (name, first)
        assert f"{name} {first}" in shown, name
    assert "BY HAND" not in shown  # scaffold's later sentences are for `scaffold --help`


@pytest.mark.parametrize("rich", [True, False])
def test_help_shows_no_python_types_and_no_placeholder_for_flags(
    rich: bool, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(typer.core, "HAS_RICH", rich)
    pages = {"": run(["--help"], capsys)[1]}
    pages.update({name: run([name, "--help"], capsys)[1] for name in _commands()})
    for name, page in pages.items():
        assert not re.search(r"<(str|bool|int|float|path|list|dict)\b", page), (name, page)
    generate = _flat(pages["generate"])
    for option, metavar in [
        ("--download", "PATH"),
        ("--model", "TEXT"),
        ("--set", "TEXT"),
        ("--timeout", "NUMBER"),
    ]:
        assert f"{option} {metavar} " in generate, option
    for flag in ("--wait", "--json", "--help"):
        assert re.search(rf"{flag} [A-Za-z]", generate), flag  # the help text follows at once
    assert "--concurrency N " in _flat(pages["batch"])
    assert "<imini|apimart>" in pages["status"]  # choices stay listed


def _table_row(code: int) -> str:
    page = Path(__file__).resolve().parent.parent / "docs" / "cli.md"
    table = page.read_text(encoding="utf-8").split("| code | meaning |", 1)[1].split("\n\n")[0]
    rows = dict(line.strip("|").split("|", 1) for line in table.splitlines()[2:])
    return rows[f" {code} "]


def test_a_missing_extra_exits_2_and_the_table_says_so(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def missing(extra: str, feature: str) -> None:
        raise extras.MissingExtraError(feature, extra, ["uvicorn"])

    monkeypatch.setattr(extras, "require", missing)
    code, _, err = run(["demo"], capsys)
    assert code == exits.USAGE
    assert "pip install 'vidgate[mock]'" in err
    assert "missing extra" in exits.CODES[exits.USAGE]
    assert "missing extra" in _table_row(exits.USAGE)


def test_the_table_names_each_way_to_exit_1_2_and_5() -> None:
    """Beyond the classes of vidgate.exits: spec-diff's --fail-on (1), the mock's port (2)."""
    assert "spec-diff found a change at its --fail-on level" in exits.CODES[exits.FAILED]
    assert "a port the mock cannot listen on" in exits.CODES[exits.USAGE]
    for cls, code in exits._BY_CLASS:  # each error class maps to a documented code
        assert code in exits.CODES, cls
        assert _table_row(code).strip().replace("`", "") == exits.CODES[code].replace("`", "")


def _draw_then_fail(bar: Bar) -> None:
    with bar:
        bar.add_task("video ━━━", total=None)
        bar.refresh()  # drawn
        raise errors.DownloadError("the file exists")


def test_on_a_terminal_a_bar_that_fails_is_erased_before_the_message(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(err_console, "_force_terminal", True)
    monkeypatch.setattr(err_console, "is_interactive", True)
    monkeypatch.setenv("TERM", "xterm")
    bar = Bar(TextColumn("{task.description}"))
    with pytest.raises(errors.DownloadError):
        _draw_then_fail(bar)
    err_console.print("the message")
    err = capsys.readouterr().err
    drawn, erased = err.rsplit("\x1b[2K", 1)  # the bar's line erased, after it was drawn
    assert "video ━━━" in drawn
    assert "━" not in erased
    assert erased.endswith("the message\n")


def test_help_placeholders_work_with_typers_own_parameter_descriptors() -> None:
    """typer 0.28 on describes a parameter's type itself (no click ``.type``): the help words
    still apply, and a parameter shaped otherwise keeps typer's own (help is never an error)."""
    from vidgate.cli._common import _plain_metavar

    class NewArgument:  # the shape of a typer 0.29 argument
        metavar = None

        def bare_type(self) -> str:
            return "Path"

        def display_type(self, ctx: object) -> str:
            return "<Path>"

        def display_type_rich(self, ctx: object) -> str:
            return "<Path>"

    argument = _plain_metavar(NewArgument())
    assert argument.display_type(None) == argument.display_type_rich(None) == "PATH"
    unknown = object()
    assert _plain_metavar(unknown) is unknown
