"""The ``vidgate`` command's exit codes: one table, every command follows it.

Every failure reaches the user as one line on stderr (the key and bearer tokens redacted) and one
of these codes; ``VIDGATE_DEBUG=1`` adds the traceback. The exit-code table of docs/cli.md is
this one.
"""

from __future__ import annotations

from vidgate import errors

__all__ = ["CODES", "DOWNLOAD", "FAILED", "GATEWAY", "INTERNAL", "INTERRUPTED", "LOCAL", "OK"]
__all__ += ["TIMEOUT", "USAGE", "code_for"]

OK = 0
"""Success."""
FAILED = 1
"""The request or the task failed (an invalid body, a refusal by the gateway, a failed task, a
batch with failed or unknown jobs, a spec tool's finding)."""
USAGE = 2
"""Unusable input, options or configuration (a missing extra too); nothing was sent."""
GATEWAY = 3
"""The gateway could not be reached in time, or its reply was unusable."""
DOWNLOAD = 4
"""Nothing to download, the file exists already, or the download failed."""
LOCAL = 5
"""A local file, folder or batch journal: unwritable, full, damaged or in use."""
TIMEOUT = 6
"""The wait's deadline passed; the task goes on."""
INTERNAL = 70
"""A bug in vidgate (please report it, with the output of ``VIDGATE_DEBUG=1``)."""
INTERRUPTED = 130
"""Ctrl-C (or SIGTERM in a batch); the task goes on, the batch resumes when run again."""

CODES: dict[int, str] = {
    OK: "success",
    FAILED: "the request or the task failed: invalid body, the gateway refused it, the task "
    "failed, a batch ended with failed or unknown jobs, docs-diff found unexplained differences, "
    "schema-diff found a breaking difference, spec-diff found a change at its --fail-on level",
    USAGE: "unusable input or usage: unreadable, non-UTF-8 or non-JSON input, a body that is "
    "not an object, a bad option, no API key, a base URL that is not http(s), a missing extra "
    "(`vidgate` without [cli], `demo` or `mock` without [mock], the spec tools without [tools]: "
    "the line names the pip command), a port the mock cannot listen on; nothing was sent",
    GATEWAY: "the gateway could not be reached in time, or its reply was unusable (not JSON, too "
    "large, undecodable)",
    DOWNLOAD: "nothing to download (task not finished, no result files), the file already "
    "exists, the URL expired, or the download failed or outgrew its limit",
    LOCAL: "a local file or folder cannot be written or read (full disk, read-only, no "
    "permission), the batch journal is damaged, or another batch is running on it",
    TIMEOUT: "`wait --timeout` passed before the task finished; the task goes on",
    INTERNAL: "an unexpected error inside vidgate (a bug): set VIDGATE_DEBUG=1 and report it",
    INTERRUPTED: "interrupted with Ctrl-C, or a batch stopped by SIGTERM; the task goes on, a "
    "batch resumes when run again (the hint says how)",
}
"""Each exit code and what it means: the table of docs/cli.md, "Exit codes"."""

_BY_CLASS: tuple[tuple[type[BaseException], int], ...] = (
    (errors.RequestValidationError, FAILED),
    (errors.InputError, USAGE),
    (errors.ConfigurationError, USAGE),
    (errors.WaitTimeoutError, TIMEOUT),
    (errors.DownloadError, DOWNLOAD),
    (errors.JournalError, LOCAL),
    (errors.DiskError, LOCAL),
    (errors.MalformedResponseError, GATEWAY),
    (errors.APIConnectionError, GATEWAY),
    (errors.APIError, FAILED),
    (errors.TaskFailedError, FAILED),
    (errors.VidgateError, FAILED),
    (OSError, LOCAL),
)


def code_for(exc: BaseException) -> int:
    """The exit code for an error that ends a command."""
    for cls, code in _BY_CLASS:
        if isinstance(exc, cls):
            return code
    return INTERNAL
