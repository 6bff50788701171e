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
import json
import os
import socket
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from vidgate.batch.dburl import connect_params
from vidgate.batch.journal import (
    TRANSITIONS,
    Job,
    clean_error,
    held_by,
    job_key,
    register_url_password,
    safe_url,
    storable,
)
from vidgate.errors import InputError, JournalError
from vidgate.redact import redact

__all__ = ["PgJournal"]

NOW = "extract(epoch from clock_timestamp())"
ANSWER_WITHIN_S = 60.0  # longest wait for one database call (twice that for the load lock)
CHUNK = 1000  # jobs per insert while loading (each insert is one timed call)
SCHEMA = """
CREATE TABLE IF NOT EXISTS vidgate_jobs (
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
    updated DOUBLE PRECISION NOT NULL,
    size BIGINT,
    worker TEXT,
    owner TEXT,
    lease_until DOUBLE PRECISION,
    slot BOOLEAN NOT NULL DEFAULT false
);
CREATE INDEX IF NOT EXISTS vidgate_jobs_open ON vidgate_jobs (line)
    WHERE state IN ('pending', 'submitting', 'submitted');
CREATE INDEX IF NOT EXISTS vidgate_jobs_slot ON vidgate_jobs (line) WHERE slot;
CREATE TABLE IF NOT EXISTS vidgate_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS vidgate_budget (
    name TEXT PRIMARY KEY,
    next_at DOUBLE PRECISION NOT NULL
);
INSERT INTO vidgate_budget VALUES ('requests', 0) ON CONFLICT DO NOTHING;
"""
COLUMNS = (
    "line, body, idempotency_key, state, task_id, status, error, file, sha256, attempts, "
    "size, worker"
)
RELEASE = "owner = NULL, lease_until = NULL, slot = false"


