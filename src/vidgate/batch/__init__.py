"""Batch runs that lose nothing: submit, wait and download many jobs, safe to kill at any moment.

    from vidgate.batch import BatchOptions, run_batch
    counts = asyncio.run(run_batch(Path("jobs.jsonl"), BatchOptions("apimart", Path("out"))))

Each line of the jobs file is one request body. Lines are validated before anything is sent; the
journal (vidgate.batch.journal) records every step, so running the same command again resumes:
finished jobs are skipped, known task ids are polled instead of resubmitted, and a submit that may
have reached the gateway without its reply being recorded is reported as ``unknown`` and resubmitted
only with ``resubmit_unknown`` (then with the job's idempotency key where the gateway takes one).

With ``journal="postgresql://…"`` the batch lives in PostgreSQL and any number of workers on any
machines share it: one run loads it (``load_only``, or the first run), the others join with no
jobs file (``path=None``). See vidgate.batch.workers for claims, leases and the shared budget.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vidgate import _files, errors, jsonin
from vidgate.batch import placing, workers
from vidgate.batch.journal import Job, Journal, JournalBackend, journal_url, open_journal, safe_url
from vidgate.gateways import gateway
from vidgate.validation import validator

__all__ = [
    "LOAD_FIRST",
    "BatchInvalidError",
    "BatchOptions",
    "batch_gateway",
    "check_writable",
    "load_jobs",
    "run_batch",
]

Event = Callable[[Job | None, dict[str, int]], None]


class BatchInvalidError(errors.VidgateError):
    """Some lines of the jobs file are not valid requests; nothing was sent. ``unreadable`` is
    true when some line is not even a JSON object (bad bytes, not JSON), not just invalid."""

    def __init__(self, problems: list[tuple[int, str]], unreadable: bool = False) -> None:
        self.problems, self.unreadable = problems, unreadable
        lines = "".join(f"\n  line {n}: {message}" for n, message in problems)
        template = "{count} invalid line(s); nothing was sent (fix them, or pass {0}):{lines}"
        values = {"count": len(problems), "lines": lines}
        super().__init__(template.format("skip_invalid=True", **values))
        self.keep_wording(template, ("skip_invalid=True",), values)


@dataclass
class BatchOptions:
    """How ``run_batch`` runs a batch; the ``vidgate batch`` options are the same settings."""

    gateway: str
    """The gateway every job goes to: ``"imini"`` or ``"apimart"``."""
    out: Path
    """The folder for the downloaded files and, unless ``journal`` says otherwise, the SQLite
    journal."""
    concurrency: int = 8
    """How many jobs this process has in flight at once."""
    rate: float = 5.0
    """Submits per second from this process; 0 for no limit."""
    skip_invalid: bool = False
    """Run the valid lines and record the invalid ones, instead of refusing the whole file."""
    resubmit_unknown: bool = False
    """Submit again the jobs whose first submit may have reached the gateway (with their
    idempotency key where the gateway takes one)."""
    retry_failed: bool = False
    """Submit again the jobs whose task failed in an earlier run."""
    timeout: float | None = None
    """Seconds each task is waited for at most; None for the spec's default."""
    client: Any = None
    """An ``AsyncImini`` / ``AsyncApimart`` to use; None builds one from the environment."""
    sleep: Callable[[float], Awaitable[None]] | None = None
    """The sleep used to pace submits (``asyncio.sleep`` when None); tests pass a fake one."""
    on_task: Callable[[int, Any], None] | None = None
    """Called with (line, Task) each time a poll of a job's task comes back."""
    journal: str | None = None
    """A ``postgresql://`` URL to share the batch with workers elsewhere; None reads
    ``VIDGATE_JOURNAL_URL``, else uses SQLite in ``out``."""
    load_only: bool = False
    """Load the jobs into the journal and stop (workers run them)."""
    lease: float = 30.0
    """Seconds a job claimed by this worker stays its own without a heartbeat."""
    gateway_rps: float | None = None
    """API requests per second for all workers together, kept in the journal (0: no shared
    rate); None keeps the stored value."""
    gateway_in_flight: int | None = None
    """Tasks in flight for all workers together, kept in the journal (0: no cap); None keeps
    the stored value."""
    base_url: str | None = None
    """The base URL of the client built here (not used with ``client``)."""
    transport: Any = None
    """An ``httpx.AsyncBaseTransport`` for the client built here."""
    stop: asyncio.Event | None = None
    """Set it to stop soon and cleanly (the CLI does on SIGTERM): nothing new is submitted,
    submits under way record their reply, jobs being polled or downloaded stay submitted for
    another worker or the next run, and ``run_batch`` returns."""
    on_lost: Callable[[int, str], None] | None = None
    """Called with (line, what it was about to do) for each job another worker took over
    because this one held it past its lease (paused, starved); nothing more was done for it."""


