"""What a new user reads in docs/: the pages name what the code needs (extras, the wheel build,
the CLI's ways to set body fields). The code blocks themselves run in tests/test_readme.py."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import vidgate.cli

ROOT = Path(__file__).resolve().parent.parent


def page(name: str) -> str:
    return " ".join((ROOT / "docs" / name).read_text(encoding="utf-8").split())


def test_getting_started_names_the_extras_vidgate_demo_needs() -> None:
    needed = {"cli", *re.findall(r'need\("(\w+)"', inspect.getsource(vidgate.cli.demo_cmd))}
    assert needed > {"cli"}
    text = page("getting-started.md")
    assert f"pip install 'vidgate[{','.join(sorted(needed))}]'" in text
    demo = text.split("`vidgate demo` needs", 1)[1].split(". ", 1)[0]
    assert all(f"`{extra}`" in demo for extra in needed)


def test_getting_started_builds_the_wheel_as_the_project_does() -> None:
    text = page("getting-started.md")
    assert "python -m pip wheel --no-deps -w dist ." in text
    downstream = (ROOT / "scripts" / "downstream.py").read_text(encoding="utf-8")
    assert '[*uv(), "build",' in downstream  # the uv spelling is the one make downstream runs
    assert "uv build --wheel --out-dir dist" in text
    assert re.search(r"pip install 'vidgate\[[\w,]+\] @ file://\S+\.whl'", text)


def test_the_cli_page_names_every_option_of_generate() -> None:
    """A user who wants a body field finds how to set it (`--set`), not a guessed `--duration`."""
    import typer.main

    command = typer.main.get_command(vidgate.cli.app).commands["generate"]  # type: ignore[attr-defined]
    options = {o for p in command.params for o in p.opts if o.startswith("--")} - {"--help"}
    text = page("cli.md")
    assert options > {"--set", "--model", "--prompt"}
    named = {o for o in options if re.search(rf"(?<![\w-]){re.escape(o)}(?![\w-])", text)}
    assert sorted(options - named) == []
    body = text.split("## Body fields on the command line", 1)[1].split("\n## ", 1)[0]
    assert "--set KEY=VALUE" in body
    assert ".venv/bin/vidgate generate --model kling/kling-v3 --prompt" in body  # a runnable block
