"""`vidgate batch`: many jobs from a JSONL file, resumable, on one machine (a SQLite journal in
--out) or spread over several (a PostgreSQL journal, --worker). Registered on the CLI's app
when ``vidgate.cli`` imports this module; the work itself is ``vidgate.batch``."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import signal
import stat
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, TextColumn

from vidgate import errors, exits
from vidgate.batch import LOAD_FIRST
from vidgate.batch.journal import URL_ENV, safe_url
from vidgate.cli._common import (
    FAILED,
    SPELLING,
    USAGE,
    Bar,
    Command,
    GatewayName,
    JsonOpt,
    app,
    emit,
    err,
    fail,
    flag,
    gateway_name,
    on_ctrl_c,
    out,
    printable,
)

__all__ = ["batch"]

SPELLING.update({"load_only=True": "--load", LOAD_FIRST: "vidgate batch JOBS --load"})

RESUBMIT_HELP = (
    "submit again the jobs whose first submit may have reached the gateway "
    "(with their idempotency key where the gateway takes one)"
)


JOURNAL_HELP = (
    "postgresql://… to share the batch with workers on other machines (default: SQLite in --out)"
)
BATCH_GATEWAY_HELP = "which gateway (default: the one of the batch in the journal, else imini)"
STOPPED = (
    "stopped (SIGTERM): submits under way were recorded, the other jobs handed back; run the "
    "same command again, or let the other workers finish them"
)
STATUS_KEYS = (
    "line",
    "state",
    "task_id",
    "status",
    "file",
    "size",
    "sha256",
    "worker",
    "error",
    "attempts",
)
PENDING_HINT = "the jobs it did not send stay pending: run the same command again once fixed"
RPS_HELP = "API requests per second for all workers together (kept in the journal; 0: none)"
IN_FLIGHT_HELP = "tasks in flight for all workers together (kept in the journal; 0: no cap)"


@app.command(cls=Command)
def batch(
    jobs: Annotated[
        Path | None, typer.Argument(metavar="JOBS", help="JSONL file: one request body per line")
    ] = None,
    gateway: Annotated[
        GatewayName | None, typer.Option("--gateway", "-g", help=BATCH_GATEWAY_HELP)
    ] = None,
    out_dir: Annotated[
        Path, typer.Option("--out", help="folder for the videos and the journal")
    ] = Path("batch-output"),
    status_dir: Annotated[
        str | None, typer.Option("--status", help="print a batch's journal (folder or URL)")
    ] = None,
    concurrency: Annotated[int, typer.Option(help="jobs in flight at once")] = 8,
    rate: Annotated[float, typer.Option(help="submits per second (0: no limit)")] = 5.0,
    skip_invalid: Annotated[
        bool, typer.Option(help="run the valid lines, record the others")
    ] = False,
    retry_failed: Annotated[bool, typer.Option(help="submit failed jobs again")] = False,
    resubmit_unknown: Annotated[bool, typer.Option(help=RESUBMIT_HELP)] = False,
    base_url: Annotated[str | None, typer.Option(help="gateway base URL")] = None,
    as_json: JsonOpt = False,
    journal: Annotated[str | None, typer.Option(help=JOURNAL_HELP, envvar=URL_ENV)] = None,
    load: Annotated[bool, typer.Option(help="load JOBS into the journal and stop")] = False,
    worker: Annotated[bool, typer.Option(help="join the batch in --journal (no JOBS)")] = False,
    lease: Annotated[float, typer.Option(help="seconds a claimed job is held unrenewed")] = 30.0,
    gateway_rps: Annotated[float | None, typer.Option(help=RPS_HELP)] = None,
    gateway_in_flight: Annotated[int | None, typer.Option(help=IN_FLIGHT_HELP)] = None,
) -> None:
    """Submit, wait and download many jobs; safe to kill and run again (it resumes)."""

    from vidgate.batch.journal import Journal, open_journal

    if status_dir is not None and (jobs is not None or worker or load):
        fail("--status only reads a journal: give no JOBS, --worker or --load with it", USAGE)
    if status_dir is not None:  # a folder, or a journal URL (read only: nothing is created)
        shared = "://" in status_dir or "=" in status_dir
        if not shared and not (Path(status_dir) / Journal.NAME).is_file():
            raise errors.InputError(f"no batch in {status_dir} (no {Journal.NAME} there)")
        folder = Path(status_dir)
        book = (
            open_journal(status_dir, folder, create=False)
            if shared
            else Journal(folder, create=False)
        )
        try:
            _print_journal(book, as_json)
        finally:
            book.close()
        return
    if worker and (jobs is not None or load):
        fail("--worker joins the batch already in the journal: give no JOBS and no --load", USAGE)
    if worker and jobs is None and journal is not None:
        pass  # a worker joins the batch already loaded into the journal
    elif jobs is None:
        fail("give a jobs file (or --worker --journal URL, or --status DIR)", USAGE)
    elif not jobs.is_file():
        fail(f"cannot read {jobs}: {_not_a_file(jobs)}", USAGE)
    from vidgate.batch import BatchOptions, batch_gateway, run_batch

    if gateway is not None:
        name = gateway_name(gateway)
    else:  # a worker or a resumed run: the batch says which gateway
        name = batch_gateway(journal, out_dir) or GatewayName.imini.value
    terminated = asyncio.Event()
    states = ("pending", "submitted", "downloaded", "failed", "unknown", "invalid")
    bar = Bar(
        TextColumn("{task.description:>10}", markup=False),  # a task's status: text, not markup
        BarColumn(),
        TextColumn("{task.completed:>5.0f}"),
    )

    def stop_bar() -> None:  # cleared: its last frame is printed again only if the batch ran
        if bar.live.is_started:
            bar.stop()

    with contextlib.ExitStack() as shown:  # shown from the first event on: a run that ends
        shown.callback(stop_bar)  # before it (no key, invalid lines) prints its one line alone
        rows: dict[str, Any] = {}  # added at the first event: after validation, never before
        lost: dict[int, str] = {}  # line -> what this worker was about to do when it found out
        running: dict[int, Any] = {}  # line -> row of a job in flight

        def on_event(job: Any, counts: dict[str, int]) -> None:
            if not rows:
                bar.start()
                rows.update({state: bar.add_task(state, total=None) for state in states})
            total = sum(counts.values())
            for state, row in rows.items():
                bar.update(row, completed=counts.get(state, 0), total=total)
            if job is not None and job.line in running:
                bar.remove_task(running.pop(job.line))

        def on_task(line: int, task: Any) -> None:
            if line not in running:
                running[line] = bar.add_task(f"line {line}", total=100)
            done = 100 if task.succeeded else (task.progress or 0)
            status = printable(task.raw_status)
            bar.update(running[line], completed=done, description=f"line {line} {status}")

        options = BatchOptions(
            name,
            out_dir,
            concurrency,
            rate,
            skip_invalid,
            resubmit_unknown,
            retry_failed,
            on_task=on_task,
            journal=journal,
            load_only=load,
            lease=lease,
            gateway_rps=gateway_rps,
            gateway_in_flight=gateway_in_flight,
            base_url=base_url,
            stop=terminated,
            on_lost=lost.__setitem__,
        )

        async def run() -> dict[str, int]:  # SIGTERM (docker stop, a spot reclaim): stop cleanly
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, terminated.set)
            return await run_batch(jobs, options, on_event)

        with on_ctrl_c(
            "the batch stopped; run the same command again to resume (finished jobs are "
            "skipped, known tasks polled, nothing is resubmitted)"
        ):
            try:
                counts, stopped_by = asyncio.run(run()), None
            except (errors.APIError, errors.APIConnectionError, errors.DiskError) as exc:
                counts, stopped_by = {}, exc
    if stopped_by is not None:  # the one line, with no progress display before it
        fail(
            f"the batch stopped: {stopped_by.worded(flag)} ({PENDING_HINT})",
            exits.code_for(stopped_by),
            stopped_by,
        )
    bar.keep()
    where = safe_url(journal) if journal else out_dir
    if lost:  # paused past its lease (SIGSTOP, a frozen database, a starved machine)
        lines = ", ".join(str(n) for n in sorted(lost)[:20]) + (" …" if len(lost) > 20 else "")
        err.print(
            f"{len(lost)} job(s) were taken over by another worker while this one was held up "
            f"(lines {lines}); it stopped work on them: nothing more was sent or saved for them",
            soft_wrap=True,
            markup=False,
        )
    if as_json:
        emit({"counts": counts, "journal": str(where)})
    else:
        summary = " ".join(f"{k}={v}" for k, v in sorted(counts.items()))
        # one line, for scripts
        out.print(f"{summary}  (journal in {where})", soft_wrap=True, markup=False)
    if load:
        raise typer.Exit(0)
    if terminated.is_set():
        fail(STOPPED, exits.INTERRUPTED)
    if counts.get("unknown") and not as_json:
        from vidgate.gateways import gateway as spec_of

        after = (
            "check before --resubmit-unknown"
            if spec_of(name).idempotency_header
            else f"{name} takes no idempotency key, so vidgate never sends them again"
        )
        out.print(f"[yellow]unknown jobs may exist at the gateway; {after}[/]")
    raise typer.Exit(0 if set(counts) <= {"downloaded", "invalid"} else FAILED)


def _not_a_file(path: Path) -> str:
    """Why ``path`` (not a regular file) cannot be read as a jobs file, as the system says it."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        return str(exc.strerror or exc)
    return os.strerror(errno.EISDIR) if stat.S_ISDIR(mode) else "not a regular file"


def _print_journal(journal: Any, as_json: bool = False) -> None:
    from rich.table import Column, Table
    from rich.text import Text

    if as_json:
        keys = STATUS_KEYS
        emit(
            {
                "jobs": [{k: getattr(job, k) for k in keys} for job in journal.jobs()],
                "counts": journal.counts(),
            }
        )
        return
    # ids and file names wrap rather than end in "…": a script or a person may copy them
    fold = {name: Column(name, overflow="fold") for name in ("task", "status", "file", "error")}
    names = ("line", "state", "task", "status", "file", "bytes", "worker", "error")
    table = Table(*(fold.get(name, name) for name in names))
    for job in journal.jobs():  # every cell is Text: ids, statuses and errors are not markup
        cells = (job.task_id, job.status, job.file, job.size, job.worker, (job.error or "")[:80])
        table.add_row(
            Text(str(job.line)),
            Text(printable(job.state)),
            *(Text("" if cell is None else printable(cell)) for cell in cells),
        )
    out.print(table)
    counts = sorted(journal.counts().items())
    out.print(" ".join(f"{k}={v}" for k, v in counts), markup=False)
