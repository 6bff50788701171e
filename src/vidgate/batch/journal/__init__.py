"""The batch journal: one row per job, every state change committed before the action it allows.

Two backends share one logic layer (``base``: the states, ``TRANSITIONS``, ``Job``, the
``JournalBackend`` interface, the compare-and-set and owner checks) and the statements in
``sql/``: ``Journal`` (``sqlite``), one SQLite file next to the output (one machine, one process at
a time), and ``vidgate.batch.journal.pg.PgJournal``, a PostgreSQL database that workers on several
machines share (there the compare-and-set is what keeps a job from being submitted twice, and
claims under leases share out the work). ``open_journal`` picks one from a URL. Both record who
holds a job (``owner``, ``lease_until``), whether it holds an in-flight slot, and for a downloaded
job its file's path, size, checksum and the worker that wrote it.
"""

from __future__ import annotations

import os
from pathlib import Path

from vidgate.batch.dburl import parse as parse_url
from vidgate.batch.dburl import register_url_password, safe_url
from vidgate.batch.journal.base import (
    FINISHED,
    TRANSITIONS,
    Job,
    JournalBackend,
    clean_error,
    held_by,
    job_key,
)
from vidgate.batch.journal.sqlite import Journal
from vidgate.errors import ConfigurationError

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

URL_ENV = "VIDGATE_JOURNAL_URL"


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
