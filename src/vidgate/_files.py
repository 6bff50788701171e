"""Result files on disk: safe names from server-supplied ids, a target inside the chosen folder,
and a bounded ``.part`` file moved into place only when complete (never over an existing file
unless asked)."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import time
from typing import Any, Protocol

import httpx

from vidgate import errors
from vidgate.types import Task

__all__ = [
    "NAME_CAP",
    "FileSink",
    "Limits",
    "content_length",
    "download_target",
    "place",
    "safe_name",
]


# File names made from ids a server sent: a fixed alphabet, no separators, no leading dot, capped.
NAME_CAP = 96
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,8}")


def safe_name(text: str) -> str:
    """``text`` as a file name stem: itself if it is already safe, else a cleaned copy with a
    short hash of the original (so two different ids never share a name)."""
    import hashlib

    clean = _UNSAFE.sub("_", text).lstrip("._-")[:NAME_CAP]
    if clean == text and clean:
        return clean
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{clean[: NAME_CAP - 11]}-{digest}" if clean else f"task-{digest}"


def download_target(task: Task, url: str, dest: Any, what: str, index: int, overwrite: bool) -> Any:
    """The file to write: ``dest`` itself, or a file named after the task inside it.

    ``dest`` is a folder if it is one, or if it does not exist and has no file suffix. A name
    made from the task id stays inside that folder (checked after resolving links), and an
    existing file is refused unless ``overwrite``.
    """
    from pathlib import Path, PurePosixPath

    path = Path(dest)
    if path.is_dir() or (not path.exists() and not path.suffix):
        suffix = PurePosixPath(httpx.URL(url).path).suffix
        if not _SUFFIX.fullmatch(suffix):
            suffix = {"video": ".mp4"}.get(what, ".bin")
        tag = "" if what == "video" else f"-{what.replace('_', '-')}"
        number = f"-{index}" if index else ""
        path = path / f"{safe_name(task.id)}{number}{tag}{suffix}"
        try:
            inside = path.resolve().parent == Path(dest).resolve()
        except (OSError, RuntimeError):
            inside = False
        if not inside:
            raise errors.DownloadError(f"refusing to write {path}: it resolves outside {dest}")
    if path.exists() and not overwrite:
        raise _exists(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise errors.DiskError(f"cannot create {path.parent}: {exc.strerror or exc}") from exc
    return path


class Limits(Protocol):
    """What a FileSink reads of the client's settings (vidgate._core.Config has it)."""

    @property
    def max_download_bytes(self) -> int: ...


class FileSink:
    """A result file being written: a private ``.part`` file, bounded in size and time, moved
    into place only when complete (and never over an existing file unless asked)."""

    def __init__(
        self, cfg: Limits, path: Any, task: Task, what: str, response: httpx.Response, end: float
    ) -> None:
        self.path, self.end = path, end
        self.label = f"the {what} of task {task.id}"
        self.limit = cfg.max_download_bytes
        self.expected = content_length(response)
        if self.expected is not None and self.expected > self.limit:
            raise errors.DownloadError(
                f"{self.label} is {self.expected} bytes, over the limit of {self.limit} "
                "(max_download_bytes)"
            )
        self.part = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
        self.done = 0
        try:
            self.file = self.part.open("xb")
        except OSError as exc:
            raise errors.DiskError(f"cannot write {self.part}: {exc.strerror or exc}") from exc

    def write(self, chunk: bytes, raw_bytes: int) -> None:
        self.done += len(chunk)
        if self.done > self.limit:
            raise errors.DownloadError(
                f"{self.label} outgrew the limit of {self.limit} bytes (max_download_bytes)"
            )
        if self.expected is not None and raw_bytes > self.expected:
            raise errors.DownloadError(
                f"{self.label}: the server sent more than its Content-Length ({self.expected})"
            )
        if time.monotonic() > self.end:
            raise errors.DownloadError(f"{self.label} took longer than download_timeout")
        try:
            self.file.write(chunk)
        except OSError as exc:
            raise errors.DiskError(f"cannot write {self.part}: {exc.strerror or exc}") from exc

    def finish(self, raw_bytes: int, overwrite: bool) -> None:
        try:
            self.file.close()
        except OSError as exc:
            raise errors.DiskError(f"cannot write {self.part}: {exc.strerror or exc}") from exc
        received = raw_bytes or self.done  # 0 raw bytes: a transport that read the body already
        if self.expected is not None and received < self.expected:
            raise errors.DownloadError(
                f"{self.label} ended after {received} of {self.expected} bytes"
            )
        place(self.part, self.path, overwrite)

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            self.file.close()
        with contextlib.suppress(OSError):
            self.part.unlink()


def place(part: Any, path: Any, overwrite: bool) -> None:
    """Move a complete file into place; without ``overwrite``, atomically refuse an existing one."""
    try:
        if overwrite:
            part.replace(path)
            return
        try:
            os.link(part, path)  # fails if path exists, even if it appeared a moment ago
        except FileExistsError:
            raise _exists(path) from None
        except OSError:  # no hard links on this file system
            if path.exists():
                raise _exists(path) from None
            part.replace(path)
            return
        part.unlink()
    except errors.OutputExistsError:  # a FileExistsError, so an OSError too: not a disk fault
        raise
    except OSError as exc:
        raise errors.DiskError(f"cannot write {path}: {exc.strerror or exc}") from exc


def _exists(path: Any) -> errors.OutputExistsError:
    return errors.OutputExistsError.naming(
        "{path} exists; pass {0} to replace it", "overwrite=True", path=path
    )


def content_length(response: httpx.Response) -> int | None:
    value = response.headers.get("content-length")
    return int(value) if value and value.isdigit() else None
