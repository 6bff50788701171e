"""What the bytes of an inline file are: the format their magic bytes say, and a clip's length.

The format is read from the first bytes only (the signatures of the formats the pages list: PNG,
JPEG, GIF, WebP, BMP, TIFF, WAV, MP3), so that a file labelled ``image/png`` that holds a GIF is
known for what it is. A MIME subtype is mapped onto the same names (``jpg`` and ``pjpeg`` are
``jpeg``, ``x-wav`` is ``wav``, ``mpeg`` is ``mp3``...).

Durations: WAV through the standard library's ``wave`` (PCM and extensible headers), as the
frames actually present / rate: the data chunk's declared size counts only as far as the bytes
go, since a WAV streamed into a pipe declares 0xFFFFFFFF. MP3 through ``mutagen``, a small,
long-kept library with no dependencies of its own, rather than a frame parser of our own: an MP3
may open with an ID3v2 tag, carry a Xing, VBRI or LAME header, switch bitrate from frame to
frame (VBR) or hold a false sync in its first bytes, and mutagen handles each. A clip none of
them can read has no duration (``None``): the caller warns, it does not pass the clip as if it
were within the limits.
"""

from __future__ import annotations

import io
import struct
import wave
from typing import Any

__all__ = ["audio_seconds", "canonical", "sniff"]

_ALIASES = {
    "jpg": "jpeg",
    "pjpeg": "jpeg",
    "tif": "tiff",
    "x-bmp": "bmp",
    "x-ms-bmp": "bmp",
    "wave": "wav",
    "x-wav": "wav",
    "vnd.wave": "wav",
    "x-pn-wav": "wav",
    "mpeg": "mp3",
    "mpeg3": "mp3",
    "x-mpeg-3": "mp3",
    "mpga": "mp3",
}
HEAD_BYTES = 12  # the longest signature read below (RIFF....WEBP)


def canonical(name: str) -> str:
    """A format or MIME subtype under one name: ``jpg`` → ``jpeg``, ``x-wav`` → ``wav``."""
    name = name.lower()
    return _ALIASES.get(name, name)


def sniff(head: bytes) -> str | None:
    """The format the first bytes of a file say it is, or None when no known signature fits."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] in (b"WEBP", b"WAVE"):
        return "webp" if head[8:12] == b"WEBP" else "wav"
    if head[:2] == b"BM" and head[6:10] == b"\x00\x00\x00\x00":  # reserved words are zero
        return "bmp"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head[:3] == b"ID3" or _mpeg_layer3(head):
        return "mp3"
    return None


def _mpeg_layer3(head: bytes) -> bool:
    """An MPEG audio frame header of layer III: 11 sync bits, a version other than the reserved
    one, layer bits 01."""
    if len(head) < 2 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    return (head[1] >> 3) & 0b11 != 0b01 and (head[1] >> 1) & 0b11 == 0b01


def _wav_data_bytes(data: bytes) -> int | None:
    """The bytes of a WAV's data chunk that ``data`` actually holds: its declared size, or what
    follows its header when fewer bytes are there. A streaming writer (ffmpeg into a pipe) cannot
    seek back to fill the sizes in and leaves 0xFFFFFFFF, so the header alone would claim a clip
    of hours. None when no data chunk is found."""
    at = 12  # past "RIFF", the RIFF size (not trusted: 0xFFFFFFFF when streamed) and "WAVE"
    while at + 8 <= len(data):
        name, size = data[at : at + 4], int.from_bytes(data[at + 4 : at + 8], "little")
        if name == b"data":
            return min(size, len(data) - at - 8)
        at += 8 + size + (size & 1)  # chunks are padded to an even length
    return None


def audio_seconds(data: bytes, fmt: str | None) -> float | None:
    """Length in seconds of a WAV or MP3 file held in ``data``, or None if it cannot be read."""
    if fmt == "wav":
        try:
            with wave.open(io.BytesIO(data), "rb") as clip:
                rate = clip.getframerate()
                frame_size = clip.getnchannels() * clip.getsampwidth()
        except (wave.Error, EOFError, struct.error, ValueError, OverflowError, OSError):
            return None
        except RuntimeError:  # wave's chunk reader raises a bare RuntimeError past a chunk's end
            return None
        present = _wav_data_bytes(data)
        if present is None or rate <= 0 or frame_size <= 0:
            return None
        return present // frame_size / rate
    if fmt == "mp3":
        import mutagen.mp3  # imported here: ~0.15 s, paid only when an inline MP3 is read

        try:
            info: Any = mutagen.mp3.MP3(io.BytesIO(data)).info  # type: ignore[no-untyped-call]
            length = float(info.length)
        except (mutagen.MutagenError, EOFError, struct.error, ValueError, OverflowError):
            return None
        return length if length > 0 else None
    return None
