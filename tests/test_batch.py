"""Batch runs: validated up front, journaled, resumable, never submitting a job twice.

The tests taking ``journal_url`` run on both journal backends: SQLite in the output folder, and
PostgreSQL (a throwaway server, one schema per test)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
import specvalues

from vidgate import errors, exits
from vidgate.batch import BatchInvalidError, BatchOptions, batch_gateway, run_batch
from vidgate.batch.journal import open_journal
from vidgate.cli import main
from vidgate.errors import InputError
from vidgate.mock import MockGateway, Timing, media

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import crash
import soak
from conftest import schema_url

DURATION = specvalues.prop("apimart", "happyhorse-1.0", "duration")
APIMART = {"model": "happyhorse-1.0", "duration": DURATION["minimum"]}


async def _no_sleep(seconds: float) -> None:
    return None


def _jobs(tmp_path: Path, lines: list[Any]) -> Path:
    path = tmp_path / "jobs.jsonl"
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines))
    return path


def _run(
    mock: MockGateway, jobs: Path, out: Path, gateway: str = "apimart", **kw: Any
) -> dict[str, int]:
    async def go() -> dict[str, int]:
        client = mock.async_client(gateway, sleep=_no_sleep)
        try:
            return await run_batch(
                jobs,
                BatchOptions(gateway, out, rate=0, client=client, sleep=_no_sleep, **kw),
            )
        finally:
            await client.aclose()

    return asyncio.run(go())


def test_invalid_lines_stop_the_batch_before_anything_is_sent(
    tmp_path: Path, journal_url: str | None
) -> None:
    url = journal_url
    jobs = _jobs(
        tmp_path,
        [
            {**APIMART, "prompt": "ok"},
            {**APIMART, "prompt": "x", "duration": DURATION["maximum"] + 1},
            "{not json",
            {**APIMART, "prompt": "ok 2"},
        ],
    )
    with MockGateway() as mock:
        with pytest.raises(BatchInvalidError) as info:
            _run(mock, jobs, tmp_path / "out", journal=url)
        assert [n for n, _ in info.value.problems] == [2, 3]
        assert f"duration: must be at most {DURATION['maximum']}" in str(info.value)
        assert len(mock.ledger) == 0
        counts = _run(mock, jobs, tmp_path / "out", skip_invalid=True, journal=url)
        assert counts == {"downloaded": 2, "invalid": 2}


def test_running_again_resumes_and_never_resubmits(tmp_path: Path, journal_url: str | None) -> None:
    url = journal_url
    jobs = _jobs(tmp_path, [{**APIMART, "prompt": f"job {i}"} for i in range(5)])
    out = tmp_path / "out"
    with MockGateway() as mock:
        assert _run(mock, jobs, out, journal=url) == {"downloaded": 5}
        assert _run(mock, jobs, out, journal=url) == {"downloaded": 5}
        assert len(mock.ledger) == 5
        journal = open_journal(url, out)
        job = next(journal.jobs())
        assert (out / str(job.file)).read_bytes() == media.video()
        journal.set(
            job.line, "submitting", expect="downloaded"
        )  # a crash right after the submit was written
        journal.close()
        assert _run(mock, jobs, out, journal=url) == {"downloaded": 4, "unknown": 1}
        assert len(mock.ledger) == 5  # not resubmitted blindly
        assert _run(mock, jobs, out, resubmit_unknown=True, journal=url) == {"downloaded": 5}
        assert len(mock.ledger) == 5  # the idempotency key found the task it had created


def test_a_known_task_is_polled_not_resubmitted(tmp_path: Path, journal_url: str | None) -> None:
    url = journal_url
    jobs = _jobs(tmp_path, [{**APIMART, "prompt": "one"}])
    out = tmp_path / "out"
    with MockGateway() as mock:
        client = mock.client("apimart", sleep=lambda s: None)
        task_id = client.generate({**APIMART, "prompt": "one"}).id
        journal = open_journal(url, out)
        journal.set_meta("gateway", "apimart")
        journal.add(1, {**APIMART, "prompt": "one"})
        journal.set(1, "submitted", expect="pending", task_id=task_id)
        journal.close()
        assert _run(mock, jobs, out, journal=url) == {"downloaded": 1}
        assert len(mock.ledger) == 1


def test_failed_jobs_are_retried_only_when_asked(tmp_path: Path, journal_url: str | None) -> None:
    url = journal_url
    jobs = _jobs(tmp_path, [{**APIMART, "prompt": "fine"}, {**APIMART, "prompt": "x [mock:fail]"}])
    out = tmp_path / "out"
    with MockGateway() as mock:
        assert _run(mock, jobs, out, journal=url) == {"downloaded": 1, "failed": 1}
        assert _run(mock, jobs, out, journal=url) == {"downloaded": 1, "failed": 1}
        assert len(mock.ledger) == 2
        assert _run(mock, jobs, out, retry_failed=True, journal=url) == {
            "downloaded": 1,
            "failed": 1,
        }
        assert len(mock.ledger) == 3


def test_a_changed_jobs_file_is_refused(tmp_path: Path, journal_url: str | None) -> None:
    url = journal_url
    out = tmp_path / "out"
    with MockGateway() as mock:
        _run(mock, _jobs(tmp_path, [{**APIMART, "prompt": "a"}]), out, journal=url)
        with pytest.raises(InputError, match="changed since the batch"):
            _run(mock, _jobs(tmp_path, [{**APIMART, "prompt": "b"}]), out, journal=url)


@pytest.mark.parametrize("gateway", ["apimart", "imini"])
def test_soak_under_faults(tmp_path: Path, gateway: str) -> None:
    figures = asyncio.run(soak.soak(150, gateway, 0.2, tmp_path))
    assert figures["faults_total"] > 50
    assert figures["duplicate_submissions"] == 0
    assert figures["lost"] == 0
    assert figures["files_differing"] == 0
    if gateway == "apimart":  # the idempotency key makes every ambiguous submit safe to resend
        assert figures["states"] == {"downloaded": 150}


@pytest.mark.contract
def test_crash_and_resume(tmp_path: Path) -> None:
    figures = crash.crash(24, 3, "apimart", tmp_path, seed=3)
    # a resumed run may finish before its random kill moment: at least one kill, up to three
    assert 1 <= figures["kills_survived"] <= 3
    assert figures["states"] == {"downloaded": 24}
    assert figures["submitted"] == 24
    assert figures["duplicate_submissions"] == 0


def test_a_file_already_in_the_output_folder_is_never_replaced(
    tmp_path: Path, journal_url: str | None
) -> None:
    """A second batch into the same --out (the README's worker command, run again): the first
    batch's videos stay; the new one takes the next free name and the journal records it."""
    out = tmp_path / "out"
    out.mkdir()
    precious = out / "000001.mp4"
    precious.write_bytes(b"an earlier batch's video")
    with MockGateway() as mock:
        counts = _run(mock, _jobs(tmp_path, [{**APIMART, "prompt": "a"}]), out, journal=journal_url)
    assert counts == {"downloaded": 1}
    assert precious.read_bytes() == b"an earlier batch's video"
    journal = open_journal(journal_url, out)
    try:
        (job,) = journal.jobs()
    finally:
        journal.close()
    assert Path(str(job.file)) == (out / "000001-2.mp4").resolve()
    assert Path(str(job.file)).read_bytes() == media.video()


def test_a_dangling_link_in_the_output_folder_is_left_alone(
    tmp_path: Path, journal_url: str | None
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "000001.mp4").symlink_to(tmp_path / "nowhere")
    with MockGateway() as mock:
        counts = _run(mock, _jobs(tmp_path, [{**APIMART, "prompt": "l"}]), out, journal=journal_url)
    assert counts == {"downloaded": 1}
    assert (out / "000001.mp4").is_symlink()
    assert not (tmp_path / "nowhere").exists()
    assert (out / "000001-2.mp4").read_bytes() == media.video()


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ({"api_key": "sk-not-this-one"}, errors.AuthenticationError),
        ({"base_url": "http://127.0.0.1:9/apimart"}, errors.APIConnectionError),  # nobody there
    ],
    ids=["refused key", "gateway unreachable"],
)
def test_a_fault_that_is_not_the_jobs_stops_the_batch_and_leaves_them_pending(
    tmp_path: Path, journal_url: str | None, fault: dict[str, Any], error: type[Exception]
) -> None:
    """One misconfigured worker must not fail a shared batch job by job."""
    from vidgate.aio import AsyncApimart

    jobs = _jobs(tmp_path, [{**APIMART, "prompt": f"p{i}"} for i in range(4)])
    with MockGateway() as mock:
        settings: dict[str, Any] = {
            "api_key": mock.api_key,
            "base_url": mock.base_url("apimart"),
            "transport": mock.async_transport(),
            "sleep": _no_sleep,
            "max_retries": 0,
            **fault,
        }
        if "base_url" in fault:
            del settings["transport"]

        async def go() -> None:
            async with AsyncApimart(**settings) as client:
                options = BatchOptions(
                    "apimart", tmp_path / "out", rate=0, client=client, journal=journal_url,
                    concurrency=2,
                )  # fmt: skip
                await run_batch(jobs, options)

        with pytest.raises(error):
            asyncio.run(go())
        assert len(mock.ledger) == 0
    journal = open_journal(journal_url, tmp_path / "out")
    try:
        assert journal.counts() == {"pending": 4}
    finally:
        journal.close()


