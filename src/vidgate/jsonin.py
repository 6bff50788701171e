"""JSON coming in from users (files, stdin, JSONL lines) and bodies handed to the clients.

``parse`` turns bytes or text into a value or raises ``BadJSON`` with a message a user can act on:
undecodable bytes (with the byte offset), a byte-order mark (accepted and dropped), NaN and
Infinity, integers too long to convert, nesting deeper than ``MAX_DEPTH``, lone surrogates. The
same checks, on a Python value, are ``problems``: the clients call it before validating, so a body
holding bytes, sets, non-string keys or the like is a RequestValidationError, never a raw
ValueError at send time.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

__all__ = ["MAX_DEPTH", "SHARED_DEPTH", "BadJSON", "parse", "problems", "rereadable", "share"]

MAX_DEPTH = 64  # ours: no request body of either gateway comes near it (kling nests 4 deep)
SHARED_DEPTH = 16  # levels of a reply whose words are shared (the specs' replies nest 4 deep)


class BadJSON(ValueError):
    """Input that is not usable JSON; the message says why and where."""


def _constant(name: str) -> Any:
    raise BadJSON(f"{name} is not JSON (numbers must be finite)")


# one decoder for every parse: json.loads with a hook builds a new one (and its scanner) per call
_DECODER = json.JSONDecoder(parse_constant=_constant)
_BOM = b"\xef\xbb\xbf"  # UTF-8's byte-order mark


def parse(data: bytes | str, *, strict: bool = True) -> Any:
    """One JSON value from bytes (UTF-8, BOM allowed) or text. ``strict=False`` (replies from a
    gateway: tolerant on what we receive) skips the walk for lone surrogates, huge integers and
    nesting deeper than MAX_DEPTH; Python's own limits still hold."""
    if isinstance(data, bytes):
        raw = data
        try:  # what the "utf-8-sig" codec does, without its Python-level decoder
            data = (raw[3:] if raw.startswith(_BOM) else raw).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadJSON(
                f"not UTF-8 text (byte {exc.start}: {raw[exc.start : exc.start + 1]!r})"
            ) from None
    data = data.removeprefix("\ufeff")
    try:
        if data.startswith("\ufeff"):  # a second mark: json.loads's own words for it
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", data, 0)
        value = _DECODER.decode(data)
    except json.JSONDecodeError as exc:
        raise BadJSON(f"{exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except RecursionError:
        raise BadJSON(f"nested deeper than {MAX_DEPTH} levels") from None
    except BadJSON:
        raise
    except ValueError as exc:  # an integer longer than Python converts
        raise BadJSON(f"a number is too long ({str(exc).split(';')[0].lower()})") from None
    found = problems(value) if strict else []
    if found:
        path, message = found[0]
        raise BadJSON(f"{message} at {path or 'the top'}")
    return value


def problems(value: Any, limit: int = 10) -> list[tuple[str, str]]:
    """(JSON pointer, what is wrong) for each part of ``value`` that is not plain JSON."""
    found: list[tuple[str, str]] = []
    # where an item sits: None for the top, else (where its container sits, key or index); the
    # pointer is spelled out only for an item that is reported (most bodies have none)
    stack: list[tuple[Any, Any, int]] = [(None, value, 0)]
    while stack and len(found) < limit:
        where, item, depth = stack.pop()
        if depth > MAX_DEPTH:
            found.append((_pointer(where), f"nested deeper than {MAX_DEPTH} levels"))
            continue
        if isinstance(item, str):  # an ASCII string always encodes (isascii is a flag check)
            if not item.isascii() and not _encodable(item):
                found.append(
                    (_pointer(where), "a string holds a lone surrogate (not valid Unicode)")
                )
        elif item is None or isinstance(item, bool):
            continue
        elif isinstance(item, int):
            if item.bit_length() > 1024:
                found.append(
                    (_pointer(where), "an integer too large to be a JSON number anyone reads")
                )
        elif isinstance(item, float):
            if not math.isfinite(item):
                found.append((_pointer(where), f"{item} is not JSON (numbers must be finite)"))
        elif isinstance(item, dict):
            for key, sub in item.items():
                if not isinstance(key, str):
                    found.append((_pointer(where), f"key {key!r} is not a string"))
                    continue
                if not key.isascii() and not _encodable(key):
                    found.append(
                        (_pointer(where), "a key holds a lone surrogate (not valid Unicode)")
                    )
                    continue
                stack.append(((where, key), sub, depth + 1))
        elif isinstance(item, list | tuple):
            stack.extend(((where, i), sub, depth + 1) for i, sub in enumerate(item))
        else:
            found.append((_pointer(where), f"a {type(item).__name__} is not a JSON value"))
    return found


def _pointer(where: Any) -> str:
    """The JSON pointer of a place recorded as (container's place, key or index) pairs."""
    steps: list[str] = []
    while where is not None:
        where, step = where
        steps.append(f"/{_escape(step)}" if isinstance(step, str) else f"/{step}")
    return "".join(reversed(steps))


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def share(value: Any, words: Mapping[str, str], depth: int = 0) -> Any:
    """A parsed reply with its keys and the string values found in ``words`` swapped for the
    str objects of ``words`` (the same value; objects rebuilt as dicts, arrays as lists), so that
    replies kept in memory share them. Below ``SHARED_DEPTH`` levels a value is kept as it came."""
    kind = type(value)
    if depth > SHARED_DEPTH:
        return value
    if kind is dict:
        return {
            words.get(k, k): (
                words.get(v, v)
                if type(v) is str
                else share(v, words, depth + 1)
                if type(v) in (dict, list)
                else v
            )
            for k, v in value.items()
        }
    if kind is list:
        return [share(item, words, depth + 1) for item in value]
    return value


def rereadable(body: bytes) -> bool:
    """Whether parsing ``body`` (bytes that parsed once) again later cannot fail where the first
    parse did not: at most ``MAX_DEPTH`` brackets open in it, so no recursion limit is near,
    wherever the second parse runs."""
    return body.count(b"{") + body.count(b"[") <= MAX_DEPTH
