"""vidgate: typed clients for the imini router and apimart video gateways.

Every request is checked against the gateway's spec before it is sent; see ``vidgate.validate``.
"""

from vidgate.aio import AsyncApimart, AsyncClient, AsyncImini
from vidgate.client import Apimart, Imini, SyncClient
from vidgate.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    DownloadError,
    InternalServerError,
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
    WaitCancelled,
    WaitInterrupted,
    WaitTimeoutError,
)
from vidgate.neutral import HappyHorse, UnsupportedFieldError
from vidgate.types import Status, SubmittedTask, Task, VideoOutput
from vidgate.validation import Result, validate, validator

__version__ = "0.1.0"

__all__ = [
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
    "DownloadError",
    "HappyHorse",
    "Imini",
    "InternalServerError",
    "MalformedResponseError",
    "NotFoundError",
    "OutputExistsError",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestValidationError",
    "Result",
    "Status",
    "SubmittedTask",
    "SyncClient",
    "Task",
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
