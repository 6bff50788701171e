"""The maintainer tools on spec files: ``vidgate docs-diff`` (a documentation page against a
spec), ``spec-diff`` (two versions of a spec), ``scaffold`` (a new model page into a spec) and
``schema-diff`` (a vendor's own schema against ours). Registered on the CLI's app when
``vidgate.cli`` imports this module; the work itself is ``vidgate.spectools``."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from vidgate import errors
from vidgate.cli._common import (
    FAILED,
    SPELLING,
    USAGE,
    Command,
    JsonOpt,
    app,
    fail,
    flag,
    need,
    out,
    safe,
)

__all__ = ["FAIL_LEVELS", "docs_diff_cmd", "scaffold_cmd", "schema_diff_cmd", "spec_diff_cmd"]

# --fail-on of spec-diff and schema-diff: 0 never fails, else a change at this level or worse
FAIL_LEVELS = {"breaking": 1, "compatible": 2, "note": 3, "never": 0}
SPELLING.update({"from_rev=": "--from GIT_REV"})  # spec-diff's option of compare_files(from_rev=)


def _said(exc: Exception) -> str:
    """A spec tool's error as the CLI says it: the parameters it names as our options."""
    return exc.worded(flag) if isinstance(exc, errors.VidgateError) else str(exc)


def _check_fail_on(fail_on: str) -> None:
    """A usage error, in one line, for a --fail-on value that is not a level."""
    if fail_on not in FAIL_LEVELS:
        fail(f"--fail-on {fail_on!r}: use one of {', '.join(FAIL_LEVELS)}", USAGE)


def _fails(fail_on: str, levels: Iterable[str]) -> bool:
    """Whether changes at ``levels`` fail a run with ``--fail-on fail_on``."""
    limit = FAIL_LEVELS[fail_on]
    return bool(limit) and any(FAIL_LEVELS[level] <= limit for level in levels)


@app.command("docs-diff", cls=Command)
def docs_diff_cmd(
    page: Annotated[
        Path,
        typer.Argument(
            metavar="PAGE",
            help="a documentation page: text saved from the browser, MDX source or a field table",
        ),
    ],
    spec_file: Annotated[
        Path, typer.Option("--spec", help="the spec file to compare with (any path)")
    ],
    model: Annotated[
        str | None, typer.Option(help="model id (default: the page's example)")
    ] = None,
    as_json: JsonOpt = False,
    apply: Annotated[
        bool, typer.Option("--apply", help="write the mechanical differences into the spec file")
    ] = False,
) -> None:
    """List every difference between a documentation page and a spec file (exit 1 if any is
    unexplained; with --apply, exit 1 if any is left for a human)."""
    need("tools", "docs-diff")
    from vidgate.spectools import docs_diff, specfile

    try:
        text = page.read_text(encoding="utf-8")
        source = specfile.load(spec_file)
        model = model or docs_diff.page_model(text, page)
        if apply:
            done = docs_diff.apply_page(text, source, model)
            if done.written:
                try:  # re-lint: an invalid result is not written
                    docs_diff.refuse_invalid(source)
                except ValueError as exc:
                    fail(f"--apply wrote nothing: {exc}", USAGE, exc)
                source.save()
        diffs = docs_diff.diff_page(text, None, model, source)
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read {page}: {getattr(exc, 'strerror', None) or exc}", USAGE, exc)
    except ValueError as exc:  # SpecUnreadable, a page that is not a reference page
        fail(_said(exc), USAGE, exc)
    unexplained = [d for d in diffs if not d.explained]
    if as_json:
        result = docs_diff.report(diffs)
        if apply:
            result["written"] = done.written
        out.print_json(json.dumps(result, ensure_ascii=False))
    elif apply:
        for line in done.written:
            out.print(f"[green]{'wrote':>9}[/] {safe(line)}", highlight=False, soft_wrap=True)
        for d in unexplained:
            label = "CONFLICT" if d.conflict else "BY HAND"
            out.print(f"[red]{label:>9}[/] {safe(d)}", highlight=False, soft_wrap=True)
        out.print(
            f"{len(done.written)} written to {safe(spec_file)}, {len(unexplained)} left by hand"
        )
    else:
        for d in diffs:
            colour = "green" if d.explained else "red"
            label = "explained" if d.explained else ("CONFLICT" if d.conflict else "DIFF")
            out.print(f"[{colour}]{label:>9}[/] {safe(d)}", highlight=False, soft_wrap=True)
        out.print(f"{len(unexplained)} unexplained, {len(diffs) - len(unexplained)} explained")
    raise typer.Exit(FAILED if unexplained else 0)


