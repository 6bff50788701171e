"""Documentation pages against the specs: zero unexplained differences on every seed page, and
every kind of edit to a page is reported."""

from __future__ import annotations

import difflib
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import seeds
import specvalues
import yaml

from vidgate import docs_diff, spec, specfile
from vidgate.cli import main

pytestmark = pytest.mark.docs
PAGES = seeds.pages()


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.path.name)
def test_seed_page_matches_the_spec(page: seeds.Page) -> None:
    diffs = docs_diff.diff_page(page.text, page.gateway, page.model)
    assert [str(d) for d in diffs if not d.explained] == []
    fields = docs_diff.parse_page(page.text)
    for body in page.request_bodies():  # the parser saw every field the examples use
        assert set(body) <= set(fields), set(body) - set(fields)


def _page(name: str) -> seeds.Page:
    return next(p for p in PAGES if p.path.name.startswith(name))


def _shift(delta: int) -> Callable[[re.Match[str]], str]:
    """Move the number a pattern's second group matched (the page's own value) by ``delta``."""
    return lambda m: m.group(1) + str(int(m.group(2)) + delta) + (m.group(3) or "")


Replacement = str | Callable[[re.Match[str]], str]
EDITS: list[tuple[str, str, Replacement, str]] = [
    # (page, pattern, replacement, field and kind of the expected difference). Numbers are moved
    # from whatever the page says; the spec's side of each difference is read from the spec.
    ("004", r"(Required range: \d+ <= x <= )(\d+)()", _shift(-3), "duration: maximum"),
    ("001", r"(Required range: )(\d+)( <= x)", _shift(1), "duration: minimum"),
    ("000", r"(Maximum array length: )(\d+)()", _shift(3), "reference_images: maxItems"),
    ("000", r"(up to )(\d+)( characters)", _shift(3000), "prompt: maxLength"),
    ("001", r"default:720P", "default:480P", "resolution: default"),
    ("004", r"16:9,\n9:16,\n1:1", "16:9,\n9:16,\n1:1,\n5:4", "aspect_ratio: enum"),
    ("002", r"(any integer from \d+ to )(\d+)()", _shift(-5), "duration: maximum"),
    ("002", r"(Value range: \[0, )(\d+)(\])", _shift(1), "seed: maximum"),
    (
        "002",
        r"  • 1080P - High definition \(default\)",
        "  • 1080P - High definition (default)\n  • 4K - Ultra",
        "resolution: enum",
    ),
    (
        "001",
        r"watermark — boolean, defaults to false",
        "watermark — boolean, defaults to true",
        "extra_params.watermark: default",
    ),
    (
        "001",
        r"seed — integer in \[-1, 2\^32-1\]",
        "seed — integer in [0, 2^31-1]",
        "extra_params.seed: minimum",
    ),
    ("003", r"generate_audio\nboolean", "loop\nboolean", "loop: missing-in-spec"),
    (
        "000",
        r"resolution\nenum<string>",
        "output_resolution\nenum<string>",
        "resolution: missing-on-page",
    ),
]
SPECS = Path(__file__).resolve().parent.parent / "specs"


def _edited(name: str, old: str, new: Replacement) -> tuple[seeds.Page, str]:
    page = _page(name)
    text, found = re.subn(old, new, page.text, count=1)
    assert found, "the seed page changed: update this edit"
    return page, text


def _spec_value(gateway: spec.Gateway, pointer: str) -> object:
    *parent, key = specfile.pointer_parts(pointer)
    node = spec.resolve(spec.document(gateway), "#/" + "/".join(map(specfile.escape, parent)))
    return node.get(key) if key != "properties" else None


@pytest.mark.parametrize(("name", "old", "new", "expected"), EDITS, ids=[e[3] for e in EDITS])
def test_an_edited_page_is_reported(name: str, old: str, new: Replacement, expected: str) -> None:
    page, text = _edited(name, old, new)
    diffs = [d for d in docs_diff.diff_page(text, page.gateway, page.model) if not d.explained]
    found = [d for d in diffs if f"{d.field}: {d.kind}" == expected]
    assert len(found) == 1, [str(d) for d in diffs]
    (d,) = found
    if d.kind not in ("missing-in-spec", "missing-on-page"):  # the spec's side, at the pointer
        assert d.spec == _spec_value(page.gateway, d.pointer), d.pointer


