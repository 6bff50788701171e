"""The spec tools are bounded: a ``$ref`` cycle, a dangling ``$ref`` and a YAML alias bomb are
refused in one line when a spec file is loaded (spec-diff, docs-diff, release); numbers read from a
page are bounded; ``docs-diff --apply`` re-lints what it wrote and writes nothing invalid."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
import seeds
import specvalues

from vidgate.cli import main
from vidgate.spectools import docs_diff, specfile

SPECS = Path(__file__).resolve().parent.parent / "specs"
IMINI = (SPECS / "imini.yaml").read_text()
KLING = "      x-vidgate-model: kling/kling-v3\n"


def _with_schemas(extra: str, into_kling: str = "") -> str:
    """The imini spec with schemas added (and a line added to kling-v3's request schema)."""
    text = IMINI.replace("  schemas:\n", "  schemas:\n" + extra, 1)
    return text.replace(KLING, KLING + into_kling, 1) if into_kling else text


def _bomb(levels: int = 9) -> str:
    lines = ["x-bomb:", "  a0: &a0 {t: string}"]
    for i in range(1, levels):
        lines.append(f"  a{i}: &a{i} {{" + ", ".join(f"k{j}: *a{i - 1}" for j in range(9)) + "}")
    return IMINI.replace("components:\n", "\n".join(lines) + "\ncomponents:\n", 1).replace(
        KLING, KLING + f"      x-boom: *a{levels - 1}\n", 1
    )


REF = "{$ref: '#/components/schemas/%s'}"
BAD = {
    "ref cycle": (
        _with_schemas(f"    CycA: {REF % 'CycB'}\n    CycB: {REF % 'CycA'}\n"),
        "$ref cycle #/components/schemas/CycA → #/components/schemas/CycB → #/components/",
    ),
    "recursive schema": (
        _with_schemas(
            "    Tree: {type: object, properties: {kids: {type: array, items: "
            + REF % "Tree"
            + "}}}\n",
            "      properties:\n        tree: " + REF % "Tree" + "\n",
        ).replace("      properties:\n        tree:", "      x-tree:", 1),
        "$ref cycle #/components/schemas/Tree → #/components/schemas/Tree",
    ),
    "dangling ref": (
        _with_schemas(f"    Gone: {REF % 'Nowhere'}\n"),
        "$ref #/components/schemas/Nowhere points at nothing",
    ),
    "remote ref": (
        _with_schemas("    Far: {$ref: 'https://example.com/s.yaml#/x'}\n"),
        "is not a local pointer",
    ),
    "alias bomb": (_bomb(), "an alias bomb"),
}


@pytest.mark.parametrize(("text", "said"), list(BAD.values()), ids=list(BAD))
def test_an_unbounded_spec_is_refused_when_loaded(text: str, said: str) -> None:
    start = time.monotonic()
    with pytest.raises(specfile.SpecUnreadable) as caught:
        specfile.loads(text, Path("bad.yaml"))
    assert time.monotonic() - start < 5
    message = str(caught.value)
    assert said in message
    assert message.startswith("bad.yaml")
    assert "\n" not in message
    assert len(message) < 400


def test_a_document_that_contains_itself_is_refused() -> None:
    """ruamel breaks a recursive alias itself; a loader that does not (PyYAML) is covered too."""
    loop: list[object] = []
    loop.append(loop)
    with pytest.raises(specfile.SpecUnreadable, match="contains itself"):
        specfile.check_bounded({"openapi": "3.1.0", "x": loop}, "loop.yaml")


def test_the_real_specs_are_within_the_bounds() -> None:
    for path in SPECS.glob("*.yaml"):
        loaded = specfile.load(path)  # nothing raised
        assert not docs_diff.relint(loaded)


@pytest.mark.parametrize("name", ["ref cycle", "alias bomb"])
def test_spec_diff_refuses_in_one_line(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "new.yaml"
    bad.write_text(BAD[name][0])
    start = time.monotonic()
    with pytest.raises(SystemExit) as done:
        main(["spec-diff", str(SPECS / "imini.yaml"), str(bad)])
    assert time.monotonic() - start < 10
    assert done.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert BAD[name][1] in " ".join(err.split())


def test_a_long_yaml_error_is_one_short_line() -> None:
    doubled = IMINI.replace(KLING, KLING + "      allOf: []\n", 1)  # a duplicate key
    with pytest.raises(specfile.SpecUnreadable) as caught:
        specfile.loads(doubled, Path("dup.yaml"))
    assert "duplicate key" in str(caught.value)
    assert len(str(caught.value)) < 400


def test_relint_finds_what_makes_a_spec_unusable(tmp_path: Path) -> None:
    path = tmp_path / "imini.yaml"
    shutil.copy(SPECS / "imini.yaml", path)
    source = specfile.load(path)
    duration = source.node("/components/schemas/KlingV3Request/properties/duration")
    duration["minimum"], duration["maximum"] = 15, 3
    duration["default"] = float("nan")
    duration["enum"] = []
    source.node("/components/schemas/KlingV3Request/properties/reference_images")["maxItems"] = -1
    found = " ".join(docs_diff.relint(source))
    for said in ("minimum 15 is above maximum 3", "nan is not a finite", "an enum needs", "-1"):
        assert said in found
    # the library says what is wrong; the CLI adds what it did ("--apply wrote nothing: ...")
    with pytest.raises(ValueError, match=f"^{re.escape(str(path))} would be invalid: "):
        docs_diff.refuse_invalid(source)


# ---------------------------------------------------------------------------- docs-diff
def _kling_page() -> seeds.Page:
    return next(p for p in seeds.pages() if p.model == "kling/kling-v3")


def _run(args: list[str]) -> int:
    with pytest.raises(SystemExit) as done:
        main(args)
    return int(done.value.code or 0)


@pytest.mark.docs
@pytest.mark.parametrize(
    ("page_name", "old", "new"),
    [
        ("001", r"(seed — integer in \[-?\d+, )[\d^+-]+\]", r"\g<1>9^999999999]"),
        ("004", r"(Required range: \d+ <= x <= )\d+", r"\g<1>" + "9" * 5000),
    ],
    ids=["power in a child range", "5000 digits"],
)
def test_a_page_number_is_bounded(
    page_name: str, old: str, new: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = next(p for p in seeds.pages() if p.path.name.startswith(page_name))
    text, found = re.subn(old, new, page.text, count=1)
    assert found, "the seed page changed: update this edit"
    edited = tmp_path / "page.txt"
    edited.write_text(text)
    start = time.monotonic()
    assert _run(["docs-diff", str(edited), "--spec", str(SPECS / f"{page.gateway}.yaml")]) == 2
    assert time.monotonic() - start < 10
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "beyond" in err


TOKENS = ["9^999999999", "10**10**10", "9e999999999", "3e-999", "1.5", "2^63", "1e309", "15.5"]


def _kling_edited(tmp_path: Path, structured: str, prose: str) -> Path:
    """The kling-v3 seed page with its duration's range line and prose range edited."""
    page = _kling_page()
    text, lines = re.subn(r"(Required range: \d+ <= x <= )\d+", r"\g<1>" + structured, page.text)
    text, words = re.subn(r"(range \d+ ~ )\d+", r"\g<1>" + prose, text, count=1)
    assert lines == 1, "the seed page changed: update this edit"
    assert words == 1, "the seed page changed: update this edit"
    edited = tmp_path / "kling.txt"
    edited.write_text(text)
    return edited


@pytest.mark.docs
@pytest.mark.parametrize("where", ["both", "line", "prose"])
@pytest.mark.parametrize("token", TOKENS)
def test_a_page_number_is_read_whole(
    token: str, where: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An integer field's number that is not an integer within ±2^63-1 is refused in one line
    (exit 2) and nothing is written; it is never read by its leading digits."""
    keep = str(specvalues.prop("imini", _kling_page().model, "duration")["maximum"])
    edited = _kling_edited(
        tmp_path, token if where != "prose" else keep, token if where != "line" else keep
    )
    copy = tmp_path / "spec.yaml"
    shutil.copy(SPECS / "imini.yaml", copy)
    before = copy.read_text()
    assert _run(["docs-diff", str(edited), "--spec", str(copy), "--apply"]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert len(err.splitlines()) == 1, err
    assert "duration" in err
    assert repr(token) in err
    assert "wrote" not in captured.out
    assert copy.read_text() == before


@pytest.mark.parametrize(
    ("token", "value"),
    [("15", 15), ("-1", -1), ("2^32-1", 2**32 - 1), ("1.5", 1.5), ("1e3", 1000.0)],
)
def test_a_number_field_reads_a_decimal_whole(token: str, value: float) -> None:
    got = docs_diff._number(token, "number")
    assert got == value
    assert type(got) is type(value)


@pytest.mark.parametrize("token", ["1e309", "9e999999999", "3e-999", "10**10**10"])
def test_a_number_field_refuses_what_it_cannot_hold(token: str) -> None:
    with pytest.raises(ValueError, match=re.escape(repr(token))):
        docs_diff._number(token, "number")


def test_a_decimal_where_the_spec_has_an_integer_is_reported() -> None:
    """15.0 on a page for a ``number`` field is not the spec's integer 15 (nor is 15.5)."""
    field = docs_diff.PageField("duration", "number", maximum=15.0)
    diffs = docs_diff._field_diffs("duration", field, {"type": "number", "maximum": 15}, False)
    assert [(d.kind, d.page, d.spec) for d in diffs] == [("maximum", 15.0, 15)]
    field.maximum = 15
    assert docs_diff._field_diffs("duration", field, {"type": "number", "maximum": 15}, False) == []


def test_a_power_in_a_child_range_is_bounded() -> None:
    assert docs_diff._number("2^32-1") == 2**32 - 1
    start = time.monotonic()
    with pytest.raises(ValueError, match="beyond"):
        docs_diff._number("9^999999999")
    assert time.monotonic() - start < 1


@pytest.mark.docs
@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        (  # the minimum moved above the page's own maximum
            r"Required range: \d+ <= x <= (\d+)",
            lambda m: f"Required range: {int(m[1]) + 1} <= x <= {m[1]}",
            "is above maximum",
        ),
        (
            r"generate_audio\nboolean\n",
            "strength\nnumber\ndefault:nan\n\ngenerate_audio\nboolean\n",
            "not a finite number",
        ),
        (
            r"generate_audio\nboolean\n",
            "strength\nnumber\ndefault:inf\n\ngenerate_audio\nboolean\n",
            "not a finite number",
        ),
    ],
    ids=["inverted range", "nan default", "inf default"],
)
def test_apply_writes_nothing_invalid(
    old: str, new: Any, said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Edits are made from what the page says (the release-path test edits the page too)."""
    text, found = re.subn(old, new, _kling_page().text, count=1)
    assert found, "the seed page changed: update this edit"
    if said == "is above maximum":  # the field's prose says the same, or it is a CONFLICT
        text = re.sub(r"range (\d+) ~ (\d+)", lambda m: f"range {int(m[2]) + 1} ~ {m[2]}", text)
    edited = tmp_path / "page.txt"
    edited.write_text(text)
    copy = tmp_path / "imini.yaml"
    shutil.copy(SPECS / "imini.yaml", copy)
    before = copy.read_bytes()
    assert _run(["docs-diff", str(edited), "--spec", str(copy), "--apply"]) == 2
    assert copy.read_bytes() == before
    err = " ".join(capsys.readouterr().err.split())
    assert err.startswith(f"--apply wrote nothing: {copy} would be invalid: ")
    assert said in err


def test_the_spec_linter_refuses_an_alias_bomb_before_walking_it(tmp_path: Path) -> None:
    import lint_specs  # scripts/ (make check)

    path = tmp_path / "imini.yaml"
    path.write_text(_bomb())
    start = time.monotonic()
    problems = lint_specs.lint(path)
    assert time.monotonic() - start < 10
    assert len(problems) == 1
    assert "alias bomb" in problems[0]


@pytest.mark.parametrize(
    ("text", "kind", "expected"),
    [
        ("Clips of 2.5-15 seconds.", "string", []),  # not "5-15 seconds"
        ("Clips of 2-15 seconds.", "string", [("media.duration_s", [2, 15])]),
        ("Scale, range 0 ~ 1.5.", "number", [("minimum", 0), ("maximum", 1.5)]),
        ("Steps, range 1 ~ 50Default 10", "integer", [("minimum", 1), ("maximum", 50)]),
    ],
)
def test_prose_numbers_are_read_whole(text: str, kind: str, expected: list[Any]) -> None:
    from vidgate.spectools import docs_prose

    said = docs_prose.read([(1, text, kind == "string")], kind, None)
    assert [(s.kind, s.value) for s in said if s.kind != "default"] == expected
