"""Hostile servers, bad bytes and fuzzed input through the real command, in-process.

The scenarios live in scripts/hostile_cases.py (the server in scripts/hostile_server.py); this
module runs a representative few of them and a Hypothesis fuzz of ``validate`` bodies and
``batch`` JSONL bytes on every ``make test``. ``make hostile`` runs all of them as subprocesses,
plus the multi-process race, and prints the table.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import hostile
from hostile_cases import SUITE, scenarios
from hostile_server import KEY, Scenario, Server

from vidgate import exits

CASES = [s for s in scenarios() if s.name in SUITE]


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with Server() as running:
        yield running


def test_the_suite_names_existing_scenarios() -> None:
    assert {s.name for s in CASES} == SUITE


@pytest.mark.parametrize("scenario", CASES, ids=[s.name for s in CASES])
def test_hostile_scenario(scenario: Scenario, server: Server, tmp_path: Path) -> None:
    outcome = hostile.run(scenario, server, tmp_path, in_process=True)
    assert not hostile._bad(outcome), hostile._line(outcome)


def test_fuzzed_cli_input(server: Server, tmp_path: Path) -> None:
    examples = settings().max_examples  # the profile's budget
    tried, bad = hostile.fuzz(examples, tmp_path, server)
    assert tried >= 2 * examples
    assert not bad, "\n".join(hostile._line(o) for o in bad)


def test_the_checks_can_fail(server: Server, tmp_path: Path) -> None:
    """A leak, a wrong exit code and a file outside the folder are each seen."""
    leaky = Scenario("leak", ["validate", "{work}/k.json"], {0}, files={"k.json": KEY.encode()})
    outcome = hostile.run(leaky, server, tmp_path, in_process=True)
    assert outcome.leaks  # the input file itself holds the key
    assert outcome.unexpected  # not JSON: exit 2, not 0
    work = tmp_path / "work"
    (work / "out").mkdir(parents=True)
    (work / "out" / "fine.mp4").write_bytes(b"x")
    assert hostile._outside(work) == []
    (work / "escape-rel").write_bytes(b"x")
    assert hostile._outside(work) == [work / "escape-rel"]


def test_the_docs_exit_code_table_is_the_one_the_cli_follows() -> None:
    page = Path(__file__).resolve().parent.parent / "docs" / "cli.md"
    table = page.read_text(encoding="utf-8").split("| code | meaning |", 1)[1].split("\n\n", 1)[0]
    rows = [line.strip("|").split("|", 1) for line in table.splitlines()[2:]]
    documented = {int(code): text.strip().replace("`", "") for code, text in rows}
    assert documented == {code: text.replace("`", "") for code, text in exits.CODES.items()}
