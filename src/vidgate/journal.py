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
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["FINISHED", "Job", "Journal"]

FINISHED = ("downloaded", "failed", "invalid")
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
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


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


class Journal:
    """The jobs of one batch; safe to reopen after a crash."""

    NAME = ".vidgate-batch.sqlite"

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / self.NAME
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")  # a committed state survives a power cut
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    # ------------------------------------------------------------------------ setup
    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def add(
        self, line: int, body: dict[str, Any], state: str = "pending", error: str | None = None
    ) -> None:
        """Record a job once; a job already in the journal keeps its state."""
        text = json.dumps(body, sort_keys=True, ensure_ascii=False)
        key = hashlib.sha256(f"{line}:{text}".encode()).hexdigest()[:40]
        self.db.execute(
            "INSERT OR IGNORE INTO jobs (line, body, idempotency_key, state, error, updated) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (line, text, f"vidgate-{key}", state, error, time.time()),
        )
        stored = self.db.execute("SELECT body FROM jobs WHERE line = ?", (line,)).fetchone()[0]
        if stored != text:
            raise ValueError(
                f"line {line} differs from the journal in {self.path.parent}: the jobs file "
                "changed since the batch started; use a new output folder"
            )

    # ------------------------------------------------------------------------ transitions
    def set(self, line: int, state: str, **fields: Any) -> None:
        """Commit a state change (and any of task_id, status, error, file, sha256)."""
        columns = ["state = ?", "updated = ?"] + [f"{name} = ?" for name in fields]
        values = [state, time.time(), *fields.values(), line]
        self.db.execute(f"UPDATE jobs SET {', '.join(columns)} WHERE line = ?", values)

    def start_submit(self, line: int) -> None:
        self.db.execute(
            "UPDATE jobs SET state = 'submitting', attempts = attempts + 1, updated = ? "
            "WHERE line = ?",
            (time.time(), line),
        )

    def retry(self, line: int) -> None:
        """A failed job goes back to pending with a new idempotency key: the old key would only
        bring back the failed task, while an unknown job keeps its key on purpose."""
        self.db.execute(
            "UPDATE jobs SET state = 'pending', task_id = NULL, error = NULL, status = NULL, "
            "idempotency_key = substr(idempotency_key, 1, 48) || '-retry' || attempts, "
            "updated = ? WHERE line = ?",
            (time.time(), line),
        )

    def recover(self) -> int:
        """After a crash: a submit without a recorded reply may have reached the gateway."""
        cursor = self.db.execute(
            "UPDATE jobs SET state = 'unknown', error = ? WHERE state = 'submitting'",
            ("the process stopped after sending the submit and before recording its reply",),
        )
        return cursor.rowcount

    # ------------------------------------------------------------------------ reading
    def jobs(self, *states: str) -> Iterator[Job]:
        query = (
            "SELECT line, body, idempotency_key, state, task_id, status, error, file, "
            "sha256, attempts FROM jobs"
        )
        args: tuple[str, ...] = ()
        if states:
            query += f" WHERE state IN ({', '.join('?' * len(states))})"
            args = states
        for row in self.db.execute(query + " ORDER BY line", args).fetchall():
            yield Job(row[0], json.loads(row[1]), *row[2:])

    def counts(self) -> dict[str, int]:
        rows = self.db.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetchall()
        return {str(state): int(n) for state, n in rows}
