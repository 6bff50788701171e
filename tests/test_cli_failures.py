"""A failed command as a user and a script meet it: one line on stderr (generate's broken rules
too, bounded), and with --json one JSON document on stdout saying what failed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import respx
import specvalues
from conftest import API_KEY, BASE_URLS
from test_cli import run

from vidgate import errors, exits
from vidgate.cli import MAX_LINE, _broken_rules

pytestmark = pytest.mark.usefixtures("vidgate_env")
MODEL = "kling/kling-v3"
TASK = "/v1/videos/tasks/task_9"


@pytest.fixture
def keyed(vidgate_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMINI_API_KEY", API_KEY)
    monkeypatch.setattr("time.sleep", lambda s: None)


def too_long() -> tuple[list[str], int]:
    """generate's options for a body with two broken rules; the duration limit."""
    limit = int(specvalues.prop("imini", MODEL, "duration")["maximum"])
    ratios = specvalues.prop("imini", MODEL, "aspect_ratio")["enum"]
    assert "7:1" not in ratios
    sets = ["--set", f"duration={limit + 5}", "--set", 'aspect_ratio="7:1"']
    return ["--model", MODEL, "--prompt", "p", *sets], limit


def one_json(out: str) -> Any:
    lines = out.splitlines()
    assert len(lines) == 1, out
    return json.loads(lines[0])


@pytest.mark.usefixtures("keyed")
def test_generate_with_broken_rules_is_one_line_and_validate_keeps_its_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    options, limit = too_long()
    with respx.mock(base_url=BASE_URLS["imini"], assert_all_mocked=True):  # nothing is sent
        code, out, err = run(["generate", *options], capsys)
    assert (code, out) == (exits.FAILED, "")
    assert err.count("\n") == 1, err
    assert f"imini {MODEL}: 2 rule(s) broken" in err
    assert f"duration: must be at most {limit} [maximum]; aspect_ratio: must be one of" in err
    body = tmp_path / "body.json"
    body.write_text(json.dumps({"model": MODEL, "prompt": "p", "duration": limit + 5}))
    code, out, _ = run(["validate", str(body)], capsys)
    assert code == exits.FAILED
    assert out.splitlines()[0] == f"invalid {MODEL} (1 problem(s)):"
    assert out.splitlines()[1].startswith(f"  • duration: must be at most {limit}")


def test_the_line_of_many_broken_rules_is_bounded() -> None:
    rules = tuple(
        errors.Violation(f"/f{i}", "enum", f"f{i}: must be one of a, b") for i in range(99)
    )
    line = _broken_rules(errors.RequestValidationError("imini", MODEL, None, rules))
    assert "\n" not in line
    assert len(line) < MAX_LINE + 80
    shown = line.count("[enum]")
    assert 1 < shown < 99
    assert line.endswith(f"; and {99 - shown} more (vidgate validate lists them all)")


@pytest.mark.usefixtures("keyed")
def test_generate_json_with_broken_rules_prints_the_failure_document(
    capsys: pytest.CaptureFixture[str],
) -> None:
    options, limit = too_long()
    with respx.mock(base_url=BASE_URLS["imini"], assert_all_mocked=True):
        code, out, err = run(["generate", *options, "--json"], capsys)
    assert code == exits.FAILED
    assert err.count("\n") == 1
    doc = one_json(out)
    assert doc["ok"] is False
    error = doc["error"]
    assert (error["type"], error["exit_code"]) == ("RequestValidationError", exits.FAILED)
    assert error["message"] == err.strip()
    by_path = {v["path"]: v for v in error["violations"]}
    assert (by_path["/duration"]["rule"], by_path["/duration"]["limit"]) == ("maximum", limit)
    assert by_path["/aspect_ratio"]["rule"] == "enum"


@pytest.mark.usefixtures("keyed")
@pytest.mark.parametrize(
    ("args", "reply", "code", "kind"),
    [
        (["status", "task_9"], (404, {"error": {"code": "TASK_NOT_FOUND"}}), 1, "NotFoundError"),
        (["wait", "task_9", "--timeout", "0"], (200, {"status": "running"}), 6, "WaitTimeoutError"),
        (["download", "task_9"], (200, {"status": "running"}), 4, "DownloadError"),
    ],
)
def test_task_commands_print_their_failure_as_json(
    args: list[str],
    reply: tuple[int, dict[str, Any]],
    code: int,
    kind: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    status, body = reply
    with respx.mock(base_url=BASE_URLS["imini"], assert_all_called=True) as api:
        api.get(TASK).respond(status, json={"task_id": "task_9", **body})
        done, out, err = run([*args, "--json"], capsys)
    assert done == code
    error = one_json(out)["error"]
    assert (error["type"], error["exit_code"]) == (kind, code)
    assert error["message"] == err.strip().splitlines()[-1]  # the line after any progress bar
    if kind == "NotFoundError":
        assert (error["status"], error["code"]) == (404, "TASK_NOT_FOUND")
    if kind == "WaitTimeoutError":
        assert error["task_id"] == "task_9"


def test_batch_status_and_a_usage_error_print_their_failure_as_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["batch", "--status", str(tmp_path), "--json"], capsys)
    assert code == exits.USAGE
    error = one_json(out)["error"]
    assert (error["type"], error["exit_code"]) == ("InputError", exits.USAGE)
    assert error["message"] == err.strip()
    code, out, _ = run(["batch", "--json"], capsys)  # no jobs file
    assert code == exits.USAGE
    assert one_json(out)["error"] == {
        "type": None,
        "message": "give a jobs file (or --worker --journal URL, or --status DIR)",
        "exit_code": exits.USAGE,
    }


