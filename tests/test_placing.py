"""A batch killed between recording a video as downloaded and moving it into place: the next
run places the complete ``.part`` (or downloads the video again when it is gone), submits
nothing twice and never leaves two files for one job. On both journal backends."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from vidgate import _files
from vidgate.batch import BatchOptions, run_batch
from vidgate.batch.journal import Job, open_journal
from vidgate.mock import DEFAULT_KEY, MockGateway, State, Timing, media

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import crash

APIMART = {"model": "happyhorse-1.0", "duration": 3}

# the batch CLI with the move into place turned into a SIGKILL (the .part is complete and the
# journal already says downloaded); the download's own move into the .part is left alone
KILLED_AT_PLACE = """
import os, signal, sys
from vidgate import _files
from vidgate.cli import main
real = _files.place
def place(part, path, overwrite):
    if path.suffix == ".mp4":
        os.kill(os.getpid(), signal.SIGKILL)
    return real(part, path, overwrite)
_files.place = place
sys.exit(main(sys.argv[1:]))
"""


def _batch(script: str | None, jobs: Path, out: Path, port: int, url: str | None) -> int:
    command = [sys.executable, "-c", script] if script else [sys.executable, "-m", "vidgate"]
    command += ["batch", str(jobs), "--gateway", "apimart", "--out", str(out), "--rate", "0"]
    command += ["--base-url", f"http://127.0.0.1:{port}/apimart"]
    command += ["--journal", url] if url else []
    env = {**os.environ, "APIMART_API_KEY": DEFAULT_KEY, "VIDGATE_LOG": ""}
    done = subprocess.run(command, env=env, capture_output=True, timeout=120, check=False)
    return done.returncode


def _job(url: str | None, out: Path) -> Job:
    journal = open_journal(url, out, create=False)
    try:
        job = journal.job(1)
    finally:
        journal.close()
    assert job is not None
    return job


def _killed_at_place(tmp_path: Path, url: str | None) -> tuple[Any, int, State, Path, Path]:
    state = State(Timing(queue_s=0.0, run_s=0.0))
    server, port = crash._server(state)
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(json.dumps({**APIMART, "prompt": "killed while placing"}))
    out = tmp_path / "out"
    assert _batch(KILLED_AT_PLACE, jobs, out, port, url) == -signal.SIGKILL
    job = _job(url, out)  # the state the kill left: recorded, not placed
    assert job.state == "downloaded"
    assert job.file == str((out / "000001.mp4").resolve())
    assert not (out / "000001.mp4").exists()
    assert len(list(out.glob(".*.part"))) == 1
    return server, port, state, jobs, out


def _files_of_line(out: Path) -> list[str]:
    return sorted(p.name for p in out.glob("000001*"))


def test_a_kill_between_record_and_move_loses_no_video(
    tmp_path: Path, journal_url: str | None
) -> None:
    server, port, state, jobs, out = _killed_at_place(tmp_path, journal_url)
    try:
        assert _batch(None, jobs, out, port, journal_url) == 0
    finally:
        server.should_exit = True
    job = _job(journal_url, out)
    video = out / "000001.mp4"
    assert job.state == "downloaded"
    assert job.file == str(video.resolve())
    assert video.read_bytes() == media.video()
    assert job.sha256 == hashlib.sha256(video.read_bytes()).hexdigest()
    assert job.size == video.stat().st_size
    assert _files_of_line(out) == ["000001.mp4"]  # one file for the line
    assert len(state.ledger) == 1  # submitted once
    assert [route for _, route in state.requests].count("file") == 1  # the .part was used
    assert not list(out.glob(".*.part"))


def test_a_kill_between_record_and_move_without_the_part_downloads_again(
    tmp_path: Path, journal_url: str | None
) -> None:
    server, port, state, jobs, out = _killed_at_place(tmp_path, journal_url)
    for part in out.glob(".*.part"):  # gone (cleaned up by hand, another disk)
        part.unlink()
    try:
        assert _batch(None, jobs, out, port, journal_url) == 0
    finally:
        server.should_exit = True
    job = _job(journal_url, out)
    video = out / "000001.mp4"
    assert job.state == "downloaded"
    assert job.file == str(video.resolve())
    assert job.sha256 == hashlib.sha256(video.read_bytes()).hexdigest()
    assert video.read_bytes() == media.video()
    assert _files_of_line(out) == ["000001.mp4"]
    assert len(state.ledger) == 1  # polled and downloaded again, not resubmitted
    assert [route for _, route in state.requests].count("file") == 2


async def _no_sleep(seconds: float) -> None:
    return None


def _run(mock: MockGateway, jobs: Path, out: Path, url: str | None) -> dict[str, int]:
    async def go() -> dict[str, int]:
        client = mock.async_client("apimart", sleep=_no_sleep)
        try:
            options = BatchOptions("apimart", out, rate=0, client=client, journal=url)
            return await run_batch(jobs, options)
        finally:
            await client.aclose()

    return asyncio.run(go())


def test_a_recorded_file_that_changed_is_kept_and_the_video_downloaded_anew(
    tmp_path: Path, journal_url: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    """The file at the recorded path is not the recorded video (replaced, damaged): it is left
    as it is, reported, and the video is downloaded again into the line's next free name."""
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(json.dumps({**APIMART, "prompt": "changed since"}))
    out = tmp_path / "out"
    with MockGateway() as mock:
        assert _run(mock, jobs, out, journal_url) == {"downloaded": 1}
        (out / "000001.mp4").write_bytes(b"the user's own file")
        assert _run(mock, jobs, out, journal_url) == {"downloaded": 1}
        assert len(mock.ledger) == 1
    assert (out / "000001.mp4").read_bytes() == b"the user's own file"
    job = _job(journal_url, out)
    assert job.file == str((out / "000001-2.mp4").resolve())
    assert (out / "000001-2.mp4").read_bytes() == media.video()
    assert job.error is not None
    assert "000001.mp4 is not the video recorded" in job.error
    assert "line 1:" in caplog.text
    assert "its size differs" in caplog.text


def test_a_worker_paused_between_record_and_move_places_no_second_file(
    tmp_path: Path, journal_url: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run placed the .part of a worker that was only paused after its record: when that
    worker wakes, its move finds the file there and it neither undoes the job nor re-downloads
    it (one file for the line)."""
    from vidgate.batch import placing

    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(json.dumps({**APIMART, "prompt": "paused while placing"}))
    out = tmp_path / "out"
    woke: list[int] = []
    with MockGateway() as mock:
        real = _files.place

        def place(part: Path, path: Path, overwrite: bool) -> None:
            if path.suffix == ".mp4" and not woke:  # paused here; another run mends the row
                woke.append(1)
                journal = open_journal(journal_url, out)
                try:
                    assert placing.recover(journal, out, "another run") == {1: "placed"}
                finally:
                    journal.close()
            real(part, path, overwrite)

        monkeypatch.setattr(_files, "place", place)
        assert _run(mock, jobs, out, journal_url) == {"downloaded": 1}
        assert len(mock.ledger) == 1
        assert [route for _, route in mock.state.requests].count("file") == 1
    job = _job(journal_url, out)
    assert (job.state, job.worker) == ("downloaded", "another run")
    assert _files_of_line(out) == ["000001.mp4"]
    assert (out / "000001.mp4").read_bytes() == media.video()