def batch_gateway(url: str | None, out: Path) -> str | None:
    """The gateway of the batch already in the journal (the URL, else the SQLite journal in
    ``out``), or None if there is none yet: a worker need not be told it again."""
    url = journal_url(url)
    if url is None and not (out / Journal.NAME).is_file():
        return None  # no SQLite journal yet: do not create one just to look
    try:
        journal = open_journal(url, out, create=False)
    except errors.InputError:  # no tables: no batch yet
        return None
    try:
        return _stored_gateway(journal, safe_url(url) if url else out)
    finally:
        journal.close()


def _stored_gateway(journal: JournalBackend, where: Any) -> str | None:
    """The journal's gateway setting, checked like a CLI value (anything could be written in
    a shared database's settings table)."""
    name = journal.meta("gateway")
    if name is not None:
        try:
            gateway(name)
        except ValueError:
            raise errors.ConfigurationError(
                f"{where}: the batch's gateway setting {name[:40]!r} is not a gateway vidgate "
                "knows; load the batch into a new journal"
            ) from None
    return name


SETTINGS = ("gateway_rps", "gateway_in_flight")  # kept in the journal, shared by every worker


def _shared_settings(journal: JournalBackend, where: Any) -> tuple[float, int]:
    """The batch's request rate and cap on tasks in flight, read from the journal and checked
    like CLI values: a value no CLI would accept (text, -1, nan, 1e-300, a fraction of a task)
    stops the worker with one line instead of turning pacing off or hanging it."""
    import math

    values: list[float] = []
    for name in SETTINGS:
        text = journal.meta(name)
        try:
            value = float(text) if text is not None else 0.0
        except ValueError:
            value = math.nan
        if name == "gateway_in_flight":
            ok, rule = math.isfinite(value) and value >= 0 and value == int(value), "0 or more"
        else:
            ok, rule = math.isfinite(value) and _rate_ok(value), f"0 or at least {MIN_RATE}"
        if not ok:
            raise errors.ConfigurationError.naming(
                "{where}: the batch's {name} setting {text!r} is not usable ({0} must be {rule}); "
                "load the batch again with {0}",
                name,
                name=name,
                where=where,
                text=(text or "")[:40],
                rule=rule,
            )
        values.append(value)
    return values[0], int(values[1])


def _store_settings(journal: JournalBackend, loading: bool, options: BatchOptions) -> None:
    """The loader sets the batch's shared settings; a joining worker's must match them (never
    mixed: one budget for all workers, whoever started last)."""
    for name in SETTINGS:
        given = getattr(options, name)
        if given is None:
            continue
        stored = journal.meta(name)
        if loading or stored is None:
            journal.set_meta(name, str(given))
            continue
        try:
            same = float(stored) == float(given)
        except ValueError:
            same = False
        if not same:
            raise errors.ConfigurationError.naming(
                "{0} {given:g}: the batch was loaded with {stored!r}; a worker takes the batch's "
                "value (give the same, or none; the loader changes it with {1})",
                name,
                "load_only=True",
                given=given,
                stored=stored[:40],
            )


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