def test_without_json_a_failure_prints_nothing_on_stdout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(["batch", "--status", str(tmp_path), "--json"], capsys)  # a --json run before this one
    code, out, err = run(["batch", "--status", str(tmp_path)], capsys)
    assert (code, out) == (exits.USAGE, "")
    assert err.count("\n") == 1


def test_the_spec_tools_print_their_failure_as_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.txt"
    code, out, err = run(
        ["docs-diff", str(missing), "--spec", "specs/imini.yaml", "--json"], capsys
    )
    assert code == exits.USAGE
    error = one_json(out)["error"]
    assert (error["type"], error["exit_code"]) == ("FileNotFoundError", exits.USAGE)
    assert error["message"] == err.strip()
    assert error["message"].startswith(f"cannot read {missing}")
    code, out, _ = run(["spec-diff", "a.yaml", "b.yaml", "--fail-on", "nope", "--json"], capsys)
    assert code == exits.USAGE
    assert one_json(out)["error"]["message"].startswith("--fail-on 'nope': use one of breaking")


VALID = {  # a body each gateway takes (batch validates its lines before it builds a client)
    "imini": {"model": MODEL, "prompt": "p"},
    "apimart": {
        "model": "happyhorse-1.0",
        "prompt": "p",
        "duration": specvalues.prop("apimart", "happyhorse-1.0", "duration")["minimum"],
    },
}


@pytest.mark.parametrize("gateway", ["imini", "apimart"])
@pytest.mark.parametrize(
    "command",
    [["generate", "--model", MODEL, "--prompt", "p"], ["status"], ["wait"], ["download"], []],
    ids=["generate", "status", "wait", "download", "batch"],
)
def test_every_command_with_a_client_says_how_to_give_the_key_the_cli_way(
    command: list[str],
    gateway: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from vidgate.gateways import gateway as entry

    if not command:
        jobs = tmp_path / "jobs.jsonl"
        jobs.write_text(json.dumps(VALID[gateway]) + "\n")
        command = ["batch", str(jobs), "--out", str(tmp_path / "out")]
    elif command != ["generate", "--model", MODEL, "--prompt", "p"]:
        command = [*command, "task_9"]
    elif gateway == "apimart":
        command = ["generate", "--set", f"duration={VALID['apimart']['duration']}"]
        command += ["--model", "happyhorse-1.0", "--prompt", "p"]
    line = f"no API key for {gateway}: set {entry(gateway).env_key}"
    with respx.mock(assert_all_mocked=True):  # nothing is sent
        code, out, err = run([*command, "-g", gateway], capsys)
        assert (code, out, err) == (exits.USAGE, "", line + "\n")
        code, out, err = run([*command, "-g", gateway, "--json"], capsys)
    assert (code, err) == (exits.USAGE, line + "\n")
    error = one_json(out)["error"]
    assert (error["type"], error["message"], error["exit_code"]) == (
        "ConfigurationError",
        line,
        exits.USAGE,
    )


@pytest.mark.usefixtures("keyed")
def test_invalid_batch_lines_are_one_line_that_says_where_to_see_them_all(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    limit = int(specvalues.prop("imini", MODEL, "duration")["maximum"])
    bad = json.dumps({"model": MODEL, "prompt": "p", "duration": limit + 1})
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text("\n".join([json.dumps(VALID["imini"]), bad, "{not json", bad]) + "\n")
    out_dir = ["--out", str(tmp_path / "out")]
    with respx.mock(assert_all_mocked=True):  # nothing is sent
        code, out, err = run(["batch", str(jobs), *out_dir], capsys)
    assert (code, out) == (exits.USAGE, "")  # line 3 is not even JSON
    (line,) = err.splitlines()
    head = "3 invalid line(s); nothing was sent (fix them, or pass --skip-invalid): line 2: "
    assert line.startswith(head + f"duration: must be at most {limit}"), line
    assert "; line 3: not usable JSON: " in line
    assert "; line 4: duration: " in line
    assert "more" not in line
    jobs.write_text("\n".join([bad] * 99) + "\n")  # invalid, not unreadable: 1
    with respx.mock(assert_all_mocked=True):
        code, out, err = run(["batch", str(jobs), *out_dir], capsys)
    assert (code, out) == (exits.FAILED, "")
    (line,) = err.splitlines()
    assert line.startswith("99 invalid line(s); nothing was sent (fix them, or pass --skip-inv")
    assert len(line) < MAX_LINE + 80
    shown = line.count("; line ") + 1
    assert 1 < shown < 99
    assert line.endswith(f"; and {99 - shown} more (--json lists them all)")
    with respx.mock(assert_all_mocked=True):
        code, out, err = run(["batch", str(jobs), *out_dir, "--json"], capsys)
    assert code == exits.FAILED
    error = one_json(out)["error"]
    assert (error["type"], error["exit_code"], error["message"]) == (
        "BatchInvalidError",
        exits.FAILED,
        err.strip(),
    )
    assert [p["line"] for p in error["problems"]] == list(range(1, 100))
    assert error["problems"][0]["message"].startswith(f"duration: must be at most {limit}")
