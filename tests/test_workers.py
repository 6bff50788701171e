"""Batches shared by workers: claims, leases, take-over, one loader, one budget, and a worker
killed mid-run. On both journal backends where the behaviour is the same; on PostgreSQL (a
throwaway server) where it takes several workers."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from vidgate.aio import AsyncApimart
from vidgate.batch import BatchOptions, run_batch
from vidgate.batch.journal import JournalBackend, open_journal, safe_url
from vidgate.cli import main
from vidgate.errors import ConfigurationError, InputError, JournalError
from vidgate.mock import DEFAULT_KEY, MockGateway, State, Timing, media

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import scale
from conftest import schema_url
from test_cli import run

APIMART = {"model": "happyhorse-1.0", "duration": 3}


async def _no_sleep(seconds: float) -> None:
    return None


def _jobs(folder: Path, n: int, tag: str = "job") -> Path:
    path = folder / f"{tag}.jsonl"
    path.write_text("\n".join(json.dumps({**APIMART, "prompt": f"{tag} {i}"}) for i in range(n)))
    return path


def _load(jobs: Path, url: str, folder: Path, **kw: Any) -> dict[str, int]:
    options = BatchOptions("apimart", folder, rate=0, journal=url, load_only=True, **kw)
    return asyncio.run(run_batch(jobs, options))


async def _worker(
    mock: MockGateway, url: str | None, out: Path, paced: bool = False, **kw: Any
) -> dict[str, int]:
    """One worker joining the batch in ``url`` through the in-process mock (``paced``: the
    batch builds the client itself, pacing its requests at the journal's rate)."""
    if paced:
        kw.update(transport=mock.async_transport(), base_url=mock.base_url("apimart"))
        return await run_batch(None, BatchOptions("apimart", out, rate=0, journal=url, **kw))
    client = mock.async_client("apimart", sleep=_no_sleep)
    try:
        return await run_batch(
            None, BatchOptions("apimart", out, rate=0, journal=url, client=client, **kw)
        )
    finally:
        await client.aclose()


def _files_complete(journal: JournalBackend) -> bool:
    served = media.video()
    for job in journal.jobs("downloaded"):
        data = Path(str(job.file)).read_bytes()
        if data != served or job.size != len(served) or not job.worker:
            return False
    return True


# ---------------------------------------------------------------------------- both backends
def test_a_job_goes_to_submitting_only_once(tmp_path: Path, journal_url: str | None) -> None:
    """Two handles on one journal (two processes, two machines) race for the same job."""
    first, second = open_journal(journal_url, tmp_path), open_journal(journal_url, tmp_path)
    try:
        first.add_many([(1, {**APIMART, "prompt": "x"}, "pending", None)])
        assert [first.start_submit(1, "a", 30), second.start_submit(1, "b", 30)] == [True, False]
        assert not first.set(1, "downloaded")  # submitting -> downloaded is not a transition
        assert second.set(1, "submitted", task_id="t1")
        job = first.job(1)
        assert job is not None
        assert (job.state, job.task_id, job.attempts) == ("submitted", "t1", 1)
    finally:
        first.close()
        second.close()


def test_in_flight_slots_are_capped(tmp_path: Path, journal_url: str | None) -> None:
    journal = open_journal(journal_url, tmp_path)
    other = open_journal(journal_url, tmp_path)
    try:
        journal.add_many([(n, {"n": n}, "pending", None) for n in range(1, 5)])
        assert [journal.take_slot(1, 2), other.take_slot(2, 2), other.take_slot(3, 2)] == [
            True,
            True,
            False,
        ]
        assert journal.take_slot(2, 2)  # a job that holds a slot keeps it
        journal.free_slot(1)
        assert other.take_slot(3, 2)
        assert journal.start_submit(3, "w", 30)
        assert journal.set(3, "failed", error="refused")  # a finished job gives its slot back
        assert other.take_slot(4, 2)
    finally:
        journal.close()
        other.close()


def test_requests_are_spaced_at_the_rate(tmp_path: Path, journal_url: str | None) -> None:
    """Bookings from two handles interleave on one schedule (both backends keep one schedule
    per journal handle; PostgreSQL shares it between handles)."""
    journal = open_journal(journal_url, tmp_path)
    other = open_journal(journal_url, tmp_path) if journal.shared else journal
    try:
        waits = [(journal if n % 2 else other).reserve_request(20.0) for n in range(10)]
        assert waits[0] < 0.05
        assert 0.4 <= waits[-1] <= 0.5  # the tenth request waits nine intervals of 1/20 s
        assert all(b > a for a, b in itertools.pairwise(waits))
    finally:
        journal.close()
        if other is not journal:
            other.close()


# ---------------------------------------------------------------------------- PostgreSQL
def test_two_workers_share_one_batch(tmp_path: Path, pg_server: str) -> None:
    url = schema_url(pg_server)
    jobs = _jobs(tmp_path, 24)
    assert _load(jobs, url, tmp_path / "loader") == {"pending": 24}
    with MockGateway() as mock:

        async def both() -> list[dict[str, int]]:
            return list(
                await asyncio.gather(
                    _worker(mock, url, tmp_path / "a", concurrency=4),
                    _worker(mock, url, tmp_path / "b", concurrency=4),
                )
            )

        assert asyncio.run(both()) == [{"downloaded": 24}] * 2
        assert len(mock.ledger) == 24
        assert not mock.ledger.duplicates(lambda e: e.body["prompt"])
    journal = open_journal(url, tmp_path)
    try:
        assert _files_complete(journal)
        folders = {Path(str(job.file)).parent.name for job in journal.jobs()}
        assert folders == {"a", "b"}  # each worker wrote to its own --out
        assert len({job.worker for job in journal.jobs()}) == 2
    finally:
        journal.close()


def test_a_second_loader_does_not_load_twice(tmp_path: Path, pg_server: str) -> None:
    url = schema_url(pg_server)
    jobs = _jobs(tmp_path, 200)
    results: list[Any] = []

    def load() -> None:
        try:
            results.append(_load(jobs, url, tmp_path / "loader"))
        except Exception as exc:
            results.append(exc)

    threads = [threading.Thread(target=load) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [{"pending": 200}] * 3
    changed = tmp_path / "changed.jsonl"
    changed.write_text(jobs.read_text().replace('"job 7"', '"job seven"'))
    with pytest.raises(InputError, match="line 8 differs"):
        _load(changed, url, tmp_path / "loader")


def test_a_worker_needs_a_loaded_batch_and_creates_nothing(tmp_path: Path, pg_server: str) -> None:
    url = schema_url(pg_server)
    with MockGateway() as mock, pytest.raises(ConfigurationError, match="load one first"):
        asyncio.run(_worker(mock, url, tmp_path / "out"))
    with pytest.raises(InputError, match="no batch in"):  # still no tables
        open_journal(url, tmp_path, create=False)


def test_expired_leases_are_taken_over_and_nothing_is_sent_twice(
    tmp_path: Path, pg_server: str
) -> None:
    """A worker died holding three jobs: one mid-submit, one with a known task, one pending."""
    url = schema_url(pg_server)
    _load(_jobs(tmp_path, 6), url, tmp_path / "loader")
    with MockGateway() as mock:
        dead = open_journal(url, tmp_path)
        held = dead.claim("dead-worker", 3, 1.0)
        assert [job.line for job in held] == [1, 2, 3]
        client = mock.client("apimart", sleep=lambda s: None)
        task = client.generate(held[0].body, idempotency_key=held[0].idempotency_key)
        assert dead.start_submit(1, "dead-worker", 1.0)  # sent; the reply was never recorded
        assert dead.start_submit(2, "dead-worker", 1.0)
        assert dead.set(2, "submitted", task_id=client.generate(held[1].body).id)
        dead.close()
        live = open_journal(url, tmp_path)
        assert live.claim("live", 6, 30) == [j for j in live.jobs() if j.line > 3]  # 1-3 held
        for line in (4, 5, 6):
            live.release(line, "live")
        live.close()

        assert asyncio.run(_worker(mock, url, tmp_path / "w", lease=1.0)) == {
            "downloaded": 5,
            "unknown": 1,
        }
        assert len(mock.ledger) == 2 + 4  # line 1 not resent blindly, line 2 polled, not resent
        # apimart takes an idempotency key: resubmitting the unknown job finds its task
        counts = asyncio.run(_worker(mock, url, tmp_path / "w", resubmit_unknown=True))
        assert counts == {"downloaded": 6}
        assert len(mock.ledger) == 6
        assert {e.task_id for e in mock.ledger.entries if e.body["prompt"] == "job 0"} == {task.id}


@pytest.mark.parametrize("path", ["recover", "recover_expired"])
@pytest.mark.parametrize("how", ["died", "let go"])
def test_a_submit_nobody_holds_becomes_unknown(
    path: str, how: str, tmp_path: Path, pg_server: str
) -> None:
    """A worker died mid-submit (its lease runs out) or let go of the job mid-submit (Ctrl-C, an
    error: its lease is cleared). Found as a run starts (recover) or by a running worker
    (recover_expired): unknown, never claimable, so nobody sends it a second time, and the
    running workers do not wait for it forever."""
    url = schema_url(pg_server)
    _load(_jobs(tmp_path, 2), url, tmp_path / "loader")
    dead, other = open_journal(url, tmp_path), open_journal(url, tmp_path)

    def found() -> int:
        result = getattr(other, path)()
        return result if isinstance(result, int) else len(result)

    try:
        assert [job.line for job in dead.claim("dead", 1, 0.2)] == [1]
        assert dead.start_submit(1, "dead", 0.2)
        assert found() == 0  # its lease still runs
        if how == "died":
            time.sleep(0.3)
        else:
            dead.release(1, "dead")
        assert found() == 1
        job = other.job(1)
        assert job is not None
        assert job.state == "unknown"
        assert "before recording its reply" in (job.error or "")
        assert [job.line for job in other.claim("other", 5, 30)] == [2]
        assert not other.start_submit(1, "other", 30)
    finally:
        dead.close()
        other.close()


def test_a_live_submit_is_not_taken_over(tmp_path: Path, pg_server: str) -> None:
    url = schema_url(pg_server)
    _load(_jobs(tmp_path, 2), url, tmp_path / "loader")
    busy, other = open_journal(url, tmp_path), open_journal(url, tmp_path)
    try:
        busy.claim("busy", 1, 30)
        assert busy.start_submit(1, "busy", 30)
        assert other.recover() == 0
        assert other.recover_expired() == []
        assert [job.line for job in other.claim("other", 5, 30)] == [2]
        remaining, expiry = other.open_jobs([2])
        assert remaining == 1
        assert expiry is not None
        assert 25 < expiry <= 30
    finally:
        busy.close()
        other.close()


def test_workers_share_the_request_rate(
    tmp_path: Path, pg_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APIMART_API_KEY", "sk-mock")
    url = schema_url(pg_server)
    rps = 10.0
    _load(_jobs(tmp_path, 10), url, tmp_path / "loader", gateway_rps=rps)
    with MockGateway() as mock:

        async def both() -> list[dict[str, int]]:
            return list(
                await asyncio.gather(
                    _worker(mock, url, tmp_path / "a", paced=True, concurrency=8),
                    _worker(mock, url, tmp_path / "b", paced=True, concurrency=8),
                )
            )

        assert asyncio.run(both()) == [{"downloaded": 10}] * 2
        api = [t for t, route in mock.state.requests if route in ("submit", "task")]
    assert len(api) >= 20  # a submit and at least one poll per job
    assert scale._peak(api, 1.0) <= rps + 1  # one request may sit on each edge of the window


def test_workers_share_the_cap_on_tasks_in_flight(tmp_path: Path, pg_server: str) -> None:
    url = schema_url(pg_server)
    cap = 2
    _load(_jobs(tmp_path, 6), url, tmp_path / "loader", gateway_in_flight=cap)
    state = State(Timing(queue_s=0.1, run_s=0.4), max_in_flight=cap)
    with scale._mock(state) as base:

        async def worker(out: str) -> dict[str, int]:
            client = AsyncApimart(api_key="sk-mock", base_url=base)
            try:
                options = BatchOptions(
                    "apimart", tmp_path / out, rate=0, journal=url, client=client, concurrency=3
                )
                return await run_batch(None, options)
            finally:
                await client.aclose()

        async def both() -> list[dict[str, int]]:
            return list(await asyncio.gather(worker("a"), worker("b")))

        assert asyncio.run(both()) == [{"downloaded": 6}] * 2
    submits = sum(1 for _, route in state.requests if route == "submit")
    assert submits == len(state.ledger) == 6  # the gateway never had to refuse one
    assert scale._peak_in_flight(state) <= cap


@pytest.mark.contract
def test_workers_killed_mid_run_lose_nothing(tmp_path: Path, pg_server: str) -> None:
    """The small form of `make scale`'s kill test: worker processes on one journal, faults on,
    one SIGKILLed mid-run; the others take its jobs over."""
    figures = scale.kill_test(pg_server, tmp_path, jobs=24, workers=3, kills=1, lease=2.0)
    assert figures["killed"] == 1
    assert figures["survivor_exit_codes"] == [0, 0]
    assert figures["states"] == {"downloaded": 24}
    assert figures["lost"] == 0
    assert figures["duplicate_submissions"] == 0
    assert figures["submitted"] == 24
    assert figures["incomplete_files"] == 0


def test_cli_load_worker_and_status(
    tmp_path: Path,
    pg_server: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = schema_url(pg_server)
    monkeypatch.setenv("VIDGATE_JOURNAL_URL", url)
    monkeypatch.setenv("APIMART_API_KEY", "sk-mock")
    jobs = _jobs(tmp_path, 3)
    with pytest.raises(SystemExit) as done:
        main(["batch", str(jobs), "--gateway", "apimart", "--load"])
    assert done.value.code == 0
    assert "pending=3" in capsys.readouterr().out
    state = State(Timing())
    with scale._mock(state) as base, pytest.raises(SystemExit) as done:
        main(
            [
                "batch",
                "--worker",  # no --gateway: the journal's batch is an apimart one
                "--base-url",
                base,
                "--rate",
                "0",
                "--out",
                str(tmp_path / "w"),
            ]
        )
    assert done.value.code == 0, capsys.readouterr()
    assert "downloaded=3" in capsys.readouterr().out
    with pytest.raises(SystemExit) as done:
        main(["batch", "--status", url])
    assert done.value.code == 0
    printed = capsys.readouterr().out
    assert "downloaded=3" in printed
    assert str(len(media.video())) in printed


def test_a_stopped_worker_hands_its_jobs_back_at_once(
    tmp_path: Path, journal_url: str | None
) -> None:
    """BatchOptions.stop (the CLI sets it on SIGTERM): the jobs being polled are let go of at
    once, still submitted, with no lease and no partial file; the next run finishes them
    without submitting anything again."""
    jobs = _jobs(tmp_path, 6)
    with MockGateway(timing=Timing(queue_s=1.0, run_s=1.0)) as mock:
        stop = asyncio.Event()

        def on_event(job: Any, counts: dict[str, int]) -> None:
            if counts.get("submitted") == 6:
                stop.set()  # every submit recorded, every job now waiting for its task

        async def first() -> dict[str, int]:
            client = mock.async_client("apimart")  # real sleeps: the first poll is seconds away
            try:
                options = BatchOptions(
                    "apimart", tmp_path / "w1", rate=0, journal=journal_url, client=client,
                    stop=stop,
                )  # fmt: skip
                return await asyncio.wait_for(run_batch(jobs, options, on_event), 60)
            finally:
                await client.aclose()

        assert asyncio.run(first()) == {"submitted": 6}
        assert len(mock.ledger) == 6
        journal = open_journal(journal_url, tmp_path / "w1")
        try:
            assert journal.open_jobs() == (6, None)  # nobody holds them: free for others now
        finally:
            journal.close()
        assert not any((tmp_path / "w1").glob("*.part"))
        second = asyncio.run(_worker(mock, journal_url, tmp_path / "w1"))
        assert second == {"downloaded": 6}
        assert len(mock.ledger) == 6


SECRET = "S3cr3t-Pa55word"


def test_no_message_shows_the_journal_password(
    tmp_path: Path,
    pg_server: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The test server trusts every login, so a password in the URL is accepted and ignored."""
    monkeypatch.setenv("APIMART_API_KEY", "sk-mock")
    url = schema_url(pg_server).replace("vidgate@", f"vidgate:{SECRET}@")
    code, out, err = run(["batch", "--status", url], capsys)
    printed = out + err
    assert (code, SECRET in printed) == (2, False), printed
    assert "no batch in postgresql://vidgate:***@" in printed  # and it created no table
    _load(_jobs(tmp_path, 1), url, tmp_path / "loader")
    code, out, err = run(["batch", "--worker", "--journal", url, "--gateway", "imini"], capsys)
    printed = out + err
    assert (code, SECRET in printed) == (2, False), printed
    assert "holds a batch for apimart" in printed
    port = int(pg_server.rsplit(":", 1)[1].split("/")[0])
    for bad in (
        f"mysql://u:{SECRET}@db/videos",
        f"host=db password={SECRET}",
        f"postgresql://vidgate:Wr@ng{SECRET}@127.0.0.1:{port}/nosuchdb",  # "@" not encoded
        f"postgresql://vidgate:{SECRET}/x@127.0.0.1:{port}/postgres",  # "/" not encoded
        f"postgresql://vidgate:{SECRET}?x@127.0.0.1:{port}/postgres",
        f"postgresql://vidgate:{SECRET}#x@127.0.0.1:{port}/postgres",
        f"postgresql://vidgate:[{SECRET}@127.0.0.1:{port}/postgres",  # urlsplit: bad IPv6
        f"postgresql://vidgate:{SECRET} {SECRET}@127.0.0.1:{port}/postgres",  # a space
        f"postgresql://vidgate:{SECRET}%20x@127.0.0.1:{port}/postgres",  # encoded
        f"postgresql://vidgate:{SECRET}@127.0.0.1:{port}/nosuchdb",
    ):
        for args in (["--status", bad], ["--worker", "--journal", bad]):
            code, out, err = run(["batch", *args], capsys)
            printed = out + err
            assert code in (2, 5), printed
            assert SECRET not in printed, printed
            assert "Traceback" not in printed


# short pieces between unencoded delimiters: a driver splitting the URL would quote them alone
PIECES = ("Zq", "Xw", "Vb", "Kj", "Hg", "Fd", "Pm")
ODD = "Zq?Xw#Vb Kj/Hg[Fd@Pm"


def test_a_password_with_any_characters_never_shows(
    tmp_path: Path,
    pg_server: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The password is found by parsing the URL (to its last "@"), given whole to the driver
    as a keyword, and hidden in every form: nothing of it in any message, whether the URL
    comes from --journal, --status or VIDGATE_JOURNAL_URL, and whether the database answers or
    not."""
    from urllib.parse import quote

    monkeypatch.setenv("APIMART_API_KEY", "sk-mock")
    port = int(pg_server.rsplit(":", 1)[1].split("/")[0])
    good = schema_url(pg_server).replace("vidgate@", f"vidgate:{ODD}@")
    _load(_jobs(tmp_path, 1), good, tmp_path / "loader")  # the server trusts any password
    urls = [
        good,
        f"postgresql://vidgate:{ODD}@127.0.0.1:{port}/nosuchdb",
        f"postgresql://vidgate:{quote(ODD, safe='')}@127.0.0.1:{port}/nosuchdb",
        f"postgresql://vidgate:{ODD}@127.0.0.1:1/postgres",  # nothing listens there
    ]
    for url in urls:
        runs = [["--status", url], ["--worker", "--journal", url, "--gateway", "imini"]]
        for args in runs:
            code, out, err = run(["batch", *args], capsys)
            printed = out + err
            assert "Traceback" not in printed
            assert not [p for p in PIECES if p in printed], printed
        monkeypatch.setenv("VIDGATE_JOURNAL_URL", url)
        code, out, err = run(["batch", "--worker", "--out", str(tmp_path / "w")], capsys)
        monkeypatch.delenv("VIDGATE_JOURNAL_URL")
        assert not [p for p in PIECES if p in out + err], out + err
    code, out, err = run(["batch", "--status", good], capsys)
    assert code == 0
    assert "pending=1" in out


def test_a_database_that_stops_answering_is_cut_off(pg_server: str) -> None:
    """A frozen server (here its process for this connection, SIGSTOPped) must not block a
    worker forever: the call fails with JournalError once the limit has passed."""
    import os
    import signal

    from vidgate.batch.journal.pg import PgJournal

    journal = PgJournal(schema_url(pg_server), answer_within=1.0)
    row = journal.db.execute("SELECT pg_backend_pid()").fetchone()
    assert row is not None
    pid = row[0]
    os.kill(pid, signal.SIGSTOP)
    try:
        with pytest.raises(
            JournalError, match=r"cannot read it: no answer from the database in 1 s"
        ):
            journal.counts()
    finally:
        os.kill(pid, signal.SIGCONT)
        journal.close()


def test_a_worker_whose_database_freezes_stops_with_one_error(
    tmp_path: Path, pg_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Jobs being polled when the journal is cut off end with the batch, quietly: no task is
    left with an error nobody reads (asyncio would print one traceback per job at exit)."""
    import gc
    import logging
    import os
    import signal

    import psycopg

    from vidgate.batch.journal import pg as journal_pg

    monkeypatch.setattr(journal_pg, "ANSWER_WITHIN_S", 1.0)
    url = schema_url(pg_server)
    _load(_jobs(tmp_path, 3), url, tmp_path / "loader")
    unread: list[logging.LogRecord] = []

    class Unread(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            unread.append(record)

    handler = Unread()
    logging.getLogger("asyncio").addHandler(handler)
    stopped: list[int] = []
    with MockGateway(timing=Timing(queue_s=600.0, run_s=600.0)) as mock:
        watcher = psycopg.connect(pg_server, autocommit=True)

        def on_event(job: Any, counts: dict[str, int]) -> None:
            if counts.get("submitted") == 3 and not stopped:  # all three being polled: freeze
                rows = watcher.execute(
                    "SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend' "
                    "AND pid <> pg_backend_pid()"
                ).fetchall()
                for (pid,) in rows:
                    os.kill(pid, signal.SIGSTOP)
                    stopped.append(pid)

        async def go() -> None:
            client = mock.async_client("apimart")
            try:
                options = BatchOptions(
                    "apimart", tmp_path / "w", rate=0, journal=url, client=client, lease=3
                )
                await run_batch(None, options, on_event)
            finally:
                await client.aclose()

        try:
            with pytest.raises(JournalError, match="no answer from the database in 1 s"):
                asyncio.run(go())
            gc.collect()
        finally:
            for pid in stopped:
                os.kill(pid, signal.SIGCONT)
            watcher.close()
            logging.getLogger("asyncio").removeHandler(handler)
    assert stopped
    assert [r.getMessage() for r in unread] == []


def test_journal_urls_in_messages_hide_the_password() -> None:
    from vidgate.batch.dburl import connect_params

    assert safe_url("postgresql://ops:s3cret@db.internal:5433/videos?sslmode=require") == (
        "postgresql://ops:***@db.internal:5433/videos"
    )
    odd = f"postgresql://ops:{ODD}@db.internal:5433/videos?options=-csearch_path%3Db2"
    assert safe_url(odd) == "postgresql://ops:***@db.internal:5433/videos"
    assert connect_params(odd) == {
        "host": "db.internal",
        "port": "5433",
        "user": "ops",
        "password": ODD,
        "dbname": "videos",
        "options": "-csearch_path=b2",
    }
    assert connect_params("postgresql://u:p%20q@[::1]:5433,h2/db")["password"] == "p q"
    assert connect_params("postgresql://u:p%20q@[::1]:5433,h2/db")["host"] == "::1,h2"
    with pytest.raises(ConfigurationError, match="use a postgresql:// URL"):
        open_journal("mysql://db/videos", Path())


def test_a_request_woken_too_late_books_again() -> None:
    """A stalled process must not send the requests that waited together all at once."""
    from vidgate.batch.workers import Paced

    bookings: list[float] = []

    class Schedule:
        def reserve_request(self, per_second: float) -> float:
            bookings.append(per_second)
            return 0.01 if len(bookings) == 1 else 0.0

    async def stalled(seconds: float) -> None:
        await asyncio.sleep(seconds + 0.2)  # woke up 0.2 s late: four intervals at 20/s

    sent: list[httpx.Request] = []

    class Gateway(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            sent.append(request)
            return httpx.Response(200)

    paced = Paced(Gateway(), Schedule(), 20.0, stalled)
    request = httpx.Request("GET", "http://gw/v1/tasks/t", headers={"authorization": "Bearer k"})
    asyncio.run(paced.handle_async_request(request))
    assert bookings == [20.0, 20.0]
    assert (len(sent), paced.rebooked) == (1, 1)


def test_a_request_late_for_every_moment_goes_out_after_the_last_one() -> None:
    """A process starved for good still makes progress: at most MAX_REBOOKINGS moments are
    booked (and wasted) for one request."""
    from vidgate.batch.workers import MAX_REBOOKINGS, Paced

    bookings: list[float] = []

    class Schedule:
        def reserve_request(self, per_second: float) -> float:
            bookings.append(per_second)
            return 0.001

    async def stalled(seconds: float) -> None:
        await asyncio.sleep(seconds + 0.06)  # more than half an interval late at 20/s, always

    class Gateway(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            return httpx.Response(204)

    paced = Paced(Gateway(), Schedule(), 20.0, stalled)
    request = httpx.Request("GET", "http://gw/v1/tasks/t", headers={"authorization": "Bearer k"})
    reply = asyncio.run(paced.handle_async_request(request))
    assert reply.status_code == 204
    assert len(bookings) == MAX_REBOOKINGS
    assert paced.rebooked == MAX_REBOOKINGS - 1


def test_a_request_that_would_start_late_books_again_and_reaches_the_gateway_once() -> None:
    """Waking on time is not enough: a slow new connection (here 0.2 s, four intervals at 20/s)
    delays the first byte, and a request that would go out late books a new moment instead."""
    from vidgate.batch.workers import Paced

    bookings: list[float] = []
    stalls = [0.2]

    class Schedule:
        def reserve_request(self, per_second: float) -> float:
            bookings.append(per_second)
            return 0.0

    async def slow_first_connect(name: str, info: dict[str, object]) -> None:
        if name == "connection.connect_tcp.started" and stalls:
            await asyncio.sleep(stalls.pop())

    async def fetch(base: str) -> httpx.Response:
        paced = Paced(httpx.AsyncHTTPTransport(), Schedule(), 20.0, asyncio.sleep)
        async with httpx.AsyncClient(transport=paced) as client:
            reply = await client.get(
                f"{base}/v1/tasks/task_unknown",
                headers={"authorization": f"Bearer {DEFAULT_KEY}"},
                extensions={"trace": slow_first_connect},
            )
        assert paced.rebooked == 1
        return reply

    state = State(Timing())
    with scale._mock(state) as base:
        reply = asyncio.run(fetch(base))
    assert reply.status_code == 404
    assert bookings == [20.0, 20.0]
    assert [route for _, route in state.requests] == ["task"]


def test_a_journal_from_an_older_vidgate_gains_the_new_columns(tmp_path: Path) -> None:
    import sqlite3

    from vidgate.batch.journal import Journal

    old = sqlite3.connect(tmp_path / Journal.NAME)
    old.executescript(
        "CREATE TABLE jobs (line INTEGER PRIMARY KEY, body TEXT NOT NULL, idempotency_key TEXT "
        "NOT NULL, state TEXT NOT NULL, task_id TEXT, status TEXT, error TEXT, file TEXT, "
        "sha256 TEXT, attempts INTEGER NOT NULL DEFAULT 0, updated REAL NOT NULL);"
        "INSERT INTO jobs VALUES (1, '{}', 'k', 'downloaded', 't', 's', NULL, '000001.mp4', "
        "'abc', 1, 0);"
    )
    old.commit()
    old.close()
    journal = Journal(tmp_path)
    try:
        job = journal.job(1)
        assert job is not None
        assert (job.state, job.file) == ("downloaded", "000001.mp4")
        assert (job.size, job.worker) == (None, None)
    finally:
        journal.close()


def test_server_text_with_a_lone_surrogate_is_stored(
    tmp_path: Path, journal_url: str | None
) -> None:
    journal = open_journal(journal_url, tmp_path)
    try:
        journal.add_many([(1, {**APIMART, "prompt": "x"}, "pending", None)])
        assert journal.start_submit(1, "w", 30)
        assert journal.set(1, "failed", status="bad\udcff", error="reply \udcff")
        job = journal.job(1)
        assert job is not None
        assert (job.status, job.error) == ("bad?", "reply ?")
    finally:
        journal.close()


# ---------------------------------------------------------------------------- one owner per job
def test_every_write_after_a_claim_checks_the_owner(
    tmp_path: Path, journal_url: str | None
) -> None:
    """A worker whose lease ran out and whose job another worker claimed can no longer move it:
    not submit it, not record a reply, a failure or a file, not renew it, not free its slot."""
    first, second = open_journal(journal_url, tmp_path), open_journal(journal_url, tmp_path)
    try:
        first.add_many([(n, {**APIMART, "prompt": f"{n}"}, "pending", None) for n in (1, 2)])
        assert [j.line for j in first.claim("a", 2, 1.0)] == [1, 2]
        assert first.start_submit(1, "a", 1.0)
        assert first.set(1, "submitted", owner="a", task_id="t1")
        assert first.take_slot(1, 5)
        time.sleep(1.1)  # "a" is paused past its leases
        assert [j.line for j in second.claim("b", 2, 30)] == [1, 2]
        assert not first.start_submit(2, "a", 1.0)  # pending, but b's now
        assert not first.hold(1, "a", "submitted", 1.0)
        assert not first.set(1, "downloaded", owner="a", file="/a/000001.mp4")
        assert not first.set(1, "failed", owner="a", error="late")
        assert not first.set(1, "submitted", owner="a", error="late")
        first.free_slot(1, "a")
        assert second.take_slot(1, 1)  # b's job kept its slot: the cap of 1 is full with it
        assert second.hold(1, "b", "submitted", 30)
        assert second.start_submit(2, "b", 30)
        assert second.set(1, "downloaded", owner="b", file="/b/000001.mp4")
        job = first.job(1)
        assert job is not None
        assert (job.state, job.file, job.error) == ("downloaded", "/b/000001.mp4", None)
    finally:
        first.close()
        second.close()


class _Paused:
    """A client whose process is paused (the event loop blocked, no heartbeat) once, past the
    lease, at ``when`` ("wait": as a task is found done, "submit": before a submit goes out);
    then ``meanwhile`` runs (another worker takes the jobs over)."""

    def __init__(self, inner: Any, when: str, meanwhile: Any, seconds: float = 1.3) -> None:
        self.inner, self.when, self.meanwhile, self.seconds = inner, when, meanwhile, seconds

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def _pause(self, when: str) -> None:
        if self.when == when:
            self.when = ""
            time.sleep(self.seconds)
            self.meanwhile()

    async def wait(self, *args: Any, **kw: Any) -> Any:
        task = await self.inner.wait(*args, **kw)
        self._pause("wait")
        return task


def test_a_worker_paused_past_its_lease_downloads_nothing(
    tmp_path: Path, journal_url: str | None
) -> None:
    """Paused (SIGSTOP, a frozen database, a starved machine) while its task finished, it wakes
    to find another worker polling the job: it stops there (no download, no file, no journal
    write) and says so; the job stays the other worker's."""
    jobs = _jobs(tmp_path, 1)
    other = open_journal(journal_url, tmp_path / "w")
    lost: dict[int, str] = {}
    with MockGateway() as mock:
        inner = mock.async_client("apimart", sleep=_no_sleep)

        def b_finishes_it() -> None:
            assert [job.line for job in other.claim("b", 5, 30)] == [1]
            assert other.set(1, "downloaded", owner="b", file="/b/000001.mp4", worker="b")

        client = _Paused(inner, "wait", b_finishes_it)

        async def go() -> dict[str, int]:
            try:
                options = BatchOptions(
                    "apimart", tmp_path / "w", rate=0, journal=journal_url, client=client,
                    lease=1.0, on_lost=lost.__setitem__,
                )  # fmt: skip
                return await run_batch(jobs, options)
            finally:
                await inner.aclose()

        try:
            assert asyncio.run(go()) == {"downloaded": 1}
            assert lost == {1: "download"}
            assert [route for _, route in mock.state.requests].count("file") == 0
            assert not list((tmp_path / "w").glob("*.mp4"))
            assert not list((tmp_path / "w").glob(".*.part"))
            job = other.job(1)
            assert job is not None
            assert (job.file, job.worker) == ("/b/000001.mp4", "b")
        finally:
            other.close()


def test_a_worker_paused_past_its_lease_submits_nothing(
    tmp_path: Path, journal_url: str | None
) -> None:
    """Paused while a job waited for its turn to be submitted; another worker claimed the job
    meanwhile: the paused one sends nothing for it (the other worker does, once)."""
    jobs = _jobs(tmp_path, 2)
    other = open_journal(journal_url, tmp_path / "w")
    lost: dict[int, str] = {}
    paused: list[float] = []

    async def sleep(seconds: float) -> None:  # this process's own --rate spacing
        if not paused:
            paused.append(seconds)
            time.sleep(1.3)
            assert [job.line for job in other.claim("b", 5, 30, skip=[1])] == [2]

    def on_lost(line: int, what: str) -> None:  # then b sends it (and the gateway refuses it)
        lost[line] = what
        assert other.start_submit(line, "b", 30)
        assert other.set(line, "failed", owner="b", error="b's")

    with MockGateway() as mock:
        client = mock.async_client("apimart", sleep=_no_sleep)

        async def go() -> dict[str, int]:
            try:
                options = BatchOptions(
                    "apimart", tmp_path / "w", rate=1, journal=journal_url, client=client,
                    lease=1.0, on_lost=on_lost, sleep=sleep,
                )  # fmt: skip
                return await run_batch(jobs, options)
            finally:
                await client.aclose()

        try:
            assert asyncio.run(go()).get("failed") == 1
            assert paused
            assert lost.get(2) == "submit"
            assert [e.body["prompt"] for e in mock.ledger.entries] == ["job 0"]
            job = other.job(2)
            assert job is not None
            assert (job.state, job.attempts, job.error) == ("failed", 1, "b's")
        finally:
            other.close()


# ---------------------------------------------------------------------------- pacing first
def test_jobs_wait_for_the_shared_rate_before_they_are_marked(
    tmp_path: Path, journal_url: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Jobs waiting for their moment under --gateway-rps are still pending (a worker killed
    then leaves nothing `unknown`), and a stop ends those waits at once: nothing is sent after
    it."""
    monkeypatch.setenv("APIMART_API_KEY", "sk-mock")
    jobs = _jobs(tmp_path, 4)
    _load(jobs, journal_url or "", tmp_path / "w", gateway_rps=0.5) if journal_url else None
    stop = asyncio.Event()
    seen: list[dict[str, int]] = []
    stopped_at: list[float] = []

    def on_event(job: Any, counts: dict[str, int]) -> None:
        if counts.get("submitted") and not stop.is_set():
            seen.append(dict(counts))
            stopped_at.append(time.monotonic())
            stop.set()

    with MockGateway(timing=Timing(queue_s=60, run_s=60)) as mock:
        path = None if journal_url else jobs
        options = BatchOptions(
            "apimart", tmp_path / "w", rate=0, journal=journal_url, gateway_rps=0.5, stop=stop,
            transport=mock.async_transport(), base_url=mock.base_url("apimart"),
        )  # fmt: skip
        counts = asyncio.run(run_batch(path, options, on_event))
        ended = time.monotonic()
    assert seen == [{"submitted": 1, "pending": 3}]  # the three waiting are not `submitting`
    assert ended - stopped_at[0] < 1.0
    assert len(mock.ledger) == 1
    assert counts == {"submitted": 1, "pending": 3}


# ---------------------------------------------------------------------------- shared settings
@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("gateway_rps", "-1"),
        ("gateway_rps", "1e-300"),
        ("gateway_rps", "nan"),
        ("gateway_rps", "inf"),
        ("gateway_rps", "abc"),
        ("gateway_in_flight", "-1"),
        ("gateway_in_flight", "2.5"),
        ("gateway_in_flight", "abc"),
        ("gateway", "apimart "),
    ],
)
def test_settings_read_from_the_journal_are_checked(
    name: str, value: str, tmp_path: Path, journal_url: str | None
) -> None:
    """The journal's settings table is data from outside (anyone with access to the database
    can edit it): a value no CLI would accept stops a joining worker with one line naming the
    setting, before anything is sent."""
    out = tmp_path / "w"
    _load(_jobs(tmp_path, 2), journal_url or "", out, gateway_rps=4.0, gateway_in_flight=2)
    journal = open_journal(journal_url, out)
    journal.set_meta(name, value)
    journal.close()
    with MockGateway() as mock:
        with pytest.raises(ConfigurationError, match=f"the batch's {name} setting") as raised:
            asyncio.run(_worker(mock, journal_url, out))
        assert len(mock.ledger) == 0
    assert "\n" not in str(raised.value)


def test_a_joining_worker_cannot_change_the_shared_budget(
    tmp_path: Path, journal_url: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker given --gateway-rps 1000 against a batch loaded with 4 is refused (one budget
    for all workers, never a mix); the same value, or none, joins."""
    monkeypatch.setenv("APIMART_API_KEY", "sk-mock")
    out = tmp_path / "w"
    _load(_jobs(tmp_path, 2), journal_url or "", out, gateway_rps=4.0, gateway_in_flight=2)
    with MockGateway() as mock:
        for joining in (
            _worker(mock, journal_url, out, gateway_rps=1000.0),
            _worker(mock, journal_url, out, gateway_in_flight=50),
        ):
            with pytest.raises(ConfigurationError, match="the batch was loaded with"):
                asyncio.run(joining)
        assert len(mock.ledger) == 0
        joined = _worker(mock, journal_url, out, paced=True, gateway_in_flight=2)
        assert asyncio.run(joined) == {"downloaded": 2}
    journal = open_journal(journal_url, out)
    try:
        assert (journal.meta("gateway_rps"), journal.meta("gateway_in_flight")) == ("4.0", "2")
    finally:
        journal.close()


# ---------------------------------------------------------------------------- bounded loading
def _in_thread(call: Any, seconds: float) -> list[Any]:
    """Run ``call`` in a thread; what it returned or raised, or [] if it still runs after
    ``seconds`` (it hangs: the test fails instead of blocking the suite)."""
    result: list[Any] = []

    def target() -> None:
        try:
            result.append(call())
        except Exception as exc:
            result.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    return result


def test_a_loader_waits_for_the_load_lock_a_bounded_time(pg_server: str) -> None:
    """A loader paused while holding the load lock (SIGSTOP: its transaction sits idle) has its
    session ended by the server after the answer limit, so a second loader gets the lock; a
    loader that keeps the lock busy makes the next one wait twice the limit, then stop with one
    line naming the lock."""
    import psycopg

    from vidgate.batch.journal.pg import PgJournal, _lock_key

    url = schema_url(pg_server)
    paused, second = PgJournal(url, answer_within=1.0), PgJournal(url, answer_within=1.0)
    holding = paused.loading()
    holding.__enter__()  # holds the lock, then does nothing more
    try:
        start = time.monotonic()
        got = _in_thread(lambda: second.loading().__enter__(), 10)
        assert got == [None], got  # the lock was freed when the server ended the idle session
        assert 0.8 < time.monotonic() - start < 5
        second.db.execute("ROLLBACK")
    finally:
        with contextlib.suppress(Exception):
            holding.__exit__(None, None, None)
        paused.close()
    busy = psycopg.connect(url.split("?")[0], autocommit=True)  # not vidgate: no idle limit
    try:
        busy.execute("SET search_path = " + url.split("search_path%3D")[1])
        busy.execute("BEGIN")
        busy.execute("SELECT pg_advisory_xact_lock(%s)", (_lock_key(busy, "load"),))
        start = time.monotonic()
        waited = _in_thread(lambda: second.loading().__enter__(), 10)
        assert waited, "the second loader waited for the lock without a bound"
        assert isinstance(waited[0], JournalError)
        assert "waited 2 s for the load lock: another loader holds it" in str(waited[0])
        assert "\n" not in str(waited[0])
        assert time.monotonic() - start < 5
    finally:
        busy.close()
        second.close()


def test_a_server_that_freezes_during_loading_is_cut_off(tmp_path: Path, pg_server: str) -> None:
    """The server stops answering while the jobs are being inserted: the load fails with one
    line (no answer in the limit), not after minutes."""
    import os
    import signal

    from vidgate.batch.journal.pg import PgJournal

    journal = PgJournal(schema_url(pg_server), answer_within=1.0)
    row = journal.db.execute("SELECT pg_backend_pid()").fetchone()
    assert row is not None
    rows = [(n, {**APIMART, "prompt": f"{n}"}, "pending", None) for n in range(1, 50)]

    def load() -> None:
        with journal.loading():
            os.kill(row[0], signal.SIGSTOP)
            journal.add_many(rows)

    try:
        start = time.monotonic()
        done = _in_thread(load, 15)
        assert done, "loading waited for a frozen server without a bound"
        assert isinstance(done[0], JournalError)
        assert "no answer from the database in 1 s" in str(done[0])
        assert time.monotonic() - start < 5
    finally:
        os.kill(row[0], signal.SIGCONT)
        journal.close()


def test_a_submit_late_for_its_booked_moment_can_still_be_stopped() -> None:
    """A submit whose moment (booked before its job was marked) passed waits for a new one;
    a stop during that wait calls it off with NotSent (nothing went out, so its job may go
    back to pending), while a retry after a first attempt went out is never called off."""
    from vidgate.batch.workers import NotSent, Paced, booked

    class Schedule:
        def reserve_request(self, per_second: float) -> float:
            return 5.0  # the next free moment is far away

    sent: list[httpx.Request] = []

    class Gateway(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            sent.append(request)
            return httpx.Response(200)

    request = httpx.Request("POST", "http://gw/v1/videos", headers={"authorization": "Bearer k"})

    async def late_then_stopped() -> float:
        paced = Paced(Gateway(), Schedule(), 20.0, asyncio.sleep)
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(0.2, stop.set)
        start = time.monotonic()
        with booked(time.monotonic() - 1.0, stop), pytest.raises(NotSent):
            await paced.handle_async_request(request)
        return time.monotonic() - start

    assert asyncio.run(late_then_stopped()) < 1.0
    assert sent == []

    async def on_time() -> None:
        paced = Paced(Gateway(), Schedule(), 20.0, asyncio.sleep)
        stop = asyncio.Event()
        stop.set()
        with booked(time.monotonic(), stop):  # on time: goes out at once, stop or not
            await paced.handle_async_request(request)

    asyncio.run(on_time())
    assert len(sent) == 1

    async def late_and_taken_over() -> None:
        paced = Paced(Gateway(), Schedule(), 20.0, lambda s: asyncio.sleep(0))
        with booked(time.monotonic() - 1.0, asyncio.Event(), lambda: False), pytest.raises(NotSent):
            await paced.handle_async_request(request)

    asyncio.run(late_and_taken_over())
    assert len(sent) == 1  # the worker slept past its lease: asked again, it sent nothing
