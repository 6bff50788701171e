"""Batch runs that lose nothing: submit, wait and download many jobs, safe to kill at any moment.

    from vidgate.batch import BatchOptions, run_batch
    counts = asyncio.run(run_batch(Path("jobs.jsonl"), BatchOptions("apimart", Path("out"))))

Each line of the jobs file is one request body. Lines are validated before anything is sent; the
journal (vidgate.journal) records every step, so running the same command again resumes: finished
jobs are skipped, known task ids are polled instead of resubmitted, and a submit that may have
reached the gateway without its reply being recorded is reported as ``unknown`` and resubmitted
only with ``resubmit_unknown`` (then with the job's idempotency key where the gateway takes one).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vidgate import errors, jsonin
from vidgate.gateways import gateway
from vidgate.journal import Job, Journal
from vidgate.validation import validator

__all__ = ["BatchInvalidError", "BatchOptions", "load_jobs", "run_batch"]

Event = Callable[[Job | None, dict[str, int]], None]


class BatchInvalidError(errors.VidgateError):
    """Some lines of the jobs file are not valid requests; nothing was sent. ``unreadable`` is
    true when some line is not even a JSON object (bad bytes, not JSON), not just invalid."""

    def __init__(self, problems: list[tuple[int, str]], unreadable: bool = False) -> None:
        self.problems, self.unreadable = problems, unreadable
        lines = [f"  line {n}: {message}" for n, message in problems]
        super().__init__(
            f"{len(problems)} invalid line(s); nothing was sent "
            "(fix them, or pass --skip-invalid):\n" + "\n".join(lines)
        )


@dataclass
class BatchOptions:
    gateway: str
    out: Path
    concurrency: int = 8
    rate: float = 5.0  # submits per second; 0 for no limit
    skip_invalid: bool = False
    resubmit_unknown: bool = False
    retry_failed: bool = False
    timeout: float | None = None  # per-task wait budget (default: the spec's)
    client: Any = None  # an AsyncImini / AsyncApimart; built from the environment if None
    sleep: Callable[[float], Awaitable[None]] | None = None
    on_task: Callable[[int, Any], None] | None = None  # (line, Task) as each poll comes back


def load_jobs(path: Path) -> list[tuple[int, Any, str | None]]:
    """(line number, body, problem) for every non-empty line.

    Lines are split on LF (a CR before it is dropped); a byte-order mark is allowed; a line that
    is not UTF-8, not JSON, or not a JSON object is a problem of its own line, not of the file.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise errors.InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    jobs: list[tuple[int, Any, str | None]] = []
    for number, raw in enumerate(data.removeprefix(b"\xef\xbb\xbf").split(b"\n"), start=1):
        raw = raw.removesuffix(b"\r")
        if not raw.strip():
            continue
        try:
            body = jsonin.parse(raw)
        except jsonin.BadJSON as exc:
            jobs.append((number, None, f"not usable JSON: {exc}"))
            continue
        if not isinstance(body, dict):
            jobs.append((number, None, f"a job must be a JSON object, not {_kind(body)}"))
            continue
        jobs.append((number, body, None))
    return jobs


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    names = {list: "an array", str: "a string", bool: "a boolean", int: "a number"}
    return names.get(type(value), "a number")


def _prepare(journal: Journal, path: Path, options: BatchOptions) -> None:
    known = journal.meta("gateway")
    if known is not None and known != options.gateway:
        raise errors.ConfigurationError(
            f"{options.out} holds a {known} batch; use another output folder for {options.gateway}"
        )
    journal.set_meta("gateway", options.gateway)
    check = validator(options.gateway)
    problems: list[tuple[int, str]] = []
    valid: list[tuple[int, Any]] = []
    unreadable = False
    for number, body, problem in load_jobs(path):
        unreadable = unreadable or body is None
        if problem is None:
            result = check.check(body)
            problem = "; ".join(v.message for v in result.violations) or None
        if problem:
            problems.append((number, problem))
        else:
            valid.append((number, body))
    if problems and not options.skip_invalid:
        raise BatchInvalidError(problems, unreadable)
    for number, problem in problems:
        journal.add(number, {"invalid": True}, state="invalid", error=problem)
    for number, body in valid:
        journal.add(number, body)
    journal.recover()
    if options.retry_failed:
        for job in journal.jobs("failed"):
            journal.retry(job.line)
    if options.resubmit_unknown:
        for job in journal.jobs("unknown"):
            journal.set(job.line, "pending", expect="unknown", error=None)


class _RateLimit:
    def __init__(self, per_second: float, sleep: Callable[[float], Awaitable[None]]) -> None:
        self.interval = 1 / per_second if per_second > 0 else 0.0
        self.next = 0.0
        self.sleep = sleep
        self.lock = asyncio.Lock()

    async def wait(self) -> None:
        if not self.interval:
            return
        async with self.lock:
            now = time.monotonic()
            if self.next > now:
                await self.sleep(self.next - now)
            self.next = max(now, self.next) + self.interval


