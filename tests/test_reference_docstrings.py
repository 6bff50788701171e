"""The API reference (mkdocstrings, docs/reference/) renders each entry with its docstring: none
of them is blank.

The entries are the ones the site renders: every ``::: identifier`` directive of docs/, with the
handler options of mkdocs.yml merged with the directive's own (``members``, ``filters``,
``show_submodules``...), loaded with Griffe and the Griffe extensions mkdocs.yml names, and
filtered and ordered by mkdocstrings-python's own ``do_filter_objects`` and
``do_order_members`` the way its templates do. The slow
test builds the site and checks that this is the set of entries on the rendered pages."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import griffe
import pytest
import yaml
from mkdocstrings_handlers.python import PythonOptions, do_filter_objects, do_order_members

ROOT = Path(__file__).resolve().parent.parent
MKDOCS = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
DOCS = ROOT / MKDOCS.get("docs_dir", "docs")
# `::: identifier` at the start of a line, then its indented YAML (options:) block
DIRECTIVE = re.compile(r"^::: *(\S+) *\n((?:(?:[ \t]+.*)?\n)*)", re.MULTILINE)
CATEGORIES = ("attributes", "type_aliases", "classes", "functions")


def _handler() -> dict[str, Any]:
    for plugin in MKDOCS["plugins"]:
        if isinstance(plugin, dict) and "mkdocstrings" in plugin:
            handler: dict[str, Any] = plugin["mkdocstrings"]["handlers"]["python"]
            return handler
    raise AssertionError("mkdocs.yml configures no mkdocstrings python handler")


HANDLER = _handler()
OPTIONS: dict[str, Any] = HANDLER.get("options", {})


def _extension(spec: str | dict[str, Any]) -> str | dict[str, Any]:
    """A path-like extension resolved against mkdocs.yml's folder, as the handler does."""
    path, options = next(iter(spec.items())) if isinstance(spec, dict) else (spec, None)
    if path.endswith(".py") or ".py:" in path or "/" in path:
        path = str(ROOT / path)
    return path if options is None else {path: options}


def _loader() -> griffe.GriffeLoader:
    loader = griffe.GriffeLoader(
        extensions=griffe.load_extensions(*map(_extension, OPTIONS.get("extensions", []))),
        search_paths=[str(ROOT / path) for path in HANDLER.get("paths", ["."])],
        docstring_parser=OPTIONS.get("docstring_style", "google"),
    )
    return loader


@dataclass(frozen=True)
class Entry:
    """One object the reference renders under a heading of its own (or a page's root)."""

    page: str
    path: str
    documented: bool


def _has_docstring(obj: griffe.Object | griffe.Alias, options: PythonOptions) -> bool:
    if obj.docstring is not None and obj.docstring.value.strip():
        return True
    # merge_init_into_class: a class without a docstring shows its __init__'s
    if obj.is_class and options.merge_init_into_class and "__init__" in obj.all_members:
        init = obj.all_members["__init__"]
        return init.docstring is not None and bool(init.docstring.value.strip())
    return False


def _children(
    obj: griffe.Object | griffe.Alias, options: PythonOptions, members: list[str] | bool | None
) -> Iterator[griffe.Object | griffe.Alias]:
    """What children.html.jinja renders of ``obj`` (grouped by category), recursively into
    classes; ``members`` applies to the root object only, as in the templates."""
    for category in CATEGORIES:
        kept = do_filter_objects(
            getattr(obj, category),
            filters=options.filters,
            members_list=members,
            inherited_members=options.inherited_members,
            keep_no_docstrings=options.show_if_no_docstring,
        )
        for child in do_order_members(kept, options.members_order, members):
            if obj.is_class and child.name == "__init__" and options.merge_init_into_class:
                continue
            if not (
                options.filters == "public"
                or members is not None
                or not child.is_imported
                or child.is_public
            ):
                continue
            yield child
            if child.is_class:
                yield from _children(child, options, None)
    if options.show_submodules:
        modules = do_filter_objects(
            dict[str, griffe.Object | griffe.Alias](obj.modules),
            filters=options.filters,
            members_list=members,
            inherited_members=options.inherited_members,
            keep_no_docstrings=options.show_if_no_docstring,
        )
        for module in do_order_members(modules, "alphabetical", members):
            if (
                options.filters == "public"
                or members is not None
                or not module.is_alias
                or module.is_public
            ):
                yield module
                yield from _children(module, options, None)


