"""A slim core: `pip install vidgate` is the library; the command line (`cli`), the spec tools
(`tools`), the mock, the fixtures and PostgreSQL are extras, and a missing one is one line naming
the pip command."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from importlib.util import find_spec
from pathlib import Path

import pytest
from test_cli import run

from vidgate import __main__ as entry
from vidgate import exits, extras

# the import names of every optional dependency (and of python-dateutil, which nothing needs)
OPTIONAL = sorted(
    {name.split(".")[0] for names in extras.EXTRAS.values() for name in names}
    | {"psycopg", "dateutil"}
)

# Runs in a fresh interpreter in which none of OPTIONAL can be imported.
LIBRARY_ONLY = textwrap.dedent(
    """
    import asyncio, importlib.abc, json, sys

    BLOCKED = set(json.loads(sys.argv[1]))

    class NotInstalled(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, NotInstalled())

    import httpx
    import vidgate

    SUBMIT = {"task_id": "t1", "model": "kling/kling-v3"}
    TASK = {"task_id": "t1", "status": "succeeded", "videos": [{"url": "https://cdn.example/v.mp4"}]}

    def handler(request):
        return httpx.Response(200, json=SUBMIT if request.method == "POST" else TASK)

    body = {"model": "kling/kling-v3", "prompt": "an orange cat", "duration": 5}
    assert vidgate.validator("imini").check(body).valid
    URL = "https://gw.example"
    with vidgate.Imini("sk-x", base_url=URL, transport=httpx.MockTransport(handler)) as client:
        assert client.get(client.generate(body).id).succeeded

    async def main():
        transport = httpx.MockTransport(handler)
        async with vidgate.AsyncImini("sk-x", base_url=URL, transport=transport) as c:
            assert (await c.get((await c.generate(body)).id)).succeeded

    asyncio.run(main())
    for module in ("vidgate.spectools.specfile", "vidgate.mock"):
        try:
            __import__(module)
        except ImportError as exc:
            print(exc)
    from vidgate.__main__ import main
    main()
    """
)


def test_the_library_needs_no_extra_and_each_missing_extra_is_one_line() -> None:
    done = subprocess.run(
        [sys.executable, "-c", LIBRARY_ONLY, json.dumps(OPTIONAL)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == exits.USAGE, done.stderr
    assert done.stdout.splitlines() == [
        "the spec-file module (vidgate.spectools.specfile) needs the 'tools' extra (ruamel.yaml, "
        "yaml not "
        "installed): pip install 'vidgate[tools]'",
        "the mock gateway (vidgate.mock) needs the 'mock' extra (starlette, uvicorn, av not "
        "installed): pip install 'vidgate[mock]'",
    ]
    assert done.stderr.splitlines() == [
        "the vidgate command needs the 'cli' extra (typer, rich not installed): "
        "pip install 'vidgate[cli]'"
    ]


def test_the_command_without_the_cli_extra_is_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        extras, "find_spec", lambda name: None if name == "rich" else find_spec(name)
    )
    with pytest.raises(SystemExit) as done:
        entry.main()
    assert done.value.code == exits.USAGE
    assert capsys.readouterr().err.splitlines() == [
        "the vidgate command needs the 'cli' extra (rich not installed): pip install 'vidgate[cli]'"
    ]


@pytest.mark.parametrize(
    "args",
    [
        ["docs-diff", "page.md", "--spec", "spec.yaml"],
        ["spec-diff", "old.yaml", "new.yaml"],
        ["scaffold", "page.md", "--spec", "spec.yaml"],
        ["schema-diff", "vendor.json", "--spec", "spec.yaml"],
    ],
)
def test_the_spec_tools_without_their_extra_are_one_line(
    args: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(
        extras, "find_spec", lambda name: None if name == "yaml" else find_spec(name)
    )
    code, _, err = run(args, capsys)
    assert code == exits.USAGE
    assert err.splitlines() == [
        f"vidgate {args[0]} needs the 'tools' extra (yaml not installed): "
        "pip install 'vidgate[tools]'"
    ]


def test_the_extras_are_declared_and_nothing_needs_dateutil() -> None:
    """Each extra vidgate.extras knows is one pyproject.toml declares (and `all` holds them all)."""
    import tomllib

    project = tomllib.loads(
        (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text()
    )["project"]
    declared = project["optional-dependencies"]
    assert set(extras.EXTRAS) <= set(declared)
    (everything,) = declared["all"]
    assert set(everything.split("[")[1].rstrip("]").split(",")) == set(declared) - {"all"}
    core = " ".join(project["dependencies"]).lower()
    for name in ("typer", "rich", "ruamel", "pyyaml", "dateutil"):
        assert name not in core


def test_the_docs_name_every_core_dependency() -> None:
    """The getting-started page's sentence listing the core's dependencies names each one
    pyproject.toml declares."""
    import re
    import tomllib

    root = Path(__file__).resolve().parent.parent
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    page = (root / "docs" / "getting-started.md").read_text(encoding="utf-8")
    (sentence,) = re.findall(r"The core needs (.*?)\.", page, re.S)
    named = {word.lower() for word in re.findall(r"[\w.-]+", sentence)}
    for requirement in project["dependencies"]:
        name = re.match(r"[\w.-]+", requirement)
        assert name is not None
        assert name.group().lower() in named, name.group()