async def _run_job(
    job: Job,
    client: Any,
    journal: Journal,
    options: BatchOptions,
    limit: _RateLimit,
    notify: Callable[[Job], None],
    stop: asyncio.Event,
) -> None:
    line, task_id, fresh = job.line, job.task_id, False
    if job.state == "pending":
        await limit.wait()
        if stop.is_set() or not journal.start_submit(line):  # committed before the request
            return None  # stopping, or another process claimed this job
        key = job.idempotency_key if gateway(options.gateway).idempotency_header else None
        try:
            submitted = await client.generate(job.body, idempotency_key=key)
        except (errors.APIError, errors.APIConnectionError) as exc:
            unknown = bool(getattr(exc, "may_have_been_submitted", False))
            journal.set(line, "unknown" if unknown else "failed", error=_reason(exc))
            return notify(job)
        except errors.MalformedResponseError as exc:  # answered, so the task may well exist
            journal.set(line, "unknown", error=_reason(exc))
            return notify(job)
        except errors.RequestValidationError as exc:  # refused before anything was sent
            journal.set(line, "failed", error=_reason(exc))
            return notify(job)
        task_id, fresh = submitted.id, True
        journal.set(line, "submitted", task_id=task_id, error=None)
        notify(job)
    assert task_id is not None
    try:
        report = options.on_task
        on_progress = (lambda t: report(line, t)) if report is not None else None
        task = await client.wait(
            task_id, timeout=options.timeout, poll_now=not fresh, on_progress=on_progress
        )
    except errors.TaskFailedError as exc:
        journal.set(line, "failed", status=exc.task.raw_status, error=_reason(exc))
        return notify(job)
    except (
        errors.WaitTimeoutError,
        errors.APIError,
        errors.APIConnectionError,
        errors.MalformedResponseError,
    ) as exc:
        journal.set(line, "submitted", error=f"still waiting: {_reason(exc)}")  # polled on resume
        return notify(job)
    try:
        path = await client.download(task, options.out / f"{line:06d}.mp4", overwrite=True)
        digest = await asyncio.to_thread(_sha256, path)
    except (errors.DownloadError, errors.APIConnectionError, errors.DiskError) as exc:
        journal.set(line, "submitted", status=task.raw_status, error=f"download: {_reason(exc)}")
        return notify(job)
    journal.set(
        line, "downloaded", status=task.raw_status, file=path.name, sha256=digest, error=None
    )
    notify(job)


def _reason(exc: BaseException) -> str:
    """The typed reason stored in the journal: the error's class and its message."""
    return f"{type(exc).__name__}: {exc}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
    except OSError as exc:
        raise errors.DiskError(f"cannot read back {path}: {exc.strerror or exc}") from exc
    return digest.hexdigest()


async def run_batch(
    path: Path, options: BatchOptions, on_event: Event | None = None
) -> dict[str, int]:
    """Run (or resume) the batch; returns the journal's job counts per state.

    Raises JournalBusyError at once if another process runs a batch on the same folder, and
    JournalError if the journal cannot be written (jobs not yet sent stay pending).
    """
    if options.out.exists() and not options.out.is_dir():
        raise errors.InputError(f"--out {options.out} is a file; give a folder")
    journal = Journal(options.out)
    try:
        journal.lock()
        _prepare(journal, path, options)
        _remove_partial_files(options.out)
        client = options.client
        if client is None:
            from vidgate.aio import AsyncApimart, AsyncImini

            client = (AsyncImini if options.gateway == "imini" else AsyncApimart)()
        todo = list(journal.jobs("pending", "submitted"))
        gate = asyncio.Semaphore(max(1, options.concurrency))
        limit = _RateLimit(options.rate, options.sleep or asyncio.sleep)
        stop = asyncio.Event()
        fatal: list[BaseException] = []

        def notify(job: Job | None) -> None:
            if on_event:
                on_event(job, journal.counts())

        async def guarded(job: Job) -> None:
            async with gate:
                try:
                    await _run_job(job, client, journal, options, limit, notify, stop)
                except Exception as exc:
                    # send nothing more; the jobs in flight finish and record what they can
                    # (a job that claimed its submit but cannot record the reply stays
                    # `submitting` and becomes `unknown` on resume: it may exist)
                    stop.set()
                    fatal.append(exc)

        try:
            notify(None)
            await asyncio.gather(*(guarded(job) for job in todo))
        finally:
            if options.client is None:
                await client.aclose()
        if fatal:
            raise fatal[0]
        return journal.counts()
    finally:
        journal.close()


def _remove_partial_files(folder: Path) -> None:
    """Partial downloads of earlier (killed) runs; only the lock holder writes here."""
    for part in folder.glob(".*.part"):
        part.unlink(missing_ok=True)
