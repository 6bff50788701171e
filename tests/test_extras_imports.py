"""Importing a module of an extra that is not installed is the one-line MissingExtraError naming
the pip command, for every such module (not a bare ``No module named 'yaml'``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from vidgate import exits

# Runs in a fresh interpreter in which the given top-level modules cannot be imported.
IMPORT_WITHOUT = textwrap.dedent(
    """
    import importlib.abc, json, sys

    module, blocked = sys.argv[1], set(json.loads(sys.argv[2]))

    class NotInstalled(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in blocked:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, NotInstalled())
    try:
        __import__(module)
    except ImportError as exc:
        print(type(exc).__name__, exc, sep=": ")
    """
)


@pytest.mark.parametrize(
    ("module", "blocked", "extra"),
    [
        ("vidgate.spectools.scaffold", ["yaml", "ruamel"], "tools"),
        ("vidgate.spectools.schema_diff", ["yaml", "ruamel"], "tools"),
        ("vidgate.spectools.scaffold", ["yaml"], "tools"),
        ("vidgate.spectools.schema_diff", ["yaml"], "tools"),
        ("vidgate.spectools.spec_diff", ["yaml", "ruamel"], "tools"),
        ("vidgate.spectools.docs_diff", ["yaml", "ruamel"], "tools"),
        ("vidgate.testing", ["pytest"], "testing"),
        ("vidgate.cli", ["typer"], "cli"),
        ("vidgate.cli", ["rich"], "cli"),
    ],
)
def test_a_module_without_its_extra_names_the_pip_command(
    module: str, blocked: list[str], extra: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_WITHOUT, module, json.dumps(blocked)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.stderr == ""
    (line,) = done.stdout.splitlines()
    assert line.startswith("MissingExtraError: "), line
    assert line.endswith(f"pip install 'vidgate[{extra}]'"), line


# A sitecustomize that makes the given top-level modules impossible to import, for a whole
# interpreter run as a user runs it (``python -m ...``), from its first import on.
SITE_WITHOUT = textwrap.dedent(
    """
    import importlib.abc, sys

    BLOCKED = set({blocked!r})

    class NotInstalled(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
            return None

    sys.meta_path.insert(0, NotInstalled())
    """
)


@pytest.mark.parametrize("module", ["vidgate", "vidgate.cli"])
@pytest.mark.parametrize("blocked", [["typer"], ["rich"], ["typer", "rich"]], ids="-".join)
def test_python_m_without_the_cli_extra_is_one_line_naming_the_pip_command(
    module: str, blocked: list[str], tmp_path: Path
) -> None:
    (tmp_path / "sitecustomize.py").write_text(SITE_WITHOUT.format(blocked=blocked))
    paths = [str(tmp_path), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    env.pop("VIDGATE_DEBUG", None)
    done = subprocess.run(
        [sys.executable, "-m", module, "--help"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env=env,
        cwd=tmp_path,
    )
    assert (done.returncode, done.stdout) == (exits.USAGE, ""), done.stderr
    assert done.stderr.splitlines() == [
        f"the vidgate command needs the 'cli' extra ({', '.join(blocked)} not installed): "
        "pip install 'vidgate[cli]'"
    ]


def test_python_m_vidgate_cli_with_the_extra_runs_the_command(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "vidgate.cli", "--version"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        cwd=tmp_path,
    )
    assert (done.returncode, done.stderr) == (exits.OK, "")
    assert done.stdout.startswith("vidgate ")
