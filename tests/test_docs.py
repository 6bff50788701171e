"""Documentation pages against the specs: zero unexplained differences on every seed page, and
every kind of edit to a page is reported."""

from __future__ import annotations

import difflib
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import seeds
import specvalues
import yaml

from vidgate import spec
from vidgate.cli import main
from vidgate.spectools import docs_diff, specfile

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


def _shift(delta: int, everywhere: bool = True) -> Callable[[re.Match[str]], str]:
    """Move the number a pattern's group ``n`` matched (the page's own value) by ``delta``,
    everywhere the match writes it (a page says a limit in its prose and its structured line),
    or only there."""

    def move(m: re.Match[str]) -> str:
        old, new = m.group("n"), str(int(m.group("n")) + delta)
        if not everywhere:
            start, end = m.start("n") - m.start(), m.end("n") - m.start()
            return m.group(0)[:start] + new + m.group(0)[end:]
        return re.sub(rf"(?<![\d.]){old}(?!\.?\d)", new, m.group(0))

    return move


Replacement = str | Callable[[re.Match[str]], str]
EDITS: list[tuple[str, str, Replacement, str]] = [
    # (page, pattern, replacement, field and kind of the expected difference). Numbers are moved
    # from whatever the page says; the spec's side of each difference is read from the spec.
    (
        "004",
        r"range \d+ ~ (?P<n>\d+)\.\s+Required range: \d+ <= x <= \d+",
        _shift(-3),
        "duration: maximum",
    ),
    ("001", r"range (?P<n>\d+) ~ \d+\.\s+Required range: \d+", _shift(1), "duration: minimum"),
    ("000", r"Maximum array length: (?P<n>\d+)", _shift(3), "reference_images: maxItems"),
    ("000", r"up to (?P<n>\d+) characters", _shift(3000), "prompt: maxLength"),
    (
        "001",
        r"default:720P\s+Output resolution. Defaults to 720P.",
        "default:480P\n\nOutput resolution. Defaults to 480P.",
        "resolution: default",
    ),
    ("004", r"16:9,\n9:16,\n1:1", "16:9,\n9:16,\n1:1,\n5:4", "aspect_ratio: enum"),
    ("002", r"any integer from \d+ to (?P<n>\d+)", _shift(-5), "duration: maximum"),
    ("002", r"Value range: \[0, (?P<n>\d+)\]", _shift(1), "seed: maximum"),
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
    page, text = _edited("004", EDITS[0][1], EDITS[0][2])  # the maximum duration, less 3
    limit = specvalues.prop("imini", page.model, "duration")["maximum"]
    edited = tmp_path / "kling.txt"
    edited.write_text(text)
    copy = tmp_path / "kling-spec.yaml"
    shutil.copy(SPECS / "imini.yaml", copy)
    with pytest.raises(SystemExit) as done:
        main(["docs-diff", str(edited), "--spec", str(copy)])
    assert done.value.code == 1
    out = capsys.readouterr().out
    line = specfile.load(copy).line(
        "/components/schemas/KlingV3Request/properties/duration/maximum"
    )
    assert f"duration: maximum: page {limit - 3} (line " in out
    assert f"), spec {limit} → edit {copy}:{line} #/" in out
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


def test_cli_names_the_media_block_of_each_media_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Side pixels, formats and aspect ratio changed on the kling-v3 page: each a DIFF naming
    the property's x-vidgate-media (file:line and pointer) with the spec's value; --apply lists
    them BY HAND, writes nothing and exits 1."""
    page = _page("004")
    media = specvalues.prop("imini", page.model, "reference_images")["x-vidgate-media"]
    text = page.text
    for old, new in (
        (rf"each ≥ {media['min_side_px']} px", f"each ≥ {media['min_side_px'] + 100} px"),
        (r"(Format: \w+ / \w+) / \w+", r"\1"),
        (r"(Aspect ratio: )\S+ ~ \S+", r"\g<1>1:2 ~ 2:1"),
    ):
        text, found = re.subn(old, new, text, count=1)
        assert found, f"the kling-v3 page changed: update this test ({old})"
    edited = tmp_path / page.path.name
    edited.write_text(text, encoding="utf-8")
    copy = tmp_path / "imini.yaml"
    shutil.copy(SPECS / "imini.yaml", copy)
    before = copy.read_text()
    pointer = "/components/schemas/KlingV3Request/properties/reference_images/x-vidgate-media"
    where = f"→ edit {copy}:{specfile.load(copy).line(pointer)} #{pointer}"
    with pytest.raises(SystemExit) as done:
        main(["docs-diff", str(edited), "--spec", str(copy)])
    assert done.value.code == 1
    out = " ".join(capsys.readouterr().out.split())
    shown = {
        "media.side_px": json.dumps(["each", media["min_side_px"], None]),
        "media.formats": json.dumps(sorted(media["formats"])),
        "media.aspect_ratio": json.dumps(media["aspect_ratio"]),
    }
    for kind, ours in shown.items():
        said = re.search(
            rf"DIFF reference_images: {kind}: page .*?, spec (.*?) → edit \S+ #\S+", out
        )
        assert said, (kind, out)
        assert said.group(1) == f"[{ours}]", (kind, said.group(0))
        assert where in said.group(0), said.group(0)
    assert "3 unexplained" in out
    with pytest.raises(SystemExit) as done:
        main(["docs-diff", str(edited), "--spec", str(copy), "--apply"])
    assert done.value.code == 1
    out = " ".join(capsys.readouterr().out.split())
    for kind in shown:
        assert f"BY HAND reference_images: {kind}:" in out, out
    assert copy.read_text() == before


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


def _other_default(page: seeds.Page, name: str) -> Callable[[re.Match[str]], str]:
    """Replace the default the match names (group ``v``) with another option the spec allows."""
    options = specvalues.prop(page.gateway, page.model, name)["enum"]

    def swap(m: re.Match[str]) -> str:
        other = next(str(o) for o in options if str(o) != m.group("v"))
        return m.group(0).replace(m.group("v"), other)

    return swap


# (page, pattern, replacement, field and kind, is it a CONFLICT with the page's structured line)
PROSE: list[tuple[str, str, Callable[[seeds.Page], Replacement], str, bool]] = [
    ("004", r"range \d+ ~ (?P<n>\d+)\.", lambda _: _shift(-3, False), "duration: maximum", True),
    ("001", r"range (?P<n>\d+) ~ \d+\.", lambda _: _shift(1, False), "duration: minimum", True),
    (
        "004",
        r"Output resolution\. Defaults to (?P<v>\w+)\.",
        lambda p: _other_default(p, "resolution"),
        "resolution: default",
        True,
    ),
    (
        "001",
        r"Reference image list\. Up to (?P<n>\d+) images",
        lambda _: _shift(-2, False),
        "reference_images: maxItems",
        True,
    ),
    ("004", r"Up to (?P<n>\d+) characters", lambda _: _shift(-500), "prompt: maxLength", False),
    ("004", r"≤ (?P<n>\d+) MB", lambda _: _shift(5), "reference_images: media.max_mb", False),
    (
        "001",
        r"\d+\u2013(?P<n>\d+) seconds per clip, ≤ \d+ MB each; total request",
        lambda _: _shift(-3, False),
        "reference_audios: media.duration_s",
        False,
    ),
    (
        "000",
        r"≤ (?P<n>\d+) MB per image",
        lambda _: _shift(10),
        "reference_images: media.max_mb",
        False,
    ),
    # the other media requirements validation enforces from x-vidgate-media: side pixels,
    # formats, aspect ratio range and all clips' total length; each left BY HAND by --apply
    (
        "004",
        r"each ≥ (?P<n>\d+) px",
        lambda _: _shift(100),
        "reference_images: media.side_px",
        False,
    ),
    (
        "004",
        r"(Format: \w+ / \w+) / \w+",
        lambda _: r"\1",
        "reference_images: media.formats",
        False,
    ),
    (
        "004",
        r"Aspect ratio: 1:2\.5 ~ 2\.5:1",
        lambda _: "Aspect ratio: 1:2 ~ 2:1",
        "reference_images: media.aspect_ratio",
        False,
    ),
    (
        "001",
        r"total duration across all audios ≤ (?P<n>\d+) seconds",
        lambda _: _shift(-3),
        "reference_audios: media.total_duration_s",
        False,
    ),
    (
        "001",
        r"width/height (?P<n>\d+)\u2013\d+ px",
        lambda _: _shift(100, False),
        "reference_images: media.side_px",
        False,
    ),
    (
        "001",
        r"aspect ratio between 1:2\.5 and 2\.5:1",
        lambda _: "aspect ratio between 1:2 and 2:1",
        "reference_images: media.aspect_ratio",
        False,
    ),
    (
        "000",
        r"long side ≤ (?P<n>\d+) px",
        lambda _: _shift(-160),
        "reference_videos: media.side_px",
        False,
    ),
    (
        "002",
        r"short / long ≥ (?P<n>0\.\d+)",
        lambda _: lambda m: m.group(0).replace(m.group("n"), f"{float(m.group('n')) + 0.1:.1f}"),
        "image_urls: media.aspect_ratio",
        False,
    ),
    (
        "001",
        r"formats wav / mp3",
        lambda _: "formats wav / mp3 / aac",
        "reference_audios: media.formats",
        False,
    ),
]


@pytest.mark.parametrize(
    ("name", "old", "new", "expected", "conflict"), PROSE, ids=[f"{e[0]} {e[3]}" for e in PROSE]
)
def test_prose_is_read(
    name: str,
    old: str,
    new: Callable[[seeds.Page], Replacement],
    expected: str,
    conflict: bool,
    tmp_path: Path,
) -> None:
    """A number, range, default, count, size or duration changed only in a field's description
    is reported; where the page's structured line still says the old value, as a CONFLICT that
    --apply never resolves."""
    page, text = _edited(name, old, new(_page(name)))
    diffs = [d for d in docs_diff.diff_page(text, page.gateway, page.model) if not d.explained]
    found = [d for d in diffs if f"{d.field}: {d.kind}" == expected]
    assert len(found) == 1, [str(d) for d in diffs]
    (d,) = found
    assert d.page_line
    assert bool(d.conflict) == conflict, str(d)
    assert (" but line " in str(d)) == conflict
    if d.conflict:  # the page's line numbers are those of the page file
        said = text.splitlines()[int(d.conflict.split()[1]) - 1]  # "line N says ..."
        assert d.conflict.split('("', 1)[1].removesuffix('")') in said, (d.conflict, said)
    target = tmp_path / f"{page.gateway}.yaml"
    shutil.copy(SPECS / target.name, target)
    source = specfile.load(target)
    done = docs_diff.apply_page(text, source, page.model)
    written = [w for w in done.written if w.startswith(expected)]
    if conflict or d.kind not in docs_diff.APPLICABLE:
        assert [f"{m.field}: {m.kind}" for m in done.manual] == [expected], done.written
        assert done.written == []
    else:
        assert written, done


def test_a_conflict_goes_through_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A page whose prose says one maximum and whose `Required range` says another: CONFLICT in
    the first line, exit 1, --apply writes nothing, --json says so; an `x-vidgate-docs-diff`
    entry `conflict` on the property explains it."""
    page = _page("004")
    duration = specvalues.prop("imini", page.model, "duration")
    said = (duration["minimum"] + duration["maximum"]) // 2  # in range, not the maximum
    text, found = re.subn(r"(range \d+ ~ )\d+\.", rf"\g<1>{said}.", page.text, count=1)
    assert found, "the kling-v3 page has no prose range any more: update this test"
    edited = tmp_path / page.path.name
    edited.write_text(text, encoding="utf-8")
    copy = tmp_path / "imini.yaml"
    shutil.copy(SPECS / "imini.yaml", copy)
    before = copy.read_text()
    for extra, code in (([], 1), (["--apply"], 1)):
        with pytest.raises(SystemExit) as done:
            main(["docs-diff", str(edited), "--spec", str(copy), *extra])
        assert done.value.code == code
        first = capsys.readouterr().out.splitlines()[0]
        assert first.split()[0] == "CONFLICT", first
        assert f"duration: maximum: page {duration['maximum']} (line " in first
        assert f'says {said} ("range' in first
    assert copy.read_text() == before
    with pytest.raises(SystemExit):
        main(["docs-diff", str(edited), "--spec", str(copy), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert [d["kind"] for d in report["unexplained"] if d["conflict"]] == ["maximum"]
    source = specfile.load(copy)
    names = spec.request_schema_names(source.doc)
    prop = source.doc["components"]["schemas"][names[page.model]]["properties"]["duration"]
    prop["x-vidgate-docs-diff"] = {"conflict": "the structured line is the one the gateway keeps"}
    source.save()
    with pytest.raises(SystemExit) as done:
        main(["docs-diff", str(edited), "--spec", str(copy)])
    assert done.value.code == 0


def test_prose_words_are_not_taken_for_a_default() -> None:
    """'defaults to the ...' is a sentence, not a value: no CONFLICT with the default line."""
    page, text = _edited(
        "004",
        r"(Output resolution\. Defaults to \w+\.)",
        r"\1 Omitted, it defaults to the model's choice; a range of 2 ~ 3 is not read here.",
    )
    resolution = docs_diff.parse_page(text)["resolution"]
    assert resolution.conflicts == {}
    assert [str(d) for d in docs_diff.diff_page(text, page.gateway, page.model)] == [
        str(d) for d in docs_diff.diff_page(page.text, page.gateway, page.model)
    ]


def test_the_release_path_edits_print_the_page_samples(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The samples of docs/spec-changes.md for steps 1 and 2, from the edits
    tests/test_release_path.py makes (that test is slow; this one keeps the samples honest)."""
    import test_release_path as release

    page = _page("004")
    edited = tmp_path / page.path.name
    edited.write_text(release.edit_page(page).text, encoding="utf-8")
    (tmp_path / "specs").mkdir()
    copy = tmp_path / "specs" / "imini.yaml"
    shutil.copy(SPECS / "imini.yaml", copy)
    release.explain_conflict(copy, "reference_images", None)  # before the human step
    steps = [s for s in release.page_steps() if "docs-diff" in s.command]
    assert [len(s.shown) > 1 for s in steps] == [True, True]
    for step, extra in zip(steps, ([], ["--apply"]), strict=True):
        with pytest.raises(SystemExit) as done:
            main(["docs-diff", str(edited), "--spec", str(copy), *extra])
        assert done.value.code == 1  # a difference; then the conflict left by hand
        flat = " ".join(capsys.readouterr().out.split())
        missing = [line for line in step.shown if not release.loosely(line).search(flat)]
        assert not missing, (step.number, missing, flat)
