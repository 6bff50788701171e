"""Scale test: one batch spread over several `vidgate batch --worker` processes sharing a
PostgreSQL journal, against the mock gateway as a real loopback server.

    python scripts/scale.py [--jobs 1000] [--part kill|throughput|rate|all]

Three parts, each on a throwaway PostgreSQL server (scripts/pgtemp.py) and a fresh mock:

- kill: N jobs (apimart), mock faults on (429, 5xx, dropped connections, slow replies), 4 workers,
  2 of them SIGKILLed mid-run; the others take their jobs over when the leases run out. Checked
  against the mock's ledger and the files: jobs lost, duplicate submissions, incomplete files.
- throughput: the same batch size with 1, 2 and 4 workers (8 jobs each at once) under a gateway
  cap on tasks in flight, which the mock enforces (429 beyond it) and the workers share through
  the journal (--gateway-in-flight).
- rate: 4 workers under a gateway-wide request rate (--gateway-rps); the peak number of API
  requests the mock received in any one second, against the configured rate.
- pauses (scripts/pauses.py): a worker SIGSTOPped past its lease, its database sessions frozen,
  many workers with --lease 1, a worker killed and one SIGTERMed while paced; paid twice,
  downloaded twice, orphan files, lost, hangs, exit 70 and password leaks must all be 0.

Prints one JSON line per part and the figures table; exits 1 if a job is lost, a submission is
duplicated, a file is incomplete, or the cap or the rate is exceeded.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import crash
import pgtemp

from vidgate.batch.journal.pg import PgJournal
from vidgate.mock import DEFAULT_KEY, Fault, State, Timing, media

GATEWAY = "apimart"
BODY = {"model": "happyhorse-1.0", "duration": 3}
TIMING = Timing(queue_s=0.3, run_s=1.0)  # done before the first poll (2 s ± 20 % jitter)
PAUSE_FIGURES: tuple[str, ...] = ("paid twice", "downloaded twice", "orphan files", "lost")
PAUSE_FIGURES += ("hangs", "exit 70", "leaks", "taken over")


@contextmanager
def _mock(state: State) -> Iterator[str]:
    """The mock as a loopback server; its dropped-connection faults are not logged."""
    server, port = crash._server(state)
    log = logging.getLogger("uvicorn.error")  # configured by the server as it starts
    was = log.disabled
    log.disabled = True
    try:
        yield f"http://127.0.0.1:{port}/{GATEWAY}"
    finally:
        server.should_exit = True
        log.disabled = was


def _jobs(folder: Path, n: int, tag: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{tag}.jsonl"
    path.write_text("\n".join(json.dumps({**BODY, "prompt": f"{tag} job {i}"}) for i in range(n)))
    return path


def _batch(url: str, base: str, *args: str) -> list[str]:
    """A batch command; workers are not told the gateway: they read it from the journal."""
    return [
        sys.executable, "-m", "vidgate", "batch", "--journal", url, "--base-url", base,
        "--rate", "0", *args,
    ]  # fmt: skip


def _env() -> dict[str, str]:
    return {**os.environ, "APIMART_API_KEY": DEFAULT_KEY, "VIDGATE_LOG": ""}


def _load(url: str, base: str, jobs: Path, *budget: str) -> None:
    done = subprocess.run(
        [*_batch(url, base, str(jobs), "--load", "--gateway", GATEWAY), *budget],
        env=_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"loading the batch failed: {done.stderr.strip()[-2000:]}")


def _workers(
    url: str, base: str, folder: Path, n: int, *extra: str
) -> list[subprocess.Popen[bytes]]:
    return [
        subprocess.Popen(
            _batch(url, base, "--worker", "--out", str(folder / f"worker-{i}"), *extra),
            env=_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for i in range(n)
    ]


def _wait_all(processes: list[subprocess.Popen[bytes]], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    codes = []
    for process in processes:
        try:
            codes.append(process.wait(timeout=max(1.0, deadline - time.monotonic())))
        except subprocess.TimeoutExpired:
            process.kill()
            codes.append(process.wait())
    return codes


def _peak(times: list[float], window: float) -> int:
    """The most events in any half-open window of this length."""
    times, best, start = sorted(times), 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def _peak_in_flight(state: State) -> int:
    edges = []
    for task in state.tasks.values():
        edges += [(task.created, 1), (state.completed_at(task), -1)]
    now = peak = 0
    for _, step in sorted(edges):
        now += step
        peak = max(peak, now)
    return peak


def _audit(url: str, state: State, jobs: int) -> dict[str, Any]:
    journal = PgJournal(url)
    try:
        seen = list(journal.jobs())
        counts = journal.counts()
    finally:
        journal.close()
    served = media.video()
    incomplete = 0
    for job in seen:
        if job.state != "downloaded":
            continue
        path = Path(str(job.file))
        data = path.read_bytes() if path.is_file() else b""
        incomplete += data != served or len(data) != job.size
    finished = [j for j in seen if j.state in ("downloaded", "failed", "unknown")]
    return {
        "states": counts,
        "lost": jobs - len(finished),
        "submitted": len(state.ledger),
        "duplicate_submissions": len(state.ledger.duplicates(lambda e: e.body["prompt"])),
        "incomplete_files": incomplete,
        "workers_with_files": len({j.worker for j in seen if j.state == "downloaded"}),
    }


def kill_test(server: str, folder: Path, jobs: int, workers: int = 4, kills: int = 2,
              fault_rate: float = 0.1, lease: float = 3.0) -> dict[str, Any]:  # fmt: skip
    """Workers on one journal, faults on, some workers SIGKILLed mid-run."""
    url = _schema(server, "kill")
    state = State(TIMING, seed=3)
    for route in ("submit", "task", "file"):
        for kind in Fault.KINDS:  # every fault the mock has, short delays
            if kind == "malformed" and route == "file":
                continue  # a media file has no shape to break: a 200 body is the file
            fault = Fault(kind, retry_after=0.05, delay_s=0.05)
            state.faults.chance(route, fault_rate / len(Fault.KINDS), fault)
    start = time.monotonic()
    with _mock(state) as base:
        _load(url, base, _jobs(folder, jobs, "kill"))
        extra = ("--concurrency", "16", "--lease", str(lease), "--resubmit-unknown")
        processes = _workers(url, base, folder, workers, *extra)
        killed = 0
        deadline = time.monotonic() + 600
        while killed < kills and time.monotonic() < deadline:
            time.sleep(0.2)  # kill once about a third of the batch is done
            done = _count(url, "downloaded")
            if done >= jobs // 3 or all(p.poll() is not None for p in processes):
                for process in processes[:kills]:
                    if process.poll() is None:
                        process.send_signal(signal.SIGKILL)
                        process.wait()
                        killed += 1
                break
        codes = _wait_all(processes[kills:], 900)
        figures = _audit(url, state, jobs)
    return {
        "part": "kill",
        "jobs": jobs,
        "workers": workers,
        "killed": killed,
        "survivor_exit_codes": codes,
        "faults_injected": sum(state.faults.injected.values()),
        **figures,
        "seconds": round(time.monotonic() - start, 1),
    }


def throughput(server: str, folder: Path, jobs: int, counts: tuple[int, ...] = (1, 2, 4),
               per_worker: int = 8, cap: int = 16) -> dict[str, Any]:  # fmt: skip
    """Jobs per second with 1, 2 and 4 workers under a shared cap on tasks in flight."""
    rows = []
    for n in counts:
        url = _schema(server, f"throughput{n}")
        state = State(TIMING, max_in_flight=cap)
        with _mock(state) as base:
            _load(url, base, _jobs(folder, jobs, f"tp{n}"), "--gateway-in-flight", str(cap))
            start = time.monotonic()
            processes = _workers(url, base, folder / f"tp{n}", n, "--concurrency", str(per_worker))
            codes = _wait_all(processes, 900)
            seconds = time.monotonic() - start
            figures = _audit(url, state, jobs)
            refused = sum(1 for t, route in state.requests if route == "submit") - len(state.ledger)
        # at the gateway, from the first submit to the last download (process start-up left out)
        first = min(t for t, route in state.requests if route == "submit")
        busy = max(t for t, route in state.requests if route == "file") - first
        rows.append(
            {
                "workers": n,
                "jobs_per_second": round(jobs / busy, 2),
                "busy_seconds": round(busy, 1),
                "seconds": round(seconds, 1),
                "peak_in_flight": _peak_in_flight(state),
                "submits_refused_by_cap": refused,
                "exit_codes": codes,
                **figures,
            }
        )
    return {"part": "throughput", "jobs": jobs, "cap": cap, "per_worker": per_worker, "rows": rows}


def rate(
    server: str, folder: Path, jobs: int, workers: int = 4, rps: float = 20.0
) -> dict[str, Any]:
    """The peak API request rate over all workers against the configured gateway-wide rate."""
    url = _schema(server, "rate")
    state = State(TIMING)
    with _mock(state) as base:
        _load(url, base, _jobs(folder, jobs, "rate"), "--gateway-rps", f"{rps:g}")
        start = time.monotonic()
        processes = _workers(url, base, folder / "rate", workers, "--concurrency", "32")
        codes = _wait_all(processes, 900)
        seconds = time.monotonic() - start
        figures = _audit(url, state, jobs)
    api = [t for t, route in state.requests if route in ("submit", "task")]
    busy = max(api) - min(api)
    peak_1s = _peak(api, 1.0)
    peak_5s = _peak(api, 5.0) / 5
    return {
        "part": "rate",
        "jobs": jobs,
        "workers": workers,
        "configured_rps": rps,
        "api_requests": len(api),
        "peak_rps_1s": peak_1s,
        "peak_rps_5s": round(peak_5s, 1),
        "mean_rps": round(len(api) / busy, 1),  # first to last API request
        "seconds": round(seconds, 1),
        "within_10_percent": peak_1s <= rps * 1.1,
        "exit_codes": codes,
        **figures,
    }


def _schema(server: str, name: str) -> str:
    import psycopg

    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {name}")  # type: ignore[arg-type,unused-ignore]
    return f"{server}?options=-csearch_path%3D{name}"


def _count(url: str, state: str) -> int:
    journal = PgJournal(url)
    try:
        return journal.counts().get(state, 0)
    finally:
        journal.close()


def table(results: list[dict[str, Any]]) -> str:
    lines = []
    for r in results:
        if r["part"] == "kill":
            lines += [
                "| workers | killed | jobs | faults injected | outcome | submissions | duplicates "
                "| lost | incomplete files | time |",
                "|---|---|---|---|---|---|---|---|---|---|",
                f"| {r['workers']} | {r['killed']} (SIGKILL) | {r['jobs']} | "
                f"{r['faults_injected']} | {_states(r['states'])} | {r['submitted']} | "
                f"{r['duplicate_submissions']} | {r['lost']} | {r['incomplete_files']} | "
                f"{r['seconds']} s |",
                "",
            ]
        elif r["part"] == "throughput":
            lines += [
                f"| workers ({r['per_worker']} jobs each at once) | jobs/s at the gateway "
                f"| first submit to last download | wall time with start-up "
                f"| peak tasks in flight (cap {r['cap']}) | submits refused by the cap |",
                "|---|---|---|---|---|---|",
            ]
            lines += [
                f"| {row['workers']} | {row['jobs_per_second']} | {row['busy_seconds']} s | "
                f"{row['seconds']} s | "
                f"{row['peak_in_flight']} | {row['submits_refused_by_cap']} |"
                for row in r["rows"]
            ]
            lines.append("")
        elif r["part"] == "pauses":
            if not lines or not lines[-1].startswith("| pauses"):
                lines += ["| scenario | jobs | " + " | ".join(PAUSE_FIGURES) + " |",
                          "|---|---|" + "---|" * len(PAUSE_FIGURES)]  # fmt: skip
            figures = " | ".join(str(r[name]) for name in PAUSE_FIGURES)
            lines.append(f"| pauses: {r['scenario']} | {r['jobs']} | {figures} |")
        else:
            lines += [
                "| workers | configured rate | peak in any 1 s | peak over 5 s "
                "| mean (first to last request) | requests |",
                "|---|---|---|---|---|---|",
                f"| {r['workers']} | {r['configured_rps']:g}/s | {r['peak_rps_1s']}/s | "
                f"{r['peak_rps_5s']}/s | {r['mean_rps']}/s | {r['api_requests']} |",
                "",
            ]
    return "\n".join(lines)


def _states(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))


def bad(result: dict[str, Any]) -> bool:
    if result["part"] == "pauses":
        import pauses

        return pauses.bad(result)
    rows = result.get("rows", [result])
    return any(
        row["lost"] or row["duplicate_submissions"] or row["incomplete_files"]
        or row.get("peak_in_flight", 0) > result.get("cap", 1 << 30)
        or row.get("within_10_percent") is False
        for row in rows
    )  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000, help="jobs in the kill test")
    parser.add_argument("--throughput-jobs", type=int, default=120)
    parser.add_argument("--rate-jobs", type=int, default=150)
    parser.add_argument(
        "--part", choices=("kill", "throughput", "rate", "pauses", "all"), default="all"
    )
    parser.add_argument("--pause-jobs", type=int, default=12, help="jobs per pause scenario")
    args = parser.parse_args(argv)
    results = []
    with (
        tempfile.TemporaryDirectory(prefix="vidgate-scale-") as tmp,
        pgtemp.temporary_postgres() as server,
    ):
        folder = Path(tmp)
        if args.part in ("kill", "all"):
            results.append(kill_test(server, folder / "kill", args.jobs))
        if args.part in ("throughput", "all"):
            results.append(throughput(server, folder / "tp", args.throughput_jobs))
        if args.part in ("rate", "all"):
            results.append(rate(server, folder / "rate", args.rate_jobs))
        if args.part in ("pauses", "all"):
            import pauses

            results += pauses.run_all(server, folder / "pauses", args.pause_jobs)
    for result in results:
        print(json.dumps(result))
    print(table(results))
    return 1 if any(bad(r) for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
