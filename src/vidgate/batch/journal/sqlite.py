"""The batch journal in one SQLite file (WAL mode) next to a batch's output: one machine, one
process at a time.

``lock()`` gives one process the journal: an OS file lock (``filelock``) that the OS releases when
the process dies, so a killed run never blocks the next, with who holds it (pid, host, since) in a
file beside it; a second run refuses at once, naming the holder. Independently of the lock, every
transition is a compare-and-set (``base``), so two processes that bypass the lock still cannot
both submit a job. SQLite and OS errors (a corrupt file, a full disk, a read-only folder) become
``vidgate.errors.JournalError``.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from vidgate.batch.journal.base import JournalBackend, read_sql
from vidgate.errors import JournalBusyError, JournalError

if TYPE_CHECKING:
    from filelock import BaseFileLock

__all__ = ["Journal"]

BUSY_TIMEOUT_S = 30.0  # other processes' writes are waited for, not failed on
EXTRA_COLUMNS = {  # added to journals written by an older vidgate
    "size": "INTEGER",
    "worker": "TEXT",
    "owner": "TEXT",
    "lease_until": "REAL",
    "slot": "INTEGER NOT NULL DEFAULT 0",
}


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


class Journal(JournalBackend):
    """The jobs of one batch in a SQLite file; safe to reopen after a crash."""

    shared = False  # one process at a time (``lock``)
    TABLES: ClassVar[dict[str, str]] = {"jobs": "jobs", "meta": "meta"}
    NOW = "((julianday('now') - 2440587.5) * 86400.0)"  # epoch seconds, in SQLite's own clock
    OWN_SQL = "sqlite.sql"
    CHANGED = "the batch started; use a new output folder"

    NAME = ".vidgate-batch.sqlite"
    LOCK = ".vidgate-batch.lock"
    HOLDER = ".vidgate-batch.holder.json"  # who holds LOCK

    def __init__(self, folder: Path, *, create: bool = True) -> None:
        self.path = folder / self.NAME
        self.where = folder
        self._lock: BaseFileLock | None = None
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
                self.db.executescript(self._fill(read_sql("schema.sql")["tables"]))
                self._migrate()
        except JournalError:
            self.db.close()
            raise

    def _migrate(self) -> None:
        """Add the columns a journal written by an older vidgate lacks (two processes opening
        one journal at once may both try: the second finds the column there)."""
        have = {row[0] for row in self.db.execute(self._sql("columns"))}
        for name, kind in EXTRA_COLUMNS.items():
            if name not in have:
                try:
                    self.db.execute(f"ALTER TABLE jobs ADD COLUMN {name} {kind}")
                except sqlite3.OperationalError as exc:
                    if "duplicate column" not in str(exc):
                        raise

    def close(self) -> None:
        self.db.close()
        if self._lock is not None:
            with contextlib.suppress(OSError):
                (self.where / self.HOLDER).unlink()
            self._lock.release()
            self._lock = None

    # ------------------------------------------------------------------------ the driver
    def _call(self, what: str, sql: str, params: Mapping[str, Any]) -> tuple[int, list[Any]]:
        with _faults(what, self.path):
            cursor = self.db.execute(sql, params)
            rows = cursor.fetchall()
        return cursor.rowcount, rows

    def _call_many(self, what: str, sql: str, params: Sequence[Mapping[str, Any]]) -> None:
        with _faults(what, self.path):
            self.db.executemany(sql, params)

    @contextlib.contextmanager
    def _transaction(self, what: str) -> Iterator[None]:
        """BEGIN IMMEDIATE: the write lock at once, so what is read inside stays true."""
        with _faults(what, self.path):
            self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                self.db.execute("ROLLBACK")
            raise
        with _faults(what, self.path):
            self.db.execute("COMMIT")

    def _lock_slots(self) -> None:
        """Nothing more: BEGIN IMMEDIATE (``_transaction``) holds the write lock already."""

    # ------------------------------------------------------------------------ one batch at a time
    def lock(self) -> None:
        """Take the journal for this process, or raise JournalBusyError naming the holder."""
        from filelock import FileLock, Timeout

        lock = FileLock(self.where / self.LOCK, thread_local=False)
        with _faults("lock it", self.where / self.LOCK):
            try:
                lock.acquire(blocking=False)
            except Timeout:
                raise JournalBusyError(self.where, _holder(self.where / self.HOLDER)) from None
        try:
            holder = {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "since": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
            }
            draft = self.where / f"{self.HOLDER}.{os.getpid()}"
            with _faults("lock it", self.where / self.HOLDER):
                draft.write_text(json.dumps(holder), encoding="utf-8")
                draft.replace(self.where / self.HOLDER)  # whole or not at all for a reader
        except BaseException:
            lock.release()
            raise
        self._lock = lock

    def loading(self) -> contextlib.AbstractContextManager[None]:
        """The journal is this process's alone (``lock``): loading needs nothing more."""
        return contextlib.nullcontext()

    # ------------------------------------------------------------------------ recovery
    def recover(self) -> int:
        """After a crash: a submit without a recorded reply may have reached the gateway. The
        journal is this process's alone (``lock``), so every lease left behind is stale."""
        error = "the process stopped after sending the submit and before recording its reply"
        found, _ = self._call("write to it", self._sql("recover"), {"error": error})
        self._call("write to it", self._sql("drop_leases"), {})
        return found

    def recover_expired(self) -> list[int]:
        """While running: no other process works on this journal, so no lease runs out."""
        return []

    def reserve_request(self, per_second: float) -> float:
        """The next request moment at ``per_second`` (one process: kept in memory)."""
        now = time.monotonic()
        at = max(self._next_request, now)
        self._next_request = at + 1 / per_second
        return at - now


def _holder(path: Path) -> dict[str, Any]:
    """Who holds the lock (the holder writes its file just after taking the lock)."""
    for _ in range(20):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = None
        if isinstance(data, dict):
            return data
        time.sleep(0.01)
    return {}
