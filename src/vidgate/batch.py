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
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vidgate import errors
from vidgate.gateways import gateway
from vidgate.journal import Job, Journal
from vidgate.validation import validator

__all__ = ["BatchInvalidError", "BatchOptions", "load_jobs", "run_batch"]

Event = Callable[[Job | None, dict[str, int]], None]


class BatchInvalidError(errors.VidgateError):
    """Some lines of the jobs file are not valid requests; nothing was sent."""

    def __init__(self, problems: list[tuple[int, str]]) -> None:
        self.problems = problems
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
    """(line number, body, problem) for every non-empty line."""
    jobs: list[tuple[int, Any, str | None]] = []
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not text.strip():
            continue
        try:
            jobs.append((number, json.loads(text), None))
        except json.JSONDecodeError as exc:
            jobs.append((number, None, f"not JSON ({exc.msg}, column {exc.colno})"))
    return jobs


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
    for number, body, problem in load_jobs(path):
        if problem is None:
            result = check.check(body)
            problem = "; ".join(v.message for v in result.violations) or None
        if problem:
            problems.append((number, problem))
        else:
            valid.append((number, body))
    if problems and not options.skip_invalid:
        raise BatchInvalidError(problems)
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
            journal.set(job.line, "pending", error=None)


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
) -> None:
    line, task_id, fresh = job.line, job.task_id, False
    if job.state == "pending":
        await limit.wait()
        journal.start_submit(line)  # committed before the request is written
        key = job.idempotency_key if gateway(options.gateway).idempotency_header else None
        try:
            submitted = await client.generate(job.body, idempotency_key=key)
        except (errors.APIError, errors.APIConnectionError) as exc:
            unknown = bool(getattr(exc, "may_have_been_submitted", False))
            journal.set(line, "unknown" if unknown else "failed", error=str(exc))
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
        journal.set(line, "failed", status=exc.task.raw_status, error=str(exc))
        return notify(job)
    except (
        errors.WaitTimeoutError,
        errors.APIError,
        errors.APIConnectionError,
        errors.MalformedResponseError,
    ) as exc:
        journal.set(line, "submitted", error=f"still waiting: {exc}")  # polled again on resume
        return notify(job)
    try:
        path = await client.download(task, options.out / f"{line:06d}.mp4", overwrite=True)
    except (errors.DownloadError, errors.APIConnectionError) as exc:
        journal.set(line, "submitted", status=task.raw_status, error=f"download: {exc}")
        return notify(job)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    journal.set(
        line, "downloaded", status=task.raw_status, file=path.name, sha256=digest, error=None
    )
    notify(job)


async def run_batch(
    path: Path, options: BatchOptions, on_event: Event | None = None
) -> dict[str, int]:
    """Run (or resume) the batch; returns the journal's job counts per state."""
    journal = Journal(options.out)
    try:
        _prepare(journal, path, options)
        client = options.client
        if client is None:
            from vidgate.aio import AsyncApimart, AsyncImini

            client = (AsyncImini if options.gateway == "imini" else AsyncApimart)()
        todo = list(journal.jobs("pending", "submitted"))
        gate = asyncio.Semaphore(max(1, options.concurrency))
        limit = _RateLimit(options.rate, options.sleep or asyncio.sleep)

        def notify(job: Job | None) -> None:
            if on_event:
                on_event(job, journal.counts())

        async def guarded(job: Job) -> None:
            async with gate:
                await _run_job(job, client, journal, options, limit, notify)

        notify(None)
        await asyncio.gather(*(guarded(job) for job in todo))
        if options.client is None:
            await client.aclose()
        return journal.counts()
    finally:
        journal.close()