MIN_RATE = 0.01  # requests per second: one per 100 s; below it a "rate" is a typo, not a plan


def _rate_ok(rate: float | None) -> bool:
    return rate is None or rate == 0 or rate >= MIN_RATE


def check_options(options: BatchOptions) -> None:
    """Refuse settings that cannot work (a worker with 0 jobs at once waits forever; a
    negative cap is never satisfied) before anything is opened or sent."""
    import math

    def bad(name: str, value: float | None, rule: str, ok: bool) -> None:
        if value is not None and not (math.isfinite(value) and ok):
            raise errors.ConfigurationError.naming(
                "{0} {value!r}: must be {rule}", name, value=value, rule=rule
            )

    bad("concurrency", options.concurrency, "at least 1", options.concurrency >= 1)
    bad("rate", options.rate, f"0 (no limit) or at least {MIN_RATE}", _rate_ok(options.rate))
    bad("lease", options.lease, "at least 1 second", options.lease >= 1)
    bad("timeout", options.timeout, "more than 0 seconds", (options.timeout or 0) > 0)
    rps, cap = options.gateway_rps, options.gateway_in_flight
    bad("gateway_rps", rps, f"0 (no shared rate) or at least {MIN_RATE}", _rate_ok(rps))
    bad("gateway_in_flight", cap, "0 (no shared cap) or more", cap is None or cap >= 0)
    if options.resubmit_unknown and not gateway(options.gateway).idempotency_header:
        raise errors.ConfigurationError.naming(
            NO_BLIND_RESUBMIT, "resubmit_unknown=True", gateway=options.gateway
        )


# a job whose submit may have reached a gateway with no idempotency key is never sent again:
# nothing could tell the second submit from a new task (at start-up, on takeover, mid-run)
NO_BLIND_RESUBMIT = (
    "{0}: {gateway} takes no idempotency key, so sending an unknown job again "
    "could pay for it twice; look its task up at the gateway instead"
)


# how a batch is loaded, as a setting an error message names (the CLI: vidgate batch JOBS --load)
LOAD_FIRST = "a run with the jobs and load_only=True"


def _no_batch_yet(where: Any) -> errors.ConfigurationError:
    return errors.ConfigurationError.naming(
        "{where} holds no batch yet: load one first ({0})", LOAD_FIRST, where=where
    )


def _prepare(
    journal: JournalBackend, path: Path | None, lines: _Lines | None, options: BatchOptions
) -> None:
    """The batch in the journal: ``path``'s lines loaded (``lines`` if they were checked
    already), the settings stored, a crashed run's leftovers recovered."""
    url = journal_url(options.journal)
    where = safe_url(url) if url else options.out
    known = _stored_gateway(journal, where)
    if known is not None and known != options.gateway:
        raise errors.ConfigurationError(
            f"{where} holds a batch for {known}; use another journal for {options.gateway}"
        )
    if path is None:
        if known is None:
            raise _no_batch_yet(where)
    else:  # (checked after the gateway: a batch's lines are checked against its own)
        _load(journal, lines or _checked_lines(path, options), options)
    _store_settings(journal, path is not None, options)
    _shared_settings(journal, where)
    journal.recover()
    if options.retry_failed:
        for job in journal.jobs("failed"):
            journal.retry(job.line)
    if options.resubmit_unknown and gateway(options.gateway).idempotency_header:
        for job in journal.jobs("unknown"):
            journal.set(job.line, "pending", expect="unknown", error=None)


_Lines = tuple[list[tuple[int, str]], list[tuple[int, Any]]]
"""The jobs file's invalid lines (number, problem) and valid ones (number, body)."""


