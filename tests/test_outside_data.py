"""Data from outside never crashes vidgate: forged image headers inside inline media are refused
with a ``media.*`` violation (never a ZeroDivisionError or OverflowError), and a run-time history
row or file that is not vidgate's is ignored, never trusted or written to."""

from __future__ import annotations

import base64
import struct
import zlib
from typing import Any

import httpx
import pytest

import vidgate
from vidgate import inline_media, validator

KL = "kling/kling-v3"
WIDE = b"9" * 400  # a width no float holds
FORGED = {  # bytes that imagesize reads a size from, each size impossible
    "svg height 0.5": b'<svg width="10" height="0.5"></svg>',
    "svg 400-digit width": b'<svg width="' + WIDE + b'" height="10"></svg>',
    "netpbm 400-digit width": b"P6 " + WIDE + b" 10\n255\n",
    "netpbm zero width": b"P6 0 10\n255\n",
    "gif negative width": b"GIF89a" + struct.pack("<hh", -5, 10) + b"\0" * 8,
    "bmp negative width": b"BM" + b"\0" * 16 + struct.pack("<ll", -7, 10) + b"\0" * 8,
}


def png(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return b"\x89PNG\r\n\x1a\n" + chunk


def inline(payload: bytes) -> dict[str, Any]:
    url = f"data:image/png;base64,{base64.b64encode(payload).decode()}"
    return {"model": KL, "prompt": "p", "reference_images": [{"url": url}]}


CASES = {
    **FORGED,
    "png zero height": png(800, 0),
    "png side over the sanity bound": png(800, inline_media.MAX_SIDE_PX + 1),
}


@pytest.mark.parametrize("payload", list(CASES.values()), ids=list(CASES))
def test_a_forged_image_header_is_one_media_violation(payload: bytes) -> None:
    result = validator("imini").check(inline(payload))
    found = [(v.rule, v.path) for v in result.violations]
    assert found == [("media.dimensions", "/reference_images/0/url")]
    assert str(inline_media.MAX_SIDE_PX) in result.violations[0].message
    assert len(result.violations[0].message) < 200  # a 400-digit width is not printed whole
    with pytest.raises(vidgate.RequestValidationError):
        vidgate.validate("imini", inline(payload))


def test_a_header_without_any_size_is_not_judged() -> None:
    """Bytes imagesize cannot read a size from are not refused for their dimensions (what the
    bytes are is another check's business); a plausible header still gets the spec's checks."""
    assert not [
        v for v in validator("imini").check(inline(b"\0" * 64)).violations if "dimensions" in v.rule
    ]
    assert inline_media.dimensions(base64.b64encode(png(800, 600)).decode()) == (800, 600)
    assert inline_media.dimensions(base64.b64encode(FORGED["svg height 0.5"]).decode()) is None


def test_the_mock_refuses_a_forged_header_with_400() -> None:
    from vidgate.mock import DEFAULT_KEY, MockGateway

    with (
        MockGateway() as mock,
        httpx.Client(base_url="http://mock", transport=mock.transport()) as http,
    ):
        reply = http.post(
            "/imini/v1/videos/generate",
            json=inline(FORGED["svg height 0.5"]),
            headers={"Authorization": f"Bearer {DEFAULT_KEY}"},
        )
    assert reply.status_code == 400, reply.text
    assert not mock.ledger
