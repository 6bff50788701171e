"""``vidgate scaffold`` and ``vidgate schema-diff``: a new model page into a spec, and a vendor's
own schema against ours. Registered on :data:`vidgate.cli.app` when the CLI module loads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from vidgate.cli import USAGE, _Command, app, err, out

__all__ = ["scaffold_cmd"]


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
    from vidgate import docs_diff, scaffold, specfile

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

