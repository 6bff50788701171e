"""Documentation pages against the specs: zero unexplained differences on every seed page, and
every kind of edit to a page is reported."""

from __future__ import annotations

from pathlib import Path

import pytest
import seeds

from vidgate import docs_diff
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


EDITS = [
    # (page, old text, new text, expected difference)
    (
        "004",
        "Required range: 3 <= x <= 15",
        "Required range: 3 <= x <= 12",
        "duration: maximum: page 12, spec 15",
    ),
    (
        "001",
        "Required range: 4 <= x <= 15",
        "Required range: 5 <= x <= 15",
        "duration: minimum: page 5, spec 4",
    ),
    (
        "000",
        "Maximum array length: 9",
        "Maximum array length: 12",
        "reference_images: maxItems: page 12, spec 9",
    ),
    (
        "000",
        "up to 5000 characters",
        "up to 8000 characters",
        "prompt: maxLength: page 8000, spec 5000",
    ),
    ("001", "default:720P", "default:480P", 'resolution: default: page "480P", spec "720P"'),
    ("004", "16:9,\n9:16,\n1:1", "16:9,\n9:16,\n1:1,\n4:3", "aspect_ratio: enum"),
    (
        "002",
        "any integer from 3 to 15",
        "any integer from 3 to 10",
        "duration: maximum: page 10, spec 15",
    ),
    ("002", "Value range: [0, 2147483647]", "Value range: [0, 4294967295]", "seed: maximum"),
    (
        "002",
        "  • 1080P - High definition (default)",
        "  • 1080P - High definition (default)\n  • 4K - Ultra",
        "resolution: enum",
    ),
    (
        "001",
        "watermark — boolean, defaults to false",
        "watermark — boolean, defaults to true",
        "extra_params.watermark: default",
    ),
    (
        "001",
        "seed — integer in [-1, 2^32-1]",
        "seed — integer in [0, 2^31-1]",
        "extra_params.seed: minimum",
    ),
    ("003", "generate_audio\nboolean", "loop\nboolean", "loop: missing-in-spec"),
    (
        "000",
        "resolution\nenum<string>",
        "output_resolution\nenum<string>",
        "resolution: missing-on-page",
    ),
]


@pytest.mark.parametrize(("name", "old", "new", "expected"), EDITS, ids=[e[3] for e in EDITS])
def test_an_edited_page_is_reported(name: str, old: str, new: str, expected: str) -> None:
    page = _page(name)
    assert old in page.text, "the seed page changed: update this edit"
    diffs = docs_diff.diff_page(page.text.replace(old, new, 1), page.gateway, page.model)
    unexplained = [str(d) for d in diffs if not d.explained]
    assert any(d.startswith(expected) for d in unexplained), unexplained


def test_cli_reports_a_changed_number(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = _page("004")
    edited = tmp_path / "kling.txt"
    edited.write_text(page.text.replace("<= x <= 15", "<= x <= 10"))
    with pytest.raises(SystemExit) as done:
        main(["docs-diff", str(edited), "--spec", "specs/imini.yaml"])
    assert done.value.code == 1
    assert "duration: maximum: page 10, spec 15" in capsys.readouterr().out
    with pytest.raises(SystemExit) as done:
        main(["docs-diff", str(page.path), "--spec", "specs/imini.yaml"])
    assert done.value.code == 0


def test_missing_pages_fail_loudly(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("VIDGATE_DOCS_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(seeds.SeedsMissing, match="VIDGATE_DOCS_DIR"):
        seeds.docs_dir()
