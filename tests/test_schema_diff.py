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
    del body["properties"][gone]  # a field we send that their open schema does not list: a note
    body["properties"]["camera_control"] = {"type": "string", "enum": ["pan", "tilt"]}
    del body["additionalProperties"]  # they accept unknown keys: compatible
    path = tmp_path / "kling-v3.yaml"
    path.write_text(yaml.safe_dump(_imini_openapi(body)), encoding="utf-8")
    code, out, _ = _run(capsys, str(path), "--spec", "specs/imini.yaml")
    assert code == 1  # breaking changes found
    lines = [line.split(" (edit ")[0].strip() for line in out.splitlines()[1:-1]]
    assert lines == [
        f"BREAKING  {KLING} duration: maximum lowered {maximum} → {maximum - 1}",
        f"compatible  {KLING} (body): additionalProperties changed false → -",
        f'compatible  {KLING} (body): field camera_control added - → "camera_control"',
        f"note  {KLING} (body): field {gone} not listed by the vendor"
        " (its open schema does not forbid it)",
    ]
    assert out.splitlines()[-1] == "1 breaking, 2 compatible, 1 note"
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


def _json_schema(tmp_path: Path, body: Any) -> Path:
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(body) if not isinstance(body, str) else body, encoding="utf-8")
    return path


def _changes(capsys: pytest.CaptureFixture[str], path: Path) -> tuple[int, list[str]]:
    code, out, err = _run(capsys, str(path), "--spec", "specs/apimart.yaml", "--model", HH)
    assert err == ""
    return code, [line.split(" (edit ")[0].strip() for line in out.splitlines()[1:-1]]


def test_a_field_that_may_be_null_is_read_as_that_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``anyOf: [X, {type: null}]`` is X that may be null: its limits are compared."""
    body = _plain("apimart", HH)
    duration = body["properties"]["duration"]
    maximum = duration["maximum"]
    body["properties"]["duration"] = {
        "anyOf": [{**duration, "maximum": maximum - 1}, {"type": "null"}]
    }
    code, lines = _changes(capsys, _json_schema(tmp_path, body))
    assert code == 1
    assert lines == [
        f"BREAKING  {HH} duration: maximum lowered {maximum} → {maximum - 1}",
        f'compatible  {HH} duration: type widened "integer" → ["integer", "null"]',
    ]


def test_the_findings_sample_of_a_nullable_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    maximum = _plain("apimart", HH)["properties"]["duration"]["maximum"]
    nullable = {"anyOf": [{"type": "integer", "maximum": maximum - 1}, {"type": "null"}]}
    path = _json_schema(tmp_path, {"properties": {"duration": nullable}})
    code, lines = _changes(capsys, path)
    assert code == 1
    assert f"BREAKING  {HH} duration: maximum lowered {maximum} → {maximum - 1}" in lines
    assert not any("maximum removed" in x or "default changed" in x for x in lines), lines


def test_a_field_an_open_schema_does_not_list_is_a_note_and_a_closed_one_breaking(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = _plain("apimart", HH)
    gone = next(n for n in body["properties"] if n not in ("model", "prompt"))
    del body["properties"][gone]
    body["required"] = [r for r in body.get("required", []) if r != gone]
    assert body["additionalProperties"] is False
    code, lines = _changes(capsys, _json_schema(tmp_path, body))
    assert (code, lines) == (1, [f'BREAKING  {HH} (body): field {gone} removed "{gone}" → -'])
    del body["additionalProperties"]
    code, lines = _changes(capsys, _json_schema(tmp_path, body))
    assert code == 0
    assert lines == [
        f"compatible  {HH} (body): additionalProperties changed false → -",
        f"note  {HH} (body): field {gone} not listed by the vendor"
        " (its open schema does not forbid it)",
    ]


def test_a_default_the_vendor_omits_is_no_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = _plain("apimart", HH)
    with_default = [n for n, p in body["properties"].items() if "default" in p]
    assert with_default, "the spec gives happyhorse-1.0 no default: pick another model"
    for name in with_default:
        del body["properties"][name]["default"]
    code, lines = _changes(capsys, _json_schema(tmp_path, body))
    assert (code, lines) == (0, [])
    body["properties"][with_default[0]]["default"] = None  # a stated default that differs
    _, lines = _changes(capsys, _json_schema(tmp_path, body))
    assert [line for line in lines if "default changed" in line] != []


@pytest.mark.parametrize(
    ("value", "shown"),
    [('"10"', "'10'"), ("1e400", "'1e400'"), ("NaN", "'NaN'"), ("true", "'True'")],
)
def test_a_vendor_value_of_the_wrong_type_is_one_line_naming_file_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str, shown: str
) -> None:
    text = '{"type": "object", "properties": {"duration": {"type": "integer", "maximum": %s}}}'
    path = _json_schema(tmp_path, text % value)
    code, out, err = _run(capsys, str(path), "--spec", "specs/apimart.yaml", "--model", HH)
    assert (code, out) == (2, "")
    assert err.strip() == f"{path}: duration: maximum {shown} is not a finite number"


def test_a_vendor_nan_written_in_yaml_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "schema.yaml"
    path.write_text("properties:\n  duration: {type: integer, minLength: .nan}\n", "utf-8")
    code, _, err = _run(capsys, str(path), "--spec", "specs/apimart.yaml", "--model", HH)
    assert code == 2
    assert f"{path}: duration: minLength 'nan'" in err


def test_the_docs_sample_holds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The docs' schema-diff block: each of its output lines appears in what it prints."""
    page = (ROOT / "docs" / "spec-changes.md").read_text(encoding="utf-8")
    block = next(
        b for b in page.split("```sh\n")[1:] if "vidgate schema-diff model-schema.json" in b
    ).split("```")[0]
    reply = block.split("<<'EOF'\n")[1].split("\nEOF")[0]
    (tmp_path / "model-schema.json").write_text(reply, encoding="utf-8")
    (tmp_path / "specs").symlink_to(ROOT / "specs")
    monkeypatch.chdir(tmp_path)
    code, out, _ = _run(capsys, "model-schema.json", "--spec", "specs/apimart.yaml")
    assert code == 1
    shown = [line.lstrip("#").strip() for line in block.split("schema-diff")[-1].splitlines()]
    flat = " ".join(out.split())
    missing = [
        line
        for line in shown
        if line.startswith(("BREAKING", "compatible", "note", "specs", "0", "1"))
    ]
    assert missing, "the docs sample shows no output"
    assert [line for line in missing if " ".join(line.split()) not in flat] == []
    assert "removed" not in out  # an open schema removes nothing


