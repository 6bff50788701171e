"""The API reference (mkdocstrings, docs/reference/) renders each public name with its
docstring: none of these entries is blank. Read statically with griffe, as mkdocstrings does."""

from __future__ import annotations

from pathlib import Path

import griffe
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = griffe.load("vidgate", search_paths=[str(ROOT / "src")], docstring_parser="google")


def documented(path: str) -> bool:
    obj = PACKAGE[path.removeprefix("vidgate.")]
    if obj.is_alias:
        obj = obj.final_target
    return bool(obj.docstring and obj.docstring.value.strip())


def names() -> list[str]:
    batch_options = PACKAGE["batch.BatchOptions"]
    mock = PACKAGE["mock.MockGateway"]
    exits = PACKAGE["exits"]
    testing = PACKAGE["testing"]
    return [
        *(f"vidgate.batch.BatchOptions.{field}" for field in batch_options.attributes),
        *(f"vidgate.testing.{name}" for name in testing.exports or ()),
        "vidgate.errors.error_for_status",
        "vidgate.types.status_of",
        "vidgate.types.Task.done",
        "vidgate.types.Task.succeeded",
        "vidgate.types.Status.terminal",
        *(
            f"vidgate.mock.MockGateway.{name}"
            for name in mock.members
            if not name.startswith("_") or name in ("__enter__", "__exit__")
        ),
        *(f"vidgate.exits.{name}" for name in exits.exports or ()),
    ]


NAMES = names()


def test_the_names_are_read() -> None:
    assert len([n for n in NAMES if n.startswith("vidgate.batch.BatchOptions.")]) >= 20
    assert {"vidgate.testing.vidgate_mock", "vidgate.exits.USAGE"} <= set(NAMES)
    assert "vidgate.mock.MockGateway.ledger" in NAMES


@pytest.mark.parametrize("path", NAMES)
def test_the_reference_entry_has_a_docstring(path: str) -> None:
    assert documented(path), f"{path} has no docstring: its API reference entry is blank"
