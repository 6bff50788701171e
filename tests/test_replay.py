"""Replies recorded by the live tests (.live-recordings/, or $VIDGATE_LIVE_RECORD) still fit the
spec: a spec change that a real gateway's answer contradicts shows up here, offline."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from conftest import referee

from vidgate import spec

pytestmark = pytest.mark.contract
RECORD = Path(os.environ.get("VIDGATE_LIVE_RECORD", ".live-recordings"))
RECORDINGS = sorted(RECORD.glob("*.json")) if RECORD.is_dir() else []


@pytest.mark.skipif(not RECORDINGS, reason=f"no live recordings in {RECORD} (run make test-live)")
@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: p.stem)
def test_recorded_reply_fits_the_spec(path: Path) -> None:
    recording: dict[str, Any] = json.loads(path.read_text())
    gateway = recording["gateway"]
    doc = spec.document(gateway)
    op = next(
        o
        for item in doc["paths"].values()
        for o in item.values()
        if isinstance(o, dict) and o.get("operationId") == recording["operation"]
    )
    response = op["responses"][str(recording["status"])]
    response = spec.resolve(doc, response["$ref"]) if "$ref" in response else response
    pointer = response["content"]["application/json"]["schema"]["$ref"][1:]
    assert referee(gateway).errors(pointer, recording["body"]) == []
