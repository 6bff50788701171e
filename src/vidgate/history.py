"""Run times of the tasks this machine has waited on, so waits can poll around the expected finish.

One small SQLite file in the user's cache folder (``VIDGATE_HISTORY=PATH`` moves it,
``VIDGATE_HISTORY=off`` turns it off). Each kind of task — gateway, model, requested duration and
resolution — keeps its latest ``KEEP`` run times; the file keeps at most ``MAX_KINDS`` kinds. SQLite
makes concurrent writers (several processes, a batch) safe; it runs in WAL mode, so recording a run
time does not wait for the disk, and a writer busy for more than ``BUSY_S`` costs one run time, not
a stalled wait. Opening a file that another writer holds is tried again, then at the next call; it
never turns the history off. A file that cannot be read or written (corrupt, read-only) turns the
history off for this process, with one log line: waiting then falls back to the spec's schedule,
never to an error.

The file is data from outside too. It is marked as vidgate's (``PRAGMA application_id``) when
created; a database that is neither marked nor exactly the unmarked layout of earlier versions
(another program's file) turns the history off with one warning before anything is written to it,
its journal mode included. A stored run time that is not a finite number of seconds in (0, a day)
is ignored.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["ENV", "History", "default_path", "history", "kind_of"]

ENV = "VIDGATE_HISTORY"
KEEP = 20  # run times kept per kind of task
MAX_KINDS = 500  # kinds kept in the file (the least recently used go first)
KEY_FIELDS = ("model", "duration", "resolution")  # what a run time depends on
BUSY_S = 0.25  # how long a read or write waits for another writer (waits call this in-line)
SETUP_TRIES = 4  # opening a file other writers keep busy: tries before giving up for one call
MAX_RUN_S = 86_400  # a run time is kept and used only if shorter than a day
APPLICATION_ID = int.from_bytes(b"vgrt")  # PRAGMA application_id of a vidgate run-time history
TABLE = (
    "CREATE TABLE runs (kind TEXT NOT NULL, seconds REAL NOT NULL,"
    " at INTEGER PRIMARY KEY AUTOINCREMENT)"
)
INDEX = "CREATE INDEX runs_kind ON runs (kind, at)"
# an unmarked file written by an earlier version holds exactly these (sqlite_master: name, sql)
LEGACY = {("runs", TABLE), ("runs_kind", INDEX), ("sqlite_sequence", None)}

logger = logging.getLogger("vidgate")
Kind = tuple[str, str, str, str]  # gateway, model, duration, resolution


def default_path() -> Path:
    """The per-user cache folder, as platformdirs would place it, computed with the stdlib."""
    home = Path.home()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
        return base / "vidgate" / "Cache" / "runtimes.sqlite"
    if sys.platform == "darwin":
        return home / "Library" / "Caches" / "vidgate" / "runtimes.sqlite"
    base = Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache")
    return base / "vidgate" / "runtimes.sqlite"


def kind_of(gateway: str, body: Mapping[str, Any] | None, model: str | None = None) -> Kind | None:
    """The kind of a task: its gateway and the body fields its run time depends on."""
    fields = body or {}
    model = fields.get("model") or model
    if not isinstance(model, str):
        return None
    _, first, second = KEY_FIELDS
    return (gateway, model, str(fields.get(first, "")), str(fields.get(second, "")))


class History:
    """The run-time store (one SQLite file); every method swallows storage errors."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._db: Any = None
        self._lock = threading.Lock()

    def _connect(self) -> Any:
        if self._db is None and self.path is not None:
            import sqlite3

            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(self.path, timeout=BUSY_S, check_same_thread=False)
            except (OSError, sqlite3.Error) as exc:
                self._off(exc)
                return None
            for attempt in range(SETUP_TRIES):
                try:
                    ours = _prepare(db)
                    break
                except sqlite3.OperationalError as exc:
                    if not _busy(exc):
                        db.close()
                        self._off(exc)
                        return None
                    time.sleep(BUSY_S * (attempt + 1) / SETUP_TRIES)
                except sqlite3.Error as exc:
                    db.close()
                    self._off(exc)
                    return None
            else:  # other writers kept the file busy: no history this call, try again next call
                db.close()
                logger.debug("run-time history busy; opened at a later call")
                return None
            if not ours:  # checked before any write: another program's file stays as is
                db.close()
                logger.warning(
                    "run-time history off: %s is not a vidgate run-time history "
                    "(left untouched; point %s elsewhere)",
                    self.path,
                    ENV,
                )
                self.path = None
                return None
            self._db = db
        return self._db

    def _off(self, exc: Exception) -> None:
        logger.warning("run-time history off (%s: %s): %s", type(exc).__name__, exc, self.path)
        self.path, self._db = None, None

    def samples(self, kind: Kind | None) -> list[float]:
        """The latest run times of this kind of task, oldest first (of any duration and
        resolution when the kind names neither, as for a task this process did not submit)."""
        if kind is None:
            return []
        import sqlite3

        with self._lock:
            db = self._connect()
            if db is None:
                return []
            try:
                if kind[2:] == ("", ""):  # only the model is known: any duration, resolution
                    prefix = "\x1f".join(kind[:2]) + "\x1f"
                    rows = db.execute(
                        "SELECT seconds FROM runs WHERE substr(kind, 1, ?) = ?"
                        " ORDER BY at DESC LIMIT ?",
                        (len(prefix), prefix, KEEP),
                    ).fetchall()
                else:
                    rows = db.execute(
                        "SELECT seconds FROM runs WHERE kind = ? ORDER BY at DESC LIMIT ?",
                        ("\x1f".join(kind), KEEP),
                    ).fetchall()
            except sqlite3.Error as exc:
                self._off(exc)
                return []
        return [float(r[0]) for r in reversed(rows) if _usable(r[0])]

    def record(self, kind: Kind | None, seconds: float) -> None:
        """Add one run time (ignored when not positive or longer than a day)."""
        if kind is None or not _usable(seconds):
            return
        import sqlite3

        key = "\x1f".join(kind)
        with self._lock:
            db = self._connect()
            if db is None:
                return
            try:
                with db:
                    db.execute("INSERT INTO runs (kind, seconds) VALUES (?, ?)", (key, seconds))
                    db.execute(
                        "DELETE FROM runs WHERE kind = ? AND at NOT IN"
                        " (SELECT at FROM runs WHERE kind = ? ORDER BY at DESC LIMIT ?)",
                        (key, key, KEEP),
                    )
                    db.execute(
                        "DELETE FROM runs WHERE kind NOT IN (SELECT kind FROM runs"
                        " GROUP BY kind ORDER BY MAX(at) DESC LIMIT ?)",
                        (MAX_KINDS,),
                    )
            except sqlite3.OperationalError as exc:
                if not _busy(exc):
                    self._off(exc)
                else:  # another process is writing: this run time is simply not kept
                    logger.debug("run-time history busy; one run time not recorded")
            except sqlite3.Error as exc:
                self._off(exc)

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