@app.command("spec-diff", cls=Command)
def spec_diff_cmd(
    files: Annotated[list[Path], typer.Argument(help="OLD NEW, or with --from the spec files")],
    from_rev: Annotated[
        str | None, typer.Option("--from", help="compare each file with its text at GIT_REV")
    ] = None,
    as_json: JsonOpt = False,
    fail_on: Annotated[
        str, typer.Option("--fail-on", help="exit 1 on: breaking, compatible, note or never")
    ] = "never",
) -> None:
    """Every contract change between two versions of a spec: breaking or compatible, with rule
    ids, modes and error codes, and the suggested semver bump."""
    need("tools", "spec-diff")
    from vidgate.spectools import spec_diff

    _check_fail_on(fail_on)
    try:
        pairs = spec_diff.compare_files(files, from_rev)
    except ValueError as exc:  # SpecUnreadable, wrong number of files
        fail(_said(exc), USAGE, exc)
    if as_json:
        found = [{"spec": label, **report.as_json()} for label, report in pairs]
        result = {"bump": spec_diff.overall_bump(pairs), "specs": found}
        out.print_json(json.dumps(result, ensure_ascii=False, default=str))
    else:
        for line in spec_diff.render(pairs):
            out.print(line, highlight=False, soft_wrap=True, markup=False)
    failed = _fails(fail_on, (c.level for _, r in pairs for c in r.changes))
    raise typer.Exit(FAILED if failed else 0)


@app.command("scaffold", cls=Command)
def scaffold_cmd(
    page: Annotated[
        Path,
        typer.Argument(metavar="PAGE", help="the documentation page of a model new to the spec"),
    ],
    spec_file: Annotated[
        Path, typer.Option("--spec", help="the spec file to write the model into")
    ],
    model: Annotated[
        str | None, typer.Option(help="model id (default: the page's example)")
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="component schema name (default: from the model id)")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Write a draft request schema for a model the spec does not have yet, from its page: fields,
    types, enums, ranges, defaults, limits, required, each marked as from the page. What needs a
    human (modes, cross-field rules, error codes) is listed as BY HAND. Then run make generate."""
    need("tools", "scaffold")
    from vidgate.spectools import docs_diff, scaffold, specfile

    try:
        text = page.read_text(encoding="utf-8")
        source = specfile.load(spec_file)
        draft = scaffold.scaffold_page(
            text, source, model or docs_diff.page_model(text, page), name
        )
        source.save()
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read {page}: {getattr(exc, 'strerror', None) or exc}", USAGE, exc)
    except ValueError as exc:  # ScaffoldError, SpecUnreadable, a page that is not a reference
        fail(_said(exc), USAGE, exc)
    if as_json:
        out.print_json(json.dumps(draft.__dict__, ensure_ascii=False))
        raise typer.Exit(0)
    where = specfile.load(spec_file).location(draft.pointer)  # lines as saved
    out.print(
        escape(f"{draft.model}: {draft.schema} written to {where}"), highlight=False, soft_wrap=True
    )
    for line in draft.fields:
        out.print(f"[green]{'field':>9}[/] {escape(line)}", highlight=False, soft_wrap=True)
    out.print(f"[green]{'example':>9}[/] {draft.example}", highlight=False, soft_wrap=True)
    for line in draft.by_hand:
        out.print(f"[red]{'BY HAND':>9}[/] {escape(line)}", highlight=False, soft_wrap=True)
    out.print(
        f"{len(draft.fields)} field(s) written, {len(draft.by_hand)} left by hand; "
        "then: make generate"
    )
    raise typer.Exit(0)


@app.command("schema-diff", cls=Command)
def schema_diff_cmd(
    vendor_file: Annotated[
        Path,
        typer.Argument(
            metavar="VENDOR_SCHEMA",
            help="imini's per-model OpenAPI YAML, apimart's /v1/model-schema reply, or a schema",
        ),
    ],
    spec_file: Annotated[Path, typer.Option("--spec", help="our spec file to compare with")],
    model: Annotated[
        str | None, typer.Option(help="model id (default: the one the vendor schema names)")
    ] = None,
    as_json: JsonOpt = False,
    fail_on: Annotated[
        str, typer.Option("--fail-on", help="exit 1 on: breaking, compatible, note or never")
    ] = "breaking",
) -> None:
    """Compare a gateway's own schema of a model with our spec, in spec-diff's classes: breaking
    where the vendor refuses what our spec accepts, compatible where it accepts more."""
    need("tools", "schema-diff")
    from vidgate.spectools import schema_diff, specfile

    _check_fail_on(fail_on)
    try:
        text = vendor_file.read_text(encoding="utf-8")
        ours = specfile.load(spec_file)
        vendor = schema_diff.read_vendor(text, str(vendor_file), model)
        report = schema_diff.compare(vendor, ours, model)
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        fail(f"cannot read {vendor_file}: {reason}", USAGE, exc)
    except (ValueError, LookupError, TypeError) as exc:  # SpecUnreadable, a shape not read
        fail(_said(exc), USAGE, exc)
    model = model or vendor.model
    if as_json:
        found = {"model": model, "vendor": vendor.shape, **report.as_json()}
        for change in found["changes"]:
            change["location"] = ours.location(change["pointer"])
        out.print_json(json.dumps(found, ensure_ascii=False, default=str))
    else:
        out.print(
            f"{spec_file} {model} → {vendor_file} ({vendor.shape})",
            highlight=False,
            soft_wrap=True,
            markup=False,
        )
        for change in report.changes:
            level = change.level.upper() if change.level == "breaking" else change.level
            where = ours.location(change.pointer)
            line = f"  {level:>10}  {change} (edit {where})"
            out.print(line, highlight=False, soft_wrap=True, markup=False)
        counts = ", ".join(f"{report.count(k)} {k}" for k in ("breaking", "compatible", "note"))
        out.print(counts, highlight=False)
    failed = _fails(fail_on, (c.level for c in report.changes))
    raise typer.Exit(FAILED if failed else 0)
