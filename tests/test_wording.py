"""The library speaks to library users, the CLI to CLI users (issue 23): a batch message names a
setting as BatchOptions spells it (``skip_invalid=True``, ``gateway_rps``), never a CLI flag;
the CLI prints the same message with its flags (VidgateError.worded), one line as before; and
the CLI never rewrites a library message's text."""

from __future__ import annotations

import ast
import asyncio
import json
import re
from pathlib import Path

import pytest

from vidgate import errors, exits
from vidgate._files import place
from vidgate.batch import LOAD_FIRST, BatchInvalidError, BatchOptions, run_batch
from vidgate.cli import main
from vidgate.cli._common import flag

pytestmark = pytest.mark.unit

SRC = Path(__file__).resolve().parent.parent / "src" / "vidgate"
FLAG = re.compile(r"(?<![\w-])--[a-z]")


def _strings(path: Path) -> list[tuple[int, str]]:
    """Every string constant of a module but its docstrings (messages, not documentation)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs
    ]


def _flags_in(path: Path) -> list[str]:
    return [f"{path.name}:{line}: {text!r}" for line, text in _strings(path) if FLAG.search(text)]


BATCH = sorted((SRC / "batch").rglob("*.py"))
SPECTOOLS = sorted((SRC / "spectools").glob("*.py"))


@pytest.mark.parametrize("path", BATCH + SPECTOOLS, ids=lambda p: str(p.relative_to(SRC)))
def test_no_library_message_names_a_cli_flag(path: Path) -> None:
    """The batch runner and the spec tools name their parameters (``model=``); the CLI's
    commands word them as flags."""
    assert _flags_in(path) == []


def test_the_flag_check_finds_a_flag_in_a_message(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        '"""Run it as vidgate batch --out DIR (documentation may name flags)."""\n'
        'MESSAGE = "cannot write to --out {folder}"\n'
        'FIELD = "cannot write to out {folder}; pass skip_invalid=True"\n'
    )
    assert _flags_in(module) == ["m.py:2: 'cannot write to --out {folder}'"]
    assert len(BATCH) >= 5  # __init__, workers, dburl, journal/__init__, journal/pg
    assert len(SPECTOOLS) >= 7  # docs_diff, docs_prose, docs_shapes, scaffold, schema_diff, ...


def test_a_message_names_settings_the_library_way_and_words_them_the_cli_way(
    tmp_path: Path,
) -> None:
    (tmp_path / "a.mp4").write_bytes(b"new")
    (tmp_path / "b.mp4").write_bytes(b"old")
    with pytest.raises(errors.OutputExistsError) as info:
        place(tmp_path / "a.mp4", tmp_path / "b.mp4", overwrite=False)
    assert str(info.value) == f"{tmp_path / 'b.mp4'} exists; pass overwrite=True to replace it"
    assert info.value.settings == ("overwrite=True",)
    assert info.value.worded(flag) == f"{tmp_path / 'b.mp4'} exists; pass --overwrite to replace it"
    plain = errors.DiskError("cannot write /x")  # names no setting: worded is the message
    assert (plain.settings, plain.worded(flag)) == ((), "cannot write /x")
    out = tmp_path / "out"
    out.write_text("a file")
    with pytest.raises(errors.InputError) as given:
        asyncio.run(run_batch(tmp_path / "jobs.jsonl", BatchOptions("apimart", out)))
    assert str(given.value) == f"out {out} is a file; give a folder"
    assert given.value.worded(flag) == f"--out {out} is a file; give a folder"


def test_worded_text_from_outside_stays_text_and_is_redacted() -> None:
    from vidgate.redact import register_secret

    register_secret("sk-wording-secret-1234")
    error = errors.ConfigurationError.naming(
        "{where}: set {0}", "gateway_rps", where="{0} {where} sk-wording-secret-1234"
    )
    assert "sk-wording-secret-1234" not in str(error)
    worded = error.worded(flag)
    assert worded.startswith("{0} {where} ")
    assert worded.endswith(": set --gateway-rps")
    assert "sk-wording-secret-1234" not in worded


def test_invalid_lines_name_skip_invalid_and_the_cli_its_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    error = BatchInvalidError([(2, "not usable JSON"), (5, "model: required")], unreadable=True)
    assert str(error) == (
        "2 invalid line(s); nothing was sent (fix them, or pass skip_invalid=True):\n"
        "  line 2: not usable JSON\n  line 5: model: required"
    )
    assert error.worded(flag, lines=" line 2 and line 5") == (  # the CLI's one line
        "2 invalid line(s); nothing was sent (fix them, or pass --skip-invalid): line 2 and line 5"
    )
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(json.dumps({"model": "x"}) + "\n{not json\n")
    with pytest.raises(SystemExit) as done:
        main(["batch", str(jobs), "-g", "apimart", "--out", str(tmp_path / "o")])
    assert done.value.code == exits.USAGE
    printed = capsys.readouterr().err
    assert "nothing was sent (fix them, or pass --skip-invalid):" in printed
    assert "skip_invalid" not in printed


def test_the_cli_spells_how_to_load_a_batch_as_its_command() -> None:
    assert flag(LOAD_FIRST) == "vidgate batch JOBS --load"
    assert flag("load_only=True") == "--load"
    assert (flag("resubmit_unknown=True"), flag("gateway_in_flight")) == (
        "--resubmit-unknown",
        "--gateway-in-flight",
    )
    assert flag("model=") == "--model"  # a parameter given a value: the option taking it


def test_the_cli_does_not_rewrite_library_messages() -> None:
    """No ``exc.args = ...`` in the CLI: it words an error through VidgateError.worded, or
    prints a line of its own."""
    for path in sorted((SRC / "cli").glob("*.py")):
        assert ".args =" not in path.read_text(encoding="utf-8"), path.name


@pytest.mark.usefixtures("vidgate_env")
@pytest.mark.parametrize("name", ["imini", "apimart"])
def test_no_key_says_api_key_to_the_library_and_the_variable_to_the_cli(name: str) -> None:
    from vidgate.client import client_for
    from vidgate.gateways import gateway

    env = gateway(name).env_key
    with pytest.raises(errors.ConfigurationError) as info:
        client_for(name)()
    assert str(info.value) == f"no API key for {name}: pass api_key= or set {env}"
    assert info.value.settings == (errors.GIVE_KEY,)
    assert info.value.worded(flag) == f"no API key for {name}: set {env}"