def _usable(seconds: Any) -> bool:
    """A run time to keep or trust: a finite number of seconds in (0, MAX_RUN_S); a row holding
    text, a blob, inf or a negative number is not one."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        return False
    return math.isfinite(seconds) and 0 < seconds < MAX_RUN_S


def _busy(exc: Exception) -> bool:
    """Whether an SQLite error means another connection holds the file for now."""
    text = str(exc)
    return "locked" in text or "busy" in text


def _prepare(db: Any) -> bool:
    """Make the file a run-time history if it is ours (see ``_ours``) and say whether it is.
    Writes only what is missing, so opening a ready file takes no write lock: many processes
    may open it at once. Raises sqlite3.OperationalError when another writer holds the file."""
    layout = _ours(db)
    if layout is None:
        return False
    mark, names = layout
    if mark != APPLICATION_ID or not {"runs", "runs_kind"} <= names:
        with db:
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            db.execute(TABLE.replace("TABLE", "TABLE IF NOT EXISTS", 1))
            db.execute(INDEX.replace("INDEX", "INDEX IF NOT EXISTS", 1))
    # WAL + NORMAL: a record is a cheap append, not an fsync per task (WAL stays set in the file)
    if str(db.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
        db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    return True


def _ours(db: Any) -> tuple[int, set[str]] | None:
    """The file's mark (``PRAGMA application_id``) and the names in its schema if the database
    is a vidgate run-time history (marked, or the unmarked layout of an earlier version, or
    empty), None if it is not; reads only, each once (``_prepare`` goes on from what it read)."""
    (mark,) = db.execute("PRAGMA application_id").fetchone()
    if mark not in (0, APPLICATION_ID):
        return None
    found = {
        (name, None if name == "sqlite_sequence" else sql)
        for name, sql in db.execute("SELECT name, sql FROM sqlite_master")
    }
    unmarked_ours = not found or (found <= LEGACY and ("runs", TABLE) in found)
    if mark != APPLICATION_ID and not unmarked_ours:
        return None
    return mark, {name for name, _ in found}


_cache: dict[str, History] = {}
_cache_lock = threading.Lock()


def history() -> History:
    """The history this process uses, as ``VIDGATE_HISTORY`` says (read at each call)."""
    setting = os.environ.get(ENV, "")
    with _cache_lock:
        if setting not in _cache:
            off = setting.strip().lower() in ("off", "0", "none", "false", "no")
            path = None if off else (Path(setting).expanduser() if setting else default_path())
            _cache[setting] = History(path)
        return _cache[setting]
