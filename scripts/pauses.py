"""Pauses, freezes and takeovers: worker processes on one PostgreSQL journal that stop mid-job.

    python scripts/pauses.py [--jobs 12]       # every scenario, small sizes

Used by `make scale` (``scale.py --part pauses``) and `make hostile`. Each scenario runs real
`vidgate batch --worker` processes against the mock gateway (a loopback server counting every
submit and file request) and a throwaway PostgreSQL, with a journal URL whose password holds
``? # / @ [`` and a space:

- sigstop: a worker SIGSTOPped past its lease while it holds jobs (submitting, polling), a second
  worker with --resubmit-unknown takes them over, then the first resumes;
- frozen: the database sessions of a worker SIGSTOPped (a frozen backend) past its lease while a
  second worker takes over, then thawed;
- lease1: many workers with ``--lease 1`` on a busy machine (leases run out all the time);
- paced: a worker under ``--gateway-rps`` SIGKILLed while its jobs wait for their moment, then
  one SIGTERMed (how long it takes to stop, and what it submits after the signal).

After each, a last worker finishes what is left (``--resubmit-unknown``: apimart takes an
idempotency key). Figures: paid twice (submissions of one job beyond the first), downloaded
twice (file requests beyond one per downloaded job), orphan files (videos or .part files in
the workers' folders that the journal does not record), lost (jobs not downloaded in the end,
and ``unknown`` jobs the gateway never received), hangs (workers killed at their bound), exit 70,
leaks (a piece of the journal password in any output).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pgtemp
import scale

from vidgate.batch.journal.pg import PgJournal
from vidgate.mock import State

__all__ = ["FIGURES", "bad", "run_all"]

PASSWORD = "Zq?Xw#Vb Kj/Hg[Fd@Pm"  # the test server trusts every password
PIECES = ("Zq", "Xw", "Vb Kj", "Hg", "Fd", "Pm")
FIGURES = ("paid twice", "downloaded twice", "orphan files", "lost", "hangs", "exit 70", "leaks")
BOUND_S = 180.0  # a worker still running after this hangs


class _Run:
    """One scenario: its schema, mock, worker processes and their outputs."""

    def __init__(self, server: str, folder: Path, name: str, jobs: int) -> None:
        self.name, self.folder, self.jobs, self.server = name, folder / name, jobs, server
        base = scale._schema(server, name)
        self.url = base.replace("vidgate@", f"vidgate:{PASSWORD}@", 1)
        self.state = State(scale.TIMING)
        self.processes: list[subprocess.Popen[bytes]] = []
        self.logs: list[Path] = []
        self.codes: list[int] = []
        self.hangs = 0

    def load(self, base: str, *extra: str) -> None:
        jobs = scale._jobs(self.folder, self.jobs, self.name)
        scale._load(self.url, base, jobs, *extra)

    def worker(self, base: str, tag: str, *extra: str, app: str = "") -> subprocess.Popen[bytes]:
        url = self.url + (f"&application_name={app}" if app else "")
        log = self.folder / f"{tag}.log"
        self.logs.append(log)
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [*scale._batch(url, base, "--worker", "--out", str(self.folder / tag), *extra)],
                env=scale._env(),
                stdout=sink,
                stderr=sink,
            )
        self.processes.append(process)
        return process

    def wait(self, process: subprocess.Popen[bytes], bound: float = BOUND_S) -> int:
        try:
            code = process.wait(timeout=bound)
        except subprocess.TimeoutExpired:
            self.hangs += 1
            process.kill()
            code = process.wait()
        self.codes.append(code)
        return code

    def counts(self) -> dict[str, int]:
        journal = PgJournal(self.url)
        try:
            return journal.counts()
        finally:
            journal.close()

    def until(self, ready: Any, bound: float = 60.0) -> None:
        deadline = time.monotonic() + bound
        while not ready() and time.monotonic() < deadline:
            time.sleep(0.1)

    def figures(self, base: str, extra: dict[str, Any]) -> dict[str, Any]:
        never_sent = self._unknown_never_sent()
        self.wait(self.worker(base, "sweep", "--resubmit-unknown", "--lease", "5"))
        journal = PgJournal(self.url)
        try:
            seen = list(journal.jobs())
        finally:
            journal.close()
        done = [j for j in seen if j.state == "downloaded"]
        recorded = {str(Path(str(j.file)).resolve()) for j in done}
        videos = [p for p in self.folder.rglob("*.mp4") if str(p.resolve()) not in recorded]
        parts = list(self.folder.rglob("*.part"))
        files = sum(1 for _, route in self.state.requests if route == "file")
        dup = self.state.ledger.duplicates(lambda e: e.body["prompt"])
        printed = b"".join(log.read_bytes() for log in self.logs).decode("utf-8", "replace")
        return {
            "part": "pauses",
            "scenario": self.name,
            "jobs": self.jobs,
            "paid twice": sum(n - 1 for n in dup.values()),
            "downloaded twice": max(0, files - len(done)),
            "orphan files": len(videos) + len(parts),
            "lost": self.jobs - len(done) + never_sent,
            "hangs": self.hangs,
            "exit 70": self.codes.count(70),
            "leaks": sum(piece in printed for piece in PIECES),
            "exit_codes": self.codes,
            "taken over": printed.count("were taken over by another worker"),
            **extra,
        }

    def _unknown_never_sent(self) -> int:
        journal = PgJournal(self.url)
        try:
            unknown = [j.body["prompt"] for j in journal.jobs("unknown")]
        finally:
            journal.close()
        sent = {e.body["prompt"] for e in self.state.ledger.entries}
        return sum(prompt not in sent for prompt in unknown)


def _takeover(server: str, folder: Path, jobs: int, how: str, lease: float = 2.0) -> dict[str, Any]:
    """A worker held up past its lease (``how``: "sigstop" the process, "frozen" its database
    sessions) while a second one takes its jobs over; then it resumes."""
    run = _Run(server, folder, how, jobs)
    with scale._mock(run.state) as base:
        run.load(base)
        first = run.worker(base, "a", "--lease", f"{lease:g}", "--concurrency", str(jobs), app="a")
        run.until(lambda: run.counts().get("submitted", 0) >= jobs // 2)
        frozen = _freeze(run, first, how)
        time.sleep(lease * 2.5)  # its leases run out
        second = run.worker(
            base, "b", "--lease", f"{lease:g}", "--concurrency", str(jobs), "--resubmit-unknown"
        )
        run.wait(second)
        for pid in frozen:
            os.kill(pid, signal.SIGCONT)
        run.wait(first)
        return run.figures(base, {"held": f"{lease * 2.5:g} s"})


def _freeze(run: _Run, process: subprocess.Popen[bytes], how: str) -> list[int]:
    if how == "sigstop":
        process.send_signal(signal.SIGSTOP)
        return [process.pid]
    import psycopg

    with psycopg.connect(run.server, autocommit=True) as db:
        rows = db.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'a'"
        ).fetchall()
    for (pid,) in rows:
        os.kill(pid, signal.SIGSTOP)
    return [pid for (pid,) in rows]


def _lease1(server: str, folder: Path, jobs: int, workers: int = 10) -> dict[str, Any]:
    """Many workers with --lease 1 on a busy machine: leases run out while they poll."""
    run = _Run(server, folder, "lease1", jobs)
    with scale._mock(run.state) as base:
        run.load(base)
        started = [
            run.worker(base, f"w{i}", "--lease", "1", "--concurrency", "4") for i in range(workers)
        ]
        for process in started:
            run.wait(process)
        return run.figures(base, {"workers": workers})


def _paced(server: str, folder: Path, jobs: int, rps: float = 2.0) -> dict[str, Any]:
    """--gateway-rps: a worker SIGKILLed while its jobs wait for their moment, then another one
    SIGTERMed: seconds to stop, submits after the signal."""
    run = _Run(server, folder, "paced", jobs)
    with scale._mock(run.state) as base:
        run.load(base, "--gateway-rps", f"{rps:g}")
        killed = run.worker(base, "k", "--concurrency", str(jobs))
        run.until(lambda: len(run.state.ledger.entries) >= 2)
        killed.send_signal(signal.SIGKILL)
        run.wait(killed)
        unknown_after_kill = run.counts().get("unknown", 0)
        before = len(run.state.ledger.entries)
        termed = run.worker(base, "t", "--concurrency", str(jobs), "--resubmit-unknown")
        run.until(lambda: len(run.state.ledger.entries) >= before + 2)
        signalled = time.time()
        termed.send_signal(signal.SIGTERM)
        code = run.wait(termed)
        stopped = time.time() - signalled
        late = [t for t, route in run.state.requests if route == "submit" and t > signalled + 0.2]
        run.codes[-1] = 0 if code == 130 else code  # 130 is the expected stop
        return run.figures(
            base,
            {
                "unknown after SIGKILL": unknown_after_kill,
                "SIGTERM to exit s": round(stopped, 2),
                "submits after SIGTERM": len(late),
                "SIGTERM exit code": code,
            },
        )


def run_all(server: str, folder: Path, jobs: int) -> list[dict[str, Any]]:
    return [
        _takeover(server, folder, jobs, "sigstop"),
        _takeover(server, folder, jobs, "frozen"),
        _lease1(server, folder, jobs * 3),
        _paced(server, folder, jobs + 8),
    ]


def bad(result: dict[str, Any]) -> bool:
    return any(result[name] for name in FIGURES) or bool(result.get("submits after SIGTERM"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=12)
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory(prefix="vidgate-pauses-") as tmp,
        pgtemp.temporary_postgres() as server,
    ):
        results = run_all(server, Path(tmp), args.jobs)
    for result in results:
        print(json.dumps(result))
    return 1 if any(bad(r) for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