def _checked_lines(path: Path, options: BatchOptions) -> _Lines:
    """Every line read and validated, before the journal is opened: a batch that stops here
    (unreadable file, invalid lines) leaves nothing behind, not even an empty journal."""
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
    return problems, valid


def _load(journal: JournalBackend, lines: _Lines, options: BatchOptions) -> None:
    problems, valid = lines
    with journal.loading():  # a second loader waits, then finds every line there
        journal.set_meta("gateway", options.gateway)
        journal.add_many([(n, {"invalid": True}, "invalid", problem) for n, problem in problems])
        journal.add_many([(n, body, "pending", None) for n, body in valid])


MAX_NAMES = 100  # names tried for one job's file before giving up
# submit refusals that say nothing about the job itself (after the client's own retries): they
# stop the batch and leave the job pending, rather than fail every job in turn
NOT_THE_JOBS_FAULT = (
    errors.AuthenticationError,
    errors.PaymentRequiredError,
    errors.PermissionDeniedError,
    errors.RateLimitError,
    errors.InternalServerError,
    errors.APIConnectionError,
)


class _RateLimit:
    def __init__(self, per_second: float, sleep: Callable[[float], Awaitable[None]]) -> None:
        self.interval = 1 / per_second if per_second > 0 else 0.0
        self.next = 0.0
        self.sleep = sleep
        self.lock = asyncio.Lock()

    async def wait(self, stop: asyncio.Event) -> bool:
        """Wait for this process's next submit moment; False if ``stop`` was set first."""
        if not self.interval:
            return not stop.is_set()
        async with self.lock:
            if stop.is_set():
                return False
            now = time.monotonic()
            if self.next > now and not await workers.pause(self.sleep, self.next - now, stop):
                return False
            self.next = max(now, self.next) + self.interval
        return True


@dataclass
class _Worker:
    owner: str  # this process, as recorded in the journal
    cap: int  # tasks in flight over all workers (0: no cap)
    slots: asyncio.Lock  # one of this process's jobs at a time asks for a slot
    lease: float = 30.0
    paced: workers.Paced | None = None  # the shared request rate, booked before each submit
    on_lost: Callable[[int, str], None] | None = None
    taken: set[int] = field(default_factory=set)  # lines lost to others, not yet let go of

    def lost(self, line: int, what: str) -> None:
        """This worker no longer holds the job (its lease ran out and another worker took the job
        over, or a run found it): it does nothing more for it."""
        self.taken.add(line)
        if self.on_lost is not None:
            self.on_lost(line, what)


