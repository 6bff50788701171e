"""Every failure typed, bounded and redacted: the unit-level half of issue 11's findings (the
hostile-server half is tests/test_hostile.py, the journal half tests/test_journal.py)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vidgate import errors, exits
from vidgate._files import NAME_CAP, safe_name
from vidgate.batch import BatchOptions, run_batch
from vidgate.batch.journal import Journal
from vidgate.cli import main
from vidgate.mock import MockGateway
from vidgate.redact import redact, register_secret

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from hostile_server import KEY, KEY_FORMS, Scenario, Server, echo_key

IMINI = {"model": "kling/kling-v3", "duration": 3}


async def _no_sleep(seconds: float) -> None:
    return None


# ---------------------------------------------------------------------------- file names
@given(st.text(max_size=300))
def test_names_from_ids_are_safe(task_id: str) -> None:
    name = safe_name(task_id)
    assert 0 < len(name) <= NAME_CAP
    assert not name.startswith((".", "-", "_"))
    assert set(name) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
    assert name not in (".", "..")


@given(st.text(max_size=50), st.text(max_size=50))
def test_different_ids_never_share_a_name(a: str, b: str) -> None:
    if a != b:
        assert safe_name(a) != safe_name(b)


# ---------------------------------------------------------------------------- Python API
@pytest.mark.parametrize(
    "value",
    [b"bytes", {1, 2}, float("nan"), "\ud800", object()],
    ids=["bytes", "set", "nan", "lone surrogate", "object"],
)
def test_values_that_are_not_json_are_request_validation_errors(value: Any) -> None:
    with MockGateway() as mock:
        client = mock.client("imini", sleep=lambda s: None)
        with pytest.raises(errors.RequestValidationError, match="prompt"):
            client.generate({**IMINI, "prompt": value})
        odd: dict[Any, Any] = {**IMINI, "prompt": "x", 3: "three"}
        with pytest.raises(errors.RequestValidationError, match="not a string"):
            client.generate(odd)
        assert len(mock.ledger) == 0


def test_keys_with_whitespace_or_control_characters_are_refused_unquoted() -> None:
    from vidgate.client import Imini

    for bad in ("sk-abc\n", "sk abc", "sk-\x00abc"):
        with pytest.raises(errors.ConfigurationError) as info:
            Imini(api_key=bad)
        assert bad.strip() not in str(info.value)


def test_base_urls_must_be_http() -> None:
    from vidgate.client import Imini

    for bad in ("file:///tmp", "ftp://example.com", "http://[::1", "example.com"):
        with pytest.raises(errors.ConfigurationError, match="http"):
            Imini(api_key="sk-x", base_url=bad)


def test_a_key_echo_is_redacted_everywhere() -> None:
    register_secret(KEY)
    text = " ".join(f"Bearer {form}" for form in KEY_FORMS) + " token=" + KEY
    assert all(form not in redact(text) for form in KEY_FORMS)
    from vidgate.client import Imini

    with Server() as server:
        prefix, _ = server.add(Scenario("echo", [], set(), task=echo_key(400, True)), Path())
        client = Imini(api_key=KEY, base_url=f"{server.base}/{prefix}/imini")
        with pytest.raises(errors.BadRequestError) as info:
            client.get("t1")
        client.close()
    exc = info.value
    dumped = json.dumps(exc.body) + str(exc) + repr(exc) + exc.message
    assert all(form not in dumped for form in KEY_FORMS)


# ---------------------------------------------------------------------------- batch
def test_a_malformed_submit_reply_is_one_unknown_job_and_the_others_go_on(
    tmp_path: Path,
) -> None:
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text("\n".join(json.dumps({**IMINI, "prompt": f"p{i}"}) for i in range(4)))
    with MockGateway() as mock:
        mock.faults.script("submit", "malformed")

        async def go() -> dict[str, int]:
            client = mock.async_client("imini", sleep=_no_sleep)
            try:
                options = BatchOptions("imini", tmp_path / "out", rate=0, client=client)
                return await run_batch(jobs, options)
            finally:
                await client.aclose()

        assert asyncio.run(go()) == {"downloaded": 3, "unknown": 1}
    journal = Journal(tmp_path / "out")
    (unknown,) = journal.jobs("unknown")
    journal.close()
    assert unknown.error is not None
    assert unknown.error.startswith("MalformedResponseError: ")


def test_the_mock_answers_hostile_bodies_with_400(tmp_path: Path) -> None:
    with MockGateway() as mock:
        client = httpx.Client(transport=mock.transport(), base_url=mock.base_url("imini"))
        headers = {"Authorization": f"Bearer {mock.api_key}", "Content-Type": "application/json"}
        for body in (b"[" * 100000, b'{"duration": ' + b"9" * 5000 + b"}", b"[1]", b"\xff"):
            reply = client.post("/v1/videos/generate", content=body, headers=headers)
            assert reply.status_code == 400, body[:20]
        client.close()


# ---------------------------------------------------------------------------- Ctrl-C
def test_ctrl_c_in_wait_prints_the_resume_hint(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from vidgate.client import SyncClient

    def interrupted(self: Any, task_id: str, **kw: Any) -> Any:
        raise errors.WaitInterrupted(task_id)

    monkeypatch.setenv("IMINI_API_KEY", "sk-x")
    monkeypatch.setattr(SyncClient, "wait", interrupted)
    with pytest.raises(SystemExit) as done:
        main(["wait", "task-7"])
    assert done.value.code == exits.INTERRUPTED
    assert "resume with: vidgate wait task-7" in capsys.readouterr().err


def test_ctrl_c_in_batch_prints_the_resume_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import vidgate.batch

    async def interrupted(*args: Any, **kw: Any) -> Any:
        raise KeyboardInterrupt

    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(json.dumps({**IMINI, "prompt": "x"}))
    monkeypatch.setenv("IMINI_API_KEY", "sk-x")
    monkeypatch.setattr(vidgate.batch, "run_batch", interrupted)
    with pytest.raises(SystemExit) as done:
        main(["batch", str(jobs), "--out", str(tmp_path / "out")])
    assert done.value.code == exits.INTERRUPTED
    assert "run the same command again" in capsys.readouterr().err


def test_an_unexpected_error_is_one_line_with_its_code_and_a_traceback_only_on_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import vidgate.cli

    def broken(name: str) -> Any:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(vidgate.cli, "validator", broken)
    body = tmp_path / "body.json"
    body.write_text(json.dumps({**IMINI, "prompt": "x"}))
    for debug, traceback in (("", False), ("1", True)):
        monkeypatch.setenv("VIDGATE_DEBUG", debug)
        with pytest.raises(SystemExit) as done:
            main(["validate", str(body)])
        assert done.value.code == exits.INTERNAL
        err = capsys.readouterr().err
        assert "internal error (ZeroDivisionError: a bug)" in err
        assert ("Traceback" in err) is traceback


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("postgresql://ops:pw-1@db:5432/v?x=1 holds", "postgresql://ops:***@db:5432/v?x=1 holds"),
        ("postgresql://ops:Wr@ng-pw@db/v", "postgresql://ops:***@db/v"),  # "@" not encoded
        ("mysql://u:p@h/d", "mysql://u:***@h/d"),
        ("host=db password=pw-1 port=5", "host=db password=*** port=5"),
        ("password='p w' x", "password=*** x"),
        ("https://cdn.example/a.mp4 and http://h:8080/x", None),  # no password: unchanged
        ("postgresql://ops@db/v", None),
    ],
)
def test_url_passwords_are_redacted(text: str, shown: str | None) -> None:
    assert redact(text) == (text if shown is None else shown)


@pytest.mark.parametrize("port", ["0", "65536", "99999"])
def test_a_base_url_with_an_impossible_port_is_refused_at_once(port: str) -> None:
    """(It reached the socket before, as an OverflowError inside an ExceptionGroup: exit 70.)"""
    from vidgate import Apimart

    with pytest.raises(errors.ConfigurationError, match=f"port {port} is not 1-65535"):
        Apimart(api_key="sk-x", base_url=f"http://127.0.0.1:{port}/apimart")
