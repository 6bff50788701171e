"""`vidgate schema-diff`: a vendor's own schema of a model against our spec, in spec-diff's classes.

The vendor documents are built here in their documented shapes (no network): imini's per-model
OpenAPI 3.1 YAML (the request body of POST /v1/videos/generate) and apimart's
`GET /v1/model-schema` reply (`{"model", "operation", "input_schema"}`, the body without `model`).
Their fields start as ours, read from the spec, and each test moves what it checks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from vidgate import spec
from vidgate.cli import main

ROOT = Path(__file__).resolve().parent.parent
KLING, HH = "kling/kling-v3", "happyhorse-1.0"


def _plain(gateway: spec.Gateway, model: str) -> Any:
    """Our schema of the model as a vendor would publish it: $refs resolved, no x- keys, no
    cross-field rules."""
    doc = spec.document(gateway)

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(item) for item in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            return walk(spec.resolve(doc, node["$ref"]))
        return {k: walk(v) for k, v in node.items() if not k.startswith("x-") and k != "allOf"}

    return walk(doc["components"]["schemas"][spec.request_schema_names(doc)[model]])


def _imini_openapi(*bodies: Any) -> dict[str, Any]:
    names = [f"Body{i}" for i in range(len(bodies))]
    refs = [{"$ref": f"#/components/schemas/{n}"} for n in names]
    schema = refs[0] if len(refs) == 1 else {"oneOf": refs}
    post = {
        "summary": "Submit a video generation task",
        "requestBody": {"required": True, "content": {"application/json": {"schema": schema}}},
        "responses": {"200": {"description": "Submitted successfully"}},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "imini video model", "version": "1.0.0"},
        "servers": [{"url": spec.document("imini")["servers"][0]["url"]}],
        "paths": {"/v1/videos/generate": {"post": post}},
        "components": {"schemas": dict(zip(names, bodies, strict=True))},
    }


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(["schema-diff", *args])
    captured = capsys.readouterr()
    return int(done.value.code or 0), captured.out, captured.err


def test_imini_openapi_yaml_is_compared_field_by_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = _plain("imini", KLING)
    maximum = body["properties"]["duration"]["maximum"]
    body["properties"]["duration"]["maximum"] = maximum - 1  # theirs is tighter: breaking
    gone = next(n for n in body["properties"] if n not in ("model", "prompt", "duration"))
    del body["properties"][gone]  # a field we send that they do not list: breaking
    body["properties"]["camera_control"] = {"type": "string", "enum": ["pan", "tilt"]}
    del body["additionalProperties"]  # they accept unknown keys: compatible
    path = tmp_path / "kling-v3.yaml"
    path.write_text(yaml.safe_dump(_imini_openapi(body)), encoding="utf-8")
    code, out, _ = _run(capsys, str(path), "--spec", "specs/imini.yaml")
    assert code == 1  # breaking changes found
    lines = [line.split(" (edit ")[0].strip() for line in out.splitlines()[1:-1]]
    assert lines == [
        f'BREAKING  {KLING} (body): field {gone} removed "{gone}" → -',
        f"BREAKING  {KLING} duration: maximum lowered {maximum} → {maximum - 1}",
        f"compatible  {KLING} (body): additionalProperties changed false → -",
        f'compatible  {KLING} (body): field camera_control added - → "camera_control"',
    ]
    assert out.splitlines()[-1] == "2 breaking, 2 compatible, 0 note"
    assert "(edit specs/imini.yaml:" in out  # where to edit ours


def test_the_same_schema_has_no_difference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "kling-v3.yaml"
    path.write_text(yaml.safe_dump(_imini_openapi(_plain("imini", KLING))), encoding="utf-8")
    code, out, _ = _run(capsys, str(path), "--spec", "specs/imini.yaml")
    assert (code, out.splitlines()[-1]) == (0, "0 breaking, 0 compatible, 0 note")


def test_a_document_of_several_models_is_read_for_the_one_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models = list(spec.request_schema_names(spec.document("imini")))[:2]
    bodies = [_plain("imini", m) for m in models]
    bodies[1]["required"] = [*bodies[1].get("required", []), "prompt"]
    path = tmp_path / "videos.yaml"
    path.write_text(yaml.safe_dump(_imini_openapi(*bodies)), encoding="utf-8")
    code, _, err = _run(capsys, str(path), "--spec", "specs/imini.yaml")
    assert code == 2
    assert "pass --model" in err
    code, out, _ = _run(capsys, str(path), "--spec", "specs/imini.yaml", "--model", models[1])
    assert code == 1
    assert f"BREAKING  {models[1]} (body): prompt now required" in out


def test_apimart_model_schema_reply(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = _plain("apimart", HH)
    del body["properties"]["model"]  # the reply's input_schema leaves model out
    body["required"] = [r for r in body.get("required", []) if r != "model"]
    seed = body["properties"]["seed"]
    seed["maximum"] -= 1
    body["allOf"] = [{"if": {"required": ["video_url"]}, "then": {"not": {"required": ["seed"]}}}]
    reply = {"model": HH, "operation": "video_generation", "input_schema": body}
    path = tmp_path / "model-schema.json"
    path.write_text(json.dumps(reply), encoding="utf-8")
    code, out, _ = _run(capsys, str(path), "--spec", "specs/apimart.yaml", "--json")
    found = json.loads(out)
    assert code == 1
    assert (found["model"], found["vendor"]) == (HH, "model-schema")
    assert (found["breaking"], found["compatible"], found["note"]) == (1, 0, 1)
    lowered = next(c for c in found["changes"] if c["level"] == "breaking")
    assert (lowered["where"], lowered["old"], lowered["new"]) == (
        f"{HH} seed",
        seed["maximum"] + 1,
        seed["maximum"],
    )
    assert lowered["location"].startswith("specs/apimart.yaml:")
    note = next(c for c in found["changes"] if c["level"] == "note")
    assert "(body) if" in note["what"]
    code, _, _ = _run(capsys, str(path), "--spec", "specs/apimart.yaml", "--fail-on", "never")
    assert code == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[1, 2]", "expected an OpenAPI document"),
        ("a: [", "is not YAML or JSON"),
        (json.dumps({"model": "nope-9", "input_schema": {"type": "object"}}), "nope-9 is not in"),
        (json.dumps({"openapi": "3.1.0", "paths": {}}), "no POST operation"),
    ],
)
def test_what_cannot_be_compared_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    path = tmp_path / "vendor.yaml"
    path.write_text(content, encoding="utf-8")
    code, out, err = _run(capsys, str(path), "--spec", "specs/apimart.yaml")
    assert (code, out) == (2, "")
    assert message in err
    assert len(err.strip().splitlines()) == 1, err
