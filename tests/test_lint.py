"""The spec lint passes on our specs and catches what it is meant to catch."""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import lint_specs

from vidgate import spec


def _doc(gateway: spec.Gateway) -> dict[str, Any]:
    return copy.deepcopy(spec.document(gateway))


@pytest.mark.parametrize("gateway", spec.GATEWAYS)
def test_specs_are_clean(gateway: spec.Gateway) -> None:
    assert lint_specs.lint_document(_doc(gateway), gateway) == []


def test_missing_source_is_reported() -> None:
    doc = _doc("imini")
    del doc["components"]["schemas"]["KlingV3Request"]["properties"]["duration"]["x-vidgate-source"]
    assert lint_specs.lint_document(doc, "imini") == [
        "components/schemas/KlingV3Request/properties/duration: no x-vidgate-source"
    ]


def test_unknown_source_and_mode_are_reported() -> None:
    doc = _doc("apimart")
    chain = doc["components"]["schemas"]["HappyHorseRequest"]["allOf"][3]
    chain["x-vidgate-source"] = "rumour"
    chain["then"]["x-vidgate-mode"] = "video_to_video"
    problems = lint_specs.lint_document(doc, "apimart")
    assert any("rule happyhorse.routing has no valid x-vidgate-source" in p for p in problems)
    assert any("mode 'video_to_video' is not one of" in p for p in problems)


def test_example_that_breaks_its_schema_is_reported() -> None:
    doc = _doc("imini")
    examples = doc["paths"]["/v1/videos/generate"]["post"]["requestBody"]["content"][
        "application/json"
    ]["examples"]
    examples["happyhorse_text"]["value"]["duration"] = 99
    problems = lint_specs.lint_document(doc, "imini")
    assert len(problems) == 1
    assert "examples/happyhorse_text" in problems[0]
    assert "99 is greater than the maximum of 15" in problems[0]


def test_duplicate_rule_id_is_reported() -> None:
    doc = _doc("apimart")
    rules = doc["components"]["schemas"]["HappyHorseRequest"]["allOf"]
    rules[1]["x-vidgate-rule"] = rules[0]["x-vidgate-rule"]
    assert any("used twice" in p for p in lint_specs.lint_document(doc, "apimart"))
