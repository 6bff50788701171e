"""The vidgate command: exit codes, messages, JSON output, and a full generate run."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import respx
import specvalues
from conftest import API_KEY, BASE_URLS

from vidgate.cli import main

# The CLI reads IMINI_*/APIMART_* by design; these tests start from none (vidgate's own
# plugin fixture), so a key or base URL exported in the shell cannot change them.
pytestmark = pytest.mark.usefixtures("vidgate_env")


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(args)
    out, err = capsys.readouterr()
    return int(done.value.code or 0), out, err


@pytest.fixture
def body_file(tmp_path: Path) -> Path:
    path = tmp_path / "body.json"
    limit = specvalues.prop("imini", "kling/kling-v3", "duration")["maximum"]
    path.write_text(json.dumps({"model": "kling/kling-v3", "prompt": "p", "duration": limit + 5}))
    return path


def test_validate_exit_codes(
    body_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["validate", str(body_file)], capsys)
    assert code == 1
    limit = specvalues.prop("imini", "kling/kling-v3", "duration")["maximum"]
    assert f"duration: must be at most {limit}" in out
    body_file.write_text(json.dumps({"model": "kling/kling-v3", "prompt": "p"}))
    code, out, _ = run(["validate", str(body_file)], capsys)
    assert (code, "mode text" in out) == (0, True)
    code, _, err = run(["validate", str(tmp_path / "missing.json")], capsys)
    assert code == 2
    assert "cannot read" in err
    (tmp_path / "bad.json").write_text("{nope")
    code, _, err = run(["validate", str(tmp_path / "bad.json")], capsys)
    assert code == 2
    assert "is not JSON" in err
    code, _, _ = run(["validate", "--gateway", "elsewhere", str(body_file)], capsys)
    assert code == 2
    code, _, _ = run(["validate"], capsys)
    assert code == 2


def test_validate_json_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "b.json"
    path.write_text(
        json.dumps(
            {
                "model": "happyhorse-1.0",
                "prompt": "p",
                "first_frame_image": "https://e.com/a.png",
                "image_urls": ["https://e.com/b.png"],
            }
        )
    )
    code, out, _ = run(["validate", "--json", "-g", "apimart", str(path)], capsys)
    result = json.loads(out)
    assert code == 1
    assert result["valid"] is False
    assert result["mode"] == "first_frame"
    assert result["errors"] == [
        {
            "path": "",
            "rule": "happyhorse.no-first-frame-with-images",
            "message": "body: first_frame_image and image_urls exclude each other",
            "code": "mixed_media_not_allowed",
        }
    ]


def test_generate_wait_download(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMINI_API_KEY", API_KEY)
    monkeypatch.setattr("time.sleep", lambda s: None)  # the CLI's client polls with time.sleep
    cdn = "https://cdn.example.com/v.mp4"
    with respx.mock(base_url=BASE_URLS["imini"], assert_all_called=True) as api:
        api.post("/v1/videos/generate").respond(200, json={"task_id": "task_9"})
        api.get("/v1/videos/tasks/task_9").mock(
            side_effect=[
                httpx.Response(200, json={"task_id": "task_9", "status": "processing"}),
                httpx.Response(
                    200, json={"task_id": "task_9", "status": "succeeded", "videos": [{"url": cdn}]}
                ),
            ]
        )
        api.get(cdn).respond(200, content=b"mp4 bytes")
        code, out, _ = run(
            [
                "generate",
                "--model",
                "kling/kling-v3",
                "--prompt",
                "a cat",
                "--set",
                "duration=6",
                "--download",
                str(tmp_path),
            ],
            capsys,
        )
        assert json.loads(api.calls[0].request.content)["duration"] == 6
    assert code == 0, out
    assert "submitted task task_9 (mode text)" in out
    assert (tmp_path / "task_9.mp4").read_bytes() == b"mp4 bytes"


def test_gateway_errors_and_missing_keys_are_messages(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IMINI_API_KEY", raising=False)
    code, _, err = run(["status", "task_1"], capsys)
    assert code == 2
    assert "no API key for imini: set IMINI_API_KEY" in err
    assert "api_key=" not in err  # a library argument the command line has no way to pass
    monkeypatch.setenv("IMINI_API_KEY", API_KEY)
    with respx.mock(base_url=BASE_URLS["imini"]) as api:
        api.get("/v1/videos/tasks/task_1").respond(
            404, json={"error": {"code": "TASK_NOT_FOUND", "message": "no such task"}}
        )
        code, _, err = run(["status", "task_1"], capsys)
    assert code == 1
    assert "HTTP 404 TASK_NOT_FOUND: no such task" in err
    assert "Traceback" not in err


def test_validate_json_lists_warnings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "b.json"
    body = {"model": "kling/kling-v3", "prompt": "p", "extra_params": {"mode": "pro"}}
    path.write_text(json.dumps(body))
    code, out, _ = run(["validate", "--json", str(path)], capsys)
    result = json.loads(out)
    assert (code, result["valid"], result["errors"]) == (0, True, [])
    assert [(w["path"], w["rule"]) for w in result["warnings"]] == [
        ("/extra_params/mode", "unknown-extension-key")
    ]
    code, out, _ = run(["validate", str(path)], capsys)
    assert code == 0
    assert "warning" in out
    assert "extra_params.mode" in out


def test_generate_sends_extra_body_after_validation(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMINI_API_KEY", API_KEY)
    with respx.mock(base_url=BASE_URLS["imini"], assert_all_called=True) as api:
        api.post("/v1/videos/generate").respond(200, json={"task_id": "task_9"})
        args = ["generate", "--model", "kling/kling-v3", "--prompt", "a cat"]
        code, out, _ = run([*args, "--extra-body", '{"new_field": {"x": 1}}'], capsys)
        assert code == 0, out
        sent = json.loads(api.calls[0].request.content)
    assert sent == {"model": "kling/kling-v3", "prompt": "a cat", "new_field": {"x": 1}}
    for bad in ("{nope", "[1]"):
        code, _, err = run([*args, "--extra-body", bad], capsys)
        assert code == 2
        assert "--extra-body" in err
