"""``vidgate scaffold`` and ``vidgate schema-diff``: a new model page into a spec, and a vendor's
own schema against ours. Registered on :data:`vidgate.cli.app` when the CLI module loads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from vidgate.cli import FAILED, USAGE, _check_fail_on, _Command, _fails, _need, app, err, out

__all__ = ["scaffold_cmd", "schema_diff_cmd"]


@app.command("scaffold", cls=_Command)
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
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
) -> None:
    """Write a draft request schema for a model the spec does not have yet, from its page: fields,
    types, enums, ranges, defaults, limits, required, each marked as from the page. What needs a
    human (modes, cross-field rules, error codes) is listed as BY HAND. Then run make generate."""
    _need("tools", "scaffold")
    from vidgate.spectools import docs_diff, scaffold, specfile

    try:
        text = page.read_text(encoding="utf-8")
        source = specfile.load(spec_file)
        draft = scaffold.scaffold_page(
            text, source, model or docs_diff.page_model(text, page), name
        )
        source.save()
    except (OSError, UnicodeDecodeError) as exc:
        err.print(f"[red]cannot read {page}[/]: {getattr(exc, 'strerror', None) or exc}")
        raise typer.Exit(USAGE) from None
    except ValueError as exc:  # ScaffoldError, SpecUnreadable, a page that is not a reference
        err.print(f"[red]{exc}[/]", highlight=False, soft_wrap=True)
        raise typer.Exit(USAGE) from None
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


@app.command("schema-diff", cls=_Command)
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
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
    fail_on: Annotated[
        str, typer.Option("--fail-on", help="exit 1 on: breaking, compatible, note or never")
    ] = "breaking",
) -> None:
    """Compare a gateway's own schema of a model with our spec, in spec-diff's classes: breaking
    where the vendor refuses what our spec accepts, compatible where it accepts more."""
    _need("tools", "schema-diff")
    from vidgate.spectools import schema_diff, specfile

    _check_fail_on(fail_on)
    try:
        text = vendor_file.read_text(encoding="utf-8")
        ours = specfile.load(spec_file)
        vendor = schema_diff.read_vendor(text, str(vendor_file), model)
        report = schema_diff.compare(vendor, ours, model)
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        err.print(f"[red]cannot read {escape(str(vendor_file))}[/]: {escape(str(reason))}")
        raise typer.Exit(USAGE) from None
    except (ValueError, LookupError, TypeError) as exc:  # SpecUnreadable, a shape not read
        err.print(f"[red]{escape(str(exc))}[/]", highlight=False, soft_wrap=True)
        raise typer.Exit(USAGE) from None
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