def _options(block: str) -> PythonOptions:
    local = yaml.safe_load(textwrap.dedent(block)) or {}
    merged = {**OPTIONS, **local.get("options", {})}
    merged.pop("extensions", None)  # loaded once, by _loader
    return PythonOptions.from_data(**merged)


def reference() -> tuple[list[Entry], list[Entry]]:
    """(the pages' root objects, every entry rendered under a heading), in page order."""
    loader = _loader()
    modules = loader.modules_collection
    directives = [
        (page.relative_to(DOCS).as_posix(), match)
        for page in sorted(DOCS.rglob("*.md"))
        for match in DIRECTIVE.finditer(page.read_text(encoding="utf-8"))
    ]
    for top in sorted({match.group(1).split(".")[0] for _, match in directives}):
        loader.load(top, try_relative_path=False)
    loader.resolve_aliases(implicit=False, external=False)
    roots, entries = [], []
    for page, match in directives:
        options = _options(match.group(2))
        root = modules[match.group(1)]
        roots.append(Entry(page, root.path, _has_docstring(root, options)))
        if options.show_root_heading:
            entries.append(roots[-1])
        for obj in _children(root, options, options.members):
            entries.append(Entry(page, obj.path, _has_docstring(obj, options)))
    return roots, entries


ROOTS, ENTRIES = reference()


def test_the_entries_are_read() -> None:
    paths = {entry.path for entry in ENTRIES}
    assert len(paths) == len(ENTRIES) >= 300
    batch_fields = [p for p in paths if p.startswith("vidgate.batch.BatchOptions.")]
    assert len(batch_fields) >= 20
    assert {
        "vidgate.testing.vidgate_mock",
        "vidgate.exits.USAGE",
        "vidgate.mock.MockGateway.ledger",
        "vidgate.mock.Ledger.keys",
        "vidgate.mock.Faults.clear",
        "vidgate.mock.state.Submission.at",
        "vidgate.types.Status.QUEUED",
        "vidgate.types.RawResponse.__repr__",
        "vidgate.AsyncClient.__aenter__",
        "vidgate.Imini.gateway_name",
        "vidgate.errors.APIError.code",
        "vidgate.errors.APIError.request_id",
    } <= paths
    # members: run_batch and BatchOptions only; filters: public keeps __all__ and no _name
    assert not {p for p in paths if p.startswith("vidgate.batch.") and p.count(".") == 2} - {
        "vidgate.batch.run_batch",
        "vidgate.batch.BatchOptions",
    }
    assert not [p for p in paths if re.search(r"\._[^_]", p)]
    # the implementation hooks scripts/griffe_hidden.py keeps out
    assert not [p for p in paths if p.endswith(("__slots__", "__post_init__"))]


def test_every_reference_page_opens_with_a_docstring() -> None:
    assert [f"{r.page}: {r.path}" for r in ROOTS if not r.documented] == []


def test_no_reference_entry_is_blank() -> None:
    blank = [f"{entry.page}: {entry.path}" for entry in ENTRIES if not entry.documented]
    assert not blank, f"{len(blank)} API reference entries render with no text at all:\n" + (
        "\n".join(blank)
    )


class _Headings(HTMLParser):
    """The ids of mkdocstrings' object headings (class="doc doc-heading")."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if "doc-heading" in (found.get("class") or "").split() and found.get("id"):
            self.ids.append(str(found["id"]))


@pytest.mark.slow
def test_the_entries_are_the_headings_of_the_built_site(tmp_path: Path) -> None:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    argv = [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-d", str(tmp_path)]
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    for page in sorted({entry.page for entry in ENTRIES}):
        html = tmp_path / page.removesuffix(".md") / "index.html"
        parser = _Headings()
        parser.feed(html.read_text(encoding="utf-8"))
        assert parser.ids == [e.path for e in ENTRIES if e.page == page], page
