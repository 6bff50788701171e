"""What both batch journals share: the job states and their transitions, the ``Job`` row, the
``JournalBackend`` interface, and every decision the SQLite and PostgreSQL journals make the same
way (the compare-and-set, the owner check, retries, slots, loading). A backend only connects,
runs a statement and maps its database's errors; the statements are in ``sql/*.sql``.

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

Every transition is a compare-and-set in one statement: a job goes to ``submitting`` only from
``pending``, so two processes (or workers) can never both submit it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any, ClassVar

from vidgate.errors import InputError
from vidgate.redact import redact

__all__ = [
    "COLUMNS",
    "FINISHED",
    "TRANSITIONS",
    "Job",
    "JournalBackend",
    "clean_error",
    "held_by",
    "job_key",
    "read_sql",
    "storable",
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
IN_FLIGHT = ("submitting", "submitted")  # leaving these drops the job's lease and slot
RELEASE = "owner = NULL, lease_until = NULL, slot = false"
CHUNK = 1000  # jobs per insert while loading (each chunk is one transaction)


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


COLUMN_NAMES = frozenset(name.strip() for name in COLUMNS.split(","))


def job_key(line: int, text: str) -> str:
    """A job's idempotency key: derived from its line and body, so a reload gives the same."""
    return "vidgate-" + hashlib.sha256(f"{line}:{text}".encode()).hexdigest()[:40]


def clean_error(error: str | None) -> str | None:
    """Error text goes to disk: redacted and bounded."""
    return None if error is None else storable(redact(error)[:2000])


