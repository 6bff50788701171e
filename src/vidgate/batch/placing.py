"""Videos recorded as ``downloaded`` that are not on disk as recorded, found as a run starts.

A worker records a job as downloaded (an owner-checked compare-and-set) and only then moves its
private ``.part`` file into place, so that only the worker still holding the job places a file.
A process killed between the two leaves a ``downloaded`` row with no file at its path and the
complete ``.part`` beside it. ``recover`` runs before a run's first claim (on SQLite under the
batch lock, before the partial files of earlier runs are removed), over the jobs whose recorded
file lies in this run's own output folder (a PostgreSQL worker on another machine, or with
another ``--out``, checks its own):

- file missing, a ``.part`` here with the recorded size and sha256 (matched by content: its
  name carries the dead worker's random suffix): moved into the recorded name;
- file missing, no such ``.part``: the job goes back to ``submitted`` (file fields cleared), so
  this run polls its task again and downloads it; nothing is submitted again;
- a file there whose size differs from the record (replaced or cut short since): it is
  left as it is, never overwritten; the job goes back to ``submitted`` and its video is
  downloaded into the line's next free name (``000001-2.mp4``). The job's ``error`` says so
  (``--status`` shows it) and the ``vidgate`` logger warns. A file of the recorded size is taken
  as it is: checking costs one ``stat`` per video, not a read of every video at every start.

Every change is a compare-and-set on the row as it was read (state, no holder, file, sha256),
and a placed ``.part`` records this worker as the job's, so a worker paused between its record
and its move that wakes later can neither undo the job nor place a second file.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

from vidgate import _files, errors
from vidgate.batch.journal import Job, JournalBackend

__all__ = ["recover"]

_log = logging.getLogger("vidgate")
_CLEAR: dict[str, Any] = {"file": None, "size": None, "sha256": None}


def recover(journal: JournalBackend, out: Path, owner: str) -> dict[int, str]:
    """Make every ``downloaded`` job whose file is recorded in ``out`` true on disk (see the
    module's docstring); returns {line: what was done} for the jobs it changed."""
    folder = out.resolve()
    parts = _Parts(folder)
    done: dict[int, str] = {}
    for job in journal.jobs("downloaded"):
        if not job.file or Path(job.file).parent != folder or job.sha256 is None:
            continue  # another folder's (another worker's, or moved since), or not checkable
        path = Path(job.file)
        if path.exists() or path.is_symlink():
            if _matches(path, job):
                continue
            note = f"{path} is not the video recorded for this line (its size differs): "
            note += "left as it is; downloaded again into a new name"
            _log.warning("line %d: %s", job.line, note)
            if _again(journal, job, note):
                done[job.line] = "differs"
            continue
        part = parts.find(job)
        if part is not None and _take(journal, job, owner):
            try:
                _files.place(part, path, overwrite=False)
            except errors.OutputExistsError:  # appeared a moment ago: someone else's file
                _again(journal, job, f"{path} appeared while the video was placed", owner)
                done[job.line] = "downloaded again"
                continue
            done[job.line] = "placed"
            continue
        if _again(journal, job, f"{path} was missing (not placed, or removed): downloaded again"):
            done[job.line] = "downloaded again"
    return done


def _matches(path: Path, job: Job) -> bool:
    try:
        return path.is_file() and (job.size is None or path.stat().st_size == job.size)
    except OSError:
        return False


def _was(job: Job) -> dict[str, Any]:
    return {"file": job.file, "sha256": job.sha256}


def _take(journal: JournalBackend, job: Job, owner: str) -> bool:
    """The job's file is this worker's to place: the row must be as read, and from now on it
    names this worker (the one that recorded it, if only paused, cannot undo it any more)."""
    return journal.set(
        job.line, "downloaded", expect="downloaded", unowned=True, was=_was(job), worker=owner
    )


def _again(journal: JournalBackend, job: Job, note: str, owner: str | None = None) -> bool:
    """Back to ``submitted`` (its task id kept): the next pass polls it and downloads it."""
    was = {**_was(job), "worker": owner} if owner else _was(job)
    return journal.set(
        job.line, "submitted", expect="downloaded", unowned=True, was=was, error=note, **_CLEAR
    )


class _Parts:
    """The ``.part`` files in the folder, found by size and sha256 (each used once)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.sizes: dict[int, list[Path]] | None = None
        self.digests: dict[Path, str] = {}

    def find(self, job: Job) -> Path | None:
        if self.sizes is None:
            self.sizes = {}
            for part in sorted(self.folder.glob(".*.part")):
                try:
                    if part.is_file() and not part.is_symlink():
                        self.sizes.setdefault(part.stat().st_size, []).append(part)
                except OSError:
                    continue
        candidates = self.sizes.get(job.size, []) if job.size is not None else []
        for part in candidates:
            if part not in self.digests:
                try:
                    self.digests[part] = _sha256(part)
                except OSError:
                    self.digests[part] = ""
            if self.digests[part] == job.sha256:
                candidates.remove(part)
                return part
        return None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
