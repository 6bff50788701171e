"""The files the mock serves: a short H.264 MP4, a JPEG cover and a PNG last frame.

Made by the project itself at first use (PyAV's bundled encoders), from a drawn test pattern, so
no binary of unknown origin ships with vidgate. Kept in memory for the life of the process.
"""

from __future__ import annotations

import io
from fractions import Fraction
from functools import cache
from typing import cast

import av
import av.video.stream

WIDTH, HEIGHT, FPS, SECONDS = 160, 96, 12, 1


def _pattern(index: int) -> bytes:
    """RGB bytes of frame ``index``: colour bars that slide one step per frame."""
    bars = [
        (235, 235, 235),
        (235, 235, 16),
        (16, 235, 235),
        (16, 235, 16),
        (235, 16, 235),
        (235, 16, 16),
        (16, 16, 235),
        (16, 16, 16),
    ]
    width = WIDTH // len(bars)
    row = bytearray()
    for x in range(WIDTH):
        row += bytes(bars[((x + index * 2) // width) % len(bars)])
    return bytes(row) * HEIGHT


def _frame(index: int) -> av.VideoFrame:

    frame = av.VideoFrame(WIDTH, HEIGHT, "rgb24")
    plane = frame.planes[0]
    data = _pattern(index)
    if plane.line_size == WIDTH * 3:
        plane.update(data)
    else:  # padded rows
        padded = b"".join(
            data[y * WIDTH * 3 : (y + 1) * WIDTH * 3].ljust(plane.line_size, b"\0")
            for y in range(HEIGHT)
        )
        plane.update(padded)
    return frame


@cache
def video() -> bytes:
    """A SECONDS-long WIDTHxHEIGHT H.264 MP4."""
    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.codec_context.time_base = Fraction(1, FPS)
        for i in range(FPS * SECONDS):
            frame = _frame(i).reformat(format="yuv420p")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


def _still(codec: str, pix_fmt: str, index: int) -> bytes:
    out = io.BytesIO()
    with av.open(out, "w", format="image2pipe") as container:
        stream = cast(av.video.stream.VideoStream, container.add_stream(codec, rate=1))
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, pix_fmt
        frame = _frame(index).reformat(format=pix_fmt)
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


@cache
def cover() -> bytes:
    """The first frame as a JPEG."""
    return _still("mjpeg", "yuvj420p", 0)


@cache
def last_frame() -> bytes:
    """The last frame as a PNG."""
    return _still("png", "rgb24", FPS * SECONDS - 1)