def storable(value: Any) -> Any:
    """Server-supplied text as a database can store it (a lone surrogate becomes "?")."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    return value


def held_by(owner: str | None, unowned: bool) -> tuple[str, dict[str, str]]:
    """The owner check of a compare-and-set: SQL to append, and its parameters."""
    if owner is not None:
        return " AND owner = :held_by", {"held_by": owner}
    return (" AND owner IS NULL", {}) if unowned else ("", {})


def _skip(lines: Sequence[int]) -> str:
    """Lines a query leaves out (whole numbers: written into the statement as they are)."""
    return f" AND line NOT IN ({', '.join(str(int(n)) for n in lines)})" if lines else ""


def _states(states: Sequence[str]) -> tuple[str, dict[str, str]]:
    """``state IN (…)`` with one parameter per state."""
    names = {f"state_{i}": state for i, state in enumerate(states)}
    return f"state IN ({', '.join(':' + name for name in names)})", names


@cache
def read_sql(name: str) -> dict[str, str]:
    """The statements of ``sql/NAME`` by their ``-- name:`` line (comments kept out)."""
    text = (files("vidgate.batch.journal") / "sql" / name).read_text(encoding="utf-8")
    found: dict[str, str] = {}
    for part in re.split(r"^-- name: ", text, flags=re.MULTILINE)[1:]:
        title, _, body = part.partition("\n")
        lines = [line for line in body.splitlines() if not line.lstrip().startswith("--")]
        found[title.strip()] = "\n".join(lines).strip()
    return found


def _job(row: Sequence[Any]) -> Job:
    return Job(row[0], json.loads(row[1]), *row[2:])


class JournalBackend(ABC):
    """What a batch needs from its journal (SQLite ``Journal`` or PostgreSQL ``PgJournal``), and
    the logic both run the same way; a backend says how to reach its database (``_call``,
    ``_call_many``, ``_transaction``) and does what only it does (the abstract methods)."""

    shared: bool  # several processes may work on it at once
    TABLES: ClassVar[dict[str, str]]  # {jobs} and {meta} in sql/*.sql
    NOW: ClassVar[str]  # the database's clock in epoch seconds
    OWN_SQL: ClassVar[str]  # the backend's own statements, in sql/
    CHANGED: ClassVar[str]  # what to do when a loaded line differs from the journal
    where: Any  # the journal in messages (a folder, or a URL without its password)

    # ------------------------------------------------------------------------ the backend
    @abstractmethod
    def _call(self, what: str, sql: str, params: Mapping[str, Any]) -> tuple[int, list[Any]]:
        """Run one statement: the rows it changed and the rows it returned. A failure is a
        JournalError saying what could not be done (``what``) and why."""

    @abstractmethod
    def _call_many(self, what: str, sql: str, params: Sequence[Mapping[str, Any]]) -> None:
        """Run one statement once for each set of parameters."""

    @abstractmethod
    def _transaction(self, what: str) -> contextlib.AbstractContextManager[None]:
        """The statements run inside commit together (or not at all)."""

    @abstractmethod
    def _lock_slots(self) -> None:
        """Keep other processes from counting slots until the transaction ends."""

    # ------------------------------------------------------------------------ what differs
    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def lock(self) -> None:
        """Take the journal for this process if it is not shared (else nothing)."""

    @abstractmethod
    def loading(self) -> contextlib.AbstractContextManager[None]:
        """Around loading the jobs: one loader at a time."""

    @abstractmethod
    def recover(self) -> int:
        """As a run starts: submits nobody holds become ``unknown``; returns how many."""

    @abstractmethod
    def recover_expired(self) -> list[int]:
        """While running: the lines of submits whose holder's lease ran out, now ``unknown``."""

    @abstractmethod
    def reserve_request(self, per_second: float) -> float:
        """Book the next request moment at ``per_second``; the seconds to wait before it."""

    # ------------------------------------------------------------------------ statements
    def _sql(self, name: str, **tokens: str) -> str:
        """A statement of sql/jobs.sql or of the backend's own file, with its tokens filled in."""
        text = read_sql("jobs.sql").get(name) or read_sql(self.OWN_SQL)[name]
        return self._fill(text, **tokens)

    def _fill(self, text: str, **tokens: str) -> str:
        values = {**self.TABLES, "now": self.NOW, "columns": COLUMNS, "release": RELEASE}
        for key, value in {**values, **tokens}.items():
            text = text.replace("{" + key + "}", value)
        return text

    def _changed(self, what: str, sql: str, **params: Any) -> bool:
        return self._call(what, sql, params)[0] == 1

    def _rows(self, what: str, sql: str, **params: Any) -> list[Any]:
        return self._call(what, sql, params)[1]

    # ------------------------------------------------------------------------ setup
    def meta(self, key: str) -> str | None:
        rows = self._rows("read it", self._sql("meta"), key=key)
        return None if not rows else str(rows[0][0])

    def set_meta(self, key: str, value: str) -> None:
        self._call("write to it", self._sql("set_meta"), {"key": key, "value": value})

    def add(
        self, line: int, body: dict[str, Any], state: str = "pending", error: str | None = None
    ) -> None:
        """Record a job once; a job already in the journal keeps its state."""
        self.add_many([(line, body, state, error)])

    def add_many(self, rows: Iterable[tuple[int, dict[str, Any], str, str | None]]) -> None:
        """Record jobs once; a job already in the journal keeps its state (a changed body is
        refused, and nothing of its chunk is written)."""
        values: list[dict[str, Any]] = []
        for line, body, state, error in rows:
            text = json.dumps(body, sort_keys=True, ensure_ascii=False)
            key = job_key(line, text)
            values.append(
                {
                    "line": line,
                    "body": text,
                    "key": key,
                    "state": state,
                    "error": clean_error(error),
                }
            )
        for start in range(0, len(values), CHUNK):  # one transaction (one timed call) a chunk
            chunk = values[start : start + CHUNK]
            texts = {row["line"]: row["body"] for row in chunk}
            with self._transaction("write to it"):
                self._call_many("write to it", self._sql("add"), chunk)
                lines = ", ".join(str(int(n)) for n in texts)
                stored = self._rows("write to it", self._sql("bodies", lines=lines))
                for line, body in sorted(stored):
                    if body != texts[line]:
                        raise InputError(
                            f"line {line} differs from the journal in {self.where}: the jobs "
                            f"file changed since {self.CHANGED}"
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
        was: Mapping[str, Any] | None = None,
        **fields: Any,
    ) -> bool:
        """Compare-and-set: move the job to ``state`` (with any of task_id, status, error, file,
        sha256, size, worker) only if it is in one of ``expect`` (default: the states
        TRANSITIONS allows) and, given ``owner``, only if that worker still holds it (``unowned``:
        only if nobody does), and only if its columns still hold the values in ``was`` (e.g. the
        file and worker a downloaded job was recorded with). Returns whether it moved. Leaving
        the in-flight states also drops the job's lease and in-flight slot."""
        allowed = (expect,) if isinstance(expect, str) else (expect or TRANSITIONS[state])
        fields = {k: storable(v) for k, v in fields.items()}  # server text: no lone surrogates
        if "error" in fields:
            fields["error"] = clean_error(fields["error"])
        columns = ["state = :state", "updated = {now}"] + [f"{k} = :set_{k}" for k in fields]
        if state not in IN_FLIGHT:
            columns.append(RELEASE)
        states, state_params = _states(allowed)
        held, held_params = held_by(owner, unowned)
        was = dict(was or {})
        if not set(was) <= COLUMN_NAMES:  # names written into the statement: columns only
            raise ValueError(f"not journal columns: {sorted(set(was) - COLUMN_NAMES)}")
        held += "".join(f" AND {k} = :was_{k}" for k in was)
        sql = f"UPDATE {{jobs}} SET {', '.join(columns)} WHERE line = :line AND {states}{held}"
        params = {f"set_{k}": v for k, v in fields.items()}
        params.update({f"was_{k}": storable(v) for k, v in was.items()})
        params.update(state_params, **held_params, state=state, line=line)
        return self._call("write to it", self._fill(sql), params)[0] == 1

    def hold(self, line: int, owner: str, state: str, lease_s: float) -> bool:
        """Renew the lease of a job ``owner`` holds in ``state``; False if it does not (any
        more): checked before each action outside the journal (download, placing a file)."""
        sql = self._sql("hold")
        return self._changed(
            "renew a lease", sql, line=line, owner=owner, state=state, lease=lease_s
        )

    def start_submit(self, line: int, owner: str | None = None, lease_s: float = 0) -> bool:
        """pending -> submitting; False if it is not pending (any more) or another worker holds
        it (a worker that was paused past its lease finds its job taken over)."""
        sql = self._sql("start_submit")
        return self._changed("write to it", sql, line=line, owner=owner, lease=lease_s)

    def retry(self, line: int) -> bool:
        """A failed job goes back to pending with a new idempotency key: the old key would only
        bring back the failed task, while an unknown job keeps its key on purpose."""
        return self._changed("write to it", self._sql("retry"), line=line)

    # ------------------------------------------------------------------------ workers
    def claim(self, owner: str, limit: int, lease_s: float, skip: Sequence[int] = ()) -> list[Job]:
        """Up to ``limit`` pending or submitted jobs nobody holds (or whose lease ran out)."""
        sql = self._sql("claim", skip=_skip(skip))
        rows = self._rows("claim jobs", sql, owner=owner, lease=lease_s, limit=limit)
        return sorted((_job(row) for row in rows), key=_line)

    def heartbeat(self, owner: str, lease_s: float) -> int:
        return self._call(
            "renew leases", self._sql("heartbeat"), {"owner": owner, "lease": lease_s}
        )[0]

    def release(self, line: int, owner: str) -> None:
        """Let go of a job (it stays in its state for another worker or a later run); on a
        shared journal it gives back its in-flight slot too."""
        sql = self._sql("release_slot" if self.shared else "release")
        self._call("write to it", sql, {"line": line, "owner": owner})

    def open_jobs(self, skip: Sequence[int] = ()) -> tuple[int, float | None]:
        """Jobs still to be worked on (not counting ``skip``), and the seconds until the first
        lease held by someone runs out (None: no lease)."""
        row = self._rows("read it", self._sql("open_jobs", skip=_skip(skip)))[0]
        return int(row[0]), None if row[1] is None else max(0.0, float(row[1]))

    # ------------------------------------------------------------------------ budget
    def take_slot(self, line: int, cap: int) -> bool:
        """Mark the job as holding one of ``cap`` in-flight slots, if one is free (a job that
        holds one already, e.g. taken over from a stopped worker, keeps it)."""
        with self._transaction("take an in-flight slot"):
            self._lock_slots()
            held, used = self._rows("take an in-flight slot", self._sql("slots"), line=line)[0]
            if not held and used >= cap:
                return False
            self._call("take an in-flight slot", self._sql("take_slot"), {"line": line})
        return True

    def free_slot(self, line: int, owner: str | None = None) -> None:
        """Give the job's in-flight slot back (given ``owner``: only while it holds the job)."""
        held, params = held_by(owner, False)
        self._call("write to it", self._sql("free_slot") + held, {"line": line, **params})

    # ------------------------------------------------------------------------ reading
    def job(self, line: int) -> Job | None:
        rows = self._rows("read it", self._sql("job"), line=line)
        return _job(rows[0]) if rows else None

    def jobs(self, *states: str) -> Iterator[Job]:
        sql, params = self._sql("jobs"), dict[str, str]()
        if states:
            where, params = _states(states)
            sql += f" WHERE {where}"
        return iter([_job(row) for row in self._call("read it", sql + " ORDER BY line", params)[1]])

    def counts(self) -> dict[str, int]:
        return {str(state): int(n) for state, n in self._rows("read it", self._sql("counts"))}


def _line(job: Job) -> int:
    return job.line