# ---------------------------------------------------------------------------- wording
def _two_models() -> str:
    bodies = [
        {"type": "object", "properties": {"model": {"type": "string", "const": m}}}
        for m in ("acme/a", "acme/b")
    ]
    return yaml.safe_dump(_imini_openapi(*bodies))


def test_a_missing_model_names_the_parameter_and_the_cli_its_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from vidgate.cli._common import flag
    from vidgate.spectools import schema_diff, specfile

    with pytest.raises(specfile.SpecToolError) as several:
        schema_diff.read_vendor(_two_models(), "v.yaml")
    said = "v.yaml: pass model=; the request bodies are for acme/a, acme/b"
    assert str(several.value) == said
    bare = {"type": "object", "properties": {"prompt": {"type": "string"}}}
    vendor = schema_diff.read_vendor(json.dumps(bare), "bare.json")
    with pytest.raises(specfile.SpecToolError) as unnamed:
        schema_diff.compare(vendor, specfile.load(ROOT / "specs" / "imini.yaml"))
    assert str(unnamed.value) == "the vendor schema names no model; pass model="
    for caught in (several.value, unnamed.value):
        assert isinstance(caught, ValueError)  # callers' except ValueError still holds
        assert caught.settings == ("model=",)
        assert "--model" in caught.worded(flag)
    path = tmp_path / "bare.json"
    path.write_text(json.dumps(bare), encoding="utf-8")
    code, _, err = _run(capsys, str(path), "--spec", "specs/imini.yaml")
    assert (code, err.strip()) == (2, "the vendor schema names no model; pass --model")
    path = tmp_path / "v.yaml"
    path.write_text(_two_models(), encoding="utf-8")
    code, _, err = _run(capsys, str(path), "--spec", "specs/imini.yaml")
    said = f"{path}: pass --model; the request bodies are for acme/a, acme/b"
    assert (code, " ".join(err.split())) == (2, said)
