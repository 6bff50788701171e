"""What the vidgate command prints when the gateway sends hostile strings, and through a pipe:
control characters escaped and one message on one line; exit codes for unusable options."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import respx
from conftest import API_KEY, BASE_URLS
from test_cli import run

from vidgate import exits
from vidgate.batch.journal import Journal

pytestmark = pytest.mark.usefixtures("vidgate_env")
EVIL_ID = "a\x1b]0;PWN\x07\nb"
EVIL_STATUS = "run\x1b[2Jning"
TASKS = r"/v1/videos/tasks/.+"


@pytest.fixture
def keyed(vidgate_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMINI_API_KEY", API_KEY)
    monkeypatch.setattr("time.sleep", lambda s: None)


def clean(text: str) -> None:
    """No control character reaches the screen but the newline ending each line."""
    assert "\x1b" not in text
    assert all(ch == "\n" or ord(ch) >= 0x20 for ch in text), repr(text)


def one_line(text: str) -> str:
    clean(text)
    assert text.endswith("\n"), repr(text)
    assert text.count("\n") == 1, repr(text)
    return text


@pytest.mark.usefixtures("keyed")
@pytest.mark.parametrize(
    ("reply", "timeout", "code"),
    [
        ({"task_id": EVIL_ID, "status": EVIL_STATUS}, "0", exits.TIMEOUT),
        (
            {"task_id": EVIL_ID, "status": "failed", "error": {"message": "no\x1b[2J\nway"}},
            "3",
            exits.FAILED,
        ),
    ],
)
@pytest.mark.parametrize("command", ["generate", "wait"])
def test_gateway_strings_are_escaped_on_one_line(
    reply: dict[str, object],
    timeout: str,
    code: int,
    command: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with respx.mock(base_url=BASE_URLS["imini"], assert_all_called=True) as api:
        if command == "generate":
            api.post("/v1/videos/generate").respond(200, json={"task_id": EVIL_ID})
            args = ["generate", "--model", "kling/kling-v3", "--prompt", "x", "--wait"]
        else:
            args = ["wait", EVIL_ID]
        api.get(path__regex=TASKS).respond(200, json=reply)
        got, out, err = run([*args, "--timeout", timeout], capsys)
    assert got == code, err
    clean(out)
    last = err.splitlines(keepends=True)[-1]  # after the progress display: the error line
    one_line(last)
    assert "a\\x1b]0;PWN\\x07\\nb" in last
    clean(err)


@pytest.mark.usefixtures("keyed")
def test_download_errors_escape_the_status(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with respx.mock(base_url=BASE_URLS["imini"], assert_all_called=True) as api:
        api.get(path__regex=TASKS).respond(200, json={"task_id": EVIL_ID, "status": EVIL_STATUS})
        code, out, err = run(["download", "t1", "--out", str(tmp_path)], capsys)
    assert code == exits.DOWNLOAD
    assert "run\\x1b[2Jning" in one_line(err)
    clean(out)


def test_batch_status_escapes_and_does_not_wrap(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = Journal(tmp_path)
    long_error = "HTTP 500: \x1b[2J\n" + "the gateway said something long " * 2
    journal.add(1, {"model": "kling/kling-v3", "prompt": "p"})
    assert journal.set(1, "submitted", expect="pending", task_id=EVIL_ID, status=EVIL_STATUS)
    assert journal.set(1, "failed", error=long_error)
    journal.close()
    code, out, _ = run(["batch", "--status", str(tmp_path)], capsys)
    assert code == 0
    clean(out)
    row = next(line for line in out.splitlines() if "PWN" in line)
    assert "a\\x1b]0;PWN\\x07\\nb" in row
    assert "run\\x1b[2Jning" in row
    assert "said something long the gateway said something long" in row  # one row, one line


@pytest.mark.usefixtures("keyed")
def test_a_404_is_one_line_with_its_hint(capsys: pytest.CaptureFixture[str]) -> None:
    with respx.mock(base_url=BASE_URLS["imini"], assert_all_called=True) as api:
        api.get(path__regex=TASKS).respond(
            404, json={"error": {"code": "TASK_NOT_FOUND", "message": "no such task"}}
        )
        code, _, err = run(["status", "task_x"], capsys)
    assert code == exits.FAILED
    assert "HTTP 404 TASK_NOT_FOUND" in one_line(err)
    assert "if apimart created it, pass --gateway apimart" in err


def test_validate_of_a_body_that_is_not_an_object_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    body = tmp_path / "list.json"
    body.write_text("[]")
    code, _, err = run(["validate", "--gateway", "imini", str(body)], capsys)
    assert (code, "must be a JSON object" in one_line(err)) == (exits.USAGE, True)


def test_nan_in_extra_body_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["generate", "--model", "kling/kling-v3", "--prompt", "x"]
    code, _, err = run([*args, "--extra-body", '{"a": NaN}'], capsys)
    assert (code, "--extra-body" in one_line(err)) == (exits.USAGE, True)


@pytest.mark.parametrize("bad", ["-1", "nan"])
@pytest.mark.parametrize(
    "command",
    [["wait", "task_1"], ["generate", "--model", "kling/kling-v3", "--prompt", "x", "--wait"]],
)
def test_a_negative_or_nan_timeout_is_a_usage_error(
    bad: str, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run([*command, "--timeout", bad], capsys)
    assert (code, "--timeout" in one_line(err)) == (exits.USAGE, True), err


def test_piped_output_is_not_wrapped(tmp_path: Path) -> None:
    body = tmp_path / "edit.json"
    body.write_text(
        json.dumps(
            {
                "model": "dashscope/happyhorse-1.0",
                "prompt": "snow",
                "reference_videos": [{"url": "https://example.com/a.mp4"}],
                "duration": 5,
            }
        )
    )
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    done = subprocess.run(
        [sys.executable, "-m", "vidgate", "validate", str(body)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    lines = done.stdout.splitlines()
    assert any("[happyhorse.edit.no-duration]" in line and len(line) > 80 for line in lines), (
        done.stdout
    )
    assert not any(line.strip().startswith("[") for line in lines), done.stdout
