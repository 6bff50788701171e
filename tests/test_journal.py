"""One batch per journal: the lock, compare-and-set transitions, the multi-process race, and the
journal's own faults (corrupt file, read-only folder, full disk) as typed errors."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from vidgate import errors, exits
from vidgate.batch import BatchOptions, run_batch
from vidgate.batch.journal import TRANSITIONS, Journal
from vidgate.batch.journal import sqlite as journal_sqlite
from vidgate.cli import main
from vidgate.mock import DEFAULT_KEY, MockGateway

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import hostile

IMINI = {"model": "kling/kling-v3", "duration": 3}
APIMART = {"model": "happyhorse-1.0", "duration": 3}


async def _no_sleep(seconds: float) -> None:
    return None


def _jobs(folder: Path, bodies: list[Any], name: str = "jobs.jsonl") -> Path:
    path = folder / name
    path.write_text("\n".join(json.dumps(b) for b in bodies))
    return path


def _run(mock: MockGateway, jobs: Path, out: Path, gateway: str = "apimart") -> dict[str, int]:
    async def go() -> dict[str, int]:
        client = mock.async_client(gateway, sleep=_no_sleep)
        try:
            options = BatchOptions(gateway, out, rate=0, client=client, sleep=_no_sleep)
            return await run_batch(jobs, options)
        finally:
            await client.aclose()

    return asyncio.run(go())


# ---------------------------------------------------------------------------- the lock
def test_a_second_run_refuses_at_once_naming_the_holder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APIMART_API_KEY", DEFAULT_KEY)
    out = tmp_path / "out"
    jobs = _jobs(tmp_path, [{**APIMART, "prompt": "one"}])
    holder = Journal(out)
    holder.lock()
    try:
        with MockGateway() as mock:
            with pytest.raises(errors.JournalBusyError) as info:
                _run(mock, jobs, out)
            assert len(mock.ledger) == 0
        assert info.value.holder["pid"] == os.getpid()
        assert info.value.holder["host"] == socket.gethostname()
        message = str(info.value)
        assert f"pid {os.getpid()}" in message
        assert "since 20" in message
        with pytest.raises(SystemExit) as done:
            main(["batch", str(jobs), "--gateway", "apimart", "--out", str(out)])
        assert done.value.code == exits.LOCAL
        assert f"pid {os.getpid()}" in capsys.readouterr().err
    finally:
        holder.close()
    with MockGateway() as mock:  # released: the next run goes ahead
        assert _run(mock, jobs, out) == {"downloaded": 1}


def test_a_killed_holder_does_not_block_the_next_run(tmp_path: Path) -> None:
    out = tmp_path / "out"
    script = (
        "import sys,time; from pathlib import Path; from vidgate.batch.journal import Journal\n"
    )
    script += (
        "j = Journal(Path(sys.argv[1])); j.lock(); print('locked', flush=True); time.sleep(60)"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script, str(out)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "locked"
        with pytest.raises(errors.JournalBusyError, match=f"pid {process.pid}"):
            Journal(out).lock()
    finally:
        process.kill()
        process.communicate()
    journal = Journal(out)
    journal.lock()  # the OS released the dead process's lock
    try:  # and the holder named now is the live one, not the one the dead process left beside it
        with pytest.raises(errors.JournalBusyError, match=f"pid {os.getpid()},"):
            Journal(out).lock()
    finally:
        journal.close()
    assert not (out / Journal.HOLDER).exists()  # a run that ends takes its name away


# ---------------------------------------------------------------------------- compare-and-set
def test_transitions_are_compare_and_set(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.add(1, {"prompt": "x"})
    assert journal.start_submit(1)
    assert not journal.start_submit(1)  # only from pending: a second claim fails
    assert not journal.set(1, "downloaded")  # not from submitting
    assert journal.set(1, "submitted", task_id="t1")
    assert journal.set(1, "downloaded", file="f", sha256="0")
    assert not journal.retry(1)  # only failed jobs are retried
    assert [j.state for j in journal.jobs()] == ["downloaded"]
    for state, sources in TRANSITIONS.items():
        assert state not in ("invalid", "downloaded") or sources == ("submitted",)
    journal.close()


@pytest.mark.contract
def test_racing_processes_never_submit_a_job_twice(tmp_path: Path) -> None:
    figures = hostile.race(tmp_path, jobs=30, processes=4)
    assert figures["duplicates"] == 0, figures
    assert figures["submitted"] == 30, figures
    assert figures["tracebacks"] == 0, figures["stderr"]
    assert figures["exit_codes"] == [0, 0, 0, 0], figures["stderr"]
    assert figures["states"] == {"downloaded": 30}


# ---------------------------------------------------------------------------- journal faults
def test_a_garbage_journal_is_a_typed_error(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / Journal.NAME).write_bytes(b"this is not a database at all, just bytes" * 100)
    with pytest.raises(errors.JournalError, match="damaged"):
        Journal(out)


def test_a_truncated_journal_is_a_typed_error(tmp_path: Path) -> None:
    out = tmp_path / "out"
    journal = Journal(out)
    for line in range(1, 200):
        journal.add(line, {"prompt": "x" * 200})
    journal.close()
    data = (out / Journal.NAME).read_bytes()
    (out / Journal.NAME).write_bytes(data[: len(data) // 3])
    for name in (Journal.NAME + "-wal", Journal.NAME + "-shm"):
        (out / name).unlink(missing_ok=True)

    def reopen() -> None:
        journal = Journal(out)
        list(journal.jobs())

    with pytest.raises(errors.JournalError):
        reopen()


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_a_read_only_folder_is_a_typed_error(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(errors.JournalError, match="writable"):
            Journal(folder)
    finally:
        folder.chmod(0o700)


def test_a_read_only_journal_is_a_typed_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same as root (who ignores permissions): SQLite's own read-only refusal."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise sqlite3.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(sqlite3, "connect", refuse)
    with pytest.raises(errors.JournalError, match="must be writable"):
        Journal(tmp_path)


def test_a_full_disk_stops_the_batch_and_never_makes_unsent_jobs_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The journal fails to write after a few jobs: nothing more is sent, the error is typed,
    and every job that was not sent is still pending on the next run."""
    out = tmp_path / "out"
    jobs = _jobs(tmp_path, [{**IMINI, "prompt": f"disk {i}"} for i in range(12)])
    real = Journal.start_submit
    calls = {"n": 0}

    def flaky(self: Journal, line: int, *claim: Any) -> bool:
        calls["n"] += 1
        if calls["n"] > 4:
            with journal_sqlite._faults("write to it", self.path):
                raise sqlite3.OperationalError("database or disk is full")
        return real(self, line, *claim)

    monkeypatch.setattr(Journal, "start_submit", flaky)
    with MockGateway() as mock:
        with pytest.raises(errors.JournalError, match="free some disk space"):
            _run(mock, jobs, out, "imini")
        sent = len(mock.ledger)
        monkeypatch.setattr(Journal, "start_submit", real)
        journal = Journal(out)
        counts = journal.counts()
        journal.close()
        assert sent == 4
        assert "unknown" not in counts
        assert "submitting" not in counts
        assert counts.get("pending") == 8
        assert _run(mock, jobs, out, "imini") == {"downloaded": 12}
        assert len(mock.ledger) == 12