async def _run_job(
    job: Job,
    client: Any,
    journal: JournalBackend,
    options: BatchOptions,
    limit: _RateLimit,
    notify: Callable[[Job], None],
    me: _Worker,
    stop: asyncio.Event,
) -> None:
    line, task_id, fresh = job.line, job.task_id, False
    mine = me.owner
    if job.state == "pending":
        # every wait comes first (the in-flight slot, this process's rate, the shared rate): the
        # job becomes `submitting` only when its request is about to be written, so a worker
        # killed or stopped while it waits leaves it pending, never `unknown`
        if me.cap and not await workers.take_slot(
            journal, line, me.cap, asyncio.sleep, me.slots, stop
        ):
            return None  # stopping
        due = None
        if await limit.wait(stop) and me.paced is not None:
            due = await me.paced.book(stop)
        if stop.is_set() or not journal.start_submit(line, mine, options.lease):
            if stop.is_set():
                journal.free_slot(line, mine)
            else:  # another worker holds it now (this one was paused past its lease)
                me.lost(line, "submit")
            return None
        key = job.idempotency_key if gateway(options.gateway).idempotency_header else None
        try:
            mine_still = lambda: journal.hold(line, mine, "submitting", options.lease)  # noqa: E731
            with workers.booked(due, stop, mine_still):
                submitted = await client.generate(job.body, idempotency_key=key)
        except workers.NotSent:  # stopped while waiting for a later moment, or taken over
            if not journal.set(line, "pending", expect="submitting", owner=mine, error=None):
                me.lost(line, "submit")  # meanwhile: never sent by this worker either way
            return notify(job)
        except (errors.APIError, errors.APIConnectionError) as exc:
            if getattr(exc, "may_have_been_submitted", False):
                journal.set(line, "unknown", owner=mine, error=_reason(exc))
            elif isinstance(exc, NOT_THE_JOBS_FAULT):  # the key, the account, the gateway:
                journal.set(line, "pending", expect="submitting", owner=mine, error=_reason(exc))
                notify(job)
                raise  # every other job would meet it too: stop the batch (jobs stay pending)
            else:
                journal.set(line, "failed", owner=mine, error=_reason(exc))
            return notify(job)
        except errors.MalformedResponseError as exc:  # answered, so the task may well exist
            journal.set(line, "unknown", owner=mine, error=_reason(exc))
            return notify(job)
        except errors.RequestValidationError as exc:  # refused before anything was sent
            journal.set(line, "failed", owner=mine, error=_reason(exc))
            return notify(job)
        task_id, fresh = submitted.id, True
        if not journal.set(line, "submitted", owner=mine, task_id=task_id, error=None):
            # taken over while the submit was out (it became `unknown`, so nobody sent it again):
            # its task id is still worth keeping; the job is another worker's to poll now
            journal.set(line, "submitted", expect="unknown", unowned=True, task_id=task_id)
            me.lost(line, "poll")
            return notify(job)
        notify(job)
    assert task_id is not None
    if stop.is_set():
        return None  # handed back: it stays submitted
    finishing = asyncio.ensure_future(_finish(job, task_id, fresh, client, journal, options, me))
    finishing.add_done_callback(_retrieved)  # cancelled with us, it may still end in an error
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({finishing, stopping}, return_when=asyncio.FIRST_COMPLETED)
    except BaseException:  # cancelled itself (Ctrl-C)
        finishing.cancel()
        raise
    finally:
        stopping.cancel()
    if not finishing.done():  # stopping: hand the job back (a partial download is removed)
        finishing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await finishing
        return None
    finishing.result()  # a journal failure is the batch's
    notify(job)


def _retrieved(task: asyncio.Task[Any]) -> None:
    """Mark a task's outcome as seen (asyncio would print its traceback at exit otherwise)."""
    if not task.cancelled():
        task.exception()


async def _finish(
    job: Job,
    task_id: str,
    fresh: bool,
    client: Any,
    journal: JournalBackend,
    options: BatchOptions,
    me: _Worker,
) -> None:
    """Poll a submitted job until its task ends, then download and record the file. Every
    write is checked against this worker still holding the job; one that fails ends the work
    on it (nothing more is downloaded or placed)."""
    line, mine = job.line, me.owner
    try:
        report = options.on_task
        on_progress = (lambda t: report(line, t)) if report is not None else None
        try:
            task = await client.wait(
                task_id, timeout=options.timeout, poll_now=not fresh, on_progress=on_progress
            )
        finally:  # the task ended, or this worker stopped waiting for it (a journal that is
            with contextlib.suppress(errors.JournalError):  # gone fails the next call anyway)
                journal.free_slot(line, mine)
    except errors.TaskFailedError as exc:
        if not journal.set(
            line, "failed", owner=mine, status=exc.task.raw_status, error=_reason(exc)
        ):
            me.lost(line, "record")
        return
    except (
        errors.WaitTimeoutError,
        errors.APIError,
        errors.APIConnectionError,
        errors.MalformedResponseError,
    ) as exc:
        error = f"still waiting: {_reason(exc)}"  # polled on resume
        if not journal.set(line, "submitted", owner=mine, error=error):
            me.lost(line, "record")
        return
    if not journal.hold(line, mine, "submitted", me.lease):  # woke after the lease ran out?
        return me.lost(line, "download")
    part = options.out / f".{line:06d}-{secrets.token_hex(4)}.part"  # this worker's alone
    try:
        try:
            await client.download(task, part)
            digest = await asyncio.to_thread(_sha256, part)
            size = part.stat().st_size
            await _place(journal, part, options.out, line, me, task, digest, size)
        except (errors.DownloadError, errors.APIConnectionError, errors.DiskError, OSError) as exc:
            error = f"download: {_reason(exc)}"
            journal.set(line, "submitted", owner=mine, status=task.raw_status, error=error)
            local = isinstance(exc, errors.DiskError | OSError)
            if local and not isinstance(exc, errors.DownloadError):  # full or unwritable: every
                raise  # file would meet it; stop the batch (the job stays submitted, for later)
    finally:
        part.unlink(missing_ok=True)


