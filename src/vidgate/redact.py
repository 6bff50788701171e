"""One redaction step for every text that leaves the process.

Error messages, reprs, log lines, the batch journal and the CLI's output all pass through
``redact``: every API key a client was built with is replaced by ``***`` in each form it can take
in a server's echo (raw, JSON- or repr-escaped, URL-encoded), and so is any bearer-shaped token
(``Bearer <token>``), whoever's it is, and the password of any URL or ``password=`` setting
(a journal's ``postgresql://user:password@host``). ``check_key`` refuses keys that could not
be sent as a header value anyway (whitespace, control characters), without quoting them.
"""

from __future__ import annotations

import json
import re
import threading
from typing import Any
from urllib.parse import quote, quote_plus

__all__ = ["MASK", "check_key", "mentions_secret", "redact", "redact_data", "register_secret"]

MASK = "***"
_BEARER = re.compile(r"(?i)\b(bearer)(\s+|%20|\+)[^\s\"'<>,;&]+")
# the password of any URL (a journal's postgresql://user:password@host), up to the last "@"
# before the path, and libpq's keyword form (password=...)
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s/:@]*:)[^\s/]*@")
_KEYWORD_PASSWORD = re.compile(r"(?i)\b(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s'][^\s]*)")
_lock = threading.Lock()
_forms: list[str] = []  # every form of every registered key, longest first
_byte_forms: list[bytes] = []  # the same, as bytes (mentions_secret reads replies as bytes)


def register_secret(secret: str) -> None:
    """Remember a key so that ``redact`` hides it from now on (in this process)."""
    if not secret:
        return
    forms = {
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        repr(secret)[1:-1],
        json.dumps(secret)[1:-1].replace("/", "\\/"),  # JSON may escape the solidus
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
    }
    with _lock:
        new = sorted(set(_forms) | {f for f in forms if f}, key=len, reverse=True)
        _forms[:] = new
        _byte_forms[:] = [form.encode("utf-8", "replace") for form in new]


def redact(text: str) -> str:
    """``text`` without any registered key (in any form) or bearer-shaped token."""
    if not isinstance(text, str):
        text = str(text)
    for form in _forms:
        if form in text:
            text = text.replace(form, MASK)
    text = _URL_PASSWORD.sub(lambda m: f"{m.group(1)}{MASK}@", text)
    text = _KEYWORD_PASSWORD.sub(lambda m: f"{m.group(1)}{MASK}", text)
    return _BEARER.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)


def mentions_secret(data: bytes) -> bool:
    """Cheap test before walking a reply: could ``redact`` change anything in it?"""
    return any(form in data for form in _byte_forms) or b"bearer" in data.lower()


def redact_data(value: Any, depth: int = 0) -> Any:
    """A parsed JSON value with every string (and key) redacted."""
    if depth > 100:
        return MASK
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact(str(k)): redact_data(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_data(v, depth + 1) for v in value]
    return value


def check_key(secret: str) -> str | None:
    """Why a key cannot be used (never quoting it), or None."""
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in secret):
        return "the API key contains whitespace or control characters (a stray newline?)"
    if not secret.isascii() or not secret.isprintable():
        return "the API key contains characters that cannot be sent in an HTTP header"
    return None
