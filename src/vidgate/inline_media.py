"""Check inline media (``data:`` URLs) against the limits a spec records in ``x-vidgate-media``.

Only what the body itself holds is checked: the decoded size (from the base64 length) and, for
images, the width and height read from the header bytes (``imagesize``; only a bounded prefix is
decoded). Limits that need a remote file are recorded in the spec and not enforced. Every number
comes from the spec: ``max_bytes``, ``side_px`` [min, max], ``min_side_px``, ``min_short_side_px``,
``aspect_ratio`` [lowest, highest] as "w:h" strings, ``short_over_long_min`` and
``min_short_side_px_recommended`` (a warning, not an error). A media block may hold a sub-block per
``reference_type`` (e.g. ``first_frame``) whose limits apply to items of that type.

What the bytes are (vidgate.media_content): where the block lists ``formats``, a file whose magic
bytes are another known format than its MIME type says is refused (``media.format``); an audio
clip's length is read from its bytes and held to ``duration_s`` [min, max] per clip
(``media.duration``) and ``total_duration_max_s`` for the field's inline clips together
(``media.total-duration``); a clip whose length cannot be read is a warning
(``media.duration-unreadable``), never a silent pass.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import struct
from collections.abc import Iterator, Mapping
from typing import Any

import imagesize  # type: ignore[import-untyped]  # no py.typed

from vidgate import media_content
from vidgate.errors import Violation

__all__ = [
    "HEADER_PREFIX_CHARS",
    "MAX_SIDE_PX",
    "check",
    "data_urls",
    "decoded_size",
    "dimensions",
    "header_size",
]

Json = dict[str, Any]
HEADER_PREFIX_CHARS = 1 << 18  # base64 characters decoded to find an image header (192 KiB)
# a sanity bound on what a header claims, not a gateway limit (those are in the spec): a side
# beyond it is a forged header, refused before any arithmetic on it
MAX_SIDE_PX = 100_000
_DATA_URL = re.compile(r"^data:([a-z]+)/([a-z0-9.+-]+);base64,(.*)$", re.IGNORECASE | re.DOTALL)


def data_urls(value: Any, path: str) -> Iterator[tuple[str, str, str | None]]:
    """(JSON pointer, URL, reference_type) of every string or ``{url}`` item in a media field."""
    if isinstance(value, str):
        yield path, value, None
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, str):
                yield f"{path}/{i}", item, None
            elif isinstance(item, Mapping) and isinstance(item.get("url"), str):
                kind = item.get("reference_type")
                yield f"{path}/{i}/url", item["url"], kind if isinstance(kind, str) else None


def decoded_size(payload: str) -> int:
    """Bytes a base64 payload decodes to, without decoding it."""
    payload = payload.strip()
    return len(payload) * 3 // 4 - (len(payload) - len(payload.rstrip("=")))


def header_size(payload: str) -> tuple[Any, Any] | None:
    """Width and height as the image header in the payload's first bytes states them (any
    number imagesize returns: SVG gives floats, GIF and BMP signed values), or None when no size
    can be read from it at all."""
    prefix = payload[: HEADER_PREFIX_CHARS - HEADER_PREFIX_CHARS % 4]
    prefix = prefix[: len(prefix) - len(prefix) % 4]
    try:
        head = base64.b64decode(prefix, validate=False)
        width, height = imagesize.get(io.BytesIO(head))
    except (binascii.Error, ValueError, OSError, IndexError, TypeError, EOFError, struct.error):
        return None
    return None if (width, height) == (-1, -1) else (width, height)  # -1, -1: no size found


def _side(value: Any) -> int | None:
    """A header's side as whole pixels, 1 to MAX_SIDE_PX; None for 0.5, -3, inf, nan, 10^400."""
    if isinstance(value, float) and value.is_integer() and abs(value) <= MAX_SIDE_PX:
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_SIDE_PX:
        return value
    return None


def _plausible(stated: tuple[Any, Any]) -> tuple[int, int] | None:
    width, height = _side(stated[0]), _side(stated[1])
    return None if width is None or height is None else (width, height)


def dimensions(payload: str) -> tuple[int, int] | None:
    """Width and height from the image header, if readable and plausible (whole pixels, 1 to
    MAX_SIDE_PX each)."""
    stated = header_size(payload)
    return None if stated is None else _plausible(stated)


def _shown(side: Any) -> str:
    """A header value in a message: short, whatever its size (a 400-digit width is cut)."""
    text = str(side) if isinstance(side, float) else repr(side)
    return text if len(text) <= 12 else f"{text[:8]}…({len(text)} chars)"


def _ratio(text: str) -> float:
    w, h = text.split(":")
    return float(w) / float(h)


def _limits(media: Mapping[str, Any], kind: str | None) -> dict[str, Any]:
    limits = {k: v for k, v in media.items() if not isinstance(v, Mapping)}
    block = media.get(kind or "asset")
    if isinstance(block, Mapping):
        limits.update(block)
    return limits


def _where(pointer: str) -> str:
    out = ""
    for step in pointer.strip("/").split("/"):
        out += f"[{step}]" if step.isdigit() else (f".{step}" if out else step)
    return out


