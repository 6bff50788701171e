"""The batch journal: one SQLite file (WAL mode) next to a batch's output, one row per job.

Every state change is committed before the action it allows: a job is ``submitting`` before its
request is written, its task id is stored as soon as the reply arrives. So after a crash at any
moment a job is in one of these states, and resuming knows what to do with it:

    pending     never sent                       -> submit
    submitting  sent, no reply recorded          -> unknown (never resubmitted blindly)
    unknown     may exist at the gateway         -> resubmit only if asked (same idempotency key)
    submitted   task id known                    -> wait, download
    downloaded  file on disk with its checksum   -> nothing
    failed      refused, or the task failed      -> resubmit only with --retry-failed
    invalid     the line breaks a documented rule      -> nothing

Two guards keep one job from being submitted twice. ``lock()`` gives one process the journal (an
OS file lock, released when the process dies, so a killed run never blocks the next); a second
run refuses at once, naming the holder. And independently of the lock, every transition is a
compare-and-set in one statement: a job goes to ``submitting`` only from ``pending``, so two
processes that bypass the lock still cannot both submit it. SQLite and OS errors (a corrupt file,
a full disk, a read-only folder) become ``vidgate.errors.JournalError``.

Two backends share this interface (``JournalBackend``): ``Journal``, one SQLite file next to the
output (one machine, one process at a time), and ``vidgate.batch.journal.pg.PgJournal``, a
PostgreSQL database that workers on several machines share (there the compare-and-set is what keeps
a job from being submitted twice, and claims under leases share out the work). ``open_journal``
picks one from a URL. Both record who holds a job (``owner``, ``lease_until``), whether it holds an
in-flight slot, and for a downloaded job its file's path, size, checksum and the worker that wrote
it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from vidgate.batch.dburl import parse as parse_url
from vidgate.batch.dburl import register_url_password, safe_url
from vidgate.errors import ConfigurationError, InputError, JournalBusyError, JournalError
from vidgate.redact import redact

__all__ = [
    "FINISHED",
    "TRANSITIONS",
    "URL_ENV",
    "Job",
    "Journal",
    "JournalBackend",
    "clean_error",
    "held_by",
    "job_key",
    "journal_url",
    "open_journal",
    "register_url_password",
    "safe_url",
]

FINISHED = ("downloaded", "failed", "invalid")
# state -> the states a job may come from (the compare in compare-and-set)
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "submitting": ("pending",),
    "submitted": ("submitting", "unknown", "submitted"),
    "downloaded": ("submitted",),
    "failed": ("submitting", "submitted", "unknown"),
    "unknown": ("submitting",),
    "pending": ("submitting", "failed", "unknown"),  # submitting -> pending: provably never sent
}
SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    line INTEGER PRIMARY KEY,
    body TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    state TEXT NOT NULL,
    task_id TEXT,
    status TEXT,
    error TEXT,
    file TEXT,
    sha256 TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    updated REAL NOT NULL,
    size INTEGER,
    worker TEXT,
    owner TEXT,
    lease_until REAL,
    slot INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
BUSY_TIMEOUT_S = 30.0  # other processes' writes are waited for, not failed on
URL_ENV = "VIDGATE_JOURNAL_URL"
NOW = "((julianday('now') - 2440587.5) * 86400.0)"  # epoch seconds, in SQLite's own clock
RELEASE = "owner = NULL, lease_until = NULL, slot = 0"
EXTRA_COLUMNS = {  # added to journals written by an older vidgate
    "size": "INTEGER",
    "worker": "TEXT",
    "owner": "TEXT",
    "lease_until": "REAL",
    "slot": "INTEGER NOT NULL DEFAULT 0",
}


@dataclass(frozen=True)
class Job:
    line: int
    body: dict[str, Any]
    idempotency_key: str
    state: str
    task_id: str | None
    status: str | None
    error: str | None
    file: str | None
    sha256: str | None
    attempts: int
    size: int | None = None
    worker: str | None = None


COLUMNS = (
    "line, body, idempotency_key, state, task_id, status, error, file, sha256, attempts, "
    "size, worker"
)


def job_key(line: int, text: str) -> str:
    """A job's idempotency key: derived from its line and body, so a reload gives the same."""
    return "vidgate-" + hashlib.sha256(f"{line}:{text}".encode()).hexdigest()[:40]


