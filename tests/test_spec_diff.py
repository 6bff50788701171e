"""spec-diff: every kind of contract change, classified for the people who call the gateway."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from vidgate import spec
from vidgate.cli import main
from vidgate.spectools import spec_diff

ROOT = Path(__file__).resolve().parent.parent
Doc = dict[str, Any]
HH = "/components/schemas/HappyHorseRequest"


def _apimart() -> Doc:
    return copy.deepcopy(spec.document("apimart"))


def _at(doc: Doc, pointer: str) -> Any:
    return spec.resolve(doc, "#" + pointer)


def _set(pointer: str, key: str, value: Any) -> Callable[[Doc], None]:
    return lambda doc: _at(doc, pointer).__setitem__(key, value)


def _grow(pointer: str, key: str, delta: int) -> Callable[[Doc], None]:
    return lambda doc: _at(doc, pointer).__setitem__(key, _at(doc, pointer)[key] + delta)


def _drop(pointer: str, key: str) -> Callable[[Doc], None]:
    return lambda doc: _at(doc, pointer).pop(key)


def _rule(rule_id: str) -> str:
    doc = spec.document("apimart")
    (found,) = [r for r in spec.iter_rules(doc, _at(doc, HH), HH) if r.id == rule_id]
    return found.pointer


P = f"{HH}/properties"
EDIT_RULE = "happyhorse.edit.max-style-images"
CHANGES = [
    # (edit, level, expected "where: what" prefix)
    (_grow(f"{P}/duration", "maximum", -1), "breaking", "happyhorse-1.0 duration: maximum lowered"),
    (_grow(f"{P}/duration", "maximum", 1), "compatible", "happyhorse-1.0 duration: maximum raised"),
    (_grow(f"{P}/duration", "minimum", 1), "breaking", "happyhorse-1.0 duration: minimum raised"),
    (_grow(f"{P}/image_urls", "maxItems", 3), "compatible", "happyhorse-1.0 image_urls: maxItems"),
    (_grow(f"{P}/prompt", "maxLength", -1), "breaking", "happyhorse-1.0 prompt: maxLength lowered"),
    (_set(f"{P}/size", "enum", ["16:9"]), "breaking", "happyhorse-1.0 size: enum value removed"),
    (
        lambda d: _at(d, f"{P}/size")["enum"].append("21:9"),
        "compatible",
        "happyhorse-1.0 size: enum value added",
    ),
    (
        _set(f"{P}/duration", "default", 10),
        "compatible",
        "happyhorse-1.0 duration: default changed",
    ),
    (_drop(P, "seed"), "breaking", "happyhorse-1.0 (body): field seed removed"),
    (
        _set(P, "style", {"type": "string", "x-vidgate-source": "doc"}),
        "compatible",
        "happyhorse-1.0 (body): field style added",
    ),
    (_set(HH, "required", ["model", "prompt"]), "breaking", "happyhorse-1.0 (body): prompt now"),
    (_set(f"{P}/seed", "type", "string"), "breaking", "happyhorse-1.0 seed: type changed"),
    (_set(f"{P}/seed", "x-vidgate-source", "gap"), "note", "happyhorse-1.0 seed: source changed"),
    (
        _grow(f"{_rule(EDIT_RULE)}/properties/image_urls", "maxItems", -1),
        "breaking",
        f"happyhorse-1.0 rule {EDIT_RULE}: properties/image_urls/maxItems lowered",
    ),
    (
        _grow(f"{_rule(EDIT_RULE)}/properties/image_urls", "maxItems", 1),
        "compatible",
        f"happyhorse-1.0 rule {EDIT_RULE}: properties/image_urls/maxItems raised",
    ),
    (
        _set(f"{_rule(EDIT_RULE)}/properties/image_urls", "uniqueItems", True),
        "breaking",
        f"happyhorse-1.0 rule {EDIT_RULE}: rule changed",
    ),
    (
        _set(_rule("happyhorse.no-first-frame-with-video"), "x-vidgate-error-code", "other"),
        "breaking",
        "happyhorse-1.0 rule happyhorse.no-first-frame-with-video: error code changed",
    ),
    (
        lambda d: _at(d, HH)["allOf"].append(
            {"x-vidgate-rule": "happyhorse.new", "not": {"required": ["seed", "video_url"]}}
        ),
        "breaking",
        "happyhorse-1.0 rule happyhorse.new: rule added",
    ),
    (
        lambda d: _at(d, HH)["allOf"].pop(0),
        "compatible",
        "happyhorse-1.0 rule happyhorse.no-first-frame-with-images: rule removed",
    ),
    (
        _drop("/components/schemas/Task/properties", "id"),
        "breaking",
        "reply GET /v1/tasks/{task_id} 200 data: field id removed",
    ),
    (
        _set("/components/schemas/Task/properties", "eta", {"type": "integer"}),
        "compatible",
        "reply GET /v1/tasks/{task_id} 200 data: field eta added",
    ),
    (
        _set("/components/schemas/Task", "required", ["id"]),
        "breaking",
        "reply GET /v1/tasks/{task_id} 200 data: status no longer always present",
    ),
]


@pytest.mark.parametrize(("edit", "level", "expected"), CHANGES, ids=[c[2] for c in CHANGES])
def test_each_change_is_classified(edit: Callable[[Doc], None], level: str, expected: str) -> None:
    new = _apimart()
    edit(new)
    report = spec_diff.diff_specs(spec.document("apimart"), new)
    found = [c for c in report.changes if str(c).startswith(expected)]
    assert found, [str(c) for c in report.changes]
    assert found[0].level == level
    assert report.bump == {"breaking": "major", "compatible": "minor", "note": "patch"}[level]


def test_a_nested_rule_change_is_not_its_parents() -> None:
    new = _apimart()
    _grow(f"{_rule(EDIT_RULE)}/properties/image_urls", "maxItems", -1)(new)
    changes = spec_diff.diff_specs(spec.document("apimart"), new).changes
    assert [c.rule for c in changes] == [EDIT_RULE]


def test_a_removed_reply_field_is_reported_once() -> None:
    new = _apimart()
    task = _at(new, "/components/schemas/Task")
    task["properties"].pop("id")
    task["required"].remove("id")
    changes = spec_diff.diff_specs(spec.document("apimart"), new).changes
    assert [c.what for c in changes] == ["field id removed"]


TASK = "/components/schemas/Task/properties"
ERROR_AT = "reply GET /v1/tasks/{task_id} 200 data.error"


def test_a_reply_object_that_may_be_null_is_one_change_not_its_fields_removed() -> None:
    """``anyOf [X, {type: null}]`` is X, nullable: comparing it with plain X names the null."""
    plain = _apimart()
    error = _at(plain, TASK)["error"]
    (schema,) = [b for b in error.pop("anyOf") if b.get("type") != "null"]
    error.update(schema)
    became = spec_diff.diff_specs(plain, spec.document("apimart")).changes
    assert [(c.level, c.where, c.what) for c in became] == [
        ("breaking", ERROR_AT, "may now be null")
    ]
    back = spec_diff.diff_specs(spec.document("apimart"), plain).changes
    assert [(c.level, c.where, c.what) for c in back] == [
        ("compatible", ERROR_AT, "no longer null")
    ]


def test_a_nullable_type_list_is_not_a_type_change() -> None:
    new = _apimart()
    _at(new, TASK)["progress"]["type"] = ["number", "null"]
    changes = spec_diff.diff_specs(spec.document("apimart"), new).changes
    assert [c.what for c in changes] == ["may now be null"]


def test_reply_alternatives_are_compared_in_order() -> None:
    new = _apimart()
    status = _at(new, TASK)["status"]
    status["anyOf"].append({"type": "integer"})
    status["anyOf"][1]["maxLength"] = 40  # ignored: reply limits are not compared
    _at(new, "/components/schemas/TaskResult")["properties"].pop("videos")
    changes = spec_diff.diff_specs(spec.document("apimart"), new).changes
    status_at = "reply GET /v1/tasks/{task_id} 200 data.status"
    assert (status_at, "alternative added", "breaking") in [
        (c.where, c.what, c.level) for c in changes
    ]
    # a field removed inside the non-null shape of a nullable reply object is still found
    assert any(
        c.where.endswith("data.result") and c.what == "field videos removed" for c in changes
    )


def test_rule_changes_carry_their_mode_and_error_code() -> None:
    new = _apimart()
    _set(_rule("happyhorse.edit.prompt-required"), "required", ["prompt", "seed"])(new)
    _set(_rule("happyhorse.audio-setting-edit-only"), "dependentRequired", {})(new)
    changes = {c.rule: c for c in spec_diff.diff_specs(spec.document("apimart"), new).changes}
    assert changes["happyhorse.edit.prompt-required"].mode == "edit"
    audio = changes["happyhorse.audio-setting-edit-only"]
    assert audio.error_code == _at(new, _rule(audio.rule or ""))["x-vidgate-error-code"]


def test_modes_removed_added_and_reordered() -> None:
    new = _apimart()
    routing = _at(new, _rule("happyhorse.routing"))
    routing["then"]["x-vidgate-mode"] = "remix"
    changes = [str(c) for c in spec_diff.diff_specs(spec.document("apimart"), new).changes]
    assert any("mode edit: input mode removed" in c for c in changes), changes
    assert any("mode remix: input mode added" in c for c in changes), changes


def test_models_added_and_removed() -> None:
    new = _apimart()
    _, op = spec.submit_operation(new)
    body = spec.deref(new, op["requestBody"]["content"]["application/json"]["schema"])
    mapping = body["discriminator"]["mapping"]
    mapping["happyhorse-2.0"] = mapping.pop("happyhorse-1.0")
    changes = spec_diff.diff_specs(spec.document("apimart"), new).changes
    assert [(c.level, c.what) for c in changes if c.where.startswith("model")] == [
        ("breaking", "model removed"),
        ("compatible", "model added"),
    ]


def test_no_change_is_no_bump() -> None:
    report = spec_diff.diff_specs(spec.document("imini"), _apimart() | {})
    assert report.changes  # different gateways differ
    same = spec_diff.diff_specs(spec.document("imini"), copy.deepcopy(spec.document("imini")))
    assert (same.changes, same.bump) == ([], "none")


@pytest.mark.parametrize(
    ("version", "bump", "expected"),
    [
        ("0.1.0", "major", "0.2.0"),
        ("0.1.0", "minor", "0.1.1"),
        ("0.1.3", "patch", "0.1.4"),
        ("1.2.3", "major", "2.0.0"),
        ("1.2.3", "minor", "1.3.0"),
        ("1.2.3", "none", "1.2.3"),
    ],
)
def test_bump_version(version: str, bump: str, expected: str) -> None:
    assert spec_diff.bump_version(version, bump) == expected


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(args)
    out, err = capsys.readouterr()
    return int(done.value.code or 0), out, err


def test_cli_files_json_and_fail_on(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = ROOT / "specs" / "imini.yaml"
    new = tmp_path / "imini.yaml"
    limit = spec.document("imini")["components"]["schemas"]["KlingV3Request"]["properties"][
        "duration"
    ]["maximum"]
    text = old.read_text()
    marker = f"          maximum: {limit}\n          default:"
    assert text.count(marker) >= 1
    new.write_text(text.replace(marker, f"          maximum: {limit - 1}\n          default:", 1))
    code, out, _ = _cli(["spec-diff", str(old), str(new)], capsys)
    assert code == 0
    assert "BREAKING  " in out
    assert f"maximum lowered {limit} → {limit - 1}" in out
    assert "suggested bump: major" in out
    code, out, _ = _cli(
        ["spec-diff", str(old), str(new), "--json", "--fail-on", "breaking"], capsys
    )
    assert code == 1
    result = json.loads(out)
    assert result["bump"] == "major"
    assert result["specs"][0]["breaking"] >= 1
    code, _, _ = _cli(["spec-diff", str(old), str(old), "--fail-on", "breaking"], capsys)
    assert code == 0
    code, _, err = _cli(["spec-diff", str(old), str(tmp_path / "none.yaml")], capsys)
    assert (code, "cannot read spec" in err) == (2, True)
    code, _, err = _cli(["spec-diff", str(old)], capsys)
    assert (code, "give two spec files" in err) == (2, True)
    code, _, err = _cli(["spec-diff", str(old), str(new), "--fail-on", "sometimes"], capsys)
    assert code == 2


def test_cli_from_a_git_revision(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "repo"
    (repo / "specs").mkdir(parents=True)
    target = repo / "specs" / "apimart.yaml"
    shutil.copy(ROOT / "specs" / "apimart.yaml", target)

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)

    git("init", "-q")
    git("add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "spec")
    target.write_text(target.read_text().replace("          default: '16:9'\n", "", 1))
    code, out, _ = _cli(["spec-diff", "--from", "HEAD", str(target)], capsys)
    assert code == 0
    assert "size: default changed" in out
    assert "suggested bump: minor" in out
    code, _, err = _cli(["spec-diff", "--from", "no-such-rev", str(target)], capsys)
    assert (code, "cannot read" in err) == (2, True)


def test_one_file_without_a_revision_names_from_rev_and_the_cli_its_option(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from vidgate.spectools import specfile

    one = ROOT / "specs" / "imini.yaml"
    with pytest.raises(specfile.SpecToolError) as caught:
        spec_diff.compare_files([one], None)
    assert isinstance(caught.value, ValueError)  # callers' except ValueError still holds
    assert str(caught.value) == "give two spec files (OLD NEW), or from_rev= and the files"
    code, _, err = _cli(["spec-diff", str(one)], capsys)
    said = "give two spec files (OLD NEW), or --from GIT_REV and the files"
    assert (code, err.strip()) == (2, said)
