"""The keyword options every request method takes (openai-python's per-call surface).

``extra_headers`` and ``extra_query`` are added to the request as given (after the spec's own
headers and query), a header that cannot be sent being refused first with ConfigurationError
(naming it, never showing its value); ``timeout`` bounds each exchange of this call,
``max_retries`` its retries. The wait family (``wait``, ``generate_and_wait``, ``watch``) keeps
``timeout`` for the wait's own budget: there the exchange timeout is ``request_timeout``.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Self, TypedDict

from vidgate.errors import ConfigurationError

if TYPE_CHECKING:
    from vidgate._core import Config

__all__ = ["Configurable", "RequestOptions", "WaitOptions"]


class RequestOptions(TypedDict, total=False):
    """Per-call options of generate, get and download."""

    extra_headers: Mapping[str, str] | None
    extra_query: Mapping[str, str] | None
    timeout: float | None
    max_retries: int | None


class WaitOptions(TypedDict, total=False):
    """Per-call options of wait, generate_and_wait and watch."""

    extra_headers: Mapping[str, str] | None
    extra_query: Mapping[str, str] | None
    request_timeout: float | None
    max_retries: int | None


class Configurable:
    """``with_options`` and per-call options, shared by the sync and async clients.

    A configured copy shares its HTTP connections with the client it came from (closing either
    closes both), as openai-python's ``with_options`` does; only its settings differ.
    """

    _cfg: Config
    _extra_headers: Mapping[str, str] = MappingProxyType({})
    _extra_query: Mapping[str, str] = MappingProxyType({})
    _external = False  # the API connection is the caller's http_client (not ours to configure)

    def with_options(
        self,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
    ) -> Self:
        """A copy of this client with other settings: ``timeout`` (each exchange),
        ``max_retries``, and headers and query parameters added to every request."""
        changes: dict[str, Any] = {}
        if timeout is not None:
            changes["timeout"] = _positive("timeout", timeout)
        if max_retries is not None:
            if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
                raise ConfigurationError(
                    f"max_retries must be a whole number >= 0, not {max_retries!r}"
                )
            changes["max_retries"] = max_retries
        clone = copy.copy(self)
        if changes:
            clone._cfg = dataclasses.replace(self._cfg, **changes)
        if extra_headers:
            clone._extra_headers = {
                **self._extra_headers,
                **_headers("extra_headers", extra_headers),
            }
        if extra_query:
            clone._extra_query = {**self._extra_query, **_strings("extra_query", extra_query)}
        return clone

    def _per_call(
        self,
        extra_headers: Mapping[str, str] | None,
        extra_query: Mapping[str, str] | None,
        timeout: float | None,
        max_retries: int | None,
    ) -> Self:
        """This client, or a configured copy when the call gives options of its own."""
        if (
            extra_headers is None
            and extra_query is None
            and timeout is None
            and max_retries is None
        ):
            return self
        return self.with_options(
            timeout=timeout,
            max_retries=max_retries,
            extra_headers=extra_headers,
            extra_query=extra_query,
        )

    def _with_extras(self, request: dict[str, Any]) -> dict[str, Any]:
        """The request with its absolute URL (httpx's merge with a base URL costs a tenth of an
        exchange) and this client's extra headers and query parameters; for a caller's
        http_client, also the key (its own base URL and default headers are never relied on)."""
        request = {**request, "url": self._cfg.absolute(request["url"])}
        if self._external:
            request["headers"] = {**(request.get("headers") or {}), **self._cfg.auth_headers()}
        if self._extra_headers:
            request["headers"] = {**(request.get("headers") or {}), **self._extra_headers}
        if self._extra_query:
            request["params"] = {**(request.get("params") or {}), **self._extra_query}
        return request


def _positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
        raise ConfigurationError(f"{name} must be a positive number of seconds, not {value!r}")
    return float(value)


# RFC 9110 section 5.6.2: a field name is a token; section 5.5: a value is visible characters
# with spaces or tabs between them (the ends are trimmed when sent). httpx sends str values as
# ASCII, so other characters cannot be sent either.
_TOKEN = re.compile(r"[-!#$%&'*+.^_`|~0-9A-Za-z]+")
_VALUE = re.compile(r"[\x20-\x7e\t]*")


def _headers(name: str, values: Mapping[str, str]) -> dict[str, str]:
    """The headers, each name and value checked to be sendable; a bad one is refused before
    anything is sent, naming the header but never showing the value (it may be a secret)."""
    headers = _strings(name, values)
    for key, value in headers.items():
        if not _TOKEN.fullmatch(key):
            raise ConfigurationError(
                f"{name}: {key!r} cannot be sent as a header name (RFC 9110: letters, digits "
                "and !#$%&'*+-.^_`|~ only)"
            )
        if not _VALUE.fullmatch(value):
            raise ConfigurationError(
                f"{name}: the value of header {key!r} cannot be sent (printable ASCII, spaces "
                "and tabs only: no line breaks, control or non-ASCII characters)"
            )
    return headers


def _strings(name: str, values: Mapping[str, str]) -> dict[str, str]:
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in values.items()):
        raise ConfigurationError(f"{name}: names and values must be strings")
    return dict(values)
