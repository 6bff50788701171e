"""Every deliberate fault of scripts/mutate.py still edits today's code (else `make mutate`
reports it STALE, which only a full mutate run shows): its text occurs exactly once in its file,
and the tests it names exist. Faults in specs/ are left out: they edit a documented number,
which moves with the docs page (the release-path proof edits it in a copy); `make mutate` reports
those."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import mutate  # noqa: E402

pytestmark = pytest.mark.unit


CODE_FAULTS = [fault for fault in mutate.FAULTS if not fault.path.startswith("specs/")]


@pytest.mark.parametrize("fault", CODE_FAULTS, ids=lambda f: f.name)
def test_each_fault_edits_todays_code(fault: mutate.Fault) -> None:
    text = (ROOT / fault.path).read_text()
    assert text.count(fault.old) == 1, (
        f"{fault.path}: the fault's text occurs {text.count(fault.old)} times"
    )
    for test in fault.tests:
        assert (ROOT / test.split("::")[0]).is_file(), test
