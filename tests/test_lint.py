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


def test_constraints_without_a_source_are_reported() -> None:
    doc = _doc("imini")
    schemas = doc["components"]["schemas"]
    del schemas["VideoReference"]["x-vidgate-sources"]
    schemas["KlingShot"]["x-vidgate-sources"]["additionalProperties"] = "doc"
    schemas["KlingV3ExtraParams"]["additionalProperties"] = False
    schemas["KlingV3ExtraParams"]["x-vidgate-sources"] = {"additionalProperties": "gap"}
    polling = doc["paths"]["/v1/videos/tasks/{task_id}"]["get"]["x-vidgate-polling"]
    del polling["x-vidgate-sources"]["jitter"]
    del doc["info"]["x-vidgate-null"]
    doc["info"]["x-vidgate-mb"]["bytes"] = 1000000
    problems = lint_specs.lint_document(doc, "imini")
    expected = [
        "components/schemas/VideoReference: closed object without x-vidgate-sources."
        "additionalProperties",
        "components/schemas/VideoReference: required list without x-vidgate-sources.required",
        "components/schemas/KlingShot: closed object claimed as doc without an x-vidgate-quote",
        "components/schemas/KlingV3ExtraParams: an open extension object "
        "(x-vidgate-unknown-keys) is closed",
        "GET /v1/videos/tasks/{task_id} x-vidgate-polling.jitter: no valid source",
        "info.x-vidgate-null: needs a reading (refuse or absent) and an x-vidgate-source",
    ]
    for line in expected:
        assert line in problems, problems
    assert any("is not a whole number of info.x-vidgate-mb" in p for p in problems)
