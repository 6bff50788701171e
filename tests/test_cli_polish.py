"""The vidgate command as a script or a person meets it: --version, choices, usage lines, --json,
completion, the messages for an existing file, a task of the other gateway, a busy port and a
missing extra, and batch output."""

from __future__ import annotations

import json
import socket
from importlib.util import find_spec
from pathlib import Path

import httpx
import pytest
import respx
from conftest import API_KEY, BASE_URLS
from test_cli import run

import vidgate
from vidgate import exits, extras
from vidgate.batch.journal import Journal

pytestmark = pytest.mark.usefixtures("vidgate_env")
CDN = "https://cdn.example.com/v.mp4"
DONE = {"task_id": "task_9", "status": "succeeded", "videos": [{"url": CDN}]}


@pytest.fixture
def keyed(vidgate_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMINI_API_KEY", API_KEY)
    monkeypatch.setattr("time.sleep", lambda s: None)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--version"], capsys)[:2] == (0, f"vidgate {vidgate.__version__}\n")


def test_help_shows_choices_plain_usage_and_completion(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["status", "--help"], capsys)
    assert code == 0
    assert "status [OPTIONS] TASK_ID" in out
    assert "{" not in out
    assert "<imini|apimart>" in out
    code, out, _ = run(["--help"], capsys)
    assert "--install-completion" in out
    code, _, err = run(["status", "-g", "elsewhere", "task_1"], capsys)
    assert code == 2
    assert "'elsewhere' is not one of 'imini', 'apimart'" in err


@pytest.mark.usefixtures("keyed")
def test_status_json_and_a_hint_for_the_other_gateway(capsys: pytest.CaptureFixture[str]) -> None:
    with respx.mock(base_url=BASE_URLS["imini"]) as api:
        api.get("/v1/videos/tasks/task_9").respond(200, json=DONE)
        api.get("/v1/videos/tasks/task_x").respond(
            404, json={"error": {"code": "TASK_NOT_FOUND", "message": "no such task"}}
        )
        code, out, _ = run(["status", "task_9", "--json"], capsys)
        task = json.loads(out)
        assert (code, task["id"], task["status"], task["videos"][0]["url"]) == (
            0,
            "task_9",
            "succeeded",
            CDN,
        )
        code, out, err = run(["status", "task_x"], capsys)
    assert code == 1
    assert "if apimart created it, pass --gateway apimart" in " ".join(err.split())
    assert "HTTP 404 TASK_NOT_FOUND" in err


@pytest.mark.usefixtures("keyed")
def test_generate_json_and_the_overwrite_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with respx.mock(base_url=BASE_URLS["imini"]) as api:
        api.post("/v1/videos/generate").respond(200, json={"task_id": "task_9"})
        api.get("/v1/videos/tasks/task_9").respond(200, json=DONE)
        api.get(CDN).respond(200, content=b"mp4 bytes")
        args = ["generate", "--model", "kling/kling-v3", "--prompt", "a cat", "--json"]
        code, out, _ = run([*args, "--download", str(tmp_path)], capsys)
        result = json.loads(out)  # one document, nothing else on stdout
        assert (code, result["id"], result["task"]["status"]) == (0, "task_9", "succeeded")
        assert result["files"] == [str(tmp_path / "task_9.mp4")]
        code, out, err = run(["download", "task_9", "--out", str(tmp_path)], capsys)
        assert code == exits.DOWNLOAD
        assert "pass --overwrite to replace it" in " ".join(err.split())
        assert "overwrite=True" not in err
        code, out, _ = run(["download", "task_9", "--out", str(tmp_path), "--overwrite"], capsys)
        assert (code, json.loads(run(["status", "task_9", "--json"], capsys)[1])["id"]) == (
            0,
            "task_9",
        )


def test_mock_on_a_busy_port_fails_before_its_banner(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, out, err = run(["mock", "--port", str(port)], capsys)
    assert code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in err
    assert "mock gateway on" not in out + err
    assert len(err.strip().splitlines()) == 1


def test_a_missing_extra_is_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(extras, "find_spec", lambda name: None if name == "av" else find_spec(name))
    for command in ("mock", "demo"):
        code, _, err = run([command], capsys)
        assert code == 2
        assert err.strip().splitlines() == [
            f"vidgate {command} needs the 'mock' extra (av not installed): "
            "pip install 'vidgate[mock]'"
        ]
    with pytest.raises(ImportError, match=r"pip install 'vidgate\[testing\]'"):
        extras.require("testing", "the fixtures")
    with pytest.raises(vidgate.ConfigurationError):
        extras.require("mock", "the mock")


@pytest.mark.usefixtures("keyed")
def test_batch_reports_invalid_lines_without_empty_bars(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(json.dumps({"model": "kling/kling-v3", "prompt": "p", "duration": 99}) + "\n")
    code, _, err = run(["batch", str(jobs), "--out", str(tmp_path / "out")], capsys)
    assert code != 0
    assert "invalid line" in err
    assert "pending" not in err
    assert "━" not in err


def test_batch_status_keeps_whole_names_and_has_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = "a-rather-long-file-name-that-a-narrow-table-would-cut-short-000001.mp4"
    journal = Journal(tmp_path)
    journal.add(1, {"model": "kling/kling-v3", "prompt": "p"})
    assert journal.set(1, "submitted", expect="pending", task_id="task_2044275355061448704")
    assert journal.set(1, "downloaded", file=name)
    journal.close()
    code, out, _ = run(["batch", "--status", str(tmp_path)], capsys)
    assert code == 0
    assert "…" not in out
    cells = [line.split("│") for line in out.splitlines() if line.startswith("│")]
    assert "".join(cell[5].strip() for cell in cells) == name  # folded, never cut
    code, out, _ = run(["batch", "--status", str(tmp_path), "--json"], capsys)
    data = json.loads(out)
    assert data["jobs"][0]["file"] == name
    assert data["counts"] == {"downloaded": 1}


def test_transport_error_in_json_mode_is_still_a_message(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMINI_API_KEY", API_KEY)
    monkeypatch.setattr("time.sleep", lambda s: None)
    with respx.mock(base_url=BASE_URLS["imini"]) as api:
        api.get("/v1/videos/tasks/task_1").mock(side_effect=httpx.ConnectError("refused"))
        code, out, err = run(["status", "task_1", "--json"], capsys)
    assert code == exits.GATEWAY
    error = json.loads(out)["error"]  # the failure as JSON on stdout, the line on stderr
    assert (error["type"], error["exit_code"]) == ("APIConnectionError", exits.GATEWAY)
    assert "Traceback" not in err