def check(
    media: Mapping[str, Any], value: Any, path: str, source: str | None
) -> tuple[list[Violation], list[Violation]]:
    """(violations, warnings) of the inline media in one field against its x-vidgate-media."""
    errors: list[Violation] = []
    warnings: list[Violation] = []
    clips: list[float] = []
    for pointer, url, kind in data_urls(value, path):
        match = _DATA_URL.match(url)
        if not match:
            continue
        family, payload = match.group(1).lower(), match.group(3)
        limits = _limits(media, kind)
        subtype = match.group(2)
        for rule, text, limit, advice in (
            *_findings(limits, family, payload),
            *_content_findings(limits, family, subtype, payload, clips),
        ):
            found = Violation(pointer, rule, f"{_where(pointer)}: {text}", limit, None, source)
            (warnings if advice else errors).append(found)
    for rule, text, limit in _total_findings(media, clips):
        errors.append(Violation(path, rule, f"{_where(path)}: {text}", limit, None, source))
    return errors, warnings


def _findings(
    limits: Mapping[str, Any], family: str, payload: str
) -> Iterator[tuple[str, str, Any, bool]]:
    """(rule, message, limit, only a recommendation?) for one inline file."""
    size, max_bytes = decoded_size(payload), limits.get("max_bytes")
    if isinstance(max_bytes, int) and size > max_bytes:
        text = f"inline {family} is {size} bytes decoded, over the documented {max_bytes} bytes"
        yield "media.max-bytes", text + " per file", max_bytes, False
    stated = header_size(payload) if family == "image" else None
    if stated is None:
        return
    dims = _plausible(stated)
    if dims is None:
        shown = "x".join(_shown(side) for side in stated)
        text = f"the image header states {shown} px; each side must be 1-{MAX_SIDE_PX} whole px"
        yield "media.dimensions", text, [1, MAX_SIDE_PX], False
        return
    w, h = dims
    size_text = f"image is {w}x{h} px"
    side = limits.get("side_px")
    if side and not (side[0] <= w <= side[1] and side[0] <= h <= side[1]):
        text = f"{size_text}; width and height must be {side[0]}-{side[1]} px"
        yield "media.side-px", text, side, False
    low = limits.get("min_side_px")
    if low and min(w, h) < low:
        yield "media.side-px", f"{size_text}; each side must be ≥ {low} px", low, False
    low = limits.get("min_short_side_px")
    if low and min(w, h) < low:
        yield "media.side-px", f"{size_text}; the short side must be ≥ {low} px", low, False
    ratio = limits.get("aspect_ratio")
    if ratio and not (_ratio(ratio[0]) <= w / h <= _ratio(ratio[1])):
        text = f"{size_text}; the aspect ratio must be between {ratio[0]} and {ratio[1]}"
        yield "media.aspect-ratio", text, ratio, False
    least = limits.get("short_over_long_min")
    if least and min(w, h) / max(w, h) < least:
        text = f"{size_text}; short side / long side must be ≥ {least}"
        yield "media.aspect-ratio", text, least, False
    advised = limits.get("min_short_side_px_recommended")
    if advised and min(w, h) < advised:
        text = f"{size_text}; a short side ≥ {advised} px is recommended"
        yield "media.recommended-side-px", text, advised, True


def _decoded(payload: str, chars: int | None = None) -> bytes | None:
    """The payload's bytes (only the first ``chars`` base64 characters, when given)."""
    text = payload.strip() if chars is None else payload[:chars]
    text = text[: len(text) - len(text) % 4] if chars is not None else text
    try:
        return base64.b64decode(text, validate=False)
    except (binascii.Error, ValueError):
        return None


def _content_findings(
    limits: Mapping[str, Any], family: str, subtype: str, payload: str, clips: list[float]
) -> Iterator[tuple[str, str, Any, bool]]:
    """(rule, message, limit, only a recommendation?) from what the bytes are: a format other
    than the label says, and an audio clip's length; each readable length goes to ``clips``."""
    formats = limits.get("formats")
    head = _decoded(payload, 4 * media_content.HEAD_BYTES)
    found = media_content.sniff(head) if head else None
    labelled = media_content.canonical(subtype)
    if formats and found and found != labelled:
        listed = sorted({media_content.canonical(f) for f in formats})
        text = (
            f"the bytes are {found.upper()} but the data: URL says {family}/{subtype.lower()}; "
            f"the page lists {', '.join(listed)}"
        )
        yield "media.format", text, list(formats), False
    per_clip, total = limits.get("duration_s"), limits.get("total_duration_max_s")
    if family != "audio" or not (per_clip or total):
        return
    data = _decoded(payload)
    seconds = media_content.audio_seconds(data, found) if data else None
    if seconds is None:
        text = "the clip's length cannot be read from its bytes (WAV or MP3); not checked"
        yield "media.duration-unreadable", text, per_clip or total, True
        return
    clips.append(seconds)
    if per_clip and not per_clip[0] <= seconds <= per_clip[1]:
        text = f"clip is {seconds:.3f} s long; each clip must be {per_clip[0]}-{per_clip[1]} s"
        yield "media.duration", text, per_clip, False


def _total_findings(media: Mapping[str, Any], clips: list[float]) -> Iterator[tuple[str, str, Any]]:
    """The field's inline clips together against ``total_duration_max_s`` (clips given by URL
    are not counted: their length is not known here)."""
    total, per_clip = media.get("total_duration_max_s"), media.get("duration_s")
    if per_clip and len(clips) == 1 and clips[0] > per_clip[1]:
        return  # one clip already refused as too long on its own
    if isinstance(total, int | float) and sum(clips) > total:
        text = (
            f"the inline clips add up to {sum(clips):.3f} s, over the documented {total} s "
            "for all clips together"
        )
        yield "media.total-duration", text, total