class JournalBackend(Protocol):
    """What a batch needs from its journal (SQLite ``Journal`` or PostgreSQL ``PgJournal``)."""

    shared: bool  # several processes may work on it at once

    def close(self) -> None: ...
    def lock(self) -> None: ...
    def loading(self) -> contextlib.AbstractContextManager[None]: ...
    def meta(self, key: str) -> str | None: ...
    def set_meta(self, key: str, value: str) -> None: ...
    def add(
        self, line: int, body: dict[str, Any], state: str = "pending", error: str | None = None
    ) -> None: ...
    def add_many(self, rows: Iterable[tuple[int, dict[str, Any], str, str | None]]) -> None: ...
    def set(
        self,
        line: int,
        state: str,
        *,
        expect: str | tuple[str, ...] | None = None,
        owner: str | None = None,
        unowned: bool = False,
        **fields: Any,
    ) -> bool: ...
    def hold(self, line: int, owner: str, state: str, lease_s: float) -> bool: ...
    def start_submit(self, line: int, owner: str | None = None, lease_s: float = 0) -> bool: ...
    def retry(self, line: int) -> bool: ...
    def recover(self) -> int: ...
    def recover_expired(self) -> list[int]: ...
    def claim(
        self, owner: str, limit: int, lease_s: float, skip: Sequence[int] = ()
    ) -> list[Job]: ...
    def heartbeat(self, owner: str, lease_s: float) -> int: ...
    def release(self, line: int, owner: str) -> None: ...
    def open_jobs(self, skip: Sequence[int] = ()) -> tuple[int, float | None]: ...
    def take_slot(self, line: int, cap: int) -> bool: ...
    def free_slot(self, line: int, owner: str | None = None) -> None: ...
    def reserve_request(self, per_second: float) -> float: ...
    def job(self, line: int) -> Job | None: ...
    def jobs(self, *states: str) -> Iterator[Job]: ...
    def counts(self) -> dict[str, int]: ...


def journal_url(url: str | None) -> str | None:
    """The journal URL in use: the one given, else VIDGATE_JOURNAL_URL; None for SQLite."""
    return url or os.environ.get(URL_ENV) or None


def open_journal(url: str | None, folder: Path, create: bool = True) -> JournalBackend:
    """``postgresql://…`` (or ``postgres://…``): the shared PostgreSQL journal; None or empty:
    the SQLite journal in ``folder``. The URL may come from VIDGATE_JOURNAL_URL. With
    ``create=False`` (reading only) nothing is created or written to open it."""
    url = journal_url(url)
    if url is None:
        return Journal(folder, create=create)
    if url.startswith(("postgresql://", "postgres://")):
        from vidgate.batch.journal.pg import PgJournal

        return PgJournal(url, create=create)
    parsed = parse_url(url)
    given = f"{parsed.scheme}://…" if parsed else "(not a URL)"
    raise ConfigurationError(
        f"journal {given}: use a postgresql:// URL, or none for the SQLite journal in the "
        "output folder"
    )


@contextlib.contextmanager
def _faults(what: str, where: Path) -> Iterator[None]:
    """sqlite3 and OS errors as JournalError, with the reason a user can act on."""
    try:
        yield
    except (sqlite3.Error, OSError) as exc:
        reason = str(exc) or type(exc).__name__
        if isinstance(exc, OSError) and exc.strerror:
            reason = exc.strerror
        hint = ""
        low = reason.lower()
        if "not a database" in low or "malformed" in low:
            hint = "; the journal is damaged: move it away and use a new output folder"
        elif "full" in low or "no space" in low:
            hint = "; free some disk space and run the same command again"
        elif "readonly" in low or "read-only" in low or "permission" in low:
            hint = "; the folder must be writable"
        elif "locked" in low or "busy" in low:
            hint = f"; another process held its write lock for {BUSY_TIMEOUT_S:g} s"
        raise JournalError(f"batch journal {where}: cannot {what}: {reason}{hint}") from exc


