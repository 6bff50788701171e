"""Every error vidgate raises: one base, one subclass per thing a user can act on.

Client-side validation: RequestValidationError. Gateway replies: APIError and a subclass per
status (status, gateway code, message, request id). Transport: APIConnectionError and
APITimeoutError, with ``may_have_been_submitted`` for submits. Tasks: TaskFailedError,
WaitTimeoutError and WaitInterrupted (and vidgate.WaitCancelled, defined with the async client in
vidgate.aio so that this module needs no asyncio; all carry the task id). Files:
DownloadError, URLExpiredError, OutputExistsError. Local: InputError (unusable input), DiskError,
JournalError and JournalBusyError. Every text passes vidgate.redact: no message contains an API
key. The CLI maps each to an exit code (vidgate.exits).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Self

if TYPE_CHECKING:
    from vidgate.types import JSON, Task

__all__ = [
    "GIVE_KEY",
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "DiskError",
    "DownloadError",
    "InputError",
    "InternalServerError",
    "JournalBusyError",
    "JournalError",
    "MalformedResponseError",
    "NotFoundError",
    "OutputExistsError",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestValidationError",
    "TaskFailedError",
    "URLExpiredError",
    "UnexpectedStatusError",
    "VidgateError",
    "Violation",
    "WaitInterrupted",
    "WaitTimeoutError",
    "error_for_status",
]


class VidgateError(Exception):
    """Base of every vidgate exception (but the two wait interruptions, see below).

    Its text passes vidgate.redact: no registered API key or bearer token survives in it.

    A message that tells what to change names each setting as a library user passes it
    (``rate``, ``overwrite=True``, a BatchOptions field); ``settings`` lists them, and
    ``worded`` gives the same message with each one spelt another way (the CLI's flags)."""

    settings: tuple[str, ...] = ()
    """The settings the message names, as a library caller spells them; empty when it names
    none."""
    _template: str | None = None
    _values: dict[str, Any] | None = None

    def __init__(self, *args: Any) -> None:
        from vidgate.redact import redact

        super().__init__(*(redact(a) if isinstance(a, str) else a for a in args))

    @classmethod
    def naming(cls, template: str, *settings: str, **values: Any) -> Self:
        """An error whose message names settings: ``{0}``, ``{1}``... in ``template`` are
        ``settings``, its named fields ``values`` (text from outside goes there, never into
        ``template``)."""
        error = cls(template.format(*settings, **values))
        error.keep_wording(template, settings, values)
        return error

    def keep_wording(
        self, template: str, settings: tuple[str, ...], values: dict[str, Any]
    ) -> None:
        """Keep what the message was made of, for ``worded`` (a subclass that builds its own
        message calls it from ``__init__``)."""
        self.settings, self._template, self._values = settings, template, values

    def worded(self, spell: Callable[[str], str], **values: Any) -> str:
        """The message with each setting it names spelt by ``spell`` (the CLI's passes
        ``overwrite=True`` -> ``--overwrite``) and any named field given in ``values`` in place
        of its own (the CLI's one-line list of a batch's invalid lines); redacted like the
        message itself. A message that names no setting is the message."""
        if self._template is None:
            return str(self)
        from vidgate.redact import redact

        spelt = (spell(name) for name in self.settings)
        return redact(self._template.format(*spelt, **{**(self._values or {}), **values}))


class ConfigurationError(VidgateError):
    """The client cannot be built as asked (no API key, unknown gateway, a base URL that is not
    http(s), a key with whitespace or control characters)."""


GIVE_KEY = "pass api_key= or set"
"""How a library user gives the API key: the setting the missing-key ConfigurationError names
before the variable ("no API key for imini: pass api_key= or set IMINI_API_KEY"). The CLI,
which has no ``api_key=``, words it ``set`` (``VidgateError.worded``)."""


class InputError(VidgateError, ValueError):
    """The user's input cannot be used: unreadable, not UTF-8, not JSON, not a JSON object."""


class DiskError(VidgateError):
    """A local file or folder cannot be read or written (full disk, read-only, no permission)."""


@dataclass(frozen=True)
class Violation:
    """One broken rule: where in the body, which rule, what it says, its limit and code."""

    path: str
    """JSON pointer to the offending value in the request body (``""``: the body itself)."""
    rule: str
    """The spec's ``x-vidgate-rule`` id, or the JSON Schema keyword (``maximum``, ``enum``...)
    for a rule on one field."""
    message: str
    """The broken rule explained in words, for a person to read."""
    limit: Any = None
    """The documented limit (a number, a list of allowed values...), or None when the rule has
    none."""
    code: str | None = None
    """The error code the gateway itself answers with for this rule, where its docs give one."""
    source: str | None = None
    """Where the rule comes from: the spec's ``x-vidgate-source`` for it (``doc``, ``skill``,
    ``3p``, ``upstream`` or ``gap``), or None where the spec marks none."""

    def as_dict(self) -> dict[str, Any]:
        """The six fields as a plain dict (JSON-ready when ``limit`` is)."""
        return asdict(self)


class RequestValidationError(VidgateError, ValueError):
    """The body breaks documented rules; nothing was sent."""

    def __init__(
        self,
        gateway: str,
        model: str | None,
        mode: str | None,
        violations: tuple[Violation, ...],
    ) -> None:
        self.gateway = gateway
        """The gateway whose spec the body broke."""
        self.model = model
        """The body's model, or None when it named no model of the gateway."""
        self.mode = mode
        """The input mode the body routes to, or None when it could not be told."""
        self.violations = violations
        """The broken rules, each with its field, rule, limit and gateway code."""
        head = f"{gateway} {model or 'request'}: {len(violations)} rule(s) broken"
        if mode:
            head += f" (routes to mode {mode})"
        lines = [head]
        for v in violations:
            extra = f" [{v.rule}" + (f", gateway code {v.code}" if v.code else "") + "]"
            lines.append(f"  - {v.message}{extra}")
        super().__init__("\n".join(lines))

    @property
    def codes(self) -> set[str]:
        """The gateway error codes of the broken rules (rules without a documented code are left
        out; empty when none has one)."""
        return {v.code for v in self.violations if v.code}


class APIError(VidgateError):
    """The gateway answered with an error status."""

    status: int = 0
    """The HTTP status code of the reply (0 on the base class, before an instance sets it)."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str | int | None = None,
        request_id: str | None = None,
        body: JSON = None,
        may_have_been_submitted: bool = False,
    ) -> None:
        from vidgate.redact import redact, redact_data

        self.status = status
        self.code = code
        """The gateway's error code from the reply (a string or a number), or None."""
        self.request_id = request_id
        """The exchange's request id (from the reply's body, else its X-Request-Id header), or
        None; what the gateway's support asks for."""
        self.body: JSON = redact_data(body)
        """The reply's parsed JSON body (None when it had none), secrets redacted."""
        self.message = redact(message)
        """The gateway's own error message, secrets redacted (untrusted text)."""
        self.may_have_been_submitted = may_have_been_submitted
        """True when the error answered a submit the gateway may have carried out anyway (a 5xx
        without an idempotency key, say): check before submitting again."""
        parts = [f"HTTP {status}"]
        if code is not None and str(code) != str(status):  # apimart's code is the status: once
            parts.append(str(code))
        text = f"{' '.join(parts)}: {message}"
        if request_id:
            text += f" (request id {request_id})"
        if may_have_been_submitted:
            text += "; the task may have been created: check before submitting again"
        super().__init__(text)


class BadRequestError(APIError):
    """400: the gateway refused the parameters (or, on imini, the prompt's content)."""

    status = 400
    """Always 400 for this class."""


class AuthenticationError(APIError):
    """401: the API key is missing, wrong or revoked."""

    status = 401
    """Always 401 for this class."""


class PaymentRequiredError(APIError):
    """402: not enough credits."""

    status = 402
    """Always 402 for this class."""


class PermissionDeniedError(APIError):
    """403: forbidden or over quota."""

    status = 403
    """Always 403 for this class."""


class NotFoundError(APIError):
    """404: unknown or expired task."""

    status = 404
    """Always 404 for this class."""


class RateLimitError(APIError):
    """429: back off; ``retry_after`` is the server's wait in seconds when it sent one."""

    status = 429
    """Always 429 for this class."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        self.retry_after = retry_after
        """Seconds the server asked to wait (from Retry-After, seconds or HTTP-date), or None
        when it gave no usable value."""
        super().__init__(message, **kw)


class InternalServerError(APIError):
    """5xx: the gateway or the model provider failed; retryable."""

    status = 500
    """500 as the class default; an instance holds the 5xx status actually received."""


class UnexpectedStatusError(APIError):
    """A status the spec does not document."""


class MalformedResponseError(VidgateError):
    """A reply that does not match the spec where vidgate needs it to (no task id, not JSON)."""

    def __init__(self, message: str, *, status: int, excerpt: str = "") -> None:
        from vidgate.redact import redact

        self.status = status
        """The HTTP status of the reply, or 0 when there was no usable reply."""
        self.excerpt = redact(excerpt)
        """The start of the reply as text, secrets redacted (untrusted text); empty when the
        error is not about the reply's content."""
        text = f"{message} (HTTP {status})" if status else message
        super().__init__(f"{text}: {self.excerpt[:200]!r}" if excerpt else text)


class APIConnectionError(VidgateError):
    """The request did not get an answer (network, DNS, dropped connection)."""

    def __init__(self, message: str, *, may_have_been_submitted: bool = False) -> None:
        self.may_have_been_submitted = may_have_been_submitted
        """True when a submit failed after it may have reached the gateway, so a task may have
        been created: look it up before submitting again."""
        if may_have_been_submitted:
            message += "; the task may have been created: check before submitting again"
        super().__init__(message)


class APITimeoutError(APIConnectionError):
    """The request timed out."""


class TaskFailedError(VidgateError):
    """The task ended as failed (or cancelled); ``task.error`` holds the gateway's reason."""

    def __init__(self, task: Task) -> None:
        self.task: Task = task
        """The task as last read, in its failed (or cancelled) state."""
        self.task_id: str = task.id
        """The id of the task that failed."""
        err = task.error or {}
        from vidgate.redact import redact

        self.code: str | int | None = err.get("code")
        """The gateway's error code for the failure, or None when it gave none."""
        message = err.get("message")
        self.error_message: str | None = redact(message) if isinstance(message, str) else None
        """The gateway's reason text, secrets redacted, or None when it gave none (untrusted
        text)."""
        reason = (
            ": ".join(str(x) for x in (self.code, self.error_message) if x) or "no reason given"
        )
        super().__init__(f"task {task.id} {task.raw_status}: {reason}")


class WaitTimeoutError(VidgateError):
    """The wait's deadline passed; the task goes on and can be waited on again. ``waited``: the
    seconds it waited; ``deadline``: its timeout, when it stopped short of it because its next
    poll (at the gateway's pace) would come after it."""

    def __init__(
        self,
        task_id: str,
        waited: float,
        last: Task | None = None,
        *,
        deadline: float | None = None,
    ) -> None:
        self.task_id = task_id
        """The id of the task waited on (it goes on)."""
        self.waited = waited
        """Seconds the wait lasted."""
        self.deadline = deadline
        """The wait's timeout in seconds, where it stopped short of it (else None)."""
        self.last: Task | None = last
        """The task as last read before the deadline, or None if no read succeeded."""
        status = f", last status {last.raw_status}" if last is not None else ""
        early = ""  # stopped before the deadline: the next poll (the gateway's pace) is past it
        if deadline is not None and _seconds(waited) != _seconds(deadline) and waited < deadline:
            early = f" (its next poll would come after the {_seconds(deadline)} s deadline)"
        super().__init__(f"task {task_id} not finished after {_seconds(waited)} s{early}{status}")


def _seconds(seconds: float) -> str:
    """A time as a person reads it: under 10 s to a tenth (0.5), else whole seconds (12)."""
    return f"{seconds:.1f}" if round(seconds, 1) < 10 else f"{seconds:.0f}"


class WaitInterrupted(KeyboardInterrupt):
    """Ctrl-C during a wait: the wait stops, the task does not. Still a KeyboardInterrupt."""

    def __init__(self, task_id: str) -> None:
        self.task_id = task_id
        """The id of the task that was being waited on (it keeps running)."""
        super().__init__(f"stopped waiting for task {task_id}; the task goes on")


class DownloadError(VidgateError):
    """A result file could not be fetched."""


class URLExpiredError(DownloadError):
    """The result URL has expired (apimart's ``expires_at`` passed, or the CDN refused it)."""


class OutputExistsError(DownloadError, FileExistsError):
    """The target file exists and overwriting was not asked for."""


class JournalError(VidgateError):
    """A batch journal cannot be opened, read or written (corrupt file, full disk, no access)."""


class JournalBusyError(JournalError):
    """Another process runs a batch on this journal; ``holder`` says who (pid, host, since)."""

    def __init__(self, folder: Any, holder: dict[str, Any]) -> None:
        self.folder = folder
        """The journal's folder."""
        self.holder = holder
        """What the running batch wrote about itself (``pid``, ``host``, ``since``), as far as it
        could be read; empty when nothing could."""
        who = ", ".join(f"{k} {holder[k]}" for k in ("pid", "host", "since") if k in holder)
        super().__init__(
            f"another vidgate batch is running on {folder} ({who or 'holder unknown'}); "
            "wait for it to finish, or stop it first"
        )


_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: PaymentRequiredError,
    403: PermissionDeniedError,
    404: NotFoundError,
    429: RateLimitError,
}


def error_for_status(status: int) -> type[APIError]:
    """The APIError subclass raised for an HTTP error status: one per documented status (400,
    401, 402, 403, 404, 429), InternalServerError for any 5xx, UnexpectedStatusError for the
    rest."""
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    return InternalServerError if status >= 500 else UnexpectedStatusError
