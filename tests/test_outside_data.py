"""Data from outside never crashes vidgate: forged image headers inside inline media are refused
with a ``media.*`` violation (never a ZeroDivisionError or OverflowError), and a run-time history
row or file that is not vidgate's is ignored, never trusted or written to."""

from __future__ import annotations

import base64
import contextlib
import math
import sqlite3
import struct
import zlib
from pathlib import Path
from typing import Any, Final

import httpx
import pytest

import vidgate
from vidgate import history, inline_media, validator

KL: Final = "kling/kling-v3"
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
    # GIF and BMP bytes labelled image/png are also a media.format error (issue 20)
    assert ("media.dimensions", "/reference_images/0/url") in found
    assert all(rule.startswith("media.") for rule, _ in found)
    forged = next(v for v in result.violations if v.rule == "media.dimensions")
    assert str(inline_media.MAX_SIDE_PX) in forged.message
    assert len(forged.message) < 200  # a 400-digit width is not printed whole
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


# ---------------------------------------------------------------------------- run-time history
KIND = history.kind_of("imini", {"model": KL, "duration": 5})


def _rows(path: Path, *values: Any) -> None:
    """Rows of KIND written behind vidgate's back, as another program or a bad disk could."""
    assert KIND is not None
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.executemany(
            "INSERT INTO runs (kind, seconds) VALUES (?, ?)",
            [("\x1f".join(KIND), v) for v in values],
        )


def test_a_history_row_that_is_not_a_run_time_is_ignored(tmp_path: Path) -> None:
    store = history.History(tmp_path / "runtimes.sqlite")
    store.record(KIND, 30.0)
    _rows(tmp_path / "runtimes.sqlite", math.inf, -math.inf, "abc", b"\0blob", -5, 0, 1e300)
    store.record(KIND, 40.0)
    assert store.samples(KIND) == [30.0, 40.0]
    assert store.path is not None  # bad rows are skipped, the history stays on


def test_a_wait_survives_a_history_of_bad_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vidgate.mock import MockGateway, Timing

    path = tmp_path / "runtimes.sqlite"
    history.History(path).record(KIND, 1.0)
    _rows(path, math.inf, "abc", b"\0", 1e308)
    monkeypatch.setenv(history.ENV, str(path))
    with MockGateway(timing=Timing(queue_s=0, run_s=0.2)) as mock:
        client = mock.client("imini")
        task = client.generate_and_wait(model=KL, prompt="p", duration=5, timeout=30)
    assert task.succeeded


def _foreign(path: Path, rows: int = 1000) -> bytes:
    """Another program's database that happens to have a ``runs`` table (kind, seconds, at)."""
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("CREATE TABLE runs (kind TEXT, seconds REAL, at INTEGER PRIMARY KEY)")
        db.execute("CREATE TABLE notes (body TEXT)")
        db.executemany(
            "INSERT INTO runs (kind, seconds) VALUES (?, ?)", [(f"k{i}", 1.0) for i in range(rows)]
        )
    return path.read_bytes()


@pytest.mark.parametrize("marked", [False, True], ids=["unmarked", "other application id"])
def test_another_programs_database_is_never_written(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, marked: bool
) -> None:
    path = tmp_path / "theirs.sqlite"
    _foreign(path)
    if marked:
        with contextlib.closing(sqlite3.connect(path)) as db:
            db.execute("PRAGMA application_id = 7")
    before = path.read_bytes()
    store = history.History(path)
    assert store.samples(history.kind_of("imini", {"model": "k1"})) == []
    store.record(KIND, 10.0)
    store.record(KIND, 11.0)
    assert path.read_bytes() == before  # not a row deleted, not switched to WAL
    assert not (tmp_path / "theirs.sqlite-wal").exists()
    assert store.path is None
    assert caplog.text.count("history off") == 1


def test_a_history_file_of_an_earlier_version_is_still_used(tmp_path: Path) -> None:
    """The unmarked layout vidgate wrote before files were marked is recognised, and marked."""
    path = tmp_path / "runtimes.sqlite"
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute(
            "CREATE TABLE IF NOT EXISTS runs (kind TEXT NOT NULL, seconds REAL NOT NULL,"
            " at INTEGER PRIMARY KEY AUTOINCREMENT)"
        )
        db.execute("CREATE INDEX IF NOT EXISTS runs_kind ON runs (kind, at)")
    _rows(path, 12.0)
    store = history.History(path)
    assert store.samples(KIND) == [12.0]
    store.close()
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA application_id").fetchone()[0] == history.APPLICATION_ID