@pytest.mark.parametrize(
    "setting",
    [
        {"concurrency": 0},
        {"rate": -1.0},
        {"rate": float("nan")},
        {"lease": 0.0},
        {"lease": float("inf")},
        {"gateway_rps": -1.0},
        {"gateway_rps": float("nan")},
        {"gateway_rps": 1e-300},  # one request per 1e300 s: a hang, not a plan
        {"rate": 0.001},
        {"gateway_in_flight": -3},
        {"timeout": 0.0},
    ],
    ids=str,
)
def test_settings_that_cannot_work_are_refused_before_anything_is_opened(
    tmp_path: Path, setting: dict[str, Any]
) -> None:
    """The message names the BatchOptions field, as a library user set it; the CLI names its
    flag instead (VidgateError.worded)."""
    (name,) = setting
    options = BatchOptions("apimart", tmp_path / "out", **setting)
    with pytest.raises(errors.ConfigurationError, match=f"^{name} ") as info:
        asyncio.run(run_batch(_jobs(tmp_path, [APIMART]), options))
    assert not (tmp_path / "out").exists()
    assert "--" not in str(info.value)
    assert info.value.settings == (name,)
    flag = "--" + name.replace("_", "-")
    assert info.value.worded(lambda s: f"--{s.replace('_', '-')}").startswith(f"{flag} ")


