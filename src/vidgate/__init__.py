"""vidgate: typed clients for the imini router and apimart video gateways.

Every request is checked against the gateway's spec before it is sent; see ``vidgate.validate``.
Names are imported on first use, so ``import vidgate`` stays cheap (a script that only validates
never loads httpx).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vidgate.aio import (
        AsyncApimart,
        AsyncClient,
        AsyncImini,
        WaitCancelled,
    )
    from vidgate.client import (
        Apimart,
        Imini,
        SyncClient,
    )
    from vidgate.errors import (
        APIConnectionError,
        APIError,
        APITimeoutError,
        AuthenticationError,
        BadRequestError,
        ConfigurationError,
        DiskError,
        DownloadError,
        InputError,
        InternalServerError,
        JournalBusyError,
        JournalError,
        MalformedResponseError,
        NotFoundError,
        OutputExistsError,
        PaymentRequiredError,
        PermissionDeniedError,
        RateLimitError,
        RequestValidationError,
        TaskFailedError,
        UnexpectedStatusError,
        URLExpiredError,
        VidgateError,
        Violation,
        WaitInterrupted,
        WaitTimeoutError,
    )
    from vidgate.neutral import (
        HappyHorse,
        UnsupportedFieldError,
    )
    from vidgate.types import (
        JSON,
        RawResponse,
        Status,
        SubmittedTask,
        Task,
        TaskError,
        VideoOutput,
    )
    from vidgate.validation import (
        Result,
        validate,
        validator,
    )

__version__ = "0.2.0"
"""The version of this vidgate package."""

_LAZY: dict[str, str] = {
    "APIConnectionError": "vidgate.errors",
    "APIError": "vidgate.errors",
    "APITimeoutError": "vidgate.errors",
    "Apimart": "vidgate.client",
    "AsyncApimart": "vidgate.aio",
    "AsyncClient": "vidgate.aio",
    "AsyncImini": "vidgate.aio",
    "AuthenticationError": "vidgate.errors",
    "BadRequestError": "vidgate.errors",
    "ConfigurationError": "vidgate.errors",
    "DiskError": "vidgate.errors",
    "DownloadError": "vidgate.errors",
    "InputError": "vidgate.errors",
    "JournalBusyError": "vidgate.errors",
    "JournalError": "vidgate.errors",
    "HappyHorse": "vidgate.neutral",
    "Imini": "vidgate.client",
    "InternalServerError": "vidgate.errors",
    "MalformedResponseError": "vidgate.errors",
    "NotFoundError": "vidgate.errors",
    "OutputExistsError": "vidgate.errors",
    "PaymentRequiredError": "vidgate.errors",
    "PermissionDeniedError": "vidgate.errors",
    "RateLimitError": "vidgate.errors",
    "RequestValidationError": "vidgate.errors",
    "Result": "vidgate.validation",
    "Status": "vidgate.types",
    "SubmittedTask": "vidgate.types",
    "SyncClient": "vidgate.client",
    "Task": "vidgate.types",
    "TaskError": "vidgate.types",
    "RawResponse": "vidgate.types",
    "JSON": "vidgate.types",
    "TaskFailedError": "vidgate.errors",
    "URLExpiredError": "vidgate.errors",
    "UnexpectedStatusError": "vidgate.errors",
    "UnsupportedFieldError": "vidgate.neutral",
    "VideoOutput": "vidgate.types",
    "VidgateError": "vidgate.errors",
    "Violation": "vidgate.errors",
    "WaitCancelled": "vidgate.aio",
    "WaitInterrupted": "vidgate.errors",
    "WaitTimeoutError": "vidgate.errors",
    "validate": "vidgate.validation",
    "validator": "vidgate.validation",
}

__all__ = [
    "JSON",
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "Apimart",
    "AsyncApimart",
    "AsyncClient",
    "AsyncImini",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "DiskError",
    "DownloadError",
    "HappyHorse",
    "Imini",
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
    "RawResponse",
    "RequestValidationError",
    "Result",
    "Status",
    "SubmittedTask",
    "SyncClient",
    "Task",
    "TaskError",
    "TaskFailedError",
    "URLExpiredError",
    "UnexpectedStatusError",
    "UnsupportedFieldError",
    "VideoOutput",
    "VidgateError",
    "Violation",
    "WaitCancelled",
    "WaitInterrupted",
    "WaitTimeoutError",
    "__version__",
    "validate",
    "validator",
]


def _load(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'vidgate' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


if not TYPE_CHECKING:  # type checkers see the imports above, so a misspelt name is an error
    __getattr__ = _load


def __dir__() -> list[str]:
    return sorted(__all__)