class Journal:
    """The jobs of one batch in a SQLite file; safe to reopen after a crash."""

    shared = False  # one process at a time (``lock``)

    NAME = ".vidgate-batch.sqlite"
    LOCK = ".vidgate-batch.lock"

    def __init__(self, folder: Path, *, create: bool = True) -> None:
        self.path = folder / self.NAME
        self._lock_fd: int | None = None
        self._next_request = 0.0
        if not create and not self.path.is_file():
            raise JournalError(f"no batch journal in {folder} ({self.NAME} not found)")
        with _faults("open it", self.path):
            if create:
                folder.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_S
            )
        try:
            with _faults("open it", self.path):
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=FULL")  # a committed state survives a power cut
                self.db.executescript(SCHEMA)
                self._migrate()
        except JournalError:
            self.db.close()
            raise

    def _migrate(self) -> None:
        """Add the columns a journal written by an older vidgate lacks (two processes opening
        one journal at once may both try: the second finds the column there)."""
        have = {row[1] for row in self.db.execute("PRAGMA table_info(jobs)")}
        for name, kind in EXTRA_COLUMNS.items():
            if name not in have:
                try:
                    self.db.execute(f"ALTER TABLE jobs ADD COLUMN {name} {kind}")
                except sqlite3.OperationalError as exc:
                    if "duplicate column" not in str(exc):
                        raise

    def close(self) -> None:
        self.db.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the lock
            self._lock_fd = None

    # ------------------------------------------------------------------------ one batch at a time
    def lock(self) -> None:
        """Take the journal for this process, or raise JournalBusyError naming the holder."""
        path = self.path.parent / self.LOCK
        with _faults("lock it", path):
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if not _try_lock(fd):
                raise JournalBusyError(self.path.parent, _holder(fd))
            holder = {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "since": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
            }
            with _faults("lock it", path):
                os.ftruncate(fd, 0)
                os.pwrite(fd, json.dumps(holder).encode(), 0)
        except BaseException:
            os.close(fd)
            raise
        self._lock_fd = fd

    def loading(self) -> contextlib.AbstractContextManager[None]:
        """The journal is this process's alone (``lock``): loading needs nothing more."""
        return contextlib.nullcontext()

    # ------------------------------------------------------------------------ setup
    def meta(self, key: str) -> str | None:
        with _faults("read it", self.path):
            row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with _faults("write to it", self.path):
            self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def add(
        self, line: int, body: dict[str, Any], state: str = "pending", error: str | None = None
    ) -> None:
        """Record a job once; a job already in the journal keeps its state."""
        text = json.dumps(body, sort_keys=True, ensure_ascii=False)
        with _faults("write to it", self.path):
            self.db.execute(
                "INSERT OR IGNORE INTO jobs (line, body, idempotency_key, state, error, updated) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (line, text, job_key(line, text), state, _clean(error), time.time()),
            )
            stored = self.db.execute("SELECT body FROM jobs WHERE line = ?", (line,)).fetchone()
        if stored[0] != text:
            raise InputError(
                f"line {line} differs from the journal in {self.path.parent}: the jobs file "
                "changed since the batch started; use a new output folder"
            )

    def add_many(self, rows: Iterable[tuple[int, dict[str, Any], str, str | None]]) -> None:
        for line, body, state, error in rows:
            self.add(line, body, state, error)

    # ------------------------------------------------------------------------ transitions
    def set(
        self,
        line: int,
        state: str,
        *,
        expect: str | tuple[str, ...] | None = None,
        owner: str | None = None,
        unowned: bool = False,
        **fields: Any,
    ) -> bool:
        """Compare-and-set: move the job to ``state`` (with any of task_id, status, error, file,
        sha256, size, worker) only if it is in one of ``expect`` (default: the states
        TRANSITIONS allows) and, given ``owner``, only if that worker still holds it (``unowned``:
        only if nobody does). Returns whether it moved. Leaving the in-flight states also drops
        the job's lease and in-flight slot."""
        allowed = (expect,) if isinstance(expect, str) else (expect or TRANSITIONS[state])
        fields = {k: _storable(v) for k, v in fields.items()}
        if "error" in fields:
            fields["error"] = _clean(fields["error"])
        columns = ["state = ?", "updated = ?"] + [f"{name} = ?" for name in fields]
        if state not in ("submitting", "submitted"):
            columns.append(RELEASE)
        held, held_args = _held_by(owner, unowned, "?")
        values = [state, time.time(), *fields.values(), line, *allowed, *held_args]
        marks = ", ".join("?" * len(allowed))
        with _faults("write to it", self.path):
            cursor = self.db.execute(
                f"UPDATE jobs SET {', '.join(columns)} WHERE line = ? AND state IN ({marks})"
                + held,
                values,
            )
        return cursor.rowcount == 1

    def hold(self, line: int, owner: str, state: str, lease_s: float) -> bool:
        """Renew the lease of a job ``owner`` holds in ``state``; False if it does not (any
        more): checked before each action outside the journal (download, placing a file)."""
        cursor = self._exec(
            f"UPDATE jobs SET lease_until = {NOW} + ? WHERE line = ? AND owner = ? AND state = ?",
            (lease_s, line, owner, state),
        )
        return cursor.rowcount == 1

    def start_submit(self, line: int, owner: str | None = None, lease_s: float = 0) -> bool:
        """Claim a pending job for submission; False if it is not pending (any more) or another
        worker holds it (a worker that was paused past its lease finds its job taken over)."""
        with _faults("write to it", self.path):
            cursor = self.db.execute(
                "UPDATE jobs SET state = 'submitting', attempts = attempts + 1, updated = ?, "
                f"owner = COALESCE(?, owner), lease_until = {NOW} + ? "
                "WHERE line = ? AND state = 'pending' AND (owner IS NULL OR owner = ?)",
                (time.time(), owner, lease_s, line, owner),
            )
        return cursor.rowcount == 1

    def retry(self, line: int) -> bool:
        """A failed job goes back to pending with a new idempotency key: the old key would only
        bring back the failed task, while an unknown job keeps its key on purpose."""
        with _faults("write to it", self.path):
            cursor = self.db.execute(
                "UPDATE jobs SET state = 'pending', task_id = NULL, error = NULL, status = NULL, "
                "idempotency_key = substr(idempotency_key, 1, 48) || '-retry' || attempts, "
                "updated = ? WHERE line = ? AND state = 'failed'",
                (time.time(), line),
            )
        return cursor.rowcount == 1

    def recover(self) -> int:
        """After a crash: a submit without a recorded reply may have reached the gateway. The
        journal is this process's alone (``lock``), so every lease left behind is stale."""
        with _faults("write to it", self.path):
            cursor = self.db.execute(
                f"UPDATE jobs SET state = 'unknown', error = ?, {RELEASE} "
                "WHERE state = 'submitting'",
                ("the process stopped after sending the submit and before recording its reply",),
            )
            self.db.execute("UPDATE jobs SET owner = NULL, lease_until = NULL")
        return cursor.rowcount

    def recover_expired(self) -> list[int]:
        """While running: no other process works on this journal, so no lease runs out."""
        return []

    # ------------------------------------------------------------------------ workers
    def _exec(self, sql: str, args: Sequence[Any] = ()) -> sqlite3.Cursor:
        with _faults("write to it", self.path):
            return self.db.execute(sql, args)

    def claim(self, owner: str, limit: int, lease_s: float, skip: Sequence[int] = ()) -> list[Job]:
        """Up to ``limit`` pending or submitted jobs that nobody holds."""
        skipped = ", ".join(str(int(n)) for n in skip)
        rows = self._exec(
            f"UPDATE jobs SET owner = ?, lease_until = {NOW} + ? WHERE line IN ("
            "SELECT line FROM jobs WHERE state IN ('pending', 'submitted') "
            f"AND (lease_until IS NULL OR lease_until < {NOW}) AND line NOT IN ({skipped}) "
            f"ORDER BY line LIMIT ?) RETURNING {COLUMNS}",
            (owner, lease_s, limit),
        ).fetchall()
        return sorted((Job(row[0], json.loads(row[1]), *row[2:]) for row in rows), key=_line)

    def heartbeat(self, owner: str, lease_s: float) -> int:
        cursor = self._exec(
            f"UPDATE jobs SET lease_until = {NOW} + ? WHERE owner = ?", (lease_s, owner)
        )
        return cursor.rowcount

    def release(self, line: int, owner: str) -> None:
        self._exec(
            "UPDATE jobs SET owner = NULL, lease_until = NULL WHERE line = ? AND owner = ?",
            (line, owner),
        )

    def open_jobs(self, skip: Sequence[int] = ()) -> tuple[int, float | None]:
        skipped = ", ".join(str(int(n)) for n in skip)
        row = self._exec(
            f"SELECT count(*), min(lease_until) - {NOW} FROM jobs "
            f"WHERE state IN ('pending', 'submitting', 'submitted') AND line NOT IN ({skipped})"
        ).fetchone()
        return int(row[0]), None if row[1] is None else max(0.0, float(row[1]))

    # ------------------------------------------------------------------------ budget
    def take_slot(self, line: int, cap: int) -> bool:
        """Mark the job as holding one of ``cap`` in-flight slots, if one is free."""
        self._exec("BEGIN IMMEDIATE")
        try:
            held = self._exec("SELECT slot FROM jobs WHERE line = ?", (line,)).fetchone()
            used = self._exec("SELECT count(*) FROM jobs WHERE slot").fetchone()[0]
            ok = bool(held and held[0]) or used < cap
            if ok:
                self._exec("UPDATE jobs SET slot = 1 WHERE line = ?", (line,))
        finally:
            self._exec("COMMIT")
        return ok

    def free_slot(self, line: int, owner: str | None = None) -> None:
        """Give the job's in-flight slot back (given ``owner``: only while it holds the job)."""
        held, args = _held_by(owner, False, "?")
        self._exec("UPDATE jobs SET slot = 0 WHERE line = ?" + held, (line, *args))

    def reserve_request(self, per_second: float) -> float:
        """The next request moment at ``per_second`` (one process: kept in memory)."""
        now = time.monotonic()
        at = max(self._next_request, now)
        self._next_request = at + 1 / per_second
        return at - now

    # ------------------------------------------------------------------------ reading
    def job(self, line: int) -> Job | None:
        with _faults("read it", self.path):
            row = self.db.execute(f"SELECT {COLUMNS} FROM jobs WHERE line = ?", (line,)).fetchone()
        return None if row is None else Job(row[0], json.loads(row[1]), *row[2:])

    def jobs(self, *states: str) -> Iterator[Job]:
        query = f"SELECT {COLUMNS} FROM jobs"
        args: tuple[str, ...] = ()
        if states:
            query += f" WHERE state IN ({', '.join('?' * len(states))})"
            args = states
        with _faults("read it", self.path):
            rows = self.db.execute(query + " ORDER BY line", args).fetchall()
            found = [Job(row[0], json.loads(row[1]), *row[2:]) for row in rows]
        return iter(found)

    def counts(self) -> dict[str, int]:
        with _faults("read it", self.path):
            rows = self.db.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetchall()
        return {str(state): int(n) for state, n in rows}


def _held_by(owner: str | None, unowned: bool, mark: str) -> tuple[str, tuple[str, ...]]:
    """The owner check of a compare-and-set: SQL to append, and its arguments."""
    if owner is not None:
        return f" AND owner = {mark}", (owner,)
    return (" AND owner IS NULL", ()) if unowned else ("", ())


def _line(job: Job) -> int:
    return job.line


def _clean(error: str | None) -> str | None:
    """Error text goes to disk: redacted and bounded."""
    return None if error is None else _storable(redact(error)[:2000])


def _storable(value: Any) -> Any:
    """Server-supplied text as SQLite can store it (a lone surrogate becomes "?")."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    return value


def _try_lock(fd: int) -> bool:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        except OSError:
            return False
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _holder(fd: int) -> dict[str, Any]:
    """Who holds the lock (its file may be empty for an instant while the holder writes it)."""
    for _ in range(20):
        try:
            data = json.loads(os.pread(fd, 4096, 0) or b"null")
        except (OSError, ValueError):
            data = None
        if isinstance(data, dict):
            return data
        time.sleep(0.01)
    return {}


clean_error = _clean
storable = _storable
held_by = _held_by