def test_cli_refuses_a_negative_cap_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    jobs = _jobs(tmp_path, [APIMART])
    with pytest.raises(SystemExit) as done:
        main(["batch", str(jobs), "--out", str(tmp_path / "o"), "--gateway-in-flight", "-3"])
    assert done.value.code == exits.USAGE
    assert (
        capsys.readouterr().err.strip()
        == "--gateway-in-flight -3: must be 0 (no shared cap) or more"
    )


def test_a_full_disk_stops_the_batch_instead_of_failing_each_download(
    tmp_path: Path, journal_url: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vidgate import _files

    def full(self: Any, chunk: bytes, raw_bytes: int) -> None:
        raise errors.DiskError(f"cannot write {self.part}: No space left on device")

    monkeypatch.setattr(_files.FileSink, "write", full)
    jobs = _jobs(tmp_path, [{**APIMART, "prompt": f"d{i}"} for i in range(3)])
    with MockGateway() as mock, pytest.raises(errors.DiskError, match="No space left"):
        _run(mock, jobs, tmp_path / "out", journal=journal_url, concurrency=1)
    journal = open_journal(journal_url, tmp_path / "out")
    try:
        counts = journal.counts()
    finally:
        journal.close()
    assert counts == {"submitted": 1, "pending": 2}  # the next run downloads it, then the rest


def test_a_worker_that_cannot_write_its_folder_sends_nothing(
    tmp_path: Path, pg_server: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    url = schema_url(pg_server)
    monkeypatch.setenv("APIMART_API_KEY", "sk-mock")
    jobs = _jobs(tmp_path, [{**APIMART, "prompt": "w"}])
    with pytest.raises(SystemExit) as done:
        main(["batch", str(jobs), "--gateway", "apimart", "--journal", url, "--load"])
    assert done.value.code == 0
    with MockGateway() as mock, pytest.raises(SystemExit) as done:
        main(
            ["batch", "--worker", "--journal", url, "--out", "/proc/vidgate-cannot-write",
             "--base-url", mock.base_url("apimart")]
        )  # fmt: skip
    assert done.value.code == exits.LOCAL
    assert "cannot write to --out /proc/vidgate-cannot-write" in capsys.readouterr().err
    assert len(mock.ledger) == 0


def test_status_prints_the_journal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], journal_url: str | None
) -> None:
    url = journal_url
    out = tmp_path / "out"
    with MockGateway() as mock:
        _run(mock, _jobs(tmp_path, [{**APIMART, "prompt": "a"}]), out, journal=url)
    with pytest.raises(SystemExit) as done:
        main(["batch", "--status", url or str(out)])
    assert done.value.code == 0
    printed = capsys.readouterr().out
    assert "downloaded=1" in printed
    assert str(len(media.video())) in printed  # the file's size, next to its path and worker
    with pytest.raises(SystemExit) as done:
        main(["batch", "--status", url or str(out), "--json"])
    (job,) = json.loads(capsys.readouterr().out)["jobs"]
    assert job["sha256"] == hashlib.sha256(Path(job["file"]).read_bytes()).hexdigest()