async def _place(
    journal: JournalBackend,
    part: Path,
    out: Path,
    line: int,
    me: _Worker,
    task: Any,
    digest: str,
    size: int,
) -> None:
    """Record the file, then move it into place: only a worker that still holds the job gets
    past the record (a compare-and-set on the state and the owner), so one file per job is
    placed, whoever was paused. The name is the line's first free one (000001.mp4, then
    000001-2.mp4, …): a file there already (an earlier batch's video) is never replaced. A kill
    between the record and the move is mended by the next run (vidgate.batch.placing)."""
    for n in range(1, MAX_NAMES + 1):
        path = out / (f"{line:06d}.mp4" if n == 1 else f"{line:06d}-{n}.mp4")
        if path.exists() or path.is_symlink():
            continue
        fields: dict[str, Any] = {"file": str(path.resolve()), "size": size, "sha256": digest}
        if not journal.set(
            line, "downloaded", owner=me.owner, status=task.raw_status, worker=me.owner, **fields
        ):
            return me.lost(line, "place")
        try:
            _files.place(part, path, overwrite=False)
            return None
        except BaseException as exc:  # not placed after all: the job is submitted again,
            undo: dict[str, Any] = {"file": None, "size": None, "sha256": None}  # free again
            mine = {"file": fields["file"], "worker": me.owner}  # not if a run placed it since
            journal.set(line, "submitted", expect="downloaded", unowned=True, was=mine, **undo)
            if isinstance(exc, errors.OutputExistsError):  # appeared a moment ago
                raise errors.DownloadError(f"{path} appeared while the video was placed") from None
            raise
    raise errors.OutputExistsError(f"{out}: {MAX_NAMES} files named {line:06d}*.mp4 exist")


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
    path: Path | None, options: BatchOptions, on_event: Event | None = None
) -> dict[str, int]:
    """Run (or resume) the batch; returns the journal's job counts per state. ``path=None``
    joins a batch already loaded into the journal (a worker).

    Raises JournalBusyError at once if another process runs a batch on the same SQLite journal,
    and JournalError if the journal cannot be written (jobs not yet sent stay pending).
    """
    check_options(options)
    if options.out.exists() and not options.out.is_dir():
        raise errors.InputError.naming("{0} {out} is a file; give a folder", "out", out=options.out)
    # what can fail before anything is recorded fails before a new journal is created: a batch
    # that stops here (unreadable or invalid lines, no API key) leaves no journal or lock behind
    fresh = journal_url(options.journal) is None and not (options.out / Journal.NAME).exists()
    lines = _checked_lines(path, options) if path is not None and fresh else None
    if fresh and options.client is None and not options.load_only:
        await _check_client(options)
    try:  # a worker only joins: it creates no tables
        journal = open_journal(options.journal, options.out, create=path is not None)
    except errors.InputError:
        where = safe_url(journal_url(options.journal) or "")
        raise _no_batch_yet(where) from None
    try:
        journal.lock()
        _prepare(journal, path, lines, options)
        if options.load_only:
            return journal.counts()
        check_writable(options.out)
        url = journal_url(options.journal)
        rps, cap = _shared_settings(journal, safe_url(url) if url else options.out)
        me = _Worker(
            workers.worker_id(),
            cap,
            asyncio.Lock(),
            options.lease,
            on_lost=options.on_lost,
        )
        placing.recover(journal, options.out, me.owner)  # killed between record and move?
        if not journal.shared:  # (a .part it placed is gone; the others are of no use)
            _remove_partial_files(options.out)
        client = options.client
        if client is None:
            client, me.paced = _client(options, journal, rps)
        elif rps:
            raise errors.ConfigurationError(
                "a gateway-wide request rate needs the client built by the batch: give "
                "base_url/transport instead of client"
            )
        limit = _RateLimit(options.rate, options.sleep or asyncio.sleep)
        stop = asyncio.Event()  # set by the caller's stop, or by a fatal error here
        relay = asyncio.ensure_future(_relay(options.stop, stop)) if options.stop else None
        idempotent = gateway(options.gateway).idempotency_header is not None
        fatal: list[BaseException] = []

        def notify(job: Job | None) -> None:
            if on_event:
                on_event(job, journal.counts())

        async def run(job: Job) -> None:
            try:
                await _run_job(job, client, journal, options, limit, notify, me, stop)
            except Exception as exc:
                # send nothing more; submits under way record what they can, polled jobs are
                # handed back (a job that claimed its submit but cannot record the reply stays
                # `submitting` and becomes `unknown` on resume: it may exist)
                stop.set()
                fatal.append(exc)

        def taken_over(lines: list[int]) -> None:  # submits of workers that stopped mid-way
            if options.resubmit_unknown and idempotent:  # the same key finds the same task
                for line in lines:
                    journal.set(line, "pending", expect="unknown", error=None)

        notify(None)
        try:
            await workers.work(
                journal,
                run,
                owner=me.owner,
                concurrency=max(1, options.concurrency),
                lease_s=options.lease,
                stop=stop,
                after_recover=taken_over,
                taken=me.taken,
            )
        finally:
            if relay is not None:
                relay.cancel()
            if options.client is None:
                await client.aclose()
        if fatal:
            raise fatal[0]
        return journal.counts()
    finally:
        journal.close()