def _lock_key(conn: Any, what: str) -> int:
    """An advisory lock key for this batch (its schema) and purpose."""
    schema = conn.execute("SELECT current_schema()").fetchone()[0]
    digest = hashlib.sha256(f"vidgate:{schema}:{what}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _job(row: Sequence[Any]) -> Job:
    return Job(row[0], json.loads(row[1]), *row[2:])


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


class PgJournal:
    """The jobs of one batch in PostgreSQL, shared by any number of workers."""

    shared = True  # several processes work on it at once

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
            with self._faults("read it"):
                found = self.db.execute("SELECT to_regclass('vidgate_jobs')").fetchone()
                path = self.db.execute("SHOW search_path").fetchone()
            if found is None or found[0] is None:
                self.close()
                schema = path[0] if path else "?"
                raise InputError(
                    f"no batch in {self.where} (no vidgate_jobs on search_path {schema})"
                )
            self._slot_key = self._load_key = 0  # reading only: never locks
            return
        with self._faults("create its tables"), self.db.transaction():
            self.db.execute("SELECT pg_advisory_xact_lock(%s)", (_lock_key(self.db, "schema"),))
            self.db.execute(SCHEMA)
        self._slot_key = _lock_key(self.db, "slots")
        self._load_key = _lock_key(self.db, "load")

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

    def _run(self, what: str, sql: str, args: Sequence[Any] = ()) -> Any:
        with self._faults(what):
            return self.db.execute(sql, args)

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
        self._run("load the jobs", "BEGIN")
        try:
            self._wait_for(self._load_key, "the load lock: another loader holds it")
            yield
        except BaseException:
            with contextlib.suppress(JournalError):
                self._run("load the jobs", "ROLLBACK")
            raise
        self._run("load the jobs", "COMMIT")

    def _wait_for(self, key: int, what: str) -> None:
        """Take a transaction's advisory lock, trying every 0.1 s for ``answer_within``."""
        assert self._dog is not None
        bound = 2 * self._dog.limit  # a paused holder's session ends after one limit
        deadline = time.monotonic() + bound
        take = "SELECT pg_try_advisory_xact_lock(%s)"
        while not self._run("wait for a lock", take, (key,)).fetchone()[0]:
            if time.monotonic() > deadline:
                raise JournalError(
                    f"batch journal {self.where}: waited {bound:g} s for {what} (loading a "
                    "very large file?); try again once it has finished"
                )
            time.sleep(0.1)

    # ------------------------------------------------------------------------ setup
    def meta(self, key: str) -> str | None:
        row = self._run("read it", "SELECT value FROM vidgate_meta WHERE key = %s", (key,))
        found = row.fetchone()
        return None if found is None else str(found[0])

    def set_meta(self, key: str, value: str) -> None:
        self._run(
            "write to it",
            "INSERT INTO vidgate_meta VALUES (%s, %s) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def add(
        self, line: int, body: dict[str, Any], state: str = "pending", error: str | None = None
    ) -> None:
        self.add_many([(line, body, state, error)])

    def add_many(self, rows: Iterable[tuple[int, dict[str, Any], str, str | None]]) -> None:
        """Record jobs once; a job already in the journal keeps its state (a changed body is
        refused)."""
        texts: dict[int, str] = {}
        values = []
        for line, body, state, error in rows:
            text = json.dumps(body, sort_keys=True, ensure_ascii=False)
            texts[line] = text
            values.append((line, text, job_key(line, text), state, clean_error(error)))
        if not values:
            return
        stored = []
        for start in range(0, len(values), CHUNK):  # one timed call per chunk
            chunk = values[start : start + CHUNK]
            with self._faults("write to it"), self.db.transaction():
                with self.db.cursor() as cursor:
                    cursor.executemany(
                        "INSERT INTO vidgate_jobs (line, body, idempotency_key, state, error, "
                        f"updated) VALUES (%s, %s, %s, %s, %s, {NOW}) "
                        "ON CONFLICT (line) DO NOTHING",
                        chunk,
                    )
                stored += self.db.execute(
                    "SELECT line, body FROM vidgate_jobs WHERE line = ANY(%s)",
                    ([row[0] for row in chunk],),
                ).fetchall()
        for line, body in stored:
            if body != texts[line]:
                raise InputError(
                    f"line {line} differs from the journal in {self.where}: the jobs file "
                    "changed since the batch was loaded; use a new journal"
                )

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
        """Compare-and-set on the state and (given ``owner``, or ``unowned``) the job's holder, as
        in the SQLite journal. Leaving the in-flight states also drops the job's lease and its
        in-flight slot."""
        allowed = (expect,) if isinstance(expect, str) else (expect or TRANSITIONS[state])
        fields = {k: storable(v) for k, v in fields.items()}  # server text: no lone surrogates
        if "error" in fields:
            fields["error"] = clean_error(fields["error"])
        columns = ["state = %s", f"updated = {NOW}"] + [f"{name} = %s" for name in fields]
        if state not in ("submitting", "submitted"):
            columns.append(RELEASE)
        held, held_args = held_by(owner, unowned, "%s")
        cursor = self._run(
            "write to it",
            f"UPDATE vidgate_jobs SET {', '.join(columns)} WHERE line = %s AND state = ANY(%s)"
            + held,
            (state, *fields.values(), line, list(allowed), *held_args),
        )
        return bool(cursor.rowcount == 1)

    def hold(self, line: int, owner: str, state: str, lease_s: float) -> bool:
        """Renew the lease of a job ``owner`` holds in ``state``; False if it does not (any
        more): checked before each action outside the journal."""
        cursor = self._run(
            "renew a lease",
            f"UPDATE vidgate_jobs SET lease_until = {NOW} + %s::float8 "
            "WHERE line = %s AND owner = %s AND state = %s",
            (lease_s, line, owner, state),
        )
        return bool(cursor.rowcount == 1)

    def start_submit(self, line: int, owner: str | None = None, lease_s: float = 0) -> bool:
        """pending -> submitting (committed before the request is written); False if it is not
        pending any more, or another worker holds it."""
        cursor = self._run(
            "write to it",
            "UPDATE vidgate_jobs SET state = 'submitting', attempts = attempts + 1, "
            f"updated = {NOW}, owner = COALESCE(%s::text, owner), "
            f"lease_until = {NOW} + %s::float8 WHERE line = %s AND state = 'pending' "
            "AND (owner IS NULL OR owner = %s::text)",
            (owner, lease_s, line, owner),
        )
        return bool(cursor.rowcount == 1)

    def retry(self, line: int) -> bool:
        cursor = self._run(
            "write to it",
            "UPDATE vidgate_jobs SET state = 'pending', task_id = NULL, error = NULL, "
            "status = NULL, idempotency_key = substr(idempotency_key, 1, 48) || '-retry' || "
            f"attempts, updated = {NOW} WHERE line = %s AND state = 'failed'",
            (line,),
        )
        return bool(cursor.rowcount == 1)

    def recover(self) -> int:
        """As a run starts: the same as ``recover_expired``; returns how many jobs it found."""
        return len(self.recover_expired())

    def recover_expired(self) -> list[int]:
        """A submit nobody holds any more (its worker's lease ran out, or the worker let go of it
        mid-submit: interrupted, or stopped by an error) may have reached the gateway:
        ``unknown``, so no other worker resubmits it. Submits of live workers are left alone."""
        cursor = self._run(
            "write to it",
            f"UPDATE vidgate_jobs SET state = 'unknown', error = %s, {RELEASE} "
            f"WHERE state = 'submitting' AND (lease_until IS NULL OR lease_until < {NOW}) "
            "RETURNING line",
            ("the worker stopped after sending the submit and before recording its reply",),
        )
        return sorted(int(row[0]) for row in cursor.fetchall())

    # ------------------------------------------------------------------------ workers
    def claim(self, owner: str, limit: int, lease_s: float, skip: Sequence[int] = ()) -> list[Job]:
        """Up to ``limit`` pending or submitted jobs nobody holds (or whose lease ran out)."""
        cursor = self._run(
            "claim jobs",
            f"UPDATE vidgate_jobs SET owner = %s, lease_until = {NOW} + %s::float8 "
            "WHERE line IN (SELECT line FROM vidgate_jobs "
            "  WHERE state IN ('pending', 'submitted') "
            f"  AND (lease_until IS NULL OR lease_until < {NOW}) AND NOT (line = ANY(%s)) "
            "  ORDER BY line LIMIT %s FOR UPDATE SKIP LOCKED) "
            f"RETURNING {COLUMNS}",
            (owner, lease_s, list(skip), limit),
        )
        return sorted((_job(row) for row in cursor.fetchall()), key=lambda j: j.line)

    def heartbeat(self, owner: str, lease_s: float) -> int:
        cursor = self._run(
            "renew leases",
            f"UPDATE vidgate_jobs SET lease_until = {NOW} + %s::float8 WHERE owner = %s",
            (lease_s, owner),
        )
        return int(cursor.rowcount)

    def release(self, line: int, owner: str, keep_slot: bool = False) -> None:
        """Let go of a job (it stays in its state for another worker or a later run)."""
        slot = "" if keep_slot else ", slot = false"
        self._run(
            "write to it",
            f"UPDATE vidgate_jobs SET owner = NULL, lease_until = NULL{slot} "
            "WHERE line = %s AND owner = %s",
            (line, owner),
        )

    def open_jobs(self, skip: Sequence[int] = ()) -> tuple[int, float | None]:
        """Jobs still to be worked on (not counting ``skip``), and the seconds until the first
        lease held by someone runs out (None: no lease)."""
        row = self._run(
            "read it",
            f"SELECT count(*), min(lease_until) - {NOW} FROM vidgate_jobs "
            "WHERE state IN ('pending', 'submitting', 'submitted') AND NOT (line = ANY(%s))",
            (list(skip),),
        ).fetchone()
        return int(row[0]), None if row[1] is None else max(0.0, float(row[1]))

    # ------------------------------------------------------------------------ budget
    def take_slot(self, line: int, cap: int) -> bool:
        """Mark the job as holding one of ``cap`` in-flight slots, if one is free (a job that
        holds one already, e.g. taken over from a stopped worker, keeps it)."""
        with self._faults("take an in-flight slot"), self.db.transaction():
            self.db.execute("SELECT pg_advisory_xact_lock(%s)", (self._slot_key,))
            row = self.db.execute(
                "SELECT (SELECT slot FROM vidgate_jobs WHERE line = %s), "
                "(SELECT count(*) FROM vidgate_jobs WHERE slot)",
                (line,),
            ).fetchone()
            if row is None or (not row[0] and row[1] >= cap):
                return False
            self.db.execute("UPDATE vidgate_jobs SET slot = true WHERE line = %s", (line,))
        return True

    def free_slot(self, line: int, owner: str | None = None) -> None:
        """Give the job's in-flight slot back (given ``owner``: only while it holds the job)."""
        held, args = held_by(owner, False, "%s")
        self._run(
            "write to it",
            "UPDATE vidgate_jobs SET slot = false WHERE line = %s" + held,
            (line, *args),
        )

    def reserve_request(self, per_second: float) -> float:
        """Book the next request moment at ``per_second`` over all workers; returns the seconds
        to wait before sending."""
        cursor = self._run(
            "book a request",
            f"UPDATE vidgate_budget SET next_at = GREATEST(next_at, {NOW}) + %s "
            f"WHERE name = 'requests' RETURNING next_at - %s - {NOW}",
            (1 / per_second, 1 / per_second),
        )
        row = cursor.fetchone()
        return max(0.0, float(row[0])) if row else 0.0

    # ------------------------------------------------------------------------ reading
    def job(self, line: int) -> Job | None:
        found = self._run(
            "read it", f"SELECT {COLUMNS} FROM vidgate_jobs WHERE line = %s", (line,)
        ).fetchone()
        return None if found is None else _job(found)

    def jobs(self, *states: str) -> Iterator[Job]:
        query = f"SELECT {COLUMNS} FROM vidgate_jobs"
        args: tuple[Any, ...] = ()
        if states:
            query += " WHERE state = ANY(%s)"
            args = (list(states),)
        rows = self._run("read it", query + " ORDER BY line", args).fetchall()
        return iter([_job(row) for row in rows])

    def counts(self) -> dict[str, int]:
        rows = self._run("read it", "SELECT state, count(*) FROM vidgate_jobs GROUP BY state")
        return {str(state): int(n) for state, n in rows.fetchall()}