def test_a_worker_is_given_no_jobs_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    jobs = _jobs(tmp_path, [APIMART])
    for extra in ([str(jobs)], ["--load"]):
        with pytest.raises(SystemExit) as done:
            main(["batch", "--worker", "--journal", "postgresql://h/db", *extra])
        assert done.value.code == exits.USAGE
        assert "give no JOBS and no --load" in capsys.readouterr().err
    for extra in ([str(jobs)], ["--load"], ["--worker"]):
        with pytest.raises(SystemExit) as done:
            main(["batch", "--status", str(tmp_path), *extra])
        assert done.value.code == exits.USAGE
        assert "--status only reads a journal" in capsys.readouterr().err


def test_cli_batch_runs_against_a_mock_server(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command itself, with its per-state and per-job progress, against a real socket."""
    from vidgate.mock import DEFAULT_KEY, State, Timing

    state = State(Timing())
    server, port = crash._server(state)
    try:
        monkeypatch.setenv("APIMART_API_KEY", DEFAULT_KEY)
        jobs = _jobs(tmp_path, [{**APIMART, "prompt": f"cli job {i}"} for i in range(4)])
        with pytest.raises(SystemExit) as done:
            main(
                [
                    "batch",
                    str(jobs),
                    "--gateway",
                    "apimart",
                    "--out",
                    str(tmp_path / "out"),
                    "--base-url",
                    f"http://127.0.0.1:{port}/apimart",
                    "--rate",
                    "0",
                ]
            )
        assert done.value.code == 0, capsys.readouterr()
        assert "downloaded=4" in capsys.readouterr().out
        assert len(state.ledger) == 4
        again = ["batch", str(jobs), "--out", str(tmp_path / "out"), "--base-url"]
        again.append(f"http://127.0.0.1:{port}/apimart")
        with pytest.raises(SystemExit) as done:  # resumed without --gateway: the journal's
            main(again)
        assert done.value.code == 0, capsys.readouterr()
        assert "downloaded=4" in capsys.readouterr().out
        with pytest.raises(SystemExit) as done:
            main([*again, "--gateway", "imini"])
        assert done.value.code == exits.USAGE
        assert "holds a batch for apimart" in capsys.readouterr().err
        assert len(state.ledger) == 4
    finally:
        server.should_exit = True


def test_sigterm_stops_a_batch_cleanly(tmp_path: Path) -> None:
    """docker stop, a spot instance reclaimed: the process hands its jobs back (no lease left,
    nothing unknown) and ends with one line and exit code 130, well before its tasks finish."""
    import signal
    import subprocess
    import time

    from vidgate.batch.journal import Journal
    from vidgate.mock import DEFAULT_KEY, State, Timing

    state = State(Timing(queue_s=600.0, run_s=600.0))
    server, port = crash._server(state)
    out = tmp_path / "out"
    jobs = _jobs(tmp_path, [{**APIMART, "prompt": f"term {i}"} for i in range(3)])
    command = [sys.executable, "-m", "vidgate", "batch", str(jobs), "--gateway", "apimart"]
    command += ["--out", str(out), "--base-url", f"http://127.0.0.1:{port}/apimart"]
    env = {**os.environ, "APIMART_API_KEY": DEFAULT_KEY}
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while len(state.ledger) < 3 or _counts(out) != {"submitted": 3}:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
        server.should_exit = True
    assert process.returncode == exits.INTERRUPTED, stderr
    assert stderr.decode().strip().splitlines()[-1].startswith("stopped (SIGTERM)")
    assert b"Traceback" not in stderr
    assert "submitted=3" in stdout.decode()
    journal = Journal(out, create=False)
    try:
        assert journal.counts() == {"submitted": 3}
        assert journal.open_jobs() == (3, None)
    finally:
        journal.close()
    assert len(state.ledger) == 3


def _counts(out: Path) -> dict[str, int]:
    from vidgate.batch.journal import Journal

    if not (out / Journal.NAME).is_file():
        return {}
    journal = Journal(out, create=False)
    try:
        return journal.counts()
    finally:
        journal.close()


def test_the_gateway_of_a_folder_without_a_journal_is_unknown_and_nothing_is_created(
    tmp_path: Path,
) -> None:
    assert batch_gateway(None, tmp_path / "none") is None
    assert not (tmp_path / "none").exists()


def test_resubmit_unknown_is_refused_on_a_gateway_without_idempotency(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """imini takes no idempotency key: a second submit of a job that may have reached it could
    be paid for twice, so --resubmit-unknown is refused before anything is opened or sent (the
    same rule then holds at start-up, on takeover and mid-run)."""
    from vidgate.gateways import gateway

    assert gateway("imini").idempotency_header is None
    jobs = _jobs(tmp_path, [{**APIMART, "prompt": "x"}])
    options = BatchOptions("imini", tmp_path / "out", resubmit_unknown=True)
    with pytest.raises(errors.ConfigurationError, match="imini takes no idempotency key"):
        asyncio.run(run_batch(jobs, options))
    assert not (tmp_path / "out").exists()
    monkeypatch.setenv("IMINI_API_KEY", "sk-mock")
    with pytest.raises(SystemExit) as done:
        main(
            ["batch", str(jobs), "-g", "imini", "--out", str(tmp_path / "o"), "--resubmit-unknown"]
        )
    printed = capsys.readouterr().err.strip()
    assert done.value.code == exits.USAGE
    assert len(printed.splitlines()) == 1
    assert "--resubmit-unknown: imini takes no idempotency key" in printed


def test_a_stop_ends_the_wait_for_the_rate_at_once(tmp_path: Path) -> None:
    """SIGTERM (BatchOptions.stop) while jobs wait for this process's --rate: they stay pending
    and nothing more is sent; the run ends within a second, not after the waits."""
    import time

    jobs = _jobs(tmp_path, [{**APIMART, "prompt": f"job {i}"} for i in range(3)])
    stop = asyncio.Event()
    stopped_at: list[float] = []

    def on_event(job: Any, counts: dict[str, int]) -> None:
        if counts.get("submitted") and not stop.is_set():
            stopped_at.append(time.monotonic())
            stop.set()

    with MockGateway(timing=Timing(queue_s=60, run_s=60)) as mock:

        async def go() -> dict[str, int]:
            client = mock.async_client("apimart")  # real sleeps: a poll is seconds away
            try:  # one submit per 10 s
                options = BatchOptions(
                    "apimart", tmp_path / "out", rate=0.1, client=client, stop=stop
                )
                return await run_batch(jobs, options, on_event)
            finally:
                await client.aclose()

        counts = asyncio.run(go())
        ended = time.monotonic()
    assert ended - stopped_at[0] < 1.0
    assert len(mock.ledger) == 1
    assert counts == {"submitted": 1, "pending": 2}