async def _relay(source: asyncio.Event, target: asyncio.Event) -> None:
    await source.wait()
    target.set()


async def _check_client(options: BatchOptions) -> None:
    """The client the batch will build can be built (an API key, a usable base URL): a client
    on its own transport, closed at once (the caller's transport is not closed)."""
    from vidgate.aio import client_for

    await client_for(options.gateway)(base_url=options.base_url).aclose()


def _client(
    options: BatchOptions, journal: JournalBackend, rps: float
) -> tuple[Any, workers.Paced | None]:
    import httpx

    from vidgate import _core
    from vidgate.aio import client_for

    transport, paced = options.transport, None
    if rps:
        inner = transport or httpx.AsyncHTTPTransport(verify=_core.ssl_context())
        transport = paced = workers.Paced(inner, journal, rps, asyncio.sleep)
    cls = client_for(options.gateway)
    return cls(base_url=options.base_url, transport=transport), paced


def check_writable(folder: Path, setting: str = "out") -> None:
    """``folder`` (created if need be) must take a file before anything is submitted or
    fetched: else a DiskError naming ``setting`` (the batch's --out; a worker's folder is not
    the journal's, so nothing else has written there yet; the CLI's download folders too)."""
    import tempfile

    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise errors.DiskError.naming(
            "cannot write to {0} {folder}: {reason}",
            setting,
            folder=folder,
            reason=exc.strerror or exc,
        ) from None


def _remove_partial_files(folder: Path) -> None:
    """Partial downloads of earlier (killed) runs; only the lock holder writes here."""
    for part in folder.glob(".*.part"):
        part.unlink(missing_ok=True)
