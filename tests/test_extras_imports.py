"""Importing a module of an extra that is not installed is the one-line MissingExtraError naming
the pip command, for every such module (not a bare ``No module named 'yaml'``)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

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
