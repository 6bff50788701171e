"""What a field's description says in words: the numbers, ranges, defaults and counts a page
writes in prose ("Up to 9 images", "range 3 ~ 15", "Defaults to 720P", "≤ 15 MB", "2-15 seconds",
and the Chinese "最多 9 张", "范围 3 ~ 15", "默认 720P"), each with the words and page line it was
read from, so that ``docs_diff`` compares them with the spec and with the page's own structured
lines (``default:``, ``Required range:``, ``Maximum array length:``).

Counts, ranges and defaults are read from the description's sentences only, not its bullets
(bullets describe one input mode: "Multi-reference: up to 4 images with asset"); media
requirements are read from bullets too, where the pages list them: file size ("≤ 10 MB"), seconds
per clip ("2-15 seconds"), side pixels ("each ≥ 200 px", "300-6000 px", "short side ≥ 320 px",
"long side ≤ 2160 px"), formats ("Format: jpg / jpeg / png"), aspect ratio range ("1:2.5 ~ 2.5:1",
"short / long ≥ 0.4") and all clips' total length ("total duration across all audios ≤ 15
seconds"); ``docs_diff`` compares each with the property's ``x-vidgate-media``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = [
    "END",
    "KINDS",
    "MAX_PAGE_NUMBER",
    "MEDIA",
    "NUMBER",
    "Said",
    "mb_value",
    "read",
    "read_number",
]

MAX_PAGE_NUMBER = 2**63 - 1  # a bound for the tool, not a documented number: any int64 limit
# A number as a page writes it, read whole: "15", "-1", "1.5", "1e309", "3e-999", "2^63",
# "10**10**10" (never its leading digits); ``read_number`` then decides what it is worth.
_C = r"(?:[\d^*]|\.(?=\d)|[eE](?=[+-]?\d))"
NUMBER = rf"-?\d{_C}*(?:(?<=[eE])[+-]\d{_C}*)?"
# a token ends here ("to 15Default", "15." and "15 MB" end at 15; "15.5" and "1e3" do not)
END = r"(?![\d^*]|\.\d|[eE][+-]?\d)"

# kind -> the PageField attribute holding the structured value of the same thing
KINDS = {
    "default": "default",
    "minimum": "minimum",
    "maximum": "maximum",
    "maxItems": "max_items",
    "maxLength": "max_length",
}
# x-vidgate-media readings, compared as sets: file size, per-clip seconds, side pixels (a
# [which side, low, high] triple: "each", "short" or "long", either bound null), formats (a sorted
# list), aspect ratio (["w:h", "w:h"], or a short/long minimum) and all clips' total seconds
MEDIA = (
    "media.max_mb",
    "media.duration_s",
    "media.side_px",
    "media.formats",
    "media.aspect_ratio",
    "media.total_duration_s",
)

_NUM = rf"({NUMBER}){END}"
_TO = r"\s*(?:~|\uff5e|\u2013|\u2014|-|至|到)\s*"
_VALUE = r"\"?([A-Za-z0-9_:.+-]+)"
_DEFAULT = re.compile(
    rf"(?i)(?<![a-z])defaults?(?:\s+to\s+|\s*:\s*){_VALUE}|默认(?:值)?(?:为|是)?\s*[:\uff1a]?\s*{_VALUE}"
)
_RANGE = re.compile(
    rf"(?i)(?:\brange(?:\s+of)?|\binteger\s+in(?:\s+the\s+range)?|取值范围|范围)"
    rf"(?:\s*(?:为|是))?\s*[:\uff1a]?\s*(?<![\w.^*]){_NUM}{_TO}{_NUM}(?![+-]\d)(?!\s*(?:px|MB|fps))"
)
_COUNT = re.compile(
    r"(?i)\bup\s+to\s+(\d+)\s+(?:images?|clips?|videos?|audios?|files?|entries|items|shots)\b"
    r"|\bonly\s+(\d+)\s+(?:images?|clips?|videos?|audios?|files?)\s+(?:is|are)\s+supported"
    r"|最多\s*(\d+)\s*(?:张|段|条|项|个(?!字))"
)
_LENGTH = re.compile(
    r"(?i)\bup\s+to\s+(\d+)\s+characters|(?:最多|不超过)\s*(\d+)\s*个?字符",
)
_SIZE = re.compile(r"(?i)(?:≤|<=|不超过|不大于)\s*(\d+(?:\.\d+)?)\s*MB")
_SECONDS = re.compile(rf"(?i)(?<![\w.^*])(\d+){_TO}(\d+)\s*(?:s\b|seconds?|secs?\b|秒)")
_PX_RANGE = re.compile(rf"(?i)(?<![\d.:])(\d+)\s*(?:px)?{_TO}(\d+)\s*px\b")
_PX_BOUND = re.compile(r"(?i)(≥|>=|≤|<=|不小于|不大于|不超过)\s*(\d+)\s*px\b")
_FORMATS = re.compile(r"(?i)(?:\bformats?|格式)\s*[:\uff1a]?\s*([a-z0-9]+(?:\s*/\s*[a-z0-9]+)+)")
_RATIO = r"(\d+(?:\.\d+)?:\d+(?:\.\d+)?)"
_ASPECT = re.compile(
    rf"(?i)(?:aspect\s+ratio|宽高比)\s*(?:[:\uff1a]|between|在)?\s*{_RATIO}"
    rf"\s*(?:~|\uff5e|\u2013|\u2014|-|\bto\b|\band\b|至|到|和)\s*{_RATIO}"
)
_SHORT_OVER_LONG = re.compile(r"(?i)short\s*/\s*long\s*(?:≥|>=)\s*(\d+(?:\.\d+)?)")
_TOTAL = re.compile(
    r"(?i)(?:total\s+duration|总时长)[^;.。\uff1b≤]*(?:≤|<=|不超过)\s*(\d+)"
    r"\s*(?:s\b|seconds?|secs?\b|秒)"
)
_BODY = re.compile(r"(?i)(?:request\s+body|请求体)[^.;。\uff1b]*$")


@dataclass(frozen=True)
class Said:
    kind: str  # a key of KINDS, or one of MEDIA
    value: Any  # a string for defaults, an int for counts and bounds, [lo, hi] or MB for media
    words: str  # the page's own words the value was read from
    line: int  # 1-based line of the page


def mb_value(value: float) -> float | int:
    """A size in MB as the page would write it: 10, not 10.0."""
    value = round(value, 3)
    return int(value) if value.is_integer() else value


def _side(text: str, at: int) -> str:
    """Which side a pixel bound names: the words since the clause began ("short side ≥ 320 px")."""
    clause = re.split(r"[;,\uff1b\uff0c。]", text[:at])[-1].lower()
    if "short" in clause or "短边" in clause:
        return "short"
    if "long" in clause or "长边" in clause:
        return "long"
    return "each"


def _media(text: str, number: int) -> list[Said]:
    """The media requirements a line states, other than file size and per-clip seconds."""
    found: list[Said] = []
    for m in _PX_RANGE.finditer(text):
        value = [_side(text, m.start()), int(m.group(1)), int(m.group(2))]
        found.append(Said("media.side_px", value, m.group(0), number))
    for m in _PX_BOUND.finditer(text):
        low = m.group(1) in ("≥", ">=", "不小于")
        bound = int(m.group(2))
        side = [_side(text, m.start()), bound if low else None, None if low else bound]
        found.append(Said("media.side_px", side, m.group(0), number))
    for m in _FORMATS.finditer(text):
        formats = sorted({f.strip().lower() for f in m.group(1).split("/")})
        found.append(Said("media.formats", formats, m.group(0), number))
    for m in _ASPECT.finditer(text):
        found.append(Said("media.aspect_ratio", [m.group(1), m.group(2)], m.group(0), number))
    for m in _SHORT_OVER_LONG.finditer(text):
        least = mb_value(float(m.group(1)))
        found.append(Said("media.aspect_ratio", least, m.group(0), number))
    for m in _TOTAL.finditer(text):
        found.append(Said("media.total_duration_s", int(m.group(1)), m.group(0), number))
    return found


def read_number(token: str, kind: str, what: str = "number") -> int | float:
    """The value of a page's number ``token`` for a field of type ``kind``: an integer ("15",
    "-1", "2^32-1") for any field, a decimal ("1.5", "1e3") only for a ``number`` field; ValueError
    (one line, naming ``what``) for anything else or past ±MAX_PAGE_NUMBER (``9^999999999`` is
    refused, never computed)."""
    if m := re.fullmatch(r"(-?)(\d+)\^(\d+)([+-]\d+)?", token):
        sign, base, power, offset = m.groups()
        b, p = _bounded(base, token, what), _bounded(power, token, what)
        if b > 1 and p > MAX_PAGE_NUMBER.bit_length():  # 2^64 and beyond are out already
            raise _refused(token, what)
        value = _bounded(str(b**p + _bounded(offset or "0", token, what)), token, what)
        return -value if sign else value
    if re.fullmatch(r"-?\d+", token):
        return _bounded(token, token, what)
    if kind == "number" and re.fullmatch(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d{1,4})?", token):
        try:
            exact = Decimal(token)
        except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
            raise _refused(token, what) from None
        value_f = float(exact)
        if abs(exact) > MAX_PAGE_NUMBER or (exact != 0 and value_f == 0):
            raise _refused(token, what)
        return value_f
    kinds = "an integer" if kind != "number" else "a number"
    raise ValueError(
        f"the page's {what} {token[:40]!r} is not {kinds} the tool reads "
        f"(an integer within ±{MAX_PAGE_NUMBER}{', or a decimal' if kind == 'number' else ''})"
    )


def _bounded(digits: str, token: str, what: str) -> int:
    stripped = digits.lstrip("+-0")
    if len(stripped) > len(str(MAX_PAGE_NUMBER)) or abs(int(digits)) > MAX_PAGE_NUMBER:
        raise _refused(token, what)
    return int(digits)


def _refused(token: str, what: str) -> ValueError:
    return ValueError(f"the page's {what} {token[:40]!r} is beyond ±{MAX_PAGE_NUMBER}")


def _first(match: re.Match[str]) -> str:
    return next(g for g in match.groups() if g is not None)


def read(lines: list[tuple[int, str, bool]], kind: str, items: str | None) -> list[Said]:
    """What ``lines`` (line number, text, is a bullet) say of a field of type ``kind``; in the
    order the page says it."""
    found: list[Said] = []
    for number, text, bullet in lines:
        if not bullet:
            for m in _DEFAULT.finditer(text):
                found.append(Said("default", _first(m).rstrip("."), m.group(0), number))
            if kind in ("integer", "number"):
                for m in _RANGE.finditer(text):
                    what = f"range ({m.group(0).strip()[:60]})"
                    low, high = (
                        read_number(m.group(1), kind, what),
                        read_number(m.group(2), kind, what),
                    )
                    found.append(Said("minimum", low, m.group(0), number))
                    found.append(Said("maximum", high, m.group(0), number))
            if kind == "array":
                for m in _COUNT.finditer(text):
                    found.append(
                        Said("maxItems", read_number(_first(m), "integer"), m.group(0), number)
                    )
            if kind == "string":
                for m in _LENGTH.finditer(text):
                    found.append(
                        Said("maxLength", read_number(_first(m), "integer"), m.group(0), number)
                    )
        if kind in ("array", "string"):
            for m in _SIZE.finditer(text):
                if not _BODY.search(text[: m.start()]):  # "total request body ≤ 64 MB"
                    size = mb_value(float(m.group(1)))
                    found.append(Said("media.max_mb", size, m.group(0), number))
            for m in _SECONDS.finditer(text):
                pair = [int(m.group(1)), int(m.group(2))]
                found.append(Said("media.duration_s", pair, m.group(0), number))
            found += _media(text, number)
    return found
