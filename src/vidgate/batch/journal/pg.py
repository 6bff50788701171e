"""The batch journal on PostgreSQL: one journal shared by workers on several machines.

    vidgate batch jobs.jsonl --journal postgresql://host/db --load     # once, anywhere
    vidgate batch --journal postgresql://host/db --worker --out DIR   # on every machine

Same states and compare-and-set transitions as the SQLite journal (vidgate.batch.journal). What
sharing adds, all through the database and with its clock (so the machines' clocks do not matter):

- Claims. A worker takes jobs with ``SELECT … FOR UPDATE SKIP LOCKED`` and holds them under a
  lease it renews (``heartbeat``). A job whose lease ran out is free again: a ``submitted`` one is
  taken over for polling and downloading; a ``submitting`` one becomes ``unknown`` (its submit may
  have reached the gateway), so no other worker resubmits it.
- Loading. ``loading()`` holds a transaction-scoped advisory lock, so a second loader waits and
  then finds every line already there (or a changed line, which it refuses).
- One budget. ``reserve_request`` spaces API requests at the batch's rate over all workers (a
  single "next free moment" row, updated atomically); ``take_slot`` caps tasks in flight with an
  advisory lock around count-then-mark.

The tables live in the connection's current schema (``vidgate_jobs``, ``vidgate_meta``,
``vidgate_budget``): one batch per schema. Give another batch its own schema with
``?options=-csearch_path%3Dbatch2`` in the URL.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import socket
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from functools import cache
from typing import Any, ClassVar

from vidgate.batch.dburl import connect_params, register_url_password, safe_url
from vidgate.batch.journal.base import JournalBackend, read_sql
from vidgate.errors import InputError, JournalError
from vidgate.redact import redact

__all__ = ["PgJournal"]

ANSWER_WITHIN_S = 60.0  # longest wait for one database call (twice that for the load lock)


@cache
def _pyformat(sql: str) -> str:
    """A statement's :name parameters as psycopg's %(name)s."""
    return re.sub(r"(?<![:\w]):([A-Za-z_]\w*)", r"%(\1)s", sql.replace("%", "%%"))


def _lock_key(conn: Any, what: str) -> int:
    """An advisory lock key for this batch (its schema) and purpose."""
    schema = conn.execute(read_sql("pg.sql")["current_schema"]).fetchone()[0]
    digest = hashlib.sha256(f"vidgate:{schema}:{what}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class _Watchdog:
    """Cuts the connection when one database call has waited longer than ``limit``: psycopg's
    calls have no time limit of their own, so a frozen server or a network that silently drops
    the packets would block the worker (and its heartbeat) forever."""

    def __init__(self, conn: Any, limit: float) -> None:
        self.conn, self.limit = conn, limit
        self.since: float | None = None  # when the call under way started
        self.fired = False
        self._stop = threading.Event()
        threading.Thread(target=self._watch, name="vidgate-journal-watchdog", daemon=True).start()

    def _watch(self) -> None:
        while not self._stop.wait(min(1.0, self.limit / 4)):
            since = self.since
            if since is not None and time.monotonic() - since > self.limit:
                self.fired = True
                with contextlib.suppress(OSError, ValueError):  # the blocked read sees the end
                    cut = socket.socket(fileno=os.dup(self.conn.fileno()))
                    try:
                        cut.shutdown(socket.SHUT_RDWR)
                    finally:
                        cut.close()
                return

    def close(self) -> None:
        self._stop.set()


class PgJournal(JournalBackend):
    """The jobs of one batch in PostgreSQL, shared by any number of workers."""

    shared = True  # several processes work on it at once
    TABLES: ClassVar[dict[str, str]] = {"jobs": "vidgate_jobs", "meta": "vidgate_meta"}
    NOW = "extract(epoch from clock_timestamp())"
    OWN_SQL = "pg.sql"
    CHANGED = "the batch was loaded; use a new journal"

    def __init__(self, url: str, create: bool = True, answer_within: float | None = None) -> None:
        """Connect, and create the tables unless ``create`` is False (reading only: then a
        schema without them is an InputError, and nothing is written). A call the database
        has not answered in ``answer_within`` seconds (default ``ANSWER_WITHIN_S``) fails with
        JournalError."""
        try:
            import psycopg
        except ImportError:
            raise JournalError(
                "a postgresql:// journal needs psycopg: pip install 'vidgate[postgres]'"
            ) from None
        self._psycopg = psycopg
        register_url_password(url)  # a driver error may quote the URL, or a piece of it
        self.where = safe_url(url)
        self._dog: _Watchdog | None = None
        with self._faults("connect"):
            # keywords, not the URL: the driver never splits a password at a "/" or "?"
            conninfo = psycopg.conninfo.make_conninfo("", **connect_params(url))
            self.db = psycopg.connect(conninfo, autocommit=True, connect_timeout=10)
        self._dog = _Watchdog(self.db, answer_within or ANSWER_WITHIN_S)
        with self._faults("connect"):  # a paused worker's open transaction (and its locks)
            self.db.execute(  # ends after the same bound, for the others' sake
                f"SET idle_in_transaction_session_timeout = {int(self._dog.limit * 1000)}"
            )
        if not create:
            found, path = self._rows("read it", self._sql("found"))[0]
            if found is None:
                self.close()
                raise InputError(
                    f"no batch in {self.where} (no vidgate_jobs on search_path {path})"
                )
            self._slot_key = self._load_key = 0  # reading only: never locks
            return
        tables = self._fill(read_sql("schema.sql")["tables"]) + ";\n" + self._sql("tables")
        with self._transaction("create its tables"):
            self._call("create its tables", self._sql("lock"), {"key": self._key("schema")})
            self._call("create its tables", tables, {})
        self._slot_key = self._key("slots")
        self._load_key = self._key("load")

    def _key(self, what: str) -> int:
        with self._faults("read it"):
            return _lock_key(self.db, what)

    @contextlib.contextmanager
    def _faults(self, what: str) -> Iterator[None]:
        dog = self._dog
        outermost = dog is not None and dog.since is None
        if dog is not None and outermost:
            dog.since = time.monotonic()
        try:
            yield
        except self._psycopg.Error as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if dog is not None and dog.fired:
                reason = f"no answer from the database in {dog.limit:g} s (connection cut)"
            reason = redact(reason)
            raise JournalError(f"batch journal {self.where}: cannot {what}: {reason}") from exc
        finally:
            if dog is not None and outermost:
                dog.since = None

    # ------------------------------------------------------------------------ the driver
    def _call(self, what: str, sql: str, params: Mapping[str, Any]) -> tuple[int, list[Any]]:
        with self._faults(what):
            cursor = self.db.execute(_pyformat(sql) if params else sql, params or None)
            rows = cursor.fetchall() if cursor.description else []
        return int(cursor.rowcount), rows

    def _call_many(self, what: str, sql: str, params: Sequence[Mapping[str, Any]]) -> None:
        with self._faults(what), self.db.cursor() as cursor:
            cursor.executemany(_pyformat(sql), params)

    @contextlib.contextmanager
    def _transaction(self, what: str) -> Iterator[None]:
        with self._faults(what), self.db.transaction():
            yield

    def _lock_slots(self) -> None:
        """Count-then-mark under an advisory lock: workers never both take the last slot."""
        self._call("take an in-flight slot", self._sql("lock"), {"key": self._slot_key})

    def close(self) -> None:
        if self._dog is not None:
            self._dog.close()
        self.db.close()

    def lock(self) -> None:
        """Workers share a PostgreSQL journal by design: nothing to take."""

    @contextlib.contextmanager
    def loading(self) -> Iterator[None]:
        """One loader at a time: a second one waits for the load lock, then finds the lines
        already there. Every wait is bounded: the server ends the session of a loader paused
        mid-load after ``answer_within`` (``idle_in_transaction_session_timeout``), freeing
        the lock; the lock is waited for twice that (then one line says another loader holds
        it); each statement is timed like any other call (a silent server is cut off)."""
        self._call("load the jobs", "BEGIN", {})
        try:
            self._wait_for(self._load_key, "the load lock: another loader holds it")
            yield
        except BaseException:
            with contextlib.suppress(JournalError):
                self._call("load the jobs", "ROLLBACK", {})
            raise
        self._call("load the jobs", "COMMIT", {})

    def _wait_for(self, key: int, what: str) -> None:
        """Take a transaction's advisory lock, trying every 0.1 s for ``answer_within``."""
        assert self._dog is not None
        bound = 2 * self._dog.limit  # a paused holder's session ends after one limit
        deadline = time.monotonic() + bound
        take = self._sql("try_lock")
        while not self._rows("wait for a lock", take, key=key)[0][0]:
            if time.monotonic() > deadline:
                raise JournalError(
                    f"batch journal {self.where}: waited {bound:g} s for {what} (loading a "
                    "very large file?); try again once it has finished"
                )
            time.sleep(0.1)

    # ------------------------------------------------------------------------ recovery
    def recover(self) -> int:
        """As a run starts: the same as ``recover_expired``; returns how many jobs it found."""
        return len(self.recover_expired())

    def recover_expired(self) -> list[int]:
        """A submit nobody holds any more (its worker's lease ran out, or the worker let go of it
        mid-submit: interrupted, or stopped by an error) may have reached the gateway:
        ``unknown``, so no other worker resubmits it. Submits of live workers are left alone."""
        error = "the worker stopped after sending the submit and before recording its reply"
        rows = self._rows("write to it", self._sql("recover_expired"), error=error)
        return sorted(int(row[0]) for row in rows)

    def reserve_request(self, per_second: float) -> float:
        """Book the next request moment at ``per_second`` over all workers; returns the seconds
        to wait before sending."""
        rows = self._rows("book a request", self._sql("reserve_request"), gap=1 / per_second)
        return max(0.0, float(rows[0][0])) if rows else 0.0