@pytest.mark.parametrize(("name", "old", "new", "expected"), EDITS, ids=[e[3] for e in EDITS])
def test_apply_then_diff_is_clean(
    name: str, old: str, new: Replacement, expected: str, tmp_path: Path
) -> None:
    """--apply writes every mechanical difference; what is left is exactly what it cannot do."""
    page, text = _edited(name, old, new)
    target = tmp_path / f"{page.gateway}.yaml"
    shutil.copy(SPECS / target.name, target)
    before = target.read_text()
    source = specfile.load(target)
    done = docs_diff.apply_page(text, source, page.model)
    assert all(d.kind not in docs_diff.APPLICABLE for d in done.manual), done.manual
    assert done.written or done.manual
    source.save()
    after = target.read_text()
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # read as the generators read it
    left = docs_diff.diff_page(text, None, page.model, yaml.load(after, loader))
    assert [d.kind for d in left if not d.explained] == [d.kind for d in done.manual]
    lines = difflib.unified_diff(before.splitlines(), after.splitlines(), n=0)
    changed = [x for x in lines if x[:1] in "+-" and x[:3] not in ("+++", "---")]
    removed = [x for x in changed if x.startswith("-")]  # each write edits at most one line
    assert len(removed) <= len(done.written), changed  # and leaves every other line as it was


def test_cli_reports_a_changed_number(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = _page("004")
    limit = specvalues.prop("imini", page.model, "duration")["maximum"]
    edited = tmp_path / "kling.txt"
    edited.write_text(page.text.replace(f"<= x <= {limit}", f"<= x <= {limit - 3}"))
    copy = tmp_path / "kling-spec.yaml"
    shutil.copy(SPECS / "imini.yaml", copy)
    with pytest.raises(SystemExit) as done:
        main(["docs-diff", str(edited), "--spec", str(copy)])
    assert done.value.code == 1
    out = capsys.readouterr().out
    line = specfile.load(copy).line(
        "/components/schemas/KlingV3Request/properties/duration/maximum"
    )
    assert f"duration: maximum: page {limit - 3}, spec {limit} → edit {copy}:{line} #/" in out
    with pytest.raises(SystemExit) as done:
        main(["docs-diff", str(edited), "--spec", str(copy), "--apply"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert f"wrote duration: maximum = {limit - 3}" in out
    assert "1 written" in out
    with pytest.raises(SystemExit) as done:
        main(["docs-diff", str(edited), "--spec", str(copy)])
    assert done.value.code == 0
    assert f"maximum: {limit - 3}" in copy.read_text()


def test_cli_apply_lists_what_it_cannot_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, text = _edited("000", "resolution\nenum<string>", "output_resolution\nenum<string>")
    edited = tmp_path / "page.txt"
    edited.write_text(text)
    copy = tmp_path / "imini.yaml"
    shutil.copy(SPECS / "imini.yaml", copy)
    with pytest.raises(SystemExit) as done:
        main(["docs-diff", str(edited), "--spec", str(copy), "--apply"])
    assert done.value.code == 1
    out = capsys.readouterr().out
    assert "wrote output_resolution: missing-in-spec" in out
    assert "BY HAND resolution: missing-on-page" in " ".join(out.split())


def test_cli_reads_the_spec_file_it_is_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = _page("004")
    with pytest.raises(SystemExit) as done:
        main(["docs-diff", str(page.path), "--spec", str(tmp_path / "nonexistent.yaml")])
    assert done.value.code == 2
    assert "cannot read spec" in capsys.readouterr().err
    (tmp_path / "bad.yaml").write_text("openapi: [unclosed\n")
    with pytest.raises(SystemExit) as done:
        main(["docs-diff", str(page.path), "--spec", str(tmp_path / "bad.yaml")])
    assert done.value.code == 2
    assert "is not YAML" in capsys.readouterr().err
    copy = tmp_path / "elsewhere.yaml"
    shutil.copy(SPECS / "imini.yaml", copy)
    with pytest.raises(SystemExit) as done:
        main(["docs-diff", str(page.path), "--spec", str(copy)])
    assert done.value.code == 0
    edited = specfile.load(copy)  # any difference: the kling page's maximum duration, less 1
    names = spec.request_schema_names(edited.doc)
    duration = edited.doc["components"]["schemas"][names[page.model]]["properties"]["duration"]
    duration["maximum"] -= 1
    edited.save()
    with pytest.raises(SystemExit) as done:
        main(["docs-diff", str(page.path), "--spec", str(copy)])
    assert done.value.code == 1


@pytest.mark.parametrize("gateway", spec.GATEWAYS)
def test_round_trip_keeps_a_spec_byte_for_byte(gateway: str) -> None:
    source = specfile.load(SPECS / f"{gateway}.yaml")
    assert source.dumps() == source.text


def test_missing_pages_fail_loudly(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("VIDGATE_DOCS_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(seeds.SeedsMissing, match="VIDGATE_DOCS_DIR"):
        seeds.docs_dir()
